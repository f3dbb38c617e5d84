//! Delivering signals on the way back to guest code (Linux's `arch_do_signal_or_restart` and
//! `get_signal`), building the handler's frame, and undoing it in `rt_sigreturn`.

use super::frame::{self, off, SigContext};
use super::{default_action, killed_by, DefaultAction, PendingSignal};
use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::ExitStatus;
use uapi::signal::{self as sig, KSigAction, SigInfo, SigSet, StackT};
use uapi::{Errno, KResult, UserAddr};

/// What the run loop must do after delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Go back to guest code.
    Resume,
    /// The process dies with this status.
    Die(ExitStatus),
}

/// Delivers pending signals that the task does not block. Ignored signals are dropped,
/// default actions applied (terminate, core, stop). A handler gets a frame, and — as Linux's
/// exit-to-user loop does — delivery goes on under the handler's mask, so several pending
/// signals stack their frames and the last one set up runs first. An interrupted syscall is
/// finished once: restarted, or `EINTR`, as Linux's `arch_do_signal_or_restart` decides from
/// the `-ERESTART*` code and `SA_RESTART`.
pub fn deliver_pending(cur: &mut Current) -> Outcome {
    let mut restart = cur.restart.take();
    loop {
        if super::trace::interrupt_trap(cur) {
            continue;
        }
        let (own, mask) = {
            let mut s = cur.task.signals.lock();
            let mask = s.mask;
            (s.pending.take(mask), mask)
        };
        let next = own.or_else(|| super::take_process_signal(cur, SigSet::from_bits(!mask.bits())));
        let Some(p) = next else {
            match restart {
                Some((nr, code)) => restart_syscall(cur, nr, code),
                None => restore_saved_mask(cur),
            }
            return Outcome::Resume;
        };
        if p.signo == sig::SIGKILL {
            return Outcome::Die(killed_by(sig::SIGKILL));
        }
        let p = if super::trace::is_traced(cur) {
            match super::trace::signal_stop(cur, p) {
                Some(p) => p,
                None => continue,
            }
        } else {
            p
        };
        let action = cur.process().sighand().lock().get(p.signo);
        if action.is_ignore() {
            continue;
        }
        if action.is_default() {
            match default_action(p.signo) {
                DefaultAction::Ignore | DefaultAction::Continue => continue,
                DefaultAction::Stop if super::trace::is_traced(cur) => {
                    // The run loop reports the group-stop to the tracer.
                    super::job::mark_group_stop(cur, p.signo);
                    continue;
                }
                DefaultAction::Stop => {
                    super::job::group_stop(cur, p.signo);
                    continue;
                }
                DefaultAction::Terminate => return Outcome::Die(killed_by(p.signo)),
                DefaultAction::CoreDump => return Outcome::Die(crate::coredump::dump_and_status(cur, p.signo)),
            }
        }
        if let Some((nr, code)) = restart.take() {
            interrupted_by_handler(cur, nr, code, &action);
        }
        if setup_frame(cur, &p, &action).is_err() {
            frame_failed(cur, p.signo);
        }
    }
}

/// A handler frame could not be written (Linux's `force_sigsegv`): SIGSEGV is forced; if the
/// failed frame was SIGSEGV's own, its handler is reset first so the process dies.
fn frame_failed(cur: &mut Current, signo: u32) {
    log::info!("pid {}: cannot build a signal frame for signal {signo}: SIGSEGV", cur.pid());
    if signo == sig::SIGSEGV {
        cur.process().sighand().lock().set(sig::SIGSEGV, KSigAction::default());
    }
    super::force_fault_signal(cur, SigInfo::fault(sig::SIGSEGV, sig::SI_KERNEL, 0));
}

/// Re-executes the interrupted syscall: back up over the 2-byte `syscall` instruction with the
/// number in `rax` again (`restart_syscall` for `ERESTART_RESTARTBLOCK`).
fn restart_syscall(cur: &mut Current, nr: u64, code: Errno) {
    let r = &mut cur.ctx.regs;
    r.rax = if code == Errno::ERESTART_RESTARTBLOCK { uapi::syscalls::RESTART_SYSCALL } else { nr };
    r.rip = r.rip.wrapping_sub(2);
    // One lock: an `if let` keeps its scrutinee's guard alive through the body, so taking
    // the lock again there would spin forever (it did: pselect6 interrupted by an ignored
    // SIGCONT hung all of umbra at Debian's shutdown).
    let mut st = cur.task.signals.lock();
    if let Some(m) = st.saved_mask.take() {
        st.mask = m;
    }
}

/// Going back to user space with no handler frame to carry it: a temporary mask a syscall
/// left in place (`epoll_pwait` interrupted with `EINTR` by a signal that stopped the task
/// instead of running a handler) is replaced by the saved one (Linux's `restore_saved_sigmask`
/// at the end of `arch_do_signal_or_restart`).
fn restore_saved_mask(cur: &mut Current) {
    let mut s = cur.task.signals.lock();
    if let Some(m) = s.saved_mask.take() {
        s.mask = m;
    }
}

