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
    /// `nr_inodes=`: the most inodes that may exist at once (`ENOSPC` past it).
    max_inodes: Option<u64>,
    live_inodes: AtomicU64,
    /// The options given at mount, as `/proc/mounts` shows them.
    options: TmpfsOptions,
    revalidate: bool,
}

/// The tmpfs mount options Linux's `shmem_parse_one` takes: `size=` (bytes, `k`/`m`/`g`
/// suffixes or `%` of RAM), `nr_inodes=`, `mode=` (octal, of the root), `uid=`, `gid=` (the
/// root's owner). `huge=`, `mpol=`, `inode32`/`inode64`, `noswap` are accepted and ignored;
/// anything else is `EINVAL`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TmpfsOptions {
    /// Size limit in bytes.
    pub size: Option<u64>,
    /// Inode limit.
    pub nr_inodes: Option<u64>,
    /// Root directory permission bits.
    pub mode: Option<u32>,
    /// Root directory owner.
    pub uid: Option<u32>,
    /// Root directory group.
    pub gid: Option<u32>,
}

impl TmpfsOptions {
    /// Parses mount data; `ram_bytes` is what `size=N%` is a percentage of.
    pub fn parse(data: &[u8], ram_bytes: u64) -> KResult<TmpfsOptions> {
        let text = std::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
        let mut o = TmpfsOptions::default();
        for opt in text.split(',').filter(|s| !s.is_empty()) {
            let (key, value) = opt.split_once('=').unwrap_or((opt, ""));
            match key {
                "size" => o.size = Some(parse_amount(value, Some(ram_bytes))?),
                "nr_inodes" => o.nr_inodes = Some(parse_amount(value, None)?),
                "mode" => o.mode = Some(u32::from_str_radix(value, 8).map_err(|_| Errno::EINVAL)? & 0o7777),
                "uid" => o.uid = Some(value.parse().map_err(|_| Errno::EINVAL)?),
                "gid" => o.gid = Some(value.parse().map_err(|_| Errno::EINVAL)?),
                "huge" | "mpol" | "inode32" | "inode64" | "noswap" => {}
                _ => return Err(Errno::EINVAL),
            }
        }
        Ok(o)
    }

    /// The options as Linux's `shmem_show_options` prints them (after `rw,...`): only those
    /// given, size in KiB.
    pub fn show(&self) -> String {
        let mut s = String::new();
        if let Some(size) = self.size {
            s.push_str(&format!(",size={}k", size / 1024));
        }
        if let Some(n) = self.nr_inodes {
            s.push_str(&format!(",nr_inodes={n}"));
        }
        if let Some(m) = self.mode.filter(|m| *m != 0o1777) {
            s.push_str(&format!(",mode={m:03o}"));
        }
        if let Some(u) = self.uid.filter(|u| *u != 0) {
            s.push_str(&format!(",uid={u}"));
        }
        if let Some(g) = self.gid.filter(|g| *g != 0) {
            s.push_str(&format!(",gid={g}"));
        }
        s
    }
}

/// `N`, `Nk`, `Nm`, `Ng` (and `N%` of `percent_of` where given), as `memparse` reads them.
fn parse_amount(v: &str, percent_of: Option<u64>) -> KResult<u64> {
    if let (Some(num), Some(total)) = (v.strip_suffix('%'), percent_of) {
        let pct: u64 = num.parse().map_err(|_| Errno::EINVAL)?;
        let bytes = total.checked_mul(pct).ok_or(Errno::EINVAL)? / 100;
        return Ok(bytes / PAGE * PAGE);
    }
    let (num, mult) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    let n: u64 = num.parse().map_err(|_| Errno::EINVAL)?;
    n.checked_mul(mult).ok_or(Errno::EINVAL)
}

/// The guest's RAM in bytes (0: not known, no default limits), set once at start.
static RAM_BYTES: AtomicU64 = AtomicU64::new(0);
/// File data held by every tmpfs instance together (it lives in umbra's heap).
static ALL_USED: AtomicU64 = AtomicU64::new(0);

/// Tells tmpfs how much RAM the guest has (`--mem`): a mount without `size=` may then hold
/// half of it (Linux's `shmem_default_max_blocks`), and all instances together at most all
/// of it, so a guest filling tmpfs gets `ENOSPC` instead of growing umbra without bound.
pub fn set_ram_size(bytes: u64) {
    RAM_BYTES.store(bytes, Ordering::Relaxed);
}

/// The guest RAM size given to `set_ram_size` (0 if none).
pub fn ram_size() -> u64 {
    RAM_BYTES.load(Ordering::Relaxed)
}

