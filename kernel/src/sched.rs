//! Waiting: how a syscall that cannot finish yet (a read with no data, `nanosleep`, `poll`)
//! waits. With one runnable task the kernel simply waits on the host; the scheduler proper
//! (run queue, kernel stacks, wake-ups) replaces these bodies without changing their callers.

use crate::current::Current;
use fs::abi::OpenFlags;
use fs::{OpenFile, PollEvents};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uapi::structs::{PollFd, Timespec};
use uapi::{Errno, KResult, UserAddr};

/// Reads from `file`, waiting while it would block (unless `O_NONBLOCK`).
pub fn io_read(_cur: &mut Current, file: &Arc<OpenFile>, buf: &mut [u8]) -> KResult<usize> {
    loop {
        match file.read(buf) {
            Err(Errno::EAGAIN) if !file.flags().contains(OpenFlags::NONBLOCK) => {
                std::thread::sleep(Duration::from_millis(1));
            }
            r => return r,
        }
    }
}

/// Writes to `file`, waiting while it would block (unless `O_NONBLOCK`).
pub fn io_write(_cur: &mut Current, file: &Arc<OpenFile>, data: &[u8]) -> KResult<usize> {
    loop {
        match file.write(data) {
            Err(Errno::EAGAIN) if !file.flags().contains(OpenFlags::NONBLOCK) => {
                std::thread::sleep(Duration::from_millis(1));
            }
            r => return r,
        }
    }
}

/// Fills in `revents` for each pollfd; returns how many are ready.
fn poll_once(cur: &Current, fds: &mut [PollFd]) -> usize {
    let files = cur.process().files();
    let mut n = 0;
    for p in fds.iter_mut() {
        p.revents = 0;
        if p.fd < 0 {
            continue;
        }
        let ev = match files.lock().get(p.fd) {
            Ok(f) => f.poll(),
            Err(_) => PollEvents::POLLNVAL,
        };
        let wanted = PollEvents::from_bits_truncate(p.events as u16) | PollEvents::POLLERR | PollEvents::POLLHUP | PollEvents::POLLNVAL;
        p.revents = (ev & wanted).bits() as i16;
        if p.revents != 0 {
            n += 1;
        }
    }
    n
}

/// `poll`'s wait: returns the number of ready fds, waiting up to `timeout_ns` (`None`: forever).
pub fn poll_wait(cur: &mut Current, fds: &mut [PollFd], timeout_ns: Option<u64>) -> KResult<usize> {
    let deadline = timeout_ns.map(|t| Instant::now() + Duration::from_nanos(t));
    loop {
        let n = poll_once(cur, fds);
        if n > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(n);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Sleeps for `ns` nanoseconds (`nanosleep`); writes the remaining time to `rem` if interrupted.
pub fn sleep_for(_cur: &mut Current, ns: u64, _rem: UserAddr) -> KResult<usize> {
    std::thread::sleep(Duration::from_nanos(ns));
    let _ = Timespec::default();
    Ok(0)
}

/// `sched_yield`: lets other runnable tasks run.
pub fn yield_now() {}

/// Wakes a task blocked in a syscall so it can take a newly sent signal.
pub fn wake_task_for_signal(_task: &crate::task::Task) {}

/// CPU time of a task in nanoseconds (0 = the caller).
pub fn cpu_time_ns(_tid: u32) -> u64 {
    let mut ts = [0i64; 2];
    let _ = &mut ts;
    crate::kernel::kernel().uptime_ns()
}
