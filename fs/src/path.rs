//! The path walk (Linux's `fs/namei.c`: `link_path_walk`, `walk_component`, `follow_dotdot`,
//! `pick_link`). Paths are raw bytes. Rules, as Linux:
//! - an empty path is `ENOENT` (`AT_EMPTY_PATH` is the caller's business); a path of
//!   `PATH_MAX` (4096) bytes or more, or a component over `NAME_MAX` (255), is `ENAMETOOLONG`;
//! - absolute paths start at the caller's root, relative ones at the given start (cwd or dirfd);
//! - every directory passed through needs search (`x`) permission, and a non-directory in the
//!   middle is `ENOTDIR`;
//! - `..` at the process root stays there, and at a mount's root climbs to the mount point
//!   first; lookups descend into whatever is mounted on a dentry;
//! - symlinks are followed in the middle always and at the end when asked or when the path has
//!   a trailing slash; more than 40 links in one walk is `ELOOP`;
//! - a trailing slash requires the result to be a directory (`ENOTDIR`).

use std::sync::Arc;

use uapi::{Errno, KResult};

use crate::abi::{NAME_MAX, PATH_MAX};
use crate::context::Ctx;
use crate::acl::permission;
use crate::cred::MAY_EXEC;
use crate::inode::FileType;
use crate::mount::Path;

/// Linux's `MAXSYMLINKS`: symlinks one walk may follow.
pub const MAX_SYMLINKS: u32 = 40;

/// What the last component of a path is (Linux's `LAST_NORM`/`LAST_DOT`/`LAST_DOTDOT`/`LAST_ROOT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastKind {
    /// An ordinary name.
    Normal,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// The path was only slashes.
    Root,
}

/// The result of [`resolve_parent`]: the directory that holds the last component.
#[derive(Clone, Debug)]
pub struct Parent {
    /// The parent directory.
    pub dir: Path,
    /// The last component (`.`/`..`/empty for non-`Normal` kinds).
    pub name: Vec<u8>,
    /// The kind of the last component.
    pub kind: LastKind,
    /// True if the path ended with `/`.
    pub trailing_slash: bool,
}

/// Resolves `path` from `start` (used for relative paths), following a final symlink if
/// `follow` (or if the path ends with `/`).
pub fn resolve(ctx: &Ctx, start: &Path, path: &[u8], follow: bool) -> KResult<Path> {
    Walker::new(ctx).walk(start.clone(), path, follow)
}

/// Resolves every component but the last, for create/remove/rename (`filename_parentat`).
pub fn resolve_parent(ctx: &Ctx, start: &Path, path: &[u8]) -> KResult<Parent> {
    Walker::new(ctx).walk_parent(start.clone(), path)
}

/// True if the path's inode is a directory (false if its attributes cannot be read).
pub fn is_dir(p: &Path) -> bool {
    p.inode().attr().map(|a| a.is_dir()).unwrap_or(false)
}

/// True if the path's inode is a symlink.
pub fn is_symlink(p: &Path) -> bool {
    p.inode().attr().map(|a| a.file_type() == FileType::Symlink).unwrap_or(false)
}

fn check_path(path: &[u8]) -> KResult<()> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// One walk's state: the caller's context and the symlink budget shared by nested links.
pub struct Walker<'a> {
    ctx: &'a Ctx<'a>,
    links: u32,
}

impl<'a> Walker<'a> {
    /// A fresh walk.
    pub fn new(ctx: &'a Ctx<'a>) -> Self {
        Walker { ctx, links: 0 }
    }

    /// Resolves a whole path.
    pub fn walk(&mut self, start: Path, path: &[u8], follow: bool) -> KResult<Path> {
        let parent = self.walk_parent(start, path)?;
        self.walk_last(&parent, follow)
    }

    /// Resolves all but the last component; the parent must be a directory.
    pub fn walk_parent(&mut self, start: Path, path: &[u8]) -> KResult<Parent> {
        check_path(path)?;
        let mut cur = if path.first() == Some(&b'/') { self.ctx.root.clone() } else { start };
        let comps: Vec<&[u8]> = path.split(|c| *c == b'/').filter(|c| !c.is_empty()).collect();
        let trailing_slash = path.last() == Some(&b'/');
        let Some((last, middle)) = comps.split_last() else {
            return Ok(Parent { dir: cur, name: Vec::new(), kind: LastKind::Root, trailing_slash });
        };
        for comp in middle {
            cur = self.step(cur, comp)?;
        }
        if !is_dir(&cur) {
            return Err(Errno::ENOTDIR);
        }
        let kind = match *last {
            b"." => LastKind::Dot,
            b".." => LastKind::DotDot,
            _ if last.len() > NAME_MAX => return Err(Errno::ENAMETOOLONG),
            _ => LastKind::Normal,
        };
        Ok(Parent { dir: cur, name: last.to_vec(), kind, trailing_slash })
    }

    /// Resolves the last component of a [`Parent`], following a symlink if `follow` or a
    /// trailing slash asks, and enforcing the trailing slash's "must be a directory".
    pub fn walk_last(&mut self, parent: &Parent, follow: bool) -> KResult<Path> {
        if parent.kind == LastKind::Root {
            // "/" has no component to look up, so no permission is checked (as Linux).
            return Ok(parent.dir.clone());
        }
        let p = self.lookup(&parent.dir, &parent.name)?;
        let p = if (follow || parent.trailing_slash) && is_symlink(&p) {
            self.follow_link(&parent.dir, &p)?
        } else {
            p
        };
        if parent.trailing_slash && !is_dir(&p) {
            return Err(Errno::ENOTDIR);
        }
        Ok(p)
    }

