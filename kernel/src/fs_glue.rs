//! How the kernel reaches the VFS for a task: its fd table, its root/cwd, and the start
//! directory of `*at` syscalls (`AT_FDCWD` or a directory fd), as Linux's `path_init` decides.

use crate::sched::Current;
use crate::task::kernel::kernel;
use fs::abi::OpenFlags;
use fs::{Ctx, OpenFile, Path};
use mm::{Backing, MapOptions};
use std::sync::Arc;
use uapi::mman::{MapFlags, Prot};
use uapi::{Errno, KResult};

/// A file-descriptor argument (`int fd`); `AT_FDCWD` (-100) prints as such.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fd(pub i32);

/// The open file behind `fd` (`EBADF` if none).
pub fn file(cur: &Current, fd: Fd) -> KResult<Arc<OpenFile>> {
    cur.process().files().lock().get(fd.0)
}

/// Finishes closing `files`, which process `pid` has just taken out of its fd table — by
/// `close`, `dup2`/`dup3` over an open fd, `close_range`, the `execve` close-on-exec sweep or
/// exit. Every closed fd passes through here: like Linux's `filp_close`, closing *any* fd of a
/// file drops all of the process's record locks on that file (waking `F_SETLKW` waiters), then
/// the reference goes; the description's last reference drops its `flock` and OFD locks.
/// Call it after releasing the fd-table lock.
pub fn close_files(pid: u32, files: impl IntoIterator<Item = Arc<OpenFile>>) {
    let locks = kernel().vfs.locks().clone();
    for f in files {
        locks.release_on_close(&f, pid);
        drop(f);
    }
}

/// Runs `f` with the task's VFS context (root, credentials, umask) and the directory a
/// relative `path` starts from: the cwd for `AT_FDCWD`, else the directory open at `dirfd`
/// (`ENOTDIR` if it is not one). Absolute paths ignore `dirfd`, as Linux does.
pub fn with_start<R>(cur: &Current, dirfd: Fd, path: &[u8], f: impl FnOnce(&Ctx<'_>, &Path) -> KResult<R>) -> KResult<R> {
    let fsc = cur.process().fs();
    let (root, cwd, umask) = {
        let g = fsc.lock();
        (g.root.clone(), g.cwd.clone(), g.umask)
    };
    let cred = cur.process().creds();
    let ctx = Ctx { root: &root, cred: &cred, umask };
    if path.first() == Some(&b'/') || dirfd.0 == fs::abi::AT_FDCWD {
        return f(&ctx, &cwd);
    }
    let start = file(cur, dirfd)?.path().cloned().ok_or(Errno::ENOTDIR)?;
    if !fs::path::is_dir(&start) {
        return Err(Errno::ENOTDIR);
    }
    f(&ctx, &start)
}

/// Opens `path` relative to `dirfd` for the current task.
pub fn open(cur: &Current, dirfd: Fd, path: &[u8], flags: OpenFlags, mode: u32) -> KResult<Arc<OpenFile>> {
    let vfs = kernel().vfs.clone();
    with_start(cur, dirfd, path, |ctx, start| vfs.open(ctx, start, path, flags, mode))
}

/// Resolves `path` relative to `dirfd` (following a final symlink if `follow`).
pub fn lookup(cur: &Current, dirfd: Fd, path: &[u8], follow: bool) -> KResult<Path> {
    let vfs = kernel().vfs.clone();
    with_start(cur, dirfd, path, |ctx, start| vfs.lookup(ctx, start, path, follow))
}

/// The backing of a file mapping (`mmap` of an fd): the file's page-cache pages (a memfd's
/// own pages), with Linux's permission checks — the file must be open for reading
/// (`EACCES`), and a writable `MAP_SHARED` mapping needs it open for writing; a shared mapping
/// of a read-only fd may never become writable (`max_prot`); a write-sealed memfd refuses a
/// writable shared mapping (`EPERM`). `ENODEV` for files that cannot be mapped (pipes, ttys).
pub fn mmap_backing(cur: &Current, fd: Fd, off: u64, prot: Prot, flags: MapFlags) -> KResult<(Backing, MapOptions)> {
    let f = file(cur, fd)?;
    let fl = f.flags();
    if !fl.can_read() {
        return Err(Errno::EACCES);
    }
    let shared = flags.bits() & uapi::mman::MAP_TYPE != MapFlags::PRIVATE.bits();
    if shared && prot.contains(Prot::WRITE) && !fl.can_write() {
        return Err(Errno::EACCES);
    }
    let own = if f.file_like().is_none() { f.inode().and_then(|i| i.page_source()) } else { None };
    let pages: Arc<dyn mm::PageSource> = match own {
        Some(own) => own,
        None => {
            let fp = kernel().vfs.file_pages(&f, &kernel().frames)?;
            if shared && fl.can_write() {
                fp.mark_shared_writable();
            }
            fp
        }
    };
    let mut max_prot = if shared && !fl.can_write() { Prot::READ | Prot::EXEC } else { Prot::READ | Prot::WRITE | Prot::EXEC };
    if f.path().is_some_and(|p| p.mount.flags().contains(fs::MountFlags::NOEXEC)) {
        // Linux's `do_mmap` on a `noexec` mount: `EPERM` for `PROT_EXEC`, and no later `mprotect` to it.
        if prot.contains(Prot::EXEC) {
            return Err(Errno::EPERM);
        }
        max_prot.remove(Prot::EXEC);
    }
    crate::memfd::check_seals_mmap(&f, prot, flags, &mut max_prot)?;
    Ok((Backing::File { source: pages, offset: off }, MapOptions { name: None, max_prot }))
}
