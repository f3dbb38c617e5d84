//! The long tail of syscalls a Debian userland calls, each with Linux's argument checks and
//! errnos: scheduling parameters (`sched_setparam`, `sched_rr_get_interval`,
//! `sched_getattr`/`sched_setattr`), `execveat`, `chroot`, `preadv2`/`pwritev2`, `unshare` of
//! the fd table and fs context, `membarrier`, `sync_file_range`, `ioprio_get`/`ioprio_set`.
//! umbra schedules every task as `SCHED_OTHER` (its fair scheduler), so the real-time policies
//! are refused with `EPERM` and priorities other than 0 with `EINVAL`.

use super::args::Fd;
use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::{Process, Task};
use fs::klock::KMutex;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use uapi::structs::Timespec;
use uapi::{flags as f, Errno, KResult, UserAddr, UserCStr};

/// The task a scheduling call names (0: the caller); `EINVAL` for a negative id, `ESRCH` if none.
fn sched_target(cur: &Current, pid: i32) -> KResult<Arc<Task>> {
    match pid {
        p if p < 0 => Err(Errno::EINVAL),
        0 => Ok(cur.task.clone()),
        p => kernel().task(p as u32).ok_or(Errno::ESRCH),
    }
}

/// `sched_setparam(2)`: only priority 0 exists for `SCHED_OTHER`.
pub fn sys_sched_setparam(cur: &mut Current, pid: i32, param: UserAddr) -> KResult<usize> {
    if param.is_null() || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let prio: i32 = cur.read_val(param)?;
    sched_target(cur, pid)?;
    if prio != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// `sched_rr_get_interval(2)`: for `SCHED_OTHER` tasks, the time slice the scheduler gives.
pub fn sys_sched_rr_get_interval(cur: &mut Current, pid: i32, tp: UserAddr) -> KResult<usize> {
    sched_target(cur, pid)?;
    let slice = crate::sched::TIME_SLICE;
    cur.write_val(tp, &Timespec { tv_sec: 0, tv_nsec: i64::from(slice.subsec_nanos()) })?;
    Ok(0)
}

/// `struct sched_attr` up to `SCHED_ATTR_SIZE_VER1` (56 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

const SCHED_ATTR_SIZE_VER0: usize = 48;

/// `sched_getattr(2)`: `EINVAL` for flags or a size below `SCHED_ATTR_SIZE_VER0` or above a
/// page; fills `min(size, ours)` bytes with the task's policy (`SCHED_OTHER`) and nice value.
pub fn sys_sched_getattr(cur: &mut Current, pid: i32, uattr: UserAddr, size: u32, flags: u32) -> KResult<usize> {
    let size = size as usize;
    if uattr.is_null() || pid < 0 || flags != 0 || !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let t = sched_target(cur, pid)?;
    let ours = std::mem::size_of::<SchedAttr>();
    let a = SchedAttr { size: size.min(ours) as u32, nice: t.nice.load(Ordering::Relaxed), util_max: 1024, ..SchedAttr::default() };
    let bytes = bytemuck::bytes_of(&a);
    cur.write_bytes(uattr, bytes.get(..size.min(ours)).ok_or(Errno::EINVAL)?)?;
    Ok(0)
}

/// `sched_setattr(2)`: the size rules of `sched_copy_attr` (`E2BIG` for a bad size, with the
/// kernel's size written back), `SCHED_OTHER`/`SCHED_BATCH`/`SCHED_IDLE` with a nice value
/// (lowering it needs root, `EPERM`), real-time and deadline policies `EPERM`, others `EINVAL`.
pub fn sys_sched_setattr(cur: &mut Current, pid: i32, uattr: UserAddr, flags: u32) -> KResult<usize> {
    if uattr.is_null() || pid < 0 || flags != 0 {
        return Err(Errno::EINVAL);
    }
    let size: u32 = cur.read_val(uattr)?;
    let ours = std::mem::size_of::<SchedAttr>();
    let size = if size == 0 { SCHED_ATTR_SIZE_VER0 } else { size as usize };
    if !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size) {
        cur.write_val(uattr, &(ours as u32))?;
        return Err(Errno::E2BIG);
    }
    let mut buf = vec![0u8; size];
    cur.read_bytes(uattr, &mut buf)?;
    if buf.get(ours..).is_some_and(|rest| rest.iter().any(|&b| b != 0)) {
        cur.write_val(uattr, &(ours as u32))?;
        return Err(Errno::E2BIG);
    }
    buf.resize(ours, 0);
    let a: SchedAttr = uapi::user::from_bytes(&buf);
    let t = sched_target(cur, pid)?;
    match a.policy {
        0 | 3 | 5 => {}
        1 | 2 | 6 => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    if a.priority != 0 {
        return Err(Errno::EINVAL);
    }
    let nice = a.nice.clamp(-20, 19);
    let root = cur.process().creds.lock().capable(fs::capability::cap::SYS_NICE);
    if nice < t.nice.load(Ordering::Relaxed) && !root {
        return Err(Errno::EPERM);
    }
    t.nice.store(nice, Ordering::Relaxed);
    Ok(0)
}

/// `execveat(2)`: `execve` relative to `dirfd`; with `AT_EMPTY_PATH` an empty path runs the
/// file open at `dirfd` (`fexecve`); `AT_SYMLINK_NOFOLLOW` refuses a final symlink (`ELOOP`).
pub fn sys_execveat(cur: &mut Current, dirfd: Fd, path: UserCStr, argv: UserAddr, envp: UserAddr, flags: u32) -> KResult<usize> {
    let name = cur.read_cstr(path.0, 4096)?;
    if name.is_empty() && flags & fs::abi::AT_EMPTY_PATH == 0 {
        return Err(Errno::ENOENT);
    }
    if flags & !(fs::abi::AT_EMPTY_PATH | fs::abi::AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let limit = crate::exec::arg_limit(cur.process().rlimit_cur(f::RLIMIT_STACK));
    let argv = cur.read_string_array(argv, limit)?;
    let envp = cur.read_string_array(envp, limit)?;
    let how = crate::execve::ExecAt { empty_path: flags & fs::abi::AT_EMPTY_PATH != 0, nofollow: flags & fs::abi::AT_SYMLINK_NOFOLLOW != 0 };
    crate::execve::execve(cur, dirfd, &name, argv, envp, how)?;
    Ok(0)
}

/// `chroot(2)`: the path must be a searchable directory (`ENOTDIR`, `EACCES`), then root only
/// (`EPERM`); the process's root directory becomes it (the cwd stays, as in Linux).
pub fn sys_chroot(cur: &mut Current, path: UserCStr) -> KResult<usize> {
    let name = cur.read_path(path.0)?;
    let p = crate::fs_glue::lookup(cur, Fd(fs::abi::AT_FDCWD), &name, true)?;
    if !p.attr()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let creds = cur.process().creds();
    kernel().vfs.access_path(&creds, &p, fs::abi::X_OK)?;
    if !creds.capable(fs::capability::cap::SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    cur.process().fs().lock().root = p;
    Ok(0)
}

/// The `RWF_*` flags `preadv2`/`pwritev2` know (`HIPRI`, `DSYNC`, `SYNC`, `NOWAIT`, `APPEND`,
/// `NOAPPEND`); others are `EOPNOTSUPP`.
const RWF_SUPPORTED: u32 = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20;

fn rwf_pos(flags: u32, off: i64) -> KResult<Option<i64>> {
    if flags & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(if off == -1 { None } else { Some(off) })
}

/// `preadv2(2)`: `preadv` whose offset -1 means the file position; the flags are hints here.
pub fn sys_preadv2(cur: &mut Current, fd: Fd, iov: UserAddr, cnt: i32, off: i64, _off_hi: u64, flags: u32) -> KResult<usize> {
    let pos = rwf_pos(flags, off)?;
    if pos.is_some_and(|p| p < 0) {
        return Err(Errno::EINVAL);
    }
    super::fs::readv_common(cur, fd, iov, cnt, pos)
}

/// `pwritev2(2)`: `pwritev` whose offset -1 means the file position (`RWF_DSYNC`/`RWF_SYNC`
/// sync the file afterwards).
pub fn sys_pwritev2(cur: &mut Current, fd: Fd, iov: UserAddr, cnt: i32, off: i64, _off_hi: u64, flags: u32) -> KResult<usize> {
    let pos = rwf_pos(flags, off)?;
    if pos.is_some_and(|p| p < 0) {
        return Err(Errno::EINVAL);
    }
    let n = super::fs::writev_common(cur, fd, iov, cnt, pos)?;
    if flags & (0x2 | 0x4) != 0 {
        crate::fs_glue::file(cur, fd)?.fsync()?;
    }
    Ok(n)
}

/// `unshare(2)`: `CLONE_FILES` and `CLONE_FS` give the process its own copy of the fd table and
/// of root/cwd/umask; `CLONE_SYSVSEM` and, in a single-threaded process, `CLONE_THREAD`,
/// `CLONE_SIGHAND` and `CLONE_VM` change nothing. New namespaces need root (`EPERM`) and umbra
/// has none (`EINVAL`); unknown flags are `EINVAL`.
pub fn sys_unshare(cur: &mut Current, flags: u64) -> KResult<usize> {
    use uapi::flags::CloneFlags as C;
    let f = C::from_bits(flags).ok_or(Errno::EINVAL)?;
    let allowed = C::THREAD | C::FS | C::NEWNS | C::SIGHAND | C::VM | C::FILES | C::SYSVSEM | C::NEWUTS | C::NEWIPC | C::NEWNET | C::NEWUSER | C::NEWPID | C::NEWCGROUP | C::NEWTIME;
    if !allowed.contains(f) {
        return Err(Errno::EINVAL);
    }
    let p = cur.process().clone();
    if f.intersects(C::THREAD | C::SIGHAND | C::VM) && p.live_threads().len() > 1 {
        return Err(Errno::EINVAL);
    }
    let namespaces = C::NEWNS | C::NEWUTS | C::NEWIPC | C::NEWNET | C::NEWUSER | C::NEWPID | C::NEWCGROUP | C::NEWTIME;
    if f.intersects(namespaces) {
        return Err(if !p.creds.lock().capable(fs::capability::cap::SYS_ADMIN) && !f.contains(C::NEWUSER) { Errno::EPERM } else { Errno::EINVAL });
    }
    if f.contains(C::FILES) {
        let copy = p.files().lock().clone();
        *p.files.lock() = Arc::new(KMutex::new(copy));
    }
    if f.contains(C::FS) {
        let copy = p.fs().lock().clone();
        *p.fs.lock() = Arc::new(KMutex::new(copy));
    }
    Ok(0)
}

/// The `membarrier` commands umbra serves (Linux's numbering). With one virtual CPU every
/// barrier is already complete when the call is made, so they only check registration.
const MEMBARRIER_QUERY: u32 = 0;
const MEMBARRIER_SUPPORTED: u32 = 1 | 2 | 4 | 8 | 16 | 32 | 64;

/// `membarrier(2)`: `QUERY` lists the supported commands; the private expedited commands
/// need their `REGISTER_*` first (`EPERM`); flags must be 0; the rseq commands are
/// `EINVAL` (umbra has no rseq).
pub fn sys_membarrier(cur: &mut Current, cmd: u32, flags: u32, _cpu_id: i32) -> KResult<usize> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let p = cur.process();
    match cmd {
        MEMBARRIER_QUERY => Ok(MEMBARRIER_SUPPORTED as usize),
        1 | 2 | 4 => Ok(0),
        16 | 64 => {
            p.membarrier.fetch_or(cmd, Ordering::Relaxed);
            Ok(0)
        }
        8 | 32 => {
            let registered = p.membarrier.load(Ordering::Relaxed) & (cmd << 1) != 0;
            if registered {
                Ok(0)
            } else {
                Err(Errno::EPERM)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `sync_file_range(2)`: `EINVAL` for unknown flags, negative or overflowing ranges, `ESPIPE`
/// for pipes and sockets; the range is written back by syncing the file.
pub fn sys_sync_file_range(cur: &mut Current, fd: Fd, off: i64, nbytes: i64, flags: u32) -> KResult<usize> {
    if flags & !0x7 != 0 || off < 0 || nbytes < 0 || off.checked_add(nbytes).is_none() {
        return Err(Errno::EINVAL);
    }
    let file = crate::fs_glue::file(cur, fd)?;
    let attr = file.stat()?;
    if !matches!(attr.file_type(), fs::FileType::Regular | fs::FileType::Directory | fs::FileType::BlockDevice) {
        return Err(Errno::ESPIPE);
    }
    if flags & 0x2 != 0 {
        file.fsync()?;
    }
    Ok(0)
}

const IOPRIO_WHO_PROCESS: i32 = 1;
const IOPRIO_WHO_PGRP: i32 = 2;
const IOPRIO_WHO_USER: i32 = 3;

/// The processes an `ioprio_*` call names (`EINVAL` for an unknown `which`, `ESRCH` if none).
fn ioprio_targets(cur: &Current, which: i32, who: i32) -> KResult<Vec<Arc<Process>>> {
    let all = || -> Vec<Arc<Process>> { kernel().processes.lock().values().filter_map(std::sync::Weak::upgrade).filter(|p| !p.is_zombie()).collect() };
    let found: Vec<Arc<Process>> = match which {
        IOPRIO_WHO_PROCESS if who == 0 => vec![cur.process().clone()],
        IOPRIO_WHO_PROCESS => kernel().task(who as u32).map(|t| t.process.clone()).into_iter().collect(),
        IOPRIO_WHO_PGRP => {
            let pgrp = if who == 0 { cur.process().pgid.load(Ordering::Relaxed) } else { who as u32 };
            all().into_iter().filter(|p| p.pgid.load(Ordering::Relaxed) == pgrp).collect()
        }
        IOPRIO_WHO_USER => {
            let uid = if who == 0 { cur.process().creds.lock().uid } else { who as u32 };
            all().into_iter().filter(|p| p.creds.lock().uid == uid).collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if found.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(found)
}

/// `ioprio_set(2)`: class 0 (none, data 0), 1 (real time: root only, `EPERM`), 2 (best effort,
/// data < 8), 3 (idle); others `EINVAL`. Recorded per process; umbra's block layer has one queue.
pub fn sys_ioprio_set(cur: &mut Current, which: i32, who: i32, ioprio: u32) -> KResult<usize> {
    let (class, data) = (ioprio >> 13, ioprio & 0x1fff);
    match class {
        0 if data == 0 => {}
        1 if data < 8 => {
            if !cur.process().creds.lock().capable(fs::capability::cap::SYS_ADMIN) {
                return Err(Errno::EPERM);
            }
        }
        2 if data < 8 => {}
        3 => {}
        _ => return Err(Errno::EINVAL),
    }
    for p in ioprio_targets(cur, which, who)? {
        p.ioprio.store(ioprio, Ordering::Relaxed);
    }
    Ok(0)
}

/// `ioprio_get(2)`: the recorded priority (the highest of a group's), 0 if none was set.
pub fn sys_ioprio_get(cur: &mut Current, which: i32, who: i32) -> KResult<usize> {
    let targets = ioprio_targets(cur, which, who)?;
    Ok(targets.iter().map(|p| p.ioprio.load(Ordering::Relaxed)).max().unwrap_or(0) as usize)
}
