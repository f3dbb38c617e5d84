//! Capabilities and privilege (issue 11, item 2), compared with the same static program run
//! natively as root: capget/capset, the bounding and ambient sets, securebits, no_new_privs,
//! uid changes, permission checks by capability, exec's capability rules (root, set-user-ID
//! root, ambient, file capabilities), /proc/self/status, and the prctl family.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// A root with this file's guest programs in /bin and the usual mount points.
fn caps_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("caps-root-{}", std::process::id()));
        for d in ["bin", "tmp", "dev", "proc", "root"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        build_c("caps", &r.join("bin/caps"), &[]);
        r
    })
}

/// Runs `/bin/PROG ARGS` under umbra and natively; standard output and the exit status must match.
fn compare(prog: &str, args: &[&str]) {
    let root = caps_root().to_str().unwrap().to_string();
    let bin = format!("/bin/{prog}");
    let mut a = vec!["run", "--root", &root, "--", &bin];
    a.extend_from_slice(args);
    let got = run_umbra(&a, Duration::from_secs(120));
    let want = run_native(&caps_root().join("bin").join(prog), args);
    assert_eq!(stdout(&got), stdout(&want), "{prog} {args:?}: umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code(), "{prog} {args:?} exit status; stderr:\n{}", stderr(&got));
}

/// Every capability family of `tests/guest/caps.c`, with its error paths, matches Linux.
#[test]
fn capabilities_match_linux() {
    compare("caps", &[]);
}
