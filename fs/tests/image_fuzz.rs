//! Filesystem image fuzzing: seed images made once by host `mke2fs -d` (ext2, ext3, ext4) from a
//! small tree of every file kind are mutated in process with a seeded PRNG, biased to the bytes
//! that matter (superblock, group descriptors, and the non-zero metadata blocks: bitmaps, inode
//! tables, directories, extent/indirect and xattr blocks, journal superblock), then mounted on a
//! `MemBlockDevice`, walked, read, written and unmounted. Each case runs under `catch_unwind` with
//! a 5 s watchdog; a panic or hang fails with the seed and case number so it reproduces.
//! Unmutated seeds get random operation sequences and must stay `e2fsck -fn` clean (sampled).
//!
//! `UMBRA_FSFUZZ_SEED=N` picks the seed (default: time-based, printed), `UMBRA_FSFUZZ_CASES=N`
//! the number of mutated images (default 10 000), `UMBRA_FSFUZZ_CASE=K` runs only case K.

mod ext2_util;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ext2_util::*;
use fs::block::{BlockDevice, MemBlockDevice};
use fs::ext2::Ext2Fs;

/// A case slower than this is a hang.
const WATCHDOG: Duration = Duration::from_secs(5);

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A seed image and the offsets of its interesting (non-zero) blocks.
struct Seed {
    name: &'static str,
    image: Vec<u8>,
    block_size: usize,
    hot_blocks: Vec<usize>,
}

/// Builds the source tree: files of several sizes, a hole, a large directory, fast and slow
/// symlinks, device nodes, a FIFO, hard links, xattrs.
fn build_tree(root: &Path) {
    use std::os::unix::fs::symlink;
    std::fs::create_dir_all(root.join("big/sub")).unwrap();
    std::fs::write(root.join("empty"), b"").unwrap();
    std::fs::write(root.join("small"), b"hello").unwrap();
    std::fs::write(root.join("mid"), pattern(70_000, 3)).unwrap();
    std::fs::write(root.join("big/sub/large"), pattern(300_000, 5)).unwrap();
    let f = std::fs::File::create(root.join("holey")).unwrap();
    f.set_len(600_000).unwrap();
    use std::os::unix::fs::FileExt;
    f.write_at(b"tail", 599_000).unwrap();
    f.write_at(b"head", 0).unwrap();
    for i in 0..150 {
        std::fs::write(root.join(format!("big/entry-with-a-long-name-{i:04}")), format!("{i}")).unwrap();
    }
    std::fs::hard_link(root.join("small"), root.join("big/hardlink")).unwrap();
    symlink("small", root.join("fastlink")).unwrap();
    symlink("x/".repeat(60), root.join("slowlink")).unwrap();
    let _ = std::process::Command::new("mknod").arg(root.join("chr")).args(["c", "1", "3"]).status();
    let _ = std::process::Command::new("mknod").arg(root.join("blk")).args(["b", "7", "0"]).status();
    let _ = std::process::Command::new("mkfifo").arg(root.join("fifo")).status();
    for (file, val) in [("small", "v".repeat(10)), ("mid", "w".repeat(300))] {
        let _ = std::process::Command::new("setfattr")
            .args(["-n", "user.fuzz", "-v", &val])
            .arg(root.join(file))
            .status();
    }
}

/// Makes the seed images once.
fn make_seeds() -> Vec<Seed> {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    build_tree(&tree);
    let specs: [(&str, &str, u32, &str, &[&str]); 4] = [
        ("ext2-1k", "ext2", 1024, "1536K", &["-N", "256"]),
        ("ext3-1k", "ext3", 1024, "3M", &["-N", "256", "-J", "size=1"]),
        ("ext4-1k", "ext4", 1024, "2M", &["-N", "256", "-O", "^has_journal"]),
        ("ext4-4k", "ext4", 4096, "2M", &["-N", "256", "-O", "^has_journal"]),
    ];
    specs
        .iter()
        .map(|&(name, ty, bs, size, extra)| {
            let img = dir.path().join(format!("{name}.img"));
            mke2fs(&img, ty, bs, size, Some(&tree), extra);
            let image = std::fs::read(&img).unwrap();
            let bsz = bs as usize;
            let hot_blocks = (0..image.len() / bsz)
                .filter(|b| image[b * bsz..(b + 1) * bsz].iter().any(|&x| x != 0))
                .collect();
            Seed { name, image, block_size: bsz, hot_blocks }
        })
        .collect()
}

