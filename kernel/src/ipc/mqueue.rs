//! POSIX message queues (Linux's `ipc/mqueue.c`): the `mqueue` filesystem, in which every
//! queue is a file, and `mq_open`, `mq_unlink`, `mq_timedsend`, `mq_timedreceive`,
//! `mq_notify`, `mq_getsetattr`.
//!
//! There is one instance of the filesystem (the IPC namespace's): `mq_open` and `mq_unlink`
//! work on it through an internal mount, and every `mount -t mqueue` shows the same queues.
//! Reading a queue file gives Linux's status line; its descriptor polls readable while
//! messages are queued and writable while there is room.
//!
//! Messages are kept by priority, highest first, in arrival order within one priority. A
//! sender finding a receiver asleep hands its message over directly, and a receiver taking
//! from a full queue moves the first sleeping sender's message in (Linux's `pipelined_send`/
//! `pipelined_receive`), so a sleeper's call has completed when the waker's returns.
//! Sleepers are woken through the queue's `Pollee`; timeouts are absolute `CLOCK_REALTIME`
//! times (`ETIMEDOUT`); signals restart the call under `SA_RESTART`.

use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytemuck::{Pod, Zeroable};
use fs::abi::{OpenFlags, S_IFDIR, S_IFREG};
use fs::cred::{check_sticky, generic_permission, MAY_EXEC, MAY_READ, MAY_WRITE};
use fs::inode::{DirEntry, DirVisitor};
use fs::klock::KMutex;
use fs::vfs::MountRequest;
use fs::{FdFlags, FileLike, FileSystem, FileType, Inode, InodeAttr, Mount, MountFlags, OpenFile, Path, PollEvents, Pollee, SetAttr, StatFs, Timespec};
use uapi::{Errno, KResult, UserAddr};

use crate::fs_glue::Fd;
use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::Process;

/// `f_type` of the mqueue filesystem (`MQUEUE_MAGIC`).
const MQUEUE_MAGIC: i64 = 0x1980_0202;
/// The size a queue file reports (`FILENT_SIZE`).
const FILENT_SIZE: u64 = 80;
/// What each entry adds to the directory's size (`DIRENT_SIZE`).
const DIRENT_SIZE: u64 = 20;
/// Priorities are below this (`MQ_PRIO_MAX`).
const MQ_PRIO_MAX: u32 = 32768;
/// Default and unprivileged maximum of messages (`mq_msg_default`, `mq_msg_max`).
const MSG_MAX: i64 = 10;
/// Default and unprivileged maximum message size (`mq_msgsize_default`, `mq_msgsize_max`).
const MSGSIZE_MAX: i64 = 8192;
/// Privileged maxima (`HARD_MSGMAX`, `HARD_MSGSIZEMAX`).
const HARD_MSGMAX: i64 = 65536;
const HARD_MSGSIZEMAX: i64 = 16 * 1024 * 1024;
/// Most queues for unprivileged users (`mq_queues_max`).
const QUEUES_MAX: usize = 256;
/// Bytes accounted per message and per priority level (`sizeof(struct msg_msg)`,
/// `sizeof(struct posix_msg_tree_node)`), as `RLIMIT_MSGQUEUE` counts them.
const MSG_OVERHEAD: u64 = 48;

/// `sigev_notify` values.
const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;

/// `struct mq_attr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct MqAttr {
    /// `O_NONBLOCK` or 0.
    pub flags: i64,
    /// Most messages.
    pub maxmsg: i64,
    /// Largest message.
    pub msgsize: i64,
    /// Messages queued now.
    pub curmsgs: i64,
    /// Reserved.
    pub _reserved: [i64; 4],
}

/// `struct sigevent` as `mq_notify` reads it.
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
struct SigEvent {
    value: u64,
    signo: i32,
    notify: i32,
    _rest: [i32; 12],
}

/// The length of a `SIGEV_THREAD` cookie (`NOTIFY_COOKIE_LEN`).
const NOTIFY_COOKIE_LEN: usize = 32;
/// What the cookie's last byte says when it is sent: a message came, or the registration went.
const NOTIFY_WOKENUP: u8 = 1;
const NOTIFY_REMOVED: u8 = 2;

/// How a registered process is told.
#[derive(Clone)]
enum How {
    /// `SIGEV_NONE`: it is not.
    Nothing,
    /// `SIGEV_SIGNAL`: signal `signo` with `value`.
    Signal { signo: i32, value: u64 },
    /// `SIGEV_THREAD`: the cookie is sent to its netlink socket (glibc's helper thread reads it
    /// there and starts the notification thread).
    Thread { sock: Arc<OpenFile>, cookie: [u8; NOTIFY_COOKIE_LEN] },
}

