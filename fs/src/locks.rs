//! Advisory file locks: POSIX record locks (`fcntl` `F_SETLK`/`F_SETLKW`/`F_GETLK`, owned by
//! a process, released when it closes any fd of the file or exits) and BSD `flock` locks (owned
//! by an open file description, released on its last close), as Linux's `fs/locks.c`.
//!
//! fs never blocks: a conflicting request fails with `EAGAIN`; the waiting variants
//! (`F_SETLKW`, `flock` without `LOCK_NB`) are the kernel's to retry after the manager's
//! [`Pollee`] signals that some lock was released.

use std::collections::HashMap;

use uapi::{Errno, KResult};

use std::sync::Arc;

use uapi::structs::Flock;

use crate::abi::{F_RDLCK, F_UNLCK, F_WRLCK, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, SEEK_CUR, SEEK_END, SEEK_SET};
use crate::open_file::OpenFile;
use crate::klock::KMutex;
use crate::poll::{PollEvents, Pollee};

/// Identifies a file across its inode objects: (device, inode number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InodeKey {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

/// Shared or exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// Shared (read) lock.
    Read,
    /// Exclusive (write) lock.
    Write,
}

impl LockKind {
    /// The `l_type` value.
    pub fn l_type(self) -> i16 {
        match self {
            LockKind::Read => F_RDLCK,
            LockKind::Write => F_WRLCK,
        }
    }
    /// Decodes `l_type`: `Ok(None)` is `F_UNLCK`; anything else is `EINVAL`.
    pub fn from_l_type(t: i16) -> KResult<Option<LockKind>> {
        match t {
            F_RDLCK => Ok(Some(LockKind::Read)),
            F_WRLCK => Ok(Some(LockKind::Write)),
            F_UNLCK => Ok(None),
            _ => Err(Errno::EINVAL),
        }
    }
    fn conflicts(self, other: LockKind) -> bool {
        self == LockKind::Write || other == LockKind::Write
    }
}

/// One POSIX record lock over the inclusive byte range `start..=end` (`end == u64::MAX`
/// means "to end of file", `l_len == 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordLock {
    /// Owner: a process (tgid) or, for OFD locks, [`ofd_owner`] of the open file.
    pub owner: u64,
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
    /// Read or write.
    pub kind: LockKind,
}

impl RecordLock {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start <= end && start <= self.end
    }
    /// The `(l_start, l_len)` pair `F_GETLK` reports (whence `SEEK_SET`).
    pub fn start_len(&self) -> (i64, i64) {
        let start = i64::try_from(self.start).unwrap_or(i64::MAX);
        if self.end == u64::MAX {
            return (start, 0);
        }
        let len = self.end.saturating_sub(self.start).saturating_add(1);
        (start, i64::try_from(len).unwrap_or(i64::MAX))
    }
}

/// Turns `struct flock`'s `(base, l_start, l_len)` into an inclusive range, where `base` is
/// 0, the file offset or the file size for `SEEK_SET`/`SEEK_CUR`/`SEEK_END` (`flock_to_posix_lock`):
/// negative starts are `EINVAL`, overflow is `EOVERFLOW`, a negative length locks before start.
pub fn lock_range(base: u64, l_start: i64, l_len: i64) -> KResult<(u64, u64)> {
    let base = i64::try_from(base).map_err(|_| Errno::EOVERFLOW)?;
    let start = base.checked_add(l_start).ok_or(Errno::EOVERFLOW)?;
    let (start, end) = match l_len {
        0 => (start, None),
        n if n > 0 => (start, Some(start.checked_add(n - 1).ok_or(Errno::EOVERFLOW)?)),
        n => (start.checked_add(n).ok_or(Errno::EINVAL)?, Some(start - 1)),
    };
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    let start = start as u64;
    let end = end.map(|e| e as u64).unwrap_or(u64::MAX);
    Ok((start, end))
}

