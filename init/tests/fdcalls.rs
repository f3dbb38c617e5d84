//! File-descriptor objects and zero-copy calls (sockets/events issue, item 4), each section of
//! `tests/guest/fdcalls.c` compared with the same static program run natively: memfd_create
//! and file seals, memfd mappings shared across fork, O_TMPFILE on tmpfs and ext2 (linkat by
//! AT_EMPTY_PATH and through /proc/self/fd), pidfds and CLONE_PIDFD, splice/tee/vmsplice,
//! sendfile (to files, pipes and unix sockets), copy_file_range and mincore — error paths
//! included — plus `--strace` decoding.
//!
//! The guest runs on an ext2 image (4 KiB blocks, made by umbra's own mkfs) with its /work
//! directory on ext2 and /tmp on tmpfs; the native run gets a directory of the host's ext4 (the
//! build tree) and one on /dev/shm's tmpfs. Where the host lacks either, the comparison is
//! skipped with a note (the guest must still succeed).

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

/// The image tree: /bin/fdcalls and the mount points, /work a directory on the image.
fn tree() -> &'static Path {
    static TREE: OnceLock<PathBuf> = OnceLock::new();
    TREE.get_or_init(|| {
        let r = scratch("fdcalls-tree");
        for d in ["bin", "dev", "proc", "tmp", "work", "root"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        build_c("fdcalls", &r.join("bin/fdcalls"), &[]);
        r
    })
}

/// The image every test copies (built once per test binary).
fn template_image() -> &'static Path {
    static IMG: OnceLock<PathBuf> = OnceLock::new();
    IMG.get_or_init(|| {
        let img = scratch("fdcalls-image").join("root.img");
        let opts = tools::mkfs::BuildOptions { size: 16 << 20, block_size: Some(4096), device_table: None, label: String::new() };
        tools::mkfs::build(Some(tree()), &img, &opts).unwrap();
        img
    })
}

/// A fresh copy of the image for one test, removed (with its directory) when the test ends.
struct Image {
    path: PathBuf,
}

impl std::ops::Deref for Image {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh copy of the image for test `name`.
fn image(name: &str) -> Image {
    let path = scratch(&format!("fdcalls-{name}")).join("root.img");
    std::fs::copy(template_image(), &path).unwrap();
    Image { path }
}

fn guest(img: &Path, args: &[&str]) -> Output {
    let mut a = vec!["run", "--root", img.to_str().unwrap(), "--", "/bin/fdcalls"];
    a.extend_from_slice(args);
    run_umbra(&a, TIMEOUT)
}

/// The filesystem type of `dir` on the host (`stat -f`), e.g. `ext2/ext3` or `tmpfs`.
fn host_fs_type(dir: &Path) -> String {
    let out = Command::new("stat").args(["-f", "-c", "%T"]).arg(dir).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

/// Native directories for test `name`: one on an ext filesystem, one on tmpfs; `None` (with a
/// note) if the host has no such place.
struct NativeDirs {
    ext: PathBuf,
    tmpfs: PathBuf,
}

impl NativeDirs {
    fn new(name: &str) -> Option<NativeDirs> {
        let ext = scratch(&format!("fdcalls-native-{name}"));
        let tmpfs = PathBuf::from(format!("/dev/shm/umbra-fdcalls-{name}-{}", std::process::id()));
        let ext_ok = host_fs_type(&ext).starts_with("ext");
        let shm_ok = host_fs_type(Path::new("/dev/shm")) == "tmpfs" && std::fs::create_dir_all(&tmpfs).is_ok();
        if !ext_ok || !shm_ok {
            eprintln!("note: {name}: no ext4 build directory or no tmpfs /dev/shm here; not compared with Linux");
            return None;
        }
        Some(NativeDirs { ext, tmpfs })
    }
}

impl Drop for NativeDirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmpfs);
        let _ = std::fs::remove_dir_all(&self.ext);
    }
}

fn native(args: &[&str]) -> Output {
    run_native(&tree().join("bin/fdcalls"), args)
}

/// Runs section `args` in the guest; compares it with the native run of `native_args` if
/// given. Standard output and the exit status must match. Returns the guest's output.
fn compare(img: &Path, args: &[&str], native_args: Option<&[&str]>) -> Output {
    let got = guest(img, args);
    assert_eq!(got.status.code(), Some(0), "{args:?} in umbra: stdout:\n{}\nstderr:\n{}", stdout(&got), stderr(&got));
    if let Some(n) = native_args {
        let want = native(n);
        assert_eq!(stdout(&got), stdout(&want), "{args:?}: umbra's stderr:\n{}", stderr(&got));
        assert_eq!(got.status.code(), want.status.code(), "{args:?} exit status");
    }
    got
}

