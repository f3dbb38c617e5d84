//! Sockets in the Linux x86-64 ABI: address families, socket types, `MSG_*` flags, socket
//! options, control messages and the `#[repr(C)]` structures `sendmsg`/`recvmsg` copy
//! (`include/linux/socket.h`, `include/uapi/asm-generic/socket.h`, `include/uapi/linux/un.h`).

use bytemuck::{Pod, Zeroable};
use core::mem::size_of;

// ---------------------------------------------------------------------------------------------
// Families, types, protocols

/// `AF_UNSPEC`.
pub const AF_UNSPEC: i32 = 0;
/// `AF_UNIX` (`AF_LOCAL`).
pub const AF_UNIX: i32 = 1;
/// `AF_INET`.
pub const AF_INET: i32 = 2;
/// `AF_INET6`.
pub const AF_INET6: i32 = 10;
/// `AF_NETLINK`.
pub const AF_NETLINK: i32 = 16;
/// `AF_PACKET`.
pub const AF_PACKET: i32 = 17;
/// `AF_MAX` (Linux 6.x: `NPROTO`): families at or above it are `EAFNOSUPPORT` at once.
pub const AF_MAX: i32 = 46;

/// `SOCK_STREAM`.
pub const SOCK_STREAM: i32 = 1;
/// `SOCK_DGRAM`.
pub const SOCK_DGRAM: i32 = 2;
/// `SOCK_RAW`.
pub const SOCK_RAW: i32 = 3;
/// `SOCK_RDM`.
pub const SOCK_RDM: i32 = 4;
/// `SOCK_SEQPACKET`.
pub const SOCK_SEQPACKET: i32 = 5;
/// `SOCK_PACKET`: the last type (`SOCK_MAX` is one more).
pub const SOCK_PACKET: i32 = 10;
/// `SOCK_MAX`: a type at or above it is `EINVAL`.
pub const SOCK_MAX: i32 = SOCK_PACKET + 1;
/// `SOCK_TYPE_MASK`: the type bits of `socket(2)`'s second argument.
pub const SOCK_TYPE_MASK: i32 = 0xf;
/// `SOCK_NONBLOCK` (= `O_NONBLOCK`).
pub const SOCK_NONBLOCK: i32 = 0o4000;
/// `SOCK_CLOEXEC` (= `O_CLOEXEC`).
pub const SOCK_CLOEXEC: i32 = 0o2000000;

/// `NETLINK_ROUTE` (netlink protocol 0).
pub const NETLINK_ROUTE: i32 = 0;
/// `MAX_LINKS`: netlink protocols are below it.
pub const NETLINK_MAX_LINKS: i32 = 32;

/// `SHUT_RD`.
pub const SHUT_RD: i32 = 0;
/// `SHUT_WR`.
pub const SHUT_WR: i32 = 1;
/// `SHUT_RDWR`.
pub const SHUT_RDWR: i32 = 2;

/// `net.core.somaxconn`'s default: `listen` clamps its backlog to it.
pub const SOMAXCONN: i32 = 4096;
/// `SCM_MAX_FD`: the most descriptors one `SCM_RIGHTS` message may carry.
pub const SCM_MAX_FD: usize = 253;

// ---------------------------------------------------------------------------------------------
// Addresses

/// `sizeof(struct sockaddr_storage)`: the most address bytes the kernel copies in.
pub const SOCKADDR_STORAGE_SIZE: usize = 128;
/// `offsetof(struct sockaddr_un, sun_path)`: the family field's size.
pub const SUN_PATH_OFFSET: usize = 2;
/// `sizeof(struct sockaddr_un)`: family plus 108 path bytes.
pub const SOCKADDR_UN_SIZE: usize = 110;

// ---------------------------------------------------------------------------------------------
// Message flags

