//! Forced access to another task's memory (Linux's `access_process_vm` with `FOLL_FORCE`):
//! what a debugger's `PTRACE_POKETEXT` and `/proc/<pid>/mem` writes use. A write to a private
//! mapping the guest may not write (program text) lands in a private copy of the page, which
//! keeps the mapping's protection: the file and other mappers never see it.

use uapi::mman::{Prot, PAGE_SHIFT, PAGE_SIZE};
use uapi::{Errno, KResult};

use crate::fault::FaultError;
use crate::pagetable::Pte;
use crate::space::MemorySpace;
use crate::vma::VmaFlags;

impl MemorySpace {
    /// Reads `buf.len()` bytes at `addr` as a tracer may (`FOLL_FORCE`): like `read`.
    /// Returns how many bytes were read before the first inaccessible page (`EIO`/`EFAULT`
    /// is the caller's choice when that is 0).
    pub fn read_forced(&mut self, addr: u64, buf: &mut [u8]) -> usize {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr.saturating_add(done as u64);
            let chunk = ((PAGE_SIZE - (a & (PAGE_SIZE - 1))) as usize).min(buf.len() - done);
            if self.read(a, &mut buf[done..done + chunk]).is_err() {
                break;
            }
            done += chunk;
        }
        done
    }

    /// Writes `data` at `addr` as a tracer may (`FOLL_FORCE`): writable mappings are written
    /// as usual; a private mapping without write permission gets a private copy of the page
    /// (copy-on-write) written in place of the shared one, its protection unchanged. Shared
    /// read-only mappings refuse. Returns how many bytes were written before the first failure.
    pub fn write_forced(&mut self, addr: u64, data: &[u8]) -> usize {
        let mut done = 0usize;
        while done < data.len() {
            let a = addr.saturating_add(done as u64);
            let chunk = ((PAGE_SIZE - (a & (PAGE_SIZE - 1))) as usize).min(data.len() - done);
            if self.write_page_forced(a, &data[done..done + chunk]).is_err() {
                break;
            }
            done += chunk;
        }
        done
    }

    /// One page's part of `write_forced`.
    fn write_page_forced(&mut self, addr: u64, data: &[u8]) -> KResult<()> {
        let vma = self.find_vma(addr).cloned().ok_or(Errno::EFAULT)?;
        if vma.prot.contains(Prot::WRITE) {
            return self.write(addr, data);
        }
        if vma.flags.contains(VmaFlags::SHARED) {
            return Err(Errno::EFAULT);
        }
        let vpn = addr >> PAGE_SHIFT;
        if !self.pt.lookup(vpn).present() {
            self.populate(&vma, vpn).map_err(FaultError::errno)?;
        }
        let pte = self.private_copy(vpn)?;
        let off = pte.frame().offset() + (addr & (PAGE_SIZE - 1));
        self.frames.phys().clone().write(off, data).map_err(|_| Errno::EFAULT)
    }

    /// Makes the frame behind `vpn` this space's own (copying a frame others share), keeping
    /// the entry's protection; returns the entry.
    fn private_copy(&mut self, vpn: u64) -> KResult<Pte> {
        let pte = self.pt.lookup(vpn);
        let old = pte.frame();
        if self.frames.refcount(old) == 1 {
            return Ok(pte);
        }
        let new = self.frames.alloc().map_err(|_| Errno::ENOMEM)?;
        if self.frames.copy_frame(old, new).is_err() {
            self.frames.decref(new);
            return Err(Errno::ENOMEM);
        }
        self.frames.decref(old);
        let pte = pte.with_frame(new).with_cow(false);
        self.pt.set(vpn, pte.with_sync(true));
        self.mark_dirty(vpn, vpn + 1);
        Ok(pte)
    }
}
