//! pidfds (Linux's `kernel/pid.c` `pidfd_open`, `pidfd_getfd` and `kernel/signal.c`
//! `pidfd_send_signal`): a file that names one process — or, with `PIDFD_THREAD` and
//! `CLONE_THREAD|CLONE_PIDFD`, one thread — for as long as it is open, so it is never
//! confused with a later process that gets the same pid.
//!
//! Readiness is Linux's `pidfd_poll`: nothing while the process runs, `POLLIN|POLLRDNORM` once
//! it has exited (a zombie, or for a thread pidfd the thread has ended) and `POLLHUP` as well
//! once it is gone (reaped). The file is `O_RDWR` (plus `O_NONBLOCK` with `PIDFD_NONBLOCK`,
//! which makes `waitid(P_PIDFD)` answer `EAGAIN` instead of waiting) and always close-on-exec.

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use crate::fs_glue::{file, Fd};
use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::{Process, Task};
use fs::abi::OpenFlags;
use fs::{FdFlags, FileLike, InodeAttr, OpenFile, PollEvents, Pollee};
use uapi::flags::{PIDFD_NONBLOCK, PIDFD_SIGNAL_PROCESS_GROUP, PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_THREAD};
use uapi::signal::{self as sig, SigInfo};
use uapi::{Errno, KResult, UserAddr};

/// What a pidfd names.
enum Target {
    /// A thread group.
    Process,
    /// One thread (its task, while it lives).
    Thread(Weak<Task>),
}

/// An open pidfd.
pub struct PidFd {
    process: Arc<Process>,
    target: Target,
    /// Where the target's exit and reaping are announced.
    pollee: Arc<Pollee>,
    /// The pid (or tid) it was made for.
    id: u32,
}

impl PidFd {
    /// A pidfd of process `p`.
    pub fn of_process(p: &Arc<Process>) -> PidFd {
        PidFd { process: p.clone(), target: Target::Process, pollee: p.pidfd_event.clone(), id: p.pid }
    }

    /// A pidfd of thread `t` (`PIDFD_THREAD`).
    pub fn of_thread(t: &Arc<Task>) -> PidFd {
        PidFd { process: t.process.clone(), target: Target::Thread(Arc::downgrade(t)), pollee: t.exit_event.clone(), id: t.tid }
    }

    /// The process it names (a thread pidfd: the thread's process).
    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }

    /// True for a thread pidfd.
    pub fn is_thread(&self) -> bool {
        matches!(self.target, Target::Thread(_))
    }

    /// The live thread a thread pidfd names.
    fn thread(&self) -> Option<Arc<Task>> {
        match &self.target {
            Target::Thread(t) => t.upgrade().filter(|t| !t.exited.load(Ordering::Relaxed)),
            Target::Process => None,
        }
    }

    /// True once the process was reaped: its pid no longer names it.
    fn reaped(&self) -> bool {
        !kernel().process(self.process.pid).is_some_and(|p| Arc::ptr_eq(&p, &self.process))
    }

    /// Whether the target has gone for good (Linux's `pid_task(pid, PIDTYPE_PID) == NULL`).
    fn gone(&self) -> bool {
        match self.target {
            Target::Process => self.reaped(),
            Target::Thread(_) => self.thread().is_none(),
        }
    }
}

