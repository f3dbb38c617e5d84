//! The page cache of a disk-backed file (Linux's `address_space` of an ext2/ext4 inode): the
//! file's data lives in frames of guest RAM, read from and written to the disk a page at a
//! time through the filesystem's block mapping ([`FileBlocks`], Linux's `get_block`), never
//! through the block cache (which keeps metadata only).
//!
//! `read(2)`, `write(2)`, `MAP_SHARED`/`MAP_PRIVATE` mappings and `execve` all use the same
//! frames ([`PageStore::page`] hands them to mappings), so a store through a shared mapping is
//! seen by `read` at once. `write(2)` allocates the blocks it covers (so `ENOSPC` is reported
//! by `write`, as ext2's `write_begin` does), copies into the page and marks it dirty. Dirty
//! pages reach the disk in [`PageStore::writeback`]: `fsync`/`fdatasync`, `msync`, the last
//! unmap, the periodic write-back, `sync`, unmount, and when the inode object goes. Pages a
//! writable shared mapping may have stored into are compared with the disk then and written
//! if they differ. Clean pages nobody maps are given back under memory pressure
//! ([`PageStore::evict_clean`]); dirty ones never are.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mm::{FrameAllocator, FrameNo, VmReader, VmWriter};
use uapi::mman::PAGE_SIZE;
use uapi::{Errno, KResult};

use crate::klock::KMutex;

/// Pages read ahead of a sequential read (128 KiB, Linux's default `read_ahead_kb`).
const READAHEAD_PAGES: u64 = 32;
/// The most pages one step of a read fills and copies (a read larger than guest RAM goes
/// chunk by chunk, the earlier chunks' pages reclaimable).
const READ_CHUNK_PAGES: u64 = 64;
/// Pages read from the faulting one on for a mapping (the fault-around window).
const FAULT_AHEAD_PAGES: u64 = 16;
/// A file with more than total frames / this many dirty pages is written back by its writer
/// (Linux's `dirty_ratio`, about 12%).
const DIRTY_DIVISOR: u64 = 8;
/// The largest single device write of write-back (coalesced contiguous blocks).
const MAX_WRITE_RUN: usize = 1 << 20;

/// A filesystem's block mapping of one regular file: all the page cache needs to move the
/// file's pages between guest RAM and the disk (ext2/ext4 implement it per inode).
pub trait FileBlocks: Send + Sync {
    /// The block size in bytes (a divisor of the page size).
    fn block_size(&self) -> u64;
    /// The file size now.
    fn size(&self) -> KResult<u64>;
    /// Appends to `out` the disk blocks of the `count` logical blocks from `first` (`None` for
    /// a hole). With `alloc` holes get blocks; a full disk after some progress ends `out`
    /// short, with none it is `ENOSPC`.
    fn map(&self, first: u64, count: usize, alloc: bool, out: &mut Vec<Option<u64>>) -> KResult<()>;
    /// Reads whole disk blocks from `blk` into `buf`.
    fn read_blocks(&self, blk: u64, buf: &mut [u8]) -> KResult<()>;
    /// Writes whole disk blocks from `blk`.
    fn write_blocks(&self, blk: u64, data: &[u8]) -> KResult<()>;
    /// The checks of `write(2)` of `len` bytes at `off` (`EPERM`, `EFBIG`, `EROFS`): how many
    /// may be written.
    fn begin_write(&self, off: u64, len: usize) -> KResult<usize>;
    /// After `write(2)` up to `end`: the size covers it, the times are updated.
    fn end_write(&self, end: u64) -> KResult<()>;
    /// Frees the blocks wholly past the end of file (a write that allocated them ran short).
    fn trim_past_end(&self) -> KResult<()>;
}

#[derive(Default)]
struct Pages {
    frames: BTreeMap<u64, FrameNo>,
    dirty: BTreeSet<u64>,
}

/// The cached pages of one disk-backed file.
pub struct PageStore {
    blocks: Arc<dyn FileBlocks>,
    frames: Arc<FrameAllocator>,
    pages: KMutex<Pages>,
    /// A writable `MAP_SHARED` mapping may store into the frames (they are compared with the
    /// disk at write-back).
    shared_writable: AtomicBool,
    /// Set once the namespace's page cache lists this store (for sync and reclaim).
    registered: AtomicBool,
    /// A buffer reused between guest RAM and the disk (no fresh zeroed memory per run).
    scratch: KMutex<Vec<u8>>,
}

