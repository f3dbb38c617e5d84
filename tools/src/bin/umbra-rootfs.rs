//! `umbra-rootfs [--out IMAGE] [--size SIZE] [--busybox PATH] [--recipe DIR]`: builds the
//! default busybox root image (by default `rootfs/build/rootfs.img` in the workspace) from the
//! recipe in `rootfs/`, without root.

use std::path::PathBuf;
use std::process::ExitCode;

use tools::mkfs::parse_size;
use tools::rootfs::{build_default_image, default_image_path, Options};

const USAGE: &str = "usage: umbra-rootfs [--out IMAGE] [--size SIZE[K|M|G]] [--busybox PATH] [--recipe DIR]";

const HELP: &str = "Builds the default Umbra root image: rootfs/files, a static busybox with a link per applet,
and rootfs/device_table.txt, as ext2 (no root needed).
  --out IMAGE      where to write it (default: rootfs/build/rootfs.img in the workspace)
  --size SIZE      image size (default: 64M)
  --busybox PATH   a static x86-64 busybox (default: /bin/busybox if static, else Debian's
                   busybox-static via apt-get download)
  --recipe DIR     the recipe directory holding files/ and device_table.txt (default: rootfs/)";

/// The parsed command line: where to write and how to build.
fn parse_args() -> Result<(PathBuf, Options), String> {
    let mut args = std::env::args().skip(1);
    let mut out = default_image_path();
    let mut opts = Options::default();
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut val = || inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}\n\n{HELP}");
                std::process::exit(0);
            }
            "-o" | "--out" => out = PathBuf::from(val()?),
            "-s" | "--size" => {
                let v = val()?;
                opts.size = parse_size(&v).ok_or_else(|| format!("bad size `{v}` (use e.g. 64M, 1G)"))?;
            }
            "--busybox" => opts.busybox = Some(PathBuf::from(val()?)),
            "--recipe" => opts.recipe = PathBuf::from(val()?),
            _ => return Err(format!("unknown argument `{a}`\n{USAGE}")),
        }
    }
    Ok((out, opts))
}

fn main() -> ExitCode {
    match parse_args().and_then(|(out, opts)| build_default_image(&out, &opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("umbra-rootfs: {e}");
            ExitCode::from(1)
        }
    }
}
