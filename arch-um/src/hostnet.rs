//! Host sockets for the guest network's relay: what `std::net` cannot do without `unsafe` —
//! a non-blocking TCP `connect` (so a guest connect never blocks the kernel thread), the
//! pending error of a socket (`SO_ERROR`), and a reset on close (`SO_LINGER` 0).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The `sockaddr` bytes and length for `addr`.
fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage, both are plain data.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// Starts a non-blocking, close-on-exec TCP connection to `addr`: the stream and whether the
/// connection is still in progress (`EINPROGRESS`; watch for writability, then
/// [`take_error`]). An immediate failure is the host's errno.
pub fn tcp_connect(addr: SocketAddr) -> io::Result<(TcpStream, bool)> {
    let domain = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain socket(2); the fd is owned below.
    let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let (ss, len) = sockaddr(&addr);
    // SAFETY: ss holds a valid sockaddr of length len.
    let r = unsafe { libc::connect(fd, (&ss as *const libc::sockaddr_storage).cast::<libc::sockaddr>(), len) };
    let stream = TcpStream::from(owned);
    if r == 0 {
        return Ok((stream, false));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        return Ok((stream, true));
    }
    Err(e)
}

/// `SO_ERROR` of a host socket: 0 or the errno that ended a connection attempt.
pub fn take_error(s: &impl AsRawFd) -> i32 {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid for getsockopt to write.
    let r = unsafe { libc::getsockopt(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_ERROR, (&mut v as *mut libc::c_int).cast(), &mut len) };
    if r < 0 {
        return io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
    }
    v
}

/// Makes the next close of `s` reset the connection (`SO_LINGER` on with 0 seconds).
pub fn set_linger_zero(s: &impl AsRawFd) {
    let l = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: l is a valid struct linger for the call.
    unsafe {
        libc::setsockopt(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_LINGER, (&l as *const libc::linger).cast(), std::mem::size_of::<libc::linger>() as libc::socklen_t);
    }
}
