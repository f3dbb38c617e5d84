//! hostfs: a host directory served read-write (or read-only) to the guest, as User-Mode
//! Linux's hostfs (`fs/hostfs/`), built on `std::fs`.
//!
//! - Inode numbers are the host's; the device number is hostfs's own. One inode object per
//!   host inode is kept while in use, so a rename moves it and open files keep working after
//!   unlink (their host file stays open).
//! - Ownership: the host's uid/gid are reported. A guest `chown` (or a create by a guest user)
//!   is passed to the host; if the host refuses because umbra runs unprivileged (`EPERM`),
//!   the requested owner is kept as an in-memory override for the life of the mount instead,
//!   so guest software that chowns (tar, package managers) works. Overrides are not persisted.
//! - Device nodes and FIFOs cannot be created without privileges on the host: `mknod` of
//!   anything but a regular file is `EPERM`. `RENAME_EXCHANGE` is `EINVAL`.
//! - `statfs` cannot be asked of the host through `std`: it reports hostfs's magic with zero
//!   block counts. Names change behind the VFS's back, so dentries are revalidated.

mod inode;
mod xattr;

use std::any::Any;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

use uapi::{Errno, KResult};

use crate::abi::magic;
use crate::inode::{alloc_anon_dev, FileSystem, FileType, Inode, StatFs};
use crate::klock::KMutex;

pub use inode::HostInode;

/// A mounted host directory.
pub struct HostFs {
    base: PathBuf,
    read_only: bool,
    dev: u64,
    root: Arc<HostInode>,
    inodes: KMutex<HashMap<u64, Weak<HostInode>>>,
    owners: KMutex<HashMap<u64, (u32, u32)>>,
}

impl HostFs {
    /// Serves the host directory `dir` (`ENOENT`/`ENOTDIR` if it is not one).
    pub fn new(dir: &str, read_only: bool) -> KResult<Arc<HostFs>> {
        let base = PathBuf::from(dir);
        let meta = std::fs::metadata(&base).map_err(host_err)?;
        if !meta.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(Arc::new_cyclic(|me: &Weak<HostFs>| HostFs {
            base,
            read_only,
            dev: alloc_anon_dev(),
            root: HostInode::new_root(me.clone()),
            inodes: KMutex::new(HashMap::new()),
            owners: KMutex::new(HashMap::new()),
        }))
    }

    /// The host directory being served.
    pub fn base(&self) -> &std::path::Path {
        &self.base
    }

    /// The live inode object for host inode `ino`, if one exists.
    fn cached(&self, ino: u64) -> Option<Arc<HostInode>> {
        self.inodes.lock().get(&ino).and_then(Weak::upgrade)
    }

    fn remember(&self, ino: u64, inode: &Arc<HostInode>) {
        let mut map = self.inodes.lock();
        map.retain(|_, w| w.strong_count() > 0);
        map.insert(ino, Arc::downgrade(inode));
    }

    fn owner_override(&self, ino: u64) -> Option<(u32, u32)> {
        self.owners.lock().get(&ino).copied()
    }

    fn set_owner_override(&self, ino: u64, uid: u32, gid: u32) {
        self.owners.lock().insert(ino, (uid, gid));
    }
}

impl FileSystem for HostFs {
    fn name(&self) -> &'static str {
        "hostfs"
    }
    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }
    fn statfs(&self) -> KResult<StatFs> {
        Ok(StatFs { fs_type: magic::HOSTFS, bsize: 4096, namelen: 255, frsize: 4096, fsid: self.dev, ..StatFs::default() })
    }
    fn read_only(&self) -> bool {
        self.read_only
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn revalidate(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Maps a host I/O error to the guest errno it means for a file operation. Errors that are
/// about the file (`ENOENT`, `EACCES`, `ENOTEMPTY`, ...) pass through with Linux's numbers;
/// anything else is logged and becomes `EIO`.
pub fn host_err(e: std::io::Error) -> Errno {
    const PASS: [Errno; 19] = [
        Errno::ENOENT, Errno::EACCES, Errno::EPERM, Errno::EEXIST, Errno::ENOTDIR, Errno::EISDIR,
        Errno::ENOTEMPTY, Errno::EINVAL, Errno::ENOSPC, Errno::EROFS, Errno::ENAMETOOLONG,
        Errno::ELOOP, Errno::EXDEV, Errno::EBUSY, Errno::EFBIG, Errno::EDQUOT, Errno::EMLINK,
        Errno::ETXTBSY, Errno::EOPNOTSUPP,
    ];
    match e.raw_os_error().map(Errno::from_raw) {
        Some(errno) if PASS.contains(&errno) => errno,
        _ => {
            log::warn!("hostfs: host error {e}");
            Errno::EIO
        }
    }
}

/// The file type of host metadata.
fn host_file_type(ft: std::fs::FileType) -> FileType {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        FileType::Directory
    } else if ft.is_symlink() {
        FileType::Symlink
    } else if ft.is_char_device() {
        FileType::CharDevice
    } else if ft.is_block_device() {
        FileType::BlockDevice
    } else if ft.is_fifo() {
        FileType::Fifo
    } else if ft.is_socket() {
        FileType::Socket
    } else {
        FileType::Regular
    }
}

#[cfg(test)]
mod tests;
