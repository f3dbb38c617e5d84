//! Block devices and the block cache.
//!
//! A [`BlockDevice`] is a byte-addressed disk (Linux's `struct block_device` seen through
//! positional I/O); [`FileBlockDevice`] backs it with a host image file and [`MemBlockDevice`]
//! with memory (tests). [`BlockCache`] is a write-back cache of fixed-size blocks in front of a
//! device, like Linux's buffer cache: dirty blocks reach the device on [`BlockCache::flush`]
//! (sync, fsync, unmount) or when evicted.

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
}

impl BlockCache {
    /// A cache of blocks of `block_size` bytes holding at most `capacity` blocks (min 16).
    pub fn new(dev: Arc<dyn BlockDevice>, block_size: usize, capacity: usize) -> BlockCache {
        BlockCache { dev, bs: block_size, cap: capacity.max(16), map: HashMap::default(), tick: 0 }
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
        let mut victims: Vec<u64> = ages.iter().take(self.cap / 4 + 1).map(|x| x.1).collect();
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

    fn load(&mut self, blk: u64, fill: Fill<'_>, dirty: bool) -> KResult<&mut Entry> {
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
        e.dirty |= dirty;
        Ok(e)
    }

    /// The contents of block `blk` (read from the device on a miss).
    pub fn read(&mut self, blk: u64) -> KResult<&[u8]> {
        Ok(&self.load(blk, Fill::Device, false)?.data)
    }

    /// Block `blk` for modification; it is marked dirty.
    pub fn modify(&mut self, blk: u64) -> KResult<&mut [u8]> {
        if self.dev.read_only() {
            return Err(Errno::EROFS);
        }
        Ok(&mut self.load(blk, Fill::Device, true)?.data)
    }

    /// Replaces the whole of block `blk` with `data` (no read from the device).
    pub fn overwrite(&mut self, blk: u64, data: &[u8]) -> KResult<()> {
        if data.len() != self.bs {
            return Err(Errno::EINVAL);
        }
        if self.dev.read_only() {
            return Err(Errno::EROFS);
        }
        self.load(blk, Fill::Bytes(data), true)?;
        Ok(())
    }

    /// Replaces the whole of block `blk` with the next block-size bytes of `src` (no read
    /// from the device); callers have a whole block left in `src`.
    pub fn overwrite_from(&mut self, blk: u64, src: &mut VmReader<'_>) -> KResult<()> {
        if self.dev.read_only() {
            return Err(Errno::EROFS);
        }
        let e = self.load(blk, Fill::Nothing, true)?;
        src.read_slice(&mut e.data);
        Ok(())
    }

    /// Fills block `blk` with zeros (no read from the device).
    pub fn zero(&mut self, blk: u64) -> KResult<()> {
        let z = vec![0u8; self.bs];
        self.overwrite(blk, &z)
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
}
