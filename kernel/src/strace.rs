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
