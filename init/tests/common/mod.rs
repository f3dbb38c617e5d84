//! Shared helpers for end-to-end tests: build guest programs with the host's gcc/rustc at test
//! time, lay out a root directory, and run the `umbra` binary on it with a timeout.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A scratch directory under the target dir, unique per test binary.
pub fn scratch(name: &str) -> PathBuf {
    let d = workspace().join("target").join("e2e").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Compiles `tests/guest/<name>.c` with `gcc -static` (plus `extra` flags) into `out`.
pub fn build_c(name: &str, out: &Path, extra: &[&str]) {
    let src = workspace().join("tests/guest").join(format!("{name}.c"));
    let st = Command::new("gcc")
        .arg("-O1")
        .args(if extra.is_empty() { &["-static"][..] } else { extra })
        .arg("-o")
        .arg(out)
        .arg(&src)
        .status()
        .expect("gcc is needed for the end-to-end tests");
    assert!(st.success(), "compiling {name}.c failed");
}

/// The root directory with every guest program in /bin, a few files in /etc and the mount
/// points; built once per test binary.
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = scratch(&format!("root-{}", std::process::id()));
        for d in ["bin", "etc/sub", "tmp", "dev", "proc", "root"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        for p in ["hello", "args", "memory", "files", "crash", "signals", "time", "procs", "shmio"] {
            build_c(p, &r.join("bin").join(p), &[]);
        }
        build_c("hello", &r.join("bin/hello-pie"), &["-static-pie", "-fPIE"]);
        std::fs::write(r.join("etc/motd"), "hello world from a file\n").unwrap();
        std::os::unix::fs::symlink("motd", r.join("etc/link")).unwrap();
        std::fs::write(r.join("bin/notelf"), "this is not a program\n").unwrap();
        set_exec(&r.join("bin/notelf"));
        let hello = std::fs::read(r.join("bin/hello")).unwrap();
        std::fs::write(r.join("bin/truncated"), &hello[..300]).unwrap();
        set_exec(&r.join("bin/truncated"));
        let mut arm = hello.clone();
        arm[18] = 183; // e_machine = EM_AARCH64
        std::fs::write(r.join("bin/wrongarch"), &arm).unwrap();
        set_exec(&r.join("bin/wrongarch"));
        r
    })
}

fn set_exec(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The umbra binary under test.
pub fn umbra_bin() -> &'static str {
    env!("CARGO_BIN_EXE_umbra")
}

