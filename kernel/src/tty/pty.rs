//! Pseudo-terminals, as Linux's Unix98 ptys (`drivers/tty/pty.c`): a pair of a master, opened
//! from `ptmx`, and a slave `/dev/pts/N`, which is an ordinary [`Tty`] (N_TTY, job control,
//! sessions) whose [`TtyDriver`] is the link to the master. What the slave's programs write
//! (after output processing, and the echo of what they are typed) queues for master reads;
//! what the master writes is the slave's input, held in the slave's flip buffer while its line
//! discipline is full.
//!
//! The master side follows `pty.c` and the master half of `n_tty.c`: reads return what is
//! queued (`EAGAIN` when empty; `EIO` once every slave file closed, with `POLLHUP`, until the
//! slave is opened again); packet mode (`TIOCPKT`) prefixes data with `TIOCPKT_DATA` and
//! reports flushes, stops and starts and `IXON` changes of the slave as one status byte
//! (`POLLPRI`); the slave is locked (`EIO` on open) until `TIOCSPTLCK` unlocks it. Closing the
//! master hangs the slave up (reads 0, writes `EIO`, its session leader gets `SIGHUP` and
//! `SIGCONT`) and removes `/dev/pts/N`; the index is free again once the last file of either
//! side is closed.
//!
//! Termios and window-size requests on the master act on the slave (`tty_pair_get_tty`).

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use bytemuck::Pod;
use fs::devpts::{DevPts, PTS_MAJOR};
use fs::klock::KMutex;
use fs::{FileLike, Path, PollEvents, Pollee};
use uapi::flags as f;
use uapi::signal as sig;
use uapi::structs::{Termios, WinSize};
use uapi::{Errno, KResult};

use super::job::TtyCaller;
use super::termios::{std_termios, Modes, N_TTY_BUF_SIZE};
use super::{PgrpSignal, Tty, TtyDriver};

/// `TIOCSIG`: `_IOW('T', 0x36, int)`, signal the slave's foreground group (master only).
pub const TIOCSIG: u32 = 0x4004_5436;
/// `TIOCGPKT`: `_IOR('T', 0x38, int)`, whether packet mode is on.
pub const TIOCGPKT: u32 = 0x8004_5438;
/// `TIOCGPTLCK`: `_IOR('T', 0x39, int)`, whether the slave is locked.
pub const TIOCGPTLCK: u32 = 0x8004_5439;

/// Packet-mode status bits (`TIOCPKT_*`).
pub mod pkt {
    /// Data follows.
    pub const DATA: u8 = 0;
    /// The slave's input was flushed.
    pub const FLUSHREAD: u8 = 1;
    /// The slave's output was flushed.
    pub const FLUSHWRITE: u8 = 2;
    /// Output stopped (`^S`, `TCOOFF`).
    pub const STOP: u8 = 4;
    /// Output restarted.
    pub const START: u8 = 8;
    /// `IXON` with `^S`/`^Q` was turned off.
    pub const NOSTOP: u8 = 16;
    /// `IXON` with `^S`/`^Q` was turned on.
    pub const DOSTOP: u8 = 32;
}

/// What the master can hold unread: N_TTY's buffer plus flip buffers, about what Linux takes
/// before a slave writer blocks.
pub const MASTER_BUFFER: usize = N_TTY_BUF_SIZE - 1 + 16 * 1024;
/// Input the slave holds beyond its line discipline's buffer before a master writer blocks.
pub const SLAVE_FLIP: usize = 16 * 1024;

/// What the kernel does for a pty that needs processes.
pub trait PtyHooks: Send + Sync {
    /// Sends `sig` to every process of group `pgrp` (`kill_pgrp`).
    fn kill_pgrp(&self, pgrp: i32, sig: u32);
    /// The slave hung up while it was the controlling terminal of session `sid`: its leader
    /// gets `SIGHUP` and `SIGCONT` and the session's processes lose the terminal
    /// (`tty_signal_session_leader`).
    fn hangup(&self, sid: i32);
}