    /// Looks one name up in `dir` and follows a symlink (a middle component).
    fn step(&mut self, dir: Path, name: &[u8]) -> KResult<Path> {
        let next = self.lookup(&dir, name)?;
        if is_symlink(&next) {
            self.follow_link(&dir, &next)
        } else {
            Ok(next)
        }
    }

    fn may_search(&self, dir: &Path) -> KResult<()> {
        let attr = dir.inode().attr()?;
        if !attr.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        permission(self.ctx.cred, &**dir.inode(), &attr, MAY_EXEC)
    }

    /// Looks `name` up in directory `dir` (`.` and `..` included), without following a
    /// symlink result, descending into mounts.
    pub fn lookup(&mut self, dir: &Path, name: &[u8]) -> KResult<Path> {
        self.may_search(dir)?;
        match name {
            b"." => return Ok(dir.clone()),
            b".." => return Ok(self.dotdot(dir)),
            _ => {}
        }
        Ok(self.lookup_raw(dir, name)?.follow_mounts())
    }

    /// Looks an ordinary `name` up in `dir` without descending into a mount on it (what
    /// unlink, rmdir and rename need, to see the mount point itself). Checks search permission.
    pub fn lookup_raw(&mut self, dir: &Path, name: &[u8]) -> KResult<Path> {
        self.may_search(dir)?;
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let revalidate = dir.mount.fs().revalidate();
        let child = dir.dentry.lookup_child(name, revalidate)?;
        Ok(Path { mount: dir.mount.clone(), dentry: child })
    }

    /// `..` from `dir`: clamped at the process root, crossing mount roots upward.
    fn dotdot(&self, dir: &Path) -> Path {
        let mut cur = dir.clone();
        loop {
            if cur.same(self.ctx.root) {
                return cur;
            }
            if !cur.is_mount_root() {
                break;
            }
            match cur.mount.parent() {
                Some((mount, dentry)) => cur = Path { mount, dentry },
                None => return cur,
            }
        }
        let up = cur.dentry.parent().unwrap_or_else(|| cur.dentry.clone());
        Path { mount: cur.mount.clone(), dentry: up }.follow_mounts()
    }

    /// Follows the symlink `link` found in `dir`, counting it against the budget. A magic
    /// link (`/proc/<pid>/fd/N`) goes straight to the open file's location, as Linux's
    /// `nd_jump_link`, so an unnamed or deleted file is reached too.
    pub fn follow_link(&mut self, dir: &Path, link: &Path) -> KResult<Path> {
        if let Some(target) = self.magic_target(link)? {
            return Ok(target);
        }
        let target = self.read_link(link)?;
        self.walk(dir.clone(), &target, true)
    }

    /// The location a magic link stands for (counted against the budget), `None` for an
    /// ordinary symlink.
    pub fn magic_target(&mut self, link: &Path) -> KResult<Option<Path>> {
        let Some(target) = link.inode().magic_link() else { return Ok(None) };
        self.count_link()?;
        target.map(Some)
    }

    fn count_link(&mut self) -> KResult<()> {
        self.links = self.links.checked_add(1).ok_or(Errno::ELOOP)?;
        if self.links > MAX_SYMLINKS {
            return Err(Errno::ELOOP);
        }
        Ok(())
    }

    /// Reads a symlink's target, counting it against the budget (`ELOOP` past 40).
    pub fn read_link(&mut self, link: &Path) -> KResult<Vec<u8>> {
        self.count_link()?;
        let target = link.inode().readlink()?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(target)
    }
}

/// The absolute path string of `p` as seen from `root`, as `getcwd` shows it: components are
/// joined up to `root`; if `root` is never met the result is prefixed `(unreachable)`, and a
/// deleted entry gets a ` (deleted)` suffix.
pub fn path_string(p: &Path, root: &Path) -> Vec<u8> {
    build_path(p, root, true)
}

/// The path string of `p` as Linux's `d_path` shows it (`/proc/<pid>/fd`, `cwd`, `exe`):
/// as [`path_string`], but a path `root` never meets — outside a chroot, or on an internal
/// mount such as the memfds' (`/memfd:NAME (deleted)`) — is shown from its own top, with no
/// prefix.
pub fn d_path(p: &Path, root: &Path) -> Vec<u8> {
    build_path(p, root, false)
}

fn build_path(p: &Path, root: &Path, mark_unreachable: bool) -> Vec<u8> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut cur = p.clone();
    let mut reachable = false;
    loop {
        if cur.same(root) {
            reachable = true;
            break;
        }
        if cur.is_mount_root() {
            match cur.mount.parent() {
                Some((mount, dentry)) => {
                    cur = Path { mount, dentry };
                    continue;
                }
                None => break,
            }
        }
        let Some(parent) = cur.dentry.parent() else { break };
        names.push(cur.dentry.name());
        cur = Path { mount: cur.mount.clone(), dentry: parent };
    }
    let mut out = Vec::new();
    if !reachable && mark_unreachable {
        out.extend_from_slice(b"(unreachable)");
    }
    for n in names.iter().rev() {
        out.push(b'/');
        out.extend_from_slice(n);
    }
    if names.is_empty() {
        out.push(b'/');
    }
    if p.dentry.is_deleted() {
        out.extend_from_slice(b" (deleted)");
    }
    out
}

/// Compares two `Arc`s of paths' mounts (for `EXDEV`).
pub fn same_mount(a: &Path, b: &Path) -> bool {
    Arc::ptr_eq(&a.mount, &b.mount)
}
