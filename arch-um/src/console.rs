//! The host side of the console: umbra's stdin, stdout and stderr, and the host terminal.
//!
//! The kernel's tty (kernel/src/tty) sits on top and is the only line discipline: while umbra
//! runs, a host terminal on stdin is put in raw mode ([`enter_raw_mode`]: no echo, no `ICANON`,
//! no `ISIG`, no `OPOST`, as `cfmakeraw`), so every key reaches the guest's N_TTY and the guest's
//! output processing alone decides what `\n` becomes. The saved attributes are put back on every
//! exit a process can survive: the guard's drop, `exit` (an `atexit` hook), a Rust panic (a
//! panic hook chained before the previous one) and fatal host signals (handlers that call
//! `tcsetattr` — async-signal-safe — then re-raise with the default action). After `SIGKILL`
//! nothing can run: the README says to type `stty sane`.
//!
//! Input is waited for with `poll` on fd 0 — never by setting `O_NONBLOCK` on it, which would
//! change the open file description shared with the user's shell. Signal handlers here only
//! touch atomics, `tcsetattr`, `sigaction`/`sigprocmask`/`raise` and a self-pipe write, all
//! async-signal-safe; the kernel learns about `SIGWINCH` (and, by policy, `SIGTERM`/`SIGINT`)
//! through [`take_winch`] / [`take_host_signal`] and can wait on [`notify_fd`].

use std::cell::UnsafeCell;
use std::io;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Once;

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

/// Reads what is available from host stdin; blocks until something is (or EOF → 0). Use
/// [`stdin_ready`] first to avoid blocking: fd 0 is never made non-blocking.
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

/// Whether host stdin has data (or EOF/hangup: a read will not block) within `timeout_ms`
/// (-1: wait forever). Returns early, `false`, when a console signal arrives ([`notify_fd`]
/// becomes readable, or `poll` is interrupted), so a caller can check [`take_winch`] and
/// [`take_host_signal`] without a race.
pub fn stdin_ready(timeout_ms: i32) -> bool {
    let mut fds = [
        libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: NOTIFY_READ.load(Ordering::Relaxed), events: libc::POLLIN, revents: 0 },
    ];
    let nfds = if fds[1].fd >= 0 { 2 } else { 1 };
    // SAFETY: `nfds` valid pollfds.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), nfds, timeout_ms) };
    if n > 0 && fds[1].revents != 0 {
        // Only a wake-up: the signals stay recorded for `take_*`.
        drain_notify();
    }
    n > 0 && fds[0].revents != 0
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

/// The console's size (rows, cols): stdin's terminal, else stdout's; `None` if neither is one
/// (the tty then keeps Linux's 0×0 default).
pub fn console_size() -> Option<(u16, u16)> {
    window_size(HostFd::Stdin).or_else(|| window_size(HostFd::Stdout))
}

// ---------------------------------------------------------------------------------------------
// Raw mode

/// What a host signal that the kernel may want for itself does while umbra runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigPolicy {
    /// Restore the terminal and die of the signal (its default action), as any program would.
    Fatal,
    /// Only record it: [`take_host_signal`] returns true once, [`notify_fd`] becomes readable.
    /// The kernel then shuts down cleanly (issue 5: `SIGTERM` syncs and exits) and the guard's
    /// drop or the `atexit` hook restores the terminal.
    Flag,
    /// Leave the disposition alone (the kernel installs its own handler).
    Leave,
}

/// Options for [`enter_raw_mode_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawModeOptions {
    /// `SIGTERM`'s policy (default [`SigPolicy::Fatal`]).
    pub sigterm: SigPolicy,
    /// `SIGINT`'s policy (default [`SigPolicy::Fatal`]). In raw mode the host terminal never
    /// sends `SIGINT` (the guest's line discipline turns `^C` into the guest's `SIGINT`); it
    /// arrives from `kill`, or from the user's terminal when stdin is a pipe.
    pub sigint: SigPolicy,
}

impl Default for RawModeOptions {
    fn default() -> Self {
        RawModeOptions { sigterm: SigPolicy::Fatal, sigint: SigPolicy::Fatal }
    }
}

/// Restores the host terminal when dropped (a no-op guard if stdin was not a terminal).
#[must_use = "the terminal is restored when the guard is dropped"]
#[derive(Debug)]
pub struct RawModeGuard {
    active: bool,
}

impl RawModeGuard {
    /// Whether this guard put a terminal in raw mode (false: stdin is not a terminal).
    pub fn is_active(&self) -> bool {
        self.active
    }
}

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        if self.active {
            restore();
        }
    }
}

/// A `termios` that signal handlers may read: written only before `VALID` is published.
struct TermiosCell(UnsafeCell<MaybeUninit<libc::termios>>);

