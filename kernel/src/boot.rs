//! Starting the kernel: physmem, the stub platform, the root filesystem and its standard
//! mounts, pid 1, and the loop that runs until pid 1 is gone.

use crate::console::Console;
use crate::sched::{Cpu, Current};
use crate::task::kernel::{self, kernel};
use crate::task::{SigHandlers, SignalState, default_rlimits, ExitStatus, Mm, NewProcess, Process, Task};
use arch_um::{PhysMem, Platform, UserContext};
use fs::abi::OpenFlags;
use fs::klock::KMutex;
use fs::{Credentials, FdFlags, FdTable, FsContext, OpenFile, Vfs};
use std::sync::Arc;
use uapi::Errno;

/// How to start.
pub struct BootConfig {
    /// Guest RAM in bytes.
    pub mem: u64,
    /// The root filesystem (already mounted by the caller's choice of fs).
    pub vfs: Arc<Vfs>,
    /// The program run as pid 1 and its arguments.
    pub argv: Vec<Vec<u8>>,
    /// Its environment.
    pub envp: Vec<Vec<u8>>,
    /// `/proc/cmdline`.
    pub cmdline: String,
    /// Print every syscall.
    pub strace: bool,
    /// pid 1's fd 2 is the host's stderr (`umbra run`) rather than the console tty (`boot`).
    pub stderr_to_host: bool,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// pid 1 exited or was killed.
    InitExited(ExitStatus),
    /// `reboot(2)` asked to power off, halt or restart (the disks are synced).
    Shutdown(crate::task::kernel::Shutdown),
}

/// Why the kernel could not start pid 1; `init` maps these to exit statuses.
#[derive(Debug)]
pub enum BootError {
    /// umbra itself failed (host resources): exit 125.
    Host(String),
    /// The program does not exist: exit 127.
    NotFound(String),
    /// The program exists but cannot be executed: exit 126.
    CannotExecute(String),
}

/// Creates physmem and the stub platform.
pub fn host_setup(mem: u64) -> Result<(Arc<PhysMem>, Arc<Platform>), BootError> {
    for failure in arch_um::checks::run(mem) {
        if failure.fatal {
            return Err(BootError::Host(failure.message));
        }
        log::warn!("{}", failure.message);
    }
    if let Some(cpu) = arch_um::cpu::pin_to_current_cpu() {
        log::debug!("umbra and its stubs run on host CPU {cpu}");
    }
    let physmem = Arc::new(PhysMem::new(mem).map_err(|e| BootError::Host(format!("cannot create guest memory of {mem} bytes: {e}")))?);
    let platform = Platform::new(physmem.clone()).map_err(|e| BootError::Host(format!("cannot set up stubs: {e}")))?;
    Ok((physmem, platform))
}

/// Boots: installs the kernel, starts pid 1 with the console as fds 0–2, runs it, and returns
/// how the run ended.
pub fn boot(cfg: BootConfig) -> Result<Outcome, BootError> {
    crate::strace::set_enabled(cfg.strace);
    let (physmem, platform) = host_setup(cfg.mem)?;
    kernel::install(physmem, platform, cfg.vfs.clone(), cfg.cmdline.clone()).map_err(BootError::Host)?;
    let cpu = Cpu::new(crate::run::task_main).map_err(|e| BootError::Host(format!("cannot create the vCPU: {e}")))?;
    crate::vdso::init(&cpu);
    crate::tty_glue::install(&cfg.vfs);
    crate::pty_glue::install(&cfg.vfs);
    crate::ipc::mqueue::register(&cfg.vfs);
    cfg.vfs.devices().register_char_device("kmsg", 1, 11, 0o644, Arc::new(crate::kmsg::KmsgDevice));
    log::info!("Linux version {} (umbra) {}", crate::procfs::RELEASE, crate::procfs::VERSION);
    log::info!("Command line: {}", cfg.cmdline);
    log::info!("Memory: {}K available", cfg.mem / 1024);
    watch_host_input(&cpu);
    let cur = spawn_init(&cfg, &cpu)?;
    log::info!("Run {} as init process", String::from_utf8_lossy(cfg.argv.first().map_or(&b""[..], |a| &a[..])));
    let init = cur.process().clone();
    cpu.spawn(cur.task.clone(), cur.ctx.clone()).map_err(|e| BootError::Host(format!("cannot start pid 1: {e}")))?;
    schedule_writeback(&cpu);
    schedule_load_sample(&cpu);
    if let Err(e) = cpu.start_tick() {
        log::warn!("no clock tick ({e}): CPU-bound guests will not be preempted");
    }
    cpu.run_until(|| init.is_zombie() || kernel().shutdown.lock().is_some() || host_shutdown_requested());
    let status = init.exit_status.lock().unwrap_or(ExitStatus::Exited(0));
    let init_exited = init.is_zombie();
    let shutdown = *kernel().shutdown.lock();
    // Linux panics when init dies; umbra ends the run: every other process is killed and
    // allowed to finish (their stubs die with them).
    crate::exit::kill_all();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    cpu.run_until(|| std::time::Instant::now() > deadline);
    Ok(match shutdown {
        Some(how) => Outcome::Shutdown(how),
        None if !init_exited => Outcome::Shutdown(crate::task::Shutdown::PowerOff),
        None => Outcome::InitExited(status),
    })
}

