//! The Linux x86-64 ABI pieces the VFS needs: open/at/mount flag words, mode bits, device
//! number encoding, and the byte layouts of `struct stat`, `struct statx`, `struct statfs`.
//!
//! These are defined here because `uapi` did not yet carry them when the VFS was written;
//! values and layouts are Linux's (`include/uapi/asm-generic/fcntl.h`, `stat.h`,
//! `arch/x86/include/uapi/asm/stat.h`, `include/uapi/linux/stat.h`, `fs.h`, `mount.h`).

use bitflags::bitflags;

use crate::inode::{InodeAttr, StatFs};
use crate::time::Timespec;

bitflags! {
    /// `open(2)` flags (`O_*`), as Linux's asm-generic `fcntl.h` numbers them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct OpenFlags: u32 {
        /// Write only.
        const O_WRONLY = 0o1;
        /// Read and write.
        const O_RDWR = 0o2;
        /// Create the file if it does not exist.
        const O_CREAT = 0o100;
        /// With `O_CREAT`: fail with `EEXIST` if it exists.
        const O_EXCL = 0o200;
        /// Do not make a tty the controlling terminal.
        const O_NOCTTY = 0o400;
        /// Truncate a regular file to length 0.
        const O_TRUNC = 0o1000;
        /// Every write goes to the end of the file.
        const O_APPEND = 0o2000;
        /// Non-blocking I/O.
        const O_NONBLOCK = 0o4000;
        /// Synchronous data writes.
        const O_DSYNC = 0o10000;
        /// Signal-driven I/O.
        const O_ASYNC = 0o20000;
        /// Direct I/O (accepted, ignored).
        const O_DIRECT = 0o40000;
        /// Large file (always on for x86-64).
        const O_LARGEFILE = 0o100000;
        /// Fail with `ENOTDIR` unless the path is a directory.
        const O_DIRECTORY = 0o200000;
        /// Fail with `ELOOP` if the last component is a symlink.
        const O_NOFOLLOW = 0o400000;
        /// Do not update the access time.
        const O_NOATIME = 0o1000000;
        /// Close on exec.
        const O_CLOEXEC = 0o2000000;
        /// Synchronous writes (includes `O_DSYNC`).
        const O_SYNC = 0o4010000;
        /// A location-only file descriptor.
        const O_PATH = 0o10000000;
        /// An unnamed temporary file (includes `O_DIRECTORY`).
        const O_TMPFILE = 0o20200000;
        // Unknown bits are kept (Linux ignores unknown open flags).
        const _ = !0;
    }
}

/// The access-mode mask of the open flags (`O_ACCMODE`).
pub const O_ACCMODE: u32 = 0o3;

impl OpenFlags {
    /// True if the access mode allows reading (`O_RDONLY` or `O_RDWR`).
    pub fn readable(self) -> bool {
        matches!(self.bits() & O_ACCMODE, 0 | 2)
    }
    /// True if the access mode allows writing (`O_WRONLY` or `O_RDWR`).
    pub fn writable(self) -> bool {
        matches!(self.bits() & O_ACCMODE, 1 | 2)
    }
    /// The flags `F_SETFL` may change, as Linux's `SETFL_MASK`.
    pub fn setfl_mask() -> OpenFlags {
        OpenFlags::O_APPEND
            | OpenFlags::O_NONBLOCK
            | OpenFlags::O_ASYNC
            | OpenFlags::O_DIRECT
            | OpenFlags::O_NOATIME
    }
}

/// `AT_FDCWD`: the dirfd meaning "the current working directory".
pub const AT_FDCWD: i32 = -100;
/// `AT_SYMLINK_NOFOLLOW`: do not follow a final symlink.
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// `AT_REMOVEDIR`: `unlinkat` removes a directory.
pub const AT_REMOVEDIR: u32 = 0x200;
/// `AT_EACCESS`: `faccessat` checks with the effective ids.
pub const AT_EACCESS: u32 = 0x200;
/// `AT_SYMLINK_FOLLOW`: `linkat` follows a final symlink.
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
/// `AT_NO_AUTOMOUNT` (ignored).
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
/// `AT_EMPTY_PATH`: an empty path names the dirfd itself.
pub const AT_EMPTY_PATH: u32 = 0x1000;

