//! `#[repr(C)]` structures of the x86-64 Linux ABI that syscalls copy to and from the guest.
//!
//! Every structure is `Pod` with explicit padding fields (named `_pad*`), so it can be copied as
//! bytes with no uninitialised memory, and carries a compile-time size check against Linux's.

use bytemuck::{Pod, Zeroable};
use core::mem::size_of;

use crate::errno::{Errno, KResult};

// ---------------------------------------------------------------------------------------------
// Time

/// `struct timespec` (`include/uapi/linux/time_types.h`, `__kernel_timespec`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, 0..1e9.
    pub tv_nsec: i64,
}

/// Nanoseconds per second.
pub const NSEC_PER_SEC: i64 = 1_000_000_000;

impl Timespec {
    /// Builds a timespec from nanoseconds (negative values round towards -inf on seconds).
    pub const fn from_nanos(ns: i128) -> Timespec {
        let sec = ns.div_euclid(NSEC_PER_SEC as i128);
        let nsec = ns.rem_euclid(NSEC_PER_SEC as i128);
        Timespec { tv_sec: sec as i64, tv_nsec: nsec as i64 }
    }

    /// The value in nanoseconds.
    pub const fn as_nanos(&self) -> i128 {
        self.tv_sec as i128 * NSEC_PER_SEC as i128 + self.tv_nsec as i128
    }

    /// `EINVAL` unless `0 <= tv_nsec < 1e9` (and `tv_sec >= 0`), as `timespec64_valid` checks.
    pub fn validate(&self) -> KResult<()> {
        if self.tv_sec < 0 || !(0..NSEC_PER_SEC).contains(&self.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }
}

/// `struct timeval` (`include/uapi/linux/time.h`, 64-bit `__kernel_old_timeval`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds, 0..1e6.
    pub tv_usec: i64,
}

impl Timeval {
    /// `EINVAL` unless `0 <= tv_usec < 1e6` and `tv_sec >= 0`.
    pub fn validate(&self) -> KResult<()> {
        if self.tv_sec < 0 || !(0..1_000_000).contains(&self.tv_usec) {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// The value as a [`Timespec`].
    pub const fn to_timespec(&self) -> Timespec {
        Timespec { tv_sec: self.tv_sec, tv_nsec: self.tv_usec.wrapping_mul(1000) }
    }

    /// A [`Timespec`] truncated to microseconds.
    pub const fn from_timespec(ts: &Timespec) -> Timeval {
        Timeval { tv_sec: ts.tv_sec, tv_usec: ts.tv_nsec / 1000 }
    }
}

/// `struct timezone` (`include/uapi/linux/time.h`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Timezone {
    /// Minutes west of Greenwich.
    pub tz_minuteswest: i32,
    /// Type of DST correction.
    pub tz_dsttime: i32,
}

/// `struct itimerval` (`include/uapi/linux/time.h`) for `getitimer`/`setitimer`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Itimerval {
    /// Reload value.
    pub it_interval: Timeval,
    /// Time to the next expiry.
    pub it_value: Timeval,
}

/// `struct itimerspec` (`include/uapi/linux/time_types.h`) for `timer_settime`/`timerfd_settime`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Itimerspec {
    /// Reload value.
    pub it_interval: Timespec,
    /// Time to the next expiry.
    pub it_value: Timespec,
}

/// `struct utimbuf` (`include/uapi/linux/utime.h`) for `utime`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Utimbuf {
    /// Access time.
    pub actime: i64,
    /// Modification time.
    pub modtime: i64,
}

/// `struct tms` (`include/uapi/linux/times.h`) for `times`, in clock ticks.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Tms {
    /// User CPU time.
    pub tms_utime: i64,
    /// System CPU time.
    pub tms_stime: i64,
    /// User CPU time of waited-for children.
    pub tms_cutime: i64,
    /// System CPU time of waited-for children.
    pub tms_cstime: i64,
}

// ---------------------------------------------------------------------------------------------
// Files

