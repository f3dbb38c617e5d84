//! Signals: numbers, sets, `sigaction`, `siginfo_t`, `stack_t` and default actions, as x86-64
//! Linux defines them (`arch/x86/include/uapi/asm/signal.h`, `include/uapi/asm-generic/siginfo.h`,
//! `include/uapi/asm-generic/signal-defs.h`, and `signal(7)` for the default actions).
//!
//! Signal numbers are `u32` here (1..=64); `siginfo_t` keeps Linux's `int` fields.

use bytemuck::{Pod, Zeroable};
use core::fmt;

macro_rules! signals {
    ($($name:ident = $num:expr;)*) => {
        $(#[doc = concat!("`", stringify!($name), "` (`asm/signal.h`).")] pub const $name: u32 = $num;)*

        /// The name of a classic signal (`"SIGSEGV"`), or the strace-style name of a real-time one
        /// (`"SIGRTMIN"`, `"SIGRT_1"` … `"SIGRT_32"`); `None` outside 1..=64.
        pub fn signal_name(sig: u32) -> Option<&'static str> {
            match sig {
                $($num => Some(stringify!($name)),)*
                SIGRTMIN..=SIGRTMAX => RT_NAMES.get((sig - SIGRTMIN) as usize).copied(),
                _ => None,
            }
        }
    };
}

signals! {
    SIGHUP = 1;
    SIGINT = 2;
    SIGQUIT = 3;
    SIGILL = 4;
    SIGTRAP = 5;
    SIGABRT = 6;
    SIGBUS = 7;
    SIGFPE = 8;
    SIGKILL = 9;
    SIGUSR1 = 10;
    SIGSEGV = 11;
    SIGUSR2 = 12;
    SIGPIPE = 13;
    SIGALRM = 14;
    SIGTERM = 15;
    SIGSTKFLT = 16;
    SIGCHLD = 17;
    SIGCONT = 18;
    SIGSTOP = 19;
    SIGTSTP = 20;
    SIGTTIN = 21;
    SIGTTOU = 22;
    SIGURG = 23;
    SIGXCPU = 24;
    SIGXFSZ = 25;
    SIGVTALRM = 26;
    SIGPROF = 27;
    SIGWINCH = 28;
    SIGIO = 29;
    SIGPWR = 30;
    SIGSYS = 31;
}

/// `SIGIOT` is `SIGABRT`.
pub const SIGIOT: u32 = SIGABRT;
/// `SIGPOLL` is `SIGIO`.
pub const SIGPOLL: u32 = SIGIO;
/// `SIGUNUSED` is `SIGSYS` (removed from the uapi headers, kept by strace).
pub const SIGUNUSED: u32 = SIGSYS;
/// The first real-time signal as the kernel numbers it (glibc reserves 32 and 33 for itself).
pub const SIGRTMIN: u32 = 32;
/// The last real-time signal (`_NSIG`).
pub const SIGRTMAX: u32 = 64;
/// `_NSIG`: the number of signals (also the highest signal number).
pub const NSIG: u32 = 64;

const RT_NAMES: [&str; 33] = [
    "SIGRTMIN", "SIGRT_1", "SIGRT_2", "SIGRT_3", "SIGRT_4", "SIGRT_5", "SIGRT_6", "SIGRT_7",
    "SIGRT_8", "SIGRT_9", "SIGRT_10", "SIGRT_11", "SIGRT_12", "SIGRT_13", "SIGRT_14", "SIGRT_15",
    "SIGRT_16", "SIGRT_17", "SIGRT_18", "SIGRT_19", "SIGRT_20", "SIGRT_21", "SIGRT_22", "SIGRT_23",
    "SIGRT_24", "SIGRT_25", "SIGRT_26", "SIGRT_27", "SIGRT_28", "SIGRT_29", "SIGRT_30", "SIGRT_31",
    "SIGRT_32",
];

/// True for a valid signal number (1..=64), as Linux's `valid_signal()` plus the zero check.
pub const fn is_valid_signal(sig: u32) -> bool {
    sig >= 1 && sig <= NSIG
}

/// True for a real-time (queued) signal, 32..=64.
pub const fn is_rt_signal(sig: u32) -> bool {
    sig >= SIGRTMIN && sig <= SIGRTMAX
}

// ---------------------------------------------------------------------------------------------
// Signal sets

/// A kernel `sigset_t` on x86-64: 64 bits, bit `n - 1` for signal `n`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Pod, Zeroable)]
#[repr(transparent)]
pub struct SigSet(pub u64);

