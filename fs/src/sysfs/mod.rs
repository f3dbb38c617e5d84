//! sysfs (`sysfs`, mounted at `/sys`): the part of Linux's sysfs that user space reads, as a
//! tree built once per mount from the kernel's facts (CPU count and network interfaces, from
//! the procfs [`ProcProvider`]). Attribute files are read-only snapshots (mode 0444, writes
//! `EACCES` as kernfs answers for attributes without a `store`); directories are fixed.
//!
//! Tree: `/sys/devices/system/cpu/{online,possible,present,offline,kernel_max,cpuN/…}`,
//! `/sys/devices/system/node/…`, `/sys/kernel/mm/transparent_hugepage/…` (glibc's malloc reads
//! `hpage_pmd_size`), `/sys/class/net/<if>` → `/sys/devices/virtual/net/<if>` for every
//! interface of the network table, `/sys/block`, `/sys/class/block` and `/sys/dev/block`
//! → `/sys/devices/virtual/block/<disk>` for every registered disk, `/sys/fs/cgroup` (an empty mount point), and Linux's other top-level
//! directories, empty.

mod tree;

use std::any::Any;
use std::sync::{Arc, Weak};

use mm::{VmReader, VmWriter};
use uapi::{Errno, KResult};

use crate::abi::{OpenFlags, O_ACCMODE, S_IFDIR, S_IFLNK, S_IFREG};
use crate::file_like::FileLike;
use crate::inode::{alloc_anon_dev, DirEntry, DirVisitor, FileSystem, FileType, Inode, InodeAttr, StatFs};
use crate::procfs::ProcProvider;
use crate::time::now;

pub use tree::{build, BlockIf, NetIf, Tree, TreeNode};

/// `SYSFS_MAGIC` (`include/uapi/linux/magic.h`).
pub const SYSFS_MAGIC: i64 = 0x6265_6572;

/// A sysfs instance: the tree built when it was mounted.
pub struct SysFs {
    me: Weak<SysFs>,
    tree: Tree,
    dev: u64,
}

impl SysFs {
    /// A sysfs describing what `provider` reports (CPU count, network interfaces).
    pub fn new(provider: &dyn ProcProvider) -> Arc<SysFs> {
        SysFs::with_disks(provider, &[])
    }

    /// A sysfs describing what `provider` reports plus the disks `disks`.
    pub fn with_disks(provider: &dyn ProcProvider, disks: &[BlockIf]) -> Arc<SysFs> {
        let mut tree = build(provider.cpuinfo().count, &provider.net_interfaces());
        for d in disks {
            tree.add_disk(d);
        }
        Arc::new_cyclic(|me| SysFs { me: me.clone(), tree, dev: alloc_anon_dev() })
    }

    fn inode(&self, index: usize) -> Arc<dyn Inode> {
        Arc::new(SysInode { fs: self.me.clone(), index })
    }
}