/// x86-64 `struct stat` (`arch/x86/include/uapi/asm/stat.h`): 144 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Stat {
    /// Device of the containing filesystem (`new_encode_dev`).
    pub st_dev: u64,
    /// Inode number.
    pub st_ino: u64,
    /// Link count (note: before `st_mode` on x86-64).
    pub st_nlink: u64,
    /// File type and mode bits.
    pub st_mode: u32,
    /// Owner.
    pub st_uid: u32,
    /// Group.
    pub st_gid: u32,
    /// `__pad0`.
    pub _pad0: u32,
    /// Device number for device files.
    pub st_rdev: u64,
    /// Size in bytes.
    pub st_size: i64,
    /// Preferred I/O block size.
    pub st_blksize: i64,
    /// Allocated 512-byte blocks.
    pub st_blocks: i64,
    /// Access time, seconds.
    pub st_atime: i64,
    /// Access time, nanoseconds.
    pub st_atime_nsec: i64,
    /// Modification time, seconds.
    pub st_mtime: i64,
    /// Modification time, nanoseconds.
    pub st_mtime_nsec: i64,
    /// Status-change time, seconds.
    pub st_ctime: i64,
    /// Status-change time, nanoseconds.
    pub st_ctime_nsec: i64,
    /// `__unused[3]`.
    pub _unused: [i64; 3],
}

/// `struct statx_timestamp` (`include/uapi/linux/stat.h`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct StatxTimestamp {
    /// Seconds since the epoch.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: u32,
    /// `__reserved`.
    pub _reserved: i32,
}

/// `struct statx` (`include/uapi/linux/stat.h`, Linux 6.16 layout): 256 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Statx {
    /// What results were written (`STATX_*`).
    pub stx_mask: u32,
    /// Preferred I/O block size.
    pub stx_blksize: u32,
    /// Flags conveying information about the file (`STATX_ATTR_*`).
    pub stx_attributes: u64,
    /// Link count.
    pub stx_nlink: u32,
    /// Owner.
    pub stx_uid: u32,
    /// Group.
    pub stx_gid: u32,
    /// File type and mode.
    pub stx_mode: u16,
    /// `__spare0`.
    pub _spare0: u16,
    /// Inode number.
    pub stx_ino: u64,
    /// Size in bytes.
    pub stx_size: u64,
    /// Allocated 512-byte blocks.
    pub stx_blocks: u64,
    /// Which `stx_attributes` bits are supported.
    pub stx_attributes_mask: u64,
    /// Access time.
    pub stx_atime: StatxTimestamp,
    /// Birth time.
    pub stx_btime: StatxTimestamp,
    /// Status-change time.
    pub stx_ctime: StatxTimestamp,
    /// Modification time.
    pub stx_mtime: StatxTimestamp,
    /// Device number (major) for device files.
    pub stx_rdev_major: u32,
    /// Device number (minor) for device files.
    pub stx_rdev_minor: u32,
    /// Containing device (major).
    pub stx_dev_major: u32,
    /// Containing device (minor).
    pub stx_dev_minor: u32,
    /// Mount id.
    pub stx_mnt_id: u64,
    /// Memory alignment for direct I/O.
    pub stx_dio_mem_align: u32,
    /// File offset alignment for direct I/O.
    pub stx_dio_offset_align: u32,
    /// Subvolume id.
    pub stx_subvol: u64,
    /// Minimum atomic write unit.
    pub stx_atomic_write_unit_min: u32,
    /// Maximum atomic write unit.
    pub stx_atomic_write_unit_max: u32,
    /// Maximum atomic write segments.
    pub stx_atomic_write_segments_max: u32,
    /// File offset alignment for direct-I/O reads.
    pub stx_dio_read_offset_align: u32,
    /// Optimised maximum atomic write unit.
    pub stx_atomic_write_unit_max_opt: u32,
    /// `__spare2[1]`.
    pub _spare2: u32,
    /// `__spare3[8]`.
    pub _spare3: [u64; 8],
}

/// x86-64 `struct statfs` (`include/uapi/asm-generic/statfs.h`, `__statfs_word` = `long`):
/// 120 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct StatFs {
    /// Filesystem magic (`EXT2_SUPER_MAGIC`, `TMPFS_MAGIC`, …).
    pub f_type: i64,
    /// Optimal transfer block size.
    pub f_bsize: i64,
    /// Total data blocks.
    pub f_blocks: u64,
    /// Free blocks.
    pub f_bfree: u64,
    /// Free blocks available to unprivileged users.
    pub f_bavail: u64,
    /// Total inodes.
    pub f_files: u64,
    /// Free inodes.
    pub f_ffree: u64,
    /// Filesystem id (`__kernel_fsid_t`).
    pub f_fsid: [i32; 2],
    /// Maximum filename length.
    pub f_namelen: i64,
    /// Fragment size.
    pub f_frsize: i64,
    /// Mount flags (`ST_*`).
    pub f_flags: i64,
    /// Spare.
    pub f_spare: [i64; 4],
}

