//! Blocking I/O on files: fs's files never block (they answer `EAGAIN` and expose readiness
//! through their `Pollee`), so `read`/`write` on a pipe, tty or FIFO sleep here until the file
//! is ready, as Linux's `pipe_read`/`n_tty_read` sleep on their wait queues. Console reads pass
//! the tty's job-control checks first and may wake at the tty's `VTIME` deadline. Sockets are
//! handed to `net` (a read is a `recvmsg`, a write a `sendmsg`, with the socket's timeouts).
//!
//! [`read_user`] and [`write_user`] move data between a file and the caller's iovecs as one
//! operation with no kernel buffer between (Linux's `vfs_readv` handing an `iov_iter` to
//! `read_iter`): a pipe copies from its pages straight into guest RAM, a `readv` of a pipe
//! fills every buffer from what is there without blocking again, and one `writev` of up to
//! `PIPE_BUF` bytes lands in the pipe as one piece. Each attempt takes the address space's lock
//! for the copy and drops it before sleeping. Terminals keep the kernel-buffer path ([`read`],
//! [`write`]): their job-control checks, `VTIME` deadlines and console input pump live there.

use crate::sched::{wait_until, Current};
use fs::{OpenFile, PollEvents};
use mm::{UserIovReader, UserIovWriter};
use std::sync::Arc;
use uapi::flags::OpenFlags;
use uapi::structs::IoVec;
use uapi::{Errno, KResult, UserAddr};

/// The most a terminal read or write moves through a kernel buffer at once.
const TTY_CHUNK: usize = 1 << 20;

/// True if `file` is a terminal the kernel-buffer path must serve (console, pty slave).
fn is_terminal(file: &Arc<OpenFile>) -> bool {
    crate::tty_glue::tty_of(file).is_some() || crate::console::is_console_file(file)
}

/// One non-blocking read of `file` into the guest buffers `iovs` (at `pos` for `preadv`).
fn read_once(cur: &mut Current, file: &OpenFile, iovs: &[IoVec], pos: Option<i64>) -> KResult<usize> {
    let mm = cur.mm();
    file.read_sink(&mut UserIovWriter::new(&*mm, iovs), pos)
}

/// One non-blocking write to `file` from the guest buffers `iovs`, skipping the first `done`
/// bytes (already written by an earlier attempt).
fn write_once(cur: &mut Current, file: &OpenFile, iovs: &[IoVec], done: usize, pos: Option<i64>) -> KResult<usize> {
    let mm = cur.mm();
    let mut source = UserIovReader::new(&*mm, iovs);
    mm::IoSource::skip(&mut source, done);
    file.write_source(&mut source, pos)
}

/// `read(2)`/`readv(2)` (`preadv` with `pos`) of a non-socket file into guest buffers,
/// sleeping while it would block (unless `O_NONBLOCK`). Returns what the one successful
/// attempt moved, as Linux's `pipe_read` returns what was there when it woke.
pub fn read_user(cur: &mut Current, file: &Arc<OpenFile>, iovs: &[IoVec], pos: Option<i64>) -> KResult<usize> {
    if pos.is_some() && !file.is_seekable() {
        return Err(Errno::ESPIPE);
    }
    if is_terminal(file) {
        return read_terminal(cur, file, iovs);
    }
    let nonblock = file.flags().contains(OpenFlags::NONBLOCK) || pos.is_some();
    let attempt = |cur: &mut Current| read_once(cur, file, iovs, pos);
    if nonblock {
        return attempt(cur);
    }
    retry_until_done(cur, file, PollEvents::POLLIN, attempt)
}

/// Runs `attempt` until it no longer says `EAGAIN`, sleeping in between until the file's
/// pollee reports one of `events` (or an error/hang-up) or a signal arrives (`ERESTARTSYS`),
/// as Linux's `wait_event_interruptible` re-checks the real condition. The attempt itself is
/// the condition: a file can be "ready" by `poll` and still refuse this particular operation
/// (an eventfd with room for a small value but not for the 2^64-2 being written), and must
/// then sleep, not spin.
fn retry_until_done<T>(
    cur: &mut Current,
    file: &Arc<OpenFile>,
    events: PollEvents,
    mut attempt: impl FnMut(&mut Current) -> KResult<T>,
) -> KResult<T> {
    let Some(pollee) = file.pollee() else { return attempt(cur) };
    let wanted = events | PollEvents::POLLERR | PollEvents::POLLHUP;
    wait_until(cur, &[pollee], wanted, None, |cur| match attempt(cur) {
        Err(Errno::EAGAIN) => None,
        r => Some(r),
    })
}

