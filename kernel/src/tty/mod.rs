//! The console tty: Linux's N_TTY line discipline over the host console, as a [`FileLike`]
//! registered as `/dev/tty` (5:0) and `/dev/console` (5:1).
//!
//! The host side (`arch_um::console`) puts the user's terminal in raw mode, so this is the only
//! line discipline: echo, line editing, `^C`/`^Z`/`^\` and output processing happen here, as
//! they would in Linux's `n_tty.c`. Like every `FileLike`, the tty never blocks: a read with
//! nothing to return gives `EAGAIN` and readiness is published through its [`Pollee`]; the
//! kernel does the waiting and the job-control checks.
//!
//! # What the kernel wires (see also `install`)
//! - **Input pump**: when idle or on each tick, `if tty.input_room() > 0 &&
//!   console::stdin_ready(0)`, read at most `input_room()` bytes with `console::read_stdin`;
//!   0 bytes means the host input ended: call [`Tty::input_eof`]. Otherwise
//!   [`Tty::input`] returns `(pgrp, signal)` pairs to send (`kill_pgrp`). Bytes beyond
//!   `input_room()` would be dropped as Linux drops them past `N_TTY_BUF_SIZE`, so leave them
//!   in the host's buffer instead (that is Linux's throttling).
//! - **Waiting**: a read that returns `EAGAIN` waits for the pollee's `POLLIN` (every input
//!   batch notifies, even when `POLLIN` was already set) or until [`Tty::next_deadline`]
//!   (non-canonical `VTIME`), then retries. A read given up (signal, `O_NONBLOCK`) should call
//!   [`Tty::read_abandoned`] so its `VTIME` clock does not carry over to the next read.
//!   Writes return `EAGAIN` only while output is stopped (`^S`, `TCOOFF`): wait for `POLLOUT`.
//! - **Job control**: before a read call [`Tty::check_read`], before a write
//!   [`Tty::check_write`] (Linux's `job_control` and `tty_check_change`); route tty ioctls
//!   through [`Tty::ioctl_with`] with a [`TtyCaller`] so `TIOCSPGRP`, `TIOCSCTTY`, `TCSETS`…
//!   apply Linux's session and background rules. A session leader's exit calls
//!   [`Tty::session_leader_exit`]. Opening 5:0 (`/dev/tty`) must fail with `ENXIO` for a
//!   process without a controlling terminal (`tty_open_current_tty`); opening 5:1 never makes
//!   the console a controlling terminal (`noctty` for `/dev/console`): a session leader
//!   acquires it with `TIOCSCTTY`, as busybox `init` and `setsid -c` do.
//! - **Window size**: when `console::take_winch()` is true, pass `console::console_size()` to
//!   [`Tty::set_window_size`] and send the `SIGWINCH` it returns.

mod ioctl;
mod job;
mod ldisc;
mod output;
pub mod termios;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fs::klock::KMutex;
use fs::{FileLike, PollEvents, Pollee};
use uapi::flags as f;
use uapi::structs::{Termios, WinSize};
use uapi::{Errno, KResult};

pub use job::{Ctty, TtyCaller};
use ldisc::Ldisc;
use termios::Modes;

/// Where the tty's output goes (the kernel passes the host console's stdout).
pub type Sink = Box<dyn Fn(&[u8]) -> std::io::Result<()> + Send + Sync>;

/// A signal the tty asks the kernel to send: `(process group, signal number)`.
pub type PgrpSignal = (i32, u32);

/// Output is processed and handed to the sink in pieces of this many input bytes.
const WRITE_CHUNK: usize = 16 * 1024;

