//! Output processing (`OPOST`) and the column the cursor is at, as Linux's `do_output_char`
//! and the echo operations of `process_echoes` (`drivers/tty/n_tty.c`). Bytes are appended to
//! a buffer the tty hands to its sink once its lock is released.

use uapi::flags as f;
use uapi::structs::Termios;

use super::termios::{is_continuation, Modes};

/// The cursor column as the line discipline tracks it, and the pending output bytes.
#[derive(Default, Debug)]
pub struct Output {
    /// `ldata->column`: where the next character lands.
    pub column: usize,
    /// `ldata->canon_column`: the column the current input line started at (tab erasure
    /// measures from it).
    pub canon_column: usize,
    /// Bytes not yet given to the sink (held while output is stopped by `^S`/`TCOOFF`).
    pub pending: Vec<u8>,
}

/// At most this many bytes wait while output is stopped; further echoes are dropped (Linux's
/// echo buffer is `N_TTY_BUF_SIZE` too).
const MAX_HELD: usize = 4096;

impl Output {
    /// Writes `data` as `write(2)` to the tty does: through [`Output::put`] when `OPOST` is set,
    /// raw otherwise (`n_tty_write`).
    pub fn write(&mut self, t: &Termios, data: &[u8]) {
        if !t.oflag(f::OPOST) {
            self.pending.extend_from_slice(data);
            return;
        }
        for &c in data {
            self.put(t, c);
        }
    }

    /// Writes what fits of `data` when at most `room` bytes of output may be pending (the
    /// driver's room; `usize::MAX`: all of it); returns how many input bytes were taken. A
    /// byte is taken only if its worst expansion fits (`\n` → 2 bytes, a tab under `XTABS` 8).
    pub fn write_limited(&mut self, t: &Termios, data: &[u8], room: usize) -> usize {
        if room == usize::MAX {
            self.write(t, data);
            return data.len();
        }
        let mut taken = 0;
        for &c in data {
            let worst = if !t.oflag(f::OPOST) {
                1
            } else if c == b'\t' {
                8
            } else if c == b'\n' {
                2
            } else {
                1
            };
            if self.pending.len().saturating_add(worst) > room {
                break;
            }
            self.put(t, c);
            taken += 1;
        }
        taken
    }

    /// One character with `OPOST` processing (`do_output_char`): `ONLCR` (`\n` → `\r\n`),
    /// `OCRNL`, `ONOCR`, `ONLRET`, `XTABS`, `OLCUC`, and column tracking (UTF-8 continuation
    /// bytes take no column under `IUTF8`). Without `OPOST` the byte goes out as is.
    pub fn put(&mut self, t: &Termios, c: u8) {
        if !t.oflag(f::OPOST) {
            self.pending.push(c);
            return;
        }
        match c {
            b'\n' => self.newline(t),
            b'\r' => self.carriage_return(t),
            b'\t' => self.tab(t),
            8 => {
                self.column = self.column.saturating_sub(1);
                self.pending.push(c);
            }
            _ => self.plain(t, c),
        }
    }

    fn newline(&mut self, t: &Termios) {
        if t.oflag(f::ONLRET) {
            self.column = 0;
        }
        if t.oflag(f::ONLCR) {
            self.column = 0;
            self.canon_column = 0;
            self.pending.extend_from_slice(b"\r\n");
            return;
        }
        self.canon_column = self.column;
        self.pending.push(b'\n');
    }

    fn carriage_return(&mut self, t: &Termios) {
        if t.oflag(f::ONOCR) && self.column == 0 {
            return;
        }
        if t.oflag(f::OCRNL) {
            if t.oflag(f::ONLRET) {
                self.column = 0;
                self.canon_column = 0;
            }
            self.pending.push(b'\n');
            return;
        }
        self.column = 0;
        self.canon_column = 0;
        self.pending.push(b'\r');
    }

    fn tab(&mut self, t: &Termios) {
        let spaces = 8 - (self.column & 7);
        self.column += spaces;
        if t.c_oflag & f::TABDLY == f::XTABS {
            self.pending.extend(std::iter::repeat_n(b' ', spaces));
        } else {
            self.pending.push(b'\t');
        }
    }

    fn plain(&mut self, t: &Termios, mut c: u8) {
        let iutf8 = t.iflag(f::IUTF8);
        if !super::termios::is_cntrl(c, iutf8) {
            if t.oflag(f::OLCUC) {
                c = c.to_ascii_uppercase();
            }
            if !is_continuation(c, iutf8) {
                self.column += 1;
            }
        }
        self.pending.push(c);
    }

    /// A control character echoed as `^X` (`ECHO_OP_START` + char): two columns, no `OPOST`.
    pub fn put_ctl(&mut self, c: u8) {
        self.pending.extend_from_slice(&[b'^', c ^ 0o100]);
        self.column += 2;
    }

    /// `ECHO_OP_SET_CANON_COL`: the input line starts here.
    pub fn set_canon_col(&mut self) {
        self.canon_column = self.column;
    }

    /// `ECHO_OP_MOVE_BACK_COL`: one column back without output.
    pub fn move_back_col(&mut self) {
        self.column = self.column.saturating_sub(1);
    }

    /// `ECHO_OP_ERASE_TAB`: backspaces over a tab. `num_chars` is the width of what follows the
    /// previous tab (`after_tab`) or the line start, which is offset by the canonical column.
    pub fn erase_tab(&mut self, num_chars: usize, after_tab: bool) {
        let n = if after_tab { num_chars } else { num_chars + self.canon_column };
        let num_bs = 8 - (n & 7);
        for _ in 0..num_bs {
            self.pending.push(8);
            self.column = self.column.saturating_sub(1);
        }
    }

    /// Drops pending output beyond what may wait while output is stopped.
    pub fn trim_held(&mut self) {
        self.pending.truncate(MAX_HELD);
    }
}
