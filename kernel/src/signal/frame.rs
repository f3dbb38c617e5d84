//! Linux's x86-64 signal frame (`arch/x86/kernel/signal_64.c`, `struct rt_sigframe`), built
//! exactly so that glibc's and musl's `__restore_rt` (`rt_sigreturn`) work:
//!
//! ```text
//!   higher addresses   the interrupted stack (minus the 128-byte red zone) or the altstack top
//!                      xstate: the FPU/SSE/AVX state in the *task's user* XSAVE size, 64-aligned,
//!                              with fpx_sw_bytes in its sw_reserved area and FP_XSTATE_MAGIC2 after it
//!                      siginfo (128 bytes)
//!                      ucontext (uc_flags, uc_link, uc_stack, sigcontext, uc_sigmask)
//!   rsp at handler ->  pretcode: the return address, sa_restorer
//! ```
//! The handler gets `rdi = signo`, `rsi = &info`, `rdx = &uc`; its `ret` jumps to the restorer,
//! which calls `rt_sigreturn` with `rsp` just past `pretcode`.

use arch_um::GpRegs;
use uapi::signal::{SigSet, StackT, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK};

/// `uc_flags` bits (`arch/x86/include/uapi/asm/ucontext.h`).
pub const UC_FP_XSTATE: u64 = 0x1;
/// The frame saved `ss`.
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
/// `rt_sigreturn` restores `ss` strictly.
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;
/// `fpx_sw_bytes.magic1` (`FP_XSTATE_MAGIC1`).
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// The word after the xstate area (`FP_XSTATE_MAGIC2`).
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Offset of `sw_reserved` (fpx_sw_bytes) in the FXSAVE area.
pub const SW_RESERVED_OFFSET: usize = 464;

/// Byte offsets inside the frame.
pub mod off {
    /// `pretcode`.
    pub const PRETCODE: u64 = 0;
    /// `uc`.
    pub const UC: u64 = 8;
    /// `uc.uc_stack`.
    pub const UC_STACK: u64 = UC + 16;
    /// `uc.uc_mcontext` (struct sigcontext).
    pub const MCONTEXT: u64 = UC + 40;
    /// `uc.uc_sigmask`.
    pub const SIGMASK: u64 = MCONTEXT + 256;
    /// `info`.
    pub const INFO: u64 = SIGMASK + 8;
    /// Size of the frame without the xstate.
    pub const SIZE: u64 = INFO + 128;
}

/// Linux's `struct sigcontext` (64-bit), 256 bytes.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, bytemuck::Pod, bytemuck::Zeroable)]
#[allow(missing_docs)]
pub struct SigContext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
    pub err: u64,
    pub trapno: u64,
    pub oldmask: u64,
    pub cr2: u64,
    pub fpstate: u64,
    pub reserved1: [u64; 8],
}

const _: () = assert!(core::mem::size_of::<SigContext>() == 256);

/// The eflags bits `rt_sigreturn` lets user space change (`FIX_EFLAGS` in Linux).
pub const FIX_EFLAGS: u64 = 0x0001 | 0x0004 | 0x0010 | 0x0040 | 0x0080 | 0x0100 | 0x0400 | 0x0800 | 0x0004_0000 | 0x0020_0000;

/// Saves registers into a sigcontext (with the fault details a fault signal carries).
pub fn save_regs(r: &GpRegs, fpstate: u64, trapno: u64, err: u64, cr2: u64, oldmask: SigSet) -> SigContext {
    SigContext {
        r8: r.r8,
        r9: r.r9,
        r10: r.r10,
        r11: r.r11,
        r12: r.r12,
        r13: r.r13,
        r14: r.r14,
        r15: r.r15,
        rdi: r.rdi,
        rsi: r.rsi,
        rbp: r.rbp,
        rbx: r.rbx,
        rdx: r.rdx,
        rax: r.rax,
        rcx: r.rcx,
        rsp: r.rsp,
        rip: r.rip,
        eflags: r.eflags,
        cs: r.cs as u16,
        gs: 0,
        fs: 0,
        ss: r.ss as u16,
        err,
        trapno,
        oldmask: oldmask.bits(),
        cr2,
        fpstate,
        reserved1: [0; 8],
    }
}

