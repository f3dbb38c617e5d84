//! tmpfs: a filesystem entirely in memory (Linux's `mm/shmem.c` without swap), also the base of
//! devtmpfs. Directory positions are per-entry cookies that never move, so `readdir`
//! interleaved with `unlink` (as `rm -rf` does) neither skips nor repeats entries.
//! `statfs` reports magic `0x01021994`; an optional size limit gives `ENOSPC`.

mod dir;
mod inode;
mod xattr;

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use uapi::{Errno, KResult};

use crate::abi::{magic, S_IFDIR};
use crate::inode::{alloc_anon_dev, FileSystem, Inode, StatFs};

pub use inode::TmpInode;

/// Page size used for `statfs` block counts and `st_blocks` rounding.
const PAGE: u64 = 4096;
/// Block count reported by `statfs` when no size limit was given (half of a 2 GiB "RAM").
const DEFAULT_BLOCKS: u64 = (1 << 30) / PAGE;

/// A tmpfs instance.
pub struct TmpFs {
    name: &'static str,
    root: Arc<TmpInode>,
    next_ino: AtomicU64,
    dev: u64,
    max_bytes: Option<u64>,
    used_bytes: AtomicU64,
    revalidate: bool,
}

impl TmpFs {
    /// A tmpfs (`name` `"tmpfs"`) whose root has mode 1777, with an optional size limit in bytes.
    pub fn new(max_bytes: Option<u64>) -> Arc<TmpFs> {
        TmpFs::with_name("tmpfs", 0o1777, max_bytes)
    }

    /// A tmpfs-like instance reported under another type name (devtmpfs uses it).
    pub fn with_name(name: &'static str, root_mode: u32, max_bytes: Option<u64>) -> Arc<TmpFs> {
        Arc::new_cyclic(|me: &Weak<TmpFs>| TmpFs {
            name,
            root: TmpInode::new_dir(me.clone(), 1, S_IFDIR | (root_mode & 0o7777), 0, 0, Weak::new()),
            next_ino: AtomicU64::new(2),
            dev: alloc_anon_dev(),
            max_bytes,
            used_bytes: AtomicU64::new(0),
            // devtmpfs gains nodes behind the VFS's back (device registrations).
            revalidate: name == "devtmpfs",
        })
    }

    /// The root inode as its concrete type.
    pub fn root_inode(&self) -> Arc<TmpInode> {
        self.root.clone()
    }

    fn alloc_ino(&self) -> u64 {
        self.next_ino.fetch_add(1, Ordering::Relaxed)
    }

    /// Accounts `delta` more (or fewer) data bytes; `ENOSPC` past the limit.
    fn charge(&self, old_len: u64, new_len: u64) -> KResult<()> {
        if new_len <= old_len {
            self.used_bytes.fetch_sub(old_len - new_len, Ordering::Relaxed);
            return Ok(());
        }
        let grow = new_len - old_len;
        let used = self.used_bytes.load(Ordering::Relaxed);
        let after = used.checked_add(grow).ok_or(Errno::ENOSPC)?;
        if self.max_bytes.is_some_and(|m| after > m) {
            return Err(Errno::ENOSPC);
        }
        self.used_bytes.store(after, Ordering::Relaxed);
        Ok(())
    }
}

impl FileSystem for TmpFs {
    fn name(&self) -> &'static str {
        self.name
    }
    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }
    fn statfs(&self) -> KResult<StatFs> {
        let used = self.used_bytes.load(Ordering::Relaxed).div_ceil(PAGE);
        let blocks = self.max_bytes.map(|m| m / PAGE).unwrap_or(DEFAULT_BLOCKS).max(used);
        let free = blocks - used;
        Ok(StatFs {
            fs_type: magic::TMPFS,
            bsize: PAGE as i64,
            blocks,
            bfree: free,
            bavail: free,
            files: 1 << 20,
            ffree: (1u64 << 20).saturating_sub(self.next_ino.load(Ordering::Relaxed)),
            fsid: self.dev,
            namelen: 255,
            frsize: PAGE as i64,
            flags: 0,
        })
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn revalidate(&self) -> bool {
        self.revalidate
    }
    fn posix_acl(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Parses a tmpfs `size=` option (`N`, `Nk`, `Nm`, `Ng`; `%` is not supported) from mount data.
pub fn parse_size_option(data: &[u8]) -> KResult<Option<u64>> {
    let text = std::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    for opt in text.split(',') {
        let Some(v) = opt.strip_prefix("size=") else { continue };
        let (num, mult) = match v.as_bytes().last() {
            Some(b'k' | b'K') => (&v[..v.len() - 1], 1u64 << 10),
            Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
            Some(b'g' | b'G') => (&v[..v.len() - 1], 1 << 30),
            _ => (v, 1),
        };
        let n: u64 = num.parse().map_err(|_| Errno::EINVAL)?;
        return Ok(Some(n.checked_mul(mult).ok_or(Errno::EINVAL)?));
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