/// The tty's mutable state.
struct State {
    ld: Ldisc,
    /// The settings a hangup (`session_leader_exit`) restores (`TTY_DRIVER_RESET_TERMIOS`).
    init_termios: Termios,
    /// `c_ispeed`/`c_ospeed` set through `TCSETS2` with `BOTHER`.
    speeds: (u32, u32),
    winsize: WinSize,
    /// `tty->ctrl.session` (0: none).
    session: i32,
    /// `tty->ctrl.pgrp`: the foreground process group (0: none).
    pgrp: i32,
    /// `TIOCEXCL`.
    exclusive: bool,
    /// The host input ended: reads return what is left, then 0.
    input_closed: bool,
    /// When the last input byte arrived (the `VTIME` inter-byte timer).
    last_input: Option<Instant>,
    /// When the pending non-canonical read started (the `VTIME` read timer).
    read_since: Option<Instant>,
    /// Signals produced where no caller could take them (`TIOCSWINSZ` through `FileLike`).
    pending_signals: Vec<PgrpSignal>,
}

/// The console terminal: N_TTY over the host console.
pub struct Tty {
    state: KMutex<State>,
    pollee: Pollee,
    sink: Sink,
}

impl Tty {
    /// A tty with settings `termios`, window size `winsize`, writing to `sink`.
    pub fn new(termios: Termios, winsize: WinSize, sink: Sink) -> Arc<Tty> {
        let state = State {
            ld: Ldisc::new(termios),
            init_termios: termios,
            speeds: (38400, 38400),
            winsize,
            session: 0,
            pgrp: 0,
            exclusive: false,
            input_closed: false,
            last_input: None,
            read_since: None,
            pending_signals: Vec::new(),
        };
        let tty = Tty { state: KMutex::new(state), pollee: Pollee::new(PollEvents::empty()), sink };
        tty.refresh(false);
        Arc::new(tty)
    }

    /// The tty for the host console: [`termios::console_termios`] from whether the host's
    /// stdin and stdout are terminals, the host window size (0×0 if none, as Linux's default),
    /// and the host's stdout as sink.
    pub fn for_host_console() -> Arc<Tty> {
        use arch_um::console::{self, HostFd};
        let t = termios::console_termios(console::is_tty(HostFd::Stdin), console::is_tty(HostFd::Stdout));
        let (rows, cols) = console::console_size().unwrap_or((0, 0));
        let ws = WinSize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        Tty::new(t, ws, Box::new(|b| console::write_all(HostFd::Stdout, b)))
    }

    // -----------------------------------------------------------------------------------------
    // Host side

    /// Feeds bytes typed on (or piped into) the console through the line discipline; returns
    /// the signals to send, with any left pending (`ISIG`: `INTR` → `SIGINT`, `QUIT` →
    /// `SIGQUIT`, `SUSP` → `SIGTSTP` to the foreground group; none without one). Echo goes to
    /// the sink.
    pub fn input(&self, bytes: &[u8]) -> Vec<PgrpSignal> {
        let (mut sigs, out) = {
            let mut st = self.state.lock();
            let mut raw = Vec::new();
            st.ld.receive(bytes, &mut raw);
            if !bytes.is_empty() {
                st.last_input = Some(Instant::now());
            }
            let pgrp = st.pgrp;
            let mut sigs: Vec<PgrpSignal> = std::mem::take(&mut st.pending_signals);
            sigs.extend(raw.into_iter().filter(|_| pgrp > 0).map(|s| (pgrp, s)));
            (sigs, take_output(&mut st))
        };
        self.emit(&out);
        self.refresh(!bytes.is_empty());
        sigs.retain(|&(p, _)| p > 0);
        sigs
    }

    /// How many bytes [`Tty::input`] can take now (0: stop reading the host until a guest
    /// read makes room).
    pub fn input_room(&self) -> usize {
        self.state.lock().ld.room()
    }

    /// The host input ended (a pipe's end of file): a partly typed line becomes readable and
    /// reads then return 0 for good, as at `^D` on an empty line.
    pub fn input_eof(&self) {
        {
            let mut st = self.state.lock();
            st.ld.push_partial_line();
            st.input_closed = true;
        }
        self.refresh(true);
    }

    /// Whether the host input ended.
    pub fn input_closed(&self) -> bool {
        self.state.lock().input_closed
    }

