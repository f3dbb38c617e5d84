//! The kernel's global state: one per umbra process, created at boot and never freed.

use super::{Process, Task};
use arch_um::{PhysMem, Platform};
use fs::klock::KMutex;
use fs::Vfs;
use mm::FrameAllocator;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Instant, SystemTime};

/// Everything the kernel shares between tasks.
pub struct Kernel {
    /// Stubs, physmem, host facts.
    pub platform: Arc<Platform>,
    /// Guest RAM frames.
    pub frames: Arc<FrameAllocator>,
    /// Mounts and filesystems.
    pub vfs: Arc<Vfs>,
    /// When the kernel booted (CLOCK_MONOTONIC/BOOTTIME count from here).
    pub boot_instant: Instant,
    /// The wall-clock time at boot.
    pub boot_wall: SystemTime,
    /// The kernel command line (`/proc/cmdline`).
    pub cmdline: String,
    /// Live tasks by tid.
    pub tasks: KMutex<BTreeMap<u32, Weak<Task>>>,
    /// Live processes by pid.
    pub processes: KMutex<BTreeMap<u32, Weak<Process>>>,
    /// The next pid/tid to hand out.
    pub next_pid: KMutex<u32>,
    /// The host name (`uname`, `sethostname`, `/proc/sys/kernel/hostname`).
    pub hostname: KMutex<Vec<u8>>,
    /// The NIS domain name (`uname`, `/proc/sys/kernel/domainname`).
    pub domainname: KMutex<Vec<u8>>,
    /// This boot's random id (`/proc/sys/kernel/random/boot_id`).
    pub boot_id: String,
    /// `/proc/sys` tunables root has set (path → value); unset ones read Linux's defaults.
    pub sysctls: KMutex<BTreeMap<String, String>>,
    /// Set by `reboot(2)`: how the run should end.
    pub shutdown: KMutex<Option<Shutdown>>,
    /// The tid running on the (single) vCPU now, 0 on its scheduler stack: for the few lookups
    /// made without a caller at hand (`/proc/self` inside fs's path walk). The vCPU sets it on
    /// every switch; with several vCPUs this becomes the caller's context passed down.
    pub running_tid: std::sync::atomic::AtomicU32,
}

/// What `reboot(2)` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// `poweroff`: sync and exit 0.
    PowerOff,
    /// `halt`: as power off.
    Halt,
    /// `reboot`: boot again from the start.
    Restart,
}

static KERNEL: OnceLock<Kernel> = OnceLock::new();

/// The global kernel. Panics only if called before `install` — a kernel bug, not guest input.
#[allow(clippy::expect_used)]
pub fn kernel() -> &'static Kernel {
    KERNEL.get().expect("kernel used before boot")
}

/// A random (version 4) UUID in its text form, as `/proc/sys/kernel/random/uuid` gives.
pub fn random_uuid() -> String {
    let mut b = [0u8; 16];
    if arch_um::random::fill(&mut b).is_err() {
        b = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)).to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The global kernel, if it is installed (code that may run before boot).
pub fn try_kernel() -> Option<&'static Kernel> {
    KERNEL.get()
}

/// A mapped file shrank: every address space drops its pages past the end (Linux's
/// `unmap_mapping_range` over the file's `i_mmap`, here over every process's memory).
fn unmap_past_end(source: *const (), size: u64) {
    let Some(k) = try_kernel() else { return };
    let processes: Vec<_> = k.processes.lock().values().filter_map(std::sync::Weak::upgrade).collect();
    let mut seen = std::collections::HashSet::new();
    for p in processes {
        for t in p.live_threads() {
            let mm = t.mm.lock().clone();
            if seen.insert(Arc::as_ptr(&mm) as usize) {
                mm.space.lock().file_truncated(source, size);
            }
        }
    }
}

/// Creates the global kernel (once per host process).
pub fn install(physmem: Arc<PhysMem>, platform: Arc<Platform>, vfs: Arc<Vfs>, cmdline: String) -> Result<(), String> {
    let frames = Arc::new(FrameAllocator::new(physmem));
    vfs.page_cache().set_frames(frames.clone());
    vfs.page_cache().set_shrink_hook(Box::new(unmap_past_end));
    let k = Kernel {
        platform,
        frames,
        vfs,
        boot_instant: Instant::now(),
        boot_wall: SystemTime::now(),
        cmdline,
        tasks: KMutex::new(BTreeMap::new()),
        processes: KMutex::new(BTreeMap::new()),
        next_pid: KMutex::new(1),
        hostname: KMutex::new(b"umbra".to_vec()),
        domainname: KMutex::new(b"(none)".to_vec()),
        boot_id: random_uuid(),
        sysctls: KMutex::new(BTreeMap::new()),
        shutdown: KMutex::new(None),
        running_tid: std::sync::atomic::AtomicU32::new(0),
    };
    KERNEL.set(k).map_err(|_| "kernel already installed".to_string())
}

impl Kernel {
    /// Allocates a fresh pid/tid (Linux hands them out increasing, wrapping at `pid_max`).
    pub fn alloc_pid(&self) -> u32 {
        let mut n = self.next_pid.lock();
        let tasks = self.tasks.lock();
        loop {
            let pid = *n;
            *n = if *n >= 4_194_303 { 2 } else { *n + 1 };
            if !tasks.contains_key(&pid) {
                return pid;
            }
        }
    }

    /// Looks up a live task.
    pub fn task(&self, tid: u32) -> Option<Arc<Task>> {
        self.tasks.lock().get(&tid).and_then(Weak::upgrade)
    }

    /// Looks up a live (or zombie) process.
    pub fn process(&self, pid: u32) -> Option<Arc<Process>> {
        self.processes.lock().get(&pid).and_then(Weak::upgrade)
    }

    /// Records a `reboot(2)` request; the scheduler loop ends the run.
    pub fn request_shutdown(&self, how: Shutdown) {
        let mut s = self.shutdown.lock();
        if s.is_none() {
            *s = Some(how);
        }
    }

    /// Nanoseconds since boot (CLOCK_MONOTONIC).
    pub fn uptime_ns(&self) -> u64 {
        self.boot_instant.elapsed().as_nanos() as u64
    }
}
