//! ext2/ext3/ext4 images mounted through the VFS: a [`FileSystem`] and [`Inode`]s over the
//! inode-number API of [`Ext2Fs`], as Linux's `ext2_sops`/`ext2_dir_inode_operations` sit on
//! the on-disk code.
//!
//! - Inode objects are unique per inode number while alive (a weak map, Linux's inode hash),
//!   so dentries, open files and the page cache (`MAP_PRIVATE` mappings, exec) share them.
//! - A name removed while its inode is still open (unlink, rmdir, rename over it) leaves an
//!   orphan that is freed when the last object reference goes (last close), or at unmount.
//! - Devices and FIFOs stored in the image open through the VFS's device registry.
//! - Read-only: `MS_RDONLY`/`--ro`, a read-only image file, or an image with features umbra
//!   cannot write (ext4) — a root mount then falls back to read-only with one warning, as
//!   `mount(8)` retries a write-protected source read-only; `mount(2)` returns `EROFS`.
//! - [`register`] adds the types `ext2`, `ext3` and `ext4` (the source is a host image path
//!   until block devices exist); [`shutdown`] syncs and cleanly unmounts at exit.

mod convert;
mod inode;
mod pages;
mod xattr;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Weak};

use uapi::{Errno, KResult};

use crate::abi::MsFlags;
use crate::block::{BlockDevice, FileBlockDevice};
use crate::ext2::{Ext2Fs, MountError, Unlinked, ROOT_INO};
use crate::inode::{alloc_anon_dev, FileSystem, FileType, Inode, StatFs};
use crate::klock::KMutex;
use crate::vfs::{MountRequest, Vfs};

pub use inode::Ext2Inode;

/// How an image is to be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read-only (`ro`, `MS_RDONLY`): the image is never written.
    ReadOnly,
    /// Read-write, or fail (`EROFS` with the reason) — what `mount(2)` does.
    ReadWrite,
    /// Read-write if possible, else read-only with a warning naming the reason (a read-only
    /// image file, features umbra cannot write) — what `mount(8)` does for the root.
    PreferReadWrite,
}

/// State shared by the filesystem object and its inodes: the ext2 layer and the inode map.
/// The ext2 filesystem is unmounted (clean state written) when the last holder goes.
pub(crate) struct Shared {
    ext2: Ext2Fs,
    vfs: Weak<Ext2Vfs>,
    inodes: KMutex<HashMap<u32, Weak<Ext2Inode>>>,
}

impl Shared {
    /// The live inode object for `ino`, or a new one (Linux's `iget`).
    fn inode(self: &Arc<Self>, ino: u32) -> KResult<Arc<Ext2Inode>> {
        let mut map = self.inodes.lock();
        if let Some(i) = map.get(&ino).and_then(Weak::upgrade) {
            return Ok(i);
        }
        let mode = self.ext2.stat(ino)?.mode;
        let ftype = FileType::from_mode(mode).ok_or_else(|| {
            log::warn!("ext2: corrupt filesystem: inode {ino} has invalid mode {mode:o}");
            Errno::EIO
        })?;
        let i = Arc::new(Ext2Inode::new(self.clone(), ino, ftype));
        if map.len() >= 64 && map.len().is_power_of_two() {
            map.retain(|_, w| w.strong_count() > 0);
        }
        map.insert(ino, Arc::downgrade(&i));
        Ok(i)
    }

    /// Drops the map entry of `ino` if its object is gone (called from the object's `Drop`).
    fn forget(&self, ino: u32) {
        let mut map = self.inodes.lock();
        if map.get(&ino).is_some_and(|w| w.strong_count() == 0) {
            map.remove(&ino);
        }
    }

    /// Writes back the dirty pages of every live regular file (before a sync or unmount
    /// writes the metadata; jbd2's ordered mode needs the data first). Returns the first error.
    pub(crate) fn writeback_pages(&self) -> KResult<()> {
        let live: Vec<Arc<Ext2Inode>> = self.inodes.lock().values().filter_map(Weak::upgrade).collect();
        let mut result = Ok(());
        for i in &live {
            if let Some(store) = i.store() {
                result = result.and(store.writeback());
            }
        }
        result
    }

    /// After a name was removed: an inode that lost its last link is freed now if no object
    /// refers to it, else when its object is dropped.
    fn unlinked(&self, gone: Unlinked) {
        if !gone.orphaned {
            return;
        }
        let live = self.inodes.lock().get(&gone.ino).and_then(Weak::upgrade);
        match live {
            Some(i) => i.mark_orphaned(),
            None => {
                if let Err(e) = self.ext2.evict(gone.ino) {
                    log::warn!("ext2: cannot free unlinked inode {}: {e}", gone.ino);
                }
            }
        }
    }
}

/// A mounted ext2/ext3/ext4 filesystem (Linux's ext2 `super_block`).
pub struct Ext2Vfs {
    shared: Arc<Shared>,
    root: Arc<Ext2Inode>,
    name: &'static str,
    dev: u64,
}

