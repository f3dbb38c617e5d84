//! Symbolic links: fast ones keep the target in `i_block` (under 60 bytes, no data blocks),
//! slow ones in one data block, as `ext2_symlink`/`ext2_get_link` do.

use super::inode::{Inode, I_BLOCK_BYTES, S_IFLNK};
use super::{corrupt, Fs};
use mm::{VmReader, VmWriter};
use uapi::{Errno, KResult};

/// Whether `i` is a fast symlink (`ext2_inode_is_fast_symlink`: no blocks other than an
/// xattr block, target inside the inode).
pub fn is_fast_symlink(i: &Inode, block_size: u32) -> bool {
    if !i.is_symlink() {
        return false;
    }
    let ea = if i.file_acl != 0 { block_size as u64 / 512 } else { 0 };
    i.sectors(block_size).saturating_sub(ea) == 0 && i.size < I_BLOCK_BYTES as u64
}

impl Fs {
    /// The target of symlink `ino`.
    pub fn readlink(&mut self, ino: u32) -> KResult<Vec<u8>> {
        let i = self.read_inode(ino)?;
        if !i.is_symlink() {
            return Err(Errno::EINVAL);
        }
        if i.size >= self.bs() || i.size > 4096 {
            return Err(corrupt!("symlink {ino} size {} too large", i.size));
        }
        if is_fast_symlink(&i, self.sb.block_size) {
            return Ok(i.block[..i.size as usize].to_vec());
        }
        let mut buf = vec![0u8; i.size as usize];
        let n = self.read_data(ino, &i, 0, &mut VmWriter::from(&mut buf[..]))?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Fills a new symlink inode with `target` (fast or in a new block).
    pub fn init_symlink(&mut self, ino: u32, i: &mut Inode, target: &[u8]) -> KResult<()> {
        i.mode = S_IFLNK | 0o777;
        if target.len() < I_BLOCK_BYTES {
            i.block = [0; I_BLOCK_BYTES];
            i.block[..target.len()].copy_from_slice(target);
        } else {
            if self.sb.has_incompat(super::superblock::incompat::EXTENTS) {
                super::extent_tree::init_root(i);
            }
            let n = self.write_data(ino, i, 0, &mut VmReader::from(target))?;
            if n != target.len() {
                return Err(Errno::ENOSPC);
            }
        }
        i.size = target.len() as u64;
        Ok(())
    }
}
