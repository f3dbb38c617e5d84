//! The console tty and the processes around it: the host input pump, job-control checks on
//! reads and writes (`SIGTTIN`/`SIGTTOU`), tty ioctls with the caller's session and process
//! group, controlling terminals, and hang-up when a session leader exits. The line discipline
//! itself is `crate::tty`.

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::Process;
use crate::tty::{Ctty, TtyCaller};
use crate::tty::Tty;
use fs::OpenFile;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use uapi::signal::{self as sig, SigInfo};
use uapi::{Errno, KResult};

static CONSOLE: OnceLock<Arc<Tty>> = OnceLock::new();

/// Creates the console tty (`/dev/console`, `/dev/tty`) for this run.
pub fn install(vfs: &fs::Vfs) -> Arc<Tty> {
    CONSOLE.get_or_init(|| crate::tty::install(vfs)).clone()
}

/// The console tty, once installed.
pub fn console() -> Option<&'static Arc<Tty>> {
    CONSOLE.get()
}

/// The tty behind an open file, if it is the console.
pub fn tty_of(file: &OpenFile) -> Option<&Tty> {
    file.file_like()?.as_any().downcast_ref::<Tty>()
}

/// Sends `signo` to every process of group `pgrp` (`kill_pgrp`).
pub fn kill_pgrp(pgrp: i32, signo: u32) {
    if pgrp <= 0 {
        return;
    }
    let procs: Vec<Arc<Process>> = kernel().processes.lock().values().filter_map(|p| p.upgrade()).collect();
    for p in procs {
        if p.pgid.load(Ordering::Relaxed) == pgrp as u32 && !p.is_zombie() {
            crate::signal::send_to_process(&p, signo, SigInfo::kill(signo, sig::SI_KERNEL, 0, 0));
        }
    }
}

/// Whether the console tty can take host input now (it exists, its input has not ended and
/// its buffer has room). Like Linux's tty, which receives keystrokes by interrupt whether or
/// not anyone reads, the scheduler watches host stdin whenever this holds, so `^C` reaches a
/// foreground job while its shell sits in `wait4`.
pub fn wants_input() -> bool {
    console().is_some_and(|t| !t.input_closed() && t.input_room() > 0)
}

/// Reads what the host console has for the tty and sends the signals typed (`^C`, `^Z`, `^\`).
pub fn pump_input() {
    let Some(tty) = console() else { return };
    let mut buf = [0u8; 4096];
    while tty.input_room() > 0 && !tty.input_closed() && arch_um::console::stdin_ready(0) {
        let want = tty.input_room().min(buf.len());
        match arch_um::console::read_stdin(&mut buf[..want]) {
            Ok(0) | Err(_) => tty.input_eof(),
            Ok(n) => {
                for (pgrp, s) in tty.input(&buf[..n]) {
                    kill_pgrp(pgrp, s);
                }
            }
        }
    }
}

/// The host window changed size: tell the tty, which signals `SIGWINCH` to its foreground group.
pub fn window_changed() {
    let Some(tty) = console() else { return };
    if let Some((rows, cols)) = arch_um::console::console_size() {
        let ws = uapi::structs::WinSize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        for (pgrp, s) in tty.set_window_size(ws) {
            kill_pgrp(pgrp, s);
        }
    }
}

/// A host `SIGINT` (umbra's stdin is not a terminal, so the user's `^C` reached umbra): the
/// guest's foreground group gets it, as if typed on its console.
pub fn host_interrupt() {
    let pgrp = console().map(|t| t.foreground_pgrp()).unwrap_or(0);
    if pgrp > 0 {
        kill_pgrp(pgrp, sig::SIGINT);
    } else if let Some(init) = kernel().process(1) {
        crate::signal::send_to_process(&init, sig::SIGINT, SigInfo::kill(sig::SIGINT, sig::SI_KERNEL, 0, 0));
    }
}

/// The calling process as the tty sees it.
struct Caller<'a> {
    cur: &'a Current,
    readable: bool,
}

