//! Futexes (Linux's `kernel/futex/`): the fast user-space lock's slow path. A thread whose
//! user-space lock word still holds the value it expected sleeps on that address; another
//! wakes a number of sleepers on it. glibc's mutexes, condition variables, `pthread_join`
//! (through `clear_child_tid`) and semaphores are built on this.

use crate::sched::Current;
use fs::klock::KMutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uapi::structs::Timespec;
use uapi::{flags as f, Errno, KResult, UserAddr};

/// A futex's identity: the address space (by the identity of its `Mm`) and the address, or,
/// for a word in shared memory used without `FUTEX_PRIVATE_FLAG`, tag 0 and the word's
/// physical place (frame and offset), which every process mapping it agrees on.
type Key = (usize, u64);

struct Waiter {
    tid: u32,
    bitset: u32,
    woken: Arc<AtomicBool>,
}

static WAITERS: KMutex<BTreeMap<Key, Vec<Waiter>>> = KMutex::new(BTreeMap::new());

/// The key of a process-private futex (or one in private memory).
fn key(cur: &Current, addr: u64) -> Key {
    (Arc::as_ptr(&cur.mm()) as usize, addr)
}

/// The key of a futex used without `FUTEX_PRIVATE_FLAG` (Linux's `get_futex_key` with
/// `FLAGS_SHARED`): the word is faulted in (`EFAULT` if it cannot be read); in a shared
/// mapping the key is its frame, so processes sharing the memory meet on it.
fn shared_key(cur: &mut Current, addr: u64) -> KResult<Key> {
    let _: u32 = cur.read_val(UserAddr(addr))?;
    let mm = cur.mm();
    let g = mm.space.lock();
    let shared = g.find_vma(addr).is_some_and(|v| v.is_shared());
    let pte = g.page_table().lookup(addr >> 12);
    if shared && pte.present() {
        let phys = pte.frame().0.checked_mul(4096).and_then(|b| b.checked_add(addr & 0xfff)).ok_or(Errno::EFAULT)?;
        return Ok((0, phys));
    }
    drop(g);
    Ok(key(cur, addr))
}

/// The key for `op`: private with `FUTEX_PRIVATE_FLAG`, else `shared_key`.
fn key_for(cur: &mut Current, op: u32, addr: u64) -> KResult<Key> {
    if op & f::FUTEX_PRIVATE_FLAG != 0 {
        Ok(key(cur, addr))
    } else {
        shared_key(cur, addr)
    }
}

/// `FUTEX_WAIT(_BITSET)`: sleeps if `*addr == val` until woken, a signal, or the timeout.
fn wait(cur: &mut Current, op: u32, addr: u64, val: u32, deadline: Option<Instant>, bitset: u32) -> KResult<usize> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let now: u32 = cur.read_val(UserAddr(addr))?;
    if now != val {
        return Err(Errno::EAGAIN);
    }
    let k = key_for(cur, op, addr)?;
    let woken = Arc::new(AtomicBool::new(false));
    WAITERS.lock().entry(k).or_default().push(Waiter { tid: cur.task.tid, bitset, woken: woken.clone() });
    let r = crate::sched::wait_until(cur, &[], fs::PollEvents::empty(), deadline, |_| woken.load(Ordering::SeqCst).then_some(Ok(0)));
    if r.is_err() {
        remove_waiter(k, &woken);
    }
    r
}

fn remove_waiter(k: Key, woken: &Arc<AtomicBool>) {
    let mut map = WAITERS.lock();
    if let Some(v) = map.get_mut(&k) {
        v.retain(|w| !Arc::ptr_eq(&w.woken, woken));
        if v.is_empty() {
            map.remove(&k);
        }
    }
}

