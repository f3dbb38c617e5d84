//! `open`: Linux's `do_filp_open` → `path_openat` → `do_open`/`may_open`: flag handling,
//! permission and read-only checks, `O_TRUNC`, and attaching a device's, FIFO's or generated
//! file's own operations.

use std::sync::Arc;

use uapi::{Errno, KResult};

use super::Vfs;
use crate::abi::OpenFlags;
use crate::context::Ctx;
use crate::abi::S_IFREG;
use crate::acl::{creation_mode, permission};
use crate::cred::{new_inode_owner, MAY_EXEC, MAY_READ, MAY_WRITE};
use crate::dentry::Dentry;
use crate::file_like::FileLike;
use crate::inode::{FileType, InodeAttr};
use crate::mount::{MountFlags, Path};
use crate::open_file::OpenFile;
use crate::path::resolve;

/// `O_TMPFILE` without its `O_DIRECTORY` part.
const O_TMPFILE_ONLY: u32 = 0o20000000;

/// The permission mask an open asks for (`ACC_MODE` plus `MAY_WRITE` for `O_TRUNC`).
fn acc_mode(flags: OpenFlags) -> u32 {
    let mut m = match flags.bits() & crate::abi::O_ACCMODE {
        0 => MAY_READ,
        1 => MAY_WRITE,
        _ => MAY_READ | MAY_WRITE,
    };
    if flags.contains(OpenFlags::TRUNC) {
        m |= MAY_WRITE;
    }
    m
}

