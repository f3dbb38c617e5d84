//! The tty ioctls (`tty_ioctl`, `tty_mode_ioctl`, `n_tty_ioctl` in Linux): termios in its three
//! ABI shapes, window size, flushing and flow control, queue sizes, and — through
//! [`TtyCaller`] — the controlling-terminal requests and their job-control checks.

use bytemuck::{Pod, Zeroable};
use uapi::flags as f;
use uapi::structs::{Termios, Termios2, WinSize};
use uapi::{Errno, KResult};

use super::job::TtyCaller;
use super::termios::{self as tt, Modes};
use super::{take_effects, PgrpSignal, Tty};

/// `KDGKBMODE`: get the console keyboard's mode.
const KDGKBMODE: u32 = 0x4B44;
/// `K_UNICODE`: the keyboard mode a Linux VT is in by default.
const K_UNICODE: i32 = 3;

/// `TIOCGEXCL`: whether the tty is in exclusive mode (`_IOR('T', 0x40, int)`).
const TIOCGEXCL: u32 = 0x8004_5440;

/// `new_encode_dev(MKDEV(major, minor))`: the 32-bit device number `TIOCGDEV` and
/// `/proc/<pid>/stat` report.
pub fn encode_dev((major, minor): (u32, u32)) -> u32 {
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12)
}

fn get<T: Pod>(mem: &mut dyn fs::UserMemory, addr: u64) -> KResult<T> {
    let mut v = T::zeroed();
    mem.read(addr, bytemuck::bytes_of_mut(&mut v))?;
    Ok(v)
}

fn put<T: Pod>(mem: &mut dyn fs::UserMemory, addr: u64, v: &T) -> KResult<usize> {
    mem.write(addr, bytemuck::bytes_of(v))?;
    Ok(0)
}

/// How a termios request applies (`set_termios`'s `TERMIOS_*` options).
#[derive(Clone, Copy)]
enum SetKind {
    Termios,
    Termios2,
    Termio,
}

impl Tty {
    /// A tty ioctl on behalf of `caller`, with Linux's checks: `TCSETS*`/`TCSETA*`/`TCSETS2*`,
    /// `TCFLSH`, `TCXONC`, `TCSBRK*`, `TIOC[SC]BRK` and `TIOCSPGRP` first pass
    /// [`Tty::check_change`] (`SIGTTOU` for a background caller); `TIOCGPGRP`, `TIOCSPGRP`,
    /// `TIOCGSID`, `TIOCSCTTY`, `TIOCNOTTY` follow `tty_jobctrl.c`. Signals it causes
    /// (`SIGWINCH` on a resize, `SIGHUP`/`SIGCONT` on `TIOCNOTTY`, `SIGTTOU`) go through
    /// `caller.kill_pgrp`. `FIONBIO`, `FIOASYNC`, `FIOCLEX`, `FIONCLEX` belong to the VFS.
    pub fn ioctl_with(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory, caller: &mut dyn TtyCaller) -> KResult<usize> {
        self.ioctl_common(cmd, arg, mem, Some(caller))
    }

    pub(super) fn ioctl_common(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory, caller: Option<&mut dyn TtyCaller>) -> KResult<usize> {
        if self.is_hung_up() {
            // `hung_up_tty_ioctl`.
            return Err(if cmd == f::TIOCSPGRP { Errno::ENOTTY } else { Errno::EIO });
        }
        let mut sigs = Vec::new();
        let r = match caller {
            Some(c) => self.ioctl_as(cmd, arg, mem, c, &mut sigs),
            None => self.ctrl_ioctl_fallback(cmd, arg, mem).unwrap_or_else(|| self.tty_ioctl(cmd, arg, mem, &mut sigs)),
        };
        if !sigs.is_empty() {
            self.state.lock().pending_signals.extend(sigs);
        }
        r
    }

    /// With a caller: its signals are sent through it at once.
    fn ioctl_as(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory, c: &mut dyn TtyCaller, sigs: &mut Vec<PgrpSignal>) -> KResult<usize> {
        if let Some(r) = self.ctrl_ioctl(cmd, arg, mem, c) {
            return r;
        }
        if needs_check_change(cmd) {
            self.check_change(c)?;
        }
        let r = self.tty_ioctl(cmd, arg, mem, sigs);
        for (p, s) in sigs.drain(..) {
            c.kill_pgrp(p, s);
        }
        r
    }

