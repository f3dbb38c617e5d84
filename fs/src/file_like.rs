//! `FileLike`: the open-file operations of things that are not plain inode data — pipes, ttys,
//! devices, generated proc files, later sockets (Linux's `file_operations` for those, Kerla's
//! `FileLike`). They never block: an operation that would wait returns `EAGAIN` and the object
//! exposes readiness via [`FileLike::poll`] and its [`Pollee`].

use std::any::Any;

use uapi::{Errno, KResult};

use crate::inode::InodeAttr;
use crate::poll::{PollEvents, Pollee};

/// Guest memory as an ioctl sees it: `kernel` implements it over the task's address space, so
/// fs can copy ioctl structures without knowing how guest memory is reached.
pub trait UserMemory {
    /// Copies `buf.len()` bytes from guest address `addr` (`EFAULT` if unmapped).
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> KResult<()>;
    /// Copies `data` to guest address `addr` (`EFAULT` if unmapped or read-only).
    fn write(&mut self, addr: u64, data: &[u8]) -> KResult<()>;
}

/// An open non-regular file's operations.
pub trait FileLike: Send + Sync {
    /// Reads into `buf` at `offset` (ignored by unseekable files); `EAGAIN` if it would block.
    fn read(&self, buf: &mut [u8], offset: u64) -> KResult<usize>;
    /// Writes `data` at `offset` (ignored by unseekable files); `EAGAIN` if it would block.
    fn write(&self, data: &[u8], offset: u64) -> KResult<usize>;
    /// The events ready now.
    fn poll(&self) -> PollEvents {
        crate::poll::default_events()
    }
    /// The pollee waiters register with, if readiness can change.
    fn pollee(&self) -> Option<&Pollee> {
        None
    }
    /// A device-specific request (`ENOTTY` unless the file knows `cmd`).
    fn ioctl(&self, _cmd: u32, _arg: u64, _mem: &mut dyn UserMemory) -> KResult<usize> {
        Err(Errno::ENOTTY)
    }
    /// True if the file has a position (`lseek` works, reads advance it); false gives `ESPIPE`.
    fn seekable(&self) -> bool {
        false
    }
    /// The size `SEEK_END` measures from, for seekable files (default 0, as for devices).
    fn size(&self) -> u64 {
        0
    }
    /// Attributes for `fstat` when the file has no inode of its own (an anonymous pipe);
    /// `None` means "use the inode it was opened from".
    fn stat(&self) -> Option<InodeAttr> {
        None
    }
    /// For downcasting (`kernel` finds its tty or pipe behind an fd).
    fn as_any(&self) -> &dyn Any;
}
