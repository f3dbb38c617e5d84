//! hostfs inodes: a (parent, name) location from which the host path is rebuilt on each
//! operation (so renames of a directory move its whole subtree), plus an open host file for
//! the data of regular files while the guest has them open.

use std::any::Any;
use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mm::{VmReader, VmWriter};
use uapi::{Errno, KResult};

use super::{host_err, host_file_type, HostFs};
use crate::abi::OpenFlags;
use crate::file_like::FileLike;
use crate::inode::{DirEntry, DirVisitor, FileSystem, FileType, Inode, InodeAttr, RenameFlags, SetAttr};
use crate::klock::KMutex;
use crate::time::Timespec;

struct Loc {
    parent: Option<Arc<HostInode>>,
    name: Vec<u8>,
}

struct Handle {
    file: File,
    writable: bool,
}

/// A snapshot of a directory listing, taken when a reader starts at position 0.
type Listing = Vec<(Vec<u8>, u64, FileType)>;

/// One host file, directory or symlink.
pub struct HostInode {
    fs: Weak<HostFs>,
    me: Weak<HostInode>,
    ftype: FileType,
    loc: KMutex<Loc>,
    handle: KMutex<Option<Handle>>,
    opens: KMutex<u32>,
    listing: KMutex<Listing>,
}

impl HostInode {
    fn build(fs: Weak<HostFs>, ftype: FileType, parent: Option<Arc<HostInode>>, name: &[u8]) -> Arc<HostInode> {
        Arc::new_cyclic(|me| HostInode {
            fs,
            me: me.clone(),
            ftype,
            loc: KMutex::new(Loc { parent, name: name.to_vec() }),
            handle: KMutex::new(None),
            opens: KMutex::new(0),
            listing: KMutex::new(Vec::new()),
        })
    }

    pub(super) fn new_root(fs: Weak<HostFs>) -> Arc<HostInode> {
        HostInode::build(fs, FileType::Directory, None, b"")
    }

    fn hostfs(&self) -> KResult<Arc<HostFs>> {
        self.fs.upgrade().ok_or(Errno::EIO)
    }

    fn this(&self) -> KResult<Arc<HostInode>> {
        self.me.upgrade().ok_or(Errno::ENOENT)
    }

    /// The host path, rebuilt from the chain of (parent, name) locations.
    pub(super) fn host_path(&self) -> KResult<PathBuf> {
        let mut names = Vec::new();
        let mut cur = self.this()?;
        loop {
            let (parent, name) = {
                let l = cur.loc.lock();
                (l.parent.clone(), l.name.clone())
            };
            match parent {
                Some(p) => {
                    names.push(name);
                    cur = p;
                }
                None => break,
            }
        }
        let mut path = self.hostfs()?.base.clone();
        for n in names.iter().rev() {
            path.push(OsStr::from_bytes(n));
        }
        Ok(path)
    }

    fn child_path(&self, name: &[u8]) -> KResult<PathBuf> {
        Ok(self.host_path()?.join(OsStr::from_bytes(name)))
    }

