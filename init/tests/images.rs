//! End-to-end tests of `umbra run --root IMAGE`: ext2 images made by e2fsprogs' `mke2fs -d`
//! and by `umbra-mkfs` (`tools::mkfs::build_image`), an ext4 image (read-only), `--ro`, bad
//! images, and durability of `fsync`ed data across a SIGKILL. After every writing run the image
//! must pass `e2fsck -fn` and hold the data as `debugfs` reads it on the host; the guest's
//! results are compared with the same program run natively (Linux is the oracle).
//!
//! Tests that need e2fsprogs print `SKIPPED: ...` and pass when it is missing. Until the kernel
//! implements every file syscall fileops uses, the comparisons that need them print
//! `SKIPPED: ...` naming the syscalls umbra reported as unimplemented.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const KEEP: &[u8] = b"kept for debugfs\n";

/// The tree every image is made from: the guest programs in /bin, the mount points, /work (a
/// writable directory on the image) and /ro/fo/keep.txt (read by the read-only tests).
fn image_tree() -> &'static Path {
    static TREE: OnceLock<PathBuf> = OnceLock::new();
    TREE.get_or_init(|| {
        let r = scratch(&format!("images-tree-{}", std::process::id()));
        for d in ["bin", "dev", "proc", "tmp", "work", "ro/fo", "root"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        for p in ["hello", "fileops", "shmio"] {
            build_c(p, &r.join("bin").join(p), &[]);
        }
        std::fs::write(r.join("ro/fo/keep.txt"), KEEP).unwrap();
        r
    })
}

/// A fresh image path in this test's scratch directory.
fn image_path(test: &str) -> PathBuf {
    scratch(&format!("images-{test}-{}", std::process::id())).join("disk.img")
}

/// An ext2 image with 1 KiB blocks made by `mke2fs -d` from the image tree.
fn mke2fs_ext2(test: &str) -> PathBuf {
    let img = image_path(test);
    mke2fs_from_dir(image_tree(), &img, "ext2", "16M", &["-b", "1024"]);
    img
}

/// An image made by umbra's own mkfs library (`umbra-mkfs --from TREE --size 32M`).
fn umbra_mkfs(test: &str) -> PathBuf {
    let img = image_path(test);
    tools::mkfs::build_image(image_tree(), 32 << 20, &img, None).unwrap();
    img
}

