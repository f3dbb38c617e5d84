//! Feature flags, journals and checksums: what mounts, what mounts read-only, what is refused,
//! and checksum mismatches reported as errors.

mod ext2_util;

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use ext2_util::*;
use fs::block::{BlockDevice, FileBlockDevice};
use fs::ext2::{checksum, Ext2Fs, MountError};
use uapi::Errno;

fn try_mount(img: &Path, ro: bool) -> Result<Ext2Fs, MountError> {
    let dev: Arc<dyn BlockDevice> = Arc::new(FileBlockDevice::open(img, ro).unwrap());
    Ext2Fs::mount(dev, ro)
}

fn patch(img: &Path, off: u64, f: impl FnOnce(&mut [u8])) {
    let mut file = std::fs::OpenOptions::new().read(true).write(true).open(img).unwrap();
    let mut b = vec![0u8; 4096];
    file.seek(SeekFrom::Start(off)).unwrap();
    file.read_exact(&mut b).unwrap();
    f(&mut b);
    file.seek(SeekFrom::Start(off)).unwrap();
    file.write_all(&b).unwrap();
}

/// Edits the superblock and fixes its checksum when it has one.
fn patch_sb(img: &Path, f: impl FnOnce(&mut [u8; 1024])) {
    patch(img, 1024, |b| {
        let mut sb = [0u8; 1024];
        sb.copy_from_slice(&b[..1024]);
        f(&mut sb);
        let ro = u32::from_le_bytes(sb[100..104].try_into().unwrap());
        if ro & 0x400 != 0 {
            let c = checksum::superblock(&sb);
            sb[0x3FC..].copy_from_slice(&c.to_le_bytes());
        }
        b[..1024].copy_from_slice(&sb);
    });
}

fn or32(sb: &mut [u8; 1024], off: usize, bits: u32) {
    let v = u32::from_le_bytes(sb[off..off + 4].try_into().unwrap()) | bits;
    sb[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn small_tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("small.txt"), b"hello").unwrap();
    std::fs::create_dir(t.path().join("d1")).unwrap();
    std::fs::write(t.path().join("d1/inner"), b"inner").unwrap();
    t
}

#[test]
fn ext2_unknown_incompat_refuses_any_mount() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext2", 1024, "4M", None, &[]);
    patch_sb(&img, |sb| or32(sb, 96, 0x1000_0000));
    let e = try_mount(&img, true).err().unwrap();
    assert_eq!(e.errno, Errno::EINVAL);
    assert!(e.message.contains("unsupported filesystem feature") && e.message.contains("FEATURE_I28"), "{e}");
}

#[test]
fn ext2_unknown_ro_compat_mounts_read_only_only() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext2", 1024, "4M", Some(small_tree().path()), &[]);
    patch_sb(&img, |sb| or32(sb, 100, 0x8000_0000));
    let e = try_mount(&img, false).err().unwrap();
    assert_eq!(e.errno, Errno::EROFS);
    assert!(e.message.contains("FEATURE_R31"), "{e}");
    let fs = try_mount(&img, true).unwrap();
    let ino = resolve(&fs, "/small.txt").unwrap();
    assert_eq!(read_all(&fs, ino), b"hello");
}

/// Runs debugfs commands (one per line) on `img` opened for writing.
fn debugfs_write_script(img: &Path, cmds: &str) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cmds");
    std::fs::write(&script, cmds).unwrap();
    let out = std::process::Command::new("debugfs").arg("-w").arg("-f").arg(&script).arg(img).output().unwrap();
    assert!(out.status.success(), "debugfs failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn needs_recovery(img: &Path) -> bool {
    let data = std::fs::read(img).unwrap();
    u32::from_le_bytes(data[1024 + 96..1024 + 100].try_into().unwrap()) & 0x4 != 0
}

