//! Kernel access to guest memory (Linux's `copy_from_user`/`copy_to_user`/`strncpy_from_user`,
//! REFERENCES B.10): walk the page table, fault pages in as the guest would (a write breaks COW
//! first, so a forked sibling never sees it), and copy through umbra's own view of physmem — no
//! host syscall per access, and it works on pages the stub has never mapped. A missing mapping or
//! a mapping that forbids the access gives `EFAULT`.

use uapi::mman::{PAGE_SHIFT, PAGE_SIZE};
use uapi::user::{as_bytes, from_bytes};
use uapi::{Errno, KResult, Pod, UserRef};

use crate::fault::Access;
use crate::pagetable::Pte;
use crate::space::MemorySpace;
use crate::{VmReader, VmWriter};

/// Values up to this size are read through a stack buffer.
const SMALL_VAL: usize = 256;

impl MemorySpace {
    /// The entry of the page holding `addr`, faulted in for `access` if needed.
    pub(crate) fn user_page(&mut self, addr: u64, access: Access) -> KResult<Pte> {
        let pte = self.pt.lookup(addr >> PAGE_SHIFT);
        let ok = match access {
            Access::Read => pte.accessible(),
            Access::Write => pte.present() && pte.writable() && !pte.is_cow(),
        };
        if ok {
            Ok(pte)
        } else {
            self.fault_in(addr, access)
        }
    }

    /// Walks `[addr, addr+len)` in runs of physically contiguous pages, calling
    /// `f(physmem offset, length)`, which returns how much it consumed (less stops the walk).
    /// Returns the total consumed; an error only if the very first page cannot be accessed.
    fn user_runs<F>(&mut self, addr: u64, len: u64, access: Access, mut f: F) -> KResult<u64>
    where
        F: FnMut(u64, u64) -> KResult<u64>,
    {
        let end = addr.checked_add(len).ok_or(Errno::EFAULT)?;
        let mut cur = addr;
        while cur < end {
            let first = match self.user_page(cur, access) {
                Ok(p) => p,
                Err(e) if cur == addr => return Err(e),
                Err(_) => break,
            };
            let start = first.frame().offset() + (cur & (PAGE_SIZE - 1));
            let mut run_end = (cur | (PAGE_SIZE - 1)).saturating_add(1).min(end);
            while run_end < end {
                match self.user_page(run_end, access) {
                    Ok(p) if p.frame().offset() == start + (run_end - cur) => {
                        run_end = run_end.saturating_add(PAGE_SIZE).min(end);
                    }
                    _ => break,
                }
            }
            let n = run_end - cur;
            let used = f(start, n)?;
            cur += used.min(n);
            if used < n {
                break;
            }
        }
        Ok(cur - addr)
    }

    /// Copies guest memory at `addr` into `buf`; `EFAULT` unless all of it is readable.
    pub fn read(&mut self, addr: u64, buf: &mut [u8]) -> KResult<()> {
        let phys = self.frames.phys().clone();
        let mut done = 0usize;
        let got = self.user_runs(addr, buf.len() as u64, Access::Read, |off, n| {
            let n_us = usize::try_from(n).map_err(|_| Errno::EFAULT)?;
            let dst = buf.get_mut(done..done + n_us).ok_or(Errno::EFAULT)?;
            phys.read(off, dst).map_err(|_| Errno::EFAULT)?;
            done += n_us;
            Ok(n)
        })?;
        full(got, buf.len())
    }

