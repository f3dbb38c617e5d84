//! More disks and block devices (issue 12 part 5): `--disk IMAGE[,ro]` and UML's `ubdN=`
//! attach images as `/dev/ubdb`, `/dev/ubdc`, … (major 98, minor 16 × N; the root is
//! `/dev/ubda`): `mount /dev/ubdb /mnt` mounts the filesystem on it (and the image is
//! `e2fsck -fn` clean after umount), the node reads and writes the disk directly, the
//! `BLKGETSIZE64`/`BLKSSZGET` ioctls answer, `,ro` refuses writes, `/proc/partitions`,
//! `/proc/mounts`, `df` name the devices, and `lsblk`/`blkid` (util-linux, from the Debian tree)
//! see them.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(90);

/// A root image with static busybox, and two 8 MiB ext2 disks holding `/f` (`hi`): `None`
/// (SKIPPED) without busybox or e2fsprogs.
fn setup(name: &str) -> Option<(PathBuf, PathBuf, PathBuf, PathBuf)> {
    if !have_e2fsprogs() {
        return None;
    }
    let Some(bb) = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.exists()) else {
        eprintln!("SKIPPED: no busybox (apt-get install busybox-static)");
        return None;
    };
    let dir = scratch(&format!("disks-{name}-{}", std::process::id()));
    let tree = dir.join("tree");
    for d in ["bin", "dev", "proc", "sys", "tmp", "mnt"] {
        std::fs::create_dir_all(tree.join(d)).unwrap();
    }
    std::fs::copy(bb, tree.join("bin/busybox")).unwrap();
    for applet in ["sh", "cat", "echo", "ls", "mount", "umount", "df", "grep", "dd", "blockdev", "sync", "od", "head"] {
        std::os::unix::fs::symlink("busybox", tree.join("bin").join(applet)).unwrap();
    }
    let script = tree.join("bin/show-partitions");
    std::fs::write(&script, "#!/bin/sh\nmount -t proc proc /proc\ncat /proc/partitions\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let root = dir.join("root.img");
    mke2fs_from_dir(&tree, &root, "ext2", "16M", &[]);
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("f"), "hi\n").unwrap();
    let (b, c) = (dir.join("b.img"), dir.join("c.img"));
    mke2fs_from_dir(&data, &b, "ext2", "8M", &[]);
    std::fs::copy(&b, &c).unwrap();
    Some((dir, root, b, c))
}

