//! `IPPROTO_IP`, `IPPROTO_IPV6`, `IPPROTO_TCP` and `IPPROTO_UDP` options (Linux's
//! `do_ip_setsockopt`, `do_ipv6_setsockopt`, `do_tcp_setsockopt`, `udp_lib_setsockopt` and
//! their getters): accepted with Linux's range checks and read back as Linux shows them.
//! Umbra has no packets, so most only change what `getsockopt` reports; `IPV6_V6ONLY` shapes
//! binding, `IP_PKTINFO`/`IPV6_RECVPKTINFO` add control messages, `SO_OOBINLINE` and
//! `TCP_NODELAY`/`TCP_CORK` are honoured where they mean something without packets.

use super::addr::Fam;
use crate::net::OptVal;
use std::collections::BTreeMap;
use uapi::net as n;
use uapi::{Errno, KResult};

/// `SOL_IP`.
pub const SOL_IP: i32 = 0;
/// `SOL_TCP`.
pub const SOL_TCP: i32 = 6;
/// `SOL_UDP`.
pub const SOL_UDP: i32 = 17;
/// `SOL_IPV6`.
pub const SOL_IPV6: i32 = 41;

pub const IP_TOS: i32 = 1;
pub const IP_TTL: i32 = 2;
pub const IP_OPTIONS: i32 = 4;
pub const IP_RECVOPTS: i32 = 6;
pub const IP_RETOPTS: i32 = 7;
pub const IP_PKTINFO: i32 = 8;
pub const IP_MTU_DISCOVER: i32 = 10;
pub const IP_RECVERR: i32 = 11;
pub const IP_RECVTTL: i32 = 12;
pub const IP_RECVTOS: i32 = 13;
pub const IP_MTU: i32 = 14;
pub const IP_FREEBIND: i32 = 15;
pub const IP_TRANSPARENT: i32 = 19;
pub const IP_BIND_ADDRESS_NO_PORT: i32 = 24;
pub const IP_MULTICAST_TTL: i32 = 33;
pub const IP_MULTICAST_LOOP: i32 = 34;

pub const IPV6_UNICAST_HOPS: i32 = 16;
pub const IPV6_MULTICAST_HOPS: i32 = 18;
pub const IPV6_MULTICAST_LOOP: i32 = 19;
pub const IPV6_MTU_DISCOVER: i32 = 23;
pub const IPV6_MTU: i32 = 24;
pub const IPV6_RECVERR: i32 = 25;
pub const IPV6_V6ONLY: i32 = 26;
pub const IPV6_RECVPKTINFO: i32 = 49;
pub const IPV6_PKTINFO: i32 = 50;
pub const IPV6_RECVHOPLIMIT: i32 = 51;
pub const IPV6_RECVTCLASS: i32 = 66;
pub const IPV6_TCLASS: i32 = 67;

pub const TCP_NODELAY: i32 = 1;
pub const TCP_MAXSEG: i32 = 2;
pub const TCP_CORK: i32 = 3;
pub const TCP_KEEPIDLE: i32 = 4;
pub const TCP_KEEPINTVL: i32 = 5;
pub const TCP_KEEPCNT: i32 = 6;
pub const TCP_SYNCNT: i32 = 7;
pub const TCP_LINGER2: i32 = 8;
pub const TCP_DEFER_ACCEPT: i32 = 9;
pub const TCP_WINDOW_CLAMP: i32 = 10;
pub const TCP_INFO: i32 = 11;
pub const TCP_QUICKACK: i32 = 12;
pub const TCP_CONGESTION: i32 = 13;
pub const TCP_USER_TIMEOUT: i32 = 18;
pub const TCP_FASTOPEN: i32 = 23;
pub const TCP_NOTSENT_LOWAT: i32 = 25;

pub const UDP_CORK: i32 = 1;
pub const UDP_SEGMENT: i32 = 103;
pub const UDP_GRO: i32 = 104;

/// The options a socket set (an `int` each) beyond the defaults.
#[derive(Default)]
pub struct Opts {
    ints: BTreeMap<(i32, i32), i32>,
}

/// What kind of socket an option is set on.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// Its family.
    pub fam: Fam,
    /// `SOCK_STREAM` or `SOCK_DGRAM`.
    pub stream: bool,
    /// Bound to a port already (`IPV6_V6ONLY` is fixed then).
    pub bound: bool,
    /// Connected: the path MTU of the peer (`IP_MTU`), else `None` (`ENOTCONN`).
    pub mtu: Option<i32>,
    /// `CAP_NET_ADMIN`/`CAP_NET_RAW`.
    pub root: bool,
}

impl Opts {
    /// An `int` option's current value (Linux's default if never set).
    pub fn get_int(&self, level: i32, opt: i32) -> i32 {
        self.ints.get(&(level, opt)).copied().unwrap_or_else(|| default(level, opt))
    }

    /// True if a boolean option is on.
    pub fn on(&self, level: i32, opt: i32) -> bool {
        self.get_int(level, opt) != 0
    }

