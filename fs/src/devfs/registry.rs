//! The device registry: character devices by (major, minor), the kernel's FIFO hook, and the
//! shared devtmpfs instance whose nodes mirror the registrations.

use std::collections::BTreeMap;
use std::sync::Arc;

use uapi::{Errno, KResult};

use crate::abi::{dev_major, dev_minor, make_dev, OpenFlags, S_IFBLK, S_IFCHR};
use crate::block::BlockDevice;
use crate::cred::Credentials;
use crate::file_like::FileLike;
use crate::inode::{Inode, InodeAttr};
use crate::klock::KMutex;
use crate::locks::InodeKey;
use crate::mount::Path;
use crate::tmpfs::TmpFs;

/// Opens a registered device: returns the open file's operations (Linux's `cdev` `open`).
pub trait DeviceOpen: Send + Sync {
    /// Opens the device with the given `open` flags.
    fn open(&self, flags: OpenFlags) -> KResult<Arc<dyn FileLike>>;

    /// Opens the device through the node at `node` for a caller with credentials `cred`
    /// (Linux's `open` sees the file's path: `ptmx` finds its devpts instance from it, a pty
    /// slave its pty from the devpts dentry). Defaults to [`DeviceOpen::open`].
    fn open_node(&self, node: &Path, cred: &Credentials, flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        let _ = (node, cred);
        self.open(flags)
    }
}

/// The kernel's FIFO implementation: opens the pipe behind a FIFO inode (one pipe per
/// `key`). fs does not block: the kernel handles "open for reading waits for a writer".
pub trait FifoOpen: Send + Sync {
    /// Opens the FIFO identified by `key` with the given flags.
    fn open_fifo(&self, key: InodeKey, flags: OpenFlags) -> KResult<Arc<dyn FileLike>>;
}

/// A [`DeviceOpen`] that hands every opener the same file object (stateless devices, the
/// console).
pub struct SharedDevice(pub Arc<dyn FileLike>);

impl DeviceOpen for SharedDevice {
    fn open(&self, _flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        Ok(self.0.clone())
    }
}

struct CharDev {
    name: String,
    mode: u32,
    opener: Arc<dyn DeviceOpen>,
}

/// A registered block device (a disk: `ubda`, `ubdb`, …).
#[derive(Clone)]
pub struct BlockDisk {
    /// The name under `/dev`, `/proc/partitions` and `/sys/block`.
    pub name: String,
    /// Linux's major number (98 for `ubd`).
    pub major: u32,
    /// The minor number (16 × the disk's index for `ubd`).
    pub minor: u32,
    /// The disk.
    pub dev: Arc<dyn BlockDevice>,
    /// Set while a filesystem is mounted from the disk ([`BlockDisk::claim`]).
    pub claimed: Arc<std::sync::atomic::AtomicBool>,
}

impl BlockDisk {
    /// A disk not yet claimed by a filesystem.
    pub fn new(name: &str, major: u32, minor: u32, dev: Arc<dyn BlockDevice>) -> BlockDisk {
        BlockDisk { name: name.to_string(), major, minor, dev, claimed: Arc::default() }
    }

    /// Claims the disk for one filesystem: the device to mount, which releases the claim when
    /// the filesystem lets go of it. `EBUSY` while another mount holds it (Linux would share
    /// the superblock; umbra refuses rather than run two caches over one disk).
    pub fn claim(&self) -> KResult<Arc<dyn BlockDevice>> {
        use std::sync::atomic::Ordering;
        if self.claimed.swap(true, Ordering::AcqRel) {
            return Err(Errno::EBUSY);
        }
        Ok(Arc::new(Claimed { dev: self.dev.clone(), claimed: self.claimed.clone() }))
    }
}

/// A claimed disk: the device, releasing the claim when dropped.
struct Claimed {
    dev: Arc<dyn BlockDevice>,
    claimed: Arc<std::sync::atomic::AtomicBool>,
}

