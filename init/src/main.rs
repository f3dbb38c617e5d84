//! `umbra`: the command line, host self-checks, the root filesystem, and pid 1.
//! See `umbra --help` and DESIGN.md "The command line".

#![deny(unsafe_code)]

mod cli;
mod logger;
mod root;

use cli::Command;
use kernel::{BootConfig, BootError, ExitStatus, Outcome, Shutdown};
use std::process::ExitCode;

/// umbra's own failures (bad flags, unreadable image, host problems).
const EXIT_UMBRA: u8 = 125;
/// PROGRAM exists but cannot be executed.
const EXIT_CANNOT_EXEC: u8 = 126;
/// PROGRAM does not exist.
const EXIT_NOT_FOUND: u8 = 127;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("umbra: {e}");
            return ExitCode::from(EXIT_UMBRA);
        }
    };
    match cmd {
        Command::Help => {
            print!("{}", cli::HELP);
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("umbra {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Run(r) => run(r),
        Command::Boot(b) => boot(b),
    }
}

/// Mounts the root (an image or a directory) and installs what the kernel provides to the
/// VFS before anything is mounted on it: the procfs provider, the FIFO opener, the ext2/3/4
/// filesystem types. A failure is one line on stderr and exit status 125.
fn open_root(path: Option<&std::path::Path>, c: &cli::Common) -> Result<std::sync::Arc<fs::Vfs>, ExitCode> {
    let fail = |e: String| {
        eprintln!("umbra: {e}");
        ExitCode::from(EXIT_UMBRA)
    };
    let root = root::mount_root(path, c.ro, c.cow.as_deref()).map_err(fail)?;
    let disks: Vec<_> = c.disks.iter().map(|d| (d.image.clone(), d.ro)).collect();
    if let Err(e) = root::attach_disks(&root, &disks) {
        root::shutdown(&root);
        return Err(fail(e));
    }
    kernel::procfs::install(&root);
    kernel::pipe::install_fifo_opener(&root);
    root::register_fs_types(&root);
    Ok(root)
}

/// `umbra run`.
fn run(r: cli::RunArgs) -> ExitCode {
    logger::init(r.common.log);
    fs::tmpfs::set_ram_size(r.common.mem);
    let root = match open_root(r.root.as_deref(), &r.common) {
        Ok(v) => v,
        Err(code) => return code,
    };
    root::standard_mounts(&root);
    let mut env: Vec<Vec<u8>> = vec![b"PATH=/bin:/usr/bin:/sbin:/usr/sbin".to_vec(), b"HOME=/root".to_vec()];
    if let Ok(term) = std::env::var("TERM") {
        env.push(format!("TERM={term}").into_bytes());
    }
    env.extend(r.env.iter().map(|e| e.clone().into_bytes()));
    let mut argv: Vec<Vec<u8>> = r.argv.iter().map(|a| a.clone().into_bytes()).collect();
    match root::resolve_program(&root, &argv[0]) {
        Some(p) => argv[0] = p,
        None => {
            eprintln!("umbra: {}: not found", r.argv[0]);
            root::shutdown(&root);
            return ExitCode::from(EXIT_NOT_FOUND);
        }
    }
    let cmdline = std::iter::once("umbra".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ");
    let vfs = root.clone();
    let guard = raw_console();
    net_setup(&r.common);
    let outcome = kernel::boot(BootConfig { mem: r.common.mem, vfs: root, argv, envp: env, cmdline, strace: r.common.strace, stderr_to_host: true });
    drop(guard);
    root::shutdown(&vfs);
    match outcome {
        Ok(Outcome::InitExited(st)) => finish(Ok(st)),
        Ok(Outcome::Shutdown(_)) => ExitCode::SUCCESS,
        Err(e) => finish(Err(e)),
    }
}

/// `umbra boot` (and `umbra` alone): mounts the image as `/`, devtmpfs on `/dev` (Linux's
/// `CONFIG_DEVTMPFS_MOUNT`) with devpts on `/dev/pts` (the image's init mounts the rest), and
/// starts its init as pid 1.
/// `poweroff`/`halt` end with status 0; `reboot` starts umbra again from the beginning.
fn boot(b: cli::BootArgs) -> ExitCode {
    logger::init(b.common.log);
    fs::tmpfs::set_ram_size(b.common.mem);
    let image = match b.image.clone() {
        Some(p) => p,
        None => {
            let p = tools::rootfs::default_image_path();
            if let Err(e) = tools::rootfs::ensure_default_image(&p) {
                eprintln!("umbra: cannot build the default image {}: {e}", p.display());
                return ExitCode::from(EXIT_UMBRA);
            }
            p
        }
    };
    let root = match open_root(Some(&image), &b.common) {
        Ok(v) => v,
        Err(code) => return code,
    };
    root::mount_devtmpfs(&root);
    let init = b.init.clone().unwrap_or_else(|| "/sbin/init".to_string());
    let Some(init_path) = root::resolve_program(&root, init.as_bytes()).filter(|p| root::exists(&root, p)) else {
        eprintln!("umbra: init {init} not found in {} (use --init PATH)", image.display());
        root::shutdown(&root);
        return ExitCode::from(EXIT_UMBRA);
    };
    let term = std::env::var("TERM").unwrap_or_else(|_| "linux".into());
    let mut env: Vec<Vec<u8>> = vec![b"HOME=/".to_vec(), format!("TERM={term}").into_bytes()];
    env.extend(b.env.iter().map(|e| e.clone().into_bytes()));
    let cmdline = if b.cmdline.is_empty() { format!("ubd0={} root=/dev/ubda", image.display()) } else { b.cmdline.join(" ") };
    let vfs = root.clone();
    net_setup(&b.common);
    let cfg = BootConfig { mem: b.common.mem, vfs: root, argv: vec![init_path], envp: env, cmdline, strace: b.common.strace, stderr_to_host: false };
    let guard = raw_console();
    let outcome = kernel::boot(cfg);
    drop(guard);
    root::shutdown(&vfs);
    match outcome {
        Ok(Outcome::Shutdown(Shutdown::Restart)) => reboot_self(),
        Ok(Outcome::Shutdown(_)) => ExitCode::SUCCESS,
        Ok(Outcome::InitExited(st)) => {
            eprintln!("umbra: Kernel panic - not syncing: Attempted to kill init! exitcode={:#010x}", st.wait_status());
            finish(Ok(st))
        }
        Err(BootError::NotFound(m) | BootError::CannotExecute(m) | BootError::Host(m)) => {
            eprintln!("umbra: {m}");
            ExitCode::from(EXIT_UMBRA)
        }
    }
}

/// Puts the host terminal in raw mode for the guest's line discipline (restored on every exit
/// path); `SIGTERM` and `SIGINT` become requests the kernel handles (clean shutdown, the
/// guest's `^C`).
fn raw_console() -> Option<arch_um::console::RawModeGuard> {
    use arch_um::console::{RawModeOptions, SigPolicy};
    match arch_um::console::enter_raw_mode_with(RawModeOptions { sigterm: SigPolicy::Flag, sigint: SigPolicy::Flag }) {
        Ok(g) => Some(g),
        Err(e) => {
            log::warn!("cannot put the terminal in raw mode: {e}");
            None
        }
    }
}

/// `reboot`: runs umbra again with the same arguments (a fresh kernel, as a machine restarts).
fn reboot_self() -> ExitCode {
    use std::os::unix::process::CommandExt;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exe = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
    let err = std::process::Command::new(exe).args(args).exec();
    eprintln!("umbra: reboot failed: {err}");
    ExitCode::from(EXIT_UMBRA)
}

/// Maps how pid 1 ended to umbra's exit status, with one line for a fatal signal.
fn finish(r: Result<ExitStatus, BootError>) -> ExitCode {
    match r {
        Ok(ExitStatus::Exited(code)) => ExitCode::from(code as u8),
        Ok(ExitStatus::Killed { signo, core }) => {
            let name = uapi::signal::signal_name(signo as u32).unwrap_or("signal");
            let dumped = if core { " (core dumped)" } else { "" };
            eprintln!("umbra: guest killed by {name}{dumped}");
            ExitCode::from((128 + signo) as u8)
        }
        Err(BootError::NotFound(m)) => {
            eprintln!("umbra: {m}");
            ExitCode::from(EXIT_NOT_FOUND)
        }
        Err(BootError::CannotExecute(m)) => {
            eprintln!("umbra: {m}");
            ExitCode::from(EXIT_CANNOT_EXEC)
        }
        Err(BootError::Host(m)) => {
            eprintln!("umbra: {m}");
            ExitCode::from(EXIT_UMBRA)
        }
    }
}

/// Hands `--net` and `--publish` to the kernel's network before boot.
fn net_setup(c: &cli::Common) {
    kernel::net::inet::iface::set_user_networking(!c.net_none);
    kernel::net::inet::relay::set_publish(if c.net_none { Vec::new() } else { c.publish.clone() });
}
