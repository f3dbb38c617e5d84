//! epoll (Linux's `fs/eventpoll.c`): an interest set of `(fd, open file)` items and a ready
//! list filled by callbacks, so `epoll_wait` costs O(ready), not O(watched).
//!
//! # How it works
//! - Each item registers itself as a [`Waker`] on its file's [`Pollee`] for the events it asks
//!   for (plus `EPOLLERR|EPOLLHUP`, always reported). When the file signals one of them the item
//!   puts itself on the instance's ready list (once: `queued`) and wakes both the tasks in
//!   `epoll_wait` (`waiters`, Linux's `ep->wq`) and whoever polls the epoll file itself
//!   (`pollee`, Linux's `ep->poll_wait`: `poll`/`select`, or an epoll watching this one).
//!   Items register ahead of earlier waiters (`Pollee::register_first`, Linux's
//!   `add_wait_queue`), so events that fire together are queued newest registration first, and
//!   `EPOLL_CTL_MOD` changes an item's mask in place.
//! - `epoll_wait` takes the ready list and re-checks each item with the file's `poll()`
//!   (`ep_send_events`): an item no longer ready is dropped; a reported level-triggered item
//!   goes back to the tail of the list, so the next wait sees it again while it stays ready; an
//!   edge-triggered one waits for the next callback; an `EPOLLONESHOT` one is disabled (its
//!   mask keeps only the private bits) until `EPOLL_CTL_MOD` re-arms it.
//! - The epoll file is itself pollable: it is readable when an item on its ready list is ready
//!   (`ep_eventpoll_poll`, which also drops the items that are not). So an epoll can sit in
//!   another epoll or in `poll`. `EPOLL_CTL_ADD` of an epoll refuses loops and chains deeper
//!   than `EP_MAX_NESTS` (`ELOOP`), looking down from the added epoll and up from this one, as
//!   Linux 6.16+ does.
//! - Items follow the open file description, as Linux's `(struct file *, fd)` key: they hold
//!   the [`OpenFile`] weakly, so a registration never keeps a file open. `dup` and `fork` share
//!   the description, and with it the registration; once the last descriptor of the file is
//!   closed the item is dead: it is never reported again and is dropped when next seen (on the
//!   ready list, or when the interest set is pruned, amortised on `EPOLL_CTL_ADD`).
//! - `EPOLLEXCLUSIVE` is accepted on `EPOLL_CTL_ADD` (every waiter is woken, which the flag
//!   allows: "one or more"); `EPOLLWAKEUP` is dropped (umbra has no suspend).
//!
//! One host thread runs all kernel code, so a scan never races a callback; the locks are
//! held only briefly and never across a file's `poll()` or a waker, which may call back in.

use crate::sched::{Current, wait_until};
use fs::klock::KMutex;
use fs::{FileLike, InodeAttr, OpenFile, PollEvents, Pollee, Waker};
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use uapi::flags::{EPOLLERR, EPOLLET, EPOLLEXCLUSIVE, EPOLLHUP, EPOLLIN, EPOLLONESHOT, EPOLLOUT, EPOLLWAKEUP, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD};
use uapi::structs::EpollEvent;
use uapi::{Errno, KResult};

/// `EP_PRIVATE_BITS`: the flags of an item's mask that are not events.
const PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// `EPOLLEXCLUSIVE_OK_BITS`: what may accompany `EPOLLEXCLUSIVE`.
const EXCLUSIVE_OK_BITS: u32 = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// `EP_MAX_NESTS`: how deep epolls may nest.
pub const EP_MAX_NESTS: usize = 4;
/// `EP_MAX_EVENTS`: the largest `maxevents` (`INT_MAX / sizeof(struct epoll_event)`).
pub const EP_MAX_EVENTS: usize = i32::MAX as usize / std::mem::size_of::<EpollEvent>();

/// An item's identity: the fd number it was added under and its open file description.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Key {
    fd: i32,
    file: usize,
}

