//! Terminals: Linux's N_TTY line discipline ([`Tty`]) over a pluggable device
//! ([`TtyDriver`], Linux's `tty_operations`): the host console (`/dev/console` 5:1, reached
//! as `/dev/tty` 5:0 by the processes it controls) or the master side of a pseudo-terminal
//! (`pty`, the slave `/dev/pts/N`). The driver takes the tty's output (and echo) and is told
//! about flow control and flushes; input comes from the console's host pump or from writes to
//! the pty master, through [`Tty::receive`].
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
pub mod pty;
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

pub use ioctl::encode_dev;
pub use job::{Ctty, TtyCaller};
use ldisc::{Ldisc, FLUSHED_INPUT, FLUSHED_OUTPUT};
use termios::Modes;

/// Where the tty's output goes (the kernel passes the host console's stdout).
pub type Sink = Box<dyn Fn(&[u8]) -> std::io::Result<()> + Send + Sync>;

/// The device under a tty (Linux's `tty_operations`): takes the output, says how much it can
/// take, and hears about flow control, flushes and settings (which a pty master in packet mode
/// reports). Called without the tty's lock held, except [`TtyDriver::write_room`].
pub trait TtyDriver: Send + Sync {
    /// Takes processed output or echo (`ops->write`). Output is never refused for room: the
    /// tty asks [`TtyDriver::write_room`] before writing.
    fn write(&self, bytes: &[u8]) -> std::io::Result<()>;
    /// How many bytes the device takes now (`ops->write_room`; `usize::MAX`: no limit).
    fn write_room(&self) -> usize {
        usize::MAX
    }
    /// Output was stopped (`true`, `ops->stop`) or restarted (`ops->start`).
    fn flow_changed(&self, _stopped: bool) {}
    /// Pending input (`input`) or output was discarded (`n_tty_flush_buffer`,
    /// `ops->flush_buffer`).
    fn flushed(&self, _input: bool, _output: bool) {}
    /// Adjusts settings about to be installed (`ops->set_termios` forcing what the device
    /// cannot change).
    fn adjust_termios(&self, _t: &mut Termios) {}
    /// The settings changed from `old` to `new` (`ops->set_termios`).
    fn termios_changed(&self, _old: &Termios, _new: &Termios) {}
    /// The tty's readiness or room for input may have changed (the other side of a pty
    /// updates its own readiness).
    fn tty_changed(&self) {}
    /// The device number (`TIOCGDEV`, `/proc/<pid>/stat`'s `tty_nr`): (major, minor).
    fn device(&self) -> (u32, u32);
    /// True for a pty slave: a session leader's exit does not hang it up (`disassociate_ctty`).
    fn is_pty(&self) -> bool {
        false
    }
    /// True for a virtual console (the console and `/dev/tty1`…): the keyboard-mode query
    /// `KDGKBMODE` works on it, which is how getty tells a VT from a serial line.
    fn is_virtual_console(&self) -> bool {
        false
    }
}

/// A [`TtyDriver`] writing to a [`Sink`] without flow control: the host console (5:1).
pub struct SinkDriver(pub Sink);

impl TtyDriver for SinkDriver {
    fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        (self.0)(bytes)
    }
    fn device(&self) -> (u32, u32) {
        (5, 1)
    }
    fn is_virtual_console(&self) -> bool {
        true
    }
}

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
    /// Signals produced where no caller could take them (`TIOCSWINSZ` through `FileLike`,
    /// input processed when a read made room).
    pending_signals: Vec<PgrpSignal>,
    /// Received bytes the line discipline has no room for yet (Linux's flip buffers), at most
    /// `flip_limit`; they are processed as reads make room.
    flip: std::collections::VecDeque<u8>,
    flip_limit: usize,
    /// Hung up (`tty_hangup`, a pty whose master closed): reads return 0, writes and most
    /// ioctls `EIO`, poll reports everything.
    hung_up: bool,
    /// Settings changed by the last operation, for [`TtyDriver::termios_changed`].
    termios_change: Option<(Termios, Termios)>,
}

/// A terminal: N_TTY over a [`TtyDriver`].
pub struct Tty {
    state: KMutex<State>,
    pollee: Pollee,
    driver: Arc<dyn TtyDriver>,
}

/// What an operation left to do once the tty's lock is released: output for the driver and
/// its notifications.
#[derive(Default)]
struct Effects {
    out: Vec<u8>,
    flow: Option<bool>,
    flush: u8,
    termios: Option<(Termios, Termios)>,
}

