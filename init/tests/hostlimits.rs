//! Umbra's own host resources stay bounded whatever the guest does (hardening issue, part 3):
//! the guest meets Linux's limits (`ENOMEM` at `vm.max_map_count` mappings, `EMFILE`, `EAGAIN`
//! from fork at the task limit) and never a failed host call. In particular a stub whose host
//! mappings outgrow the host's `vm.max_map_count` (scattered frames after copy-on-write) is not
//! killed: its host mappings are a cache of the page table and are flushed like a full TLB.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Duration;

/// The root with `/bin/hostmaps`, built once for all the tests of this file (they run in
/// parallel: building it per test raced, one test exec'ing it while another rewrote it).
fn hostmaps_root() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("hostmaps-{}", std::process::id()));
        for d in ["bin", "tmp", "dev", "proc"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        build_c("hostmaps", &r.join("bin/hostmaps"), &[]);
        r
    })
    .clone()
}

fn run_hostmaps(mode: &str) -> (String, String) {
    let root = hostmaps_root();
    let out = run_umbra(&["run", "--mem", "2G", "--root", root.to_str().unwrap(), "--", "/bin/hostmaps", mode], Duration::from_secs(300));
    let (so, se) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "umbra failed: {:?}\nstdout:\n{so}\nstderr:\n{se}", out.status);
    (so, se)
}

#[test]
fn a_hundred_thousand_mappings_meet_enomem_and_keep_their_data() {
    let (so, se) = run_hostmaps("maps");
    // Linux stops at vm.max_map_count (65530) minus what the process already has mapped.
    let n: u64 = so.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    assert!((65_000..=65_530).contains(&n), "mappings made: {n}\n{so}\n{se}");
    assert!(so.contains("Cannot allocate memory bad 0"), "{so}\n{se}");
    assert!(so.contains("after munmap ok"), "{so}\n{se}");
}

#[test]
fn scattered_copy_on_write_pages_outgrowing_the_host_map_limit_keep_working() {
    let (so, se) = run_hostmaps("cow");
    assert!(so.contains("cow child ok parent bad 0"), "stdout:\n{so}\nstderr:\n{se}");
    assert!(!se.contains("killing the process"), "a stub was killed:\n{se}");
}

#[test]
fn umbra_host_fds_stay_bounded_with_many_processes_files_and_mappings() {
    let root = hostmaps_root();
    let mut child = spawn_umbra(&["run", "--mem", "2G", "--root", root.to_str().unwrap(), "--", "/bin/hostmaps", "hold", "1000"]);
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut fds = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("holding") {
            fds = Some(std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count());
        }
        seen.push(line);
        if fds.is_some() {
            break;
        }
    }
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    let so = seen.join("\n");
    assert!(status.success(), "umbra failed: {status:?}\n{so}");
    // The task limit (MAX_TASKS, 9/10 of it per session) answers EAGAIN before the host does.
    assert!(so.contains("fds 20000 maps 60000") && so.contains("released"), "{so}");
    let fds = fds.expect("the guest never said holding");
    assert!(fds < 256, "umbra holds {fds} host fds with 20 000 guest files and ~900 processes");
}