// SAFETY: written by `enter_raw_mode_with` on one thread before the matching flag is set with
// Release ordering; readers (handlers, `restore`) load the flag with Acquire and only read.
unsafe impl Sync for TermiosCell {}

impl TermiosCell {
    const fn new() -> Self {
        TermiosCell(UnsafeCell::new(MaybeUninit::uninit()))
    }
    fn ptr(&self) -> *const libc::termios {
        self.0.get() as *const libc::termios
    }
    fn set(&self, t: libc::termios) {
        // SAFETY: see the Sync impl: no reader looks before the flag is published.
        unsafe { (*self.0.get()).write(t) };
    }
}

/// The terminal attributes found at [`enter_raw_mode`] (valid once `SAVED_VALID`).
static SAVED: TermiosCell = TermiosCell::new();
/// The raw attributes applied (re-applied on `SIGCONT`).
static RAW: TermiosCell = TermiosCell::new();
static SAVED_VALID: AtomicBool = AtomicBool::new(false);
/// True while the terminal should be raw (cleared by [`restore`]).
static RAW_ACTIVE: AtomicBool = AtomicBool::new(false);
/// Host signals recorded for the kernel (bit `sig`).
static PENDING: AtomicU64 = AtomicU64::new(0);
/// The self-pipe handlers write to (-1 until created).
static NOTIFY_READ: AtomicI32 = AtomicI32::new(-1);
static NOTIFY_WRITE: AtomicI32 = AtomicI32::new(-1);

/// Puts the host terminal on stdin in raw mode with the default options (`SIGTERM` and
/// `SIGINT` fatal). See [`enter_raw_mode_with`].
pub fn enter_raw_mode() -> io::Result<RawModeGuard> {
    enter_raw_mode_with(RawModeOptions::default())
}

/// Puts the host terminal on stdin in raw mode (`cfmakeraw`: no `ECHO`, `ICANON`, `ISIG`,
/// `IEXTEN`, `IXON`, `ICRNL`, `OPOST`; 8 bits; `VMIN` 1, `VTIME` 0) and installs the restore
/// paths: an `atexit` hook, a chained panic hook and handlers for the fatal signals (`SIGHUP`,
/// `SIGQUIT`, `SIGILL`, `SIGABRT`, `SIGBUS`, `SIGFPE`, `SIGSEGV`, `SIGXCPU`, `SIGXFSZ`,
/// `SIGSYS`, and `SIGTERM`/`SIGINT` by `opts`). `SIGTSTP` restores before stopping and
/// `SIGCONT` re-applies raw mode when umbra is back in the foreground. `SIGWINCH` sets the
/// flag [`take_winch`] reads. When stdin is not a terminal nothing changes (the guard is
/// inert) but the `Flag` policies still apply, so the kernel's clean shutdown works in CI.
/// A second call while the terminal is raw also returns an inert guard (the first restores).
pub fn enter_raw_mode_with(opts: RawModeOptions) -> io::Result<RawModeGuard> {
    create_notify_pipe();
    install_policy(libc::SIGTERM, opts.sigterm);
    install_policy(libc::SIGINT, opts.sigint);
    if !is_tty(HostFd::Stdin) || is_raw() {
        // Not a terminal, or already raw under an earlier guard (which will restore).
        return Ok(RawModeGuard { active: false });
    }
    let saved = tcgetattr0()?;
    SAVED_VALID.store(false, Ordering::Release);
    let mut raw = saved;
    // SAFETY: cfmakeraw only edits the struct.
    unsafe { libc::cfmakeraw(&mut raw) };
    raw.c_cc[libc::VMIN] = 1;
    raw.c_cc[libc::VTIME] = 0;
    SAVED.set(saved);
    RAW.set(raw);
    SAVED_VALID.store(true, Ordering::Release);
    install_restore_hooks();
    tcsetattr0(libc::TCSADRAIN, &raw)?;
    RAW_ACTIVE.store(true, Ordering::Release);
    install_handler(libc::SIGWINCH, flag_handler);
    install_handler(libc::SIGCONT, cont_handler);
    if !is_ignored(libc::SIGTSTP) {
        install_handler(libc::SIGTSTP, tstp_handler);
    }
    Ok(RawModeGuard { active: true })
}

/// Puts back the terminal attributes saved by [`enter_raw_mode`] (idempotent; a no-op if the
/// terminal was never made raw). The kernel calls it before exiting by a path that skips
/// destructors, or before running a host program that needs a sane terminal.
pub fn restore() {
    if RAW_ACTIVE.swap(false, Ordering::AcqRel) {
        restore_saved(libc::TCSADRAIN);
    }
}

/// Whether the host terminal is in raw mode now.
pub fn is_raw() -> bool {
    RAW_ACTIVE.load(Ordering::Acquire)
}

