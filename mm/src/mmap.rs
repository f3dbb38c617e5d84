//! `mmap`, `munmap`, `mprotect` and `madvise` with Linux's semantics and errno precedence
//! (`mm/mmap.c` `do_mmap`/`get_unmapped_area`, `mm/mprotect.c`, `mm/madvise.c`).

use std::sync::Arc;

use arch_um::layout::{MMAP_MIN_ADDR, TASK_SIZE};
use uapi::mman::{madv, page_ceil, MapFlags, Prot, MAP_TYPE, PAGE_SHIFT, PAGE_SIZE};
use uapi::{Errno, KResult};

use crate::pagetable::Pte;
use crate::shmem::ShmemObject;
use crate::space::{MemorySpace, STACK_GUARD_GAP};
use crate::vma::{Backing, Vma, VmaFlags, MAX_MAP_COUNT};

/// Extra attributes of a new mapping that `mmap(2)`'s arguments do not carry.
#[derive(Clone, Debug)]
pub struct MapOptions {
    /// The name shown in `/proc/<pid>/maps` instead of the file's (e.g. `[vdso]`).
    pub name: Option<String>,
    /// What `mprotect` may later grant (Linux's `VM_MAY*`): drop `WRITE` for a `MAP_SHARED`
    /// mapping of a file opened read-only.
    pub max_prot: Prot,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions { name: None, max_prot: Prot::READ | Prot::WRITE | Prot::EXEC }
    }
}

/// The flags `MAP_SHARED_VALIDATE` accepts (Linux's `LEGACY_MAP_MASK`, plus `FIXED_NOREPLACE`).
const VALIDATE_MASK: u32 = MAP_TYPE
    | (MapFlags::FIXED.bits() | MapFlags::ANONYMOUS.bits() | MapFlags::DENYWRITE.bits())
    | (MapFlags::EXECUTABLE.bits() | MapFlags::UNINITIALIZED.bits() | MapFlags::GROWSDOWN.bits())
    | (MapFlags::LOCKED.bits() | MapFlags::NORESERVE.bits() | MapFlags::POPULATE.bits())
    | (MapFlags::NONBLOCK.bits() | MapFlags::STACK.bits() | MapFlags::HUGETLB.bits())
    | MapFlags::FIXED_NOREPLACE.bits();

/// The `Prot` bits `mprotect` accepts (Linux's `arch_validate_prot` plus the grow flags).
const PROT_VALID: u32 = Prot::READ.bits() | Prot::WRITE.bits() | Prot::EXEC.bits()
    | Prot::GROWSDOWN.bits() | Prot::GROWSUP.bits();

impl MemorySpace {
    /// `mmap(2)`: maps `len` bytes with `prot` and `flags` from `backing` and returns the address.
    /// Errors in Linux's order: a file offset not page aligned or `len == 0` → `EINVAL`; length
    /// overflow → `ENOMEM`; offset overflow → `EOVERFLOW`; too many mappings → `ENOMEM`; no room
    /// or beyond `TASK_SIZE` → `ENOMEM`; unaligned `MAP_FIXED` address → `EINVAL`; `MAP_FIXED`
    /// below `MMAP_MIN_ADDR` → `EPERM`; `MAP_FIXED_NOREPLACE` over a mapping → `EEXIST`; neither
    /// `MAP_SHARED` nor `MAP_PRIVATE` → `EINVAL`; more than all memory → `ENOMEM` (heuristic
    /// overcommit). Without `MAP_FIXED` the hint is used if free, else the highest free range
    /// below `mmap_base`. `MAP_FIXED` replaces what was there. `MAP_SHARED|MAP_ANONYMOUS` gets
    /// its own shared memory object. `MAP_POPULATE` prefaults.
    pub fn mmap(&mut self, addr: u64, len: u64, prot: Prot, flags: MapFlags, backing: Backing) -> KResult<u64> {
        self.mmap_with(addr, len, prot, flags, backing, MapOptions::default())
    }

