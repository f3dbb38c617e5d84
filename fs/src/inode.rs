//! The two traits every filesystem implements: [`FileSystem`] (a mounted instance, Linux's
//! `super_block` + `super_operations`) and [`Inode`] (Linux's `inode` + `inode_operations` +
//! the regular-file part of `file_operations`), with the value types they exchange.
//!
//! Defaults return what Linux returns when an operation does not apply: `ENOTDIR` for
//! directory operations on a non-directory, `EISDIR` for data I/O on a directory, `EINVAL`
//! for `readlink` on a non-symlink, `EPERM` for operations a filesystem does not support.
//!
//! Lifetime: an `Inode` object lives while a dentry or an open file holds an `Arc` to it. A
//! filesystem whose files can be unlinked while open (ext2) keeps the on-disk inode until the
//! object is dropped and frees it in `Drop` ("freed on last close"); the VFS drops a dentry's
//! reference as soon as the name is unlinked.

use std::any::Any;
use std::sync::Arc;

use mm::{PageSource, VmReader, VmWriter};
use uapi::{Errno, KResult};

use crate::abi::{self, S_IFMT};
use crate::abi::OpenFlags;
use crate::file_like::FileLike;
use crate::mount::Path;
use crate::time::Timespec;

/// The type of a file, from `st_mode & S_IFMT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// Regular file.
    Regular,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
}

impl FileType {
    /// The type named by a mode's `S_IFMT` bits, or `None` for an invalid type.
    pub fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & S_IFMT {
            abi::S_IFREG => FileType::Regular,
            abi::S_IFDIR => FileType::Directory,
            abi::S_IFLNK => FileType::Symlink,
            abi::S_IFCHR => FileType::CharDevice,
            abi::S_IFBLK => FileType::BlockDevice,
            abi::S_IFIFO => FileType::Fifo,
            abi::S_IFSOCK => FileType::Socket,
            _ => return None,
        })
    }

    /// The `S_IFMT` bits of this type.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::Regular => abi::S_IFREG,
            FileType::Directory => abi::S_IFDIR,
            FileType::Symlink => abi::S_IFLNK,
            FileType::CharDevice => abi::S_IFCHR,
            FileType::BlockDevice => abi::S_IFBLK,
            FileType::Fifo => abi::S_IFIFO,
            FileType::Socket => abi::S_IFSOCK,
        }
    }

    /// The `d_type` value `getdents64` reports (`DT_*`).
    pub fn dirent_type(self) -> u8 {
        match self {
            FileType::Fifo => 1,
            FileType::CharDevice => 2,
            FileType::Directory => 4,
            FileType::BlockDevice => 6,
            FileType::Regular => 8,
            FileType::Symlink => 10,
            FileType::Socket => 12,
        }
    }
}

/// An inode's attributes, the fields of `struct stat` (Linux's `struct kstat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InodeAttr {
    /// Inode number.
    pub ino: u64,
    /// File type and permission bits (`S_IFMT | 07777`).
    pub mode: u32,
    /// Number of hard links.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Allocated 512-byte blocks.
    pub blocks: u64,
    /// Preferred I/O size.
    pub blksize: u32,
    /// Last access.
    pub atime: Timespec,
    /// Last data modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
    /// Device number for device files (encoded as [`abi::make_dev`]).
    pub rdev: u64,
    /// Device of the filesystem (the VFS fills it from [`FileSystem::dev`]).
    pub dev: u64,
}

impl InodeAttr {
    /// The file type (a corrupt mode reads as a regular file).
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode).unwrap_or(FileType::Regular)
    }
    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == FileType::Directory
    }
}

/// Attribute changes for [`Inode::set_attr`] (Linux's `struct iattr`); `None` leaves a field.
/// The VFS has already checked permissions and computed the new ctime.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// New permission bits (`07777`; the type bits are ignored).
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New access time.
    pub atime: Option<Timespec>,
    /// New modification time.
    pub mtime: Option<Timespec>,
    /// New change time.
    pub ctime: Option<Timespec>,
}

