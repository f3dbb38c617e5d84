//! tmpfs inodes: metadata plus content (file bytes, directory entries, symlink target).

use std::any::Any;
use std::sync::{Arc, Weak};

use mm::{VmReader, VmWriter};
use uapi::{Errno, KResult};

use super::dir::Dir;
use super::{TmpFs, PAGE};
use crate::abi::{S_IFLNK, S_IFMT, S_IFREG};
use crate::inode::{DirEntry, DirVisitor, FileSystem, FileType, Inode, InodeAttr, RenameFlags, SetAttr};
use crate::klock::KMutex;
use crate::time::{now, Timespec};
use crate::xattr::XattrMap;

/// Linux's `BOGO_DIRENT_SIZE`: tmpfs reports a directory's size as 20 bytes per entry.
const BOGO_DIRENT_SIZE: u64 = 20;

struct Meta {
    mode: u32,
    nlink: u64,
    uid: u32,
    gid: u32,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    rdev: u64,
}

enum Content {
    File(Vec<u8>),
    Dir(Dir),
    Symlink(Vec<u8>),
    Special,
}

/// One tmpfs inode.
pub struct TmpInode {
    ino: u64,
    me: Weak<TmpInode>,
    fs: Weak<TmpFs>,
    meta: KMutex<Meta>,
    content: KMutex<Content>,
    /// Extended attributes and ACLs (`tmpfs/xattr.rs`).
    pub(super) xattrs: KMutex<XattrMap>,
}

impl TmpInode {
    fn build(fs: Weak<TmpFs>, ino: u64, mode: u32, uid: u32, gid: u32, rdev: u64, content: Content) -> Arc<TmpInode> {
        let t = now();
        let nlink = if matches!(content, Content::Dir(_)) { 2 } else { 1 };
        Arc::new_cyclic(|me| TmpInode {
            ino,
            me: me.clone(),
            fs,
            meta: KMutex::new(Meta { mode, nlink, uid, gid, atime: t, mtime: t, ctime: t, rdev }),
            content: KMutex::new(content),
            xattrs: KMutex::new(XattrMap::new()),
        })
    }

    pub(super) fn new_dir(fs: Weak<TmpFs>, ino: u64, mode: u32, uid: u32, gid: u32, parent: Weak<TmpInode>) -> Arc<TmpInode> {
        TmpInode::build(fs, ino, mode, uid, gid, 0, Content::Dir(Dir::new(parent)))
    }

    pub(super) fn tmpfs(&self) -> KResult<Arc<TmpFs>> {
        self.fs.upgrade().ok_or(Errno::EIO)
    }

    fn file_type(&self) -> FileType {
        FileType::from_mode(self.meta.lock().mode).unwrap_or(FileType::Regular)
    }

    fn is_dir(&self) -> bool {
        self.file_type() == FileType::Directory
    }

    fn touch_mc(&self) {
        let t = now();
        let mut m = self.meta.lock();
        m.mtime = t;
        m.ctime = t;
    }

    pub(super) fn touch_c(&self) {
        self.meta.lock().ctime = now();
    }

    fn add_nlink(&self, delta: i64) {
        let mut m = self.meta.lock();
        m.nlink = m.nlink.saturating_add_signed(delta);
    }

