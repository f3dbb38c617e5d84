//! Tasks and processes, with Linux's identities.
//!
//! A `Task` is a thread (Linux's `task_struct` seen as a thread): its tid, signal mask and
//! pending signals, and which memory it runs in. A `Process` is a thread group (Linux's
//! `signal_struct` + the shared parts of `task_struct`): pid, parent, credentials, open files,
//! filesystem context, signal dispositions and exit status. Every guest thread of a process
//! whose threads share an address space runs on the same stub (DESIGN.md).

pub mod kernel;
pub mod prctl;
pub mod ptrace;
pub mod sigstate;

pub use kernel::{kernel, Kernel, Shutdown};
pub use sigstate::{SigHandlers, SignalState};
use arch_um::AddressSpace;
use fs::klock::KMutex;
use fs::{Credentials, FdTable, FsContext, Path};
use mm::MemorySpace;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, Weak};

/// A memory context: mm's page tables and VMAs (the truth) plus the stub that caches them as
/// host mappings. Shared by threads (`CLONE_VM`) through `Arc`. Two locks: the page tables
/// (taken by mmap, faults, uaccess) and the stub (taken to sync it and run guest code on it).
/// The task loop syncs under both, then runs the guest holding only the stub's: the memory
/// map stays free while guest code runs.
pub struct Mm {
    /// VMAs, page table, brk.
    pub space: KMutex<MemorySpace>,
    /// The stub process.
    pub host: KMutex<AddressSpace>,
}

/// Vectored file I/O reaches a task's memory through this: the space is locked per copy.
impl mm::SpaceLock for Mm {
    fn lock_space(&self) -> impl std::ops::DerefMut<Target = mm::MemorySpace> + '_ {
        self.space.lock()
    }
}

impl Mm {
    /// A memory context with a fresh, empty stub traced by the vCPU `host` (for pid 1 and
    /// `execve`).
    pub fn new_empty(host: &arch_um::Context) -> std::io::Result<Mm> {
        let k = kernel::kernel();
        let host = host.new_address_space(&k.platform)?;
        let mut space = MemorySpace::new(k.frames.clone());
        space.set_stack_limit(8 << 20);
        Ok(Mm::new(space, host))
    }

    /// Wraps a memory space and its stub.
    pub fn new(space: MemorySpace, host: AddressSpace) -> Mm {
        Mm { space: KMutex::new(space), host: KMutex::new(host) }
    }
}

/// How a process ended, as `wait` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by a signal; `core` if the default action dumps core.
    Killed {
        /// Signal number.
        signo: i32,
        /// Whether the default action was "core".
        core: bool,
    },
}

impl ExitStatus {
    /// The `wait` status word (`WIFEXITED`/`WIFSIGNALED` encoding).
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => (code & 0xff) << 8,
            ExitStatus::Killed { signo, core } => (signo & 0x7f) | if core { 0x80 } else { 0 },
        }
    }
}

