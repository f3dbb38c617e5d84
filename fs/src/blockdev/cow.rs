//! Copy-on-write overlays: a read-only base image plus a COW file holding only the blocks the
//! guest changed — User-Mode Linux's `ubd0=CHANGES.cow,BASE.img` (`arch/um/drivers/ubd_kern.c`,
//! `cow_user.c`), with a base check that survives a touched mtime.
//!
//! # The COW file (version 1, all integers little-endian)
//!
//! ```text
//! 0      4 KiB header: magic "UMBRACOW", version u32, block size u32 (4096), base size u64,
//!        base fingerprint u64, bitmap offset u64, data offset u64, base path length u32,
//!        the base's absolute path (informational: a moved base is accepted)
//! 4096   the bitmap: bit i (byte i/8, bit i%8) set = block i lives in the COW file
//! data   block i at data offset + i × 4096 (a sparse file: unwritten blocks take no space)
//! ```
//!
//! The **fingerprint** is FNV-1a 64 over the base's size and 64 sampled 4 KiB blocks (the first
//! three, the last, and 60 spread evenly between). UML compares the base's mtime and refuses a
//! base that was merely touched or copied; umbra accepts any base with the same size and
//! fingerprint, and refuses one whose size or sampled contents differ. The superblock is always
//! sampled, so a base that was mounted read-write on its own since (mount time and count change)
//! is caught; a change confined to unsampled blocks is not (reading the whole base at every boot
//! would cost seconds on a Debian image).
//!
//! **Crash consistency.** Writes go to the block's place in the COW file at once, but its
//! bitmap bit reaches the file only at [`BlockDevice::sync`]: data `fdatasync`, then the changed
//! bitmap pages, then `fdatasync` again. So a bit on disk always names a block whose data is on
//! disk; a crash before a flush loses the unflushed writes as a disk's volatile write cache
//! does (the block reads from the base again) — the barrier the journal above relies on.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use uapi::{Errno, KResult};

use crate::block::BlockDevice;

/// The COW file's magic bytes.
pub const COW_MAGIC: [u8; 8] = *b"UMBRACOW";
/// The format version written and understood.
pub const COW_VERSION: u32 = 1;
/// The copy-on-write granularity in bytes (one bitmap bit each).
pub const COW_BLOCK: u64 = 4096;
const HEADER_LEN: u64 = 4096;
const FIXED_HEADER: usize = 52;
const SAMPLES: u64 = 64;

/// The COW file's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CowHeader {
    /// The base image's size in bytes (the device size).
    pub base_size: u64,
    /// [`fingerprint`] of the base when the COW file was made.
    pub fingerprint: u64,
    /// The base image's absolute path when the COW file was made.
    pub base_path: PathBuf,
    /// Where the bitmap starts.
    pub bitmap_off: u64,
    /// Where block 0's data starts.
    pub data_off: u64,
}

impl CowHeader {
    fn new(base_path: PathBuf, base_size: u64, fingerprint: u64) -> CowHeader {
        let bitmap_len = bitmap_len(base_size).div_ceil(COW_BLOCK) * COW_BLOCK;
        CowHeader { base_size, fingerprint, base_path, bitmap_off: HEADER_LEN, data_off: HEADER_LEN + bitmap_len }
    }

    /// The number of COW blocks covering the base.
    pub fn blocks(&self) -> u64 {
        self.base_size.div_ceil(COW_BLOCK)
    }

    fn encode(&self) -> Result<Vec<u8>, String> {
        let path = self.base_path.as_os_str().as_encoded_bytes();
        if path.len() > HEADER_LEN as usize - FIXED_HEADER {
            return Err(format!("{}: base path too long for the COW header", self.base_path.display()));
        }
        let mut h = Vec::with_capacity(HEADER_LEN as usize);
        h.extend_from_slice(&COW_MAGIC);
        h.extend_from_slice(&COW_VERSION.to_le_bytes());
        h.extend_from_slice(&(COW_BLOCK as u32).to_le_bytes());
        h.extend_from_slice(&self.base_size.to_le_bytes());
        h.extend_from_slice(&self.fingerprint.to_le_bytes());
        h.extend_from_slice(&self.bitmap_off.to_le_bytes());
        h.extend_from_slice(&self.data_off.to_le_bytes());
        h.extend_from_slice(&(path.len() as u32).to_le_bytes());
        h.extend_from_slice(path);
        h.resize(HEADER_LEN as usize, 0);
        Ok(h)
    }

