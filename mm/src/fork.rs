//! `fork`: copying an address space (Linux's `dup_mmap` + `copy_page_range`).
//!
//! VMAs are cloned; present pages are shared, not copied. Private pages become copy-on-write in
//! *both* spaces (the parent's writable ones are marked for sync, so its stub is downgraded to
//! read-only before it runs again); shared mappings share their frames writable. Every entry of
//! the child is marked for sync, so its fresh stub gets the whole space in one merged batch. The
//! cost is proportional to the mapped pages, visiting only populated tables.

use uapi::mman::PAGE_SHIFT;
use uapi::KResult;

use crate::frame::FrameNo;
use crate::pagetable::{PageTable, Pte};
use crate::rangeset::RangeSet;
use crate::space::{MemorySpace, SeqFault};
use crate::vma::{Vma, VmaFlags};

impl MemorySpace {
    /// Creates the child's copy of this address space for `fork(2)` (see the module doc).
    /// `MADV_DONTFORK` ranges are left out and `MADV_WIPEONFORK` ranges come up empty.
    /// `ENOMEM` if a frame's reference count would overflow.
    pub fn fork(&mut self) -> KResult<MemorySpace> {
        let mut child = MemorySpace {
            frames: self.frames.clone(),
            vmas: self.vmas.clone(),
            pt: PageTable::new(),
            dirty: RangeSet::new(),
            start_brk: self.start_brk,
            brk: self.brk,
            mmap_base: self.mmap_base,
            stack_limit: self.stack_limit,
            seq: SeqFault::default(),
        };
        let vmas: Vec<Vma> = self.vmas.iter().cloned().collect();
        for vma in &vmas {
            if vma.flags.contains(VmaFlags::DONTFORK) {
                child.vmas.remove(vma.start);
            } else if !vma.flags.contains(VmaFlags::WIPEONFORK) {
                self.copy_pages(&mut child, vma)?;
            }
        }
        Ok(child)
    }

    /// Shares the present pages of `vma` with `child` (Linux's `copy_page_range`).
    fn copy_pages(&mut self, child: &mut MemorySpace, vma: &Vma) -> KResult<()> {
        let (lo, hi) = (vma.start >> PAGE_SHIFT, vma.end >> PAGE_SHIFT);
        let shared = vma.is_shared();
        let mut copies: Vec<(u64, Pte)> = Vec::new();
        let mut downgraded = false;
        self.pt.update(lo, hi, |vpn, pte| {
            if !pte.present() {
                return;
            }
            if !shared && !pte.is_cow() {
                let was_writable = pte.host_prot().contains(uapi::mman::Prot::WRITE);
                *pte = pte.with_cow(true);
                if was_writable {
                    *pte = pte.with_sync(true);
                    downgraded = true;
                }
            }
            copies.push((vpn, pte.with_sync(true)));
        });
        if downgraded {
            self.mark_dirty(lo, hi);
        }
        let frames: Vec<FrameNo> = copies.iter().map(|(_, p)| p.frame()).collect();
        self.frames.incref_many(&frames)?;
        for (vpn, pte) in copies {
            child.pt.set(vpn, pte);
        }
        child.mark_dirty(lo, hi);
        Ok(())
    }
}
