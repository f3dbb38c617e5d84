//! The Linux x86-64 ABI pieces the VFS needs: at/mount flags, mode bits, device number
//! encoding, and conversions of VFS attributes into `uapi`'s `struct stat`/`statx`/`statfs`.
//!
//! Flag words shared with syscall handlers (`OpenFlags`, `RenameFlags`) come from `uapi::flags`;
//! the remaining constants are defined here with Linux's values (`include/uapi/asm-generic/fcntl.h`,
//! `include/uapi/linux/stat.h`, `fs.h`, `mount.h`).

use bitflags::bitflags;

use crate::inode::{InodeAttr, StatFs};
use crate::time::Timespec;
use uapi::structs::{Stat, Statx, StatxTimestamp};

pub use uapi::flags::{OpenFlags, RenameFlags, O_ACCMODE};

/// The Linux constants shared with `uapi` (one definition of each in the workspace).
pub use uapi::flags::{
    AT_FDCWD, R_OK, W_OK, X_OK, F_OK, S_IFMT, S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO, S_ISUID, S_ISGID, S_ISVTX, S_IXGRP, SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE, UTIME_NOW, UTIME_OMIT, STATX_BASIC_STATS, STATX_MNT_ID, MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT, F_RDLCK, F_WRLCK, F_UNLCK, LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN,
};

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

/// Any execute bit.
pub const S_IXUGO: u32 = 0o111;

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

/// `struct stat` as x86-64 Linux fills it (`cp_new_stat`).
pub fn to_stat(a: &InodeAttr) -> Stat {
    Stat {
        st_dev: a.dev,
        st_ino: a.ino,
        st_nlink: a.nlink,
        st_mode: a.mode,
        st_uid: a.uid,
        st_gid: a.gid,
        st_rdev: a.rdev,
        st_size: i64::try_from(a.size).unwrap_or(i64::MAX),
        st_blksize: i64::from(a.blksize),
        st_blocks: i64::try_from(a.blocks).unwrap_or(i64::MAX),
        st_atime: a.atime.sec,
        st_atime_nsec: a.atime.nsec,
        st_mtime: a.mtime.sec,
        st_mtime_nsec: a.mtime.nsec,
        st_ctime: a.ctime.sec,
        st_ctime_nsec: a.ctime.nsec,
        ..Stat::default()
    }
}

fn statx_ts(t: Timespec) -> StatxTimestamp {
    StatxTimestamp { tv_sec: t.sec, tv_nsec: u32::try_from(t.nsec).unwrap_or(0), _reserved: 0 }
}

/// `struct statx` with the basic stats and the mount id (`cp_statx`); no birth time.
pub fn to_statx(a: &InodeAttr, mnt_id: u64) -> Statx {
    Statx {
        stx_mask: STATX_BASIC_STATS | STATX_MNT_ID,
        stx_blksize: a.blksize,
        stx_nlink: u32::try_from(a.nlink).unwrap_or(u32::MAX),
        stx_uid: a.uid,
        stx_gid: a.gid,
        stx_mode: a.mode as u16,
        stx_ino: a.ino,
        stx_size: a.size,
        stx_blocks: a.blocks,
        stx_atime: statx_ts(a.atime),
        stx_ctime: statx_ts(a.ctime),
        stx_mtime: statx_ts(a.mtime),
        stx_rdev_major: dev_major(a.rdev),
        stx_rdev_minor: dev_minor(a.rdev),
        stx_dev_major: dev_major(a.dev),
        stx_dev_minor: dev_minor(a.dev),
        stx_mnt_id: mnt_id,
        ..Statx::default()
    }
}

/// x86-64 `struct statfs` (`do_statfs_native`).
pub fn to_statfs(s: &StatFs) -> uapi::structs::StatFs {
    uapi::structs::StatFs {
        f_type: s.fs_type,
        f_bsize: s.bsize,
        f_blocks: s.blocks,
        f_bfree: s.bfree,
        f_bavail: s.bavail,
        f_files: s.files,
        f_ffree: s.ffree,
        f_fsid: [s.fsid as u32 as i32, (s.fsid >> 32) as u32 as i32],
        f_namelen: s.namelen,
        f_frsize: s.frsize,
        f_flags: s.flags,
        f_spare: [0; 4],
    }
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

