//! devtmpfs and devices: the device registry (character devices by major:minor, which the
//! kernel fills with `tty`, `console` and friends), the memory devices of Linux's
//! `drivers/char/mem.c` (`null` 1:3, `zero` 1:5, `full` 1:7, `random` 1:8, `urandom` 1:9), and
//! the one devtmpfs instance every `devtmpfs` mount shows (as Linux's single devtmpfs
//! superblock). A device node made with `mknod` on any filesystem opens through the registry.

mod memdev;
mod registry;

pub use memdev::{MemDevice, MemKind};
pub use registry::{BlockDisk, DeviceOpen, DeviceRegistry, FifoOpen, SharedDevice};

use std::sync::Arc;

/// Registers the memory devices in `reg` with Linux's numbers and mode 0666.
pub fn register_memory_devices(reg: &DeviceRegistry) {
    for (kind, name, minor) in [
        (MemKind::Null, "null", 3),
        (MemKind::Zero, "zero", 5),
        (MemKind::Full, "full", 7),
        (MemKind::Random, "random", 8),
        (MemKind::Random, "urandom", 9),
    ] {
        let dev = Arc::new(SharedDevice(Arc::new(MemDevice::new(kind))));
        reg.register_char_device(name, 1, minor, 0o666, dev);
    }
}

#[cfg(test)]
mod tests;
