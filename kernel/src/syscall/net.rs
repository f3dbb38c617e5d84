//! Socket syscalls (Linux's `net/socket.c` and `net/core/scm.c`): decode arguments in Linux's
//! order — its errno precedence is the ABI — and call the socket through `crate::net`.
//!
//! Order notes (Linux 6.x): `socketpair` reserves both descriptors and writes them to the
//! caller before creating anything; `accept4` reserves its descriptor before checking the
//! file is a socket; `connect` copies the address before that check; `sendto`/`recvfrom`
//! check the buffer's range first. Messages: `MSG_CMSG_COMPAT` is `EINVAL`, then the
//! descriptor, the header (`EFAULT`), a negative name length (`EINVAL`), more than 1024 iovecs
//! (`EMSGSIZE`), the iovecs (`EFAULT`, `EINVAL` for a negative length), a control length above
//! `INT_MAX` or `optmem_max` (`ENOBUFS`), the control data (`EFAULT`), and the control messages
//! themselves (`EINVAL`, `EBADF` for a descriptor not open, `EPERM`/`ESRCH` for credentials the
//! sender may not claim) before the socket sees the message.

use super::args::{Fd, Flags, InBuf, MsgHdrArg, OutBuf, SockAddrIn, SockDomain, SockTypeArg};
use crate::net::{self, OptVal, Socket, TaskCaller};
use crate::sched::Current;
use crate::task::kernel::kernel;
use fs::{FdFlags, FileLike, OpenFile, RecvMsg, SendMsg};
use std::sync::Arc;
use uapi::net::{self as n, CMsgHdr, MMsgHdr, MsgFlags, MsgHdr, UCred};
use uapi::structs::{IoVec, Timespec, UIO_MAXIOV};
use uapi::{Errno, KResult, UserAddr};

/// Linux's `MAX_RW_COUNT`: one call moves at most this much.
const MAX_RW: usize = 0x7fff_f000;
/// The most a socket call moves through one kernel buffer (a stream read returns less, a
/// stream write continues with the next piece).
const IO_CHUNK: usize = 1 << 20;
/// The largest datagram gathered at all (larger ones exceed any send buffer: `EMSGSIZE`).
const MAX_DGRAM: usize = 64 << 20;
/// The most of one datagram a receive copies (the rest counts as truncated).
const MAX_DGRAM_RECV: usize = 8 << 20;

/// The socket open at `fd`: `EBADF` if none, `ENOTSOCK` if not a socket.
fn sockfd(cur: &Current, fd: Fd) -> KResult<Arc<OpenFile>> {
    let f = crate::fs_glue::file(cur, fd)?;
    net::socket_of(&f).ok_or(Errno::ENOTSOCK)?;
    Ok(f)
}

/// The socket of a file [`sockfd`] checked.
fn sock(f: &OpenFile) -> KResult<&Socket> {
    net::socket_of(f).ok_or(Errno::ENOTSOCK)
}

/// True for `AF_INET`/`AF_INET6` sockets (the families with option levels of their own).
fn is_inet(f: &OpenFile) -> bool {
    net::socket_of(f).is_some_and(|s| s.domain == n::AF_INET || s.domain == n::AF_INET6)
}

/// `access_ok` on x86-64 since 6.8: the range must not wrap or reach the kernel half.
fn access_ok(addr: u64, len: u64) -> bool {
    let end = addr.wrapping_add(len);
    end >= addr && (end as i64) >= 0
}

/// `move_addr_to_kernel`: `EINVAL` for a negative length or one above 128, then the bytes.
fn addr_in(cur: &mut Current, uaddr: UserAddr, len: i32) -> KResult<Vec<u8>> {
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    if len > n::SOCKADDR_STORAGE_SIZE {
        return Err(Errno::EINVAL);
    }
    let mut v = vec![0u8; len];
    if len > 0 {
        cur.read_bytes(uaddr, &mut v)?;
    }
    Ok(v)
}

/// `move_addr_to_user`: copies at most `*ulen` bytes of `kaddr` and stores its full length
/// (`EINVAL` for a negative `*ulen`).
fn addr_out(cur: &mut Current, kaddr: &[u8], uaddr: UserAddr, ulen: UserAddr) -> KResult<()> {
    let len: i32 = cur.read_val(ulen)?;
    let klen = kaddr.len() as i32;
    let len = len.min(klen);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if len > 0 {
        cur.write_bytes(uaddr, &kaddr[..len as usize])?;
    }
    cur.write_val(ulen, &klen)
}

/// A reserved descriptor (Linux's `get_unused_fd_flags`): the slot holds a placeholder until
/// [`Reserved::install`] puts the real file there; dropping it frees the slot.
struct Reserved {
    fd: i32,
    table: Arc<fs::klock::KMutex<fs::FdTable>>,
    flags: FdFlags,
    installed: bool,
}

/// What a reserved slot holds meanwhile.
struct Placeholder;

