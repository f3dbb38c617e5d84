//! End-to-end tests of the guest vDSO: static and dynamic glibc programs find it through
//! `AT_SYSINFO_EHDR` and read the clocks without a syscall (tests/guest/vdso.c).

mod common;

use common::*;
use std::time::Duration;

const EXPECTED: &str = "ehdr=1\nelf=1\nmaps=1\nvvar_ro=1\nmonotonic=1\nfast=1\nmono_close=1\nreal_close=1\n\
boot_close=1\nraw_close=1\ncoarse_close=1\nrealtime_host=1\ntod_close=1\ntime_close=1\nres=1\ngetcpu=1\n\
bad_clock=-1 errno_einval=1\ncputime=1\nfork_ok=1\n";

fn host_secs() -> String {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string()
}

fn run_in(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    let root = root.to_str().unwrap().to_string();
    let mut a = vec!["run", "--root", &root, "--"];
    a.extend_from_slice(args);
    run_umbra(&a, Duration::from_secs(60))
}

#[test]
fn static_glibc_program_uses_the_vdso() {
    let dir = scratch("vdso-static");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("proc")).unwrap();
    build_c("vdso", &dir.join("bin/vdso"), &[]);
    let o = run_in(&dir, &["/bin/vdso", &host_secs()]);
    assert_eq!(stdout(&o), EXPECTED, "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
    eprintln!("{}", stderr(&o).trim());
}

#[test]
fn dynamic_glibc_program_uses_the_vdso() {
    let dir = scratch("vdso-dynamic");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("proc")).unwrap();
    build_c("vdso", &dir.join("bin/vdso"), &["-O1"]);
    copy_libs(&dir.join("bin/vdso"), &dir);
    let o = run_in(&dir, &["/bin/vdso", &host_secs()]);
    assert_eq!(stdout(&o), EXPECTED, "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
}
