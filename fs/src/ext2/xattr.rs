//! Extended attributes are not exposed, but an inode's external xattr block (`i_file_acl`) is
//! released correctly when the inode is freed: its reference count (`h_refcount`) is dropped
//! and the block freed at zero, as `ext2_xattr_delete_inode` does.

use super::raw::{get32, put32};
use super::Fs;
use uapi::KResult;

const XATTR_MAGIC: u32 = 0xEA02_0000;

impl Fs {
    /// Drops inode `ino`'s reference to its xattr block, if any.
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
            Ok(())
        } else {
            self.free_block(blk)
        }
    }
}
