//! `prctl(2)` and the capability syscalls `capget(2)`/`capset(2)` (Linux's `kernel/sys.c`
//! `SYSCALL_DEFINE5(prctl)`, `security/commoncap.c` `cap_task_prctl`, `kernel/capability.c`).
//! Capability sets live in the process's [`fs::Credentials`]; the rest of the per-process
//! prctl state in `crate::task::prctl::PrctlState`.

use crate::sched::Current;
use crate::task::kernel::kernel;
use fs::capability::{self, cap, secbit};
use uapi::flags as f;
use crate::task::prctl::{PrctlState, DEFAULT_TIMER_SLACK_NS};
use uapi::{Errno, KResult, UserAddr};

/// `PR_CAP_AMBIENT` sub-operations.
const PR_CAP_AMBIENT_IS_SET: u64 = 1;
const PR_CAP_AMBIENT_RAISE: u64 = 2;
const PR_CAP_AMBIENT_LOWER: u64 = 3;
const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;
/// `PR_MCE_KILL` values.
const PR_MCE_KILL_CLEAR: u64 = 0;
const PR_MCE_KILL_SET: u64 = 1;
const PR_MCE_KILL_DEFAULT: u64 = 2;
/// Applies a credential change to the caller (`prepare_creds` + `commit_creds`).
fn with_creds<T>(cur: &Current, f: impl FnOnce(&mut fs::Credentials) -> KResult<T>) -> KResult<T> {
    let mut c = cur.process().creds.lock();
    let mut new = c.clone();
    let r = f(&mut new)?;
    *c = new;
    Ok(r)
}

fn valid_cap(c: u64) -> KResult<u32> {
    if capability::valid(c) {
        Ok(c as u32)
    } else {
        Err(Errno::EINVAL)
    }
}

/// `prctl(2)`: the capability options, securebits, no_new_privs, names, and the process
/// knobs Linux programs probe; `EINVAL` for what x86-64 Linux does not have.
pub fn sys_prctl(cur: &mut Current, option: i32, a2: u64, a3: u64, a4: u64, a5: u64) -> KResult<usize> {
    match option as u32 {
        f::PR_CAPBSET_READ => Ok(usize::from(cur.process().creds().caps.bounding & capability::bit(valid_cap(a2)?) != 0)),
        f::PR_CAPBSET_DROP => with_creds(cur, |c| {
            if !c.capable(cap::SETPCAP) {
                return Err(Errno::EPERM);
            }
            c.caps.bounding &= !capability::bit(valid_cap(a2)?);
            Ok(0)
        }),
        f::PR_CAP_AMBIENT => cap_ambient(cur, a2, a3, a4, a5),
        f::PR_GET_SECUREBITS => Ok(cur.process().creds().securebits as usize),
        f::PR_SET_SECUREBITS => with_creds(cur, |c| set_securebits(c, a2).map(|_| 0)),
        f::PR_GET_KEEPCAPS => Ok(usize::from(cur.process().creds().securebits & secbit::KEEP_CAPS != 0)),
        f::PR_SET_KEEPCAPS => with_creds(cur, |c| {
            if a2 > 1 {
                return Err(Errno::EINVAL);
            }
            if c.securebits & secbit::KEEP_CAPS_LOCKED != 0 {
                return Err(Errno::EPERM);
            }
            c.securebits = if a2 == 1 { c.securebits | secbit::KEEP_CAPS } else { c.securebits & !secbit::KEEP_CAPS };
            Ok(0)
        }),
        f::PR_SET_NO_NEW_PRIVS => {
            if a2 != 1 || a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            cur.process().creds.lock().no_new_privs = true;
            Ok(0)
        }
        f::PR_GET_NO_NEW_PRIVS => {
            if a2 != 0 || a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(usize::from(cur.process().creds().no_new_privs))
        }
        f::PR_SET_NAME => {
            let mut name = cur.read_cstr(UserAddr(a2), 4096)?;
            name.truncate(15);
            *cur.task.comm.lock() = name;
            Ok(0)
        }
        f::PR_GET_NAME => {
            let mut buf = [0u8; 16];
            let comm = cur.task.comm.lock().clone();
            let n = comm.len().min(15);
            buf[..n].copy_from_slice(&comm[..n]);
            cur.write_bytes(UserAddr(a2), &buf)?;
            Ok(0)
        }
        _ => process_knob(cur, option as u32, a2, a3, a4, a5),
    }
}