    pub(super) fn check_writable_fs(&self) -> KResult<()> {
        if self.hostfs()?.read_only {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    /// The inode object for `name` in this directory with host metadata `meta`: the cached one
    /// (moved to this location) or a new one.
    fn inode_for(&self, name: &[u8], meta: &Metadata) -> KResult<Arc<HostInode>> {
        let fs = self.hostfs()?;
        if let Some(i) = fs.cached(meta.ino()) {
            if i.ftype == host_file_type(meta.file_type()) && i.loc.lock().parent.is_some() {
                *i.loc.lock() = Loc { parent: Some(self.this()?), name: name.to_vec() };
                return Ok(i);
            }
        }
        let i = HostInode::build(self.fs.clone(), host_file_type(meta.file_type()), Some(self.this()?), name);
        fs.remember(meta.ino(), &i);
        Ok(i)
    }

    /// Host metadata: from the open handle if any (works after unlink), else by path.
    fn metadata(&self) -> KResult<Metadata> {
        if let Some(h) = self.handle.lock().as_ref() {
            return h.file.metadata().map_err(host_err);
        }
        std::fs::symlink_metadata(self.host_path()?).map_err(host_err)
    }

    /// Runs `f` on the open host file, opening it (read-write when possible) first.
    fn with_handle<R>(&self, write: bool, f: impl FnOnce(&File) -> std::io::Result<R>) -> KResult<R> {
        if self.ftype != FileType::Regular {
            return Err(if self.ftype == FileType::Directory { Errno::EISDIR } else { Errno::EINVAL });
        }
        let mut slot = self.handle.lock();
        let usable = slot.as_ref().is_some_and(|h| h.writable || !write);
        if !usable {
            *slot = Some(self.open_host(write)?);
        }
        let h = slot.as_ref().ok_or(Errno::EIO)?;
        f(&h.file).map_err(host_err)
    }

    /// Opens the host file read-only unless a write needs it: a host file held open for
    /// writing cannot be executed on the host (`ETXTBSY`), so reads never ask for more.
    fn open_host(&self, write: bool) -> KResult<Handle> {
        let path = self.host_path()?;
        let ro = self.hostfs()?.read_only;
        if !ro && write {
            match OpenOptions::new().read(true).write(true).open(&path) {
                Ok(file) => return Ok(Handle { file, writable: true }),
                Err(e) if write => return Err(host_err(e)),
                Err(_) => {}
            }
        } else if write {
            return Err(Errno::EROFS);
        }
        let file = File::open(&path).map_err(host_err)?;
        Ok(Handle { file, writable: false })
    }

    /// Gives a new host object the requested owner: `lchown` on the host, or an in-memory
    /// override when the host refuses with `EPERM` (umbra running unprivileged).
    fn apply_owner(&self, path: &std::path::Path, meta: &Metadata, uid: u32, gid: u32) -> KResult<()> {
        if meta.uid() == uid && meta.gid() == gid {
            return Ok(());
        }
        match std::os::unix::fs::lchown(path, Some(uid), Some(gid)) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(Errno::EPERM.raw()) => {
                self.hostfs()?.set_owner_override(meta.ino(), uid, gid);
                Ok(())
            }
            Err(e) => Err(host_err(e)),
        }
    }

    /// Finishes a create: fixes the mode past the host umask, the owner, and makes the inode.
    fn finish_create(&self, name: &[u8], path: &std::path::Path, mode: Option<u32>, uid: u32, gid: u32) -> KResult<Arc<HostInode>> {
        if let Some(mode) = mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7777)).map_err(host_err)?;
        }
        let meta = std::fs::symlink_metadata(path).map_err(host_err)?;
        self.apply_owner(path, &meta, uid, gid)?;
        self.inode_for(name, &meta)
    }

    /// A socket file (what a guest `bind` leaves in the directory): made by binding a host unix
    /// socket at the path and closing it. A host path too long for `sockaddr_un` is bound under
    /// a short temporary name through the directory's `/proc/self/fd` link, then renamed.
    /// `EEXIST` if the name exists.
    fn make_socket(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        const SUN_PATH_MAX: usize = 107;
        self.check_writable_fs()?;
        let path = self.child_path(name)?;
        if std::fs::symlink_metadata(&path).is_ok() {
            return Err(Errno::EEXIST);
        }
        if path.as_os_str().len() <= SUN_PATH_MAX {
            drop(std::os::unix::net::UnixListener::bind(&path).map_err(host_err)?);
        } else {
            let dir_path = self.host_path()?;
            let dir = std::fs::File::open(&dir_path).map_err(host_err)?;
            let tmp = format!(".umbra-sock.{}.{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            let short = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd())).join(&tmp);
            drop(std::os::unix::net::UnixListener::bind(&short).map_err(host_err)?);
            if let Err(e) = std::fs::rename(dir_path.join(&tmp), &path) {
                let _ = std::fs::remove_file(dir_path.join(&tmp));
                return Err(host_err(e));
            }
        }
        Ok(self.finish_create(name, &path, Some(mode), uid, gid)?)
    }

    fn peer(&self, other: &Arc<dyn Inode>) -> KResult<Arc<HostInode>> {
        let h = other.as_any().downcast_ref::<HostInode>().ok_or(Errno::EXDEV)?;
        if !Weak::ptr_eq(&h.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        h.this()
    }

    fn refresh_listing(&self) -> KResult<Listing> {
        use std::os::unix::fs::DirEntryExt;
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.host_path()?).map_err(host_err)? {
            let e = e.map_err(host_err)?;
            let ft = e.file_type().map(host_file_type).unwrap_or(FileType::Regular);
            out.push((e.file_name().into_vec(), e.ino(), ft));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        *self.listing.lock() = out.clone();
        Ok(out)
    }

    fn parent_ino(&self) -> u64 {
        let parent = self.loc.lock().parent.clone();
        let meta = match parent {
            Some(p) => p.metadata(),
            None => self.metadata(),
        };
        meta.map(|m| m.ino()).unwrap_or(0)
    }

    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> KResult<()> {
        if self.ftype == FileType::Symlink || (atime.is_none() && mtime.is_none()) {
            return Ok(());
        }
        let mut times = std::fs::FileTimes::new();
        if let Some(t) = atime {
            times = times.set_accessed(to_system_time(t));
        }
        if let Some(t) = mtime {
            times = times.set_modified(to_system_time(t));
        }
        let path = self.host_path()?;
        let file = File::open(&path).or_else(|_| OpenOptions::new().write(true).open(&path)).map_err(host_err)?;
        file.set_times(times).map_err(host_err)
    }

    fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) -> KResult<()> {
        if uid.is_none() && gid.is_none() {
            return Ok(());
        }
        let cur = self.attr()?;
        let path = self.host_path()?;
        let meta = self.metadata()?;
        self.apply_owner(&path, &meta, uid.unwrap_or(cur.uid), gid.unwrap_or(cur.gid))
    }
}