/// x86-64 `struct flock` (`include/uapi/asm-generic/fcntl.h`): 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Flock {
    /// `F_RDLCK`, `F_WRLCK` or `F_UNLCK`.
    pub l_type: i16,
    /// `SEEK_SET`, `SEEK_CUR` or `SEEK_END`.
    pub l_whence: i16,
    /// Padding before `l_start`.
    pub _pad0: i32,
    /// Start offset.
    pub l_start: i64,
    /// Length (0 = to end of file).
    pub l_len: i64,
    /// Owning process (`F_GETLK`).
    pub l_pid: i32,
    /// Tail padding.
    pub _pad1: i32,
}

/// `struct iovec` (`include/uapi/linux/uio.h`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct IoVec {
    /// Base address.
    pub iov_base: u64,
    /// Length in bytes.
    pub iov_len: u64,
}

/// `UIO_MAXIOV` (`IOV_MAX`): the most iovecs one `readv`/`writev` accepts.
pub const UIO_MAXIOV: usize = 1024;

/// `struct pollfd` (`include/uapi/asm-generic/poll.h`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct PollFd {
    /// File descriptor (negative: ignored).
    pub fd: i32,
    /// Requested events (`POLL*`).
    pub events: i16,
    /// Returned events.
    pub revents: i16,
}

/// `struct epoll_event` (`include/uapi/linux/eventpoll.h`): packed on x86-64, 12 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C, packed)]
pub struct EpollEvent {
    /// `EPOLL*` events.
    pub events: u32,
    /// User data.
    pub data: u64,
}

/// `struct signalfd_siginfo` (`include/uapi/linux/signalfd.h`): what a read of a signalfd
/// returns per signal, 128 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SignalfdSiginfo {
    /// Signal number.
    pub ssi_signo: u32,
    /// `si_errno`.
    pub ssi_errno: i32,
    /// `si_code`.
    pub ssi_code: i32,
    /// Sender's pid (kill, queued, `SIGCHLD`).
    pub ssi_pid: u32,
    /// Sender's real uid.
    pub ssi_uid: u32,
    /// The fd (`SIGIO`).
    pub ssi_fd: i32,
    /// The kernel timer id (POSIX timers).
    pub ssi_tid: u32,
    /// The band event (`SIGIO`).
    pub ssi_band: u32,
    /// The timer overrun count.
    pub ssi_overrun: u32,
    /// The trap number.
    pub ssi_trapno: u32,
    /// Exit status or signal (`SIGCHLD`).
    pub ssi_status: i32,
    /// The integer value sent (`sigqueue`, timers).
    pub ssi_int: i32,
    /// The pointer value sent.
    pub ssi_ptr: u64,
    /// User CPU time consumed (`SIGCHLD`).
    pub ssi_utime: u64,
    /// System CPU time consumed (`SIGCHLD`).
    pub ssi_stime: u64,
    /// The address that faulted.
    pub ssi_addr: u64,
    /// Least significant bit of the address (`BUS_MCEERR_*`).
    pub ssi_addr_lsb: u16,
    /// Padding.
    pub _pad2: u16,
    /// The system call (`SIGSYS`).
    pub ssi_syscall: i32,
    /// The system call's address (`SIGSYS`).
    pub ssi_call_addr: u64,
    /// The system call's architecture (`SIGSYS`).
    pub ssi_arch: u32,
    /// Padding to 128 bytes.
    pub _pad: [u8; 28],
}

/// The fixed header of `struct linux_dirent64` (`include/linux/dirent.h`) as `getdents64`
/// writes it: 19 bytes, followed by the NUL-terminated name and padding to 8 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C, packed)]
pub struct Dirent64 {
    /// Inode number.
    pub d_ino: u64,
    /// Offset to pass to `lseek` to continue after this entry.
    pub d_off: i64,
    /// Length of this record.
    pub d_reclen: u16,
    /// File type (`DT_*`).
    pub d_type: u8,
}

impl Dirent64 {
    /// Offset of `d_name` in the record.
    pub const NAME_OFFSET: usize = 19;

    /// The record length for a name of `name_len` bytes: header, name, NUL, rounded up to 8.
    pub const fn reclen(name_len: usize) -> usize {
        (Self::NAME_OFFSET + name_len + 1 + 7) & !7
    }

