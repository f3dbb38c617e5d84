//! Syscalls that belong to no family: `uname`, `getrandom`, `sysinfo`.

use crate::current::Current;
use crate::kernel::kernel;
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
        domainname: UtsName::field(b"(none)"),
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
    if cur.process().creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    let how = match cmd {
        f::LINUX_REBOOT_CMD_POWER_OFF => crate::kernel::Shutdown::PowerOff,
        f::LINUX_REBOOT_CMD_HALT => crate::kernel::Shutdown::Halt,
        f::LINUX_REBOOT_CMD_RESTART | f::LINUX_REBOOT_CMD_RESTART2 => crate::kernel::Shutdown::Restart,
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

/// `sethostname(2)`: root only; at most 64 bytes.
pub fn sys_sethostname(cur: &mut Current, name: UserAddr, len: usize) -> KResult<usize> {
    if len > 64 {
        return Err(Errno::EINVAL);
    }
    let mut buf = vec![0u8; len];
    cur.read_bytes(name, &mut buf)?;
    if cur.process().creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    *kernel().hostname.lock() = buf;
    Ok(0)
}