/// Logs, with e2fsprogs' journal writer (`debugfs jo/jw/jc`), a committed transaction that
/// overwrites the data block of /small.txt; returns that block number and the new contents.
fn journal_small_txt_rewrite(img: &Path, bs: u32, checksums: bool) -> (u64, Vec<u8>) {
    let blk: u64 = debugfs(img, "bmap /small.txt 0").trim().parse().unwrap();
    let content: Vec<u8> = b"replayed!\n".iter().copied().cycle().take(bs as usize).collect();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("block");
    std::fs::write(&data, &content).unwrap();
    let jo = if checksums { "jo -c" } else { "jo" };
    debugfs_write_script(img, &format!("{jo}\njw -b {blk} {}\njc\n", data.display()));
    assert!(needs_recovery(img), "debugfs left no journal to recover");
    assert!(debugfs(img, "logdump").contains("(commit block)"));
    (blk, content)
}

/// The bytes of block `blk`.
fn block_of(img: &Path, bs: u32, blk: u64) -> Vec<u8> {
    let data = std::fs::read(img).unwrap();
    data[(blk * bs as u64) as usize..((blk + 1) * bs as u64) as usize].to_vec()
}

#[test]
fn ext2_journal_needing_recovery_is_replayed_at_mount() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext3", 1024, "16M", Some(small_tree().path()), &[]);
    let (blk, content) = journal_small_txt_rewrite(&img, 1024, false);
    let oracle = img.with_extension("oracle");
    std::fs::copy(&img, &oracle).unwrap();
    let _ = std::process::Command::new("e2fsck").arg("-fy").arg(&oracle).output().unwrap();
    let fs = try_mount(&img, false).unwrap();
    let ino = resolve(&fs, "/small.txt").unwrap();
    assert_eq!(read_all(&fs, ino), b"repla");
    fs.unmount().unwrap();
    assert!(!needs_recovery(&img));
    e2fsck_clean(&img);
    assert_eq!(block_of(&img, 1024, blk), content);
    assert_eq!(block_of(&oracle, 1024, blk), content, "e2fsck replays the same block");
}

#[test]
fn ext4_checksummed_journal_is_replayed_by_a_read_only_mount() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext4", 4096, "16M", Some(small_tree().path()), &[]);
    let (blk, content) = journal_small_txt_rewrite(&img, 4096, true);
    let dump = std::process::Command::new("dumpe2fs").arg("-h").arg(&img).output().unwrap();
    assert!(String::from_utf8_lossy(&dump.stdout).contains("journal_checksum_v3"));
    // Linux replays the journal even for a read-only mount when the device is writable.
    let dev: Arc<dyn BlockDevice> = Arc::new(FileBlockDevice::open(&img, false).unwrap());
    let fs = Ext2Fs::mount(dev, true).unwrap();
    assert!(fs.is_read_only());
    let ino = resolve(&fs, "/small.txt").unwrap();
    assert_eq!(read_all(&fs, ino), b"repla");
    drop(fs);
    assert!(!needs_recovery(&img));
    assert_eq!(block_of(&img, 4096, blk), content);
    e2fsck_clean(&img);
}

#[test]
fn ext2_journal_needing_recovery_on_a_read_only_image_is_refused() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext4", 4096, "16M", None, &[]);
    patch_sb(&img, |sb| or32(sb, 96, 0x4));
    let dev: Arc<dyn BlockDevice> = Arc::new(FileBlockDevice::open(&img, true).unwrap());
    let e = Ext2Fs::mount(dev, true).err().unwrap();
    assert_eq!(e.errno, Errno::EROFS);
    assert!(e.message.contains("needs recovery but the image is read-only"), "{e}");
}

#[test]
fn ext2_ext3_image_mounts_read_write() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext3", 1024, "16M", Some(small_tree().path()), &[]);
    let fs = try_mount(&img, false).unwrap();
    let root = fs.root_ino();
    let f = fs.create(root, b"new", 0o100644, 0, 0, 0).unwrap();
    fs.write(f, 0, b"written on ext3").unwrap();
    fs.unmount().unwrap();
    drop(fs);
    e2fsck_clean(&img);
    assert_eq!(debugfs_cat(&img, "/new"), b"written on ext3");
}