    /// Appends one record to `out` and returns its length. `name` must not contain NUL.
    pub fn encode(out: &mut Vec<u8>, ino: u64, off: i64, d_type: u8, name: &[u8]) -> usize {
        let reclen = Self::reclen(name.len());
        let hdr = Dirent64 { d_ino: ino, d_off: off, d_reclen: reclen as u16, d_type };
        let start = out.len();
        out.extend_from_slice(bytemuck::bytes_of(&hdr));
        out.extend_from_slice(name);
        out.resize(start + reclen, 0);
        reclen
    }
}

// ---------------------------------------------------------------------------------------------
// Processes and system

/// `struct new_utsname` (`include/uapi/linux/utsname.h`): six 65-byte strings, 390 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct UtsName {
    /// Operating system name (`"Linux"`).
    pub sysname: [u8; 65],
    /// Host name.
    pub nodename: [u8; 65],
    /// Release (`"6.1.0-umbra"`).
    pub release: [u8; 65],
    /// Version string.
    pub version: [u8; 65],
    /// Hardware (`"x86_64"`).
    pub machine: [u8; 65],
    /// NIS domain name.
    pub domainname: [u8; 65],
}

/// `__NEW_UTS_LEN + 1`: the size of each `UtsName` field.
pub const UTS_FIELD_LEN: usize = 65;

impl Default for UtsName {
    fn default() -> Self {
        UtsName::zeroed()
    }
}

impl UtsName {
    /// Copies `s` into a field, truncated to 64 bytes and NUL-terminated.
    pub fn field(s: &[u8]) -> [u8; 65] {
        let mut f = [0u8; 65];
        let n = s.len().min(64);
        f[..n].copy_from_slice(&s[..n]);
        f
    }

    /// The bytes of a field up to its first NUL.
    pub fn field_str(f: &[u8; 65]) -> &[u8] {
        let n = f.iter().position(|&b| b == 0).unwrap_or(f.len());
        &f[..n]
    }
}

/// `struct rlimit` (`include/uapi/linux/resource.h`; also `struct rlimit64` for `prlimit64`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct RLimit {
    /// Soft limit.
    pub rlim_cur: u64,
    /// Hard limit.
    pub rlim_max: u64,
}

/// `RLIM_INFINITY` (`include/uapi/asm-generic/resource.h`).
pub const RLIM_INFINITY: u64 = !0;

/// `struct rusage` (`include/uapi/linux/resource.h`): 144 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Rusage {
    /// User CPU time.
    pub ru_utime: Timeval,
    /// System CPU time.
    pub ru_stime: Timeval,
    /// Maximum resident set size (KiB).
    pub ru_maxrss: i64,
    /// Integral shared memory size.
    pub ru_ixrss: i64,
    /// Integral unshared data size.
    pub ru_idrss: i64,
    /// Integral unshared stack size.
    pub ru_isrss: i64,
    /// Minor page faults.
    pub ru_minflt: i64,
    /// Major page faults.
    pub ru_majflt: i64,
    /// Swaps.
    pub ru_nswap: i64,
    /// Block input operations.
    pub ru_inblock: i64,
    /// Block output operations.
    pub ru_oublock: i64,
    /// IPC messages sent.
    pub ru_msgsnd: i64,
    /// IPC messages received.
    pub ru_msgrcv: i64,
    /// Signals received.
    pub ru_nsignals: i64,
    /// Voluntary context switches.
    pub ru_nvcsw: i64,
    /// Involuntary context switches.
    pub ru_nivcsw: i64,
}

/// `RUSAGE_SELF` for `getrusage`.
pub const RUSAGE_SELF: i32 = 0;
/// `RUSAGE_CHILDREN` for `getrusage`.
pub const RUSAGE_CHILDREN: i32 = -1;
/// `RUSAGE_THREAD` for `getrusage`.
pub const RUSAGE_THREAD: i32 = 1;

/// x86-64 `struct sysinfo` (`include/uapi/linux/sysinfo.h`): 112 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SysInfo {
    /// Seconds since boot.
    pub uptime: i64,
    /// 1, 5 and 15 minute load averages (fixed point, `1 << SI_LOAD_SHIFT`).
    pub loads: [u64; 3],
    /// Total usable RAM (in `mem_unit`s).
    pub totalram: u64,
    /// Free RAM.
    pub freeram: u64,
    /// Shared RAM.
    pub sharedram: u64,
    /// Buffer RAM.
    pub bufferram: u64,
    /// Total swap.
    pub totalswap: u64,
    /// Free swap.
    pub freeswap: u64,
    /// Number of processes.
    pub procs: u16,
    /// `pad`.
    pub pad: u16,
    /// Implicit padding before `totalhigh`.
    pub _pad1: u32,
    /// Total high memory.
    pub totalhigh: u64,
    /// Free high memory.
    pub freehigh: u64,
    /// Memory unit size in bytes.
    pub mem_unit: u32,
    /// `_f` (zero-sized on 64-bit) and tail padding.
    pub _pad2: u32,
}

