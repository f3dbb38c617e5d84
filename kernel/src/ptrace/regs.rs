//! What a tracer reads and writes of a stopped tracee (Linux's `arch/x86/kernel/ptrace.c`):
//! the `struct user` area word by word (`PEEKUSR`/`POKEUSR`, with the debug registers), the
//! general and FPU registers, the regsets `NT_PRSTATUS`, `NT_PRFPREG`, `NT_X86_XSTATE`, and
//! `PTRACE_GET_SYSCALL_INFO`. All of it works on the registers the tracee published when it
//! stopped (`PtraceState::regs`/`fpu`).

use crate::task::ptrace::{PtraceState, SyscallOp};
use arch_um::GpRegs;
use uapi::ptrace as pt;
use uapi::{Errno, KResult};

/// The eflags bits a tracer may change (`FLAG_MASK`: CF PF AF ZF SF TF DF OF NT RF AC).
const FLAG_MASK: u64 = 0x54dd5;
/// Highest user address + 1 (`TASK_SIZE_MAX`).
const TASK_SIZE_MAX: u64 = 0x7fff_ffff_f000;
/// `DR6_RESERVED`: the bits the virtual DR6 reads as set.
const DR6_RESERVED: u64 = 0xffff_0ff0;

/// Offsets (in words) of the fields `putreg` treats specially.
mod word {
    pub const EFLAGS: usize = 18;
    pub const FS_BASE: usize = 21;
    pub const GS_BASE: usize = 22;
}

/// The registers as the 27 words of `struct user_regs_struct`.
pub fn regs_words(r: &GpRegs) -> [u64; 27] {
    [r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx, r.rdx, r.rsi, r.rdi, r.orig_rax, r.rip, r.cs, r.eflags, r.rsp, r.ss, r.fs_base, r.gs_base, r.ds, r.es, r.fs, r.gs]
}

/// The registers from the 27 words of `struct user_regs_struct`.
pub fn regs_from_words(w: &[u64; 27]) -> GpRegs {
    GpRegs { r15: w[0], r14: w[1], r13: w[2], r12: w[3], rbp: w[4], rbx: w[5], r11: w[6], r10: w[7], r9: w[8], r8: w[9], rax: w[10], rcx: w[11], rdx: w[12], rsi: w[13], rdi: w[14], orig_rax: w[15], rip: w[16], cs: w[17], eflags: w[18], rsp: w[19], ss: w[20], fs_base: w[21], gs_base: w[22], ds: w[23], es: w[24], fs: w[25], gs: w[26] }
}

