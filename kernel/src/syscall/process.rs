//! Process and thread syscalls: identities, exit, limits, `arch_prctl`, `prctl`, `execve`.

use super::args::{CloneArgsPtr, CloneFlagsArg, Fd, Flags};
use crate::sched::Current;
use crate::task::ExitStatus;
use uapi::flags as f;
use uapi::structs::RLimit;
use uapi::{Errno, KResult, UserAddr, UserCStr, UserRef};

/// `getpid(2)`: the thread group id.
pub fn sys_getpid(cur: &mut Current) -> KResult<usize> {
    Ok(cur.pid() as usize)
}

/// `gettid(2)`.
pub fn sys_gettid(cur: &mut Current) -> KResult<usize> {
    Ok(cur.task.tid as usize)
}

/// `getppid(2)`: 0 for pid 1.
pub fn sys_getppid(cur: &mut Current) -> KResult<usize> {
    Ok(cur.process().ppid() as usize)
}

/// `getuid(2)`.
pub fn sys_getuid(cur: &mut Current) -> KResult<usize> {
    Ok(cur.process().creds.lock().uid as usize)
}

/// `geteuid(2)`.
pub fn sys_geteuid(cur: &mut Current) -> KResult<usize> {
    Ok(cur.process().creds.lock().euid as usize)
}

/// `getgid(2)`.
pub fn sys_getgid(cur: &mut Current) -> KResult<usize> {
    Ok(cur.process().creds.lock().gid as usize)
}

/// `getegid(2)`.
pub fn sys_getegid(cur: &mut Current) -> KResult<usize> {
    Ok(cur.process().creds.lock().egid as usize)
}

/// `exit(2)`: ends this thread (the process if it is the last one).
pub fn sys_exit(cur: &mut Current, code: i32) -> KResult<usize> {
    crate::exit::exit_thread(cur, ExitStatus::Exited(code & 0xff));
    Ok(0)
}

/// `exit_group(2)`: ends every thread of the process.
pub fn sys_exit_group(cur: &mut Current, code: i32) -> KResult<usize> {
    crate::exit::exit_group(cur, ExitStatus::Exited(code & 0xff));
    Ok(0)
}

/// `set_tid_address(2)`: records `clear_child_tid`; returns the tid.
pub fn sys_set_tid_address(cur: &mut Current, tidptr: UserAddr) -> KResult<usize> {
    cur.task.clear_child_tid.set(tidptr.0);
    Ok(cur.task.tid as usize)
}

/// `set_robust_list(2)`: records the head (`EINVAL` for a wrong size, as Linux).
pub fn sys_set_robust_list(cur: &mut Current, head: UserAddr, len: usize) -> KResult<usize> {
    if len != 24 {
        return Err(Errno::EINVAL);
    }
    cur.task.robust_list.set(head.0);
    Ok(0)
}

/// `rseq(2)`: not supported; glibc and Rust fall back when it returns `ENOSYS`.
pub fn sys_rseq(_cur: &mut Current, _rseq: UserAddr, _len: u32, _flags: Flags, _sig: u32) -> KResult<usize> {
    Err(Errno::ENOSYS)
}

/// `arch_prctl(2)`: FS/GS base (TLS) get and set; the next `PTRACE_SETREGS` applies them, so
/// no host call is needed. `EINVAL` for unknown codes; `EPERM` for non-canonical or
/// kernel-range bases, as Linux's `do_arch_prctl_64`.
pub fn sys_arch_prctl(cur: &mut Current, code: i32, addr: u64) -> KResult<usize> {
    match code as u32 {
        f::ARCH_SET_FS | f::ARCH_SET_GS => {
            if addr >= arch_um::layout::TASK_SIZE {
                return Err(Errno::EPERM);
            }
            if code as u32 == f::ARCH_SET_FS {
                cur.ctx.regs.fs_base = addr;
            } else {
                cur.ctx.regs.gs_base = addr;
            }
            Ok(0)
        }
        f::ARCH_GET_FS => {
            let v = cur.ctx.regs.fs_base;
            cur.write_val(UserAddr(addr), &v)?;
            Ok(0)
        }
        f::ARCH_GET_GS => {
            let v = cur.ctx.regs.gs_base;
            cur.write_val(UserAddr(addr), &v)?;
            Ok(0)
        }
        f::ARCH_GET_CPUID => Ok(1),
        f::ARCH_SET_CPUID => Err(Errno::ENODEV),
        _ => Err(Errno::EINVAL),
    }
}

fn rlimit_index(resource: u32) -> KResult<usize> {
    if resource >= f::RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    Ok(resource as usize)
}

