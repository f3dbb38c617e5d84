//! File syscalls that work on names and attributes: creating, linking, removing, renaming,
//! permissions, ownership, times, sizes, space, sync, mounts and locks. Each resolves its path
//! arguments in Linux's order and hands the operation to the VFS.

use super::args::Fd;
use crate::sched::Current;
use crate::fs_glue::{self, file, with_start};
use crate::task::kernel::kernel;
use fs::abi::{self, MsFlags};
use fs::vfs::TimeArg;
use std::sync::Arc;
use uapi::structs::{Flock, Timespec};
use uapi::{flags as f, Errno, KResult, UserAddr, UserCStr};

fn vfs() -> Arc<fs::Vfs> {
    kernel().vfs.clone()
}

/// `mkdirat(2)`.
pub fn sys_mkdirat(cur: &mut Current, dirfd: Fd, path: UserCStr, mode: u32) -> KResult<usize> {
    let p = cur.read_path(path.0)?;
    with_start(cur, dirfd, &p, |ctx, start| vfs().mkdir(ctx, start, &p, mode & 0o7777))?;
    Ok(0)
}

/// `mkdir(2)`.
pub fn sys_mkdir(cur: &mut Current, path: UserCStr, mode: u32) -> KResult<usize> {
    sys_mkdirat(cur, Fd(abi::AT_FDCWD), path, mode)
}

/// `mknodat(2)`: regular files, FIFOs, sockets; device nodes for root.
pub fn sys_mknodat(cur: &mut Current, dirfd: Fd, path: UserCStr, mode: u32, dev: u64) -> KResult<usize> {
    let p = cur.read_path(path.0)?;
    let mode = if mode & abi::S_IFMT == 0 { mode | abi::S_IFREG } else { mode };
    with_start(cur, dirfd, &p, |ctx, start| vfs().mknod(ctx, start, &p, mode, dev))?;
    Ok(0)
}

/// `mknod(2)`.
pub fn sys_mknod(cur: &mut Current, path: UserCStr, mode: u32, dev: u64) -> KResult<usize> {
    sys_mknodat(cur, Fd(abi::AT_FDCWD), path, mode, dev)
}

/// `creat(2)`: `open(path, O_CREAT|O_WRONLY|O_TRUNC, mode)`.
pub fn sys_creat(cur: &mut Current, path: UserCStr, mode: u32) -> KResult<usize> {
    let flags = (f::OpenFlags::CREAT | f::OpenFlags::WRONLY | f::OpenFlags::TRUNC).bits();
    super::fs::sys_openat(cur, Fd(abi::AT_FDCWD), path, super::args::OpenFlagsArg(flags), super::args::Mode(mode))
}

/// `unlinkat(2)`: `AT_REMOVEDIR` makes it `rmdir`.
pub fn sys_unlinkat(cur: &mut Current, dirfd: Fd, path: UserCStr, flags: u32) -> KResult<usize> {
    if flags & !abi::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let p = cur.read_path(path.0)?;
    if flags & abi::AT_REMOVEDIR != 0 {
        with_start(cur, dirfd, &p, |ctx, start| vfs().rmdir(ctx, start, &p))?;
    } else {
        with_start(cur, dirfd, &p, |ctx, start| vfs().unlink(ctx, start, &p))?;
    }
    Ok(0)
}

/// `unlink(2)`.
pub fn sys_unlink(cur: &mut Current, path: UserCStr) -> KResult<usize> {
    sys_unlinkat(cur, Fd(abi::AT_FDCWD), path, 0)
}

/// `rmdir(2)`.
pub fn sys_rmdir(cur: &mut Current, path: UserCStr) -> KResult<usize> {
    sys_unlinkat(cur, Fd(abi::AT_FDCWD), path, abi::AT_REMOVEDIR)
}

/// `renameat2(2)`: `RENAME_NOREPLACE`, `RENAME_EXCHANGE` where the filesystem supports them.
pub fn sys_renameat2(cur: &mut Current, olddir: Fd, old: UserCStr, newdir: Fd, new: UserCStr, flags: u32) -> KResult<usize> {
    let op = cur.read_path(old.0)?;
    let np = cur.read_path(new.0)?;
    let new_start = with_start(cur, newdir, &np, |_, s| Ok(s.clone()))?;
    with_start(cur, olddir, &op, |ctx, start| vfs().rename(ctx, start, &op, &new_start, &np, flags))?;
    Ok(0)
}

/// `renameat(2)`.
pub fn sys_renameat(cur: &mut Current, olddir: Fd, old: UserCStr, newdir: Fd, new: UserCStr) -> KResult<usize> {
    sys_renameat2(cur, olddir, old, newdir, new, 0)
}

