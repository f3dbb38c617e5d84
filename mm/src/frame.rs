//! Physical frames: 4 KiB pieces of the physmem memfd, refcounted and handed out in contiguous
//! runs.
//!
//! Frame `n` is the memfd's bytes `n*4096..(n+1)*4096`. The stub maps guest pages as views of the
//! memfd, and the host can only merge two adjacent views into one mapping when their memfd offsets
//! are contiguous too; a host process holds at most `vm.max_map_count` (65 530) mappings. So the
//! allocator hands out *runs* of contiguous frames, and `alloc_near` places a run right after a
//! given frame, so a region touched in order gets frames in order (Linux's buddy allocator does not
//! need this: real page tables have no mapping count).
//!
//! Free frames are kept as a `BTreeMap` of free extents (start → length), first fit, merged on
//! free. Every free frame reads as zero: frames are zeroed with `memset` when their last
//! reference goes, so allocation itself does no work. Freed runs can instead be returned to the
//! host with `fallocate(PUNCH_HOLE)` (as gVisor's `pgalloc` decommits; see `set_punch_threshold`),
//! but measured here that costs ~2 µs/page to free plus ~7 µs/page to fault the memory back in,
//! against ~0.4 µs/page for `memset`, so it is off by default.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arch_um::PhysMem;
use uapi::mman::{PAGE_SHIFT, PAGE_SIZE};
use uapi::{Errno, KResult};


/// Fresh runs from `alloc_near` start (or end) on a multiple of this many frames (2 MiB), so
/// runs placed one after another keep room to grow in place.
const SLOT: u64 = 512;

/// A physical frame number: frame `n` is the physmem memfd's bytes at offset `n * 4096`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FrameNo(pub u64);

impl FrameNo {
    /// The frame's byte offset in the physmem memfd.
    pub fn offset(self) -> u64 {
        self.0 << PAGE_SHIFT
    }

    /// The frame `n` frames after this one, or `None` on overflow.
    pub fn checked_add(self, n: u64) -> Option<FrameNo> {
        self.0.checked_add(n).map(FrameNo)
    }
}

impl fmt::Debug for FrameNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame#{:#x}", self.0)
    }
}

struct Inner {
    /// Free extents: start frame → length in frames. Never empty lengths, never adjacent.
    free: BTreeMap<u64, u64>,
    /// Reference count of every frame (0 = free).
    refs: Vec<u32>,
    /// Number of free frames.
    free_frames: u64,
}

/// The refcounted frame allocator shared by every address space and the page cache
/// (Linux's page allocator plus `struct page`'s `_refcount`).
pub struct FrameAllocator {
    phys: Arc<PhysMem>,
    total: u64,
    /// Freed runs at least this long (in frames) are hole-punched instead of cleared.
    punch_min: AtomicU64,
    inner: Mutex<Inner>,
    /// Called when an allocation finds no room (see [`FrameAllocator::set_reclaimer`]).
    reclaimer: std::sync::OnceLock<Reclaimer>,
}

/// Gives frames back when memory runs out (the page cache dropping clean pages, as Linux's
/// shrinkers do): called with the number of frames wanted, returns how many it freed.
pub type Reclaimer = Box<dyn Fn(u64) -> u64 + Send + Sync>;

impl fmt::Debug for FrameAllocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FrameAllocator({}/{} free)", self.free_frames(), self.total)
    }
}

impl FrameAllocator {
    /// Makes every frame of `phys` available (the memfd starts zero-filled).
    pub fn new(phys: Arc<PhysMem>) -> FrameAllocator {
        let total = phys.size() >> PAGE_SHIFT;
        let mut free = BTreeMap::new();
        if total > 0 {
            free.insert(0, total);
        }
        let refs = vec![0u32; usize::try_from(total).unwrap_or(0)];
        let inner = Inner { free, refs, free_frames: total };
        FrameAllocator { phys, total, punch_min: AtomicU64::new(u64::MAX), inner: Mutex::new(inner), reclaimer: std::sync::OnceLock::new() }
    }

