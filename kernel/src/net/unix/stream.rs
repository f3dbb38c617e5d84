//! Connections: `listen`, `connect` and `accept` for stream and seqpacket sockets, and the
//! stream data path (Linux's `unix_listen`, `unix_stream_connect`, `unix_accept`,
//! `unix_stream_sendmsg`, `unix_stream_read_generic`), with Linux's checks in Linux's order.

use super::addr;
use super::{readable, Conn, Core, Packet, RCV_SHUTDOWN, SEND_SHUTDOWN, SKB_MAX_HEAD};
use crate::net::SockFlag;
use fs::{PollEvents, RecvMsg, SendMsg, SockTask};
use std::sync::Arc;
use uapi::net::{MsgFlags, UCred};
use uapi::{Errno, KResult};

/// `UNIX_SKB_FRAGS_SZ`: a stream skb carries at most this much in pages beyond its head.
const FRAGS_SZ: usize = 32768;

/// `unix_listen`: `EOPNOTSUPP` for datagram sockets, `EINVAL` unbound or connected. Records
/// the listener's credentials, which connecting sockets take as their peer's.
pub(super) fn listen(core: &Arc<Core>, backlog: i32, task: &dyn SockTask) -> KResult<()> {
    if !core.connection_based() {
        return Err(Errno::EOPNOTSUPP);
    }
    let mut st = core.state.lock();
    if st.addr.is_none() || !matches!(st.conn, Conn::Close | Conn::Listen) {
        return Err(Errno::EINVAL);
    }
    let backlog = usize::try_from(backlog).unwrap_or(0);
    let grew = backlog > st.max_backlog;
    st.max_backlog = backlog;
    st.conn = Conn::Listen;
    st.peercred = Some(task.peer_ucred());
    st.peergroups = Some(task.groups());
    drop(st);
    if grew {
        core.peer_wait.notify(PollEvents::all());
    }
    Ok(())
}

/// `unix_stream_connect`: finds the listener, waits while its backlog is full (`EAGAIN` if the
/// caller may not wait), then queues a new server-side socket on it. The caller's own state is
/// checked last, as Linux does (`EISCONN` connected, `EINVAL` listening).
pub(super) fn connect(core: &Arc<Core>, task: &mut dyn SockTask, a: &[u8]) -> KResult<()> {
    let name = addr::validate(a)?;
    addr::autobind_for_creds(core)?;
    loop {
        let other = addr::find_other(task, &name, core.kind)?;
        match try_connect(core, &other, task)? {
            true => return Ok(()),
            false => task.wait(&[&other.peer_wait], PollEvents::all())?,
        }
    }
}

/// One attempt at `connect`: `Ok(false)` if the listener's backlog is full.
fn try_connect(core: &Arc<Core>, other: &Arc<Core>, task: &dyn SockTask) -> KResult<bool> {
    let mut ost = other.state.lock();
    if ost.conn != Conn::Listen || ost.shutdown & RCV_SHUTDOWN != 0 || ost.dead {
        return Err(Errno::ECONNREFUSED);
    }
    if Core::queue_full(&ost) {
        return Ok(false);
    }
    if Arc::ptr_eq(core, other) {
        return Err(Errno::EINVAL);
    }
    let mut st = core.state.lock();
    match st.conn {
        Conn::Established => return Err(Errno::EISCONN),
        Conn::Listen => return Err(Errno::EINVAL),
        Conn::Close => {}
    }
    let embryo = Core::new(core.kind);
    {
        let mut est = embryo.state.lock();
        est.peer = Some(core.clone());
        est.conn = Conn::Established;
        est.peercred = Some(task.peer_ucred());
        est.peergroups = Some(task.groups());
        est.addr = ost.addr.clone();
        est.path = ost.path.clone();
        est.has_file = false;
    }
    st.peercred = ost.peercred;
    st.peergroups = ost.peergroups.clone();
    st.conn = Conn::Established;
    st.peer = Some(embryo.clone());
    drop(st);
    let mut pkt = embryo.alloc_unchecked(1, 0);
    pkt.embryo = Some(embryo);
    ost.queue.push_back(pkt);
    drop(ost);
    other.data_ready();
    core.state_change();
    Ok(true)
}

