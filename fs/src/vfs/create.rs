//! Creating names: `mkdir`, `mknod`, `symlink`, `link`, and the `O_CREAT` half of `open`
//! (Linux's `filename_create`, `may_create`, `vfs_mkdir`/`vfs_mknod`/`vfs_symlink`/`vfs_link`).
//! Errors come in Linux's order: `EEXIST` for an existing name, then `EROFS`, then
//! `EACCES` from the parent's permissions.

use std::sync::Arc;

use uapi::{Errno, KResult};

use super::{check_writable_mount, lookup_opt, may_create, Vfs};
use crate::abi::{PATH_MAX, S_IFMT, S_IFREG, S_ISGID, S_ISUID};
use crate::acl::creation_mode;
use crate::context::Ctx;
use crate::cred::{new_inode_owner, MAY_READ, MAY_WRITE};
use crate::inode::{FileType, Inode, InodeAttr};
use crate::mount::Path;
use crate::notify::Notifier;
use crate::path::{resolve, LastKind, Parent, Walker};

/// A checked place for a new name: the parent path, the name and the parent's attributes.
pub(super) struct NewName {
    pub(super) dir: Path,
    pub(super) name: Vec<u8>,
    pub(super) dir_attr: InodeAttr,
}

impl NewName {
    /// Records the new inode in the dentry cache, tells inotify (IN_CREATE), and returns its
    /// path.
    pub(super) fn bind(&self, inode: Arc<dyn Inode>, notifier: &Notifier) -> Path {
        notifier.on_create(self.dir.inode(), &inode, &self.name);
        let d = self.dir.dentry.insert_child(&self.name, inode);
        Path { mount: self.dir.mount.clone(), dentry: d }
    }
}

/// Checks that `parent`'s last component can be created (`filename_create` + `may_create`).
pub(super) fn check_new_name(ctx: &Ctx<'_>, walker: &mut Walker<'_>, parent: &Parent, is_dir: bool) -> KResult<NewName> {
    if parent.kind != LastKind::Normal {
        return Err(Errno::EEXIST);
    }
    if lookup_opt(walker, &parent.dir, &parent.name)?.is_some() {
        return Err(Errno::EEXIST);
    }
    if parent.trailing_slash && !is_dir {
        return Err(Errno::ENOENT);
    }
    check_writable_mount(&parent.dir)?;
    let dir_attr = may_create(ctx.cred, &parent.dir)?;
    Ok(NewName { dir: parent.dir.clone(), name: parent.name.clone(), dir_attr })
}

