//! inotify instances (Linux's `fs/notify/inotify/`): a file whose reads return the events of
//! the watches added to it. The VFS operations raise the events (`fs::notify::Notifier`);
//! an instance is the `NotifySink` that queues them as `struct inotify_event` records, merges
//! an event identical to the last one queued (as Linux does), marks an overflow with one
//! `IN_Q_OVERFLOW` record once `max_queued_events` is reached, and wakes its readers through
//! its `Pollee`. The limits are `/proc/sys/fs/inotify/{max_queued_events,max_user_watches}`
//! (per instance here; Linux counts watches per user).

use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Weak};

use fs::klock::KMutex;
use fs::locks::InodeKey;
use fs::notify::{mask, Notifier, NotifySink};
use fs::{FileLike, InodeAttr, PollEvents, Pollee, UserMemory};
use uapi::{Errno, KResult};

/// Linux's default `/proc/sys/fs/inotify/max_queued_events`.
pub const MAX_QUEUED_EVENTS: usize = 16384;
/// Linux's default `/proc/sys/fs/inotify/max_user_watches` (per instance here).
pub const MAX_USER_WATCHES: usize = 8192;
/// A `/proc/sys/fs/inotify` limit as root set it, or its default.
fn limit(name: &str, default: usize) -> usize {
    crate::task::kernel::try_kernel()
        .and_then(|k| k.sysctls.lock().get(name).and_then(|v| v.parse::<usize>().ok()))
        .unwrap_or(default)
}

/// The size of `struct inotify_event` before its name.
const EVENT_HEADER: usize = 16;

/// One queued event.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    /// The name field's length: NUL-terminated and padded to a multiple of 16 bytes, as Linux's
    /// `round_event_name_len`; 0 when there is no name.
    fn name_len(&self) -> usize {
        if self.name.is_empty() {
            0
        } else {
            (self.name.len() + 1).div_ceil(EVENT_HEADER) * EVENT_HEADER
        }
    }

    fn size(&self) -> usize {
        EVENT_HEADER + self.name_len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.wd.to_ne_bytes());
        out.extend_from_slice(&self.mask.to_ne_bytes());
        out.extend_from_slice(&self.cookie.to_ne_bytes());
        out.extend_from_slice(&(self.name_len() as u32).to_ne_bytes());
        let start = out.len();
        out.extend_from_slice(&self.name);
        out.resize(start + self.name_len(), 0);
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<Event>,
    /// The overflow record is queued (no more events until it is read).
    overflowed: bool,
    /// Watches by wd: the inode watched and its mask.
    watches: BTreeMap<i32, (InodeKey, u32)>,
    next_wd: i32,
}

/// An inotify instance.
pub struct Inotify {
    me: Weak<Inotify>,
    notifier: Arc<Notifier>,
    state: KMutex<State>,
    pollee: Pollee,
    owner: (u32, u32),
}

impl Inotify {
    /// A new instance reporting the events of `notifier`'s VFS; `owner` is (uid, gid) for fstat.
    pub fn new(notifier: Arc<Notifier>, owner: (u32, u32)) -> Arc<Inotify> {
        Arc::new_cyclic(|me| Inotify { me: me.clone(), notifier, state: KMutex::new(State::default()), pollee: Pollee::default(), owner })
    }

    fn sink(&self) -> Weak<dyn NotifySink> {
        let w: Weak<dyn NotifySink> = self.me.clone();
        w
    }

    /// `inotify_add_watch` on the inode `key` (a directory if `is_dir`): returns its watch
    /// descriptor, the same one for an inode already watched. `IN_MASK_ADD` adds to the old
    /// mask, `IN_MASK_CREATE` refuses an existing watch (`EEXIST`), `IN_ONLYDIR` a
    /// non-directory (`ENOTDIR`); `ENOSPC` past `MAX_USER_WATCHES`.
    pub fn add_watch(&self, key: InodeKey, is_dir: bool, m: u32) -> KResult<i32> {
        if m & mask::ONLYDIR != 0 && !is_dir {
            return Err(Errno::ENOTDIR);
        }
        let mut s = self.state.lock();
        let existing = s.watches.iter().find(|(_, (k, _))| *k == key).map(|(wd, (_, old))| (*wd, *old));
        let (wd, new_mask) = match existing {
            Some(_) if m & mask::MASK_CREATE != 0 => return Err(Errno::EEXIST),
            Some((wd, old)) if m & mask::MASK_ADD != 0 => (wd, old | m),
            Some((wd, _)) => (wd, m),
            None => {
                if s.watches.len() >= limit("fs/inotify/max_user_watches", MAX_USER_WATCHES) {
                    return Err(Errno::ENOSPC);
                }
                s.next_wd = s.next_wd.checked_add(1).ok_or(Errno::ENOSPC)?;
                (s.next_wd, m)
            }
        };
        let kept = new_mask & (mask::ALL_EVENTS | mask::ONESHOT | mask::EXCL_UNLINK);
        s.watches.insert(wd, (key, kept));
        drop(s);
        self.notifier.set_watch(key, &self.sink(), wd, kept);
        Ok(wd)
    }

