//! Signals: dispositions, masks, pending sets, sending, and what happens when a signal is
//! delivered (Linux's `kernel/signal.c`). Frames for guest handlers are built in `frame`.
//!
//! A signal is *sent* by adding it to a pending set (the thread's, or the process's shared
//! one); it is *delivered* on the next return to guest code of a thread that does not block
//! it: ignored, acted on by default (terminate, core, stop, continue), or handled by running the
//! guest's handler on a signal frame.

pub mod frame;
pub mod job;

use crate::task::{ExitStatus, Process, Task};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use uapi::signal::{self as sig, KSigAction, SigInfo, SigSet, StackT};

/// Per-process signal dispositions (Linux's `sighand_struct`), indexed by signal - 1.
#[derive(Clone)]
pub struct SigHandlers {
    actions: [KSigAction; 64],
}

impl Default for SigHandlers {
    fn default() -> Self {
        SigHandlers { actions: [KSigAction::default(); 64] }
    }
}

impl SigHandlers {
    /// The action for `signo` (1..=64).
    pub fn get(&self, signo: u32) -> KSigAction {
        self.actions.get(signo.wrapping_sub(1) as usize).copied().unwrap_or_default()
    }

    /// Sets the action for `signo`.
    pub fn set(&mut self, signo: u32, a: KSigAction) {
        if let Some(slot) = self.actions.get_mut(signo.wrapping_sub(1) as usize) {
            *slot = a;
        }
    }

    /// `execve` resets handled signals to the default, keeping ignored ones ignored (POSIX).
    pub fn reset_for_exec(&mut self) {
        for a in self.actions.iter_mut() {
            if !a.is_ignore() {
                *a = KSigAction::default();
            } else {
                a.flags = 0;
                a.mask = 0;
                a.restorer = 0;
            }
        }
    }
}

/// One pending signal with its siginfo.
#[derive(Clone, Copy, Debug)]
pub struct PendingSignal {
    /// Signal number.
    pub signo: u32,
    /// What the receiver's handler gets.
    pub info: SigInfo,
    /// Sent to the process (`kill`), not to this thread: any thread of the process that does
    /// not block it may take it (Linux's shared pending queue).
    pub shared: bool,
}

/// How many process-directed signals are queued on any thread: while none is, a thread need
/// not look at its siblings' queues on its way back to guest code.
static SHARED_QUEUED: AtomicUsize = AtomicUsize::new(0);

fn shared_queued_sub(n: usize) {
    let _ = SHARED_QUEUED.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_sub(n)));
}

/// A set of pending signals: standard signals coalesce (one instance each), real-time
/// signals queue (Linux's `sigpending`).
#[derive(Default)]
pub struct PendingSet {
    /// Which signals are pending.
    pub set: SigSet,
    queue: VecDeque<PendingSignal>,
}

impl Clone for PendingSet {
    fn clone(&self) -> Self {
        SHARED_QUEUED.fetch_add(self.queue.iter().filter(|p| p.shared).count(), Ordering::Relaxed);
        PendingSet { set: self.set, queue: self.queue.clone() }
    }
}

impl Drop for PendingSet {
    fn drop(&mut self) {
        shared_queued_sub(self.queue.iter().filter(|p| p.shared).count());
    }
}

impl PendingSet {
    /// Adds a thread-directed signal; a standard signal already pending is not queued twice.
    pub fn add(&mut self, signo: u32, info: SigInfo) {
        self.push(PendingSignal { signo, info, shared: false });
    }

    /// Adds a process-directed signal (see `PendingSignal::shared`).
    pub fn add_shared(&mut self, signo: u32, info: SigInfo) {
        self.push(PendingSignal { signo, info, shared: true });
    }

    fn push(&mut self, p: PendingSignal) {
        if !sig::is_rt_signal(p.signo) && self.set.contains(p.signo) {
            return;
        }
        if self.queue.len() >= 4096 {
            return; // RLIMIT_SIGPENDING-style bound on queued signals
        }
        self.set.add(p.signo);
        if p.shared {
            SHARED_QUEUED.fetch_add(1, Ordering::Relaxed);
        }
        self.queue.push_back(p);
    }