    /// `mmap` with extra attributes (see `MapOptions`).
    pub fn mmap_with(
        &mut self,
        addr: u64,
        len: u64,
        prot: Prot,
        flags: MapFlags,
        backing: Backing,
        opts: MapOptions,
    ) -> KResult<u64> {
        let offset = match &backing {
            Backing::File { offset, .. } => *offset,
            Backing::Anon => 0,
        };
        if !offset.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let fixed = flags.intersects(MapFlags::FIXED | MapFlags::FIXED_NOREPLACE);
        let len = page_ceil(len).ok_or(Errno::ENOMEM)?;
        (offset >> PAGE_SHIFT).checked_add(len >> PAGE_SHIFT).ok_or(Errno::EOVERFLOW)?;
        if self.vmas.len() > MAX_MAP_COUNT {
            return Err(Errno::ENOMEM);
        }
        let addr = self.get_unmapped_area(addr, len, fixed)?;
        let end = addr + len; // cannot overflow: checked against TASK_SIZE
        if flags.contains(MapFlags::FIXED_NOREPLACE) && !self.vmas.is_free(addr, end) {
            return Err(Errno::EEXIST);
        }
        let anon = matches!(backing, Backing::Anon);
        let shared = map_type(flags, anon)?;
        let accountable = (shared && anon) || (!shared && prot.contains(Prot::WRITE));
        if accountable && !flags.contains(MapFlags::NORESERVE) && (len >> PAGE_SHIFT) > self.frames.total_frames() {
            return Err(Errno::ENOMEM);
        }
        if fixed {
            self.unmap_range(addr, end)?;
        }
        let vma = self.new_vma(addr, end, prot, flags, backing, shared, opts);
        self.vmas.insert(vma);
        self.vmas.try_merge(addr);
        self.vmas.try_merge(end);
        if flags.contains(MapFlags::POPULATE) && !flags.contains(MapFlags::NONBLOCK) {
            self.populate_range(addr, end);
        }
        Ok(addr)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_vma(
        &self,
        start: u64,
        end: u64,
        prot: Prot,
        flags: MapFlags,
        backing: Backing,
        shared: bool,
        opts: MapOptions,
    ) -> Vma {
        let mut vf = VmaFlags::empty();
        vf.set(VmaFlags::SHARED, shared);
        vf.set(VmaFlags::GROWSDOWN, flags.contains(MapFlags::GROWSDOWN));
        let backing = match backing {
            Backing::Anon if shared => {
                vf |= VmaFlags::ANONYMOUS;
                let obj = ShmemObject::new(self.frames.clone(), end - start);
                Backing::File { source: Arc::new(obj), offset: 0 }
            }
            Backing::Anon => {
                vf |= VmaFlags::ANONYMOUS;
                Backing::Anon
            }
            b => b,
        };
        let mut vma = Vma::new(start, end, prot - (Prot::GROWSDOWN | Prot::GROWSUP), vf, backing);
        vma.name = opts.name;
        vma.max_prot = opts.max_prot;
        vma
    }

    /// Linux's `get_unmapped_area`: `MAP_FIXED` takes `addr` as is; otherwise the page-aligned
    /// hint (raised to `MMAP_MIN_ADDR`) if that range is free, else a top-down search below
    /// `mmap_base`, else bottom-up anywhere. Then the result is checked: beyond `TASK_SIZE` →
    /// `ENOMEM`, unaligned → `EINVAL`, below `MMAP_MIN_ADDR` → `EPERM`.
    pub(crate) fn get_unmapped_area(&self, addr: u64, len: u64, fixed: bool) -> KResult<u64> {
        if len > TASK_SIZE {
            return Err(Errno::ENOMEM);
        }
        let addr = if fixed { addr } else { self.find_free(addr, len).ok_or(Errno::ENOMEM)? };
        if addr > TASK_SIZE - len {
            return Err(Errno::ENOMEM);
        }
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if addr < MMAP_MIN_ADDR {
            return Err(Errno::EPERM);
        }
        Ok(addr)
    }

    fn find_free(&self, hint: u64, len: u64) -> Option<u64> {
        if hint != 0 {
            let h = (hint & !(PAGE_SIZE - 1)).max(MMAP_MIN_ADDR);
            if h.checked_add(len).is_some_and(|e| e <= TASK_SIZE && self.fits(h, e)) {
                return Some(h);
            }
        }
        self.search_down(len).or_else(|| self.search_up(len))
    }

    /// True if `[lo, hi)` is free and keeps the guard gap below a stack above it.
    fn fits(&self, lo: u64, hi: u64) -> bool {
        self.vmas.is_free(lo, hi) && hi <= self.gap_top(hi)
    }

    /// The highest usable end of a free range ending at `end`: `STACK_GUARD_GAP` below a
    /// `GROWSDOWN` VMA starting there or soon after (Linux's `vm_start_gap`).
    fn gap_top(&self, end: u64) -> u64 {
        match self.vmas.find_from(end) {
            Some(v) if v.flags.contains(VmaFlags::GROWSDOWN) => end.min(v.start.saturating_sub(STACK_GUARD_GAP)),
            _ => end,
        }
    }

    fn search_down(&self, len: u64) -> Option<u64> {
        for (gs, ge) in self.vmas.gaps().iter_down_from(self.mmap_base) {
            let top = self.gap_top(ge).min(self.mmap_base);
            let bottom = gs.max(MMAP_MIN_ADDR);
            if top >= bottom && top - bottom >= len {
                return Some(top - len);
            }
            if gs <= MMAP_MIN_ADDR {
                break;
            }
        }
        None
    }

    fn search_up(&self, len: u64) -> Option<u64> {
        self.vmas.gaps().iter().find_map(|(gs, ge)| {
            let bottom = gs.max(MMAP_MIN_ADDR);
            let top = self.gap_top(ge);
            (top >= bottom && top - bottom >= len).then_some(bottom)
        })
    }

    /// `munmap(2)`: removes the mappings in `[addr, addr+len)`, splitting VMAs at the ends.
    /// `EINVAL` for an unaligned address, a zero length or a range beyond `TASK_SIZE`; unmapping
    /// nothing is not an error.
    pub fn munmap(&mut self, addr: u64, len: u64) -> KResult<()> {
        if !addr.is_multiple_of(PAGE_SIZE) || addr > TASK_SIZE || len > TASK_SIZE - addr {
            return Err(Errno::EINVAL);
        }
        let len = page_ceil(len).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        self.unmap_range(addr, addr + len)
    }

    /// `mprotect(2)`: sets the protection of `[addr, addr+len)`, splitting VMAs. `EINVAL` for an
    /// unaligned address or unknown bits; `ENOMEM` if the range starts in (or, after the VMAs
    /// before it were changed, runs into) a hole; `EACCES` if a VMA may not get `prot`.
    /// `PROT_GROWSDOWN` extends the range down to the start of a `GROWSDOWN` VMA.
    pub fn mprotect(&mut self, addr: u64, len: u64, prot: Prot) -> KResult<()> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let len = page_ceil(len).ok_or(Errno::ENOMEM)?;
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if prot.bits() & !PROT_VALID != 0 || prot.contains(Prot::GROWSDOWN | Prot::GROWSUP) {
            return Err(Errno::EINVAL);
        }
        let first = self.vmas.find_from(addr).ok_or(Errno::ENOMEM)?;
        let start = if prot.contains(Prot::GROWSDOWN) {
            if first.start >= end {
                return Err(Errno::ENOMEM);
            }
            if !first.flags.contains(VmaFlags::GROWSDOWN) {
                return Err(Errno::EINVAL);
            }
            first.start
        } else {
            if first.start > addr {
                return Err(Errno::ENOMEM);
            }
            addr
        };
        let prot = prot - (Prot::GROWSDOWN | Prot::GROWSUP);
        let res = self.protect_vmas(start, end, prot);
        self.vmas.merge_range(start, end);
        res
    }