impl Vfs {
    fn new_name(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8], is_dir: bool) -> KResult<NewName> {
        let mut walker = Walker::new(ctx);
        let parent = walker.walk_parent(start.clone(), path)?;
        check_new_name(ctx, &mut walker, &parent, is_dir)
    }

    /// `mkdirat(2)`: mode is masked with `07777 & !umask` (setgid inherited from a setgid
    /// parent).
    pub fn mkdir(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8], mode: u32) -> KResult<()> {
        let nn = self.new_name(ctx, start, path, true)?;
        let (mode, inherited) = creation_mode(&**nn.dir.inode(), crate::abi::S_IFDIR | (mode & 0o1777), ctx.umask)?;
        let (uid, gid, mode) = new_inode_owner(ctx.cred, &nn.dir_attr, mode);
        let inode = nn.dir.inode().mkdir(&nn.name, mode & 0o7777, uid, gid)?;
        inherited.apply(&*inode)?;
        nn.bind(inode, &self.notifier);
        Ok(())
    }

    /// `mknodat(2)`: regular files, FIFOs and sockets for anyone with write access to the
    /// directory; character and block devices need root (`EPERM`); a directory or unknown type
    /// is `EPERM`/`EINVAL` as Linux.
    pub fn mknod(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8], mode: u32, rdev: u64) -> KResult<()> {
        let mode = if mode & S_IFMT == 0 { mode | S_IFREG } else { mode };
        let ft = FileType::from_mode(mode).ok_or(Errno::EINVAL)?;
        if ft == FileType::Directory {
            return Err(Errno::EPERM);
        }
        if ft == FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        let nn = self.new_name(ctx, start, path, false)?;
        let is_dev = matches!(ft, FileType::CharDevice | FileType::BlockDevice);
        if is_dev && !ctx.cred.capable(crate::capability::cap::MKNOD) {
            return Err(Errno::EPERM);
        }
        let (mode, inherited) = creation_mode(&**nn.dir.inode(), ft.mode_bits() | (mode & 0o7777), ctx.umask)?;
        let (uid, gid, mode) = new_inode_owner(ctx.cred, &nn.dir_attr, mode);
        let rdev = if is_dev { rdev } else { 0 };
        let inode = nn.dir.inode().mknod(&nn.name, mode, rdev, uid, gid)?;
        inherited.apply(&*inode)?;
        nn.bind(inode, &self.notifier);
        Ok(())
    }

    /// `symlinkat(2)`: creates `path` pointing at `target` (`ENOENT` for an empty target).
    pub fn symlink(&self, ctx: &Ctx<'_>, target: &[u8], start: &Path, path: &[u8]) -> KResult<()> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let nn = self.new_name(ctx, start, path, false)?;
        let (uid, gid, _) = new_inode_owner(ctx.cred, &nn.dir_attr, crate::abi::S_IFLNK | 0o777);
        let inode = nn.dir.inode().symlink(&nn.name, target, uid, gid)?;
        nn.bind(inode, &self.notifier);
        Ok(())
    }

    /// `linkat(2)`: a new name for an existing non-directory (`EPERM` for directories,
    /// `EXDEV` across mounts). As Linux with `fs.protected_hardlinks=1`, a caller who does not
    /// own the file must be able to read and write it, and it must not be setuid/setgid-exec.
    pub fn link(&self, ctx: &Ctx<'_>, old_start: &Path, old_path: &[u8], new_start: &Path, new_path: &[u8], follow: bool) -> KResult<()> {
        let old = resolve(ctx, old_start, old_path, follow)?;
        self.link_path(ctx, &old, new_start, new_path)
    }

    /// `linkat(2)` of an already-resolved file (`AT_EMPTY_PATH`: the file open at the fd).
    /// A file with no link left is `ENOENT`, unless it is an `O_TMPFILE` that may be linked
    /// (Linux's `I_LINKABLE`), which its first link makes an ordinary file.
    pub fn link_path(&self, ctx: &Ctx<'_>, old: &Path, new_start: &Path, new_path: &[u8]) -> KResult<()> {
        let nn = self.new_name(ctx, new_start, new_path, false)?;
        if !Arc::ptr_eq(&old.mount, &nn.dir.mount) {
            return Err(Errno::EXDEV);
        }
        let attr = old.attr()?;
        if attr.is_dir() {
            return Err(Errno::EPERM);
        }
        may_hardlink(ctx, &**old.inode(), &attr)?;
        if attr.nlink == 0 && !old.dentry.is_linkable() {
            return Err(Errno::ENOENT);
        }
        nn.dir.inode().link(&nn.name, old.inode())?;
        old.dentry.clear_linkable();
        nn.bind(old.inode().clone(), &self.notifier);
        Ok(())
    }

    /// The `O_CREAT` lookup of `open`: returns the existing or newly created file and whether
    /// it was created. A final symlink is followed (unless `O_EXCL`/`O_NOFOLLOW`), so a
    /// dangling link creates its target, as Linux does.
    pub(super) fn open_create(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8], excl: bool, nofollow: bool, mode: u32) -> KResult<(Path, bool)> {
        let mut walker = Walker::new(ctx);
        let mut parent = walker.walk_parent(start.clone(), path)?;
        loop {
            if parent.kind != LastKind::Normal || parent.trailing_slash {
                return Err(Errno::EISDIR);
            }
            let Some(found) = lookup_opt(&mut walker, &parent.dir, &parent.name)? else {
                return create_regular(ctx, &mut walker, &parent, mode, &self.notifier).map(|p| (p, true));
            };
            if excl {
                return Err(Errno::EEXIST);
            }
            if !crate::path::is_symlink(&found) || nofollow {
                return Ok((found, false));
            }
            if let Some(target) = walker.magic_target(&found)? {
                return Ok((target, false));
            }
            let target = walker.read_link(&found)?;
            parent = walker.walk_parent(parent.dir.clone(), &target)?;
        }
    }
}

fn create_regular(ctx: &Ctx<'_>, walker: &mut Walker<'_>, parent: &Parent, mode: u32, notifier: &Notifier) -> KResult<Path> {
    let nn = check_new_name(ctx, walker, parent, false)?;
    let (mode, inherited) = creation_mode(&**nn.dir.inode(), S_IFREG | (mode & 0o7777), ctx.umask)?;
    let (uid, gid, mode) = new_inode_owner(ctx.cred, &nn.dir_attr, mode);
    let inode = nn.dir.inode().create(&nn.name, mode & 0o7777, uid, gid)?;
    inherited.apply(&*inode)?;
    Ok(nn.bind(inode, notifier))
}

/// Linux's `may_linkat` with `protected_hardlinks` on.
fn may_hardlink(ctx: &Ctx<'_>, inode: &dyn Inode, attr: &InodeAttr) -> KResult<()> {
    if ctx.cred.owns(attr) {
        return Ok(());
    }
    let setid = attr.mode & S_ISUID != 0 || (attr.mode & S_ISGID != 0 && attr.mode & crate::abi::S_IXGRP != 0);
    if attr.file_type() != FileType::Regular || setid {
        return Err(Errno::EPERM);
    }
    crate::acl::permission(ctx.cred, inode, attr, MAY_READ | MAY_WRITE).map_err(|_| Errno::EPERM)
}