/// The attributes an in-memory inode keeps (tmpfs, devpts, memfd), as [`SetAttr::apply_to`]
/// changes them.
pub struct MetaRefs<'a> {
    /// Type and permission bits.
    pub mode: &'a mut u32,
    /// Owner.
    pub uid: &'a mut u32,
    /// Group.
    pub gid: &'a mut u32,
    /// Access time.
    pub atime: &'a mut Timespec,
    /// Modification time.
    pub mtime: &'a mut Timespec,
    /// Change time.
    pub ctime: &'a mut Timespec,
}

impl SetAttr {
    /// Applies the given attributes to in-memory metadata (the permission bits replace the old
    /// ones, the file type stays), as Linux's `setattr_copy`.
    pub fn apply_to(&self, m: MetaRefs<'_>) {
        if let Some(mode) = self.mode {
            *m.mode = (*m.mode & crate::abi::S_IFMT) | (mode & 0o7777);
        }
        if let Some(uid) = self.uid {
            *m.uid = uid;
        }
        if let Some(gid) = self.gid {
            *m.gid = gid;
        }
        if let Some(t) = self.atime {
            *m.atime = t;
        }
        if let Some(t) = self.mtime {
            *m.mtime = t;
        }
        if let Some(t) = self.ctime {
            *m.ctime = t;
        }
    }
}

/// Filesystem statistics, the fields of `struct statfs` (Linux's `struct kstatfs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFs {
    /// Magic number (`f_type`).
    pub fs_type: i64,
    /// Block size.
    pub bsize: i64,
    /// Total blocks.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks for unprivileged users.
    pub bavail: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Filesystem id.
    pub fsid: u64,
    /// Longest file name.
    pub namelen: i64,
    /// Fragment size.
    pub frsize: i64,
    /// Mount flags (`ST_*`).
    pub flags: i64,
}

/// One directory entry handed to a `readdir` visitor.
#[derive(Clone, Copy, Debug)]
pub struct DirEntry<'a> {
    /// Entry name (no `/`, no NUL).
    pub name: &'a [u8],
    /// Inode number.
    pub ino: u64,
    /// Entry type.
    pub file_type: FileType,
    /// The position to resume reading after this entry (`d_off`).
    pub next_pos: u64,
}

/// A `readdir` visitor: returns `false` to stop (the entry it was given is then *not* consumed).
pub type DirVisitor<'a> = dyn FnMut(&DirEntry<'_>) -> bool + 'a;

pub use uapi::flags::RenameFlags;

/// A mounted filesystem instance (Linux's `super_block`).
pub trait FileSystem: Send + Sync {
    /// The Linux type name: `"ext2"`, `"tmpfs"`, `"proc"`, `"devtmpfs"`, `"hostfs"`.
    fn name(&self) -> &'static str;
    /// The root directory.
    fn root(&self) -> Arc<dyn Inode>;
    /// `statfs(2)` numbers.
    fn statfs(&self) -> KResult<StatFs>;
    /// Filesystem-specific options after `rw`/`ro` in `/proc/mounts` (`,size=1024k,mode=755`),
    /// as Linux's `super_operations::show_options`; empty by default.
    fn mount_options(&self) -> String {
        String::new()
    }
    /// Writes dirty state back (`sync_fs`).
    fn sync(&self) -> KResult<()> {
        Ok(())
    }
    /// True if the filesystem itself is read-only (as opposed to one mount of it).
    fn read_only(&self) -> bool {
        false
    }
    /// The device number `stat` reports as `st_dev` (see [`alloc_anon_dev`]).
    fn dev(&self) -> u64;
    /// True if the filesystem keeps POSIX ACLs (Linux's `SB_POSIXACL`): they are then
    /// enforced, inherited, and `EOPNOTSUPP` is not the answer to setting one.
    fn posix_acl(&self) -> bool {
        false
    }
    /// True if cached dentries must be re-checked with `lookup` on every walk, because the
    /// names can change behind the VFS's back (hostfs, procfs; Linux's `d_revalidate`).
    fn revalidate(&self) -> bool {
        false
    }
    /// For downcasting to the concrete filesystem.
    fn as_any(&self) -> &dyn Any;
}

