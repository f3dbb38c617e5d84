//! `AF_UNIX` sockets (Linux's `net/unix/af_unix.c`): `SOCK_STREAM`, `SOCK_DGRAM` and
//! `SOCK_SEQPACKET`, bound to a path (a socket inode in the VFS), to an abstract name (a leading
//! NUL) or autobound; connected pairs, listeners with a real backlog, `SCM_RIGHTS` and
//! `SCM_CREDENTIALS`.
//!
//! # Objects
//! A socket is a [`Core`] (Linux's `struct unix_sock`): its state under one lock, a receive
//! queue of [`Packet`]s (skbs), the pollee its readers, writers and pollers wait on, and
//! `peer_wait`, where connectors wait for a full backlog and datagram senders for a full
//! queue. A stream connection is two cores pointing at each other; `connect` creates the
//! server side (the *embryo*) at once and queues it on the listener, where `accept` picks it
//! up — data the client sends before that waits in the embryo's queue. Pipes in both
//! directions, plus addresses, credentials and descriptors.
//!
//! # Buffers
//! Every packet is charged to its sender as Linux charges an skb's truesize to
//! `sk_wmem_alloc` (the data rounded up as the slab would, plus the skb's own 256 bytes; see
//! [`truesize`]) until the receiver consumes or drops it. A writer waits (or gets `EAGAIN`)
//! while its charge is at `SO_SNDBUF`, and `POLLOUT` returns once the charge falls to a quarter
//! of it (`unix_writable`). Datagram receivers also limit their queue to
//! `net.unix.max_dgram_qlen` (10) packets from senders that are not their peer, and a listener
//! its pending connections to the backlog: `len > max` is full, so a backlog of N admits N+1.
//!
//! # Locks
//! One lock per core, never two at once except listener-then-connector in `connect`, and
//! never while dropping a packet, a core or an open file: dropping a packet can drop the last
//! reference to a passed descriptor, whose release locks other sockets (perhaps this one).
//! Everything that may end up dropped is moved out under the lock and dropped after.
//!
//! # Descriptors in flight
//! A packet holds the `OpenFile`s it carries until received or dropped; a closed sender does
//! not take them back. A socket that (through a chain of packets) holds a descriptor of itself
//! is a cycle no process can reach; `gc` finds such sockets after a release, as Linux's
//! `unix_gc` does, and flushes their queues.
//!
//! # Departures
//! `MSG_OOB` is not supported (`EOPNOTSUPP` to send, `EINVAL` to receive, as a Linux socket with
//! no urgent data answers), nor `SO_PEEK_OFF`; `MSG_PEEK` with `MSG_WAITALL` returns what one
//! pass over the queue finds.

mod addr;
mod dgram;
mod gc;
pub mod proc;
mod stream;

use super::{ProtoOps, SockCommon, SockFlag};
use fs::klock::KMutex;
use fs::{OpenFile, Path, PollEvents, Pollee, RecvMsg, SendMsg, SockTask, UserMemory};
use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use uapi::net::{self as n, MsgFlags, UCred};
use uapi::{Errno, KResult};

pub use addr::UnixAddr;

/// `RCV_SHUTDOWN`.
const RCV_SHUTDOWN: u8 = 1;
/// `SEND_SHUTDOWN`.
const SEND_SHUTDOWN: u8 = 2;
/// `SHUTDOWN_MASK`.
const SHUTDOWN_MASK: u8 = 3;
/// `net.unix.max_dgram_qlen`: a new socket's queue limit for senders that are not its peer.
const MAX_DGRAM_QLEN: usize = 10;
/// `overflowuid`/`overflowgid`: what credentials without an owner show.
const OVERFLOW_ID: u32 = 65534;

/// The connection state (`sk_state`: `TCP_CLOSE`, `TCP_LISTEN`, `TCP_ESTABLISHED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conn {
    Close,
    Listen,
    Established,
}

/// One skb on a receive queue: data (stream bytes or one datagram), who sent it, what it
/// carries, or (on a listener) a pending connection.
struct Packet {
    data: Vec<u8>,
    /// Bytes a stream reader has taken (`UNIXCB(skb).consumed`).
    consumed: usize,
    /// The sending socket: charged `truesize`, and its address is the source address.
    sender: Arc<Core>,
    truesize: usize,
    /// `UNIXCB(skb)`'s pid/uid/gid (`None`: no credentials attached).
    creds: Option<UCred>,
    rights: Vec<Arc<OpenFile>>,
    /// On a listener's queue: the server side of a connection not yet accepted.
    embryo: Option<Arc<Core>>,
    /// Counted among the packets with descriptors in flight (see `gc`).
    in_flight: bool,
    /// When it was queued (`CLOCK_REALTIME` ns), if the receiver asked for timestamps.
    stamp: Option<i128>,
}

