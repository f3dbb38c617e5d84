//! End-to-end tests on a Debian bookworm userland (a `debootstrap --variant=minbase` tree made
//! by `tools/debian/build-image.sh`, cached between runs, turned into an ext4 image per test):
//! software nobody here wrote, compared with the same commands run natively under `chroot`.
//! The tests say SKIPPED when no tree can be had (not root, no debootstrap, no network).

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;



/// Runs `bash -c script` under umbra on a fresh image and natively under chroot; returns both.
fn both(name: &str, script: &str) -> Option<(std::process::Output, std::process::Output)> {
    let dir = scratch(name);
    let img = debian_image(&dir, &["usr/bin/python3"])?;
    let got = run_umbra(&["run", "--root", img.to_str()?, "--", "/bin/bash", "-c", script], Duration::from_secs(120));
    let want = native(&debian_tree(&["usr/bin/python3"])?, script)?;
    Some((got, want))
}

/// Runs `bash -c script` natively chrooted into `tree`, in a private mount namespace with a
/// fresh tmpfs on /tmp and proc on /proc (what `umbra run` mounts), so the cached tree is
/// never written.
fn native(tree: &Path, script: &str) -> Option<std::process::Output> {
    let t = tree.to_str()?;
    let setup = format!("mount -t tmpfs none {t}/tmp && mount -t proc proc {t}/proc && exec chroot {t} /bin/bash -c \"$0\"");
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &setup, script])
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        .output()
        .ok()
}

fn assert_same(name: &str, script: &str) {
    let Some((got, want)) = both(name, script) else { return };
    assert_eq!(stdout(&got), stdout(&want), "{name}: umbra's stderr:\n{}", stderr(&got));
    assert_eq!(got.status.code(), want.status.code(), "{name}: exit status; umbra's stderr:\n{}", stderr(&got));
}

