//! Regular file data: `read` (holes as zeros), `write` (allocating blocks, growing the size,
//! setting `large_file` when a file passes 2 GiB as `ext2_update_dynamic_rev` callers do) and
//! `truncate` (zeroing the tail of the last block, freeing the rest).

use super::inode::{Inode, FL_APPEND, FL_EXTENTS, FL_IMMUTABLE, FL_INLINE_DATA};
use super::superblock::ro_compat;
use super::Fs;
use mm::{VmReader, VmWriter};
use uapi::{Errno, KResult};

impl Fs {
    pub(super) fn reg_inode(&mut self, ino: u32) -> KResult<Inode> {
        let i = self.read_inode(ino)?;
        if i.is_dir() {
            return Err(Errno::EISDIR);
        }
        if !i.is_reg() {
            return Err(Errno::EINVAL);
        }
        Ok(i)
    }

    /// Reads file bytes of `i` from `off` into `buf` (any inode type with data blocks), as much
    /// as `buf` has room for; advances `buf` past what was read.
    pub fn read_data(&mut self, ino: u32, i: &Inode, off: u64, buf: &mut VmWriter<'_>) -> KResult<usize> {
        if i.flags & FL_INLINE_DATA != 0 {
            log::warn!("ext4: inode {ino} has inline data, which umbra does not read");
            return Err(Errno::EIO);
        }
        if off >= i.size {
            return Ok(0);
        }
        let len = ((i.size - off).min(buf.avail() as u64)) as usize;
        let bs = self.bs();
        let mut done = 0usize;
        while done < len {
            let pos = off + done as u64;
            let (lblk, inb) = (pos / bs, (pos % bs) as usize);
            let n = (bs as usize - inb).min(len - done);
            match self.map_block(ino, i, lblk)? {
                Some(p) => {
                    if !self.cache.contains(p) && len - done > n {
                        // Read ahead the physically contiguous run of this read.
                        let want = ((len - done - n) as u64).div_ceil(bs).min(63);
                        let mut run = 1u64;
                        while run <= want && self.map_block(ino, i, lblk + run)? == Some(p + run) {
                            run += 1;
                        }
                        if run > 1 {
                            self.cache.prefetch(p, run as usize)?;
                        }
                    }
                    let b = self.cache.read(p)?;
                    buf.write_slice(&b[inb..inb + n]);
                }
                None => {
                    buf.fill_zero(n);
                }
            }
            done += n;
        }
        Ok(len)
    }

    /// `read` on a regular file.
    pub fn read(&mut self, ino: u32, off: u64, buf: &mut VmWriter<'_>) -> KResult<usize> {
        let i = self.reg_inode(ino)?;
        self.read_data(ino, &i, off, buf)
    }

    /// Writes `data` at `off` into the blocks of `i` (allocating), without touching size or
    /// times; advances `data` past what was written. Returns bytes written (short on ENOSPC
    /// after some progress).
    pub fn write_data(&mut self, ino: u32, i: &mut Inode, off: u64, data: &mut VmReader<'_>) -> KResult<usize> {
        let bs = self.bs();
        let len = data.remain();
        let mut done = 0usize;
        let mut goal = 0u64;
        while done < len {
            let pos = off + done as u64;
            let (lblk, inb) = (pos / bs, (pos % bs) as usize);
            let n = (bs as usize - inb).min(len - done);
            if goal == 0 && lblk > 0 {
                goal = self.map_block(ino, i, lblk - 1)?.map_or(0, |p| p + 1);
            }
            if goal == 0 {
                let ipg = self.sb.inodes_per_group as u64;
                goal = self.sb.group_first_block(((ino as u64 - 1) / ipg) as u32);
            }
            let (p, fresh) = match self.map_alloc(ino, i, lblk, goal) {
                Ok(x) => x,
                Err(Errno::ENOSPC) if done > 0 => break,
                Err(e) => return Err(e),
            };
            if n == bs as usize {
                self.cache.overwrite_from(p, data)?;
            } else {
                if fresh {
                    self.cache.zero_data(p)?;
                }
                let b = self.cache.modify_data(p)?;
                data.read_slice(&mut b[inb..inb + n]);
            }
            goal = p + 1;
            done += n;
        }
        Ok(done)
    }

    /// `write` on a regular file; advances `data` past what was written.
    pub fn write(&mut self, ino: u32, off: u64, data: &mut VmReader<'_>) -> KResult<usize> {
        self.ensure_rw()?;
        let mut i = self.reg_inode(ino)?;
        if i.flags & FL_IMMUTABLE != 0 || (i.flags & FL_APPEND != 0 && off != i.size) {
            return Err(Errno::EPERM);
        }
        if data.remain() == 0 {
            return Ok(0);
        }
        let max = self.max_file_size(i.flags & FL_EXTENTS != 0);
        if off >= max {
            return Err(Errno::EFBIG);
        }
        let len = (data.remain() as u64).min(max - off) as usize;
        let res = data.with_limit(len, |data| self.write_data(ino, &mut i, off, data));
        let n = match res {
            Ok(n) => n,
            Err(e) => {
                // Blocks may have been allocated before the error: keep the inode consistent.
                self.write_inode(ino, &i)?;
                return Err(e);
            }
        };
        let end = off + n as u64;
        if end > i.size {
            i.size = end;
            self.note_large_file(end);
        }
        let now = Fs::now();
        i.mtime = now;
        i.ctime = now;
        self.write_inode(ino, &i)?;
        Ok(n)
    }