fn to_system_time(t: Timespec) -> SystemTime {
    let nsec = Duration::from_nanos(u64::try_from(t.nsec).unwrap_or(0));
    match u64::try_from(t.sec) {
        Ok(s) => UNIX_EPOCH + Duration::from_secs(s) + nsec,
        Err(_) => UNIX_EPOCH - Duration::from_secs(t.sec.unsigned_abs()) + nsec,
    }
}

impl Inode for HostInode {
    fn attr(&self) -> KResult<InodeAttr> {
        let m = self.metadata()?;
        let (uid, gid) = self.hostfs()?.owner_override(m.ino()).unwrap_or((m.uid(), m.gid()));
        Ok(InodeAttr {
            ino: m.ino(),
            mode: m.mode(),
            nlink: m.nlink(),
            uid,
            gid,
            size: m.size(),
            blocks: m.blocks(),
            blksize: u32::try_from(m.blksize()).unwrap_or(4096),
            atime: Timespec::new(m.atime(), m.atime_nsec()),
            mtime: Timespec::new(m.mtime(), m.mtime_nsec()),
            ctime: Timespec::new(m.ctime(), m.ctime_nsec()),
            rdev: m.rdev(),
            dev: 0,
        })
    }

    fn fs(&self) -> Option<Arc<dyn FileSystem>> {
        self.fs.upgrade().map(|f| f as Arc<dyn FileSystem>)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        if self.ftype != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let meta = std::fs::symlink_metadata(self.child_path(name)?).map_err(host_err)?;
        Ok(self.inode_for(name, &meta)?)
    }

    fn readdir(&self, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        if self.ftype != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let listing = if pos == 0 { self.refresh_listing()? } else { self.listing.lock().clone() };
        if pos == 0 {
            let ino = self.metadata()?.ino();
            if !visitor(&DirEntry { name: b".", ino, file_type: FileType::Directory, next_pos: 1 }) {
                return Ok(());
            }
        }
        if pos <= 1 && !visitor(&DirEntry { name: b"..", ino: self.parent_ino(), file_type: FileType::Directory, next_pos: 2 }) {
            return Ok(());
        }
        let first = usize::try_from(pos.saturating_sub(2)).unwrap_or(usize::MAX);
        for (i, (name, ino, ft)) in listing.iter().enumerate().skip(first) {
            let next_pos = (i as u64).saturating_add(3);
            if !visitor(&DirEntry { name, ino: *ino, file_type: *ft, next_pos }) {
                break;
            }
        }
        Ok(())
    }

    fn read_at(&self, off: u64, buf: &mut VmWriter<'_>) -> KResult<usize> {
        self.with_handle(false, |f| buf.read_from_fd(f.as_raw_fd(), off))
    }

    fn write_at(&self, off: u64, data: &mut VmReader<'_>) -> KResult<usize> {
        self.check_writable_fs()?;
        self.with_handle(true, |f| write_all_to_fd(data, f.as_raw_fd(), off))
    }

    fn truncate(&self, size: u64) -> KResult<()> {
        self.check_writable_fs()?;
        self.with_handle(true, |f| f.set_len(size))
    }

