//! Vectored transfers between a file and guest memory with no kernel buffer between (Linux's
//! `iov_iter`): an [`IoSink`] is where a `read`/`readv` puts data, an [`IoSource`] where a
//! `write`/`writev` takes it from. A pipe copies straight from its pages into the guest's
//! buffers through [`UserIovWriter`], and from the guest's buffers through [`UserIovReader`].
//!
//! The guest's side faults its pages in lazily, one page at a time as the copy reaches it (as
//! `copy_to_user` does): a 1 MiB `read` from a pipe holding 10 bytes touches one page. A page
//! that cannot be reached ends the copy early; the caller sees a short count and answers as
//! Linux does (`EFAULT` if nothing moved, else the partial count). The address space is locked
//! only for each copy ([`SpaceLock`]), never while the file does its own work: a file that
//! reports on a process (`/proc/PID/status`) may lock that process's address space itself.
//!
//! Kernel buffers are sinks and sources too ([`VmWriter`], [`VmReader`]), so one file operation
//! serves `read(2)`, `splice` from a kernel page and unit tests alike.

use std::ops::DerefMut;

use uapi::mman::PAGE_SIZE;
use uapi::structs::IoVec;

use crate::fault::Access;
use crate::space::MemorySpace;
use crate::{VmReader, VmWriter};

/// Where read data goes: a kernel buffer or the guest's iovecs (Linux's `ITER_DEST` iterator).
pub trait IoSink {
    /// Room left (the iovecs' total length minus what was written).
    fn avail(&self) -> usize;
    /// Room left in the current buffer (one iovec; all of a kernel buffer).
    fn segment(&self) -> usize {
        self.avail()
    }
    /// Copies from `r` as much as fits; returns the bytes copied. Fewer than
    /// `min(r.remain(), avail())` means the sink hit memory it cannot write (a fault).
    fn write_from(&mut self, r: &mut VmReader<'_>) -> usize;
    /// Copies from a kernel slice, as [`IoSink::write_from`].
    fn write_slice(&mut self, src: &[u8]) -> usize {
        self.write_from(&mut VmReader::from_slice(src))
    }
}

/// Where written data comes from: a kernel buffer or the guest's iovecs (`ITER_SOURCE`).
pub trait IoSource {
    /// Bytes left to take.
    fn remain(&self) -> usize;
    /// Bytes left in the current buffer (one iovec; all of a kernel buffer).
    fn segment(&self) -> usize {
        self.remain()
    }
    /// Copies into `w` as much as fits; returns the bytes copied (fewer than
    /// `min(remain(), w.avail())` means unreadable guest memory).
    fn read_into(&mut self, w: &mut VmWriter<'_>) -> usize;
    /// Copies into a kernel slice without consuming (a write that may take less than offered
    /// looks first, then [`IoSource::skip`]s what it took).
    fn peek_slice(&mut self, dst: &mut [u8]) -> usize;
    /// Consumes `n` bytes without copying them.
    fn skip(&mut self, n: usize);
    /// Copies into a kernel slice, consuming.
    fn read_slice(&mut self, dst: &mut [u8]) -> usize {
        self.read_into(&mut VmWriter::from_slice(dst))
    }
}

impl IoSink for VmWriter<'_> {
    fn avail(&self) -> usize {
        VmWriter::avail(self)
    }
    fn write_from(&mut self, r: &mut VmReader<'_>) -> usize {
        self.write(r)
    }
}

impl IoSource for VmReader<'_> {
    fn remain(&self) -> usize {
        VmReader::remain(self)
    }
    fn read_into(&mut self, w: &mut VmWriter<'_>) -> usize {
        self.read(w)
    }
    fn peek_slice(&mut self, dst: &mut [u8]) -> usize {
        VmReader::peek_slice(self, dst)
    }
    fn skip(&mut self, n: usize) {
        VmReader::skip(self, n);
    }
}

/// How a guest-buffer cursor reaches its address space: a lock taken for each copy (the kernel
/// implements it for a task's memory context).
pub trait SpaceLock {
    /// Locks the address space for one copy.
    fn lock_space(&self) -> impl DerefMut<Target = MemorySpace> + '_;
}

/// A cursor over a list of guest buffers (the part of the `iovec` array not yet used).
struct IovCursor<'v> {
    iovs: &'v [IoVec],
    /// Index of the current buffer.
    idx: usize,
    /// Bytes of the current buffer already used.
    off: u64,
    /// Bytes left over all buffers.
    left: usize,
}

