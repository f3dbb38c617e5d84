//! The block mapping of an ext2/ext4 regular file for its page cache
//! ([`crate::pagestore::FileBlocks`] over the inode-number API of [`crate::ext2::Ext2Fs`]).

use std::sync::Arc;

use uapi::KResult;

use super::Shared;
use crate::pagestore::FileBlocks;

/// One regular file's blocks (holds the filesystem, not the inode object, so the inode's own
/// page cache does not keep it alive).
pub(super) struct Ext2FileBlocks {
    pub(super) shared: Arc<Shared>,
    pub(super) ino: u32,
}

impl FileBlocks for Ext2FileBlocks {
    fn block_size(&self) -> u64 {
        self.shared.ext2.block_size() as u64
    }
    fn size(&self) -> KResult<u64> {
        Ok(self.shared.ext2.stat(self.ino)?.size)
    }
    fn map(&self, first: u64, count: usize, alloc: bool, out: &mut Vec<Option<u64>>) -> KResult<()> {
        self.shared.ext2.map_blocks(self.ino, first, count, alloc, out)
    }
    fn read_blocks(&self, blk: u64, buf: &mut [u8]) -> KResult<()> {
        self.shared.ext2.read_data_blocks(blk, buf)
    }
    fn write_blocks(&self, blk: u64, data: &[u8]) -> KResult<()> {
        self.shared.ext2.write_data_blocks(blk, data)
    }
    fn begin_write(&self, off: u64, len: usize) -> KResult<usize> {
        self.shared.ext2.begin_write(self.ino, off, len)
    }
    fn end_write(&self, end: u64) -> KResult<()> {
        self.shared.ext2.end_write(self.ino, end)
    }
    fn trim_past_end(&self) -> KResult<()> {
        self.shared.ext2.trim_past_end(self.ino)
    }
}
