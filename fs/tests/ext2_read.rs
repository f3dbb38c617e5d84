//! Reading images made by Debian's mke2fs (`-d` from a host tree): ext2 at 1K, 2K and 4K
//! blocks, revision 0, HTREE directories, and ext4 defaults.

mod ext2_util;

use std::os::unix::fs::symlink;
use std::path::Path;

use ext2_util::*;
use fs::ext2::{dt, Ext2Fs};

const SPARSE_SIZE: u64 = 5 * 1024 * 1024 * 1024 + 12345;

fn build_tree(root: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    std::fs::write(root.join("small.txt"), b"hello world\n").unwrap();
    std::fs::write(root.join("big.bin"), pattern(300 * 1024 + 17, 1)).unwrap();
    let mut f = std::fs::File::create(root.join("sparse")).unwrap();
    f.write_all(b"start").unwrap();
    f.seek(SeekFrom::Start(1 << 20)).unwrap();
    f.write_all(b"middle").unwrap();
    f.seek(SeekFrom::Start(SPARSE_SIZE - 3)).unwrap();
    f.write_all(b"end").unwrap();
    drop(f);
    symlink("small.txt", root.join("fast_link")).unwrap();
    let long = "a/".repeat(50) + "target";
    symlink(&long, root.join("slow_link")).unwrap();
    std::fs::write(root.join("hl1"), b"linked").unwrap();
    std::fs::hard_link(root.join("hl1"), root.join("hl2")).unwrap();
    std::fs::create_dir_all(root.join("d1/d2/d3")).unwrap();
    std::fs::write(root.join("d1/d2/d3/deep"), b"deep file").unwrap();
    std::fs::create_dir(root.join("many")).unwrap();
    for i in 0..400 {
        std::fs::write(root.join(format!("many/entry_with_a_longish_name_{i:04}")), format!("{i}")).unwrap();
    }
    let c = std::ffi::CString::new(root.join("fifo").to_str().unwrap()).unwrap();
    let _ = std::process::Command::new("mkfifo").arg(c.to_str().unwrap()).status();
    std::fs::set_permissions(root.join("small.txt"), std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
}

fn check_tree(fs: &Ext2Fs, sparse: bool) {
    let root = fs.root_ino();
    let names = list(fs, root);
    for n in ["small.txt", "big.bin", "fast_link", "slow_link", "hl1", "hl2", "d1", "many", "lost+found"] {
        assert!(names.contains(&n.to_string()), "missing {n} in {names:?}");
    }
    let small = resolve(fs, "/small.txt").unwrap();
    assert_eq!(read_all(fs, small), b"hello world\n");
    let st = fs.stat(small).unwrap();
    assert_eq!(st.mode, 0o100640);
    assert_eq!(st.nlink, 1);
    let big = resolve(fs, "/big.bin").unwrap();
    assert_eq!(read_all(fs, big), pattern(300 * 1024 + 17, 1));
    // Partial reads at odd offsets.
    let mut buf = vec![0u8; 5000];
    let n = fs.read(big, 100_000, &mut buf).unwrap();
    assert_eq!(n, 5000);
    assert_eq!(&buf[..], &pattern(300 * 1024 + 17, 1)[100_000..105_000]);
    assert_eq!(fs.read(big, 10 << 20, &mut buf).unwrap(), 0);

    if sparse {
        let sp = resolve(fs, "/sparse").unwrap();
        let st = fs.stat(sp).unwrap();
        assert_eq!(st.size, SPARSE_SIZE);
        assert!(st.blocks < 200, "sparse file uses {} sectors", st.blocks);
        let mut b = [0xFFu8; 16];
        fs.read(sp, 0, &mut b).unwrap();
        assert_eq!(&b[..5], b"start");
        assert!(b[5..].iter().all(|&x| x == 0));
        fs.read(sp, 1 << 20, &mut b[..6]).unwrap();
        assert_eq!(&b[..6], b"middle");
        let mut hole = vec![0xFFu8; 70000];
        fs.read(sp, 3 << 30, &mut hole).unwrap();
        assert!(hole.iter().all(|&x| x == 0));
        let n = fs.read(sp, SPARSE_SIZE - 3, &mut b).unwrap();
        assert_eq!(&b[..n], b"end");
    }

    let fl = resolve(fs, "/fast_link").unwrap();
    assert_eq!(fs.readlink(fl).unwrap(), b"small.txt");
    assert_eq!(fs.stat(fl).unwrap().mode & 0o170000, 0o120000);
    let sl = resolve(fs, "/slow_link").unwrap();
    assert_eq!(fs.readlink(sl).unwrap(), ("a/".repeat(50) + "target").as_bytes());
    assert_eq!(fs.readlink(small), Err(uapi::Errno::EINVAL));

    let h1 = resolve(fs, "/hl1").unwrap();
    let h2 = resolve(fs, "/hl2").unwrap();
    assert_eq!(h1, h2);
    assert_eq!(fs.stat(h1).unwrap().nlink, 2);

    let deep = resolve(fs, "/d1/d2/d3/deep").unwrap();
    assert_eq!(read_all(fs, deep), b"deep file");
    let d1 = resolve(fs, "/d1").unwrap();
    assert_eq!(fs.stat(d1).unwrap().nlink, 3);
    assert_eq!(fs.lookup(d1, b".."), Ok(root));
    assert_eq!(fs.stat(root).unwrap().mode & 0o170000, 0o040000);

    let many = resolve(fs, "/many").unwrap();
    let entries = list(fs, many);
    assert_eq!(entries.len(), 400);
    for i in (0..400).step_by(37) {
        let ino = fs.lookup(many, format!("entry_with_a_longish_name_{i:04}").as_bytes()).unwrap();
        assert_eq!(read_all(fs, ino), format!("{i}").as_bytes());
    }
    assert_eq!(fs.lookup(many, b"nope"), Err(uapi::Errno::ENOENT));
    assert_eq!(fs.lookup(small, b"x"), Err(uapi::Errno::ENOTDIR));
    assert_eq!(fs.read(many, 0, &mut buf), Err(uapi::Errno::EISDIR));

    // Resumable readdir: stop after every 7 entries and resume from the cookie.
    let mut seen = Vec::new();
    let mut pos = 0;
    loop {
        let mut k = 0;
        let mut last = None;
        fs.readdir(many, pos, &mut |n, _, t, next| {
            if k == 7 {
                return false;
            }
            k += 1;
            if n != b"." && n != b".." {
                assert!(t == dt::REG || t == dt::UNKNOWN, "type {t}");
                seen.push(n.to_vec());
            } else {
                assert!(t == dt::DIR || t == dt::UNKNOWN, "type {t}");
            }
            last = Some(next);
            true
        })
        .unwrap();
        match last {
            Some(p) => pos = p,
            None => break,
        }
    }
    assert_eq!(seen.len(), 400);

    if let Ok(fifo) = resolve(fs, "/fifo") {
        assert_eq!(fs.stat(fifo).unwrap().mode & 0o170000, 0o010000);
        let mut t = 0;
        fs.readdir(root, 0, &mut |n, _, ty, _| {
            if n == b"fifo" {
                t = ty;
            }
            true
        })
        .unwrap();
        assert!(t == dt::FIFO || t == dt::UNKNOWN);
    }
    let sf = fs.statfs();
    assert_eq!(sf.f_type, 0xEF53);
    assert_eq!(sf.namelen, 255);
    assert!(sf.bfree <= sf.blocks && sf.bavail <= sf.bfree);
}

fn roundtrip(fstype: &str, bs: u32, size: &str, extra: &[&str], sparse: bool) {
    if !have_e2fsprogs() {
        return;
    }
    let tree = tempfile::tempdir().unwrap();
    build_tree(tree.path());
    if !sparse {
        std::fs::remove_file(tree.path().join("sparse")).unwrap();
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, fstype, bs, size, Some(tree.path()), extra);
    let fs = mount(&img, true);
    check_tree(&fs, sparse);
    drop(fs);
    e2fsck_clean(&img);
}

#[test]
fn ext2_1k_blocks() {
    roundtrip("ext2", 1024, "16M", &[], true);
}

#[test]
fn ext2_2k_blocks() {
    roundtrip("ext2", 2048, "16M", &[], true);
}

#[test]
fn ext2_4k_blocks() {
    roundtrip("ext2", 4096, "16M", &[], true);
}

#[test]
fn ext2_revision_0() {
    // Revision 0 has no large_file and no file types in entries.
    roundtrip("ext2", 1024, "16M", &["-r", "0"], false);
}

#[test]
fn ext2_read_write_mount_of_mke2fs_image_stays_clean() {
    if !have_e2fsprogs() {
        return;
    }
    let tree = tempfile::tempdir().unwrap();
    build_tree(tree.path());
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext2", 1024, "16M", Some(tree.path()), &[]);
    let fs = mount(&img, false);
    check_tree(&fs, true);
    fs.unmount().unwrap();
    e2fsck_clean(&img);
}

#[test]
fn ext2_htree_directory_reads_linearly() {
    if !have_e2fsprogs() {
        return;
    }
    let tree = tempfile::tempdir().unwrap();
    build_tree(tree.path());
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext2", 1024, "16M", Some(tree.path()), &[]);
    // e2fsck -D builds HTREE indexes for multi-block directories.
    let st = std::process::Command::new("e2fsck").args(["-fyD"]).arg(&img).output().unwrap();
    assert!(st.status.code().unwrap_or(8) <= 1, "{}", String::from_utf8_lossy(&st.stdout));
    let out = debugfs(&img, "stat /many");
    assert!(out.contains("Indexed_directory") || out.contains("Flags: 0x1000"), "{out}");
    let fs = mount(&img, true);
    check_tree(&fs, true);
}

#[test]
fn ext2_ext4_default_image_reads() {
    if !have_e2fsprogs() {
        return;
    }
    let tree = tempfile::tempdir().unwrap();
    build_tree(tree.path());
    // A fragmented file: 10 data runs separated by holes needs an extent tree of depth 1.
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(tree.path().join("fragmented")).unwrap();
        for i in 0..10u64 {
            f.seek(SeekFrom::Start(i * 65536)).unwrap();
            f.write_all(&pattern(5000, i as u32)).unwrap();
        }
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext4", 4096, "64M", Some(tree.path()), &[]);
    let out = debugfs(&img, "stats");
    assert!(out.contains("metadata_csum") && out.contains("64bit") && out.contains("extent"), "{out}");
    let fs = mount(&img, true);
    assert_eq!(fs.fs_type(), "ext4");
    check_tree(&fs, true);
    let fr = resolve(&fs, "/fragmented").unwrap();
    let data = read_all(&fs, fr);
    for i in 0..10usize {
        assert_eq!(&data[i * 65536..i * 65536 + 5000], &pattern(5000, i as u32)[..]);
        if i < 9 {
            assert!(data[i * 65536 + 5000..(i + 1) * 65536].iter().all(|&b| b == 0));
        }
    }
    let ex = debugfs(&img, "ex /fragmented");
    assert!(ex.lines().any(|l| l.trim_start().starts_with("0/ 1")), "extent tree not deep:\n{ex}");
    // mkfs.ext4's defaults mount read-write too (tests/ext2_write.rs and init/tests/ext4.rs
    // write them); a feature outside the write set (quota) still refuses, naming it.
    let dev: std::sync::Arc<dyn fs::block::BlockDevice> =
        std::sync::Arc::new(fs::block::FileBlockDevice::open(&img, false).unwrap());
    assert!(Ext2Fs::mount(dev, false).is_ok());
    let (_d2, img2) = tmp_img();
    mke2fs(&img2, "ext4", 4096, "16M", None, &["-O", "quota"]);
    let dev: std::sync::Arc<dyn fs::block::BlockDevice> =
        std::sync::Arc::new(fs::block::FileBlockDevice::open(&img2, false).unwrap());
    let e = Ext2Fs::mount(dev, false).err().unwrap();
    assert_eq!(e.errno, uapi::Errno::EROFS);
    assert!(e.message.contains("quota"), "{}", e.message);
}
