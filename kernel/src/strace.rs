//! `--strace`: every guest syscall printed on umbra's stderr as strace prints it,
//! `[pid] name(args...) = result`, so a developer can watch what a guest asks of the kernel.

use crate::sched::Current;
use std::sync::atomic::{AtomicBool, Ordering};
use uapi::{Errno, KResult, UserAddr};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns syscall tracing on or off.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// True when `--strace` is on.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// How many bytes of a string or buffer strace shows (strace's default `-s 32`).
const MAX_SHOWN: usize = 32;

/// Appends a pointer: `NULL` or hex.
pub fn push_ptr(v: u64, out: &mut String) {
    if v == 0 {
        out.push_str("NULL");
    } else {
        out.push_str(&format!("{v:#x}"));
    }
}

/// Appends a NUL-terminated guest string, quoted and escaped, or its address if unreadable.
pub fn push_cstr(cur: &mut Current, addr: u64, out: &mut String) {
    if addr == 0 {
        out.push_str("NULL");
        return;
    }
    match cur.read_cstr(UserAddr(addr), 4096) {
        Ok(s) => push_quoted(&s, s.len(), out),
        Err(_) => push_ptr(addr, out),
    }
}

/// Appends `len` bytes of guest memory at `addr`, quoted (at most `MAX_SHOWN` shown).
pub fn push_buf(cur: &mut Current, addr: u64, len: u64, out: &mut String) {
    let shown = (len as usize).min(MAX_SHOWN);
    let mut buf = vec![0u8; shown];
    match cur.read_bytes(UserAddr(addr), &mut buf) {
        Ok(()) => push_quoted(&buf, len as usize, out),
        Err(_) => push_ptr(addr, out),
    }
}

/// Appends a signal set as strace does: `[USR1 TERM]`, or `~[...]` listing the signals left
/// out when the set holds more than half of them.
pub fn push_sigset(set: uapi::signal::SigSet, out: &mut String) {
    let inverted = set.iter().count() > 32;
    let shown = if inverted { uapi::signal::SigSet::from_bits(!set.bits()) } else { set };
    let names: Vec<String> = shown
        .iter()
        .map(|s| uapi::signal::signal_name(s).map_or_else(|| s.to_string(), |n| n.trim_start_matches("SIG").to_string()))
        .collect();
    if inverted {
        out.push('~');
    }
    out.push('[');
    out.push_str(&names.join(" "));
    out.push(']');
}

/// Quotes bytes as strace does: C escapes, octal for other non-printables, `...` if cut.
fn push_quoted(bytes: &[u8], total: usize, out: &mut String) {
    out.push('"');
    for &b in bytes.iter().take(MAX_SHOWN) {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:o}")),
        }
    }
    out.push('"');
    if total > MAX_SHOWN {
        out.push_str("...");
    }
}