impl FileLike for PidFd {
    fn read(&self, _buf: &mut [u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    fn write(&self, _data: &[u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    fn poll(&self) -> PollEvents {
        if self.gone() {
            PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLHUP
        } else if self.process.is_zombie() {
            PollEvents::POLLIN | PollEvents::POLLRDNORM
        } else {
            PollEvents::empty()
        }
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.pollee)
    }

    fn stat(&self) -> Option<InodeAttr> {
        Some(InodeAttr { ino: u64::from(self.id), mode: 0o700, nlink: 1, blksize: 4096, ..InodeAttr::default() })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The pidfd behind an open file, if it is one.
pub fn pidfd_of(f: &OpenFile) -> Option<&PidFd> {
    f.file_like()?.as_any().downcast_ref::<PidFd>()
}

/// Announces to a process's pidfds that it exited or was reaped.
pub fn notify_process(p: &Process) {
    p.pidfd_event.notify(PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLHUP);
}

/// Announces to a thread's pidfds that it ended.
pub fn notify_thread(t: &Task) {
    t.exit_event.notify(PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLHUP);
}

/// A new open file for `pidfd` (`O_RDWR`, plus `O_NONBLOCK` if asked).
pub fn open_file(pidfd: PidFd, nonblock: bool) -> Arc<OpenFile> {
    let flags = if nonblock { OpenFlags::RDWR | OpenFlags::NONBLOCK } else { OpenFlags::RDWR };
    OpenFile::new_anon_inode(Arc::new(pidfd), flags)
}

/// Installs `f` as a new close-on-exec descriptor of the caller.
pub fn install(cur: &Current, f: Arc<OpenFile>) -> KResult<i32> {
    cur.process().files().lock().alloc(f, FdFlags::CLOEXEC)
}

/// `pidfd_open(2)`: `EINVAL` for flags other than `PIDFD_NONBLOCK`/`PIDFD_THREAD` or a pid
/// that is not positive, `ESRCH` if no such process (or thread) exists, `EINVAL` for a
/// thread that does not lead its group without `PIDFD_THREAD`. An unreaped zombie is fine.
pub fn pidfd_open(cur: &mut Current, pid: i32, flags: u32) -> KResult<usize> {
    if flags & !(PIDFD_NONBLOCK | PIDFD_THREAD) != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let id = pid as u32;
    let pidfd = if flags & PIDFD_THREAD != 0 {
        match kernel().task(id).filter(|t| !t.exited.load(Ordering::Relaxed)) {
            Some(t) => PidFd::of_thread(&t),
            None => PidFd::of_process(&kernel().process(id).ok_or(Errno::ESRCH)?),
        }
    } else {
        match kernel().process(id) {
            Some(p) => PidFd::of_process(&p),
            None if kernel().task(id).is_some() => return Err(Errno::EINVAL),
            None => return Err(Errno::ESRCH),
        }
    };
    let fd = install(cur, open_file(pidfd, flags & PIDFD_NONBLOCK != 0))?;
    Ok(fd as usize)
}

/// The pidfd open at `fd` (`EBADF` if none, or if it is not a pidfd), with its file.
fn pidfd_at(cur: &Current, fd: Fd) -> KResult<Arc<OpenFile>> {
    let f = file(cur, fd)?;
    if pidfd_of(&f).is_none() {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// Linux's `kill_ok_by_cred` (+ `CAP_KILL` for euid 0): may the caller signal `target`?
pub(crate) fn may_signal(cur: &Current, target: &Process, signo: u32) -> bool {
    if std::ptr::eq(&**cur.process(), target) {
        return true;
    }
    let me = cur.process().creds();
    let them = target.creds();
    let same_session = target.sid.load(Ordering::Relaxed) == cur.process().sid.load(Ordering::Relaxed);
    me.capable(fs::capability::cap::KILL) || [me.euid, me.uid].iter().any(|u| *u == them.suid || *u == them.uid) || (signo == sig::SIGCONT && same_session)
}

/// The signal scope of `pidfd_send_signal`: `Ok(None)` for the default of the pidfd.
fn scope(flags: u32) -> KResult<Option<u32>> {
    let all = PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP;
    if flags & !all != 0 || flags.count_ones() > 1 {
        return Err(Errno::EINVAL);
    }
    Ok((flags != 0).then_some(flags))
}

/// `pidfd_send_signal(2)`: sends `signo` (0 only checks) to the process (or thread) `pidfd`
/// names. `EINVAL` for unknown flags, several scope flags, a bad signal or a `siginfo` whose
/// `si_signo` differs; `EBADF` for a non-pidfd; `EPERM` for a forged kernel `si_code` to
/// another process or a target the caller may not signal; `ESRCH` once it was reaped.
pub fn pidfd_send_signal(cur: &mut Current, fd: Fd, signo: i32, uinfo: UserAddr, flags: u32) -> KResult<usize> {
    let scope = scope(flags)?;
    let f = pidfd_at(cur, fd)?;
    let Some(pidfd) = pidfd_of(&f) else { return Err(Errno::EBADF) };
    let to_thread = match scope {
        Some(PIDFD_SIGNAL_THREAD) => true,
        Some(_) => false,
        None => pidfd.is_thread(),
    };
    let uid = cur.process().creds().uid;
    let info = if uinfo.is_null() {
        let code = if to_thread { sig::SI_TKILL } else { sig::SI_USER };
        SigInfo::kill(signo.max(0) as u32, code, cur.pid() as i32, uid)
    } else {
        let mut raw = [0u8; 128];
        cur.read_bytes(uinfo, &mut raw)?;
        let info: SigInfo = uapi::user::from_bytes(&raw);
        if info.signo != signo {
            return Err(Errno::EINVAL);
        }
        let to_self = pidfd.id == cur.task.tid && scope != Some(PIDFD_SIGNAL_PROCESS_GROUP);
        if !to_self && (info.code >= 0 || info.code == sig::SI_TKILL) {
            return Err(Errno::EPERM);
        }
        info
    };
    if pidfd.gone() {
        return Err(Errno::ESRCH);
    }
    if signo < 0 || (signo != 0 && !sig::is_valid_signal(signo as u32)) {
        return Err(Errno::EINVAL);
    }
    let signo = signo as u32;
    let p = pidfd.process().clone();
    if !may_signal(cur, &p, signo) {
        return Err(Errno::EPERM);
    }
    if signo == 0 || p.is_zombie() {
        return Ok(0);
    }
    if scope == Some(PIDFD_SIGNAL_PROCESS_GROUP) {
        let pgid = p.pgid.load(Ordering::Relaxed);
        let all: Vec<Arc<Process>> = kernel().processes.lock().values().filter_map(Weak::upgrade).collect();
        for member in all.iter().filter(|m| m.pgid.load(Ordering::Relaxed) == pgid) {
            crate::signal::send_from(cur, member, signo, info);
        }
        return Ok(0);
    }
    match (to_thread, pidfd.thread()) {
        (true, Some(t)) => crate::signal::send_to_thread_from(cur, &t, signo, info),
        _ => crate::signal::send_from(cur, &p, signo, info),
    }
    Ok(0)
}

/// Linux's `ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS)` as umbra knows it: the caller's
/// own group, root, or real ids equal to all of the target's uids and gids.
fn may_ptrace(cur: &Current, target: &Process) -> bool {
    if std::ptr::eq(&**cur.process(), target) {
        return true;
    }
    let me = cur.process().creds();
    let t = target.creds();
    me.capable(fs::capability::cap::SYS_PTRACE) || ([t.uid, t.euid, t.suid].iter().all(|u| *u == me.uid) && [t.gid, t.egid, t.sgid].iter().all(|g| *g == me.gid))
}

/// `pidfd_getfd(2)`: a close-on-exec duplicate, in the caller, of descriptor `target_fd` of
/// the process `pidfd` names. `EINVAL` for flags, `EBADF` for a non-pidfd or a descriptor the
/// target does not have, `EPERM` without ptrace rights over it, `ESRCH` once it has exited.
pub fn pidfd_getfd(cur: &mut Current, fd: Fd, target_fd: i32, flags: u32) -> KResult<usize> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let f = pidfd_at(cur, fd)?;
    let Some(pidfd) = pidfd_of(&f) else { return Err(Errno::EBADF) };
    let p = pidfd.process().clone();
    if pidfd.gone() {
        return Err(Errno::ESRCH);
    }
    if !may_ptrace(cur, &p) {
        return Err(Errno::EPERM);
    }
    if p.is_zombie() || p.exiting.load(Ordering::Relaxed) {
        return Err(Errno::ESRCH);
    }
    let theirs = p.files().lock().get(target_fd).map_err(|_| Errno::EBADF)?;
    Ok(install(cur, theirs)? as usize)
}

/// For `waitid(P_PIDFD)`: the process the pidfd at `fd` names (`None` for a thread pidfd,
/// which names no child) and whether the pidfd is non-blocking. `EBADF` for a non-pidfd.
pub fn wait_target(cur: &Current, fd: Fd) -> KResult<(Option<Arc<Process>>, bool)> {
    let f = pidfd_at(cur, fd)?;
    let Some(pidfd) = pidfd_of(&f) else { return Err(Errno::EBADF) };
    let p = (!pidfd.is_thread()).then(|| pidfd.process().clone());
    Ok((p, f.nonblocking()))
}