/// Runs `umbra ARGS` with stdin from /dev/null, killing it after `timeout`.
pub fn run_umbra(args: &[&str], timeout: Duration) -> Output {
    let mut child = Command::new(umbra_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting umbra");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "umbra {:?} timed out after {:?}\nstdout: {}\nstderr: {}",
                args,
                timeout,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

/// `umbra run --root <test root> -- PROGRAM ARGS`.
pub fn run_guest(prog_and_args: &[&str]) -> Output {
    let root = root().to_str().unwrap().to_string();
    let mut args = vec!["run", "--root", &root, "--"];
    args.extend_from_slice(prog_and_args);
    run_umbra(&args, Duration::from_secs(60))
}

/// Stdout as a string.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as a string.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a program natively (the oracle) and returns its output.
pub fn run_native(prog: &Path, args: &[&str]) -> Output {
    Command::new(prog).args(args).stdin(Stdio::null()).output().unwrap()
}

/// Whether e2fsprogs (`mke2fs`, `e2fsck`, `debugfs`) can run; prints why a test is skipped
/// otherwise.
pub fn have_e2fsprogs() -> bool {
    let ok = ["mke2fs", "e2fsck", "debugfs"].iter().all(|b| Command::new(b).arg("-V").output().is_ok());
    if !ok {
        eprintln!("SKIPPED: e2fsprogs (mke2fs, e2fsck, debugfs) is not installed");
    }
    ok
}

/// `mke2fs -q -F -t FSTYPE [extra] -d DIR IMG SIZE` (an image holding a copy of `dir`).
pub fn mke2fs_from_dir(dir: &Path, img: &Path, fstype: &str, size: &str, extra: &[&str]) {
    let out = Command::new("mke2fs")
        .args(["-q", "-F", "-t", fstype])
        .args(extra)
        .arg("-d")
        .arg(dir)
        .arg(img)
        .arg(size)
        .output()
        .expect("running mke2fs");
    assert!(out.status.success(), "mke2fs failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Asserts that `e2fsck -fn IMG` finds nothing to fix (exit 0).
pub fn assert_e2fsck_clean(img: &Path) {
    let out = Command::new("e2fsck").arg("-fn").arg(img).output().expect("running e2fsck");
    assert!(
        out.status.success(),
        "e2fsck -fn {} exited {:?}:\n{}{}",
        img.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The contents of `path` inside the image, read on the host with `debugfs -R 'cat PATH'`.
pub fn debugfs_cat(img: &Path, path: &str) -> Vec<u8> {
    let out = Command::new("debugfs").arg("-R").arg(format!("cat {path}")).arg(img).output().expect("running debugfs");
    out.stdout
}

/// The guest syscalls umbra reported as unimplemented on stderr (`unimplemented syscall X`).
pub fn unimplemented_syscalls(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter_map(|l| l.split("unimplemented syscall ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// A fresh copy of the default busybox root image at `dir/rootfs.img`. The image is built from
/// the recipe in `rootfs/` with `tools::rootfs::build_default_image` once per test binary and
/// copied for each caller, so every test boots a clean disk. `None` (with a SKIPPED line) if
/// no static busybox can be had.
pub fn fresh_boot_image(dir: &Path) -> Option<PathBuf> {
    static TEMPLATE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let d = scratch(&format!("boot-image-{}", std::process::id()));
        let img = d.join("rootfs.img");
        tools::rootfs::build_default_image(&img, &tools::rootfs::Options::default()).map(|()| img)
    });
    match template {
        Ok(t) => {
            let img = dir.join("rootfs.img");
            std::fs::copy(t, &img).expect("copying the boot image");
            Some(img)
        }
        Err(e) => {
            eprintln!("SKIPPED: cannot build the default root image: {e}");
            None
        }
    }
}

/// Copies the shared libraries a dynamically linked host program needs (its interpreter
/// included, as `ldd` lists them) into the same paths under `root`.
pub fn copy_libs(exe: &Path, root: &Path) {
    let ldd = Command::new("ldd").arg(exe).output().expect("running ldd");
    for lib in String::from_utf8_lossy(&ldd.stdout).split_whitespace().filter(|w| w.starts_with('/')) {
        let dst = root.join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(lib, &dst).unwrap();
    }
}

/// Runs a program natively as pid 1 of a new pid namespace (`unshare -p -f`), the oracle for
/// programs that rely on init's signal semantics; `None` (with a note) where that is not
/// possible (not root, no `unshare`).
pub fn run_native_pid1(prog: &Path, args: &[&str]) -> Option<Output> {
    let unshare = ["/usr/bin/unshare", "/bin/unshare"].into_iter().find(|p| Path::new(p).exists())?;
    let probe = Command::new(unshare).args(["-p", "-f", "true"]).stdin(Stdio::null()).output().ok()?;
    if !probe.status.success() {
        eprintln!("note: cannot create a pid namespace here; not compared with Linux");
        return None;
    }
    Command::new(unshare).args(["-p", "-f", "--kill-child"]).arg(prog).args(args).stdin(Stdio::null()).output().ok()
}

/// Starts `umbra ARGS` with stdin from /dev/null and piped output, without waiting.
pub fn spawn_umbra(args: &[&str]) -> std::process::Child {
    Command::new(umbra_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting umbra")
}

/// The host pids whose parent is `pid` (from /proc/*/stat).
pub fn host_children_of(pid: u32) -> Vec<u32> {
    let mut v = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return v };
    for e in dir.flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        let after = stat.rsplit(')').next().unwrap_or("");
        let ppid: u32 = after.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
        if ppid == pid {
            v.push(p);
        }
    }
    v
}

/// Whether host process `pid` exists and is not a zombie.
pub fn host_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

/// The cached Debian test tree (`tools/debian/build-image.sh` builds it once if missing: root,
/// debootstrap and network needed), or `None` with a `SKIPPED` line if it cannot be had or lacks
/// one of `needs` (paths inside the tree, e.g. `usr/bin/gdb`: an old cache).
pub fn debian_tree(needs: &[&str]) -> Option<PathBuf> {
    static TREE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let tree = TREE.get_or_init(|| {
        let script = workspace().join("tools/debian/build-image.sh");
        let out = Command::new("bash").arg(&script).output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string()))
    });
    match tree {
        Err(why) => {
            eprintln!("SKIPPED: no Debian tree: {why}");
            None
        }
        Ok(p) => match needs.iter().find(|n| !p.join(n).exists()) {
            Some(missing) => {
                eprintln!("SKIPPED: the Debian tree has no /{missing} (an old cache?)");
                None
            }
            None => Some(p.clone()),
        },
    }
}

/// A fresh 2 GiB (sparse) image of the Debian tree at `dir/debian.img`, made as Debian and
/// every cloud image make theirs: `mkfs.ext4` with its defaults (`None`, SKIPPED, without the
/// tree, one of `needs`, or e2fsprogs).
pub fn debian_image(dir: &Path, needs: &[&str]) -> Option<PathBuf> {
    let tree = debian_tree(needs)?;
    if !have_e2fsprogs() {
        return None;
    }
    let img = dir.join("debian.img");
    mke2fs_from_dir(&tree, &img, "ext4", "2G", &[]);
    Some(img)
}
