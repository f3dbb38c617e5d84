//! The root filesystem of a run: an image file or a host directory, plus the mounts a
//! container runtime would add (devtmpfs on /dev, proc on /proc, tmpfs on /tmp).

use fs::block::{BlockDevice, FileBlockDevice};
use fs::{Credentials, Ctx, Vfs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `rootfs/build/rootfs.img` next to the workspace (the default image).
pub fn default_image() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).join("rootfs/build/rootfs.img")
}

/// Mounts `root` (a directory served by hostfs, or an ext2/ext4 image) as `/`; with `cow`, the
/// image is a read-only base under that copy-on-write file (UML's `ubd0=COW,BASE`).
pub fn mount_root(root: Option<&Path>, ro: bool, cow: Option<&Path>) -> Result<Arc<Vfs>, String> {
    let root = root.map(Path::to_path_buf).unwrap_or_else(default_image);
    let meta = std::fs::metadata(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    if let Some(cow) = cow {
        return mount_cow_image(&root, cow, ro);
    }
    if meta.is_dir() {
        let dir = root.to_str().ok_or_else(|| format!("{}: path is not UTF-8", root.display()))?;
        let hfs = fs::hostfs::HostFs::new(dir, ro).map_err(|e| format!("{}: cannot serve directory: {e}", root.display()))?;
        return Ok(Vfs::new(hfs));
    }
    mount_image(&root, ro)
}

/// The `mount` source the root image shows in `/proc/mounts` (UML's first block device).
const ROOT_SOURCE: &[u8] = b"/dev/ubda";

/// Mounts the ext2/ext4 image file `image` as `/`: read-only with `--ro`, else read-write,
/// falling back to read-only (one warning) for a read-only image file or features umbra cannot
/// write. A missing, unreadable or non-ext2/ext4 image, or unsupported features, give one
/// error line naming the problem.
fn mount_image(image: &Path, ro: bool) -> Result<Arc<Vfs>, String> {
    let dev = FileBlockDevice::open(image, ro).map_err(|e| format!("{}: cannot open the image: {e}", image.display()))?;
    mount_root_device(Arc::new(dev), ro, &image.display().to_string())
}

/// Mounts the ext2/ext4 disk `dev` as `/` (read-only with `ro`, else preferring read-write) and
/// registers it as `/dev/ubda`; `label` names it in messages.
fn mount_root_device(dev: Arc<dyn BlockDevice>, ro: bool, label: &str) -> Result<Arc<Vfs>, String> {
    use fs::ext2vfs::{Access, Ext2Vfs};
    let access = if ro { Access::ReadOnly } else { Access::PreferReadWrite };
    let disk = ubd_disk(0, dev);
    let claimed = disk.claim().map_err(|e| format!("{label}: {e}"))?;
    let fs = Ext2Vfs::mount_with(claimed, access, None, label).map_err(|e| format!("{label}: {}", e.message))?;
    let flags = if ro { fs::MountFlags::RDONLY } else { fs::MountFlags::empty() };
    let vfs = Vfs::with_root(fs, ROOT_SOURCE, flags);
    vfs.devices().register_block_device(disk);
    Ok(vfs)
}

/// Linux's major number for User-Mode Linux's `ubd` disks.
pub const UBD_MAJOR: u32 = 98;
/// How many `ubd` disks there can be (UML's `MAX_DEV`): `ubda` … `ubdp`.
pub const MAX_DISKS: usize = 16;

/// Disk `index` over `dev`: `ubda` for 0, `ubdb` for 1, …, with major 98 and minor 16 × index
/// (room for 15 partitions each, as `ubd_kern.c` numbers them).
fn ubd_disk(index: usize, dev: Arc<dyn BlockDevice>) -> fs::devfs::BlockDisk {
    let name = format!("ubd{}", (b'a' + index as u8) as char);
    fs::devfs::BlockDisk::new(&name, UBD_MAJOR, 16 * index as u32, dev)
}

/// Attaches `--disk IMAGE[,ro]` images as `/dev/ubdb`, `/dev/ubdc`, … (not mounted: the guest
/// mounts them). A missing or unreadable image is one error line.
pub fn attach_disks(vfs: &Vfs, disks: &[(PathBuf, bool)]) -> Result<(), String> {
    if disks.len() + 1 > MAX_DISKS {
        return Err(format!("at most {} disks besides the root (ubdb … ubdp)", MAX_DISKS - 1));
    }
    for (i, (image, ro)) in disks.iter().enumerate() {
        let dev = FileBlockDevice::open(image, *ro).map_err(|e| format!("{}: cannot open the disk image: {e}", image.display()))?;
        if std::fs::metadata(image).map(|m| m.is_dir()).unwrap_or(false) {
            return Err(format!("{}: a disk must be an image file, not a directory", image.display()));
        }
        vfs.devices().register_block_device(ubd_disk(i + 1, Arc::new(dev)));
    }
    Ok(())
}

/// Mounts the ext2/ext4 image `base` as `/` through the copy-on-write file `cow` (created if
/// missing): the base is opened read-only and never written. A COW file made over another base
/// is refused with one line.
fn mount_cow_image(base: &Path, cow: &Path, ro: bool) -> Result<Arc<Vfs>, String> {
    let dev = fs::blockdev::cow::CowBlockDevice::open(base, cow, ro)?;
    mount_root_device(Arc::new(dev), ro, &format!("{} (COW {})", base.display(), cow.display()))
}

/// Registers the filesystem types init provides beyond the VFS's built-in ones (`ext2`,
/// `ext3`, `ext4`), so the guest's `mount -t ext4 IMAGE /mnt` works.
pub fn register_fs_types(vfs: &Vfs) {
    fs::ext2vfs::register(vfs);
}

/// At exit, after pid 1 is gone: syncs every filesystem and unmounts the ext2/ext4 ones, so
/// images are left clean (as Linux's shutdown does). Failures are logged.
pub fn shutdown(vfs: &Vfs) {
    if let Err(e) = fs::ext2vfs::shutdown(vfs) {
        log::warn!("shutdown: filesystems not cleanly unmounted: {e}");
    }
}

/// devtmpfs on /dev, proc on /proc, sysfs on /sys, tmpfs on /tmp — where the root has those directories —
/// and devpts on /dev/pts once /dev is mounted.
pub fn standard_mounts(vfs: &Arc<Vfs>) {
    let root = vfs.root();
    let cred = Credentials::root();
    let ctx = Ctx { root: &root, cred: &cred, umask: 0o022 };
    for (target, fstype) in [("/dev", "devtmpfs"), ("/proc", "proc"), ("/sys", "sysfs"), ("/tmp", "tmpfs")] {
        let is_dir = vfs.lookup(&ctx, &root, target.as_bytes(), true).map(|p| fs::path::is_dir(&p)).unwrap_or(false);
        if !is_dir {
            continue;
        }
        let r = vfs.mount(&ctx, &root, fstype.as_bytes(), target.as_bytes(), fstype.as_bytes(), fs::abi::MsFlags::empty(), b"");
        match r {
            Err(e) => log::warn!("cannot mount {fstype} on {target}: {e}"),
            Ok(()) if fstype == "devtmpfs" => mount_devpts(vfs),
            Ok(()) => {}
        }
    }
}

/// devpts on /dev/pts with the options Linux systems mount it with (`gid=5,mode=620`: new
/// terminals belong to group tty, as `grantpt` expects), making the directory in devtmpfs
/// first, as systemd does.
fn mount_devpts(vfs: &Arc<Vfs>) {
    let root = vfs.root();
    let cred = Credentials::root();
    let ctx = Ctx { root: &root, cred: &cred, umask: 0o022 };
    if let Err(e) = vfs.mkdir(&ctx, &root, b"/dev/pts", 0o755) {
        if e != uapi::Errno::EEXIST {
            log::warn!("cannot make /dev/pts: {e}");
            return;
        }
    }
    let opts = b"gid=5,mode=620,ptmxmode=000";
    let flags = fs::abi::MsFlags::MS_NOSUID | fs::abi::MsFlags::MS_NOEXEC;
    if let Err(e) = vfs.mount(&ctx, &root, b"devpts", b"/dev/pts", b"devpts", flags, opts) {
        log::warn!("cannot mount devpts on /dev/pts: {e}");
    }
}

/// Resolves PROGRAM: an absolute path as is; a relative name through
/// `PATH=/bin:/usr/bin:/sbin:/usr/sbin` inside the root (DESIGN.md). `None` if not found.
pub fn resolve_program(vfs: &Arc<Vfs>, prog: &[u8]) -> Option<Vec<u8>> {
    if prog.contains(&b'/') {
        return Some(prog.to_vec());
    }
    for dir in ["/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/"] {
        let mut p = dir.as_bytes().to_vec();
        p.extend_from_slice(prog);
        let root = vfs.root();
        let cred = Credentials::root();
        let ctx = Ctx { root: &root, cred: &cred, umask: 0o022 };
        if vfs.lookup(&ctx, &root, &p, true).is_ok() {
            return Some(p);
        }
    }
    None
}

/// devtmpfs on `/dev` (what Linux's `CONFIG_DEVTMPFS_MOUNT` does before starting init), and
/// devpts on `/dev/pts` in it.
pub fn mount_devtmpfs(vfs: &Arc<Vfs>) {
    let root = vfs.root();
    let cred = Credentials::root();
    let ctx = Ctx { root: &root, cred: &cred, umask: 0o022 };
    match vfs.mount(&ctx, &root, b"devtmpfs", b"/dev", b"devtmpfs", fs::abi::MsFlags::empty(), b"") {
        Ok(()) => mount_devpts(vfs),
        Err(e) => log::warn!("cannot mount devtmpfs on /dev: {e}"),
    }
}

/// Whether `path` exists in the guest's root.
pub fn exists(vfs: &Arc<Vfs>, path: &[u8]) -> bool {
    let root = vfs.root();
    let cred = Credentials::root();
    let ctx = Ctx { root: &root, cred: &cred, umask: 0o022 };
    vfs.lookup(&ctx, &root, path, true).is_ok()
}
