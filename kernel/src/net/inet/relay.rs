//! The relay (passt/slirp's idea at the socket level): a guest TCP connection or UDP datagram to
//! an address outside the guest is carried by a host socket umbra opens to the same address and
//! port — 10.0.2.2 is the host's 127.0.0.1, 10.0.2.3 the first `nameserver` of the host's
//! `/etc/resolv.conf` (port 53) — and `--publish` listens on the host and hands connections
//! and datagrams to guest sockets as coming from 10.0.2.2.
//!
//! Host sockets are non-blocking and watched by the vCPU's reactor, armed only while the relay
//! wants them: readable while the guest socket has room (so a guest that never reads stops
//! the host side, with bounded memory), writable while a connect is in progress or the guest
//! is waiting for room in the host socket's buffer. Errors come back as the host's errnos,
//! which are Linux's. Every host socket is closed when its guest socket is released, and at
//! most [`MAX_HOST_SOCKETS`] are open at once (`ENOBUFS` beyond).

use super::addr::{self, DNS, ETH0_ADDR, GATEWAY};
use super::tcp::{self, Peer, Tcp};
use super::udp::Udp;
use crate::sched::Cpu;
use arch_um::reactor::{Interest, Token};
use fs::klock::KMutex;
use fs::{PollEvents, SockTask};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use uapi::{Errno, KResult};

/// The most host sockets the relay keeps open at once.
pub const MAX_HOST_SOCKETS: usize = 4096;
/// How much one reactor wake-up moves from a host socket into a guest socket.
const READ_CHUNK: usize = 256 << 10;

static OPEN: AtomicUsize = AtomicUsize::new(0);
static CPU: OnceLock<Weak<Cpu>> = OnceLock::new();
/// `--publish` rules, set before boot.
static PUBLISH: KMutex<Vec<Publish>> = KMutex::new(Vec::new());
/// Published UDP host sockets by guest port (replies to 10.0.2.2 leave through them).
static UDP_PUBLISHED: KMutex<Vec<(u16, Arc<PublishedUdp>)>> = KMutex::new(Vec::new());

/// One `--publish [HOSTADDR:]HOSTPORT:GUESTPORT[/udp]` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    /// Where umbra listens on the host.
    pub host: SocketAddr,
    /// The guest port connections go to (on 10.0.2.15).
    pub guest_port: u16,
    /// UDP instead of TCP.
    pub udp: bool,
}

/// Parses `[HOSTADDR:]HOSTPORT:GUESTPORT[/udp|/tcp]` (HOSTADDR defaults to 127.0.0.1; an IPv6
/// address goes in brackets).
pub fn parse_publish(s: &str) -> Result<Publish, String> {
    let (body, udp) = match s.rsplit_once('/') {
        Some((b, "udp")) => (b, true),
        Some((b, "tcp")) => (b, false),
        Some(_) => return Err(format!("--publish {s}: the protocol is tcp or udp")),
        None => (s, false),
    };
    let bad = || format!("--publish {s}: expected [HOSTADDR:]HOSTPORT:GUESTPORT[/udp]");
    let (rest, guest) = body.rsplit_once(':').ok_or_else(bad)?;
    let guest_port: u16 = guest.parse().map_err(|_| bad())?;
    let (ip, host_port) = match rest.rsplit_once(':') {
        Some((ip, port)) => (ip.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().map_err(|_| bad())?, port),
        None => (IpAddr::V4(Ipv4Addr::LOCALHOST), rest),
    };
    let host_port: u16 = host_port.parse().map_err(|_| bad())?;
    Ok(Publish { host: SocketAddr::new(ip, host_port), guest_port, udp })
}

/// Records the `--publish` rules (before boot).
pub fn set_publish(rules: Vec<Publish>) {
    *PUBLISH.lock() = rules;
}

/// Starts the relay on `cpu`: remembers the reactor's CPU and opens the `--publish`
/// listeners (a listener that cannot be opened is reported and skipped).
pub fn start(cpu: &Arc<Cpu>) {
    let _ = CPU.set(Arc::downgrade(cpu));
    let rules = PUBLISH.lock().clone();
    for r in rules {
        let res = if r.udp { publish_udp(cpu, &r) } else { publish_tcp(cpu, &r) };
        if let Err(e) = res {
            log::error!("--publish {}:{}: {e}", r.host, r.guest_port);
            eprintln!("umbra: cannot publish {} → guest port {}: {e}", r.host, r.guest_port);
        }
    }
}