/// The pty's shared state (the master's `tty_struct` and the flags of both).
struct LinkState {
    /// What the slave wrote, for master reads.
    queue: VecDeque<u8>,
    /// `TIOCPKT` on the master (`tty->ctrl.packet`).
    packet: bool,
    /// Packet status not yet read (the slave's `ctrl.pktstatus`).
    pktstatus: u8,
    /// `TTY_PTY_LOCK`: slave opens fail with `EIO`.
    locked: bool,
    /// Open files of the slave.
    slave_files: usize,
    /// `TTY_OTHER_CLOSED` on the master: the last slave file closed.
    slave_closed: bool,
    /// The master file was closed.
    master_closed: bool,
}

/// The link between the two sides: the slave's driver, and the master's input queue and
/// readiness.
pub struct PtyLink {
    index: u32,
    state: KMutex<LinkState>,
    master_pollee: Pollee,
    slave: OnceLock<Weak<Tty>>,
}

impl PtyLink {
    fn slave(&self) -> Option<Arc<Tty>> {
        self.slave.get().and_then(Weak::upgrade)
    }

    /// Packet-mode status update (`pty_stop`, `pty_start`, `n_tty_packet_mode_flush`).
    fn packet_status(&self, update: impl FnOnce(&mut u8)) {
        {
            let mut st = self.state.lock();
            if !st.packet {
                return;
            }
            update(&mut st.pktstatus);
        }
        self.refresh_master();
    }

    /// The master's readiness (`n_tty_poll` on the master): `POLLIN` with data or packet
    /// status (`POLLPRI` too), `POLLOUT` while the slave takes input, `POLLHUP` once the slave
    /// closed.
    fn master_events(&self) -> PollEvents {
        let room = self.slave().map_or(0, |s| s.input_capacity());
        let st = self.state.lock();
        let mut ev = PollEvents::empty();
        let status = st.packet && st.pktstatus != 0;
        if !st.queue.is_empty() || status {
            ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
        }
        if status {
            ev |= PollEvents::POLLPRI;
        }
        if room > 0 {
            ev |= PollEvents::POLLOUT | PollEvents::POLLWRNORM;
        }
        if st.slave_closed {
            ev |= PollEvents::POLLHUP;
        }
        ev
    }

    /// Publishes the master's readiness.
    fn refresh_master(&self) {
        let ev = self.master_events();
        let cur = self.master_pollee.events();
        let gone = cur - ev;
        if !gone.is_empty() {
            self.master_pollee.del_events(gone);
        }
        let new = ev - cur;
        if !new.is_empty() {
            self.master_pollee.add_events(new);
        }
    }
}

impl TtyDriver for PtyLink {
    /// `pty_write`: the slave's output queues for the master.
    fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.state.lock().queue.extend(bytes);
        self.refresh_master();
        Ok(())
    }

    /// `pty_write_room`: the master's free buffer.
    fn write_room(&self) -> usize {
        MASTER_BUFFER.saturating_sub(self.state.lock().queue.len())
    }

    /// `pty_stop`/`pty_start`.
    fn flow_changed(&self, stopped: bool) {
        self.packet_status(|s| {
            if stopped {
                *s = (*s & !pkt::START) | pkt::STOP;
            } else {
                *s = (*s & !pkt::STOP) | pkt::START;
            }
        });
    }

    /// `n_tty_packet_mode_flush` and `pty_flush_buffer`.
    fn flushed(&self, input: bool, output: bool) {
        let bits = if input { pkt::FLUSHREAD } else { 0 } | if output { pkt::FLUSHWRITE } else { 0 };
        self.packet_status(|s| *s |= bits);
    }

    /// `pty_set_termios`: a pty is always 8 bits, receiving, without parity.
    fn adjust_termios(&self, t: &mut Termios) {
        t.c_cflag &= !(f::CSIZE | f::PARENB);
        t.c_cflag |= f::CS8 | f::CREAD;
    }

    /// `pty_set_termios`: packet mode hears when `^S`/`^Q` flow control turns on or off.
    fn termios_changed(&self, old: &Termios, new: &Termios) {
        let flow = |t: &Termios| t.iflag(f::IXON) && t.cc(f::VSTOP) == 0o23 && t.cc(f::VSTART) == 0o21;
        let (was, is) = (flow(old), flow(new));
        if was != is {
            self.packet_status(|s| {
                *s &= !(pkt::DOSTOP | pkt::NOSTOP);
                *s |= if is { pkt::DOSTOP } else { pkt::NOSTOP };
            });
        }
    }

    fn tty_changed(&self) {
        self.refresh_master();
    }

    fn device(&self) -> (u32, u32) {
        (PTS_MAJOR, self.index)
    }

    fn is_pty(&self) -> bool {
        true
    }
}

