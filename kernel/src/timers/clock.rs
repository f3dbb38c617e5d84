//! What a timer measures, the expiry arithmetic every timer shares (Linux's `hrtimer_forward`),
//! and conversions between guest time structures and nanoseconds.

use crate::sched::{Cpu, TimerHandle};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uapi::structs::{Itimerspec, Itimerval, Timespec, Timeval};
use uapi::{flags as f, KResult};

/// Nanoseconds per second.
const NS_PER_SEC: u64 = 1_000_000_000;
/// The largest time Linux represents (`KTIME_MAX`); longer values saturate to it.
pub const KTIME_MAX: u64 = i64::MAX as u64;
/// The shortest wait between two polls of a CPU-time clock whose timer is already due, and
/// between two kernel-timer callbacks of a re-armed interval timer: a 1 ns interval must not
/// keep the host busy (Linux protects itself by re-arming only at signal delivery).
pub const MIN_REARM: Duration = Duration::from_micros(100);

/// The clock a timer counts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerClock {
    /// Wall-clock time; the expiry is in `CLOCK_MONOTONIC` nanoseconds. `realtime` marks the
    /// clocks whose absolute times are `CLOCK_REALTIME` ones.
    Wall {
        /// True for `CLOCK_REALTIME`, `CLOCK_REALTIME_ALARM` and `CLOCK_TAI`.
        realtime: bool,
    },
    /// A process's CPU time (all its threads, dead ones included).
    ProcessCpu {
        /// The measured process.
        pid: u32,
        /// User time only (`CPUCLOCK_VIRT`, `ITIMER_VIRTUAL`), else user + system.
        user_only: bool,
    },
    /// One thread's CPU time.
    ThreadCpu {
        /// The measured thread.
        tid: u32,
        /// User time only, else user + system.
        user_only: bool,
    },
}

impl TimerClock {
    /// The clock of a wall-clock clock id (`None` for the CPU clocks and unknown ids).
    pub fn wall(clock: i32) -> Option<TimerClock> {
        match clock {
            f::CLOCK_REALTIME | f::CLOCK_REALTIME_ALARM | f::CLOCK_TAI => Some(TimerClock::Wall { realtime: true }),
            f::CLOCK_MONOTONIC | f::CLOCK_BOOTTIME | f::CLOCK_BOOTTIME_ALARM => Some(TimerClock::Wall { realtime: false }),
            _ => None,
        }
    }

    /// The clock's current reading in nanoseconds (`None` once a measured process or thread
    /// is gone: its timers can no longer fire).
    pub fn now(&self) -> Option<u64> {
        match *self {
            TimerClock::Wall { .. } => Some(mono_now()),
            TimerClock::ProcessCpu { pid, user_only } => {
                let p = crate::task::kernel::kernel().process(pid).filter(|p| !p.is_zombie())?;
                let (u, s) = p.cpu_times();
                Some(if user_only { u } else { u.saturating_add(s) })
            }
            TimerClock::ThreadCpu { tid, user_only } => {
                let t = crate::task::kernel::kernel().task(tid)?;
                let u = t.user_ns.load(std::sync::atomic::Ordering::Relaxed);
                Some(if user_only { u } else { crate::sched::cpu_time_ns(&t) })
            }
        }
    }

    /// Converts an absolute time on this clock (as the guest reads it with `clock_gettime`) to
    /// the timer's expiry representation: `CLOCK_REALTIME` times become monotonic ones.
    pub fn absolute_expiry(&self, abs: u64) -> u64 {
        match *self {
            TimerClock::Wall { realtime: true } => {
                let offset = realtime_now().saturating_sub(i128::from(mono_now()));
                u64::try_from((i128::from(abs) - offset).max(0)).unwrap_or(KTIME_MAX)
            }
            _ => abs,
        }
    }

