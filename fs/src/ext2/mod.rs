//! ext2 read-write and ext4 read-only, over a [`BlockCache`](crate::block::BlockCache).
//!
//! Follows Linux's `fs/ext2` for everything it writes (indirect block maps, linear
//! directories, bitmap allocation, link counts, orphan handling on last close) and reads the
//! ext4 layout `mkfs.ext4` makes by default (extents, 64-bit descriptors, flex_bg,
//! `metadata_csum` verified on read). ext4 images mount read-only.
//!
//! The API is by inode number; the VFS adapter builds `Inode`s and dentries over it. One lock
//! serialises all operations on a filesystem.

mod alloc;
mod blockmap;
pub mod checksum;
mod dir;
mod extent;
pub mod extent_tree;
mod file;
mod pageio;
pub mod group;
pub mod inode;
pub mod journal;
pub mod mkfs;
mod namei;
mod raw;
pub mod superblock;
mod symlink;
mod uninit;
pub mod xattr;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use mm::{VmReader, VmWriter};
use uapi::{Errno, KResult};

use crate::block::{BlockCache, BlockDevice};
use group::GroupDesc;
use inode::Inode;
use superblock::{compat, incompat, ro_compat, Superblock, STATE_VALID};

pub use inode::Timespec;

/// Result type of the ext2 API (`uapi::KResult`).
pub type Ext2Result<T> = KResult<T>;

/// The root directory's inode number (`EXT2_ROOT_INO`).
pub const ROOT_INO: u32 = 2;
/// Maximum hard links to an inode (`EXT2_LINK_MAX`).
pub const LINK_MAX: u16 = 32000;
/// Maximum file name length (`EXT2_NAME_LEN`).
pub const NAME_MAX: usize = 255;
/// `renameat2` flag: fail if the target exists.
pub const RENAME_NOREPLACE: u32 = 1;
/// `renameat2` flag: atomically exchange source and target.
pub const RENAME_EXCHANGE: u32 = 2;

/// Directory entry types as `getdents64` reports them (`DT_*`).
pub mod dt {
    pub const UNKNOWN: u8 = 0;
    pub const FIFO: u8 = 1;
    pub const CHR: u8 = 2;
    pub const DIR: u8 = 4;
    pub const BLK: u8 = 6;
    pub const REG: u8 = 8;
    pub const LNK: u8 = 10;
    pub const SOCK: u8 = 12;
}

/// Logs one warning about a corrupt structure and yields `EIO` (what Linux's ext2 returns).
macro_rules! corrupt {
    ($($arg:tt)*) => {{
        log::warn!("ext2: corrupt filesystem: {}", format_args!($($arg)*));
        uapi::Errno::EIO
    }};
}
pub(crate) use corrupt;

/// A `readdir` visitor: `(name, ino, DT_* type, next cookie) -> keep going`.
pub type DirVisitor<'a> = dyn FnMut(&[u8], u32, u8, u64) -> bool + 'a;

/// Inode attributes as `stat` reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InodeAttr {
    pub ino: u32,
    /// File type and permission bits (`st_mode`).
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    /// Device number in the `st_rdev` encoding (glibc `makedev`).
    pub rdev: u64,
    /// Allocated space in 512-byte units (`st_blocks`).
    pub blocks: u64,
    /// Preferred I/O size (`st_blksize`): the block size.
    pub blksize: u32,
}

/// Attribute changes for [`Ext2Fs::set_attr`] (`struct iattr`); `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct SetAttr {
    /// New permission bits (the file type bits are ignored, as `chmod` does).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// New size (regular files only), as `truncate`.
    pub size: Option<u64>,
    pub atime: Option<Timespec>,
    pub mtime: Option<Timespec>,
    /// New ctime; when `None`, any other change sets ctime to now (as `notify_change` does).
    pub ctime: Option<Timespec>,
}

/// Filesystem statistics with Linux's `struct statfs` fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatFs {
    /// `f_type`: `EXT2_SUPER_MAGIC` (0xEF53).
    pub f_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    /// Free blocks for unprivileged users (free minus the reserved blocks).
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: [u32; 2],
    pub namelen: u64,
    pub frsize: u64,
}

/// The result of removing a name: the inode and whether its last link went (it then must be
/// released with [`Ext2Fs::evict`] once no open file refers to it, as Linux's `iput` does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unlinked {
    pub ino: u32,
    pub orphaned: bool,
}

