//! Timers: `alarm`, the interval timers (`setitimer`), POSIX timers (`timer_create`), timerfds
//! and eventfds (Linux's `kernel/time/itimer.c`, `posix-timers.c`, `posix-cpu-timers.c`,
//! `fs/timerfd.c`, `fs/eventfd.c`). The syscall handlers are in `syscall::timers`.
//!
//! Every timer is built on the scheduler's kernel timers (`sched::add_timer`): a callback runs
//! at the deadline — from the scheduler loop, or at a clock tick while a task computes — and
//! sends the signal or counts the expiry. Callbacks never block and never run while this
//! module holds its table or a timer's lock (ticks are taken between guest runs). Each
//! timer carries a *generation*, bumped whenever it is set or deleted, which its callbacks
//! capture: a callback of an older setting finds a newer generation and does nothing, so a
//! cancelled timer can never fire late.
//!
//! # Where the state lives
//! Per-process timers (`ITIMER_*`, POSIX timers) live in their `Process` (`Process::timers`,
//! a slot this module fills with its `ProcTimers`): a new process (fork) has none, as Linux's child inherits no timers; `on_exec`
//! deletes the POSIX timers (the interval timers survive `execve`, as in Linux); `on_exit`
//! deletes everything. Timerfds and eventfds are `FileLike` objects owning their state.
//!
//! # Clocks and approximations
//! - Wall-clock timers (`CLOCK_REALTIME`, `CLOCK_MONOTONIC`, `CLOCK_BOOTTIME`, `CLOCK_TAI`, the
//!   `_ALARM` variants) keep their expiry in `CLOCK_MONOTONIC` nanoseconds; an absolute
//!   `CLOCK_REALTIME` time is converted when the timer is set (umbra cannot set the clock, so
//!   Linux's re-adjustment on `clock_settime` never matters).
//! - CPU-time timers (`ITIMER_VIRTUAL`, `ITIMER_PROF`, POSIX timers on the process or thread
//!   CPU clocks) are approximated by polling: the callback runs when the wall clock says the
//!   CPU time *could* have been used up (CPU time never runs faster than the wall clock with
//!   one virtual CPU), samples the CPU time (charged at each return from guest code, so at
//!   tick granularity, as Linux's CPU timers are) and fires or re-polls.
//! - `ITIMER_REAL` is re-armed when it fires, not when SIGALRM is dequeued as in Linux: only
//!   visible as `getitimer` reporting the next period while a blocked SIGALRM is pending.
//! - POSIX timer overruns: Linux stops an interval timer until its signal is dequeued and counts
//!   the missed periods then. Here the timer keeps running; an expiry that finds the timer's
//!   signal still queued adds the elapsed periods to the queued siginfo's `si_overrun`, and
//!   `timer_getoverrun` reports the overrun of the last signal that left the queue.

pub mod clock;
pub mod eventfd;
pub mod itimer;
mod pending;
pub mod posix;
pub mod timerfd;

use crate::task::Process;
use std::sync::atomic::{AtomicU64, Ordering};

/// One process's timers.
#[derive(Default)]
struct ProcTimers {
    itimers: itimer::Itimers,
    posix: posix::PosixTimers,
}

/// Runs `f` on `pid`'s timers, creating an empty set if it has none (`None` if the process
/// is gone). Callbacks and syscalls never hold the lock across a call that could come back.
fn with_proc<R>(pid: u32, f: impl FnOnce(&mut ProcTimers) -> R) -> Option<R> {
    let p = crate::task::kernel::kernel().process(pid)?;
    let mut slot = p.timers.lock();
    let any = slot.get_or_insert_with(|| Box::new(ProcTimers::default()));
    any.downcast_mut::<ProcTimers>().map(f)
}

/// Runs `f` on `pid`'s timers if it has any (a callback of an exited process finds none).
fn with_existing<R>(pid: u32, f: impl FnOnce(&mut ProcTimers) -> R) -> Option<R> {
    let p = crate::task::kernel::kernel().process(pid)?;
    let mut slot = p.timers.lock();
    slot.as_mut()?.downcast_mut::<ProcTimers>().map(f)
}

static NEXT_GEN: AtomicU64 = AtomicU64::new(1);

/// A fresh generation number (never 0, never reused).
fn next_gen() -> u64 {
    NEXT_GEN.fetch_add(1, Ordering::Relaxed)
}

/// At `execve`: deletes the process's POSIX timers (Linux's `exit_itimers` in
/// `begin_new_exec`); `alarm` and the interval timers stay armed, as in Linux.
pub fn on_exec(p: &Process) {
    let posix = with_existing(p.pid, |t| std::mem::take(&mut t.posix));
    if let Some(mut timers) = posix {
        timers.cancel_all();
    }
}

/// At process exit: deletes every timer of the process (its interval timers and POSIX
/// timers), so nothing fires for it — or for a later process reusing its pid.
pub fn on_exit(p: &Process) {
    let entry = p.timers.lock().take();
    if let Some(mut timers) = entry.and_then(|b| b.downcast::<ProcTimers>().ok()) {
        timers.itimers.cancel_all();
        timers.posix.cancel_all();
    }
}

/// Sends a kernel-generated signal (`SEND_SIG_PRIV`: `si_code = SI_KERNEL`, pid and uid 0) to
/// process `pid`, as `ITIMER_*` and `alarm` expiries do.
fn send_kernel_signal(pid: u32, signo: u32) {
    if let Some(p) = crate::task::kernel::kernel().process(pid).filter(|p| !p.is_zombie()) {
        let info = uapi::signal::SigInfo::kill(signo, uapi::signal::SI_KERNEL, 0, 0);
        crate::signal::send_to_process(&p, signo, info);
    }
}
