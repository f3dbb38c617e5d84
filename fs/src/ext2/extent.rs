//! ext4 extent trees (read-only): `ext4_find_extent` over the header/index/leaf nodes rooted
//! in `i_block`, with each node's magic, entry counts and depth checked, and the checksum tail
//! of on-disk nodes verified with `metadata_csum`.

use super::inode::Inode;
use super::raw::{get16, get32};
use super::{checksum, corrupt, Fs};
use uapi::{Errno, KResult};

const EXT_MAGIC: u16 = 0xF30A;
/// Linux's `EXT4_MAX_EXTENT_DEPTH`.
const MAX_DEPTH: u16 = 5;
/// `ee_len` above this marks an unwritten (preallocated) extent.
const INIT_MAX_LEN: u16 = 32768;

impl Fs {
    /// Maps `lblk` through the extent tree of `inode`; `None` for holes and unwritten extents
    /// (they read as zeros).
    pub fn extent_map(&mut self, ino: u32, inode: &Inode, lblk: u64) -> KResult<Option<u64>> {
        if lblk > u32::MAX as u64 {
            return Ok(None);
        }
        let lblk = lblk as u32;
        let mut node: Vec<u8> = inode.block.to_vec();
        let mut expect_depth: Option<u16> = None;
        for _ in 0..=MAX_DEPTH {
            if get16(&node, 0) != EXT_MAGIC {
                return Err(corrupt!("inode {ino}: bad extent header magic"));
            }
            let entries = get16(&node, 2) as usize;
            let max = get16(&node, 4) as usize;
            let depth = get16(&node, 6);
            if 12 + max * 12 > node.len() || entries > max || depth > MAX_DEPTH {
                return Err(corrupt!("inode {ino}: bad extent header (entries {entries} max {max} depth {depth})"));
            }
            if let Some(d) = expect_depth {
                if d != depth {
                    return Err(corrupt!("inode {ino}: extent tree depth mismatch"));
                }
            }
            let ent = |i: usize| &node[12 + i * 12..24 + i * 12];
            if depth == 0 {
                for i in 0..entries {
                    let e = ent(i);
                    let start_l = get32(e, 0);
                    let mut len = get16(e, 4);
                    let unwritten = len > INIT_MAX_LEN;
                    if unwritten {
                        len -= INIT_MAX_LEN;
                    }
                    if lblk >= start_l && (lblk as u64) < start_l as u64 + len as u64 {
                        if unwritten {
                            return Ok(None);
                        }
                        let phys = (get16(e, 6) as u64) << 32 | get32(e, 8) as u64;
                        let b = phys + (lblk - start_l) as u64;
                        return Ok(Some(self.check_block(b, "extent data", ino)?));
                    }
                }
                return Ok(None);
            }
            // Index node: the last entry whose first block is <= lblk.
            let mut child = None;
            for i in 0..entries {
                let e = ent(i);
                if get32(e, 0) <= lblk {
                    child = Some((get16(e, 8) as u64) << 32 | get32(e, 4) as u64);
                } else {
                    break;
                }
            }
            let Some(child) = child else { return Ok(None) };
            self.check_block(child, "extent index", ino)?;
            let blk = self.cache.read(child)?.to_vec();
            if let Some(seed) = self.csum_seed {
                let m = get16(&blk, 4) as usize;
                let tail = 12 + m * 12;
                if tail + 4 > blk.len() {
                    return Err(corrupt!("inode {ino}: extent block {child} has no room for its checksum"));
                }
                let c = checksum::crc32c_raw(checksum::inode_seed(seed, ino, inode.generation), &blk[..tail]);
                if c != get32(&blk, tail) {
                    log::warn!("ext4: inode {ino}: extent block {child} checksum mismatch");
                    return Err(Errno::EUCLEAN);
                }
            }
            expect_depth = Some(depth - 1);
            node = blk;
        }
        Err(corrupt!("inode {ino}: extent tree too deep"))
    }
}