/// Why a mount failed: the errno and one line for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountError {
    pub errno: Errno,
    pub message: String,
}

impl std::fmt::Display for MountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MountError {}

impl From<MountError> for Errno {
    fn from(e: MountError) -> Errno {
        e.errno
    }
}

impl From<(Errno, String)> for MountError {
    fn from((errno, message): (Errno, String)) -> MountError {
        MountError { errno, message }
    }
}

/// The filesystem state behind the lock.
pub(crate) struct Fs {
    pub cache: BlockCache,
    pub sb: Superblock,
    pub groups: Vec<GroupDesc>,
    pub dirty_groups: BTreeSet<u32>,
    pub sb_dirty: bool,
    pub read_only: bool,
    pub orig_state: u16,
    pub orphans: BTreeSet<u32>,
    /// The crc32c seed when `metadata_csum` is on.
    pub csum_seed: Option<u32>,
    pub gdt_start: u64,
    pub unmounted: bool,
    pub next_generation: u32,
    /// Put new inodes in this group (mkfs places lost+found in group 0).
    pub force_group: Option<u32>,
    /// Xattr blocks by hash, for sharing identical attribute sets.
    pub xattr_cache: xattr::XattrCache,
    /// The journal of a read-write mounted `has_journal` filesystem.
    pub(crate) journal: Option<journal::Journal>,
}

/// A mounted ext2 (read-write) or ext4 (read-only) filesystem.
pub struct Ext2Fs {
    inner: Mutex<Fs>,
}

/// Cache size: 32 MiB of blocks.
const CACHE_BYTES: usize = 128 << 20;

impl Fs {
    pub(crate) fn mount(dev: Arc<dyn BlockDevice>, read_only: bool, check_root: bool) -> Result<Fs, MountError> {
        let err = |errno: Errno, m: String| MountError { errno, message: m };
        if dev.size() < 2048 {
            return Err(err(Errno::EINVAL, "image too small to hold an ext2 superblock".into()));
        }
        let mut raw = [0u8; 1024];
        dev.read_at(1024, &mut raw)
            .map_err(|e| err(e, format!("cannot read the superblock: {e}")))?;
        let sb = Superblock::parse(&raw, dev.size())?;
        let unknown = sb.feature_incompat & !incompat::READ_SUPPORTED;
        if unknown != 0 {
            return Err(err(
                Errno::EINVAL,
                format!(
                    "cannot mount: unsupported filesystem feature(s): {}",
                    superblock::names(unknown, superblock::incompat_name)
                ),
            ));
        }
        if sb.has_incompat(incompat::RECOVER) && !sb.has_compat(compat::HAS_JOURNAL) {
            return Err(err(Errno::EUCLEAN, "cannot mount: needs_recovery is set but there is no journal".into()));
        }
        if !read_only {
            if dev.read_only() {
                return Err(err(Errno::EROFS, "cannot mount read-write: the image is read-only".into()));
            }
            // needs_recovery is handled by the journal (replayed below).
            let inc = sb.feature_incompat & !incompat::WRITE_SUPPORTED & !incompat::RECOVER;
            let ro = sb.feature_ro_compat & !ro_compat::WRITE_SUPPORTED;
            if inc != 0 || ro != 0 {
                let mut n = superblock::names(inc, superblock::incompat_name);
                let r = superblock::names(ro, superblock::ro_compat_name);
                if !n.is_empty() && !r.is_empty() {
                    n.push(' ');
                }
                n.push_str(&r);
                return Err(err(
                    Errno::EROFS,
                    format!("cannot mount read-write: umbra cannot write filesystem feature(s): {n} (mount read-only)"),
                ));
            }
        }
        let csum_seed = if sb.has_ro_compat(ro_compat::METADATA_CSUM) {
            let stored = raw::get32(&sb.raw, 0x3FC);
            if checksum::superblock(&sb.raw) != stored {
                return Err(err(Errno::EUCLEAN, "cannot mount: superblock checksum mismatch".into()));
            }
            Some(checksum::fs_seed(&sb.uuid, sb.has_incompat(incompat::CSUM_SEED), raw::get32(&sb.raw, 0x270)))
        } else {
            None
        };
        let bs = sb.block_size as usize;
        let cache = BlockCache::new(dev, bs, CACHE_BYTES / bs);
        let gdt_start = sb.first_data_block as u64 + 1;
        let mut fs = Fs {
            cache,
            groups: Vec::new(),
            dirty_groups: BTreeSet::new(),
            sb_dirty: false,
            read_only,
            orig_state: sb.state(),
            orphans: BTreeSet::new(),
            csum_seed,
            gdt_start,
            unmounted: false,
            next_generation: (Timespec::now().nsec) ^ 0x5bd1_e995,
            force_group: None,
            xattr_cache: xattr::XattrCache::default(),
            journal: None,
            sb,
        };
        fs.load_groups().map_err(|e| err(e, format!("cannot mount: bad group descriptors ({e})")))?;
        if fs.sb.has_compat(compat::HAS_JOURNAL) && fs.load_journal()? {
            // The journal was replayed under the cache: read the filesystem afresh.
            return Fs::mount(fs.cache.device().clone(), read_only, check_root);
        }
        let root = fs.read_inode(ROOT_INO).map_err(|e| err(e, format!("cannot mount: cannot read the root inode ({e})")))?;
        if check_root && !root.is_dir() {
            return Err(err(Errno::EUCLEAN, "cannot mount: the root inode is not a directory".into()));
        }
        if !read_only {
            if fs.orig_state & STATE_VALID == 0 {
                log::warn!("ext2: mounting unchecked fs, running e2fsck is recommended");
            } else if fs.orig_state & superblock::STATE_ERROR != 0 {
                log::warn!("ext2: mounting fs with errors, running e2fsck is recommended");
            }
            let now = Timespec::now().sec as u32;
            let st = fs.sb.state();
            fs.sb.set_state(st & !STATE_VALID);
            fs.sb.note_mount(now);
            fs.sb.set_wtime(now);
            fs.sb_dirty = true;
            fs.process_orphans().map_err(|e| err(e, format!("cannot mount: cannot free orphan inodes ({e})")))?;
            fs.sync().map_err(|e| err(e, format!("cannot write the superblock: {e}")))?;
        }
        Ok(fs)
    }