/// A registered `mq_notify`.
#[derive(Clone)]
struct Notify {
    pid: u32,
    how: How,
}

/// Tells a removed registration's `SIGEV_THREAD` helper it is gone (a `NOTIFY_REMOVED` cookie).
fn removed(n: Option<Notify>) {
    if let Some(n) = n {
        n.send_cookie(NOTIFY_REMOVED);
    }
}

impl Notify {
    /// The `sigev_notify` value it was registered with.
    fn kind(&self) -> i32 {
        match self.how {
            How::Nothing => SIGEV_NONE,
            How::Signal { .. } => SIGEV_SIGNAL,
            How::Thread { .. } => SIGEV_THREAD,
        }
    }

    /// Sends a `SIGEV_THREAD` cookie with `code` in its last byte (Linux's `set_cookie` and
    /// `netlink_sendskb`).
    fn send_cookie(&self, code: u8) {
        let How::Thread { sock, cookie } = &self.how else { return };
        let Some(nl) = crate::net::socket_of(sock).and_then(|s| s.ops().as_any().downcast_ref::<crate::net::netlink::NetlinkSocket>()) else { return };
        let mut c = *cookie;
        c[NOTIFY_COOKIE_LEN - 1] = code;
        nl.deliver(c.to_vec());
    }
}

/// A sleeping sender with its message.
struct Sender {
    prio: u32,
    text: Vec<u8>,
    done: Arc<KMutex<Option<KResult<()>>>>,
}

/// What a sleeping receiver is handed.
type Received = (u32, Vec<u8>);

/// A queue's contents and sleepers.
struct Queue {
    maxmsg: i64,
    msgsize: i64,
    /// Messages, highest priority first, FIFO within a priority.
    messages: VecDeque<(u32, Vec<u8>)>,
    qsize: u64,
    notify: Option<Notify>,
    senders: VecDeque<Sender>,
    receivers: VecDeque<Arc<KMutex<Option<KResult<Received>>>>>,
}

impl Queue {
    fn full(&self) -> bool {
        self.messages.len() as i64 >= self.maxmsg
    }

    /// Queues a message after those of the same or higher priority (`msg_insert`).
    fn insert(&mut self, prio: u32, text: Vec<u8>) {
        let at = self.messages.iter().position(|(p, _)| *p < prio).unwrap_or(self.messages.len());
        self.qsize += text.len() as u64;
        self.messages.insert(at, (prio, text));
    }

    /// Takes the first message of the highest priority (`msg_get`).
    fn take(&mut self) -> Option<Received> {
        let m = self.messages.pop_front()?;
        self.qsize -= m.1.len() as u64;
        Some(m)
    }

    /// The notification owner, if that process still lives (a dead owner's registration is
    /// gone, as its exit closed its descriptors).
    fn live_notify(&mut self) -> Option<&Notify> {
        let pid = self.notify.as_ref()?.pid;
        if kernel().process(pid).is_none_or(|p| p.is_zombie()) {
            self.notify = None;
        }
        self.notify.as_ref()
    }

    /// Takes the registration of process `pid`, if it is the one (Linux's
    /// `remove_notification`); the caller tells a `SIGEV_THREAD` helper with `removed` once
    /// the queue is unlocked.
    fn take_notify_of(&mut self, pid: u32) -> Option<Notify> {
        if self.notify.as_ref().is_some_and(|n| n.pid == pid) {
            self.notify.take()
        } else {
            None
        }
    }

    fn events(&self) -> PollEvents {
        let mut e = PollEvents::empty();
        if !self.messages.is_empty() {
            e |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
        }
        if !self.full() {
            e |= PollEvents::POLLOUT | PollEvents::POLLWRNORM;
        }
        e
    }
}

/// Owner, mode and times of an mqueue inode.
#[derive(Clone, Copy, Debug)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
}

impl Meta {
    fn new(mode: u32, uid: u32, gid: u32) -> Meta {
        let t = fs::time::now();
        Meta { mode, uid, gid, atime: t, mtime: t, ctime: t }
    }

    fn set(&mut self, a: &SetAttr) {
        if let Some(m) = a.mode {
            self.mode = (self.mode & fs::abi::S_IFMT) | (m & 0o7777);
        }
        self.uid = a.uid.unwrap_or(self.uid);
        self.gid = a.gid.unwrap_or(self.gid);
        self.atime = a.atime.unwrap_or(self.atime);
        self.mtime = a.mtime.unwrap_or(self.mtime);
        self.ctime = a.ctime.unwrap_or(self.ctime);
    }

    fn touch(&mut self) {
        let t = fs::time::now();
        (self.atime, self.mtime, self.ctime) = (t, t, t);
    }
}

