//! A task's ptrace link as plain data (Linux's `task->ptrace`, `ptrace_message`,
//! `last_siginfo`, `jobctl` trap bits): who traces it, with which options, the stop it sits in
//! and the registers it published there. The rules live in `signal::trace` (stopping) and
//! `ptrace` (requests, events, wait).

use super::Process;
use arch_um::GpRegs;
use std::sync::{Arc, Weak};
use uapi::signal::SigInfo;

/// How the tracer last resumed the tracee (`PTRACE_CONT`, `SYSCALL`, `SYSEMU`, `SINGLESTEP`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResumeMode {
    /// Run until the next signal or event.
    #[default]
    Cont,
    /// Also stop at syscall entry and exit.
    Syscall,
    /// Stop at syscall entry and do not run the syscall.
    Sysemu,
    /// Run one instruction.
    Step,
    /// One instruction, and syscalls are emulated.
    SysemuStep,
}

/// What kind of syscall stop the tracee is in (`PTRACE_GET_SYSCALL_INFO`'s `op`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyscallOp {
    /// Not a syscall stop.
    #[default]
    None,
    /// Syscall-enter-stop.
    Entry,
    /// Syscall-exit-stop.
    Exit,
}

/// The stop the tracee sits in, as `wait` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceStop {
    /// The `wait` status word (`0x7f | sig << 8 | event << 16`).
    pub status: i32,
    /// Whether a `wait` has already reported it.
    pub reported: bool,
    /// A group-stop (`PTRACE_LISTEN` may follow; `GETSIGINFO` gives `EINVAL`).
    pub group: bool,
}

/// The tracer's answer that ends a stop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resume {
    /// The signal to deliver (0: none).
    pub signo: u32,
    /// How to run on.
    pub mode: ResumeMode,
}

/// A task's ptrace state (`Task::ptrace`).
#[derive(Default)]
pub struct PtraceState {
    /// The tracing thread group (`None`: not traced).
    pub tracer: Option<Weak<Process>>,
    /// Attached with `PTRACE_SEIZE` (event stops instead of plain SIGSTOP/SIGTRAP).
    pub seized: bool,
    /// `PTRACE_O_*` options.
    pub options: u32,
    /// How the tracer last resumed it.
    pub mode: ResumeMode,
    /// The stop it is in.
    pub stop: Option<TraceStop>,
    /// The tracer's answer, waiting to be taken by the tracee.
    pub resume: Option<Resume>,
    /// Registers published at the stop (the tracer reads and writes these).
    pub regs: GpRegs,
    /// The tracer changed `regs`.
    pub regs_dirty: bool,
    /// The full XSAVE image published at the stop.
    pub fpu: Vec<u8>,
    /// The tracer changed `fpu`.
    pub fpu_dirty: bool,
    /// The stop's siginfo (`PTRACE_GETSIGINFO`).
    pub siginfo: Option<SigInfo>,
    /// `PTRACE_GETEVENTMSG`'s value.
    pub event_msg: u64,
    /// The syscall stop kind.
    pub syscall_op: SyscallOp,
    /// A `PTRACE_EVENT_STOP` trap is due (`PTRACE_INTERRUPT`, a seize of a stopped task, a
    /// SIGCONT to a seized tracee: Linux's `JOBCTL_TRAP_STOP`/`TRAP_NOTIFY`).
    pub interrupt: bool,
    /// The signal that trap reports, fixed when it was asked for (a seize of a stopped group
    /// reports the stop signal even if SIGCONT came before the tracee ran).
    pub trap_signo: Option<u32>,
    /// A SIGCONT came while that trap was still due: one more trap follows it (Linux sets
    /// `JOBCTL_TRAP_NOTIFY` on a tracee already trapped by the seize).
    pub trap_notify: bool,
    /// `PTRACE_LISTEN`: stays stopped, but wakes for new events (a SIGCONT).
    pub listening: bool,
    /// An exit the tracer has not collected yet (`wait` status word).
    pub exit_report: Option<i32>,
    /// The exit status the task recorded for itself (`exit` of one thread).
    pub own_exit: Option<i32>,
    /// Debug registers as set through `PTRACE_POKEUSER` (dr0-dr7).
    pub debugreg: [u64; 8],
}

impl PtraceState {
    /// The live tracer, if traced.
    pub fn tracer(&self) -> Option<Arc<Process>> {
        self.tracer.as_ref()?.upgrade()
    }

    /// Whether the task is traced.
    pub fn is_traced(&self) -> bool {
        self.tracer.is_some()
    }

    /// Whether option `o` (`PTRACE_O_*`) is set.
    pub fn has_option(&self, o: u32) -> bool {
        self.options & o != 0
    }

    /// Ends the link (`PTRACE_DETACH`, tracer exit): back to an untraced task.
    pub fn clear(&mut self) {
        *self = PtraceState { own_exit: self.own_exit, ..Default::default() };
    }
}
