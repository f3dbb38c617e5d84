//! The N_TTY line discipline proper (`drivers/tty/n_tty.c`): input processing (`ISTRIP`,
//! `IUCLC`, `IXON`/`IXANY`, `ISIG`, `IGNCR`/`ICRNL`/`INLCR`), canonical line editing (`ERASE`,
//! `WERASE`, `KILL`, `LNEXT`, `REPRINT`, `EOF`, `EOL`/`EOL2`) with Linux's echo of each
//! (`ECHO`, `ECHOE`, `ECHOK`, `ECHOKE`, `ECHONL`, `ECHOCTL`, `ECHOPRT`), the read buffers of
//! both modes, and flow control state. It is plain state: no locks, no clock, no I/O — the
//! [`super::Tty`] around it does those.
//!
//! Canonical input is kept as committed lines (what a read may return) plus the line being
//! edited; non-canonical input as one byte queue. Switching modes converts between them as
//! `n_tty_set_termios` does: leaving canonical mode makes everything typed readable, entering
//! it turns pending bytes into one readable chunk (Linux's "push").

use std::collections::VecDeque;

use uapi::flags as f;
use uapi::signal as sig;
use uapi::structs::Termios;

use super::output::Output;
use super::termios::{is_alnum, is_cntrl, is_continuation, Modes, N_TTY_BUF_SIZE};

/// A committed canonical line: its bytes (with the `\n`/`EOL` that ended it; an `EOF` is not
/// stored) and how much of it has been read.
#[derive(Debug)]
struct Line {
    bytes: Vec<u8>,
    pos: usize,
}

impl Line {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }
}

/// Which erase character `eraser` is handling.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kill {
    Erase,
    Werase,
    Line,
}

/// N_TTY state (Linux's `struct n_tty_data` plus the termios and flow flags it consults).
#[derive(Debug)]
pub struct Ldisc {
    /// The current settings.
    pub termios: Termios,
    /// Output processing state and the bytes waiting for the sink.
    pub out: Output,
    lines: VecDeque<Line>,
    lines_len: usize,
    edit: Vec<u8>,
    raw: VecDeque<u8>,
    lnext: bool,
    erasing: bool,
    /// `tty->flow.stopped`: output stopped by `STOP` (`^S`) or `TCOOFF`.
    pub stopped: bool,
    /// `tty->flow.tco_stopped`: stopped by `TCOOFF` (only `TCOON` restarts it).
    pub tco_stopped: bool,
    /// The last change of `stopped` not yet reported to the driver (`tty->ops->stop`/`start`:
    /// a pty master in packet mode sees `TIOCPKT_STOP`/`TIOCPKT_START`).
    pub flow_event: Option<bool>,
    /// Flushes not yet reported to the driver ([`FLUSHED_INPUT`], [`FLUSHED_OUTPUT`]).
    pub flush_events: u8,
}

/// [`Ldisc::flush_events`]: pending input was discarded (`TIOCPKT_FLUSHREAD`).
pub const FLUSHED_INPUT: u8 = 1;
/// [`Ldisc::flush_events`]: pending output was discarded (`TIOCPKT_FLUSHWRITE`).
pub const FLUSHED_OUTPUT: u8 = 2;

impl Modes for Ldisc {
    fn t(&self) -> &Termios {
        &self.termios
    }
}

impl Ldisc {
    /// An empty line discipline with settings `t`.
    pub fn new(t: Termios) -> Self {
        Ldisc {
            termios: t,
            out: Output::default(),
            lines: VecDeque::new(),
            lines_len: 0,
            edit: Vec::new(),
            raw: VecDeque::new(),
            lnext: false,
            erasing: false,
            stopped: false,
            tco_stopped: false,
            flow_event: None,
            flush_events: 0,
        }
    }

    /// `ICANON` is set.
    pub fn icanon(&self) -> bool {
        self.lflag(f::ICANON)
    }

    // -----------------------------------------------------------------------------------------
    // Input

    /// Processes received bytes (`n_tty_receive_buf`); signal numbers for the foreground
    /// process group are appended to `sigs`.
    pub fn receive(&mut self, bytes: &[u8], sigs: &mut Vec<u32>) {
        for &c in bytes {
            self.receive_char(c, sigs);
        }
    }

