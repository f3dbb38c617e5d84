//! The guest vDSO and its clock (Linux's `arch/x86/entry/vdso/vma.c` for the mapping and
//! `kernel/time/vsyscall.c` for the data page; gVisor's `loader/vdso.go` and `VDSOParamPage`).
//!
//! At boot the kernel puts the vDSO image (built in arch-um) and one vvar page into frames of
//! guest memory, once. Every `execve` maps those same frames into the new address space — the
//! vvar read-only, the text read+exec, right above it — and passes the text's address as
//! `AT_SYSINFO_EHDR`, so glibc's and musl's `clock_gettime`, `gettimeofday` and `time` run in the
//! guest without a syscall (a ptrace round trip here).
//!
//! The vvar holds the TSC-to-time parameters. The kernel's own clocks (`time.rs`) read the host:
//! `CLOCK_MONOTONIC` counts from boot, `CLOCK_REALTIME` is the host's. The vvar's clock follows
//! them: it is rebased from a kernel timer (50 ms and 250 ms after boot, then every second, and
//! on `clock_was_set`), each time refining the TSC frequency over the whole run and *slewing*
//! — not stepping — the rate for the next period so the vDSO's clock meets the kernel's again
//! at the end of it, as NTP does. So the vDSO's `CLOCK_MONOTONIC` never goes backwards and stays
//! within a microsecond or so of the syscall's. Offsets beyond `STEP_NS` are stepped.
//! With no invariant TSC the vvar says "unusable" and every call falls back to the syscall.
//! The kernel command-line word `vdso=0` (as Linux's) gives guests no vDSO at all.

use crate::task::kernel::kernel;
use arch_um::vdso::{self as hw, ClockSample, TscScale, Vvar, VDSO_IMAGE, VDSO_PAGES, VVAR_PAGES};
use fs::klock::KMutex;
use mm::{Backing, FrameAllocator, FrameNo, MapOptions, MemorySpace, PageSource};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use uapi::mman::{MapFlags, Prot, PAGE_SIZE};
use uapi::{Errno, KResult};

/// How long the TSC is measured against the host's monotonic clock at boot (it delays every
/// boot by this much). Each sample pair is good to a few tens of ns, so this first estimate is
/// within ~10 ppm; the rebases 50 and 250 ms later measure over longer baselines.
const CALIBRATION: Duration = Duration::from_millis(5);
/// The delays before the first rebases (at 50 ms and 250 ms): short ones first, so the
/// frequency estimate improves quickly; then `REBASE_PERIOD` for ever.
const EARLY_REBASES: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(200)];
/// The steady rebase period.
const REBASE_PERIOD: Duration = Duration::from_secs(1);
/// An offset from the kernel's clock larger than this is stepped rather than slewed.
const STEP_NS: i128 = 50_000_000;
/// The largest rate change of a slew, as a fraction of the period (5 %).
const MAX_SLEW_DIVISOR: i128 = 20;

/// A fixed run of frames seen as a file: the vvar or the vDSO text. Every guest maps the same
/// frames; the kernel keeps its own reference to them for ever.
struct FixedPages {
    frames: Arc<FrameAllocator>,
    first: FrameNo,
    pages: u64,
    name: &'static str,
}

impl PageSource for FixedPages {
    fn page(&self, index: u64) -> KResult<FrameNo> {
        if index >= self.pages {
            return Err(Errno::EFAULT);
        }
        let f = self.first.checked_add(index).ok_or(Errno::EFAULT)?;
        self.frames.incref(f)?;
        Ok(f)
    }

    fn size(&self) -> u64 {
        self.pages * PAGE_SIZE
    }

    fn name(&self) -> String {
        self.name.to_string()
    }
}

/// The vvar's clock state (the kernel is its only writer).
struct Timekeeper {
    /// The sample the frequency is measured from (the start of the calibration).
    start: ClockSample,
    /// The best estimate of the TSC rate.
    freq: TscScale,
    /// The host's `CLOCK_MONOTONIC` at the kernel's boot (the guest's monotonic zero).
    boot_mono_ns: u64,
    /// What the vvar says now.
    params: Vvar,
}

struct Vdso {
    vvar: Arc<FixedPages>,
    text: Arc<FixedPages>,
    clock: KMutex<Option<Timekeeper>>,
}

static VDSO: OnceLock<Vdso> = OnceLock::new();

/// Sets up the vDSO at boot (after `kernel::install`): frames for the image and the vvar, the
/// TSC calibration, and the rebase timer. On failure guests simply get no vDSO.
pub fn init(cpu: &std::sync::Arc<crate::sched::Cpu>) {
    if disabled_on_cmdline(&kernel().cmdline) {
        log::info!("vdso: disabled (vdso=0)");
        return;
    }
    match setup() {
        Ok(v) => {
            let usable = v.clock.lock().is_some();
            if VDSO.set(v).is_ok() && usable {
                schedule_rebase(cpu, 0);
            }
        }
        Err(e) => log::warn!("vdso: disabled: cannot set it up ({e:?})"),
    }
}

