//! AF_INET/AF_INET6 sockets (the networking issue): guest↔guest TCP and UDP over 127.0.0.1,
//! ::1 and dual-stack sockets, each compared with the same static program run natively on the
//! host's loopback. The programs bind port 0 only and print nothing port-specific; the native
//! halves still run one at a time, since they share the host's port space.

mod common;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
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
        build_c("netclient", &r.join("bin").join("netclient"), &[]);
        std::fs::copy("/bin/busybox", r.join("bin").join("busybox")).unwrap();
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

/// `umbra run [FLAGS] --root <root> -- ARGS` to completion.
fn umbra(flags: &[&str], args: &[&str]) -> std::process::Output {
    let root_s = root().to_str().unwrap().to_string();
    let mut a: Vec<&str> = vec!["run"];
    a.extend_from_slice(flags);
    a.extend_from_slice(&["--root", &root_s, "--"]);
    a.extend_from_slice(args);
    run_umbra(&a, Duration::from_secs(120))
}

#[test]
fn ip_addr_shows_lo_and_eth0_and_net_none_only_lo() {
    let o = umbra(&[], &["/bin/busybox", "ip", "addr"]);
    let out = stdout(&o);
    assert!(out.contains("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536"), "{out}");
    assert!(out.contains("inet 127.0.0.1/8 scope host lo"), "{out}");
    assert!(out.contains("inet6 ::1/128 scope host"), "{out}");
    assert!(out.contains("2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500"), "{out}");
    assert!(out.contains("link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff"), "{out}");
    assert!(out.contains("inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0"), "{out}");
    let o = umbra(&[], &["/bin/busybox", "ip", "route"]);
    assert_eq!(stdout(&o), "default via 10.0.2.2 dev eth0 \n10.0.2.0/24 dev eth0 scope link  src 10.0.2.15 \n");
    let o = umbra(&[], &["/bin/busybox", "ifconfig", "eth0"]);
    assert!(stdout(&o).contains("inet addr:10.0.2.15  Bcast:10.0.2.255  Mask:255.255.255.0"), "{}", stdout(&o));
    let o = umbra(&["--net", "none"], &["/bin/busybox", "ip", "addr"]);
    assert!(stdout(&o).contains("lo:") && !stdout(&o).contains("eth0"), "{}", stdout(&o));
}

/// A host TCP server on 127.0.0.1 answering one connection with "host:" + what it read.
fn host_echo_server() -> (u16, std::thread::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (mut s, peer) = l.accept().unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).unwrap();
        s.write_all(format!("host:{got}").as_bytes()).unwrap();
        format!("{} {got}", peer.ip())
    });
    (port, h)
}

#[test]
fn guest_reaches_a_host_server_as_10_0_2_2() {
    let (port, h) = host_echo_server();
    let o = umbra(&[], &["/bin/netclient", "connect", "10.0.2.2", &port.to_string(), "hi from guest"]);
    assert_eq!(stdout(&o), "connect: ok\nreply: host:hi from guest\n", "stderr: {}", stderr(&o));
    assert_eq!(h.join().unwrap(), "127.0.0.1 hi from guest");
}

#[test]
fn busybox_wget_fetches_from_a_host_http_server() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let body = "x".repeat(300_000);
    let b2 = body.clone();
    let h = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        while r.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
            line.clear();
        }
        let mut s = s;
        write!(s, "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{b2}", b2.len()).unwrap();
    });
    // Into a guest file: umbra's output pipe is only read once it exits.
    let script = format!("/bin/busybox wget -q -O /tmp/big http://10.0.2.2:{port}/big && /bin/busybox md5sum < /tmp/big");
    let o = umbra(&[], &["/bin/busybox", "sh", "-c", &script]);
    h.join().unwrap();
    let want = String::from_utf8(std::process::Command::new("md5sum").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().and_then(|mut c| {
        c.stdin.take().unwrap().write_all(body.as_bytes())?;
        c.wait_with_output()
    }).unwrap().stdout).unwrap();
    assert_eq!(stdout(&o), want, "stderr: {}", stderr(&o));
}

#[test]
fn net_none_makes_the_host_unreachable() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let o = umbra(&["--net", "none"], &["/bin/netclient", "connect", "10.0.2.2", &port, "x"]);
    assert_eq!(stdout(&o), "connect: ENETUNREACH\n");
    let o = umbra(&["--net", "none"], &["/bin/netclient", "udpecho", "10.0.2.2", &port, "x"]);
    assert_eq!(stdout(&o), "sendto: ENETUNREACH\n");
}

#[test]
fn udp_echo_from_guest_to_host_and_back() {
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = u.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        let (n, from) = u.recv_from(&mut buf).unwrap();
        let reply = format!("host:{}", String::from_utf8_lossy(&buf[..n]));
        u.send_to(reply.as_bytes(), from).unwrap();
    });
    let o = umbra(&[], &["/bin/netclient", "udpecho", "10.0.2.2", &port.to_string(), "ping"]);
    h.join().unwrap();
    assert_eq!(stdout(&o), "reply from 10.0.2.2 port-matches 1: host:ping\n", "stderr: {}", stderr(&o));
}

