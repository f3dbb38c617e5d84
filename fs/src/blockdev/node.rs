//! A block device opened as a file (Linux's `def_blk_fops`): `read`/`write`/`lseek` of the
//! whole disk, the size and sector-size ioctls `blkid`, `mkfs` and `lsblk` use, and a flush of
//! the disk at the last close (`blkdev_release` → `sync_blockdev`).

use std::any::Any;
use std::sync::Arc;

use uapi::{Errno, KResult};

use crate::abi::OpenFlags;
use crate::block::BlockDevice;
use crate::file_like::{FileLike, UserMemory};

/// `BLKROGET`: whether the device is read-only (`int`).
pub const BLKROGET: u32 = 0x125e;
/// `BLKGETSIZE`: the size in 512-byte sectors (`unsigned long`).
pub const BLKGETSIZE: u32 = 0x1260;
/// `BLKFLSBUF`: flush the device's buffers.
pub const BLKFLSBUF: u32 = 0x1261;
/// `BLKSSZGET`: the logical sector size (`int`).
pub const BLKSSZGET: u32 = 0x1268;
/// `BLKIOMIN`: the minimum I/O size (`unsigned int`).
pub const BLKIOMIN: u32 = 0x1278;
/// `BLKIOOPT`: the optimal I/O size (`unsigned int`).
pub const BLKIOOPT: u32 = 0x1279;
/// `BLKALIGNOFF`: the alignment offset (`int`).
pub const BLKALIGNOFF: u32 = 0x127a;
/// `BLKPBSZGET`: the physical sector size (`unsigned int`).
pub const BLKPBSZGET: u32 = 0x127b;
/// `BLKGETSIZE64`: the size in bytes (`u64`).
pub const BLKGETSIZE64: u32 = 0x8008_1272;

/// The logical sector size umbra's disks report (UML's `ubd` uses 512).
pub const SECTOR_SIZE: u32 = 512;

/// An open block device node.
pub struct BlockNode {
    dev: Arc<dyn BlockDevice>,
    writable: bool,
}

impl BlockNode {
    /// Opens `dev` with the `open` flags `flags`.
    pub fn new(dev: Arc<dyn BlockDevice>, flags: OpenFlags) -> BlockNode {
        let acc = flags.bits() & crate::abi::O_ACCMODE;
        BlockNode { dev, writable: acc != 0 }
    }

    /// The bytes from `offset` up to the disk's end, at most `want`.
    fn clip(&self, offset: u64, want: usize) -> usize {
        self.dev.size().saturating_sub(offset).min(want as u64) as usize
    }
}

impl FileLike for BlockNode {
    fn read(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        let n = self.clip(offset, buf.len());
        if n > 0 {
            self.dev.read_at(offset, &mut buf[..n])?;
        }
        Ok(n)
    }

    /// `EPERM` on a read-only disk and `ENOSPC` at or past its end, as `blkdev_write_iter`.
    fn write(&self, data: &[u8], offset: u64) -> KResult<usize> {
        if self.dev.read_only() {
            return Err(Errno::EPERM);
        }
        if data.is_empty() {
            return Ok(0);
        }
        let n = self.clip(offset, data.len());
        if n == 0 {
            return Err(Errno::ENOSPC);
        }
        self.dev.write_at(offset, &data[..n])?;
        Ok(n)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
        let size = self.dev.size();
        match cmd {
            BLKGETSIZE64 => mem.write(arg, &size.to_ne_bytes())?,
            BLKGETSIZE => mem.write(arg, &(size / SECTOR_SIZE as u64).to_ne_bytes())?,
            BLKSSZGET | BLKPBSZGET | BLKIOMIN => mem.write(arg, &SECTOR_SIZE.to_ne_bytes())?,
            BLKIOOPT | BLKALIGNOFF => mem.write(arg, &0u32.to_ne_bytes())?,
            BLKROGET => mem.write(arg, &(self.dev.read_only() as i32).to_ne_bytes())?,
            BLKFLSBUF => self.dev.sync()?,
            _ => return Err(Errno::ENOTTY),
        }
        Ok(0)
    }

    fn seekable(&self) -> bool {
        true
    }

    /// `SEEK_END` measures from the disk's end.
    fn size(&self) -> u64 {
        self.dev.size()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for BlockNode {
    fn drop(&mut self) {
        if self.writable {
            if let Err(e) = self.dev.sync() {
                log::warn!("block device flush at close failed: {e}");
            }
        }
    }
}
