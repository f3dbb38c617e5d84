//! The epoll syscalls: `epoll_create`/`epoll_create1`, `epoll_ctl`, `epoll_wait`/`epoll_pwait`/
//! `epoll_pwait2` (Linux's `fs/eventpoll.c` entry points). Arguments are read and checked here
//! in Linux's order; the instance lives in `crate::epoll`. Also the strace renderings of their
//! arguments (`EPOLL_CTL_ADD`, `{events=EPOLLIN|EPOLLET, data=...}`, the reported events).

use super::args::{Fd, SigSetIn, SysArg};
use crate::epoll::{self, epoll_of, CtlOp, Epoll, EP_MAX_EVENTS};
use crate::fs_glue::file;
use crate::sched::Current;
use fs::{FdFlags, OpenFile};
use std::sync::Arc;
use std::time::Duration;
use uapi::flags::{self as f, OpenFlags};
use uapi::signal::{SigSet, SIGSET_SIZE};
use uapi::structs::{EpollEvent, Timespec};
use uapi::{Errno, KResult, UserAddr};

/// `EPOLL_CLOEXEC` (`O_CLOEXEC`).
const EPOLL_CLOEXEC: i32 = OpenFlags::CLOEXEC.bits() as i32;
/// The size of one `struct epoll_event` in guest memory.
const EVENT_SIZE: u64 = std::mem::size_of::<EpollEvent>() as u64;
/// Linux's `TASK_SIZE_MAX` on x86-64: `access_ok` refuses ranges reaching past it.
const USER_ADDR_END: u64 = 0x7fff_ffff_f000;

