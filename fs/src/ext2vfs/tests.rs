//! ext2 through the VFS: unique inode objects, open-unlinked files freed on last close, device
//! nodes through the registry, page-cache pages, read-only mounts, mount(2) by type name and a
//! clean image after shutdown (checked with `e2fsck -fn` when e2fsprogs is installed).

use std::sync::Arc;

use uapi::Errno;

use super::*;
use crate::abi::{make_dev, OpenFlags, S_IFCHR};
use crate::block::MemBlockDevice;
use crate::context::FsContext;
use crate::cred::Credentials;
use crate::ext2::mkfs::{format, FormatOptions};
use crate::inode::same_inode;
use crate::mount::MountFlags;
use crate::open_file::OpenFile;

const SB_STATE: usize = 1024 + 58;

fn fresh_dev(block_size: u32) -> Arc<MemBlockDevice> {
    let dev = Arc::new(MemBlockDevice::new(4 << 20));
    format(dev.clone(), &FormatOptions { block_size, ..FormatOptions::default() }).unwrap();
    dev
}

fn frames(bytes: u64) -> Arc<mm::FrameAllocator> {
    Arc::new(mm::FrameAllocator::new(Arc::new(arch_um::PhysMem::new(bytes).unwrap())))
}

struct T {
    vfs: Arc<Vfs>,
    fsc: FsContext,
    cred: Credentials,
    fs: Arc<Ext2Vfs>,
    fa: Arc<mm::FrameAllocator>,
}

impl T {
    fn on(dev: Arc<dyn BlockDevice>, ro: bool) -> T {
        let fs = Ext2Vfs::mount(dev, ro, None).unwrap();
        let flags = if ro { MountFlags::RDONLY } else { MountFlags::empty() };
        let vfs = Vfs::with_root(fs.clone(), b"/dev/ubda", flags);
        // File data goes through the page cache in frames of a small guest RAM.
        let fa = frames(8 << 20);
        vfs.page_cache().set_frames(fa.clone());
        register(&vfs);
        let fsc = FsContext::new(vfs.root());
        T { vfs, fsc, cred: Credentials::root(), fs, fa }
    }
    fn ctx(&self) -> crate::Ctx<'_> {
        self.fsc.ctx(&self.cred)
    }
    fn open(&self, p: &str, flags: OpenFlags) -> KResult<Arc<OpenFile>> {
        self.vfs.open(&self.ctx(), &self.fsc.cwd, p.as_bytes(), flags, 0o644)
    }
    fn write_file(&self, p: &str, data: &[u8]) {
        let f = self.open(p, OpenFlags::CREAT | OpenFlags::WRONLY | OpenFlags::TRUNC).unwrap();
        assert_eq!(f.write(data).unwrap(), data.len());
    }
    fn read_file(&self, p: &str) -> KResult<Vec<u8>> {
        let f = self.open(p, OpenFlags::empty())?;
        let mut out = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            match f.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }
    fn names(&self, p: &str) -> Vec<String> {
        let f = self.open(p, OpenFlags::DIRECTORY).unwrap();
        let mut v = Vec::new();
        f.readdir(&mut |e| {
            v.push(String::from_utf8_lossy(e.name).into_owned());
            true
        })
        .unwrap();
        v.sort();
        v
    }
    fn free_inodes(&self) -> u64 {
        self.vfs.statfs(&self.vfs.root()).unwrap().ffree
    }
}

#[test]
fn ext2vfs_inode_objects_are_unique_per_number() {
    let t = T::on(fresh_dev(1024), false);
    t.write_file("/a", b"x");
    t.vfs.link(&t.ctx(), &t.fsc.cwd, b"/a", &t.fsc.cwd, b"/b", false).unwrap();
    let a = t.vfs.lookup(&t.ctx(), &t.fsc.cwd, b"/a", true).unwrap();
    let b = t.vfs.lookup(&t.ctx(), &t.fsc.cwd, b"/b", true).unwrap();
    assert!(same_inode(a.inode(), b.inode()));
    let direct = t.fs.root().lookup(b"a").unwrap();
    assert!(same_inode(a.inode(), &direct));
    assert_eq!(a.attr().unwrap().nlink, 2);
    assert_eq!(a.attr().unwrap().dev, t.fs.dev());
}