/// Appends a flag word as strace does: the names of the bits in `table` (each entry taken
/// whole, in order) joined by `|`, then any unknown bits in hex; `0` for none.
pub fn push_flags(v: u64, table: &[(u64, &str)], out: &mut String) {
    let mut rest = v;
    let mut parts: Vec<String> = Vec::new();
    for &(bits, name) in table {
        if bits != 0 && rest & bits == bits {
            parts.push(name.to_string());
            rest &= !bits;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        out.push('0');
    } else {
        out.push_str(&parts.join("|"));
    }
}

/// Appends a socket family by name (`AF_UNIX`), or as a number.
pub fn push_family(f: i32, out: &mut String) {
    let name = match f {
        0 => "AF_UNSPEC",
        1 => "AF_UNIX",
        2 => "AF_INET",
        10 => "AF_INET6",
        16 => "AF_NETLINK",
        17 => "AF_PACKET",
        _ => {
            out.push_str(&f.to_string());
            return;
        }
    };
    out.push_str(name);
}

/// Appends a socket address as strace does: the family, then the unix path (`@` for the
/// abstract namespace) or the netlink port and groups; other families show their family only.
pub fn push_sockaddr(a: &[u8], out: &mut String) {
    let family = u16::from_ne_bytes([a.first().copied().unwrap_or(0), a.get(1).copied().unwrap_or(0)]);
    out.push_str("{sa_family=");
    push_family(i32::from(family), out);
    let rest = a.get(2..).unwrap_or_default();
    match family {
        1 if rest.first() == Some(&0) && rest.len() > 1 => {
            out.push_str(", sun_path=@\"");
            out.push_str(&String::from_utf8_lossy(&rest[1..]));
            out.push('"');
        }
        1 => {
            let path = rest.split(|&b| b == 0).next().unwrap_or_default();
            out.push_str(", sun_path=\"");
            out.push_str(&String::from_utf8_lossy(path));
            out.push('"');
        }
        16 if rest.len() >= 10 => {
            let word = |o: usize| u32::from_ne_bytes([rest[o], rest[o + 1], rest[o + 2], rest[o + 3]]);
            out.push_str(&format!(", nl_pid={}, nl_groups={:08x}", word(2), word(6)));
        }
        _ => {}
    }
    out.push('}');
}

/// Appends a signal number by name (`SIGKILL`), or as a number if it has none (0).
pub fn push_signal(signo: i64, out: &mut String) {
    match u32::try_from(signo).ok().and_then(uapi::signal::signal_name) {
        Some(n) => out.push_str(n),
        None => out.push_str(&signo.to_string()),
    }
}

/// `memfd_create` flags.
pub const MFD_FLAGS: &[(u64, &str)] = &[(0x1, "MFD_CLOEXEC"), (0x2, "MFD_ALLOW_SEALING"), (0x4, "MFD_HUGETLB"), (0x8, "MFD_NOEXEC_SEAL"), (0x10, "MFD_EXEC")];
/// `splice`/`tee`/`vmsplice` flags.
pub const SPLICE_FLAGS: &[(u64, &str)] = &[(0x1, "SPLICE_F_MOVE"), (0x2, "SPLICE_F_NONBLOCK"), (0x4, "SPLICE_F_MORE"), (0x8, "SPLICE_F_GIFT")];
/// `pidfd_open` flags.
pub const PIDFD_FLAGS: &[(u64, &str)] = &[(0o4000, "PIDFD_NONBLOCK"), (0o200, "PIDFD_THREAD")];
/// File seals (`F_ADD_SEALS`).
pub const SEAL_FLAGS: &[(u64, &str)] =
    &[(0x1, "F_SEAL_SEAL"), (0x2, "F_SEAL_SHRINK"), (0x4, "F_SEAL_GROW"), (0x8, "F_SEAL_WRITE"), (0x10, "F_SEAL_FUTURE_WRITE"), (0x20, "F_SEAL_EXEC")];
/// `open` flags after the access mode (`O_TMPFILE` before the `O_DIRECTORY` it contains).
pub const OPEN_FLAGS: &[(u64, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o20200000, "O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
];
/// `clone` flags above the exit signal byte.
pub const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (0x80000, "CLONE_SETTLS"),
    (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"),
    (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"),
    (0x1000000, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"),
    (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
];
/// `fcntl` commands by number.
pub const FCNTL_CMDS: &[(u64, &str)] = &[
    (0, "F_DUPFD"),
    (1, "F_GETFD"),
    (2, "F_SETFD"),
    (3, "F_GETFL"),
    (4, "F_SETFL"),
    (5, "F_GETLK"),
    (6, "F_SETLK"),
    (7, "F_SETLKW"),
    (8, "F_SETOWN"),
    (9, "F_GETOWN"),
    (36, "F_OFD_GETLK"),
    (37, "F_OFD_SETLK"),
    (38, "F_OFD_SETLKW"),
    (1030, "F_DUPFD_CLOEXEC"),
    (1031, "F_SETPIPE_SZ"),
    (1032, "F_GETPIPE_SZ"),
    (1033, "F_ADD_SEALS"),
    (1034, "F_GET_SEALS"),
];

/// Formats a result as strace does: the value, or `-1 ENOENT (No such file or directory)`.
pub fn format_result(nr: u64, r: &KResult<usize>) -> String {
    match r {
        Ok(v) if returns_address(nr) => format!("{v:#x}"),
        Ok(v) => format!("{}", *v as i64),
        Err(e) => format!("-1 {} ({})", e.name(), e.description()),
    }
}

fn returns_address(nr: u64) -> bool {
    use uapi::syscalls as s;
    matches!(nr, s::MMAP | s::BRK | s::MREMAP)
}

/// Prints one finished syscall.
pub fn print(pid: u32, name: &str, args: &str, result: &str) {
    eprintln!("[{pid}] {name}({args}) = {result}");
}

/// Formats an unknown syscall's six raw arguments.
pub fn raw_args(args: &[u64; 6]) -> String {
    args.iter().map(|a| format!("{a:#x}")).collect::<Vec<_>>().join(", ")
}

/// The name strace uses for a syscall number.
pub fn name(nr: u64) -> String {
    uapi::syscalls::syscall_name(nr).map(str::to_string).unwrap_or_else(|| format!("syscall_{nr:#x}"))
}

/// Errors that are part of normal operation and not worth a log line.
pub fn is_quiet(e: Errno) -> bool {
    e != Errno::ENOSYS
}
