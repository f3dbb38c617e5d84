//! VFS tests over tmpfs: path walk, permissions, open flags, rename, mounts, getdents64.

use std::sync::Arc;

use uapi::Errno;

use super::*;
use crate::abi::{OpenFlags, AT_EACCESS, R_OK, W_OK, X_OK};
use crate::context::FsContext;
use crate::cred::Credentials;
use crate::tmpfs::TmpFs;

pub(crate) struct T {
    pub vfs: Arc<Vfs>,
    pub fsc: FsContext,
    pub cred: Credentials,
}

impl T {
    pub fn new() -> T {
        let vfs = Vfs::new(TmpFs::new(None));
        let fsc = FsContext::new(vfs.root());
        T { vfs, fsc, cred: Credentials::root() }
    }
    pub fn ctx(&self) -> Ctx<'_> {
        self.fsc.ctx(&self.cred)
    }
    pub fn mkdir(&self, p: &str) -> KResult<()> {
        self.vfs.mkdir(&self.ctx(), &self.fsc.cwd, p.as_bytes(), 0o755)
    }
    pub fn open(&self, p: &str, flags: OpenFlags) -> KResult<Arc<crate::OpenFile>> {
        self.vfs.open(&self.ctx(), &self.fsc.cwd, p.as_bytes(), flags, 0o644)
    }
    pub fn create(&self, p: &str, data: &[u8]) {
        let f = self.open(p, OpenFlags::CREAT | OpenFlags::WRONLY | OpenFlags::TRUNC).unwrap();
        assert_eq!(f.write(data).unwrap(), data.len());
    }
    pub fn read(&self, p: &str) -> KResult<Vec<u8>> {
        let f = self.open(p, OpenFlags::empty())?;
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
    pub fn lookup(&self, p: &str, follow: bool) -> KResult<Path> {
        self.vfs.lookup(&self.ctx(), &self.fsc.cwd, p.as_bytes(), follow)
    }
    pub fn symlink(&self, target: &str, p: &str) -> KResult<()> {
        self.vfs.symlink(&self.ctx(), target.as_bytes(), &self.fsc.cwd, p.as_bytes())
    }
    pub fn rename(&self, a: &str, b: &str, flags: u32) -> KResult<()> {
        let c = self.ctx();
        self.vfs.rename(&c, &self.fsc.cwd, a.as_bytes(), &self.fsc.cwd, b.as_bytes(), flags)
    }
    pub fn names(&self, p: &str) -> Vec<String> {
        let f = self.open(p, OpenFlags::DIRECTORY).unwrap();
        let mut names = Vec::new();
        f.readdir(&mut |e| {
            names.push(String::from_utf8_lossy(e.name).into_owned());
            true
        })
        .unwrap();
        names.sort();
        names
    }
}

#[test]
fn create_read_write() {
    let t = T::new();
    t.mkdir("/a").unwrap();
    t.create("/a/f", b"hello world");
    assert_eq!(t.read("/a/f").unwrap(), b"hello world");
    assert_eq!(t.read("a/./f").unwrap(), b"hello world");
    assert_eq!(t.read("/a/../a/f").unwrap(), b"hello world");
    let st = t.vfs.stat(&t.ctx(), &t.fsc.cwd, b"/a/f", true).unwrap();
    assert_eq!(st.size, 11);
    assert_eq!(st.mode, 0o100644);
    assert_eq!(st.dev, t.vfs.root().mount.fs().dev());
    assert_eq!(t.names("/a"), vec![".", "..", "f"]);
}

#[test]
fn empty_and_long_paths() {
    let t = T::new();
    assert_eq!(t.lookup("", true).err(), Some(Errno::ENOENT));
    let long = "a".repeat(256);
    assert_eq!(t.lookup(&long, true).err(), Some(Errno::ENAMETOOLONG));
    assert_eq!(t.mkdir(&long).err(), Some(Errno::ENAMETOOLONG));
    let ok = "b".repeat(255);
    t.mkdir(&ok).unwrap();
    let huge = "/x".repeat(2048);
    assert_eq!(t.lookup(&huge, true).err(), Some(Errno::ENAMETOOLONG));
    assert!(t.lookup("/", true).is_ok());
    assert!(t.lookup("///", true).is_ok());
}

#[test]
fn enotdir_and_trailing_slash() {
    let t = T::new();
    t.create("/f", b"x");
    t.mkdir("/d").unwrap();
    assert_eq!(t.lookup("/f/x", true).err(), Some(Errno::ENOTDIR));
    assert_eq!(t.lookup("/f/", true).err(), Some(Errno::ENOTDIR));
    assert_eq!(t.lookup("/f/.", true).err(), Some(Errno::ENOTDIR));
    assert!(t.lookup("/d/", true).is_ok());
    assert_eq!(t.mkdir("/f/sub").err(), Some(Errno::ENOTDIR));
    t.mkdir("/e/").unwrap();
    assert_eq!(t.open("/g/", OpenFlags::CREAT).err(), Some(Errno::EISDIR));
    // A symlink to a directory with a trailing slash resolves to the directory.
    t.symlink("/d", "/ld").unwrap();
    assert!(crate::path::is_dir(&t.lookup("/ld/", false).unwrap()));
    assert!(!crate::path::is_dir(&t.lookup("/ld", false).unwrap()));
    t.symlink("/f", "/lf").unwrap();
    assert_eq!(t.lookup("/lf/", false).err(), Some(Errno::ENOTDIR));
}

