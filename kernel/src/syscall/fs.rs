//! File syscalls: thin handlers over the VFS (`fs`), copying between guest memory and kernel
//! buffers. Paths are read once, structures written once, in Linux's argument order.

use super::args::{FcntlArg, FcntlCmd, Fd, Flags, InBuf, Mode, OpenFlagsArg, OutBuf};
use crate::sched::Current;
use crate::fs_glue::{self, file};
use crate::task::kernel::kernel;
use fs::abi::{self, OpenFlags};
use fs::{FdFlags, OpenFile};
use std::sync::Arc;
use uapi::structs::{IoVec, PollFd};
use uapi::{flags as f, Errno, KResult, UserAddr, UserCStr, UserRef};

/// Largest chunk moved through a kernel buffer at once.
const CHUNK: usize = 1 << 20;
/// Linux's `MAX_RW_COUNT`: one read/write moves at most this much.
const MAX_RW: usize = 0x7fff_f000;

/// Reads a regular file straight into guest memory (no kernel buffer): the file's data is
/// copied into the physmem pages behind `buf`, faulted in first, piece by contiguous piece.
fn read_direct(cur: &mut Current, file: &Arc<OpenFile>, buf: UserAddr, count: usize, mut pos: Option<i64>) -> KResult<usize> {
    let mm = cur.mm();
    let mut g = mm.space.lock();
    let n = g.with_user_writer(buf.0, count as u64, |w| {
        let n = match pos {
            None => file.read_to(w)?,
            Some(p) => file.pread_to(w, p)?,
        };
        if let Some(p) = pos.as_mut() {
            *p += n as i64;
        }
        Ok(n)
    })?;
    Ok(n as usize)
}

/// Writes guest memory straight to a regular file (no kernel buffer).
fn write_direct(cur: &mut Current, file: &Arc<OpenFile>, buf: UserAddr, count: usize, mut pos: Option<i64>) -> KResult<usize> {
    let mm = cur.mm();
    let mut g = mm.space.lock();
    let n = g.with_user_reader(buf.0, count as u64, |r| {
        let n = match pos {
            None => file.write_from(r)?,
            Some(p) => file.pwrite_from(r, p)?,
        };
        if let Some(p) = pos.as_mut() {
            *p += n as i64;
        }
        Ok(n)
    })?;
    Ok(n as usize)
}

/// `RLIMIT_FSIZE` on a write of `count` bytes to a regular file (Linux's
/// `generic_write_check_limits`): starting at or past the limit fails with `EFBIG` and sends
/// `SIGXFSZ` to the writer; a write crossing it is cut at the limit.
fn fsize_limit(cur: &mut Current, file: &Arc<OpenFile>, pos: Option<i64>, count: usize) -> KResult<usize> {
    let limit = cur.process().rlimit_cur(uapi::flags::RLIMIT_FSIZE);
    if limit == u64::MAX || !file.stat().is_ok_and(|a| a.file_type() == fs::FileType::Regular) {
        return Ok(count);
    }
    let off = match pos {
        Some(p) => u64::try_from(p).unwrap_or(0),
        None if file.flags().contains(abi::OpenFlags::APPEND) => file.stat()?.size,
        None => file.offset(),
    };
    if off >= limit {
        send_sigxfsz(cur);
        return Err(Errno::EFBIG);
    }
    Ok(count.min(usize::try_from(limit - off).unwrap_or(usize::MAX)))
}

/// `SIGXFSZ` to the calling thread, as a write or truncate past `RLIMIT_FSIZE` gets.
pub(super) fn send_sigxfsz(cur: &Current) {
    let info = uapi::signal::SigInfo::kill(uapi::signal::SIGXFSZ, uapi::signal::SI_KERNEL, 0, 0);
    crate::signal::send_to_task(&cur.task, uapi::signal::SIGXFSZ, info);
}

/// Reads from `file` into guest memory at `buf`; `pos` is `None` for the file offset,
/// `Some(off)` for pread. Regular files go straight into guest memory through their data path;
/// sockets are a `recvmsg`; pipes, devices and the like fill the buffer themselves (`fileio`).
fn read_into(cur: &mut Current, file: &Arc<OpenFile>, buf: UserAddr, count: usize, pos: Option<i64>) -> KResult<usize> {
    let count = count.min(MAX_RW);
    let iov = [IoVec { iov_base: buf.0, iov_len: count as u64 }];
    if pos.is_none() && crate::net::socket_of(file).is_some() {
        return super::net::socket_read(cur, file, &iov);
    }
    if file.file_like().is_none() && count > 0 {
        return read_direct(cur, file, buf, count, pos);
    }
    crate::fileio::read_user(cur, file, &iov, pos)
}

