//! Typed syscall arguments. Each handler declares the types of its arguments (`fd: Fd`,
//! `buf: UserAddr`, `count: usize`); the table converts the six raw registers into them, and
//! `--strace` prints each according to its type, as strace does.

use crate::sched::Current;
use crate::strace;
use uapi::{KResult, UserAddr, UserCStr};

pub use crate::fs_glue::Fd;

/// A pointer to a buffer the guest passes *in*, whose length is the next argument
/// (`write(fd, buf, count)`): strace prints its contents.
#[derive(Clone, Copy, Debug)]
pub struct InBuf(pub UserAddr);

/// A pointer to a buffer the kernel fills, whose filled length is the return value
/// (`read(fd, buf, count)`): strace prints the contents after the call.
#[derive(Clone, Copy, Debug)]
pub struct OutBuf(pub UserAddr);

/// A flags word: strace prints it in hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags(pub u64);

/// How a raw register becomes a typed argument, and how strace prints it.
pub trait SysArg: Sized {
    /// Converts the raw register value (truncating as the C ABI does for `int` arguments).
    fn from_raw(raw: u64) -> Self;
    /// Appends the strace rendering of argument `i` of `args` (`ret` is the result, if known).
    fn format(i: usize, args: &[u64; 6], ret: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        let _ = (ret, cur);
        out.push_str(&format!("{}", args[i] as i64));
    }
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl SysArg for $t {
            fn from_raw(raw: u64) -> Self { raw as $t }
            fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
                out.push_str(&format!("{}", args[i] as $t));
            }
        }
    )*};
}
int_arg!(i32, u32, i64, u64, usize, isize);

impl SysArg for Fd {
    fn from_raw(raw: u64) -> Self {
        Fd(raw as i32)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        let fd = args[i] as i32;
        if fd == uapi::flags::AT_FDCWD {
            out.push_str("AT_FDCWD");
        } else {
            out.push_str(&fd.to_string());
        }
    }
}

impl SysArg for Flags {
    fn from_raw(raw: u64) -> Self {
        Flags(raw)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        out.push_str(&format!("{:#x}", args[i]));
    }
}

impl SysArg for UserAddr {
    fn from_raw(raw: u64) -> Self {
        UserAddr(raw)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        strace::push_ptr(args[i], out);
    }
}

impl<T> SysArg for uapi::UserRef<T> {
    fn from_raw(raw: u64) -> Self {
        uapi::UserRef::new(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        strace::push_ptr(args[i], out);
    }
}

impl SysArg for UserCStr {
    fn from_raw(raw: u64) -> Self {
        UserCStr(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        strace::push_cstr(cur, args[i], out);
    }
}

impl SysArg for InBuf {
    fn from_raw(raw: u64) -> Self {
        InBuf(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        let len = args.get(i + 1).copied().unwrap_or(0);
        strace::push_buf(cur, args[i], len, out);
    }
}

impl SysArg for OutBuf {
    fn from_raw(raw: u64) -> Self {
        OutBuf(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], ret: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        match ret {
            Some(Ok(n)) => strace::push_buf(cur, args[i], *n as u64, out),
            _ => strace::push_ptr(args[i], out),
        }
    }
}

/// A pointer to a `sigset_t` the kernel reads: strace prints the set, `[USR1 TERM]` (or
/// `~[KILL STOP]` for a set holding most signals).
#[derive(Clone, Copy, Debug)]
pub struct SigSetIn(pub UserAddr);

impl SysArg for SigSetIn {
    fn from_raw(raw: u64) -> Self {
        SigSetIn(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        match cur.read_val::<u64>(UserAddr(args[i])) {
            Ok(bits) if args[i] != 0 => strace::push_sigset(uapi::signal::SigSet::from_bits(bits), out),
            _ => strace::push_ptr(args[i], out),
        }
    }
}

/// A syscall handler: a function of the current task and up to six typed arguments.
/// Implemented for every `fn(&mut Current, A, B, ...) -> KResult<usize>`, so the table can list
/// handlers by name and the compiler checks their argument types.
pub trait Handler<Args> {
    /// Calls the handler with the raw registers converted to its argument types.
    fn call(&self, cur: &mut Current, args: &[u64; 6]) -> KResult<usize>;
    /// The strace rendering of the arguments, comma-separated.
    fn format(&self, cur: &mut Current, args: &[u64; 6], ret: Option<&KResult<usize>>) -> String;
}

macro_rules! impl_handler {
    ($($a:ident $i:tt),*) => {
        impl<F, $($a: SysArg),*> Handler<($($a,)*)> for F
        where F: Fn(&mut Current, $($a),*) -> KResult<usize>
        {
            #[allow(unused_variables)]
            fn call(&self, cur: &mut Current, args: &[u64; 6]) -> KResult<usize> {
                self(cur, $($a::from_raw(args[$i])),*)
            }
            #[allow(unused_variables, unused_mut)]
            fn format(&self, cur: &mut Current, args: &[u64; 6], ret: Option<&KResult<usize>>) -> String {
                let mut out = String::new();
                let mut first = true;
                $(
                    if !first { out.push_str(", "); }
                    first = false;
                    $a::format($i, args, ret, cur, &mut out);
                )*
                let _ = first;
                out
            }
        }
    };
}
impl_handler!();
impl_handler!(A 0);
impl_handler!(A 0, B 1);
impl_handler!(A 0, B 1, C 2);
impl_handler!(A 0, B 1, C 2, D 3);
impl_handler!(A 0, B 1, C 2, D 3, E 4);
impl_handler!(A 0, B 1, C 2, D 3, E 4, G 5);
