//! ICMP echo (Linux's `net/ipv4/ping.c` ping sockets, `SOCK_DGRAM` + `IPPROTO_ICMP`/
//! `IPPROTO_ICMPV6`, allowed by `net.ipv4.ping_group_range`; and `SOCK_RAW` ICMP for guest
//! root, `raw.c`): an echo request to one of the guest's own addresses or to the gateway
//! 10.0.2.2 is answered at once by an echo reply; other destinations are unreachable
//! (`ENETUNREACH` on send; umbra does not send ICMP to the outside).
//!
//! A ping socket's identifier is its port: `bind` sets it, the first send picks an ephemeral
//! one, and the kernel writes it and the checksum into every request, as Linux does. A raw
//! socket receives the reply with its IPv4 header in front.

use super::addr::{self, Fam, GATEWAY};
use crate::net::{OptVal, ProtoOps, SockCommon};
use fs::klock::KMutex;
use fs::{PollEvents, Pollee, RecvMsg, SendMsg, SockTask, UserMemory};
use std::any::Any;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use uapi::net::{self as n, MsgFlags};
use uapi::{Errno, KResult};

/// `ICMP_ECHO`, `ICMP_ECHOREPLY`, `ICMPV6_ECHO_REQUEST`, `ICMPV6_ECHO_REPLY`.
const ECHO: u8 = 8;
const ECHO_REPLY: u8 = 0;
const ECHO6: u8 = 128;
const ECHO6_REPLY: u8 = 129;

/// An ICMP echo socket.
pub struct Icmp {
    fam: Fam,
    raw: bool,
    common: SockCommon,
    pollee: Pollee,
    st: KMutex<St>,
}

struct St {
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    rx: VecDeque<(IpAddr, IpAddr, Vec<u8>)>,
    shut_rd: bool,
}

/// The `net.ipv4.ping_group_range` check of `ping_init_sock`: `EACCES` unless the caller's
/// group is in the range (umbra's default admits everyone, as systemd-based systems set it).
pub fn group_allowed(gid: u32) -> bool {
    let range = crate::task::kernel::try_kernel().and_then(|k| {
        let v = k.sysctls.lock().get("net/ipv4/ping_group_range")?.clone();
        let mut it = v.split_whitespace().map(|w| w.parse::<u64>().ok());
        Some((it.next()??, it.next()??))
    });
    let (lo, hi) = range.unwrap_or((0, 2_147_483_647));
    (lo..=hi).contains(&u64::from(gid))
}

/// A new ping (`raw` false) or raw ICMP socket.
pub fn create(fam: Fam, raw: bool) -> Box<dyn ProtoOps> {
    Box::new(Icmp { fam, raw, common: SockCommon::default(), pollee: Pollee::default(), st: KMutex::new(St { local: None, remote: None, rx: VecDeque::new(), shut_rd: false }) })
}

/// The Internet checksum of `data`.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// True if an echo request to `ip` is answered: an own address, or the gateway.
fn answered(ip: IpAddr) -> bool {
    addr::is_local(ip) || (ip == IpAddr::V4(GATEWAY) && super::iface::eth0_up())
}

impl Icmp {
    fn ident(&self) -> u16 {
        static NEXT: AtomicU16 = AtomicU16::new(1);
        let mut st = self.st.lock();
        match st.local {
            Some(l) if l.port() != 0 => l.port(),
            _ => {
                let id = NEXT.fetch_add(1, Ordering::Relaxed).max(1);
                let ip = st.local.map_or(self.fam.any().ip(), |l| l.ip());
                st.local = Some(SocketAddr::new(ip, id));
                id
            }
        }
    }

    fn dest(&self, a: &[u8]) -> KResult<IpAddr> {
        let (sa, _) = addr::parse(self.fam, a, false)?;
        Ok(addr::unwild(addr::canonical(sa.ip())))
    }
}

