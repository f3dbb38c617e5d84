//! The stops a traced task makes on its own path (Linux's `ptrace_event`,
//! `ptrace_report_syscall_entry`/`_exit`): syscall-enter/exit-stops, the exec, fork, vfork,
//! clone, vfork-done and exit events, and auto-attaching new children.

use crate::sched::Current;
use crate::signal::trace::{ptrace_stop, queue_resume_signal, trap_info};
use crate::task::ptrace::{PtraceState, ResumeMode, SyscallOp};
use crate::task::{ExitStatus, Task};
use std::sync::Arc;
use uapi::flags::CloneFlags;
use uapi::ptrace as pt;
use uapi::signal::{self as sig, SigInfo};
use uapi::Errno;

/// `PTRACE_EVENTMSG_SYSCALL_ENTRY`/`_EXIT`: the event message at syscall stops.
const EVENTMSG_SYSCALL_ENTRY: u64 = 1;
const EVENTMSG_SYSCALL_EXIT: u64 = 2;

/// Whether `event`'s option is set for a traced task (`ptrace_event_enabled`).
fn event_enabled(cur: &Current, event: u32) -> bool {
    let st = cur.task.ptrace.lock();
    st.is_traced() && st.has_option(1 << event)
}

/// A `PTRACE_EVENT_*` stop with `msg` for `PTRACE_GETEVENTMSG`.
fn event_stop(cur: &mut Current, event: u32, msg: u64) {
    cur.task.ptrace.lock().event_msg = msg;
    let code = sig::SIGTRAP as i32 | ((event as i32) << 8);
    let info = trap_info(cur, code);
    ptrace_stop(cur, 0x7f | (code << 8), Some(info), false);
}

/// The exit code of a syscall stop: SIGTRAP, `| 0x80` with `PTRACE_O_TRACESYSGOOD`.
fn syscall_trap_code(st: &PtraceState) -> i32 {
    sig::SIGTRAP as i32 | if st.has_option(pt::O_TRACESYSGOOD) { 0x80 } else { 0 }
}

/// One syscall stop of kind `op`.
fn syscall_stop(cur: &mut Current, op: SyscallOp) -> Option<crate::task::ptrace::Resume> {
    let code = {
        let mut st = cur.task.ptrace.lock();
        st.syscall_op = op;
        st.event_msg = if op == SyscallOp::Entry { EVENTMSG_SYSCALL_ENTRY } else { EVENTMSG_SYSCALL_EXIT };
        syscall_trap_code(&st)
    };
    let info = trap_info(cur, code);
    let r = ptrace_stop(cur, 0x7f | (code << 8), Some(info), false);
    cur.task.ptrace.lock().syscall_op = SyscallOp::None;
    queue_resume_signal(cur, r);
    r
}

/// Syscall entry of a traced task resumed with `PTRACE_SYSCALL`/`SYSEMU`: the
/// syscall-enter-stop, with `rax` = `-ENOSYS` as Linux shows it. `true` if the syscall must
/// not run: under `PTRACE_SYSEMU`, when the tracer set `orig_rax` to -1, or when SIGKILL came.
/// The tracer may have changed the number and arguments in the registers: the dispatcher
/// reads them afterwards.
pub fn syscall_enter(cur: &mut Current) -> bool {
    let mode = {
        let st = cur.task.ptrace.lock();
        if !st.is_traced() {
            return false;
        }
        st.mode
    };
    if !matches!(mode, ResumeMode::Syscall | ResumeMode::Sysemu | ResumeMode::SysemuStep) {
        return false;
    }
    cur.ctx.regs.rax = Errno::ENOSYS.as_syscall_return();
    let r = syscall_stop(cur, SyscallOp::Entry);
    if r.is_none() {
        return cur.task.signals.lock().pending.set.contains(sig::SIGKILL);
    }
    matches!(mode, ResumeMode::Sysemu | ResumeMode::SysemuStep) || cur.ctx.regs.orig_rax == u64::MAX
}

/// Syscall exit: the syscall-exit-stop under `PTRACE_SYSCALL`; under `PTRACE_SINGLESTEP` the
/// step ends right after the `syscall` instruction (SIGTRAP, as x86's
/// `user_single_step_report`).
pub fn syscall_exit(cur: &mut Current) {
    let mode = {
        let st = cur.task.ptrace.lock();
        if !st.is_traced() {
            return;
        }
        st.mode
    };
    if cur.task.exited.load(std::sync::atomic::Ordering::SeqCst) || cur.task.signals.lock().pending.set.contains(sig::SIGKILL) {
        return;
    }
    match mode {
        ResumeMode::Syscall => {
            syscall_stop(cur, SyscallOp::Exit);
        }
        ResumeMode::Step => {
            let info = SigInfo::fault(sig::SIGTRAP, sig::TRAP_BRKPT, 0);
            crate::signal::force_fault_signal(cur, info);
        }
        _ => {}
    }
}

