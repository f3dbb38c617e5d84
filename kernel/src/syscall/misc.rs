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