impl FileLike for Placeholder {
    fn read(&self, _buf: &mut [u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EBADF)
    }
    fn write(&self, _data: &[u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EBADF)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Reserved {
    fn new(cur: &Current, cloexec: bool) -> KResult<Reserved> {
        let table = cur.process().files();
        let flags = if cloexec { FdFlags::CLOEXEC } else { FdFlags::empty() };
        let holder = OpenFile::new_anonymous(Arc::new(Placeholder), fs::abi::OpenFlags::RDWR);
        let fd = table.lock().alloc(holder, flags)?;
        Ok(Reserved { fd, table, flags, installed: false })
    }

    fn install(mut self, file: Arc<OpenFile>) -> i32 {
        let old = {
            let mut t = self.table.lock();
            let old = t.close(self.fd).ok();
            let _ = t.alloc_from(self.fd, file, self.flags);
            old
        };
        drop(old);
        self.installed = true;
        self.fd
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        if !self.installed {
            let old = self.table.lock().close(self.fd);
            drop(old);
        }
    }
}

/// Splits `socket(2)`'s type word: `EINVAL` for flags other than `SOCK_NONBLOCK|SOCK_CLOEXEC`.
fn type_flags(ty: i32) -> KResult<(i32, bool, bool)> {
    let flags = ty & !n::SOCK_TYPE_MASK;
    if flags & !(n::SOCK_CLOEXEC | n::SOCK_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((ty & n::SOCK_TYPE_MASK, flags & n::SOCK_NONBLOCK != 0, flags & n::SOCK_CLOEXEC != 0))
}

/// A new socket file of `domain`, `kind` (the family decides the final type).
fn new_socket(cur: &Current, domain: i32, kind: i32, protocol: i32, nonblock: bool) -> KResult<Arc<OpenFile>> {
    let ops = net::create_proto(domain, kind, protocol)?;
    let kind = ops.sock_type();
    Ok(net::socket_file(cur, domain, kind, ops, nonblock))
}

/// `socket(2)`.
pub fn sys_socket(cur: &mut Current, domain: SockDomain, ty: SockTypeArg, protocol: i32) -> KResult<usize> {
    let (domain, ty) = (domain.0, ty.0);
    let (kind, nonblock, cloexec) = type_flags(ty)?;
    let file = new_socket(cur, domain, kind, protocol, nonblock)?;
    let flags = if cloexec { FdFlags::CLOEXEC } else { FdFlags::empty() };
    let fd = cur.process().files().lock().alloc(file, flags)?;
    Ok(fd as usize)
}

/// `socketpair(2)`: reserves two descriptors (`EMFILE`) and stores them at `sv` (`EFAULT`)
/// before creating the sockets, as Linux does; `EOPNOTSUPP` for families without pairs.
pub fn sys_socketpair(cur: &mut Current, domain: SockDomain, ty: SockTypeArg, protocol: i32, sv: UserAddr) -> KResult<usize> {
    let (domain, ty) = (domain.0, ty.0);
    let (kind, nonblock, cloexec) = type_flags(ty)?;
    let r1 = Reserved::new(cur, cloexec)?;
    let r2 = Reserved::new(cur, cloexec)?;
    cur.write_val(sv, &r1.fd)?;
    cur.write_val(UserAddr(sv.0.wrapping_add(4)), &r2.fd)?;
    let a = new_socket(cur, domain, kind, protocol, nonblock)?;
    let b = new_socket(cur, domain, kind, protocol, nonblock)?;
    {
        let caller = TaskCaller::new(cur, net::MAX_TIMEO, true);
        sock(&a)?.ops().socketpair(sock(&b)?.ops(), &caller)?;
    }
    r1.install(a);
    r2.install(b);
    Ok(0)
}

/// `bind(2)`.
pub fn sys_bind(cur: &mut Current, fd: Fd, uaddr: SockAddrIn, len: i32) -> KResult<usize> {
    let uaddr = uaddr.0;
    let f = sockfd(cur, fd)?;
    let addr = addr_in(cur, uaddr, len)?;
    let mut caller = TaskCaller::new(cur, net::MAX_TIMEO, true);
    sock(&f)?.ops().bind(&mut caller, &addr)?;
    Ok(0)
}

/// `connect(2)`: the address is copied before the file is checked to be a socket; the wait
/// for a full backlog follows `SO_SNDTIMEO` and `O_NONBLOCK`.
pub fn sys_connect(cur: &mut Current, fd: Fd, uaddr: SockAddrIn, len: i32) -> KResult<usize> {
    let uaddr = uaddr.0;
    let f = crate::fs_glue::file(cur, fd)?;
    let addr = addr_in(cur, uaddr, len)?;
    let s = sock(&f)?;
    let mut caller = TaskCaller::new(cur, s.ops().common().sndtimeo(), f.nonblocking());
    s.ops().connect(&mut caller, &addr)?;
    Ok(0)
}

/// `listen(2)`: a backlog above `somaxconn` (or negative) becomes `somaxconn`.
pub fn sys_listen(cur: &mut Current, fd: Fd, backlog: i32) -> KResult<usize> {
    let f = sockfd(cur, fd)?;
    let backlog = if backlog as u32 > n::SOMAXCONN as u32 { n::SOMAXCONN } else { backlog };
    let caller = TaskCaller::new(cur, net::MAX_TIMEO, true);
    sock(&f)?.ops().listen(backlog, &caller)?;
    Ok(0)
}

/// `accept4(2)`: `EINVAL` for unknown flags, a descriptor reserved (`EMFILE`) before the file
/// is checked to be a socket, then the protocol's accept (under `SO_RCVTIMEO`/`O_NONBLOCK`);
/// if the peer address cannot be stored the new connection is closed again.
pub fn sys_accept4(cur: &mut Current, fd: Fd, uaddr: UserAddr, ulen: UserAddr, flags: i32) -> KResult<usize> {
    let f = crate::fs_glue::file(cur, fd)?;
    if flags & !(n::SOCK_CLOEXEC | n::SOCK_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let slot = Reserved::new(cur, flags & n::SOCK_CLOEXEC != 0)?;
    let s = sock(&f)?;
    let new_ops = {
        let mut caller = TaskCaller::new(cur, s.ops().common().rcvtimeo(), f.nonblocking());
        s.ops().accept(&mut caller)?
    };
    let kind = new_ops.sock_type();
    let file = net::socket_file(cur, s.domain, kind, new_ops, flags & n::SOCK_NONBLOCK != 0);
    if !uaddr.is_null() {
        let name = sock(&file)?.ops().getname(true).map_err(|_| Errno::ECONNABORTED)?;
        addr_out(cur, &name, uaddr, ulen)?;
    }
    Ok(slot.install(file) as usize)
}

/// `accept(2)`.
pub fn sys_accept(cur: &mut Current, fd: Fd, uaddr: UserAddr, ulen: UserAddr) -> KResult<usize> {
    sys_accept4(cur, fd, uaddr, ulen, 0)
}

fn getname(cur: &mut Current, fd: Fd, uaddr: UserAddr, ulen: UserAddr, peer: bool) -> KResult<usize> {
    let f = sockfd(cur, fd)?;
    let name = sock(&f)?.ops().getname(peer)?;
    addr_out(cur, &name, uaddr, ulen)?;
    Ok(0)
}

/// `getsockname(2)`.
pub fn sys_getsockname(cur: &mut Current, fd: Fd, uaddr: UserAddr, ulen: UserAddr) -> KResult<usize> {
    getname(cur, fd, uaddr, ulen, false)
}

/// `getpeername(2)`: `ENOTCONN` without a peer.
pub fn sys_getpeername(cur: &mut Current, fd: Fd, uaddr: UserAddr, ulen: UserAddr) -> KResult<usize> {
    getname(cur, fd, uaddr, ulen, true)
}

/// `shutdown(2)`.
pub fn sys_shutdown(cur: &mut Current, fd: Fd, how: i32) -> KResult<usize> {
    let f = sockfd(cur, fd)?;
    sock(&f)?.ops().shutdown(how)?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// Data: gathering from and scattering to guest buffers

/// `import_iovec`: `count` iovecs at `iov` (`EFAULT`), each length non-negative as an
/// `ssize_t` (`EINVAL`) and its range below the kernel half (`EFAULT`); the total is capped at
/// `MAX_RW_COUNT` by shortening the iovecs, as Linux does.
fn import_iovecs(cur: &mut Current, iov: UserAddr, count: usize) -> KResult<Vec<IoVec>> {
    if count > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut v = vec![IoVec::default(); count];
    if count > 0 {
        cur.read_bytes(iov, bytemuck::cast_slice_mut(&mut v))?;
    }
    if v.iter().any(|i| (i.iov_len as i64) < 0) {
        return Err(Errno::EINVAL);
    }
    let mut total = 0u64;
    for i in &mut v {
        if !access_ok(i.iov_base, i.iov_len) {
            return Err(Errno::EFAULT);
        }
        i.iov_len = i.iov_len.min(MAX_RW as u64 - total);
        total += i.iov_len;
    }
    Ok(v)
}

fn iov_total(iovs: &[IoVec]) -> usize {
    iovs.iter().map(|i| i.iov_len as usize).sum()
}

/// Copies up to `max` bytes from the iovecs: the readable prefix and whether a fault cut it.
fn gather(cur: &mut Current, iovs: &[IoVec], skip: usize, max: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(max.min(iov_total(iovs)));
    let mut skip = skip;
    let mm = cur.mm();
    let mut g = mm.space.lock();
    for v in iovs {
        let len = v.iov_len as usize;
        if skip >= len {
            skip -= len;
            continue;
        }
        let want = (len - skip).min(max - out.len());
        if want == 0 {
            break;
        }
        let start = out.len();
        out.resize(start + want, 0);
        let mut done = 0usize;
        let r = g.with_user_reader(v.iov_base.wrapping_add(skip as u64), want as u64, |r| {
            let n = r.read_slice(&mut out[start + done..start + want]);
            done += n;
            Ok(n)
        });
        skip = 0;
        if r.is_err() || done < want {
            out.truncate(start + done);
            return (out, true);
        }
        if out.len() == max {
            break;
        }
    }
    (out, false)
}

/// True if the first byte the iovecs would receive is writable (so a stream receive that would
/// only fail to copy does not consume anything, as Linux leaves stream data queued on `EFAULT`;
/// a datagram is dequeued before the copy and lost, there as here).
fn first_byte_writable(cur: &mut Current, iovs: &[IoVec]) -> bool {
    let Some(v) = iovs.iter().find(|v| v.iov_len > 0) else { return true };
    let mm = cur.mm();
    let mut g = mm.space.lock();
    g.with_user_writer(v.iov_base, 1, |w| Ok(w.avail())).is_ok_and(|n| n == 1)
}

/// Copies `data` into the iovecs from the start; the bytes stored (short after a fault).
fn scatter(cur: &mut Current, iovs: &[IoVec], data: &[u8]) -> usize {
    let mut done = 0usize;
    for v in iovs {
        if done == data.len() {
            break;
        }
        let n = (v.iov_len as usize).min(data.len() - done);
        if cur.write_bytes(UserAddr(v.iov_base), &data[done..done + n]).is_err() {
            break;
        }
        done += n;
    }
    done
}

/// What `sendmsg` hands the socket besides the data.
#[derive(Default)]
struct Ancillary {
    rights: Vec<Arc<OpenFile>>,
    creds: Option<UCred>,
}

/// Sends the iovecs' data with `name` and `anc` through `sock` (the body of `sock_sendmsg`):
/// a stream socket is fed in pieces of at most [`IO_CHUNK`] (descriptors and `SIGPIPE` with
/// the first), anything else as one message.
fn send_iov(cur: &mut Current, f: &OpenFile, s: &Socket, iovs: &[IoVec], name: Option<&[u8]>, anc: Ancillary, flags: MsgFlags) -> KResult<usize> {
    let mut flags = flags;
    if f.nonblocking() {
        flags |= MsgFlags::DONTWAIT;
    }
    let total = iov_total(iovs);
    let stream = s.kind == n::SOCK_STREAM;
    if !stream && total > MAX_DGRAM {
        return Err(Errno::EMSGSIZE);
    }
    let timeo = s.ops().common().sndtimeo();
    let mut sent = 0usize;
    let mut anc = Some(anc);
    loop {
        let max = if stream { IO_CHUNK } else { total };
        let (data, fault) = gather(cur, iovs, sent, max);
        let a = anc.take().unwrap_or_default();
        let piece_flags = if sent > 0 { flags | MsgFlags::NOSIGNAL } else { flags };
        let mut msg = SendMsg { data: &data, fault, name, rights: a.rights, creds: a.creds, flags: piece_flags };
        let mut caller = TaskCaller::new(cur, timeo, flags.contains(MsgFlags::DONTWAIT));
        let r = f.file_like().ok_or(Errno::ENOTSOCK)?.sendmsg(&mut msg, &mut caller);
        match r {
            Ok(k) => {
                sent += k;
                if !stream || fault || k < data.len() || sent >= total {
                    return Ok(sent);
                }
            }
            Err(e) if sent > 0 => {
                let _ = e;
                return Ok(sent);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Receives into the iovecs through `sock` (the body of `sock_recvmsg`), filling `msg`; a
/// stream `MSG_WAITALL` larger than [`IO_CHUNK`] continues piece by piece.
fn recv_iov(cur: &mut Current, f: &OpenFile, s: &Socket, iovs: &[IoVec], msg: &mut RecvMsg, flags: MsgFlags) -> KResult<usize> {
    let mut flags = flags;
    if f.nonblocking() {
        flags |= MsgFlags::DONTWAIT;
    }
    let total = iov_total(iovs);
    let stream = s.kind == n::SOCK_STREAM;
    if stream && !first_byte_writable(cur, iovs) {
        return Err(Errno::EFAULT);
    }
    let timeo = s.ops().common().rcvtimeo();
    let chunk = if stream { IO_CHUNK } else { MAX_DGRAM_RECV };
    let mut got = 0usize;
    loop {
        let want = (total - got).min(chunk);
        let mut buf = vec![0u8; want];
        let r = {
            let mut caller = TaskCaller::new(cur, timeo, flags.contains(MsgFlags::DONTWAIT));
            f.file_like().ok_or(Errno::ENOTSOCK)?.recvmsg(&mut buf, msg, flags, &mut caller)
        };
        let k = match r {
            Ok(k) => k,
            Err(_) if got > 0 => return Ok(got),
            Err(e) => return Err(e),
        };
        let copied = k.min(want);
        let stored = scatter_at(cur, iovs, got, &buf[..copied]);
        if !stream {
            return if stored < copied { Err(Errno::EFAULT) } else { Ok(k) };
        }
        got += stored;
        let more = flags.contains(MsgFlags::WAITALL) && !flags.contains(MsgFlags::PEEK) && stored == want && got < total && msg.rights.is_empty();
        if !more {
            return if got == 0 && copied > 0 { Err(Errno::EFAULT) } else { Ok(got) };
        }
    }
}

/// Copies `data` into the iovecs starting `skip` bytes in; the bytes stored.
fn scatter_at(cur: &mut Current, iovs: &[IoVec], skip: usize, data: &[u8]) -> usize {
    if skip == 0 {
        return scatter(cur, iovs, data);
    }
    let mut rest = Vec::new();
    let mut skip = skip;
    for v in iovs {
        let len = v.iov_len as usize;
        if skip >= len {
            skip -= len;
            continue;
        }
        rest.push(IoVec { iov_base: v.iov_base.wrapping_add(skip as u64), iov_len: (len - skip) as u64 });
        skip = 0;
    }
    scatter(cur, &rest, data)
}

/// `write(2)`/`writev(2)` on a socket: a `sendmsg` of the buffers with no flags.
pub fn socket_write(cur: &mut Current, f: &OpenFile, iovs: &[IoVec]) -> KResult<usize> {
    let s = sock(f)?;
    send_iov(cur, f, s, iovs, None, Ancillary::default(), MsgFlags::empty())
}

/// `read(2)`/`readv(2)` on a socket: a `recvmsg` into the buffers with no flags (a read of
/// nothing returns 0 at once, as `sock_read_iter` does).
pub fn socket_read(cur: &mut Current, f: &OpenFile, iovs: &[IoVec]) -> KResult<usize> {
    let s = sock(f)?;
    if iov_total(iovs) == 0 {
        return Ok(0);
    }
    let mut msg = RecvMsg::default();
    let n = recv_iov(cur, f, s, iovs, &mut msg, MsgFlags::empty())?;
    Ok(n.min(iov_total(iovs)))
}

/// `sendto(2)` (and `send(2)`): the buffer's range is checked first, then the descriptor,
/// then the address.
pub fn sys_sendto(cur: &mut Current, fd: Fd, buf: InBuf, len: usize, flags: u32, uaddr: SockAddrIn, alen: i32) -> KResult<usize> {
    let uaddr = uaddr.0;
    let buf = buf.0;
    let len = len.min(MAX_RW);
    if !access_ok(buf.0, len as u64) {
        return Err(Errno::EFAULT);
    }
    let f = sockfd(cur, fd)?;
    let name = if uaddr.is_null() { None } else { Some(addr_in(cur, uaddr, alen)?) };
    let iov = [IoVec { iov_base: buf.0, iov_len: len as u64 }];
    send_iov(cur, &f, sock(&f)?, &iov, name.as_deref(), Ancillary::default(), MsgFlags::from_bits_retain(flags))
}

/// `recvfrom(2)` (and `recv(2)`): the source address is stored only if given (length 0 when
/// the sender had none).
pub fn sys_recvfrom(cur: &mut Current, fd: Fd, buf: OutBuf, len: usize, flags: u32, uaddr: UserAddr, ulen: UserAddr) -> KResult<usize> {
    let buf = buf.0;
    let len = len.min(MAX_RW);
    if !access_ok(buf.0, len as u64) {
        return Err(Errno::EFAULT);
    }
    let f = sockfd(cur, fd)?;
    let iov = [IoVec { iov_base: buf.0, iov_len: len as u64 }];
    let mut msg = RecvMsg { want_name: !uaddr.is_null(), ..RecvMsg::default() };
    let n = recv_iov(cur, &f, sock(&f)?, &iov, &mut msg, MsgFlags::from_bits_retain(flags))?;
    if !uaddr.is_null() {
        addr_out(cur, msg.name.as_deref().unwrap_or_default(), uaddr, ulen)?;
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// sendmsg / recvmsg

/// A `struct msghdr` after `__copy_msghdr`'s checks: the name (for sending, its bytes), the
/// iovecs, the control buffer.
struct Header {
    raw: MsgHdr,
    name: Option<Vec<u8>>,
    iovs: Vec<IoVec>,
}

/// `copy_msghdr_from_user` + `import_iovec`. `sending`: copy the name in (for receiving
/// only its pointer is kept).
fn copy_msghdr(cur: &mut Current, umsg: UserAddr, sending: bool) -> KResult<Header> {
    let raw: MsgHdr = cur.read_val(umsg)?;
    let mut namelen = if raw.msg_name == 0 { 0 } else { raw.msg_namelen };
    if namelen < 0 {
        return Err(Errno::EINVAL);
    }
    namelen = namelen.min(n::SOCKADDR_STORAGE_SIZE as i32);
    let name = if sending && raw.msg_name != 0 && namelen > 0 { Some(addr_in(cur, UserAddr(raw.msg_name), namelen)?) } else { None };
    if raw.msg_iovlen > UIO_MAXIOV as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let iovs = import_iovecs(cur, UserAddr(raw.msg_iov), raw.msg_iovlen as usize)?;
    Ok(Header { raw, name, iovs })
}

/// `____sys_sendmsg`'s control buffer: `ENOBUFS` above `INT_MAX` or `optmem_max`, `EFAULT`.
fn copy_control(cur: &mut Current, hdr: &MsgHdr) -> KResult<Vec<u8>> {
    let len = hdr.msg_controllen;
    if len > i32::MAX as u64 {
        return Err(Errno::ENOBUFS);
    }
    let len = len as usize;
    // Up to 36 bytes use a stack buffer; more come from the socket's option memory.
    if len >= net::OPTMEM_MAX {
        return Err(Errno::ENOBUFS);
    }
    let mut ctl = vec![0u8; len];
    if len > 0 {
        cur.read_bytes(UserAddr(hdr.msg_control), &mut ctl)?;
    }
    Ok(ctl)
}

/// `__scm_send`: walks the control messages (`EINVAL` for a bad length, or a `SOL_SOCKET`
/// type other than `SCM_RIGHTS`/`SCM_CREDENTIALS`); `SCM_RIGHTS` needs a unix socket and open
/// descriptors (`EBADF`), at most 253 in all (`EINVAL`); `SCM_CREDENTIALS` must name the
/// caller's process and ids unless it is root (`EPERM`) and a live pid (`ESRCH`).
fn scm_send(cur: &mut Current, domain: i32, ctl: &[u8]) -> KResult<Ancillary> {
    let mut anc = Ancillary::default();
    let hdr_len = std::mem::size_of::<CMsgHdr>();
    let mut off = 0usize;
    while ctl.len() >= hdr_len && off + hdr_len <= ctl.len() {
        let h: CMsgHdr = bytemuck::pod_read_unaligned(&ctl[off..off + hdr_len]);
        let clen = usize::try_from(h.cmsg_len).unwrap_or(usize::MAX);
        if clen < hdr_len || clen > ctl.len() - off {
            return Err(Errno::EINVAL);
        }
        if h.cmsg_level == n::SOL_SOCKET {
            let data = &ctl[off + hdr_len..off + clen];
            match h.cmsg_type {
                n::SCM_RIGHTS => {
                    if domain != n::AF_UNIX {
                        return Err(Errno::EINVAL);
                    }
                    scm_rights(cur, data, &mut anc.rights)?;
                }
                n::SCM_CREDENTIALS => {
                    if clen != uapi::net::cmsg_len(std::mem::size_of::<UCred>()) {
                        return Err(Errno::EINVAL);
                    }
                    let c: UCred = bytemuck::pod_read_unaligned(data);
                    check_creds(cur, &c)?;
                    anc.creds = Some(c);
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        let next = off + uapi::net::cmsg_align(clen);
        if next + hdr_len > ctl.len() {
            break;
        }
        off = next;
    }
    Ok(anc)
}

/// `scm_fp_copy`: the descriptors of one `SCM_RIGHTS` message.
fn scm_rights(cur: &mut Current, data: &[u8], out: &mut Vec<Arc<OpenFile>>) -> KResult<()> {
    let num = data.len() / 4;
    if num == 0 {
        return Ok(());
    }
    if num > n::SCM_MAX_FD || out.len() + num > n::SCM_MAX_FD {
        return Err(Errno::EINVAL);
    }
    let table = cur.process().files();
    let t = table.lock();
    for c in data.chunks_exact(4).take(num) {
        let fd = i32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        out.push(t.get(fd)?);
    }
    Ok(())
}

/// `scm_check_creds` and the pid lookup of `__scm_send`.
fn check_creds(cur: &Current, c: &UCred) -> KResult<()> {
    if c.uid == u32::MAX || c.gid == u32::MAX {
        return Err(Errno::EINVAL);
    }
    let me = cur.process().creds();
    let root = me.capable(fs::capability::cap::SYS_ADMIN);
    let pid_ok = c.pid == cur.pid() as i32 || root;
    let uid_ok = [me.uid, me.euid, me.suid].contains(&c.uid) || root;
    let gid_ok = [me.gid, me.egid, me.sgid].contains(&c.gid) || root;
    if !(pid_ok && uid_ok && gid_ok) {
        return Err(Errno::EPERM);
    }
    let k = kernel();
    let exists = u32::try_from(c.pid).ok().is_some_and(|p| k.task(p).is_some() || k.process(p).is_some());
    if !exists {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

/// `___sys_sendmsg` after the descriptor checks.
fn do_sendmsg(cur: &mut Current, f: &OpenFile, umsg: UserAddr, flags: u32) -> KResult<usize> {
    let s = sock(f)?;
    let hdr = copy_msghdr(cur, umsg, true)?;
    let ctl = copy_control(cur, &hdr.raw)?;
    let anc = if ctl.is_empty() { Ancillary::default() } else { scm_send(cur, s.domain, &ctl)? };
    send_iov(cur, f, s, &hdr.iovs, hdr.name.as_deref(), anc, MsgFlags::from_bits_retain(flags))
}

/// `sendmsg(2)`.
pub fn sys_sendmsg(cur: &mut Current, fd: Fd, umsg: MsgHdrArg, flags: Flags) -> KResult<usize> {
    let umsg = umsg.0;
    let flags = flags.0 as u32;
    if flags & MsgFlags::CMSG_COMPAT.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let f = sockfd(cur, fd)?;
    do_sendmsg(cur, &f, umsg, flags)
}

/// Writes one control message of `data` at `*pos` (`put_cmsg`): truncated, with
/// `MSG_CTRUNC`, to the room left.
#[allow(clippy::too_many_arguments)]
fn put_cmsg(cur: &mut Current, ctl: UserAddr, room: &mut usize, pos: &mut usize, flags: &mut MsgFlags, level: i32, ty: i32, data: &[u8]) {
    let hdr_len = std::mem::size_of::<CMsgHdr>();
    if ctl.is_null() || *room < hdr_len {
        *flags |= MsgFlags::CTRUNC;
        return;
    }
    let mut cmlen = uapi::net::cmsg_len(data.len());
    if *room < cmlen {
        *flags |= MsgFlags::CTRUNC;
        cmlen = *room;
    }
    let h = CMsgHdr { cmsg_len: cmlen as u64, cmsg_level: level, cmsg_type: ty };
    let mut bytes = bytemuck::bytes_of(&h).to_vec();
    bytes.extend_from_slice(&data[..cmlen - hdr_len]);
    if cur.write_bytes(UserAddr(ctl.0.wrapping_add(*pos as u64)), &bytes).is_err() {
        return;
    }
    let step = uapi::net::cmsg_space(data.len()).min(*room);
    *pos += step;
    *room -= step;
}

/// `scm_detach_fds`: installs as many received files as the room allows (`MSG_CTRUNC` for the
/// rest, which are closed), stopping at the descriptor limit.
fn detach_fds(cur: &mut Current, ctl: UserAddr, room: &mut usize, pos: &mut usize, flags: &mut MsgFlags, files: Vec<Arc<OpenFile>>) {
    let hdr_len = std::mem::size_of::<CMsgHdr>();
    let fdmax = if ctl.is_null() || *room <= hdr_len { 0 } else { (*room - hdr_len) / 4 }.min(files.len());
    let fdflags = if flags.contains(MsgFlags::CMSG_CLOEXEC) { FdFlags::CLOEXEC } else { FdFlags::empty() };
    let base = ctl.0.wrapping_add(*pos as u64);
    let mut installed = 0usize;
    for file in files.iter().take(fdmax) {
        let fd = match cur.process().files().lock().alloc(file.clone(), fdflags) {
            Ok(fd) => fd,
            Err(_) => break,
        };
        if cur.write_val(UserAddr(base.wrapping_add((hdr_len + 4 * installed) as u64)), &fd).is_err() {
            let closed = cur.process().files().lock().close(fd);
            drop(closed);
            break;
        }
        installed += 1;
    }
    if installed > 0 {
        let h = CMsgHdr { cmsg_len: uapi::net::cmsg_len(installed * 4) as u64, cmsg_level: n::SOL_SOCKET, cmsg_type: n::SCM_RIGHTS };
        if cur.write_bytes(UserAddr(base), bytemuck::bytes_of(&h)).is_ok() {
            let step = uapi::net::cmsg_space(installed * 4).min(*room);
            *pos += step;
            *room -= step;
        }
    }
    if installed < files.len() || (!files.is_empty() && fdmax == 0) {
        *flags |= MsgFlags::CTRUNC;
    }
    drop(files);
}

/// `___sys_recvmsg` after the descriptor checks: receives, then stores the address, the
/// control messages (`scm_recv_unix`), `msg_flags` and the control length used.
fn do_recvmsg(cur: &mut Current, f: &OpenFile, umsg: UserAddr, flags: u32) -> KResult<usize> {
    let s = sock(f)?;
    let hdr = copy_msghdr(cur, umsg, false)?;
    let flags = MsgFlags::from_bits_retain(flags);
    let mut msg = RecvMsg { want_name: hdr.raw.msg_name != 0, ..RecvMsg::default() };
    let len = recv_iov(cur, f, s, &hdr.iovs, &mut msg, flags)?;
    if hdr.raw.msg_name != 0 {
        addr_out(cur, msg.name.as_deref().unwrap_or_default(), UserAddr(hdr.raw.msg_name), UserAddr(umsg.0.wrapping_add(MsgHdr::NAMELEN_OFFSET)))?;
    }
    let mut out_flags = (flags & (MsgFlags::CMSG_CLOEXEC | MsgFlags::CMSG_COMPAT)) | msg.flags;
    let ctl = UserAddr(hdr.raw.msg_control);
    let mut room = usize::try_from(hdr.raw.msg_controllen).unwrap_or(usize::MAX);
    let mut pos = 0usize;
    if ctl.is_null() {
        if msg.creds.is_some() || !msg.rights.is_empty() || !msg.cmsgs.is_empty() {
            out_flags |= MsgFlags::CTRUNC;
        }
    } else {
        for (level, ty, data) in std::mem::take(&mut msg.cmsgs) {
            put_cmsg(cur, ctl, &mut room, &mut pos, &mut out_flags, level, ty, &data);
        }
        if let Some(c) = msg.creds {
            put_cmsg(cur, ctl, &mut room, &mut pos, &mut out_flags, n::SOL_SOCKET, n::SCM_CREDENTIALS, bytemuck::bytes_of(&c));
        }
        let rights = std::mem::take(&mut msg.rights);
        if !rights.is_empty() {
            detach_fds(cur, ctl, &mut room, &mut pos, &mut out_flags, rights);
        }
    }
    drop(msg);
    cur.write_val(UserAddr(umsg.0.wrapping_add(MsgHdr::FLAGS_OFFSET)), &(out_flags - MsgFlags::CMSG_COMPAT).bits())?;
    cur.write_val(UserAddr(umsg.0.wrapping_add(MsgHdr::CONTROLLEN_OFFSET)), &(pos as u64))?;
    Ok(len)
}

/// `recvmsg(2)`.
pub fn sys_recvmsg(cur: &mut Current, fd: Fd, umsg: MsgHdrArg, flags: Flags) -> KResult<usize> {
    let umsg = umsg.0;
    let flags = flags.0 as u32;
    if flags & MsgFlags::CMSG_COMPAT.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let f = sockfd(cur, fd)?;
    do_recvmsg(cur, &f, umsg, flags)
}

/// `sendmmsg(2)`: up to 1024 messages; stops at the first error or partial send and returns
/// how many went (the error only if none did).
pub fn sys_sendmmsg(cur: &mut Current, fd: Fd, vec: UserAddr, vlen: u32, flags: Flags) -> KResult<usize> {
    let flags = flags.0 as u32;
    if flags & MsgFlags::CMSG_COMPAT.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let vlen = vlen.min(UIO_MAXIOV as u32);
    let f = sockfd(cur, fd)?;
    let mut sent = 0u32;
    let mut err = None;
    while sent < vlen {
        let entry = UserAddr(vec.0.wrapping_add(u64::from(sent) * std::mem::size_of::<MMsgHdr>() as u64));
        let piece_flags = if sent + 1 < vlen { flags | MsgFlags::BATCH.bits() } else { flags };
        let want = match peek_total(cur, entry) {
            Ok(t) => t,
            Err(e) => {
                err = Some(e);
                break;
            }
        };
        match do_sendmsg(cur, &f, entry, piece_flags) {
            Ok(n) => {
                if let Err(e) = cur.write_val(UserAddr(entry.0.wrapping_add(MMsgHdr::LEN_OFFSET)), &(n as u32)) {
                    err = Some(e);
                    break;
                }
                sent += 1;
                if n < want {
                    break;
                }
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    match (sent, err) {
        (0, Some(e)) => Err(e),
        _ => Ok(sent as usize),
    }
}

/// The total iovec length of the message header at `umsg` (0 if it cannot be read: the send
/// reports the error).
fn peek_total(cur: &mut Current, umsg: UserAddr) -> KResult<usize> {
    let Ok(raw) = cur.read_val::<MsgHdr>(umsg) else { return Ok(0) };
    if raw.msg_iovlen > UIO_MAXIOV as u64 {
        return Ok(0);
    }
    let mut v = vec![IoVec::default(); raw.msg_iovlen as usize];
    if cur.read_bytes(UserAddr(raw.msg_iov), bytemuck::cast_slice_mut(&mut v)).is_err() {
        return Ok(0);
    }
    Ok(v.iter().map(|i| i.iov_len.min(MAX_RW as u64) as usize).sum::<usize>().min(MAX_RW))
}

/// `recvmmsg(2)`: up to `vlen` messages; `MSG_WAITFORONE` stops waiting after the first; the
/// timeout is checked between messages only (as Linux); an error after some messages is kept
/// as the socket's pending error (unless it is `EAGAIN`).
pub fn sys_recvmmsg(cur: &mut Current, fd: Fd, vec: UserAddr, vlen: u32, flags: Flags, timeout: UserAddr) -> KResult<usize> {
    let mut flags = flags.0 as u32;
    if flags & MsgFlags::CMSG_COMPAT.bits() != 0 {
        return Err(Errno::EINVAL);
    }
    let end = if timeout.is_null() {
        None
    } else {
        let ts: Timespec = cur.read_val(timeout)?;
        ts.validate()?;
        Some(mono_ns() + ts.as_nanos())
    };
    let f = sockfd(cur, fd)?;
    let s = sock(&f)?;
    if flags & MsgFlags::ERRQUEUE.bits() == 0 {
        let pending = s.ops().take_error();
        if pending != 0 {
            return Err(Errno::from_raw(pending));
        }
    }
    let mut got = 0u32;
    let mut err = None;
    while got < vlen {
        let entry = UserAddr(vec.0.wrapping_add(u64::from(got) * std::mem::size_of::<MMsgHdr>() as u64));
        match do_recvmsg(cur, &f, entry, flags & !MsgFlags::WAITFORONE.bits()) {
            Ok(n) => {
                if let Err(e) = cur.write_val(UserAddr(entry.0.wrapping_add(MMsgHdr::LEN_OFFSET)), &(n as u32)) {
                    err = Some(e);
                    break;
                }
                got += 1;
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
        if flags & MsgFlags::WAITFORONE.bits() != 0 {
            flags |= MsgFlags::DONTWAIT.bits();
        }
        if end.is_some_and(|e| mono_ns() >= e) {
            break;
        }
    }
    let left = end.map(|e| Timespec::from_nanos((e - mono_ns()).max(0)));
    match (got, err) {
        (0, Some(e)) => Err(e),
        (0, None) => Ok(0),
        (_, e) => {
            if let Some(e) = e.filter(|e| *e != Errno::EAGAIN) {
                s.ops().set_error(e.raw());
            }
            if let Some(l) = left {
                cur.write_val(timeout, &l)?;
            }
            Ok(got as usize)
        }
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds.
fn mono_ns() -> i128 {
    crate::syscall::time_now(uapi::flags::CLOCK_MONOTONIC).map_or(0, |t| t.as_nanos())
}

// ---------------------------------------------------------------------------------------------
// Options

/// How many bytes of an option value `setsockopt` reads (more than an `int`: an error if
/// `len` is shorter, except for `SO_MAX_PACING_RATE`, which takes either size).
fn opt_size(opt: i32, len: usize) -> usize {
    match opt {
        n::SO_RCVTIMEO | n::SO_SNDTIMEO | n::SO_RCVTIMEO_NEW | n::SO_SNDTIMEO_NEW => 16,
        n::SO_LINGER => 8,
        n::SO_MAX_PACING_RATE if len >= 8 => 8,
        _ => 4,
    }
}

/// `setsockopt(2)`: `EINVAL` for a negative length; `SOL_SOCKET` options need an `int` at
/// least (`EINVAL`); other levels go to the protocol (`EOPNOTSUPP` for unix sockets).
pub fn sys_setsockopt(cur: &mut Current, fd: Fd, level: i32, opt: i32, val: UserAddr, len: i32) -> KResult<usize> {
    let f = sockfd(cur, fd)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if level != n::SOL_SOCKET {
        if !is_inet(&f) {
            return Err(Errno::EOPNOTSUPP);
        }
        let root = cur.process().creds().capable(fs::capability::cap::NET_ADMIN);
        let mut bytes = vec![0u8; (len as usize).min(64)];
        cur.read_bytes(val, &mut bytes)?;
        sock(&f)?.ops().setsockopt(level, opt, &bytes, root)?;
        return Ok(0);
    }
    let root = cur.process().creds().capable(fs::capability::cap::NET_ADMIN);
    if opt == n::SO_BINDTODEVICE {
        // An interface name, before the `int` check (`sock_setbindtodevice`).
        let mut name = vec![0u8; (len as usize).min(15)];
        cur.read_bytes(val, &mut name)?;
        net::set_sol_socket(sock(&f)?, opt, &name, root)?;
        return Ok(0);
    }
    if len < 4 {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; 4];
    cur.read_bytes(val, &mut bytes)?;
    let need = opt_size(opt, len as usize);
    if need > 4 {
        if (len as usize) < need {
            return Err(Errno::EINVAL);
        }
        bytes.resize(need, 0);
        cur.read_bytes(val, &mut bytes)?;
    }
    net::set_sol_socket(sock(&f)?, opt, &bytes, root)?;
    Ok(0)
}

/// `getsockopt(2)`: reads the length (`EFAULT`, `EINVAL` if negative), then stores at most that
/// much of the value and the length used.
pub fn sys_getsockopt(cur: &mut Current, fd: Fd, level: i32, opt: i32, val: UserAddr, ulen: UserAddr) -> KResult<usize> {
    let f = sockfd(cur, fd)?;
    if level != n::SOL_SOCKET && !is_inet(&f) {
        return Err(Errno::EOPNOTSUPP);
    }
    let len: i32 = cur.read_val(ulen)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let answer = if level == n::SOL_SOCKET { net::get_sol_socket(sock(&f)?, opt, len as usize)? } else { sock(&f)?.ops().getsockopt(level, opt, len as usize)? };
    let bytes = match answer {
        OptVal::Int(v) => v.to_ne_bytes().to_vec(),
        OptVal::Bytes(b) => b,
        OptVal::Range(need) => {
            cur.write_val(ulen, &(need as i32))?;
            return Err(Errno::ERANGE);
        }
    };
    let n = (len as usize).min(bytes.len());
    cur.write_bytes(val, &bytes[..n])?;
    cur.write_val(ulen, &(n as i32))?;
    Ok(0)
}