impl Vfs {
    /// `openat(2)`: resolves (creating with `O_CREAT`) and opens `path`. As Linux:
    /// `O_EXCL` gives `EEXIST`; `O_NOFOLLOW` on a final symlink `ELOOP`; `O_DIRECTORY` on a
    /// non-directory `ENOTDIR`; writing (or `O_CREAT` on) a directory `EISDIR`; `O_TRUNC`
    /// empties a regular file; `O_PATH` opens only a location (and drops every other flag
    /// first); `O_DIRECTORY|O_CREAT` is `EINVAL` (Linux 6.4+); `O_TMPFILE` makes an unnamed
    /// file in the directory `path` (see [`Vfs::open_tmpfile`]). `mode` is the creation mode
    /// before the umask.
    pub fn open(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8], flags: OpenFlags, mode: u32) -> KResult<Arc<OpenFile>> {
        let flags = if flags.contains(OpenFlags::PATH) {
            flags & (OpenFlags::PATH | OpenFlags::DIRECTORY | OpenFlags::NOFOLLOW | OpenFlags::CLOEXEC)
        } else {
            flags
        };
        if flags.contains(OpenFlags::DIRECTORY | OpenFlags::CREAT) {
            return Err(Errno::EINVAL);
        }
        if flags.bits() & O_TMPFILE_ONLY != 0 {
            if !flags.contains(OpenFlags::DIRECTORY) || !flags.can_write() {
                return Err(Errno::EINVAL);
            }
            return self.open_tmpfile(ctx, start, path, flags, mode);
        }
        let nofollow = flags.contains(OpenFlags::NOFOLLOW);
        let (p, created) = if flags.contains(OpenFlags::CREAT) && !flags.contains(OpenFlags::PATH) {
            self.open_create(ctx, start, path, flags.contains(OpenFlags::EXCL), nofollow, mode)?
        } else {
            (resolve(ctx, start, path, !nofollow)?, false)
        };
        self.open_path(ctx, p, flags, created)
    }

    /// `O_TMPFILE` (Linux's `do_tmpfile` + `vfs_tmpfile`): a regular file with no name in the
    /// directory `path` (`ENOENT`/`ENOTDIR` if there is none; `EROFS` on a read-only mount;
    /// `EACCES` without write and search permission, ACLs included; `EOPNOTSUPP` where the
    /// filesystem has none). Its location shows as `DIR/#INO (deleted)`; `linkat` may name it
    /// unless it was opened with `O_EXCL`. The mode is masked by the umask, or else shaped by
    /// the directory's default ACL, which the file inherits (Linux's `vfs_prepare_mode` and
    /// the filesystems' `posix_acl_create` in `tmpfile`).
    pub fn open_tmpfile(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8], flags: OpenFlags, mode: u32) -> KResult<Arc<OpenFile>> {
        let dir = resolve(ctx, start, path, true)?;
        let dir_attr = dir.attr()?;
        if !dir_attr.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        super::check_writable_mount(&dir)?;
        permission(ctx.cred, &**dir.inode(), &dir_attr, MAY_WRITE | MAY_EXEC)?;
        let (mode, inherited) = creation_mode(&**dir.inode(), S_IFREG | (mode & 0o7777), ctx.umask)?;
        let (uid, gid, mode) = new_inode_owner(ctx.cred, &dir_attr, mode);
        let inode = dir.inode().tmpfile(mode & 0o7777, uid, gid)?;
        inherited.apply(&*inode)?;
        let name = format!("#{}", inode.attr()?.ino);
        let linkable = !flags.contains(OpenFlags::EXCL);
        let dentry = Dentry::new_unlinked(&dir.dentry, name.as_bytes(), inode.clone(), linkable);
        let p = Path { mount: dir.mount.clone(), dentry };
        let file = inode.open(flags)?;
        let of = OpenFile::new_opened(p, file, flags);
        of.attach_page_cache(self.pages.clone());
        Ok(of)
    }

    /// Opens an already-resolved path (used by `open` and by `kernel` for `execve` and
    /// `/proc/<pid>/fd` reopen): the checks of `do_open` and `may_open`.
    pub fn open_path(&self, ctx: &Ctx<'_>, p: Path, flags: OpenFlags, created: bool) -> KResult<Arc<OpenFile>> {
        let attr = p.attr()?;
        let ft = attr.file_type();
        if flags.contains(OpenFlags::DIRECTORY) && ft != FileType::Directory && ft != FileType::Symlink {
            return Err(Errno::ENOTDIR);
        }
        if flags.contains(OpenFlags::PATH) {
            if flags.contains(OpenFlags::DIRECTORY) && ft != FileType::Directory {
                return Err(Errno::ENOTDIR);
            }
            return Ok(OpenFile::new(p, None, flags));
        }
        match ft {
            FileType::Symlink => return Err(Errno::ELOOP),
            FileType::Directory if flags.contains(OpenFlags::CREAT) || flags.can_write() => return Err(Errno::EISDIR),
            _ => {}
        }
        if !created {
            self.may_open(ctx, &p, &attr, flags)?;
        }
        if flags.contains(OpenFlags::TRUNC) && ft == FileType::Regular && !created {
            p.inode().truncate(0)?;
            self.pages.truncated(p.inode(), 0);
        }
        let of = match self.open_special(ctx, &p, &attr, flags)? {
            Some(file) => OpenFile::new(p, Some(file), flags),
            None => {
                let file = p.inode().open(flags)?;
                let of = OpenFile::new_opened(p, file, flags);
                of.attach_page_cache(self.pages.clone());
                of
            }
        };
        of.attach_notifier(&self.notifier);
        Ok(of)
    }

    /// `may_open`: `EROFS` for writing stored files on a read-only mount, `EACCES` for
    /// devices on a `nodev` mount, then the mode bits.
    fn may_open(&self, ctx: &Ctx<'_>, p: &Path, attr: &InodeAttr, flags: OpenFlags) -> KResult<()> {
        let acc = acc_mode(flags);
        let ft = attr.file_type();
        let is_dev = matches!(ft, FileType::CharDevice | FileType::BlockDevice);
        if acc & MAY_WRITE != 0 && matches!(ft, FileType::Regular | FileType::Directory) && p.mount.is_readonly() {
            return Err(Errno::EROFS);
        }
        if is_dev && p.mount.flags().contains(MountFlags::NODEV) {
            return Err(Errno::EACCES);
        }
        permission(ctx.cred, &**p.inode(), attr, acc)
    }

    /// The operations of special files: devices (character and block) through the registry by number, FIFOs through
    /// the kernel's FIFO hook, sockets `ENXIO`; `None` for files the inode opens itself.
    fn open_special(&self, ctx: &Ctx<'_>, p: &Path, attr: &InodeAttr, flags: OpenFlags) -> KResult<Option<Arc<dyn FileLike>>> {
        match attr.file_type() {
            FileType::CharDevice => self.devices.open_char_node(p, ctx.cred, attr.rdev, flags).map(Some),
            FileType::BlockDevice => self.devices.open_block(attr.rdev, flags).map(Some),
            FileType::Fifo => self.devices.open_fifo(p, attr, flags).map(Some),
            FileType::Socket => Err(Errno::ENXIO),
            _ => Ok(None),
        }
    }
}