/// The prctl options about the process rather than its privileges.
fn process_knob(cur: &mut Current, option: u32, a2: u64, a3: u64, a4: u64, a5: u64) -> KResult<usize> {
    let p = cur.process().clone();
    match option {
        f::PR_SET_PDEATHSIG => {
            if a2 > 64 {
                return Err(Errno::EINVAL);
            }
            p.prctl.lock().pdeath_signal = a2 as u32;
            Ok(0)
        }
        f::PR_GET_PDEATHSIG => {
            let v = p.prctl.lock().pdeath_signal as i32;
            cur.write_val(UserAddr(a2), &v)?;
            Ok(0)
        }
        f::PR_GET_DUMPABLE => Ok(p.prctl.lock().dumpable as usize),
        f::PR_SET_DUMPABLE => {
            if a2 > 1 {
                return Err(Errno::EINVAL);
            }
            p.prctl.lock().dumpable = a2 as u32;
            Ok(0)
        }
        f::PR_GET_TIMING => Ok(0),
        f::PR_SET_TIMING => if a2 == 0 { Ok(0) } else { Err(Errno::EINVAL) },
        f::PR_GET_SECCOMP => Ok(0),
        f::PR_GET_TSC => {
            cur.write_val(UserAddr(a2), &1i32)?;
            Ok(0)
        }
        f::PR_SET_TSC => if a2 == 1 || a2 == 2 { Ok(0) } else { Err(Errno::EINVAL) },
        f::PR_SET_TIMERSLACK => {
            p.prctl.lock().timer_slack_ns = if a2 == 0 || a2 > i64::MAX as u64 { DEFAULT_TIMER_SLACK_NS } else { a2 };
            Ok(0)
        }
        f::PR_GET_TIMERSLACK => Ok(p.prctl.lock().timer_slack_ns as usize),
        f::PR_TASK_PERF_EVENTS_DISABLE | f::PR_TASK_PERF_EVENTS_ENABLE => Ok(0),
        f::PR_MCE_KILL => mce_kill(&mut p.prctl.lock(), a2, a3, a4, a5),
        f::PR_MCE_KILL_GET => {
            if a2 | a3 | a4 | a5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(p.prctl.lock().mce_kill.unwrap_or(PR_MCE_KILL_DEFAULT) as usize)
        }
        f::PR_SET_MM => {
            if a5 != 0 {
                return Err(Errno::EINVAL);
            }
            if !p.creds().capable(cap::SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            Err(Errno::EINVAL)
        }
        f::PR_SET_CHILD_SUBREAPER => {
            p.prctl.lock().child_subreaper = a2 != 0;
            Ok(0)
        }
        f::PR_GET_CHILD_SUBREAPER => {
            let v = i32::from(p.prctl.lock().child_subreaper);
            cur.write_val(UserAddr(a2), &v)?;
            Ok(0)
        }
        f::PR_GET_TID_ADDRESS => {
            let v = cur.task.clear_child_tid.get();
            cur.write_val(UserAddr(a2), &v)?;
            Ok(0)
        }
        f::PR_SET_THP_DISABLE => {
            if a3 | a4 | a5 != 0 {
                return Err(Errno::EINVAL);
            }
            p.prctl.lock().thp_disable = a2 != 0;
            Ok(0)
        }
        f::PR_GET_THP_DISABLE => {
            if a2 | a3 | a4 | a5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(usize::from(p.prctl.lock().thp_disable))
        }
        f::PR_SET_IO_FLUSHER | f::PR_GET_IO_FLUSHER => {
            if !p.creds().capable(cap::SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            if option == f::PR_GET_IO_FLUSHER {
                return if a2 | a3 | a4 | a5 != 0 { Err(Errno::EINVAL) } else { Ok(0) };
            }
            if a3 | a4 | a5 != 0 || a2 > 1 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `PR_MCE_KILL` (`kernel/sys.c`): clear, or set early/late/default.
fn mce_kill(st: &mut PrctlState, a2: u64, a3: u64, a4: u64, a5: u64) -> KResult<usize> {
    if a4 | a5 != 0 {
        return Err(Errno::EINVAL);
    }
    match (a2, a3) {
        (PR_MCE_KILL_CLEAR, 0) => st.mce_kill = None,
        (PR_MCE_KILL_SET, 0 | 1) => st.mce_kill = Some(a3),
        (PR_MCE_KILL_SET, PR_MCE_KILL_DEFAULT) => st.mce_kill = None,
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// `PR_SET_SECUREBITS` (`cap_task_prctl`): `EPERM` to change a locked bit, unlock a lock,
/// set an unknown bit, or without `CAP_SETPCAP`.
fn set_securebits(c: &mut fs::Credentials, bits: u64) -> KResult<()> {
    let old = u64::from(c.securebits);
    let locks = u64::from(secbit::LOCKS);
    if ((old & locks) >> 1) & (old ^ bits) != 0 || old & locks & !bits != 0 || bits & !u64::from(secbit::ALL) != 0 || !c.capable(cap::SETPCAP) {
        return Err(Errno::EPERM);
    }
    c.securebits = bits as u32;
    Ok(())
}

/// `PR_CAP_AMBIENT`: clear all, query, raise (needs the capability permitted and
/// inheritable, and no `SECBIT_NO_CAP_AMBIENT_RAISE`) or lower one ambient capability.
fn cap_ambient(cur: &Current, op: u64, c: u64, a4: u64, a5: u64) -> KResult<usize> {
    if op == PR_CAP_AMBIENT_CLEAR_ALL {
        if c | a4 | a5 != 0 {
            return Err(Errno::EINVAL);
        }
        return with_creds(cur, |cr| {
            cr.caps.ambient = 0;
            Ok(0)
        });
    }
    if !capability::valid(c) || a4 | a5 != 0 {
        return Err(Errno::EINVAL);
    }
    let b = capability::bit(c as u32);
    match op {
        PR_CAP_AMBIENT_IS_SET => Ok(usize::from(cur.process().creds().caps.ambient & b != 0)),
        PR_CAP_AMBIENT_RAISE => with_creds(cur, |cr| {
            if cr.caps.permitted & b == 0 || cr.caps.inheritable & b == 0 || cr.securebits & secbit::NO_CAP_AMBIENT_RAISE != 0 {
                return Err(Errno::EPERM);
            }
            cr.caps.ambient |= b;
            Ok(0)
        }),
        PR_CAP_AMBIENT_LOWER => with_creds(cur, |cr| {
            cr.caps.ambient &= !b;
            Ok(0)
        }),
        _ => Err(Errno::EINVAL),
    }
}

/// `_LINUX_CAPABILITY_VERSION_1`: one 32-bit data struct.
const CAP_V1: u32 = 0x1998_0330;
/// `_LINUX_CAPABILITY_VERSION_2` (deprecated) and `_3`: two data structs.
const CAP_V2: u32 = 0x2007_1026;
const CAP_V3: u32 = 0x2008_0522;

/// Linux's `cap_validate_magic`: the number of data structs for the header's version, or
/// `EINVAL` after writing the preferred version back into the header.
fn validate_magic(cur: &mut Current, hdr: UserAddr) -> KResult<usize> {
    let version: u32 = cur.read_val(hdr)?;
    match version {
        CAP_V1 => Ok(1),
        CAP_V2 | CAP_V3 => Ok(2),
        _ => {
            cur.write_val(hdr, &CAP_V3)?;
            Err(Errno::EINVAL)
        }
    }
}

/// `capget(2)`: the effective, permitted and inheritable sets of the caller or of process
/// `pid`, as 1 (v1) or 2 (v2, v3) 32-bit `{effective, permitted, inheritable}` structs. A
/// null `data` only probes the version (0 even for an unknown one, which is written back).
pub fn sys_capget(cur: &mut Current, hdr: UserAddr, data: UserAddr) -> KResult<usize> {
    let words = match validate_magic(cur, hdr) {
        Err(Errno::EINVAL) if data.is_null() => return Ok(0),
        r => r?,
    };
    if data.is_null() {
        return Ok(0);
    }
    let pid: i32 = cur.read_val(UserAddr(hdr.0 + 4))?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let caps = if pid == 0 || pid as u32 == cur.pid() {
        cur.process().creds().caps
    } else {
        kernel().process(pid as u32).ok_or(Errno::ESRCH)?.creds().caps
    };
    let mut out = Vec::with_capacity(6);
    for i in 0..words {
        for set in [caps.effective, caps.permitted, caps.inheritable] {
            out.push((set >> (32 * i)) as u32);
        }
    }
    cur.write_bytes(data, bytemuck::cast_slice(&out))?;
    Ok(0)
}

/// `capset(2)`: sets the caller's effective, permitted and inheritable sets under Linux's
/// rules (`cap_capset`); `EPERM` for another process.
pub fn sys_capset(cur: &mut Current, hdr: UserAddr, data: UserAddr) -> KResult<usize> {
    let words = validate_magic(cur, hdr)?;
    let pid: i32 = cur.read_val(UserAddr(hdr.0 + 4))?;
    if pid != 0 && pid as u32 != cur.pid() {
        return Err(Errno::EPERM);
    }
    let mut raw = [0u32; 6];
    cur.read_bytes(data, bytemuck::cast_slice_mut(&mut raw[..3 * words]))?;
    let set = |k: usize| (0..words).fold(0u64, |acc, i| acc | u64::from(raw[3 * i + k]) << (32 * i));
    let (effective, permitted, inheritable) = (set(0), set(1), set(2));
    with_creds(cur, |c| {
        c.caps = c.caps.capset(inheritable, permitted, effective)?;
        Ok(0)
    })
}