/// The slave's initial settings (`pts_driver->init_termios`): Linux's standard ones with
/// `B38400 | CS8 | CREAD` (no `HUPCL`).
pub fn slave_termios() -> Termios {
    let mut t = std_termios();
    t.c_cflag = f::B38400 | f::CS8 | f::CREAD;
    t
}

/// One pseudo-terminal: both sides, its devpts node and index.
pub struct Pty {
    index: u32,
    slave: Arc<Tty>,
    link: Arc<PtyLink>,
    hooks: Arc<dyn PtyHooks>,
    devpts: Arc<DevPts>,
    /// `/dev/pts/N` in the devpts mount it was made through (`TIOCGPTPEER` opens it).
    slave_path: OnceLock<Path>,
}

impl Pty {
    /// A new pty with index `index` of `devpts` (already allocated); the slave starts locked
    /// (`ptmx_open` sets `TTY_PTY_LOCK`).
    pub fn new(index: u32, devpts: Arc<DevPts>, hooks: Arc<dyn PtyHooks>) -> Arc<Pty> {
        let link = Arc::new(PtyLink {
            index,
            state: KMutex::new(LinkState {
                queue: VecDeque::new(),
                packet: false,
                pktstatus: 0,
                locked: true,
                slave_files: 0,
                slave_closed: false,
                master_closed: false,
            }),
            master_pollee: Pollee::new(PollEvents::empty()),
            slave: OnceLock::new(),
        });
        let slave = Tty::with_driver(slave_termios(), WinSize::default(), link.clone(), SLAVE_FLIP);
        let _ = link.slave.set(Arc::downgrade(&slave));
        link.refresh_master();
        Arc::new(Pty { index, slave, link, hooks, devpts, slave_path: OnceLock::new() })
    }

    /// The index `N` of `/dev/pts/N`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The slave terminal.
    pub fn slave(&self) -> &Arc<Tty> {
        &self.slave
    }

    /// Records where the slave's node is (once).
    pub fn set_slave_path(&self, p: Path) {
        let _ = self.slave_path.set(p);
    }

    /// Where the slave's node is.
    pub fn slave_path(&self) -> Option<&Path> {
        self.slave_path.get()
    }

    /// Opens the slave (`pty_open`): `EIO` while locked or once the master closed; clears
    /// the master's "slave closed" state.
    pub fn open_slave(self: &Arc<Self>) -> KResult<Arc<PtySlave>> {
        {
            let mut st = self.link.state.lock();
            if st.locked || st.master_closed {
                return Err(Errno::EIO);
            }
            st.slave_files += 1;
            st.slave_closed = false;
        }
        self.link.refresh_master();
        Ok(Arc::new(PtySlave { pty: self.clone() }))
    }

    /// The master file for a new pty (the caller opened `ptmx`).
    pub fn master(self: &Arc<Self>) -> Arc<PtyMaster> {
        Arc::new(PtyMaster { pty: self.clone() })
    }

    fn send(&self, sigs: Vec<PgrpSignal>) {
        for (pgrp, s) in sigs {
            self.hooks.kill_pgrp(pgrp, s);
        }
    }

    /// A slave file closed (`pty_close` on the slave): after the last one the master reads
    /// `EIO` and polls `POLLHUP`.
    fn slave_file_closed(&self) {
        {
            let mut st = self.link.state.lock();
            st.slave_files = st.slave_files.saturating_sub(1);
            if st.slave_files == 0 {
                st.slave_closed = true;
            }
        }
        self.link.refresh_master();
    }

