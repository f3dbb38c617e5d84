//! `OpenFile`: an open file description (Linux's `struct file`): what it was opened from, its
//! offset and status flags, shared by `dup` and `fork` through `Arc`. Regular files and
//! directories go through their inode; everything else through a [`FileLike`].

use std::sync::Arc;

use mm::{IoSink, IoSource, VmReader, VmWriter};
use uapi::structs::Flock;
use uapi::{Errno, KResult};

use crate::abi::{OpenFlags, MAX_LFS_FILESIZE, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET};
use crate::dirent::Dirent64Writer;
use crate::file_like::{FileLike, UserMemory};
use crate::inode::{DirEntry, FileType, Inode, InodeAttr};
use crate::klock::KMutex;
use crate::locks::{InodeKey, LockManager};
use crate::mount::Path;
use crate::pagecache::PageCache;
use crate::poll::{PollEvents, Pollee};

/// The kernel buffer between a reader/writer and a [`FileLike`] (which takes slices) holds at
/// most this much per call; the file then reads or writes short, as a pipe may.
const BOUNCE: usize = 1 << 20;

/// An open file description.
pub struct OpenFile {
    path: Option<Path>,
    inode: Option<Arc<dyn Inode>>,
    file: Option<Arc<dyn FileLike>>,
    offset: KMutex<u64>,
    flags: KMutex<OpenFlags>,
    /// The lock manager holding a `flock` or OFD lock of this description (released on drop).
    lock_owner_in: KMutex<Option<(Arc<LockManager>, InodeKey)>>,
    /// True if `Inode::open` was called for this description (so `release` is owed).
    inode_opened: bool,
    /// The page cache to keep coherent with writes and truncation.
    cache: KMutex<Option<Arc<PageCache>>>,
    /// Where reads, writes and the last close are reported to inotify (named files).
    notifier: std::sync::OnceLock<Arc<crate::notify::Notifier>>,
}

impl OpenFile {
    /// A description of the file at `path`; `file` is the device's or generated file's own
    /// operations, if any (from [`crate::Inode::open`] or the device registry).
    pub fn new(path: Path, file: Option<Arc<dyn FileLike>>, flags: OpenFlags) -> Arc<OpenFile> {
        let inode = Some(path.inode().clone());
        OpenFile::build(Some(path), inode, file, flags, false)
    }

    /// Like [`OpenFile::new`] after a successful [`Inode::open`]: the inode's `release` is
    /// called when the description is dropped.
    pub fn new_opened(path: Path, file: Option<Arc<dyn FileLike>>, flags: OpenFlags) -> Arc<OpenFile> {
        let inode = Some(path.inode().clone());
        OpenFile::build(Some(path), inode, file, flags, true)
    }

    /// A description with no name in the tree: pipes, sockets, eventfds (`anon_inode`).
    pub fn new_anonymous(file: Arc<dyn FileLike>, flags: OpenFlags) -> Arc<OpenFile> {
        OpenFile::build(None, None, Some(file), flags, false)
    }

    /// Like [`OpenFile::new_anonymous`], with exactly the status flags given: no
    /// `O_LARGEFILE`, which Linux adds only to files opened by name (a pidfd's `F_GETFL` is
    /// `O_RDWR`).
    pub fn new_anon_inode(file: Arc<dyn FileLike>, flags: OpenFlags) -> Arc<OpenFile> {
        let f = OpenFile::build(None, None, Some(file), flags, false);
        f.flags.lock().remove(OpenFlags::LARGEFILE);
        f
    }

    fn build(path: Option<Path>, inode: Option<Arc<dyn Inode>>, file: Option<Arc<dyn FileLike>>, flags: OpenFlags, inode_opened: bool) -> Arc<OpenFile> {
        let flags = flags - (OpenFlags::CREAT | OpenFlags::EXCL | OpenFlags::NOCTTY | OpenFlags::TRUNC | OpenFlags::CLOEXEC);
        Arc::new(OpenFile {
            path,
            inode,
            file,
            offset: KMutex::new(0),
            flags: KMutex::new(flags | OpenFlags::LARGEFILE),
            lock_owner_in: KMutex::new(None),
            inode_opened,
            cache: KMutex::new(None),
            notifier: std::sync::OnceLock::new(),
        })
    }

