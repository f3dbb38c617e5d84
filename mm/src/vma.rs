//! Virtual memory areas: the guest-visible mappings of an address space, as Linux's
//! `vm_area_struct`s, kept sorted by start address with the free gaps between them.
//!
//! A VMA is split when an operation (munmap, mprotect, madvise flags) covers only part of it, and
//! merged with a neighbour when both have the same protection, flags, name and backing (contiguous
//! file offsets for file mappings), as Linux's `vma_merge` does.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use bitflags::bitflags;
use uapi::mman::{Prot, PAGE_SIZE};
use uapi::{Errno, KResult};

use crate::frame::FrameNo;
use crate::rangeset::RangeSet;

/// Linux's default `vm.max_map_count`: more VMAs than this and `mmap`/splits fail with `ENOMEM`.
pub const MAX_MAP_COUNT: usize = 65_530;

/// A file's pages as frames (implemented by fs's page cache, and by mm's own shared-anonymous
/// memory objects). The frame returned must be zero beyond the end of the file.
pub trait PageSource: Send + Sync {
    /// The frame holding page `index` of the file, with its refcount raised for the caller
    /// (who drops it with `FrameAllocator::decref`).
    fn page(&self, index: u64) -> KResult<FrameNo>;
    /// The file size in bytes: pages at or beyond `ceil(size / 4096)` fault with SIGBUS.
    fn size(&self) -> u64;
    /// The path shown in `/proc/<pid>/maps`.
    fn name(&self) -> String;
    /// `msync(MS_SYNC)` of a shared mapping: writes what was stored through mappings back to
    /// the file and the file to its storage. Sources without a file have nothing to do.
    fn flush(&self) -> KResult<()> {
        Ok(())
    }
    /// The frame of page `index` for fault-around, as [`PageSource::page`] but only if that
    /// costs no new memory: a shmem object (a memfd) answers `None` for a page it has not
    /// allocated, as Linux's `filemap_map_pages` maps only pages already in the page cache.
    /// By default the same as `page`.
    fn cached_page(&self, index: u64) -> Option<FrameNo> {
        self.page(index).ok()
    }
    /// Whether page `index` is in memory (`mincore` of a page the mapping has not touched,
    /// Linux's `mincore_page` on the page cache). By default every page inside the file.
    fn is_resident(&self, index: u64) -> bool {
        index < self.size().div_ceil(PAGE_SIZE)
    }
    /// False if neighbouring VMAs of this source must stay apart even when contiguous: a
    /// source that counts its mappings (System V shared memory counts attaches per VMA, as
    /// Linux's `shm_vm_ops` with a `close` hook, which `vma_merge` never merges).
    fn mergeable(&self) -> bool {
        true
    }
}

/// What is mapped: zero-fill anonymous memory, or pages of a file from `offset` (page aligned).
#[derive(Clone)]
pub enum Backing {
    /// Anonymous memory (private: zero-filled on first touch).
    Anon,
    /// A file (or shared-anonymous object) from byte `offset`.
    File {
        /// Where the pages come from.
        source: Arc<dyn PageSource>,
        /// The file offset of the mapping's first page.
        offset: u64,
    },
}

impl fmt::Debug for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backing::Anon => write!(f, "Anon"),
            Backing::File { source, offset } => write!(f, "File({} @ {offset:#x})", source.name()),
        }
    }
}

impl Backing {
    /// True if both describe the same source (same object, any offset) and VMAs of it may merge.
    fn same_source(&self, other: &Backing) -> bool {
        match (self, other) {
            (Backing::Anon, Backing::Anon) => true,
            (Backing::File { source: a, .. }, Backing::File { source: b, .. }) => {
                a.mergeable() && std::ptr::eq(Arc::as_ptr(a) as *const (), Arc::as_ptr(b) as *const ())
            }
            _ => false,
        }
    }

    /// The same backing `delta` bytes further into the file (unchanged for anonymous memory).
    fn advanced(&self, delta: u64) -> Backing {
        match self {
            Backing::Anon => Backing::Anon,
            Backing::File { source, offset } => {
                Backing::File { source: source.clone(), offset: offset.saturating_add(delta) }
            }
        }
    }
}

