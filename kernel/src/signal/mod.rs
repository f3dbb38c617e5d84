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
}

/// A set of pending signals: standard signals coalesce (one instance each), real-time
/// signals queue (Linux's `sigpending`).
#[derive(Default, Clone)]
pub struct PendingSet {
    /// Which signals are pending.
    pub set: SigSet,
    queue: VecDeque<PendingSignal>,
}

impl PendingSet {
    /// Adds a signal; a standard signal already pending is not queued twice.
    pub fn add(&mut self, signo: u32, info: SigInfo) {
        if !sig::is_rt_signal(signo) && self.set.contains(signo) {
            return;
        }
        if self.queue.len() >= 4096 {
            return; // RLIMIT_SIGPENDING-style bound on queued signals
        }
        self.set.add(signo);
        self.queue.push_back(PendingSignal { signo, info });
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
        let p = self.queue.remove(idx)?;
        if !self.queue.iter().any(|q| q.signo == signo) {
            self.set.remove(signo);
        }
        Some(p)
    }

    /// Drops every pending instance of the signals in `set`.
    pub fn discard(&mut self, set: SigSet) {
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

/// Sends `signo` to a process (`kill`): queued on its first thread that does not block it, or
/// its first thread (Linux queues on the shared pending set; one queue per thread is enough
/// here because any thread may take it).
pub fn send_to_process(p: &Process, signo: u32, info: SigInfo) {
    if let Some(arc) = crate::kernel::kernel().process(p.pid) {
        job::on_send(&arc, signo);
    }
    let threads: Vec<_> = p.threads.lock().iter().filter_map(|t| t.upgrade()).collect();
    let target = threads
        .iter()
        .find(|t| !t.exited.load(std::sync::atomic::Ordering::Relaxed) && !t.signals.lock().mask.contains(signo))
        .or_else(|| threads.first());
    if let Some(t) = target {
        queue_on(t, signo, info);
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
