//! TCP sockets without packets (Linux's `net/ipv4/tcp.c`, `inet_connection_sock.c`,
//! `af_inet.c` stream paths): a connection between two guest sockets is two [`Tcp`]s pointing
//! at each other, each with a receive queue of bytes; a connection to the outside has a host
//! socket as its peer (`relay`). The states a guest can observe are kept: `LISTEN` with a
//! backlog, established, half-closed either way (`CLOSE_WAIT`, `FIN_WAIT2`), reset, closed.
//!
//! # What Linux does that this follows
//! - `connect` to an own address completes at once (loopback's handshake); a non-blocking
//!   `connect` still answers `EINPROGRESS` and the socket is writable with `SO_ERROR` set
//!   (0 or `ECONNREFUSED`), as on Linux where the handshake runs in softirq after the call.
//! - Closing with unread data resets the peer (`ECONNRESET` once its queue is read); closing
//!   otherwise sends a FIN (the peer reads end of file); a write to a peer that closed succeeds
//!   once, the reset that answers it makes the next write `EPIPE` with `SIGPIPE`.
//! - `MSG_OOB` marks the last byte sent as urgent: out of the stream unless `SO_OOBINLINE`,
//!   reads stop at the mark, `SIOCATMARK` tells when the reader is at it, `POLLPRI` until read.
//!
//! # Departures
//! No `TIME_WAIT` (a closed connection's port is free at once); a full backlog makes a
//! blocking `connect` wait for `accept` and a non-blocking one queue anyway.

use super::addr::{self, Fam};
use super::opts::{self, Ctx, Opts};
use super::ports::{Bindable, Binding, Table};
use super::relay::HostConn;
use super::Inet;
use crate::net::{OptVal, SockCommon, SockFlag};
use fs::klock::KMutex;
use fs::{PollEvents, Pollee, RecvMsg, SendMsg, SockTask, UserMemory};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use uapi::net::{self as n, MsgFlags};
use uapi::{Errno, KResult};

/// The TCP port table.
pub static TABLE: KMutex<Table<Tcp>> = KMutex::new(Table::new());

/// Every TCP socket alive (for `/proc/net/tcp`), pruned as it grows.
static ALL: KMutex<Vec<std::sync::Weak<Tcp>>> = KMutex::new(Vec::new());

/// The TCP sockets alive now.
pub fn all() -> Vec<Arc<Tcp>> {
    ALL.lock().iter().filter_map(std::sync::Weak::upgrade).collect()
}

fn register(t: &Arc<Tcp>) {
    let mut all = ALL.lock();
    if all.len() >= 64 && all.len().is_power_of_two() {
        all.retain(|w| w.strong_count() > 0);
    }
    all.push(Arc::downgrade(t));
}

/// How many bytes a receive queue holds before senders wait (Linux's autotuned loopback
/// window is of this order).
pub const WINDOW: usize = 4 << 20;
/// `SIOCATMARK`.
pub const SIOCATMARK: u32 = 0x8905;
/// The loopback MTU (`lo`'s 65536).
const LO_MTU: i32 = 65536;

/// Linux's `TCP_*` states as `tcp_info` and `/proc/net/tcp` number them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
    /// `TCP_ESTABLISHED`.
    Established = 1,
    /// `TCP_SYN_SENT`.
    SynSent = 2,
    /// `TCP_FIN_WAIT2`.
    FinWait2 = 5,
    /// `TCP_CLOSE`.
    Close = 7,
    /// `TCP_CLOSE_WAIT`.
    CloseWait = 8,
    /// `TCP_LISTEN`.
    Listen = 10,
}

/// The far end of a connection.
pub enum Peer {
    /// Not connected, or the peer is gone.
    None,
    /// Another guest socket.
    Guest(Arc<Tcp>),
    /// A host socket (the relay).
    Host(Arc<HostConn>),
}

/// The urgent byte of the stream (`tp->urg_data`, `urg_seq`).
#[derive(Clone, Copy)]
struct Urgent {
    /// Its offset in the stream of bytes received.
    seq: u64,
    byte: u8,
    /// Taken with `MSG_OOB` (`TCP_URG_READ`).
    read: bool,
}

