//! `/proc/net/{tcp,tcp6,udp,udp6,dev,route,if_inet6,snmp,sockstat}` in Linux's formats
//! (`tcp4_seq_show`, `tcp6_seq_show`, `udp4_format_sock`, `dev_seq_show`, `fib_route_seq_show`,
//! `if6_seq_show`, `snmp_seq_show`), so `netstat`, `ss` (without netlink diag), `ip -s link`
//! and `route` read them. Counters umbra has no packets for are 0.

use super::addr::{Fam, ETH0_ADDR, GATEWAY};
use super::tcp::{self, Tcp, TcpState};
use super::udp::{self, Udp};
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The text of `/proc/net/<name>`.
pub fn text(name: &str) -> String {
    match name {
        "tcp" => tcp_text(Fam::V4),
        "tcp6" => tcp_text(Fam::V6),
        "udp" => udp_text(Fam::V4),
        "udp6" => udp_text(Fam::V6),
        "dev" => dev(),
        "route" => route(),
        "if_inet6" => if_inet6(),
        "snmp" => snmp(),
        "sockstat" => sockstat(),
        _ => String::new(),
    }
}

/// An IPv4 address as `%08X` of its network-order bytes read as a host-order word.
fn hex4(ip: IpAddr) -> String {
    let o = match ip {
        IpAddr::V4(v) => v.octets(),
        IpAddr::V6(v) => v.to_ipv4_mapped().map_or([0; 4], |m| m.octets()),
    };
    format!("{:08X}", u32::from_ne_bytes(o))
}

/// An IPv6 address (IPv4 shown v4-mapped) as four `%08X` words.
fn hex6(ip: IpAddr) -> String {
    let o = match ip {
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        IpAddr::V6(v) => v.octets(),
    };
    o.chunks(4).map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))).collect()
}

fn endpoint(fam: Fam, sa: Option<SocketAddr>) -> String {
    let sa = sa.unwrap_or(fam.any());
    let ip = if fam == Fam::V4 { hex4(sa.ip()) } else { hex6(sa.ip()) };
    format!("{ip}:{:04X}", sa.port())
}

fn tcp_text(fam: Fam) -> String {
    let mut out = String::new();
    if fam == Fam::V4 {
        let _ = writeln!(out, "{:<149}", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode");
    } else {
        out.push_str("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
    }
    let socks: Vec<Arc<Tcp>> = tcp::all().into_iter().filter(|t| t.fam == fam).collect();
    let mut sl = 0;
    for t in socks {
        let state = t.state();
        let (local, remote, rxq) = {
            let st = t.st.lock();
            if !st.listening && !st.connected && !st.connecting {
                continue;
            }
            (st.local, st.remote, if st.listening { 0 } else { st.rx.len() })
        };
        if state == TcpState::Close {
            continue;
        }
        let rxq = if state == TcpState::Listen { t.backlog_len() } else { rxq };
        let line = format!(
            "{sl:4}: {} {} {:02X} {:08X}:{:08X} 00:00000000 00000000 {:5} {:8} {} 1 0000000000000000 20 4 0 10 -1",
            endpoint(fam, local),
            endpoint(fam, remote),
            state as u8,
            0,
            rxq,
            t.uid.load(Ordering::Relaxed),
            0,
            t.ino.load(Ordering::Relaxed),
        );
        if fam == Fam::V4 {
            let _ = writeln!(out, "{line:<149}");
        } else {
            let _ = writeln!(out, "{line}");
        }
        sl += 1;
    }
    out
}

fn udp_text(fam: Fam) -> String {
    let mut out = String::new();
    if fam == Fam::V4 {
        let _ = writeln!(out, "{:<127}", "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops");
    } else {
        out.push_str("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n");
    }
    let socks: Vec<Arc<Udp>> = udp::TABLE.lock().all().into_iter().filter(|u| u.fam == fam).collect();
    for (sl, u) in socks.iter().enumerate() {
        let (local, remote, rxq, drops) = {
            let st = u.st.lock();
            (st.local, st.remote, st.rx.iter().map(|d| d.data.len()).sum::<usize>(), st.drops)
        };
        let state = if remote.is_some() { 1 } else { 7 };
        let line = format!(
            "{sl:5}: {} {} {state:02X} {:08X}:{:08X} 00:00000000 00000000 {:5} {:8} {} 2 0000000000000000 {drops}",
            endpoint(fam, local),
            endpoint(fam, remote),
            0,
            rxq,
            u.uid.load(Ordering::Relaxed),
            0,
            u.ino.load(Ordering::Relaxed),
        );
        if fam == Fam::V4 {
            let _ = writeln!(out, "{line:<127}");
        } else {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

fn dev() -> String {
    let mut out = String::from(
        "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for i in crate::net::rtnetlink::interfaces() {
        let _ = writeln!(out, "{:>6}:{:8} {:7} {:4} {:4} {:4} {:5} {:10} {:9} {:8} {:7} {:4} {:4} {:4} {:5} {:7} {:10}", i.name, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
    out
}

fn route() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<127}", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT");
    if super::iface::eth0_up() {
        let gw = hex4(IpAddr::V4(GATEWAY));
        let net = hex4(IpAddr::V4(std::net::Ipv4Addr::from(u32::from(ETH0_ADDR) & 0xffff_ff00)));
        let mask = hex4(IpAddr::V4(std::net::Ipv4Addr::new(255, 255, 255, 0)));
        let _ = writeln!(out, "{:<127}", format!("eth0\t00000000\t{gw}\t0003\t0\t0\t0\t00000000\t0\t0\t0"));
        let _ = writeln!(out, "{:<127}", format!("eth0\t{net}\t00000000\t0001\t0\t0\t0\t{mask}\t0\t0\t0"));
    }
    out
}

fn if_inet6() -> String {
    "00000000000000000000000000000001 01 80 10 80       lo\n".to_string()
}

fn snmp() -> String {
    let established = tcp::all().iter().filter(|t| matches!(t.state(), TcpState::Established | TcpState::CloseWait)).count();
    let mut out = String::new();
    out.push_str("Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits\n");
    out.push_str("Ip: 1 64 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
    out.push_str("Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps\n");
    out.push_str("Icmp: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
    out.push_str("IcmpMsg:\n");
    out.push_str("Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n");
    let _ = writeln!(out, "Tcp: 1 200 120000 -1 0 0 0 0 {established} 0 0 0 0 0 0");
    out.push_str("Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n");
    out.push_str("Udp: 0 0 0 0 0 0 0 0 0\n");
    out.push_str("UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n");
    out.push_str("UdpLite: 0 0 0 0 0 0 0 0 0\n");
    out
}

fn sockstat() -> String {
    let tcp_n = tcp::all().len();
    let udp_n = udp::TABLE.lock().all().len();
    format!("sockets: used {}\nTCP: inuse {tcp_n} orphan 0 tw 0 alloc {tcp_n} mem 0\nUDP: inuse {udp_n} mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n", tcp_n + udp_n)
}