    fn protect_vmas(&mut self, start: u64, end: u64, prot: Prot) -> KResult<()> {
        let mut tmp = start;
        for s in self.vmas.starts_in(start, end) {
            let Some(v) = self.vmas.get(s).or_else(|| self.vmas.find(s)) else { continue };
            if v.start > tmp {
                return Err(Errno::ENOMEM);
            }
            if !v.max_prot.contains(prot) {
                return Err(Errno::EACCES);
            }
            let (lo, hi) = (v.start.max(tmp), v.end.min(end));
            self.vmas.split_range(lo, hi)?;
            self.vmas.modify(lo, |v| v.prot = prot);
            self.reprotect_ptes(lo, hi, prot);
            tmp = hi;
        }
        if tmp < end {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Gives the present pages of `[lo, hi)` the protection `prot` (COW stays).
    fn reprotect_ptes(&mut self, lo: u64, hi: u64, prot: Prot) {
        let (vlo, vhi) = (lo >> PAGE_SHIFT, hi >> PAGE_SHIFT);
        let mut changed = false;
        self.pt.update(vlo, vhi, |_, pte| {
            if pte.present() && pte.prot() != prot {
                *pte = pte.with_prot(prot).with_sync(true);
                changed = true;
            }
        });
        if changed {
            self.mark_dirty(vlo, vhi);
        }
    }

    /// `madvise(2)`. `DONTNEED` (and `FREE` on private anonymous memory, `REMOVE` on shared
    /// memory) drops the pages: private anonymous pages read back as zero, file pages are read
    /// again. `DONTFORK`/`DOFORK`/`WIPEONFORK`/`KEEPONFORK` set the fork behaviour;
    /// `WILLNEED`/`POPULATE_READ`/`POPULATE_WRITE` prefault; other known advice is accepted and
    /// ignored. `EINVAL` for unknown advice, an unaligned address or an overflowing length;
    /// `ENOMEM` if part of the range is unmapped (after advising the mapped parts).
    pub fn madvise(&mut self, addr: u64, len: u64, advice: i32) -> KResult<()> {
        if !advice_valid(advice) || !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let alen = page_ceil(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(alen).ok_or(Errno::EINVAL)?;
        if end == addr {
            return Ok(());
        }
        let mut hole = self.vmas.find_from(addr).is_none_or(|v| v.start >= end);
        let mut tmp = addr;
        for s in self.vmas.starts_in(addr, end) {
            let Some(v) = self.vmas.get(s).or_else(|| self.vmas.find(s)).cloned() else { continue };
            hole |= v.start > tmp;
            let (lo, hi) = (v.start.max(addr), v.end.min(end));
            self.advise_vma(&v, lo, hi, advice)?;
            tmp = hi;
        }
        if hole || tmp < end {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    fn advise_vma(&mut self, v: &Vma, lo: u64, hi: u64, advice: i32) -> KResult<()> {
        let private_anon = matches!(v.backing, Backing::Anon) && !v.is_shared();
        match advice {
            madv::DONTNEED => self.zap(lo, hi),
            madv::FREE if private_anon => self.zap(lo, hi),
            madv::FREE => return Err(Errno::EINVAL),
            MADV_REMOVE if v.is_shared() => self.zap(lo, hi),
            MADV_REMOVE => return Err(Errno::EINVAL),
            MADV_DONTFORK => self.set_vma_flag(lo, hi, VmaFlags::DONTFORK, true)?,
            MADV_DOFORK => self.set_vma_flag(lo, hi, VmaFlags::DONTFORK, false)?,
            MADV_WIPEONFORK if private_anon => self.set_vma_flag(lo, hi, VmaFlags::WIPEONFORK, true)?,
            MADV_WIPEONFORK => return Err(Errno::EINVAL),
            MADV_KEEPONFORK => self.set_vma_flag(lo, hi, VmaFlags::WIPEONFORK, false)?,
            madv::WILLNEED | MADV_POPULATE_READ | MADV_POPULATE_WRITE => self.populate_range(lo, hi),
            _ => {}
        }
        Ok(())
    }

    /// Sets or clears `flag` on the VMAs of `[lo, hi)` (inside one VMA), splitting and merging.
    fn set_vma_flag(&mut self, lo: u64, hi: u64, flag: VmaFlags, on: bool) -> KResult<()> {
        self.vmas.split_range(lo, hi)?;
        self.vmas.modify(lo, |v| v.flags.set(flag, on));
        self.vmas.merge_range(lo, hi);
        Ok(())
    }

    /// The page-table entry of the page holding `addr` (for debugging and tests).
    pub fn pte_at(&self, addr: u64) -> Pte {
        self.pt.lookup(addr >> PAGE_SHIFT)
    }
}

/// The sharing type of a mapping (Linux's `switch (flags & MAP_TYPE)` in `do_mmap`): true for
/// shared. `EINVAL` for neither type (or `MAP_SHARED_VALIDATE` of anonymous memory, or a shared
/// anonymous `MAP_GROWSDOWN`); `EOPNOTSUPP` for unknown flags with `MAP_SHARED_VALIDATE`.
fn map_type(flags: MapFlags, anon: bool) -> KResult<bool> {
    let t = flags.bits() & MAP_TYPE;
    let shared = if t == MapFlags::SHARED.bits() || (t == MapFlags::SHARED_VALIDATE.bits() && !anon) {
        true
    } else if t == MapFlags::PRIVATE.bits() {
        false
    } else {
        return Err(Errno::EINVAL);
    };
    if shared && anon && flags.contains(MapFlags::GROWSDOWN) {
        return Err(Errno::EINVAL);
    }
    if t == MapFlags::SHARED_VALIDATE.bits() && flags.bits() & !VALIDATE_MASK != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(shared)
}

const MADV_REMOVE: i32 = 9;
const MADV_DONTFORK: i32 = 10;
const MADV_DOFORK: i32 = 11;
const MADV_WIPEONFORK: i32 = 18;
const MADV_KEEPONFORK: i32 = 19;
const MADV_POPULATE_READ: i32 = 22;
const MADV_POPULATE_WRITE: i32 = 23;

/// Linux's `madvise_behavior_valid` (hardware-poison advice excluded).
fn advice_valid(a: i32) -> bool {
    matches!(a, 0..=4 | 8..=23 | 25)
}
