//! `Ext2Inode`: the VFS inode over one ext2 inode number. Objects are unique per inode number
//! while alive (the filesystem's weak map), so dentries, open files and the page cache share
//! one object; an inode whose last name goes while the object lives is freed when the object
//! is dropped, as Linux's `iput` → `ext2_evict_inode` does on last close.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use mm::{VmReader, VmWriter};
use uapi::{Errno, KResult};

use super::convert::{file_type_of_dt, to_ext2_setattr, to_vfs_attr};
use super::pages::Ext2FileBlocks;
use super::Shared;
use crate::pagestore::PageStore;
use crate::abi::{OpenFlags, S_IFMT, S_IFREG};
use crate::file_like::FileLike;
use crate::inode::{DirEntry, DirVisitor, FileSystem, FileType, Inode, InodeAttr, RenameFlags, SetAttr};

/// Directory entries fetched from ext2 per batch in `readdir` (the ext2 lock is not held
/// while the VFS's visitor runs).
const READDIR_BATCH: usize = 128;

/// One fetched directory entry: name, inode number, `DT_*` type, next position.
type RawEntry = (Vec<u8>, u32, u8, u64);

/// An inode of a mounted ext2/ext4 filesystem.
pub struct Ext2Inode {
    shared: Arc<Shared>,
    ino: u32,
    ftype: FileType,
    orphaned: AtomicBool,
    /// Made by `O_TMPFILE`: its first link may name it although it has none yet (the VFS
    /// decides whether it may be linked).
    tmpfile: AtomicBool,
    /// The page cache of a regular file, made on first use (Linux's `i_mapping`).
    store: OnceLock<Arc<PageStore>>,
}

impl Ext2Inode {
    pub(super) fn new(shared: Arc<Shared>, ino: u32, ftype: FileType) -> Ext2Inode {
        Ext2Inode { shared, ino, ftype, orphaned: AtomicBool::new(false), tmpfile: AtomicBool::new(false), store: OnceLock::new() }
    }

    /// The ext2 inode number.
    pub fn ino(&self) -> u32 {
        self.ino
    }

    /// True once the inode's last name was removed while this object was alive: it is freed
    /// when the object is dropped (last close).
    pub fn is_orphaned(&self) -> bool {
        self.orphaned.load(Ordering::Relaxed)
    }

    pub(super) fn mark_orphaned(&self) {
        self.orphaned.store(true, Ordering::Relaxed);
    }

    pub(super) fn ext2(&self) -> &crate::ext2::Ext2Fs {
        &self.shared.ext2
    }

    /// The page cache, if a reader, writer or mapping made it.
    pub(super) fn store(&self) -> Option<&Arc<PageStore>> {
        self.store.get()
    }

    /// Runs a size change `f` and tells the page cache (pages past the new end go, the tail
    /// of the last page is zeroed).
    fn resize(&self, new: Option<u64>, f: impl FnOnce() -> KResult<()>) -> KResult<()> {
        let (Some(store), Some(new)) = (self.store.get(), new) else { return f() };
        let old = self.ext2().stat(self.ino)?.size;
        f()?;
        store.truncate(old, new);
        Ok(())
    }

    fn check_dir(&self) -> KResult<()> {
        if self.ftype != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(())
    }

    fn check_data(&self) -> KResult<()> {
        match self.ftype {
            FileType::Regular => Ok(()),
            FileType::Directory => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The ext2 inode of another VFS inode of the same filesystem (`EXDEV` otherwise).
    fn peer<'a>(&self, other: &'a Arc<dyn Inode>) -> KResult<&'a Ext2Inode> {
        let o = other.as_any().downcast_ref::<Ext2Inode>().ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&o.shared, &self.shared) {
            return Err(Errno::EXDEV);
        }
        Ok(o)
    }

    /// Up to [`READDIR_BATCH`] entries from position `pos`.
    fn readdir_batch(&self, pos: u64) -> KResult<Vec<RawEntry>> {
        let mut out = Vec::new();
        self.ext2().readdir(self.ino, pos, &mut |name, ino, dt, next| {
            out.push((name.to_vec(), ino, dt, next));
            out.len() < READDIR_BATCH
        })?;
        Ok(out)
    }

    /// The type of an entry whose `DT_*` is unknown (no `filetype` feature): from its inode.
    fn entry_type(&self, ino: u32, dt: u8) -> FileType {
        file_type_of_dt(dt).unwrap_or_else(|| {
            let mode = self.ext2().stat(ino).map(|a| a.mode).unwrap_or(S_IFREG);
            FileType::from_mode(mode).unwrap_or(FileType::Regular)
        })
    }

    fn child(&self, ino: u32) -> KResult<Arc<dyn Inode>> {
        Ok(self.shared.inode(ino)?)
    }
}

impl Drop for Ext2Inode {
    fn drop(&mut self) {
        self.shared.forget(self.ino);
        if self.is_orphaned() {
            if let Some(store) = self.store.get() {
                store.discard();
            }
            if let Err(e) = self.shared.ext2.evict(self.ino) {
                log::debug!("ext2: freeing unlinked inode {} on last close: {e}", self.ino);
            }
        }
    }
}

impl Inode for Ext2Inode {
    fn attr(&self) -> KResult<InodeAttr> {
        Ok(to_vfs_attr(&self.ext2().stat(self.ino)?))
    }

    fn fs(&self) -> Option<Arc<dyn FileSystem>> {
        self.shared.vfs.upgrade().map(|f| f as Arc<dyn FileSystem>)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        self.check_dir()?;
        let ino = self.ext2().lookup(self.ino, name)?;
        self.child(ino)
    }