/// Mutates `img` in place: a few bytes, biased to the superblock, descriptors and hot blocks.
fn mutate(seed: &Seed, img: &mut [u8], rng: &mut Rng) {
    let n = 1 + rng.below(8);
    for _ in 0..n {
        let off = match rng.below(10) {
            0 | 1 => 1024 + rng.below(1024),
            2 => {
                let gdt = if seed.block_size == 1024 { 2048 } else { 4096 };
                gdt + rng.below(256)
            }
            3..=8 => {
                let b = seed.hot_blocks[rng.below(seed.hot_blocks.len())];
                b * seed.block_size + rng.below(seed.block_size)
            }
            _ => rng.below(img.len()),
        };
        if rng.below(4) == 0 {
            write_word(img, off & !3, rng);
            continue;
        }
        let val = match rng.below(6) {
            0 => 0,
            1 => 0xFF,
            2 => img[off] ^ (1 << rng.below(8)),
            3 => img[off].wrapping_add(1),
            4 => img[off].wrapping_sub(1),
            _ => rng.next() as u8,
        };
        img[off] = val;
    }
}

/// Overwrites the aligned 32-bit word at `off` with a boundary value (0, all ones, small, big).
fn write_word(img: &mut [u8], off: usize, rng: &mut Rng) {
    let Some(w) = img.get_mut(off..off + 4) else { return };
    let v: u32 = match rng.below(6) {
        0 => 0,
        1 => u32::MAX,
        2 => rng.below(16) as u32,
        3 => 0x8000_0000,
        4 => 1 << rng.below(32),
        _ => rng.next() as u32,
    };
    w.copy_from_slice(&v.to_le_bytes());
}

/// Walks the whole tree with bounded effort, reading every file, link and xattr.
fn walk(fs: &Ext2Fs) {
    let mut stack = vec![(fs.root_ino(), 0u32)];
    let mut budget = 2000;
    let mut buf = vec![0u8; 16384];
    while let Some((dir, depth)) = stack.pop() {
        let mut ents = Vec::new();
        let _ = fs.readdir(dir, 0, &mut |n, ino, _, _| {
            ents.push((n.to_vec(), ino));
            ents.len() < 400
        });
        for (name, ino) in ents {
            budget -= 1;
            if budget == 0 {
                return;
            }
            let _ = fs.lookup(dir, &name);
            let Ok(st) = fs.stat(ino) else { continue };
            let _ = fs.xattr_list(ino);
            let _ = fs.xattr_get(ino, 1, b"fuzz");
            match st.mode & 0o170000 {
                0o040000 if name != b"." && name != b".." && depth < 8 => stack.push((ino, depth + 1)),
                0o100000 => {
                    let mut off = 0u64;
                    while off < st.size.min(1 << 20) {
                        match fs.read(ino, off, &mut buf) {
                            Ok(n) if n > 0 => off += n as u64,
                            _ => break,
                        }
                    }
                }
                0o120000 => {
                    let _ = fs.readlink(ino);
                }
                _ => {}
            }
        }
    }
    let _ = fs.statfs();
}

/// A random sequence of writes, results ignored on mutants (checked by e2fsck on clean seeds).
fn scribble(fs: &Ext2Fs, rng: &mut Rng) {
    let root = fs.root_ino();
    let names: [&[u8]; 6] = [b"small", b"mid", b"holey", b"big", b"new1", b"new2"];
    let big = fs.lookup(root, b"big").ok();
    for _ in 0..(3 + rng.below(10)) {
        let name = names[rng.below(names.len())];
        let dir = if rng.below(3) == 0 { big.unwrap_or(root) } else { root };
        match rng.below(9) {
            0 => {
                let _ = fs.create(dir, name, 0o100644, 0, 0, 0);
            }
            1 => {
                if let Ok(f) = fs.lookup(dir, name) {
                    let off = rng.below(400_000) as u64;
                    let _ = fs.write(f, off, &pattern(1 + rng.below(20_000), rng.next() as u32));
                }
            }
            2 => {
                if let Ok(f) = fs.lookup(dir, name) {
                    let _ = fs.truncate(f, rng.below(300_000) as u64);
                }
            }
            3 => {
                if let Ok(u) = fs.unlink(dir, name) {
                    let _ = fs.evict(u.ino);
                }
            }
            4 => {
                let _ = fs.mkdir(dir, name, 0o755, 0, 0);
            }
            5 => {
                let other = names[rng.below(names.len())];
                if let Ok(Some(u)) = fs.rename(dir, name, root, other, 0) {
                    let _ = fs.evict(u.ino);
                }
            }
            6 => {
                if let Ok(f) = fs.lookup(dir, name) {
                    let val = vec![b'x'; rng.below(600)];
                    let _ = fs.xattr_set(f, 1, b"fuzz2", Some(&val), 0);
                }
            }
            7 => {
                if let Ok(u) = fs.rmdir(dir, name) {
                    let _ = fs.evict(u.ino);
                }
            }
            _ => {
                let _ = fs.symlink(dir, name, &vec![b'l'; 1 + rng.below(200)], 0, 0);
            }
        }
    }
    let _ = fs.unmount();
}

/// How many cases mounted (the rest were refused at mount, also fine).
static MOUNTED: AtomicU64 = AtomicU64::new(0);