    fn decode(h: &[u8]) -> Result<CowHeader, String> {
        let u32_at = |o: usize| h.get(o..o + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes).unwrap_or(0);
        let u64_at = |o: usize| h.get(o..o + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).unwrap_or(0);
        if h.get(..8) != Some(&COW_MAGIC[..]) {
            return Err("not an umbra COW file (bad magic)".into());
        }
        if u32_at(8) != COW_VERSION || u32_at(12) as u64 != COW_BLOCK {
            return Err(format!("unsupported COW file version {} (block size {})", u32_at(8), u32_at(12)));
        }
        let len = u32_at(48) as usize;
        let path = h.get(FIXED_HEADER..FIXED_HEADER + len).ok_or("corrupt COW header (base path)")?;
        let hdr = CowHeader {
            base_size: u64_at(16),
            fingerprint: u64_at(24),
            base_path: PathBuf::from(String::from_utf8_lossy(path).into_owned()),
            bitmap_off: u64_at(32),
            data_off: u64_at(40),
        };
        let expect = CowHeader::new(hdr.base_path.clone(), hdr.base_size, hdr.fingerprint);
        if hdr.bitmap_off != expect.bitmap_off || hdr.data_off != expect.data_off {
            return Err("corrupt COW header (bitmap/data offsets)".into());
        }
        Ok(hdr)
    }
}

fn bitmap_len(base_size: u64) -> u64 {
    base_size.div_ceil(COW_BLOCK).div_ceil(8)
}

/// The content fingerprint of a base image of `size` bytes (see the module docs): FNV-1a 64
/// over the size and 64 sampled 4 KiB blocks.
pub fn fingerprint(base: &File, size: u64) -> std::io::Result<u64> {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(PRIME);
        }
    };
    feed(&size.to_le_bytes());
    let mut buf = vec![0u8; COW_BLOCK as usize];
    for blk in sample_blocks(size.div_ceil(COW_BLOCK)) {
        let off = blk * COW_BLOCK;
        let len = (size - off).min(COW_BLOCK) as usize;
        base.read_exact_at(&mut buf[..len], off)?;
        feed(&blk.to_le_bytes());
        feed(&buf[..len]);
    }
    Ok(h)
}

/// The sampled block numbers of a base of `nblocks` blocks, ascending, without repeats.
fn sample_blocks(nblocks: u64) -> BTreeSet<u64> {
    let mut s: BTreeSet<u64> = (0..nblocks.min(3)).collect();
    if nblocks > 0 {
        s.insert(nblocks - 1);
        for i in 0..SAMPLES - 4 {
            s.insert(nblocks * i / (SAMPLES - 4));
        }
    }
    s
}

fn io_msg(what: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", what.display())
}

/// Reads and checks `cow`'s header against the base open as `base` at `base_path`: the one-line
/// refusal names the COW file and says how the base differs.
fn check_base(cow_path: &Path, hdr: &CowHeader, base: &File, base_path: &Path) -> Result<(), String> {
    let size = base.metadata().map_err(|e| io_msg(base_path, e))?.len();
    if size != hdr.base_size {
        return Err(format!(
            "{}: base {} is {size} bytes but the COW file was made over a {}-byte base ({}); refusing a different base",
            cow_path.display(),
            base_path.display(),
            hdr.base_size,
            hdr.base_path.display()
        ));
    }
    if fingerprint(base, size).map_err(|e| io_msg(base_path, e))? != hdr.fingerprint {
        return Err(format!(
            "{}: base {} has different contents than when the COW file was made over {}; refusing a different base",
            cow_path.display(),
            base_path.display(),
            hdr.base_path.display()
        ));
    }
    Ok(())
}

