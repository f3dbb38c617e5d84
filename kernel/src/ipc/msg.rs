//! System V message queues (Linux's `ipc/msg.c`): `msgget`, `msgsnd`, `msgrcv`, `msgctl` and
//! `/proc/sysvipc/msg`.
//!
//! A sender finding a receiver asleep for a message of its type hands the message over
//! directly (Linux's `pipelined_send`); otherwise the message is queued. A sender finding the
//! queue full (`msg_qbytes` bytes, or as many messages) sleeps until a receive makes room.
//! Sleepers are woken through the queue's `Pollee`; removal wakes them with `EIDRM`, a signal
//! with `EINTR` unless the signal had no handler (`ERESTARTNOHAND`).

use std::collections::VecDeque;
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};
use fs::klock::KMutex;
use fs::{Credentials, PollEvents, Pollee};
use uapi::{Errno, KResult, UserAddr};

use super::util::{ipcget, now_secs, proc_prefix, Ids, Ipc64Perm, IpcObject, IpcPerm, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, S_IRUGO, S_IWUGO};
use crate::sched::Current;

/// `msgrcv`: truncate a too long message instead of failing with `E2BIG`.
pub const MSG_NOERROR: i32 = 0o10000;
/// `msgrcv`: take the first message of another type than `msgtyp`.
pub const MSG_EXCEPT: i32 = 0o20000;
/// `msgrcv`: copy the message at position `msgtyp` without removing it.
pub const MSG_COPY: i32 = 0o40000;
/// `msgctl`: `IPC_STAT` by index.
pub const MSG_STAT: i32 = 11;
/// `msgctl`: usage totals.
pub const MSG_INFO: i32 = 12;
/// `msgctl`: `MSG_STAT` without the permission check.
pub const MSG_STAT_ANY: i32 = 13;

/// Largest message (`MSGMAX`).
const MSGMAX: usize = 8192;
/// Default queue size in bytes (`MSGMNB`).
const MSGMNB: u64 = 16384;
/// Most queues (`MSGMNI`).
const MSGMNI: usize = 32000;

/// `struct msqid64_ds` (x86-64).
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
pub struct Msqid64Ds {
    /// Permissions.
    pub perm: Ipc64Perm,
    /// Last send.
    pub stime: i64,
    /// Last receive.
    pub rtime: i64,
    /// Last change.
    pub ctime: i64,
    /// Bytes queued.
    pub cbytes: u64,
    /// Messages queued.
    pub qnum: u64,
    /// Most bytes the queue holds.
    pub qbytes: u64,
    /// Last sender.
    pub lspid: i32,
    /// Last receiver.
    pub lrpid: i32,
    /// Unused.
    pub _unused: [u64; 2],
}
const _: () = assert!(core::mem::size_of::<Msqid64Ds>() == 120);

/// `struct msginfo` (`IPC_INFO`, `MSG_INFO`).
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
struct MsgInfo {
    msgpool: i32,
    msgmap: i32,
    msgmax: i32,
    msgmnb: i32,
    msgmni: i32,
    msgssz: i32,
    msgtql: i32,
    msgseg: u16,
    _pad: u16,
}

/// One message.
struct Msg {
    mtype: i64,
    text: Vec<u8>,
}

/// Which messages a receive takes (Linux's `SEARCH_*`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Search {
    Any,
    Equal(i64),
    NotEqual(i64),
    /// The lowest type up to this.
    LessEqual(i64),
    /// The message at this position (`MSG_COPY`).
    Number(i64),
}

impl Search {
    /// Linux's `convert_mode`.
    fn new(msgtyp: i64, flags: i32) -> Search {
        if flags & MSG_COPY != 0 {
            Search::Number(msgtyp)
        } else if msgtyp == 0 {
            Search::Any
        } else if msgtyp < 0 {
            Search::LessEqual(msgtyp.checked_neg().unwrap_or(i64::MAX))
        } else if flags & MSG_EXCEPT != 0 {
            Search::NotEqual(msgtyp)
        } else {
            Search::Equal(msgtyp)
        }
    }

