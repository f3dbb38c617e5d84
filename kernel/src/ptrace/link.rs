//! The tracer–tracee link (Linux's `ptrace_attach`, `ptrace_traceme`, `__ptrace_detach`,
//! `exit_ptrace`, and the ptrace half of `do_wait`): who may attach (the Yama-like rule: a
//! tracer without root may trace only its descendants with the same ids), what the tracer's
//! exit does, and how `wait` reports tracees.

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::ptrace::{Resume, ResumeMode};
use crate::task::{Process, Task};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use uapi::ptrace as pt;
use uapi::signal::{self as sig, SigInfo};
use uapi::{Errno, KResult};

/// Whether `p` is `ancestor` or one of its descendants.
fn is_descendant(p: &Arc<Process>, ancestor: &Arc<Process>) -> bool {
    let mut cur = Some(p.clone());
    for _ in 0..4096 {
        let Some(c) = cur else { return false };
        if Arc::ptr_eq(&c, ancestor) {
            return true;
        }
        cur = c.parent.lock().upgrade();
    }
    false
}

/// `ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS)` plus Yama's relational rule: root may
/// trace anything; another tracer needs the target's real, effective and saved ids to be its
/// own, and the target to descend from it.
pub fn may_attach(cur: &Current, target: &Arc<Process>) -> bool {
    let c = cur.process().creds();
    if c.capable(fs::capability::cap::SYS_PTRACE) {
        return true;
    }
    let t = target.creds();
    let same = c.uid == t.uid && c.uid == t.euid && c.uid == t.suid && c.gid == t.gid && c.gid == t.egid && c.gid == t.sgid;
    same && is_descendant(target, cur.process())
}

/// Links `task` to tracer `tracer`.
fn link(tracer: &Arc<Process>, task: &Arc<Task>, seized: bool, options: u32) {
    {
        let mut st = task.ptrace.lock();
        st.tracer = Some(Arc::downgrade(tracer));
        st.seized = seized;
        st.options = options;
        st.mode = ResumeMode::Cont;
    }
    tracer.tracees.lock().push(task.clone());
}

/// Removes `task` from its tracer's list and clears its link.
pub fn unlink(task: &Arc<Task>) {
    let tracer = task.ptrace.lock().tracer();
    if let Some(t) = tracer {
        t.tracees.lock().retain(|x| !Arc::ptr_eq(x, task));
    }
    task.ptrace.lock().clear();
}

/// `PTRACE_TRACEME`: the parent becomes the tracer (`EPERM` if already traced or orphaned).
pub fn traceme(cur: &mut Current) -> KResult<usize> {
    if cur.task.ptrace.lock().is_traced() {
        return Err(Errno::EPERM);
    }
    let parent = cur.process().parent.lock().upgrade().ok_or(Errno::EPERM)?;
    link(&parent, &cur.task.clone(), false, 0);
    Ok(0)
}

/// `PTRACE_ATTACH` (`seize` `None`: SIGSTOP is sent) and `PTRACE_SEIZE` (`(addr, options)`:
/// `EIO` unless addr is 0 and the options valid; no stop). `ESRCH` for no such task; `EPERM`
/// for oneself, a thread of one's own group, a traced task or one the caller may not trace.
pub fn attach(cur: &mut Current, pid: i64, seize: Option<(u64, u64)>) -> KResult<usize> {
    let tid = u32::try_from(pid).map_err(|_| Errno::ESRCH)?;
    let task = kernel().task(tid).ok_or(Errno::ESRCH)?;
    let options = match seize {
        Some((0, o)) => u32::try_from(o).ok().filter(|o| o & !pt::O_MASK == 0).ok_or(Errno::EIO)?,
        Some(_) => return Err(Errno::EIO),
        None => 0,
    };
    let seize = seize.is_some();
    if Arc::ptr_eq(&task.process, cur.process()) || task.exited.load(Ordering::SeqCst) || task.process.exiting.load(Ordering::SeqCst) {
        return Err(Errno::EPERM);
    }
    if !may_attach(cur, &task.process) || task.ptrace.lock().is_traced() {
        return Err(Errno::EPERM);
    }
    link(cur.process(), &task, seize, options);
    if !seize {
        let uid = cur.process().creds.lock().uid;
        crate::signal::send_to_task(&task, sig::SIGSTOP, SigInfo::kill(sig::SIGSTOP, sig::SI_USER, cur.pid() as i32, uid));
    }
    let (stopped, stop_signo) = {
        let s = task.process.stop.lock();
        (s.stopped, s.signo)
    };
    if stopped {
        // A group-stopped task re-traps so the tracer sees the stop (`JOBCTL_TRAP_STOP`); a
        // seized one reports the stop signal as `PTRACE_EVENT_STOP`.
        if seize {
            let mut st = task.ptrace.lock();
            st.interrupt = true;
            st.trap_signo = Some(stop_signo);
        }
        crate::sched::wake(&task);
    }
    Ok(0)
}

/// `PTRACE_DETACH`: unlinks and resumes with `signo` (`EIO` for an invalid signal).
pub fn detach(task: &Arc<Task>, signo: u64) -> KResult<usize> {
    let signo = valid_signal(signo)?;
    unlink(task);
    task.ptrace.lock().resume = Some(Resume { signo, mode: ResumeMode::Cont });
    crate::sched::wake(task);
    Ok(0)
}

