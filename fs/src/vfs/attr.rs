//! Attribute operations: `stat`, `readlink`, `chmod`, `chown`, `utimensat`, `truncate`,
//! `access`/`faccessat2`, `statfs` (Linux's `vfs_getattr`, `chmod_common`, `chown_common`,
//! `vfs_utimes`, `do_truncate`, `do_faccessat`, `vfs_statfs`, `setattr_prepare`).

use uapi::{Errno, KResult};

use super::{check_writable_mount, Vfs};
use crate::abi::{AT_EACCESS, AT_SYMLINK_NOFOLLOW, MAX_LFS_FILESIZE, S_ISGID, S_ISUID, S_IXGRP, UTIME_NOW, UTIME_OMIT};
use crate::context::Ctx;
use crate::acl::permission;
use crate::capability::cap;
use crate::cred::{MAY_EXEC, MAY_WRITE};
use crate::inode::{FileType, InodeAttr, SetAttr, StatFs};
use crate::mount::{MountFlags, Path};
use crate::path::resolve;
use crate::time::{now, Timespec};

/// One time argument of `utimensat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeArg {
    /// `UTIME_NOW`.
    Now,
    /// `UTIME_OMIT`.
    Omit,
    /// An explicit time.
    Set(Timespec),
}

impl TimeArg {
    /// Decodes a guest `struct timespec` (`EINVAL` for nanoseconds out of range).
    pub fn from_timespec(sec: i64, nsec: i64) -> KResult<TimeArg> {
        match nsec {
            UTIME_NOW => Ok(TimeArg::Now),
            UTIME_OMIT => Ok(TimeArg::Omit),
            0..=999_999_999 => Ok(TimeArg::Set(Timespec::new(sec, nsec))),
            _ => Err(Errno::EINVAL),
        }
    }
    fn resolve(self, now: Timespec) -> Option<Timespec> {
        match self {
            TimeArg::Now => Some(now),
            TimeArg::Omit => None,
            TimeArg::Set(t) => Some(t),
        }
    }
}

/// `ST_*` flags of `statfs.f_flags` (`ST_VALID` always set, as Linux does).
fn statfs_flags(flags: MountFlags, ro: bool) -> i64 {
    let mut f = 0x20; // ST_VALID
    if ro {
        f |= 1;
    }
    for (m, st) in [(MountFlags::NOSUID, 2), (MountFlags::NODEV, 4), (MountFlags::NOEXEC, 8), (MountFlags::NOATIME, 1024), (MountFlags::RELATIME, 4096)] {
        if flags.contains(m) {
            f |= st;
        }
    }
    f
}

