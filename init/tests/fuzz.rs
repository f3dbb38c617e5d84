//! The syscall fuzzer (hardening issue, part 2): `tests/guest/fuzz.c` — random syscalls with
//! valid and invalid fds, addresses, lengths and flags, in several processes (some with
//! threads, half of them unprivileged) — runs under umbra for a bounded time. Umbra must not
//! panic or hang, must keep its own host fds bounded, must leave no host process behind, and
//! nothing may appear outside the guest's root directory. The parent checks that its private
//! memory never changes (no write lands in the wrong address space).
//!
//! Seeded and reproducible from the seed it prints: `UMBRA_FUZZ_SEED=N` picks the seed (default
//! 1), `UMBRA_FUZZ_SECS=S` the duration (default 45 s), `UMBRA_FUZZ_PROCS=P` the processes
//! (default 4). A long run: `UMBRA_FUZZ_SECS=600 cargo test -p init --test fuzz -- --nocapture`.

mod common;
use common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The number of host fds `pid` has open (0 once it is gone).
fn host_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// A host process's start time (field 22 of /proc/PID/stat): with its pid, it names one process
/// even if the pid is reused later.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit(')').next()?;
    if after.trim_start().starts_with('Z') {
        return None;
    }
    after.split_whitespace().nth(19)?.parse().ok()
}

#[test]
fn syscall_fuzzer_finds_no_panic_hang_leak_or_escape() {
    let seed = env_or("UMBRA_FUZZ_SEED", 1);
    let secs = env_or("UMBRA_FUZZ_SECS", 45);
    let procs = env_or("UMBRA_FUZZ_PROCS", 4);
    let base = scratch(&format!("fuzz-{}", std::process::id()));
    let root: PathBuf = base.join("root");
    for d in ["bin", "tmp", "dev", "proc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    build_c("fuzz", &root.join("bin/fuzz"), &["-static", "-pthread"]);
    let outside_before: Vec<_> = std::fs::read_dir(&base).unwrap().map(|e| e.unwrap().file_name()).collect();

    let (s, t, p) = (seed.to_string(), secs.to_string(), procs.to_string());
    let root_s = root.to_str().unwrap();
    let mut child = spawn_umbra(&["run", "--root", root_s, "--", "/bin/fuzz", &s, &t, &p]);
    let pid = child.id();
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out_t = drain(Box::new(child.stdout.take().unwrap()));
    let err_t = drain(Box::new(child.stderr.take().unwrap()));
    // Sample umbra's own host fds and its stubs while the guest fuzzes; the run must end
    // within its budget.
    let deadline = Instant::now() + Duration::from_secs(secs + 120);
    let mut max_fds = 0;
    let mut stubs = std::collections::BTreeSet::new();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        max_fds = max_fds.max(host_fds(pid));
        stubs.extend(host_children_of(pid).into_iter().filter_map(|c| Some((c, start_time(c)?))));
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("umbra hung: the fuzz run (seed {seed}) did not end {secs}+120 s after it started");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let (so, se) = (out_t.join().unwrap(), err_t.join().unwrap());
    eprintln!("{}", so.lines().last().unwrap_or(""));
    assert!(!se.contains("panicked"), "umbra panicked (seed {seed}):\n{se}");
    assert!(!so.contains("CORRUPTION"), "memory corruption (seed {seed}):\n{so}");
    assert!(status.success() && so.contains("done:"), "fuzz run (seed {seed}) failed: {status:?}\n{so}\n{se}");
    assert!(max_fds < 256, "umbra held {max_fds} host fds during the run (seed {seed})");
    let gone_by = Instant::now() + Duration::from_secs(10);
    let alive = |&(p, t): &(u32, u64)| start_time(p) == Some(t);
    while stubs.iter().any(alive) && Instant::now() < gone_by {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<_> = stubs.iter().filter(|s| alive(s)).collect();
    assert!(left.is_empty(), "host processes outlived umbra (seed {seed}): {left:?} of {} seen", stubs.len());
    let outside_after: Vec<_> = std::fs::read_dir(&base).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(outside_before, outside_after, "the guest wrote outside its root (seed {seed})");
    let _ = std::fs::remove_dir_all(&base);
}
