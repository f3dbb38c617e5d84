//! Eventfds (Linux's `fs/eventfd.c`): a 64-bit counter behind a file.
//!
//! - `read` (at least 8 bytes, else `EINVAL`): with the counter at 0 → `EAGAIN` (the kernel
//!   sleeps for a blocking fd); otherwise returns the counter and resets it to 0, or with
//!   `EFD_SEMAPHORE` returns 1 and decrements it.
//! - `write` (at least 8 bytes, else `EINVAL`): adds the value; `u64::MAX` is `EINVAL`; a sum
//!   that would reach `u64::MAX` → `EAGAIN` (the kernel sleeps for a blocking fd). Only the first
//!   8 bytes count, and 8 is returned (a blocking write of more than 8 bytes goes through the
//!   kernel's write-everything loop, which would add the next 8 bytes too).
//! - `poll`: `POLLIN` when the counter is above 0, `POLLOUT` while a write of 1 fits, `POLLERR`
//!   at `u64::MAX` (unreachable by writes, as in Linux).

use fs::klock::KMutex;
use fs::{FileLike, InodeAttr, PollEvents, Pollee};
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use uapi::{Errno, KResult};

/// `EFD_SEMAPHORE`: reads take 1 at a time.
pub const EFD_SEMAPHORE: i32 = 1;

/// An eventfd.
pub struct EventFd {
    count: KMutex<u64>,
    semaphore: bool,
    pollee: Pollee,
    owner: (u32, u32),
}

impl EventFd {
    /// A counter starting at `initval` (`eventfd2`'s `unsigned int`).
    pub fn new(initval: u32, semaphore: bool, owner: (u32, u32)) -> Arc<EventFd> {
        let e = EventFd { count: KMutex::new(u64::from(initval)), semaphore, pollee: Pollee::default(), owner };
        e.pollee.add_events(events(u64::from(initval)));
        Arc::new(e)
    }

    /// Sets the pollee to the events of `count` and wakes those waiting for them.
    fn publish(&self, count: u64) {
        let ev = events(count);
        self.pollee.del_events(!ev);
        self.pollee.add_events(ev);
    }
}

/// The events a counter value shows (`eventfd_poll`).
fn events(count: u64) -> PollEvents {
    let mut ev = PollEvents::empty();
    if count > 0 {
        ev |= PollEvents::POLLIN;
    }
    if count == u64::MAX {
        ev |= PollEvents::POLLERR;
    }
    if u64::MAX - 1 > count {
        ev |= PollEvents::POLLOUT;
    }
    ev
}

impl FileLike for EventFd {
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let (value, left) = {
            let mut c = self.count.lock();
            if *c == 0 {
                return Err(Errno::EAGAIN);
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            (v, *c)
        };
        self.publish(left);
        buf[..8].copy_from_slice(&value.to_ne_bytes());
        Ok(8)
    }

    fn write(&self, data: &[u8], _offset: u64) -> KResult<usize> {
        let Some(bytes) = data.get(..8) else { return Err(Errno::EINVAL) };
        let mut v = [0u8; 8];
        v.copy_from_slice(bytes);
        let add = u64::from_ne_bytes(v);
        if add == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let now = {
            let mut c = self.count.lock();
            if u64::MAX - *c <= add {
                return Err(Errno::EAGAIN);
            }
            *c += add;
            *c
        };
        self.publish(now);
        Ok(8)
    }

    fn poll(&self) -> PollEvents {
        events(*self.count.lock())
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.pollee)
    }

    fn stat(&self) -> Option<InodeAttr> {
        Some(anon_attr(self.owner))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// What `fstat` shows for an anonymous-inode file (`anon_inode`: mode 0600 with no file type
/// bits, one link, a page-sized block).
pub fn anon_attr(owner: (u32, u32)) -> InodeAttr {
    InodeAttr {
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        mode: 0o600,
        nlink: 1,
        uid: owner.0,
        gid: owner.1,
        blksize: 4096,
        ..InodeAttr::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(e: &EventFd) -> KResult<u64> {
        let mut b = [0u8; 8];
        e.read(&mut b, 0)?;
        Ok(u64::from_ne_bytes(b))
    }

    fn write(e: &EventFd, v: u64) -> KResult<usize> {
        e.write(&v.to_ne_bytes(), 0)
    }

    #[test]
    fn counter_semantics() {
        let e = EventFd::new(3, false, (0, 0));
        assert!(e.poll().contains(PollEvents::POLLIN | PollEvents::POLLOUT));
        assert_eq!(write(&e, 4), Ok(8));
        assert_eq!(read(&e), Ok(7));
        assert_eq!(read(&e), Err(Errno::EAGAIN));
        assert!(!e.poll().contains(PollEvents::POLLIN));
        assert_eq!(e.read(&mut [0u8; 7], 0), Err(Errno::EINVAL));
        assert_eq!(e.write(&[0u8; 4], 0), Err(Errno::EINVAL));
    }

    #[test]
    fn semaphore_takes_one() {
        let e = EventFd::new(2, true, (0, 0));
        assert_eq!(read(&e), Ok(1));
        assert_eq!(read(&e), Ok(1));
        assert_eq!(read(&e), Err(Errno::EAGAIN));
    }

    #[test]
    fn overflow_is_eagain_and_max_is_einval() {
        let e = EventFd::new(0, false, (0, 0));
        assert_eq!(write(&e, u64::MAX), Err(Errno::EINVAL));
        assert_eq!(write(&e, u64::MAX - 1), Ok(8));
        assert!(!e.poll().contains(PollEvents::POLLOUT));
        assert_eq!(write(&e, 1), Err(Errno::EAGAIN));
        assert_eq!(write(&e, 0), Ok(8));
        assert_eq!(read(&e), Ok(u64::MAX - 1));
        assert!(e.poll().contains(PollEvents::POLLOUT));
    }
}
