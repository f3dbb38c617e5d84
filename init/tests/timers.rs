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