    fn readdir(&self, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        self.check_dir()?;
        let mut pos = pos;
        loop {
            let batch = self.readdir_batch(pos)?;
            for (name, ino, dt, next_pos) in &batch {
                let file_type = self.entry_type(*ino, *dt);
                if !visitor(&DirEntry { name, ino: u64::from(*ino), file_type, next_pos: *next_pos }) {
                    return Ok(());
                }
                pos = *next_pos;
            }
            if batch.len() < READDIR_BATCH {
                return Ok(());
            }
        }
    }

    fn read_at(&self, off: u64, buf: &mut VmWriter<'_>) -> KResult<usize> {
        self.check_data()?;
        if let Some(store) = self.store.get() {
            return store.read(off, buf);
        }
        self.ext2().read_to(self.ino, off, buf)
    }

    fn write_at(&self, off: u64, data: &mut VmReader<'_>) -> KResult<usize> {
        self.check_data()?;
        if let Some(store) = self.store.get() {
            return store.write(off, data);
        }
        self.ext2().write_from(self.ino, off, data)
    }

    fn truncate(&self, size: u64) -> KResult<()> {
        self.check_data()?;
        self.resize(Some(size), || self.ext2().truncate(self.ino, size))
    }

    fn fallocate(&self, mode: u32, off: u64, len: u64) -> KResult<()> {
        self.check_data()?;
        let Some(store) = self.store.get() else { return self.ext2().fallocate(self.ino, mode, off, len) };
        let old = self.ext2().stat(self.ino)?.size;
        self.ext2().fallocate(self.ino, mode, off, len)?;
        const PUNCH_HOLE: u32 = 2;
        if mode & PUNCH_HOLE != 0 {
            store.punch(off, off.saturating_add(len));
        }
        let new = self.ext2().stat(self.ino)?.size;
        if new != old {
            store.truncate(old, new);
        }
        Ok(())
    }

    fn tmpfile(&self, mode: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        self.check_dir()?;
        let ino = self.ext2().tmpfile(self.ino, mode & 0o7777, uid, gid)?;
        let i = self.shared.inode(ino)?;
        i.tmpfile.store(true, Ordering::Relaxed);
        i.mark_orphaned();
        Ok(i)
    }

    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        self.check_dir()?;
        let ino = self.ext2().create(self.ino, name, S_IFREG | (mode & 0o7777), uid, gid, 0)?;
        self.child(ino)
    }

    fn mknod(&self, name: &[u8], mode: u32, rdev: u64, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        self.check_dir()?;
        match FileType::from_mode(mode) {
            Some(FileType::Regular | FileType::CharDevice | FileType::BlockDevice | FileType::Fifo | FileType::Socket) => {}
            _ => return Err(Errno::EINVAL),
        }
        let mode = (mode & S_IFMT) | (mode & 0o7777);
        let ino = self.ext2().create(self.ino, name, mode, uid, gid, rdev)?;
        self.child(ino)
    }

    fn mkdir(&self, name: &[u8], mode: u32, uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        self.check_dir()?;
        let ino = self.ext2().mkdir(self.ino, name, mode & 0o7777, uid, gid)?;
        self.child(ino)
    }

    fn unlink(&self, name: &[u8]) -> KResult<()> {
        self.check_dir()?;
        let gone = self.ext2().unlink(self.ino, name)?;
        self.shared.unlinked(gone);
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> KResult<()> {
        self.check_dir()?;
        let gone = self.ext2().rmdir(self.ino, name)?;
        self.shared.unlinked(gone);
        Ok(())
    }

    fn rename(&self, old_name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: RenameFlags) -> KResult<()> {
        self.check_dir()?;
        let new_dir = self.peer(new_dir)?;
        let replaced = self.ext2().rename(self.ino, old_name, new_dir.ino, new_name, flags.bits())?;
        if let Some(gone) = replaced {
            self.shared.unlinked(gone);
        }
        Ok(())
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> KResult<()> {
        self.check_dir()?;
        let target = self.peer(target)?;
        if target.tmpfile.load(Ordering::Relaxed) {
            return self.ext2().link_tmpfile(target.ino, self.ino, name);
        }
        self.ext2().link(target.ino, self.ino, name)
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> KResult<Arc<dyn Inode>> {
        self.check_dir()?;
        let ino = self.ext2().symlink(self.ino, name, target, uid, gid)?;
        self.child(ino)
    }

    fn readlink(&self) -> KResult<Vec<u8>> {
        if self.ftype != FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        self.ext2().readlink(self.ino)
    }

    fn set_attr(&self, attr: &SetAttr) -> KResult<()> {
        let attr = to_ext2_setattr(attr);
        self.resize(attr.size, || self.ext2().set_attr(self.ino, &attr))
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

    fn open(&self, _flags: OpenFlags) -> KResult<Option<Arc<dyn FileLike>>> {
        // Devices and FIFOs are opened by the VFS through its registry (it never asks the
        // inode); regular files and directories are served by read_at/write_at/readdir.
        Ok(None)
    }

    fn page_store(&self, frames: &Arc<mm::FrameAllocator>) -> Option<Arc<PageStore>> {
        if self.ftype != FileType::Regular {
            return None;
        }
        let store = self.store.get_or_init(|| {
            let blocks = Arc::new(Ext2FileBlocks { shared: self.shared.clone(), ino: self.ino });
            Arc::new(PageStore::new(blocks, frames.clone()))
        });
        Some(store.clone())
    }

    /// `fsync`: the dirty data pages (of every file: the metadata written next may allocate
    /// blocks for any of them, and ordered mode writes data before the metadata naming it),
    /// then the filesystem's metadata.
    fn sync(&self) -> KResult<()> {
        self.shared.writeback_pages()?;
        self.ext2().sync()
    }
}
