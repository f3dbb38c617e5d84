//! Linux error numbers (`include/uapi/asm-generic/errno-base.h` and `errno.h`).
//!
//! A syscall handler returns `Result<usize, Errno>`; the dispatcher turns `Err(e)` into `-e` in
//! `rax`, exactly as Linux's syscall exit path does.

use core::fmt;

/// A Linux errno value (positive, as in `errno.h`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(i32);

macro_rules! errnos {
    ($($name:ident = $num:expr, $desc:expr;)*) => {
        impl Errno {
            $(#[doc = $desc] pub const $name: Errno = Errno($num);)*

            /// The symbolic name (`"ENOENT"`), as strace prints it.
            pub fn name(self) -> &'static str {
                match self.0 { $($num => stringify!($name),)* _ => "E?" }
            }

            /// The human-readable description, as `strerror(3)` gives it.
            pub fn description(self) -> &'static str {
                match self.0 { $($num => $desc,)* _ => "Unknown error" }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    ETXTBSY = 26, "Text file busy";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Numerical argument out of domain";
    ERANGE = 34, "Numerical result out of range";
    EDEADLK = 35, "Resource deadlock avoided";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No locks available";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENOMSG = 42, "No message of desired type";
    EIDRM = 43, "Identifier removed";
    ENOSTR = 60, "Device not a stream";
    ELIBBAD = 80, "Accessing a corrupted shared library";
    ENODATA = 61, "No data available";
    ETIME = 62, "Timer expired";
    ENOSR = 63, "Out of streams resources";
    ENOLINK = 67, "Link has been severed";
    EPROTO = 71, "Protocol error";
    EBADMSG = 74, "Bad message";
    EOVERFLOW = 75, "Value too large for defined data type";
    EBADFD = 77, "File descriptor in bad state";
    EILSEQ = 84, "Invalid or incomplete multibyte or wide character";
    ERESTART = 85, "Interrupted system call should be restarted";
    EUSERS = 87, "Too many users";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    EOPNOTSUPP = 95, "Operation not supported";
    EPFNOSUPPORT = 96, "Protocol family not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETDOWN = 100, "Network is down";
    ENETUNREACH = 101, "Network is unreachable";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    ESTALE = 116, "Stale file handle";
    EUCLEAN = 117, "Structure needs cleaning";
    EDQUOT = 122, "Disk quota exceeded";
    ECANCELED = 125, "Operation canceled";
    EOWNERDEAD = 130, "Owner died";
    ENOTRECOVERABLE = 131, "State not recoverable";
    // Kernel-internal restart codes (never seen by user space; `include/linux/errno.h`).
    ERESTARTSYS = 512, "Restart the system call (kernel internal)";
    ERESTARTNOINTR = 513, "Restart the system call unconditionally (kernel internal)";
    ERESTARTNOHAND = 514, "Restart if no handler (kernel internal)";
    ERESTART_RESTARTBLOCK = 516, "Restart via restart_syscall (kernel internal)";
}

impl Errno {
    /// `EWOULDBLOCK` is `EAGAIN` on Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `ENOTSUP` is `EOPNOTSUPP` on Linux.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// Builds an errno from its number (any positive value is accepted).
    pub const fn from_raw(n: i32) -> Errno {
        Errno(n)
    }

    /// The positive errno number.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The value a syscall returns in `rax` for this error: `-errno` as an unsigned word.
    pub const fn as_syscall_return(self) -> u64 {
        (-(self.0 as i64)) as u64
    }

    /// Decodes a raw syscall return value: `Some(errno)` if it lies in Linux's error range
    /// (`-4095..=-1`), as `IS_ERR_VALUE` does.
    pub fn from_syscall_return(rax: u64) -> Option<Errno> {
        let v = rax as i64;
        if (-4095..0).contains(&v) {
            Some(Errno((-v) as i32))
        } else {
            None
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

impl std::error::Error for Errno {}

/// The result type of every syscall handler and of kernel operations that can fail with an errno.
pub type KResult<T> = Result<T, Errno>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_rax() {
        let rax = Errno::ENOENT.as_syscall_return();
        assert_eq!(rax as i64, -2);
        assert_eq!(Errno::from_syscall_return(rax), Some(Errno::ENOENT));
        assert_eq!(Errno::from_syscall_return(5), None);
        assert_eq!(Errno::ENOSYS.name(), "ENOSYS");
    }
}
