//! devtmpfs and memory device tests through the VFS.

use std::sync::Arc;

use uapi::{Errno, KResult};

use super::*;
use crate::abi::{MsFlags, OpenFlags};
use crate::context::FsContext;
use crate::cred::Credentials;
use crate::file_like::FileLike;
use crate::tmpfs::TmpFs;
use crate::vfs::Vfs;

fn setup() -> (Arc<Vfs>, FsContext, Credentials) {
    let vfs = Vfs::new(TmpFs::new(None));
    let fsc = FsContext::new(vfs.root());
    let cred = Credentials::root();
    vfs.mkdir(&fsc.ctx(&cred), &fsc.cwd, b"/dev", 0o755).unwrap();
    vfs.mount(&fsc.ctx(&cred), &fsc.cwd, b"devtmpfs", b"/dev", b"devtmpfs", MsFlags::empty(), b"").unwrap();
    (vfs, fsc, cred)
}

#[test]
fn null_zero_full() {
    let (vfs, fsc, cred) = setup();
    let c = fsc.ctx(&cred);
    let open = |p: &[u8]| vfs.open(&c, &fsc.cwd, p, OpenFlags::RDWR, 0).unwrap();
    let null = open(b"/dev/null");
    assert_eq!(null.write(b"discard").unwrap(), 7);
    assert_eq!(null.read(&mut [1u8; 8]).unwrap(), 0);
    assert_eq!(null.lseek(100, crate::abi::SEEK_SET).unwrap(), 100);
    let zero = open(b"/dev/zero");
    let mut buf = [7u8; 16];
    assert_eq!(zero.read(&mut buf).unwrap(), 16);
    assert_eq!(buf, [0u8; 16]);
    let full = open(b"/dev/full");
    assert_eq!(full.write(b"x").err(), Some(Errno::ENOSPC));
    assert_eq!(full.read(&mut buf).unwrap(), 16);
    let rnd = open(b"/dev/urandom");
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    rnd.read(&mut a).unwrap();
    rnd.read(&mut b).unwrap();
    assert_ne!(a, b);
    let st = vfs.stat(&c, &fsc.cwd, b"/dev/null", true).unwrap();
    assert_eq!(st.mode, crate::abi::S_IFCHR | 0o666);
    assert_eq!((crate::abi::dev_major(st.rdev), crate::abi::dev_minor(st.rdev)), (1, 3));
    let st = vfs.stat(&c, &fsc.cwd, b"/dev/urandom", true).unwrap();
    assert_eq!(crate::abi::dev_minor(st.rdev), 9);
    assert_eq!(vfs.statfs(&vfs.lookup(&c, &fsc.cwd, b"/dev", true).unwrap()).unwrap().fs_type, 0x01021994);
}

struct Tty;
impl FileLike for Tty {
    fn read(&self, _buf: &mut [u8], _off: u64) -> KResult<usize> {
        Err(Errno::EAGAIN)
    }
    fn write(&self, data: &[u8], _off: u64) -> KResult<usize> {
        Ok(data.len())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn registered_devices_appear_and_open() {
    let (vfs, fsc, cred) = setup();
    let c = fsc.ctx(&cred);
    assert_eq!(vfs.open(&c, &fsc.cwd, b"/dev/tty", OpenFlags::RDWR, 0).err(), Some(Errno::ENOENT));
    vfs.devices().register_char_device("tty", 5, 0, 0o666, Arc::new(SharedDevice(Arc::new(Tty))));
    vfs.devices().register_char_device("pts/0", 136, 0, 0o620, Arc::new(SharedDevice(Arc::new(Tty))));
    let tty = vfs.open(&c, &fsc.cwd, b"/dev/tty", OpenFlags::RDWR, 0).unwrap();
    assert_eq!(tty.read(&mut [0u8; 4]).err(), Some(Errno::EAGAIN));
    assert_eq!(tty.lseek(0, 0).err(), Some(Errno::ESPIPE));
    assert!(tty.file_like().unwrap().as_any().downcast_ref::<Tty>().is_some());
    assert!(vfs.open(&c, &fsc.cwd, b"/dev/pts/0", OpenFlags::RDWR, 0).is_ok());
    // A second devtmpfs mount shows the same instance.
    vfs.mkdir(&c, &fsc.cwd, b"/dev2", 0o755).unwrap();
    vfs.mount(&c, &fsc.cwd, b"devtmpfs", b"/dev2", b"devtmpfs", MsFlags::empty(), b"").unwrap();
    assert!(vfs.open(&c, &fsc.cwd, b"/dev2/tty", OpenFlags::RDWR, 0).is_ok());
    // nodev mounts refuse device opens.
    vfs.mkdir(&c, &fsc.cwd, b"/nd", 0o755).unwrap();
    vfs.mount(&c, &fsc.cwd, b"devtmpfs", b"/nd", b"devtmpfs", MsFlags::MS_NODEV, b"").unwrap();
    assert_eq!(vfs.open(&c, &fsc.cwd, b"/nd/null", OpenFlags::RDWR, 0).err(), Some(Errno::EACCES));
}