/// `access(2)` mode bits.
pub const R_OK: u32 = 4;
/// Write permission.
pub const W_OK: u32 = 2;
/// Execute/search permission.
pub const X_OK: u32 = 1;
/// Existence only.
pub const F_OK: u32 = 0;

/// File type mask of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// FIFO.
pub const S_IFIFO: u32 = 0o010000;
/// Set-user-id bit.
pub const S_ISUID: u32 = 0o4000;
/// Set-group-id bit.
pub const S_ISGID: u32 = 0o2000;
/// Sticky bit.
pub const S_ISVTX: u32 = 0o1000;
/// Group execute bit.
pub const S_IXGRP: u32 = 0o010;
/// Any execute bit.
pub const S_IXUGO: u32 = 0o111;

/// `lseek` whence: absolute.
pub const SEEK_SET: u32 = 0;
/// `lseek` whence: relative to the current offset.
pub const SEEK_CUR: u32 = 1;
/// `lseek` whence: relative to the end.
pub const SEEK_END: u32 = 2;
/// `lseek` whence: next data at or after the offset.
pub const SEEK_DATA: u32 = 3;
/// `lseek` whence: next hole at or after the offset.
pub const SEEK_HOLE: u32 = 4;

/// `utimensat` special nanoseconds: set to the current time.
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `utimensat` special nanoseconds: leave unchanged.
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// Linux's `MAX_LFS_FILESIZE` on 64-bit: the largest file offset.
pub const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;
/// `NAME_MAX`: the longest path component.
pub const NAME_MAX: usize = 255;
/// `PATH_MAX`: the longest path including its NUL.
pub const PATH_MAX: usize = 4096;

