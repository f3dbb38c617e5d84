//! File-system notification, inotify's half inside fs (Linux's `fsnotify`): the VFS operations
//! report what they did — a name created, deleted or moved, a file opened, modified, read,
//! closed, its attributes changed, a filesystem unmounted — and the [`Notifier`] hands each
//! event to the watches on the inode concerned. A watch on a directory also gets the events of
//! the files in it, with the file's name (Linux's `fsnotify_parent`).
//!
//! The watches' owners are kernel objects (inotify instances) behind the [`NotifySink`] trait,
//! so fs never needs the kernel. While no watch exists anywhere, every report costs one atomic
//! load.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use crate::inode::Inode;
use crate::klock::KMutex;
use crate::locks::InodeKey;
use crate::mount::Path;

/// Linux's `IN_*` event and flag bits (`include/uapi/linux/inotify.h`).
pub mod mask {
    /// File was read.
    pub const ACCESS: u32 = 0x1;
    /// File was written.
    pub const MODIFY: u32 = 0x2;
    /// Metadata changed.
    pub const ATTRIB: u32 = 0x4;
    /// A file opened for writing was closed.
    pub const CLOSE_WRITE: u32 = 0x8;
    /// A file not opened for writing was closed.
    pub const CLOSE_NOWRITE: u32 = 0x10;
    /// File was opened.
    pub const OPEN: u32 = 0x20;
    /// A name moved out of the watched directory.
    pub const MOVED_FROM: u32 = 0x40;
    /// A name moved into the watched directory.
    pub const MOVED_TO: u32 = 0x80;
    /// A name was created in the watched directory.
    pub const CREATE: u32 = 0x100;
    /// A name was deleted from the watched directory.
    pub const DELETE: u32 = 0x200;
    /// The watched inode itself was deleted.
    pub const DELETE_SELF: u32 = 0x400;
    /// The watched inode itself was moved.
    pub const MOVE_SELF: u32 = 0x800;
    /// The filesystem of the watched inode was unmounted.
    pub const UNMOUNT: u32 = 0x2000;
    /// The event queue overflowed.
    pub const Q_OVERFLOW: u32 = 0x4000;
    /// The watch was removed.
    pub const IGNORED: u32 = 0x8000;
    /// Every event a watch can ask for.
    pub const ALL_EVENTS: u32 = 0xfff;
    /// Watch only if the path is a directory.
    pub const ONLYDIR: u32 = 0x0100_0000;
    /// Do not follow a final symlink.
    pub const DONT_FOLLOW: u32 = 0x0200_0000;
    /// No events for children after they are unlinked.
    pub const EXCL_UNLINK: u32 = 0x0400_0000;
    /// Fail with `EEXIST` if the inode is already watched.
    pub const MASK_CREATE: u32 = 0x1000_0000;
    /// Add to an existing watch's mask instead of replacing it.
    pub const MASK_ADD: u32 = 0x2000_0000;
    /// The subject of the event is a directory.
    pub const ISDIR: u32 = 0x4000_0000;
    /// Remove the watch after its first event.
    pub const ONESHOT: u32 = 0x8000_0000;
}

/// The owner of watches: receives their events (an inotify instance in the kernel).
pub trait NotifySink: Send + Sync {
    /// Watch `wd` saw `mask` (with `cookie` tying a MOVED_FROM to its MOVED_TO, and the child's
    /// `name` for events a directory watch gets about its entries).
    fn event(&self, wd: i32, mask: u32, cookie: u32, name: &[u8]);
}

struct Watch {
    sink: Weak<dyn NotifySink>,
    wd: i32,
    mask: u32,
}

/// Every watch of a VFS, by the inode watched.
#[derive(Default)]
pub struct Notifier {
    watches: KMutex<HashMap<InodeKey, Vec<Watch>>>,
    count: AtomicUsize,
    cookie: AtomicU32,
}

/// The key of an inode, with `dev` from its filesystem as `stat` shows it (`None` if its
/// attributes cannot be read).
pub fn key_of(inode: &Arc<dyn Inode>) -> Option<InodeKey> {
    let a = inode.attr().ok()?;
    let dev = inode.fs().map_or(a.dev, |f| f.dev());
    Some(InodeKey { dev, ino: a.ino })
}

fn same_sink(w: &Watch, sink: &Weak<dyn NotifySink>) -> bool {
    Weak::ptr_eq(&w.sink, sink)
}

