//! The procfs provider: the numbers and strings only the kernel knows (processes, memory,
//! CPU time), which `kernel` supplies by implementing [`ProcProvider`]. fs formats them into
//! Linux's text. Every method has a default so the kernel can fill them in one by one; a
//! `()` provider serves a system with one process (pid 1) and zeroed counters.

use uapi::{Errno, KResult};

/// `/proc/meminfo` numbers, in KiB.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemInfo {
    /// Usable RAM.
    pub total_kb: u64,
    /// Free RAM.
    pub free_kb: u64,
    /// RAM available for new work without swapping.
    pub available_kb: u64,
    /// Block-device buffers.
    pub buffers_kb: u64,
    /// Page cache.
    pub cached_kb: u64,
    /// Shared memory (tmpfs, shm).
    pub shmem_kb: u64,
    /// Anonymous pages in use.
    pub anon_kb: u64,
    /// File pages mapped into processes.
    pub mapped_kb: u64,
    /// Swap size (0: umbra has no swap).
    pub swap_total_kb: u64,
    /// Free swap.
    pub swap_free_kb: u64,
}

/// `/proc/uptime`: seconds since boot and idle seconds, in hundredths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Uptime {
    /// Time since boot, 1/100 s.
    pub up_centis: u64,
    /// Total idle time of all CPUs, 1/100 s.
    pub idle_centis: u64,
}

/// `/proc/loadavg` numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadAvg {
    /// 1, 5 and 15 minute load averages in hundredths.
    pub load_centis: [u64; 3],
    /// Runnable tasks.
    pub running: u32,
    /// All tasks.
    pub total: u32,
    /// Most recently allocated pid.
    pub last_pid: u32,
}

/// `/proc/cpuinfo` description of the (identical) CPUs.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuInfo {
    /// Number of virtual CPUs.
    pub count: u32,
    /// `vendor_id`.
    pub vendor: String,
    /// `model name`.
    pub model_name: String,
    /// `cpu family`, `model`, `stepping`.
    pub family_model_stepping: (u32, u32, u32),
    /// `cpu MHz`.
    pub mhz: f64,
    /// `cache size` in KiB.
    pub cache_kb: u32,
    /// `flags` (space-separated names).
    pub flags: String,
}

impl Default for CpuInfo {
    fn default() -> Self {
        CpuInfo {
            count: 1,
            vendor: "GenuineIntel".into(),
            model_name: "Umbra virtual CPU".into(),
            family_model_stepping: (6, 0, 0),
            mhz: 2000.0,
            cache_kb: 0,
            flags: "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx lm".into(),
        }
    }
}

/// CPU time split as the `cpu` lines of `/proc/stat`, in clock ticks (USER_HZ = 100).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// User mode.
    pub user: u64,
    /// User mode at low priority.
    pub nice: u64,
    /// Kernel mode.
    pub system: u64,
    /// Idle.
    pub idle: u64,
    /// Waiting for I/O.
    pub iowait: u64,
    /// Hard interrupts.
    pub irq: u64,
    /// Soft interrupts.
    pub softirq: u64,
}

/// `/proc/stat` numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelStat {
    /// Per-CPU times (the `cpu` line is their sum).
    pub cpus: Vec<CpuTimes>,
    /// Context switches since boot.
    pub ctxt: u64,
    /// Boot time, seconds since the epoch.
    pub btime: u64,
    /// Forks since boot.
    pub processes: u64,
    /// Runnable tasks.
    pub running: u32,
    /// Tasks blocked on I/O.
    pub blocked: u32,
}

/// `uname` strings for `/proc/version` and `/proc/sys/kernel/*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uname {
    /// `sysname` ("Linux").
    pub sysname: String,
    /// `release` ("6.1.0-umbra").
    pub release: String,
    /// `version` ("#1 SMP ...").
    pub version: String,
    /// `nodename`.
    pub nodename: String,
}

impl Default for Uname {
    fn default() -> Self {
        Uname { sysname: "Linux".into(), release: "6.1.0-umbra".into(), version: "#1 SMP PREEMPT_DYNAMIC".into(), nodename: "umbra".into() }
    }
}

