//! The jbd2 on-disk format (Linux's `include/linux/jbd2.h`): the journal superblock (v1/v2),
//! block headers, descriptor blocks with their tags, revoke blocks and commit blocks, and
//! the jbd2 checksums (v2/v3 and the superblock's). Every journal field is big-endian.

use super::super::checksum::crc32c_raw;

/// `JBD2_MAGIC_NUMBER`, the first word of every journal metadata block.
pub const MAGIC: u32 = 0xC03B_3998;

/// `h_blocktype` values.
pub mod blocktype {
    pub const DESCRIPTOR: u32 = 1;
    pub const COMMIT: u32 = 2;
    pub const SUPERBLOCK_V1: u32 = 3;
    pub const SUPERBLOCK_V2: u32 = 4;
    pub const REVOKE: u32 = 5;
}

/// Journal feature bits (`JBD2_FEATURE_*`).
pub mod feature {
    /// COMPAT: v1 commit-block crc32 checksums (`JBD2_FEATURE_COMPAT_CHECKSUM`).
    pub const COMPAT_CHECKSUM: u32 = 0x1;
    pub const INCOMPAT_REVOKE: u32 = 0x1;
    pub const INCOMPAT_64BIT: u32 = 0x2;
    pub const INCOMPAT_ASYNC_COMMIT: u32 = 0x4;
    pub const INCOMPAT_CSUM_V2: u32 = 0x8;
    pub const INCOMPAT_CSUM_V3: u32 = 0x10;
    pub const INCOMPAT_FAST_COMMIT: u32 = 0x20;
    /// INCOMPAT features umbra replays and writes; anything else refuses the mount.
    pub const INCOMPAT_SUPPORTED: u32 =
        INCOMPAT_REVOKE | INCOMPAT_64BIT | INCOMPAT_ASYNC_COMMIT | INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3;
}

/// Descriptor tag flags (`JBD2_FLAG_*`).
pub mod tag_flag {
    /// The block began with the journal magic, which was zeroed in the log copy.
    pub const ESCAPE: u32 = 1;
    /// No UUID follows the tag (same as the previous one).
    pub const SAME_UUID: u32 = 2;
    pub const DELETED: u32 = 4;
    /// The last tag of the descriptor block.
    pub const LAST_TAG: u32 = 8;
}

/// `JBD2_CRC32C_CHKSUM`, the only superblock checksum type.
pub const CHECKSUM_TYPE_CRC32C: u8 = 4;

/// Size of a block header (`journal_header_t`).
pub const HEADER_SIZE: usize = 12;
/// Size of the checksum tail of descriptor and revoke blocks (`struct jbd2_journal_block_tail`).
pub const TAIL_SIZE: usize = 4;
/// Size of a revoke block header (`jbd2_journal_revoke_header_t`).
pub const REVOKE_HEADER_SIZE: usize = 16;

/// Reads a big-endian `u32` at `off` (0 when out of range).
pub fn be32(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4).map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads a big-endian `u16` at `off` (0 when out of range).
pub fn be16(b: &[u8], off: usize) -> u16 {
    b.get(off..off + 2).map_or(0, |s| u16::from_be_bytes([s[0], s[1]]))
}