impl Vfs {
    /// `newfstatat(2)`/`statx(2)`: the attributes of `path` (`follow` unless
    /// `AT_SYMLINK_NOFOLLOW`), `st_dev` included.
    pub fn stat(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8], follow: bool) -> KResult<InodeAttr> {
        resolve(ctx, start, path, follow)?.attr()
    }

    /// `readlinkat(2)`: the target of the symlink at `path` (`EINVAL` if not a symlink).
    pub fn readlink(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8]) -> KResult<Vec<u8>> {
        let p = resolve(ctx, start, path, false)?;
        if p.attr()?.file_type() != FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        p.inode().readlink()
    }

    /// `fchmodat(2)`/`fchmod(2)` on a resolved path: owner or root only (`EPERM`); a caller
    /// outside the file's group (and not root) loses `S_ISGID`, as `setattr_prepare` does.
    pub fn chmod(&self, ctx: &Ctx<'_>, p: &Path, mode: u32) -> KResult<()> {
        check_writable_mount(p)?;
        let attr = p.attr()?;
        if !ctx.cred.owns(&attr) {
            return Err(Errno::EPERM);
        }
        let mut mode = mode & 0o7777;
        if !ctx.cred.in_group(attr.gid) && !ctx.cred.capable(cap::FSETID) {
            mode &= !S_ISGID;
        }
        p.inode().set_attr(&SetAttr { mode: Some(mode), ctime: Some(now()), ..SetAttr::default() })?;
        super::xattr::chmod_acl(&**p.inode(), mode)?;
        self.notifier.on_file(p, crate::notify::mask::ATTRIB);
        Ok(())
    }

    /// `fchownat(2)`/`fchown(2)`/`lchown(2)` on a resolved path (`None` = `-1`, unchanged):
    /// only root changes the owner; the owner may change the group to one of its groups;
    /// otherwise `EPERM`. For non-directories `S_ISUID` and (with group exec) `S_ISGID` are
    /// cleared, as `chown_common` asks.
    pub fn chown(&self, ctx: &Ctx<'_>, p: &Path, uid: Option<u32>, gid: Option<u32>) -> KResult<()> {
        check_writable_mount(p)?;
        let attr = p.attr()?;
        let root = ctx.cred.capable(cap::CHOWN);
        let uid_ok = uid.is_none_or(|u| root || (u == attr.uid && ctx.cred.fsuid == attr.uid));
        let gid_ok = gid.is_none_or(|g| root || (ctx.cred.fsuid == attr.uid && (g == attr.gid || ctx.cred.in_group(g))));
        if !uid_ok || !gid_ok {
            return Err(Errno::EPERM);
        }
        let mut set = SetAttr { uid, gid, ctime: Some(now()), ..SetAttr::default() };
        if !attr.is_dir() {
            let mut mode = attr.mode & 0o7777 & !S_ISUID;
            if mode & S_IXGRP != 0 {
                mode &= !S_ISGID;
            }
            if mode != attr.mode & 0o7777 {
                set.mode = Some(mode);
            }
        }
        p.inode().set_attr(&set)?;
        self.notifier.on_file(p, crate::notify::mask::ATTRIB);
        Ok(())
    }

    /// `utimensat(2)` on a resolved path: setting both times to "now" needs ownership or
    /// write permission (`EACCES`); explicit times need ownership (`EPERM`); omitting both
    /// does nothing.
    pub fn utimens(&self, ctx: &Ctx<'_>, p: &Path, atime: TimeArg, mtime: TimeArg) -> KResult<()> {
        if atime == TimeArg::Omit && mtime == TimeArg::Omit {
            return Ok(());
        }
        check_writable_mount(p)?;
        let attr = p.attr()?;
        if !ctx.cred.owns(&attr) {
            let only_now = matches!(atime, TimeArg::Now | TimeArg::Omit) && matches!(mtime, TimeArg::Now | TimeArg::Omit);
            if !only_now {
                return Err(Errno::EPERM);
            }
            permission(ctx.cred, &**p.inode(), &attr, MAY_WRITE)?;
        }
        let t = now();
        let set = SetAttr { atime: atime.resolve(t), mtime: mtime.resolve(t), ctime: Some(t), ..SetAttr::default() };
        p.inode().set_attr(&set)?;
        self.notifier.on_file(p, crate::notify::mask::ATTRIB);
        Ok(())
    }

    /// `truncate(2)` on a resolved path: `EINVAL` for negative lengths or non-regular files,
    /// `EISDIR` for directories, `EACCES` without write permission, `EFBIG` past the limit.
    pub fn truncate(&self, ctx: &Ctx<'_>, p: &Path, len: i64) -> KResult<()> {
        let len = u64::try_from(len).map_err(|_| Errno::EINVAL)?;
        let attr = p.attr()?;
        match attr.file_type() {
            FileType::Directory => return Err(Errno::EISDIR),
            FileType::Regular => {}
            _ => return Err(Errno::EINVAL),
        }
        check_writable_mount(p)?;
        permission(ctx.cred, &**p.inode(), &attr, MAY_WRITE)?;
        if len > MAX_LFS_FILESIZE {
            return Err(Errno::EFBIG);
        }
        p.inode().truncate(len)?;
        self.pages.truncated(p.inode(), len);
        self.notifier.on_file(p, crate::notify::mask::MODIFY);
        Ok(())
    }

    /// `faccessat2(2)`: checks `mode` (`R_OK|W_OK|X_OK`, or `F_OK`) with the real ids, or the
    /// effective ones under `AT_EACCESS`; `EROFS` for writing on a read-only mount.
    pub fn access(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8], mode: u32, flags: u32) -> KResult<()> {
        if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | crate::abi::AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let cred = if flags & AT_EACCESS != 0 { ctx.cred.clone() } else { ctx.cred.with_real_ids() };
        let real = crate::context::Ctx { root: ctx.root, cred: &cred, umask: ctx.umask };
        let p = resolve(&real, start, path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
        self.access_path(&cred, &p, mode)
    }

    /// The permission half of `access` on a resolved path, for the given credentials; execute
    /// access to a regular file on a `noexec` mount is `EACCES` (Linux's `do_faccessat`, and
    /// `execve` through it).
    pub fn access_path(&self, cred: &crate::cred::Credentials, p: &Path, mode: u32) -> KResult<()> {
        if mode == 0 {
            return Ok(());
        }
        let attr = p.attr()?;
        let storage = matches!(attr.file_type(), FileType::Regular | FileType::Directory | FileType::Symlink);
        if mode & MAY_WRITE != 0 && storage && p.mount.is_readonly() {
            return Err(Errno::EROFS);
        }
        if mode & MAY_EXEC != 0 && attr.file_type() == FileType::Regular && p.mount.flags().contains(MountFlags::NOEXEC) {
            return Err(Errno::EACCES);
        }
        permission(cred, &**p.inode(), &attr, mode)
    }

    /// `statfs(2)`/`fstatfs(2)` on a resolved path, with the mount's flags in `f_flags`.
    pub fn statfs(&self, p: &Path) -> KResult<StatFs> {
        let mut s = p.mount.fs().statfs()?;
        s.flags = statfs_flags(p.mount.flags(), p.mount.is_readonly());
        if s.fsid == 0 {
            s.fsid = p.mount.fs().dev();
        }
        Ok(s)
    }
}
