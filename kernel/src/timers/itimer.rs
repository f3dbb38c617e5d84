//! The interval timers of a process — `ITIMER_REAL` (SIGALRM after wall-clock time; also
//! `alarm`), `ITIMER_VIRTUAL` (SIGVTALRM after user CPU time) and `ITIMER_PROF` (SIGPROF after
//! user + system CPU time) — with Linux's value/interval semantics (`kernel/time/itimer.c`).

use super::clock::{forward, mono_now, TimerClock, TimerValue, MIN_REARM};
use crate::sched::TimerHandle;
use uapi::flags::{ITIMER_PROF, ITIMER_REAL, ITIMER_VIRTUAL};
use uapi::signal::{SIGALRM, SIGPROF, SIGVTALRM};
use uapi::{Errno, KResult};

const NS_PER_SEC: u64 = 1_000_000_000;
/// What a remaining time that has already run out reads as, for `ITIMER_REAL` (1 µs: the
/// timer is still pending, `itimer_get_remtime`).
const REAL_DUE_NS: u64 = 1_000;

/// Linux's `TICK_NSEC`: added to a CPU timer's first expiry, and what a due CPU timer reads as.
fn tick_ns() -> u64 {
    crate::sched::TICK.as_nanos() as u64
}

/// `ITIMER_REAL`.
#[derive(Default)]
struct RealTimer {
    /// Monotonic expiry, while armed.
    expires: Option<u64>,
    /// Reload interval (`it_real_incr`).
    interval: u64,
    gen: u64,
    kid: Option<TimerHandle>,
}

/// `ITIMER_VIRTUAL` or `ITIMER_PROF` (Linux's `cpu_itimer`).
#[derive(Default)]
struct CpuItimer {
    /// Absolute CPU time of the next expiry (0: disarmed).
    expires: u64,
    /// Reload interval.
    incr: u64,
    gen: u64,
    kid: Option<TimerHandle>,
}

/// A process's three interval timers.
#[derive(Default)]
pub struct Itimers {
    real: RealTimer,
    /// `[ITIMER_VIRTUAL, ITIMER_PROF]`.
    cpu: [CpuItimer; 2],
}

impl Itimers {
    /// Disarms all three (process exit).
    pub(super) fn cancel_all(&mut self) {
        self.real.cancel();
        for c in self.cpu.iter_mut() {
            c.cancel();
        }
    }
}

impl RealTimer {
    /// Drops the pending callback; older callbacks become stale.
    fn cancel(&mut self) {
        if let Some(k) = self.kid.take() {
            k.cancel();
        }
        self.gen = super::next_gen();
    }

    /// The time left (`itimer_get_remtime`): 1 µs when due but not yet fired.
    fn remaining(&self, now: u64) -> TimerValue {
        let value = self.expires.map(|e| if e > now { e - now } else { REAL_DUE_NS }).unwrap_or(0);
        TimerValue { value, interval: self.interval }
    }

    /// Schedules the callback for the expiry, no sooner than `not_before`.
    fn arm(&mut self, pid: u32, not_before: u64) {
        let Some(exp) = self.expires else { return };
        let gen = self.gen;
        let Some(cpu) = crate::sched::cpu_of_process(pid) else { return };
        self.kid = TimerClock::Wall { realtime: false }.schedule(&cpu, exp.max(not_before), 0, Box::new(move || real_fired(pid, gen)));
    }
}

impl CpuItimer {
    fn cancel(&mut self) {
        if let Some(k) = self.kid.take() {
            k.cancel();
        }
        self.gen = super::next_gen();
    }

    fn arm(&mut self, pid: u32, which: i32, now: u64) {
        let gen = self.gen;
        let Some(cpu) = crate::sched::cpu_of_process(pid) else { return };
        self.kid = cpu_clock(pid, which).schedule(&cpu, self.expires, now, Box::new(move || cpu_fired(pid, which, gen)));
    }
}

/// The CPU clock an `ITIMER_VIRTUAL`/`ITIMER_PROF` timer counts.
fn cpu_clock(pid: u32, which: i32) -> TimerClock {
    TimerClock::ProcessCpu { pid, user_only: which == ITIMER_VIRTUAL }
}

/// `which`'s slot in `Itimers::cpu`.
fn cpu_index(which: i32) -> usize {
    if which == ITIMER_VIRTUAL {
        0
    } else {
        1
    }
}

/// `setitimer(which, new)` for process `pid`: returns the old setting; `EINVAL` for an unknown
/// `which` (`do_setitimer`).
pub fn set(pid: u32, which: i32, new: TimerValue) -> KResult<TimerValue> {
    match which {
        ITIMER_REAL => Ok(set_real(pid, new)),
        ITIMER_VIRTUAL | ITIMER_PROF => Ok(set_cpu(pid, which, new)),
        _ => Err(Errno::EINVAL),
    }
}

/// `getitimer(which)` for process `pid`; `EINVAL` for an unknown `which`.
pub fn get(pid: u32, which: i32) -> KResult<TimerValue> {
    match which {
        ITIMER_REAL => {
            let now = mono_now();
            Ok(super::with_existing(pid, |t| t.itimers.real.remaining(now)).unwrap_or_default())
        }
        ITIMER_VIRTUAL | ITIMER_PROF => Ok(get_cpu(pid, which)),
        _ => Err(Errno::EINVAL),
    }
}