/// Opens an existing COW file's header and bitmap.
fn read_cow(cow: &File, cow_path: &Path) -> Result<(CowHeader, Vec<u8>), String> {
    let mut h = vec![0u8; HEADER_LEN as usize];
    cow.read_exact_at(&mut h, 0).map_err(|e| io_msg(cow_path, e))?;
    let hdr = CowHeader::decode(&h).map_err(|e| format!("{}: {e}", cow_path.display()))?;
    let mut bitmap = vec![0u8; bitmap_len(hdr.base_size) as usize];
    cow.read_exact_at(&mut bitmap, hdr.bitmap_off).map_err(|e| io_msg(cow_path, e))?;
    Ok((hdr, bitmap))
}

/// Reads the header of the COW file at `cow_path` (for tools: the base it names).
pub fn read_header(cow_path: &Path) -> Result<CowHeader, String> {
    let cow = File::open(cow_path).map_err(|e| io_msg(cow_path, e))?;
    read_cow(&cow, cow_path).map(|(h, _)| h)
}

/// The bitmap bits not yet written to the COW file.
struct CowState {
    /// Which blocks live in the COW file (flushed or not).
    present: Vec<u8>,
    /// Bitmap bytes whose new bits are not on disk yet.
    pending: BTreeSet<u64>,
}

impl CowState {
    fn has(&self, blk: u64) -> bool {
        self.present.get((blk / 8) as usize).is_some_and(|b| b & (1 << (blk % 8)) != 0)
    }
}

/// A block device over a read-only base image and a COW file of changed blocks (UML's COW
/// `ubd`): reads come from the COW file for changed blocks, else from the base; writes go to
/// the COW file only.
pub struct CowBlockDevice {
    base: File,
    cow: File,
    hdr: CowHeader,
    read_only: bool,
    state: Mutex<CowState>,
}

impl CowBlockDevice {
    /// Opens `base` read-only and the COW file `cow`, creating it (sparse, empty bitmap) if it is
    /// missing or empty. An existing COW file must have been made over a base of the same size and
    /// [`fingerprint`] (a moved or touched base is fine); otherwise one line says why not. With
    /// `read_only` (or a read-only COW file) writes fail with `EROFS`.
    pub fn open(base_path: &Path, cow_path: &Path, read_only: bool) -> Result<CowBlockDevice, String> {
        let base = File::open(base_path).map_err(|e| io_msg(base_path, e))?;
        if base.metadata().map_err(|e| io_msg(base_path, e))?.is_dir() {
            return Err(format!("{}: a COW file needs a base image file, not a directory", base_path.display()));
        }
        let (cow, ro) = open_cow_file(cow_path, read_only)?;
        lock_cow(&cow, cow_path, ro)?;
        let empty = cow.metadata().map_err(|e| io_msg(cow_path, e))?.len() == 0;
        let (hdr, present) = if empty {
            if ro {
                return Err(format!("{}: cannot create a COW file read-only", cow_path.display()));
            }
            create_cow(&cow, cow_path, &base, base_path)?
        } else {
            let (hdr, bitmap) = read_cow(&cow, cow_path)?;
            check_base(cow_path, &hdr, &base, base_path)?;
            (hdr, bitmap)
        };
        let state = Mutex::new(CowState { present, pending: BTreeSet::new() });
        Ok(CowBlockDevice { base, cow, hdr, read_only: ro, state })
    }