impl Packet {
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.consumed)
    }

    /// Called as the packet joins a queue: counts it if it carries descriptors.
    fn queued(&mut self) {
        if !self.rights.is_empty() && !self.in_flight {
            self.in_flight = true;
            gc::rights_queued();
        }
    }
}

impl Drop for Packet {
    fn drop(&mut self) {
        self.sender.wfree(self.truesize);
        if self.in_flight {
            gc::rights_dropped();
        }
    }
}

/// The locked part of a socket.
struct State {
    conn: Conn,
    peer: Option<Arc<Core>>,
    queue: VecDeque<Packet>,
    shutdown: u8,
    /// `sk_err` (a positive errno, 0 for none), reported once.
    err: i32,
    addr: Option<Arc<UnixAddr>>,
    /// The table entry this socket owns (removed on release).
    bound: Option<addr::Bound>,
    /// The socket file's location (the listener's, for an accepted socket): keeps it alive.
    path: Option<Path>,
    /// `sk_peer_pid`/`sk_peer_cred`: the peer's process and ids, and its groups.
    peercred: Option<UCred>,
    peergroups: Option<Vec<u32>>,
    /// Released (`SOCK_DEAD`).
    dead: bool,
    /// Attached to a file (`sk_socket` set): false for an embryo not yet accepted.
    has_file: bool,
    /// `sk_max_ack_backlog`: the listen backlog, or the datagram queue limit.
    max_backlog: usize,
    /// Datagram senders polling for room in this socket's queue (`peer_wake` relays).
    relays: Vec<Weak<Core>>,
}

/// A unix socket (`struct unix_sock`).
pub struct Core {
    kind: i32,
    common: SockCommon,
    state: KMutex<State>,
    pollee: Pollee,
    peer_wait: Pollee,
    /// `sk_wmem_alloc`: truesize of this socket's packets not yet consumed.
    wmem: AtomicUsize,
    /// The socket inode number (0 for an embryo).
    ino: AtomicU64,
    /// A stable identity for `/proc/net/unix` (Linux prints the `struct sock` address).
    id: u64,
}

/// The events that wake a reader.
fn readable() -> PollEvents {
    PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLRDHUP
}

/// The events that wake a writer.
fn writable() -> PollEvents {
    PollEvents::POLLOUT | PollEvents::POLLWRNORM | PollEvents::POLLWRBAND
}