    /// The master closed (`pty_close` on the master): packet mode ends, the slave's node goes
    /// and the slave hangs up (`tty_vhangup`).
    fn master_closed(&self) {
        {
            let mut st = self.link.state.lock();
            st.master_closed = true;
            st.packet = false;
        }
        self.devpts.remove_node(self.index);
        let sid = self.slave.hangup();
        if sid > 0 {
            self.hooks.hangup(sid);
        }
    }

    /// A master read (`n_tty_read` on the master): packet status alone if any is pending,
    /// else the queued bytes (after a `TIOCPKT_DATA` byte in packet mode); `EIO` when nothing
    /// is queued and the slave closed, `EAGAIN` when nothing is queued yet.
    pub fn master_read(&self, buf: &mut [u8]) -> KResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = {
            let mut st = self.link.state.lock();
            if st.packet && st.pktstatus != 0 {
                buf[0] = std::mem::take(&mut st.pktstatus);
                1
            } else if st.queue.is_empty() {
                return Err(if st.slave_closed { Errno::EIO } else { Errno::EAGAIN });
            } else {
                let start = usize::from(st.packet);
                if st.packet {
                    buf[0] = pkt::DATA;
                }
                let n = (buf.len() - start).min(st.queue.len());
                for (d, s) in buf[start..].iter_mut().zip(st.queue.drain(..n)) {
                    *d = s;
                }
                start + n
            }
        };
        self.link.refresh_master();
        self.slave.refresh(false);
        Ok(n)
    }

    /// A master write: the bytes are the slave's input (`pty_write` into the slave's flip
    /// buffer); `EAGAIN` if the slave takes none now. Signals typed go to the slave's
    /// foreground group.
    pub fn master_write(&self, data: &[u8]) -> KResult<usize> {
        let (n, sigs) = self.slave.receive(data);
        self.send(sigs);
        if n == 0 && !data.is_empty() {
            return Err(Errno::EAGAIN);
        }
        Ok(n)
    }

    /// The master's ioctls that need no caller: the pty ones (`pty_unix98_ioctl`), the
    /// master's own queue (`FIONREAD`, `TIOCOUTQ`, `TCFLSH`); `None` for the requests that
    /// act on the slave.
    fn master_own_ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory) -> Option<KResult<usize>> {
        let r = match cmd {
            f::TIOCGPTN => put(mem, arg, &self.index),
            f::TIOCSPTLCK => get::<i32>(mem, arg).map(|v| {
                self.link.state.lock().locked = v != 0;
                0
            }),
            TIOCGPTLCK => put(mem, arg, &i32::from(self.link.state.lock().locked)),
            f::TIOCPKT => get::<i32>(mem, arg).map(|v| {
                self.set_packet(v != 0);
                0
            }),
            TIOCGPKT => put(mem, arg, &i32::from(self.link.state.lock().packet)),
            TIOCSIG => self.tiocsig(arg),
            f::FIONREAD => put(mem, arg, &(self.link.state.lock().queue.len() as i32)),
            f::TIOCOUTQ => put(mem, arg, &0i32),
            f::TCFLSH => self.master_flush(arg),
            f::TCXONC => match arg as u32 {
                f::TCOOFF | f::TCOON | f::TCIOFF | f::TCION => Ok(0),
                _ => Err(Errno::EINVAL),
            },
            f::TIOCSTI => Err(Errno::EIO),
            _ => return None,
        };
        Some(r)
    }

    /// `pty_set_pktmode`: turning it on clears stale status.
    fn set_packet(&self, on: bool) {
        {
            let mut st = self.link.state.lock();
            if on && !st.packet {
                st.pktstatus = 0;
            }
            st.packet = on;
        }
        self.link.refresh_master();
    }

    /// `pty_signal`: `SIGINT`, `SIGQUIT` or `SIGTSTP` to the slave's foreground group.
    fn tiocsig(&self, arg: u64) -> KResult<usize> {
        let s = u32::try_from(arg).map_err(|_| Errno::EINVAL)?;
        if ![sig::SIGINT, sig::SIGQUIT, sig::SIGTSTP].contains(&s) {
            return Err(Errno::EINVAL);
        }
        let pgrp = self.slave.foreground_pgrp();
        if pgrp > 0 {
            self.hooks.kill_pgrp(pgrp, s);
        }
        Ok(0)
    }

    /// `TCFLSH` on the master: `TCIFLUSH` discards what the slave wrote, `TCOFLUSH` the input
    /// the slave holds unprocessed (`pty_flush_buffer` flushes the other side's flip buffer).
    fn master_flush(&self, arg: u64) -> KResult<usize> {
        let (input, output) = match arg as u32 {
            f::TCIFLUSH => (true, false),
            f::TCOFLUSH => (false, true),
            f::TCIOFLUSH => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        if input {
            self.link.state.lock().queue.clear();
        }
        if output {
            self.slave.discard_held_input();
        }
        self.link.refresh_master();
        self.slave.refresh(false);
        Ok(0)
    }

    /// A master ioctl on behalf of `caller`: the pty's own requests, then the slave's
    /// (`tty_pair_get_tty`): `TIOCGPGRP` and `TIOCGSID` without the controlling-terminal
    /// check, `TIOCNOTTY` refused, the rest as the slave's own ioctl.
    pub fn master_ioctl_with(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory, caller: &mut dyn TtyCaller) -> KResult<usize> {
        if let Some(r) = self.master_own_ioctl(cmd, arg, mem) {
            return r;
        }
        match cmd {
            f::TIOCGPGRP => put(mem, arg, &self.slave.foreground_pgrp()),
            f::TIOCGSID => match self.slave.session() {
                0 => Err(Errno::ENOTTY),
                s => put(mem, arg, &s),
            },
            f::TIOCNOTTY => Err(Errno::ENOTTY),
            _ => self.slave.ioctl_with(cmd, arg, mem, caller),
        }
    }
}

