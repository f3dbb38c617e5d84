//! End-to-end tests of state processes share through files: POSIX record locks and OFD locks
//! (released on close of any fd, dup2, close_range, execve's close-on-exec sweep, exit — a
//! waiter blocked in `F_SETLKW` must wake up). Guest output is compared with the same program
//! run natively.

mod common;
use common::*;

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
