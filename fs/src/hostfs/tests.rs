//! hostfs tests on a temporary host directory, through the VFS.

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use uapi::Errno;

use super::HostFs;
use crate::abi::OpenFlags;
use crate::context::FsContext;
use crate::cred::Credentials;
use crate::vfs::{TimeArg, Vfs};

struct H {
    dir: tempfile::TempDir,
    vfs: Arc<Vfs>,
    fsc: FsContext,
    cred: Credentials,
}

impl H {
    fn new(ro: bool) -> H {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hello"), b"hi from host").unwrap();
        let fs = HostFs::new(dir.path().to_str().unwrap(), ro).unwrap();
        let vfs = Vfs::new(fs);
        let fsc = FsContext::new(vfs.root());
        H { dir, vfs, fsc, cred: Credentials::root() }
    }
    fn ctx(&self) -> crate::Ctx<'_> {
        self.fsc.ctx(&self.cred)
    }
    fn open(&self, p: &str, flags: OpenFlags) -> uapi::KResult<Arc<crate::OpenFile>> {
        self.vfs.open(&self.ctx(), &self.fsc.cwd, p.as_bytes(), flags, 0o644)
    }
    fn read(&self, p: &str) -> Vec<u8> {
        let f = self.open(p, OpenFlags::empty()).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = f.read(&mut buf).unwrap();
        buf.truncate(n);
        buf
    }
    fn host(&self, p: &str) -> std::path::PathBuf {
        self.dir.path().join(p)
    }
}

#[test]
fn reads_host_files_and_attrs() {
    let h = H::new(false);
    assert_eq!(h.read("/hello"), b"hi from host");
    let st = h.vfs.stat(&h.ctx(), &h.fsc.cwd, b"/hello", true).unwrap();
    let hm = std::fs::metadata(h.host("hello")).unwrap();
    assert_eq!((st.ino, st.size, st.mode, st.uid), (hm.ino(), 12, hm.mode(), hm.uid()));
    assert_eq!(st.dev, h.vfs.root().mount.fs().dev());
}

#[test]
fn create_write_mkdir_rename_unlink() {
    let h = H::new(false);
    h.vfs.mkdir(&h.ctx(), &h.fsc.cwd, b"/d", 0o750).unwrap();
    assert_eq!(std::fs::metadata(h.host("d")).unwrap().mode() & 0o7777, 0o750);
    let f = h.open("/d/f", OpenFlags::CREAT | OpenFlags::RDWR).unwrap();
    f.write(b"abcdef").unwrap();
    assert_eq!(std::fs::read(h.host("d/f")).unwrap(), b"abcdef");
    // Rename the directory: the open file and the cached inode follow.
    let c = h.ctx();
    h.vfs.rename(&c, &h.fsc.cwd, b"/d", &h.fsc.cwd, b"/e", 0).unwrap();
    assert_eq!(h.read("/e/f"), b"abcdef");
    let p = h.vfs.lookup(&c, &h.fsc.cwd, b"/e/f", true).unwrap();
    h.vfs.truncate(&c, &p, 3).unwrap();
    assert_eq!(std::fs::read(h.host("e/f")).unwrap(), b"abc");
    // Unlink while open: the data stays reachable through the open file.
    h.vfs.unlink(&c, &h.fsc.cwd, b"/e/f").unwrap();
    assert!(!h.host("e/f").exists());
    let mut buf = [0u8; 8];
    assert_eq!(f.pread(&mut buf, 0).unwrap(), 3);
    assert_eq!(f.stat().unwrap().nlink, 0);
    assert_eq!(h.open("/e/f", OpenFlags::empty()).err(), Some(Errno::ENOENT));
    assert_eq!(h.vfs.rmdir(&c, &h.fsc.cwd, b"/").err(), Some(Errno::EBUSY));
    h.vfs.rmdir(&c, &h.fsc.cwd, b"/e").unwrap();
    assert!(!h.host("e").exists());
}