    fn load_groups(&mut self) -> KResult<()> {
        let ds = self.sb.desc_size as usize;
        let n = self.sb.group_count as usize;
        let bs = self.sb.block_size as u64;
        let gdt_blocks = self.sb.gdt_blocks();
        if self.gdt_start.checked_add(gdt_blocks).is_none_or(|e| e > self.sb.blocks_count) {
            return Err(corrupt!("group descriptor table beyond the end of the filesystem"));
        }
        let mut table = vec![0u8; n.checked_mul(ds).ok_or(Errno::EIO)?];
        self.cache.read_bytes(self.gdt_start * bs, &mut table)?;
        let itable_blocks = (self.sb.inodes_per_group as u64 * self.sb.inode_size as u64).div_ceil(bs);
        let mut groups = Vec::with_capacity(n);
        for g in 0..n {
            let d = GroupDesc::parse(&table[g * ds..(g + 1) * ds]);
            if let Some(seed) = self.csum_seed {
                if checksum::group_desc(seed, g as u32, &d.raw) != d.checksum {
                    return Err(corrupt!("group descriptor {g} checksum mismatch"));
                }
            }
            let total = self.sb.blocks_count;
            let first = self.sb.first_data_block as u64;
            let ok = |b: u64, len: u64| b >= first && b.checked_add(len).is_some_and(|e| e <= total);
            if !ok(d.block_bitmap, 1) || !ok(d.inode_bitmap, 1) || !ok(d.inode_table, itable_blocks) {
                return Err(corrupt!("group {g} has bitmaps or inode table outside the filesystem"));
            }
            if d.free_inodes > self.sb.inodes_per_group || d.free_blocks > self.sb.blocks_per_group {
                return Err(corrupt!("group {g} free counts out of range"));
            }
            groups.push(d);
        }
        self.groups = groups;
        Ok(())
    }

    /// Blocks per 512-byte sector count unit.
    pub fn sectors_per_block(&self) -> u64 {
        self.sb.block_size as u64 / 512
    }

    pub fn bs(&self) -> u64 {
        self.sb.block_size as u64
    }

    /// Checks that `b` is a block number inside the filesystem's data area.
    pub fn check_block(&self, b: u64, what: &str, ino: u32) -> KResult<u64> {
        if b < self.sb.first_data_block as u64 || b >= self.sb.blocks_count || b == 0 {
            return Err(corrupt!("inode {ino}: {what} block {b} out of range"));
        }
        Ok(b)
    }