#[test]
fn symlinks_and_loops() {
    let t = T::new();
    t.mkdir("/d").unwrap();
    t.create("/d/f", b"data");
    t.symlink("d/f", "/rel").unwrap();
    t.symlink("/d", "/abs").unwrap();
    t.symlink("../d/f", "/d/up").unwrap();
    assert_eq!(t.read("/rel").unwrap(), b"data");
    assert_eq!(t.read("/abs/f").unwrap(), b"data");
    assert_eq!(t.read("/abs/up").unwrap(), b"data");
    t.symlink("/loop2", "/loop1").unwrap();
    t.symlink("/loop1", "/loop2").unwrap();
    assert_eq!(t.lookup("/loop1", true).err(), Some(Errno::ELOOP));
    assert!(t.lookup("/loop1", false).is_ok());
    t.symlink("self", "/self").unwrap();
    assert_eq!(t.lookup("/self/x", true).err(), Some(Errno::ELOOP));
    // A chain of 40 links resolves; 41 is ELOOP.
    t.symlink("/d/f", "/c0").unwrap();
    for i in 1..=40 {
        t.symlink(&format!("/c{}", i - 1), &format!("/c{i}")).unwrap();
    }
    assert!(t.lookup("/c39", true).is_ok());
    assert_eq!(t.lookup("/c40", true).err(), Some(Errno::ELOOP));
    assert_eq!(t.vfs.readlink(&t.ctx(), &t.fsc.cwd, b"/rel").unwrap(), b"d/f");
    assert_eq!(t.vfs.readlink(&t.ctx(), &t.fsc.cwd, b"/d").err(), Some(Errno::EINVAL));
    t.symlink("/nowhere", "/dangling").unwrap();
    assert_eq!(t.lookup("/dangling", true).err(), Some(Errno::ENOENT));
    assert_eq!(t.symlink("", "/empty").err(), Some(Errno::ENOENT));
}

#[test]
fn dotdot_at_root_and_across_mounts() {
    let mut t = T::new();
    t.mkdir("/mnt").unwrap();
    t.mkdir("/mnt/under").unwrap();
    let target = t.lookup("/mnt", true).unwrap();
    let sub = TmpFs::new(None);
    t.vfs.mount_fs(&target, sub, b"tmpfs", MountFlags::empty()).unwrap();
    t.mkdir("/mnt/inner").unwrap();
    // The mount hides the directory below it.
    assert_eq!(t.lookup("/mnt/under", true).err(), Some(Errno::ENOENT));
    let inner = t.lookup("/mnt/inner", true).unwrap();
    assert!(!Arc::ptr_eq(&inner.mount, &t.vfs.root().mount));
    // `..` from the mount root climbs to the parent mount.
    let up = t.lookup("/mnt/inner/../..", true).unwrap();
    assert!(up.same(&t.vfs.root()));
    let mnt = t.lookup("/mnt/inner/..", true).unwrap();
    assert!(mnt.is_mount_root());
    // `..` at the root stays at the root.
    assert!(t.lookup("/../../..", true).unwrap().same(&t.vfs.root()));
    // chroot into the mount: `..` is clamped there.
    t.fsc.chroot(&t.cred, b"/mnt").unwrap();
    let r = t.lookup("/..", true).unwrap();
    assert!(r.same(&t.fsc.root));
    assert!(t.lookup("/inner", true).is_ok());
}

#[test]
fn relative_to_dirfd() {
    let t = T::new();
    t.mkdir("/a").unwrap();
    t.mkdir("/a/b").unwrap();
    t.create("/a/b/f", b"1");
    let dir = t.lookup("/a", true).unwrap();
    let p = t.vfs.lookup(&t.ctx(), &dir, b"b/f", true).unwrap();
    assert_eq!(p.attr().unwrap().size, 1);
    // An absolute path ignores the start.
    assert!(t.vfs.lookup(&t.ctx(), &dir, b"/a/b", true).is_ok());
    // dirfd-relative create.
    t.vfs.mkdir(&t.ctx(), &dir, b"c", 0o700).unwrap();
    assert!(t.lookup("/a/c", true).is_ok());
}

