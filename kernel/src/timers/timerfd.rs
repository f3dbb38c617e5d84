//! Timerfds (Linux's `fs/timerfd.c`): a file whose `read` returns the number of expirations
//! since the last read as 8 bytes.
//!
//! As in Linux, an expiry only counts a tick and marks the timer expired; a periodic timer is
//! re-armed by the next `read` or `timerfd_gettime`, which add the periods missed meanwhile
//! (so a tiny interval costs nothing while nobody reads). `read` with fewer than 8 bytes is
//! `EINVAL`, with no expiration `EAGAIN` (the kernel sleeps on the pollee for a blocking fd);
//! `poll` reports `POLLIN` while expirations are pending. `write` is `EINVAL`.

use super::clock::{forward, TimerClock, TimerValue};
use crate::sched::{Cpu, TimerHandle};
use fs::klock::KMutex;
use fs::{FileLike, InodeAttr, PollEvents, Pollee};
use std::any::Any;
use std::sync::{Arc, Weak};
use uapi::{Errno, KResult};

/// The mutable part of a timerfd (`struct timerfd_ctx`).
#[derive(Default)]
struct State {
    /// Next expiry, monotonic nanoseconds (meaningful while `armed`).
    expires: u64,
    armed: bool,
    interval: u64,
    /// Expirations not yet read.
    ticks: u64,
    /// The timer fired and a periodic one awaits re-arming.
    expired: bool,
    gen: u64,
    kid: Option<TimerHandle>,
}

/// A timerfd.
pub struct TimerFd {
    me: Weak<TimerFd>,
    clock: TimerClock,
    state: KMutex<State>,
    pollee: Pollee,
    owner: (u32, u32),
    /// The CPU its expiries fire on (its creator's).
    cpu: Weak<Cpu>,
}

impl TimerFd {
    /// A disarmed timerfd on `clock` (a wall clock), owned by `owner` (uid, gid) for `fstat`.
    pub fn new(clock: TimerClock, owner: (u32, u32), cpu: &Arc<Cpu>) -> Arc<TimerFd> {
        let cpu = Arc::downgrade(cpu);
        Arc::new_cyclic(|me| TimerFd { me: me.clone(), clock, state: KMutex::new(State::default()), pollee: Pollee::default(), owner, cpu })
    }

    /// `timerfd_settime`: returns the old setting, then arms (value ≠ 0; `abs` for
    /// `TFD_TIMER_ABSTIME`) or disarms. Unread expirations are discarded (`timerfd_setup`).
    pub fn settime(&self, new: TimerValue, abs: bool) -> TimerValue {
        let now = super::clock::mono_now();
        let mut s = self.state.lock();
        if s.expired && s.interval > 0 {
            let interval = s.interval;
            forward(&mut s.expires, now, interval);
        }
        let old = remaining(&s, now);
        if let Some(k) = s.kid.take() {
            k.cancel();
        }
        s.gen = super::next_gen();
        s.ticks = 0;
        s.expired = false;
        s.interval = new.interval;
        s.armed = new.value != 0;
        if s.armed {
            s.expires = if abs { self.clock.absolute_expiry(new.value) } else { now.saturating_add(new.value) };
            self.arm(&mut s, now);
        }
        drop(s);
        self.pollee.del_events(PollEvents::POLLIN);
        old
    }

    /// `timerfd_gettime`: re-arms an expired periodic timer first (counting the missed
    /// periods as ticks), then reports the time left and the interval.
    pub fn gettime(&self) -> TimerValue {
        let now = super::clock::mono_now();
        let mut s = self.state.lock();
        self.rearm_expired(&mut s, now);
        remaining(&s, now)
    }

    /// Re-arms a periodic timer that expired: `ticks += periods - 1` (the first was counted
    /// when it fired), as `timerfd_read`/`do_timerfd_gettime` do.
    fn rearm_expired(&self, s: &mut State, now: u64) {
        if !(s.expired && s.interval > 0) {
            return;
        }
        s.expired = false;
        let interval = s.interval;
        let periods = forward(&mut s.expires, now, interval);
        s.ticks = s.ticks.saturating_add(periods.saturating_sub(1));
        self.arm(s, now);
    }

    /// Schedules the expiry callback.
    fn arm(&self, s: &mut State, now: u64) {
        let (me, gen) = (self.me.clone(), s.gen);
        let Some(cpu) = self.cpu.upgrade() else { return };
        s.kid = self.clock.schedule(&cpu, s.expires, now, Box::new(move || fired(&me, gen)));
    }
}

/// The time to the next expiry (0 when disarmed or already expired).
fn remaining(s: &State, now: u64) -> TimerValue {
    let value = if s.armed { s.expires.saturating_sub(now) } else { 0 };
    TimerValue { value, interval: s.interval }
}

/// An expiry (`timerfd_tmrproc`): one more tick, readers woken; a one-shot is disarmed.
fn fired(me: &Weak<TimerFd>, gen: u64) {
    let Some(tfd) = me.upgrade() else { return };
    {
        let mut s = tfd.state.lock();
        if s.gen != gen {
            return;
        }
        s.kid = None;
        s.ticks = s.ticks.saturating_add(1);
        s.expired = true;
        if s.interval == 0 {
            s.armed = false;
        }
    }
    tfd.pollee.add_events(PollEvents::POLLIN);
}

impl FileLike for TimerFd {
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let now = super::clock::mono_now();
        let mut s = self.state.lock();
        if s.ticks == 0 {
            return Err(Errno::EAGAIN);
        }
        let first = s.ticks;
        s.ticks = 0;
        self.rearm_expired(&mut s, now);
        let ticks = first.saturating_add(s.ticks);
        s.ticks = 0;
        drop(s);
        self.pollee.del_events(PollEvents::POLLIN);
        buf[..8].copy_from_slice(&ticks.to_ne_bytes());
        Ok(8)
    }

    fn write(&self, _data: &[u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    fn poll(&self) -> PollEvents {
        if self.state.lock().ticks > 0 {
            PollEvents::POLLIN
        } else {
            PollEvents::empty()
        }
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.pollee)
    }

    fn stat(&self) -> Option<InodeAttr> {
        Some(super::eventfd::anon_attr(self.owner))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
