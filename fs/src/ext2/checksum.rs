//! ext4 `metadata_csum` checksums: crc32c as Linux's `ext4_chksum` computes it (the raw
//! Castagnoli CRC with a caller-chosen seed and no final inversion).

/// `ext4_chksum(seed, data)`: crc32c continued from `seed`, without pre/post inversion.
pub fn crc32c_raw(seed: u32, data: &[u8]) -> u32 {
    !crc32c::crc32c_append(!seed, data)
}

/// The per-filesystem seed: `s_checksum_seed` with `csum_seed`, else crc of the UUID.
pub fn fs_seed(uuid: &[u8; 16], csum_seed_feature: bool, stored_seed: u32) -> u32 {
    if csum_seed_feature {
        stored_seed
    } else {
        crc32c_raw(!0, uuid)
    }
}

/// The superblock checksum (`ext4_superblock_csum`): crc over the bytes before `s_checksum`.
pub fn superblock(raw: &[u8; 1024]) -> u32 {
    crc32c_raw(!0, &raw[..0x3FC])
}

/// The group descriptor checksum (`ext4_group_desc_csum`, metadata_csum flavour): low 16 bits
/// of crc(seed, group number, descriptor with `bg_checksum` zeroed).
pub fn group_desc(seed: u32, group: u32, desc: &[u8]) -> u16 {
    let mut d = desc.to_vec();
    if d.len() >= 32 {
        d[0x1E] = 0;
        d[0x1F] = 0;
    }
    let c = crc32c_raw(seed, &group.to_le_bytes());
    (crc32c_raw(c, &d) & 0xFFFF) as u16
}

/// The per-inode seed: crc(fs seed, inode number, generation), used for inode, directory-block
/// and extent-block checksums.
pub fn inode_seed(seed: u32, ino: u32, generation: u32) -> u32 {
    let c = crc32c_raw(seed, &ino.to_le_bytes());
    crc32c_raw(c, &generation.to_le_bytes())
}

/// The inode checksum (`ext4_inode_csum`) over the whole on-disk inode with both checksum
/// fields zeroed. `has_hi` says whether `i_checksum_hi` exists (large inode with room for it).
pub fn inode(iseed: u32, raw: &[u8], has_hi: bool) -> u32 {
    let mut d = raw.to_vec();
    if d.len() >= 128 {
        d[0x7C] = 0;
        d[0x7D] = 0;
    }
    if has_hi && d.len() >= 0x84 {
        d[0x82] = 0;
        d[0x83] = 0;
    }
    crc32c_raw(iseed, &d)
}

/// A bitmap's checksum (`ext4_block_bitmap_csum_set`/`ext4_inode_bitmap_csum_set`): crc over
/// the bitmap's used bytes (blocks or inodes per group / 8); the low and high 16 bits go into
/// the group descriptor.
pub fn bitmap(seed: u32, bytes: &[u8]) -> u32 {
    crc32c_raw(seed, bytes)
}

/// An xattr block's checksum (`ext4_xattr_block_csum`): crc(seed, block number, block with
/// `h_checksum` zeroed).
pub fn xattr_block(seed: u32, blocknr: u64, block: &[u8]) -> u32 {
    let mut b = block.to_vec();
    if b.len() >= 0x14 {
        b[0x10..0x14].fill(0);
    }
    let c = crc32c_raw(seed, &blocknr.to_le_bytes());
    crc32c_raw(c, &b)
}

/// The `uninit_bg` (`GDT_CSUM`) group descriptor checksum: crc16 of the UUID, the group number
/// and the descriptor without its checksum field (`ext4_group_desc_csum`, crc16 flavour).
pub fn group_desc_crc16(uuid: &[u8; 16], group: u32, desc: &[u8]) -> u16 {
    let mut c = crc16(0xFFFF, uuid);
    c = crc16(c, &group.to_le_bytes());
    c = crc16(c, &desc[..desc.len().min(0x1E)]);
    if desc.len() > 0x20 {
        c = crc16(c, &desc[0x20..]);
    }
    c
}

/// The kernel's `crc16` (polynomial 0x8005, bit-reflected), continued from `crc`.
fn crc16(mut crc: u16, data: &[u8]) -> u16 {
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xA001 } else { crc >> 1 };
        }
    }
    crc
}

/// Sets the checksum in the 12-byte tail of a directory leaf block (`ext4_dirent_csum_set`):
/// crc over the block before the tail, seeded with the directory's inode seed. Returns false
/// if the block has no tail.
pub fn set_dirent_tail(iseed: u32, block: &mut [u8]) -> bool {
    let n = block.len();
    if !has_dirent_tail(block) {
        return false;
    }
    let c = crc32c_raw(iseed, &block[..n - 12]);
    block[n - 4..].copy_from_slice(&c.to_le_bytes());
    true
}

/// Whether a directory block ends with the checksum tail (inode 0, rec_len 12, name_len 0,
/// file type 0xDE).
pub fn has_dirent_tail(block: &[u8]) -> bool {
    let n = block.len();
    n >= 12 && block[n - 12..n - 8] == [0; 4] && block[n - 8..n - 6] == [12, 0] && block[n - 6] == 0 && block[n - 5] == 0xDE
}

/// Writes an empty checksum tail at the end of a directory block.
pub fn init_dirent_tail(block: &mut [u8]) {
    let n = block.len();
    block[n - 12..].fill(0);
    block[n - 8] = 12;
    block[n - 5] = 0xDE;
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc16_matches_the_kernels() {
        // crc16(0, "123456789") with the kernel's table (CRC-16/ARC) is 0xBB3D.
        assert_eq!(super::crc16(0, b"123456789"), 0xBB3D);
    }
}
