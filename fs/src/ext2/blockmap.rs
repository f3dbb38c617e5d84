//! The classic ext2 block map: 12 direct pointers, then single, double and triple indirect
//! blocks (`ext2_get_block`, `ext2_block_to_path`, `ext2_truncate_blocks`). Also the
//! dispatcher that sends extent-mapped (ext4) inodes to the extent tree.

use super::inode::{Inode, FL_EXTENTS};
use super::raw::get32;
use super::Fs;
use uapi::{Errno, KResult};

const NDIR: u64 = 12;

impl Fs {
    /// Pointers per indirect block.
    fn ptrs(&self) -> u64 {
        self.bs() / 4
    }

    /// `ext2_block_to_path`: the `i_block` slot, the depth and the per-level offsets.
    fn path(&self, lblk: u64) -> KResult<(usize, usize, [u64; 3])> {
        let a = self.ptrs();
        if lblk < NDIR {
            return Ok((lblk as usize, 0, [0; 3]));
        }
        let l = lblk - NDIR;
        if l < a {
            return Ok((12, 1, [l, 0, 0]));
        }
        let l = l - a;
        if l < a * a {
            return Ok((13, 2, [l / a, l % a, 0]));
        }
        let l = l - a * a;
        if l < a * a * a {
            return Ok((14, 3, [l / (a * a), (l / a) % a, l % a]));
        }
        Err(Errno::EFBIG)
    }

    /// Logical block count addressable by the indirect map.
    pub fn max_ind_blocks(&self) -> u64 {
        let a = self.ptrs();
        NDIR + a + a * a + a * a * a
    }

    /// The maximum file size, as `ext2_max_size` computes it (indirect map and the 32-bit
    /// `i_blocks` limit); for extent files 2^32 blocks.
    pub fn max_file_size(&self, extents: bool) -> u64 {
        let bits = self.sb.log_block_size as u64 + 10;
        if extents {
            return ((1u64 << 32) - 1) << bits;
        }
        let a = 1u64 << (bits - 2);
        let upper = (((1u64 << 32) - 1) >> (bits - 9)).saturating_sub(1 + (1 + a) + (1 + a + a * a));
        let upper = upper << bits;
        let res = self.max_ind_blocks() << bits;
        res.min(upper)
    }

    /// Maps logical block `lblk` of `inode` to a physical block; `None` is a hole.
    pub fn map_block(&mut self, ino: u32, inode: &Inode, lblk: u64) -> KResult<Option<u64>> {
        if inode.flags & FL_EXTENTS != 0 {
            return self.extent_map(ino, inode, lblk);
        }
        let (slot, depth, offs) = match self.path(lblk) {
            Ok(p) => p,
            Err(_) => return Ok(None),
        };
        let mut b = inode.block_ptr(slot) as u64;
        for &off in offs.iter().take(depth) {
            if b == 0 {
                return Ok(None);
            }
            self.check_block(b, "indirect", ino)?;
            b = get32(self.cache.read(b)?, off as usize * 4) as u64;
        }
        if b == 0 {
            return Ok(None);
        }
        Ok(Some(self.check_block(b, "data", ino)?))
    }

    /// Maps `lblk`, allocating the data block and any missing indirect blocks (zeroed) near
    /// `goal`. Updates `inode.block`/`inode.blocks`; the caller writes the inode. Returns the
    /// block and whether it is new (its contents are then undefined).
    pub fn map_alloc(&mut self, ino: u32, inode: &mut Inode, lblk: u64, goal: u64) -> KResult<(u64, bool)> {
        if inode.flags & FL_EXTENTS != 0 {
            return self.extent_map_alloc(ino, inode, lblk, goal);
        }
        let (slot, depth, offs) = self.path(lblk)?;
        let spb = self.sectors_per_block();
        let mut goal = goal;
        let mut b = inode.block_ptr(slot) as u64;
        let mut fresh = false;
        if b == 0 {
            b = self.alloc_block(goal)?;
            if depth > 0 {
                self.cache.zero(b)?;
            }
            inode.set_block_ptr(slot, b as u32);
            inode.blocks += spb;
            fresh = true;
        } else {
            self.check_block(b, "mapped", ino)?;
        }
        for (level, &off) in offs.iter().take(depth).enumerate() {
            goal = b + 1;
            let parent = b;
            let e = get32(self.cache.read(parent)?, off as usize * 4) as u64;
            if e != 0 {
                b = self.check_block(e, "mapped", ino)?;
                fresh = false;
                continue;
            }
            b = self.alloc_block(goal)?;
            if level + 1 < depth {
                self.cache.zero(b)?;
            }
            let p = self.cache.modify(parent)?;
            let o = off as usize * 4;
            p[o..o + 4].copy_from_slice(&(b as u32).to_le_bytes());
            inode.blocks += spb;
            fresh = true;
        }
        Ok((b, fresh))
    }

