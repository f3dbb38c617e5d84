//! The guest vDSO image: a valid shared object exporting Linux's time functions with version
//! LINUX_2.6, and — loaded into this test process the way the kernel lays it out (vvar page
//! right below the text, both views of physmem) — functions that agree with the host's clocks,
//! served from the vvar or, when it says "unusable", by the syscall.

use arch_um::vdso::{self, Vvar, VDSO_IMAGE, VDSO_PAGES, VVAR_PAGES};
use arch_um::PhysMem;
use goblin::elf::program_header::{PF_W, PF_X, PT_DYNAMIC, PT_LOAD};
use goblin::elf::Elf;
use std::os::fd::RawFd;

const EXPORTS: [&str; 10] = [
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_time",
    "__vdso_getcpu",
    "__vdso_clock_getres",
    "clock_gettime",
    "gettimeofday",
    "time",
    "getcpu",
    "clock_getres",
];

/// The version name (from the verdef section) of dynamic symbol `i`.
fn version_of(elf: &Elf, i: usize) -> Option<String> {
    let ndx = elf.versym.as_ref()?.get_at(i)?.version();
    let verdef = elf.verdef.as_ref()?;
    let def = verdef.iter().find(|d| d.vd_ndx == ndx)?;
    let aux = def.iter().next()?;
    elf.dynstrtab.get_at(aux.vda_name).map(str::to_string)
}

#[test]
fn image_is_a_shared_object_exporting_the_time_functions() {
    let elf = Elf::parse(VDSO_IMAGE).unwrap();
    assert_eq!(elf.header.e_type, goblin::elf::header::ET_DYN);
    assert_eq!(elf.header.e_machine, goblin::elf::header::EM_X86_64);
    assert_eq!(elf.soname, Some("linux-vdso.so.1"));
    assert!(elf.interpreter.is_none());
    assert!(elf.dynrelas.is_empty() && elf.dynrels.is_empty() && elf.pltrelocs.is_empty(), "relocations");
    let loads: Vec<_> = elf.program_headers.iter().filter(|p| p.p_type == PT_LOAD).collect();
    assert_eq!(loads.len(), 1, "one PT_LOAD");
    assert_eq!((loads[0].p_offset, loads[0].p_vaddr), (0, 0), "linked at 0 from the ELF header");
    assert!(loads[0].p_flags & PF_X != 0 && loads[0].p_flags & PF_W == 0, "r-x");
    assert!(loads[0].p_memsz <= VDSO_PAGES * 4096);
    let dynamic = elf.program_headers.iter().find(|p| p.p_type == PT_DYNAMIC).expect("PT_DYNAMIC");
    assert_eq!(dynamic.p_flags & PF_W, 0, "glibc writes a PT_DYNAMIC marked writable");
    for name in EXPORTS {
        let (i, sym) = elf
            .dynsyms
            .iter()
            .enumerate()
            .find(|(_, s)| elf.dynstrtab.get_at(s.st_name) == Some(name))
            .unwrap_or_else(|| panic!("{name} not exported"));
        assert!(sym.is_function() && sym.st_value != 0 && sym.st_shndx != 0, "{name} undefined");
        assert_eq!(version_of(&elf, i).as_deref(), Some("LINUX_2.6"), "{name} version");
    }
}

/// The vDSO mapped from physmem: the vvar at physmem offset 0, the text right after.
struct Loaded {
    pm: PhysMem,
    base: *mut u8,
    len: usize,
}