/// `unix_accept`: `EOPNOTSUPP` for datagram sockets, `EINVAL` unless listening; the next
/// pending connection, waiting for one unless the caller may not (`EAGAIN`). A listener shut
/// down for reading gives `EINVAL` instead of waiting.
pub(super) fn accept(core: &Arc<Core>, task: &mut dyn SockTask) -> KResult<Arc<Core>> {
    if !core.connection_based() {
        return Err(Errno::EOPNOTSUPP);
    }
    if core.state.lock().conn != Conn::Listen {
        return Err(Errno::EINVAL);
    }
    let pkt = loop {
        {
            let mut st = core.state.lock();
            if let Some(e) = Core::take_err(&mut st) {
                return Err(e);
            }
            if let Some(p) = st.queue.pop_front() {
                break p;
            }
            if task.can_wait() && st.shutdown & RCV_SHUTDOWN != 0 {
                return Err(Errno::EINVAL);
            }
        }
        task.wait(&[&core.pollee], readable())?;
    };
    core.peer_wait.notify(PollEvents::all());
    let embryo = pkt.embryo.clone().ok_or(Errno::EINVAL)?;
    drop(pkt);
    embryo.state.lock().has_file = true;
    embryo.common.inherit_from(&core.common);
    Ok(embryo)
}

impl Core {
    /// A packet charged to this socket without waiting for room (`sock_wmalloc`).
    fn alloc_unchecked(self: &Arc<Core>, head: usize, paged: usize) -> Packet {
        let truesize = super::truesize(head, paged);
        self.wcharge(truesize);
        Packet { data: Vec::new(), consumed: 0, sender: self.clone(), truesize, creds: None, rights: Vec::new(), embryo: None, in_flight: false, stamp: None }
    }
}

/// The size of the next stream skb for `left` bytes: half the send buffer less 64 bytes, at
/// most a page's head plus 32 KiB of pages; returns (head, paged).
fn stream_chunk(core: &Core, left: usize) -> (usize, usize) {
    let size = left.min((core.common.sndbuf() / 2).saturating_sub(64).max(1)).min(SKB_MAX_HEAD + FRAGS_SZ);
    let paged = size.saturating_sub(SKB_MAX_HEAD).div_ceil(4096).saturating_mul(4096).min(size);
    (size - paged, paged)
}

/// `unix_stream_sendmsg`: sends `msg.data` as a run of skbs, waiting for send-buffer room as
/// needed. An address is `EISCONN`/`EOPNOTSUPP`; no peer `ENOTCONN`; after `SHUT_WR`, or once
/// the peer is gone, `EPIPE` with `SIGPIPE` (unless `MSG_NOSIGNAL`, and only if nothing was
/// sent). Descriptors go with the first skb; a partial count is returned when an error or a
/// signal comes after some data went.
pub(super) fn sendmsg(core: &Arc<Core>, msg: &mut SendMsg<'_>, task: &mut dyn SockTask) -> KResult<usize> {
    if msg.flags.contains(MsgFlags::OOB) {
        return Err(Errno::EOPNOTSUPP);
    }
    let (peer, shutdown, conn) = {
        let st = core.state.lock();
        (st.peer.clone(), st.shutdown, st.conn)
    };
    if msg.name.is_some_and(|a| !a.is_empty()) {
        return Err(if conn == Conn::Established { Errno::EISCONN } else { Errno::EOPNOTSUPP });
    }
    let other = peer.ok_or(Errno::ENOTCONN)?;
    let nosignal = msg.flags.contains(MsgFlags::NOSIGNAL);
    if shutdown & SEND_SHUTDOWN != 0 {
        if !nosignal {
            task.sigpipe();
        }
        return Err(Errno::EPIPE);
    }
    let len = msg.data.len();
    let mut sent = 0usize;
    let mut rights = std::mem::take(&mut msg.rights);
    let partial = |sent: usize, e: Errno| if sent > 0 { Ok(sent) } else { Err(e) };
    while sent < len || (msg.fault && sent == len) {
        let (head, paged) = stream_chunk(core, (len - sent).max(1));
        let mut pkt = match core.alloc_packet(task, head, paged) {
            Ok(p) => p,
            Err(e) => return partial(sent, e),
        };
        let size = head + paged;
        if msg.fault && sent + size > len {
            drop(pkt);
            return partial(sent, Errno::EFAULT);
        }
        pkt.data = msg.data[sent..sent + size].to_vec();
        pkt.creds = msg.creds;
        pkt.rights = std::mem::take(&mut rights);
        let mut ost = other.state.lock();
        if ost.dead || ost.shutdown & RCV_SHUTDOWN != 0 {
            drop(ost);
            if sent == 0 && !nosignal {
                task.sigpipe();
            }
            drop(pkt);
            return partial(sent, Errno::EPIPE);
        }
        let passcred = other.common.flag(SockFlag::PassCred);
        core.maybe_add_creds(&mut pkt, passcred, ost.has_file, task);
        pkt.queued();
        ost.queue.push_back(pkt);
        drop(ost);
        other.data_ready();
        sent += size;
    }
    Ok(sent)
}

