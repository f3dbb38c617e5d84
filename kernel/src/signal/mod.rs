//! Signals: dispositions, masks, pending sets, sending, and what happens when a signal is
//! delivered (Linux's `kernel/signal.c`). Frames for guest handlers are built in `frame`.
//!
//! A signal is *sent* by adding it to a pending set (the thread's, or the process's shared
//! one); it is *delivered* on the next return to guest code of a thread that does not block
//! it: ignored, acted on by default (terminate, core, stop, continue), or handled by running the
//! guest's handler on a signal frame.

pub mod frame;
pub mod job;
pub mod trace;

pub use crate::task::sigstate::{PendingSet, PendingSignal, SigHandlers, SignalState};
use crate::task::{ExitStatus, Process, Task};
use std::sync::Arc;
use uapi::signal::{self as sig, KSigAction, SigInfo, SigSet};


/// What the default action of a signal is (`signal(7)`).
pub use uapi::signal::DefaultAction;

/// The default action of `signo`.
pub fn default_action(signo: u32) -> DefaultAction {
    sig::default_action(signo)
}

/// Sends `signo` to one thread (`tgkill`, faults). SIGKILL also marks the process as dying.
pub fn send_to_task(task: &Task, signo: u32, info: SigInfo) {
    if let Some(arc) = crate::task::kernel::kernel().process(task.process.pid) {
        job::on_send(&arc, signo);
    }
    queue_on(task, signo, info);
}

/// Queues a signal on a thread and wakes it if it sleeps in a syscall.
fn queue_on(task: &Task, signo: u32, info: SigInfo) {
    task.signals.lock().pending.add(signo, info);
    crate::signalfd::signal_queued();
    crate::sched::wake_task_for_signal(task);
}

/// Sends `signo` to a process (`kill`): queued, marked process-directed, on its first thread
/// that does not block it (that thread is woken), or on its first thread if all block it;
/// any thread may take it later (`take_process_signal`).
pub fn send_to_process(p: &Process, signo: u32, info: SigInfo) {
    if let Some(arc) = crate::task::kernel::kernel().process(p.pid) {
        job::on_send(&arc, signo);
    }
    let threads: Vec<_> = p.threads.lock().iter().filter_map(|t| t.upgrade()).collect();
    let live = |t: &&Arc<Task>| !t.exited.load(std::sync::atomic::Ordering::Relaxed);
    let target = threads
        .iter()
        .filter(live)
        .find(|t| t.signals.lock().accepts(signo))
        .or_else(|| threads.iter().find(live))
        .or_else(|| threads.first());
    if let Some(t) = target {
        t.signals.lock().pending.add_shared(signo, info);
        crate::signalfd::signal_queued();
        crate::sched::wake_task_for_signal(t);
    }
}

/// The other live threads of the caller's process (none for a single-threaded one, cheaply).
fn siblings(cur: &crate::sched::Current) -> Vec<Arc<Task>> {
    let p = cur.process();
    if p.threads.lock().len() < 2 {
        return Vec::new();
    }
    p.live_threads().into_iter().filter(|t| t.tid != cur.task.tid).collect()
}

/// Takes a process-directed signal in `wanted` that another thread of the caller's process
/// holds (it was queued there while the caller blocked it, or that thread blocks it).
pub fn take_process_signal(cur: &crate::sched::Current, wanted: SigSet) -> Option<PendingSignal> {
    if wanted.is_empty() || !crate::task::sigstate::shared_signals_queued() {
        return None;
    }
    siblings(cur).iter().find_map(|t| t.signals.lock().pending.take_shared(wanted))
}

/// The signals pending for the calling thread: its own and its process's (`sigpending`).
pub fn pending_for(cur: &crate::sched::Current) -> SigSet {
    let mut set = cur.task.signals.lock().pending.set;
    for t in siblings(cur) {
        set = set.union(t.signals.lock().pending.shared_set());
    }
    set
}

/// Moves the process-directed signals the caller does not block from the other threads to it
/// (it is about to sleep until a signal comes: `rt_sigsuspend`), so it sees them as pending.
pub fn claim_process_signals(cur: &crate::sched::Current) {
    let mask = cur.task.signals.lock().mask;
    let wanted = SigSet::from_bits(!mask.bits());
    while let Some(p) = take_process_signal(cur, wanted) {
        cur.task.signals.lock().pending.add_shared(p.signo, p.info);
    }
}

/// Drops pending instances of `set` from every thread of `p` (a signal set to be ignored).
pub fn discard_from_process(p: &Process, set: SigSet) {
    for t in p.threads.lock().iter().filter_map(|t| t.upgrade()) {
        t.signals.lock().pending.discard(set);
    }
}

/// A thread is ending: the process-directed signals queued on it move to another live thread
/// (woken if it does not block them), so none is lost.
pub fn hand_over_process_signals(cur: &crate::sched::Current) {
    let others = siblings(cur);
    let Some(first) = others.first() else { return };
    let moved = cur.task.signals.lock().pending.drain_shared();
    for p in moved {
        let t = others.iter().find(|t| t.signals.lock().accepts(p.signo)).unwrap_or(first);
        t.signals.lock().pending.add_shared(p.signo, p.info);
        crate::sched::wake_task_for_signal(t);
    }
}

