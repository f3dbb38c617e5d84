//! ptrace stops, as Linux's `kernel/signal.c` has them (`ptrace_stop`, `ptrace_signal`,
//! `do_jobctl_trap`): a traced task publishes its registers in its `PtraceState`, tells its
//! tracer (`SIGCHLD` with `CLD_TRAPPED`, a wake-up of its `wait`) and sleeps until the tracer
//! resumes it, detaches, or SIGKILL comes. The requests that resume it live in `ptrace`.

use crate::sched::Current;
use crate::task::ptrace::{Resume, ResumeMode, TraceStop};
use crate::task::Process;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use uapi::ptrace as pt;
use uapi::signal::{self as sig, SigInfo};

use super::PendingSignal;

/// Whether the task is traced (cheap: one lock).
pub fn is_traced(cur: &Current) -> bool {
    cur.task.ptrace.lock().is_traced()
}

/// Whether SIGKILL is pending for the task: every ptrace stop ends for it.
fn sigkill_pending(cur: &Current) -> bool {
    cur.task.signals.lock().pending.set.contains(sig::SIGKILL)
}

/// The siginfo of a trap stop (syscall or event): `SIGTRAP` with `si_code` the stop's
/// exit code, from the task itself (Linux's `ptrace_do_notify`).
pub fn trap_info(cur: &Current, exit_code: i32) -> SigInfo {
    let uid = cur.process().creds.lock().uid;
    SigInfo::kill(sig::SIGTRAP, exit_code, cur.task.tid as i32, uid)
}

/// Enters a ptrace stop reporting `status` (a `wait` status word) with `info` as the stop's
/// siginfo (`None` for group-stops), and sleeps until the tracer answers. `None` if the task
/// was not traced, the tracer went away, or SIGKILL ended the stop.
pub fn ptrace_stop(cur: &mut Current, status: i32, info: Option<SigInfo>, group: bool) -> Option<Resume> {
    let fpu = ptrace_xstate(super::deliver::current_fpu(cur).unwrap_or_default());
    let tracer = {
        let mut st = cur.task.ptrace.lock();
        let tracer = st.tracer()?;
        st.stop = Some(TraceStop { status, reported: false, group });
        st.resume = None;
        st.regs = cur.ctx.regs;
        crate::task::kernel::kernel().platform.set_user_selectors(&mut st.regs);
        st.regs_dirty = false;
        st.fpu = fpu;
        st.fpu_dirty = false;
        st.siginfo = info;
        tracer
    };
    notify_tracer(&tracer, cur.task.tid, cur.process(), status);
    let dying = cur.task.exited.load(Ordering::SeqCst);
    let resume = loop {
        {
            let mut st = cur.task.ptrace.lock();
            if let Some(r) = st.resume.take() {
                break Some(r);
            }
            if !st.is_traced() {
                break None;
            }
        }
        if sigkill_pending(cur) || (!dying && cur.task.exited.load(Ordering::SeqCst)) {
            break None;
        }
        cur.cpu().stop(&cur.task);
    };
    take_back(cur, resume);
    resume
}

/// The FPU image as ptrace shows it (`NT_X86_XSTATE`): Linux puts the user XCR0 in the first
/// word of the FXSAVE area's `sw_reserved` bytes (464), where debuggers read it; an image the
/// kernel built itself (exec's initial state) gets it filled in.
fn ptrace_xstate(mut full: Vec<u8>) -> Vec<u8> {
    let (_, features) = super::deliver::user_xstate(&full);
    if let Some(w) = full.get_mut(464..472) {
        if w.iter().all(|b| *b == 0) {
            w.copy_from_slice(&features.to_le_bytes());
        }
    }
    full
}

/// Leaves the stop: the registers (and FPU state) the tracer changed become the task's.
fn take_back(cur: &mut Current, resume: Option<Resume>) {
    let mut st = cur.task.ptrace.lock();
    st.stop = None;
    st.listening = false;
    if st.regs_dirty {
        cur.ctx.regs = st.regs;
    }
    let fpu = std::mem::take(&mut st.fpu);
    if st.fpu_dirty && !fpu.is_empty() {
        cur.ctx.set_fpu(arch_um::XState(fpu));
    }
    if let Some(r) = resume {
        st.mode = r.mode;
    }
    cur.ctx.single_step = resume.is_some_and(|r| matches!(r.mode, ResumeMode::Step | ResumeMode::SysemuStep));
}