#[derive(Default)]
struct InodeLocks {
    posix: Vec<RecordLock>,
    flocks: Vec<(usize, LockKind)>,
}

impl InodeLocks {
    fn is_empty(&self) -> bool {
        self.posix.is_empty() && self.flocks.is_empty()
    }

    fn conflict(&self, owner: u64, start: u64, end: u64, kind: LockKind) -> Option<RecordLock> {
        self.posix
            .iter()
            .find(|l| l.owner != owner && l.overlaps(start, end) && l.kind.conflicts(kind))
            .copied()
    }

    /// Removes `owner`'s coverage of `start..=end`, splitting locks that straddle it.
    fn carve(&mut self, owner: u64, start: u64, end: u64) {
        let mut kept = Vec::with_capacity(self.posix.len() + 1);
        for l in self.posix.drain(..) {
            if l.owner != owner || !l.overlaps(start, end) {
                kept.push(l);
                continue;
            }
            if l.start < start {
                kept.push(RecordLock { end: start - 1, ..l });
            }
            if l.end > end {
                kept.push(RecordLock { start: end + 1, ..l });
            }
        }
        self.posix = kept;
    }

    /// Merges `owner`'s adjacent or overlapping locks of the same kind.
    fn coalesce(&mut self, owner: u64) {
        let (mut mine, others): (Vec<_>, Vec<_>) = self.posix.drain(..).partition(|l| l.owner == owner);
        mine.sort_by_key(|l| l.start);
        let mut merged: Vec<RecordLock> = Vec::with_capacity(mine.len());
        for l in mine {
            match merged.last_mut() {
                Some(m) if m.kind == l.kind && m.end.checked_add(1).is_none_or(|e| e >= l.start) => {
                    m.end = m.end.max(l.end);
                }
                _ => merged.push(l),
            }
        }
        self.posix = others;
        self.posix.extend(merged);
    }
}

/// All advisory locks of one VFS instance.
#[derive(Default)]
pub struct LockManager {
    table: KMutex<HashMap<InodeKey, InodeLocks>>,
    pollee: Pollee,
}

impl LockManager {
    /// An empty lock table.
    pub fn new() -> Self {
        LockManager::default()
    }

    /// Signals `POLLIN` whenever a lock is released; waiters retry their request.
    pub fn pollee(&self) -> &Pollee {
        &self.pollee
    }

    fn released(&self) {
        self.pollee.notify(PollEvents::POLLIN);
    }

    /// `F_GETLK`: the first lock of another owner that would conflict, if any.
    pub fn test_record(&self, key: InodeKey, owner: u64, start: u64, end: u64, kind: LockKind) -> Option<RecordLock> {
        self.table.lock().get(&key)?.conflict(owner, start, end, kind)
    }

    /// `F_SETLK`: locks (or with `None`, unlocks) `start..=end` for `owner`, replacing its
    /// existing locks over the range; `EAGAIN` if another owner holds a conflicting lock.
    pub fn set_record(&self, key: InodeKey, owner: u64, start: u64, end: u64, kind: Option<LockKind>) -> KResult<()> {
        let mut table = self.table.lock();
        let locks = table.entry(key).or_default();
        if let Some(k) = kind {
            if locks.conflict(owner, start, end, k).is_some() {
                return Err(Errno::EAGAIN);
            }
        }
        locks.carve(owner, start, end);
        if let Some(kind) = kind {
            locks.posix.push(RecordLock { owner, start, end, kind });
            locks.coalesce(owner);
        }
        if locks.is_empty() {
            table.remove(&key);
        }
        drop(table);
        self.released();
        Ok(())
    }

    /// Whether `owner` holds any record lock at all (a cheap test before `close` looks up
    /// the file's key).
    pub fn owns_records(&self, owner: u64) -> bool {
        self.table.lock().values().any(|l| l.posix.iter().any(|r| r.owner == owner))
    }

