//! The command line (DESIGN.md "The command line"): `umbra run` and `umbra boot`, with friendly
//! flags plus User-Mode Linux's `ubd0= mem= init= root= rw ro` words for `boot`.

use std::path::PathBuf;

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `umbra run`: one program as pid 1 on the console.
    Run(RunArgs),
    /// `umbra boot` (also `umbra` alone): boot an image's init.
    Boot(BootArgs),
    /// `--help`.
    Help,
    /// `--version`.
    Version,
}

/// Settings shared by `run` and `boot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// Guest RAM in bytes (`--mem`, default 256 MiB).
    pub mem: u64,
    /// Print every guest syscall.
    pub strace: bool,
    /// Log level (`--log`, default warn).
    pub log: log::LevelFilter,
    /// Mount the root read-only.
    pub ro: bool,
    /// `--net none`: only `lo`, nothing leaves the guest (default `--net user`).
    pub net_none: bool,
    /// `--publish [HOSTADDR:]HOSTPORT:GUESTPORT[/udp]` rules.
    pub publish: Vec<kernel::net::inet::relay::Publish>,
    /// `--cow CHANGES.cow` (or UML's `ubd0=CHANGES.cow,BASE.img`): the root image is a read-only
    /// base and every change goes to this copy-on-write file.
    pub cow: Option<PathBuf>,
    /// `--disk IMAGE[,ro]` (or UML's `ubd1=IMAGE`, …): more disks, `/dev/ubdb` onwards.
    pub disks: Vec<Disk>,
}

/// An extra disk: `--disk IMAGE[,ro]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// The image file.
    pub image: PathBuf,
    /// Attached read-only (`,ro`): writes fail with `EROFS`.
    pub ro: bool,
}

/// Parses `IMAGE[,ro]` (also `,rw`), as `--disk` and UML's `ubdN=` take it.
pub fn parse_disk(s: &str) -> Result<Disk, String> {
    let (image, ro) = match s.rsplit_once(',') {
        Some((i, "ro")) => (i, true),
        Some((i, "rw")) => (i, false),
        _ => (s, false),
    };
    if image.is_empty() {
        return Err(format!("--disk '{s}': expected IMAGE[,ro]"));
    }
    Ok(Disk { image: PathBuf::from(image), ro })
}

/// Parses UML's `ubd0=` value: `IMAGE` or `CHANGES.cow,BASE.img`; returns (image, cow).
fn parse_ubd0(v: &str) -> (PathBuf, Option<PathBuf>) {
    match v.split_once(',') {
        Some((cow, base)) if !cow.is_empty() && !base.is_empty() => (PathBuf::from(base), Some(PathBuf::from(cow))),
        _ => (PathBuf::from(v), None),
    }
}

impl Default for Common {
    fn default() -> Self {
        Common { mem: 256 << 20, strace: false, log: log::LevelFilter::Warn, ro: false, net_none: false, publish: Vec::new(), cow: None, disks: Vec::new() }
    }
}

/// `umbra run [--root IMAGE|DIR] [--ro] [--mem SIZE] [--env K=V]... [--strace] [--log LEVEL] -- PROGRAM [ARGS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    /// Shared settings.
    pub common: Common,
    /// The root filesystem: an image file or a host directory (default: the default image).
    pub root: Option<PathBuf>,
    /// Extra environment variables.
    pub env: Vec<String>,
    /// The program and its arguments.
    pub argv: Vec<String>,
}

/// `umbra boot [IMAGE] [--mem SIZE] [--init PATH] [--ro] [--strace] [--log LEVEL] [key=value...]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BootArgs {
    /// Shared settings.
    pub common: Common,
    /// The root image (default: the default image).
    pub image: Option<PathBuf>,
    /// The init program (default `/sbin/init`).
    pub init: Option<String>,
    /// Other `key=value` words: init's environment, as Linux passes unknown parameters.
    pub env: Vec<String>,
    /// The words as given, for `/proc/cmdline`.
    pub cmdline: Vec<String>,
}

/// Parses a size with an optional K/M/G suffix (`256M`, `1G`, `65536`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 1 << 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("invalid size '{s}' (use e.g. 256M)"))
}

fn parse_level(s: &str) -> Result<log::LevelFilter, String> {
    s.parse().map_err(|_| format!("invalid log level '{s}' (error, warn, info, debug, trace)"))
}

/// Parses `std::env::args()` minus the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    match args.first().map(String::as_str) {
        None => Ok(Command::Boot(BootArgs::default())),
        Some("-h" | "--help" | "help") => Ok(Command::Help),
        Some("-V" | "--version") => Ok(Command::Version),
        Some("run") => parse_run(&args[1..]).map(Command::Run),
        Some("boot") => parse_boot(&args[1..]).map(Command::Boot),
        Some(_) => parse_boot(args).map(Command::Boot),
    }
}

