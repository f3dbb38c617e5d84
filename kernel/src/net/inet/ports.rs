//! Port tables (Linux's `inet_hashinfo` bind buckets for TCP, `udp_table` for UDP): which
//! socket owns which (address, port), the conflict rules of `inet_csk_bind_conflict` and
//! `udp_lib_lport_inuse`, ephemeral ports from `ip_local_port_range`, and the lookup that
//! finds a receiver for a destination (exact address before wildcard, `SO_REUSEPORT` groups
//! spread by the source port).

use super::addr::Fam;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use uapi::{Errno, KResult};

/// `net.ipv4.ip_unprivileged_port_start`.
pub const UNPRIVILEGED_PORT_START: u16 = 1024;

/// The ephemeral port range: `/proc/sys/net/ipv4/ip_local_port_range` (Linux's default
/// 32768–60999 if unset or unreadable).
pub fn port_range() -> (u16, u16) {
    let parsed = crate::task::kernel::try_kernel().and_then(|k| {
        let v = k.sysctls.lock().get("net/ipv4/ip_local_port_range")?.clone();
        let mut it = v.split_whitespace().map(|w| w.parse::<u16>().ok());
        Some((it.next()??, it.next()??))
    });
    match parsed {
        Some((lo, hi)) if lo >= 1 && lo <= hi => (lo, hi),
        _ => (32768, 60999),
    }
}

/// The addresses a bound socket receives on (`inet_rcv_saddr_equal` compares these): per
/// family, `None` for none, `Some(None)` for all, `Some(Some(a))` for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrSet {
    v4: Option<Option<std::net::Ipv4Addr>>,
    v6: Option<Option<std::net::Ipv6Addr>>,
}

impl AddrSet {
    /// What a socket of `fam` bound to canonical `ip` receives on (`v6only` for `IPV6_V6ONLY`).
    pub fn of(fam: Fam, ip: IpAddr, v6only: bool) -> AddrSet {
        match (fam, ip) {
            (_, IpAddr::V4(v4)) => AddrSet { v4: Some((!v4.is_unspecified()).then_some(v4)), v6: None },
            (Fam::V6, IpAddr::V6(v6)) if v6.is_unspecified() => AddrSet { v4: (!v6only).then_some(None), v6: Some(None) },
            (_, IpAddr::V6(v6)) => AddrSet { v4: None, v6: Some(Some(v6)) },
        }
    }

    /// True if the two sets share an address (wildcards match everything of their family).
    pub fn overlaps(&self, o: &AddrSet) -> bool {
        fn meet<T: PartialEq>(a: &Option<Option<T>>, b: &Option<Option<T>>) -> bool {
            match (a, b) {
                (Some(x), Some(y)) => x.is_none() || y.is_none() || x == y,
                _ => false,
            }
        }
        meet(&self.v4, &o.v4) || meet(&self.v6, &o.v6)
    }

    /// How well the set matches destination `ip` (canonical): `None` if not at all, higher for
    /// an exact address, and an IPv4 socket before a dual-stack one (`compute_score`).
    pub fn score(&self, ip: IpAddr) -> Option<u32> {
        match ip {
            IpAddr::V4(v4) => match self.v4 {
                Some(Some(a)) if a == v4 => Some(4),
                Some(None) if self.v6.is_none() => Some(3),
                Some(None) => Some(2),
                _ => None,
            },
            IpAddr::V6(v6) => match self.v6 {
                Some(Some(a)) if a == v6 => Some(4),
                Some(None) => Some(2),
                _ => None,
            },
        }
    }
}

/// What a bound socket declared when it bound.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// The port.
    pub port: u16,
    /// Its addresses.
    pub set: AddrSet,
    /// `SO_REUSEADDR` at bind time.
    pub reuse_addr: bool,
    /// `SO_REUSEPORT` at bind time.
    pub reuse_port: bool,
    /// The owner's effective uid (reuseport groups need one owner).
    pub uid: u32,
}

/// A socket a table can hold.
pub trait Bindable: Send + Sync {
    /// In `TCP_LISTEN` (a listener blocks `SO_REUSEADDR` sharing).
    fn listening(&self) -> bool;
    /// The remote address it is connected to, if any (connected UDP sockets only receive
    /// from their peer).
    fn connected_to(&self) -> Option<SocketAddr>;
}

struct Entry<T> {
    id: u64,
    b: Binding,
    sock: Weak<T>,
}

/// One protocol's port table.
pub struct Table<T> {
    by_port: BTreeMap<u16, Vec<Entry<T>>>,
    /// Where the next ephemeral search starts.
    hint: u32,
}

impl<T: Bindable> Default for Table<T> {
    fn default() -> Self {
        Table::new()
    }
}

impl<T: Bindable> Table<T> {
    /// An empty table.
    pub const fn new() -> Table<T> {
        Table { by_port: BTreeMap::new(), hint: 0 }
    }

    /// True if `b` conflicts with a socket already on its port (other than `except`).
    fn conflicts(&self, b: &Binding, except: u64, udp: bool) -> bool {
        let Some(list) = self.by_port.get(&b.port) else { return false };
        list.iter().filter(|e| e.id != except).any(|e| {
            let Some(other) = e.sock.upgrade() else { return false };
            if !e.b.set.overlaps(&b.set) {
                return false;
            }
            let reuse_ok = e.b.reuse_addr && b.reuse_addr && (udp || !other.listening());
            let reuseport_ok = e.b.reuse_port && b.reuse_port && e.b.uid == b.uid;
            !(reuse_ok || reuseport_ok)
        })
    }