/// The mqueue filesystem (Linux's per-IPC-namespace mqueue superblock).
pub struct MqueueFs {
    me: Weak<MqueueFs>,
    dev: u64,
    dir: KMutex<Meta>,
    entries: KMutex<BTreeMap<Vec<u8>, Arc<MqInode>>>,
    next_ino: AtomicU64,
    /// Bytes of queues charged to each user against `RLIMIT_MSGQUEUE`, and the queue count.
    usage: KMutex<(BTreeMap<u32, u64>, usize)>,
}

/// The one instance.
fn mqueue_fs() -> &'static Arc<MqueueFs> {
    static FS: OnceLock<Arc<MqueueFs>> = OnceLock::new();
    FS.get_or_init(|| {
        Arc::new_cyclic(|me| MqueueFs {
            me: me.clone(),
            dev: fs::inode::alloc_anon_dev(),
            dir: KMutex::new(Meta::new(S_IFDIR | 0o1777, 0, 0)),
            entries: KMutex::new(BTreeMap::new()),
            next_ino: AtomicU64::new(2),
            usage: KMutex::new((BTreeMap::new(), 0)),
        })
    })
}

/// The internal mount `mq_open` and `mq_unlink` use (Linux's `ipc_ns->mq_mnt`).
fn mq_mount() -> &'static Arc<Mount> {
    static MNT: OnceLock<Arc<Mount>> = OnceLock::new();
    MNT.get_or_init(|| {
        let fs: Arc<dyn FileSystem> = mqueue_fs().clone();
        let root = fs::Dentry::new_root(fs.root());
        Mount::new(fs, root, b"mqueue", MountFlags::empty())
    })
}

