//! Terminals and the processes around them: the console's host input pump, job-control
//! checks on reads and writes (`SIGTTIN`/`SIGTTOU`), tty ioctls with the caller's session and
//! process group, controlling terminals (the console or a pty slave), `/dev/tty`, and what
//! happens when a session leader exits. The line discipline itself is `crate::tty`; the pty
//! devices are in `pty_glue`.
//!
//! A process records only whether it has a controlling terminal (`Process::has_ctty`); which
//! one is the terminal whose session is the process's (a session has at most one terminal and
//! a terminal at most one session, as in Linux's `tty->ctrl.session`).

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::Process;
use crate::tty::pty::{Pty, PtyMaster, PtySlave};
use crate::tty::{Ctty, TtyCaller};
use crate::tty::Tty;
use fs::abi::OpenFlags;
use fs::klock::KMutex;
use fs::{FdFlags, FileLike, OpenFile};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};
use uapi::flags as f;
use uapi::signal::{self as sig, SigInfo};
use uapi::{Errno, KResult};

static CONSOLE: OnceLock<Arc<Tty>> = OnceLock::new();

/// The live ptys (weakly: a pty lives while files of it are open).
static PTYS: OnceLock<KMutex<Vec<Weak<Pty>>>> = OnceLock::new();

/// Creates the console tty (`/dev/console`) for this run and makes `/dev/tty` (5:0) open the
/// caller's controlling terminal.
pub fn install(vfs: &fs::Vfs) -> Arc<Tty> {
    let console = CONSOLE.get_or_init(|| crate::tty::install(vfs)).clone();
    vfs.devices().register_char_device("tty", 5, 0, 0o666, Arc::new(CurrentTty));
    console
}

/// The console tty, once installed.
pub fn console() -> Option<&'static Arc<Tty>> {
    CONSOLE.get()
}

fn ptys() -> &'static KMutex<Vec<Weak<Pty>>> {
    PTYS.get_or_init(|| KMutex::new(Vec::new()))
}

/// Records a new pty, so it can be found as a session's controlling terminal.
pub fn register_pty(pty: &Arc<Pty>) {
    let mut list = ptys().lock();
    list.retain(|p| p.strong_count() > 0);
    list.push(Arc::downgrade(pty));
}

fn live_ptys() -> Vec<Arc<Pty>> {
    ptys().lock().iter().filter_map(Weak::upgrade).collect()
}

/// A terminal a session can have.
pub enum Terminal {
    /// The console.
    Console(Arc<Tty>),
    /// A pty's slave.
    Pty(Arc<Pty>),
}

impl Terminal {
    /// Its tty.
    pub fn tty(&self) -> &Arc<Tty> {
        match self {
            Terminal::Console(t) => t,
            Terminal::Pty(p) => p.slave(),
        }
    }
}

/// The terminal controlling session `sid`, if any.
pub fn terminal_of_session(sid: u32) -> Option<Terminal> {
    let sid = i32::try_from(sid).ok().filter(|s| *s > 0)?;
    if let Some(c) = console().filter(|c| c.session() == sid) {
        return Some(Terminal::Console(c.clone()));
    }
    live_ptys().into_iter().find(|p| p.slave().session() == sid).map(Terminal::Pty)
}

/// The controlling terminal of `p` (`p->signal->tty`).
pub fn ctty_of(p: &Process) -> Option<Terminal> {
    if !p.has_ctty.load(Ordering::Relaxed) {
        return None;
    }
    terminal_of_session(p.sid.load(Ordering::Relaxed))
}

/// The controlling terminal of `p` as `/proc/<pid>/stat` shows it: its device number
/// (`new_encode_dev`) and foreground group, `(0, -1)` without one.
pub fn ctty_stat(p: &Process) -> (u32, i32) {
    match ctty_of(p) {
        Some(t) => {
            let tty = t.tty();
            let pgrp = tty.foreground_pgrp();
            (crate::tty::encode_dev(tty.driver().device()), if pgrp > 0 { pgrp } else { -1 })
        }
        None => (0, -1),
    }
}

/// The tty behind an open file: the console or a pty slave.
pub fn tty_of(file: &OpenFile) -> Option<&Tty> {
    let any = file.file_like()?.as_any();
    if let Some(t) = any.downcast_ref::<Tty>() {
        return Some(t);
    }
    any.downcast_ref::<PtySlave>().map(|s| &**s.tty())
}