impl BlockDevice for Claimed {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> KResult<()> {
        self.dev.read_at(off, buf)
    }
    fn write_at(&self, off: u64, data: &[u8]) -> KResult<()> {
        self.dev.write_at(off, data)
    }
    fn size(&self) -> u64 {
        self.dev.size()
    }
    fn sync(&self) -> KResult<()> {
        self.dev.sync()
    }
    fn read_only(&self) -> bool {
        self.dev.read_only()
    }
}

impl Drop for Claimed {
    fn drop(&mut self) {
        self.claimed.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// The registry of devices the kernel and fs provide.
pub struct DeviceRegistry {
    chars: KMutex<BTreeMap<(u32, u32), CharDev>>,
    blocks: KMutex<BTreeMap<(u32, u32), BlockDisk>>,
    /// Openers of whole majors (pty slaves, 136), for minors not registered one by one.
    majors: KMutex<BTreeMap<u32, Arc<dyn DeviceOpen>>>,
    fifo: KMutex<Option<Arc<dyn FifoOpen>>>,
    devtmpfs: KMutex<Option<Arc<TmpFs>>>,
}

impl Default for DeviceRegistry {
    fn default() -> Self {
        DeviceRegistry::new()
    }
}

impl DeviceRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        DeviceRegistry { chars: KMutex::new(BTreeMap::new()), blocks: KMutex::new(BTreeMap::new()), majors: KMutex::new(BTreeMap::new()), fifo: KMutex::new(None), devtmpfs: KMutex::new(None) }
    }

    /// Registers character device `major:minor` as `/dev/<name>` (a name may contain `/`
    /// for subdirectories, as `pts/0`) with permission bits `mode`; replaces an earlier
    /// registration of the same number. The node appears in devtmpfs at once.
    pub fn register_char_device(&self, name: &str, major: u32, minor: u32, mode: u32, opener: Arc<dyn DeviceOpen>) {
        self.chars.lock().insert((major, minor), CharDev { name: name.to_string(), mode: mode & 0o7777, opener });
        let fs = self.devtmpfs.lock().clone();
        if let Some(fs) = fs {
            add_node(&fs, name, S_IFCHR | (mode & 0o7777), make_dev(major, minor));
        }
    }

    /// Removes a registration (the devtmpfs node is left, as a stale node would be on Linux).
    pub fn unregister_char_device(&self, major: u32, minor: u32) {
        self.chars.lock().remove(&(major, minor));
    }

    /// Registers an opener for every minor of `major` that has no registration of its own
    /// (no device nodes are made: its devices live on their own filesystem, as pty slaves on
    /// devpts).
    pub fn register_char_major(&self, major: u32, opener: Arc<dyn DeviceOpen>) {
        self.majors.lock().insert(major, opener);
    }

    /// Opens the character device `rdev` (`ENXIO` if nothing is registered, as Linux).
    pub fn open_char(&self, rdev: u64, flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        self.opener(rdev)?.open(flags)
    }

    /// Opens the character device `rdev` through the node at `node` for `cred` (see
    /// [`DeviceOpen::open_node`]; `ENXIO` if nothing is registered).
    pub fn open_char_node(&self, node: &Path, cred: &Credentials, rdev: u64, flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        self.opener(rdev)?.open_node(node, cred, flags)
    }

    fn opener(&self, rdev: u64) -> KResult<Arc<dyn DeviceOpen>> {
        let (major, minor) = (dev_major(rdev), dev_minor(rdev));
        let one = self.chars.lock().get(&(major, minor)).map(|d| d.opener.clone());
        let opener = one.or_else(|| self.majors.lock().get(&major).cloned());
        opener.ok_or(Errno::ENXIO)
    }

    /// The registered character devices as (name, major, minor).
    pub fn char_devices(&self) -> Vec<(String, u32, u32)> {
        self.chars.lock().iter().map(|((ma, mi), d)| (d.name.clone(), *ma, *mi)).collect()
    }