/// Takes the value of a flag given as `--flag VALUE` or `--flag=VALUE`.
fn value(flag: &str, inline: Option<&str>, it: &mut std::slice::Iter<'_, String>) -> Result<String, String> {
    match inline {
        Some(v) => Ok(v.to_string()),
        None => it.next().cloned().ok_or_else(|| format!("{flag} needs a value")),
    }
}

/// Handles a flag both commands accept; `Ok(false)` if it is not one of them.
fn common_flag(c: &mut Common, flag: &str, inline: Option<&str>, it: &mut std::slice::Iter<'_, String>) -> Result<bool, String> {
    match flag {
        "--mem" | "-m" => c.mem = parse_size(&value(flag, inline, it)?)?,
        "--strace" => c.strace = true,
        "--log" => c.log = parse_level(&value(flag, inline, it)?)?,
        "--ro" => c.ro = true,
        "--cow" => c.cow = Some(PathBuf::from(value(flag, inline, it)?)),
        "--disk" => c.disks.push(parse_disk(&value(flag, inline, it)?)?),
        "--net" => match value(flag, inline, it)?.as_str() {
            "user" => c.net_none = false,
            "none" => c.net_none = true,
            other => return Err(format!("--net {other}: expected user or none")),
        },
        "--publish" | "-p" => c.publish.push(kernel::net::inet::relay::parse_publish(&value(flag, inline, it)?)?),
        _ => return Ok(false),
    }
    Ok(true)
}

fn split_flag(a: &str) -> (&str, Option<&str>) {
    match a.split_once('=') {
        Some((f, v)) if f.starts_with("--") => (f, Some(v)),
        _ => (a, None),
    }
}

fn parse_run(args: &[String]) -> Result<RunArgs, String> {
    let mut r = RunArgs { common: Common::default(), root: None, env: Vec::new(), argv: Vec::new() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            r.argv = it.cloned().collect();
            break;
        }
        if !a.starts_with('-') {
            r.argv = std::iter::once(a.clone()).chain(it.cloned()).collect();
            break;
        }
        let (flag, inline) = split_flag(a);
        if common_flag(&mut r.common, flag, inline, &mut it)? {
            continue;
        }
        match flag {
            "--root" => r.root = Some(PathBuf::from(value(flag, inline, &mut it)?)),
            "--env" | "-e" => {
                let kv = value(flag, inline, &mut it)?;
                if !kv.contains('=') {
                    return Err(format!("--env needs KEY=VALUE, got '{kv}'"));
                }
                r.env.push(kv)
            }
            _ => return Err(format!("unknown option '{a}' for 'umbra run' (see umbra --help)")),
        }
    }
    if r.argv.is_empty() {
        return Err("umbra run: no PROGRAM given (umbra run [OPTIONS] -- PROGRAM [ARGS])".into());
    }
    Ok(r)
}

/// The index of UML's `ubdN` word (`ubd1`, or `ubdb` as the device name): `Some(1)`.
fn ubd_index(k: &str) -> Option<usize> {
    let rest = k.strip_prefix("ubd")?;
    match rest.as_bytes() {
        [c @ b'a'..=b'z'] => Some((c - b'a') as usize),
        _ => rest.parse::<usize>().ok().filter(|&n| n < 16),
    }
}

fn parse_boot(args: &[String]) -> Result<BootArgs, String> {
    let mut b = BootArgs { cmdline: args.to_vec(), ..Default::default() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = split_flag(a);
        if a.starts_with('-') {
            if common_flag(&mut b.common, flag, inline, &mut it)? {
                continue;
            }
            match flag {
                "--init" => b.init = Some(value(flag, inline, &mut it)?),
                _ => return Err(format!("unknown option '{a}' for 'umbra boot' (see umbra --help)")),
            }
            continue;
        }
        match a.split_once('=') {
            Some(("ubd0" | "ubda", v)) => {
                let (image, cow) = parse_ubd0(v);
                b.image = Some(image);
                if cow.is_some() {
                    b.common.cow = cow;
                }
            }
            Some((k, v)) if ubd_index(k).is_some_and(|i| i > 0) => {
                let i = ubd_index(k).unwrap_or(1);
                let disk = parse_disk(v)?;
                if b.common.disks.len() + 1 != i {
                    return Err(format!("{k}=: give ubd1= … in order without gaps"));
                }
                b.common.disks.push(disk);
            }
            Some(("mem", v)) => b.common.mem = parse_size(v)?,
            Some(("init", v)) => b.init = Some(v.to_string()),
            Some(("root", _)) | Some(("console", _)) | Some(("con", _)) | Some(("con0", _)) => {}
            Some(_) => b.env.push(a.clone()),
            None if a == "ro" => b.common.ro = true,
            None if a == "rw" => b.common.ro = false,
            None if b.image.is_none() => b.image = Some(PathBuf::from(a)),
            None => return Err(format!("unexpected argument '{a}' for 'umbra boot'")),
        }
    }
    Ok(b)
}

