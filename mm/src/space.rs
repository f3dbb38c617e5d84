//! `MemorySpace`: one guest address space (Linux's `mm_struct`) — the VMAs, the software page
//! table that is the truth about what is mapped, the dirty ranges the stub's host mappings must
//! catch up with, and the program break.
//!
//! The operations live in their own modules: `mmap` (mmap, munmap, mprotect, madvise), `remap`
//! (mremap), `brk`, `fault` (demand paging, COW, fault-around), `sync` (host TLB batches), `fork`,
//! `uaccess` (kernel access to guest memory) and `stats` (/proc views).

use std::sync::Arc;

use arch_um::layout::{MMAP_BASE, TASK_SIZE};
use uapi::mman::{page_ceil, Prot, PAGE_SHIFT, PAGE_SIZE};
use uapi::{Errno, KResult};

use crate::frame::{FrameAllocator, FrameNo};
use crate::pagetable::{PageTable, Pte, VPN_LIMIT};
use crate::rangeset::RangeSet;
use crate::vma::{Backing, Vma, VmaFlags, VmaSet};

/// Linux's default `RLIMIT_STACK`: how far a `GROWSDOWN` stack may grow (8 MiB).
pub const DEFAULT_STACK_LIMIT: u64 = 8 << 20;
/// Linux's `stack_guard_gap`: the room kept free below a growing stack (256 pages).
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;

/// The sequential-fault detector behind fault-around (see `fault`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SeqFault {
    /// First page of the last populated window.
    pub lo: u64,
    /// One past the last page of the last populated window.
    pub hi: u64,
    /// Size of the last window in pages (0: none yet).
    pub window: u64,
}

/// A guest address space: VMAs + page table + brk (Linux's `mm_struct`).
pub struct MemorySpace {
    pub(crate) frames: Arc<FrameAllocator>,
    pub(crate) vmas: VmaSet,
    pub(crate) pt: PageTable,
    /// Page-number ranges holding entries whose host mapping is out of date.
    pub(crate) dirty: RangeSet,
    pub(crate) start_brk: u64,
    pub(crate) brk: u64,
    pub(crate) mmap_base: u64,
    pub(crate) stack_limit: u64,
    pub(crate) seq: SeqFault,
}

impl std::fmt::Debug for MemorySpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySpace")
            .field("vmas", &self.vmas)
            .field("resident", &self.pt.present_count())
            .field("brk", &format_args!("{:#x}..{:#x}", self.start_brk, self.brk))
            .finish()
    }
}

impl MemorySpace {
    /// An empty address space over `[0, TASK_SIZE)` with top-down `mmap` from `MMAP_BASE`, as a
    /// fresh `mm_struct` after `execve`'s `mm_alloc`.
    pub fn new(frames: Arc<FrameAllocator>) -> MemorySpace {
        MemorySpace {
            frames,
            vmas: VmaSet::new(TASK_SIZE),
            pt: PageTable::new(),
            dirty: RangeSet::new(),
            start_brk: 0,
            brk: 0,
            mmap_base: MMAP_BASE,
            stack_limit: DEFAULT_STACK_LIMIT,
            seq: SeqFault::default(),
        }
    }

    /// The frame allocator this space takes its pages from.
    pub fn frames(&self) -> &Arc<FrameAllocator> {
        &self.frames
    }

    /// The page table (read-only; for debugging and tests).
    pub fn page_table(&self) -> &PageTable {
        &self.pt
    }

    /// The VMA containing `addr`.
    pub fn find_vma(&self, addr: u64) -> Option<&Vma> {
        self.vmas.find(addr)
    }

    /// All VMAs in address order.
    pub fn vmas(&self) -> impl Iterator<Item = &Vma> {
        self.vmas.iter()
    }

    /// Sets how far a `GROWSDOWN` stack may grow (`RLIMIT_STACK`).
    pub fn set_stack_limit(&mut self, bytes: u64) {
        self.stack_limit = bytes;
    }