/// Mounts `img`, walks it and (if `rw`) writes to it; returns the image after unmount.
fn exercise(img: Vec<u8>, rw: bool, rng: &mut Rng) -> Vec<u8> {
    let dev = Arc::new(MemBlockDevice::from_vec(img, false));
    let bdev: Arc<dyn BlockDevice> = dev.clone();
    if let Ok(fs) = Ext2Fs::mount(bdev, !rw) {
        MOUNTED.fetch_add(1, Ordering::Relaxed);
        walk(&fs);
        if rw {
            scribble(&fs, rng);
        } else {
            let _ = fs.unmount();
        }
    }
    dev.contents()
}

/// Runs one case on a worker thread under `catch_unwind` and the watchdog.
fn run_case(seeds: &Arc<Vec<Seed>>, seed: u64, case: u64) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let seeds = seeds.clone();
    std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(|| {
            let mut rng = Rng::new(seed ^ case.wrapping_mul(0x1000_0001));
            let s = &seeds[rng.below(seeds.len())];
            let mut img = s.image.clone();
            mutate(s, &mut img, &mut rng);
            let rw = rng.below(3) != 0;
            exercise(img, rw, &mut rng);
        }));
        let _ = tx.send(r.map_err(|e| {
            e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
        }));
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(msg)) => Err(format!("panic: {msg}")),
        Err(_) => Err(format!("hang: case took more than {WATCHDOG:?}")),
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn mutated_images_never_panic_or_hang() {
    if !have_e2fsprogs() {
        return;
    }
    let seed = env_u64("UMBRA_FSFUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(1)
    });
    let cases = env_u64("UMBRA_FSFUZZ_CASES").unwrap_or(10_000);
    let seeds = Arc::new(make_seeds());
    eprintln!("fsfuzz: UMBRA_FSFUZZ_SEED={seed} UMBRA_FSFUZZ_CASES={cases}");
    let range = match env_u64("UMBRA_FSFUZZ_CASE") {
        Some(k) => k..k + 1,
        None => 0..cases,
    };
    let start = Instant::now();
    let mut failures = Vec::new();
    for case in range.clone() {
        if let Err(e) = run_case(&seeds, seed, case) {
            eprintln!("fsfuzz FAILURE: UMBRA_FSFUZZ_SEED={seed} UMBRA_FSFUZZ_CASE={case}: {e}");
            failures.push(case);
            if failures.len() >= 20 {
                break;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = range.end - range.start;
    let mounted = MOUNTED.load(Ordering::Relaxed);
    eprintln!("fsfuzz: {n} cases ({mounted} mounted) in {secs:.1}s ({:.0} cases/s)", n as f64 / secs);
    assert!(failures.is_empty(), "seed {seed}: failing cases {failures:?}");
}

/// Unmutated seeds, random writes, unmount: e2fsck -fn must stay clean.
#[test]
fn clean_seeds_stay_clean_after_random_writes() {
    if !have_e2fsprogs() {
        return;
    }
    let seed = env_u64("UMBRA_FSFUZZ_SEED").unwrap_or(12345);
    let seeds = make_seeds();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(seed);
    for round in 0..4 {
        for s in &seeds {
            let out = exercise(s.image.clone(), true, &mut rng);
            let img = dir.path().join(format!("{}-{round}.img", s.name));
            std::fs::write(&img, out).unwrap();
            e2fsck_clean(&img);
        }
    }
}

/// Whether `e2fsck -fn` exits 0 on `img`.
fn fsck_ok(img: &Path) -> bool {
    std::process::Command::new("e2fsck").arg("-fn").arg(img).output().map(|o| o.status.success()).unwrap_or(false)
}

/// A sample of mutants that e2fsck calls clean must still be clean after umbra writes to them.
#[test]
fn fsck_clean_mutants_stay_clean_after_writes() {
    if !have_e2fsprogs() {
        return;
    }
    let seed = env_u64("UMBRA_FSFUZZ_SEED").unwrap_or(4242);
    let seeds = make_seeds();
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("m.img");
    let mut tried = 0;
    for case in 0..env_u64("UMBRA_FSFUZZ_FSCK_CASES").unwrap_or(40) {
        let mut rng = Rng::new(seed ^ case.wrapping_mul(0x1000_0001));
        let s = &seeds[rng.below(seeds.len())];
        let mut m = s.image.clone();
        mutate(s, &mut m, &mut rng);
        std::fs::write(&img, &m).unwrap();
        if !fsck_ok(&img) {
            continue;
        }
        tried += 1;
        let out = exercise(m, true, &mut rng);
        std::fs::write(&img, out).unwrap();
        eprintln!("fsfuzz fsck: seed {seed} case {case} ({})", s.name);
        e2fsck_clean(&img);
    }
    eprintln!("fsfuzz fsck: {tried} e2fsck-clean mutants written and rechecked");
}
