//! The initial stack of a new program, laid out exactly as Linux's `create_elf_tables`
//! (`fs/binfmt_elf.c`) and `do_execveat_common` (`fs/exec.c`) do, minus the randomisation:
//!
//! ```text
//!   stack_top  ┌──────────────────────────────┐
//!              │ 8 zero bytes                 │  (bprm->p starts one pointer below the top)
//!              │ execfn string                │  ← AT_EXECFN
//!              │ envp strings (envp[0] lowest) │
//!              │ argv strings (argv[0] lowest) │  ← arg_start
//!              ├──── align down to 16 ────────┤
//!              │ platform string "x86_64"     │  ← AT_PLATFORM
//!              │ 16 random bytes              │  ← AT_RANDOM
//!              ├──── align down to 16 ────────┤
//!              │ auxv pairs …, AT_NULL, 0     │
//!              │ NULL                         │
//!              │ envp pointers                │
//!              │ NULL                         │
//!              │ argv pointers                │
//!   sp ───────▶│ argc                         │  (sp is 16-byte aligned)
//!              └──────────────────────────────┘
//! ```

use uapi::flags::{
    AT_BASE, AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_EXECFD, AT_EXECFN, AT_FLAGS, AT_GID, AT_HWCAP,
    AT_HWCAP2, AT_MINSIGSTKSZ, AT_NULL, AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PLATFORM, AT_RANDOM,
    AT_RSEQ_ALIGN, AT_RSEQ_FEATURE_SIZE, AT_SECURE, AT_SYSINFO_EHDR, AT_UID,
};
use uapi::{Errno, KResult};

/// `MAX_ARG_STRLEN`: the longest single argument or environment string, NUL included (32 pages).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;
/// `ARG_MAX`-style floor of the argument space (32 pages), whatever the stack rlimit.
pub const ARG_MIN_LIMIT: u64 = 32 * 4096;
/// `_STK_LIM / 4 * 3`: the ceiling of the argument space (6 MiB).
pub const ARG_MAX_LIMIT: u64 = (8 << 20) / 4 * 3;
/// The default `RLIMIT_STACK` (8 MiB), used by [`build_initial_stack`].
pub const DEFAULT_STACK_RLIMIT: u64 = 8 << 20;

/// The bytes that `argv` and `envp` (strings with their NULs, plus one pointer each) and the
/// exec filename may occupy for a stack rlimit of `stack_rlimit`, as Linux's
/// `bprm_stack_limits`: a quarter of the rlimit, between 128 KiB and 6 MiB.
pub fn arg_limit(stack_rlimit: u64) -> usize {
    let limit = (stack_rlimit / 4).clamp(ARG_MIN_LIMIT, ARG_MAX_LIMIT);
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// The auxiliary-vector values a loader knows, turned into entries in the order Linux writes
/// them (x86-64's `ARCH_DLINFO` first). `AT_RANDOM`, `AT_EXECFN` and `AT_PLATFORM` are emitted
/// as placeholders that [`build_initial_stack`] fills in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuxvParams {
    /// `AT_SYSINFO_EHDR`: the vDSO's address, if one is mapped.
    pub sysinfo_ehdr: Option<u64>,
    /// `AT_MINSIGSTKSZ`: the signal frame size for this task.
    pub minsigstksz: u64,
    /// `AT_HWCAP`: CPUID.1:EDX.
    pub hwcap: u64,
    /// `AT_PAGESZ`.
    pub pagesz: u64,
    /// `AT_CLKTCK` (`USER_HZ`).
    pub clktck: u64,
    /// `AT_PHDR`: the program headers in memory (bias applied).
    pub phdr: u64,
    /// `AT_PHENT`.
    pub phent: u64,
    /// `AT_PHNUM`.
    pub phnum: u64,
    /// `AT_BASE`: the interpreter's load address (0 without one).
    pub base: u64,
    /// `AT_FLAGS`.
    pub flags: u64,
    /// `AT_ENTRY`: the program's entry point (bias applied), not the interpreter's.
    pub entry: u64,
    /// `AT_UID`.
    pub uid: u32,
    /// `AT_EUID`.
    pub euid: u32,
    /// `AT_GID`.
    pub gid: u32,
    /// `AT_EGID`.
    pub egid: u32,
    /// `AT_SECURE`.
    pub secure: bool,
    /// `AT_HWCAP2` (x86 always has one).
    pub hwcap2: u64,
    /// `AT_EXECFD`, for binfmt_misc-style launches.
    pub execfd: Option<u64>,
    /// `AT_RSEQ_FEATURE_SIZE` and `AT_RSEQ_ALIGN`, if rseq is offered.
    pub rseq: Option<(u64, u64)>,
}

