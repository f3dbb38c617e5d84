//! More I/O syscalls: `sendfile`, `select`/`pselect6`, `ppoll`, `close_range`, advice calls.

use super::args::{Fd, OffPtr};
use crate::sched::Current;
use crate::fs_glue::file;
use uapi::structs::{PollFd, Timespec, Timeval};
use uapi::{Errno, KResult, UserAddr};

/// `sendfile(2)`: see `crate::splice::sendfile` (Linux's `do_sendfile`).
pub fn sys_sendfile(cur: &mut Current, out_fd: Fd, in_fd: Fd, offset: OffPtr, count: usize) -> KResult<usize> {
    crate::splice::sendfile(cur, out_fd, in_fd, offset.0, count)
}

/// Converts an fd_set bitmap (of `nfds` bits) to pollfds with `events`.
fn fdset_to_pollfds(bits: &[u64], nfds: usize, events: i16, out: &mut Vec<PollFd>) {
    for fd in 0..nfds {
        if bits.get(fd / 64).is_some_and(|w| w & (1 << (fd % 64)) != 0) {
            match out.iter_mut().find(|p| p.fd == fd as i32) {
                Some(p) => p.events |= events,
                None => out.push(PollFd { fd: fd as i32, events, revents: 0 }),
            }
        }
    }
}

const POLLIN_SET: i16 = 0x0001 | 0x0040 | 0x0010 | 0x0008; // POLLIN|POLLRDNORM|POLLHUP|POLLERR
const POLLOUT_SET: i16 = 0x0004 | 0x0100 | 0x0008; // POLLOUT|POLLWRNORM|POLLERR
const POLLEX_SET: i16 = 0x0002; // POLLPRI

/// The common part of `select` and `pselect6`: waits up to `timeout` (`None`: forever) and
/// rewrites the three sets with the ready fds; returns the number of set bits.
fn do_select(cur: &mut Current, nfds: i32, sets: [UserAddr; 3], timeout_ns: Option<u64>) -> KResult<usize> {
    if nfds < 0 || nfds as u64 > cur.process().rlimit_cur(uapi::flags::RLIMIT_NOFILE).max(1024) {
        return Err(Errno::EINVAL);
    }
    let n = nfds as usize;
    let words = n.div_ceil(64);
    let mut bits = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    for (i, s) in sets.iter().enumerate() {
        if !s.is_null() && words > 0 {
            cur.read_bytes(*s, bytemuck::cast_slice_mut(&mut bits[i]))?;
        }
    }
    let mut pfds = Vec::new();
    fdset_to_pollfds(&bits[0], n, POLLIN_SET, &mut pfds);
    fdset_to_pollfds(&bits[1], n, POLLOUT_SET, &mut pfds);
    fdset_to_pollfds(&bits[2], n, POLLEX_SET, &mut pfds);
    if pfds.iter().any(|p| file(cur, Fd(p.fd)).is_err()) {
        return Err(Errno::EBADF);
    }
    crate::poll::poll_wait(cur, &mut pfds, timeout_ns)?;
    let mut out = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    let mut count = 0;
    for p in &pfds {
        let (w, b) = (p.fd as usize / 64, 1u64 << (p.fd as usize % 64));
        for (i, mask) in [POLLIN_SET, POLLOUT_SET, POLLEX_SET].iter().enumerate() {
            if bits[i][w] & b != 0 && p.revents & mask != 0 {
                out[i][w] |= b;
                count += 1;
            }
        }
    }
    for (i, s) in sets.iter().enumerate() {
        if !s.is_null() && words > 0 {
            cur.write_bytes(*s, bytemuck::cast_slice(&out[i]))?;
        }
    }
    Ok(count)
}

/// `select(2)`.
pub fn sys_select(cur: &mut Current, nfds: i32, r: UserAddr, w: UserAddr, e: UserAddr, tv: UserAddr) -> KResult<usize> {
    let timeout = if tv.is_null() {
        None
    } else {
        let t: Timeval = cur.read_val(tv)?;
        t.validate()?;
        Some(t.to_timespec().as_nanos() as u64)
    };
    do_select(cur, nfds, [r, w, e], timeout)
}