impl Key {
    fn new(fd: i32, file: &Arc<OpenFile>) -> Key {
        Key { fd, file: Arc::as_ptr(file) as usize }
    }
}

/// What an item asks for and whether it is on the ready list.
struct ItemState {
    /// The requested events plus `EPOLLERR|EPOLLHUP` and the private flags; only the private
    /// flags once an `EPOLLONESHOT` item has fired.
    events: u32,
    data: u64,
    /// On the ready list (or in a scan that will put it back).
    queued: bool,
}

/// One watched `(fd, file)` of an epoll (Linux's `struct epitem`); also the waker registered
/// on the file's pollee.
struct Item {
    key: Key,
    file: Weak<OpenFile>,
    owner: Weak<Epoll>,
    me: Weak<Item>,
    state: KMutex<ItemState>,
}

impl Item {
    /// The event to report if the file is ready for what the item asks (`ep_item_poll`);
    /// `None` if not, or if the file was closed.
    fn ready_event(&self) -> Option<EpollEvent> {
        let file = self.file.upgrade()?;
        let (events, data) = {
            let st = self.state.lock();
            (st.events, st.data)
        };
        let revents = u32::from(file.poll().bits()) & events;
        (revents != 0).then_some(EpollEvent { events: revents, data })
    }

    /// Applies what reporting an event does to the item; true if it goes back on the ready
    /// list (level-triggered).
    fn reported(&self) -> bool {
        let mut st = self.state.lock();
        if st.events & EPOLLONESHOT != 0 {
            st.events &= PRIVATE_BITS;
            false
        } else {
            st.events & EPOLLET == 0
        }
    }

    /// Marks the item queued; true if it was not already.
    fn mark_queued(&self) -> bool {
        !std::mem::replace(&mut self.state.lock().queued, true)
    }

    /// The mask the item's waker is registered with on the file's pollee.
    fn pollee_mask(events: u32) -> PollEvents {
        PollEvents::from_bits_truncate((events & 0xffff) as u16)
    }

    fn as_waker(self: &Arc<Self>) -> Weak<dyn Waker> {
        let w: Arc<dyn Waker> = self.clone();
        Arc::downgrade(&w)
    }
}

impl Waker for Item {
    /// `ep_poll_callback`: a disabled (fired one-shot) item ignores the wake; otherwise the item
    /// joins the ready list if not on it, and the epoll's waiters and pollers are woken.
    fn wake(&self) {
        let Some(ep) = self.owner.upgrade() else { return };
        if self.state.lock().events & !PRIVATE_BITS == 0 {
            return;
        }
        if self.mark_queued() {
            if let Some(me) = self.me.upgrade() {
                ep.ready.lock().push_back(me);
            }
        }
        ep.signal_ready();
    }
}

/// The interest set (Linux's red-black tree of items).
#[derive(Default)]
struct Interest {
    items: HashMap<Key, Arc<Item>>,
    /// Size after the last pruning of dead items.
    pruned_len: usize,
}

impl Interest {
    /// Drops the items whose file is closed once they could make up half the set.
    fn prune_if_needed(&mut self) {
        if self.items.len() >= self.pruned_len.saturating_mul(2).max(8) {
            self.items.retain(|_, it| it.file.strong_count() > 0);
            self.pruned_len = self.items.len();
        }
    }
}

/// An epoll instance (Linux's `struct eventpoll`), the file behind an epoll fd.
pub struct Epoll {
    me: Weak<Epoll>,
    interest: KMutex<Interest>,
    ready: KMutex<VecDeque<Arc<Item>>>,
    /// Tasks sleeping in `epoll_wait` (`ep->wq`).
    waiters: Pollee,
    /// Those polling the epoll file (`ep->poll_wait`).
    pollee: Pollee,
    /// Items of other epolls that watch this one (`ep->refs`), for the upward depth check.
    watchers: KMutex<Vec<Weak<Item>>>,
    /// True once a console file was added: `epoll_wait` then pumps host input first, as
    /// `poll` does.
    watches_console: AtomicBool,
    attr: InodeAttr,
}