    /// Drops every record lock `owner` holds on `key` (on `close` of any fd of the file), and
    /// wakes the waiters if there was one.
    pub fn release_owner(&self, key: InodeKey, owner: u64) {
        let mut table = self.table.lock();
        let Some(locks) = table.get_mut(&key) else { return };
        let before = locks.posix.len();
        locks.posix.retain(|l| l.owner != owner);
        let released = locks.posix.len() != before;
        if locks.is_empty() {
            table.remove(&key);
        }
        drop(table);
        if released {
            self.released();
        }
    }

    /// Drops every record lock of `owner` on every file (process exit), waking the waiters if
    /// there was one.
    pub fn release_owner_everywhere(&self, owner: u64) {
        let mut table = self.table.lock();
        let before: usize = table.values().map(|l| l.posix.len()).sum();
        for locks in table.values_mut() {
            locks.posix.retain(|l| l.owner != owner);
        }
        table.retain(|_, l| !l.is_empty());
        let after: usize = table.values().map(|l| l.posix.len()).sum();
        drop(table);
        if after != before {
            self.released();
        }
    }

    /// Drops the locks an open file description owns on `key` — its `flock` lock and its OFD
    /// record locks — at its last close (Linux's `locks_remove_file`).
    pub fn release_description(&self, key: InodeKey, file_id: usize) {
        let owner = ofd_owner_of(file_id);
        let mut table = self.table.lock();
        if let Some(locks) = table.get_mut(&key) {
            locks.flocks.retain(|(id, _)| *id != file_id);
            locks.posix.retain(|l| l.owner != owner);
            if locks.is_empty() {
                table.remove(&key);
            }
        }
        drop(table);
        self.released();
    }

    /// The record locks on `key` (for `/proc/locks` and tests).
    pub fn records(&self, key: InodeKey) -> Vec<RecordLock> {
        self.table.lock().get(&key).map(|l| l.posix.clone()).unwrap_or_default()
    }

    /// `flock(2)` for the open file description `file_id`: `LOCK_SH`/`LOCK_EX` (converting an
    /// existing lock), `LOCK_UN`; `EWOULDBLOCK` on conflict (the kernel retries unless
    /// `LOCK_NB`), `EINVAL` for a bad operation.
    pub fn flock(&self, key: InodeKey, file_id: usize, op: u32) -> KResult<()> {
        let kind = match op & !LOCK_NB {
            LOCK_SH => LockKind::Read,
            LOCK_EX => LockKind::Write,
            LOCK_UN => {
                self.release_flock(key, file_id);
                return Ok(());
            }
            _ => return Err(Errno::EINVAL),
        };
        let mut table = self.table.lock();
        let locks = table.entry(key).or_default();
        let conflict = locks.flocks.iter().any(|(id, k)| *id != file_id && k.conflicts(kind));
        if conflict {
            return Err(Errno::EWOULDBLOCK);
        }
        locks.flocks.retain(|(id, _)| *id != file_id);
        locks.flocks.push((file_id, kind));
        Ok(())
    }

    /// Drops the `flock` lock of `file_id` (on `LOCK_UN` or the description's last close).
    pub fn release_flock(&self, key: InodeKey, file_id: usize) {
        let mut table = self.table.lock();
        if let Some(locks) = table.get_mut(&key) {
            locks.flocks.retain(|(id, _)| *id != file_id);
            if locks.is_empty() {
                table.remove(&key);
            }
        }
        drop(table);
        self.released();
    }
}

/// The owner of an open-file-description lock (`F_OFD_SETLK`): the description itself, kept
/// apart from process ids by the top bit.
pub fn ofd_owner(file: &Arc<OpenFile>) -> u64 {
    ofd_owner_of(file.id())
}

/// [`ofd_owner`] of the description with [`OpenFile::id`] `file_id`.
fn ofd_owner_of(file_id: usize) -> u64 {
    (file_id as u64) | (1 << 63)
}

