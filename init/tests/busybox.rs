//! The processes acceptance battery: busybox `sh` scripts (tests/scripts/*.sh) run under
//! `umbra run --root ROOT -- /bin/sh SCRIPT` and, as the oracle, natively with `chroot` into
//! the same root (CI runs as root); standard output must be byte-for-byte identical.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// A root with Debian's static busybox and its applets, and the scripts in /scripts.
fn busybox_root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let bb = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.exists())?;
        let r = scratch(&format!("bb-root-{}", std::process::id()));
        for d in ["bin", "sbin", "usr/bin", "usr/sbin", "tmp", "proc", "dev", "etc", "root", "scripts"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::copy(bb, r.join("bin/busybox")).unwrap();
        let list = Command::new(r.join("bin/busybox")).arg("--list-full").output().unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            let dst = r.join(applet);
            if applet != "bin/busybox" && !dst.exists() {
                std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink("/bin/busybox", &dst).unwrap();
            }
        }
        // The native (chroot) run needs /dev/null for background jobs (root only; umbra mounts
        // its own devtmpfs over /dev).
        let _ = Command::new("mknod").args(["-m", "666"]).arg(r.join("dev/null")).args(["c", "1", "3"]).status();
        std::fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        std::fs::write(r.join("etc/group"), "root:x:0:\n").unwrap();
        for e in std::fs::read_dir(workspace().join("tests/scripts")).unwrap().flatten() {
            std::fs::copy(e.path(), r.join("scripts").join(e.file_name())).unwrap();
        }
        Some(r)
    })
    .as_deref()
}

fn run_script_umbra(root: &Path, script: &str) -> std::process::Output {
    let root = root.to_str().unwrap();
    run_umbra(&["run", "--root", root, "--", "/bin/sh", &format!("/scripts/{script}")], Duration::from_secs(120))
}

fn run_script_native(root: &Path, script: &str) -> Option<std::process::Output> {
    let is_root = Command::new("id").arg("-u").output().ok().map(|o| o.stdout == b"0\n").unwrap_or(false);
    if !is_root {
        return None;
    }
    let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"].into_iter().find(|p| Path::new(p).exists())?;
    Command::new(chroot)
        .arg(root)
        .args(["/usr/bin/env", "-i", "PATH=/bin:/usr/bin:/sbin:/usr/sbin", "HOME=/root", "/bin/sh"])
        .arg(format!("/scripts/{script}"))
        .output()
        .ok()
}

fn check(script: &str) {
    let Some(root) = busybox_root() else {
        eprintln!("SKIPPED: no busybox (apt-get install busybox-static)");
        return;
    };
    let got = run_script_umbra(root, script);
    match run_script_native(root, script) {
        Some(want) => {
            assert_eq!(stdout(&got), stdout(&want), "{script}: guest stderr:\n{}\nnative stderr:\n{}", stderr(&got), stderr(&want));
            assert_eq!(got.status.code(), want.status.code(), "{script} exit status; stderr:\n{}", stderr(&got));
        }
        None => eprintln!("note: not root, {script} not compared with a native run"),
    }
}

#[test]
fn pipelines_redirections_heredocs() {
    check("pipeline.sh");
}

#[test]
fn exit_statuses() {
    check("status.sh");
}

#[test]
fn background_jobs_traps_and_kill() {
    check("jobs.sh");
}

#[test]
fn text_and_file_tools() {
    check("tools.sh");
}

#[test]
fn shebang_scripts() {
    check("shebang.sh");
}

#[test]
fn ps_lists_processes() {
    let Some(root) = busybox_root() else { return };
    let got = run_script_umbra(root, "ps.sh");
    assert_eq!(stdout(&got), "ps\nsh\nsleep\n", "stderr: {}", stderr(&got));
}

/// `/proc/PID/task/TID` has no `task` directory (Linux's `tid_base_stuff`): a walk of `/proc`
/// ends (trinity's file list walked `task/1/task/1/…` until it ran out of memory).
#[test]
fn proc_task_directories_do_not_nest() {
    let Some(root) = busybox_root() else { return };
    let script = "ls /proc/self/task/*/ | grep -c '^task$'; \
                  ls /proc/self/task/*/task 2>/dev/null || echo no-nested-task; \
                  n=$(find /proc 2>/dev/null | wc -l); [ $n -lt 100000 ] && echo walk-ends";
    let out = run_umbra(&["run", "--root", root.to_str().unwrap(), "--", "/bin/sh", "-c", script], Duration::from_secs(120));
    assert_eq!(stdout(&out), "0\nno-nested-task\nwalk-ends\n", "stderr:\n{}", stderr(&out));
}

/// `/proc/PID/ns/*` name umbra's single namespaces as Linux's initial ones (`pid:[4026531836]`),
/// the same for every process.
#[test]
fn proc_ns_links_name_the_namespaces() {
    let Some(root) = busybox_root() else { return };
    let script = "ls /proc/self/ns | wc -l; readlink /proc/self/ns/pid; readlink /proc/1/ns/uts; \
                  [ \"$(readlink /proc/self/ns/net)\" = \"$(readlink /proc/1/ns/net)\" ] && echo same-net";
    let out = run_umbra(&["run", "--root", root.to_str().unwrap(), "--", "/bin/sh", "-c", script], Duration::from_secs(60));
    assert_eq!(stdout(&out).replace(' ', ""), "10\npid:[4026531836]\nuts:[4026531838]\nsame-net\n", "stderr:\n{}", stderr(&out));
}