/// Applies a temporary signal mask for `pselect6`/`ppoll` (restored after delivery).
fn temp_mask(cur: &mut Current, mask: UserAddr) -> KResult<()> {
    if mask.is_null() {
        return Ok(());
    }
    let m: u64 = cur.read_val(mask)?;
    let mut s = cur.task.signals.lock();
    let old = s.mask;
    s.saved_mask = Some(old);
    s.mask = uapi::signal::SigSet::from_bits(m).without_unblockable();
    Ok(())
}

fn restore_mask_unless_interrupted(cur: &mut Current, r: &KResult<usize>) {
    if !matches!(r, Err(Errno::ERESTARTNOHAND)) {
        let mut s = cur.task.signals.lock();
        if let Some(m) = s.saved_mask.take() {
            s.mask = m;
        }
    }
}

/// `pselect6(2)`: the sixth argument points at `{ const sigset_t *ss; size_t ss_len; }`.
pub fn sys_pselect6(cur: &mut Current, nfds: i32, r: UserAddr, w: UserAddr, e: UserAddr, ts: UserAddr, sig: UserAddr) -> KResult<usize> {
    let timeout = if ts.is_null() {
        None
    } else {
        let t: Timespec = cur.read_val(ts)?;
        t.validate()?;
        Some(t.as_nanos() as u64)
    };
    if !sig.is_null() {
        let pair: [u64; 2] = cur.read_val(sig)?;
        if pair[0] != 0 && pair[1] != 8 {
            return Err(Errno::EINVAL);
        }
        temp_mask(cur, UserAddr(pair[0]))?;
    }
    let res = do_select(cur, nfds, [r, w, e], timeout);
    restore_mask_unless_interrupted(cur, &res);
    res
}

/// `ppoll(2)`.
pub fn sys_ppoll(cur: &mut Current, fds: UserAddr, nfds: u32, ts: UserAddr, sigmask: UserAddr, sigsetsize: usize) -> KResult<usize> {
    if !sigmask.is_null() && sigsetsize != 8 {
        return Err(Errno::EINVAL);
    }
    let timeout = if ts.is_null() {
        None
    } else {
        let t: Timespec = cur.read_val(ts)?;
        t.validate()?;
        Some(t.as_nanos() as u64)
    };
    if nfds as u64 > cur.process().rlimit_cur(uapi::flags::RLIMIT_NOFILE) {
        return Err(Errno::EINVAL);
    }
    let mut v = vec![PollFd::default(); nfds as usize];
    cur.read_bytes(fds, bytemuck::cast_slice_mut(&mut v))?;
    temp_mask(cur, sigmask)?;
    let res = crate::poll::poll_wait(cur, &mut v, timeout);
    restore_mask_unless_interrupted(cur, &res);
    let n = res?;
    cur.write_bytes(fds, bytemuck::cast_slice(&v))?;
    Ok(n)
}

/// `close_range(2)`: closes (or, with `CLOSE_RANGE_CLOEXEC`, marks) fds `first..=last`.
pub fn sys_close_range(cur: &mut Current, first: u32, last: u32, flags: u32) -> KResult<usize> {
    const CLOEXEC: u32 = 4;
    const UNSHARE: u32 = 2;
    if flags & !(CLOEXEC | UNSHARE) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let files = cur.process().files();
    let fds: Vec<i32> = files.lock().fds().into_iter().filter(|&fd| fd as u32 >= first && fd as u32 <= last).collect();
    let mut closed = Vec::new();
    for fd in fds {
        if flags & CLOEXEC != 0 {
            files.lock().set_fd_flags(fd, fs::FdFlags::CLOEXEC)?;
        } else if let Ok(f) = files.lock().close(fd) {
            closed.push(f);
        }
    }
    crate::fs_glue::close_files(cur.pid(), closed);
    Ok(0)
}

/// `fadvise64(2)`, `readahead(2)` and friends: hints, accepted (`EBADF` for a bad fd).
pub fn sys_fadvise64(cur: &mut Current, fd: Fd, _off: i64, _len: i64, advice: i32) -> KResult<usize> {
    file(cur, fd)?;
    if !(0..=5).contains(&advice) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