/// Registers the `mqueue` filesystem type (`mount -t mqueue none /dev/mqueue`): every mount
/// shows the one instance.
pub fn register(vfs: &fs::Vfs) {
    vfs.register_fs_type("mqueue", true, Arc::new(|_: &MountRequest<'_>| Ok(mqueue_fs().clone() as Arc<dyn FileSystem>)));
}

/// The process running now, for operations the VFS calls without a caller (creating a queue
/// with `open(O_CREAT)` in a mounted mqueue directory).
fn caller() -> Option<Arc<Process>> {
    let k = kernel();
    let tid = k.running_tid.load(Ordering::Relaxed);
    k.task(tid).map(|t| t.process.clone())
}

impl MqueueFs {
    fn dir_attr(&self) -> InodeAttr {
        let m = *self.dir.lock();
        let size = self.entries.lock().len() as u64 * DIRENT_SIZE;
        InodeAttr { ino: 1, mode: m.mode, nlink: 2, uid: m.uid, gid: m.gid, size, blksize: 4096, atime: m.atime, mtime: m.mtime, ctime: m.ctime, ..InodeAttr::default() }
    }

    /// Creates queue `name` (Linux's `mqueue_create_attr` + `mqueue_get_inode`): `ENOSPC`
    /// past `QUEUES_MAX` queues and `EINVAL` for attributes outside the limits (the hard ones
    /// for root), `EOVERFLOW` for an impossible size, `EMFILE` past the creator's
    /// `RLIMIT_MSGQUEUE`.
    fn create_queue(&self, name: &[u8], mode: u32, uid: u32, gid: u32, attr: Option<MqAttr>) -> KResult<Arc<MqInode>> {
        let caller = caller();
        let cred = caller.as_ref().map(|p| p.creds()).unwrap_or_default();
        let privileged = cred.capable(fs::capability::cap::SYS_RESOURCE);
        let (maxmsg, msgsize) = attr.map_or((MSG_MAX, MSGSIZE_MAX), |a| (a.maxmsg, a.msgsize));
        let mut usage = self.usage.lock();
        if usage.1 >= QUEUES_MAX && !privileged {
            return Err(Errno::ENOSPC);
        }
        if maxmsg <= 0 || msgsize <= 0 {
            return Err(Errno::EINVAL);
        }
        let (max_msgs, max_size) = if privileged { (HARD_MSGMAX, HARD_MSGSIZEMAX) } else { (MSG_MAX, MSGSIZE_MAX) };
        if maxmsg > max_msgs || msgsize > max_size {
            return Err(Errno::EINVAL);
        }
        let (maxmsg_u, msgsize_u) = (maxmsg as u64, msgsize as u64);
        let overhead = maxmsg_u * MSG_OVERHEAD + maxmsg_u.min(u64::from(MQ_PRIO_MAX)) * MSG_OVERHEAD;
        let bytes = maxmsg_u.checked_mul(msgsize_u).and_then(|b| b.checked_add(overhead)).ok_or(Errno::EOVERFLOW)?;
        let limit = caller.as_ref().map_or(u64::MAX, |p| p.rlimit_cur(uapi::flags::RLIMIT_MSGQUEUE));
        let charged = usage.0.get(&cred.uid).copied().unwrap_or(0);
        if charged.checked_add(bytes).is_none_or(|t| t > limit) {
            return Err(Errno::EMFILE);
        }
        *usage.0.entry(cred.uid).or_default() += bytes;
        usage.1 += 1;
        drop(usage);
        let q = Arc::new_cyclic(|me| MqInode {
            me: me.clone(),
            fs: self.me.clone(),
            ino: self.next_ino.fetch_add(1, Ordering::Relaxed),
            meta: KMutex::new(Meta::new(S_IFREG | (mode & 0o7777), uid, gid)),
            queue: KMutex::new(Queue {
                maxmsg,
                msgsize,
                messages: VecDeque::new(),
                qsize: 0,
                notify: None,
                senders: VecDeque::new(),
                receivers: VecDeque::new(),
            }),
            pollee: Pollee::new(PollEvents::POLLOUT | PollEvents::POLLWRNORM),
            charge: (cred.uid, bytes),
        });
        self.entries.lock().insert(name.to_vec(), q.clone());
        self.dir.lock().touch();
        Ok(q)
    }

    fn lookup(&self, name: &[u8]) -> Option<Arc<MqInode>> {
        self.entries.lock().get(name).cloned()
    }

    fn remove(&self, name: &[u8]) -> KResult<()> {
        self.entries.lock().remove(name).ok_or(Errno::ENOENT)?;
        self.dir.lock().touch();
        Ok(())
    }
}

impl FileSystem for MqueueFs {
    fn name(&self) -> &'static str {
        "mqueue"
    }
    fn root(&self) -> Arc<dyn Inode> {
        Arc::new(MqDir { fs: self.me.clone() })
    }
    fn statfs(&self) -> KResult<StatFs> {
        Ok(StatFs { fs_type: MQUEUE_MAGIC, bsize: 4096, namelen: 255, frsize: 4096, fsid: self.dev, ..StatFs::default() })
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    /// Queues come and go through `mq_open`/`mq_unlink` behind the mounts' dentry caches.
    fn revalidate(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The mqueue root directory.
struct MqDir {
    fs: Weak<MqueueFs>,
}

impl MqDir {
    fn fs(&self) -> KResult<Arc<MqueueFs>> {
        self.fs.upgrade().ok_or(Errno::ENOENT)
    }
}

impl Inode for MqDir {
    fn attr(&self) -> KResult<InodeAttr> {
        Ok(self.fs()?.dir_attr())
    }
    fn fs(&self) -> Option<Arc<dyn FileSystem>> {
        self.fs.upgrade().map(|f| f as Arc<dyn FileSystem>)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        if name.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        self.fs()?.lookup(name).map(|q| q as Arc<dyn Inode>).ok_or(Errno::ENOENT)
    }
    fn readdir(&self, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        let fs = self.fs()?;
        let entries: Vec<(Vec<u8>, u64)> = fs.entries.lock().iter().map(|(n, q)| (n.clone(), q.ino)).collect();
        let fixed = [(&b"."[..], 1u64), (&b".."[..], 1u64)];
        let all = fixed.iter().map(|(n, i)| (n.to_vec(), *i, FileType::Directory)).chain(entries.into_iter().map(|(n, i)| (n, i, FileType::Regular)));
        for (k, (name, ino, file_type)) in all.enumerate().skip(pos as usize) {
            if !visitor(&DirEntry { name: &name, ino, file_type, next_pos: k as u64 + 1 }) {
                break;
            }
        }
        Ok(())
    }
    /// `open(O_CREAT)` in a mounted mqueue directory creates a queue with the default
    /// attributes (Linux's `mqueue_create`).
    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        Ok(self.fs()?.create_queue(name, mode, uid, gid, None)? as Arc<dyn Inode>)
    }
    fn unlink(&self, name: &[u8]) -> KResult<()> {
        self.fs()?.remove(name)
    }
    /// Queues only: no directories, device nodes, links or renames (the VFS's `EPERM` for a
    /// directory without those operations).
    fn mkdir(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::EPERM)
    }
    fn mknod(&self, _name: &[u8], _mode: u32, _rdev: u64, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::EPERM)
    }
    fn symlink(&self, _name: &[u8], _target: &[u8], _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::EPERM)
    }
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> KResult<()> {
        Err(Errno::EPERM)
    }
    fn rename(&self, _old: &[u8], _new_dir: &Arc<dyn Inode>, _new: &[u8], _flags: fs::RenameFlags) -> KResult<()> {
        Err(Errno::EPERM)
    }
    fn rmdir(&self, _name: &[u8]) -> KResult<()> {
        Err(Errno::EPERM)
    }
    fn set_attr(&self, attr: &SetAttr) -> KResult<()> {
        self.fs()?.dir.lock().set(attr);
        Ok(())
    }
}

