//! Time syscalls. No host vDSO reaches the guest, so `clock_gettime` and friends arrive here
//! as real syscalls; the clocks come from the host's (read through std, never guest-visible).

use crate::current::Current;
use crate::kernel::kernel;
use uapi::structs::{Timespec, Timeval};
use uapi::{flags as f, Errno, KResult, UserAddr, UserRef};

fn realtime_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// CPU time of the calling process or thread, from the host's accounting of the stub
/// (refined by the scheduler work; until then the kernel's own CPU time stands in).
fn cpu_time_ns() -> i128 {
    crate::sched::cpu_time_ns(0) as i128
}

/// Reads a clock (Linux's clock ids; `EINVAL` for unknown ones).
pub fn clock_now(clock: i32) -> KResult<Timespec> {
    let ns = match clock {
        f::CLOCK_REALTIME | f::CLOCK_REALTIME_COARSE | f::CLOCK_TAI => realtime_ns(),
        f::CLOCK_MONOTONIC | f::CLOCK_MONOTONIC_RAW | f::CLOCK_MONOTONIC_COARSE | f::CLOCK_BOOTTIME => {
            kernel().uptime_ns() as i128
        }
        f::CLOCK_PROCESS_CPUTIME_ID | f::CLOCK_THREAD_CPUTIME_ID => cpu_time_ns(),
        _ => return Err(Errno::EINVAL),
    };
    Ok(Timespec::from_nanos(ns))
}

/// `clock_gettime(2)`.
pub fn sys_clock_gettime(cur: &mut Current, clock: i32, tp: UserRef<Timespec>) -> KResult<usize> {
    let t = clock_now(clock)?;
    cur.write_val(tp.addr(), &t)?;
    Ok(0)
}

/// `clock_getres(2)`: 1 ns for the high-resolution clocks, 4 ms for the coarse ones.
pub fn sys_clock_getres(cur: &mut Current, clock: i32, res: UserRef<Timespec>) -> KResult<usize> {
    clock_now(clock)?;
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
        let t = Timespec::from_nanos(realtime_ns());
        cur.write_val(tv.addr(), &Timeval { tv_sec: t.tv_sec, tv_usec: t.tv_nsec / 1000 })?;
    }
    if !tz.is_null() {
        cur.write_val(tz, &[0i32; 2])?;
    }
    Ok(0)
}

/// `time(2)`.
pub fn sys_time(cur: &mut Current, tloc: UserRef<i64>) -> KResult<usize> {
    let secs = (realtime_ns() / 1_000_000_000) as i64;
    if !tloc.is_null() {
        cur.write_val(tloc.addr(), &secs)?;
    }
    Ok(secs as usize)
}

/// `nanosleep(2)`.
pub fn sys_nanosleep(cur: &mut Current, req: UserRef<Timespec>, rem: UserRef<Timespec>) -> KResult<usize> {
    let t: Timespec = cur.read_val(req.addr())?;
    t.validate()?;
    crate::sched::sleep_for(cur, t.as_nanos().max(0) as u64, rem.addr())
}

/// `clock_nanosleep(2)`: relative or `TIMER_ABSTIME`.
pub fn sys_clock_nanosleep(cur: &mut Current, clock: i32, flags: i32, req: UserRef<Timespec>, rem: UserRef<Timespec>) -> KResult<usize> {
    let t: Timespec = cur.read_val(req.addr())?;
    t.validate()?;
    let now = clock_now(clock)?;
    if matches!(clock, f::CLOCK_THREAD_CPUTIME_ID) {
        return Err(Errno::EINVAL);
    }
    let ns = if flags & f::TIMER_ABSTIME != 0 {
        (t.as_nanos() - now.as_nanos()).max(0) as u64
    } else {
        t.as_nanos().max(0) as u64
    };
    let rem = if flags & f::TIMER_ABSTIME != 0 { UserAddr::NULL } else { rem.addr() };
    crate::sched::sleep_for(cur, ns, rem)
}