/// `vdso=0` among the kernel command line's words (before a `--` that starts a program's own).
fn disabled_on_cmdline(cmdline: &str) -> bool {
    cmdline.split_whitespace().take_while(|w| *w != "--").any(|w| w == "vdso=0")
}

fn setup() -> KResult<Vdso> {
    let k = kernel();
    let vvar = fixed_pages(&k.frames, VVAR_PAGES, "[vvar]")?;
    let text = fixed_pages(&k.frames, VDSO_PAGES, "[vdso]")?;
    k.frames.phys().write(text.first.offset(), VDSO_IMAGE).map_err(|_| Errno::EFAULT)?;
    let clock = start_clock();
    let params = clock.as_ref().map(|c| c.params).unwrap_or(Vvar { version: hw::VVAR_VERSION, ..Vvar::default() });
    hw::publish(k.frames.phys(), vvar.first.offset(), &params).map_err(|_| Errno::EFAULT)?;
    if clock.is_none() {
        log::info!("vdso: no invariant TSC; guest clock calls go to the kernel");
    }
    Ok(Vdso { vvar, text, clock: KMutex::new(clock) })
}

fn fixed_pages(frames: &Arc<FrameAllocator>, pages: u64, name: &'static str) -> KResult<Arc<FixedPages>> {
    let first = frames.alloc_run(pages)?;
    Ok(Arc::new(FixedPages { frames: frames.clone(), first, pages, name }))
}

/// Calibrates the TSC and computes the first parameters; `None` if the TSC cannot be a clock.
fn start_clock() -> Option<Timekeeper> {
    let (start, freq) = hw::calibrate(CALIBRATION)?;
    let now = hw::sample();
    let boot_mono_ns = now.mono_ns.checked_sub(kernel().uptime_ns())?;
    let mono = now.mono_ns.checked_sub(boot_mono_ns)?;
    let params = Vvar {
        seq: 0,
        usable: 1,
        tsc_base: now.tsc,
        mono_base_ns: mono,
        real_base_ns: now.real_ns,
        mult: freq.mult,
        shift: freq.shift,
        version: hw::VVAR_VERSION,
    };
    log::debug!("vdso: TSC at {} kHz", freq.hz() / 1000);
    Some(Timekeeper { start, freq, boot_mono_ns, params })
}

/// Rebases now and re-arms the timer (`n` counts the rebases so far).
fn schedule_rebase(cpu: &std::sync::Arc<crate::sched::Cpu>, n: usize) {
    let delay = EARLY_REBASES.get(n).copied().unwrap_or(REBASE_PERIOD);
    cpu.add_timer(
        Instant::now() + delay,
        Box::new(move |cpu| {
            let next = EARLY_REBASES.get(n + 1).copied().unwrap_or(REBASE_PERIOD);
            rebase(next);
            schedule_rebase(cpu, n + 1);
        }),
    );
}

/// Rebases the vvar at once: to be called whenever the kernel's clocks are set
/// (`settimeofday`, `clock_settime`), so the vDSO agrees with them immediately.
pub fn clock_was_set() {
    rebase(REBASE_PERIOD);
}

/// Takes a fresh sample and publishes parameters that continue the current clock and meet the
/// kernel's clock again `period` from now.
fn rebase(period: Duration) {
    let Some(v) = VDSO.get() else { return };
    let mut guard = v.clock.lock();
    let Some(tk) = guard.as_mut() else { return };
    tk.params = next_params(tk, hw::sample(), period);
    if hw::publish(kernel().frames.phys(), v.vvar.first.offset(), &tk.params).is_err() {
        log::warn!("vdso: vvar page outside physmem");
    }
}

/// The parameters after a rebase at sample `s` (see the module doc).
fn next_params(tk: &mut Timekeeper, s: ClockSample, period: Duration) -> Vvar {
    let ticks = s.tsc.saturating_sub(tk.start.tsc);
    let ns = s.mono_ns.saturating_sub(tk.start.mono_ns);
    if let Some(f) = TscScale::from_measurement(ticks, ns).filter(|_| ns >= CALIBRATION.as_nanos() as u64) {
        tk.freq = f;
    }
    let truth = s.mono_ns.saturating_sub(tk.boot_mono_ns);
    let predicted = tk.params.mono_at(s.tsc);
    let err = truth as i128 - predicted as i128;
    let (mono, mult) = if err.abs() > STEP_NS {
        log::debug!("vdso: stepping the clock by {err} ns");
        (truth, tk.freq.mult)
    } else {
        (predicted, slewed(tk.freq.mult, err, period))
    };
    // Realtime follows the same correction: the host's wall clock minus what mono lags.
    let real = (s.real_ns as i128 - (truth as i128 - mono as i128)).max(0) as u64;
    Vvar { tsc_base: s.tsc, mono_base_ns: mono, real_base_ns: real, mult, shift: tk.freq.shift, ..tk.params }
}

