//! Facts about the host CPU that the guest ABI exposes: `AT_HWCAP`, and the XSAVE layout a
//! guest's signal frames use (Linux's `fpu_user_cfg`: every user feature the OS enabled except
//! the dynamically-enabled AMX tile data, which a task gets only after `ARCH_REQ_XCOMP_PERM`).

use std::arch::x86_64::{__cpuid, __cpuid_count};

/// XSAVE feature bit of AMX tile data (dynamic: off unless the task asks for it).
pub const XFEATURE_XTILEDATA: u32 = 18;

/// `AT_HWCAP` on x86-64: CPUID leaf 1's EDX, as Linux's `ELF_HWCAP`.
pub fn hwcap() -> u64 {
    let r = __cpuid(1);
    r.edx as u64
}

/// The user XSAVE layout for signal frames: `(size in bytes, feature mask)`, computed from
/// `host_features` (the features the host kernel exposes; read from ptrace's fpx_sw_bytes)
/// minus AMX tile data, with CPUID leaf 0xD giving each feature's offset and size.
pub fn user_xstate_layout(host_features: u64) -> (usize, u64) {
    let features = host_features & !(1u64 << XFEATURE_XTILEDATA);
    let mut size = 512 + 64; // legacy area + XSAVE header
    for bit in 2..63u32 {
        if features & (1 << bit) == 0 {
            continue;
        }
        let r = __cpuid_count(0xd, bit);
        let end = r.ebx as usize + r.eax as usize;
        if r.eax != 0 && end > size {
            size = end;
        }
    }
    (size, features)
}

/// The XSAVE features the host OS enabled for user space (`XCR0`, read with `xgetbv`).
pub fn xcr0() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: xgetbv(0) is available wherever XSAVE is enabled by the OS, which the host's
    // NT_X86_XSTATE regset (probed before this is used) proves.
    unsafe { core::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) };
    ((hi as u64) << 32) | lo as u64
}

/// Pins umbra (and so every stub it starts afterwards, which inherit the affinity) to the host
/// CPU it is running on. umbra is one virtual CPU: every guest event is a ptrace stop that
/// hands the CPU between umbra and a stub, and with both on one host CPU that hand-over is a
/// direct switch instead of a cross-CPU wake-up (3-4x faster for a pipe ping-pong here).
/// `UMBRA_NO_PIN=1` turns it off. Returns the CPU, or `None` if not pinned.
pub fn pin_to_current_cpu() -> Option<usize> {
    if std::env::var_os("UMBRA_NO_PIN").is_some() {
        return None;
    }
    // SAFETY: plain syscalls on a local cpu_set_t.
    unsafe {
        let cpu = libc::sched_getcpu();
        if cpu < 0 {
            return None;
        }
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu as usize, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return None;
        }
        Some(cpu as usize)
    }
}
