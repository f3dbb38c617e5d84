//! A guest thread's register state, as umbra saves and restores it around each run.
//!
//! `GpRegs` has exactly the layout of Linux's x86-64 `struct user_regs_struct`
//! (`arch/x86/include/asm/user_64.h`), which is what `PTRACE_GETREGS`/`SETREGS` move, including
//! `fs_base`/`gs_base` (so TLS needs no extra host call). The FPU/SSE/AVX state is an XSAVE image
//! (`NT_X86_XSTATE`), moved only when needed.

/// The general-purpose registers (`struct user_regs_struct`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct GpRegs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

const _: () = assert!(core::mem::size_of::<GpRegs>() == core::mem::size_of::<libc::user_regs_struct>());

impl GpRegs {
    /// The syscall number of a syscall stop (`orig_rax`).
    pub fn syscall_nr(&self) -> u64 {
        self.orig_rax
    }

    /// The six syscall arguments in the x86-64 order: rdi, rsi, rdx, r10, r8, r9.
    pub fn syscall_args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }

    /// Sets the syscall return value (`rax`).
    pub fn set_return(&mut self, v: u64) {
        self.rax = v;
    }
}

use std::sync::{Arc, Mutex};

/// The x86 FPU/SSE/AVX state as an XSAVE image of the host's full size (`NT_X86_XSTATE`).
#[derive(Clone, PartialEq, Eq)]
pub struct XState(pub Vec<u8>);

impl std::fmt::Debug for XState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "XState({} bytes)", self.0.len())
    }
}

/// Where a thread's FPU/SSE/AVX state is now.
#[derive(Clone, Debug, Default)]
pub(crate) enum FpuSlot {
    /// Never set: the thread takes whatever the stub holds (a fresh stub's init state).
    #[default]
    Unset,
    /// Live in the registers of the stub that last ran the thread.
    Live,
    /// A copy the stub saved when another thread took it: load it before the next run.
    Saved(XState),
    /// A state the kernel set (exec, fork, a signal handler, sigreturn): load before the next run.
    Set(XState),
}

/// A thread's FPU state, owned by its `UserContext` and nowhere else: while the thread runs,
/// the live registers are in its stub, which keeps only a weak reference to this cell; when
/// another thread of the address space takes the stub, the stub saves the registers back into
/// the cell. A thread that exits drops its cell, and nothing is left behind in the stub.
#[derive(Debug, Default)]
pub struct FpuCell(Arc<Mutex<FpuSlot>>);

impl FpuCell {
    fn lock(&self) -> std::sync::MutexGuard<'_, FpuSlot> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Cloning a context (fork, clone) gives the copy its own cell: a state that was live in the
/// stub is not copied — the caller sets the child's state from `AddressSpace::fpu_of`.
impl Clone for FpuCell {
    fn clone(&self) -> Self {
        let slot = match &*self.lock() {
            FpuSlot::Saved(x) | FpuSlot::Set(x) => FpuSlot::Set(x.clone()),
            _ => FpuSlot::Unset,
        };
        FpuCell(Arc::new(Mutex::new(slot)))
    }
}

/// Everything umbra keeps of a guest thread's CPU state between runs.
#[derive(Clone, Debug, Default)]
pub struct UserContext {
    /// Which guest thread this is (its tid), for logs and the stub's diagnostics.
    pub id: u64,
    /// General-purpose registers, loaded with `PTRACE_SETREGS` before every run.
    pub regs: GpRegs,
    /// The FPU state (see [`FpuCell`]).
    fpu: FpuCell,
    /// Run one instruction only (a guest tracer's `PTRACE_SINGLESTEP`): the stub is resumed
    /// with the host's `PTRACE_SYSEMU_SINGLESTEP`, and the step ends in a SIGTRAP exception.
    pub single_step: bool,
}

impl UserContext {
    /// Sets the FPU state the thread resumes with (exec's initial state, a signal handler's,
    /// the one `rt_sigreturn` restores, a new thread's copy of its parent's).
    pub fn set_fpu(&mut self, x: XState) {
        *self.fpu.lock() = FpuSlot::Set(x);
    }

    /// The FPU state if the kernel holds a copy (not live in a stub).
    pub fn fpu_copy(&self) -> Option<XState> {
        match &*self.fpu.lock() {
            FpuSlot::Saved(x) | FpuSlot::Set(x) => Some(x.clone()),
            _ => None,
        }
    }

    /// The cell, for the stub that runs this context.
    pub(crate) fn fpu_cell(&self) -> &Arc<Mutex<FpuSlot>> {
        &self.fpu.0
    }
}

/// What the stub does with a context's FPU cell before running it.
pub(crate) enum FpuLoad {
    /// The stub's registers are this thread's already.
    Nothing,
    /// Load this image into the stub.
    Load(XState),
    /// The thread has no state of its own yet: it takes the stub's.
    Adopt,
}

/// Marks `cell` live in a stub and says what to load.
pub(crate) fn take_for_run(cell: &Arc<Mutex<FpuSlot>>, already_owner: bool) -> FpuLoad {
    let mut slot = cell.lock().unwrap_or_else(|p| p.into_inner());
    match std::mem::replace(&mut *slot, FpuSlot::Live) {
        FpuSlot::Live if already_owner => FpuLoad::Nothing,
        FpuSlot::Saved(x) | FpuSlot::Set(x) => FpuLoad::Load(x),
        FpuSlot::Live | FpuSlot::Unset => FpuLoad::Adopt,
    }
}

/// Saves the stub's registers into the cell of the thread that is leaving it, if that thread
/// still has them live there (it may have been given a new state meanwhile).
pub(crate) fn save_evicted(cell: &Arc<Mutex<FpuSlot>>, x: impl FnOnce() -> Option<XState>) {
    let mut slot = cell.lock().unwrap_or_else(|p| p.into_inner());
    if matches!(*slot, FpuSlot::Live) {
        if let Some(x) = x() {
            *slot = FpuSlot::Saved(x);
        }
    }
}

/// Whether the cell's state is live (in the stub that owns it).
pub(crate) fn is_live(cell: &Arc<Mutex<FpuSlot>>) -> bool {
    matches!(*cell.lock().unwrap_or_else(|p| p.into_inner()), FpuSlot::Live)
}
