//! `umbra`: the command line, host self-checks, the root filesystem, and pid 1.
//! See `umbra --help` and DESIGN.md "The command line".

#![deny(unsafe_code)]

mod cli;
mod logger;
mod root;

use cli::Command;
use kernel::{BootConfig, BootError, ExitStatus};
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

/// `umbra run`.
fn run(r: cli::RunArgs) -> ExitCode {
    logger::init(r.common.log);
    let root = match root::mount_root(r.root.as_deref(), r.common.ro) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("umbra: {e}");
            return ExitCode::from(EXIT_UMBRA);
        }
    };
    root::standard_mounts(&root);
    root::register_fs_types(&root);
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
    let status = kernel::boot(BootConfig { mem: r.common.mem, vfs: root, argv, envp: env, cmdline, strace: r.common.strace });
    root::shutdown(&vfs);
    finish(status)
}

/// `umbra boot`: until the boot work lands, boots the image's init with `umbra run` semantics.
fn boot(b: cli::BootArgs) -> ExitCode {
    logger::init(b.common.log);
    let image = b.image.clone().unwrap_or_else(root::default_image);
    if !image.exists() {
        eprintln!("umbra: {}: no such image (build the default one with the rootfs tool)", image.display());
        return ExitCode::from(EXIT_UMBRA);
    }
    let init = b.init.clone().unwrap_or_else(|| "/sbin/init".to_string());
    let r = cli::RunArgs { common: b.common.clone(), root: Some(image), env: b.env.clone(), argv: vec![init] };
    run(r)
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
