//! `FileLike`: the open-file operations of things that are not plain inode data — pipes, ttys,
//! devices, generated proc files, sockets (Linux's `file_operations` for those, Kerla's
//! `FileLike`). They never block: an operation that would wait returns `EAGAIN` and the object
//! exposes readiness via [`FileLike::poll`] and its [`Pollee`].
//!
//! Sockets add [`FileLike::sendmsg`] and [`FileLike::recvmsg`] (Linux's `proto_ops`
//! `sendmsg`/`recvmsg`): a message is data plus an optional address, ancillary data (open files
//! for `SCM_RIGHTS`, credentials for `SCM_CREDENTIALS`) and `MSG_*` flags. They are the one
//! place a `FileLike` may sleep, and only through the [`SockTask`] the kernel passes in — the
//! task the call runs for, which knows its timeout (`SO_RCVTIMEO`, `O_NONBLOCK`,
//! `MSG_DONTWAIT`), its credentials and how it names files. A task that may not wait makes
//! every would-block answer `EAGAIN`, so the contract above still holds for such callers.

use std::any::Any;
use std::sync::Arc;

use uapi::net::{MsgFlags, UCred};
use uapi::{Errno, KResult};

use mm::{IoSink, IoSource};

use crate::inode::InodeAttr;
use crate::mount::Path;
use crate::open_file::OpenFile;
use crate::poll::{PollEvents, Pollee};

/// The most the default vectored `read_to`/`write_from` move through a kernel buffer at once.
const BOUNCE: usize = 1 << 20;

/// Guest memory as an ioctl sees it: `kernel` implements it over the task's address space, so
/// fs can copy ioctl structures without knowing how guest memory is reached.
pub trait UserMemory {
    /// Copies `buf.len()` bytes from guest address `addr` (`EFAULT` if unmapped).
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> KResult<()>;
    /// Copies `data` to guest address `addr` (`EFAULT` if unmapped or read-only).
    fn write(&mut self, addr: u64, data: &[u8]) -> KResult<()>;
}

/// A message given to a socket: what `sendmsg(2)` passes after the kernel checked and copied
/// it (Linux's kernel-side `struct msghdr` plus its `scm_cookie`).
pub struct SendMsg<'a> {
    /// The data, gathered from the caller's buffers (only the readable prefix if `fault`).
    pub data: &'a [u8],
    /// The caller's buffers stopped being readable after `data`: the socket reports `EFAULT`
    /// where Linux copies the data (after its own checks), unless it already sent some.
    pub fault: bool,
    /// The destination address exactly as given (`msg_name`, at most 128 bytes), if any.
    pub name: Option<&'a [u8]>,
    /// `SCM_RIGHTS`: the files to pass; the first piece of data sent takes them.
    pub rights: Vec<Arc<OpenFile>>,
    /// `SCM_CREDENTIALS` as given (already checked against the sender).
    pub creds: Option<UCred>,
    /// `MSG_*` (`MSG_DONTWAIT` also stands for `O_NONBLOCK`).
    pub flags: MsgFlags,
}

/// What a socket returns with the data of one `recvmsg(2)`.
#[derive(Default)]
pub struct RecvMsg {
    /// Asked for: the source address (`msg_name` was given).
    pub want_name: bool,
    /// The source address, when the sender had one.
    pub name: Option<Vec<u8>>,
    /// `SCM_RIGHTS`: the files received (the caller installs them as descriptors).
    pub rights: Vec<Arc<OpenFile>>,
    /// `SCM_CREDENTIALS` to deliver (the receiving socket has `SO_PASSCRED`).
    pub creds: Option<UCred>,
    /// Other control messages as (level, type, data), delivered first (`SCM_TIMESTAMP`...).
    pub cmsgs: Vec<(i32, i32, Vec<u8>)>,
    /// Flags to return in `msg_flags` (`MSG_TRUNC`, `MSG_EOR`, ...).
    pub flags: MsgFlags,
}

/// The task a socket operation runs for (Linux's `current` plus the operation's `timeo`):
/// who it is, how it names socket files, and how it sleeps. `kernel` implements it; a socket
/// never reaches the task any other way.
pub trait SockTask {
    /// The caller's process id and real user and group ids (what `SCM_CREDENTIALS` carries
    /// when the sender gives none).
    fn ucred(&self) -> UCred;
    /// The caller's process id and effective ids (what `SO_PEERCRED` records).
    fn peer_ucred(&self) -> UCred;
    /// The caller's supplementary groups (what `SO_PEERGROUPS` records).
    fn groups(&self) -> Vec<u32> {
        Vec::new()
    }
    /// Creates the socket file `path` (`mknod` with `S_IFSOCK`, mode `0777 & ~umask`) and
    /// returns where it is; `EEXIST` if the name exists.
    fn create_node(&mut self, path: &[u8]) -> KResult<Path>;
    /// Removes the name `path` again (after a bind that failed once the node existed).
    fn remove_node(&mut self, path: &[u8]);
    /// Looks `path` up, following symlinks, and checks the caller may write to it
    /// (`EACCES`): the file `connect`/`sendto` name.
    fn find_node(&mut self, path: &[u8]) -> KResult<Path>;
    /// True if [`SockTask::wait`] may sleep at all (the operation's timeout is not zero).
    fn can_wait(&self) -> bool;
    /// Sleeps until one of `pollees` signals one of `events`: `Ok` to re-check, `EAGAIN` when
    /// the task may not wait or its timeout passed, `ERESTARTSYS` (or `EINTR` under a socket
    /// timeout) when a signal arrives.
    fn wait(&mut self, pollees: &[&Pollee], events: PollEvents) -> KResult<()>;
    /// Sends the caller `SIGPIPE` (a stream write after the connection's end).
    fn sigpipe(&mut self);
}