impl AuxvParams {
    /// The entries, without `AT_NULL`, in Linux's order.
    pub fn entries(&self) -> Vec<(u64, u64)> {
        let mut v = Vec::with_capacity(24);
        if let Some(vdso) = self.sysinfo_ehdr {
            v.push((AT_SYSINFO_EHDR, vdso));
        }
        v.extend_from_slice(&[
            (AT_MINSIGSTKSZ, self.minsigstksz),
            (AT_HWCAP, self.hwcap),
            (AT_PAGESZ, self.pagesz),
            (AT_CLKTCK, self.clktck),
            (AT_PHDR, self.phdr),
            (AT_PHENT, self.phent),
            (AT_PHNUM, self.phnum),
            (AT_BASE, self.base),
            (AT_FLAGS, self.flags),
            (AT_ENTRY, self.entry),
            (AT_UID, self.uid as u64),
            (AT_EUID, self.euid as u64),
            (AT_GID, self.gid as u64),
            (AT_EGID, self.egid as u64),
            (AT_SECURE, self.secure as u64),
            (AT_RANDOM, 0),
            (AT_HWCAP2, self.hwcap2),
            (AT_EXECFN, 0),
            (AT_PLATFORM, 0),
        ]);
        if let Some(fd) = self.execfd {
            v.push((AT_EXECFD, fd));
        }
        if let Some((size, align)) = self.rseq {
            v.push((AT_RSEQ_FEATURE_SIZE, size));
            v.push((AT_RSEQ_ALIGN, align));
        }
        v
    }
}

/// A laid-out initial stack: write `bytes` at `sp` (they end exactly at the `stack_top` given),
/// set `rsp = sp`, and record the `arg_*`/`env_*` ranges for `/proc/<pid>/cmdline` and
/// `environ`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    /// The initial stack pointer (points at `argc`; 16-byte aligned).
    pub sp: u64,
    /// The contents of `sp..stack_top`.
    pub bytes: Vec<u8>,
    /// `argc` (at least 1: an empty `argv` becomes `[""]`, as Linux does since 5.18).
    pub argc: u64,
    /// Address of `argv[0]`'s pointer slot (`sp + 8`).
    pub argv_addr: u64,
    /// Address of `envp[0]`'s pointer slot.
    pub envp_addr: u64,
    /// Address of the first auxv pair.
    pub auxv_addr: u64,
    /// First byte of the argument strings (`mm->arg_start`).
    pub arg_start: u64,
    /// One past the last argument string's NUL (`mm->arg_end`).
    pub arg_end: u64,
    /// First byte of the environment strings (`mm->env_start`).
    pub env_start: u64,
    /// One past the last environment string's NUL (`mm->env_end`).
    pub env_end: u64,
    /// Where the exec filename string is (`AT_EXECFN`).
    pub execfn_addr: u64,
    /// Where the 16 random bytes are (`AT_RANDOM`).
    pub random_addr: u64,
    /// Where the platform string is (`AT_PLATFORM`), if one was given.
    pub platform_addr: Option<u64>,
    /// The final auxiliary vector, `AT_NULL` included (for `/proc/<pid>/auxv`).
    pub auxv: Vec<(u64, u64)>,
}

/// Builds the initial stack with the default 8 MiB stack rlimit; see
/// [`build_initial_stack_with_rlimit`].
pub fn build_initial_stack(
    stack_top: u64,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    auxv: &[(u64, u64)],
    random: [u8; 16],
    execfn: &[u8],
    platform: &[u8],
) -> KResult<InitialStack> {
    build_initial_stack_with_rlimit(stack_top, argv, envp, auxv, random, execfn, platform, DEFAULT_STACK_RLIMIT)
}

fn push_down(p: u64, len: usize) -> KResult<u64> {
    p.checked_sub(len as u64).ok_or(Errno::E2BIG)
}