#[test]
fn symlinks_links_chmod_times() {
    let h = H::new(false);
    let c = h.ctx();
    h.vfs.symlink(&c, b"hello", &h.fsc.cwd, b"/ln").unwrap();
    assert_eq!(std::fs::read_link(h.host("ln")).unwrap().to_str(), Some("hello"));
    assert_eq!(h.vfs.readlink(&c, &h.fsc.cwd, b"/ln").unwrap(), b"hello");
    assert_eq!(h.read("/ln"), b"hi from host");
    h.vfs.link(&c, &h.fsc.cwd, b"/hello", &h.fsc.cwd, b"/hard", false).unwrap();
    assert_eq!(std::fs::metadata(h.host("hello")).unwrap().nlink(), 2);
    let p = h.vfs.lookup(&c, &h.fsc.cwd, b"/hello", true).unwrap();
    h.vfs.chmod(&c, &p, 0o600).unwrap();
    assert_eq!(std::fs::metadata(h.host("hello")).unwrap().mode() & 0o7777, 0o600);
    let t = crate::time::Timespec::new(1_000_000, 0);
    h.vfs.utimens(&c, &p, TimeArg::Set(t), TimeArg::Set(t)).unwrap();
    assert_eq!(std::fs::metadata(h.host("hello")).unwrap().mtime(), 1_000_000);
    h.vfs.rename(&c, &h.fsc.cwd, b"/hard", &h.fsc.cwd, b"/hello", crate::abi::RENAME_NOREPLACE).map(|_| ()).unwrap_err();
    // readdir lists host entries plus . and ..
    let dir = h.open("/", OpenFlags::DIRECTORY).unwrap();
    let mut names = Vec::new();
    dir.readdir(&mut |e| {
        names.push(String::from_utf8_lossy(e.name).into_owned());
        true
    })
    .unwrap();
    names.sort();
    assert_eq!(names, vec![".", "..", "hard", "hello", "ln"]);
}

#[test]
fn chown_is_kept() {
    let h = H::new(false);
    let c = h.ctx();
    let p = h.vfs.lookup(&c, &h.fsc.cwd, b"/hello", true).unwrap();
    h.vfs.chown(&c, &p, Some(4242), Some(4343)).unwrap();
    let st = p.attr().unwrap();
    assert_eq!((st.uid, st.gid), (4242, 4343));
}

#[test]
fn read_only_mode() {
    let h = H::new(true);
    let c = h.ctx();
    assert_eq!(h.read("/hello"), b"hi from host");
    assert_eq!(h.vfs.mkdir(&c, &h.fsc.cwd, b"/x", 0o755).err(), Some(Errno::EROFS));
    assert_eq!(h.open("/hello", OpenFlags::WRONLY).err(), Some(Errno::EROFS));
    assert_eq!(h.open("/new", OpenFlags::CREAT).err(), Some(Errno::EROFS));
    assert_eq!(h.vfs.unlink(&c, &h.fsc.cwd, b"/hello").err(), Some(Errno::EROFS));
}

#[test]
fn host_changes_are_seen() {
    let h = H::new(false);
    assert_eq!(h.open("/later", OpenFlags::empty()).err(), Some(Errno::ENOENT));
    std::fs::write(h.host("later"), b"now").unwrap();
    assert_eq!(h.read("/later"), b"now");
    std::fs::remove_file(h.host("later")).unwrap();
    assert_eq!(h.open("/later", OpenFlags::empty()).err(), Some(Errno::ENOENT));
}

#[test]
fn mknod_makes_host_sockets_even_for_long_paths() {
    use std::os::unix::fs::FileTypeExt;
    let h = H::new(false);
    let c = h.ctx();
    h.vfs.mknod(&c, &h.fsc.cwd, b"/sock", crate::abi::S_IFSOCK | 0o755, 0).unwrap();
    let meta = std::fs::symlink_metadata(h.host("sock")).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.mode() & 0o777, 0o755);
    assert_eq!(h.vfs.mknod(&c, &h.fsc.cwd, b"/sock", crate::abi::S_IFSOCK | 0o755, 0).err(), Some(Errno::EEXIST));
    let long = format!("/{}", "n".repeat(150));
    h.vfs.mknod(&c, &h.fsc.cwd, long.as_bytes(), crate::abi::S_IFSOCK | 0o700, 0).unwrap();
    assert!(std::fs::symlink_metadata(h.host(&long[1..])).unwrap().file_type().is_socket(), "a host path longer than sockaddr_un");
    let names: Vec<_> = std::fs::read_dir(h.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 3, "no temporary name left behind: {names:?}");
    assert_eq!(h.vfs.mknod(&c, &h.fsc.cwd, b"/fifo", crate::abi::S_IFIFO | 0o644, 0).err(), Some(Errno::EPERM), "FIFOs are still EPERM");
}
