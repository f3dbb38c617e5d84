//! End-to-end: epoll (`tests/guest/epoll.c`) through the `umbra` binary, each section compared
//! with the same static program run natively: every errno of the five calls, level- vs
//! edge-triggered pipes, `EPOLLONESHOT`, `EPOLLERR`/`EPOLLHUP`, nested epolls and epoll in
//! `poll`/`select`, registrations following the open file description (dup, close, fork),
//! timerfd and eventfd readiness, the ready list's round robin, `epoll_pwait`'s mask, and
//! signalfd (errors, records, mask changes, readiness in poll and epoll).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// A root with `/bin/epoll` and the usual mount points, built once per test binary.
fn epoll_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("epoll-root-{}", std::process::id()));
        for d in ["bin", "tmp", "dev", "proc"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        build_c("epoll", &r.join("bin/epoll"), &[]);
        r
    })
}

/// Runs `epoll SECTION` under umbra and natively; standard output and exit status must match.
fn compare(section: &str) {
    let root = epoll_root().to_str().unwrap().to_string();
    let got = run_umbra(&["run", "--root", &root, "--", "/bin/epoll", section], Duration::from_secs(120));
    let want = run_native(&epoll_root().join("bin/epoll"), &[section]);
    assert!(want.status.success(), "native run of {section} failed: {}", stderr(&want));
    assert_eq!(stdout(&got), stdout(&want), "epoll {section}: umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code(), "epoll {section} exit status; stderr:\n{}", stderr(&got));
    assert!(unimplemented_syscalls(&got).is_empty(), "unimplemented: {:?}", unimplemented_syscalls(&got));
}

#[test]
fn every_errno_matches_linux() {
    compare("errors");
}

#[test]
fn level_and_edge_triggered_pipes_match_linux() {
    compare("ltet");
}

#[test]
fn oneshot_matches_linux() {
    compare("oneshot");
}

#[test]
fn err_and_hup_are_reported_unasked() {
    compare("hup");
}

#[test]
fn nested_epolls_match_linux() {
    compare("nested");
}

#[test]
fn epoll_in_poll_and_select() {
    compare("inpoll");
}

#[test]
fn registrations_follow_the_open_file_description() {
    compare("dup");
}

#[test]
fn fork_shares_the_epoll() {
    compare("fork");
}

#[test]
fn timerfd_and_eventfd_readiness() {
    compare("fds");
}

#[test]
fn ready_items_take_turns() {
    compare("order");
}

#[test]
fn pwait_mask_and_eintr_match_linux() {
    compare("sigmask");
}

#[test]
fn timeouts_are_kept() {
    compare("timeout");
}

#[test]
fn signalfd_matches_linux() {
    compare("signalfd");
}
