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