/// An inode (Linux's `inode_operations` plus regular-file I/O). Names are raw bytes, as Linux
/// paths are. The VFS checks permissions, read-only mounts, name validity and existence
/// before calling a modifying operation; a filesystem re-checks what it must for its own
/// consistency.
pub trait Inode: Send + Sync {
    /// The attributes (`getattr`).
    fn attr(&self) -> KResult<InodeAttr>;
    /// The filesystem this inode belongs to, `None` once it has been torn down.
    fn fs(&self) -> Option<Arc<dyn FileSystem>>;
    /// For downcasting to the concrete inode type.
    fn as_any(&self) -> &dyn Any;

    /// Looks `name` up in this directory (`ENOENT` if absent). Never called with `.`/`..`.
    fn lookup(&self, _name: &[u8]) -> KResult<Arc<dyn Inode>> {
        Err(Errno::ENOTDIR)
    }
    /// Lists entries from position `pos` (0 = start), including `.` and `..`, calling
    /// `visitor` until it returns `false` or the directory ends.
    fn readdir(&self, _pos: u64, _visitor: &mut DirVisitor<'_>) -> KResult<()> {
        Err(Errno::ENOTDIR)
    }
    /// Reads file data at `off` into `buf` (guest memory or a kernel buffer), as much as it has
    /// room for, advancing it; returns the bytes read, 0 at or past end of file.
    fn read_at(&self, _off: u64, _buf: &mut VmWriter<'_>) -> KResult<usize> {
        Err(Errno::EISDIR)
    }
    /// Writes the bytes of `data` at `off`, growing the file, advancing `data` past what was
    /// written; updates mtime/ctime.
    fn write_at(&self, _off: u64, _data: &mut VmReader<'_>) -> KResult<usize> {
        Err(Errno::EISDIR)
    }
    /// Sets the size, zero-filling growth; updates mtime/ctime.
    fn truncate(&self, _size: u64) -> KResult<()> {
        Err(Errno::EISDIR)
    }
    /// Preallocates (`fallocate` mode 0): grows the size to at least `off + len`.
    fn fallocate(&self, _mode: u32, _off: u64, _len: u64) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Creates an unnamed regular file in this directory, with no link (`O_TMPFILE`, Linux's
    /// `inode_operations::tmpfile`); it is freed on last close unless `link` names it.
    /// `EOPNOTSUPP` for filesystems without it.
    fn tmpfile(&self, _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Creates a regular file `name` with permission bits `mode`.
    fn create(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::ENOTDIR)
    }
    /// Creates a special file: `mode` includes the type (FIFO, char, block, socket).
    fn mknod(&self, _name: &[u8], _mode: u32, _rdev: u64, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::ENOTDIR)
    }
    /// Creates a directory `name` with permission bits `mode`.
    fn mkdir(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::ENOTDIR)
    }
    /// Removes the non-directory entry `name`.
    fn unlink(&self, _name: &[u8]) -> KResult<()> {
        Err(Errno::ENOTDIR)
    }
    /// Removes the empty directory `name` (`ENOTEMPTY` otherwise).
    fn rmdir(&self, _name: &[u8]) -> KResult<()> {
        Err(Errno::ENOTDIR)
    }
    /// Moves `old_name` in this directory to `new_name` in `new_dir` (same filesystem),
    /// replacing a compatible target unless `NOREPLACE`; `EXCHANGE` swaps the two.
    fn rename(&self, _old_name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8], _flags: RenameFlags) -> KResult<()> {
        Err(Errno::ENOTDIR)
    }
    /// Adds a hard link `name` to `target` (same filesystem, not a directory).
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> KResult<()> {
        Err(Errno::ENOTDIR)
    }
    /// Creates a symlink `name` pointing at `target`.
    fn symlink(&self, _name: &[u8], _target: &[u8], _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::ENOTDIR)
    }
    /// The target of a symlink (`EINVAL` for anything else).
    fn readlink(&self) -> KResult<Vec<u8>> {
        Err(Errno::EINVAL)
    }
    /// For a "magic" symlink (`/proc/<pid>/fd/N`, Linux's `proc_fd_link`): the open file's own
    /// location, which following the link goes to instead of resolving [`Inode::readlink`]'s
    /// text; `None` for ordinary symlinks (and for open files without a location).
    fn magic_link(&self) -> Option<KResult<Path>> {
        None
    }
    /// For a file whose data are its own memory pages (a memfd, Linux's shmem): those pages,
    /// which a mapping then shares directly (no page cache copy); `None` for the others.
    fn page_source(&self) -> Option<Arc<dyn PageSource>> {
        None
    }
    /// For a regular file of a disk filesystem: its page cache, made on first use with frames
    /// of `frames` (reads, writes and mappings of the file then all use it); `None` for files
    /// whose data live elsewhere (tmpfs, hostfs, devices).
    fn page_store(&self, _frames: &Arc<mm::FrameAllocator>) -> Option<Arc<crate::pagestore::PageStore>> {
        None
    }
    /// Changes attributes (`setattr`).
    fn set_attr(&self, _attr: &SetAttr) -> KResult<()> {
        Err(Errno::EPERM)
    }
    /// The value of extended attribute `name` (a full name, `user.foo`): `ENODATA` if unset,
    /// `EOPNOTSUPP` for a namespace the filesystem does not keep (see [`crate::xattr`]).
    fn get_xattr(&self, _name: &[u8]) -> KResult<Vec<u8>> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Sets extended attribute `name` under `XATTR_CREATE`/`XATTR_REPLACE` `flags`; updates
    /// ctime. The VFS has checked permissions and limits.
    fn set_xattr(&self, _name: &[u8], _value: &[u8], _flags: u32) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Removes extended attribute `name` (`ENODATA` if unset); updates ctime.
    fn remove_xattr(&self, _name: &[u8]) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// The names of the extended attributes set on this inode.
    fn list_xattr(&self) -> KResult<Vec<Vec<u8>>> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Opens the inode: a device or a generated file returns its own [`FileLike`]; `None`
    /// means "use `read_at`/`write_at`/`readdir` on this inode".
    fn open(&self, _flags: OpenFlags) -> KResult<Option<Arc<dyn FileLike>>> {
        Ok(None)
    }
    /// Called once for each successful [`Inode::open`] when that open file description is
    /// finally closed (Linux's `release`); a filesystem may drop per-open host resources.
    fn release(&self) {}
    /// Writes this inode's dirty data back (`fsync`).
    fn sync(&self) -> KResult<()> {
        Ok(())
    }
}

impl dyn Inode {
    /// [`Inode::read_at`] into a kernel buffer.
    pub fn read_bytes(&self, off: u64, buf: &mut [u8]) -> KResult<usize> {
        self.read_at(off, &mut VmWriter::from(buf))
    }

    /// [`Inode::write_at`] from a kernel buffer.
    pub fn write_bytes(&self, off: u64, data: &[u8]) -> KResult<usize> {
        self.write_at(off, &mut VmReader::from(data))
    }
}

/// Compares two inode `Arc`s by identity (the same object).
pub fn same_inode(a: &Arc<dyn Inode>, b: &Arc<dyn Inode>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

static NEXT_ANON_MINOR: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(16);

/// Allocates a device number for a filesystem without a block device (major 0), as Linux's
/// `get_anon_bdev`.
pub fn alloc_anon_dev() -> u64 {
    let minor = NEXT_ANON_MINOR.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    abi::make_dev(0, minor)
}