    fn receive_char(&mut self, c: u8, sigs: &mut Vec<u32>) {
        let c = self.preprocess(c);
        if self.lnext {
            self.lnext = false;
            self.ixany_restart();
            self.normal_char(c, false);
            return;
        }
        if !self.is_special(c) {
            self.ixany_restart();
            self.normal_char(c, false);
            return;
        }
        self.special_char(c, sigs);
    }

    /// `ISTRIP` and `IUCLC`+`IEXTEN`.
    fn preprocess(&self, mut c: u8) -> u8 {
        if self.iflag(f::ISTRIP) {
            c &= 0x7f;
        }
        if self.iflag(f::IUCLC) && self.lflag(f::IEXTEN) {
            c = c.to_ascii_lowercase();
        }
        c
    }

    /// Linux's `char_map`: the characters `n_tty_receive_char_special` must look at.
    fn is_special(&self, c: u8) -> bool {
        if c == 0 {
            return false;
        }
        let crnl = (c == b'\r' && (self.iflag(f::IGNCR) || self.iflag(f::ICRNL))) || (c == b'\n' && self.iflag(f::INLCR));
        let canon = self.icanon()
            && (c == b'\n'
                || [f::VERASE, f::VKILL, f::VEOF, f::VEOL].iter().any(|&i| self.is_cc(c, i))
                || (self.lflag(f::IEXTEN) && [f::VWERASE, f::VLNEXT, f::VEOL2].iter().any(|&i| self.is_cc(c, i)))
                || (self.lflag(f::IEXTEN) && self.lflag(f::ECHO) && self.is_cc(c, f::VREPRINT)));
        let flow = self.iflag(f::IXON) && (self.is_cc(c, f::VSTART) || self.is_cc(c, f::VSTOP));
        let isig = self.lflag(f::ISIG) && [f::VINTR, f::VQUIT, f::VSUSP].iter().any(|&i| self.is_cc(c, i));
        crnl || canon || flow || isig
    }

    /// `n_tty_receive_char_special`.
    fn special_char(&mut self, mut c: u8, sigs: &mut Vec<u32>) {
        if self.iflag(f::IXON) && self.flow_char(c) {
            return;
        }
        if self.lflag(f::ISIG) {
            if let Some(s) = self.signal_of(c) {
                self.signal_char(s, c, sigs);
                return;
            }
        }
        self.ixany_restart();
        if c == b'\r' {
            if self.iflag(f::IGNCR) {
                return;
            }
            if self.iflag(f::ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && self.iflag(f::INLCR) {
            c = b'\r';
        }
        if self.icanon() && self.canon_char(c) {
            return;
        }
        self.normal_char(c, true);
    }

    fn signal_of(&self, c: u8) -> Option<u32> {
        if self.is_cc(c, f::VINTR) {
            Some(sig::SIGINT)
        } else if self.is_cc(c, f::VQUIT) {
            Some(sig::SIGQUIT)
        } else if self.is_cc(c, f::VSUSP) {
            Some(sig::SIGTSTP)
        } else {
            None
        }
    }

    /// `n_tty_receive_char_flow_ctrl`: `START` restarts output, `STOP` stops it.
    fn flow_char(&mut self, c: u8) -> bool {
        if self.is_cc(c, f::VSTART) {
            self.start();
            true
        } else if self.is_cc(c, f::VSTOP) {
            self.stop();
            true
        } else {
            false
        }
    }

    /// `start_tty`: restarts output unless `TCOOFF` stopped it.
    pub fn start(&mut self) {
        if self.stopped && !self.tco_stopped {
            self.stopped = false;
            self.flow_event = Some(false);
        }
    }

    /// `stop_tty`: stops output (a no-op if it already is).
    pub fn stop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            self.flow_event = Some(true);
        }
    }

    /// `IXANY`: any character restarts output stopped by `STOP`.
    fn ixany_restart(&mut self) {
        if self.iflag(f::IXON) && self.iflag(f::IXANY) {
            self.start();
        }
    }

    /// `n_tty_receive_signal_char` and `isig`: the signal, then (unless `NOFLSH`) flushing
    /// input and pending output, restarting output under `IXON`, and echoing the character
    /// (`^C` with `ECHOCTL`).
    fn signal_char(&mut self, s: u32, c: u8, sigs: &mut Vec<u32>) {
        sigs.push(s);
        if !self.lflag(f::NOFLSH) {
            self.flush_input();
            self.out.pending.clear();
            self.flush_events |= FLUSHED_INPUT | FLUSHED_OUTPUT;
        }
        if self.iflag(f::IXON) {
            self.start();
        }
        if self.lflag(f::ECHO) {
            self.echo_char(c);
        }
    }