/// A TCP socket's state under its lock.
pub struct St {
    pub listening: bool,
    /// Connecting through the relay (`TCP_SYN_SENT`).
    pub connecting: bool,
    /// Has been connected (established at some point).
    pub connected: bool,
    /// Local address (canonical); the port is the bound port.
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    /// The port-table entry (id, port).
    pub bound: Option<(u64, u16)>,
    pub peer: Peer,
    pub rx: VecDeque<u8>,
    /// Offset in the stream of `rx`'s first byte (`copied_seq`).
    rx_seq: u64,
    urg: Option<Urgent>,
    /// The peer sent its FIN (`SOCK_DONE` and `RCV_SHUTDOWN`).
    pub fin: bool,
    /// The peer's side closed after a FIN: the next write is answered by a reset.
    peer_closed: bool,
    pub shut_rd: bool,
    pub shut_wr: bool,
    /// `sk_err`.
    pub err: i32,
    /// The last `SO_ERROR` was consumed by `connect`/poll (non-blocking connect bookkeeping).
    pub reset: bool,
    /// Connections waiting for `accept` (a listener's `icsk_accept_queue`).
    pub(super) backlog: VecDeque<Arc<Tcp>>,
    /// `sk_max_ack_backlog`.
    pub(super) max_backlog: usize,
    pub opts: Opts,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// `EINPROGRESS` was answered and the connection not yet seen complete (`SS_CONNECTING`).
    in_progress: bool,
}

/// A TCP socket.
pub struct Tcp {
    pub fam: Fam,
    pub common: SockCommon,
    pub pollee: Pollee,
    pub st: KMutex<St>,
    /// The socket inode number (`/proc/net/tcp`).
    pub ino: std::sync::atomic::AtomicU64,
    /// The owner's uid (`/proc/net/tcp`).
    pub uid: std::sync::atomic::AtomicU32,
}

impl Bindable for Tcp {
    fn listening(&self) -> bool {
        self.st.lock().listening
    }
    fn connected_to(&self) -> Option<SocketAddr> {
        None
    }
}

fn readable() -> PollEvents {
    PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLRDHUP | PollEvents::POLLPRI
}

fn writable() -> PollEvents {
    PollEvents::POLLOUT | PollEvents::POLLWRNORM | PollEvents::POLLWRBAND
}

impl Tcp {
    /// A new unconnected socket of `fam` with TCP's buffer defaults (`tcp_wmem`/`tcp_rmem`).
    pub fn new(fam: Fam) -> Arc<Tcp> {
        let common = SockCommon::default();
        common.sndbuf.store(16384, std::sync::atomic::Ordering::Relaxed);
        common.rcvbuf.store(131_072, std::sync::atomic::Ordering::Relaxed);
        let t = Arc::new(Tcp {
            fam,
            common,
            pollee: Pollee::default(),
            st: KMutex::new(St {
                listening: false,
                connecting: false,
                connected: false,
                local: None,
                remote: None,
                bound: None,
                peer: Peer::None,
                rx: VecDeque::new(),
                rx_seq: 0,
                urg: None,
                fin: false,
                peer_closed: false,
                shut_rd: false,
                shut_wr: false,
                err: 0,
                reset: false,
                backlog: VecDeque::new(),
                max_backlog: 0,
                opts: Opts::default(),
                bytes_sent: 0,
                bytes_received: 0,
                in_progress: false,
            }),
            ino: Default::default(),
            uid: Default::default(),
        });
        register(&t);
        t
    }

    /// The pending connections of a listener (`sk_ack_backlog`).
    pub fn backlog_len(&self) -> usize {
        self.st.lock().backlog.len()
    }

    /// Wakes everyone waiting on this socket.
    pub fn wake(&self) {
        self.pollee.notify(PollEvents::all());
    }

    /// The state `tcp_info`, `/proc/net/tcp` and `ss` show.
    pub fn state(&self) -> TcpState {
        let st = self.st.lock();
        Self::state_of(&st)
    }

    fn state_of(st: &St) -> TcpState {
        if st.listening {
            return TcpState::Listen;
        }
        if st.connecting {
            return TcpState::SynSent;
        }
        if !st.connected || st.reset {
            return TcpState::Close;
        }
        match (st.shut_wr, st.fin) {
            (false, false) => TcpState::Established,
            (false, true) => TcpState::CloseWait,
            (true, false) => TcpState::FinWait2,
            (true, true) => TcpState::Close,
        }
    }

    /// Room left in this socket's receive queue.
    pub fn room(&self) -> usize {
        let st = self.st.lock();
        WINDOW.saturating_sub(st.rx.len())
    }

    /// Queues `data` received from the peer (at most the room there is); returns how much.
    /// `urgent`: the last byte is urgent (`MSG_OOB`).
    pub fn deliver(&self, data: &[u8], urgent: bool) -> usize {
        let mut st = self.st.lock();
        let take = data.len().min(WINDOW.saturating_sub(st.rx.len()));
        st.rx.extend(&data[..take]);
        st.bytes_received += take as u64;
        if urgent && take == data.len() && take > 0 {
            let seq = st.rx_seq + st.rx.len() as u64 - 1;
            st.urg = Some(Urgent { seq, byte: data[take - 1], read: false });
        }
        drop(st);
        if take > 0 {
            self.wake();
        }
        take
    }

    /// The peer sent its FIN (`tcp_fin`).
    pub fn deliver_fin(&self) {
        self.st.lock().fin = true;
        self.wake();
    }