#[test]
fn permissions_as_user() {
    let mut t = T::new();
    t.vfs.chmod(&t.ctx(), &t.lookup("/", true).unwrap(), 0o755).unwrap();
    t.mkdir("/priv").unwrap();
    t.vfs.chmod(&t.ctx(), &t.lookup("/priv", true).unwrap(), 0o700).unwrap();
    t.create("/priv/secret", b"s");
    t.create("/pub", b"p");
    t.vfs.chmod(&t.ctx(), &t.lookup("/pub", true).unwrap(), 0o644).unwrap();
    t.mkdir("/tmp").unwrap();
    t.vfs.chmod(&t.ctx(), &t.lookup("/tmp", true).unwrap(), 0o1777).unwrap();
    t.cred = Credentials::user(1000, 1000);
    assert_eq!(t.lookup("/priv/secret", true).err(), Some(Errno::EACCES));
    assert_eq!(t.open("/pub", OpenFlags::WRONLY).err(), Some(Errno::EACCES));
    assert!(t.open("/pub", OpenFlags::empty()).is_ok());
    assert_eq!(t.mkdir("/nope").err(), Some(Errno::EACCES));
    assert_eq!(t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/pub").err(), Some(Errno::EACCES));
    assert_eq!(t.vfs.chmod(&t.ctx(), &t.lookup("/pub", true).unwrap(), 0o777).err(), Some(Errno::EPERM));
    let pubp = t.lookup("/pub", true).unwrap();
    assert_eq!(t.vfs.chown(&t.ctx(), &pubp, Some(1000), None).err(), Some(Errno::EPERM));
    // In the sticky /tmp a user makes and removes its own files, not others'.
    t.create("/tmp/mine", b"m");
    let st = t.vfs.stat(&t.ctx(), &t.fsc.cwd, b"/tmp/mine", true).unwrap();
    assert_eq!((st.uid, st.gid, st.mode & 0o777), (1000, 1000, 0o644));
    t.cred = Credentials::user(1001, 1001);
    assert_eq!(t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/tmp/mine").err(), Some(Errno::EPERM));
    assert_eq!(t.rename("/tmp/mine", "/tmp/theirs", 0).err(), Some(Errno::EPERM));
    t.cred = Credentials::user(1000, 1000);
    t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/tmp/mine").unwrap();
    // access() uses the real ids unless AT_EACCESS.
    let mut c = Credentials::user(1000, 1000);
    c.euid = 0;
    c.fsuid = 0;
    c.caps = crate::capability::CapSets::full();
    t.cred = c;
    assert_eq!(t.vfs.access(&t.ctx(), &t.fsc.cwd, b"/priv/secret", R_OK, 0).err(), Some(Errno::EACCES));
    assert!(t.vfs.access(&t.ctx(), &t.fsc.cwd, b"/priv/secret", R_OK | W_OK, AT_EACCESS).is_ok());
    assert_eq!(t.vfs.access(&t.ctx(), &t.fsc.cwd, b"/pub", X_OK, AT_EACCESS).err(), Some(Errno::EACCES));
    assert_eq!(t.vfs.access(&t.ctx(), &t.fsc.cwd, b"/pub", 8, 0).err(), Some(Errno::EINVAL));
}

#[test]
fn umask_and_setgid_dirs() {
    let mut t = T::new();
    t.fsc.set_umask(0o027);
    t.mkdir("/g").unwrap();
    assert_eq!(t.lookup("/g", true).unwrap().attr().unwrap().mode & 0o7777, 0o750);
    let g = t.lookup("/g", true).unwrap();
    t.vfs.chown(&t.ctx(), &g, None, Some(50)).unwrap();
    t.vfs.chmod(&t.ctx(), &g, 0o2775).unwrap();
    t.create("/g/f", b"");
    t.mkdir("/g/sub").unwrap();
    let f = t.lookup("/g/f", true).unwrap().attr().unwrap();
    let sub = t.lookup("/g/sub", true).unwrap().attr().unwrap();
    assert_eq!((f.gid, f.mode & 0o7777), (50, 0o640));
    assert_eq!((sub.gid, sub.mode & 0o7777), (50, 0o2750));
}

#[test]
fn chown_clears_setuid() {
    let t = T::new();
    t.create("/s", b"");
    let p = t.lookup("/s", true).unwrap();
    t.vfs.chmod(&t.ctx(), &p, 0o6755).unwrap();
    t.vfs.chown(&t.ctx(), &p, Some(5), Some(6)).unwrap();
    let a = p.attr().unwrap();
    assert_eq!((a.uid, a.gid, a.mode & 0o7777), (5, 6, 0o755));
}

#[test]
fn open_flags() {
    let t = T::new();
    t.create("/f", b"abcdef");
    assert_eq!(t.open("/f", OpenFlags::CREAT | OpenFlags::EXCL).err(), Some(Errno::EEXIST));
    let f = t.open("/f", OpenFlags::WRONLY | OpenFlags::APPEND).unwrap();
    f.set_offset(0);
    f.write(b"gh").unwrap();
    assert_eq!(t.read("/f").unwrap(), b"abcdefgh");
    assert_eq!(f.offset(), 8);
    t.open("/f", OpenFlags::WRONLY | OpenFlags::TRUNC).unwrap();
    assert_eq!(t.read("/f").unwrap(), b"");
    t.mkdir("/d").unwrap();
    assert_eq!(t.open("/f", OpenFlags::DIRECTORY).err(), Some(Errno::ENOTDIR));
    assert!(t.open("/d", OpenFlags::DIRECTORY).is_ok());
    assert_eq!(t.open("/d", OpenFlags::RDWR).err(), Some(Errno::EISDIR));
    assert_eq!(t.open("/d", OpenFlags::CREAT).err(), Some(Errno::EISDIR));
    t.symlink("/f", "/l").unwrap();
    assert_eq!(t.open("/l", OpenFlags::NOFOLLOW).err(), Some(Errno::ELOOP));
    assert!(t.open("/l", OpenFlags::NOFOLLOW | OpenFlags::PATH).is_ok());
    assert_eq!(t.open("/l", OpenFlags::CREAT | OpenFlags::EXCL).err(), Some(Errno::EEXIST));
    // O_CREAT through a dangling symlink creates the target.
    t.symlink("/target", "/dl").unwrap();
    t.open("/dl", OpenFlags::CREAT | OpenFlags::WRONLY).unwrap().write(b"t").unwrap();
    assert_eq!(t.read("/target").unwrap(), b"t");
    assert_eq!(t.open("/missing", OpenFlags::empty()).err(), Some(Errno::ENOENT));
    let ro = t.open("/f", OpenFlags::empty()).unwrap();
    assert_eq!(ro.write(b"x").err(), Some(Errno::EBADF));
    let wo = t.open("/f", OpenFlags::WRONLY).unwrap();
    assert_eq!(wo.read(&mut [0u8; 4]).err(), Some(Errno::EBADF));
    let dir = t.open("/d", OpenFlags::empty()).unwrap();
    assert_eq!(dir.read(&mut [0u8; 4]).err(), Some(Errno::EISDIR));
    let path_only = t.open("/f", OpenFlags::PATH).unwrap();
    assert_eq!(path_only.read(&mut [0u8; 4]).err(), Some(Errno::EBADF));
    let tmpfile = |p: &str, extra: OpenFlags| t.vfs.open(&t.ctx(), &t.fsc.cwd, p.as_bytes(), OpenFlags::TMPFILE | extra, 0o600);
    assert_eq!(tmpfile("/d", OpenFlags::empty()).err(), Some(Errno::EINVAL), "O_TMPFILE needs write access");
    assert_eq!(tmpfile("/x", OpenFlags::RDWR).err(), Some(Errno::ENOENT));
    assert_eq!(tmpfile("/f", OpenFlags::RDWR).err(), Some(Errno::ENOTDIR));
    assert_eq!(tmpfile("/d", OpenFlags::RDWR | OpenFlags::CREAT).err(), Some(Errno::EINVAL));
    assert!(tmpfile("/d", OpenFlags::RDWR | OpenFlags::PATH).is_ok(), "O_PATH drops O_TMPFILE");
    let bare = OpenFlags::from_bits_retain(0o20000000) | OpenFlags::RDWR;
    assert_eq!(t.vfs.open(&t.ctx(), &t.fsc.cwd, b"/d", bare, 0).err(), Some(Errno::EINVAL), "__O_TMPFILE without O_DIRECTORY");
    assert_eq!(t.open("/d", OpenFlags::DIRECTORY | OpenFlags::CREAT).err(), Some(Errno::EINVAL));
}

#[test]
fn tmpfile_is_unnamed_until_linked() {
    let t = T::new();
    t.mkdir("/d").unwrap();
    let open = |extra: OpenFlags| t.vfs.open(&t.ctx(), &t.fsc.cwd, b"/d", OpenFlags::TMPFILE | OpenFlags::RDWR | extra, 0o666).unwrap();
    let f = open(OpenFlags::empty());
    f.write(b"data").unwrap();
    let a = f.stat().unwrap();
    assert_eq!((a.nlink, a.mode & 0o7777), (0, 0o644), "no link, umask applied");
    assert!(t.names("/d").iter().all(|n| n == "." || n == ".."), "no name in the directory");
    let shown = crate::path::path_string(f.path().unwrap(), &t.vfs.root());
    assert_eq!(shown, format!("/d/#{} (deleted)", a.ino).into_bytes());
    let link = |f: &Arc<crate::OpenFile>, to: &str| t.vfs.link_path(&t.ctx(), f.path().unwrap(), &t.fsc.cwd, to.as_bytes());
    link(&f, "/d/name").unwrap();
    assert_eq!(t.read("/d/name").unwrap(), b"data");
    assert_eq!(f.stat().unwrap().nlink, 1);
    t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/d/name").unwrap();
    assert_eq!(link(&f, "/d/again").err(), Some(Errno::ENOENT), "once linked, it is an ordinary file");
    let excl = open(OpenFlags::EXCL);
    assert_eq!(link(&excl, "/d/excl").err(), Some(Errno::ENOENT), "O_EXCL forbids a name");
    // An ordinary file unlinked while open cannot get a name back either.
    let g = t.open("/d/g", OpenFlags::CREAT | OpenFlags::RDWR).unwrap();
    t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/d/g").unwrap();
    assert_eq!(link(&g, "/d/g2").err(), Some(Errno::ENOENT));
}

#[test]
fn seek_and_positional_io() {
    let t = T::new();
    t.create("/f", b"0123456789");
    let f = t.open("/f", OpenFlags::RDWR).unwrap();
    assert_eq!(f.lseek(-3, crate::abi::SEEK_END).unwrap(), 7);
    let mut b = [0u8; 8];
    assert_eq!(f.read(&mut b).unwrap(), 3);
    assert_eq!(&b[..3], b"789");
    assert_eq!(f.pread(&mut b[..2], 1).unwrap(), 2);
    assert_eq!(&b[..2], b"12");
    assert_eq!(f.offset(), 10);
    assert_eq!(f.lseek(-11, crate::abi::SEEK_CUR).err(), Some(Errno::EINVAL));
    assert_eq!(f.lseek(0, 9).err(), Some(Errno::EINVAL));
    f.pwrite(b"ab", 20).unwrap();
    assert_eq!(f.stat().unwrap().size, 22);
    assert_eq!(f.lseek(3, crate::abi::SEEK_DATA).unwrap(), 3);
    assert_eq!(f.lseek(3, crate::abi::SEEK_HOLE).unwrap(), 22);
    assert_eq!(f.lseek(22, crate::abi::SEEK_DATA).err(), Some(Errno::ENXIO));
    assert_eq!(f.pread(&mut b, -1).err(), Some(Errno::EINVAL));
    f.truncate(4).unwrap();
    assert_eq!(t.read("/f").unwrap(), b"0123");
    assert_eq!(f.truncate(-1).err(), Some(Errno::EINVAL));
    let ro = t.open("/f", OpenFlags::empty()).unwrap();
    assert_eq!(ro.truncate(0).err(), Some(Errno::EINVAL));
}

#[test]
fn getdents64_layout_and_resume() {
    let t = T::new();
    t.mkdir("/d").unwrap();
    for i in 0..20 {
        t.create(&format!("/d/file{i:02}"), b"");
    }
    let f = t.open("/d", OpenFlags::DIRECTORY).unwrap();
    let mut tiny = [0u8; 16];
    assert_eq!(f.getdents64(&mut tiny).err(), Some(Errno::EINVAL));
    let mut seen = Vec::new();
    let mut buf = [0u8; 100];
    loop {
        let n = f.getdents64(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        let mut off = 0;
        while off < n {
            let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
            assert_eq!(reclen % 8, 0);
            let name_end = buf[off + 19..off + reclen].iter().position(|c| *c == 0).unwrap();
            let name = String::from_utf8(buf[off + 19..off + 19 + name_end].to_vec()).unwrap();
            if name.starts_with("file") {
                assert_eq!(buf[off + 18], 8);
                // Remove entries while reading, as rm -rf does.
                t.vfs.unlink(&t.ctx(), &t.fsc.cwd, format!("/d/{name}").as_bytes()).unwrap();
            } else {
                assert_eq!(buf[off + 18], 4);
            }
            seen.push(name);
            off += reclen;
        }
    }
    assert_eq!(seen.len(), 22);
    assert_eq!(t.names("/d"), vec![".", ".."]);
    t.vfs.rmdir(&t.ctx(), &t.fsc.cwd, b"/d").unwrap();
}

#[test]
fn rename_cases() {
    let t = T::new();
    t.mkdir("/a").unwrap();
    t.mkdir("/a/b").unwrap();
    t.mkdir("/c").unwrap();
    t.create("/f", b"1");
    t.create("/g", b"2");
    assert_eq!(t.rename("/a", "/a/b/x", 0).err(), Some(Errno::EINVAL));
    assert_eq!(t.rename("/a", "/a/b", 0).err(), Some(Errno::EINVAL));
    assert_eq!(t.rename("/a/b", "/a", 0).err(), Some(Errno::ENOTEMPTY));
    assert_eq!(t.rename("/f", "/c", 0).err(), Some(Errno::EISDIR));
    assert_eq!(t.rename("/c", "/f", 0).err(), Some(Errno::ENOTDIR));
    assert_eq!(t.rename("/f", "/g", crate::abi::RENAME_NOREPLACE).err(), Some(Errno::EEXIST));
    assert_eq!(t.rename("/f/", "/h", 0).err(), Some(Errno::ENOTDIR));
    assert_eq!(t.rename("/a/.", "/z", 0).err(), Some(Errno::EBUSY));
    assert_eq!(t.rename("/f", "/g", 8).err(), Some(Errno::EINVAL));
    // Replace a file.
    t.rename("/f", "/g", 0).unwrap();
    assert_eq!(t.read("/g").unwrap(), b"1");
    assert_eq!(t.lookup("/f", true).err(), Some(Errno::ENOENT));
    // Exchange.
    t.create("/f", b"new");
    t.rename("/f", "/a/b", crate::abi::RENAME_EXCHANGE).unwrap();
    assert_eq!(t.read("/a/b").unwrap(), b"new");
    assert!(crate::path::is_dir(&t.lookup("/f", true).unwrap()));
    t.rename("/f", "/a/b", crate::abi::RENAME_EXCHANGE).unwrap();
    // Move a directory across parents onto an empty directory; nlink follows.
    t.rename("/a/b", "/c", 0).unwrap();
    assert_eq!(t.lookup("/a", true).unwrap().attr().unwrap().nlink, 2);
    assert_eq!(t.lookup("/", true).unwrap().attr().unwrap().nlink, 4);
    // A cwd inside a moved directory follows it.
    let mut t = t;
    t.mkdir("/c/deep").unwrap();
    t.fsc.chdir(&t.cred, b"/c/deep").unwrap();
    t.rename("/c", "/moved", 0).unwrap();
    assert_eq!(t.fsc.getcwd().unwrap(), b"/moved/deep");
    // Hard links to the same inode: rename is a no-op.
    t.create("/h1", b"h");
    t.vfs.link(&t.ctx(), &t.fsc.cwd, b"/h1", &t.fsc.cwd, b"/h2", false).unwrap();
    t.rename("/h1", "/h2", 0).unwrap();
    assert!(t.lookup("/h1", true).is_ok());
}

#[test]
fn unlink_rmdir_link() {
    let t = T::new();
    t.mkdir("/d").unwrap();
    t.create("/d/f", b"x");
    assert_eq!(t.vfs.rmdir(&t.ctx(), &t.fsc.cwd, b"/d").err(), Some(Errno::ENOTEMPTY));
    assert_eq!(t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/d").err(), Some(Errno::EISDIR));
    assert_eq!(t.vfs.rmdir(&t.ctx(), &t.fsc.cwd, b"/d/f").err(), Some(Errno::ENOTDIR));
    assert_eq!(t.vfs.rmdir(&t.ctx(), &t.fsc.cwd, b"/d/.").err(), Some(Errno::EINVAL));
    assert_eq!(t.vfs.rmdir(&t.ctx(), &t.fsc.cwd, b"/d/..").err(), Some(Errno::ENOTEMPTY));
    assert_eq!(t.vfs.rmdir(&t.ctx(), &t.fsc.cwd, b"/").err(), Some(Errno::EBUSY));
    assert_eq!(t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/d/f/").err(), Some(Errno::ENOTDIR));
    // An open file survives its unlink.
    let f = t.open("/d/f", OpenFlags::RDWR).unwrap();
    t.vfs.link(&t.ctx(), &t.fsc.cwd, b"/d/f", &t.fsc.cwd, b"/d/g", false).unwrap();
    assert_eq!(f.stat().unwrap().nlink, 2);
    t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/d/f").unwrap();
    t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/d/g").unwrap();
    assert_eq!(f.stat().unwrap().nlink, 0);
    f.write(b"still here").unwrap();
    assert_eq!(f.pread(&mut [0u8; 5], 0).unwrap(), 5);
    t.vfs.rmdir(&t.ctx(), &t.fsc.cwd, b"/d").unwrap();
    assert_eq!(t.vfs.link(&t.ctx(), &t.fsc.cwd, b"/", &t.fsc.cwd, b"/r", false).err(), Some(Errno::EPERM));
    // getcwd of a removed directory is ENOENT.
    let mut t = t;
    t.mkdir("/gone").unwrap();
    t.fsc.chdir(&t.cred, b"/gone").unwrap();
    t.vfs.rmdir(&t.ctx(), &t.fsc.root, b"/gone").unwrap();
    assert_eq!(t.fsc.getcwd().err(), Some(Errno::ENOENT));
    assert_eq!(t.mkdir("x").err(), Some(Errno::ENOENT));
}

#[test]
fn mounts_umount_and_exdev() {
    let t = T::new();
    t.mkdir("/mnt").unwrap();
    let c = t.ctx();
    t.vfs.mount(&c, &t.fsc.cwd, b"none", b"/mnt", b"tmpfs", MsFlags::empty(), b"size=1m").unwrap();
    t.create("/mnt/f", b"x");
    t.create("/g", b"y");
    assert_eq!(t.rename("/mnt/f", "/f", 0).err(), Some(Errno::EXDEV));
    assert_eq!(t.vfs.link(&c, &t.fsc.cwd, b"/g", &t.fsc.cwd, b"/mnt/g", false).err(), Some(Errno::EXDEV));
    assert_eq!(t.vfs.rmdir(&c, &t.fsc.cwd, b"/mnt").err(), Some(Errno::EBUSY));
    assert_eq!(t.vfs.mount(&c, &t.fsc.cwd, b"x", b"/mnt", b"nosuchfs", MsFlags::empty(), b"").err(), Some(Errno::ENODEV));
    let text = t.vfs.mounts_text(&t.fsc.root);
    assert!(text.contains("none /mnt tmpfs rw,relatime,size=1024k 0 0"), "{text}");
    let st = t.vfs.statfs(&t.lookup("/mnt", true).unwrap()).unwrap();
    assert_eq!(st.fs_type, 0x01021994);
    assert_eq!(st.blocks, 256);
    // Busy while a file is open.
    let f = t.open("/mnt/f", OpenFlags::empty()).unwrap();
    assert_eq!(t.vfs.umount(&c, &t.fsc.cwd, b"/mnt", 0).err(), Some(Errno::EBUSY));
    drop(f);
    assert_eq!(t.vfs.umount(&c, &t.fsc.cwd, b"/g", 0).err(), Some(Errno::EINVAL));
    t.vfs.umount(&c, &t.fsc.cwd, b"/mnt", 0).unwrap();
    assert_eq!(t.lookup("/mnt/f", true).err(), Some(Errno::ENOENT));
    // Read-only remount.
    t.vfs.mount(&c, &t.fsc.cwd, b"none", b"/mnt", b"tmpfs", MsFlags::empty(), b"").unwrap();
    t.vfs.mount(&c, &t.fsc.cwd, b"", b"/mnt", b"", MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY, b"").unwrap();
    assert_eq!(t.mkdir("/mnt/x").err(), Some(Errno::EROFS));
    assert_eq!(t.open("/mnt/y", OpenFlags::CREAT).err(), Some(Errno::EROFS));
    assert_eq!(t.vfs.access(&c, &t.fsc.cwd, b"/mnt", W_OK, 0).err(), Some(Errno::EROFS));
    // Bind mount.
    t.mkdir("/src").unwrap();
    t.create("/src/file", b"b");
    t.mkdir("/bind").unwrap();
    t.vfs.mount(&c, &t.fsc.cwd, b"/src", b"/bind", b"", MsFlags::MS_BIND, b"").unwrap();
    assert_eq!(t.read("/bind/file").unwrap(), b"b");
    let user = Credentials::user(1, 1);
    let uc = t.fsc.ctx(&user);
    assert_eq!(t.vfs.umount(&uc, &t.fsc.cwd, b"/bind", 0).err(), Some(Errno::EPERM));
}

#[test]
fn tmpfs_mount_options_are_enforced_and_shown() {
    let t = T::new();
    t.mkdir("/mnt").unwrap();
    let c = t.ctx();
    let mnt = |data: &[u8]| t.vfs.mount(&c, &t.fsc.cwd, b"tmpfs", b"/mnt", b"tmpfs", MsFlags::empty(), data);
    assert_eq!(mnt(b"bogus=1").err(), Some(Errno::EINVAL));
    assert_eq!(mnt(b"mode=9").err(), Some(Errno::EINVAL));
    mnt(b"nr_inodes=3,mode=750,uid=5,gid=6,inode64").unwrap();
    let root = t.lookup("/mnt", true).unwrap().attr().unwrap();
    assert_eq!((root.mode, root.uid, root.gid), (0o40750, 5, 6));
    // The root is one of the three inodes.
    t.create("/mnt/a", b"");
    t.mkdir("/mnt/d").unwrap();
    assert_eq!(t.open("/mnt/b", OpenFlags::CREAT).err(), Some(Errno::ENOSPC));
    assert_eq!(t.symlink("a", "/mnt/l").err(), Some(Errno::ENOSPC));
    assert_eq!(t.vfs.statfs(&t.lookup("/mnt", true).unwrap()).unwrap().files, 3);
    t.vfs.unlink(&c, &t.fsc.cwd, b"/mnt/a").unwrap();
    t.create("/mnt/b", b"");
    let text = t.vfs.mounts_text(&t.fsc.root);
    assert!(text.contains("tmpfs /mnt tmpfs rw,relatime,nr_inodes=3,mode=750,uid=5,gid=6 0 0"), "{text}");
    assert!(t.vfs.mountinfo_text(&t.fsc.root).contains(" - tmpfs tmpfs rw,nr_inodes=3,mode=750,uid=5,gid=6\n"));
}

#[test]
fn getcwd_and_unreachable() {
    let mut t = T::new();
    t.mkdir("/a").unwrap();
    t.mkdir("/a/b").unwrap();
    t.fsc.chdir(&t.cred, b"/a/b").unwrap();
    assert_eq!(t.fsc.getcwd().unwrap(), b"/a/b");
    t.fsc.chdir(&t.cred, b"..").unwrap();
    assert_eq!(t.fsc.getcwd().unwrap(), b"/a");
    t.fsc.chroot(&t.cred, b"/a/b").unwrap();
    assert_eq!(t.fsc.getcwd().unwrap(), b"(unreachable)/a");
    t.create("/f", b"");
    assert_eq!(t.fsc.chdir(&t.cred, b"/f").err(), Some(Errno::ENOTDIR));
    let user = Credentials::user(1, 1);
    assert_eq!(t.fsc.chroot(&user, b"/").err(), Some(Errno::EPERM));
}

#[test]
fn utimens_and_truncate() {
    let mut t = T::new();
    t.create("/f", b"abc");
    let p = t.lookup("/f", true).unwrap();
    let ts = crate::time::Timespec::new(1000, 5);
    t.vfs.utimens(&t.ctx(), &p, TimeArg::Set(ts), TimeArg::Omit).unwrap();
    let a = p.attr().unwrap();
    assert_eq!(a.atime, ts);
    assert_ne!(a.mtime, ts);
    assert_eq!(TimeArg::from_timespec(0, 1 << 30).err(), Some(Errno::EINVAL));
    t.vfs.truncate(&t.ctx(), &p, 10).unwrap();
    assert_eq!(p.attr().unwrap().size, 10);
    assert_eq!(t.vfs.truncate(&t.ctx(), &t.lookup("/", true).unwrap(), 0).err(), Some(Errno::EISDIR));
    t.cred = Credentials::user(7, 7);
    assert_eq!(t.vfs.utimens(&t.ctx(), &p, TimeArg::Set(ts), TimeArg::Set(ts)).err(), Some(Errno::EPERM));
    assert_eq!(t.vfs.utimens(&t.ctx(), &p, TimeArg::Now, TimeArg::Now).err(), Some(Errno::EACCES));
    assert_eq!(t.vfs.truncate(&t.ctx(), &p, 0).err(), Some(Errno::EACCES));
}

#[test]
fn mknod_devices_and_fifo() {
    let t = T::new();
    let c = t.ctx();
    t.vfs.mknod(&c, &t.fsc.cwd, b"/null2", crate::abi::S_IFCHR | 0o666, crate::abi::make_dev(1, 3)).unwrap();
    let f = t.open("/null2", OpenFlags::RDWR).unwrap();
    assert_eq!(f.write(b"abc").unwrap(), 3);
    assert_eq!(f.read(&mut [0u8; 4]).unwrap(), 0);
    t.vfs.mknod(&c, &t.fsc.cwd, b"/nodev", crate::abi::S_IFCHR | 0o666, crate::abi::make_dev(99, 1)).unwrap();
    assert_eq!(t.open("/nodev", OpenFlags::empty()).err(), Some(Errno::ENXIO));
    t.vfs.mknod(&c, &t.fsc.cwd, b"/fifo", crate::abi::S_IFIFO | 0o644, 0).unwrap();
    assert_eq!(t.lookup("/fifo", true).unwrap().attr().unwrap().file_type(), crate::FileType::Fifo);
    assert_eq!(t.vfs.mknod(&c, &t.fsc.cwd, b"/dir", crate::abi::S_IFDIR | 0o755, 0).err(), Some(Errno::EPERM));
    let user = Credentials::user(3, 3);
    let uc = t.fsc.ctx(&user);
    t.mkdir("/t").unwrap();
    t.vfs.chmod(&c, &t.lookup("/t", true).unwrap(), 0o777).unwrap();
    assert_eq!(t.vfs.mknod(&uc, &t.fsc.cwd, b"/t/c", crate::abi::S_IFCHR | 0o600, 0).err(), Some(Errno::EPERM));
    assert!(t.vfs.mknod(&uc, &t.fsc.cwd, b"/t/p", crate::abi::S_IFIFO | 0o600, 0).is_ok());
}

#[test]
fn record_locks_and_flock_through_files() {
    use crate::abi::{F_RDLCK, F_UNLCK, F_WRLCK, LOCK_EX, LOCK_NB};
    use uapi::structs::Flock;
    let t = T::new();
    t.create("/f", b"0123456789");
    let a = t.open("/f", OpenFlags::RDWR).unwrap();
    let b = t.open("/f", OpenFlags::RDWR).unwrap();
    let ro = t.open("/f", OpenFlags::empty()).unwrap();
    let locks = t.vfs.locks().clone();
    let wr = Flock { l_type: F_WRLCK, l_whence: 0, l_start: 2, l_len: 3, ..Flock::default() };
    locks.fcntl_setlk(&a, 100, &wr).unwrap();
    assert_eq!(locks.fcntl_setlk(&b, 200, &wr).err(), Some(Errno::EAGAIN));
    assert_eq!(locks.fcntl_setlk(&ro, 200, &wr).err(), Some(Errno::EBADF));
    let mut q = Flock { l_type: F_RDLCK, l_whence: 0, l_start: 0, l_len: 0, ..Flock::default() };
    locks.fcntl_getlk(&b, 200, &mut q).unwrap();
    assert_eq!((q.l_type, q.l_start, q.l_len, q.l_pid), (F_WRLCK, 2, 3, 100));
    // Closing any fd of the file drops the process's record locks.
    locks.release_on_close(&a, 100);
    let mut q = Flock { l_type: F_WRLCK, l_whence: 0, l_start: 0, l_len: 0, ..Flock::default() };
    locks.fcntl_getlk(&b, 200, &mut q).unwrap();
    assert_eq!(q.l_type, F_UNLCK);
    // flock belongs to the open file description and goes with its last reference.
    a.flock(&locks, LOCK_EX).unwrap();
    assert_eq!(b.flock(&locks, LOCK_EX | LOCK_NB).err(), Some(Errno::EWOULDBLOCK));
    drop(a);
    b.flock(&locks, LOCK_EX | LOCK_NB).unwrap();
    // An OFD lock belongs to the description: another description of the same process
    // conflicts with it, and it goes with the description's last reference.
    let ofd = t.open("/f", OpenFlags::RDWR).unwrap();
    let kept = ofd.clone();
    ofd.ofd_setlk(&locks, &wr).unwrap();
    assert_eq!(locks.fcntl_setlk(&b, 200, &wr).err(), Some(Errno::EAGAIN));
    let mut q = Flock { l_type: F_WRLCK, l_whence: 0, l_start: 0, l_len: 0, ..Flock::default() };
    locks.fcntl_getlk(&b, 200, &mut q).unwrap();
    assert_eq!((q.l_type, q.l_pid), (F_WRLCK, -1));
    drop(ofd);
    assert_eq!(locks.fcntl_setlk(&b, 200, &wr).err(), Some(Errno::EAGAIN));
    drop(kept);
    locks.fcntl_setlk(&b, 200, &wr).unwrap();
}
