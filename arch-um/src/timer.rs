//! Host timers and the "running stub" that a timer tick kicks (UML's `um_timer`).
//!
//! The kernel records which stub is running guest code; a host timer's signal handler sends
//! that stub `SIGALRM`, which stops it under ptrace, and `Context::run` reports
//! `Event::Interrupt`. The handler touches atomics only.

use std::sync::atomic::{AtomicI32, Ordering};

static RUNNING_PID: AtomicI32 = AtomicI32::new(0);

/// Records the stub now running guest code (0: none).
pub(crate) fn set_running(pid: i32) {
    RUNNING_PID.store(pid, Ordering::SeqCst);
}

/// Kicks the running stub out of guest code, if any (async-signal-safe).
pub fn kick_running_stub() {
    let pid = RUNNING_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe; a stale pid at worst hits our own exited stub.
        unsafe { libc::kill(pid, libc::SIGALRM) };
    }
}
