//! Extended attributes on disk, as Linux keeps them on ext2/ext4 (`fs/ext2/xattr.c`,
//! `fs/ext4/xattr.c`):
//!
//! - In the inode body, after `i_extra_isize` in a large inode (ext4's in-inode attributes):
//!   a magic word, then the entries, with their values packed from the end of the inode.
//! - In one block named by `i_file_acl`: a 32-byte header (magic, reference count, one block,
//!   hash), the entries sorted by (name index, name length, name) — Linux looks entries up in
//!   that order — and the values packed from the end of the block. The block counts in the
//!   inode's `i_blocks`.
//!
//! Each entry carries its hash (name bytes as signed chars, then the value's 32-bit words),
//! the block header the hash of its entries' hashes. Identical attribute sets share one block
//! through its reference count, found by that hash (Linux's mbcache, here [`XattrCache`]);
//! a shared block is copied before it changes and freed when its last reference goes.
//! A new attribute goes into the inode body when it fits there, else into the block
//! (`ENOSPC` when neither has room; `ERANGE` for a value larger than a block, as ext2).

use std::collections::HashMap;

use super::inode::Inode;
use super::raw::{get16, get32, put16, put32};
use super::superblock::compat;
use super::{corrupt, Ext2Fs, Fs};
use crate::xattr::check_set_flags;
use uapi::{Errno, KResult};

const XATTR_MAGIC: u32 = 0xEA02_0000;
/// `struct ext2_xattr_header`.
const HEADER_LEN: usize = 32;
/// `struct ext2_xattr_entry` without its name.
const ENTRY_LEN: usize = 16;
/// Most inodes one block is shared by (`EXT2_XATTR_REFCOUNT_MAX`).
const REFCOUNT_MAX: u32 = 1024;

/// The name indexes (`EXT2_XATTR_INDEX_*`).
pub mod index {
    /// `user.`
    pub const USER: u8 = 1;
    /// `system.posix_acl_access` (empty suffix).
    pub const ACL_ACCESS: u8 = 2;
    /// `system.posix_acl_default` (empty suffix).
    pub const ACL_DEFAULT: u8 = 3;
    /// `trusted.`
    pub const TRUSTED: u8 = 4;
    /// `security.`
    pub const SECURITY: u8 = 6;
}

/// One stored attribute: name index, name suffix, value (ACLs in ext2's disk format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xattr {
    /// The namespace (`index::*`).
    pub index: u8,
    /// The name after the namespace's prefix.
    pub name: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
}

impl Xattr {
    fn key(&self) -> (u8, usize, &[u8]) {
        (self.index, self.name.len(), &self.name)
    }
}

/// Blocks holding attributes, by header hash, to find one to share (Linux's mbcache).
#[derive(Debug, Default)]
pub struct XattrCache {
    by_hash: HashMap<u32, Vec<u64>>,
    hash_of: HashMap<u64, u32>,
}

impl XattrCache {
    fn insert(&mut self, blk: u64, hash: u32) {
        self.remove(blk);
        if hash == 0 {
            return;
        }
        self.by_hash.entry(hash).or_default().push(blk);
        self.hash_of.insert(blk, hash);
    }

    fn remove(&mut self, blk: u64) {
        let Some(h) = self.hash_of.remove(&blk) else { return };
        if let Some(v) = self.by_hash.get_mut(&h) {
            v.retain(|&b| b != blk);
            if v.is_empty() {
                self.by_hash.remove(&h);
            }
        }
    }