impl Ext2Vfs {
    /// Mounts the filesystem on `dev` (read-only if asked or if the device is), reporting
    /// itself as `name` (`None`: `ext4` for images with ext4 features, else `ext2`).
    pub fn mount(dev: Arc<dyn BlockDevice>, read_only: bool, name: Option<&'static str>) -> Result<Arc<Ext2Vfs>, MountError> {
        let ext2 = Ext2Fs::mount(dev, read_only)?;
        let name = name.unwrap_or_else(|| ext2.fs_type());
        let root_mode = ext2.stat(ROOT_INO).map_err(|e| MountError { errno: e, message: format!("cannot read the root directory: {e}") })?.mode;
        let root_type = FileType::from_mode(root_mode).unwrap_or(FileType::Regular);
        Ok(Arc::new_cyclic(|me: &Weak<Ext2Vfs>| {
            let shared = Arc::new(Shared { ext2, vfs: me.clone(), inodes: KMutex::new(HashMap::new()) });
            let root = Arc::new(Ext2Inode::new(shared.clone(), ROOT_INO, root_type));
            shared.inodes.lock().insert(ROOT_INO, Arc::downgrade(&root));
            Ext2Vfs { shared, root, name, dev: alloc_anon_dev() }
        }))
    }

    /// Opens the host image file `path` and mounts it with the given [`Access`].
    pub fn open_image(path: &Path, access: Access, name: Option<&'static str>) -> Result<Arc<Ext2Vfs>, MountError> {
        let ro = access == Access::ReadOnly;
        let dev = FileBlockDevice::open(path, ro).map_err(|e| MountError {
            errno: e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO),
            message: format!("cannot open the image: {e}"),
        })?;
        Ext2Vfs::mount_with(Arc::new(dev), access, name, &path.display().to_string())
    }

    /// Mounts `dev` with the given [`Access`]; `label` names the image in the fallback warning.
    pub fn mount_with(dev: Arc<dyn BlockDevice>, access: Access, name: Option<&'static str>, label: &str) -> Result<Arc<Ext2Vfs>, MountError> {
        match Ext2Vfs::mount(dev.clone(), access == Access::ReadOnly, name) {
            Err(e) if e.errno == Errno::EROFS && access == Access::PreferReadWrite => {
                log::warn!("{label}: {}; mounting read-only", e.message.trim_end_matches(" (mount read-only)"));
                Ext2Vfs::mount(dev, true, name)
            }
            r => r,
        }
    }

    /// The ext2 layer (for tools and tests).
    pub fn ext2(&self) -> &Ext2Fs {
        &self.shared.ext2
    }

    /// Writes everything back and marks the image clean (`ext2_put_super`); afterwards every
    /// operation fails with `EIO`. Unlinked-but-open files are freed now.
    pub fn unmount(&self) -> KResult<()> {
        let pages = self.shared.writeback_pages();
        self.shared.ext2.unmount().and(pages)
    }

    /// Writes every file's dirty data pages to the disk (what jbd2's ordered mode needs
    /// before a commit).
    pub fn write_dirty_data(&self) -> KResult<()> {
        self.shared.writeback_pages()
    }
}

impl FileSystem for Ext2Vfs {
    fn name(&self) -> &'static str {
        self.name
    }
    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }
    fn statfs(&self) -> KResult<StatFs> {
        Ok(convert::to_vfs_statfs(&self.shared.ext2.statfs()))
    }
    fn sync(&self) -> KResult<()> {
        let pages = self.shared.writeback_pages();
        self.shared.ext2.sync().and(pages)
    }
    fn read_only(&self) -> bool {
        self.shared.ext2.is_read_only()
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn posix_acl(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Registers the filesystem types `ext2`, `ext3` and `ext4` (all served by [`Ext2Vfs`], as
/// Linux's ext4 driver serves all three). The `mount(2)` source is a block device node
/// (`/dev/ubdb`) or else a host image path; without `MS_RDONLY` an image umbra cannot write gives `EROFS` (with
/// the reason in the log), so `mount(8)` retries read-only as it does on Linux.
pub fn register(vfs: &Vfs) {
    for name in ["ext2", "ext3", "ext4"] {
        vfs.register_fs_type(name, false, Arc::new(move |req: &MountRequest<'_>| factory(name, req)));
    }
}

fn factory(name: &'static str, req: &MountRequest<'_>) -> KResult<Arc<dyn FileSystem>> {
    let source = std::str::from_utf8(req.source).map_err(|_| Errno::ENOENT)?;
    let access = if req.flags.contains(MsFlags::MS_RDONLY) { Access::ReadOnly } else { Access::ReadWrite };
    let opened = match &req.block {
        Some(disk) => {
            let dev = disk.clone()?.claim()?;
            Ext2Vfs::mount_with(dev, access, Some(name), source)
        }
        None => Ext2Vfs::open_image(Path::new(source), access, Some(name)),
    };
    match opened {
        Ok(fs) => Ok(fs as Arc<dyn FileSystem>),
        Err(e) => {
            log::warn!("{name} ({source}): {}", e.message);
            Err(e.errno)
        }
    }
}

/// At exit (Linux's `kernel_restart`/`kernel_power_off` path): syncs every mounted filesystem,
/// then unmounts every ext2 one, innermost first, so each image is left clean (`e2fsck -fn`).
/// Returns the first error (each one is also logged).
pub fn shutdown(vfs: &Vfs) -> KResult<()> {
    let mut result = vfs.sync_all();
    for m in vfs.mounts().iter().rev() {
        if let Some(e) = m.fs().as_any().downcast_ref::<Ext2Vfs>() {
            if let Err(err) = e.unmount() {
                log::warn!("unmount of {} failed: {err}", String::from_utf8_lossy(m.source()));
                result = result.and(Err(err));
            }
        }
    }
    result
}
