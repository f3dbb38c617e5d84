//! The kernel's procfs provider: the facts behind `/proc` (Linux's `fs/proc/array.c`,
//! `base.c`, `meminfo.c`, `loadavg.c`, `stat.c`, `uptime.c`, x86 `cpu/proc.c`) read from the
//! kernel's tables. fs owns the tree and the text layouts (`fs::procfs::format`); this module
//! turns processes, tasks, memory spaces and the frame allocator into `fs::procfs` structs.
//!
//! Reading is split in two so the formatting can be tested without a guest: `gather_*`
//! copies the facts out of the kernel (each lock taken alone, never across another), and pure
//! functions (`process_info`, `maps_text`, `meminfo_from`, `describe_cpu`, …) compute what
//! procfs shows.
//!
//! # Who is calling
//! `/proc/self` names the calling task's process. Inside a task, procfs asks the scheduler
//! (`Kernel::running_tid`, set by the vCPU on every switch). Outside any task (boot, tests) it falls back
//! to what [`set_current_task`]/[`set_current_pid`] recorded, and to pid 1 before any call.
//!
//! # Approximations (documented, not hidden)
//! umbra has no idle or context-switch accounting: idle time is
//! uptime minus the CPU time of the tasks alive now, `ctxt` is 0.
//! Load averages follow Linux's fixed-point decay (`calc_load`, every 5 s), fed by
//! [`sample_load`] if the scheduler calls it and otherwise caught up on each read as if the
//! current runnable count had held since the last sample.

use crate::task::kernel::kernel;
use crate::task::{CpuTimes as TaskCpuTimes, ExitStatus, Mm, Process, Task};
use fs::klock::KMutex;
use fs::procfs::{CpuInfo, CpuTimes, KernelStat, LoadAvg, MemInfo, PidBytes, PidLink, ProcProvider, ProcessInfo, Uname, Uptime};
use fs::{Credentials, OpenFile, Path};
use mm::MapInfo;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use uapi::mman::Prot;
use uapi::{Errno, KResult};

/// Nanoseconds per clock tick (`USER_HZ` = 100).
pub const NS_PER_TICK: u64 = 10_000_000;
/// The release string (`uname -r`; the same as the `uname` syscall's).
pub const RELEASE: &str = "6.1.0-umbra";
/// The version string (`uname -v`).
pub const VERSION: &str = "#1 SMP PREEMPT_DYNAMIC umbra";
/// The largest argument or environment area read for `cmdline`/`environ`.
const MAX_ARG_AREA: u64 = 16 << 20;

static CURRENT_PID: AtomicU32 = AtomicU32::new(0);
static CURRENT_TID: AtomicU32 = AtomicU32::new(0);

/// Records that the task `tid` of process `pid` is the caller when no scheduler task runs
/// (the scheduler's own current task takes precedence): `/proc/self` and `/proc/thread-self`
/// resolve through it.
pub fn set_current_task(pid: u32, tid: u32) {
    CURRENT_PID.store(pid, Ordering::Relaxed);
    CURRENT_TID.store(tid, Ordering::Relaxed);
}

/// Records that process `pid` runs now, its main thread being the caller (the thread id
/// reads as `pid`); [`set_current_task`] also names the thread.
pub fn set_current_pid(pid: u32) {
    set_current_task(pid, 0);
}

/// The scheduler's running task as (pid, tid), if a task is running.
fn running_task() -> Option<(u32, u32)> {
    let k = crate::task::kernel::try_kernel()?;
    match k.running_tid.load(Ordering::Relaxed) {
        0 => None,
        tid => k.task(tid).map(|t| (t.process.pid, tid)),
    }
}

/// The calling process (`/proc/self`): the running task's, else the last
/// [`set_current_task`], else 1.
pub fn current_pid() -> u32 {
    if let Some((pid, _)) = running_task() {
        return pid;
    }
    match CURRENT_PID.load(Ordering::Relaxed) {
        0 => 1,
        p => p,
    }
}

/// The calling thread (`/proc/thread-self`): the running task, else the recorded tid, else
/// the pid.
pub fn current_tid() -> u32 {
    if let Some((_, tid)) = running_task() {
        return tid;
    }
    match CURRENT_TID.load(Ordering::Relaxed) {
        0 => current_pid(),
        t => t,
    }
}

/// Installs the kernel's provider in `vfs` (call at boot, before `proc` is mounted).
pub fn install(vfs: &fs::Vfs) {
    vfs.set_proc_provider(Arc::new(KernelProcProvider));
}

// ---------------------------------------------------------------------------------------------
// Facts and the pure functions over them

/// The memory side of a process, copied from its `MemorySpace`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemFacts {
    /// The mappings, ascending.
    pub maps: Vec<MapInfo>,
    /// Resident pages.
    pub resident_pages: u64,
    /// Mapped bytes.
    pub vm_size: u64,
    /// Bytes of the `[stack]` mapping.
    pub stack: u64,
    /// Start of the heap (`start_brk`).
    pub brk_base: u64,
    /// The executable's path as the mappings name it.
    pub exe_path: String,
}

/// What `/proc/<pid>/{stat,status,statm}` are computed from: one process's facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcFacts {
    /// The id shown (the pid, or a tid for `/proc/<tid>`).
    pub pid: u32,
    /// Command name bytes.
    pub comm: Vec<u8>,
    /// State letter (`R`, `S`, `T`, `Z`).
    pub state: char,
    /// Parent pid (0 for init).
    pub ppid: u32,
    /// The tracer's pid (0 if not traced).
    pub tracer_pid: u32,
    /// Process group.
    pub pgid: u32,
    /// Session.
    pub sid: u32,
    /// Credentials.
    pub creds: Credentials,
    /// File mode creation mask.
    pub umask: u32,
    /// Live threads.
    pub threads: u32,
    /// CPU time: live threads plus exited ones, and waited-for children.
    pub times: TaskCpuTimes,
    /// Start, nanoseconds after boot.
    pub start_time_ns: u64,
    /// Nice value.
    pub nice: i32,
    /// The signal the parent gets at exit (`SIGCHLD` for `fork`, 0 for threads).
    pub exit_signal: i32,
    /// Memory, `None` for a zombie.
    pub mem: Option<MemFacts>,
    /// Pending (thread), pending (shared), blocked, ignored, caught signal sets.
    pub signals: [u64; 5],
    /// The highest open descriptor.
    pub max_fd: Option<u32>,
    /// argv strings `[start, end)`.
    pub arg_range: (u64, u64),
    /// Environment strings `[start, end)`.
    pub env_range: (u64, u64),
    /// Exit status of a zombie.
    pub exit: Option<ExitStatus>,
    /// The controlling terminal's device number (`new_encode_dev`, 0: none) and foreground
    /// process group (-1: none).
    pub ctty: (u32, i32),
}

/// Linux's `FDSize`: the fd array size, 64 at first, then 128 times a power of two
/// (`expand_fdtable`'s rounding) once a descriptor at or above 64 was needed.
pub fn fd_size(max_fd: Option<u32>) -> u32 {
    match max_fd {
        Some(fd) if fd >= 64 => (fd / 128 + 1).checked_next_power_of_two().and_then(|n| n.checked_mul(128)).unwrap_or(u32::MAX),
        _ => 64,
    }
}

/// Size sums of a mapping list, in KiB: (data, exe text, library text).
fn vm_sizes(m: &MemFacts) -> (u64, u64, u64) {
    let (mut data, mut exe, mut lib) = (0u64, 0u64, 0u64);
    for map in &m.maps {
        let len = map.end.saturating_sub(map.start);
        if map.prot.contains(Prot::WRITE) && !map.shared && map.name != "[stack]" {
            data = data.saturating_add(len);
        }
        if map.prot.contains(Prot::EXEC) {
            if !m.exe_path.is_empty() && map.name == m.exe_path {
                exe = exe.saturating_add(len);
            } else {
                lib = lib.saturating_add(len);
            }
        }
    }
    (data / 1024, exe / 1024, lib / 1024)
}