    /// Binds `sock` as `b` (port 0: an ephemeral port); the entry id. `EADDRINUSE` on a
    /// conflict, or when no ephemeral port is free.
    pub fn bind(&mut self, mut b: Binding, sock: &Arc<T>, udp: bool) -> KResult<(u64, u16)> {
        self.prune();
        if b.port == 0 {
            b.port = self.ephemeral(&b, udp).ok_or(Errno::EADDRINUSE)?;
        } else if self.conflicts(&b, 0, udp) {
            return Err(Errno::EADDRINUSE);
        }
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        self.by_port.entry(b.port).or_default().push(Entry { id, b, sock: Arc::downgrade(sock) });
        Ok((id, b.port))
    }

    /// Re-checks entry `id` as it starts listening (`inet_csk_listen_start` calls `get_port`
    /// again): `EADDRINUSE` if another listener shares its address.
    pub fn check_listen(&self, id: u64, port: u16) -> KResult<()> {
        let b = self.by_port.get(&port).and_then(|l| l.iter().find(|e| e.id == id)).map(|e| e.b);
        match b {
            Some(b) if self.conflicts(&b, id, false) => Err(Errno::EADDRINUSE),
            _ => Ok(()),
        }
    }

    /// A free port for `b` from the ephemeral range.
    fn ephemeral(&mut self, b: &Binding, udp: bool) -> Option<u16> {
        let (low, high) = port_range();
        let span = u32::from(high - low) + 1;
        for i in 0..span {
            let port = low + ((self.hint + i) % span) as u16;
            let mut probe = *b;
            probe.port = port;
            if !self.conflicts(&probe, 0, udp) && (udp || !self.by_port.contains_key(&port)) {
                self.hint = (self.hint + i + 1) % span;
                return Some(port);
            }
        }
        None
    }

    /// Removes entry `id` from `port`.
    pub fn unbind(&mut self, id: u64, port: u16) {
        if let Some(list) = self.by_port.get_mut(&port) {
            list.retain(|e| e.id != id);
            if list.is_empty() {
                self.by_port.remove(&port);
            }
        }
    }

    fn prune(&mut self) {
        self.by_port.retain(|_, l| {
            l.retain(|e| e.sock.strong_count() > 0);
            !l.is_empty()
        });
    }

    /// The sockets bound to `dst`'s port that receive on its address, best match first
    /// (`__inet_lookup_listener`, `__udp4_lib_lookup`); `filter` picks the candidates (a TCP
    /// lookup wants listeners). Among equally good `SO_REUSEPORT` sockets, `src`'s port picks.
    pub fn lookup(&self, dst: SocketAddr, src: SocketAddr, filter: impl Fn(&T) -> bool) -> Option<Arc<T>> {
        let list = self.by_port.get(&dst.port())?;
        let mut best: Vec<(u32, &Entry<T>, Arc<T>)> = Vec::new();
        for e in list {
            let Some(s) = e.sock.upgrade() else { continue };
            let Some(mut score) = e.b.set.score(dst.ip()) else { continue };
            if !filter(&s) {
                continue;
            }
            match s.connected_to() {
                Some(peer) if peer != src => continue,
                Some(_) => score += 4,
                None => {}
            }
            if best.first().is_some_and(|(b, _, _)| *b > score) {
                continue;
            }
            if best.first().is_some_and(|(b, _, _)| *b < score) {
                best.clear();
            }
            best.push((score, e, s));
        }
        let group: Vec<&(u32, &Entry<T>, Arc<T>)> = best.iter().filter(|(_, e, _)| e.b.reuse_port).collect();
        if group.len() > 1 {
            let pick = usize::from(src.port()).wrapping_mul(2_654_435_761) % group.len();
            return group.get(pick).map(|(_, _, s)| s.clone());
        }
        // Without a reuseport group, the most recently bound socket wins (Linux adds to the
        // head of the hash chain).
        best.pop().map(|(_, _, s)| s)
    }

    /// Every live socket bound to `port` that receives on `dst` (broadcast delivery).
    pub fn all_on(&self, dst: SocketAddr) -> Vec<Arc<T>> {
        let Some(list) = self.by_port.get(&dst.port()) else { return Vec::new() };
        list.iter()
            .filter(|e| dst.ip().is_unspecified() || e.b.set.score(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)).is_some() || e.b.set.score(dst.ip()).is_some())
            .filter_map(|e| e.sock.upgrade())
            .collect()
    }

    /// Every live bound socket (for /proc/net).
    pub fn all(&self) -> Vec<Arc<T>> {
        self.by_port.values().flatten().filter_map(|e| e.sock.upgrade()).collect()
    }
}

/// The address checks of `inet_bind`/`inet6_bind` shared by TCP and UDP: parse `a`, refuse a
/// v4-mapped address on a `IPV6_V6ONLY` socket (`EINVAL`), an address that is not the guest's
/// (`EADDRNOTAVAIL`) and a port below 1024 for a non-root caller (`EACCES`). Returns the
/// canonical address and the port.
pub fn check_bind(fam: super::Fam, a: &[u8], v6only: bool, uid: u32) -> KResult<(std::net::IpAddr, u16)> {
    let (sa, _scope) = super::addr::parse(fam, a, true)?;
    let ip = super::addr::canonical(sa.ip());
    if fam == super::Fam::V6 && sa.ip() != ip && v6only {
        return Err(Errno::EINVAL);
    }
    if !super::addr::bindable(ip) {
        return Err(Errno::EADDRNOTAVAIL);
    }
    if sa.port() != 0 && sa.port() < UNPRIVILEGED_PORT_START && uid != 0 {
        return Err(Errno::EACCES);
    }
    Ok((ip, sa.port()))
}