    /// Signals the tty produced outside [`Tty::input`] (a `TIOCSWINSZ` through the plain
    /// `FileLike::ioctl`), for the kernel to send.
    pub fn take_signals(&self) -> Vec<PgrpSignal> {
        std::mem::take(&mut self.state.lock().pending_signals)
    }

    /// Sets the window size (`tty_do_resize`): on a change, returns `SIGWINCH` for the
    /// foreground group.
    pub fn set_window_size(&self, ws: WinSize) -> Vec<PgrpSignal> {
        let mut st = self.state.lock();
        if st.winsize == ws {
            return Vec::new();
        }
        st.winsize = ws;
        if st.pgrp > 0 {
            vec![(st.pgrp, uapi::signal::SIGWINCH)]
        } else {
            Vec::new()
        }
    }

    /// The window size.
    pub fn window_size(&self) -> WinSize {
        self.state.lock().winsize
    }

    /// The current settings.
    pub fn termios(&self) -> Termios {
        self.state.lock().ld.termios
    }

    /// Installs new settings as `TCSETS` does (after the kernel's checks); `flush` discards
    /// pending input first (`TCSETSF`).
    pub fn set_termios(&self, t: Termios, flush: bool) {
        let out = {
            let mut st = self.state.lock();
            if flush {
                st.ld.flush_input();
            }
            st.ld.set_termios(t);
            st.read_since = None;
            take_output(&mut st)
        };
        self.emit(&out);
        self.refresh(true);
    }

    // -----------------------------------------------------------------------------------------
    // Reading and waiting

