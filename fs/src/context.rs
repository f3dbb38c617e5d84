//! A process's filesystem context (Linux's `struct fs_struct`: root, cwd, umask) and [`Ctx`],
//! the borrowed view of it plus credentials that every VFS operation takes.

use uapi::{Errno, KResult};

use crate::acl::permission;
use crate::cred::{Credentials, MAY_EXEC};
use crate::mount::Path;
use crate::path::{path_string, resolve};

/// What a VFS operation needs to know about its caller: the root it is confined to, its
/// credentials, and its umask (applied by create-type operations, as Linux's VFS does).
pub struct Ctx<'a> {
    /// The caller's root directory (absolute paths start here, `..` stops here).
    pub root: &'a Path,
    /// The caller's credentials.
    pub cred: &'a Credentials,
    /// The caller's file mode creation mask.
    pub umask: u32,
}

/// A process's root, current directory and umask; cloned on `fork` (shared with `CLONE_FS`).
#[derive(Clone, Debug)]
pub struct FsContext {
    /// The root directory (`chroot`).
    pub root: Path,
    /// The current working directory.
    pub cwd: Path,
    /// The umask (default 022 as Linux's init gets).
    pub umask: u32,
}

impl FsContext {
    /// A context whose root and cwd are both `root`, umask 022.
    pub fn new(root: Path) -> Self {
        FsContext { cwd: root.clone(), root, umask: 0o022 }
    }

    /// The borrowed operation context for `cred`.
    pub fn ctx<'a>(&'a self, cred: &'a Credentials) -> Ctx<'a> {
        Ctx { root: &self.root, cred, umask: self.umask }
    }

    /// `umask(2)`: sets the mask (low 9 bits) and returns the old one.
    pub fn set_umask(&mut self, mask: u32) -> u32 {
        std::mem::replace(&mut self.umask, mask & 0o777)
    }

    /// `chdir(2)`: `path` resolved from the cwd must be a directory with search permission.
    pub fn chdir(&mut self, cred: &Credentials, path: &[u8]) -> KResult<()> {
        let p = resolve(&self.ctx(cred), &self.cwd, path, true)?;
        check_cwd(cred, &p)?;
        self.set_cwd(p);
        Ok(())
    }

    /// `chdir(2)`/`fchdir(2)` after [`check_cwd`] passed: switches to an already-resolved
    /// directory. (The check runs before the context is locked: asking a `/proc/PID` directory
    /// for its attributes reads that process's context.)
    pub fn set_cwd(&mut self, p: Path) {
        self.cwd = p;
    }

    /// `chroot(2)`: root only (`EPERM`); the new root must be a searchable directory. The cwd
    /// is left alone, as Linux does.
    pub fn chroot(&mut self, cred: &Credentials, path: &[u8]) -> KResult<()> {
        let p = resolve(&self.ctx(cred), &self.cwd, path, true)?;
        check_dir_search(cred, &p)?;
        if cred.euid != 0 {
            return Err(Errno::EPERM);
        }
        self.root = p;
        Ok(())
    }

    /// `getcwd(2)`: the cwd as an absolute path; `ENOENT` if it was removed, and an
    /// `(unreachable)` prefix if it lies outside the root, as Linux reports.
    pub fn getcwd(&self) -> KResult<Vec<u8>> {
        if self.cwd.dentry.is_deleted() {
            return Err(Errno::ENOENT);
        }
        Ok(path_string(&self.cwd, &self.root))
    }
}

/// Whether `p` may become a cwd: a directory (`ENOTDIR`) the caller may search (`EACCES`).
pub fn check_cwd(cred: &Credentials, p: &Path) -> KResult<()> {
    check_dir_search(cred, p)
}

fn check_dir_search(cred: &Credentials, p: &Path) -> KResult<()> {
    let attr = p.inode().attr()?;
    if !attr.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    permission(cred, &**p.inode(), &attr, MAY_EXEC)
}