    /// `n_tty_receive_char_canon`: the canonical-mode specials; false if `c` is ordinary.
    fn canon_char(&mut self, c: u8) -> bool {
        let iexten = self.lflag(f::IEXTEN);
        if self.is_cc(c, f::VERASE) || self.is_cc(c, f::VKILL) || (iexten && self.is_cc(c, f::VWERASE)) {
            self.eraser(c);
        } else if iexten && self.is_cc(c, f::VLNEXT) {
            self.start_lnext();
        } else if iexten && self.lflag(f::ECHO) && self.is_cc(c, f::VREPRINT) {
            self.reprint(c);
        } else if c == b'\n' {
            if self.lflag(f::ECHO) || self.lflag(f::ECHONL) {
                self.echo_raw(b'\n');
            }
            self.commit_line(Some(c));
        } else if self.is_cc(c, f::VEOF) {
            self.commit_line(None);
        } else if self.is_cc(c, f::VEOL) || (iexten && self.is_cc(c, f::VEOL2)) {
            if self.lflag(f::ECHO) {
                if self.edit.is_empty() {
                    self.out.set_canon_col();
                }
                self.echo_char(c);
            }
            self.commit_line(Some(c));
        } else {
            return false;
        }
        true
    }

    /// `LNEXT`: the next character is taken literally; `^` then backspace is echoed under it.
    fn start_lnext(&mut self) {
        self.lnext = true;
        if self.lflag(f::ECHO) {
            self.finish_erasing();
            if self.lflag(f::ECHOCTL) {
                self.echo_raw(b'^');
                self.echo_raw(8);
            }
        }
    }

    /// `REPRINT` (`^R`): echoes itself, a newline, then the line being edited.
    fn reprint(&mut self, c: u8) {
        self.finish_erasing();
        self.echo_char(c);
        self.echo_raw(b'\n');
        let line = std::mem::take(&mut self.edit);
        for &b in &line {
            self.echo_char(b);
        }
        self.edit = line;
    }

    /// An ordinary character: echoed (`^X` for controls under `ECHOCTL`) and queued. On the
    /// special path a `\n` echoes as a newline; on the fast path Linux echoes it as any other
    /// control (`^J`). With no room left it is dropped with a bell.
    fn normal_char(&mut self, c: u8, special: bool) {
        if !self.has_room() {
            if self.lflag(f::ECHO) {
                self.echo_raw(7);
            }
            return;
        }
        if self.lflag(f::ECHO) {
            self.finish_erasing();
            if special && c == b'\n' {
                self.echo_raw(b'\n');
            } else {
                if self.line_is_empty() {
                    self.out.set_canon_col();
                }
                self.echo_char(c);
            }
        }
        if self.icanon() {
            self.edit.push(c);
        } else {
            self.raw.push_back(c);
        }
    }

    fn line_is_empty(&self) -> bool {
        if self.icanon() {
            self.edit.is_empty()
        } else {
            self.raw.is_empty()
        }
    }

    /// Room for one more ordinary character (4095 bytes, keeping one for a line end).
    fn has_room(&self) -> bool {
        self.queued() < N_TTY_BUF_SIZE - 1
    }

    /// Ends the line being edited: with `term` (`\n`, `EOL`, `EOL2`) appended, or as an `EOF`
    /// (`term` None) which is not stored, so a read returns the line without it — or 0 bytes
    /// at the start of a line (`n_tty_receive_handle_newline`, `canon_copy_from_read_buf`).
    fn commit_line(&mut self, term: Option<u8>) {
        if self.queued() >= N_TTY_BUF_SIZE {
            return;
        }
        let mut bytes = std::mem::take(&mut self.edit);
        bytes.extend(term);
        self.lines_len += bytes.len();
        self.lines.push_back(Line { bytes, pos: 0 });
    }

    // -----------------------------------------------------------------------------------------
    // Erase