impl PageStore {
    /// An empty cache of the file `blocks` maps, in frames of `frames`.
    pub fn new(blocks: Arc<dyn FileBlocks>, frames: Arc<FrameAllocator>) -> PageStore {
        PageStore {
            blocks,
            frames,
            pages: KMutex::new(Pages::default()),
            shared_writable: AtomicBool::new(false),
            registered: AtomicBool::new(false),
            scratch: KMutex::new(Vec::new()),
        }
    }

    /// Runs `f` on `len` bytes of the reused buffer (their contents are whatever was there).
    fn with_scratch<R>(&self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut buf = std::mem::take(&mut *self.scratch.lock());
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let r = f(&mut buf[..len]);
        *self.scratch.lock() = buf;
        r
    }

    /// True the first time it is called (the page cache registers the store once).
    pub(crate) fn first_registration(&self) -> bool {
        !self.registered.swap(true, Ordering::Relaxed)
    }

    /// The file size now.
    pub fn size(&self) -> KResult<u64> {
        self.blocks.size()
    }

    /// Number of pages cached (`Cached:` in `/proc/meminfo`).
    pub fn cached_pages(&self) -> u64 {
        self.pages.try_lock().map_or(0, |p| p.frames.len() as u64)
    }

    /// Whether page `index` is in memory (`mincore`).
    pub fn is_cached(&self, index: u64) -> bool {
        self.pages.try_lock().is_some_and(|p| p.frames.contains_key(&index))
    }

    /// The frame of page `index` for a mapping (read from the disk on first use, zero past
    /// end of file), with a reference for the caller.
    pub fn page(&self, index: u64) -> KResult<FrameNo> {
        let size = self.blocks.size()?;
        let mut pages = self.pages.lock();
        let last = size.div_ceil(PAGE_SIZE).max(index + 1);
        self.fill(&mut pages, index, (index + 1).max(index.saturating_add(FAULT_AHEAD_PAGES).min(last)), size)?;
        let f = *pages.frames.get(&index).ok_or(Errno::EIO)?;
        self.frames.incref(f)?;
        Ok(f)
    }

    /// The frame of page `index` only if cached (fault-around), with a reference.
    pub fn cached_page(&self, index: u64) -> Option<FrameNo> {
        let pages = self.pages.try_lock()?;
        let f = *pages.frames.get(&index)?;
        self.frames.incref(f).ok()?;
        Some(f)
    }

    /// Notes that a writable `MAP_SHARED` mapping maps these pages.
    pub fn mark_shared_writable(&self) {
        self.shared_writable.store(true, Ordering::Relaxed);
    }

    /// The last mapping of the file is gone: writes back what mappings stored, after which
    /// the pages are ordinary clean cache again (reclaimable, not compared with the disk).
    pub fn unmapped(&self) -> KResult<()> {
        let mut pages = self.pages.lock();
        self.writeback_locked(&mut pages)?;
        self.shared_writable.store(false, Ordering::Relaxed);
        Ok(())
    }

    /// Makes pages `[lo, hi)` present: the missing ones are read from the disk in runs (one
    /// frame run and one mapping call per run of missing pages, smaller runs when memory is
    /// short).
    fn fill(&self, pages: &mut Pages, lo: u64, hi: u64, size: u64) -> KResult<()> {
        let mut index = lo;
        while index < hi {
            if pages.frames.contains_key(&index) {
                index += 1;
                continue;
            }
            let mut end = index + 1;
            while end < hi && !pages.frames.contains_key(&end) {
                end += 1;
            }
            index += self.fill_run(pages, index, end, size, lo..hi)?;
        }
        Ok(())
    }

    /// Allocates `n` contiguous frames after `hint` if possible; when memory is out, this
    /// store's own clean pages are given back first (reclaim cannot take them while the store
    /// is locked by the caller).
    /// Pages in `keep` (the ones the caller is filling) stay.
    fn alloc_frames(&self, pages: &mut Pages, hint: Option<FrameNo>, n: u64, keep: Range<u64>) -> KResult<FrameNo> {
        match self.frames.alloc_near(hint, n) {
            Err(Errno::ENOMEM) if self.frames.free_frames() < n && self.evict_locked(pages, n.max(256), keep) > 0 => {
                self.frames.alloc_near(hint, n)
            }
            r => r,
        }
    }

