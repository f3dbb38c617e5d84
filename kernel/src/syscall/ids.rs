//! Identity syscalls: process groups and sessions (job control's bookkeeping), user and group
//! ids with Linux's `set*id` rules, supplementary groups, priorities, and CPU usage.

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::Process;
use std::sync::atomic::Ordering;
use std::sync::Arc;
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

fn is_root(cur: &Current) -> bool {
    cur.process().creds.lock().euid == 0
}

/// `setuid(2)`: root sets all ids; others may set the effective id to the real or saved one.
pub fn sys_setuid(cur: &mut Current, uid: u32) -> KResult<usize> {
    let root = is_root(cur);
    let mut c = cur.process().creds.lock();
    if root {
        c.uid = uid;
        c.euid = uid;
        c.suid = uid;
        c.fsuid = uid;
    } else if uid == c.uid || uid == c.suid {
        c.euid = uid;
        c.fsuid = uid;
    } else {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

/// `setgid(2)`.
pub fn sys_setgid(cur: &mut Current, gid: u32) -> KResult<usize> {
    let root = is_root(cur);
    let mut c = cur.process().creds.lock();
    if root {
        c.gid = gid;
        c.egid = gid;
        c.sgid = gid;
        c.fsgid = gid;
    } else if gid == c.gid || gid == c.sgid {
        c.egid = gid;
        c.fsgid = gid;
    } else {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

/// `setresuid(2)` (-1 leaves an id unchanged; unprivileged callers may only use current ids).
pub fn sys_setresuid(cur: &mut Current, r: u32, e: u32, s: u32) -> KResult<usize> {
    let root = is_root(cur);
    let mut c = cur.process().creds.lock();
    let ok = |v: u32| v == u32::MAX || root || v == c.uid || v == c.euid || v == c.suid;
    if !(ok(r) && ok(e) && ok(s)) {
        return Err(Errno::EPERM);
    }
    if r != u32::MAX {
        c.uid = r;
    }
    if e != u32::MAX {
        c.euid = e;
        c.fsuid = e;
    }
    if s != u32::MAX {
        c.suid = s;
    }
    Ok(0)
}

/// `setresgid(2)`.
pub fn sys_setresgid(cur: &mut Current, r: u32, e: u32, s: u32) -> KResult<usize> {
    let root = is_root(cur);
    let mut c = cur.process().creds.lock();
    let ok = |v: u32| v == u32::MAX || root || v == c.gid || v == c.egid || v == c.sgid;
    if !(ok(r) && ok(e) && ok(s)) {
        return Err(Errno::EPERM);
    }
    if r != u32::MAX {
        c.gid = r;
    }
    if e != u32::MAX {
        c.egid = e;
        c.fsgid = e;
    }
    if s != u32::MAX {
        c.sgid = s;
    }
    Ok(0)
}

/// `setreuid(2)`: as `setresuid(r, e, -1)`, saving the new effective id when the real one is set.
pub fn sys_setreuid(cur: &mut Current, r: u32, e: u32) -> KResult<usize> {
    let s = if r != u32::MAX || (e != u32::MAX && e != cur.process().creds.lock().uid) { if e != u32::MAX { e } else { cur.process().creds.lock().euid } } else { u32::MAX };
    sys_setresuid(cur, r, e, s)
}

/// `setregid(2)`.
pub fn sys_setregid(cur: &mut Current, r: u32, e: u32) -> KResult<usize> {
    let s = if r != u32::MAX || (e != u32::MAX && e != cur.process().creds.lock().gid) { if e != u32::MAX { e } else { cur.process().creds.lock().egid } } else { u32::MAX };
    sys_setresgid(cur, r, e, s)
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

/// `setfsuid(2)`: returns the previous fsuid.
pub fn sys_setfsuid(cur: &mut Current, uid: u32) -> KResult<usize> {
    let root = is_root(cur);
    let mut c = cur.process().creds.lock();
    let old = c.fsuid;
    if root || uid == c.uid || uid == c.euid || uid == c.suid {
        c.fsuid = uid;
    }
    Ok(old as usize)
}

/// `setfsgid(2)`.
pub fn sys_setfsgid(cur: &mut Current, gid: u32) -> KResult<usize> {
    let root = is_root(cur);
    let mut c = cur.process().creds.lock();
    let old = c.fsgid;
    if root || gid == c.gid || gid == c.egid || gid == c.sgid {
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

/// `setgroups(2)`: root only; at most `NGROUPS_MAX` (65536).
pub fn sys_setgroups(cur: &mut Current, size: usize, list: UserAddr) -> KResult<usize> {
    if size > 65536 {
        return Err(Errno::EINVAL);
    }
    let mut g = vec![0u32; size];
    cur.read_bytes(list, bytemuck::cast_slice_mut(&mut g))?;
    if !is_root(cur) {
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

/// `setpriority(2)`: only root may lower nice values.
pub fn sys_setpriority(cur: &mut Current, which: i32, who: i32, prio: i32) -> KResult<usize> {
    let nice = prio.clamp(-20, 19);
    let procs = priority_targets(cur, which, who)?;
    let root = is_root(cur);
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