    /// `eraser`: `ERASE` removes one character, `WERASE` a word (BSD `ALTWERASE`: trailing
    /// non-alphanumerics, then alphanumerics and `_`), `KILL` the line; each echoes as Linux
    /// does (`\b \b` per column under `ECHOE`, the erase character itself without it, `\`…`/`
    /// under `ECHOPRT`, the kill character and a newline under `ECHOK` without `ECHOKE`).
    fn eraser(&mut self, c: u8) {
        if self.edit.is_empty() {
            return;
        }
        let kind = if self.is_cc(c, f::VERASE) {
            Kill::Erase
        } else if self.is_cc(c, f::VWERASE) {
            Kill::Werase
        } else {
            Kill::Line
        };
        if kind == Kill::Line && self.kill_line_simply(c) {
            return;
        }
        let mut seen_alnums = 0;
        while let Some(head) = self.last_char_start() {
            let lead = self.edit[head];
            if kind == Kill::Werase {
                if is_alnum(lead) || lead == b'_' {
                    seen_alnums += 1;
                } else if seen_alnums > 0 {
                    break;
                }
            }
            let erased: Vec<u8> = self.edit.drain(head..).collect();
            if self.lflag(f::ECHO) {
                self.echo_erase(kind, &erased);
            }
            if kind == Kill::Erase {
                break;
            }
        }
        if self.edit.is_empty() && self.lflag(f::ECHO) {
            self.finish_erasing();
        }
    }

    /// `KILL` without the per-character echo: silently without `ECHO`; echoing the kill
    /// character (and a newline under `ECHOK`) unless all of `ECHOK`, `ECHOKE`, `ECHOE` are set.
    fn kill_line_simply(&mut self, c: u8) -> bool {
        if !self.lflag(f::ECHO) {
            self.edit.clear();
            return true;
        }
        if self.lflag(f::ECHOK) && self.lflag(f::ECHOKE) && self.lflag(f::ECHOE) {
            return false;
        }
        self.edit.clear();
        self.finish_erasing();
        self.echo_char(c);
        if self.lflag(f::ECHOK) {
            self.echo_raw(b'\n');
        }
        true
    }

    /// Where the last whole character of the edited line starts (`None` if the line is empty
    /// or only a partial UTF-8 sequence would be erased).
    fn last_char_start(&self) -> Option<usize> {
        let iutf8 = self.iflag(f::IUTF8);
        let mut head = self.edit.len().checked_sub(1)?;
        while head > 0 && is_continuation(self.edit[head], iutf8) {
            head -= 1;
        }
        (!is_continuation(self.edit[head], iutf8)).then_some(head)
    }

    fn echo_erase(&mut self, kind: Kill, erased: &[u8]) {
        let Some((&c, rest)) = erased.split_first() else { return };
        let iutf8 = self.iflag(f::IUTF8);
        if self.lflag(f::ECHOPRT) {
            if !self.erasing {
                self.echo_raw(b'\\');
                self.erasing = true;
            }
            self.echo_char(c);
            for &b in rest {
                self.echo_raw(b);
                self.out.move_back_col();
            }
        } else if kind == Kill::Erase && !self.lflag(f::ECHOE) {
            self.echo_char(self.cc(f::VERASE));
        } else if c == b'\t' {
            let (num_chars, after_tab) = self.tab_columns();
            self.out.erase_tab(num_chars, after_tab);
        } else {
            let ctl = is_cntrl(c, iutf8);
            let echoctl = self.lflag(f::ECHOCTL);
            if ctl && echoctl {
                self.echo_bs_space_bs();
            }
            if !ctl || echoctl {
                self.echo_bs_space_bs();
            }
        }
    }

    /// The columns used since the previous tab (true) or the line start (false), for erasing a
    /// tab.
    fn tab_columns(&self) -> (usize, bool) {
        let iutf8 = self.iflag(f::IUTF8);
        let mut n = 0;
        for &b in self.edit.iter().rev() {
            if b == b'\t' {
                return (n, true);
            } else if is_cntrl(b, iutf8) {
                if self.lflag(f::ECHOCTL) {
                    n += 2;
                }
            } else if !is_continuation(b, iutf8) {
                n += 1;
            }
        }
        (n, false)
    }

    fn echo_bs_space_bs(&mut self) {
        for b in [8, b' ', 8] {
            self.echo_raw(b);
        }
    }

    /// Ends an `ECHOPRT` erase run with `/`.
    fn finish_erasing(&mut self) {
        if self.erasing {
            self.echo_raw(b'/');
            self.erasing = false;
        }
    }

    // -----------------------------------------------------------------------------------------
    // Echo

