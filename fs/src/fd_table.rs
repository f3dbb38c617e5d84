//! The file descriptor table (Linux's `struct files_struct`/`fdtable`): lowest-free
//! allocation, `FD_CLOEXEC`, `dup`/`dup2`/`dup3`/`F_DUPFD`, the close-on-exec sweep, and the
//! `RLIMIT_NOFILE` ceiling. `Clone` gives `fork` its copy; `kernel` shares one table between
//! threads with `Arc<Mutex<FdTable>>` for `CLONE_FILES`.

use std::sync::Arc;

use uapi::{Errno, KResult};

use crate::open_file::OpenFile;

pub use uapi::flags::FdFlags;

/// Linux's default `RLIMIT_NOFILE` soft limit.
pub const DEFAULT_NOFILE: u32 = 1024;
/// Linux's `fs.nr_open` default: the hard ceiling for `RLIMIT_NOFILE`.
pub const NR_OPEN: u32 = 1 << 20;

#[derive(Clone)]
struct Entry {
    file: Arc<OpenFile>,
    flags: FdFlags,
}

/// A process's descriptor table.
#[derive(Clone)]
pub struct FdTable {
    entries: Vec<Option<Entry>>,
    limit: u32,
}

impl Default for FdTable {
    fn default() -> Self {
        FdTable::new()
    }
}

impl FdTable {
    /// An empty table with the default limit (1024).
    pub fn new() -> Self {
        FdTable { entries: Vec::new(), limit: DEFAULT_NOFILE }
    }

    /// The current `RLIMIT_NOFILE`.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Sets `RLIMIT_NOFILE` (`EPERM` above `NR_OPEN`); open descriptors above it stay.
    pub fn set_limit(&mut self, limit: u32) -> KResult<()> {
        if limit > NR_OPEN {
            return Err(Errno::EPERM);
        }
        self.limit = limit;
        Ok(())
    }

    fn slot(&self, fd: i32) -> Option<&Entry> {
        let i = usize::try_from(fd).ok()?;
        self.entries.get(i)?.as_ref()
    }

    /// The open file behind `fd` (`EBADF` if none).
    pub fn get(&self, fd: i32) -> KResult<Arc<OpenFile>> {
        self.slot(fd).map(|e| e.file.clone()).ok_or(Errno::EBADF)
    }

    /// The descriptor flags of `fd`.
    pub fn fd_flags(&self, fd: i32) -> KResult<FdFlags> {
        self.slot(fd).map(|e| e.flags).ok_or(Errno::EBADF)
    }