/// Wakes up to `n` waiters on `k` whose bitset matches; returns how many.
fn wake_key(k: Key, n: i32, bitset: u32) -> usize {
    let mut woken = Vec::new();
    {
        let mut map = WAITERS.lock();
        let Some(v) = map.get_mut(&k) else { return 0 };
        let mut i = 0;
        while i < v.len() && (woken.len() as i64) < n.max(0) as i64 {
            if v[i].bitset & bitset != 0 {
                let w = v.remove(i);
                w.woken.store(true, Ordering::SeqCst);
                woken.push(w.tid);
            } else {
                i += 1;
            }
        }
        if v.is_empty() {
            map.remove(&k);
        }
    }
    for tid in &woken {
        crate::sched::wake_tid(*tid);
    }
    woken.len()
}

/// Wakes up to `n` waiters on `addr` (`clear_child_tid`: a shared-flag wake, as Linux's).
pub fn wake_address(cur: &mut Current, addr: u64, n: i32) -> usize {
    match shared_key(cur, addr) {
        Ok(k) => wake_key(k, n, u32::MAX),
        Err(_) => 0,
    }
}

/// Moves up to `n` waiters from `from` to `to` (`FUTEX_REQUEUE`).
fn requeue(from: Key, to: Key, n: i32) -> usize {
    let mut map = WAITERS.lock();
    let Some(mut v) = map.remove(&from) else { return 0 };
    let moved: Vec<Waiter> = v.drain(..(n.max(0) as usize).min(v.len())).collect();
    let count = moved.len();
    if !v.is_empty() {
        map.insert(from, v);
    }
    if count > 0 {
        map.entry(to).or_default().extend(moved);
    }
    count
}

fn timeout_deadline(cur: &mut Current, op: u32, timeout: UserAddr) -> KResult<Option<Instant>> {
    if timeout.is_null() {
        return Ok(None);
    }
    let ts: Timespec = cur.read_val(timeout)?;
    ts.validate()?;
    let ns = ts.as_nanos() as u64;
    if op == f::FUTEX_WAIT {
        return Ok(Some(Instant::now() + Duration::from_nanos(ns)));
    }
    // FUTEX_WAIT_BITSET takes an absolute time on CLOCK_MONOTONIC (or REALTIME with the flag).
    let clock = if op & f::FUTEX_CLOCK_REALTIME != 0 { f::CLOCK_REALTIME } else { f::CLOCK_MONOTONIC };
    let now = crate::timers::clock::clock_now(clock)?.as_nanos() as u64;
    Ok(Some(Instant::now() + Duration::from_nanos(ns.saturating_sub(now))))
}

/// `futex(2)`.
pub fn sys_futex(cur: &mut Current, addr: UserAddr, op: i32, val: u32, timeout: UserAddr, addr2: UserAddr, val3: u32) -> KResult<usize> {
    let op = op as u32;
    let cmd = op & f::FUTEX_CMD_MASK;
    match cmd {
        f::FUTEX_WAIT => {
            let d = timeout_deadline(cur, f::FUTEX_WAIT, timeout)?;
            wait(cur, op, addr.0, val, d, u32::MAX).map_err(timeout_to_etimedout)
        }
        f::FUTEX_WAIT_BITSET => {
            let d = timeout_deadline(cur, op, timeout)?;
            wait(cur, op, addr.0, val, d, val3).map_err(timeout_to_etimedout)
        }
        f::FUTEX_WAKE => Ok(wake_key(key_for(cur, op, addr.0)?, val as i32, u32::MAX)),
        f::FUTEX_WAKE_BITSET => {
            if val3 == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(wake_key(key_for(cur, op, addr.0)?, val as i32, val3))
        }
        f::FUTEX_REQUEUE | f::FUTEX_CMP_REQUEUE => {
            let (from, to) = (key_for(cur, op, addr.0)?, key_for(cur, op, addr2.0)?);
            if cmd == f::FUTEX_CMP_REQUEUE {
                let now: u32 = cur.read_val(addr)?;
                if now != val3 {
                    return Err(Errno::EAGAIN);
                }
            }
            let woken = wake_key(from, val as i32, u32::MAX);
            let moved = requeue(from, to, timeout.0 as i32);
            Ok(woken + moved)
        }
        f::FUTEX_WAKE_OP => wake_op(cur, op, addr, val, timeout.0 as u32, addr2, val3),
        _ => Err(Errno::ENOSYS),
    }
}