/// A thread group: what `getpid` names.
pub struct Process {
    /// The process id (= the tid of its first thread).
    pub pid: u32,
    /// The parent process (`None` for pid 1).
    pub parent: KMutex<Weak<Process>>,
    /// Process group id.
    pub pgid: AtomicU32,
    /// Session id.
    pub sid: AtomicU32,
    /// Credentials.
    pub creds: KMutex<Credentials>,
    /// Open files (shared with `CLONE_FILES`).
    pub files: KMutex<Arc<KMutex<FdTable>>>,
    /// Root, cwd, umask (shared with `CLONE_FS`).
    pub fs: KMutex<Arc<KMutex<FsContext>>>,
    /// Signal dispositions (shared with `CLONE_SIGHAND`).
    pub sighand: KMutex<Arc<KMutex<SigHandlers>>>,
    /// The program's path, for `/proc/self/exe`.
    pub exe: KMutex<Option<Path>>,
    /// The path string `execve` was given, for `/proc/<pid>/exe` fallbacks and messages.
    pub exe_name: KMutex<Vec<u8>>,
    /// Set when the whole group is exiting (`exit_group`, a fatal signal).
    pub exiting: AtomicBool,
    /// How the process ended, once it has (set when it becomes a zombie).
    pub exit_status: KMutex<Option<ExitStatus>>,
    /// The status recorded by `exit_group`/a fatal signal, applied when the last thread ends.
    pub pending_status: KMutex<Option<ExitStatus>>,
    /// Threads of this group.
    pub threads: KMutex<Vec<Weak<Task>>>,
    /// Resource limits, indexed by `RLIMIT_*`.
    pub rlimits: KMutex<[(u64, u64); 16]>,
    /// When the process started, in nanoseconds since boot (`/proc/<pid>/stat` starttime).
    pub start_time_ns: u64,
    /// Where argv's strings lie on the initial stack (`/proc/<pid>/cmdline`): [start, end).
    pub arg_range: KMutex<(u64, u64)>,
    /// Where the environment strings lie (`/proc/<pid>/environ`): [start, end).
    pub env_range: KMutex<(u64, u64)>,
    /// CPU time of exited threads and waited-for children (`times`, `getrusage`).
    pub cputime: KMutex<CpuTimes>,
    /// Children, alive or zombie (a zombie stays here until its parent waits for it).
    pub children: KMutex<Vec<Arc<Process>>>,
    /// The signal sent to the parent when this process exits (`SIGCHLD` for `fork`).
    pub exit_signal: u32,
    /// Where the parent sleeps in `wait4`: notified when a child exits, stops or continues.
    pub child_events: fs::Pollee,
    /// Job-control stop state of the whole thread group.
    pub stop: KMutex<StopState>,
    /// For a `vfork` child: set when it has exec'd or exited, releasing the parent.
    pub vfork_done: AtomicBool,
    /// Notified when `vfork_done` is set.
    pub vfork_event: fs::Pollee,
    /// The console is this process's controlling terminal.
    pub has_ctty: AtomicBool,
    /// The process has called `execve` since it was forked (its parent may no longer change
    /// its process group: `setpgid` gives `EACCES`, as Linux's `PF_FORKNOEXEC` check).
    pub did_exec: AtomicBool,
    /// The process's interval and POSIX timers, owned by the `timers` layer above (type-erased
    /// here; `None` until the process arms one). A fork starts with none, as in Linux.
    pub timers: KMutex<Option<Box<dyn std::any::Any + Send>>>,
    /// The I/O priority (`ioprio_set`; 0 = none set, the default).
    pub ioprio: AtomicU32,
    /// `prctl` settings (parent-death signal, dumpable, subreaper, timer slack, ...).
    pub prctl: KMutex<prctl::PrctlState>,
    /// `membarrier` registrations of the process's memory (`MEMBARRIER_CMD_REGISTER_*` bits).
    pub membarrier: AtomicU32,
    /// Where the process's pidfds wait: notified when it exits and when it is reaped
    /// (Linux's `pid->wait_pidfd`).
    pub pidfd_event: Arc<fs::Pollee>,
    /// `/proc/PID/oom_score_adj` (-1000..=1000): how the OOM killer weighs this process;
    /// -1000 exempts it. Inherited across fork (Linux keeps it in `signal_struct`).
    pub oom_score_adj: std::sync::atomic::AtomicI32,
    /// The lowest `oom_score_adj` a process without `CAP_SYS_RESOURCE` may set (Linux's
    /// `oom_score_adj_min`: what a privileged writer last set, else 0). Inherited across fork.
    pub oom_score_adj_min: std::sync::atomic::AtomicI32,
    /// The threads this process traces (Linux's `ptraced` list, per thread group here).
    pub tracees: KMutex<Vec<Arc<Task>>>,
    /// The execution domain and its flags (`personality(2)`; inherited by fork and exec).
    pub personality: AtomicU32,
}

/// A thread group's job-control state (Linux's `signal_struct` group-stop bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StopState {
    /// The group is stopped.
    pub stopped: bool,
    /// The signal that stopped it, not yet reported to a `WUNTRACED` waiter.
    pub report_stop: Option<u32>,
    /// A continue not yet reported to a `WCONTINUED` waiter.
    pub report_continue: bool,
    /// The signal of the last group stop (Linux's `group_exit_code` for a stop).
    pub signo: u32,
}

/// Accumulated CPU time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time in guest code.
    pub user_ns: u64,
    /// Time in the kernel on the process's behalf.
    pub system_ns: u64,
    /// Sum over waited-for children (`RUSAGE_CHILDREN`, `tms_cutime`).
    pub children_user_ns: u64,
    /// Sum over waited-for children.
    pub children_system_ns: u64,
}

/// A task's scheduling state, as `/proc/<pid>/stat` letters it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskState {
    /// `R`: running or runnable.
    Running = b'R',
    /// `S`: sleeping in a syscall, wakeable by signals.
    Sleeping = b'S',
    /// `T`: stopped by a job-control signal.
    Stopped = b'T',
    /// `Z`: exited, not yet reaped.
    Zombie = b'Z',
}