/// `mult` adjusted so that over `period` the clock gains `err` ns (at most a 5 % rate change).
fn slewed(mult: u64, err: i128, period: Duration) -> u64 {
    let p = (period.as_nanos() as i128).max(1);
    let err = err.clamp(-p / MAX_SLEW_DIVISOR, p / MAX_SLEW_DIVISOR);
    let m = mult as i128 + mult as i128 * err / p;
    u64::try_from(m).unwrap_or(mult).max(1)
}

/// Maps the vvar and the vDSO into `space` (an address space being built by `execve`) and
/// returns the vDSO's address for `AT_SYSINFO_EHDR`, or 0 when there is no vDSO. Both map the
/// kernel's frames, not copies: the vvar read-only (never writable, even by `mprotect`), the
/// text read+exec and private (a debugger's breakpoint copies the page). They show in
/// `/proc/<pid>/maps` as `[vvar]` and `[vdso]`.
pub fn map_into(space: &mut MemorySpace) -> KResult<u64> {
    let Some(v) = VDSO.get() else { return Ok(0) };
    let vvar_len = VVAR_PAGES * PAGE_SIZE;
    let text_len = VDSO_PAGES * PAGE_SIZE;
    let anon = MapFlags::PRIVATE | MapFlags::ANONYMOUS;
    let base = space.mmap(0, vvar_len + text_len, Prot::empty(), anon, Backing::Anon)?;
    let fixed = MapFlags::PRIVATE | MapFlags::FIXED;
    let vvar = Backing::File { source: v.vvar.clone(), offset: 0 };
    let opts = MapOptions { name: Some("[vvar]".into()), max_prot: Prot::READ };
    space.mmap_with(base, vvar_len, Prot::READ, fixed, vvar, opts)?;
    let text = Backing::File { source: v.text.clone(), offset: 0 };
    let opts = MapOptions { name: Some("[vdso]".into()), ..MapOptions::default() };
    space.mmap_with(base + vvar_len, text_len, Prot::READ | Prot::EXEC, fixed, text, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keeper(freq_mult: u64) -> Timekeeper {
        let start = ClockSample { tsc: 0, mono_ns: 1_000_000_000, real_ns: 5_000_000_000 };
        let freq = TscScale { mult: freq_mult, shift: 32 };
        let params = Vvar { usable: 1, tsc_base: 0, mono_base_ns: 0, real_base_ns: 4_000_000_000, mult: freq_mult, shift: 32, ..Vvar::default() };
        Timekeeper { start, freq, boot_mono_ns: 1_000_000_000, params }
    }

    #[test]
    fn rebase_is_continuous_and_slews_toward_the_kernel_clock() {
        // A 1 GHz TSC estimated 10 ppm fast: the vvar clock runs 10 µs per second behind.
        let mut tk = keeper((1u64 << 32) - 42_950);
        let s = ClockSample { tsc: 1_000_000_000, mono_ns: 2_000_000_000, real_ns: 6_000_000_000 };
        let before = tk.params.mono_at(s.tsc);
        let p = next_params(&mut tk, s, Duration::from_secs(1));
        assert_eq!(p.mono_at(s.tsc), before, "no jump at the rebase");
        assert_eq!(tk.freq.mult, 1 << 32, "frequency re-measured over the run");
        // One period later the clock has caught up with the kernel's.
        let later = p.mono_at(s.tsc + 1_000_000_000) as i64;
        assert!((later - 2_000_000_000).abs() < 100, "{later}");
        assert_eq!(p.real_at(s.tsc) as i128 - p.mono_at(s.tsc) as i128, 5_000_000_000);
    }

    #[test]
    fn large_offsets_are_stepped() {
        let mut tk = keeper(1 << 32);
        let s = ClockSample { tsc: 1_000_000_000, mono_ns: 3_000_000_000, real_ns: 7_000_000_000 };
        let p = next_params(&mut tk, s, Duration::from_secs(1));
        assert_eq!(p.mono_base_ns, 2_000_000_000);
        assert_eq!(p.real_base_ns, 7_000_000_000);
    }

    #[test]
    fn slew_is_bounded() {
        let m = 1u64 << 32;
        assert_eq!(slewed(m, 0, Duration::from_secs(1)), m);
        assert_eq!(slewed(m, 1_000_000_000, Duration::from_secs(1)), m + m / 20);
        assert_eq!(slewed(m, -1_000_000_000, Duration::from_secs(1)), m - m / 20);
    }

    #[test]
    fn cmdline_switch() {
        assert!(disabled_on_cmdline("umbra boot vdso=0"));
        assert!(!disabled_on_cmdline("umbra run --root r -- /bin/prog vdso=0"));
        assert!(!disabled_on_cmdline("umbra run --root r -- /bin/prog"));
    }
}
