//! Moving data between descriptors without a trip through user memory (Linux's `fs/splice.c`
//! and the copy parts of `fs/read_write.c`): `splice` (one side a pipe), `tee` (pipe to pipe,
//! copying), `vmsplice` (user memory to or from a pipe), `sendfile` (a file to anything
//! writable) and `copy_file_range` (between regular files of one filesystem).
//!
//! As Linux: data spliced from a file into a pipe becomes buffers of its own (one per file page
//! piece) that later writes do not merge into; a splice from a pipe writes what is buffered
//! and returns without waiting for more; pipes block unless `SPLICE_F_NONBLOCK` or the pipe's
//! `O_NONBLOCK` say otherwise; `EPIPE` comes with `SIGPIPE`. Which files take part follows
//! Linux's `splice_read`/`splice_write`: regular files, devices and sockets do; ttys are
//! written but not read (umbra keeps console input line by line through `read`); files of
//! anonymous inodes (eventfd, timerfd, pidfd, epoll) do neither (`EINVAL`).

use std::sync::Arc;

use crate::fs_glue::{file, Fd};
use crate::pipe::{pipe_end, PipeEnd, PIPE_PAGE};
use crate::sched::{wait_until, Current};
use fs::abi::MAX_LFS_FILESIZE;
use fs::{FileLike, FileType, OpenFile, PollEvents, Pollee};
use uapi::flags::{OpenFlags, SPLICE_F_ALL, SPLICE_F_NONBLOCK};
use uapi::structs::{IoVec, UIO_MAXIOV};
use uapi::{Errno, KResult, UserAddr};

/// Linux's `MAX_RW_COUNT`: the most one read or write moves (`INT_MAX` rounded to a page).
pub const MAX_RW_COUNT: usize = 0x7fff_f000;
/// What one round of `sendfile`/`copy_file_range` moves (Linux's internal pipe: 16 pages).
const DIRECT_CHUNK: usize = 16 * PIPE_PAGE;

/// Sends the caller `SIGPIPE` and gives `EPIPE` (Linux's `send_sig(SIGPIPE, current, 0)`).
fn epipe(cur: &Current) -> Errno {
    let info = uapi::signal::SigInfo::kill(uapi::signal::SIGPIPE, uapi::signal::SI_USER, cur.pid() as i32, 0);
    crate::signal::send_to_task(&cur.task, uapi::signal::SIGPIPE, info);
    Errno::EPIPE
}

/// The type of the file behind `f`, `None` for an anonymous inode (no type bits).
fn file_type(f: &OpenFile) -> Option<FileType> {
    f.stat().ok().and_then(|a| FileType::from_mode(a.mode))
}

fn is_tty(f: &Arc<OpenFile>) -> bool {
    crate::fileio::is_console_file(f)
}

/// Linux's `f_op->splice_read` exists: regular files, devices, sockets (not ttys here).
fn can_splice_read(f: &Arc<OpenFile>) -> bool {
    !is_tty(f) && matches!(file_type(f), Some(FileType::Regular | FileType::CharDevice | FileType::Socket))
}

/// Linux's `f_op->splice_write` exists: regular files, devices, sockets and ttys.
fn can_splice_write(f: &Arc<OpenFile>) -> bool {
    is_tty(f) || matches!(file_type(f), Some(FileType::Regular | FileType::CharDevice | FileType::Socket))
}

/// True if `nonblock` (`SPLICE_F_NONBLOCK`) applies to `f` itself: only sockets honour it
/// (Linux's `sock_splice_read`/`splice_to_socket`); other files block by their own flags.
fn nonblocking_for(f: &OpenFile, nonblock: bool) -> bool {
    nonblock && file_type(f) == Some(FileType::Socket)
}

/// Reads from `f` at `pos` (files with a position) or from its stream (others: as `read(2)`
/// does, without waiting for a socket under `SPLICE_F_NONBLOCK`).
fn read_from(cur: &mut Current, f: &Arc<OpenFile>, pos: u64, buf: &mut [u8], nonblock: bool) -> KResult<usize> {
    if f.is_seekable() {
        f.pread(buf, pos as i64)
    } else if nonblocking_for(f, nonblock) {
        f.read(buf)
    } else {
        crate::fileio::read(cur, f, buf)
    }
}