    fn with_dir<R>(&self, f: impl FnOnce(&mut Dir) -> R) -> KResult<R> {
        match &mut *self.content.lock() {
            Content::Dir(d) => Ok(f(d)),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn child(&self, name: &[u8]) -> KResult<Arc<TmpInode>> {
        self.with_dir(|d| d.get(name))?.ok_or(Errno::ENOENT)
    }

    fn is_empty_dir(&self) -> bool {
        matches!(&*self.content.lock(), Content::Dir(d) if d.is_empty())
    }

    /// Adds a freshly built inode under `name` (`EEXIST` if taken).
    fn add_child(&self, name: &[u8], child: Arc<TmpInode>) -> KResult<Arc<dyn Inode>> {
        let taken = self.with_dir(|d| d.get(name).is_some())?;
        if taken {
            return Err(Errno::EEXIST);
        }
        if child.is_dir() {
            self.add_nlink(1);
        }
        self.with_dir(|d| d.insert(name, child.clone()))?;
        self.touch_mc();
        Ok(child)
    }

    fn new_child(&self, mode: u32, uid: u32, gid: u32, rdev: u64, content: Content) -> KResult<Arc<TmpInode>> {
        let fs = self.tmpfs()?;
        Ok(TmpInode::build(self.fs.clone(), fs.alloc_ino()?, mode, uid, gid, rdev, content))
    }

    /// Same-filesystem downcast of another inode (`EXDEV` otherwise).
    fn peer(&self, other: &Arc<dyn Inode>) -> KResult<Arc<TmpInode>> {
        let t = other.as_any().downcast_ref::<TmpInode>().ok_or(Errno::EXDEV)?;
        if !Weak::ptr_eq(&t.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        t.me.upgrade().ok_or(Errno::ENOENT)
    }

    fn size(&self) -> u64 {
        match &*self.content.lock() {
            Content::File(v) => v.len() as u64,
            Content::Dir(d) => (d.len() as u64 + 2) * BOGO_DIRENT_SIZE,
            Content::Symlink(t) => t.len() as u64,
            Content::Special => 0,
        }
    }

    /// Resizes file data to `len`, charging the fs size limit.
    fn resize(&self, data: &mut Vec<u8>, len: u64) -> KResult<()> {
        let new_len = usize::try_from(len).map_err(|_| Errno::EFBIG)?;
        self.tmpfs()?.charge(data.len() as u64, len)?;
        if new_len > data.len() {
            data.try_reserve(new_len - data.len()).map_err(|_| Errno::ENOMEM)?;
        }
        data.resize(new_len, 0);
        Ok(())
    }

    /// Detaches a removed inode from a parent directory's link accounting.
    fn drop_link(&self, parent: &TmpInode) {
        if self.is_dir() {
            self.meta.lock().nlink = 0;
            parent.add_nlink(-1);
        } else {
            self.add_nlink(-1);
        }
        self.touch_c();
    }

    fn set_parent(&self, parent: &TmpInode) {
        if let Content::Dir(d) = &mut *self.content.lock() {
            d.parent = parent.me.clone();
        }
    }

    fn rename_exchange(&self, old_name: &[u8], new_dir: &Arc<TmpInode>, new_name: &[u8]) -> KResult<()> {
        let a = self.child(old_name)?;
        let b = new_dir.child(new_name)?;
        self.with_dir(|d| d.insert(old_name, b.clone()))?;
        new_dir.with_dir(|d| d.insert(new_name, a.clone()))?;
        if !std::ptr::eq(self, &**new_dir) && a.is_dir() != b.is_dir() {
            let delta = if a.is_dir() { 1 } else { -1 };
            new_dir.add_nlink(delta);
            self.add_nlink(-delta);
        }
        a.set_parent(new_dir);
        b.set_parent(self);
        for i in [&a, &b] {
            i.touch_c();
        }
        self.touch_mc();
        new_dir.touch_mc();
        Ok(())
    }

    fn check_replace(src: &TmpInode, dst: &TmpInode) -> KResult<()> {
        match (src.is_dir(), dst.is_dir()) {
            (true, false) => Err(Errno::ENOTDIR),
            (false, true) => Err(Errno::EISDIR),
            (true, true) if !dst.is_empty_dir() => Err(Errno::ENOTEMPTY),
            _ => Ok(()),
        }
    }
}

impl Drop for TmpInode {
    fn drop(&mut self) {
        if let Some(fs) = self.fs.upgrade() {
            let _ = fs.charge(self.xattrs.lock().bytes(), 0);
            fs.free_ino();
        }
        if let (Content::File(v), Some(fs)) = (&*self.content.lock(), self.fs.upgrade()) {
            let _ = fs.charge(v.len() as u64, 0);
        }
    }
}

impl Inode for TmpInode {
    fn attr(&self) -> KResult<InodeAttr> {
        let size = self.size();
        let m = self.meta.lock();
        Ok(InodeAttr {
            ino: self.ino,
            mode: m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            size,
            blocks: size.div_ceil(PAGE) * (PAGE / 512),
            blksize: PAGE as u32,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            rdev: m.rdev,
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
        Ok(self.child(name)?)
    }

    fn readdir(&self, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        let (parent, entries) = {
            let content = self.content.lock();
            let Content::Dir(d) = &*content else { return Err(Errno::ENOTDIR) };
            (d.parent.upgrade(), d.entries_from(pos))
        };
        if pos == 0 && !visitor(&DirEntry { name: b".", ino: self.ino, file_type: FileType::Directory, next_pos: 1 }) {
            return Ok(());
        }
        if pos <= 1 {
            let ino = parent.map(|p| p.ino).unwrap_or(self.ino);
            if !visitor(&DirEntry { name: b"..", ino, file_type: FileType::Directory, next_pos: 2 }) {
                return Ok(());
            }
        }
        for (cookie, name, inode) in entries {
            let e = DirEntry { name: &name, ino: inode.ino, file_type: inode.file_type(), next_pos: cookie.saturating_add(1) };
            if !visitor(&e) {
                break;
            }
        }
        Ok(())
    }

    fn read_at(&self, off: u64, buf: &mut VmWriter<'_>) -> KResult<usize> {
        let content = self.content.lock();
        let data = match &*content {
            Content::File(v) => v,
            Content::Dir(_) => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        };
        let Ok(off) = usize::try_from(off) else { return Ok(0) };
        let Some(src) = data.get(off..) else { return Ok(0) };
        Ok(buf.write_slice(src))
    }

    fn write_at(&self, off: u64, data: &mut VmReader<'_>) -> KResult<usize> {
        let len = data.remain();
        let end = off.checked_add(len as u64).ok_or(Errno::EFBIG)?;
        {
            let mut content = self.content.lock();
            let file = match &mut *content {
                Content::File(v) => v,
                Content::Dir(_) => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            };
            if end > file.len() as u64 {
                self.resize(file, end)?;
            }
            let start = usize::try_from(off).map_err(|_| Errno::EFBIG)?;
            let dst = file.get_mut(start..).ok_or(Errno::EFBIG)?;
            data.read_slice(dst);
        }
        self.touch_mc();
        Ok(len)
    }

    fn truncate(&self, size: u64) -> KResult<()> {
        {
            let mut content = self.content.lock();
            match &mut *content {
                Content::File(v) => self.resize(v, size)?,
                Content::Dir(_) => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
        }
        self.touch_mc();
        Ok(())
    }

    fn fallocate(&self, mode: u32, off: u64, len: u64) -> KResult<()> {
        if mode != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > self.size() {
            self.truncate(end)?;
        }
        Ok(())
    }

    fn tmpfile(&self, mode: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let child = self.new_child(S_IFREG | (mode & 0o7777), uid, gid, 0, Content::File(Vec::new()))?;
        child.meta.lock().nlink = 0;
        Ok(child)
    }

    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let child = self.new_child(S_IFREG | (mode & 0o7777), uid, gid, 0, Content::File(Vec::new()))?;
        self.add_child(name, child)
    }

    fn mknod(&self, name: &[u8], mode: u32, rdev: u64, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let content = match FileType::from_mode(mode) {
            Some(FileType::Regular) => Content::File(Vec::new()),
            Some(FileType::CharDevice | FileType::BlockDevice | FileType::Fifo | FileType::Socket) => Content::Special,
            _ => return Err(Errno::EINVAL),
        };
        let child = self.new_child(mode & (S_IFMT | 0o7777), uid, gid, rdev, content)?;
        self.add_child(name, child)
    }

    fn mkdir(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let fs = self.tmpfs()?;
        let mode = crate::abi::S_IFDIR | (mode & 0o7777);
        let child = TmpInode::new_dir(self.fs.clone(), fs.alloc_ino()?, mode, uid, gid, self.me.clone());
        self.add_child(name, child)
    }

    fn unlink(&self, name: &[u8]) -> KResult<()> {
        let child = self.child(name)?;
        if child.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.with_dir(|d| d.remove(name))?;
        child.drop_link(self);
        self.touch_mc();
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> KResult<()> {
        let child = self.child(name)?;
        if !child.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !child.is_empty_dir() {
            return Err(Errno::ENOTEMPTY);
        }
        self.with_dir(|d| d.remove(name))?;
        child.drop_link(self);
        self.touch_mc();
        Ok(())
    }

    fn rename(&self, old_name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: RenameFlags) -> KResult<()> {
        let new_dir = self.peer(new_dir)?;
        if flags.contains(RenameFlags::EXCHANGE) {
            return self.rename_exchange(old_name, &new_dir, new_name);
        }
        let src = self.child(old_name)?;
        if let Ok(dst) = new_dir.child(new_name) {
            if flags.contains(RenameFlags::NOREPLACE) {
                return Err(Errno::EEXIST);
            }
            if Arc::ptr_eq(&src, &dst) {
                return Ok(());
            }
            TmpInode::check_replace(&src, &dst)?;
            dst.drop_link(&new_dir);
        }
        self.with_dir(|d| d.remove(old_name))?;
        let same_dir = std::ptr::eq(self, &*new_dir);
        if src.is_dir() {
            src.set_parent(&new_dir);
            if !same_dir {
                self.add_nlink(-1);
                new_dir.add_nlink(1);
            }
        }
        new_dir.with_dir(|d| d.insert(new_name, src.clone()))?;
        src.touch_c();
        self.touch_mc();
        new_dir.touch_mc();
        Ok(())
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> KResult<()> {
        let t = self.peer(target)?;
        if t.is_dir() {
            return Err(Errno::EPERM);
        }
        if self.with_dir(|d| d.get(name).is_some())? {
            return Err(Errno::EEXIST);
        }
        self.with_dir(|d| d.insert(name, t.clone()))?;
        t.add_nlink(1);
        t.touch_c();
        self.touch_mc();
        Ok(())
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        let child = self.new_child(S_IFLNK | 0o777, uid, gid, 0, Content::Symlink(target.to_vec()))?;
        self.add_child(name, child)
    }

    fn readlink(&self) -> KResult<Vec<u8>> {
        match &*self.content.lock() {
            Content::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
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
        Ok(self.xattrs.lock().names())
    }

    fn set_attr(&self, a: &SetAttr) -> KResult<()> {
        let mut guard = self.meta.lock();
        let m = &mut *guard;
        a.apply_to(crate::inode::MetaRefs { mode: &mut m.mode, uid: &mut m.uid, gid: &mut m.gid, atime: &mut m.atime, mtime: &mut m.mtime, ctime: &mut m.ctime });
        Ok(())
    }
}
