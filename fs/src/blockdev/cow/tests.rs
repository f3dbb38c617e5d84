use super::*;
use std::io::Write;

/// A base image of `len` bytes with a recognisable pattern.
fn base(dir: &Path, len: usize) -> PathBuf {
    let p = dir.join("base.img");
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    std::fs::File::create(&p).unwrap().write_all(&data).unwrap();
    p
}

fn read(dev: &CowBlockDevice, off: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    dev.read_at(off, &mut v).unwrap();
    v
}

#[test]
fn cow_reads_base_until_written_and_never_writes_the_base() {
    let tmp = tempfile::tempdir().unwrap();
    let b = base(tmp.path(), 10 * 4096 + 100);
    let before = std::fs::read(&b).unwrap();
    let cow = tmp.path().join("c.cow");
    let dev = CowBlockDevice::open(&b, &cow, false).unwrap();
    assert_eq!(dev.size(), before.len() as u64);
    assert_eq!(read(&dev, 0, before.len()), before);
    dev.write_at(4096 + 10, b"hello").unwrap();
    dev.write_at(10 * 4096 + 90, b"tail").unwrap();
    let mut want = before.clone();
    want[4106..4111].copy_from_slice(b"hello");
    want[10 * 4096 + 90..10 * 4096 + 94].copy_from_slice(b"tail");
    assert_eq!(read(&dev, 0, want.len()), want);
    assert_eq!(dev.write_at(10 * 4096 + 98, b"over").err(), Some(Errno::EIO));
    drop(dev);
    assert_eq!(std::fs::read(&b).unwrap(), before, "base untouched");
    let again = CowBlockDevice::open(&b, &cow, true).unwrap();
    assert_eq!(read(&again, 0, want.len()), want, "changes survive a reopen");
    assert_eq!(again.write_at(0, b"x").err(), Some(Errno::EROFS));
}

#[test]
fn cow_bitmap_reaches_the_file_only_at_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let b = base(tmp.path(), 8 * 4096);
    let cow = tmp.path().join("c.cow");
    let dev = CowBlockDevice::open(&b, &cow, false).unwrap();
    dev.write_at(2 * 4096, &[7u8; 4096]).unwrap();
    // A crash now (another opener sees the file as it is on disk) loses the unflushed write.
    let (_, bitmap) = read_cow(&File::open(&cow).unwrap(), &cow).unwrap();
    assert_eq!(bitmap[0], 0);
    dev.sync().unwrap();
    let (_, bitmap) = read_cow(&File::open(&cow).unwrap(), &cow).unwrap();
    assert_eq!(bitmap[0], 0b100);
    std::mem::forget(dev); // no flush at close
}

#[test]
fn cow_accepts_a_touched_base_and_refuses_a_different_one() {
    let tmp = tempfile::tempdir().unwrap();
    let b = base(tmp.path(), 64 * 4096);
    let cow = tmp.path().join("c.cow");
    drop(CowBlockDevice::open(&b, &cow, false).unwrap());
    // Same contents, new mtime and a new place: accepted.
    let moved = tmp.path().join("moved.img");
    std::fs::copy(&b, &moved).unwrap();
    assert!(CowBlockDevice::open(&moved, &cow, false).is_ok());
    // One byte of the superblock changed: refused with one line.
    let f = OpenOptions::new().write(true).open(&moved).unwrap();
    f.write_all_at(b"Z", 1024).unwrap();
    let e = CowBlockDevice::open(&moved, &cow, false).err().unwrap();
    assert!(e.contains("different contents") && !e.contains('\n'), "{e}");
    // Another size: refused.
    f.set_len(65 * 4096).unwrap();
    let e = CowBlockDevice::open(&moved, &cow, false).err().unwrap();
    assert!(e.contains("bytes"), "{e}");
}

#[test]
fn cow_merge_gives_the_device_contents() {
    let tmp = tempfile::tempdir().unwrap();
    let b = base(tmp.path(), 5 * 4096 + 7);
    let cow = tmp.path().join("c.cow");
    let dev = CowBlockDevice::open(&b, &cow, false).unwrap();
    dev.write_at(3, b"abc").unwrap();
    dev.write_at(5 * 4096 + 1, b"zz").unwrap();
    let want = read(&dev, 0, 5 * 4096 + 7);
    drop(dev);
    let out = tmp.path().join("merged.img");
    assert_eq!(merge(&cow, None, Some(&out)).unwrap(), 2);
    assert_eq!(std::fs::read(&out).unwrap(), want);
    assert_eq!(merge(&cow, None, None).unwrap(), 2);
    assert_eq!(std::fs::read(&b).unwrap(), want);
}

#[test]
fn cow_rejects_garbage_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let b = base(tmp.path(), 4096);
    let cow = tmp.path().join("c.cow");
    std::fs::write(&cow, vec![1u8; 8192]).unwrap();
    let e = CowBlockDevice::open(&b, &cow, false).err().unwrap();
    assert!(e.contains("bad magic"), "{e}");
}

#[test]
fn cow_sample_blocks_cover_small_and_large_bases() {
    assert!(sample_blocks(0).is_empty());
    assert_eq!(sample_blocks(2).into_iter().collect::<Vec<_>>(), vec![0, 1]);
    let s = sample_blocks(1 << 20);
    assert!(s.contains(&0) && s.contains(&2) && s.contains(&((1 << 20) - 1)));
    assert!(s.len() <= SAMPLES as usize);
}

#[test]
fn cow_file_is_used_by_one_writer_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let b = base(tmp.path(), 4 * 4096);
    let cow = tmp.path().join("c.cow");
    let first = CowBlockDevice::open(&b, &cow, false).unwrap();
    let e = CowBlockDevice::open(&b, &cow, false).err().unwrap();
    assert!(e.contains("in use"), "{e}");
    drop(first);
    assert!(CowBlockDevice::open(&b, &cow, false).is_ok());
}