    /// The COW file's header.
    pub fn header(&self) -> &CowHeader {
        &self.hdr
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CowState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn data_off(&self, off: u64) -> KResult<u64> {
        self.hdr.data_off.checked_add(off).ok_or(Errno::EIO)
    }

    /// Writes one block's worth (`data` within block `blk`, starting `inner` bytes into it),
    /// copying the rest of the block from the base first if it is not in the COW file yet.
    fn write_block(&self, st: &mut CowState, blk: u64, inner: usize, data: &[u8]) -> KResult<()> {
        let start = blk * COW_BLOCK;
        if st.has(blk) || (inner == 0 && data.len() as u64 == self.block_len(blk)) {
            self.cow.write_all_at(data, self.data_off(start + inner as u64)?).map_err(host_err)?;
        } else {
            let mut block = vec![0u8; self.block_len(blk) as usize];
            self.base.read_exact_at(&mut block, start).map_err(host_err)?;
            block[inner..inner + data.len()].copy_from_slice(data);
            self.cow.write_all_at(&block, self.data_off(start)?).map_err(host_err)?;
        }
        if !st.has(blk) {
            let byte = blk / 8;
            if let Some(b) = st.present.get_mut(byte as usize) {
                *b |= 1 << (blk % 8);
            }
            st.pending.insert(byte);
        }
        Ok(())
    }

    /// The bytes of block `blk` inside the device (the last block may be short).
    fn block_len(&self, blk: u64) -> u64 {
        (self.hdr.base_size - blk * COW_BLOCK).min(COW_BLOCK)
    }

    /// Writes the bitmap pages holding pending bits (after the data they describe is durable).
    fn write_pending_bitmap(&self, st: &mut CowState) -> KResult<()> {
        let pages: BTreeSet<u64> = st.pending.iter().map(|b| b / COW_BLOCK).collect();
        for page in pages {
            let from = (page * COW_BLOCK) as usize;
            let to = (from + COW_BLOCK as usize).min(st.present.len());
            let off = self.hdr.bitmap_off.checked_add(from as u64).ok_or(Errno::EIO)?;
            self.cow.write_all_at(&st.present[from..to], off).map_err(host_err)?;
        }
        st.pending.clear();
        Ok(())
    }
}

fn host_err(e: std::io::Error) -> Errno {
    log::warn!("COW image I/O error: {e}");
    Errno::EIO
}

fn open_cow_file(cow_path: &Path, read_only: bool) -> Result<(File, bool), String> {
    if read_only {
        return File::open(cow_path).map(|f| (f, true)).map_err(|e| io_msg(cow_path, e));
    }
    match OpenOptions::new().read(true).write(true).create(true).truncate(false).open(cow_path) {
        Ok(f) => Ok((f, false)),
        Err(e) if e.kind() == ErrorKind::PermissionDenied || e.raw_os_error() == Some(30) => {
            File::open(cow_path).map(|f| (f, true)).map_err(|e| io_msg(cow_path, e))
        }
        Err(e) => Err(io_msg(cow_path, e)),
    }
}

/// Locks the COW file against a second umbra using it at once (UML's `ubd` takes the same
/// `flock`): exclusive for writing, shared read-only. The lock goes with the file.
fn lock_cow(cow: &File, cow_path: &Path, ro: bool) -> Result<(), String> {
    let r = if ro { cow.try_lock_shared() } else { cow.try_lock() };
    r.map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => format!("{}: the COW file is in use by another umbra", cow_path.display()),
        std::fs::TryLockError::Error(e) => io_msg(cow_path, e),
    })
}

/// Writes a fresh header and an empty bitmap into the empty file `cow` and sizes it (sparse).
fn create_cow(cow: &File, cow_path: &Path, base: &File, base_path: &Path) -> Result<(CowHeader, Vec<u8>), String> {
    let size = base.metadata().map_err(|e| io_msg(base_path, e))?.len();
    let fp = fingerprint(base, size).map_err(|e| io_msg(base_path, e))?;
    let abs = std::fs::canonicalize(base_path).unwrap_or_else(|_| base_path.to_path_buf());
    let hdr = CowHeader::new(abs, size, fp);
    let end = hdr.data_off.checked_add(hdr.blocks() * COW_BLOCK).ok_or("base too large")?;
    cow.set_len(end).map_err(|e| io_msg(cow_path, e))?;
    cow.write_all_at(&hdr.encode()?, 0).map_err(|e| io_msg(cow_path, e))?;
    cow.sync_all().map_err(|e| io_msg(cow_path, e))?;
    Ok((hdr.clone(), vec![0; bitmap_len(size) as usize]))
}

fn check_range(off: u64, len: usize, size: u64) -> KResult<u64> {
    let end = off.checked_add(len as u64).ok_or(Errno::EIO)?;
    if end > size {
        log::warn!("COW device access {off}+{len} beyond device end {size}");
        return Err(Errno::EIO);
    }
    Ok(end)
}