/// A thread.
pub struct Task {
    /// The thread id.
    pub tid: u32,
    /// The thread group.
    pub process: Arc<Process>,
    /// The memory it runs in (replaced by `execve`).
    pub mm: KMutex<Arc<Mm>>,
    /// Signal mask, pending signals, alternate stack.
    pub signals: KMutex<SignalState>,
    /// `set_tid_address`: cleared and futex-woken at exit.
    pub clear_child_tid: AtomicU64Cell,
    /// `set_robust_list` head (recorded only).
    pub robust_list: AtomicU64Cell,
    /// The command name (`PR_SET_NAME`, `/proc/<pid>/comm`), 15 bytes at most.
    pub comm: KMutex<Vec<u8>>,
    /// Set once the thread has exited.
    pub exited: AtomicBool,
    /// Scheduling state (a `TaskState` as u8).
    pub state: std::sync::atomic::AtomicU8,
    /// CPU time in guest code, nanoseconds.
    pub user_ns: std::sync::atomic::AtomicU64,
    /// CPU time in the kernel for this task, nanoseconds.
    pub system_ns: std::sync::atomic::AtomicU64,
    /// Virtual runtime: running time scaled by the nice weight (the scheduler's key).
    pub vruntime: std::sync::atomic::AtomicU64,
    /// The nice value, -20..=19.
    pub nice: std::sync::atomic::AtomicI32,
    /// The session whose run-queue group the task was last queued in (the scheduler's).
    pub sched_group: AtomicU32,
    /// The CPU the task runs on, set when it is spawned (type-erased: the task model sits
    /// below the scheduler; `sched::cpu_of` recovers it).
    pub cpu: OnceLock<Weak<dyn std::any::Any + Send + Sync>>,
    /// Where pidfds of this one thread wait: notified when it ends.
    pub exit_event: Arc<fs::Pollee>,
    /// Its ptrace link (`ptrace::PtraceState`).
    pub ptrace: KMutex<ptrace::PtraceState>,
}

/// A `u64` cell with atomic access (for guest addresses recorded per thread).
#[derive(Default)]
pub struct AtomicU64Cell(std::sync::atomic::AtomicU64);

impl AtomicU64Cell {
    /// Reads the value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    /// Stores a value.
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed)
    }
}

/// Linux's default resource limits for init (`include/asm-generic/resource.h`), with
/// `RLIMIT_NOFILE` 1024/4096 and an 8 MiB stack.
pub fn default_rlimits() -> [(u64, u64); 16] {
    let inf = u64::MAX;
    let mut r = [(inf, inf); 16];
    r[uapi::flags::RLIMIT_STACK as usize] = (8 << 20, inf);
    r[uapi::flags::RLIMIT_CORE as usize] = (0, inf);
    r[uapi::flags::RLIMIT_NOFILE as usize] = (1024, 4096);
    r[uapi::flags::RLIMIT_MEMLOCK as usize] = (8 << 20, 8 << 20);
    r[uapi::flags::RLIMIT_NPROC as usize] = (63_000, 63_000);
    r[uapi::flags::RLIMIT_SIGPENDING as usize] = (63_000, 63_000);
    r[uapi::flags::RLIMIT_MSGQUEUE as usize] = (819_200, 819_200);
    // RLIMIT_NICE and RLIMIT_RTPRIO start at 0 (`INIT_RLIMITS`).
    r[uapi::flags::RLIMIT_NICE as usize] = (0, 0);
    r[uapi::flags::RLIMIT_RTPRIO as usize] = (0, 0);
    r
}

impl Process {
    /// The user and system time of the process so far: its exited threads' (and waited-for
    /// children's are kept apart) plus its live threads'.
    pub fn cpu_times(&self) -> (u64, u64) {
        let t = *self.cputime.lock();
        let (mut u, mut s) = (t.user_ns, t.system_ns);
        for th in self.live_threads() {
            u = u.saturating_add(th.user_ns.load(Ordering::Relaxed));
            s = s.saturating_add(th.system_ns.load(Ordering::Relaxed));
        }
        (u, s)
    }

    /// True once the process has exited (a zombie until reaped).
    pub fn is_zombie(&self) -> bool {
        self.exit_status.lock().is_some()
    }

    /// The live threads.
    pub fn live_threads(&self) -> Vec<Arc<Task>> {
        self.threads.lock().iter().filter_map(|t| t.upgrade()).filter(|t| !t.exited.load(Ordering::Relaxed)).collect()
    }

    /// The parent's pid, or 0 for pid 1 (as Linux reports for init).
    pub fn ppid(&self) -> u32 {
        self.parent.lock().upgrade().map(|p| p.pid).unwrap_or(0)
    }

    /// The current credentials (a copy).
    pub fn creds(&self) -> Credentials {
        self.creds.lock().clone()
    }

    /// The fd table.
    pub fn files(&self) -> Arc<KMutex<FdTable>> {
        self.files.lock().clone()
    }

    /// The filesystem context.
    pub fn fs(&self) -> Arc<KMutex<FsContext>> {
        self.fs.lock().clone()
    }

    /// The signal dispositions.
    pub fn sighand(&self) -> Arc<KMutex<SigHandlers>> {
        self.sighand.lock().clone()
    }

    /// The soft limit of resource `r`.
    pub fn rlimit_cur(&self, r: u32) -> u64 {
        self.rlimits.lock().get(r as usize).map(|l| l.0).unwrap_or(u64::MAX)
    }
}