    fn candidates(&self, hash: u32) -> Vec<u64> {
        self.by_hash.get(&hash).cloned().unwrap_or_default()
    }
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// An entry's size with its name, padded (`EXT2_XATTR_LEN`).
fn entry_size(name_len: usize) -> usize {
    pad4(ENTRY_LEN + name_len)
}

/// `ext2_xattr_hash_entry`: the name as signed chars (x86's `char`), then the value's words.
fn entry_hash(x: &Xattr) -> u32 {
    let mut h = 0u32;
    for &c in &x.name {
        h = (h << 5) ^ (h >> 27) ^ (c as i8 as i32 as u32);
    }
    for chunk in x.value.chunks(4) {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        h = (h << 16) ^ (h >> 16) ^ u32::from_le_bytes(w);
    }
    h
}

/// `ext2_xattr_rehash`: the block's hash over its entries' hashes (0 if any is 0: never
/// shared).
fn block_hash(entries: &[Xattr]) -> u32 {
    let mut h = 0u32;
    for x in entries {
        let e = entry_hash(x);
        if e == 0 {
            return 0;
        }
        h = (h << 16) ^ (h >> 16) ^ e;
    }
    h
}

/// Where the entries of an attribute area start and what value offsets count from.
#[derive(Clone, Copy)]
struct Area {
    first: usize,
    value_base: usize,
}

/// A block: entries after the header, offsets from the block start.
const BLOCK: Area = Area { first: HEADER_LEN, value_base: 0 };
/// The inode body: entries after the magic, offsets from the first entry.
const IBODY: Area = Area { first: 4, value_base: 4 };

/// Parses the entries of an area (`buf` is the whole area); `Err` names what is corrupt.
/// Entries whose value lives in another inode (ext4's `ea_inode`) are skipped.
fn parse_area(buf: &[u8], area: Area) -> Result<Vec<Xattr>, &'static str> {
    let mut out = Vec::new();
    let mut off = area.first;
    loop {
        if off + 4 > buf.len() {
            return Err("entries run past the end");
        }
        if get32(buf, off) == 0 {
            return Ok(out);
        }
        if off + ENTRY_LEN > buf.len() {
            return Err("entry runs past the end");
        }
        let name_len = buf[off] as usize;
        let index = buf[off + 1];
        let value_offs = get16(buf, off + 2) as usize;
        let value_inum = get32(buf, off + 4);
        let value_size = get32(buf, off + 8) as usize;
        let name = buf.get(off + ENTRY_LEN..off + ENTRY_LEN + name_len).ok_or("name runs past the end")?;
        if value_inum == 0 {
            let start = area.value_base + value_offs;
            let value = if value_size == 0 { &[][..] } else { buf.get(start..start + value_size).ok_or("value outside the area")? };
            out.push(Xattr { index, name: name.to_vec(), value: value.to_vec() });
        } else {
            log::debug!("ext2: skipping an attribute stored in inode {value_inum} (ea_inode)");
        }
        off += entry_size(name_len);
    }
}

/// Lays `entries` out in an area of `len` bytes (entries from `area.first`, values packed
/// from the end, hashes filled in); `None` if they do not fit.
fn encode_area(entries: &[Xattr], len: usize, area: Area) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut off = area.first;
    let mut values_start = len;
    for x in entries {
        let vsz = pad4(x.value.len());
        let value_at = values_start.checked_sub(vsz)?;
        if off + entry_size(x.name.len()) + 4 > value_at || x.name.len() > 255 {
            return None;
        }
        buf[off] = x.name.len() as u8;
        buf[off + 1] = x.index;
        if !x.value.is_empty() {
            put16(&mut buf, off + 2, u16::try_from(value_at - area.value_base).ok()?);
            buf[value_at..value_at + x.value.len()].copy_from_slice(&x.value);
        }
        put32(&mut buf, off + 8, x.value.len() as u32);
        put32(&mut buf, off + 12, entry_hash(x));
        buf[off + ENTRY_LEN..off + ENTRY_LEN + x.name.len()].copy_from_slice(&x.name);
        off += entry_size(x.name.len());
        values_start = value_at;
    }
    Some(buf)
}

/// The in-inode attribute area of `i` as a byte range of its raw inode: after
/// `i_extra_isize` in a large inode whose extra size is set and 4-aligned.
fn ibody_range(i: &Inode) -> Option<(usize, usize)> {
    if i.raw.len() <= 128 {
        return None;
    }
    let extra = get16(&i.raw, 128) as usize;
    let start = 128 + extra;
    if extra == 0 || !extra.is_multiple_of(4) || start + 8 > i.raw.len() {
        return None;
    }
    Some((start, i.raw.len()))
}

impl Fs {
    /// The attributes in `i`'s body.
    fn ibody_xattrs(&self, ino: u32, i: &Inode) -> KResult<Vec<Xattr>> {
        let Some((start, end)) = ibody_range(i) else { return Ok(Vec::new()) };
        let area = &i.raw[start..end];
        if get32(area, 0) != XATTR_MAGIC {
            return Ok(Vec::new());
        }
        parse_area(area, IBODY).map_err(|why| corrupt!("inode {ino}: in-inode attributes: {why}"))
    }

