//! `umbra-rootfs [--out IMAGE] [--size SIZE] [--busybox PATH] [--recipe DIR]`: builds the
//! default busybox root image (by default `rootfs/build/rootfs.img` in the workspace) from the
//! recipe in `rootfs/`, without root.
//!
//! `umbra-rootfs --debian [SUITE] [--include PKG,…] [--size SIZE] OUT.img`: builds a bootable
//! Debian image without root (`tools::debian`).

use std::path::PathBuf;
use std::process::ExitCode;

use tools::mkfs::parse_size;
use tools::rootfs::{build_default_image, default_image_path, Options};

const USAGE: &str = "usage: umbra-rootfs [--out IMAGE] [--size SIZE[K|M|G]] [--busybox PATH] [--recipe DIR]
       umbra-rootfs --debian [SUITE] [--include PKG,...] [--size SIZE] OUT.img";

const HELP: &str = "Builds the default Umbra root image: rootfs/files, a static busybox with a link per applet,
and rootfs/device_table.txt, as ext2 (no root needed).
  --out IMAGE      where to write it (default: rootfs/build/rootfs.img in the workspace)
  --size SIZE      image size (default: 64M)
  --busybox PATH   a static x86-64 busybox (default: /bin/busybox if static, else Debian's
                   busybox-static via apt-get download)
  --recipe DIR     the recipe directory holding files/ and device_table.txt (default: rootfs/)

--debian builds a bootable Debian image without root: the host's apt-get downloads the packages
(Priority required, apt, sysvinit-core, login, passwd, procps and --include) into
~/.cache/umbra/rootfs-debian/SUITE, dpkg-deb unpacks them, umbra-mkfs makes the image (ext2,
2G by default), and dpkg installs them for real inside umbra (UMBRA=path, else the umbra next
to this program). Root logs in on the console with an empty password.";

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

/// `--debian [SUITE] [--include PKG,…] [--size SIZE] OUT.img`.
fn parse_debian(args: &[String]) -> Result<(PathBuf, tools::debian::DebianOptions), String> {
    let mut opts = tools::debian::DebianOptions::new();
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--include" => {
                let v = it.next().ok_or_else(|| format!("--include needs packages\n{USAGE}"))?;
                opts.include.extend(v.split(',').filter(|p| !p.is_empty()).map(str::to_string));
            }
            "--size" | "-s" => {
                let v = it.next().ok_or_else(|| format!("--size needs a value\n{USAGE}"))?;
                opts.size = parse_size(v).ok_or_else(|| format!("bad size `{v}` (use e.g. 2G)"))?;
            }
            s if s.starts_with('-') => return Err(format!("unknown option `{s}` with --debian\n{USAGE}")),
            s => positional.push(s.to_string()),
        }
    }
    let out = match positional.as_slice() {
        [out] => out,
        [suite, out] => {
            opts.suite = suite.clone();
            out
        }
        _ => return Err(format!("--debian takes [SUITE] OUT.img\n{USAGE}")),
    };
    Ok((PathBuf::from(out), opts))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--debian") {
        return match parse_debian(&args[1..]).and_then(|(out, o)| tools::debian::build_debian_image(&out, &o)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("umbra-rootfs: {e}");
                ExitCode::from(1)
            }
        };
    }
    match parse_args().and_then(|(out, opts)| build_default_image(&out, &opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("umbra-rootfs: {e}");
            ExitCode::from(1)
        }
    }
}