/// A queue: an mqueue file.
pub struct MqInode {
    me: Weak<MqInode>,
    fs: Weak<MqueueFs>,
    ino: u64,
    meta: KMutex<Meta>,
    queue: KMutex<Queue>,
    pollee: Pollee,
    /// The user charged for it and how much.
    charge: (u32, u64),
}

impl Drop for MqInode {
    /// The queue is gone (unlinked and closed): its bytes are given back to its creator.
    fn drop(&mut self) {
        let Some(fs) = self.fs.upgrade() else { return };
        let mut usage = fs.usage.lock();
        if let Some(c) = usage.0.get_mut(&self.charge.0) {
            *c = c.saturating_sub(self.charge.1);
        }
        usage.1 = usage.1.saturating_sub(1);
    }
}

impl MqInode {
    /// Publishes the queue's readiness and wakes its pollers and sleepers after a change (with
    /// the queue unlocked, so a waker may call back into it, as pipes do).
    fn publish(&self) {
        let new = self.queue.lock().events();
        let old = self.pollee.events();
        self.pollee.del_events(old - new);
        self.pollee.add_events(new - old);
        self.pollee.notify(PollEvents::all());
    }

    /// The status line reading the file gives (Linux's `mqueue_read_file`).
    fn status(&self) -> String {
        let mut q = self.queue.lock();
        let n = q.live_notify();
        let kind = n.map_or(0, Notify::kind);
        let signo = match n.map(|n| &n.how) {
            Some(How::Signal { signo, .. }) => *signo,
            _ => 0,
        };
        let pid = n.map_or(0, |n| n.pid);
        format!("QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n", q.qsize, kind, signo, pid)
    }
}

impl Inode for MqInode {
    fn attr(&self) -> KResult<InodeAttr> {
        let m = *self.meta.lock();
        Ok(InodeAttr { ino: self.ino, mode: m.mode, nlink: 1, uid: m.uid, gid: m.gid, size: FILENT_SIZE, blksize: 4096, atime: m.atime, mtime: m.mtime, ctime: m.ctime, ..InodeAttr::default() })
    }
    fn fs(&self) -> Option<Arc<dyn FileSystem>> {
        self.fs.upgrade().map(|f| f as Arc<dyn FileSystem>)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn set_attr(&self, attr: &SetAttr) -> KResult<()> {
        self.meta.lock().set(attr);
        Ok(())
    }
    fn open(&self, _flags: OpenFlags) -> KResult<Option<Arc<dyn FileLike>>> {
        let me = self.me.upgrade().ok_or(Errno::ENOENT)?;
        Ok(Some(Arc::new(MqFile { queue: me })))
    }
}

/// An open queue.
pub struct MqFile {
    queue: Arc<MqInode>,
}

impl FileLike for MqFile {
    fn read(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        let text = self.queue.status();
        let Some(src) = usize::try_from(offset).ok().and_then(|o| text.as_bytes().get(o..)) else { return Ok(0) };
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        if n > 0 {
            let t = fs::time::now();
            let mut m = self.queue.meta.lock();
            (m.atime, m.ctime) = (t, t);
        }
        Ok(n)
    }
    fn write(&self, _data: &[u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EINVAL)
    }
    fn poll(&self) -> PollEvents {
        self.queue.queue.lock().events()
    }
    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.queue.pollee)
    }
    fn seekable(&self) -> bool {
        true
    }
    fn size(&self) -> u64 {
        FILENT_SIZE
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for MqFile {
    /// Closing the queue drops the closer's notification (Linux's `mqueue_flush_file`).
    fn drop(&mut self) {
        let Some(p) = caller() else { return };
        let gone = self.queue.queue.lock().take_notify_of(p.pid);
        removed(gone);
    }
}

/// A queue name as `mq_open`/`mq_unlink` take it (glibc strips the leading `/`): `getname`'s
/// `EFAULT`/`ENOENT` (empty)/`ENAMETOOLONG`, then `EACCES` for `.`, `..` or a `/`, and
/// `ENAMETOOLONG` past `NAME_MAX`.
fn read_name(cur: &mut Current, addr: UserAddr) -> KResult<Vec<u8>> {
    let name = cur.read_path(addr)?;
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EACCES);
    }
    if name.len() > 255 {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(name)
}

