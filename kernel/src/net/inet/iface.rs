//! The guest's interfaces (Linux's `net_device` list as QEMU user networking shapes it): `lo`
//! (index 1, 127.0.0.1/8 and ::1, MTU 65536) and, unless `--net none`, `eth0` (index 2,
//! 10.0.2.15/24, MTU 1500, a stable locally administered MAC 52:54:00:12:34:56, default route
//! via 10.0.2.2). rtnetlink dumps, `SIOCGIF*` and /proc/net read this table.

use std::sync::atomic::{AtomicBool, Ordering};

/// `--net user` (true, the default) or `--net none`.
static NET_USER: AtomicBool = AtomicBool::new(true);

/// Sets the networking mode at boot: `user` gives `eth0` and the relay, `none` only `lo`.
pub fn set_user_networking(on: bool) {
    NET_USER.store(on, Ordering::Relaxed);
}

/// True if `eth0` exists (`--net user`).
pub fn eth0_up() -> bool {
    NET_USER.load(Ordering::Relaxed)
}

/// `eth0`'s MAC address (QEMU's default for the first NIC, locally administered).
pub const ETH0_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// `SIOCGIFNAME`.
pub const SIOCGIFNAME: u32 = 0x8910;
/// `SIOCGIFCONF`.
pub const SIOCGIFCONF: u32 = 0x8912;
/// `SIOCGIFFLAGS`.
pub const SIOCGIFFLAGS: u32 = 0x8913;
/// `SIOCGIFADDR`.
pub const SIOCGIFADDR: u32 = 0x8915;
/// `SIOCGIFBRDADDR`.
pub const SIOCGIFBRDADDR: u32 = 0x8919;
/// `SIOCGIFNETMASK`.
pub const SIOCGIFNETMASK: u32 = 0x891b;
/// `SIOCGIFMTU`.
pub const SIOCGIFMTU: u32 = 0x8921;
/// `SIOCGIFHWADDR`.
pub const SIOCGIFHWADDR: u32 = 0x8927;
/// `SIOCGIFINDEX`.
pub const SIOCGIFINDEX: u32 = 0x8933;
/// `SIOCGIFTXQLEN`.
pub const SIOCGIFTXQLEN: u32 = 0x8942;
/// `sizeof(struct ifreq)`.
const IFREQ_LEN: usize = 40;

use crate::net::rtnetlink::{interfaces, Interface};
use fs::UserMemory;
use uapi::{Errno, KResult};

/// True for the interface ioctls every socket answers (`sock_ioctl` → `dev_ioctl`).
pub fn is_if_ioctl(cmd: u32) -> bool {
    matches!(cmd, SIOCGIFNAME | SIOCGIFCONF | SIOCGIFFLAGS | SIOCGIFADDR | SIOCGIFBRDADDR | SIOCGIFNETMASK | SIOCGIFMTU | SIOCGIFHWADDR | SIOCGIFINDEX | SIOCGIFTXQLEN)
}

fn sockaddr_in(ip: [u8; 4]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&(uapi::net::AF_INET as u16).to_ne_bytes());
    b[4..8].copy_from_slice(&ip);
    b
}

/// `dev_ioctl`/`dev_ifconf`: the `SIOCGIF*` requests on `struct ifreq` at `arg`; `ENODEV` for
/// an unknown name, `EADDRNOTAVAIL` for an interface without an IPv4 address.
pub fn ioctl(cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
    if cmd == SIOCGIFCONF {
        return ifconf(arg, mem);
    }
    let mut req = [0u8; IFREQ_LEN];
    mem.read(arg, &mut req)?;
    let all = interfaces();
    if cmd == SIOCGIFNAME {
        let idx = i32::from_ne_bytes([req[16], req[17], req[18], req[19]]);
        let i = all.iter().find(|i| i.index as i32 == idx).ok_or(Errno::ENODEV)?;
        let mut name = [0u8; 16];
        name[..i.name.len()].copy_from_slice(i.name.as_bytes());
        mem.write(arg, &name)?;
        return Ok(0);
    }
    let end = req[..16].iter().position(|&b| b == 0).unwrap_or(16);
    let name = &req[..end];
    let i: &Interface = all.iter().find(|i| i.name.as_bytes() == name).ok_or(Errno::ENODEV)?;
    let mut out = [0u8; 24];
    match cmd {
        SIOCGIFFLAGS => out[..2].copy_from_slice(&(i.flags as u16).to_ne_bytes()),
        SIOCGIFINDEX | SIOCGIFMTU | SIOCGIFTXQLEN => {
            let v = match cmd {
                SIOCGIFINDEX => i.index,
                SIOCGIFMTU => i.mtu,
                _ => 1000,
            };
            out[..4].copy_from_slice(&v.to_ne_bytes());
        }
        SIOCGIFHWADDR => {
            out[..2].copy_from_slice(&i.hw_type.to_ne_bytes());
            out[2..8].copy_from_slice(&i.mac);
        }
        _ => {
            let (a, plen) = *i.ipv4.first().ok_or(Errno::EADDRNOTAVAIL)?;
            let mask = u32::MAX.checked_shl(32 - u32::from(plen)).unwrap_or(0);
            let v = match cmd {
                SIOCGIFADDR => a,
                SIOCGIFNETMASK => mask.to_be_bytes(),
                _ if i.flags & 0x2 == 0 => [0; 4],
                _ => (u32::from_be_bytes(a) | !mask).to_be_bytes(),
            };
            out[..16].copy_from_slice(&sockaddr_in(v));
        }
    }
    mem.write(arg + 16, &out)?;
    Ok(0)
}

/// `SIOCGIFCONF`: one `ifreq` per interface with an IPv4 address; a null buffer asks for the
/// length needed.
fn ifconf(arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
    let mut conf = [0u8; 16];
    mem.read(arg, &mut conf)?;
    let len = i32::from_ne_bytes([conf[0], conf[1], conf[2], conf[3]]);
    let buf = u64::from_ne_bytes([conf[8], conf[9], conf[10], conf[11], conf[12], conf[13], conf[14], conf[15]]);
    let mut out = Vec::new();
    for i in interfaces() {
        for (a, _) in &i.ipv4 {
            let mut r = [0u8; IFREQ_LEN];
            r[..i.name.len()].copy_from_slice(i.name.as_bytes());
            r[16..32].copy_from_slice(&sockaddr_in(*a));
            out.push(r);
        }
    }
    let total = if buf == 0 {
        out.len() * IFREQ_LEN
    } else {
        let fit = usize::try_from(len).unwrap_or(0) / IFREQ_LEN;
        for (k, r) in out.iter().take(fit).enumerate() {
            mem.write(buf + (k * IFREQ_LEN) as u64, r)?;
        }
        out.len().min(fit) * IFREQ_LEN
    };
    mem.write(arg, &(total as i32).to_ne_bytes())?;
    Ok(0)
}
