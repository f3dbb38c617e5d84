//! The default root image end to end: it builds from the recipe in `rootfs/` with a static
//! busybox, passes `e2fsck -fn`, and holds the recipe, the applet links and the device nodes.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use tools::rootfs::{build_default_image, ensure_default_image, find_busybox, Options};

/// Whether the image can be built and checked here; says why not when it cannot.
fn can_build() -> bool {
    let e2fs = Command::new("e2fsck").arg("-V").output().is_ok() && Command::new("debugfs").arg("-V").output().is_ok();
    if !e2fs {
        eprintln!("SKIPPED: e2fsprogs not installed");
        return false;
    }
    let scratch = tempfile::tempdir().unwrap();
    match find_busybox(None, scratch.path()) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            false
        }
    }
}

fn debugfs(img: &Path, req: &str) -> String {
    let out = Command::new("debugfs").arg("-R").arg(req).arg(img).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ls -l` lines without the time columns (they hold the build time for some inodes).
fn listing(img: &Path, dir: &str) -> Vec<String> {
    debugfs(img, &format!("ls -l {dir}"))
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() >= 8 {
                format!("{} {} {} {} {} {}", f[0], f[1], f[2], f[3], f[4], f[f.len() - 1])
            } else {
                l.to_string()
            }
        })
        .collect()
}

fn build(dir: &Path, name: &str) -> std::path::PathBuf {
    let img = dir.join(name);
    let t = Instant::now();
    build_default_image(&img, &Options::default()).unwrap();
    let took = t.elapsed();
    assert!(took.as_secs() < 10, "building took {took:?}");
    img
}

#[test]
fn default_image_builds_clean_with_busybox_and_devices() {
    if !can_build() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let img = build(&t.path().join("build"), "rootfs.img");
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 64 << 20);
    let fsck = Command::new("e2fsck").args(["-fn"]).arg(&img).output().unwrap();
    assert!(fsck.status.success(), "e2fsck: {}{}", String::from_utf8_lossy(&fsck.stdout), String::from_utf8_lossy(&fsck.stderr));

    let bin = debugfs(&img, "ls -l /bin");
    assert!(bin.lines().any(|l| l.contains("100755") && l.ends_with(" busybox")), "{bin}");
    assert!(bin.lines().any(|l| l.contains("120777") && l.ends_with(" sh")), "{bin}");
    assert!(debugfs(&img, "stat /bin/sh").contains("Fast link dest: \"busybox\""));
    assert!(debugfs(&img, "stat /sbin/init").contains("Fast link dest: \"../bin/busybox\""));
    assert!(debugfs(&img, "stat /usr/bin/env").contains("Fast link dest: \"../../bin/busybox\""));

    let inittab = debugfs(&img, "cat /etc/inittab");
    for want in ["::sysinit:/etc/init.d/rcS", "::respawn:-/bin/sh", "::ctrlaltdel:/sbin/reboot", "::shutdown:/bin/umount -a -r"] {
        assert!(inittab.lines().any(|l| l == want), "inittab lacks {want}:\n{inittab}");
    }
    assert_eq!(debugfs(&img, "cat /etc/hostname"), "umbra\n");
    assert!(debugfs(&img, "cat /etc/init.d/rcS").contains("Welcome to Umbra"));
    assert!(debugfs(&img, "cat /etc/profile").contains(r"PS1='\u@\h:\w\$ '"));

    let console = debugfs(&img, "stat /dev/console");
    assert!(console.contains("Type: character special"), "{console}");
    assert!(console.contains("Device major/minor number: 05:01"), "{console}");
    assert!(debugfs(&img, "stat /dev/null").contains("Device major/minor number: 01:03"));

    let modes = [("/tmp", "Mode:  01777"), ("/var/tmp", "Mode:  01777"), ("/root", "Mode:  0700"), ("/etc/shadow", "Mode:  0600"), ("/etc/init.d/rcS", "Mode:  0755"), ("/proc", "Mode:  0555")];
    for (path, want) in modes {
        let st = debugfs(&img, &format!("stat {path}"));
        assert!(st.contains(want) && st.contains("User:     0   Group:     0"), "{path}: {st}");
    }
}

#[test]
fn builds_are_deterministic_and_ensure_builds_once() {
    if !can_build() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let a = build(t.path(), "a.img");
    let b = t.path().join("sub/b.img");
    assert!(ensure_default_image(&b).unwrap());
    assert!(!ensure_default_image(&b).unwrap());
    for dir in ["/", "/bin", "/sbin", "/usr/bin", "/etc", "/dev"] {
        assert_eq!(listing(&a, dir), listing(&b, dir), "{dir} differs between builds");
    }
    let stat_a = debugfs(&a, "stat /etc/passwd");
    let mtime = stat_a.lines().find(|l| l.trim_start().starts_with("mtime:")).unwrap();
    assert!(debugfs(&b, "stat /etc/passwd").contains(mtime), "file times differ: {mtime}");
    assert!(std::fs::read_dir(t.path().join("sub")).unwrap().count() == 1, "a partial image was left behind");
}

fn rootfs_cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_umbra-rootfs")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_input_gives_one_line_errors() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("x.img");
    let out = out.to_str().unwrap();
    let script = t.path().join("script");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--out", out, "--busybox", "/nonexistent/busybox"], "busybox /nonexistent/busybox: No such file"),
        (&["--out", out, "--busybox", script.to_str().unwrap()], "not an ELF file"),
        (&["--out", out, "--size", "lots"], "bad size `lots`"),
        (&["--out", out, "--recipe", "/nonexistent"], "rootfs recipe /nonexistent/files"),
        (&["--frobnicate"], "unknown argument `--frobnicate`"),
    ];
    for (args, want) in cases {
        let (ok, err) = rootfs_cli(args);
        assert!(!ok, "{args:?} succeeded");
        assert!(err.starts_with("umbra-rootfs: ") && err.contains(want), "{args:?}: {err}");
    }
    assert!(!Path::new(out).exists());
    if Path::new("/bin/ls").exists() && tools::rootfs::check_static_elf(Path::new("/bin/ls")).is_err() {
        let (ok, err) = rootfs_cli(&["--out", out, "--busybox", "/bin/ls"]);
        assert!(!ok && err.lines().count() == 1 && err.contains("/bin/ls"), "{err}");
    }
}

#[test]
fn too_small_an_image_is_refused() {
    if !can_build() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("tiny.img");
    let e = build_default_image(&img, &Options { size: 1 << 20, ..Options::default() }).unwrap_err();
    assert!(e.contains("image too small"), "{e}");
    assert!(!img.exists());
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0, "a partial image was left behind");
}

/// The `apt-get download busybox-static` fallback (needs the network: run with `--ignored`).
#[test]
#[ignore]
fn apt_fallback_unpacks_a_static_busybox() {
    if Command::new("apt-get").arg("--version").output().is_err() {
        eprintln!("SKIPPED: apt-get not installed");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let bb = tools::rootfs::download_busybox(t.path()).unwrap();
    tools::rootfs::check_static_elf(&bb).unwrap();
    let img = t.path().join("apt.img");
    build_default_image(&img, &Options { busybox: Some(bb), ..Options::default() }).unwrap();
    assert!(debugfs(&img, "ls -l /bin").contains("busybox"));
}
