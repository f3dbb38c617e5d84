//! Timestamps for inodes (`struct timespec64`) and the clock fs stamps them with.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds and nanoseconds since the Unix epoch, as Linux's `struct timespec64`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nsec: i64,
}

impl Timespec {
    /// Builds a timestamp.
    pub const fn new(sec: i64, nsec: i64) -> Self {
        Timespec { sec, nsec }
    }
}

/// Offset in seconds added to the host clock (the kernel may set the guest's realtime clock).
static OFFSET_SECS: AtomicI64 = AtomicI64::new(0);

/// Sets the offset between the host's realtime clock and the guest's (as `settimeofday`).
pub fn set_realtime_offset(secs: i64) {
    OFFSET_SECS.store(secs, Ordering::Relaxed);
}

/// The current realtime clock, as Linux's `current_time()` stamps inodes with.
pub fn now() -> Timespec {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let sec = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    Timespec {
        sec: sec.saturating_add(OFFSET_SECS.load(Ordering::Relaxed)),
        nsec: i64::from(d.subsec_nanos()),
    }
}
