//! Timer syscalls: `alarm`, `setitimer`/`getitimer`, the POSIX timer calls, timerfds and
//! eventfds. Arguments are read and checked here in Linux's order; the timers themselves live
//! in `crate::timers`.

use super::args::Fd;
use crate::sched::Current;
use crate::timers::clock::{self, TimerClock, TimerValue};
use crate::timers::eventfd::{EventFd, EFD_SEMAPHORE};
use crate::timers::posix::{self, SigEvent, SIGEVENT_SIZE};
use crate::timers::timerfd::TimerFd;
use crate::timers::itimer;
use fs::{FdFlags, FileLike, OpenFile};
use std::sync::Arc;
use uapi::flags::{self as f, OpenFlags};
use uapi::structs::{Itimerspec, Itimerval};
use uapi::{Errno, KResult, UserAddr, UserRef};

/// `TFD_CLOEXEC`/`EFD_CLOEXEC` (`O_CLOEXEC`).
const CLOEXEC: i32 = OpenFlags::CLOEXEC.bits() as i32;
/// `TFD_NONBLOCK`/`EFD_NONBLOCK` (`O_NONBLOCK`).
const NONBLOCK: i32 = OpenFlags::NONBLOCK.bits() as i32;

/// `alarm(2)`: SIGALRM after `seconds` (0 cancels); returns the seconds the previous alarm had
/// left, rounded (at least 1 if any time was left).
pub fn sys_alarm(cur: &mut Current, seconds: u32) -> KResult<usize> {
    Ok(itimer::alarm(cur.pid(), seconds) as usize)
}

/// `setitimer(2)`: reads and checks the new value first (`EFAULT`, `EINVAL` for a bad
/// timeval), then `which` (`EINVAL`); a null new value disarms, as Linux still allows.
pub fn sys_setitimer(cur: &mut Current, which: i32, new: UserRef<Itimerval>, old: UserRef<Itimerval>) -> KResult<usize> {
    let value = if new.is_null() { TimerValue::default() } else { clock::from_itimerval(&cur.read_val(new.addr())?)? };
    let prev = itimer::set(cur.pid(), which, value)?;
    if !old.is_null() {
        cur.write_val(old.addr(), &clock::to_itimerval(prev))?;
    }
    Ok(0)
}

/// `getitimer(2)`.
pub fn sys_getitimer(cur: &mut Current, which: i32, value: UserRef<Itimerval>) -> KResult<usize> {
    let v = itimer::get(cur.pid(), which)?;
    cur.write_val(value.addr(), &clock::to_itimerval(v))?;
    Ok(0)
}

/// `timer_create(2)`: reads the sigevent (`EFAULT`), checks the clock (`EINVAL`,
/// `EOPNOTSUPP`) and the notification (`EINVAL`), then writes the new id (`EFAULT` deletes the
/// timer again).
pub fn sys_timer_create(cur: &mut Current, clock_id: i32, sevp: UserAddr, id_out: UserRef<i32>) -> KResult<usize> {
    let event = if sevp.is_null() {
        None
    } else {
        let mut raw = [0u8; SIGEVENT_SIZE];
        cur.read_bytes(sevp, &mut raw)?;
        Some(SigEvent::parse(&raw))
    };
    let clock = posix::timer_clock(cur, clock_id)?;
    let notify = event.map(|e| e.notify(cur)).transpose()?;
    let id = posix::create(cur.pid(), clock, notify)?;
    if let Err(e) = cur.write_val(id_out.addr(), &id) {
        let _ = posix::delete(cur.pid(), id);
        return Err(e);
    }
    Ok(0)
}

/// `timer_settime(2)`: `EINVAL` for a null new value, `EFAULT`, then `EINVAL` for a bad
/// timespec or an unknown timer; the old setting is written last.
pub fn sys_timer_settime(cur: &mut Current, id: i32, flags: i32, new: UserRef<Itimerspec>, old: UserRef<Itimerspec>) -> KResult<usize> {
    if new.is_null() {
        return Err(Errno::EINVAL);
    }
    let spec: Itimerspec = cur.read_val(new.addr())?;
    let value = clock::from_itimerspec(&spec)?;
    let prev = posix::settime(cur.pid(), id, value, flags & f::TIMER_ABSTIME != 0)?;
    if !old.is_null() {
        cur.write_val(old.addr(), &clock::to_itimerspec(prev))?;
    }
    Ok(0)
}

/// `timer_gettime(2)`.
pub fn sys_timer_gettime(cur: &mut Current, id: i32, value: UserRef<Itimerspec>) -> KResult<usize> {
    let v = posix::gettime(cur.pid(), id)?;
    cur.write_val(value.addr(), &clock::to_itimerspec(v))?;
    Ok(0)
}