#[test]
fn python_runs_its_standard_library() {
    let script = r#"python3 - <<'PY'
import sys, json, hashlib, sqlite3, ssl, subprocess, threading, os, tempfile
print(sys.version_info[:2])
print(json.dumps({"a": [1, 2.5, None]}, sort_keys=True))
print(hashlib.sha256(b"umbra").hexdigest())
db = sqlite3.connect(":memory:")
db.execute("create table t(x)")
db.executemany("insert into t values (?)", [(i,) for i in range(100)])
print(db.execute("select sum(x) from t").fetchone())
print(subprocess.run(["/bin/echo", "child"], capture_output=True).stdout)
out = []
ts = [threading.Thread(target=lambda i=i: out.append(i * i)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(sorted(out))
with tempfile.TemporaryDirectory() as d:
    p = os.path.join(d, "f")
    open(p, "w").write("x" * 10000)
    print(os.path.getsize(p), len(os.listdir(d)))
print(ssl.OPENSSL_VERSION.split()[0])
PY"#;
    assert_same("debian-python", script);
}

#[test]
fn shell_and_coreutils_work() {
    let script = "set -e; cd /tmp; mkdir -p a/b; echo hi > a/b/f; cp -r a c; find c | sort; sort -r /etc/passwd | head -3 | cut -d: -f1; ls /usr/bin | wc -l; sed -n 1p /etc/os-release; ps -eo comm= | head -1 >/dev/null; echo done";
    assert_same("debian-shell", script);
}

/// `/proc/sys` as procps's `sysctl` and a root shell use it: listing, reading, writing the host
/// name (seen by `uname`), a tunable, and garbage refused with EINVAL.
#[test]
fn sysctl_reads_and_writes_proc_sys() {
    let dir = scratch("debian-sysctl");
    let Some(img) = debian_image(&dir, &["usr/bin/python3"]) else { return };
    let script = "sysctl -a 2>/dev/null | grep -c '^kernel\\.'; sysctl -n kernel.ostype fs.inotify.max_user_watches; \
                  echo guest1 > /proc/sys/kernel/hostname && uname -n; sysctl -q -w vm.swappiness=10 && cat /proc/sys/vm/swappiness; \
                  echo junk > /proc/sys/vm/swappiness 2>/dev/null || echo refused";
    let out = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/bash", "-c", script], Duration::from_secs(60));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.first().and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n >= 10), "{text}\n{}", stderr(&out));
    assert_eq!(&lines[1..], ["Linux", "8192", "guest1", "10", "refused"], "{text}\n{}", stderr(&out));
}

/// `dmesg` (util-linux, through `/dev/kmsg`) shows umbra's own kernel log from the boot, and a
/// message written to `/dev/kmsg` by user space; `dmesg -S` reads it through `syslog(2)`.
#[test]
fn dmesg_shows_the_kernel_log() {
    let dir = scratch("debian-dmesg");
    let Some(img) = debian_image(&dir, &["usr/bin/python3"]) else { return };
    // The patterns are bracketed so they do not match the command line, which is logged too.
    let script = "echo '<4>hello from user space' > /dev/kmsg; dmesg | grep -c 'Linux versio[n]'; dmesg -x | grep 'hello from use[r]' | tail -1 | cut -c1-11; dmesg -S | grep -c 'Run /bin/bash as ini[t]'";
    let out = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/bash", "-c", script], Duration::from_secs(60));
    assert_eq!(stdout(&out), "1\nuser  :warn\n1\n", "stderr:\n{}", stderr(&out));
}

/// Python's sockets and `asyncio` (epoll + AF_UNIX): a socketpair, and an event loop serving 20
/// concurrent clients on a Unix-socket server — compared with the same script natively.
#[test]
fn python_asyncio_serves_unix_socket_clients() {
    let script = r#"python3 - <<'PY'
import socket, asyncio
a, b = socket.socketpair()
a.send(b"ping")
print("socketpair", b.recv(4))
async def handle(r, w):
    data = await r.readline()
    w.write(data.upper())
    await w.drain()
    w.close()
async def main():
    path = "/tmp/srv.sock"
    srv = await asyncio.start_unix_server(handle, path)
    async def client(i):
        r, w = await asyncio.open_unix_connection(path)
        w.write(b"hello %d\n" % i)
        await w.drain()
        return await r.readline()
    res = await asyncio.gather(*[client(i) for i in range(20)])
    print("asyncio", len(res), sorted(res)[:2])
    srv.close()
    await srv.wait_closed()
asyncio.run(main())
PY"#;
    assert_same("debian-asyncio", script);
}

/// The system administration userland over netlink and PAM: `ip addr` lists `lo` and `eth0` (rtnetlink),
/// `useradd -m alice && su alice -c id` (PAM takes its "no audit" path on EPROTONOSUPPORT).
#[test]
fn ip_addr_useradd_and_su_work() {
    let dir = scratch("debian-admin");
    let Some(img) = debian_image(&dir, &["usr/bin/python3"]) else { return };
    let script = "ip -o addr | awk '{print $2, $3, $4}'; ip -o link show dev lo | cut -d' ' -f2; useradd -m alice && su alice -c id && stat -c '%U %a' /home/alice";
    let out = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/bash", "-c", script], Duration::from_secs(60));
    assert_eq!(
        stdout(&out),
        "lo inet 127.0.0.1/8\nlo inet6 ::1/128\neth0 inet 10.0.2.15/24\nlo:\nuid=1000(alice) gid=1000(alice) groups=1000(alice)\nalice 755\n",
        "stderr:\n{}",
        stderr(&out)
    );
}

/// Python's pty module on umbra's ptys: a child session with the slave as controlling
/// terminal sees `/dev/pts/0`, the window size set on the master, and `ps` names its terminal
/// and shows it in the foreground. (Umbra only: the native chroot has no devpts.)
#[test]
fn python_pty_gives_a_child_its_controlling_terminal() {
    let script = r#"
import os, termios, struct, fcntl
m, s = os.openpty()
fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 100, 0, 0))
pid = os.fork()
if pid == 0:
    os.close(m)
    os.setsid()
    fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(s, fd)
    os.execv('/bin/bash', ['bash', '-c', 'tty; stty size; ps -o tty= -p $$; ps -o stat= -p $$ | cut -c2-'])
os.close(s)
out = b''
while True:
    try:
        d = os.read(m, 1024)
    except OSError:
        break
    if not d:
        break
    out += d
print(out.decode().replace('\r\n', '\n'), end='')
print(os.waitpid(pid, 0)[1])
"#;
    let dir = scratch("debian-pty");
    let Some(img) = debian_image(&dir, &["usr/bin/python3"]) else { return };
    let got = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/usr/bin/python3", "-c", script], Duration::from_secs(120));
    assert_eq!(stdout(&got), "/dev/pts/0\n40 100\npts/0\ns+\n0\n", "stderr:\n{}", stderr(&got));
}

