//! Sockets (Linux's `net/socket.c` and the generic half of `net/core/sock.c`): the family
//! table `socket(2)` dispatches through, the [`Socket`] every socket fd holds, the
//! socket-level options (`SOL_SOCKET`) shared by all families, and [`TaskCaller`], the
//! [`SockTask`] a socket operation runs with.
//!
//! A family implements [`ProtoOps`] (Linux's `proto_ops`); the syscalls in `syscall::net`
//! decode arguments in Linux's order and call through a [`Socket`]. Sockets are ordinary
//! [`FileLike`]s: `read`/`write`/`readv`/`writev` reach them through `fileio`, which hands
//! socket files to [`read`]/[`write`] here (a socket read is a `recvmsg` without flags, a write a
//! `sendmsg` without flags), and `poll` sees their readiness through their `Pollee`.
//!
//! # Families
//! [`FAMILIES`] is the one table: `AF_UNIX` (in `unix`) and `AF_NETLINK` (in `netlink`:
//! `NETLINK_ROUTE` answered by `rtnetlink`, every other protocol `EPROTONOSUPPORT`), `AF_INET`
//! and `AF_INET6` (in `inet`: TCP and UDP without packets). A family umbra lacks is `EAFNOSUPPORT`, after the range checks Linux's `__sock_create`
//! makes first (a family beyond `AF_MAX` is `EAFNOSUPPORT`, a type beyond `SOCK_MAX` `EINVAL`).
//!
//! # Options
//! `SOL_SOCKET` options are those of `sk_setsockopt`/`sk_getsockopt` that mean something
//! without a network device or BPF: buffers, timeouts, credentials, the flags Linux only
//! stores, `SO_TIMESTAMP*` (with the receive timestamp control message), `SO_PEERNAME`,
//! `SO_PEERGROUPS`, `SO_COOKIE`, `SO_MEMINFO`. Not supported (`ENOPROTOOPT`): `SO_PEEK_OFF`,
//! `SO_TIMESTAMPING`, BPF filters (`SO_ATTACH_FILTER` is `EINVAL`), `SO_TXTIME`,
//! `SO_NETNS_COOKIE`, `SO_PASSPIDFD`/`SO_PEERPIDFD`, `SO_PEERSEC`; a device name other than
//! "" is `ENODEV`. Other levels are `EOPNOTSUPP` (unix sockets have none).
//!
//! # Timeouts
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` are kept in jiffies of `CONFIG_HZ` = 250 as Linux keeps them, so
//! `getsockopt` reads back the rounded value Linux shows; 0 jiffies means "never wait" (a
//! negative timeout) and `MAX_TIMEO` "wait forever" (a zero timeout, the default).

pub mod inet;
pub mod netlink;
pub mod rtnetlink;
pub mod unix;

use crate::sched::{wait_until, Current};
use crate::task::kernel::kernel;
use fs::{FileLike, InodeAttr, OpenFile, Path, PollEvents, Pollee, RecvMsg, SendMsg, SockTask, UserMemory};
use std::any::Any;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use uapi::flags::OpenFlags;
use uapi::net::{self as n, MsgFlags, UCred};
use uapi::{Errno, KResult};

/// `net.core.wmem_default`/`rmem_default`: a new socket's buffer sizes.
pub const DEFAULT_BUF: i32 = 212_992;
/// `net.core.wmem_max`/`rmem_max` (Linux's defaults): `SO_SNDBUF`/`SO_RCVBUF` are capped here.
pub const MAX_BUF: i32 = 212_992;
/// `SOCK_MIN_SNDBUF`: twice the smallest skb's truesize.
pub const MIN_SNDBUF: i32 = 4608;
/// `SOCK_MIN_RCVBUF`: the smallest skb's truesize.
pub const MIN_RCVBUF: i32 = 2304;
/// `CONFIG_HZ`: socket timeouts count jiffies of this rate.
pub const HZ: u64 = 250;
/// `MAX_SCHEDULE_TIMEOUT`: a timeout of this many jiffies never expires.
pub const MAX_TIMEO: u64 = i64::MAX as u64;
/// `net.core.optmem_max`: the largest control buffer `sendmsg` accepts (`ENOBUFS` above).
pub const OPTMEM_MAX: usize = 131_072;

// ---------------------------------------------------------------------------------------------
// The socket-level state every family shares

/// Boolean `SOL_SOCKET` options, one bit each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockFlag {
    /// `SO_DEBUG`.
    Debug = 0,
    /// `SO_REUSEADDR`.
    ReuseAddr,
    /// `SO_KEEPALIVE`.
    KeepAlive,
    /// `SO_DONTROUTE`.
    DontRoute,
    /// `SO_BROADCAST`.
    Broadcast,
    /// `SO_OOBINLINE`.
    OobInline,
    /// `SO_NO_CHECK`.
    NoCheck,
    /// `SO_PASSCRED`: receive `SCM_CREDENTIALS`.
    PassCred,
    /// `SO_PASSSEC`: receive `SCM_SECURITY` (accepted; umbra has no security labels).
    PassSec,
    /// `SO_LINGER` is on.
    Linger,
    /// `SOCK_RCVTSTAMP`: `SO_TIMESTAMP*` asked for receive timestamps.
    RcvTstamp,
    /// `SOCK_RCVTSTAMPNS`: in nanoseconds.
    RcvTstampNs,
    /// `SOCK_TSTAMP_NEW`: the `_NEW` (y2038) form.
    TstampNew,
    /// `SO_RXQ_OVFL`.
    RxqOvfl,
    /// `SO_WIFI_STATUS`.
    WifiStatus,
    /// `SO_NOFCS`.
    NoFcs,
    /// `SO_LOCK_FILTER`.
    LockFilter,
    /// `SO_SELECT_ERR_QUEUE`.
    SelectErrQueue,
    /// `SO_PREFER_BUSY_POLL`.
    PreferBusyPoll,
    /// `SO_RCVMARK`.
    RcvMark,
    /// `SOCK_SNDBUF_LOCK`: `SO_SNDBUF` was set (`SO_BUF_LOCK` bit 0).
    SndbufLock,
    /// `SOCK_RCVBUF_LOCK`: `SO_RCVBUF` was set (bit 1).
    RcvbufLock,
    /// `SO_REUSEPORT` (internet sockets only).
    ReusePort,
}

/// The generic part of a socket (the fields of Linux's `struct sock` that `sock_setsockopt`
/// manages): buffer sizes, timeouts, flags. Atomics, so a peer can read them without locks.
pub struct SockCommon {
    sndbuf: AtomicI32,
    rcvbuf: AtomicI32,
    rcvlowat: AtomicI32,
    rcvtimeo: AtomicU64,
    sndtimeo: AtomicU64,
    flags: AtomicU32,
    priority: AtomicU32,
    mark: AtomicU32,
    linger_secs: AtomicI32,
    busy_poll: AtomicI32,
    busy_poll_budget: AtomicI32,
    incoming_cpu: AtomicI32,
    pacing_rate: AtomicU64,
    cookie: AtomicU64,
}

impl Default for SockCommon {
    fn default() -> Self {
        SockCommon {
            sndbuf: AtomicI32::new(DEFAULT_BUF),
            rcvbuf: AtomicI32::new(DEFAULT_BUF),
            rcvlowat: AtomicI32::new(1),
            rcvtimeo: AtomicU64::new(MAX_TIMEO),
            sndtimeo: AtomicU64::new(MAX_TIMEO),
            flags: AtomicU32::new(0),
            priority: AtomicU32::new(0),
            mark: AtomicU32::new(0),
            linger_secs: AtomicI32::new(0),
            busy_poll: AtomicI32::new(0),
            busy_poll_budget: AtomicI32::new(0),
            incoming_cpu: AtomicI32::new(-1),
            pacing_rate: AtomicU64::new(u64::MAX),
            cookie: AtomicU64::new(0),
        }
    }
}

impl SockCommon {
    /// `sk_sndbuf`: the most truesize of sent, unconsumed data before a writer waits.
    pub fn sndbuf(&self) -> usize {
        self.sndbuf.load(Ordering::Relaxed).max(0) as usize
    }
    /// `sk_rcvbuf` (reported only: unix sockets do not limit their receive queue by it).
    pub fn rcvbuf(&self) -> i32 {
        self.rcvbuf.load(Ordering::Relaxed)
    }
    /// `sk_rcvlowat`: how many bytes a stream read waits for (at least 1).
    pub fn rcvlowat(&self) -> usize {
        self.rcvlowat.load(Ordering::Relaxed).max(1) as usize
    }
    /// A flag option.
    pub fn flag(&self, f: SockFlag) -> bool {
        self.flags.load(Ordering::Relaxed) & (1 << f as u32) != 0
    }
    /// Sets or clears a flag option.
    pub fn set_flag(&self, f: SockFlag, on: bool) {
        if on {
            self.flags.fetch_or(1 << f as u32, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!(1 << f as u32), Ordering::Relaxed);
        }
    }
    /// `SO_RCVTIMEO` in jiffies.
    pub fn rcvtimeo(&self) -> u64 {
        self.rcvtimeo.load(Ordering::Relaxed)
    }
    /// `SO_SNDTIMEO` in jiffies.
    pub fn sndtimeo(&self) -> u64 {
        self.sndtimeo.load(Ordering::Relaxed)
    }
    /// `SO_COOKIE`: a number unique to the socket, assigned when first asked
    /// (`sock_gen_cookie`).
    pub fn cookie(&self) -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let c = self.cookie.load(Ordering::Relaxed);
        if c != 0 {
            return c;
        }
        let c = NEXT.fetch_add(1, Ordering::Relaxed);
        self.cookie.store(c, Ordering::Relaxed);
        c
    }

    /// The receive timestamp control message for a packet stamped `ns` (`CLOCK_REALTIME`
    /// nanoseconds), as `__sock_recv_timestamp` builds it: `SCM_TIMESTAMP` (a timeval) or
    /// `SCM_TIMESTAMPNS` (a timespec), or their `_NEW` forms; `None` without `SO_TIMESTAMP*`.
    pub fn timestamp_cmsg(&self, ns: i128) -> Option<(i32, i32, Vec<u8>)> {
        if !self.flag(SockFlag::RcvTstamp) {
            return None;
        }
        let sec = ns.div_euclid(1_000_000_000) as i64;
        let nsec = ns.rem_euclid(1_000_000_000) as i64;
        let in_ns = self.flag(SockFlag::RcvTstampNs);
        let ty = match (in_ns, self.flag(SockFlag::TstampNew)) {
            (false, false) => n::SO_TIMESTAMP,
            (true, false) => n::SO_TIMESTAMPNS,
            (false, true) => n::SO_TIMESTAMP_NEW,
            (true, true) => n::SO_TIMESTAMPNS_NEW,
        };
        let frac = if in_ns { nsec } else { nsec / 1000 };
        let mut data = sec.to_ne_bytes().to_vec();
        data.extend_from_slice(&frac.to_ne_bytes());
        Some((n::SOL_SOCKET, ty, data))
    }

    /// What `accept` copies from the listener (`unix_sock_inherit_flags`).
    pub fn inherit_from(&self, listener: &SockCommon) {
        for f in [SockFlag::PassCred, SockFlag::PassSec] {
            self.set_flag(f, listener.flag(f));
        }
    }
}

/// Converts a `struct timeval` to jiffies (`sock_set_timeout`): `EDOM` for microseconds out of
/// range, 0 (never wait) for a negative time, `MAX_TIMEO` for zero or a huge time.
pub fn timeval_to_jiffies(sec: i64, usec: i64) -> KResult<u64> {
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(0);
    }
    if (sec == 0 && usec == 0) || sec as u64 >= MAX_TIMEO / HZ - 1 {
        return Ok(MAX_TIMEO);
    }
    let per_jiffy = 1_000_000 / HZ as i64;
    Ok(sec as u64 * HZ + (usec + per_jiffy - 1) as u64 / per_jiffy as u64)
}

/// The `struct timeval` `getsockopt` shows for a timeout in jiffies (`sock_get_timeout`).
pub fn jiffies_to_timeval(j: u64) -> (i64, i64) {
    if j == MAX_TIMEO {
        return (0, 0);
    }
    ((j / HZ) as i64, ((j % HZ) * 1_000_000 / HZ) as i64)
}

/// When an operation with timeout `jiffies` started now gives up (`None`: never).
fn deadline_of(jiffies: u64) -> Option<Instant> {
    if jiffies == MAX_TIMEO {
        return None;
    }
    let ms = jiffies.saturating_mul(1000 / HZ);
    Instant::now().checked_add(Duration::from_millis(ms))
}

// ---------------------------------------------------------------------------------------------
// Families

/// A family's socket operations (Linux's `proto_ops` plus the `struct sock` behind them).
/// Everything that may wait takes the [`SockTask`] the call runs for.
pub trait ProtoOps: Send + Sync + 'static {
    /// The socket-level options.
    fn common(&self) -> &SockCommon;
    /// `SO_TYPE` as the family settled it (`SOCK_RAW` unix sockets are datagram sockets).
    fn sock_type(&self) -> i32;
    /// `bind(2)` with the address as given (at most 128 bytes).
    fn bind(&self, task: &mut dyn SockTask, addr: &[u8]) -> KResult<()>;
    /// `connect(2)`.
    fn connect(&self, task: &mut dyn SockTask, addr: &[u8]) -> KResult<()>;
    /// `listen(2)` with the backlog already clamped to `somaxconn`.
    fn listen(&self, _backlog: i32, _task: &dyn SockTask) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// `accept(2)`: the next connection's socket.
    fn accept(&self, _task: &mut dyn SockTask) -> KResult<Box<dyn ProtoOps>> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Joins this new socket and `other` (of the same family and type) back to back.
    fn socketpair(&self, _other: &dyn ProtoOps, _task: &dyn SockTask) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// `shutdown(2)`.
    fn shutdown(&self, how: i32) -> KResult<()>;
    /// The local (`peer` false) or remote address (`ENOTCONN` without a peer).
    fn getname(&self, peer: bool) -> KResult<Vec<u8>>;
    /// `sendmsg`: see [`FileLike::sendmsg`].
    fn sendmsg(&self, msg: &mut SendMsg<'_>, task: &mut dyn SockTask) -> KResult<usize>;
    /// `recvmsg`: see [`FileLike::recvmsg`].
    fn recvmsg(&self, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize>;
    /// The events ready now.
    fn poll(&self) -> PollEvents;
    /// The pollee readers, writers and pollers of this socket wait on.
    fn pollee(&self) -> &Pollee;
    /// A family ioctl (`SIOCINQ`, `SIOCOUTQ`; `ENOTTY` otherwise).
    fn ioctl(&self, _cmd: u32, _arg: u64, _mem: &mut dyn UserMemory) -> KResult<usize> {
        Err(Errno::ENOTTY)
    }
    /// `SO_ERROR`: takes the pending error (0 if none).
    fn take_error(&self) -> i32 {
        0
    }
    /// Records `errno` as the pending error (`recvmmsg` keeps a late error there).
    fn set_error(&self, _errno: i32) {}
    /// `setsockopt` at a protocol level (not `SOL_SOCKET`); `root` stands for
    /// `CAP_NET_ADMIN`. Unix sockets have none: `EOPNOTSUPP`.
    fn setsockopt(&self, _level: i32, _opt: i32, _val: &[u8], _root: bool) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// `getsockopt` at a protocol level; `len` is what the caller offers.
    fn getsockopt(&self, _level: i32, _opt: i32, _len: usize) -> KResult<OptVal> {
        Err(Errno::EOPNOTSUPP)
    }
    /// `SO_PROTOCOL` (`IPPROTO_TCP`...; 0 for families with one protocol).
    fn protocol(&self) -> i32 {
        0
    }
    /// `SO_PEERCRED`: the peer's credentials (`pid 0, uid/gid -1` if none).
    fn peer_cred(&self) -> UCred {
        UCred { pid: 0, uid: u32::MAX, gid: u32::MAX }
    }
    /// `SO_ACCEPTCONN`.
    fn is_listening(&self) -> bool {
        false
    }
    /// `SO_PEERGROUPS`: the peer's supplementary groups (`None`: no peer credentials).
    fn peer_groups(&self) -> Option<Vec<u32>> {
        None
    }
    /// The truesize of sent data not yet consumed (`sk_wmem_alloc`).
    fn send_queued(&self) -> usize {
        0
    }
    /// Records the socket inode number the file shows (`/proc/net/unix`).
    fn set_ino(&self, _ino: u64) {}
    /// The last file is gone (Linux's `release`): disconnect, flush, unbind.
    fn release(&self);
    /// For downcasting between sockets of one family (`socketpair`).
    fn as_any(&self) -> &dyn Any;
}

/// One entry of the family table: how `socket(2)` creates a socket of `domain`.
pub struct Family {
    /// The `AF_*` number.
    pub domain: i32,
    /// Creates the protocol side for `(type, protocol)`; errors as the family's `create`.
    pub create: fn(kind: i32, protocol: i32) -> KResult<Box<dyn ProtoOps>>,
}

/// The families umbra has (Linux's `net_families`, filled by `sock_register`).
pub static FAMILIES: &[Family] = &[
    Family { domain: n::AF_UNIX, create: unix::create },
    Family { domain: n::AF_INET, create: inet::create_v4 },
    Family { domain: n::AF_INET6, create: inet::create_v6 },
    Family { domain: n::AF_NETLINK, create: netlink::create },
];

/// `__sock_create`'s checks and dispatch: `EAFNOSUPPORT` for a family out of range, `EINVAL`
/// for a type out of range, `EAFNOSUPPORT` for a family umbra lacks, then the family's own.
pub fn create_proto(domain: i32, kind: i32, protocol: i32) -> KResult<Box<dyn ProtoOps>> {
    if !(0..n::AF_MAX).contains(&domain) {
        return Err(Errno::EAFNOSUPPORT);
    }
    if !(0..n::SOCK_MAX).contains(&kind) {
        return Err(Errno::EINVAL);
    }
    let fam = FAMILIES.iter().find(|f| f.domain == domain).ok_or(Errno::EAFNOSUPPORT)?;
    (fam.create)(kind, protocol)
}

// ---------------------------------------------------------------------------------------------
// The socket file

/// The sockfs-like device every socket inode lives on.
fn sockfs_dev() -> u64 {
    static DEV: OnceLock<u64> = OnceLock::new();
    *DEV.get_or_init(fs::inode::alloc_anon_dev)
}

/// Socket inode numbers (Linux's `get_next_ino`).
fn next_ino() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0x10_0000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An open socket: what a socket descriptor's `OpenFile` holds (Linux's `struct socket` and its
/// sockfs inode). Dropping it (the last descriptor closed) releases the protocol side.
pub struct Socket {
    /// `SO_DOMAIN`.
    pub domain: i32,
    /// `SO_TYPE` (after `SOCK_RAW` became `SOCK_DGRAM` for unix sockets).
    pub kind: i32,
    ino: u64,
    owner: (u32, u32),
    created: fs::Timespec,
    ops: Box<dyn ProtoOps>,
}

impl Socket {
    /// Wraps a protocol socket in a new sockfs inode owned by `owner` (fsuid, fsgid).
    pub fn new(domain: i32, kind: i32, ops: Box<dyn ProtoOps>, owner: (u32, u32)) -> Arc<Socket> {
        let ino = next_ino();
        ops.set_ino(ino);
        Arc::new(Socket { domain, kind, ino, owner, created: fs::time::now(), ops })
    }

    /// The protocol side.
    pub fn ops(&self) -> &dyn ProtoOps {
        &*self.ops
    }

    /// The inode number (`socket:[ino]` in `/proc/<pid>/fd`).
    pub fn ino(&self) -> u64 {
        self.ino
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ops.release();
    }
}

/// The caller of a plain `read`/`write` through the `FileLike` entry points without a task
/// (`sendfile` and other kernel paths): never waits, root's credentials, no names.
struct NoTask;

impl SockTask for NoTask {
    fn ucred(&self) -> UCred {
        UCred::default()
    }
    fn peer_ucred(&self) -> UCred {
        UCred::default()
    }
    fn create_node(&mut self, _path: &[u8]) -> KResult<Path> {
        Err(Errno::EOPNOTSUPP)
    }
    fn remove_node(&mut self, _path: &[u8]) {}
    fn find_node(&mut self, _path: &[u8]) -> KResult<Path> {
        Err(Errno::EOPNOTSUPP)
    }
    fn can_wait(&self) -> bool {
        false
    }
    fn wait(&mut self, _pollees: &[&Pollee], _events: PollEvents) -> KResult<()> {
        Err(Errno::EAGAIN)
    }
    fn sigpipe(&mut self) {}
}

impl FileLike for Socket {
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        let mut msg = RecvMsg::default();
        self.ops.recvmsg(buf, &mut msg, MsgFlags::DONTWAIT, &mut NoTask)
    }

    fn write(&self, data: &[u8], _offset: u64) -> KResult<usize> {
        let mut msg = SendMsg { data, fault: false, name: None, rights: Vec::new(), creds: None, flags: MsgFlags::DONTWAIT };
        self.ops.sendmsg(&mut msg, &mut NoTask)
    }

    fn poll(&self) -> PollEvents {
        self.ops.poll()
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(self.ops.pollee())
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
        if inet::iface::is_if_ioctl(cmd) {
            return inet::iface::ioctl(cmd, arg, mem);
        }
        self.ops.ioctl(cmd, arg, mem)
    }

    fn stat(&self) -> Option<InodeAttr> {
        let t = self.created;
        Some(InodeAttr {
            ino: self.ino,
            mode: fs::abi::S_IFSOCK | 0o777,
            nlink: 1,
            uid: self.owner.0,
            gid: self.owner.1,
            blksize: 4096,
            atime: t,
            mtime: t,
            ctime: t,
            dev: sockfs_dev(),
            ..InodeAttr::default()
        })
    }

    fn sendmsg(&self, msg: &mut SendMsg<'_>, task: &mut dyn SockTask) -> KResult<usize> {
        self.ops.sendmsg(msg, task)
    }

    fn recvmsg(&self, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize> {
        self.ops.recvmsg(buf, msg, flags, task)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The socket behind an open file, if it is one (`sock_from_file`).
pub fn socket_of(file: &OpenFile) -> Option<&Socket> {
    file.file_like()?.as_any().downcast_ref::<Socket>()
}

/// A new socket file for `ops`, with `O_NONBLOCK` if asked (`sock_alloc_file`).
pub fn socket_file(cur: &Current, domain: i32, kind: i32, ops: Box<dyn ProtoOps>, nonblock: bool) -> Arc<OpenFile> {
    let creds = cur.process().creds();
    let sock = Socket::new(domain, kind, ops, (creds.fsuid, creds.fsgid));
    let flags = if nonblock { OpenFlags::RDWR | OpenFlags::NONBLOCK } else { OpenFlags::RDWR };
    OpenFile::new_anonymous(sock, flags)
}

// ---------------------------------------------------------------------------------------------
// The task a socket operation runs for

/// [`SockTask`] over the current task, for one operation with one timeout (Linux's `current`
/// plus the `timeo` the protocol computed with `sock_rcvtimeo`/`sock_sndtimeo`).
pub struct TaskCaller<'a> {
    cur: &'a mut Current,
    /// `None`: wait forever.
    deadline: Option<Instant>,
    /// The operation may not wait (`O_NONBLOCK`, `MSG_DONTWAIT`, a negative timeout).
    nonblock: bool,
    /// A socket timeout is set: a signal gives `EINTR` instead of a restart.
    timed: bool,
}

impl<'a> TaskCaller<'a> {
    /// A caller for an operation with timeout `jiffies` (`MAX_TIMEO`: none) that may not wait
    /// at all if `nonblock`.
    pub fn new(cur: &'a mut Current, jiffies: u64, nonblock: bool) -> TaskCaller<'a> {
        TaskCaller { cur, deadline: deadline_of(jiffies), nonblock: nonblock || jiffies == 0, timed: jiffies != MAX_TIMEO }
    }

    /// The task.
    pub fn cur(&mut self) -> &mut Current {
        self.cur
    }

    fn ctx_run<R>(&mut self, f: impl FnOnce(&fs::Ctx<'_>, &Path) -> KResult<R>) -> KResult<R> {
        crate::fs_glue::with_start(self.cur, crate::fs_glue::Fd(fs::abi::AT_FDCWD), b"", f)
    }
}

impl SockTask for TaskCaller<'_> {
    fn ucred(&self) -> UCred {
        let c = self.cur.process().creds();
        UCred { pid: self.cur.pid() as i32, uid: c.uid, gid: c.gid }
    }

    fn peer_ucred(&self) -> UCred {
        let c = self.cur.process().creds();
        UCred { pid: self.cur.pid() as i32, uid: c.euid, gid: c.egid }
    }

    fn groups(&self) -> Vec<u32> {
        self.cur.process().creds().groups
    }

    fn create_node(&mut self, path: &[u8]) -> KResult<Path> {
        let vfs = kernel().vfs.clone();
        self.ctx_run(|ctx, cwd| {
            vfs.mknod(ctx, cwd, path, fs::abi::S_IFSOCK | 0o777, 0)?;
            vfs.lookup(ctx, cwd, path, false)
        })
    }

    fn remove_node(&mut self, path: &[u8]) {
        let vfs = kernel().vfs.clone();
        let _ = self.ctx_run(|ctx, cwd| vfs.unlink(ctx, cwd, path));
    }

    fn find_node(&mut self, path: &[u8]) -> KResult<Path> {
        let vfs = kernel().vfs.clone();
        self.ctx_run(|ctx, cwd| {
            let p = vfs.lookup(ctx, cwd, path, true)?;
            fs::cred::generic_permission(ctx.cred, &p.attr()?, fs::cred::MAY_WRITE)?;
            Ok(p)
        })
    }

    fn can_wait(&self) -> bool {
        !self.nonblock
    }

    fn wait(&mut self, pollees: &[&Pollee], events: PollEvents) -> KResult<()> {
        if self.nonblock {
            return Err(Errno::EAGAIN);
        }
        let mut slept = false;
        let r = wait_until(self.cur, pollees, events, self.deadline, |_| {
            if slept {
                Some(Ok(()))
            } else {
                slept = true;
                None
            }
        });
        match r {
            Err(Errno::ETIMEDOUT) => {
                self.nonblock = true;
                Err(Errno::EAGAIN)
            }
            Err(Errno::ERESTARTSYS) if self.timed => Err(Errno::EINTR),
            r => r,
        }
    }

    fn sigpipe(&mut self) {
        let cur = &*self.cur;
        let info = uapi::signal::SigInfo::kill(uapi::signal::SIGPIPE, uapi::signal::SI_USER, cur.pid() as i32, cur.process().creds().uid);
        crate::signal::send_to_task(&cur.task, uapi::signal::SIGPIPE, info);
    }
}

// ---------------------------------------------------------------------------------------------
// read/write on a socket file

/// `read(2)` on a socket (`sock_read_iter`): a `recvmsg` with no flags (`MSG_DONTWAIT` under
/// `O_NONBLOCK`), under the receive timeout.
pub fn read(cur: &mut Current, file: &OpenFile, sock: &Socket, buf: &mut [u8]) -> KResult<usize> {
    let mut msg = RecvMsg::default();
    let nonblock = file.nonblocking();
    let flags = if nonblock { MsgFlags::DONTWAIT } else { MsgFlags::empty() };
    let mut task = TaskCaller::new(cur, sock.ops.common().rcvtimeo(), nonblock);
    let n = sock.ops.recvmsg(buf, &mut msg, flags, &mut task)?;
    Ok(n.min(buf.len()))
}

/// `write(2)` on a socket (`sock_write_iter`): a `sendmsg` of `data` with no flags, under the
/// send timeout (`SIGPIPE` as the family decides).
pub fn write(cur: &mut Current, file: &OpenFile, sock: &Socket, data: &[u8]) -> KResult<usize> {
    let nonblock = file.nonblocking();
    let flags = if nonblock { MsgFlags::DONTWAIT } else { MsgFlags::empty() };
    let mut msg = SendMsg { data, fault: false, name: None, rights: Vec::new(), creds: None, flags };
    let mut task = TaskCaller::new(cur, sock.ops.common().sndtimeo(), nonblock);
    sock.ops.sendmsg(&mut msg, &mut task)
}

// ---------------------------------------------------------------------------------------------
// Socket-level options

/// A `getsockopt` answer: the value bytes (the caller copies at most what the user asked).
pub enum OptVal {
    /// An `int`.
    Int(i32),
    /// Raw bytes (`struct timeval`, `struct ucred`, `struct linger`).
    Bytes(Vec<u8>),
    /// `ERANGE`: the value needs this many bytes (stored as the length, as Linux does).
    Range(usize),
}

/// `sock_setsockopt` for `SOL_SOCKET`: `val` is the option's bytes (at least an `int`, checked
/// by the caller); `root` stands for `CAP_NET_ADMIN`. `ENOPROTOOPT` for unknown options.
pub fn set_sol_socket(sock: &Socket, opt: i32, val: &[u8], root: bool) -> KResult<()> {
    let c = sock.ops.common();
    if opt == n::SO_BINDTODEVICE {
        // `val` is an interface name (at most 15 bytes): umbra has no network devices.
        return if val.first().is_none_or(|&b| b == 0) { Ok(()) } else { Err(Errno::ENODEV) };
    }
    let int = i32::from_ne_bytes(val.get(..4).and_then(|b| b.try_into().ok()).ok_or(Errno::EINVAL)?);
    let on = int != 0;
    let flag = |f: SockFlag| {
        c.set_flag(f, on);
        Ok(())
    };
    match opt {
        n::SO_DEBUG if on && !root => Err(Errno::EACCES),
        n::SO_DEBUG => flag(SockFlag::Debug),
        n::SO_REUSEADDR => flag(SockFlag::ReuseAddr),
        n::SO_REUSEPORT if on && sock.domain != n::AF_INET && sock.domain != n::AF_INET6 => Err(Errno::EOPNOTSUPP),
        n::SO_REUSEPORT => flag(SockFlag::ReusePort),
        n::SO_KEEPALIVE => flag(SockFlag::KeepAlive),
        n::SO_DONTROUTE => flag(SockFlag::DontRoute),
        n::SO_BROADCAST => flag(SockFlag::Broadcast),
        n::SO_OOBINLINE => flag(SockFlag::OobInline),
        n::SO_NO_CHECK => flag(SockFlag::NoCheck),
        n::SO_PASSCRED => flag(SockFlag::PassCred),
        n::SO_PASSSEC => flag(SockFlag::PassSec),
        n::SO_BSDCOMPAT => Ok(()),
        n::SO_SNDBUF | n::SO_SNDBUFFORCE => {
            if opt == n::SO_SNDBUFFORCE && !root {
                return Err(Errno::EPERM);
            }
            let v = if opt == n::SO_SNDBUF { (int as u32).min(MAX_BUF as u32) as i32 } else { int.max(0) };
            c.set_flag(SockFlag::SndbufLock, true);
            c.sndbuf.store(v.min(i32::MAX / 2).saturating_mul(2).max(MIN_SNDBUF), Ordering::Relaxed);
            sock.ops.pollee().notify(PollEvents::POLLOUT | PollEvents::POLLWRNORM | PollEvents::POLLWRBAND);
            Ok(())
        }
        n::SO_RCVBUF | n::SO_RCVBUFFORCE => {
            if opt == n::SO_RCVBUFFORCE && !root {
                return Err(Errno::EPERM);
            }
            let v = if opt == n::SO_RCVBUF { (int as u32).min(MAX_BUF as u32) as i32 } else { int.max(0) };
            c.set_flag(SockFlag::RcvbufLock, true);
            c.rcvbuf.store(v.min(i32::MAX / 2).saturating_mul(2).max(MIN_RCVBUF), Ordering::Relaxed);
            Ok(())
        }
        n::SO_RCVLOWAT => {
            let v = if int < 0 { i32::MAX } else { int };
            c.rcvlowat.store(if v == 0 { 1 } else { v }, Ordering::Relaxed);
            Ok(())
        }
        n::SO_RCVTIMEO | n::SO_RCVTIMEO_NEW | n::SO_SNDTIMEO | n::SO_SNDTIMEO_NEW => {
            let tv: uapi::structs::Timeval = bytemuck::try_pod_read_unaligned(val.get(..16).ok_or(Errno::EINVAL)?).map_err(|_| Errno::EINVAL)?;
            let j = timeval_to_jiffies(tv.tv_sec, tv.tv_usec)?;
            let slot = if matches!(opt, n::SO_RCVTIMEO | n::SO_RCVTIMEO_NEW) { &c.rcvtimeo } else { &c.sndtimeo };
            slot.store(j, Ordering::Relaxed);
            Ok(())
        }
        n::SO_PRIORITY => {
            if !(0..=6).contains(&int) && !root {
                return Err(Errno::EPERM);
            }
            c.priority.store(int as u32, Ordering::Relaxed);
            Ok(())
        }
        n::SO_MARK => {
            if !root {
                return Err(Errno::EPERM);
            }
            c.mark.store(int as u32, Ordering::Relaxed);
            Ok(())
        }
        n::SO_LINGER => {
            let l: n::Linger = bytemuck::try_pod_read_unaligned(val.get(..8).ok_or(Errno::EINVAL)?).map_err(|_| Errno::EINVAL)?;
            c.set_flag(SockFlag::Linger, l.l_onoff != 0);
            if l.l_onoff != 0 {
                c.linger_secs.store(l.l_linger, Ordering::Relaxed);
            }
            Ok(())
        }
        n::SO_TIMESTAMP | n::SO_TIMESTAMPNS | n::SO_TIMESTAMP_NEW | n::SO_TIMESTAMPNS_NEW => {
            c.set_flag(SockFlag::TstampNew, matches!(opt, n::SO_TIMESTAMP_NEW | n::SO_TIMESTAMPNS_NEW));
            c.set_flag(SockFlag::RcvTstamp, on);
            c.set_flag(SockFlag::RcvTstampNs, on && matches!(opt, n::SO_TIMESTAMPNS | n::SO_TIMESTAMPNS_NEW));
            Ok(())
        }
        n::SO_RXQ_OVFL => flag(SockFlag::RxqOvfl),
        n::SO_WIFI_STATUS => flag(SockFlag::WifiStatus),
        n::SO_NOFCS => flag(SockFlag::NoFcs),
        n::SO_LOCK_FILTER if c.flag(SockFlag::LockFilter) && !on => Err(Errno::EPERM),
        n::SO_LOCK_FILTER => flag(SockFlag::LockFilter),
        n::SO_SELECT_ERR_QUEUE => flag(SockFlag::SelectErrQueue),
        n::SO_RCVMARK => flag(SockFlag::RcvMark),
        n::SO_PREFER_BUSY_POLL if on && !root => Err(Errno::EPERM),
        n::SO_PREFER_BUSY_POLL => flag(SockFlag::PreferBusyPoll),
        n::SO_BUSY_POLL => {
            if int < 0 {
                return Err(Errno::EINVAL);
            }
            if int > c.busy_poll.load(Ordering::Relaxed) && !root {
                return Err(Errno::EPERM);
            }
            c.busy_poll.store(int, Ordering::Relaxed);
            Ok(())
        }
        n::SO_BUSY_POLL_BUDGET => {
            if int > c.busy_poll_budget.load(Ordering::Relaxed) && !root {
                return Err(Errno::EPERM);
            }
            if !(0..=u16::MAX as i32).contains(&int) {
                return Err(Errno::EINVAL);
            }
            c.busy_poll_budget.store(int, Ordering::Relaxed);
            Ok(())
        }
        n::SO_INCOMING_CPU => {
            c.incoming_cpu.store(int, Ordering::Relaxed);
            Ok(())
        }
        n::SO_MAX_PACING_RATE => {
            let rate = match val.get(..8).and_then(|b| b.try_into().ok()) {
                Some(b) => u64::from_ne_bytes(b),
                None if int as u32 == u32::MAX => u64::MAX,
                None => u64::from(int as u32),
            };
            c.pacing_rate.store(rate, Ordering::Relaxed);
            Ok(())
        }
        n::SO_BUF_LOCK => {
            if int & !3 != 0 {
                return Err(Errno::EINVAL);
            }
            c.set_flag(SockFlag::SndbufLock, int & 1 != 0);
            c.set_flag(SockFlag::RcvbufLock, int & 2 != 0);
            Ok(())
        }
        n::SO_CNX_ADVICE => Ok(()),
        n::SO_BINDTOIFINDEX if int == 0 => Ok(()),
        n::SO_BINDTOIFINDEX => Err(Errno::ENODEV),
        n::SO_ATTACH_FILTER => Err(Errno::EINVAL),
        n::SO_DETACH_FILTER if c.flag(SockFlag::LockFilter) => Err(Errno::EPERM),
        n::SO_DETACH_FILTER => Err(Errno::ENOENT),
        n::SO_ZEROCOPY | n::SO_RESERVE_MEM | n::SO_TXREHASH => Err(Errno::EOPNOTSUPP),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// `sock_getsockopt` for `SOL_SOCKET`: the value, or `ENOPROTOOPT` for unknown options. `len`
/// is the length the caller offers (some answers depend on it).
pub fn get_sol_socket(sock: &Socket, opt: i32, len: usize) -> KResult<OptVal> {
    let c = sock.ops.common();
    let int = |v: bool| Ok(OptVal::Int(i32::from(v)));
    let timeval = |j: u64| {
        let (s, us) = jiffies_to_timeval(j);
        Ok(OptVal::Bytes(bytemuck::bytes_of(&uapi::structs::Timeval { tv_sec: s, tv_usec: us }).to_vec()))
    };
    match opt {
        n::SO_DEBUG => int(c.flag(SockFlag::Debug)),
        n::SO_REUSEADDR => int(c.flag(SockFlag::ReuseAddr)),
        n::SO_REUSEPORT => int(c.flag(SockFlag::ReusePort)),
        n::SO_KEEPALIVE => int(c.flag(SockFlag::KeepAlive)),
        n::SO_DONTROUTE => int(c.flag(SockFlag::DontRoute)),
        n::SO_BROADCAST => int(c.flag(SockFlag::Broadcast)),
        n::SO_OOBINLINE => int(c.flag(SockFlag::OobInline)),
        n::SO_NO_CHECK => int(c.flag(SockFlag::NoCheck)),
        n::SO_PASSCRED => int(c.flag(SockFlag::PassCred)),
        n::SO_PASSSEC => int(c.flag(SockFlag::PassSec)),
        n::SO_BSDCOMPAT => Ok(OptVal::Int(0)),
        n::SO_TYPE => Ok(OptVal::Int(sock.kind)),
        n::SO_PROTOCOL => Ok(OptVal::Int(sock.ops.protocol())),
        n::SO_DOMAIN => Ok(OptVal::Int(sock.domain)),
        n::SO_ERROR => Ok(OptVal::Int(sock.ops.take_error())),
        n::SO_SNDBUF => Ok(OptVal::Int(c.sndbuf.load(Ordering::Relaxed))),
        n::SO_RCVBUF => Ok(OptVal::Int(c.rcvbuf())),
        n::SO_RCVLOWAT => Ok(OptVal::Int(c.rcvlowat.load(Ordering::Relaxed))),
        n::SO_SNDLOWAT => Ok(OptVal::Int(1)),
        n::SO_PRIORITY => Ok(OptVal::Int(c.priority.load(Ordering::Relaxed) as i32)),
        n::SO_MARK => Ok(OptVal::Int(c.mark.load(Ordering::Relaxed) as i32)),
        n::SO_ACCEPTCONN => int(sock.ops.is_listening()),
        n::SO_RCVTIMEO | n::SO_RCVTIMEO_NEW => timeval(c.rcvtimeo()),
        n::SO_SNDTIMEO | n::SO_SNDTIMEO_NEW => timeval(c.sndtimeo()),
        n::SO_PEERCRED => Ok(OptVal::Bytes(bytemuck::bytes_of(&sock.ops.peer_cred()).to_vec())),
        n::SO_LINGER => {
            let l = n::Linger { l_onoff: i32::from(c.flag(SockFlag::Linger)), l_linger: c.linger_secs.load(Ordering::Relaxed) };
            Ok(OptVal::Bytes(bytemuck::bytes_of(&l).to_vec()))
        }
        n::SO_TIMESTAMP => int(c.flag(SockFlag::RcvTstamp) && !c.flag(SockFlag::TstampNew) && !c.flag(SockFlag::RcvTstampNs)),
        n::SO_TIMESTAMP_NEW => int(c.flag(SockFlag::RcvTstamp) && c.flag(SockFlag::TstampNew)),
        n::SO_TIMESTAMPNS => int(c.flag(SockFlag::RcvTstampNs) && !c.flag(SockFlag::TstampNew)),
        n::SO_TIMESTAMPNS_NEW => int(c.flag(SockFlag::RcvTstampNs) && c.flag(SockFlag::TstampNew)),
        n::SO_RXQ_OVFL => int(c.flag(SockFlag::RxqOvfl)),
        n::SO_WIFI_STATUS => int(c.flag(SockFlag::WifiStatus)),
        n::SO_NOFCS => int(c.flag(SockFlag::NoFcs)),
        n::SO_LOCK_FILTER => int(c.flag(SockFlag::LockFilter)),
        n::SO_SELECT_ERR_QUEUE => int(c.flag(SockFlag::SelectErrQueue)),
        n::SO_RCVMARK => int(c.flag(SockFlag::RcvMark)),
        n::SO_PREFER_BUSY_POLL => int(c.flag(SockFlag::PreferBusyPoll)),
        n::SO_BUSY_POLL => Ok(OptVal::Int(c.busy_poll.load(Ordering::Relaxed))),
        n::SO_INCOMING_CPU => Ok(OptVal::Int(c.incoming_cpu.load(Ordering::Relaxed))),
        n::SO_MAX_PACING_RATE if len >= 8 => Ok(OptVal::Bytes(c.pacing_rate.load(Ordering::Relaxed).to_ne_bytes().to_vec())),
        n::SO_MAX_PACING_RATE => Ok(OptVal::Int(c.pacing_rate.load(Ordering::Relaxed).min(u64::from(u32::MAX)) as u32 as i32)),
        n::SO_BUF_LOCK => Ok(OptVal::Int(i32::from(c.flag(SockFlag::SndbufLock)) | (i32::from(c.flag(SockFlag::RcvbufLock)) << 1))),
        n::SO_BPF_EXTENSIONS => Ok(OptVal::Int(64)),
        n::SO_INCOMING_NAPI_ID | n::SO_ZEROCOPY | n::SO_RESERVE_MEM | n::SO_BINDTOIFINDEX => Ok(OptVal::Int(0)),
        n::SO_TXREHASH => Err(Errno::EOPNOTSUPP),
        n::SO_BINDTODEVICE | n::SO_ATTACH_FILTER => Ok(OptVal::Bytes(Vec::new())),
        n::SO_COOKIE => Ok(OptVal::Bytes(c.cookie().to_ne_bytes().to_vec())),
        n::SO_MEMINFO => {
            let mem: [u32; 9] = [0, c.rcvbuf() as u32, sock.ops.send_queued() as u32, c.sndbuf() as u32, 0, 0, 0, 0, 0];
            Ok(OptVal::Bytes(bytemuck::cast_slice(&mem).to_vec()))
        }
        n::SO_PEERNAME => {
            let name = sock.ops.getname(true).map_err(|_| Errno::ENOTCONN)?;
            if name.len() < len {
                return Err(Errno::EINVAL);
            }
            Ok(OptVal::Bytes(name))
        }
        n::SO_PEERGROUPS => {
            let groups = sock.ops.peer_groups().ok_or(Errno::ENODATA)?;
            let need = groups.len() * 4;
            if len < need {
                return Ok(OptVal::Range(need));
            }
            Ok(OptVal::Bytes(groups.iter().flat_map(|g| g.to_ne_bytes()).collect()))
        }
        _ => Err(Errno::ENOPROTOOPT),
    }
}
