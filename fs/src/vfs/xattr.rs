//! The extended attribute calls on a resolved path (Linux's `vfs_getxattr`, `vfs_setxattr`,
//! `vfs_listxattr`, `vfs_removexattr`, and for the two ACL names `vfs_get_acl`,
//! `vfs_set_acl`, `vfs_remove_acl`), with Linux's permission rules (`xattr_permission` and
//! the capability LSM's `cap_inode_setxattr`/`cap_inode_removexattr`):
//!
//! - `user.*`: regular files and directories only (elsewhere reads are `ENODATA`, writes
//!   `EPERM`), by the file's read/write permission (ACLs included); in a sticky directory only
//!   its owner or root may write.
//! - `trusted.*`: `CAP_SYS_ADMIN` (root) only: others read `ENODATA`, write `EPERM`, and do
//!   not see the names in `listxattr`.
//! - `security.*`: anyone reads; writing needs root (`EPERM`). `security.capability` must be a
//!   valid v2/v3 `vfs_cap_data` (`EINVAL`).
//! - `system.posix_acl_*`: anyone reads; the owner or root sets (`EPERM`); a default ACL only
//!   on a directory (`EACCES`); set flags are ignored, an empty value removes; setting an
//!   access ACL updates the mode (and drops an ACL the mode bits can express). Symlinks and
//!   filesystems without ACLs answer `EOPNOTSUPP`.

use uapi::{Errno, KResult};

use super::{check_writable_mount, Vfs};
use crate::abi::{S_ISGID, S_ISVTX};
use crate::acl::{self, AclKind, PosixAcl};
use crate::context::Ctx;
use crate::cred::{Credentials, MAY_READ, MAY_WRITE};
use crate::inode::{FileType, Inode, InodeAttr, SetAttr};
use crate::mount::Path;
use crate::time::now;
use crate::xattr::{fit_value, list_bytes, CAPS};

/// True if `cred` holds `CAP_SYS_ADMIN` in its effective set.
pub fn capable_sys_admin(cred: &Credentials) -> bool {
    cred.capable(crate::capability::cap::SYS_ADMIN)
}

/// What the xattr calls answer for an open file that has no inode in the VFS (a pipe, a
/// socket, an eventfd): Linux's anonymous inodes are neither regular files nor directories
/// and keep no attributes or ACLs, so after the namespace rules every call is `EOPNOTSUPP`.
/// `write` is true for set and remove.
pub fn pathless_xattr_error(cred: &Credentials, name: &[u8], write: bool) -> Errno {
    let admin = capable_sys_admin(cred);
    let denied = name.starts_with(b"user.") || (name.starts_with(b"trusted.") && !admin);
    match (denied, write) {
        (true, true) => Errno::EPERM,
        (true, false) => Errno::ENODATA,
        (false, true) if name.starts_with(b"security.") && !admin => Errno::EPERM,
        (false, _) => Errno::EOPNOTSUPP,
    }
}

/// Linux's `xattr_permission`: the namespace rules, then the file's permission for `mask`.
fn xattr_permission(cred: &Credentials, inode: &dyn Inode, attr: &InodeAttr, name: &[u8], mask: u32) -> KResult<()> {
    let write = mask & MAY_WRITE != 0;
    if name.starts_with(b"security.") || name.starts_with(b"system.") {
        return Ok(());
    }
    if name.starts_with(b"trusted.") {
        if capable_sys_admin(cred) {
            return Ok(());
        }
        return Err(if write { Errno::EPERM } else { Errno::ENODATA });
    }
    if name.starts_with(b"user.") {
        let ft = attr.file_type();
        if ft != FileType::Regular && ft != FileType::Directory {
            return Err(if write { Errno::EPERM } else { Errno::ENODATA });
        }
        if ft == FileType::Directory && attr.mode & S_ISVTX != 0 && write && !cred.owns(attr) {
            return Err(Errno::EPERM);
        }
    }
    acl::permission(cred, inode, attr, mask)
}

/// The capability LSM's hooks on writing: every `security.*` attribute needs root.
fn security_write_check(cred: &Credentials, name: &[u8]) -> KResult<()> {
    if name.starts_with(b"security.") && !capable_sys_admin(cred) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// `cap_convert_nscap`'s header check of a `security.capability` value: a v2 (20 bytes) or v3
/// (24 bytes) `vfs_cap_data`, else `EINVAL`; then `CAP_SETFCAP`, else `EPERM`.
fn check_file_caps(cred: &Credentials, value: &[u8]) -> KResult<()> {
    const REVISION_MASK: u32 = 0xFF00_0000;
    let magic = value.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) & REVISION_MASK);
    let valid = matches!((value.len(), magic), (20, Some(0x0200_0000)) | (24, Some(0x0300_0000)));
    if !valid {
        return Err(Errno::EINVAL);
    }
    if !cred.capable(crate::capability::cap::SETFCAP) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

impl Vfs {
    /// `getxattr(2)` on a resolved path: the value of `name`, or with `size` 0 just its
    /// length (the caller sizes its reply by it); `ERANGE` if `size` is too small.
    pub fn getxattr(&self, ctx: &Ctx<'_>, p: &Path, name: &[u8], size: usize) -> KResult<Vec<u8>> {
        let inode = p.inode();
        if let Some(kind) = AclKind::from_name(name) {
            if !acl_capable(p)? {
                return Err(Errno::EOPNOTSUPP);
            }
            let acl = acl::get_acl(&**inode, kind)?.ok_or(Errno::ENODATA)?;
            return fit_value(acl.to_xattr(), size);
        }
        let attr = p.attr()?;
        xattr_permission(ctx.cred, &**inode, &attr, name, MAY_READ)?;
        fit_value(inode.get_xattr(name)?, size)
    }

