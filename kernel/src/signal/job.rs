//! Job control: stopping and continuing whole thread groups (Linux's group stop,
//! `do_signal_stop`, and SIGCONT's side effects in `prepare_signal`), and telling the parent.

use crate::sched::Current;
use crate::task::Process;
use std::sync::Arc;
use uapi::signal::{self as sig, SigInfo, SigSet};

/// Stops the caller's thread group because of `signo` (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU):
/// records it for `WUNTRACED`, sends the parent `SIGCHLD` (`CLD_STOPPED`, unless it asked for
/// `SA_NOCLDSTOP`), and sleeps until SIGCONT or SIGKILL.
pub fn group_stop(cur: &mut Current, signo: u32) {
    mark_group_stop(cur, signo);
    stop_until_continued(cur);
}

/// Marks the caller's thread group stopped by `signo` and tells the parent, without sleeping
/// (a traced task reports the stop to its tracer instead: `trace::group_stop`).
pub fn mark_group_stop(cur: &mut Current, signo: u32) {
    let p = cur.process().clone();
    {
        let mut st = p.stop.lock();
        st.stopped = true;
        st.report_stop = Some(signo);
        st.report_continue = false;
        st.signo = signo;
    }
    notify_parent(&p, sig::CLD_STOPPED, signo as i32);
}

/// Sleeps while the caller's group is stopped (other threads of a stopped group land here on
/// their way back to guest code).
pub fn stop_until_continued(cur: &mut Current) {
    loop {
        let stopped = cur.process().stop.lock().stopped;
        if !stopped || cur.process().exiting.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if cur.task.signals.lock().pending.set.contains(sig::SIGKILL) {
            return;
        }
        if cur.task.ptrace.lock().is_traced() {
            return; // the run loop reports the stop to the tracer (`trace::group_stop`)
        }
        cur.cpu().stop(&cur.task);
    }
}

/// Side effects of *sending* a signal to `p`, before it is queued: SIGCONT continues a stopped
/// group and discards pending stop signals; a stop signal discards a pending SIGCONT; SIGKILL
/// wakes a stopped group so it can die.
pub fn on_send(p: &Arc<Process>, signo: u32) {
    if sig::default_action(signo) == sig::DefaultAction::Stop {
        for t in p.live_threads() {
            t.signals.lock().pending.discard(SigSet::single(sig::SIGCONT));
        }
        return;
    }
    if signo != sig::SIGCONT && signo != sig::SIGKILL {
        return;
    }
    let stop_set = SigSet::single(sig::SIGSTOP)
        .union(SigSet::single(sig::SIGTSTP))
        .union(SigSet::single(sig::SIGTTIN))
        .union(SigSet::single(sig::SIGTTOU));
    let was_stopped = {
        let mut st = p.stop.lock();
        let was = st.stopped;
        st.stopped = false;
        if was && signo == sig::SIGCONT {
            st.report_continue = true;
            st.report_stop = None;
        }
        was
    };
    for t in p.live_threads() {
        if signo == sig::SIGCONT {
            t.signals.lock().pending.discard(stop_set);
            // A seized tracee traps to tell its tracer (Linux's `ptrace_trap_notify`).
            let mut st = t.ptrace.lock();
            if st.seized && st.trap_signo.is_some() {
                st.trap_notify = true;
            } else if st.seized {
                st.interrupt = true;
                if st.listening && st.stop.is_some() {
                    // PTRACE_LISTEN: the new event ends the listening stop, and it traps again.
                    st.resume = Some(crate::task::ptrace::Resume::default());
                }
            }
        }
        crate::sched::wake(&t);
    }
    if was_stopped && signo == sig::SIGCONT {
        notify_parent(p, sig::CLD_CONTINUED, sig::SIGCONT as i32);
    }
}

/// Tells `p`'s parent that `p` stopped or continued.
fn notify_parent(p: &Arc<Process>, code: i32, status: i32) {
    let Some(parent) = p.parent.lock().upgrade() else { return };
    let action = parent.sighand().lock().get(sig::SIGCHLD);
    if !action.has_flag(sig::SA_NOCLDSTOP) && !action.is_ignore() {
        let uid = p.creds.lock().uid;
        let info = SigInfo::child(code, p.pid as i32, uid, status, 0, 0);
        super::send_to_process(&parent, sig::SIGCHLD, info);
    }
    parent.child_events.notify(fs::PollEvents::POLLIN);
}