/// The permission mask an open asks for (Linux's `oflag2acc`).
fn acc_of(oflag: u32) -> u32 {
    match oflag & fs::abi::O_ACCMODE {
        0 => MAY_READ,
        1 => MAY_WRITE,
        _ => MAY_READ | MAY_WRITE,
    }
}

/// `mq_open(2)`: opens queue `name` (creating it with `O_CREAT`, with `attr` or the defaults,
/// permission bits `mode` less the umask), always close-on-exec. Linux's `prepare_open`
/// errors: `ENOENT` without `O_CREAT`, `EEXIST` with `O_EXCL`, `EINVAL` for access mode 3,
/// `EACCES` without permission; and the creation errors of [`MqueueFs::create_queue`].
pub fn mq_open(cur: &mut Current, name: UserAddr, oflag: u32, mode: u32, attr: UserAddr) -> KResult<usize> {
    let attr: Option<MqAttr> = if attr.is_null() { None } else { Some(cur.read_val(attr)?) };
    let name = read_name(cur, name)?;
    let fs = mqueue_fs();
    let cred = cur.process().creds();
    let flags = OpenFlags::from_bits_truncate(oflag);
    let inode = match fs.lookup(&name) {
        None => {
            if !flags.contains(OpenFlags::CREAT) {
                return Err(Errno::ENOENT);
            }
            generic_permission(&cred, &fs.dir_attr(), MAY_WRITE | MAY_EXEC)?;
            let umask = cur.process().fs().lock().umask;
            fs.create_queue(&name, mode & !umask, cred.fsuid, cred.fsgid, attr)?
        }
        Some(q) => {
            if flags.contains(OpenFlags::CREAT | OpenFlags::EXCL) {
                return Err(Errno::EEXIST);
            }
            if oflag & fs::abi::O_ACCMODE == fs::abi::O_ACCMODE {
                return Err(Errno::EINVAL);
            }
            generic_permission(&cred, &q.attr()?, acc_of(oflag))?;
            q
        }
    };
    let mnt = mq_mount();
    let dentry = mnt.root().lookup_child(&name, true)?;
    let path = Path { mount: mnt.clone(), dentry };
    let file = OpenFile::new_opened(path, Some(Arc::new(MqFile { queue: inode })), flags);
    let fd = cur.process().files().lock().alloc(file, FdFlags::CLOEXEC)?;
    Ok(fd as usize)
}

/// `mq_unlink(2)`: removes the name; the queue lives on while open. `ENOENT` if there is no
/// such queue, `EACCES` if the caller owns neither it nor the directory.
pub fn mq_unlink(cur: &mut Current, name: UserAddr) -> KResult<usize> {
    let name = read_name(cur, name)?;
    let fs = mqueue_fs();
    let q = fs.lookup(&name).ok_or(Errno::ENOENT)?;
    let cred = cur.process().creds();
    let dir = fs.dir_attr();
    generic_permission(&cred, &dir, MAY_WRITE | MAY_EXEC)?;
    // Linux refuses with EACCES here where unlink(2) in a mounted mqueue directory says EPERM.
    check_sticky(&cred, &dir, &q.attr()?).map_err(|_| Errno::EACCES)?;
    fs.remove(&name)?;
    Ok(0)
}

/// The queue behind `fd` and its open file (`EBADF` for anything but a queue).
fn queue_of(cur: &Current, fd: i32) -> KResult<(Arc<OpenFile>, Arc<MqInode>)> {
    let file = crate::fs_glue::file(cur, Fd(fd))?;
    let q = file.file_like().and_then(|f| f.as_any().downcast_ref::<MqFile>()).map(|f| f.queue.clone()).ok_or(Errno::EBADF)?;
    Ok((file, q))
}

/// An absolute `CLOCK_REALTIME` timeout (`prepare_timeout`: `EFAULT`, `EINVAL` for a negative
/// or unnormalized time) as a deadline; `None` without one.
fn deadline(cur: &mut Current, addr: UserAddr) -> KResult<Option<Instant>> {
    if addr.is_null() {
        return Ok(None);
    }
    let ts: uapi::structs::Timespec = cur.read_val(addr)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    let abs = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
    let left = abs - crate::timers::clock::realtime_now();
    let now = Instant::now();
    // A deadline too far to represent is no deadline.
    Ok(now.checked_add(Duration::from_nanos(u64::try_from(left.max(0)).unwrap_or(u64::MAX))))
}