#[test]
fn ext2vfs_file_and_directory_operations() {
    let t = T::on(fresh_dev(1024), false);
    let c = t.ctx();
    let cwd = &t.fsc.cwd;
    t.vfs.mkdir(&c, cwd, b"/d", 0o755).unwrap();
    t.write_file("/d/f", &vec![7u8; 5000]);
    t.vfs.rename(&c, cwd, b"/d/f", cwd, b"/g", 0).unwrap();
    t.vfs.symlink(&c, b"g", cwd, b"/s").unwrap();
    assert_eq!(t.read_file("/s").unwrap().len(), 5000);
    assert_eq!(t.vfs.readlink(&c, cwd, b"/s").unwrap(), b"g");
    assert_eq!(t.names("/"), [".", "..", "d", "g", "lost+found", "s"]);
    assert_eq!(t.names("/d"), [".", ".."]);
    assert_eq!(t.vfs.rmdir(&c, cwd, b"/"), Err(Errno::EBUSY));
    t.vfs.rmdir(&c, cwd, b"/d").unwrap();
    assert_eq!(t.open("/d", OpenFlags::empty()).err(), Some(Errno::ENOENT));
    let p = t.vfs.lookup(&c, cwd, b"/g", true).unwrap();
    t.vfs.truncate(&c, &p, 10).unwrap();
    t.vfs.chmod(&c, &p, 0o600).unwrap();
    let a = p.attr().unwrap();
    assert_eq!((a.size, a.mode & 0o7777), (10, 0o600));
    let f = t.open("/g", OpenFlags::RDWR).unwrap();
    f.fsync().unwrap();
    assert_eq!(t.vfs.statfs(&p).unwrap().fs_type, crate::abi::magic::EXT2);
}

#[test]
fn ext2vfs_unlinked_open_file_is_freed_on_last_close() {
    let t = T::on(fresh_dev(1024), false);
    let before = t.free_inodes();
    t.write_file("/tmpfile", b"still here");
    let f = t.open("/tmpfile", OpenFlags::RDWR).unwrap();
    t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/tmpfile").unwrap();
    assert_eq!(t.free_inodes(), before - 1, "kept while open");
    f.pwrite(b"!", 10).unwrap();
    let mut buf = [0u8; 11];
    assert_eq!(f.pread(&mut buf, 0).unwrap(), 11);
    assert_eq!(&buf, b"still here!");
    assert_eq!(f.stat().unwrap().nlink, 0);
    drop(f);
    assert_eq!(t.free_inodes(), before, "freed on last close");
    // Not open: freed at once, also when replaced by a rename.
    t.write_file("/x", b"1");
    t.write_file("/y", b"2");
    t.vfs.rename(&t.ctx(), &t.fsc.cwd, b"/x", &t.fsc.cwd, b"/y", 0).unwrap();
    assert_eq!(t.free_inodes(), before - 1);
    assert_eq!(t.read_file("/y").unwrap(), b"1");
}

