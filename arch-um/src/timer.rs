//! Host timers, the clock tick, and idling.
//!
//! Preemption works as UML's `um_timer`: a periodic host timer (`timer_create`, SIGALRM) whose
//! handler counts a tick and kicks the stub that is running guest code with `SIGALRM`; the stub
//! stops under ptrace and `Context::run` reports `Event::Interrupt`, which the scheduler treats
//! as the clock interrupt. The handler touches atomics only. While idle, umbra waits in
//! `ppoll` with SIGALRM blocked, so an idle umbra does not wake up for ticks (~0% CPU).

use std::io;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

static RUNNING_PID: AtomicI32 = AtomicI32::new(0);
static TICKS: AtomicU64 = AtomicU64::new(0);

/// Records the stub now running guest code (0: none).
pub(crate) fn set_running(pid: i32) {
    RUNNING_PID.store(pid, Ordering::SeqCst);
}

/// Kicks the running stub out of guest code, if any (async-signal-safe).
pub fn kick_running_stub() {
    let pid = RUNNING_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe; a stale pid at worst hits our own stopped stub,
        // whose pending SIGALRM is then swallowed.
        unsafe { libc::kill(pid, libc::SIGALRM) };
    }
}

extern "C" fn on_tick(_sig: libc::c_int) {
    TICKS.fetch_add(1, Ordering::SeqCst);
    kick_running_stub();
}

/// Ticks counted since the last call (the scheduler charges time slices with them).
pub fn take_ticks() -> u64 {
    TICKS.swap(0, Ordering::SeqCst)
}

/// Starts the periodic clock tick every `period`.
pub fn start_tick(period: Duration) -> io::Result<()> {
    // SAFETY: installing a handler that only touches atomics and calls kill(2); creating and
    // arming a POSIX timer with plain structs.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_tick as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()) < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut sev: libc::sigevent = std::mem::zeroed();
        sev.sigev_notify = libc::SIGEV_SIGNAL;
        sev.sigev_signo = libc::SIGALRM;
        let mut id: libc::timer_t = std::ptr::null_mut();
        if libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut id) < 0 {
            return Err(io::Error::last_os_error());
        }
        let ts = libc::timespec { tv_sec: period.as_secs() as libc::time_t, tv_nsec: period.subsec_nanos() as libc::c_long };
        let spec = libc::itimerspec { it_interval: ts, it_value: ts };
        if libc::timer_settime(id, 0, &spec, std::ptr::null_mut()) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What ended an idle wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleWake {
    /// The timeout passed.
    Timeout,
    /// Host stdin has input (or hung up).
    Input,
    /// A host signal other than the tick arrived (SIGWINCH, SIGTERM…).
    Signal,
}

/// Waits until `timeout` passes (`None`: forever), or host stdin becomes readable when
/// `watch_stdin`, with the tick blocked so it does not wake us.
pub fn idle_wait(timeout: Option<Duration>, watch_stdin: bool) -> IdleWake {
    let mut pfd = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
    let ts = timeout.map(|t| libc::timespec { tv_sec: t.as_secs() as libc::time_t, tv_nsec: t.subsec_nanos() as libc::c_long });
    // SAFETY: sigset operations on a local; ppoll with valid pointers (or null).
    let n = unsafe {
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut mask);
        libc::sigaddset(&mut mask, libc::SIGALRM);
        let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        let nfds = if watch_stdin { 1 } else { 0 };
        libc::ppoll(&mut pfd, nfds, tsp, &mask)
    };
    if n > 0 {
        IdleWake::Input
    } else if n == 0 {
        IdleWake::Timeout
    } else {
        IdleWake::Signal
    }
}
