//! Crash safety of the ext3/ext4 journal (jbd2, ordered mode): umbra runs `jcrash` (an untar
//! loop plus appends with `fsync`, tests/guest/jcrash.c) on an image and is killed with SIGKILL
//! at random points, many times. After most kills umbra mounts the image again (replaying the
//! journal) and unmounts it; then `e2fsck -fn` must find it clean, every byte whose `fsync`
//! returned must be there, and every byte of a file that is there must be the byte written (no
//! stale blocks exposed: ordered mode writes data before the metadata that points at it). After
//! the other kills the next run itself replays, and may be killed while it does.
//!
//! Kill points come from a seed printed at the start (`JBD2_CRASH_SEED=N` repeats a run). The
//! rounds stop after a time budget, so the test takes at most about a minute however slow the
//! host is; a slow host runs fewer rounds, never a different verdict.

mod common;
use common::*;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Stop starting rounds after this long.
const BUDGET: Duration = Duration::from_secs(40);
const MAX_ROUNDS: usize = 30;
const MIN_ROUNDS: usize = 3;
const TAR_DIRS: usize = 12;
const TAR_FILES: usize = 20;

/// Byte `o` of log `id` (as jcrash.c's `pattern`).
fn log_byte(id: u64, o: u64) -> u8 {
    ((o / 4096).wrapping_mul(131).wrapping_add(o.wrapping_mul(7)).wrapping_add(id * 13).wrapping_add(o >> 16)) as u8
}

/// The contents of tarball member `d<dir>/f<file>`.
fn tar_member(n: usize) -> Vec<u8> {
    (0..(n * 997) % 24000).map(|k| ((n * 7 + k * 3) & 0xff) as u8).collect()
}

/// A root with busybox, jcrash and /data/t.tar; `None` without a static busybox.
fn crash_tree() -> Option<&'static Path> {
    static TREE: OnceLock<Option<PathBuf>> = OnceLock::new();
    TREE.get_or_init(|| {
        let bb = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.exists())?;
        let r = scratch(&format!("jbd2-tree-{}", std::process::id()));
        for d in ["bin", "data", "work", "dev", "proc", "tmp"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::copy(bb, r.join("bin/busybox")).unwrap();
        build_c("jcrash", &r.join("bin/jcrash"), &[]);
        let src = scratch(&format!("jbd2-tarsrc-{}", std::process::id()));
        for d in 0..TAR_DIRS {
            std::fs::create_dir_all(src.join(format!("d{d}"))).unwrap();
            for f in 0..TAR_FILES {
                std::fs::write(src.join(format!("d{d}/f{f}")), tar_member(d * TAR_FILES + f)).unwrap();
            }
        }
        let st = Command::new("tar").arg("-cf").arg(r.join("data/t.tar")).arg("-C").arg(&src).arg(".").status().unwrap();
        assert!(st.success(), "tar failed");
        Some(r)
    })
    .as_deref()
}

/// What the guest reported before a kill: fsynced sizes and unlinked logs, over all rounds.
#[derive(Default)]
struct Claims {
    fsynced: HashMap<String, u64>,
    deleted: HashSet<String>,
}

impl Claims {
    fn note(&mut self, line: &str) {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["F", name, size] => {
                let s: u64 = size.parse().unwrap();
                let e = self.fsynced.entry(name.to_string()).or_insert(0);
                *e = (*e).max(s);
            }
            ["D", name] => {
                self.deleted.insert(name.to_string());
            }
            _ => {}
        }
    }
}

