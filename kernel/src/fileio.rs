//! Blocking I/O on files: fs's files never block (they answer `EAGAIN` and expose readiness
//! through their `Pollee`), so `read`/`write` on a pipe, tty or FIFO sleep here until the file
//! is ready, as Linux's `pipe_read`/`n_tty_read` sleep on their wait queues. Console reads pass
//! the tty's job-control checks first and may wake at the tty's `VTIME` deadline. Sockets are
//! handed to `net` (a read is a `recvmsg`, a write a `sendmsg`, with the socket's timeouts).

use crate::sched::{wait_until, Current};
use fs::{OpenFile, PollEvents};
use std::sync::Arc;
use uapi::flags::OpenFlags;
use uapi::{Errno, KResult};

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
        let info = uapi::signal::SigInfo::kill(uapi::signal::SIGPIPE, uapi::signal::SI_USER, cur.pid() as i32, 0);
        crate::signal::send_to_task(&cur.task, uapi::signal::SIGPIPE, info);
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