    /// Removes and returns the lowest-numbered pending signal not in `blocked`
    /// (synchronous fault signals first, as Linux's `next_signal`).
    pub fn take(&mut self, blocked: SigSet) -> Option<PendingSignal> {
        let ready = self.set.difference(blocked);
        let signo = ready.intersection(SigSet::SYNCHRONOUS_MASK).first().or_else(|| ready.first())?;
        self.take_signal(signo)
    }

    /// Removes one instance of `signo`.
    pub fn take_signal(&mut self, signo: u32) -> Option<PendingSignal> {
        let idx = self.queue.iter().position(|p| p.signo == signo)?;
        self.remove_at(idx)
    }

    fn remove_at(&mut self, idx: usize) -> Option<PendingSignal> {
        let p = self.queue.remove(idx)?;
        if p.shared {
            shared_queued_sub(1);
        }
        if !self.queue.iter().any(|q| q.signo == p.signo) {
            self.set.remove(p.signo);
        }
        Some(p)
    }

    /// The process-directed signals pending here.
    pub fn shared_set(&self) -> SigSet {
        let mut s = SigSet::default();
        for p in self.queue.iter().filter(|p| p.shared) {
            s.add(p.signo);
        }
        s
    }

    /// Removes the lowest-numbered process-directed signal in `wanted`.
    pub fn take_shared(&mut self, wanted: SigSet) -> Option<PendingSignal> {
        let ready = self.shared_set().intersection(wanted);
        let signo = ready.intersection(SigSet::SYNCHRONOUS_MASK).first().or_else(|| ready.first())?;
        let idx = self.queue.iter().position(|p| p.shared && p.signo == signo)?;
        self.remove_at(idx)
    }

    /// Removes every process-directed signal (a thread exits: they go to another thread).
    pub fn drain_shared(&mut self) -> Vec<PendingSignal> {
        let (shared, own): (VecDeque<_>, VecDeque<_>) = self.queue.drain(..).partition(|p| p.shared);
        shared_queued_sub(shared.len());
        self.queue = own;
        self.set = SigSet::default();
        for p in &self.queue {
            self.set.add(p.signo);
        }
        shared.into_iter().collect()
    }

    /// Drops every pending instance of the signals in `set`.
    pub fn discard(&mut self, set: SigSet) {
        shared_queued_sub(self.queue.iter().filter(|p| p.shared && set.contains(p.signo)).count());
        self.queue.retain(|p| !set.contains(p.signo));
        self.set = self.set.difference(set);
    }
}

/// A thread's signal state.
#[derive(Default, Clone)]
pub struct SignalState {
    /// Blocked signals (`rt_sigprocmask`).
    pub mask: SigSet,
    /// Signals sent to this thread.
    pub pending: PendingSet,
    /// The alternate signal stack (`sigaltstack`).
    pub altstack: StackT,
    /// The mask to restore after `rt_sigsuspend`/`ppoll` return through a handler.
    pub saved_mask: Option<SigSet>,
    /// The signals the thread is waiting for in `rt_sigtimedwait` (they stay blocked, but a
    /// process-directed one is sent to this thread, as Linux's temporarily unblocked mask does).
    pub waiting: SigSet,
}

impl SignalState {
    /// Whether a process-directed `signo` may be queued on this thread to be taken (Linux's
    /// `wants_signal`): it does not block it, or it waits for it.
    pub fn accepts(&self, signo: u32) -> bool {
        !self.mask.contains(signo) || self.waiting.contains(signo)
    }
}

/// What the default action of a signal is (`signal(7)`).
pub use uapi::signal::DefaultAction;

/// The default action of `signo`.
pub fn default_action(signo: u32) -> DefaultAction {
    sig::default_action(signo)
}

/// Sends `signo` to one thread (`tgkill`, faults). SIGKILL also marks the process as dying.
pub fn send_to_task(task: &Task, signo: u32, info: SigInfo) {
    if let Some(arc) = crate::kernel::kernel().process(task.process.pid) {
        job::on_send(&arc, signo);
    }
    queue_on(task, signo, info);
}