impl BlockDevice for CowBlockDevice {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> KResult<()> {
        let end = check_range(off, buf.len(), self.hdr.base_size)?;
        let st = self.lock();
        let mut pos = off;
        while pos < end {
            // One run of blocks with the same source, read with one call.
            let in_cow = st.has(pos / COW_BLOCK);
            let mut run_end = ((pos / COW_BLOCK) + 1).saturating_mul(COW_BLOCK).min(end);
            while run_end < end && st.has(run_end / COW_BLOCK) == in_cow {
                run_end = (run_end + COW_BLOCK).min(end);
            }
            let dst = &mut buf[(pos - off) as usize..(run_end - off) as usize];
            if in_cow {
                self.cow.read_exact_at(dst, self.data_off(pos)?).map_err(host_err)?;
            } else {
                self.base.read_exact_at(dst, pos).map_err(host_err)?;
            }
            pos = run_end;
        }
        Ok(())
    }

    fn write_at(&self, off: u64, data: &[u8]) -> KResult<()> {
        if self.read_only {
            return Err(Errno::EROFS);
        }
        let end = check_range(off, data.len(), self.hdr.base_size)?;
        let mut st = self.lock();
        let mut pos = off;
        while pos < end {
            let blk = pos / COW_BLOCK;
            let chunk_end = ((blk + 1) * COW_BLOCK).min(end);
            let inner = (pos - blk * COW_BLOCK) as usize;
            self.write_block(&mut st, blk, inner, &data[(pos - off) as usize..(chunk_end - off) as usize])?;
            pos = chunk_end;
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.hdr.base_size
    }

    /// Data first, then the bitmap bits naming it, each made durable in turn (module docs).
    fn sync(&self) -> KResult<()> {
        if self.read_only {
            return Ok(());
        }
        let mut st = self.lock();
        self.cow.sync_data().map_err(host_err)?;
        if st.pending.is_empty() {
            return Ok(());
        }
        self.write_pending_bitmap(&mut st)?;
        self.cow.sync_data().map_err(host_err)
    }

    fn read_only(&self) -> bool {
        self.read_only
    }
}

impl Drop for CowBlockDevice {
    fn drop(&mut self) {
        if let Err(e) = self.sync() {
            log::warn!("COW file not flushed at close: {e}");
        }
    }
}

/// Folds the changes in `cow_path` into an image (UML's `uml_moo`): into `out` (a new file: a
/// copy of the base with the changed blocks written over it) or, when `out` is `None`, into the
/// base itself (which invalidates the COW file). `base` overrides the base path in the header.
/// The base must match the header's size and fingerprint, and no umbra may be using the COW
/// file. Returns the number of blocks merged.
pub fn merge(cow_path: &Path, base: Option<&Path>, out: Option<&Path>) -> Result<u64, String> {
    let cow = File::open(cow_path).map_err(|e| io_msg(cow_path, e))?;
    lock_cow(&cow, cow_path, true)?;
    let (hdr, bitmap) = read_cow(&cow, cow_path)?;
    let base_path = base.map(Path::to_path_buf).unwrap_or_else(|| hdr.base_path.clone());
    let base_file = File::open(&base_path).map_err(|e| io_msg(&base_path, e))?;
    check_base(cow_path, &hdr, &base_file, &base_path)?;
    let target_path = match out {
        Some(o) => {
            std::fs::copy(&base_path, o).map_err(|e| io_msg(o, e))?;
            o.to_path_buf()
        }
        None => base_path.clone(),
    };
    let target = OpenOptions::new().write(true).open(&target_path).map_err(|e| io_msg(&target_path, e))?;
    let mut merged = 0;
    let mut buf = vec![0u8; COW_BLOCK as usize];
    for blk in 0..hdr.blocks() {
        if bitmap.get((blk / 8) as usize).is_some_and(|b| b & (1 << (blk % 8)) != 0) {
            let len = (hdr.base_size - blk * COW_BLOCK).min(COW_BLOCK) as usize;
            cow.read_exact_at(&mut buf[..len], hdr.data_off + blk * COW_BLOCK).map_err(|e| io_msg(cow_path, e))?;
            target.write_all_at(&buf[..len], blk * COW_BLOCK).map_err(|e| io_msg(&target_path, e))?;
            merged += 1;
        }
    }
    target.sync_all().map_err(|e| io_msg(&target_path, e))?;
    Ok(merged)
}

#[cfg(test)]
mod tests;
