//! Thin wrappers over the host's `ptrace(2)` and `wait4(2)`: the few requests umbra makes.
//! Every call is from the one kernel thread (ptrace requests must come from the tracer thread).

use crate::regs::GpRegs;
use std::io;

pub(crate) const PTRACE_SYSEMU: libc::c_uint = 31;
/// `PTRACE_SYSEMU_SINGLESTEP`: as `PTRACE_SYSEMU`, stopping after one instruction.
pub(crate) const PTRACE_SYSEMU_SINGLESTEP: libc::c_uint = 32;
/// The regset note type of the XSAVE area (`include/uapi/linux/elf.h`).
const NT_X86_XSTATE: usize = 0x202;

fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `PTRACE_GETREGS`.
pub(crate) fn get_regs(pid: i32, regs: &mut GpRegs) -> io::Result<()> {
    // SAFETY: GpRegs has the layout of user_regs_struct; the kernel writes exactly that much.
    check(unsafe { libc::ptrace(libc::PTRACE_GETREGS, pid, 0usize, regs as *mut GpRegs) }).map(|_| ())
}

/// `PTRACE_SETREGS`.
pub(crate) fn set_regs(pid: i32, regs: &GpRegs) -> io::Result<()> {
    // SAFETY: as above; the kernel only reads.
    check(unsafe { libc::ptrace(libc::PTRACE_SETREGS, pid, 0usize, regs as *const GpRegs) }).map(|_| ())
}

/// `PTRACE_GETREGSET(NT_X86_XSTATE)` into `buf`; returns the length the kernel filled.
pub(crate) fn get_xstate(pid: i32, buf: &mut [u8]) -> io::Result<usize> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr() as *mut libc::c_void, iov_len: buf.len() };
    // SAFETY: the iovec describes `buf`, which outlives the call.
    check(unsafe {
        libc::ptrace(libc::PTRACE_GETREGSET, pid, NT_X86_XSTATE, &mut iov as *mut libc::iovec)
    })?;
    Ok(iov.iov_len)
}

/// `PTRACE_SETREGSET(NT_X86_XSTATE)` from `buf` (must be the host's full XSAVE size).
pub(crate) fn set_xstate(pid: i32, buf: &[u8]) -> io::Result<()> {
    let mut iov = libc::iovec { iov_base: buf.as_ptr() as *mut libc::c_void, iov_len: buf.len() };
    // SAFETY: the kernel only reads `buf` through the iovec.
    check(unsafe {
        libc::ptrace(libc::PTRACE_SETREGSET, pid, NT_X86_XSTATE, &mut iov as *mut libc::iovec)
    })
    .map(|_| ())
}

/// `PTRACE_GETSIGINFO` into a raw 128-byte `siginfo_t`.
pub(crate) fn get_siginfo(pid: i32) -> io::Result<[u8; 128]> {
    let mut si = [0u8; 128];
    // SAFETY: siginfo_t is 128 bytes on x86-64.
    check(unsafe { libc::ptrace(libc::PTRACE_GETSIGINFO, pid, 0usize, si.as_mut_ptr()) })?;
    Ok(si)
}

/// Resumes the tracee with `request` (`PTRACE_SYSEMU`, `PTRACE_CONT`), delivering no signal.
pub(crate) fn resume(pid: i32, request: libc::c_uint) -> io::Result<()> {
    // SAFETY: plain request with no pointers.
    check(unsafe { libc::ptrace(request, pid, 0usize, 0usize) }).map(|_| ())
}

/// `PTRACE_SETOPTIONS`.
pub(crate) fn set_options(pid: i32, opts: libc::c_int) -> io::Result<()> {
    // SAFETY: plain request with no pointers.
    check(unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0usize, opts as usize) }).map(|_| ())
}

/// What `wait4` said about a stub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitStatus {
    /// Stopped with this signal (`SIGTRAP|0x80` for a syscall stop with TRACESYSGOOD).
    Stopped(i32),
    /// A `PTRACE_EVENT_*` stop.
    Event(i32),
    /// Exited with a status.
    Exited(i32),
    /// Killed by a signal.
    Signaled(i32),
}

/// `wait4(pid, __WALL)`, retried on `EINTR`.
pub(crate) fn wait(pid: i32) -> io::Result<WaitStatus> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let r = unsafe { libc::wait4(pid, &mut status, libc::__WALL, std::ptr::null_mut()) };
        if r >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
    Ok(if libc::WIFEXITED(status) {
        WaitStatus::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        WaitStatus::Signaled(libc::WTERMSIG(status))
    } else if (status >> 16) != 0 {
        WaitStatus::Event(status >> 16)
    } else {
        WaitStatus::Stopped(libc::WSTOPSIG(status))
    })
}