/// The registers as the bytes of `struct user_regs_struct`.
pub fn regs_bytes(r: &GpRegs) -> Vec<u8> {
    regs_words(r).iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The registers from (at least 216) bytes of `struct user_regs_struct`.
pub fn regs_from_bytes(b: &[u8]) -> GpRegs {
    let mut w = [0u64; 27];
    for (i, c) in b.chunks_exact(8).take(27).enumerate() {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        w[i] = u64::from_le_bytes(a);
    }
    regs_from_words(&w)
}

/// Reads one register by its `user_regs_struct` word index.
pub fn getreg(r: &GpRegs, idx: usize) -> u64 {
    regs_words(r).get(idx).copied().unwrap_or(0)
}

/// Writes one register as Linux's `putreg` does: eflags through `FLAG_MASK`, FS/GS bases only
/// to user addresses (`EIO` otherwise). Segment selectors are kept as the stub needs them.
pub fn putreg(r: &mut GpRegs, idx: usize, v: u64) -> KResult<()> {
    let mut w = regs_words(r);
    match idx {
        word::EFLAGS => w[idx] = (w[idx] & !FLAG_MASK) | (v & FLAG_MASK),
        word::FS_BASE | word::GS_BASE if v >= TASK_SIZE_MAX => return Err(Errno::EIO),
        17 | 20 | 23..=26 => {} // cs, ss, ds, es, fs, gs: the stub's own
        i if i < 27 => w[i] = v,
        _ => return Err(Errno::EIO),
    }
    *r = regs_from_words(&w);
    Ok(())
}

/// `PTRACE_SETREGS`/`SETREGSET(NT_PRSTATUS)`: every word through `putreg`.
pub fn set_all(st: &mut PtraceState, new: &GpRegs) -> KResult<()> {
    let mut r = st.regs;
    for (i, v) in regs_words(new).iter().enumerate() {
        putreg(&mut r, i, *v)?;
    }
    st.regs = r;
    st.regs_dirty = true;
    Ok(())
}

/// Checks a `struct user` offset: word-aligned and inside it (`EIO` otherwise).
fn user_offset(addr: u64) -> KResult<u64> {
    if addr & 7 != 0 || addr >= pt::USER_SIZE {
        return Err(Errno::EIO);
    }
    Ok(addr)
}

/// The debug register index of a `u_debugreg` offset.
fn debugreg_index(addr: u64) -> Option<usize> {
    (pt::USER_DEBUGREG_OFFSET..pt::USER_DEBUGREG_OFFSET + 64).contains(&addr).then(|| ((addr - pt::USER_DEBUGREG_OFFSET) / 8) as usize)
}

/// `PTRACE_PEEKUSR`: a register, a debug register (DR6 reads with its reserved bits set), or 0.
pub fn peek_user(st: &PtraceState, addr: u64) -> KResult<u64> {
    let addr = user_offset(addr)?;
    if addr < pt::USER_REGS_SIZE {
        return Ok(getreg(&st.regs, (addr / 8) as usize));
    }
    Ok(match debugreg_index(addr) {
        Some(n @ 0..=3) => st.debugreg[n],
        Some(6) => st.debugreg[6] ^ DR6_RESERVED,
        Some(7) => st.debugreg[7],
        _ => 0,
    })
}

/// `PTRACE_POKEUSR`: a register through `putreg`, or a debug register. Breakpoint addresses
/// are kept; enabling one in DR7 gives `EIO`, as on a Linux without hardware breakpoints
/// (umbra does not program the host's debug registers for a guest). Other offsets: `EIO`.
pub fn poke_user(st: &mut PtraceState, addr: u64, v: u64) -> KResult<()> {
    let addr = user_offset(addr)?;
    if addr < pt::USER_REGS_SIZE {
        putreg(&mut st.regs, (addr / 8) as usize, v)?;
        st.regs_dirty = true;
        return Ok(());
    }
    match debugreg_index(addr) {
        Some(n @ 0..=3) if v < TASK_SIZE_MAX => st.debugreg[n] = v,
        Some(6) => st.debugreg[6] = v ^ DR6_RESERVED,
        Some(7) if v & 0xff == 0 => st.debugreg[7] = v,
        _ => return Err(Errno::EIO),
    }
    Ok(())
}

/// The FXSAVE area (`user_i387_struct`, `NT_PRFPREG`): the first 512 bytes of the image.
pub fn fxsave(st: &PtraceState) -> KResult<&[u8]> {
    st.fpu.get(..512).ok_or(Errno::EIO)
}

/// Replaces the FXSAVE area; x87 and SSE state become "in use" in the XSAVE header (as
/// Linux's `xfpregs_set`).
pub fn set_fxsave(st: &mut PtraceState, data: &[u8]) -> KResult<()> {
    let n = data.len().min(512);
    let area = st.fpu.get_mut(..n).ok_or(Errno::EIO)?;
    area.copy_from_slice(&data[..n]);
    if let Some(b) = st.fpu.get_mut(512) {
        *b |= 3;
    }
    st.fpu_dirty = true;
    Ok(())
}

/// One regset's bytes (`PTRACE_GETREGSET`); `EINVAL` for an unknown type.
pub fn regset(st: &PtraceState, ty: u64) -> KResult<Vec<u8>> {
    match ty {
        pt::NT_PRSTATUS => Ok(regs_bytes(&st.regs)),
        pt::NT_PRFPREG => Ok(fxsave(st)?.to_vec()),
        pt::NT_X86_XSTATE if !st.fpu.is_empty() => Ok(st.fpu.clone()),
        pt::NT_X86_XSTATE => Err(Errno::ENODEV),
        _ => Err(Errno::EINVAL),
    }
}

/// `PTRACE_SETREGSET`: `data` replaces the start of the regset.
pub fn set_regset(st: &mut PtraceState, ty: u64, data: &[u8]) -> KResult<()> {
    match ty {
        pt::NT_PRSTATUS => {
            let mut bytes = regs_bytes(&st.regs);
            let n = data.len().min(bytes.len());
            bytes[..n].copy_from_slice(&data[..n]);
            let new = regs_from_bytes(&bytes);
            set_all(st, &new)
        }
        pt::NT_PRFPREG => set_fxsave(st, data),
        pt::NT_X86_XSTATE => {
            let n = data.len().min(st.fpu.len());
            st.fpu[..n].copy_from_slice(&data[..n]);
            st.fpu_dirty = true;
            Ok(())
        }
        _ => Err(Errno::EINVAL),
    }
}

/// The size of a regset (for `iov_len` checks).
pub fn regset_size(st: &PtraceState, ty: u64) -> KResult<usize> {
    match ty {
        pt::NT_PRSTATUS => Ok(pt::USER_REGS_SIZE as usize),
        pt::NT_PRFPREG => Ok(512),
        pt::NT_X86_XSTATE => Ok(st.fpu.len()),
        _ => Err(Errno::EINVAL),
    }
}

/// `struct ptrace_syscall_info` for the current stop, and its full size (what the request
/// returns): 24 bytes of header, + 56 at syscall entry (nr, args), + 9 at exit (rval, is_error).
pub fn syscall_info(st: &PtraceState) -> (Vec<u8>, usize) {
    let r = &st.regs;
    let op = match st.syscall_op {
        SyscallOp::None => pt::SYSCALL_INFO_NONE,
        SyscallOp::Entry => pt::SYSCALL_INFO_ENTRY,
        SyscallOp::Exit => pt::SYSCALL_INFO_EXIT,
    };
    let mut b = Vec::with_capacity(88);
    b.push(op);
    b.extend_from_slice(&[0; 3]);
    b.extend_from_slice(&pt::AUDIT_ARCH_X86_64.to_le_bytes());
    b.extend_from_slice(&r.rip.to_le_bytes());
    b.extend_from_slice(&r.rsp.to_le_bytes());
    let size = match st.syscall_op {
        SyscallOp::None => 24,
        SyscallOp::Entry => {
            b.extend_from_slice(&r.orig_rax.to_le_bytes());
            for a in r.syscall_args() {
                b.extend_from_slice(&a.to_le_bytes());
            }
            80
        }
        SyscallOp::Exit => {
            let rval = r.rax as i64;
            b.extend_from_slice(&rval.to_le_bytes());
            b.push(u8::from((-4095..0).contains(&rval)));
            33
        }
    };
    b.resize(88, 0);
    (b, size)
}
