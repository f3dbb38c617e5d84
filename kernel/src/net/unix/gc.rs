//! Garbage collection of descriptors in flight (Linux's `net/unix/garbage.c`, its classic
//! mark-and-sweep form): a unix socket whose only references are packets queued on unix
//! sockets cannot be reached by any process; if those packets sit in the queues of sockets
//! that are themselves unreachable (a socket sent over itself, two sockets sent over each
//! other, ...), the whole cycle would live forever. After a socket is released while packets
//! with descriptors exist, [`collect`] finds such sockets and flushes their queues, which
//! drops the cycle (and the files it carried).
//!
//! A socket file is a *candidate* when every reference to its open file description is held by
//! a queued packet (its `Arc` count equals its in-flight count). Candidates held by packets in
//! the queue of a non-candidate socket — one a process can still receive from — are live, and
//! so is everything a live candidate's queue holds; the candidates left are garbage. Sockets
//! without a file (connections not yet accepted) count as reachable, as does a file referenced
//! from anywhere else (a descriptor, a syscall in progress): the collector only ever frees less.

use super::{Core, UnixSock};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Packets queued with descriptors and not yet dropped (Linux's `unix_tot_inflight`, in
/// packets): no collection is needed while it is 0.
static RIGHTS_PACKETS: AtomicUsize = AtomicUsize::new(0);
/// Set while a collection runs (the sockets it frees are released inside it).
static RUNNING: AtomicBool = AtomicBool::new(false);

/// A packet carrying descriptors was queued.
pub(super) fn rights_queued() {
    RIGHTS_PACKETS.fetch_add(1, Ordering::Relaxed);
}

/// A packet that carried descriptors was dropped.
pub(super) fn rights_dropped() {
    RIGHTS_PACKETS.fetch_sub(1, Ordering::Relaxed);
}

/// What one pass over the queues found.
struct Scan {
    /// In-flight references per open file (by address), with its reference count and its
    /// socket if it is a unix socket file.
    inflight: HashMap<usize, (usize, usize, Option<Arc<Core>>)>,
    /// The files each socket's queue holds.
    holds: Vec<(Arc<Core>, Vec<usize>)>,
}

fn scan() -> Scan {
    let mut s = Scan { inflight: HashMap::new(), holds: Vec::new() };
    for core in super::addr::live_sockets() {
        let mut held = Vec::new();
        {
            let st = core.state.lock();
            for pkt in &st.queue {
                for f in &pkt.rights {
                    let key = Arc::as_ptr(f) as usize;
                    let sock = super::super::socket_of(f).and_then(|s| s.ops().as_any().downcast_ref::<UnixSock>().map(|u| u.core.clone()));
                    let e = s.inflight.entry(key).or_insert((0, Arc::strong_count(f), sock));
                    e.0 += 1;
                    held.push(key);
                }
            }
        }
        s.holds.push((core, held));
    }
    s
}

/// Finds unreachable sockets and flushes their queues (`unix_gc`).
pub(super) fn collect() {
    if RIGHTS_PACKETS.load(Ordering::Relaxed) == 0 || RUNNING.swap(true, Ordering::Acquire) {
        return;
    }
    let scan = scan();
    let candidate_of_core: HashMap<usize, usize> = scan
        .inflight
        .iter()
        .filter(|(_, (n, strong, sock))| sock.is_some() && n == strong)
        .filter_map(|(file, (_, _, sock))| sock.as_ref().map(|c| (Arc::as_ptr(c) as usize, *file)))
        .collect();
    let candidates: HashSet<usize> = candidate_of_core.values().copied().collect();
    let holds: HashMap<usize, &Vec<usize>> = scan.holds.iter().map(|(c, h)| (Arc::as_ptr(c) as usize, h)).collect();
    let mut live: HashSet<usize> = HashSet::new();
    let mut work: Vec<usize> = Vec::new();
    for (core, held) in &scan.holds {
        if candidate_of_core.contains_key(&(Arc::as_ptr(core) as usize)) {
            continue;
        }
        work.extend(held.iter().filter(|f| candidates.contains(f)));
    }
    while let Some(f) = work.pop() {
        if !live.insert(f) {
            continue;
        }
        let core = scan.inflight.get(&f).and_then(|(_, _, s)| s.as_ref()).map(|c| Arc::as_ptr(c) as usize);
        if let Some(h) = core.and_then(|c| holds.get(&c)) {
            work.extend(h.iter().filter(|g| candidates.contains(g) && !live.contains(g)));
        }
    }
    let garbage: Vec<Arc<Core>> = scan
        .holds
        .iter()
        .filter(|(c, _)| candidate_of_core.get(&(Arc::as_ptr(c) as usize)).is_some_and(|f| !live.contains(f)))
        .map(|(c, _)| c.clone())
        .collect();
    drop(scan);
    let flushed: Vec<_> = garbage.iter().map(|c| std::mem::take(&mut c.state.lock().queue)).collect();
    drop(garbage);
    drop(flushed);
    RUNNING.store(false, Ordering::Release);
}
