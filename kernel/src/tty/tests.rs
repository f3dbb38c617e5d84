//! Line discipline tests: echo bytes and read results compared with what Linux's N_TTY
//! produces for the same input and settings.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytemuck::Pod;
use fs::{FileLike, PollEvents};
use uapi::flags as f;
use uapi::signal as sig;
use uapi::structs::{Termios, Termios2, WinSize};
use uapi::{Errno, KResult};

use super::termios::{console_termios, std_termios};
use super::{Ctty, Tty, TtyCaller};

type Captured = Arc<Mutex<Vec<u8>>>;

fn tty_with(t: Termios) -> (Arc<Tty>, Captured) {
    let out: Captured = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    let tty = Tty::new(t, WinSize::default(), Box::new(move |b| {
        sink.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(b);
        Ok(())
    }));
    (tty, out)
}

fn tty() -> (Arc<Tty>, Captured) {
    tty_with(std_termios())
}

fn take(out: &Captured) -> Vec<u8> {
    std::mem::take(&mut *out.lock().unwrap())
}

fn read_all(tty: &Tty) -> KResult<Vec<u8>> {
    let mut buf = [0u8; 256];
    let n = tty.read(&mut buf, 0)?;
    Ok(buf[..n].to_vec())
}

fn noncanon(vmin: u8, vtime: u8) -> Termios {
    let mut t = std_termios();
    t.c_lflag &= !(f::ICANON | f::ECHO);
    t.c_cc[f::VMIN] = vmin;
    t.c_cc[f::VTIME] = vtime;
    t
}

// ---------------------------------------------------------------------------------------------
// Canonical mode

#[test]
fn canonical_line_with_echo_and_icrnl_onlcr() {
    let (t, out) = tty();
    t.input(b"hello");
    assert_eq!(read_all(&t), Err(Errno::EAGAIN));
    assert!(!t.poll().contains(PollEvents::POLLIN));
    t.input(b"\r");
    assert_eq!(take(&out), b"hello\r\n");
    assert!(t.poll().contains(PollEvents::POLLIN));
    assert_eq!(read_all(&t).unwrap(), b"hello\n");
    assert_eq!(read_all(&t), Err(Errno::EAGAIN));
}

#[test]
fn one_line_per_read_and_partial_reads() {
    let (t, _) = tty();
    t.input(b"ab\ncd\n");
    let mut b = [0u8; 1];
    assert_eq!(t.read(&mut b, 0), Ok(1));
    assert_eq!(&b, b"a");
    assert_eq!(read_all(&t).unwrap(), b"b\n");
    assert_eq!(read_all(&t).unwrap(), b"cd\n");
}

#[test]
fn erase_echoes_backspace_space_backspace() {
    let (t, out) = tty();
    t.input(b"abc\x7f");
    assert_eq!(take(&out), b"abc\x08 \x08");
    t.input(b"\n");
    assert_eq!(read_all(&t).unwrap(), b"ab\n");
}

#[test]
fn erase_at_line_start_does_nothing() {
    let (t, out) = tty();
    t.input(b"\x7f\x7f");
    assert!(take(&out).is_empty());
}

#[test]
fn erase_control_char_takes_two_columns_with_echoctl() {
    let (t, out) = tty();
    t.input(b"a\x01\x7f");
    assert_eq!(take(&out), b"a^A\x08 \x08\x08 \x08");
}

#[test]
fn erase_without_echoe_echoes_the_erase_char() {
    let mut tm = std_termios();
    tm.c_lflag &= !f::ECHOE;
    let (t, out) = tty_with(tm);
    t.input(b"ab\x7f");
    assert_eq!(take(&out), b"ab^?");
}

#[test]
fn werase_erases_a_word_and_trailing_blanks() {
    let (t, out) = tty();
    t.input(b"foo bar\x17");
    let bs = b"\x08 \x08".repeat(3);
    assert_eq!(take(&out), [b"foo bar".as_slice(), &bs].concat());
    t.input(b"\x17");
    assert_eq!(take(&out), b"\x08 \x08".repeat(4));
    t.input(b"x\n");
    assert_eq!(read_all(&t).unwrap(), b"x\n");
}

