//! System V semaphores (Linux's `ipc/sem.c`): `semget`, `semop`/`semtimedop`, `semctl`, the
//! `SEM_UNDO` adjustments applied when a process exits, and `/proc/sysvipc/sem`.
//!
//! An operation list is applied atomically or not at all. One that cannot proceed waits in the
//! array's queue; whoever changes the array (a `semop`, `SETVAL`, `SETALL`, an exit's undo)
//! completes the queued operations that can now proceed, in queue order, before returning
//! (Linux's `update_queue`), so a sleeper's operation has happened by the time the waker's
//! call returns. Sleepers are woken through the array's `Pollee`; a signal makes `semop`
//! fail with `EINTR` (never restarted), a timeout with `EAGAIN`, removal with `EIDRM`.
//!
//! The undo adjustments (`semadj`) live in the array, per process: removing the array drops
//! them, a fork child starts without any, exec keeps them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytemuck::{Pod, Zeroable};
use fs::klock::KMutex;
use fs::{Credentials, PollEvents, Pollee};
use uapi::{Errno, KResult, UserAddr};

use super::util::{ipcget, now_secs, proc_prefix, Ids, Ipc64Perm, IpcObject, IpcPerm, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, S_IRUGO, S_IWUGO};
use crate::sched::Current;

/// `sem_flg`: undo the operation when the process exits.
pub const SEM_UNDO: i16 = 0x1000;
/// `semctl`: the pid of the last operation on a semaphore.
pub const GETPID: i32 = 11;
/// `semctl`: a semaphore's value.
pub const GETVAL: i32 = 12;
/// `semctl`: every value.
pub const GETALL: i32 = 13;
/// `semctl`: how many wait for a semaphore to grow.
pub const GETNCNT: i32 = 14;
/// `semctl`: how many wait for a semaphore to become zero.
pub const GETZCNT: i32 = 15;
/// `semctl`: set a value.
pub const SETVAL: i32 = 16;
/// `semctl`: set every value.
pub const SETALL: i32 = 17;
/// `semctl`: `IPC_STAT` by index.
pub const SEM_STAT: i32 = 18;
/// `semctl`: usage totals.
pub const SEM_INFO: i32 = 19;
/// `semctl`: `SEM_STAT` without the permission check.
pub const SEM_STAT_ANY: i32 = 20;

/// Most semaphores per array (`SEMMSL`).
const SEMMSL: usize = 32000;
/// Most semaphores in all (`SEMMNS`).
const SEMMNS: usize = SEMMSL * SEMMNI;
/// Most arrays (`SEMMNI`).
const SEMMNI: usize = 32000;
/// Most operations per call (`SEMOPM`).
const SEMOPM: usize = 500;
/// Largest semaphore value (`SEMVMX`).
pub const SEMVMX: i32 = 32767;
/// Largest undo adjustment (`SEMAEM`).
const SEMAEM: i32 = SEMVMX;

/// `struct sembuf`: one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct Sembuf {
    /// Semaphore index.
    pub num: u16,
    /// Operation: add (positive), wait and take (negative), wait for zero (0).
    pub op: i16,
    /// `IPC_NOWAIT`, `SEM_UNDO`.
    pub flg: i16,
}

/// `struct semid64_ds` (x86-64).
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
pub struct Semid64Ds {
    /// Permissions.
    pub perm: Ipc64Perm,
    /// Last `semop`.
    pub otime: i64,
    /// Unused.
    pub _unused1: u64,
    /// Last change.
    pub ctime: i64,
    /// Unused.
    pub _unused2: u64,
    /// Semaphores in the array.
    pub nsems: u64,
    /// Unused.
    pub _unused3: [u64; 2],
}
const _: () = assert!(core::mem::size_of::<Semid64Ds>() == 104);

/// `struct seminfo` (`IPC_INFO`, `SEM_INFO`).
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
struct SemInfo {
    semmap: i32,
    semmni: i32,
    semmns: i32,
    semmnu: i32,
    semmsl: i32,
    semopm: i32,
    semume: i32,
    semusz: i32,
    semvmx: i32,
    semaem: i32,
}

/// One semaphore.
#[derive(Clone, Copy, Debug, Default)]
struct Sem {
    val: i32,
    /// The process of the last operation on it (`sempid`).
    pid: u32,
    /// When an operation list starting with it last succeeded.
    otime: i64,
}