/// A terminal read through the kernel buffer path, copied out to the guest buffers in order.
fn read_terminal(cur: &mut Current, file: &Arc<OpenFile>, iovs: &[IoVec]) -> KResult<usize> {
    let total = iovs.iter().fold(0usize, |a, v| a.saturating_add(v.iov_len as usize));
    let mut tmp = vec![0u8; total.min(TTY_CHUNK)];
    let n = read(cur, file, &mut tmp)?;
    let mut done = 0usize;
    for v in iovs {
        if done >= n {
            break;
        }
        let take = (n - done).min(v.iov_len as usize);
        cur.write_bytes(UserAddr(v.iov_base), &tmp[done..done + take])?;
        done += take;
    }
    Ok(n)
}

/// `write(2)`/`writev(2)` (`pwritev` with `pos`) of a non-socket file from guest buffers.
/// A pipe (or pty master) takes everything, sleeping while full (unless `O_NONBLOCK`, which
/// writes what fits), as Linux's `pipe_write`; other files take what one call takes, sleeping
/// only while it would block. A signal after some bytes went through returns the
/// partial count; a pipe with no reader gives `EPIPE` and `SIGPIPE` (the count if some bytes
/// were written before the last reader left).
pub fn write_user(cur: &mut Current, file: &Arc<OpenFile>, iovs: &[IoVec], pos: Option<i64>) -> KResult<usize> {
    if pos.is_some() && !file.is_seekable() {
        return Err(Errno::ESPIPE);
    }
    if is_terminal(file) {
        return write_terminal(cur, file, iovs);
    }
    let total = iovs.iter().fold(0usize, |a, v| a.saturating_add(v.iov_len as usize));
    let can_block = !file.flags().contains(OpenFlags::NONBLOCK) && pos.is_none() && file.pollee().is_some();
    // Only pipes and pty masters write "everything, sleeping while full"; any other file takes
    // what one call takes (an eventfd 8 bytes of a 16-byte write), as Linux's one `->write`.
    let whole = crate::pipe::is_pipe(file) || crate::tty_glue::pty_master_of(file).is_some();
    let mut done = 0usize;
    loop {
        let attempt = |cur: &mut Current| write_once(cur, file, iovs, done, pos);
        let r = if can_block { retry_until_done(cur, file, PollEvents::POLLOUT, attempt) } else { attempt(cur) };
        match r {
            Ok(0) => return Ok(done),
            Ok(n) => {
                done = done.saturating_add(n);
                if done >= total || pos.is_some() || !whole {
                    return Ok(done);
                }
            }
            Err(Errno::EPIPE) => {
                send_sigpipe(cur);
                return if done > 0 { Ok(done) } else { Err(Errno::EPIPE) };
            }
            Err(_) if done > 0 => return Ok(done),
            Err(e) => return Err(e),
        }
    }
}

/// A terminal write through the kernel buffer path: the buffers gathered (a chunk at a time),
/// so one `writev` stays one write to the line discipline.
fn write_terminal(cur: &mut Current, file: &Arc<OpenFile>, iovs: &[IoVec]) -> KResult<usize> {
    let mut data = Vec::new();
    let mut done = 0usize;
    for v in iovs {
        let mut off = 0u64;
        while off < v.iov_len {
            let take = (v.iov_len - off).min((TTY_CHUNK - data.len()) as u64) as usize;
            let start = data.len();
            data.resize(start + take, 0);
            if let Err(e) = cur.read_bytes(UserAddr(v.iov_base + off), &mut data[start..]) {
                data.truncate(start);
                return flush_terminal(cur, file, &data, done).and_then(|d| if d > 0 { Ok(d) } else { Err(e) });
            }
            off += take as u64;
            if data.len() == TTY_CHUNK {
                let n = write(cur, file, &data)?;
                done += n;
                if n < data.len() {
                    return Ok(done);
                }
                data.clear();
            }
        }
    }
    flush_terminal(cur, file, &data, done)
}