    /// Reads missing pages from `lo` (up to `hi`) into new frames (holes and past end of file
    /// zero); returns how many, at least one (fewer than asked when memory is short).
    fn fill_run(&self, pages: &mut Pages, lo: u64, hi: u64, size: u64, keep: Range<u64>) -> KResult<u64> {
        let mut n = hi - lo;
        let hint = lo.checked_sub(1).and_then(|i| pages.frames.get(&i).copied());
        let first = loop {
            match self.alloc_frames(pages, hint, n, keep.clone()) {
                Ok(f) => break f,
                Err(_) if n > 1 => n /= 2,
                Err(e) => return Err(e),
            }
        };
        if let Err(e) = self.read_pages(first, lo, n, size) {
            self.frames.decref_many((0..n).map(|k| FrameNo(first.0 + k)));
            return Err(e);
        }
        for k in 0..n {
            pages.frames.insert(lo + k, FrameNo(first.0 + k));
        }
        Ok(n)
    }

    /// Reads `n` pages from page `lo` into the contiguous frames from `first` (zeroed frames:
    /// holes and the part past `size` stay zero).
    fn read_pages(&self, first: FrameNo, lo: u64, n: u64, size: u64) -> KResult<()> {
        let bs = self.blocks.block_size();
        let start = lo * PAGE_SIZE;
        let end = ((lo + n) * PAGE_SIZE).min(size);
        if end <= start {
            return Ok(());
        }
        let first_blk = start / bs;
        let count = usize::try_from(end.div_ceil(bs) - first_blk).map_err(|_| Errno::EFBIG)?;
        let mut map = Vec::with_capacity(count);
        self.blocks.map(first_blk, count, false, &mut map)?;
        let phys = self.frames.phys();
        for (k, run, len) in runs(&map) {
            self.with_scratch(len * bs as usize, |buf| {
                self.blocks.read_blocks(run, buf)?;
                let at = first.offset() + k as u64 * bs;
                let keep = (end - (start + k as u64 * bs)).min(buf.len() as u64) as usize;
                phys.write(at, &buf[..keep]).map_err(|_| Errno::EIO)
            })?;
        }
        Ok(())
    }

    /// `read(2)` of `w.avail()` bytes at `off` (short at end of file): missing pages are read
    /// with read-ahead, then copied from their frames in ascending order.
    pub fn read(&self, off: u64, w: &mut VmWriter<'_>) -> KResult<usize> {
        let size = self.blocks.size()?;
        let len = size.saturating_sub(off).min(w.avail() as u64);
        if len == 0 {
            return Ok(0);
        }
        let end = off + len;
        let mut pages = self.pages.lock();
        let eof_page = size.div_ceil(PAGE_SIZE);
        let phys = self.frames.phys();
        let mut pos = off;
        while pos < end {
            // A chunk of pages at a time, so a read larger than guest RAM still works.
            let (lo, hi) = (pos / PAGE_SIZE, end.div_ceil(PAGE_SIZE).min(pos / PAGE_SIZE + READ_CHUNK_PAGES));
            if (lo..hi).any(|i| !pages.frames.contains_key(&i)) {
                let ahead = hi.saturating_add(READAHEAD_PAGES).min(eof_page).max(hi);
                if self.fill(&mut pages, lo, ahead, size).is_err() {
                    self.fill(&mut pages, lo, hi, size)?; // without the read-ahead
                }
            }
            let chunk_end = end.min(hi * PAGE_SIZE);
            while pos < chunk_end {
                let index = pos / PAGE_SIZE;
                let f = *pages.frames.get(&index).ok_or(Errno::EIO)?;
                let want = chunk_end.min((index + 1) * PAGE_SIZE) - pos;
                let mut r = phys.reader(f.offset() + pos % PAGE_SIZE, want).map_err(|_| Errno::EIO)?;
                let n = r.read(w) as u64;
                pos += n;
                if n < want {
                    return Ok(to_count(pos - off));
                }
            }
        }
        Ok(to_count(pos - off))
    }

