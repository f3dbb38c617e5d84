//! Page faults: demand paging, copy-on-write, stack growth and fault-around (Linux's
//! `handle_mm_fault`, `do_anonymous_page`, `do_wp_page`, `expand_stack`, `do_fault_around`).
//!
//! Under ptrace umbra does not learn whether a fault was a read, a write or a fetch, so the
//! access is inferred from what the page table says the host has mapped (REFERENCES B.6, option
//! 2), which `sync` keeps exact before the guest runs:
//! - no frame yet → first touch: map it with the VMA's full protection (without write while COW);
//! - frame present, COW, VMA writable → the guest wrote: break COW;
//! - `addr == ip` → instruction fetch: the VMA lacks `PROT_EXEC`;
//! - anything else → the VMA denies the access: `SEGV_ACCERR`.
//!
//! Fault-around: an anonymous first touch fills an aligned window of 16 pages around the address
//! with one run of contiguous frames, placed right after the previous page's frame; when the
//! guest keeps touching the page just past (or before) the last window, the window doubles, up to
//! 512 pages (2 MiB), so a sequential sweep over 64 MiB takes a few dozen faults and the host
//! mappings stay merged. File mappings fault around 16 pages within the file.

use arch_um::layout::{MMAP_MIN_ADDR, TASK_SIZE};
use uapi::mman::{page_floor, Prot, PAGE_SHIFT, PAGE_SIZE};
use uapi::{Errno, KResult};

use crate::frame::FrameNo;
use crate::pagetable::Pte;
use crate::space::{MemorySpace, SeqFault, STACK_GUARD_GAP};
use crate::vma::{Backing, Vma, VmaFlags};

/// The host's `si_code` for faults that are not page faults (general protection, e.g. a
/// non-canonical address): never demand-paged.
pub const SI_KERNEL: u32 = 128;
/// Pages filled around a non-sequential first touch (Linux's `fault_around_bytes` = 64 KiB).
pub const FAULT_AROUND_PAGES: u64 = 16;
/// The largest window a sequential sweep grows to (2 MiB, a huge page's worth).
pub const MAX_FAULT_AROUND_PAGES: u64 = 512;

/// Why a guest fault could not be resolved; the kernel turns it into a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// No mapping at the address: `SIGSEGV` with `SEGV_MAPERR`.
    MapErr,
    /// A mapping exists but forbids the access: `SIGSEGV` with `SEGV_ACCERR`.
    AccErr,
    /// A file mapping beyond the end of the file (or an I/O error): `SIGBUS` (`BUS_ADRERR`).
    Bus,
    /// No memory to resolve it: the guest is killed, as by Linux's OOM killer.
    OutOfMemory,
}

impl FaultError {
    /// The errno the same failure gives a kernel access to user memory (`EFAULT`, or `ENOMEM`).
    pub fn errno(self) -> Errno {
        match self {
            FaultError::OutOfMemory => Errno::ENOMEM,
            _ => Errno::EFAULT,
        }
    }
}