bitflags::bitflags! {
    /// `MSG_*`: the flags of `send`/`recv` and the `msg_flags` `recvmsg` returns.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct MsgFlags: u32 {
        /// `MSG_OOB`: out-of-band data.
        const OOB = 0x1;
        /// `MSG_PEEK`: look without consuming.
        const PEEK = 0x2;
        /// `MSG_DONTROUTE`.
        const DONTROUTE = 0x4;
        /// `MSG_CTRUNC`: control data did not fit (returned).
        const CTRUNC = 0x8;
        /// `MSG_PROBE`.
        const PROBE = 0x10;
        /// `MSG_TRUNC`: a datagram was longer than the buffer (returned; as a request,
        /// `recv` returns the datagram's full length).
        const TRUNC = 0x20;
        /// `MSG_DONTWAIT`: do not block this call.
        const DONTWAIT = 0x40;
        /// `MSG_EOR`: end of record.
        const EOR = 0x80;
        /// `MSG_WAITALL`: a stream `recv` waits for the whole request.
        const WAITALL = 0x100;
        /// `MSG_FIN`.
        const FIN = 0x200;
        /// `MSG_SYN`.
        const SYN = 0x400;
        /// `MSG_CONFIRM`.
        const CONFIRM = 0x800;
        /// `MSG_RST`.
        const RST = 0x1000;
        /// `MSG_ERRQUEUE`: read the error queue.
        const ERRQUEUE = 0x2000;
        /// `MSG_NOSIGNAL`: no `SIGPIPE` with `EPIPE`.
        const NOSIGNAL = 0x4000;
        /// `MSG_MORE`.
        const MORE = 0x8000;
        /// `MSG_WAITFORONE`: `recvmmsg` stops waiting after the first message.
        const WAITFORONE = 0x10000;
        /// `MSG_BATCH`: more `sendmmsg` messages follow.
        const BATCH = 0x40000;
        /// `MSG_ZEROCOPY`.
        const ZEROCOPY = 0x4000000;
        /// `MSG_FASTOPEN`.
        const FASTOPEN = 0x20000000;
        /// `MSG_CMSG_CLOEXEC`: descriptors received with `SCM_RIGHTS` are close-on-exec.
        const CMSG_CLOEXEC = 0x40000000;
        /// `MSG_CMSG_COMPAT`: 32-bit control messages (`EINVAL` from 64-bit callers).
        const CMSG_COMPAT = 0x80000000;
    }
}

// ---------------------------------------------------------------------------------------------
// Socket options