/// Writes a big-endian `u32` at `off` (ignored when out of range).
pub fn put_be32(b: &mut [u8], off: usize, v: u32) {
    if let Some(s) = b.get_mut(off..off + 4) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

fn put_be16(b: &mut [u8], off: usize, v: u16) {
    if let Some(s) = b.get_mut(off..off + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

/// A block header (`journal_header_t`): magic, block type, transaction id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub blocktype: u32,
    pub sequence: u32,
}

impl Header {
    /// The header of `block`, if it starts with the journal magic.
    pub fn parse(block: &[u8]) -> Option<Header> {
        (be32(block, 0) == MAGIC).then(|| Header { blocktype: be32(block, 4), sequence: be32(block, 8) })
    }

    /// Writes the header at the start of `block`.
    pub fn write(&self, block: &mut [u8]) {
        put_be32(block, 0, MAGIC);
        put_be32(block, 4, self.blocktype);
        put_be32(block, 8, self.sequence);
    }
}

/// The journal superblock (`journal_superblock_t`), block 0 of the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalSuperblock {
    /// The raw block (fields umbra does not interpret are written back unchanged).
    pub raw: Vec<u8>,
    /// 1 or 2.
    pub version: u32,
    pub blocksize: u32,
    /// Total journal blocks (`s_maxlen`).
    pub maxlen: u32,
    /// First log block (`s_first`).
    pub first: u32,
    /// Transaction id expected at `start` (`s_sequence`).
    pub sequence: u32,
    /// First log block of the oldest live transaction; 0 when the journal is empty.
    pub start: u32,
    pub feature_compat: u32,
    pub feature_incompat: u32,
    pub feature_ro_compat: u32,
    pub uuid: [u8; 16],
}

/// Why a journal superblock is unusable: one line for the user.
pub type FormatError = String;

impl JournalSuperblock {
    /// Parses and validates journal block 0 (`journal_get_superblock` + `load_superblock`):
    /// magic and version, block size, geometry, unknown INCOMPAT features and the v2/v3
    /// superblock checksum.
    pub fn parse(block: &[u8], fs_block_size: u32) -> Result<JournalSuperblock, FormatError> {
        let h = Header::parse(block).ok_or("journal superblock has a bad magic number")?;
        let version = match h.blocktype {
            blocktype::SUPERBLOCK_V1 => 1,
            blocktype::SUPERBLOCK_V2 => 2,
            t => return Err(format!("journal superblock has unknown block type {t}")),
        };
        if block.len() < 1024 {
            return Err("journal block too small".into());
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&block[0x30..0x40]);
        let mut sb = JournalSuperblock {
            raw: block.to_vec(),
            version,
            blocksize: be32(block, 0xC),
            maxlen: be32(block, 0x10),
            first: be32(block, 0x14),
            sequence: be32(block, 0x18),
            start: be32(block, 0x1C),
            feature_compat: 0,
            feature_incompat: 0,
            feature_ro_compat: 0,
            uuid,
        };
        if version == 2 {
            sb.feature_compat = be32(block, 0x24);
            sb.feature_incompat = be32(block, 0x28);
            sb.feature_ro_compat = be32(block, 0x2C);
        }
        if sb.blocksize != fs_block_size {
            return Err(format!("journal block size {} differs from the filesystem's {fs_block_size}", sb.blocksize));
        }
        if sb.first == 0 || sb.first >= sb.maxlen || sb.start >= sb.maxlen || (sb.start != 0 && sb.start < sb.first) {
            return Err(format!("journal geometry is invalid (first {}, start {}, length {})", sb.first, sb.start, sb.maxlen));
        }
        let unknown = sb.feature_incompat & !feature::INCOMPAT_SUPPORTED;
        if unknown != 0 {
            return Err(format!("unsupported journal feature(s): {}", incompat_names(unknown)));
        }
        if sb.has_incompat(feature::INCOMPAT_CSUM_V2) && sb.has_incompat(feature::INCOMPAT_CSUM_V3) {
            return Err("journal has both checksum v2 and v3".into());
        }
        if sb.csum_v2or3() {
            if block[0x50] != CHECKSUM_TYPE_CRC32C {
                return Err(format!("journal checksum type {} is unknown", block[0x50]));
            }
            if sb.checksum() != be32(block, 0xFC) {
                return Err("journal superblock checksum mismatch".into());
            }
        }
        Ok(sb)
    }

    /// Whether a journal INCOMPAT feature is set.
    pub fn has_incompat(&self, f: u32) -> bool {
        self.feature_incompat & f != 0
    }

    /// Turns on the revoke feature (as ext4 does at mount with `jbd2_journal_set_features`);
    /// v1 superblocks have no feature words, so they stay without revoke records.
    pub fn enable_revoke(&mut self) -> bool {
        if self.version < 2 {
            return false;
        }
        self.feature_incompat |= feature::INCOMPAT_REVOKE;
        let f = self.feature_incompat;
        put_be32(&mut self.raw, 0x28, f);
        true
    }

    /// Whether blocks carry jbd2 v2 or v3 checksums.
    pub fn csum_v2or3(&self) -> bool {
        self.has_incompat(feature::INCOMPAT_CSUM_V2 | feature::INCOMPAT_CSUM_V3)
    }

    /// The checksum seed (`j_csum_seed`): crc32c of the journal UUID.
    pub fn csum_seed(&self) -> u32 {
        crc32c_raw(!0, &self.uuid)
    }

    /// `jbd2_superblock_csum`: crc32c over the 1024-byte superblock with `s_checksum` zeroed.
    pub fn checksum(&self) -> u32 {
        let mut b = self.raw[..1024].to_vec();
        b[0xFC..0x100].fill(0);
        crc32c_raw(!0, &b)
    }

    /// The superblock bytes with `sequence`/`start` stored and the checksum updated.
    pub fn to_raw(&mut self) -> Vec<u8> {
        put_be32(&mut self.raw, 0x18, self.sequence);
        put_be32(&mut self.raw, 0x1C, self.start);
        if self.csum_v2or3() {
            let c = self.checksum();
            put_be32(&mut self.raw, 0xFC, c);
        }
        self.raw.clone()
    }

    /// The on-disk size of one descriptor tag (`journal_tag_bytes`).
    pub fn tag_bytes(&self) -> usize {
        if self.has_incompat(feature::INCOMPAT_CSUM_V3) {
            return 16;
        }
        let mut sz = 12;
        if self.has_incompat(feature::INCOMPAT_CSUM_V2) {
            sz += 2;
        }
        if self.has_incompat(feature::INCOMPAT_64BIT) {
            sz
        } else {
            sz - 4
        }
    }

    /// Bytes of one revoke record: 8 with 64bit, else 4.
    pub fn revoke_record_bytes(&self) -> usize {
        if self.has_incompat(feature::INCOMPAT_64BIT) {
            8
        } else {
            4
        }
    }
}

/// e2fsprogs' names of journal INCOMPAT bits.
pub fn incompat_names(mask: u32) -> String {
    let mut v = Vec::new();
    for bit in 0..32 {
        let f = 1u32 << bit;
        if mask & f == 0 {
            continue;
        }
        v.push(match f {
            feature::INCOMPAT_REVOKE => "journal_incompat_revoke".to_string(),
            feature::INCOMPAT_64BIT => "journal_64bit".into(),
            feature::INCOMPAT_ASYNC_COMMIT => "journal_async_commit".into(),
            feature::INCOMPAT_CSUM_V2 => "journal_checksum_v2".into(),
            feature::INCOMPAT_CSUM_V3 => "journal_checksum_v3".into(),
            feature::INCOMPAT_FAST_COMMIT => "journal_fast_commit".into(),
            _ => format!("FEATURE_I{bit}"),
        });
    }
    v.join(" ")
}

/// One descriptor tag: the home block of the log block that follows, and its flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    pub blocknr: u64,
    pub flags: u32,
    /// The stored data-block checksum (v2: low 16 bits; v3: all 32).
    pub checksum: u32,
}

