//! A vCPU's pool of emptied stubs (gVisor's stub pool): an address space that ends leaves its
//! healthy stub here (its guest range unmapped in one round trip), and the next `fork` or
//! `execve` on the same vCPU takes it instead of starting a host process. Pooled stubs are
//! per vCPU because a stub can only be traced by the host thread that started it.

use std::sync::{Arc, Mutex};

/// Emptied stubs ready for reuse: (host pid, data slot).
#[derive(Debug, Default)]
pub struct StubPool {
    stubs: Mutex<Vec<(i32, u32)>>,
}

impl StubPool {
    /// How many emptied stubs are kept.
    pub const SIZE: usize = 16;

    /// An empty pool.
    pub fn new() -> Arc<StubPool> {
        Arc::new(StubPool::default())
    }

    /// Whether one more stub fits.
    pub(crate) fn has_room(&self) -> bool {
        self.stubs.lock().map(|p| p.len() < Self::SIZE).unwrap_or(false)
    }

    /// Keeps an emptied stub.
    pub(crate) fn put(&self, pid: i32, slot: u32) {
        if let Ok(mut p) = self.stubs.lock() {
            p.push((pid, slot));
        }
    }

    /// Takes a pooled stub, if any.
    pub(crate) fn take(&self) -> Option<(i32, u32)> {
        self.stubs.lock().ok()?.pop()
    }

    /// Number of pooled stubs.
    pub fn len(&self) -> usize {
        self.stubs.lock().map(|p| p.len()).unwrap_or(0)
    }

    /// True when no stub is pooled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
