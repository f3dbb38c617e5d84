//! The ext2/ext4 superblock (`struct ext2_super_block`/`ext4_super_block`), 1024 bytes at byte
//! offset 1024, and the feature flags.
//!
//! The raw bytes are kept so that fields umbra does not interpret are written back unchanged;
//! the geometry is parsed and validated once at mount time, as `ext2_fill_super` does.

use super::raw::{get16, get32, put16, put32};
use uapi::Errno;

/// The ext2 magic number (`EXT2_SUPER_MAGIC`), also `statfs`'s `f_type`.
pub const EXT2_MAGIC: u16 = 0xEF53;
/// `s_state`: cleanly unmounted.
pub const STATE_VALID: u16 = 1;
/// `s_state`: errors detected.
pub const STATE_ERROR: u16 = 2;

/// COMPAT feature bits.
pub mod compat {
    pub const DIR_PREALLOC: u32 = 0x1;
    pub const IMAGIC_INODES: u32 = 0x2;
    pub const HAS_JOURNAL: u32 = 0x4;
    pub const EXT_ATTR: u32 = 0x8;
    pub const RESIZE_INODE: u32 = 0x10;
    pub const DIR_INDEX: u32 = 0x20;
}

/// INCOMPAT feature bits.
pub mod incompat {
    pub const COMPRESSION: u32 = 0x1;
    pub const FILETYPE: u32 = 0x2;
    pub const RECOVER: u32 = 0x4;
    pub const JOURNAL_DEV: u32 = 0x8;
    pub const META_BG: u32 = 0x10;
    pub const EXTENTS: u32 = 0x40;
    pub const BIT64: u32 = 0x80;
    pub const MMP: u32 = 0x100;
    pub const FLEX_BG: u32 = 0x200;
    pub const EA_INODE: u32 = 0x400;
    pub const DIRDATA: u32 = 0x1000;
    pub const CSUM_SEED: u32 = 0x2000;
    pub const LARGEDIR: u32 = 0x4000;
    pub const INLINE_DATA: u32 = 0x8000;
    pub const ENCRYPT: u32 = 0x10000;
    pub const CASEFOLD: u32 = 0x20000;

    /// Features umbra can read.
    pub const READ_SUPPORTED: u32 =
        FILETYPE | RECOVER | EXTENTS | BIT64 | FLEX_BG | CSUM_SEED | LARGEDIR | INLINE_DATA | MMP | EA_INODE;
    /// Features umbra can write: ext4's default set (`extent 64bit flex_bg`, and the checksum
    /// seed), not inline data, large directories or the rest.
    pub const WRITE_SUPPORTED: u32 = FILETYPE | EXTENTS | BIT64 | FLEX_BG | CSUM_SEED;
}

/// RO_COMPAT feature bits.
pub mod ro_compat {
    pub const SPARSE_SUPER: u32 = 0x1;
    pub const LARGE_FILE: u32 = 0x2;
    pub const BTREE_DIR: u32 = 0x4;
    pub const HUGE_FILE: u32 = 0x8;
    pub const GDT_CSUM: u32 = 0x10;
    pub const DIR_NLINK: u32 = 0x20;
    pub const EXTRA_ISIZE: u32 = 0x40;
    pub const HAS_SNAPSHOT: u32 = 0x80;
    pub const QUOTA: u32 = 0x100;
    pub const BIGALLOC: u32 = 0x200;
    pub const METADATA_CSUM: u32 = 0x400;
    pub const REPLICA: u32 = 0x800;
    pub const READONLY: u32 = 0x1000;
    pub const PROJECT: u32 = 0x2000;
    pub const VERITY: u32 = 0x8000;
    pub const ORPHAN_PRESENT: u32 = 0x10000;

    /// Features umbra can write: ext2's plus ext4's defaults (`huge_file dir_nlink extra_isize
    /// metadata_csum`, and `uninit_bg` for images made without `metadata_csum`).
    pub const WRITE_SUPPORTED: u32 =
        SPARSE_SUPER | LARGE_FILE | HUGE_FILE | GDT_CSUM | DIR_NLINK | EXTRA_ISIZE | METADATA_CSUM;
}

