//! Copy-on-write overlays (issue 12 part 4): `umbra boot BASE --cow C.cow`,
//! `umbra run --root BASE --cow C.cow` and UML's `ubd0=C.cow,BASE`. The base's bytes never
//! change (`cmp` with a copy); the changes are there on the next boot with the same COW file;
//! `umbra-mkfs --merge` folds them into an image `e2fsck -fn` passes; a base whose mtime changed
//! but not its contents is accepted, a different base refused with one line; two umbras share
//! one base at once; SIGKILL during `sync`ed writes on an ext3 base loses nothing synced.

mod common;
use common::*;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(90);

/// Runs `umbra ARGS` with `input` on its stdin (a script for the booted shell).
fn run_piped(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(umbra_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting umbra");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("umbra {args:?} timed out\nstdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = writer.join();
    child.wait_with_output().unwrap()
}

/// The `umbra-mkfs` binary, built if this test run has not built it yet.
fn umbra_mkfs_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = Path::new(umbra_bin()).with_file_name("umbra-mkfs");
        let st = Command::new(env!("CARGO")).args(["build", "-q", "-p", "tools", "--bin", "umbra-mkfs"]).current_dir(workspace()).status().unwrap();
        assert!(st.success() && bin.exists(), "building umbra-mkfs");
        bin
    })
}

/// A small ext2 image holding static busybox as /bin/sh and friends, or `None` (SKIPPED).
fn busybox_image(dir: &Path) -> Option<PathBuf> {
    busybox_image_of(dir, "ext2")
}

/// [`busybox_image`] with filesystem type `fstype` (`ext2`, `ext3`).
fn busybox_image_of(dir: &Path, fstype: &str) -> Option<PathBuf> {
    if !have_e2fsprogs() {
        return None;
    }
    let Some(bb) = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.exists()) else {
        eprintln!("SKIPPED: no busybox (apt-get install busybox-static)");
        return None;
    };
    let tree = dir.join("tree");
    for d in ["bin", "dev", "proc", "tmp", "root", "work"] {
        std::fs::create_dir_all(tree.join(d)).unwrap();
    }
    std::fs::copy(bb, tree.join("bin/busybox")).unwrap();
    for applet in ["sh", "cat", "echo", "sleep", "rm", "ls", "sync", "cmp", "dd"] {
        std::os::unix::fs::symlink("busybox", tree.join("bin").join(applet)).unwrap();
    }
    std::fs::write(tree.join("root/kept"), "from the base\n").unwrap();
    let img = dir.join("base.img");
    mke2fs_from_dir(&tree, &img, fstype, "16M", &[]);
    Some(img)
}

fn sh_on(base: &Path, cow: &Path, script: &str) -> Output {
    run_umbra(&["run", "--root", base.to_str().unwrap(), "--cow", cow.to_str().unwrap(), "--", "/bin/sh", "-c", script], TIMEOUT)
}

fn assert_same_file(a: &Path, b: &Path) {
    assert!(std::fs::read(a).unwrap() == std::fs::read(b).unwrap(), "{} changed (cmp with {})", a.display(), b.display());
}