/// A signal number a resuming request may pass (`EIO` past `_NSIG`).
pub fn valid_signal(signo: u64) -> KResult<u32> {
    u32::try_from(signo).ok().filter(|s| *s <= sig::NSIG).ok_or(Errno::EIO)
}

/// The tracer `p` exited: every tracee is detached and woken, or killed with
/// `PTRACE_O_EXITKILL` (Linux's `exit_ptrace`). Returns the zombies whose exit it never
/// collected: their parents are to be told now.
pub fn tracer_exited(p: &Arc<Process>) -> Vec<Arc<Process>> {
    let tracees: Vec<Arc<Task>> = std::mem::take(&mut *p.tracees.lock());
    let mut released = Vec::new();
    for t in tracees {
        if t.ptrace.lock().exit_report.is_some() {
            t.ptrace.lock().clear();
            if t.process.is_zombie() && !hides_exit(&t.process) {
                released.push(t.process.clone());
            }
            continue;
        }
        let kill = {
            let mut st = t.ptrace.lock();
            if !st.tracer().is_some_and(|x| Arc::ptr_eq(&x, p)) && st.tracer.as_ref().is_some_and(|w| w.strong_count() > 0) {
                continue;
            }
            let kill = st.has_option(pt::O_EXITKILL);
            st.clear();
            kill
        };
        if kill {
            crate::signal::send_to_task(&t, sig::SIGKILL, SigInfo::kill(sig::SIGKILL, sig::SI_USER, 0, 0));
        }
        crate::sched::wake(&t);
    }
    released
}

/// A traced task finished with wait status `status`. If its tracer is its parent and the
/// process is ending with it, the parent's ordinary `wait` reports it and the link just ends;
/// otherwise the tracer collects the exit itself (Linux reports every traced thread's exit).
pub fn task_exited(task: &Arc<Task>, status: i32, process_ends: bool) {
    let Some(tracer) = task.ptrace.lock().tracer() else { return };
    let parent = task.process.parent.lock().upgrade();
    let by_parent = process_ends && task.tid == task.process.pid && parent.is_some_and(|p| Arc::ptr_eq(&p, &tracer));
    if by_parent {
        unlink(task);
        return;
    }
    {
        let mut st = task.ptrace.lock();
        st.exit_report = Some(status);
        st.stop = None;
    }
    let (code, si_status) = exit_code(status);
    let uid = task.process.creds.lock().uid;
    let action = tracer.sighand().lock().get(sig::SIGCHLD);
    if !action.is_ignore() {
        crate::signal::send_to_process(&tracer, sig::SIGCHLD, SigInfo::child(code, task.tid as i32, uid, si_status, 0, 0));
    }
    tracer.child_events.notify(fs::PollEvents::POLLIN);
}

/// Whether `p`'s exit waits for a tracer (not its parent) to collect it first: its parent's
/// `wait` does not see the zombie until then (Linux's `ptrace_reparented` exit path).
pub fn hides_exit(p: &Process) -> bool {
    p.threads.lock().iter().filter_map(|t| t.upgrade()).any(|t| t.ptrace.lock().exit_report.is_some())
}

/// `(si_code, si_status)` of an exit wait status.
fn exit_code(status: i32) -> (i32, i32) {
    if status & 0x7f == 0 {
        (sig::CLD_EXITED, (status >> 8) & 0xff)
    } else {
        (sig::CLD_KILLED, status & 0x7f)
    }
}

/// What `wait` reports of a tracee.
#[derive(Clone)]
pub struct TraceReport {
    /// The tracee's tid.
    pub tid: u32,
    /// The `wait4` status word.
    pub status: i32,
    /// `waitid`'s `si_code`.
    pub code: i32,
    /// `waitid`'s `si_status`.
    pub si_status: i32,
    /// The tracee's uid.
    pub uid: u32,
    /// A zombie whose parent may now be told of its exit (the tracer collected it).
    pub released: Option<Arc<Process>>,
}

/// The ptrace half of `do_wait` for tracer `tracer`: `(some tracee matched, a report)`. A
/// ptrace stop is reported without `WUNTRACED`; an exit needs `want_exit`; `consume` false
/// (`WNOWAIT`) leaves it to report again.
pub fn wait_scan(tracer: &Process, matches: &dyn Fn(&Task) -> bool, want_exit: bool, consume: bool) -> (bool, Option<TraceReport>) {
    let tracees: Vec<Arc<Task>> = tracer.tracees.lock().clone();
    let mut any = false;
    for t in tracees.iter().filter(|t| matches(t)) {
        any = true;
        let uid = t.process.creds.lock().uid;
        let mut st = t.ptrace.lock();
        if let Some(status) = st.exit_report.filter(|_| want_exit) {
            let (code, si_status) = exit_code(status);
            let mut released = None;
            if consume {
                drop(st);
                tracer.tracees.lock().retain(|x| !Arc::ptr_eq(x, t));
                t.ptrace.lock().clear();
                released = (t.process.is_zombie() && !hides_exit(&t.process)).then(|| t.process.clone());
            }
            return (true, Some(TraceReport { tid: t.tid, status, code, si_status, uid, released }));
        }
        if st.resume.is_some() {
            continue; // resumed, not yet running: no longer stopped
        }
        if let Some(stop) = st.stop.as_mut().filter(|s| !s.reported) {
            let status = stop.status;
            if consume {
                stop.reported = true;
            }
            return (true, Some(TraceReport { tid: t.tid, status, code: sig::CLD_TRAPPED, si_status: (status >> 8) & 0xff, uid, released: None }));
        }
    }
    (any, None)
}
