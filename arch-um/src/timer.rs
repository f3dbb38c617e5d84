//! The clock tick of a virtual CPU.
//!
//! Preemption works as UML's `um_timer`: a periodic host timer (`timer_create`, SIGALRM) whose
//! handler counts a tick and kicks the stub that is running guest code with `SIGALRM`; the stub
//! stops under ptrace and `Context::run` reports `Event::Interrupt`, which the scheduler treats
//! as the clock interrupt. While idle, the kernel waits in the reactor with SIGALRM blocked, so
//! an idle umbra does not wake up for ticks.
//!
//! A signal handler can reach nothing but statics, so each vCPU owns one *mailbox* in a fixed
//! static table — the running stub's pid and the ticks not yet taken, atomics only — and its
//! host timer's signal carries the mailbox's index (`sigev_value`). Everything else about the
//! vCPU lives in its `Context` object.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// How many vCPUs a umbra process can have (mailboxes in the static table).
pub const MAX_VCPUS: usize = 64;

/// What a vCPU's tick handler may touch.
struct Mailbox {
    /// The stub now running guest code on this vCPU (0: none).
    running_pid: AtomicI32,
    /// Ticks counted and not yet taken.
    ticks: AtomicU64,
    /// Whether a host timer targets this mailbox.
    armed: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Mailbox = Mailbox { running_pid: AtomicI32::new(0), ticks: AtomicU64::new(0), armed: AtomicBool::new(false) };
static MAILBOXES: [Mailbox; MAX_VCPUS] = [EMPTY; MAX_VCPUS];
static NEXT_MAILBOX: AtomicUsize = AtomicUsize::new(0);

/// A vCPU's mailbox: its index in the static table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailboxId(usize);

impl MailboxId {
    /// Claims the next free mailbox; past `MAX_VCPUS` (only test processes create that many
    /// vCPUs) the last one is shared.
    pub fn claim() -> MailboxId {
        let i = NEXT_MAILBOX.fetch_add(1, Ordering::Relaxed);
        MailboxId(i.min(MAX_VCPUS - 1))
    }

    fn mailbox(self) -> &'static Mailbox {
        &MAILBOXES[self.0.min(MAX_VCPUS - 1)]
    }

    /// Records the stub now running guest code on this vCPU (0: none).
    pub(crate) fn set_running(self, pid: i32) {
        self.mailbox().running_pid.store(pid, Ordering::SeqCst);
    }

    /// Ticks counted since the last call (the scheduler charges time slices with them).
    pub fn take_ticks(self) -> u64 {
        self.mailbox().ticks.swap(0, Ordering::SeqCst)
    }

    /// Starts this vCPU's periodic clock tick every `period`.
    pub fn start_tick(self, period: Duration) -> io::Result<()> {
        install_handler()?;
        // SAFETY: creating and arming a POSIX timer with plain structs; the signal carries the
        // mailbox index, which the handler bounds-checks.
        unsafe {
            let mut sev: libc::sigevent = std::mem::zeroed();
            sev.sigev_notify = libc::SIGEV_SIGNAL;
            sev.sigev_signo = libc::SIGALRM;
            sev.sigev_value = libc::sigval { sival_ptr: self.0 as *mut libc::c_void };
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
        self.mailbox().armed.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// Kicks the stub running guest code on `m`, if any (async-signal-safe).
fn kick(m: &Mailbox) {
    let pid = m.running_pid.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe; a stale pid at worst hits our own stopped stub,
        // whose pending SIGALRM is then swallowed.
        unsafe { libc::kill(pid, libc::SIGALRM) };
    }
}

extern "C" fn on_tick(_sig: libc::c_int, info: *mut libc::siginfo_t, _uc: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let index = unsafe { info.as_ref().map(|i| i.si_value().sival_ptr as usize) };
    if let Some(m) = index.and_then(|i| MAILBOXES.get(i)) {
        m.ticks.fetch_add(1, Ordering::SeqCst);
        kick(m);
    }
}

fn install_handler() -> io::Result<()> {
    // SAFETY: installing a handler that only touches atomics and calls kill(2).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_tick as *const () as usize;
        sa.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