/// Writes guest memory at `buf` to `file` (pwrite when `pos` is given), as [`read_into`].
fn write_from(cur: &mut Current, file: &Arc<OpenFile>, buf: UserAddr, count: usize, pos: Option<i64>) -> KResult<usize> {
    let count = count.min(MAX_RW);
    let iov = [IoVec { iov_base: buf.0, iov_len: count as u64 }];
    if pos.is_none() && crate::net::socket_of(file).is_some() {
        return super::net::socket_write(cur, file, &iov);
    }
    if file.file_like().is_none() && count > 0 {
        let count = fsize_limit(cur, file, pos, count)?;
        return write_direct(cur, file, buf, count, pos);
    }
    crate::fileio::write_user(cur, file, &iov, pos)
}

/// `read(2)`.
pub fn sys_read(cur: &mut Current, fd: Fd, buf: OutBuf, count: usize) -> KResult<usize> {
    let file = file(cur, fd)?;
    read_into(cur, &file, buf.0, count, None)
}

/// `write(2)`.
pub fn sys_write(cur: &mut Current, fd: Fd, buf: InBuf, count: usize) -> KResult<usize> {
    let file = file(cur, fd)?;
    write_from(cur, &file, buf.0, count, None)
}

/// `pread64(2)`: `EINVAL` for a negative offset, `ESPIPE` for unseekable files.
pub fn sys_pread64(cur: &mut Current, fd: Fd, buf: OutBuf, count: usize, off: i64) -> KResult<usize> {
    let file = file(cur, fd)?;
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    read_into(cur, &file, buf.0, count, Some(off))
}

/// `pwrite64(2)`.
pub fn sys_pwrite64(cur: &mut Current, fd: Fd, buf: InBuf, count: usize, off: i64) -> KResult<usize> {
    let file = file(cur, fd)?;
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    write_from(cur, &file, buf.0, count, Some(off))
}

/// Reads an iovec array (`EINVAL` if more than `UIO_MAXIOV` = 1024 entries or the total
/// overflows `ssize_t`).
fn read_iovecs(cur: &mut Current, iov: UserAddr, cnt: i32) -> KResult<Vec<IoVec>> {
    if !(0..=1024).contains(&cnt) {
        return Err(Errno::EINVAL);
    }
    let mut v = vec![IoVec::default(); cnt as usize];
    cur.read_bytes(iov, bytemuck::cast_slice_mut(&mut v))?;
    let mut total: u64 = 0;
    for i in &v {
        total = total.checked_add(i.iov_len).ok_or(Errno::EINVAL)?;
        if total > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
    }
    Ok(v)
}

