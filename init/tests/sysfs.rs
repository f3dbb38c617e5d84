//! sysfs at /sys (the Debian-system issue, item 5): `tests/guest/sysfs.c` reads the CPU lists,
//! `/sys/class/net/lo`, `/sys/fs/cgroup` and the transparent-hugepage size, and checks glibc's
//! CPU counts agree with them; run under umbra (which mounts sysfs on /sys) and natively, the
//! output must match.

mod common;
use common::*;

use std::time::Duration;

#[test]
fn sysfs_reads_like_linux() {
    let r = scratch(&format!("sysfs-root-{}", std::process::id()));
    for d in ["bin", "dev", "proc", "sys", "tmp"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    build_c("sysfs", &r.join("bin/sysfs"), &[]);
    let guest = run_umbra(&["run", "--root", r.to_str().unwrap(), "--", "/bin/sysfs"], Duration::from_secs(60));
    let native = run_native(&r.join("bin/sysfs"), &[]);
    assert!(guest.status.success(), "guest failed: {}", stderr(&guest));
    assert_eq!(stdout(&guest), stdout(&native), "guest vs native; stderr: {}", stderr(&guest));
    assert!(stdout(&guest).contains("open type O_WRONLY: 0 errno 13"), "{}", stdout(&guest));
}