/// `SI_LOAD_SHIFT`: the fixed-point shift of `SysInfo::loads`.
pub const SI_LOAD_SHIFT: u32 = 16;

/// `struct clone_args` for `clone3` (`include/uapi/linux/sched.h`): 88 bytes (`VER2`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct CloneArgs {
    /// `CLONE_*` flags.
    pub flags: u64,
    /// Where to store the pidfd (`CLONE_PIDFD`).
    pub pidfd: u64,
    /// Where to store the child TID in the child (`CLONE_CHILD_SETTID`).
    pub child_tid: u64,
    /// Where to store the child TID in the parent (`CLONE_PARENT_SETTID`).
    pub parent_tid: u64,
    /// Signal sent to the parent on the child's exit.
    pub exit_signal: u64,
    /// Lowest address of the child's stack.
    pub stack: u64,
    /// Size of the child's stack.
    pub stack_size: u64,
    /// TLS (`CLONE_SETTLS`).
    pub tls: u64,
    /// Array of TIDs to use in each PID namespace.
    pub set_tid: u64,
    /// Length of `set_tid`.
    pub set_tid_size: u64,
    /// cgroup fd (`CLONE_INTO_CGROUP`).
    pub cgroup: u64,
}

/// `CLONE_ARGS_SIZE_VER0`: the smallest `clone_args` size `clone3` accepts.
pub const CLONE_ARGS_SIZE_VER0: usize = 64;
/// `CLONE_ARGS_SIZE_VER1` (adds `set_tid`).
pub const CLONE_ARGS_SIZE_VER1: usize = 80;
/// `CLONE_ARGS_SIZE_VER2` (adds `cgroup`).
pub const CLONE_ARGS_SIZE_VER2: usize = 88;

// ---------------------------------------------------------------------------------------------
// Terminals

/// `NCCS` of the kernel `struct termios` (`include/uapi/asm-generic/termbits.h`).
pub const NCCS: usize = 19;

/// The kernel `struct termios` used by `TCGETS`/`TCSETS*` (not glibc's larger one): 36 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Termios {
    /// Input modes.
    pub c_iflag: u32,
    /// Output modes.
    pub c_oflag: u32,
    /// Control modes.
    pub c_cflag: u32,
    /// Local modes.
    pub c_lflag: u32,
    /// Line discipline.
    pub c_line: u8,
    /// Control characters (`V*` indices).
    pub c_cc: [u8; NCCS],
}

/// `struct termios2` used by `TCGETS2`/`TCSETS2` (`include/uapi/asm-generic/termbits.h`):
/// 44 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Termios2 {
    /// Input modes.
    pub c_iflag: u32,
    /// Output modes.
    pub c_oflag: u32,
    /// Control modes.
    pub c_cflag: u32,
    /// Local modes.
    pub c_lflag: u32,
    /// Line discipline.
    pub c_line: u8,
    /// Control characters.
    pub c_cc: [u8; NCCS],
    /// Input speed.
    pub c_ispeed: u32,
    /// Output speed.
    pub c_ospeed: u32,
}

impl Termios2 {
    /// The `termios` part.
    pub fn termios(&self) -> Termios {
        Termios {
            c_iflag: self.c_iflag,
            c_oflag: self.c_oflag,
            c_cflag: self.c_cflag,
            c_lflag: self.c_lflag,
            c_line: self.c_line,
            c_cc: self.c_cc,
        }
    }

    /// A `termios2` from a `termios` and speeds.
    pub fn from_termios(t: &Termios, ispeed: u32, ospeed: u32) -> Termios2 {
        Termios2 {
            c_iflag: t.c_iflag,
            c_oflag: t.c_oflag,
            c_cflag: t.c_cflag,
            c_lflag: t.c_lflag,
            c_line: t.c_line,
            c_cc: t.c_cc,
            c_ispeed: ispeed,
            c_ospeed: ospeed,
        }
    }
}

