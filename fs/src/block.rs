//! Block devices and the block cache.
//!
//! A [`BlockDevice`] is a byte-addressed disk (Linux's `struct block_device` seen through
//! positional I/O); [`FileBlockDevice`] backs it with a host image file and [`MemBlockDevice`]
//! with memory (tests). [`BlockCache`] is a write-back cache of fixed-size blocks in front of a
//! device, like Linux's buffer cache: dirty blocks reach the device on [`BlockCache::flush`]
//! (sync, fsync, unmount) or when evicted.
//!
//! Dirty blocks are either metadata or file data (the `*_data` writers). With a journal
//! ([`BlockCache::set_journaled`]) dirty metadata is pinned: it is never evicted or flushed
//! to its home, only handed to the journal ([`BlockCache::dirty_meta`],
//! [`BlockCache::write_back`]), as jbd2 holds a running transaction's buffers.

use rustc_hash::FxHashMap as HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mm::VmReader;
use uapi::{Errno, KResult};

/// A disk addressed in bytes. Reads and writes past [`size`](BlockDevice::size) fail with `EIO`.
pub trait BlockDevice: Send + Sync {
    /// Reads exactly `buf.len()` bytes at byte offset `off`.
    fn read_at(&self, off: u64, buf: &mut [u8]) -> KResult<()>;
    /// Writes all of `data` at byte offset `off` (`EROFS` on a read-only device).
    fn write_at(&self, off: u64, data: &[u8]) -> KResult<()>;
    /// The device size in bytes.
    fn size(&self) -> u64;
    /// Makes written data durable (`fdatasync` of the backing store).
    fn sync(&self) -> KResult<()>;
    /// Whether writes are refused.
    fn read_only(&self) -> bool;
}

fn check_range(off: u64, len: usize, size: u64) -> KResult<()> {
    let end = off.checked_add(len as u64).ok_or(Errno::EIO)?;
    if end > size {
        log::warn!("block device access {off}+{len} beyond device end {size}");
        return Err(Errno::EIO);
    }
    Ok(())
}

/// A host image file used as a disk, with positional I/O (`pread`/`pwrite`) as UML's `ubd` does.
pub struct FileBlockDevice {
    file: File,
    size: u64,
    read_only: bool,
}

impl FileBlockDevice {
    /// Opens `path`; read-only when `read_only` is set or when the file cannot be opened for
    /// writing (a read-only image file), as `ubd` falls back to read-only.
    pub fn open(path: &Path, read_only: bool) -> std::io::Result<FileBlockDevice> {
        let (file, ro) = if read_only {
            (File::open(path)?, true)
        } else {
            match OpenOptions::new().read(true).write(true).open(path) {
                Ok(f) => (f, false),
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    (File::open(path)?, true)
                }
                Err(e) if e.raw_os_error() == Some(30) => (File::open(path)?, true),
                Err(e) => return Err(e),
            }
        };
        let size = file.metadata()?.len();
        Ok(FileBlockDevice { file, size, read_only: ro })
    }

    /// Wraps an already open file (its current length is the device size).
    pub fn from_file(file: File, read_only: bool) -> std::io::Result<FileBlockDevice> {
        let size = file.metadata()?.len();
        Ok(FileBlockDevice { file, size, read_only })
    }
}

fn host_err(e: std::io::Error) -> Errno {
    log::warn!("image I/O error: {e}");
    Errno::EIO
}

