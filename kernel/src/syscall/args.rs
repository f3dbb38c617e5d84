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

/// Declares a flag-word argument that strace prints by name from a table in `strace`.
macro_rules! named_flags {
    ($(#[$doc:meta])* $name:ident, $table:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub u32);

        impl SysArg for $name {
            fn from_raw(raw: u64) -> Self {
                $name(raw as u32)
            }
            fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
                strace::push_flags(u64::from(args[i] as u32), $table, out);
            }
        }
    };
}

named_flags!(
    /// `memfd_create` flags (`MFD_CLOEXEC|MFD_ALLOW_SEALING`).
    MemfdFlags,
    strace::MFD_FLAGS
);
named_flags!(
    /// `splice`/`tee`/`vmsplice` flags (`SPLICE_F_NONBLOCK`).
    SpliceFlags,
    strace::SPLICE_FLAGS
);
named_flags!(
    /// `pidfd_open` flags (`PIDFD_NONBLOCK`).
    PidfdFlags,
    strace::PIDFD_FLAGS
);

/// `open` flags: the access mode, then the other bits by name (`O_RDWR|O_TMPFILE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFlagsArg(pub u32);

impl SysArg for OpenFlagsArg {
    fn from_raw(raw: u64) -> Self {
        OpenFlagsArg(raw as u32)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        let v = args[i] as u32;
        out.push_str(["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][(v & 3) as usize]);
        let rest = u64::from(v & !3);
        if rest != 0 {
            out.push('|');
            strace::push_flags(rest, strace::OPEN_FLAGS, out);
        }
    }
}

/// A file mode (`0640`): strace prints it in octal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode(pub u32);

impl SysArg for Mode {
    fn from_raw(raw: u64) -> Self {
        Mode(raw as u32)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        match args[i] as u32 {
            0 => out.push_str("000"),
            m => out.push_str(&format!("0{m:o}")),
        }
    }
}

/// A signal number (`SIGKILL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigNum(pub i32);

impl SysArg for SigNum {
    fn from_raw(raw: u64) -> Self {
        SigNum(raw as i32)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        strace::push_signal(i64::from(args[i] as i32), out);
    }
}

/// `clone`'s flags word: `CLONE_*` names, then the exit signal (`CLONE_PIDFD|SIGCHLD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloneFlagsArg(pub u64);

impl SysArg for CloneFlagsArg {
    fn from_raw(raw: u64) -> Self {
        CloneFlagsArg(raw)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        let v = args[i];
        let (flags, signo) = (v & !0xff, v & 0xff);
        if flags != 0 || signo == 0 {
            strace::push_flags(flags, strace::CLONE_FLAGS, out);
        }
        if signo != 0 {
            if flags != 0 {
                out.push('|');
            }
            strace::push_signal(signo as i64, out);
        }
    }
}

/// `clone3`'s `struct clone_args *`: strace shows the fields that matter
/// (`{flags=CLONE_PIDFD, pidfd=0x7ffd…, exit_signal=SIGCHLD, stack=NULL, stack_size=0}`).
#[derive(Clone, Copy, Debug)]
pub struct CloneArgsPtr(pub UserAddr);

impl SysArg for CloneArgsPtr {
    fn from_raw(raw: u64) -> Self {
        CloneArgsPtr(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        let Ok(a) = cur.read_val::<uapi::structs::CloneArgs>(UserAddr(args[i])) else {
            strace::push_ptr(args[i], out);
            return;
        };
        let flags = uapi::flags::CloneFlags::from_bits_retain(a.flags);
        out.push_str("{flags=");
        strace::push_flags(a.flags, strace::CLONE_FLAGS, out);
        let ptr = |name: &str, v: u64, out: &mut String| {
            out.push_str(&format!(", {name}="));
            strace::push_ptr(v, out);
        };
        if flags.contains(uapi::flags::CloneFlags::PIDFD) {
            ptr("pidfd", a.pidfd, out);
        }
        if flags.intersects(uapi::flags::CloneFlags::CHILD_SETTID | uapi::flags::CloneFlags::CHILD_CLEARTID) {
            ptr("child_tid", a.child_tid, out);
        }
        if flags.contains(uapi::flags::CloneFlags::PARENT_SETTID) {
            ptr("parent_tid", a.parent_tid, out);
        }
        out.push_str(", exit_signal=");
        strace::push_signal(a.exit_signal as i64, out);
        ptr("stack", a.stack, out);
        out.push_str(&format!(", stack_size={:#x}", a.stack_size));
        if flags.contains(uapi::flags::CloneFlags::SETTLS) {
            ptr("tls", a.tls, out);
        }
        out.push('}');
    }
}

/// A `loff_t *` the call reads and updates (`splice`, `copy_file_range`, `sendfile`): strace
/// shows the value in brackets (here as it is after the call), or `NULL`.
#[derive(Clone, Copy, Debug)]
pub struct OffPtr(pub UserAddr);

impl SysArg for OffPtr {
    fn from_raw(raw: u64) -> Self {
        OffPtr(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        match args[i] {
            0 => out.push_str("NULL"),
            a => match cur.read_val::<i64>(UserAddr(a)) {
                Ok(v) => out.push_str(&format!("[{v}]")),
                Err(_) => strace::push_ptr(a, out),
            },
        }
    }
}

/// `mincore`'s result vector: after success strace shows one 0/1 per page of the length
/// argument before it (`[1, 0, 1]`).
#[derive(Clone, Copy, Debug)]
pub struct MincoreVec(pub UserAddr);

impl SysArg for MincoreVec {
    fn from_raw(raw: u64) -> Self {
        MincoreVec(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], ret: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        let pages = args.get(i.wrapping_sub(1)).map_or(0, |len| len.div_ceil(uapi::mman::PAGE_SIZE));
        let shown = pages.min(32) as usize;
        let mut v = vec![0u8; shown];
        if !matches!(ret, Some(Ok(_))) || cur.read_bytes(UserAddr(args[i]), &mut v).is_err() {
            strace::push_ptr(args[i], out);
            return;
        }
        let items: Vec<String> = v.iter().map(|b| (b & 1).to_string()).collect();
        out.push_str(&format!("[{}{}]", items.join(", "), if pages > 32 { ", ..." } else { "" }));
    }
}

/// `fcntl`'s command (`F_ADD_SEALS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FcntlCmd(pub i32);

impl SysArg for FcntlCmd {
    fn from_raw(raw: u64) -> Self {
        FcntlCmd(raw as i32)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        let cmd = u64::from(args[i] as u32);
        match strace::FCNTL_CMDS.iter().find(|(n, _)| *n == cmd) {
            Some((_, name)) => out.push_str(name),
            None => out.push_str(&(args[i] as i32).to_string()),
        }
    }
}

/// `fcntl`'s third argument, decoded by the command before it: seals for `F_ADD_SEALS`,
/// `FD_CLOEXEC` for `F_SETFD`, `O_*` for `F_SETFL`, else a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FcntlArg(pub u64);

impl SysArg for FcntlArg {
    fn from_raw(raw: u64) -> Self {
        FcntlArg(raw)
    }
    fn format(i: usize, args: &[u64; 6], ret: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        let cmd = args.get(i.wrapping_sub(1)).map_or(0, |c| *c as u32);
        match cmd {
            uapi::flags::F_ADD_SEALS => strace::push_flags(u64::from(args[i] as u32), strace::SEAL_FLAGS, out),
            uapi::flags::F_SETFD => strace::push_flags(u64::from(args[i] as u32), &[(1, "FD_CLOEXEC")], out),
            uapi::flags::F_SETFL => OpenFlagsArg::format(i, args, ret, cur, out),
            _ => out.push_str(&(args[i] as i64).to_string()),
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

/// A socket family (`AF_UNIX`, `AF_NETLINK`, ...): strace prints its name.
#[derive(Clone, Copy, Debug)]
pub struct SockDomain(pub i32);

impl SysArg for SockDomain {
    fn from_raw(raw: u64) -> Self {
        SockDomain(raw as i32)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        strace::push_family(args[i] as i32, out);
    }
}

/// A socket type with its flags (`SOCK_STREAM|SOCK_CLOEXEC`).
#[derive(Clone, Copy, Debug)]
pub struct SockTypeArg(pub i32);

impl SysArg for SockTypeArg {
    fn from_raw(raw: u64) -> Self {
        SockTypeArg(raw as i32)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        let v = args[i] as u32;
        let kind = match v & 0xf {
            1 => "SOCK_STREAM".to_string(),
            2 => "SOCK_DGRAM".to_string(),
            3 => "SOCK_RAW".to_string(),
            5 => "SOCK_SEQPACKET".to_string(),
            k => k.to_string(),
        };
        out.push_str(&kind);
        if v & !0xf != 0 {
            out.push('|');
            strace::push_flags(u64::from(v & !0xf), &[(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")], out);
        }
    }
}

/// A socket address the kernel reads, its length in the next argument: strace prints it as a
/// structure (`{sa_family=AF_UNIX, sun_path="/run/x.sock"}`).
#[derive(Clone, Copy, Debug)]
pub struct SockAddrIn(pub UserAddr);

impl SysArg for SockAddrIn {
    fn from_raw(raw: u64) -> Self {
        SockAddrIn(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        let len = args.get(i + 1).map_or(0, |l| (*l as usize).min(128));
        let mut buf = vec![0u8; len];
        if args[i] == 0 || len < 2 || cur.read_bytes(UserAddr(args[i]), &mut buf).is_err() {
            strace::push_ptr(args[i], out);
            return;
        }
        strace::push_sockaddr(&buf, out);
    }
}

/// A `struct msghdr` (`sendmsg`, `recvmsg`): strace prints its fields, the address decoded and
/// the first buffer's data (for `recvmsg`, what was received).
#[derive(Clone, Copy, Debug)]
pub struct MsgHdrArg(pub UserAddr);

impl SysArg for MsgHdrArg {
    fn from_raw(raw: u64) -> Self {
        MsgHdrArg(UserAddr(raw))
    }
    fn format(i: usize, args: &[u64; 6], ret: Option<&KResult<usize>>, cur: &mut Current, out: &mut String) {
        let Ok(m) = cur.read_val::<uapi::net::MsgHdr>(UserAddr(args[i])) else {
            strace::push_ptr(args[i], out);
            return;
        };
        out.push_str("{msg_name=");
        let namelen = usize::try_from(m.msg_namelen).unwrap_or(0).min(128);
        let mut name = vec![0u8; namelen];
        if m.msg_name != 0 && namelen >= 2 && cur.read_bytes(UserAddr(m.msg_name), &mut name).is_ok() {
            strace::push_sockaddr(&name, out);
        } else {
            strace::push_ptr(m.msg_name, out);
        }
        out.push_str(&format!(", msg_namelen={}, msg_iov=", m.msg_namelen));
        match cur.read_val::<uapi::structs::IoVec>(UserAddr(m.msg_iov)) {
            Ok(v) if m.msg_iovlen > 0 => {
                let len = match ret {
                    Some(Ok(n)) => (*n as u64).min(v.iov_len),
                    _ => v.iov_len,
                };
                out.push_str("[{iov_base=");
                strace::push_buf(cur, v.iov_base, len, out);
                out.push_str(&format!(", iov_len={}}}{}]", v.iov_len, if m.msg_iovlen > 1 { ", ..." } else { "" }));
            }
            _ => strace::push_ptr(m.msg_iov, out),
        }
        out.push_str(&format!(", msg_iovlen={}, msg_controllen={}, msg_flags={}}}", m.msg_iovlen, m.msg_controllen, m.msg_flags));
    }
}
