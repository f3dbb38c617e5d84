//! Block and inode allocation through the group bitmaps, keeping the group descriptor and
//! superblock free counts (and `bg_used_dirs_count`) consistent, as `ext2_new_blocks`,
//! `ext2_free_blocks`, `ext2_new_inode` and `ext2_free_inode` do.

use super::{corrupt, Fs};
use uapi::{Errno, KResult};

fn test_bit(b: &[u8], i: usize) -> bool {
    b.get(i / 8).is_some_and(|x| x & (1 << (i % 8)) != 0)
}

/// Finds a clear bit in `[from, n)`, then `[0, from)`.
fn find_zero(b: &[u8], n: usize, from: usize) -> Option<usize> {
    find_zero_where(b, n, from, |_| false)
}

/// [`find_zero`] skipping the clear bits `busy` claims.
fn find_zero_where(b: &[u8], n: usize, from: usize, busy: impl Fn(usize) -> bool) -> Option<usize> {
    let scan = |lo: usize, hi: usize| -> Option<usize> {
        let mut i = lo;
        while i < hi {
            if i.is_multiple_of(8) && i + 8 <= hi && b.get(i / 8) == Some(&0xFF) {
                i += 8;
                continue;
            }
            if !test_bit(b, i) && !busy(i) {
                return Some(i);
            }
            i += 1;
        }
        None
    };
    let from = from.min(n);
    scan(from, n).or_else(|| scan(0, from))
}

impl Fs {
    /// Allocates one block, preferring `goal` and then the groups after it
    /// (`ext2_new_blocks`' goal search). Reserved blocks are usable (the guest is root).
    /// Blocks freed by the uncommitted journal transaction are used only when nothing else
    /// is free (ext4 would commit and retry; an operation here cannot commit halfway).
    pub fn alloc_block(&mut self, goal: u64) -> KResult<u64> {
        match self.alloc_block_deferring(goal, true) {
            Err(Errno::ENOSPC) if self.journal.as_ref().is_some_and(|j| j.has_freed()) => {
                self.alloc_block_deferring(goal, false)
            }
            r => r,
        }
    }

    fn alloc_block_deferring(&mut self, goal: u64, defer_freed: bool) -> KResult<u64> {
        self.ensure_rw()?;
        let ngroups = self.sb.group_count;
        let first = self.sb.first_data_block as u64;
        let bpg = self.sb.blocks_per_group as u64;
        let goal = if goal >= first && goal < self.sb.blocks_count { goal } else { first };
        let start_group = ((goal - first) / bpg) as u32;
        for k in 0..ngroups {
            let g = (start_group + k) % ngroups;
            if self.groups[g as usize].free_blocks == 0 {
                continue;
            }
            self.init_block_bitmap(g)?;
            let n = self.sb.blocks_in_group(g) as usize;
            let from = if k == 0 { ((goal - first) % bpg) as usize } else { 0 };
            let bmp = self.groups[g as usize].block_bitmap;
            let group_first = self.sb.group_first_block(g);
            let bit = {
                let b = self.cache.read(bmp)?;
                // Blocks freed by the uncommitted transaction stay unused until it commits.
                let journal = self.journal.as_ref().filter(|_| defer_freed);
                find_zero_where(b, n, from, |i| journal.is_some_and(|j| j.freed_uncommitted(group_first + i as u64)))
            };
            let Some(bit) = bit else {
                if find_zero(self.cache.read(bmp)?, n, from).is_none() {
                    log::warn!("ext2: group {g} free block count is wrong (bitmap full)");
                }
                continue;
            };
            let blk = self.sb.group_first_block(g) + bit as u64;
            if blk == bmp || blk < first || blk >= self.sb.blocks_count {
                return Err(corrupt!("block bitmap of group {g} marks metadata block {blk} free"));
            }
            let b = self.cache.modify(bmp)?;
            b[bit / 8] |= 1 << (bit % 8);
            let gd = &mut self.groups[g as usize];
            gd.free_blocks -= 1;
            let f = self.sb.free_blocks().saturating_sub(1);
            self.sb.set_free_blocks(f);
            self.mark_group(g);
            return Ok(blk);
        }
        Err(Errno::ENOSPC)
    }