impl TmpFs {
    /// A tmpfs (`name` `"tmpfs"`) whose root has mode 1777, with an optional size limit in bytes.
    pub fn new(max_bytes: Option<u64>) -> Arc<TmpFs> {
        TmpFs::with_name("tmpfs", 0o1777, max_bytes)
    }

    /// A tmpfs-like instance reported under another type name (devtmpfs uses it).
    pub fn with_name(name: &'static str, root_mode: u32, max_bytes: Option<u64>) -> Arc<TmpFs> {
        TmpFs::with_options(name, root_mode, TmpfsOptions { size: max_bytes, ..TmpfsOptions::default() })
    }

    /// A tmpfs mounted with `options` (root mode `default_mode` unless `mode=` is given).
    pub fn with_options(name: &'static str, default_mode: u32, options: TmpfsOptions) -> Arc<TmpFs> {
        let root_mode = S_IFDIR | (options.mode.unwrap_or(default_mode) & 0o7777);
        let (uid, gid) = (options.uid.unwrap_or(0), options.gid.unwrap_or(0));
        Arc::new_cyclic(|me: &Weak<TmpFs>| TmpFs {
            name,
            root: TmpInode::new_dir(me.clone(), 1, root_mode, uid, gid, Weak::new()),
            next_ino: AtomicU64::new(2),
            dev: alloc_anon_dev(),
            // `size=0` and `nr_inodes=0` mean no limit, as in Linux; no `size=` means half
            // of RAM.
            max_bytes: match options.size {
                Some(0) => None,
                Some(s) => Some(s),
                None => Some(ram_size() / 2 / PAGE * PAGE).filter(|s| *s > 0),
            },
            used_bytes: AtomicU64::new(0),
            max_inodes: options.nr_inodes.filter(|n| *n > 0),
            live_inodes: AtomicU64::new(1),
            options,
            // devtmpfs gains nodes behind the VFS's back (device registrations).
            revalidate: name == "devtmpfs",
        })
    }

    /// The root inode as its concrete type.
    pub fn root_inode(&self) -> Arc<TmpInode> {
        self.root.clone()
    }

    /// A new inode number; `ENOSPC` when `nr_inodes` inodes already exist.
    fn alloc_ino(&self) -> KResult<u64> {
        let live = self.live_inodes.fetch_add(1, Ordering::Relaxed);
        if self.max_inodes.is_some_and(|max| live >= max) {
            self.live_inodes.fetch_sub(1, Ordering::Relaxed);
            return Err(Errno::ENOSPC);
        }
        Ok(self.next_ino.fetch_add(1, Ordering::Relaxed))
    }

    /// An inode went away: its slot counts against `nr_inodes` no more.
    fn free_ino(&self) {
        self.live_inodes.fetch_sub(1, Ordering::Relaxed);
    }

    /// Accounts `delta` more (or fewer) data bytes; `ENOSPC` past the limit.
    fn charge(&self, old_len: u64, new_len: u64) -> KResult<()> {
        if new_len <= old_len {
            self.used_bytes.fetch_sub(old_len - new_len, Ordering::Relaxed);
            ALL_USED.fetch_sub(old_len - new_len, Ordering::Relaxed);
            return Ok(());
        }
        let grow = new_len - old_len;
        let used = self.used_bytes.load(Ordering::Relaxed);
        let after = used.checked_add(grow).ok_or(Errno::ENOSPC)?;
        if self.max_bytes.is_some_and(|m| after > m) {
            return Err(Errno::ENOSPC);
        }
        let all = ALL_USED.load(Ordering::Relaxed).saturating_add(grow);
        let ram = ram_size();
        if ram > 0 && all > ram {
            return Err(Errno::ENOSPC);
        }
        self.used_bytes.store(after, Ordering::Relaxed);
        ALL_USED.store(all, Ordering::Relaxed);
        Ok(())
    }
}

impl Drop for TmpFs {
    /// Data still held when the instance goes (its inodes outlive it) leaves the global count.
    fn drop(&mut self) {
        ALL_USED.fetch_sub(self.used_bytes.load(Ordering::Relaxed).min(ALL_USED.load(Ordering::Relaxed)), Ordering::Relaxed);
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
            files: self.max_inodes.unwrap_or(1 << 20),
            ffree: self.max_inodes.unwrap_or(1 << 20).saturating_sub(self.live_inodes.load(Ordering::Relaxed)),
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
    fn mount_options(&self) -> String {
        self.options.show()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Parses a tmpfs `size=` option (`N`, `Nk`, `Nm`, `Ng`) from mount data.
pub fn parse_size_option(data: &[u8]) -> KResult<Option<u64>> {
    Ok(TmpfsOptions::parse(data, 0)?.size)
}

#[cfg(test)]
mod tests;