/// The epoll behind `file`, if it is one.
pub fn epoll_of(file: &OpenFile) -> Option<&Epoll> {
    file.file_like()?.as_any().downcast_ref::<Epoll>()
}

/// What `epoll_ctl` is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtlOp {
    /// `EPOLL_CTL_ADD`.
    Add,
    /// `EPOLL_CTL_MOD`.
    Mod,
    /// `EPOLL_CTL_DEL`.
    Del,
    /// Any other value (`EINVAL` once the descriptors have been checked).
    Unknown,
}

impl CtlOp {
    /// Decodes the `op` argument.
    pub fn from_raw(op: u32) -> CtlOp {
        match op {
            EPOLL_CTL_ADD => CtlOp::Add,
            EPOLL_CTL_MOD => CtlOp::Mod,
            EPOLL_CTL_DEL => CtlOp::Del,
            _ => CtlOp::Unknown,
        }
    }

    /// True if the call reads an `epoll_event` (`ep_op_has_event`: all but `DEL`).
    pub fn has_event(self) -> bool {
        self != CtlOp::Del
    }
}

impl Epoll {
    /// A new, empty instance; `owner` is who `fstat` shows.
    pub fn new(owner: (u32, u32)) -> Arc<Epoll> {
        Arc::new_cyclic(|me| Epoll {
            me: me.clone(),
            interest: KMutex::new(Interest::default()),
            ready: KMutex::new(VecDeque::new()),
            waiters: Pollee::default(),
            pollee: Pollee::default(),
            watchers: KMutex::new(Vec::new()),
            watches_console: AtomicBool::new(false),
            attr: crate::timers::eventfd::anon_attr(owner),
        })
    }

    /// `do_epoll_ctl` once both descriptors are resolved: `ep_file` is the description of
    /// `epfd`, `file` that of `fd`; `event` is what the caller passed (for all ops but `DEL`).
    /// Errors in Linux's order: `EPERM` (the file cannot be polled: regular files, directories),
    /// `EINVAL` (not an epoll, or itself; `EPOLLEXCLUSIVE` on `MOD`, on an epoll or with other
    /// flags), `ELOOP`, then `EEXIST`/`ENOENT`, and `EINVAL` for an unknown op.
    pub fn ctl(ep_file: &Arc<OpenFile>, op: CtlOp, fd: i32, file: &Arc<OpenFile>, event: EpollEvent) -> KResult<()> {
        file.pollee().ok_or(Errno::EPERM)?;
        let mut events = event.events & !EPOLLWAKEUP;
        let data = event.data;
        let ep = epoll_of(ep_file).filter(|_| !Arc::ptr_eq(ep_file, file)).ok_or(Errno::EINVAL)?;
        let target_ep = epoll_of(file);
        if op.has_event() && events & EPOLLEXCLUSIVE != 0 {
            let bad_add = target_ep.is_some() || events & !EXCLUSIVE_OK_BITS != 0;
            if op == CtlOp::Mod || (op == CtlOp::Add && bad_add) {
                return Err(Errno::EINVAL);
            }
        }
        if op == CtlOp::Add {
            if let Some(t) = target_ep {
                ep.check_nesting(t)?;
            }
        }
        let key = Key::new(fd, file);
        let existing = ep.interest.lock().items.get(&key).cloned();
        events |= EPOLLERR | EPOLLHUP;
        match (op, existing) {
            (CtlOp::Add, None) => ep.insert(key, file, events, data),
            (CtlOp::Add, Some(_)) => Err(Errno::EEXIST),
            (CtlOp::Mod, Some(item)) => ep.modify(&item, file, events, data),
            (CtlOp::Del, Some(item)) => {
                ep.remove(&item, file);
                Ok(())
            }
            (CtlOp::Mod | CtlOp::Del, None) => Err(Errno::ENOENT),
            (CtlOp::Unknown, _) => Err(Errno::EINVAL),
        }
    }

