//! Conversions between the ext2 layer's value types (inode-number API) and the VFS's.

use crate::abi::magic;
use crate::ext2::{self, dt};
use crate::inode::{FileType, InodeAttr, SetAttr, StatFs};
use crate::time::Timespec;

/// An ext2 timestamp as the VFS's.
pub(super) fn to_vfs_time(t: ext2::Timespec) -> Timespec {
    Timespec::new(t.sec, i64::from(t.nsec))
}

/// A VFS timestamp as ext2's (nanoseconds clamped into range).
pub(super) fn to_ext2_time(t: Timespec) -> ext2::Timespec {
    let nsec = u32::try_from(t.nsec.clamp(0, 999_999_999)).unwrap_or(0);
    ext2::Timespec { sec: t.sec, nsec }
}

/// `stat` fields of an ext2 inode (`dev` is filled by the VFS).
pub(super) fn to_vfs_attr(a: &ext2::InodeAttr) -> InodeAttr {
    InodeAttr {
        ino: u64::from(a.ino),
        mode: a.mode,
        nlink: u64::from(a.nlink),
        uid: a.uid,
        gid: a.gid,
        size: a.size,
        blocks: a.blocks,
        blksize: a.blksize,
        atime: to_vfs_time(a.atime),
        mtime: to_vfs_time(a.mtime),
        ctime: to_vfs_time(a.ctime),
        rdev: a.rdev,
        dev: 0,
    }
}

/// A VFS attribute change as ext2's `iattr` (size changes go through `truncate`).
pub(super) fn to_ext2_setattr(a: &SetAttr) -> ext2::SetAttr {
    ext2::SetAttr {
        mode: a.mode,
        uid: a.uid,
        gid: a.gid,
        size: None,
        atime: a.atime.map(to_ext2_time),
        mtime: a.mtime.map(to_ext2_time),
        ctime: a.ctime.map(to_ext2_time),
    }
}

/// `statfs` numbers of an ext2 filesystem (`f_flags` is filled by the VFS from the mount).
pub(super) fn to_vfs_statfs(s: &ext2::StatFs) -> StatFs {
    let fsid = u64::from(s.fsid[0]) | (u64::from(s.fsid[1]) << 32);
    StatFs {
        fs_type: magic::EXT2,
        bsize: i64::try_from(s.bsize).unwrap_or(4096),
        blocks: s.blocks,
        bfree: s.bfree,
        bavail: s.bavail,
        files: s.files,
        ffree: s.ffree,
        fsid,
        namelen: i64::try_from(s.namelen).unwrap_or(255),
        frsize: i64::try_from(s.frsize).unwrap_or(4096),
        flags: 0,
    }
}

/// The file type of a directory entry's `DT_*` value; `None` for `DT_UNKNOWN` (images without
/// the `filetype` feature), which the caller resolves from the inode.
pub(super) fn file_type_of_dt(d: u8) -> Option<FileType> {
    Some(match d {
        dt::FIFO => FileType::Fifo,
        dt::CHR => FileType::CharDevice,
        dt::DIR => FileType::Directory,
        dt::BLK => FileType::BlockDevice,
        dt::REG => FileType::Regular,
        dt::LNK => FileType::Symlink,
        dt::SOCK => FileType::Socket,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext2vfs_times_round_trip_and_clamp() {
        let t = Timespec::new(-5, 7);
        assert_eq!(to_vfs_time(to_ext2_time(t)), t);
        assert_eq!(to_ext2_time(Timespec::new(1, 2_000_000_000)).nsec, 999_999_999);
    }

    #[test]
    fn ext2vfs_dirent_types() {
        assert_eq!(file_type_of_dt(dt::LNK), Some(FileType::Symlink));
        assert_eq!(file_type_of_dt(dt::UNKNOWN), None);
        for ft in [FileType::Regular, FileType::Directory, FileType::Fifo, FileType::Socket] {
            assert_eq!(file_type_of_dt(ft.dirent_type()), Some(ft));
        }
    }
}