/// The status a process killed by `signo` without a core dump reports (dumping signals go
/// through `crate::coredump`, which sets the "core dumped" bit when it writes one).
pub fn killed_by(signo: u32) -> ExitStatus {
    ExitStatus::Killed { signo: signo as i32, core: false }
}

pub mod deliver;

/// Forces SIGSEGV on the current task (a bad frame at `rt_sigreturn`, an unwritable frame):
/// unblocked and reset to the default action if it was ignored or blocked (`force_sig`).
pub fn force_sigsegv(cur: &mut crate::sched::Current, addr: uapi::UserAddr) {
    force_fault_signal(cur, SigInfo::fault(sig::SIGSEGV, sig::SI_KERNEL, addr.0));
}

/// Forces a fault signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) on the current task: it
/// cannot be blocked or ignored; a blocked or ignored one is reset to the default action, as
/// Linux's `force_sig_info_to_task` does.
pub fn force_fault_signal(cur: &mut crate::sched::Current, info: SigInfo) {
    let signo = info.signo as u32;
    let sighand = cur.process().sighand();
    let blocked = cur.task.signals.lock().mask.contains(signo);
    {
        let mut h = sighand.lock();
        let a = h.get(signo);
        if blocked || a.is_ignore() {
            h.set(signo, KSigAction::default());
        }
    }
    let mut s = cur.task.signals.lock();
    s.mask.remove(signo);
    s.pending.add(signo, info);
}

/// Sends a signal from the current task to process `p`, applying init's protection: a signal
/// another process sends to pid 1 with the default action is dropped (Linux's
/// `SIGNAL_UNKILLABLE`). Signals pid 1 sends itself (`abort()`, `raise`) are honoured, so a
/// single program run as pid 1 dies of its own SIGABRT as it would outside a container.
pub fn send_from(cur: &crate::sched::Current, p: &Process, signo: u32, info: SigInfo) {
    if init_protected(cur, p, signo) {
        return;
    }
    send_to_process(p, signo, info);
}

/// As `send_from`, to one thread.
pub fn send_to_thread_from(cur: &crate::sched::Current, t: &Task, signo: u32, info: SigInfo) {
    if init_protected(cur, &t.process, signo) {
        return;
    }
    send_to_task(t, signo, info);
}

fn init_protected(cur: &crate::sched::Current, p: &Process, signo: u32) -> bool {
    if p.pid != 1 || cur.pid() == 1 || !p.sighand().lock().get(signo).is_default() {
        return false;
    }
    // Blocked signals are never ignored: the handler may change before they are unblocked, and
    // sigtimedwait() may take them (Linux's `sig_ignored`; busybox init waits this way).
    !p.live_threads().iter().any(|t| t.signals.lock().mask.contains(signo))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(signo: u32, value: u64) -> SigInfo {
        SigInfo::rt(signo, sig::SI_QUEUE, 1, 0, value)
    }

    #[test]
    fn standard_signals_coalesce_realtime_ones_queue_in_order() {
        let mut p = PendingSet::default();
        p.add(sig::SIGUSR1, info(sig::SIGUSR1, 1));
        p.add_shared(sig::SIGUSR1, info(sig::SIGUSR1, 2));
        let rt = 35;
        for v in 0..3 {
            p.add_shared(rt, info(rt, v));
        }
        assert_eq!(p.take(SigSet::default()).map(|s| (s.signo, s.shared)), Some((sig::SIGUSR1, false)));
        let values: Vec<u64> = std::iter::from_fn(|| p.take(SigSet::default())).map(|s| s.info.value()).collect();
        assert_eq!(values, vec![0, 1, 2]);
        assert!(p.set.is_empty());
    }

    #[test]
    fn shared_signals_are_taken_and_drained_apart_from_private_ones() {
        let mut p = PendingSet::default();
        p.add(sig::SIGUSR2, info(sig::SIGUSR2, 0));
        p.add_shared(sig::SIGTERM, info(sig::SIGTERM, 0));
        p.add_shared(sig::SIGHUP, info(sig::SIGHUP, 0));
        assert_eq!(p.shared_set(), SigSet::single(sig::SIGTERM).union(SigSet::single(sig::SIGHUP)));
        assert_eq!(p.take_shared(SigSet::single(sig::SIGTERM)).map(|s| s.signo), Some(sig::SIGTERM));
        assert!(p.take_shared(SigSet::single(sig::SIGUSR2)).is_none(), "private signals are not taken by others");
        let drained: Vec<u32> = p.drain_shared().iter().map(|s| s.signo).collect();
        assert_eq!(drained, vec![sig::SIGHUP]);
        assert_eq!(p.set, SigSet::single(sig::SIGUSR2));
    }

    #[test]
    fn a_thread_waiting_in_sigtimedwait_accepts_blocked_signals() {
        let mut s = SignalState { mask: SigSet::single(sig::SIGUSR1), ..Default::default() };
        assert!(!s.accepts(sig::SIGUSR1));
        assert!(s.accepts(sig::SIGUSR2));
        s.waiting = SigSet::single(sig::SIGUSR1);
        assert!(s.accepts(sig::SIGUSR1));
    }
}
