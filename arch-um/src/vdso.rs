//! The guest vDSO: the image umbra maps into every guest (built from arch-um/vdso/ by build.rs)
//! and the host side of its clock — the vvar page layout, the seqlock writer, and the TSC
//! calibration.
//!
//! Every guest syscall is a ptrace round trip, so `clock_gettime` as a syscall costs ~20 µs.
//! The vDSO's time functions instead read the TSC and scale it with parameters the kernel keeps
//! in the vvar page (Linux's `vdso_data`, gVisor's `VDSOParamPage`):
//! `ns = base_ns + ((tsc - tsc_base) * mult) >> shift`. The kernel is the only writer; it
//! publishes each update under a seqlock (`publish`). When the host TSC does not tick at a
//! constant rate (`calibrate` returns `None`) the kernel leaves `usable` at 0 and every call
//! falls back to the syscall.

use crate::physmem::{OutOfRange, PhysMem};
use std::arch::x86_64::{__cpuid, _mm_lfence, _rdtsc};
use std::mem::{offset_of, size_of};
use std::sync::atomic::{fence, AtomicU32, Ordering};
use std::time::Duration;

const PAGE: u64 = 4096;

const IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/umbra-vdso.so"));

/// The vDSO image: a position-independent ELF shared object (`linux-vdso.so.1`) linked at 0,
/// one read+execute segment starting at the ELF header, no relocations.
pub static VDSO_IMAGE: &[u8] = IMAGE;

/// Size of the vDSO text in pages (the image, zero-padded to a page boundary).
pub const VDSO_PAGES: u64 = (IMAGE.len() as u64).div_ceil(PAGE);

/// Size of the vvar area in pages (`UMBRA_VVAR_PAGES` in vdso_abi.h).
pub const VVAR_PAGES: u64 = 1;

/// Where the vvar area starts relative to the vDSO text: right below it (vdso.lds).
pub const VVAR_OFFSET: i64 = -((VVAR_PAGES * PAGE) as i64);

/// The layout version written to `Vvar::version` (`UMBRA_VVAR_VERSION`).
pub const VVAR_VERSION: u32 = 1;

/// The shift `TscScale` uses: `mult` is ns per tick in 32.32 fixed point.
pub const SCALE_SHIFT: u32 = 32;

/// The vvar page's time parameters (`struct umbra_vvar` in vdso_abi.h), at offset 0 of the
/// page. Written only through `publish`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vvar {
    /// The seqlock counter: odd while the kernel is writing.
    pub seq: u32,
    /// 0: the vDSO must make the syscall (no usable TSC).
    pub usable: u32,
    /// The TSC value the bases were taken at.
    pub tsc_base: u64,
    /// The guest's `CLOCK_MONOTONIC` (also `BOOTTIME`, `MONOTONIC_RAW`) at `tsc_base`, in ns.
    pub mono_base_ns: u64,
    /// The guest's `CLOCK_REALTIME` (also `TAI`) at `tsc_base`, in ns since the epoch.
    pub real_base_ns: u64,
    /// TSC ticks to ns: `(ticks * mult) >> shift`.
    pub mult: u64,
    /// See `mult`.
    pub shift: u32,
    /// `VVAR_VERSION`.
    pub version: u32,
}

// The offsets vdso_abi.h promises (vdso.c asserts the same numbers on its side).
const _: () = {
    assert!(offset_of!(Vvar, seq) == 0);
    assert!(offset_of!(Vvar, usable) == 4);
    assert!(offset_of!(Vvar, tsc_base) == 8);
    assert!(offset_of!(Vvar, mono_base_ns) == 16);
    assert!(offset_of!(Vvar, real_base_ns) == 24);
    assert!(offset_of!(Vvar, mult) == 32);
    assert!(offset_of!(Vvar, shift) == 40);
    assert!(offset_of!(Vvar, version) == 44);
    assert!(size_of::<Vvar>() == 48);
};

impl Vvar {
    /// `CLOCK_MONOTONIC` at TSC value `tsc`, exactly as the vDSO computes it.
    pub fn mono_at(&self, tsc: u64) -> u64 {
        self.mono_base_ns.wrapping_add(self.elapsed_ns(tsc))
    }

    /// `CLOCK_REALTIME` at TSC value `tsc`, exactly as the vDSO computes it.
    pub fn real_at(&self, tsc: u64) -> u64 {
        self.real_base_ns.wrapping_add(self.elapsed_ns(tsc))
    }

    /// ns since `tsc_base` (0 for a TSC behind it).
    fn elapsed_ns(&self, tsc: u64) -> u64 {
        let delta = tsc.wrapping_sub(self.tsc_base);
        let delta = if (delta as i64) > 0 { delta } else { 0 };
        TscScale { mult: self.mult, shift: self.shift.min(63) }.ticks_to_ns(delta)
    }
}

