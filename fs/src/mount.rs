//! Mounts and paths (Linux's `struct mount`/`vfsmount` and `struct path`). A mount attaches a
//! filesystem's root dentry on a dentry of a parent mount; a [`Path`] is a (mount, dentry) pair,
//! which is what the path walk moves through and what open files and cwds remember.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};

use bitflags::bitflags;
use uapi::KResult;

use crate::dentry::Dentry;
use crate::inode::{FileSystem, Inode, InodeAttr};
use crate::klock::KMutex;

bitflags! {
    /// Per-mount flags (Linux's `MNT_*`), set from `MS_*` at mount/remount.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct MountFlags: u32 {
        /// Read-only mount.
        const RDONLY = 1;
        /// Ignore setuid/setgid.
        const NOSUID = 2;
        /// No device access.
        const NODEV = 4;
        /// No execution.
        const NOEXEC = 8;
        /// No access-time updates.
        const NOATIME = 16;
        /// Relative access times.
        const RELATIME = 32;
        /// The superblock was mounted or remounted read-only (mountinfo's last field says
        /// `ro`); a bind remount changes only the per-mount `RDONLY`.
        const SB_RDONLY = 64;
    }
}

static NEXT_MOUNT_ID: AtomicU32 = AtomicU32::new(1);

/// One mount: a filesystem (sub)tree attached at a mount point.
pub struct Mount {
    id: u32,
    fs: Arc<dyn FileSystem>,
    root: Arc<Dentry>,
    source: Vec<u8>,
    parent: KMutex<Option<(Weak<Mount>, Arc<Dentry>)>>,
    children: KMutex<Vec<Arc<Mount>>>,
    flags: KMutex<MountFlags>,
}

impl Mount {
    /// A detached mount of `fs` whose root is `root` (the fs root, or a subtree for binds).
    pub fn new(fs: Arc<dyn FileSystem>, root: Arc<Dentry>, source: &[u8], flags: MountFlags) -> Arc<Mount> {
        Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            fs,
            root,
            source: source.to_vec(),
            parent: KMutex::new(None),
            children: KMutex::new(Vec::new()),
            flags: KMutex::new(flags),
        })
    }

    /// The mount id (`/proc/self/mountinfo`'s first column).
    pub fn id(&self) -> u32 {
        self.id
    }
    /// The mounted filesystem.
    pub fn fs(&self) -> &Arc<dyn FileSystem> {
        &self.fs
    }
    /// The root dentry of this mount.
    pub fn root(&self) -> &Arc<Dentry> {
        &self.root
    }
    /// The source string given to `mount` (`/dev/ubda`, `tmpfs`, `proc`).
    pub fn source(&self) -> &[u8] {
        &self.source
    }
    /// The current flags.
    pub fn flags(&self) -> MountFlags {
        *self.flags.lock()
    }
    /// Replaces the flags (remount).
    pub fn set_flags(&self, flags: MountFlags) {
        *self.flags.lock() = flags;
    }
    /// True if writes through this mount are refused with `EROFS` (`__mnt_is_readonly`).
    pub fn is_readonly(&self) -> bool {
        self.flags().contains(MountFlags::RDONLY) || self.fs.read_only()
    }
    /// The parent mount and the dentry this mount sits on (`None` for the root mount).
    pub fn parent(&self) -> Option<(Arc<Mount>, Arc<Dentry>)> {
        let p = self.parent.lock();
        let (m, d) = p.as_ref()?;
        Some((m.upgrade()?, d.clone()))
    }
    /// The mounts attached below this one.
    pub fn children(&self) -> Vec<Arc<Mount>> {
        self.children.lock().clone()
    }

    /// Attaches `child` on `mountpoint` (a dentry of this mount).
    pub fn attach(self: &Arc<Self>, child: &Arc<Mount>, mountpoint: &Arc<Dentry>) {
        *child.parent.lock() = Some((Arc::downgrade(self), mountpoint.clone()));
        mountpoint.add_mount();
        self.children.lock().push(child.clone());
    }

    /// Detaches `child` from this mount.
    pub fn detach(&self, child: &Arc<Mount>) {
        let mp = child.parent.lock().take();
        if let Some((_, d)) = mp {
            d.remove_mount();
        }
        self.children.lock().retain(|c| !Arc::ptr_eq(c, child));
    }

    /// The most recent mount on `dentry` among this mount's children (`__lookup_mnt`).
    pub fn child_on(&self, dentry: &Arc<Dentry>) -> Option<Arc<Mount>> {
        let children = self.children.lock();
        children
            .iter()
            .rev()
            .find(|c| c.parent.lock().as_ref().is_some_and(|(_, d)| Arc::ptr_eq(d, dentry)))
            .cloned()
    }
}

/// A location in the mount tree: a mount and a dentry inside it (Linux's `struct path`).
#[derive(Clone)]
pub struct Path {
    /// The mount.
    pub mount: Arc<Mount>,
    /// The dentry within that mount.
    pub dentry: Arc<Dentry>,
}

impl Path {
    /// The root of `mount`.
    pub fn root_of(mount: &Arc<Mount>) -> Path {
        Path { mount: mount.clone(), dentry: mount.root().clone() }
    }
    /// The inode.
    pub fn inode(&self) -> &Arc<dyn Inode> {
        self.dentry.inode()
    }
    /// The inode's attributes with `dev` filled from the filesystem (`vfs_getattr`).
    pub fn attr(&self) -> KResult<InodeAttr> {
        let mut a = self.inode().attr()?;
        a.dev = self.mount.fs().dev();
        Ok(a)
    }
    /// True if both name the same mount and dentry (`path_equal`).
    pub fn same(&self, other: &Path) -> bool {
        Arc::ptr_eq(&self.mount, &other.mount) && Arc::ptr_eq(&self.dentry, &other.dentry)
    }
    /// True if this is the root of its mount.
    pub fn is_mount_root(&self) -> bool {
        Arc::ptr_eq(&self.dentry, self.mount.root())
    }
    /// Descends into whatever is mounted here, repeatedly (`follow_mount`).
    pub fn follow_mounts(mut self) -> Path {
        while self.dentry.is_mountpoint() {
            match self.mount.child_on(&self.dentry) {
                Some(m) => self = Path::root_of(&m),
                None => break,
            }
        }
        self
    }
}

impl std::fmt::Debug for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Path(mnt {}, {:?})", self.mount.id(), String::from_utf8_lossy(&self.dentry.name()))
    }
}
