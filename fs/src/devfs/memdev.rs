//! The memory character devices (Linux's `drivers/char/mem.c` and `random.c` read side).

use std::any::Any;
use std::io::Read;
use std::sync::OnceLock;

use uapi::{Errno, KResult};

use crate::file_like::FileLike;

/// Which memory device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemKind {
    /// `/dev/null`: reads end of file, writes vanish.
    Null,
    /// `/dev/zero`: reads zeros, writes vanish.
    Zero,
    /// `/dev/full`: reads zeros, writes fail with `ENOSPC`.
    Full,
    /// `/dev/random` and `/dev/urandom`: reads host randomness, writes are accepted.
    Random,
}

/// One memory device (stateless, shared by every open).
pub struct MemDevice {
    kind: MemKind,
    host: OnceLock<Option<std::fs::File>>,
}

impl MemDevice {
    /// A device of the given kind.
    pub fn new(kind: MemKind) -> Self {
        MemDevice { kind, host: OnceLock::new() }
    }

    fn read_random(&self, buf: &mut [u8]) -> KResult<usize> {
        let host = self.host.get_or_init(|| std::fs::File::open("/dev/urandom").ok());
        let mut f = host.as_ref().ok_or(Errno::EIO)?;
        f.read_exact(buf).map_err(|e| {
            log::warn!("host /dev/urandom read failed: {e}");
            Errno::EIO
        })?;
        Ok(buf.len())
    }
}

impl FileLike for MemDevice {
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        match self.kind {
            MemKind::Null => Ok(0),
            MemKind::Zero | MemKind::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            MemKind::Random => self.read_random(buf),
        }
    }

    fn write(&self, data: &[u8], _offset: u64) -> KResult<usize> {
        match self.kind {
            MemKind::Full => Err(Errno::ENOSPC),
            _ => Ok(data.len()),
        }
    }

    fn seekable(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
