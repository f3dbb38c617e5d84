//! `AF_NETLINK` sockets (Linux's `net/netlink/af_netlink.c`): datagram sockets whose peer is
//! the kernel. `NETLINK_ROUTE` is answered by `rtnetlink`, `NETLINK_SOCK_DIAG` by `inet::diag`; every other protocol (`NETLINK_AUDIT`,
//! `NETLINK_KOBJECT_UEVENT`, …) is `EPROTONOSUPPORT`, so `login`, `useradd` and udev-aware tools
//! take their "this kernel has none" paths. A request sent to the kernel (port 0) is answered at
//! once: each request's replies are queued as one datagram for `recvmsg`.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};

use fs::klock::KMutex;
use fs::{PollEvents, Pollee, RecvMsg, SendMsg, SockTask};
use uapi::net::{self as n, MsgFlags};
use uapi::{Errno, KResult};

use super::rtnetlink::{self, Header, NLMSG_HDRLEN};
use super::{ProtoOps, SockCommon};

/// `NETLINK_ROUTE`.
const NETLINK_ROUTE: i32 = 0;
/// `NETLINK_SOCK_DIAG` (`ss`'s socket dumps: internet sockets only, in `inet::diag`).
const NETLINK_SOCK_DIAG: i32 = 4;
/// `sizeof(struct sockaddr_nl)`.
const SOCKADDR_NL_LEN: usize = 12;