/// `stat`'s address fields: `start_code end_code start_stack start_data end_data start_brk
/// arg_start arg_end env_start env_end`. Code and data are the executable's first executable
/// and first writable mappings; `start_stack` is not recorded (0, as Linux shows to readers
/// without ptrace access).
fn layout(m: &MemFacts, arg: (u64, u64), env: (u64, u64)) -> [u64; 10] {
    let of_exe = |p: Prot| m.maps.iter().find(|x| !m.exe_path.is_empty() && x.name == m.exe_path && x.prot.contains(p));
    let (cs, ce) = of_exe(Prot::EXEC).map(|x| (x.start, x.end)).unwrap_or((0, 0));
    let (ds, de) = of_exe(Prot::WRITE).map(|x| (x.start, x.end)).unwrap_or((0, 0));
    [cs, ce, 0, ds, de, m.brk_base, arg.0, arg.1, env.0, env.1]
}

/// A command name as Linux keeps it: at most 15 bytes (`TASK_COMM_LEN` - 1).
fn comm_string(comm: &[u8]) -> String {
    String::from_utf8_lossy(&comm[..comm.len().min(15)]).into_owned()
}

/// The `ProcessInfo` fs formats `/proc/<pid>/{stat,status,statm}` from.
pub fn process_info(f: &ProcFacts) -> ProcessInfo {
    let c = &f.creds;
    let mut info = ProcessInfo {
        pid: f.pid,
        comm: comm_string(&f.comm),
        state: f.state,
        ppid: f.ppid,
        tracer_pid: f.tracer_pid,
        pgrp: f.pgid,
        session: f.sid,
        tty_nr: f.ctty.0,
        tpgid: f.ctty.1,
        uids: [c.uid, c.euid, c.suid, c.fsuid],
        gids: [c.gid, c.egid, c.sgid, c.fsgid],
        groups: c.groups.clone(),
        caps: [c.caps.inheritable, c.caps.permitted, c.caps.effective, c.caps.bounding, c.caps.ambient],
        no_new_privs: c.no_new_privs,
        loginuid: c.loginuid,
        sessionid: c.sessionid,
        umask: f.umask,
        threads: f.threads,
        utime: f.times.user_ns / NS_PER_TICK,
        stime: f.times.system_ns / NS_PER_TICK,
        child_times: (f.times.children_user_ns / NS_PER_TICK, f.times.children_system_ns / NS_PER_TICK),
        priority: 20 + i64::from(f.nice),
        nice: i64::from(f.nice),
        start_time: f.start_time_ns / NS_PER_TICK,
        signals: f.signals,
        fd_size: fd_size(f.max_fd),
        exit_signal: f.exit_signal,
        exit_code: f.exit.map(ExitStatus::wait_status).unwrap_or(0),
        ..ProcessInfo::default()
    };
    if let Some(m) = &f.mem {
        let (data, exe, lib) = vm_sizes(m);
        info.vsize = m.vm_size;
        info.rss_pages = m.resident_pages;
        info.vm_data_kb = data;
        info.vm_stack_kb = m.stack / 1024;
        info.vm_exe_kb = exe;
        info.vm_lib_kb = lib;
        info.layout = layout(m, f.arg_range, f.env_range);
    }
    info
}

/// `/proc/<pid>/maps`: one `show_map_vma` line per mapping.
pub fn maps_text(maps: &[MapInfo]) -> Vec<u8> {
    let mut out = String::new();
    for m in maps {
        out.push_str(&m.to_maps_line());
        out.push('\n');
    }
    out.into_bytes()
}

/// `/proc/<pid>/cmdline` from the argument area (`get_mm_cmdline`): as is when it still ends
/// in a NUL; otherwise the program rewrote its title (`setproctitle`) and the text runs from
/// the argument area on (into the environment area if it follows directly) up to and
/// including the first NUL.
pub fn cmdline_from(args: &[u8], env_after: &[u8]) -> Vec<u8> {
    if args.last().is_none_or(|b| *b == 0) {
        return args.to_vec();
    }
    let all: Vec<u8> = args.iter().chain(env_after).copied().collect();
    match all.iter().position(|b| *b == 0) {
        Some(i) => all[..=i].to_vec(),
        None => all,
    }
}

/// `/proc/meminfo` numbers from the frame allocator (4 KiB frames) and the page cache: used
/// frames are the page cache's (`Cached`, counted as available, as Linux reclaims them) or
/// anonymous memory.
pub fn meminfo_from(total_frames: u64, free_frames: u64, cached_frames: u64) -> MemInfo {
    let total_kb = total_frames.saturating_mul(4);
    let free_kb = free_frames.min(total_frames).saturating_mul(4);
    let used_kb = total_kb - free_kb;
    let cached_kb = cached_frames.saturating_mul(4).min(used_kb);
    MemInfo { total_kb, free_kb, available_kb: free_kb + cached_kb, cached_kb, anon_kb: used_kb - cached_kb, ..MemInfo::default() }
}

/// `/proc/uptime`: seconds up and idle, in hundredths, from nanoseconds.
pub fn uptime_from(up_ns: u64, busy_ns: u64) -> Uptime {
    Uptime { up_centis: up_ns / NS_PER_TICK, idle_centis: up_ns.saturating_sub(busy_ns) / NS_PER_TICK }
}

// ---------------------------------------------------------------------------------------------
// Load averages (kernel/sched/loadavg.c)

/// `FIXED_1`: 1.0 in the 11-bit fixed point of the load averages.
const FIXED_1: u64 = 1 << 11;
/// Decay factors per 5 s for 1, 5 and 15 minutes (`EXP_1`, `EXP_5`, `EXP_15`).
const EXP: [u64; 3] = [1884, 2014, 2037];
/// `LOAD_FREQ`: the sampling period.
const LOAD_FREQ_NS: u64 = 5_000_000_000;

/// The three exponentially decaying averages and when they were last advanced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadState {
    /// Last sample, nanoseconds since boot.
    pub last_ns: u64,
    /// Averages in `FIXED_1` units.
    pub avg: [u64; 3],
}

/// Linux's `calc_load`: one decay step toward `active` (`FIXED_1` units).
fn calc_load(load: u64, exp: u64, active: u64) -> u64 {
    let mut new = load.saturating_mul(exp).saturating_add(active.saturating_mul(FIXED_1 - exp));
    if active >= load {
        new = new.saturating_add(FIXED_1 - 1);
    }
    new / FIXED_1
}

impl LoadState {
    /// Advances the averages to `now_ns`, one step per elapsed 5 s with `running` runnable
    /// tasks (after 2000 steps, about 3 hours, the averages have converged; the rest is skipped).
    pub fn advance(&mut self, now_ns: u64, running: u32) {
        let steps = now_ns.saturating_sub(self.last_ns) / LOAD_FREQ_NS;
        let active = u64::from(running).saturating_mul(FIXED_1);
        for _ in 0..steps.min(2000) {
            for (a, e) in self.avg.iter_mut().zip(EXP) {
                *a = calc_load(*a, e, active);
            }
        }
        self.last_ns = self.last_ns.saturating_add(steps.saturating_mul(LOAD_FREQ_NS));
    }

    /// The averages in hundredths, as `/proc/loadavg` prints them (`LOAD_INT.LOAD_FRAC`).
    pub fn centis(&self) -> [u64; 3] {
        self.avg.map(|a| (a >> 11) * 100 + (((a & (FIXED_1 - 1)) * 100) >> 11))
    }
}

static LOAD: KMutex<LoadState> = KMutex::new(LoadState { last_ns: 0, avg: [0; 3] });

/// Feeds the load averages (the scheduler may call this from its clock tick with the number
/// of runnable tasks; otherwise reads of `/proc/loadavg` catch up by themselves).
pub fn sample_load(now_ns: u64, running: u32) {
    LOAD.lock().advance(now_ns, running);
}

// ---------------------------------------------------------------------------------------------
// CPU identity from CPUID