    /// Where the file was opened (`None` for anonymous files).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_ref()
    }
    /// The inode (`None` for anonymous files).
    pub fn inode(&self) -> Option<&Arc<dyn Inode>> {
        self.inode.as_ref()
    }
    /// The file's own operations, if it has them (devices, pipes, proc files).
    pub fn file_like(&self) -> Option<&Arc<dyn FileLike>> {
        self.file.as_ref()
    }
    /// The access mode and status flags (`F_GETFL`).
    pub fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }
    /// `F_SETFL`: changes only `O_APPEND`, `O_NONBLOCK`, `O_ASYNC`, `O_DIRECT`, `O_NOATIME`.
    pub fn set_status_flags(&self, new: OpenFlags) {
        let mask = OpenFlags::SETFL_MASK;
        let mut f = self.flags.lock();
        *f = (*f - mask) | (new & mask);
    }
    /// True for `O_NONBLOCK` (the kernel turns `EAGAIN` into sleeping when this is false).
    pub fn nonblocking(&self) -> bool {
        self.flags().contains(OpenFlags::NONBLOCK)
    }
    /// The current file offset.
    pub fn offset(&self) -> u64 {
        *self.offset.lock()
    }
    /// Sets the offset directly (no checks).
    pub fn set_offset(&self, off: u64) {
        *self.offset.lock() = off;
    }

    /// Connects the description to the namespace's page cache (done by `Vfs::open`).
    pub fn attach_page_cache(&self, cache: Arc<PageCache>) {
        *self.cache.lock() = Some(cache);
    }

    /// Reports this description's accesses to inotify: IN_OPEN now, then IN_ACCESS, IN_MODIFY
    /// and IN_CLOSE_WRITE/IN_CLOSE_NOWRITE at the last close.
    pub fn attach_notifier(&self, n: &Arc<crate::notify::Notifier>) {
        if self.notifier.set(n.clone()).is_ok() {
            self.notify(crate::notify::mask::OPEN);
        }
    }

    /// Tells inotify about `event` on this file, if it has a name and something watches.
    fn notify(&self, event: u32) {
        if let (Some(n), Some(p)) = (self.notifier.get(), &self.path) {
            n.on_file(p, event);
        }
    }

    /// IN_ACCESS / IN_MODIFY after a transfer of `n` bytes.
    fn notify_transfer(&self, n: usize, event: u32) {
        if n > 0 {
            self.notify(event);
        }
    }

    fn cache(&self) -> Option<Arc<PageCache>> {
        self.cache.lock().clone()
    }

    fn is_path_only(&self) -> bool {
        self.flags().contains(OpenFlags::PATH)
    }

    fn check_readable(&self) -> KResult<()> {
        let f = self.flags();
        if f.contains(OpenFlags::PATH) || !f.can_read() {
            return Err(Errno::EBADF);
        }
        Ok(())
    }

    fn check_writable(&self) -> KResult<()> {
        let f = self.flags();
        if f.contains(OpenFlags::PATH) || !f.can_write() {
            return Err(Errno::EBADF);
        }
        Ok(())
    }

    fn inode_or_badf(&self) -> KResult<&Arc<dyn Inode>> {
        self.inode.as_ref().ok_or(Errno::EBADF)
    }

    /// `read(2)`: reads at the offset and advances it (`EBADF` unless open for reading,
    /// `EISDIR` for a directory, `EAGAIN` from a file that would block).
    pub fn read(&self, buf: &mut [u8]) -> KResult<usize> {
        self.check_readable()?;
        let off = self.offset();
        let n = self.read_at_inner(buf, off)?;
        if self.is_seekable() {
            self.set_offset(off.saturating_add(n as u64));
        }
        Ok(n)
    }

    /// `pread64(2)`: reads at `off` without moving the offset (`ESPIPE` if unseekable,
    /// `EINVAL` for a negative offset).
    pub fn pread(&self, buf: &mut [u8], off: i64) -> KResult<usize> {
        self.check_readable()?;
        let off = self.positional(off)?;
        self.read_at_inner(buf, off)
    }

    /// `read(2)` into a writer over guest memory (or a kernel buffer): a regular file's data
    /// is copied straight into it, with no kernel buffer between.
    pub fn read_to(&self, w: &mut VmWriter<'_>) -> KResult<usize> {
        self.check_readable()?;
        let off = self.offset();
        let n = self.read_to_inner(w, off)?;
        if self.is_seekable() {
            self.set_offset(off.saturating_add(n as u64));
        }
        Ok(n)
    }

    /// `pread64(2)` into a writer, as [`OpenFile::read_to`].
    pub fn pread_to(&self, w: &mut VmWriter<'_>, off: i64) -> KResult<usize> {
        self.check_readable()?;
        let off = self.positional(off)?;
        self.read_to_inner(w, off)
    }

    /// `read(2)`/`readv(2)` (or `pread`/`preadv` with `pos`) into `sink` — the caller's iovecs
    /// in guest memory or a kernel buffer — as one operation on the file, as Linux's
    /// `vfs_iter_read` hands the whole iterator to `read_iter`: a `FileLike` fills the sink
    /// itself (a pipe straight from its pages, one packet per read in packet mode); inode data
    /// goes through a kernel buffer (the syscall layer reads regular files with [`Self::read_to`]).
    pub fn read_sink(&self, sink: &mut dyn IoSink, pos: Option<i64>) -> KResult<usize> {
        self.check_readable()?;
        let off = match pos {
            Some(p) => self.positional(p)?,
            None => self.offset(),
        };
        let n = match &self.file {
            Some(f) => f.read_to(sink, off)?,
            None => {
                let mut tmp = vec![0u8; sink.avail().min(BOUNCE)];
                let n = self.read_data(&mut VmWriter::from(&mut tmp[..]), off)?;
                sink.write_slice(tmp.get(..n).ok_or(Errno::EIO)?)
            }
        };
        self.notify_transfer(n, crate::notify::mask::ACCESS);
        if pos.is_none() && self.is_seekable() {
            self.set_offset(off.saturating_add(n as u64));
        }
        Ok(n)
    }

    /// `write(2)`/`writev(2)` (or `pwrite`/`pwritev` with `pos`) from `source` as one
    /// operation on the file (atomic for a pipe up to `PIPE_BUF`), consuming what was written.
    /// Like [`Self::read_sink`], inode data goes through a kernel buffer.
    pub fn write_source(&self, source: &mut dyn IoSource, pos: Option<i64>) -> KResult<usize> {
        self.check_writable()?;
        let off = match pos {
            Some(p) => self.positional(p)?,
            None => self.offset(),
        };
        let (n, end) = match &self.file {
            Some(f) => {
                let n = f.write_from(source, off)?;
                (n, off.saturating_add(n as u64))
            }
            None => {
                let mut tmp = vec![0u8; source.remain().min(BOUNCE)];
                let len = source.peek_slice(&mut tmp);
                let r = self.write_data(&mut VmReader::from(tmp.get(..len).ok_or(Errno::EIO)?), off)?;
                source.skip(r.0);
                r
            }
        };
        self.notify_transfer(n, crate::notify::mask::MODIFY);
        if pos.is_none() && self.is_seekable() {
            self.set_offset(end);
        }
        Ok(n)
    }

    fn read_at_inner(&self, buf: &mut [u8], off: u64) -> KResult<usize> {
        let n = match &self.file {
            Some(f) => f.read(buf, off)?,
            None => self.read_data(&mut VmWriter::from(buf), off)?,
        };
        self.notify_transfer(n, crate::notify::mask::ACCESS);
        Ok(n)
    }

    fn read_to_inner(&self, w: &mut VmWriter<'_>, off: u64) -> KResult<usize> {
        let n = match &self.file {
            Some(f) => {
                let mut tmp = vec![0u8; w.avail().min(BOUNCE)];
                let n = f.read(&mut tmp, off)?;
                w.write_slice(tmp.get(..n).ok_or(Errno::EIO)?)
            }
            None => self.read_data(w, off)?,
        };
        self.notify_transfer(n, crate::notify::mask::ACCESS);
        Ok(n)
    }

    /// Reads inode data: through a disk file's page cache, else through the file's cached
    /// pages while something maps them.
    fn read_data(&self, w: &mut VmWriter<'_>, off: u64) -> KResult<usize> {
        let inode = self.inode_or_badf()?;
        let cache = self.cache();
        // Only regular files have a page cache of their own (no directory check needed).
        if let Some(store) = cache.as_ref().and_then(|c| c.store(inode)) {
            return store.read(off, w);
        }
        let attr = inode.attr()?;
        if attr.is_dir() {
            return Err(Errno::EISDIR);
        }
        match cache.and_then(|c| c.live(inode)) {
            Some(pages) => pages.read(off, attr.size, w),
            None => inode.read_at(off, w),
        }
    }

    /// `write(2)`: writes at the offset (at end of file with `O_APPEND`) and advances it.
    pub fn write(&self, data: &[u8]) -> KResult<usize> {
        self.check_writable()?;
        let off = self.offset();
        let (n, end) = self.write_at_inner(data, off)?;
        if self.is_seekable() {
            self.set_offset(end);
        }
        Ok(n)
    }

    /// `pwrite64(2)`: writes at `off` without moving the offset; with `O_APPEND` the data still
    /// goes to the end of file, as Linux does.
    pub fn pwrite(&self, data: &[u8], off: i64) -> KResult<usize> {
        self.check_writable()?;
        let off = self.positional(off)?;
        self.write_at_inner(data, off).map(|(n, _)| n)
    }

    /// `write(2)` from a reader over guest memory (or a kernel buffer): a regular file takes
    /// the data straight from it, with no kernel buffer between.
    pub fn write_from(&self, r: &mut VmReader<'_>) -> KResult<usize> {
        self.check_writable()?;
        let off = self.offset();
        let (n, end) = self.write_from_inner(r, off)?;
        if self.is_seekable() {
            self.set_offset(end);
        }
        Ok(n)
    }

    /// `pwrite64(2)` from a reader, as [`OpenFile::write_from`].
    pub fn pwrite_from(&self, r: &mut VmReader<'_>, off: i64) -> KResult<usize> {
        self.check_writable()?;
        let off = self.positional(off)?;
        self.write_from_inner(r, off).map(|(n, _)| n)
    }

    /// Writes and returns (bytes written, offset after the write).
    fn write_at_inner(&self, data: &[u8], off: u64) -> KResult<(usize, u64)> {
        let r = match &self.file {
            Some(f) => {
                let n = f.write(data, off)?;
                (n, off.saturating_add(n as u64))
            }
            None => self.write_data(&mut VmReader::from(data), off)?,
        };
        self.notify_transfer(r.0, crate::notify::mask::MODIFY);
        Ok(r)
    }

    fn write_from_inner(&self, r: &mut VmReader<'_>, off: u64) -> KResult<(usize, u64)> {
        let res = match &self.file {
            Some(f) => {
                let mut tmp = vec![0u8; r.remain().min(BOUNCE)];
                let len = r.read_slice(&mut tmp);
                let n = f.write(&tmp[..len], off)?;
                (n, off.saturating_add(n as u64))
            }
            None => self.write_data(r, off)?,
        };
        self.notify_transfer(res.0, crate::notify::mask::MODIFY);
        Ok(res)
    }

    /// Writes inode data (at end of file with `O_APPEND`): through the file's cached pages
    /// while something maps them, so the mappings see it.
    fn write_data(&self, r: &mut VmReader<'_>, off: u64) -> KResult<(usize, u64)> {
        let inode = self.inode_or_badf()?;
        let cache = self.cache();
        let store = cache.as_ref().and_then(|c| c.store(inode));
        let size = match &store {
            Some(store) => store.size()?, // a regular file
            None => {
                let attr = inode.attr()?;
                if attr.is_dir() {
                    return Err(Errno::EISDIR);
                }
                attr.size
            }
        };
        let off = if self.flags().contains(OpenFlags::APPEND) { size } else { off };
        let len = clamp_to_max_size(off, r.remain())?;
        if len == 0 {
            return Ok((0, off));
        }
        r.limit(len);
        let n = match (store, cache.and_then(|c| c.live(inode))) {
            (Some(store), _) => store.write(off, r)?,
            (None, Some(pages)) => pages.write(off, r)?,
            (None, None) => inode.write_at(off, r)?,
        };
        Ok((n, off.saturating_add(n as u64)))
    }

    fn positional(&self, off: i64) -> KResult<u64> {
        if !self.is_seekable() {
            return Err(Errno::ESPIPE);
        }
        u64::try_from(off).map_err(|_| Errno::EINVAL)
    }

    /// True if the file has a position (regular files, directories, seekable devices).
    pub fn is_seekable(&self) -> bool {
        match &self.file {
            Some(f) => f.seekable(),
            None => self.inode.is_some(),
        }
    }

    /// `lseek(2)` with `SEEK_SET`/`SEEK_CUR`/`SEEK_END`/`SEEK_DATA`/`SEEK_HOLE` (a file is one
    /// data extent followed by the hole at EOF); `ESPIPE` if unseekable, `EINVAL` for a
    /// negative result or bad whence, `ENXIO` for data/hole at or past EOF.
    pub fn lseek(&self, off: i64, whence: u32) -> KResult<u64> {
        if !self.is_seekable() || self.is_path_only() {
            return Err(if self.is_path_only() { Errno::EBADF } else { Errno::ESPIPE });
        }
        let is_dir = self.file.is_none() && self.inode_or_badf()?.attr()?.is_dir();
        let base: i64 = match whence {
            SEEK_SET => 0,
            SEEK_CUR => to_i64(self.offset())?,
            SEEK_END | SEEK_DATA | SEEK_HOLE if is_dir => return Err(Errno::EINVAL),
            SEEK_END => to_i64(self.size()?)?,
            SEEK_DATA | SEEK_HOLE => return self.seek_data_hole(off, whence),
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(off).ok_or(Errno::EOVERFLOW)?;
        let new = u64::try_from(new).map_err(|_| Errno::EINVAL)?;
        self.set_offset(new);
        Ok(new)
    }

    fn seek_data_hole(&self, off: i64, whence: u32) -> KResult<u64> {
        let size = self.size()?;
        let off = u64::try_from(off).map_err(|_| Errno::ENXIO)?;
        if off >= size {
            return Err(Errno::ENXIO);
        }
        let new = if whence == SEEK_DATA { off } else { size };
        self.set_offset(new);
        Ok(new)
    }

    fn size(&self) -> KResult<u64> {
        match &self.file {
            Some(f) => Ok(f.size()),
            None => Ok(self.inode_or_badf()?.attr()?.size),
        }
    }

    /// `getdents64(2)`: fills `buf` with `linux_dirent64` records from the current position
    /// and advances it; returns 0 at the end, `EINVAL` if not even one record fits,
    /// `ENOTDIR` for a non-directory.
    pub fn getdents64(&self, buf: &mut [u8]) -> KResult<usize> {
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        let inode = self.inode_or_badf()?;
        if !inode.attr()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut pos = self.offset();
        let mut w = Dirent64Writer::new(buf);
        let mut overflow = false;
        inode.readdir(pos, &mut |e: &DirEntry<'_>| {
            if w.push(e.ino, e.next_pos, e.file_type.dirent_type(), e.name) {
                pos = e.next_pos;
                true
            } else {
                overflow = true;
                false
            }
        })?;
        if w.used() == 0 && overflow {
            return Err(Errno::EINVAL);
        }
        self.set_offset(pos);
        Ok(w.used())
    }

    /// Lists a directory from the current position through a visitor (for in-kernel users
    /// such as `/proc/<pid>/fd` or tools), advancing the position like `getdents64`.
    pub fn readdir(&self, visitor: &mut dyn FnMut(&DirEntry<'_>) -> bool) -> KResult<()> {
        let inode = self.inode_or_badf()?;
        let mut pos = self.offset();
        inode.readdir(pos, &mut |e: &DirEntry<'_>| {
            let go = visitor(e);
            if go {
                pos = e.next_pos;
            }
            go
        })?;
        self.set_offset(pos);
        Ok(())
    }

    /// `fstat(2)`: the file's own attributes, or its inode's with `st_dev` filled in.
    pub fn stat(&self) -> KResult<InodeAttr> {
        if let Some(a) = self.file.as_ref().and_then(|f| f.stat()) {
            return Ok(a);
        }
        match (&self.path, &self.inode) {
            (Some(p), _) => p.attr(),
            (None, Some(i)) => i.attr(),
            (None, None) => Ok(InodeAttr { mode: crate::abi::S_IFIFO | 0o600, nlink: 1, blksize: 4096, ..InodeAttr::default() }),
        }
    }

    /// `ftruncate(2)`: `EINVAL` unless a regular file open for writing, or for a negative
    /// length; `EFBIG` past the maximum file size.
    pub fn truncate(&self, len: i64) -> KResult<()> {
        let len = u64::try_from(len).map_err(|_| Errno::EINVAL)?;
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        let inode = self.inode.as_ref().ok_or(Errno::EINVAL)?;
        if !self.flags().can_write() || inode.attr()?.file_type() != FileType::Regular {
            return Err(Errno::EINVAL);
        }
        if len > MAX_LFS_FILESIZE {
            return Err(Errno::EFBIG);
        }
        if self.path.as_ref().is_some_and(|p| p.mount.is_readonly()) {
            return Err(Errno::EROFS);
        }
        inode.truncate(len)?;
        if let Some(c) = self.cache() {
            c.truncated(inode, len);
        }
        self.notify(crate::notify::mask::MODIFY);
        Ok(())
    }

    /// `fallocate(2)` mode 0: extends the file to cover `off..off+len`.
    pub fn fallocate(&self, mode: u32, off: i64, len: i64) -> KResult<()> {
        let (Ok(off), Ok(len)) = (u64::try_from(off), u64::try_from(len)) else { return Err(Errno::EINVAL) };
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        self.check_writable()?;
        let inode = self.inode.as_ref().ok_or(Errno::ESPIPE)?;
        match inode.attr()?.file_type() {
            FileType::Regular => {}
            FileType::Directory => return Err(Errno::EISDIR),
            _ => return Err(Errno::ENODEV),
        }
        off.checked_add(len).filter(|e| *e <= MAX_LFS_FILESIZE).ok_or(Errno::EFBIG)?;
        inode.fallocate(mode, off, len)
    }

    /// The events ready now (regular files and directories are always ready).
    pub fn poll(&self) -> PollEvents {
        match &self.file {
            Some(f) => f.poll(),
            None => crate::poll::default_events(),
        }
    }

    /// The pollee to wait on, if readiness can change.
    pub fn pollee(&self) -> Option<&Pollee> {
        self.file.as_ref().and_then(|f| f.pollee())
    }

    /// `ioctl(2)`: passed to the file's own operations; `ENOTTY` otherwise.
    pub fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        match &self.file {
            Some(f) => f.ioctl(cmd, arg, mem),
            None => Err(Errno::ENOTTY),
        }
    }

    /// `fsync(2)`/`fdatasync(2)`: writes the stores of shared mappings and then the inode back
    /// (`EINVAL` for files without storage).
    pub fn fsync(&self) -> KResult<()> {
        match (&self.file, &self.inode) {
            (None, Some(i)) => {
                if let Some(c) = self.cache() {
                    c.writeback(i)?;
                }
                i.sync()
            }
            (Some(_), Some(_)) => Ok(()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The key advisory locks are filed under.
    pub fn lock_key(&self) -> KResult<InodeKey> {
        let a = self.stat()?;
        Ok(InodeKey { dev: a.dev, ino: a.ino })
    }

    /// An identity for this open file description (the owner of its `flock` lock).
    pub fn id(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    /// `flock(2)` on this description; the lock is dropped when the description is.
    pub fn flock(self: &Arc<Self>, locks: &Arc<LockManager>, op: u32) -> KResult<()> {
        let key = self.lock_key()?;
        locks.flock(key, self.id(), op)?;
        *self.lock_owner_in.lock() = Some((locks.clone(), key));
        Ok(())
    }

    /// `fcntl(F_OFD_SETLK)`: an open-file-description record lock, owned by this description
    /// and dropped with its last close, as Linux's OFD locks (`EAGAIN` on conflict).
    pub fn ofd_setlk(self: &Arc<Self>, locks: &Arc<LockManager>, fl: &Flock) -> KResult<()> {
        locks.fcntl_setlk(self, crate::locks::ofd_owner(self), fl)?;
        *self.lock_owner_in.lock() = Some((locks.clone(), self.lock_key()?));
        Ok(())
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        if !self.flags().contains(OpenFlags::PATH) {
            let closed = if self.flags().can_write() { crate::notify::mask::CLOSE_WRITE } else { crate::notify::mask::CLOSE_NOWRITE };
            self.notify(closed);
        }
        let held = self.lock_owner_in.lock().take();
        if let Some((locks, key)) = held {
            locks.release_description(key, self as *const OpenFile as usize);
        }
        if self.inode_opened {
            if let Some(i) = &self.inode {
                i.release();
            }
        }
    }
}

fn to_i64(v: u64) -> KResult<i64> {
    i64::try_from(v).map_err(|_| Errno::EOVERFLOW)
}

/// How much of a write of `len` bytes at `off` fits below `MAX_LFS_FILESIZE` (`EFBIG` if none).
fn clamp_to_max_size(off: u64, len: usize) -> KResult<usize> {
    if len == 0 {
        return Ok(0);
    }
    if off >= MAX_LFS_FILESIZE {
        return Err(Errno::EFBIG);
    }
    let room = MAX_LFS_FILESIZE - off;
    Ok(usize::try_from(room).map_or(len, |r| r.min(len)))
}