/// The tags of a descriptor block (`do_one_pass`'s tag walk): stops at `LAST_TAG` or where
/// no further tag fits before the checksum tail.
pub fn parse_tags(jsb: &JournalSuperblock, block: &[u8]) -> Vec<Tag> {
    let tb = jsb.tag_bytes();
    let end = block.len() - if jsb.csum_v2or3() { TAIL_SIZE } else { 0 };
    let v3 = jsb.has_incompat(feature::INCOMPAT_CSUM_V3);
    let b64 = jsb.has_incompat(feature::INCOMPAT_64BIT);
    let mut tags = Vec::new();
    let mut off = HEADER_SIZE;
    while off + tb <= end {
        let (lo, flags, hi, checksum) = if v3 {
            (be32(block, off), be32(block, off + 4), be32(block, off + 8), be32(block, off + 12))
        } else {
            let hi = if b64 { be32(block, off + 8) } else { 0 };
            (be32(block, off), be16(block, off + 6) as u32, hi, be16(block, off + 4) as u32)
        };
        let blocknr = if b64 { (hi as u64) << 32 | lo as u64 } else { lo as u64 };
        tags.push(Tag { blocknr, flags, checksum });
        off += tb;
        if flags & tag_flag::SAME_UUID == 0 {
            off += 16;
        }
        if flags & tag_flag::LAST_TAG != 0 {
            break;
        }
    }
    tags
}