    pub fn ensure_rw(&self) -> KResult<()> {
        if self.unmounted {
            return Err(Errno::EIO);
        }
        if self.read_only {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    fn inode_offset(&self, ino: u32) -> KResult<u64> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(corrupt!("inode number {ino} out of range"));
        }
        let g = ((ino - 1) / self.sb.inodes_per_group) as usize;
        let idx = ((ino - 1) % self.sb.inodes_per_group) as u64;
        let gd = self.groups.get(g).ok_or(Errno::EIO)?;
        gd.inode_table
            .checked_mul(self.bs())
            .and_then(|o| o.checked_add(idx * self.sb.inode_size as u64))
            .ok_or(Errno::EIO)
    }

    /// Reads inode `ino` (checksum verified with `metadata_csum`).
    pub fn read_inode(&mut self, ino: u32) -> KResult<Inode> {
        if self.unmounted {
            return Err(Errno::EIO);
        }
        let off = self.inode_offset(ino)?;
        let mut raw = vec![0u8; self.sb.inode_size as usize];
        self.cache.read_bytes(off, &mut raw)?;
        if raw.len() > 128 {
            let extra = raw::get16(&raw, 128) as usize;
            if 128 + extra > raw.len() {
                return Err(corrupt!("inode {ino}: i_extra_isize {extra} too large"));
            }
        }
        let inode = Inode::parse(
            &raw,
            self.sb.has_incompat(incompat::LARGEDIR) || self.sb.has_incompat(incompat::EXTENTS),
            self.sb.has_ro_compat(ro_compat::HUGE_FILE),
        );
        if let Some(seed) = self.csum_seed {
            let c = checksum::inode(checksum::inode_seed(seed, ino, inode.generation), &raw, inode.has_csum_hi());
            let lo = raw::get16(&raw, 0x7C) as u32;
            let ok = if inode.has_csum_hi() {
                c == lo | (raw::get16(&raw, 0x82) as u32) << 16
            } else {
                c & 0xFFFF == lo
            };
            if !ok {
                log::warn!("ext4: inode {ino} checksum mismatch");
                return Err(Errno::EUCLEAN);
            }
        }
        Ok(inode)
    }

    /// Writes inode `ino` back (with its checksum under `metadata_csum`).
    pub fn write_inode(&mut self, ino: u32, inode: &Inode) -> KResult<()> {
        self.ensure_rw()?;
        let off = self.inode_offset(ino)?;
        let mut raw = inode.to_raw();
        if let Some(seed) = self.csum_seed {
            let c = checksum::inode(checksum::inode_seed(seed, ino, inode.generation), &raw, inode.has_csum_hi());
            raw::put16(&mut raw, 0x7C, c as u16);
            if inode.has_csum_hi() {
                raw::put16(&mut raw, 0x82, (c >> 16) as u16);
            }
        }
        self.cache.write_bytes(off, &raw)
    }

    /// Group `g`'s descriptor as stored: with `metadata_csum` the bitmap checksums and the
    /// descriptor checksum set (`ext4_group_desc_csum_set`), with `uninit_bg` its crc16.
    fn sealed_group_desc(&mut self, g: u32) -> KResult<Vec<u8>> {
        let d = self.groups.get(g as usize).ok_or(Errno::EIO)?.clone();
        let mut raw = d.to_raw();
        let wide = raw.len() >= 0x3C;
        if let Some(seed) = self.csum_seed {
            if d.flags & group::BG_BLOCK_UNINIT == 0 {
                let n = (self.sb.blocks_per_group / 8) as usize;
                let c = checksum::bitmap(seed, self.cache.read(d.block_bitmap)?.get(..n).ok_or(Errno::EIO)?);
                raw::put16(&mut raw, 0x18, c as u16);
                if wide {
                    raw::put16(&mut raw, 0x38, (c >> 16) as u16);
                }
            }
            if d.flags & group::BG_INODE_UNINIT == 0 {
                let n = (self.sb.inodes_per_group / 8) as usize;
                let c = checksum::bitmap(seed, self.cache.read(d.inode_bitmap)?.get(..n).ok_or(Errno::EIO)?);
                raw::put16(&mut raw, 0x1A, c as u16);
                if wide {
                    raw::put16(&mut raw, 0x3A, (c >> 16) as u16);
                }
            }
            let c = checksum::group_desc(seed, g, &raw);
            raw::put16(&mut raw, 0x1E, c);
        } else if self.sb.has_ro_compat(ro_compat::GDT_CSUM) {
            let c = checksum::group_desc_crc16(&self.sb.uuid, g, &raw);
            raw::put16(&mut raw, 0x1E, c);
        }
        Ok(raw)
    }

