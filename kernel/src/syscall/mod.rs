//! System calls: the declarative table from number to handler, and the dispatcher that runs
//! one syscall stop (Linux's `do_syscall_64` + `sys_call_table`).
//!
//! Each family lives in its own file (fs, mm, process, signal, time, timers, epoll, misc). A
//! handler is a plain function `fn sys_x(cur: &mut Current, a: A, b: B, ...) -> KResult<usize>`
//! with typed arguments (see `args`); unknown numbers return `ENOSYS` and are logged once by
//! name.

pub mod args;
mod epoll;
mod fdcalls;
mod fs;
pub mod fs_names;
pub mod ids;
mod inotify;
mod tail;
mod io_more;
mod ipc;
mod misc;
mod mm;
pub mod net;
mod process;
pub mod prctl;
mod mlock;
pub mod status;
mod signal;
pub mod time;
mod timers;
mod xattr;

pub use crate::timers::clock::clock_now as time_now;

use crate::sched::Current;
use args::Handler;
use std::collections::BTreeSet;
use std::sync::Mutex;
use uapi::syscalls as nr;
use uapi::{Errno, KResult};

fn call<A, H: Handler<A>>(h: H, cur: &mut Current, a: &[u64; 6]) -> KResult<usize> {
    h.call(cur, a)
}

fn fmt<A, H: Handler<A>>(h: H, cur: &mut Current, a: &[u64; 6], r: Option<&KResult<usize>>) -> String {
    h.format(cur, a, r)
}

macro_rules! syscall_table {
    ($($nr:ident => $handler:path,)*) => {
        /// Runs syscall `nr` with raw arguments `a`; `None` if umbra does not implement it.
        fn dispatch(cur: &mut Current, n: u64, a: &[u64; 6]) -> Option<KResult<usize>> {
            match n {
                $(nr::$nr => Some(call($handler, cur, a)),)*
                _ => None,
            }
        }

        /// True if syscall `n` has a handler in the table (see `status` for the generated
        /// table of every x86-64 syscall).
        pub fn implemented(n: u64) -> bool {
            matches!(n, $(nr::$nr)|*)
        }

        /// The strace rendering of syscall `n`'s arguments.
        fn format_args(cur: &mut Current, n: u64, a: &[u64; 6], r: Option<&KResult<usize>>) -> String {
            match n {
                $(nr::$nr => fmt($handler, cur, a, r),)*
                _ => crate::strace::raw_args(a),
            }
        }
    };
}