/// True once per `SIGWINCH` burst: the host window changed size, so the kernel should read
/// [`console_size`] and hand it to the tty (which signals the guest's foreground group).
pub fn take_winch() -> bool {
    take_host_signal(libc::SIGWINCH)
}

/// True once if host signal `sig` arrived since the last call (`SIGWINCH`, and `SIGTERM` or
/// `SIGINT` under [`SigPolicy::Flag`]).
pub fn take_host_signal(sig: i32) -> bool {
    let Some(bit) = signal_bit(sig) else { return false };
    // The scheduler asks on every pass: only touch the self-pipe when a signal did arrive.
    if PENDING.load(Ordering::Acquire) & bit == 0 {
        return false;
    }
    drain_notify();
    PENDING.fetch_and(!bit, Ordering::AcqRel) & bit != 0
}

/// True if any console signal (`SIGTERM`, `SIGINT` under the flag policy, `SIGWINCH`) is
/// waiting to be taken; does not consume it.
pub fn host_signal_pending() -> bool {
    PENDING.load(Ordering::Acquire) != 0
}

/// The read end of the console's self-pipe (non-blocking, close-on-exec): readable after a
/// console signal, for the kernel's idle `poll`/`epoll` beside fd 0. `None` before
/// [`enter_raw_mode_with`] created it.
pub fn notify_fd() -> Option<i32> {
    let fd = NOTIFY_READ.load(Ordering::Relaxed);
    (fd >= 0).then_some(fd)
}

fn signal_bit(sig: i32) -> Option<u64> {
    (1..64).contains(&sig).then(|| 1u64 << sig)
}

/// Empties the self-pipe (it only carries "something happened").
fn drain_notify() {
    let fd = NOTIFY_READ.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let mut buf = [0u8; 64];
    // SAFETY: reads into a valid buffer from our own non-blocking pipe.
    while unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) } > 0 {}
}

fn create_notify_pipe() {
    static PIPE: Once = Once::new();
    PIPE.call_once(|| {
        let mut fds = [-1i32; 2];
        // SAFETY: pipe2 writes two fds.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } == 0 {
            NOTIFY_READ.store(fds[0], Ordering::Relaxed);
            NOTIFY_WRITE.store(fds[1], Ordering::Relaxed);
        }
    });
}

