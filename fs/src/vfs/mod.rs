//! The `Vfs`: one mount namespace with its filesystem-type registry, device registry, lock
//! table and procfs provider, plus the operations syscall handlers call (split by concept into
//! `open`, `create`, `remove`, `attr` and `mounts`), so that `kernel`'s handlers stay thin.
//!
//! Every operation takes a [`Ctx`] (caller's root, credentials, umask) and, for paths, a start
//! [`Path`] that relative paths are resolved from (the cwd for `AT_FDCWD`, else the dirfd's path).

mod attr;
mod create;
mod mounts;
mod open;
mod remove;
mod xattr;

use std::sync::{Arc, Weak};

use uapi::{Errno, KResult};

use crate::abi::MsFlags;
use crate::context::Ctx;
use crate::acl::permission;
use crate::cred::{Credentials, MAY_EXEC, MAY_WRITE};
use crate::devfs::DeviceRegistry;
use crate::inode::{FileSystem, InodeAttr};
use crate::klock::KMutex;
use crate::locks::LockManager;
use crate::mount::{Mount, MountFlags, Path};
use crate::path::{resolve, Walker};
use crate::open_file::OpenFile;
use crate::pagecache::{FilePages, PageCache};
use crate::procfs::ProcProvider;

pub use attr::TimeArg;
pub use xattr::{capable_sys_admin, pathless_xattr_error};

/// Builds a filesystem for `mount(2)` from its source, flags and data.
pub type FsFactory = dyn Fn(&MountRequest<'_>) -> KResult<Arc<dyn FileSystem>> + Send + Sync;

/// The arguments a filesystem factory receives.
pub struct MountRequest<'a> {
    /// The `source` argument (`/dev/ubda`, `none`, a host directory for hostfs).
    pub source: &'a [u8],
    /// The `MS_*` flags.
    pub flags: MsFlags,
    /// The filesystem-specific option string (`size=64m`).
    pub data: &'a [u8],
    /// The namespace being mounted into (procfs and devtmpfs use it).
    pub vfs: &'a Arc<Vfs>,
    /// When `source` names a block device node: the registered disk behind it (`Err(ENXIO)`
    /// if none is), as Linux's `lookup_bdev` + `blkdev_get_by_dev`; `None` for other sources.
    pub block: Option<KResult<crate::devfs::BlockDisk>>,
}

struct FsType {
    name: String,
    nodev: bool,
    factory: Arc<FsFactory>,
}

/// A mount namespace and everything shared by the files in it.
pub struct Vfs {
    me: Weak<Vfs>,
    root: Arc<Mount>,
    fs_types: KMutex<Vec<FsType>>,
    devices: Arc<DeviceRegistry>,
    locks: Arc<LockManager>,
    pages: Arc<PageCache>,
    proc: KMutex<Option<Arc<dyn ProcProvider>>>,
    pub(crate) notifier: Arc<crate::notify::Notifier>,
}

impl Vfs {
    /// A namespace whose root mount is `root_fs` (read-only if the filesystem is), with the
    /// built-in types `tmpfs`, `devtmpfs`, `devpts`, `proc` and `hostfs` registered and the memory
    /// devices (`null`, `zero`, `full`, `random`, `urandom`) in the device registry.
    pub fn new(root_fs: Arc<dyn FileSystem>) -> Arc<Vfs> {
        Vfs::with_root(root_fs, b"rootfs", MountFlags::empty())
    }

    /// Like [`Vfs::new`] with the root mount's source string and flags (`--ro`).
    pub fn with_root(root_fs: Arc<dyn FileSystem>, source: &[u8], flags: MountFlags) -> Arc<Vfs> {
        let root_dentry = crate::dentry::Dentry::new_root(root_fs.root());
        let root = Mount::new(root_fs, root_dentry, source, flags);
        let vfs = Arc::new_cyclic(|me| Vfs {
            me: me.clone(),
            root,
            fs_types: KMutex::new(Vec::new()),
            devices: Arc::new(DeviceRegistry::new()),
            locks: Arc::new(LockManager::new()),
            pages: Arc::new(PageCache::new()),
            proc: KMutex::new(None),
            notifier: Arc::new(crate::notify::Notifier::default()),
        });
        vfs.register_builtin_types();
        crate::devfs::register_memory_devices(&vfs.devices);
        vfs
    }