/// `alarm(seconds)`: sets a one-shot `ITIMER_REAL` (0 disarms) and returns the seconds that
/// were left, rounded to the nearest second but at least 1 if any time was left
/// (`alarm_setitimer`).
pub fn alarm(pid: u32, seconds: u32) -> u32 {
    let old = set_real(pid, TimerValue { value: u64::from(seconds) * NS_PER_SEC, interval: 0 });
    alarm_round(old.value)
}

/// `alarm`'s rounding of the old remaining time.
fn alarm_round(ns: u64) -> u32 {
    let (mut secs, frac) = (ns / NS_PER_SEC, ns % NS_PER_SEC);
    if (secs == 0 && frac != 0) || frac >= NS_PER_SEC / 2 {
        secs += 1;
    }
    u32::try_from(secs).unwrap_or(u32::MAX)
}

fn set_real(pid: u32, new: TimerValue) -> TimerValue {
    let now = mono_now();
    super::with_proc(pid, |t| {
        let r = &mut t.itimers.real;
        let old = r.remaining(now);
        r.cancel();
        if new.value == 0 {
            r.expires = None;
            r.interval = 0;
        } else {
            r.expires = Some(now.saturating_add(new.value));
            r.interval = new.interval;
            r.arm(pid, 0);
        }
        old
    })
    .unwrap_or_default()
}

/// `ITIMER_REAL` expired: SIGALRM to the process, and the next period if it has an interval.
fn real_fired(pid: u32, gen: u64) {
    let fired = super::with_existing(pid, |t| {
        let r = &mut t.itimers.real;
        if r.gen != gen {
            return false;
        }
        r.kid = None;
        let Some(mut exp) = r.expires else { return false };
        if r.interval == 0 {
            r.expires = None;
            return true;
        }
        let now = mono_now();
        forward(&mut exp, now, r.interval);
        r.expires = Some(exp);
        r.arm(pid, now.saturating_add(MIN_REARM.as_nanos() as u64));
        true
    });
    if fired == Some(true) {
        super::send_kernel_signal(pid, SIGALRM);
    }
}

fn set_cpu(pid: u32, which: i32, new: TimerValue) -> TimerValue {
    let now = cpu_clock(pid, which).now().unwrap_or(0);
    super::with_proc(pid, |t| {
        let c = &mut t.itimers.cpu[cpu_index(which)];
        // `set_process_cpu_timer`: an old expiry already reached reads as one tick.
        let value = match c.expires {
            0 => 0,
            e if e <= now => tick_ns(),
            e => e - now,
        };
        let old = TimerValue { value, interval: c.incr };
        c.cancel();
        c.expires = if new.value == 0 { 0 } else { now.saturating_add(new.value).saturating_add(tick_ns()) };
        c.incr = new.interval;
        if c.expires != 0 {
            c.arm(pid, which, now);
        }
        old
    })
    .unwrap_or_default()
}

fn get_cpu(pid: u32, which: i32) -> TimerValue {
    let now = cpu_clock(pid, which).now().unwrap_or(0);
    super::with_existing(pid, |t| {
        let c = &t.itimers.cpu[cpu_index(which)];
        // `get_cpu_itimer`: a timer about to fire reads as one tick.
        let value = match c.expires {
            0 => 0,
            e if e < now => tick_ns(),
            e => e - now,
        };
        TimerValue { value, interval: c.incr }
    })
    .unwrap_or_default()
}

/// A CPU interval timer's poll: fires if the CPU time reached the expiry (reloading by one
/// interval, as `check_cpu_itimer`), and polls again while armed.
fn cpu_fired(pid: u32, which: i32, gen: u64) {
    let Some(now) = cpu_clock(pid, which).now() else { return };
    let fired = super::with_existing(pid, |t| {
        let c = &mut t.itimers.cpu[cpu_index(which)];
        if c.gen != gen || c.expires == 0 {
            return false;
        }
        c.kid = None;
        let due = now >= c.expires;
        if due {
            c.expires = if c.incr == 0 { 0 } else { c.expires.saturating_add(c.incr) };
        }
        if c.expires != 0 {
            c.arm(pid, which, now);
        }
        due
    });
    if fired == Some(true) {
        super::send_kernel_signal(pid, if which == ITIMER_VIRTUAL { SIGVTALRM } else { SIGPROF });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_rounds_like_linux() {
        assert_eq!(alarm_round(0), 0);
        assert_eq!(alarm_round(1), 1);
        assert_eq!(alarm_round(499_999_999), 1);
        assert_eq!(alarm_round(1_499_999_999), 1);
        assert_eq!(alarm_round(1_500_000_000), 2);
        assert_eq!(alarm_round(5 * NS_PER_SEC), 5);
        assert_eq!(alarm_round(u64::MAX), u32::MAX);
    }

    #[test]
    fn real_remaining_reports_due_as_one_microsecond() {
        let r = RealTimer { expires: Some(100), interval: 7, gen: 0, kid: None };
        assert_eq!(r.remaining(40), TimerValue { value: 60, interval: 7 });
        assert_eq!(r.remaining(100), TimerValue { value: REAL_DUE_NS, interval: 7 });
        assert_eq!(RealTimer::default().remaining(5), TimerValue::default());
    }
}
