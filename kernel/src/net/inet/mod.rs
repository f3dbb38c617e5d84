//! Internet sockets at the socket level (`AF_INET`, `AF_INET6`; Linux's `net/ipv4/af_inet.c`,
//! `net/ipv6/af_inet6.c`): TCP and UDP between guest sockets in the kernel, and to the outside
//! through host sockets (`relay`), with no packets and no virtual NIC. The guest sees QEMU's
//! user-mode-networking layout (`iface`): `lo` 127.0.0.1/8 and ::1, `eth0` 10.0.2.15/24 with
//! the gateway 10.0.2.2 (the host's 127.0.0.1) and DNS at 10.0.2.3.
//!
//! # Map
//! - `addr`: `sockaddr_in`/`sockaddr_in6`, own addresses, source selection.
//! - `ports`: the bind tables, conflicts (`SO_REUSEADDR`, `SO_REUSEPORT`, `IPV6_V6ONLY`),
//!   ephemeral ports, receiver lookup.
//! - `tcp`, `udp`: the protocols; `opts`: the `IP`/`IPV6`/`TCP`/`UDP` option levels.
//! - `relay`: host sockets for destinations outside the guest and `--publish` listeners.
//! - `icmp`: ping sockets and raw ICMP for root (echo answered for own addresses and the
//!   gateway).
//! - `iface`: the interface table (`SIOCGIF*`, rtnetlink, /proc/net).
//! - `proc`: /proc/net's internet files; `diag`: `NETLINK_SOCK_DIAG` dumps (`ss`).

pub mod addr;
pub mod diag;
pub mod icmp;
pub mod iface;
pub mod opts;
pub mod ports;
pub mod proc;
pub mod relay;
pub mod tcp;
pub mod udp;

use super::{OptVal, ProtoOps, SockCommon};
use addr::Fam;
use fs::{PollEvents, Pollee, RecvMsg, SendMsg, SockTask, UserMemory};
use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tcp::Tcp;
use udp::Udp;
use uapi::net::{self as n, MsgFlags};
use uapi::{Errno, KResult};

/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: i32 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: i32 = 17;
/// `IPPROTO_ICMP`.
pub const IPPROTO_ICMP: i32 = 1;
/// `IPPROTO_ICMPV6`.
pub const IPPROTO_ICMPV6: i32 = 58;

/// `socket(AF_INET, ...)`.
pub fn create_v4(kind: i32, protocol: i32) -> KResult<Box<dyn ProtoOps>> {
    create(Fam::V4, kind, protocol)
}

/// `socket(AF_INET6, ...)`.
pub fn create_v6(kind: i32, protocol: i32) -> KResult<Box<dyn ProtoOps>> {
    create(Fam::V6, kind, protocol)
}

