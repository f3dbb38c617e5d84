//! Copying readers and writers over memory ranges (Asterinas's `VmReader`/`VmWriter`): the only
//! way the rest of the kernel moves bytes in or out of guest RAM.
//!
//! Guest RAM is shared with the stub processes that run guest code (they map the same memfd),
//! and one guest page can sit behind several kernel views at once (a file's page-cache frame is
//! both the source and the destination of `pwrite(fd, p, n, off)` when `p` maps the file).
//! A Rust `&[u8]`/`&mut [u8]` into such memory would promise the compiler that nothing else
//! changes or reads it, which is false. So a [`VmReader`]/[`VmWriter`] is a raw cursor over a
//! range — either a borrowed kernel buffer or a piece of [`crate::PhysMem`] — and all transfers
//! are copies through raw pointers; no reference into guest RAM is ever formed.
//!
//! Copies run forward, in ascending address order, like Linux's `copy_to_user`/`copy_from_user`
//! (`rep movsb`): when the destination starts inside the source, byte `i` is copied after the
//! bytes before it were stored, so the first `dst - src` bytes repeat (what Linux leaves in a file
//! after `pwrite(fd, p, n, off + d)` from its own mapping). Otherwise the result is `memmove`'s.

use std::io;
use std::marker::PhantomData;
use std::os::fd::RawFd;

/// A cursor over bytes to be read: a kernel slice or a range of guest memory.
pub struct VmReader<'a> {
    cursor: *const u8,
    end: *const u8,
    _borrow: PhantomData<&'a [u8]>,
}

/// A cursor over bytes to be written: a kernel slice or a range of guest memory.
pub struct VmWriter<'a> {
    cursor: *mut u8,
    end: *mut u8,
    _borrow: PhantomData<&'a mut [u8]>,
}

/// Copies `len` bytes from `src` to `dst` in ascending order (see the module docs): ranges that
/// overlap give what a byte-by-byte forward copy gives, using a few block copies.
///
/// # Safety
/// `src..src+len` must be valid for reads and `dst..dst+len` for writes, and no Rust reference
/// may cover either range while this runs.
unsafe fn copy_forward(dst: *mut u8, src: *const u8, len: usize) {
    let gap = (dst as usize).wrapping_sub(src as usize);
    if gap == 0 || len == 0 {
        return;
    }
    // SAFETY: the caller's contract covers both ranges; every block below stays inside them.
    unsafe {
        if gap >= len {
            // No overlap, or the destination is below the source: a forward copy equals memmove.
            std::ptr::copy(src, dst, len);
            return;
        }
        // The destination starts `gap` bytes into the source: the result repeats the first
        // `gap` source bytes. Copy them once, then double the copied prefix until done (each
        // block reads only bytes already final and writes disjoint bytes after them).
        std::ptr::copy_nonoverlapping(src, dst, gap);
        let mut done = gap;
        while done < len {
            let n = done.min(len - done);
            std::ptr::copy_nonoverlapping(dst, dst.add(done), n);
            done += n;
        }
    }
}

impl<'a> VmReader<'a> {
    /// A reader over a kernel buffer.
    pub fn from_slice(s: &'a [u8]) -> VmReader<'a> {
        let range = s.as_ptr_range();
        VmReader { cursor: range.start, end: range.end, _borrow: PhantomData }
    }

    /// A reader over `len` bytes at `ptr` (crate-internal: physmem's checked ranges).
    ///
    /// # Safety
    /// `ptr..ptr+len` must stay valid for reads for `'a`, and no `&mut` may cover it then.
    pub(crate) unsafe fn from_raw(ptr: *const u8, len: usize) -> VmReader<'a> {
        VmReader { cursor: ptr, end: ptr.wrapping_add(len), _borrow: PhantomData }
    }

    /// Bytes left to read.
    pub fn remain(&self) -> usize {
        self.end as usize - self.cursor as usize
    }

    /// Skips up to `n` bytes (fewer if fewer remain).
    pub fn skip(&mut self, n: usize) -> &mut Self {
        self.cursor = self.cursor.wrapping_add(n.min(self.remain()));
        self
    }