/// The access a kernel (uaccess) fault is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl MemorySpace {
    /// Resolves a host fault of the guest at `addr` (instruction pointer `ip`, host `si_code`
    /// `host_code`). `Ok` means the page table changed (or the host was merely out of date):
    /// `sync` and resume the guest, which retries the instruction. A `host_code` of `SI_KERNEL`
    /// (128) is never demand-paged and gives `AccErr`; the caller should report such a fault to
    /// the guest as Linux does (`SIGSEGV`, `SI_KERNEL`, address 0).
    pub fn handle_fault(&mut self, addr: u64, ip: u64, host_code: u32) -> Result<(), FaultError> {
        if host_code == SI_KERNEL {
            return Err(FaultError::AccErr);
        }
        let vma = self.vma_for_fault(addr)?;
        let vpn = addr >> PAGE_SHIFT;
        let pte = self.pt.lookup(vpn);
        if pte.is_hostless() {
            self.remap_hostless(&vma, vpn);
            return Ok(());
        }
        if !pte.present() {
            if vma.prot.is_empty() {
                return Err(FaultError::AccErr);
            }
            return self.populate(&vma, vpn);
        }
        if pte.needs_sync() {
            return Ok(()); // the host has not seen this entry yet: the next sync resolves it
        }
        if addr == ip && !pte.prot().contains(Prot::EXEC) {
            return Err(FaultError::AccErr);
        }
        if pte.is_cow() && pte.writable() {
            return self.break_cow(vpn);
        }
        Err(FaultError::AccErr)
    }

    /// Maps the host-less pages of the fault-around window of `vpn` (within `vma`) on the host
    /// again: the guest touched one after its host mappings were emptied.
    fn remap_hostless(&mut self, vma: &Vma, vpn: u64) {
        let lo = (vpn & !(FAULT_AROUND_PAGES - 1)).max(vma.start >> PAGE_SHIFT);
        let hi = (lo + FAULT_AROUND_PAGES).min(vma.end.div_ceil(PAGE_SIZE)).max(vpn + 1);
        self.pt.update(lo, hi, |_, pte| {
            if pte.is_hostless() {
                *pte = pte.with_hostless(false).with_sync(true);
            }
        });
        self.mark_dirty(lo, hi);
    }

    /// Makes the page at `addr` usable for a kernel access (uaccess), faulting it in as the
    /// guest would; returns its entry. `EFAULT` if the VMA forbids the access.
    pub(crate) fn fault_in(&mut self, addr: u64, access: Access) -> KResult<Pte> {
        let vma = self.vma_for_fault(addr).map_err(FaultError::errno)?;
        let allowed = match access {
            Access::Read => !vma.prot.is_empty(),
            Access::Write => vma.prot.contains(Prot::WRITE),
        };
        if !allowed {
            return Err(Errno::EFAULT);
        }
        let vpn = addr >> PAGE_SHIFT;
        if !self.pt.lookup(vpn).present() {
            self.populate(&vma, vpn).map_err(FaultError::errno)?;
        }
        let pte = self.pt.lookup(vpn);
        if access == Access::Write && pte.is_cow() {
            self.break_cow(vpn).map_err(FaultError::errno)?;
        }
        Ok(self.pt.lookup(vpn))
    }

    /// The VMA covering `addr`, growing a `GROWSDOWN` stack down to it if it lies just below.
    fn vma_for_fault(&mut self, addr: u64) -> Result<Vma, FaultError> {
        if addr >= TASK_SIZE {
            return Err(FaultError::MapErr);
        }
        if let Some(v) = self.vmas.find(addr) {
            return Ok(v.clone());
        }
        self.grow_stack(addr).ok_or(FaultError::MapErr)
    }

    /// Linux's `expand_downwards`: extends the `GROWSDOWN` VMA above `addr` down to its page,
    /// within the stack limit and keeping `STACK_GUARD_GAP` free above the previous mapping.
    fn grow_stack(&mut self, addr: u64) -> Option<Vma> {
        let page = page_floor(addr);
        let next = self.vmas.find_from(addr)?;
        if !next.flags.contains(VmaFlags::GROWSDOWN) || page < MMAP_MIN_ADDR {
            return None;
        }
        if next.end - page > self.stack_limit {
            return None;
        }
        if let Some(prev) = self.vmas.prev(next.start) {
            let gap = if prev.flags.contains(VmaFlags::GROWSDOWN) || prev.prot.is_empty() { 0 } else { STACK_GUARD_GAP };
            if prev.end.checked_add(gap).is_none_or(|lim| lim > page) {
                return None;
            }
        }
        let (start, end) = (next.start, next.end);
        self.vmas.resize(start, page, end);
        self.vmas.find(addr).cloned()
    }

    /// First touch of page `vpn` in `vma`: fills it (and a window around it) from the backing.
    pub(crate) fn populate(&mut self, vma: &Vma, vpn: u64) -> Result<(), FaultError> {
        match &vma.backing {
            Backing::Anon => {
                let (lo, hi) = self.anon_window(vma, vpn);
                self.fill_anon(vma.prot, lo, hi, vpn)
            }
            Backing::File { .. } => self.fill_file(vma, vpn),
        }
    }

    /// The fault-around window for an anonymous first touch at `vpn` (see the module doc).
    fn anon_window(&mut self, vma: &Vma, vpn: u64) -> (u64, u64) {
        let (vlo, vhi) = (vma.start >> PAGE_SHIFT, vma.end >> PAGE_SHIFT);
        let s = self.seq;
        let grown = s.window.saturating_mul(2).clamp(FAULT_AROUND_PAGES, MAX_FAULT_AROUND_PAGES);
        let (lo, hi, window) = if s.window > 0 && vpn == s.hi {
            (vpn, vpn.saturating_add(grown).min(vhi), grown)
        } else if s.window > 0 && vpn.checked_add(1) == Some(s.lo) {
            (vpn.saturating_sub(grown - 1).max(vlo), vpn + 1, grown)
        } else {
            let a = vpn & !(FAULT_AROUND_PAGES - 1);
            (a.max(vlo), (a + FAULT_AROUND_PAGES).min(vhi), FAULT_AROUND_PAGES)
        };
        self.seq = SeqFault { lo, hi, window };
        (lo, hi)
    }

    /// Fills the absent pages of `[lo, hi)` with fresh zeroed frames, one contiguous run per gap
    /// between present pages. Only a failure for page `must` is an error.
    pub(crate) fn fill_anon(&mut self, prot: Prot, lo: u64, hi: u64, must: u64) -> Result<(), FaultError> {
        for (a, b) in self.absent_runs(lo, hi) {
            let ((ra, rb), first) = match self.alloc_for(a, b) {
                Ok(r) => r,
                Err(_) if (a..b).contains(&must) => {
                    self.alloc_for(must, must + 1).map_err(|_| FaultError::OutOfMemory)?
                }
                Err(_) => continue,
            };
            for (i, vpn) in (ra..rb).enumerate() {
                self.pt.set(vpn, Pte::new(FrameNo(first.0 + i as u64), prot).with_sync(true));
            }
            self.mark_dirty(ra, rb);
        }
        Ok(())
    }

    /// Allocates a run of frames for pages `[a, b)`, contiguous with a present neighbour's frame
    /// where possible. Returns the page range and the first frame.
    fn alloc_for(&self, a: u64, b: u64) -> KResult<((u64, u64), FrameNo)> {
        let prev = a.checked_sub(1).map(|v| self.pt.lookup(v)).filter(|p| p.present() && !p.is_cow());
        let next = Some(self.pt.lookup(b)).filter(|p| p.present() && !p.is_cow());
        let f = self.frames.alloc_between(
            prev.and_then(|p| p.frame().checked_add(1)),
            next.map(|p| p.frame()),
            b - a,
        )?;
        Ok(((a, b), f))
    }

    /// The maximal runs of pages without a frame in `[lo, hi)`.
    fn absent_runs(&self, lo: u64, hi: u64) -> Vec<(u64, u64)> {
        let mut runs = Vec::new();
        let mut cur = lo;
        self.pt.for_each(lo, hi, |vpn, pte| {
            if pte.present() {
                if vpn > cur {
                    runs.push((cur, vpn));
                }
                cur = vpn + 1;
            }
        });
        if cur < hi {
            runs.push((cur, hi));
        }
        runs
    }

    /// First touch of a file (or shared-anonymous) page: maps the page-cache frames of page `vpn`
    /// and its absent neighbours in an aligned 16-page window within the file; private mappings
    /// get them copy-on-write. Beyond the end of the file → `Bus`.
    fn fill_file(&mut self, vma: &Vma, vpn: u64) -> Result<(), FaultError> {
        let Some((source, idx)) = vma.file_page(vpn << PAGE_SHIFT) else { return Err(FaultError::Bus) };
        let eof_pages = source.size().div_ceil(PAGE_SIZE);
        if idx >= eof_pages {
            return Err(FaultError::Bus);
        }
        let (vlo, vhi) = (vma.start >> PAGE_SHIFT, vma.end >> PAGE_SHIFT);
        let last = vpn.saturating_add(eof_pages - idx); // one past the last page inside the file
        let a = vpn & !(FAULT_AROUND_PAGES - 1);
        let (lo, hi) = (a.max(vlo), (a + FAULT_AROUND_PAGES).min(vhi).min(last));
        let source = source.clone();
        let cow = !vma.is_shared();
        let order = std::iter::once(vpn).chain((lo..hi).filter(|&v| v != vpn));
        for v in order {
            if self.pt.lookup(v).present() {
                continue;
            }
            let Some(i) = (v + idx).checked_sub(vpn) else { continue };
            if v != vpn {
                match source.cached_page(i) {
                    Some(f) => self.install(v, Pte::new(f, vma.prot).with_cow(cow)),
                    None => continue,
                }
                continue;
            }
            match source.page(i) {
                Ok(f) => self.install(v, Pte::new(f, vma.prot).with_cow(cow)),
                Err(e) => return Err(if e == Errno::ENOMEM { FaultError::OutOfMemory } else { FaultError::Bus }),
            }
        }
        Ok(())
    }

    /// A write to a COW page: take the frame over if this is its only user, else copy it to a
    /// fresh frame (Linux's `do_wp_page`). Neighbours in the same 16-page window that are COW
    /// but no longer shared are made writable too, saving their faults.
    pub(crate) fn break_cow(&mut self, vpn: u64) -> Result<(), FaultError> {
        let pte = self.pt.lookup(vpn);
        let old = pte.frame();
        if self.frames.refcount(old) == 1 {
            self.install_sync(vpn, pte.with_cow(false));
        } else {
            let ((_, _), new) = self.alloc_for(vpn, vpn + 1).map_err(|_| FaultError::OutOfMemory)?;
            if self.frames.copy_frame(old, new).is_err() {
                self.frames.decref(new);
                return Err(FaultError::OutOfMemory);
            }
            self.frames.decref(old);
            self.install_sync(vpn, pte.with_frame(new).with_cow(false));
        }
        self.uncow_around(vpn);
        Ok(())
    }

    /// Makes writable the COW pages near `vpn` whose frames are no longer shared.
    fn uncow_around(&mut self, vpn: u64) {
        let a = vpn & !(FAULT_AROUND_PAGES - 1);
        let frames = self.frames.clone();
        let mut changed = false;
        self.pt.update(a, a + FAULT_AROUND_PAGES, |_, p| {
            if p.present() && p.is_cow() && p.writable() && frames.refcount(p.frame()) == 1 {
                *p = p.with_cow(false).with_sync(true);
                changed = true;
            }
        });
        if changed {
            self.mark_dirty(a, a + FAULT_AROUND_PAGES);
        }
    }

    /// Replaces the entry of a present page, marking it for sync.
    fn install_sync(&mut self, vpn: u64, pte: Pte) {
        self.pt.set(vpn, pte.with_sync(true));
        self.mark_dirty(vpn, vpn + 1);
    }

    /// Prefaults `[lo, hi)` (addresses) as `MAP_POPULATE` and `MADV_POPULATE_*` do: every
    /// accessible page gets a frame, and private writable pages are made private (COW broken).
    /// Errors stop the walk silently, as Linux's `mm_populate` ignores them.
    pub(crate) fn populate_range(&mut self, lo: u64, hi: u64) {
        let mut vpn = lo >> PAGE_SHIFT;
        while vpn < hi.div_ceil(PAGE_SIZE) {
            let Some(vma) = self.vmas.find(vpn << PAGE_SHIFT).cloned() else { return };
            let end = (vma.end.min(hi).div_ceil(PAGE_SIZE)).max(vpn + 1);
            if !vma.prot.is_empty() && self.populate_vma_pages(&vma, vpn, end).is_err() {
                return;
            }
            vpn = end;
        }
    }

    fn populate_vma_pages(&mut self, vma: &Vma, lo: u64, hi: u64) -> Result<(), FaultError> {
        let write = vma.prot.contains(Prot::WRITE) && !vma.is_shared();
        let mut a = lo;
        while a < hi {
            let b = hi.min(a.saturating_add(MAX_FAULT_AROUND_PAGES));
            if matches!(vma.backing, Backing::Anon) {
                self.fill_anon(vma.prot, a, b, a)?;
            }
            for v in a..b {
                let pte = self.pt.lookup(v);
                if !pte.present() {
                    self.populate(vma, v)?;
                }
                if write && self.pt.lookup(v).is_cow() {
                    self.break_cow(v)?;
                }
            }
            a = b;
        }
        Ok(())
    }
}