impl ProtoOps for Icmp {
    fn common(&self) -> &SockCommon {
        &self.common
    }
    fn sock_type(&self) -> i32 {
        if self.raw {
            n::SOCK_RAW
        } else {
            n::SOCK_DGRAM
        }
    }
    fn protocol(&self) -> i32 {
        if self.fam == Fam::V4 {
            super::IPPROTO_ICMP
        } else {
            super::IPPROTO_ICMPV6
        }
    }
    fn bind(&self, _task: &mut dyn SockTask, a: &[u8]) -> KResult<()> {
        let (sa, _) = addr::parse(self.fam, a, true)?;
        let ip = addr::canonical(sa.ip());
        if !addr::bindable(ip) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let mut st = self.st.lock();
        if st.local.is_some_and(|l| l.port() != 0) {
            return Err(Errno::EINVAL);
        }
        st.local = Some(SocketAddr::new(ip, if self.raw { 0 } else { sa.port() }));
        Ok(())
    }
    fn connect(&self, _task: &mut dyn SockTask, a: &[u8]) -> KResult<()> {
        if a.len() >= 2 && i32::from(u16::from_ne_bytes([a[0], a[1]])) == n::AF_UNSPEC {
            self.st.lock().remote = None;
            return Ok(());
        }
        let ip = self.dest(a)?;
        addr::source_for(ip).ok_or(Errno::ENETUNREACH)?;
        self.st.lock().remote = Some(SocketAddr::new(ip, 0));
        Ok(())
    }
    fn shutdown(&self, how: i32) -> KResult<()> {
        if how == n::SHUT_RD || how == n::SHUT_RDWR {
            self.st.lock().shut_rd = true;
            self.pollee.notify(PollEvents::all());
        }
        if self.st.lock().remote.is_none() {
            return Err(Errno::ENOTCONN);
        }
        Ok(())
    }
    fn getname(&self, peer: bool) -> KResult<Vec<u8>> {
        let st = self.st.lock();
        if peer {
            return st.remote.map(|r| addr::encode(self.fam, r)).ok_or(Errno::ENOTCONN);
        }
        Ok(addr::encode(self.fam, st.local.unwrap_or(self.fam.any())))
    }
    /// `ping_v4_sendmsg`: `EINVAL` unless an echo request of at least 8 bytes; `EDESTADDRREQ`
    /// without a destination; the reply is queued at once for an answered destination.
    fn sendmsg(&self, msg: &mut SendMsg<'_>, _task: &mut dyn SockTask) -> KResult<usize> {
        if msg.flags.contains(MsgFlags::OOB) {
            return Err(Errno::EOPNOTSUPP);
        }
        let dst = match msg.name.filter(|a| !a.is_empty()) {
            Some(a) => self.dest(a)?,
            None => self.st.lock().remote.map(|r| r.ip()).ok_or(Errno::EDESTADDRREQ)?,
        };
        let data = msg.data;
        let (req, reply) = if dst.is_ipv4() { (ECHO, ECHO_REPLY) } else { (ECHO6, ECHO6_REPLY) };
        if data.len() < 8 || data[0] != req || data[1] != 0 {
            return Err(Errno::EINVAL);
        }
        if data.len() > 65_507 {
            return Err(Errno::EMSGSIZE);
        }
        let src = addr::source_for(if dst == IpAddr::V4(GATEWAY) { dst } else { addr::unwild(dst) }).ok_or(Errno::ENETUNREACH)?;
        if !answered(dst) {
            return Err(Errno::ENETUNREACH);
        }
        let mut r = data.to_vec();
        if !self.raw {
            r[4..6].copy_from_slice(&self.ident().to_be_bytes());
        }
        r[0] = reply;
        r[2..4].copy_from_slice(&[0, 0]);
        let sum = checksum(&r);
        r[2..4].copy_from_slice(&sum.to_be_bytes());
        let local = self.st.lock().local.map(|l| l.ip()).filter(|ip| !ip.is_unspecified()).unwrap_or(src);
        self.st.lock().rx.push_back((dst, local, r));
        self.pollee.notify(PollEvents::POLLIN | PollEvents::POLLRDNORM);
        Ok(data.len())
    }
    fn recvmsg(&self, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize> {
        if flags.contains(MsgFlags::ERRQUEUE) {
            return Err(Errno::EAGAIN);
        }
        loop {
            let item = {
                let mut st = self.st.lock();
                if flags.contains(MsgFlags::PEEK) {
                    st.rx.front().cloned()
                } else {
                    st.rx.pop_front()
                }
            };
            if let Some((from, to, icmp)) = item {
                let mut pkt = Vec::new();
                if self.raw && self.fam == Fam::V4 {
                    pkt = ipv4_header(from, to, icmp.len());
                }
                pkt.extend_from_slice(&icmp);
                let n = pkt.len().min(buf.len());
                buf[..n].copy_from_slice(&pkt[..n]);
                if pkt.len() > buf.len() {
                    msg.flags |= MsgFlags::TRUNC;
                }
                if msg.want_name {
                    msg.name = Some(addr::encode(self.fam, SocketAddr::new(from, 0)));
                }
                return Ok(if flags.contains(MsgFlags::TRUNC) { pkt.len() } else { n });
            }
            if self.st.lock().shut_rd {
                return Ok(0);
            }
            task.wait(&[&self.pollee], PollEvents::POLLIN | PollEvents::POLLRDNORM)?;
        }
    }
    fn poll(&self) -> PollEvents {
        let mut ev = PollEvents::POLLOUT | PollEvents::POLLWRNORM | PollEvents::POLLWRBAND;
        if !self.st.lock().rx.is_empty() {
            ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
        }
        ev
    }
    fn pollee(&self) -> &Pollee {
        &self.pollee
    }
    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
        let v: i32 = match cmd {
            n::SIOCINQ => self.st.lock().rx.front().map_or(0, |p| p.2.len() as i32),
            n::SIOCOUTQ => 0,
            _ => return Err(Errno::ENOTTY),
        };
        mem.write(arg, &v.to_ne_bytes())?;
        Ok(0)
    }
    fn setsockopt(&self, level: i32, opt: i32, _val: &[u8], _root: bool) -> KResult<()> {
        match level {
            super::opts::SOL_IP | super::opts::SOL_IPV6 => Ok(()),
            // ICMP_FILTER and the like: accepted.
            1 | 58 if opt >= 0 => Ok(()),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }
    fn getsockopt(&self, level: i32, opt: i32, _len: usize) -> KResult<OptVal> {
        match (level, opt) {
            (super::opts::SOL_IP, super::opts::IP_TTL) | (super::opts::SOL_IPV6, super::opts::IPV6_UNICAST_HOPS) => Ok(OptVal::Int(64)),
            (super::opts::SOL_IP, _) | (super::opts::SOL_IPV6, _) => Ok(OptVal::Int(0)),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }
    fn release(&self) {
        self.st.lock().rx.clear();
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The IPv4 header a raw socket sees in front of a reply from `from` to `to`.
fn ipv4_header(from: IpAddr, to: IpAddr, payload: usize) -> Vec<u8> {
    let octets = |ip: IpAddr| match ip {
        IpAddr::V4(v) => v.octets(),
        IpAddr::V6(_) => [0; 4],
    };
    let total = (20 + payload).min(usize::from(u16::MAX)) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0x40, 0, 64, 1, 0, 0]);
    h.extend_from_slice(&octets(from));
    h.extend_from_slice(&octets(to));
    let sum = checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}
