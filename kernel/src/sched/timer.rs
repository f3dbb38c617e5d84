//! Kernel timers (Linux's `hrtimer`): "at this instant, wake that task or run this callback".
//! `alarm`, interval timers, POSIX timers, timerfds, write-back and the vDSO's clock rebase
//! are all built on them. A callback runs on the scheduler's stack, outside any task: it must
//! not block. It gets the `Cpu` it fired on, so it can re-arm itself there.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Instant;

use super::Cpu;

/// A callback run when its timer fires.
pub type TimerFn = Box<dyn FnOnce(&Arc<Cpu>) + Send>;

/// What happens when a deadline passes.
pub enum TimerAction {
    /// Wake a task sleeping with a timeout.
    Wake(u32),
    /// Run a callback.
    Call(TimerFn),
}

/// A pending kernel timer, as `Cpu::add_timer` returns it (cancel with `Cpu::cancel_timer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerId(Instant, u64);

/// A timer armed on a CPU, as `Cpu::add_timer` returns it.
pub struct TimerHandle {
    pub(super) cpu: Weak<Cpu>,
    pub(super) id: TimerId,
}

impl TimerHandle {
    /// Cancels the timer if it has not fired; `true` if it was pending.
    pub fn cancel(self) -> bool {
        self.cpu.upgrade().is_some_and(|c| c.cancel_timer(self.id))
    }
}

/// The pending timers of one CPU, ordered by deadline.
#[derive(Default)]
pub struct TimerQueue {
    timers: BTreeMap<(Instant, u64), TimerAction>,
    seq: u64,
}

impl TimerQueue {
    /// Adds `action` at `deadline`.
    pub fn add(&mut self, deadline: Instant, action: TimerAction) -> TimerId {
        self.seq = self.seq.wrapping_add(1);
        self.timers.insert((deadline, self.seq), action);
        TimerId(deadline, self.seq)
    }

    /// Removes a timer that has not fired; `true` if it was pending.
    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.timers.remove(&(id.0, id.1)).is_some()
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.keys().next().map(|k| k.0)
    }

    /// Removes and returns every timer due at `now`.
    pub fn expired(&mut self, now: Instant) -> Vec<TimerAction> {
        let later = self.timers.split_off(&(now, u64::MAX));
        let due = std::mem::replace(&mut self.timers, later);
        due.into_values().collect()
    }

    /// Number of pending timers (for `/proc/timer_list`-style diagnostics and the leak test).
    pub fn len(&self) -> usize {
        self.timers.len()
    }

    /// True when no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.timers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fires_in_order_and_cancels() {
        let mut q = TimerQueue::default();
        let t0 = Instant::now();
        let a = q.add(t0 + Duration::from_millis(5), TimerAction::Wake(1));
        q.add(t0 + Duration::from_millis(1), TimerAction::Wake(2));
        q.add(t0 + Duration::from_millis(9), TimerAction::Wake(3));
        assert!(q.cancel(a));
        assert!(!q.cancel(a));
        let due = q.expired(t0 + Duration::from_millis(6));
        let tids: Vec<u32> = due.iter().map(|d| if let TimerAction::Wake(t) = d { *t } else { 0 }).collect();
        assert_eq!(tids, vec![2]);
        assert_eq!(q.len(), 1);
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_millis(9)));
    }
}