impl FileSystem for SysFs {
    fn name(&self) -> &'static str {
        "sysfs"
    }
    fn root(&self) -> Arc<dyn Inode> {
        self.inode(0)
    }
    fn statfs(&self) -> KResult<StatFs> {
        Ok(StatFs { fs_type: SYSFS_MAGIC, bsize: 4096, namelen: 255, frsize: 4096, fsid: self.dev, ..StatFs::default() })
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One node of a sysfs tree (its index in the tree).
pub struct SysInode {
    fs: Weak<SysFs>,
    index: usize,
}

impl SysInode {
    fn sysfs(&self) -> KResult<Arc<SysFs>> {
        self.fs.upgrade().ok_or(Errno::ENOENT)
    }

    /// `errno` for a namespace operation sysfs lacks on a directory; `ENOTDIR` on anything else.
    fn not_supported(&self, errno: Errno) -> Errno {
        match self.with_node(|_, node| Ok(matches!(node, TreeNode::Dir(_)))) {
            Ok(true) => errno,
            _ => Errno::ENOTDIR,
        }
    }

    fn with_node<T>(&self, f: impl FnOnce(&SysFs, &TreeNode) -> KResult<T>) -> KResult<T> {
        let fs = self.sysfs()?;
        let node = fs.tree.node(self.index).ok_or(Errno::ENOENT)?;
        f(&fs, node)
    }
}

/// Inode numbers: the node index plus one (the root is 1).
fn ino_of(index: usize) -> u64 {
    index as u64 + 1
}

impl Inode for SysInode {
    fn attr(&self) -> KResult<InodeAttr> {
        let t = now();
        self.with_node(|_, node| {
            let (mode, size, nlink) = match node {
                TreeNode::Dir(_) => (S_IFDIR | 0o755, 0, 2),
                TreeNode::File(_) => (S_IFREG | 0o444, 4096, 1),
                TreeNode::Link(target) => (S_IFLNK | 0o777, target.len() as u64, 1),
            };
            Ok(InodeAttr { ino: ino_of(self.index), mode, nlink, size, blksize: 4096, atime: t, mtime: t, ctime: t, ..InodeAttr::default() })
        })
    }

    fn fs(&self) -> Option<Arc<dyn FileSystem>> {
        self.fs.upgrade().map(|f| f as Arc<dyn FileSystem>)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        self.with_node(|fs, node| match node {
            TreeNode::Dir(children) => {
                let (_, child) = children.iter().find(|(n, _)| n.as_bytes() == name).ok_or(Errno::ENOENT)?;
                Ok(fs.inode(*child))
            }
            _ => Err(Errno::ENOTDIR),
        })
    }

    fn readdir(&self, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        self.with_node(|fs, node| {
            let TreeNode::Dir(children) = node else { return Err(Errno::ENOTDIR) };
            let ino = ino_of(self.index);
            if pos == 0 && !visitor(&DirEntry { name: b".", ino, file_type: FileType::Directory, next_pos: 1 }) {
                return Ok(());
            }
            if pos <= 1 && !visitor(&DirEntry { name: b"..", ino: 1, file_type: FileType::Directory, next_pos: 2 }) {
                return Ok(());
            }
            for (i, (name, child)) in children.iter().enumerate().skip(pos.saturating_sub(2) as usize) {
                let file_type = fs.tree.node(*child).map_or(FileType::Regular, TreeNode::file_type);
                if !visitor(&DirEntry { name: name.as_bytes(), ino: ino_of(*child), file_type, next_pos: i as u64 + 3 }) {
                    break;
                }
            }
            Ok(())
        })
    }

    fn read_at(&self, off: u64, buf: &mut VmWriter<'_>) -> KResult<usize> {
        self.with_node(|_, node| match node {
            TreeNode::File(data) => {
                let Some(src) = usize::try_from(off).ok().and_then(|o| data.get(o..)) else { return Ok(0) };
                Ok(buf.write_slice(src))
            }
            TreeNode::Dir(_) => Err(Errno::EISDIR),
            TreeNode::Link(_) => Err(Errno::EINVAL),
        })
    }

    fn write_at(&self, _off: u64, _data: &mut VmReader<'_>) -> KResult<usize> {
        Err(Errno::EACCES)
    }

    fn truncate(&self, _size: u64) -> KResult<()> {
        Err(Errno::EACCES)
    }

    /// sysfs directories have no `create`: the VFS answers `EACCES` (`vfs_create`).
    fn create(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(self.not_supported(Errno::EACCES))
    }

    /// No `mkdir` in sysfs (`EPERM`, as `vfs_mkdir` answers).
    fn mkdir(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(self.not_supported(Errno::EPERM))
    }

    /// No `mknod` in sysfs (`EPERM`).
    fn mknod(&self, _name: &[u8], _mode: u32, _rdev: u64, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(self.not_supported(Errno::EPERM))
    }

    /// No `symlink` in sysfs (`EPERM`).
    fn symlink(&self, _name: &[u8], _target: &[u8], _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(self.not_supported(Errno::EPERM))
    }

    /// No `unlink` in sysfs (`EPERM`).
    fn unlink(&self, _name: &[u8]) -> KResult<()> {
        Err(self.not_supported(Errno::EPERM))
    }

    /// No `rmdir` in sysfs (`EPERM`).
    fn rmdir(&self, _name: &[u8]) -> KResult<()> {
        Err(self.not_supported(Errno::EPERM))
    }

    /// kernfs refuses opening an attribute without a `store` for writing (`EACCES`), even to root.
    fn open(&self, flags: OpenFlags) -> KResult<Option<Arc<dyn FileLike>>> {
        if flags.bits() & O_ACCMODE != 0 {
            return Err(Errno::EACCES);
        }
        Ok(None)
    }

    fn readlink(&self) -> KResult<Vec<u8>> {
        self.with_node(|_, node| match node {
            TreeNode::Link(target) => Ok(target.as_bytes().to_vec()),
            _ => Err(Errno::EINVAL),
        })
    }
}

#[cfg(test)]
mod tests;