    /// Shortens the reader to at most `n` remaining bytes.
    pub fn limit(&mut self, n: usize) -> &mut Self {
        if n < self.remain() {
            self.end = self.cursor.wrapping_add(n);
        }
        self
    }

    /// Calls `f` with a reader over the next `n` bytes (or fewer if fewer remain), then
    /// advances this reader past what `f` consumed.
    pub fn with_limit<R>(&mut self, n: usize, f: impl FnOnce(&mut VmReader<'_>) -> R) -> R {
        let mut part = VmReader { cursor: self.cursor, end: self.end, _borrow: PhantomData };
        part.limit(n);
        let res = f(&mut part);
        self.cursor = part.cursor;
        res
    }

    /// Copies as much as fits into `w` (forward, overlap-safe); returns the bytes copied.
    pub fn read(&mut self, w: &mut VmWriter<'_>) -> usize {
        let n = self.remain().min(w.avail());
        // SAFETY: each cursor has at least `n` valid bytes (the invariant of both types); no Rust
        // reference to guest memory exists, and a kernel slice is borrowed by its cursor alone.
        unsafe { copy_forward(w.cursor, self.cursor, n) };
        self.cursor = self.cursor.wrapping_add(n);
        w.cursor = w.cursor.wrapping_add(n);
        n
    }

    /// Copies as much as fits into the kernel buffer `dst`; returns the bytes copied.
    pub fn read_slice(&mut self, dst: &mut [u8]) -> usize {
        self.read(&mut VmWriter::from_slice(dst))
    }

    /// Copies as much as fits into the kernel buffer `dst` without advancing.
    pub fn peek_slice(&self, dst: &mut [u8]) -> usize {
        let mut copy = VmReader { cursor: self.cursor, end: self.end, _borrow: PhantomData };
        copy.read_slice(dst)
    }

    /// Writes the remaining bytes to host file `fd` at `off` with one `pwrite(2)`; advances by
    /// what the host wrote.
    pub fn write_to_fd(&mut self, fd: RawFd, off: u64) -> io::Result<usize> {
        let off = libc::off_t::try_from(off).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
        // SAFETY: the host kernel reads `remain()` valid bytes at the cursor; it returns how many.
        let n = unsafe { libc::pwrite(fd, self.cursor.cast(), self.remain(), off) };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        self.skip(n);
        Ok(n)
    }
}

impl<'a> From<&'a [u8]> for VmReader<'a> {
    fn from(s: &'a [u8]) -> Self {
        VmReader::from_slice(s)
    }
}

impl<'a> VmWriter<'a> {
    /// A writer over a kernel buffer.
    pub fn from_slice(s: &'a mut [u8]) -> VmWriter<'a> {
        let range = s.as_mut_ptr_range();
        VmWriter { cursor: range.start, end: range.end, _borrow: PhantomData }
    }

    /// A writer over `len` bytes at `ptr` (crate-internal: physmem's checked ranges).
    ///
    /// # Safety
    /// `ptr..ptr+len` must stay valid for writes for `'a`, and no Rust reference may cover it.
    pub(crate) unsafe fn from_raw(ptr: *mut u8, len: usize) -> VmWriter<'a> {
        VmWriter { cursor: ptr, end: ptr.wrapping_add(len), _borrow: PhantomData }
    }

    /// Room left to write.
    pub fn avail(&self) -> usize {
        self.end as usize - self.cursor as usize
    }

    /// Skips up to `n` bytes, leaving them as they are.
    pub fn skip(&mut self, n: usize) -> &mut Self {
        self.cursor = self.cursor.wrapping_add(n.min(self.avail()));
        self
    }

    /// Shortens the writer to at most `n` bytes of room.
    pub fn limit(&mut self, n: usize) -> &mut Self {
        if n < self.avail() {
            self.end = self.cursor.wrapping_add(n);
        }
        self
    }