/// Lays out the initial stack below `stack_top` (16-byte aligned), as Linux does.
///
/// `auxv` is the caller's vector without `AT_NULL` (see [`AuxvParams::entries`]). The builder
/// owns the three entries that point into the stack: an `AT_RANDOM`, `AT_EXECFN` or
/// `AT_PLATFORM` entry in `auxv` is a placeholder whose value is replaced where it stands; any
/// that are missing are appended; `AT_PLATFORM` is dropped when `platform` is empty. `AT_NULL`
/// entries in `auxv` are ignored and one is written at the end.
///
/// Errors: `E2BIG` if a string (NUL included) exceeds [`MAX_ARG_STRLEN`] or the strings and
/// their pointers exceed [`arg_limit`]`(stack_rlimit)`, or if the stack would wrap below 0;
/// `EINVAL` for a misaligned `stack_top` or a string containing a NUL; `ENOMEM` if the buffer
/// cannot be allocated.
#[allow(clippy::too_many_arguments)]
pub fn build_initial_stack_with_rlimit(
    stack_top: u64,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    auxv: &[(u64, u64)],
    random: [u8; 16],
    execfn: &[u8],
    platform: &[u8],
    stack_rlimit: u64,
) -> KResult<InitialStack> {
    if !stack_top.is_multiple_of(16) || stack_top < 16 {
        return Err(Errno::EINVAL);
    }
    // Linux inserts an empty argv[0] when a program is exec'd with no arguments.
    let empty_arg0 = [Vec::new()];
    let argv: &[Vec<u8>] = if argv.is_empty() { &empty_arg0 } else { argv };
    if platform.contains(&0) || execfn.contains(&0) {
        return Err(Errno::EINVAL);
    }

    // Linux's accounting (bprm_stack_limits + copy_strings): pointers first, then every string.
    let limit = arg_limit(stack_rlimit);
    let ptr_bytes = argv
        .len()
        .checked_add(envp.len())
        .and_then(|n| n.checked_mul(8))
        .ok_or(Errno::E2BIG)?;
    let mut budget = limit.checked_sub(ptr_bytes).filter(|b| *b > 0).ok_or(Errno::E2BIG)?;
    for s in core::iter::once(execfn).chain(envp.iter().map(Vec::as_slice)).chain(argv.iter().map(Vec::as_slice)) {
        if s.contains(&0) {
            return Err(Errno::EINVAL);
        }
        let len = s.len().checked_add(1).ok_or(Errno::E2BIG)?;
        if len > MAX_ARG_STRLEN {
            return Err(Errno::E2BIG);
        }
        budget = budget.checked_sub(len).ok_or(Errno::E2BIG)?;
    }

    // Addresses, top down.
    let mut p = stack_top - 8;
    p = push_down(p, execfn.len() + 1)?;
    let execfn_addr = p;
    let mut env_addrs = vec![0u64; envp.len()];
    for (i, s) in envp.iter().enumerate().rev() {
        p = push_down(p, s.len() + 1)?;
        env_addrs[i] = p;
    }
    let mut arg_addrs = vec![0u64; argv.len()];
    for (i, s) in argv.iter().enumerate().rev() {
        p = push_down(p, s.len() + 1)?;
        arg_addrs[i] = p;
    }
    let strings_start = p;
    let arg_start = p;
    let arg_end = env_addrs.first().copied().unwrap_or(execfn_addr);
    let env_start = arg_end;
    let env_end = execfn_addr;

    p &= !15; // arch_align_stack, without the random offset
    let platform_addr = if platform.is_empty() {
        None
    } else {
        p = push_down(p, platform.len() + 1)?;
        Some(p)
    };
    p = push_down(p, 16)?;
    let random_addr = p;

    // The final auxv: placeholders filled, missing entries appended, AT_NULL last.
    let mut aux: Vec<(u64, u64)> = Vec::new();
    aux.try_reserve(auxv.len() + 4).map_err(|_| Errno::ENOMEM)?;
    let (mut have_random, mut have_execfn, mut have_platform) = (false, false, false);
    for &(k, v) in auxv {
        match k {
            AT_NULL => {}
            AT_RANDOM if !have_random => {
                have_random = true;
                aux.push((k, random_addr));
            }
            AT_EXECFN if !have_execfn => {
                have_execfn = true;
                aux.push((k, execfn_addr));
            }
            AT_PLATFORM if !have_platform => {
                have_platform = true;
                if let Some(a) = platform_addr {
                    aux.push((k, a));
                }
            }
            AT_RANDOM | AT_EXECFN | AT_PLATFORM => {}
            _ => aux.push((k, v)),
        }
    }
    if !have_random {
        aux.push((AT_RANDOM, random_addr));
    }
    if !have_execfn {
        aux.push((AT_EXECFN, execfn_addr));
    }
    if let (false, Some(a)) = (have_platform, platform_addr) {
        aux.push((AT_PLATFORM, a));
    }
    aux.push((AT_NULL, 0));

    // argc, argv[], NULL, envp[], NULL, auxv pairs.
    let words = 1 + (argv.len() + 1) + (envp.len() + 1) + 2 * aux.len();
    let table_bytes = words.checked_mul(8).ok_or(Errno::E2BIG)?;
    let sp = push_down(p, table_bytes)? & !15;

    let total = usize::try_from(stack_top - sp).map_err(|_| Errno::E2BIG)?;
    let mut bytes: Vec<u8> = Vec::new();
    bytes.try_reserve_exact(total).map_err(|_| Errno::ENOMEM)?;
    bytes.resize(total, 0);
    // Every address below lies in sp..stack_top by construction, so these offsets are in bounds.
    let at = |addr: u64| (addr - sp) as usize;
    let mut put = |addr: u64, data: &[u8]| {
        let o = at(addr);
        bytes[o..o + data.len()].copy_from_slice(data);
    };
    put(execfn_addr, execfn);
    for (s, &a) in envp.iter().zip(&env_addrs) {
        put(a, s);
    }
    for (s, &a) in argv.iter().zip(&arg_addrs) {
        put(a, s);
    }
    if let Some(a) = platform_addr {
        put(a, platform);
    }
    put(random_addr, &random);
    let mut w = sp;
    let mut word = |v: u64| {
        put(w, &v.to_le_bytes());
        w += 8;
    };
    word(argv.len() as u64);
    for &a in &arg_addrs {
        word(a);
    }
    word(0);
    for &a in &env_addrs {
        word(a);
    }
    word(0);
    for &(k, v) in &aux {
        word(k);
        word(v);
    }
    debug_assert!(w <= strings_start);

    let argv_addr = sp + 8;
    let envp_addr = argv_addr + 8 * (argv.len() as u64 + 1);
    let auxv_addr = envp_addr + 8 * (envp.len() as u64 + 1);
    Ok(InitialStack {
        sp,
        bytes,
        argc: argv.len() as u64,
        argv_addr,
        envp_addr,
        auxv_addr,
        arg_start,
        arg_end,
        env_start,
        env_end,
        execfn_addr,
        random_addr,
        platform_addr,
        auxv: aux,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const TOP: u64 = 0x7ffe_f000_0000;

    /// Reads the stack back the way a C runtime does.
    struct Decoded {
        argc: u64,
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    fn word(st: &InitialStack, addr: u64) -> u64 {
        let o = (addr - st.sp) as usize;
        u64::from_le_bytes(st.bytes[o..o + 8].try_into().unwrap())
    }

    fn cstr(st: &InitialStack, addr: u64) -> Vec<u8> {
        let o = (addr - st.sp) as usize;
        let n = st.bytes[o..].iter().position(|&b| b == 0).unwrap();
        st.bytes[o..o + n].to_vec()
    }

    fn decode(st: &InitialStack) -> Decoded {
        assert_eq!(st.sp % 16, 0);
        assert_eq!(st.sp + st.bytes.len() as u64, TOP);
        let argc = word(st, st.sp);
        let mut a = st.sp + 8;
        let mut argv = Vec::new();
        for _ in 0..argc {
            argv.push(cstr(st, word(st, a)));
            a += 8;
        }
        assert_eq!(word(st, a), 0);
        a += 8;
        let mut envp = Vec::new();
        while word(st, a) != 0 {
            envp.push(cstr(st, word(st, a)));
            a += 8;
        }
        a += 8;
        let mut auxv = Vec::new();
        loop {
            let (k, v) = (word(st, a), word(st, a + 8));
            auxv.push((k, v));
            a += 16;
            if k == AT_NULL {
                break;
            }
        }
        Decoded { argc, argv, envp, auxv }
    }

    fn strs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn round_trip() {
        let params = AuxvParams { pagesz: 4096, clktck: 100, phdr: 0x400040, phent: 56, phnum: 9, entry: 0x401000, ..Default::default() };
        let argv = strs(&["/bin/echo", "hello", "", "world"]);
        let envp = strs(&["PATH=/bin", "HOME=/root"]);
        let random: [u8; 16] = core::array::from_fn(|i| i as u8 + 1);
        let st = build_initial_stack(TOP, &argv, &envp, &params.entries(), random, b"/bin/echo", b"x86_64").unwrap();
        let d = decode(&st);
        assert_eq!(d.argc, 4);
        assert_eq!(d.argv, argv);
        assert_eq!(d.envp, envp);
        assert_eq!(d.auxv, st.auxv);
        assert_eq!(st.argv_addr, st.sp + 8);
        assert_eq!(st.envp_addr, st.sp + 8 + 5 * 8);
        assert_eq!(st.auxv_addr, st.envp_addr + 3 * 8);

        // The auxv keeps Linux's order with the stack pointers filled in.
        let keys: Vec<u64> = d.auxv.iter().map(|e| e.0).collect();
        let pos = |k: u64| keys.iter().position(|&x| x == k).unwrap();
        assert!(pos(AT_SECURE) + 1 == pos(AT_RANDOM) && pos(AT_RANDOM) < pos(AT_HWCAP2));
        assert!(pos(AT_HWCAP2) + 1 == pos(AT_EXECFN) && pos(AT_EXECFN) + 1 == pos(AT_PLATFORM));
        assert_eq!(*keys.last().unwrap(), AT_NULL);
        let get = |k: u64| d.auxv.iter().find(|e| e.0 == k).unwrap().1;
        assert_eq!(get(AT_PHDR), 0x400040);
        assert_eq!(get(AT_RANDOM), st.random_addr);
        let ro = (st.random_addr - st.sp) as usize;
        assert_eq!(st.bytes[ro..ro + 16], random);
        assert_eq!(cstr(&st, get(AT_EXECFN)), b"/bin/echo");
        assert_eq!(cstr(&st, get(AT_PLATFORM)), b"x86_64");

        // Strings: execfn just below the 8-byte gap at the top, argv below envp, contiguous.
        assert_eq!(st.execfn_addr, TOP - 8 - 10);
        assert_eq!(&st.bytes[st.bytes.len() - 8..], &[0u8; 8]);
        assert_eq!(st.arg_start, word(&st, st.argv_addr));
        assert_eq!(st.env_end, st.execfn_addr);
        let args_len: u64 = argv.iter().map(|s| s.len() as u64 + 1).sum();
        assert_eq!(st.arg_end - st.arg_start, args_len);
        assert_eq!(st.env_start, st.arg_end);
        assert_eq!(st.env_end - st.env_start, "PATH=/bin".len() as u64 + "HOME=/root".len() as u64 + 2);
        // Random bytes and platform sit above the tables, below the strings.
        assert!(st.random_addr < st.platform_addr.unwrap() && st.platform_addr.unwrap() < st.arg_start);
        assert!(st.auxv_addr + 16 * st.auxv.len() as u64 <= st.random_addr);
    }

    #[test]
    fn placeholders_and_no_platform() {
        // A caller list without placeholders: the builder appends them; empty platform omits
        // AT_PLATFORM; stray AT_NULLs are ignored.
        let aux = [(AT_PAGESZ, 4096), (AT_NULL, 0), (AT_ENTRY, 0x1234)];
        let st = build_initial_stack(TOP, &strs(&["a"]), &[], &aux, [7; 16], b"a", b"").unwrap();
        let d = decode(&st);
        let keys: Vec<u64> = d.auxv.iter().map(|e| e.0).collect();
        assert_eq!(keys, vec![AT_PAGESZ, AT_ENTRY, AT_RANDOM, AT_EXECFN, AT_NULL]);
        assert_eq!(st.platform_addr, None);
        assert!(d.envp.is_empty());
        // Placeholders with AT_PLATFORM but no platform string are dropped.
        let aux = [(AT_PLATFORM, 99), (AT_RANDOM, 1), (AT_EXECFN, 2)];
        let st = build_initial_stack(TOP, &strs(&["a"]), &[], &aux, [7; 16], b"a", b"").unwrap();
        let keys: Vec<u64> = st.auxv.iter().map(|e| e.0).collect();
        assert_eq!(keys, vec![AT_RANDOM, AT_EXECFN, AT_NULL]);
        assert_eq!(st.auxv[0].1, st.random_addr);
    }

    #[test]
    fn empty_argv_gets_empty_arg0() {
        let st = build_initial_stack(TOP, &[], &[], &[], [0; 16], b"/x", b"x86_64").unwrap();
        let d = decode(&st);
        assert_eq!(d.argc, 1);
        assert_eq!(d.argv, vec![Vec::<u8>::new()]);
    }

    #[test]
    fn alignment_for_every_shape() {
        for nargs in 0..6 {
            for nenv in 0..6 {
                for slen in [0usize, 1, 7, 8, 15, 16, 17] {
                    let argv: Vec<Vec<u8>> = (0..nargs).map(|i| vec![b'a' + i as u8; slen]).collect();
                    let envp: Vec<Vec<u8>> = (0..nenv).map(|i| vec![b'A' + i as u8; slen + 1]).collect();
                    let plat: &[u8] = if slen % 2 == 0 { b"x86_64" } else { b"" };
                    let st = build_initial_stack(TOP, &argv, &envp, &[], [1; 16], &vec![b'f'; slen], plat).unwrap();
                    let d = decode(&st);
                    assert_eq!(st.sp % 16, 0);
                    assert_eq!(d.envp, envp);
                    if nargs > 0 {
                        assert_eq!(d.argv, argv);
                    }
                    if plat.is_empty() {
                        assert_eq!(st.random_addr % 16, 0);
                    }
                }
            }
        }
    }

    #[test]
    fn limits() {
        assert_eq!(arg_limit(8 << 20), 2 << 20);
        assert_eq!(arg_limit(u64::MAX), 6 << 20);
        assert_eq!(arg_limit(0), 128 << 10);
        // One string of exactly MAX_ARG_STRLEN bytes with its NUL is fine; one more is E2BIG.
        let ok = vec![b'x'; MAX_ARG_STRLEN - 1];
        assert!(build_initial_stack(TOP, std::slice::from_ref(&ok), &[], &[], [0; 16], b"f", b"").is_ok());
        let big = vec![b'x'; MAX_ARG_STRLEN];
        assert_eq!(build_initial_stack(TOP, &[big], &[], &[], [0; 16], b"f", b"").unwrap_err(), Errno::E2BIG);
        // 17 strings of 128 KiB exceed the 2 MiB budget of an 8 MiB rlimit.
        let many = vec![ok.clone(); 17];
        assert_eq!(build_initial_stack(TOP, &many, &[], &[], [0; 16], b"f", b"").unwrap_err(), Errno::E2BIG);
        let st = build_initial_stack_with_rlimit(TOP, &many, &[], &[], [0; 16], b"f", b"", u64::MAX).unwrap();
        assert_eq!(decode(&st).argc, 17);
        // Pointers count too: 300k empty strings need 2.4 MB of pointers.
        let empties = vec![Vec::new(); 300_000];
        assert_eq!(build_initial_stack(TOP, &empties, &[], &[], [0; 16], b"f", b"").unwrap_err(), Errno::E2BIG);
        // The execfn counts too.
        assert_eq!(build_initial_stack(TOP, &[], &[], &[], [0; 16], &vec![b'f'; MAX_ARG_STRLEN], b"").unwrap_err(), Errno::E2BIG);
        // Bad inputs.
        assert_eq!(build_initial_stack(TOP + 8, &[], &[], &[], [0; 16], b"f", b"").unwrap_err(), Errno::EINVAL);
        assert_eq!(build_initial_stack(TOP, &[b"a\0b".to_vec()], &[], &[], [0; 16], b"f", b"").unwrap_err(), Errno::EINVAL);
        assert_eq!(build_initial_stack(0x100, &[ok], &[], &[], [0; 16], b"f", b"").unwrap_err(), Errno::E2BIG);
    }

    #[test]
    fn auxv_params_order() {
        let p = AuxvParams { sysinfo_ehdr: Some(0x7fff_1000), rseq: Some((32, 32)), execfd: Some(3), ..Default::default() };
        let keys: Vec<u64> = p.entries().iter().map(|e| e.0).collect();
        assert_eq!(
            keys,
            vec![
                AT_SYSINFO_EHDR, AT_MINSIGSTKSZ, AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM,
                AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_RANDOM, AT_HWCAP2,
                AT_EXECFN, AT_PLATFORM, AT_EXECFD, AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN,
            ]
        );
    }
}