impl SigSet {
    /// The empty set.
    pub const EMPTY: SigSet = SigSet(0);
    /// Every signal.
    pub const FULL: SigSet = SigSet(!0);
    /// The signals that can be neither blocked nor caught: `SIGKILL` and `SIGSTOP`.
    pub const UNBLOCKABLE: SigSet = SigSet((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)));
    /// Signals whose default action stops the task (`SIG_KERNEL_STOP_MASK`).
    pub const STOP_MASK: SigSet = SigSet(
        (1 << (SIGSTOP - 1)) | (1 << (SIGTSTP - 1)) | (1 << (SIGTTIN - 1)) | (1 << (SIGTTOU - 1)),
    );
    /// Synchronous fault signals delivered first (`SYNCHRONOUS_MASK`).
    pub const SYNCHRONOUS_MASK: SigSet = SigSet(
        (1 << (SIGSEGV - 1))
            | (1 << (SIGBUS - 1))
            | (1 << (SIGILL - 1))
            | (1 << (SIGTRAP - 1))
            | (1 << (SIGFPE - 1))
            | (1 << (SIGSYS - 1)),
    );

    /// The empty set.
    pub const fn empty() -> SigSet {
        SigSet(0)
    }

    /// A set from its raw bits.
    pub const fn from_bits(bits: u64) -> SigSet {
        SigSet(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The set holding only `sig` (empty if `sig` is not 1..=64).
    pub const fn single(sig: u32) -> SigSet {
        if is_valid_signal(sig) {
            SigSet(1 << (sig - 1))
        } else {
            SigSet(0)
        }
    }

    /// Adds `sig` (ignored if invalid).
    pub fn add(&mut self, sig: u32) {
        self.0 |= SigSet::single(sig).0;
    }

    /// Removes `sig` (ignored if invalid).
    pub fn remove(&mut self, sig: u32) {
        self.0 &= !SigSet::single(sig).0;
    }

    /// True if `sig` is in the set (false for invalid numbers).
    pub const fn contains(self, sig: u32) -> bool {
        self.0 & SigSet::single(sig).0 != 0
    }

    /// True if no signal is in the set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of signals in the set.
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Set union.
    pub const fn union(self, other: SigSet) -> SigSet {
        SigSet(self.0 | other.0)
    }

    /// Set intersection.
    pub const fn intersection(self, other: SigSet) -> SigSet {
        SigSet(self.0 & other.0)
    }

    /// The signals of `self` not in `other`.
    pub const fn difference(self, other: SigSet) -> SigSet {
        SigSet(self.0 & !other.0)
    }

    /// Every signal not in the set.
    pub const fn complement(self) -> SigSet {
        SigSet(!self.0)
    }

    /// The set with `SIGKILL` and `SIGSTOP` removed, as `sigprocmask` stores a new mask.
    pub const fn without_unblockable(self) -> SigSet {
        self.difference(SigSet::UNBLOCKABLE)
    }

    /// The lowest-numbered signal in the set (Linux dequeues in this order after the
    /// synchronous ones).
    pub const fn first(self) -> Option<u32> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros() + 1)
        }
    }

    /// Iterates over the signals in the set, lowest first.
    pub fn iter(self) -> SigSetIter {
        SigSetIter(self.0)
    }
}

impl fmt::Debug for SigSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, s) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match signal_name(s) {
                Some(n) => f.write_str(n.strip_prefix("SIG").unwrap_or(n))?,
                None => write!(f, "{s}")?,
            }
        }
        f.write_str("]")
    }
}

impl core::ops::BitOr for SigSet {
    type Output = SigSet;
    fn bitor(self, rhs: SigSet) -> SigSet {
        self.union(rhs)
    }
}

impl core::ops::BitAnd for SigSet {
    type Output = SigSet;
    fn bitand(self, rhs: SigSet) -> SigSet {
        self.intersection(rhs)
    }
}

impl core::ops::Not for SigSet {
    type Output = SigSet;
    fn not(self) -> SigSet {
        self.complement()
    }
}

impl core::ops::BitOrAssign for SigSet {
    fn bitor_assign(&mut self, rhs: SigSet) {
        self.0 |= rhs.0;
    }
}

impl FromIterator<u32> for SigSet {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> SigSet {
        let mut s = SigSet::EMPTY;
        for sig in iter {
            s.add(sig);
        }
        s
    }
}

impl IntoIterator for SigSet {
    type Item = u32;
    type IntoIter = SigSetIter;
    fn into_iter(self) -> SigSetIter {
        self.iter()
    }
}

/// Iterator over the signals of a [`SigSet`], lowest first.
#[derive(Clone, Debug)]
pub struct SigSetIter(u64);

impl Iterator for SigSetIter {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.0 == 0 {
            return None;
        }
        let bit = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(bit + 1)
    }
}

/// The `sigsetsize` argument every `rt_sig*` call must pass on x86-64 (`sizeof(sigset_t)`).
pub const SIGSET_SIZE: usize = 8;

// ---------------------------------------------------------------------------------------------
// sigaction