    /// Sets the `large_file` feature once a file reaches 2 GiB.
    pub(super) fn note_large_file(&mut self, size: u64) {
        if size > 0x7FFF_FFFF && !self.sb.has_ro_compat(ro_compat::LARGE_FILE) {
            let f = self.sb.feature_ro_compat | ro_compat::LARGE_FILE;
            self.sb.set_ro_compat(f);
            self.sb_dirty = true;
        }
    }

    /// `fallocate(2)`. Extent-mapped (ext4) files take mode 0 and `FALLOC_FL_KEEP_SIZE`
    /// (unwritten extents, read as zeros until written) and `FALLOC_FL_PUNCH_HOLE |
    /// FALLOC_FL_KEEP_SIZE`, as `ext4_fallocate`. Block-mapped files take mode 0 only: zeroed
    /// blocks for `off..off+len`, the size grown to cover them (Linux's ext2 has no fallocate at
    /// all; an indirect map cannot hold blocks past EOF, so the other modes give `EOPNOTSUPP`).
    pub fn fallocate(&mut self, ino: u32, mode: u32, off: u64, len: u64) -> KResult<()> {
        self.ensure_rw()?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut i = self.reg_inode(ino)?;
        if i.flags & FL_IMMUTABLE != 0 {
            return Err(Errno::EPERM);
        }
        if i.flags & FL_EXTENTS != 0 {
            return self.fallocate_extents(ino, &mut i, mode, off, len);
        }
        if mode != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > self.max_file_size(false) {
            return Err(Errno::EFBIG);
        }
        let bs = self.bs();
        let mut goal = 0;
        let mut res = Ok(());
        for lblk in off / bs..end.div_ceil(bs) {
            match self.map_alloc(ino, &mut i, lblk, goal) {
                Ok((p, fresh)) => {
                    if fresh {
                        self.cache.zero_data(p)?;
                    }
                    goal = p + 1;
                }
                Err(e) => {
                    res = Err(e);
                    break;
                }
            }
        }
        if res.is_ok() && end > i.size {
            i.size = end;
            self.note_large_file(end);
        } else if res.is_err() {
            // No blocks may stay past EOF: give back what was allocated there.
            let first = i.size.div_ceil(bs);
            self.free_blocks_from(ino, &mut i, first)?;
        }
        i.ctime = Fs::now();
        self.write_inode(ino, &i)?;
        res
    }

    fn fallocate_extents(&mut self, ino: u32, i: &mut Inode, mode: u32, off: u64, len: u64) -> KResult<()> {
        const KEEP_SIZE: u32 = 1;
        const PUNCH_HOLE: u32 = 2;
        let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > self.max_file_size(true) {
            return Err(Errno::EFBIG);
        }
        let bs = self.bs();
        let now = Fs::now();
        match mode {
            0 | KEEP_SIZE => {
                self.extent_prealloc(ino, i, off / bs, end.div_ceil(bs))?;
                if mode == 0 && end > i.size {
                    i.size = end;
                    self.note_large_file(end);
                }
            }
            m if m == PUNCH_HOLE | KEEP_SIZE => {
                if i.flags & FL_APPEND != 0 {
                    return Err(Errno::EPERM);
                }
                self.punch_hole(ino, i, off, end)?;
                i.mtime = now;
            }
            _ => return Err(Errno::EOPNOTSUPP),
        }
        i.ctime = now;
        self.write_inode(ino, i)
    }

    /// Zeroes the partial blocks at the ends of `off..end` and frees the whole blocks between.
    fn punch_hole(&mut self, ino: u32, i: &mut Inode, off: u64, end: u64) -> KResult<()> {
        let bs = self.bs();
        let (first_full, end_full) = (off.div_ceil(bs), end / bs);
        let zero = |fs: &mut Fs, lblk: u64, from: u64, to: u64| -> KResult<()> {
            if let Some(p) = fs.map_block(ino, i, lblk)? {
                fs.cache.modify_data(p)?[from as usize..to as usize].fill(0);
            }
            Ok(())
        };
        if off / bs == end / bs {
            return zero(self, off / bs, off % bs, end % bs);
        }
        if !off.is_multiple_of(bs) {
            zero(self, off / bs, off % bs, bs)?;
        }
        if !end.is_multiple_of(bs) {
            zero(self, end / bs, 0, end % bs)?;
        }
        if first_full < end_full {
            self.extent_free_range(ino, i, first_full, end_full)?;
        }
        Ok(())
    }

    /// Sets the size of regular file `ino` (`ext2_setsize`).
    pub fn truncate(&mut self, ino: u32, size: u64) -> KResult<()> {
        self.ensure_rw()?;
        let mut i = self.reg_inode(ino)?;
        if i.flags & (FL_IMMUTABLE | FL_APPEND) != 0 {
            return Err(Errno::EPERM);
        }
        if size > self.max_file_size(false) {
            return Err(Errno::EFBIG);
        }
        if self.sb.rev_level == 0 && size > 0x7FFF_FFFF {
            return Err(Errno::EFBIG);
        }
        self.set_size(ino, &mut i, size)?;
        let now = Fs::now();
        i.mtime = now;
        i.ctime = now;
        self.write_inode(ino, &i)
    }

    /// Changes `i.size`, zeroing the partial last block and freeing blocks past the end.
    pub fn set_size(&mut self, ino: u32, i: &mut Inode, size: u64) -> KResult<()> {
        let bs = self.bs();
        if size < i.size {
            let inb = (size % bs) as usize;
            if inb != 0 {
                if let Some(p) = self.map_block(ino, i, size / bs)? {
                    let b = self.cache.modify_data(p)?;
                    b[inb..].fill(0);
                }
            }
            self.free_blocks_from(ino, i, size.div_ceil(bs))?;
        } else if size > i.size {
            self.note_large_file(size);
        }
        i.size = size;
        Ok(())
    }
}