    /// `write(2)` of all of `r` at `off`: blocks are allocated for the range first (short at a
    /// full disk), then each page gets the bytes in its frame (read from the disk first when
    /// only part of it is written) and is marked dirty; size and times follow.
    pub fn write(&self, off: u64, r: &mut VmReader<'_>) -> KResult<usize> {
        let len = self.blocks.begin_write(off, r.remain())?;
        if len == 0 {
            return Ok(0);
        }
        let len = self.allocate(off, len as u64)?;
        let end = off + len;
        let size = self.blocks.size()?;
        let mut pages = self.pages.lock();
        let phys = self.frames.phys();
        let mut pos = off;
        while pos < end {
            let index = pos / PAGE_SIZE;
            let page_start = index * PAGE_SIZE;
            let to = end.min(page_start + PAGE_SIZE);
            if !pages.frames.contains_key(&index) {
                let whole = pos == page_start && (to == page_start + PAGE_SIZE || to >= size);
                if whole || page_start >= size {
                    let hint = index.checked_sub(1).and_then(|i| pages.frames.get(&i).copied());
                    let f = self.alloc_frames(&mut pages, hint, 1, index..index + 1)?;
                    pages.frames.insert(index, f);
                } else {
                    self.fill(&mut pages, index, index + 1, size)?;
                }
            }
            let f = *pages.frames.get(&index).ok_or(Errno::EIO)?;
            let want = to - pos;
            let mut w = phys.writer(f.offset() + (pos - page_start), want).map_err(|_| Errno::EIO)?;
            let n = w.write(r) as u64;
            pages.dirty.insert(index);
            pos += n;
            if n < want {
                break;
            }
            if pos < end && self.too_dirty(&pages) {
                // A write bigger than the dirty limit writes back as it goes (the size must
                // cover what is written back).
                self.blocks.end_write(pos)?;
                self.writeback_locked(&mut pages)?;
            }
        }
        let too_dirty = self.too_dirty(&pages);
        drop(pages);
        if pos > off {
            self.blocks.end_write(pos)?;
        }
        if pos < end {
            // The source ran short (a fault): no block may stay allocated past the end.
            self.blocks.trim_past_end()?;
        }
        if too_dirty {
            // Linux's balance_dirty_pages: a writer that dirtied too much writes back, so the
            // pages become clean and reclaimable.
            if let Err(e) = self.writeback() {
                log::warn!("page cache: write-back under dirty pressure failed: {e}");
            }
        }
        Ok(to_count(pos - off))
    }

    /// More dirty pages than a writer may leave (Linux's `dirty_ratio`).
    fn too_dirty(&self, pages: &Pages) -> bool {
        pages.dirty.len() as u64 > self.frames.total_frames() / DIRTY_DIVISOR
    }

    /// Gives blocks to `[off, off+len)`; returns how many bytes got them (short on a full
    /// disk after some progress, `ENOSPC` with none).
    fn allocate(&self, off: u64, len: u64) -> KResult<u64> {
        let bs = self.blocks.block_size();
        let first = off / bs;
        let count = usize::try_from((off + len).div_ceil(bs) - first).map_err(|_| Errno::EFBIG)?;
        let mut out = Vec::with_capacity(count);
        self.blocks.map(first, count, true, &mut out)?;
        if out.len() == count {
            return Ok(len);
        }
        let covered = (first + out.len() as u64) * bs;
        Ok(covered.saturating_sub(off).min(len))
    }

    /// Writes the dirty pages (and, after a writable shared mapping, every cached page that
    /// differs from the disk) back, up to the end of file; blocks are allocated for holes a
    /// mapping stored into. Pages whose write failed stay dirty; the first error is returned.
    pub fn writeback(&self) -> KResult<()> {
        let mut pages = self.pages.lock();
        self.writeback_locked(&mut pages)
    }

    fn writeback_locked(&self, pages: &mut Pages) -> KResult<()> {
        let shared = self.shared_writable.load(Ordering::Relaxed);
        if pages.dirty.is_empty() && !shared {
            return Ok(());
        }
        let size = self.blocks.size()?;
        let eof_page = size.div_ceil(PAGE_SIZE);
        let mut todo: Vec<u64> = pages.dirty.range(..eof_page).copied().collect();
        if shared {
            let candidates: Vec<u64> = pages.frames.range(..eof_page).map(|(&i, _)| i).filter(|i| !pages.dirty.contains(i)).collect();
            for index in candidates {
                if self.differs_from_disk(pages, index, size)? {
                    todo.push(index);
                }
            }
            todo.sort_unstable();
        }
        let result = self.write_pages(pages, &todo, size);
        let past_eof: Vec<u64> = pages.dirty.range(eof_page..).copied().collect();
        for i in past_eof {
            pages.dirty.remove(&i);
        }
        if result.is_ok() {
            for i in &todo {
                pages.dirty.remove(i);
            }
        }
        result
    }