/// The byte range a `struct flock` names for `file` (`SEEK_SET`/`SEEK_CUR`/`SEEK_END`).
fn flock_range(file: &OpenFile, fl: &Flock) -> KResult<(u64, u64)> {
    let base = match u32::try_from(fl.l_whence).map_err(|_| Errno::EINVAL)? {
        SEEK_SET => 0,
        SEEK_CUR => file.offset(),
        SEEK_END => file.stat()?.size,
        _ => return Err(Errno::EINVAL),
    };
    lock_range(base, fl.l_start, fl.l_len)
}

impl LockManager {
    /// `fcntl(F_GETLK)` (or `F_OFD_GETLK` with an OFD owner): rewrites `fl` with the first
    /// conflicting lock (`l_whence = SEEK_SET`, `l_pid` its process or -1 for OFD locks), or
    /// sets `l_type = F_UNLCK` if the request would succeed. `EINVAL` for `F_UNLCK` requests.
    pub fn fcntl_getlk(&self, file: &OpenFile, owner: u64, fl: &mut Flock) -> KResult<()> {
        let kind = LockKind::from_l_type(fl.l_type)?.ok_or(Errno::EINVAL)?;
        let (start, end) = flock_range(file, fl)?;
        match self.test_record(file.lock_key()?, owner, start, end, kind) {
            None => fl.l_type = F_UNLCK,
            Some(l) => {
                let (s, len) = l.start_len();
                fl.l_type = l.kind.l_type();
                fl.l_whence = SEEK_SET as i16;
                fl.l_start = s;
                fl.l_len = len;
                fl.l_pid = if l.owner >> 63 == 1 { -1 } else { i32::try_from(l.owner).unwrap_or(-1) };
            }
        }
        Ok(())
    }

    /// `fcntl(F_SETLK)`: takes or releases a record lock for `owner` (a pid, or an OFD owner).
    /// A read lock needs the file open for reading and a write lock for writing (`EBADF`);
    /// a conflict is `EAGAIN` (for `F_SETLKW` the kernel waits on [`LockManager::pollee`]
    /// and retries).
    pub fn fcntl_setlk(&self, file: &OpenFile, owner: u64, fl: &Flock) -> KResult<()> {
        let kind = LockKind::from_l_type(fl.l_type)?;
        let flags = file.flags();
        match kind {
            Some(LockKind::Read) if !flags.can_read() => return Err(Errno::EBADF),
            Some(LockKind::Write) if !flags.can_write() => return Err(Errno::EBADF),
            _ => {}
        }
        let (start, end) = flock_range(file, fl)?;
        self.set_record(file.lock_key()?, owner, start, end, kind)
    }

    /// Drops `pid`'s record locks on `file`'s inode: what `close` of any fd does in Linux
    /// (`locks_remove_posix` from `filp_flush`). Files of a process without locks cost no
    /// lookup.
    pub fn release_on_close(&self, file: &OpenFile, pid: u32) {
        let owner = u64::from(pid);
        if !self.owns_records(owner) {
            return;
        }
        if let Ok(key) = file.lock_key() {
            self.release_owner(key, owner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: InodeKey = InodeKey { dev: 1, ino: 2 };

    #[test]
    fn record_conflicts_and_split() {
        let m = LockManager::new();
        m.set_record(K, 1, 0, 99, Some(LockKind::Write)).unwrap_or_default();
        assert_eq!(m.set_record(K, 2, 50, 60, Some(LockKind::Read)), Err(Errno::EAGAIN));
        assert!(m.test_record(K, 2, 50, 60, LockKind::Read).is_some());
        assert!(m.test_record(K, 1, 50, 60, LockKind::Write).is_none());
        // Unlocking the middle splits the lock in two.
        m.set_record(K, 1, 40, 59, None).unwrap_or_default();
        let mut r = m.records(K);
        r.sort_by_key(|l| l.start);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].start, r[0].end, r[1].start, r[1].end), (0, 39, 60, 99));
        assert!(m.set_record(K, 2, 40, 59, Some(LockKind::Write)).is_ok());
        // Shared locks coexist.
        assert!(m.set_record(K, 3, 200, 300, Some(LockKind::Read)).is_ok());
        assert!(m.set_record(K, 4, 250, u64::MAX, Some(LockKind::Read)).is_ok());
        assert_eq!(m.set_record(K, 5, 1000, 1000, Some(LockKind::Write)), Err(Errno::EAGAIN));
        m.release_owner(K, 4);
        assert!(m.set_record(K, 5, 1000, 1000, Some(LockKind::Write)).is_ok());
    }