/// Sleeps until `slot` is filled, then returns what it holds; on a signal or the deadline,
/// leaves the queue's sleepers through `leave` unless the slot was filled meanwhile.
fn sleep_on<T>(cur: &mut Current, q: &MqInode, when: Option<Instant>, slot: &Arc<KMutex<Option<KResult<T>>>>, leave: impl FnOnce(&mut Queue)) -> KResult<T> {
    match crate::sched::wait_until(cur, &[&q.pollee], PollEvents::all(), when, |_| slot.lock().take()) {
        Err(e @ (Errno::ERESTARTSYS | Errno::ETIMEDOUT)) => {
            let mut queue = q.queue.lock();
            let late = slot.lock().take();
            match late {
                Some(r) => r,
                None => {
                    leave(&mut queue);
                    Err(e)
                }
            }
        }
        r => r,
    }
}

/// `mq_timedsend(2)`: queues `len` bytes at `msg` with priority `prio`, waiting (until the
/// absolute `timeout`) while the queue is full unless the descriptor is non-blocking
/// (`EAGAIN`). Linux's errors: `EINVAL` for a priority of `MQ_PRIO_MAX` or more or a bad
/// timeout, `EBADF` for a descriptor that is no queue open for writing, `EMSGSIZE` beyond the
/// queue's message size, `EFAULT`, `ETIMEDOUT`, `EINTR`.
pub fn mq_timedsend(cur: &mut Current, fd: i32, msg: UserAddr, len: u64, prio: u32, timeout: UserAddr) -> KResult<usize> {
    if prio >= MQ_PRIO_MAX {
        return Err(Errno::EINVAL);
    }
    let when = deadline(cur, timeout)?;
    let (file, inode) = queue_of(cur, fd)?;
    if !file.flags().can_write() {
        return Err(Errno::EBADF);
    }
    let msgsize = inode.queue.lock().msgsize;
    if len > msgsize as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut text = vec![0u8; len as usize];
    cur.read_bytes(msg, &mut text)?;
    let done = {
        let mut q = inode.queue.lock();
        if q.full() {
            if file.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            let done = Arc::new(KMutex::new(None));
            q.senders.push_back(Sender { prio, text, done: done.clone() });
            done
        } else {
            let due = send_now(&inode, &mut q, prio, text);
            drop(q);
            if let Some(n) = due {
                notify(cur, n);
            }
            inode.publish();
            return Ok(0);
        }
    };
    sleep_on(cur, &inode, when, &done, |q| q.senders.retain(|s| !Arc::ptr_eq(&s.done, &done))).map(|()| 0)
}

/// Delivers a message to a queue with room: to the first sleeping receiver, else into the
/// queue. Returns the registration to notify when the queue was empty (Linux's `__do_notify`),
/// which the caller sends once the queue is unlocked; it is gone from the queue.
fn send_now(inode: &MqInode, q: &mut Queue, prio: u32, text: Vec<u8>) -> Option<Notify> {
    let mut due = None;
    if let Some(r) = q.receivers.pop_front() {
        *r.lock() = Some(Ok((prio, text)));
    } else {
        q.insert(prio, text);
        if q.messages.len() == 1 {
            q.live_notify();
            due = q.notify.take();
        }
    }
    inode.meta.lock().touch();
    due
}

/// Sends a notification that came due: the signal (from the sender, `SI_MESGQ`) or the
/// `SIGEV_THREAD` cookie.
fn notify(cur: &Current, n: Notify) {
    match n.how {
        How::Signal { signo, value } if signo != 0 => {
            let Some(p) = kernel().process(n.pid) else { return };
            let uid = cur.process().creds().uid;
            let info = uapi::signal::SigInfo::rt(signo as u32, uapi::signal::SI_MESGQ, cur.pid() as i32, uid, value);
            crate::signal::send_to_process(&p, signo as u32, info);
        }
        How::Thread { .. } => n.send_cookie(NOTIFY_WOKENUP),
        _ => {}
    }
}

/// `mq_timedreceive(2)`: takes the oldest message of the highest priority into `msg`
/// (`len` must hold the queue's message size: `EMSGSIZE`), storing its priority at `prio` if
/// given; waits (until the absolute `timeout`) while the queue is empty unless non-blocking
/// (`EAGAIN`). Returns the message length.
pub fn mq_timedreceive(cur: &mut Current, fd: i32, msg: UserAddr, len: u64, prio: UserAddr, timeout: UserAddr) -> KResult<usize> {
    let when = deadline(cur, timeout)?;
    let (file, inode) = queue_of(cur, fd)?;
    if !file.flags().can_read() {
        return Err(Errno::EBADF);
    }
    let (p, text) = {
        let mut q = inode.queue.lock();
        if len < q.msgsize as u64 {
            return Err(Errno::EMSGSIZE);
        }
        match q.take() {
            Some(m) => {
                // Room now: the first sleeping sender's message moves in.
                if let Some(s) = q.senders.pop_front() {
                    q.insert(s.prio, s.text);
                    *s.done.lock() = Some(Ok(()));
                }
                inode.meta.lock().touch();
                m
            }
            None if file.nonblocking() => return Err(Errno::EAGAIN),
            None => {
                let slot = Arc::new(KMutex::new(None));
                q.receivers.push_back(slot.clone());
                drop(q);
                sleep_on(cur, &inode, when, &slot, |q| q.receivers.retain(|r| !Arc::ptr_eq(r, &slot)))?
            }
        }
    };
    inode.publish();
    if !prio.is_null() {
        cur.write_val(prio, &p)?;
    }
    cur.write_bytes(msg, &text)?;
    Ok(text.len())
}