    /// Frees block `blk` (a warning and no change if it is already free or out of range).
    pub fn free_block(&mut self, blk: u64) -> KResult<()> {
        self.ensure_rw()?;
        let first = self.sb.first_data_block as u64;
        if blk < first || blk >= self.sb.blocks_count {
            log::warn!("ext2: freeing block {blk} not in the filesystem");
            return Ok(());
        }
        self.journal_forget(blk);
        let g = ((blk - first) / self.sb.blocks_per_group as u64) as u32;
        let bit = ((blk - first) % self.sb.blocks_per_group as u64) as usize;
        let bmp = self.groups[g as usize].block_bitmap;
        let b = self.cache.modify(bmp)?;
        if b[bit / 8] & (1 << (bit % 8)) == 0 {
            log::warn!("ext2: freeing already free block {blk}");
            return Ok(());
        }
        b[bit / 8] &= !(1 << (bit % 8));
        let gd = &mut self.groups[g as usize];
        gd.free_blocks = gd.free_blocks.saturating_add(1);
        let f = self.sb.free_blocks().saturating_add(1).min(self.sb.blocks_count);
        self.sb.set_free_blocks(f);
        self.mark_group(g);
        Ok(())
    }

    fn pick_inode_group(&self, parent: u32, is_dir: bool) -> Option<u32> {
        let n = self.sb.group_count;
        let pg = parent.saturating_sub(1) / self.sb.inodes_per_group;
        let pg = if pg < n { pg } else { 0 };
        let ok = |g: u32| self.groups[g as usize].free_inodes > 0;
        if let Some(g) = self.force_group.filter(|&g| g < n && ok(g)) {
            return Some(g);
        }
        if is_dir {
            // Spread directories (a simplified Orlov): among groups with at least the average
            // number of free inodes, take the one with the most free blocks.
            let avg = self.sb.free_inodes() / n.max(1);
            let best = (0..n)
                .filter(|&g| ok(g) && self.groups[g as usize].free_inodes >= avg)
                .max_by_key(|&g| (self.groups[g as usize].free_blocks, std::cmp::Reverse(g)));
            if best.is_some() {
                return best;
            }
        } else if ok(pg) && self.groups[pg as usize].free_blocks > 0 {
            return Some(pg);
        }
        (0..n).map(|k| (pg + k) % n).find(|&g| ok(g))
    }

    /// Allocates an inode near `parent` (directories spread out), as `ext2_new_inode`.
    pub fn alloc_inode(&mut self, parent: u32, is_dir: bool) -> KResult<u32> {
        self.ensure_rw()?;
        let ipg = self.sb.inodes_per_group;
        let n = self.sb.group_count;
        let Some(start) = self.pick_inode_group(parent, is_dir) else {
            return Err(Errno::ENOSPC);
        };
        for k in 0..n {
            let g = (start + k) % n;
            if self.groups[g as usize].free_inodes == 0 {
                continue;
            }
            self.init_inode_bitmap(g)?;
            let bmp = self.groups[g as usize].inode_bitmap;
            let first_idx = if g == 0 { self.sb.first_ino as usize - 1 } else { 0 };
            let bit = {
                let b = self.cache.read(bmp)?;
                find_zero(b, ipg as usize, first_idx)
            };
            let Some(bit) = bit.filter(|&b| b >= first_idx) else {
                log::warn!("ext2: group {g} free inode count is wrong (bitmap full)");
                continue;
            };
            let b = self.cache.modify(bmp)?;
            b[bit / 8] |= 1 << (bit % 8);
            let gd = &mut self.groups[g as usize];
            gd.free_inodes -= 1;
            if is_dir {
                gd.used_dirs = gd.used_dirs.saturating_add(1);
            }
            self.note_inode_used(g, bit as u32);
            let f = self.sb.free_inodes().saturating_sub(1);
            self.sb.set_free_inodes(f);
            self.mark_group(g);
            return Ok(g * ipg + bit as u32 + 1);
        }
        Err(Errno::ENOSPC)
    }

    /// Frees inode `ino` in its bitmap (`ext2_free_inode`).
    pub fn free_inode(&mut self, ino: u32, was_dir: bool) -> KResult<()> {
        self.ensure_rw()?;
        if ino < self.sb.first_ino || ino > self.sb.inodes_count {
            return Err(corrupt!("freeing reserved or nonexistent inode {ino}"));
        }
        let ipg = self.sb.inodes_per_group;
        let g = (ino - 1) / ipg;
        let bit = ((ino - 1) % ipg) as usize;
        let bmp = self.groups[g as usize].inode_bitmap;
        let b = self.cache.modify(bmp)?;
        if b[bit / 8] & (1 << (bit % 8)) == 0 {
            log::warn!("ext2: freeing already free inode {ino}");
            return Ok(());
        }
        b[bit / 8] &= !(1 << (bit % 8));
        let gd = &mut self.groups[g as usize];
        gd.free_inodes = gd.free_inodes.saturating_add(1).min(ipg);
        if was_dir {
            gd.used_dirs = gd.used_dirs.saturating_sub(1);
        }
        let f = self.sb.free_inodes().saturating_add(1).min(self.sb.inodes_count);
        self.sb.set_free_inodes(f);
        self.mark_group(g);
        Ok(())
    }
}
