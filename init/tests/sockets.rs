//! AF_UNIX sockets (the sockets/events issue, items 1 and 2), each compared with the same
//! static program run natively: stream, datagram and seqpacket pairs, paths and abstract names,
//! the backlog, accept, shutdown and close, MSG_* flags, timeouts, SCM_RIGHTS and
//! SCM_CREDENTIALS, permissions as an unprivileged user, /proc, and bad input in Linux's errno
//! order. The tests run as root; programs drop privileges in a child where it matters.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// A root with this file's guest programs in /bin and the usual mount points.
fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("sockets-root-{}", std::process::id()));
        for d in ["bin", "tmp", "dev", "proc", "root", "hostdir"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(r.join("hostdir"), std::fs::Permissions::from_mode(0o777)).unwrap();
        for p in ["unix", "unixerr"] {
            build_c(p, &r.join("bin").join(p), &[]);
        }
        r
    })
}

fn guest(args: &[&str]) -> std::process::Output {
    let root = root().to_str().unwrap().to_string();
    let mut a = vec!["run", "--root", &root, "--"];
    a.extend_from_slice(args);
    run_umbra(&a, Duration::from_secs(120))
}

/// Runs `/bin/PROG ARGS` under umbra and natively; standard output and the exit status must
/// match.
fn compare(prog: &str, args: &[&str]) {
    compare_with(prog, args, args);
}

/// Like [`compare`], with different arguments for the umbra run (`guest_args`) and the native
/// one (`args`).
fn compare_with(prog: &str, guest_args: &[&str], args: &[&str]) {
    let mut full = vec![format!("/bin/{prog}")];
    full.extend(guest_args.iter().map(|s| s.to_string()));
    let full: Vec<&str> = full.iter().map(String::as_str).collect();
    let got = guest(&full);
    let want = run_native(&root().join("bin").join(prog), args);
    assert_eq!(stdout(&got), stdout(&want), "{prog} {args:?}: umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code(), "{prog} {args:?} exit status; stderr:\n{}", stderr(&got));
}

#[test]
fn pairs_read_write_shutdown_close_and_sigpipe_match_linux() {
    compare("unix", &["pairs"]);
}

#[test]
fn peek_waitall_trunc_boundaries_and_sizes_match_linux() {
    compare("unix", &["flags"]);
}

#[test]
fn timeouts_send_buffer_and_interrupted_waits_match_linux() {
    compare("unix", &["timeouts"]);
}

/// The `bind` section binds a fixed abstract name; natively that name lives in the host's one
/// namespace, so the two tests running it must not run their native halves at once.
static ABSTRACT_NAME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn bind_paths_abstract_names_and_autobind_match_linux() {
    let _one_at_a_time = ABSTRACT_NAME.lock().unwrap_or_else(|e| e.into_inner());
    compare("unix", &["bind"]);
}

/// The same on the root filesystem (hostfs): socket files are real host socket inodes, a path
/// too long for a host `sockaddr_un` included.
#[test]
fn bind_on_hostfs_matches_linux() {
    let _one_at_a_time = ABSTRACT_NAME.lock().unwrap_or_else(|e| e.into_inner());
    compare_with("unix", &["bind", "/hostdir"], &["bind"]);
}

#[test]
fn connect_and_permissions_on_hostfs_match_linux() {
    compare_with("unix", &["connect", "/hostdir"], &["connect"]);
    compare_with("unix", &["perms", "/hostdir"], &["perms"]);
}

#[test]
fn listen_connect_accept_backlog_and_datagram_association_match_linux() {
    compare("unix", &["connect"]);
}

#[test]
fn scm_rights_match_linux() {
    compare("unix", &["scm"]);
}

#[test]
fn unreachable_cycles_of_sockets_in_flight_are_collected() {
    compare("unix", &["gc"]);
}

#[test]
fn credentials_match_linux() {
    compare("unix", &["creds"]);
}

#[test]
fn socket_file_permissions_match_linux() {
    compare("unix", &["perms"]);
}

#[test]
fn proc_fd_links_and_proc_net_unix_match_linux() {
    compare("unix", &["proc"]);
}

#[test]
fn socket_family_type_and_protocol_errors_match_linux() {
    compare("unixerr", &["socket"]);
}

#[test]
fn calls_on_non_sockets_match_linux() {
    compare("unixerr", &["notsock"]);
}

#[test]
fn garbage_message_headers_match_linux() {
    compare("unixerr", &["msghdr"]);
}

#[test]
fn sendmmsg_and_recvmmsg_match_linux() {
    compare("unixerr", &["mmsg"]);
}

#[test]
fn socket_options_match_linux() {
    compare("unixerr", &["opts"]);
}

#[test]
fn running_out_of_descriptors_matches_linux() {
    compare("unixerr", &["emfile"]);
}

/// Families and netlink protocols umbra lacks (the host has them, so there is no native run to
/// compare with). `NETLINK_ROUTE` exists: `ip addr` uses it (tests/debian.rs).
#[test]
fn families_umbra_lacks_are_eafnosupport() {
    let out = guest(&["/bin/unixerr", "families"]);
    assert_eq!(
        stdout(&out),
        "socket(AF_INET, STREAM): 3 ok\n\
         socket(AF_INET6, DGRAM): 4 ok\n\
         socket(AF_INET, type 99): -1 EINVAL\n\
         socket(AF_NETLINK, RAW, NETLINK_AUDIT): -1 EPROTONOSUPPORT\n\
         socket(AF_PACKET, RAW): -1 EAFNOSUPPORT\n\
         socketpair(AF_INET, STREAM): -1 EOPNOTSUPP\n",
        "stderr:\n{}",
        stderr(&out)
    );
}

/// Random socket syscalls with random, mostly bad, arguments (fixed seeds): umbra neither
/// panics nor hangs, and the guest survives (there is no native run: descriptor numbers and
/// so the random walk differ from one environment to the next).
#[test]
fn random_socket_calls_do_not_break_the_kernel() {
    for seed in ["1", "2", "3"] {
        let out = guest(&["/bin/unixerr", "fuzz", seed]);
        assert_eq!(stdout(&out), "done\n", "seed {seed}: stderr:\n{}", stderr(&out));
        assert_eq!(out.status.code(), Some(0), "seed {seed}");
    }
}