impl BlockDevice for FileBlockDevice {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> KResult<()> {
        check_range(off, buf.len(), self.size)?;
        self.file.read_exact_at(buf, off).map_err(host_err)
    }
    fn write_at(&self, off: u64, data: &[u8]) -> KResult<()> {
        if self.read_only {
            return Err(Errno::EROFS);
        }
        check_range(off, data.len(), self.size)?;
        self.file.write_all_at(data, off).map_err(host_err)
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn sync(&self) -> KResult<()> {
        if self.read_only {
            return Ok(());
        }
        self.file.sync_data().map_err(host_err)
    }
    fn read_only(&self) -> bool {
        self.read_only
    }
}

/// A disk in memory, for tests.
pub struct MemBlockDevice {
    data: Mutex<Vec<u8>>,
    read_only: bool,
}

impl MemBlockDevice {
    /// A zero-filled device of `size` bytes.
    pub fn new(size: usize) -> MemBlockDevice {
        MemBlockDevice { data: Mutex::new(vec![0; size]), read_only: false }
    }
    /// A device holding `data`.
    pub fn from_vec(data: Vec<u8>, read_only: bool) -> MemBlockDevice {
        MemBlockDevice { data: Mutex::new(data), read_only }
    }
    /// A copy of the contents.
    pub fn contents(&self) -> Vec<u8> {
        self.data.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl BlockDevice for MemBlockDevice {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> KResult<()> {
        let d = self.data.lock().unwrap_or_else(|e| e.into_inner());
        check_range(off, buf.len(), d.len() as u64)?;
        let o = off as usize;
        buf.copy_from_slice(&d[o..o + buf.len()]);
        Ok(())
    }
    fn write_at(&self, off: u64, data: &[u8]) -> KResult<()> {
        if self.read_only {
            return Err(Errno::EROFS);
        }
        let mut d = self.data.lock().unwrap_or_else(|e| e.into_inner());
        check_range(off, data.len(), d.len() as u64)?;
        let o = off as usize;
        d[o..o + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn size(&self) -> u64 {
        self.data.lock().unwrap_or_else(|e| e.into_inner()).len() as u64
    }
    fn sync(&self) -> KResult<()> {
        Ok(())
    }
    fn read_only(&self) -> bool {
        self.read_only
    }
}

/// Where [`BlockCache::load`] gets the contents of a block.
enum Fill<'a> {
    /// Read from the device on a miss.
    Device,
    /// These bytes (a whole block), hit or miss.
    Bytes(&'a [u8]),
    /// Nothing: the caller overwrites the whole block (zeros on a miss).
    Nothing,
}

/// How [`BlockCache::load`] marks the block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// Left as it is (a read).
    Clean,
    /// Dirty metadata (journaled when there is a journal).
    Meta,
    /// Dirty file data (written before the journal commit, never journaled).
    Data,
}

struct Entry {
    data: Box<[u8]>,
    dirty: bool,
    used: u64,
}

/// A write-back cache of `block_size`-byte blocks over a [`BlockDevice`], bounded to
/// `capacity` blocks. When full, the least recently used quarter is evicted (dirty ones
/// written back first, in block order), as Linux's buffer cache writes back under pressure.
pub struct BlockCache {
    dev: Arc<dyn BlockDevice>,
    bs: usize,
    cap: usize,
    map: HashMap<u64, Entry>,
    tick: u64,
    /// The dirty blocks holding metadata.
    meta: std::collections::BTreeSet<u64>,
    /// Whether dirty metadata is pinned for a journal.
    journaled: bool,
}

impl BlockCache {
    /// A cache of blocks of `block_size` bytes holding at most `capacity` blocks (min 16).
    pub fn new(dev: Arc<dyn BlockDevice>, block_size: usize, capacity: usize) -> BlockCache {
        BlockCache {
            dev,
            bs: block_size,
            cap: capacity.max(16),
            map: HashMap::default(),
            tick: 0,
            meta: Default::default(),
            journaled: false,
        }
    }

    /// The block size in bytes.
    pub fn block_size(&self) -> usize {
        self.bs
    }

    /// The device under the cache.
    pub fn device(&self) -> &Arc<dyn BlockDevice> {
        &self.dev
    }

    fn byte_off(&self, blk: u64) -> KResult<u64> {
        blk.checked_mul(self.bs as u64).ok_or(Errno::EIO)
    }

    fn make_room(&mut self) -> KResult<()> {
        if self.map.len() < self.cap {
            return Ok(());
        }
        let mut ages: Vec<(u64, u64)> = self.map.iter().map(|(b, e)| (e.used, *b)).collect();
        ages.sort_unstable();
        let pinned = |b: &u64| self.journaled && self.meta.contains(b);
        let mut victims: Vec<u64> =
            ages.iter().map(|x| x.1).filter(|b| !pinned(b)).take(self.cap / 4 + 1).collect();
        victims.sort_unstable();
        let dirty: Vec<u64> = victims.iter().copied().filter(|b| self.map.get(b).is_some_and(|e| e.dirty)).collect();
        self.write_runs(&dirty)?;
        for b in &victims {
            self.map.remove(b);
        }
        Ok(())
    }

    /// Writes the given (sorted) cached blocks, coalescing runs of adjacent blocks into single
    /// writes, and marks them clean.
    fn write_runs(&mut self, blocks: &[u64]) -> KResult<()> {
        let mut i = 0;
        while i < blocks.len() {
            let mut j = i + 1;
            while j < blocks.len() && blocks[j] == blocks[j - 1] + 1 && j - i < 256 {
                j += 1;
            }
            let mut buf = Vec::with_capacity((j - i) * self.bs);
            for b in &blocks[i..j] {
                if let Some(e) = self.map.get(b) {
                    buf.extend_from_slice(&e.data);
                }
            }
            if buf.len() == (j - i) * self.bs {
                let off = self.byte_off(blocks[i])?;
                self.dev.write_at(off, &buf)?;
            }
            for b in &blocks[i..j] {
                if let Some(e) = self.map.get_mut(b) {
                    e.dirty = false;
                }
                self.meta.remove(b);
            }
            i = j;
        }
        Ok(())
    }

    /// Whether block `blk` is cached.
    pub fn contains(&self, blk: u64) -> bool {
        self.map.contains_key(&blk)
    }

    /// Reads `count` consecutive blocks from `blk` in one device read and caches those not
    /// already cached (read-ahead for sequential file reads).
    pub fn prefetch(&mut self, blk: u64, count: usize) -> KResult<()> {
        let count = count.min(self.cap / 4).max(1);
        let mut buf = vec![0u8; count * self.bs];
        let off = self.byte_off(blk)?;
        if self.dev.read_at(off, &mut buf).is_err() {
            return Ok(()); // Fall back to block-by-block reads, which report the error.
        }
        for (k, chunk) in buf.chunks_exact(self.bs).enumerate() {
            let b = blk + k as u64;
            if !self.map.contains_key(&b) {
                self.make_room()?;
                self.tick += 1;
                let tick = self.tick;
                self.map.insert(b, Entry { data: chunk.to_vec().into_boxed_slice(), dirty: false, used: tick });
            }
        }
        Ok(())
    }

    fn load(&mut self, blk: u64, fill: Fill<'_>, mark: Mark) -> KResult<&mut Entry> {
        self.tick += 1;
        let tick = self.tick;
        if !self.map.contains_key(&blk) {
            self.make_room()?;
            let mut data = vec![0u8; self.bs].into_boxed_slice();
            if let Fill::Device = fill {
                let off = self.byte_off(blk)?;
                self.dev.read_at(off, &mut data)?;
            }
            self.map.insert(blk, Entry { data, dirty: false, used: tick });
        }
        let e = self.map.get_mut(&blk).ok_or(Errno::EIO)?;
        if let Fill::Bytes(src) = fill {
            e.data.copy_from_slice(src);
        }
        e.used = tick;
        match mark {
            Mark::Clean => {}
            Mark::Meta => {
                e.dirty = true;
                self.meta.insert(blk);
            }
            Mark::Data => {
                e.dirty = true;
                self.meta.remove(&blk);
            }
        }
        Ok(e)
    }

    /// The contents of block `blk` (read from the device on a miss).
    pub fn read(&mut self, blk: u64) -> KResult<&[u8]> {
        Ok(&self.load(blk, Fill::Device, Mark::Clean)?.data)
    }

    /// Block `blk` for modification; it is marked dirty metadata.
    pub fn modify(&mut self, blk: u64) -> KResult<&mut [u8]> {
        self.modify_as(blk, Mark::Meta)
    }

    /// File-data block `blk` for modification; it is marked dirty data.
    pub fn modify_data(&mut self, blk: u64) -> KResult<&mut [u8]> {
        self.modify_as(blk, Mark::Data)
    }

    fn modify_as(&mut self, blk: u64, mark: Mark) -> KResult<&mut [u8]> {
        if self.dev.read_only() {
            return Err(Errno::EROFS);
        }
        Ok(&mut self.load(blk, Fill::Device, mark)?.data)
    }

    /// Replaces the whole of metadata block `blk` with `data` (no read from the device).
    pub fn overwrite(&mut self, blk: u64, data: &[u8]) -> KResult<()> {
        self.overwrite_as(blk, data, Mark::Meta)
    }

    fn overwrite_as(&mut self, blk: u64, data: &[u8], mark: Mark) -> KResult<()> {
        if data.len() != self.bs {
            return Err(Errno::EINVAL);
        }
        if self.dev.read_only() {
            return Err(Errno::EROFS);
        }
        self.load(blk, Fill::Bytes(data), mark)?;
        Ok(())
    }

    /// Replaces the whole of file-data block `blk` with the next block-size bytes of `src` (no
    /// read from the device); callers have a whole block left in `src`.
    pub fn overwrite_from(&mut self, blk: u64, src: &mut VmReader<'_>) -> KResult<()> {
        if self.dev.read_only() {
            return Err(Errno::EROFS);
        }
        let e = self.load(blk, Fill::Nothing, Mark::Data)?;
        src.read_slice(&mut e.data);
        Ok(())
    }

    /// Fills metadata block `blk` with zeros (no read from the device).
    pub fn zero(&mut self, blk: u64) -> KResult<()> {
        let z = vec![0u8; self.bs];
        self.overwrite(blk, &z)
    }

    /// Fills file-data block `blk` with zeros (no read from the device).
    pub fn zero_data(&mut self, blk: u64) -> KResult<()> {
        let z = vec![0u8; self.bs];
        self.overwrite_as(blk, &z, Mark::Data)
    }

    /// Reads `buf.len()` bytes at byte offset `off`, which may span blocks.
    pub fn read_bytes(&mut self, off: u64, buf: &mut [u8]) -> KResult<()> {
        let bs = self.bs as u64;
        let mut done = 0usize;
        while done < buf.len() {
            let pos = off.checked_add(done as u64).ok_or(Errno::EIO)?;
            let (blk, inb) = (pos / bs, (pos % bs) as usize);
            let n = (self.bs - inb).min(buf.len() - done);
            let b = self.read(blk)?;
            buf[done..done + n].copy_from_slice(&b[inb..inb + n]);
            done += n;
        }
        Ok(())
    }

    /// Writes `data` at byte offset `off`, which may span blocks.
    pub fn write_bytes(&mut self, off: u64, data: &[u8]) -> KResult<()> {
        let bs = self.bs as u64;
        let mut done = 0usize;
        while done < data.len() {
            let pos = off.checked_add(done as u64).ok_or(Errno::EIO)?;
            let (blk, inb) = (pos / bs, (pos % bs) as usize);
            let n = (self.bs - inb).min(data.len() - done);
            if inb == 0 && n == self.bs {
                self.overwrite(blk, &data[done..done + n])?;
            } else {
                let b = self.modify(blk)?;
                b[inb..inb + n].copy_from_slice(&data[done..done + n]);
            }
            done += n;
        }
        Ok(())
    }

    /// Writes every dirty block back (in block order) and syncs the device.
    pub fn flush(&mut self) -> KResult<()> {
        let mut dirty: Vec<u64> =
            self.map.iter().filter(|(_, e)| e.dirty).map(|(b, _)| *b).collect();
        dirty.sort_unstable();
        self.write_runs(&dirty)?;
        self.dev.sync()
    }

    /// Reads the consecutive blocks from `blk` that fill `buf` for the page cache, without
    /// caching them: one device read, with any block this cache holds (possibly newer, e.g.
    /// zeroed by `fallocate` and not yet written) copied over it.
    pub fn read_uncached(&mut self, blk: u64, buf: &mut [u8]) -> KResult<()> {
        let off = self.byte_off(blk)?;
        self.dev.read_at(off, buf)?;
        if self.map.is_empty() {
            return Ok(());
        }
        for (k, chunk) in buf.chunks_mut(self.bs).enumerate() {
            if let Some(e) = self.map.get(&(blk + k as u64)) {
                let n = chunk.len().min(e.data.len());
                chunk[..n].copy_from_slice(&e.data[..n]);
            }
        }
        Ok(())
    }

    /// Writes `data` (whole blocks) to the device at `blk` for the page cache, dropping any
    /// cached copy of those blocks first so a stale one is never written over the data
    /// (Linux's `clean_bdev_aliases`).
    pub fn write_uncached(&mut self, blk: u64, data: &[u8]) -> KResult<()> {
        let count = data.len().div_ceil(self.bs) as u64;
        if !self.map.is_empty() {
            for b in blk..blk.saturating_add(count) {
                self.map.remove(&b);
            }
        }
        let off = self.byte_off(blk)?;
        self.dev.write_at(off, data)
    }

    /// Drops every clean block (dirty ones stay).
    pub fn drop_clean(&mut self) {
        self.map.retain(|_, e| e.dirty);
    }

    /// Pins dirty metadata for a journal (or stops pinning it).
    pub fn set_journaled(&mut self, on: bool) {
        self.journaled = on;
    }

    /// Writes every dirty file-data block back, without syncing the device (ordered mode
    /// writes data before the journal commit).
    pub fn write_dirty_data(&mut self) -> KResult<()> {
        let mut dirty: Vec<u64> = self
            .map
            .iter()
            .filter(|(b, e)| e.dirty && !self.meta.contains(b))
            .map(|(b, _)| *b)
            .collect();
        dirty.sort_unstable();
        self.write_runs(&dirty)
    }

    /// The dirty metadata blocks, in block order.
    pub fn dirty_meta(&self) -> Vec<u64> {
        self.meta.iter().copied().collect()
    }

    /// How many metadata blocks are dirty.
    pub fn dirty_meta_count(&self) -> usize {
        self.meta.len()
    }

    /// The cached contents of `blk`, if cached (the LRU order is not touched).
    pub fn peek(&self, blk: u64) -> Option<&[u8]> {
        self.map.get(&blk).map(|e| &e.data[..])
    }

    /// Writes the given (sorted) cached blocks to their homes and marks them clean, without
    /// syncing (a journal checkpoint).
    pub fn write_back(&mut self, blocks: &[u64]) -> KResult<()> {
        self.write_runs(blocks)
    }

    /// Drops block `blk` if it is dirty metadata (a freed metadata block need not reach the
    /// disk; `jbd2_journal_forget`). Returns whether it was.
    pub fn forget_meta(&mut self, blk: u64) -> bool {
        let was = self.meta.remove(&blk);
        if was {
            self.map.remove(&blk);
        }
        was
    }

    /// Drops every cached block, dirty or not (after the journal rewrote the device under the
    /// cache).
    pub fn clear(&mut self) {
        self.map.clear();
        self.meta.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext2_block_cache_writes_back_on_eviction_and_flush() {
        let dev = Arc::new(MemBlockDevice::new(1024 * 100));
        let mut c = BlockCache::new(dev.clone(), 1024, 16);
        for b in 0..50u64 {
            c.modify(b).unwrap()[0] = b as u8 + 1;
        }
        c.flush().unwrap();
        let d = dev.contents();
        for b in 0..50usize {
            assert_eq!(d[b * 1024], b as u8 + 1);
        }
        c.write_bytes(1020, &[9; 10]).unwrap();
        let mut r = [0u8; 10];
        c.read_bytes(1020, &mut r).unwrap();
        assert_eq!(r, [9; 10]);
        assert!(c.read(100).is_err());
    }

    #[test]
    fn jbd2_block_cache_pins_dirty_metadata_and_writes_data_apart() {
        let dev = Arc::new(MemBlockDevice::new(1024 * 100));
        let mut c = BlockCache::new(dev.clone(), 1024, 16);
        c.set_journaled(true);
        c.modify(1).unwrap()[0] = 1; // metadata
        c.modify_data(2).unwrap()[0] = 2;
        c.zero(3).unwrap();
        c.zero_data(3).unwrap(); // a freed metadata block reused for data
        assert_eq!(c.dirty_meta(), vec![1]);
        for b in 10..60u64 {
            c.read(b).unwrap(); // pressure: block 1 must stay cached and dirty
        }
        assert_eq!(dev.contents()[1024], 0, "pinned metadata reached its home before a commit");
        assert_eq!(c.peek(1).map(|d| d[0]), Some(1));
        c.write_dirty_data().unwrap();
        assert_eq!(dev.contents()[2048], 2);
        assert_eq!(c.dirty_meta_count(), 1);
        c.modify(4).unwrap()[0] = 4;
        assert!(c.forget_meta(4));
        assert!(!c.forget_meta(2));
        c.write_back(&[1]).unwrap();
        assert_eq!((dev.contents()[1024], c.dirty_meta_count()), (1, 0));
    }
}
