//! `wait4` and `waitid` (Linux's `kernel/exit.c` `do_wait`): a parent collects the status of
//! children that exited (reaping the zombie), stopped (`WUNTRACED`) or continued
//! (`WCONTINUED`), sleeping on its `child_events` until one does.

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::{CpuTimes, ExitStatus, Process};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use uapi::flags::{self as f, WaitOptions};
use uapi::signal::{self as sig, SigInfo};
use uapi::structs::{Rusage, Timeval};
use uapi::{Errno, KResult, UserAddr};

/// Which children a wait selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Any child.
    Any,
    /// The child with this pid.
    Pid(u32),
    /// Any child in this process group.
    Pgid(u32),
    /// The very process a pidfd names (its address, so a later process with its pid is not
    /// taken for it); `None` for a pidfd that names no process (a thread's).
    Exact(Option<usize>),
}

/// What a wait found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// The child.
    pub pid: u32,
    /// `wait4` status word.
    pub status: i32,
    /// `waitid`'s `si_code` (CLD_*).
    pub code: i32,
    /// `waitid`'s `si_status`.
    pub si_status: i32,
    /// The child's uid.
    pub uid: u32,
    /// The child's CPU times (for rusage).
    pub times: CpuTimes,
}

fn matches(which: Which, c: &Process) -> bool {
    match which {
        Which::Any => true,
        Which::Pid(p) => c.pid == p,
        Which::Pgid(g) => c.pgid.load(Ordering::Relaxed) == g,
        Which::Exact(p) => p == Some(c as *const Process as usize),
    }
}

/// Linux's `eligible_child`: with `__WALL` every child; otherwise "clone" children (whose
/// exit signal is not SIGCHLD) only with `__WCLONE`, and the others only without it.
fn eligible(which: Which, opts: WaitOptions, c: &Process) -> bool {
    if !matches(which, c) {
        return false;
    }
    if opts.contains(WaitOptions::__WALL) {
        return true;
    }
    (c.exit_signal != sig::SIGCHLD) == opts.contains(WaitOptions::__WCLONE)
}

/// Removes a zombie child from its parent and the process table, and adds its CPU time to the
/// parent's children totals.
pub fn reap(parent: &Process, child: &Arc<Process>) {
    parent.children.lock().retain(|c| !Arc::ptr_eq(c, child));
    kernel().processes.lock().remove(&child.pid);
    crate::pidfd::notify_process(child);
    let ct = *child.cputime.lock();
    let mut pt = parent.cputime.lock();
    pt.children_user_ns = pt.children_user_ns.saturating_add(ct.user_ns + ct.children_user_ns);
    pt.children_system_ns = pt.children_system_ns.saturating_add(ct.system_ns + ct.children_system_ns);
}

/// Sends the exit signal to the parent and wakes its `wait`; a parent that ignores SIGCHLD
/// (or set `SA_NOCLDWAIT`) never sees the zombie: it is reaped at once, as Linux does.
pub fn notify_parent_of_exit(parent: &Arc<Process>, p: &Arc<Process>, status: ExitStatus) {
    let action = parent.sighand().lock().get(sig::SIGCHLD);
    let autoreap = p.exit_signal == sig::SIGCHLD && (action.is_ignore() || action.has_flag(sig::SA_NOCLDWAIT));
    let (code, st) = match status {
        ExitStatus::Exited(c) => (sig::CLD_EXITED, c),
        ExitStatus::Killed { signo, core } => (if core { sig::CLD_DUMPED } else { sig::CLD_KILLED }, signo),
    };
    // With SA_NOCLDWAIT the handler still runs; only SIG_IGN suppresses the signal.
    let sent = p.exit_signal != 0 && !(p.exit_signal == sig::SIGCHLD && action.is_ignore());
    if sent {
        let uid = p.creds.lock().uid;
        let t = p.cputime.lock();
        let info = SigInfo::child(code, p.pid as i32, uid, st, (t.user_ns / 10_000_000) as i64, (t.system_ns / 10_000_000) as i64);
        drop(t);
        crate::signal::send_to_process(parent, p.exit_signal, info);
    }
    if autoreap {
        reap(parent, p);
    }
    parent.child_events.notify(fs::PollEvents::POLLIN);
}

