//! `NETLINK_SOCK_DIAG` for internet sockets (Linux's `net/ipv4/inet_diag.c`,
//! `tcp_diag.c`, `udp_diag.c`): `SOCK_DIAG_BY_FAMILY` dumps of TCP and UDP sockets filtered by
//! `idiag_states`, one `struct inet_diag_msg` each, as `ss` asks. Other families answer
//! `ENOENT` (no handler registered), so `ss -x` falls back to /proc/net/unix as on a kernel
//! without `unix_diag`.

use super::addr::Fam;
use super::tcp::{self, TcpState};
use super::udp;
use crate::net::rtnetlink::{done_msg, error_msg, Header, NLMSG_HDRLEN, NLM_F_MULTI};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use uapi::net as n;

/// `SOCK_DIAG_BY_FAMILY`.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `sizeof(struct inet_diag_req_v2)`.
const REQ_LEN: usize = 56;

/// One socket's row.
struct Row {
    fam: Fam,
    state: u8,
    local: SocketAddr,
    remote: SocketAddr,
    rqueue: u32,
    /// For a listener: its backlog limit (what `ss` shows as Send-Q).
    wqueue: u32,
    uid: u32,
    ino: u64,
}

/// Answers one request of a `NETLINK_SOCK_DIAG` socket.
pub fn handle(h: &Header, msg: &[u8], portid: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let body = msg.get(NLMSG_HDRLEN..).unwrap_or_default();
    if h.kind != SOCK_DIAG_BY_FAMILY || body.len() < 2 {
        error_msg(h, uapi::Errno::EINVAL.raw(), portid, &mut out);
        return out;
    }
    let family = i32::from(body[0]);
    if (family == n::AF_INET || family == n::AF_INET6) && body.len() < REQ_LEN {
        error_msg(h, uapi::Errno::EINVAL.raw(), portid, &mut out);
        return out;
    }
    let protocol = i32::from(body[1]);
    let states = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
    let fam = match family {
        n::AF_INET => Fam::V4,
        n::AF_INET6 => Fam::V6,
        _ => {
            error_msg(h, uapi::Errno::ENOENT.raw(), portid, &mut out);
            return out;
        }
    };
    let rows = match protocol {
        super::IPPROTO_TCP => tcp_rows(fam),
        super::IPPROTO_UDP => udp_rows(fam),
        _ => {
            error_msg(h, uapi::Errno::ENOENT.raw(), portid, &mut out);
            return out;
        }
    };
    for r in rows.iter().filter(|r| states & (1 << r.state) != 0) {
        row_msg(r, h.seq, portid, &mut out);
    }
    done_msg(h.seq, portid, &mut out);
    out
}

fn tcp_rows(fam: Fam) -> Vec<Row> {
    let mut v = Vec::new();
    for t in tcp::all().into_iter().filter(|t| t.fam == fam) {
        let state = t.state();
        let st = t.st.lock();
        if !st.listening && !st.connected && !st.connecting && st.bound.is_none() {
            continue;
        }
        let (rqueue, wqueue) = if state == TcpState::Listen { (st.backlog.len() as u32, st.max_backlog as u32) } else { (st.rx.len() as u32, 0) };
        v.push(Row {
            fam,
            state: state as u8,
            local: st.local.unwrap_or(fam.any()),
            remote: st.remote.unwrap_or(fam.any()),
            rqueue,
            wqueue,
            uid: t.uid.load(Ordering::Relaxed),
            ino: t.ino.load(Ordering::Relaxed),
        });
    }
    v
}

fn udp_rows(fam: Fam) -> Vec<Row> {
    let socks = udp::TABLE.lock().all();
    socks
        .into_iter()
        .filter(|u| u.fam == fam)
        .map(|u| {
            let st = u.st.lock();
            Row {
                fam,
                state: if st.remote.is_some() { 1 } else { 7 },
                local: st.local.unwrap_or(fam.any()),
                remote: st.remote.unwrap_or(fam.any()),
                rqueue: st.rx.iter().map(|d| d.data.len() as u32).sum(),
                wqueue: 0,
                uid: u.uid.load(Ordering::Relaxed),
                ino: u.ino.load(Ordering::Relaxed),
            }
        })
        .collect()
}

/// The 16 address bytes of `inet_diag_sockid` (an IPv4 address in the first four).
fn addr16(fam: Fam, ip: IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match (fam, ip) {
        (Fam::V4, IpAddr::V4(v4)) => b[..4].copy_from_slice(&v4.octets()),
        (Fam::V4, IpAddr::V6(_)) => {}
        (Fam::V6, IpAddr::V4(v4)) => b = v4.to_ipv6_mapped().octets(),
        (Fam::V6, IpAddr::V6(v6)) => b = v6.octets(),
    }
    b
}

/// A `SOCK_DIAG_BY_FAMILY` reply with `struct inet_diag_msg` for `r`.
fn row_msg(r: &Row, seq: u32, portid: u32, out: &mut Vec<u8>) {
    let mut m = Vec::with_capacity(NLMSG_HDRLEN + 72);
    m.extend_from_slice(&((NLMSG_HDRLEN + 72) as u32).to_ne_bytes());
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&NLM_F_MULTI.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&portid.to_ne_bytes());
    m.extend_from_slice(&[r.fam.domain() as u8, r.state, 0, 0]);
    m.extend_from_slice(&r.local.port().to_be_bytes());
    m.extend_from_slice(&r.remote.port().to_be_bytes());
    m.extend_from_slice(&addr16(r.fam, r.local.ip()));
    m.extend_from_slice(&addr16(r.fam, r.remote.ip()));
    m.extend_from_slice(&0u32.to_ne_bytes()); // idiag_if
    m.extend_from_slice(&r.ino.to_ne_bytes()); // idiag_cookie
    m.extend_from_slice(&0u32.to_ne_bytes()); // idiag_expires
    m.extend_from_slice(&r.rqueue.to_ne_bytes());
    m.extend_from_slice(&r.wqueue.to_ne_bytes());
    m.extend_from_slice(&r.uid.to_ne_bytes());
    m.extend_from_slice(&(r.ino as u32).to_ne_bytes());
    out.extend_from_slice(&m);
}