/// `struct winsize` (`include/uapi/asm-generic/termios.h`) for `TIOCGWINSZ`/`TIOCSWINSZ`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct WinSize {
    /// Rows.
    pub ws_row: u16,
    /// Columns.
    pub ws_col: u16,
    /// Width in pixels (unused).
    pub ws_xpixel: u16,
    /// Height in pixels (unused).
    pub ws_ypixel: u16,
}

// ---------------------------------------------------------------------------------------------
// Size checks

const _: () = assert!(size_of::<Timespec>() == 16);
const _: () = assert!(size_of::<Timeval>() == 16);
const _: () = assert!(size_of::<Timezone>() == 8);
const _: () = assert!(size_of::<Itimerval>() == 32);
const _: () = assert!(size_of::<Itimerspec>() == 32);
const _: () = assert!(size_of::<Utimbuf>() == 16);
const _: () = assert!(size_of::<Tms>() == 32);
const _: () = assert!(size_of::<Stat>() == 144);
const _: () = assert!(size_of::<StatxTimestamp>() == 16);
const _: () = assert!(size_of::<Statx>() == 256);
const _: () = assert!(size_of::<StatFs>() == 120);
const _: () = assert!(size_of::<Flock>() == 32);
const _: () = assert!(size_of::<IoVec>() == 16);
const _: () = assert!(size_of::<PollFd>() == 8);
const _: () = assert!(size_of::<EpollEvent>() == 12);
const _: () = assert!(size_of::<SignalfdSiginfo>() == 128);
const _: () = assert!(size_of::<Dirent64>() == Dirent64::NAME_OFFSET);
const _: () = assert!(size_of::<UtsName>() == 390);
const _: () = assert!(size_of::<RLimit>() == 16);
const _: () = assert!(size_of::<Rusage>() == 144);
const _: () = assert!(size_of::<SysInfo>() == 112);
const _: () = assert!(size_of::<CloneArgs>() == CLONE_ARGS_SIZE_VER2);
const _: () = assert!(size_of::<Termios>() == 36);
const _: () = assert!(size_of::<Termios2>() == 44);
const _: () = assert!(size_of::<WinSize>() == 8);

/// Test helpers shared by the uapi layout tests.
#[cfg(test)]
pub(crate) mod test_support {
    use std::process::Command;

    /// Compiles and runs a C program with the host's `gcc`, returning its stdout; `None` if
    /// there is no working compiler (the test then only checks the hard-coded values).
    pub(crate) fn run_c(src: &str) -> Option<String> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("uapi-ctest-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let c = dir.join("t.c");
        let exe = dir.join("t");
        std::fs::write(&c, src).ok()?;
        let cc = Command::new("gcc").arg("-o").arg(&exe).arg(&c).output().ok()?;
        if !cc.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            panic!("gcc failed on the layout probe:\n{}", String::from_utf8_lossy(&cc.stderr));
        }
        let out = Command::new(&exe).output().ok()?;
        let _ = std::fs::remove_dir_all(&dir);
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn offsets_hardcoded() {
        assert_eq!(offset_of!(Stat, st_nlink), 16);
        assert_eq!(offset_of!(Stat, st_mode), 24);
        assert_eq!(offset_of!(Stat, st_rdev), 40);
        assert_eq!(offset_of!(Stat, st_size), 48);
        assert_eq!(offset_of!(Stat, st_atime), 72);
        assert_eq!(offset_of!(Stat, st_mtime), 88);
        assert_eq!(offset_of!(Stat, st_ctime), 104);
        assert_eq!(offset_of!(Statx, stx_mode), 0x1c);
        assert_eq!(offset_of!(Statx, stx_ino), 0x20);
        assert_eq!(offset_of!(Statx, stx_atime), 0x40);
        assert_eq!(offset_of!(Statx, stx_rdev_major), 0x80);
        assert_eq!(offset_of!(Statx, stx_mnt_id), 0x90);
        assert_eq!(offset_of!(Statx, stx_subvol), 0xa0);
        assert_eq!(offset_of!(Statx, _spare3), 0xc0);
        assert_eq!(offset_of!(StatFs, f_fsid), 56);
        assert_eq!(offset_of!(StatFs, f_namelen), 64);
        assert_eq!(offset_of!(Flock, l_start), 8);
        assert_eq!(offset_of!(Flock, l_pid), 24);
        assert_eq!(offset_of!(SysInfo, procs), 80);
        assert_eq!(offset_of!(SysInfo, totalhigh), 88);
        assert_eq!(offset_of!(SysInfo, mem_unit), 104);
        assert_eq!(offset_of!(Termios, c_line), 16);
        assert_eq!(offset_of!(Termios, c_cc), 17);
        assert_eq!(offset_of!(Termios2, c_ispeed), 36);
        assert_eq!(offset_of!(Rusage, ru_maxrss), 32);
        assert_eq!(offset_of!(Rusage, ru_nivcsw), 136);
        assert_eq!(offset_of!(UtsName, machine), 260);
    }