#[test]
fn kill_erases_the_line() {
    let (t, out) = tty();
    t.input(b"abc\x15");
    assert_eq!(take(&out), [b"abc".as_slice(), &b"\x08 \x08".repeat(3)].concat());
    t.input(b"z\n");
    assert_eq!(read_all(&t).unwrap(), b"z\n");
}

#[test]
fn kill_without_echoke_echoes_kill_char_and_newline() {
    let mut tm = std_termios();
    tm.c_lflag &= !f::ECHOKE;
    let (t, out) = tty_with(tm);
    t.input(b"abc\x15");
    assert_eq!(take(&out), b"abc^U\r\n");
}

#[test]
fn erase_tab_goes_back_to_the_tab_stop() {
    let (t, out) = tty();
    t.write(b"$ ", 0).unwrap();
    t.input(b"\t\x7f");
    // The tab from column 2 reaches 8; erasing it goes back 6 columns (canon column 2).
    assert_eq!(take(&out), [b"$ \t".as_slice(), &[8u8; 6]].concat());
}

#[test]
fn erase_utf8_character_whole_under_iutf8() {
    let mut tm = std_termios();
    tm.c_iflag |= f::IUTF8;
    let (t, out) = tty_with(tm);
    t.input("é".as_bytes());
    t.input(b"\x7f\n");
    assert_eq!(take(&out), ["é".as_bytes(), b"\x08 \x08\r\n"].concat());
    assert_eq!(read_all(&t).unwrap(), b"\n");
}

#[test]
fn echoprt_prints_erased_chars_between_backslash_and_slash() {
    let mut tm = std_termios();
    tm.c_lflag |= f::ECHOPRT;
    let (t, out) = tty_with(tm);
    t.input(b"ab\x7f\x7fc");
    assert_eq!(take(&out), b"ab\\ba/c");
}

#[test]
fn eof_returns_pending_line_then_zero_at_line_start() {
    let (t, out) = tty();
    t.input(b"abc\x04");
    assert!(take(&out) == b"abc", "^D is not echoed");
    assert_eq!(read_all(&t).unwrap(), b"abc");
    assert_eq!(read_all(&t), Err(Errno::EAGAIN));
    t.input(b"\x04");
    assert_eq!(read_all(&t).unwrap(), b"");
    assert_eq!(read_all(&t), Err(Errno::EAGAIN));
}

#[test]
fn eof_marker_eaten_when_buffer_filled_exactly() {
    let (t, _) = tty();
    t.input(b"abc\x04");
    let mut b = [0u8; 3];
    assert_eq!(t.read(&mut b, 0), Ok(3));
    assert_eq!(read_all(&t), Err(Errno::EAGAIN));
}

#[test]
fn lnext_quotes_the_next_character() {
    let (t, out) = tty();
    t.set_foreground_pgrp(9);
    assert!(t.input(b"\x16\x03\n").is_empty());
    assert_eq!(take(&out), b"^\x08^C\r\n");
    assert_eq!(read_all(&t).unwrap(), b"\x03\n");
}

#[test]
fn reprint_echoes_the_line_again() {
    let (t, out) = tty();
    t.input(b"ab\x12");
    assert_eq!(take(&out), b"ab^R\r\nab");
}

#[test]
fn echonl_echoes_newline_without_echo() {
    let mut tm = std_termios();
    tm.c_lflag &= !f::ECHO;
    tm.c_lflag |= f::ECHONL;
    let (t, out) = tty_with(tm);
    t.input(b"secret\n");
    assert_eq!(take(&out), b"\r\n");
    assert_eq!(read_all(&t).unwrap(), b"secret\n");
}

#[test]
fn igncr_and_inlcr() {
    let mut tm = std_termios();
    tm.c_iflag |= f::IGNCR;
    let (t, _) = tty_with(tm);
    t.input(b"a\rb\n");
    assert_eq!(read_all(&t).unwrap(), b"ab\n");
    let mut tm = noncanon(1, 0);
    tm.c_iflag = f::INLCR;
    let (t, _) = tty_with(tm);
    t.input(b"\n");
    assert_eq!(read_all(&t).unwrap(), b"\r");
}

// ---------------------------------------------------------------------------------------------
// Signals

