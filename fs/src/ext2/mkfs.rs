//! Creating an empty ext2 filesystem, as `mke2fs -t ext2` does: revision 1 with
//! `sparse_super`, `filetype` and `large_file`, block groups with their bitmaps and inode
//! tables, superblock and descriptor backups in the sparse groups, a root directory and a
//! `lost+found` preallocated to 16 KiB (at most 12 blocks), which `e2fsck -fn` accepts.

use std::sync::Arc;

use super::group::GroupDesc;
use super::inode::{Inode, Timespec, S_IFDIR};
use super::raw::{put16, put32};
use super::superblock::{incompat, ro_compat, group_has_super, EXT2_MAGIC, STATE_VALID};
use super::{Ext2Fs, ROOT_INO};
use crate::block::BlockDevice;
use uapi::{Errno, KResult};

/// Parameters for [`format`].
#[derive(Clone, Debug)]
pub struct FormatOptions {
    /// 1024, 2048 or 4096.
    pub block_size: u32,
    /// Number of inodes; `None` picks one per 4 KiB of space (mke2fs's "small" ratio), at
    /// least 64.
    pub inodes: Option<u32>,
    /// 128 or 256 (default; room for nanosecond timestamps).
    pub inode_size: u32,
    /// Volume label (at most 16 bytes are kept).
    pub label: Vec<u8>,
    /// Percentage of blocks reserved for root (mke2fs `-m`, default 5).
    pub reserved_percent: u32,
    /// Owner of the root directory.
    pub root_uid: u32,
    pub root_gid: u32,
    /// Filesystem UUID; `None` makes a random one.
    pub uuid: Option<[u8; 16]>,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            block_size: 4096,
            inodes: None,
            inode_size: 256,
            label: Vec::new(),
            reserved_percent: 5,
            root_uid: 0,
            root_gid: 0,
            uuid: None,
        }
    }
}

/// The layout `format` would use for a device of `dev_size` bytes.
#[derive(Clone, Debug)]
pub struct Layout {
    pub block_size: u32,
    pub blocks: u64,
    pub first_data_block: u32,
    pub blocks_per_group: u32,
    pub groups: u32,
    pub inodes_per_group: u32,
    pub inode_size: u32,
    pub gdt_blocks: u64,
    pub itable_blocks: u64,
}

impl Layout {
    /// Metadata blocks of group `g` (superblock/GDT copy, bitmaps, inode table).
    pub fn overhead(&self, g: u32) -> u64 {
        let sb = if group_has_super(true, g) { 1 + self.gdt_blocks } else { 0 };
        sb + 2 + self.itable_blocks
    }
    /// Blocks in group `g`.
    pub fn group_blocks(&self, g: u32) -> u64 {
        let start = self.first_data_block as u64 + g as u64 * self.blocks_per_group as u64;
        (self.blocks - start).min(self.blocks_per_group as u64)
    }
    /// Total inodes.
    pub fn inodes(&self) -> u64 {
        self.inodes_per_group as u64 * self.groups as u64
    }
    /// Blocks left for files and directories.
    pub fn data_blocks(&self) -> u64 {
        let meta: u64 = (0..self.groups).map(|g| self.overhead(g)).sum();
        self.blocks - self.first_data_block as u64 - meta
    }
}

fn too_small() -> Errno {
    Errno::ENOSPC
}

/// Computes the layout for `dev_size` bytes (`ENOSPC` if too small, `EINVAL` on bad options).
pub fn layout(dev_size: u64, o: &FormatOptions) -> KResult<Layout> {
    let bs = o.block_size;
    if !matches!(bs, 1024 | 2048 | 4096) || !matches!(o.inode_size, 128 | 256) {
        return Err(Errno::EINVAL);
    }
    let mut blocks = (dev_size / bs as u64).min(u32::MAX as u64);
    let first = u32::from(bs == 1024);
    if blocks < 64 {
        return Err(too_small());
    }
    let bpg = bs * 8;
    let isz = o.inode_size;
    let ipb = bs / isz;
    loop {
        let groups = (blocks - first as u64).div_ceil(bpg as u64) as u32;
        let want = o.inodes.map(|n| n as u64).unwrap_or(((blocks * bs as u64) / 4096).max(64));
        let mut ipg = want.div_ceil(groups as u64).max(16);
        let align = 8u64.max(ipb as u64);
        ipg = ipg.div_ceil(align) * align;
        ipg = ipg.min(bs as u64 * 8);
        let gdt_blocks = (groups as u64 * 32).div_ceil(bs as u64);
        let itable_blocks = ipg * isz as u64 / bs as u64;
        let l = Layout {
            block_size: bs,
            blocks,
            first_data_block: first,
            blocks_per_group: bpg,
            groups,
            inodes_per_group: ipg as u32,
            inode_size: isz,
            gdt_blocks,
            itable_blocks,
        };
        let last = groups - 1;
        if groups > 1 && l.group_blocks(last) < l.overhead(last) + 50 {
            // Drop a runt last group, as mke2fs does.
            blocks = first as u64 + last as u64 * bpg as u64;
            continue;
        }
        // Group 0 must hold its metadata, the root and lost+found.
        if l.group_blocks(0) < l.overhead(0) + 16 {
            return Err(too_small());
        }
        return Ok(l);
    }
}