/// A TSC-ticks-to-nanoseconds conversion: `ns = (ticks * mult) >> shift`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscScale {
    /// ns per tick, scaled by `2^shift`.
    pub mult: u64,
    /// See `mult`.
    pub shift: u32,
}

impl TscScale {
    /// The scale that turns `ticks` into `ns` (shift `SCALE_SHIFT`); `None` for no ticks or a
    /// rate that does not fit.
    pub fn from_measurement(ticks: u64, ns: u64) -> Option<TscScale> {
        if ticks == 0 {
            return None;
        }
        let mult = ((ns as u128) << SCALE_SHIFT) / ticks as u128;
        let mult = u64::try_from(mult).ok().filter(|&m| m > 0)?;
        Some(TscScale { mult, shift: SCALE_SHIFT })
    }

    /// Converts a tick count to ns (the product is computed in 128 bits).
    pub fn ticks_to_ns(&self, ticks: u64) -> u64 {
        ((ticks as u128 * self.mult as u128) >> self.shift.min(127)) as u64
    }

    /// The TSC frequency in Hz this scale implies.
    pub fn hz(&self) -> u64 {
        if self.mult == 0 {
            return 0;
        }
        ((1_000_000_000u128 << self.shift.min(63)) / self.mult as u128) as u64
    }
}

/// A TSC value and the host clocks at that moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockSample {
    /// The TSC.
    pub tsc: u64,
    /// The host's `CLOCK_MONOTONIC` in ns (the clock `std::time::Instant` reads).
    pub mono_ns: u64,
    /// The host's `CLOCK_REALTIME` in ns since the epoch.
    pub real_ns: u64,
}

/// True if the host TSC ticks at a constant rate in every power state (CPUID 0x80000007 EDX
/// bit 8, "invariant TSC": Linux's `constant_tsc` + `nonstop_tsc`), so it can be a clock.
pub fn tsc_invariant() -> bool {
    let max_ext = __cpuid(0x8000_0000).eax;
    max_ext >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
}

/// Reads the TSC after all earlier loads have completed (`lfence; rdtsc`, as the vDSO does).
pub fn rdtsc() -> u64 {
    // SAFETY: `lfence` and `rdtsc` exist on every x86-64 CPU (SSE2 is baseline) and touch no
    // memory; the host kernel does not restrict rdtsc for umbra (no PR_SET_TSC).
    unsafe {
        _mm_lfence();
        _rdtsc()
    }
}

/// Reads a host clock in ns (0 if the host refuses, which it does not for the clocks used here).
pub fn host_clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the result is checked.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    if r != 0 {
        return 0;
    }
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

/// Pairs the TSC with the host clocks: the `CLOCK_MONOTONIC` reading is matched to the middle of
/// the tightest of a few TSC windows around it, so the pair is off by tens of ns at most.
pub fn sample() -> ClockSample {
    let mut best: Option<(u64, ClockSample)> = None;
    for _ in 0..8 {
        let t0 = rdtsc();
        let mono_ns = host_clock_ns(libc::CLOCK_MONOTONIC);
        let t1 = rdtsc();
        let real_ns = host_clock_ns(libc::CLOCK_REALTIME);
        let width = t1.wrapping_sub(t0);
        let s = ClockSample { tsc: t0.wrapping_add(width / 2), mono_ns, real_ns };
        if best.is_none_or(|(w, _)| width < w) {
            best = Some((width, s));
        }
    }
    best.map(|(_, s)| s).unwrap_or(ClockSample { tsc: rdtsc(), mono_ns: 0, real_ns: 0 })
}

/// Measures the TSC frequency against `CLOCK_MONOTONIC` over `period` (sleeping); returns the
/// sample the measurement started at and the scale. `None` when the TSC is not invariant or
/// the rate is implausible (outside 1 MHz..100 GHz): the vDSO must not use it.
pub fn calibrate(period: Duration) -> Option<(ClockSample, TscScale)> {
    if !tsc_invariant() {
        return None;
    }
    let a = sample();
    std::thread::sleep(period);
    let b = sample();
    let scale = TscScale::from_measurement(b.tsc.checked_sub(a.tsc)?, b.mono_ns.checked_sub(a.mono_ns)?)?;
    (1_000_000..=100_000_000_000).contains(&scale.hz()).then_some((a, scale))
}