/// Writes `tag` at `off` of a descriptor block; returns the bytes used (tag, plus the UUID
/// when `SAME_UUID` is clear).
pub fn write_tag(jsb: &JournalSuperblock, block: &mut [u8], off: usize, tag: &Tag) -> usize {
    let b64 = jsb.has_incompat(feature::INCOMPAT_64BIT);
    let lo = tag.blocknr as u32;
    let hi = (tag.blocknr >> 32) as u32;
    if jsb.has_incompat(feature::INCOMPAT_CSUM_V3) {
        put_be32(block, off, lo);
        put_be32(block, off + 4, tag.flags);
        put_be32(block, off + 8, hi);
        put_be32(block, off + 12, tag.checksum);
    } else {
        put_be32(block, off, lo);
        put_be16(block, off + 4, tag.checksum as u16);
        put_be16(block, off + 6, tag.flags as u16);
        if b64 {
            put_be32(block, off + 8, hi);
        }
    }
    let mut used = jsb.tag_bytes();
    if tag.flags & tag_flag::SAME_UUID == 0 {
        block[off + used..off + used + 16].copy_from_slice(&jsb.uuid);
        used += 16;
    }
    used
}

/// The checksum of a journaled data block for its tag (`jbd2_block_tag_csum_set`): crc32c
/// of the transaction id then the log copy (escaped), from the journal seed. v2 keeps the
/// low 16 bits.
pub fn block_tag_csum(jsb: &JournalSuperblock, sequence: u32, data: &[u8]) -> u32 {
    let c = crc32c_raw(jsb.csum_seed(), &sequence.to_be_bytes());
    let c = crc32c_raw(c, data);
    if jsb.has_incompat(feature::INCOMPAT_CSUM_V3) {
        c
    } else {
        c & 0xFFFF
    }
}

/// The checksum in the tail of descriptor and revoke blocks (`jbd2_descriptor_block_csum`).
pub fn tail_csum(jsb: &JournalSuperblock, block: &[u8]) -> u32 {
    let mut b = block.to_vec();
    let n = b.len();
    b[n - TAIL_SIZE..].fill(0);
    crc32c_raw(jsb.csum_seed(), &b)
}

/// Whether a descriptor or revoke block's tail checksum is right (always, without v2/v3).
pub fn tail_csum_ok(jsb: &JournalSuperblock, block: &[u8]) -> bool {
    !jsb.csum_v2or3() || tail_csum(jsb, block) == be32(block, block.len() - TAIL_SIZE)
}

/// Stores the tail checksum of a descriptor or revoke block (no-op without v2/v3).
pub fn set_tail_csum(jsb: &JournalSuperblock, block: &mut [u8]) {
    if jsb.csum_v2or3() {
        let c = tail_csum(jsb, block);
        let n = block.len();
        put_be32(block, n - TAIL_SIZE, c);
    }
}