/// `SA_NOCLDSTOP`: no `SIGCHLD` when a child stops or continues.
pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
/// `SA_NOCLDWAIT`: children do not become zombies.
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
/// `SA_SIGINFO`: the handler takes `(int, siginfo_t *, void *)`.
pub const SA_SIGINFO: u64 = 0x0000_0004;
/// `SA_UNSUPPORTED`: a flag bit that is never supported, for flag-support probing.
pub const SA_UNSUPPORTED: u64 = 0x0000_0400;
/// `SA_EXPOSE_TAGBITS`: keep address tag bits in `si_addr` (arm64; ignored on x86).
pub const SA_EXPOSE_TAGBITS: u64 = 0x0000_0800;
/// `SA_RESTORER`: `sa_restorer` is valid (libc's `__restore_rt`; required on x86-64).
pub const SA_RESTORER: u64 = 0x0400_0000;
/// `SA_ONSTACK`: run the handler on the alternate signal stack.
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// `SA_RESTART`: restart interrupted syscalls.
pub const SA_RESTART: u64 = 0x1000_0000;
/// `SA_NODEFER`: do not block the signal during its own handler.
pub const SA_NODEFER: u64 = 0x4000_0000;
/// `SA_RESETHAND`: reset to `SIG_DFL` on delivery.
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// `SA_NOMASK` is `SA_NODEFER`.
pub const SA_NOMASK: u64 = SA_NODEFER;
/// `SA_ONESHOT` is `SA_RESETHAND`.
pub const SA_ONESHOT: u64 = SA_RESETHAND;
/// The `sa_flags` bits Linux knows on x86-64 (`UAPI_SA_FLAGS | SA_RESTORER` minus the unsupported
/// probe bit); others are kept but reported as unsupported via `SA_UNSUPPORTED` semantics.
pub const SA_KNOWN_FLAGS: u64 = SA_NOCLDSTOP
    | SA_NOCLDWAIT
    | SA_SIGINFO
    | SA_RESTORER
    | SA_ONSTACK
    | SA_RESTART
    | SA_NODEFER
    | SA_RESETHAND
    | SA_EXPOSE_TAGBITS;

/// `SIG_DFL`: the default action.
pub const SIG_DFL: u64 = 0;
/// `SIG_IGN`: ignore the signal.
pub const SIG_IGN: u64 = 1;
/// `SIG_ERR`: the error return of `signal(3)`.
pub const SIG_ERR: u64 = !0;

/// `SIG_BLOCK` for `rt_sigprocmask`: add to the mask.
pub const SIG_BLOCK: i32 = 0;
/// `SIG_UNBLOCK` for `rt_sigprocmask`: remove from the mask.
pub const SIG_UNBLOCK: i32 = 1;
/// `SIG_SETMASK` for `rt_sigprocmask`: replace the mask.
pub const SIG_SETMASK: i32 = 2;

/// The kernel's `struct sigaction` as `rt_sigaction` reads and writes it on x86-64
/// (`include/linux/signal_types.h` with `__ARCH_HAS_SA_RESTORER`): 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Default, Pod, Zeroable)]
#[repr(C)]
pub struct KSigAction {
    /// `sa_handler` / `sa_sigaction`: `SIG_DFL`, `SIG_IGN` or a handler address.
    pub handler: u64,
    /// `sa_flags` (`SA_*`).
    pub flags: u64,
    /// `sa_restorer`: the address `rt_sigreturn` trampoline the frame returns to.
    pub restorer: u64,
    /// `sa_mask`: signals blocked while the handler runs.
    pub mask: u64,
}

impl KSigAction {
    /// The mask as a [`SigSet`].
    pub const fn mask_set(&self) -> SigSet {
        SigSet(self.mask)
    }

    /// True if the handler is `SIG_DFL`.
    pub const fn is_default(&self) -> bool {
        self.handler == SIG_DFL
    }

    /// True if the handler is `SIG_IGN`.
    pub const fn is_ignore(&self) -> bool {
        self.handler == SIG_IGN
    }

    /// True if `flags` contains every bit of `flag`.
    pub const fn has_flag(&self, flag: u64) -> bool {
        self.flags & flag == flag
    }
}

impl fmt::Debug for KSigAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h: &dyn fmt::Debug = match self.handler {
            SIG_DFL => &"SIG_DFL",
            SIG_IGN => &"SIG_IGN",
            _ => &format_args!("{:#x}", self.handler),
        };
        f.debug_struct("KSigAction")
            .field("handler", h)
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("restorer", &format_args!("{:#x}", self.restorer))
            .field("mask", &self.mask_set())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// si_code values