fn tcgetattr0() -> io::Result<libc::termios> {
    let mut t = MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr fills the struct on success.
    if unsafe { libc::tcgetattr(0, t.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: initialised by the successful call.
    Ok(unsafe { t.assume_init() })
}

fn tcsetattr0(when: i32, t: &libc::termios) -> io::Result<()> {
    loop {
        // SAFETY: applies a valid termios to fd 0.
        if unsafe { libc::tcsetattr(0, when, t) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Applies the saved attributes with `SIGTTOU` blocked, so a umbra that was moved to the
/// background still restores instead of stopping (async-signal-safe).
fn restore_saved(when: i32) {
    if !SAVED_VALID.load(Ordering::Acquire) {
        return;
    }
    with_sigttou_blocked(|| {
        // SAFETY: SAVED is valid (flag above); tcsetattr is async-signal-safe.
        unsafe { libc::tcsetattr(0, when, SAVED.ptr()) };
    });
}

fn with_sigttou_blocked(f: impl FnOnce()) {
    // SAFETY: sigset manipulation on local sets; sigprocmask is async-signal-safe.
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
        let mut old = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}

/// The `atexit` hook, the panic hook and the fatal-signal handlers (installed once).
fn install_restore_hooks() {
    static HOOKS: Once = Once::new();
    HOOKS.call_once(|| {
        // SAFETY: registers a plain extern "C" function.
        unsafe { libc::atexit(restore_at_exit) };
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        for sig in [libc::SIGHUP, libc::SIGQUIT, libc::SIGILL, libc::SIGABRT, libc::SIGFPE, libc::SIGXCPU, libc::SIGXFSZ, libc::SIGSYS] {
            install_fatal(sig);
        }
        for sig in [libc::SIGSEGV, libc::SIGBUS] {
            install_fault_handler(sig);
        }
    });
}

extern "C" fn restore_at_exit() {
    restore();
}

fn install_policy(sig: i32, policy: SigPolicy) {
    match policy {
        SigPolicy::Fatal => install_fatal(sig),
        SigPolicy::Flag => install_handler(sig, flag_handler),
        SigPolicy::Leave => {}
    }
}

type Handler = extern "C" fn(i32);

/// Installs [`fatal_handler`] for `sig` unless umbra was started with `sig` ignored (`nohup`
/// ignores `SIGHUP`, a non-interactive shell's `&` ignores `SIGINT`): that choice is kept.
fn install_fatal(sig: i32) {
    if is_ignored(sig) {
        return;
    }
    install_handler(sig, fatal_handler);
}

fn is_ignored(sig: i32) -> bool {
    // SAFETY: queries the current action into a local.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Installs `handler` for `sig` with `SA_RESTART` (so host syscalls elsewhere in umbra are not
/// interrupted; `poll` still returns `EINTR`, as Linux never restarts it) and `SA_ONSTACK`.
fn install_handler(sig: i32, handler: Handler) {
    // SAFETY: a zeroed sigaction with a valid handler and an empty mask.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as usize;
        sa.sa_flags = libc::SA_RESTART | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// Previous `SIGSEGV`/`SIGBUS` actions (Rust's stack-overflow reporter), put back by the fault
/// handler so a real fault is reported as before.
struct SigactionCell(UnsafeCell<MaybeUninit<libc::sigaction>>);
// SAFETY: written once in `install_fault_handler` before the handler is installed.
unsafe impl Sync for SigactionCell {}
static OLD_SEGV: SigactionCell = SigactionCell(UnsafeCell::new(MaybeUninit::zeroed()));
static OLD_BUS: SigactionCell = SigactionCell(UnsafeCell::new(MaybeUninit::zeroed()));

fn old_fault_action(sig: i32) -> *mut libc::sigaction {
    let cell = if sig == libc::SIGBUS { &OLD_BUS } else { &OLD_SEGV };
    cell.0.get() as *mut libc::sigaction
}

fn install_fault_handler(sig: i32) {
    // SAFETY: records the old action into its cell, then installs a SA_SIGINFO handler.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = fault_handler as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, old_fault_action(sig));
    }
}

/// Resets `sig` to its default action, unblocks it and raises it: the process dies of it as
/// if umbra had never caught it (so the shell reports the right signal).
fn die_of(sig: i32) {
    // SAFETY: sigaction/sigprocmask/raise are async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
    }
}

extern "C" fn fatal_handler(sig: i32) {
    restore_saved(libc::TCSANOW);
    die_of(sig);
}

/// `SIGSEGV`/`SIGBUS`: restore the terminal; a fault sent by `kill` (`si_code <= 0`) dies at
/// once, a real one returns to the faulting instruction with the previous action back in
/// place (Rust's stack-overflow message, then the default action).
extern "C" fn fault_handler(sig: i32, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    restore_saved(libc::TCSANOW);
    // SAFETY: the kernel passes a valid siginfo; the old action was recorded at install.
    let sent = unsafe { info.as_ref().is_none_or(|i| i.si_code <= 0) };
    if sent {
        die_of(sig);
        return;
    }
    // SAFETY: reinstalls the recorded action.
    unsafe { libc::sigaction(sig, old_fault_action(sig), std::ptr::null_mut()) };
}

fn note_signal(sig: i32) {
    if let Some(bit) = signal_bit(sig) {
        PENDING.fetch_or(bit, Ordering::AcqRel);
    }
    let fd = NOTIFY_WRITE.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = 1u8;
        // SAFETY: write is async-signal-safe; a full pipe (EAGAIN) already says "pending".
        unsafe { libc::write(fd, &b as *const u8 as *const libc::c_void, 1) };
    }
}

extern "C" fn flag_handler(sig: i32) {
    let errno = save_errno();
    note_signal(sig);
    restore_errno(errno);
}

/// `SIGTSTP` (from `kill`: in raw mode the terminal sends none): restore, then stop by the
/// default action; [`cont_handler`] re-applies raw mode when continued.
extern "C" fn tstp_handler(sig: i32) {
    let errno = save_errno();
    restore_saved(libc::TCSANOW);
    die_of(sig);
    install_handler(sig, tstp_handler);
    restore_errno(errno);
}

/// `SIGCONT`: back from a stop; re-apply raw mode if umbra still wants it and owns the
/// terminal's foreground (a background `tcsetattr` would just stop us again), and report a
/// possible resize.
extern "C" fn cont_handler(_sig: i32) {
    let errno = save_errno();
    // SAFETY: tcgetpgrp/getpgrp/tcsetattr are async-signal-safe; RAW is valid once SAVED is.
    unsafe {
        if RAW_ACTIVE.load(Ordering::Acquire) && SAVED_VALID.load(Ordering::Acquire) && libc::tcgetpgrp(0) == libc::getpgrp() {
            libc::tcsetattr(0, libc::TCSANOW, RAW.ptr());
        }
    }
    note_signal(libc::SIGWINCH);
    restore_errno(errno);
}

fn save_errno() -> i32 {
    // SAFETY: reads the thread's errno.
    unsafe { *libc::__errno_location() }
}

fn restore_errno(e: i32) {
    // SAFETY: writes the thread's errno.
    unsafe { *libc::__errno_location() = e };
}
