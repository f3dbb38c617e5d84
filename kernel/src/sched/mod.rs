//! Scheduling (Linux's `kernel/sched/`, much smaller): the virtual CPU object ([`Cpu`]) with
//! its run queue (CFS with per-session groups), kernel timers, the tick and the host reactor it
//! idles in; [`Current`], the running task as its syscalls see it; and sleeping
//! ([`wait_until`]). This layer knows tasks — not ttys, pipes, what signals mean, or syscalls.
//!
//! Every task runs on its own kernel stack (`arch_um::kstack`); blocking is a switch back to
//! the CPU's loop, which resumes the next task (Linux's `schedule()`).

mod cpu;
mod current;
pub mod runqueue;
pub mod timer;
mod wait;

pub use cpu::{Cpu, TaskEntry, TaskWaker, TICK, TIME_SLICE};
pub use current::{Current, TaskMemory};
pub use runqueue::nice_weight;
pub use timer::{TimerFn, TimerHandle, TimerId};
pub use wait::{signal_pending, sleep_until, wait_killable, wait_until};

use crate::task::{Task, TaskState};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The CPU `task` runs on (set when it was spawned).
pub fn cpu_of(task: &Task) -> Option<Arc<Cpu>> {
    task.cpu.get()?.upgrade()?.downcast::<Cpu>().ok()
}

/// The CPU of process `pid`'s first live thread.
pub fn cpu_of_process(pid: u32) -> Option<Arc<Cpu>> {
    let p = crate::task::kernel().process(pid)?;
    p.live_threads().iter().find_map(|t| cpu_of(t))
}

/// Makes `task` runnable if it sleeps or is stopped.
pub fn wake(task: &Task) {
    if let Some(cpu) = cpu_of(task) {
        cpu.wake(task.tid);
    }
}

/// Wakes task `tid`, if it is alive.
pub fn wake_tid(tid: u32) {
    if let Some(t) = crate::task::kernel().task(tid) {
        wake(&t);
    }
}

/// Wakes a task blocked in a syscall so it can take a newly sent signal (stopped tasks stay
/// stopped unless the signal is SIGKILL or SIGCONT — their senders wake them).
pub fn wake_task_for_signal(task: &Task) {
    if task.state() == TaskState::Sleeping {
        wake(task);
    }
}

/// CPU time of a task in nanoseconds (user + system).
pub fn cpu_time_ns(task: &Task) -> u64 {
    task.user_ns.load(Ordering::Relaxed).saturating_add(task.system_ns.load(Ordering::Relaxed))
}
