//! POSIX per-process timers (`timer_create` & co., Linux's `kernel/time/posix-timers.c` and,
//! approximated by polling, `posix-cpu-timers.c`).
//!
//! Ids are per process, handed out from 0 upwards (wrapping in the positive `int` range, as
//! `posix_timer_add`). A timer notifies by a signal to its process (`SIGEV_SIGNAL`), to one of
//! its threads (`SIGEV_THREAD_ID`) or not at all (`SIGEV_NONE`: only `timer_gettime` sees it
//! count down). The signal carries `si_code = SI_TIMER`, the timer id, `si_value` and the
//! overrun count (see the module docs of `timers` for how overruns are counted here).

use super::clock::{forward, TimerClock, TimerValue, MIN_REARM};
use super::pending::find_queued;
use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::sched::TimerHandle;
use crate::task::Task;
use std::collections::BTreeMap;
use std::sync::Arc;
use uapi::flags as f;
use uapi::signal::{SigInfo, SIGALRM, SIGRTMAX};
use uapi::{Errno, KResult};

/// `SIGEV_SIGNAL`: notify with a signal to the process.
pub const SIGEV_SIGNAL: i32 = 0;
/// `SIGEV_NONE`: no notification.
pub const SIGEV_NONE: i32 = 1;
/// `SIGEV_THREAD`: the C library's thread notification; the kernel treats it as a signal.
pub const SIGEV_THREAD: i32 = 2;
/// `SIGEV_THREAD_ID`: a signal to one thread (`sigev_notify_thread_id`).
pub const SIGEV_THREAD_ID: i32 = 4;
/// The size of `struct sigevent` (`SIGEV_MAX_SIZE`).
pub const SIGEVENT_SIZE: usize = 64;
/// Most timers one process may hold (Linux bounds them by `RLIMIT_SIGPENDING`): `EAGAIN`
/// beyond.
pub const MAX_TIMERS: usize = 4096;

/// How a timer tells its process it expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// `SIGEV_NONE`.
    None,
    /// `SIGEV_SIGNAL` (and `SIGEV_THREAD`): `signo` with `si_value = value` to the process.
    Process {
        /// The signal.
        signo: u32,
        /// `sigev_value`.
        value: u64,
    },
    /// `SIGEV_THREAD_ID`: `signo` to thread `tid`.
    Thread {
        /// The target thread.
        tid: u32,
        /// The signal.
        signo: u32,
        /// `sigev_value`.
        value: u64,
    },
}

/// `struct sigevent` as the guest passed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigEvent {
    /// `sigev_value` (the raw `sival_ptr`).
    pub value: u64,
    /// `sigev_signo`.
    pub signo: i32,
    /// `sigev_notify`.
    pub notify: i32,
    /// `sigev_notify_thread_id` (the first word of the union).
    pub tid: i32,
}

impl SigEvent {
    /// Decodes the 64-byte structure (value @0, signo @8, notify @12, union @16).
    pub fn parse(b: &[u8; SIGEVENT_SIZE]) -> SigEvent {
        let word = |o: usize| i32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[..8]);
        SigEvent { value: u64::from_le_bytes(v), signo: word(8), notify: word(12), tid: word(16) }
    }

    /// The notification it asks for, checked as Linux's `good_sigevent`: `EINVAL` for an
    /// unknown `sigev_notify`, a signal outside 1..=SIGRTMAX, or a `SIGEV_THREAD_ID` thread
    /// that is not in the caller's process.
    pub fn notify(&self, cur: &Current) -> KResult<Notify> {
        let signo = || u32::try_from(self.signo).ok().filter(|&s| (1..=SIGRTMAX).contains(&s)).ok_or(Errno::EINVAL);
        match self.notify {
            SIGEV_NONE => Ok(Notify::None),
            SIGEV_SIGNAL | SIGEV_THREAD => Ok(Notify::Process { signo: signo()?, value: self.value }),
            SIGEV_THREAD_ID => {
                let tid = u32::try_from(self.tid).map_err(|_| Errno::EINVAL)?;
                let t = kernel().task(tid).filter(|t| t.process.pid == cur.pid()).ok_or(Errno::EINVAL)?;
                Ok(Notify::Thread { tid: t.tid, signo: signo()?, value: self.value })
            }
            _ => Err(Errno::EINVAL),
        }
    }
}

impl Notify {
    fn signal(&self) -> Option<(u32, u64)> {
        match *self {
            Notify::None => None,
            Notify::Process { signo, value } | Notify::Thread { signo, value, .. } => Some((signo, value)),
        }
    }
}

