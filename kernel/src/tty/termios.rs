//! Terminal settings: Linux's defaults (`tty_std_termios`), the console's variant, flag tests,
//! the kernel's `ctype` rules the line discipline uses, and `CBAUD` speeds.

use uapi::flags as f;
use uapi::structs::{Termios, Termios2};

/// `N_TTY_BUF_SIZE`: the read buffer; a canonical line holds at most 4095 characters plus its
/// terminator, non-canonical input at most 4095 bytes.
pub const N_TTY_BUF_SIZE: usize = 4096;

/// `_POSIX_VDISABLE` on Linux: a `c_cc` slot holding 0 is disabled.
pub const DISABLED_CHAR: u8 = 0;

/// `INIT_C_CC` (`include/linux/tty.h`): INTR ^C, QUIT ^\, ERASE DEL, KILL ^U, EOF ^D, TIME 0,
/// MIN 1, SWTC 0, START ^Q, STOP ^S, SUSP ^Z, EOL 0, REPRINT ^R, DISCARD ^O, WERASE ^W,
/// LNEXT ^V, EOL2 0.
const INIT_C_CC: [u8; 17] = [0o3, 0o34, 0o177, 0o25, 0o4, 0, 1, 0, 0o21, 0o23, 0o32, 0, 0o22, 0o17, 0o27, 0o26, 0];

/// Linux's `tty_std_termios` (`drivers/tty/tty_io.c`): `ICRNL|IXON`, `OPOST|ONLCR`,
/// `B38400|CS8|CREAD|HUPCL`, `ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN`, `INIT_C_CC`.
pub fn std_termios() -> Termios {
    let mut t = Termios {
        c_iflag: f::ICRNL | f::IXON,
        c_oflag: f::OPOST | f::ONLCR,
        c_cflag: f::B38400 | f::CS8 | f::CREAD | f::HUPCL,
        c_lflag: f::ISIG | f::ICANON | f::ECHO | f::ECHOE | f::ECHOK | f::ECHOCTL | f::ECHOKE | f::IEXTEN,
        c_line: f::N_TTY,
        c_cc: [0; uapi::structs::NCCS],
    };
    t.c_cc[..INIT_C_CC.len()].copy_from_slice(&INIT_C_CC);
    t
}

/// The console's initial settings: [`std_termios`], except that `ECHO` starts off when the
/// host's stdin is not a terminal (piped input is a script, not typing: echoing it would
/// duplicate it in the output) and `ONLCR` starts off when the host's stdout is not a
/// terminal (captured output keeps plain `\n` line ends, as a pipe would). A guest's `stty`
/// changes either as on Linux.
pub fn console_termios(stdin_is_tty: bool, stdout_is_tty: bool) -> Termios {
    let mut t = std_termios();
    if !stdin_is_tty {
        t.c_lflag &= !f::ECHO;
    }
    if !stdout_is_tty {
        t.c_oflag &= !f::ONLCR;
    }
    t
}

/// Flag tests over a `Termios`, named as Linux's `I_*`/`O_*`/`L_*` macros.
pub trait Modes {
    /// The termios.
    fn t(&self) -> &Termios;
    /// `c_iflag & flag`.
    fn iflag(&self, flag: u32) -> bool {
        self.t().c_iflag & flag != 0
    }
    /// `c_oflag & flag`.
    fn oflag(&self, flag: u32) -> bool {
        self.t().c_oflag & flag != 0
    }
    /// `c_lflag & flag`.
    fn lflag(&self, flag: u32) -> bool {
        self.t().c_lflag & flag != 0
    }
    /// The control character in slot `idx` (`V*`).
    fn cc(&self, idx: usize) -> u8 {
        self.t().c_cc.get(idx).copied().unwrap_or(DISABLED_CHAR)
    }
    /// True if `c` is the enabled control character in slot `idx` (a 0 slot never matches).
    fn is_cc(&self, c: u8, idx: usize) -> bool {
        let v = self.cc(idx);
        v != DISABLED_CHAR && c == v
    }
}

impl Modes for Termios {
    fn t(&self) -> &Termios {
        self
    }
}