fn random_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        if f.read_exact(&mut b).is_ok() {
            return b;
        }
    }
    let t = Timespec::now();
    let seed = (t.sec as u64).wrapping_mul(1_000_000_007) ^ t.nsec as u64 ^ std::process::id() as u64;
    for (i, x) in b.iter_mut().enumerate() {
        *x = (seed.rotate_left(i as u32 * 8) >> 3) as u8 ^ (i as u8).wrapping_mul(151);
    }
    b
}

fn set_bits(b: &mut [u8], from: usize, to: usize) {
    for i in from..to {
        b[i / 8] |= 1 << (i % 8);
    }
}

/// Formats `dev` as an empty ext2 revision 1 filesystem (`mke2fs -t ext2 -O
/// sparse_super,filetype,large_file`), with `/` and `/lost+found`. Everything is written and
/// synced before returning.
pub fn format(dev: Arc<dyn BlockDevice>, o: &FormatOptions) -> KResult<()> {
    if dev.read_only() {
        return Err(Errno::EROFS);
    }
    let l = layout(dev.size(), o)?;
    let bs = l.block_size as u64;
    let now = Timespec::now().sec as u32;
    let mut uuid = o.uuid.unwrap_or_else(random_bytes);
    if o.uuid.is_none() {
        uuid[6] = (uuid[6] & 0x0f) | 0x40;
        uuid[8] = (uuid[8] & 0x3f) | 0x80;
    }
    let ipg = l.inodes_per_group;
    let first_ino = 11u32;
    if ipg < first_ino + 1 {
        return Err(Errno::EINVAL);
    }

    // Group descriptors and bitmaps.
    let mut groups = Vec::new();
    let mut free_blocks_total = 0u64;
    let zero_block = vec![0u8; bs as usize];
    for g in 0..l.groups {
        let start = l.first_data_block as u64 + g as u64 * l.blocks_per_group as u64;
        let sb_len = if group_has_super(true, g) { 1 + l.gdt_blocks } else { 0 };
        let bb = start + sb_len;
        let mut gd = GroupDesc::new(bb, bb + 1, bb + 2);
        let n = l.group_blocks(g);
        let used = l.overhead(g);
        gd.free_blocks = (n - used) as u32;
        gd.free_inodes = if g == 0 { ipg - (first_ino - 1) } else { ipg };
        free_blocks_total += n - used;
        let mut bmap = vec![0u8; bs as usize];
        set_bits(&mut bmap, 0, used as usize);
        set_bits(&mut bmap, n as usize, bs as usize * 8);
        dev.write_at(bb * bs, &bmap)?;
        let mut imap = vec![0u8; bs as usize];
        if g == 0 {
            set_bits(&mut imap, 0, first_ino as usize - 1);
        }
        set_bits(&mut imap, ipg as usize, bs as usize * 8);
        dev.write_at((bb + 1) * bs, &imap)?;
        // Zero the inode table in large chunks.
        let chunk = vec![0u8; (bs as usize) * 256];
        let mut b = 0u64;
        while b < l.itable_blocks {
            let k = (l.itable_blocks - b).min(256);
            dev.write_at((bb + 2 + b) * bs, &chunk[..(k * bs) as usize])?;
            b += k;
        }
        groups.push(gd);
    }
    if l.first_data_block == 1 {
        dev.write_at(0, &zero_block)?;
    } else {
        dev.write_at(0, &zero_block[..1024])?;
    }

    // The superblock.
    let mut sb = [0u8; 1024];
    let total_inodes = l.inodes() as u32;
    put32(&mut sb, 0, total_inodes);
    put32(&mut sb, 4, l.blocks as u32);
    put32(&mut sb, 8, (l.blocks * o.reserved_percent.min(50) as u64 / 100) as u32);
    put32(&mut sb, 12, free_blocks_total as u32);
    put32(&mut sb, 16, total_inodes - (first_ino - 1));
    put32(&mut sb, 20, l.first_data_block);
    let log = l.block_size.trailing_zeros() - 10;
    put32(&mut sb, 24, log);
    put32(&mut sb, 28, log);
    put32(&mut sb, 32, l.blocks_per_group);
    put32(&mut sb, 36, l.blocks_per_group);
    put32(&mut sb, 40, ipg);
    put32(&mut sb, 44, 0);
    put32(&mut sb, 48, now);
    put16(&mut sb, 52, 0);
    put16(&mut sb, 54, 0xFFFF);
    put16(&mut sb, 56, EXT2_MAGIC);
    put16(&mut sb, 58, STATE_VALID);
    put16(&mut sb, 60, 1);
    put32(&mut sb, 64, now);
    put32(&mut sb, 76, 1);
    put32(&mut sb, 84, first_ino);
    put16(&mut sb, 88, l.inode_size as u16);
    put32(&mut sb, 92, 0);
    put32(&mut sb, 96, incompat::FILETYPE);
    put32(&mut sb, 100, ro_compat::SPARSE_SUPER | ro_compat::LARGE_FILE);
    sb[104..120].copy_from_slice(&uuid);
    let n = o.label.len().min(16);
    sb[120..120 + n].copy_from_slice(&o.label[..n]);
    let seed = random_bytes();
    sb[236..252].copy_from_slice(&seed);
    sb[252] = 1; // s_def_hash_version: half_md4
    put32(&mut sb, 264, now);
    if l.inode_size > 128 {
        put16(&mut sb, 348, 32);
        put16(&mut sb, 350, 32);
    }
    put32(&mut sb, 352, 1); // s_flags: signed directory hash (x86 char)

    // Write the superblock and descriptor table to group 0 and the backup groups.
    let mut gdt = vec![0u8; (l.gdt_blocks * bs) as usize];
    for (g, gd) in groups.iter().enumerate() {
        gdt[g * 32..g * 32 + 32].copy_from_slice(&gd.to_raw());
    }
    for g in 0..l.groups {
        if !group_has_super(true, g) {
            continue;
        }
        let start = l.first_data_block as u64 + g as u64 * l.blocks_per_group as u64;
        let mut s = sb;
        put16(&mut s, 90, g as u16);
        if g == 0 {
            dev.write_at(1024, &s)?;
        } else {
            let mut blk = vec![0u8; bs as usize];
            blk[..1024].copy_from_slice(&s);
            dev.write_at(start * bs, &blk)?;
        }
        dev.write_at((start + 1) * bs, &gdt)?;
    }
    dev.sync()?;

    // Root directory and lost+found, through the filesystem code itself.
    let fs = Ext2Fs::from_fs(super::Fs::mount(dev, false, false).map_err(|e| e.errno)?);
    {
        let mut f = fs.lock();
        let blk = f.alloc_block(l.first_data_block as u64)?;
        let mut b = vec![0u8; bs as usize];
        put32(&mut b, 0, ROOT_INO);
        put16(&mut b, 4, 12);
        b[6] = 1;
        b[7] = 2;
        b[8] = b'.';
        put32(&mut b, 12, ROOT_INO);
        put16(&mut b, 16, (bs - 12) as u16);
        b[18] = 2;
        b[19] = 2;
        b[20] = b'.';
        b[21] = b'.';
        f.cache.overwrite(blk, &b)?;
        let mut root = Inode::new(l.inode_size as usize);
        let t = Timespec::now();
        root.mode = S_IFDIR | 0o755;
        root.uid = o.root_uid;
        root.gid = o.root_gid;
        root.atime = t;
        root.mtime = t;
        root.ctime = t;
        root.links = 2;
        root.size = bs;
        root.blocks = bs / 512;
        root.set_block_ptr(0, blk as u32);
        f.write_inode(ROOT_INO, &root)?;
        f.groups[0].used_dirs += 1;
        f.mark_group(0);
        f.force_group = Some(0);
        let lpf = f.mkdir(ROOT_INO, b"lost+found", 0o700, 0, 0);
        f.force_group = None;
        let lpf = lpf?;
        // Preallocate lost+found up to 16 KiB (at most 12 direct blocks), as mke2fs does.
        let want = (16384 / bs).clamp(1, 12);
        let mut li = f.read_inode(lpf)?;
        for lblk in 1..want {
            let goal = f.map_block(lpf, &li, lblk - 1)?.map_or(0, |p| p + 1);
            let (p, _) = f.map_alloc(lpf, &mut li, lblk, goal)?;
            let mut e = vec![0u8; bs as usize];
            put16(&mut e, 4, if bs >= 65536 { 65535 } else { bs as u16 });
            f.cache.overwrite(p, &e)?;
            li.size = (lblk + 1) * bs;
        }
        f.write_inode(lpf, &li)?;
        // mke2fs leaves the mount count at 0.
        put16(&mut f.sb.raw, 52, 0);
        put32(&mut f.sb.raw, 44, 0);
        f.sb_dirty = true;
    }
    fs.unmount()?;
    Ok(())
}