    #[test]
    fn dirent_encoding() {
        let mut v = Vec::new();
        assert_eq!(Dirent64::encode(&mut v, 7, 1, 4, b"."), 24);
        assert_eq!(Dirent64::encode(&mut v, 8, 2, 8, b"hello"), 32);
        assert_eq!(v.len(), 56);
        assert_eq!(&v[0..8], &7u64.to_le_bytes());
        assert_eq!(&v[16..18], &24u16.to_le_bytes());
        assert_eq!(v[18], 4);
        assert_eq!(&v[19..21], b".\0");
        assert_eq!(&v[24 + 19..24 + 25], b"hello\0");
        assert_eq!(Dirent64::reclen(4), 24);
        assert_eq!(Dirent64::reclen(5), 32);
    }

    #[test]
    fn timespec_helpers() {
        let t = Timespec::from_nanos(-1);
        assert_eq!((t.tv_sec, t.tv_nsec), (-1, 999_999_999));
        assert_eq!(t.as_nanos(), -1);
        assert!(Timespec { tv_sec: 1, tv_nsec: NSEC_PER_SEC }.validate().is_err());
        assert!(Timespec { tv_sec: 1, tv_nsec: 5 }.validate().is_ok());
        assert_eq!(UtsName::field_str(&UtsName::field(b"Linux")), b"Linux");
        assert_eq!(UtsName::field_str(&UtsName::field(&[b'x'; 100])).len(), 64);
    }

