//! Writing ext2: every operation, then unmount, `e2fsck -fn` clean and `debugfs` showing the
//! data; ENOSPC on a full disk leaves a clean image; `format` makes images e2fsck accepts.

mod ext2_util;

use std::sync::Arc;

use ext2_util::*;
use fs::block::{BlockDevice, FileBlockDevice, MemBlockDevice};
use fs::ext2::mkfs::{format, FormatOptions};
use fs::ext2::{Ext2Fs, SetAttr, Timespec, RENAME_EXCHANGE, RENAME_NOREPLACE};
use uapi::Errno;

const REG: u32 = 0o100000;

fn workload(fs: &Ext2Fs, bs: u32) -> Vec<(String, Vec<u8>)> {
    let root = fs.root_ino();
    let mut expect = Vec::new();
    // Regular file crossing into double-indirect blocks.
    let big = pattern(if bs == 1024 { 400 * 1024 + 3 } else { 4200 * 1024 + 3 }, 7);
    let f = fs.create(root, b"big", REG | 0o644, 1000, 1000, 0).unwrap();
    let mut off = 0;
    for chunk in big.chunks(70001) {
        assert_eq!(fs.write(f, off, chunk).unwrap(), chunk.len());
        off += chunk.len() as u64;
    }
    assert_eq!(read_all(fs, f), big);

    // Overwrite in the middle, sparse extension.
    let s = fs.create(root, b"sparse", REG | 0o600, 0, 0, 0).unwrap();
    fs.write(s, 0, b"head").unwrap();
    fs.write(s, 3 << 20, b"tail").unwrap();
    let st = fs.stat(s).unwrap();
    assert_eq!(st.size, (3 << 20) + 4);
    assert!(st.blocks <= 8 * (bs as u64 / 512), "{}", st.blocks);
    let mut sp = vec![0u8; (3 << 20) + 4];
    sp[..4].copy_from_slice(b"head");
    sp[3 << 20..].copy_from_slice(b"tail");
    expect.push(("/sparse".to_string(), sp));

    // Truncate: shrink to an odd size, then grow again (the tail must read as zeros).
    let t = fs.create(root, b"trunc", REG | 0o644, 0, 0, 0).unwrap();
    let data = pattern(100_000, 3);
    fs.write(t, 0, &data).unwrap();
    fs.truncate(t, 5000).unwrap();
    fs.truncate(t, 20000).unwrap();
    let mut want = data[..5000].to_vec();
    want.resize(20000, 0);
    assert_eq!(read_all(fs, t), want);
    expect.push(("/trunc".to_string(), want));
    let t0 = fs.create(root, b"trunc0", REG | 0o644, 0, 0, 0).unwrap();
    fs.write(t0, 0, &big).unwrap();
    fs.set_attr(t0, &SetAttr { size: Some(0), ..Default::default() }).unwrap();
    assert_eq!(fs.stat(t0).unwrap().blocks, 0);

    // fallocate: zeroed blocks, size grown unless KEEP_SIZE.
    let fa = fs.create(root, b"falloc", REG | 0o644, 0, 0, 0).unwrap();
    fs.fallocate(fa, 0, 0, 100_000).unwrap();
    assert_eq!(fs.stat(fa).unwrap().size, 100_000);
    let st = fs.stat(fa).unwrap();
    assert!(st.blocks >= 100_000 / 512);
    assert_eq!(fs.fallocate(fa, 1, 100_000, 50_000), Err(Errno::EOPNOTSUPP));
    assert_eq!(fs.fallocate(fa, 2, 0, 10), Err(Errno::EOPNOTSUPP));
    fs.write(fa, 99_999, b"!").unwrap();
    let mut want = vec![0u8; 100_000];
    want[99_999] = b'!';
    assert_eq!(read_all(fs, fa), want);
    expect.push(("/falloc".to_string(), want));

    // Directories.
    let d = fs.mkdir(root, b"dir", 0o755, 0, 0).unwrap();
    assert_eq!(fs.stat(root).unwrap().nlink, 4);
    let sub = fs.mkdir(d, b"sub", 0o700, 5, 6).unwrap();
    assert_eq!(fs.stat(d).unwrap().nlink, 3);
    assert_eq!(fs.lookup(sub, b".."), Ok(d));
    assert_eq!(fs.mkdir(d, b"sub", 0o700, 0, 0), Err(Errno::EEXIST));
    let inner = fs.create(sub, b"inner", REG | 0o644, 0, 0, 0).unwrap();
    fs.write(inner, 0, b"inner data").unwrap();
    assert_eq!(fs.rmdir(d, b"sub"), Err(Errno::ENOTEMPTY));
    assert_eq!(fs.rmdir(root, b"big"), Err(Errno::ENOTDIR));
    assert_eq!(fs.unlink(root, b"dir"), Err(Errno::EISDIR));
    let gone = fs.mkdir(d, b"gone", 0o755, 0, 0).unwrap();
    let u = fs.rmdir(d, b"gone").unwrap();
    assert_eq!(u.ino, gone);
    assert!(u.orphaned);
    fs.evict(gone).unwrap();
    assert_eq!(fs.lookup(d, b"gone"), Err(Errno::ENOENT));

    // Many entries: the directory grows past one block; then delete half.
    for i in 0..300 {
        let n = format!("file_number_{i:05}");
        let ino = fs.create(d, n.as_bytes(), REG | 0o644, 0, 0, 0).unwrap();
        fs.write(ino, 0, n.as_bytes()).unwrap();
    }
    for i in (0..300).step_by(2) {
        let u = fs.unlink(d, format!("file_number_{i:05}").as_bytes()).unwrap();
        assert!(u.orphaned);
        fs.evict(u.ino).unwrap();
    }
    assert_eq!(list(fs, d).len(), 150 + 1);
    expect.push(("/dir/file_number_00299".to_string(), b"file_number_00299".to_vec()));

    // Hard links.
    fs.link(f, d, b"big_link").unwrap();
    assert_eq!(fs.stat(f).unwrap().nlink, 2);
    assert_eq!(fs.link(d, root, b"dirlink"), Err(Errno::EPERM));
    let u = fs.unlink(root, b"big").unwrap();
    assert!(!u.orphaned);
    expect.push(("/dir/big_link".to_string(), big.clone()));

    // Symlinks.
    let fast = fs.symlink(root, b"fast", b"dir/big_link", 0, 0).unwrap();
    assert_eq!(fs.readlink(fast).unwrap(), b"dir/big_link");
    let long = "x".repeat(300);
    let slow = fs.symlink(root, b"slow", long.as_bytes(), 0, 0).unwrap();
    assert_eq!(fs.readlink(slow).unwrap(), long.as_bytes());
    assert!(fs.stat(slow).unwrap().blocks > 0);
    assert_eq!(fs.symlink(root, b"toolong", &vec![b'y'; bs as usize], 0, 0), Err(Errno::ENAMETOOLONG));

    // Devices, FIFO, socket.
    let rdev = (8u64 << 8) | 1;
    let c = fs.create(root, b"chr", 0o020000 | 0o600, 0, 0, (5 << 8) | 1).unwrap();
    let b = fs.create(root, b"blk", 0o060000 | 0o660, 0, 6, rdev).unwrap();
    let big_dev = (0x1234u64 & 0xff) | ((300u64 & 0xfff) << 8) | ((0x1234u64 & !0xff) << 12);
    let c2 = fs.create(root, b"chr2", 0o020000 | 0o600, 0, 0, big_dev).unwrap();
    fs.create(root, b"fifo", 0o010000 | 0o644, 0, 0, 0).unwrap();
    fs.create(root, b"sock", 0o140000 | 0o755, 0, 0, 0).unwrap();
    assert_eq!(fs.stat(c).unwrap().rdev, (5 << 8) | 1);
    assert_eq!(fs.stat(b).unwrap().rdev, rdev);
    assert_eq!(fs.stat(c2).unwrap().rdev, big_dev);

    // chmod/chown/utimens.
    let ts = Timespec { sec: 1_600_000_000, nsec: 123_456_789 };
    fs.set_attr(t, &SetAttr { mode: Some(0o4711), uid: Some(70000), gid: Some(80000), mtime: Some(ts), atime: Some(ts), ..Default::default() }).unwrap();
    let st = fs.stat(t).unwrap();
    assert_eq!(st.mode, REG | 0o4711);
    assert_eq!((st.uid, st.gid), (70000, 80000));
    assert_eq!(st.mtime.sec, ts.sec);

    // Rename: plain, over a file, across directories, a directory across parents,
    // over an empty directory, NOREPLACE and EXCHANGE.
    let a = fs.create(root, b"a", REG | 0o644, 0, 0, 0).unwrap();
    fs.write(a, 0, b"AAA").unwrap();
    let bb = fs.create(root, b"b", REG | 0o644, 0, 0, 0).unwrap();
    fs.write(bb, 0, b"BBB").unwrap();
    assert_eq!(fs.rename(root, b"a", root, b"b", RENAME_NOREPLACE), Err(Errno::EEXIST));
    fs.rename(root, b"a", root, b"b", RENAME_EXCHANGE).unwrap();
    assert_eq!(fs.lookup(root, b"b"), Ok(a));
    let r = fs.rename(root, b"b", root, b"a", 0).unwrap().unwrap();
    assert_eq!(r.ino, bb);
    assert!(r.orphaned);
    fs.evict(bb).unwrap();
    fs.rename(root, b"a", d, b"a_moved", 0).unwrap();
    expect.push(("/dir/a_moved".to_string(), b"AAA".to_vec()));
    let m1 = fs.mkdir(root, b"mv", 0o755, 0, 0).unwrap();
    let root_links = fs.stat(root).unwrap().nlink;
    let d_links = fs.stat(d).unwrap().nlink;
    fs.rename(root, b"mv", d, b"mv", 0).unwrap();
    assert_eq!(fs.lookup(m1, b".."), Ok(d));
    assert_eq!(fs.stat(root).unwrap().nlink, root_links - 1);
    assert_eq!(fs.stat(d).unwrap().nlink, d_links + 1);
    assert_eq!(fs.rename(root, b"dir", sub, b"x", 0), Err(Errno::EINVAL));
    let empty = fs.mkdir(root, b"empty", 0o755, 0, 0).unwrap();
    assert_eq!(fs.rename(d, b"mv", root, b"trunc", 0), Err(Errno::ENOTDIR));
    assert_eq!(fs.rename(root, b"trunc", root, b"empty", 0), Err(Errno::EISDIR));
    assert_eq!(fs.rename(root, b"empty", d, b"sub", 0), Err(Errno::ENOTEMPTY));
    let r = fs.rename(d, b"mv", root, b"empty", 0).unwrap().unwrap();
    assert_eq!(r.ino, empty);
    fs.evict(empty).unwrap();
    assert_eq!(fs.lookup(m1, b".."), Ok(root));
    // Exchange a directory and a file across parents.
    fs.rename(root, b"empty", d, b"a_moved", RENAME_EXCHANGE).unwrap();
    assert_eq!(fs.lookup(m1, b".."), Ok(d));
    fs.rename(root, b"empty", d, b"a_moved", RENAME_EXCHANGE).unwrap();
    assert_eq!(fs.lookup(m1, b".."), Ok(root));
    expect.push(("/empty/../dir/a_moved".replace("/empty/..", ""), b"AAA".to_vec()));

    // Open-but-unlinked: data readable until evicted.
    let o = fs.create(root, b"open", REG | 0o644, 0, 0, 0).unwrap();
    fs.write(o, 0, &pattern(50_000, 9)).unwrap();
    let u = fs.unlink(root, b"open").unwrap();
    assert!(u.orphaned);
    assert_eq!(read_all(fs, o), pattern(50_000, 9));
    // (left for unmount to free)

    // Errors.
    assert_eq!(fs.create(root, &[b'n'; 256], REG, 0, 0, 0), Err(Errno::ENAMETOOLONG));
    assert_eq!(fs.create(root, b"trunc", REG, 0, 0, 0), Err(Errno::EEXIST));
    assert_eq!(fs.create(t, b"x", REG, 0, 0, 0), Err(Errno::ENOTDIR));
    assert_eq!(fs.unlink(root, b"nothere"), Err(Errno::ENOENT));
    assert_eq!(fs.write(d, 0, b"x"), Err(Errno::EISDIR));
    expect
}

