//! UDP sockets without packets (Linux's `net/ipv4/udp.c`, `net/ipv6/udp.c`,
//! `ip4_datagram_connect`, `datagram_poll`): a datagram to an own address goes straight into
//! the receive queue of the socket the port table picks (a broadcast into every socket on the
//! port); a datagram to any other address goes through the relay's host socket. A connected
//! socket that sends to a port nobody listens on gets `ECONNREFUSED` on its next call, as the
//! ICMP port-unreachable makes on Linux.

use super::addr::{self, Fam};
use super::opts::{self, Ctx, Opts};
use super::ports::{AddrSet, Bindable, Binding, Table};
use super::relay::HostUdp;
use crate::net::{OptVal, SockCommon, SockFlag};
use fs::klock::KMutex;
use fs::{PollEvents, Pollee, RecvMsg, SendMsg, SockTask, UserMemory};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use uapi::net::{self as n, MsgFlags};
use uapi::{Errno, KResult};

/// The UDP port table.
pub static TABLE: KMutex<Table<Udp>> = KMutex::new(Table::new());

/// The largest UDP payload over IPv4 (65535 less the IP and UDP headers).
const MAX_V4_PAYLOAD: usize = 65_507;
/// Over IPv6 (the payload length field counts the UDP header only).
const MAX_V6_PAYLOAD: usize = 65_527;
/// What one queued datagram costs the receive buffer beyond its data (an skb's truesize).
const DGRAM_OVERHEAD: usize = 768;

/// One queued datagram.
pub struct Dgram {
    /// Its source (canonical).
    pub src: SocketAddr,
    /// The address it was sent to (for `IP_PKTINFO`).
    pub dst: IpAddr,
    /// The payload.
    pub data: Vec<u8>,
}

/// A UDP socket's state under its lock.
pub struct St {
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    pub bound: Option<(u64, u16)>,
    /// `SOCK_BINDADDR_LOCK`/`SOCK_BINDPORT_LOCK`: bound by `bind`, not by `connect`/`sendto`.
    user_addr: bool,
    user_port: bool,
    pub rx: VecDeque<Dgram>,
    rx_bytes: usize,
    pub err: i32,
    pub shut_rd: bool,
    pub shut_wr: bool,
    pub opts: Opts,
    /// The host socket carrying this socket's datagrams to the outside (made on first use).
    pub relay: Option<Arc<HostUdp>>,
    pub drops: u64,
}

/// A UDP socket.
pub struct Udp {
    pub fam: Fam,
    pub common: SockCommon,
    pub pollee: Pollee,
    pub st: KMutex<St>,
    pub ino: std::sync::atomic::AtomicU64,
    pub uid: std::sync::atomic::AtomicU32,
}

impl Bindable for Udp {
    fn listening(&self) -> bool {
        false
    }
    fn connected_to(&self) -> Option<SocketAddr> {
        self.st.lock().remote
    }
}

impl Udp {
    /// A new unbound socket.
    pub fn new(fam: Fam) -> Arc<Udp> {
        Arc::new(Udp {
            fam,
            common: SockCommon::default(),
            pollee: Pollee::default(),
            st: KMutex::new(St {
                local: None,
                remote: None,
                bound: None,
                user_addr: false,
                user_port: false,
                rx: VecDeque::new(),
                rx_bytes: 0,
                err: 0,
                shut_rd: false,
                shut_wr: false,
                opts: Opts::default(),
                relay: None,
                drops: 0,
            }),
            ino: Default::default(),
            uid: Default::default(),
        })
    }

    fn wake(&self) {
        self.pollee.notify(PollEvents::all());
    }

    /// Queues a datagram from `src` sent to `dst` (dropped when the receive buffer is full,
    /// `__udp_enqueue_schedule_skb`).
    pub fn deliver(&self, src: SocketAddr, dst: IpAddr, data: &[u8]) {
        let mut st = self.st.lock();
        let cost = data.len() + DGRAM_OVERHEAD;
        if st.rx_bytes > 0 && st.rx_bytes + cost > self.common.rcvbuf().max(0) as usize {
            st.drops += 1;
            return;
        }
        st.rx_bytes += cost;
        st.rx.push_back(Dgram { src, dst, data: data.to_vec() });
        drop(st);
        self.wake();
    }