/// `(bit, name)` tables of the CPUID feature words Linux prints, in its capability-word order.
const FLAGS_1_EDX: &[(u32, &str)] = &[
    (0, "fpu"), (1, "vme"), (2, "de"), (3, "pse"), (4, "tsc"), (5, "msr"), (6, "pae"), (7, "mce"),
    (8, "cx8"), (9, "apic"), (11, "sep"), (12, "mtrr"), (13, "pge"), (14, "mca"), (15, "cmov"),
    (16, "pat"), (17, "pse36"), (18, "pn"), (19, "clflush"), (21, "dts"), (22, "acpi"), (23, "mmx"),
    (24, "fxsr"), (25, "sse"), (26, "sse2"), (27, "ss"), (28, "ht"), (29, "tm"), (30, "ia64"), (31, "pbe"),
];
const FLAGS_X1_EDX: &[(u32, &str)] = &[
    (11, "syscall"), (19, "mp"), (20, "nx"), (22, "mmxext"), (25, "fxsr_opt"), (26, "pdpe1gb"),
    (27, "rdtscp"), (29, "lm"), (30, "3dnowext"), (31, "3dnow"),
];
const FLAGS_1_ECX: &[(u32, &str)] = &[
    (0, "pni"), (1, "pclmulqdq"), (2, "dtes64"), (3, "monitor"), (4, "ds_cpl"), (5, "vmx"), (6, "smx"),
    (7, "est"), (8, "tm2"), (9, "ssse3"), (10, "cid"), (11, "sdbg"), (12, "fma"), (13, "cx16"),
    (14, "xtpr"), (15, "pdcm"), (17, "pcid"), (18, "dca"), (19, "sse4_1"), (20, "sse4_2"),
    (21, "x2apic"), (22, "movbe"), (23, "popcnt"), (24, "tsc_deadline_timer"), (25, "aes"),
    (26, "xsave"), (28, "avx"), (29, "f16c"), (30, "rdrand"), (31, "hypervisor"),
];
const FLAGS_X1_ECX: &[(u32, &str)] = &[
    (0, "lahf_lm"), (1, "cmp_legacy"), (2, "svm"), (3, "extapic"), (4, "cr8_legacy"), (5, "abm"),
    (6, "sse4a"), (7, "misalignsse"), (8, "3dnowprefetch"), (9, "osvw"), (10, "ibs"), (11, "xop"),
    (12, "skinit"), (13, "wdt"), (15, "lwp"), (16, "fma4"), (17, "tce"), (19, "nodeid_msr"),
    (21, "tbm"), (22, "topoext"), (23, "perfctr_core"), (24, "perfctr_nb"), (26, "bpext"),
    (27, "ptsc"), (28, "perfctr_llc"), (29, "mwaitx"),
];
const FLAGS_7_EBX: &[(u32, &str)] = &[
    (0, "fsgsbase"), (1, "tsc_adjust"), (2, "sgx"), (3, "bmi1"), (4, "hle"), (5, "avx2"), (7, "smep"),
    (8, "bmi2"), (9, "erms"), (10, "invpcid"), (11, "rtm"), (12, "cqm"), (14, "mpx"), (15, "rdt_a"),
    (16, "avx512f"), (17, "avx512dq"), (18, "rdseed"), (19, "adx"), (20, "smap"), (21, "avx512ifma"),
    (23, "clflushopt"), (24, "clwb"), (25, "intel_pt"), (26, "avx512pf"), (27, "avx512er"),
    (28, "avx512cd"), (29, "sha_ni"), (30, "avx512bw"), (31, "avx512vl"),
];
const FLAGS_D1_EAX: &[(u32, &str)] = &[(0, "xsaveopt"), (1, "xsavec"), (2, "xgetbv1"), (3, "xsaves")];
const FLAGS_X8_EBX: &[(u32, &str)] = &[
    (0, "clzero"), (1, "irperf"), (2, "xsaveerptr"), (4, "rdpru"), (9, "wbnoinvd"), (25, "virt_ssbd"),
    (27, "cppc"),
];
const FLAGS_6_EAX: &[(u32, &str)] = &[
    (0, "dtherm"), (1, "ida"), (2, "arat"), (4, "pln"), (6, "pts"), (7, "hwp"), (8, "hwp_notify"),
    (9, "hwp_act_window"), (10, "hwp_epp"), (11, "hwp_pkg_req"),
];
const FLAGS_7_ECX: &[(u32, &str)] = &[
    (1, "avx512vbmi"), (2, "umip"), (3, "pku"), (4, "ospke"), (5, "waitpkg"), (6, "avx512_vbmi2"),
    (8, "gfni"), (9, "vaes"), (10, "vpclmulqdq"), (11, "avx512_vnni"), (12, "avx512_bitalg"),
    (13, "tme"), (14, "avx512_vpopcntdq"), (16, "la57"), (22, "rdpid"), (24, "bus_lock_detect"),
    (25, "cldemote"), (27, "movdiri"), (28, "movdir64b"), (29, "enqcmd"), (30, "sgx_lc"),
];
const FLAGS_7_EDX: &[(u32, &str)] = &[
    (2, "avx512_4vnniw"), (3, "avx512_4fmaps"), (4, "fsrm"), (8, "avx512_vp2intersect"),
    (10, "md_clear"), (14, "serialize"), (16, "tsxldtrk"), (18, "pconfig"), (19, "arch_lbr"),
    (22, "amx_bf16"), (23, "avx512_fp16"), (24, "amx_tile"), (25, "amx_int8"), (28, "flush_l1d"),
    (29, "arch_capabilities"),
];

/// A CPUID query: `(leaf, subleaf) → [eax, ebx, ecx, edx]`.
pub type Cpuid<'a> = &'a dyn Fn(u32, u32) -> [u32; 4];

fn push_flags(out: &mut Vec<&'static str>, word: u32, table: &[(u32, &'static str)]) {
    out.extend(table.iter().filter(|(bit, _)| word & (1 << bit) != 0).map(|(_, n)| *n));
}

/// The processor brand string (leaves 0x8000_0002..4), trimmed; `None` if unsupported.
fn brand(q: Cpuid<'_>, max_ext: u32) -> Option<String> {
    if max_ext < 0x8000_0004 {
        return None;
    }
    let bytes: Vec<u8> = (0x8000_0002..=0x8000_0004u32).flat_map(|l| q(l, 0)).flat_map(u32::to_le_bytes).collect();
    let s = String::from_utf8_lossy(&bytes).trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string();
    (!s.is_empty()).then_some(s)
}

/// The clock in MHz: the hypervisor's TSC frequency (leaf 0x4000_0010, as KVM and VMware
/// publish it), else leaf 0x16's base frequency, else the brand string's `@ x.yzGHz`, else
/// 2000.
fn cpu_mhz(q: Cpuid<'_>, l: &Leaves, brand: &str) -> f64 {
    if l.l1[2] & (1 << 31) != 0 && q(0x4000_0000, 0)[0] >= 0x4000_0010 {
        let khz = q(0x4000_0010, 0)[0];
        if khz != 0 {
            return f64::from(khz) / 1000.0;
        }
    }
    if l.max_leaf >= 0x16 {
        let base = q(0x16, 0)[0] & 0xffff;
        if base != 0 {
            return f64::from(base);
        }
    }
    let ghz = brand.rsplit('@').next().and_then(|s| s.trim().strip_suffix("GHz")).and_then(|s| s.trim().parse::<f64>().ok());
    ghz.map(|g| g * 1000.0).unwrap_or(2000.0)
}

/// Family, model and stepping from leaf 1's EAX, with the extended fields as Linux combines
/// them (`x86_family`, `x86_model`).
fn family_model_stepping(eax: u32) -> (u32, u32, u32) {
    let base_family = (eax >> 8) & 0xf;
    let family = if base_family == 0xf { base_family + ((eax >> 20) & 0xff) } else { base_family };
    let mut model = (eax >> 4) & 0xf;
    if family >= 6 {
        model |= ((eax >> 16) & 0xf) << 4;
    }
    (family, model, eax & 0xf)
}

/// The CPUID leaves the flags and sizes come from (zero where the CPU lacks the leaf).
struct Leaves {
    max_leaf: u32,
    vendor: String,
    l1: [u32; 4],
    l6: [u32; 4],
    l7: [u32; 4],
    d1: [u32; 4],
    x1: [u32; 4],
    x7: [u32; 4],
    x8: [u32; 4],
    x6: [u32; 4],
    has_topology_leaf: bool,
    hypervisor_tsc: bool,
}

