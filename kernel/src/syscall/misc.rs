//! Syscalls that belong to no family: `uname`, `getrandom`, `sysinfo`.

use crate::sched::Current;
use crate::task::kernel::kernel;
use uapi::structs::{SysInfo, UtsName};
use uapi::{Errno, KResult, UserAddr, UserRef};

/// The release string guests see (a modern LTS, so glibc's version checks pass).
pub const RELEASE: &[u8] = b"6.1.0-umbra";
/// The version string (`uname -v`, `/proc/version`).
pub const VERSION: &[u8] = b"#1 SMP PREEMPT_DYNAMIC umbra";

/// `uname(2)`.
pub fn sys_uname(cur: &mut Current, buf: UserRef<UtsName>) -> KResult<usize> {
    let u = UtsName {
        sysname: UtsName::field(b"Linux"),
        nodename: UtsName::field(&kernel().hostname.lock()),
        release: UtsName::field(RELEASE),
        version: UtsName::field(VERSION),
        machine: UtsName::field(b"x86_64"),
        domainname: UtsName::field(&kernel().domainname.lock()),
    };
    cur.write_val(buf.addr(), &u)?;
    Ok(0)
}

/// `getrandom(2)`: bytes from the host's CSPRNG (at most 32 MiB per call, as Linux caps it).
pub fn sys_getrandom(cur: &mut Current, buf: UserAddr, len: usize, flags: u32) -> KResult<usize> {
    if flags & !0x7 != 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.min(32 << 20);
    let mut data = vec![0u8; len];
    arch_um::random::fill(&mut data).map_err(|_| Errno::EIO)?;
    cur.write_bytes(buf, &data)?;
    Ok(len)
}

/// `sysinfo(2)`.
pub fn sys_sysinfo(cur: &mut Current, info: UserRef<SysInfo>) -> KResult<usize> {
    let k = kernel();
    let total = k.frames.total_frames() * 4096;
    let free = k.frames.free_frames() * 4096;
    let si = SysInfo {
        uptime: (k.uptime_ns() / 1_000_000_000) as i64,
        totalram: total,
        freeram: free,
        procs: k.tasks.lock().len().min(u16::MAX as usize) as u16,
        mem_unit: 1,
        ..Default::default()
    };
    cur.write_val(info.addr(), &si)?;
    Ok(0)
}

/// `reboot(2)`: with Linux's magic numbers, root may power off, halt or restart the machine —
/// here: sync the disks and end the run (`PowerOff`/`Halt`) or boot again (`Restart`). The
/// Ctrl-Alt-Del settings are accepted and ignored.
pub fn sys_reboot(cur: &mut Current, magic1: u32, magic2: u32, cmd: u32, _arg: UserAddr) -> KResult<usize> {
    use uapi::flags as f;
    if magic1 != f::LINUX_REBOOT_MAGIC1 || ![f::LINUX_REBOOT_MAGIC2, f::LINUX_REBOOT_MAGIC2A, f::LINUX_REBOOT_MAGIC2B, f::LINUX_REBOOT_MAGIC2C].contains(&magic2) {
        return Err(Errno::EINVAL);
    }
    if !cur.process().creds.lock().capable(fs::capability::cap::SYS_BOOT) {
        return Err(Errno::EPERM);
    }
    let how = match cmd {
        f::LINUX_REBOOT_CMD_POWER_OFF => crate::task::kernel::Shutdown::PowerOff,
        f::LINUX_REBOOT_CMD_HALT => crate::task::kernel::Shutdown::Halt,
        f::LINUX_REBOOT_CMD_RESTART | f::LINUX_REBOOT_CMD_RESTART2 => crate::task::kernel::Shutdown::Restart,
        f::LINUX_REBOOT_CMD_CAD_ON | f::LINUX_REBOOT_CMD_CAD_OFF => return Ok(0),
        _ => return Err(Errno::EINVAL),
    };
    if let Err(e) = kernel().vfs.sync_all() {
        log::warn!("reboot: sync failed: {e}");
    }
    kernel().request_shutdown(how);
    crate::exit::exit_group(cur, crate::task::ExitStatus::Exited(0));
    Ok(0)
}

/// `sync(2)`: writes every filesystem's dirty blocks back.
pub fn sys_sync(_cur: &mut Current) -> KResult<usize> {
    let _ = kernel().vfs.sync_all();
    Ok(0)
}

/// `syslog(2)` (`klogctl`): the kernel log (`crate::kmsg`). Only root reads or clears it (as
/// Linux with `dmesg_restrict=1`); read actions take a buffer and a length (`EINVAL` for a
/// null buffer or a negative length); `SYSLOG_ACTION_READ` (2) waits for new records.
pub fn sys_syslog(cur: &mut Current, action: i32, buf: UserAddr, len: i32) -> KResult<usize> {
    if !matches!(action, 0 | 1) && !cur.process().creds.lock().capable(fs::capability::cap::SYSLOG) {
        return Err(Errno::EPERM);
    }
    let reads = matches!(action, 2..=4);
    if reads {
        if buf.is_null() || len < 0 {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(0);
        }
    }
    let len = usize::try_from(len).unwrap_or(0);
    let (n, data) = match crate::kmsg::syslog(action, len) {
        Err(Errno::EAGAIN) if action == 2 => crate::sched::wait_until(cur, &[crate::kmsg::readers()], fs::PollEvents::POLLIN, None, |_| match crate::kmsg::syslog(2, len) {
            Err(Errno::EAGAIN) => None,
            r => Some(r),
        })?,
        r => r?,
    };
    if reads {
        cur.write_bytes(buf, &data)?;
    }
    Ok(n)
}

