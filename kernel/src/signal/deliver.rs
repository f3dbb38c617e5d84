//! Delivering signals on the way back to guest code (Linux's `arch_do_signal_or_restart` and
//! `get_signal`), building the handler's frame, and undoing it in `rt_sigreturn`.

use super::frame::{self, off, SigContext};
use super::{default_action, killed_by, DefaultAction, PendingSignal};
use crate::current::Current;
use crate::kernel::kernel;
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
/// default actions applied (terminate, core, stop); at most one handler frame is set up (the
/// handler runs next). Then finishes an interrupted syscall: restarted, or `EINTR`, as
/// Linux's `arch_do_signal_or_restart` decides from the `-ERESTART*` code and `SA_RESTART`.
pub fn deliver_pending(cur: &mut Current) -> Outcome {
    let restart = cur.restart.take();
    loop {
        let next = {
            let mut s = cur.task.signals.lock();
            let mask = s.mask;
            s.pending.take(mask)
        };
        let Some(p) = next else {
            if let Some((nr, code)) = restart {
                restart_syscall(cur, nr, code);
            }
            return Outcome::Resume;
        };
        let action = cur.process().sighand().lock().get(p.signo);
        if p.signo == sig::SIGKILL {
            return Outcome::Die(killed_by(sig::SIGKILL));
        }
        if action.is_ignore() {
            continue;
        }
        if action.is_default() {
            match default_action(p.signo) {
                DefaultAction::Ignore | DefaultAction::Continue => continue,
                DefaultAction::Stop => {
                    super::job::group_stop(cur, p.signo);
                    continue;
                }
                DefaultAction::Terminate | DefaultAction::CoreDump => return Outcome::Die(killed_by(p.signo)),
            }
        }
        if let Some((nr, code)) = restart {
            interrupted_by_handler(cur, nr, code, &action);
        }
        if setup_frame(cur, &p, &action).is_err() {
            // Linux: a frame that cannot be written means SIGSEGV, forced.
            log::info!("pid {}: cannot build a signal frame for signal {}: SIGSEGV", cur.pid(), p.signo);
            return Outcome::Die(killed_by(sig::SIGSEGV));
        }
        return Outcome::Resume;
    }
}