/// `SI_USER`: sent by `kill`/`raise`.
pub const SI_USER: i32 = 0;
/// `SI_KERNEL`: sent by the kernel.
pub const SI_KERNEL: i32 = 0x80;
/// `SI_QUEUE`: sent by `sigqueue`.
pub const SI_QUEUE: i32 = -1;
/// `SI_TIMER`: a POSIX timer expired.
pub const SI_TIMER: i32 = -2;
/// `SI_MESGQ`: a message queue changed state.
pub const SI_MESGQ: i32 = -3;
/// `SI_ASYNCIO`: asynchronous I/O completed.
pub const SI_ASYNCIO: i32 = -4;
/// `SI_SIGIO`: queued `SIGIO`.
pub const SI_SIGIO: i32 = -5;
/// `SI_TKILL`: sent by `tkill`/`tgkill`.
pub const SI_TKILL: i32 = -6;
/// `SI_DETHREAD`: sent by `execve` killing subsidiary threads.
pub const SI_DETHREAD: i32 = -7;
/// `SI_ASYNCNL`: sent by glibc's asynchronous name lookup completion.
pub const SI_ASYNCNL: i32 = -60;

/// `ILL_ILLOPC`: illegal opcode.
pub const ILL_ILLOPC: i32 = 1;
/// `ILL_ILLOPN`: illegal operand.
pub const ILL_ILLOPN: i32 = 2;
/// `ILL_ILLADR`: illegal addressing mode.
pub const ILL_ILLADR: i32 = 3;
/// `ILL_ILLTRP`: illegal trap.
pub const ILL_ILLTRP: i32 = 4;
/// `ILL_PRVOPC`: privileged opcode.
pub const ILL_PRVOPC: i32 = 5;
/// `ILL_PRVREG`: privileged register.
pub const ILL_PRVREG: i32 = 6;
/// `ILL_COPROC`: coprocessor error.
pub const ILL_COPROC: i32 = 7;
/// `ILL_BADSTK`: internal stack error.
pub const ILL_BADSTK: i32 = 8;

/// `FPE_INTDIV`: integer divide by zero.
pub const FPE_INTDIV: i32 = 1;
/// `FPE_INTOVF`: integer overflow.
pub const FPE_INTOVF: i32 = 2;
/// `FPE_FLTDIV`: floating-point divide by zero.
pub const FPE_FLTDIV: i32 = 3;
/// `FPE_FLTOVF`: floating-point overflow.
pub const FPE_FLTOVF: i32 = 4;
/// `FPE_FLTUND`: floating-point underflow.
pub const FPE_FLTUND: i32 = 5;
/// `FPE_FLTRES`: floating-point inexact result.
pub const FPE_FLTRES: i32 = 6;
/// `FPE_FLTINV`: invalid floating-point operation.
pub const FPE_FLTINV: i32 = 7;
/// `FPE_FLTSUB`: subscript out of range.
pub const FPE_FLTSUB: i32 = 8;

/// `SEGV_MAPERR`: address not mapped.
pub const SEGV_MAPERR: i32 = 1;
/// `SEGV_ACCERR`: invalid permissions for a mapped object.
pub const SEGV_ACCERR: i32 = 2;
/// `SEGV_BNDERR`: failed address bound checks.
pub const SEGV_BNDERR: i32 = 3;
/// `SEGV_PKUERR`: failed protection key checks.
pub const SEGV_PKUERR: i32 = 4;

/// `BUS_ADRALN`: invalid address alignment.
pub const BUS_ADRALN: i32 = 1;
/// `BUS_ADRERR`: non-existent physical address (e.g. a mapping past the end of its file).
pub const BUS_ADRERR: i32 = 2;
/// `BUS_OBJERR`: object-specific hardware error.
pub const BUS_OBJERR: i32 = 3;
/// `BUS_MCEERR_AR`: hardware memory error consumed on a machine check.
pub const BUS_MCEERR_AR: i32 = 4;
/// `BUS_MCEERR_AO`: hardware memory error detected, action optional.
pub const BUS_MCEERR_AO: i32 = 5;

/// `TRAP_BRKPT`: process breakpoint.
pub const TRAP_BRKPT: i32 = 1;
/// `TRAP_TRACE`: process trace trap.
pub const TRAP_TRACE: i32 = 2;
/// `TRAP_BRANCH`: process taken-branch trap.
pub const TRAP_BRANCH: i32 = 3;
/// `TRAP_HWBKPT`: hardware breakpoint/watchpoint.
pub const TRAP_HWBKPT: i32 = 4;

/// `CLD_EXITED`: child has exited.
pub const CLD_EXITED: i32 = 1;
/// `CLD_KILLED`: child was killed.
pub const CLD_KILLED: i32 = 2;
/// `CLD_DUMPED`: child terminated abnormally (core dump).
pub const CLD_DUMPED: i32 = 3;
/// `CLD_TRAPPED`: traced child has trapped.
pub const CLD_TRAPPED: i32 = 4;
/// `CLD_STOPPED`: child has stopped.
pub const CLD_STOPPED: i32 = 5;
/// `CLD_CONTINUED`: stopped child has continued.
pub const CLD_CONTINUED: i32 = 6;

