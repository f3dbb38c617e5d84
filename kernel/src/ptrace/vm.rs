//! `process_vm_readv(2)` and `process_vm_writev(2)`: copying between the caller's memory and
//! another process's, with ptrace's access rule (`PTRACE_MODE_ATTACH_REALCREDS`).

use crate::sched::Current;
use crate::task::kernel::kernel;
use uapi::{Errno, KResult, UserAddr};

/// At most this many iovecs on either side (`UIO_MAXIOV`).
const UIO_MAXIOV: u64 = 1024;

/// Reads an iovec array.
fn read_iovecs(cur: &mut Current, at: UserAddr, n: u64) -> KResult<Vec<(u64, u64)>> {
    if n > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(n as usize);
    for i in 0..n {
        let e: [u64; 2] = cur.read_val(at.checked_add(i * 16).ok_or(Errno::EFAULT)?)?;
        if e[1] > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        v.push((e[0], e[1]));
    }
    Ok(v)
}

/// Splits two iovec lists into pieces `(local addr, remote addr, len)` in order.
fn pieces(local: &[(u64, u64)], remote: &[(u64, u64)]) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    let (mut li, mut ri, mut lo, mut ro) = (0, 0, 0u64, 0u64);
    while li < local.len() && ri < remote.len() {
        let (lb, ll) = local[li];
        let (rb, rl) = remote[ri];
        let n = (ll - lo).min(rl - ro);
        if n > 0 {
            out.push((lb.wrapping_add(lo), rb.wrapping_add(ro), n));
        }
        lo += n;
        ro += n;
        if lo == ll {
            li += 1;
            lo = 0;
        }
        if ro == rl {
            ri += 1;
            ro = 0;
        }
    }
    out
}

/// The common part: `write` false reads the remote process into the caller (the syscall's
/// six arguments plus the direction).
#[allow(clippy::too_many_arguments)]
fn process_vm(cur: &mut Current, pid: i32, liov: UserAddr, liovcnt: u64, riov: UserAddr, riovcnt: u64, flags: u64, write: bool) -> KResult<usize> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let local = read_iovecs(cur, liov, liovcnt)?;
    let remote = read_iovecs(cur, riov, riovcnt)?;
    let tid = u32::try_from(pid).map_err(|_| Errno::ESRCH)?;
    let target = kernel().task(tid).ok_or(Errno::ESRCH)?;
    if !super::link::may_attach(cur, &target.process) && !std::sync::Arc::ptr_eq(&target.process, cur.process()) {
        return Err(Errno::EPERM);
    }
    let mm = target.mm();
    let mut done = 0usize;
    let mut buf = Vec::new();
    for (l, r, n) in pieces(&local, &remote) {
        let mut off = 0u64;
        while off < n {
            let chunk = (n - off).min(64 * 1024);
            buf.resize(chunk as usize, 0);
            let ok = if write {
                cur.read_bytes(UserAddr(l + off), &mut buf).is_ok() && mm.space.lock().write(r + off, &buf).is_ok()
            } else {
                mm.space.lock().read(r + off, &mut buf).is_ok() && cur.write_bytes(UserAddr(l + off), &buf).is_ok()
            };
            if !ok {
                return if done == 0 { Err(Errno::EFAULT) } else { Ok(done) };
            }
            done += chunk as usize;
            off += chunk;
        }
    }
    Ok(done)
}

/// `process_vm_readv(2)`.
pub fn sys_process_vm_readv(cur: &mut Current, pid: i32, liov: UserAddr, liovcnt: u64, riov: UserAddr, riovcnt: u64, flags: u64) -> KResult<usize> {
    process_vm(cur, pid, liov, liovcnt, riov, riovcnt, flags, false)
}

/// `process_vm_writev(2)`.
pub fn sys_process_vm_writev(cur: &mut Current, pid: i32, liov: UserAddr, liovcnt: u64, riov: UserAddr, riovcnt: u64, flags: u64) -> KResult<usize> {
    process_vm(cur, pid, liov, liovcnt, riov, riovcnt, flags, true)
}