    /// Reads as a `read(2)` at time `now` would, without blocking (`n_tty_read`): canonical
    /// mode returns one line at most (0 at `EOF`); non-canonical mode follows `VMIN`/`VTIME`
    /// (`VMIN`=0,`VTIME`=0: what is there, maybe 0; `VMIN`>0,`VTIME`=0: at least
    /// min(`VMIN`, len) bytes; `VMIN`=0,`VTIME`>0: the first byte or 0 after `VTIME` from
    /// the read's start; `VMIN`>0,`VTIME`>0: `VMIN` bytes, or what came once `VTIME` passed
    /// since the last byte). `EAGAIN` means "wait": for input or [`Tty::next_deadline`].
    pub fn read_at(&self, buf: &mut [u8], now: Instant) -> KResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let r = self.state.lock().read(buf, now);
        self.refresh(false);
        r
    }

    /// When a read that returned `EAGAIN` must be retried even without input (its `VTIME`
    /// timer); `None` if only input can complete it.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.state.lock().deadline()
    }

    /// The pending read was given up (interrupted, or non-blocking): forget its `VTIME` start.
    pub fn read_abandoned(&self) {
        self.state.lock().read_since = None;
    }

    // -----------------------------------------------------------------------------------------
    // Controlling terminal state (Linux's `tty->ctrl`)

    /// The foreground process group (0: none).
    pub fn foreground_pgrp(&self) -> i32 {
        self.state.lock().pgrp
    }

    /// Sets the foreground process group (after the kernel checked it belongs to the session,
    /// as `TIOCSPGRP` does).
    pub fn set_foreground_pgrp(&self, pgrp: i32) {
        self.state.lock().pgrp = pgrp;
    }

    /// The session this is the controlling terminal of (0: none).
    pub fn session(&self) -> i32 {
        self.state.lock().session
    }

    /// Makes this the controlling terminal of session `sid` with foreground group `pgrp`
    /// (`__proc_set_tty`); the kernel records it in the session's processes.
    pub fn set_session(&self, sid: i32, pgrp: i32) {
        let mut st = self.state.lock();
        st.session = sid;
        st.pgrp = pgrp;
    }

    /// Detaches the tty from its session (no signals: see [`Tty::session_leader_exit`]).
    pub fn clear_session(&self) {
        let mut st = self.state.lock();
        st.session = 0;
        st.pgrp = 0;
    }

    /// The leader of session `sid` exited (`disassociate_ctty(1)`, which hangs up a non-pty
    /// terminal): if this is that session's terminal, the foreground group gets `SIGHUP`
    /// (returned), the tty forgets session and group, pending input is discarded and the
    /// settings go back to the initial ones (`TTY_DRIVER_RESET_TERMIOS`), so the next login
    /// shell starts sane. The kernel clears the controlling terminal of the session's
    /// processes. Open files are not hung up (a deviation: later reads still work).
    pub fn session_leader_exit(&self, sid: i32) -> Vec<PgrpSignal> {
        let out = {
            let mut st = self.state.lock();
            if sid <= 0 || st.session != sid {
                return Vec::new();
            }
            let sigs = if st.pgrp > 0 { vec![(st.pgrp, uapi::signal::SIGHUP)] } else { Vec::new() };
            st.session = 0;
            st.pgrp = 0;
            st.ld.flush_input();
            let init = st.init_termios;
            st.ld.set_termios(init);
            st.ld.stopped = false;
            st.ld.tco_stopped = false;
            (sigs, take_output(&mut st))
        };
        self.emit(&out.1);
        self.refresh(true);
        out.0
    }

    // -----------------------------------------------------------------------------------------
    // Internals

    /// Hands output to the sink (outside the state lock). A failing sink (host stdout closed)
    /// loses echo silently; writes report it.
    fn emit(&self, out: &[u8]) {
        if !out.is_empty() {
            if let Err(e) = (self.sink)(out) {
                log::debug!("tty: echo lost: {e}");
            }
        }
    }

    /// Publishes the current readiness; `input` also wakes readers waiting for more bytes
    /// than are there (their `VMIN`/`VTIME` state may have changed).
    fn refresh(&self, input: bool) {
        let ev = self.state.lock().events();
        let cur = self.pollee.events();
        let gone = cur - ev;
        if !gone.is_empty() {
            self.pollee.del_events(gone);
        }
        let new = ev - cur;
        if !new.is_empty() {
            self.pollee.add_events(new);
        }
        let read_ev = PollEvents::POLLIN | PollEvents::POLLRDNORM;
        if input && !new.intersects(read_ev) {
            self.pollee.notify(read_ev);
        }
    }

    fn write_chunk(&self, data: &[u8]) -> KResult<()> {
        let out = {
            let mut st = self.state.lock();
            if st.ld.stopped {
                return Err(Errno::EAGAIN);
            }
            let t = st.ld.termios;
            st.ld.out.write(&t, data);
            take_output(&mut st)
        };
        if out.is_empty() {
            return Ok(());
        }
        (self.sink)(&out).map_err(|_| Errno::EIO)
    }
}

/// The pending output, unless output is stopped (then it waits, bounded).
fn take_output(st: &mut State) -> Vec<u8> {
    if st.ld.stopped {
        st.ld.out.trim_held();
        return Vec::new();
    }
    std::mem::take(&mut st.ld.out.pending)
}

/// `VTIME` tenths of a second.
fn vtime(t: &Termios) -> Option<Duration> {
    let v = t.cc(f::VTIME);
    (v > 0).then(|| Duration::from_millis(100 * u64::from(v)))
}

impl State {
    fn read(&mut self, buf: &mut [u8], now: Instant) -> KResult<usize> {
        if self.ld.icanon() {
            return match self.ld.read_canon(buf) {
                Some(n) => Ok(n),
                None if self.input_closed => Ok(0),
                None => Err(Errno::EAGAIN),
            };
        }
        let vmin = usize::from(self.ld.cc(f::VMIN));
        let avail = self.ld.raw_len();
        let enough = if vmin == 0 { avail > 0 } else { avail >= vmin.min(buf.len()) };
        let Some(vt) = vtime(&self.ld.termios) else {
            if enough || vmin == 0 || self.input_closed {
                return Ok(self.ld.read_raw(buf));
            }
            return Err(Errno::EAGAIN);
        };
        if enough || self.input_closed {
            self.read_since = None;
            return Ok(self.ld.read_raw(buf));
        }
        let since = *self.read_since.get_or_insert(now);
        let expired = match self.timer_start(since, vmin) {
            Some(start) => now >= start + vt,
            None => false,
        };
        if expired {
            self.read_since = None;
            return Ok(self.ld.read_raw(buf));
        }
        Err(Errno::EAGAIN)
    }