    /// Linux's `testmsg`.
    fn matches(self, mtype: i64) -> bool {
        match self {
            Search::Any | Search::Number(_) => true,
            Search::Equal(t) => mtype == t,
            Search::NotEqual(t) => mtype != t,
            Search::LessEqual(t) => mtype <= t,
        }
    }

    /// The position of the message to take (Linux's `find_msg`).
    fn find(self, msgs: &VecDeque<Msg>) -> Option<usize> {
        match self {
            Search::LessEqual(_) => {
                let mut best: Option<usize> = None;
                for (i, m) in msgs.iter().enumerate().filter(|(_, m)| self.matches(m.mtype)) {
                    if m.mtype == 1 {
                        return Some(i);
                    }
                    if best.is_none_or(|b| m.mtype < msgs[b].mtype) {
                        best = Some(i);
                    }
                }
                best
            }
            Search::Number(n) => usize::try_from(n).ok().filter(|&n| n < msgs.len()),
            _ => msgs.iter().position(|m| self.matches(m.mtype)),
        }
    }
}

/// A sleeping `msgrcv` (Linux's `msg_receiver`).
struct Receiver {
    pid: u32,
    search: Search,
    /// The longest message it takes (`INT_MAX` with `MSG_NOERROR`).
    maxsize: usize,
    /// What it got: a message, `E2BIG`, `EIDRM`, or `EAGAIN` to look again.
    slot: Arc<KMutex<Option<KResult<Msg>>>>,
}

/// A message queue (Linux's `msg_queue`).
struct MsgQueue {
    perm: IpcPerm,
    stime: i64,
    rtime: i64,
    ctime: i64,
    cbytes: u64,
    qbytes: u64,
    lspid: u32,
    lrpid: u32,
    messages: VecDeque<Msg>,
    receivers: Vec<Receiver>,
    pollee: Arc<Pollee>,
}

impl IpcObject for MsgQueue {
    fn perm(&self) -> &IpcPerm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut IpcPerm {
        &mut self.perm
    }
}

impl MsgQueue {
    /// Room for a message of `len` bytes (Linux's `msg_fits_inqueue`: bytes and count are both
    /// bounded by `msg_qbytes`).
    fn fits(&self, len: usize) -> bool {
        (len as u64).saturating_add(self.cbytes) <= self.qbytes && (self.messages.len() as u64) < self.qbytes
    }

    /// Hands `msg` to the first sleeping receiver that wants it (one whose buffer is too small
    /// gets `E2BIG` and the search goes on); returns it back if none takes it.
    fn pipelined_send(&mut self, msg: Msg) -> Option<Msg> {
        let mut i = 0;
        while i < self.receivers.len() {
            if !self.receivers[i].search.matches(msg.mtype) {
                i += 1;
                continue;
            }
            let r = self.receivers.remove(i);
            if r.maxsize < msg.text.len() {
                *r.slot.lock() = Some(Err(Errno::E2BIG));
                continue;
            }
            self.lrpid = r.pid;
            self.rtime = now_secs();
            *r.slot.lock() = Some(Ok(msg));
            return None;
        }
        Some(msg)
    }

    /// Wakes every sleeping receiver with `err` (Linux's `expunge_all`).
    fn expunge_all(&mut self, err: Errno) {
        for r in self.receivers.drain(..) {
            *r.slot.lock() = Some(Err(err));
        }
    }

    fn to_abi(&self) -> Msqid64Ds {
        Msqid64Ds {
            perm: self.perm.to_abi(),
            stime: self.stime,
            rtime: self.rtime,
            ctime: self.ctime,
            cbytes: self.cbytes,
            qnum: self.messages.len() as u64,
            qbytes: self.qbytes,
            lspid: self.lspid as i32,
            lrpid: self.lrpid as i32,
            _unused: [0; 2],
        }
    }
}

/// Every queue of the (single) IPC namespace.
static MSG: KMutex<Ids<MsgQueue>> = KMutex::new(Ids::new());