/// util-linux `script -qc tty` (the issue's check): the command runs on a new pty and says so.
#[test]
fn script_runs_a_command_on_a_pty() {
    let dir = scratch("debian-script");
    let Some(img) = debian_image(&dir, &["usr/bin/python3"]) else { return };
    let out = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/bash", "-c", "script -qc tty /dev/null </dev/null"], Duration::from_secs(60));
    assert_eq!(stdout(&out), "/dev/pts/0\r\n", "stderr:\n{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
}

/// tmux (ptys, Unix sockets, libevent over epoll): a detached session's pane runs on
/// `/dev/pts/0` with the size asked for, and `capture-pane` shows what it printed. The wait
/// for the pane is a bounded poll, not a sleep.
#[test]
fn tmux_runs_a_pane_on_a_pty() {
    let dir = scratch("debian-tmux");
    let Some(img) = debian_image(&dir, &["usr/bin/python3"]) else { return };
    let script = "tmux new-session -d -x 80 -y 24 'echo hello from tmux; stty size; tty; sleep 60'; \
                  for i in $(seq 300); do tmux capture-pane -p | grep -q pts && break; sleep 0.1; done; \
                  tmux ls -F '#{session_name}:#{session_windows}'; tmux capture-pane -p | grep .; tmux kill-server";
    let out = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/bash", "-c", script], Duration::from_secs(90));
    assert_eq!(stdout(&out), "0:1\nhello from tmux\n24 80\n/dev/pts/0\n", "stderr:\n{}", stderr(&out));
}

/// What Debian's `mountkernfs.sh` and a person at the shell do with mounts, through util-linux:
/// `/run` as tmpfs with `noexec,nosuid,size=10%,mode=755` (listed with its options, and a
/// program copied there refused), sysfs listed by `mount` and read (`/sys/class/net/lo`,
/// Python's CPU count agreeing with `/sys/devices/system/cpu/online`), `remount,ro` then
/// `EROFS`, and `mount --bind`.
#[test]
fn kernel_filesystems_mount_as_debian_does() {
    let dir = scratch("debian-mounts");
    let Some(img) = debian_image(&dir, &["usr/bin/python3"]) else { return };
    let script = "mount -t tmpfs -o noexec,nosuid,size=10%,mode=755 tmpfs /run && findmnt -no FSTYPE,OPTIONS /run | sed 's/  */ /; s/size=[0-9]*k/size=N/'; \
                  cp /bin/true /run/t && { /run/t 2>/dev/null; echo \"exec on noexec: $?\"; }; \
                  mount | grep -c '^sysfs on /sys type sysfs'; cat /sys/class/net/lo/operstate /sys/class/net/lo/mtu; \
                  python3 -c 'import os; n = open(\"/sys/devices/system/cpu/online\").read().strip(); print(os.cpu_count() == (int(n.split(\"-\")[-1]) + 1))'; \
                  mount -o remount,ro /run && { touch /run/x 2>&1 | grep -c 'Read-only file system'; }; \
                  mount --bind /etc /mnt && test -f /mnt/passwd && echo bind ok; umount /mnt && umount /run && echo unmounted";
    let out = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/bash", "-c", script], Duration::from_secs(120));
    let want = "tmpfs rw,nosuid,noexec,relatime,size=N,mode=755\nexec on noexec: 126\n1\nunknown\n65536\nTrue\n1\nbind ok\nunmounted\n";
    assert_eq!(stdout(&out), want, "stderr:\n{}", stderr(&out));
}

/// The disks issue's first check: on Debian's default ext4, `dpkg -i` installs a package
/// (and `apt-get` installs one from a local .deb and checks its cache), `dpkg -r` removes one,
/// and after a clean exit `e2fsck -fn` finds the image clean.
#[test]
fn dpkg_and_apt_install_on_ext4_and_the_image_stays_clean() {
    let dir = scratch("debian-dpkg");
    let Some(img) = debian_image(&dir, &["usr/bin/dpkg"]) else { return };
    for (name, version) in [("umbra-hello", "1.0"), ("umbra-apt", "2.0")] {
        let pkg = dir.join(name);
        std::fs::create_dir_all(pkg.join("DEBIAN")).unwrap();
        std::fs::create_dir_all(pkg.join(format!("usr/share/{name}"))).unwrap();
        let control = format!("Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: umbra <u@example.com>\nDescription: a test package\n");
        std::fs::write(pkg.join("DEBIAN/control"), control).unwrap();
        std::fs::write(pkg.join(format!("usr/share/{name}/hello.txt")), format!("{name} {version}\n")).unwrap();
        let deb = dir.join(format!("{name}.deb"));
        let st = std::process::Command::new("dpkg-deb").arg("--build").arg(&pkg).arg(&deb).output().unwrap();
        assert!(st.status.success(), "dpkg-deb: {}", String::from_utf8_lossy(&st.stderr));
        let w = std::process::Command::new("debugfs").arg("-w").arg("-R").arg(format!("write {} /root/{name}.deb", deb.display())).arg(&img).output().unwrap();
        assert!(w.status.success());
    }
    let script = "set -e; dpkg -i /root/umbra-hello.deb >/dev/null; cat /usr/share/umbra-hello/hello.txt; \
                  apt-get install -y /root/umbra-apt.deb >/dev/null 2>&1; cat /usr/share/umbra-apt/hello.txt; \
                  apt-get check >/dev/null; dpkg -r umbra-hello >/dev/null; \
                  dpkg -s umbra-hello >/dev/null 2>&1 || echo removed; \
                  dpkg-query -W -f='${Status}\\n' umbra-apt; sync";
    let out = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/bash", "-c", script], Duration::from_secs(300));
    assert_eq!(
        stdout(&out),
        "umbra-hello 1.0\numbra-apt 2.0\nremoved\ninstall ok installed\n",
        "stderr:\n{}",
        stderr(&out)
    );
    assert_e2fsck_clean(&img);
}