    /// `setxattr(2)` on a resolved path (`flags`: `XATTR_CREATE`/`XATTR_REPLACE`, already
    /// checked for unknown bits).
    pub fn setxattr(&self, ctx: &Ctx<'_>, p: &Path, name: &[u8], value: &[u8], flags: u32) -> KResult<()> {
        check_writable_mount(p)?;
        if let Some(kind) = AclKind::from_name(name) {
            let acl = if value.is_empty() { None } else { PosixAcl::from_xattr(value)? };
            return self.set_acl(ctx, p, kind, acl);
        }
        if name == CAPS && !value.is_empty() {
            check_file_caps(ctx.cred, value)?;
        }
        let inode = p.inode();
        let attr = p.attr()?;
        xattr_permission(ctx.cred, &**inode, &attr, name, MAY_WRITE)?;
        security_write_check(ctx.cred, name)?;
        inode.set_xattr(name, value, flags)
    }

    /// `removexattr(2)` on a resolved path (`ENODATA` if `name` is not set; removing an ACL
    /// that is not there succeeds, as Linux's `vfs_remove_acl`).
    pub fn removexattr(&self, ctx: &Ctx<'_>, p: &Path, name: &[u8]) -> KResult<()> {
        check_writable_mount(p)?;
        if let Some(kind) = AclKind::from_name(name) {
            return self.set_acl(ctx, p, kind, None);
        }
        let inode = p.inode();
        let attr = p.attr()?;
        xattr_permission(ctx.cred, &**inode, &attr, name, MAY_WRITE)?;
        security_write_check(ctx.cred, name)?;
        inode.remove_xattr(name)
    }

    /// `listxattr(2)` on a resolved path: the NUL-separated names (`trusted.*` only for root),
    /// `ERANGE` if they do not fit in `size` bytes (0 asks only for the length). A filesystem
    /// without attributes lists none.
    pub fn listxattr(&self, ctx: &Ctx<'_>, p: &Path, size: usize) -> KResult<Vec<u8>> {
        let names = match p.inode().list_xattr() {
            Ok(n) => n,
            Err(Errno::EOPNOTSUPP) => Vec::new(),
            Err(e) => return Err(e),
        };
        let admin = capable_sys_admin(ctx.cred);
        let acls = p.mount.fs().posix_acl();
        let visible: Vec<Vec<u8>> = names
            .into_iter()
            .filter(|n| admin || !n.starts_with(b"trusted."))
            .filter(|n| acls || AclKind::from_name(n).is_none())
            .collect();
        fit_value(list_bytes(&visible), size)
    }

    /// Sets or (with `None`) removes an ACL (`set_posix_acl` + the filesystem's `set_acl`).
    fn set_acl(&self, ctx: &Ctx<'_>, p: &Path, kind: AclKind, acl: Option<PosixAcl>) -> KResult<()> {
        if let Some(a) = &acl {
            a.validate()?;
        }
        if !acl_capable(p)? {
            return Err(Errno::EOPNOTSUPP);
        }
        let attr = p.attr()?;
        if kind == AclKind::Default && !attr.is_dir() {
            return if acl.is_some() { Err(Errno::EACCES) } else { Ok(()) };
        }
        if !ctx.cred.owns(&attr) {
            return Err(Errno::EPERM);
        }
        let inode = p.inode();
        let (acl, new_mode) = match (kind, acl) {
            (AclKind::Access, Some(a)) => {
                let (mut mode, not_equiv) = a.equiv_mode(attr.mode);
                if !ctx.cred.in_group(attr.gid) && !ctx.cred.capable(crate::capability::cap::FSETID) {
                    mode &= !S_ISGID;
                }
                (not_equiv.then_some(a), Some(mode))
            }
            (_, acl) => (acl, None),
        };
        store_acl(&**inode, kind, acl.as_ref())?;
        if let Some(mode) = new_mode {
            inode.set_attr(&SetAttr { mode: Some(mode & 0o7777), ctime: Some(now()), ..SetAttr::default() })?;
        }
        Ok(())
    }
}

/// Whether `p` can have ACLs: its filesystem keeps them and it is not a symlink (Linux's
/// `IS_POSIXACL` and the symlink operations' lack of `get_acl`/`set_acl`).
fn acl_capable(p: &Path) -> KResult<bool> {
    Ok(p.mount.fs().posix_acl() && p.attr()?.file_type() != FileType::Symlink)
}

/// Writes (or removes) the stored ACL of `kind`.
fn store_acl(inode: &dyn Inode, kind: AclKind, acl: Option<&PosixAcl>) -> KResult<()> {
    match acl {
        Some(a) => inode.set_xattr(kind.xattr_name(), &a.to_xattr(), 0),
        None => match inode.remove_xattr(kind.xattr_name()) {
            Err(Errno::ENODATA) => Ok(()),
            r => r,
        },
    }
}

/// After `chmod` changed an inode's mode: its access ACL's owner, mask and other entries take
/// the new bits (Linux's `posix_acl_chmod`).
pub(super) fn chmod_acl(inode: &dyn Inode, mode: u32) -> KResult<()> {
    let Some(mut acl) = acl::get_acl(inode, AclKind::Access)? else { return Ok(()) };
    acl.chmod_masq(mode);
    store_acl(inode, AclKind::Access, Some(&acl))
}