    pub fn mark_group(&mut self, g: u32) {
        self.dirty_groups.insert(g);
        self.sb_dirty = true;
    }

    /// Writes the superblock and dirty group descriptors into the cache, then flushes it.
    pub fn sync(&mut self) -> KResult<()> {
        if self.read_only || self.unmounted {
            return Ok(());
        }
        let ds = self.sb.desc_size as u64;
        let dirty: Vec<u32> = std::mem::take(&mut self.dirty_groups).into_iter().collect();
        for g in dirty {
            if (g as usize) < self.groups.len() {
                let raw = self.sealed_group_desc(g)?;
                let off = self.gdt_start * self.bs() + g as u64 * ds;
                self.cache.write_bytes(off, &raw)?;
            }
        }
        if self.sb_dirty {
            self.sb.set_wtime(Timespec::now().sec as u32);
            if self.csum_seed.is_some() {
                let c = checksum::superblock(&self.sb.raw);
                raw::put32(&mut self.sb.raw, 0x3FC, c);
            }
            let raw = self.sb.raw;
            self.cache.write_bytes(1024, &raw)?;
            self.sb_dirty = false;
        }
        self.commit()
    }

    fn unmount(&mut self) -> KResult<()> {
        if self.unmounted {
            return Ok(());
        }
        if !self.read_only {
            let orphans: Vec<u32> = self.orphans.iter().copied().collect();
            for ino in orphans {
                if let Err(e) = self.evict(ino) {
                    log::warn!("ext2: cannot free orphan inode {ino}: {e}");
                }
            }
            let st = self.orig_state;
            self.sb.set_state(st);
            self.sb_dirty = true;
            self.sync()?;
            self.close_journal()?;
        }
        self.unmounted = true;
        Ok(())
    }

    pub fn now() -> Timespec {
        Timespec::now()
    }

    fn attr(&self, ino: u32, i: &Inode) -> InodeAttr {
        let rdev = match i.ftype() {
            inode::S_IFCHR | inode::S_IFBLK => i.rdev(),
            _ => 0,
        };
        InodeAttr {
            ino,
            mode: i.mode as u32,
            nlink: i.links as u32,
            uid: i.uid,
            gid: i.gid,
            size: i.size,
            atime: i.atime,
            mtime: i.mtime,
            ctime: i.ctime,
            rdev,
            blocks: i.sectors(self.sb.block_size),
            blksize: self.sb.block_size,
        }
    }

    fn statfs(&self) -> StatFs {
        let sb = &self.sb;
        // Overhead as ext2_statfs computes it: everything before the first data block plus
        // per group the superblock/GDT copies, two bitmaps and the inode table.
        let itb = (sb.inodes_per_group as u64 * sb.inode_size as u64).div_ceil(self.bs());
        let mut overhead = sb.first_data_block as u64;
        for g in 0..sb.group_count {
            if sb.group_has_super(g) {
                overhead += 1 + sb.gdt_blocks() + sb.reserved_gdt_blocks();
            }
            overhead += 2 + itb;
        }
        let bfree = sb.free_blocks();
        let u = sb.uuid;
        let w = |i: usize| u32::from_le_bytes([u[i], u[i + 1], u[i + 2], u[i + 3]]);
        StatFs {
            f_type: superblock::EXT2_MAGIC as u64,
            bsize: self.bs(),
            blocks: sb.blocks_count.saturating_sub(overhead),
            bfree,
            bavail: bfree.saturating_sub(sb.r_blocks_count),
            files: sb.inodes_count as u64,
            ffree: sb.free_inodes() as u64,
            fsid: [w(0) ^ w(8), w(4) ^ w(12)],
            namelen: NAME_MAX as u64,
            frsize: self.bs(),
        }
    }

