//! ext4 extent-tree writes (Linux's `fs/ext4/extents.c`, simplified): allocating a logical
//! block, converting unwritten (preallocated) extents when they are written, preallocating
//! with `fallocate`, truncating and punching holes.
//!
//! The tree (rooted in `i_block`: a 12-byte header and up to 4 entries; blocks below hold
//! `(block size - 12) / 12` entries and, with `metadata_csum`, a checksum tail) maps logical
//! ranges to physical runs. Two paths change it:
//! * the **fast path**, for the common case of a file written in order: the new block extends
//!   the extent that ends just before it (when the block after that extent's run is free), or
//!   is inserted into a leaf with room, in place — one node written;
//! * the **general path**: every extent is read into a sorted list, the list is changed
//!   (split, merged, cut) and the tree is rebuilt bottom-up from it, reusing the old node
//!   blocks. Simple enough to be obviously right, and only taken for the rarer changes
//!   (preallocated ranges written, holes filled in a full leaf, truncation, punching).

use super::inode::Inode;
use super::raw::{get16, get32, put16, put32};
use super::{checksum, corrupt, Fs};
use uapi::{Errno, KResult};

const EXT_MAGIC: u16 = 0xF30A;
/// Linux's `EXT4_MAX_EXTENT_DEPTH`.
const MAX_DEPTH: u16 = 5;
/// Longest initialized extent (`EXT_INIT_MAX_LEN`); `ee_len` above it marks an unwritten one.
const INIT_MAX_LEN: u32 = 32768;
/// Longest unwritten extent (`EXT_UNWRITTEN_MAX_LEN`).
const UNWRITTEN_MAX_LEN: u32 = 32767;
/// Entries of the root node in `i_block`.
const ROOT_ENTRIES: usize = 4;

/// One leaf entry: `len` blocks from logical `lblk` at physical `phys`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    pub lblk: u32,
    pub len: u32,
    pub phys: u64,
    pub unwritten: bool,
}

impl Extent {
    fn end(&self) -> u64 {
        self.lblk as u64 + self.len as u64
    }
    fn max_len(&self) -> u32 {
        if self.unwritten { UNWRITTEN_MAX_LEN } else { INIT_MAX_LEN }
    }
    /// Whether `next` continues this extent logically and physically in the same state.
    fn joins(&self, next: &Extent) -> bool {
        self.end() == next.lblk as u64
            && self.phys + self.len as u64 == next.phys
            && self.unwritten == next.unwritten
            && self.len + next.len <= self.max_len()
    }
}

fn parse_leaf(e: &[u8]) -> Extent {
    let raw_len = get16(e, 4) as u32;
    let unwritten = raw_len > INIT_MAX_LEN;
    Extent {
        lblk: get32(e, 0),
        len: if unwritten { raw_len - INIT_MAX_LEN } else { raw_len },
        phys: (get16(e, 6) as u64) << 32 | get32(e, 8) as u64,
        unwritten,
    }
}

fn put_leaf(e: &mut [u8], x: &Extent) {
    put32(e, 0, x.lblk);
    put16(e, 4, if x.unwritten { (x.len + INIT_MAX_LEN) as u16 } else { x.len as u16 });
    put16(e, 6, (x.phys >> 32) as u16);
    put32(e, 8, x.phys as u32);
}

fn put_index(e: &mut [u8], first: u32, child: u64) {
    put32(e, 0, first);
    put32(e, 4, child as u32);
    put16(e, 8, (child >> 32) as u16);
    put16(e, 10, 0);
}

fn put_header(n: &mut [u8], entries: usize, max: usize, depth: u16) {
    put16(n, 0, EXT_MAGIC);
    put16(n, 2, entries as u16);
    put16(n, 4, max as u16);
    put16(n, 6, depth);
    put32(n, 8, 0);
}

/// Puts an empty extent root (a leaf with no entries) in `inode.block`, as a new inode on an
/// `extent` filesystem gets it (`ext4_ext_tree_init`).
pub fn init_root(inode: &mut Inode) {
    inode.block = [0; super::inode::I_BLOCK_BYTES];
    put_header(&mut inode.block, 0, ROOT_ENTRIES, 0);
    inode.flags |= super::inode::FL_EXTENTS;
}

/// The leaf that holds (or would hold) a logical block.
struct Leaf {
    /// The leaf's block (`None`: the root in `i_block` is the leaf).
    block: Option<u64>,
    /// The leaf's bytes.
    node: Vec<u8>,
}

