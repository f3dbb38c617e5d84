//! The stub executable and how a stub process is started.
//!
//! Each guest address space is one host process running the stub (arch-um/stub/stub.c). umbra
//! carries the stub binary inside itself, writes it once into a sealed memfd, and starts every
//! stub with `execveat(memfd, "", AT_EMPTY_PATH)` — never by forking umbra's own image into the
//! guest (a forked Rust process drags along libc state: rseq, handlers, locks). See DESIGN.md
//! "Stubs" and UML's `arch/um/os-Linux/skas/process.c` (`start_userspace`).

use crate::layout;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

include!(concat!(env!("OUT_DIR"), "/stub_syms.rs"));

/// The stub executable (a static, non-PIE ELF with no interpreter).
pub static STUB_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/umbra-stub"));

/// Where each stub maps its data slot (the batch of host operations).
pub const STUB_DATA: u64 = layout::STUB_START + 0x8_0000;
/// Size of a stub's data slot.
pub const STUB_DATA_SIZE: u64 = 0x1_0000;
/// The fd number of physmem inside a stub.
pub const STUB_PHYSMEM_FD: i32 = 3;
/// The fd number of the data-slot memfd inside a stub.
pub const STUB_DATA_FD: i32 = 4;

/// Writes the embedded stub into a sealed, executable memfd (UML's `init_stub_exe_fd`).
pub(crate) fn create_stub_exe() -> io::Result<OwnedFd> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: plain syscalls; results checked.
    unsafe {
        let mut fd = libc::memfd_create(c"umbra-stub".as_ptr(), flags | MFD_EXEC);
        if fd < 0 {
            // Hosts before Linux 6.3 do not know MFD_EXEC; memfds are executable there anyway.
            fd = libc::memfd_create(c"umbra-stub".as_ptr(), flags);
        }
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let mut written = 0;
        while written < STUB_BINARY.len() {
            let rest = &STUB_BINARY[written..];
            let n = libc::write(fd.as_raw_fd(), rest.as_ptr() as *const libc::c_void, rest.len());
            if n <= 0 {
                return Err(io::Error::last_os_error());
            }
            written += n as usize;
        }
        let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        if libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(fd)
    }
}

/// Arguments for starting one stub.
pub(crate) struct SpawnArgs {
    pub stub_exe: RawFd,
    pub physmem: RawFd,
    pub slots: RawFd,
    pub slot_offset: u64,
    pub umbra_pid: i32,
    pub seccomp: bool,
}

/// Forks and execs a stub; returns its pid. The child runs only raw async-signal-safe syscalls
/// between `fork` and `execveat` (no allocation: everything is prepared before the fork).
pub(crate) fn spawn(a: &SpawnArgs) -> io::Result<i32> {
    let args: Vec<CString> = [
        "umbra-stub".to_string(),
        format!("{:x}", a.slot_offset),
        format!("{:x}", a.umbra_pid),
        if a.seccomp { "1" } else { "0" }.to_string(),
    ]
    .into_iter()
    .map(|s| CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput)))
    .collect::<io::Result<_>>()?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|s| s.as_ptr()).collect();
    argv.push(std::ptr::null());
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];

    // SAFETY: fork; the child only performs raw syscalls on prepared data, then execs or exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: in the child, async-signal-safe calls only.
        unsafe { child_exec(a, argv.as_ptr(), envp.as_ptr()) }
    }
    Ok(pid)
}

/// The child side of `spawn`: arrange fds 3 (physmem), 4 (slots) and 5 (the stub exe), close
/// everything else, leave umbra's session (so the terminal's job-control signals never reach
/// a stub), turn off address-space randomisation (see `no_random_stack`), and exec the stub.
unsafe fn child_exec(a: &SpawnArgs, argv: *const *const libc::c_char, envp: *const *const libc::c_char) -> ! {
    // Move the fds out of the way first: any of them may already sit at 3, 4 or 5.
    let phys = libc::fcntl(a.physmem, libc::F_DUPFD, 100);
    let slots = libc::fcntl(a.slots, libc::F_DUPFD, 100);
    let exe = libc::fcntl(a.stub_exe, libc::F_DUPFD, 100);
    if phys < 0 || slots < 0 || exe < 0 {
        libc::_exit(127);
    }
    if libc::dup2(phys, STUB_PHYSMEM_FD) < 0 || libc::dup2(slots, STUB_DATA_FD) < 0 || libc::dup2(exe, 5) < 0 {
        libc::_exit(127);
    }
    libc::fcntl(5, libc::F_SETFD, libc::FD_CLOEXEC);
    libc::syscall(libc::SYS_close_range, 6u32, u32::MAX, 0u32);
    let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
    if null >= 0 {
        libc::dup2(null, 0);
        libc::dup2(null, 1);
        libc::dup2(null, 2);
        if null > 5 {
            libc::close(null);
        }
    }
    libc::setsid();
    no_random_stack();
    libc::syscall(libc::SYS_execveat, 5, c"".as_ptr(), argv, envp, libc::AT_EMPTY_PATH);
    libc::_exit(127)
}

/// Asks the host not to randomise the stub's exec-time stack (`ADDR_NO_RANDOMIZE`, kept across
/// `execve`). The stub is linked at the fixed `STUB_START`, which lies inside the 16 GiB below
/// the host's `TASK_SIZE` where Linux puts a randomised initial stack: when the stack lands on
/// the stub's first pages, `load_elf_binary` cannot map them (`MAP_FIXED_NOREPLACE`) after the
/// point of no return and the new stub dies of SIGSEGV — about once in 100 000 starts. Without
/// randomisation the stack sits just below the host's `TASK_SIZE`, 4 GiB above `STUB_END`.
/// Best effort (a container's seccomp policy may refuse it): `Platform::spawn_stub` also starts
/// a stub again that a signal killed before its first stop. Async-signal-safe.
unsafe fn no_random_stack() {
    let current = libc::personality(0xffff_ffff);
    if current >= 0 {
        libc::personality(current as libc::c_ulong | libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
    }
}

/// Why a stub exited before its first stop, from its exit code (see stub.c `die`).
pub(crate) fn describe_early_exit(code: i32) -> &'static str {
    match code {
        120 => "bad argument",
        121 => "PR_SET_NO_NEW_PRIVS failed",
        122 => "installing the seccomp filter failed",
        123 => "missing arguments",
        124 => "umbra died while it started",
        125 => "mapping its data slot failed",
        126 => "PTRACE_TRACEME failed (is ptrace allowed? see /proc/sys/kernel/yama/ptrace_scope)",
        127 => "execveat of the stub failed (is memfd exec allowed? see /proc/sys/vm/memfd_noexec)",
        _ => "unknown reason",
    }
}