/// Restores registers from a sigcontext (`restore_sigcontext`): general registers, rip, rsp and
/// the user-changeable eflags bits; segment selectors stay the stub's.
pub fn restore_regs(r: &mut GpRegs, sc: &SigContext) {
    r.r8 = sc.r8;
    r.r9 = sc.r9;
    r.r10 = sc.r10;
    r.r11 = sc.r11;
    r.r12 = sc.r12;
    r.r13 = sc.r13;
    r.r14 = sc.r14;
    r.r15 = sc.r15;
    r.rdi = sc.rdi;
    r.rsi = sc.rsi;
    r.rbp = sc.rbp;
    r.rbx = sc.rbx;
    r.rdx = sc.rdx;
    r.rax = sc.rax;
    r.rcx = sc.rcx;
    r.rsp = sc.rsp;
    r.rip = sc.rip;
    r.eflags = (r.eflags & !FIX_EFLAGS) | (sc.eflags & FIX_EFLAGS);
}

/// Where the frame and its xstate go (`get_sigframe`): below the red zone of the current
/// stack, or at the top of the alternate stack; xstate 64-byte aligned; the frame so that
/// `(rsp + 8) % 16 == 0` at handler entry, as a function call leaves it.
pub fn layout(sp: u64, xstate_len: u64) -> Option<(u64, u64)> {
    let fp = sp.checked_sub(xstate_len)? & !63;
    let frame = (fp.checked_sub(off::SIZE)? & !15).checked_sub(8)?;
    Some((frame, fp))
}

/// Whether `sp` lies on the alternate stack `ss` (Linux's `on_sig_stack`). A stack armed with
/// `SS_AUTODISARM` never counts as "on": it is disarmed while a handler uses it.
pub fn on_altstack(ss: &StackT, sp: u64) -> bool {
    if ss.ss_flags & SS_AUTODISARM != 0 {
        return false;
    }
    ss.ss_size != 0 && sp > ss.ss_sp && sp.wrapping_sub(ss.ss_sp) <= ss.ss_size
}

/// The alternate stack's state as seen from `sp` (Linux's `sas_ss_flags`): `SS_DISABLE` when
/// there is none, `SS_ONSTACK` while running on it, else 0.
pub fn altstack_mode(ss: &StackT, sp: u64) -> i32 {
    if ss.ss_size == 0 {
        SS_DISABLE
    } else if on_altstack(ss, sp) {
        SS_ONSTACK
    } else {
        0
    }
}

/// The flags a frame's `uc_stack` records (`__save_altstack`): the stored `ss_flags`, with
/// `SS_DISABLE` for a thread that never set a stack.
pub fn saved_altstack_flags(ss: &StackT) -> i32 {
    if ss.ss_size == 0 && ss.ss_flags == 0 {
        SS_DISABLE
    } else {
        ss.ss_flags
    }
}

/// No alternate stack (Linux's `sas_ss_reset`).
pub const NO_ALTSTACK: StackT = StackT { ss_sp: 0, ss_flags: SS_DISABLE, _pad: 0, ss_size: 0 };

/// Writes the ucontext header fields and returns its bytes (everything before `info`).
pub fn ucontext_bytes(uc_flags: u64, stack: &StackT, sc: &SigContext, mask: SigSet) -> Vec<u8> {
    let mut v = Vec::with_capacity((off::INFO - off::UC) as usize);
    v.extend_from_slice(&uc_flags.to_le_bytes());
    v.extend_from_slice(&0u64.to_le_bytes()); // uc_link
    v.extend_from_slice(bytemuck::bytes_of(stack));
    v.extend_from_slice(bytemuck::bytes_of(sc));
    v.extend_from_slice(&mask.bits().to_le_bytes());
    v
}

/// Turns the host's full-size XSAVE image (from ptrace) into the task's user-size signal
/// xstate: the first `user_size` bytes, `xstate_bv` limited to `user_features`, fpx_sw_bytes
/// describing it, and MAGIC2 after it.
pub fn xstate_to_frame(full: &[u8], user_size: usize, user_features: u64) -> Vec<u8> {
    let mut v = vec![0u8; user_size + 4];
    let n = user_size.min(full.len());
    v[..n].copy_from_slice(&full[..n]);
    if v.len() >= 520 {
        let bv = u64::from_le_bytes(v[512..520].try_into().unwrap_or([0; 8])) & user_features;
        v[512..520].copy_from_slice(&bv.to_le_bytes());
    }
    let sw = SW_RESERVED_OFFSET;
    v[sw..sw + 4].copy_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
    v[sw + 4..sw + 8].copy_from_slice(&((user_size + 4) as u32).to_le_bytes());
    v[sw + 8..sw + 16].copy_from_slice(&user_features.to_le_bytes());
    v[sw + 16..sw + 20].copy_from_slice(&(user_size as u32).to_le_bytes());
    v[sw + 20..sw + 48].fill(0);
    v[user_size..user_size + 4].copy_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    v
}

