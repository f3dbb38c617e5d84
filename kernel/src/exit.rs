//! Ending threads and processes (Linux's `do_exit`, `do_group_exit`, `exit_notify`), and
//! choosing the targets of `kill`.
//!
//! A thread ends by returning from its run loop; the last thread of a process to end turns the
//! process into a *zombie*: its memory and files are released, its children are handed to
//! pid 1, and its parent gets `SIGCHLD` and wakes from `wait`. The zombie keeps only its exit
//! status until the parent reaps it.

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::{ExitStatus, Process, TaskState};
use fs::PollEvents;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use uapi::signal::{self as sig};
use uapi::{Errno, KResult};

/// `exit(2)`: ends the calling thread (the process, if it was the last one).
pub fn exit_thread(cur: &mut Current, status: ExitStatus) {
    let p = cur.process();
    let others = p.live_threads().into_iter().any(|t| t.tid != cur.task.tid);
    if !others {
        record_status(p, status);
    }
    cur.task.ptrace.lock().own_exit = Some(status.wait_status());
    cur.task.exited.store(true, Ordering::SeqCst);
    crate::signal::hand_over_process_signals(cur);
}

/// `exit_group(2)` and fatal signals: ends every thread of the process with `status`.
pub fn exit_group(cur: &mut Current, status: ExitStatus) {
    let p = cur.process().clone();
    record_status(&p, status);
    p.exiting.store(true, Ordering::SeqCst);
    for t in p.live_threads() {
        t.exited.store(true, Ordering::SeqCst);
        if t.tid != cur.task.tid {
            // Wake it (even if stopped) so it leaves its run loop.
            crate::sched::wake(&t);
        }
    }
}

/// The first recorded status wins (a later thread's `exit` does not override `exit_group`).
fn record_status(p: &Process, status: ExitStatus) {
    let mut pending = p.pending_status.lock();
    if pending.is_none() {
        *pending = Some(status);
    }
}

/// Called on a task's own kernel stack after its run loop returned: releases the robust
/// mutexes it held, clears `clear_child_tid` (and wakes futex waiters on it), and if it was
/// the last thread, ends the process.
pub fn task_finished(cur: &mut Current) {
    crate::futex::exit_robust_list(cur);
    let ctid = cur.task.clear_child_tid.get();
    if ctid != 0 && cur.write_val(uapi::UserAddr(ctid), &0u32).is_ok() {
        crate::futex::wake_address(cur, ctid, i32::MAX);
    }
    kernel().tasks.lock().remove(&cur.task.tid);
    crate::pidfd::notify_thread(&cur.task);
    let p = cur.process().clone();
    let last = p.live_threads().is_empty() && !p.is_zombie();
    crate::ptrace::task_exited(&cur.task, crate::ptrace::events::exit_status_word(cur), last);
    if last {
        let status = p.pending_status.lock().unwrap_or(ExitStatus::Exited(0));
        process_exit(&p, status, cur);
    }
    cur.task.set_state(TaskState::Zombie);
}

/// Turns a process whose threads have all ended into a zombie and tells its parent.
fn process_exit(p: &Arc<Process>, status: ExitStatus, cur: &mut Current) {
    crate::ipc::exit_process(cur);
    let closed = p.files().lock().close_all();
    crate::fs_glue::close_files(p.pid, closed);
    // Record locks never outlive their process, even one whose fds another process closed
    // (a `CLONE_FILES` sharer).
    kernel().vfs.locks().release_owner_everywhere(u64::from(p.pid));
    release_vfork_parent(p);
    crate::timers::on_exit(p);
    crate::tty_glue::process_exited(p);
    for z in crate::ptrace::tracer_exited(p) {
        let parent = z.parent.lock().upgrade();
        let status = *z.exit_status.lock();
        if let (Some(parent), Some(status)) = (parent, status) {
            crate::wait::notify_parent_of_exit(&parent, &z, status);
        }
    }
    reparent_children(p);
    *p.exit_status.lock() = Some(status);
    crate::pidfd::notify_process(p);
    let parent = p.parent.lock().upgrade();
    let Some(parent) = parent else { return };
    if crate::ptrace::hides_exit(p) {
        return; // the tracer collects the exit first, then the parent is told (`wait`)
    }
    crate::wait::notify_parent_of_exit(&parent, p, status);
}

