//! End-to-end tests of state processes share through files: POSIX record locks and OFD locks
//! (released on close of any fd, dup2, close_range, execve's close-on-exec sweep, exit — a
//! waiter blocked in `F_SETLKW` must wake up), and stores through `MAP_SHARED` file mappings
//! (seen by `read(2)`, and on the disk after umbra exits, on a host-directory root and on an
//! ext2 image). Guest output is compared with the same program run natively.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A host-directory root holding `programs` (built from tests/guest) in /bin and the mount
/// points, plus a writable /work.
fn root_with(test: &str, programs: &[&str]) -> PathBuf {
    let r = scratch(&format!("files-shared-{test}-{}", std::process::id()));
    for d in ["bin", "dev", "proc", "tmp", "work"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    for p in programs {
        build_c(p, &r.join("bin").join(p), &[]);
    }
    r
}

/// Runs `prog DIR` natively in a fresh scratch directory; returns its output and the directory.
fn native_in(test: &str, prog: &Path) -> (String, PathBuf) {
    let dir = scratch(&format!("files-shared-{test}-native-{}", std::process::id()));
    let o = run_native(prog, &[dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "native run failed: {}", stderr(&o));
    (stdout(&o), dir)
}

#[test]
fn record_and_ofd_locks_are_released_like_linux() {
    let root = root_with("locks", &["locks"]);
    let (native, _) = native_in("locks", &root.join("bin/locks"));
    assert!(native.ends_with("done\n"), "{native}");
    let o = run_umbra(&["run", "--root", root.to_str().unwrap(), "--", "/bin/locks", "/work"], TIMEOUT);
    assert_eq!(stdout(&o), native, "guest (left) and Linux (right) differ; stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
}

/// What mapshared leaves in `exited.dat` and `unmapped.dat`: SIZE bytes, "stored-1" at 0,
/// "stored-2" at 4096+10, and the part of "stored-3" that lies inside the file.
fn expected_mapped_file() -> Vec<u8> {
    let mut v = vec![0u8; 2 * 4096 + 100];
    v[..8].copy_from_slice(b"stored-1");
    v[4096 + 10..4096 + 18].copy_from_slice(b"stored-2");
    v[2 * 4096 + 96..].copy_from_slice(b"stor");
    v
}

#[test]
fn map_shared_stores_reach_the_file_on_a_host_directory() {
    let root = root_with("mapshared-host", &["mapshared"]);
    let (native, native_dir) = native_in("mapshared", &root.join("bin/mapshared"));
    assert!(native.ends_with("done\n"), "{native}");
    for f in ["unmapped.dat", "exited.dat"] {
        assert!(std::fs::read(native_dir.join(f)).unwrap() == expected_mapped_file(), "native {f}");
    }
    let o = run_umbra(&["run", "--root", root.to_str().unwrap(), "--", "/bin/mapshared", "/work"], TIMEOUT);
    assert_eq!(stdout(&o), native, "guest (left) and Linux (right) differ; stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    for f in ["unmapped.dat", "exited.dat"] {
        assert!(std::fs::read(root.join("work").join(f)).unwrap() == expected_mapped_file(), "{f} on the host after the run");
    }
}

#[test]
fn map_shared_stores_reach_the_file_on_an_ext2_image() {
    if !have_e2fsprogs() {
        return;
    }
    let tree = root_with("mapshared-tree", &["mapshared"]);
    let img = scratch(&format!("files-shared-mapshared-img-{}", std::process::id())).join("disk.img");
    mke2fs_from_dir(&tree, &img, "ext2", "16M", &["-b", "1024"]);
    let (native, _) = native_in("mapshared-img", &tree.join("bin/mapshared"));
    let o = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/mapshared", "/work"], TIMEOUT);
    assert_eq!(stdout(&o), native, "guest (left) and Linux (right) differ; stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_e2fsck_clean(&img);
    for f in ["unmapped.dat", "exited.dat"] {
        assert!(debugfs_cat(&img, &format!("/work/{f}")) == expected_mapped_file(), "{f} in the image after the run");
    }
}

#[test]
fn msynced_and_fsynced_stores_survive_sigkill() {
    if !have_e2fsprogs() {
        return;
    }
    let tree = root_with("mapshared-sync-tree", &["mapshared"]);
    let img = scratch(&format!("files-shared-mapshared-sync-img-{}", std::process::id())).join("disk.img");
    mke2fs_from_dir(&tree, &img, "ext2", "16M", &["-b", "1024"]);
    let mut child = spawn_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/mapshared", "--synced", "/work"]);
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let synced = BufReader::new(out).lines().map_while(Result::ok).any(|l| l == "synced");
        let _ = tx.send(synced);
    });
    let synced = rx.recv_timeout(TIMEOUT).unwrap_or(false);
    child.kill().unwrap(); // SIGKILL: nothing is written back at exit
    let o = child.wait_with_output().unwrap();
    assert!(synced, "the guest never said synced; stderr: {}", stderr(&o));
    for f in ["msynced.dat", "fsynced.dat"] {
        assert!(debugfs_cat(&img, &format!("/work/{f}")) == expected_mapped_file(), "{f} in the image after SIGKILL");
    }
}