/// What `/proc/<pid>/{stat,status,statm}` report about one process (thread group leader).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Thread group id.
    pub pid: u32,
    /// Command name (up to 15 bytes).
    pub comm: String,
    /// State letter: `R`, `S`, `D`, `T`, `t`, `Z`, `X`.
    pub state: char,
    /// Parent pid.
    pub ppid: u32,
    /// The tracer's pid (`TracerPid`), 0 if not traced.
    pub tracer_pid: u32,
    /// Process group.
    pub pgrp: u32,
    /// Session.
    pub session: u32,
    /// Controlling tty device number (encoded), 0 if none.
    pub tty_nr: u32,
    /// Foreground process group of the tty, -1 if none.
    pub tpgid: i32,
    /// Real, effective, saved and filesystem uid.
    pub uids: [u32; 4],
    /// Real, effective, saved and filesystem gid.
    pub gids: [u32; 4],
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Capability sets: inheritable, permitted, effective, bounding, ambient.
    pub caps: [u64; 5],
    /// `PR_SET_NO_NEW_PRIVS` is set.
    pub no_new_privs: bool,
    /// Audit login uid (`u32::MAX` unset).
    pub loginuid: u32,
    /// Audit session id (`u32::MAX` unset).
    pub sessionid: u32,
    /// `/proc/<pid>/oom_score_adj` (-1000..=1000).
    pub oom_score_adj: i32,
    /// `/proc/<pid>/oom_score`: the OOM killer's badness scaled to 0..=2000.
    pub oom_score: u64,
    /// File mode creation mask.
    pub umask: u32,
    /// Threads in the group.
    pub threads: u32,
    /// Minor and major faults.
    pub faults: (u64, u64),
    /// User and system time, clock ticks.
    pub utime: u64,
    /// System time, clock ticks.
    pub stime: u64,
    /// Waited-for children's user and system time, clock ticks.
    pub child_times: (u64, u64),
    /// Kernel priority and nice value.
    pub priority: i64,
    /// Nice value.
    pub nice: i64,
    /// Start time after boot, clock ticks.
    pub start_time: u64,
    /// Virtual memory size, bytes.
    pub vsize: u64,
    /// Resident pages.
    pub rss_pages: u64,
    /// Peak virtual size, KiB.
    pub vm_peak_kb: u64,
    /// Peak resident size, KiB.
    pub vm_hwm_kb: u64,
    /// Data + stack, KiB.
    pub vm_data_kb: u64,
    /// Stack, KiB.
    pub vm_stack_kb: u64,
    /// Text, KiB.
    pub vm_exe_kb: u64,
    /// Shared libraries, KiB.
    pub vm_lib_kb: u64,
    /// Pending (thread), pending (shared), blocked, ignored, caught signal masks.
    pub signals: [u64; 5],
    /// Slots in the fd table.
    pub fd_size: u32,
    /// `start_code end_code start_stack start_data end_data start_brk arg_start arg_end
    /// env_start env_end`.
    pub layout: [u64; 10],
    /// Signal sent to the parent on exit.
    pub exit_signal: i32,
    /// Exit code (zombies).
    pub exit_code: i32,
}

/// A per-process byte file whose content the kernel produces as is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidBytes {
    /// `/proc/<pid>/cmdline`: NUL-separated arguments.
    Cmdline,
    /// `/proc/<pid>/environ`: NUL-separated environment.
    Environ,
    /// `/proc/<pid>/maps`: the mapping list in Linux's format.
    Maps,
    /// `/proc/<pid>/limits`: the resource limits as Linux's `proc_pid_limits` prints them.
    Limits,
}

/// A per-process symlink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidLink {
    /// `exe`: the executable's path.
    Exe,
    /// `cwd`: the current directory.
    Cwd,
    /// `root`: the root directory.
    Root,
}

