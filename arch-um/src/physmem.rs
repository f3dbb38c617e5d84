//! Guest "physical" memory: one memfd of `--mem` bytes, mapped once into umbra.
//!
//! Frame `n` is the memfd's bytes `n*4096..(n+1)*4096`. Stubs map views of the same memfd
//! (`MAP_SHARED|MAP_FIXED`), so what the kernel writes through this view is what the guest sees,
//! with no syscall per access (UML's `physmem`, gVisor's memory file).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The memfd holding all guest RAM, and umbra's own mapping of it.
pub struct PhysMem {
    fd: OwnedFd,
    base: *mut u8,
    size: u64,
}

// SAFETY: the mapping lives as long as `PhysMem`; all accesses go through bounds-checked
// `ptr::copy`/`write_bytes` (the memory is shared with stub processes anyway, so no Rust
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

    fn check(&self, off: u64, len: u64) -> Result<*mut u8, OutOfRange> {
        match off.checked_add(len) {
            Some(end) if end <= self.size => Ok(self.base.wrapping_add(off as usize)),
            _ => Err(OutOfRange { off, len }),
        }
    }

    /// Copies `buf.len()` bytes at offset `off` into `buf`.
    pub fn read(&self, off: u64, buf: &mut [u8]) -> Result<(), OutOfRange> {
        let p = self.check(off, buf.len() as u64)?;
        // SAFETY: `p..p+len` is inside our mapping (checked); `buf` is a distinct Rust buffer.
        unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `data` to offset `off`.
    pub fn write(&self, off: u64, data: &[u8]) -> Result<(), OutOfRange> {
        let p = self.check(off, data.len() as u64)?;
        // SAFETY: as in `read`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        Ok(())
    }

    /// Fills `len` bytes at `off` with zeroes.
    pub fn zero(&self, off: u64, len: u64) -> Result<(), OutOfRange> {
        let p = self.check(off, len)?;
        // SAFETY: inside our mapping (checked).
        unsafe { std::ptr::write_bytes(p, 0, len as usize) };
        Ok(())
    }

    /// Copies `len` bytes from offset `src` to offset `dst` (ranges may overlap).
    pub fn copy(&self, src: u64, dst: u64, len: u64) -> Result<(), OutOfRange> {
        let s = self.check(src, len)?;
        let d = self.check(dst, len)?;
        // SAFETY: both ranges are inside our mapping (checked); `copy` handles overlap.
        unsafe { std::ptr::copy(s, d, len as usize) };
        Ok(())
    }

    /// Calls `f` with a read-only view of `len` bytes at `off`. The view must not be kept: stubs
    /// may write the same memory concurrently, so treat its contents as a snapshot.
    pub fn with_slice<R>(&self, off: u64, len: u64, f: impl FnOnce(&[u8]) -> R) -> Result<R, OutOfRange> {
        let p = self.check(off, len)?;
        // SAFETY: inside our mapping; the slice does not escape `f`. Only this thread writes
        // through the kernel view, and guest writes race exactly as on real hardware.
        let s = unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) };
        Ok(f(s))
    }

    /// Calls `f` with a mutable view of `len` bytes at `off` (e.g. to `read(2)` a file straight
    /// into guest memory without an intermediate buffer). The view must not be kept.
    pub fn with_slice_mut<R>(&self, off: u64, len: u64, f: impl FnOnce(&mut [u8]) -> R) -> Result<R, OutOfRange> {
        let p = self.check(off, len)?;
        // SAFETY: as in `with_slice`; the kernel is single-threaded, so no other Rust view of
        // this range is alive while `f` runs.
        let s = unsafe { std::slice::from_raw_parts_mut(p, len as usize) };
        Ok(f(s))
    }

    /// Returns the memory of `len` bytes at `off` to the host (`fallocate(PUNCH_HOLE)`); it reads
    /// back as zeroes. Used when frames are freed, as gVisor's `pgalloc` decommits.
    pub fn punch_hole(&self, off: u64, len: u64) -> Result<(), OutOfRange> {
        self.check(off, len)?;
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