#[test]
fn ext2vfs_o_tmpfile_is_freed_on_close_unless_linked() {
    let t = T::on(fresh_dev(1024), false);
    let before = t.free_inodes();
    let tmp = |extra: OpenFlags| t.open("/", OpenFlags::TMPFILE | OpenFlags::RDWR | extra).unwrap();
    let f = tmp(OpenFlags::empty());
    f.write(b"unnamed").unwrap();
    assert_eq!(t.free_inodes(), before - 1);
    assert_eq!(f.stat().unwrap().nlink, 0);
    drop(f);
    assert_eq!(t.free_inodes(), before, "freed on last close");
    let g = tmp(OpenFlags::empty());
    g.write(b"named later").unwrap();
    t.vfs.link_path(&t.ctx(), g.path().unwrap(), &t.fsc.cwd, b"/kept").unwrap();
    assert_eq!(g.stat().unwrap().nlink, 1);
    drop(g);
    assert_eq!(t.read_file("/kept").unwrap(), b"named later");
    assert_eq!(t.free_inodes(), before - 1, "the linked one stays");
    let h = tmp(OpenFlags::EXCL);
    let r = t.vfs.link_path(&t.ctx(), h.path().unwrap(), &t.fsc.cwd, b"/excl");
    assert_eq!(r.err(), Some(Errno::ENOENT));
    drop(h);
    assert_eq!(t.free_inodes(), before - 1);
    t.fs.unmount().unwrap();
}

#[test]
fn ext2vfs_renamed_over_open_file_is_freed_on_close() {
    let t = T::on(fresh_dev(1024), false);
    let before = t.free_inodes();
    t.write_file("/x", b"new");
    t.write_file("/y", b"old");
    let f = t.open("/y", OpenFlags::empty()).unwrap();
    t.vfs.rename(&t.ctx(), &t.fsc.cwd, b"/x", &t.fsc.cwd, b"/y", 0).unwrap();
    assert_eq!(t.free_inodes(), before - 2);
    let mut buf = [0u8; 3];
    f.pread(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"old");
    drop(f);
    assert_eq!(t.free_inodes(), before - 1);
}

#[test]
fn ext2vfs_device_nodes_open_through_the_registry() {
    let t = T::on(fresh_dev(1024), false);
    let c = t.ctx();
    t.vfs.mknod(&c, &t.fsc.cwd, b"/null", S_IFCHR | 0o666, make_dev(1, 3)).unwrap();
    let a = t.vfs.stat(&c, &t.fsc.cwd, b"/null", true).unwrap();
    assert_eq!(a.rdev, make_dev(1, 3));
    let f = t.open("/null", OpenFlags::RDWR).unwrap();
    assert_eq!(f.write(b"gone").unwrap(), 4);
    assert_eq!(f.read(&mut [0u8; 4]).unwrap(), 0);
}

#[test]
fn ext2vfs_file_pages_for_mappings() {
    use mm::PageSource;
    let t = T::on(fresh_dev(1024), false);
    let fa = t.fa.clone();
    let mut data = vec![b'a'; 6000];
    data[4096] = b'b';
    t.write_file("/lib.so", &data);
    let f = t.open("/lib.so", OpenFlags::RDWR).unwrap();
    let pages = t.vfs.file_pages(&f, &fa).unwrap();
    assert_eq!(pages.size(), 6000);
    let p1 = pages.page(1).unwrap();
    let mut got = vec![0u8; 4096];
    fa.phys().read(p1.offset(), &mut got).unwrap();
    assert_eq!(&got[..1904], &data[4096..]);
    assert!(got[1904..].iter().all(|b| *b == 0));
    f.pwrite(b"Z", 4096).unwrap();
    fa.phys().read(p1.offset(), &mut got[..1]).unwrap();
    assert_eq!(got[0], b'Z');
    fa.decref(p1);
}

#[test]
fn ext2vfs_read_only_mount_refuses_writes() {
    let dev = fresh_dev(1024);
    {
        let t = T::on(dev.clone(), false);
        t.write_file("/f", b"data");
        shutdown(&t.vfs).unwrap();
    }
    let image = dev.contents();
    let t = T::on(dev.clone(), true);
    assert_eq!(t.read_file("/f").unwrap(), b"data");
    assert_eq!(t.open("/f", OpenFlags::WRONLY).err(), Some(Errno::EROFS));
    assert_eq!(t.open("/new", OpenFlags::CREAT | OpenFlags::WRONLY).err(), Some(Errno::EROFS));
    assert_eq!(t.vfs.mkdir(&t.ctx(), &t.fsc.cwd, b"/d", 0o755), Err(Errno::EROFS));
    assert_eq!(t.fs.root().write_bytes(0, b"x"), Err(Errno::EISDIR));
    assert_eq!(t.fs.root().lookup(b"f").unwrap().write_bytes(0, b"x"), Err(Errno::EROFS));
    shutdown(&t.vfs).unwrap();
    assert!(dev.contents() == image, "a read-only mount never writes");
}

