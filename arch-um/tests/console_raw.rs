//! The host terminal is put back on every exit path: the test re-runs its own binary as a child
//! whose stdin is the slave of a fresh pseudo-terminal, lets it enter raw mode, checks the
//! terminal is raw, then makes it leave by each path (guard drop, `exit`, panic, a fatal signal,
//! a `SIGSEGV` sent by `kill`, `SIGTERM` under the `Flag` policy, where `SIGWINCH` is also
//! checked to wake `stdin_ready` and set its flag) and compares the attributes
//! with the ones from before. Skipped (with a note) when no pty can be opened.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use arch_um::console::{self, RawModeOptions, SigPolicy};
use nix::sys::termios::{self, LocalFlags, OutputFlags, Termios};

const CHILD_ENV: &str = "UMBRA_RAW_CHILD";
const MARKER: &str = "UMBRA-RAW-ENTERED";

/// The child's side: runs only when the parent set `CHILD_ENV`.
#[test]
fn child_entry() {
    let Ok(mode) = std::env::var(CHILD_ENV) else { return };
    let opts = match mode.as_str() {
        "flag" => RawModeOptions { sigterm: SigPolicy::Flag, ..RawModeOptions::default() },
        _ => RawModeOptions::default(),
    };
    let guard = console::enter_raw_mode_with(opts).expect("enter raw mode");
    assert!(guard.is_active() && console::is_raw());
    println!("{MARKER}");
    std::io::stdout().flush().expect("flush");
    assert!(console::stdin_ready(10_000), "parent never wrote");
    let mut b = [0u8; 1];
    console::read_stdin(&mut b).expect("read");
    leave(&mode, guard);
}

fn leave(mode: &str, guard: console::RawModeGuard) {
    use nix::sys::signal::{raise, Signal};
    match mode {
        "drop" => {
            drop(guard);
            return;
        }
        "exit" => std::process::exit(3),
        "panic" => panic!("deliberate panic with the terminal raw"),
        "sigterm" => raise(Signal::SIGTERM).expect("raise"),
        "sighup" => raise(Signal::SIGHUP).expect("raise"),
        "segv" => raise(Signal::SIGSEGV).expect("raise"),
        "flag" => {
            raise(Signal::SIGWINCH).expect("raise");
            let t0 = std::time::Instant::now();
            assert!(!console::stdin_ready(5000), "no input, but the signal wakes the wait");
            assert!(t0.elapsed() < std::time::Duration::from_secs(2));
            assert!(console::take_winch());
            assert!(!console::take_winch());
            raise(Signal::SIGTERM).expect("raise");
            assert!(console::take_host_signal(libc::SIGTERM));
            assert!(!console::take_host_signal(libc::SIGTERM));
            assert!(console::is_raw(), "Flag policy must not restore by itself");
            drop(guard);
            return;
        }
        other => panic!("unknown mode {other}"),
    }
    std::thread::sleep(std::time::Duration::from_secs(5));
    unreachable!("mode {mode} should have ended the process");
}

fn same_modes(a: &Termios, b: &Termios) -> bool {
    a.input_flags == b.input_flags
        && a.output_flags == b.output_flags
        && a.control_flags == b.control_flags
        && a.local_flags == b.local_flags
        && a.control_chars == b.control_chars
}

/// Runs one child in `mode`; returns its exit status after checking raw mode and restoration.
fn run_child(mode: &str, master: &OwnedFd, slave: &OwnedFd) -> std::process::ExitStatus {
    let before = termios::tcgetattr(slave).expect("tcgetattr");
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .stdin(Stdio::from(slave.try_clone().expect("dup slave")))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let entered = lines.by_ref().map_while(Result::ok).any(|l| l.contains(MARKER));
    assert!(entered, "{mode}: child never entered raw mode");
    let raw = termios::tcgetattr(slave).expect("tcgetattr");
    assert!(!raw.local_flags.intersects(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG), "{mode}: not raw");
    assert!(!raw.output_flags.contains(OutputFlags::OPOST), "{mode}: OPOST still on");
    nix::unistd::write(master, b"x").expect("write master");
    let status = child.wait().expect("wait");
    let after = termios::tcgetattr(slave).expect("tcgetattr");
    assert!(same_modes(&before, &after), "{mode}: terminal not restored");
    status
}

#[test]
fn raw_mode_restored_on_every_exit() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let pty = match nix::pty::openpty(None, None) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("skipped: no pseudo-terminal ({e})");
            return;
        }
    };
    let (m, s) = (&pty.master, &pty.slave);
    assert!(run_child("drop", m, s).success());
    assert_eq!(run_child("exit", m, s).code(), Some(3));
    assert!(!run_child("panic", m, s).success());
    assert_eq!(run_child("sigterm", m, s).signal(), Some(libc::SIGTERM));
    assert_eq!(run_child("sighup", m, s).signal(), Some(libc::SIGHUP));
    assert_eq!(run_child("segv", m, s).signal(), Some(libc::SIGSEGV));
    assert!(run_child("flag", m, s).success());
}

#[test]
fn not_a_tty_is_a_no_op() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    // Under cargo test stdin may be a terminal; only check the inert case when it is not.
    if console::is_tty(console::HostFd::Stdin) {
        return;
    }
    let g = console::enter_raw_mode_with(RawModeOptions { sigterm: SigPolicy::Leave, sigint: SigPolicy::Leave }).expect("enter");
    assert!(!g.is_active());
    assert!(!console::is_raw());
    assert!(!console::take_winch());
    console::restore();
}