syscall_table! {
    // files (fs.rs)
    READ => fs::sys_read,
    WRITE => fs::sys_write,
    OPEN => fs::sys_open,
    CLOSE => fs::sys_close,
    STAT => fs::sys_stat,
    FSTAT => fs::sys_fstat,
    LSTAT => fs::sys_lstat,
    POLL => fs::sys_poll,
    LSEEK => fs::sys_lseek,
    IOCTL => fs::sys_ioctl,
    PREAD64 => fs::sys_pread64,
    PWRITE64 => fs::sys_pwrite64,
    READV => fs::sys_readv,
    WRITEV => fs::sys_writev,
    PREADV => fs::sys_preadv,
    PWRITEV => fs::sys_pwritev,
    ACCESS => fs::sys_access,
    FACCESSAT => fs::sys_faccessat,
    FACCESSAT2 => fs::sys_faccessat2,
    DUP => fs::sys_dup,
    DUP2 => fs::sys_dup2,
    DUP3 => fs::sys_dup3,
    FCNTL => fs::sys_fcntl,
    GETDENTS64 => fs::sys_getdents64,
    GETCWD => fs::sys_getcwd,
    CHDIR => fs::sys_chdir,
    FCHDIR => fs::sys_fchdir,
    READLINK => fs::sys_readlink,
    READLINKAT => fs::sys_readlinkat,
    OPENAT => fs::sys_openat,
    NEWFSTATAT => fs::sys_newfstatat,
    STATX => fs::sys_statx,
    UMASK => fs::sys_umask,
    PIPE => crate::pipe::sys_pipe,
    PIPE2 => crate::pipe::sys_pipe2,
    MKDIR => fs_names::sys_mkdir,
    MKDIRAT => fs_names::sys_mkdirat,
    MKNOD => fs_names::sys_mknod,
    MKNODAT => fs_names::sys_mknodat,
    CREAT => fs_names::sys_creat,
    UNLINK => fs_names::sys_unlink,
    UNLINKAT => fs_names::sys_unlinkat,
    RMDIR => fs_names::sys_rmdir,
    RENAME => fs_names::sys_rename,
    RENAMEAT => fs_names::sys_renameat,
    RENAMEAT2 => fs_names::sys_renameat2,
    LINK => fs_names::sys_link,
    LINKAT => fs_names::sys_linkat,
    SYMLINK => fs_names::sys_symlink,
    SYMLINKAT => fs_names::sys_symlinkat,
    CHMOD => fs_names::sys_chmod,
    FCHMOD => fs_names::sys_fchmod,
    FCHMODAT => fs_names::sys_fchmodat,
    CHOWN => fs_names::sys_chown,
    FCHOWN => fs_names::sys_fchown,
    LCHOWN => fs_names::sys_lchown,
    FCHOWNAT => fs_names::sys_fchownat,
    UTIMENSAT => fs_names::sys_utimensat,
    UTIMES => fs_names::sys_utimes,
    UTIME => fs_names::sys_utime,
    TRUNCATE => fs_names::sys_truncate,
    FTRUNCATE => fs_names::sys_ftruncate,
    FALLOCATE => fs_names::sys_fallocate,
    STATFS => fs_names::sys_statfs,
    FSTATFS => fs_names::sys_fstatfs,
    FSYNC => fs_names::sys_fsync,
    FDATASYNC => fs_names::sys_fdatasync,
    SYNCFS => fs_names::sys_syncfs,
    MOUNT => fs_names::sys_mount,
    UMOUNT2 => fs_names::sys_umount2,
    FLOCK => fs_names::sys_flock,
    // extended attributes (xattr.rs)
    SETXATTR => xattr::sys_setxattr,
    LSETXATTR => xattr::sys_lsetxattr,
    FSETXATTR => xattr::sys_fsetxattr,
    GETXATTR => xattr::sys_getxattr,
    LGETXATTR => xattr::sys_lgetxattr,
    FGETXATTR => xattr::sys_fgetxattr,
    LISTXATTR => xattr::sys_listxattr,
    LLISTXATTR => xattr::sys_llistxattr,
    FLISTXATTR => xattr::sys_flistxattr,
    REMOVEXATTR => xattr::sys_removexattr,
    LREMOVEXATTR => xattr::sys_lremovexattr,
    FREMOVEXATTR => xattr::sys_fremovexattr,
    SETXATTRAT => xattr::sys_setxattrat,
    GETXATTRAT => xattr::sys_getxattrat,
    LISTXATTRAT => xattr::sys_listxattrat,
    REMOVEXATTRAT => xattr::sys_removexattrat,
    // memory (mm.rs)
    MMAP => mm::sys_mmap,
    MPROTECT => mm::sys_mprotect,
    MUNMAP => mm::sys_munmap,
    BRK => mm::sys_brk,
    MREMAP => mm::sys_mremap,
    MADVISE => mm::sys_madvise,
    // processes (process.rs)
    GETPID => process::sys_getpid,
    GETTID => process::sys_gettid,
    GETPPID => process::sys_getppid,
    GETUID => process::sys_getuid,
    GETEUID => process::sys_geteuid,
    GETGID => process::sys_getgid,
    GETEGID => process::sys_getegid,
    EXIT => process::sys_exit,
    EXIT_GROUP => process::sys_exit_group,
    SET_TID_ADDRESS => process::sys_set_tid_address,
    SET_ROBUST_LIST => process::sys_set_robust_list,
    RSEQ => process::sys_rseq,
    ARCH_PRCTL => process::sys_arch_prctl,
    PRLIMIT64 => process::sys_prlimit64,
    GETRLIMIT => process::sys_getrlimit,
    SETRLIMIT => process::sys_setrlimit,
    SCHED_GETAFFINITY => process::sys_sched_getaffinity,
    SCHED_YIELD => process::sys_sched_yield,
    CLONE => process::sys_clone,
    CLONE3 => process::sys_clone3,
    FORK => crate::clone::sys_fork,
    VFORK => crate::clone::sys_vfork,
    WAIT4 => crate::wait::sys_wait4,
    WAITID => crate::wait::sys_waitid,
    FUTEX => crate::futex::sys_futex,
    SETPGID => ids::sys_setpgid,
    GETPGID => ids::sys_getpgid,
    GETPGRP => ids::sys_getpgrp,
    SETSID => ids::sys_setsid,
    GETSID => ids::sys_getsid,
    SETUID => ids::sys_setuid,
    SETGID => ids::sys_setgid,
    SETREUID => ids::sys_setreuid,
    SETREGID => ids::sys_setregid,
    SETRESUID => ids::sys_setresuid,
    SETRESGID => ids::sys_setresgid,
    GETRESUID => ids::sys_getresuid,
    GETRESGID => ids::sys_getresgid,
    SETFSUID => ids::sys_setfsuid,
    SETFSGID => ids::sys_setfsgid,
    GETGROUPS => ids::sys_getgroups,
    SETGROUPS => ids::sys_setgroups,
    TIMES => ids::sys_times,
    GETRUSAGE => ids::sys_getrusage,
    GETPRIORITY => ids::sys_getpriority,
    SETPRIORITY => ids::sys_setpriority,
    PRCTL => prctl::sys_prctl,
    EXECVE => process::sys_execve,
    // signals (signal.rs)
    RT_SIGACTION => signal::sys_rt_sigaction,
    RT_SIGPROCMASK => signal::sys_rt_sigprocmask,
    RT_SIGRETURN => signal::sys_rt_sigreturn,
    SIGALTSTACK => signal::sys_sigaltstack,
    KILL => signal::sys_kill,
    TKILL => signal::sys_tkill,
    TGKILL => signal::sys_tgkill,
    RT_SIGPENDING => signal::sys_rt_sigpending,
    RT_SIGSUSPEND => signal::sys_rt_sigsuspend,
    RT_SIGTIMEDWAIT => signal::sys_rt_sigtimedwait,
    RT_SIGQUEUEINFO => signal::sys_rt_sigqueueinfo,
    RT_TGSIGQUEUEINFO => signal::sys_rt_tgsigqueueinfo,
    PAUSE => signal::sys_pause,
    SIGNALFD => signal::sys_signalfd,
    SIGNALFD4 => signal::sys_signalfd4,
    RESTART_SYSCALL => signal::sys_restart_syscall,
    // time (time.rs)
    CLOCK_GETTIME => time::sys_clock_gettime,
    CLOCK_GETRES => time::sys_clock_getres,
    GETTIMEOFDAY => time::sys_gettimeofday,
    TIME => time::sys_time,
    NANOSLEEP => time::sys_nanosleep,
    CLOCK_NANOSLEEP => time::sys_clock_nanosleep,
    // timers (timers.rs): alarm, interval timers, POSIX timers, timerfd, eventfd
    ALARM => timers::sys_alarm,
    SETITIMER => timers::sys_setitimer,
    GETITIMER => timers::sys_getitimer,
    TIMER_CREATE => timers::sys_timer_create,
    TIMER_SETTIME => timers::sys_timer_settime,
    TIMER_GETTIME => timers::sys_timer_gettime,
    TIMER_GETOVERRUN => timers::sys_timer_getoverrun,
    TIMER_DELETE => timers::sys_timer_delete,
    TIMERFD_CREATE => timers::sys_timerfd_create,
    TIMERFD_SETTIME => timers::sys_timerfd_settime,
    TIMERFD_GETTIME => timers::sys_timerfd_gettime,
    EVENTFD => timers::sys_eventfd,
    EVENTFD2 => timers::sys_eventfd2,
    // (end of timers)
    // inotify (inotify.rs)
    INOTIFY_INIT => inotify::sys_inotify_init,
    INOTIFY_INIT1 => inotify::sys_inotify_init1,
    INOTIFY_ADD_WATCH => inotify::sys_inotify_add_watch,
    INOTIFY_RM_WATCH => inotify::sys_inotify_rm_watch,
    // System V IPC and POSIX message queues (ipc.rs)
    SHMGET => ipc::sys_shmget,
    SHMAT => ipc::sys_shmat,
    SHMDT => ipc::sys_shmdt,
    SHMCTL => ipc::sys_shmctl,
    SEMGET => ipc::sys_semget,
    SEMOP => ipc::sys_semop,
    SEMTIMEDOP => ipc::sys_semtimedop,
    SEMCTL => ipc::sys_semctl,
    MSGGET => ipc::sys_msgget,
    MSGSND => ipc::sys_msgsnd,
    MSGRCV => ipc::sys_msgrcv,
    MSGCTL => ipc::sys_msgctl,
    MQ_OPEN => ipc::sys_mq_open,
    MQ_UNLINK => ipc::sys_mq_unlink,
    MQ_TIMEDSEND => ipc::sys_mq_timedsend,
    MQ_TIMEDRECEIVE => ipc::sys_mq_timedreceive,
    MQ_NOTIFY => ipc::sys_mq_notify,
    MQ_GETSETATTR => ipc::sys_mq_getsetattr,
    // (end of IPC)
    // epoll (epoll.rs)
    EPOLL_CREATE => epoll::sys_epoll_create,
    EPOLL_CREATE1 => epoll::sys_epoll_create1,
    EPOLL_CTL => epoll::sys_epoll_ctl,
    EPOLL_WAIT => epoll::sys_epoll_wait,
    EPOLL_PWAIT => epoll::sys_epoll_pwait,
    EPOLL_PWAIT2 => epoll::sys_epoll_pwait2,
    // the long tail (tail.rs)
    SCHED_SETPARAM => tail::sys_sched_setparam,
    SCHED_RR_GET_INTERVAL => tail::sys_sched_rr_get_interval,
    SCHED_GETATTR => tail::sys_sched_getattr,
    SCHED_SETATTR => tail::sys_sched_setattr,
    EXECVEAT => tail::sys_execveat,
    CHROOT => tail::sys_chroot,
    PREADV2 => tail::sys_preadv2,
    PWRITEV2 => tail::sys_pwritev2,
    UNSHARE => tail::sys_unshare,
    MEMBARRIER => tail::sys_membarrier,
    SYNC_FILE_RANGE => tail::sys_sync_file_range,
    IOPRIO_SET => tail::sys_ioprio_set,
    IOPRIO_GET => tail::sys_ioprio_get,
    // sockets (net.rs)
    SOCKET => net::sys_socket,
    SOCKETPAIR => net::sys_socketpair,
    BIND => net::sys_bind,
    LISTEN => net::sys_listen,
    ACCEPT => net::sys_accept,
    ACCEPT4 => net::sys_accept4,
    CONNECT => net::sys_connect,
    GETSOCKNAME => net::sys_getsockname,
    GETPEERNAME => net::sys_getpeername,
    SHUTDOWN => net::sys_shutdown,
    SENDTO => net::sys_sendto,
    RECVFROM => net::sys_recvfrom,
    SENDMSG => net::sys_sendmsg,
    RECVMSG => net::sys_recvmsg,
    SENDMMSG => net::sys_sendmmsg,
    RECVMMSG => net::sys_recvmmsg,
    SETSOCKOPT => net::sys_setsockopt,
    GETSOCKOPT => net::sys_getsockopt,
    // everything else (misc.rs)
    UNAME => misc::sys_uname,
    GETRANDOM => misc::sys_getrandom,
    SYSINFO => misc::sys_sysinfo,
    REBOOT => misc::sys_reboot,
    SYNC => misc::sys_sync,
    SETHOSTNAME => misc::sys_sethostname,
    SETDOMAINNAME => misc::sys_setdomainname,
    SYSLOG => misc::sys_syslog,
    SENDFILE => io_more::sys_sendfile,
    SELECT => io_more::sys_select,
    PSELECT6 => io_more::sys_pselect6,
    PPOLL => io_more::sys_ppoll,
    CLOSE_RANGE => io_more::sys_close_range,
    FADVISE64 => io_more::sys_fadvise64,
    SCHED_GETSCHEDULER => misc::sys_sched_getscheduler,
    SCHED_SETSCHEDULER => misc::sys_sched_setscheduler,
    SCHED_GETPARAM => misc::sys_sched_getparam,
    SCHED_GET_PRIORITY_MAX => misc::sys_sched_get_priority_max,
    SCHED_GET_PRIORITY_MIN => misc::sys_sched_get_priority_min,
    SCHED_SETAFFINITY => misc::sys_sched_setaffinity,
    GETCPU => misc::sys_getcpu,
    PERSONALITY => misc::sys_personality,
    CAPGET => prctl::sys_capget,
    CAPSET => prctl::sys_capset,
    MLOCK => mlock::sys_mlock,
    MLOCK2 => mlock::sys_mlock2,
    MUNLOCK => mlock::sys_munlock,
    MLOCKALL => mlock::sys_mlockall,
    MUNLOCKALL => mlock::sys_munlockall,
    MSYNC => misc::sys_msync,
    // fd objects and zero-copy I/O (fdcalls.rs; mincore in mm.rs)
    MEMFD_CREATE => fdcalls::sys_memfd_create,
    PIDFD_OPEN => fdcalls::sys_pidfd_open,
    PIDFD_SEND_SIGNAL => fdcalls::sys_pidfd_send_signal,
    PIDFD_GETFD => fdcalls::sys_pidfd_getfd,
    SPLICE => fdcalls::sys_splice,
    TEE => fdcalls::sys_tee,
    VMSPLICE => fdcalls::sys_vmsplice,
    COPY_FILE_RANGE => fdcalls::sys_copy_file_range,
    MINCORE => mm::sys_mincore,
    // (end of fd objects and zero-copy I/O)
    // guest ptrace (crate::ptrace)
    PTRACE => crate::ptrace::sys_ptrace,
    PROCESS_VM_READV => crate::ptrace::vm::sys_process_vm_readv,
    PROCESS_VM_WRITEV => crate::ptrace::vm::sys_process_vm_writev,
}

