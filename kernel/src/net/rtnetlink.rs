//! rtnetlink (`NETLINK_ROUTE`), the message half (Linux's `net/core/rtnetlink.c`,
//! `net/ipv4/devinet.c`, `net/ipv6/addrconf.c`, `fib_frontend.c`): requests are parsed and
//! answered from the kernel's interface table, so `ip addr`, `ip link`, `ip route`, glibc's
//! `getifaddrs` and `if_nameindex` see the guest's network. Dumps (`RTM_GETLINK`,
//! `RTM_GETADDR`, `RTM_GETROUTE` with `NLM_F_DUMP`) return one multipart message per object
//! and `NLMSG_DONE`; changes are refused with the errno Linux gives (`EPERM` for an
//! unprivileged caller, `EOPNOTSUPP` for what umbra cannot change), except bringing an
//! interface up that is up already, which is acknowledged. The socket that carries these
//! messages is `net::netlink`.

/// `struct nlmsghdr` size.
pub const NLMSG_HDRLEN: usize = 16;
/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
pub const NLMSG_DONE: u16 = 3;
/// Request flag: this is a request.
pub const NLM_F_REQUEST: u16 = 0x1;
/// Reply flag: one part of a multipart reply.
pub const NLM_F_MULTI: u16 = 0x2;
/// Request flag: acknowledge success too.
pub const NLM_F_ACK: u16 = 0x4;
/// Request flag: dump every object (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_GETROUTE: u16 = 26;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

const IFF_UP: u32 = 0x1;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_RUNNING: u32 = 0x40;
const IFF_LOWER_UP: u32 = 0x10000;

/// One network interface as the guest sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// `ifindex`.
    pub index: u32,
    /// `lo`, `eth0`.
    pub name: &'static str,
    /// `IFF_*` flags.
    pub flags: u32,
    /// `ARPHRD_LOOPBACK` (772) or `ARPHRD_ETHER` (1).
    pub hw_type: u16,
    /// MTU.
    pub mtu: u32,
    /// Hardware address (all zeros for `lo`).
    pub mac: [u8; 6],
    /// IPv4 addresses with their prefix lengths.
    pub ipv4: Vec<([u8; 4], u8)>,
    /// IPv6 addresses with their prefix lengths.
    pub ipv6: Vec<([u8; 16], u8)>,
}

/// `IFF_BROADCAST`.
const IFF_BROADCAST: u32 = 0x2;
/// `IFF_MULTICAST`.
const IFF_MULTICAST: u32 = 0x1000;

/// The interface table: `lo` (127.0.0.1/8, ::1/128) and, with user-mode networking, `eth0`
/// (10.0.2.15/24, MTU 1500, MAC 52:54:00:12:34:56, as QEMU's user networking gives).
pub fn interfaces() -> Vec<Interface> {
    let mut v = vec![lo()];
    if super::inet::iface::eth0_up() {
        v.push(Interface {
            index: 2,
            name: "eth0",
            flags: IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP,
            hw_type: 1,
            mtu: 1500,
            mac: super::inet::iface::ETH0_MAC,
            ipv4: vec![(super::inet::addr::ETH0_ADDR.octets(), super::inet::addr::ETH0_PREFIX)],
            ipv6: Vec::new(),
        });
    }
    v
}

fn lo() -> Interface {
    let mut v6 = [0u8; 16];
    v6[15] = 1;
    Interface {
        index: 1,
        name: "lo",
        flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP,
        hw_type: 772,
        mtu: 65536,
        mac: [0; 6],
        ipv4: vec![([127, 0, 0, 1], 8)],
        ipv6: vec![(v6, 128)],
    }
}

/// A request's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Whole message length.
    pub len: u32,
    /// Message type.
    pub kind: u16,
    /// `NLM_F_*` flags.
    pub flags: u16,
    /// Sequence number (echoed in replies).
    pub seq: u32,
    /// Sender port id.
    pub pid: u32,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

impl Header {
    /// Parses the header at the start of `b` (`None` if too short or its length is bad).
    pub fn parse(b: &[u8]) -> Option<Header> {
        let len = u32_at(b, 0)?;
        if (len as usize) < NLMSG_HDRLEN || len as usize > b.len() {
            return None;
        }
        Some(Header { len, kind: u16_at(b, 4)?, flags: u16_at(b, 6)?, seq: u32_at(b, 8)?, pid: u32_at(b, 12)? })
    }
}