    /// `ep_insert`: registers a new item and queues it if the file is ready already.
    fn insert(&self, key: Key, file: &Arc<OpenFile>, events: u32, data: u64) -> KResult<()> {
        let pollee = file.pollee().ok_or(Errno::EPERM)?;
        let item = Arc::new_cyclic(|me| Item {
            key,
            file: Arc::downgrade(file),
            owner: self.me.clone(),
            me: me.clone(),
            state: KMutex::new(ItemState { events, data, queued: false }),
        });
        pollee.register_first(item.as_waker(), Item::pollee_mask(events));
        if let Some(target) = epoll_of(file) {
            let mut w = target.watchers.lock();
            w.retain(|i| i.strong_count() > 0);
            w.push(Arc::downgrade(&item));
        }
        if crate::fileio::is_console_file(file) {
            self.watches_console.store(true, Ordering::Relaxed);
        }
        {
            let mut interest = self.interest.lock();
            interest.prune_if_needed();
            interest.items.insert(key, item.clone());
        }
        self.queue_if_ready(&item);
        Ok(())
    }

    /// `ep_modify`: new mask and data (re-arming a fired one-shot item), then queued if ready.
    /// `EINVAL` for an item added with `EPOLLEXCLUSIVE`.
    fn modify(&self, item: &Arc<Item>, file: &Arc<OpenFile>, events: u32, data: u64) -> KResult<()> {
        {
            let mut st = item.state.lock();
            if st.events & EPOLLEXCLUSIVE != 0 {
                return Err(Errno::EINVAL);
            }
            st.events = events;
            st.data = data;
        }
        if let Some(pollee) = file.pollee() {
            pollee.set_mask(&item.as_waker(), Item::pollee_mask(events));
        }
        self.queue_if_ready(item);
        Ok(())
    }

    /// `ep_remove`: the item leaves the interest set, the ready list and the file's pollee.
    fn remove(&self, item: &Arc<Item>, file: &Arc<OpenFile>) {
        self.interest.lock().items.remove(&item.key);
        self.ready.lock().retain(|i| !Arc::ptr_eq(i, item));
        item.state.lock().queued = false;
        if let Some(pollee) = file.pollee() {
            pollee.unregister(&item.as_waker());
        }
    }

    /// Forgets an item whose file was closed (seen on the ready list).
    fn forget(&self, item: &Arc<Item>) {
        let mut interest = self.interest.lock();
        if interest.items.get(&item.key).is_some_and(|i| Arc::ptr_eq(i, item)) {
            interest.items.remove(&item.key);
        }
    }

    /// Puts `item` on the ready list if its file is ready now and it is not there yet.
    fn queue_if_ready(&self, item: &Arc<Item>) {
        if item.ready_event().is_some() && item.mark_queued() {
            self.ready.lock().push_back(item.clone());
            self.signal_ready();
        }
    }

    /// Wakes the tasks in `epoll_wait` and those polling the epoll file.
    fn signal_ready(&self) {
        self.waiters.notify(PollEvents::POLLIN);
        self.pollee.notify(PollEvents::POLLIN | PollEvents::POLLRDNORM);
    }

    /// Puts a scanned batch back: `front` (not looked at, or to retry) ahead of what was
    /// queued meanwhile, then `tail` (reported level-triggered items) unless already queued.
    fn merge_back(&self, front: VecDeque<Arc<Item>>, tail: Vec<Arc<Item>>) {
        let mut ready = self.ready.lock();
        let arrived = std::mem::replace(&mut *ready, front);
        ready.extend(arrived);
        for item in tail {
            if item.mark_queued() {
                ready.push_back(item);
            }
        }
    }

