//! Ending threads and processes (Linux's `do_exit`, `do_group_exit`), and choosing the
//! targets of `kill`.

use crate::current::Current;
use crate::kernel::kernel;
use crate::task::{ExitStatus, Process};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use uapi::{Errno, KResult};

/// Ends the calling thread; the process ends with it when it was the last thread.
pub fn exit_thread(cur: &mut Current, status: ExitStatus) {
    cur.task.exited.store(true, Ordering::SeqCst);
    let p = cur.process();
    let all_done = p.threads.lock().iter().filter_map(|t| t.upgrade()).all(|t| t.exited.load(Ordering::SeqCst));
    if all_done {
        finish_process(p, status);
    }
}

/// Ends every thread of the calling process with `status` (`exit_group`, fatal signals).
pub fn exit_group(cur: &mut Current, status: ExitStatus) {
    let p = cur.process().clone();
    p.exiting.store(true, Ordering::SeqCst);
    for t in p.threads.lock().iter().filter_map(|t| t.upgrade()) {
        t.exited.store(true, Ordering::SeqCst);
    }
    finish_process(&p, status);
}

/// Records the exit status and releases what the process holds (files, memory).
fn finish_process(p: &Arc<Process>, status: ExitStatus) {
    let mut st = p.exit_status.lock();
    if st.is_none() {
        *st = Some(status);
    }
    drop(st);
    let files = p.files();
    let closed = files.lock().close_all();
    drop(closed);
}

/// The processes `kill(pid, …)` addresses: one (`pid > 0`), the caller's group (`0`), all
/// but init and the caller (`-1`), or group `-pid`. `ESRCH` if none exists.
pub fn kill_targets(cur: &Current, pid: i32) -> KResult<Vec<Arc<Process>>> {
    let k = kernel();
    let all: Vec<Arc<Process>> = k.processes.lock().values().filter_map(|p| p.upgrade()).collect();
    let live = |p: &&Arc<Process>| p.exit_status.lock().is_none();
    let v: Vec<Arc<Process>> = match pid {
        p if p > 0 => all.into_iter().filter(|x| x.pid == p as u32).filter(|x| live(&x)).collect(),
        0 => {
            let g = cur.process().pgid.load(Ordering::Relaxed);
            all.into_iter().filter(|x| x.pgid.load(Ordering::Relaxed) == g).filter(|x| live(&x)).collect()
        }
        -1 => all.into_iter().filter(|x| x.pid != 1 && x.pid != cur.pid()).filter(|x| live(&x)).collect(),
        p => {
            let g = p.unsigned_abs();
            all.into_iter().filter(|x| x.pgid.load(Ordering::Relaxed) == g).filter(|x| live(&x)).collect()
        }
    };
    if v.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(v)
}
