//! Guest "physical" memory: one memfd of `--mem` bytes, mapped once into umbra.
//!
//! Frame `n` is the memfd's bytes `n*4096..(n+1)*4096`. Stubs map views of the same memfd
//! (`MAP_SHARED|MAP_FIXED`), so what the kernel writes through this view is what the guest sees,
//! with no syscall per access (UML's `physmem`, gVisor's memory file). The kernel reaches the
//! bytes only through copying [`VmReader`]s and [`VmWriter`]s, never through Rust references.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::vmio::{VmReader, VmWriter};

/// The memfd holding all guest RAM, and umbra's own mapping of it.
pub struct PhysMem {
    fd: OwnedFd,
    base: *mut u8,
    size: u64,
}

// SAFETY: the mapping lives as long as `PhysMem`; all accesses are bounds-checked raw copies
// through `VmReader`/`VmWriter` (the memory is shared with stub processes anyway, so no Rust
// reference into it is ever handed out).
unsafe impl Send for PhysMem {}
unsafe impl Sync for PhysMem {}

/// An access outside the memfd: a kernel bug, never a guest error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange {
    /// The offending offset.
    pub off: u64,
    /// The access length.
    pub len: u64,
}

impl PhysMem {
    /// Creates the memfd (`size` rounded up to 4 KiB) and maps it into umbra.
    pub fn new(size: u64) -> io::Result<PhysMem> {
        let size = (size + 4095) & !4095;
        // SAFETY: plain syscalls on fds we own; the results are checked.
        unsafe {
            let fd = libc::memfd_create(c"umbra-physmem".as_ptr(), libc::MFD_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = OwnedFd::from_raw_fd(fd);
            if libc::ftruncate(fd.as_raw_fd(), size as libc::off_t) < 0 {
                return Err(io::Error::last_os_error());
            }
            let base = libc::mmap(
                std::ptr::null_mut(),
                size as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            );
            if base == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            Ok(PhysMem { fd, base: base as *mut u8, size })
        }
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The memfd (stubs map views of it).
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The address of `off` in umbra's mapping, if `off..off+len` lies inside physmem.
    pub(crate) fn range_ptr(&self, off: u64, len: u64) -> Result<*mut u8, OutOfRange> {
        match off.checked_add(len) {
            Some(end) if end <= self.size => Ok(self.base.wrapping_add(off as usize)),
            _ => Err(OutOfRange { off, len }),
        }
    }

    /// A reader over the `len` bytes at offset `off`: the way to copy guest memory out.
    pub fn reader(&self, off: u64, len: u64) -> Result<VmReader<'_>, OutOfRange> {
        let p = self.range_ptr(off, len)?;
        // SAFETY: the range is inside our mapping (checked), which lives as long as `self`;
        // nothing ever holds a Rust reference into physmem.
        Ok(unsafe { VmReader::from_raw(p, len as usize) })
    }

    /// A writer over the `len` bytes at offset `off`: the way to copy into guest memory.
    pub fn writer(&self, off: u64, len: u64) -> Result<VmWriter<'_>, OutOfRange> {
        let p = self.range_ptr(off, len)?;
        // SAFETY: as in `reader`.
        Ok(unsafe { VmWriter::from_raw(p, len as usize) })
    }

    /// Copies `buf.len()` bytes at offset `off` into `buf`.
    pub fn read(&self, off: u64, buf: &mut [u8]) -> Result<(), OutOfRange> {
        self.reader(off, buf.len() as u64)?.read_slice(buf);
        Ok(())
    }

    /// Copies `data` to offset `off`.
    pub fn write(&self, off: u64, data: &[u8]) -> Result<(), OutOfRange> {
        self.writer(off, data.len() as u64)?.write_slice(data);
        Ok(())
    }

    /// Fills `len` bytes at `off` with zeroes.
    pub fn zero(&self, off: u64, len: u64) -> Result<(), OutOfRange> {
        self.writer(off, len)?.fill_zero(len as usize);
        Ok(())
    }

    /// Copies `len` bytes from offset `src` to offset `dst`; overlapping ranges are copied
    /// forward, as [`VmReader::read`] does.
    pub fn copy(&self, src: u64, dst: u64, len: u64) -> Result<(), OutOfRange> {
        let mut r = self.reader(src, len)?;
        self.writer(dst, len)?.write(&mut r);
        Ok(())
    }

    /// Returns the memory of `len` bytes at `off` to the host (`fallocate(PUNCH_HOLE)`); it reads
    /// back as zeroes. Used when frames are freed, as gVisor's `pgalloc` decommits.
    pub fn punch_hole(&self, off: u64, len: u64) -> Result<(), OutOfRange> {
        self.range_ptr(off, len)?;
        // SAFETY: plain syscall on our fd.
        unsafe {
            libc::fallocate(
                self.fd.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                off as libc::off_t,
                len as libc::off_t,
            )
        };
        Ok(())
    }
}

impl Drop for PhysMem {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping we created; no references into it survive (see above).
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.size as usize) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_write_copy_zero() {
        let pm = PhysMem::new(64 * 1024).unwrap();
        pm.write(4096, b"hello").unwrap();
        pm.copy(4096, 8192, 5).unwrap();
        let mut b = [0u8; 5];
        pm.read(8192, &mut b).unwrap();
        assert_eq!(&b, b"hello");
        pm.zero(8192, 5).unwrap();
        pm.read(8192, &mut b).unwrap();
        assert_eq!(b, [0; 5]);
        assert!(pm.read(64 * 1024 - 2, &mut b).is_err());
        assert!(pm.write(u64::MAX, b"x").is_err());
    }
}