/// Writes the last gathered piece of a terminal write; returns the total written.
fn flush_terminal(cur: &mut Current, file: &Arc<OpenFile>, data: &[u8], done: usize) -> KResult<usize> {
    if data.is_empty() {
        return Ok(done);
    }
    match write(cur, file, data) {
        Ok(n) => Ok(done + n),
        Err(_) if done > 0 => Ok(done),
        Err(e) => Err(e),
    }
}

fn send_sigpipe(cur: &Current) {
    let info = uapi::signal::SigInfo::kill(uapi::signal::SIGPIPE, uapi::signal::SI_USER, cur.pid() as i32, 0);
    crate::signal::send_to_task(&cur.task, uapi::signal::SIGPIPE, info);
}

/// Reads from `file`, sleeping while it would block (unless `O_NONBLOCK`).
pub fn read(cur: &mut Current, file: &Arc<OpenFile>, buf: &mut [u8]) -> KResult<usize> {
    if let Some(sock) = crate::net::socket_of(file) {
        return crate::net::read(cur, file, sock, buf);
    }
    crate::tty_glue::check_read(cur, file)?;
    let console = is_console_file(file);
    if console {
        crate::tty_glue::pump_input();
    }
    match file.read(buf) {
        Err(Errno::EAGAIN) if !file.flags().contains(OpenFlags::NONBLOCK) => {}
        Err(Errno::EAGAIN) => {
            crate::tty_glue::read_abandoned(file);
            return crate::tty_glue::read_nonblocking(file, buf).unwrap_or(Err(Errno::EAGAIN));
        }
        r => return r,
    }
    let Some(pollee) = file.pollee() else { return file.read(buf) };
    let r = loop {
        let deadline = crate::tty_glue::read_deadline(file);
        let r = wait_until(cur, &[pollee], PollEvents::POLLIN, deadline, |_| match file.read(buf) {
            Err(Errno::EAGAIN) => None,
            r => Some(r),
        });
        if r != Err(Errno::ETIMEDOUT) {
            break r;
        }
    };
    if r.is_err() {
        crate::tty_glue::read_abandoned(file);
    }
    r
}

/// True for the console (its input comes from the host's stdin).
pub fn is_console_file(file: &Arc<OpenFile>) -> bool {
    crate::tty_glue::is_console(file) || crate::console::is_console_file(file)
}

/// Writes all of `data` to `file`, sleeping while it would block (unless `O_NONBLOCK`), as
/// Linux's pipe and tty writes do: a partial count is returned only when a signal interrupts
/// after some bytes went through. `EPIPE` also sends SIGPIPE (Linux's pipe write does).
pub fn write(cur: &mut Current, file: &Arc<OpenFile>, data: &[u8]) -> KResult<usize> {
    if let Some(sock) = crate::net::socket_of(file) {
        return crate::net::write(cur, file, sock, data);
    }
    crate::tty_glue::check_write(cur, file)?;
    let r = write_blocking(cur, file, data);
    if r == Err(Errno::EPIPE) {
        send_sigpipe(cur);
    }
    r
}

fn write_blocking(cur: &mut Current, file: &Arc<OpenFile>, data: &[u8]) -> KResult<usize> {
    let nonblock = file.flags().contains(OpenFlags::NONBLOCK);
    let mut done = 0usize;
    loop {
        let rest = data.get(done..).unwrap_or_default();
        match file.write(rest) {
            Ok(n) => {
                done = done.saturating_add(n);
                if done >= data.len() || nonblock || n == 0 || file.pollee().is_none() {
                    return Ok(done);
                }
            }
            Err(Errno::EAGAIN) if !nonblock && file.pollee().is_some() => {}
            Err(e) if done > 0 && e != Errno::EPIPE => return Ok(done),
            Err(e) => return Err(e),
        }
        let Some(p) = file.pollee() else { return Ok(done) };
        let rest = data.get(done..).unwrap_or_default();
        match wait_until(cur, &[p], PollEvents::POLLOUT, None, |_| match file.write(rest) {
            Err(Errno::EAGAIN) => None,
            r => Some(r),
        }) {
            Ok(n) => {
                done = done.saturating_add(n);
                if done >= data.len() {
                    return Ok(done);
                }
            }
            Err(_) if done > 0 => return Ok(done),
            Err(e) => return Err(e),
        }
    }
}
