//! Helpers shared by the ext2 tests: reference images from e2fsprogs, e2fsck, debugfs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use fs::block::{BlockDevice, FileBlockDevice};
use fs::ext2::Ext2Fs;

/// Whether mke2fs, e2fsck and debugfs can run; prints why a test is skipped otherwise.
pub fn have_e2fsprogs() -> bool {
    let ok = ["mke2fs", "e2fsck", "debugfs"].iter().all(|b| {
        Command::new(b).arg("-V").output().is_ok()
    });
    if !ok {
        eprintln!("SKIPPED: e2fsprogs (mke2fs, e2fsck, debugfs) not installed");
    }
    ok
}

/// Runs `mke2fs -q -F -t TYPE -b BS [-d DIR] [extra] IMG SIZE`.
pub fn mke2fs(img: &Path, fstype: &str, bs: u32, size: &str, dir: Option<&Path>, extra: &[&str]) {
    let mut c = Command::new("mke2fs");
    c.args(["-q", "-F", "-t", fstype, "-b", &bs.to_string()]);
    if let Some(d) = dir {
        c.arg("-d").arg(d);
    }
    c.args(extra).arg(img).arg(size);
    let out = c.output().expect("run mke2fs");
    assert!(out.status.success(), "mke2fs failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `e2fsck -fn IMG` and asserts a clean result (exit 0).
pub fn e2fsck_clean(img: &Path) {
    let out = Command::new("e2fsck").arg("-fn").arg(img).output().expect("run e2fsck");
    eprintln!("e2fsck -fn {}:\n{}", img.display(), String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "e2fsck -fn reported problems (exit {:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `debugfs -R 'cat PATH' IMG`.
pub fn debugfs_cat(img: &Path, path: &str) -> Vec<u8> {
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {path}"))
        .arg(img)
        .output()
        .expect("run debugfs");
    out.stdout
}

/// `debugfs -R CMD IMG` stdout.
pub fn debugfs(img: &Path, cmd: &str) -> String {
    let out = Command::new("debugfs").arg("-R").arg(cmd).arg(img).output().expect("run debugfs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Mounts an image file.
pub fn mount(img: &Path, ro: bool) -> Ext2Fs {
    let dev: Arc<dyn BlockDevice> = Arc::new(FileBlockDevice::open(img, ro).expect("open image"));
    Ext2Fs::mount(dev, ro).unwrap_or_else(|e| panic!("mount failed: {e}"))
}

/// Resolves an absolute path (no symlink following).
pub fn resolve(fs: &Ext2Fs, path: &str) -> fs::ext2::Ext2Result<u32> {
    let mut ino = fs.root_ino();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        ino = fs.lookup(ino, c.as_bytes())?;
    }
    Ok(ino)
}

/// Reads a whole file.
pub fn read_all(fs: &Ext2Fs, ino: u32) -> Vec<u8> {
    let size = fs.stat(ino).unwrap().size as usize;
    let mut buf = vec![0u8; size];
    let mut off = 0;
    while off < size {
        let n = fs.read(ino, off as u64, &mut buf[off..]).unwrap();
        assert!(n > 0);
        off += n;
    }
    buf
}

/// Names in a directory (without . and ..), sorted.
pub fn list(fs: &Ext2Fs, dir: u32) -> Vec<String> {
    let mut v = Vec::new();
    fs.readdir(dir, 0, &mut |n, _, _, _| {
        if n != b"." && n != b".." {
            v.push(String::from_utf8_lossy(n).into_owned());
        }
        true
    })
    .unwrap();
    v.sort();
    v
}

/// Deterministic test data.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A temp dir with an image path inside.
pub fn tmp_img() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("test.img");
    (d, p)
}