    /// The root of the namespace.
    pub fn root(&self) -> Path {
        Path::root_of(&self.root)
    }

    /// The root mount.
    pub fn root_mount(&self) -> &Arc<Mount> {
        &self.root
    }

    /// The device registry (the kernel registers `tty`, `console` and friends here).
    pub fn devices(&self) -> &Arc<DeviceRegistry> {
        &self.devices
    }

    /// The advisory lock table.
    pub fn locks(&self) -> &Arc<LockManager> {
        &self.locks
    }

    /// The inotify watches and the events the VFS operations report to them.
    pub fn notifier(&self) -> &Arc<crate::notify::Notifier> {
        &self.notifier
    }

    /// The page cache.
    pub fn page_cache(&self) -> &Arc<PageCache> {
        &self.pages
    }

    /// The pages of an open regular file for `mmap`/`execve` (`ENODEV` for anything else, as
    /// Linux says for files without `mmap`); the name is the file's path from the namespace root.
    pub fn file_pages(&self, file: &OpenFile, frames: &Arc<mm::FrameAllocator>) -> KResult<Arc<FilePages>> {
        let (Some(path), None) = (file.path(), file.file_like()) else { return Err(Errno::ENODEV) };
        self.path_pages(path, frames)
    }

    /// The page-cache pages of the regular file at `path` (what `execve` maps its program and
    /// interpreter from; `ENODEV` for anything else).
    pub fn path_pages(&self, path: &Path, frames: &Arc<mm::FrameAllocator>) -> KResult<Arc<FilePages>> {
        if path.attr()?.file_type() != crate::inode::FileType::Regular {
            return Err(Errno::ENODEV);
        }
        let name = String::from_utf8_lossy(&crate::path::path_string(path, &self.root())).into_owned();
        Ok(self.pages.pages(path.inode(), frames, name))
    }

    /// What a mapping of `file` maps: a memory file's (a memfd's) own pages, shared by every
    /// mapping, else the file's page-cache pages ([`Vfs::file_pages`]).
    pub fn mapping_source(&self, file: &OpenFile, frames: &Arc<mm::FrameAllocator>) -> KResult<Arc<dyn mm::PageSource>> {
        if file.file_like().is_none() {
            if let Some(own) = file.inode().and_then(|i| i.page_source()) {
                return Ok(own);
            }
        }
        Ok(self.file_pages(file, frames)?)
    }

    /// Installs the kernel's procfs provider (used by `proc` mounts made afterwards).
    pub fn set_proc_provider(&self, p: Arc<dyn ProcProvider>) {
        *self.proc.lock() = Some(p);
    }

    /// The procfs provider, if the kernel installed one.
    pub fn proc_provider(&self) -> Option<Arc<dyn ProcProvider>> {
        self.proc.lock().clone()
    }

    /// This namespace as an `Arc` (for factories that keep a reference).
    pub fn arc(&self) -> Option<Arc<Vfs>> {
        self.me.upgrade()
    }

    /// Registers a filesystem type under its Linux name (`"ext2"`, `"ext4"` from init);
    /// `nodev` marks types that need no block device (`/proc/filesystems`' first column).
    /// A later registration of the same name replaces the earlier one.
    pub fn register_fs_type(&self, name: &str, nodev: bool, factory: Arc<FsFactory>) {
        let mut types = self.fs_types.lock();
        types.retain(|t| t.name != name);
        types.push(FsType { name: name.to_string(), nodev, factory });
    }

    /// The registered types as (name, nodev), in registration order.
    pub fn fs_types(&self) -> Vec<(String, bool)> {
        self.fs_types.lock().iter().map(|t| (t.name.clone(), t.nodev)).collect()
    }

    fn fs_factory(&self, name: &[u8]) -> KResult<Arc<FsFactory>> {
        let types = self.fs_types.lock();
        let t = types.iter().find(|t| t.name.as_bytes() == name).ok_or(Errno::ENODEV)?;
        Ok(t.factory.clone())
    }