impl Leaves {
    fn read(q: Cpuid<'_>) -> Leaves {
        let l0 = q(0, 0);
        let max_leaf = l0[0];
        let max_ext = q(0x8000_0000, 0)[0];
        let std = |leaf: u32, sub: u32| if max_leaf >= leaf { q(leaf, sub) } else { [0; 4] };
        let ext = |leaf: u32| if max_ext >= leaf { q(leaf, 0) } else { [0; 4] };
        let l1 = std(1, 0);
        let hv = l1[2] & (1 << 31) != 0 && q(0x4000_0000, 0)[0] >= 0x4000_0010 && q(0x4000_0010, 0)[0] != 0;
        Leaves {
            max_leaf,
            vendor: [l0[1], l0[3], l0[2]].iter().flat_map(|r| r.to_le_bytes()).map(char::from).collect(),
            l1,
            l6: std(6, 0),
            l7: std(7, 0),
            d1: std(0xd, 1),
            x1: ext(0x8000_0001),
            x7: ext(0x8000_0007),
            x8: ext(0x8000_0008),
            x6: ext(0x8000_0006),
            has_topology_leaf: std(0xb, 0)[1] != 0,
            hypervisor_tsc: hv,
        }
    }

    fn is_amd(&self) -> bool {
        self.vendor == "AuthenticAMD" || self.vendor == "HygonGenuine"
    }
}

/// Linux's synthetic capability word 3 (what it derives rather than reads): invariant TSC,
/// `rep_good`/`nopl` (every x86-64 CPU), topology leaf, `cpuid`, hypervisor-known TSC.
fn synthetic_flags(l: &Leaves) -> Vec<&'static str> {
    let invariant_tsc = l.x7[3] & (1 << 8) != 0;
    let mut out = Vec::new();
    if invariant_tsc {
        out.push("constant_tsc");
    }
    out.extend(["rep_good", "nopl"]);
    if l.has_topology_leaf {
        out.push("xtopology");
    }
    if invariant_tsc {
        out.push("nonstop_tsc");
    }
    out.push("cpuid");
    if l.hypervisor_tsc {
        out.push("tsc_known_freq");
    }
    out
}

/// The `flags` line, in Linux's capability-word order.
fn cpu_flags(l: &Leaves) -> String {
    let mut flags = Vec::new();
    push_flags(&mut flags, l.l1[3], FLAGS_1_EDX);
    push_flags(&mut flags, l.x1[3], FLAGS_X1_EDX);
    flags.extend(synthetic_flags(l));
    push_flags(&mut flags, l.l1[2], FLAGS_1_ECX);
    push_flags(&mut flags, l.x1[2], FLAGS_X1_ECX);
    if l.is_amd() {
        flags.push("vmmcall");
    }
    push_flags(&mut flags, l.l7[1], FLAGS_7_EBX);
    push_flags(&mut flags, l.d1[0], FLAGS_D1_EAX);
    push_flags(&mut flags, l.x8[1], FLAGS_X8_EBX);
    push_flags(&mut flags, l.l6[0], FLAGS_6_EAX);
    push_flags(&mut flags, l.l7[2], FLAGS_7_ECX);
    push_flags(&mut flags, l.l7[3], FLAGS_7_EDX);
    flags.join(" ")
}

/// `cache size` in KiB as Linux reports it: the last-level cache from leaf 4 on Intel, the
/// L2 from leaf 0x8000_0006 elsewhere (`cpu_detect_cache_sizes`).
fn cache_kb(q: Cpuid<'_>, l: &Leaves) -> u32 {
    let l2 = l.x6[2] >> 16;
    if l.is_amd() || l.max_leaf < 4 {
        return l2;
    }
    let mut best = (0u32, 0u64);
    for sub in 0..16 {
        let [eax, ebx, ecx, _] = q(4, sub);
        if eax & 0x1f == 0 {
            break;
        }
        let level = (eax >> 5) & 7;
        let size = u64::from((ebx >> 22) + 1) * u64::from(((ebx >> 12) & 0x3ff) + 1) * u64::from((ebx & 0xfff) + 1) * (u64::from(ecx) + 1);
        if level >= best.0 {
            best = (level, size);
        }
    }
    match best.1 {
        0 => l2,
        b => u32::try_from(b / 1024).unwrap_or(u32::MAX),
    }
}

/// The `cpuinfo` description of one virtual CPU from CPUID answers (the guest runs on the
/// host CPU, so it reports the host's identity and features).
pub fn describe_cpu(q: Cpuid<'_>) -> CpuInfo {
    let l = Leaves::read(q);
    let max_ext = q(0x8000_0000, 0)[0];
    let model_name = brand(q, max_ext).unwrap_or_else(|| CpuInfo::default().model_name);
    CpuInfo {
        count: 1,
        mhz: cpu_mhz(q, &l, &model_name),
        vendor: l.vendor.clone(),
        model_name,
        family_model_stepping: family_model_stepping(l.l1[0]),
        cache_kb: cache_kb(q, &l),
        flags: cpu_flags(&l),
    }
}

/// The host CPU's CPUID (an unprivileged instruction; no host syscall).
fn host_cpuid(leaf: u32, sub: u32) -> [u32; 4] {
    let r = std::arch::x86_64::__cpuid_count(leaf, sub);
    [r.eax, r.ebx, r.ecx, r.edx]
}

// ---------------------------------------------------------------------------------------------
// Gathering facts from the kernel

/// The thread that speaks for `p`: its leader if alive, else any live thread.
fn representative(p: &Process, live: &[Arc<Task>]) -> Option<Arc<Task>> {
    live.iter().find(|t| t.tid == p.pid).or_else(|| live.first()).cloned()
}

/// A zombie's command name when no thread is left: the exec'd path's last component.
fn fallback_comm(exe_name: &[u8]) -> Vec<u8> {
    exe_name.rsplit(|b| *b == b'/').next().unwrap_or_default().to_vec()
}

/// Ignored and caught signal sets from the dispositions (bit `n-1` for signal `n`).
fn disposition_sets(p: &Process) -> (u64, u64) {
    let sighand = p.sighand();
    let h = sighand.lock();
    let (mut ign, mut cgt) = (0u64, 0u64);
    for signo in 1..=64u32 {
        let a = h.get(signo);
        if a.is_ignore() {
            ign |= 1 << (signo - 1);
        } else if !a.is_default() {
            cgt |= 1 << (signo - 1);
        }
    }
    (ign, cgt)
}

/// The namespace root paths are shown from (the caller's root, as `d_path` uses).
fn caller_root() -> Path {
    let k = kernel();
    match k.process(current_pid()) {
        Some(p) => {
            let fsc = p.fs();
            let root = fsc.lock().root.clone();
            root
        }
        None => k.vfs.root(),
    }
}

fn path_text(p: &Path, root: &Path) -> Vec<u8> {
    fs::path::d_path(p, root)
}

fn gather_mem(mm: &Arc<Mm>, exe_path: String) -> Option<MemFacts> {
    let g = mm.space.try_lock()?;
    let stats = g.stats();
    Some(MemFacts { maps: g.maps(), resident_pages: g.resident_pages(), vm_size: stats.vm_size, stack: stats.stack, brk_base: g.brk_base(), exe_path })
}

/// The executable's path as its mappings are named (from the namespace root, as
/// `Vfs::file_pages` names them).
fn exe_map_name(p: &Process) -> String {
    let exe = p.exe.lock().clone();
    exe.map(|e| String::from_utf8_lossy(&path_text(&e, &kernel().vfs.root())).into_owned()).unwrap_or_default()
}