impl Fs {
    /// Entries a node block holds.
    fn node_max(&self) -> usize {
        (self.bs() as usize - 12) / 12
    }

    fn check_header(&self, ino: u32, node: &[u8], want_depth: Option<u16>) -> KResult<(usize, usize, u16)> {
        if get16(node, 0) != EXT_MAGIC {
            return Err(corrupt!("inode {ino}: bad extent header magic"));
        }
        let (entries, max, depth) = (get16(node, 2) as usize, get16(node, 4) as usize, get16(node, 6));
        if 12 + max * 12 > node.len() || entries > max || depth > MAX_DEPTH || want_depth.is_some_and(|d| d != depth) {
            return Err(corrupt!("inode {ino}: bad extent header (entries {entries} max {max} depth {depth})"));
        }
        Ok((entries, max, depth))
    }

    /// Reads extent node block `blk` of `ino`, verifying its checksum.
    fn read_node(&mut self, ino: u32, inode: &Inode, blk: u64, depth: u16) -> KResult<Vec<u8>> {
        self.check_block(blk, "extent node", ino)?;
        let node = self.cache.read(blk)?.to_vec();
        let (_, max, _) = self.check_header(ino, &node, Some(depth))?;
        if let Some(seed) = self.csum_seed {
            let tail = 12 + max * 12;
            if tail + 4 > node.len() {
                return Err(corrupt!("inode {ino}: extent block {blk} has no room for its checksum"));
            }
            if checksum::crc32c_raw(checksum::inode_seed(seed, ino, inode.generation), &node[..tail]) != get32(&node, tail) {
                log::warn!("ext4: inode {ino}: extent block {blk} checksum mismatch");
                return Err(Errno::EUCLEAN);
            }
        }
        Ok(node)
    }

    /// Writes extent node block `blk` with its checksum tail.
    fn write_node(&mut self, ino: u32, inode: &Inode, blk: u64, mut node: Vec<u8>) -> KResult<()> {
        if let Some(seed) = self.csum_seed {
            let tail = 12 + get16(&node, 4) as usize * 12;
            if tail + 4 <= node.len() {
                let c = checksum::crc32c_raw(checksum::inode_seed(seed, ino, inode.generation), &node[..tail]);
                put32(&mut node, tail, c);
            }
        }
        self.cache.overwrite(blk, &node)
    }

    /// Every extent of `ino` in logical order, and the blocks of the tree's nodes below the root.
    pub fn extents_all(&mut self, ino: u32, inode: &Inode) -> KResult<(Vec<Extent>, Vec<u64>)> {
        let mut exts = Vec::new();
        let mut nodes = Vec::new();
        let root = inode.block.to_vec();
        let (_, _, depth) = self.check_header(ino, &root, None)?;
        self.collect(ino, inode, &root, depth, &mut exts, &mut nodes)?;
        if exts.windows(2).any(|w| w[0].end() > w[1].lblk as u64) || exts.iter().any(|e| e.len == 0) {
            return Err(corrupt!("inode {ino}: extents overlap or are out of order"));
        }
        Ok((exts, nodes))
    }

    fn collect(&mut self, ino: u32, inode: &Inode, node: &[u8], depth: u16, exts: &mut Vec<Extent>, nodes: &mut Vec<u64>) -> KResult<()> {
        let entries = get16(node, 2) as usize;
        for i in 0..entries {
            let e = &node[12 + i * 12..24 + i * 12];
            if depth == 0 {
                let x = parse_leaf(e);
                self.check_block(x.phys, "extent data", ino)?;
                if x.len > 0 {
                    self.check_block(x.phys + x.len as u64 - 1, "extent data", ino)?;
                }
                exts.push(x);
            } else {
                let child = (get16(e, 8) as u64) << 32 | get32(e, 4) as u64;
                if nodes.len() > 1 << 20 || nodes.contains(&child) {
                    return Err(corrupt!("inode {ino}: extent tree loops"));
                }
                let n = self.read_node(ino, inode, child, depth - 1)?;
                nodes.push(child);
                self.collect(ino, inode, &n, depth - 1, exts, nodes)?;
            }
        }
        Ok(())
    }

