//! Removing and moving names: `unlink`, `rmdir`, `rename` (Linux's `do_unlinkat`,
//! `do_rmdir`, `do_renameat2`, `may_delete`), with the dentry cache kept in step.

use std::sync::Arc;

use uapi::{Errno, KResult};

use super::{check_writable_mount, may_create, Vfs};
use crate::abi::{RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};
use crate::context::Ctx;
use crate::acl::permission;
use crate::cred::{check_sticky, MAY_EXEC, MAY_WRITE};
use crate::inode::RenameFlags;
use crate::mount::Path;
use crate::notify::mask;
use crate::path::{is_dir, LastKind, Parent, Walker};

/// Linux's `may_delete`: write+search on the directory, the sticky rule, the victim's type
/// (`ENOTDIR`/`EISDIR` against `want_dir`), and `EBUSY` for a mount point.
fn may_delete(ctx: &Ctx<'_>, dir: &Path, victim: &Path, want_dir: bool) -> KResult<()> {
    let dir_attr = dir.attr()?;
    permission(ctx.cred, &**dir.inode(), &dir_attr, MAY_WRITE | MAY_EXEC)?;
    let v = victim.attr()?;
    check_sticky(ctx.cred, &dir_attr, &v)?;
    match (want_dir, v.is_dir()) {
        (true, false) => return Err(Errno::ENOTDIR),
        (false, true) => return Err(Errno::EISDIR),
        _ => {}
    }
    if victim.dentry.is_mountpoint() {
        return Err(Errno::EBUSY);
    }
    Ok(())
}

impl Vfs {
    /// `unlinkat(2)` without `AT_REMOVEDIR`: removes a non-directory name (`EISDIR` for a
    /// directory, `ENOTDIR` for a file named with a trailing slash).
    pub fn unlink(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8]) -> KResult<()> {
        let mut walker = Walker::new(ctx);
        let parent = walker.walk_parent(start.clone(), path)?;
        if parent.kind != LastKind::Normal {
            return Err(Errno::EISDIR);
        }
        check_writable_mount(&parent.dir)?;
        let victim = walker.lookup_raw(&parent.dir, &parent.name)?;
        if parent.trailing_slash {
            return Err(if is_dir(&victim) { Errno::EISDIR } else { Errno::ENOTDIR });
        }
        may_delete(ctx, &parent.dir, &victim, false)?;
        let key = self.watched_key(victim.inode());
        parent.dir.inode().unlink(&parent.name)?;
        parent.dir.dentry.remove_child(&parent.name);
        self.notifier.on_unlinked(key, victim.inode());
        self.notifier.on_name(parent.dir.inode(), false, mask::DELETE, 0, &parent.name);
        Ok(())
    }

    /// `rmdir(2)` / `unlinkat(AT_REMOVEDIR)`: `EINVAL` for `.`, `ENOTEMPTY` for `..`,
    /// `EBUSY` for a mount point or the root, `ENOTEMPTY` if not empty.
    pub fn rmdir(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8]) -> KResult<()> {
        let mut walker = Walker::new(ctx);
        let parent = walker.walk_parent(start.clone(), path)?;
        match parent.kind {
            LastKind::Dot => return Err(Errno::EINVAL),
            LastKind::DotDot => return Err(Errno::ENOTEMPTY),
            LastKind::Root => return Err(Errno::EBUSY),
            LastKind::Normal => {}
        }
        check_writable_mount(&parent.dir)?;
        let victim = walker.lookup_raw(&parent.dir, &parent.name)?;
        may_delete(ctx, &parent.dir, &victim, true)?;
        let key = self.watched_key(victim.inode());
        parent.dir.inode().rmdir(&parent.name)?;
        parent.dir.dentry.remove_child(&parent.name);
        self.notifier.on_unlinked(key, victim.inode());
        self.notifier.on_name(parent.dir.inode(), true, mask::DELETE, 0, &parent.name);
        Ok(())
    }

    /// `renameat2(2)` with `RENAME_NOREPLACE`/`RENAME_EXCHANGE`: `EXDEV` across mounts,
    /// `EINVAL` for moving a directory below itself, `EBUSY` for mount points and `.`/`..`,
    /// `ENOTDIR`/`EISDIR`/`ENOTEMPTY` for incompatible targets; renaming a name onto another
    /// name of the same inode does nothing.
    pub fn rename(&self, ctx: &Ctx<'_>, old_start: &Path, old_path: &[u8], new_start: &Path, new_path: &[u8], flags: u32) -> KResult<()> {
        let rflags = rename_flags(flags)?;
        let mut walker = Walker::new(ctx);
        let old = walker.walk_parent(old_start.clone(), old_path)?;
        let new = walker.walk_parent(new_start.clone(), new_path)?;
        if !Arc::ptr_eq(&old.dir.mount, &new.dir.mount) {
            return Err(Errno::EXDEV);
        }
        if old.kind != LastKind::Normal {
            return Err(Errno::EBUSY);
        }
        if new.kind != LastKind::Normal {
            return Err(if rflags.contains(RenameFlags::NOREPLACE) { Errno::EEXIST } else { Errno::EBUSY });
        }
        check_writable_mount(&old.dir)?;
        let src = walker.lookup_raw(&old.dir, &old.name)?;
        let dst = match walker.lookup_raw(&new.dir, &new.name) {
            Ok(p) => Some(p),
            Err(e) if e == Errno::ENOENT && !rflags.contains(RenameFlags::EXCHANGE) => None,
            Err(e) => return Err(e),
        };
        check_rename_shape(&old, &new, &src, dst.as_ref(), rflags)?;
        if let Some(d) = &dst {
            if Arc::ptr_eq(src.inode(), d.inode()) {
                return Ok(());
            }
        }
        check_rename_perms(ctx, &old, &new, &src, dst.as_ref(), rflags)?;
        let dst_key = dst.as_ref().and_then(|d| self.watched_key(d.inode()));
        old.dir.inode().rename(&old.name, new.dir.inode(), &new.name, rflags)?;
        if rflags.contains(RenameFlags::EXCHANGE) {
            old.dir.dentry.exchange_children(&old.name, &new.dir.dentry, &new.name);
        } else {
            old.dir.dentry.move_child(&old.name, &new.dir.dentry, &new.name);
        }
        self.notify_rename(&old, &new, &src, dst.as_ref(), dst_key, rflags);
        Ok(())
    }

    /// The key of an inode about to lose a name, if anything watches at all.
    fn watched_key(&self, inode: &Arc<dyn crate::inode::Inode>) -> Option<crate::locks::InodeKey> {
        if self.notifier.is_idle() {
            None
        } else {
            crate::notify::key_of(inode)
        }
    }

    /// inotify's view of a rename (Linux's `fsnotify_move`): MOVED_FROM and MOVED_TO with one
    /// cookie, MOVE_SELF for the moved inode, and the end of an overwritten target.
    fn notify_rename(&self, old: &Parent, new: &Parent, src: &Path, dst: Option<&Path>, dst_key: Option<crate::locks::InodeKey>, rflags: RenameFlags) {
        let n = &self.notifier;
        if n.is_idle() {
            return;
        }
        let moves: Vec<(&Parent, &Parent, &Path)> = match (rflags.contains(RenameFlags::EXCHANGE), dst) {
            (true, Some(d)) => vec![(old, new, src), (new, old, d)],
            _ => vec![(old, new, src)],
        };
        for (from, to, what) in moves {
            let cookie = n.new_cookie();
            let is_dir = is_dir(what);
            n.on_name(from.dir.inode(), is_dir, mask::MOVED_FROM, cookie, &from.name);
            n.on_name(to.dir.inode(), is_dir, mask::MOVED_TO, cookie, &to.name);
            n.on_inode(what.inode(), mask::MOVE_SELF);
        }
        if let (false, Some(d)) = (rflags.contains(RenameFlags::EXCHANGE), dst) {
            n.on_unlinked(dst_key, d.inode());
        }
    }
}