/// The commit block checksum (`jbd2_commit_block_csum`): crc32c over the block with the
/// checksum type, size and first checksum word zeroed.
pub fn commit_csum(jsb: &JournalSuperblock, block: &[u8]) -> u32 {
    let mut b = block.to_vec();
    b[0xC] = 0;
    b[0xD] = 0;
    b[0x10..0x14].fill(0);
    crc32c_raw(jsb.csum_seed(), &b)
}

/// Whether a commit block's checksum is right (always, without v2/v3).
pub fn commit_csum_ok(jsb: &JournalSuperblock, block: &[u8]) -> bool {
    !jsb.csum_v2or3() || commit_csum(jsb, block) == be32(block, 0x10)
}

/// A commit block for transaction `sequence` committed at `sec`.`nsec`, with its checksum.
pub fn commit_block(jsb: &JournalSuperblock, sequence: u32, sec: u64, nsec: u32) -> Vec<u8> {
    let mut b = vec![0u8; jsb.blocksize as usize];
    Header { blocktype: blocktype::COMMIT, sequence }.write(&mut b);
    b[0x30..0x38].copy_from_slice(&sec.to_be_bytes());
    put_be32(&mut b, 0x38, nsec);
    if jsb.csum_v2or3() {
        let c = commit_csum(jsb, &b);
        put_be32(&mut b, 0x10, c);
    }
    b
}

/// The commit time stored in a commit block (`h_commit_sec`).
pub fn commit_time(block: &[u8]) -> u64 {
    let s = &block[0x30..0x38];
    u64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
}

/// The block numbers of a revoke block (`scan_revoke_records`), bounded by `r_count`.
pub fn parse_revoke(jsb: &JournalSuperblock, block: &[u8]) -> Vec<u64> {
    let rsz = jsb.revoke_record_bytes();
    let limit = block.len() - if jsb.csum_v2or3() { TAIL_SIZE } else { 0 };
    let count = (be32(block, 12) as usize).min(limit);
    let mut v = Vec::new();
    let mut off = REVOKE_HEADER_SIZE;
    while off + rsz <= count {
        let b = if rsz == 8 { (be32(block, off) as u64) << 32 | be32(block, off + 4) as u64 } else { be32(block, off) as u64 };
        v.push(b);
        off += rsz;
    }
    v
}

/// Revoke blocks for transaction `sequence` holding `blocks` (`jbd2_journal_write_revoke_records`).
pub fn revoke_blocks(jsb: &JournalSuperblock, sequence: u32, blocks: &[u64]) -> Vec<Vec<u8>> {
    let bs = jsb.blocksize as usize;
    let rsz = jsb.revoke_record_bytes();
    let limit = bs - if jsb.csum_v2or3() { TAIL_SIZE } else { 0 };
    let per_block = (limit - REVOKE_HEADER_SIZE) / rsz;
    blocks
        .chunks(per_block.max(1))
        .map(|chunk| {
            let mut b = vec![0u8; bs];
            Header { blocktype: blocktype::REVOKE, sequence }.write(&mut b);
            let mut off = REVOKE_HEADER_SIZE;
            for &r in chunk {
                if rsz == 8 {
                    put_be32(&mut b, off, (r >> 32) as u32);
                    put_be32(&mut b, off + 4, r as u32);
                } else {
                    put_be32(&mut b, off, r as u32);
                }
                off += rsz;
            }
            put_be32(&mut b, 12, off as u32);
            set_tail_csum(jsb, &mut b);
            b
        })
        .collect()
}

/// How many tags fit in one descriptor block (the first carries the UUID).
pub fn tags_per_descriptor(jsb: &JournalSuperblock) -> usize {
    let space = jsb.blocksize as usize - HEADER_SIZE - if jsb.csum_v2or3() { TAIL_SIZE } else { 0 } - 16;
    space / jsb.tag_bytes()
}

/// A log copy of `data` for the journal: a block that starts with the journal magic has it
/// zeroed and the tag gets `ESCAPE` (`jbd2_journal_write_metadata_buffer`).
pub fn escape(data: &[u8]) -> (Vec<u8>, bool) {
    let mut copy = data.to_vec();
    let escaped = be32(data, 0) == MAGIC;
    if escaped {
        copy[..4].fill(0);
    }
    (copy, escaped)
}