/// Byte offset of inode `path` in the image, from debugfs `imap`.
fn inode_offset(img: &Path, path: &str, bs: u64) -> u64 {
    let out = debugfs(img, &format!("imap {path}"));
    let line = out.lines().find(|l| l.contains("located at block")).unwrap_or_else(|| panic!("{out}"));
    let blk: u64 = line.split("block ").nth(1).unwrap().split(',').next().unwrap().trim().parse().unwrap();
    let off = u64::from_str_radix(line.split("offset 0x").nth(1).unwrap().trim(), 16).unwrap();
    blk * bs + off
}

#[test]
fn ext2_ext4_inode_checksum_mismatch_is_an_error() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext4", 4096, "16M", Some(small_tree().path()), &[]);
    let off = inode_offset(&img, "/small.txt", 4096);
    patch(&img, off, |b| b[16] ^= 0x55); // i_mtime
    let fs = try_mount(&img, true).unwrap();
    let ino = fs.lookup(fs.root_ino(), b"small.txt").unwrap();
    assert_eq!(fs.stat(ino).err(), Some(Errno::EUCLEAN));
    // The rest of the filesystem still reads.
    let inner = resolve(&fs, "/d1/inner").unwrap();
    assert_eq!(read_all(&fs, inner), b"inner");
}

#[test]
fn ext2_ext4_directory_block_checksum_mismatch_is_an_error() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext4", 4096, "16M", Some(small_tree().path()), &[]);
    let out = debugfs(&img, "blocks /d1");
    let blk: u64 = out.split_whitespace().next().unwrap().parse().unwrap();
    patch(&img, blk * 4096, |b| b[30] ^= 0x1); // inside the entry names
    let fs = try_mount(&img, true).unwrap();
    let d1 = fs.lookup(fs.root_ino(), b"d1").unwrap();
    assert_eq!(fs.lookup(d1, b"inner").err(), Some(Errno::EUCLEAN));
}

#[test]
fn ext2_ext4_group_descriptor_checksum_mismatch_refuses_mount() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext4", 4096, "16M", None, &[]);
    patch(&img, 4096, |b| b[12] ^= 0x1); // bg_free_blocks_count of group 0
    let e = try_mount(&img, true).err().unwrap();
    assert!(e.message.contains("group descriptors"), "{e}");
}

#[test]
fn ext2_ext4_inline_data_file_is_eio() {
    if !have_e2fsprogs() {
        return;
    }
    let (_d, img) = tmp_img();
    mke2fs(&img, "ext4", 4096, "16M", Some(small_tree().path()), &["-O", "inline_data"]);
    let fs = try_mount(&img, true).unwrap();
    let root = fs.root_ino();
    match fs.lookup(root, b"small.txt") {
        Ok(ino) => {
            let mut b = [0u8; 8];
            assert_eq!(fs.read(ino, 0, &mut b), Err(Errno::EIO));
        }
        // Inline directories cannot be listed either: that is an error, not a panic.
        Err(e) => assert_eq!(e, Errno::EIO),
    }
}

#[test]
fn ext2_bad_magic_and_truncated_images_refuse_mount() {
    let (_d, img) = tmp_img();
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    let e = try_mount(&img, true).err().unwrap();
    assert!(e.message.contains("bad magic"), "{e}");
    if !have_e2fsprogs() {
        return;
    }
    mke2fs(&img, "ext2", 1024, "4M", None, &[]);
    let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
    f.set_len(2 << 20).unwrap();
    drop(f);
    let e = try_mount(&img, true).err().unwrap();
    assert!(e.message.contains("truncated"), "{e}");
}
