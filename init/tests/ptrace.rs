//! End-to-end tests of guest ptrace (tests/guest/ptrace.c): every section's output in umbra
//! must equal the same program's native output — registers and memory, signal injection,
//! syscall stops and their changes, SYSEMU, fork/exec/exit events, attach/seize/interrupt/
//! detach with `TracerPid`, error paths, int3, single-step, a tracer that dies (with and
//! without `PTRACE_O_EXITKILL`), process_vm_readv/writev.

mod common;

use common::*;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// The test root with /bin/ptrace, built once.
fn ptrace_root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = scratch("ptrace");
        for d in ["bin", "proc", "tmp"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        build_c("ptrace", &dir.join("bin/ptrace"), &[]);
        dir
    })
}

/// Runs one section in umbra and natively and compares the outputs.
fn same_as_native(section: &str) {
    let root = ptrace_root();
    let native = run_native(&root.join("bin/ptrace"), &[section]);
    let r = root.to_str().unwrap();
    let guest = run_umbra(&["run", "--root", r, "--", "/bin/ptrace", section], Duration::from_secs(120));
    assert_eq!(stdout(&guest), stdout(&native), "section {section}; guest stderr: {}", stderr(&guest));
    assert!(!stdout(&guest).contains("FAIL"), "{}", stdout(&guest));
    assert_eq!(guest.status.code(), Some(0), "stderr: {}", stderr(&guest));
}

#[test]
fn registers_memory_and_user_area() {
    same_as_native("regs");
}

#[test]
fn signal_delivery_stops_and_injection() {
    same_as_native("signals");
}

#[test]
fn syscall_stops_syscall_info_and_changes() {
    same_as_native("syscalls");
}

#[test]
fn sysemu_skips_the_syscall() {
    same_as_native("sysemu");
}

#[test]
fn fork_exec_exit_events() {
    same_as_native("events");
}

#[test]
fn attach_seize_interrupt_detach_and_tracerpid() {
    same_as_native("attach");
}

#[test]
fn error_paths() {
    same_as_native("errors");
}

#[test]
fn int3_breakpoint_traps() {
    same_as_native("int3");
}

#[test]
fn single_step() {
    same_as_native("step");
}

#[test]
fn tracer_death_detaches_or_kills() {
    same_as_native("tracer-dies");
}

#[test]
fn process_vm_readv_writev() {
    same_as_native("vm");
}

#[test]
fn job_control_of_a_tracee() {
    same_as_native("jobctl");
}

#[test]
fn sigkill_ends_a_tracee_in_any_state() {
    same_as_native("kill");
}