/// `POLL_IN`: data input available.
pub const POLL_IN: i32 = 1;
/// `POLL_OUT`: output buffers available.
pub const POLL_OUT: i32 = 2;
/// `POLL_MSG`: input message available.
pub const POLL_MSG: i32 = 3;
/// `POLL_ERR`: I/O error.
pub const POLL_ERR: i32 = 4;
/// `POLL_PRI`: high-priority input available.
pub const POLL_PRI: i32 = 5;
/// `POLL_HUP`: device disconnected.
pub const POLL_HUP: i32 = 6;

/// `SYS_SECCOMP`: seccomp triggered (`SIGSYS`).
pub const SYS_SECCOMP: i32 = 1;

// ---------------------------------------------------------------------------------------------
// siginfo_t

/// `sizeof(siginfo_t)`: `SI_MAX_SIZE`.
pub const SI_MAX_SIZE: usize = 128;

/// Offsets inside `siginfo_t` on x86-64 (the union `_sifields` starts at 16, aligned to 8).
mod off {
    pub const PID: usize = 16;
    pub const UID: usize = 20;
    pub const TIMER_TID: usize = 16;
    pub const TIMER_OVERRUN: usize = 20;
    pub const VALUE: usize = 24;
    pub const TIMER_SYS_PRIVATE: usize = 32;
    pub const STATUS: usize = 24;
    pub const UTIME: usize = 32;
    pub const STIME: usize = 40;
    pub const ADDR: usize = 16;
    pub const ADDR_LSB: usize = 24;
    pub const LOWER: usize = 32;
    pub const UPPER: usize = 40;
    pub const PKEY: usize = 32;
    pub const BAND: usize = 16;
    pub const FD: usize = 24;
    pub const CALL_ADDR: usize = 16;
    pub const SYSCALL: usize = 24;
    pub const ARCH: usize = 28;
}

/// `siginfo_t` on x86-64 (`include/uapi/asm-generic/siginfo.h`): `si_signo`, `si_errno`,
/// `si_code`, then the `_sifields` union at offset 16. 128 bytes.
///
/// The union is kept as raw words; the constructors and accessors below lay fields out exactly
/// as Linux does:
/// - kill/tkill (`_kill`, `_rt`): `si_pid` @16, `si_uid` @20, `si_value` @24;
/// - POSIX timers (`_timer`): `si_tid` @16, `si_overrun` @20, `si_value` @24;
/// - `SIGCHLD` (`_sigchld`): `si_pid` @16, `si_uid` @20, `si_status` @24, `si_utime` @32,
///   `si_stime` @40;
/// - faults (`_sigfault`): `si_addr` @16, `si_addr_lsb` @24, `si_lower`/`si_pkey` @32,
///   `si_upper` @40;
/// - `SIGPOLL` (`_sigpoll`): `si_band` @16, `si_fd` @24;
/// - `SIGSYS` (`_sigsys`): `si_call_addr` @16, `si_syscall` @24, `si_arch` @28.
#[derive(Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct SigInfo {
    /// `si_signo`.
    pub signo: i32,
    /// `si_errno` (always 0 from Linux except a few cases).
    pub errno: i32,
    /// `si_code` (`SI_*`, `SEGV_*`, `CLD_*`, …).
    pub code: i32,
    /// Padding before the 8-aligned union.
    pub _pad: i32,
    /// The `_sifields` union, 112 bytes.
    pub fields: [u64; 14],
}

impl Default for SigInfo {
    fn default() -> Self {
        SigInfo::zeroed()
    }
}

impl SigInfo {
    /// A zeroed siginfo with `signo` and `code` set.
    pub fn new(signo: u32, code: i32) -> SigInfo {
        SigInfo { signo: signo as i32, code, ..SigInfo::zeroed() }
    }