    /// The attributes and reference count of xattr block `blk` of inode `ino`, remembered
    /// for sharing.
    fn read_xattr_block(&mut self, ino: u32, blk: u64) -> KResult<(Vec<Xattr>, u32)> {
        self.check_block(blk, "xattr", ino)?;
        let (parsed, refs, hash) = {
            let b = self.cache.read(blk)?;
            if get32(b, 0) != XATTR_MAGIC || get32(b, 8) != 1 {
                return Err(corrupt!("inode {ino}: xattr block {blk} has a bad header"));
            }
            (parse_area(b, BLOCK), get32(b, 4), get32(b, 12))
        };
        let entries = parsed.map_err(|why| corrupt!("inode {ino}: xattr block {blk}: {why}"))?;
        self.xattr_cache.insert(blk, hash);
        Ok((entries, refs))
    }

    /// The attributes of inode `ino`: those in its body, then those in its block.
    fn all_xattrs(&mut self, ino: u32, i: &Inode) -> KResult<(Vec<Xattr>, Vec<Xattr>)> {
        let body = self.ibody_xattrs(ino, i)?;
        let block = if i.file_acl == 0 { Vec::new() } else { self.read_xattr_block(ino, i.file_acl)?.0 };
        Ok((body, block))
    }

    /// The value of attribute (`index`, `name`) of inode `ino` (`ENODATA` if unset).
    pub fn xattr_get(&mut self, ino: u32, index: u8, name: &[u8]) -> KResult<Vec<u8>> {
        let i = self.read_inode(ino)?;
        let (body, block) = self.all_xattrs(ino, &i)?;
        body.into_iter()
            .chain(block)
            .find(|x| x.index == index && x.name == name)
            .map(|x| x.value)
            .ok_or(Errno::ENODATA)
    }

    /// The (index, name) of every attribute of inode `ino`: the body's, then the block's.
    pub fn xattr_list(&mut self, ino: u32) -> KResult<Vec<(u8, Vec<u8>)>> {
        let i = self.read_inode(ino)?;
        let (body, block) = self.all_xattrs(ino, &i)?;
        Ok(body.into_iter().chain(block).map(|x| (x.index, x.name)).collect())
    }

    /// Sets (`Some`) or removes (`None`) attribute (`index`, `name`) of inode `ino` under
    /// `XATTR_CREATE`/`XATTR_REPLACE` `flags`; removing a missing attribute without
    /// `XATTR_REPLACE` does nothing. Updates ctime.
    pub fn xattr_set(&mut self, ino: u32, index: u8, name: &[u8], value: Option<&[u8]>, flags: u32) -> KResult<()> {
        self.ensure_rw()?;
        if name.len() > 255 || value.is_some_and(|v| v.len() > self.bs() as usize) {
            return Err(Errno::ERANGE);
        }
        let mut i = self.read_inode(ino)?;
        let (mut body, mut block) = self.all_xattrs(ino, &i)?;
        let matches = |x: &Xattr| x.index == index && x.name == name;
        let exists = body.iter().chain(block.iter()).any(matches);
        check_set_flags(exists, flags)?;
        if value.is_none() && !exists {
            return Ok(());
        }
        body.retain(|x| !matches(x));
        block.retain(|x| !matches(x));
        if let Some(v) = value {
            let new = Xattr { index, name: name.to_vec(), value: v.to_vec() };
            self.place_new(&i, &mut body, &mut block, new)?;
        }
        if let Some((start, end)) = ibody_range(&i) {
            let area = self.encode_ibody(&body, end - start).ok_or(Errno::ENOSPC)?;
            i.raw[start..end].copy_from_slice(&area);
        }
        self.store_xattr_block(ino, &mut i, &block)?;
        i.ctime = Fs::now();
        self.write_inode(ino, &i)?;
        self.note_ext_attr();
        Ok(())
    }