fn write_roundtrip(bs: u32) {
    if !have_e2fsprogs() {
        return;
    }
    let tree = tempfile::tempdir().unwrap();
    std::fs::write(tree.path().join("pre"), b"existing").unwrap();
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext2", bs, "32M", Some(tree.path()), &[]);
    let fs = mount(&img, false);
    let expect = workload(&fs, bs);
    fs.unmount().unwrap();
    drop(fs);
    e2fsck_clean(&img);
    for (path, data) in expect {
        assert!(debugfs_cat(&img, &path) == data, "debugfs cat {path} differs");
    }
    // Mount again and check it reads back.
    let fs = mount(&img, true);
    assert_eq!(read_all(&fs, resolve(&fs, "/pre").unwrap()), b"existing");
    assert_eq!(resolve(&fs, "/open"), Err(Errno::ENOENT));
}

#[test]
fn ext2_write_ext2_1k() {
    write_roundtrip(1024);
}

#[test]
fn ext2_write_ext2_4k() {
    write_roundtrip(4096);
}

#[test]
fn ext2_write_ext2_2k() {
    write_roundtrip(2048);
}

#[test]
fn ext2_write_to_htree_dir_clears_index() {
    if !have_e2fsprogs() {
        return;
    }
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir(tree.path().join("many")).unwrap();
    for i in 0..300 {
        std::fs::write(tree.path().join(format!("many/some_file_name_{i:04}")), b"x").unwrap();
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext2", 1024, "16M", Some(tree.path()), &[]);
    let st = std::process::Command::new("e2fsck").args(["-fyD"]).arg(&img).output().unwrap();
    assert!(st.status.code().unwrap_or(8) <= 1);
    let fs = mount(&img, false);
    let many = resolve(&fs, "/many").unwrap();
    for i in 0..300 {
        let u = fs.unlink(many, format!("some_file_name_{i:04}").as_bytes()).unwrap();
        fs.evict(u.ino).unwrap();
        if i % 3 == 0 {
            fs.create(many, format!("new_{i}").as_bytes(), REG | 0o644, 0, 0, 0).unwrap();
        }
    }
    assert_eq!(list(&fs, many).len(), 100);
    fs.unmount().unwrap();
    drop(fs);
    e2fsck_clean(&img);
}

#[test]
fn ext2_enospc_leaves_clean_image() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext2", 1024, "2M", None, &[]);
    let fs = mount(&img, false);
    let root = fs.root_ino();
    let chunk = pattern(64 * 1024, 1);
    let mut hit = false;
    for i in 0..100 {
        let f = match fs.create(root, format!("f{i}").as_bytes(), REG | 0o644, 0, 0, 0) {
            Ok(f) => f,
            Err(Errno::ENOSPC) => {
                hit = true;
                break;
            }
            Err(e) => panic!("{e}"),
        };
        // Files of up to 256 KiB, so several files fill the disk.
        for k in 0..4u64 {
            match fs.write(f, k * chunk.len() as u64, &chunk) {
                Ok(n) if n == chunk.len() => {}
                Ok(_) | Err(Errno::ENOSPC) => hit = true,
                Err(e) => panic!("{e}"),
            }
            if hit {
                break;
            }
        }
        if hit {
            break;
        }
    }
    assert!(hit);
    assert_eq!(fs.statfs().bfree, 0);
    assert!(matches!(fs.mkdir(root, b"d", 0o755, 0, 0), Err(Errno::ENOSPC)));
    if let Ok(f) = fs.lookup(root, b"f0") {
        let size = fs.stat(f).unwrap().size;
        assert_eq!(fs.fallocate(f, 0, size, 1 << 20), Err(Errno::ENOSPC));
        assert_eq!(fs.stat(f).unwrap().size, size);
    }
    // Inode exhaustion too.
    let mut n = 0;
    loop {
        match fs.create(root, format!("empty{n}").as_bytes(), REG | 0o644, 0, 0, 0) {
            Ok(_) => n += 1,
            Err(Errno::ENOSPC) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(n < 100_000);
    }
    fs.unmount().unwrap();
    drop(fs);
    e2fsck_clean(&img);
    // Deleting frees space again.
    let fs = mount(&img, false);
    let u = fs.unlink(root, b"f0").unwrap();
    fs.evict(u.ino).unwrap();
    assert!(fs.statfs().bfree > 0);
    fs.unmount().unwrap();
    drop(fs);
    e2fsck_clean(&img);
}

#[test]
fn ext2_read_only_mount_refuses_writes() {
    let dev = Arc::new(MemBlockDevice::new(4 << 20));
    format(dev.clone(), &FormatOptions { block_size: 1024, ..Default::default() }).unwrap();
    let fs = Ext2Fs::mount(dev.clone(), true).unwrap();
    let root = fs.root_ino();
    assert_eq!(fs.create(root, b"x", REG, 0, 0, 0), Err(Errno::EROFS));
    assert_eq!(fs.mkdir(root, b"x", 0o755, 0, 0), Err(Errno::EROFS));
    assert!(fs.lookup(root, b"lost+found").is_ok());
}

#[test]
fn ext2_format_makes_clean_images() {
    for (bs, size, isz) in [(1024u32, 8u64 << 20, 256u32), (2048, 20 << 20, 128), (4096, 300 << 20, 256), (1024, 70 << 20, 128)] {
        let (_d, img) = tmp_img();
        let f = std::fs::File::create(&img).unwrap();
        f.set_len(size).unwrap();
        drop(f);
        let dev: Arc<dyn BlockDevice> = Arc::new(FileBlockDevice::open(&img, false).unwrap());
        format(dev.clone(), &FormatOptions { block_size: bs, inode_size: isz, label: b"umbra".to_vec(), ..Default::default() }).unwrap();
        let fs = Ext2Fs::mount(dev, false).unwrap();
        assert_eq!(fs.label(), b"umbra");
        let root = fs.root_ino();
        let lpf = fs.lookup(root, b"lost+found").unwrap();
        assert_eq!(lpf, 11);
        assert!(fs.stat(lpf).unwrap().size >= 12 * 1024);
        let d = fs.mkdir(root, b"etc", 0o755, 0, 0).unwrap();
        let f = fs.create(d, b"passwd", REG | 0o644, 0, 0, 0).unwrap();
        fs.write(f, 0, b"root:x:0:0:root:/root:/bin/sh\n").unwrap();
        fs.unmount().unwrap();
        drop(fs);
        if have_e2fsprogs() {
            e2fsck_clean(&img);
            assert_eq!(debugfs_cat(&img, "/etc/passwd"), b"root:x:0:0:root:/root:/bin/sh\n");
        }
    }
}

#[test]
fn ext2_large_file_past_4g() {
    let dev = Arc::new(MemBlockDevice::new(8 << 20));
    format(dev.clone(), &FormatOptions { block_size: 4096, ..Default::default() }).unwrap();
    let fs = Ext2Fs::mount(dev.clone(), false).unwrap();
    let root = fs.root_ino();
    let f = fs.create(root, b"huge", REG | 0o644, 0, 0, 0).unwrap();
    let off = (5u64 << 30) + 77;
    fs.write(f, off, b"far away").unwrap();
    assert_eq!(fs.stat(f).unwrap().size, off + 8);
    let mut b = [0u8; 8];
    fs.read(f, off, &mut b).unwrap();
    assert_eq!(&b, b"far away");
    assert_eq!(fs.write(f, 1u64 << 50, b"x"), Err(Errno::EFBIG));
    fs.unmount().unwrap();
    drop(fs);
    let fs = Ext2Fs::mount(dev, true).unwrap();
    assert_eq!(fs.stat(f).unwrap().size, off + 8);
}