/// Syscall numbers already reported as unimplemented (each is logged once).
static REPORTED: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());

/// Syscalls of kernel options umbra is built without, answered `ENOSYS` as such a Linux
/// answers them: the kernel keyrings (`CONFIG_KEYS`: `add_key` 248, `request_key` 249,
/// `keyctl` 250), which PAM's `pam_keyinit` probes at every login. Logged at `info`, not as
/// missing work.
const NOT_CONFIGURED: [u64; 3] = [248, 249, 250];

fn report_unimplemented(n: u64) {
    if let Ok(mut seen) = REPORTED.lock() {
        if seen.insert(n) {
            if NOT_CONFIGURED.contains(&n) {
                log::info!("syscall {} ({n}): not configured in this kernel, ENOSYS", crate::strace::name(n));
            } else {
                log::warn!("unimplemented syscall {} ({n}): returning ENOSYS", crate::strace::name(n));
            }
        }
    }
}

/// True if the syscall stop came from `int 0x80` (the i386 ABI): the two bytes before `rip`
/// are `cd 80` rather than `0f 05`. Read through mm's view of guest memory, no host call.
fn is_int80(cur: &mut Current) -> bool {
    let mut insn = [0u8; 2];
    let rip = cur.ctx.regs.rip;
    rip >= 2 && cur.read_bytes(uapi::UserAddr(rip - 2), &mut insn).is_ok() && insn == [0xcd, 0x80]
}

