//! Extended attributes and POSIX ACLs (the Debian-system issue, item 3): `tests/guest/xattr.c`
//! runs under umbra on tmpfs and on ext2 images and, as the oracle, natively on the host's
//! tmpfs (`/dev/shm`) and in a host directory; standard output must match. ext2 images must
//! then pass `e2fsck -fn` and show the guest's attributes to `debugfs`, with attributes in the
//! inode body (256-byte inodes) or in shared xattr blocks (128-byte inodes). GNU `ls -l`
//! (which reads xattrs for every file) must print no error and mark files with ACLs `+`.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

/// The tree roots and images are made from: /bin/xattr, the mount points and /work.
fn tree() -> &'static Path {
    static TREE: OnceLock<PathBuf> = OnceLock::new();
    TREE.get_or_init(|| {
        let r = scratch(&format!("xattr-tree-{}", std::process::id()));
        for d in ["bin", "dev", "proc", "tmp", "work", "root"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        build_c("xattr", &r.join("bin/xattr"), &[]);
        r
    })
}

fn umbra(root: &Path, args: &[&str]) -> Output {
    let mut a = vec!["run", "--root", root.to_str().unwrap(), "--", "/bin/xattr"];
    a.extend_from_slice(args);
    run_umbra(&a, TIMEOUT)
}

/// The program run natively in a fresh directory `dir`.
fn native(dir: &Path, args: &[&str]) -> Output {
    let mut a = vec![dir.to_str().unwrap()];
    a.extend_from_slice(args);
    run_native(&tree().join("bin/xattr"), &a)
}

fn assert_same(got: &Output, want: &Output, what: &str) {
    assert_eq!(want.status.code(), Some(0), "native {what} failed: {}", stderr(want));
    assert_eq!(got.status.code(), Some(0), "umbra {what} failed: {}", stderr(got));
    assert!(unimplemented_syscalls(got).is_empty(), "{what}: {}", stderr(got));
    assert_eq!(stdout(got), stdout(want), "{what}: umbra's stderr:\n{}", stderr(got));
}

/// Whether the host filesystem of `dir` keeps what the oracle run needs: `user.*`,
/// `trusted.*` and POSIX ACLs (tried on a probe file).
fn host_keeps_xattrs(dir: &Path) -> bool {
    let probe = dir.join(".probe");
    if std::fs::write(&probe, b"").is_err() {
        return false;
    }
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [(1u16, 6u16, u32::MAX), (2, 6, 1000), (4, 4, u32::MAX), (0x10, 6, u32::MAX), (0x20, 4, u32::MAX)] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&id.to_le_bytes());
    }
    let ok = [(&b"user.probe"[..], &b"1"[..]), (b"trusted.probe", b"1"), (b"system.posix_acl_access", &acl)]
        .iter()
        .all(|(name, value)| arch_um::hostxattr::set(&probe, name, value, 0).is_ok());
    let _ = std::fs::remove_file(&probe);
    ok
}

