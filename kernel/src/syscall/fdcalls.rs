//! File-descriptor objects and zero-copy I/O: `memfd_create`, `pidfd_open`,
//! `pidfd_send_signal`, `pidfd_getfd`, `splice`, `tee`, `vmsplice` and `copy_file_range`
//! (thin: the work is in `memfd`, `pidfd` and `splice`). `sendfile` stays with the other I/O
//! calls in `io_more`, `mincore` with the memory calls in `mm`.

use super::args::{Fd, MemfdFlags, OffPtr, PidfdFlags, SigNum, SpliceFlags};
use crate::sched::Current;
use uapi::{KResult, UserAddr, UserCStr};

/// `memfd_create(2)`.
pub fn sys_memfd_create(cur: &mut Current, name: UserCStr, flags: MemfdFlags) -> KResult<usize> {
    crate::memfd::memfd_create(cur, name.0, flags.0)
}

/// `pidfd_open(2)`.
pub fn sys_pidfd_open(cur: &mut Current, pid: i32, flags: PidfdFlags) -> KResult<usize> {
    crate::pidfd::pidfd_open(cur, pid, flags.0)
}

/// `pidfd_send_signal(2)`.
pub fn sys_pidfd_send_signal(cur: &mut Current, pidfd: Fd, sig: SigNum, info: UserAddr, flags: u32) -> KResult<usize> {
    crate::pidfd::pidfd_send_signal(cur, pidfd, sig.0, info, flags)
}

/// `pidfd_getfd(2)`.
pub fn sys_pidfd_getfd(cur: &mut Current, pidfd: Fd, target: Fd, flags: u32) -> KResult<usize> {
    crate::pidfd::pidfd_getfd(cur, pidfd, target.0, flags)
}

/// `splice(2)`.
pub fn sys_splice(cur: &mut Current, fd_in: Fd, off_in: OffPtr, fd_out: Fd, off_out: OffPtr, len: usize, flags: SpliceFlags) -> KResult<usize> {
    crate::splice::splice(cur, fd_in, off_in.0, fd_out, off_out.0, len, flags.0)
}

/// `tee(2)`.
pub fn sys_tee(cur: &mut Current, fd_in: Fd, fd_out: Fd, len: usize, flags: SpliceFlags) -> KResult<usize> {
    crate::splice::tee(cur, fd_in, fd_out, len, flags.0)
}

/// `vmsplice(2)`.
pub fn sys_vmsplice(cur: &mut Current, fd: Fd, iov: UserAddr, nr_segs: u64, flags: SpliceFlags) -> KResult<usize> {
    crate::splice::vmsplice(cur, fd, iov, nr_segs, flags.0)
}

/// `copy_file_range(2)`.
pub fn sys_copy_file_range(cur: &mut Current, fd_in: Fd, off_in: OffPtr, fd_out: Fd, off_out: OffPtr, len: usize, flags: u32) -> KResult<usize> {
    crate::splice::copy_file_range(cur, fd_in, off_in.0, fd_out, off_out.0, len, flags)
}