    /// Compares sizes and offsets with the host's C headers (kernel structs from `asm/`, `linux/`
    /// headers where glibc's differ), if `gcc` is installed.
    #[test]
    fn layouts_match_c() {
        let prog = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <asm/stat.h>
#include <asm/statfs.h>
#include <asm/termios.h>
#include <linux/stat.h>
#include <linux/time_types.h>
#include <linux/sysinfo.h>
#include <linux/resource.h>
#include <linux/utsname.h>
#include <linux/uio.h>
#include <linux/times.h>
#include <linux/utime.h>
#include <asm-generic/poll.h>
#include <linux/signalfd.h>
#define P(e) printf("%s=%zu\n", #e, (size_t)(e))
int main(void) {
    P(sizeof(struct stat)); P(offsetof(struct stat, st_mode)); P(offsetof(struct stat, st_rdev));
    P(offsetof(struct stat, st_atime)); P(offsetof(struct stat, st_ctime_nsec));
    P(sizeof(struct statx)); P(offsetof(struct statx, stx_atime)); P(offsetof(struct statx, stx_mnt_id));
    P(offsetof(struct statx, stx_rdev_major)); P(offsetof(struct statx, stx_dio_offset_align));
    P(sizeof(struct statfs)); P(offsetof(struct statfs, f_fsid)); P(offsetof(struct statfs, f_spare));
    P(sizeof(struct termios)); P(offsetof(struct termios, c_cc)); P(sizeof(struct termios2));
    P(offsetof(struct termios2, c_ispeed)); P(sizeof(struct winsize));
    P(sizeof(struct __kernel_timespec)); P(sizeof(struct sysinfo)); P(offsetof(struct sysinfo, totalhigh));
    P(offsetof(struct sysinfo, mem_unit)); P(sizeof(struct rusage)); P(offsetof(struct rusage, ru_nivcsw));
    P(sizeof(struct rlimit)); P(sizeof(struct new_utsname)); P(sizeof(struct iovec));
    P(sizeof(struct tms)); P(sizeof(struct utimbuf)); P(sizeof(struct pollfd));
    P(sizeof(struct __kernel_itimerspec));
    P(sizeof(struct signalfd_siginfo)); P(offsetof(struct signalfd_siginfo, ssi_ptr));
    P(offsetof(struct signalfd_siginfo, ssi_addr_lsb)); P(offsetof(struct signalfd_siginfo, ssi_syscall));
    P(offsetof(struct signalfd_siginfo, ssi_call_addr)); P(offsetof(struct signalfd_siginfo, ssi_arch));
    return 0;
}
"#;
        let Some(out) = test_support::run_c(prog) else { return };
        let expect = [
            ("sizeof(struct stat)", size_of::<Stat>()),
            ("offsetof(struct stat, st_mode)", offset_of!(Stat, st_mode)),
            ("offsetof(struct stat, st_rdev)", offset_of!(Stat, st_rdev)),
            ("offsetof(struct stat, st_atime)", offset_of!(Stat, st_atime)),
            ("offsetof(struct stat, st_ctime_nsec)", offset_of!(Stat, st_ctime_nsec)),
            ("sizeof(struct statx)", size_of::<Statx>()),
            ("offsetof(struct statx, stx_atime)", offset_of!(Statx, stx_atime)),
            ("offsetof(struct statx, stx_mnt_id)", offset_of!(Statx, stx_mnt_id)),
            ("offsetof(struct statx, stx_rdev_major)", offset_of!(Statx, stx_rdev_major)),
            ("offsetof(struct statx, stx_dio_offset_align)", offset_of!(Statx, stx_dio_offset_align)),
            ("sizeof(struct statfs)", size_of::<StatFs>()),
            ("offsetof(struct statfs, f_fsid)", offset_of!(StatFs, f_fsid)),
            ("offsetof(struct statfs, f_spare)", offset_of!(StatFs, f_spare)),
            ("sizeof(struct termios)", size_of::<Termios>()),
            ("offsetof(struct termios, c_cc)", offset_of!(Termios, c_cc)),
            ("sizeof(struct termios2)", size_of::<Termios2>()),
            ("offsetof(struct termios2, c_ispeed)", offset_of!(Termios2, c_ispeed)),
            ("sizeof(struct winsize)", size_of::<WinSize>()),
            ("sizeof(struct __kernel_timespec)", size_of::<Timespec>()),
            ("sizeof(struct sysinfo)", size_of::<SysInfo>()),
            ("offsetof(struct sysinfo, totalhigh)", offset_of!(SysInfo, totalhigh)),
            ("offsetof(struct sysinfo, mem_unit)", offset_of!(SysInfo, mem_unit)),
            ("sizeof(struct rusage)", size_of::<Rusage>()),
            ("offsetof(struct rusage, ru_nivcsw)", offset_of!(Rusage, ru_nivcsw)),
            ("sizeof(struct rlimit)", size_of::<RLimit>()),
            ("sizeof(struct new_utsname)", size_of::<UtsName>()),
            ("sizeof(struct iovec)", size_of::<IoVec>()),
            ("sizeof(struct tms)", size_of::<Tms>()),
            ("sizeof(struct utimbuf)", size_of::<Utimbuf>()),
            ("sizeof(struct pollfd)", size_of::<PollFd>()),
            ("sizeof(struct __kernel_itimerspec)", size_of::<Itimerspec>()),
            ("sizeof(struct signalfd_siginfo)", size_of::<SignalfdSiginfo>()),
            ("offsetof(struct signalfd_siginfo, ssi_ptr)", offset_of!(SignalfdSiginfo, ssi_ptr)),
            ("offsetof(struct signalfd_siginfo, ssi_addr_lsb)", offset_of!(SignalfdSiginfo, ssi_addr_lsb)),
            ("offsetof(struct signalfd_siginfo, ssi_syscall)", offset_of!(SignalfdSiginfo, ssi_syscall)),
            ("offsetof(struct signalfd_siginfo, ssi_call_addr)", offset_of!(SignalfdSiginfo, ssi_call_addr)),
            ("offsetof(struct signalfd_siginfo, ssi_arch)", offset_of!(SignalfdSiginfo, ssi_arch)),
        ];
        for (name, want) in expect {
            let line = out
                .lines()
                .find(|l| l.split('=').next() == Some(name))
                .unwrap_or_else(|| panic!("{name} missing from C output:\n{out}"));
            let got: usize = line.rsplit('=').next().and_then(|v| v.parse().ok()).unwrap_or(0);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn flock_matches_c() {
        let prog = r#"
#include <stdio.h>
#include <stddef.h>
#include <fcntl.h>
int main(void) {
    printf("%zu %zu %zu %zu %zu\n", sizeof(struct flock), offsetof(struct flock, l_whence),
        offsetof(struct flock, l_start), offsetof(struct flock, l_len), offsetof(struct flock, l_pid));
    return 0;
}
"#;
        let Some(out) = test_support::run_c(prog) else { return };
        assert_eq!(out.trim(), "32 2 8 16 24");
    }
}