/// `rename(2)`.
pub fn sys_rename(cur: &mut Current, old: UserCStr, new: UserCStr) -> KResult<usize> {
    sys_renameat2(cur, Fd(abi::AT_FDCWD), old, Fd(abi::AT_FDCWD), new, 0)
}

/// `linkat(2)`: `AT_SYMLINK_FOLLOW` follows a final symlink in the old path.
pub fn sys_linkat(cur: &mut Current, olddir: Fd, old: UserCStr, newdir: Fd, new: UserCStr, flags: u32) -> KResult<usize> {
    if flags & !(abi::AT_SYMLINK_FOLLOW | abi::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let op = match (flags & abi::AT_EMPTY_PATH != 0, old.0.is_null()) {
        (true, true) => Vec::new(),
        (true, false) => cur.read_cstr(old.0, 4096)?,
        (false, _) => cur.read_path(old.0)?,
    };
    let np = cur.read_path(new.0)?;
    let new_start = with_start(cur, newdir, &np, |_, s| Ok(s.clone()))?;
    if op.is_empty() {
        // AT_EMPTY_PATH: the file open at `olddir` itself (an O_TMPFILE being named).
        let target = empty_path_target(cur, olddir)?;
        with_ctx(cur, |ctx| vfs().link_path(ctx, &target, &new_start, &np))?;
        return Ok(0);
    }
    let follow = flags & abi::AT_SYMLINK_FOLLOW != 0;
    with_start(cur, olddir, &op, |ctx, start| vfs().link(ctx, start, &op, &new_start, &np, follow))?;
    Ok(0)
}

/// The location `AT_EMPTY_PATH` names: the file open at `dirfd`, or the cwd for `AT_FDCWD`
/// (`EXDEV` for a file with no location, which is on a filesystem of its own in Linux).
fn empty_path_target(cur: &Current, dirfd: Fd) -> KResult<fs::Path> {
    if dirfd.0 == abi::AT_FDCWD {
        return Ok(cur.process().fs().lock().cwd.clone());
    }
    file(cur, dirfd)?.path().cloned().ok_or(Errno::EXDEV)
}

/// `link(2)`.
pub fn sys_link(cur: &mut Current, old: UserCStr, new: UserCStr) -> KResult<usize> {
    sys_linkat(cur, Fd(abi::AT_FDCWD), old, Fd(abi::AT_FDCWD), new, 0)
}

/// `symlinkat(2)`.
pub fn sys_symlinkat(cur: &mut Current, target: UserCStr, dirfd: Fd, path: UserCStr) -> KResult<usize> {
    let t = cur.read_path(target.0)?;
    let p = cur.read_path(path.0)?;
    with_start(cur, dirfd, &p, |ctx, start| vfs().symlink(ctx, &t, start, &p))?;
    Ok(0)
}

/// `symlink(2)`.
pub fn sys_symlink(cur: &mut Current, target: UserCStr, path: UserCStr) -> KResult<usize> {
    sys_symlinkat(cur, target, Fd(abi::AT_FDCWD), path)
}

/// The object an attribute syscall changes: a path (following or not), or the fd itself with
/// an empty path and `AT_EMPTY_PATH`.
fn attr_target(cur: &mut Current, dirfd: Fd, path: UserAddr, follow: bool, empty_ok: bool) -> KResult<fs::Path> {
    let p = if path.is_null() { Vec::new() } else { cur.read_path(path)? };
    if p.is_empty() {
        if !empty_ok {
            return Err(Errno::ENOENT);
        }
        return file(cur, dirfd)?.path().cloned().ok_or(Errno::EBADF);
    }
    fs_glue::lookup(cur, dirfd, &p, follow)
}

fn with_ctx<R>(cur: &Current, f: impl FnOnce(&fs::Ctx<'_>) -> KResult<R>) -> KResult<R> {
    with_start(cur, Fd(abi::AT_FDCWD), b"/", |ctx, _| f(ctx))
}

/// `fchmodat(2)`.
pub fn sys_fchmodat(cur: &mut Current, dirfd: Fd, path: UserCStr, mode: u32) -> KResult<usize> {
    let t = attr_target(cur, dirfd, path.0, true, false)?;
    with_ctx(cur, |ctx| vfs().chmod(ctx, &t, mode & 0o7777))?;
    Ok(0)
}

/// `chmod(2)`.
pub fn sys_chmod(cur: &mut Current, path: UserCStr, mode: u32) -> KResult<usize> {
    sys_fchmodat(cur, Fd(abi::AT_FDCWD), path, mode)
}

/// `fchmod(2)`.
pub fn sys_fchmod(cur: &mut Current, fd: Fd, mode: u32) -> KResult<usize> {
    let t = file(cur, fd)?.path().cloned().ok_or(Errno::EBADF)?;
    with_ctx(cur, |ctx| vfs().chmod(ctx, &t, mode & 0o7777))?;
    Ok(0)
}

fn id_arg(v: u32) -> Option<u32> {
    (v != u32::MAX).then_some(v)
}

/// `fchownat(2)`.
pub fn sys_fchownat(cur: &mut Current, dirfd: Fd, path: UserCStr, uid: u32, gid: u32, flags: u32) -> KResult<usize> {
    if flags & !(abi::AT_SYMLINK_NOFOLLOW | abi::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let t = attr_target(cur, dirfd, path.0, flags & abi::AT_SYMLINK_NOFOLLOW == 0, flags & abi::AT_EMPTY_PATH != 0)?;
    with_ctx(cur, |ctx| vfs().chown(ctx, &t, id_arg(uid), id_arg(gid)))?;
    Ok(0)
}

/// `chown(2)`.
pub fn sys_chown(cur: &mut Current, path: UserCStr, uid: u32, gid: u32) -> KResult<usize> {
    sys_fchownat(cur, Fd(abi::AT_FDCWD), path, uid, gid, 0)
}

/// `lchown(2)`.
pub fn sys_lchown(cur: &mut Current, path: UserCStr, uid: u32, gid: u32) -> KResult<usize> {
    sys_fchownat(cur, Fd(abi::AT_FDCWD), path, uid, gid, abi::AT_SYMLINK_NOFOLLOW)
}

/// `fchown(2)`.
pub fn sys_fchown(cur: &mut Current, fd: Fd, uid: u32, gid: u32) -> KResult<usize> {
    let t = file(cur, fd)?.path().cloned().ok_or(Errno::EBADF)?;
    with_ctx(cur, |ctx| vfs().chown(ctx, &t, id_arg(uid), id_arg(gid)))?;
    Ok(0)
}

/// `utimensat(2)`: NULL times means "now" for both; `UTIME_NOW`/`UTIME_OMIT` per field; a
/// NULL path with a dirfd changes the fd's file (glibc's `futimens`).
pub fn sys_utimensat(cur: &mut Current, dirfd: Fd, path: UserAddr, times: UserAddr, flags: u32) -> KResult<usize> {
    if flags & !(abi::AT_SYMLINK_NOFOLLOW | abi::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (a, m) = if times.is_null() {
        (TimeArg::Now, TimeArg::Now)
    } else {
        let ts: [Timespec; 2] = cur.read_val(times)?;
        (TimeArg::from_timespec(ts[0].tv_sec, ts[0].tv_nsec)?, TimeArg::from_timespec(ts[1].tv_sec, ts[1].tv_nsec)?)
    };
    let t = if path.is_null() {
        file(cur, dirfd)?.path().cloned().ok_or(Errno::EBADF)?
    } else {
        attr_target(cur, dirfd, path, flags & abi::AT_SYMLINK_NOFOLLOW == 0, flags & abi::AT_EMPTY_PATH != 0)?
    };
    if matches!((a, m), (TimeArg::Omit, TimeArg::Omit)) {
        return Ok(0);
    }
    with_ctx(cur, |ctx| vfs().utimens(ctx, &t, a, m))?;
    Ok(0)
}

/// A `timeval` of `utimes(2)`: `EINVAL` unless `0 <= tv_usec < 1 000 000` (Linux's check).
fn usec_time(tv: &uapi::structs::Timeval) -> KResult<TimeArg> {
    if !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EINVAL);
    }
    TimeArg::from_timespec(tv.tv_sec, tv.tv_usec * 1000)
}

/// `utimes(2)` (microseconds; NULL = now).
pub fn sys_utimes(cur: &mut Current, path: UserCStr, times: UserAddr) -> KResult<usize> {
    let (a, m) = if times.is_null() {
        (TimeArg::Now, TimeArg::Now)
    } else {
        let tv: [uapi::structs::Timeval; 2] = cur.read_val(times)?;
        (usec_time(&tv[0])?, usec_time(&tv[1])?)
    };
    let t = attr_target(cur, Fd(abi::AT_FDCWD), path.0, true, false)?;
    with_ctx(cur, |ctx| vfs().utimens(ctx, &t, a, m))?;
    Ok(0)
}

/// `utime(2)` (seconds; NULL = now).
pub fn sys_utime(cur: &mut Current, path: UserCStr, times: UserAddr) -> KResult<usize> {
    let (a, m) = if times.is_null() {
        (TimeArg::Now, TimeArg::Now)
    } else {
        let ut: [i64; 2] = cur.read_val(times)?;
        (TimeArg::from_timespec(ut[0], 0)?, TimeArg::from_timespec(ut[1], 0)?)
    };
    let t = attr_target(cur, Fd(abi::AT_FDCWD), path.0, true, false)?;
    with_ctx(cur, |ctx| vfs().utimens(ctx, &t, a, m))?;
    Ok(0)
}

/// `truncate(2)`.
pub fn sys_truncate(cur: &mut Current, path: UserCStr, len: i64) -> KResult<usize> {
    let t = attr_target(cur, Fd(abi::AT_FDCWD), path.0, true, false)?;
    truncate_limit(cur, len)?;
    with_ctx(cur, |ctx| vfs().truncate(ctx, &t, len))?;
    Ok(0)
}

/// `RLIMIT_FSIZE` on a truncate to `len` (Linux's `inode_newsize_ok`): `EFBIG` and `SIGXFSZ`
/// past the limit.
fn truncate_limit(cur: &mut Current, len: i64) -> KResult<()> {
    let limit = cur.process().rlimit_cur(f::RLIMIT_FSIZE);
    if u64::try_from(len).is_ok_and(|l| l > limit) {
        super::fs::send_sigxfsz(cur);
        return Err(Errno::EFBIG);
    }
    Ok(())
}

/// `ftruncate(2)`.
pub fn sys_ftruncate(cur: &mut Current, fd: Fd, len: i64) -> KResult<usize> {
    let f = file(cur, fd)?;
    if f.stat().is_ok_and(|a| a.file_type() == fs::FileType::Regular) && f.flags().can_write() {
        truncate_limit(cur, len)?;
    }
    f.truncate(len)?;
    Ok(0)
}

/// `fallocate(2)` (mode 0: allocate and extend).
pub fn sys_fallocate(cur: &mut Current, fd: Fd, mode: u32, off: i64, len: i64) -> KResult<usize> {
    file(cur, fd)?.fallocate(mode, off, len)?;
    Ok(0)
}

fn write_statfs(cur: &mut Current, buf: UserAddr, p: &fs::Path) -> KResult<usize> {
    let s = vfs().statfs(p)?;
    cur.write_val(buf, &abi::to_statfs(&s))?;
    Ok(0)
}

/// `statfs(2)`.
pub fn sys_statfs(cur: &mut Current, path: UserCStr, buf: UserAddr) -> KResult<usize> {
    let t = attr_target(cur, Fd(abi::AT_FDCWD), path.0, true, false)?;
    write_statfs(cur, buf, &t)
}

/// `fstatfs(2)`.
pub fn sys_fstatfs(cur: &mut Current, fd: Fd, buf: UserAddr) -> KResult<usize> {
    let t = file(cur, fd)?.path().cloned().ok_or(Errno::EBADF)?;
    write_statfs(cur, buf, &t)
}

/// `fsync(2)`: the file's data and metadata reach the disk image before it returns.
pub fn sys_fsync(cur: &mut Current, fd: Fd) -> KResult<usize> {
    file(cur, fd)?.fsync()?;
    Ok(0)
}

/// `fdatasync(2)`.
pub fn sys_fdatasync(cur: &mut Current, fd: Fd) -> KResult<usize> {
    sys_fsync(cur, fd)
}

/// `syncfs(2)`: writes back what shared mappings stored (of every file: the page cache does
/// not sort them by filesystem), then the filesystem holding `fd`.
pub fn sys_syncfs(cur: &mut Current, fd: Fd) -> KResult<usize> {
    let p = file(cur, fd)?.path().cloned().ok_or(Errno::EBADF)?;
    vfs().page_cache().writeback_all()?;
    p.mount.fs().sync()?;
    Ok(0)
}

/// `mount(2)` for the filesystems the VFS knows (`tmpfs`, `proc`, `devtmpfs`, `ext2/3/4` of
/// an image path, bind mounts, remounts); root only.
pub fn sys_mount(cur: &mut Current, source: UserAddr, target: UserCStr, fstype: UserAddr, flags: u64, data: UserAddr) -> KResult<usize> {
    let src = if source.is_null() { Vec::new() } else { cur.read_path(source)? };
    let tgt = cur.read_path(target.0)?;
    let ty = if fstype.is_null() { Vec::new() } else { cur.read_cstr(fstype, 256)? };
    let dat = if data.is_null() { Vec::new() } else { cur.read_cstr(data, 4096)? };
    if cur.process().creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    let flags = MsFlags::from_bits_truncate(flags);
    with_start(cur, Fd(abi::AT_FDCWD), &tgt, |ctx, start| vfs().mount(ctx, start, &src, &tgt, &ty, flags, &dat))?;
    Ok(0)
}

/// `umount2(2)`.
pub fn sys_umount2(cur: &mut Current, target: UserCStr, flags: u32) -> KResult<usize> {
    let tgt = cur.read_path(target.0)?;
    if cur.process().creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    with_start(cur, Fd(abi::AT_FDCWD), &tgt, |ctx, start| vfs().umount(ctx, start, &tgt, flags))?;
    Ok(0)
}

/// `flock(2)`: `LOCK_SH`/`LOCK_EX`/`LOCK_UN` (+`LOCK_NB`); without `LOCK_NB` it waits.
pub fn sys_flock(cur: &mut Current, fd: Fd, op: u32) -> KResult<usize> {
    let fl = file(cur, fd)?;
    let locks = vfs().locks().clone();
    match fl.flock(&locks, op) {
        Err(Errno::EAGAIN) if op & f::LOCK_NB == 0 => {
            crate::sched::wait_until(cur, &[locks.pollee()], fs::PollEvents::all(), None, |_| match fl.flock(&locks, op) {
                Err(Errno::EAGAIN) => None,
                r => Some(r),
            })?;
            Ok(0)
        }
        r => r.map(|_| 0),
    }
}

/// `fcntl` record locks: `F_GETLK`, `F_SETLK`, `F_SETLKW` (owned by the process, dropped when
/// it closes any fd of the file or exits) and the `F_OFD_*` variants (owned by the open file
/// description, dropped at its last close; `EINVAL` unless `l_pid` is 0, as Linux). The
/// waiting variants sleep until a release lets the request through (or a signal comes).
pub fn fcntl_lock(cur: &mut Current, fd: Fd, cmd: u32, arg: UserAddr) -> KResult<usize> {
    let fl = file(cur, fd)?;
    let mut lk: Flock = cur.read_val(arg)?;
    let locks = vfs().locks().clone();
    let ofd = matches!(cmd, f::F_OFD_GETLK | f::F_OFD_SETLK | f::F_OFD_SETLKW);
    if ofd && lk.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let pid = cur.pid();
    let set = |fl: &Arc<fs::OpenFile>, lk: &Flock| if ofd { fl.ofd_setlk(&locks, lk) } else { locks.fcntl_setlk(fl, u64::from(pid), lk) };
    match cmd {
        f::F_GETLK | f::F_OFD_GETLK => {
            let owner = if ofd { fs::locks::ofd_owner(&fl) } else { u64::from(pid) };
            locks.fcntl_getlk(&fl, owner, &mut lk)?;
            cur.write_val(arg, &lk)?;
            Ok(0)
        }
        f::F_SETLK | f::F_OFD_SETLK => set(&fl, &lk).map(|_| 0),
        _ => {
            match set(&fl, &lk) {
                Err(Errno::EAGAIN) => {}
                r => return r.map(|_| 0),
            }
            crate::sched::wait_until(cur, &[locks.pollee()], fs::PollEvents::all(), None, |_| match set(&fl, &lk) {
                Err(Errno::EAGAIN) => None,
                r => Some(r),
            })?;
            Ok(0)
        }
    }
}

/// The `fcntl` commands beyond flags and duplication: record locks (`F_GETLK`/`F_SETLK`/
/// `F_SETLKW` and the OFD variants) through the VFS lock manager; `EINVAL` for unknown ones.
pub fn fcntl_other(cur: &mut Current, fd: Fd, cmd: i32, arg: u64) -> KResult<usize> {
    use uapi::flags as f;
    match cmd as u32 {
        f::F_GETLK | f::F_SETLK | f::F_SETLKW | f::F_OFD_GETLK | f::F_OFD_SETLK | f::F_OFD_SETLKW => {
            fcntl_lock(cur, fd, cmd as u32, uapi::UserAddr(arg))
        }
        f::F_GETPIPE_SZ | f::F_SETPIPE_SZ => {
            let fl = crate::fs_glue::file(cur, fd)?;
            let root = cur.process().creds.lock().euid == 0;
            crate::pipe::pipe_fcntl(&fl, cmd as u32, arg, root).unwrap_or(Err(Errno::EINVAL))
        }
        f::F_ADD_SEALS => crate::memfd::add_seals(&crate::fs_glue::file(cur, fd)?, arg as u32),
        f::F_GET_SEALS => crate::memfd::get_seals(&crate::fs_glue::file(cur, fd)?),
        _ => Err(Errno::EINVAL),
    }
}