    /// `ep_send_events`: reports up to `max` ready items through `emit` (which copies one
    /// event to the caller) and returns how many it reported. An item that is no longer ready
    /// leaves the list; a closed file's item leaves the interest set. If `emit` fails on the
    /// first event, `EFAULT` (and the item stays queued); on a later one, the count so far.
    pub fn harvest(&self, max: usize, emit: &mut dyn FnMut(EpollEvent) -> KResult<()>) -> KResult<usize> {
        let mut batch = std::mem::take(&mut *self.ready.lock());
        let mut requeue = Vec::new();
        let mut sent = 0usize;
        let mut fault = false;
        while sent < max {
            let Some(item) = batch.pop_front() else { break };
            item.state.lock().queued = false;
            let Some(ev) = item.ready_event() else {
                if item.file.strong_count() == 0 {
                    self.forget(&item);
                }
                continue;
            };
            if emit(ev).is_err() {
                item.state.lock().queued = true;
                batch.push_front(item);
                fault = sent == 0;
                break;
            }
            sent += 1;
            if item.reported() {
                requeue.push(item);
            }
        }
        self.merge_back(batch, requeue);
        if fault {
            return Err(Errno::EFAULT);
        }
        Ok(sent)
    }

    /// Whether an item on the ready list is ready (`ep_eventpoll_poll`); those found not
    /// ready on the way leave the list.
    fn has_ready(&self) -> bool {
        let mut batch = std::mem::take(&mut *self.ready.lock());
        let mut found = false;
        while let Some(item) = batch.pop_front() {
            if item.ready_event().is_some() {
                batch.push_front(item);
                found = true;
                break;
            }
            item.state.lock().queued = false;
        }
        self.merge_back(batch, Vec::new());
        found
    }

    /// The number of items in the interest set (closed files' items included until pruned).
    pub fn item_count(&self) -> usize {
        self.interest.lock().items.len()
    }

    /// `ep_loop_check`: adding epoll `to` to this one must not close a loop, and the chain
    /// through it must stay within `EP_MAX_NESTS` (depth below `to` + 1 + depth above us).
    fn check_nesting(&self, to: &Epoll) -> KResult<()> {
        let below = to.depth_below(self, 0, &mut HashMap::new());
        if below > EP_MAX_NESTS {
            return Err(Errno::ELOOP);
        }
        let above = self.depth_above(&mut HashMap::new());
        if below + 1 + above > EP_MAX_NESTS {
            return Err(Errno::ELOOP);
        }
        Ok(())
    }

    /// The epolls this one watches (files still open).
    fn watched_epoll_files(&self) -> Vec<Arc<OpenFile>> {
        let interest = self.interest.lock();
        interest.items.values().filter_map(|i| i.file.upgrade()).filter(|f| epoll_of(f).is_some()).collect()
    }

    /// `ep_loop_check_proc`: how deep epolls nest below this one; more than `EP_MAX_NESTS` if
    /// `inserting_into` is reachable (a loop) or the chain is too deep.
    fn depth_below(&self, inserting_into: &Epoll, depth: usize, memo: &mut HashMap<usize, usize>) -> usize {
        let id = self as *const Epoll as usize;
        if let Some(&d) = memo.get(&id) {
            return d;
        }
        memo.insert(id, 0);
        let mut result = 0;
        for f in self.watched_epoll_files() {
            let Some(child) = epoll_of(&f) else { continue };
            if std::ptr::eq(child, inserting_into) || depth > EP_MAX_NESTS {
                result = EP_MAX_NESTS + 1;
            } else {
                result = result.max(child.depth_below(inserting_into, depth + 1, memo).saturating_add(1));
            }
            if result > EP_MAX_NESTS {
                break;
            }
        }
        memo.insert(id, result);
        result
    }