/// A handler is about to run on a syscall that returned `code`: restart it (`SA_RESTART` for
/// `ERESTARTSYS`; always for `ERESTARTNOINTR`) or make it fail with `EINTR`.
fn interrupted_by_handler(cur: &mut Current, nr: u64, code: Errno, action: &KSigAction) {
    let restart = code == Errno::ERESTARTNOINTR || (code == Errno::ERESTARTSYS && action.has_flag(sig::SA_RESTART));
    if restart {
        let r = &mut cur.ctx.regs;
        r.rax = nr;
        r.rip = r.rip.wrapping_sub(2);
    } else {
        cur.ctx.regs.rax = Errno::EINTR.as_syscall_return();
    }
}

/// The FPU state as a full host XSAVE image: the kernel's saved copy, or read from the stub.
pub(super) fn current_fpu(cur: &mut Current) -> KResult<Vec<u8>> {
    if let Some(x) = cur.ctx.fpu_copy() {
        return Ok(x.0);
    }
    let mm = cur.mm();
    let mut g = mm.host.lock();
    g.fpu_of(&cur.ctx).map(|x| x.0).map_err(|_| Errno::EFAULT)
}

/// The XSAVE layout of the guest's signal frames, `(size, features)`. The platform probes it;
/// where the probe found no features (x87 and SSE are always there, so that means it read the
/// wrong word of ptrace's `sw_reserved` area), the host's XCR0 is taken from that area's first
/// word of a ptrace image, where Linux's ptrace ABI puts it.
pub(super) fn user_xstate(full: &[u8]) -> (usize, u64) {
    let (size, features) = kernel().platform.user_xstate();
    if features & 3 == 3 {
        return (size, features);
    }
    let xcr0 = full.get(464..472).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).unwrap_or(0) | 3;
    let (size, features) = arch_um::cpu::user_xstate_layout(xcr0);
    (size.min(full.len().max(576)), features)
}

/// Where the frame goes (Linux's `get_sigframe`): below the red zone of the current stack, or
/// at the top of the alternate stack for an `SA_ONSTACK` handler when not already on it.
/// `(sp, on the alternate stack)`.
fn frame_stack(rsp: u64, altstack: &StackT, action: &KSigAction) -> KResult<(u64, bool)> {
    let sp = rsp.checked_sub(128).ok_or(Errno::EFAULT)?;
    let mode = frame::altstack_mode(altstack, sp);
    if action.has_flag(sig::SA_ONSTACK) && mode == 0 {
        return Ok((altstack.ss_sp.checked_add(altstack.ss_size).ok_or(Errno::EFAULT)?, true));
    }
    Ok((sp, mode == sig::SS_ONSTACK))
}

/// Builds the `rt_sigframe` for `p` and points the registers at the handler.
fn setup_frame(cur: &mut Current, p: &PendingSignal, action: &KSigAction) -> KResult<()> {
    if !action.has_flag(sig::SA_RESTORER) {
        return Err(Errno::EFAULT); // x86-64 has no kernel-provided restorer
    }
    let regs = cur.ctx.regs;
    let (altstack, oldmask) = {
        let s = cur.task.signals.lock();
        (s.altstack, s.saved_mask.unwrap_or(s.mask))
    };
    let (sp, on_alt) = frame_stack(regs.rsp, &altstack, action)?;
    let full = current_fpu(cur)?;
    let (user_size, user_features) = user_xstate(&full);
    let xs = frame::xstate_to_frame(&full, user_size, user_features);
    let (frame_addr, fp) = frame::layout(sp, xs.len() as u64).ok_or(Errno::EFAULT)?;
    if on_alt && !frame::on_altstack(&StackT { ss_flags: 0, ..altstack }, frame_addr) {
        return Err(Errno::EFAULT); // the frame would overflow the alternate stack
    }

    let (trapno, err, cr2) = fault_details(&p.info);
    let sc = frame::save_regs(&regs, fp, trapno, err, cr2, oldmask);
    let uc_stack = StackT { ss_sp: altstack.ss_sp, ss_flags: frame::saved_altstack_flags(&altstack), _pad: 0, ss_size: altstack.ss_size };
    let uc_flags = frame::UC_FP_XSTATE | frame::UC_SIGCONTEXT_SS | frame::UC_STRICT_RESTORE_SS;
    let mut bytes = Vec::with_capacity(off::SIZE as usize);
    bytes.extend_from_slice(&action.restorer.to_le_bytes());
    bytes.extend_from_slice(&frame::ucontext_bytes(uc_flags, &uc_stack, &sc, oldmask));
    bytes.extend_from_slice(p.info.as_bytes());
    cur.write_bytes(UserAddr(fp), &xs)?;
    cur.write_bytes(UserAddr(frame_addr), &bytes)?;

    let r = &mut cur.ctx.regs;
    r.rsp = frame_addr;
    r.rip = action.handler;
    r.rdi = p.signo as u64;
    r.rsi = frame_addr + off::INFO;
    r.rdx = frame_addr + off::UC;
    r.rax = 0;
    r.eflags &= !(0x400 | 0x100 | 0x10000); // DF, TF, RF cleared for the handler
    // The handler starts with a clean FPU (MXCSR 0x1f80, x87 control word 0x37f).
    cur.ctx.set_fpu(arch_um::XState(frame::init_fpu_image(&full)));
    signal_delivered(cur, p.signo, action, &altstack);
    Ok(())
}