/// Writes `v` (all but its `seq`) to the vvar at physmem offset `off` under the seqlock: the
/// counter goes odd, the fields are written, the counter goes even again (Linux's
/// `vdso_write_begin`/`vdso_write_end`). A reader that saw the old counter retries. `off` must
/// be 8-byte aligned.
pub fn publish(phys: &PhysMem, off: u64, v: &Vvar) -> Result<(), OutOfRange> {
    let len = size_of::<Vvar>() as u64;
    if !off.is_multiple_of(8) {
        return Err(OutOfRange { off, len });
    }
    let p = phys.range_ptr(off, len)? as *mut Vvar;
    // SAFETY: `p` points to `len` bytes inside physmem's mapping, which lives as long as `phys`,
    // 8-byte aligned (physmem is page aligned and `off` is checked). Only the seq word is
    // referenced, as an atomic (guests read it concurrently from their stubs); the other fields
    // are written with volatile stores through raw pointers, ordered by the fences.
    unsafe {
        let seq = AtomicU32::from_ptr(std::ptr::addr_of_mut!((*p).seq));
        let begin = seq.load(Ordering::Relaxed) | 1;
        seq.store(begin, Ordering::Relaxed);
        fence(Ordering::Release);
        std::ptr::addr_of_mut!((*p).usable).write_volatile(v.usable);
        std::ptr::addr_of_mut!((*p).tsc_base).write_volatile(v.tsc_base);
        std::ptr::addr_of_mut!((*p).mono_base_ns).write_volatile(v.mono_base_ns);
        std::ptr::addr_of_mut!((*p).real_base_ns).write_volatile(v.real_base_ns);
        std::ptr::addr_of_mut!((*p).mult).write_volatile(v.mult);
        std::ptr::addr_of_mut!((*p).shift).write_volatile(v.shift);
        std::ptr::addr_of_mut!((*p).version).write_volatile(v.version);
        fence(Ordering::Release);
        seq.store(begin.wrapping_add(1), Ordering::Release);
    }
    Ok(())
}

/// Reads the vvar at physmem offset `off` (a snapshot; for tests and diagnostics).
pub fn read_vvar(phys: &PhysMem, off: u64) -> Result<Vvar, OutOfRange> {
    let mut b = [0u8; size_of::<Vvar>()];
    phys.read(off, &mut b)?;
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
    Ok(Vvar {
        seq: u32_at(0),
        usable: u32_at(4),
        tsc_base: u64_at(8),
        mono_base_ns: u64_at(16),
        real_base_ns: u64_at(24),
        mult: u64_at(32),
        shift: u32_at(40),
        version: u32_at(44),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_round_trips() {
        let s = TscScale::from_measurement(3_000_000_000, 1_000_000_000).unwrap();
        assert!((s.hz() as i64 - 3_000_000_000i64).abs() < 10);
        assert!((s.ticks_to_ns(3_000_000_000) as i64 - 1_000_000_000).abs() < 2);
        // A whole day of ticks does not overflow.
        let day = 86_400u64 * 3_000_000_000;
        assert!((s.ticks_to_ns(day) as i64 - 86_400_000_000_000).abs() < 100_000);
        assert!(TscScale::from_measurement(0, 5).is_none());
    }

    #[test]
    fn vvar_eval_clamps_a_tsc_behind_the_base() {
        let v = Vvar { tsc_base: 1000, mono_base_ns: 5, real_base_ns: 7, mult: 1 << 32, shift: 32, ..Vvar::default() };
        assert_eq!(v.mono_at(900), 5);
        assert_eq!(v.mono_at(1010), 15);
        assert_eq!(v.real_at(1010), 17);
    }

    #[test]
    fn publish_keeps_seq_even_and_counts_writes() {
        let pm = PhysMem::new(8192).unwrap();
        let v = Vvar { usable: 1, tsc_base: 2, mono_base_ns: 3, real_base_ns: 4, mult: 5, shift: 6, version: VVAR_VERSION, seq: 99 };
        publish(&pm, 4096, &v).unwrap();
        publish(&pm, 4096, &v).unwrap();
        let r = read_vvar(&pm, 4096).unwrap();
        assert_eq!(r, Vvar { seq: 4, ..v });
        assert!(publish(&pm, 4097, &v).is_err());
    }

    #[test]
    fn calibration_matches_the_host_clock() {
        let Some((_, scale)) = calibrate(Duration::from_millis(10)) else {
            eprintln!("SKIPPED: no invariant TSC");
            return;
        };
        let a = sample();
        std::thread::sleep(Duration::from_millis(20));
        let b = sample();
        let tsc_ns = scale.ticks_to_ns(b.tsc - a.tsc) as i64;
        let mono_ns = (b.mono_ns - a.mono_ns) as i64;
        // 10 ms of calibration is good to a few ppm; allow 0.1 % for a loaded host.
        assert!((tsc_ns - mono_ns).abs() < mono_ns / 1000 + 2000, "tsc {tsc_ns} ns vs monotonic {mono_ns} ns");
    }
}