    /// The peer reset the connection (`tcp_reset`): `ECONNREFUSED` while connecting,
    /// `EPIPE` in `CLOSE_WAIT`, `ECONNRESET` otherwise; both directions shut.
    pub fn deliver_reset(&self) {
        let mut st = self.st.lock();
        st.err = if st.connecting {
            n_err(Errno::ECONNREFUSED)
        } else if st.fin {
            n_err(Errno::EPIPE)
        } else {
            n_err(Errno::ECONNRESET)
        };
        st.connecting = false;
        st.reset = true;
        st.shut_rd = true;
        st.shut_wr = true;
        st.peer = Peer::None;
        st.peer_closed = false;
        drop(st);
        self.wake();
    }

    /// The relay's host connection completed (`Ok`) or failed (`Err(errno)`).
    pub fn connect_done(&self, r: Result<(), Errno>) {
        let mut st = self.st.lock();
        st.connecting = false;
        match r {
            Ok(()) => st.connected = true,
            Err(e) => {
                st.err = n_err(e);
                st.peer = Peer::None;
                st.reset = true;
            }
        }
        drop(st);
        self.wake();
    }

    /// The peer closed its last descriptor after a FIN.
    fn peer_gone(&self) {
        let mut st = self.st.lock();
        st.peer = Peer::None;
        st.peer_closed = true;
        st.fin = true;
        drop(st);
        self.wake();
    }
}

fn n_err(e: Errno) -> i32 {
    e.raw()
}

/// The binding a socket asks for, from its options.
fn binding(t: &Tcp, st: &St, ip: std::net::IpAddr, port: u16, uid: u32) -> Binding {
    let v6only = st.opts.on(opts::SOL_IPV6, opts::IPV6_V6ONLY);
    Binding {
        port,
        set: super::ports::AddrSet::of(t.fam, ip, v6only),
        reuse_addr: t.common.flag(SockFlag::ReuseAddr),
        reuse_port: t.common.flag(SockFlag::ReusePort),
        uid,
    }
}