    /// Queues a datagram the relay received from the outside (`src` as the guest sees it);
    /// a connected socket drops datagrams from others.
    pub fn deliver_from_outside(&self, src: SocketAddr, data: &[u8]) {
        let (remote, local) = {
            let st = self.st.lock();
            (st.remote, st.local)
        };
        if remote.is_some_and(|r| r != src) {
            return;
        }
        let dst = local.map(|l| l.ip()).filter(|ip| !ip.is_unspecified()).unwrap_or(IpAddr::V4(addr::ETH0_ADDR));
        self.deliver(src, dst, data);
    }

    /// Records an error the network reported (an ICMP error: `ECONNREFUSED`...).
    pub fn set_err(&self, e: Errno) {
        self.st.lock().err = e.raw();
        self.wake();
    }
}

/// The binding for `ip`/`port` with the socket's options.
fn binding(u: &Udp, st: &St, ip: IpAddr, port: u16, uid: u32) -> Binding {
    let v6only = st.opts.on(opts::SOL_IPV6, opts::IPV6_V6ONLY);
    Binding {
        port,
        set: AddrSet::of(u.fam, ip, v6only),
        reuse_addr: u.common.flag(SockFlag::ReuseAddr),
        reuse_port: u.common.flag(SockFlag::ReusePort),
        uid,
    }
}