/// How an operation list fared.
enum Outcome {
    Done,
    /// It must wait: the index of the operation that cannot proceed.
    Block(usize),
    Failed(Errno),
}

/// A sleeping `semop` (Linux's `sem_queue`).
struct Waiter {
    pid: u32,
    sops: Vec<Sembuf>,
    alter: bool,
    /// The operation it waits on, for `GETNCNT`/`GETZCNT`.
    blocking: usize,
    /// Set by whoever completes (or fails) its operations.
    result: Arc<KMutex<Option<KResult<()>>>>,
}

/// A semaphore array (Linux's `sem_array`).
struct SemArray {
    perm: IpcPerm,
    sems: Vec<Sem>,
    ctime: i64,
    queue: Vec<Waiter>,
    /// Undo adjustments by process.
    undo: BTreeMap<u32, Vec<i32>>,
    pollee: Arc<Pollee>,
}

impl IpcObject for SemArray {
    fn perm(&self) -> &IpcPerm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut IpcPerm {
        &mut self.perm
    }
}

impl SemArray {
    /// The latest operation time of any semaphore (`get_semotime`).
    fn otime(&self) -> i64 {
        self.sems.iter().map(|s| s.otime).max().unwrap_or(0)
    }

    /// Applies `sops` for process `pid` all or nothing (Linux's `perform_atomic_semop_slow`):
    /// in order, an operation that cannot proceed stops the list (`IPC_NOWAIT`: `EAGAIN`), a
    /// value beyond `SEMVMX` or an undo beyond `SEMAEM` is `ERANGE`; then every change made
    /// is rolled back.
    fn perform(&mut self, pid: u32, sops: &[Sembuf]) -> Outcome {
        let undo = sops.iter().any(|s| s.flg & SEM_UNDO != 0);
        let mut adj = if undo { self.undo.get(&pid).cloned().unwrap_or_else(|| vec![0; self.sems.len()]) } else { Vec::new() };
        let mut outcome = Outcome::Done;
        let mut applied = 0;
        for (i, s) in sops.iter().enumerate() {
            let n = usize::from(s.num);
            let cur = self.sems[n].val;
            let op = i32::from(s.op);
            let result = cur + op;
            if (op == 0 && cur != 0) || result < 0 {
                outcome = if i32::from(s.flg) & IPC_NOWAIT != 0 { Outcome::Failed(Errno::EAGAIN) } else { Outcome::Block(i) };
                break;
            }
            if result > SEMVMX {
                outcome = Outcome::Failed(Errno::ERANGE);
                break;
            }
            if s.flg & SEM_UNDO != 0 {
                let u = adj[n] - op;
                if !(-SEMAEM - 1..=SEMAEM).contains(&u) {
                    outcome = Outcome::Failed(Errno::ERANGE);
                    break;
                }
                adj[n] = u;
            }
            self.sems[n].val = result;
            applied = i + 1;
        }
        if !matches!(outcome, Outcome::Done) {
            for s in sops[..applied].iter().rev() {
                self.sems[usize::from(s.num)].val -= i32::from(s.op);
            }
            return outcome;
        }
        for s in sops {
            self.sems[usize::from(s.num)].pid = pid;
        }
        if undo {
            self.undo.insert(pid, adj);
        }
        Outcome::Done
    }

    /// Completes (or fails) every queued operation list that can now proceed, in queue order,
    /// starting over after each one that changed values (Linux's `update_queue`). Returns true
    /// if one completed.
    fn update_queue(&mut self) -> bool {
        let mut completed = false;
        'again: loop {
            let mut i = 0;
            while i < self.queue.len() {
                let (pid, sops) = (self.queue[i].pid, self.queue[i].sops.clone());
                let result = match self.perform(pid, &sops) {
                    Outcome::Block(b) => {
                        self.queue[i].blocking = b;
                        i += 1;
                        continue;
                    }
                    Outcome::Done => Ok(()),
                    Outcome::Failed(e) => Err(e),
                };
                let w = self.queue.remove(i);
                *w.result.lock() = Some(result);
                if result.is_ok() {
                    completed = true;
                    if w.alter {
                        continue 'again;
                    }
                }
            }
            break;
        }
        completed
    }

    /// Sleepers waiting for semaphore `num` to grow (`zero`: to become zero), counting each
    /// waiter on the operation it is blocked on (Linux's `count_semcnt`).
    fn count_waiters(&self, num: usize, zero: bool) -> usize {
        self.queue
            .iter()
            .filter(|w| w.sops.get(w.blocking).is_some_and(|s| usize::from(s.num) == num && if zero { s.op == 0 } else { s.op < 0 }))
            .count()
    }

    /// After a change by a caller: completes what can proceed, stamps the operation time
    /// (`set_semotime` on the first semaphore when `force` or something completed), and wakes
    /// the sleepers (Linux's `do_smart_update` without `sops`).
    fn changed(&mut self, force_otime: bool) {
        let completed = self.update_queue();
        if completed || force_otime {
            if let Some(s) = self.sems.first_mut() {
                s.otime = now_secs();
            }
        }
        self.pollee.notify(PollEvents::POLLIN);
    }

    fn to_abi(&self) -> Semid64Ds {
        Semid64Ds { perm: self.perm.to_abi(), otime: self.otime(), ctime: self.ctime, nsems: self.sems.len() as u64, ..Semid64Ds::default() }
    }
}