/// `inet_bind`/`inet6_bind` for TCP.
pub fn bind(t: &Arc<Tcp>, task: &mut dyn SockTask, a: &[u8]) -> KResult<()> {
    let uid = task.peer_ucred().uid;
    let v6only = t.st.lock().opts.on(opts::SOL_IPV6, opts::IPV6_V6ONLY);
    let (ip, port) = super::ports::check_bind(t.fam, a, v6only, uid)?;
    let b = {
        let st = t.st.lock();
        if st.bound.is_some() || st.connected || st.listening {
            return Err(Errno::EINVAL);
        }
        binding(t, &st, ip, port, uid)
    };
    let (id, port) = TABLE.lock().bind(b, t, false)?;
    let mut st = t.st.lock();
    st.bound = Some((id, port));
    st.local = Some(SocketAddr::new(ip, port));
    t.uid.store(uid, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Binds to an ephemeral port on `ip` (`inet_autobind`/`__inet_hash_connect`).
fn autobind(t: &Arc<Tcp>, ip: std::net::IpAddr, uid: u32) -> KResult<()> {
    let b = {
        let st = t.st.lock();
        if st.bound.is_some() {
            return Ok(());
        }
        binding(t, &st, ip, 0, uid)
    };
    let (id, port) = TABLE.lock().bind(b, t, false)?;
    let mut st = t.st.lock();
    st.bound = Some((id, port));
    st.local = Some(SocketAddr::new(ip, port));
    Ok(())
}

/// `inet_listen`: `EINVAL` unless unconnected; binds an ephemeral port first if unbound.
pub fn listen(t: &Arc<Tcp>, backlog: i32, uid: u32) -> KResult<()> {
    {
        let st = t.st.lock();
        if st.connected || st.connecting {
            return Err(Errno::EINVAL);
        }
    }
    let any = t.fam.any().ip();
    autobind(t, any, uid)?;
    let (id, port) = t.st.lock().bound.ok_or(Errno::EINVAL)?;
    if !t.st.lock().listening {
        TABLE.lock().check_listen(id, port)?;
    }
    let mut st = t.st.lock();
    st.listening = true;
    st.max_backlog = usize::try_from(backlog).unwrap_or(0);
    st.shut_rd = false;
    st.shut_wr = false;
    drop(st);
    t.wake();
    Ok(())
}

/// `inet_stream_connect`: `AF_UNSPEC` disconnects; `EISCONN` when connected or listening,
/// `EALREADY` while a non-blocking connect is in progress; an own address connects to a guest
/// listener (`ECONNREFUSED` if none), any other goes through the relay.
pub fn connect(t: &Arc<Tcp>, task: &mut dyn SockTask, a: &[u8]) -> KResult<()> {
    if a.len() < 2 {
        return Err(Errno::EINVAL);
    }
    if u16::from_ne_bytes([a[0], a[1]]) as i32 == n::AF_UNSPEC {
        return disconnect(t);
    }
    {
        let mut st = t.st.lock();
        if st.in_progress {
            if st.connecting {
                return Err(Errno::EALREADY);
            }
            // `SS_CONNECTING` → connected, or the error that ended it (`ECONNABORTED` if
            // `SO_ERROR` took it already).
            st.in_progress = false;
            if st.connected && !st.reset {
                return Ok(());
            }
            let e = std::mem::take(&mut st.err);
            return Err(if e != 0 { Errno::from_raw(e) } else { Errno::ECONNABORTED });
        }
        if st.connected || st.listening {
            return Err(Errno::EISCONN);
        }
        if st.reset {
            return Err(Errno::EISCONN);
        }
    }
    let (sa, _) = addr::parse(t.fam, a, false)?;
    let v6only = t.st.lock().opts.on(opts::SOL_IPV6, opts::IPV6_V6ONLY);
    let dst_ip = addr::unwild(addr::canonical(sa.ip()));
    if t.fam == Fam::V6 && sa.ip().is_ipv6() && dst_ip.is_ipv4() && v6only {
        return Err(Errno::ENETUNREACH);
    }
    let dst = SocketAddr::new(dst_ip, sa.port());
    let uid = task.peer_ucred().uid;
    if addr::is_local(dst_ip) {
        let src_ip = {
            let st = t.st.lock();
            st.local.map(|l| l.ip()).filter(|ip| !ip.is_unspecified())
        };
        let src_ip = match src_ip {
            Some(ip) => ip,
            None => addr::source_for(dst_ip).ok_or(Errno::ENETUNREACH)?,
        };
        autobind(t, src_ip, uid)?;
        fix_local(t, src_ip);
        return connect_guest(t, task, dst);
    }
    super::relay::connect(t, task, dst, uid)
}

/// Fills in a local address still wildcard after binding (`inet_rcv_saddr` set by connect).
pub fn fix_local(t: &Tcp, src_ip: std::net::IpAddr) {
    let mut st = t.st.lock();
    if let Some(l) = st.local {
        if l.ip().is_unspecified() {
            st.local = Some(SocketAddr::new(src_ip, l.port()));
        }
    }
}

/// Binds for an outgoing connection to `dst` (the relay's autobind).
pub fn bind_for(t: &Arc<Tcp>, dst: std::net::IpAddr, uid: u32) -> KResult<()> {
    let src_ip = addr::source_for(dst).ok_or(Errno::ENETUNREACH)?;
    autobind(t, src_ip, uid)?;
    fix_local(t, src_ip);
    Ok(())
}

/// Connects to the guest listener at `dst`, waiting while its backlog is full.
fn connect_guest(t: &Arc<Tcp>, task: &mut dyn SockTask, dst: SocketAddr) -> KResult<()> {
    let src = t.st.lock().local.ok_or(Errno::EINVAL)?;
    let nonblock = !task.can_wait();
    loop {
        let listener = TABLE.lock().lookup(dst, src, |s: &Tcp| s.st.lock().listening);
        let Some(l) = listener else {
            if nonblock {
                let mut st = t.st.lock();
                st.err = n_err(Errno::ECONNREFUSED);
                st.in_progress = true;
                st.reset = true;
                return Err(Errno::EINPROGRESS);
            }
            return Err(Errno::ECONNREFUSED);
        };
        let full = {
            let ls = l.st.lock();
            ls.backlog.len() > ls.max_backlog
        };
        if full && !nonblock {
            task.wait(&[&l.pollee], writable())?;
            continue;
        }
        let child = Tcp::new(l.fam);
        child.common.inherit_from(&l.common);
        for f in [SockFlag::KeepAlive, SockFlag::OobInline, SockFlag::Linger] {
            child.common.set_flag(f, l.common.flag(f));
        }
        {
            let mut cs = child.st.lock();
            cs.connected = true;
            cs.local = Some(dst);
            cs.remote = Some(src);
            cs.peer = Peer::Guest(t.clone());
        }
        {
            let mut st = t.st.lock();
            st.connected = true;
            st.remote = Some(dst);
            st.peer = Peer::Guest(child.clone());
            if nonblock {
                st.in_progress = true;
            }
        }
        l.st.lock().backlog.push_back(child);
        l.wake();
        t.wake();
        return if nonblock { Err(Errno::EINPROGRESS) } else { Ok(()) };
    }
}

/// Records that a non-blocking connect answered `EINPROGRESS` (`SS_CONNECTING`).
pub fn mark_in_progress(t: &Tcp) {
    t.st.lock().in_progress = true;
}

/// Queues `child`, connected as `local` ↔ `remote` to `peer`, on `listener`'s backlog (a
/// connection `--publish` brought in from the host).
pub fn queue_accepted(listener: &Arc<Tcp>, child: &Arc<Tcp>, local: SocketAddr, remote: SocketAddr, peer: Peer) {
    child.common.inherit_from(&listener.common);
    {
        let mut cs = child.st.lock();
        cs.connected = true;
        cs.local = Some(local);
        cs.remote = Some(remote);
        cs.peer = peer;
    }
    listener.st.lock().backlog.push_back(child.clone());
    listener.wake();
}

/// `connect(AF_UNSPEC)` (`tcp_disconnect`): resets a connection and leaves the socket closed
/// and reusable.
fn disconnect(t: &Arc<Tcp>) -> KResult<()> {
    let peer = {
        let mut st = t.st.lock();
        st.listening = false;
        st.connected = false;
        st.connecting = false;
        st.in_progress = false;
        st.remote = None;
        st.rx.clear();
        st.fin = false;
        st.shut_rd = false;
        st.shut_wr = false;
        st.reset = false;
        st.peer_closed = false;
        std::mem::replace(&mut st.peer, Peer::None)
    };
    reset_peer(peer);
    let backlog: Vec<Arc<Tcp>> = t.st.lock().backlog.drain(..).collect();
    for c in backlog {
        reset(&c);
    }
    t.wake();
    Ok(())
}

fn reset_peer(peer: Peer) {
    match peer {
        Peer::Guest(p) => p.deliver_reset(),
        Peer::Host(h) => h.abort(),
        Peer::None => {}
    }
}

/// `inet_accept`: `EINVAL` unless listening; the next connection, waiting unless the caller
/// may not (`EAGAIN`).
pub fn accept(t: &Arc<Tcp>, task: &mut dyn SockTask) -> KResult<Arc<Tcp>> {
    loop {
        {
            let mut st = t.st.lock();
            if !st.listening {
                return Err(Errno::EINVAL);
            }
            if let Some(c) = st.backlog.pop_front() {
                drop(st);
                t.wake();
                return Ok(c);
            }
        }
        task.wait(&[&t.pollee], readable())?;
    }
}

/// `tcp_sendmsg`: `EPIPE` (with `SIGPIPE` unless `MSG_NOSIGNAL`) when not connected or shut
/// for writing; a pending error first; waits for room in the peer's queue.
pub fn sendmsg(t: &Arc<Tcp>, msg: &mut SendMsg<'_>, task: &mut dyn SockTask) -> KResult<usize> {
    let nosignal = msg.flags.contains(MsgFlags::NOSIGNAL);
    let pipe = |task: &mut dyn SockTask| {
        if !nosignal {
            task.sigpipe();
        }
        Err(Errno::EPIPE)
    };
    let oob = msg.flags.contains(MsgFlags::OOB);
    let len = msg.data.len();
    let mut sent = 0usize;
    loop {
        let peer = {
            let mut st = t.st.lock();
            if st.connecting {
                drop(st);
                if sent == 0 {
                    task.wait(&[&t.pollee], writable())?;
                    continue;
                }
                return Ok(sent);
            }
            if st.err != 0 {
                let e = Errno::from_raw(std::mem::take(&mut st.err));
                drop(st);
                if sent > 0 {
                    return Ok(sent);
                }
                if e == Errno::EPIPE {
                    return pipe(task);
                }
                return Err(e);
            }
            if st.shut_wr || !st.connected {
                drop(st);
                return if sent > 0 { Ok(sent) } else { pipe(task) };
            }
            match &st.peer {
                Peer::Guest(p) => Peer::Guest(p.clone()),
                Peer::Host(h) => Peer::Host(h.clone()),
                Peer::None => {
                    // The peer closed after its FIN: the data is answered by a reset.
                    st.err = n_err(Errno::EPIPE);
                    st.reset = true;
                    st.shut_rd = true;
                    st.shut_wr = true;
                    st.peer_closed = false;
                    st.bytes_sent += (len - sent) as u64;
                    drop(st);
                    t.wake();
                    return Ok(len);
                }
            }
        };
        if msg.fault && sent == len {
            return if sent > 0 { Ok(sent) } else { Err(Errno::EFAULT) };
        }
        let rest = &msg.data[sent..];
        let n = match &peer {
            Peer::Guest(p) => p.deliver(rest, oob),
            Peer::Host(h) => h.send(rest)?,
            Peer::None => 0,
        };
        sent += n;
        t.st.lock().bytes_sent += n as u64;
        if sent == len && !msg.fault {
            return Ok(sent);
        }
        if n > 0 && msg.flags.contains(MsgFlags::DONTWAIT) {
            return Ok(sent);
        }
        let waiton = match &peer {
            Peer::Guest(p) => &p.pollee,
            _ => &t.pollee,
        };
        if let Err(e) = task.wait(&[waiton, &t.pollee], PollEvents::all()) {
            return if sent > 0 { Ok(sent) } else { Err(e) };
        }
    }
}

/// `tcp_recvmsg`: `ENOTCONN` on a listener or a never-connected socket; reads up to the
/// urgent mark; waits until the low-water mark (`MSG_WAITALL`: the whole buffer) unless the
/// connection ended, an error is pending, or the caller may not wait.
pub fn recvmsg(t: &Arc<Tcp>, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize> {
    if flags.contains(MsgFlags::OOB) {
        return recv_urgent(t, buf, msg, flags);
    }
    if flags.contains(MsgFlags::ERRQUEUE) {
        return Err(Errno::EAGAIN);
    }
    let peek = flags.contains(MsgFlags::PEEK);
    let size = buf.len();
    let target = if flags.contains(MsgFlags::WAITALL) { size } else { t.common.rcvlowat().min(size) }.max(1);
    let mut copied = 0usize;
    loop {
        let mut st = t.st.lock();
        if st.listening {
            return Err(Errno::ENOTCONN);
        }
        let inline = t.common.flag(SockFlag::OobInline);
        let stop = copy_out(&mut st, &mut buf[copied..], peek, inline, &mut copied);
        let peer = match &st.peer {
            Peer::Guest(p) if copied > 0 && !peek => Some(p.clone()),
            _ => None,
        };
        let host = match &st.peer {
            Peer::Host(h) if copied > 0 && !peek => Some(h.clone()),
            _ => None,
        };
        if copied >= target || copied == size || (peek && copied > 0) || stop {
            drop(st);
            wake_sender(peer, host);
            return Ok(copied);
        }
        if copied == 0 {
            if st.fin && st.err == 0 {
                return Ok(0);
            }
            if st.err != 0 {
                let e = std::mem::take(&mut st.err);
                return Err(Errno::from_raw(e));
            }
            if st.shut_rd || st.fin {
                return Ok(0);
            }
            if !st.connected && !st.connecting {
                return Err(Errno::ENOTCONN);
            }
        } else if st.err != 0 || st.fin || st.shut_rd || !st.connected {
            drop(st);
            wake_sender(peer, host);
            return Ok(copied);
        }
        drop(st);
        wake_sender(peer, host);
        if let Err(e) = task.wait(&[&t.pollee], readable()) {
            return if copied > 0 { Ok(copied) } else { Err(e) };
        }
    }
}

fn wake_sender(peer: Option<Arc<Tcp>>, host: Option<Arc<HostConn>>) {
    if let Some(p) = peer {
        p.wake();
    }
    if let Some(h) = host {
        h.rx_drained();
    }
}

/// Copies queued bytes into `out` (advancing `copied`), stopping before the urgent mark
/// when data was already copied and skipping an out-of-band urgent byte; true if the read
/// must end at the mark.
fn copy_out(st: &mut St, out: &mut [u8], peek: bool, inline: bool, copied: &mut usize) -> bool {
    let mut pos = 0usize;
    let mut seq = st.rx_seq;
    let mut skipped = 0usize;
    let mut stop = false;
    let mut w = 0usize;
    while w < out.len() && pos < st.rx.len() {
        if let Some(u) = st.urg {
            if u.seq == seq {
                if *copied + w > 0 {
                    stop = true;
                    break;
                }
                if !inline {
                    pos += 1;
                    seq += 1;
                    skipped += 1;
                    continue;
                }
            }
        }
        let mut end = st.rx.len().min(pos + (out.len() - w));
        if let Some(u) = st.urg {
            if u.seq > seq {
                end = end.min(pos + (u.seq - seq) as usize);
            }
        }
        let (a, b) = st.rx.as_slices();
        let mut i = pos;
        while i < end {
            let (src, off) = if i < a.len() { (a, i) } else { (b, i - a.len()) };
            let n = (end - i).min(src.len() - off);
            out[w..w + n].copy_from_slice(&src[off..off + n]);
            w += n;
            i += n;
        }
        seq += (end - pos) as u64;
        pos = end;
        if st.urg.is_some_and(|u| u.seq == seq) && w > 0 {
            stop = true;
            break;
        }
    }
    *copied += w;
    if !peek {
        st.rx.drain(..pos);
        st.rx_seq += pos as u64;
        if st.urg.is_some_and(|u| u.seq < st.rx_seq) {
            st.urg = None;
        }
    }
    let _ = skipped;
    stop && w > 0
}

/// `tcp_recv_urg`: the urgent byte (`EINVAL` with `SO_OOBINLINE`, none, or already read;
/// `EAGAIN` if it has not arrived and the connection is open).
fn recv_urgent(t: &Arc<Tcp>, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags) -> KResult<usize> {
    let mut st = t.st.lock();
    if t.common.flag(SockFlag::OobInline) {
        return Err(Errno::EINVAL);
    }
    match st.urg {
        Some(u) if !u.read => {
            if buf.is_empty() {
                msg.flags |= MsgFlags::TRUNC;
                return Ok(0);
            }
            buf[0] = u.byte;
            if !flags.contains(MsgFlags::PEEK) {
                if let Some(x) = st.urg.as_mut() {
                    x.read = true;
                }
            }
            msg.flags |= MsgFlags::OOB;
            Ok(1)
        }
        Some(_) => Err(Errno::EINVAL),
        None if st.fin || !st.connected => Ok(0),
        None => Err(Errno::EINVAL),
    }
}

/// `inet_shutdown` for TCP: `ENOTCONN` unless connected (a listener shut for reading stops
/// listening); `SHUT_WR` sends the FIN.
pub fn shutdown(t: &Arc<Tcp>, how: i32) -> KResult<()> {
    let (rd, wr) = match how {
        n::SHUT_RD => (true, false),
        n::SHUT_WR => (false, true),
        n::SHUT_RDWR => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    let mut st = t.st.lock();
    if st.listening {
        if rd {
            drop(st);
            stop_listening(t);
        }
        return Ok(());
    }
    if !st.connected && !st.connecting {
        // `inet_shutdown` still records the flags.
        st.shut_rd |= rd;
        st.shut_wr |= wr;
        drop(st);
        t.wake();
        return Err(Errno::ENOTCONN);
    }
    st.shut_rd |= rd;
    let send_fin = wr && !st.shut_wr;
    st.shut_wr |= wr;
    let peer = match &st.peer {
        Peer::Guest(p) if send_fin => Peer::Guest(p.clone()),
        Peer::Host(h) if send_fin => Peer::Host(h.clone()),
        _ => Peer::None,
    };
    drop(st);
    match peer {
        Peer::Guest(p) => p.deliver_fin(),
        Peer::Host(h) => h.shutdown_write(),
        Peer::None => {}
    }
    t.wake();
    Ok(())
}

fn stop_listening(t: &Arc<Tcp>) {
    let pending: Vec<Arc<Tcp>> = {
        let mut st = t.st.lock();
        st.listening = false;
        st.backlog.drain(..).collect()
    };
    for c in pending {
        reset(&c);
    }
    t.wake();
}

/// Resets connection `t` and frees it (a pending connection its listener dropped).
fn reset(t: &Arc<Tcp>) {
    let (peer, bound) = {
        let mut st = t.st.lock();
        st.rx.clear();
        (std::mem::replace(&mut st.peer, Peer::None), st.bound.take())
    };
    reset_peer(peer);
    if let Some((id, port)) = bound {
        TABLE.lock().unbind(id, port);
    }
}

/// The last descriptor is gone (`tcp_close`): a listener resets its pending connections; a
/// connection with unread data (or `SO_LINGER` 0) resets its peer, otherwise sends a FIN.
pub fn release(t: &Arc<Tcp>) {
    stop_listening(t);
    let linger0 = t.common.flag(SockFlag::Linger) && t.common.linger_secs.load(std::sync::atomic::Ordering::Relaxed) == 0;
    let (peer, unread, bound) = {
        let mut st = t.st.lock();
        let unread = !st.rx.is_empty();
        st.rx.clear();
        (std::mem::replace(&mut st.peer, Peer::None), unread, st.bound.take())
    };
    match peer {
        Peer::Guest(p) if unread || linger0 => p.deliver_reset(),
        Peer::Guest(p) => p.peer_gone(),
        Peer::Host(h) if unread || linger0 => h.abort(),
        Peer::Host(h) => h.close(),
        Peer::None => {}
    }
    if let Some((id, port)) = bound {
        TABLE.lock().unbind(id, port);
    }
}

/// `tcp_poll`.
pub fn poll(t: &Tcp) -> PollEvents {
    let st = t.st.lock();
    let mut ev = PollEvents::empty();
    if st.listening {
        if !st.backlog.is_empty() {
            ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
        }
        return ev;
    }
    let closed = !st.connected && !st.connecting;
    if (st.shut_rd && st.shut_wr) || closed || st.reset {
        ev |= PollEvents::POLLHUP;
    }
    if st.fin || st.shut_rd {
        ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLRDHUP;
    }
    if st.connecting {
        return ev;
    }
    let inline = t.common.flag(SockFlag::OobInline);
    let urgent_only = st.urg.is_some_and(|u| !inline && u.seq == st.rx_seq && st.rx.len() == 1);
    if !st.rx.is_empty() && !urgent_only {
        ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
    }
    if !st.shut_wr {
        let room = match &st.peer {
            Peer::Guest(p) => p.room() > 0,
            Peer::Host(h) => h.writable(),
            Peer::None => true,
        };
        if room {
            ev |= writable();
        }
    } else {
        ev |= writable();
    }
    if st.urg.is_some_and(|u| !u.read) {
        ev |= PollEvents::POLLPRI;
    }
    if st.err != 0 {
        ev |= PollEvents::POLLERR;
    }
    ev
}

/// `SO_ERROR`: takes the pending error.
pub fn take_error(t: &Tcp) -> i32 {
    std::mem::take(&mut t.st.lock().err)
}

/// The option context of the socket.
pub fn ctx(t: &Tcp, root: bool) -> Ctx {
    let st = t.st.lock();
    let mtu = (st.connected && !st.reset).then(|| match st.remote.map(|r| r.ip()) {
        Some(ip) if addr::is_local(ip) && addr::ifindex_of(ip) == 1 => LO_MTU.min(65535),
        _ => 1500,
    });
    Ctx { fam: t.fam, stream: true, bound: st.bound.is_some(), mtu, root }
}

/// `getsockopt` at the TCP/IP levels (`TCP_INFO` built here).
pub fn getsockopt(t: &Tcp, level: i32, opt: i32, len: usize) -> KResult<OptVal> {
    if level == opts::SOL_TCP && opt == opts::TCP_INFO {
        let info = tcp_info(t);
        return Ok(OptVal::Bytes(info[..len.min(info.len())].to_vec()));
    }
    let c = ctx(t, false);
    t.st.lock().opts.get(c, level, opt)
}

/// `struct tcp_info` (Linux 6.x layout, 232 bytes) with plausible values for a connection
/// without packets.
pub fn tcp_info(t: &Tcp) -> Vec<u8> {
    let state = t.state();
    let st = t.st.lock();
    let mut b = vec![0u8; 232];
    b[0] = state as u8;
    let established = matches!(state, TcpState::Established | TcpState::CloseWait | TcpState::FinWait2);
    let put32 = |b: &mut Vec<u8>, off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    let put64 = |b: &mut Vec<u8>, off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    if established {
        b[5] = 0x7; // TCPI_OPT_TIMESTAMPS | SACK | WSCALE
        b[6] = 0x77; // snd_wscale 7, rcv_wscale 7
        put32(&mut b, 8, 203_333); // rto (us)
        put32(&mut b, 12, 40_000); // ato
        put32(&mut b, 16, 32_768); // snd_mss
        put32(&mut b, 20, 536); // rcv_mss
        put32(&mut b, 60, 65_535); // pmtu
        put32(&mut b, 64, 65_483); // rcv_ssthresh
        put32(&mut b, 68, 50); // rtt
        put32(&mut b, 72, 25); // rttvar
        put32(&mut b, 76, i32::MAX as u32); // snd_ssthresh
        put32(&mut b, 80, 10); // snd_cwnd
        put32(&mut b, 84, 65_483); // advmss
        put32(&mut b, 88, 3); // reordering
        put32(&mut b, 96, 65_483); // rcv_space
    } else {
        put32(&mut b, 8, 1_000_000);
        put32(&mut b, 16, 536);
        put32(&mut b, 20, 536);
        put32(&mut b, 80, 10);
        put32(&mut b, 88, 3);
    }
    put64(&mut b, 120, st.bytes_sent); // bytes_acked
    put64(&mut b, 128, st.bytes_received); // bytes_received
    put64(&mut b, 192, st.bytes_sent); // bytes_sent
    b
}

/// `tcp_ioctl`: `SIOCINQ` (`EINVAL` on a listener), `SIOCOUTQ` (0: data is delivered at once),
/// `SIOCATMARK`.
pub fn ioctl(t: &Tcp, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
    let st = t.st.lock();
    let v: i32 = match cmd {
        n::SIOCINQ => {
            if st.listening {
                return Err(Errno::EINVAL);
            }
            let urg_out = st.urg.is_some_and(|u| !u.read || !t.common.flag(SockFlag::OobInline)) && !t.common.flag(SockFlag::OobInline);
            i32::try_from(st.rx.len()).unwrap_or(i32::MAX) - i32::from(urg_out && st.urg.is_some_and(|u| u.seq >= st.rx_seq))
        }
        n::SIOCOUTQ => 0,
        SIOCATMARK => i32::from(st.urg.is_some_and(|u| u.seq == st.rx_seq)),
        _ => return Err(Errno::ENOTTY),
    };
    drop(st);
    mem.write(arg, &v.to_ne_bytes())?;
    Ok(0)
}

/// The names `getsockname`/`getpeername` show.
pub fn getname(t: &Tcp, peer: bool) -> KResult<Vec<u8>> {
    let st = t.st.lock();
    if peer {
        let r = st.remote.filter(|_| st.connected || st.connecting).ok_or(Errno::ENOTCONN)?;
        return Ok(addr::encode(t.fam, r));
    }
    Ok(addr::encode(t.fam, st.local.unwrap_or(t.fam.any())))
}

/// The socket as `Inet` wraps it (for `accept`).
pub fn wrap(t: Arc<Tcp>) -> Box<dyn crate::net::ProtoOps> {
    Box::new(Inet::Tcp(t))
}
