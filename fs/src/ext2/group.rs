//! Block group descriptors (`struct ext2_group_desc`, and ext4's 64-byte `ext4_group_desc`
//! with `64bit`), stored in the blocks after the superblock.

use super::raw::{get16, get32, put16, put32};

/// `bg_flags`: inode table and bitmap not initialised (ext4 `uninit_bg`).
pub const BG_INODE_UNINIT: u16 = 1;
/// `bg_flags`: block bitmap not initialised.
pub const BG_BLOCK_UNINIT: u16 = 2;

/// One parsed group descriptor with its raw bytes.
#[derive(Clone, Debug)]
pub struct GroupDesc {
    pub raw: Vec<u8>,
    pub block_bitmap: u64,
    pub inode_bitmap: u64,
    pub inode_table: u64,
    pub free_blocks: u32,
    pub free_inodes: u32,
    pub used_dirs: u32,
    pub flags: u16,
    pub checksum: u16,
    /// `bg_itable_unused`: inodes at the end of the table never used (with group checksums).
    pub itable_unused: u32,
}

impl GroupDesc {
    /// Parses a descriptor of `raw.len()` bytes (32, or 64 and more with `64bit`).
    pub fn parse(raw: &[u8]) -> GroupDesc {
        let wide = raw.len() >= 64;
        let hi32 = |off| if wide { (get32(raw, off) as u64) << 32 } else { 0 };
        let hi16 = |off| if wide { (get16(raw, off) as u32) << 16 } else { 0 };
        GroupDesc {
            raw: raw.to_vec(),
            block_bitmap: get32(raw, 0) as u64 | hi32(32),
            inode_bitmap: get32(raw, 4) as u64 | hi32(36),
            inode_table: get32(raw, 8) as u64 | hi32(40),
            free_blocks: get16(raw, 12) as u32 | hi16(44),
            free_inodes: get16(raw, 14) as u32 | hi16(46),
            used_dirs: get16(raw, 16) as u32 | hi16(48),
            flags: get16(raw, 18),
            checksum: get16(raw, 30),
            itable_unused: get16(raw, 0x1C) as u32 | hi16(0x32),
        }
    }

    /// A fresh 32-byte descriptor.
    pub fn new(block_bitmap: u64, inode_bitmap: u64, inode_table: u64) -> GroupDesc {
        let mut g = GroupDesc::parse(&[0u8; 32]);
        g.block_bitmap = block_bitmap;
        g.inode_bitmap = inode_bitmap;
        g.inode_table = inode_table;
        g
    }

    /// The descriptor's on-disk bytes with the parsed fields stored back.
    pub fn to_raw(&self) -> Vec<u8> {
        let mut r = self.raw.clone();
        let wide = r.len() >= 64;
        put32(&mut r, 0, self.block_bitmap as u32);
        put32(&mut r, 4, self.inode_bitmap as u32);
        put32(&mut r, 8, self.inode_table as u32);
        put16(&mut r, 12, self.free_blocks as u16);
        put16(&mut r, 14, self.free_inodes as u16);
        put16(&mut r, 16, self.used_dirs as u16);
        put16(&mut r, 18, self.flags);
        put16(&mut r, 0x1C, self.itable_unused as u16);
        if wide {
            put16(&mut r, 0x32, (self.itable_unused >> 16) as u16);
            put32(&mut r, 32, (self.block_bitmap >> 32) as u32);
            put32(&mut r, 36, (self.inode_bitmap >> 32) as u32);
            put32(&mut r, 40, (self.inode_table >> 32) as u32);
            put16(&mut r, 44, (self.free_blocks >> 16) as u16);
            put16(&mut r, 46, (self.free_inodes >> 16) as u16);
            put16(&mut r, 48, (self.used_dirs >> 16) as u16);
        }
        r
    }
}