/// Every array of the (single) IPC namespace.
static SEM: KMutex<Ids<SemArray>> = KMutex::new(Ids::new());

/// `semget(2)`: the array of `key`, created with `nsems` semaphores (all 0) under `IPC_CREAT`
/// or for `IPC_PRIVATE`. `EINVAL` for `nsems` outside `0..=SEMMSL` (or 0 when creating, or
/// more than an existing array has); `ENOSPC` past `SEMMNS` semaphores or `SEMMNI` arrays.
pub fn semget(cur: &Current, key: i32, nsems: i32, flags: i32) -> KResult<i32> {
    let n = usize::try_from(nsems).ok().filter(|&n| n <= SEMMSL).ok_or(Errno::EINVAL)?;
    let cred = cur.process().creds();
    let mut t = SEM.lock();
    let more_checks = |a: &SemArray| if n > a.sems.len() { Err(Errno::EINVAL) } else { Ok(()) };
    ipcget(&mut t, key, flags, &cred, more_checks, |ids| {
        if n == 0 {
            return Err(Errno::EINVAL);
        }
        let used: usize = ids.iter().map(|a| a.sems.len()).sum();
        if used + n > SEMMNS {
            return Err(Errno::ENOSPC);
        }
        ids.add(SEMMNI, |_| SemArray {
            perm: IpcPerm::new(key, flags, &cred),
            sems: vec![Sem::default(); n],
            ctime: now_secs(),
            queue: Vec::new(),
            undo: BTreeMap::new(),
            pollee: Arc::new(Pollee::default()),
        })
    })
}

/// `semtimedop(2)` (and `semop` without a timeout): applies `nsops` operations read from
/// `sops` atomically, waiting up to `timeout` if they cannot proceed yet. Linux's order of
/// errors: `E2BIG` for more than `SEMOPM`, `EINVAL` for none, `EFAULT`, `EINVAL` for a
/// negative id or a bad timeout, `EINVAL` for an unknown id, `EFBIG` for a semaphore beyond the
/// array, `EACCES`; then `EAGAIN` (`IPC_NOWAIT`, timeout), `ERANGE`, `EINTR`, `EIDRM`.
pub fn semtimedop(cur: &mut Current, semid: i32, sops: UserAddr, nsops: u64, timeout: Option<uapi::structs::Timespec>) -> KResult<usize> {
    if nsops > SEMOPM as u64 {
        return Err(Errno::E2BIG);
    }
    if nsops < 1 {
        return Err(Errno::EINVAL);
    }
    let mut ops = vec![Sembuf::default(); nsops as usize];
    cur.read_bytes(sops, bytemuck::cast_slice_mut(&mut ops))?;
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let deadline = match timeout {
        Some(ts) if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) => return Err(Errno::EINVAL),
        Some(ts) => Instant::now().checked_add(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)),
        None => None,
    };
    let cred = cur.process().creds();
    let pid = cur.pid();
    let (pollee, result) = match start_semop(&cred, pid, semid, ops)? {
        Started::Done => return Ok(0),
        Started::Queued(p, r) => (p, r),
    };
    let waited = crate::sched::wait_until(cur, &[&pollee], PollEvents::POLLIN, deadline, |_| result.lock().take());
    match waited {
        Ok(()) => Ok(0),
        Err(e @ (Errno::ERESTARTSYS | Errno::ETIMEDOUT)) => {
            // Completed meanwhile after all? Otherwise leave the queue.
            let mut t = SEM.lock();
            if let Some(r) = result.lock().take() {
                return r.map(|()| 0);
            }
            if let Ok(a) = t.get_mut(semid) {
                a.queue.retain(|w| !Arc::ptr_eq(&w.result, &result));
            }
            Err(if e == Errno::ETIMEDOUT { Errno::EAGAIN } else { Errno::EINTR })
        }
        Err(e) => Err(e),
    }
}

