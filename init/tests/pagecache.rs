//! End-to-end tests of the one page cache for file data on an ext2 image: `read`/`write`,
//! shared and private mappings, `sendfile` and `splice` of one file agree in every order and
//! with Linux, truncation of a mapped file gives `SIGBUS` like Linux, and what was written and
//! stored is in the image after umbra exits; two processes running one large program share its
//! file pages (umbra's `/proc/meminfo`), and `/proc/PID/maps` names the program for each of its
//! segments as Linux does; the periodic write-back brings unsynced writes and mapping stores to
//! the disk.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(120);

/// A tree holding `programs` (built from tests/guest) in /bin, the mount points and a writable
/// /work, made into an ext2 image of 4 KiB blocks.
fn image_with(test: &str, programs: &[&str]) -> PathBuf {
    image_sized(test, programs, "64M")
}

fn image_sized(test: &str, programs: &[&str], size: &str) -> PathBuf {
    let dir = scratch(&format!("pagecache-{test}-{}", std::process::id()));
    let tree = dir.join("tree");
    for d in ["bin", "dev", "proc", "tmp", "work"] {
        std::fs::create_dir_all(tree.join(d)).unwrap();
    }
    for p in programs {
        build_c(p, &tree.join("bin").join(p), &[]);
    }
    if programs.contains(&"bigtext") {
        std::fs::copy(tree.join("bin/bigtext"), tree.join("bin/bigdata")).unwrap();
    }
    let img = dir.join("disk.img");
    mke2fs_from_dir(&tree, &img, "ext2", size, &["-b", "4096"]);
    img
}

fn program(img: &Path, name: &str) -> PathBuf {
    img.parent().unwrap().join("tree/bin").join(name)
}

#[test]
fn read_write_and_mappings_agree_in_every_order_like_linux() {
    if !have_e2fsprogs() {
        return;
    }
    let img = image_with("coherence", &["pagecache"]);
    let native_dir = scratch(&format!("pagecache-coherence-native-{}", std::process::id()));
    let native = run_native(&program(&img, "pagecache"), &[native_dir.to_str().unwrap()]);
    assert_eq!(native.status.code(), Some(0), "native: {}", stderr(&native));
    let o = run_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/pagecache", "/work"], TIMEOUT);
    assert_eq!(stdout(&o), stdout(&native), "guest (left) and Linux (right) differ; stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_e2fsck_clean(&img);
    for f in ["a.dat", "b.dat"] {
        let want = std::fs::read(native_dir.join(f)).unwrap();
        assert!(debugfs_cat(&img, &format!("/work/{f}")) == want, "{f} in the image differs from Linux's");
    }
}

#[test]
fn two_runs_of_one_program_share_its_pages_and_maps_name_it() {
    if !have_e2fsprogs() {
        return;
    }
    let img = image_with("share", &["bigtext"]);
    let o = run_umbra(&["run", "--mem", "256M", "--root", img.to_str().unwrap(), "--", "/bin/bigtext", "/bin/bigdata"], TIMEOUT);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    let first_line = out.lines().next().unwrap_or("");
    let kb: Vec<i64> = first_line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert_eq!(kb.len(), 3, "output: {out}");
    // Each instance reads 8 MiB of the program's data: the first brings it into the page
    // cache, the second maps the same frames.
    assert!(kb[0] >= 8 * 1024, "the first run reads the program into memory: {first_line}");
    assert!(kb[1] < 2 * 1024, "the second run shares the first one's pages: {first_line}");
    assert!(kb[2] >= 8 * 1024, "/proc/meminfo's Cached counts them: {first_line}");
    let native = run_native(&program(&img, "bigtext"), &[program(&img, "bigdata").to_str().unwrap()]);
    // Every mapping of the program's segments names it, with Linux's permissions and offsets.
    // (Linux shows the RELRO part glibc makes read-only apart from the read-only segment before
    // it, as that VMA has anonymous pages; umbra merges the two.)
    let maps = |s: &str| s.lines().filter(|l| l.starts_with("maps:")).map(str::to_string).collect::<Vec<_>>();
    let (guest, linux) = (maps(&out), maps(&stdout(&native)));
    assert!(guest.len() >= 4 && guest.iter().all(|l| linux.contains(l)), "the program's mappings: guest {guest:?}, Linux {linux:?}");
}

/// The bytes `pagecache --unsynced` writes (its `unsynced_pattern`).
fn unsynced_pattern() -> Vec<u8> {
    (0..3 * 4096 + 123).map(|i| b'A' + ((i * 7) % 26) as u8).collect()
}

#[test]
fn periodic_write_back_brings_unsynced_data_to_the_disk() {
    if !have_e2fsprogs() {
        return;
    }
    let img = image_with("periodic", &["pagecache"]);
    let mut child = spawn_umbra(&["run", "--root", img.to_str().unwrap(), "--", "/bin/pagecache", "--unsynced", "/work"]);
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let written = BufReader::new(out).lines().map_while(Result::ok).any(|l| l == "written");
        let _ = tx.send(written);
    });
    let written = rx.recv_timeout(TIMEOUT).unwrap_or(false);
    // Nothing syncs: the write-back every 5 s must do it. Poll the image (generously: a loaded
    // host delays the timer), then SIGKILL umbra so nothing is written at exit.
    let want = unsynced_pattern();
    let start = Instant::now();
    let on_disk = |f: &str| debugfs_cat(&img, &format!("/work/{f}")) == want;
    while written && start.elapsed() < TIMEOUT && !(on_disk("w.dat") && on_disk("m.dat")) {
        std::thread::sleep(Duration::from_millis(500));
    }
    child.kill().unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(written, "the guest never said written; stderr: {}", stderr(&o));
    assert!(on_disk("w.dat"), "write(2) data in the image without a sync");
    assert!(on_disk("m.dat"), "shared-mapping stores in the image without a sync");
}

#[test]
fn the_page_cache_is_bounded_by_guest_ram_and_loses_no_dirty_data() {
    if !have_e2fsprogs() {
        return;
    }
    // 96 MiB written and read with 64 MiB of guest RAM, then 48 MiB of anonymous memory.
    let img = image_sized("pressure", &["pagecache"], "160M");
    let args = ["run", "--mem", "64M", "--root", img.to_str().unwrap(), "--", "/bin/pagecache", "--pressure", "/work", "96"];
    let o = run_umbra(&args, TIMEOUT);
    assert_eq!(
        stdout(&o),
        "read after write: ok\nanonymous memory: ok\nread after the anonymous memory: ok\n",
        "stderr: {}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(0));
    assert_e2fsck_clean(&img);
}
