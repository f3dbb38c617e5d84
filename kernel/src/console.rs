//! The console as `umbra run` gives it to its program: reads come from the host's stdin,
//! writes go to the host's stdout (or stderr for fd 2, so a guest's error output stays apart as
//! it would under a container runtime). `isatty` and the window size mirror the host's.
//! The full line discipline and job control live in the tty (boot issue).

use arch_um::console::{self, HostFd};
use fs::{FileLike, PollEvents, Pollee};
use std::any::Any;
use uapi::{flags as f, Errno, KResult};

/// One end of the host console.
pub struct Console {
    out: HostFd,
}

impl Console {
    /// The console writing to host stdout (reads always come from host stdin).
    pub fn stdout() -> Console {
        Console { out: HostFd::Stdout }
    }

    /// The console writing to host stderr.
    pub fn stderr() -> Console {
        Console { out: HostFd::Stderr }
    }

    /// The host fd whose terminal attributes this console reports.
    fn tty_fd(&self) -> HostFd {
        if console::is_tty(self.out) {
            self.out
        } else {
            HostFd::Stdin
        }
    }
}

/// Readiness of console input: notified by the scheduler's input pump when host stdin has data.
static INPUT: std::sync::OnceLock<Pollee> = std::sync::OnceLock::new();

fn input_pollee() -> &'static Pollee {
    INPUT.get_or_init(Pollee::default)
}

/// Called when host stdin may be readable: wakes console readers.
pub fn input_ready() {
    input_pollee().notify(PollEvents::POLLIN);
}

/// True if `file` is the console (its reads wait for host stdin).
pub fn is_console_file(file: &std::sync::Arc<fs::OpenFile>) -> bool {
    file.file_like().is_some_and(|f| f.as_any().is::<Console>())
}

impl FileLike for Console {
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        if !console::stdin_ready(0) {
            return Err(Errno::EAGAIN);
        }
        console::read_stdin(buf).map_err(|_| Errno::EIO)
    }

    fn poll(&self) -> PollEvents {
        let mut ev = PollEvents::POLLOUT;
        if console::stdin_ready(0) {
            ev |= PollEvents::POLLIN;
        }
        ev
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(input_pollee())
    }

    fn write(&self, data: &[u8], _offset: u64) -> KResult<usize> {
        match console::write_all(self.out, data) {
            Ok(()) => Ok(data.len()),
            Err(e) if e.raw_os_error() == Some(32) => Err(Errno::EPIPE),
            Err(_) => Err(Errno::EIO),
        }
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory) -> KResult<usize> {
        match cmd {
            f::TCGETS => {
                let t = console::termios_bytes(self.tty_fd()).ok_or(Errno::ENOTTY)?;
                mem.write(arg, &t)?;
                Ok(0)
            }
            f::TIOCGWINSZ => {
                let (rows, cols) = console::window_size(self.tty_fd()).ok_or(Errno::ENOTTY)?;
                let mut w = [0u8; 8];
                w[0..2].copy_from_slice(&rows.to_le_bytes());
                w[2..4].copy_from_slice(&cols.to_le_bytes());
                mem.write(arg, &w)?;
                Ok(0)
            }
            f::TCSETS | f::TCSETSW | f::TCSETSF | f::TIOCSWINSZ => {
                console::termios_bytes(self.tty_fd()).ok_or(Errno::ENOTTY)?;
                Ok(0)
            }
            f::TIOCGPGRP => {
                console::termios_bytes(self.tty_fd()).ok_or(Errno::ENOTTY)?;
                mem.write(arg, &1i32.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