/// What a `semop` did before sleeping.
enum Started {
    Done,
    /// Queued: the array's pollee and the slot the result will be put in.
    Queued(Arc<Pollee>, Arc<KMutex<Option<KResult<()>>>>),
}

/// The part of `semtimedop` under the table lock: checks, the attempt, and queueing.
fn start_semop(cred: &Credentials, pid: u32, semid: i32, ops: Vec<Sembuf>) -> KResult<Started> {
    let max = ops.iter().map(|s| s.num).max().unwrap_or(0);
    let alter = ops.iter().any(|s| s.op != 0);
    let mut t = SEM.lock();
    let a = t.get_mut(semid)?;
    if usize::from(max) >= a.sems.len() {
        return Err(Errno::EFBIG);
    }
    a.perm.check(cred, if alter { S_IWUGO } else { S_IRUGO })?;
    match a.perform(pid, &ops) {
        Outcome::Done => {
            if alter {
                a.update_queue();
                a.pollee.notify(PollEvents::POLLIN);
            }
            a.sems[usize::from(ops[0].num)].otime = now_secs();
            Ok(Started::Done)
        }
        Outcome::Failed(e) => Err(e),
        Outcome::Block(blocking) => {
            let result = Arc::new(KMutex::new(None));
            a.queue.push(Waiter { pid, sops: ops, alter, blocking, result: result.clone() });
            Ok(Started::Queued(a.pollee.clone(), result))
        }
    }
}