impl Core {
    fn new(kind: i32) -> Arc<Core> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let state = State {
            conn: Conn::Close,
            peer: None,
            queue: VecDeque::new(),
            shutdown: 0,
            err: 0,
            addr: None,
            bound: None,
            path: None,
            peercred: None,
            peergroups: None,
            dead: false,
            has_file: true,
            max_backlog: MAX_DGRAM_QLEN,
            relays: Vec::new(),
        };
        let core = Arc::new(Core {
            kind,
            common: SockCommon::default(),
            state: KMutex::new(state),
            pollee: Pollee::default(),
            peer_wait: Pollee::default(),
            wmem: AtomicUsize::new(0),
            ino: AtomicU64::new(0),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        });
        addr::register(&core);
        core
    }

    fn is_stream(&self) -> bool {
        self.kind == n::SOCK_STREAM
    }

    fn connection_based(&self) -> bool {
        self.kind == n::SOCK_STREAM || self.kind == n::SOCK_SEQPACKET
    }

    fn addr(&self) -> Option<Arc<UnixAddr>> {
        self.state.lock().addr.clone()
    }

    fn peer(&self) -> Option<Arc<Core>> {
        self.state.lock().peer.clone()
    }

    /// True if this socket's peer is `other`.
    fn peer_is(st: &State, other: &Arc<Core>) -> bool {
        st.peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, other))
    }

    /// `unix_recvq_full`: more packets queued than the backlog allows.
    fn queue_full(st: &State) -> bool {
        st.queue.len() > st.max_backlog
    }

    /// `sock_error`: takes the pending error.
    fn take_err(st: &mut State) -> Option<Errno> {
        match std::mem::take(&mut st.err) {
            0 => None,
            e => Some(Errno::from_raw(e)),
        }
    }

    /// `sk_data_ready`: data or a connection arrived.
    fn data_ready(&self) {
        self.pollee.notify(PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLRDBAND | PollEvents::POLLPRI);
    }

    /// `sk_state_change`: wakes everyone to re-check (shutdown, close, connect).
    fn state_change(&self) {
        self.pollee.notify(PollEvents::all());
    }

    /// Charges `truesize` to this socket's send buffer.
    fn wcharge(&self, truesize: usize) {
        self.wmem.fetch_add(truesize, Ordering::Relaxed);
    }

    /// Returns a packet's charge (`sock_wfree` + `unix_write_space`): writers wake once the
    /// charge is down to a quarter of `SO_SNDBUF`.
    fn wfree(&self, truesize: usize) {
        let left = self.wmem.fetch_sub(truesize, Ordering::Relaxed).saturating_sub(truesize);
        if left.saturating_mul(4) <= self.common.sndbuf() {
            self.pollee.notify(writable());
        }
    }

    /// `unix_writable` (without the state: callers check listening themselves).
    fn has_write_room(&self) -> bool {
        self.wmem.load(Ordering::Relaxed).saturating_mul(4) <= self.common.sndbuf()
    }

    /// `sock_alloc_send_pskb`'s wait: the pending error, `EPIPE` after `SHUT_WR`, else waits
    /// while the send buffer is full; then a packet of `head + paged` bytes charged to us.
    fn alloc_packet(self: &Arc<Core>, task: &mut dyn SockTask, head: usize, paged: usize) -> KResult<Packet> {
        loop {
            {
                let mut st = self.state.lock();
                if let Some(e) = Core::take_err(&mut st) {
                    return Err(e);
                }
                if st.shutdown & SEND_SHUTDOWN != 0 {
                    return Err(Errno::EPIPE);
                }
            }
            if self.wmem.load(Ordering::Relaxed) < self.common.sndbuf() {
                break;
            }
            task.wait(&[&self.pollee], writable())?;
        }
        let truesize = truesize(head, paged);
        self.wcharge(truesize);
        Ok(Packet { data: Vec::new(), consumed: 0, sender: self.clone(), truesize, creds: None, rights: Vec::new(), embryo: None, in_flight: false, stamp: None })
    }

    /// `maybe_add_creds`: attaches the sender's credentials if either end asked for them (or
    /// the receiver is not accepted yet).
    fn maybe_add_creds(&self, pkt: &mut Packet, other_passcred: bool, other_has_file: bool, task: &dyn SockTask) {
        if pkt.creds.is_none() && (self.common.flag(SockFlag::PassCred) || other_passcred || !other_has_file) {
            pkt.creds = Some(task.ucred());
        }
    }

    /// Stamps `pkt` with the time if this (receiving) socket asked for timestamps (the
    /// `__net_timestamp` of `unix_dgram_sendmsg`).
    fn stamp_for(&self, pkt: &mut Packet) {
        if self.common.flag(SockFlag::RcvTstamp) {
            pkt.stamp = Some(realtime_ns());
        }
    }

    /// What a receiver with `SO_PASSCRED` gets for a packet's credentials.
    fn delivered_creds(c: Option<UCred>) -> UCred {
        c.unwrap_or(UCred { pid: 0, uid: OVERFLOW_ID, gid: OVERFLOW_ID })
    }

    /// Wakes the datagram senders polling for room in this socket's queue.
    fn wake_relays(&self) {
        let relays = std::mem::take(&mut self.state.lock().relays);
        for r in relays.iter().filter_map(Weak::upgrade) {
            r.pollee.notify(writable());
        }
    }

    /// `unix_dgram_peer_wake_me`: registers `me` to be woken when `other`'s queue drains;
    /// true if `other` is full (so `me` is not writable).
    fn peer_wake_me(me: &Arc<Core>, other: &Arc<Core>) -> bool {
        let mut ost = other.state.lock();
        if Core::queue_full(&ost) && !ost.dead {
            if !ost.relays.iter().any(|w| w.as_ptr() == Arc::as_ptr(me)) {
                ost.relays.push(Arc::downgrade(me));
            }
            return true;
        }
        false
    }

    /// `unix_poll` (stream) and `unix_dgram_poll` (datagram, seqpacket).
    fn poll_events(self: &Arc<Core>) -> PollEvents {
        let (mut ev, peer, conn) = {
            let st = self.state.lock();
            let mut ev = PollEvents::empty();
            if st.err != 0 {
                ev |= PollEvents::POLLERR;
            }
            if st.shutdown == SHUTDOWN_MASK {
                ev |= PollEvents::POLLHUP;
            }
            if st.shutdown & RCV_SHUTDOWN != 0 {
                ev |= PollEvents::POLLRDHUP | PollEvents::POLLIN | PollEvents::POLLRDNORM;
            }
            if !st.queue.is_empty() {
                ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
            }
            if self.connection_based() && st.conn == Conn::Close {
                ev |= PollEvents::POLLHUP;
            }
            (ev, st.peer.clone(), st.conn)
        };
        let mut can_write = conn != Conn::Listen && self.has_write_room();
        if can_write && !self.is_stream() {
            if let Some(other) = peer.filter(|o| !Arc::ptr_eq(o, self)) {
                let other_peer_is_me = Core::peer_is(&other.state.lock(), self);
                if !other_peer_is_me && Core::peer_wake_me(self, &other) {
                    can_write = false;
                }
            }
        }
        if can_write {
            ev |= writable();
        }
        ev
    }

    /// `unix_release_sock`: disconnects, flushes the queue (releasing pending connections
    /// of a listener), unbinds. `embryo`: the socket was never accepted.
    fn release(self: &Arc<Core>, embryo: bool) {
        if self.state.lock().dead {
            return;
        }
        addr::unregister(self);
        let (peer, queue, was_listening, path) = {
            let mut st = self.state.lock();
            st.dead = true;
            st.shutdown = SHUTDOWN_MASK;
            let was_listening = st.conn == Conn::Listen;
            st.conn = Conn::Close;
            st.relays.clear();
            (st.peer.take(), std::mem::take(&mut st.queue), was_listening, st.path.take())
        };
        self.peer_wait.notify(PollEvents::all());
        if let Some(p) = &peer {
            if self.connection_based() {
                {
                    let mut pst = p.state.lock();
                    pst.shutdown = SHUTDOWN_MASK;
                    if !queue.is_empty() || embryo {
                        pst.err = Errno::ECONNRESET.raw();
                    }
                }
                p.state_change();
            }
        }
        let mut pending = Vec::new();
        if was_listening {
            pending.extend(queue.iter().filter_map(|pkt| pkt.embryo.clone()));
        }
        drop(queue);
        for e in pending {
            e.release(true);
        }
        drop(path);
        drop(peer);
        gc::collect();
    }

    /// `unix_shutdown`.
    fn shutdown(&self, how: i32) -> KResult<()> {
        if !(n::SHUT_RD..=n::SHUT_RDWR).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let mode = (how + 1) as u8;
        let other = {
            let mut st = self.state.lock();
            st.shutdown |= mode;
            st.peer.clone()
        };
        self.state_change();
        if let Some(o) = other.filter(|_| self.connection_based()) {
            let mut peer_mode = 0;
            if mode & RCV_SHUTDOWN != 0 {
                peer_mode |= SEND_SHUTDOWN;
            }
            if mode & SEND_SHUTDOWN != 0 {
                peer_mode |= RCV_SHUTDOWN;
            }
            o.state.lock().shutdown |= peer_mode;
            o.state_change();
        }
        Ok(())
    }

    /// `unix_getname`: our address or the peer's (`ENOTCONN` without a peer); an unbound
    /// socket's name is just the family.
    fn getname(&self, peer: bool) -> KResult<Vec<u8>> {
        let addr = if peer { self.peer().ok_or(Errno::ENOTCONN)?.addr() } else { self.addr() };
        Ok(match addr {
            Some(a) => a.bytes.clone(),
            None => (n::AF_UNIX as u16).to_ne_bytes().to_vec(),
        })
    }

    /// `unix_ioctl`: `SIOCOUTQ` (our send-buffer charge) and `SIOCINQ` (bytes readable: all
    /// of a stream's, the first datagram's; `EINVAL` on a listener).
    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
        let amount = match cmd {
            n::SIOCOUTQ => self.wmem.load(Ordering::Relaxed),
            n::SIOCINQ => {
                let st = self.state.lock();
                if st.conn == Conn::Listen {
                    return Err(Errno::EINVAL);
                }
                if self.connection_based() {
                    st.queue.iter().map(Packet::remaining).sum()
                } else {
                    st.queue.front().map_or(0, |p| p.data.len())
                }
            }
            _ => return Err(Errno::ENOTTY),
        };
        let v = i32::try_from(amount).unwrap_or(i32::MAX);
        mem.write(arg, &v.to_ne_bytes())?;
        Ok(0)
    }
}

