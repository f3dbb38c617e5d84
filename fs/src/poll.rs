//! Readiness: `PollEvents` (Linux's `POLL*` bits) and `Pollee`, the object a file keeps its
//! current events in and through which it wakes the tasks waiting on it (Linux's wait queue
//! head plus `wake_up_poll`, Asterinas's `Pollee`). fs never sleeps: `kernel` registers a
//! `Waker` for a sleeping task and retries the operation when woken.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};

use crate::klock::KMutex;

pub use uapi::flags::PollEvents;

/// What a regular file or directory always reports (Linux's `DEFAULT_POLLMASK`).
pub fn default_events() -> PollEvents {
    PollEvents::POLLIN | PollEvents::POLLOUT | PollEvents::POLLRDNORM | PollEvents::POLLWRNORM
}

/// Something `kernel` can wake: a sleeping task, an epoll instance.
pub trait Waker: Send + Sync {
    /// Called (without any fs lock held) when an awaited event happens.
    fn wake(&self);
}

struct Waiter {
    waker: Weak<dyn Waker>,
    mask: PollEvents,
}

struct PolleeInner {
    events: PollEvents,
    waiters: VecDeque<Waiter>,
    /// Length of `waiters` after the last pruning of dead registrations.
    pruned_len: usize,
}

/// Current readiness of a file plus the wakers waiting for some of its events.
pub struct Pollee {
    inner: KMutex<PolleeInner>,
}

impl Default for Pollee {
    fn default() -> Self {
        Pollee::new(PollEvents::empty())
    }
}

impl Pollee {
    /// A pollee with the given initial events.
    pub fn new(events: PollEvents) -> Self {
        Pollee { inner: KMutex::new(PolleeInner { events, waiters: VecDeque::new(), pruned_len: 0 }) }
    }

    /// The current events.
    pub fn events(&self) -> PollEvents {
        self.inner.lock().events
    }

    /// Registers `waker` for the events in `mask` (`POLLERR|POLLHUP` are always included, as
    /// Linux reports them unasked). A registration whose waker was dropped is dead: it is
    /// pruned on the next notify, or here once dead ones could have doubled the list (so a
    /// file polled in a loop but never ready does not grow it without bound).
    pub fn register(&self, waker: Weak<dyn Waker>, mask: PollEvents) {
        self.insert(Waiter { waker, mask: mask | PollEvents::POLLERR | PollEvents::POLLHUP }, false);
    }

    /// Like [`Pollee::register`], but the waker is woken before those registered earlier
    /// (Linux's `add_wait_queue` puts a non-exclusive entry at the head): epoll items, so
    /// events that fire together are queued newest registration first, as on Linux.
    pub fn register_first(&self, waker: Weak<dyn Waker>, mask: PollEvents) {
        self.insert(Waiter { waker, mask: mask | PollEvents::POLLERR | PollEvents::POLLHUP }, true);
    }

    fn insert(&self, waiter: Waiter, first: bool) {
        let mut inner = self.inner.lock();
        if inner.waiters.len() >= inner.pruned_len.saturating_mul(2).max(8) {
            inner.waiters.retain(|w| w.waker.strong_count() > 0);
            inner.pruned_len = inner.waiters.len();
        }
        if first {
            inner.waiters.push_front(waiter);
        } else {
            inner.waiters.push_back(waiter);
        }
    }

    /// Changes the events `waker` is registered for, keeping its place in the wake order
    /// (`EPOLL_CTL_MOD`); `POLLERR|POLLHUP` stay included.
    pub fn set_mask(&self, waker: &Weak<dyn Waker>, mask: PollEvents) {
        let mask = mask | PollEvents::POLLERR | PollEvents::POLLHUP;
        for w in self.inner.lock().waiters.iter_mut().filter(|w| Weak::ptr_eq(&w.waker, waker)) {
            w.mask = mask;
        }
    }

    /// Removes every registration of `waker`.
    pub fn unregister(&self, waker: &Weak<dyn Waker>) {
        self.inner.lock().waiters.retain(|w| !Weak::ptr_eq(&w.waker, waker));
    }

    /// Adds `events` to the current set and wakes the waiters interested in them.
    pub fn add_events(&self, events: PollEvents) {
        self.inner.lock().events |= events;
        self.notify(events);
    }

    /// Removes `events` from the current set (nobody is woken).
    pub fn del_events(&self, events: PollEvents) {
        self.inner.lock().events.remove(events);
    }

    /// Wakes the waiters whose mask intersects `events` (`wake_up_poll`). Wakers run after the
    /// lock is released, so a waker may call back into this pollee.
    pub fn notify(&self, events: PollEvents) {
        let to_wake: Vec<Arc<dyn Waker>> = {
            let mut inner = self.inner.lock();
            inner.waiters.retain(|w| w.waker.strong_count() > 0);
            inner.pruned_len = inner.waiters.len();
            inner
                .waiters
                .iter()
                .filter(|w| w.mask.intersects(events))
                .filter_map(|w| w.waker.upgrade())
                .collect()
        };
        for w in to_wake {
            w.wake();
        }
    }

    /// The number of live registrations (for tests and diagnostics).
    pub fn waiter_count(&self) -> usize {
        self.inner.lock().waiters.iter().filter(|w| w.waker.strong_count() > 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counter(AtomicUsize);
    impl Waker for Counter {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn wakes_matching_waiters_only() {
        let p = Pollee::default();
        let r = Arc::new(Counter(AtomicUsize::new(0)));
        let w = Arc::new(Counter(AtomicUsize::new(0)));
        let rd: Arc<dyn Waker> = r.clone();
        let wr: Arc<dyn Waker> = w.clone();
        p.register(Arc::downgrade(&rd), PollEvents::POLLIN);
        p.register(Arc::downgrade(&wr), PollEvents::POLLOUT);
        p.add_events(PollEvents::POLLIN);
        assert_eq!(r.0.load(Ordering::Relaxed), 1);
        assert_eq!(w.0.load(Ordering::Relaxed), 0);
        p.notify(PollEvents::POLLHUP);
        assert_eq!(w.0.load(Ordering::Relaxed), 1);
        assert!(p.events().contains(PollEvents::POLLIN));
        p.unregister(&Arc::downgrade(&rd));
        drop(wr);
        drop(w);
        assert_eq!(p.waiter_count(), 0);
    }

    /// Records the order wakers run in.
    struct Named(usize, Arc<KMutex<Vec<usize>>>);
    impl Waker for Named {
        fn wake(&self) {
            self.1.lock().push(self.0);
        }
    }

    #[test]
    fn register_first_wakes_newest_first_and_set_mask_keeps_the_place() {
        let p = Pollee::default();
        let log = Arc::new(KMutex::new(Vec::new()));
        let w: Vec<Arc<dyn Waker>> = (0..3).map(|i| Arc::new(Named(i, log.clone())) as Arc<dyn Waker>).collect();
        p.register(Arc::downgrade(&w[0]), PollEvents::POLLIN);
        p.register_first(Arc::downgrade(&w[1]), PollEvents::POLLIN);
        p.register_first(Arc::downgrade(&w[2]), PollEvents::POLLOUT);
        p.notify(PollEvents::POLLIN);
        assert_eq!(*log.lock(), vec![1, 0]);
        p.set_mask(&Arc::downgrade(&w[2]), PollEvents::POLLIN);
        log.lock().clear();
        p.notify(PollEvents::POLLIN);
        assert_eq!(*log.lock(), vec![2, 1, 0]);
    }
}