impl Drop for Pty {
    /// The pair is gone (`pty_cleanup`): its index may be reused.
    fn drop(&mut self) {
        self.devpts.remove_node(self.index);
        self.devpts.release_index(self.index);
    }
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

/// An open master (one per `ptmx` open): closing it closes the master.
pub struct PtyMaster {
    pty: Arc<Pty>,
}

impl PtyMaster {
    /// The pty.
    pub fn pty(&self) -> &Arc<Pty> {
        &self.pty
    }
}

impl Drop for PtyMaster {
    fn drop(&mut self) {
        self.pty.master_closed();
    }
}

impl FileLike for PtyMaster {
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        self.pty.master_read(buf)
    }

    fn write(&self, data: &[u8], _offset: u64) -> KResult<usize> {
        self.pty.master_write(data)
    }

    fn poll(&self) -> PollEvents {
        self.pty.link.master_events()
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.pty.link.master_pollee)
    }

    /// Without a calling process: the pty's requests, else the slave's caller-free ones.
    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory) -> KResult<usize> {
        match self.pty.master_own_ioctl(cmd, arg, mem) {
            Some(r) => r,
            None => self.pty.slave.ioctl(cmd, arg, mem),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open slave file (`/dev/pts/N`, `TIOCGPTPEER`, or `/dev/tty` of a process the slave
/// controls): the slave tty, counted so the master sees its last close.
pub struct PtySlave {
    pty: Arc<Pty>,
}

impl PtySlave {
    /// The pty.
    pub fn pty(&self) -> &Arc<Pty> {
        &self.pty
    }

    /// The slave terminal.
    pub fn tty(&self) -> &Arc<Tty> {
        &self.pty.slave
    }
}

impl Drop for PtySlave {
    fn drop(&mut self) {
        self.pty.slave_file_closed();
    }
}

impl FileLike for PtySlave {
    /// As the tty's read; input the read made room for is processed, and its signals sent.
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        let r = self.pty.slave.read_at(buf, Instant::now());
        self.pty.send(self.pty.slave.take_signals());
        r
    }

    fn write(&self, data: &[u8], offset: u64) -> KResult<usize> {
        self.pty.slave.write(data, offset)
    }

    fn poll(&self) -> PollEvents {
        self.pty.slave.poll()
    }

    fn pollee(&self) -> Option<&Pollee> {
        self.pty.slave.pollee()
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory) -> KResult<usize> {
        let r = self.pty.slave.ioctl(cmd, arg, mem);
        self.pty.send(self.pty.slave.take_signals());
        r
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