    /// `echo_char`: a control character other than tab as `^X` under `ECHOCTL`, else through
    /// output processing.
    fn echo_char(&mut self, c: u8) {
        if self.lflag(f::ECHOCTL) && is_cntrl(c, self.iflag(f::IUTF8)) && c != b'\t' {
            self.out.put_ctl(c);
        } else {
            self.echo_raw(c);
        }
    }

    /// `echo_char_raw`: through output processing.
    fn echo_raw(&mut self, c: u8) {
        let t = self.termios;
        self.out.put(&t, c);
    }

    // -----------------------------------------------------------------------------------------
    // Buffers

    /// Bytes held: committed lines, the edited line and non-canonical input.
    pub fn queued(&self) -> usize {
        self.lines_len + self.edit.len() + self.raw.len()
    }

    /// How many more input bytes fit (the input pump reads at most this many from the host).
    /// In canonical mode with no complete line at least 1, so erase and newline always get
    /// through (`n_tty_receive_buf_common`'s overflow rule).
    pub fn room(&self) -> usize {
        let free = (N_TTY_BUF_SIZE - 1).saturating_sub(self.queued());
        if self.icanon() && self.lines.is_empty() {
            free.max(1)
        } else {
            free
        }
    }

    /// A complete canonical line (or an `EOF`) can be read.
    pub fn canon_ready(&self) -> bool {
        !self.lines.is_empty()
    }

    /// Bytes readable in non-canonical mode.
    pub fn raw_len(&self) -> usize {
        self.raw.len()
    }

    /// `TIOCINQ`/`FIONREAD`: bytes a read could return (`inq_canon` in canonical mode:
    /// committed lines without their `EOF` markers).
    pub fn inq(&self) -> usize {
        if self.icanon() {
            self.lines_len
        } else {
            self.raw.len()
        }
    }

    /// Reads at most one canonical line (`canon_copy_from_read_buf`): `None` if no line is
    /// complete, `Some(0)` for an `EOF` at the start of a line.
    pub fn read_canon(&mut self, buf: &mut [u8]) -> Option<usize> {
        let line = self.lines.front_mut()?;
        let n = line.remaining().min(buf.len());
        buf[..n].copy_from_slice(&line.bytes[line.pos..line.pos + n]);
        line.pos += n;
        self.lines_len -= n;
        if line.remaining() == 0 {
            self.lines.pop_front();
        }
        Some(n)
    }

    /// Reads non-canonical bytes (`copy_from_read_buf`): as many as fit.
    pub fn read_raw(&mut self, buf: &mut [u8]) -> usize {
        let n = self.raw.len().min(buf.len());
        for (d, s) in buf.iter_mut().zip(self.raw.drain(..n)) {
            *d = s;
        }
        n
    }

    /// Host input ended: a partly typed canonical line becomes readable (as a script's last
    /// line without a newline would be through `^D`).
    pub fn push_partial_line(&mut self) {
        if self.icanon() && !self.edit.is_empty() {
            self.commit_line(None);
        }
    }

    /// `n_tty_flush_buffer`/`reset_buffer_flags`: discards all input.
    pub fn flush_input(&mut self) {
        self.lines.clear();
        self.lines_len = 0;
        self.edit.clear();
        self.raw.clear();
        self.erasing = false;
    }

    /// `n_tty_set_termios`: installs `new`, converting the buffers when `ICANON` changes and
    /// restarting output when `IXON` is turned off while stopped by `STOP`.
    pub fn set_termios(&mut self, new: Termios) {
        let old = self.termios;
        self.termios = new;
        if (old.c_lflag ^ new.c_lflag) & f::ICANON != 0 {
            self.convert_buffers();
            self.erasing = false;
            self.lnext = false;
        }
        if !self.iflag(f::IXON) && old.c_iflag & f::IXON != 0 {
            self.start();
        }
    }

    fn convert_buffers(&mut self) {
        if self.icanon() {
            if !self.raw.is_empty() {
                let bytes: Vec<u8> = self.raw.drain(..).collect();
                self.lines_len += bytes.len();
                self.lines.push_back(Line { bytes, pos: 0 });
            }
            return;
        }
        for line in self.lines.drain(..) {
            self.raw.extend(&line.bytes[line.pos..]);
        }
        self.lines_len = 0;
        self.raw.extend(self.edit.drain(..));
    }
}