/// `inet_bind`/`inet6_bind` for UDP.
pub fn bind(u: &Arc<Udp>, task: &mut dyn SockTask, a: &[u8]) -> KResult<()> {
    let uid = task.peer_ucred().uid;
    let v6only = u.st.lock().opts.on(opts::SOL_IPV6, opts::IPV6_V6ONLY);
    let (ip, port) = super::ports::check_bind(u.fam, a, v6only, uid)?;
    let b = {
        let st = u.st.lock();
        if st.bound.is_some() {
            return Err(Errno::EINVAL);
        }
        binding(u, &st, ip, port, uid)
    };
    let (id, port) = TABLE.lock().bind(b, u, true)?;
    let mut st = u.st.lock();
    st.bound = Some((id, port));
    st.local = Some(SocketAddr::new(ip, port));
    st.user_addr = !ip.is_unspecified();
    st.user_port = port != 0;
    u.uid.store(uid, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Binds an ephemeral port on the wildcard address if unbound (`inet_autobind`).
fn autobind(u: &Arc<Udp>, uid: u32) -> KResult<()> {
    let b = {
        let st = u.st.lock();
        if st.bound.is_some() {
            return Ok(());
        }
        binding(u, &st, u.fam.any().ip(), 0, uid)
    };
    let (id, port) = TABLE.lock().bind(b, u, true)?;
    let mut st = u.st.lock();
    st.bound = Some((id, port));
    st.local = Some(SocketAddr::new(u.fam.any().ip(), port));
    u.uid.store(uid, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Decodes a destination for `connect`/`sendto` on a socket of `fam` (an IPv6 socket also
/// takes an `AF_INET` address, as `udpv6_sendmsg` does); canonical, the wildcard meaning
/// loopback. `ENETUNREACH` for an IPv4 destination of an `IPV6_V6ONLY` socket.
fn dest(u: &Udp, a: &[u8]) -> KResult<SocketAddr> {
    let family = a.get(..2).map(|b| i32::from(u16::from_ne_bytes([b[0], b[1]])));
    let sa = match (u.fam, family) {
        (Fam::V6, Some(n::AF_INET)) => addr::parse(Fam::V4, a, false)?.0,
        (Fam::V4, Some(n::AF_UNSPEC)) if a.len() >= addr::SOCKADDR_IN_LEN => {
            let mut b = a.to_vec();
            b[..2].copy_from_slice(&(n::AF_INET as u16).to_ne_bytes());
            addr::parse(Fam::V4, &b, false)?.0
        }
        _ => addr::parse(u.fam, a, false)?.0,
    };
    let ip = addr::unwild(addr::canonical(sa.ip()));
    if u.fam == Fam::V6 && ip.is_ipv4() && u.st.lock().opts.on(opts::SOL_IPV6, opts::IPV6_V6ONLY) {
        return Err(Errno::ENETUNREACH);
    }
    Ok(SocketAddr::new(ip, sa.port()))
}

/// `ip4_datagram_connect`/`ip6_datagram_connect`: `AF_UNSPEC` disconnects (unbinding an
/// autobound port); a broadcast needs `SO_BROADCAST` (`EACCES`); an unreachable destination is
/// `ENETUNREACH`.
pub fn connect(u: &Arc<Udp>, task: &mut dyn SockTask, a: &[u8]) -> KResult<()> {
    if a.len() < 2 {
        return Err(Errno::EINVAL);
    }
    if i32::from(u16::from_ne_bytes([a[0], a[1]])) == n::AF_UNSPEC {
        return disconnect(u);
    }
    let dst = dest(u, a)?;
    if addr::is_broadcast(dst.ip()) && !u.common.flag(SockFlag::Broadcast) {
        return Err(Errno::EACCES);
    }
    let src_ip = route(dst.ip())?;
    autobind(u, task.peer_ucred().uid)?;
    let mut st = u.st.lock();
    if let Some(l) = st.local {
        if l.ip().is_unspecified() {
            st.local = Some(SocketAddr::new(src_ip, l.port()));
        }
    }
    st.remote = Some(dst);
    Ok(())
}

/// The source address for `dst` (`ENETUNREACH` if no route: the outside under `--net none`,
/// IPv6 beyond `::1`).
fn route(dst: IpAddr) -> KResult<IpAddr> {
    if addr::is_broadcast(dst) || dst.is_multicast() {
        return addr::source_for(IpAddr::V4(addr::GATEWAY)).ok_or(Errno::ENETUNREACH);
    }
    addr::source_for(dst).ok_or(Errno::ENETUNREACH)
}

fn disconnect(u: &Arc<Udp>) -> KResult<()> {
    let mut st = u.st.lock();
    st.remote = None;
    if !st.user_addr {
        if let Some(l) = st.local {
            st.local = Some(SocketAddr::new(u.fam.any().ip(), l.port()));
        }
    }
    if !st.user_port {
        if let Some((id, port)) = st.bound.take() {
            st.local = None;
            drop(st);
            TABLE.lock().unbind(id, port);
        }
    }
    Ok(())
}

/// `udp_sendmsg`/`udpv6_sendmsg`: `EDESTADDRREQ` without a destination, `EMSGSIZE` above the
/// largest payload, `EINVAL` for port 0, `EACCES` for a broadcast without `SO_BROADCAST`,
/// `ENETUNREACH` with no route.
pub fn sendmsg(u: &Arc<Udp>, msg: &mut SendMsg<'_>, task: &mut dyn SockTask) -> KResult<usize> {
    if msg.flags.contains(MsgFlags::OOB) {
        return Err(Errno::EOPNOTSUPP);
    }
    let name = msg.name.filter(|a| !a.is_empty());
    let dst = match name {
        Some(a) => {
            let d = dest(u, a)?;
            if d.port() == 0 {
                return Err(Errno::EINVAL);
            }
            d
        }
        None => u.st.lock().remote.ok_or(Errno::EDESTADDRREQ)?,
    };
    let max = if dst.is_ipv4() { MAX_V4_PAYLOAD } else { MAX_V6_PAYLOAD };
    if msg.data.len() > max {
        return Err(Errno::EMSGSIZE);
    }
    if msg.fault {
        return Err(Errno::EFAULT);
    }
    let bcast = addr::is_broadcast(dst.ip());
    if bcast && !u.common.flag(SockFlag::Broadcast) {
        return Err(Errno::EACCES);
    }
    let src_ip = route(dst.ip())?;
    {
        let mut st = u.st.lock();
        if st.err != 0 {
            let e = std::mem::take(&mut st.err);
            return Err(Errno::from_raw(e));
        }
    }
    autobind(u, task.peer_ucred().uid)?;
    let local = u.st.lock().local.ok_or(Errno::EINVAL)?;
    let src_ip = if local.ip().is_unspecified() { src_ip } else { local.ip() };
    let src = SocketAddr::new(src_ip, local.port());
    if bcast {
        let all = TABLE.lock().all_on(dst);
        for r in all {
            r.deliver(src, dst.ip(), msg.data);
        }
        return Ok(msg.data.len());
    }
    if addr::is_local(dst.ip()) {
        let r = TABLE.lock().lookup(dst, src, |_| true);
        match r {
            Some(r) => r.deliver(src, dst.ip(), msg.data),
            None => {
                let st = u.st.lock();
                let connected = st.remote.is_some();
                let recverr = st.opts.on(opts::SOL_IP, opts::IP_RECVERR) || st.opts.on(opts::SOL_IPV6, opts::IPV6_RECVERR);
                drop(st);
                if connected || recverr {
                    u.set_err(Errno::ECONNREFUSED);
                }
            }
        }
        return Ok(msg.data.len());
    }
    super::relay::udp_send(u, dst, msg.data)
}

/// `udp_recvmsg`: a pending error first; waits for a datagram unless the caller may not;
/// `MSG_TRUNC` reports the full length; `IP_PKTINFO`/`IPV6_RECVPKTINFO` control messages.
pub fn recvmsg(u: &Arc<Udp>, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize> {
    if flags.contains(MsgFlags::OOB) {
        return Err(Errno::EINVAL);
    }
    if flags.contains(MsgFlags::ERRQUEUE) {
        return Err(Errno::EAGAIN);
    }
    loop {
        let mut st = u.st.lock();
        if st.err != 0 {
            let e = std::mem::take(&mut st.err);
            return Err(Errno::from_raw(e));
        }
        let peek = flags.contains(MsgFlags::PEEK);
        let d = if peek { st.rx.front().map(|d| Dgram { src: d.src, dst: d.dst, data: d.data.clone() }) } else { st.rx.pop_front() };
        if let Some(d) = d {
            if !peek {
                st.rx_bytes = st.rx_bytes.saturating_sub(d.data.len() + DGRAM_OVERHEAD);
            }
            let pktinfo = st.opts.on(opts::SOL_IP, opts::IP_PKTINFO);
            let pktinfo6 = st.opts.on(opts::SOL_IPV6, opts::IPV6_RECVPKTINFO);
            drop(st);
            let n = d.data.len().min(buf.len());
            buf[..n].copy_from_slice(&d.data[..n]);
            if d.data.len() > buf.len() {
                msg.flags |= MsgFlags::TRUNC;
            }
            if msg.want_name {
                msg.name = Some(addr::encode(u.fam, d.src));
            }
            add_pktinfo(u.fam, &d, pktinfo, pktinfo6, msg);
            if let Some(c) = u.common.timestamp_cmsg(crate::timers::clock::clock_now(uapi::flags::CLOCK_REALTIME).map_or(0, |t| t.as_nanos())) {
                msg.cmsgs.push(c);
            }
            return Ok(if flags.contains(MsgFlags::TRUNC) { d.data.len() } else { n });
        }
        if st.shut_rd {
            return Ok(0);
        }
        drop(st);
        task.wait(&[&u.pollee], PollEvents::POLLIN | PollEvents::POLLRDNORM)?;
    }
}

/// The `IP_PKTINFO` (`struct in_pktinfo`) and `IPV6_PKTINFO` (`struct in6_pktinfo`) control
/// messages for a datagram, as asked.
fn add_pktinfo(fam: Fam, d: &Dgram, v4: bool, v6: bool, msg: &mut RecvMsg) {
    let ifindex = addr::ifindex_of(d.dst);
    if v4 {
        if let IpAddr::V4(dst) = d.dst {
            let mut b = ifindex.to_ne_bytes().to_vec();
            let spec = if addr::is_local(d.dst) { dst } else { addr::source_for(d.dst).map_or(dst, |s| if let IpAddr::V4(s) = s { s } else { dst }) };
            b.extend_from_slice(&spec.octets());
            b.extend_from_slice(&dst.octets());
            msg.cmsgs.push((opts::SOL_IP, opts::IP_PKTINFO, b));
        }
    }
    if v6 && fam == Fam::V6 {
        let a = match d.dst {
            IpAddr::V4(v) => v.to_ipv6_mapped(),
            IpAddr::V6(v) => v,
        };
        let mut b = a.octets().to_vec();
        b.extend_from_slice(&ifindex.to_ne_bytes());
        msg.cmsgs.push((opts::SOL_IPV6, opts::IPV6_PKTINFO, b));
    }
}

/// `inet_shutdown` for a datagram socket — `ENOTCONN` unless
/// connected (the flags are still set, as Linux sets them).
pub fn shutdown(u: &Arc<Udp>, how: i32) -> KResult<()> {
    let (rd, wr) = match how {
        n::SHUT_RD => (true, false),
        n::SHUT_WR => (false, true),
        n::SHUT_RDWR => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    let mut st = u.st.lock();
    st.shut_rd |= rd;
    st.shut_wr |= wr;
    let connected = st.remote.is_some();
    drop(st);
    u.wake();
    if connected {
        Ok(())
    } else {
        Err(Errno::ENOTCONN)
    }
}

/// Unbinds and drops the host socket.
pub fn release(u: &Arc<Udp>) {
    let (bound, relay) = {
        let mut st = u.st.lock();
        st.rx.clear();
        (st.bound.take(), st.relay.take())
    };
    if let Some((id, port)) = bound {
        TABLE.lock().unbind(id, port);
    }
    if let Some(r) = relay {
        r.close();
    }
}

/// `udp_poll` (`datagram_poll`).
pub fn poll(u: &Udp) -> PollEvents {
    let st = u.st.lock();
    let mut ev = PollEvents::POLLOUT | PollEvents::POLLWRNORM | PollEvents::POLLWRBAND;
    if !st.rx.is_empty() {
        ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
    }
    if st.shut_rd {
        ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLRDHUP;
    }
    if st.shut_rd && st.shut_wr {
        ev |= PollEvents::POLLHUP;
    }
    if st.err != 0 {
        ev |= PollEvents::POLLERR;
    }
    ev
}

/// The option context.
pub fn ctx(u: &Udp, root: bool) -> Ctx {
    let st = u.st.lock();
    let mtu = st.remote.map(|r| if addr::is_local(r.ip()) && addr::ifindex_of(r.ip()) == 1 { 65536 } else { 1500 });
    Ctx { fam: u.fam, stream: false, bound: st.bound.is_some(), mtu, root }
}

/// `getsockopt` at the UDP/IP levels.
pub fn getsockopt(u: &Udp, level: i32, opt: i32) -> KResult<OptVal> {
    let c = ctx(u, false);
    u.st.lock().opts.get(c, level, opt)
}

/// `udp_ioctl`: `SIOCINQ` is the first datagram's length, `SIOCOUTQ` 0.
pub fn ioctl(u: &Udp, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
    let v: i32 = match cmd {
        n::SIOCINQ => u.st.lock().rx.front().map_or(0, |d| d.data.len() as i32),
        n::SIOCOUTQ => 0,
        _ => return Err(Errno::ENOTTY),
    };
    mem.write(arg, &v.to_ne_bytes())?;
    Ok(0)
}

/// The names `getsockname`/`getpeername` show.
pub fn getname(u: &Udp, peer: bool) -> KResult<Vec<u8>> {
    let st = u.st.lock();
    if peer {
        return st.remote.map(|r| addr::encode(u.fam, r)).ok_or(Errno::ENOTCONN);
    }
    Ok(addr::encode(u.fam, st.local.unwrap_or(u.fam.any())))
}
