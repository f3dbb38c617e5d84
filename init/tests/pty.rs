//! Pseudo-terminals (the Debian-system issue, item 1): tests/guest/pty.c run under umbra and
//! natively must print the same — openpt/grantpt/unlockpt/ptsname and the slave lock, echo
//! and line editing through the master, raw mode, signals typed on the master, sessions with
//! the slave as controlling terminal, hangup when the master closes, the master after the
//! slave closes, TIOCGPTPEER, packet mode, window sizes, poll/select/epoll and bulk flow.
//! Then a forkpty runner and busybox `tty` on a pty under umbra, whose answer (`/dev/pts/0`)
//! cannot be compared with a host whose other ptys are in use.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// A root with the pty program and busybox (if the host has it) in /bin.
fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("pty-root-{}", std::process::id()));
        for d in ["bin", "tmp", "dev", "proc", "root"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        build_c("pty", &r.join("bin/pty"), &["-static", "-Wall"]);
        build_c("ptyreuse", &r.join("bin/ptyreuse"), &["-static", "-Wall"]);
        if let Some(bb) = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.exists()) {
            std::fs::copy(bb, r.join("bin/busybox")).unwrap();
        }
        r
    })
}

fn guest(args: &[&str]) -> std::process::Output {
    let root = root().to_str().unwrap().to_string();
    let mut a = vec!["run", "--root", &root, "--"];
    a.extend_from_slice(args);
    run_umbra(&a, Duration::from_secs(120))
}

/// `pty TEST` under umbra and natively: same output, same status.
fn compare(test: &str) {
    let got = guest(&["/bin/pty", test]);
    let want = run_native(&root().join("bin/pty"), &[test]);
    assert_eq!(stdout(&got), stdout(&want), "pty {test}: umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code(), "pty {test} exit status; stderr:\n{}", stderr(&got));
}

#[test]
fn openpt_grantpt_unlockpt_ptsname_and_the_lock() {
    compare("basic");
}

#[test]
fn canonical_echo_and_editing_through_the_master() {
    compare("echo");
}

#[test]
fn raw_mode_through_the_master() {
    compare("raw");
}

#[test]
fn keys_typed_on_the_master_signal_the_foreground_group() {
    compare("signals");
}

#[test]
fn the_slave_as_controlling_terminal_of_a_session() {
    compare("session");
}

#[test]
fn closing_the_master_hangs_the_slave_up() {
    compare("hangup");
}

#[test]
fn a_session_leaders_exit_hangs_up_its_foreground_job() {
    compare("leaderexit");
}

#[test]
fn the_master_after_the_slave_closes() {
    compare("slaveclose");
}

#[test]
fn tiocgptpeer_opens_the_slave() {
    compare("peer");
}

#[test]
fn packet_mode_reports_flushes_and_flow_control() {
    compare("packet");
}

#[test]
fn window_size_reaches_both_sides_and_the_foreground() {
    compare("winsize");
}

#[test]
fn poll_select_epoll_and_blocking_on_both_sides() {
    compare("poll");
}

#[test]
fn epoll_on_both_sides() {
    let got = guest(&["/bin/pty", "epoll"]);
    if unimplemented_syscalls(&got).iter().any(|s| s.starts_with("epoll")) {
        eprintln!("SKIPPED: this umbra has no epoll yet");
        return;
    }
    compare("epoll");
}

#[test]
fn bulk_data_flows_both_ways_with_blocked_writers() {
    compare("flow");
}

#[test]
fn a_program_on_a_forkpty_terminal_sees_dev_pts_0() {
    let got = guest(&["/bin/pty", "run", "/bin/pty", "whoami"]);
    assert_eq!(
        stdout(&got),
        "/dev/pts/0\r\nisatty 1 1 1\r\nsession leader 1, foreground 1\r\n/dev/tty opens: 1\r\n",
        "stderr:\n{}",
        stderr(&got)
    );
    assert_eq!(got.status.code(), Some(0));
}

#[test]
fn busybox_tty_on_a_pty_prints_dev_pts_0() {
    if !root().join("bin/busybox").exists() {
        eprintln!("SKIPPED: no busybox (apt-get install busybox-static)");
        return;
    }
    let got = guest(&["/bin/pty", "run", "/bin/busybox", "tty"]);
    assert_eq!(stdout(&got), "/dev/pts/0\r\n", "stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), Some(0));
}

#[test]
fn job_control_of_an_interactive_shell_on_a_pty() {
    if !root().join("bin/busybox").exists() || !Path::new("/bin/busybox").exists() {
        eprintln!("SKIPPED: no busybox (apt-get install busybox-static)");
        return;
    }
    // Start a job, stop it with ^Z, list it, bring it back with fg, interrupt it with ^C:
    // the shell moves the foreground group, the pty signals it.
    let steps = ["w:# ", "s:sleep 30\\n", "f", "s:\\x1a", "w:Stopped", "b", "s:jobs\\n", "w:sleep 30", "s:fg\\n", "f", "s:\\x03", "b", "s:exit\\n"];
    let mut args = vec!["expect", "/bin/busybox", "sh", "-i", "--"];
    args.extend(steps);
    let mut full = vec!["/bin/pty"];
    full.extend(&args);
    let got = guest(&full);
    let want = run_native(&root().join("bin/pty"), &args);
    assert_eq!(stdout(&got), stdout(&want), "umbra's transcript:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code());
    assert!(!stdout(&got).contains("TIMEOUT"), "{}", stdout(&got));
}

#[test]
fn umbra_run_mounts_devpts_with_group_tty() {
    if !root().join("bin/busybox").exists() {
        eprintln!("SKIPPED: no busybox (apt-get install busybox-static)");
        return;
    }
    let got = guest(&["/bin/busybox", "sh", "-c", "grep devpts /proc/mounts; busybox stat -c '%a %g' /dev/ptmx /dev/pts /dev/pts/ptmx"]);
    assert_eq!(stdout(&got), "devpts /dev/pts devpts rw,nosuid,noexec,relatime 0 0\n666 0\n755 0\n0 0\n", "stderr:\n{}", stderr(&got));
    // A new terminal belongs to its opener and group tty, mode 0620, as on Debian.
    let got = guest(&["/bin/pty", "run", "/bin/busybox", "stat", "-c", "%a %u %g %t:%T", "/dev/pts/0"]);
    assert_eq!(stdout(&got), "620 0 5 88:0\r\n", "stderr:\n{}", stderr(&got));
}

/// A pty index reused after its master closed reaches the new pty (Debian's startpar).
#[test]
fn a_reused_pty_index_opens_the_new_pty() {
    let got = guest(&["/bin/ptyreuse"]);
    let want = run_native(&root().join("bin/ptyreuse"), &[]);
    assert_eq!(stdout(&got), stdout(&want), "umbra's stderr:\n{}", stderr(&got));
    assert!(stdout(&got).contains("round 1: open ok"));
}
