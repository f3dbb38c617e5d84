//! Identity syscalls: process groups and sessions (job control's bookkeeping), user and group
//! ids with Linux's `set*id` rules, supplementary groups, priorities, and CPU usage.

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::Process;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use fs::capability::cap;
use uapi::structs::Tms;
use uapi::{Errno, KResult, UserAddr};

fn find_process(cur: &Current, pid: i32) -> KResult<Arc<Process>> {
    if pid == 0 {
        return Ok(cur.process().clone());
    }
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    kernel().process(pid as u32).ok_or(Errno::ESRCH)
}

/// `setpgid(2)`: a process may move itself or a child (that has not exec'd — not tracked) into
/// an existing group of its session, or make a new group; session leaders may not move.
pub fn sys_setpgid(cur: &mut Current, pid: i32, pgid: i32) -> KResult<usize> {
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = cur.process().clone();
    let target = find_process(cur, pid)?;
    let is_child = target.parent.lock().upgrade().is_some_and(|p| Arc::ptr_eq(&p, &me));
    if !Arc::ptr_eq(&target, &me) && !is_child {
        return Err(Errno::ESRCH);
    }
    if is_child && target.did_exec.load(Ordering::Relaxed) {
        return Err(Errno::EACCES);
    }
    let sid = me.sid.load(Ordering::Relaxed);
    if target.sid.load(Ordering::Relaxed) != sid {
        return Err(Errno::EPERM);
    }
    if target.pid == target.sid.load(Ordering::Relaxed) {
        return Err(Errno::EPERM);
    }
    let pgid = if pgid == 0 { target.pid } else { pgid as u32 };
    if pgid != target.pid {
        let exists = kernel().processes.lock().values().filter_map(|p| p.upgrade()).any(|p| p.pgid.load(Ordering::Relaxed) == pgid && p.sid.load(Ordering::Relaxed) == sid);
        if !exists {
            return Err(Errno::EPERM);
        }
    }
    target.pgid.store(pgid, Ordering::Relaxed);
    Ok(0)
}

/// `getpgid(2)`.
pub fn sys_getpgid(cur: &mut Current, pid: i32) -> KResult<usize> {
    Ok(find_process(cur, pid)?.pgid.load(Ordering::Relaxed) as usize)
}

/// `getpgrp(2)`.
pub fn sys_getpgrp(cur: &mut Current) -> KResult<usize> {
    Ok(cur.process().pgid.load(Ordering::Relaxed) as usize)
}

/// `getsid(2)`.
pub fn sys_getsid(cur: &mut Current, pid: i32) -> KResult<usize> {
    Ok(find_process(cur, pid)?.sid.load(Ordering::Relaxed) as usize)
}

/// `setsid(2)`: `EPERM` for a process-group leader, else a new session and group.
pub fn sys_setsid(cur: &mut Current) -> KResult<usize> {
    let p = cur.process().clone();
    let pid = p.pid;
    let leader = kernel().processes.lock().values().filter_map(|q| q.upgrade()).any(|q| q.pgid.load(Ordering::Relaxed) == pid);
    if leader {
        return Err(Errno::EPERM);
    }
    p.sid.store(pid, Ordering::Relaxed);
    p.pgid.store(pid, Ordering::Relaxed);
    crate::tty_glue::session_created(&p);
    Ok(pid as usize)
}

/// True if the caller holds capability `c` (`fs::capability::cap::*`) in its effective set.
fn capable(cur: &Current, c: u32) -> bool {
    cur.process().creds.lock().capable(c)
}

/// Changes the caller's uids with `change`, then adjusts its capabilities as Linux's
/// `cap_task_fix_setuid` does (leaving uid 0 drops them unless `SECBIT_KEEP_CAPS`).
fn change_uids(cur: &Current, change: impl FnOnce(&mut fs::Credentials)) {
    let mut c = cur.process().creds.lock();
    let old = [c.uid, c.euid, c.suid];
    change(&mut c);
    let new = [c.uid, c.euid, c.suid];
    let bits = c.securebits;
    fs::capability::fix_setuid(&mut c.caps, bits, old, new);
}

/// `setuid(2)`: with `CAP_SETUID` sets all ids; otherwise the effective id may become the
/// real or saved one (`EPERM` else).
pub fn sys_setuid(cur: &mut Current, uid: u32) -> KResult<usize> {
    let privileged = capable(cur, cap::SETUID);
    let c = cur.process().creds();
    if !privileged && uid != c.uid && uid != c.suid {
        return Err(Errno::EPERM);
    }
    change_uids(cur, |c| {
        if privileged {
            c.uid = uid;
            c.suid = uid;
        }
        c.euid = uid;
        c.fsuid = uid;
    });
    Ok(0)
}

/// `setgid(2)`: as `setuid` with `CAP_SETGID`.
pub fn sys_setgid(cur: &mut Current, gid: u32) -> KResult<usize> {
    let privileged = capable(cur, cap::SETGID);
    let mut c = cur.process().creds.lock();
    if privileged {
        c.gid = gid;
        c.sgid = gid;
    } else if gid != c.gid && gid != c.sgid {
        return Err(Errno::EPERM);
    }
    c.egid = gid;
    c.fsgid = gid;
    Ok(0)
}