/// Handles one syscall stop: dispatch, `--strace`, and the return value in `rax`.
pub fn handle(cur: &mut Current) {
    let int80 = is_int80(cur);
    // A tracee resumed with PTRACE_SYSCALL/SYSEMU stops around the call (crate::ptrace).
    if !crate::ptrace::syscall_enter(cur) {
        run(cur, int80);
    }
    crate::ptrace::syscall_exit(cur);
}

/// Handles a call the guest made through the host's vsyscall page (`gettimeofday`, `time`,
/// `getcpu` at 0xffffffffff600000), which the stub's seccomp filter turned into SIGSYS.
pub fn handle_vsyscall(cur: &mut Current) {
    run(cur, false)
}

fn run(cur: &mut Current, int80: bool) {
    let n = cur.ctx.regs.orig_rax;
    let a = cur.ctx.regs.syscall_args();
    let result = if int80 {
        log::warn!("pid {}: 32-bit int 0x80 syscall {n} is not supported: ENOSYS", cur.pid());
        Err(Errno::ENOSYS)
    } else {
        match dispatch(cur, n, &a) {
            Some(r) => r,
            None => {
                report_unimplemented(n);
                Err(Errno::ENOSYS)
            }
        }
    };
    if crate::strace::enabled() {
        let args = format_args(cur, n, &a, Some(&result));
        crate::strace::print(cur.pid(), &crate::strace::name(n), &args, &crate::strace::format_result(n, &result));
    }
    if process::skips_return_value(n, &result) {
        return;
    }
    if let Err(e) = result {
        if matches!(e, Errno::ERESTARTSYS | Errno::ERESTARTNOINTR | Errno::ERESTARTNOHAND | Errno::ERESTART_RESTARTBLOCK) {
            cur.restart = Some((n, e));
        }
    }
    cur.ctx.regs.rax = match result {
        Ok(v) => v as u64,
        Err(e) => e.as_syscall_return(),
    };
}