fn align4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// Builds one reply message.
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(kind: u16, flags: u16, seq: u32, portid: u32) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&portid.to_ne_bytes());
        Msg { buf }
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    /// An attribute (`struct rtattr` + payload, padded to 4 bytes).
    fn attr(&mut self, kind: u16, payload: &[u8]) -> &mut Self {
        let len = (4 + payload.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.bytes(payload)
    }

    fn attr_u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.attr(kind, &v.to_ne_bytes())
    }

    fn attr_str(&mut self, kind: u16, s: &str) -> &mut Self {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.attr(kind, &b)
    }

    fn finish(mut self, out: &mut Vec<u8>) {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&self.buf);
    }
}

/// `RTM_NEWLINK` for `i` (Linux's `rtnl_fill_ifinfo`, the attributes `ip link` prints).
fn link_msg(i: &Interface, flags: u16, seq: u32, portid: u32, out: &mut Vec<u8>) {
    let mut m = Msg::new(RTM_NEWLINK, flags, seq, portid);
    let mut ifi = vec![AF_UNSPEC, 0];
    ifi.extend_from_slice(&i.hw_type.to_ne_bytes());
    ifi.extend_from_slice(&(i.index as i32).to_ne_bytes());
    ifi.extend_from_slice(&i.flags.to_ne_bytes());
    ifi.extend_from_slice(&0u32.to_ne_bytes());
    m.bytes(&ifi);
    let loopback = i.flags & IFF_LOOPBACK != 0;
    let broadcast = if loopback { [0u8; 6] } else { [0xff; 6] };
    m.attr_str(3, i.name) // IFLA_IFNAME
        .attr_u32(13, 1000) // IFLA_TXQLEN
        .attr(16, &[if loopback { 0 } else { 6 }]) // IFLA_OPERSTATE: UNKNOWN / UP
        .attr(17, &[0]) // IFLA_LINKMODE
        .attr_u32(4, i.mtu) // IFLA_MTU
        .attr_u32(50, if loopback { 0 } else { 68 }) // IFLA_MIN_MTU
        .attr_u32(51, if loopback { 0 } else { 65535 }) // IFLA_MAX_MTU
        .attr_u32(27, 0) // IFLA_GROUP
        .attr_u32(30, 0) // IFLA_PROMISCUITY
        .attr_u32(31, 1) // IFLA_NUM_TX_QUEUES
        .attr_u32(32, 1) // IFLA_NUM_RX_QUEUES
        .attr(33, &[1]) // IFLA_CARRIER
        .attr_str(6, "noqueue") // IFLA_QDISC
        .attr(1, &i.mac) // IFLA_ADDRESS
        .attr(2, &broadcast) // IFLA_BROADCAST
        .attr(23, &[0u8; 24 * 8]) // IFLA_STATS64
        .attr(7, &[0u8; 24 * 4]); // IFLA_STATS
    m.finish(out);
}

/// `RTM_NEWADDR` messages for `i`'s addresses of `family` (`AF_UNSPEC`: both).
fn addr_msgs(i: &Interface, family: u8, seq: u32, portid: u32, out: &mut Vec<u8>) {
    let loopback = i.flags & IFF_LOOPBACK != 0;
    let scope = if loopback { 254 } else { 0 }; // RT_SCOPE_HOST / UNIVERSE
    let forever = [0xffu8; 8];
    let mut cache = forever.to_vec();
    cache.extend_from_slice(&[0u8; 8]);
    if family == AF_UNSPEC || family == AF_INET {
        for (a, plen) in &i.ipv4 {
            let mut m = Msg::new(RTM_NEWADDR, NLM_F_MULTI, seq, portid);
            m.bytes(&[AF_INET, *plen, 0x80, scope]).bytes(&i.index.to_ne_bytes());
            m.attr(1, a).attr(2, a);
            if !loopback {
                let mask = u32::MAX.checked_shl(32 - u32::from(*plen)).unwrap_or(0);
                let bcast = (u32::from_be_bytes(*a) | !mask).to_be_bytes();
                m.attr(4, &bcast); // IFA_BROADCAST
            }
            m.attr_str(3, i.name).attr_u32(8, 0x80).attr(6, &cache);
            m.finish(out);
        }
    }
    if family == AF_UNSPEC || family == AF_INET6 {
        for (a, plen) in &i.ipv6 {
            let mut m = Msg::new(RTM_NEWADDR, NLM_F_MULTI, seq, portid);
            m.bytes(&[AF_INET6, *plen, 0x80, scope]).bytes(&i.index.to_ne_bytes());
            m.attr(1, a).attr(6, &cache).attr_u32(8, 0x80);
            m.finish(out);
        }
    }
}