    /// The whole structure as bytes (what is copied to the guest).
    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::bytes_of(self)
    }

    fn put(&mut self, off: usize, v: &[u8]) {
        let b = bytemuck::bytes_of_mut(self);
        b[off..off + v.len()].copy_from_slice(v);
    }

    fn get<const N: usize>(&self, off: usize) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&bytemuck::bytes_of(self)[off..off + N]);
        a
    }

    fn put_i32(&mut self, off: usize, v: i32) {
        self.put(off, &v.to_le_bytes());
    }

    fn put_u64(&mut self, off: usize, v: u64) {
        self.put(off, &v.to_le_bytes());
    }

    fn get_i32(&self, off: usize) -> i32 {
        i32::from_le_bytes(self.get(off))
    }

    fn get_u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.get(off))
    }

    /// A signal sent by `kill`/`tkill`/`tgkill` (`_kill`): `code` is `SI_USER`, `SI_TKILL` or
    /// `SI_KERNEL`.
    pub fn kill(signo: u32, code: i32, pid: i32, uid: u32) -> SigInfo {
        let mut si = SigInfo::new(signo, code);
        si.put_i32(off::PID, pid);
        si.put_i32(off::UID, uid as i32);
        si
    }

    /// A queued signal with a value (`_rt`: `rt_sigqueueinfo`, `SI_QUEUE`, `SI_MESGQ`).
    pub fn rt(signo: u32, code: i32, pid: i32, uid: u32, value: u64) -> SigInfo {
        let mut si = SigInfo::kill(signo, code, pid, uid);
        si.put_u64(off::VALUE, value);
        si
    }

    /// A POSIX timer expiry (`_timer`, `SI_TIMER`).
    pub fn timer(signo: u32, timer_id: i32, overrun: i32, value: u64) -> SigInfo {
        let mut si = SigInfo::new(signo, SI_TIMER);
        si.put_i32(off::TIMER_TID, timer_id);
        si.put_i32(off::TIMER_OVERRUN, overrun);
        si.put_u64(off::VALUE, value);
        si.put_i32(off::TIMER_SYS_PRIVATE, 0);
        si
    }

    /// A synchronous fault (`_sigfault`): `SIGSEGV`/`SIGBUS`/`SIGILL`/`SIGFPE`/`SIGTRAP` with the
    /// faulting address (for `SIGILL`/`SIGFPE`, the instruction address).
    pub fn fault(signo: u32, code: i32, addr: u64) -> SigInfo {
        let mut si = SigInfo::new(signo, code);
        si.put_u64(off::ADDR, addr);
        si
    }

    /// A `SIGCHLD` (`_sigchld`): `code` is a `CLD_*`; `status` is the exit code for
    /// `CLD_EXITED` and the signal number otherwise; times are in clock ticks.
    pub fn child(code: i32, pid: i32, uid: u32, status: i32, utime: i64, stime: i64) -> SigInfo {
        let mut si = SigInfo::new(SIGCHLD, code);
        si.put_i32(off::PID, pid);
        si.put_i32(off::UID, uid as i32);
        si.put_i32(off::STATUS, status);
        si.put_u64(off::UTIME, utime as u64);
        si.put_u64(off::STIME, stime as u64);
        si
    }

    /// A `SIGIO`/`SIGPOLL` (`_sigpoll`): `code` is a `POLL_*`, `band` the poll events.
    pub fn poll(signo: u32, code: i32, band: i64, fd: i32) -> SigInfo {
        let mut si = SigInfo::new(signo, code);
        si.put_u64(off::BAND, band as u64);
        si.put_i32(off::FD, fd);
        si
    }

    /// A seccomp `SIGSYS` (`_sigsys`, `SYS_SECCOMP`); `arch` is an `AUDIT_ARCH_*` value.
    pub fn sigsys(call_addr: u64, syscall: i32, arch: u32) -> SigInfo {
        let mut si = SigInfo::new(SIGSYS, SYS_SECCOMP);
        si.put_u64(off::CALL_ADDR, call_addr);
        si.put_i32(off::SYSCALL, syscall);
        si.put_i32(off::ARCH, arch as i32);
        si
    }

    /// `si_pid` (`_kill`, `_rt`, `_sigchld`).
    pub fn pid(&self) -> i32 {
        self.get_i32(off::PID)
    }

    /// `si_uid` (`_kill`, `_rt`, `_sigchld`).
    pub fn uid(&self) -> u32 {
        self.get_i32(off::UID) as u32
    }

    /// `si_value` (`_rt`, `_timer`), as the raw `sival_ptr`.
    pub fn value(&self) -> u64 {
        self.get_u64(off::VALUE)
    }

    /// `si_status` (`_sigchld`).
    pub fn status(&self) -> i32 {
        self.get_i32(off::STATUS)
    }

    /// `si_utime` (`_sigchld`).
    pub fn utime(&self) -> i64 {
        self.get_u64(off::UTIME) as i64
    }

    /// `si_stime` (`_sigchld`).
    pub fn stime(&self) -> i64 {
        self.get_u64(off::STIME) as i64
    }

    /// `si_addr` (`_sigfault`).
    pub fn addr(&self) -> u64 {
        self.get_u64(off::ADDR)
    }

    /// Sets `si_addr_lsb` (`BUS_MCEERR_*`).
    pub fn set_addr_lsb(&mut self, lsb: i16) {
        self.put(off::ADDR_LSB, &lsb.to_le_bytes());
    }

    /// Sets `si_lower`/`si_upper` (`SEGV_BNDERR`).
    pub fn set_bounds(&mut self, lower: u64, upper: u64) {
        self.put_u64(off::LOWER, lower);
        self.put_u64(off::UPPER, upper);
    }

    /// Sets `si_pkey` (`SEGV_PKUERR`).
    pub fn set_pkey(&mut self, pkey: u32) {
        self.put_i32(off::PKEY, pkey as i32);
    }

    /// `si_band` (`_sigpoll`).
    pub fn band(&self) -> i64 {
        self.get_u64(off::BAND) as i64
    }

    /// `si_fd` (`_sigpoll`).
    pub fn fd(&self) -> i32 {
        self.get_i32(off::FD)
    }

    /// `si_timerid` (`_timer`).
    pub fn timer_id(&self) -> i32 {
        self.get_i32(off::TIMER_TID)
    }

    /// `si_overrun` (`_timer`).
    pub fn overrun(&self) -> i32 {
        self.get_i32(off::TIMER_OVERRUN)
    }

    /// `si_syscall` (`_sigsys`).
    pub fn syscall(&self) -> i32 {
        self.get_i32(off::SYSCALL)
    }

    /// `si_arch` (`_sigsys`).
    pub fn arch(&self) -> u32 {
        self.get_i32(off::ARCH) as u32
    }
}