/// An open non-regular file's operations.
pub trait FileLike: Send + Sync {
    /// Reads into `buf` at `offset` (ignored by unseekable files); `EAGAIN` if it would block.
    fn read(&self, buf: &mut [u8], offset: u64) -> KResult<usize>;
    /// Writes `data` at `offset` (ignored by unseekable files); `EAGAIN` if it would block.
    fn write(&self, data: &[u8], offset: u64) -> KResult<usize>;
    /// `read(2)`/`readv(2)` into `sink` — the caller's iovecs in guest memory, or a kernel
    /// buffer — at `offset`; `EAGAIN` if it would block, `EFAULT` if nothing could be stored.
    /// Files that can copy straight into guest RAM override it (pipes: Linux's `pipe_read`
    /// with `copy_page_to_iter`). The default is Linux's loop for files with only `->read`
    /// (`do_loop_readv_writev`): one [`FileLike::read`] per buffer through a kernel buffer,
    /// stopping after a short one.
    fn read_to(&self, sink: &mut dyn IoSink, offset: u64) -> KResult<usize> {
        let mut done = 0usize;
        while sink.avail() > 0 {
            let want = sink.segment().min(BOUNCE);
            let mut tmp = vec![0u8; want];
            let n = match self.read(&mut tmp, offset.saturating_add(done as u64)) {
                Ok(n) => n,
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            };
            let got = sink.write_slice(tmp.get(..n).ok_or(Errno::EIO)?);
            done += got;
            if got < n && done == 0 {
                return Err(Errno::EFAULT);
            }
            if got < want {
                break;
            }
        }
        Ok(done)
    }
    /// `write(2)`/`writev(2)` from `source` (guest iovecs or a kernel buffer) at `offset`,
    /// consuming what was written; `EAGAIN` if it would block, `EFAULT` if nothing could be
    /// read. The default is Linux's per-buffer loop, as for [`FileLike::read_to`]: one
    /// [`FileLike::write`] per iovec (at most 1 MiB each), stopping after a short one.
    fn write_from(&self, source: &mut dyn IoSource, offset: u64) -> KResult<usize> {
        let mut done = 0usize;
        while source.remain() > 0 {
            let want = source.segment().min(BOUNCE);
            let mut tmp = vec![0u8; want];
            let len = source.peek_slice(&mut tmp);
            if len == 0 {
                return if done > 0 { Ok(done) } else { Err(Errno::EFAULT) };
            }
            let n = match self.write(tmp.get(..len).ok_or(Errno::EIO)?, offset.saturating_add(done as u64)) {
                Ok(n) => n,
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            };
            source.skip(n);
            done += n;
            if n < want {
                break;
            }
        }
        Ok(done)
    }
    /// The events ready now.
    fn poll(&self) -> PollEvents {
        crate::poll::default_events()
    }
    /// The pollee waiters register with, if readiness can change.
    fn pollee(&self) -> Option<&Pollee> {
        None
    }
    /// A device-specific request (`ENOTTY` unless the file knows `cmd`).
    fn ioctl(&self, _cmd: u32, _arg: u64, _mem: &mut dyn UserMemory) -> KResult<usize> {
        Err(Errno::ENOTTY)
    }
    /// True if the file has a position (`lseek` works, reads advance it); false gives `ESPIPE`.
    fn seekable(&self) -> bool {
        false
    }
    /// The size `SEEK_END` measures from, for seekable files (default 0, as for devices).
    fn size(&self) -> u64 {
        0
    }
    /// Attributes for `fstat` when the file has no inode of its own (an anonymous pipe);
    /// `None` means "use the inode it was opened from".
    fn stat(&self) -> Option<InodeAttr> {
        None
    }
    /// `sendmsg(2)`: sends `msg` and returns the bytes sent (`ENOTSOCK` unless a socket).
    /// May sleep, but only through `task` (see [`SockTask::wait`]).
    fn sendmsg(&self, _msg: &mut SendMsg<'_>, _task: &mut dyn SockTask) -> KResult<usize> {
        Err(Errno::ENOTSOCK)
    }
    /// `recvmsg(2)`: receives into `buf`, filling `msg`, and returns the bytes received — with
    /// `MSG_TRUNC` asked, a datagram's full length, which may exceed `buf` (`ENOTSOCK` unless
    /// a socket). May sleep, but only through `task`.
    fn recvmsg(&self, _buf: &mut [u8], _msg: &mut RecvMsg, _flags: MsgFlags, _task: &mut dyn SockTask) -> KResult<usize> {
        Err(Errno::ENOTSOCK)
    }
    /// For downcasting (`kernel` finds its tty or pipe behind an fd).
    fn as_any(&self) -> &dyn Any;
}
