//! `KMutex`: the lock every fs object uses. The kernel runs on one host thread, so a lock that
//! is already held means re-entry (a bug that would spin forever with a plain spinlock); debug
//! builds panic with a message instead, as DESIGN.md asks ("lock through a wrapper that panics on
//! re-entry in debug builds").

use spin::{Mutex, MutexGuard};

/// A spin mutex that panics on contention in debug builds (re-entry on the kernel thread).
#[derive(Default)]
pub struct KMutex<T: ?Sized>(Mutex<T>);

impl<T> KMutex<T> {
    /// Wraps a value.
    pub const fn new(v: T) -> Self {
        KMutex(Mutex::new(v))
    }
}

impl<T: ?Sized> KMutex<T> {
    /// The value, through an exclusive borrow of the lock (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }

    /// Locks if free; `None` if held — on the one kernel thread that means by the caller's own
    /// call chain. For readers that may run inside a holder and can do without the value (a
    /// `/proc/PID` attribute asked while that process's fd table is locked to close a file;
    /// memory reclaim inside an allocation skipping a busy page cache).
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.0.try_lock()
    }

    /// Locks; in debug builds a held lock is reported as re-entry by panicking.
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if let Some(g) = self.0.try_lock() {
            return g;
        }
        if cfg!(debug_assertions) {
            panic!("fs: KMutex re-entered (already locked)");
        }
        self.0.lock()
    }
}

impl<T: ?Sized + core::fmt::Debug> core::fmt::Debug for KMutex<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KMutex(..)")
    }
}