/// The vCPU the relay runs on (known once booted).
pub fn current_cpu() -> Option<Arc<Cpu>> {
    CPU.get().and_then(Weak::upgrade)
}

fn cpu() -> KResult<Arc<Cpu>> {
    CPU.get().and_then(Weak::upgrade).ok_or(Errno::ENETUNREACH)
}

/// Counts one more host socket (`ENOBUFS` at the limit); the guard gives it back.
struct Slot;

impl Slot {
    fn take() -> KResult<Slot> {
        if OPEN.fetch_add(1, Ordering::Relaxed) >= MAX_HOST_SOCKETS {
            OPEN.fetch_sub(1, Ordering::Relaxed);
            return Err(Errno::ENOBUFS);
        }
        Ok(Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The number of host sockets the relay has open (for tests and diagnostics).
pub fn open_host_sockets() -> usize {
    OPEN.load(Ordering::Relaxed)
}

/// The host's first nameserver (`/etc/resolv.conf`), what 10.0.2.3 stands for.
fn nameserver() -> Option<IpAddr> {
    static NS: OnceLock<Option<IpAddr>> = OnceLock::new();
    *NS.get_or_init(|| {
        let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
        text.lines().filter_map(|l| l.trim().strip_prefix("nameserver")).find_map(|a| a.trim().parse().ok())
    })
}

/// Where on the host a guest destination is: 10.0.2.2 → 127.0.0.1, 10.0.2.3:53 → the host's
/// nameserver; other 10.0.2.x are nobody (`None`); everything else is itself.
fn host_addr(dst: SocketAddr) -> Option<SocketAddr> {
    match dst.ip() {
        IpAddr::V4(v4) if v4 == GATEWAY => Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), dst.port())),
        IpAddr::V4(v4) if v4 == DNS && dst.port() == 53 => nameserver().map(|ns| SocketAddr::new(ns, 53)),
        IpAddr::V4(v4) if u32::from(v4) & 0xffff_ff00 == u32::from(ETH0_ADDR) & 0xffff_ff00 => None,
        _ => Some(dst),
    }
}

/// How a host address looks from the guest (the inverse of [`host_addr`] for replies).
fn guest_addr(host: SocketAddr, asked: Option<SocketAddr>) -> SocketAddr {
    if let Some(a) = asked {
        if host_addr(a) == Some(host) {
            return a;
        }
    }
    match host.ip() {
        IpAddr::V4(v4) if v4.is_loopback() => SocketAddr::new(IpAddr::V4(GATEWAY), host.port()),
        IpAddr::V6(v6) if v6.is_loopback() => SocketAddr::new(IpAddr::V4(GATEWAY), host.port()),
        _ => host,
    }
}