fn rename_flags(flags: u32) -> KResult<RenameFlags> {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_EXCHANGE != 0 && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_WHITEOUT != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(RenameFlags::from_bits_truncate(flags))
}

/// Type, trailing-slash, existence and ancestry rules of `do_renameat2`.
fn check_rename_shape(old: &Parent, new: &Parent, src: &Path, dst: Option<&Path>, rflags: RenameFlags) -> KResult<()> {
    let exchange = rflags.contains(RenameFlags::EXCHANGE);
    let src_dir = is_dir(src);
    if !exchange && (old.trailing_slash || new.trailing_slash) && !src_dir {
        return Err(Errno::ENOTDIR);
    }
    if dst.is_some() && rflags.contains(RenameFlags::NOREPLACE) {
        return Err(Errno::EEXIST);
    }
    // Moving a directory into its own subtree, or onto one of its ancestors.
    if src.dentry.is_ancestor_of(&new.dir.dentry) {
        return Err(Errno::EINVAL);
    }
    if let Some(d) = dst {
        if d.dentry.is_ancestor_of(&old.dir.dentry) {
            return Err(if exchange { Errno::EINVAL } else { Errno::ENOTEMPTY });
        }
        if !exchange {
            match (src_dir, is_dir(d)) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                _ => {}
            }
        }
    }
    Ok(())
}

/// `may_delete` on the source (and target), `may_create` when the target is new, and write
/// permission on a directory that changes parent (its `..` is rewritten).
fn check_rename_perms(ctx: &Ctx<'_>, old: &Parent, new: &Parent, src: &Path, dst: Option<&Path>, rflags: RenameFlags) -> KResult<()> {
    let src_dir = is_dir(src);
    may_delete(ctx, &old.dir, src, src_dir)?;
    match dst {
        Some(d) => {
            let want = if rflags.contains(RenameFlags::EXCHANGE) { is_dir(d) } else { src_dir };
            may_delete(ctx, &new.dir, d, want)?;
        }
        None => {
            may_create(ctx.cred, &new.dir)?;
        }
    }
    let moves_dir = !Arc::ptr_eq(&old.dir.dentry, &new.dir.dentry);
    if moves_dir && src_dir {
        permission(ctx.cred, &**src.inode(), &src.attr()?, MAY_WRITE)?;
    }
    if moves_dir && rflags.contains(RenameFlags::EXCHANGE) {
        if let Some(d) = dst.filter(|d| is_dir(d)) {
            permission(ctx.cred, &**d.inode(), &d.attr()?, MAY_WRITE)?;
        }
    }
    if src.is_mount_root() || dst.is_some_and(|d| d.is_mount_root()) {
        return Err(Errno::EBUSY);
    }
    Ok(())
}