/// `RTM_NEWROUTE` messages: the local-table routes of the loopback addresses (what Linux
/// creates for `lo`) and, with `eth0`, its subnet, the default route and its local routes.
fn route_msgs(family: u8, seq: u32, portid: u32, out: &mut Vec<u8>) {
    if family == AF_UNSPEC || family == AF_INET {
        for (dst, dst_len, kind) in [([127u8, 0, 0, 0], 8u8, 2u8), ([127, 0, 0, 1], 32, 2), ([127, 255, 255, 255], 32, 3)] {
            let mut m = Msg::new(RTM_NEWROUTE, NLM_F_MULTI, seq, portid);
            // rtmsg: family, dst_len, src_len, tos, table (255 local), protocol (2 kernel),
            // scope (254 host, 253 link for broadcast), type (2 local, 3 broadcast), flags.
            let scope = if kind == 3 { 253 } else { 254 };
            m.bytes(&[AF_INET, dst_len, 0, 0, 255, 2, scope, kind]).bytes(&0u32.to_ne_bytes());
            m.attr_u32(15, 255).attr(1, &dst).attr(7, &[127, 0, 0, 1]).attr_u32(4, 1);
            m.finish(out);
        }
    }
    if (family == AF_UNSPEC || family == AF_INET) && super::inet::iface::eth0_up() {
        let me = super::inet::addr::ETH0_ADDR.octets();
        let gw = super::inet::addr::GATEWAY.octets();
        // main table: default via 10.0.2.2 dev eth0; 10.0.2.0/24 dev eth0 scope link src
        // 10.0.2.15. local table: local 10.0.2.15, broadcast 10.0.2.255.
        let mut m = Msg::new(RTM_NEWROUTE, NLM_F_MULTI, seq, portid);
        m.bytes(&[AF_INET, 0, 0, 0, 254, 4, 0, 1]).bytes(&0u32.to_ne_bytes());
        m.attr_u32(15, 254).attr(5, &gw).attr_u32(4, 2);
        m.finish(out);
        let mut m = Msg::new(RTM_NEWROUTE, NLM_F_MULTI, seq, portid);
        m.bytes(&[AF_INET, 24, 0, 0, 254, 2, 253, 1]).bytes(&0u32.to_ne_bytes());
        m.attr_u32(15, 254).attr(1, &[10, 0, 2, 0]).attr(7, &me).attr_u32(4, 2);
        m.finish(out);
        for (dst, kind) in [(me, 2u8), ([10, 0, 2, 255], 3)] {
            let mut m = Msg::new(RTM_NEWROUTE, NLM_F_MULTI, seq, portid);
            let scope = if kind == 3 { 253 } else { 254 };
            m.bytes(&[AF_INET, 32, 0, 0, 255, 2, scope, kind]).bytes(&0u32.to_ne_bytes());
            m.attr_u32(15, 255).attr(1, &dst).attr(7, &me).attr_u32(4, 2);
            m.finish(out);
        }
    }
    if family == AF_UNSPEC || family == AF_INET6 {
        let mut one = [0u8; 16];
        one[15] = 1;
        let mut m = Msg::new(RTM_NEWROUTE, NLM_F_MULTI, seq, portid);
        m.bytes(&[AF_INET6, 128, 0, 0, 255, 2, 0, 2]).bytes(&0u32.to_ne_bytes());
        m.attr_u32(15, 255).attr(1, &one).attr_u32(6, 0).attr_u32(4, 1);
        m.finish(out);
    }
}