/// `mq_notify(2)`: registers the caller for one notification when a message arrives in the
/// empty queue (`SIGEV_SIGNAL` sends `signo` with `SI_MESGQ`; `SIGEV_THREAD` sends the 32-byte
/// cookie at `sigev_value` to the netlink socket `sigev_signo`, as glibc's helper expects;
/// `SIGEV_NONE` only registers); a null `sevp` unregisters the caller. `EINVAL` for an unknown
/// kind or signal (or a socket that is no netlink socket), `ENOTSOCK`, `EBADF`, `EBUSY` if
/// another process is registered.
pub fn mq_notify(cur: &mut Current, fd: i32, sevp: UserAddr) -> KResult<usize> {
    let ev: Option<SigEvent> = if sevp.is_null() { None } else { Some(cur.read_val(sevp)?) };
    let how = match ev {
        None => None,
        Some(ev) => Some(match ev.notify {
            SIGEV_NONE => How::Nothing,
            SIGEV_SIGNAL if (0..=uapi::signal::NSIG as i32).contains(&ev.signo) => How::Signal { signo: ev.signo, value: ev.value },
            SIGEV_THREAD => {
                let mut cookie = [0u8; NOTIFY_COOKIE_LEN];
                cur.read_bytes(UserAddr(ev.value), &mut cookie)?;
                How::Thread { sock: netlink_socket(cur, ev.signo)?, cookie }
            }
            _ => return Err(Errno::EINVAL),
        }),
    };
    let (_, inode) = queue_of(cur, fd)?;
    let pid = cur.pid();
    let gone = {
        let mut q = inode.queue.lock();
        match how {
            None => q.take_notify_of(pid),
            Some(_) if q.live_notify().is_some() => return Err(Errno::EBUSY),
            Some(how) => {
                q.notify = Some(Notify { pid, how });
                None
            }
        }
    };
    removed(gone);
    let t = fs::time::now();
    let mut m = inode.meta.lock();
    (m.atime, m.ctime) = (t, t);
    Ok(0)
}

/// The netlink socket open at `fd` (Linux's `netlink_getsockbyfd`): `EBADF`, `ENOTSOCK` for
/// another file, `EINVAL` for another kind of socket.
fn netlink_socket(cur: &Current, fd: i32) -> KResult<Arc<OpenFile>> {
    let file = crate::fs_glue::file(cur, Fd(fd))?;
    let sock = crate::net::socket_of(&file).ok_or(Errno::ENOTSOCK)?;
    if sock.ops().as_any().downcast_ref::<crate::net::netlink::NetlinkSocket>().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(file)
}

/// `mq_getsetattr(2)`: stores the attributes (with the descriptor's `O_NONBLOCK`) at `old` and
/// sets `O_NONBLOCK` from `new`; `EINVAL` for other flags in `new`, `EBADF`.
pub fn mq_getsetattr(cur: &mut Current, fd: i32, new: UserAddr, old: UserAddr) -> KResult<usize> {
    let nonblock = OpenFlags::NONBLOCK.bits() as i64;
    let new: Option<MqAttr> = if new.is_null() { None } else { Some(cur.read_val(new)?) };
    if new.is_some_and(|n| n.flags & !nonblock != 0) {
        return Err(Errno::EINVAL);
    }
    let (file, inode) = queue_of(cur, fd)?;
    let attr = {
        let q = inode.queue.lock();
        MqAttr { flags: if file.nonblocking() { nonblock } else { 0 }, maxmsg: q.maxmsg, msgsize: q.msgsize, curmsgs: q.messages.len() as i64, _reserved: [0; 4] }
    };
    if let Some(n) = new {
        let mut f = file.flags();
        f.set(OpenFlags::NONBLOCK, n.flags & nonblock != 0);
        file.set_status_flags(f);
        let t = fs::time::now();
        let mut m = inode.meta.lock();
        (m.atime, m.ctime) = (t, t);
    }
    if !old.is_null() {
        cur.write_val(old, &attr)?;
    }
    Ok(0)
}