    /// `F_SETFD`.
    pub fn set_fd_flags(&mut self, fd: i32, flags: FdFlags) -> KResult<()> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        match self.entries.get_mut(i) {
            Some(Some(e)) => {
                e.flags = flags;
                Ok(())
            }
            _ => Err(Errno::EBADF),
        }
    }

    /// Installs `file` at the lowest free descriptor (`EMFILE` at the limit).
    pub fn alloc(&mut self, file: Arc<OpenFile>, flags: FdFlags) -> KResult<i32> {
        self.alloc_from(0, file, flags)
    }

    /// Installs `file` at the lowest free descriptor `>= min` (`F_DUPFD`; `EINVAL` if `min` is
    /// at or above the limit, `EMFILE` if nothing is free below it).
    pub fn alloc_from(&mut self, min: i32, file: Arc<OpenFile>, flags: FdFlags) -> KResult<i32> {
        let min = u32::try_from(min).map_err(|_| Errno::EINVAL)?;
        if min >= self.limit {
            return Err(Errno::EINVAL);
        }
        let free = (min as usize..self.limit as usize).find(|&i| !matches!(self.entries.get(i), Some(Some(_))));
        let i = free.ok_or(Errno::EMFILE)?;
        self.put(i, Entry { file, flags });
        i32::try_from(i).map_err(|_| Errno::EMFILE)
    }

    fn put(&mut self, i: usize, e: Entry) -> Option<Arc<OpenFile>> {
        if self.entries.len() <= i {
            self.entries.resize(i + 1, None);
        }
        self.entries[i].replace(e).map(|old| old.file)
    }

    /// `close(2)`: removes `fd` and returns its file (the kernel releases the caller's record
    /// locks on it); `EBADF` if not open.
    pub fn close(&mut self, fd: i32) -> KResult<Arc<OpenFile>> {
        let i = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        let e = self.entries.get_mut(i).and_then(|s| s.take()).ok_or(Errno::EBADF)?;
        while matches!(self.entries.last(), Some(None)) {
            self.entries.pop();
        }
        Ok(e.file)
    }

    /// `dup(2)`: the lowest free descriptor, sharing the description, without `FD_CLOEXEC`.
    pub fn dup(&mut self, fd: i32) -> KResult<i32> {
        let f = self.get(fd)?;
        self.alloc(f, FdFlags::empty())
    }

    /// `dup2(2)`: `newfd` becomes a copy of `oldfd` (closing what was there, returned as the
    /// second value); `oldfd == newfd` just checks `oldfd`. `EBADF` for a bad `oldfd` or a
    /// `newfd` outside `0..limit`.
    pub fn dup2(&mut self, oldfd: i32, newfd: i32) -> KResult<(i32, Option<Arc<OpenFile>>)> {
        let f = self.get(oldfd)?;
        if oldfd == newfd {
            return Ok((newfd, None));
        }
        self.dup_to(f, newfd, FdFlags::empty())
    }

    /// `dup3(2)`: like `dup2` but `EINVAL` when `oldfd == newfd`, and `O_CLOEXEC` allowed.
    pub fn dup3(&mut self, oldfd: i32, newfd: i32, cloexec: bool) -> KResult<(i32, Option<Arc<OpenFile>>)> {
        if oldfd == newfd {
            return Err(Errno::EINVAL);
        }
        let f = self.get(oldfd)?;
        let flags = if cloexec { FdFlags::CLOEXEC } else { FdFlags::empty() };
        self.dup_to(f, newfd, flags)
    }

    fn dup_to(&mut self, f: Arc<OpenFile>, newfd: i32, flags: FdFlags) -> KResult<(i32, Option<Arc<OpenFile>>)> {
        let i = u32::try_from(newfd).ok().filter(|n| *n < self.limit).ok_or(Errno::EBADF)?;
        let old = self.put(i as usize, Entry { file: f, flags });
        Ok((newfd, old))
    }

    /// The `execve` sweep: closes every `FD_CLOEXEC` descriptor and returns their files.
    pub fn close_on_exec(&mut self) -> Vec<Arc<OpenFile>> {
        let mut closed = Vec::new();
        for slot in self.entries.iter_mut() {
            if slot.as_ref().is_some_and(|e| e.flags.contains(FdFlags::CLOEXEC)) {
                if let Some(e) = slot.take() {
                    closed.push(e.file);
                }
            }
        }
        while matches!(self.entries.last(), Some(None)) {
            self.entries.pop();
        }
        closed
    }

    /// The open descriptors in increasing order (for `/proc/<pid>/fd` and `close_range`).
    pub fn fds(&self) -> Vec<i32> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_some())
            .filter_map(|(i, _)| i32::try_from(i).ok())
            .collect()
    }

    /// Closes every descriptor and returns the files (process exit).
    pub fn close_all(&mut self) -> Vec<Arc<OpenFile>> {
        self.entries.drain(..).flatten().map(|e| e.file).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::OpenFlags;
    use crate::devfs::{MemDevice, MemKind};

    fn file() -> Arc<OpenFile> {
        OpenFile::new_anonymous(Arc::new(MemDevice::new(MemKind::Null)), OpenFlags::RDWR)
    }

    #[test]
    fn lowest_free_and_close() {
        let mut t = FdTable::new();
        assert_eq!(t.alloc(file(), FdFlags::empty()).unwrap(), 0);
        assert_eq!(t.alloc(file(), FdFlags::empty()).unwrap(), 1);
        assert_eq!(t.alloc(file(), FdFlags::empty()).unwrap(), 2);
        t.close(1).unwrap();
        assert_eq!(t.close(1).err(), Some(Errno::EBADF));
        assert_eq!(t.alloc(file(), FdFlags::empty()).unwrap(), 1);
        assert_eq!(t.get(7).err(), Some(Errno::EBADF));
        assert_eq!(t.get(-1).err(), Some(Errno::EBADF));
        assert_eq!(t.fds(), vec![0, 1, 2]);
    }

    #[test]
    fn dup_family() {
        let mut t = FdTable::new();
        let f = file();
        t.alloc(f.clone(), FdFlags::CLOEXEC).unwrap();
        let d = t.dup(0).unwrap();
        assert_eq!(d, 1);
        assert!(Arc::ptr_eq(&t.get(1).unwrap(), &f));
        assert_eq!(t.fd_flags(1).unwrap(), FdFlags::empty());
        // The offset is shared between duplicates.
        f.set_offset(5);
        assert_eq!(t.get(1).unwrap().offset(), 5);
        let (n, old) = t.dup2(0, 10).unwrap();
        assert_eq!((n, old.is_none()), (10, true));
        let (_, old) = t.dup2(1, 10).unwrap();
        assert!(old.is_some());
        assert_eq!(t.dup2(0, 0).unwrap().0, 0);
        assert_eq!(t.dup2(5, 6).err(), Some(Errno::EBADF));
        assert_eq!(t.dup3(0, 0, false).err(), Some(Errno::EINVAL));
        assert_eq!(t.dup3(0, 1024, false).err(), Some(Errno::EBADF));
        t.dup3(0, 3, true).unwrap();
        assert_eq!(t.fd_flags(3).unwrap(), FdFlags::CLOEXEC);
        assert_eq!(t.alloc_from(5, f.clone(), FdFlags::empty()).unwrap(), 5);
        assert_eq!(t.alloc_from(1024, f, FdFlags::empty()).err(), Some(Errno::EINVAL));
    }

    #[test]
    fn cloexec_sweep_limit_and_fork() {
        let mut t = FdTable::new();
        t.alloc(file(), FdFlags::empty()).unwrap();
        t.alloc(file(), FdFlags::CLOEXEC).unwrap();
        t.alloc(file(), FdFlags::empty()).unwrap();
        let forked = t.clone();
        assert_eq!(t.close_on_exec().len(), 1);
        assert_eq!(t.fds(), vec![0, 2]);
        assert_eq!(forked.fds(), vec![0, 1, 2]);
        t.set_fd_flags(2, FdFlags::CLOEXEC).unwrap();
        assert_eq!(t.fd_flags(2).unwrap(), FdFlags::CLOEXEC);
        t.set_limit(4).unwrap();
        t.alloc(file(), FdFlags::empty()).unwrap();
        t.alloc(file(), FdFlags::empty()).unwrap();
        assert_eq!(t.alloc(file(), FdFlags::empty()).err(), Some(Errno::EMFILE));
        assert_eq!(t.dup2(0, 4).err(), Some(Errno::EBADF));
        assert_eq!(t.set_limit(NR_OPEN + 1).err(), Some(Errno::EPERM));
        assert_eq!(t.close_all().len(), 4);
    }
}