    /// `inotify_rm_watch`: removes watch `wd` and queues its `IN_IGNORED` (`EINVAL` for an
    /// unknown wd).
    pub fn rm_watch(&self, wd: i32) -> KResult<()> {
        let (key, _) = self.state.lock().watches.remove(&wd).ok_or(Errno::EINVAL)?;
        self.notifier.remove_watch(key, &self.sink());
        self.queue(Event { wd, mask: mask::IGNORED, cookie: 0, name: Vec::new() });
        Ok(())
    }

    /// Queues one event (merged with an identical last one; an overflow record past the limit).
    fn queue(&self, ev: Event) {
        let mut s = self.state.lock();
        if ev.mask & mask::IGNORED != 0 {
            s.watches.remove(&ev.wd);
        }
        if s.overflowed || s.queue.back() == Some(&ev) {
            return;
        }
        if s.queue.len() >= limit("fs/inotify/max_queued_events", MAX_QUEUED_EVENTS) {
            s.overflowed = true;
            s.queue.push_back(Event { wd: -1, mask: mask::Q_OVERFLOW, cookie: 0, name: Vec::new() });
        } else {
            s.queue.push_back(ev);
        }
        drop(s);
        self.pollee.add_events(PollEvents::POLLIN | PollEvents::POLLRDNORM);
    }

    /// Bytes of events waiting (`FIONREAD`).
    fn pending_bytes(&self) -> usize {
        self.state.lock().queue.iter().map(Event::size).sum()
    }
}

impl NotifySink for Inotify {
    fn event(&self, wd: i32, m: u32, cookie: u32, name: &[u8]) {
        self.queue(Event { wd, mask: m, cookie, name: name.to_vec() });
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        let watches = std::mem::take(&mut self.state.lock().watches);
        let sink: Weak<dyn NotifySink> = self.me.clone();
        for (key, _) in watches.into_values() {
            self.notifier.remove_watch(key, &sink);
        }
    }
}

impl FileLike for Inotify {
    /// Whole events only: `EINVAL` if the buffer cannot hold the first one, `EAGAIN` when empty.
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        let mut s = self.state.lock();
        let first = s.queue.front().ok_or(Errno::EAGAIN)?;
        if first.size() > buf.len() {
            return Err(Errno::EINVAL);
        }
        let mut out = Vec::with_capacity(buf.len());
        while let Some(ev) = s.queue.front() {
            if out.len() + ev.size() > buf.len() {
                break;
            }
            ev.encode(&mut out);
            if ev.mask & mask::Q_OVERFLOW != 0 {
                s.overflowed = false;
            }
            s.queue.pop_front();
        }
        if s.queue.is_empty() {
            self.pollee.del_events(PollEvents::POLLIN | PollEvents::POLLRDNORM);
        }
        let n = out.len();
        buf.get_mut(..n).ok_or(Errno::EINVAL)?.copy_from_slice(&out);
        Ok(n)
    }

    fn write(&self, _data: &[u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    fn poll(&self) -> PollEvents {
        if self.state.lock().queue.is_empty() {
            PollEvents::empty()
        } else {
            PollEvents::POLLIN | PollEvents::POLLRDNORM
        }
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.pollee)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
        if cmd != uapi::flags::FIONREAD {
            return Err(Errno::ENOTTY);
        }
        let n = i32::try_from(self.pending_bytes()).unwrap_or(i32::MAX);
        mem.write(arg, &n.to_ne_bytes())?;
        Ok(0)
    }

    fn stat(&self) -> Option<InodeAttr> {
        Some(crate::timers::eventfd::anon_attr(self.owner))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_encoded_padded_merged_and_bounded() {
        let n = Arc::new(Notifier::default());
        let i = Inotify::new(n, (0, 0));
        let k = InodeKey { dev: 9, ino: 1 };
        let wd = i.add_watch(k, true, mask::CREATE).unwrap_or(-1);
        assert_eq!(wd, 1);
        assert_eq!(i.add_watch(k, true, mask::DELETE | mask::MASK_ADD), Ok(1));
        assert_eq!(i.add_watch(k, true, mask::CREATE | mask::MASK_CREATE), Err(Errno::EEXIST));
        assert_eq!(i.add_watch(k, false, mask::CREATE | mask::ONLYDIR), Err(Errno::ENOTDIR));
        i.event(1, mask::CREATE, 0, b"abc");
        i.event(1, mask::CREATE, 0, b"abc");
        assert_eq!(i.pending_bytes(), 32);
        let mut buf = [0u8; 16];
        assert_eq!(i.read(&mut buf, 0), Err(Errno::EINVAL));
        let mut buf = [0u8; 64];
        assert_eq!(i.read(&mut buf, 0), Ok(32));
        assert_eq!(&buf[12..16], &16u32.to_ne_bytes());
        assert_eq!(&buf[16..20], b"abc\0");
        assert_eq!(i.read(&mut buf, 0), Err(Errno::EAGAIN));
        for j in 0..MAX_QUEUED_EVENTS + 5 {
            i.event(1, mask::CREATE, 0, format!("{j}").as_bytes());
        }
        assert_eq!(i.state.lock().queue.back().map(|e| e.mask), Some(mask::Q_OVERFLOW));
        assert_eq!(i.rm_watch(1), Ok(()));
        assert_eq!(i.rm_watch(1), Err(Errno::EINVAL));
    }
}