/// One pass over the children: `Ok(Some)` if one is reportable, `Ok(None)` if some match but
/// none is ready, `Err(ECHILD)` if none match.
fn scan(parent: &Process, which: Which, opts: WaitOptions) -> KResult<Option<Found>> {
    let (tracees, traced) = scan_tracees(parent, which, opts);
    if let Some(f) = traced {
        return Ok(Some(f));
    }
    let children: Vec<Arc<Process>> = parent.children.lock().iter().filter(|c| eligible(which, opts, c)).cloned().collect();
    if children.is_empty() && !tracees {
        return Err(Errno::ECHILD);
    }
    for c in &children {
        let uid = c.creds.lock().uid;
        if opts.contains(WaitOptions::WEXITED) && !crate::ptrace::hides_exit(c) {
            if let Some(st) = *c.exit_status.lock() {
                let (code, si_status) = match st {
                    ExitStatus::Exited(x) => (sig::CLD_EXITED, x),
                    ExitStatus::Killed { signo, core } => (if core { sig::CLD_DUMPED } else { sig::CLD_KILLED }, signo),
                };
                let times = *c.cputime.lock();
                if !opts.contains(WaitOptions::WNOWAIT) {
                    reap(parent, c);
                }
                return Ok(Some(Found { pid: c.pid, status: st.wait_status(), code, si_status, uid, times }));
            }
        }
        let mut stop = c.stop.lock();
        if opts.contains(WaitOptions::WUNTRACED) {
            if let Some(s) = stop.report_stop {
                if !opts.contains(WaitOptions::WNOWAIT) {
                    stop.report_stop = None;
                }
                return Ok(Some(Found { pid: c.pid, status: 0x7f | ((s as i32) << 8), code: sig::CLD_STOPPED, si_status: s as i32, uid, times: CpuTimes::default() }));
            }
        }
        if opts.contains(WaitOptions::WCONTINUED) && stop.report_continue {
            if !opts.contains(WaitOptions::WNOWAIT) {
                stop.report_continue = false;
            }
            return Ok(Some(Found { pid: c.pid, status: 0xffff, code: sig::CLD_CONTINUED, si_status: sig::SIGCONT as i32, uid, times: CpuTimes::default() }));
        }
    }
    Ok(None)
}

/// The ptrace half of a wait (`crate::ptrace::wait_scan`): tracees are always eligible, their
/// ptrace stops reported without `WUNTRACED`. `(some tracee matched, a report)`.
fn scan_tracees(tracer: &Process, which: Which, opts: WaitOptions) -> (bool, Option<Found>) {
    if tracer.tracees.lock().is_empty() {
        return (false, None);
    }
    let matches = |t: &crate::task::Task| match which {
        Which::Pid(p) => t.tid == p,
        _ => matches(which, &t.process),
    };
    let consume = !opts.contains(WaitOptions::WNOWAIT);
    let (any, report) = crate::ptrace::wait_scan(tracer, &matches, opts.contains(WaitOptions::WEXITED), consume);
    if let Some(p) = report.as_ref().and_then(|r| r.released.clone()) {
        release_to_parent(&p);
    }
    let found = report.map(|r| Found { pid: r.tid, status: r.status, code: r.code, si_status: r.si_status, uid: r.uid, times: CpuTimes::default() });
    (any, found)
}

/// A traced zombie the tracer has collected: its parent is told of the exit now.
fn release_to_parent(p: &Arc<Process>) {
    let parent = p.parent.lock().upgrade();
    let status = *p.exit_status.lock();
    if let (Some(parent), Some(status)) = (parent, status) {
        notify_parent_of_exit(&parent, p, status);
    }
}