    /// Replaces the tree of `inode` by one holding `exts` (sorted, not overlapping), built
    /// bottom-up; the node blocks of the old tree (`old_nodes`) are reused, more are allocated
    /// near the data, leftovers freed. Updates `inode.block` and `inode.blocks`.
    pub fn extents_store(&mut self, ino: u32, inode: &mut Inode, exts: &[Extent], old_nodes: Vec<u64>) -> KResult<()> {
        let spb = self.sectors_per_block();
        let old = old_nodes.len() as u64;
        let mut spare = old_nodes;
        spare.reverse();
        let goal = exts.first().map_or(0, |e| e.phys.saturating_sub(1));
        let leaves: Vec<Vec<u8>> = exts
            .iter()
            .map(|x| {
                let mut e = vec![0u8; 12];
                put_leaf(&mut e, x);
                e
            })
            .collect();
        let mut level: Vec<(u32, Vec<u8>)> = exts.iter().zip(leaves).map(|(x, e)| (x.lblk, e)).collect();
        // Every node block is taken before any is written: running out of space then leaves
        // the old tree (whose blocks are being reused) untouched.
        let needed = nodes_needed(exts.len(), self.node_max())?;
        let mut fresh = Vec::new();
        while spare.len() + fresh.len() < needed {
            match self.alloc_block(goal) {
                Ok(b) => fresh.push(b),
                Err(e) => {
                    for b in fresh {
                        self.free_block(b)?;
                    }
                    return Err(e);
                }
            }
        }
        fresh.reverse();
        fresh.extend(spare);
        let mut spare = fresh;
        let mut depth = 0u16;
        let mut used = 0u64;
        while level.len() > ROOT_ENTRIES {
            let max = self.node_max();
            let mut upper = Vec::new();
            for chunk in level.chunks(max) {
                let mut node = vec![0u8; self.bs() as usize];
                put_header(&mut node, chunk.len(), max, depth);
                for (i, (_, e)) in chunk.iter().enumerate() {
                    node[12 + i * 12..24 + i * 12].copy_from_slice(e);
                }
                let blk = spare.pop().ok_or(Errno::EIO)?;
                used += 1;
                self.write_node(ino, inode, blk, node)?;
                let mut idx = vec![0u8; 12];
                put_index(&mut idx, chunk[0].0, blk);
                upper.push((chunk[0].0, idx));
            }
            level = upper;
            depth += 1;
        }
        let mut root = [0u8; super::inode::I_BLOCK_BYTES];
        put_header(&mut root, level.len(), ROOT_ENTRIES, depth);
        for (i, (_, e)) in level.iter().enumerate() {
            root[12 + i * 12..24 + i * 12].copy_from_slice(e);
        }
        inode.block = root;
        for b in spare {
            self.free_block(b)?;
        }
        inode.blocks = inode.blocks.saturating_sub(old * spb).saturating_add(used * spb);
        Ok(())
    }

    /// Maps `lblk` of an extent-mapped inode, allocating a block near `goal` if it is a hole
    /// and converting it if it is unwritten. Returns the block and whether it is new (its
    /// contents are then undefined). Updates `inode.block`/`inode.blocks`; the caller writes it.
    pub fn extent_map_alloc(&mut self, ino: u32, inode: &mut Inode, lblk: u64, goal: u64) -> KResult<(u64, bool)> {
        let lblk = u32::try_from(lblk).map_err(|_| Errno::EFBIG)?;
        if let Some(r) = self.extent_append_fast(ino, inode, lblk, goal)? {
            return Ok(r);
        }
        let (mut exts, nodes) = self.extents_all(ino, inode)?;
        let pos = exts.partition_point(|e| e.end() <= lblk as u64);
        if let Some(x) = exts.get(pos).copied().filter(|x| x.lblk <= lblk) {
            let phys = x.phys + (lblk - x.lblk) as u64;
            if !x.unwritten {
                return Ok((phys, false));
            }
            let mut parts = Vec::new();
            if lblk > x.lblk {
                parts.push(Extent { len: lblk - x.lblk, ..x });
            }
            parts.push(Extent { lblk, len: 1, phys, unwritten: false });
            if x.end() > lblk as u64 + 1 {
                parts.push(Extent { lblk: lblk + 1, len: (x.end() - lblk as u64 - 1) as u32, phys: phys + 1, unwritten: true });
            }
            exts.splice(pos..pos + 1, parts);
            merge(&mut exts);
            self.extents_store(ino, inode, &exts, nodes)?;
            return Ok((phys, true));
        }
        let goal = match pos.checked_sub(1).and_then(|p| exts.get(p)) {
            Some(prev) => prev.phys + (lblk - prev.lblk) as u64,
            None => goal,
        };
        let phys = self.alloc_block(goal)?;
        exts.insert(pos, Extent { lblk, len: 1, phys, unwritten: false });
        merge(&mut exts);
        inode.blocks = inode.blocks.saturating_add(self.sectors_per_block());
        if let Err(e) = self.extents_store(ino, inode, &exts, nodes) {
            let _ = self.free_block(phys);
            inode.blocks = inode.blocks.saturating_sub(self.sectors_per_block());
            return Err(e);
        }
        Ok((phys, true))
    }