/// Writes to `f` at `pos` (files with a position) or to its stream (others: as `write(2)`
/// does, without waiting for a socket under `SPLICE_F_NONBLOCK`).
fn write_to(cur: &mut Current, f: &Arc<OpenFile>, pos: u64, data: &[u8], nonblock: bool) -> KResult<usize> {
    if f.is_seekable() {
        f.pwrite(data, pos as i64)
    } else if nonblocking_for(f, nonblock) {
        f.write(data)
    } else {
        crate::fileio::write(cur, f, data)
    }
}

/// Linux's `rw_verify_area` for a signed offset: a length over `SSIZE_MAX`, a negative offset
/// or an end past `LLONG_MAX` is `EINVAL`.
fn verify_area(pos: i64, count: usize) -> KResult<u64> {
    let c = i64::try_from(count).map_err(|_| Errno::EINVAL)?;
    if pos < 0 || pos.checked_add(c).is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(pos as u64)
}

// ---------------------------------------------------------------------------------------------
// Waiting on pipes

/// What a wait on `pipe` registers with.
fn pollees(pipe: &PipeEnd) -> Vec<&Pollee> {
    FileLike::pollee(pipe).into_iter().collect()
}

/// Linux's `wait_for_space`: the free buffers of `pipe` once there is one; `EPIPE` (with
/// SIGPIPE) without readers, `EAGAIN` if full and `nonblock`.
fn wait_for_space(cur: &mut Current, pipe: &PipeEnd, nonblock: bool) -> KResult<usize> {
    let pollees = pollees(pipe);
    let r = wait_until(cur, &pollees, PollEvents::POLLOUT, None, |_| match pipe.splice_space() {
        Ok(0) if nonblock => Some(Err(Errno::EAGAIN)),
        Ok(0) => None,
        r => Some(r),
    });
    match r {
        Err(Errno::EPIPE) => Err(epipe(cur)),
        r => r,
    }
}

/// Linux's `ipipe_prep`: waits until `pipe` holds data or has no writer left.
fn wait_for_input(cur: &mut Current, pipe: &PipeEnd, nonblock: bool) -> KResult<()> {
    let pollees = pollees(pipe);
    wait_until(cur, &pollees, PollEvents::POLLIN, None, |_| {
        if !pipe.is_empty() || !pipe.has_writers() {
            Some(Ok(()))
        } else if nonblock {
            Some(Err(Errno::EAGAIN))
        } else {
            None
        }
    })
}

/// Linux's `opipe_prep`: waits until `pipe` has a free buffer; `EPIPE` (with SIGPIPE) once no
/// reader is left.
fn wait_for_room(cur: &mut Current, pipe: &PipeEnd, nonblock: bool) -> KResult<()> {
    let pollees = pollees(pipe);
    let r = wait_until(cur, &pollees, PollEvents::POLLOUT, None, |_| {
        if !pipe.is_full() {
            Some(Ok(()))
        } else if !pipe.has_readers() {
            Some(Err(Errno::EPIPE))
        } else if nonblock {
            Some(Err(Errno::EAGAIN))
        } else {
            None
        }
    });
    match r {
        Err(Errno::EPIPE) => Err(epipe(cur)),
        r => r,
    }
}

