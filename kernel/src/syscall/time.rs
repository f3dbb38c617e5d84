//! Time syscalls. No host vDSO reaches the guest, so `clock_gettime` and friends arrive here
//! as real syscalls; the clocks come from the host's (read through std, never guest-visible).

use crate::sched::Current;
use uapi::structs::{Timespec, Timeval};
use std::time::{Duration, Instant};
use uapi::{flags as f, Errno, KResult, UserAddr, UserRef};

pub use crate::timers::clock::clock_now;

/// Reads a clock for the calling task (adds the CPU-time clocks to `clock_now`'s).
pub fn clock_now_for(cur: &Current, clock: i32) -> KResult<Timespec> {
    match clock {
        f::CLOCK_PROCESS_CPUTIME_ID => {
            let (u, s) = cur.process().cpu_times();
            Ok(Timespec::from_nanos((u + s) as i128))
        }
        f::CLOCK_THREAD_CPUTIME_ID => Ok(Timespec::from_nanos(crate::sched::cpu_time_ns(&cur.task) as i128)),
        c => clock_now(c),
    }
}

/// `clock_gettime(2)`.
pub fn sys_clock_gettime(cur: &mut Current, clock: i32, tp: UserRef<Timespec>) -> KResult<usize> {
    let t = clock_now_for(cur, clock)?;
    cur.write_val(tp.addr(), &t)?;
    Ok(0)
}

/// `clock_getres(2)`: 1 ns for the high-resolution clocks, 4 ms for the coarse ones.
pub fn sys_clock_getres(cur: &mut Current, clock: i32, res: UserRef<Timespec>) -> KResult<usize> {
    clock_now_for(cur, clock)?;
    let ns = match clock {
        f::CLOCK_REALTIME_COARSE | f::CLOCK_MONOTONIC_COARSE => 4_000_000,
        _ => 1,
    };
    if !res.is_null() {
        cur.write_val(res.addr(), &Timespec { tv_sec: 0, tv_nsec: ns })?;
    }
    Ok(0)
}

/// `gettimeofday(2)`: the timezone argument is zeroed, as Linux reports UTC.
pub fn sys_gettimeofday(cur: &mut Current, tv: UserRef<Timeval>, tz: UserAddr) -> KResult<usize> {
    if !tv.is_null() {
        let t = Timespec::from_nanos(crate::timers::clock::realtime_now());
        cur.write_val(tv.addr(), &Timeval { tv_sec: t.tv_sec, tv_usec: t.tv_nsec / 1000 })?;
    }
    if !tz.is_null() {
        cur.write_val(tz, &[0i32; 2])?;
    }
    Ok(0)
}

/// `time(2)`.
pub fn sys_time(cur: &mut Current, tloc: UserRef<i64>) -> KResult<usize> {
    let secs = (crate::timers::clock::realtime_now() / 1_000_000_000) as i64;
    if !tloc.is_null() {
        cur.write_val(tloc.addr(), &secs)?;
    }
    Ok(secs as usize)
}

/// Sleeps until `deadline`; if a signal interrupts, writes the remaining time to `rem` and
/// returns `ERESTART_RESTARTBLOCK` (so a signal without a handler resumes the sleep through
/// `restart_syscall`, and a handler makes it `EINTR`), as Linux's `hrtimer_nanosleep`.
pub fn sleep_until_deadline(cur: &mut Current, deadline: Instant, rem: UserAddr) -> KResult<usize> {
    match crate::sched::sleep_until(cur, deadline) {
        Ok(()) => Ok(0),
        Err(_) => {
            let left = deadline.saturating_duration_since(Instant::now());
            if !rem.is_null() {
                cur.write_val(rem, &Timespec::from_nanos(left.as_nanos() as i128))?;
            }
            cur.restart_block = Some(deadline);
            Err(Errno::ERESTART_RESTARTBLOCK)
        }
    }
}

/// `nanosleep(2)`.
pub fn sys_nanosleep(cur: &mut Current, req: UserRef<Timespec>, rem: UserRef<Timespec>) -> KResult<usize> {
    let t: Timespec = cur.read_val(req.addr())?;
    t.validate()?;
    let deadline = Instant::now() + Duration::from_nanos(t.as_nanos() as u64);
    sleep_until_deadline(cur, deadline, rem.addr())
}

/// `clock_nanosleep(2)`: relative or `TIMER_ABSTIME` (an absolute sleep is restarted as is and
/// reports no remaining time).
pub fn sys_clock_nanosleep(cur: &mut Current, clock: i32, flags: i32, req: UserRef<Timespec>, rem: UserRef<Timespec>) -> KResult<usize> {
    let t: Timespec = cur.read_val(req.addr())?;
    t.validate()?;
    if clock == f::CLOCK_THREAD_CPUTIME_ID {
        return Err(Errno::EINVAL);
    }
    let now = clock_now_for(cur, clock)?;
    let abs = flags & f::TIMER_ABSTIME != 0;
    let ns = if abs { (t.as_nanos() - now.as_nanos()).max(0) as u64 } else { t.as_nanos() as u64 };
    let deadline = Instant::now() + Duration::from_nanos(ns);
    let r = sleep_until_deadline(cur, deadline, if abs { UserAddr::NULL } else { rem.addr() });
    if abs && r == Err(Errno::ERESTART_RESTARTBLOCK) {
        return Err(Errno::ERESTARTNOHAND);
    }
    r
}
