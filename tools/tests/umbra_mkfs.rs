//! `umbra-mkfs` end to end: images from a host tree pass `e2fsck -fn` and hold the tree.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use fs::block::{BlockDevice, FileBlockDevice};
use fs::ext2::Ext2Fs;

fn have_e2fsprogs() -> bool {
    let ok = Command::new("e2fsck").arg("-V").output().is_ok() && Command::new("debugfs").arg("-V").output().is_ok();
    if !ok {
        eprintln!("SKIPPED: e2fsprogs not installed");
    }
    ok
}

fn mkfs(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_umbra-mkfs")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("dev")).unwrap();
    std::fs::create_dir_all(root.join("lost+found")).unwrap();
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/shadow"), "root::0:0:99999:7:::\n").unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(root.join("bin/busybox"), &big).unwrap();
    std::fs::set_permissions(root.join("bin/busybox"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::hard_link(root.join("bin/busybox"), root.join("bin/sh")).unwrap();
    symlink("busybox", root.join("bin/ls")).unwrap();
    symlink("x".repeat(200), root.join("bin/long")).unwrap();
    let mut sparse = vec![0u8; 1 << 20];
    sparse[..5].copy_from_slice(b"begin");
    std::fs::write(root.join("sparse"), &sparse).unwrap();
}

#[test]
fn builds_a_clean_image_from_a_tree() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("root");
    tree(&src);
    let table = t.path().join("devices");
    std::fs::write(
        &table,
        "# name type mode uid gid major minor start inc count\n\
         /dev/console c 600 0 0 5 1 - - -\n\
         /dev/null c 666 0 0 1 3 - - -\n\
         /dev/tty c 666 0 5 4 0 0 1 3\n\
         /dev/sda b 660 0 6 8 0 - - -\n\
         /etc/shadow f 600 0 42 - - - - -\n\
         /home d 755 1000 1000 - - - - -\n\
         /run/fifo p 644 0 0 - - - - -\n",
    )
    .unwrap();
    std::fs::create_dir(src.join("run")).unwrap();
    let img = t.path().join("out.img");
    let (ok, e) = mkfs(&["--from", src.to_str().unwrap(), "--size", "16M", "-D", table.to_str().unwrap(), img.to_str().unwrap()]);
    assert!(ok, "{e}");
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 16 << 20);
    if have_e2fsprogs() {
        let out = Command::new("e2fsck").arg("-fn").arg(&img).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        let cat = Command::new("debugfs").arg("-R").arg("cat /etc/passwd").arg(&img).output().unwrap();
        assert_eq!(cat.stdout, b"root:x:0:0:root:/root:/bin/sh\n");
    }
    let dev: Arc<dyn BlockDevice> = Arc::new(FileBlockDevice::open(&img, true).unwrap());
    let fs = Ext2Fs::mount(dev, true).unwrap();
    let look = |p: &str| {
        let mut ino = fs.root_ino();
        for c in p.split('/').filter(|c| !c.is_empty()) {
            ino = fs.lookup(ino, c.as_bytes()).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
        ino
    };
    let bb = look("/bin/busybox");
    assert_eq!(look("/bin/sh"), bb);
    let st = fs.stat(bb).unwrap();
    assert_eq!(st.nlink, 2);
    assert_eq!(st.mode, 0o100755);
    assert_eq!((st.uid, st.gid), (0, 0));
    assert_eq!(st.size, 3_000_000);
    let mut buf = vec![0u8; 3_000_000];
    assert_eq!(fs.read(bb, 0, &mut buf).unwrap(), 3_000_000);
    assert!(buf.iter().enumerate().all(|(i, &b)| b == (i as u32 * 7 % 251) as u8));
    assert_eq!(fs.readlink(look("/bin/ls")).unwrap(), b"busybox");
    assert_eq!(fs.readlink(look("/bin/long")).unwrap(), "x".repeat(200).as_bytes());
    let sp = fs.stat(look("/sparse")).unwrap();
    assert_eq!(sp.size, 1 << 20);
    assert!(sp.blocks <= 16, "sparse file not sparse: {}", sp.blocks);
    let con = fs.stat(look("/dev/console")).unwrap();
    assert_eq!(con.mode, 0o020600);
    assert_eq!(con.rdev, (5 << 8) | 1);
    let tty2 = fs.stat(look("/dev/tty2")).unwrap();
    assert_eq!(tty2.rdev, (4 << 8) | 2);
    assert_eq!(tty2.gid, 5);
    assert_eq!(fs.stat(look("/dev/sda")).unwrap().mode, 0o060660);
    let sh = fs.stat(look("/etc/shadow")).unwrap();
    assert_eq!((sh.mode, sh.gid), (0o100600, 42));
    let home = fs.stat(look("/home")).unwrap();
    assert_eq!((home.mode, home.uid), (0o040755, 1000));
    assert_eq!(fs.stat(look("/run/fifo")).unwrap().mode, 0o010644);
}

#[test]
fn errors_are_one_clear_line() {
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("x.img");
    let (ok, e) = mkfs(&["--from", "/nonexistent/dir", "--size", "8M", img.to_str().unwrap()]);
    assert!(!ok);
    assert!(e.starts_with("umbra-mkfs: /nonexistent/dir:"), "{e}");
    let src = t.path().join("root");
    tree(&src);
    let (ok, e) = mkfs(&["--from", src.to_str().unwrap(), "--size", "1M", img.to_str().unwrap()]);
    assert!(!ok);
    assert!(e.contains("image too small: need at least"), "{e}");
    // The size it asks for works.
    let need = e.trim().rsplit(' ').next().unwrap().to_string();
    let (ok, e) = mkfs(&["--from", src.to_str().unwrap(), "--size", &need, img.to_str().unwrap()]);
    assert!(ok, "{need}: {e}");
    if have_e2fsprogs() {
        let out = Command::new("e2fsck").arg("-fn").arg(&img).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
    let (ok, e) = mkfs(&["--size", "bogus", img.to_str().unwrap()]);
    assert!(!ok && e.contains("bad size"), "{e}");
    let (ok, _) = mkfs(&["--size", "4M", img.to_str().unwrap()]);
    assert!(ok);
}