/// `NLMSG_ERROR` carrying `-errno` (0 acknowledges) and the request's header.
pub(crate) fn error_msg(req: &Header, errno: i32, portid: u32, out: &mut Vec<u8>) {
    let mut m = Msg::new(NLMSG_ERROR, 0, req.seq, portid);
    let mut body = (-errno).to_ne_bytes().to_vec();
    body.extend_from_slice(&req.len.to_ne_bytes());
    body.extend_from_slice(&req.kind.to_ne_bytes());
    body.extend_from_slice(&req.flags.to_ne_bytes());
    body.extend_from_slice(&req.seq.to_ne_bytes());
    body.extend_from_slice(&req.pid.to_ne_bytes());
    m.bytes(&body);
    m.finish(out);
}

pub(crate) fn done_msg(seq: u32, portid: u32, out: &mut Vec<u8>) {
    let mut m = Msg::new(NLMSG_DONE, NLM_F_MULTI, seq, portid);
    m.bytes(&0i32.to_ne_bytes());
    m.finish(out);
}

/// The family a dump asks for (the first byte of its `rtgenmsg`/`ifinfomsg`/`ifaddrmsg`).
fn request_family(msg: &[u8]) -> u8 {
    msg.get(NLMSG_HDRLEN).copied().unwrap_or(AF_UNSPEC)
}

/// Answers one request message `msg` (its header parsed as `h`) from a socket bound to
/// `portid`, for a caller that is root or not; returns the reply bytes (possibly several
/// messages). Linux answers errors and requested acks with `NLMSG_ERROR`.
pub fn handle(h: &Header, msg: &[u8], portid: u32, root: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if h.flags & NLM_F_REQUEST == 0 {
        return out;
    }
    let family = request_family(msg);
    let dump = h.flags & NLM_F_DUMP == NLM_F_DUMP;
    let result: Result<(), i32> = match h.kind {
        RTM_GETLINK if dump => {
            for i in interfaces() {
                link_msg(&i, NLM_F_MULTI, h.seq, portid, &mut out);
            }
            done_msg(h.seq, portid, &mut out);
            return out;
        }
        RTM_GETLINK => {
            let index = msg.get(NLMSG_HDRLEN + 4..NLMSG_HDRLEN + 8).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0);
            // By index, or (index 0) by the IFLA_IFNAME/IFLA_ALT_IFNAME attribute.
            let name = link_name_attr(msg);
            let found = interfaces().into_iter().find(|i| if index != 0 { i.index as i32 == index } else { name.as_deref() == Some(i.name.as_bytes()) });
            match found {
                Some(i) => {
                    link_msg(&i, 0, h.seq, portid, &mut out);
                    Ok(())
                }
                None => Err(19), // ENODEV
            }
        }
        RTM_GETADDR if dump => {
            for i in interfaces() {
                addr_msgs(&i, family, h.seq, portid, &mut out);
            }
            done_msg(h.seq, portid, &mut out);
            return out;
        }
        RTM_GETROUTE if dump => {
            route_msgs(family, h.seq, portid, &mut out);
            done_msg(h.seq, portid, &mut out);
            return out;
        }
        RTM_GETADDR | RTM_GETROUTE => Err(95), // EOPNOTSUPP without a dump
        RTM_NEWLINK | RTM_DELLINK | RTM_SETLINK | RTM_NEWADDR | RTM_DELADDR | RTM_NEWROUTE | RTM_DELROUTE if !root => Err(1),
        RTM_NEWLINK | RTM_SETLINK if sets_up_an_up_interface(msg) => Ok(()),
        _ => Err(95), // EOPNOTSUPP
    };
    match result {
        Ok(()) if h.flags & NLM_F_ACK != 0 => error_msg(h, 0, portid, &mut out),
        Ok(()) => {}
        Err(e) => error_msg(h, e, portid, &mut out),
    }
    out
}

/// The interface name a link request carries (`IFLA_IFNAME` 3 or `IFLA_ALT_IFNAME` 53), if any.
fn link_name_attr(msg: &[u8]) -> Option<Vec<u8>> {
    let mut p = align4(NLMSG_HDRLEN + 16);
    while p + 4 <= msg.len() {
        let len = usize::from(u16_at(msg, p)?);
        let kind = u16_at(msg, p + 2)?;
        if len < 4 {
            return None;
        }
        if kind == 3 || kind == 53 {
            let data = msg.get(p + 4..p + len)?;
            return Some(data.split(|&b| b == 0).next().unwrap_or_default().to_vec());
        }
        p += align4(len);
    }
    None
}

