//! Sleeping: the kernel's one blocking primitive, [`wait_until`] (Linux's
//! `wait_event_interruptible_timeout`), and its killable and timed variants. A waiter registers
//! its task's waker on the `Pollee`s it waits for and re-checks its condition whenever one of
//! them signals; what woke it is either *readiness* or *interruption* (a pending signal the
//! task does not block). What a signal means is decided by the layers above.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Instant;

use fs::{PollEvents, Pollee, Waker};
use uapi::{Errno, KResult};

use super::Current;

/// Whether a signal the task does not block is pending (or it is being killed): a blocking
/// syscall must return `ERESTARTSYS`/`EINTR` for it.
pub fn signal_pending(cur: &Current) -> bool {
    if cur.process().exiting.load(Ordering::Relaxed) || cur.task.exited.load(Ordering::Relaxed) {
        return true;
    }
    let unblocked = {
        let s = cur.task.signals.lock();
        !s.pending.set.difference(s.mask).is_empty()
    };
    // A `PTRACE_INTERRUPT` interrupts a sleep as a signal does.
    unblocked || cur.task.ptrace.lock().interrupt
}

/// Blocks until `cond` returns `Some`, re-checking it whenever one of `pollees` signals any of
/// `events`, a signal arrives (`Err(ERESTARTSYS)`), or `deadline` passes (`Err(ETIMEDOUT)`).
pub fn wait_until<T>(
    cur: &mut Current,
    pollees: &[&Pollee],
    events: PollEvents,
    deadline: Option<Instant>,
    mut cond: impl FnMut(&mut Current) -> Option<KResult<T>>,
) -> KResult<T> {
    let waker = cur.cpu().waker(cur.task.tid);
    let weak: Weak<dyn Waker> = Arc::downgrade(&waker);
    let result = loop {
        if let Some(r) = cond(cur) {
            break r;
        }
        if signal_pending(cur) {
            break Err(Errno::ERESTARTSYS);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break Err(Errno::ETIMEDOUT);
        }
        for p in pollees {
            p.register(weak.clone(), events);
        }
        cur.cpu().sleep(&cur.task, deadline);
        for p in pollees {
            p.unregister(&weak);
        }
    };
    drop(waker);
    result
}

/// Blocks until `cond` holds, ignoring ordinary signals (they stay pending): only SIGKILL or
/// the process exiting cuts the wait short (`false`). Linux's `TASK_KILLABLE` waits, as the
/// `vfork` parent's.
pub fn wait_killable(cur: &mut Current, pollees: &[&Pollee], mut cond: impl FnMut() -> bool) -> bool {
    let waker = cur.cpu().waker(cur.task.tid);
    let weak: Weak<dyn Waker> = Arc::downgrade(&waker);
    loop {
        if cond() {
            return true;
        }
        let killed = cur.process().exiting.load(Ordering::Relaxed)
            || cur.task.exited.load(Ordering::Relaxed)
            || cur.task.signals.lock().pending.set.contains(uapi::signal::SIGKILL);
        if killed {
            return false;
        }
        for p in pollees {
            p.register(weak.clone(), PollEvents::all());
        }
        cur.cpu().sleep(&cur.task, None);
        for p in pollees {
            p.unregister(&weak);
        }
    }
}

/// Sleeps until `deadline` (`nanosleep`): `Ok` when it passed, `Err(ERESTARTSYS)` if a
/// signal came first.
pub fn sleep_until(cur: &mut Current, deadline: Instant) -> KResult<()> {
    match wait_until(cur, &[], PollEvents::empty(), Some(deadline), |_| None::<KResult<()>>) {
        Err(Errno::ETIMEDOUT) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}