    /// Where the `VTIME` timer of a read started at `since` counts from: the read's start for
    /// `VMIN`=0, the later of it and the last byte once some input is there for `VMIN`>0 (no
    /// timer before the first byte).
    fn timer_start(&self, since: Instant, vmin: usize) -> Option<Instant> {
        if vmin == 0 {
            return Some(since);
        }
        if self.ld.raw_len() == 0 {
            return None;
        }
        Some(self.last_input.map_or(since, |l| l.max(since)))
    }

    fn deadline(&self) -> Option<Instant> {
        if self.ld.icanon() {
            return None;
        }
        let vt = vtime(&self.ld.termios)?;
        let since = self.read_since?;
        let start = self.timer_start(since, usize::from(self.ld.cc(f::VMIN)))?;
        Some(start + vt)
    }

    /// Readiness: `POLLIN` when a read would return (a line, `VMIN` bytes, any byte with
    /// `VMIN`=0, or end of input), `POLLOUT` unless output is stopped. With `VMIN`>0 and
    /// `VTIME`>0 Linux reports `POLLIN` from the first byte; here it waits for `VMIN` bytes,
    /// so a blocked reader's wait and `poll` agree (its timer runs via `next_deadline`).
    fn events(&self) -> PollEvents {
        let mut ev = PollEvents::empty();
        let readable = if self.ld.icanon() {
            self.ld.canon_ready()
        } else {
            self.ld.raw_len() >= usize::from(self.ld.cc(f::VMIN)).max(1)
        };
        if readable || self.input_closed {
            ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
        }
        if !self.ld.stopped {
            ev |= PollEvents::POLLOUT | PollEvents::POLLWRNORM;
        }
        ev
    }
}

impl FileLike for Tty {
    /// `read(2)` now: see [`Tty::read_at`].
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        self.read_at(buf, Instant::now())
    }

    /// `write(2)` (`n_tty_write`): output processing, then the sink; `EAGAIN` while output is
    /// stopped, `EIO` if the host refuses the bytes. The kernel checks `TOSTOP` first
    /// ([`Tty::check_write`]).
    fn write(&self, data: &[u8], _offset: u64) -> KResult<usize> {
        let mut done = 0;
        for chunk in data.chunks(WRITE_CHUNK) {
            match self.write_chunk(chunk) {
                Ok(()) => done += chunk.len(),
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn poll(&self) -> PollEvents {
        self.state.lock().events()
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.pollee)
    }

    /// The tty ioctls without a calling process (no job-control checks; see
    /// [`Tty::ioctl_with`], which the kernel should use).
    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn fs::UserMemory) -> KResult<usize> {
        self.ioctl_common(cmd, arg, mem, None)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Creates the console tty and registers it as `/dev/tty` (5:0, mode 0666) and
/// `/dev/console` (5:1, mode 0600) in the device registry (and so in devtmpfs). The kernel
/// calls it once at boot and keeps the `Arc` for its input pump.
pub fn install(vfs: &fs::Vfs) -> Arc<Tty> {
    let tty = Tty::for_host_console();
    register(vfs.devices(), &tty);
    tty
}

/// Registers `tty` as 5:0 and 5:1 in `reg`.
pub fn register(reg: &fs::devfs::DeviceRegistry, tty: &Arc<Tty>) {
    let file: Arc<dyn FileLike> = tty.clone();
    let dev = Arc::new(fs::devfs::SharedDevice(file));
    reg.register_char_device("tty", 5, 0, 0o666, dev.clone());
    reg.register_char_device("console", 5, 1, 0o600, dev);
}