/// `socket(AF_NETLINK, type, protocol)`: raw and datagram sockets only (`ESOCKTNOSUPPORT`),
/// `NETLINK_ROUTE` only (`EPROTONOSUPPORT`).
pub fn create(kind: i32, protocol: i32) -> KResult<Box<dyn ProtoOps>> {
    if kind != n::SOCK_RAW && kind != n::SOCK_DGRAM {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    if protocol != NETLINK_ROUTE && protocol != NETLINK_SOCK_DIAG {
        return Err(Errno::EPROTONOSUPPORT);
    }
    Ok(Box::new(NetlinkSocket { common: SockCommon::default(), kind, protocol, portid: AtomicU32::new(0), groups: AtomicU32::new(0), queue: KMutex::new(VecDeque::new()), pollee: Pollee::new(PollEvents::POLLOUT | PollEvents::POLLWRNORM) }))
}

/// A `NETLINK_ROUTE` socket.
pub struct NetlinkSocket {
    common: SockCommon,
    kind: i32,
    /// `NETLINK_ROUTE` or `NETLINK_SOCK_DIAG`.
    protocol: i32,
    /// The port id it is bound to (0 until bind or the first send: then the process id).
    portid: AtomicU32,
    /// Multicast groups asked for at bind (accepted; umbra sends no notifications).
    groups: AtomicU32,
    /// Replies not yet received, one datagram per request.
    queue: KMutex<VecDeque<Vec<u8>>>,
    pollee: Pollee,
}

/// `struct sockaddr_nl` for `portid` and `groups`.
fn sockaddr_nl(portid: u32, groups: u32) -> Vec<u8> {
    let mut a = Vec::with_capacity(SOCKADDR_NL_LEN);
    a.extend_from_slice(&(n::AF_NETLINK as u16).to_ne_bytes());
    a.extend_from_slice(&0u16.to_ne_bytes());
    a.extend_from_slice(&portid.to_ne_bytes());
    a.extend_from_slice(&groups.to_ne_bytes());
    a
}

/// Parses a `sockaddr_nl`: (port id, groups); `EINVAL` if short or of another family.
fn parse_addr(addr: &[u8]) -> KResult<(u32, u32)> {
    if addr.len() < SOCKADDR_NL_LEN || u16::from_ne_bytes([addr[0], addr[1]]) != n::AF_NETLINK as u16 {
        return Err(Errno::EINVAL);
    }
    let word = |i: usize| u32::from_ne_bytes([addr[i], addr[i + 1], addr[i + 2], addr[i + 3]]);
    Ok((word(4), word(8)))
}

impl NetlinkSocket {
    /// Queues a datagram the kernel sends unasked (Linux's `netlink_sendskb`: an `mq_notify`
    /// cookie) and wakes a reader.
    pub fn deliver(&self, datagram: Vec<u8>) {
        self.queue.lock().push_back(datagram);
        self.pollee.add_events(PollEvents::POLLIN | PollEvents::POLLRDNORM);
    }

    /// Binds to the caller's process id if not bound yet (Linux's `netlink_autobind` tries the
    /// pid first).
    fn autobind(&self, task: &dyn SockTask) -> u32 {
        let pid = task.ucred().pid as u32;
        match self.portid.compare_exchange(0, pid, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => pid,
            Err(bound) => bound,
        }
    }
}

impl ProtoOps for NetlinkSocket {
    fn common(&self) -> &SockCommon {
        &self.common
    }

    fn sock_type(&self) -> i32 {
        self.kind
    }

    fn bind(&self, task: &mut dyn SockTask, addr: &[u8]) -> KResult<()> {
        let (pid, groups) = parse_addr(addr)?;
        let pid = if pid == 0 { task.ucred().pid as u32 } else { pid };
        self.portid.store(pid, Ordering::Relaxed);
        self.groups.store(groups, Ordering::Relaxed);
        Ok(())
    }

    fn connect(&self, task: &mut dyn SockTask, addr: &[u8]) -> KResult<()> {
        parse_addr(addr)?;
        self.autobind(task);
        Ok(())
    }

    fn shutdown(&self, _how: i32) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }

    fn getname(&self, peer: bool) -> KResult<Vec<u8>> {
        Ok(if peer { sockaddr_nl(0, 0) } else { sockaddr_nl(self.portid.load(Ordering::Relaxed), self.groups.load(Ordering::Relaxed)) })
    }

    /// Requests to the kernel (port 0) are answered at once; messages to another port are
    /// `ECONNREFUSED` (umbra has no user-space netlink peers).
    fn sendmsg(&self, msg: &mut SendMsg<'_>, task: &mut dyn SockTask) -> KResult<usize> {
        if let Some(name) = msg.name {
            let (dst, _) = parse_addr(name)?;
            if dst != 0 {
                return Err(Errno::ECONNREFUSED);
            }
        }
        if msg.fault {
            return Err(Errno::EFAULT);
        }
        let portid = self.autobind(task);
        let root = task.peer_ucred().uid == 0;
        let mut data = msg.data;
        let mut replies = Vec::new();
        while let Some(h) = Header::parse(data) {
            let len = h.len as usize;
            let req = data.get(..len).unwrap_or(data);
            if self.protocol == NETLINK_SOCK_DIAG {
                replies.extend(super::inet::diag::handle(&h, req, portid));
            } else {
                replies.extend(rtnetlink::handle(&h, req, portid, root));
            }
            data = data.get(len.div_ceil(4) * 4..).unwrap_or_default();
            if data.len() < NLMSG_HDRLEN {
                break;
            }
        }
        if !replies.is_empty() {
            self.queue.lock().push_back(replies);
            self.pollee.add_events(PollEvents::POLLIN | PollEvents::POLLRDNORM);
        }
        Ok(msg.data.len())
    }

    fn recvmsg(&self, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize> {
        let peek = flags.contains(MsgFlags::PEEK);
        let dgram = loop {
            {
                let mut q = self.queue.lock();
                let got = if peek { q.front().cloned() } else { q.pop_front() };
                if q.is_empty() && !peek {
                    self.pollee.del_events(PollEvents::POLLIN | PollEvents::POLLRDNORM);
                }
                if let Some(d) = got {
                    break d;
                }
            }
            if !task.can_wait() {
                return Err(Errno::EAGAIN);
            }
            task.wait(&[&self.pollee], PollEvents::POLLIN)?;
        };
        let n = dgram.len().min(buf.len());
        buf.get_mut(..n).ok_or(Errno::EINVAL)?.copy_from_slice(dgram.get(..n).unwrap_or_default());
        if n < dgram.len() {
            msg.flags |= MsgFlags::TRUNC;
        }
        if msg.want_name {
            msg.name = Some(sockaddr_nl(0, 0));
        }
        Ok(if flags.contains(MsgFlags::TRUNC) { dgram.len() } else { n })
    }

    fn poll(&self) -> PollEvents {
        let mut ev = PollEvents::POLLOUT | PollEvents::POLLWRNORM;
        if !self.queue.lock().is_empty() {
            ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
        }
        ev
    }

    fn pollee(&self) -> &Pollee {
        &self.pollee
    }

    fn release(&self) {
        self.queue.lock().clear();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