/// The e2fsprogs name of an INCOMPAT feature bit.
pub fn incompat_name(bit: u32) -> String {
    use incompat::*;
    match bit {
        COMPRESSION => "compression".into(),
        FILETYPE => "filetype".into(),
        RECOVER => "needs_recovery".into(),
        JOURNAL_DEV => "journal_dev".into(),
        META_BG => "meta_bg".into(),
        EXTENTS => "extent".into(),
        BIT64 => "64bit".into(),
        MMP => "mmp".into(),
        FLEX_BG => "flex_bg".into(),
        EA_INODE => "ea_inode".into(),
        DIRDATA => "dirdata".into(),
        CSUM_SEED => "metadata_csum_seed".into(),
        LARGEDIR => "large_dir".into(),
        INLINE_DATA => "inline_data".into(),
        ENCRYPT => "encrypt".into(),
        CASEFOLD => "casefold".into(),
        b => format!("FEATURE_I{}", b.trailing_zeros()),
    }
}

/// The e2fsprogs name of a RO_COMPAT feature bit.
pub fn ro_compat_name(bit: u32) -> String {
    use ro_compat::*;
    match bit {
        SPARSE_SUPER => "sparse_super".into(),
        LARGE_FILE => "large_file".into(),
        BTREE_DIR => "btree_dir".into(),
        HUGE_FILE => "huge_file".into(),
        GDT_CSUM => "uninit_bg".into(),
        DIR_NLINK => "dir_nlink".into(),
        EXTRA_ISIZE => "extra_isize".into(),
        HAS_SNAPSHOT => "snapshot".into(),
        QUOTA => "quota".into(),
        BIGALLOC => "bigalloc".into(),
        METADATA_CSUM => "metadata_csum".into(),
        REPLICA => "replica".into(),
        READONLY => "read-only".into(),
        PROJECT => "project".into(),
        VERITY => "verity".into(),
        ORPHAN_PRESENT => "orphan_present".into(),
        b => format!("FEATURE_R{}", b.trailing_zeros()),
    }
}

