//! AF_INET/AF_INET6 sockets (the networking issue): guest↔guest TCP and UDP over 127.0.0.1,
//! ::1 and dual-stack sockets, each compared with the same static program run natively on the
//! host's loopback. The programs bind port 0 only and print nothing port-specific; the native
//! halves still run one at a time, since they share the host's port space.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// A root with this file's guest programs in /bin and the usual mount points.
fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("inet-root-{}", std::process::id()));
        for d in ["bin", "tmp", "dev", "proc", "root"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        build_c("inet", &r.join("bin").join("inet"), &[]);
        r
    })
}

/// The native runs use the host's loopback: one at a time.
static NATIVE: Mutex<()> = Mutex::new(());

/// Runs `/bin/inet SECTION` under umbra and natively; output and exit status must match.
fn compare(section: &str) {
    let root_s = root().to_str().unwrap().to_string();
    let got = run_umbra(&["run", "--root", &root_s, "--", "/bin/inet", section], Duration::from_secs(120));
    let want = {
        let _one = NATIVE.lock().unwrap_or_else(|e| e.into_inner());
        run_native(&root().join("bin").join("inet"), &[section])
    };
    assert_eq!(stdout(&got), stdout(&want), "inet {section}: umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code(), "inet {section} exit status; stderr:\n{}", stderr(&got));
}

#[test]
fn tcp_connect_accept_names_dual_stack_and_v6only_match_linux() {
    compare("stream");
}

#[test]
fn bind_errors_ephemeral_ports_reuseaddr_and_reuseport_match_linux() {
    compare("bind");
}

#[test]
fn refused_nonblocking_connect_reset_epipe_and_sigpipe_match_linux() {
    compare("errors");
}

#[test]
fn peek_waitall_urgent_data_big_transfers_and_full_buffers_match_linux() {
    compare("flags");
}

#[test]
fn udp_connected_unconnected_pktinfo_mmsg_and_errors_match_linux() {
    compare("udp");
}

#[test]
fn ip_tcp_udp_and_ipv6_options_and_tcp_info_match_linux() {
    compare("opts");
}