impl fmt::Debug for SigInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = signal_name(self.signo as u32).unwrap_or("?");
        write!(f, "{{si_signo={name}, si_code={}", self.code)?;
        if self.errno != 0 {
            write!(f, ", si_errno={}", self.errno)?;
        }
        let sig = self.signo as u32;
        if self.code <= 0 || self.code == SI_KERNEL && sig != SIGSEGV && sig != SIGBUS {
            write!(f, ", si_pid={}, si_uid={}", self.pid(), self.uid())?;
        } else if sig == SIGCHLD {
            write!(f, ", si_pid={}, si_uid={}, si_status={}", self.pid(), self.uid(), self.status())?;
        } else if matches!(sig, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP) {
            write!(f, ", si_addr={:#x}", self.addr())?;
        }
        f.write_str("}")
    }
}

// ---------------------------------------------------------------------------------------------
// sigaltstack

/// `SS_ONSTACK`: the task is currently executing on the alternate stack.
pub const SS_ONSTACK: i32 = 1;
/// `SS_DISABLE`: the alternate stack is disabled.
pub const SS_DISABLE: i32 = 2;
/// `SS_AUTODISARM`: disarm the alternate stack while a handler runs on it.
pub const SS_AUTODISARM: i32 = 1 << 31;
/// `SS_FLAG_BITS`: the flag bits `sigaltstack` accepts besides the mode.
pub const SS_FLAG_BITS: i32 = SS_AUTODISARM;
/// `MINSIGSTKSZ` (x86 uapi value; the kernel also reports the real minimum in `AT_MINSIGSTKSZ`).
pub const MINSIGSTKSZ: u64 = 2048;
/// `SIGSTKSZ` (x86 uapi value).
pub const SIGSTKSZ: u64 = 8192;

/// `stack_t` for `sigaltstack` (`include/uapi/linux/signal.h`): 24 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct StackT {
    /// `ss_sp`: base of the stack.
    pub ss_sp: u64,
    /// `ss_flags` (`SS_*`).
    pub ss_flags: i32,
    /// Padding before `ss_size`.
    pub _pad: i32,
    /// `ss_size`: size in bytes.
    pub ss_size: u64,
}

// ---------------------------------------------------------------------------------------------
// Default actions

/// What a signal does when its handler is `SIG_DFL` (`signal(7)`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum DefaultAction {
    /// "Term": terminate the process.
    Terminate,
    /// "Core": terminate the process and dump core.
    CoreDump,
    /// "Ign": ignore the signal.
    Ignore,
    /// "Stop": stop the process.
    Stop,
    /// "Cont": continue the process if it is stopped.
    Continue,
}