/// The `--help` text.
pub const HELP: &str = "\
umbra: a user-mode Linux kernel in Rust. Runs unmodified x86-64 Linux programs as an ordinary,
unprivileged host process.

USAGE:
    umbra                      boot the default image (rootfs/build/rootfs.img; built if missing)
    umbra boot [IMAGE] [OPTIONS] [key=value...]
    umbra run [OPTIONS] -- PROGRAM [ARGS...]

umbra run: PROGRAM runs as pid 1 on this terminal (host stdin/stdout are its console).
    --root IMAGE|DIR   root filesystem: an ext2/ext4 image or a host directory
    --env KEY=VALUE    add to PROGRAM's environment (repeatable)

umbra boot: mounts IMAGE as / and starts /sbin/init (or --init) as pid 1.
    --init PATH        the init program
    User-Mode Linux's words work too: ubd0=IMAGE ubd0=CHANGES.cow,IMAGE ubd1=IMAGE[,ro]
    mem=SIZE init=PATH root=/dev/ubda rw ro; other key=value words go to init's environment.

Common options:
    --mem SIZE         guest RAM (default 256M; K/M/G suffixes)
    --ro               mount the root read-only
    --cow CHANGES.cow  keep the root image untouched: read it as a base and write every change
                       to CHANGES.cow (created if missing; merge with umbra-mkfs --merge)
    --disk IMAGE[,ro]  attach another disk as /dev/ubdb, /dev/ubdc, … (repeatable)
    --net user|none    user-mode networking (default: eth0 10.0.2.15, the host is 10.0.2.2,
                       DNS 10.0.2.3) or only loopback
    --publish [HOSTADDR:]HOSTPORT:GUESTPORT[/udp]
                       listen on the host (HOSTADDR 127.0.0.1 by default) and hand
                       connections to the guest's GUESTPORT (repeatable)
    --strace           print every guest syscall on stderr, as strace does
    --log LEVEL        umbra's log level: error, warn (default), info, debug, trace

Exit status: the guest's exit status; 128+N if it was killed by signal N; 125 for umbra's own
errors; 126 if PROGRAM cannot be executed; 127 if it does not exist.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn run_flags() {
        let c = parse(&v(&["run", "--root", "/r", "--mem=64M", "--env", "A=b", "--strace", "--", "/bin/x", "-y"])).unwrap();
        match c {
            Command::Run(r) => {
                assert_eq!(r.root, Some(PathBuf::from("/r")));
                assert_eq!(r.common.mem, 64 << 20);
                assert!(r.common.strace);
                assert_eq!(r.env, v(&["A=b"]));
                assert_eq!(r.argv, v(&["/bin/x", "-y"]));
            }
            _ => panic!(),
        }
    }

    #[test]
    fn boot_uml_words() {
        let c = parse(&v(&["ubd0=disk.img", "mem=128M", "init=/bin/sh", "root=/dev/ubda", "ro", "BENCH=1"])).unwrap();
        match c {
            Command::Boot(b) => {
                assert_eq!(b.image, Some(PathBuf::from("disk.img")));
                assert_eq!(b.common.mem, 128 << 20);
                assert_eq!(b.init.as_deref(), Some("/bin/sh"));
                assert!(b.common.ro);
                assert_eq!(b.env, v(&["BENCH=1"]));
            }
            _ => panic!(),
        }
    }

    #[test]
    fn cow_and_disks() {
        let c = parse(&v(&["ubd0=c.cow,base.img", "ubd1=d.img,ro", "ubd2=e.img"])).unwrap();
        match c {
            Command::Boot(b) => {
                assert_eq!(b.image, Some(PathBuf::from("base.img")));
                assert_eq!(b.common.cow, Some(PathBuf::from("c.cow")));
                assert_eq!(b.common.disks, vec![Disk { image: "d.img".into(), ro: true }, Disk { image: "e.img".into(), ro: false }]);
            }
            _ => panic!(),
        }
        let c = parse(&v(&["run", "--root", "b.img", "--cow", "c.cow", "--disk=x.img", "--", "/bin/sh"])).unwrap();
        match c {
            Command::Run(r) => {
                assert_eq!(r.common.cow, Some(PathBuf::from("c.cow")));
                assert_eq!(r.common.disks, vec![Disk { image: "x.img".into(), ro: false }]);
            }
            _ => panic!(),
        }
        assert!(parse(&v(&["ubd2=e.img"])).is_err());
    }

    #[test]
    fn errors() {
        assert!(parse(&v(&["run", "--bogus", "--", "x"])).is_err());
        assert!(parse(&v(&["run"])).is_err());
        assert!(parse(&v(&["boot", "--frob"])).is_err());
        assert!(parse_size("12Q").is_err());
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
    }
}