/// The clock a POSIX timer on `clock` counts: the wall clocks, the caller's process and
/// thread CPU clocks, and `clock_getcpuclockid`/`pthread_getcpuclockid` ids. `EINVAL` for an
/// unknown clock (or a CPU clock of a missing process), `EOPNOTSUPP` for clocks that cannot
/// drive timers (`MONOTONIC_RAW`, the coarse clocks, dynamic fd clocks), as Linux.
pub fn timer_clock(cur: &Current, clock: i32) -> KResult<TimerClock> {
    if let Some(c) = TimerClock::wall(clock) {
        return Ok(c);
    }
    match clock {
        f::CLOCK_PROCESS_CPUTIME_ID => Ok(TimerClock::ProcessCpu { pid: cur.pid(), user_only: false }),
        f::CLOCK_THREAD_CPUTIME_ID => Ok(TimerClock::ThreadCpu { tid: cur.task.tid, user_only: false }),
        f::CLOCK_MONOTONIC_RAW | f::CLOCK_REALTIME_COARSE | f::CLOCK_MONOTONIC_COARSE => Err(Errno::EOPNOTSUPP),
        c if c < 0 => encoded_cpu_clock(cur, c),
        _ => Err(Errno::EINVAL),
    }
}

/// A negative clock id: `CPUCLOCK_PID = ~(id >> 3)`, bit 2 per-thread, bits 0-1 which of
/// PROF (user + system), VIRT (user), SCHED (user + system); `id & 7 == 3` is a clock fd.
fn encoded_cpu_clock(cur: &Current, clock: i32) -> KResult<TimerClock> {
    if clock & 7 == 3 {
        return Err(Errno::EOPNOTSUPP);
    }
    let which = clock & 3;
    if which == 3 {
        return Err(Errno::EINVAL);
    }
    let user_only = which == 1;
    let id = u32::try_from(!(clock >> 3)).map_err(|_| Errno::EINVAL)?;
    if clock & 4 != 0 {
        let tid = if id == 0 { cur.task.tid } else { id };
        let t = kernel().task(tid).filter(|t| t.process.pid == cur.pid()).ok_or(Errno::EINVAL)?;
        return Ok(TimerClock::ThreadCpu { tid: t.tid, user_only });
    }
    let pid = if id == 0 { cur.pid() } else { id };
    kernel().process(pid).filter(|p| !p.is_zombie()).ok_or(Errno::EINVAL)?;
    Ok(TimerClock::ProcessCpu { pid, user_only })
}

/// One POSIX timer (Linux's `k_itimer`).
struct PosixTimer {
    clock: TimerClock,
    notify: Notify,
    /// The next expiry on `clock` (meaningful while `armed`).
    expires: u64,
    /// Set and not yet expired (one-shot) or periodic.
    armed: bool,
    interval: u64,
    gen: u64,
    kid: Option<TimerHandle>,
    /// A signal of this timer was queued and not yet seen taken.
    queued: bool,
    /// The `si_overrun` of that queued signal.
    queued_overrun: i32,
    /// What `timer_getoverrun` reports: the overrun of the last signal taken.
    overrun_last: i32,
}

impl PosixTimer {
    fn new(clock: TimerClock, notify: Notify) -> PosixTimer {
        PosixTimer { clock, notify, expires: 0, armed: false, interval: 0, gen: super::next_gen(), kid: None, queued: false, queued_overrun: 0, overrun_last: 0 }
    }

    fn cancel(&mut self) {
        if let Some(k) = self.kid.take() {
            k.cancel();
        }
        self.gen = super::next_gen();
    }

    /// The setting `timer_gettime` reports (`common_timer_get`): a due timer whose signal is
    /// not delivered yet reads 1 ns, an expired `SIGEV_NONE` one-shot reads 0.
    fn current(&self, now: u64) -> TimerValue {
        if !self.armed {
            return TimerValue::default();
        }
        let mut exp = self.expires;
        forward(&mut exp, now, self.interval);
        let value = match exp.checked_sub(now) {
            Some(v) if v > 0 => v,
            _ if self.notify == Notify::None => 0,
            _ => 1,
        };
        TimerValue { value, interval: self.interval }
    }

    /// Schedules the expiry callback (no sooner than `not_before` on a wall clock).
    fn arm(&mut self, pid: u32, id: i32, now: u64, not_before: u64) {
        let gen = self.gen;
        let f = Box::new(move || fired(pid, id, gen));
        let Some(cpu) = crate::sched::cpu_of_process(pid) else { return };
        self.kid = self.clock.schedule(&cpu, self.expires.max(not_before), now, f);
    }
}

/// A process's POSIX timers.
#[derive(Default)]
pub struct PosixTimers {
    timers: BTreeMap<i32, PosixTimer>,
    next_id: i32,
}

impl PosixTimers {
    /// Disarms and forgets every timer (exec, exit).
    pub(super) fn cancel_all(&mut self) {
        for t in self.timers.values_mut() {
            t.cancel();
        }
        self.timers.clear();
    }