impl Loaded {
    fn new() -> Loaded {
        let pm = PhysMem::new((VVAR_PAGES + VDSO_PAGES) * 4096).unwrap();
        pm.write(VVAR_PAGES * 4096, VDSO_IMAGE).unwrap();
        let len = ((VVAR_PAGES + VDSO_PAGES) * 4096) as usize;
        let fd: RawFd = pm.fd();
        // SAFETY: maps our own memfd read+exec; unmapped in Drop.
        let base = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_EXEC, libc::MAP_SHARED, fd, 0)
        };
        assert_ne!(base, libc::MAP_FAILED, "mapping the vDSO: {}", std::io::Error::last_os_error());
        Loaded { pm, base: base as *mut u8, len }
    }

    fn sym(&self, name: &str) -> usize {
        let elf = Elf::parse(VDSO_IMAGE).unwrap();
        let s = elf.dynsyms.iter().find(|s| elf.dynstrtab.get_at(s.st_name) == Some(name)).unwrap();
        self.base as usize + (VVAR_PAGES * 4096) as usize + s.st_value as usize
    }

    fn clock_gettime(&self, clock: i32) -> (i32, libc::timespec) {
        let f: extern "C" fn(i32, *mut libc::timespec) -> i32 =
            // SAFETY: the symbol is __vdso_clock_gettime with this C signature.
            unsafe { std::mem::transmute(self.sym("__vdso_clock_gettime")) };
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        (f(clock, &mut ts), ts)
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        // SAFETY: our own mapping.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}

fn ns(ts: &libc::timespec) -> i64 {
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

#[test]
fn functions_follow_the_vvar_and_fall_back_to_the_syscall() {
    let l = Loaded::new();
    // usable = 0 (a zeroed page): the host kernel answers through the syscall.
    let (r, ts) = l.clock_gettime(libc::CLOCK_MONOTONIC);
    assert_eq!(r, 0);
    assert!((ns(&ts) - vdso::host_clock_ns(libc::CLOCK_MONOTONIC) as i64).abs() < 50_000_000);
    assert_eq!(l.clock_gettime(12345).0, -libc::EINVAL, "unknown clock: the syscall's EINVAL");

    let Some((s, scale)) = vdso::calibrate(std::time::Duration::from_millis(10)) else {
        eprintln!("SKIPPED: no invariant TSC");
        return;
    };
    // A monotonic clock 1000 s ahead of the host's, so served values are told apart.
    let ahead = 1_000_000_000_000u64;
    let v = Vvar {
        usable: 1,
        tsc_base: s.tsc,
        mono_base_ns: s.mono_ns + ahead,
        real_base_ns: s.real_ns,
        mult: scale.mult,
        shift: scale.shift,
        version: vdso::VVAR_VERSION,
        seq: 0,
    };
    vdso::publish(&l.pm, 0, &v).unwrap();
    let mut prev = 0;
    for _ in 0..1000 {
        let (r, ts) = l.clock_gettime(libc::CLOCK_MONOTONIC);
        assert_eq!(r, 0);
        let host = vdso::host_clock_ns(libc::CLOCK_MONOTONIC) as i64 + ahead as i64;
        assert!((ns(&ts) - host).abs() < 1_000_000, "vdso {} vs host {host}", ns(&ts));
        assert!(ns(&ts) >= prev, "monotonic");
        prev = ns(&ts);
    }
    let (_, rt) = l.clock_gettime(libc::CLOCK_REALTIME);
    assert!((ns(&rt) - vdso::host_clock_ns(libc::CLOCK_REALTIME) as i64).abs() < 1_000_000);
    let (_, boot) = l.clock_gettime(libc::CLOCK_BOOTTIME);
    assert!((ns(&boot) - ns(&l.clock_gettime(libc::CLOCK_MONOTONIC).1)).abs() < 1_000_000, "BOOTTIME served from the vvar");
    let (_, cpu) = l.clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID);
    assert!(ns(&cpu) < 100_000_000_000, "CPU time goes to the kernel");

    let tod: extern "C" fn(*mut libc::timeval, *mut libc::c_void) -> i32 =
        // SAFETY: __vdso_gettimeofday's C signature.
        unsafe { std::mem::transmute(l.sym("__vdso_gettimeofday")) };
    let mut tv = libc::timeval { tv_sec: 0, tv_usec: 0 };
    let mut tz = [7i32; 2];
    assert_eq!(tod(&mut tv, tz.as_mut_ptr() as *mut libc::c_void), 0);
    assert!((tv.tv_sec - (vdso::host_clock_ns(libc::CLOCK_REALTIME) / 1_000_000_000) as i64).abs() <= 1);
    assert_eq!(tz, [0, 0]);
    let time: extern "C" fn(*mut i64) -> i64 =
        // SAFETY: __vdso_time's C signature.
        unsafe { std::mem::transmute(l.sym("__vdso_time")) };
    let mut t = 0i64;
    assert_eq!(time(&mut t), t);
    assert!((t - tv.tv_sec).abs() <= 1);
    let getres: extern "C" fn(i32, *mut libc::timespec) -> i32 =
        // SAFETY: __vdso_clock_getres's C signature.
        unsafe { std::mem::transmute(l.sym("__vdso_clock_getres")) };
    let mut res = libc::timespec { tv_sec: 9, tv_nsec: 9 };
    assert_eq!(getres(libc::CLOCK_MONOTONIC_COARSE, &mut res), 0);
    assert_eq!((res.tv_sec, res.tv_nsec), (0, 4_000_000));
    let getcpu: extern "C" fn(*mut u32, *mut u32, *mut libc::c_void) -> i64 =
        // SAFETY: __vdso_getcpu's C signature.
        unsafe { std::mem::transmute(l.sym("__vdso_getcpu")) };
    let (mut cpu, mut node) = (9u32, 9u32);
    assert_eq!(getcpu(&mut cpu, &mut node, std::ptr::null_mut()), 0);
    assert_eq!((cpu, node), (0, 0));

    // Marked unusable again: back to the syscall (the host's clock, not 1000 s ahead).
    vdso::publish(&l.pm, 0, &Vvar { usable: 0, ..v }).unwrap();
    let (_, ts) = l.clock_gettime(libc::CLOCK_MONOTONIC);
    assert!((ns(&ts) - vdso::host_clock_ns(libc::CLOCK_MONOTONIC) as i64).abs() < 50_000_000);
}
