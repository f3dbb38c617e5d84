//! `umbra-mkfs --from DIR --size 128M OUT.img [-D TABLE] [-b BLOCKSIZE] [-L LABEL]`: builds an
//! ext2 image from a host directory without root and without e2fsprogs.

use std::path::PathBuf;
use std::process::ExitCode;

use tools::mkfs::{build, parse_size, BuildOptions};

const USAGE: &str = "usage: umbra-mkfs [--from DIR] --size SIZE[K|M|G] [-D DEVICE_TABLE] [-b BLOCKSIZE] [-L LABEL] OUT.img";

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
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