    /// Freed runs of at least `frames` frames are returned to the host with `PUNCH_HOLE` instead
    /// of being cleared with `memset` (`None`, the default: never). Saves host memory after a
    /// guest frees a lot, at the cost of faulting it back in later.
    pub fn set_punch_threshold(&self, frames: Option<u64>) {
        self.punch_min.store(frames.unwrap_or(u64::MAX).max(1), Ordering::Relaxed);
    }

    /// Installs the reclaimer asked for frames when an allocation finds no room; the
    /// allocation is then tried once more (the first installed stays).
    pub fn set_reclaimer(&self, r: Reclaimer) {
        let _ = self.reclaimer.set(r);
    }

    /// Asks the reclaimer for `n` frames when fewer than `n` are free; true if it freed any.
    /// (A run that fails only because free memory is fragmented is not worth evicting cached
    /// pages for: callers fall back to smaller runs.)
    fn reclaim(&self, n: u64) -> bool {
        self.free_frames() < n && self.reclaimer.get().is_some_and(|r| r(n) > 0)
    }

    /// The physmem memfd the frames live in.
    pub fn phys(&self) -> &Arc<PhysMem> {
        &self.phys
    }

    /// Total number of frames (`MemTotal` in /proc/meminfo).
    pub fn total_frames(&self) -> u64 {
        self.total
    }

