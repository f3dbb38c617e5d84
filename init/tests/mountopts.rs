//! Mount options (the Debian-system issue, item 5): `tests/guest/mountopts.c` mounts tmpfs with
//! `size=`/`nr_inodes=`/`mode=`/`uid=`/`gid=` and fills it, remounts read-only and back, binds
//! and bind-remounts read-only, and checks `noexec`/`nodev`/`nosuid` on exec, mmap, mprotect
//! and device opens, printing mountinfo's options. Under umbra (as guest root) and natively
//! as root in a private mount namespace (`unshare -m`), the output must match; the native run is
//! skipped where the host cannot make one.

mod common;
use common::*;

use std::process::Command;
use std::time::Duration;

#[test]
fn mount_options_behave_like_linux() {
    let r = scratch(&format!("mountopts-root-{}", std::process::id()));
    for d in ["bin", "dev", "proc", "tmp"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    build_c("mountopts", &r.join("bin/mountopts"), &[]);
    let guest = run_umbra(&["run", "--root", r.to_str().unwrap(), "--", "/bin/mountopts", "/tmp"], Duration::from_secs(60));
    assert!(guest.status.success(), "guest failed: {}", stderr(&guest));
    let out = stdout(&guest);
    for line in ["write stopped after 65536 bytes errno 28", "create 4: -1 errno 28", "create on ro: -1 errno 30", "exec on noexec: 113", "open dev on nodev: -1 errno 13"] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let base = scratch(&format!("mountopts-native-{}", std::process::id()));
    std::fs::create_dir_all(&base).unwrap();
    let native = Command::new("unshare")
        .args(["-m", "--propagation", "private"])
        .arg(r.join("bin/mountopts"))
        .arg(&base)
        .output();
    match native {
        Ok(n) if n.status.success() => assert_eq!(out, stdout(&n), "guest vs native"),
        _ => eprintln!("skipping the native comparison: no private mount namespace here"),
    }
}