#[test]
fn ext2vfs_shutdown_leaves_the_superblock_clean() {
    let dev = fresh_dev(4096);
    let t = T::on(dev.clone(), false);
    assert_eq!(dev.contents()[SB_STATE] & 1, 0, "mounted read-write: not clean");
    t.write_file("/f", b"data");
    let f = t.open("/f", OpenFlags::empty()).unwrap();
    t.vfs.unlink(&t.ctx(), &t.fsc.cwd, b"/f").unwrap();
    shutdown(&t.vfs).unwrap();
    assert_eq!(dev.contents()[SB_STATE] & 1, 1, "clean after shutdown");
    assert_eq!(f.read(&mut [0u8; 4]), Err(Errno::EIO), "unmounted");
    drop(f);
    let again = Ext2Vfs::mount(dev.clone(), true, None).unwrap();
    assert_eq!(again.root().lookup(b"f").err(), Some(Errno::ENOENT));
}

fn have(tool: &str) -> bool {
    let ok = std::process::Command::new(tool).arg("-V").output().is_ok();
    if !ok {
        eprintln!("SKIPPED: {tool} (e2fsprogs) not installed");
    }
    ok
}

fn image_file(dir: &std::path::Path) -> std::path::PathBuf {
    let img = dir.join("disk.img");
    let file = std::fs::File::create(&img).unwrap();
    file.set_len(8 << 20).unwrap();
    let dev = Arc::new(FileBlockDevice::from_file(std::fs::OpenOptions::new().read(true).write(true).open(&img).unwrap(), false).unwrap());
    format(dev, &FormatOptions { block_size: 1024, ..FormatOptions::default() }).unwrap();
    img
}

#[test]
fn ext2vfs_mount_by_type_name_and_e2fsck_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let img = image_file(tmp.path());
    let t = T::on(fresh_dev(1024), false);
    let c = t.ctx();
    t.vfs.mkdir(&c, &t.fsc.cwd, b"/mnt", 0o755).unwrap();
    let src = img.to_str().unwrap().as_bytes();
    assert_eq!(t.vfs.mount(&c, &t.fsc.cwd, b"/nonexistent.img", b"/mnt", b"ext2", MsFlags::empty(), b""), Err(Errno::ENOENT));
    t.vfs.mount(&c, &t.fsc.cwd, src, b"/mnt", b"ext4", MsFlags::empty(), b"").unwrap();
    assert!(t.vfs.mounts_text(&t.vfs.root()).contains(" /mnt ext4 rw"));
    t.vfs.mkdir(&c, &t.fsc.cwd, b"/mnt/dir", 0o755).unwrap();
    t.write_file("/mnt/dir/file", &vec![3u8; 70_000]);
    t.vfs.symlink(&c, &[b'l'; 100], &t.fsc.cwd, b"/mnt/long").unwrap();
    let keep = t.open("/mnt/dir/file", OpenFlags::empty()).unwrap();
    t.vfs.unlink(&c, &t.fsc.cwd, b"/mnt/dir/file").unwrap();
    t.write_file("/mnt/dir/other", b"kept");
    shutdown(&t.vfs).unwrap();
    drop(keep);
    if have("e2fsck") {
        let out = std::process::Command::new("e2fsck").arg("-fn").arg(&img).output().unwrap();
        assert!(out.status.success(), "e2fsck -fn: {}", String::from_utf8_lossy(&out.stdout));
    }
    let ro = Ext2Vfs::open_image(&img, Access::ReadOnly, None).unwrap();
    let dir = ro.root().lookup(b"dir").unwrap();
    assert_eq!(dir.lookup(b"file").err(), Some(Errno::ENOENT));
    assert_eq!(dir.lookup(b"other").unwrap().attr().unwrap().size, 4);
}