fn timeout_to_etimedout(e: Errno) -> Errno {
    if e == Errno::ERESTARTSYS {
        Errno::ERESTARTSYS
    } else {
        e
    }
}

/// `FUTEX_WAKE_OP`: atomically updates `*addr2`, wakes on `addr`, and also on `addr2` if the
/// old value of `*addr2` satisfies the comparison encoded in `val3`.
fn wake_op(cur: &mut Current, fop: u32, addr: UserAddr, n1: u32, n2: u32, addr2: UserAddr, val3: u32) -> KResult<usize> {
    let (k1, k2) = (key_for(cur, fop, addr.0)?, key_for(cur, fop, addr2.0)?);
    let op = (val3 >> 28) & 0xf;
    let cmp = (val3 >> 24) & 0xf;
    let mut oparg = (val3 >> 12) & 0xfff;
    let cmparg = val3 & 0xfff;
    if op & 8 != 0 {
        oparg = 1u32.checked_shl(oparg).unwrap_or(0);
    }
    let old: u32 = cur.read_val(addr2)?;
    let new = match op & 7 {
        0 => oparg,
        1 => old.wrapping_add(oparg),
        2 => old | oparg,
        3 => old & !oparg,
        4 => old ^ oparg,
        _ => return Err(Errno::ENOSYS),
    };
    cur.write_val(addr2, &new)?;
    let mut n = wake_key(k1, n1 as i32, u32::MAX);
    let c = match cmp {
        0 => old == cmparg,
        1 => old != cmparg,
        2 => old < cmparg,
        3 => old <= cmparg,
        4 => old > cmparg,
        5 => old >= cmparg,
        _ => return Err(Errno::ENOSYS),
    };
    if c {
        n += wake_key(k2, n2 as i32, u32::MAX);
    }
    Ok(n)
}

/// How many robust-list entries are walked at most (Linux's `ROBUST_LIST_LIMIT`).
const ROBUST_LIST_LIMIT: usize = 2048;

/// A thread is ending (Linux's `exit_robust_list`): every robust mutex on its
/// `set_robust_list` list (and the one in `list_op_pending`) that it still owns is marked
/// `FUTEX_OWNER_DIED` and one waiter is woken, so the next locker gets `EOWNERDEAD`. The list
/// is guest memory: a bad pointer just ends the walk.
pub fn exit_robust_list(cur: &mut Current) {
    let head = cur.task.robust_list.get();
    if head == 0 {
        return;
    }
    let Ok([first, offset, pending]) = cur.read_val::<[u64; 3]>(UserAddr(head)) else { return };
    let mut entry = first;
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry == head {
            break;
        }
        let Ok(next) = cur.read_val::<u64>(UserAddr(entry & !1)) else { return };
        if entry != pending {
            owner_died(cur, entry, offset);
        }
        entry = next;
    }
    if pending != 0 {
        owner_died(cur, pending, offset);
    }
}

/// Linux's `handle_futex_death` for the robust entry at `entry` (low bit: a PI futex).
fn owner_died(cur: &mut Current, entry: u64, offset: u64) {
    // `futex_offset` is a signed long (the lock word usually lies before the list node).
    let uaddr = (entry & !1).wrapping_add(offset);
    if !uaddr.is_multiple_of(4) {
        return;
    }
    let Ok(word) = cur.read_val::<u32>(UserAddr(uaddr)) else { return };
    if word & f::FUTEX_TID_MASK != cur.task.tid {
        return;
    }
    let died = (word & f::FUTEX_WAITERS) | f::FUTEX_OWNER_DIED;
    if cur.write_val(UserAddr(uaddr), &died).is_err() {
        return;
    }
    if entry & 1 == 0 && word & f::FUTEX_WAITERS != 0 {
        if let Ok(k) = shared_key(cur, uaddr) {
            wake_key(k, 1, u32::MAX);
        }
    }
}