bitflags! {
    /// Per-VMA flags (the subset of Linux's `VM_*` that mm needs).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct VmaFlags: u32 {
        /// `MAP_SHARED`: writes go to the backing object and are seen by every mapper.
        const SHARED = 1 << 0;
        /// `VM_GROWSDOWN`: a fault just below the VMA extends it (stacks).
        const GROWSDOWN = 1 << 1;
        /// The process's main stack (`[stack]`).
        const STACK = 1 << 2;
        /// `MAP_ANONYMOUS` (shared anonymous mappings are backed by a `ShmemObject`).
        const ANONYMOUS = 1 << 3;
        /// `MADV_DONTFORK` (`VM_DONTCOPY`): not copied into a fork child.
        const DONTFORK = 1 << 4;
        /// `MADV_WIPEONFORK`: the child gets the range zero-filled.
        const WIPEONFORK = 1 << 5;
    }
}

/// One mapping `[start, end)` of an address space.
#[derive(Clone, Debug)]
pub struct Vma {
    /// First address (page aligned).
    pub start: u64,
    /// One past the last address (page aligned).
    pub end: u64,
    /// The current protection.
    pub prot: Prot,
    /// The protection `mprotect` may grant (Linux's `VM_MAYREAD/MAYWRITE/MAYEXEC`): a shared
    /// mapping of a file opened read-only lacks `WRITE`.
    pub max_prot: Prot,
    /// Sharing and growth flags.
    pub flags: VmaFlags,
    /// What is mapped.
    pub backing: Backing,
    /// The special name shown in `/proc/<pid>/maps` (`[heap]`, `[stack]`), if any.
    pub name: Option<String>,
}

impl Vma {
    /// A VMA with all `max_prot` rights and no special name.
    pub fn new(start: u64, end: u64, prot: Prot, flags: VmaFlags, backing: Backing) -> Vma {
        let max_prot = Prot::READ | Prot::WRITE | Prot::EXEC;
        Vma { start, end, prot, max_prot, flags, backing, name: None }
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// True if the VMA is empty (never the case for a VMA in a `VmaSet`).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// True if `addr` lies inside.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// True for `MAP_SHARED`.
    pub fn is_shared(&self) -> bool {
        self.flags.contains(VmaFlags::SHARED)
    }

    /// The file offset of the first page (0 for anonymous memory), as the maps file shows it.
    pub fn offset(&self) -> u64 {
        match &self.backing {
            Backing::Anon => 0,
            Backing::File { offset, .. } => *offset,
        }
    }

    /// The source and page index backing `addr` (file mappings only).
    pub fn file_page(&self, addr: u64) -> Option<(&Arc<dyn PageSource>, u64)> {
        match &self.backing {
            Backing::Anon => None,
            Backing::File { source, offset } => {
                let byte = offset.checked_add(addr.checked_sub(self.start)?)?;
                Some((source, byte / PAGE_SIZE))
            }
        }
    }

    /// The name for `/proc/<pid>/maps`: the special name, else the file's path, else empty.
    pub fn display_name(&self) -> String {
        match (&self.name, &self.backing) {
            (Some(n), _) => n.clone(),
            (None, Backing::File { source, .. }) => source.name(),
            (None, Backing::Anon) => String::new(),
        }
    }

    /// Splits at `at` (strictly inside) into `[start, at)` and `[at, end)`.
    pub fn split(&self, at: u64) -> (Vma, Vma) {
        let mut lo = self.clone();
        let mut hi = self.clone();
        lo.end = at;
        hi.start = at;
        hi.backing = self.backing.advanced(at - self.start);
        (lo, hi)
    }

    /// True if `next` starts where `self` ends and the two can be one VMA.
    pub fn can_merge(&self, next: &Vma) -> bool {
        self.end == next.start
            && self.prot == next.prot
            && self.max_prot == next.max_prot
            && self.flags == next.flags
            && self.name == next.name
            && self.backing.same_source(&next.backing)
            && (matches!(self.backing, Backing::Anon) || self.offset().checked_add(self.len()) == Some(next.offset()))
    }
}

/// The VMAs of one address space, sorted, plus the free gaps of `[0, limit)` between them.
#[derive(Clone)]
pub struct VmaSet {
    map: BTreeMap<u64, Vma>,
    gaps: RangeSet,
    limit: u64,
}

impl fmt::Debug for VmaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.map.values()).finish()
    }
}

impl VmaSet {
    /// An empty set over the address range `[0, limit)`.
    pub fn new(limit: u64) -> VmaSet {
        let mut gaps = RangeSet::new();
        gaps.insert(0, limit);
        VmaSet { map: BTreeMap::new(), gaps, limit }
    }