#[test]
fn ext2vfs_unwritable_features_fall_back_to_read_only() {
    if !have("mke2fs") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("ext4.img");
    let st = std::process::Command::new("mke2fs").args(["-q", "-F", "-t", "ext4", "-O", "quota"]).arg(&img).arg("8M").status().unwrap();
    assert!(st.success());
    let e = Ext2Vfs::open_image(&img, Access::ReadWrite, None).err().unwrap();
    assert_eq!(e.errno, Errno::EROFS);
    assert!(e.message.contains("quota"), "names the feature: {}", e.message);
    let fs = Ext2Vfs::open_image(&img, Access::PreferReadWrite, None).unwrap();
    assert!(fs.read_only());
    assert_eq!(fs.name(), "ext4");
    assert_eq!(fs.root().lookup(b"lost+found").unwrap().attr().unwrap().mode & 0o170000, 0o040000);
}

#[test]
fn ext2vfs_read_only_device_falls_back_when_preferred() {
    let data = fresh_dev(1024).contents();
    let dev = Arc::new(MemBlockDevice::from_vec(data.clone(), true));
    let e = Ext2Vfs::mount_with(dev.clone(), Access::ReadWrite, None, "img").err().unwrap();
    assert_eq!(e.errno, Errno::EROFS);
    assert!(e.message.contains("read-only"), "{}", e.message);
    let fs = Ext2Vfs::mount_with(dev.clone(), Access::PreferReadWrite, None, "img").unwrap();
    assert!(fs.read_only());
    assert_eq!(fs.name(), "ext2");
    assert_eq!(fs.root().create(b"f", 0o644, 0, 0).err(), Some(Errno::EROFS));
    drop(fs);
    assert!(dev.contents() == data);
}

/// The bytes of `path` as a fresh mount of the device sees them (what the disk holds).
fn on_disk(dev: &Arc<MemBlockDevice>, path: &str) -> Vec<u8> {
    let copy: Arc<dyn BlockDevice> = Arc::new(MemBlockDevice::from_vec(dev.contents(), true));
    let fs = Ext2Vfs::mount(copy, true, None).unwrap();
    let Ok(ino) = fs.ext2().lookup(crate::ext2::ROOT_INO, path.trim_start_matches('/').as_bytes()) else { return Vec::new() };
    let size = fs.ext2().stat(ino).unwrap().size as usize;
    let mut v = vec![0u8; size];
    assert_eq!(fs.ext2().read(ino, 0, &mut v).unwrap(), size);
    v
}

