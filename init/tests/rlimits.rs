//! Resource limits (issue 11, item 6) compared with Linux: RLIMIT_CORE — the core-dump bit in
//! the wait status and an ELF core file that `readelf -n` reads (NT_PRSTATUS, NT_PRPSINFO,
//! NT_AUXV, NT_FILE) — RLIMIT_MEMLOCK (mlock and friends, CAP_IPC_LOCK), RLIMIT_SIGPENDING and RLIMIT_STACK.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

fn rl_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("rlimits-root-{}", std::process::id()));
        for d in ["bin", "tmp", "dev", "proc", "root"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        for p in ["coredump", "memlock", "sigpending", "stacklimit"] {
            build_c(p, &r.join("bin").join(p), &[]);
        }
        r
    })
}

/// The note types `readelf -n` lists for a core file.
fn core_notes(core: &Path) -> String {
    let out = Command::new("readelf").arg("-n").arg(core).output().expect("readelf (binutils) is needed");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.trim_start().starts_with("CORE")).map(|l| l.split_whitespace().nth(2).unwrap_or("").to_string() + "\n").collect()
}

/// Dumping signals with RLIMIT_CORE 0, below a page, unlimited (+ SIGTERM, undumpable):
/// the wait status and the core file match Linux, and readelf reads umbra's core file.
#[test]
fn core_dumps_match_linux() {
    let root = rl_root();
    // The guest's /root is the host directory root/root, so the core file can be read here.
    let got = run_umbra(&["run", "--root", root.to_str().unwrap(), "--", "/bin/coredump", "/root/core-test"], Duration::from_secs(120));
    let native_dir = root.join("native-core-test");
    let want = run_native(&root.join("bin/coredump"), &[native_dir.to_str().unwrap()]);
    assert_eq!(stdout(&got), stdout(&want), "umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code());
    let native_notes = core_notes(&native_dir.join("core"));
    let notes = core_notes(&root.join("root/core-test/core"));
    for n in ["NT_PRSTATUS", "NT_PRPSINFO", "NT_AUXV", "NT_FILE"] {
        assert!(native_notes.contains(n), "{n} missing from Linux's core file:\n{native_notes}");
        assert!(notes.contains(n), "{n} missing from umbra's core file; readelf -n shows:\n{notes}");
    }
}

/// mlock/mlock2/munlock/mlockall/munlockall under RLIMIT_MEMLOCK, as root and as a user.
#[test]
fn memlock_limit_matches_linux() {
    let root = rl_root();
    let got = run_umbra(&["run", "--root", root.to_str().unwrap(), "--", "/bin/memlock"], Duration::from_secs(120));
    let want = run_native(&root.join("bin/memlock"), &[]);
    assert_eq!(stdout(&got), stdout(&want), "umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code());
}

/// sigqueue of real-time signals fails with EAGAIN at RLIMIT_SIGPENDING; kill and standard
/// signals do not.
#[test]
fn sigpending_limit_matches_linux() {
    let root = rl_root();
    let got = run_umbra(&["run", "--root", root.to_str().unwrap(), "--", "/bin/sigpending"], Duration::from_secs(120));
    let want = run_native(&root.join("bin/sigpending"), &[]);
    assert_eq!(stdout(&got), stdout(&want), "umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code());
}

/// Stack growth obeys the RLIMIT_STACK in force (set after exec), past the 8 MiB default.
#[test]
fn stack_limit_matches_linux() {
    let root = rl_root();
    let got = run_umbra(&["run", "--root", root.to_str().unwrap(), "--", "/bin/stacklimit"], Duration::from_secs(120));
    let want = run_native(&root.join("bin/stacklimit"), &[]);
    assert_eq!(stdout(&got), stdout(&want), "umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code());
}