    /// The leaf that holds (or would hold) `lblk`.
    fn find_leaf(&mut self, ino: u32, inode: &Inode, lblk: u32) -> KResult<Leaf> {
        let mut node = inode.block.to_vec();
        let mut block = None;
        let (_, _, mut depth) = self.check_header(ino, &node, None)?;
        while depth > 0 {
            let entries = get16(&node, 2) as usize;
            if entries == 0 {
                return Err(corrupt!("inode {ino}: empty extent index"));
            }
            let mut pick = 0;
            for i in 1..entries {
                if get32(&node, 12 + i * 12) <= lblk {
                    pick = i;
                } else {
                    break;
                }
            }
            let e = &node[12 + pick * 12..24 + pick * 12];
            let child = (get16(e, 8) as u64) << 32 | get32(e, 4) as u64;
            node = self.read_node(ino, inode, child, depth - 1)?;
            block = Some(child);
            depth -= 1;
        }
        Ok(Leaf { block, node })
    }

    /// The fast path of `extent_map_alloc` for a hole: extend the extent ending just before
    /// `lblk` if the block after its run is free, else insert a one-block extent into the
    /// leaf if it has room. `None` when the general path must do it.
    fn extent_append_fast(&mut self, ino: u32, inode: &mut Inode, lblk: u32, goal: u64) -> KResult<Option<(u64, bool)>> {
        let mut leaf = self.find_leaf(ino, inode, lblk)?;
        let (entries, max, _) = self.check_header(ino, &leaf.node, Some(0))?;
        let exts: Vec<Extent> = (0..entries).map(|i| parse_leaf(&leaf.node[12 + i * 12..24 + i * 12])).collect();
        let pos = exts.partition_point(|e| (e.lblk as u64) <= lblk as u64);
        if let Some(prev) = pos.checked_sub(1).map(|p| exts[p]) {
            if prev.end() > lblk as u64 {
                return Ok(if prev.unwritten { None } else { Some((prev.phys + (lblk - prev.lblk) as u64, false)) });
            }
        }
        let prev = pos.checked_sub(1).map(|p| exts[p]);
        let goal = prev.map_or(goal, |p| p.phys + (lblk - p.lblk) as u64);
        let extend = prev.filter(|p| p.end() == lblk as u64 && !p.unwritten && p.len < INIT_MAX_LEN);
        // A new first entry of a leaf below the root would change the key of the index above
        // it (which must equal the leaf's first block): the general path rebuilds those.
        let may_insert = entries < max && (pos > 0 || leaf.block.is_none());
        if extend.is_none() && !may_insert {
            return Ok(None);
        }
        let phys = self.alloc_block(goal)?;
        let spb = self.sectors_per_block();
        match extend.filter(|p| p.phys + p.len as u64 == phys) {
            Some(p) => {
                let i = pos - 1;
                put_leaf(&mut leaf.node[12 + i * 12..24 + i * 12], &Extent { len: p.len + 1, ..p });
            }
            None if may_insert => {
                let at = 12 + pos * 12;
                leaf.node.copy_within(at..12 + entries * 12, at + 12);
                put_leaf(&mut leaf.node[at..at + 12], &Extent { lblk, len: 1, phys, unwritten: false });
                put16(&mut leaf.node, 2, (entries + 1) as u16);
            }
            None => {
                // Not contiguous and no room: let the general path place the block we took.
                self.free_block(phys)?;
                return Ok(None);
            }
        }
        inode.blocks = inode.blocks.saturating_add(spb);
        match leaf.block {
            None => inode.block.copy_from_slice(&leaf.node[..super::inode::I_BLOCK_BYTES]),
            Some(b) => self.write_node(ino, inode, b, leaf.node)?,
        }
        Ok(Some((phys, true)))
    }