pub(super) fn readv_common(cur: &mut Current, fd: Fd, iov: UserAddr, cnt: i32, mut pos: Option<i64>) -> KResult<usize> {
    let file = file(cur, fd)?;
    let iovs = read_iovecs(cur, iov, cnt)?;
    if pos.is_none() && crate::net::socket_of(&file).is_some() {
        return super::net::socket_read(cur, &file, &iovs);
    }
    if file.file_like().is_some() {
        return crate::fileio::read_user(cur, &file, &clamp_iovecs(&iovs), pos);
    }
    let mut total = 0usize;
    for v in iovs {
        if v.iov_len == 0 {
            continue;
        }
        let r = read_into(cur, &file, UserAddr(v.iov_base), v.iov_len as usize, pos);
        let n = match r {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        if let Some(p) = pos.as_mut() {
            *p += n as i64;
        }
        if n < v.iov_len as usize {
            break;
        }
    }
    Ok(total)
}

pub(super) fn writev_common(cur: &mut Current, fd: Fd, iov: UserAddr, cnt: i32, mut pos: Option<i64>) -> KResult<usize> {
    let file = file(cur, fd)?;
    let iovs = read_iovecs(cur, iov, cnt)?;
    if pos.is_none() && crate::net::socket_of(&file).is_some() {
        return super::net::socket_write(cur, &file, &iovs);
    }
    // One operation over all the buffers, so one writev(2) stays one write to the file
    // (atomic for pipes up to PIPE_BUF, one line on a console), as Linux's `do_iter_write`.
    if file.file_like().is_some() {
        return crate::fileio::write_user(cur, &file, &clamp_iovecs(&iovs), pos);
    }
    let mut done = 0usize;
    for v in iovs {
        let r = write_from(cur, &file, UserAddr(v.iov_base), v.iov_len as usize, pos);
        let n = match r {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += n;
        if let Some(p) = pos.as_mut() {
            *p += n as i64;
        }
        if n < v.iov_len as usize {
            break;
        }
    }
    Ok(done)
}

/// The buffers cut to Linux's `MAX_RW_COUNT` in total (a `readv`/`writev` moves at most that).
fn clamp_iovecs(iovs: &[IoVec]) -> Vec<IoVec> {
    let mut left = MAX_RW as u64;
    iovs.iter()
        .map(|v| {
            let len = v.iov_len.min(left);
            left -= len;
            IoVec { iov_base: v.iov_base, iov_len: len }
        })
        .collect()
}

/// `readv(2)`.
pub fn sys_readv(cur: &mut Current, fd: Fd, iov: UserAddr, cnt: i32) -> KResult<usize> {
    readv_common(cur, fd, iov, cnt, None)
}

/// `writev(2)`.
pub fn sys_writev(cur: &mut Current, fd: Fd, iov: UserAddr, cnt: i32) -> KResult<usize> {
    writev_common(cur, fd, iov, cnt, None)
}

/// `preadv(2)`.
pub fn sys_preadv(cur: &mut Current, fd: Fd, iov: UserAddr, cnt: i32, off: i64) -> KResult<usize> {
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    readv_common(cur, fd, iov, cnt, Some(off))
}

/// `pwritev(2)`.
pub fn sys_pwritev(cur: &mut Current, fd: Fd, iov: UserAddr, cnt: i32, off: i64) -> KResult<usize> {
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    writev_common(cur, fd, iov, cnt, Some(off))
}

/// `openat(2)`.
pub fn sys_openat(cur: &mut Current, dirfd: Fd, path: UserCStr, flags: OpenFlagsArg, mode: Mode) -> KResult<usize> {
    let path = cur.read_path(path.0)?;
    let flags = OpenFlags::from_bits_truncate(flags.0);
    let file = fs_glue::open(cur, dirfd, &path, flags, mode.0 & 0o7777)?;
    crate::pipe::wait_fifo_partner(cur, &file)?;
    let fdflags = if flags.contains(OpenFlags::CLOEXEC) { FdFlags::CLOEXEC } else { FdFlags::empty() };
    let fd = cur.process().files().lock().alloc(file, fdflags)?;
    Ok(fd as usize)
}

/// `open(2)`.
pub fn sys_open(cur: &mut Current, path: UserCStr, flags: OpenFlagsArg, mode: Mode) -> KResult<usize> {
    sys_openat(cur, Fd(abi::AT_FDCWD), path, flags, mode)
}

/// `close(2)`.
pub fn sys_close(cur: &mut Current, fd: Fd) -> KResult<usize> {
    let f = cur.process().files().lock().close(fd.0)?;
    fs_glue::close_files(cur.pid(), [f]); // outside the fd-table lock
    Ok(0)
}

fn write_stat(cur: &mut Current, buf: UserAddr, a: &fs::InodeAttr) -> KResult<usize> {
    cur.write_val(buf, &abi::to_stat(a))?;
    Ok(0)
}

/// `fstat(2)`.
pub fn sys_fstat(cur: &mut Current, fd: Fd, buf: UserAddr) -> KResult<usize> {
    let a = file(cur, fd)?.stat()?;
    write_stat(cur, buf, &a)
}

/// `stat(2)`.
pub fn sys_stat(cur: &mut Current, path: UserCStr, buf: UserAddr) -> KResult<usize> {
    sys_newfstatat(cur, Fd(abi::AT_FDCWD), path, buf, 0)
}

/// `lstat(2)`.
pub fn sys_lstat(cur: &mut Current, path: UserCStr, buf: UserAddr) -> KResult<usize> {
    sys_newfstatat(cur, Fd(abi::AT_FDCWD), path, buf, abi::AT_SYMLINK_NOFOLLOW)
}

/// Resolves the target of a `*at` call that takes `AT_EMPTY_PATH`/`AT_SYMLINK_NOFOLLOW`.
fn stat_target(cur: &mut Current, dirfd: Fd, path: UserCStr, flags: u32) -> KResult<fs::InodeAttr> {
    if flags & !(abi::AT_SYMLINK_NOFOLLOW | abi::AT_EMPTY_PATH | abi::AT_NO_AUTOMOUNT | 0x6000) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = cur.read_path(path.0)?;
    if p.is_empty() {
        if flags & abi::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if dirfd.0 == abi::AT_FDCWD {
            let cwd = cur.process().fs().lock().cwd.clone();
            return cwd.attr();
        }
        return file(cur, dirfd)?.stat();
    }
    let target = fs_glue::lookup(cur, dirfd, &p, flags & abi::AT_SYMLINK_NOFOLLOW == 0)?;
    target.attr()
}

/// `newfstatat(2)`.
pub fn sys_newfstatat(cur: &mut Current, dirfd: Fd, path: UserCStr, buf: UserAddr, flags: u32) -> KResult<usize> {
    let a = stat_target(cur, dirfd, path, flags)?;
    write_stat(cur, buf, &a)
}

/// `statx(2)`: the basic stats.
pub fn sys_statx(cur: &mut Current, dirfd: Fd, path: UserCStr, flags: u32, _mask: u32, buf: UserAddr) -> KResult<usize> {
    let a = stat_target(cur, dirfd, path, flags)?;
    cur.write_val(buf, &abi::to_statx(&a, 0))?;
    Ok(0)
}

/// `lseek(2)`.
pub fn sys_lseek(cur: &mut Current, fd: Fd, off: i64, whence: u32) -> KResult<usize> {
    let f = file(cur, fd)?;
    Ok(f.lseek(off, whence)? as usize)
}

/// `getdents64(2)`.
pub fn sys_getdents64(cur: &mut Current, fd: Fd, buf: UserAddr, count: u32) -> KResult<usize> {
    let f = file(cur, fd)?;
    let mut tmp = vec![0u8; (count as usize).min(CHUNK)];
    let n = f.getdents64(&mut tmp)?;
    cur.write_bytes(buf, &tmp[..n])?;
    Ok(n)
}

/// `ioctl(2)`: handed to the file (`ENOTTY` for files that know no ioctls); `FIONBIO` and
/// `FIOCLEX`/`FIONCLEX` are the generic ones the VFS answers itself.
pub fn sys_ioctl(cur: &mut Current, fd: Fd, cmd: u32, arg: u64) -> KResult<usize> {
    let f = file(cur, fd)?;
    match cmd {
        f::FIOCLEX | f::FIONCLEX => {
            let flags = if cmd == f::FIOCLEX { FdFlags::CLOEXEC } else { FdFlags::empty() };
            cur.process().files().lock().set_fd_flags(fd.0, flags)?;
            Ok(0)
        }
        f::FIONBIO => {
            let on: i32 = cur.read_val(UserAddr(arg))?;
            let mut fl = f.flags();
            fl.set(OpenFlags::NONBLOCK, on != 0);
            f.set_status_flags(fl);
            Ok(0)
        }
        _ => {
            if let Some(r) = crate::tty_glue::ioctl(cur, &f, cmd, arg) {
                return r;
            }
            let mut mem = cur.user_memory();
            f.ioctl(cmd, arg, &mut mem)
        }
    }
}

/// `poll(2)`: readiness of each fd now; waiting comes from the scheduler (`sched::poll_wait`).
pub fn sys_poll(cur: &mut Current, fds: UserAddr, nfds: u32, timeout_ms: i32) -> KResult<usize> {
    if nfds as u64 > cur.process().rlimit_cur(f::RLIMIT_NOFILE) {
        return Err(Errno::EINVAL);
    }
    let mut v = vec![PollFd::default(); nfds as usize];
    cur.read_bytes(fds, bytemuck::cast_slice_mut(&mut v))?;
    let timeout = (timeout_ms >= 0).then(|| timeout_ms as u64 * 1_000_000);
    let n = crate::poll::poll_wait(cur, &mut v, timeout)?;
    cur.write_bytes(fds, bytemuck::cast_slice(&v))?;
    Ok(n)
}

/// `access(2)`.
pub fn sys_access(cur: &mut Current, path: UserCStr, mode: u32) -> KResult<usize> {
    sys_faccessat2(cur, Fd(abi::AT_FDCWD), path, mode, 0)
}

/// `faccessat(2)`.
pub fn sys_faccessat(cur: &mut Current, dirfd: Fd, path: UserCStr, mode: u32) -> KResult<usize> {
    sys_faccessat2(cur, dirfd, path, mode, 0)
}

/// `faccessat2(2)`: checks with the real ids unless `AT_EACCESS`.
pub fn sys_faccessat2(cur: &mut Current, dirfd: Fd, path: UserCStr, mode: u32, flags: u32) -> KResult<usize> {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let p = cur.read_path(path.0)?;
    let vfs = kernel().vfs.clone();
    fs_glue::with_start(cur, dirfd, &p, |ctx, start| vfs.access(ctx, start, &p, mode, flags))?;
    Ok(0)
}

/// `dup(2)`.
pub fn sys_dup(cur: &mut Current, fd: Fd) -> KResult<usize> {
    Ok(cur.process().files().lock().dup(fd.0)? as usize)
}

/// `dup2(2)`.
pub fn sys_dup2(cur: &mut Current, old: Fd, new: Fd) -> KResult<usize> {
    let (fd, replaced) = cur.process().files().lock().dup2(old.0, new.0)?;
    fs_glue::close_files(cur.pid(), replaced);
    Ok(fd as usize)
}

/// `dup3(2)`.
pub fn sys_dup3(cur: &mut Current, old: Fd, new: Fd, flags: Flags) -> KResult<usize> {
    if flags.0 & !(OpenFlags::CLOEXEC.bits() as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let cloexec = flags.0 != 0;
    let (fd, replaced) = cur.process().files().lock().dup3(old.0, new.0, cloexec)?;
    fs_glue::close_files(cur.pid(), replaced);
    Ok(fd as usize)
}

/// `fcntl(2)`: descriptor flags, status flags, duplication; locks come with the lock work.
pub fn sys_fcntl(cur: &mut Current, fd: Fd, cmd: FcntlCmd, arg: FcntlArg) -> KResult<usize> {
    let (cmd, arg) = (cmd.0, arg.0);
    let files = cur.process().files();
    match cmd as u32 {
        f::F_DUPFD | f::F_DUPFD_CLOEXEC => {
            let file = files.lock().get(fd.0)?;
            let min = i32::try_from(arg).map_err(|_| Errno::EINVAL)?;
            let flags = if cmd as u32 == f::F_DUPFD_CLOEXEC { FdFlags::CLOEXEC } else { FdFlags::empty() };
            Ok(files.lock().alloc_from(min, file, flags)? as usize)
        }
        f::F_GETFD => Ok(files.lock().fd_flags(fd.0)?.bits() as usize),
        f::F_SETFD => {
            files.lock().set_fd_flags(fd.0, FdFlags::from_bits_truncate(arg as u32))?;
            Ok(0)
        }
        f::F_GETFL => Ok(files.lock().get(fd.0)?.flags().bits() as usize),
        f::F_SETFL => {
            let file = files.lock().get(fd.0)?;
            file.set_status_flags(OpenFlags::from_bits_truncate(arg as u32));
            Ok(0)
        }
        _ => super::fs_names::fcntl_other(cur, fd, cmd, arg),
    }
}

/// `getcwd(2)`: `ERANGE` if the buffer is too small (the length includes the NUL).
pub fn sys_getcwd(cur: &mut Current, buf: UserAddr, size: usize) -> KResult<usize> {
    let mut path = cur.process().fs().lock().getcwd()?;
    path.push(0);
    if path.len() > size {
        return Err(Errno::ERANGE);
    }
    cur.write_bytes(buf, &path)?;
    Ok(path.len())
}

/// `chdir(2)`.
pub fn sys_chdir(cur: &mut Current, path: UserCStr) -> KResult<usize> {
    let p = cur.read_path(path.0)?;
    let target = fs_glue::lookup(cur, Fd(abi::AT_FDCWD), &p, true)?;
    let cred = cur.process().creds();
    fs::context::check_cwd(&cred, &target)?;
    cur.process().fs().lock().set_cwd(target);
    Ok(0)
}

/// `fchdir(2)`.
pub fn sys_fchdir(cur: &mut Current, fd: Fd) -> KResult<usize> {
    let target = file(cur, fd)?.path().cloned().ok_or(Errno::ENOTDIR)?;
    let cred = cur.process().creds();
    fs::context::check_cwd(&cred, &target)?;
    cur.process().fs().lock().set_cwd(target);
    Ok(0)
}

/// `readlinkat(2)`: `EINVAL` for a non-positive size or a non-symlink; truncates silently.
pub fn sys_readlinkat(cur: &mut Current, dirfd: Fd, path: UserCStr, buf: UserAddr, size: i32) -> KResult<usize> {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let p = cur.read_path(path.0)?;
    let vfs = kernel().vfs.clone();
    let target = fs_glue::with_start(cur, dirfd, &p, |ctx, start| vfs.readlink(ctx, start, &p))?;
    let n = target.len().min(size as usize);
    cur.write_bytes(buf, &target[..n])?;
    Ok(n)
}

/// `readlink(2)`.
pub fn sys_readlink(cur: &mut Current, path: UserCStr, buf: UserAddr, size: i32) -> KResult<usize> {
    sys_readlinkat(cur, Fd(abi::AT_FDCWD), path, buf, size)
}

/// `umask(2)`.
pub fn sys_umask(cur: &mut Current, mask: u32) -> KResult<usize> {
    Ok(cur.process().fs().lock().set_umask(mask) as usize)
}

/// Keeps `UserRef` in the import list used by later handlers.
#[allow(dead_code)]
type Unused = UserRef<u8>;
