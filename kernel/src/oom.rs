//! The out-of-memory killer (Linux's `mm/oom_kill.c`): when a page fault finds no free frame
//! within `--mem`, the process with the highest *badness* — its resident pages plus
//! `oom_score_adj` thousandths of all guest RAM — is killed with SIGKILL and one line goes to the
//! kernel log ("Out of memory: Killed process …"). Init and processes with `oom_score_adj`
//! -1000 are never chosen. The faulting task then waits for the victim's memory to come back
//! and retries its fault; if it is the victim itself, it dies.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::Process;

/// `OOM_SCORE_ADJ_MIN`: a process the OOM killer never picks.
pub const OOM_SCORE_ADJ_MIN: i32 = -1000;
/// `OOM_SCORE_ADJ_MAX`.
pub const OOM_SCORE_ADJ_MAX: i32 = 1000;

/// What the faulting task should do after the OOM killer ran.
#[derive(Debug, PartialEq, Eq)]
pub enum OomOutcome {
    /// Another process was killed: wait for its memory and retry the fault.
    Retry,
    /// The faulting process is the victim (or no one else can be): it dies.
    KillSelf,
}

/// A process's resident pages (0 if it has no live thread or its memory is busy).
fn rss_pages(p: &Process) -> u64 {
    let Some(t) = p.live_threads().into_iter().next() else { return 0 };
    let mm = t.mm();
    mm.space.try_lock().map_or(0, |s| s.resident_pages())
}

/// Linux's `oom_badness`: resident pages, shifted by `oom_score_adj` thousandths of `total`
/// pages; `None` for a process that must not be chosen.
pub fn badness(p: &Process, total_pages: u64) -> Option<u64> {
    let adj = p.oom_score_adj.load(Ordering::Relaxed);
    if p.pid == 1 || adj <= OOM_SCORE_ADJ_MIN || p.exiting.load(Ordering::Relaxed) {
        return None;
    }
    let rss = i64::try_from(rss_pages(p)).unwrap_or(i64::MAX);
    let total = i64::try_from(total_pages).unwrap_or(i64::MAX);
    let shift = i64::from(adj).saturating_mul(total) / 1000;
    Some(u64::try_from(rss.saturating_add(shift).max(1)).unwrap_or(1))
}

/// `/proc/PID/oom_score` (0..=2000 as Linux scales it).
pub fn oom_score(p: &Process) -> u64 {
    let total = total_pages();
    badness(p, total).map_or(0, |b| b.saturating_mul(1000) / total.max(1))
}

fn total_pages() -> u64 {
    kernel().frames.total_frames().max(1)
}

/// The last victim, until its memory is back: another fault waits for it rather than killing a
/// second process (Linux's `oom_killer_disable`-free check for a pending `TIF_MEMDIE` victim).
static VICTIM: std::sync::Mutex<Option<std::sync::Weak<Process>>> = std::sync::Mutex::new(None);

/// True while the last victim still holds memory (it has live threads).
fn victim_pending() -> bool {
    let mut v = VICTIM.lock().unwrap_or_else(|e| e.into_inner());
    let pending = v.as_ref().and_then(|w| w.upgrade()).is_some_and(|p| !p.live_threads().is_empty());
    if !pending {
        *v = None;
    }
    pending
}

/// Every live process.
fn processes() -> Vec<Arc<Process>> {
    let procs = kernel().processes.lock();
    procs.values().filter_map(|w| w.upgrade()).collect()
}

/// Runs the OOM killer for a fault of `cur` that found no frame.
pub fn out_of_memory(cur: &Current) -> OomOutcome {
    if victim_pending() {
        return OomOutcome::Retry;
    }
    let total = total_pages();
    let victim = processes().into_iter().filter_map(|p| Some((badness(&p, total)?, p))).max_by_key(|(b, _)| *b);
    let me = cur.process();
    let Some((_, victim)) = victim else { return OomOutcome::KillSelf };
    let comm = victim.live_threads().first().map(|t| String::from_utf8_lossy(&t.comm.lock()).into_owned()).unwrap_or_default();
    log::warn!(
        "Out of memory: Killed process {} ({comm}) anon-rss:{}kB oom_score_adj:{}",
        victim.pid,
        rss_pages(&victim) * 4,
        victim.oom_score_adj.load(Ordering::Relaxed)
    );
    if Arc::ptr_eq(&victim, me) {
        return OomOutcome::KillSelf;
    }
    let info = uapi::signal::SigInfo::kill(uapi::signal::SIGKILL, uapi::signal::SI_KERNEL, 0, 0);
    crate::signal::send_to_process(&victim, uapi::signal::SIGKILL, info);
    *VICTIM.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::downgrade(&victim));
    OomOutcome::Retry
}