    /// Frees every block of `inode` at logical index `first` and beyond, and indirect blocks
    /// left empty (`ext2_truncate_blocks`). Updates `inode.block`/`inode.blocks`.
    pub fn free_blocks_from(&mut self, ino: u32, inode: &mut Inode, first: u64) -> KResult<()> {
        if inode.flags & FL_EXTENTS != 0 {
            return self.extent_free_range(ino, inode, first, u64::MAX);
        }
        let spb = self.sectors_per_block();
        for i in first.min(NDIR)..NDIR {
            let b = inode.block_ptr(i as usize) as u64;
            if b != 0 {
                self.free_checked(ino, b)?;
                inode.set_block_ptr(i as usize, 0);
                inode.blocks = inode.blocks.saturating_sub(spb);
            }
        }
        let a = self.ptrs();
        let mut base = NDIR;
        let mut span = a;
        for (slot, depth) in [(12usize, 1u32), (13, 2), (14, 3)] {
            let b = inode.block_ptr(slot) as u64;
            if first < base + span && b != 0 {
                let start = first.saturating_sub(base);
                let empty = if self.check_block(b, "indirect", ino).is_ok() {
                    self.free_tree(ino, b, depth, start, &mut inode.blocks)?
                } else {
                    true
                };
                if empty {
                    self.free_checked(ino, b)?;
                    inode.set_block_ptr(slot, 0);
                    inode.blocks = inode.blocks.saturating_sub(spb);
                }
            }
            base += span;
            span *= a;
        }
        Ok(())
    }

    fn free_checked(&mut self, ino: u32, b: u64) -> KResult<()> {
        if self.check_block(b, "freed", ino).is_ok() {
            self.free_block(b)?;
        }
        Ok(())
    }

    /// Frees the entries of indirect block `blk` (of `depth` levels) covering relative logical
    /// blocks `start..`; returns whether the block is now all zeros.
    fn free_tree(&mut self, ino: u32, blk: u64, depth: u32, start: u64, blocks: &mut u64) -> KResult<bool> {
        let a = self.ptrs();
        let child_span = a.pow(depth - 1);
        let spb = self.sectors_per_block();
        let mut entries: Vec<u32> = self.cache.read(blk)?.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let mut changed = false;
        for (i, slot) in entries.iter_mut().enumerate() {
            let lo = i as u64 * child_span;
            if lo + child_span <= start {
                continue;
            }
            let e = *slot as u64;
            if e == 0 {
                continue;
            }
            let free_it = if depth == 1 {
                true
            } else if self.check_block(e, "indirect", ino).is_ok() {
                self.free_tree(ino, e, depth - 1, start.saturating_sub(lo), blocks)?
            } else {
                true
            };
            if free_it {
                self.free_checked(ino, e)?;
                *slot = 0;
                *blocks = blocks.saturating_sub(spb);
                changed = true;
            }
        }
        if changed {
            let b = self.cache.modify(blk)?;
            for (i, e) in entries.iter().enumerate() {
                b[i * 4..i * 4 + 4].copy_from_slice(&e.to_le_bytes());
            }
        }
        Ok(entries.iter().all(|&e| e == 0))
    }
}