#[test]
fn intr_quit_susp_signal_the_foreground_group() {
    let (t, out) = tty();
    t.set_foreground_pgrp(42);
    t.input(b"abc");
    assert_eq!(t.input(b"\x03"), vec![(42, sig::SIGINT)]);
    assert_eq!(take(&out), b"abc^C");
    t.input(b"\n");
    assert_eq!(read_all(&t).unwrap(), b"\n", "input flushed by ^C");
    assert_eq!(t.input(b"\x1c"), vec![(42, sig::SIGQUIT)]);
    assert_eq!(t.input(b"\x1a"), vec![(42, sig::SIGTSTP)]);
    assert_eq!(take(&out), b"\r\n^\\^Z");
}

#[test]
fn noflsh_keeps_input_and_no_pgrp_sends_nothing() {
    let mut tm = std_termios();
    tm.c_lflag |= f::NOFLSH;
    let (t, _) = tty_with(tm);
    assert!(t.input(b"ab\x03").is_empty(), "no foreground group: no signal");
    t.input(b"\n");
    assert_eq!(read_all(&t).unwrap(), b"ab\n");
}

#[test]
fn isig_off_passes_ctrl_c_through() {
    let mut tm = noncanon(1, 0);
    tm.c_lflag &= !f::ISIG;
    let (t, _) = tty_with(tm);
    t.set_foreground_pgrp(5);
    assert!(t.input(b"\x03").is_empty());
    assert_eq!(read_all(&t).unwrap(), b"\x03");
}

// ---------------------------------------------------------------------------------------------
// Non-canonical mode

#[test]
fn vmin1_vtime0_returns_what_is_there() {
    let (t, _) = tty_with(noncanon(1, 0));
    assert_eq!(read_all(&t), Err(Errno::EAGAIN));
    t.input(b"xyz");
    assert!(t.poll().contains(PollEvents::POLLIN));
    assert_eq!(read_all(&t).unwrap(), b"xyz");
}

#[test]
fn vmin0_vtime0_never_waits() {
    let (t, _) = tty_with(noncanon(0, 0));
    assert_eq!(read_all(&t).unwrap(), b"");
    t.input(b"q");
    assert_eq!(read_all(&t).unwrap(), b"q");
}

#[test]
fn vmin3_waits_for_three_bytes_or_a_short_buffer() {
    let (t, _) = tty_with(noncanon(3, 0));
    t.input(b"ab");
    assert_eq!(read_all(&t), Err(Errno::EAGAIN));
    assert!(!t.poll().contains(PollEvents::POLLIN));
    let mut two = [0u8; 2];
    assert_eq!(t.read(&mut two, 0), Ok(2), "min(VMIN, count) bytes suffice");
    t.input(b"cde");
    assert!(t.poll().contains(PollEvents::POLLIN));
    assert_eq!(read_all(&t).unwrap(), b"cde");
}

#[test]
fn vmin0_vtime_times_out_with_zero() {
    let (t, _) = tty_with(noncanon(0, 5));
    let t0 = Instant::now();
    let mut b = [0u8; 8];
    assert_eq!(t.read_at(&mut b, t0), Err(Errno::EAGAIN));
    assert_eq!(t.next_deadline(), Some(t0 + Duration::from_millis(500)));
    assert_eq!(t.read_at(&mut b, t0 + Duration::from_millis(400)), Err(Errno::EAGAIN));
    assert_eq!(t.read_at(&mut b, t0 + Duration::from_millis(600)), Ok(0));
    assert_eq!(t.next_deadline(), None);
}

#[test]
fn vmin_vtime_inter_byte_timer() {
    let (t, _) = tty_with(noncanon(4, 1));
    let t0 = Instant::now();
    let mut b = [0u8; 8];
    assert_eq!(t.read_at(&mut b, t0), Err(Errno::EAGAIN));
    assert_eq!(t.next_deadline(), None, "no timer before the first byte");
    t.input(b"a");
    let d = t.next_deadline().expect("timer runs after a byte");
    assert_eq!(t.read_at(&mut b, d - Duration::from_millis(1)), Err(Errno::EAGAIN));
    assert_eq!(t.read_at(&mut b, d), Ok(1));
}

#[test]
fn noncanonical_echo_of_controls() {
    let mut tm = noncanon(1, 0);
    tm.c_lflag |= f::ECHO;
    let (t, out) = tty_with(tm);
    t.input(b"a\r\x0a");
    // CR maps to NL on the special path (echoed as a newline); a typed ^J is echoed as ^J.
    assert_eq!(take(&out), b"a\r\n^J");
}