/// `unix_stream_read_generic`: `EINVAL` unless connected, `EINVAL` for `MSG_OOB` (there is
/// never urgent data). Reads queued data until the buffer is full or the queue empty; waits
/// (unless the caller may not) only while fewer than the low-water mark (`MSG_WAITALL`: the
/// whole buffer) bytes were read. A pending error is reported once the queue is empty; end of
/// file once the peer shut down. With `SO_PASSCRED`, data of different credentials is never
/// joined in one read. Descriptors end the read they arrive with.
pub(super) fn recvmsg(core: &Arc<Core>, buf: &mut [u8], msg: &mut RecvMsg, flags: MsgFlags, task: &mut dyn SockTask) -> KResult<usize> {
    if core.state.lock().conn != Conn::Established {
        return Err(Errno::EINVAL);
    }
    if flags.contains(MsgFlags::OOB) {
        return Err(Errno::EINVAL);
    }
    let size = buf.len();
    let target = if flags.contains(MsgFlags::WAITALL) { size } else { core.common.rcvlowat().min(size) }.max(1);
    let mut r = StreamRead { peek: flags.contains(MsgFlags::PEEK), passcred: core.common.flag(SockFlag::PassCred), glue: None, copied: 0, sender: None, done: Vec::new() };
    let mut err = None;
    loop {
        let mut st = core.state.lock();
        let had_data = !st.queue.is_empty();
        let stop = r.pass(&mut st.queue, buf, msg);
        // A read of 0 bytes returns at once only if there is data (Linux's do-while).
        let full = r.copied == size && (size > 0 || had_data);
        if stop || full || (r.peek && r.copied > 0) || (size > 0 && r.copied >= target) {
            break;
        }
        if let Some(e) = Core::take_err(&mut st) {
            err = Some(e);
            break;
        }
        if st.shutdown & RCV_SHUTDOWN != 0 {
            break;
        }
        drop(st);
        drop(std::mem::take(&mut r.done));
        if let Err(e) = task.wait(&[&core.pollee], readable()) {
            err = Some(e);
            break;
        }
    }
    drop(std::mem::take(&mut r.done));
    if msg.want_name {
        if let Some(s) = r.sender.take() {
            msg.name = s.addr().map(|a| a.bytes.clone());
        }
    }
    match err {
        Some(e) if r.copied == 0 => Err(e),
        _ => {
            if r.passcred {
                msg.creds = Some(r.glue.map_or(UCred::default(), Core::delivered_creds));
            }
            Ok(r.copied)
        }
    }
}

/// One stream read in progress (Linux keeps these in locals and its `scm_cookie`).
struct StreamRead {
    peek: bool,
    passcred: bool,
    /// With `SO_PASSCRED`: the credentials of the data read so far (data of others ends it).
    glue: Option<Option<UCred>>,
    copied: usize,
    /// The sender of the last data read (its address is the source address).
    sender: Option<Arc<Core>>,
    /// Consumed packets, dropped once no lock is held.
    done: Vec<Packet>,
}

impl StreamRead {
    /// Copies from the queue into `buf[copied..]` as far as it goes; true if the read must
    /// end here (descriptors arrived, credentials changed, the buffer is full mid-packet).
    fn pass(&mut self, queue: &mut std::collections::VecDeque<Packet>, buf: &mut [u8], msg: &mut RecvMsg) -> bool {
        let mut idx = 0;
        while self.copied < buf.len() {
            let Some(pkt) = queue.get_mut(idx) else { return false };
            match self.glue {
                Some(c) if c != pkt.creds => return true,
                None if self.passcred => self.glue = Some(pkt.creds),
                _ => {}
            }
            if msg.want_name && !self.sender.as_ref().is_some_and(|s| Arc::ptr_eq(s, &pkt.sender)) {
                self.sender = Some(pkt.sender.clone());
            }
            let chunk = pkt.remaining().min(buf.len() - self.copied);
            buf[self.copied..self.copied + chunk].copy_from_slice(&pkt.data[pkt.consumed..pkt.consumed + chunk]);
            self.copied += chunk;
            if self.peek {
                if !pkt.rights.is_empty() {
                    msg.rights = pkt.rights.clone();
                    return true;
                }
                idx += 1;
                continue;
            }
            pkt.consumed += chunk;
            if !pkt.rights.is_empty() {
                msg.rights = std::mem::take(&mut pkt.rights);
            }
            if pkt.remaining() > 0 {
                return true;
            }
            if let Some(p) = queue.remove(idx) {
                self.done.push(p);
            }
            if !msg.rights.is_empty() {
                return true;
            }
        }
        false
    }
}