    /// Schedules `f` for when the clock may have reached `expires` (`now` is its current
    /// reading): exactly then for wall clocks; for CPU clocks, after the wall time the CPU time
    /// still needs (at least `MIN_REARM` when already due). `None` if the time is beyond what
    /// an `Instant` holds: such a timer never fires.
    pub fn schedule(&self, cpu: &Arc<Cpu>, expires: u64, now: u64, f: Box<dyn FnOnce() + Send>) -> Option<TimerHandle> {
        let at = match self {
            TimerClock::Wall { .. } => {
                let boot = crate::task::kernel::kernel().boot_instant;
                boot.checked_add(Duration::from_nanos(expires))?.max(Instant::now() + Duration::from_nanos(1))
            }
            _ => {
                let wait = Duration::from_nanos(expires.saturating_sub(now)).max(MIN_REARM);
                Instant::now().checked_add(wait)?
            }
        };
        Some(cpu.add_timer(at, Box::new(move |_| f())))
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds since boot.
pub fn mono_now() -> u64 {
    crate::task::kernel::kernel().uptime_ns()
}

/// `CLOCK_REALTIME` now, in nanoseconds since the epoch.
pub fn realtime_now() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0)
}

/// Reads a clock that needs no caller (Linux's clock ids; `EINVAL` for unknown ones and for
/// the CPU-time clocks, which `syscall::time::clock_now_for` reads for the caller).
pub fn clock_now(clock: i32) -> uapi::KResult<Timespec> {
    let ns = match clock {
        f::CLOCK_REALTIME | f::CLOCK_REALTIME_COARSE | f::CLOCK_TAI => realtime_now(),
        f::CLOCK_MONOTONIC | f::CLOCK_MONOTONIC_RAW | f::CLOCK_MONOTONIC_COARSE | f::CLOCK_BOOTTIME => i128::from(mono_now()),
        _ => return Err(uapi::Errno::EINVAL),
    };
    Ok(Timespec::from_nanos(ns))
}

/// A timer's setting in nanoseconds: time to (or, absolute, time of) the next expiry (0 =
/// disarmed) and the reload interval (0 = one-shot). `struct itimerspec` without the units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerValue {
    /// Time to the next expiry (0: disarmed).
    pub value: u64,
    /// Reload interval (0: one-shot).
    pub interval: u64,
}

/// Advances `expires` by whole `interval`s until it is after `now`; returns how many were
/// added (Linux's `hrtimer_forward`: 0 if `now` is before `expires`, else at least 1).
pub fn forward(expires: &mut u64, now: u64, interval: u64) -> u64 {
    if interval == 0 || now < *expires {
        return 0;
    }
    let mut n = (now - *expires) / interval;
    *expires = expires.saturating_add(n.saturating_mul(interval));
    if *expires <= now {
        *expires = expires.saturating_add(interval);
        n = n.saturating_add(1);
    }
    n
}

/// A timespec as nanoseconds, saturating at `KTIME_MAX` (`timespec64_to_ktime`).
pub fn ts_to_ns(ts: &Timespec) -> u64 {
    let ns = ts.as_nanos().clamp(0, i128::from(KTIME_MAX));
    u64::try_from(ns).unwrap_or(KTIME_MAX)
}

/// Nanoseconds as a timespec.
pub fn ns_to_ts(ns: u64) -> Timespec {
    Timespec { tv_sec: (ns / NS_PER_SEC) as i64, tv_nsec: (ns % NS_PER_SEC) as i64 }
}

/// A guest `itimerspec` as a [`TimerValue`]; `EINVAL` unless both timespecs are valid
/// (`itimerspec64_valid`: `tv_sec >= 0`, `0 <= tv_nsec < 1e9`).
pub fn from_itimerspec(its: &Itimerspec) -> KResult<TimerValue> {
    its.it_value.validate()?;
    its.it_interval.validate()?;
    Ok(TimerValue { value: ts_to_ns(&its.it_value), interval: ts_to_ns(&its.it_interval) })
}