/// `SOL_SOCKET`: the socket-level option namespace.
pub const SOL_SOCKET: i32 = 1;
/// `SO_DEBUG`.
pub const SO_DEBUG: i32 = 1;
/// `SO_REUSEADDR`.
pub const SO_REUSEADDR: i32 = 2;
/// `SO_TYPE`.
pub const SO_TYPE: i32 = 3;
/// `SO_ERROR`.
pub const SO_ERROR: i32 = 4;
/// `SO_DONTROUTE`.
pub const SO_DONTROUTE: i32 = 5;
/// `SO_BROADCAST`.
pub const SO_BROADCAST: i32 = 6;
/// `SO_SNDBUF`.
pub const SO_SNDBUF: i32 = 7;
/// `SO_RCVBUF`.
pub const SO_RCVBUF: i32 = 8;
/// `SO_KEEPALIVE`.
pub const SO_KEEPALIVE: i32 = 9;
/// `SO_OOBINLINE`.
pub const SO_OOBINLINE: i32 = 10;
/// `SO_NO_CHECK`.
pub const SO_NO_CHECK: i32 = 11;
/// `SO_PRIORITY`.
pub const SO_PRIORITY: i32 = 12;
/// `SO_LINGER`.
pub const SO_LINGER: i32 = 13;
/// `SO_BSDCOMPAT`.
pub const SO_BSDCOMPAT: i32 = 14;
/// `SO_REUSEPORT`.
pub const SO_REUSEPORT: i32 = 15;
/// `SO_PASSCRED`.
pub const SO_PASSCRED: i32 = 16;
/// `SO_PEERCRED`.
pub const SO_PEERCRED: i32 = 17;
/// `SO_RCVLOWAT`.
pub const SO_RCVLOWAT: i32 = 18;
/// `SO_SNDLOWAT`.
pub const SO_SNDLOWAT: i32 = 19;
/// `SO_RCVTIMEO` (`SO_RCVTIMEO_OLD`: a 64-bit `struct timeval`).
pub const SO_RCVTIMEO: i32 = 20;
/// `SO_SNDTIMEO` (`SO_SNDTIMEO_OLD`).
pub const SO_SNDTIMEO: i32 = 21;
/// `SO_PASSSEC`.
pub const SO_PASSSEC: i32 = 34;
/// `SO_ACCEPTCONN`.
pub const SO_ACCEPTCONN: i32 = 30;
/// `SO_PEERSEC`.
pub const SO_PEERSEC: i32 = 31;
/// `SO_SNDBUFFORCE`.
pub const SO_SNDBUFFORCE: i32 = 32;
/// `SO_RCVBUFFORCE`.
pub const SO_RCVBUFFORCE: i32 = 33;
/// `SO_MARK`.
pub const SO_MARK: i32 = 36;
/// `SO_PROTOCOL`.
pub const SO_PROTOCOL: i32 = 38;
/// `SO_DOMAIN`.
pub const SO_DOMAIN: i32 = 39;
/// `SO_PEEK_OFF`.
pub const SO_PEEK_OFF: i32 = 42;
/// `SO_BINDTODEVICE`.
pub const SO_BINDTODEVICE: i32 = 25;
/// `SO_ATTACH_FILTER` (`SO_GET_FILTER` to read).
pub const SO_ATTACH_FILTER: i32 = 26;
/// `SO_DETACH_FILTER`.
pub const SO_DETACH_FILTER: i32 = 27;
/// `SO_PEERNAME`.
pub const SO_PEERNAME: i32 = 28;
/// `SO_TIMESTAMP` (`SO_TIMESTAMP_OLD`; also the `SCM_TIMESTAMP` control message type).
pub const SO_TIMESTAMP: i32 = 29;
/// `SO_TIMESTAMPNS` (`SO_TIMESTAMPNS_OLD`; also `SCM_TIMESTAMPNS`).
pub const SO_TIMESTAMPNS: i32 = 35;
/// `SO_RXQ_OVFL`.
pub const SO_RXQ_OVFL: i32 = 40;
/// `SO_WIFI_STATUS`.
pub const SO_WIFI_STATUS: i32 = 41;
/// `SO_NOFCS`.
pub const SO_NOFCS: i32 = 43;
/// `SO_LOCK_FILTER`.
pub const SO_LOCK_FILTER: i32 = 44;
/// `SO_SELECT_ERR_QUEUE`.
pub const SO_SELECT_ERR_QUEUE: i32 = 45;
/// `SO_BUSY_POLL`.
pub const SO_BUSY_POLL: i32 = 46;
/// `SO_MAX_PACING_RATE`.
pub const SO_MAX_PACING_RATE: i32 = 47;
/// `SO_BPF_EXTENSIONS`.
pub const SO_BPF_EXTENSIONS: i32 = 48;
/// `SO_INCOMING_CPU`.
pub const SO_INCOMING_CPU: i32 = 49;
/// `SO_CNX_ADVICE`.
pub const SO_CNX_ADVICE: i32 = 53;
/// `SO_MEMINFO`.
pub const SO_MEMINFO: i32 = 55;
/// `SO_INCOMING_NAPI_ID`.
pub const SO_INCOMING_NAPI_ID: i32 = 56;
/// `SO_COOKIE`.
pub const SO_COOKIE: i32 = 57;
/// `SO_PEERGROUPS`.
pub const SO_PEERGROUPS: i32 = 59;
/// `SO_ZEROCOPY`.
pub const SO_ZEROCOPY: i32 = 60;
/// `SO_BINDTOIFINDEX`.
pub const SO_BINDTOIFINDEX: i32 = 62;
/// `SO_TIMESTAMP_NEW` (also `SCM_TIMESTAMP_NEW`).
pub const SO_TIMESTAMP_NEW: i32 = 63;
/// `SO_TIMESTAMPNS_NEW` (also `SCM_TIMESTAMPNS_NEW`).
pub const SO_TIMESTAMPNS_NEW: i32 = 64;
/// `SO_PREFER_BUSY_POLL`.
pub const SO_PREFER_BUSY_POLL: i32 = 69;
/// `SO_BUSY_POLL_BUDGET`.
pub const SO_BUSY_POLL_BUDGET: i32 = 70;
/// `SO_BUF_LOCK`.
pub const SO_BUF_LOCK: i32 = 72;
/// `SO_RESERVE_MEM`.
pub const SO_RESERVE_MEM: i32 = 73;
/// `SO_TXREHASH`.
pub const SO_TXREHASH: i32 = 74;
/// `SO_RCVMARK`.
pub const SO_RCVMARK: i32 = 75;
/// `SO_RCVTIMEO_NEW` (a `struct __kernel_sock_timeval`).
pub const SO_RCVTIMEO_NEW: i32 = 66;
/// `SO_SNDTIMEO_NEW`.
pub const SO_SNDTIMEO_NEW: i32 = 67;