/// Builds descriptor blocks for `homes` (the home block of each log copy that follows, in
/// order), each followed in the log by its tags' copies. `sums[i]` is the tag checksum and
/// `escaped[i]` whether copy `i` was escaped. Returns the descriptors and how many tags each has.
pub fn descriptor_blocks(jsb: &JournalSuperblock, sequence: u32, homes: &[u64], sums: &[u32], escaped: &[bool]) -> Vec<(Vec<u8>, usize)> {
    let per = tags_per_descriptor(jsb).max(1);
    let bs = jsb.blocksize as usize;
    let mut out = Vec::new();
    let mut i = 0;
    while i < homes.len() {
        let n = per.min(homes.len() - i);
        let mut b = vec![0u8; bs];
        Header { blocktype: blocktype::DESCRIPTOR, sequence }.write(&mut b);
        let mut off = HEADER_SIZE;
        for k in 0..n {
            let mut flags = if k == 0 { 0 } else { tag_flag::SAME_UUID };
            if escaped[i + k] {
                flags |= tag_flag::ESCAPE;
            }
            if k == n - 1 {
                flags |= tag_flag::LAST_TAG;
            }
            off += write_tag(jsb, &mut b, off, &Tag { blocknr: homes[i + k], flags, checksum: sums[i + k] });
        }
        set_tail_csum(jsb, &mut b);
        out.push((b, n));
        i += n;
    }
    out
}

