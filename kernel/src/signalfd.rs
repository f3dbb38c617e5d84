//! signalfd (Linux's `fs/signalfd.c`): a file that is readable while the task reading or
//! polling it has one of its signals pending, and whose reads dequeue them as
//! `struct signalfd_siginfo` records (so a program blocks the signals and takes them from the
//! fd, typically in an epoll loop).
//!
//! As in Linux, the file names no task: "the task" is the one calling `read`/`poll`/`epoll_wait`
//! (`current`, here the running task of the vCPU). Linux wakes the waiters on the reader's
//! `sighand->signalfd_wqh` whenever a signal is queued for that task; umbra keeps one wait
//! queue for every signalfd and notifies it whenever any signal is queued (only once a
//! signalfd exists). A waiter re-checks its own task, so the only difference is extra wakeups:
//! an edge-triggered epoll item may be reported again for a signal still pending.

use crate::task::{kernel, Task};
use fs::klock::KMutex;
use fs::{FileLike, InodeAttr, PollEvents, Pollee};
use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use uapi::signal::{self as sig, SigInfo, SigSet};
use uapi::structs::SignalfdSiginfo;
use uapi::{Errno, KResult};

/// The size of one record a read returns.
pub const SIGINFO_SIZE: usize = std::mem::size_of::<SignalfdSiginfo>();

/// Every signalfd's wait queue (see the module doc).
static WAIT: OnceLock<Pollee> = OnceLock::new();

fn wait_queue() -> &'static Pollee {
    WAIT.get_or_init(Pollee::default)
}

/// A signal was queued on some task: wakes whoever waits on a signalfd (`signalfd_notify`).
/// Costs nothing until a signalfd has been created.
pub fn signal_queued() {
    if let Some(w) = WAIT.get() {
        w.notify(PollEvents::POLLIN);
    }
}

/// A signalfd: the set of signals it reports.
pub struct SignalFd {
    mask: KMutex<SigSet>,
    attr: InodeAttr,
}

impl SignalFd {
    /// A signalfd for `mask` (`SIGKILL` and `SIGSTOP` are dropped from it, as Linux does).
    pub fn new(mask: SigSet, owner: (u32, u32)) -> Arc<SignalFd> {
        wait_queue();
        Arc::new(SignalFd { mask: KMutex::new(mask.without_unblockable()), attr: crate::timers::eventfd::anon_attr(owner) })
    }

    /// `signalfd(fd, ...)` on an existing signalfd: replaces the mask and wakes the waiters.
    pub fn set_mask(&self, mask: SigSet) {
        *self.mask.lock() = mask.without_unblockable();
        wait_queue().notify(PollEvents::POLLIN);
    }

    /// The signals reported.
    pub fn mask(&self) -> SigSet {
        *self.mask.lock()
    }
}

/// The task running now (`current`): the one whose signals a signalfd reports.
fn current_task() -> Option<Arc<Task>> {
    kernel().task(kernel().running_tid.load(Ordering::Relaxed))
}

/// The other live threads of `task`'s process.
fn siblings(task: &Task) -> Vec<Arc<Task>> {
    if task.process.threads.lock().len() < 2 {
        return Vec::new();
    }
    task.process.live_threads().into_iter().filter(|t| t.tid != task.tid).collect()
}

/// True if a signal of `mask` is pending for `task`: its own, or one sent to its process.
fn has_pending(task: &Task, mask: SigSet) -> bool {
    if !task.signals.lock().pending.set.intersection(mask).is_empty() {
        return true;
    }
    siblings(task).iter().any(|t| !t.signals.lock().pending.shared_set().intersection(mask).is_empty())
}

/// Takes the next pending signal of `mask` for `task` (`dequeue_signal`): its own queue
/// first, then process-directed ones queued on its other threads.
fn dequeue(task: &Task, mask: SigSet) -> Option<SigInfo> {
    let not_wanted = SigSet::from_bits(!mask.bits());
    if let Some(p) = task.signals.lock().pending.take(not_wanted) {
        return Some(p.info);
    }
    siblings(task).iter().find_map(|t| t.signals.lock().pending.take_shared(mask)).map(|p| p.info)
}

/// Which `_sifields` member a siginfo uses (Linux's `siginfo_layout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Kill,
    Timer,
    Poll,
    Fault,
    FaultMceErr,
    Chld,
    Rt,
    Sys,
}

/// `siginfo_layout`: kernel codes (`0 < code < SI_KERNEL`) are per signal up to that signal's
/// last code; `SI_TIMER`, `SI_SIGIO` and other negative (user-queued) codes have their own.
fn layout(signo: u32, code: i32) -> Layout {
    if code > sig::SI_USER && code < sig::SI_KERNEL {
        let per_signal = match signo {
            sig::SIGILL => Some((11, Layout::Fault)),
            sig::SIGFPE => Some((15, Layout::Fault)),
            sig::SIGSEGV => Some((10, Layout::Fault)),
            sig::SIGBUS => Some((5, Layout::Fault)),
            sig::SIGTRAP => Some((6, Layout::Fault)),
            sig::SIGCHLD => Some((6, Layout::Chld)),
            sig::SIGIO => Some((6, Layout::Poll)),
            sig::SIGSYS => Some((2, Layout::Sys)),
            _ => None,
        };
        return match per_signal {
            Some((limit, l)) if code <= limit => {
                if signo == sig::SIGBUS && (sig::BUS_MCEERR_AR..=sig::BUS_MCEERR_AO).contains(&code) {
                    Layout::FaultMceErr
                } else {
                    l
                }
            }
            _ if code <= 6 => Layout::Poll,
            _ => Layout::Kill,
        };
    }
    match code {
        sig::SI_TIMER => Layout::Timer,
        sig::SI_SIGIO => Layout::Poll,
        c if c < 0 => Layout::Rt,
        _ => Layout::Kill,
    }
}

