//! Running guest code: `Context::run` loads a thread's registers into its stub, lets it run
//! under `PTRACE_SYSEMU` until something needs the kernel, and says what happened as an `Event`.
//!
//! Per guest syscall this costs exactly what the raw SYSEMU round trip costs: `PTRACE_SETREGS`,
//! `PTRACE_SYSEMU`, `wait4`, `PTRACE_GETREGS`. The FPU state moves only when the kernel asked
//! for it (`UserContext::set_fpu`). Everything ptrace-specific stays behind this type, so a
//! seccomp/SIGSYS backend could replace it without touching the kernel.

use crate::address_space::AddressSpace;
use crate::ptrace::{self, WaitStatus, PTRACE_SYSEMU, PTRACE_SYSEMU_SINGLESTEP};
use crate::regs::UserContext;
use crate::timer;

/// Why a guest stopped running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The guest executed `syscall` (or `int 0x80`); the number is `regs.orig_rax`, the
    /// arguments in `regs`. Set `regs.rax` and run again to return from it.
    Syscall,
    /// A page fault at `addr` with the instruction at `ip`; `code` is the host's `si_code`
    /// (`SEGV_MAPERR` 1, `SEGV_ACCERR` 2, or `SI_KERNEL` 128 for a general protection fault,
    /// which has no useful address). `mm` decides what it means.
    Fault {
        /// Faulting address.
        addr: u64,
        /// Instruction pointer.
        ip: u64,
        /// Host si_code.
        code: i32,
    },
    /// Any other synchronous exception: `SIGILL`, `SIGFPE`, `SIGBUS`, `SIGTRAP` (int3), `SIGSYS`
    /// (a call through the host's vsyscall page), with the host's raw `siginfo_t`.
    Exception {
        /// The host signal that reported it.
        signo: i32,
        /// The raw 128-byte siginfo.
        siginfo: [u8; 128],
    },
    /// The run was interrupted by umbra itself (a timer tick kicked the stub).
    Interrupt,
    /// The stub has no room for more host mappings (`vm.max_map_count`): the kernel must empty
    /// them (`AddressSpace::reset_mappings`) and let the guest fault its pages back in.
    HostMappingsFull,
    /// The stub is gone: the guest process must die (with SIGKILL).
    AddressSpaceDied,
}

/// A virtual CPU: the object that runs guest contexts on stubs. Keep it an object (not a
/// global) so several vCPUs, each a host thread tracing its own stubs, stay possible.
#[derive(Clone, Debug)]
pub struct Context {
    umbra_pid: i32,
    /// This vCPU's tick mailbox (the running stub's pid, ticks not yet taken).
    mailbox: timer::MailboxId,
    /// Emptied stubs this vCPU keeps for the next address space.
    pool: std::sync::Arc<crate::stub_pool::StubPool>,
}

impl Default for Context {
    fn default() -> Self {
        Self::new()
    }
}

impl Context {
    /// A vCPU on the calling host thread (which must be the thread that created the stubs).
    pub fn new() -> Context {
        // SAFETY: getpid cannot fail.
        Context { umbra_pid: unsafe { libc::getpid() }, mailbox: timer::MailboxId::claim(), pool: crate::stub_pool::StubPool::new() }
    }

    /// Starts this vCPU's clock tick: every `period` the stub running guest code is kicked out
    /// (`Event::Interrupt`) and a tick is counted.
    pub fn start_tick(&self, period: std::time::Duration) -> std::io::Result<()> {
        self.mailbox.start_tick(period)
    }

    /// Ticks counted since the last call.
    pub fn take_ticks(&self) -> u64 {
        self.mailbox.take_ticks()
    }

    /// A new, empty address space whose stub this vCPU traces (from its stub pool if it has one).
    pub fn new_address_space(&self, platform: &std::sync::Arc<crate::Platform>) -> std::io::Result<AddressSpace> {
        AddressSpace::new_pooled(platform, &self.pool)
    }

    /// The vCPU's pool of emptied stubs.
    pub fn stub_pool(&self) -> &std::sync::Arc<crate::stub_pool::StubPool> {
        &self.pool
    }