    /// Writes dirty data before a journal commit (ordered mode): the same as
    /// [`PageStore::writeback`], named for what jbd2 needs.
    pub fn write_dirty_data(&self) -> KResult<()> {
        self.writeback()
    }

    /// True if page `index`'s frame differs from what the disk holds (a mapping stored into it).
    fn differs_from_disk(&self, pages: &Pages, index: u64, size: u64) -> KResult<bool> {
        let Some(&f) = pages.frames.get(&index) else { return Ok(false) };
        let len = to_count(size.saturating_sub(index * PAGE_SIZE).min(PAGE_SIZE));
        let mut cached = vec![0u8; len];
        self.frames.phys().read(f.offset(), &mut cached).map_err(|_| Errno::EIO)?;
        let bs = self.blocks.block_size();
        let first = index * PAGE_SIZE / bs;
        let count = len.div_ceil(bs as usize);
        let mut map = Vec::with_capacity(count);
        self.blocks.map(first, count, false, &mut map)?;
        let mut on_disk = vec![0u8; count * bs as usize];
        for (k, run, n) in runs(&map) {
            let at = k * bs as usize;
            self.blocks.read_blocks(run, &mut on_disk[at..at + n * bs as usize])?;
        }
        Ok(cached[..] != on_disk[..len])
    }

    /// Writes the listed (sorted) pages, inside `size`, coalescing blocks contiguous on disk.
    fn write_pages(&self, pages: &Pages, todo: &[u64], size: u64) -> KResult<()> {
        let mut i = 0;
        let mut result = Ok(());
        while i < todo.len() {
            let mut j = i + 1;
            while j < todo.len() && todo[j] == todo[j - 1] + 1 && ((j - i) * PAGE_SIZE as usize) < MAX_WRITE_RUN {
                j += 1;
            }
            if let Err(e) = self.write_page_run(pages, todo[i], todo[j - 1] + 1, size) {
                log::warn!("page cache: write-back of pages {}..{} failed: {e}", todo[i], todo[j - 1] + 1);
                result = result.and(Err(e));
            }
            i = j;
        }
        result
    }

    /// Writes pages `[lo, hi)` (all cached) to their blocks, allocating holes.
    fn write_page_run(&self, pages: &Pages, lo: u64, hi: u64, size: u64) -> KResult<()> {
        let bs = self.blocks.block_size();
        let start = lo * PAGE_SIZE;
        let end = (hi * PAGE_SIZE).min(size);
        let first = start / bs;
        let count = usize::try_from(end.div_ceil(bs) - first).map_err(|_| Errno::EFBIG)?;
        let mut map = Vec::with_capacity(count);
        self.blocks.map(first, count, true, &mut map)?;
        if map.len() < count {
            return Err(Errno::ENOSPC);
        }
        let phys = self.frames.phys();
        self.with_scratch(count * bs as usize, |data| {
            for index in lo..hi {
                let f = *pages.frames.get(&index).ok_or(Errno::EIO)?;
                let at = to_count((index - lo) * PAGE_SIZE).min(data.len());
                let n = (data.len() - at).min(PAGE_SIZE as usize);
                phys.read(f.offset(), &mut data[at..at + n]).map_err(|_| Errno::EIO)?;
            }
            for (k, run, n) in runs(&map) {
                let at = k * bs as usize;
                self.blocks.write_blocks(run, &data[at..at + n * bs as usize])?;
            }
            Ok(())
        })
    }

    /// The file was truncated (or extended) from `old` to `new` bytes: pages wholly past the
    /// end go (dirty or not), and the tail of the page holding the end is zeroed, so the
    /// frames never show bytes past the end of file.
    pub fn truncate(&self, old: u64, new: u64) {
        let mut pages = self.pages.lock();
        let keep = new.div_ceil(PAGE_SIZE);
        let gone = pages.frames.split_off(&keep);
        let _ = pages.dirty.split_off(&keep);
        self.frames.decref_many(gone.into_values());
        let from = old.min(new);
        if !from.is_multiple_of(PAGE_SIZE) {
            if let Some(f) = pages.frames.get(&(from / PAGE_SIZE)) {
                let tail = from % PAGE_SIZE;
                let _ = self.frames.phys().zero(f.offset() + tail, PAGE_SIZE - tail);
            }
        }
    }