/// Registers the host fds the kernel takes input from with the vCPU's reactor: the console
/// (host stdin, watched while the tty has room for input, so `^C` reaches a foreground job
/// while its shell sits in `wait4`) and the console's signal self-pipe (SIGTERM, SIGWINCH).
fn watch_host_input(cpu: &Arc<Cpu>) {
    crate::net::inet::relay::start(cpu);
    let console = cpu.watch_host_fd(0, Box::new(crate::tty_glue::wants_input), Box::new(crate::tty_glue::pump_input));
    if let Err(e) = console {
        log::warn!("cannot watch the console's input: {e}");
    }
    if let Some(fd) = arch_um::console::notify_fd() {
        // Only wakes idle: the loop's `host_shutdown_requested` takes the signals.
        if let Err(e) = cpu.watch_host_fd(fd, Box::new(|| true), Box::new(|| {})) {
            log::warn!("cannot watch the console's signals: {e}");
        }
    }
}

/// True once the host asked umbra to shut down (SIGTERM under the console's flag policy).
/// Also forwards the other host signals the console records: a window-size change, and a host
/// `SIGINT` (the user's `^C` when stdin is not a terminal) to the guest's foreground.
fn host_shutdown_requested() -> bool {
    if arch_um::console::take_winch() {
        crate::tty_glue::window_changed();
    }
    if arch_um::console::take_host_signal(2) {
        crate::tty_glue::host_interrupt();
    }
    arch_um::console::take_host_signal(15)
}

/// Creates pid 1: a process with the console on fds 0, 1, 2, then `execve`s the program.
fn spawn_init(cfg: &BootConfig, cpu: &Arc<Cpu>) -> Result<Current, BootError> {
    let k = kernel();
    let pid = k.alloc_pid();
    let mm = Mm::new_empty(&cpu.host()).map_err(|e| BootError::Host(format!("cannot start the first stub: {e}")))?;
    let files = console_fds(cfg.stderr_to_host).map_err(|e| BootError::Host(format!("console: {e}")))?;
    let root = cfg.vfs.root();
    let process = Process::new(
        NewProcess {
            pid,
            parent: std::sync::Weak::new(),
            // Linux's init starts in the kernel's session and group 0; its setsid() makes session 1.
            pgid: 0,
            sid: 0,
            creds: Credentials::root(),
            files: Arc::new(KMutex::new(files)),
            fs: Arc::new(KMutex::new(FsContext::new(root))),
            sighand: Arc::new(KMutex::new(SigHandlers::default())),
            rlimits: default_rlimits(),
            exit_signal: uapi::signal::SIGCHLD,
            exe: None,
            exe_name: Vec::new(),
            ranges: ((0, 0), (0, 0)),
            has_ctty: false,
        },
        k.uptime_ns(),
    );
    let task = Task::new(pid, process.clone(), Arc::new(mm), SignalState::default(), b"init".to_vec(), 0);
    k.tasks.lock().insert(pid, Arc::downgrade(&task));
    k.processes.lock().insert(pid, Arc::downgrade(&process));
    let mut cur = Current::new(task, UserContext::default(), cpu.clone());
    let path = cfg.argv.first().cloned().unwrap_or_default();
    crate::execve::execve_initial(&mut cur, &path, cfg.argv.clone(), cfg.envp.clone()).map_err(|e| {
        let p = String::from_utf8_lossy(&path).into_owned();
        match e.errno {
            Errno::ENOENT | Errno::ENOTDIR => BootError::NotFound(format!("{p}: not found")),
            _ => BootError::CannotExecute(format!("{p}: cannot execute: {}", e.message())),
        }
    })?;
    Ok(cur)
}


/// fds 0, 1, 2 on the console tty (as Linux opens `/dev/console` for init); with
/// `stderr_to_host`, fd 2 is the host's stderr instead, so a single program's error output
/// stays apart from its output, as under a container runtime.
fn console_fds(stderr_to_host: bool) -> Result<FdTable, Errno> {
    let mut t = FdTable::new();
    let tty: Arc<dyn fs::FileLike> = crate::tty_glue::console().cloned().ok_or(Errno::ENODEV)?;
    let err: Arc<dyn fs::FileLike> = if stderr_to_host { Arc::new(Console::stderr()) } else { tty.clone() };
    t.alloc(OpenFile::new_anonymous(tty.clone(), OpenFlags::RDWR), FdFlags::empty())?;
    t.alloc(OpenFile::new_anonymous(tty, OpenFlags::RDWR), FdFlags::empty())?;
    t.alloc(OpenFile::new_anonymous(err, OpenFlags::RDWR), FdFlags::empty())?;
    Ok(t)
}

/// How often dirty filesystem blocks are written back (Linux's `dirty_writeback_centisecs`).
const WRITEBACK_PERIOD: std::time::Duration = std::time::Duration::from_secs(5);

/// Writes every filesystem's dirty blocks back now and again (re-arms itself, and only itself:
/// one timer chain, however long umbra runs).
fn schedule_writeback(cpu: &Arc<Cpu>) {
    cpu.add_timer(
        std::time::Instant::now() + WRITEBACK_PERIOD,
        Box::new(|cpu| {
            if let Err(e) = kernel().vfs.sync_all() {
                log::warn!("periodic write-back failed: {e}");
            }
            log::debug!("write-back; {} kernel timers pending", cpu.timer_count());
            schedule_writeback(cpu);
        }),
    );
}

/// Samples the number of runnable tasks for `/proc/loadavg` every 5 s (Linux's `LOAD_FREQ`).
fn schedule_load_sample(cpu: &Arc<Cpu>) {
    cpu.add_timer(
        std::time::Instant::now() + std::time::Duration::from_secs(5),
        Box::new(|cpu| {
            crate::procfs::sample_load(kernel().uptime_ns(), cpu.runnable_count());
            log::debug!("load-average sample; {} kernel timers pending", cpu.timer_count());
            schedule_load_sample(cpu);
        }),
    );
}