    /// `setsockopt` at an internet level; `val` holds what the caller passed (at most 64 bytes).
    pub fn set(&mut self, c: Ctx, level: i32, opt: i32, val: &[u8]) -> KResult<()> {
        if level == SOL_TCP && opt == TCP_CONGESTION {
            if !c.stream {
                return Err(Errno::ENOPROTOOPT);
            }
            let name: Vec<u8> = val.iter().copied().take_while(|&b| b != 0).collect();
            return match name.as_slice() {
                b"cubic" | b"reno" => Ok(()),
                _ => Err(Errno::ENOENT),
            };
        }
        let int = match val.get(..4) {
            Some(b) => i32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            // `ip_setsockopt` takes a single byte for its small options.
            None if level == SOL_IP && val.len() == 1 => i32::from(val[0]),
            None => return Err(Errno::EINVAL),
        };
        let ok = match (level, c.fam) {
            (SOL_TCP, _) if c.stream => check_tcp(opt, int)?,
            (SOL_UDP, _) if !c.stream => check_udp(opt, int)?,
            (SOL_IP, _) => check_ip(c, opt, int)?,
            (SOL_IPV6, Fam::V6) => check_ipv6(c, opt, int)?,
            _ => return Err(Errno::ENOPROTOOPT),
        };
        self.ints.insert((level, opt), ok);
        Ok(())
    }

    /// `getsockopt` at an internet level (`TCP_INFO` is answered by the socket itself).
    pub fn get(&self, c: Ctx, level: i32, opt: i32) -> KResult<OptVal> {
        // A level the socket does not have is `EOPNOTSUPP` (`do_ip_getsockopt`), an unknown
        // option of one it has `ENOPROTOOPT`.
        let known = match (level, c.fam) {
            (SOL_TCP, _) if c.stream => TCP_KNOWN.contains(&opt),
            (SOL_UDP, _) if !c.stream => [UDP_CORK, UDP_SEGMENT, UDP_GRO].contains(&opt),
            (SOL_IP, _) => IP_KNOWN.contains(&opt),
            (SOL_IPV6, Fam::V6) => IPV6_KNOWN.contains(&opt),
            // `ipv6_getsockopt` answers other levels with `ENOPROTOOPT`.
            (_, Fam::V6) => return Err(Errno::ENOPROTOOPT),
            _ => return Err(Errno::EOPNOTSUPP),
        };
        if !known {
            return Err(Errno::ENOPROTOOPT);
        }
        match (level, opt) {
            (SOL_TCP, TCP_CONGESTION) => {
                let mut name = b"cubic".to_vec();
                name.resize(16, 0);
                Ok(OptVal::Bytes(name))
            }
            (SOL_IP, IP_MTU) | (SOL_IPV6, IPV6_MTU) => c.mtu.map(OptVal::Int).ok_or(Errno::ENOTCONN),
            (SOL_IP, IP_OPTIONS) => Ok(OptVal::Bytes(Vec::new())),
            (SOL_TCP, TCP_MAXSEG) => {
                let set = self.ints.get(&(SOL_TCP, TCP_MAXSEG)).copied();
                Ok(OptVal::Int(match (c.mtu, set) {
                    // `tcp_bound_to_half_wnd`: loopback's MSS is half its 65483-byte window.
                    (Some(mtu), s) if mtu >= 65535 => s.unwrap_or(i32::MAX).min(32741),
                    (Some(mtu), s) => s.unwrap_or(i32::MAX).min(mtu - 52),
                    (None, Some(s)) => s,
                    (None, None) => 536,
                }))
            }
            (SOL_IP, IP_TTL) | (SOL_IPV6, IPV6_UNICAST_HOPS) => {
                let v = self.get_int(level, opt);
                Ok(OptVal::Int(if v < 0 { 64 } else { v }))
            }
            _ => Ok(OptVal::Int(self.get_int(level, opt))),
        }
    }
}

const TCP_KNOWN: &[i32] = &[
    TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT,
    TCP_WINDOW_CLAMP, TCP_QUICKACK, TCP_CONGESTION, TCP_USER_TIMEOUT, TCP_FASTOPEN, TCP_NOTSENT_LOWAT,
];
const IP_KNOWN: &[i32] = &[
    IP_TOS, IP_TTL, IP_OPTIONS, IP_RECVOPTS, IP_RETOPTS, IP_PKTINFO, IP_MTU_DISCOVER, IP_RECVERR, IP_RECVTTL, IP_RECVTOS, IP_MTU,
    IP_FREEBIND, IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT, IP_MULTICAST_TTL, IP_MULTICAST_LOOP,
];
const IPV6_KNOWN: &[i32] = &[
    IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP, IPV6_MTU_DISCOVER, IPV6_MTU, IPV6_RECVERR, IPV6_V6ONLY,
    IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS, IPV6_TCLASS,
];

