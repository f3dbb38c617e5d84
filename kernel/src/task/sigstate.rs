//! The signal state tasks and processes carry (Linux's `sighand_struct`, `sigpending` and the
//! mask and alternate stack of `task_struct`): plain data of the task model. Sending,
//! delivering and what a signal means live in the `signal` layer above.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// How many signals are queued (what `RLIMIT_SIGPENDING` counts).
    pub fn queued_count(&self) -> usize {
        self.queue.len()
    }

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

    /// The queued signals in delivery order, left in place (`PTRACE_PEEKSIGINFO`).
    pub fn queued(&self) -> impl Iterator<Item = &PendingSignal> {
        self.queue.iter()
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

/// Whether any process-directed signal is queued on any thread (a thread returning to guest
/// code need not look at its siblings' queues while none is).
pub fn shared_signals_queued() -> bool {
    SHARED_QUEUED.load(Ordering::Relaxed) != 0
}