fn sh(args: &[&str], script: &str) -> Output {
    let mut a = vec!["run"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--", "/bin/sh", "-c", script]);
    run_umbra(&a, TIMEOUT)
}

#[test]
fn disk_mounts_reads_writes_and_stays_clean() {
    let Some((dir, root, b, c)) = setup("mount") else { return };
    let (r, b_s, c_s) = (root.to_str().unwrap(), b.to_str().unwrap(), c.to_str().unwrap());
    let script = "ls -l /dev/ubda /dev/ubdb /dev/ubdc | while read m l u g maj min rest; do echo $m $maj $min; done; \
        cat /proc/partitions; \
        mount /dev/ubdb /mnt && cat /mnt/f && echo new > /mnt/g && grep ubd /proc/mounts && df /mnt | grep -c '^/dev/ubdb ' && umount /mnt && \
        mount -t ext2 /dev/ubdb /mnt && cat /mnt/g && \
        { mount /dev/ubdb /tmp 2>&1 | grep -o 'busy' | head -n1; mount /dev/ubda /tmp 2>&1 | grep -o 'busy' | head -n1; } && umount /mnt && echo done";
    let o = sh(&["--root", r, "--disk", b_s, "--disk", &format!("{c_s},ro")], script);
    assert_eq!(o.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&o), stderr(&o));
    let want = "brw-rw---- 98, 0\nbrw-rw---- 98, 16\nbrw-rw---- 98, 32\n\
        major minor  #blocks  name\n\n  98        0      16384 ubda\n  98       16       8192 ubdb\n  98       32       8192 ubdc\n\
        hi\n/dev/ubda / ext2 rw,relatime 0 0\n/dev/ubdb /mnt ext2 rw,relatime 0 0\n1\nnew\nbusy\nbusy\ndone\n";
    assert_eq!(stdout(&o), want, "stderr:\n{}", stderr(&o));
    assert_e2fsck_clean(&b);
    assert_e2fsck_clean(&root);
    assert_eq!(debugfs_cat(&b, "/g"), b"new\n");
    // UML's spelling attaches the same way (init here just prints the partitions and exits).
    let o = run_umbra(&["boot", &format!("ubd0={r}"), &format!("ubd1={b_s},ro"), "--init", "/bin/show-partitions"], TIMEOUT);
    let text = stdout(&o).replace("\r\n", "\n");
    assert!(text.contains("  98       16       8192 ubdb\n") && !text.contains("ubdc"), "{text}\n{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn read_only_disk_refuses_writes() {
    let Some((dir, root, _b, c)) = setup("ro") else { return };
    let before = std::fs::read(&c).unwrap();
    let script = "mount /dev/ubdb /mnt 2>/dev/null; grep ubdb /proc/mounts; cat /mnt/f; \
        echo x > /mnt/y || echo file-refused; \
        echo x | dd of=/dev/ubdb 2>&1 | grep -o 'Operation not permitted' | head -n1; \
        blockdev --getro /dev/ubdb";
    let o = sh(&["--root", root.to_str().unwrap(), "--disk", &format!("{},ro", c.display())], script);
    assert_eq!(stdout(&o), "/dev/ubdb /mnt ext2 ro,relatime 0 0\nhi\nfile-refused\nOperation not permitted\n1\n", "stderr:\n{}", stderr(&o));
    assert!(stderr(&o).contains("Read-only file system"), "EROFS: {}", stderr(&o));
    assert!(std::fs::read(&c).unwrap() == before, "a read-only disk is never written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn block_node_reads_writes_and_ioctls() {
    let Some((dir, root, b, _c)) = setup("node") else { return };
    let script = "for o in --getsize64 --getss --getsz --getro; do blockdev $o /dev/ubdb; done; \
        dd if=/dev/ubdb bs=1024 skip=1 count=1 2>/dev/null | od -An -tx1 -j56 -N2; \
        echo written-raw | dd of=/dev/ubdb bs=512 seek=16000 conv=notrunc 2>/dev/null; \
        dd if=/dev/ubdb bs=512 skip=16000 count=1 2>/dev/null | head -n1; \
        dd if=/dev/zero of=/dev/ubdb bs=512 seek=16384 count=1 2>&1 | grep -o 'No space left on device' | head -n1";
    let o = sh(&["--root", root.to_str().unwrap(), "--disk", b.to_str().unwrap()], script);
    // The ext2 magic 0xEF53 at superblock offset 56, little-endian.
    assert_eq!(stdout(&o), "8388608\n512\n16384\n0\n 53 ef\nwritten-raw\nNo space left on device\n", "stderr:\n{}", stderr(&o));
    let img = std::fs::read(&b).unwrap();
    assert_eq!(&img[16000 * 512..16000 * 512 + 12], b"written-raw\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lsblk_and_blkid_see_the_disks() {
    let Some(tree) = debian_tree(&["usr/bin/lsblk", "usr/sbin/blkid"]) else { return };
    let Some((dir, _root, b, c)) = setup("lsblk") else { return };
    let script = "lsblk -o NAME,MAJ:MIN,SIZE,RO,TYPE,MOUNTPOINTS; blkid -o export /dev/ubdb | grep TYPE; \
        mount /dev/ubdb /mnt && lsblk -n -o NAME,MOUNTPOINTS /dev/ubdb && df --output=source /mnt | tail -n1";
    let t = tree.to_str().unwrap();
    let o = sh(&["--root", t, "--ro", "--disk", b.to_str().unwrap(), "--disk", &format!("{},ro", c.display())], script);
    let want = "NAME MAJ:MIN SIZE RO TYPE MOUNTPOINTS\nubdb  98:16    8M  0 disk \nubdc  98:32    8M  1 disk \nTYPE=ext2\nubdb /mnt\n/dev/ubdb\n";
    assert_eq!(stdout(&o), want, "stderr:\n{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}
