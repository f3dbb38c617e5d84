//! The datagram data path, shared by `SOCK_DGRAM` and `SOCK_SEQPACKET` (Linux's
//! `unix_dgram_connect`, `unix_dgram_sendmsg`, `__unix_dgram_recvmsg` and the seqpacket
//! wrappers), with Linux's checks in Linux's order.

use super::addr;
use super::{readable, writable, Conn, Core, Packet, RCV_SHUTDOWN};
use crate::net::SockFlag;
use fs::{PollEvents, RecvMsg, SendMsg, SockTask};
use std::sync::Arc;
use uapi::net::{self as n, MsgFlags};
use uapi::{Errno, KResult};

/// `SKB_MAX_ALLOC`: a datagram's linear part; the rest (at most 17 pages) goes in pages.
const SKB_MAX_ALLOC: usize = (4096 << 2) - 320;
/// `MAX_SKB_FRAGS * PAGE_SIZE`.
const MAX_PAGED: usize = 17 * 4096;

/// `unix_dgram_connect`: `AF_UNSPEC` dissolves the association; otherwise the target must let
/// us send (`EPERM` if it is connected elsewhere). Changing peers drops what the old peer
/// sent, and tells an old peer connected back to us with `ECONNRESET`.
pub(super) fn connect(core: &Arc<Core>, task: &mut dyn SockTask, a: &[u8]) -> KResult<()> {
    if a.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let other = if addr::family(a) != Some(n::AF_UNSPEC) {
        let name = addr::validate(a)?;
        addr::autobind_for_creds(core)?;
        let other = addr::find_other(task, &name, core.kind)?;
        if !Arc::ptr_eq(&other, core) {
            let mut ost = other.state.lock();
            if ost.peer.as_ref().is_some_and(|p| !Arc::ptr_eq(p, core)) {
                return Err(Errno::EPERM);
            }
            ost.conn = Conn::Established;
        }
        Some(other)
    } else {
        None
    };
    let old = {
        let mut st = core.state.lock();
        if let Some(o) = &other {
            if Arc::ptr_eq(o, core) && st.peer.as_ref().is_some_and(|p| !Arc::ptr_eq(p, core)) {
                return Err(Errno::EPERM);
            }
            st.conn = Conn::Established;
        } else {
            st.conn = Conn::Close;
        }
        std::mem::replace(&mut st.peer, other.clone())
    };
    if let Some(old) = old {
        core.pollee.notify(writable());
        if !other.as_ref().is_some_and(|o| Arc::ptr_eq(o, &old)) {
            disconnected(core, &old);
            let mut ost = old.state.lock();
            if ost.peer.is_none() {
                ost.conn = Conn::Close;
            }
        }
    }
    Ok(())
}

/// `unix_dgram_disconnected`: `core` stopped being associated with `other`: what is queued
/// (from the old peer) goes, and a live old peer connected back to us learns `ECONNRESET`.
fn disconnected(core: &Arc<Core>, other: &Arc<Core>) {
    let purged = std::mem::take(&mut core.state.lock().queue);
    if purged.is_empty() {
        return;
    }
    core.peer_wait.notify(PollEvents::all());
    core.wake_relays();
    drop(purged);
    if Arc::ptr_eq(core, other) {
        return;
    }
    let report = {
        let mut ost = other.state.lock();
        let report = !ost.dead && Core::peer_is(&ost, core);
        if report {
            ost.err = Errno::ECONNRESET.raw();
        }
        report
    };
    if report {
        other.pollee.notify(PollEvents::POLLERR);
    }
}

/// `unix_seqpacket_sendmsg`: a pending error, `ENOTCONN` unless connected, then a datagram
/// send to the peer (an address is ignored).
pub(super) fn seqpacket_sendmsg(core: &Arc<Core>, msg: &mut SendMsg<'_>, task: &mut dyn SockTask) -> KResult<usize> {
    {
        let mut st = core.state.lock();
        if let Some(e) = Core::take_err(&mut st) {
            return Err(e);
        }
        if st.conn != Conn::Established {
            return Err(Errno::ENOTCONN);
        }
    }
    msg.name = None;
    sendmsg(core, msg, task)
}

