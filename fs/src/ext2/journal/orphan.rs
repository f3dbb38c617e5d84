//! The on-disk orphan list, as ext3/ext4 keep it (`ext4_orphan_add`, `ext4_orphan_del`,
//! `ext4_orphan_cleanup`): inodes with no link left but still open are chained from
//! `s_last_orphan` through their `i_dtime`, so that after a crash the mount frees them.
//! Without a journal the list stays in memory only, as ext2 does.

use uapi::KResult;

use super::super::raw::{get32, put32};
use super::super::Fs;

/// Superblock offset of `s_last_orphan`.
const SB_LAST_ORPHAN: usize = 0xE8;

impl Fs {
    fn last_orphan(&self) -> u32 {
        get32(&self.sb.raw, SB_LAST_ORPHAN)
    }

    fn set_last_orphan(&mut self, ino: u32) {
        put32(&mut self.sb.raw, SB_LAST_ORPHAN, ino);
        self.sb_dirty = true;
    }

    /// Makes `ino` (no links left, still in use) an orphan: freed on last close, at unmount,
    /// or by the next mount after a crash.
    pub(crate) fn orphan_add(&mut self, ino: u32) -> KResult<()> {
        if !self.orphans.insert(ino) || self.journal.is_none() {
            return Ok(());
        }
        let mut i = self.read_inode(ino)?;
        i.dtime = self.last_orphan();
        self.write_inode(ino, &i)?;
        self.set_last_orphan(ino);
        Ok(())
    }

    /// Takes `ino` off the orphan list (it got a link again, or it is being freed).
    pub(crate) fn orphan_del(&mut self, ino: u32) -> KResult<()> {
        if !self.orphans.remove(&ino) || self.journal.is_none() {
            return Ok(());
        }
        let mut i = self.read_inode(ino)?;
        let next = i.dtime;
        let mut cur = self.last_orphan();
        if cur == ino {
            self.set_last_orphan(next);
        } else {
            let mut steps = 0u32;
            while cur != 0 && steps < self.sb.inodes_count {
                let mut c = self.read_inode(cur)?;
                if c.dtime == ino {
                    c.dtime = next;
                    self.write_inode(cur, &c)?;
                    break;
                }
                cur = c.dtime;
                steps += 1;
            }
        }
        i.dtime = 0;
        self.write_inode(ino, &i)
    }

    /// Frees the inodes on the on-disk orphan list at mount (`ext4_orphan_cleanup`): those
    /// with no link are evicted; a linked one is just taken off the list.
    pub(crate) fn process_orphans(&mut self) -> KResult<()> {
        let mut list = Vec::new();
        let mut cur = self.last_orphan();
        while cur != 0 {
            if cur < self.sb.first_ino || cur > self.sb.inodes_count || list.len() >= self.sb.inodes_count as usize {
                log::warn!("ext2: corrupt filesystem: orphan list holds bad inode {cur}; rest of the list dropped");
                break;
            }
            list.push(cur);
            cur = self.read_inode(cur)?.dtime;
        }
        if list.is_empty() {
            if self.last_orphan() != 0 {
                self.set_last_orphan(0);
            }
            return Ok(());
        }
        for &ino in &list {
            self.orphans.insert(ino);
        }
        let mut freed = 0;
        for &ino in &list {
            if self.read_inode(ino)?.links == 0 {
                self.evict(ino)?;
                freed += 1;
            } else {
                self.orphan_del(ino)?;
            }
        }
        if self.last_orphan() != 0 {
            self.set_last_orphan(0);
        }
        log::info!("ext2: {freed} orphan inode(s) freed, {} kept", list.len() - freed);
        Ok(())
    }
}