    fn set_attr(&mut self, ino: u32, a: &SetAttr) -> KResult<()> {
        self.ensure_rw()?;
        if let Some(size) = a.size {
            self.truncate(ino, size)?;
        }
        let mut i = self.read_inode(ino)?;
        let mut changed = a.size.is_some();
        if let Some(m) = a.mode {
            i.mode = (i.mode & inode::S_IFMT) | (m as u16 & 0o7777);
            changed = true;
        }
        if let Some(u) = a.uid {
            i.uid = u;
            changed = true;
        }
        if let Some(g) = a.gid {
            i.gid = g;
            changed = true;
        }
        if let Some(t) = a.atime {
            i.atime = t;
        }
        if let Some(t) = a.mtime {
            i.mtime = t;
        }
        if let Some(t) = a.ctime {
            i.ctime = t;
        } else if changed || a.atime.is_some() || a.mtime.is_some() {
            i.ctime = Fs::now();
        }
        self.write_inode(ino, &i)
    }
}

impl Ext2Fs {
    /// Mounts the filesystem on `dev`, as `ext2_fill_super`/`ext4_fill_super` do: validates the
    /// superblock and group descriptors, refuses unknown INCOMPAT features (and a journal that
    /// needs recovery), and refuses read-write mounts of anything umbra cannot write (ext4
    /// features, unknown RO_COMPAT ones). A read-write mount marks the fs not-clean and bumps
    /// the mount count until [`unmount`](Ext2Fs::unmount).
    pub fn mount(dev: Arc<dyn BlockDevice>, read_only: bool) -> Result<Ext2Fs, MountError> {
        Ok(Ext2Fs { inner: Mutex::new(Fs::mount(dev, read_only, true)?) })
    }

    pub(crate) fn from_fs(fs: Fs) -> Ext2Fs {
        Ext2Fs { inner: Mutex::new(fs) }
    }

    pub(crate) fn lock(&self) -> journal::OpGuard<'_> {
        journal::OpGuard(self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The root directory's inode number (2).
    pub fn root_ino(&self) -> u32 {
        ROOT_INO
    }

    /// Whether the filesystem is mounted read-only.
    pub fn is_read_only(&self) -> bool {
        self.lock().read_only
    }

    /// The Linux type name: `"ext4"` for images with ext4 features, else `"ext2"`.
    pub fn fs_type(&self) -> &'static str {
        let fs = self.lock();
        if fs.sb.has_incompat(incompat::EXTENTS | incompat::BIT64 | incompat::FLEX_BG)
            || fs.sb.has_ro_compat(ro_compat::METADATA_CSUM | ro_compat::HUGE_FILE)
        {
            "ext4"
        } else {
            "ext2"
        }
    }

    /// The block size in bytes.
    pub fn block_size(&self) -> u32 {
        self.lock().sb.block_size
    }

    /// The volume label.
    pub fn label(&self) -> Vec<u8> {
        self.lock().sb.label()
    }

    /// `stat` of inode `ino`.
    pub fn stat(&self, ino: u32) -> KResult<InodeAttr> {
        let mut fs = self.lock();
        let i = fs.read_inode(ino)?;
        Ok(fs.attr(ino, &i))
    }

    /// Looks `name` up in directory `dir` (linear scan, as ext2 does; HTREE dirs included).
    pub fn lookup(&self, dir: u32, name: &[u8]) -> KResult<u32> {
        self.lock().lookup(dir, name)
    }

    /// Lists directory `dir` from cookie `pos` (a byte offset, as ext2's `f_pos`). The visitor
    /// gets name, inode, `DT_*` type and the cookie of the next entry; it returns `false` to
    /// stop (the entry it was given is then not consumed by the caller's accounting).
    pub fn readdir(
        &self,
        dir: u32,
        pos: u64,
        visitor: &mut DirVisitor<'_>,
    ) -> KResult<()> {
        self.lock().readdir(dir, pos, visitor)
    }

    /// Reads from a regular file (holes read as zeros); returns the bytes read (0 at EOF).
    /// atime is not updated (as with `noatime`).
    pub fn read(&self, ino: u32, off: u64, buf: &mut [u8]) -> KResult<usize> {
        self.read_to(ino, off, &mut VmWriter::from(buf))
    }

    /// [`Self::read`] into a writer (guest memory or a kernel buffer), which is advanced.
    pub fn read_to(&self, ino: u32, off: u64, buf: &mut VmWriter<'_>) -> KResult<usize> {
        self.lock().read(ino, off, buf)
    }