/// `unix_seqpacket_recvmsg`: `ENOTCONN` unless connected, then a datagram receive.
pub(super) fn seqpacket_recvmsg(core: &Arc<Core>, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize> {
    if core.state.lock().conn != Conn::Established {
        return Err(Errno::ENOTCONN);
    }
    recvmsg(core, buf, msg, flags, task)
}

/// `unix_dgram_sendmsg`: one datagram to the address given or to the peer (`ENOTCONN`
/// without either). `EMSGSIZE` above the send buffer less 32 bytes; waits for send-buffer
/// room, and — unless the target is our peer connected back to us — for room in a target
/// queue holding more than its limit (`EAGAIN` if the caller may not wait). A target that
/// died gives `ECONNREFUSED` once (and ends the association), a target shut down for reading
/// `EPIPE`; a target connected elsewhere `EPERM`. Never `SIGPIPE`.
pub(super) fn sendmsg(core: &Arc<Core>, msg: &mut SendMsg<'_>, task: &mut dyn SockTask) -> KResult<usize> {
    if msg.flags.contains(MsgFlags::OOB) {
        return Err(Errno::EOPNOTSUPP);
    }
    let (name, mut other) = match msg.name.filter(|a| !a.is_empty()) {
        Some(a) => (Some(addr::validate(a)?), None),
        None => (None, Some(core.peer().ok_or(Errno::ENOTCONN)?)),
    };
    addr::autobind_for_creds(core)?;
    let len = msg.data.len();
    if len > core.common.sndbuf().saturating_sub(32) {
        return Err(Errno::EMSGSIZE);
    }
    let paged = if len > SKB_MAX_ALLOC { (len - SKB_MAX_ALLOC).min(MAX_PAGED).div_ceil(4096) * 4096 } else { 0 }.min(len);
    let mut pkt = core.alloc_packet(task, len - paged, paged)?;
    pkt.creds = msg.creds;
    pkt.rights = std::mem::take(&mut msg.rights);
    if msg.fault {
        return Err(Errno::EFAULT);
    }
    pkt.data = msg.data.to_vec();
    loop {
        let target = match other.take() {
            Some(o) => o,
            None => match &name {
                Some(nm) => addr::find_other(task, nm, core.kind)?,
                None => return Err(Errno::ECONNRESET),
            },
        };
        match deliver(core, &target, pkt, task)? {
            Delivery::Sent => {
                target.data_ready();
                return Ok(len);
            }
            Delivery::Full(p) => {
                pkt = p;
                task.wait(&[&target.peer_wait], PollEvents::all())?;
                other = Some(target);
            }
            Delivery::Dead(p) => {
                pkt = p;
                if core.kind == n::SOCK_SEQPACKET {
                    return Err(Errno::EPIPE);
                }
                let was_peer = {
                    let mut st = core.state.lock();
                    let was = Core::peer_is(&st, &target);
                    if was {
                        st.peer = None;
                        st.conn = Conn::Close;
                    }
                    was
                };
                if was_peer {
                    core.pollee.notify(writable());
                    disconnected(core, &target);
                    return Err(Errno::ECONNREFUSED);
                }
            }
        }
    }
}

/// How one attempt to queue a datagram ended.
enum Delivery {
    Sent,
    /// The target's queue is full and the caller may wait: the packet comes back.
    Full(Packet),
    /// The target is released: the packet comes back.
    Dead(Packet),
}

/// Queues `pkt` on `other` if it may take it (the locked middle of `unix_dgram_sendmsg`).
fn deliver(core: &Arc<Core>, other: &Arc<Core>, mut pkt: Packet, task: &mut dyn SockTask) -> KResult<Delivery> {
    let same = Arc::ptr_eq(core, other);
    let my_peer_is_other = same || Core::peer_is(&core.state.lock(), other);
    let mut ost = other.state.lock();
    if ost.peer.as_ref().is_some_and(|p| !Arc::ptr_eq(p, core)) {
        drop(ost);
        drop(pkt);
        return Err(Errno::EPERM);
    }
    if ost.dead {
        return Ok(Delivery::Dead(pkt));
    }
    if ost.shutdown & RCV_SHUTDOWN != 0 {
        drop(ost);
        drop(pkt);
        return Err(Errno::EPIPE);
    }
    if !same && !Core::peer_is(&ost, core) && Core::queue_full(&ost) {
        if task.can_wait() {
            return Ok(Delivery::Full(pkt));
        }
        if my_peer_is_other && !ost.relays.iter().any(|w| w.as_ptr() == Arc::as_ptr(core)) {
            ost.relays.push(Arc::downgrade(core));
        }
        drop(ost);
        drop(pkt);
        return Err(Errno::EAGAIN);
    }
    let passcred = other.common.flag(SockFlag::PassCred);
    core.maybe_add_creds(&mut pkt, passcred, ost.has_file, task);
    other.stamp_for(&mut pkt);
    pkt.queued();
    ost.queue.push_back(pkt);
    Ok(Delivery::Sent)
}

/// `__unix_dgram_recvmsg`: one datagram (`MSG_TRUNC` in the flags if it did not fit; with
/// `MSG_TRUNC` asked, its full length is returned). Waits unless the caller may not; a pending
/// error comes first; a socket shut down for reading reads end of file once empty (a
/// non-blocking seqpacket socket too); an unconnected seqpacket socket `ENOTCONN`.
pub(super) fn recvmsg(core: &Arc<Core>, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize> {
    if flags.contains(MsgFlags::OOB) {
        return Err(Errno::EOPNOTSUPP);
    }
    let peek = flags.contains(MsgFlags::PEEK);
    let pkt = loop {
        let eof = {
            let mut st = core.state.lock();
            if let Some(e) = Core::take_err(&mut st) {
                return Err(e);
            }
            let got = if peek { st.queue.front().map(PeekedPacket::of) } else { st.queue.pop_front().map(PeekedPacket::Taken) };
            if let Some(p) = got {
                break p;
            }
            let eof = st.shutdown & RCV_SHUTDOWN != 0;
            if !task.can_wait() {
                if core.kind == n::SOCK_SEQPACKET && eof {
                    return Ok(0);
                }
                return Err(Errno::EAGAIN);
            }
            if !eof && core.kind == n::SOCK_SEQPACKET && !matches!(st.conn, Conn::Established | Conn::Listen) {
                return Err(Errno::ENOTCONN);
            }
            eof
        };
        if eof {
            return Ok(0);
        }
        task.wait(&[&core.pollee], readable())?;
    };
    core.peer_wait.notify(PollEvents::all());
    if !peek {
        core.wake_relays();
    }
    let full = pkt.len();
    let n = full.min(buf.len());
    if n < full {
        msg.flags |= MsgFlags::TRUNC;
    }
    pkt.copy_to(&mut buf[..n]);
    if msg.want_name {
        msg.name = pkt.sender().addr().map(|a| a.bytes.clone());
    }
    if let Some(c) = core.common.timestamp_cmsg(pkt.stamp().unwrap_or_else(super::realtime_ns)) {
        msg.cmsgs.push(c);
    }
    if core.common.flag(SockFlag::PassCred) {
        msg.creds = Some(Core::delivered_creds(pkt.creds()));
    }
    msg.rights = pkt.into_rights();
    Ok(if flags.contains(MsgFlags::TRUNC) { full } else { n })
}

/// A datagram taken off the queue, or a copy of the first one for `MSG_PEEK` (descriptors
/// duplicated, as Linux's `unix_peek_fds`).
enum PeekedPacket {
    Taken(Packet),
    Peeked { data: Vec<u8>, sender: Arc<Core>, creds: Option<uapi::net::UCred>, rights: Vec<Arc<fs::OpenFile>>, stamp: Option<i128> },
}

impl PeekedPacket {
    fn of(p: &Packet) -> PeekedPacket {
        PeekedPacket::Peeked { data: p.data.clone(), sender: p.sender.clone(), creds: p.creds, rights: p.rights.clone(), stamp: p.stamp }
    }
    fn stamp(&self) -> Option<i128> {
        match self {
            PeekedPacket::Taken(p) => p.stamp,
            PeekedPacket::Peeked { stamp, .. } => *stamp,
        }
    }
    fn len(&self) -> usize {
        match self {
            PeekedPacket::Taken(p) => p.data.len(),
            PeekedPacket::Peeked { data, .. } => data.len(),
        }
    }
    fn copy_to(&self, buf: &mut [u8]) {
        let data = match self {
            PeekedPacket::Taken(p) => &p.data,
            PeekedPacket::Peeked { data, .. } => data,
        };
        buf.copy_from_slice(&data[..buf.len()]);
    }
    fn sender(&self) -> &Arc<Core> {
        match self {
            PeekedPacket::Taken(p) => &p.sender,
            PeekedPacket::Peeked { sender, .. } => sender,
        }
    }
    fn creds(&self) -> Option<uapi::net::UCred> {
        match self {
            PeekedPacket::Taken(p) => p.creds,
            PeekedPacket::Peeked { creds, .. } => *creds,
        }
    }
    fn into_rights(self) -> Vec<Arc<fs::OpenFile>> {
        match self {
            PeekedPacket::Taken(mut p) => std::mem::take(&mut p.rights),
            PeekedPacket::Peeked { rights, .. } => rights,
        }
    }
}