/// Whether a link change only asks an interface that is up to be up (`ip link set lo up`).
fn sets_up_an_up_interface(msg: &[u8]) -> bool {
    let p = NLMSG_HDRLEN;
    let index = msg.get(p + 4..p + 8).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0);
    let flags = u32_at(msg, p + 8).unwrap_or(0);
    let change = u32_at(msg, p + 12).unwrap_or(0);
    let only_up = change & !IFF_UP == 0 && (change == 0 || flags & IFF_UP != 0);
    let has_attrs = msg.len() > align4(p + 16);
    interfaces().iter().any(|i| i.index as i32 == index && i.flags & IFF_UP != 0) && only_up && !has_attrs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: u16, flags: u16, body: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&7u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(body);
        b
    }

    /// The (type, length) of each message in a reply.
    fn messages(mut b: &[u8]) -> Vec<(u16, usize)> {
        let mut v = Vec::new();
        while let Some(h) = Header::parse(b) {
            v.push((h.kind, h.len as usize));
            b = &b[align4(h.len as usize)..];
        }
        v
    }

    #[test]
    fn dumps_links_addresses_and_routes() {
        let req = request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, &[0; 16]);
        let h = Header::parse(&req).unwrap_or(Header { len: 0, kind: 0, flags: 0, seq: 0, pid: 0 });
        let out = handle(&h, &req, 42, false);
        let kinds: Vec<u16> = messages(&out).iter().map(|m| m.0).collect();
        assert_eq!(kinds, vec![RTM_NEWLINK, RTM_NEWLINK, NLMSG_DONE]);
        assert!(out.windows(3).any(|w| w == b"lo\0"));
        assert!(out.windows(5).any(|w| w == b"eth0\0"));

        let req = request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, &[AF_INET, 0, 0, 0, 0, 0, 0, 0]);
        let h = Header::parse(&req).unwrap_or(Header { len: 0, kind: 0, flags: 0, seq: 0, pid: 0 });
        let kinds: Vec<u16> = messages(&handle(&h, &req, 42, false)).iter().map(|m| m.0).collect();
        assert_eq!(kinds, vec![RTM_NEWADDR, RTM_NEWADDR, NLMSG_DONE]);

        let req = request(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, &[AF_UNSPEC; 12]);
        let h = Header::parse(&req).unwrap_or(Header { len: 0, kind: 0, flags: 0, seq: 0, pid: 0 });
        // lo's four local-table routes and ::1, eth0's default, subnet, local and broadcast
        // routes, and the end.
        assert_eq!(messages(&handle(&h, &req, 42, false)).len(), 9);
    }

    #[test]
    fn changes_are_refused_as_linux() {
        let req = request(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK, &[AF_INET, 24, 0, 0, 1, 0, 0, 0]);
        let h = Header::parse(&req).unwrap_or(Header { len: 0, kind: 0, flags: 0, seq: 0, pid: 0 });
        let out = handle(&h, &req, 1, false);
        assert_eq!(messages(&out), vec![(NLMSG_ERROR, 36)]);
        assert_eq!(&out[16..20], &(-1i32).to_ne_bytes());
        let out = handle(&h, &req, 1, true);
        assert_eq!(&out[16..20], &(-95i32).to_ne_bytes());
        // `ip link set lo up`: acknowledged.
        let mut body = vec![0u8, 0, 0, 0];
        body.extend_from_slice(&1i32.to_ne_bytes());
        body.extend_from_slice(&IFF_UP.to_ne_bytes());
        body.extend_from_slice(&IFF_UP.to_ne_bytes());
        let req = request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, &body);
        let h = Header::parse(&req).unwrap_or(Header { len: 0, kind: 0, flags: 0, seq: 0, pid: 0 });
        let out = handle(&h, &req, 1, true);
        assert_eq!(&out[16..20], &0i32.to_ne_bytes());
    }
}