/// `semctl(2)`. `arg` is the fourth argument: a value for `SETVAL`, else a pointer. Linux's
/// errors: `EINVAL` for a negative id, unknown commands and semaphore numbers outside the
/// array; `ERANGE` for values beyond `SEMVMX`; `EACCES`; `EPERM` for `IPC_SET`/`IPC_RMID` by
/// others than the owner, creator or root; `EFAULT`.
pub fn semctl(cur: &mut Current, semid: i32, semnum: i32, cmd: i32, arg: u64) -> KResult<usize> {
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let cred = cur.process().creds();
    let buf = UserAddr(arg);
    match cmd {
        IPC_INFO | SEM_INFO => {
            let (info, max) = info(cmd);
            cur.write_val(buf, &info)?;
            Ok(max.max(0) as usize)
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let (ds, ret) = {
                let t = SEM.lock();
                let a = if cmd == IPC_STAT { t.get(semid)? } else { t.by_index(semid)? };
                if cmd != SEM_STAT_ANY {
                    a.perm.check(&cred, S_IRUGO)?;
                }
                (a.to_abi(), if cmd == IPC_STAT { 0 } else { a.perm.id as usize })
            };
            cur.write_val(buf, &ds)?;
            Ok(ret)
        }
        GETALL => {
            let vals: Vec<u16> = {
                let t = SEM.lock();
                let a = t.get(semid)?;
                a.perm.check(&cred, S_IRUGO)?;
                a.sems.iter().map(|s| s.val as u16).collect()
            };
            cur.write_bytes(buf, bytemuck::cast_slice(&vals))?;
            Ok(0)
        }
        SETALL => setall(cur, &cred, semid, buf),
        GETVAL | GETPID | GETNCNT | GETZCNT => {
            let t = SEM.lock();
            let a = t.get(semid)?;
            a.perm.check(&cred, S_IRUGO)?;
            let n = usize::try_from(semnum).ok().filter(|&n| n < a.sems.len()).ok_or(Errno::EINVAL)?;
            Ok(match cmd {
                GETVAL => a.sems[n].val as usize,
                GETPID => a.sems[n].pid as usize,
                GETNCNT => a.count_waiters(n, false),
                _ => a.count_waiters(n, true),
            })
        }
        SETVAL => setval(&cred, cur.pid(), semid, semnum, arg as i32),
        IPC_SET => {
            let ds: Semid64Ds = cur.read_val(buf)?;
            let mut t = SEM.lock();
            let a = t.get_mut(semid)?;
            a.perm.check_owner(&cred)?;
            a.perm.update(&ds.perm)?;
            a.ctime = now_secs();
            Ok(0)
        }
        IPC_RMID => {
            let mut t = SEM.lock();
            t.get(semid)?.perm.check_owner(&cred)?;
            if let Some(a) = t.remove(semid) {
                for w in a.queue {
                    *w.result.lock() = Some(Err(Errno::EIDRM));
                }
                a.pollee.notify(PollEvents::POLLIN);
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `IPC_INFO`/`SEM_INFO` (Linux's `semctl_info`) and the highest index in use.
fn info(cmd: i32) -> (SemInfo, i32) {
    let t = SEM.lock();
    let mut info = SemInfo {
        semmap: SEMMNS as i32,
        semmni: SEMMNI as i32,
        semmns: SEMMNS as i32,
        semmnu: SEMMNS as i32,
        semmsl: SEMMSL as i32,
        semopm: SEMOPM as i32,
        semume: SEMOPM as i32,
        semusz: 20,
        semvmx: SEMVMX,
        semaem: SEMAEM,
    };
    if cmd == SEM_INFO {
        info.semusz = t.in_use() as i32;
        info.semaem = t.iter().map(|a| a.sems.len() as i32).sum();
    }
    (info, t.max_idx())
}

/// `SETVAL` (Linux's `semctl_setval`): `ERANGE` first, then the id, the number and write
/// permission; clears every process's adjustment of that semaphore and completes waiters.
fn setval(cred: &Credentials, pid: u32, semid: i32, semnum: i32, val: i32) -> KResult<usize> {
    if !(0..=SEMVMX).contains(&val) {
        return Err(Errno::ERANGE);
    }
    let mut t = SEM.lock();
    let a = t.get_mut(semid)?;
    let n = usize::try_from(semnum).ok().filter(|&n| n < a.sems.len()).ok_or(Errno::EINVAL)?;
    a.perm.check(cred, S_IWUGO)?;
    for adj in a.undo.values_mut() {
        adj[n] = 0;
    }
    a.sems[n].val = val;
    a.sems[n].pid = pid;
    a.ctime = now_secs();
    a.changed(false);
    Ok(0)
}

/// `SETALL` (Linux's `semctl_main`): write permission, the values read (`EFAULT`) and checked
/// (`ERANGE`), then set; every adjustment is cleared and waiters are completed.
fn setall(cur: &mut Current, cred: &Credentials, semid: i32, buf: UserAddr) -> KResult<usize> {
    let n = {
        let t = SEM.lock();
        let a = t.get(semid)?;
        a.perm.check(cred, S_IWUGO)?;
        a.sems.len()
    };
    let mut vals = vec![0u16; n];
    cur.read_bytes(buf, bytemuck::cast_slice_mut(&mut vals))?;
    if vals.iter().any(|&v| i32::from(v) > SEMVMX) {
        return Err(Errno::ERANGE);
    }
    let pid = cur.pid();
    let mut t = SEM.lock();
    let a = t.get_mut(semid).map_err(|_| Errno::EIDRM)?;
    for (s, v) in a.sems.iter_mut().zip(vals) {
        s.val = i32::from(v);
        s.pid = pid;
    }
    for adj in a.undo.values_mut() {
        adj.iter_mut().for_each(|x| *x = 0);
    }
    a.ctime = now_secs();
    a.changed(false);
    Ok(0)
}

/// At the exit of process `pid`: applies its undo adjustments to every array, clamping the
/// values to `0..=SEMVMX`, and completes what can then proceed (Linux's `exit_sem`).
pub fn exit_undo(pid: u32) {
    let mut t = SEM.lock();
    for a in t.iter_mut() {
        let Some(adj) = a.undo.remove(&pid) else { continue };
        for (s, d) in a.sems.iter_mut().zip(adj) {
            if d != 0 {
                s.val = (s.val + d).clamp(0, SEMVMX);
                s.pid = pid;
            }
        }
        a.changed(true);
    }
}

/// The text of `/proc/sysvipc/sem` (Linux's `sysvipc_sem_proc_show`).
pub fn proc_text() -> String {
    let mut out = String::from("       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n");
    for a in SEM.lock().iter() {
        let p = &a.perm;
        out.push_str(&format!(
            "{} {:>10} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10}\n",
            proc_prefix(p),
            a.sems.len(),
            p.uid,
            p.gid,
            p.cuid,
            p.cgid,
            a.otime(),
            a.ctime
        ));
    }
    out
}