/// `msgget(2)`: the queue of `key`, created (empty, `MSGMNB` bytes) under `IPC_CREAT` or for
/// `IPC_PRIVATE`; `ENOSPC` past `MSGMNI` queues, and `ipcget`'s errors.
pub fn msgget(cur: &Current, key: i32, flags: i32) -> KResult<i32> {
    let cred = cur.process().creds();
    let mut ids = MSG.lock();
    ipcget(&mut ids, key, flags, &cred, |_| Ok(()), |ids| {
        ids.add(MSGMNI, |_| MsgQueue {
            perm: IpcPerm::new(key, flags, &cred),
            stime: 0,
            rtime: 0,
            ctime: now_secs(),
            cbytes: 0,
            qbytes: MSGMNB,
            lspid: 0,
            lrpid: 0,
            messages: VecDeque::new(),
            receivers: Vec::new(),
            pollee: Arc::new(Pollee::default()),
        })
    })
}

/// True if `pollee` is still the one of queue `id` (the queue was not removed meanwhile).
fn same_queue(ids: &Ids<MsgQueue>, id: i32, pollee: &Arc<Pollee>) -> bool {
    ids.get(id).is_ok_and(|q| Arc::ptr_eq(&q.pollee, pollee))
}

/// `msgsnd(2)`: queues the message at `msgp` (`long mtype` then `msgsz` bytes), waiting for
/// room unless `IPC_NOWAIT` (`EAGAIN`). Linux's errors: `EFAULT` for the type, `EINVAL` for a
/// size beyond `MSGMAX`, a negative id or a type below 1, `EFAULT` for the text, `EINVAL` for
/// an unknown id, `EACCES` without write permission, `EIDRM` if removed while waiting.
pub fn msgsnd(cur: &mut Current, msqid: i32, msgp: UserAddr, msgsz: u64, flags: i32) -> KResult<usize> {
    let mtype: i64 = cur.read_val(msgp)?;
    if msgsz > MSGMAX as u64 || msqid < 0 || mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let mut text = vec![0u8; msgsz as usize];
    cur.read_bytes(msgp.checked_add(8).ok_or(Errno::EFAULT)?, &mut text)?;
    let cred = cur.process().creds();
    let pid = cur.pid();
    let mut msg = Some(Msg { mtype, text });
    let mut waiting_on: Option<Arc<Pollee>> = None;
    loop {
        let pollee = {
            let mut ids = MSG.lock();
            if waiting_on.as_ref().is_some_and(|p| !same_queue(&ids, msqid, p)) {
                return Err(Errno::EIDRM);
            }
            let q = ids.get_mut(msqid)?;
            q.perm.check(&cred, S_IWUGO)?;
            let len = msg.as_ref().map_or(0, |m| m.text.len());
            if q.fits(len) {
                q.lspid = pid;
                q.stime = now_secs();
                if let Some(m) = msg.take().and_then(|m| q.pipelined_send(m)) {
                    q.cbytes += m.text.len() as u64;
                    q.messages.push_back(m);
                }
                q.pollee.notify(PollEvents::POLLIN);
                return Ok(0);
            }
            if flags & IPC_NOWAIT != 0 {
                return Err(Errno::EAGAIN);
            }
            q.pollee.clone()
        };
        let room = |_: &mut Current| {
            let ids = MSG.lock();
            match ids.get(msqid) {
                Ok(q) if Arc::ptr_eq(&q.pollee, &pollee) => q.fits(len_of(&msg)).then_some(Ok(())),
                _ => Some(Err(Errno::EIDRM)),
            }
        };
        match crate::sched::wait_until(cur, &[&pollee], PollEvents::POLLOUT, None, room) {
            Ok(()) => {}
            Err(Errno::ERESTARTSYS) => return Err(Errno::ERESTARTNOHAND),
            Err(e) => return Err(e),
        }
        waiting_on = Some(pollee);
    }
}

fn len_of(m: &Option<Msg>) -> usize {
    m.as_ref().map_or(0, |m| m.text.len())
}