/// Space-separated names of the set bits of `mask`.
pub fn names(mask: u32, name: fn(u32) -> String) -> String {
    (0..32)
        .map(|i| 1u32 << i)
        .filter(|b| mask & b != 0)
        .map(name)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The parsed superblock with its raw bytes.
#[derive(Clone)]
pub struct Superblock {
    /// The 1024 on-disk bytes (kept up to date by the setters).
    pub raw: [u8; 1024],
    pub inodes_count: u32,
    pub blocks_count: u64,
    pub r_blocks_count: u64,
    pub first_data_block: u32,
    pub log_block_size: u32,
    pub block_size: u32,
    pub blocks_per_group: u32,
    pub inodes_per_group: u32,
    pub rev_level: u32,
    pub first_ino: u32,
    pub inode_size: u32,
    pub feature_compat: u32,
    pub feature_incompat: u32,
    pub feature_ro_compat: u32,
    pub desc_size: u32,
    pub group_count: u32,
    pub uuid: [u8; 16],
}

fn bad(msg: String) -> (Errno, String) {
    (Errno::EINVAL, msg)
}

impl Superblock {
    /// Parses and validates a superblock (the checks of `ext2_fill_super`/`ext4_fill_super`
    /// that keep later arithmetic in range). `dev_size` is the device size in bytes.
    pub fn parse(raw: &[u8; 1024], dev_size: u64) -> Result<Superblock, (Errno, String)> {
        if get16(raw, 56) != EXT2_MAGIC {
            return Err(bad("not an ext2/ext3/ext4 filesystem (bad magic)".into()));
        }
        let rev_level = get32(raw, 76);
        if rev_level > 1 {
            return Err(bad(format!("unsupported revision level {rev_level}")));
        }
        let (feature_compat, feature_incompat, feature_ro_compat) = if rev_level >= 1 {
            (get32(raw, 92), get32(raw, 96), get32(raw, 100))
        } else {
            (0, 0, 0)
        };
        let log_block_size = get32(raw, 24);
        if log_block_size > 6 {
            return Err(bad(format!("corrupt superblock: block size 2^{} KiB", log_block_size)));
        }
        let block_size = 1024u32 << log_block_size;
        let bit64 = feature_incompat & incompat::BIT64 != 0;
        let mut blocks_count = get32(raw, 4) as u64;
        let mut r_blocks_count = get32(raw, 8) as u64;
        if bit64 {
            blocks_count |= (get32(raw, 336) as u64) << 32;
            r_blocks_count |= (get32(raw, 340) as u64) << 32;
        }
        let first_data_block = get32(raw, 20);
        let blocks_per_group = get32(raw, 32);
        let inodes_per_group = get32(raw, 40);
        let inodes_count = get32(raw, 0);
        let (first_ino, inode_size) =
            if rev_level == 0 { (11, 128) } else { (get32(raw, 84), get16(raw, 88) as u32) };
        if inode_size < 128 || !inode_size.is_power_of_two() || inode_size > block_size {
            return Err(bad(format!("corrupt superblock: inode size {inode_size}")));
        }
        if blocks_per_group == 0 || blocks_per_group > block_size * 8 {
            return Err(bad(format!("corrupt superblock: {blocks_per_group} blocks per group")));
        }
        if inodes_per_group == 0 || inodes_per_group > block_size * 8 {
            return Err(bad(format!("corrupt superblock: {inodes_per_group} inodes per group")));
        }
        if first_data_block > 1 || (first_data_block == 1 && block_size != 1024) {
            return Err(bad(format!("corrupt superblock: first data block {first_data_block}")));
        }
        if blocks_count <= first_data_block as u64 {
            return Err(bad("corrupt superblock: no blocks".into()));
        }
        let dev_blocks = dev_size / block_size as u64;
        if blocks_count > dev_blocks {
            return Err(bad(format!(
                "image is truncated: filesystem has {blocks_count} blocks, the image only {dev_blocks}"
            )));
        }
        let groups64 = (blocks_count - first_data_block as u64).div_ceil(blocks_per_group as u64);
        let group_count = u32::try_from(groups64).map_err(|_| bad("corrupt superblock: too many groups".into()))?;
        if (group_count as u64) * (inodes_per_group as u64) != inodes_count as u64 {
            return Err(bad(format!(
                "corrupt superblock: inodes count {inodes_count} != {group_count} groups * {inodes_per_group}"
            )));
        }
        if first_ino < 11 || first_ino > inodes_count {
            return Err(bad(format!("corrupt superblock: first inode {first_ino}")));
        }
        let desc_size = if bit64 { get16(raw, 254) as u32 } else { 32 };
        if !(32..=1024).contains(&desc_size) || !desc_size.is_power_of_two() || (bit64 && desc_size < 64) {
            return Err(bad(format!("corrupt superblock: group descriptor size {desc_size}")));
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&raw[104..120]);
        Ok(Superblock {
            raw: *raw,
            inodes_count,
            blocks_count,
            r_blocks_count,
            first_data_block,
            log_block_size,
            block_size,
            blocks_per_group,
            inodes_per_group,
            rev_level,
            first_ino,
            inode_size,
            feature_compat,
            feature_incompat,
            feature_ro_compat,
            desc_size,
            group_count,
            uuid,
        })
    }

    /// `s_free_blocks_count`.
    pub fn free_blocks(&self) -> u64 {
        let mut v = get32(&self.raw, 12) as u64;
        if self.feature_incompat & incompat::BIT64 != 0 {
            v |= (get32(&self.raw, 344) as u64) << 32;
        }
        v
    }
    /// Sets `s_free_blocks_count`.
    pub fn set_free_blocks(&mut self, v: u64) {
        put32(&mut self.raw, 12, v as u32);
        if self.feature_incompat & incompat::BIT64 != 0 {
            put32(&mut self.raw, 344, (v >> 32) as u32);
        }
    }
    /// `s_free_inodes_count`.
    pub fn free_inodes(&self) -> u32 {
        get32(&self.raw, 16)
    }
    /// Sets `s_free_inodes_count`.
    pub fn set_free_inodes(&mut self, v: u32) {
        put32(&mut self.raw, 16, v)
    }
    /// `s_state`.
    pub fn state(&self) -> u16 {
        get16(&self.raw, 58)
    }
    /// Sets `s_state`.
    pub fn set_state(&mut self, v: u16) {
        put16(&mut self.raw, 58, v)
    }
    /// Sets the RO_COMPAT feature word.
    pub fn set_ro_compat(&mut self, v: u32) {
        self.feature_ro_compat = v;
        put32(&mut self.raw, 100, v)
    }
    /// Whether a COMPAT feature is set.
    pub fn has_compat(&self, f: u32) -> bool {
        self.feature_compat & f != 0
    }
    /// Whether an INCOMPAT feature is set.
    pub fn has_incompat(&self, f: u32) -> bool {
        self.feature_incompat & f != 0
    }
    /// Whether a RO_COMPAT feature is set.
    pub fn has_ro_compat(&self, f: u32) -> bool {
        self.feature_ro_compat & f != 0
    }
    /// Records a rw mount as `ext2_setup_super` does: bumps `s_mnt_count`, sets `s_mtime`.
    pub fn note_mount(&mut self, now: u32) {
        let c = get16(&self.raw, 52).wrapping_add(1);
        put16(&mut self.raw, 52, c);
        put32(&mut self.raw, 44, now);
    }
    /// Sets `s_wtime`.
    pub fn set_wtime(&mut self, now: u32) {
        put32(&mut self.raw, 48, now);
    }
    /// `s_volume_name` up to its NUL.
    pub fn label(&self) -> Vec<u8> {
        let l = &self.raw[120..136];
        let n = l.iter().position(|&c| c == 0).unwrap_or(16);
        l[..n].to_vec()
    }
    /// Whether group `g` holds a superblock/GDT backup (`ext2_bg_has_super`): all groups
    /// without `sparse_super`, else 0, 1 and powers of 3, 5 and 7.
    pub fn group_has_super(&self, g: u32) -> bool {
        group_has_super(self.has_ro_compat(ro_compat::SPARSE_SUPER), g)
    }
    /// Number of blocks in group `g` (the last group may be short).
    pub fn blocks_in_group(&self, g: u32) -> u32 {
        let start = self.group_first_block(g);
        let end = start.saturating_add(self.blocks_per_group as u64).min(self.blocks_count);
        end.saturating_sub(start) as u32
    }
    /// The first block of group `g`.
    pub fn group_first_block(&self, g: u32) -> u64 {
        self.first_data_block as u64 + g as u64 * self.blocks_per_group as u64
    }
    /// Blocks taken by the group descriptor table.
    pub fn gdt_blocks(&self) -> u64 {
        (self.group_count as u64 * self.desc_size as u64).div_ceil(self.block_size as u64)
    }
    /// `s_reserved_gdt_blocks` (online-resize reserve after the GDT).
    pub fn reserved_gdt_blocks(&self) -> u64 {
        if self.has_compat(compat::RESIZE_INODE) {
            get16(&self.raw, 206) as u64
        } else {
            0
        }
    }
}

/// `ext2_bg_has_super`: 0, 1 and powers of 3, 5, 7 with sparse_super, else every group.
pub fn group_has_super(sparse: bool, g: u32) -> bool {
    if !sparse || g <= 1 {
        return true;
    }
    for base in [3u32, 5, 7] {
        let mut p = base;
        while p < g {
            match p.checked_mul(base) {
                Some(n) => p = n,
                None => break,
            }
        }
        if p == g {
            return true;
        }
    }
    false
}