/// Linux's userspace `dev_t` encoding (`new_encode_dev`/glibc `makedev`, 32-bit part).
pub fn make_dev(major: u32, minor: u32) -> u64 {
    let major = u64::from(major);
    let minor = u64::from(minor);
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

/// The major number of an encoded `dev_t` (glibc `major`).
pub fn dev_major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

/// The minor number of an encoded `dev_t` (glibc `minor`).
pub fn dev_minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

/// Filesystem magic numbers reported in `statfs.f_type` (`include/uapi/linux/magic.h`).
pub mod magic {
    /// tmpfs/shmem.
    pub const TMPFS: i64 = 0x0102_1994;
    /// procfs.
    pub const PROC: i64 = 0x9fa0;
    /// ext2/ext3/ext4.
    pub const EXT2: i64 = 0xef53;
    /// UML's hostfs.
    pub const HOSTFS: i64 = 0x00c0_ffee;
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
}

/// Encodes `struct stat` as x86-64 Linux lays it out (144 bytes), as `cp_new_stat` fills it.
pub fn encode_stat(a: &InodeAttr) -> [u8; 144] {
    let mut v = Vec::with_capacity(144);
    put(&mut v, &a.dev.to_le_bytes());
    put(&mut v, &a.ino.to_le_bytes());
    put(&mut v, &a.nlink.to_le_bytes());
    put(&mut v, &a.mode.to_le_bytes());
    put(&mut v, &a.uid.to_le_bytes());
    put(&mut v, &a.gid.to_le_bytes());
    put(&mut v, &0u32.to_le_bytes());
    put(&mut v, &a.rdev.to_le_bytes());
    put(&mut v, &a.size.to_le_bytes());
    put(&mut v, &u64::from(a.blksize).to_le_bytes());
    put(&mut v, &a.blocks.to_le_bytes());
    for t in [a.atime, a.mtime, a.ctime] {
        put(&mut v, &t.sec.to_le_bytes());
        put(&mut v, &t.nsec.to_le_bytes());
    }
    v.resize(144, 0);
    let mut out = [0u8; 144];
    out.copy_from_slice(&v);
    out
}

/// `statx` mask bits for the basic stats (`STATX_BASIC_STATS`).
pub const STATX_BASIC_STATS: u32 = 0x7ff;

/// Encodes `struct statx` (256 bytes) with the basic stats, as `cp_statx` fills it.
pub fn encode_statx(a: &InodeAttr) -> [u8; 256] {
    let mut v = Vec::with_capacity(256);
    put(&mut v, &STATX_BASIC_STATS.to_le_bytes()); // stx_mask
    put(&mut v, &a.blksize.to_le_bytes());
    put(&mut v, &0u64.to_le_bytes()); // stx_attributes
    put(&mut v, &(a.nlink as u32).to_le_bytes());
    put(&mut v, &a.uid.to_le_bytes());
    put(&mut v, &a.gid.to_le_bytes());
    put(&mut v, &(a.mode as u16).to_le_bytes());
    put(&mut v, &0u16.to_le_bytes());
    put(&mut v, &a.ino.to_le_bytes());
    put(&mut v, &a.size.to_le_bytes());
    put(&mut v, &a.blocks.to_le_bytes());
    put(&mut v, &0u64.to_le_bytes()); // stx_attributes_mask
    for t in [a.atime, Timespec::default(), a.ctime, a.mtime] {
        // atime, btime (unsupported, zero), ctime, mtime: struct statx_timestamp
        put(&mut v, &t.sec.to_le_bytes());
        put(&mut v, &(t.nsec as u32).to_le_bytes());
        put(&mut v, &0i32.to_le_bytes());
    }
    for d in [a.rdev, a.dev] {
        put(&mut v, &dev_major(d).to_le_bytes());
        put(&mut v, &dev_minor(d).to_le_bytes());
    }
    v.resize(256, 0);
    let mut out = [0u8; 256];
    out.copy_from_slice(&v);
    out
}

/// Encodes x86-64 `struct statfs` (120 bytes), as `do_statfs_native` fills it.
pub fn encode_statfs(s: &StatFs) -> [u8; 120] {
    let mut v = Vec::with_capacity(120);
    for x in [s.fs_type, s.bsize, s.blocks as i64, s.bfree as i64, s.bavail as i64] {
        put(&mut v, &x.to_le_bytes());
    }
    put(&mut v, &s.files.to_le_bytes());
    put(&mut v, &s.ffree.to_le_bytes());
    put(&mut v, &s.fsid.to_le_bytes());
    put(&mut v, &s.namelen.to_le_bytes());
    put(&mut v, &s.frsize.to_le_bytes());
    put(&mut v, &s.flags.to_le_bytes());
    v.resize(120, 0);
    let mut out = [0u8; 120];
    out.copy_from_slice(&v);
    out
}

bitflags! {
    /// `mount(2)` flags (`MS_*`, `include/uapi/linux/mount.h`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MsFlags: u64 {
        /// Read-only.
        const MS_RDONLY = 1;
        /// Ignore setuid/setgid bits.
        const MS_NOSUID = 2;
        /// Disallow device access.
        const MS_NODEV = 4;
        /// Disallow execution.
        const MS_NOEXEC = 8;
        /// Synchronous writes.
        const MS_SYNCHRONOUS = 16;
        /// Change flags of an existing mount.
        const MS_REMOUNT = 32;
        /// Do not update access times.
        const MS_NOATIME = 1024;
        /// Bind mount.
        const MS_BIND = 4096;
        /// Move a mount.
        const MS_MOVE = 8192;
        /// Recursive (with `MS_BIND`).
        const MS_REC = 16384;
        /// Silence some messages.
        const MS_SILENT = 32768;
        /// Relative atime.
        const MS_RELATIME = 1 << 21;
        const _ = !0;
    }
}

/// `umount2` flag: force.
pub const MNT_FORCE: u32 = 1;
/// `umount2` flag: lazy detach.
pub const MNT_DETACH: u32 = 2;
/// `umount2` flag: expire.
pub const MNT_EXPIRE: u32 = 4;
/// `umount2` flag: do not follow a final symlink.
pub const UMOUNT_NOFOLLOW: u32 = 8;

/// `renameat2` flag: fail if the target exists.
pub const RENAME_NOREPLACE: u32 = 1;
/// `renameat2` flag: exchange the two names.
pub const RENAME_EXCHANGE: u32 = 2;
/// `renameat2` flag: leave a whiteout (unsupported).
pub const RENAME_WHITEOUT: u32 = 4;

/// `struct flock.l_type`: read lock.
pub const F_RDLCK: i16 = 0;
/// Write lock.
pub const F_WRLCK: i16 = 1;
/// Unlock.
pub const F_UNLCK: i16 = 2;

/// `flock(2)` operation: shared.
pub const LOCK_SH: u32 = 1;
/// Exclusive.
pub const LOCK_EX: u32 = 2;
/// Non-blocking.
pub const LOCK_NB: u32 = 4;
/// Unlock.
pub const LOCK_UN: u32 = 8;