/// The FPU state a handler starts with (Linux's `fpu__clear_user_states`): x87 and SSE in
/// their init state (FCW 0x37f, MXCSR 0x1f80, registers zero), every other component init,
/// in a full-size image shaped like `full` (its `MXCSR_MASK` kept).
pub fn init_fpu_image(full: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; full.len().max(576)];
    v[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    v[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    let mask = full.get(28..32).map(|b| [b[0], b[1], b[2], b[3]]).unwrap_or([0xff, 0xff, 0, 0]);
    v[28..32].copy_from_slice(&mask);
    v[512..520].copy_from_slice(&3u64.to_le_bytes()); // x87 + SSE present, in init values
    v
}

/// Merges a signal frame's xstate back into a full-size XSAVE image for ptrace
/// (`restore_fpregs_from_user`): if the frame carries valid fpx_sw_bytes and MAGIC2, the
/// extended state is taken; otherwise only the legacy 512-byte FXSAVE part. `xstate_bv` is
/// limited to `user_features`; features the frame does not cover are reset to init state.
pub fn xstate_from_frame(frame: &[u8], full: &mut [u8], user_size: usize, user_features: u64) {
    let sw = SW_RESERVED_OFFSET;
    let magic1 = frame.get(sw..sw + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let ext_ok = magic1 == Some(FP_XSTATE_MAGIC1)
        && frame.get(user_size..user_size + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])) == Some(FP_XSTATE_MAGIC2);
    let n = if ext_ok { user_size } else { 512 }.min(full.len()).min(frame.len());
    full[..n].copy_from_slice(&frame[..n]);
    // MXCSR reserved bits would make the host's XRSTOR fault: keep them clear (Linux checks).
    if full.len() >= 28 {
        let mxcsr = u32::from_le_bytes([full[24], full[25], full[26], full[27]]) & 0xffff;
        full[24..28].copy_from_slice(&mxcsr.to_le_bytes());
    }
    if full.len() >= 576 {
        let bv = if ext_ok {
            u64::from_le_bytes(full[512..520].try_into().unwrap_or([0; 8])) & user_features
        } else {
            3 // x87 and SSE from the legacy area
        };
        full[512..520].copy_from_slice(&bv.to_le_bytes());
        full[520..576].fill(0); // xcomp_bv and reserved: standard format
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_linux_alignment() {
        let (frame, fp) = layout(0x7fff_f000 - 128, 2816 + 4).unwrap();
        assert_eq!(fp % 64, 0);
        assert_eq!((frame + 8) % 16, 0);
        assert!(frame + off::SIZE <= fp);
        assert_eq!(off::INFO, 8 + 304);
    }

    #[test]
    fn xstate_round_trip() {
        let mut full = vec![0u8; 11008];
        full[160] = 9; // xmm0
        full[512] = 0xff; // xstate_bv incl. AMX bits
        full[519] = 0;
        let user_features = 0x2ff; // x87..AVX-512, PKRU, no AMX
        let f = xstate_to_frame(&full, 2816, user_features);
        assert_eq!(f.len(), 2820);
        assert_eq!(&f[2816..], &FP_XSTATE_MAGIC2.to_le_bytes());
        let mut back = vec![0u8; 11008];
        xstate_from_frame(&f, &mut back, 2816, user_features);
        assert_eq!(back[160], 9);
        assert_eq!(back[512], 0xff);
    }

    #[test]
    fn altstack_flags_follow_linux() {
        let ss = StackT { ss_sp: 0x1000, ss_flags: 0, _pad: 0, ss_size: 0x4000 };
        assert_eq!(altstack_mode(&ss, 0x2000), SS_ONSTACK);
        assert_eq!(altstack_mode(&ss, 0x9000), 0);
        assert_eq!(altstack_mode(&NO_ALTSTACK, 0x2000), SS_DISABLE);
        let armed = StackT { ss_flags: SS_AUTODISARM, ..ss };
        assert!(!on_altstack(&armed, 0x2000), "an SS_AUTODISARM stack is never 'on'");
        assert_eq!(saved_altstack_flags(&armed), SS_AUTODISARM);
        assert_eq!(saved_altstack_flags(&StackT::default()), SS_DISABLE);
    }

    #[test]
    fn handlers_start_with_the_init_fpu_state() {
        let mut full = vec![0xaau8; 832];
        full[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
        let init = init_fpu_image(&full);
        assert_eq!(init.len(), 832);
        assert_eq!(&init[0..2], &0x037fu16.to_le_bytes());
        assert_eq!(&init[24..28], &0x1f80u32.to_le_bytes());
        assert_eq!(&init[28..32], &0xffffu32.to_le_bytes());
        assert!(init[160..416].iter().all(|&b| b == 0), "xmm registers are zero");
        assert_eq!(u64::from_le_bytes(init[512..520].try_into().unwrap()), 3);
    }
}