/// `CLOCK_REALTIME` now, in nanoseconds (what skb timestamps record).
fn realtime_ns() -> i128 {
    crate::timers::clock::clock_now(uapi::flags::CLOCK_REALTIME).map_or(0, |t| t.as_nanos())
}

/// `SKB_TRUESIZE` of an skb with a `head`-byte linear part and `paged` bytes in pages: the head
/// plus `skb_shared_info` (320 bytes) rounded up to a slab size, the `sk_buff` (256 bytes), the
/// pages. A one-byte packet costs 768 bytes, as on Linux.
fn truesize(head: usize, paged: usize) -> usize {
    let data = head.div_ceil(64).saturating_mul(64).saturating_add(320);
    let slab = match data {
        0..=96 => 96,
        97..=128 => 128,
        129..=192 => 192,
        _ => data.max(256).checked_next_power_of_two().unwrap_or(usize::MAX),
    };
    slab.saturating_add(256).saturating_add(paged)
}

/// `SKB_MAX_HEAD(0)`: the linear room of a one-page skb.
const SKB_MAX_HEAD: usize = 4096 - 320;

/// The unix socket behind a socket file. Dropping it releases the socket (once; the file's
/// release may have done it already).
pub struct UnixSock {
    core: Arc<Core>,
}

impl Drop for UnixSock {
    fn drop(&mut self) {
        self.core.release(false);
    }
}