/// Wakes a parent waiting in `vfork` (the child exec'd or exited).
pub fn release_vfork_parent(p: &Process) {
    if !p.vfork_done.swap(true, Ordering::SeqCst) {
        p.vfork_event.notify(PollEvents::POLLIN);
    }
}

/// Hands `p`'s children to pid 1 (Linux's `forget_original_parent`, without subreapers),
/// sending each its `PR_SET_PDEATHSIG` signal.
fn reparent_children(p: &Arc<Process>) {
    let children: Vec<Arc<Process>> = std::mem::take(&mut *p.children.lock());
    if children.is_empty() {
        return;
    }
    let uid = p.creds().uid;
    for c in children.iter().filter(|c| !c.is_zombie()) {
        let signo = c.prctl.lock().pdeath_signal;
        if signo != 0 {
            crate::signal::send_to_process(c, signo, uapi::signal::SigInfo::kill(signo, 0, p.pid as i32, uid));
        }
    }
    let Some(init) = kernel().process(1).filter(|i| !Arc::ptr_eq(i, p)) else { return };
    let mut zombies = false;
    for c in children {
        *c.parent.lock() = Arc::downgrade(&init);
        zombies |= c.is_zombie();
        init.children.lock().push(c);
    }
    if zombies {
        init.child_events.notify(PollEvents::POLLIN);
    }
}

/// Kills every process (pid 1 has died: Linux panics; umbra ends the run cleanly).
pub fn kill_all() {
    let all: Vec<Arc<Process>> = kernel().processes.lock().values().filter_map(|p| p.upgrade()).collect();
    for p in all {
        if p.is_zombie() {
            continue;
        }
        record_status(&p, ExitStatus::Killed { signo: sig::SIGKILL as i32, core: false });
        p.exiting.store(true, Ordering::SeqCst);
        for t in p.live_threads() {
            t.exited.store(true, Ordering::SeqCst);
            crate::sched::wake(&t);
        }
    }
}

/// The process `kill(id, …)` or `rt_sigqueueinfo` addresses: any thread's id names its
/// process (Linux's `kill_pid_info` finds the task by pid), an unreaped zombie included.
pub fn process_of_id(id: u32) -> Option<Arc<Process>> {
    match kernel().task(id) {
        Some(t) => Some(t.process.clone()),
        None => kernel().process(id).filter(|p| p.pid == id),
    }
}

/// The processes `kill(pid, …)` addresses: one (`pid > 0`), the caller's group (`0`), all
/// but init and the caller (`-1`), or group `-pid`. `ESRCH` if none exists. Zombies not yet
/// reaped count (the signal is a no-op for them), as in Linux.
pub fn kill_targets(cur: &Current, pid: i32) -> KResult<Vec<Arc<Process>>> {
    let k = kernel();
    let all: Vec<Arc<Process>> = k.processes.lock().values().filter_map(|p| p.upgrade()).collect();
    let v: Vec<Arc<Process>> = match pid {
        p if p > 0 => process_of_id(p as u32).into_iter().collect(),
        0 => {
            let g = cur.process().pgid.load(Ordering::Relaxed);
            all.into_iter().filter(|x| x.pgid.load(Ordering::Relaxed) == g).collect()
        }
        -1 => all.into_iter().filter(|x| x.pid != 1 && x.pid != cur.pid()).collect(),
        p => {
            let g = p.unsigned_abs();
            all.into_iter().filter(|x| x.pgid.load(Ordering::Relaxed) == g).collect()
        }
    };
    if v.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(v)
}
