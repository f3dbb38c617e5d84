//! ELF-loader fuzzing (hardening issue, part 2): 1000 mutated copies of a tiny static program
//! (and of its static-PIE twin) — bytes of the ELF header and program headers flipped, fields
//! set to extreme values, files truncated — are run one after another by one guest
//! (`tests/guest/execfuzz.c`). Each must end as an `execve` error, a signal or an exit; umbra
//! must neither panic nor hang. Seeded: `UMBRA_ELF_FUZZ_SEED=N` (default 1), and
//! `UMBRA_ELF_FUZZ_N=K` mutants (default 1000).

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// xorshift64*: the mutants follow from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// One mutant of `base`: 1-4 mutations aimed mostly at the headers the loader parses.
fn mutate(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = base.to_vec();
    let phnum = u16::from_le_bytes([base[56], base[57]]) as u64;
    let headers = 64 + 56 * phnum;
    for _ in 0..1 + rng.below(4) {
        let len = v.len() as u64;
        if len == 0 {
            break;
        }
        match rng.below(10) {
            0..=3 => {
                let i = rng.below(64.min(len)) as usize;
                v[i] = rng.next() as u8;
            }
            4..=6 => {
                let i = (64 + rng.below(headers - 64)).min(len - 1) as usize;
                v[i] = rng.next() as u8;
            }
            7 => {
                let at = (rng.below(headers / 8) * 8) as usize;
                let val = [0, u64::MAX, 1 << 47, 0xffff_ffff, 0x1000, rng.next()][rng.below(6) as usize];
                if at + 8 <= v.len() {
                    v[at..at + 8].copy_from_slice(&val.to_le_bytes());
                }
            }
            8 => {
                let i = rng.below(len) as usize;
                v[i] = rng.next() as u8;
            }
            _ => v.truncate(rng.below(len) as usize),
        }
    }
    v
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn write_exec(p: &Path, data: &[u8]) {
    std::fs::write(p, data).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn mutated_elf_files_never_crash_the_loader() {
    let seed = env_or("UMBRA_ELF_FUZZ_SEED", 1);
    let count = env_or("UMBRA_ELF_FUZZ_N", 1000);
    let root = scratch(&format!("elf-fuzz-{}", std::process::id()));
    for d in ["bin", "m", "dev", "proc", "tmp"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    build_c("execfuzz", &root.join("bin/execfuzz"), &[]);
    build_c("tiny", &root.join("bin/tiny"), &["-nostdlib", "-static", "-Os"]);
    build_c("tiny", &root.join("bin/tiny-pie"), &["-nostdlib", "-static-pie", "-fPIE", "-Os"]);
    let bases = [std::fs::read(root.join("bin/tiny")).unwrap(), std::fs::read(root.join("bin/tiny-pie")).unwrap()];
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    for i in 0..count {
        let m = mutate(&bases[(i % 2) as usize], &mut rng);
        write_exec(&root.join("m").join(format!("{i:05}")), &m);
    }
    let r = root.to_str().unwrap();
    let out = run_umbra(&["run", "--root", r, "--", "/bin/execfuzz", "/m"], Duration::from_secs(600));
    let (so, se) = (stdout(&out), stderr(&out));
    eprintln!("seed {seed}:\n{so}");
    assert!(!se.contains("panicked"), "umbra panicked on a mutated ELF (seed {seed}):\n{se}");
    assert!(out.status.success(), "execfuzz failed (seed {seed}): {:?}\n{so}\n{se}", out.status);
    assert!(so.contains(&format!("ran {count} programs")), "not every mutant ran (seed {seed}):\n{so}");
    let _ = std::fs::remove_dir_all(&root);
}
