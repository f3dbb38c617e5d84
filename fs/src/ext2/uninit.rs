//! Lazily initialised block groups (ext4's `uninit_bg`/`metadata_csum` with `flex_bg`):
//! `mkfs.ext4` leaves most groups with `BLOCK_UNINIT`/`INODE_UNINIT` set and their bitmaps
//! unwritten. The first allocation in such a group builds its bitmap and clears the flag, as
//! `ext4_init_block_bitmap` and `ext4_init_inode_bitmap` do; `bg_itable_unused` keeps
//! counting the never-used inodes at the end of each inode table.

use super::group::{BG_BLOCK_UNINIT, BG_INODE_UNINIT};
use super::Fs;
use uapi::{Errno, KResult};

fn set_bit(b: &mut [u8], i: u64) {
    if let Some(x) = usize::try_from(i / 8).ok().and_then(|k| b.get_mut(k)) {
        *x |= 1 << (i % 8);
    }
}

impl Fs {
    /// Builds the block bitmap of a `BLOCK_UNINIT` group: the superblock backup and group
    /// descriptor blocks it holds, every group's bitmaps and inode table placed in it (with
    /// `flex_bg` they sit in the first group of each flex group), and the padding past its
    /// last block.
    pub(super) fn init_block_bitmap(&mut self, g: u32) -> KResult<()> {
        let gd = self.groups.get(g as usize).ok_or(Errno::EIO)?;
        if gd.flags & BG_BLOCK_UNINIT == 0 {
            return Ok(());
        }
        let bmp = gd.block_bitmap;
        let bs = self.bs();
        let mut b = vec![0u8; bs as usize];
        let first = self.sb.group_first_block(g);
        let n = u64::from(self.sb.blocks_in_group(g));
        if self.sb.group_has_super(g) {
            for k in 0..(1 + self.sb.gdt_blocks() + self.sb.reserved_gdt_blocks()).min(n) {
                set_bit(&mut b, k);
            }
        }
        let itable_blocks = (u64::from(self.sb.inodes_per_group) * u64::from(self.sb.inode_size)).div_ceil(bs);
        for h in &self.groups {
            let runs = [(h.block_bitmap, 1), (h.inode_bitmap, 1), (h.inode_table, itable_blocks)];
            for (start, len) in runs {
                for blk in start..start + len {
                    if blk >= first && blk < first + n {
                        set_bit(&mut b, blk - first);
                    }
                }
            }
        }
        for k in n..bs * 8 {
            set_bit(&mut b, k);
        }
        self.cache.overwrite(bmp, &b)?;
        if let Some(gd) = self.groups.get_mut(g as usize) {
            gd.flags &= !BG_BLOCK_UNINIT;
        }
        self.mark_group(g);
        Ok(())
    }

    /// Builds the (empty) inode bitmap of an `INODE_UNINIT` group, padding set past the last
    /// inode; its block bitmap is initialised too, as `ext4_new_inode` does.
    pub(super) fn init_inode_bitmap(&mut self, g: u32) -> KResult<()> {
        let gd = self.groups.get(g as usize).ok_or(Errno::EIO)?;
        if gd.flags & BG_INODE_UNINIT == 0 {
            return Ok(());
        }
        let bmp = gd.inode_bitmap;
        let bs = self.bs();
        let mut b = vec![0u8; bs as usize];
        for k in u64::from(self.sb.inodes_per_group)..bs * 8 {
            set_bit(&mut b, k);
        }
        self.cache.overwrite(bmp, &b)?;
        if let Some(gd) = self.groups.get_mut(g as usize) {
            gd.flags &= !BG_INODE_UNINIT;
        }
        self.mark_group(g);
        self.init_block_bitmap(g)
    }

    /// Inode `index` (0-based in group `g`) is now in use: shrinks `bg_itable_unused` below
    /// it (only kept with group descriptor checksums, as e2fsck checks it then).
    pub(super) fn note_inode_used(&mut self, g: u32, index: u32) {
        if !self.has_group_csums() {
            return;
        }
        let ipg = self.sb.inodes_per_group;
        if let Some(gd) = self.groups.get_mut(g as usize) {
            let used_to = ipg.saturating_sub(gd.itable_unused);
            if index + 1 > used_to {
                gd.itable_unused = ipg.saturating_sub(index + 1);
            }
        }
    }

    /// Whether group descriptors carry checksums (`metadata_csum` or `uninit_bg`), which is
    /// when the lazy-init flags and `bg_itable_unused` are meaningful.
    pub(super) fn has_group_csums(&self) -> bool {
        use super::superblock::ro_compat;
        self.sb.has_ro_compat(ro_compat::METADATA_CSUM) || self.sb.has_ro_compat(ro_compat::GDT_CSUM)
    }
}