/// `inet_create`: `EINVAL` for a protocol out of range; stream sockets are TCP, datagram
/// sockets UDP (or ICMP echo with `IPPROTO_ICMP`); `EPROTONOSUPPORT` for another protocol of a
/// known type, `ESOCKTNOSUPPORT` for other types (`SOCK_RAW` needs privileges Linux checks:
/// `EPERM` for an unprivileged caller, umbra has no raw sockets otherwise).
fn create(fam: Fam, kind: i32, protocol: i32) -> KResult<Box<dyn ProtoOps>> {
    if !(0..256).contains(&protocol) {
        return Err(Errno::EINVAL);
    }
    match kind {
        n::SOCK_STREAM if protocol == 0 || protocol == IPPROTO_TCP => Ok(Box::new(Inet::Tcp(Tcp::new(fam)))),
        n::SOCK_DGRAM if protocol == 0 || protocol == IPPROTO_UDP => Ok(Box::new(Inet::Udp(Udp::new(fam)))),
        n::SOCK_DGRAM if is_icmp(fam, protocol) => {
            if !icmp::group_allowed(caller_ids().1) {
                return Err(Errno::EACCES);
            }
            Ok(icmp::create(fam, false))
        }
        n::SOCK_STREAM | n::SOCK_DGRAM => Err(Errno::EPROTONOSUPPORT),
        n::SOCK_RAW if caller_ids().0 != 0 => Err(Errno::EPERM),
        n::SOCK_RAW if is_icmp(fam, protocol) => Ok(icmp::create(fam, true)),
        n::SOCK_RAW => Err(Errno::EPROTONOSUPPORT),
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}

fn is_icmp(fam: Fam, protocol: i32) -> bool {
    protocol == if fam == Fam::V4 { IPPROTO_ICMP } else { IPPROTO_ICMPV6 }
}

/// The calling task's effective uid and gid (root's if no task runs: boot-time callers).
fn caller_ids() -> (u32, u32) {
    let k = crate::task::kernel();
    let task = k.task(k.running_tid.load(Ordering::Relaxed));
    task.map_or((0, 0), |t| {
        let c = t.process.creds();
        (c.euid, c.egid)
    })
}

/// An internet socket.
pub enum Inet {
    /// `SOCK_STREAM`.
    Tcp(Arc<Tcp>),
    /// `SOCK_DGRAM`.
    Udp(Arc<Udp>),
}

impl ProtoOps for Inet {
    fn common(&self) -> &SockCommon {
        match self {
            Inet::Tcp(t) => &t.common,
            Inet::Udp(u) => &u.common,
        }
    }

    fn sock_type(&self) -> i32 {
        match self {
            Inet::Tcp(_) => n::SOCK_STREAM,
            Inet::Udp(_) => n::SOCK_DGRAM,
        }
    }

    fn protocol(&self) -> i32 {
        match self {
            Inet::Tcp(_) => IPPROTO_TCP,
            Inet::Udp(_) => IPPROTO_UDP,
        }
    }

    fn bind(&self, task: &mut dyn SockTask, addr: &[u8]) -> KResult<()> {
        match self {
            Inet::Tcp(t) => tcp::bind(t, task, addr),
            Inet::Udp(u) => udp::bind(u, task, addr),
        }
    }

    fn connect(&self, task: &mut dyn SockTask, addr: &[u8]) -> KResult<()> {
        match self {
            Inet::Tcp(t) => tcp::connect(t, task, addr),
            Inet::Udp(u) => udp::connect(u, task, addr),
        }
    }

    fn listen(&self, backlog: i32, task: &dyn SockTask) -> KResult<()> {
        match self {
            Inet::Tcp(t) => tcp::listen(t, backlog, task.peer_ucred().uid),
            Inet::Udp(_) => Err(Errno::EOPNOTSUPP),
        }
    }

    fn accept(&self, task: &mut dyn SockTask) -> KResult<Box<dyn ProtoOps>> {
        match self {
            Inet::Tcp(t) => Ok(tcp::wrap(tcp::accept(t, task)?)),
            Inet::Udp(_) => Err(Errno::EOPNOTSUPP),
        }
    }

    fn shutdown(&self, how: i32) -> KResult<()> {
        match self {
            Inet::Tcp(t) => tcp::shutdown(t, how),
            Inet::Udp(u) => udp::shutdown(u, how),
        }
    }

    fn getname(&self, peer: bool) -> KResult<Vec<u8>> {
        match self {
            Inet::Tcp(t) => tcp::getname(t, peer),
            Inet::Udp(u) => udp::getname(u, peer),
        }
    }

    fn sendmsg(&self, msg: &mut SendMsg<'_>, task: &mut dyn SockTask) -> KResult<usize> {
        match self {
            Inet::Tcp(t) => tcp::sendmsg(t, msg, task),
            Inet::Udp(u) => udp::sendmsg(u, msg, task),
        }
    }

    fn recvmsg(&self, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize> {
        match self {
            Inet::Tcp(t) => tcp::recvmsg(t, buf, msg, flags, task),
            Inet::Udp(u) => udp::recvmsg(u, buf, msg, flags, task),
        }
    }

    fn poll(&self) -> PollEvents {
        match self {
            Inet::Tcp(t) => tcp::poll(t),
            Inet::Udp(u) => udp::poll(u),
        }
    }

    fn pollee(&self) -> &Pollee {
        match self {
            Inet::Tcp(t) => &t.pollee,
            Inet::Udp(u) => &u.pollee,
        }
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
        match self {
            Inet::Tcp(t) => tcp::ioctl(t, cmd, arg, mem),
            Inet::Udp(u) => udp::ioctl(u, cmd, arg, mem),
        }
    }

    fn take_error(&self) -> i32 {
        match self {
            Inet::Tcp(t) => tcp::take_error(t),
            Inet::Udp(u) => std::mem::take(&mut u.st.lock().err),
        }
    }

    fn set_error(&self, errno: i32) {
        match self {
            Inet::Tcp(t) => t.st.lock().err = errno,
            Inet::Udp(u) => u.st.lock().err = errno,
        }
        self.pollee().notify(PollEvents::POLLERR);
    }

    fn is_listening(&self) -> bool {
        match self {
            Inet::Tcp(t) => t.st.lock().listening,
            Inet::Udp(_) => false,
        }
    }

    fn setsockopt(&self, level: i32, opt: i32, val: &[u8], root: bool) -> KResult<()> {
        match self {
            Inet::Tcp(t) => {
                let c = tcp::ctx(t, root);
                t.st.lock().opts.set(c, level, opt, val)
            }
            Inet::Udp(u) => {
                let c = udp::ctx(u, root);
                u.st.lock().opts.set(c, level, opt, val)
            }
        }
    }

    fn getsockopt(&self, level: i32, opt: i32, len: usize) -> KResult<OptVal> {
        match self {
            Inet::Tcp(t) => tcp::getsockopt(t, level, opt, len),
            Inet::Udp(u) => udp::getsockopt(u, level, opt),
        }
    }

    fn set_ino(&self, ino: u64) {
        match self {
            Inet::Tcp(t) => t.ino.store(ino, Ordering::Relaxed),
            Inet::Udp(u) => u.ino.store(ino, Ordering::Relaxed),
        }
    }

    fn release(&self) {
        match self {
            Inet::Tcp(t) => tcp::release(t),
            Inet::Udp(u) => udp::release(u),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
