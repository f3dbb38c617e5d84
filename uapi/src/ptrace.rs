//! ptrace(2)'s ABI (`include/uapi/linux/ptrace.h`, `arch/x86/include/uapi/asm/ptrace-abi.h`):
//! request numbers, options, event codes, and the structs requests move.

use bytemuck::{Pod, Zeroable};

/// `PTRACE_TRACEME`.
pub const TRACEME: u64 = 0;
/// `PTRACE_PEEKTEXT`.
pub const PEEKTEXT: u64 = 1;
/// `PTRACE_PEEKDATA`.
pub const PEEKDATA: u64 = 2;
/// `PTRACE_PEEKUSR`.
pub const PEEKUSR: u64 = 3;
/// `PTRACE_POKETEXT`.
pub const POKETEXT: u64 = 4;
/// `PTRACE_POKEDATA`.
pub const POKEDATA: u64 = 5;
/// `PTRACE_POKEUSR`.
pub const POKEUSR: u64 = 6;
/// `PTRACE_CONT`.
pub const CONT: u64 = 7;
/// `PTRACE_KILL`.
pub const KILL: u64 = 8;
/// `PTRACE_SINGLESTEP`.
pub const SINGLESTEP: u64 = 9;
/// `PTRACE_GETREGS`.
pub const GETREGS: u64 = 12;
/// `PTRACE_SETREGS`.
pub const SETREGS: u64 = 13;
/// `PTRACE_GETFPREGS`.
pub const GETFPREGS: u64 = 14;
/// `PTRACE_SETFPREGS`.
pub const SETFPREGS: u64 = 15;
/// `PTRACE_ATTACH`.
pub const ATTACH: u64 = 16;
/// `PTRACE_DETACH`.
pub const DETACH: u64 = 17;
/// `PTRACE_SYSCALL`.
pub const SYSCALL: u64 = 24;
/// `PTRACE_SYSEMU`.
pub const SYSEMU: u64 = 31;
/// `PTRACE_SYSEMU_SINGLESTEP`.
pub const SYSEMU_SINGLESTEP: u64 = 32;
/// `PTRACE_SETOPTIONS`.
pub const SETOPTIONS: u64 = 0x4200;
/// `PTRACE_GETEVENTMSG`.
pub const GETEVENTMSG: u64 = 0x4201;
/// `PTRACE_GETSIGINFO`.
pub const GETSIGINFO: u64 = 0x4202;
/// `PTRACE_SETSIGINFO`.
pub const SETSIGINFO: u64 = 0x4203;
/// `PTRACE_GETREGSET`.
pub const GETREGSET: u64 = 0x4204;
/// `PTRACE_SETREGSET`.
pub const SETREGSET: u64 = 0x4205;
/// `PTRACE_SEIZE`.
pub const SEIZE: u64 = 0x4206;
/// `PTRACE_INTERRUPT`.
pub const INTERRUPT: u64 = 0x4207;
/// `PTRACE_LISTEN`.
pub const LISTEN: u64 = 0x4208;
/// `PTRACE_PEEKSIGINFO`.
pub const PEEKSIGINFO: u64 = 0x4209;
/// `PTRACE_GETSIGMASK`.
pub const GETSIGMASK: u64 = 0x420a;
/// `PTRACE_SETSIGMASK`.
pub const SETSIGMASK: u64 = 0x420b;
/// `PTRACE_GET_SYSCALL_INFO`.
pub const GET_SYSCALL_INFO: u64 = 0x420e;

/// `PTRACE_O_TRACESYSGOOD`: syscall stops report `SIGTRAP | 0x80`.
pub const O_TRACESYSGOOD: u32 = 1;
/// `PTRACE_O_TRACEFORK`.
pub const O_TRACEFORK: u32 = 1 << EVENT_FORK;
/// `PTRACE_O_TRACEVFORK`.
pub const O_TRACEVFORK: u32 = 1 << EVENT_VFORK;
/// `PTRACE_O_TRACECLONE`.
pub const O_TRACECLONE: u32 = 1 << EVENT_CLONE;
/// `PTRACE_O_TRACEEXEC`.
pub const O_TRACEEXEC: u32 = 1 << EVENT_EXEC;
/// `PTRACE_O_TRACEVFORKDONE`.
pub const O_TRACEVFORKDONE: u32 = 1 << EVENT_VFORK_DONE;
/// `PTRACE_O_TRACEEXIT`.
pub const O_TRACEEXIT: u32 = 1 << EVENT_EXIT;
/// `PTRACE_O_TRACESECCOMP`.
pub const O_TRACESECCOMP: u32 = 1 << EVENT_SECCOMP;
/// `PTRACE_O_EXITKILL`: the tracee gets SIGKILL when the tracer exits.
pub const O_EXITKILL: u32 = 1 << 20;
/// `PTRACE_O_SUSPEND_SECCOMP`.
pub const O_SUSPEND_SECCOMP: u32 = 1 << 21;
/// `PTRACE_O_MASK`: every valid option.
pub const O_MASK: u32 = 0xff | O_EXITKILL | O_SUSPEND_SECCOMP;

/// `PTRACE_EVENT_FORK`.
pub const EVENT_FORK: u32 = 1;
/// `PTRACE_EVENT_VFORK`.
pub const EVENT_VFORK: u32 = 2;
/// `PTRACE_EVENT_CLONE`.
pub const EVENT_CLONE: u32 = 3;
/// `PTRACE_EVENT_EXEC`.
pub const EVENT_EXEC: u32 = 4;
/// `PTRACE_EVENT_VFORK_DONE`.
pub const EVENT_VFORK_DONE: u32 = 5;
/// `PTRACE_EVENT_EXIT`.
pub const EVENT_EXIT: u32 = 6;
/// `PTRACE_EVENT_SECCOMP`.
pub const EVENT_SECCOMP: u32 = 7;
/// `PTRACE_EVENT_STOP`: a group-stop or `PTRACE_INTERRUPT` trap of a seized tracee.
pub const EVENT_STOP: u32 = 128;

/// `PTRACE_PEEKSIGINFO_SHARED`.
pub const PEEKSIGINFO_SHARED: u32 = 1;
/// `PTRACE_SYSCALL_INFO_NONE`.
pub const SYSCALL_INFO_NONE: u8 = 0;
/// `PTRACE_SYSCALL_INFO_ENTRY`.
pub const SYSCALL_INFO_ENTRY: u8 = 1;
/// `PTRACE_SYSCALL_INFO_EXIT`.
pub const SYSCALL_INFO_EXIT: u8 = 2;
/// `AUDIT_ARCH_X86_64`.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// `NT_PRSTATUS`: the general registers.
pub const NT_PRSTATUS: u64 = 1;
/// `NT_PRFPREG`: the FXSAVE area.
pub const NT_PRFPREG: u64 = 2;
/// `NT_X86_XSTATE`: the XSAVE image.
pub const NT_X86_XSTATE: u64 = 0x202;

/// Size of `struct user_regs_struct`.
pub const USER_REGS_SIZE: u64 = 27 * 8;
/// `offsetof(struct user, u_debugreg)`.
pub const USER_DEBUGREG_OFFSET: u64 = 848;
/// `sizeof(struct user)`.
pub const USER_SIZE: u64 = 928;

/// `struct ptrace_peeksiginfo_args`.
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
pub struct PeekSiginfoArgs {
    /// First queue entry to copy.
    pub off: u64,
    /// `PTRACE_PEEKSIGINFO_SHARED`.
    pub flags: u32,
    /// How many.
    pub nr: i32,
}