#[test]
fn switching_modes_keeps_typed_input() {
    let (t, _) = tty();
    t.input(b"ab");
    t.set_termios(noncanon(1, 0), false);
    assert_eq!(read_all(&t).unwrap(), b"ab");
    t.input(b"xy");
    t.set_termios(std_termios(), false);
    assert_eq!(read_all(&t).unwrap(), b"xy", "pushed as one chunk");
}

#[test]
fn input_room_and_overflow() {
    let (t, _) = tty_with(noncanon(1, 0));
    assert_eq!(t.input_room(), 4095);
    t.input(&[b'a'; 5000]);
    assert_eq!(t.input_room(), 0);
    let mut b = vec![0u8; 8192];
    assert_eq!(t.read(&mut b, 0), Ok(4095));
    let (t, _) = tty();
    t.input(&[b'a'; 5000]);
    assert_eq!(t.input_room(), 1, "canonical mode always takes an erase or newline");
    t.input(b"\n");
    assert_eq!(t.input_room(), 0);
    assert_eq!(t.read(&mut b, 0), Ok(4096));
}

#[test]
fn host_eof_pushes_partial_line_then_reads_zero() {
    let (t, _) = tty();
    t.input(b"ls");
    t.input_eof();
    assert!(t.poll().contains(PollEvents::POLLIN));
    assert_eq!(read_all(&t).unwrap(), b"ls");
    assert_eq!(read_all(&t).unwrap(), b"");
    assert_eq!(read_all(&t).unwrap(), b"");
}

// ---------------------------------------------------------------------------------------------
// Output and flow control

#[test]
fn onlcr_and_opost() {
    let (t, out) = tty();
    assert_eq!(t.write(b"a\nb", 0), Ok(3));
    assert_eq!(take(&out), b"a\r\nb");
    let mut tm = std_termios();
    tm.c_oflag &= !f::OPOST;
    t.set_termios(tm, false);
    t.write(b"a\nb", 0).unwrap();
    assert_eq!(take(&out), b"a\nb");
    tm.c_oflag = f::OPOST | f::XTABS | f::OCRNL;
    t.set_termios(tm, false);
    t.write(b"ab\tc\r", 0).unwrap();
    // The column is 1 from "b" (output without OPOST does not move it), so "ab" ends at 3
    // and the tab is 5 spaces.
    assert_eq!(take(&out), b"ab     c\n");
}

#[test]
fn stop_start_hold_echo_and_writes() {
    let (t, out) = tty();
    t.input(b"\x13");
    assert!(!t.poll().contains(PollEvents::POLLOUT));
    assert_eq!(t.write(b"x", 0), Err(Errno::EAGAIN));
    t.input(b"ab");
    assert!(take(&out).is_empty(), "echo waits while stopped");
    t.input(b"\x11");
    assert_eq!(take(&out), b"ab");
    assert_eq!(t.write(b"x", 0), Ok(1));
}

#[test]
fn console_defaults_follow_the_host() {
    let t = console_termios(false, false);
    assert_eq!(t.c_lflag & f::ECHO, 0);
    assert_eq!(t.c_oflag & f::ONLCR, 0);
    assert_eq!(console_termios(true, true), std_termios());
}

