//! Memory locking with `RLIMIT_MEMLOCK` (Linux's `mm/mlock.c`): all guest memory is resident
//! anyway, so locking is bookkeeping — the locked page ranges of the process (cleared by
//! `fork` and `exec`, as `VM_LOCKED` is), checked against the limit unless the caller holds
//! `CAP_IPC_LOCK`.

use crate::sched::Current;
use fs::capability::cap;
use uapi::flags::RLIMIT_MEMLOCK;
use uapi::mman::PAGE_SIZE;
use uapi::{Errno, KResult, UserAddr};

const MLOCK_ONFAULT: u32 = 1;
const MCL_CURRENT: i32 = 1;
const MCL_FUTURE: i32 = 2;
const MCL_ONFAULT: i32 = 4;

/// The page-aligned range `[start, end)` covering `addr..addr+len`; `EINVAL`/`ENOMEM` on
/// overflow as Linux.
fn page_range(addr: UserAddr, len: usize) -> KResult<(u64, u64)> {
    let start = addr.0 & !(PAGE_SIZE - 1);
    let end = addr.0.checked_add(len as u64).and_then(|e| e.checked_next_multiple_of(PAGE_SIZE)).ok_or(Errno::ENOMEM)?;
    Ok((start, end))
}

/// `ENOMEM` unless every page of `[start, end)` is mapped.
fn check_mapped(cur: &Current, start: u64, end: u64) -> KResult<()> {
    let mut maps = cur.mm().space.lock().maps();
    maps.sort_by_key(|m| m.start);
    let mut at = start;
    for m in maps.iter().filter(|m| m.end > start && m.start < end) {
        if m.start > at {
            return Err(Errno::ENOMEM);
        }
        at = at.max(m.end);
    }
    if at < end {
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

/// Pages in `ranges`.
fn pages(ranges: &[(u64, u64)]) -> u64 {
    ranges.iter().map(|(s, e)| (e - s) / PAGE_SIZE).sum()
}

/// `ranges` with `[start, end)` removed.
fn without(ranges: &[(u64, u64)], start: u64, end: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(s, e) in ranges {
        if e <= start || s >= end {
            out.push((s, e));
            continue;
        }
        if s < start {
            out.push((s, start));
        }
        if e > end {
            out.push((end, e));
        }
    }
    out
}

/// `can_do_mlock`: a non-zero limit or `CAP_IPC_LOCK`.
fn may_lock(cur: &Current) -> KResult<(u64, bool)> {
    let limit = cur.process().rlimit_cur(RLIMIT_MEMLOCK);
    let privileged = cur.process().creds.lock().capable(cap::IPC_LOCK);
    if limit == 0 && !privileged {
        return Err(Errno::EPERM);
    }
    Ok((limit / PAGE_SIZE, privileged))
}

fn do_mlock(cur: &mut Current, addr: UserAddr, len: usize) -> KResult<usize> {
    let (limit, privileged) = may_lock(cur)?;
    let (start, end) = page_range(addr, len)?;
    let p = cur.process().clone();
    let locked = p.prctl.lock().locked.clone();
    let mut merged = without(&locked, start, end);
    merged.push((start, end));
    if pages(&merged) > limit && !privileged {
        return Err(Errno::ENOMEM);
    }
    check_mapped(cur, start, end)?;
    if start < end {
        p.prctl.lock().locked = merged;
    }
    Ok(0)
}

/// `mlock(2)`: `EPERM` with a zero limit and no `CAP_IPC_LOCK`; `ENOMEM` past the limit or
/// for an unmapped page.
pub fn sys_mlock(cur: &mut Current, addr: UserAddr, len: usize) -> KResult<usize> {
    do_mlock(cur, addr, len)
}

/// `mlock2(2)`: `mlock` with `MLOCK_ONFAULT` (`EINVAL` for other flags).
pub fn sys_mlock2(cur: &mut Current, addr: UserAddr, len: usize, flags: u32) -> KResult<usize> {
    if flags & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    do_mlock(cur, addr, len)
}

/// `munlock(2)`: `ENOMEM` for an unmapped page.
pub fn sys_munlock(cur: &mut Current, addr: UserAddr, len: usize) -> KResult<usize> {
    let (start, end) = page_range(addr, len)?;
    check_mapped(cur, start, end)?;
    let p = cur.process().clone();
    let mut st = p.prctl.lock();
    st.locked = without(&st.locked, start, end);
    Ok(0)
}

/// `mlockall(2)`: `EINVAL` for no or unknown flags (or `MCL_ONFAULT` alone), `EPERM` as
/// `mlock`, `ENOMEM` when `MCL_CURRENT` would lock more than the limit.
pub fn sys_mlockall(cur: &mut Current, flags: i32) -> KResult<usize> {
    if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 || flags == MCL_ONFAULT {
        return Err(Errno::EINVAL);
    }
    let (limit, privileged) = may_lock(cur)?;
    if flags & MCL_CURRENT != 0 {
        let all: Vec<(u64, u64)> = cur.mm().space.lock().maps().iter().map(|m| (m.start, m.end)).collect();
        if pages(&all) > limit && !privileged {
            return Err(Errno::ENOMEM);
        }
        cur.process().prctl.lock().locked = all;
    }
    Ok(0)
}

/// `munlockall(2)`.
pub fn sys_munlockall(cur: &mut Current) -> KResult<usize> {
    cur.process().prctl.lock().locked.clear();
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = without(&[(0x1000, 0x5000)], 0x2000, 0x3000);
        assert_eq!(r, vec![(0x1000, 0x2000), (0x3000, 0x5000)]);
        assert_eq!(pages(&r), 3);
        assert_eq!(page_range(UserAddr(0x1001), 1).unwrap(), (0x1000, 0x2000));
        assert_eq!(page_range(UserAddr(u64::MAX - 10), 100), Err(Errno::ENOMEM));
    }
}