impl TtyCaller for Caller<'_> {
    fn pgrp(&self) -> i32 {
        self.cur.process().pgid.load(Ordering::Relaxed) as i32
    }
    fn sid(&self) -> i32 {
        self.cur.process().sid.load(Ordering::Relaxed) as i32
    }
    fn is_session_leader(&self) -> bool {
        self.cur.pid() == self.cur.process().sid.load(Ordering::Relaxed)
    }
    fn ctty(&self) -> Ctty {
        if self.cur.process().has_ctty.load(Ordering::Relaxed) {
            Ctty::This
        } else {
            Ctty::None
        }
    }
    fn is_ignored(&self, s: u32) -> bool {
        self.cur.task.signals.lock().mask.contains(s) || self.cur.process().sighand().lock().get(s).is_ignore()
    }
    fn is_pgrp_orphaned(&self) -> bool {
        let pgrp = self.cur.process().pgid.load(Ordering::Relaxed);
        let sid = self.cur.process().sid.load(Ordering::Relaxed);
        let procs: Vec<Arc<Process>> = kernel().processes.lock().values().filter_map(|p| p.upgrade()).collect();
        !procs.iter().filter(|p| p.pgid.load(Ordering::Relaxed) == pgrp && !p.is_zombie()).any(|p| {
            p.parent.lock().upgrade().is_some_and(|pp| pp.pgid.load(Ordering::Relaxed) != pgrp && pp.sid.load(Ordering::Relaxed) == sid)
        })
    }
    fn session_of_pgrp(&self, pgrp: i32) -> Option<i32> {
        let procs: Vec<Arc<Process>> = kernel().processes.lock().values().filter_map(|p| p.upgrade()).collect();
        procs.iter().find(|p| p.pgid.load(Ordering::Relaxed) == pgrp as u32 && !p.is_zombie()).map(|p| p.sid.load(Ordering::Relaxed) as i32)
    }
    fn capable_sys_admin(&self) -> bool {
        self.cur.process().creds.lock().euid == 0
    }
    fn opened_for_read(&self) -> bool {
        self.readable
    }
    fn kill_pgrp(&mut self, pgrp: i32, s: u32) {
        kill_pgrp(pgrp, s);
    }
    fn set_ctty(&mut self) {
        self.cur.process().has_ctty.store(true, Ordering::Relaxed);
    }
    fn clear_ctty(&mut self) {
        self.cur.process().has_ctty.store(false, Ordering::Relaxed);
    }
    fn clear_session_ctty(&mut self, sid: i32) {
        clear_session_ctty(sid);
    }
}

fn clear_session_ctty(sid: i32) {
    let procs: Vec<Arc<Process>> = kernel().processes.lock().values().filter_map(|p| p.upgrade()).collect();
    for p in procs.iter().filter(|p| p.sid.load(Ordering::Relaxed) == sid as u32) {
        p.has_ctty.store(false, Ordering::Relaxed);
    }
}

/// Job control before reading the console (`SIGTTIN` for a background group).
pub fn check_read(cur: &Current, file: &OpenFile) -> KResult<()> {
    let Some(tty) = tty_of(file) else { return Ok(()) };
    tty.check_read(&mut Caller { cur, readable: true })
}

/// Job control before writing the console (`SIGTTOU` with `TOSTOP`).
pub fn check_write(cur: &Current, file: &OpenFile) -> KResult<()> {
    let Some(tty) = tty_of(file) else { return Ok(()) };
    tty.check_write(&mut Caller { cur, readable: file.flags().can_read() })
}

/// A tty ioctl with the caller's session and group (`TIOCSPGRP`, `TIOCSCTTY`, ...).
pub fn ioctl(cur: &mut Current, file: &OpenFile, cmd: u32, arg: u64) -> Option<KResult<usize>> {
    let tty = tty_of(file)?;
    let mut mem = cur.user_memory();
    let readable = file.flags().can_read();
    Some(tty.ioctl_with(cmd, arg, &mut mem, &mut Caller { cur, readable }))
}

/// `setsid`: the new session has no controlling terminal.
pub fn session_created(p: &Process) {
    p.has_ctty.store(false, Ordering::Relaxed);
}

/// A process exited: if it led a session with the console as controlling terminal, the
/// foreground group gets `SIGHUP` and the session loses the terminal.
pub fn process_exited(p: &Process) {
    let sid = p.sid.load(Ordering::Relaxed);
    if p.pid != sid {
        return;
    }
    let Some(tty) = console() else { return };
    for (pgrp, s) in tty.session_leader_exit(sid as i32) {
        kill_pgrp(pgrp, s);
        kill_pgrp(pgrp, sig::SIGCONT);
    }
    clear_session_ctty(sid as i32);
}

/// The deadline a blocked console read must wake at (`VTIME`), if any.
pub fn read_deadline(file: &OpenFile) -> Option<std::time::Instant> {
    tty_of(file)?.next_deadline()
}

/// A console read gave up (signal, non-blocking).
pub fn read_abandoned(file: &OpenFile) {
    if let Some(t) = tty_of(file) {
        t.read_abandoned();
    }
}

/// Errors a tty returns that mean "the caller was just signalled; restart".
pub fn is_restart(e: Errno) -> bool {
    e == Errno::ERESTARTSYS
}
