//! Scheduler acceptance (issue 5): CPU-bound guests share the one virtual CPU fairly, `nice`
//! weights them as Linux's CFS does, and each one's CPU time counts only the time it ran.
//!
//! `tests/guest/spin.c` forks two loops that start together, count chunks of busy work for a
//! fixed wall time and report their counts and CPU times. The tests run one at a time: the
//! shares are measured against each other, and a second umbra would only add noise.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// How long each loop counts, in seconds.
const SECONDS: &str = "2";

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A root directory holding only `/bin/spin` and the mount points.
fn spin_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("sched-root-{}", std::process::id()));
        for d in ["bin", "dev", "proc", "tmp"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        build_c("spin", &r.join("bin/spin"), &[]);
        r
    })
}

/// What `spin` reports: each loop's count of work chunks and CPU time in milliseconds.
#[derive(Debug)]
struct Spin {
    counts: [u64; 2],
    cpu_ms: [u64; 2],
}

/// Runs `spin SECONDS NICE_A NICE_B` as pid 1 and parses its line.
fn spin(nice_a: i32, nice_b: i32) -> Spin {
    let root = spin_root().to_str().unwrap().to_string();
    let (a, b) = (nice_a.to_string(), nice_b.to_string());
    let out = run_umbra(&["run", "--root", &root, "--", "/bin/spin", SECONDS, &a, &b], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "spin failed:\nstdout: {}\nstderr: {}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let field = |k: &str| -> u64 {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {k} in {text:?}"))
    };
    Spin { counts: [field("a="), field("b=")], cpu_ms: [field("cpu_a="), field("cpu_b=")] }
}

/// Each loop's CPU time must be about its share of the wall time, not the wall time itself
/// (time spent waiting for the CPU is not CPU time), and the two together must fill it.
fn check_cpu_times(s: &Spin) -> Result<(), String> {
    let wall_ms: u64 = SECONDS.parse::<u64>().unwrap() * 1000;
    let total = s.cpu_ms[0] + s.cpu_ms[1];
    if total > wall_ms * 115 / 100 || total < wall_ms * 60 / 100 {
        return Err(format!("CPU times do not add up to the {wall_ms} ms of wall time: {s:?}"));
    }
    Ok(())
}

/// Runs `spin` with the given nice values until `check` accepts a measurement, at most three
/// times: the shares are real time on a host that other work also uses, and one long host
/// preemption of umbra's thread stretches a guest's slice (its tick cannot fire meanwhile).
fn measure(nice_a: i32, nice_b: i32, check: impl Fn(&Spin) -> Result<(), String>) {
    let mut failures = Vec::new();
    for _ in 0..3 {
        let s = spin(nice_a, nice_b);
        match check(&s).and_then(|()| check_cpu_times(&s)) {
            Ok(()) => return,
            Err(e) => failures.push(e),
        }
    }
    panic!("three measurements failed:\n{}", failures.join("\n"));
}

/// The smaller of `x` and `y` is at least 80% of the larger.
fn within_20_percent(x: u64, y: u64) -> bool {
    x.min(y) as f64 >= x.max(y) as f64 * 0.8
}

#[test]
fn two_cpu_bound_loops_share_fairly() {
    let _serial = serial();
    measure(0, 0, |s| {
        if s.counts.contains(&0) {
            return Err(format!("a loop never ran: {s:?}"));
        }
        if !within_20_percent(s.counts[0], s.counts[1]) || !within_20_percent(s.cpu_ms[0], s.cpu_ms[1]) {
            return Err(format!("unfair shares (more than 20% apart): {s:?}"));
        }
        Ok(())
    });
}

#[test]
fn nice_19_gets_under_5_percent() {
    let _serial = serial();
    measure(0, 19, |s| {
        let share = s.counts[1] as f64 / (s.counts[0] + s.counts[1]).max(1) as f64;
        if s.counts[1] == 0 {
            return Err(format!("the nice 19 loop never ran (Linux gives it ~1.5%): {s:?}"));
        }
        if share >= 0.05 {
            return Err(format!("the nice 19 loop got {:.1}% of the CPU (Linux: ~1.5%): {s:?}", share * 100.0));
        }
        Ok(())
    });
}