/// A free host port (bound and released: another process could take it meanwhile, which
/// would only make umbra report the publish failure and the test fail loudly).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Reads lines from a running umbra until one equals `want` (panics at end of output).
fn wait_line(r: &mut impl BufRead, want: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "umbra ended before printing {want:?}");
        if line.trim_end() == want {
            return;
        }
    }
}

#[test]
fn publish_hands_host_connections_and_datagrams_to_guest_servers() {
    let hp = free_port();
    let root_s = root().to_str().unwrap().to_string();
    let rule = format!("127.0.0.1:{hp}:8080");
    let mut child = spawn_umbra(&["run", "--publish", &rule, "--root", &root_s, "--", "/bin/netclient", "serve", "8080"]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    wait_line(&mut out, "listening");
    let mut s = TcpStream::connect(("127.0.0.1", hp)).unwrap();
    s.write_all(b"from host").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "echo:from host");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "peer 10.0.2.2\ngot: from host\n");
    assert!(child.wait().unwrap().success());

    let up = free_port();
    let rule = format!("{up}:5353/udp");
    let mut child = spawn_umbra(&["run", "--publish", &rule, "--root", &root_s, "--", "/bin/netclient", "udpserve", "5353"]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    wait_line(&mut out, "listening");
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    u.send_to(b"dgram", ("127.0.0.1", up)).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = u.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"echo:dgram");
    assert_eq!(from.port(), up);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "from 10.0.2.2: dgram\n");
    assert!(child.wait().unwrap().success());
}

fn host_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
}

#[test]
fn ten_thousand_relayed_connections_leak_no_host_fds() {
    let data = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctl = TcpListener::bind("127.0.0.1:0").unwrap();
    let (dp, cp) = (data.local_addr().unwrap().port(), ctl.local_addr().unwrap().port());
    let server = std::thread::spawn(move || {
        for s in data.incoming().take(10_000) {
            drop(s);
        }
    });
    let root_s = root().to_str().unwrap().to_string();
    let mut child = spawn_umbra(&["run", "--root", &root_s, "--", "/bin/netclient", "churn", "10.0.2.2", &dp.to_string(), &cp.to_string(), "10000"]);
    let (c, _) = ctl.accept().unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut w = c;
    wait_line(&mut r, "before");
    let before = host_fds(child.id());
    w.write_all(b"g").unwrap();
    wait_line(&mut r, "after");
    let after = host_fds(child.id());
    w.write_all(b"g").unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(child.wait().unwrap().success());
    server.join().unwrap();
    assert_eq!(out, "connected 10000 of 10000\n");
    assert_eq!(before, after, "umbra's host fds before and after 10 000 connections");
}

#[test]
fn ping_answers_own_addresses_and_the_gateway_only() {
    for dst in ["10.0.2.2", "127.0.0.1", "10.0.2.15"] {
        let o = umbra(&[], &["/bin/busybox", "ping", "-c", "1", dst]);
        assert!(stdout(&o).contains("1 packets transmitted, 1 packets received, 0% packet loss"), "{dst}: {}{}", stdout(&o), stderr(&o));
    }
    let o = umbra(&[], &["/bin/busybox", "ping", "-c", "1", "192.0.2.1"]);
    assert!(stderr(&o).contains("Network is unreachable"), "{}", stderr(&o));
    let o = umbra(&["--net", "none"], &["/bin/busybox", "ping", "-c", "1", "10.0.2.2"]);
    assert!(stderr(&o).contains("Network is unreachable"), "{}", stderr(&o));
}

/// A host client writes to a published guest server that does not read: the writes stop once
/// the guest socket's window and the host socket's buffers are full (memory stays bounded);
/// then the client vanishes with a reset, and the guest reads every byte that arrived before
/// it, then `ECONNRESET`.
#[test]
fn a_guest_that_never_reads_bounds_the_relay_and_a_vanished_host_peer_resets() {
    let hp = free_port();
    let root_s = root().to_str().unwrap().to_string();
    let rule = format!("127.0.0.1:{hp}:8080");
    let mut child = spawn_umbra(&["run", "--publish", &rule, "--root", &root_s, "--", "/bin/netclient", "sink", "8080", "3"]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    wait_line(&mut out, "listening");
    let mut s = TcpStream::connect(("127.0.0.1", hp)).unwrap();
    s.set_nonblocking(true).unwrap();
    let chunk = vec![7u8; 65536];
    let mut sent = 0usize;
    let start = std::time::Instant::now();
    let mut stalled_since = std::time::Instant::now();
    // Write until the writes have stalled for 300 ms (the guest is asleep for 3 s).
    while start.elapsed() < Duration::from_secs(2) && stalled_since.elapsed() < Duration::from_millis(300) {
        match s.write(&chunk) {
            Ok(n) => {
                sent += n;
                stalled_since = std::time::Instant::now();
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    assert!(sent < 64 << 20, "the relay took {sent} bytes from a client of a guest that never reads");
    arch_um::hostnet::set_linger_zero(&s);
    drop(s);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    let words: Vec<&str> = rest.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"read"), "{rest}");
    let got: usize = words.get(1).and_then(|w| w.parse().ok()).unwrap_or(usize::MAX);
    assert!(got <= sent && got > 0, "guest read {got} of {sent}");
    assert_eq!(words.get(3), Some(&"ECONNRESET"), "{rest}");
}