/// Copies one process's facts out of the kernel. `thread` narrows the view to one task
/// (`/proc/<tid>` of a non-leader thread).
fn gather(p: &Arc<Process>, thread: Option<&Arc<Task>>) -> ProcFacts {
    let exit = *p.exit_status.lock();
    let live = if exit.is_some() { Vec::new() } else { p.live_threads() };
    let rep = thread.cloned().or_else(|| representative(p, &live));
    let comm = match &rep {
        Some(t) => t.comm.lock().clone(),
        None => fallback_comm(&p.exe_name.lock()),
    };
    let state = match (&rep, exit) {
        (Some(t), None) if t.ptrace.lock().stop.is_some() => 't',
        (Some(t), None) => t.state() as u8 as char,
        _ => 'Z',
    };
    let mut times = *p.cputime.lock();
    for t in &live {
        times.user_ns = times.user_ns.saturating_add(t.user_ns.load(Ordering::Relaxed));
        times.system_ns = times.system_ns.saturating_add(t.system_ns.load(Ordering::Relaxed));
    }
    // The facts below come from locks the caller may hold itself (a `/proc/PID` file closed
    // while the fd table is locked, read while the address space is): such a fact is left
    // out rather than waited for, which on the one kernel thread would never end.
    let (pending, blocked) = rep.as_ref().and_then(|t| {
        let s = t.signals.try_lock()?;
        Some((s.pending.set.0, s.mask.0))
    }).unwrap_or((0, 0));
    let (ignored, caught) = disposition_sets(p);
    let mem = match (&rep, exit) {
        (Some(t), None) => gather_mem(&t.mm(), exe_map_name(p)),
        _ => None,
    };
    let files = p.files();
    let max_fd = files.try_lock().and_then(|f| f.fds().last().and_then(|fd| u32::try_from(*fd).ok()));
    let fsc = p.fs();
    let umask = fsc.try_lock().map_or(0o022, |f| f.umask);
    ProcFacts {
        pid: thread.map(|t| t.tid).unwrap_or(p.pid),
        comm,
        state,
        ppid: p.ppid(),
        tracer_pid: rep.as_ref().and_then(|t| t.ptrace.lock().tracer()).map_or(0, |t| t.pid),
        pgid: p.pgid.load(Ordering::Relaxed),
        sid: p.sid.load(Ordering::Relaxed),
        creds: p.creds(),
        umask,
        threads: u32::try_from(live.len()).unwrap_or(u32::MAX),
        times,
        start_time_ns: p.start_time_ns,
        nice: rep.as_ref().map(|t| t.nice.load(Ordering::Relaxed)).unwrap_or(0),
        exit_signal: i32::try_from(p.exit_signal).unwrap_or(0),
        mem,
        signals: [pending, 0, blocked, ignored, caught],
        max_fd,
        arg_range: *p.arg_range.lock(),
        env_range: *p.env_range.lock(),
        exit,
        ctty: crate::tty_glue::ctty_stat(p),
    }
}

/// The process `/proc/<id>` names: a process by pid, or (for a thread id) the thread's
/// process with that thread in view.
fn lookup(id: u32) -> Option<(Arc<Process>, Option<Arc<Task>>)> {
    let k = kernel();
    if let Some(p) = k.process(id) {
        return Some((p, None));
    }
    let t = k.task(id)?;
    Some((t.process.clone(), Some(t)))
}

/// Reads `[start, end)` of guest memory page by page, stopping at the first inaccessible one.
fn read_area(mm: &Arc<Mm>, (start, end): (u64, u64)) -> Vec<u8> {
    let len = end.saturating_sub(start).min(MAX_ARG_AREA);
    let mut out = Vec::new();
    let mut addr = start;
    let stop = start.saturating_add(len);
    while addr < stop {
        let page_end = (addr | 0xfff).saturating_add(1).min(stop);
        let mut buf = vec![0u8; (page_end - addr) as usize];
        if mm.space.lock().read(addr, &mut buf).is_err() {
            break;
        }
        out.extend_from_slice(&buf);
        addr = page_end;
    }
    out
}

/// `/proc/<pid>/mem` open (Linux's `mem_rw` with `FOLL_FORCE`): the file offset is the address;
/// reads and writes reach pages the process itself could not write (a debugger's breakpoints
/// in program text land in a private copy). Nothing readable at the offset: `EIO`. After the
/// process execs or exits, the old memory is gone and reads return 0.
struct MemFile {
    mm: std::sync::Weak<Mm>,
}

