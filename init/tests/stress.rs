//! Stress tests for races between guest threads and between stubs: many threads starting
//! short-lived threads (each with its own TLS, SSE registers, signals and heap churn) in an
//! exec'd program, and hundreds of processes forking at once, compared with the same programs
//! run natively. Every test is bounded in time
//! by the guest itself (a time budget), not by the host's speed.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// A root with this file's guest programs in /bin and the usual mount points.
fn stress_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("stress-root-{}", std::process::id()));
        for d in ["bin", "tmp", "dev", "proc", "root"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        build_c("threadstress", &r.join("bin/threadstress"), &["-static", "-pthread"]);
        build_c("forkstress", &r.join("bin/forkstress"), &[]);
        r
    })
}

/// Runs `/bin/PROG ARGS` under umbra (at most 55 s) and natively; output and status must match.
fn compare(prog: &str, args: &[&str]) {
    let root = stress_root().to_str().unwrap().to_string();
    let path = format!("/bin/{prog}");
    let mut a = vec!["run", "--root", &root, "--", &path];
    a.extend_from_slice(args);
    let got = run_umbra(&a, Duration::from_secs(55));
    let want = run_native(&stress_root().join("bin").join(prog), args);
    assert_eq!(stdout(&got), stdout(&want), "{prog} {args:?}: umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code(), "{prog} {args:?} exit status; stderr:\n{}", stderr(&got));
}

/// 12 threads each start 150 short-lived threads that talk to the main thread, in a program
/// started by fork + exec (a thread of an exec'd program once carried no FPU identity, so the
/// main thread got the SSE registers of whichever thread ran before it — heap corruption in
/// Python's GC); a thread signalled while the stub's FPU owner had just exited once got the
/// dead thread's SSE registers back from its handler. The guest stops early after 20 s.
#[test]
fn threads_starting_threads_keep_their_tls_sse_and_heap() {
    compare("threadstress", &["start", "12", "150", "20"]);
}

/// 5 waves of 200 children that each fork a grandchild, all 400 asleep on one shared futex
/// together: about 2000 forks, most of which start a new stub (the pool keeps 16). None may
/// fail — a new stub once died of SIGSEGV during its exec when the host's randomised stack
/// landed on the stub's fixed address (about once in 100 000 starts; see
/// `arch_um::stub::no_random_stack`). The guest starts no new wave after 20 s.
#[test]
fn hundreds_of_processes_forking_at_once_all_get_a_stub() {
    compare("forkstress", &["200", "5", "20"]);
}