    /// Puts a new attribute in the inode body if it fits there, else in the block (sorted).
    fn place_new(&self, i: &Inode, body: &mut Vec<Xattr>, block: &mut Vec<Xattr>, new: Xattr) -> KResult<()> {
        if let Some((start, end)) = ibody_range(i) {
            body.push(new);
            if self.encode_ibody(body, end - start).is_some() {
                return Ok(());
            }
            let new = body.pop().ok_or(Errno::EIO)?;
            block.push(new);
        } else {
            block.push(new);
        }
        block.sort_by(|a, b| a.key().cmp(&b.key()));
        if encode_area(block, self.bs() as usize, BLOCK).is_none() {
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    /// The in-inode area for `entries` (magic included; all zero when empty).
    fn encode_ibody(&self, entries: &[Xattr], len: usize) -> Option<Vec<u8>> {
        if entries.is_empty() {
            return Some(vec![0u8; len]);
        }
        let mut area = encode_area(entries, len, IBODY)?;
        put32(&mut area, 0, XATTR_MAGIC);
        Some(area)
    }

    /// Makes `i`'s xattr block hold `entries`: none frees (or unshares) it; an identical
    /// block elsewhere is shared; a block only this inode uses is rewritten in place; else a
    /// new block is allocated. `i.file_acl` and `i.blocks` follow.
    fn store_xattr_block(&mut self, ino: u32, i: &mut Inode, entries: &[Xattr]) -> KResult<()> {
        let old = i.file_acl;
        let spb = self.sectors_per_block();
        if entries.is_empty() {
            if old != 0 {
                self.release_xattr_block(ino, old)?;
                i.file_acl = 0;
                i.blocks = i.blocks.saturating_sub(spb);
            }
            return Ok(());
        }
        let (old_entries, old_refs) = if old != 0 { self.read_xattr_block(ino, old)? } else { (Vec::new(), 0) };
        if old != 0 && old_entries == entries {
            return Ok(());
        }
        let hash = block_hash(entries);
        if let Some(shared) = self.find_shared_block(ino, hash, entries, old)? {
            let b = self.cache.modify(shared)?;
            let refs = get32(b, 4);
            put32(b, 4, refs + 1);
            self.seal_xattr_block(shared)?;
            self.replace_block(ino, i, shared)?;
            return Ok(());
        }
        let content = self.encode_block(entries, hash, 1).ok_or(Errno::ENOSPC)?;
        if old != 0 && old_refs == 1 {
            self.cache.overwrite(old, &content)?;
            self.seal_xattr_block(old)?;
            self.xattr_cache.insert(old, hash);
            return Ok(());
        }
        let group = (ino - 1) / self.sb.inodes_per_group;
        let blk = self.alloc_block(self.sb.group_first_block(group))?;
        self.cache.overwrite(blk, &content)?;
        self.seal_xattr_block(blk)?;
        self.xattr_cache.insert(blk, hash);
        self.replace_block(ino, i, blk)
    }

    /// Points `i` at xattr block `blk` (already holding this inode's reference), dropping the
    /// reference to its previous one.
    fn replace_block(&mut self, ino: u32, i: &mut Inode, blk: u64) -> KResult<()> {
        if i.file_acl != 0 {
            self.release_xattr_block(ino, i.file_acl)?;
        } else {
            i.blocks = i.blocks.saturating_add(self.sectors_per_block());
        }
        i.file_acl = blk;
        Ok(())
    }

    /// A block other than `old` holding exactly `entries`, with room for another reference
    /// (`ext2_xattr_cache_find`).
    fn find_shared_block(&mut self, ino: u32, hash: u32, entries: &[Xattr], old: u64) -> KResult<Option<u64>> {
        if hash == 0 {
            return Ok(None);
        }
        for blk in self.xattr_cache.candidates(hash) {
            if blk == old {
                continue;
            }
            match self.read_xattr_block(ino, blk) {
                Ok((e, refs)) if refs < REFCOUNT_MAX && e == entries => return Ok(Some(blk)),
                Ok(_) => {}
                Err(_) => self.xattr_cache.remove(blk),
            }
        }
        Ok(None)
    }

    /// A block's bytes: the header (magic, `refs`, one block, `hash`) and the entries.
    fn encode_block(&self, entries: &[Xattr], hash: u32, refs: u32) -> Option<Vec<u8>> {
        let mut b = encode_area(entries, self.bs() as usize, BLOCK)?;
        put32(&mut b, 0, XATTR_MAGIC);
        put32(&mut b, 4, refs);
        put32(&mut b, 8, 1);
        put32(&mut b, 12, hash);
        Some(b)
    }

    /// Sets the `ext_attr` feature once attributes are stored (`ext2_xattr_update_super_block`).
    fn note_ext_attr(&mut self) {
        if !self.sb.has_compat(compat::EXT_ATTR) {
            self.sb.feature_compat |= compat::EXT_ATTR;
            put32(&mut self.sb.raw, 92, self.sb.feature_compat);
            self.sb_dirty = true;
        }
    }

    /// Drops inode `ino`'s reference to its xattr block, freeing it at zero, as
    /// `ext2_xattr_delete_inode`/`ext2_xattr_release_block` do. A block that is not an xattr
    /// block is left alone (with a warning).
    pub fn release_xattr_block(&mut self, ino: u32, blk: u64) -> KResult<()> {
        if blk == 0 {
            return Ok(());
        }
        if self.check_block(blk, "xattr", ino).is_err() {
            return Ok(());
        }
        let (magic, refs) = {
            let b = self.cache.read(blk)?;
            (get32(b, 0), get32(b, 4))
        };
        if magic != XATTR_MAGIC {
            log::warn!("ext2: inode {ino}: xattr block {blk} has a bad magic; not freed");
            return Ok(());
        }
        if refs > 1 {
            let b = self.cache.modify(blk)?;
            put32(b, 4, refs - 1);
            self.seal_xattr_block(blk)
        } else {
            self.xattr_cache.remove(blk);
            self.free_block(blk)
        }
    }

    /// Sets the checksum of xattr block `blk` (`h_checksum`, with `metadata_csum`).
    fn seal_xattr_block(&mut self, blk: u64) -> KResult<()> {
        let Some(seed) = self.csum_seed else { return Ok(()) };
        let c = super::checksum::xattr_block(seed, blk, self.cache.read(blk)?);
        put32(self.cache.modify(blk)?, 0x10, c);
        Ok(())
    }

}

impl Ext2Fs {
    /// The value of attribute (`index`, `name`) of inode `ino` (`ENODATA` if unset).
    pub fn xattr_get(&self, ino: u32, index: u8, name: &[u8]) -> KResult<Vec<u8>> {
        self.lock().xattr_get(ino, index, name)
    }

    /// The (index, name) of every attribute of inode `ino`.
    pub fn xattr_list(&self, ino: u32) -> KResult<Vec<(u8, Vec<u8>)>> {
        self.lock().xattr_list(ino)
    }

    /// Sets (`Some`) or removes (`None`) attribute (`index`, `name`) of inode `ino`.
    pub fn xattr_set(&self, ino: u32, index: u8, name: &[u8], value: Option<&[u8]>, flags: u32) -> KResult<()> {
        self.lock().xattr_set(ino, index, name, value, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::MemBlockDevice;
    use crate::ext2::mkfs::{format, FormatOptions};
    use crate::ext2::ROOT_INO;
    use std::sync::Arc;

    fn fresh(inode_size: u32) -> Ext2Fs {
        let dev = Arc::new(MemBlockDevice::new(4 << 20));
        format(dev.clone(), &FormatOptions { block_size: 1024, inode_size, ..FormatOptions::default() }).unwrap();
        Ext2Fs::mount(dev, false).unwrap()
    }

    fn file(fs: &Ext2Fs, name: &str) -> u32 {
        fs.create(ROOT_INO, name.as_bytes(), 0o100644, 0, 0, 0).unwrap()
    }

    /// (i_file_acl, i_blocks, the block's reference count).
    fn block_of(fs: &Ext2Fs, ino: u32) -> (u64, u64, u32) {
        let mut f = fs.lock();
        let i = f.read_inode(ino).unwrap();
        let refs = if i.file_acl == 0 { 0 } else { get32(f.cache.read(i.file_acl).unwrap(), 4) };
        (i.file_acl, i.blocks, refs)
    }

    #[test]
    fn identical_sets_share_a_block_until_one_changes() {
        let fs = fresh(128);
        let (a, b, c) = (file(&fs, "a"), file(&fs, "b"), file(&fs, "c"));
        let free0 = fs.statfs().bfree;
        for ino in [a, b, c] {
            fs.xattr_set(ino, index::USER, b"k", Some(b"value"), 0).unwrap();
        }
        let (blk, sectors, refs) = block_of(&fs, a);
        assert_eq!((sectors, refs), (2, 3));
        assert_eq!(block_of(&fs, b).0, blk);
        assert_eq!(fs.statfs().bfree, free0 - 1, "one block for three inodes");
        fs.xattr_set(b, index::USER, b"k", Some(b"other"), 0).unwrap();
        assert_ne!(block_of(&fs, b).0, blk, "a shared block is copied before it changes");
        assert_eq!(block_of(&fs, a).2, 2);
        assert_eq!(fs.xattr_get(a, index::USER, b"k").unwrap(), b"value");
        fs.xattr_set(c, index::USER, b"k", None, crate::xattr::XATTR_REPLACE).unwrap();
        assert_eq!(block_of(&fs, c), (0, 0, 0));
        fs.xattr_set(b, index::USER, b"k", None, 0).unwrap();
        fs.unlink(ROOT_INO, b"a").unwrap();
        fs.evict(a).unwrap();
        assert_eq!(fs.statfs().bfree, free0, "every xattr block freed");
    }

    #[test]
    fn large_inodes_keep_small_attributes_inside() {
        let fs = fresh(256);
        let a = file(&fs, "a");
        fs.xattr_set(a, index::USER, b"small", Some(b"v"), 0).unwrap();
        assert_eq!(block_of(&fs, a).0, 0, "fits in the inode body");
        fs.xattr_set(a, index::TRUSTED, b"big", Some(&[1; 200]), 0).unwrap();
        assert_ne!(block_of(&fs, a).0, 0, "too big for the body: in a block");
        let mut names = fs.xattr_list(a).unwrap();
        names.sort();
        assert_eq!(names, vec![(index::USER, b"small".to_vec()), (index::TRUSTED, b"big".to_vec())]);
        fs.xattr_set(a, index::TRUSTED, b"big", None, 0).unwrap();
        assert_eq!(block_of(&fs, a).0, 0);
        assert_eq!(fs.xattr_get(a, index::USER, b"small").unwrap(), b"v");
    }

    #[test]
    fn limits_follow_ext2() {
        let fs = fresh(128);
        let a = file(&fs, "a");
        assert_eq!(fs.xattr_set(a, index::USER, b"k", Some(&[0; 1025]), 0), Err(Errno::ERANGE));
        assert_eq!(fs.xattr_set(a, index::USER, &[b'n'; 256], Some(b""), 0), Err(Errno::ERANGE));
        assert_eq!(fs.xattr_set(a, index::USER, b"k", Some(b"v"), crate::xattr::XATTR_REPLACE), Err(Errno::ENODATA));
        fs.xattr_set(a, index::USER, b"k", Some(b"v"), crate::xattr::XATTR_CREATE).unwrap();
        assert_eq!(fs.xattr_set(a, index::USER, b"k", Some(b"v"), crate::xattr::XATTR_CREATE), Err(Errno::EEXIST));
        let mut n = 0;
        let err = loop {
            match fs.xattr_set(a, index::USER, format!("fill{n}").as_bytes(), Some(&[7; 100]), 0) {
                Ok(()) => n += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err, Errno::ENOSPC);
        assert!(n >= 7, "a 1 KiB block holds several 100-byte values ({n})");
        assert_eq!(fs.xattr_list(a).unwrap().len(), n + 1, "a failed set changes nothing");
        assert_eq!(fs.xattr_get(a, index::USER, b"fill0").unwrap(), vec![7; 100]);
    }

    fn x(index: u8, name: &str, value: &[u8]) -> Xattr {
        Xattr { index, name: name.as_bytes().to_vec(), value: value.to_vec() }
    }

    #[test]
    fn hash_matches_linux() {
        // The name hash shifts by 5 and the value words by 16, as ext2_xattr_hash_entry.
        let e = x(index::USER, "a", b"");
        assert_eq!(entry_hash(&e), b'a' as u32);
        let e = x(index::USER, "ab", b"\x01\0\0\0");
        let name = ((b'a' as u32) << 5) ^ b'b' as u32;
        assert_eq!(entry_hash(&e), (name << 16) ^ (name >> 16) ^ 1);
        // Bytes past 0x7f count as negative chars.
        let h1 = 0xffff_ffc3u32;
        assert_eq!(entry_hash(&x(index::USER, "\u{e9}", b"")), (h1 << 5) ^ (h1 >> 27) ^ 0xffff_ffa9);
    }

    #[test]
    fn areas_round_trip() {
        let entries = vec![x(index::USER, "a", b"hello"), x(index::TRUSTED, "bb", b""), x(index::SECURITY, "c", &[7; 9])];
        let block = encode_area(&entries, 1024, BLOCK).unwrap();
        assert_eq!(parse_area(&block, BLOCK).unwrap(), entries);
        let body = encode_area(&entries, 96, IBODY).unwrap();
        assert_eq!(parse_area(&body, IBODY).unwrap(), entries);
        assert!(encode_area(&entries, 60, IBODY).is_none());
        assert!(encode_area(&[x(index::USER, "a", &[0; 2000])], 1024, BLOCK).is_none());
    }
}
