//! System V IPC (shared memory, semaphores, message queues) and POSIX message queues, each
//! guest program compared with the same static program run natively in a fresh IPC namespace
//! (`unshare -i`, and `-m` so the mqueue mount stays private), where ids start from 0 as in a
//! freshly booted umbra. Covers the error paths, blocking and waking, fork/exec/exit, an
//! ordinary user's permission errors (setuid after fork), and util-linux's `ipcmk`/`ipcs`/
//! `ipcrm` on the Debian tree.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// A root with the IPC guest programs in /bin.
fn ipc_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("ipc-root-{}", std::process::id()));
        for d in ["bin", "tmp", "dev", "proc", "root"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        for p in ["sysv_shm", "sysv_sem", "sysv_msg", "posix_mq", "ipcfuzz"] {
            build_c(p, &r.join("bin").join(p), &[]);
        }
        r
    })
}

fn guest(args: &[&str]) -> Output {
    let root = ipc_root().to_str().unwrap().to_string();
    let mut a = vec!["run", "--root", &root, "--"];
    a.extend_from_slice(args);
    run_umbra(&a, Duration::from_secs(120))
}

/// Runs the program natively in new IPC and mount namespaces; `None` (with a note) where that
/// cannot be done (not root, no `unshare`).
fn native(prog: &str, args: &[&str]) -> Option<Output> {
    let unshare = ["/usr/bin/unshare", "/bin/unshare"].into_iter().find(|p| Path::new(p).exists())?;
    let probe = Command::new(unshare).args(["-i", "-m", "true"]).stdin(Stdio::null()).output().ok()?;
    if !probe.status.success() {
        eprintln!("note: cannot create an IPC namespace here; not compared with Linux");
        return None;
    }
    let exe = ipc_root().join("bin").join(prog);
    Command::new(unshare).args(["-i", "-m", "--propagation", "private"]).arg(exe).args(args).stdin(Stdio::null()).output().ok()
}

/// Runs `/bin/PROG ARGS` under umbra and natively; output and exit status must match.
fn compare(prog: &str, args: &[&str]) {
    compare_with(prog, args, args);
}

/// As `compare`, with different arguments for the native run (host paths).
fn compare_with(prog: &str, args: &[&str], native_args: &[&str]) {
    let path = format!("/bin/{prog}");
    let mut full = vec![path.as_str()];
    full.extend_from_slice(args);
    let got = guest(&full);
    assert_eq!(got.status.code(), Some(0), "{prog} {args:?}: stdout:\n{}\nstderr:\n{}", stdout(&got), stderr(&got));
    let Some(want) = native(prog, native_args) else { return };
    assert_eq!(want.status.code(), Some(0), "native {prog} {args:?}: {}", stderr(&want));
    assert_eq!(stdout(&got), stdout(&want), "{prog} {args:?}: umbra's stderr:\n{}", stderr(&got));
}

#[test]
fn shm_calls_and_errors_match_linux() {
    compare("sysv_shm", &["basic"]);
}

#[test]
fn shm_is_shared_across_fork() {
    compare("sysv_shm", &["fork"]);
}

#[test]
fn shm_found_by_key_from_another_program_and_dropped_at_exec() {
    compare("sysv_shm", &["key"]);
}

#[test]
fn shm_permissions_of_an_ordinary_user() {
    compare("sysv_shm", &["perm"]);
}

#[test]
fn sem_calls_and_errors_match_linux() {
    compare("sysv_sem", &["basic"]);
}

#[test]
fn sem_sleepers_timeouts_signals_and_removal() {
    compare("sysv_sem", &["wait"]);
}

#[test]
fn sem_ping_pong_between_two_processes() {
    compare("sysv_sem", &["pingpong"]);
}

#[test]
fn sem_undo_is_applied_at_exit() {
    compare("sysv_sem", &["undo"]);
}

#[test]
fn sem_permissions_of_an_ordinary_user() {
    compare("sysv_sem", &["perm"]);
}

#[test]
fn msg_calls_types_and_errors_match_linux() {
    compare("sysv_msg", &["basic"]);
}

#[test]
fn msg_blocking_senders_and_receivers() {
    compare("sysv_msg", &["wait"]);
}

#[test]
fn msg_permissions_of_an_ordinary_user() {
    compare("sysv_msg", &["perm"]);
}

#[test]
fn mq_calls_and_errors_match_linux() {
    compare("posix_mq", &["basic"]);
}

#[test]
fn mq_blocking_send_and_receive() {
    compare("posix_mq", &["wait"]);
}

#[test]
fn mq_notify_matches_linux() {
    compare("posix_mq", &["notify"]);
}

#[test]
fn mq_filesystem_shows_queues_as_files() {
    let dir = scratch(&format!("ipc-mqueue-mount-{}", std::process::id()));
    compare_with("posix_mq", &["fs", "/tmp/mq"], &["fs", dir.to_str().unwrap()]);
}

#[test]
fn mq_permissions_of_an_ordinary_user() {
    compare("posix_mq", &["perm"]);
}

/// Random IPC syscalls with random, mostly bad, arguments (fixed seeds): umbra neither panics
/// nor hangs, and the guest survives (no native run: ids and so the random walk differ).
#[test]
fn random_ipc_calls_do_not_break_the_kernel() {
    for seed in ["1", "2", "3"] {
        let out = guest(&["/bin/ipcfuzz", seed]);
        assert_eq!(stdout(&out), "done\n", "seed {seed}: stderr:\n{}", stderr(&out));
        assert_eq!(out.status.code(), Some(0), "seed {seed}");
    }
}


/// util-linux's `ipcmk` creates objects, `ipcs` lists them (from /proc/sysvipc) and `ipcrm`
/// removes them, as under Linux in a fresh IPC namespace (keys are random: not shown).
#[test]
fn debian_ipcmk_ipcs_ipcrm() {
    let Some(tree) = debian_tree(&["usr/bin/ipcs"]) else {
        eprintln!("SKIPPED: no Debian tree");
        return;
    };
    if !have_e2fsprogs() {
        return;
    }
    let script = "set -e
ipcmk -M 8192 -p 0640 | sed 's/[0-9]\\+$/N/'
ipcmk -S 3 | sed 's/[0-9]\\+$/N/'
ipcmk -Q -p 0600 | sed 's/[0-9]\\+$/N/'
ipcs -m | awk 'NF { $1 = \"KEY\"; print }'
ipcs -s | awk 'NF { $1 = \"KEY\"; print }'
ipcs -q | awk 'NF { $1 = \"KEY\"; print }'
ipcs -m -i 0 | sed 's/cpid=[0-9]*/cpid=P/' | grep -v change_time
ipcs -l
ipcrm -a
ipcs | awk 'NF'
echo done";
    let dir = scratch("ipc-debian");
    let img = dir.join("debian.img");
    mke2fs_from_dir(&tree, &img, "ext2", "1G", &[]);
    let got = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/bash", "-c", script], Duration::from_secs(120));
    assert!(stdout(&got).ends_with("done\n"), "stdout:\n{}\nstderr:\n{}", stdout(&got), stderr(&got));
    let t = tree.to_str().unwrap();
    let setup = format!("mount -t tmpfs none {t}/tmp && mount -t proc proc {t}/proc && exec chroot {t} /bin/bash -c \"$0\"");
    let want = Command::new("unshare")
        .args(["-i", "-m", "--propagation", "private", "sh", "-c", &setup, script])
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap();
    assert_eq!(stdout(&got), stdout(&want), "umbra's stderr:\n{}", stderr(&got));
}