impl Task {
    /// The scheduling state.
    pub fn state(&self) -> TaskState {
        match self.state.load(Ordering::Relaxed) {
            b'S' => TaskState::Sleeping,
            b'T' => TaskState::Stopped,
            b'Z' => TaskState::Zombie,
            _ => TaskState::Running,
        }
    }

    /// Sets the scheduling state.
    pub fn set_state(&self, s: TaskState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }

    /// The memory context.
    pub fn mm(&self) -> Arc<Mm> {
        self.mm.lock().clone()
    }
}

/// What a new process starts with (Linux's `copy_process` decides each from the clone flags).
pub struct NewProcess {
    /// Its pid.
    pub pid: u32,
    /// The parent.
    pub parent: Weak<Process>,
    /// Process group and session.
    pub pgid: u32,
    /// Session id.
    pub sid: u32,
    /// Credentials.
    pub creds: Credentials,
    /// fd table (shared or copied).
    pub files: Arc<KMutex<FdTable>>,
    /// Root/cwd/umask (shared or copied).
    pub fs: Arc<KMutex<FsContext>>,
    /// Signal dispositions (shared or copied).
    pub sighand: Arc<KMutex<SigHandlers>>,
    /// Limits.
    pub rlimits: [(u64, u64); 16],
    /// Signal to the parent at exit.
    pub exit_signal: u32,
    /// Program path (inherited until exec).
    pub exe: Option<Path>,
    /// Program name as exec'd.
    pub exe_name: Vec<u8>,
    /// argv/env ranges (inherited until exec: same memory image).
    pub ranges: ((u64, u64), (u64, u64)),
    /// Inherits the parent's controlling terminal.
    pub has_ctty: bool,
}

impl Process {
    /// Creates a process with no threads yet.
    pub fn new(n: NewProcess, start_time_ns: u64) -> Arc<Process> {
        Arc::new(Process {
            pid: n.pid,
            parent: KMutex::new(n.parent),
            pgid: AtomicU32::new(n.pgid),
            sid: AtomicU32::new(n.sid),
            creds: KMutex::new(n.creds),
            files: KMutex::new(n.files),
            fs: KMutex::new(n.fs),
            sighand: KMutex::new(n.sighand),
            exe: KMutex::new(n.exe),
            exe_name: KMutex::new(n.exe_name),
            exiting: AtomicBool::new(false),
            exit_status: KMutex::new(None),
            pending_status: KMutex::new(None),
            threads: KMutex::new(Vec::new()),
            rlimits: KMutex::new(n.rlimits),
            start_time_ns,
            arg_range: KMutex::new(n.ranges.0),
            env_range: KMutex::new(n.ranges.1),
            cputime: KMutex::new(CpuTimes::default()),
            children: KMutex::new(Vec::new()),
            exit_signal: n.exit_signal,
            child_events: fs::Pollee::default(),
            stop: KMutex::new(StopState::default()),
            vfork_done: AtomicBool::new(false),
            vfork_event: fs::Pollee::default(),
            has_ctty: AtomicBool::new(n.has_ctty),
            did_exec: AtomicBool::new(false),
            timers: KMutex::new(None),
            ioprio: AtomicU32::new(0),
            prctl: KMutex::new(Default::default()),
            membarrier: AtomicU32::new(0),
            pidfd_event: Arc::new(fs::Pollee::default()),
            oom_score_adj: std::sync::atomic::AtomicI32::new(0),
            oom_score_adj_min: std::sync::atomic::AtomicI32::new(0),
            tracees: KMutex::new(Vec::new()),
            personality: AtomicU32::new(0),
        })
    }
}

impl Task {
    /// Creates a thread of `process` running in `mm`.
    pub fn new(tid: u32, process: Arc<Process>, mm: Arc<Mm>, signals: SignalState, comm: Vec<u8>, nice: i32) -> Arc<Task> {
        let t = Arc::new(Task {
            tid,
            process: process.clone(),
            mm: KMutex::new(mm),
            signals: KMutex::new(signals),
            clear_child_tid: AtomicU64Cell::default(),
            robust_list: AtomicU64Cell::default(),
            comm: KMutex::new(comm),
            exited: AtomicBool::new(false),
            state: std::sync::atomic::AtomicU8::new(TaskState::Running as u8),
            user_ns: Default::default(),
            system_ns: Default::default(),
            vruntime: Default::default(),
            nice: std::sync::atomic::AtomicI32::new(nice),
            sched_group: AtomicU32::new(0),
            cpu: OnceLock::new(),
            exit_event: Arc::new(fs::Pollee::default()),
            ptrace: KMutex::new(ptrace::PtraceState::default()),
        });
        process.threads.lock().push(Arc::downgrade(&t));
        t
    }
}