    /// Writes to a regular file, allocating blocks and growing the size as needed. A write cut
    /// short by a full disk returns the bytes written; none written gives `ENOSPC`.
    pub fn write(&self, ino: u32, off: u64, data: &[u8]) -> KResult<usize> {
        self.write_from(ino, off, &mut VmReader::from(data))
    }

    /// [`Self::write`] from a reader (guest memory or a kernel buffer), which is advanced.
    pub fn write_from(&self, ino: u32, off: u64, data: &mut VmReader<'_>) -> KResult<usize> {
        self.lock().write(ino, off, data)
    }

    /// Sets a regular file's size, freeing blocks past it or leaving a hole (`truncate`).
    pub fn truncate(&self, ino: u32, size: u64) -> KResult<()> {
        self.lock().truncate(ino, size)
    }

    /// Preallocates zeroed blocks and grows the size (`fallocate` mode 0; other modes give
    /// `EOPNOTSUPP`, as ext2 cannot keep blocks past EOF). On `ENOSPC` nothing past EOF stays.
    pub fn fallocate(&self, ino: u32, mode: u32, off: u64, len: u64) -> KResult<()> {
        self.lock().fallocate(ino, mode, off, len)
    }

    /// Creates a regular file, device, FIFO or socket (by the type bits of `mode`; none means
    /// regular) named `name` in `dir`, as `ext2_create`/`ext2_mknod`. `rdev` uses the
    /// `st_rdev` encoding. Returns the new inode number.
    pub fn create(&self, dir: u32, name: &[u8], mode: u32, uid: u32, gid: u32, rdev: u64) -> KResult<u32> {
        self.lock().create(dir, name, mode, uid, gid, rdev)
    }

    /// Creates directory `name` in `dir` (`ext2_mkdir`); `EMLINK` when `dir` has too many links.
    pub fn mkdir(&self, dir: u32, name: &[u8], mode: u32, uid: u32, gid: u32) -> KResult<u32> {
        self.lock().mkdir(dir, name, mode, uid, gid)
    }

    /// Creates a symlink (fast, inside the inode, when shorter than 60 bytes; else one block).
    pub fn symlink(&self, dir: u32, name: &[u8], target: &[u8], uid: u32, gid: u32) -> KResult<u32> {
        self.lock().symlink(dir, name, target, uid, gid)
    }

    /// The target of symlink `ino` (`EINVAL` if it is not a symlink).
    pub fn readlink(&self, ino: u32) -> KResult<Vec<u8>> {
        self.lock().readlink(ino)
    }

    /// Adds a hard link `name` in `dir` to `ino` (`EPERM` for directories, `EMLINK`; `ENOENT`
    /// for an inode with no link left).
    pub fn link(&self, ino: u32, dir: u32, name: &[u8]) -> KResult<()> {
        self.lock().link(ino, dir, name, false)
    }

    /// Gives an `O_TMPFILE` inode (no link yet) its first name, as `link` does otherwise.
    pub fn link_tmpfile(&self, ino: u32, dir: u32, name: &[u8]) -> KResult<()> {
        self.lock().link(ino, dir, name, true)
    }

    /// Creates an unnamed regular file near `dir` with no link (`O_TMPFILE`, `ext2_tmpfile`):
    /// an orphan, freed by [`evict`](Ext2Fs::evict) on last close unless linked first.
    pub fn tmpfile(&self, dir: u32, mode: u32, uid: u32, gid: u32) -> KResult<u32> {
        self.lock().tmpfile(dir, mode, uid, gid)
    }

    /// Removes non-directory `name` from `dir` and drops a link. If the last link went, the
    /// inode is an orphan: call [`evict`](Ext2Fs::evict) on last close (or at once).
    pub fn unlink(&self, dir: u32, name: &[u8]) -> KResult<Unlinked> {
        self.lock().unlink(dir, name)
    }

    /// Removes empty directory `name` from `dir` (`ENOTEMPTY`); it becomes an orphan.
    pub fn rmdir(&self, dir: u32, name: &[u8]) -> KResult<Unlinked> {
        self.lock().rmdir(dir, name)
    }

    /// Frees an orphaned inode (no links left) and its blocks, as Linux's `ext2_evict_inode`
    /// on the last `iput`. Does nothing if the inode still has links.
    pub fn evict(&self, ino: u32) -> KResult<()> {
        self.lock().evict(ino)
    }