/// A small deterministic generator for kill delays (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Starts jcrash under umbra on `img`, with `env` added to umbra's environment.
fn spawn_jcrash(img: &Path, env: &[(&str, String)]) -> std::process::Child {
    Command::new(umbra_bin())
        .args(["run", "--root", img.to_str().unwrap(), "--", "/bin/jcrash", "/work", "/data/t.tar"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting umbra")
}

/// Runs jcrash on `img` and SIGKILLs umbra after `delay`; returns the complete lines it printed.
fn run_and_kill(img: &Path, delay: Duration) -> Vec<String> {
    let child = spawn_jcrash(img, &[]);
    collect_lines(child, |child, _| {
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
    })
}

/// Runs jcrash on `img` until umbra aborts at its `n`-th journal commit (before the
/// checkpoint); returns the complete lines it printed.
fn run_to_crash_point(img: &Path, n: u64) -> Vec<String> {
    let child = spawn_jcrash(img, &[("UMBRA_JBD2_CRASH_AFTER_COMMITS", n.to_string())]);
    collect_lines(child, |child, _| {
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(60) {
                child.kill().unwrap();
                panic!("umbra never reached its crash point after commit {n}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    })
}

/// Reads the child's stdout lines while `stop` ends it, then reaps it.
/// `stop` sees the lines read so far.
fn collect_lines(
    mut child: std::process::Child,
    stop: impl FnOnce(&mut std::process::Child, &Mutex<Vec<String>>),
) -> Vec<String> {
    let out = child.stdout.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(out);
        let mut buf = Vec::new();
        while r.read_until(b'\n', &mut buf).unwrap_or(0) > 0 {
            if buf.ends_with(b"\n") {
                sink.lock().unwrap().push(String::from_utf8_lossy(&buf).trim_end().to_string());
            }
            buf.clear();
        }
    });
    stop(&mut child, &lines);
    child.wait().unwrap();
    reader.join().unwrap();
    let v = lines.lock().unwrap().clone();
    v
}

/// Whether the superblock of `img` says `needs_recovery`.
fn needs_recovery(img: &Path) -> bool {
    let data = std::fs::read(img).unwrap();
    let incompat = u32::from_le_bytes(data[1024 + 0x60..1024 + 0x64].try_into().unwrap());
    incompat & 4 != 0
}

/// Mounts `img` with umbra (replaying the journal) and unmounts it cleanly.
fn replay(img: &Path) {
    let o = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/busybox", "true"], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(0), "replay run failed: {}", stderr(&o));
    assert!(!stderr(&o).contains("read-only"), "replay mounted read-only: {}", stderr(&o));
}

/// Checks /work of `img` against the claims: fsynced bytes there, no byte wrong.
fn check_contents(img: &Path, claims: &Claims, round: usize) {
    // Beside the image: tests running in parallel must not share dump directories.
    let out = img.with_extension(format!("dump{round}"));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let st = Command::new("debugfs").arg("-R").arg(format!("rdump /work {}", out.display())).arg(img).output().unwrap();
    assert!(st.status.success(), "debugfs rdump failed");
    let work = out.join("work");
    for (name, &size) in &claims.fsynced {
        match std::fs::metadata(work.join(name)) {
            Ok(m) => assert!(m.len() >= size, "round {round}: {name} has {} bytes, {size} were fsynced", m.len()),
            Err(_) => assert!(claims.deleted.contains(name), "round {round}: fsynced {name} is missing"),
        }
    }
    for e in std::fs::read_dir(&work).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some((i, g)) = name.strip_prefix('l').and_then(|s| s.split_once('g')) {
            let id = i.parse::<u64>().unwrap() * 1000 + g.parse::<u64>().unwrap();
            let data = std::fs::read(e.path()).unwrap();
            if let Some(o) = (0..data.len()).find(|&o| data[o] != log_byte(id, o as u64)) {
                panic!("round {round}: {name} byte {o} of {} is wrong", data.len());
            }
        } else if name.starts_with('t') {
            check_untarred(&e.path(), round);
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// Every file of an untarred tree is a prefix of the tarball's member (tar may have been
/// killed mid-file, never showing other bytes).
fn check_untarred(tree: &Path, round: usize) {
    for d in 0..TAR_DIRS {
        for f in 0..TAR_FILES {
            let p = tree.join(format!("d{d}/f{f}"));
            let Ok(data) = std::fs::read(&p) else { continue };
            let want = tar_member(d * TAR_FILES + f);
            assert!(
                data.len() <= want.len() && data[..] == want[..data.len()],
                "round {round}: {} holds bytes the tarball does not have",
                p.display()
            );
        }
    }
}

/// Mounts `img` with umbra to replay it, then checks it with e2fsck and the claims.
fn replay_and_check(img: &Path, claims: &Claims, round: usize) {
    replay(img);
    assert!(!needs_recovery(img), "round {round}: needs_recovery still set after a clean unmount");
    assert_e2fsck_clean(img);
    check_contents(img, claims, round);
}

/// Kill rounds on an image made by `mkfs -t FSTYPE`.
fn crash_rounds(fstype: &str, extra: &[&str]) {
    if !have_e2fsprogs() {
        return;
    }
    let Some(tree) = crash_tree() else {
        eprintln!("SKIPPED: journal crash test: no static busybox on the host");
        return;
    };
    let img = scratch(&format!("jbd2-{fstype}-{}", std::process::id())).join("disk.img");
    mke2fs_from_dir(tree, &img, fstype, "96M", extra);
    let seed = std::env::var("JBD2_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    eprintln!("journal crash test on {fstype}: JBD2_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let mut claims = Claims::default();
    let (mut recovered, mut rounds, mut checked) = (0, 0, 0);
    let start = Instant::now();
    while rounds < MAX_ROUNDS && (rounds < MIN_ROUNDS || start.elapsed() < BUDGET) {
        // Mostly kills in the middle of the writes; now and then one during mount and replay.
        let ms = if rng.next().is_multiple_of(6) { 5 + rng.next() % 100 } else { 300 + rng.next() % 2200 };
        for line in run_and_kill(&img, Duration::from_millis(ms)) {
            claims.note(&line);
        }
        if needs_recovery(&img) {
            recovered += 1;
        }
        rounds += 1;
        // Now and then the next run replays instead (and may be killed while it does).
        if !rng.next().is_multiple_of(3) {
            replay_and_check(&img, &claims, rounds);
            checked = rounds;
        }
    }
    if checked != rounds {
        replay_and_check(&img, &claims, rounds);
    }
    eprintln!(
        "{rounds} kills, {recovered} replays, {} logs with fsynced data, {:?}",
        claims.fsynced.len(),
        start.elapsed()
    );
    assert!(!claims.fsynced.is_empty(), "the guest never reported an fsync");
    assert!(recovered > 0, "no kill left a journal to replay");
}

#[test]
fn ext3_survives_sigkill_at_random_points() {
    crash_rounds("ext3", &["-b", "1024"]);
}

/// Whether the journal of `img` holds a commit block, as e2fsprogs' `logdump` reads it.
fn logdump_has_commit(img: &Path) -> bool {
    let o = Command::new("debugfs").arg("-R").arg("logdump").arg(img).output().unwrap();
    String::from_utf8_lossy(&o.stdout).contains("(commit block)")
}

/// Replays `img`'s journal with e2fsprogs (`e2fsck -fy`), the oracle for the log format.
fn e2fsck_replay(img: &Path) {
    let o = Command::new("e2fsck").arg("-fy").arg(img).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("recovering journal"), "e2fsck did not replay the journal:\n{out}");
    // Exit 1: "file system errors corrected" — here only the journal replay (checked below).
    assert!(matches!(o.status.code(), Some(0 | 1)), "e2fsck -fy exited {:?}:\n{out}", o.status.code());
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with("Pass ") && !l.contains("recovering journal")).collect();
    assert!(lines.len() <= 2, "e2fsck fixed more than the journal:\n{out}");
}

/// Commits cut off before their checkpoint: the log umbra wrote is replayed by e2fsck (on a
/// copy) and by umbra, and both results are clean and hold every fsynced byte.
fn crash_point_rounds(fstype: &str, extra: &[&str]) {
    if !have_e2fsprogs() {
        return;
    }
    let Some(tree) = crash_tree() else {
        eprintln!("SKIPPED: journal replay test: no static busybox on the host");
        return;
    };
    let dir = scratch(&format!("jbd2-cp-{fstype}-{}", std::process::id()));
    let img = dir.join("disk.img");
    let copy = dir.join("copy.img");
    mke2fs_from_dir(tree, &img, fstype.trim_end_matches("-csum"), "96M", extra);
    if fstype.ends_with("-csum") {
        enable_journal_csum_v3(&img);
    }
    let mut claims = Claims::default();
    let start = Instant::now();
    let mut rounds = 0;
    while rounds < 8 && (rounds < MIN_ROUNDS || start.elapsed() < Duration::from_secs(20)) {
        let n = 2 + (rounds as u64 * 37) % 90;
        for line in run_to_crash_point(&img, n) {
            claims.note(&line);
        }
        assert!(needs_recovery(&img), "round {rounds}: no needs_recovery at the crash point");
        assert!(logdump_has_commit(&img), "round {rounds}: logdump finds no committed transaction");
        std::fs::copy(&img, &copy).unwrap();
        e2fsck_replay(&copy);
        assert_e2fsck_clean(&copy);
        check_contents(&copy, &claims, rounds);
        replay(&img);
        assert_e2fsck_clean(&img);
        check_contents(&img, &claims, rounds);
        rounds += 1;
    }
    eprintln!("{rounds} crash points replayed by e2fsck and by umbra, {:?}", start.elapsed());
}

#[test]
fn ext3_committed_transactions_replay_in_e2fsck_and_umbra() {
    crash_point_rounds("ext3", &["-b", "1024"]);
}

/// Gives the journal of `img` 64-bit tags and jbd2 checksum v3 (what Linux's `journal_checksum`
/// mount option or `metadata_csum` makes), by rewriting the journal superblock.
fn enable_journal_csum_v3(img: &Path) {
    use std::os::unix::fs::FileExt;
    let o = Command::new("debugfs").arg("-R").arg("bmap <8> 0").arg(img).output().unwrap();
    let blk: u64 = String::from_utf8_lossy(&o.stdout).trim().parse().expect("journal block 0");
    let f = std::fs::OpenOptions::new().read(true).write(true).open(img).unwrap();
    let mut sb = [0u8; 1024];
    f.read_exact_at(&mut sb, 1024).unwrap();
    let bs = 1024u64 << u32::from_le_bytes(sb[24..28].try_into().unwrap());
    let mut j = [0u8; 1024];
    f.read_exact_at(&mut j, blk * bs).unwrap();
    let incompat = u32::from_be_bytes(j[0x28..0x2C].try_into().unwrap()) | 0x1 | 0x2 | 0x10;
    j[0x28..0x2C].copy_from_slice(&incompat.to_be_bytes());
    j[0x50] = 4; // JBD2_CRC32C_CHKSUM
    j[0xFC..0x100].fill(0);
    let c = fs::ext2::checksum::crc32c_raw(!0, &j);
    j[0xFC..0x100].copy_from_slice(&c.to_be_bytes());
    f.write_all_at(&j, blk * bs).unwrap();
    let o = Command::new("dumpe2fs").arg("-h").arg(img).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("journal_checksum_v3"), "dumpe2fs does not see checksum v3");
}

#[test]
fn ext3_with_journal_checksum_v3_replays_in_e2fsck_and_umbra() {
    crash_point_rounds("ext3-csum", &["-b", "4096"]);
}

/// `s_last_orphan` of `img`.
fn last_orphan(img: &Path) -> u32 {
    let data = std::fs::read(img).unwrap();
    u32::from_le_bytes(data[1024 + 0xE8..1024 + 0xEC].try_into().unwrap())
}

/// A file unlinked while open is on the on-disk orphan list when umbra is killed; the next
/// mount frees it (`ext4_orphan_cleanup`), so `e2fsck -fn` finds no unattached inode.
#[test]
fn ext3_orphan_left_by_a_crash_is_freed_at_mount() {
    if !have_e2fsprogs() {
        return;
    }
    let Some(tree) = crash_tree() else {
        eprintln!("SKIPPED: orphan test: no static busybox on the host");
        return;
    };
    let img = scratch(&format!("jbd2-orphan-{}", std::process::id())).join("disk.img");
    mke2fs_from_dir(tree, &img, "ext3", "32M", &[]);
    let script = "exec 3>/work/orphan; head -c 300000 /data/t.tar >&3; ls -i /work/orphan; rm /work/orphan; sync; echo ready; sleep 100";
    let child = spawn_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/busybox", "sh", "-c", script]);
    let lines = collect_lines(child, |child, lines| {
        let start = Instant::now();
        while !lines.lock().unwrap().iter().any(|l| l == "ready") {
            assert!(start.elapsed() < Duration::from_secs(60), "the guest never said ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap();
    });
    let ino: u32 = lines.iter().find_map(|l| l.split_whitespace().next()?.parse().ok()).expect("inode number from ls -i");
    assert_eq!(last_orphan(&img), ino, "the unlinked open file is not on the on-disk orphan list");
    replay(&img);
    assert_eq!(last_orphan(&img), 0);
    assert_e2fsck_clean(&img);
    let o = Command::new("debugfs").arg("-R").arg(format!("testi <{ino}>")).arg(&img).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("not in use"), "orphan inode {ino} still allocated");
}

#[test]
fn ext4_survives_sigkill_at_random_points() {
    crash_rounds("ext4", &[]);
}

#[test]
fn ext4_committed_transactions_replay_in_e2fsck_and_umbra() {
    crash_point_rounds("ext4", &[]);
}

/// Without any fsync, the write-back timer commits (every 5 s, as jbd2's commit interval):
/// data written by a guest that then just sleeps reaches the image, and survives a SIGKILL.
#[test]
fn ext3_periodic_commit_makes_writes_durable_without_fsync() {
    if !have_e2fsprogs() {
        return;
    }
    let Some(tree) = crash_tree() else {
        eprintln!("SKIPPED: periodic commit test: no static busybox on the host");
        return;
    };
    let img = scratch(&format!("jbd2-periodic-{}", std::process::id())).join("disk.img");
    mke2fs_from_dir(tree, &img, "ext3", "32M", &[]);
    let script = "mkdir /work/late && echo 'written without fsync' > /work/late/f && echo written && sleep 100";
    let child = spawn_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/busybox", "sh", "-c", script]);
    let img2 = img.clone();
    collect_lines(child, move |child, lines| {
        let start = Instant::now();
        while !lines.lock().unwrap().iter().any(|l| l == "written") {
            assert!(start.elapsed() < Duration::from_secs(60), "the guest never said written");
            std::thread::sleep(Duration::from_millis(20));
        }
        // Linux commits within 5 s; allow a loaded host six times that.
        let written = Instant::now();
        while debugfs_cat(&img2, "/work/late/f") != b"written without fsync\n" {
            assert!(written.elapsed() < Duration::from_secs(30), "no commit 30 s after the write");
            std::thread::sleep(Duration::from_millis(200));
        }
        child.kill().unwrap();
    });
    replay(&img);
    assert_e2fsck_clean(&img);
    assert_eq!(debugfs_cat(&img, "/work/late/f"), b"written without fsync\n");
}