    fn fallocate(&self, mode: u32, off: u64, len: u64) -> KResult<()> {
        if mode != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > self.metadata()?.size() {
            self.truncate(end)?;
        }
        Ok(())
    }

    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        self.check_writable_fs()?;
        let path = self.child_path(name)?;
        let file = OpenOptions::new().read(true).write(true).create_new(true).mode(mode & 0o777).open(&path).map_err(host_err)?;
        let inode = self.finish_create(name, &path, Some(mode), uid, gid)?;
        *inode.handle.lock() = Some(Handle { file, writable: true });
        Ok(inode)
    }

    fn mknod(&self, name: &[u8], mode: u32, _rdev: u64, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        match FileType::from_mode(mode) {
            Some(FileType::Regular) => self.create(name, mode, uid, gid),
            Some(FileType::Socket) => self.make_socket(name, mode, uid, gid),
            _ => Err(Errno::EPERM),
        }
    }

    fn mkdir(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        self.check_writable_fs()?;
        let path = self.child_path(name)?;
        std::fs::DirBuilder::new().mode(mode & 0o777).create(&path).map_err(host_err)?;
        Ok(self.finish_create(name, &path, Some(mode), uid, gid)?)
    }

    fn unlink(&self, name: &[u8]) -> KResult<()> {
        self.check_writable_fs()?;
        std::fs::remove_file(self.child_path(name)?).map_err(host_err)
    }

    fn rmdir(&self, name: &[u8]) -> KResult<()> {
        self.check_writable_fs()?;
        std::fs::remove_dir(self.child_path(name)?).map_err(host_err)
    }

    fn rename(&self, old_name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: RenameFlags) -> KResult<()> {
        self.check_writable_fs()?;
        let new_dir = self.peer(new_dir)?;
        if flags.contains(RenameFlags::EXCHANGE) {
            return Err(Errno::EINVAL);
        }
        let from = self.child_path(old_name)?;
        let to = new_dir.child_path(new_name)?;
        if flags.contains(RenameFlags::NOREPLACE) && std::fs::symlink_metadata(&to).is_ok() {
            return Err(Errno::EEXIST);
        }
        let ino = std::fs::symlink_metadata(&from).map_err(host_err)?.ino();
        std::fs::rename(&from, &to).map_err(host_err)?;
        if let Some(i) = self.hostfs()?.cached(ino) {
            *i.loc.lock() = Loc { parent: Some(new_dir.clone()), name: new_name.to_vec() };
        }
        Ok(())
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> KResult<()> {
        self.check_writable_fs()?;
        let target = self.peer(target)?;
        std::fs::hard_link(target.host_path()?, self.child_path(name)?).map_err(host_err)
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        self.check_writable_fs()?;
        let path = self.child_path(name)?;
        std::os::unix::fs::symlink(OsStr::from_bytes(target), &path).map_err(host_err)?;
        Ok(self.finish_create(name, &path, None, uid, gid)?)
    }

    fn readlink(&self) -> KResult<Vec<u8>> {
        if self.ftype != FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        Ok(std::fs::read_link(self.host_path()?).map_err(host_err)?.into_os_string().into_vec())
    }

    fn get_xattr(&self, name: &[u8]) -> KResult<Vec<u8>> {
        self.xattr_get(name)
    }

    fn set_xattr(&self, name: &[u8], value: &[u8], flags: u32) -> KResult<()> {
        self.xattr_set(name, value, flags)
    }

    fn remove_xattr(&self, name: &[u8]) -> KResult<()> {
        self.xattr_remove(name)
    }

    fn list_xattr(&self) -> KResult<Vec<Vec<u8>>> {
        self.xattr_list()
    }

    fn set_attr(&self, a: &SetAttr) -> KResult<()> {
        self.check_writable_fs()?;
        if let Some(mode) = a.mode.filter(|_| self.ftype != FileType::Symlink) {
            std::fs::set_permissions(self.host_path()?, std::fs::Permissions::from_mode(mode & 0o7777)).map_err(host_err)?;
        }
        self.set_owner(a.uid, a.gid)?;
        self.set_times(a.atime, a.mtime)
    }

    fn open(&self, flags: OpenFlags) -> KResult<Option<Arc<dyn FileLike>>> {
        if self.ftype == FileType::Regular {
            self.with_handle(flags.can_write(), |_| Ok(()))?;
            *self.opens.lock() += 1;
        }
        Ok(None)
    }

    fn release(&self) {
        let mut opens = self.opens.lock();
        *opens = opens.saturating_sub(1);
        if *opens == 0 {
            *self.handle.lock() = None;
        }
    }

    fn sync(&self) -> KResult<()> {
        match self.handle.lock().as_ref() {
            Some(h) => h.file.sync_all().map_err(host_err),
            None => Ok(()),
        }
    }
}

/// Writes all of `data` to host file `fd` at `off` (`pwrite(2)` until done, as
/// `FileExt::write_all_at`); returns the bytes written.
fn write_all_to_fd(data: &mut VmReader<'_>, fd: std::os::fd::RawFd, off: u64) -> std::io::Result<usize> {
    let mut done = 0usize;
    while data.remain() > 0 {
        match data.write_to_fd(fd, off.saturating_add(done as u64)) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