/// Waits until `pipe` holds data; `Ok(false)` when it is empty for good (no writer) or when
/// something was already passed on (`done`), as Linux's `splice_from_pipe_next`.
fn wait_for_data(cur: &mut Current, pipe: &PipeEnd, nonblock: bool, done: bool) -> KResult<bool> {
    let pollees = pollees(pipe);
    wait_until(cur, &pollees, PollEvents::POLLIN, None, |_| {
        if !pipe.is_empty() {
            Some(Ok(true))
        } else if !pipe.has_writers() || done {
            Some(Ok(false))
        } else if nonblock {
            Some(Err(Errno::EAGAIN))
        } else {
            None
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The three directions

/// Linux's `splice_file_to_pipe`: reads up to `len` bytes of `input` at `*pos` into `out` as
/// buffers of their own (split where the file's pages end), once `out` has room. Advances
/// `*pos` by what went in.
fn file_to_pipe(cur: &mut Current, input: &Arc<OpenFile>, out: &PipeEnd, pos: &mut u64, len: usize, nonblock: bool) -> KResult<usize> {
    let free = wait_for_space(cur, out, nonblock)?;
    if len == 0 {
        return Ok(0);
    }
    if !can_splice_read(input) {
        return Err(Errno::EINVAL);
    }
    let len = len.min(free * PIPE_PAGE).min(MAX_RW_COUNT);
    let mut buf = vec![0u8; len];
    let n = read_from(cur, input, *pos, &mut buf, nonblock)?;
    let first = if input.is_seekable() { PIPE_PAGE - (*pos as usize % PIPE_PAGE) } else { PIPE_PAGE };
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < n {
        let k = if at == 0 { first } else { PIPE_PAGE }.min(n - at);
        pieces.push(&buf[at..at + k]);
        at += k;
    }
    let put = match out.push_pieces(&pieces) {
        Err(Errno::EPIPE) => return Err(epipe(cur)),
        r => r?,
    };
    *pos += put as u64;
    Ok(put)
}

/// Linux's `iter_file_splice_write`: writes what `input` holds (up to `len` bytes, waiting
/// only while it is empty and nothing was written yet) to `out` at `*pos`, consuming what
/// was written. 0 once the pipe is empty with no writer left.
fn pipe_to_file(cur: &mut Current, input: &PipeEnd, out: &Arc<OpenFile>, pos: &mut u64, len: usize, nonblock: bool) -> KResult<usize> {
    if !can_splice_write(out) {
        return Err(Errno::EINVAL);
    }
    let mut done = 0usize;
    while done < len {
        match wait_for_data(cur, input, nonblock, done > 0) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        let data = input.peek(len - done);
        let n = match write_to(cur, out, *pos, &data, nonblock) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        input.consume(n);
        done += n;
        *pos += n as u64;
        if n == 0 {
            break;
        }
    }
    Ok(done)
}

/// Linux's `splice_pipe_to_pipe`: moves up to `len` bytes of buffers from `input` to `out`,
/// once `input` has data and `out` room; 0 when `input` is empty with no writer left.
fn pipe_to_pipe(cur: &mut Current, input: &PipeEnd, out: &PipeEnd, len: usize, nonblock: bool) -> KResult<usize> {
    wait_for_input(cur, input, nonblock)?;
    wait_for_room(cur, out, nonblock)?;
    if !out.has_readers() {
        return Err(epipe(cur));
    }
    if input.is_empty() {
        return Ok(0);
    }
    match input.move_into(out, len) {
        Err(Errno::EPIPE) => Err(epipe(cur)),
        r => r,
    }
}

// ---------------------------------------------------------------------------------------------
// splice, tee, vmsplice

/// Reads a `loff_t` argument (`EFAULT`).
fn read_off(cur: &mut Current, p: UserAddr) -> KResult<i64> {
    cur.read_val::<i64>(p)
}

/// `splice(2)` (Linux's `__do_splice` + `do_splice`): one of the two files must be a pipe
/// (`EINVAL` otherwise, or for a pipe spliced to itself); a pipe's offset must be NULL
/// (`ESPIPE`); a file offset is read from and written back to `off_*` (else the file
/// position moves). `EBADF` for a side opened the wrong way, `EINVAL` for `O_APPEND` output,
/// an unknown flag or a negative offset. A zero length returns 0 before any check.
pub fn splice(cur: &mut Current, fd_in: Fd, off_in: UserAddr, fd_out: Fd, off_out: UserAddr, len: usize, flags: u32) -> KResult<usize> {
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let input = file(cur, fd_in)?;
    let output = file(cur, fd_out)?;
    let (ipipe, opipe) = (pipe_end(&input).is_some(), pipe_end(&output).is_some());
    if (ipipe && !off_in.is_null()) || (opipe && !off_out.is_null()) {
        return Err(Errno::ESPIPE);
    }
    let oin = if off_in.is_null() { None } else { Some(read_off(cur, off_in)?) };
    let oout = if off_out.is_null() { None } else { Some(read_off(cur, off_out)?) };
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    if !input.flags().can_read() || !output.flags().can_write() {
        return Err(Errno::EBADF);
    }
    match (pipe_end(&input), pipe_end(&output)) {
        (Some(i), Some(o)) => {
            if i.same_pipe(o) {
                return Err(Errno::EINVAL);
            }
            let nb = nonblock || input.nonblocking() || output.nonblocking();
            pipe_to_pipe(cur, i, o, len, nb)
        }
        (Some(i), None) => {
            if oout.is_some() && !output.is_seekable() {
                return Err(Errno::EINVAL);
            }
            let start = oout.unwrap_or(output.offset() as i64);
            if output.flags().contains(OpenFlags::APPEND) {
                return Err(Errno::EINVAL);
            }
            let mut pos = verify_area(start, len)?;
            let r = pipe_to_file(cur, i, &output, &mut pos, len, nonblock || input.nonblocking());
            store_pos(cur, &output, off_out, pos)?;
            r
        }
        (None, Some(o)) => {
            if oin.is_some() && !input.is_seekable() {
                return Err(Errno::EINVAL);
            }
            let start = oin.unwrap_or(input.offset() as i64);
            let mut pos = verify_area(start, len)?;
            let r = file_to_pipe(cur, &input, o, &mut pos, len, nonblock || output.nonblocking());
            store_pos(cur, &input, off_in, pos)?;
            r
        }
        (None, None) => Err(Errno::EINVAL),
    }
}

/// Where a splice leaves a file's offset: in `*off` if the caller gave one, else as the
/// file's position.
fn store_pos(cur: &mut Current, f: &OpenFile, off: UserAddr, pos: u64) -> KResult<()> {
    if off.is_null() {
        if f.is_seekable() {
            f.set_offset(pos);
        }
        Ok(())
    } else {
        cur.write_val(off, &(pos as i64))
    }
}

/// `tee(2)` (Linux's `do_tee`): copies up to `len` bytes from pipe `fd_in` to pipe `fd_out`
/// without consuming them. `EINVAL` for an unknown flag, a non-pipe or one pipe on both
/// sides; `EBADF` for a side opened the wrong way; a zero length returns 0.
pub fn tee(cur: &mut Current, fd_in: Fd, fd_out: Fd, len: usize, flags: u32) -> KResult<usize> {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let input = file(cur, fd_in)?;
    let output = file(cur, fd_out)?;
    if !input.flags().can_read() || !output.flags().can_write() {
        return Err(Errno::EBADF);
    }
    let (Some(i), Some(o)) = (pipe_end(&input), pipe_end(&output)) else { return Err(Errno::EINVAL) };
    if i.same_pipe(o) {
        return Err(Errno::EINVAL);
    }
    let nb = flags & SPLICE_F_NONBLOCK != 0 || input.nonblocking() || output.nonblocking();
    wait_for_input(cur, i, nb)?;
    wait_for_room(cur, o, nb)?;
    match i.copy_into(o, len) {
        Err(Errno::EPIPE) => Err(epipe(cur)),
        r => r,
    }
}

/// Reads `vmsplice`'s iovec array (Linux's `import_iovec`): `EINVAL` past `UIO_MAXIOV`
/// entries or for a length over `SSIZE_MAX`, `EFAULT` if unreadable; the total is cut to
/// `MAX_RW_COUNT`.
fn read_iovecs(cur: &mut Current, iov: UserAddr, n: u64) -> KResult<Vec<IoVec>> {
    let n = usize::try_from(n).ok().filter(|&n| n <= UIO_MAXIOV).ok_or(Errno::EINVAL)?;
    let mut v = vec![IoVec::default(); n];
    if n > 0 {
        cur.read_bytes(iov, bytemuck::cast_slice_mut(&mut v))?;
    }
    let mut total = 0u64;
    for seg in v.iter_mut() {
        if seg.iov_len > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        seg.iov_len = seg.iov_len.min(MAX_RW_COUNT as u64 - total);
        total += seg.iov_len;
    }
    Ok(v)
}

/// `vmsplice(2)`: for a pipe open for writing, adds the user memory described by `iov` as
/// buffers (one per user page piece; as many as fit, waiting for one free buffer unless
/// `SPLICE_F_NONBLOCK`); for a pipe open for reading, moves buffered data to that memory
/// (waiting for data unless `SPLICE_F_NONBLOCK`, 0 at end of file). The pipe's own
/// `O_NONBLOCK` does not count, as in Linux. `EBADF` for a non-pipe.
pub fn vmsplice(cur: &mut Current, fd: Fd, iov: UserAddr, nr_segs: u64, flags: u32) -> KResult<usize> {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let f = file(cur, fd)?;
    let to_pipe = f.flags().can_write();
    if !to_pipe && !f.flags().can_read() {
        return Err(Errno::EBADF);
    }
    let segs = read_iovecs(cur, iov, nr_segs)?;
    if segs.iter().all(|s| s.iov_len == 0) {
        return Ok(0);
    }
    let pipe = pipe_end(&f).ok_or(Errno::EBADF)?;
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    if to_pipe {
        user_to_pipe(cur, pipe, &segs, nonblock)
    } else {
        pipe_to_user(cur, pipe, &segs, nonblock)
    }
}

/// The user page pieces of `segs`: (address, length) split where user pages end.
fn user_pieces(segs: &[IoVec]) -> impl Iterator<Item = (u64, usize)> + '_ {
    segs.iter().filter(|s| s.iov_len > 0).flat_map(|s| {
        let end = s.iov_base.saturating_add(s.iov_len);
        let mut a = s.iov_base;
        std::iter::from_fn(move || {
            if a >= end {
                return None;
            }
            let page_end = (a | (PIPE_PAGE as u64 - 1)).saturating_add(1);
            let n = page_end.min(end) - a;
            let piece = (a, n as usize);
            a += n;
            Some(piece)
        })
    })
}

/// Linux's `vmsplice_to_pipe` + `iter_to_pipe`.
fn user_to_pipe(cur: &mut Current, pipe: &PipeEnd, segs: &[IoVec], nonblock: bool) -> KResult<usize> {
    let free = wait_for_space(cur, pipe, nonblock)?;
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    for (addr, n) in user_pieces(segs).take(free) {
        let mut buf = vec![0u8; n];
        if cur.read_bytes(UserAddr(addr), &mut buf).is_err() {
            if pieces.is_empty() {
                return Err(Errno::EFAULT);
            }
            break;
        }
        pieces.push(buf);
    }
    let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    match pipe.push_pieces(&refs) {
        Err(Errno::EPIPE) => Err(epipe(cur)),
        r => r,
    }
}

/// Linux's `vmsplice_to_user`: fills the user memory from the pipe's buffers.
fn pipe_to_user(cur: &mut Current, pipe: &PipeEnd, segs: &[IoVec], nonblock: bool) -> KResult<usize> {
    if !wait_for_data(cur, pipe, nonblock, false)? {
        return Ok(0);
    }
    let total: u64 = segs.iter().map(|s| s.iov_len).sum();
    let data = pipe.peek(usize::try_from(total).unwrap_or(usize::MAX));
    let mut done = 0usize;
    for s in segs {
        if done >= data.len() {
            break;
        }
        let n = (s.iov_len as usize).min(data.len() - done);
        if cur.write_bytes(UserAddr(s.iov_base), &data[done..done + n]).is_err() {
            if done == 0 {
                return Err(Errno::EFAULT);
            }
            break;
        }
        done += n;
    }
    pipe.consume(done);
    Ok(done)
}

// ---------------------------------------------------------------------------------------------
// sendfile, copy_file_range

/// Linux's `splice_direct_to_actor` with `direct_splice_actor`: copies up to `len` bytes of
/// `input` at `*pos` to `output` at `*opos` in rounds of 64 KiB, stopping at end of file or
/// at a short write. `EBADF`/`EINVAL` for an output that is not writable or is `O_APPEND`;
/// `EINVAL` for an input that cannot be spliced from, or (once data came) an output that
/// cannot be spliced to.
fn splice_direct(cur: &mut Current, input: &Arc<OpenFile>, pos: &mut u64, output: &Arc<OpenFile>, opos: &mut u64, len: usize) -> KResult<usize> {
    if !output.flags().can_write() {
        return Err(Errno::EBADF);
    }
    if output.flags().contains(OpenFlags::APPEND) {
        return Err(Errno::EINVAL);
    }
    if !input.flags().can_read() {
        return Err(Errno::EBADF);
    }
    if len == 0 {
        return Ok(0);
    }
    if !can_splice_read(input) {
        return Err(Errno::EINVAL);
    }
    let mut done = 0usize;
    let mut buf = vec![0u8; len.min(DIRECT_CHUNK)];
    while done < len {
        let want = (len - done).min(buf.len());
        let n = match read_from(cur, input, *pos, &mut buf[..want], false) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let w = if can_splice_write(output) { write_to(cur, output, *opos, &buf[..n], false) } else { Err(Errno::EINVAL) };
        let w = match w {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        *pos += w as u64;
        *opos += w as u64;
        if w < n {
            break;
        }
    }
    Ok(done)
}

/// `sendfile(2)` (Linux's `do_sendfile`): copies up to `count` bytes from `in_fd` (at
/// `*offset`, written back even on failure, or at its position) to `out_fd` — a pipe as
/// `splice` does, anything else writable through [`splice_direct`]. `EBADF` for a side opened
/// the wrong way, `ESPIPE` for an offset on an unseekable input, `EINVAL` for a negative
/// offset, a count over `SSIZE_MAX`, `O_APPEND` output or an input that cannot be spliced.
pub fn sendfile(cur: &mut Current, out_fd: Fd, in_fd: Fd, offset: UserAddr, count: usize) -> KResult<usize> {
    if offset.is_null() {
        return do_sendfile(cur, out_fd, in_fd, None, count);
    }
    let mut pos = read_off(cur, offset)?;
    let r = do_sendfile(cur, out_fd, in_fd, Some(&mut pos), count);
    cur.write_val(offset, &pos)?;
    r
}

fn do_sendfile(cur: &mut Current, out_fd: Fd, in_fd: Fd, ppos: Option<&mut i64>, count: usize) -> KResult<usize> {
    let input = file(cur, in_fd)?;
    if !input.flags().can_read() {
        return Err(Errno::EBADF);
    }
    if ppos.is_some() && !input.is_seekable() {
        return Err(Errno::ESPIPE);
    }
    let start = ppos.as_deref().copied().unwrap_or(input.offset() as i64);
    let mut pos = verify_area(start, count)?;
    let mut count = count.min(MAX_RW_COUNT);
    let output = file(cur, out_fd)?;
    if !output.flags().can_write() {
        return Err(Errno::EBADF);
    }
    if pos.saturating_add(count as u64) > MAX_LFS_FILESIZE {
        if pos >= MAX_LFS_FILESIZE {
            return Err(Errno::EOVERFLOW);
        }
        count = (MAX_LFS_FILESIZE - pos) as usize;
    }
    let r = match pipe_end(&output) {
        Some(o) => file_to_pipe(cur, &input, o, &mut pos, count, output.nonblocking()),
        None => {
            let mut opos = output.offset();
            let r = splice_direct(cur, &input, &mut pos, &output, &mut opos, count);
            if r.as_ref().is_ok_and(|n| *n > 0) && output.is_seekable() {
                output.set_offset(opos);
            }
            r
        }
    };
    if r.as_ref().is_ok_and(|n| *n > 0) {
        match ppos {
            Some(p) => *p = pos as i64,
            None => input.set_offset(pos),
        }
    }
    r
}

/// `copy_file_range(2)` (Linux's `vfs_copy_file_range` with its `generic_copy_file_checks`):
/// copies between regular files of one filesystem (`EXDEV` across filesystems), reading and
/// writing back `off_*` when given, else moving the file positions. `EINVAL` for flags, non-
/// regular files, overlapping ranges of one file or negative offsets; `EISDIR` for a
/// directory; `EBADF` for a side opened the wrong way or `O_APPEND` output; `EOVERFLOW` when
/// an offset plus the length wraps. The length is cut at the input's end.
pub fn copy_file_range(cur: &mut Current, fd_in: Fd, off_in: UserAddr, fd_out: Fd, off_out: UserAddr, len: usize, flags: u32) -> KResult<usize> {
    let input = file(cur, fd_in)?;
    let output = file(cur, fd_out)?;
    let pos_in = if off_in.is_null() { input.offset() as i64 } else { read_off(cur, off_in)? };
    let pos_out = if off_out.is_null() { output.offset() as i64 } else { read_off(cur, off_out)? };
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (mut pi, mut po) = (pos_in as u64, pos_out as u64);
    let n = copy_checked(cur, &input, &mut pi, &output, &mut po, len)?;
    if n > 0 {
        store_pos(cur, &input, off_in, pi)?;
        store_pos(cur, &output, off_out, po)?;
    }
    Ok(n)
}

/// The checks of `generic_copy_file_checks` and `rw_verify_area`, then the copy.
fn copy_checked(cur: &mut Current, input: &Arc<OpenFile>, pos_in: &mut u64, output: &Arc<OpenFile>, pos_out: &mut u64, len: usize) -> KResult<usize> {
    let (a_in, a_out) = (input.stat()?, output.stat()?);
    let (t_in, t_out) = (FileType::from_mode(a_in.mode), FileType::from_mode(a_out.mode));
    if t_in == Some(FileType::Directory) || t_out == Some(FileType::Directory) {
        return Err(Errno::EISDIR);
    }
    let regular = |f: &OpenFile, t| t == Some(FileType::Regular) && f.inode().is_some() && f.file_like().is_none();
    if !regular(input, t_in) || !regular(output, t_out) {
        return Err(Errno::EINVAL);
    }
    if !input.flags().can_read() || !output.flags().can_write() || output.flags().contains(OpenFlags::APPEND) {
        return Err(Errno::EBADF);
    }
    let (Some(i_in), Some(i_out)) = (input.inode(), output.inode()) else { return Err(Errno::EINVAL) };
    let same_sb = match (i_in.fs(), i_out.fs()) {
        (Some(a), Some(b)) => std::ptr::addr_eq(Arc::as_ptr(&a), Arc::as_ptr(&b)),
        _ => false,
    };
    if !same_sb {
        return Err(Errno::EXDEV);
    }
    let count = len as u64;
    if pos_in.checked_add(count).is_none() || pos_out.checked_add(count).is_none() {
        return Err(Errno::EOVERFLOW);
    }
    let (si, so) = (*pos_in as i64, *pos_out as i64);
    let mut count = if si >= a_in.size as i64 { 0 } else { count.min(a_in.size.wrapping_sub(*pos_in)) };
    if so >= MAX_LFS_FILESIZE as i64 {
        return Err(Errno::EFBIG);
    }
    count = count.min((MAX_LFS_FILESIZE as i64).wrapping_sub(so) as u64);
    let c = count as i64;
    if fs::inode::same_inode(i_in, i_out) && so.wrapping_add(c) > si && so < si.wrapping_add(c) {
        return Err(Errno::EINVAL);
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    verify_area(si, count)?;
    verify_area(so, count)?;
    splice_direct(cur, input, pos_in, output, pos_out, count.min(MAX_RW_COUNT))
}