/// `sethostname(2)`: root only (`EPERM`), at most 64 bytes (`EINVAL`), checked in that order
/// before the name is read (`EFAULT`), as Linux's.
pub fn sys_sethostname(cur: &mut Current, name: UserAddr, len: usize) -> KResult<usize> {
    set_uts_name(cur, name, len, &kernel().hostname)
}

/// `setdomainname(2)`: as `sethostname`, for the NIS domain name.
pub fn sys_setdomainname(cur: &mut Current, name: UserAddr, len: usize) -> KResult<usize> {
    set_uts_name(cur, name, len, &kernel().domainname)
}

fn set_uts_name(cur: &mut Current, name: UserAddr, len: usize, slot: &fs::klock::KMutex<Vec<u8>>) -> KResult<usize> {
    if !cur.process().creds.lock().capable(fs::capability::cap::SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if len > 64 {
        return Err(Errno::EINVAL);
    }
    let mut buf = vec![0u8; len];
    cur.read_bytes(name, &mut buf)?;
    *slot.lock() = buf;
    Ok(0)
}

/// `sched_getscheduler(2)`: every task is `SCHED_OTHER` (umbra's fair scheduler).
pub fn sys_sched_getscheduler(_cur: &mut Current, pid: i32) -> KResult<usize> {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// `sched_setscheduler(2)`: `SCHED_OTHER`/`SCHED_BATCH`/`SCHED_IDLE` with priority 0 are
/// accepted (and all behave as `SCHED_OTHER`); real-time policies are refused with `EPERM`
/// (umbra does not implement them), invalid ones with `EINVAL`.
pub fn sys_sched_setscheduler(cur: &mut Current, pid: i32, policy: i32, param: UserAddr) -> KResult<usize> {
    if pid < 0 || param.is_null() {
        return Err(Errno::EINVAL);
    }
    let prio: i32 = cur.read_val(param)?;
    match policy & !0x4000_0000 {
        0 | 3 | 5 if prio == 0 => Ok(0),
        1 | 2 | 6 => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

/// `sched_getparam(2)`: priority 0.
pub fn sys_sched_getparam(cur: &mut Current, pid: i32, param: UserAddr) -> KResult<usize> {
    if pid < 0 || param.is_null() {
        return Err(Errno::EINVAL);
    }
    cur.write_val(param, &0i32)?;
    Ok(0)
}

/// `sched_get_priority_max(2)`/`min`: 99/1 for the real-time policies, 0 otherwise.
pub fn sys_sched_get_priority_max(_cur: &mut Current, policy: i32) -> KResult<usize> {
    match policy {
        1 | 2 => Ok(99),
        0 | 3 | 5 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// `sched_get_priority_min(2)`.
pub fn sys_sched_get_priority_min(_cur: &mut Current, policy: i32) -> KResult<usize> {
    match policy {
        1 | 2 => Ok(1),
        0 | 3 | 5 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// `sched_setaffinity(2)`: CPU 0 must be in the mask (there is one virtual CPU).
pub fn sys_sched_setaffinity(cur: &mut Current, _pid: i32, len: usize, mask: UserAddr) -> KResult<usize> {
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let first: u8 = cur.read_val(mask)?;
    if first & 1 == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// `getcpu(2)`: CPU 0, node 0.
pub fn sys_getcpu(cur: &mut Current, cpu: UserAddr, node: UserAddr) -> KResult<usize> {
    if !cpu.is_null() {
        cur.write_val(cpu, &0u32)?;
    }
    if !node.is_null() {
        cur.write_val(node, &0u32)?;
    }
    Ok(0)
}

/// `personality(2)`: only `PER_LINUX` (0); `0xffffffff` queries.
pub fn sys_personality(cur: &mut Current, persona: u32) -> KResult<usize> {
    let p = &cur.process().personality;
    let old = p.load(std::sync::atomic::Ordering::Relaxed);
    if persona == 0xffff_ffff {
        return Ok(old as usize);
    }
    // PER_LINUX (0) with its flags; umbra lays out memory the same way either way, so
    // ADDR_NO_RANDOMIZE (what debuggers set) changes nothing but what is reported.
    if persona & 0xff != 0 {
        return Err(Errno::EINVAL);
    }
    p.store(persona, std::sync::atomic::Ordering::Relaxed);
    Ok(old as usize)
}

/// `msync(2)`: `EINVAL` for an unaligned address or bad flags; writes what was stored through
/// the shared file mappings in `addr..addr+len` back to their files (for `MS_SYNC` and
/// `MS_ASYNC` alike: the stores are in the page cache either way, and writing them now is
/// what `MS_SYNC` promises).
pub fn sys_msync(cur: &mut Current, addr: UserAddr, len: usize, flags: i32) -> KResult<usize> {
    if !addr.0.is_multiple_of(4096) || flags & !7 != 0 || (flags & 1 != 0 && flags & 4 != 0) {
        return Err(Errno::EINVAL);
    }
    let end = addr.0.saturating_add(len as u64);
    let sources: Vec<_> = {
        let mm = cur.mm();
        let space = mm.space.lock();
        space
            .vmas()
            .filter(|v| v.start < end && addr.0 < v.end && v.is_shared())
            .filter_map(|v| match &v.backing {
                mm::Backing::File { source, .. } => Some(source.clone()),
                mm::Backing::Anon => None,
            })
            .collect()
    };
    for source in sources {
        source.flush()?;
    }
    Ok(0)
}
