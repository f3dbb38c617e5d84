//! The host reactor: one host `epoll` over every host fd the kernel waits on — console input,
//! the console's signal self-pipe, and later host sockets of the network relay and inotify
//! watches of hostfs directories. When no task can run, the kernel blocks here (with the clock
//! tick blocked, so an idle umbra stays at 0% CPU) until a source is ready or the next kernel
//! timer is due. A source is *armed* only while the kernel wants its events (a console whose
//! buffer is full is not), so a level-triggered fd nobody drains never spins the idle loop.
//!
//! A host fd that `epoll` refuses (a regular file or `/dev/null` as stdin: `EPERM`) is treated
//! as always ready, as `poll` would report it.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};

/// Names a registered source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Token(pub u64);

/// The events a source is armed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Not watched now.
    None,
    /// Readable (or hung up).
    Read,
    /// Writable.
    Write,
    /// Either.
    ReadWrite,
}

impl Interest {
    fn flags(self) -> EpollFlags {
        match self {
            Interest::None => EpollFlags::empty(),
            Interest::Read => EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP,
            Interest::Write => EpollFlags::EPOLLOUT,
            Interest::ReadWrite => EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP | EpollFlags::EPOLLOUT,
        }
    }
}

struct Source {
    fd: RawFd,
    armed: Interest,
    /// `epoll` refused the fd (a regular file): it is always ready.
    always_ready: bool,
}

/// One host `epoll` and the sources registered with it.
pub struct Reactor {
    epoll: Epoll,
    sources: Mutex<BTreeMap<u64, Source>>,
}

impl Reactor {
    /// Creates the host `epoll` (close-on-exec).
    pub fn new() -> io::Result<Reactor> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        Ok(Reactor { epoll, sources: Mutex::new(BTreeMap::new()) })
    }

    fn borrow(fd: RawFd) -> BorrowedFd<'static> {
        // SAFETY: the caller of `add` promises the fd stays open until `remove`; the borrow
        // is only handed to epoll_ctl for the duration of the call.
        unsafe { BorrowedFd::borrow_raw(fd) }
    }

    /// Registers host fd `fd` (which must stay open until [`Reactor::remove`]), disarmed.
    pub fn add(&self, fd: RawFd) -> io::Result<Token> {
        let mut sources = self.sources.lock().map_err(|_| io::Error::other("reactor poisoned"))?;
        let id = sources.keys().next_back().map_or(1, |k| k + 1);
        let ev = EpollEvent::new(EpollFlags::empty(), id);
        let always_ready = match self.epoll.add(Self::borrow(fd), ev) {
            Ok(()) => false,
            Err(nix::errno::Errno::EPERM) => true,
            Err(e) => return Err(e.into()),
        };
        sources.insert(id, Source { fd, armed: Interest::None, always_ready });
        Ok(Token(id))
    }

    /// Arms `token` for `interest` (one `epoll_ctl` only when the interest changes).
    pub fn arm(&self, token: Token, interest: Interest) {
        let Ok(mut sources) = self.sources.lock() else { return };
        let Some(s) = sources.get_mut(&token.0) else { return };
        if s.armed == interest {
            return;
        }
        s.armed = interest;
        if !s.always_ready {
            let mut ev = EpollEvent::new(interest.flags(), token.0);
            if let Err(e) = self.epoll.modify(Self::borrow(s.fd), &mut ev) {
                log::warn!("reactor: cannot watch host fd {}: {e}", s.fd);
            }
        }
    }

    /// Unregisters `token` (before its fd is closed).
    pub fn remove(&self, token: Token) {
        let Ok(mut sources) = self.sources.lock() else { return };
        if let Some(s) = sources.remove(&token.0) {
            if !s.always_ready {
                let _ = self.epoll.delete(Self::borrow(s.fd));
            }
        }
    }

    /// Number of registered sources.
    pub fn len(&self) -> usize {
        self.sources.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until an armed source is ready or `timeout` passes (`None`: forever; zero: just
    /// look) and returns the ready tokens. The clock tick (`SIGALRM`) is blocked while waiting,
    /// so ticks do not wake an idle umbra; other host signals (`SIGTERM`, `SIGWINCH`) end the
    /// wait early with no token, and the console's self-pipe makes them visible as a source.
    pub fn wait(&self, timeout: Option<Duration>) -> Vec<Token> {
        let mut ready: Vec<Token> = match self.sources.lock() {
            Ok(s) => s.iter().filter(|(_, s)| s.always_ready && s.armed != Interest::None).map(|(k, _)| Token(*k)).collect(),
            Err(_) => Vec::new(),
        };
        let timeout = if ready.is_empty() { timeout } else { Some(Duration::ZERO) };
        let ms: i32 = match timeout {
            None => -1,
            // Round up, so a timer due in 0.3 ms does not make a zero-timeout spin.
            Some(d) => i32::try_from(d.as_micros().div_ceil(1000)).unwrap_or(i32::MAX),
        };
        let mut events = [EpollEvent::empty(); 16];
        // nix's `Epoll::wait` has no signal mask: `epoll_pwait` is called through libc.
        // SAFETY: a sigset on the stack filled by libc; `events` is a valid buffer of
        // `events.len()` epoll_event structs (EpollEvent is repr(transparent) over it).
        let n = unsafe {
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut mask);
            libc::sigaddset(&mut mask, libc::SIGALRM);
            libc::epoll_pwait(
                self.epoll.0.as_fd().as_raw_fd(),
                events.as_mut_ptr().cast::<libc::epoll_event>(),
                events.len() as i32,
                ms,
                &mask,
            )
        };
        for ev in events.iter().take(usize::try_from(n).unwrap_or(0)) {
            ready.push(Token(ev.data()));
        }
        ready
    }
}

impl AsFd for Reactor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    #[test]
    fn wakes_for_an_armed_readable_source_only() {
        let r = Reactor::new().unwrap_or_else(|e| panic!("epoll: {e}"));
        let (mut a, b) = UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let t = r.add(b.as_raw_fd()).unwrap_or_else(|e| panic!("{e}"));
        a.write_all(b"x").unwrap_or_else(|e| panic!("{e}"));
        // Disarmed: the wait times out although data is there.
        let start = Instant::now();
        assert!(r.wait(Some(Duration::from_millis(30))).is_empty());
        assert!(start.elapsed() >= Duration::from_millis(25));
        r.arm(t, Interest::Read);
        assert_eq!(r.wait(Some(Duration::from_secs(5))), vec![t]);
        r.remove(t);
        assert!(r.is_empty());
    }

    #[test]
    fn regular_files_are_always_ready() {
        let f = std::fs::File::open("/proc/self/stat").unwrap_or_else(|e| panic!("{e}"));
        let r = Reactor::new().unwrap_or_else(|e| panic!("epoll: {e}"));
        let t = r.add(f.as_raw_fd()).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.wait(Some(Duration::ZERO)).is_empty());
        r.arm(t, Interest::Read);
        assert_eq!(r.wait(None), vec![t]);
    }
}