/// A fresh host directory for the oracle run of `test`: on the host's tmpfs (`/dev/shm`) if
/// `tmpfs` and it keeps attributes, else in the scratch area; `None` (with a SKIPPED line)
/// if the host cannot keep the attributes the program sets.
fn native_dir(test: &str, tmpfs: bool) -> Option<PathBuf> {
    if tmpfs {
        let shm = Path::new("/dev/shm").join(format!("umbra-xattr-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&shm);
        if std::fs::create_dir(&shm).is_ok() {
            if host_keeps_xattrs(&shm) {
                return Some(shm);
            }
            let _ = std::fs::remove_dir_all(&shm);
        }
        eprintln!("note: the host's /dev/shm cannot serve as the tmpfs oracle; using a host directory");
    }
    let dir = scratch(&format!("xattr-native-{test}-{}", std::process::id()));
    if host_keeps_xattrs(&dir) {
        return Some(dir);
    }
    eprintln!("SKIPPED: comparison for {test}: the host filesystem keeps no user/trusted attributes or ACLs");
    None
}

/// Runs `args` natively in a fresh oracle directory and compares with umbra's output `got`.
fn compare_native(got: &Output, test: &str, tmpfs: bool, args: &[&str]) {
    let Some(dir) = native_dir(test, tmpfs) else {
        assert_eq!(got.status.code(), Some(0), "umbra {test}: {}", stderr(got));
        return;
    };
    let want = native(&dir, args);
    if dir.starts_with("/dev/shm") {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_same(got, &want, test);
}

#[test]
fn tmpfs_matches_linux_tmpfs() {
    let got = umbra(tree(), &["/tmp"]);
    compare_native(&got, "tmpfs", true, &[]);
}

/// An ext2 image of the tree with 1 KiB blocks and `inode_size`-byte inodes.
fn ext2_image(test: &str, inode_size: &str) -> Option<PathBuf> {
    fs_image(test, "ext2", inode_size)
}

/// An image of the tree of type `fstype` (mkfs defaults otherwise) with 1 KiB blocks.
fn fs_image(test: &str, fstype: &str, inode_size: &str) -> Option<PathBuf> {
    if !have_e2fsprogs() {
        return None;
    }
    let img = scratch(&format!("xattr-{test}-{}", std::process::id())).join("disk.img");
    mke2fs_from_dir(tree(), &img, fstype, "16M", &["-b", "1024", "-I", inode_size]);
    Some(img)
}

fn debugfs(img: &Path, request: &str) -> String {
    let out = Command::new("debugfs").arg("-R").arg(request).arg(img).output().expect("running debugfs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `File ACL:` block of `path` in the image, as `debugfs stat` shows it.
fn file_acl(img: &Path, path: &str) -> u64 {
    let stat = debugfs(img, &format!("stat {path}"));
    let field = stat.split("File ACL:").nth(1).unwrap_or_else(|| panic!("no File ACL for {path}:\n{stat}"));
    field.split_whitespace().next().unwrap().parse().unwrap()
}

/// Runs the whole program on `/work` of an ext2 image and natively, then checks the image.
fn ext2_matches_linux(test: &str, inode_size: &str) {
    fs_matches_linux(test, "ext2", inode_size)
}

/// `ext2_matches_linux` on an image of type `fstype`.
fn fs_matches_linux(test: &str, fstype: &str, inode_size: &str) {
    let Some(img) = fs_image(test, fstype, inode_size) else { return };
    let got = umbra(&img, &["/work"]);
    compare_native(&got, test, false, &[]);
    assert_e2fsck_clean(&img);
    let f = debugfs(&img, "ea_list /work/xt/f");
    for want in ["user.a (6) = \"world!\"", "user.b (0)", "trusted.t (2) = \"tv\"", "security.s (2) = \"sv\""] {
        assert!(f.contains(want), "debugfs ea_list /work/xt/f lacks {want}:\n{f}");
    }
    // ext2's ACL disk format: version 1, 4-byte unnamed and 8-byte named entries.
    let acl = "system.posix_acl_access (28) = 01 00 00 00 01 00 06 00 02 00 07 00 e8 03 00 00 04 00 05 00 10 00 06 00 20 00 04 00";
    let inherited = debugfs(&img, "ea_list /work/xt/ad/new");
    assert!(inherited.contains(acl), "inherited ACL on disk:\n{inherited}");
    let features = Command::new("dumpe2fs").arg("-h").arg(&img).output().unwrap();
    assert!(String::from_utf8_lossy(&features.stdout).contains("ext_attr"));
}

#[test]
fn ext2_in_inode_attributes_match_linux_and_stay_clean() {
    ext2_matches_linux("ibody", "256");
}

/// ext4 with mkfs defaults (metadata_csum: inode, xattr block and directory checksums).
#[test]
fn ext4_attributes_match_linux_and_stay_clean() {
    fs_matches_linux("ext4", "ext4", "256");
}

#[test]
fn ext2_block_attributes_match_linux_and_stay_clean() {
    ext2_matches_linux("blocks", "128");
}

#[test]
fn ext2_blocks_are_shared_copied_and_freed() {
    let Some(img) = ext2_image("share", "128") else { return };
    let got = umbra(&img, &["/work", "share"]);
    compare_native(&got, "share", false, &["share"]);
    assert_e2fsck_clean(&img);
    let (s1, s3, s4) = (file_acl(&img, "/work/xt/s1"), file_acl(&img, "/work/xt/s3"), file_acl(&img, "/work/xt/s4"));
    assert!(s1 != 0 && s3 != 0 && s1 != s3, "s1 keeps the shared block, s3 has its own copy: {s1} {s3}");
    assert_eq!(s4, 0, "an inode without attributes holds no block");
    let block = debugfs(&img, &format!("bd {s1}"));
    // Header: magic 0xEA020000, then the reference count: 1 once s2 is gone.
    assert!(block.starts_with("0000  0000 02ea 0100 0000 0100 0000"), "xattr block header:\n{block}");
}

#[test]
fn umbra_mkfs_image_gains_ext_attr_and_stays_clean() {
    if !have_e2fsprogs() {
        return;
    }
    let img = scratch(&format!("xattr-mkfs-{}", std::process::id())).join("disk.img");
    tools::mkfs::build_image(tree(), 32 << 20, &img, None).unwrap();
    let got = umbra(&img, &["/work", "acl"]);
    compare_native(&got, "mkfs", false, &["acl"]);
    assert_e2fsck_clean(&img);
    let features = Command::new("dumpe2fs").arg("-h").arg(&img).output().unwrap();
    assert!(String::from_utf8_lossy(&features.stdout).contains("ext_attr"), "ext_attr set on first use");
}

/// A root with busybox's shell and awk, GNU `ls` with its libraries, and /bin/xattr.
fn ls_root() -> Option<PathBuf> {
    let bb = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.exists())?;
    let ls = ["/bin/ls", "/usr/bin/ls"].into_iter().map(Path::new).find(|p| p.exists())?;
    let r = scratch(&format!("xattr-ls-root-{}", std::process::id()));
    for d in ["bin", "dev", "proc", "tmp", "etc", "root"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::copy(bb, r.join("bin/busybox")).unwrap();
    for applet in ["sh", "awk"] {
        std::os::unix::fs::symlink("busybox", r.join("bin").join(applet)).unwrap();
    }
    std::fs::copy(ls, r.join("bin/ls")).unwrap();
    copy_libs(ls, &r);
    std::fs::copy(tree().join("bin/xattr"), r.join("bin/xattr")).unwrap();
    std::fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(r.join("etc/group"), "root:x:0:\n").unwrap();
    Some(r)
}

/// Makes the ACL test files in /tmp, then lists them and /bin with `ls -l` (modes and names
/// only: dates and sizes differ between runs).
const LS_SCRIPT: &str = "/bin/xattr /tmp acl > /dev/null && \
    /bin/ls -l /tmp/xt /tmp/xt/ad | awk 'NF > 2 {print $1, $NF}' && \
    /bin/ls -l /bin > /dev/null && echo listed";

#[test]
fn gnu_ls_lists_without_errors_and_marks_acls() {
    let Some(root) = ls_root() else {
        eprintln!("SKIPPED: busybox or GNU ls is missing");
        return;
    };
    let got = run_umbra(&["run", "--root", root.to_str().unwrap(), "--", "/bin/sh", "-c", LS_SCRIPT], TIMEOUT);
    let err = stderr(&got);
    assert_eq!(got.status.code(), Some(0), "stderr: {err}");
    assert!(!err.contains("not implemented") && !err.contains("not supported"), "ls printed errors:\n{err}");
    let out = stdout(&got);
    assert!(out.contains("-rw-rw-r--+ new"), "ls marks the inherited ACL:\n{out}");
    assert!(out.contains("drwxr-xr-x+ ad"), "ls marks the default ACL:\n{out}");
    assert!(out.ends_with("listed\n"), "{out}");
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n");
    let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"].into_iter().find(|p| Path::new(p).exists());
    if let (true, Some(chroot)) = (is_root, chroot) {
        let native = Command::new(chroot).arg(&root).args(["/bin/sh", "-c", LS_SCRIPT]).output().unwrap();
        assert_eq!(out, stdout(&native), "ls -l under umbra and natively (chroot)");
    }
}

#[test]
fn hostfs_passes_user_attributes_to_the_host() {
    let root = scratch(&format!("xattr-hostfs-{}", std::process::id()));
    for d in ["bin", "dev", "proc", "tmp", "work"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(tree().join("bin/xattr"), root.join("bin/xattr")).unwrap();
    let probe = root.join("probe");
    std::fs::write(&probe, b"").unwrap();
    if arch_um::hostxattr::set(&probe, b"user.probe", b"1", 0).is_err() {
        eprintln!("SKIPPED: the host filesystem keeps no user.* attributes");
        return;
    }
    let got = umbra(&root, &["/work", "basic"]);
    assert_eq!(got.status.code(), Some(0), "{}", stderr(&got));
    let out = format!("\n{}", stdout(&got));
    for line in ["\nset: 0\n", "\nget: 5 \"hello\"\n", "\ntrusted set: EOPNOTSUPP\n", "\nlist: 2 [user.a user.b]\n", "\nlset user on link: EPERM\n"] {
        assert!(out.contains(line), "hostfs output lacks {line:?}:\n{out}");
    }
    let on_host = arch_um::hostxattr::get(&root.join("work/xt/f"), b"user.a").unwrap();
    assert_eq!(on_host, b"world!");
    let mut names = arch_um::hostxattr::list(&root.join("work/xt/f")).unwrap();
    names.sort();
    assert_eq!(names, vec![b"user.a".to_vec(), b"user.b".to_vec()], "no trusted/security names reach the host");
}