    /// A hole was punched in `off..end` (`fallocate(FALLOC_FL_PUNCH_HOLE)`): pages wholly
    /// inside go without being written back, the punched bytes of the pages at its ends are
    /// zeroed.
    pub fn punch(&self, off: u64, end: u64) {
        let mut pages = self.pages.lock();
        let (first_full, end_full) = (off.div_ceil(PAGE_SIZE), end / PAGE_SIZE);
        if first_full < end_full {
            let gone: Vec<u64> = pages.frames.range(first_full..end_full).map(|(&k, _)| k).collect();
            for k in gone {
                pages.dirty.remove(&k);
                if let Some(f) = pages.frames.remove(&k) {
                    self.frames.decref(f);
                }
            }
        }
        let zero = |page: u64, from: u64, to: u64| {
            if let Some(f) = pages.frames.get(&page) {
                let _ = self.frames.phys().zero(f.offset() + from, to - from);
            }
        };
        if off / PAGE_SIZE == end / PAGE_SIZE {
            zero(off / PAGE_SIZE, off % PAGE_SIZE, end % PAGE_SIZE);
            return;
        }
        if !off.is_multiple_of(PAGE_SIZE) {
            zero(off / PAGE_SIZE, off % PAGE_SIZE, PAGE_SIZE);
        }
        if !end.is_multiple_of(PAGE_SIZE) {
            zero(end / PAGE_SIZE, 0, end % PAGE_SIZE);
        }
    }

    /// Drops every page without writing it (the file was deleted).
    pub fn discard(&self) {
        let mut pages = self.pages.lock();
        pages.dirty.clear();
        let all = std::mem::take(&mut pages.frames);
        self.frames.decref_many(all.into_values());
    }

    /// Memory pressure: gives back up to `want` clean pages nobody maps (refcount 1, the
    /// cache's own). Skips the store if it is busy (reclaim runs inside allocations). Returns
    /// how many frames were freed.
    pub fn evict_clean(&self, want: u64) -> u64 {
        let Some(mut pages) = self.pages.try_lock() else { return 0 };
        self.evict_locked(&mut pages, want, 0..0)
    }

    /// Gives back up to `want` clean pages that only this cache holds, except those in `keep`.
    fn evict_locked(&self, pages: &mut Pages, want: u64, keep: Range<u64>) -> u64 {
        if self.shared_writable.load(Ordering::Relaxed) {
            return 0; // a mapping may have stored into any of them
        }
        let victims: Vec<u64> = pages
            .frames
            .iter()
            .filter(|(i, f)| !keep.contains(*i) && !pages.dirty.contains(i) && self.frames.refcount(**f) == 1)
            .map(|(&i, _)| i)
            .take(to_count(want))
            .collect();
        let mut freed = Vec::with_capacity(victims.len());
        for i in victims {
            if let Some(f) = pages.frames.remove(&i) {
                freed.push(f);
            }
        }
        let n = freed.len() as u64;
        self.frames.decref_many(freed);
        n
    }
}

impl Drop for PageStore {
    /// The inode object is going: dirty pages are written back before the frames go.
    fn drop(&mut self) {
        if let Err(e) = self.writeback() {
            log::warn!("page cache: write-back at inode release failed: {e}");
        }
        let pages = std::mem::take(&mut self.pages.get_mut().frames);
        self.frames.decref_many(pages.into_values());
    }
}

/// The runs of consecutive disk blocks in a block map: (index of the first, first disk block,
/// length); holes are skipped.
fn runs(map: &[Option<u64>]) -> Vec<(usize, u64, usize)> {
    let mut out: Vec<(usize, u64, usize)> = Vec::new();
    for (k, b) in map.iter().enumerate() {
        let Some(b) = *b else { continue };
        match out.last_mut() {
            Some((start, first, len)) if *start + *len == k && first.checked_add(*len as u64) == Some(b) => *len += 1,
            _ => out.push((k, b, 1)),
        }
    }
    out
}

/// A byte count that fits a read or write (they are bounded by a `usize` buffer).
fn to_count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_coalesce_contiguous_blocks_and_skip_holes() {
        let map = [Some(10), Some(11), None, Some(12), Some(20), Some(21)];
        assert_eq!(runs(&map), vec![(0, 10, 2), (3, 12, 1), (4, 20, 2)]);
    }
}