/// `setresuid(2)` (-1 leaves an id unchanged; without `CAP_SETUID` each new id must be one
/// of the current three).
pub fn sys_setresuid(cur: &mut Current, r: u32, e: u32, s: u32) -> KResult<usize> {
    let privileged = capable(cur, cap::SETUID);
    let c = cur.process().creds();
    let ok = |v: u32| v == u32::MAX || privileged || v == c.uid || v == c.euid || v == c.suid;
    if !(ok(r) && ok(e) && ok(s)) {
        return Err(Errno::EPERM);
    }
    change_uids(cur, |c| {
        if r != u32::MAX {
            c.uid = r;
        }
        if e != u32::MAX {
            c.euid = e;
        }
        if s != u32::MAX {
            c.suid = s;
        }
        c.fsuid = c.euid;
    });
    Ok(0)
}

/// `setresgid(2)`.
pub fn sys_setresgid(cur: &mut Current, r: u32, e: u32, s: u32) -> KResult<usize> {
    let privileged = capable(cur, cap::SETGID);
    let mut c = cur.process().creds.lock();
    let ok = |v: u32| v == u32::MAX || privileged || v == c.gid || v == c.egid || v == c.sgid;
    if !(ok(r) && ok(e) && ok(s)) {
        return Err(Errno::EPERM);
    }
    if r != u32::MAX {
        c.gid = r;
    }
    if e != u32::MAX {
        c.egid = e;
    }
    if s != u32::MAX {
        c.sgid = s;
    }
    c.fsgid = c.egid;
    Ok(0)
}

/// `setreuid(2)`: as `setresuid(r, e, -1)`, saving the new effective id when the real one is
/// set or the effective one moves away from the real one. Without `CAP_SETUID` the real id
/// may become the effective one, the effective id the real or saved one.
pub fn sys_setreuid(cur: &mut Current, r: u32, e: u32) -> KResult<usize> {
    let c = cur.process().creds();
    if !capable(cur, cap::SETUID) && ((r != u32::MAX && r != c.uid && r != c.euid) || (e != u32::MAX && e != c.uid && e != c.euid && e != c.suid)) {
        return Err(Errno::EPERM);
    }
    let new_e = if e != u32::MAX { e } else { c.euid };
    let s = if r != u32::MAX || (e != u32::MAX && e != c.uid) { new_e } else { u32::MAX };
    change_uids(cur, |c| {
        if r != u32::MAX {
            c.uid = r;
        }
        c.euid = new_e;
        if s != u32::MAX {
            c.suid = s;
        }
        c.fsuid = new_e;
    });
    Ok(0)
}

/// `setregid(2)`.
pub fn sys_setregid(cur: &mut Current, r: u32, e: u32) -> KResult<usize> {
    let c = cur.process().creds();
    if !capable(cur, cap::SETGID) && ((r != u32::MAX && r != c.gid && r != c.egid) || (e != u32::MAX && e != c.gid && e != c.egid && e != c.sgid)) {
        return Err(Errno::EPERM);
    }
    let new_e = if e != u32::MAX { e } else { c.egid };
    let s = if r != u32::MAX || (e != u32::MAX && e != c.gid) { new_e } else { u32::MAX };
    let mut c = cur.process().creds.lock();
    if r != u32::MAX {
        c.gid = r;
    }
    c.egid = new_e;
    if s != u32::MAX {
        c.sgid = s;
    }
    c.fsgid = new_e;
    Ok(0)
}

/// `getresuid(2)`.
pub fn sys_getresuid(cur: &mut Current, r: UserAddr, e: UserAddr, s: UserAddr) -> KResult<usize> {
    let c = cur.process().creds();
    cur.write_val(r, &c.uid)?;
    cur.write_val(e, &c.euid)?;
    cur.write_val(s, &c.suid)?;
    Ok(0)
}

/// `getresgid(2)`.
pub fn sys_getresgid(cur: &mut Current, r: UserAddr, e: UserAddr, s: UserAddr) -> KResult<usize> {
    let c = cur.process().creds();
    cur.write_val(r, &c.gid)?;
    cur.write_val(e, &c.egid)?;
    cur.write_val(s, &c.sgid)?;
    Ok(0)
}

/// `setfsuid(2)`: returns the previous fsuid; the filesystem capabilities follow a change
/// to or from 0 (`cap_task_fix_setuid`'s `LSM_SETID_FS`).
pub fn sys_setfsuid(cur: &mut Current, uid: u32) -> KResult<usize> {
    let privileged = capable(cur, cap::SETUID);
    let mut c = cur.process().creds.lock();
    let old = c.fsuid;
    if privileged || uid == c.uid || uid == c.euid || uid == c.suid || uid == c.fsuid {
        c.fsuid = uid;
        let bits = c.securebits;
        fs::capability::fix_setfsuid(&mut c.caps, bits, old, uid);
    }
    Ok(old as usize)
}