/// `msgrcv(2)`: takes a message (see `Search`) into `msgp`, waiting for one unless
/// `IPC_NOWAIT` (`ENOMSG`); returns the text length copied. A longer message is `E2BIG`
/// unless `MSG_NOERROR` truncates it. `MSG_COPY` (with `IPC_NOWAIT`, without `MSG_EXCEPT`, else
/// `EINVAL`) copies the message at position `msgtyp` and leaves it queued. `EIDRM` if the
/// queue is removed while waiting; a signal gives `EINTR` unless it had no handler.
pub fn msgrcv(cur: &mut Current, msqid: i32, msgp: UserAddr, msgsz: u64, msgtyp: i64, flags: i32) -> KResult<usize> {
    if msqid < 0 || (msgsz as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let bufsz = msgsz as usize;
    if flags & MSG_COPY != 0 {
        if flags & MSG_EXCEPT != 0 || flags & IPC_NOWAIT == 0 {
            return Err(Errno::EINVAL);
        }
        let mut probe = vec![0u8; bufsz.min(MSGMAX)];
        cur.read_bytes(msgp, &mut probe)?;
    }
    let search = Search::new(msgtyp, flags);
    let msg = receive(cur, msqid, bufsz, search, flags)?;
    cur.write_val(msgp, &msg.mtype)?;
    let n = msg.text.len().min(bufsz);
    cur.write_bytes(msgp.checked_add(8).ok_or(Errno::EFAULT)?, &msg.text[..n])?;
    Ok(n)
}

/// The waiting part of `msgrcv`: returns the message taken (or copied).
fn receive(cur: &mut Current, msqid: i32, bufsz: usize, search: Search, flags: i32) -> KResult<Msg> {
    let cred = cur.process().creds();
    let pid = cur.pid();
    let mut waiting_on: Option<Arc<Pollee>> = None;
    loop {
        let (pollee, slot) = {
            let mut ids = MSG.lock();
            if waiting_on.as_ref().is_some_and(|p| !same_queue(&ids, msqid, p)) {
                return Err(Errno::EIDRM);
            }
            let q = ids.get_mut(msqid)?;
            q.perm.check(&cred, S_IRUGO)?;
            if let Some(i) = search.find(&q.messages) {
                return take(q, i, bufsz, flags, pid);
            }
            if flags & IPC_NOWAIT != 0 {
                return Err(Errno::ENOMSG);
            }
            let slot = Arc::new(KMutex::new(None));
            let maxsize = if flags & MSG_NOERROR != 0 { i32::MAX as usize } else { bufsz };
            q.receivers.push(Receiver { pid, search, maxsize, slot: slot.clone() });
            (q.pollee.clone(), slot)
        };
        let waited = crate::sched::wait_until(cur, &[&pollee], PollEvents::POLLIN, None, |_| slot.lock().take());
        let got = match waited {
            Err(Errno::ERESTARTSYS) => {
                let mut ids = MSG.lock();
                let late = slot.lock().take();
                match late {
                    Some(r) => r,
                    None => {
                        if let Ok(q) = ids.get_mut(msqid) {
                            q.receivers.retain(|r| !Arc::ptr_eq(&r.slot, &slot));
                        }
                        return Err(Errno::ERESTARTNOHAND);
                    }
                }
            }
            r => r,
        };
        match got {
            Err(Errno::EAGAIN) => waiting_on = Some(pollee),
            r => return r,
        }
    }
}

/// Takes (or with `MSG_COPY` copies) message `i` for a receive of `bufsz` bytes.
fn take(q: &mut MsgQueue, i: usize, bufsz: usize, flags: i32, pid: u32) -> KResult<Msg> {
    let len = q.messages[i].text.len();
    if bufsz < len && flags & MSG_NOERROR == 0 {
        return Err(Errno::E2BIG);
    }
    if flags & MSG_COPY != 0 {
        if len > bufsz.min(MSGMAX) {
            return Err(Errno::EINVAL);
        }
        let m = &q.messages[i];
        return Ok(Msg { mtype: m.mtype, text: m.text.clone() });
    }
    let m = q.messages.remove(i).ok_or(Errno::ENOMSG)?;
    q.rtime = now_secs();
    q.lrpid = pid;
    q.cbytes -= len as u64;
    q.pollee.notify(PollEvents::POLLOUT);
    Ok(m)
}

/// `msgctl(2)`: `IPC_INFO`, `MSG_INFO`, `IPC_STAT`, `MSG_STAT`, `MSG_STAT_ANY`, `IPC_SET`
/// (raising `msg_qbytes` past `MSGMNB` needs root: `EPERM`), `IPC_RMID`.
pub fn msgctl(cur: &mut Current, msqid: i32, cmd: i32, buf: UserAddr) -> KResult<usize> {
    if msqid < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    let cred = cur.process().creds();
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (info, max) = info(cmd);
            cur.write_val(buf, &info)?;
            Ok(max.max(0) as usize)
        }
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            let (ds, ret) = {
                let ids = MSG.lock();
                let q = if cmd == IPC_STAT { ids.get(msqid)? } else { ids.by_index(msqid)? };
                if cmd != MSG_STAT_ANY {
                    q.perm.check(&cred, S_IRUGO)?;
                }
                (q.to_abi(), if cmd == IPC_STAT { 0 } else { q.perm.id as usize })
            };
            cur.write_val(buf, &ds)?;
            Ok(ret)
        }
        IPC_SET => {
            let ds: Msqid64Ds = cur.read_val(buf)?;
            set(&cred, msqid, &ds)
        }
        IPC_RMID => {
            let mut ids = MSG.lock();
            ids.get(msqid)?.perm.check_owner(&cred)?;
            if let Some(mut q) = ids.remove(msqid) {
                q.expunge_all(Errno::EIDRM);
                q.pollee.notify(PollEvents::all());
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `IPC_SET` (Linux's `msgctl_down`): sleeping receivers look again (stricter permissions may
/// exclude them) and sleeping senders too (the queue may be larger).
fn set(cred: &Credentials, msqid: i32, ds: &Msqid64Ds) -> KResult<usize> {
    let mut ids = MSG.lock();
    let q = ids.get_mut(msqid)?;
    q.perm.check_owner(cred)?;
    if ds.qbytes > MSGMNB && !cred.capable(fs::capability::cap::SYS_RESOURCE) {
        return Err(Errno::EPERM);
    }
    q.perm.update(&ds.perm)?;
    q.qbytes = ds.qbytes;
    q.ctime = now_secs();
    q.expunge_all(Errno::EAGAIN);
    q.pollee.notify(PollEvents::all());
    Ok(0)
}

/// `IPC_INFO`/`MSG_INFO` (Linux's `msgctl_info`) and the highest index in use.
fn info(cmd: i32) -> (MsgInfo, i32) {
    let ids = MSG.lock();
    let mut info = MsgInfo {
        msgpool: (MSGMNI as u64 * MSGMNB / 1024) as i32,
        msgmap: MSGMNB as i32,
        msgmax: MSGMAX as i32,
        msgmnb: MSGMNB as i32,
        msgmni: MSGMNI as i32,
        msgssz: 16,
        msgtql: MSGMNB as i32,
        msgseg: 0xffff,
        _pad: 0,
    };
    if cmd == MSG_INFO {
        info.msgpool = ids.in_use() as i32;
        info.msgmap = ids.iter().map(|q| q.messages.len() as i32).sum();
        info.msgtql = ids.iter().map(|q| q.cbytes as i32).sum();
    }
    (info, ids.max_idx())
}

/// The text of `/proc/sysvipc/msg` (Linux's `sysvipc_msg_proc_show`).
pub fn proc_text() -> String {
    let mut out = String::from("       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n");
    for q in MSG.lock().iter() {
        let p = &q.perm;
        out.push_str(&format!(
            "{}  {:>10} {:>10} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10}\n",
            proc_prefix(p),
            q.cbytes,
            q.messages.len(),
            q.lspid,
            q.lrpid,
            p.uid,
            p.gid,
            p.cuid,
            p.cgid,
            q.stime,
            q.rtime,
            q.ctime
        ));
    }
    out
}