    /// Preallocates `lo..hi` (logical blocks) as unwritten extents where there are holes
    /// (`fallocate` without `FALLOC_FL_ZERO_RANGE`): they read as zeros until written.
    pub fn extent_prealloc(&mut self, ino: u32, inode: &mut Inode, lo: u64, hi: u64) -> KResult<()> {
        let lo = u32::try_from(lo).map_err(|_| Errno::EFBIG)?;
        let hi = u32::try_from(hi).map_err(|_| Errno::EFBIG)?;
        let (mut exts, nodes) = self.extents_all(ino, inode)?;
        let spb = self.sectors_per_block();
        let mut added = Vec::new();
        let mut l = lo;
        let mut goal = exts.last().map_or(0, |e| e.phys + e.len as u64);
        let mut failed = None;
        while l < hi {
            if let Some(x) = exts.iter().find(|x| x.lblk <= l && x.end() > l as u64) {
                l = x.end().min(hi as u64) as u32;
                continue;
            }
            match self.alloc_block(goal) {
                Ok(p) => {
                    added.push(Extent { lblk: l, len: 1, phys: p, unwritten: true });
                    goal = p + 1;
                    l += 1;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            for x in &added {
                self.free_block(x.phys)?;
            }
            return Err(e);
        }
        inode.blocks = inode.blocks.saturating_add(added.len() as u64 * spb);
        exts.extend(added);
        exts.sort_by_key(|e| e.lblk);
        merge(&mut exts);
        self.extents_store(ino, inode, &exts, nodes)
    }

    /// Frees the blocks of logical range `lo..hi` (truncation with `hi` = `u64::MAX`, or a
    /// punched hole), splitting extents that straddle its ends.
    pub fn extent_free_range(&mut self, ino: u32, inode: &mut Inode, lo: u64, hi: u64) -> KResult<()> {
        let (exts, nodes) = self.extents_all(ino, inode)?;
        let spb = self.sectors_per_block();
        let mut keep = Vec::with_capacity(exts.len());
        for x in exts {
            let (s, e) = (x.lblk as u64, x.end());
            if e <= lo || s >= hi {
                keep.push(x);
                continue;
            }
            let (cut_lo, cut_hi) = (s.max(lo), e.min(hi));
            if s < cut_lo {
                keep.push(Extent { len: (cut_lo - s) as u32, ..x });
            }
            if cut_hi < e {
                let skip = cut_hi - s;
                keep.push(Extent { lblk: cut_hi as u32, len: (e - cut_hi) as u32, phys: x.phys + skip, ..x });
            }
            let first = x.phys + (cut_lo - s);
            self.free_run(first, cut_hi - cut_lo)?;
            inode.blocks = inode.blocks.saturating_sub((cut_hi - cut_lo) * spb);
        }
        self.extents_store(ino, inode, &keep, nodes)
    }

    /// Frees `n` blocks from `first`.
    fn free_run(&mut self, first: u64, n: u64) -> KResult<()> {
        for b in first..first + n {
            self.free_block(b)?;
        }
        Ok(())
    }
}

/// Node blocks a tree of `n` extents needs below its root (`max` entries per node); `EFBIG`
/// past Linux's depth limit.
fn nodes_needed(n: usize, max: usize) -> KResult<usize> {
    let (mut len, mut total, mut depth) = (n, 0usize, 0u16);
    while len > ROOT_ENTRIES {
        if depth >= MAX_DEPTH || max == 0 {
            return Err(Errno::EFBIG);
        }
        len = len.div_ceil(max);
        total += len;
        depth += 1;
    }
    Ok(total)
}

/// Joins neighbouring extents that continue each other (`ext4_ext_try_to_merge`).
fn merge(exts: &mut Vec<Extent>) {
    let mut out: Vec<Extent> = Vec::with_capacity(exts.len());
    for x in exts.drain(..) {
        match out.last_mut() {
            Some(p) if p.joins(&x) => p.len += x.len,
            _ => out.push(x),
        }
    }
    *exts = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_joins_only_contiguous_extents_of_one_state() {
        let w = |lblk, len, phys| Extent { lblk, len, phys, unwritten: false };
        let mut v = vec![w(0, 2, 100), w(2, 3, 102), w(5, 1, 200), Extent { lblk: 6, len: 1, phys: 201, unwritten: true }];
        merge(&mut v);
        assert_eq!(v, vec![w(0, 5, 100), w(5, 1, 200), Extent { lblk: 6, len: 1, phys: 201, unwritten: true }]);
        let mut big = vec![w(0, INIT_MAX_LEN, 0), w(INIT_MAX_LEN, 1, INIT_MAX_LEN as u64)];
        merge(&mut big);
        assert_eq!(big.len(), 2, "an initialized extent holds at most 32768 blocks");
    }
}