/// The same section with no directory arguments.
fn compare_plain(name: &str) {
    let img = image(name);
    compare(&img, &[name], Some(&[name]));
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

#[test]
fn memfd_create_matches_linux() {
    compare_plain("memfd");
}

#[test]
fn file_seals_match_linux() {
    compare_plain("seals");
}

#[test]
fn memfd_mappings_are_shared_across_fork_and_survive_munmap() {
    compare_plain("share");
}

#[test]
fn o_tmpfile_on_tmpfs_matches_linux() {
    let img = image("tmpfile-tmpfs");
    let n = NativeDirs::new("tmpfile-tmpfs");
    let native_args = n.as_ref().map(|d| vec!["tmpfile", d.tmpfs.to_str().unwrap(), d.ext.to_str().unwrap()]);
    compare(&img, &["tmpfile", "/tmp", "/work"], native_args.as_deref());
}

#[test]
fn o_tmpfile_on_ext2_matches_linux_and_leaves_a_clean_image() {
    let img = image("tmpfile-ext2");
    let n = NativeDirs::new("tmpfile-ext2");
    let native_args = n.as_ref().map(|d| vec!["tmpfile", d.ext.to_str().unwrap(), d.tmpfs.to_str().unwrap()]);
    compare(&img, &["tmpfile", "/work", "/tmp"], native_args.as_deref());
    if have_e2fsprogs() {
        assert_e2fsck_clean(&img);
        assert_eq!(debugfs_cat(&img, "/work/named"), Vec::<u8>::new(), "unlinked again by the program");
        let via = debugfs_cat(&img, "/work/viaproc");
        assert!(via.is_empty(), "viaproc was unlinked: {via:?}");
    }
}

#[test]
fn pidfd_calls_match_linux() {
    let img = image("pidfd");
    // The unprivileged part needs setresuid natively.
    let native_args: Option<&[&str]> = if is_root() { Some(&["pidfd"]) } else { None };
    compare(&img, &["pidfd"], native_args);
}

#[test]
fn a_pidfd_in_an_epoll_set_is_ready_when_the_child_exits() {
    compare_plain("pidfd_epoll");
}

#[test]
fn clone_pidfd_matches_linux() {
    compare_plain("clonepidfd");
}

#[test]
fn splice_and_tee_match_linux_on_ext2_and_tmpfs() {
    let img = image("splice");
    let n = NativeDirs::new("splice");
    let on_ext = n.as_ref().map(|d| vec!["splice", d.ext.to_str().unwrap()]);
    compare(&img, &["splice", "/work"], on_ext.as_deref());
    let on_tmpfs = n.as_ref().map(|d| vec!["splice", d.tmpfs.to_str().unwrap()]);
    compare(&img, &["splice", "/tmp"], on_tmpfs.as_deref());
}

#[test]
fn vmsplice_matches_linux() {
    compare_plain("vmsplice");
}

#[test]
fn sendfile_to_any_writable_file_matches_linux() {
    let img = image("sendfile");
    let n = NativeDirs::new("sendfile");
    let on_ext = n.as_ref().map(|d| vec!["sendfile", d.ext.to_str().unwrap()]);
    compare(&img, &["sendfile", "/work"], on_ext.as_deref());
    let on_tmpfs = n.as_ref().map(|d| vec!["sendfile", d.tmpfs.to_str().unwrap()]);
    compare(&img, &["sendfile", "/tmp"], on_tmpfs.as_deref());
}

#[test]
fn sendfile_and_splice_with_unix_sockets_match_linux() {
    let img = image("sockets");
    let n = NativeDirs::new("sockets");
    let native_args = n.as_ref().map(|d| vec!["sockets", d.ext.to_str().unwrap()]);
    compare(&img, &["sockets", "/work"], native_args.as_deref());
}

#[test]
fn copy_file_range_matches_linux() {
    let img = image("copy");
    let n = NativeDirs::new("copy");
    let ext_first = n.as_ref().map(|d| vec!["copy", d.ext.to_str().unwrap(), d.tmpfs.to_str().unwrap()]);
    compare(&img, &["copy", "/work", "/tmp"], ext_first.as_deref());
    let tmpfs_first = n.as_ref().map(|d| vec!["copy", d.tmpfs.to_str().unwrap(), d.ext.to_str().unwrap()]);
    compare(&img, &["copy", "/tmp", "/work"], tmpfs_first.as_deref());
    if have_e2fsprogs() {
        assert_e2fsck_clean(&img);
    }
}

#[test]
fn mincore_matches_linux() {
    compare_plain("mincore");
}

#[test]
fn strace_decodes_the_fd_calls() {
    let img = image("strace");
    let run = |args: &[&str]| {
        let mut a = vec!["run", "--root", img.to_str().unwrap(), "--strace", "--", "/bin/fdcalls"];
        a.extend_from_slice(args);
        let o = run_umbra(&a, TIMEOUT);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stderr(&o)
    };
    let err = run(&["seals"]);
    for want in [
        "memfd_create(\"seals\", MFD_ALLOW_SEALING) = 3",
        "fcntl(3, F_ADD_SEALS, F_SEAL_SHRINK) = 0",
        "fcntl(3, F_ADD_SEALS, 0x100) = -1 EINVAL (Invalid argument)",
        "fcntl(3, F_ADD_SEALS, F_SEAL_SEAL) = 0",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    let err = run(&["clonepidfd"]);
    assert!(err.contains("clone(CLONE_PIDFD|SIGCHLD, NULL, 0x"), "{err}");
    assert!(err.contains("clone3({flags=CLONE_PIDFD, pidfd=0x"), "{err}");
    assert!(err.contains("exit_signal=SIGCHLD, stack=NULL, stack_size=0x0}, 88) = "), "{err}");
    let err = run(&["pidfd"]);
    assert!(err.contains(", PIDFD_NONBLOCK) = "), "{err}");
    assert!(err.contains(", SIGKILL, NULL, 0) = 0"), "{err}");
    let err = run(&["splice", "/tmp"]);
    assert!(err.contains("splice(7, [5100], 4, NULL, 5000, 0) = 5000"), "{err}");
    assert!(err.contains("SPLICE_F_NONBLOCK) = -1 EAGAIN"), "{err}");
    let err = run(&["tmpfile", "/work", "/tmp"]);
    assert!(err.contains("openat(AT_FDCWD, \"/work\", O_RDWR|O_TMPFILE, 0640) = 3"), "{err}");
    let err = run(&["mincore"]);
    assert!(err.contains(", 16384, [1, 1, 1, 1]) = 0"), "{err}");
}