/// Waits for a child as `opts` say; `Ok(None)` for `WNOHANG` with nothing ready.
pub fn do_wait(cur: &mut Current, which: Which, opts: WaitOptions) -> KResult<Option<Found>> {
    let parent = cur.process().clone();
    if let Some(f) = scan(&parent, which, opts)? {
        return Ok(Some(f));
    }
    if opts.contains(WaitOptions::WNOHANG) {
        return Ok(None);
    }
    crate::sched::wait_until(cur, &[&parent.child_events], fs::PollEvents::all(), None, |_| match scan(&parent, which, opts) {
        Ok(Some(f)) => Some(Ok(Some(f))),
        Ok(None) => None,
        Err(e) => Some(Err(e)),
    })
}

fn timeval(ns: u64) -> Timeval {
    Timeval { tv_sec: (ns / 1_000_000_000) as i64, tv_usec: ((ns % 1_000_000_000) / 1000) as i64 }
}

/// A `struct rusage` with the given CPU times.
pub fn rusage(user_ns: u64, system_ns: u64) -> Rusage {
    Rusage { ru_utime: timeval(user_ns), ru_stime: timeval(system_ns), ..Default::default() }
}

/// `wait4(2)`.
pub fn sys_wait4(cur: &mut Current, pid: i32, status: UserAddr, options: u32, ru: UserAddr) -> KResult<usize> {
    let opts = WaitOptions::from_bits(options).ok_or(Errno::EINVAL)?;
    let allowed = WaitOptions::WNOHANG | WaitOptions::WUNTRACED | WaitOptions::WCONTINUED | WaitOptions::__WALL | WaitOptions::__WCLONE | WaitOptions::__WNOTHREAD;
    if !allowed.contains(opts) {
        return Err(Errno::EINVAL);
    }
    let which = match pid {
        -1 => Which::Any,
        0 => Which::Pgid(cur.process().pgid.load(Ordering::Relaxed)),
        p if p > 0 => Which::Pid(p as u32),
        p if p == i32::MIN => return Err(Errno::ESRCH),
        p => Which::Pgid(p.unsigned_abs()),
    };
    let found = do_wait(cur, which, opts | WaitOptions::WEXITED)?;
    let Some(found) = found else { return Ok(0) };
    if !status.is_null() {
        cur.write_val(status, &found.status)?;
    }
    if !ru.is_null() {
        cur.write_val(ru, &rusage(found.times.user_ns, found.times.system_ns))?;
    }
    Ok(found.pid as usize)
}

/// `waitid(2)`.
pub fn sys_waitid(cur: &mut Current, idtype: u32, id: i32, infop: UserAddr, options: u32, ru: UserAddr) -> KResult<usize> {
    let opts = WaitOptions::from_bits(options).ok_or(Errno::EINVAL)?;
    if !opts.intersects(WaitOptions::WEXITED | WaitOptions::WSTOPPED | WaitOptions::WCONTINUED) {
        return Err(Errno::EINVAL);
    }
    let mut opts = opts;
    let which = match idtype {
        f::P_ALL => Which::Any,
        f::P_PID if id > 0 => Which::Pid(id as u32),
        f::P_PGID if id > 0 => Which::Pgid(id as u32),
        f::P_PGID if id == 0 => Which::Pgid(cur.process().pgid.load(Ordering::Relaxed)),
        f::P_PIDFD if id >= 0 => {
            let (p, nonblock) = crate::pidfd::wait_target(cur, crate::fs_glue::Fd(id))?;
            if nonblock {
                opts |= WaitOptions::WNOHANG;
            }
            Which::Exact(p.map(|p| Arc::as_ptr(&p) as usize))
        }
        _ => return Err(Errno::EINVAL),
    };
    let found = do_wait(cur, which, opts)?;
    if found.is_none() && !WaitOptions::from_bits_truncate(options).contains(WaitOptions::WNOHANG) && opts.contains(WaitOptions::WNOHANG) {
        return Err(Errno::EAGAIN);
    }
    if !infop.is_null() {
        let info = match found {
            Some(fd) => SigInfo::child(fd.code, fd.pid as i32, fd.uid, fd.si_status, 0, 0),
            None => SigInfo::default(),
        };
        cur.write_bytes(infop, info.as_bytes())?;
    }
    if !ru.is_null() {
        let t = found.map(|f| f.times).unwrap_or_default();
        cur.write_val(ru, &rusage(t.user_ns, t.system_ns))?;
    }
    Ok(0)
}
