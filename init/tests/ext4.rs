//! ext4 read-write (disks issue, part 1): images made by `mkfs.ext4` — with its defaults
//! (`extent 64bit flex_bg metadata_csum …`), with 1 KiB blocks, without `metadata_csum`
//! (`uninit_bg`), without `64bit`/`flex_bg` — are written by guests and then checked by
//! `e2fsck -fn` and `debugfs`. `tests/guest/extents.c` drives the extent trees (a file written
//! out of order into a tree of depth 2, truncation, punched holes, preallocation, a full disk)
//! against a model of the file; a busybox script changes an indexed (htree) directory made by
//! `mkfs -d`, with hard links, symlinks and renames.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// A tree with busybox, the extents program and a directory of 3000 files (indexed by mkfs).
fn tree() -> Option<&'static Path> {
    static TREE: OnceLock<Option<PathBuf>> = OnceLock::new();
    TREE.get_or_init(|| {
        let bb = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.exists())?;
        if !have_e2fsprogs() {
            return None;
        }
        let r = scratch(&format!("ext4-tree-{}", std::process::id()));
        for d in ["bin", "tmp", "dev", "proc", "big"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::copy(bb, r.join("bin/busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", r.join("bin/sh")).unwrap();
        build_c("extents", &r.join("bin/extents"), &[]);
        for i in 0..3000 {
            std::fs::write(r.join(format!("big/f{i}")), format!("{i}\n")).unwrap();
        }
        Some(r)
    })
    .as_deref()
}

fn image(name: &str, extra: &[&str]) -> Option<PathBuf> {
    let Some(t) = tree() else {
        eprintln!("SKIPPED: ext4 tests need a static busybox and e2fsprogs");
        return None;
    };
    let img = scratch(&format!("ext4-{name}-{}", std::process::id())).join("disk.img");
    mke2fs_from_dir(t, &img, "ext4", "96M", extra);
    Some(img)
}

fn sh(img: &Path, script: &str) -> String {
    let out = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/sh", "-c", script], Duration::from_secs(300));
    let (so, se) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "umbra failed: {:?}\nstdout:\n{so}\nstderr:\n{se}", out.status);
    so
}

fn debugfs(img: &Path, request: &str) -> String {
    let out = Command::new("debugfs").arg("-R").arg(request).arg(img).output().expect("running debugfs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SCRIPT: &str = "cd /big && for i in $(busybox seq 0 99); do busybox rm f$i; done && \
    for i in $(busybox seq 1 500); do echo new$i > n$i; done && busybox mv n7 renamed && \
    busybox ln f2000 hard && busybox ln -s /big/f2001 soft && busybox mkdir -p /a/b/c && \
    echo deep > /a/b/c/file && busybox ls /big | busybox wc -l && busybox cat /big/soft /big/hard /a/b/c/file && \
    /bin/extents / | busybox tail -1";

fn writes_stay_clean(name: &str, extra: &[&str]) {
    let Some(img) = image(name, extra) else { return };
    let out = sh(&img, SCRIPT);
    assert_eq!(out, "3402\n2001\n2000\ndeep\nextents ok\n", "guest output");
    assert_e2fsck_clean(&img);
    let ex = debugfs(&img, "ex /extents.dat");
    assert!(ex.contains(" 2/ 2 "), "the out-of-order file should have a tree of depth 2:\n{ex}");
    let st = debugfs(&img, "stat /a/b/c/file");
    assert!(st.contains("crtime:") && st.contains("Flags: 0x80000"), "a new file is extent-mapped with a creation time:\n{st}");
    assert_eq!(debugfs(&img, "cat /big/renamed"), "new7\n");
}

#[test]
fn mkfs_ext4_defaults_are_written_cleanly() {
    writes_stay_clean("defaults", &[]);
}

#[test]
fn ext4_with_1k_blocks_is_written_cleanly() {
    writes_stay_clean("1k", &["-b", "1024"]);
}

#[test]
fn ext4_without_metadata_csum_is_written_cleanly() {
    writes_stay_clean("uninit-bg", &["-O", "^metadata_csum"]);
}

#[test]
fn ext4_without_64bit_and_flex_bg_is_written_cleanly() {
    writes_stay_clean("plain", &["-O", "^64bit,^flex_bg"]);
}

/// Features umbra cannot write still mount read-only, with one line naming them.
#[test]
fn unknown_write_features_mount_read_only_with_one_line() {
    let Some(img) = image("inline", &["-O", "inline_data"]) else { return };
    let out = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/sh", "-c", "echo x > /f"], Duration::from_secs(60));
    let se = stderr(&out);
    assert!(se.contains("inline_data"), "stderr should name inline_data:\n{se}");
}