    /// `renameat2`: moves `oldname` in `olddir` to `newname` in `newdir`, replacing a file or
    /// an empty directory there, updating `..` and link counts for directories moved across
    /// parents. `RENAME_NOREPLACE` and `RENAME_EXCHANGE` are supported. Returns the replaced
    /// inode, if any (evict it when orphaned and not open).
    pub fn rename(&self, olddir: u32, oldname: &[u8], newdir: u32, newname: &[u8], flags: u32) -> KResult<Option<Unlinked>> {
        self.lock().rename(olddir, oldname, newdir, newname, flags)
    }

    /// Changes mode/owner/size/times (`notify_change` → `ext2_setattr`).
    pub fn set_attr(&self, ino: u32, attr: &SetAttr) -> KResult<()> {
        self.lock().set_attr(ino, attr)
    }

    /// `statfs` (bfree/bavail/ffree from the superblock counters; blocks minus metadata).
    pub fn statfs(&self) -> StatFs {
        self.lock().statfs()
    }

    /// Writes all dirty metadata and data to the image and syncs it (`sync_fs`).
    pub fn sync(&self) -> KResult<()> {
        self.lock().sync()
    }

    /// Frees remaining orphans, restores the clean state in the superblock and syncs, as
    /// `ext2_put_super`. Later operations fail with `EIO`.
    pub fn unmount(&self) -> KResult<()> {
        self.lock().unmount()
    }
}

impl Drop for Ext2Fs {
    fn drop(&mut self) {
        let mut fs = self.lock();
        if let Err(e) = fs.unmount() {
            log::warn!("ext2: unmount on drop failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dir::{dt_from_ft, ft_from_mode, rec_len_for};
    use super::inode::{dev_major, dev_minor, makedev, Inode};
    use super::superblock::group_has_super;
    use super::*;

    #[test]
    fn ext2_fs_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Ext2Fs>();
    }

    #[test]
    fn ext2_dir_rec_len_and_types() {
        assert_eq!(rec_len_for(1), 12);
        assert_eq!(rec_len_for(4), 12);
        assert_eq!(rec_len_for(5), 16);
        assert_eq!(rec_len_for(255), 264);
        assert_eq!(dt_from_ft(ft_from_mode(0o120777)), dt::LNK);
        assert_eq!(dt_from_ft(ft_from_mode(0o040755)), dt::DIR);
    }

    #[test]
    fn ext2_sparse_super_groups() {
        let with: Vec<u32> = (0..100).filter(|&g| group_has_super(true, g)).collect();
        assert_eq!(with, vec![0, 1, 3, 5, 7, 9, 25, 27, 49, 81]);
        assert!(group_has_super(false, 4));
    }

    #[test]
    fn ext2_device_numbers_round_trip() {
        for (ma, mi) in [(1, 3), (8, 17), (300, 5), (4095, 1 << 19)] {
            let mut i = Inode::new(256);
            i.set_rdev(makedev(ma, mi));
            assert_eq!((dev_major(i.rdev()), dev_minor(i.rdev())), (ma, mi));
        }
        let mut i = Inode::new(128);
        i.set_rdev(makedev(5, 1));
        assert_eq!(i.block_ptr(0), 0x0501);
    }

    #[test]
    fn ext2_timestamps_keep_nanoseconds_and_epochs() {
        let mut i = Inode::new(256);
        let t = Timespec { sec: (1i64 << 32) + 5, nsec: 999_999_999 };
        i.mtime = t;
        i.atime = Timespec { sec: -5, nsec: 1 };
        let back = Inode::parse(&i.to_raw(), false, false);
        assert_eq!(back.mtime, t);
        assert_eq!(back.atime, Timespec { sec: -5, nsec: 1 });
        let mut small = Inode::new(128);
        small.mtime = Timespec { sec: 100, nsec: 5 };
        assert_eq!(Inode::parse(&small.to_raw(), false, false).mtime, Timespec { sec: 100, nsec: 0 });
    }

    #[test]
    fn ext2_crc32c_matches_linux_raw_form() {
        // crc32c("123456789") = 0xE3069283 in the standard (inverted) form.
        assert_eq!(!checksum::crc32c_raw(!0, b"123456789"), 0xE306_9283);
    }
}