    /// The next free id (`posix_timer_add`: counting up from 0, wrapping at `INT_MAX`).
    fn alloc_id(&mut self) -> KResult<i32> {
        if self.timers.len() >= MAX_TIMERS {
            return Err(Errno::EAGAIN);
        }
        loop {
            let id = self.next_id;
            self.next_id = id.checked_add(1).unwrap_or(0);
            if !self.timers.contains_key(&id) {
                return Ok(id);
            }
        }
    }
}

/// `timer_create` for process `pid`: a disarmed timer on `clock` notifying as `notify`
/// (`None`: the default, SIGALRM to the process with the timer id as `si_value`). Returns the
/// id; `EAGAIN` past `MAX_TIMERS`.
pub fn create(pid: u32, clock: TimerClock, notify: Option<Notify>) -> KResult<i32> {
    super::with_proc(pid, |t| {
        let id = t.posix.alloc_id()?;
        let notify = notify.unwrap_or(Notify::Process { signo: SIGALRM, value: id as u32 as u64 });
        t.posix.timers.insert(id, PosixTimer::new(clock, notify));
        Ok(id)
    })
    .unwrap_or(Err(uapi::Errno::ESRCH))
}

/// `timer_delete`; `EINVAL` if `id` is not one of the process's timers.
pub fn delete(pid: u32, id: i32) -> KResult<()> {
    let t = super::with_existing(pid, |t| t.posix.timers.remove(&id)).flatten();
    let mut t = t.ok_or(Errno::EINVAL)?;
    t.cancel();
    Ok(())
}

/// The clock of timer `id` (`EINVAL` if there is no such timer).
fn clock_of(pid: u32, id: i32) -> KResult<TimerClock> {
    super::with_existing(pid, |t| t.posix.timers.get(&id).map(|x| x.clock)).flatten().ok_or(Errno::EINVAL)
}

/// Runs `f` on timer `id` of `pid` (`EINVAL` if there is none).
fn with_timer<R>(pid: u32, id: i32, f: impl FnOnce(&mut PosixTimer) -> R) -> KResult<R> {
    super::with_existing(pid, |t| t.posix.timers.get_mut(&id).map(f)).flatten().ok_or(Errno::EINVAL)
}

/// `timer_gettime`: the time to the next expiry and the interval.
pub fn gettime(pid: u32, id: i32) -> KResult<TimerValue> {
    let now = clock_of(pid, id)?.now().unwrap_or(0);
    with_timer(pid, id, |t| t.current(now))
}

/// `timer_settime`: arms (value ≠ 0; `abs` for `TIMER_ABSTIME`) or disarms timer `id`; returns
/// the old setting. A past absolute time fires at once (`common_timer_set`).
pub fn settime(pid: u32, id: i32, new: TimerValue, abs: bool) -> KResult<TimerValue> {
    let clock = clock_of(pid, id)?;
    let now = clock.now().unwrap_or(0);
    with_timer(pid, id, |t| {
        let old = t.current(now);
        t.cancel();
        t.overrun_last = 0;
        t.armed = new.value != 0;
        t.interval = if t.armed { new.interval } else { 0 };
        if t.armed {
            t.expires = if abs { clock.absolute_expiry(new.value) } else { now.saturating_add(new.value) };
            if t.notify != Notify::None {
                t.arm(pid, id, now, 0);
            }
        }
        old
    })
}

/// `timer_getoverrun`: the overrun count of the last expiry signal the process took.
pub fn getoverrun(pid: u32, id: i32) -> KResult<i32> {
    let (notify, queued) = with_timer(pid, id, |t| (t.notify, t.queued.then_some(t.queued_overrun)))?;
    if let (Some(q), Some((signo, _))) = (queued, notify.signal()) {
        if !find_queued(&target_threads(pid, &notify), signo, id, None) {
            with_timer(pid, id, |t| {
                t.overrun_last = q;
                t.queued = false;
            })?;
        }
    }
    with_timer(pid, id, |t| t.overrun_last)
}

/// The threads a timer's signal may be queued on.
fn target_threads(pid: u32, notify: &Notify) -> Vec<Arc<Task>> {
    match *notify {
        Notify::Thread { tid, .. } => kernel().task(tid).into_iter().collect(),
        _ => kernel().process(pid).map(|p| p.live_threads()).unwrap_or_default(),
    }
}