/// What procfs asks the kernel. The caller of a procfs operation is "the current task".
pub trait ProcProvider: Send + Sync {
    /// The calling task's thread group id (`/proc/self`).
    fn current_pid(&self) -> u32 {
        1
    }
    /// The calling thread's id (`/proc/thread-self` → `<pid>/task/<tid>`).
    fn current_tid(&self) -> u32 {
        self.current_pid()
    }
    /// Every live thread group id, ascending.
    fn pids(&self) -> Vec<u32> {
        vec![1]
    }
    /// Information about process `pid`, `None` if it does not exist.
    fn process(&self, pid: u32) -> Option<ProcessInfo> {
        (pid == 1).then(|| ProcessInfo { pid: 1, comm: "init".into(), state: 'S', threads: 1, tpgid: -1, ..ProcessInfo::default() })
    }
    /// A per-process byte file.
    fn pid_bytes(&self, _pid: u32, _what: PidBytes) -> KResult<Vec<u8>> {
        Ok(Vec::new())
    }
    /// A per-process symlink target.
    fn pid_link(&self, _pid: u32, what: PidLink) -> KResult<Vec<u8>> {
        match what {
            PidLink::Exe => Err(Errno::ENOENT),
            PidLink::Cwd | PidLink::Root => Ok(b"/".to_vec()),
        }
    }
    /// The live threads of process `pid` (`/proc/<pid>/task`), ascending.
    fn pid_threads(&self, pid: u32) -> KResult<Vec<u32>> {
        Ok(vec![pid])
    }
    /// The open descriptors of `pid`, ascending.
    fn pid_fds(&self, _pid: u32) -> KResult<Vec<u32>> {
        Ok(Vec::new())
    }
    /// What descriptor `fd` of `pid` refers to (a path, `pipe:[ino]`, `/dev/tty`...).
    fn pid_fd_link(&self, _pid: u32, _fd: u32) -> KResult<Vec<u8>> {
        Err(Errno::ENOENT)
    }
    /// Where following `/proc/<pid>/fd/<fd>` leads (Linux's magic link): the open file's
    /// location, `Some(Err)` if the caller may not look (or the fd is gone), `None` to
    /// resolve the link's text instead (files without a location).
    fn pid_fd_path(&self, _pid: u32, _fd: u32) -> Option<KResult<crate::mount::Path>> {
        None
    }
    /// `/proc/<pid>/mem` being opened: a file that reads and writes the process's memory at
    /// the file offset (`EACCES` if the caller may not).
    fn pid_mem(&self, _pid: u32) -> KResult<std::sync::Arc<dyn crate::FileLike>> {
        Err(Errno::EACCES)
    }
    /// `/proc/meminfo` numbers.
    fn meminfo(&self) -> MemInfo {
        MemInfo::default()
    }
    /// `/proc/uptime` numbers.
    fn uptime(&self) -> Uptime {
        Uptime::default()
    }
    /// `/proc/loadavg` numbers.
    fn loadavg(&self) -> LoadAvg {
        LoadAvg { running: 1, total: 1, last_pid: 1, ..LoadAvg::default() }
    }
    /// `/proc/cpuinfo` description.
    fn cpuinfo(&self) -> CpuInfo {
        CpuInfo::default()
    }
    /// `/proc/stat` numbers.
    fn stat(&self) -> KernelStat {
        KernelStat { cpus: vec![CpuTimes::default()], ..KernelStat::default() }
    }
    /// `uname` strings.
    fn uname(&self) -> Uname {
        Uname::default()
    }
    /// The kernel command line (`/proc/cmdline`, without the newline).
    fn cmdline(&self) -> String {
        String::new()
    }
    /// The value of `/proc/sys/<path>` (without the newline) for the entries the kernel
    /// answers (`sysctl::Source::Kernel`); the default gives Linux's defaults for tunables.
    fn sysctl(&self, path: &str) -> Option<String> {
        default_sysctl(path).map(str::to_string)
    }
    /// Writes `/proc/<pid>/loginuid` (audit's `audit_set_loginuid`); `EPERM` by default.
    fn set_loginuid(&self, _pid: u32, _uid: u32) -> KResult<()> {
        Err(Errno::EPERM)
    }
    /// Writes `/proc/<pid>/oom_score_adj` (Linux's `__set_oom_adj`); `EPERM` by default.
    fn set_oom_score_adj(&self, _pid: u32, _adj: i32) -> KResult<()> {
        Err(Errno::EPERM)
    }
    /// Sets `/proc/sys/<path>` (root only, by the file's mode); `EINVAL` for a value the entry
    /// does not take.
    fn set_sysctl(&self, _path: &str, _value: &[u8]) -> KResult<()> {
        Err(Errno::EINVAL)
    }
    /// `/proc/net/unix`: the header and one line per unix socket.
    fn net_unix(&self) -> String {
        String::from("Num       RefCount Protocol Flags    Type St Inode Path\n")
    }
    /// `/proc/net/<name>` for the internet files (`tcp`, `tcp6`, `udp`, `udp6`, `dev`, `route`,
    /// `if_inet6`, `snmp`, `sockstat`).
    fn net_inet(&self, _name: &str) -> String {
        String::new()
    }
    /// The text of `/proc/sysvipc/<name>` (`shm`, `sem`, `msg`): the System V IPC objects.
    fn sysvipc(&self, _name: &str) -> String {
        String::new()
    }
    /// The network interfaces, for `/sys/class/net` (the kernel's interface table).
    fn net_interfaces(&self) -> Vec<crate::sysfs::NetIf> {
        vec![crate::sysfs::NetIf::loopback()]
    }
}

/// Linux's default values of the `/proc/sys` tunables (a 2-CPU machine with a few GiB).
pub fn default_sysctl(path: &str) -> Option<&'static str> {
    Some(match path {
        "fs/file-max" => "9223372036854775807",
        "fs/inotify/max_queued_events" => "16384",
        "fs/inotify/max_user_instances" => "128",
        "fs/inotify/max_user_watches" => "8192",
        "fs/nr_open" => "1048576",
        "fs/pipe-max-size" => "1048576",
        "fs/protected_hardlinks" => "1",
        "fs/protected_symlinks" => "1",
        "kernel/domainname" => "(none)",
        "kernel/hostname" => "umbra",
        "kernel/ngroups_max" => "65536",
        "kernel/overflowgid" | "kernel/overflowuid" => "65534",
        "kernel/pid_max" => "4194304",
        "kernel/printk" => "4\t4\t1\t7",
        "kernel/threads-max" => "1000",
        "net/core/somaxconn" => "4096",
        "net/ipv4/ip_local_port_range" => "32768\t60999",
        "net/ipv4/ping_group_range" => "0\t2147483647",
        "vm/max_map_count" => "65530",
        "vm/overcommit_memory" => "0",
        "vm/overcommit_ratio" => "50",
        "vm/swappiness" => "60",
        _ => return None,
    })
}

/// The provider used before the kernel installs one: one process, zeroed counters.
impl ProcProvider for () {}