    /// Number of free frames (`MemFree` in /proc/meminfo).
    pub fn free_frames(&self) -> u64 {
        self.lock().free_frames
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The kernel is single-threaded and never panics while holding this lock on purpose; if a
        // test thread did, the data is still consistent (every update completes before unlocking).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Allocates one zeroed frame with refcount 1; `ENOMEM` when memory is exhausted.
    pub fn alloc(&self) -> KResult<FrameNo> {
        self.alloc_run(1)
    }

    /// Allocates `n` contiguous zeroed frames (first fit), each with refcount 1.
    pub fn alloc_run(&self, n: u64) -> KResult<FrameNo> {
        match self.try_alloc_run(n) {
            Err(Errno::ENOMEM) if self.reclaim(n) => self.try_alloc_run(n),
            r => r,
        }
    }

    fn try_alloc_run(&self, n: u64) -> KResult<FrameNo> {
        let mut g = self.lock();
        let start = g.first_fit(n).ok_or(Errno::ENOMEM)?;
        g.take(start, n);
        Ok(FrameNo(start))
    }

    /// Allocates `n` contiguous zeroed frames, placed right after `hint` if those frames are free
    /// (so contiguous guest pages get contiguous frames and merge into one host mapping);
    /// otherwise at the start of a free 2 MiB-aligned slot (leaving room for the run to grow and
    /// for other runs to grow into the slack before it), otherwise first fit.
    pub fn alloc_near(&self, hint: Option<FrameNo>, n: u64) -> KResult<FrameNo> {
        let after = hint.and_then(|h| h.checked_add(1));
        self.alloc_between(after, None, n)
    }

    /// Allocates `n` contiguous zeroed frames starting at `after`, or else ending right before
    /// `before`, if free. Otherwise a fresh place: for a run that only has a `before` neighbour
    /// (pages filled in downwards, as a growing stack is) one ending at the highest free slot
    /// boundary, so the next run can go below it; else one starting at the lowest free slot
    /// boundary; else first fit.
    pub fn alloc_between(&self, after: Option<FrameNo>, before: Option<FrameNo>, n: u64) -> KResult<FrameNo> {
        match self.try_alloc_between(after, before, n) {
            Err(Errno::ENOMEM) if self.reclaim(n) => self.try_alloc_between(after, before, n),
            r => r,
        }
    }

    fn try_alloc_between(&self, after: Option<FrameNo>, before: Option<FrameNo>, n: u64) -> KResult<FrameNo> {
        if n == 0 {
            return Err(Errno::EINVAL);
        }
        let mut g = self.lock();
        let at_before = before.and_then(|b| b.0.checked_sub(n));
        let exact = [after.map(|f| f.0), at_before].into_iter().flatten().find(|&s| g.is_free(s, n));
        let downwards = before.is_some() && after.is_none();
        let start = exact
            .or_else(|| if downwards { g.fit_slot_end(n) } else { g.fit_slot_start(n) })
            .or_else(|| g.first_fit(n))
            .ok_or(Errno::ENOMEM)?;
        g.take(start, n);
        Ok(FrameNo(start))
    }

    /// Raises the refcount of an allocated frame (a new PTE or page-cache reference).
    /// `EINVAL` for a free or out-of-range frame, `ENOMEM` if the count would overflow.
    pub fn incref(&self, f: FrameNo) -> KResult<()> {
        self.lock().raise(f)
    }

    /// Raises the refcount of every frame in `frames` (a frame listed twice is raised twice),
    /// all or nothing, under one lock.
    pub fn incref_many(&self, frames: &[FrameNo]) -> KResult<()> {
        let mut g = self.lock();
        for (done, &f) in frames.iter().enumerate() {
            if let Err(e) = g.raise(f) {
                for &u in &frames[..done] {
                    g.drop_ref(u);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Drops one reference; the frame is zeroed and freed when none remain.
    pub fn decref(&self, f: FrameNo) {
        self.decref_many([f]);
    }

    /// Drops one reference on each frame, under one lock; the frames that reach zero are zeroed
    /// and freed in merged runs (so unmapping a big contiguous region costs one hole punch).
    pub fn decref_many<I: IntoIterator<Item = FrameNo>>(&self, frames: I) {
        let mut g = self.lock();
        let mut run: Option<(u64, u64)> = None;
        for f in frames {
            if !g.drop_ref(f) {
                continue;
            }
            run = match run {
                Some((s, n)) if s.checked_add(n) == Some(f.0) => Some((s, n + 1)),
                Some((s, n)) => {
                    self.release(&mut g, s, n);
                    Some((f.0, 1))
                }
                None => Some((f.0, 1)),
            };
        }
        if let Some((s, n)) = run {
            self.release(&mut g, s, n);
        }
    }

    /// The reference count of `f` (0 if free or out of range).
    pub fn refcount(&self, f: FrameNo) -> u32 {
        let g = self.lock();
        index(f).ok().and_then(|i| g.refs.get(i).copied()).unwrap_or(0)
    }

    /// Zeroes a freed run and puts it back on the free list.
    fn release(&self, g: &mut Inner, start: u64, n: u64) {
        let (off, len) = (start << PAGE_SHIFT, n << PAGE_SHIFT);
        let punch = n >= self.punch_min.load(Ordering::Relaxed);
        let res = if punch { self.phys.punch_hole(off, len) } else { self.phys.zero(off, len) };
        if res.is_err() {
            log::warn!("mm: freed run {start:#x}+{n} outside physmem");
            return;
        }
        g.insert_free(start, n);
    }

    /// Copies the contents of frame `src` to frame `dst`.
    pub fn copy_frame(&self, src: FrameNo, dst: FrameNo) -> KResult<()> {
        self.phys.copy(src.offset(), dst.offset(), PAGE_SIZE).map_err(|_| Errno::EFAULT)
    }
}

fn index(f: FrameNo) -> KResult<usize> {
    usize::try_from(f.0).map_err(|_| Errno::EINVAL)
}

impl Inner {
    /// True if frames `start..start+n` are all free.
    fn is_free(&self, start: u64, n: u64) -> bool {
        let Some(end) = start.checked_add(n) else { return false };
        match self.free.range(..=start).next_back() {
            Some((&s, &len)) => s.checked_add(len).is_some_and(|e| e >= end),
            None => false,
        }
    }

    /// The start of the first free extent with at least `n` frames.
    fn first_fit(&self, n: u64) -> Option<u64> {
        self.free.iter().find(|(_, &len)| len >= n).map(|(&s, _)| s)
    }

    /// The first slot-aligned start with `n` free frames after it.
    fn fit_slot_start(&self, n: u64) -> Option<u64> {
        self.free.iter().find_map(|(&s, &len)| {
            let a = s.checked_next_multiple_of(SLOT)?;
            (a.checked_add(n)? <= s + len).then_some(a)
        })
    }

    /// The start of a run of `n` free frames ending on a slot boundary, as high as possible (runs
    /// that grow downwards come from the top of memory, runs that grow upwards from the bottom).
    fn fit_slot_end(&self, n: u64) -> Option<u64> {
        self.free.iter().rev().find_map(|(&s, &len)| {
            let e = (s + len) / SLOT * SLOT;
            (e >= s.checked_add(n)?).then(|| e - n)
        })
    }

    /// Removes `start..start+n` (known free) from the free list and sets refcounts to 1.
    fn take(&mut self, start: u64, n: u64) {
        let Some((&s, &len)) = self.free.range(..=start).next_back() else { return };
        self.free.remove(&s);
        if start > s {
            self.free.insert(s, start - s);
        }
        let (end, ext_end) = (start + n, s + len);
        if ext_end > end {
            self.free.insert(end, ext_end - end);
        }
        let range = usize::try_from(start).unwrap_or(usize::MAX)..usize::try_from(end).unwrap_or(usize::MAX);
        if let Some(refs) = self.refs.get_mut(range) {
            refs.fill(1);
        }
        self.free_frames -= n;
    }

    /// Increments the refcount of an allocated frame.
    fn raise(&mut self, f: FrameNo) -> KResult<()> {
        let r = self.refs.get_mut(index(f)?).ok_or(Errno::EINVAL)?;
        if *r == 0 {
            log::warn!("mm: incref of free {f:?}");
            return Err(Errno::EINVAL);
        }
        *r = r.checked_add(1).ok_or(Errno::ENOMEM)?;
        Ok(())
    }

    /// Decrements `f`'s refcount; true if it reached zero.
    fn drop_ref(&mut self, f: FrameNo) -> bool {
        match index(f).ok().and_then(|i| self.refs.get_mut(i)) {
            Some(r) if *r > 0 => {
                *r -= 1;
                *r == 0
            }
            _ => {
                log::warn!("mm: decref of free or invalid {f:?}");
                false
            }
        }
    }

    /// Adds `start..start+n` to the free list, merging with its neighbours.
    fn insert_free(&mut self, mut start: u64, n: u64) {
        self.free_frames += n;
        let mut len = n;
        if let Some((&ps, &pl)) = self.free.range(..start).next_back() {
            if ps + pl == start {
                self.free.remove(&ps);
                start = ps;
                len += pl;
            }
        }
        if let Some(nl) = self.free.remove(&(start + len)) {
            len += nl;
        }
        self.free.insert(start, len);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn fa(frames: u64) -> FrameAllocator {
        FrameAllocator::new(Arc::new(PhysMem::new(frames * PAGE_SIZE).unwrap()))
    }

    #[test]
    fn runs_are_contiguous_and_counted() {
        let a = fa(64);
        assert_eq!(a.total_frames(), 64);
        let r = a.alloc_run(10).unwrap();
        assert_eq!(a.free_frames(), 54);
        for i in 0..10 {
            assert_eq!(a.refcount(FrameNo(r.0 + i)), 1);
        }
        assert_eq!(a.refcount(FrameNo(r.0 + 10)), 0);
    }

    #[test]
    fn enomem_when_exhausted_or_fragmented() {
        let a = fa(8);
        let x = a.alloc_run(4).unwrap();
        let _y = a.alloc_run(4).unwrap();
        assert_eq!(a.alloc(), Err(Errno::ENOMEM));
        a.decref(FrameNo(x.0 + 1));
        a.decref(FrameNo(x.0 + 3));
        assert_eq!(a.free_frames(), 2);
        assert_eq!(a.alloc_run(2), Err(Errno::ENOMEM));
        assert!(a.alloc().is_ok());
    }

    #[test]
    fn freed_runs_merge() {
        let a = fa(32);
        let x = a.alloc_run(32).unwrap();
        a.decref_many((0..10).map(|i| FrameNo(x.0 + i)));
        a.decref_many((20..32).map(|i| FrameNo(x.0 + i)));
        a.decref_many((10..20).map(|i| FrameNo(x.0 + i)));
        assert_eq!(a.free_frames(), 32);
        assert_eq!(a.lock().free.len(), 1);
        assert_eq!(a.alloc_run(32).unwrap(), FrameNo(0));
    }

    #[test]
    fn refcounts_keep_frames_alive() {
        let a = fa(4);
        let f = a.alloc().unwrap();
        a.incref(f).unwrap();
        assert_eq!(a.refcount(f), 2);
        a.decref(f);
        assert_eq!(a.refcount(f), 1);
        assert_eq!(a.free_frames(), 3);
        a.decref(f);
        assert_eq!(a.free_frames(), 4);
        assert_eq!(a.incref(f), Err(Errno::EINVAL));
        a.decref(f); // double free: logged, ignored
        assert_eq!(a.free_frames(), 4);
        assert_eq!(a.incref(FrameNo(1 << 40)), Err(Errno::EINVAL));
    }

    #[test]
    fn frames_come_back_zeroed() {
        for (n, punch) in [(1, None), (64, None), (64, Some(64))] {
            let a = fa(64);
            a.set_punch_threshold(punch);
            let f = a.alloc_run(n).unwrap();
            a.phys().write(f.offset(), b"dirty").unwrap();
            a.phys().write(FrameNo(f.0 + n - 1).offset() + 100, b"dirty").unwrap();
            a.decref_many((0..n).map(|i| FrameNo(f.0 + i)));
            let g = a.alloc_run(n).unwrap();
            assert_eq!(g, f);
            let mut b = [1u8; 5];
            a.phys().read(g.offset(), &mut b).unwrap();
            assert_eq!(b, [0; 5]);
            a.phys().read(FrameNo(g.0 + n - 1).offset() + 100, &mut b).unwrap();
            assert_eq!(b, [0; 5]);
        }
    }

    #[test]
    fn alloc_near_follows_hint() {
        let a = fa(4096);
        let x = a.alloc_near(None, 16).unwrap();
        let _other = a.alloc_run(1).unwrap(); // lands after x: x cannot grow in place
        let y = a.alloc_near(Some(FrameNo(x.0 + 15)), 16).unwrap();
        assert_ne!(y.0, x.0 + 16);
        let z = a.alloc_near(Some(FrameNo(y.0 + 15)), 16).unwrap();
        assert_eq!(z.0, y.0 + 16);
        // Growing downwards: end right before `before`.
        let w = a.alloc_between(None, Some(x), 1);
        assert!(w.is_ok());
        assert_eq!(a.alloc_near(None, 0), Err(Errno::EINVAL));
    }
}

#[cfg(test)]
mod measure {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::time::Instant;

    /// `cargo test -p mm --release -- --ignored zeroing --nocapture`: compares freeing 64 MiB by
    /// memset and by hole punching, each followed by touching every page again (what the guest
    /// does next).
    #[test]
    #[ignore]
    fn zeroing_memset_vs_punch() {
        let size = 64u64 << 20;
        let pm = PhysMem::new(size).unwrap();
        for round in 0..2 {
            for punch in [false, true] {
                let (mut touch, mut free) = (0u128, 0u128);
                for _ in 0..8 {
                    let t = Instant::now();
                    for p in (0..size).step_by(4096) {
                        pm.write(p, &[1]).unwrap();
                    }
                    touch += t.elapsed().as_nanos();
                    let t = Instant::now();
                    if punch { pm.punch_hole(0, size).unwrap() } else { pm.zero(0, size).unwrap() }
                    free += t.elapsed().as_nanos();
                }
                let per = |x: u128| x as f64 / (8.0 * (size / 4096) as f64);
                let name = if punch { "punch" } else { "memset" };
                println!("round {round} {name}: touch {:.0} ns/page, free {:.0} ns/page", per(touch), per(free));
            }
        }
    }
}
