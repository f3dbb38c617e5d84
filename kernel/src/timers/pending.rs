//! Finding a POSIX timer's signal while it is still queued, and updating its `si_overrun`
//! (Linux keeps a pointer to the timer's `sigqueue`; here the pending queues are searched).

use crate::task::Task;
use std::sync::Arc;
use uapi::signal::{SigInfo, SI_TIMER};

/// True if `info` is the expiry signal of timer `id`.
fn is_timer_signal(info: &SigInfo, id: i32) -> bool {
    info.code == SI_TIMER && info.timer_id() == id
}

/// Looks for the queued expiry signal `signo` of timer `id` on `threads`; if found and
/// `overrun` is given, rewrites its `si_overrun`. Returns whether it is still queued.
///
/// The pending set offers no iterator, so the instances of `signo` on a thread are taken out
/// and put back in the same order (a standard signal has one instance; real-time ones keep
/// their relative order).
pub fn find_queued(threads: &[Arc<Task>], signo: u32, id: i32, overrun: Option<i32>) -> bool {
    threads.iter().any(|t| update_on_thread(t, signo, id, overrun))
}

fn update_on_thread(t: &Task, signo: u32, id: i32, overrun: Option<i32>) -> bool {
    let mut s = t.signals.lock();
    if !s.pending.set.contains(signo) {
        return false;
    }
    let mut taken = Vec::new();
    while let Some(p) = s.pending.take_signal(signo) {
        taken.push(p);
    }
    let mut found = false;
    for mut p in taken {
        if !found && is_timer_signal(&p.info, id) {
            found = true;
            if let Some(o) = overrun {
                p.info = SigInfo::timer(signo, id, o, p.info.value());
            }
        }
        s.pending.add(p.signo, p.info);
    }
    found
}