/// `prlimit64(2)` on the caller (pid 0 or its own pid); other pids come with the processes work.
pub fn sys_prlimit64(cur: &mut Current, pid: i32, resource: u32, new: UserRef<RLimit>, old: UserRef<RLimit>) -> KResult<usize> {
    let idx = rlimit_index(resource)?;
    let target = if pid == 0 || pid as u32 == cur.pid() {
        cur.process().clone()
    } else {
        crate::task::kernel::kernel().process(pid as u32).ok_or(Errno::ESRCH)?
    };
    let new_val = if new.is_null() { None } else { Some(cur.read_val::<RLimit>(new.addr())?) };
    let prev = target.rlimits.lock()[idx];
    if let Some(n) = new_val {
        if n.rlim_cur > n.rlim_max {
            return Err(Errno::EINVAL);
        }
        let root = cur.process().creds.lock().capable(fs::capability::cap::SYS_RESOURCE);
        if n.rlim_max > prev.1 && !root {
            return Err(Errno::EPERM);
        }
        // Linux's `do_prlimit`: no file limit above `nr_open`.
        if resource == uapi::flags::RLIMIT_NOFILE && n.rlim_max > u64::from(fs::fd_table::NR_OPEN) {
            return Err(Errno::EPERM);
        }
    }
    if !old.is_null() {
        cur.write_val(old.addr(), &RLimit { rlim_cur: prev.0, rlim_max: prev.1 })?;
    }
    if let Some(n) = new_val {
        target.rlimits.lock()[idx] = (n.rlim_cur, n.rlim_max);
        if resource == uapi::flags::RLIMIT_NOFILE {
            // The fd table enforces the soft limit (`EMFILE` at it).
            let limit = u32::try_from(n.rlim_cur).unwrap_or(fs::fd_table::NR_OPEN).min(fs::fd_table::NR_OPEN);
            target.files().lock().set_limit(limit)?;
        }
        if resource == uapi::flags::RLIMIT_STACK {
            // Stack growth checks the current limit (Linux's `acct_stack_growth`).
            if let Some(t) = target.live_threads().first() {
                t.mm().space.lock().set_stack_limit(n.rlim_cur);
            }
        }
    }
    Ok(0)
}

/// `getrlimit(2)`.
pub fn sys_getrlimit(cur: &mut Current, resource: u32, old: UserRef<RLimit>) -> KResult<usize> {
    sys_prlimit64(cur, 0, resource, UserRef::new(UserAddr::NULL), old)
}

/// `setrlimit(2)`.
pub fn sys_setrlimit(cur: &mut Current, resource: u32, new: UserRef<RLimit>) -> KResult<usize> {
    if new.is_null() {
        return Err(Errno::EFAULT);
    }
    sys_prlimit64(cur, 0, resource, new, UserRef::new(UserAddr::NULL))
}

/// `sched_getaffinity(2)`: one virtual CPU. Returns the number of bytes written (the kernel's
/// cpumask size, 8), `EINVAL` if the buffer is smaller, as Linux.
pub fn sys_sched_getaffinity(cur: &mut Current, pid: i32, len: usize, mask: UserAddr) -> KResult<usize> {
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    cur.write_val(mask, &1u64)?;
    Ok(8)
}

/// `sched_yield(2)`.
pub fn sys_sched_yield(cur: &mut Current) -> KResult<usize> {
    cur.cpu().yield_now();
    Ok(0)
}

/// `execve(2)`: replaces the program (see `exec`). On success the registers already hold the
/// new program's entry state and `rax` becomes 0.
pub fn sys_execve(cur: &mut Current, path: UserCStr, argv: UserAddr, envp: UserAddr) -> KResult<usize> {
    let path = cur.read_path(path.0)?;
    let limit = crate::exec::arg_limit(cur.process().rlimit_cur(f::RLIMIT_STACK));
    let argv = cur.read_string_array(argv, limit)?;
    let envp = cur.read_string_array(envp, limit)?;
    crate::execve::execve(cur, Fd(f::AT_FDCWD), &path, argv, envp, crate::execve::ExecAt::default())?;
    Ok(0)
}

/// True for syscalls whose handler already set every register (`rt_sigreturn`), so the
/// dispatcher must not overwrite `rax`.
pub fn skips_return_value(n: u64, r: &KResult<usize>) -> bool {
    n == uapi::syscalls::RT_SIGRETURN && r.is_ok()
}

/// `clone(2)`, with its arguments typed for `--strace` (`CLONE_PIDFD|SIGCHLD`); the work is
/// `crate::clone`'s.
pub fn sys_clone(cur: &mut Current, flags: CloneFlagsArg, stack: UserAddr, parent_tid: UserAddr, child_tid: UserAddr, tls: UserAddr) -> KResult<usize> {
    crate::clone::sys_clone(cur, flags.0, stack.0, parent_tid.0, child_tid.0, tls.0)
}

/// `clone3(2)`, with its `struct clone_args` decoded by `--strace`.
pub fn sys_clone3(cur: &mut Current, uargs: CloneArgsPtr, size: usize) -> KResult<usize> {
    crate::clone::sys_clone3(cur, uargs.0, size)
}