/// The default action of `sig` as `signal(7)` lists it; real-time signals terminate. Invalid
/// numbers return `Terminate` (callers validate first).
pub const fn default_action(sig: u32) -> DefaultAction {
    use DefaultAction::*;
    match sig {
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => CoreDump,
        SIGCHLD | SIGURG | SIGWINCH => Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => Stop,
        SIGCONT => Continue,
        _ => Terminate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, size_of};

    #[test]
    fn sizes() {
        assert_eq!(size_of::<SigInfo>(), SI_MAX_SIZE);
        assert_eq!(align_of::<SigInfo>(), 8);
        assert_eq!(size_of::<KSigAction>(), 32);
        assert_eq!(size_of::<StackT>(), 24);
        assert_eq!(size_of::<SigSet>(), SIGSET_SIZE);
    }

    #[test]
    fn names() {
        assert_eq!(signal_name(SIGSEGV), Some("SIGSEGV"));
        assert_eq!(signal_name(1), Some("SIGHUP"));
        assert_eq!(signal_name(31), Some("SIGSYS"));
        assert_eq!(signal_name(32), Some("SIGRTMIN"));
        assert_eq!(signal_name(34), Some("SIGRT_2"));
        assert_eq!(signal_name(64), Some("SIGRT_32"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(65), None);
    }

    #[test]
    fn sigset_ops() {
        let mut s = SigSet::EMPTY;
        s.add(SIGINT);
        s.add(SIGRTMAX);
        s.add(0);
        s.add(65);
        assert!(s.contains(SIGINT) && s.contains(64) && !s.contains(SIGTERM));
        assert_eq!(s.bits(), (1 << 1) | (1 << 63));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![2, 64]);
        assert_eq!(s.first(), Some(2));
        s.remove(SIGINT);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![64]);
        assert_eq!(SigSet::FULL.without_unblockable().len(), 62);
        let t: SigSet = [SIGKILL, SIGSTOP].into_iter().collect();
        assert_eq!(t, SigSet::UNBLOCKABLE);
        assert_eq!(format!("{t:?}"), "[KILL STOP]");
        assert_eq!(SigSet::FULL.iter().count(), 64);
    }

    #[test]
    fn default_actions() {
        assert_eq!(default_action(SIGSEGV), DefaultAction::CoreDump);
        assert_eq!(default_action(SIGTERM), DefaultAction::Terminate);
        assert_eq!(default_action(SIGCHLD), DefaultAction::Ignore);
        assert_eq!(default_action(SIGWINCH), DefaultAction::Ignore);
        assert_eq!(default_action(SIGTSTP), DefaultAction::Stop);
        assert_eq!(default_action(SIGCONT), DefaultAction::Continue);
        assert_eq!(default_action(SIGPIPE), DefaultAction::Terminate);
        assert_eq!(default_action(SIGRTMIN + 3), DefaultAction::Terminate);
        assert_eq!(default_action(SIGSYS), DefaultAction::CoreDump);
    }

    #[test]
    fn siginfo_layout() {
        let si = SigInfo::child(CLD_EXITED, 42, 1000, 3, 7, 9);
        let b = si.as_bytes();
        assert_eq!(&b[0..4], &17i32.to_le_bytes());
        assert_eq!(&b[8..12], &1i32.to_le_bytes());
        assert_eq!(&b[16..20], &42i32.to_le_bytes());
        assert_eq!(&b[20..24], &1000u32.to_le_bytes());
        assert_eq!(&b[24..28], &3i32.to_le_bytes());
        assert_eq!(&b[32..40], &7i64.to_le_bytes());
        assert_eq!(&b[40..48], &9i64.to_le_bytes());
        assert_eq!((si.pid(), si.uid(), si.status(), si.utime(), si.stime()), (42, 1000, 3, 7, 9));

        let f = SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0xdead_beef_0000);
        assert_eq!(f.addr(), 0xdead_beef_0000);
        assert_eq!(&f.as_bytes()[16..24], &0xdead_beef_0000u64.to_le_bytes());

        let k = SigInfo::rt(SIGUSR1, SI_QUEUE, 5, 0, 0x1234);
        assert_eq!((k.pid(), k.value(), k.code), (5, 0x1234, SI_QUEUE));
        let s = SigInfo::sigsys(0x400000, 39, 0xc000_003e);
        assert_eq!((s.syscall(), s.arch(), s.addr()), (39, 0xc000_003e, 0x400000));
    }

    /// Compare layouts with the host C library when a compiler is available.
    #[test]
    fn siginfo_offsets_match_c() {
        let prog = r#"
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
int main(void) {
    printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", sizeof(siginfo_t),
        offsetof(siginfo_t, si_pid), offsetof(siginfo_t, si_uid), offsetof(siginfo_t, si_status),
        offsetof(siginfo_t, si_utime), offsetof(siginfo_t, si_stime),
        offsetof(siginfo_t, si_addr), offsetof(siginfo_t, si_value),
        offsetof(siginfo_t, si_band), offsetof(siginfo_t, si_fd),
        offsetof(siginfo_t, si_syscall), offsetof(siginfo_t, si_arch));
    printf("%zu %zu %zu\n", sizeof(stack_t), offsetof(stack_t, ss_flags),
        offsetof(stack_t, ss_size));
    return 0;
}
"#;
        let Some(out) = crate::structs::test_support::run_c(prog) else { return };
        assert_eq!(
            out.trim(),
            "128 16 20 24 32 40 16 24 16 24 24 28\n24 8 16",
        );
    }
}