/// After a frame is set up (Linux's `signal_delivered`): the handler's mask is the old one
/// plus `sa_mask` plus the signal itself (unless `SA_NODEFER`); an `SS_AUTODISARM` alternate
/// stack is disarmed; `SA_RESETHAND` resets the handler (only the handler: flags and mask stay).
fn signal_delivered(cur: &mut Current, signo: u32, action: &KSigAction, altstack: &StackT) {
    let mut s = cur.task.signals.lock();
    let mut mask = s.saved_mask.take().unwrap_or(s.mask).union(action.mask_set());
    if !action.has_flag(sig::SA_NODEFER) {
        mask.add(signo);
    }
    s.mask = mask.without_unblockable();
    if altstack.ss_flags & sig::SS_AUTODISARM != 0 {
        s.altstack = frame::NO_ALTSTACK;
    }
    drop(s);
    if action.has_flag(sig::SA_RESETHAND) {
        let sighand = cur.process().sighand();
        let mut h = sighand.lock();
        let mut a = h.get(signo);
        a.handler = sig::SIG_DFL;
        h.set(signo, a);
    }
}

/// trapno/err/cr2 for a fault signal's sigcontext: a page fault (14, user-mode error code, cr2
/// = address), a general-protection fault (13, for SIGSEGV with `SI_KERNEL`), divide error (0),
/// invalid opcode (6), breakpoint (3).
fn fault_details(info: &SigInfo) -> (u64, u64, u64) {
    match info.signo as u32 {
        sig::SIGSEGV if info.code == sig::SI_KERNEL => (13, 0, 0),
        sig::SIGSEGV | sig::SIGBUS if info.code > 0 => (14, 4, info.addr()),
        sig::SIGFPE if info.code > 0 => (0, 0, 0),
        sig::SIGILL if info.code > 0 => (6, 0, 0),
        sig::SIGTRAP if info.code > 0 => (3, 0, 0),
        _ => (0, 0, 0),
    }
}

/// `rt_sigreturn`: the frame starts 8 bytes below `rsp` (the handler's `ret` popped pretcode).
/// In Linux's order: the mask, then the registers, then the FPU state (a bad `fpstate` fails
/// after the registers were restored), then the alternate stack — checked against the stack
/// pointer the call was made with, so a handler that changed the stack it runs on keeps it.
pub fn sigreturn(cur: &mut Current) -> KResult<()> {
    let call_sp = cur.ctx.regs.rsp;
    let frame_addr = call_sp.checked_sub(8).ok_or(Errno::EFAULT)?;
    let mut bytes = vec![0u8; off::SIZE as usize];
    cur.read_bytes(UserAddr(frame_addr), &mut bytes)?;
    let m = off::MCONTEXT as usize;
    let sc: SigContext = uapi::user::from_bytes(&bytes[m..m + 256]);
    let s = off::UC_STACK as usize;
    let uc_stack: StackT = uapi::user::from_bytes(&bytes[s..s + 24]);
    let k = off::SIGMASK as usize;
    let mask = SigSet::from_bits(u64::from_le_bytes(bytes[k..k + 8].try_into().map_err(|_| Errno::EFAULT)?));

    cur.task.signals.lock().mask = mask.without_unblockable();
    frame::restore_regs(&mut cur.ctx.regs, &sc);
    restore_fpu(cur, sc.fpstate)?;
    restore_altstack(cur, &uc_stack, call_sp);
    Ok(())
}

/// Loads the FPU state saved at `fpstate` (init state for a null pointer, as Linux).
fn restore_fpu(cur: &mut Current, fpstate: u64) -> KResult<()> {
    let mut full = current_fpu(cur)?;
    if fpstate == 0 {
        full = frame::init_fpu_image(&full);
    } else {
        let (user_size, user_features) = user_xstate(&full);
        let mut xs = vec![0u8; user_size + 4];
        cur.read_bytes(UserAddr(fpstate), &mut xs)?;
        frame::xstate_from_frame(&xs, &mut full, user_size, user_features);
    }
    cur.ctx.set_fpu(arch_um::XState(full));
    Ok(())
}

/// `restore_altstack`: like `sigaltstack(&uc_stack, NULL)` made at `sp`, errors ignored.
fn restore_altstack(cur: &mut Current, uc_stack: &StackT, sp: u64) {
    let mut st = cur.task.signals.lock();
    if frame::on_altstack(&st.altstack, sp) {
        return; // EPERM
    }
    let mode = uc_stack.ss_flags & !sig::SS_FLAG_BITS;
    if mode == sig::SS_DISABLE {
        st.altstack = StackT { ss_sp: 0, ss_flags: uc_stack.ss_flags, _pad: 0, ss_size: 0 };
    } else if (mode == 0 || mode == sig::SS_ONSTACK) && uc_stack.ss_size >= sig::MINSIGSTKSZ {
        st.altstack = StackT { _pad: 0, ..*uc_stack };
    }
}