/// `SCM_RIGHTS`: a control message carrying descriptors.
pub const SCM_RIGHTS: i32 = 1;
/// `SCM_CREDENTIALS`: a control message carrying a `struct ucred`.
pub const SCM_CREDENTIALS: i32 = 2;

/// `SIOCINQ` (= `FIONREAD`): bytes readable.
pub const SIOCINQ: u32 = 0x541B;
/// `SIOCOUTQ` (= `TIOCOUTQ`): bytes sent but not yet consumed by the peer.
pub const SIOCOUTQ: u32 = 0x5411;

// ---------------------------------------------------------------------------------------------
// Structures

/// `struct user_msghdr` (`include/linux/socket.h`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct MsgHdr {
    /// Address buffer.
    pub msg_name: u64,
    /// Its length.
    pub msg_namelen: i32,
    /// Padding.
    pub _pad0: i32,
    /// The iovec array.
    pub msg_iov: u64,
    /// Its element count.
    pub msg_iovlen: u64,
    /// Control message buffer.
    pub msg_control: u64,
    /// Its length.
    pub msg_controllen: u64,
    /// Flags (returned by `recvmsg`).
    pub msg_flags: u32,
    /// Tail padding.
    pub _pad1: i32,
}

impl MsgHdr {
    /// The offset of `msg_namelen` (`recvmsg` writes the address length there).
    pub const NAMELEN_OFFSET: u64 = 8;
    /// The offset of `msg_controllen`.
    pub const CONTROLLEN_OFFSET: u64 = 40;
    /// The offset of `msg_flags`.
    pub const FLAGS_OFFSET: u64 = 48;
}

/// `struct mmsghdr`: a message header plus the byte count `sendmmsg`/`recvmmsg` fill in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct MMsgHdr {
    /// The message.
    pub msg_hdr: MsgHdr,
    /// Bytes sent or received.
    pub msg_len: u32,
    /// Tail padding.
    pub _pad: u32,
}

impl MMsgHdr {
    /// The offset of `msg_len`.
    pub const LEN_OFFSET: u64 = 56;
}

/// `struct cmsghdr`: the header of one control message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct CMsgHdr {
    /// Header plus data length.
    pub cmsg_len: u64,
    /// Level (`SOL_SOCKET`).
    pub cmsg_level: i32,
    /// Type (`SCM_*`).
    pub cmsg_type: i32,
}

/// `CMSG_ALIGN`: control messages are aligned to 8 bytes.
pub const fn cmsg_align(len: usize) -> usize {
    (len + 7) & !7
}

/// `CMSG_LEN(len)`: a header plus `len` data bytes.
pub const fn cmsg_len(len: usize) -> usize {
    size_of::<CMsgHdr>() + len
}

/// `CMSG_SPACE(len)`: the aligned room a message with `len` data bytes takes.
pub const fn cmsg_space(len: usize) -> usize {
    size_of::<CMsgHdr>() + cmsg_align(len)
}

/// `struct ucred`: process and user identity (`SO_PEERCRED`, `SCM_CREDENTIALS`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct UCred {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// `struct linger` (`SO_LINGER`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Linger {
    /// Linger on close.
    pub l_onoff: i32,
    /// Seconds to linger.
    pub l_linger: i32,
}

const _: () = assert!(size_of::<MsgHdr>() == 56);
const _: () = assert!(size_of::<MMsgHdr>() == 64);
const _: () = assert!(size_of::<CMsgHdr>() == 16);
const _: () = assert!(size_of::<UCred>() == 12);
const _: () = assert!(size_of::<Linger>() == 8);