impl Notifier {
    /// True while no watch exists (every report is then free).
    pub fn is_idle(&self) -> bool {
        self.count.load(Ordering::Relaxed) == 0
    }

    /// Sets `sink`'s watch `wd` on `key` to `mask` (replacing the mask of an existing one).
    pub fn set_watch(&self, key: InodeKey, sink: &Weak<dyn NotifySink>, wd: i32, mask: u32) {
        let mut all = self.watches.lock();
        let list = all.entry(key).or_default();
        match list.iter_mut().find(|w| same_sink(w, sink)) {
            Some(w) => w.mask = mask,
            None => {
                list.push(Watch { sink: sink.clone(), wd, mask });
                self.count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Removes `sink`'s watch on `key`; true if there was one.
    pub fn remove_watch(&self, key: InodeKey, sink: &Weak<dyn NotifySink>) -> bool {
        let mut all = self.watches.lock();
        let Some(list) = all.get_mut(&key) else { return false };
        let before = list.len();
        list.retain(|w| !same_sink(w, sink));
        let removed = before - list.len();
        if list.is_empty() {
            all.remove(&key);
        }
        self.count.fetch_sub(removed, Ordering::Relaxed);
        removed > 0
    }

    /// A fresh cookie for a rename's MOVED_FROM/MOVED_TO pair.
    pub fn new_cookie(&self) -> u32 {
        self.cookie.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }

    /// Delivers `event` to the watches on `key` that asked for it; with `dropped` (the inode is
    /// gone: DELETE_SELF, UNMOUNT) every watch on it ends with IN_IGNORED. ONESHOT watches end
    /// after their first event. Sinks run with no fs lock held.
    fn deliver(&self, key: InodeKey, event: u32, cookie: u32, name: &[u8], dropped: bool) {
        self.deliver_filtered(key, event, cookie, name, dropped, false);
    }

    /// `deliver`; with `unlinked_child`, watches that asked for IN_EXCL_UNLINK are skipped.
    fn deliver_filtered(&self, key: InodeKey, event: u32, cookie: u32, name: &[u8], dropped: bool, unlinked_child: bool) {
        let mut calls: Vec<(Arc<dyn NotifySink>, i32, u32)> = Vec::new();
        let mut ended: Vec<(Arc<dyn NotifySink>, i32)> = Vec::new();
        {
            let mut all = self.watches.lock();
            let Some(list) = all.get_mut(&key) else { return };
            let before = list.len();
            list.retain(|w| {
                let Some(sink) = w.sink.upgrade() else { return false };
                let excluded = unlinked_child && w.mask & mask::EXCL_UNLINK != 0;
                let wants = !excluded && (w.mask & event & mask::ALL_EVENTS != 0 || event & (mask::UNMOUNT | mask::Q_OVERFLOW) != 0);
                if wants {
                    calls.push((sink.clone(), w.wd, event));
                }
                let end = dropped || (wants && w.mask & mask::ONESHOT != 0);
                if end {
                    ended.push((sink, w.wd));
                }
                !end
            });
            let removed = before - list.len();
            if list.is_empty() {
                all.remove(&key);
            }
            self.count.fetch_sub(removed, Ordering::Relaxed);
        }
        for (sink, wd, ev) in calls {
            sink.event(wd, ev, cookie, name);
        }
        for (sink, wd) in ended {
            sink.event(wd, mask::IGNORED, 0, b"");
        }
    }

    /// An event about `inode` itself (no name).
    pub fn on_inode(&self, inode: &Arc<dyn Inode>, event: u32) {
        if self.is_idle() {
            return;
        }
        if let Some(k) = key_of(inode) {
            self.deliver(k, event | isdir(inode), 0, b"", false);
        }
    }

    /// An event about the file at `path`: to its directory's watches with its name (unless it
    /// was unlinked and the directory watch says IN_EXCL_UNLINK), then to its own.
    pub fn on_file(&self, path: &Path, event: u32) {
        if self.is_idle() {
            return;
        }
        let inode = path.inode();
        let flag = isdir(inode);
        if let Some(parent) = path.dentry.parent() {
            if let Some(k) = key_of(parent.inode()) {
                self.deliver_filtered(k, event | flag, 0, &path.dentry.name(), false, path.dentry.is_deleted());
            }
        }
        if let Some(k) = key_of(inode) {
            self.deliver(k, event | flag, 0, b"", false);
        }
    }

    /// A name event in directory `dir` (CREATE, DELETE, MOVED_FROM, MOVED_TO) about `child`.
    pub fn on_name(&self, dir: &Arc<dyn Inode>, child_is_dir: bool, event: u32, cookie: u32, name: &[u8]) {
        if self.is_idle() {
            return;
        }
        if let Some(k) = key_of(dir) {
            let flag = if child_is_dir { mask::ISDIR } else { 0 };
            self.deliver(k, event | flag, cookie, name, false);
        }
    }

    /// `child` was created as `name` in directory `dir` (IN_CREATE).
    pub fn on_create(&self, dir: &Arc<dyn Inode>, child: &Arc<dyn Inode>, name: &[u8]) {
        if self.is_idle() {
            return;
        }
        if let Some(k) = key_of(dir) {
            self.deliver(k, mask::CREATE | isdir(child), 0, name, false);
        }
    }

    /// `inode` lost a name (unlink, rmdir, overwritten by rename): a non-directory gets
    /// IN_ATTRIB (its link count changed, Linux's `fsnotify_link_count`); if that was its last
    /// name, IN_DELETE_SELF, and its watches end.
    pub fn on_unlinked(&self, key: Option<InodeKey>, inode: &Arc<dyn Inode>) {
        if self.is_idle() {
            return;
        }
        let Some(k) = key else { return };
        let attr = inode.attr().ok();
        let is_dir = attr.as_ref().is_some_and(|a| a.is_dir());
        if !is_dir {
            self.deliver(k, mask::ATTRIB, 0, b"", false);
        }
        if is_dir || attr.is_none_or(|a| a.nlink == 0) {
            self.deliver(k, mask::DELETE_SELF, 0, b"", true);
        }
    }

    /// The filesystem of device `dev` is unmounted: every watch on it gets IN_UNMOUNT and ends.
    pub fn on_unmount(&self, dev: u64) {
        if self.is_idle() {
            return;
        }
        let keys: Vec<InodeKey> = self.watches.lock().keys().filter(|k| k.dev == dev).copied().collect();
        for k in keys {
            self.deliver(k, mask::UNMOUNT, 0, b"", true);
        }
    }
}

fn isdir(inode: &Arc<dyn Inode>) -> u32 {
    if inode.attr().is_ok_and(|a| a.is_dir()) {
        mask::ISDIR
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Event = (i32, u32, u32, Vec<u8>);
    #[derive(Default)]
    struct Log(KMutex<Vec<Event>>);
    impl NotifySink for Log {
        fn event(&self, wd: i32, mask: u32, cookie: u32, name: &[u8]) {
            self.0.lock().push((wd, mask, cookie, name.to_vec()));
        }
    }

    #[test]
    fn delivers_to_matching_watches_and_ends_oneshots() {
        let n = Notifier::default();
        let log = Arc::new(Log::default());
        let sink: Arc<dyn NotifySink> = log.clone();
        let weak = Arc::downgrade(&sink);
        let k = InodeKey { dev: 1, ino: 2 };
        assert!(n.is_idle());
        n.set_watch(k, &weak, 1, mask::CREATE | mask::ONESHOT);
        assert!(!n.is_idle());
        n.deliver(k, mask::DELETE, 0, b"x", false);
        n.deliver(k, mask::CREATE, 0, b"y", false);
        n.deliver(k, mask::CREATE, 0, b"z", false);
        assert_eq!(*log.0.lock(), vec![(1, mask::CREATE, 0, b"y".to_vec()), (1, mask::IGNORED, 0, Vec::new())]);
        assert!(n.is_idle());
    }

    #[test]
    fn dropped_inodes_end_their_watches() {
        let n = Notifier::default();
        let log = Arc::new(Log::default());
        let sink: Arc<dyn NotifySink> = log.clone();
        let weak = Arc::downgrade(&sink);
        let k = InodeKey { dev: 1, ino: 3 };
        n.set_watch(k, &weak, 4, mask::ALL_EVENTS);
        n.deliver(k, mask::DELETE_SELF, 0, b"", true);
        assert_eq!(*log.0.lock(), vec![(4, mask::DELETE_SELF, 0, Vec::new()), (4, mask::IGNORED, 0, Vec::new())]);
        assert!(!n.remove_watch(k, &weak));
    }
}