/// The pty behind an open master file.
pub fn pty_master_of(file: &OpenFile) -> Option<&Arc<Pty>> {
    file.file_like()?.as_any().downcast_ref::<PtyMaster>().map(PtyMaster::pty)
}

/// True if `file` is the console tty (its reads pump the host's input first).
pub fn is_console(file: &OpenFile) -> bool {
    file.file_like().is_some_and(|f| f.as_any().is::<Tty>())
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

/// A terminal of session `sid` hung up (`tty_signal_session_leader`): the session's leader
/// gets `SIGHUP` and `SIGCONT`, and every process of the session loses the terminal.
pub fn session_hung_up(sid: i32) {
    let Ok(pid) = u32::try_from(sid) else { return };
    if let Some(leader) = kernel().process(pid).filter(|p| !p.is_zombie() && p.sid.load(Ordering::Relaxed) == pid) {
        for s in [sig::SIGHUP, sig::SIGCONT] {
            crate::signal::send_to_process(&leader, s, SigInfo::kill(s, sig::SI_KERNEL, 0, 0));
        }
    }
    clear_session_ctty(sid);
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

/// The calling process as the tty `tty` sees it.
struct Caller<'a> {
    cur: &'a Current,
    readable: bool,
    tty: &'a Tty,
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
        if !self.cur.process().has_ctty.load(Ordering::Relaxed) {
            return Ctty::None;
        }
        let session = self.tty.session();
        if session != 0 && session == self.sid() {
            Ctty::This
        } else {
            Ctty::Other
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
        self.cur.process().creds.lock().capable(fs::capability::cap::SYS_ADMIN)
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

/// Job control before reading a terminal (`SIGTTIN` for a background group).
pub fn check_read(cur: &Current, file: &OpenFile) -> KResult<()> {
    let Some(tty) = tty_of(file) else { return Ok(()) };
    if tty.is_hung_up() {
        return Ok(());
    }
    tty.check_read(&mut Caller { cur, readable: true, tty })
}

/// Job control before writing a terminal (`SIGTTOU` with `TOSTOP`).
pub fn check_write(cur: &Current, file: &OpenFile) -> KResult<()> {
    let Some(tty) = tty_of(file) else { return Ok(()) };
    if tty.is_hung_up() {
        return Ok(());
    }
    tty.check_write(&mut Caller { cur, readable: file.flags().can_read(), tty })
}

/// A tty ioctl with the caller's session and group (`TIOCSPGRP`, `TIOCSCTTY`, ...), on the
/// console, a pty slave or a pty master; `None` if `file` is no terminal.
pub fn ioctl(cur: &mut Current, file: &OpenFile, cmd: u32, arg: u64) -> Option<KResult<usize>> {
    if let Some(pty) = pty_master_of(file) {
        if cmd == f::TIOCGPTPEER {
            return Some(open_peer(cur, pty, arg));
        }
        let mut mem = cur.user_memory();
        let readable = file.flags().can_read();
        let tty = pty.slave();
        let r = pty.master_ioctl_with(cmd, arg, &mut mem, &mut Caller { cur, readable, tty });
        send_pending(tty);
        return Some(r);
    }
    let tty = tty_of(file)?;
    if cmd == f::TIOCGPTPEER {
        // `ptm_open_peer` on anything but a master.
        return Some(Err(Errno::EIO));
    }
    let mut mem = cur.user_memory();
    let readable = file.flags().can_read();
    let r = tty.ioctl_with(cmd, arg, &mut mem, &mut Caller { cur, readable, tty });
    send_pending(tty);
    Some(r)
}

/// Sends the signals a tty left pending (input processed once an ioctl made room).
fn send_pending(tty: &Tty) {
    for (pgrp, s) in tty.take_signals() {
        kill_pgrp(pgrp, s);
    }
}

/// `TIOCGPTPEER` (`ptm_open_peer`): opens the master's slave through its devpts node with
/// `open` flags `arg` and installs it as a new fd.
fn open_peer(cur: &mut Current, pty: &Arc<Pty>, arg: u64) -> KResult<usize> {
    let flags = OpenFlags::from_bits_truncate(u32::try_from(arg).map_err(|_| Errno::EINVAL)?);
    let path = pty.slave_path().cloned().ok_or(Errno::EIO)?;
    let slave = open_slave(pty, flags, Some(cur.process()))?;
    let file = OpenFile::new(path, Some(slave), flags);
    let fdflags = if flags.contains(OpenFlags::CLOEXEC) { FdFlags::CLOEXEC } else { FdFlags::empty() };
    let fd = cur.process().files().lock().alloc(file, fdflags)?;
    Ok(fd as usize)
}

/// Opens a pty's slave for process `opener` (`tty_open` of a slave): `EIO` while locked,
/// `EBUSY` in exclusive mode for non-root; without `O_NOCTTY`, a session leader without a
/// controlling terminal opening it for reading acquires it (`tty_open_proc_set_tty`).
pub fn open_slave(pty: &Arc<Pty>, flags: OpenFlags, opener: Option<&Arc<Process>>) -> KResult<Arc<dyn FileLike>> {
    let file = pty.open_slave()?;
    let tty = pty.slave();
    if let Some(p) = opener {
        if tty.is_exclusive() && !p.creds.lock().capable(fs::capability::cap::SYS_ADMIN) {
            return Err(Errno::EBUSY);
        }
        if !flags.contains(OpenFlags::NOCTTY) && flags.can_read() {
            acquire_ctty(p, tty);
        }
    }
    Ok(file)
}

/// `__proc_set_tty` on open: only for a session leader without a terminal, and a terminal
/// without a session.
fn acquire_ctty(p: &Process, tty: &Tty) {
    let sid = p.sid.load(Ordering::Relaxed);
    if p.pid != sid || p.has_ctty.load(Ordering::Relaxed) || tty.session() != 0 {
        return;
    }
    tty.set_session(sid as i32, p.pgid.load(Ordering::Relaxed) as i32);
    p.has_ctty.store(true, Ordering::Relaxed);
}

/// The process of the running task (what a device's open sees as `current`).
pub fn current_process() -> Option<Arc<Process>> {
    let k = kernel();
    match k.running_tid.load(Ordering::Relaxed) {
        0 => None,
        tid => k.task(tid).map(|t| t.process.clone()),
    }
}

/// `/dev/tty` (5:0): opens the caller's controlling terminal (`tty_open_current_tty`),
/// `ENXIO` without one.
struct CurrentTty;

impl fs::devfs::DeviceOpen for CurrentTty {
    fn open(&self, flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        let p = current_process().ok_or(Errno::ENXIO)?;
        match ctty_of(&p).ok_or(Errno::ENXIO)? {
            Terminal::Console(t) => Ok(t),
            Terminal::Pty(pty) => open_slave(&pty, flags | OpenFlags::NOCTTY, Some(&p)),
        }
    }
}

/// `setsid`: the new session has no controlling terminal.
pub fn session_created(p: &Process) {
    p.has_ctty.store(false, Ordering::Relaxed);
}

/// A process exited: if it led a session with a controlling terminal, the foreground group
/// gets `SIGHUP` (and `SIGCONT`, for the console) and the session loses the terminal
/// (`disassociate_ctty(1)`).
pub fn process_exited(p: &Process) {
    let sid = p.sid.load(Ordering::Relaxed);
    if p.pid != sid {
        return;
    }
    if let Some(term) = terminal_of_session(sid) {
        let tty = term.tty();
        let pty = tty.driver().is_pty();
        for (pgrp, s) in tty.session_leader_exit(sid as i32) {
            kill_pgrp(pgrp, s);
            if !pty {
                kill_pgrp(pgrp, sig::SIGCONT);
            }
        }
    }
    clear_session_ctty(sid as i32);
}

/// A non-blocking read of a terminal that found too little for `VMIN`: what is there
/// (see [`Tty::read_available`]); `None` if `file` is no terminal.
pub fn read_nonblocking(file: &OpenFile, buf: &mut [u8]) -> Option<KResult<usize>> {
    let tty = tty_of(file)?;
    let r = tty.read_available(buf);
    send_pending(tty);
    Some(r)
}

/// The deadline a blocked terminal read must wake at (`VTIME`), if any.
pub fn read_deadline(file: &OpenFile) -> Option<std::time::Instant> {
    tty_of(file)?.next_deadline()
}

/// A terminal read gave up (signal, non-blocking).
pub fn read_abandoned(file: &OpenFile) {
    if let Some(t) = tty_of(file) {
        t.read_abandoned();
    }
}

/// Errors a tty returns that mean "the caller was just signalled; restart".
pub fn is_restart(e: Errno) -> bool {
    e == Errno::ERESTARTSYS
}