/// Re-executes the interrupted syscall: back up over the 2-byte `syscall` instruction with the
/// number in `rax` again (`restart_syscall` for `ERESTART_RESTARTBLOCK`).
fn restart_syscall(cur: &mut Current, nr: u64, code: Errno) {
    let r = &mut cur.ctx.regs;
    r.rax = if code == Errno::ERESTART_RESTARTBLOCK { uapi::syscalls::RESTART_SYSCALL } else { nr };
    r.rip = r.rip.wrapping_sub(2);
    if let Some(m) = cur.task.signals.lock().saved_mask.take() {
        cur.task.signals.lock().mask = m;
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
fn current_fpu(cur: &mut Current) -> KResult<Vec<u8>> {
    if let (Some(x), true) = (&cur.ctx.fpu, cur.ctx.fpu_dirty) {
        return Ok(x.0.clone());
    }
    let mm = cur.mm();
    let mut g = mm.lock();
    g.host.fpu_of(cur.task.tid as u64).map(|x| x.0).map_err(|_| Errno::EFAULT)
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
    let on_alt = frame::on_altstack(&altstack, regs.rsp);
    let use_alt = action.has_flag(sig::SA_ONSTACK) && altstack.ss_size != 0 && !on_alt;
    let sp = if use_alt { altstack.ss_sp.checked_add(altstack.ss_size).ok_or(Errno::EFAULT)? } else { regs.rsp.checked_sub(128).ok_or(Errno::EFAULT)? };

    let (user_size, user_features) = kernel().platform.user_xstate();
    let full = current_fpu(cur)?;
    let xs = frame::xstate_to_frame(&full, user_size, user_features);
    let (frame_addr, fp) = frame::layout(sp, xs.len() as u64).ok_or(Errno::EFAULT)?;

    let (trapno, err, cr2) = fault_details(&p.info);
    let sc = frame::save_regs(&regs, fp, trapno, err, cr2, oldmask);
    let uc_stack = StackT {
        ss_sp: altstack.ss_sp,
        ss_flags: if on_alt { sig::SS_ONSTACK } else if altstack.ss_size == 0 { sig::SS_DISABLE } else { altstack.ss_flags },
        _pad: 0,
        ss_size: altstack.ss_size,
    };
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

    let mut s = cur.task.signals.lock();
    let mut mask = s.saved_mask.take().unwrap_or(s.mask).union(action.mask_set());
    if !action.has_flag(sig::SA_NODEFER) {
        mask.add(p.signo);
    }
    s.mask = mask.without_unblockable();
    if action.has_flag(sig::SA_ONSTACK) && altstack.ss_flags & sig::SS_AUTODISARM != 0 {
        s.altstack = StackT { ss_sp: 0, ss_flags: sig::SS_DISABLE, _pad: 0, ss_size: 0 };
    }
    drop(s);
    if action.has_flag(sig::SA_RESETHAND) {
        cur.process().sighand().lock().set(p.signo, KSigAction::default());
    }
    Ok(())
}

/// trapno/err/cr2 for a fault signal's sigcontext (page fault = 14, with cr2 = address).
fn fault_details(info: &SigInfo) -> (u64, u64, u64) {
    match info.signo as u32 {
        sig::SIGSEGV if info.code > 0 => (14, 4, info.addr()),
        sig::SIGBUS if info.code > 0 => (14, 4, info.addr()),
        sig::SIGFPE if info.code > 0 => (0, 0, 0),
        sig::SIGILL if info.code > 0 => (6, 0, 0),
        sig::SIGTRAP if info.code > 0 => (3, 0, 0),
        _ => (0, 0, 0),
    }
}

/// `rt_sigreturn`: the frame starts 8 bytes below `rsp` (the handler's `ret` popped pretcode).
pub fn sigreturn(cur: &mut Current) -> KResult<()> {
    let frame_addr = cur.ctx.regs.rsp.checked_sub(8).ok_or(Errno::EFAULT)?;
    let mut bytes = vec![0u8; off::SIZE as usize];
    cur.read_bytes(UserAddr(frame_addr), &mut bytes)?;
    let m = off::MCONTEXT as usize;
    let sc: SigContext = uapi::user::from_bytes(&bytes[m..m + 256]);
    let s = off::UC_STACK as usize;
    let uc_stack: StackT = uapi::user::from_bytes(&bytes[s..s + 24]);
    let k = off::SIGMASK as usize;
    let mask = SigSet::from_bits(u64::from_le_bytes(bytes[k..k + 8].try_into().map_err(|_| Errno::EFAULT)?));

    let (user_size, user_features) = kernel().platform.user_xstate();
    let mut full = current_fpu(cur)?;
    if sc.fpstate != 0 {
        let mut xs = vec![0u8; user_size + 4];
        cur.read_bytes(UserAddr(sc.fpstate), &mut xs)?;
        frame::xstate_from_frame(&xs, &mut full, user_size, user_features);
    }
    frame::restore_regs(&mut cur.ctx.regs, &sc);
    cur.ctx.fpu = Some(arch_um::XState(full));
    cur.ctx.fpu_dirty = true;
    let mut st = cur.task.signals.lock();
    st.mask = mask.without_unblockable();
    // restore_altstack: like sigaltstack(&uc_stack, NULL), errors ignored as Linux does.
    if !frame::on_altstack(&st.altstack, cur.ctx.regs.rsp) {
        let mode = uc_stack.ss_flags & !sig::SS_FLAG_BITS;
        if mode == sig::SS_DISABLE {
            st.altstack = StackT { ss_sp: 0, ss_flags: sig::SS_DISABLE, _pad: 0, ss_size: 0 };
        } else if uc_stack.ss_size >= sig::MINSIGSTKSZ {
            st.altstack = StackT { ss_flags: uc_stack.ss_flags & sig::SS_FLAG_BITS, _pad: 0, ..uc_stack };
        }
    }
    Ok(())
}
