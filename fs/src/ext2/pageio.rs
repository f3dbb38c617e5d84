//! What the page cache needs from ext2 to read and write file pages straight between guest
//! RAM and the disk (Linux's `ext2_get_block` under `mpage_readahead`/`block_write_full_page`):
//! the mapping of a run of logical blocks (allocating holes when asked), the checks and
//! inode update around a `write(2)`, and block I/O that stays coherent with the metadata
//! block cache. File data itself never enters the block cache on this path.

use super::inode::{FL_APPEND, FL_EXTENTS, FL_IMMUTABLE};
use super::{Ext2Fs, Fs};
use uapi::{Errno, KResult};

impl Fs {
    /// Maps `count` logical blocks of `ino` from `first` into `out` (`None` for a hole); with
    /// `alloc` every block gets one (near the previous block). A full disk after some
    /// progress ends the run short; with none, `ENOSPC`.
    fn map_run(&mut self, ino: u32, first: u64, count: usize, alloc: bool, out: &mut Vec<Option<u64>>) -> KResult<()> {
        let mut i = self.read_inode(ino)?;
        if !alloc {
            for lblk in first..first + count as u64 {
                out.push(self.map_block(ino, &i, lblk)?);
            }
            return Ok(());
        }
        self.ensure_rw()?;
        let mut goal = 0u64;
        let mut changed = false;
        let mut result = Ok(());
        for lblk in first..first + count as u64 {
            if goal == 0 && lblk > 0 {
                goal = self.map_block(ino, &i, lblk - 1)?.map_or(0, |p| p + 1);
            }
            if goal == 0 {
                let ipg = self.sb.inodes_per_group as u64;
                goal = self.sb.group_first_block(((ino as u64 - 1) / ipg) as u32);
            }
            match self.map_alloc(ino, &mut i, lblk, goal) {
                Ok((p, fresh)) => {
                    changed |= fresh;
                    out.push(Some(p));
                    goal = p + 1;
                }
                Err(Errno::ENOSPC) if !out.is_empty() => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if changed {
            self.write_inode(ino, &i)?;
        }
        result
    }

    /// The checks of `write(2)` on `ino` at `off` (`EPERM` for immutable files and append-only
    /// ones written elsewhere than at the end, `EFBIG` past the largest size); returns how
    /// many of `len` bytes may be written.
    fn begin_write(&mut self, ino: u32, off: u64, len: usize) -> KResult<usize> {
        self.ensure_rw()?;
        let i = self.reg_inode(ino)?;
        if i.flags & FL_IMMUTABLE != 0 || (i.flags & FL_APPEND != 0 && off != i.size) {
            return Err(Errno::EPERM);
        }
        let max = self.max_file_size(i.flags & FL_EXTENTS != 0);
        if len > 0 && off >= max {
            return Err(Errno::EFBIG);
        }
        Ok((len as u64).min(max.saturating_sub(off)) as usize)
    }

    /// After `write(2)` up to `end`: the size grows to cover it, mtime and ctime are now.
    fn end_write(&mut self, ino: u32, end: u64) -> KResult<()> {
        let mut i = self.read_inode(ino)?;
        if end > i.size {
            i.size = end;
            self.note_large_file(end);
        }
        let now = Fs::now();
        i.mtime = now;
        i.ctime = now;
        self.write_inode(ino, &i)
    }

    /// Frees the blocks of `ino` wholly past its size.
    fn trim_past_end(&mut self, ino: u32) -> KResult<()> {
        let mut i = self.read_inode(ino)?;
        let first = i.size.div_ceil(self.bs());
        self.free_blocks_from(ino, &mut i, first)?;
        self.write_inode(ino, &i)
    }
}

impl Ext2Fs {
    /// Maps `count` logical blocks of `ino` from `first` into `out` (`None` for a hole);
    /// with `alloc`, holes get blocks (short at a full disk after some progress).
    pub fn map_blocks(&self, ino: u32, first: u64, count: usize, alloc: bool, out: &mut Vec<Option<u64>>) -> KResult<()> {
        self.lock().map_run(ino, first, count, alloc, out)
    }

    /// The checks before `write(2)`; returns how many of `len` bytes at `off` may be written.
    pub fn begin_write(&self, ino: u32, off: u64, len: usize) -> KResult<usize> {
        self.lock().begin_write(ino, off, len)
    }

    /// The inode update after `write(2)` up to `end` (size, mtime, ctime).
    pub fn end_write(&self, ino: u32, end: u64) -> KResult<()> {
        self.lock().end_write(ino, end)
    }

    /// Frees the blocks of `ino` wholly past its size (after a write that ran short).
    pub fn trim_past_end(&self, ino: u32) -> KResult<()> {
        self.lock().trim_past_end(ino)
    }

    /// Reads whole data blocks from `blk` into `buf` (coherent with cached metadata blocks).
    pub fn read_data_blocks(&self, blk: u64, buf: &mut [u8]) -> KResult<()> {
        self.lock().cache.read_uncached(blk, buf)
    }

    /// Writes whole data blocks from `blk` (a cached copy of them is dropped).
    pub fn write_data_blocks(&self, blk: u64, data: &[u8]) -> KResult<()> {
        let mut fs = self.lock();
        fs.ensure_rw()?;
        fs.cache.write_uncached(blk, data)
    }
}