    struct CountingWaker(std::sync::atomic::AtomicUsize);

    impl crate::poll::Waker for CountingWaker {
        fn wake(&self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn releases_wake_waiters_only_when_something_went() {
        let m = LockManager::new();
        m.set_record(K, 1, 0, 9, Some(LockKind::Write)).unwrap_or_default();
        m.set_record(K, (1 << 63) | 8, 20, 29, Some(LockKind::Write)).unwrap_or_default();
        assert!(m.owns_records(1));
        assert!(!m.owns_records(2));
        let waker = Arc::new(CountingWaker(Default::default()));
        let weak: std::sync::Weak<dyn crate::poll::Waker> = Arc::downgrade(&(waker.clone() as Arc<dyn crate::poll::Waker>));
        m.pollee().register(weak, PollEvents::POLLIN);
        let wakes = || waker.0.load(std::sync::atomic::Ordering::SeqCst);
        m.release_owner(K, 2);
        m.release_owner_everywhere(2);
        assert_eq!(wakes(), 0);
        m.release_owner_everywhere(1);
        assert!(!m.owns_records(1));
        assert_eq!(wakes(), 1);
        // The description's OFD locks go with it.
        m.release_description(K, 8);
        assert!(m.records(K).is_empty());
        assert_eq!(wakes(), 2);
    }

    #[test]
    fn coalesces_adjacent() {
        let m = LockManager::new();
        m.set_record(K, 1, 0, 9, Some(LockKind::Read)).unwrap_or_default();
        m.set_record(K, 1, 10, 19, Some(LockKind::Read)).unwrap_or_default();
        assert_eq!(m.records(K), vec![RecordLock { owner: 1, start: 0, end: 19, kind: LockKind::Read }]);
        assert_eq!(m.records(K)[0].start_len(), (0, 20));
    }

    #[test]
    fn ranges() {
        assert_eq!(lock_range(0, 10, 0), Ok((10, u64::MAX)));
        assert_eq!(lock_range(100, -10, 5), Ok((90, 94)));
        assert_eq!(lock_range(0, 10, -5), Ok((5, 9)));
        assert_eq!(lock_range(0, -1, 1), Err(Errno::EINVAL));
        assert_eq!(lock_range(0, 3, -5), Err(Errno::EINVAL));
    }

    #[test]
    fn flock_semantics() {
        let m = LockManager::new();
        assert!(m.flock(K, 1, LOCK_SH).is_ok());
        assert!(m.flock(K, 2, LOCK_SH | LOCK_NB).is_ok());
        assert_eq!(m.flock(K, 3, LOCK_EX | LOCK_NB), Err(Errno::EWOULDBLOCK));
        assert_eq!(m.flock(K, 1, LOCK_EX | LOCK_NB), Err(Errno::EWOULDBLOCK));
        m.release_flock(K, 2);
        assert!(m.flock(K, 1, LOCK_EX).is_ok());
        assert!(m.flock(K, 1, LOCK_UN).is_ok());
        assert!(m.flock(K, 3, LOCK_EX).is_ok());
        assert_eq!(m.flock(K, 3, 0), Err(Errno::EINVAL));
    }
}
