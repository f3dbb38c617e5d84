//! `poll`/`ppoll`/`select`/`pselect6`'s wait (Linux's `do_poll`), built on readiness: every
//! fd is checked once; if none is ready, one waker per fd is registered on its file's `Pollee`
//! and the task sleeps. A waker that fires records *which* fd it belongs to, so a wake-up
//! re-checks only the fds whose readiness changed — a poll over 1000 idle pipes wakes for the
//! one that becomes ready without looking at the other 999. Registrations are dropped with the
//! wakers when the call returns (pollees prune dead ones), so returning costs nothing per fd.

use crate::sched::{signal_pending, Current};
use fs::klock::KMutex;
use fs::{OpenFile, PollEvents, Waker};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use uapi::structs::PollFd;
use uapi::{Errno, KResult};

/// What the per-fd wakers of one `poll` call share: the fds that fired, and the task to wake.
struct PollShared {
    fired: KMutex<Vec<usize>>,
    task: Arc<dyn Waker>,
}

/// The waker registered on the pollee of fd number `index` of the call.
struct FdWaker {
    shared: Arc<PollShared>,
    index: usize,
}

impl Waker for FdWaker {
    fn wake(&self) {
        self.shared.fired.lock().push(self.index);
        self.shared.task.wake();
    }
}

/// The events `p` asks for, plus those poll always reports.
fn wanted(p: &PollFd) -> PollEvents {
    PollEvents::from_bits_truncate(p.events as u16) | PollEvents::POLLERR | PollEvents::POLLHUP | PollEvents::POLLNVAL
}

/// Fills in the `revents` of `p` from its file (`POLLNVAL` if the fd is not open); true if ready.
fn check_one(p: &mut PollFd, file: Option<&Arc<OpenFile>>) -> bool {
    p.revents = 0;
    if p.fd < 0 {
        return false;
    }
    let ev = file.map_or(PollEvents::POLLNVAL, |f| f.poll());
    p.revents = (ev & wanted(p)).bits() as i16;
    p.revents != 0
}

/// `poll`'s wait: the number of ready fds, waiting up to `timeout_ns` (`None`: forever).
/// A signal interrupts it with `EINTR` (poll is never restarted after a handler, as Linux).
pub fn poll_wait(cur: &mut Current, fds: &mut [PollFd], timeout_ns: Option<u64>) -> KResult<usize> {
    let deadline = timeout_ns.map(|t| Instant::now() + Duration::from_nanos(t));
    let files: Vec<Option<Arc<OpenFile>>> = {
        let table = cur.process().files();
        let t = table.lock();
        fds.iter().map(|p| if p.fd < 0 { None } else { t.get(p.fd).ok() }).collect()
    };
    if files.iter().flatten().any(crate::fileio::is_console_file) {
        crate::tty_glue::pump_input();
    }
    let mut n = 0;
    for (p, f) in fds.iter_mut().zip(&files) {
        n += usize::from(check_one(p, f.as_ref()));
    }
    if n > 0 || timeout_ns == Some(0) {
        return Ok(n);
    }
    let shared = Arc::new(PollShared { fired: KMutex::new(Vec::new()), task: cur.cpu().waker(cur.task.tid) });
    let wakers = register(&shared, fds, &files);
    let r = sleep_until_ready(cur, &shared, fds, &files, deadline);
    drop(wakers);
    match r {
        Err(Errno::ETIMEDOUT) => Ok(0),
        Err(Errno::ERESTARTSYS) => Err(Errno::ERESTARTNOHAND),
        r => r,
    }
}

/// Registers one waker per fd that has a pollee; the returned wakers keep the registrations
/// alive.
fn register(shared: &Arc<PollShared>, fds: &[PollFd], files: &[Option<Arc<OpenFile>>]) -> Vec<Arc<dyn Waker>> {
    let mut wakers = Vec::with_capacity(files.len());
    for (index, (p, f)) in fds.iter().zip(files).enumerate() {
        let Some(pollee) = f.as_ref().and_then(|f| f.pollee()) else { continue };
        let w: Arc<dyn Waker> = Arc::new(FdWaker { shared: shared.clone(), index });
        let weak: Weak<dyn Waker> = Arc::downgrade(&w);
        pollee.register(weak, wanted(p));
        wakers.push(w);
    }
    wakers
}

/// Sleeps until a fired fd is ready, a signal is pending, or the deadline passes.
fn sleep_until_ready(
    cur: &mut Current,
    shared: &PollShared,
    fds: &mut [PollFd],
    files: &[Option<Arc<OpenFile>>],
    deadline: Option<Instant>,
) -> KResult<usize> {
    loop {
        let fired = std::mem::take(&mut *shared.fired.lock());
        let mut ready = false;
        for i in fired {
            if let (Some(p), Some(f)) = (fds.get_mut(i), files.get(i)) {
                ready |= check_one(p, f.as_ref());
            }
        }
        if ready {
            return Ok(fds.iter().filter(|p| p.revents != 0).count());
        }
        if signal_pending(cur) {
            return Err(Errno::ERESTARTSYS);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Errno::ETIMEDOUT);
        }
        if shared.fired.lock().is_empty() {
            cur.cpu().sleep(&cur.task, deadline);
        }
    }
}