/// `signalfd_copyinfo`: the record for one dequeued signal.
pub fn to_record(info: &SigInfo) -> SignalfdSiginfo {
    let mut r = SignalfdSiginfo { ssi_signo: info.signo as u32, ssi_errno: info.errno, ssi_code: info.code, ..Default::default() };
    match layout(info.signo as u32, info.code) {
        Layout::Kill => {
            r.ssi_pid = info.pid() as u32;
            r.ssi_uid = info.uid();
        }
        Layout::Timer => {
            r.ssi_tid = info.timer_id() as u32;
            r.ssi_overrun = info.overrun() as u32;
            r.ssi_ptr = info.value();
            r.ssi_int = info.value() as i32;
        }
        Layout::Poll => {
            r.ssi_band = info.band() as u32;
            r.ssi_fd = info.fd();
        }
        Layout::Fault => r.ssi_addr = info.addr(),
        Layout::FaultMceErr => {
            r.ssi_addr = info.addr();
            r.ssi_addr_lsb = u16::from_le_bytes([info.as_bytes()[24], info.as_bytes()[25]]);
        }
        Layout::Chld => {
            r.ssi_pid = info.pid() as u32;
            r.ssi_uid = info.uid();
            r.ssi_status = info.status();
            r.ssi_utime = info.utime() as u64;
            r.ssi_stime = info.stime() as u64;
        }
        Layout::Rt => {
            r.ssi_pid = info.pid() as u32;
            r.ssi_uid = info.uid();
            r.ssi_ptr = info.value();
            r.ssi_int = info.value() as i32;
        }
        Layout::Sys => {
            r.ssi_call_addr = info.addr();
            r.ssi_syscall = info.syscall();
            r.ssi_arch = info.arch();
        }
    }
    r
}

impl FileLike for SignalFd {
    /// `signalfd_read`: as many records as fit (`EINVAL` if not even one), each dequeuing a
    /// pending signal of the mask; `EAGAIN` if none is pending (the kernel sleeps on the pollee
    /// for a blocking fd).
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        if buf.len() < SIGINFO_SIZE {
            return Err(Errno::EINVAL);
        }
        let task = current_task().ok_or(Errno::EAGAIN)?;
        let mask = self.mask();
        let mut done = 0;
        for slot in buf.chunks_exact_mut(SIGINFO_SIZE) {
            let Some(info) = dequeue(&task, mask) else { break };
            slot.copy_from_slice(bytemuck::bytes_of(&to_record(&info)));
            done += SIGINFO_SIZE;
        }
        if done == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(done)
    }

    /// A signalfd cannot be written (`EINVAL`: `signalfd_fops` has no write).
    fn write(&self, _data: &[u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    /// `POLLIN` while the calling task has a signal of the mask pending.
    fn poll(&self) -> PollEvents {
        match current_task() {
            Some(t) if has_pending(&t, self.mask()) => PollEvents::POLLIN,
            _ => PollEvents::empty(),
        }
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(wait_queue())
    }

    fn stat(&self) -> Option<InodeAttr> {
        Some(self.attr)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_the_siginfo_layout() {
        let kill = to_record(&SigInfo::kill(sig::SIGUSR1, sig::SI_USER, 42, 1000));
        assert_eq!((kill.ssi_signo, kill.ssi_code, kill.ssi_pid, kill.ssi_uid), (sig::SIGUSR1, 0, 42, 1000));
        let rt = to_record(&SigInfo::rt(sig::SIGRTMIN, sig::SI_QUEUE, 7, 0, 0x1_0000_0005));
        assert_eq!((rt.ssi_pid, rt.ssi_int, rt.ssi_ptr), (7, 5, 0x1_0000_0005));
        let timer = to_record(&SigInfo::timer(sig::SIGALRM, 3, 2, 9));
        assert_eq!((timer.ssi_tid, timer.ssi_overrun, timer.ssi_int, timer.ssi_pid), (3, 2, 9, 0));
        let chld = to_record(&SigInfo::child(1, 5, 0, 3, 10, 20));
        assert_eq!((chld.ssi_pid, chld.ssi_status, chld.ssi_utime, chld.ssi_stime), (5, 3, 10, 20));
        let fault = to_record(&SigInfo::fault(sig::SIGSEGV, sig::SEGV_MAPERR, 0xdead));
        assert_eq!((fault.ssi_addr, fault.ssi_pid), (0xdead, 0));
        let io = to_record(&SigInfo::poll(sig::SIGIO, 1, 0x41, 9));
        assert_eq!((io.ssi_band, io.ssi_fd), (0x41, 9));
        let kernel_sent = to_record(&SigInfo::kill(sig::SIGSEGV, sig::SI_KERNEL, 0, 0));
        assert_eq!(kernel_sent.ssi_code, sig::SI_KERNEL);
    }

    #[test]
    fn sigkill_and_sigstop_are_never_in_the_mask() {
        let s = SignalFd::new(SigSet::FULL, (0, 0));
        assert!(!s.mask().contains(sig::SIGKILL));
        assert!(!s.mask().contains(sig::SIGSTOP));
        assert!(s.mask().contains(sig::SIGUSR1));
    }
}
