//! `fs`: Umbra's virtual filesystem, as Linux's `fs/` is. It owns the VFS objects (inodes,
//! dentries, mounts, open file descriptions, fd tables), the path walk with permission checks,
//! and the in-kernel filesystems (tmpfs, devtmpfs, procfs, hostfs; ext2 lives beside them).
//!
//! fs never blocks: an operation that would wait returns `EAGAIN`, and readiness is published
//! through [`poll::Pollee`] so that `kernel` can sleep and retry.

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod abi;
pub mod acl;
pub mod capability;
pub mod context;
pub mod cred;
pub mod dentry;
pub mod devfs;
pub mod devpts;
pub mod dirent;
pub mod fd_table;
pub mod file_like;
pub mod hostfs;
pub mod inode;
pub mod klock;
pub mod locks;
pub mod memfd;
pub mod mount;
pub mod notify;
pub mod open_file;
pub mod pagecache;
pub mod pagestore;
pub mod path;
pub mod poll;
pub mod procfs;
pub mod sysfs;
pub mod time;
pub mod tmpfs;
pub mod vfs;
pub mod xattr;

pub use context::{Ctx, FsContext};
pub use cred::Credentials;
pub use dentry::Dentry;
pub use fd_table::{FdFlags, FdTable};
pub use file_like::{FileLike, RecvMsg, SendMsg, SockTask, UserMemory};
pub use inode::{DirEntry, FileSystem, FileType, Inode, InodeAttr, RenameFlags, SetAttr, StatFs};
pub use mount::{Mount, MountFlags, Path};
pub use open_file::OpenFile;
pub use poll::{PollEvents, Pollee, Waker};
pub use time::Timespec;
pub use vfs::Vfs;
pub mod block;
pub mod blockdev;
pub mod ext2;
pub mod ext2vfs;