/// Clamps an overrun count to the `int` `si_overrun` holds (`timer_overrun_to_int`).
fn clamp_overrun(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The callback of timer `id`: on a CPU clock it may not be due yet (poll again); otherwise
/// the timer advances past now, counting the periods that passed, and notifies.
fn fired(pid: u32, id: i32, gen: u64) {
    let snap = with_timer(pid, id, |t| (t.gen == gen).then_some((t.clock, t.notify)));
    let Ok(Some((clock, notify))) = snap else { return };
    let Some(now) = clock.now() else { return };
    let periods = with_timer(pid, id, |t| advance(t, pid, id, now)).unwrap_or(0);
    if periods > 0 {
        notify_expiry(pid, id, &notify, periods);
    }
}

/// Moves a due timer's expiry past `now` and re-arms it; returns the number of periods that
/// passed (1 for a one-shot; 0 if a polled CPU timer is not due yet, which is polled again).
fn advance(t: &mut PosixTimer, pid: u32, id: i32, now: u64) -> u64 {
    t.kid = None;
    if !t.armed {
        return 0;
    }
    if now < t.expires {
        t.arm(pid, id, now, 0);
        return 0;
    }
    if t.interval == 0 {
        t.armed = false;
        return 1;
    }
    let periods = forward(&mut t.expires, now, t.interval);
    t.arm(pid, id, now, now.saturating_add(MIN_REARM.as_nanos() as u64));
    periods
}

/// Signals an expiry (`posix_timer_event`): if the timer's previous signal is still queued the
/// periods become its overrun; else a new signal is queued with the periods beyond the first.
fn notify_expiry(pid: u32, id: i32, notify: &Notify, periods: u64) {
    let Some((signo, value)) = notify.signal() else { return };
    let threads = target_threads(pid, notify);
    let queued = with_timer(pid, id, |t| t.queued.then_some(t.queued_overrun)).ok().flatten();
    if let Some(q) = queued {
        let bumped = clamp_overrun(u64::try_from(q).unwrap_or(0).saturating_add(periods));
        if find_queued(&threads, signo, id, Some(bumped)) {
            let _ = with_timer(pid, id, |t| t.queued_overrun = bumped);
            return;
        }
        let _ = with_timer(pid, id, |t| t.overrun_last = q);
    }
    let overrun = clamp_overrun(periods - 1);
    let _ = with_timer(pid, id, |t| {
        t.queued = true;
        t.queued_overrun = overrun;
    });
    send(pid, notify, signo, SigInfo::timer(signo, id, overrun, value));
}

/// Queues the signal on the process or thread.
fn send(pid: u32, notify: &Notify, signo: u32, info: SigInfo) {
    match *notify {
        Notify::Thread { tid, .. } => {
            if let Some(t) = kernel().task(tid) {
                crate::signal::send_to_task(&t, signo, info);
            }
        }
        _ => {
            if let Some(p) = kernel().process(pid).filter(|p| !p.is_zombie()) {
                crate::signal::send_to_process(&p, signo, info);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(notify: Notify) -> PosixTimer {
        PosixTimer::new(TimerClock::Wall { realtime: false }, notify)
    }

    #[test]
    fn sigevent_layout() {
        let mut b = [0u8; SIGEVENT_SIZE];
        b[..8].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        b[8..12].copy_from_slice(&34i32.to_le_bytes());
        b[12..16].copy_from_slice(&SIGEV_THREAD_ID.to_le_bytes());
        b[16..20].copy_from_slice(&77i32.to_le_bytes());
        assert_eq!(SigEvent::parse(&b), SigEvent { value: 0x1122_3344_5566_7788, signo: 34, notify: SIGEV_THREAD_ID, tid: 77 });
    }

    #[test]
    fn ids_count_up_and_skip_used_ones() {
        let mut ts = PosixTimers::default();
        assert_eq!(ts.alloc_id(), Ok(0));
        ts.timers.insert(1, timer(Notify::None));
        assert_eq!(ts.alloc_id(), Ok(2));
        ts.next_id = i32::MAX;
        assert_eq!(ts.alloc_id(), Ok(i32::MAX));
        assert_eq!(ts.alloc_id(), Ok(0));
    }

    #[test]
    fn gettime_semantics() {
        let mut t = timer(Notify::Process { signo: 14, value: 0 });
        assert_eq!(t.current(10), TimerValue::default());
        t.armed = true;
        t.expires = 100;
        assert_eq!(t.current(40), TimerValue { value: 60, interval: 0 });
        // Due, signal not delivered yet: 1 ns.
        assert_eq!(t.current(100), TimerValue { value: 1, interval: 0 });
        t.interval = 30;
        assert_eq!(t.current(145), TimerValue { value: 15, interval: 30 });
        let mut n = timer(Notify::None);
        n.armed = true;
        n.expires = 100;
        assert_eq!(n.current(150), TimerValue::default());
    }

    #[test]
    fn overruns_clamp_to_int() {
        assert_eq!(clamp_overrun(3), 3);
        assert_eq!(clamp_overrun(u64::MAX), i32::MAX);
    }
}