    fn register_builtin_types(&self) {
        self.register_fs_type("tmpfs", true, Arc::new(|req: &MountRequest<'_>| {
            // Only `size=N%` needs the RAM size (the provider may not be usable before boot).
            let percent = req.data.contains(&b'%');
            let known = crate::tmpfs::ram_size();
            let ram = match (percent, known) {
                (false, _) => 0,
                (true, 0) => req.vfs.proc_provider().map_or(2 << 30, |p| p.meminfo().total_kb.saturating_mul(1024)),
                (true, k) => k,
            };
            let options = crate::tmpfs::TmpfsOptions::parse(req.data, ram)?;
            Ok(crate::tmpfs::TmpFs::with_options("tmpfs", 0o1777, options) as Arc<dyn FileSystem>)
        }));
        self.register_fs_type("devtmpfs", true, Arc::new(|req: &MountRequest<'_>| {
            Ok(req.vfs.devices.devtmpfs() as Arc<dyn FileSystem>)
        }));
        self.register_fs_type("devpts", true, Arc::new(|req: &MountRequest<'_>| {
            let opts = crate::devpts::DevPtsOptions::parse(req.data)?;
            Ok(crate::devpts::DevPts::new(opts) as Arc<dyn FileSystem>)
        }));
        self.register_fs_type("proc", true, Arc::new(|req: &MountRequest<'_>| {
            Ok(crate::procfs::ProcFs::new(req.vfs) as Arc<dyn FileSystem>)
        }));
        self.register_fs_type("sysfs", true, Arc::new(|req: &MountRequest<'_>| {
            let provider = req.vfs.proc_provider().unwrap_or_else(|| Arc::new(()));
            let disks: Vec<crate::sysfs::BlockIf> = req
                .vfs
                .devices
                .block_devices()
                .into_iter()
                .map(|d| crate::sysfs::BlockIf { size: d.dev.size(), ro: d.dev.read_only(), name: d.name, major: d.major, minor: d.minor })
                .collect();
            Ok(crate::sysfs::SysFs::with_disks(provider.as_ref(), &disks) as Arc<dyn FileSystem>)
        }));
        self.register_fs_type("hostfs", true, Arc::new(|req: &MountRequest<'_>| {
            let ro = req.flags.contains(MsFlags::MS_RDONLY);
            let dir = if req.data.is_empty() { req.source } else { req.data };
            let dir = std::str::from_utf8(dir).map_err(|_| Errno::EINVAL)?;
            Ok(crate::hostfs::HostFs::new(dir, ro)? as Arc<dyn FileSystem>)
        }));
    }

    /// Resolves a path (`follow` = follow a final symlink), as `kernel` does for `stat`,
    /// `chdir`, `execve`.
    pub fn lookup(&self, ctx: &Ctx<'_>, start: &Path, path: &[u8], follow: bool) -> KResult<Path> {
        resolve(ctx, start, path, follow)
    }

    /// `sync(2)`: writes back what shared mappings stored, then every mounted filesystem.
    pub fn sync_all(&self) -> KResult<()> {
        let mut result = self.pages.writeback_all();
        for m in self.mounts() {
            if let Err(e) = m.fs().sync() {
                log::warn!("sync of {} failed: {e}", m.fs().name());
                result = Err(e);
            }
        }
        result
    }
}

/// `EROFS` if the path's mount (or filesystem) is read-only.
fn check_writable_mount(p: &Path) -> KResult<()> {
    if p.mount.is_readonly() {
        return Err(Errno::EROFS);
    }
    Ok(())
}

/// Linux's `may_create` for directory `dir`: a live directory with write and search permission.
fn may_create(cred: &Credentials, dir: &Path) -> KResult<InodeAttr> {
    if dir.dentry.is_deleted() {
        return Err(Errno::ENOENT);
    }
    let attr = dir.attr()?;
    if !attr.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    permission(cred, &**dir.inode(), &attr, MAY_WRITE | MAY_EXEC)?;
    Ok(attr)
}

/// Looks a name up for an operation that must see whether it exists (`ENOENT` is `Ok(None)`).
fn lookup_opt(walker: &mut Walker<'_>, dir: &Path, name: &[u8]) -> KResult<Option<Path>> {
    match walker.lookup(dir, name) {
        Ok(p) => Ok(Some(p)),
        Err(e) if e == Errno::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