/// Tells the tracer a tracee stopped: `SIGCHLD` (`CLD_TRAPPED`, unless it asked for
/// `SA_NOCLDSTOP`) and a wake-up of its `wait` (Linux's `do_notify_parent_cldstop`).
pub fn notify_tracer(tracer: &Arc<Process>, tid: u32, tracee: &Process, status: i32) {
    let action = tracer.sighand().lock().get(sig::SIGCHLD);
    if !action.has_flag(sig::SA_NOCLDSTOP) && !action.is_ignore() {
        let uid = tracee.creds.lock().uid;
        let info = SigInfo::child(sig::CLD_TRAPPED, tid as i32, uid, (status >> 8) & 0x7f, 0, 0);
        super::send_to_process(tracer, sig::SIGCHLD, info);
    }
    tracer.child_events.notify(fs::PollEvents::POLLIN);
}

/// Signal-delivery-stop (Linux's `ptrace_signal`): the tracer sees the signal and says which
/// one (if any) is delivered instead. A changed signal gets a siginfo from the tracer (unless
/// it set one with `PTRACE_SETSIGINFO`); one the task blocks is queued again. A tracer that
/// goes away without answering cancels the signal, as on Linux.
pub fn signal_stop(cur: &mut Current, p: PendingSignal) -> Option<PendingSignal> {
    let status = 0x7f | ((p.signo as i32) << 8);
    let r = ptrace_stop(cur, status, Some(p.info), false)?;
    let (info, tracer) = {
        let mut st = cur.task.ptrace.lock();
        (st.siginfo.take().unwrap_or(p.info), st.tracer())
    };
    if r.signo == 0 {
        return None;
    }
    let info = if info.signo == r.signo as i32 {
        info
    } else {
        let (pid, uid) = tracer.map(|t| (t.pid as i32, t.creds.lock().uid)).unwrap_or((0, 0));
        SigInfo::kill(r.signo, sig::SI_USER, pid, uid)
    };
    if cur.task.signals.lock().mask.contains(r.signo) {
        super::send_to_task(&cur.task, r.signo, info);
        return None;
    }
    Some(PendingSignal { signo: r.signo, info, shared: false })
}

/// The trap a seized tracee reports for `PTRACE_INTERRUPT` (or its first stop after an
/// auto-attach): `PTRACE_EVENT_STOP` with SIGTRAP. `true` if it stopped.
pub fn interrupt_trap(cur: &mut Current) -> bool {
    let fixed = {
        let mut st = cur.task.ptrace.lock();
        if !st.interrupt || !st.is_traced() {
            return false;
        }
        st.interrupt = std::mem::take(&mut st.trap_notify);
        st.trap_signo.take()
    };
    // The group's stop signal while it is stopped, else SIGTRAP (`do_jobctl_trap`).
    let (stopped, stop_signo) = {
        let s = cur.process().stop.lock();
        (s.stopped, s.signo)
    };
    let signo = fixed.unwrap_or(if stopped { stop_signo } else { sig::SIGTRAP });
    let group = signo != sig::SIGTRAP;
    let code = signo as i32 | ((pt::EVENT_STOP as i32) << 8);
    let info = SigInfo::kill(signo, code, cur.task.tid as i32, cur.process().creds.lock().uid);
    let r = ptrace_stop(cur, 0x7f | (code << 8), Some(info), group);
    if r.is_some() && group {
        cur.process().stop.lock().stopped = false; // resumed by its tracer
    }
    queue_resume_signal(cur, r);
    true
}

/// A traced task of a stopped group reports the group-stop to its tracer instead of sleeping
/// in job control (seized tracees as `PTRACE_EVENT_STOP`); when the tracer resumes it, it runs
/// on (its own part of the group stop ends, as Linux's `PTRACE_CONT` of a group-stopped tracee).
pub fn group_stop(cur: &mut Current) {
    let signo = cur.process().stop.lock().report_stop.unwrap_or(sig::SIGSTOP);
    let seized = cur.task.ptrace.lock().seized;
    let mut status = 0x7f | ((signo as i32) << 8);
    if seized {
        status |= (pt::EVENT_STOP as i32) << 16;
    }
    let r = ptrace_stop(cur, status, None, true);
    if r.is_some() {
        cur.process().stop.lock().stopped = false;
    }
}

/// After an event or syscall stop, a signal the tracer passed is sent to the task (Linux's
/// `ptrace_report_syscall`).
pub fn queue_resume_signal(cur: &Current, r: Option<Resume>) {
    if let Some(r) = r {
        if r.signo != 0 && r.signo <= sig::NSIG {
            let uid = cur.process().creds.lock().uid;
            super::send_to_task(&cur.task, r.signo, SigInfo::kill(r.signo, sig::SI_USER, cur.pid() as i32, uid));
        }
    }
}