/// Queues a signal on a thread and wakes it if it sleeps in a syscall.
fn queue_on(task: &Task, signo: u32, info: SigInfo) {
    task.signals.lock().pending.add(signo, info);
    crate::sched::wake_task_for_signal(task);
}

/// Sends `signo` to a process (`kill`): queued, marked process-directed, on its first thread
/// that does not block it (that thread is woken), or on its first thread if all block it;
/// any thread may take it later (`take_process_signal`).
pub fn send_to_process(p: &Process, signo: u32, info: SigInfo) {
    if let Some(arc) = crate::kernel::kernel().process(p.pid) {
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
        crate::sched::wake_task_for_signal(t);
    }
}

/// The other live threads of the caller's process (none for a single-threaded one, cheaply).
fn siblings(cur: &crate::current::Current) -> Vec<Arc<Task>> {
    let p = cur.process();
    if p.threads.lock().len() < 2 {
        return Vec::new();
    }
    p.live_threads().into_iter().filter(|t| t.tid != cur.task.tid).collect()
}

/// Takes a process-directed signal in `wanted` that another thread of the caller's process
/// holds (it was queued there while the caller blocked it, or that thread blocks it).
pub fn take_process_signal(cur: &crate::current::Current, wanted: SigSet) -> Option<PendingSignal> {
    if wanted.is_empty() || SHARED_QUEUED.load(Ordering::Relaxed) == 0 {
        return None;
    }
    siblings(cur).iter().find_map(|t| t.signals.lock().pending.take_shared(wanted))
}

/// The signals pending for the calling thread: its own and its process's (`sigpending`).
pub fn pending_for(cur: &crate::current::Current) -> SigSet {
    let mut set = cur.task.signals.lock().pending.set;
    for t in siblings(cur) {
        set = set.union(t.signals.lock().pending.shared_set());
    }
    set
}

/// Moves the process-directed signals the caller does not block from the other threads to it
/// (it is about to sleep until a signal comes: `rt_sigsuspend`), so it sees them as pending.
pub fn claim_process_signals(cur: &crate::current::Current) {
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
pub fn hand_over_process_signals(cur: &crate::current::Current) {
    let others = siblings(cur);
    let Some(first) = others.first() else { return };
    let moved = cur.task.signals.lock().pending.drain_shared();
    for p in moved {
        let t = others.iter().find(|t| t.signals.lock().accepts(p.signo)).unwrap_or(first);
        t.signals.lock().pending.add_shared(p.signo, p.info);
        crate::sched::wake_task_for_signal(t);
    }
}

/// The status a process killed by `signo` reports. umbra writes no core files, so the
/// "core dumped" bit stays clear, as on Linux with `RLIMIT_CORE` 0 (the default).
pub fn killed_by(signo: u32) -> ExitStatus {
    ExitStatus::Killed { signo: signo as i32, core: false }
}

pub mod deliver;

/// Forces SIGSEGV on the current task (a bad frame at `rt_sigreturn`, an unwritable frame):
/// unblocked and reset to the default action if it was ignored or blocked (`force_sig`).
pub fn force_sigsegv(cur: &mut crate::current::Current, addr: uapi::UserAddr) {
    force_fault_signal(cur, SigInfo::fault(sig::SIGSEGV, sig::SI_KERNEL, addr.0));
}

/// Forces a fault signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) on the current task: it
/// cannot be blocked or ignored; a blocked or ignored one is reset to the default action, as
/// Linux's `force_sig_info_to_task` does.
pub fn force_fault_signal(cur: &mut crate::current::Current, info: SigInfo) {
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
pub fn send_from(cur: &crate::current::Current, p: &Process, signo: u32, info: SigInfo) {
    if init_protected(cur, p, signo) {
        return;
    }
    send_to_process(p, signo, info);
}

/// As `send_from`, to one thread.
pub fn send_to_thread_from(cur: &crate::current::Current, t: &Task, signo: u32, info: SigInfo) {
    if init_protected(cur, &t.process, signo) {
        return;
    }
    send_to_task(t, signo, info);
}

fn init_protected(cur: &crate::current::Current, p: &Process, signo: u32) -> bool {
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
