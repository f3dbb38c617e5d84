//! `mremap(2)` with Linux's semantics (`mm/mremap.c`): shrink in place, grow in place when the
//! following range is free, or move (`MREMAP_MAYMOVE`, `MREMAP_FIXED`, `MREMAP_DONTUNMAP`).
//! Moving keeps the frames: the page-table entries move, no data is copied.

use uapi::mman::{page_ceil, MremapFlags, Prot, PAGE_SHIFT, PAGE_SIZE};
use uapi::{Errno, KResult};

use crate::pagetable::Pte;
use crate::space::MemorySpace;
use crate::vma::{Backing, Vma};

impl MemorySpace {
    /// `mremap(2)`: resizes the mapping at `old_addr` from `old_len` to `new_len` bytes and
    /// returns its (possibly new) address. Errors in Linux's order: unknown flags, `FIXED`
    /// without `MAYMOVE`, `DONTUNMAP` without `MAYMOVE` or with a size change, an unaligned
    /// address or a zero new length → `EINVAL`; no mapping at `old_addr` or `old_len` running past
    /// it → `EFAULT`; no room to grow in place without `MAYMOVE` → `ENOMEM`. An `old_len` of 0
    /// duplicates a shared mapping.
    pub fn mremap(
        &mut self,
        old_addr: u64,
        old_len: u64,
        new_len: u64,
        flags: MremapFlags,
        new_addr: u64,
    ) -> KResult<u64> {
        let fixed = flags.contains(MremapFlags::FIXED);
        let maymove = flags.contains(MremapFlags::MAYMOVE);
        let dontunmap = flags.contains(MremapFlags::DONTUNMAP);
        if flags.bits() & !MremapFlags::all().bits() != 0 || (fixed && !maymove) {
            return Err(Errno::EINVAL);
        }
        if dontunmap && (!maymove || old_len != new_len) {
            return Err(Errno::EINVAL);
        }
        if !old_addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let old_len = page_ceil(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_ceil(new_len).filter(|&l| l != 0).ok_or(Errno::EINVAL)?;
        if fixed {
            check_fixed_target(old_addr, old_len, new_addr, new_len)?;
        }
        // Linux ≥ 6.16 (`check_prep_vma`) validates the VMA before changing anything; older
        // kernels unmapped a MREMAP_FIXED target first.
        self.vmas.find(old_addr).ok_or(Errno::EFAULT)?;
        if fixed || dontunmap || new_len > old_len {
            self.vma_to_resize(old_addr, old_len)?;
        }
        if fixed || dontunmap {
            return self.mremap_to(old_addr, old_len, new_addr, new_len, fixed, dontunmap);
        }
        if old_len >= new_len && old_len > 0 {
            let cut = old_addr.checked_add(new_len).ok_or(Errno::EINVAL)?;
            self.unmap_range(cut, cut.saturating_add(old_len - new_len))?;
            return Ok(old_addr);
        }
        let vma = self.vma_to_resize(old_addr, old_len)?;
        if old_len > 0 && old_addr + old_len == vma.end && self.expand_in_place(&vma, new_len - old_len)? {
            return Ok(old_addr);
        }
        if !maymove {
            return Err(Errno::ENOMEM);
        }
        let to = self.get_unmapped_area(0, new_len, false)?;
        self.move_vma(&vma, old_addr, old_len, to, new_len, false)
    }

    /// The `MREMAP_FIXED` / `MREMAP_DONTUNMAP` path (Linux's `mremap_to`).
    fn mremap_to(
        &mut self,
        old_addr: u64,
        mut old_len: u64,
        new_addr: u64,
        new_len: u64,
        fixed: bool,
        dontunmap: bool,
    ) -> KResult<u64> {
        if fixed {
            self.get_unmapped_area(new_addr, new_len, true)?;
            self.unmap_range(new_addr, new_addr + new_len)?;
        }
        if old_len > new_len {
            let end = old_addr.checked_add(old_len).ok_or(Errno::EINVAL)?;
            self.unmap_range(old_addr + new_len, end)?;
            old_len = new_len;
        }
        let vma = self.vma_to_resize(old_addr, old_len)?;
        let to = if fixed { new_addr } else { self.get_unmapped_area(0, new_len, false)? };
        self.move_vma(&vma, old_addr, old_len, to, new_len, dontunmap)
    }

    /// Linux's `vma_to_resize`: the VMA at `addr`, which must hold all of `[addr, addr+old_len)`.
    fn vma_to_resize(&self, addr: u64, old_len: u64) -> KResult<Vma> {
        let vma = self.vmas.find(addr).ok_or(Errno::EFAULT)?.clone();
        if old_len == 0 && !vma.is_shared() {
            return Err(Errno::EINVAL);
        }
        if old_len > vma.end - addr {
            return Err(Errno::EFAULT);
        }
        Ok(vma)
    }

    /// Grows `vma` by `delta` bytes at its end if that range is free; false if not.
    fn expand_in_place(&mut self, vma: &Vma, delta: u64) -> KResult<bool> {
        let Some(new_end) = vma.end.checked_add(delta) else { return Ok(false) };
        if new_end > arch_um::layout::TASK_SIZE || !self.vmas.is_free(vma.end, new_end) {
            return Ok(false);
        }
        self.check_commit(vma, delta)?;
        self.vmas.resize(vma.start, vma.start, new_end);
        self.vmas.try_merge(new_end);
        Ok(true)
    }

    /// Heuristic overcommit for growing a private writable mapping by `delta` bytes.
    fn check_commit(&self, vma: &Vma, delta: u64) -> KResult<()> {
        if !vma.is_shared() && vma.prot.contains(Prot::WRITE) && (delta >> PAGE_SHIFT) > self.frames.total_frames() {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Linux's `move_vma`: a new VMA at `to` takes over `[from, from+old_len)`'s pages (entries
    /// move, frames stay); the old range is unmapped, or left mapped and empty for `DONTUNMAP`.
    fn move_vma(&mut self, vma: &Vma, from: u64, old_len: u64, to: u64, new_len: u64, dontunmap: bool) -> KResult<u64> {
        self.check_commit(vma, new_len.saturating_sub(old_len))?;
        let mut moved = vma.clone();
        moved.start = to;
        moved.end = to + new_len;
        moved.backing = match &vma.backing {
            Backing::Anon => Backing::Anon,
            Backing::File { source, offset } => {
                let off = offset.checked_add(from - vma.start).ok_or(Errno::EINVAL)?;
                Backing::File { source: source.clone(), offset: off }
            }
        };
        if old_len == 0 {
            // Duplicate a shared mapping: nothing moves.
            self.vmas.insert(moved);
            return Ok(to);
        }
        let from_end = from + old_len;
        self.vmas.split_range(from, from_end)?;
        let entries = self.take_entries(from, from_end);
        for s in self.vmas.starts_in(from, from_end) {
            if let Some(old) = self.vmas.remove(s) {
                if dontunmap {
                    self.vmas.insert(old);
                }
            }
        }
        self.vmas.insert(moved);
        self.vmas.try_merge(to);
        self.vmas.try_merge(to + new_len);
        let base = to >> PAGE_SHIFT;
        for (i, pte) in entries {
            self.install(base + i, pte);
        }
        Ok(to)
    }

    /// Removes the present entries of `[lo, hi)` (leaving tombstones) and returns them with
    /// their page index relative to `lo`.
    fn take_entries(&mut self, lo: u64, hi: u64) -> Vec<(u64, Pte)> {
        let (vlo, vhi) = (lo >> PAGE_SHIFT, hi >> PAGE_SHIFT);
        let mut out = Vec::new();
        self.pt.update(vlo, vhi, |vpn, pte| {
            if pte.present() {
                out.push((vpn - vlo, pte.with_sync(false)));
                *pte = Pte::TOMBSTONE;
            }
        });
        if !out.is_empty() {
            self.mark_dirty(vlo, vhi);
        }
        out
    }
}

/// The `MREMAP_FIXED` target checks of Linux's `check_mremap_params`: aligned, inside the
/// address space, not overlapping the source.
fn check_fixed_target(old_addr: u64, old_len: u64, new_addr: u64, new_len: u64) -> KResult<()> {
    let task = arch_um::layout::TASK_SIZE;
    if !new_addr.is_multiple_of(PAGE_SIZE) || new_len > task || new_addr > task - new_len {
        return Err(Errno::EINVAL);
    }
    let old_end = old_addr.checked_add(old_len).ok_or(Errno::EINVAL)?;
    if old_addr < new_addr + new_len && new_addr < old_end {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
