//! `inotify_init`/`inotify_init1`/`inotify_add_watch`/`inotify_rm_watch` (Linux's
//! `fs/notify/inotify/inotify_user.c`), with its argument checks in Linux's order. The
//! instance is `crate::inotify::Inotify`; the events come from the VFS.

use super::args::Fd;
use crate::fs_glue::{file, lookup};
use crate::inotify::Inotify;
use crate::sched::Current;
use crate::task::kernel::kernel;
use fs::abi::OpenFlags;
use fs::notify::mask;
use fs::{FdFlags, OpenFile};
use std::sync::Arc;
use uapi::{Errno, KResult, UserCStr};

/// `IN_CLOEXEC` (= `O_CLOEXEC`) and `IN_NONBLOCK` (= `O_NONBLOCK`).
const IN_CLOEXEC: i32 = 0o2000000;
const IN_NONBLOCK: i32 = 0o4000;

/// Every bit `inotify_add_watch` knows (Linux's `ALL_INOTIFY_BITS`).
const ALL_INOTIFY_BITS: u32 = mask::ALL_EVENTS
    | mask::UNMOUNT
    | mask::Q_OVERFLOW
    | mask::IGNORED
    | mask::ONLYDIR
    | mask::DONT_FOLLOW
    | mask::EXCL_UNLINK
    | mask::MASK_CREATE
    | mask::MASK_ADD
    | mask::ISDIR
    | mask::ONESHOT;

/// `inotify_init1(2)`: `EINVAL` for flags other than `IN_CLOEXEC`/`IN_NONBLOCK`.
pub fn sys_inotify_init1(cur: &mut Current, flags: i32) -> KResult<usize> {
    if flags & !(IN_CLOEXEC | IN_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let creds = cur.process().creds();
    let ino = Inotify::new(kernel().vfs.notifier().clone(), (creds.fsuid, creds.fsgid));
    let mut status = OpenFlags::RDONLY;
    if flags & IN_NONBLOCK != 0 {
        status |= OpenFlags::NONBLOCK;
    }
    let fd_flags = if flags & IN_CLOEXEC != 0 { FdFlags::CLOEXEC } else { FdFlags::empty() };
    let fd = cur.process().files().lock().alloc(OpenFile::new_anonymous(ino, status), fd_flags)?;
    Ok(fd as usize)
}

/// `inotify_init(2)`.
pub fn sys_inotify_init(cur: &mut Current) -> KResult<usize> {
    sys_inotify_init1(cur, 0)
}

/// The inotify instance behind `fd` (`EBADF` if none, `EINVAL` if it is another file).
fn instance(cur: &Current, fd: Fd) -> KResult<Arc<OpenFile>> {
    let f = file(cur, fd)?;
    match f.file_like() {
        Some(l) if l.as_any().is::<Inotify>() => Ok(f),
        _ => Err(Errno::EINVAL),
    }
}

/// `inotify_add_watch(2)`: the path is followed unless `IN_DONT_FOLLOW`, must be readable
/// (`EACCES`), a directory with `IN_ONLYDIR` (`ENOTDIR`).
pub fn sys_inotify_add_watch(cur: &mut Current, fd: Fd, path: UserCStr, m: u32) -> KResult<usize> {
    if m & ALL_INOTIFY_BITS == 0 {
        return Err(Errno::EINVAL);
    }
    if m & mask::MASK_ADD != 0 && m & mask::MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    let f = instance(cur, fd)?;
    let name = cur.read_path(path.0)?;
    let p = lookup(cur, Fd(fs::abi::AT_FDCWD), &name, m & mask::DONT_FOLLOW == 0)?;
    let attr = p.attr()?;
    if m & mask::ONLYDIR != 0 && !attr.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    kernel().vfs.access_path(&cur.process().creds(), &p, 4)?;
    let key = fs::locks::InodeKey { dev: attr.dev, ino: attr.ino };
    let ino = f.file_like().and_then(|l| l.as_any().downcast_ref::<Inotify>()).ok_or(Errno::EINVAL)?;
    ino.add_watch(key, attr.is_dir(), m).map(|wd| wd as usize)
}

/// `inotify_rm_watch(2)`: `EINVAL` for a watch descriptor the instance does not have.
pub fn sys_inotify_rm_watch(cur: &mut Current, fd: Fd, wd: i32) -> KResult<usize> {
    let f = instance(cur, fd)?;
    let ino = f.file_like().and_then(|l| l.as_any().downcast_ref::<Inotify>()).ok_or(Errno::EINVAL)?;
    ino.rm_watch(wd).map(|()| 0)
}
