//! Job control and the controlling terminal, as Linux's `drivers/tty/tty_jobctrl.c`: the
//! background checks (`__tty_check_change`, `job_control`), `TIOCSPGRP`/`TIOCGPGRP`/`TIOCGSID`,
//! `TIOCSCTTY` and `TIOCNOTTY`. Linux reads the caller's state from `current`; here the kernel
//! answers through [`TtyCaller`], so the rules live in one place and the kernel keeps its own
//! process model.

use uapi::flags as f;
use uapi::signal as sig;
use uapi::{Errno, KResult};

use super::termios::Modes;
use super::Tty;

/// The caller's controlling terminal (`current->signal->tty`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctty {
    /// None.
    None,
    /// This tty.
    This,
    /// Another terminal.
    Other,
}

/// What the tty needs to know about (and do to) the calling process. The kernel implements it
/// over `current`.
pub trait TtyCaller {
    /// `task_pgrp(current)`.
    fn pgrp(&self) -> i32;
    /// `task_session(current)`.
    fn sid(&self) -> i32;
    /// `current->signal->leader`: the caller leads its session.
    fn is_session_leader(&self) -> bool;
    /// The caller's controlling terminal relative to this tty.
    fn ctty(&self) -> Ctty;
    /// `is_ignored(sig)`: `sig` is blocked by the calling thread or its action is `SIG_IGN`.
    fn is_ignored(&self, sig: u32) -> bool;
    /// `is_current_pgrp_orphaned()`: no member of the caller's group has a parent in another
    /// group of the same session.
    fn is_pgrp_orphaned(&self) -> bool;
    /// The session of process group `pgrp`, `None` if no such group exists.
    fn session_of_pgrp(&self, pgrp: i32) -> Option<i32>;
    /// `capable(CAP_SYS_ADMIN)`.
    fn capable_sys_admin(&self) -> bool;
    /// The file the ioctl came through was opened for reading (`FMODE_READ`).
    fn opened_for_read(&self) -> bool;
    /// `kill_pgrp(pgrp, sig, 1)`.
    fn kill_pgrp(&mut self, pgrp: i32, sig: u32);
    /// `proc_set_tty`: this tty becomes the caller's controlling terminal.
    fn set_ctty(&mut self);
    /// `proc_clear_tty(current)`: the caller loses its controlling terminal.
    fn clear_ctty(&mut self);
    /// `session_clear_tty(sid)`: every process of session `sid` loses its controlling terminal.
    fn clear_session_ctty(&mut self, sid: i32);
}

impl Tty {
    /// The read-side job-control check (`job_control` → `__tty_check_change(tty, SIGTTIN)`):
    /// a member of a background group reading its controlling terminal gets `SIGTTIN` sent to
    /// its group and `ERESTARTSYS` (the read restarts once continued); `EIO` instead if
    /// `SIGTTIN` is ignored or blocked, or the group is orphaned. Call before every read.
    pub fn check_read(&self, c: &mut dyn TtyCaller) -> KResult<()> {
        self.check_change_sig(c, sig::SIGTTIN)
    }

    /// The write-side check (`n_tty_write`): with `TOSTOP` set, a background writer gets
    /// `SIGTTOU` as [`Tty::check_change`] describes; without it writes always proceed.
    pub fn check_write(&self, c: &mut dyn TtyCaller) -> KResult<()> {
        if self.state.lock().ld.lflag(f::TOSTOP) {
            self.check_change_sig(c, sig::SIGTTOU)
        } else {
            Ok(())
        }
    }

    /// `tty_check_change`: before changing the terminal (`TCSETS*`, `TCFLSH`, `TCXONC`,
    /// `TIOCSPGRP`, `TCSBRK`), a background process gets `SIGTTOU` to its group and
    /// `ERESTARTSYS`; if `SIGTTOU` is ignored or blocked the change proceeds; an orphaned group
    /// gets `EIO`. Callers not on this terminal always pass.
    pub fn check_change(&self, c: &mut dyn TtyCaller) -> KResult<()> {
        self.check_change_sig(c, sig::SIGTTOU)
    }

    /// `__tty_check_change(tty, sig)`.
    fn check_change_sig(&self, c: &mut dyn TtyCaller, s: u32) -> KResult<()> {
        if c.ctty() != Ctty::This {
            return Ok(());
        }
        let fg = self.state.lock().pgrp;
        let me = c.pgrp();
        if fg == 0 || me == fg {
            return Ok(());
        }
        if c.is_ignored(s) {
            return if s == sig::SIGTTIN { Err(Errno::EIO) } else { Ok(()) };
        }
        if c.is_pgrp_orphaned() {
            return Err(Errno::EIO);
        }
        c.kill_pgrp(me, s);
        Err(Errno::ERESTARTSYS)
    }