#[test]
fn pollee_wakes_a_reader_on_a_complete_line() {
    struct W(std::sync::atomic::AtomicUsize);
    impl fs::Waker for W {
        fn wake(&self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let (t, _) = tty();
    let w = Arc::new(W(Default::default()));
    let dw: Arc<dyn fs::Waker> = w.clone();
    t.pollee().expect("pollee").register(Arc::downgrade(&dw), PollEvents::POLLIN);
    t.input(b"ab");
    t.input(b"\n");
    assert!(w.0.load(std::sync::atomic::Ordering::Relaxed) >= 1);
}

// ---------------------------------------------------------------------------------------------
// ioctls

/// Guest memory: one page at 0x1000.
struct Mem(Vec<u8>);

const BASE: u64 = 0x1000;

impl Mem {
    fn new() -> Self {
        Mem(vec![0; 4096])
    }
    fn range(&self, addr: u64, len: usize) -> KResult<std::ops::Range<usize>> {
        let off = usize::try_from(addr.checked_sub(BASE).ok_or(Errno::EFAULT)?).map_err(|_| Errno::EFAULT)?;
        let end = off.checked_add(len).filter(|&e| e <= self.0.len()).ok_or(Errno::EFAULT)?;
        Ok(off..end)
    }
}

impl fs::UserMemory for Mem {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> KResult<()> {
        let r = self.range(addr, buf.len())?;
        buf.copy_from_slice(&self.0[r]);
        Ok(())
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> KResult<()> {
        let r = self.range(addr, data.len())?;
        self.0[r].copy_from_slice(data);
        Ok(())
    }
}

fn ioctl_get<T: Pod>(t: &Tty, cmd: u32) -> KResult<T> {
    let mut m = Mem::new();
    t.ioctl(cmd, BASE, &mut m)?;
    let mut v = T::zeroed();
    fs::UserMemory::read(&mut m, BASE, bytemuck::bytes_of_mut(&mut v))?;
    Ok(v)
}

fn ioctl_set<T: Pod>(t: &Tty, cmd: u32, v: &T) -> KResult<usize> {
    let mut m = Mem::new();
    fs::UserMemory::write(&mut m, BASE, bytemuck::bytes_of(v))?;
    t.ioctl(cmd, BASE, &mut m)
}

#[test]
fn tcgets_tcsets_round_trip() {
    let (t, _) = tty();
    let got: Termios = ioctl_get(&t, f::TCGETS).unwrap();
    assert_eq!(got, std_termios());
    assert_eq!(got.c_cc[f::VINTR], 3);
    assert_eq!(got.c_cc[f::VERASE], 0x7f);
    let raw = noncanon(1, 0);
    ioctl_set(&t, f::TCSETS, &raw).unwrap();
    assert_eq!(ioctl_get::<Termios>(&t, f::TCGETS).unwrap(), raw);
    let t2: Termios2 = ioctl_get(&t, f::TCGETS2).unwrap();
    assert_eq!((t2.c_ispeed, t2.c_ospeed), (38400, 38400));
    assert_eq!(t2.termios(), raw);
}

#[test]
fn tcsetsf_flushes_input_tcsets_does_not() {
    let (t, _) = tty();
    t.input(b"abc\n");
    ioctl_set(&t, f::TCSETS, &std_termios()).unwrap();
    assert_eq!(ioctl_get::<i32>(&t, f::FIONREAD).unwrap(), 4);
    ioctl_set(&t, f::TCSETSF, &std_termios()).unwrap();
    assert_eq!(ioctl_get::<i32>(&t, f::FIONREAD).unwrap(), 0);
}

#[test]
fn tcgeta_uses_the_old_termio_layout() {
    let (t, _) = tty();
    let mut m = Mem::new();
    t.ioctl(f::TCGETA, BASE, &mut m).unwrap();
    assert_eq!(u16::from_le_bytes([m.0[0], m.0[1]]) as u32, f::ICRNL | f::IXON);
    assert_eq!(m.0[9], 3, "c_cc[VINTR] at offset 9");
    m.0[6..8].copy_from_slice(&0u16.to_le_bytes());
    t.ioctl(f::TCSETA, BASE, &mut m).unwrap();
    assert_eq!(t.termios().c_lflag, 0);
}

#[test]
fn window_size_round_trip_and_sigwinch() {
    let (t, _) = tty();
    t.set_foreground_pgrp(7);
    let ws = WinSize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
    ioctl_set(&t, f::TIOCSWINSZ, &ws).unwrap();
    assert_eq!(ioctl_get::<WinSize>(&t, f::TIOCGWINSZ).unwrap(), ws);
    assert_eq!(t.take_signals(), vec![(7, sig::SIGWINCH)]);
    ioctl_set(&t, f::TIOCSWINSZ, &ws).unwrap();
    assert!(t.take_signals().is_empty(), "no signal without a change");
    let big = WinSize { ws_row: 50, ..ws };
    assert_eq!(t.set_window_size(big), vec![(7, sig::SIGWINCH)]);
}

#[test]
fn fionread_counts_complete_lines_only() {
    let (t, _) = tty();
    t.input(b"ab\ncd");
    assert_eq!(ioctl_get::<i32>(&t, f::FIONREAD).unwrap(), 3);
    t.input(b"\x04");
    assert_eq!(ioctl_get::<i32>(&t, f::FIONREAD).unwrap(), 5, "EOF markers are not counted");
    assert_eq!(ioctl_get::<i32>(&t, f::TIOCOUTQ).unwrap(), 0);
}

#[test]
fn tcflsh_and_tcxonc() {
    let (t, out) = tty();
    t.input(b"ab\n");
    let mut m = Mem::new();
    assert_eq!(t.ioctl(f::TCFLSH, 7, &mut m), Err(Errno::EINVAL));
    t.ioctl(f::TCFLSH, u64::from(f::TCIFLUSH), &mut m).unwrap();
    assert_eq!(read_all(&t), Err(Errno::EAGAIN));
    t.ioctl(f::TCXONC, u64::from(f::TCOOFF), &mut m).unwrap();
    assert_eq!(t.write(b"x", 0), Err(Errno::EAGAIN));
    t.input(b"\x11");
    assert_eq!(t.write(b"x", 0), Err(Errno::EAGAIN), "^Q does not undo TCOOFF");
    t.ioctl(f::TCXONC, u64::from(f::TCOON), &mut m).unwrap();
    take(&out);
    assert_eq!(t.write(b"x", 0), Ok(1));
    assert_eq!(t.ioctl(f::TCXONC, 9, &mut m), Err(Errno::EINVAL));
}

#[test]
fn misc_ioctls() {
    let (t, _) = tty();
    assert_eq!(ioctl_get::<i32>(&t, f::TIOCGETD).unwrap(), 0);
    assert_eq!(ioctl_get::<u32>(&t, f::TIOCGDEV).unwrap(), 0x501);
    let mut m = Mem::new();
    assert_eq!(t.ioctl(f::TIOCMGET, BASE, &mut m), Err(Errno::ENOTTY));
    assert_eq!(t.ioctl(f::TCGETS, 0x10, &mut m), Err(Errno::EFAULT));
    assert_eq!(t.ioctl(0x1234, BASE, &mut m), Err(Errno::ENOTTY));
}

// ---------------------------------------------------------------------------------------------
// Job control

#[derive(Default)]
struct Caller {
    pgrp: i32,
    sid: i32,
    leader: bool,
    ctty: Option<Ctty>,
    ignored: Vec<u32>,
    orphaned: bool,
    groups: Vec<(i32, i32)>,
    admin: bool,
    no_read: bool,
    kills: Vec<(i32, u32)>,
    events: Vec<&'static str>,
}

impl TtyCaller for Caller {
    fn pgrp(&self) -> i32 {
        self.pgrp
    }
    fn sid(&self) -> i32 {
        self.sid
    }
    fn is_session_leader(&self) -> bool {
        self.leader
    }
    fn ctty(&self) -> Ctty {
        self.ctty.unwrap_or(Ctty::This)
    }
    fn is_ignored(&self, s: u32) -> bool {
        self.ignored.contains(&s)
    }
    fn is_pgrp_orphaned(&self) -> bool {
        self.orphaned
    }
    fn session_of_pgrp(&self, pgrp: i32) -> Option<i32> {
        self.groups.iter().find(|g| g.0 == pgrp).map(|g| g.1)
    }
    fn capable_sys_admin(&self) -> bool {
        self.admin
    }
    fn opened_for_read(&self) -> bool {
        !self.no_read
    }
    fn kill_pgrp(&mut self, pgrp: i32, s: u32) {
        self.kills.push((pgrp, s));
    }
    fn set_ctty(&mut self) {
        self.events.push("set_ctty");
    }
    fn clear_ctty(&mut self) {
        self.events.push("clear_ctty");
    }
    fn clear_session_ctty(&mut self, _sid: i32) {
        self.events.push("clear_session_ctty");
    }
}

/// A tty owned by session 10 with foreground group 20.
fn owned_tty() -> Arc<Tty> {
    let (t, _) = tty();
    t.set_session(10, 20);
    t
}

#[test]
fn background_read_gets_sigttin_or_eio() {
    let t = owned_tty();
    let mut fg = Caller { pgrp: 20, sid: 10, ..Default::default() };
    assert_eq!(t.check_read(&mut fg), Ok(()));
    let mut bg = Caller { pgrp: 30, sid: 10, ..Default::default() };
    assert_eq!(t.check_read(&mut bg), Err(Errno::ERESTARTSYS));
    assert_eq!(bg.kills, vec![(30, sig::SIGTTIN)]);
    let mut ign = Caller { pgrp: 30, sid: 10, ignored: vec![sig::SIGTTIN], ..Default::default() };
    assert_eq!(t.check_read(&mut ign), Err(Errno::EIO));
    let mut orphan = Caller { pgrp: 30, sid: 10, orphaned: true, ..Default::default() };
    assert_eq!(t.check_read(&mut orphan), Err(Errno::EIO));
    let mut other = Caller { pgrp: 30, sid: 11, ctty: Some(Ctty::None), ..Default::default() };
    assert_eq!(t.check_read(&mut other), Ok(()), "not our controlling tty: no job control");
}

#[test]
fn background_write_needs_tostop() {
    let t = owned_tty();
    let mut bg = Caller { pgrp: 30, sid: 10, ..Default::default() };
    assert_eq!(t.check_write(&mut bg), Ok(()));
    let mut tm = t.termios();
    tm.c_lflag |= f::TOSTOP;
    t.set_termios(tm, false);
    assert_eq!(t.check_write(&mut bg), Err(Errno::ERESTARTSYS));
    assert_eq!(bg.kills, vec![(30, sig::SIGTTOU)]);
    let mut ign = Caller { pgrp: 30, sid: 10, ignored: vec![sig::SIGTTOU], ..Default::default() };
    assert_eq!(t.check_write(&mut ign), Ok(()), "SIGTTOU ignored: the write proceeds");
}

#[test]
fn background_tcsets_gets_sigttou() {
    let t = owned_tty();
    let mut bg = Caller { pgrp: 30, sid: 10, ..Default::default() };
    let mut m = Mem::new();
    fs::UserMemory::write(&mut m, BASE, bytemuck::bytes_of(&noncanon(1, 0))).unwrap();
    assert_eq!(t.ioctl_with(f::TCSETS, BASE, &mut m, &mut bg), Err(Errno::ERESTARTSYS));
    assert_eq!(t.termios(), std_termios());
    let mut fg = Caller { pgrp: 20, sid: 10, ..Default::default() };
    assert_eq!(t.ioctl_with(f::TCSETS, BASE, &mut m, &mut fg), Ok(0));
    assert_eq!(t.termios(), noncanon(1, 0));
}

#[test]
fn tiocspgrp_rules() {
    let t = owned_tty();
    let groups = vec![(20, 10), (21, 10), (99, 11)];
    let mut c = Caller { pgrp: 20, sid: 10, groups, ..Default::default() };
    let mut m = Mem::new();
    let mut set = |t: &Tty, c: &mut Caller, p: i32| {
        fs::UserMemory::write(&mut m, BASE, &p.to_le_bytes()).unwrap();
        t.ioctl_with(f::TIOCSPGRP, BASE, &mut m, c)
    };
    assert_eq!(set(&t, &mut c, -1), Err(Errno::EINVAL));
    assert_eq!(set(&t, &mut c, 55), Err(Errno::ESRCH));
    assert_eq!(set(&t, &mut c, 99), Err(Errno::EPERM));
    assert_eq!(set(&t, &mut c, 21), Ok(0));
    assert_eq!(t.foreground_pgrp(), 21);
    let mut stranger = Caller { pgrp: 5, sid: 5, ctty: Some(Ctty::Other), ..Default::default() };
    assert_eq!(set(&t, &mut stranger, 21), Err(Errno::ENOTTY));
    let mut m2 = Mem::new();
    assert_eq!(t.ioctl_with(f::TIOCGPGRP, BASE, &mut m2, &mut stranger), Err(Errno::ENOTTY));
    assert_eq!(t.ioctl_with(f::TIOCGPGRP, BASE, &mut m2, &mut c), Ok(0));
    assert_eq!(i32::from_le_bytes(m2.0[..4].try_into().unwrap()), 21);
    assert_eq!(t.ioctl_with(f::TIOCGSID, BASE, &mut m2, &mut c), Ok(0));
    assert_eq!(i32::from_le_bytes(m2.0[..4].try_into().unwrap()), 10);
}

#[test]
fn tiocsctty_rules() {
    let (t, _) = tty();
    let mut m = Mem::new();
    let mut child = Caller { pgrp: 3, sid: 2, ctty: Some(Ctty::None), ..Default::default() };
    assert_eq!(t.ioctl_with(f::TIOCSCTTY, 0, &mut m, &mut child), Err(Errno::EPERM), "not a session leader");
    let mut leader = Caller { pgrp: 2, sid: 2, leader: true, ctty: Some(Ctty::None), ..Default::default() };
    assert_eq!(t.ioctl_with(f::TIOCSCTTY, 0, &mut m, &mut leader), Ok(0));
    assert_eq!((t.session(), t.foreground_pgrp()), (2, 2));
    assert_eq!(leader.events, vec!["set_ctty"]);
    let mut other = Caller { pgrp: 8, sid: 8, leader: true, ctty: Some(Ctty::None), ..Default::default() };
    assert_eq!(t.ioctl_with(f::TIOCSCTTY, 0, &mut m, &mut other), Err(Errno::EPERM), "owned by session 2");
    let mut thief = Caller { pgrp: 8, sid: 8, leader: true, admin: true, ctty: Some(Ctty::None), ..Default::default() };
    assert_eq!(t.ioctl_with(f::TIOCSCTTY, 1, &mut m, &mut thief), Ok(0));
    assert_eq!(t.session(), 8);
    assert_eq!(thief.events, vec!["clear_session_ctty", "set_ctty"]);
}

#[test]
fn tiocnotty_by_leader_hangs_up_foreground() {
    let t = owned_tty();
    let mut m = Mem::new();
    let mut member = Caller { pgrp: 20, sid: 10, ..Default::default() };
    assert_eq!(t.ioctl_with(f::TIOCNOTTY, 0, &mut m, &mut member), Ok(0));
    assert_eq!(member.events, vec!["clear_ctty"]);
    assert_eq!(t.session(), 10);
    let mut leader = Caller { pgrp: 10, sid: 10, leader: true, ..Default::default() };
    assert_eq!(t.ioctl_with(f::TIOCNOTTY, 0, &mut m, &mut leader), Ok(0));
    assert_eq!(leader.kills, vec![(20, sig::SIGHUP), (20, sig::SIGCONT)]);
    assert_eq!(t.session(), 0);
    let mut none = Caller { ctty: Some(Ctty::None), ..Default::default() };
    assert_eq!(t.ioctl_with(f::TIOCNOTTY, 0, &mut m, &mut none), Err(Errno::ENOTTY));
}

#[test]
fn session_leader_exit_hangs_up_and_resets() {
    let t = owned_tty();
    t.set_termios(noncanon(1, 0), false);
    t.input(b"junk");
    assert!(t.session_leader_exit(99).is_empty());
    assert_eq!(t.session_leader_exit(10), vec![(20, sig::SIGHUP)]);
    assert_eq!((t.session(), t.foreground_pgrp()), (0, 0));
    assert_eq!(t.termios(), std_termios());
    assert_eq!(read_all(&t), Err(Errno::EAGAIN));
}

#[test]
fn registers_tty_and_console() {
    let reg = fs::devfs::DeviceRegistry::new();
    let (t, _) = tty();
    super::register(&reg, &t);
    let devs = reg.char_devices();
    assert!(devs.contains(&("tty".to_string(), 5, 0)));
    assert!(devs.contains(&("console".to_string(), 5, 1)));
    let opened = reg.open_char(fs::abi::make_dev(5, 1), fs::abi::OpenFlags::empty()).unwrap();
    assert!(opened.as_any().downcast_ref::<Tty>().is_some());
}

/// The console (and the VTs) answer `KDGKBMODE` as a Linux virtual console does (Unicode
/// keyboard), so getty skips a serial line's one-second settle delay. (A pty slave's driver is
/// no virtual console: `ENOTTY`, checked end to end by the pty tests' getty-free paths.)
#[test]
fn the_console_is_a_virtual_console() {
    let (t, _) = tty();
    assert_eq!(ioctl_get::<i32>(&t, 0x4B44), Ok(3));
}