    /// Copies `data` to guest memory at `addr` (breaking COW first); `EFAULT` unless all of it
    /// is writable. Bytes before a fault may already have been written, as on Linux.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> KResult<()> {
        let phys = self.frames.phys().clone();
        let mut done = 0usize;
        let got = self.user_runs(addr, data.len() as u64, Access::Write, |off, n| {
            let n_us = usize::try_from(n).map_err(|_| Errno::EFAULT)?;
            let src = data.get(done..done + n_us).ok_or(Errno::EFAULT)?;
            phys.write(off, src).map_err(|_| Errno::EFAULT)?;
            done += n_us;
            Ok(n)
        })?;
        full(got, data.len())
    }

    /// Zeroes `len` bytes of guest memory at `addr` (Linux's `clear_user`); `EFAULT` unless all
    /// of it is writable.
    pub fn zero(&mut self, addr: u64, len: u64) -> KResult<()> {
        let phys = self.frames.phys().clone();
        let got = self.user_runs(addr, len, Access::Write, |off, n| {
            phys.zero(off, n).map_err(|_| Errno::EFAULT)?;
            Ok(n)
        })?;
        full(got, usize::try_from(len).unwrap_or(usize::MAX))
    }

    /// Reads a NUL-terminated string at `addr` (without the NUL). At most `max_len` bytes are
    /// examined: no NUL among them → `ENAMETOOLONG` (as `getname` with `PATH_MAX`); an
    /// unreadable byte before the NUL → `EFAULT`.
    pub fn read_cstr(&mut self, addr: u64, max_len: usize) -> KResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut cur = addr;
        while out.len() < max_len {
            let pte = self.user_page(cur, Access::Read)?;
            let in_page = PAGE_SIZE - (cur & (PAGE_SIZE - 1));
            let n = usize::try_from(in_page).unwrap_or(usize::MAX).min(max_len - out.len());
            let off = pte.frame().offset() + (cur & (PAGE_SIZE - 1));
            let mut page = self.frames.phys().reader(off, n as u64).map_err(|_| Errno::EFAULT)?;
            if copy_until_nul(&mut page, &mut out) {
                return Ok(out);
            }
            cur = cur.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        }
        Err(Errno::ENAMETOOLONG)
    }

    /// Reads one `T` from guest memory.
    pub fn read_val<T: Pod>(&mut self, addr: u64) -> KResult<T> {
        let size = std::mem::size_of::<T>();
        if size <= SMALL_VAL {
            let mut buf = [0u8; SMALL_VAL];
            self.read(addr, &mut buf[..size])?;
            Ok(from_bytes(&buf[..size]))
        } else {
            let mut buf = vec![0u8; size];
            self.read(addr, &mut buf)?;
            Ok(from_bytes(&buf))
        }
    }

    /// Writes one `T` to guest memory.
    pub fn write_val<T: Pod>(&mut self, addr: u64, v: &T) -> KResult<()> {
        self.write(addr, as_bytes(v))
    }

    /// Reads the `T` a typed guest pointer points at.
    pub fn read_ref<T: Pod>(&mut self, r: UserRef<T>) -> KResult<T> {
        self.read_val(r.addr().get())
    }

    /// Writes `v` where a typed guest pointer points.
    pub fn write_ref<T: Pod>(&mut self, r: UserRef<T>, v: &T) -> KResult<()> {
        self.write_val(r.addr().get(), v)
    }

    /// Bulk input into guest memory with no kernel buffer: calls `f` with a [`VmWriter`] over
    /// each physically contiguous writable piece of `[addr, addr+len)` (COW broken, pages
    /// faulted in), in ascending order; `f` returns how many bytes it filled, and filling less
    /// than the piece stops the walk (a short `read`). Returns the total filled; `EFAULT` only
    /// if the first page is not writable, a later bad page ends the walk early (Linux's
    /// partial `read(2)`).
    pub fn with_user_writer<F>(&mut self, addr: u64, len: u64, mut f: F) -> KResult<u64>
    where
        F: FnMut(&mut VmWriter<'_>) -> KResult<usize>,
    {
        let phys = self.frames.phys().clone();
        self.user_runs(addr, len, Access::Write, |off, n| {
            let mut w = phys.writer(off, n).map_err(|_| Errno::EFAULT)?;
            let used = f(&mut w)?;
            Ok((used as u64).min(n))
        })
    }

    /// Bulk output from guest memory with no kernel buffer: like [`Self::with_user_writer`],
    /// with a [`VmReader`] over each readable piece; `f` returns how many bytes it used.
    pub fn with_user_reader<F>(&mut self, addr: u64, len: u64, mut f: F) -> KResult<u64>
    where
        F: FnMut(&mut VmReader<'_>) -> KResult<usize>,
    {
        let phys = self.frames.phys().clone();
        self.user_runs(addr, len, Access::Read, |off, n| {
            let mut r = phys.reader(off, n).map_err(|_| Errno::EFAULT)?;
            let used = f(&mut r)?;
            Ok((used as u64).min(n))
        })
    }
}

/// Appends the bytes of `r` before the first NUL to `out`; true if a NUL was found.
fn copy_until_nul(r: &mut VmReader<'_>, out: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; SMALL_VAL];
    while r.remain() > 0 {
        let n = r.read_slice(&mut chunk);
        let got = &chunk[..n];
        match got.iter().position(|&b| b == 0) {
            Some(nul) => {
                out.extend_from_slice(&got[..nul]);
                return true;
            }
            None => out.extend_from_slice(got),
        }
    }
    false
}

/// `Ok` if all `want` bytes were transferred, else `EFAULT`.
fn full(got: u64, want: usize) -> KResult<()> {
    if got == want as u64 {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}