/// The kernel's `iscntrl` (`lib/ctype.c`, Latin-1): 0–31, 127 and 128–159. Under `IUTF8` the
/// 128–159 range is UTF-8 continuation bytes, not controls, so it is not echoed as `^X`.
pub fn is_cntrl(c: u8, iutf8: bool) -> bool {
    c < 0x20 || c == 0x7f || (!iutf8 && (0x80..0xa0).contains(&c))
}

/// The kernel's `isalnum` (Latin-1 letters count), used by `WERASE`.
pub fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric() || (c >= 0xc0 && c != 0xd7 && c != 0xf7)
}

/// `is_continuation`: a UTF-8 continuation byte when `IUTF8` is set.
pub fn is_continuation(c: u8, iutf8: bool) -> bool {
    iutf8 && (c & 0xc0) == 0x80
}

/// The speed a `CBAUD` code stands for (`tty_termios_baud_rate`'s table); `None` for `BOTHER`.
fn code_speed(code: u32) -> Option<u32> {
    const LOW: [u32; 16] = [0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400];
    const HIGH: [u32; 15] =
        [57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000];
    if code & f::CBAUDEX == 0 {
        return LOW.get(code as usize).copied();
    }
    let i = (code & !f::CBAUDEX) as usize;
    if i == 0 {
        return None;
    }
    HIGH.get(i - 1).copied()
}

/// The (input, output) speeds of `t`, reading `c_ispeed`/`c_ospeed` of `t2` for `BOTHER`
/// (`tty_termios_input_baud_rate`/`tty_termios_baud_rate`; an input code of `B0` means "same
/// as output").
pub fn speeds(t: &Termios, t2_speeds: (u32, u32)) -> (u32, u32) {
    let ocode = t.c_cflag & f::CBAUD;
    let ospeed = code_speed(ocode).unwrap_or(t2_speeds.1);
    let icode = (t.c_cflag >> 16) & f::CBAUD;
    let ispeed = if icode == f::B0 { ospeed } else { code_speed(icode).unwrap_or(t2_speeds.0) };
    (ispeed, ospeed)
}

/// A `termios2` for `TCGETS2`.
pub fn to_termios2(t: &Termios, stored: (u32, u32)) -> Termios2 {
    let (i, o) = speeds(t, stored);
    Termios2::from_termios(t, i, o)
}

/// The old `struct termio` (`TCGETA`): 16-bit flag words, `c_line` at 8, 8 control characters
/// at 9, padded to 18 bytes.
pub const TERMIO_SIZE: usize = 18;
/// `NCC`: control characters in a `struct termio`.
const NCC: usize = 8;

/// Encodes `t` as a `struct termio` (`kernel_termios_to_user_termio`).
pub fn to_termio(t: &Termios) -> [u8; TERMIO_SIZE] {
    let mut b = [0u8; TERMIO_SIZE];
    for (i, v) in [t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag].into_iter().enumerate() {
        b[i * 2..i * 2 + 2].copy_from_slice(&(v as u16).to_le_bytes());
    }
    b[8] = t.c_line;
    b[9..9 + NCC].copy_from_slice(&t.c_cc[..NCC]);
    b
}

/// Applies a `struct termio` over `t` (`user_termio_to_kernel_termios`: the low 16 bits of
/// each flag word and the first 8 control characters change, the rest is kept).
pub fn apply_termio(t: &Termios, b: &[u8; TERMIO_SIZE]) -> Termios {
    let word = |i: usize| u32::from(u16::from_le_bytes([b[i * 2], b[i * 2 + 1]]));
    let mut n = *t;
    n.c_iflag = (t.c_iflag & 0xffff_0000) | word(0);
    n.c_oflag = (t.c_oflag & 0xffff_0000) | word(1);
    n.c_cflag = (t.c_cflag & 0xffff_0000) | word(2);
    n.c_lflag = (t.c_lflag & 0xffff_0000) | word(3);
    n.c_line = b[8];
    n.c_cc[..NCC].copy_from_slice(&b[9..9 + NCC]);
    n
}