    /// The requests that do not depend on the caller.
    fn tty_ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory, sigs: &mut Vec<PgrpSignal>) -> KResult<usize> {
        match cmd {
            f::TCGETS | f::TCGETS2 | f::TCGETA => self.get_termios(cmd, arg, mem),
            f::TCSETS | f::TCSETSW | f::TCSETSF => self.set_termios_from(SetKind::Termios, cmd == f::TCSETSF, arg, mem),
            f::TCSETS2 | f::TCSETSW2 | f::TCSETSF2 => self.set_termios_from(SetKind::Termios2, cmd == f::TCSETSF2, arg, mem),
            f::TCSETA | f::TCSETAW | f::TCSETAF => self.set_termios_from(SetKind::Termio, cmd == f::TCSETAF, arg, mem),
            f::TIOCGWINSZ => put(mem, arg, &self.window_size()),
            f::TIOCSWINSZ => {
                let ws = get::<WinSize>(mem, arg)?;
                sigs.extend(self.set_window_size(ws));
                Ok(0)
            }
            f::FIONREAD => put(mem, arg, &(self.state.lock().ld.inq() as i32)),
            f::TIOCOUTQ => put(mem, arg, &(self.state.lock().ld.out.pending.len() as i32)),
            f::TCFLSH => self.tcflsh(arg),
            f::TCXONC => self.tcxonc(arg),
            f::TCSBRK | f::TCSBRKP | f::TIOCSBRK | f::TIOCCBRK => Ok(0),
            _ => self.misc_ioctl(cmd, arg, mem),
        }
    }

    /// The controlling-terminal requests for `c`; `None` if `cmd` is not one.
    fn ctrl_ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory, c: &mut dyn TtyCaller) -> Option<KResult<usize>> {
        let r = match cmd {
            f::TIOCGPGRP => self.tiocgpgrp(c).and_then(|p| put(mem, arg, &p)),
            f::TIOCSPGRP => self.tiocspgrp_check(c).and_then(|()| get::<i32>(mem, arg)).and_then(|p| self.tiocspgrp_set(c, p)).map(|()| 0),
            f::TIOCGSID => self.tiocgsid(c).and_then(|s| put(mem, arg, &s)),
            f::TIOCSCTTY => self.tiocsctty(c, arg).map(|()| 0),
            f::TIOCNOTTY => self.tiocnotty(c).map(|()| 0),
            _ => return None,
        };
        Some(r)
    }

    /// The controlling-terminal requests without a caller (the plain `FileLike::ioctl`): as if
    /// the caller were the foreground session leader — no checks, `TIOCSCTTY`/`TIOCNOTTY`
    /// succeed without effect.
    fn ctrl_ioctl_fallback(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory) -> Option<KResult<usize>> {
        let r = match cmd {
            f::TIOCGPGRP => put(mem, arg, &self.foreground_pgrp()),
            f::TIOCSPGRP => get::<i32>(mem, arg).and_then(|p| self.fallback_spgrp(p)),
            f::TIOCGSID => match self.session() {
                0 => Err(Errno::ENOTTY),
                s => put(mem, arg, &s),
            },
            f::TIOCSCTTY | f::TIOCNOTTY => Ok(0),
            _ => return None,
        };
        Some(r)
    }

    fn fallback_spgrp(&self, pgrp: i32) -> KResult<usize> {
        if pgrp < 0 {
            return Err(Errno::EINVAL);
        }
        self.set_foreground_pgrp(pgrp);
        Ok(0)
    }

    fn get_termios(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory) -> KResult<usize> {
        let (t, speeds) = {
            let st = self.state.lock();
            (st.ld.termios, st.speeds)
        };
        match cmd {
            f::TCGETS2 => put(mem, arg, &tt::to_termios2(&t, speeds)),
            f::TCGETA => {
                mem.write(arg, &tt::to_termio(&t))?;
                Ok(0)
            }
            _ => put(mem, arg, &t),
        }
    }

    /// `set_termios`: reads the new settings (all reads before any change), flushes input for
    /// the `F` variants, and installs them. Output is written synchronously, so the `W`
    /// (drain) variants have nothing to wait for.
    fn set_termios_from(&self, kind: SetKind, flush: bool, arg: u64, mem: &mut dyn fs::UserMemory) -> KResult<usize> {
        let old = self.termios();
        let (new, speeds) = match kind {
            SetKind::Termios => (get::<Termios>(mem, arg)?, None),
            SetKind::Termios2 => {
                let t2 = get::<Termios2>(mem, arg)?;
                (t2.termios(), Some((t2.c_ispeed, t2.c_ospeed)))
            }
            SetKind::Termio => {
                let mut b = [0u8; tt::TERMIO_SIZE];
                mem.read(arg, &mut b)?;
                (tt::apply_termio(&old, &b), None)
            }
        };
        if let Some(s) = speeds {
            self.state.lock().speeds = s;
        }
        self.set_termios(new, flush);
        Ok(0)
    }

    /// `tty_perform_flush`: `TCIFLUSH` discards input, `TCOFLUSH` output held by a stop,
    /// `TCIOFLUSH` both; anything else is `EINVAL`.
    fn tcflsh(&self, arg: u64) -> KResult<usize> {
        let (input, output) = match arg as u32 {
            f::TCIFLUSH => (true, false),
            f::TCOFLUSH => (false, true),
            f::TCIOFLUSH => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        let fx = {
            let mut st = self.state.lock();
            if input {
                st.flush_input();
                st.drain_flip();
            }
            if output {
                st.ld.out.pending.clear();
                st.ld.flush_events |= super::ldisc::FLUSHED_OUTPUT;
            }
            take_effects(&mut st)
        };
        self.apply(fx);
        self.refresh(false);
        Ok(0)
    }

    /// `TCXONC` (`tcflow`): `TCOOFF` stops output until `TCOON`; `TCIOFF`/`TCION` send the
    /// `STOP`/`START` character to the other end (`tty_send_xchar`): a pty's master reads it,
    /// the console has no other end and ignores them; anything else is `EINVAL`.
    fn tcxonc(&self, arg: u64) -> KResult<usize> {
        let fx = {
            let mut st = self.state.lock();
            match arg as u32 {
                f::TCOOFF => {
                    if !st.ld.tco_stopped {
                        st.ld.tco_stopped = true;
                        st.ld.stop();
                    }
                }
                f::TCOON => {
                    if st.ld.tco_stopped {
                        st.ld.tco_stopped = false;
                        st.ld.start();
                    }
                }
                f::TCIOFF | f::TCION => {
                    let c = st.ld.cc(if arg as u32 == f::TCIOFF { f::VSTOP } else { f::VSTART });
                    if self.driver.is_pty() && c != tt::DISABLED_CHAR {
                        st.ld.out.pending.push(c);
                    }
                }
                _ => return Err(Errno::EINVAL),
            }
            take_effects(&mut st)
        };
        self.apply(fx);
        self.refresh(false);
        Ok(0)
    }

    /// The rest: line discipline number, exclusive mode, soft carrier, locked termios,
    /// `TIOCGDEV`, `TIOCSTI` (refused with `EIO`, as Linux without `legacy_tiocsti`).
    fn misc_ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory) -> KResult<usize> {
        match cmd {
            f::TIOCGETD => put(mem, arg, &i32::from(f::N_TTY)),
            f::TIOCSETD => match get::<i32>(mem, arg)? {
                0 => Ok(0),
                _ => Err(Errno::EINVAL),
            },
            f::TIOCEXCL | f::TIOCNXCL => {
                self.state.lock().exclusive = cmd == f::TIOCEXCL;
                Ok(0)
            }
            TIOCGEXCL => put(mem, arg, &i32::from(self.state.lock().exclusive)),
            f::TIOCGSOFTCAR => put(mem, arg, &i32::from(self.termios().c_cflag & f::CLOCAL != 0)),
            f::TIOCSSOFTCAR => self.set_softcar(get::<i32>(mem, arg)?),
            f::TIOCGLCKTRMIOS => put(mem, arg, &Termios::zeroed()),
            f::TIOCSLCKTRMIOS => Ok(0),
            f::TIOCGDEV => put(mem, arg, &encode_dev(self.driver.device())),
            f::TIOCSTI => Err(Errno::EIO),
            // A virtual console's keyboard is in Unicode mode (Linux's `vt_do_kdgkbmode`):
            // agetty asks to tell a VT from a serial line, whose set-up waits a second.
            KDGKBMODE if self.driver.is_virtual_console() => put(mem, arg, &K_UNICODE),
            _ => Err(Errno::ENOTTY),
        }
    }

    /// `TIOCSSOFTCAR`: sets or clears `CLOCAL`.
    fn set_softcar(&self, on: i32) -> KResult<usize> {
        let mut t = self.termios();
        if on != 0 {
            t.c_cflag |= f::CLOCAL;
        } else {
            t.c_cflag &= !f::CLOCAL;
        }
        self.set_termios(t, false);
        Ok(0)
    }

    /// Whether the exclusive flag (`TIOCEXCL`) is set; the kernel's open refuses non-root
    /// openers with `EBUSY` then (`tty_open`).
    pub fn is_exclusive(&self) -> bool {
        self.state.lock().exclusive
    }
}

/// The requests `tty_check_change` guards (`SIGTTOU` for background callers).
fn needs_check_change(cmd: u32) -> bool {
    matches!(
        cmd,
        f::TCSETS
            | f::TCSETSW
            | f::TCSETSF
            | f::TCSETS2
            | f::TCSETSW2
            | f::TCSETSF2
            | f::TCSETA
            | f::TCSETAW
            | f::TCSETAF
            | f::TCFLSH
            | f::TCXONC
            | f::TCSBRK
            | f::TCSBRKP
            | f::TIOCSBRK
            | f::TIOCCBRK
    )
}