/// The open file behind `fd` as Linux's `fdget` gives it: an `O_PATH` descriptor counts as
/// not open (`EBADF`).
fn fdget(cur: &Current, fd: Fd) -> KResult<Arc<OpenFile>> {
    let f = file(cur, fd)?;
    if f.flags().contains(OpenFlags::PATH) {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// `epoll_create1(2)`: `EINVAL` for flags other than `EPOLL_CLOEXEC`.
pub fn sys_epoll_create1(cur: &mut Current, flags: EpollCreateFlags) -> KResult<usize> {
    if flags.0 & !EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let creds = cur.process().creds();
    let ep = Epoll::new((creds.fsuid, creds.fsgid));
    let fd_flags = if flags.0 & EPOLL_CLOEXEC != 0 { FdFlags::CLOEXEC } else { FdFlags::empty() };
    let fd = cur.process().files().lock().alloc(OpenFile::new_anonymous(ep, OpenFlags::RDWR), fd_flags)?;
    Ok(fd as usize)
}

/// `epoll_create(2)`: `size` is only checked (`EINVAL` unless positive).
pub fn sys_epoll_create(cur: &mut Current, size: i32) -> KResult<usize> {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    sys_epoll_create1(cur, EpollCreateFlags(0))
}

/// `epoll_ctl(2)`: the event is read first (`EFAULT`, for every op but `DEL`), then `epfd` and
/// `fd` (`EBADF`); the rest is checked by [`Epoll::ctl`].
pub fn sys_epoll_ctl(cur: &mut Current, epfd: Fd, op: EpollOp, fd: Fd, event: EpollEventIn) -> KResult<usize> {
    let op = CtlOp::from_raw(op.0);
    let ev = if op.has_event() { cur.read_val::<EpollEvent>(event.0)? } else { EpollEvent::default() };
    let ep_file = fdget(cur, epfd)?;
    let target = fdget(cur, fd)?;
    Epoll::ctl(&ep_file, op, fd.0, &target, ev)?;
    Ok(0)
}

/// `do_epoll_wait` (Linux 6.13+ order): `EBADF`, `EINVAL` for `maxevents` outside
/// `1..=EP_MAX_EVENTS`, `EFAULT` for an array reaching past user space, `EINVAL` if `epfd` is
/// not an epoll; then waits and copies the events out (`EFAULT` if even the first cannot be
/// written).
fn do_epoll_wait(cur: &mut Current, epfd: Fd, events: UserAddr, maxevents: i32, timeout: Option<Duration>) -> KResult<usize> {
    let ep_file = fdget(cur, epfd)?;
    let max = usize::try_from(maxevents).ok().filter(|m| (1..=EP_MAX_EVENTS).contains(m)).ok_or(Errno::EINVAL)?;
    let end = (max as u64).checked_mul(EVENT_SIZE).and_then(|len| events.0.checked_add(len));
    if end.is_none_or(|e| e > USER_ADDR_END) {
        return Err(Errno::EFAULT);
    }
    let ep = epoll_of(&ep_file).ok_or(Errno::EINVAL)?;
    epoll::wait(cur, ep, max, timeout, &mut |cur, i, ev| {
        let addr = events.checked_add(i as u64 * EVENT_SIZE).ok_or(Errno::EFAULT)?;
        cur.write_val(addr, &ev)
    })
}

/// A timeout in milliseconds as `epoll_wait` takes it: negative waits forever.
fn ms_timeout(ms: i32) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// `epoll_wait(2)`.
pub fn sys_epoll_wait(cur: &mut Current, epfd: Fd, events: EpollEventsOut, maxevents: i32, timeout: i32) -> KResult<usize> {
    do_epoll_wait(cur, epfd, events.0, maxevents, ms_timeout(timeout))
}

/// `set_user_sigmask`: with a mask, `EINVAL` unless `sigsetsize` is 8, `EFAULT`, then the
/// mask replaces the blocked set until the call returns (the old one is saved). Signals sent
/// to the process and queued on other threads that the new mask lets in are taken over, as
/// `rt_sigsuspend` does, so they interrupt the wait.
fn set_user_sigmask(cur: &mut Current, mask: UserAddr, sigsetsize: usize) -> KResult<()> {
    if mask.is_null() {
        return Ok(());
    }
    if sigsetsize != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let m: u64 = cur.read_val(mask)?;
    {
        let mut s = cur.task.signals.lock();
        let old = s.mask;
        s.saved_mask = Some(old);
        s.mask = SigSet::from_bits(m).without_unblockable();
    }
    crate::signal::claim_process_signals(cur);
    Ok(())
}

/// `restore_saved_sigmask_unless(EINTR)`: after `EINTR` the temporary mask stays until the
/// signal is delivered (the handler's frame saves the old one; with no handler it is put back
/// on the way to user space).
fn restore_sigmask_unless_interrupted(cur: &mut Current, r: &KResult<usize>) {
    if *r != Err(Errno::EINTR) {
        let mut s = cur.task.signals.lock();
        if let Some(m) = s.saved_mask.take() {
            s.mask = m;
        }
    }
}

/// `epoll_wait` with a temporary signal mask.
fn do_epoll_pwait(cur: &mut Current, epfd: Fd, events: UserAddr, maxevents: i32, timeout: Option<Duration>, sigmask: UserAddr, sigsetsize: usize) -> KResult<usize> {
    set_user_sigmask(cur, sigmask, sigsetsize)?;
    let r = do_epoll_wait(cur, epfd, events, maxevents, timeout);
    restore_sigmask_unless_interrupted(cur, &r);
    r
}

/// `epoll_pwait(2)`.
pub fn sys_epoll_pwait(cur: &mut Current, epfd: Fd, events: EpollEventsOut, maxevents: i32, timeout: i32, sigmask: SigSetIn, sigsetsize: usize) -> KResult<usize> {
    do_epoll_pwait(cur, epfd, events.0, maxevents, ms_timeout(timeout), sigmask.0, sigsetsize)
}

/// `epoll_pwait2(2)`: the timeout is a `timespec` (`EFAULT`, `EINVAL` if invalid; null waits
/// forever), read before anything else.
pub fn sys_epoll_pwait2(cur: &mut Current, epfd: Fd, events: EpollEventsOut, maxevents: i32, timeout: UserAddr, sigmask: SigSetIn, sigsetsize: usize) -> KResult<usize> {
    let timeout = if timeout.is_null() {
        None
    } else {
        let t: Timespec = cur.read_val(timeout)?;
        t.validate()?;
        Some(Duration::from_nanos(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)))
    };
    do_epoll_pwait(cur, epfd, events.0, maxevents, timeout, sigmask.0, sigsetsize)
}

// ---------------------------------------------------------------------------------------------
// Argument types and their strace renderings.

/// `epoll_create1`'s flags: strace prints `EPOLL_CLOEXEC`.
#[derive(Clone, Copy, Debug)]
pub struct EpollCreateFlags(pub i32);

/// `epoll_ctl`'s op: strace prints `EPOLL_CTL_ADD` and friends.
#[derive(Clone, Copy, Debug)]
pub struct EpollOp(pub u32);

/// `epoll_ctl`'s event (read by the kernel): strace prints `{events=..., data=...}`.
#[derive(Clone, Copy, Debug)]
pub struct EpollEventIn(pub UserAddr);

/// `epoll_wait`'s array (filled by the kernel; the result counts the entries): strace prints
/// the events reported.
#[derive(Clone, Copy, Debug)]
pub struct EpollEventsOut(pub UserAddr);

impl SysArg for EpollCreateFlags {
    fn from_raw(raw: u64) -> Self {
        EpollCreateFlags(raw as i32)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        let v = args[i] as i32;
        out.push_str(&match v {
            0 => "0".to_string(),
            EPOLL_CLOEXEC => "EPOLL_CLOEXEC".to_string(),
            _ => format!("{v:#x}"),
        });
    }
}

impl SysArg for EpollOp {
    fn from_raw(raw: u64) -> Self {
        EpollOp(raw as u32)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        let v = args[i] as u32;
        out.push_str(&match v {
            f::EPOLL_CTL_ADD => "EPOLL_CTL_ADD".to_string(),
            f::EPOLL_CTL_DEL => "EPOLL_CTL_DEL".to_string(),
            f::EPOLL_CTL_MOD => "EPOLL_CTL_MOD".to_string(),
            _ => format!("{v:#x} /* EPOLL_CTL_??? */"),
        });
    }
}

/// The names of the `EPOLL*` bits, as strace prints them.
const EVENT_NAMES: &[(u32, &str)] = &[
    (f::EPOLLIN, "EPOLLIN"),
    (f::EPOLLPRI, "EPOLLPRI"),
    (f::EPOLLOUT, "EPOLLOUT"),
    (f::EPOLLERR, "EPOLLERR"),
    (f::EPOLLHUP, "EPOLLHUP"),
    (0x20, "EPOLLNVAL"),
    (f::EPOLLRDNORM, "EPOLLRDNORM"),
    (f::EPOLLRDBAND, "EPOLLRDBAND"),
    (f::EPOLLWRNORM, "EPOLLWRNORM"),
    (f::EPOLLWRBAND, "EPOLLWRBAND"),
    (f::EPOLLMSG, "EPOLLMSG"),
    (f::EPOLLRDHUP, "EPOLLRDHUP"),
    (f::EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"),
    (f::EPOLLWAKEUP, "EPOLLWAKEUP"),
    (f::EPOLLONESHOT, "EPOLLONESHOT"),
    (f::EPOLLET, "EPOLLET"),
];

/// `EPOLLIN|EPOLLET`, with unknown bits in hex.
fn event_bits(events: u32) -> String {
    let mut parts: Vec<String> = EVENT_NAMES.iter().filter(|(b, _)| events & b != 0).map(|(_, n)| n.to_string()).collect();
    let rest = EVENT_NAMES.iter().fold(events, |r, (b, _)| r & !b);
    if rest != 0 || parts.is_empty() {
        parts.push(if rest == 0 { "0".to_string() } else { format!("{rest:#x}") });
    }
    parts.join("|")
}

/// One event as strace shows it: `{events=EPOLLIN, data={u32=5, u64=5}}`.
fn push_event(ev: &EpollEvent, out: &mut String) {
    let (events, data) = (ev.events, ev.data);
    out.push_str(&format!("{{events={}, data={{u32={}, u64={}}}}}", event_bits(events), data as u32, data));
}

impl SysArg for EpollEventIn {
    fn from_raw(raw: u64) -> Self {
        EpollEventIn(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        let addr = args[i];
        if args[1] as u32 == f::EPOLL_CTL_DEL && addr == 0 {
            out.push_str("NULL");
            return;
        }
        match cur.read_val::<EpollEvent>(UserAddr(addr)) {
            Ok(ev) => push_event(&ev, out),
            Err(_) => crate::strace::push_ptr(addr, out),
        }
    }
}

impl SysArg for EpollEventsOut {
    fn from_raw(raw: u64) -> Self {
        EpollEventsOut(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], ret: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        let addr = args[i];
        let Some(Ok(n)) = ret else {
            crate::strace::push_ptr(addr, out);
            return;
        };
        out.push('[');
        for k in 0..(*n as u64).min(32) {
            let ev = UserAddr(addr).checked_add(k * EVENT_SIZE).and_then(|a| cur.read_val::<EpollEvent>(a).ok());
            let Some(ev) = ev else { break };
            if k > 0 {
                out.push_str(", ");
            }
            push_event(&ev, out);
        }
        if *n > 32 {
            out.push_str(", ...");
        }
        out.push(']');
    }
}