    /// Runs `ctx` on `space` until the next event. Flushes the address space's queued host
    /// mappings first, then loads the registers (and the FPU state if dirty).
    pub fn run(&mut self, ctx: &mut UserContext, space: &mut AddressSpace) -> Event {
        match space.flush() {
            Ok(()) => {}
            Err(crate::HostMmuError::Full) => return Event::HostMappingsFull,
            Err(_) => {
                space.mark_dead();
                return Event::AddressSpaceDied;
            }
        }
        if space.load_fpu_for(ctx).is_err() {
            space.mark_dead();
            return Event::AddressSpaceDied;
        }
        self.sanitize(ctx, space);
        if space.set_regs(&ctx.regs).is_err() {
            space.mark_dead();
            return Event::AddressSpaceDied;
        }
        let pid = space.pid();
        self.mailbox.set_running(pid);
        let ev = self.run_until_event(ctx, pid);
        self.mailbox.set_running(0);
        if ev == Event::AddressSpaceDied {
            space.mark_dead();
        }
        ev
    }

    /// Forces the segment selectors to the stub's own (a bogus selector makes SETREGS fail and
    /// a non-null fs/gs selector would reset the base), and tells the host not to do its own
    /// syscall-restart processing (`orig_rax = -1`, as UML does).
    fn sanitize(&self, ctx: &mut UserContext, space: &AddressSpace) {
        let init = space.platform().init_regs();
        let r = &mut ctx.regs;
        r.cs = init.cs;
        r.ss = init.ss;
        r.ds = init.ds;
        r.es = init.es;
        r.fs = init.fs;
        r.gs = init.gs;
        r.orig_rax = u64::MAX;
    }

    fn run_until_event(&self, ctx: &mut UserContext, pid: i32) -> Event {
        let request = if ctx.single_step { PTRACE_SYSEMU_SINGLESTEP } else { PTRACE_SYSEMU };
        loop {
            if ptrace::resume(pid, request).is_err() {
                return Event::AddressSpaceDied;
            }
            let status = match ptrace::wait(pid) {
                Ok(s) => s,
                Err(_) => return Event::AddressSpaceDied,
            };
            let sig = match status {
                WaitStatus::Stopped(sig) => sig,
                WaitStatus::Event(_) => continue,
                WaitStatus::Exited(_) | WaitStatus::Signaled(_) => return Event::AddressSpaceDied,
            };
            if ptrace::get_regs(pid, &mut ctx.regs).is_err() {
                return Event::AddressSpaceDied;
            }
            if sig == libc::SIGTRAP | 0x80 {
                return Event::Syscall;
            }
            if let Some(ev) = self.decode_signal_stop(pid, sig, ctx) {
                return ev;
            }
        }
    }

    /// Turns a signal-delivery stop into an event, or `None` to resume (the signal is dropped:
    /// the guest never receives a host signal; the kernel makes guest signals itself).
    fn decode_signal_stop(&self, pid: i32, sig: i32, ctx: &UserContext) -> Option<Event> {
        let si = match ptrace::get_siginfo(pid) {
            Ok(si) => si,
            Err(_) => return Some(Event::AddressSpaceDied),
        };
        let code = i32::from_ne_bytes([si[8], si[9], si[10], si[11]]);
        let sender = i32::from_ne_bytes([si[16], si[17], si[18], si[19]]);
        let from_kernel = code > 0;
        if sig == libc::SIGALRM && !from_kernel && sender == self.umbra_pid {
            return Some(Event::Interrupt);
        }
        if !from_kernel {
            // Sent by some host process (kill -SEGV <stub>): not a guest event (gVisor's filter).
            return None;
        }
        match sig {
            libc::SIGSEGV => {
                let addr = u64::from_ne_bytes([si[16], si[17], si[18], si[19], si[20], si[21], si[22], si[23]]);
                Some(Event::Fault { addr, ip: ctx.regs.rip, code })
            }
            libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP | libc::SIGSYS => {
                Some(Event::Exception { signo: sig, siginfo: si })
            }
            _ => None,
        }
    }
}