/// A v2 journal superblock as mkfs makes it (first log block 1), for tests.
#[cfg(test)]
pub(crate) fn test_jsb(bs: u32, maxlen: u32, incompat: u32) -> JournalSuperblock {
    let mut b = vec![0u8; bs as usize];
    Header { blocktype: blocktype::SUPERBLOCK_V2, sequence: 0 }.write(&mut b);
    put_be32(&mut b, 0xC, bs);
    put_be32(&mut b, 0x10, maxlen);
    put_be32(&mut b, 0x14, 1);
    put_be32(&mut b, 0x28, incompat);
    b[0x30..0x40].copy_from_slice(&[7u8; 16]);
    if incompat & (feature::INCOMPAT_CSUM_V2 | feature::INCOMPAT_CSUM_V3) != 0 {
        b[0x50] = CHECKSUM_TYPE_CRC32C;
    }
    let mut t = JournalSuperblock {
        raw: b,
        version: 2,
        blocksize: bs,
        maxlen,
        first: 1,
        sequence: 1,
        start: 0,
        feature_compat: 0,
        feature_incompat: incompat,
        feature_ro_compat: 0,
        uuid: [7; 16],
    };
    let raw = t.to_raw();
    JournalSuperblock::parse(&raw, bs).expect("test journal superblock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jbd2_superblock_round_trips_and_checks_its_checksum() {
        let mut sb = test_jsb(1024, 1024, feature::INCOMPAT_CSUM_V3 | feature::INCOMPAT_64BIT);
        sb.start = 5;
        sb.sequence = 42;
        let mut raw = sb.to_raw();
        let back = JournalSuperblock::parse(&raw, 1024).unwrap();
        assert_eq!((back.start, back.sequence, back.version), (5, 42, 2));
        raw[0x40] ^= 1;
        assert!(JournalSuperblock::parse(&raw, 1024).unwrap_err().contains("checksum"));
        assert!(JournalSuperblock::parse(&sb.raw, 4096).is_err());
    }

    #[test]
    fn jbd2_unknown_incompat_features_are_refused_by_name() {
        let sb = test_jsb(1024, 1024, 0);
        let mut raw = sb.raw.clone();
        put_be32(&mut raw, 0x28, feature::INCOMPAT_FAST_COMMIT | 0x100);
        let e = JournalSuperblock::parse(&raw, 1024).unwrap_err();
        assert_eq!(e, "unsupported journal feature(s): journal_fast_commit FEATURE_I8");
    }

    #[test]
    fn jbd2_tag_sizes_follow_journal_tag_bytes() {
        use feature::*;
        assert_eq!(test_jsb(1024, 64, 0).tag_bytes(), 8);
        assert_eq!(test_jsb(1024, 64, INCOMPAT_64BIT).tag_bytes(), 12);
        assert_eq!(test_jsb(1024, 64, INCOMPAT_CSUM_V2).tag_bytes(), 10);
        assert_eq!(test_jsb(1024, 64, INCOMPAT_CSUM_V2 | INCOMPAT_64BIT).tag_bytes(), 14);
        assert_eq!(test_jsb(1024, 64, INCOMPAT_CSUM_V3).tag_bytes(), 16);
    }

    #[test]
    fn jbd2_descriptor_tags_round_trip_for_every_tag_format() {
        use feature::*;
        for inc in [0, INCOMPAT_64BIT, INCOMPAT_CSUM_V2, INCOMPAT_CSUM_V3 | INCOMPAT_64BIT] {
            let sb = test_jsb(1024, 64, inc);
            let per = tags_per_descriptor(&sb);
            let homes: Vec<u64> = (0..per as u64 + 3).map(|i| 1000 + i * 7).collect();
            let sums: Vec<u32> = homes.iter().map(|&h| block_tag_csum(&sb, 9, &[h as u8; 1024])).collect();
            let esc: Vec<bool> = homes.iter().map(|&h| h % 2 == 0).collect();
            let d = descriptor_blocks(&sb, 9, &homes, &sums, &esc);
            assert_eq!(d.len(), 2);
            let mut got = Vec::new();
            for (b, n) in &d {
                assert!(tail_csum_ok(&sb, b));
                let tags = parse_tags(&sb, b);
                assert_eq!(tags.len(), *n);
                got.extend(tags);
            }
            for (i, t) in got.iter().enumerate() {
                let hi_ok = inc & INCOMPAT_64BIT != 0 || homes[i] < 1 << 32;
                assert!(hi_ok);
                assert_eq!(t.blocknr, homes[i]);
                assert_eq!(t.flags & tag_flag::ESCAPE != 0, esc[i]);
                if sb.csum_v2or3() {
                    assert_eq!(t.checksum, sums[i]);
                }
            }
        }
    }

    #[test]
    fn jbd2_revoke_and_commit_blocks_round_trip() {
        use feature::*;
        for inc in [INCOMPAT_REVOKE, INCOMPAT_REVOKE | INCOMPAT_64BIT | INCOMPAT_CSUM_V3] {
            let sb = test_jsb(1024, 64, inc);
            let blocks: Vec<u64> = (0..300).map(|i| 5 + i * 3).collect();
            let rb = revoke_blocks(&sb, 3, &blocks);
            let mut back = Vec::new();
            for b in &rb {
                assert_eq!(Header::parse(b), Some(Header { blocktype: blocktype::REVOKE, sequence: 3 }));
                assert!(tail_csum_ok(&sb, b));
                back.extend(parse_revoke(&sb, b));
            }
            assert_eq!(back, blocks);
            let mut c = commit_block(&sb, 3, 1_700_000_000, 5);
            assert!(commit_csum_ok(&sb, &c));
            assert_eq!(commit_time(&c), 1_700_000_000);
            if sb.csum_v2or3() {
                c[100] ^= 1;
                assert!(!commit_csum_ok(&sb, &c));
            }
        }
    }

    #[test]
    fn jbd2_escape_zeroes_a_leading_magic() {
        let mut b = vec![1u8; 1024];
        assert!(!escape(&b).1);
        put_be32(&mut b, 0, MAGIC);
        let (c, e) = escape(&b);
        assert!(e);
        assert_eq!(&c[..4], &[0, 0, 0, 0]);
    }
}
