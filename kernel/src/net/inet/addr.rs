//! Internet socket addresses (Linux's `struct sockaddr_in`/`sockaddr_in6`), the guest's own
//! addresses, and source-address selection (what Linux's routing answers for the fixed table
//! `lo` 127.0.0.1/8 + ::1, `eth0` 10.0.2.15/24 via 10.0.2.2).
//!
//! Internally an address is a `std::net::SocketAddr` in *canonical* form: a v4-mapped IPv6
//! address (`::ffff:a.b.c.d`) is stored as the IPv4 address it maps, so dual-stack sockets and
//! IPv4 sockets meet in one port table. [`encode`] turns it back into the family the socket
//! shows.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use uapi::net as n;
use uapi::{Errno, KResult};

/// `sizeof(struct sockaddr_in)`.
pub const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
pub const SOCKADDR_IN6_LEN: usize = 28;
/// `SIN6_LEN_RFC2133`: the shortest `sockaddr_in6` Linux accepts (no `sin6_scope_id`).
pub const SIN6_LEN_RFC2133: usize = 24;

/// The guest's address on `eth0` (QEMU user networking's 10.0.2.15).
pub const ETH0_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
/// The gateway: the host's own 127.0.0.1 as the guest sees it.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The DNS server the guest may use (answered through the host's resolver).
pub const DNS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);
/// `eth0`'s broadcast address.
pub const ETH0_BROADCAST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 255);
/// `eth0`'s prefix length.
pub const ETH0_PREFIX: u8 = 24;

/// An internet socket's family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fam {
    /// `AF_INET`.
    V4,
    /// `AF_INET6`.
    V6,
}

impl Fam {
    /// The `AF_*` number.
    pub fn domain(self) -> i32 {
        match self {
            Fam::V4 => n::AF_INET,
            Fam::V6 => n::AF_INET6,
        }
    }

    /// The wildcard address with port 0 (what an unbound socket's `getsockname` shows).
    pub fn any(self) -> SocketAddr {
        match self {
            Fam::V4 => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            Fam::V6 => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        }
    }
}

/// A v4-mapped IPv6 address becomes its IPv4 address; others stay.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// Decodes the address of `bind`/`connect`/`sendto` for a socket of `fam` (`inet_bind`,
/// `inet6_bind`, `tcp_v4_connect`...): `EINVAL` if too short, `EAFNOSUPPORT` for another
/// family (an IPv4 socket accepts `AF_UNSPEC` with `INADDR_ANY` when `unspec_any`). The scope
/// id of an IPv6 address is returned too.
pub fn parse(fam: Fam, a: &[u8], unspec_any: bool) -> KResult<(SocketAddr, u32)> {
    let family = a.get(..2).map(|b| u16::from_ne_bytes([b[0], b[1]]) as i32);
    match fam {
        Fam::V4 => {
            if a.len() < SOCKADDR_IN_LEN {
                return Err(Errno::EINVAL);
            }
            let port = u16::from_be_bytes([a[2], a[3]]);
            let ip = Ipv4Addr::new(a[4], a[5], a[6], a[7]);
            match family {
                Some(n::AF_INET) => {}
                Some(n::AF_UNSPEC) if unspec_any && ip.is_unspecified() => {}
                _ => return Err(Errno::EAFNOSUPPORT),
            }
            Ok((SocketAddr::new(IpAddr::V4(ip), port), 0))
        }
        Fam::V6 => {
            if a.len() < SIN6_LEN_RFC2133 {
                return Err(Errno::EINVAL);
            }
            if family != Some(n::AF_INET6) {
                return Err(Errno::EAFNOSUPPORT);
            }
            let port = u16::from_be_bytes([a[2], a[3]]);
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&a[8..24]);
            let scope = a.get(24..28).map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
            Ok((SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port), scope))
        }
    }
}

/// The `sockaddr_in`/`sockaddr_in6` a socket of `fam` shows for canonical address `sa` (an IPv4
/// address on an IPv6 socket is shown v4-mapped).
pub fn encode(fam: Fam, sa: SocketAddr) -> Vec<u8> {
    match fam {
        Fam::V4 => {
            let ip = match sa.ip() {
                IpAddr::V4(v4) => v4,
                IpAddr::V6(v6) => v6.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
            };
            let mut v = Vec::with_capacity(SOCKADDR_IN_LEN);
            v.extend_from_slice(&(n::AF_INET as u16).to_ne_bytes());
            v.extend_from_slice(&sa.port().to_be_bytes());
            v.extend_from_slice(&ip.octets());
            v.extend_from_slice(&[0u8; 8]);
            v
        }
        Fam::V6 => {
            let ip = match sa.ip() {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            let mut v = Vec::with_capacity(SOCKADDR_IN6_LEN);
            v.extend_from_slice(&(n::AF_INET6 as u16).to_ne_bytes());
            v.extend_from_slice(&sa.port().to_be_bytes());
            v.extend_from_slice(&0u32.to_ne_bytes());
            v.extend_from_slice(&ip.octets());
            v.extend_from_slice(&0u32.to_ne_bytes());
            v
        }
    }
}

/// True if `ip` (canonical) is one of the guest's own unicast addresses (`RTN_LOCAL`):
/// 127.0.0.0/8, ::1, and 10.0.2.15 when `eth0` exists.
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || (v4 == ETH0_ADDR && super::iface::eth0_up()),
        IpAddr::V6(v6) => v6.is_loopback(),
    }
}

/// True if `ip` is a broadcast address of an interface (`RTN_BROADCAST`).
pub fn is_broadcast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_broadcast() || (v4 == ETH0_BROADCAST && super::iface::eth0_up()),
        IpAddr::V6(_) => false,
    }
}

/// True if `bind` may use `ip` (canonical): the wildcard, an own address, a broadcast or a
/// multicast address (`inet_addr_valid_or_nonlocal`, `ipv6_chk_addr`); otherwise
/// `EADDRNOTAVAIL`.
pub fn bindable(ip: IpAddr) -> bool {
    ip.is_unspecified() || is_local(ip) || is_broadcast(ip) || ip.is_multicast()
}

/// The source address Linux's routing picks for a packet to `dst` (canonical): the loopback
/// address for loopback destinations (127.0.0.1 for all of 127/8), 10.0.2.15 for the rest of
/// IPv4, ::1 for IPv6 (the guest has no global IPv6 address; other IPv6 destinations are
/// unreachable: `None`).
pub fn source_for(dst: IpAddr) -> Option<IpAddr> {
    match dst {
        IpAddr::V4(v4) if v4.is_loopback() => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        IpAddr::V4(v4) if v4 == ETH0_ADDR && super::iface::eth0_up() => Some(IpAddr::V4(ETH0_ADDR)),
        IpAddr::V4(_) if super::iface::eth0_up() => Some(IpAddr::V4(ETH0_ADDR)),
        IpAddr::V4(_) => None,
        IpAddr::V6(v6) if v6.is_loopback() => Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        IpAddr::V6(_) => None,
    }
}

/// What a connect or send to the wildcard address means (`ip_route_connect` with no
/// destination): the loopback address of the family.
pub fn unwild(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    }
}

/// The interface index a packet to own address `ip` arrives on (1 `lo`, 2 `eth0`).
pub fn ifindex_of(ip: IpAddr) -> i32 {
    match ip {
        IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_unspecified() => 2,
        _ => 1,
    }
}

/// `SocketAddrV4`/`V6` from an address and port (a helper for the relay).
pub fn with_port(ip: IpAddr, port: u16) -> SocketAddr {
    match ip {
        IpAddr::V4(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
        IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, 0)),
    }
}