    /// `ep_get_upwards_depth_proc`: how many epolls deep this one is watched.
    fn depth_above(&self, memo: &mut HashMap<usize, usize>) -> usize {
        let id = self as *const Epoll as usize;
        if let Some(&d) = memo.get(&id) {
            return d;
        }
        memo.insert(id, 0);
        let parents: Vec<Arc<Epoll>> = {
            let w = self.watchers.lock();
            w.iter().filter_map(Weak::upgrade).filter(|i| i.file.strong_count() > 0).filter_map(|i| i.owner.upgrade()).collect()
        };
        let result = parents.iter().map(|p| p.depth_above(memo).saturating_add(1)).max().unwrap_or(0);
        memo.insert(id, result);
        result
    }
}

impl FileLike for Epoll {
    /// An epoll file has no read (`EINVAL`, as `eventpoll_fops` has none).
    fn read(&self, _buf: &mut [u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    /// Nor a write.
    fn write(&self, _data: &[u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    /// Readable while an item on the ready list is ready.
    fn poll(&self) -> PollEvents {
        if self.has_ready() {
            PollEvents::POLLIN | PollEvents::POLLRDNORM
        } else {
            PollEvents::empty()
        }
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.pollee)
    }

    fn stat(&self) -> Option<InodeAttr> {
        Some(self.attr)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `ep_poll`: waits for events on `ep` and reports up to `max` of them through `emit(cur, i,
/// event)` (the `i`th slot of the caller's array). `timeout` `None` waits forever; zero only
/// looks. A signal ends the wait with `EINTR` (epoll is never restarted, as on Linux); the
/// timeout with 0.
pub fn wait(
    cur: &mut Current,
    ep: &Epoll,
    max: usize,
    timeout: Option<Duration>,
    emit: &mut dyn FnMut(&mut Current, usize, EpollEvent) -> KResult<()>,
) -> KResult<usize> {
    if ep.watches_console.load(Ordering::Relaxed) {
        crate::tty_glue::pump_input();
    }
    let mut harvest = |cur: &mut Current| {
        let mut i = 0usize;
        ep.harvest(max, &mut |ev| {
            let r = emit(cur, i, ev);
            i += 1;
            r
        })
    };
    if timeout == Some(Duration::ZERO) {
        return harvest(cur);
    }
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let r = wait_until(cur, &[&ep.waiters], PollEvents::POLLIN, deadline, |cur| match harvest(cur) {
        Ok(0) => None,
        r => Some(r),
    });
    match r {
        Err(Errno::ETIMEDOUT) => Ok(0),
        Err(Errno::ERESTARTSYS) => Err(Errno::EINTR),
        r => r,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use uapi::flags::OpenFlags;

    /// A file whose readiness the test sets, counting its `poll()` calls.
    #[derive(Default)]
    struct Toy {
        pollee: Pollee,
        ready: KMutex<PollEvents>,
        polls: AtomicUsize,
    }

    impl Toy {
        fn set(&self, ev: PollEvents) {
            *self.ready.lock() = ev;
            self.pollee.notify(ev);
        }
    }

    impl FileLike for Toy {
        fn read(&self, _: &mut [u8], _: u64) -> KResult<usize> {
            Ok(0)
        }
        fn write(&self, d: &[u8], _: u64) -> KResult<usize> {
            Ok(d.len())
        }
        fn poll(&self) -> PollEvents {
            self.polls.fetch_add(1, Ordering::Relaxed);
            *self.ready.lock()
        }
        fn pollee(&self) -> Option<&Pollee> {
            Some(&self.pollee)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn toy() -> (Arc<Toy>, Arc<OpenFile>) {
        let t = Arc::new(Toy::default());
        let f = OpenFile::new_anonymous(t.clone(), OpenFlags::RDWR);
        (t, f)
    }

    fn epoll() -> Arc<OpenFile> {
        OpenFile::new_anonymous(Epoll::new((0, 0)), OpenFlags::RDWR)
    }

    fn ev(events: u32, data: u64) -> EpollEvent {
        EpollEvent { events, data }
    }

    /// The events a harvest of up to 16 reports.
    fn harvest(ep: &Arc<OpenFile>) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let n = epoll_of(ep).unwrap().harvest(16, &mut |e| {
            out.push((e.events, e.data));
            Ok(())
        });
        assert_eq!(n, Ok(out.len()));
        out
    }

    const IN: PollEvents = PollEvents::POLLIN;

    #[test]
    fn level_triggered_stays_reported_while_ready() {
        let (ep, (t, f)) = (epoll(), toy());
        Epoll::ctl(&ep, CtlOp::Add, 3, &f, ev(EPOLLIN, 7)).unwrap();
        assert!(harvest(&ep).is_empty());
        t.set(IN);
        assert_eq!(harvest(&ep), vec![(EPOLLIN, 7)]);
        assert_eq!(harvest(&ep), vec![(EPOLLIN, 7)]);
        t.set(PollEvents::empty());
        assert!(harvest(&ep).is_empty());
        assert!(harvest(&ep).is_empty());
    }

    #[test]
    fn edge_triggered_reports_each_wake_once() {
        let (ep, (t, f)) = (epoll(), toy());
        Epoll::ctl(&ep, CtlOp::Add, 3, &f, ev(EPOLLIN | EPOLLET, 1)).unwrap();
        t.set(IN);
        assert_eq!(harvest(&ep), vec![(EPOLLIN, 1)]);
        assert!(harvest(&ep).is_empty());
        t.set(IN);
        assert_eq!(harvest(&ep), vec![(EPOLLIN, 1)]);
    }

    #[test]
    fn oneshot_is_disabled_until_modified() {
        let (ep, (t, f)) = (epoll(), toy());
        Epoll::ctl(&ep, CtlOp::Add, 3, &f, ev(EPOLLIN | EPOLLONESHOT, 1)).unwrap();
        t.set(IN);
        assert_eq!(harvest(&ep), vec![(EPOLLIN, 1)]);
        t.set(IN | PollEvents::POLLHUP);
        assert!(harvest(&ep).is_empty());
        Epoll::ctl(&ep, CtlOp::Mod, 3, &f, ev(EPOLLIN | EPOLLONESHOT, 2)).unwrap();
        assert_eq!(harvest(&ep), vec![(EPOLLIN | EPOLLHUP, 2)]);
        assert!(harvest(&ep).is_empty());
    }

    #[test]
    fn ctl_errors_follow_linux() {
        let (ep, (_t, f)) = (epoll(), toy());
        let add = |fd, e| Epoll::ctl(&ep, CtlOp::Add, fd, &f, ev(e, 0));
        add(3, EPOLLIN).unwrap();
        assert_eq!(add(3, EPOLLIN), Err(Errno::EEXIST));
        add(4, EPOLLIN).unwrap(); // another fd of the same description is another item
        assert_eq!(Epoll::ctl(&ep, CtlOp::Mod, 5, &f, ev(EPOLLIN, 0)), Err(Errno::ENOENT));
        assert_eq!(Epoll::ctl(&ep, CtlOp::Del, 5, &f, ev(0, 0)), Err(Errno::ENOENT));
        assert_eq!(Epoll::ctl(&ep, CtlOp::Unknown, 3, &f, ev(0, 0)), Err(Errno::EINVAL));
        assert_eq!(Epoll::ctl(&ep, CtlOp::Add, 6, &ep, ev(EPOLLIN, 0)), Err(Errno::EINVAL));
        assert_eq!(Epoll::ctl(&f, CtlOp::Add, 6, &ep, ev(EPOLLIN, 0)), Err(Errno::EINVAL));
        assert_eq!(add(7, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT), Err(Errno::EINVAL));
        add(7, EPOLLIN | EPOLLEXCLUSIVE).unwrap();
        assert_eq!(Epoll::ctl(&ep, CtlOp::Mod, 7, &f, ev(EPOLLIN, 0)), Err(Errno::EINVAL));
        assert_eq!(Epoll::ctl(&ep, CtlOp::Mod, 3, &f, ev(EPOLLIN | EPOLLEXCLUSIVE, 0)), Err(Errno::EINVAL));
        Epoll::ctl(&ep, CtlOp::Del, 3, &f, ev(0, 0)).unwrap();
        assert_eq!(epoll_of(&ep).unwrap().item_count(), 2);
    }

    #[test]
    fn a_closed_file_is_never_reported_and_leaves_the_set() {
        let (ep, (t, f)) = (epoll(), toy());
        Epoll::ctl(&ep, CtlOp::Add, 3, &f, ev(EPOLLIN, 1)).unwrap();
        t.set(IN);
        drop(f);
        assert!(harvest(&ep).is_empty());
        assert_eq!(epoll_of(&ep).unwrap().item_count(), 0);
        assert_eq!(t.pollee.waiter_count(), 0);
    }

    #[test]
    fn wait_costs_the_ready_items_not_the_watched_ones() {
        let ep = epoll();
        let toys: Vec<_> = (0..1000).map(|_| toy()).collect();
        for (i, (_, f)) in toys.iter().enumerate() {
            Epoll::ctl(&ep, CtlOp::Add, i as i32, f, ev(EPOLLIN, i as u64)).unwrap();
        }
        let polls = || toys.iter().map(|(t, _)| t.polls.load(Ordering::Relaxed)).sum::<usize>();
        let before = polls();
        toys[500].0.set(IN);
        assert_eq!(harvest(&ep), vec![(EPOLLIN, 500)]);
        assert_eq!(polls() - before, 1);
    }

    #[test]
    fn nested_epoll_is_readable_and_loops_are_refused() {
        let (outer, inner, (t, f)) = (epoll(), epoll(), toy());
        Epoll::ctl(&inner, CtlOp::Add, 3, &f, ev(EPOLLIN, 1)).unwrap();
        Epoll::ctl(&outer, CtlOp::Add, 4, &inner, ev(EPOLLIN, 2)).unwrap();
        assert!(harvest(&outer).is_empty());
        assert_eq!(inner.poll(), PollEvents::empty());
        t.set(IN);
        assert_eq!(inner.poll(), IN | PollEvents::POLLRDNORM);
        assert_eq!(harvest(&outer), vec![(EPOLLIN, 2)]);
        assert_eq!(Epoll::ctl(&inner, CtlOp::Add, 5, &outer, ev(EPOLLIN, 0)), Err(Errno::ELOOP));
        assert_eq!(Epoll::ctl(&inner, CtlOp::Add, 5, &inner, ev(EPOLLIN, 0)), Err(Errno::EINVAL));
        assert_eq!(Epoll::ctl(&outer, CtlOp::Add, 6, &inner, ev(EPOLLIN | EPOLLEXCLUSIVE, 0)), Err(Errno::EINVAL));
    }

    #[test]
    fn chains_deeper_than_max_nests_are_refused_both_ways() {
        // Bottom-up: e[i+1] watches e[i].
        let e: Vec<_> = (0..7).map(|_| epoll()).collect();
        let mut first_refused = None;
        for i in 0..6 {
            if Epoll::ctl(&e[i + 1], CtlOp::Add, 0, &e[i], ev(EPOLLIN, 0)).is_err() {
                first_refused = Some(i);
                break;
            }
        }
        assert_eq!(first_refused, Some(EP_MAX_NESTS));
        // Top-down: adding below an epoll already watched counts the levels above.
        let d: Vec<_> = (0..7).map(|_| epoll()).collect();
        let mut first_refused = None;
        for i in 0..6 {
            if Epoll::ctl(&d[i], CtlOp::Add, 0, &d[i + 1], ev(EPOLLIN, 0)).is_err() {
                first_refused = Some(i);
                break;
            }
        }
        assert_eq!(first_refused, Some(EP_MAX_NESTS));
    }
}