/// `timer_getoverrun(2)`.
pub fn sys_timer_getoverrun(cur: &mut Current, id: i32) -> KResult<usize> {
    Ok(posix::getoverrun(cur.pid(), id)? as usize)
}

/// `timer_delete(2)`.
pub fn sys_timer_delete(cur: &mut Current, id: i32) -> KResult<usize> {
    posix::delete(cur.pid(), id)?;
    Ok(0)
}

/// Installs an anonymous file (`O_RDWR` plus `O_NONBLOCK` if asked) as the lowest free fd.
fn install(cur: &mut Current, file: Arc<dyn FileLike>, flags: i32) -> KResult<usize> {
    let mut status = OpenFlags::RDWR;
    if flags & NONBLOCK != 0 {
        status |= OpenFlags::NONBLOCK;
    }
    let fd_flags = if flags & CLOEXEC != 0 { FdFlags::CLOEXEC } else { FdFlags::empty() };
    let fd = cur.process().files().lock().alloc(OpenFile::new_anonymous(file, status), fd_flags)?;
    Ok(fd as usize)
}

/// The caller's (fsuid, fsgid), the owner `fstat` shows.
fn owner(cur: &Current) -> (u32, u32) {
    let c = cur.process().creds();
    (c.fsuid, c.fsgid)
}

/// `timerfd_create(2)`: `EINVAL` for unknown flags or a clock other than `REALTIME`,
/// `MONOTONIC`, `BOOTTIME` and their `_ALARM` variants.
pub fn sys_timerfd_create(cur: &mut Current, clock_id: i32, flags: i32) -> KResult<usize> {
    if flags & !(CLOEXEC | NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let clock = match clock_id {
        f::CLOCK_REALTIME | f::CLOCK_MONOTONIC | f::CLOCK_BOOTTIME | f::CLOCK_REALTIME_ALARM | f::CLOCK_BOOTTIME_ALARM => TimerClock::wall(clock_id),
        _ => None,
    };
    let clock = clock.ok_or(Errno::EINVAL)?;
    let tfd = TimerFd::new(clock, owner(cur), cur.cpu());
    install(cur, tfd, flags)
}

/// The timerfd behind `fd`: `EBADF` for a bad fd, `EINVAL` for another kind of file.
fn timerfd_of(cur: &Current, fd: Fd) -> KResult<Arc<dyn FileLike>> {
    let file = cur.process().files().lock().get(fd.0)?;
    let like = file.file_like().cloned().ok_or(Errno::EINVAL)?;
    if like.as_any().downcast_ref::<TimerFd>().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(like)
}

fn as_timerfd(like: &Arc<dyn FileLike>) -> KResult<&TimerFd> {
    like.as_any().downcast_ref::<TimerFd>().ok_or(Errno::EINVAL)
}

/// `timerfd_settime(2)`: reads the new value (`EFAULT`), checks flags and value (`EINVAL`),
/// then the fd (`EBADF`/`EINVAL`); `TFD_TIMER_CANCEL_ON_SET` is accepted and never triggers
/// (umbra's clock is never set).
pub fn sys_timerfd_settime(cur: &mut Current, fd: Fd, flags: i32, new: UserRef<Itimerspec>, old: UserRef<Itimerspec>) -> KResult<usize> {
    let spec: Itimerspec = cur.read_val(new.addr())?;
    if flags & !(f::TFD_TIMER_ABSTIME | f::TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let value = clock::from_itimerspec(&spec)?;
    let like = timerfd_of(cur, fd)?;
    let prev = as_timerfd(&like)?.settime(value, flags & f::TFD_TIMER_ABSTIME != 0);
    if !old.is_null() {
        cur.write_val(old.addr(), &clock::to_itimerspec(prev))?;
    }
    Ok(0)
}

/// `timerfd_gettime(2)`.
pub fn sys_timerfd_gettime(cur: &mut Current, fd: Fd, value: UserRef<Itimerspec>) -> KResult<usize> {
    let like = timerfd_of(cur, fd)?;
    let v = as_timerfd(&like)?.gettime();
    cur.write_val(value.addr(), &clock::to_itimerspec(v))?;
    Ok(0)
}

/// `eventfd2(2)`: `EINVAL` for flags other than `EFD_CLOEXEC`, `EFD_NONBLOCK`,
/// `EFD_SEMAPHORE`.
pub fn sys_eventfd2(cur: &mut Current, initval: u32, flags: i32) -> KResult<usize> {
    if flags & !(CLOEXEC | NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let efd = EventFd::new(initval, flags & EFD_SEMAPHORE != 0, owner(cur));
    install(cur, efd, flags)
}

/// `eventfd(2)`: `eventfd2` with no flags.
pub fn sys_eventfd(cur: &mut Current, initval: u32) -> KResult<usize> {
    sys_eventfd2(cur, initval, 0)
}
