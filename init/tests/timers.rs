//! End-to-end: timers (`alarm`, `setitimer`, POSIX timers, timerfd, eventfd) through the
//! `umbra` binary, compared with the same program run natively.

mod common;
use common::*;
use std::path::PathBuf;
use std::sync::OnceLock;

/// `tests/guest/timers.c`, built once into the shared test root as `/bin/timers`.
fn timers_bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = root().join("bin/timers");
        build_c("timers", &out, &[]);
        out
    })
}

/// Runs `timers ARGS` in umbra and natively and asserts the outputs match.
fn compare(args: &[&str]) {
    let native = run_native(timers_bin(), args);
    assert!(native.status.success(), "native run failed: {}", stderr(&native));
    let mut guest = vec!["/bin/timers"];
    guest.extend_from_slice(args);
    let o = run_guest(&guest);
    assert_eq!(stdout(&o), stdout(&native), "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(unimplemented_syscalls(&o).is_empty(), "unimplemented: {:?}", unimplemented_syscalls(&o));
}

#[test]
fn timers_match_linux() {
    compare(&[]);
}

/// `ITIMER_VIRTUAL`/`ITIMER_PROF`, CPU-clock POSIX timers and `ITIMER_REAL` while the guest
/// only computes (kernel timers fire at clock ticks while a lone task spins).
#[test]
fn cpu_time_timers_match_linux() {
    compare(&["cpu"]);
}

/// The kernel's own periodic timers (write-back, load average, the vDSO rebase) re-arm only
/// themselves: over a long idle run each fires once per period (a write-back callback once
/// started a new load-sample chain every 5 s, so their number grew with uptime).
#[test]
fn kernel_timers_do_not_accumulate_while_idle() {
    let Some(bb) = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(std::path::Path::new).find(|p| p.exists()) else {
        eprintln!("SKIPPED: no busybox");
        return;
    };
    let dir = scratch("timers-idle");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy(bb, dir.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", dir.join("bin/sleep")).unwrap();
    let root = dir.to_str().unwrap().to_string();
    let out = run_umbra(&["run", "--log", "debug", "--root", &root, "--", "/bin/sleep", "21"], std::time::Duration::from_secs(90));
    let err = stderr(&out);
    let writebacks = err.lines().filter(|l| l.contains("write-back; ")).count();
    let samples = err.lines().filter(|l| l.contains("load-average sample; ")).count();
    assert!(writebacks >= 3, "expected a write-back every 5 s:\n{err}");
    assert!(samples <= writebacks + 1, "{samples} load-average samples for {writebacks} write-backs: a timer chain leaks");
}