/// `setfsgid(2)`.
pub fn sys_setfsgid(cur: &mut Current, gid: u32) -> KResult<usize> {
    let privileged = capable(cur, cap::SETGID);
    let mut c = cur.process().creds.lock();
    let old = c.fsgid;
    if privileged || gid == c.gid || gid == c.egid || gid == c.sgid || gid == c.fsgid {
        c.fsgid = gid;
    }
    Ok(old as usize)
}

/// `getgroups(2)`: size 0 asks for the count; `EINVAL` if the buffer is too small.
pub fn sys_getgroups(cur: &mut Current, size: i32, list: UserAddr) -> KResult<usize> {
    let groups = cur.process().creds().groups.clone();
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    if size == 0 {
        return Ok(groups.len());
    }
    if (size as usize) < groups.len() {
        return Err(Errno::EINVAL);
    }
    cur.write_bytes(list, bytemuck::cast_slice(&groups))?;
    Ok(groups.len())
}

/// `setgroups(2)`: `CAP_SETGID` only; at most `NGROUPS_MAX` (65536).
pub fn sys_setgroups(cur: &mut Current, size: usize, list: UserAddr) -> KResult<usize> {
    if size > 65536 {
        return Err(Errno::EINVAL);
    }
    let mut g = vec![0u32; size];
    cur.read_bytes(list, bytemuck::cast_slice_mut(&mut g))?;
    if !capable(cur, cap::SETGID) {
        return Err(Errno::EPERM);
    }
    cur.process().creds.lock().groups = g;
    Ok(0)
}

/// Clock ticks (`USER_HZ` = 100) in `ns`.
fn ticks(ns: u64) -> i64 {
    (ns / 10_000_000) as i64
}

/// `times(2)`: CPU times in clock ticks; returns ticks since boot.
pub fn sys_times(cur: &mut Current, buf: UserAddr) -> KResult<usize> {
    let p = cur.process().clone();
    let (u, s) = p.cpu_times();
    let c = *p.cputime.lock();
    if !buf.is_null() {
        let tms = Tms { tms_utime: ticks(u), tms_stime: ticks(s), tms_cutime: ticks(c.children_user_ns), tms_cstime: ticks(c.children_system_ns) };
        cur.write_val(buf, &tms)?;
    }
    Ok(ticks(kernel().uptime_ns()) as usize)
}

/// `getrusage(2)`.
pub fn sys_getrusage(cur: &mut Current, who: i32, ru: UserAddr) -> KResult<usize> {
    let p = cur.process().clone();
    let (u, s) = match who {
        uapi::structs::RUSAGE_SELF => p.cpu_times(),
        uapi::structs::RUSAGE_CHILDREN => {
            let c = *p.cputime.lock();
            (c.children_user_ns, c.children_system_ns)
        }
        uapi::structs::RUSAGE_THREAD => (cur.task.user_ns.load(Ordering::Relaxed), cur.task.system_ns.load(Ordering::Relaxed)),
        _ => return Err(Errno::EINVAL),
    };
    let mut r = crate::wait::rusage(u, s);
    if who != uapi::structs::RUSAGE_CHILDREN {
        r.ru_maxrss = (cur.mm().space.lock().resident_pages() * 4) as i64;
    }
    cur.write_val(ru, &r)?;
    Ok(0)
}

/// `getpriority(2)`: returns `20 - nice` (the raw syscall's encoding, glibc converts).
pub fn sys_getpriority(cur: &mut Current, which: i32, who: i32) -> KResult<usize> {
    let procs = priority_targets(cur, which, who)?;
    let best = procs.iter().flat_map(|p| p.live_threads()).map(|t| t.nice.load(Ordering::Relaxed)).min().ok_or(Errno::ESRCH)?;
    Ok((20 - best) as usize)
}

/// `setpriority(2)`: only a `CAP_SYS_NICE` holder may lower nice values.
pub fn sys_setpriority(cur: &mut Current, which: i32, who: i32, prio: i32) -> KResult<usize> {
    let nice = prio.clamp(-20, 19);
    let procs = priority_targets(cur, which, who)?;
    let root = capable(cur, cap::SYS_NICE);
    for p in procs {
        for t in p.live_threads() {
            if nice < t.nice.load(Ordering::Relaxed) && !root {
                return Err(Errno::EACCES);
            }
            t.nice.store(nice, Ordering::Relaxed);
        }
    }
    Ok(0)
}

fn priority_targets(cur: &Current, which: i32, who: i32) -> KResult<Vec<Arc<Process>>> {
    let all: Vec<Arc<Process>> = kernel().processes.lock().values().filter_map(|p| p.upgrade()).filter(|p| !p.is_zombie()).collect();
    let v: Vec<Arc<Process>> = match which {
        0 => vec![find_process(cur, who)?],
        1 => {
            let g = if who == 0 { cur.process().pgid.load(Ordering::Relaxed) } else { who as u32 };
            all.into_iter().filter(|p| p.pgid.load(Ordering::Relaxed) == g).collect()
        }
        2 => {
            let u = if who == 0 { cur.process().creds.lock().uid } else { who as u32 };
            all.into_iter().filter(|p| p.creds.lock().uid == u).collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if v.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(v)
}