fn umbra_on(img: &Path, extra: &[&str], prog: &[&str]) -> Output {
    let mut args = vec!["run", "--root", img.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(prog);
    run_umbra(&args, TIMEOUT)
}

/// Runs fileops in /work on `img`, then checks the image with e2fsck and debugfs, and the
/// output against a native run in a host directory.
fn fileops_on(img: &Path, label: &str) {
    let o = umbra_on(img, &[], &["/bin/fileops", "/work"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_unmounted_clean(img);
    assert_e2fsck_clean(img);
    let missing = unimplemented_syscalls(&o);
    if !missing.is_empty() {
        eprintln!("SKIPPED: fileops comparison on {label}: the kernel lacks syscalls {missing:?}");
        return;
    }
    let native_dir = scratch(&format!("images-native-{label}-{}", std::process::id()));
    let native = run_native(&image_tree().join("bin/fileops"), &[native_dir.to_str().unwrap()]);
    assert_eq!(stdout(&o), stdout(&native), "guest (left) and Linux (right) differ; stderr: {}", stderr(&o));
    assert!(stdout(&o).ends_with("done\n"));
    assert_eq!(debugfs_cat(img, "/work/fo/keep.txt"), KEEP);
    assert_eq!(debugfs_cat(img, "/work/fo/dir/nested.txt"), b"nested data\n");
    assert_eq!(debugfs_cat(img, "/work/fo/y"), b"from x");
    assert_eq!(debugfs_cat(img, "/work/fo/b.txt"), b"hello");
    assert_eq!(debugfs_cat(img, "/work/fo/tail.txt"), b"written back at exit\n");
}

/// Asserts the superblock says "clean" (`s_state` = `EXT2_VALID_FS`, no errors): umbra
/// unmounted the image at exit.
fn assert_unmounted_clean(img: &Path) {
    let bytes = std::fs::read(img).unwrap();
    let state = u16::from_le_bytes([bytes[1024 + 58], bytes[1024 + 59]]);
    assert_eq!(state, 1, "s_state of {} after the run", img.display());
}

/// Asserts each `ro ...` line of `fileops --ro` reports EROFS (or ENOSYS for a syscall the
/// kernel reported unimplemented) and that the existing file is still readable.
fn assert_read_only_results(o: &Output) {
    let out = stdout(o);
    let missing = unimplemented_syscalls(o);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("ro ")).collect();
    assert_eq!(lines.len(), 7, "{out}\nstderr: {}", stderr(o));
    for l in lines {
        if l.ends_with(": ENOSYS") && !missing.is_empty() {
            eprintln!("SKIPPED: {l} (the kernel lacks {missing:?})");
            continue;
        }
        assert!(l.ends_with(": EROFS"), "{l}\n{out}");
    }
    assert!(out.contains("read fo/keep.txt 17: [kept for debugfs\n]"), "{out}");
}

#[test]
fn mke2fs_image_runs_a_program_and_stays_clean() {
    if !have_e2fsprogs() {
        return;
    }
    let img = mke2fs_ext2("hello");
    let o = umbra_on(&img, &[], &["/bin/hello"]);
    assert_eq!(stdout(&o), "hello from the guest\n", "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stderr(&o), "", "umbra is quiet on a successful run");
    assert_unmounted_clean(&img);
    assert_e2fsck_clean(&img);
}

#[test]
fn fileops_on_mke2fs_image_matches_linux() {
    if !have_e2fsprogs() {
        return;
    }
    fileops_on(&mke2fs_ext2("fileops-mke2fs"), "mke2fs");
}

/// I/O whose buffer is a `MAP_SHARED` mapping of the same file (overlapping ranges) on ext2
/// ends as on Linux, and the image stays clean.
#[test]
fn io_through_own_shared_mapping_on_ext2_matches_linux() {
    if !have_e2fsprogs() {
        return;
    }
    let img = mke2fs_ext2("shmio");
    let o = umbra_on(&img, &[], &["/bin/shmio", "/work"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_unmounted_clean(&img);
    assert_e2fsck_clean(&img);
    let native_dir = scratch(&format!("images-native-shmio-{}", std::process::id()));
    let native = run_native(&image_tree().join("bin/shmio"), &[native_dir.to_str().unwrap()]);
    assert_eq!(stdout(&o), stdout(&native), "guest (left) and Linux (right) differ; stderr: {}", stderr(&o));
}

#[test]
fn fileops_on_umbra_mkfs_image_matches_linux() {
    if !have_e2fsprogs() {
        return;
    }
    let img = umbra_mkfs("fileops-umbra-mkfs");
    let o = umbra_on(&img, &[], &["/bin/hello"]);
    assert_eq!(o.status.code(), Some(3), "stderr: {}", stderr(&o));
    fileops_on(&img, "umbra-mkfs");
}

/// mkfs.ext4's defaults are written (and checked clean by `fileops_on`).
#[test]
fn fileops_on_mkfs_ext4_image_matches_linux() {
    if !have_e2fsprogs() {
        return;
    }
    let img = image_path("ext4-rw");
    mke2fs_from_dir(image_tree(), &img, "ext4", "32M", &[]);
    fileops_on(&img, "ext4-rw");
}

/// An ext4 feature umbra cannot write (`quota`) mounts read-only, with one warning.
#[test]
fn ext4_image_with_unwritable_features_mounts_read_only_and_runs() {
    if !have_e2fsprogs() {
        return;
    }
    let img = image_path("ext4");
    mke2fs_from_dir(image_tree(), &img, "ext4", "32M", &["-O", "quota"]);
    let before = std::fs::read(&img).unwrap();
    let o = umbra_on(&img, &[], &["/bin/hello"]);
    assert_eq!(stdout(&o), "hello from the guest\n", "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(err.contains("mounting read-only") && err.contains("quota"), "one warning naming the features: {err}");
    let o = umbra_on(&img, &[], &["/bin/fileops", "--ro", "/ro"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_read_only_results(&o);
    assert!(std::fs::read(&img).unwrap() == before, "a read-only mount never writes the image");
    // (no e2fsck: `mke2fs -d` leaves the quota files stale, the image is checked byte for byte)
}

#[test]
fn ro_flag_gives_erofs_and_leaves_the_image_untouched() {
    let img = umbra_mkfs("ro");
    let before = std::fs::read(&img).unwrap();
    let o = umbra_on(&img, &["--ro"], &["/bin/fileops", "--ro", "/ro"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_read_only_results(&o);
    assert!(std::fs::read(&img).unwrap() == before, "--ro never writes the image");
}

/// Asserts umbra refused to start: exit 125 and exactly one stderr line containing `want`.
fn assert_refused(img: &Path, want: &str) {
    let o = umbra_on(img, &[], &["/bin/hello"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(125), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("umbra: ") && err.contains(want), "{err}");
    assert_eq!(stdout(&o), "");
}

#[test]
fn bad_images_are_refused_with_one_line() {
    let good = umbra_mkfs("bad");
    let dir = good.parent().unwrap().to_path_buf();
    let mut bytes = std::fs::read(&good).unwrap();
    bytes[1024 + 56] = 0; // s_magic
    std::fs::write(dir.join("badmagic.img"), &bytes).unwrap();
    assert_refused(&dir.join("badmagic.img"), "bad magic");
    let mut bytes = std::fs::read(&good).unwrap();
    bytes[1024 + 96] |= 0x01; // s_feature_incompat: compression
    std::fs::write(dir.join("feature.img"), &bytes).unwrap();
    assert_refused(&dir.join("feature.img"), "compression");
    std::fs::write(dir.join("text.img"), "not a filesystem\n").unwrap();
    assert_refused(&dir.join("text.img"), "text.img");
    assert_refused(&dir.join("missing.img"), "No such file");
    let o = umbra_on(&good, &[], &["/bin/hello"]);
    assert_eq!(o.status.code(), Some(3), "the unmodified image still works: {}", stderr(&o));
}

#[test]
fn fsynced_data_survives_sigkill() {
    if !have_e2fsprogs() {
        return;
    }
    let img = mke2fs_ext2("sigkill");
    let mut child = Command::new(umbra_bin())
        .args(["run", "--root", img.to_str().unwrap(), "--", "/bin/fileops", "--synced", "/work"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let synced = BufReader::new(out).lines().map_while(Result::ok).any(|l| l == "synced");
        let _ = tx.send(synced);
    });
    let synced = rx.recv_timeout(TIMEOUT).unwrap_or(false);
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    let mut err = Vec::new();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    let o = Output { status, stdout: Vec::new(), stderr: err };
    if !synced {
        let missing = unimplemented_syscalls(&o);
        assert!(!missing.is_empty(), "the guest never said synced; stderr: {}", stderr(&o));
        eprintln!("SKIPPED: durability after SIGKILL: the kernel lacks syscalls {missing:?}");
        return;
    }
    assert_eq!(debugfs_cat(&img, "/work/durable.txt"), b"durable after SIGKILL\n");
}
