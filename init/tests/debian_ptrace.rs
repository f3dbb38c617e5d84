//! Real debuggers on guest ptrace, in the Debian bookworm test tree (see tests/debian.rs and
//! tools/debian/build-image.sh, which installs strace and gdb): each command runs under umbra
//! and natively under chroot, and prints the same. Says SKIPPED when no tree can be had.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;


/// The gdb test's program and its source, built on the host: `(binary, source)`.
fn gdb_prog(dir: &Path) -> (PathBuf, PathBuf) {
    let src = dir.join("prog.c");
    std::fs::copy(workspace().join("tests/guest/gdb_prog.c"), &src).unwrap();
    let bin = dir.join("prog");
    let st = Command::new("gcc").args(["-g", "-O0", "-no-pie", "-o"]).arg(&bin).arg("prog.c").current_dir(dir).status().unwrap();
    assert!(st.success(), "building the gdb test program failed");
    (bin, src)
}

/// Runs `bash -c script` under umbra on a fresh image of the tree holding `files` in /root,
/// and natively chrooted (/root a tmpfs holding the same files); returns both outputs.
fn both(name: &str, script: &str, files: &[PathBuf]) -> Option<(Output, Output)> {
    let tree = debian_tree(&["usr/bin/strace", "usr/bin/gdb"])?;
    if !have_e2fsprogs() {
        eprintln!("SKIPPED: no e2fsprogs");
        return None;
    }
    let dir = scratch(name);
    let img = dir.join("debian.img");
    mke2fs_from_dir(&tree, &img, "ext4", "2G", &[]);
    for f in files {
        let name = f.file_name()?.to_str()?;
        let out = Command::new("debugfs").arg("-w").arg("-R").arg(format!("write {} /root/{name}", f.display())).arg(&img).output().ok()?;
        assert!(out.status.success(), "debugfs write failed");
    }
    let got = run_umbra(&["run", "--root", img.to_str()?, "--", "/bin/bash", "-c", script], Duration::from_secs(180));
    let want = native(&tree, script, files)?;
    Some((got, want))
}

/// `bash -c script` chrooted into `tree` in a private mount namespace with fresh tmpfs on
/// /tmp and /root (`files` copied there) and proc on /proc: the cached tree is never written.
fn native(tree: &Path, script: &str, files: &[PathBuf]) -> Option<Output> {
    let t = tree.to_str()?;
    let copies: String = files.iter().map(|f| format!(" && cp {} {t}/root/", f.display())).collect();
    let setup = format!(
        "mount -t tmpfs none {t}/tmp && mount -t proc proc {t}/proc && mount -t tmpfs none {t}/root{copies} && exec chroot {t} /bin/bash -c \"$0\""
    );
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &setup, script])
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        .output()
        .ok()
}

/// The syscall names of an `strace -f` log, one sequence per process, sorted (processes run
/// concurrently, so their lines interleave differently from run to run). Resumed halves of
/// interrupted calls are dropped (their names were counted when they started), and so are
/// the timing-dependent parts: `rt_sigreturn` of a SIGCHLD handler, and a `wait4` repeated
/// because SIGCHLD came before or after the child's exit.
fn syscall_sequences(log: &str) -> Vec<String> {
    let mut per_pid: Vec<(String, Vec<String>)> = Vec::new();
    for line in log.lines() {
        let Some((pid, rest)) = line.trim().split_once(' ') else { continue };
        let rest = rest.trim_start();
        if rest.starts_with("<...") || rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        let Some((name, _)) = rest.split_once('(') else { continue };
        if name == "rt_sigreturn" {
            continue;
        }
        let i = match per_pid.iter().position(|(p, _)| p == pid) {
            Some(i) => i,
            None => {
                per_pid.push((pid.to_string(), Vec::new()));
                per_pid.len() - 1
            }
        };
        let seq = &mut per_pid[i].1;
        if name == "wait4" && seq.last().is_some_and(|l| l == "wait4") {
            continue;
        }
        seq.push(name.to_string());
    }
    let mut v: Vec<String> = per_pid.into_iter().map(|(_, s)| s.join(" ")).collect();
    v.sort();
    v
}

#[test]
fn strace_follows_a_pipeline_like_natively() {
    let script = "cd /root && export PATH=/usr/bin:/bin && strace -f -o /tmp/out sh -c 'ls | wc -l' >/dev/null && cat /tmp/out";
    let Some((got, want)) = both("ptrace-strace-f", script, &[]) else { return };
    assert_eq!(got.status.code(), Some(0), "umbra's stderr:\n{}", stderr(&got));
    let (g, w) = (syscall_sequences(&stdout(&got)), syscall_sequences(&stdout(&want)));
    assert_eq!(g.len(), 3, "sh, ls and wc: {}", stdout(&got));
    assert_eq!(g, w, "umbra's log:\n{}\nnative log:\n{}", stdout(&got), stdout(&want));
}

#[test]
fn strace_attaches_to_a_running_sleep() {
    let script = "sleep 3 & p=$!; sleep 0.5; strace -p $p -o /tmp/o 2>/dev/null; echo strace=$?; cat /tmp/o";
    let Some((got, want)) = both("ptrace-strace-p", script, &[]) else { return };
    assert_eq!(stdout(&got), stdout(&want), "umbra's stderr:\n{}", stderr(&got));
    assert!(stdout(&got).contains("restart_syscall"), "{}", stdout(&got));
}

#[test]
fn gdb_breaks_backtraces_and_prints_like_natively() {
    let dir = scratch("ptrace-gdb-prog");
    let (bin, src) = gdb_prog(&dir);
    let script = "cd /root && gdb -nx -batch -ex 'break main' -ex run -ex bt -ex 'info registers rip' -ex 'p x' -ex continue ./prog 2>&1";
    let Some((got, want)) = both("ptrace-gdb", script, &[bin, src]) else { return };
    // The inferior's pid differs (umbra numbers its own processes).
    let norm = |o: &Output| stdout(o).lines().map(|l| if l.starts_with("[Inferior 1 (process ") { "[Inferior 1 (process N) exited normally]".to_string() } else { l.to_string() }).collect::<Vec<_>>().join("\n");
    assert_eq!(norm(&got), norm(&want), "umbra's stderr:\n{}", stderr(&got));
    assert!(norm(&got).contains("$1 = 42"), "{}", norm(&got));
}

#[test]
fn strace_follows_threads() {
    let script = "strace -f -o /tmp/o python3 -c 'import threading; t = threading.Thread(target=print, args=(1,)); t.start(); t.join()'; \
                  echo rc=$?; grep -c '+++ exited with 0 +++' /tmp/o; grep -c '^[0-9]* *clone3(' /tmp/o";
    let Some((got, want)) = both("ptrace-strace-threads", script, &[]) else { return };
    assert_eq!(stdout(&got), stdout(&want), "umbra's stderr:\n{}", stderr(&got));
}