/// After a successful `execve`: the `PTRACE_EVENT_EXEC` stop (message: the former thread
/// id), or without `PTRACE_O_TRACEEXEC` the legacy SIGTRAP of a non-seized tracee.
pub fn exec_event(cur: &mut Current) {
    let (traced, seized) = {
        let st = cur.task.ptrace.lock();
        (st.is_traced(), st.seized)
    };
    if !traced {
        return;
    }
    if event_enabled(cur, pt::EVENT_EXEC) {
        let tid = u64::from(cur.task.tid);
        event_stop(cur, pt::EVENT_EXEC, tid);
    } else if !seized {
        let uid = cur.process().creds.lock().uid;
        crate::signal::send_to_task(&cur.task, sig::SIGTRAP, SigInfo::kill(sig::SIGTRAP, sig::SI_USER, cur.pid() as i32, uid));
    }
}

/// Which event a `clone` with flags `f` and exit signal `exit_signal` reports, if the caller
/// traces it (Linux's choice in `kernel_clone`); `None` if none.
pub fn clone_event(cur: &Current, f: CloneFlags, exit_signal: u32) -> Option<u32> {
    if f.contains(CloneFlags::UNTRACED) {
        return None;
    }
    let event = if f.contains(CloneFlags::VFORK) {
        pt::EVENT_VFORK
    } else if exit_signal != sig::SIGCHLD {
        pt::EVENT_CLONE
    } else {
        pt::EVENT_FORK
    };
    event_enabled(cur, event).then_some(event)
}

/// Attaches a new child to the caller's tracer before it first runs (`ptrace_init_task`):
/// same options; a seized child starts with a `PTRACE_EVENT_STOP` trap, another with SIGSTOP.
pub fn attach_child(cur: &Current, child: &Arc<Task>, event: Option<u32>, f: CloneFlags) {
    let (tracer, seized, options) = {
        let st = cur.task.ptrace.lock();
        (st.tracer(), st.seized, st.options)
    };
    let Some(tracer) = tracer else { return };
    let forced = f.contains(CloneFlags::PTRACE) && !f.contains(CloneFlags::UNTRACED);
    if event.is_none() && !forced {
        return;
    }
    {
        let mut st = child.ptrace.lock();
        st.tracer = Some(Arc::downgrade(&tracer));
        st.seized = seized;
        st.options = options;
        st.interrupt = seized;
    }
    tracer.tracees.lock().push(child.clone());
    if !seized {
        child.signals.lock().pending.add(sig::SIGSTOP, SigInfo::new(sig::SIGSTOP, sig::SI_USER));
    }
}

/// The parent's fork/vfork/clone event stop (message: the child's tid).
pub fn report_clone(cur: &mut Current, event: Option<u32>, child_tid: u32) {
    if let Some(e) = event {
        event_stop(cur, e, u64::from(child_tid));
    }
}

/// The `PTRACE_EVENT_VFORK_DONE` stop once a vfork child released the parent.
pub fn report_vfork_done(cur: &mut Current, child_tid: u32) {
    if event_enabled(cur, pt::EVENT_VFORK_DONE) {
        event_stop(cur, pt::EVENT_VFORK_DONE, u64::from(child_tid));
    }
}

/// The status a finishing task reports: its own `exit`, its process's, or 0.
pub fn exit_status_word(cur: &Current) -> i32 {
    if let Some(s) = cur.task.ptrace.lock().own_exit {
        return s;
    }
    cur.process().pending_status.lock().unwrap_or(ExitStatus::Exited(0)).wait_status()
}

/// `PTRACE_EVENT_EXIT`: a traced task about to exit stops with its exit status as the message
/// (not when SIGKILL is what ends it).
pub fn exit_event(cur: &mut Current) {
    if !event_enabled(cur, pt::EVENT_EXIT) || cur.task.signals.lock().pending.set.contains(sig::SIGKILL) {
        return;
    }
    let status = exit_status_word(cur);
    event_stop(cur, pt::EVENT_EXIT, status as u32 as u64);
}