    /// Registers the block device `disk` as `/dev/<name>` (mode 0660, as udev makes disks),
    /// replacing an earlier registration of its number; the node appears in devtmpfs at once.
    pub fn register_block_device(&self, disk: BlockDisk) {
        let (name, rdev) = (disk.name.clone(), make_dev(disk.major, disk.minor));
        self.blocks.lock().insert((disk.major, disk.minor), disk);
        let fs = self.devtmpfs.lock().clone();
        if let Some(fs) = fs {
            add_node(&fs, &name, S_IFBLK | 0o660, rdev);
        }
    }

    /// The block device `rdev` (`ENXIO` if nothing is registered, as opening a block node
    /// without a driver is on Linux).
    pub fn block_device(&self, rdev: u64) -> KResult<BlockDisk> {
        self.blocks.lock().get(&(dev_major(rdev), dev_minor(rdev))).cloned().ok_or(Errno::ENXIO)
    }

    /// Opens the block device `rdev` as a file (reads and writes of the whole disk, Linux's
    /// `blkdev_open`/`def_blk_fops`); `ENXIO` if nothing is registered.
    pub fn open_block(&self, rdev: u64, flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        let disk = self.block_device(rdev)?;
        Ok(Arc::new(crate::blockdev::node::BlockNode::new(disk.dev, flags)))
    }

    /// The registered block devices, by number.
    pub fn block_devices(&self) -> Vec<BlockDisk> {
        self.blocks.lock().values().cloned().collect()
    }

    /// Installs the kernel's FIFO implementation.
    pub fn set_fifo_opener(&self, f: Arc<dyn FifoOpen>) {
        *self.fifo.lock() = Some(f);
    }

    /// Opens the FIFO at `p` through the kernel's hook (`ENXIO` until one is installed).
    pub fn open_fifo(&self, p: &Path, attr: &InodeAttr, flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        let hook = self.fifo.lock().clone().ok_or(Errno::ENXIO)?;
        let _ = p;
        hook.open_fifo(InodeKey { dev: attr.dev, ino: attr.ino }, flags)
    }

    /// The devtmpfs instance, created on first use with a node for every registered device.
    pub fn devtmpfs(&self) -> Arc<TmpFs> {
        let mut slot = self.devtmpfs.lock();
        if let Some(fs) = slot.as_ref() {
            return fs.clone();
        }
        let fs = TmpFs::with_name("devtmpfs", 0o755, None);
        *slot = Some(fs.clone());
        drop(slot);
        let devs: Vec<(String, u32, u64)> = self
            .chars
            .lock()
            .iter()
            .map(|((ma, mi), d)| (d.name.clone(), d.mode, make_dev(*ma, *mi)))
            .collect();
        for (name, mode, rdev) in devs {
            add_node(&fs, &name, S_IFCHR | mode, rdev);
        }
        let disks: Vec<(String, u64)> = self.blocks.lock().values().map(|d| (d.name.clone(), make_dev(d.major, d.minor))).collect();
        for (name, rdev) in disks {
            add_node(&fs, &name, S_IFBLK | 0o660, rdev);
        }
        fs
    }
}

/// Creates `/name` (making parent directories) as a device node in a devtmpfs; an existing
/// name is left alone.
fn add_node(fs: &TmpFs, name: &str, mode: u32, rdev: u64) {
    let mut dir: Arc<dyn Inode> = fs.root_inode();
    let parts: Vec<&str> = name.split('/').filter(|s| !s.is_empty()).collect();
    let Some((last, middle)) = parts.split_last() else { return };
    for part in middle {
        dir = match dir.lookup(part.as_bytes()) {
            Ok(d) => d,
            Err(_) => match dir.mkdir(part.as_bytes(), 0o755, 0, 0) {
                Ok(d) => d,
                Err(e) => {
                    log::warn!("devtmpfs: cannot create /dev/{part}: {e}");
                    return;
                }
            },
        };
    }
    if let Err(e) = dir.mknod(last.as_bytes(), mode, rdev, 0, 0) {
        if e != Errno::EEXIST {
            log::warn!("devtmpfs: cannot create /dev/{name}: {e}");
        }
    }
}