fn errno_of(e: &std::io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

// ---------------------------------------------------------------------------------------------
// TCP

/// A host TCP connection carrying a guest connection.
pub struct HostConn {
    stream: TcpStream,
    guest: Weak<Tcp>,
    st: KMutex<ConnSt>,
    _slot: Slot,
}

struct ConnSt {
    token: Option<Token>,
    connecting: bool,
    /// The host sent its FIN (or failed): nothing more to read.
    eof: bool,
    /// A guest write found the host buffer full: watch for writability.
    want_write: bool,
    closed: bool,
}

impl HostConn {
    fn new(stream: TcpStream, guest: &Arc<Tcp>, connecting: bool, slot: Slot) -> Arc<HostConn> {
        Arc::new(HostConn { stream, guest: Arc::downgrade(guest), st: KMutex::new(ConnSt { token: None, connecting, eof: false, want_write: false, closed: false }), _slot: slot })
    }

    /// Registers with the reactor.
    fn watch(self: &Arc<Self>) -> KResult<()> {
        let cpu = cpu()?;
        let (w, r) = (Arc::downgrade(self), Arc::downgrade(self));
        let wants = Box::new(move || w.upgrade().map_or(Interest::None, |c| c.interest()));
        let ready = Box::new(move || {
            if let Some(c) = r.upgrade() {
                c.ready();
            }
        });
        let token = cpu.watch_host_fd_for(self.stream.as_raw_fd(), wants, ready).map_err(|e| errno_of(&e))?;
        self.st.lock().token = Some(token);
        Ok(())
    }

    fn interest(&self) -> Interest {
        let st = self.st.lock();
        if st.closed {
            return Interest::None;
        }
        if st.connecting {
            return Interest::Write;
        }
        let read = !st.eof && self.guest.upgrade().is_some_and(|g| g.room() > 0);
        match (read, st.want_write) {
            (true, true) => Interest::ReadWrite,
            (true, false) => Interest::Read,
            (false, true) => Interest::Write,
            (false, false) => Interest::None,
        }
    }

    /// The host socket is ready: finish a connect, move host data into the guest, wake a
    /// guest writer.
    fn ready(self: &Arc<Self>) {
        let Some(g) = self.guest.upgrade() else { return self.close() };
        let connecting = self.st.lock().connecting;
        if connecting {
            let e = arch_um::hostnet::take_error(&self.stream);
            self.st.lock().connecting = false;
            if e != 0 {
                g.connect_done(Err(Errno::from_raw(e)));
                self.close();
                return;
            }
            g.connect_done(Ok(()));
            return;
        }
        if std::mem::take(&mut self.st.lock().want_write) {
            g.wake();
        }
        self.pump(&g);
    }

    /// Reads what the host has, as far as the guest has room.
    fn pump(&self, g: &Arc<Tcp>) {
        let mut buf = vec![0u8; 64 << 10];
        let mut moved = 0usize;
        while moved < READ_CHUNK && !self.st.lock().eof {
            let room = g.room().min(buf.len());
            if room == 0 {
                break;
            }
            match (&self.stream).read(&mut buf[..room]) {
                Ok(0) => {
                    self.st.lock().eof = true;
                    g.deliver_fin();
                }
                Ok(n) => {
                    g.deliver(&buf[..n], false);
                    moved += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.st.lock().eof = true;
                    g.deliver_reset();
                    self.close();
                    break;
                }
            }
        }
    }

    /// Writes what the host socket takes now (0 when full: the guest waits for the reactor).
    pub fn send(&self, data: &[u8]) -> KResult<usize> {
        loop {
            match (&self.stream).write(data) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.st.lock().want_write = true;
                    return Ok(0);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    let errno = errno_of(&e);
                    if let Some(g) = self.guest.upgrade() {
                        g.deliver_reset();
                    }
                    self.close();
                    return Err(if errno == Errno::EPIPE { Errno::EPIPE } else { errno });
                }
            }
        }
    }

    /// True unless a guest write found the host buffer full.
    pub fn writable(&self) -> bool {
        !self.st.lock().want_write
    }

    /// The guest read data: the reactor re-arms reading (nothing to do now).
    pub fn rx_drained(&self) {}

    /// Sends the guest's FIN.
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Stops watching and closes the host socket (the host peer reads end of file).
    pub fn close(&self) {
        let token = {
            let mut st = self.st.lock();
            st.closed = true;
            st.eof = true;
            st.token.take()
        };
        if let Some(t) = token {
            if let Ok(cpu) = cpu() {
                cpu.unwatch_host_fd(t);
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Resets the host connection.
    pub fn abort(&self) {
        arch_um::hostnet::set_linger_zero(&self.stream);
        self.close();
    }
}

impl Drop for HostConn {
    fn drop(&mut self) {
        if let Some(t) = self.st.lock().token.take() {
            if let Ok(cpu) = cpu() {
                cpu.unwatch_host_fd(t);
            }
        }
    }
}

/// Connects guest socket `t` to `dst` outside the guest through a host socket: `ENETUNREACH`
/// under `--net none` (or for IPv6 beyond loopback), `ECONNREFUSED` for 10.0.2.x addresses
/// that are nobody; then Linux's connect semantics (wait, or `EINPROGRESS`).
pub fn connect(t: &Arc<Tcp>, task: &mut dyn SockTask, dst: SocketAddr, uid: u32) -> KResult<()> {
    if !super::iface::eth0_up() || addr::source_for(dst.ip()).is_none() {
        return Err(Errno::ENETUNREACH);
    }
    let host = host_addr(dst).ok_or(Errno::ECONNREFUSED)?;
    tcp::bind_for(t, dst.ip(), uid)?;
    let slot = Slot::take()?;
    let (stream, in_progress) = arch_um::hostnet::tcp_connect(host).map_err(|e| errno_of(&e))?;
    let conn = HostConn::new(stream, t, in_progress, slot);
    {
        let mut st = t.st.lock();
        st.connecting = in_progress;
        st.connected = !in_progress;
        st.remote = Some(dst);
        st.peer = Peer::Host(conn.clone());
    }
    conn.watch()?;
    if !task.can_wait() {
        tcp::mark_in_progress(t);
        return Err(Errno::EINPROGRESS);
    }
    loop {
        {
            let mut st = t.st.lock();
            if !st.connecting {
                if st.err != 0 {
                    let e = std::mem::take(&mut st.err);
                    return Err(Errno::from_raw(e));
                }
                return Ok(());
            }
        }
        if let Err(e) = task.wait(&[&t.pollee], PollEvents::POLLOUT | PollEvents::POLLERR) {
            if e == Errno::EAGAIN {
                tcp::mark_in_progress(t);
                return Err(Errno::EINPROGRESS);
            }
            tcp::mark_in_progress(t);
            return Err(e);
        }
    }
}

/// A `--publish` TCP listener.
fn publish_tcp(cpu: &Arc<Cpu>, r: &Publish) -> std::io::Result<()> {
    let l = TcpListener::bind(r.host)?;
    l.set_nonblocking(true)?;
    let l = Arc::new(l);
    let guest_port = r.guest_port;
    let l2 = l.clone();
    cpu.watch_host_fd(l.as_raw_fd(), Box::new(|| true), Box::new(move || accept_published(&l2, guest_port)))?;
    // The listener lives as long as umbra: its fd stays open with the watch.
    std::mem::forget(l);
    Ok(())
}

/// Accepts host connections and queues them on the guest listener of `guest_port` (reached
/// at 10.0.2.15) as connections from 10.0.2.2; with no guest listener the host connection is
/// closed at once.
fn accept_published(l: &TcpListener, guest_port: u16) {
    loop {
        let (stream, peer) = match l.accept() {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let Ok(slot) = Slot::take() else {
            arch_um::hostnet::set_linger_zero(&stream);
            continue;
        };
        if stream.set_nonblocking(true).is_err() {
            continue;
        }
        let local = SocketAddr::new(IpAddr::V4(ETH0_ADDR), guest_port);
        let remote = SocketAddr::new(IpAddr::V4(GATEWAY), peer.port());
        let listener = tcp::TABLE.lock().lookup(local, remote, |s: &Tcp| s.st.lock().listening);
        let Some(listener) = listener else {
            arch_um::hostnet::set_linger_zero(&stream);
            continue;
        };
        let child = Tcp::new(listener.fam);
        let conn = HostConn::new(stream, &child, false, slot);
        if conn.watch().is_err() {
            continue;
        }
        tcp::queue_accepted(&listener, &child, local, remote, Peer::Host(conn));
    }
}

// ---------------------------------------------------------------------------------------------
// UDP

/// A host UDP socket carrying a guest socket's datagrams to the outside.
pub struct HostUdp {
    sock: UdpSocket,
    guest: Weak<Udp>,
    /// Which guest destination each host address stands for (replies show that source:
    /// the host's nameserver answers as 10.0.2.3 only to queries sent to 10.0.2.3).
    sent: KMutex<std::collections::HashMap<SocketAddr, SocketAddr>>,
    token: KMutex<Option<Token>>,
    _slot: Slot,
}

impl HostUdp {
    fn open(u: &Arc<Udp>) -> KResult<Arc<HostUdp>> {
        let slot = Slot::take()?;
        let sock = UdpSocket::bind("[::]:0").or_else(|_| UdpSocket::bind("0.0.0.0:0")).map_err(|e| errno_of(&e))?;
        sock.set_nonblocking(true).map_err(|e| errno_of(&e))?;
        let h = Arc::new(HostUdp { sock, guest: Arc::downgrade(u), sent: KMutex::new(std::collections::HashMap::new()), token: KMutex::new(None), _slot: slot });
        let cpu = cpu()?;
        let (w, r) = (Arc::downgrade(&h), Arc::downgrade(&h));
        let wants = Box::new(move || if w.upgrade().is_some_and(|h| h.guest.strong_count() > 0) { Interest::Read } else { Interest::None });
        let ready = Box::new(move || {
            if let Some(h) = r.upgrade() {
                h.pump();
            }
        });
        let token = cpu.watch_host_fd_for(h.sock.as_raw_fd(), wants, ready).map_err(|e| errno_of(&e))?;
        *h.token.lock() = Some(token);
        Ok(h)
    }

    fn pump(&self) {
        let Some(g) = self.guest.upgrade() else { return };
        let mut buf = vec![0u8; 65_536];
        for _ in 0..64 {
            match self.sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let from = match from {
                        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
                            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
                            None => from,
                        },
                        v4 => v4,
                    };
                    let asked = self.sent.lock().get(&from).copied();
                    let src = guest_addr(from, asked);
                    g.deliver_from_outside(src, &buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    /// Stops watching and closes the host socket.
    pub fn close(&self) {
        if let Some(t) = self.token.lock().take() {
            if let Ok(cpu) = cpu() {
                cpu.unwatch_host_fd(t);
            }
        }
    }
}

impl Drop for HostUdp {
    fn drop(&mut self) {
        self.close();
    }
}

/// Sends a datagram from `u` to `dst` outside the guest (`ENETUNREACH` under `--net none`);
/// a datagram from a published guest port to 10.0.2.2 leaves through the published host
/// socket, so replies reach the host client from the port it sent to.
pub fn udp_send(u: &Arc<Udp>, dst: SocketAddr, data: &[u8]) -> KResult<usize> {
    if !super::iface::eth0_up() {
        return Err(Errno::ENETUNREACH);
    }
    let Some(host) = host_addr(dst) else { return Ok(data.len()) };
    let local_port = u.st.lock().local.map_or(0, |l| l.port());
    let published = UDP_PUBLISHED.lock().iter().find(|(p, _)| *p == local_port).map(|(_, s)| s.clone());
    if let (Some(p), IpAddr::V4(v4)) = (published, dst.ip()) {
        if v4 == GATEWAY {
            let _ = p.sock.send_to(data, p.host_peer(dst.port()));
            return Ok(data.len());
        }
    }
    let relay = {
        let st = u.st.lock();
        st.relay.clone()
    };
    let relay = match relay {
        Some(r) => r,
        None => {
            let r = HostUdp::open(u)?;
            u.st.lock().relay = Some(r.clone());
            r
        }
    };
    {
        let mut sent = relay.sent.lock();
        if sent.len() >= 256 && !sent.contains_key(&host) {
            sent.clear();
        }
        sent.insert(host, dst);
    }
    let host = match (host, relay.sock.local_addr()) {
        (SocketAddr::V4(v4), Ok(SocketAddr::V6(_))) => SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port()),
        (h, _) => h,
    };
    match relay.sock.send_to(data, host) {
        Ok(_) => Ok(data.len()),
        Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(data.len()),
        Err(e) => Err(errno_of(&e)),
    }
}

/// A `--publish .../udp` host socket.
struct PublishedUdp {
    sock: UdpSocket,
    guest_port: u16,
}

impl PublishedUdp {
    /// The host address a guest reply to 10.0.2.2:`port` goes to.
    fn host_peer(&self, port: u16) -> SocketAddr {
        let ip = match self.sock.local_addr() {
            Ok(SocketAddr::V6(_)) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        SocketAddr::new(ip, port)
    }

    fn pump(&self) {
        let mut buf = vec![0u8; 65_536];
        for _ in 0..64 {
            let Ok((n, from)) = self.sock.recv_from(&mut buf) else { return };
            let src = SocketAddr::new(IpAddr::V4(GATEWAY), from.port());
            let dst = SocketAddr::new(IpAddr::V4(ETH0_ADDR), self.guest_port);
            let r = super::udp::TABLE.lock().lookup(dst, src, |_| true);
            if let Some(r) = r {
                r.deliver(src, dst.ip(), &buf[..n]);
            }
        }
    }
}

fn publish_udp(cpu: &Arc<Cpu>, r: &Publish) -> std::io::Result<()> {
    let sock = UdpSocket::bind(r.host)?;
    sock.set_nonblocking(true)?;
    let p = Arc::new(PublishedUdp { sock, guest_port: r.guest_port });
    let p2 = p.clone();
    cpu.watch_host_fd(p.sock.as_raw_fd(), Box::new(|| true), Box::new(move || p2.pump()))?;
    UDP_PUBLISHED.lock().push((r.guest_port, p));
    Ok(())
}