#[test]
fn ext2vfs_file_data_lives_in_the_page_cache_until_written_back() {
    use mm::PageSource;
    for bs in [1024, 4096] {
        let dev = fresh_dev(bs);
        let t = T::on(dev.clone(), false);
        let data: Vec<u8> = (0..20000u32).map(|i| (i * 7 + i / 300) as u8).collect();
        let f = t.open("/f", OpenFlags::CREAT | OpenFlags::RDWR).unwrap();
        assert_eq!(f.write(&data).unwrap(), data.len());
        assert_eq!(t.read_file("/f").unwrap(), data, "read sees write at once");
        assert!(on_disk(&dev, "/f") != data, "the data waits in the page cache");
        f.fsync().unwrap();
        assert_eq!(on_disk(&dev, "/f"), data, "fsync writes it");
        // A shared mapping maps the cache's own frame: a store is read at once, and
        // reaches the disk with fsync.
        let pages = t.vfs.file_pages(&f, &t.fa).unwrap();
        pages.mark_shared_writable();
        let p1 = pages.page(1).unwrap();
        t.fa.phys().write(p1.offset() + 10, b"XYZ").unwrap();
        let mut buf = [0u8; 3];
        f.pread(&mut buf, 4096 + 10).unwrap();
        assert_eq!(&buf, b"XYZ");
        let mut data = data;
        data[4096 + 10..4096 + 13].copy_from_slice(b"XYZ");
        f.fsync().unwrap();
        assert_eq!(on_disk(&dev, "/f"), data, "fsync writes the mapping's store");
        t.fa.decref(p1);
        // Sparse write: the hole reads as zeros; truncate zeroes the tail of the last page.
        f.pwrite(b"end", 100_000).unwrap();
        let all = t.read_file("/f").unwrap();
        assert_eq!(all.len(), 100_003);
        assert!(all[20000..100_000].iter().all(|b| *b == 0));
        f.truncate(5000).unwrap();
        f.truncate(9000).unwrap();
        let all = t.read_file("/f").unwrap();
        assert_eq!(&all[..5000], &data[..5000]);
        assert!(all[5000..].iter().all(|b| *b == 0), "bytes past a truncation read as zeros");
        drop(pages);
        shutdown(&t.vfs).unwrap();
        let mut want = data[..5000].to_vec();
        want.resize(9000, 0);
        assert_eq!(on_disk(&dev, "/f"), want, "unmount writes the page cache back");
    }
}

#[test]
fn ext2vfs_page_cache_is_bounded_by_guest_ram() {
    // 1 MiB of guest RAM, 3 MiB of files: clean pages are evicted, dirty ones written first.
    let dev = fresh_dev(1024);
    let fs = Ext2Vfs::mount(dev.clone(), false, None).unwrap();
    let vfs = Vfs::with_root(fs, b"/dev/ubda", MountFlags::empty());
    vfs.page_cache().set_frames(frames(1 << 20));
    let fsc = FsContext::new(vfs.root());
    let cred = Credentials::root();
    let ctx = fsc.ctx(&cred);
    let chunk: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
    for name in ["/a", "/b", "/c"] {
        let f = vfs.open(&ctx, &fsc.cwd, name.as_bytes(), OpenFlags::CREAT | OpenFlags::WRONLY, 0o644).unwrap();
        for _ in 0..16 {
            assert_eq!(f.write(&chunk).unwrap(), chunk.len());
        }
    }
    for name in ["/a", "/b", "/c", "/a"] {
        let f = vfs.open(&ctx, &fsc.cwd, name.as_bytes(), OpenFlags::empty(), 0).unwrap();
        let mut buf = vec![0u8; 65536];
        for _ in 0..16 {
            assert_eq!(f.read(&mut buf).unwrap(), 65536);
            assert!(buf == chunk);
        }
    }
    assert!(vfs.page_cache().cached_pages() <= 256);
    // One read and one write as large as all of guest RAM go page chunk by chunk (room is
    // made on the 4 MiB disk first).
    vfs.unlink(&ctx, &fsc.cwd, b"/a").unwrap();
    vfs.unlink(&ctx, &fsc.cwd, b"/b").unwrap();
    let whole: Vec<u8> = chunk.iter().copied().cycle().take(1 << 20).collect();
    let f = vfs.open(&ctx, &fsc.cwd, b"/d", OpenFlags::CREAT | OpenFlags::RDWR, 0o644).unwrap();
    assert_eq!(f.write(&whole).unwrap(), whole.len());
    let mut back = vec![0u8; 1 << 20];
    assert_eq!(f.pread(&mut back, 0).unwrap(), back.len());
    assert!(back == whole);
    shutdown(&vfs).unwrap();
    assert!(on_disk(&dev, "/d") == whole);
    assert_eq!(on_disk(&dev, "/c").len(), 1 << 20);
    assert!(on_disk(&dev, "/c").chunks(65536).all(|c| c == &chunk[..]));
}