    /// `tiocgpgrp`: the foreground group (0 if none); `ENOTTY` unless this is the caller's
    /// controlling terminal.
    pub(super) fn tiocgpgrp(&self, c: &dyn TtyCaller) -> KResult<i32> {
        if c.ctty() != Ctty::This {
            return Err(Errno::ENOTTY);
        }
        Ok(self.state.lock().pgrp)
    }

    /// `tiocspgrp` after the value was read: `tty_check_change` (with `EIO` reported as
    /// `ENOTTY`), `EINVAL` for a negative group, `ENOTTY` unless this is the caller's
    /// controlling terminal and belongs to its session, `ESRCH` for no such group, `EPERM` for
    /// a group of another session.
    pub(super) fn tiocspgrp_check(&self, c: &mut dyn TtyCaller) -> KResult<()> {
        match self.check_change(c) {
            Err(Errno::EIO) => Err(Errno::ENOTTY),
            r => r,
        }
    }

    /// The second half of `tiocspgrp`: validates `pgrp` and makes it the foreground group.
    pub(super) fn tiocspgrp_set(&self, c: &dyn TtyCaller, pgrp: i32) -> KResult<()> {
        if pgrp < 0 {
            return Err(Errno::EINVAL);
        }
        let session = self.state.lock().session;
        if c.ctty() != Ctty::This || session != c.sid() {
            return Err(Errno::ENOTTY);
        }
        match c.session_of_pgrp(pgrp) {
            None => return Err(Errno::ESRCH),
            Some(s) if s != c.sid() => return Err(Errno::EPERM),
            Some(_) => {}
        }
        self.state.lock().pgrp = pgrp;
        Ok(())
    }

    /// `tiocgsid`: the session; `ENOTTY` unless this is the caller's controlling terminal and
    /// has a session.
    pub(super) fn tiocgsid(&self, c: &dyn TtyCaller) -> KResult<i32> {
        let session = self.state.lock().session;
        if c.ctty() != Ctty::This || session == 0 {
            return Err(Errno::ENOTTY);
        }
        Ok(session)
    }

    /// `tiocsctty`: a session leader without a controlling terminal acquires this one (its
    /// group becomes the foreground). Already ours: success. Not a leader, or already having
    /// one: `EPERM`. Owned by another session: `EPERM`, unless `arg` is 1 and the caller has
    /// `CAP_SYS_ADMIN` (it is stolen). Opened without read access: `EPERM` without
    /// `CAP_SYS_ADMIN`.
    pub(super) fn tiocsctty(&self, c: &mut dyn TtyCaller, arg: u64) -> KResult<()> {
        let session = self.state.lock().session;
        if c.is_session_leader() && session != 0 && session == c.sid() {
            return Ok(());
        }
        if !c.is_session_leader() || c.ctty() != Ctty::None {
            return Err(Errno::EPERM);
        }
        if session != 0 {
            if arg == 1 && c.capable_sys_admin() {
                c.clear_session_ctty(session);
            } else {
                return Err(Errno::EPERM);
            }
        }
        if !c.opened_for_read() && !c.capable_sys_admin() {
            return Err(Errno::EPERM);
        }
        self.set_session(c.sid(), c.pgrp());
        c.set_ctty();
        Ok(())
    }

    /// `TIOCNOTTY` (`no_tty`): `ENOTTY` unless this is the caller's controlling terminal. A
    /// session leader gives it up for the whole session (`disassociate_ctty(0)`: the
    /// foreground group gets `SIGHUP` and `SIGCONT`); any caller loses it.
    pub(super) fn tiocnotty(&self, c: &mut dyn TtyCaller) -> KResult<()> {
        if c.ctty() != Ctty::This {
            return Err(Errno::ENOTTY);
        }
        if c.is_session_leader() {
            let pgrp = self.foreground_pgrp();
            if pgrp > 0 {
                c.kill_pgrp(pgrp, sig::SIGHUP);
                c.kill_pgrp(pgrp, sig::SIGCONT);
            }
            self.clear_session();
            c.clear_session_ctty(c.sid());
        }
        c.clear_ctty();
        Ok(())
    }
}
