//! `umbra-mkfs --from DIR --size 128M OUT.img [-D TABLE] [-b BLOCKSIZE] [-L LABEL]`: builds an
//! ext2 image from a host directory without root and without e2fsprogs.
//!
//! `umbra-mkfs --merge CHANGES.cow [--base BASE.img] [OUT.img]`: folds a copy-on-write file's
//! changes into its base, or into a new image OUT.img (User-Mode Linux's `uml_moo`).

use std::path::PathBuf;
use std::process::ExitCode;

use tools::mkfs::{build, parse_size, BuildOptions};

const USAGE: &str = "usage: umbra-mkfs [--from DIR] --size SIZE[K|M|G] [-D DEVICE_TABLE] [-b BLOCKSIZE] [-L LABEL] OUT.img
       umbra-mkfs --merge CHANGES.cow [--base BASE.img] [OUT.img]";

/// `--merge CHANGES.cow [--base BASE.img] [OUT.img]`: without OUT.img the base named in the COW
/// header (or `--base`) is rewritten in place, as `uml_moo -d`; the COW file no longer matches it
/// afterwards.
fn merge(args: &[String]) -> Result<(), String> {
    let mut cow = None;
    let mut base = None;
    let mut out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--merge" => cow = Some(PathBuf::from(it.next().ok_or_else(|| format!("--merge needs a COW file\n{USAGE}"))?)),
            "--base" => base = Some(PathBuf::from(it.next().ok_or_else(|| format!("--base needs an image\n{USAGE}"))?)),
            s if s.starts_with('-') => return Err(format!("unknown option `{s}` with --merge\n{USAGE}")),
            _ if out.is_some() => return Err(format!("more than one output image given\n{USAGE}")),
            _ => out = Some(PathBuf::from(a)),
        }
    }
    let cow = cow.ok_or_else(|| USAGE.to_string())?;
    let n = fs::blockdev::cow::merge(&cow, base.as_deref(), out.as_deref())?;
    let into = match (&out, &base) {
        (Some(o), _) | (None, Some(o)) => o.display().to_string(),
        (None, None) => fs::blockdev::cow::read_header(&cow)?.base_path.display().to_string(),
    };
    eprintln!("umbra-mkfs: merged {n} changed blocks of {} into {into}", cow.display());
    Ok(())
}

fn run() -> Result<(), String> {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.iter().any(|a| a == "--merge") {
        return merge(&all);
    }
    let mut args = all.into_iter();
    let mut from = None;
    let mut size = None;
    let mut table = None;
    let mut bs = None;
    let mut label = String::new();
    let mut out = None;
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--from" | "-d" => from = Some(PathBuf::from(val(&a)?)),
            "--size" | "-s" => {
                let v = val(&a)?;
                size = Some(parse_size(&v).ok_or_else(|| format!("bad size `{v}` (use e.g. 64M, 2G)"))?);
            }
            "-D" | "--devices" => table = Some(PathBuf::from(val(&a)?)),
            "-b" | "--block-size" => {
                let v = val(&a)?;
                bs = Some(v.parse::<u32>().map_err(|_| format!("bad block size `{v}`"))?);
            }
            "-L" | "--label" => label = val(&a)?,
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option `{s}`\n{USAGE}")),
            _ => {
                if out.is_some() {
                    return Err(format!("more than one output image given\n{USAGE}"));
                }
                out = Some(PathBuf::from(a));
            }
        }
    }
    let out = out.ok_or_else(|| format!("no output image given\n{USAGE}"))?;
    let size = size.ok_or_else(|| format!("no --size given\n{USAGE}"))?;
    let opts = BuildOptions { size, block_size: bs, device_table: table, label };
    build(from.as_deref(), &out, &opts).map_err(|e| e.0)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("umbra-mkfs: {e}");
            ExitCode::from(1)
        }
    }
}
