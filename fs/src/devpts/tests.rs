//! devpts tests through the VFS: options, nodes appearing and going, finding the instance
//! from `/dev/ptmx` and `/dev/pts/ptmx`, and the registry's path-aware opens.

use std::sync::Arc;

use uapi::{Errno, KResult};

use super::*;
use crate::abi::{dev_major, dev_minor, MsFlags, OpenFlags};
use crate::context::FsContext;
use crate::cred::Credentials;
use crate::devfs::DeviceOpen;
use crate::file_like::FileLike;
use crate::tmpfs::TmpFs;
use crate::vfs::Vfs;

fn setup(opts: &[u8]) -> (Arc<Vfs>, FsContext, Credentials) {
    let vfs = Vfs::new(TmpFs::new(None));
    let fsc = FsContext::new(vfs.root());
    let cred = Credentials::root();
    let c = fsc.ctx(&cred);
    vfs.mkdir(&c, &fsc.cwd, b"/dev", 0o755).unwrap();
    vfs.mount(&c, &fsc.cwd, b"devtmpfs", b"/dev", b"devtmpfs", MsFlags::empty(), b"").unwrap();
    vfs.mkdir(&c, &fsc.cwd, b"/dev/pts", 0o755).unwrap();
    vfs.mount(&c, &fsc.cwd, b"devpts", b"/dev/pts", b"devpts", MsFlags::empty(), opts).unwrap();
    (vfs, fsc, cred)
}

#[test]
fn options_parse_like_linux() {
    let o = DevPtsOptions::parse(b"gid=5,mode=620,ptmxmode=0666,newinstance").unwrap();
    assert_eq!((o.uid, o.gid, o.mode, o.ptmxmode), (None, Some(5), 0o620, 0o666));
    assert_eq!(DevPtsOptions::parse(b"").unwrap(), DevPtsOptions::default());
    assert_eq!(DevPtsOptions::default().mode, 0o600);
    assert_eq!(DevPtsOptions::parse(b"bogus").err(), Some(Errno::EINVAL));
    assert_eq!(DevPtsOptions::parse(b"mode=9").err(), Some(Errno::EINVAL));
}

#[test]
fn statfs_and_root_listing() {
    let (vfs, fsc, cred) = setup(b"ptmxmode=666");
    let c = fsc.ctx(&cred);
    let pts = vfs.lookup(&c, &fsc.cwd, b"/dev/pts", true).unwrap();
    assert_eq!(pts.mount.fs().statfs().unwrap().fs_type, DEVPTS_SUPER_MAGIC);
    let ptmx = vfs.lookup(&c, &fsc.cwd, b"/dev/pts/ptmx", true).unwrap().attr().unwrap();
    assert_eq!(ptmx.mode, S_IFCHR | 0o666);
    assert_eq!((dev_major(ptmx.rdev), dev_minor(ptmx.rdev)), (5, 2));
    assert_eq!(vfs.mkdir(&c, &fsc.cwd, b"/dev/pts/x", 0o755).err(), Some(Errno::EPERM));
}

#[test]
fn nodes_come_and_go_with_owner_and_mode() {
    let (vfs, fsc, cred) = setup(b"gid=5,mode=620");
    let c = fsc.ctx(&cred);
    let pts = vfs.lookup(&c, &fsc.cwd, b"/dev/pts", true).unwrap();
    let fs = DevPts::of_mount(&pts).unwrap();
    assert_eq!(fs.alloc_index().unwrap(), 0);
    assert_eq!(fs.alloc_index().unwrap(), 1);
    let owner: Arc<dyn std::any::Any + Send + Sync> = Arc::new(7u32);
    fs.add_node(1, 1000, 1000, Arc::downgrade(&owner));
    let a = vfs.lookup(&c, &fsc.cwd, b"/dev/pts/1", true).unwrap().attr().unwrap();
    assert_eq!((a.mode, a.uid, a.gid), (S_IFCHR | 0o620, 1000, 5));
    assert_eq!((dev_major(a.rdev), dev_minor(a.rdev)), (136, 1));
    assert_eq!(fs.node(1).unwrap().private().unwrap().downcast_ref::<u32>(), Some(&7));
    assert!(vfs.lookup(&c, &fsc.cwd, b"/dev/pts/01", true).is_err());
    fs.remove_node(1);
    assert!(vfs.lookup(&c, &fsc.cwd, b"/dev/pts/1", true).is_err());
    fs.release_index(0);
    assert_eq!(fs.alloc_index().unwrap(), 0);
}

#[test]
fn ptmx_finds_its_instance() {
    let (vfs, fsc, cred) = setup(b"");
    let c = fsc.ctx(&cred);
    let pts = vfs.lookup(&c, &fsc.cwd, b"/dev/pts", true).unwrap();
    let fs = DevPts::of_mount(&pts).unwrap();
    let inner = vfs.lookup(&c, &fsc.cwd, b"/dev/pts/ptmx", true).unwrap();
    assert!(Arc::ptr_eq(&DevPts::for_ptmx(&inner).unwrap().0, &fs));
    vfs.mknod(&c, &fsc.cwd, b"/dev/myptmx", S_IFCHR | 0o666, crate::abi::make_dev(5, 2)).unwrap();
    let beside = vfs.lookup(&c, &fsc.cwd, b"/dev/myptmx", true).unwrap();
    let (found, root) = DevPts::for_ptmx(&beside).unwrap();
    assert!(Arc::ptr_eq(&found, &fs));
    assert!(root.is_mount_root());
    vfs.mkdir(&c, &fsc.cwd, b"/other", 0o755).unwrap();
    vfs.mknod(&c, &fsc.cwd, b"/other/ptmx", S_IFCHR | 0o666, crate::abi::make_dev(5, 2)).unwrap();
    let lonely = vfs.lookup(&c, &fsc.cwd, b"/other/ptmx", true).unwrap();
    assert_eq!(DevPts::for_ptmx(&lonely).err(), Some(Errno::ENODEV));
}

struct Recorder;

struct Opened(Vec<u8>);

impl FileLike for Opened {
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        let n = self.0.len().min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        Ok(n)
    }
    fn write(&self, data: &[u8], _offset: u64) -> KResult<usize> {
        Ok(data.len())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl DeviceOpen for Recorder {
    fn open(&self, _flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        Err(Errno::EIO)
    }
    fn open_node(&self, node: &Path, cred: &Credentials, _flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        let name = node.dentry.name();
        Ok(Arc::new(Opened(format!("{} {}", String::from_utf8_lossy(&name), cred.fsuid).into_bytes())))
    }
}

#[test]
fn the_registry_opens_whole_majors_with_the_node() {
    let (vfs, fsc, cred) = setup(b"");
    let c = fsc.ctx(&cred);
    vfs.devices().register_char_major(PTS_MAJOR, Arc::new(Recorder));
    let pts = vfs.lookup(&c, &fsc.cwd, b"/dev/pts", true).unwrap();
    let fs = DevPts::of_mount(&pts).unwrap();
    let owner: Arc<dyn std::any::Any + Send + Sync> = Arc::new(());
    fs.add_node(3, 0, 0, Arc::downgrade(&owner));
    let f = vfs.open(&c, &fsc.cwd, b"/dev/pts/3", OpenFlags::RDWR, 0).unwrap();
    let mut buf = [0u8; 16];
    let n = f.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"3 0");
    assert_eq!(f.path().unwrap().dentry.name(), b"3".to_vec());
}
