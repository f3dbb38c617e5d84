//! The host side of the console: umbra's stdin, stdout and stderr.
//!
//! The kernel's tty (kernel/src/tty) sits on top. Input is waited for with `poll` on fd 0 — never
//! by setting `O_NONBLOCK` on it, which would change the open file shared with the user's shell
//! (REFERENCES, corrections). Terminal attributes are passed through for `isatty`-style queries.

use std::io;

/// The host fds the console uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostFd {
    /// fd 0.
    Stdin,
    /// fd 1.
    Stdout,
    /// fd 2.
    Stderr,
}

impl HostFd {
    fn raw(self) -> i32 {
        match self {
            HostFd::Stdin => 0,
            HostFd::Stdout => 1,
            HostFd::Stderr => 2,
        }
    }
}

/// Writes all of `data` to a host fd (retrying short writes and `EINTR`).
pub fn write_all(fd: HostFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        // SAFETY: writes from a valid buffer.
        let n = unsafe { libc::write(fd.raw(), data.as_ptr() as *const libc::c_void, data.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        data = &data[n as usize..];
    }
    Ok(())
}

/// Reads what is available from host stdin; blocks until something is (or EOF → 0).
pub fn read_stdin(buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: reads into a valid buffer.
        let n = unsafe { libc::read(0, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Whether host stdin has data (or EOF/hangup) within `timeout_ms` (-1: wait forever).
pub fn stdin_ready(timeout_ms: i32) -> bool {
    let mut p = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    n > 0
}

/// Whether a host fd is a terminal.
pub fn is_tty(fd: HostFd) -> bool {
    // SAFETY: isatty only inspects the fd.
    unsafe { libc::isatty(fd.raw()) == 1 }
}

/// The host terminal's attributes as the raw kernel `struct termios` bytes (36 bytes:
/// `TCGETS`), or `None` if `fd` is not a terminal.
pub fn termios_bytes(fd: HostFd) -> Option<[u8; 36]> {
    let mut t = [0u8; 36];
    // SAFETY: TCGETS writes a kernel struct termios (36 bytes on x86-64).
    let r = unsafe { libc::ioctl(fd.raw(), libc::TCGETS, t.as_mut_ptr()) };
    (r == 0).then_some(t)
}

/// The host terminal's size (rows, cols), if `fd` is a terminal.
pub fn window_size(fd: HostFd) -> Option<(u16, u16)> {
    let mut w = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes a struct winsize.
    let r = unsafe { libc::ioctl(fd.raw(), libc::TIOCGWINSZ, &mut w) };
    (r == 0).then_some((w.ws_row, w.ws_col))
}