/// `unix_create`: `EPROTONOSUPPORT` for a protocol other than 0 or `PF_UNIX`, then
/// `ESOCKTNOSUPPORT` for a type other than stream, datagram (`SOCK_RAW` is one) or seqpacket.
pub fn create(kind: i32, protocol: i32) -> KResult<Box<dyn ProtoOps>> {
    if protocol != 0 && protocol != n::AF_UNIX {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let kind = match kind {
        n::SOCK_STREAM | n::SOCK_DGRAM | n::SOCK_SEQPACKET => kind,
        n::SOCK_RAW => n::SOCK_DGRAM,
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    Ok(Box::new(UnixSock { core: Core::new(kind) }))
}

impl ProtoOps for UnixSock {
    fn common(&self) -> &SockCommon {
        &self.core.common
    }

    fn sock_type(&self) -> i32 {
        self.core.kind
    }

    fn bind(&self, task: &mut dyn SockTask, a: &[u8]) -> KResult<()> {
        addr::bind(&self.core, task, a)
    }

    fn connect(&self, task: &mut dyn SockTask, a: &[u8]) -> KResult<()> {
        if self.core.kind == n::SOCK_DGRAM {
            dgram::connect(&self.core, task, a)
        } else {
            stream::connect(&self.core, task, a)
        }
    }

    fn listen(&self, backlog: i32, task: &dyn SockTask) -> KResult<()> {
        stream::listen(&self.core, backlog, task)
    }

    fn accept(&self, task: &mut dyn SockTask) -> KResult<Box<dyn ProtoOps>> {
        let core = stream::accept(&self.core, task)?;
        Ok(Box::new(UnixSock { core }))
    }

    fn socketpair(&self, other: &dyn ProtoOps, task: &dyn SockTask) -> KResult<()> {
        let other = other.as_any().downcast_ref::<UnixSock>().ok_or(Errno::EOPNOTSUPP)?;
        let cred = task.peer_ucred();
        for (a, b) in [(&self.core, &other.core), (&other.core, &self.core)] {
            let mut st = a.state.lock();
            st.peer = Some(b.clone());
            st.peercred = Some(cred);
            st.peergroups = Some(task.groups());
            st.conn = Conn::Established;
        }
        Ok(())
    }

    fn shutdown(&self, how: i32) -> KResult<()> {
        self.core.shutdown(how)
    }

    fn getname(&self, peer: bool) -> KResult<Vec<u8>> {
        self.core.getname(peer)
    }

    fn sendmsg(&self, msg: &mut SendMsg<'_>, task: &mut dyn SockTask) -> KResult<usize> {
        match self.core.kind {
            n::SOCK_STREAM => stream::sendmsg(&self.core, msg, task),
            n::SOCK_SEQPACKET => dgram::seqpacket_sendmsg(&self.core, msg, task),
            _ => dgram::sendmsg(&self.core, msg, task),
        }
    }

    fn recvmsg(&self, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize> {
        match self.core.kind {
            n::SOCK_STREAM => stream::recvmsg(&self.core, buf, msg, flags, task),
            n::SOCK_SEQPACKET => dgram::seqpacket_recvmsg(&self.core, buf, msg, flags, task),
            _ => dgram::recvmsg(&self.core, buf, msg, flags, task),
        }
    }

    fn poll(&self) -> PollEvents {
        self.core.poll_events()
    }

    fn pollee(&self) -> &Pollee {
        &self.core.pollee
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
        self.core.ioctl(cmd, arg, mem)
    }

    fn take_error(&self) -> i32 {
        std::mem::take(&mut self.core.state.lock().err)
    }

    fn set_error(&self, errno: i32) {
        self.core.state.lock().err = errno;
        self.core.pollee.notify(PollEvents::POLLERR);
    }

    fn peer_cred(&self) -> UCred {
        self.core.state.lock().peercred.unwrap_or(UCred { pid: 0, uid: u32::MAX, gid: u32::MAX })
    }

    fn is_listening(&self) -> bool {
        self.core.state.lock().conn == Conn::Listen
    }

    fn peer_groups(&self) -> Option<Vec<u32>> {
        self.core.state.lock().peergroups.clone()
    }

    fn send_queued(&self) -> usize {
        self.core.wmem.load(Ordering::Relaxed)
    }

    fn set_ino(&self, ino: u64) {
        self.core.ino.store(ino, Ordering::Relaxed);
    }

    fn release(&self) {
        self.core.release(false);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use fs::abi::OpenFlags;

    const DEFAULT_SNDBUF: usize = crate::net::DEFAULT_BUF as usize;

    /// A caller that never waits and has no files.
    #[derive(Default)]
    struct Caller {
        sigpipes: usize,
    }

    impl SockTask for Caller {
        fn ucred(&self) -> UCred {
            UCred { pid: 7, uid: 1000, gid: 100 }
        }
        fn peer_ucred(&self) -> UCred {
            UCred { pid: 7, uid: 1000, gid: 100 }
        }
        fn create_node(&mut self, _path: &[u8]) -> KResult<Path> {
            Err(Errno::EROFS)
        }
        fn remove_node(&mut self, _path: &[u8]) {}
        fn find_node(&mut self, _path: &[u8]) -> KResult<Path> {
            Err(Errno::ENOENT)
        }
        fn can_wait(&self) -> bool {
            false
        }
        fn wait(&mut self, _pollees: &[&Pollee], _events: PollEvents) -> KResult<()> {
            Err(Errno::EAGAIN)
        }
        fn sigpipe(&mut self) {
            self.sigpipes += 1;
        }
    }

    fn pair(kind: i32) -> (Box<dyn ProtoOps>, Box<dyn ProtoOps>) {
        let a = create(kind, 0).unwrap();
        let b = create(kind, 0).unwrap();
        a.socketpair(&*b, &Caller::default()).unwrap();
        (a, b)
    }

    fn send(s: &dyn ProtoOps, data: &[u8], t: &mut Caller) -> KResult<usize> {
        let mut m = SendMsg { data, fault: false, name: None, rights: Vec::new(), creds: None, flags: MsgFlags::DONTWAIT };
        s.sendmsg(&mut m, t)
    }

    fn recv(s: &dyn ProtoOps, n: usize, flags: MsgFlags) -> KResult<(Vec<u8>, RecvMsg)> {
        let mut buf = vec![0u8; n];
        let mut m = RecvMsg::default();
        let got = s.recvmsg(&mut buf, &mut m, flags | MsgFlags::DONTWAIT, &mut Caller::default())?;
        buf.truncate(got.min(n));
        Ok((buf, m))
    }

    #[test]
    fn stream_pair_bytes_eof_and_epipe() {
        let (a, b) = pair(n::SOCK_STREAM);
        let mut t = Caller::default();
        assert_eq!(send(&*a, b"hello", &mut t), Ok(5));
        assert_eq!(send(&*a, b" world", &mut t), Ok(6));
        assert_eq!(recv(&*b, 3, MsgFlags::empty()).unwrap().0, b"hel");
        assert_eq!(recv(&*b, 3, MsgFlags::PEEK).unwrap().0, b"lo ");
        assert_eq!(recv(&*b, 64, MsgFlags::empty()).unwrap().0, b"lo world", "one read spans packets");
        assert_eq!(recv(&*b, 8, MsgFlags::empty()).err(), Some(Errno::EAGAIN));
        a.shutdown(n::SHUT_WR).unwrap();
        assert_eq!(recv(&*b, 8, MsgFlags::empty()).unwrap().0, b"", "EOF after SHUT_WR");
        assert_eq!(send(&*a, b"x", &mut t), Err(Errno::EPIPE));
        assert_eq!(t.sigpipes, 1, "a stream EPIPE raises SIGPIPE");
        assert!(b.poll().contains(PollEvents::POLLRDHUP));
    }

    #[test]
    fn closing_with_unread_data_resets_the_peer_once() {
        let (a, b) = pair(n::SOCK_STREAM);
        let mut t = Caller::default();
        send(&*a, b"unread", &mut t).unwrap();
        drop(b);
        assert_eq!(recv(&*a, 8, MsgFlags::empty()).err(), Some(Errno::ECONNRESET));
        assert_eq!(recv(&*a, 8, MsgFlags::empty()).unwrap().0, b"", "then end of file");
        assert!(a.poll().contains(PollEvents::POLLHUP));
    }

    #[test]
    fn datagrams_keep_boundaries_and_report_truncation() {
        let (a, b) = pair(n::SOCK_DGRAM);
        let mut t = Caller::default();
        send(&*a, b"first", &mut t).unwrap();
        send(&*a, b"second", &mut t).unwrap();
        let (d, m) = recv(&*b, 3, MsgFlags::empty()).unwrap();
        assert_eq!((d.as_slice(), m.flags), (&b"fir"[..], MsgFlags::TRUNC));
        let mut buf = [0u8; 2];
        let mut m = RecvMsg::default();
        assert_eq!(b.recvmsg(&mut buf, &mut m, MsgFlags::TRUNC | MsgFlags::DONTWAIT, &mut t), Ok(6), "MSG_TRUNC returns the real length");
        let big = vec![0u8; DEFAULT_SNDBUF - 31];
        assert_eq!(send(&*a, &big, &mut t), Err(Errno::EMSGSIZE));
    }

    #[test]
    fn a_full_send_buffer_gives_eagain_until_read() {
        let (a, b) = pair(n::SOCK_STREAM);
        let mut t = Caller::default();
        let chunk = vec![7u8; 65536];
        let mut total = 0;
        while let Ok(n) = send(&*a, &chunk, &mut t) {
            total += n;
        }
        assert!(total > 0 && total < DEFAULT_SNDBUF * 2, "{total}");
        assert!(!a.poll().contains(PollEvents::POLLOUT));
        while recv(&*b, 65536, MsgFlags::empty()).is_ok() {}
        assert!(a.poll().contains(PollEvents::POLLOUT));
        assert_eq!(a.as_any().downcast_ref::<UnixSock>().unwrap().core.wmem.load(Ordering::Relaxed), 0, "every charge returned");
    }

    #[test]
    fn a_socket_sent_over_itself_is_collected() {
        let (a, b) = pair(n::SOCK_DGRAM);
        let b_core = b.as_any().downcast_ref::<UnixSock>().unwrap().core.clone();
        let b_file = OpenFile::new_anonymous(crate::net::Socket::new(n::AF_UNIX, n::SOCK_DGRAM, b, (0, 0)), OpenFlags::RDWR);
        let mut m = SendMsg { data: b"x", fault: false, name: None, rights: vec![b_file.clone()], creds: None, flags: MsgFlags::DONTWAIT };
        a.sendmsg(&mut m, &mut Caller::default()).unwrap();
        drop(b_file);
        assert!(!b_core.state.lock().dead, "only the queued packet holds it");
        drop(a);
        assert!(b_core.state.lock().dead, "released by the collector once a socket is released");
        assert!(b_core.state.lock().queue.is_empty());
    }

    #[test]
    fn truesize_matches_linux_slabs() {
        assert_eq!(truesize(1, 0), 768, "a one-byte skb");
        assert_eq!(truesize(0, 0), 768, "an empty datagram");
        assert_eq!(truesize(SKB_MAX_HEAD, 32768), 37120, "a full stream skb (4 KiB head + 32 KiB pages)");
    }
}