#[test]
fn boot_with_cow_leaves_the_base_alone_and_merges() {
    let dir = scratch(&format!("cow-boot-{}", std::process::id()));
    let Some(base) = fresh_boot_image(&dir) else { return };
    if !have_e2fsprogs() {
        return;
    }
    let pristine = dir.join("pristine.img");
    std::fs::copy(&base, &pristine).unwrap();
    let cow = dir.join("changes.cow");
    let b = base.to_str().unwrap();
    let c = cow.to_str().unwrap();

    let out = run_piped(&["boot", b, "--cow", c], "echo changed > /root/cowfile\nrm /etc/motd\npoweroff\n");
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    assert_same_file(&base, &pristine);
    assert!(cow.exists());

    // The next boot (UML's spelling) sees the changes.
    let ubd0 = format!("ubd0={c},{b}");
    let out = run_piped(&["boot", &ubd0], "cat /root/cowfile\nls /etc/motd || echo no-motd\npoweroff\n");
    let text = stdout(&out).replace("\r\n", "\n");
    assert_eq!(out.status.code(), Some(0), "stdout:\n{text}\nstderr:\n{}", stderr(&out));
    assert!(text.contains("changed\n") && text.contains("no-motd"), "{text}");
    assert_same_file(&base, &pristine);

    let merged = dir.join("merged.img");
    let st = Command::new(umbra_mkfs_bin()).arg("--merge").arg(&cow).arg(&merged).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    assert_same_file(&base, &pristine);
    assert_e2fsck_clean(&merged);
    assert_eq!(debugfs_cat(&merged, "/root/cowfile"), b"changed\n");
    assert!(debugfs_cat(&merged, "/etc/motd").is_empty());

    // In place (uml_moo -d): the base itself gets the changes.
    let st = Command::new(umbra_mkfs_bin()).arg("--merge").arg(&cow).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    assert_same_file(&base, &merged);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_with_cow_keeps_changes_in_the_cow_file() {
    let dir = scratch(&format!("cow-run-{}", std::process::id()));
    let Some(base) = busybox_image(&dir) else { return };
    let pristine = dir.join("pristine.img");
    std::fs::copy(&base, &pristine).unwrap();
    let cow = dir.join("c.cow");
    let o = sh_on(&base, &cow, "echo one > /work/a && dd if=/dev/zero of=/work/big bs=4096 count=300 2>/dev/null && rm /root/kept && sync");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_file(&base, &pristine);
    let cow_len = std::fs::metadata(&cow).unwrap().len();
    let cow_used = std::fs::metadata(&cow).map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512).unwrap();
    assert!(cow_used < cow_len, "the COW file is sparse ({cow_used} of {cow_len} bytes allocated)");
    let o = sh_on(&base, &cow, "cat /work/a; ls -1 /work; ls -1 /root");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "one\na\nbig\n");
    // Without the COW file the base is as it was.
    let o = run_umbra(&["run", "--root", base.to_str().unwrap(), "--ro", "--", "/bin/cat", "/root/kept"], TIMEOUT);
    assert_eq!(stdout(&o), "from the base\n", "{}", stderr(&o));
    let merged = dir.join("merged.img");
    let st = Command::new(umbra_mkfs_bin()).args(["--merge", cow.to_str().unwrap(), merged.to_str().unwrap()]).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    assert_e2fsck_clean(&merged);
    assert_eq!(debugfs_cat(&merged, "/work/a"), b"one\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn touched_base_is_accepted_and_a_different_base_refused_with_one_line() {
    let dir = scratch(&format!("cow-base-{}", std::process::id()));
    let Some(base) = busybox_image(&dir) else { return };
    let cow = dir.join("c.cow");
    assert_eq!(sh_on(&base, &cow, "echo mine > /work/m").status.code(), Some(0));
    // A new mtime, same bytes (UML would refuse this COW file now).
    let st = Command::new("touch").args(["-d", "2001-02-03 04:05:06"]).arg(&base).status().unwrap();
    assert!(st.success());
    let o = sh_on(&base, &cow, "cat /work/m");
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "mine\n"), "{}", stderr(&o));
    // A moved copy of the base is the same base.
    let moved = dir.join("moved.img");
    std::fs::copy(&base, &moved).unwrap();
    let o = sh_on(&moved, &cow, "cat /work/m");
    assert_eq!(stdout(&o), "mine\n", "{}", stderr(&o));
    // The base booted read-write on its own is a different base now.
    assert_eq!(run_umbra(&["run", "--root", base.to_str().unwrap(), "--", "/bin/sh", "-c", "echo x > /work/x"], TIMEOUT).status.code(), Some(0));
    let before = std::fs::read(&cow).unwrap();
    let o = sh_on(&base, &cow, "cat /work/m");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("c.cow") && err.contains("different"), "{err}");
    assert!(std::fs::read(&cow).unwrap() == before, "a refused COW file is left as it was");
    // Another image of another size.
    std::fs::OpenOptions::new().append(true).open(&moved).unwrap().write_all(&[0; 4096]).unwrap();
    let o = sh_on(&moved, &cow, "true");
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_instances_boot_one_base_at_once() {
    let dir = scratch(&format!("cow-two-{}", std::process::id()));
    let Some(base) = busybox_image(&dir) else { return };
    let pristine = dir.join("pristine.img");
    std::fs::copy(&base, &pristine).unwrap();
    // Each writes its name, waits until the other has written too (a marker in the host
    // directory both can see would need hostfs; a generous sleep is enough: only overlap matters,
    // and the check below does not depend on timing), then reads its own file back.
    let run = |name: &str| {
        let cow = dir.join(format!("{name}.cow"));
        let script = format!("echo {name} > /work/who && sleep 2 && cat /work/who");
        Command::new(umbra_bin())
            .args(["run", "--root", base.to_str().unwrap(), "--cow", cow.to_str().unwrap(), "--", "/bin/sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (run("alpha"), run("beta"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_eq!((a.status.code(), stdout(&a).as_str()), (Some(0), "alpha\n"), "{}", stderr(&a));
    assert_eq!((b.status.code(), stdout(&b).as_str()), (Some(0), "beta\n"), "{}", stderr(&b));
    assert_same_file(&base, &pristine);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits (up to a minute: a slow host only delays the kill) for the guest's first `synced` line,
/// lets it run `delay` longer, kills it with SIGKILL and returns every line it printed.
fn kill_after_first_sync(child: &mut std::process::Child, delay: Duration) -> Vec<String> {
    use std::io::BufRead;
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if line.starts_with("synced ") {
                let _ = tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    let _ = rx.recv_timeout(Duration::from_secs(60));
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    reader.join().unwrap()
}

/// SIGKILL in the middle of `sync`ed appends on an ext3/ext4 base under a COW file, several times:
/// every line whose `sync` returned is there when the next run replays the journal from the COW
/// file, the base never changes, and the merged image is `e2fsck -fn` clean. (The COW file's
/// bitmap reaches the disk only after the data it names, at each flush the journal asks for.)
#[test]
fn sigkill_during_synced_writes_loses_nothing_synced_ext3() {
    sigkill_rounds("ext3");
}

/// The same on an ext4 base with `mkfs.ext4`'s default features (metadata_csum, extents, …).
#[test]
fn sigkill_during_synced_writes_loses_nothing_synced_ext4() {
    sigkill_rounds("ext4");
}

fn sigkill_rounds(fstype: &str) {
    let dir = scratch(&format!("cow-crash-{fstype}-{}", std::process::id()));
    let Some(base) = busybox_image_of(&dir, fstype) else { return };
    let pristine = dir.join("pristine.img");
    std::fs::copy(&base, &pristine).unwrap();
    let cow = dir.join("c.cow");
    let (b, c) = (base.to_str().unwrap(), cow.to_str().unwrap());
    let mut synced: Option<u64> = None;
    for (round, delay_ms) in [700u64, 1300, 400, 1900, 1000].into_iter().enumerate() {
        let script = format!("i=0; while true; do echo r{round}-$i >> /work/log; sync; echo synced $i; i=$((i+1)); done");
        let mut child = Command::new(umbra_bin())
            .args(["run", "--root", b, "--cow", c, "--", "/bin/sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = kill_after_first_sync(&mut child, Duration::from_millis(delay_ms));
        let last = lines.iter().filter_map(|l| l.strip_prefix("synced ")).filter_map(|n| n.trim().parse::<u64>().ok()).max();
        // Everything synced in this round (and in earlier ones) must be there now.
        let o = sh_on(&base, &cow, "cat /work/log 2>/dev/null; true");
        assert_eq!(o.status.code(), Some(0), "round {round}: {}", stderr(&o));
        let text = stdout(&o);
        if let Some(n) = last {
            for i in 0..=n {
                assert!(text.lines().any(|l| l == format!("r{round}-{i}")), "round {round}: synced line {i} lost\n{}", stderr(&o));
            }
        }
        eprintln!("{fstype} round {round}: last synced line {last:?}");
        synced = synced.max(last);
        assert_same_file(&base, &pristine);
    }
    assert!(synced.is_some(), "no run got as far as one sync");
    let merged = dir.join("merged.img");
    let st = Command::new(umbra_mkfs_bin()).args(["--merge", c, merged.to_str().unwrap()]).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    assert_e2fsck_clean(&merged);
    let _ = std::fs::remove_dir_all(&dir);
}