/// Linux's value for an option nobody set.
fn default(level: i32, opt: i32) -> i32 {
    match (level, opt) {
        (SOL_TCP, TCP_KEEPIDLE) => 7200,
        (SOL_TCP, TCP_KEEPINTVL) => 75,
        (SOL_TCP, TCP_KEEPCNT) => 9,
        (SOL_TCP, TCP_SYNCNT) => 6,
        (SOL_TCP, TCP_LINGER2) => 60,
        (SOL_TCP, TCP_QUICKACK) => 1,
        (SOL_TCP, TCP_NOTSENT_LOWAT) => -1,
        (SOL_IP, IP_TTL) | (SOL_IPV6, IPV6_UNICAST_HOPS) => -1,
        (SOL_IP, IP_MULTICAST_TTL) | (SOL_IPV6, IPV6_MULTICAST_HOPS) => 1,
        (SOL_IP, IP_MULTICAST_LOOP) | (SOL_IPV6, IPV6_MULTICAST_LOOP) => 1,
        // `IP_PMTUDISC_WANT` for TCP and UDP alike (`ip_no_pmtu_disc` 0).
        (SOL_IP, IP_MTU_DISCOVER) | (SOL_IPV6, IPV6_MTU_DISCOVER) => 1,
        _ => 0,
    }
}

fn in_range(v: i32, lo: i32, hi: i32) -> KResult<i32> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(Errno::EINVAL)
    }
}

fn check_tcp(opt: i32, v: i32) -> KResult<i32> {
    match opt {
        TCP_NODELAY | TCP_CORK | TCP_QUICKACK => Ok(i32::from(v != 0)),
        TCP_MAXSEG if v != 0 => in_range(v, 88, 32767),
        TCP_KEEPIDLE | TCP_KEEPINTVL => in_range(v, 1, 32767),
        TCP_KEEPCNT | TCP_SYNCNT => in_range(v, 1, 127),
        TCP_LINGER2 if v < 0 => Ok(-1),
        TCP_LINGER2 => Ok(v.min(120)),
        TCP_DEFER_ACCEPT => Ok(v.max(0)),
        TCP_WINDOW_CLAMP | TCP_USER_TIMEOUT | TCP_FASTOPEN => in_range(v, 0, i32::MAX),
        TCP_MAXSEG | TCP_NOTSENT_LOWAT => Ok(v),
        TCP_INFO => Err(Errno::ENOPROTOOPT),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

fn check_udp(opt: i32, v: i32) -> KResult<i32> {
    match opt {
        UDP_CORK | UDP_GRO => Ok(i32::from(v != 0)),
        UDP_SEGMENT => in_range(v, 0, 65535),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

fn check_ip(c: Ctx, opt: i32, v: i32) -> KResult<i32> {
    match opt {
        IP_TTL if v != -1 => in_range(v, 1, 255),
        IP_TTL => Ok(-1),
        // TCP keeps the ECN bits to itself (`__ip_sock_set_tos`).
        IP_TOS if c.stream => Ok(v & 0xfc),
        IP_TOS => Ok(v & 0xff),
        IP_MULTICAST_TTL if v == -1 => Ok(1),
        IP_MULTICAST_TTL => in_range(v, 0, 255),
        IP_MTU_DISCOVER => in_range(v, 0, 5),
        IP_TRANSPARENT if !c.root => Err(Errno::EPERM),
        IP_MTU => Err(Errno::ENOPROTOOPT),
        IP_PKTINFO | IP_RECVERR | IP_RECVTTL | IP_RECVTOS | IP_RECVOPTS | IP_RETOPTS | IP_FREEBIND | IP_TRANSPARENT
        | IP_BIND_ADDRESS_NO_PORT | IP_MULTICAST_LOOP => Ok(i32::from(v != 0)),
        IP_OPTIONS => Ok(0),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

fn check_ipv6(c: Ctx, opt: i32, v: i32) -> KResult<i32> {
    match opt {
        IPV6_V6ONLY if c.bound => Err(Errno::EINVAL),
        IPV6_UNICAST_HOPS | IPV6_MULTICAST_HOPS if v == -1 => Ok(if opt == IPV6_MULTICAST_HOPS { 1 } else { -1 }),
        IPV6_UNICAST_HOPS | IPV6_MULTICAST_HOPS => in_range(v, 0, 255),
        IPV6_TCLASS if v == -1 => Ok(0),
        IPV6_TCLASS => in_range(v, 0, 255),
        IPV6_MTU_DISCOVER => in_range(v, 0, 5),
        IPV6_MTU => Err(Errno::ENOPROTOOPT),
        IPV6_V6ONLY | IPV6_RECVPKTINFO | IPV6_RECVERR | IPV6_RECVHOPLIMIT | IPV6_RECVTCLASS | IPV6_MULTICAST_LOOP => Ok(i32::from(v != 0)),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// The `SOL_SOCKET` level number, re-exported for the socket files.
pub const SOL_SOCKET: i32 = n::SOL_SOCKET;