impl<'v> IovCursor<'v> {
    fn new(iovs: &'v [IoVec]) -> IovCursor<'v> {
        let left = iovs.iter().fold(0usize, |a, v| a.saturating_add(usize::try_from(v.iov_len).unwrap_or(usize::MAX)));
        let mut c = IovCursor { iovs, idx: 0, off: 0, left };
        c.skip_empty();
        c
    }

    fn skip_empty(&mut self) {
        while self.iovs.get(self.idx).is_some_and(|v| self.off >= v.iov_len) {
            self.idx += 1;
            self.off = 0;
        }
    }

    /// The next contiguous piece: (guest address, length) up to the end of its page.
    fn piece(&self) -> Option<(u64, u64)> {
        let v = self.iovs.get(self.idx)?;
        let addr = v.iov_base.checked_add(self.off)?;
        let in_page = PAGE_SIZE - (addr & (PAGE_SIZE - 1));
        Some((addr, in_page.min(v.iov_len - self.off)))
    }

    /// Bytes left in the current buffer.
    fn segment(&self) -> usize {
        self.iovs.get(self.idx).map_or(0, |v| usize::try_from(v.iov_len - self.off).unwrap_or(usize::MAX))
    }

    fn advance(&mut self, n: u64) {
        self.off = self.off.saturating_add(n);
        self.left = self.left.saturating_sub(usize::try_from(n).unwrap_or(usize::MAX));
        self.skip_empty();
    }
}

/// Read data going straight into the guest's iovecs (pages faulted in as reached, COW broken).
pub struct UserIovWriter<'a, L: SpaceLock> {
    mm: &'a L,
    at: IovCursor<'a>,
}

impl<'a, L: SpaceLock> UserIovWriter<'a, L> {
    /// A sink over the guest buffers `iovs` of the address space behind `mm`.
    pub fn new(mm: &'a L, iovs: &'a [IoVec]) -> UserIovWriter<'a, L> {
        UserIovWriter { mm, at: IovCursor::new(iovs) }
    }
}

impl<L: SpaceLock> IoSink for UserIovWriter<'_, L> {
    fn avail(&self) -> usize {
        self.at.left
    }

    fn segment(&self) -> usize {
        self.at.segment()
    }

    fn write_from(&mut self, r: &mut VmReader<'_>) -> usize {
        let mut space = self.mm.lock_space();
        let phys = space.frames.phys().clone();
        let mut done = 0usize;
        while r.remain() > 0 {
            let Some((addr, len)) = self.at.piece() else { break };
            let Ok(pte) = space.user_page(addr, Access::Write) else { break };
            let off = pte.frame().offset() + (addr & (PAGE_SIZE - 1));
            let Ok(mut w) = phys.writer(off, len) else { break };
            let n = w.write(r);
            done += n;
            self.at.advance(n as u64);
        }
        done
    }
}

/// Written data taken straight from the guest's iovecs (pages faulted in as reached).
pub struct UserIovReader<'a, L: SpaceLock> {
    mm: &'a L,
    at: IovCursor<'a>,
}

impl<'a, L: SpaceLock> UserIovReader<'a, L> {
    /// A source over the guest buffers `iovs` of the address space behind `mm`.
    pub fn new(mm: &'a L, iovs: &'a [IoVec]) -> UserIovReader<'a, L> {
        UserIovReader { mm, at: IovCursor::new(iovs) }
    }

    /// Copies into `w` from the cursor `at` (advancing it), faulting pages in as reached.
    fn copy_out(space: &mut MemorySpace, at: &mut IovCursor<'_>, w: &mut VmWriter<'_>) -> usize {
        let phys = space.frames.phys().clone();
        let mut done = 0usize;
        while w.avail() > 0 {
            let Some((addr, len)) = at.piece() else { break };
            let Ok(pte) = space.user_page(addr, Access::Read) else { break };
            let off = pte.frame().offset() + (addr & (PAGE_SIZE - 1));
            let Ok(mut r) = phys.reader(off, len) else { break };
            let n = r.read(w);
            done += n;
            at.advance(n as u64);
        }
        done
    }
}

impl<L: SpaceLock> IoSource for UserIovReader<'_, L> {
    fn remain(&self) -> usize {
        self.at.left
    }

    fn segment(&self) -> usize {
        self.at.segment()
    }

    fn read_into(&mut self, w: &mut VmWriter<'_>) -> usize {
        Self::copy_out(&mut self.mm.lock_space(), &mut self.at, w)
    }

    fn peek_slice(&mut self, dst: &mut [u8]) -> usize {
        let mut probe = IovCursor { iovs: self.at.iovs, idx: self.at.idx, off: self.at.off, left: self.at.left };
        Self::copy_out(&mut self.mm.lock_space(), &mut probe, &mut VmWriter::from_slice(dst))
    }

    fn skip(&mut self, n: usize) {
        let mut left = n.min(self.at.left);
        while left > 0 {
            let Some(v) = self.at.iovs.get(self.at.idx) else { break };
            let step = (v.iov_len - self.at.off).min(left as u64);
            self.at.advance(step);
            left -= step as usize;
        }
    }
}