    /// The number of VMAs.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if there is no VMA.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        let (_, v) = self.map.range(..=addr).next_back()?;
        v.contains(addr).then_some(v)
    }

    /// The first VMA ending above `addr` (the one containing it, or the next), as Linux's
    /// `find_vma`.
    pub fn find_from(&self, addr: u64) -> Option<&Vma> {
        self.find(addr).or_else(|| self.map.range(addr..).next().map(|(_, v)| v))
    }

    /// The last VMA starting below `addr`.
    pub fn prev(&self, addr: u64) -> Option<&Vma> {
        self.map.range(..addr).next_back().map(|(_, v)| v)
    }

    /// The VMA starting exactly at `start`.
    pub fn get(&self, start: u64) -> Option<&Vma> {
        self.map.get(&start)
    }

    /// True if no VMA intersects `[lo, hi)` and the range is inside the address space.
    pub fn is_free(&self, lo: u64, hi: u64) -> bool {
        lo < hi && self.gaps.covers(lo, hi)
    }

    /// The free gaps, for the `mmap` search.
    pub fn gaps(&self) -> &RangeSet {
        &self.gaps
    }

    /// All VMAs in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }

    /// The starts of the VMAs intersecting `[lo, hi)`, in order.
    pub fn starts_in(&self, lo: u64, hi: u64) -> Vec<u64> {
        let first = self.find(lo).map_or(lo, |v| v.start);
        self.map.range(first..hi).map(|(&s, _)| s).collect()
    }

    /// Adds `vma`; the caller guarantees its range is free.
    pub fn insert(&mut self, vma: Vma) {
        self.gaps.remove(vma.start, vma.end);
        self.map.insert(vma.start, vma);
    }

    /// Removes and returns the VMA starting at `start`.
    pub fn remove(&mut self, start: u64) -> Option<Vma> {
        let v = self.map.remove(&start)?;
        self.gaps.insert(v.start, v.end.min(self.limit));
        Some(v)
    }

    /// Changes the VMA starting at `start` in place with `f`, which must not change its range.
    pub fn modify(&mut self, start: u64, f: impl FnOnce(&mut Vma)) {
        if let Some(v) = self.map.get_mut(&start) {
            let (s, e) = (v.start, v.end);
            f(v);
            debug_assert!(v.start == s && v.end == e);
        }
    }

    /// Moves the VMA starting at `start` to `[new_start, new_end)` (growing a stack or a heap);
    /// the caller guarantees the added range is free.
    pub fn resize(&mut self, start: u64, new_start: u64, new_end: u64) {
        if let Some(mut v) = self.remove(start) {
            v.backing = match v.backing {
                Backing::File { source, offset } => {
                    let off = offset.wrapping_add(new_start).wrapping_sub(start);
                    Backing::File { source, offset: off }
                }
                Backing::Anon => Backing::Anon,
            };
            v.start = new_start;
            v.end = new_end;
            self.insert(v);
        }
    }

    /// Splits the VMA containing `addr` so that a VMA starts at `addr` (Linux's `split_vma`).
    /// `ENOMEM` if that would exceed `MAX_MAP_COUNT`.
    pub fn split_at(&mut self, addr: u64) -> KResult<()> {
        let Some(v) = self.find(addr) else { return Ok(()) };
        if v.start == addr {
            return Ok(());
        }
        if self.map.len() >= MAX_MAP_COUNT {
            return Err(Errno::ENOMEM);
        }
        let (lo, hi) = v.split(addr);
        self.map.insert(lo.start, lo);
        self.map.insert(hi.start, hi);
        Ok(())
    }

    /// Splits so that VMAs start at `lo` and at `hi` (when inside a VMA).
    pub fn split_range(&mut self, lo: u64, hi: u64) -> KResult<()> {
        self.split_at(lo)?;
        self.split_at(hi)
    }

    /// Merges the VMA ending at `addr` with the one starting there, if compatible.
    pub fn try_merge(&mut self, addr: u64) {
        let Some(prev) = self.prev(addr) else { return };
        let Some(next) = self.map.get(&addr) else { return };
        if !prev.can_merge(next) {
            return;
        }
        let (ps, end) = (prev.start, next.end);
        self.map.remove(&addr);
        if let Some(p) = self.map.get_mut(&ps) {
            p.end = end;
        }
    }

    /// Merges around every boundary in `[lo, hi]`.
    pub fn merge_range(&mut self, lo: u64, hi: u64) {
        let mut bounds = self.starts_in(lo, hi);
        bounds.push(hi);
        for b in bounds {
            self.try_merge(b);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    struct Src;
    impl PageSource for Src {
        fn page(&self, _: u64) -> KResult<FrameNo> {
            Err(Errno::EIO)
        }
        fn size(&self) -> u64 {
            1 << 20
        }
        fn name(&self) -> String {
            "/bin/x".into()
        }
    }

    const RW: Prot = Prot::READ.union(Prot::WRITE);

    fn anon(s: u64, e: u64) -> Vma {
        Vma::new(s, e, RW, VmaFlags::ANONYMOUS, Backing::Anon)
    }

    #[test]
    fn find_split_merge() {
        let mut set = VmaSet::new(1 << 40);
        set.insert(anon(0x1000, 0x9000));
        assert_eq!(set.find(0x1000).unwrap().start, 0x1000);
        assert!(set.find(0x9000).is_none());
        assert_eq!(set.find_from(0x9000).map(|v| v.start), None);
        assert_eq!(set.find_from(0).map(|v| v.start), Some(0x1000));
        set.split_range(0x3000, 0x5000).unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set.starts_in(0x2000, 0x6000), vec![0x1000, 0x3000, 0x5000]);
        set.modify(0x3000, |v| v.prot = Prot::READ);
        set.merge_range(0x1000, 0x9000);
        assert_eq!(set.len(), 3);
        set.modify(0x3000, |v| v.prot = RW);
        set.merge_range(0x1000, 0x9000);
        assert_eq!(set.len(), 1);
        assert_eq!(set.find(0x4000).unwrap().end, 0x9000);
    }

    #[test]
    fn gaps_follow_inserts_and_removes() {
        let mut set = VmaSet::new(0x10_0000);
        set.insert(anon(0x2000, 0x4000));
        assert!(set.is_free(0x0, 0x2000));
        assert!(!set.is_free(0x1000, 0x3000));
        set.split_at(0x3000).unwrap();
        set.remove(0x3000);
        assert!(set.is_free(0x3000, 0x10_0000));
        assert!(!set.is_free(0x3000, 0x10_1000));
        set.resize(0x2000, 0x1000, 0x3000);
        assert!(!set.is_free(0x1000, 0x2000));
        assert_eq!(set.gaps().len(), 2);
    }

    #[test]
    fn file_offsets_split_and_merge() {
        let src: Arc<dyn PageSource> = Arc::new(Src);
        let mut set = VmaSet::new(1 << 40);
        let b = Backing::File { source: src.clone(), offset: 0x10000 };
        set.insert(Vma::new(0x1000, 0x5000, Prot::READ, VmaFlags::empty(), b));
        set.split_at(0x3000).unwrap();
        let hi = set.get(0x3000).unwrap();
        assert_eq!(hi.offset(), 0x12000);
        assert_eq!(hi.file_page(0x3000).unwrap().1, 0x12);
        assert_eq!(hi.display_name(), "/bin/x");
        set.merge_range(0x1000, 0x5000);
        assert_eq!(set.len(), 1);
        // Non-contiguous offsets do not merge.
        let b2 = Backing::File { source: src, offset: 0 };
        set.insert(Vma::new(0x5000, 0x6000, Prot::READ, VmaFlags::empty(), b2));
        set.try_merge(0x5000);
        assert_eq!(set.len(), 2);
    }

    struct Counted;
    impl PageSource for Counted {
        fn page(&self, _: u64) -> KResult<FrameNo> {
            Err(Errno::EIO)
        }
        fn size(&self) -> u64 {
            1 << 20
        }
        fn name(&self) -> String {
            "/SYSV00000000 (deleted)".into()
        }
        fn mergeable(&self) -> bool {
            false
        }
    }

    #[test]
    fn unmergeable_sources_stay_split() {
        let src: Arc<dyn PageSource> = Arc::new(Counted);
        let mut set = VmaSet::new(1 << 40);
        set.insert(Vma::new(0x1000, 0x5000, RW, VmaFlags::SHARED, Backing::File { source: src, offset: 0 }));
        set.split_at(0x3000).unwrap();
        set.merge_range(0x1000, 0x5000);
        assert_eq!(set.len(), 2);
    }
}
