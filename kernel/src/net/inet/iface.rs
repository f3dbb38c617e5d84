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