/// A [`TimerValue`] as a guest `itimerspec`.
pub fn to_itimerspec(v: TimerValue) -> Itimerspec {
    Itimerspec { it_interval: ns_to_ts(v.interval), it_value: ns_to_ts(v.value) }
}

/// A guest `itimerval` as a [`TimerValue`]; `EINVAL` unless both timevals are valid
/// (`timeval_valid`), as `setitimer`'s `get_itimerval` checks.
pub fn from_itimerval(itv: &Itimerval) -> KResult<TimerValue> {
    itv.it_value.validate()?;
    itv.it_interval.validate()?;
    Ok(TimerValue { value: ts_to_ns(&itv.it_value.to_timespec()), interval: ts_to_ns(&itv.it_interval.to_timespec()) })
}

/// A [`TimerValue`] as a guest `itimerval` (nanoseconds truncated to microseconds, as
/// `put_itimerval` does).
pub fn to_itimerval(v: TimerValue) -> Itimerval {
    Itimerval {
        it_interval: Timeval::from_timespec(&ns_to_ts(v.interval)),
        it_value: Timeval::from_timespec(&ns_to_ts(v.value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uapi::Errno;

    #[test]
    fn forward_counts_whole_intervals_past_now() {
        let mut e = 100;
        assert_eq!(forward(&mut e, 50, 10), 0);
        assert_eq!(e, 100);
        assert_eq!(forward(&mut e, 100, 10), 1);
        assert_eq!(e, 110);
        assert_eq!(forward(&mut e, 155, 10), 5);
        assert_eq!(e, 160);
        let mut one_shot = 5;
        assert_eq!(forward(&mut one_shot, 100, 0), 0);
    }

    #[test]
    fn forward_saturates() {
        let mut e = u64::MAX - 5;
        let n = forward(&mut e, u64::MAX, 3);
        assert!(n >= 1);
        assert_eq!(e, u64::MAX);
    }

    #[test]
    fn conversions_round_trip_and_saturate() {
        let its = Itimerspec { it_interval: Timespec { tv_sec: 1, tv_nsec: 5 }, it_value: Timespec { tv_sec: 2, tv_nsec: 0 } };
        let v = TimerValue { value: 2_000_000_000, interval: 1_000_000_005 };
        assert_eq!(from_itimerspec(&its), Ok(v));
        assert_eq!(to_itimerspec(v), its);
        let huge = Timespec { tv_sec: i64::MAX, tv_nsec: 0 };
        assert_eq!(ts_to_ns(&huge), KTIME_MAX);
        let bad = Itimerspec { it_interval: Timespec { tv_sec: 0, tv_nsec: 1_000_000_000 }, ..its };
        assert_eq!(from_itimerspec(&bad), Err(Errno::EINVAL));
        let itv = Itimerval { it_interval: Timeval { tv_sec: 0, tv_usec: 1 }, it_value: Timeval { tv_sec: 3, tv_usec: 999_999 } };
        let v = TimerValue { value: 3_999_999_000, interval: 1000 };
        assert_eq!(from_itimerval(&itv), Ok(v));
        assert_eq!(to_itimerval(v), itv);
        assert_eq!(from_itimerval(&Itimerval { it_value: Timeval { tv_sec: -1, tv_usec: 0 }, ..itv }), Err(Errno::EINVAL));
    }

    #[test]
    fn wall_clock_ids() {
        assert_eq!(TimerClock::wall(f::CLOCK_REALTIME), Some(TimerClock::Wall { realtime: true }));
        assert_eq!(TimerClock::wall(f::CLOCK_BOOTTIME), Some(TimerClock::Wall { realtime: false }));
        assert_eq!(TimerClock::wall(f::CLOCK_PROCESS_CPUTIME_ID), None);
        assert_eq!(TimerClock::wall(f::CLOCK_MONOTONIC_RAW), None);
    }
}
