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

/// The x86 FPU/SSE/AVX state as an XSAVE image of the host's full size (`NT_X86_XSTATE`).
#[derive(Clone, PartialEq, Eq)]
pub struct XState(pub Vec<u8>);

impl std::fmt::Debug for XState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "XState({} bytes)", self.0.len())
    }
}

/// Everything umbra keeps of a guest thread's CPU state between runs.
#[derive(Clone, Debug, Default)]
pub struct UserContext {
    /// Which guest thread this is (its tid): tells whose FPU state a shared stub holds.
    pub id: u64,
    /// General-purpose registers, loaded with `PTRACE_SETREGS` before every run.
    pub regs: GpRegs,
    /// FPU state saved from the stub, if umbra has taken it (fork, signal frames, a switch to
    /// another thread on the same stub). `None` means "whatever the stub holds is current".
    pub fpu: Option<XState>,
    /// True when `fpu` must be written into the stub before the next run.
    pub fpu_dirty: bool,
}