    /// True if some page table entry still has to reach the host (`sync` has work to do).
    pub fn needs_sync(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Creates the main stack VMA `[top - size, top)`: private anonymous, read-write,
    /// `GROWSDOWN`, named `[stack]` (what Linux's `setup_arg_pages` leaves). Returns its start.
    pub fn map_stack(&mut self, top: u64, size: u64) -> KResult<u64> {
        let size = page_ceil(size).filter(|&s| s > 0).ok_or(Errno::EINVAL)?;
        let start = top.checked_sub(size).ok_or(Errno::EINVAL)?;
        if !top.is_multiple_of(PAGE_SIZE) || top > TASK_SIZE {
            return Err(Errno::EINVAL);
        }
        if !self.vmas.is_free(start, top) {
            return Err(Errno::EEXIST);
        }
        let flags = VmaFlags::GROWSDOWN | VmaFlags::STACK | VmaFlags::ANONYMOUS;
        let mut vma = Vma::new(start, top, Prot::READ | Prot::WRITE, flags, Backing::Anon);
        vma.name = Some("[stack]".into());
        self.vmas.insert(vma);
        Ok(start)
    }

    // ---- helpers shared by the operation modules ----

    /// Marks the pages `[lo, hi)` (page numbers) as needing a host update.
    pub(crate) fn mark_dirty(&mut self, lo: u64, hi: u64) {
        self.dirty.insert(lo, hi);
    }

    /// Installs `pte` (marked needs-sync) for page `vpn`, replacing an empty or tombstone entry.
    pub(crate) fn install(&mut self, vpn: u64, pte: Pte) {
        let old = self.pt.set(vpn, pte.with_sync(true));
        if old.present() {
            log::warn!("mm: install over a present page at {:#x}", vpn << PAGE_SHIFT);
            self.frames.decref(old.frame());
        }
        self.mark_dirty(vpn, vpn + 1);
    }

    /// Drops the pages of `[lo, hi)` (addresses): their frames are released and their entries
    /// become tombstones until the host mapping is removed by `sync` (Linux's `zap_page_range`).
    pub(crate) fn zap(&mut self, lo: u64, hi: u64) {
        let (vlo, vhi) = (lo >> PAGE_SHIFT, hi.div_ceil(PAGE_SIZE));
        let mut freed: Vec<FrameNo> = Vec::new();
        let mut touched: Option<(u64, u64)> = None;
        self.pt.update(vlo, vhi, |vpn, pte| {
            if pte.present() {
                freed.push(pte.frame());
                *pte = Pte::TOMBSTONE;
                touched = Some(touched.map_or((vpn, vpn + 1), |(a, _)| (a, vpn + 1)));
            }
        });
        self.frames.decref_many(freed);
        if let Some((a, b)) = touched {
            self.mark_dirty(a, b);
        }
    }

    /// The file behind the page source `source` (compared by address) shrank to `size` bytes:
    /// the pages its mappings map past the last page of the file are dropped, copies made by
    /// private stores included (Linux's `unmap_mapping_range` from `truncate_pagecache`), so
    /// the next touch there faults and gets `SIGBUS`.
    pub fn file_truncated(&mut self, source: *const (), size: u64) {
        let first_gone = size.div_ceil(PAGE_SIZE);
        let ranges: Vec<(u64, u64)> = self
            .vmas
            .iter()
            .filter_map(|v| match &v.backing {
                crate::vma::Backing::File { source: s, offset } if std::ptr::eq(Arc::as_ptr(s) as *const (), source) => {
                    let first_page = offset / PAGE_SIZE;
                    let skip = first_gone.saturating_sub(first_page).saturating_mul(PAGE_SIZE);
                    let lo = v.start.saturating_add(skip);
                    (lo < v.end).then_some((lo, v.end))
                }
                _ => None,
            })
            .collect();
        for (lo, hi) in ranges {
            self.zap(lo, hi);
        }
    }

    /// Removes every VMA (or part of one) inside `[lo, hi)` and its pages (the core of `munmap`,
    /// Linux's `do_vmi_munmap`). `ENOMEM` if a split would exceed the map count.
    pub(crate) fn unmap_range(&mut self, lo: u64, hi: u64) -> KResult<()> {
        if lo >= hi || self.vmas.is_free(lo, hi) {
            return Ok(());
        }
        self.vmas.split_range(lo, hi)?;
        for s in self.vmas.starts_in(lo, hi) {
            self.vmas.remove(s);
        }
        self.zap(lo, hi);
        Ok(())
    }

    /// Frames of every present page, for release.
    fn all_frames(&self) -> Vec<FrameNo> {
        let mut v = Vec::with_capacity(usize::try_from(self.pt.present_count()).unwrap_or(0));
        self.pt.for_each(0, VPN_LIMIT, |_, pte| {
            if pte.present() {
                v.push(pte.frame());
            }
        });
        v
    }
}

impl Drop for MemorySpace {
    /// Releases every frame the space maps (Linux's `exit_mmap`).
    fn drop(&mut self) {
        let frames = self.all_frames();
        self.frames.decref_many(frames);
    }
}