impl Tty {
    /// A tty with settings `termios`, window size `winsize`, writing to `sink`.
    pub fn new(termios: Termios, winsize: WinSize, sink: Sink) -> Arc<Tty> {
        Tty::with_driver(termios, winsize, Arc::new(SinkDriver(sink)), 0)
    }

    /// A tty over `driver` holding up to `flip_limit` received bytes beyond the line
    /// discipline's buffer (0: the source keeps them, as the host console does).
    pub fn with_driver(termios: Termios, winsize: WinSize, driver: Arc<dyn TtyDriver>, flip_limit: usize) -> Arc<Tty> {
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
            flip: std::collections::VecDeque::new(),
            flip_limit,
            hung_up: false,
            termios_change: None,
        };
        let tty = Tty { state: KMutex::new(state), pollee: Pollee::new(PollEvents::empty()), driver };
        tty.refresh(false);
        Arc::new(tty)
    }

    /// The driver under this tty.
    pub fn driver(&self) -> &Arc<dyn TtyDriver> {
        &self.driver
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
    /// the driver. Bytes beyond [`Tty::input_capacity`] are dropped.
    pub fn input(&self, bytes: &[u8]) -> Vec<PgrpSignal> {
        self.receive(bytes).1
    }

    /// Receives bytes from the device (`tty_insert_flip_string` then `n_tty_receive_buf`):
    /// takes at most [`Tty::input_capacity`] of them (the rest is the sender's to retry),
    /// processes what the line discipline has room for and holds the others until reads make
    /// room. Returns how many were taken and the signals to send.
    pub fn receive(&self, bytes: &[u8]) -> (usize, Vec<PgrpSignal>) {
        let (taken, mut sigs, fx) = {
            let mut st = self.state.lock();
            let taken = bytes.len().min(st.input_capacity());
            st.flip.extend(&bytes[..taken]);
            st.drain_flip();
            if taken > 0 {
                st.last_input = Some(Instant::now());
            }
            let sigs: Vec<PgrpSignal> = std::mem::take(&mut st.pending_signals);
            (taken, sigs, take_effects(&mut st))
        };
        self.apply(fx);
        self.refresh(taken > 0);
        sigs.retain(|&(p, _)| p > 0);
        (taken, sigs)
    }

    /// Drops the input held beyond the line discipline (the flip buffer), as a pty master's
    /// `TCOFLUSH` does (`pty_flush_buffer`).
    pub fn discard_held_input(&self) {
        self.state.lock().flip.clear();
        self.refresh(false);
    }

    /// How many bytes [`Tty::receive`] takes now: the line discipline's room plus the free
    /// part of the flip buffer.
    pub fn input_capacity(&self) -> usize {
        self.state.lock().input_capacity()
    }

    /// How many bytes [`Tty::input`] can take now (0: stop reading the host until a guest
    /// read makes room).
    pub fn input_room(&self) -> usize {
        self.input_capacity()
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
    /// `FileLike::ioctl`, held input processed after a read), for the kernel to send.
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
    pub fn set_termios(&self, mut t: Termios, flush: bool) {
        self.driver.adjust_termios(&mut t);
        let fx = {
            let mut st = self.state.lock();
            if flush {
                st.flush_input();
            }
            let old = st.ld.termios;
            st.ld.set_termios(t);
            st.termios_change = Some((old, t));
            st.read_since = None;
            st.drain_flip();
            take_effects(&mut st)
        };
        self.apply(fx);
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
        let (r, fx) = {
            let mut st = self.state.lock();
            if st.hung_up {
                return Ok(0);
            }
            let r = st.read(buf, now);
            if r.is_ok() {
                st.drain_flip();
            }
            (r, take_effects(&mut st))
        };
        self.apply(fx);
        self.refresh(false);
        r
    }

    /// What a non-blocking read returns after [`Tty::read_at`] said `EAGAIN` (`n_tty_read`
    /// with `O_NONBLOCK`): in non-canonical mode the bytes there are, even fewer than `VMIN`;
    /// `EAGAIN` if there are none or in canonical mode.
    pub fn read_available(&self, buf: &mut [u8]) -> KResult<usize> {
        let (r, fx) = {
            let mut st = self.state.lock();
            if st.ld.icanon() || st.ld.raw_len() == 0 || buf.is_empty() {
                return Err(Errno::EAGAIN);
            }
            st.read_since = None;
            let n = st.ld.read_raw(buf);
            st.drain_flip();
            (Ok(n), take_effects(&mut st))
        };
        self.apply(fx);
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

    /// The leader of session `sid` exited (`disassociate_ctty(1)`): if this is that session's
    /// terminal, the foreground group gets `SIGHUP` (returned) and the tty forgets session and
    /// group. A non-pty terminal is also hung up: pending input is discarded and the settings
    /// go back to the initial ones (`TTY_DRIVER_RESET_TERMIOS`), so the next login shell starts
    /// sane. The kernel clears the controlling terminal of the session's processes. Open files
    /// are not hung up (a deviation: later reads still work).
    pub fn session_leader_exit(&self, sid: i32) -> Vec<PgrpSignal> {
        let pty = self.driver.is_pty();
        let (sigs, fx) = {
            let mut st = self.state.lock();
            if sid <= 0 || st.session != sid {
                return Vec::new();
            }
            let sigs = if st.pgrp > 0 { vec![(st.pgrp, uapi::signal::SIGHUP)] } else { Vec::new() };
            st.session = 0;
            st.pgrp = 0;
            if !pty {
                st.flush_input();
                let init = st.init_termios;
                let old = st.ld.termios;
                st.ld.set_termios(init);
                st.termios_change = Some((old, init));
                st.ld.stopped = false;
                st.ld.tco_stopped = false;
            }
            (sigs, take_effects(&mut st))
        };
        self.apply(fx);
        self.refresh(true);
        sigs
    }

    /// Hangs the tty up (`__tty_hangup`, a pty slave whose master closed): every open file of
    /// it reads 0 and gets `EIO` on writes and ioctls, poll reports `POLLHUP`; pending input
    /// is discarded, output restarted, session and foreground group forgotten. Returns the
    /// session it controlled (0: none), whose leader the kernel sends `SIGHUP` and `SIGCONT`
    /// (`tty_signal_session_leader`) and whose processes lose it.
    pub fn hangup(&self) -> i32 {
        let (sid, fx) = {
            let mut st = self.state.lock();
            let sid = st.session;
            st.hung_up = true;
            st.session = 0;
            st.pgrp = 0;
            st.flush_input();
            st.flip.clear();
            st.ld.out.pending.clear();
            st.ld.tco_stopped = false;
            st.ld.start();
            (sid, take_effects(&mut st))
        };
        self.apply(fx);
        self.refresh(true);
        sid
    }

    /// Whether the tty was hung up.
    pub fn is_hung_up(&self) -> bool {
        self.state.lock().hung_up
    }

    // -----------------------------------------------------------------------------------------
    // Internals

    /// Hands an operation's output and notifications to the driver (outside the state
    /// lock). A failing device (host stdout closed) loses echo silently; writes report it.
    fn apply(&self, fx: Effects) {
        if !fx.out.is_empty() {
            if let Err(e) = self.driver.write(&fx.out) {
                log::debug!("tty: echo lost: {e}");
            }
        }
        if let Some(stopped) = fx.flow {
            self.driver.flow_changed(stopped);
        }
        if fx.flush != 0 {
            self.driver.flushed(fx.flush & FLUSHED_INPUT != 0, fx.flush & FLUSHED_OUTPUT != 0);
        }
        if let Some((old, new)) = fx.termios {
            self.driver.termios_changed(&old, &new);
        }
    }

    /// Publishes the current readiness; `input` also wakes readers waiting for more bytes
    /// than are there (their `VMIN`/`VTIME` state may have changed). Tells the driver, whose
    /// other side may depend on it (a pty master's room to write).
    pub fn refresh(&self, input: bool) {
        let ev = {
            let st = self.state.lock();
            st.events(self.driver.write_room())
        };
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
        self.driver.tty_changed();
    }

    /// Writes as much of `data` as the driver has room for (`n_tty_write`); `EAGAIN` if
    /// nothing fits or output is stopped. Readiness is republished either way, so a writer
    /// that must wait sees `POLLOUT` gone and is woken when room comes back.
    fn write_chunk(&self, data: &[u8]) -> KResult<usize> {
        let r = self.write_some(data);
        self.refresh(false);
        r
    }

    fn write_some(&self, data: &[u8]) -> KResult<usize> {
        let (n, out) = {
            let mut st = self.state.lock();
            if st.hung_up {
                return Err(Errno::EIO);
            }
            if st.ld.stopped {
                return Err(Errno::EAGAIN);
            }
            let room = self.driver.write_room();
            let t = st.ld.termios;
            let n = st.ld.out.write_limited(&t, data, room);
            (n, take_output(&mut st))
        };
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        if !out.is_empty() {
            self.driver.write(&out).map_err(|_| Errno::EIO)?;
        }
        Ok(n)
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

/// Everything an operation left for the driver.
fn take_effects(st: &mut State) -> Effects {
    Effects {
        out: take_output(st),
        flow: st.ld.flow_event.take(),
        flush: std::mem::take(&mut st.ld.flush_events),
        termios: st.termios_change.take(),
    }
}

/// `VTIME` tenths of a second.
fn vtime(t: &Termios) -> Option<Duration> {
    let v = t.cc(f::VTIME);
    (v > 0).then(|| Duration::from_millis(100 * u64::from(v)))
}

impl State {
    /// The line discipline's room plus the flip buffer's free part.
    fn input_capacity(&self) -> usize {
        if self.hung_up {
            return 0;
        }
        let flip_free = self.flip_limit.saturating_sub(self.flip.len());
        if self.flip.is_empty() {
            self.ld.room().saturating_add(flip_free)
        } else {
            flip_free
        }
    }

    /// Processes held input while the line discipline has room (`flush_to_ldisc`); the
    /// signals it produces wait in `pending_signals`.
    fn drain_flip(&mut self) {
        while !self.flip.is_empty() {
            let room = self.ld.room();
            if room == 0 {
                break;
            }
            let n = room.min(self.flip.len());
            let bytes: Vec<u8> = self.flip.drain(..n).collect();
            let mut raw = Vec::new();
            self.ld.receive(&bytes, &mut raw);
            let pgrp = self.pgrp;
            self.pending_signals.extend(raw.into_iter().filter(|_| pgrp > 0).map(|s| (pgrp, s)));
        }
    }

    /// Discards pending input (`n_tty_flush_buffer`), which the driver hears of.
    fn flush_input(&mut self) {
        self.ld.flush_input();
        self.flip.clear();
        self.ld.flush_events |= FLUSHED_INPUT;
    }

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
    fn events(&self, write_room: usize) -> PollEvents {
        if self.hung_up {
            return PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLOUT | PollEvents::POLLWRNORM | PollEvents::POLLERR | PollEvents::POLLHUP;
        }
        let mut ev = PollEvents::empty();
        let readable = if self.ld.icanon() {
            self.ld.canon_ready()
        } else {
            self.ld.raw_len() >= usize::from(self.ld.cc(f::VMIN)).max(1)
        };
        if readable || self.input_closed {
            ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
        }
        if !self.ld.stopped && write_room > 0 {
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

    /// `write(2)` (`n_tty_write`): output processing, then the driver, as much as it has room
    /// for; `EAGAIN` while output is stopped or the driver is full, `EIO` if the device refuses
    /// the bytes or the tty was hung up. The kernel checks `TOSTOP` first
    /// ([`Tty::check_write`]).
    fn write(&self, data: &[u8], _offset: u64) -> KResult<usize> {
        let mut done = 0;
        for chunk in data.chunks(WRITE_CHUNK) {
            match self.write_chunk(chunk) {
                Ok(n) => {
                    done += n;
                    if n < chunk.len() {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn poll(&self) -> PollEvents {
        let room = self.driver.write_room();
        self.state.lock().events(room)
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

/// The virtual consoles `/dev/tty2` … `/dev/tty6` besides the one on the host terminal.
const UNATTACHED_VTS: std::ops::RangeInclusive<u32> = 2..=6;

/// Registers `tty` as 5:0 and 5:1 in `reg`, and the virtual consoles a distribution's init
/// starts gettys on: `/dev/tty0` (the current one) and `/dev/tty1` are the console itself —
/// as User-Mode Linux's `con1=fd:0,fd:1`, so a stock Debian inittab shows `login:` on the
/// host terminal — and `/dev/tty2`…`tty6` are terminals attached to nothing (output is
/// dropped, input never comes), so their gettys wait quietly instead of respawning.
pub fn register(reg: &fs::devfs::DeviceRegistry, tty: &Arc<Tty>) {
    let file: Arc<dyn FileLike> = tty.clone();
    let dev = Arc::new(fs::devfs::SharedDevice(file));
    reg.register_char_device("tty", 5, 0, 0o666, dev.clone());
    reg.register_char_device("console", 5, 1, 0o600, dev.clone());
    reg.register_char_device("tty0", 4, 0, 0o620, dev.clone());
    reg.register_char_device("tty1", 4, 1, 0o620, dev);
    for n in UNATTACHED_VTS {
        let vt: Arc<dyn FileLike> = Tty::new(termios::console_termios(true, true), WinSize::default(), Box::new(|_| Ok(())));
        reg.register_char_device(&format!("tty{n}"), 4, n, 0o620, Arc::new(fs::devfs::SharedDevice(vt)));
    }
}