impl fs::FileLike for MemFile {
    fn read(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        let Some(mm) = self.mm.upgrade() else { return Ok(0) };
        let n = mm.space.lock().read_forced(offset, buf);
        if n == 0 && !buf.is_empty() {
            return Err(Errno::EIO);
        }
        Ok(n)
    }
    fn write(&self, data: &[u8], offset: u64) -> KResult<usize> {
        let Some(mm) = self.mm.upgrade() else { return Ok(0) };
        let n = mm.space.lock().write_forced(offset, data);
        if n == 0 && !data.is_empty() {
            return Err(Errno::EIO);
        }
        Ok(n)
    }
    fn seekable(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// May the caller look inside `target` (`ptrace_may_access` with filesystem credentials):
/// root, or the same fsuid/fsgid as all of the target's uids/gids.
fn may_inspect(target: &Credentials) -> bool {
    let Some(me) = kernel().process(current_pid()) else { return true };
    let c = me.creds();
    c.capable(fs::capability::cap::SYS_PTRACE)
        || ([target.uid, target.euid, target.suid].iter().all(|u| *u == c.fsuid)
            && [target.gid, target.egid, target.sgid].iter().all(|g| *g == c.fsgid))
}

/// The caller-visible process `id` or `ENOENT`; `EACCES` if it may not be inspected.
fn inspectable(id: u32) -> KResult<Arc<Process>> {
    let (p, _) = lookup(id).ok_or(Errno::ENOENT)?;
    if !may_inspect(&p.creds()) {
        return Err(Errno::EACCES);
    }
    Ok(p)
}

fn pid_area(id: u32, what: PidBytes) -> KResult<Vec<u8>> {
    let (p, thread) = lookup(id).ok_or(Errno::ENOENT)?;
    if what == PidBytes::Environ && !may_inspect(&p.creds()) {
        return Err(Errno::EACCES);
    }
    if p.is_zombie() {
        return Ok(Vec::new());
    }
    let live = p.live_threads();
    let Some(t) = thread.or_else(|| representative(&p, &live)) else { return Ok(Vec::new()) };
    let mm = t.mm();
    let (args, env) = (*p.arg_range.lock(), *p.env_range.lock());
    Ok(match what {
        PidBytes::Cmdline => {
            let a = read_area(&mm, args);
            let follows = env.0 == args.1 && a.last().is_some_and(|b| *b != 0);
            cmdline_from(&a, &if follows { read_area(&mm, env) } else { Vec::new() })
        }
        PidBytes::Environ => read_area(&mm, env),
        PidBytes::Maps => {
            let maps = mm.space.lock().maps();
            maps_text(&maps)
        }
        PidBytes::Limits => limits_text(&p.rlimits.lock()),
    })
}

/// `/proc/<pid>/limits` (Linux's `proc_pid_limits`: name, soft, hard, unit per limit).
fn limits_text(limits: &[(u64, u64); 16]) -> Vec<u8> {
    const NAMES: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let show = |v: u64| if v == u64::MAX { "unlimited".to_string() } else { v.to_string() };
    let mut s = format!("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
    for ((name, unit), (cur, max)) in NAMES.iter().zip(limits.iter()) {
        s.push_str(&format!("{:<25} {:<20} {:<20} ", name, show(*cur), show(*max)));
        if !unit.is_empty() {
            s.push_str(&format!("{unit:<10}"));
        }
        s.push('\n');
    }
    s.into_bytes()
}

/// What an fd link shows for an open file with no path (`pipe:[ino]`, the console, Linux's
/// anonymous-inode names such as `anon_inode:[eventpoll]`).
fn anon_fd_name(f: &OpenFile) -> Vec<u8> {
    if let Some(end) = crate::pipe::pipe_end(f) {
        return format!("pipe:[{}]", end.ino()).into_bytes();
    }
    if let Some(sock) = crate::net::socket_of(f) {
        return format!("socket:[{}]", sock.ino()).into_bytes();
    }
    let Some(any) = f.file_like().map(|l| l.as_any()) else { return b"anon_inode:[umbra]".to_vec() };
    if any.is::<crate::console::Console>() || any.is::<crate::tty::Tty>() {
        return b"/dev/console".to_vec();
    }
    if crate::pidfd::pidfd_of(f).is_some() {
        return b"anon_inode:[pidfd]".to_vec();
    }
    let name = if any.is::<crate::epoll::Epoll>() {
        "eventpoll"
    } else if any.is::<crate::signalfd::SignalFd>() {
        "signalfd"
    } else if any.is::<crate::timers::eventfd::EventFd>() {
        "eventfd"
    } else if any.is::<crate::timers::timerfd::TimerFd>() {
        "timerfd"
    } else {
        "umbra"
    };
    format!("anon_inode:[{name}]").into_bytes()
}

/// Counts of (runnable, all) tasks.
fn task_counts() -> (u32, u32) {
    let tasks: Vec<Arc<Task>> = kernel().tasks.lock().values().filter_map(|t| t.upgrade()).collect();
    let live: Vec<&Arc<Task>> = tasks.iter().filter(|t| !t.exited.load(Ordering::Relaxed)).collect();
    let running = live.iter().filter(|t| t.state() == crate::task::TaskState::Running).count();
    (u32::try_from(running).unwrap_or(u32::MAX).max(1), u32::try_from(live.len()).unwrap_or(u32::MAX))
}

/// CPU time of all processes (exited threads, waited children, live threads): (user, system).
fn busy_ns() -> (u64, u64) {
    let procs: Vec<Arc<Process>> = kernel().processes.lock().values().filter_map(|p| p.upgrade()).collect();
    let (mut user, mut sys) = (0u64, 0u64);
    for p in procs {
        let t: TaskCpuTimes = *p.cputime.lock();
        user = user.saturating_add(t.user_ns).saturating_add(t.children_user_ns);
        sys = sys.saturating_add(t.system_ns).saturating_add(t.children_system_ns);
        for th in p.live_threads() {
            user = user.saturating_add(th.user_ns.load(Ordering::Relaxed));
            sys = sys.saturating_add(th.system_ns.load(Ordering::Relaxed));
        }
    }
    (user, sys)
}

/// The most recently allocated pid.
fn last_pid() -> u32 {
    let next = *kernel().next_pid.lock();
    next.saturating_sub(1).max(1)
}

// ---------------------------------------------------------------------------------------------
// The provider

/// The `ProcProvider` over the global kernel.
pub struct KernelProcProvider;

impl ProcProvider for KernelProcProvider {
    fn current_pid(&self) -> u32 {
        current_pid()
    }

    fn current_tid(&self) -> u32 {
        current_tid()
    }

    fn pids(&self) -> Vec<u32> {
        let procs = kernel().processes.lock();
        procs.iter().filter(|(_, p)| p.strong_count() > 0).map(|(pid, _)| *pid).collect()
    }

    fn process(&self, pid: u32) -> Option<ProcessInfo> {
        let (p, thread) = lookup(pid)?;
        let mut info = process_info(&gather(&p, thread.as_ref()));
        info.oom_score_adj = p.oom_score_adj.load(std::sync::atomic::Ordering::Relaxed);
        info.oom_score = crate::oom::oom_score(&p);
        Some(info)
    }

    fn pid_bytes(&self, pid: u32, what: PidBytes) -> KResult<Vec<u8>> {
        pid_area(pid, what)
    }

    fn pid_mem(&self, pid: u32) -> KResult<Arc<dyn fs::FileLike>> {
        let (p, thread) = lookup(pid).ok_or(Errno::ENOENT)?;
        if !may_inspect(&p.creds()) {
            return Err(Errno::EACCES);
        }
        let task = thread.or_else(|| representative(&p, &p.live_threads())).ok_or(Errno::ESRCH)?;
        Ok(Arc::new(MemFile { mm: Arc::downgrade(&task.mm()) }))
    }

    fn pid_link(&self, pid: u32, what: PidLink) -> KResult<Vec<u8>> {
        let p = inspectable(pid)?;
        if p.is_zombie() {
            return Err(Errno::ENOENT);
        }
        let target = match what {
            PidLink::Exe => p.exe.lock().clone().ok_or(Errno::ENOENT)?,
            PidLink::Cwd => p.fs().lock().cwd.clone(),
            PidLink::Root => p.fs().lock().root.clone(),
        };
        Ok(path_text(&target, &caller_root()))
    }

    fn pid_threads(&self, pid: u32) -> KResult<Vec<u32>> {
        let (p, _) = lookup(pid).ok_or(Errno::ENOENT)?;
        let mut tids: Vec<u32> = p.live_threads().iter().map(|t| t.tid).collect();
        tids.sort_unstable();
        Ok(tids)
    }

    fn pid_fds(&self, pid: u32) -> KResult<Vec<u32>> {
        let p = inspectable(pid)?;
        let files = p.files();
        let fds = files.lock().fds();
        Ok(fds.into_iter().filter_map(|fd| u32::try_from(fd).ok()).collect())
    }

    fn pid_fd_link(&self, pid: u32, fd: u32) -> KResult<Vec<u8>> {
        let p = inspectable(pid)?;
        let fd = i32::try_from(fd).map_err(|_| Errno::ENOENT)?;
        let files = p.files();
        let file = files.lock().get(fd).map_err(|_| Errno::ENOENT)?;
        Ok(match file.path() {
            Some(path) => path_text(path, &caller_root()),
            None => anon_fd_name(&file),
        })
    }

    fn pid_fd_path(&self, pid: u32, fd: u32) -> Option<KResult<Path>> {
        let p = match inspectable(pid) {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        let Ok(fd) = i32::try_from(fd) else { return Some(Err(Errno::ENOENT)) };
        let files = p.files();
        let file = files.lock().get(fd);
        match file {
            Ok(f) => f.path().cloned().map(Ok),
            Err(_) => Some(Err(Errno::ENOENT)),
        }
    }

    fn meminfo(&self) -> MemInfo {
        let f = &kernel().frames;
        meminfo_from(f.total_frames(), f.free_frames(), kernel().vfs.page_cache().cached_pages())
    }

    fn uptime(&self) -> Uptime {
        let (u, s) = busy_ns();
        uptime_from(kernel().uptime_ns(), u.saturating_add(s))
    }

    fn loadavg(&self) -> LoadAvg {
        let (running, total) = task_counts();
        let mut load = LOAD.lock();
        load.advance(kernel().uptime_ns(), running);
        LoadAvg { load_centis: load.centis(), running, total, last_pid: last_pid() }
    }

    fn cpuinfo(&self) -> CpuInfo {
        static CPU: OnceLock<CpuInfo> = OnceLock::new();
        CPU.get_or_init(|| describe_cpu(&host_cpuid)).clone()
    }

    fn stat(&self) -> KernelStat {
        let k = kernel();
        let (user, sys) = busy_ns();
        let up = k.uptime_ns();
        let idle = up.saturating_sub(user.saturating_add(sys));
        let cpu = CpuTimes { user: user / NS_PER_TICK, system: sys / NS_PER_TICK, idle: idle / NS_PER_TICK, ..CpuTimes::default() };
        let btime = k.boot_wall.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let (running, _) = task_counts();
        KernelStat { cpus: vec![cpu], ctxt: 0, btime, processes: u64::from(last_pid()), running, blocked: 0 }
    }

    fn uname(&self) -> Uname {
        let nodename = String::from_utf8_lossy(&kernel().hostname.lock()).into_owned();
        Uname { sysname: "Linux".into(), release: RELEASE.into(), version: VERSION.into(), nodename }
    }

    fn cmdline(&self) -> String {
        kernel().cmdline.clone()
    }

    fn sysctl(&self, path: &str) -> Option<String> {
        let k = kernel();
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        match path {
            "kernel/hostname" => Some(text(&k.hostname.lock())),
            "kernel/domainname" => Some(text(&k.domainname.lock())),
            "kernel/random/boot_id" => Some(k.boot_id.clone()),
            "kernel/random/uuid" => Some(crate::task::kernel::random_uuid()),
            _ => k.sysctls.lock().get(path).cloned().or_else(|| fs::procfs::provider::default_sysctl(path).map(str::to_string)),
        }
    }

    /// Root's writes to `/proc/sys`: the host and domain names (at most 64 bytes, as
    /// `sethostname`), and numeric tunables (whitespace-separated integers, stored
    /// tab-separated as Linux prints them; `EINVAL` for anything else).
    /// `audit_set_loginuid`: only the process itself; an unset login uid may be set by
    /// anyone, a set one only with `CAP_AUDIT_CONTROL`; setting one starts a new session id.
    fn set_loginuid(&self, pid: u32, uid: u32) -> KResult<()> {
        static SESSIONS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        if pid != current_pid() {
            return Err(Errno::EPERM);
        }
        let p = kernel().process(pid).ok_or(Errno::ESRCH)?;
        let mut c = p.creds.lock();
        if c.loginuid != u32::MAX && !c.capable(fs::capability::cap::AUDIT_CONTROL) {
            return Err(Errno::EPERM);
        }
        c.loginuid = uid;
        c.sessionid = if uid == u32::MAX { u32::MAX } else { SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed).wrapping_add(1) };
        Ok(())
    }

    /// Linux's `__set_oom_adj`: going below `oom_score_adj_min` needs `CAP_SYS_RESOURCE`
    /// (`EACCES`), and a writer with it moves that minimum; the file's mode already limits
    /// writers to the process's owner.
    fn set_oom_score_adj(&self, pid: u32, adj: i32) -> KResult<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let (p, _) = lookup(pid).ok_or(Errno::ESRCH)?;
        let me = kernel().process(current_pid()).ok_or(Errno::ESRCH)?;
        let privileged = me.creds.lock().capable(fs::capability::cap::SYS_RESOURCE);
        if adj < p.oom_score_adj_min.load(Relaxed) && !privileged {
            return Err(Errno::EACCES);
        }
        p.oom_score_adj.store(adj, Relaxed);
        if privileged {
            p.oom_score_adj_min.store(adj, Relaxed);
        }
        Ok(())
    }

    fn set_sysctl(&self, path: &str, value: &[u8]) -> KResult<()> {
        let k = kernel();
        match path {
            "kernel/hostname" | "kernel/domainname" => {
                if value.len() > 64 {
                    return Err(Errno::EINVAL);
                }
                let slot = if path == "kernel/hostname" { &k.hostname } else { &k.domainname };
                *slot.lock() = value.to_vec();
                Ok(())
            }
            _ => {
                let default = fs::procfs::provider::default_sysctl(path).ok_or(Errno::EINVAL)?;
                let text = std::str::from_utf8(value).map_err(|_| Errno::EINVAL)?;
                let nums: Vec<i64> = text.split_whitespace().map(|t| t.parse::<i64>().map_err(|_| Errno::EINVAL)).collect::<KResult<_>>()?;
                let fields = default.split('\t').count();
                if nums.is_empty() || nums.len() > fields {
                    return Err(Errno::EINVAL);
                }
                let shown: Vec<String> = nums.iter().map(i64::to_string).collect();
                k.sysctls.lock().insert(path.to_string(), shown.join("\t"));
                Ok(())
            }
        }
    }

    fn net_unix(&self) -> String {
        crate::net::unix::proc::text()
    }

    fn net_inet(&self, name: &str) -> String {
        crate::net::inet::proc::text(name)
    }

    fn sysvipc(&self, name: &str) -> String {
        crate::ipc::proc_sysvipc(name.as_bytes()).unwrap_or_default()
    }

    fn net_interfaces(&self) -> Vec<fs::sysfs::NetIf> {
        let to_netif = |i: crate::net::rtnetlink::Interface| fs::sysfs::NetIf { index: i.index, name: i.name.to_string(), flags: i.flags, hw_type: i.hw_type, mtu: i.mtu, mac: i.mac };
        crate::net::rtnetlink::interfaces().into_iter().map(to_netif).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use fs::procfs::format;

    fn map(start: u64, end: u64, prot: Prot, name: &str) -> MapInfo {
        MapInfo { start, end, prot, shared: false, offset: 0, name: name.into() }
    }

    fn sample() -> ProcFacts {
        let rx = Prot::READ | Prot::EXEC;
        let rw = Prot::READ | Prot::WRITE;
        let maps = vec![
            map(0x400000, 0x401000, Prot::READ, "/bin/sh"),
            map(0x401000, 0x4a1000, rx, "/bin/sh"),
            map(0x4c0000, 0x4c4000, rw, "/bin/sh"),
            map(0x4c4000, 0x4e8000, rw, "[heap]"),
            map(0x7f00_0000_0000, 0x7f00_0002_0000, rx, "/lib/libc.so.6"),
            map(0x7ffd_0000_0000, 0x7ffd_0002_1000, rw, "[stack]"),
        ];
        let mem = MemFacts { maps, resident_pages: 300, vm_size: 0x2_0000 * 8, stack: 0x21000, brk_base: 0x4c4000, exe_path: "/bin/sh".into() };
        ProcFacts {
            pid: 42,
            comm: b"sh".to_vec(),
            state: 'S',
            ppid: 1,
            tracer_pid: 0,
            pgid: 42,
            sid: 1,
            creds: Credentials { groups: vec![100, 27], ..Credentials::user(1000, 100) },
            umask: 0o022,
            threads: 1,
            times: TaskCpuTimes { user_ns: 250_000_000, system_ns: 30_000_000, children_user_ns: 1_000_000_000, children_system_ns: 0 },
            start_time_ns: 1_230_000_000,
            nice: 0,
            exit_signal: 17,
            mem: Some(mem),
            signals: [0, 0, 1 << 1, 1 << 2, (1 << 16) | (1 << 1)],
            max_fd: Some(10),
            arg_range: (0x7ffd_0001_f000, 0x7ffd_0001_f010),
            env_range: (0x7ffd_0001_f010, 0x7ffd_0001_f100),
            exit: None,
            ctty: (0, -1),
        }
    }

    #[test]
    fn procfs_pid_stat_has_52_linux_fields() {
        let info = process_info(&sample());
        let s = format::pid_stat(&info);
        let fields: Vec<&str> = s.split_whitespace().collect();
        assert_eq!(fields.len(), 52);
        assert_eq!(&fields[..8], &["42", "(sh)", "S", "1", "42", "1", "0", "-1"]);
        assert_eq!(fields[13], "25", "utime in ticks");
        assert_eq!(fields[14], "3", "stime in ticks");
        assert_eq!(fields[15], "100", "cutime");
        assert_eq!(fields[17], "20", "priority");
        assert_eq!(fields[18], "0", "nice");
        assert_eq!(fields[19], "1", "num_threads");
        assert_eq!(fields[21], "123", "starttime in ticks");
        assert_eq!(fields[23], "300", "rss pages");
        assert_eq!(fields[25], &0x401000u64.to_string(), "start_code");
        assert_eq!(fields[26], &0x4a1000u64.to_string(), "end_code");
        assert_eq!(fields[37], "17", "exit_signal");
        assert_eq!(fields[46], &0x4c4000u64.to_string(), "start_brk");
        assert_eq!(fields[47], &0x7ffd_0001_f000u64.to_string(), "arg_start");
        assert_eq!(fields[51], "0", "exit_code");
    }

    #[test]
    fn procfs_pid_status_lines() {
        let info = process_info(&sample());
        let s = format::pid_status(&info);
        for line in [
            "Name:\tsh",
            "Umask:\t0022",
            "State:\tS (sleeping)",
            "Tgid:\t42",
            "Pid:\t42",
            "PPid:\t1",
            "Uid:\t1000\t1000\t1000\t1000",
            "Gid:\t100\t100\t100\t100",
            "FDSize:\t64",
            "Groups:\t100 27 ",
            "VmRSS:\t    1200 kB",
            "VmStk:\t     132 kB",
            "VmExe:\t     640 kB",
            "VmLib:\t     128 kB",
            "Threads:\t1",
            "SigBlk:\t0000000000000002",
            "SigIgn:\t0000000000000004",
            "SigCgt:\t0000000000010002",
        ] {
            assert!(s.lines().any(|l| l == line), "missing {line:?} in\n{s}");
        }
        let data_kb = (0x4000 + 0x24000) / 1024;
        assert!(s.contains(&format!("VmData:\t{data_kb:>8} kB\n")));
    }

    #[test]
    fn procfs_zombie_has_no_memory() {
        let mut f = sample();
        f.state = 'Z';
        f.mem = None;
        f.threads = 0;
        f.exit = Some(ExitStatus::Exited(3));
        let info = process_info(&f);
        let s = format::pid_stat(&info);
        let fields: Vec<&str> = s.split_whitespace().collect();
        assert_eq!(fields.len(), 52);
        assert_eq!(fields[2], "Z");
        assert_eq!(fields[22], "0", "vsize");
        assert_eq!(fields[51], "768", "exit_code is the wait status");
        assert!(!format::pid_status(&info).contains("VmSize"));
    }

    #[test]
    fn procfs_fd_size_grows_like_linux() {
        assert_eq!(fd_size(None), 64);
        assert_eq!(fd_size(Some(63)), 64);
        assert_eq!(fd_size(Some(64)), 128);
        assert_eq!(fd_size(Some(255)), 256);
        assert_eq!(fd_size(Some(256)), 512);
        assert_eq!(fd_size(Some(1000)), 1024);
        assert_eq!(fd_size(Some(u32::MAX)), u32::MAX);
    }

    #[test]
    fn procfs_comm_is_truncated_and_falls_back() {
        let mut f = sample();
        f.comm = b"a-very-long-command-name".to_vec();
        assert_eq!(process_info(&f).comm, "a-very-long-com");
        assert_eq!(fallback_comm(b"/usr/bin/sleep"), b"sleep");
        assert_eq!(fallback_comm(b"prog"), b"prog");
    }

    #[test]
    fn procfs_maps_text_lines() {
        let maps = vec![map(0x400000, 0x401000, Prot::READ | Prot::EXEC, "/bin/true"), map(0x1000_0000, 0x1000_1000, Prot::READ | Prot::WRITE, "")];
        let t = String::from_utf8(maps_text(&maps)).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("00400000-00401000 r-xp 00000000 00:00 0 "));
        assert!(lines[0].ends_with(" /bin/true"));
        assert_eq!(lines[1], "10000000-10001000 rw-p 00000000 00:00 0 ");
        assert!(t.ends_with('\n'));
        assert!(maps_text(&[]).is_empty());
    }

    #[test]
    fn procfs_cmdline_and_proctitle() {
        assert_eq!(cmdline_from(b"ls\0-l\0", b"HOME=/\0"), b"ls\0-l\0");
        assert_eq!(cmdline_from(b"", b""), b"");
        // setproctitle overwrote the final NUL: read on into the environment area up to a NUL.
        assert_eq!(cmdline_from(b"daemon: idle", b" worker\0HOME=/\0"), b"daemon: idle worker\0");
        assert_eq!(cmdline_from(b"abc", b""), b"abc");
    }

    #[test]
    fn procfs_meminfo_and_uptime() {
        let m = meminfo_from(65536, 60000, 0);
        assert_eq!((m.total_kb, m.free_kb, m.available_kb, m.anon_kb), (262144, 240000, 240000, 22144));
        let c = meminfo_from(65536, 60000, 1000);
        assert_eq!((c.cached_kb, c.available_kb, c.anon_kb), (4000, 244000, 18144), "page-cache frames are Cached, not anonymous");
        let text = format::meminfo(&m);
        assert!(text.starts_with("MemTotal:         262144 kB\nMemFree:          240000 kB\nMemAvailable:     240000 kB\n"));
        assert!(text.contains("\nSwapTotal:             0 kB\nSwapFree:              0 kB\n"));
        assert_eq!(meminfo_from(10, 20, 0).free_kb, 40, "free never exceeds total");
        let u = uptime_from(12_345_000_000, 2_000_000_000);
        assert_eq!(format::uptime(&u), "12.34 10.34\n");
        assert_eq!(uptime_from(5, 10).idle_centis, 0);
    }

    #[test]
    fn procfs_load_average_decays_like_linux() {
        let mut l = LoadState::default();
        l.advance(4_999_999_999, 1);
        assert_eq!(l.avg, [0; 3], "no step before 5 s");
        l.advance(5_000_000_000, 1);
        // One step toward 1.0: calc_load(0, 1884, 2048) = (0 + 2048*164 + 2047) / 2048 = 164.
        assert_eq!(l.avg[0], 164);
        assert_eq!(l.centis()[0], 8);
        l.advance(3600 * 1_000_000_000, 1);
        assert_eq!(l.centis(), [100, 100, 100], "converged (calc_load rounds up while rising)");
        l.advance(u64::MAX, 0);
        assert_eq!(l.centis(), [0, 0, 0], "decays back to zero when idle");
        let text = format::loadavg(&LoadAvg { load_centis: [100, 100, 99], running: 1, total: 3, last_pid: 57 });
        assert_eq!(text, "1.00 1.00 0.99 1/3 57\n");
    }

    /// A fake CPU: an Intel with AVX2 and a brand string.
    fn fake_cpuid(leaf: u32, sub: u32) -> [u32; 4] {
        let brand = *b"Intel(R) Xeon(R) CPU @ 2.20GHz\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        let word = |i: usize| u32::from_le_bytes([brand[i], brand[i + 1], brand[i + 2], brand[i + 3]]);
        let brand_leaf = |n: usize| [word(n * 16), word(n * 16 + 4), word(n * 16 + 8), word(n * 16 + 12)];
        match (leaf, sub) {
            (0, _) => [0xd, u32::from_le_bytes(*b"Genu"), u32::from_le_bytes(*b"ntel"), u32::from_le_bytes(*b"ineI")],
            // family 6, model 0x55 (ext 5, base 5), stepping 7
            (1, _) => [0x0005_0657, 0, (1 << 0) | (1 << 28), (1 << 0) | (1 << 25) | (1 << 26)],
            (7, 0) => [0, 1 << 5, 0, 1 << 10],
            (0xd, 1) => [1, 0, 0, 0],
            (0x8000_0000, _) => [0x8000_0006, 0, 0, 0],
            (0x8000_0001, _) => [0, 0, 1, (1 << 11) | (1 << 20) | (1 << 29)],
            (0x8000_0002, _) => brand_leaf(0),
            (0x8000_0003, _) => brand_leaf(1),
            (0x8000_0004, _) => brand_leaf(2),
            (0x8000_0006, _) => [0, 0, 1024 << 16, 0],
            // L1d (level 1, type 1) then L3 (level 3, type 3): 16 ways x 1 x 64 B x 2048 sets = 2 MiB
            (4, 0) => [(1 << 5) | 1, (7 << 22) | 63, 63, 0],
            (4, 1) => [(3 << 5) | 3, (15 << 22) | 63, 2047, 0],
            (6, _) => [1 << 2, 0, 0, 0],
            _ => [0; 4],
        }
    }

    #[test]
    fn procfs_cpuinfo_from_cpuid() {
        let c = describe_cpu(&fake_cpuid);
        assert_eq!(c.vendor, "GenuineIntel");
        assert_eq!(c.model_name, "Intel(R) Xeon(R) CPU @ 2.20GHz");
        assert_eq!(c.family_model_stepping, (6, 0x55, 7));
        assert_eq!(c.mhz, 2200.0);
        assert_eq!(c.cache_kb, 2048, "Intel: the last level from leaf 4");
        assert_eq!(c.flags, "fpu sse sse2 syscall nx lm rep_good nopl cpuid pni avx lahf_lm avx2 xsaveopt arat md_clear");
        let text = format::cpuinfo(&c);
        assert!(text.starts_with("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"));
        assert_eq!(text.matches("processor\t:").count(), 1);
        // The host's own CPUID gives a sane description too.
        let host = describe_cpu(&host_cpuid);
        assert!(host.flags.contains("fpu") && host.flags.contains("lm"), "{}", host.flags);
        assert_eq!(host.vendor.len(), 12);
    }

    #[test]
    fn procfs_family_model_extended_fields() {
        assert_eq!(family_model_stepping(0x00a2_0f10), (0x19, 0x21, 0), "AMD Zen 3: family 0xf + 0xa");
        assert_eq!(family_model_stepping(0x0000_0f41), (0xf, 4, 1));
    }

    #[test]
    fn procfs_current_pid_defaults_to_init() {
        assert_eq!(current_pid(), 1);
        set_current_task(7, 9);
        assert_eq!((current_pid(), current_tid()), (7, 9));
        set_current_pid(12);
        assert_eq!((current_pid(), current_tid()), (12, 12));
        set_current_task(0, 0);
        assert_eq!(current_pid(), 1);
    }
}