    /// Calls `f` with a writer over the next `n` bytes (or fewer if there is less room), then
    /// advances this writer past what `f` filled.
    pub fn with_limit<R>(&mut self, n: usize, f: impl FnOnce(&mut VmWriter<'_>) -> R) -> R {
        let mut part = VmWriter { cursor: self.cursor, end: self.end, _borrow: PhantomData };
        part.limit(n);
        let res = f(&mut part);
        self.cursor = part.cursor;
        res
    }

    /// Copies as much of `r` as fits (forward, overlap-safe); returns the bytes copied.
    pub fn write(&mut self, r: &mut VmReader<'_>) -> usize {
        r.read(self)
    }

    /// Copies as much of the kernel buffer `src` as fits; returns the bytes copied.
    pub fn write_slice(&mut self, src: &[u8]) -> usize {
        self.write(&mut VmReader::from_slice(src))
    }

    /// Stores up to `n` zero bytes; returns how many.
    pub fn fill_zero(&mut self, n: usize) -> usize {
        let n = n.min(self.avail());
        // SAFETY: `n` bytes at the cursor are valid for writes (the invariant of `VmWriter`).
        unsafe { std::ptr::write_bytes(self.cursor, 0, n) };
        self.cursor = self.cursor.wrapping_add(n);
        n
    }

    /// Fills the writer from host file `fd` at `off` with one `pread(2)`; advances by what the
    /// host read (0 at end of file).
    pub fn read_from_fd(&mut self, fd: RawFd, off: u64) -> io::Result<usize> {
        let off = libc::off_t::try_from(off).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: the host kernel stores at most `avail()` bytes at the cursor, all valid for
        // writes; it returns how many it stored.
        let n = unsafe { libc::pread(fd, self.cursor.cast(), self.avail(), off) };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        self.skip(n);
        Ok(n)
    }
}

impl<'a> From<&'a mut [u8]> for VmWriter<'a> {
    fn from(s: &'a mut [u8]) -> Self {
        VmWriter::from_slice(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PhysMem;

    /// What a byte-by-byte forward copy of `len` bytes from `src` to `dst` gives.
    fn forward_model(mem: &mut [u8], src: usize, dst: usize, len: usize) {
        for i in 0..len {
            mem[dst + i] = mem[src + i];
        }
    }

    #[test]
    fn overlapping_copies_match_a_forward_byte_copy() {
        let pm = PhysMem::new(4 * 4096).unwrap();
        let init: Vec<u8> = (0..3 * 4096u32).map(|i| (i * 7 + i / 251) as u8).collect();
        for (src, dst, len) in [(0, 100, 8192), (100, 0, 8192), (0, 1, 300), (5, 4, 700), (0, 4196, 8000), (0, 0, 64), (10, 3000, 2000)] {
            pm.write(0, &init).unwrap();
            let mut model = init.clone();
            forward_model(&mut model, src, dst, len);
            let mut r = pm.reader(src as u64, len as u64).unwrap();
            let mut w = pm.writer(dst as u64, len as u64).unwrap();
            assert_eq!(w.write(&mut r), len);
            assert_eq!((r.remain(), w.avail()), (0, 0));
            let mut got = vec![0u8; init.len()];
            pm.read(0, &mut got).unwrap();
            assert!(got == model, "copy {src} -> {dst}, {len} bytes");
        }
    }

    #[test]
    fn limits_skips_and_partial_transfers() {
        let src = *b"0123456789";
        let mut dst = [b'.'; 6];
        let mut r = VmReader::from(&src[..]);
        r.skip(2);
        let mut w = VmWriter::from(&mut dst[..]);
        let n = w.with_limit(3, |w| w.write(&mut r));
        assert_eq!((n, r.remain(), w.avail()), (3, 5, 3));
        assert_eq!(w.fill_zero(10), 3);
        assert_eq!(r.with_limit(100, |r| r.remain()), 5);
        assert_eq!(r.limit(1).remain(), 1);
        assert_eq!(dst, *b"234\0\0\0");
    }

    #[test]
    fn host_fd_transfers() {
        let pm = PhysMem::new(4096).unwrap();
        pm.write(0, b"to the host").unwrap();
        let mut r = pm.reader(0, 11).unwrap();
        // The memfd itself serves as the host file: copy bytes 0..11 to offset 100.
        assert_eq!(r.write_to_fd(pm.fd(), 100).unwrap(), 11);
        let mut w = pm.writer(200, 11).unwrap();
        assert_eq!(w.read_from_fd(pm.fd(), 100).unwrap(), 11);
        let mut b = [0u8; 11];
        pm.read(200, &mut b).unwrap();
        assert_eq!(&b, b"to the host");
    }
}
