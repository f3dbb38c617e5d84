//! Signal syscalls: dispositions, masks, the alternate stack, sending, and `rt_sigreturn`.

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::signal as ksig;
use crate::signal::frame;
use super::args::SigSetIn;
use uapi::signal::{self as sig, KSigAction, SigInfo, SigSet, StackT};
use uapi::{Errno, KResult, UserAddr, UserRef};

fn check_sigsetsize(size: usize) -> KResult<()> {
    if size != sig::SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn valid_signal(signo: i32) -> KResult<u32> {
    if signo < 1 || !sig::is_valid_signal(signo as u32) {
        return Err(Errno::EINVAL);
    }
    Ok(signo as u32)
}

/// `rt_sigaction(2)`, in Linux's order: the sigset size (`EINVAL`), reading the new action
/// (`EFAULT`), the signal number (`EINVAL`, also for changing SIGKILL/SIGSTOP), setting it,
/// and only then writing the old one (`EFAULT` there leaves the new action set).
pub fn sys_rt_sigaction(cur: &mut Current, signo: i32, act: UserRef<KSigAction>, oact: UserRef<KSigAction>, size: usize) -> KResult<usize> {
    check_sigsetsize(size)?;
    let new = if act.is_null() { None } else { Some(cur.read_val::<KSigAction>(act.addr())?) };
    let signo = valid_signal(signo)?;
    if new.is_some() && (signo == sig::SIGKILL || signo == sig::SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let sighand = cur.process().sighand();
    let old = sighand.lock().get(signo);
    if let Some(mut a) = new {
        a.mask = SigSet::from_bits(a.mask).without_unblockable().bits();
        sighand.lock().set(signo, a);
        // Setting SIG_IGN (or SIG_DFL for a signal whose default is to ignore) discards it.
        if a.is_ignore() || (a.is_default() && ksig::default_action(signo) == sig::DefaultAction::Ignore) {
            ksig::discard_from_process(cur.process(), SigSet::single(signo));
        }
    }
    if !oact.is_null() {
        cur.write_val(oact.addr(), &old)?;
    }
    Ok(0)
}

/// `rt_sigprocmask(2)`.
pub fn sys_rt_sigprocmask(cur: &mut Current, how: i32, set: UserRef<u64>, oset: UserRef<u64>, size: usize) -> KResult<usize> {
    check_sigsetsize(size)?;
    let new = if set.is_null() { None } else { Some(SigSet::from_bits(cur.read_val::<u64>(set.addr())?)) };
    let old = cur.task.signals.lock().mask;
    if let Some(s) = new {
        let mask = match how {
            sig::SIG_BLOCK => old.union(s),
            sig::SIG_UNBLOCK => old.difference(s),
            sig::SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        };
        cur.task.signals.lock().mask = mask.without_unblockable();
    }
    if !oset.is_null() {
        cur.write_val(oset.addr(), &old.bits())?;
    }
    Ok(0)
}

/// `rt_sigpending(2)`: the blocked signals pending for the thread or its process; `size`
/// bytes of the set are written (`EINVAL` above 8).
pub fn sys_rt_sigpending(cur: &mut Current, set: UserRef<u64>, size: usize) -> KResult<usize> {
    if size > sig::SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mask = cur.task.signals.lock().mask;
    let pending = ksig::pending_for(cur).intersection(mask);
    let bytes = pending.bits().to_le_bytes();
    cur.write_bytes(set.addr(), &bytes[..size])?;
    Ok(0)
}

/// `sigaltstack(2)` in Linux's order (`do_sigaltstack`): the old stack is taken first; setting
/// fails with `EPERM` while running on the current one, `EINVAL` for a bad mode, `ENOMEM`
/// below `MINSIGSTKSZ`; the old one is written only after a successful set.
pub fn sys_sigaltstack(cur: &mut Current, ss: UserRef<StackT>, old: UserRef<StackT>) -> KResult<usize> {
    let new = if ss.is_null() { None } else { Some(cur.read_val::<StackT>(ss.addr())?) };
    let sp = cur.ctx.regs.rsp;
    let current = cur.task.signals.lock().altstack;
    let flags = frame::altstack_mode(&current, sp) | (current.ss_flags & sig::SS_FLAG_BITS);
    let o = StackT { ss_sp: current.ss_sp, ss_flags: flags, _pad: 0, ss_size: current.ss_size };
    if let Some(n) = new {
        if frame::on_altstack(&current, sp) {
            return Err(Errno::EPERM);
        }
        let mode = n.ss_flags & !sig::SS_FLAG_BITS;
        let st = if mode == sig::SS_DISABLE {
            StackT { ss_sp: 0, ss_flags: n.ss_flags, _pad: 0, ss_size: 0 }
        } else if mode == 0 || mode == sig::SS_ONSTACK {
            if n.ss_size < sig::MINSIGSTKSZ {
                return Err(Errno::ENOMEM);
            }
            StackT { _pad: 0, ..n }
        } else {
            return Err(Errno::EINVAL);
        };
        cur.task.signals.lock().altstack = st;
    }
    if !old.is_null() {
        cur.write_val(old.addr(), &o)?;
    }
    Ok(0)
}

/// `kill(2)`: to a process (pid > 0), the caller's group (0), every process (-1) or a group
/// (< -1). Signal 0 only checks that the target exists and may be signalled. A target the
/// caller may not signal (`check_kill_permission`: same real or effective uid as the target's
/// real or saved one, `CAP_KILL`, or SIGCONT within the session) is skipped; the call fails
/// with `EPERM` if no process of a group could be signalled (`-1` never fails for that).
pub fn sys_kill(cur: &mut Current, pid: i32, signo: i32) -> KResult<usize> {
    if signo != 0 {
        valid_signal(signo)?;
    }
    let uid = cur.process().creds.lock().uid;
    let info = SigInfo::kill(signo as u32, sig::SI_USER, cur.pid() as i32, uid);
    let targets = crate::exit::kill_targets(cur, pid)?;
    let mut sent = false;
    for p in &targets {
        if !crate::pidfd::may_signal(cur, p, signo as u32) {
            continue;
        }
        sent = true;
        if signo != 0 {
            crate::signal::send_from(cur, p, signo as u32, info);
        }
    }
    if !sent && pid != -1 {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

/// `tgkill(2)`: to thread `tid` of group `tgid`.
pub fn sys_tgkill(cur: &mut Current, tgid: i32, tid: i32, signo: i32) -> KResult<usize> {
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    tkill_common(cur, Some(tgid as u32), tid as u32, signo)
}

/// `tkill(2)`.
pub fn sys_tkill(cur: &mut Current, tid: i32, signo: i32) -> KResult<usize> {
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    tkill_common(cur, None, tid as u32, signo)
}

fn tkill_common(cur: &mut Current, tgid: Option<u32>, tid: u32, signo: i32) -> KResult<usize> {
    if signo != 0 {
        valid_signal(signo)?;
    }
    let task = kernel().task(tid).ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|g| g != task.process.pid) {
        return Err(Errno::ESRCH);
    }
    if signo != 0 {
        let uid = cur.process().creds.lock().uid;
        let info = SigInfo::kill(signo as u32, sig::SI_TKILL, cur.pid() as i32, uid);
        crate::signal::send_to_thread_from(cur, &task, signo as u32, info);
    }
    Ok(0)
}

/// `rt_sigreturn(2)`: restores the registers, mask, altstack and FPU state saved in the frame
/// the handler ran on. A corrupt frame kills the task with SIGSEGV, as Linux does.
pub fn sys_rt_sigreturn(cur: &mut Current) -> KResult<usize> {
    match crate::signal::deliver::sigreturn(cur) {
        Ok(()) => Ok(cur.ctx.regs.rax as usize),
        Err(_) => {
            // Linux's `signal_fault`: SIGSEGV forced, and the call returns 0 in whatever
            // registers were restored before the frame turned out bad.
            crate::signal::force_sigsegv(cur, UserAddr(cur.ctx.regs.rsp));
            cur.ctx.regs.rax = 0;
            Ok(0)
        }
    }
}

/// `pause(2)`: sleeps until a signal is delivered; always `EINTR` after a handler.
pub fn sys_pause(cur: &mut Current) -> KResult<usize> {
    crate::sched::wait_until(cur, &[], fs::PollEvents::empty(), None, |_| None::<KResult<usize>>).map_err(|_| Errno::ERESTARTNOHAND)
}

/// `rt_sigsuspend(2)`: waits with a temporary mask; the old mask comes back after the handler
/// (the frame saves it: `saved_mask`).
pub fn sys_rt_sigsuspend(cur: &mut Current, set: UserRef<u64>, size: usize) -> KResult<usize> {
    check_sigsetsize(size)?;
    let mask = SigSet::from_bits(cur.read_val::<u64>(set.addr())?).without_unblockable();
    {
        let mut s = cur.task.signals.lock();
        let old = s.mask;
        s.saved_mask = Some(old);
        s.mask = mask;
    }
    ksig::claim_process_signals(cur);
    let _ = crate::sched::wait_until(cur, &[], fs::PollEvents::empty(), None, |_| None::<KResult<usize>>);
    Err(Errno::ERESTARTNOHAND)
}

/// `rt_sigtimedwait(2)`: takes a pending signal of `set` (waiting up to the timeout), returns
/// its number and fills `info`.
pub fn sys_rt_sigtimedwait(cur: &mut Current, set: UserRef<u64>, info: UserAddr, timeout: UserAddr, size: usize) -> KResult<usize> {
    check_sigsetsize(size)?;
    let want = SigSet::from_bits(cur.read_val::<u64>(set.addr())?).without_unblockable();
    let deadline = if timeout.is_null() {
        None
    } else {
        let ts: uapi::structs::Timespec = cur.read_val(timeout)?;
        ts.validate()?;
        Some(std::time::Instant::now() + std::time::Duration::from_nanos(ts.as_nanos() as u64))
    };
    let take = |cur: &mut Current| {
        let own = {
            let mut s = cur.task.signals.lock();
            let ready = s.pending.set.intersection(want);
            ready.first().and_then(|signo| s.pending.take_signal(signo))
        };
        own.or_else(|| ksig::take_process_signal(cur, want))
    };
    let got = if let Some(p) = take(cur) {
        p
    } else {
        // The mask stays as it is: a sent signal wakes a sleeper whether or not it is blocked,
        // and `take` finds it first. (Linux unblocks the set while sleeping but keeps it in
        // `real_blocked`, so pid 1's blocked signals are still not dropped as ignored.)
        cur.task.signals.lock().waiting = want;
        let r = crate::sched::wait_until(cur, &[], fs::PollEvents::empty(), deadline, |c| take(c).map(Ok));
        cur.task.signals.lock().waiting = SigSet::default();
        match r {
            Ok(p) => p,
            Err(Errno::ETIMEDOUT) => return Err(Errno::EAGAIN),
            Err(_) => return Err(Errno::EINTR),
        }
    };
    if !info.is_null() {
        cur.write_bytes(info, got.info.as_bytes())?;
    }
    Ok(got.signo as usize)
}

/// `rt_sigqueueinfo(2)`: sends with caller-supplied siginfo to a process. In Linux's order:
/// `EFAULT`, `EPERM` for a forged kernel code, `ESRCH`, then `EINVAL` for a bad signal
/// number; signal 0 only checks that the process exists.
pub fn sys_rt_sigqueueinfo(cur: &mut Current, tgid: i32, signo: i32, uinfo: UserAddr) -> KResult<usize> {
    let mut info = read_queued_info(cur, tgid, uinfo)?;
    let p = u32::try_from(tgid).ok().and_then(crate::exit::process_of_id).ok_or(Errno::ESRCH)?;
    let signo = if signo == 0 { return Ok(0) } else { valid_signal(signo)? };
    info.signo = signo as i32;
    check_sigpending(&p, signo, &info)?;
    crate::signal::send_from(cur, &p, signo, info);
    Ok(0)
}

/// `RLIMIT_SIGPENDING` (Linux's `__sigqueue_alloc` and its caller): a queued real-time signal
/// with a user-supplied code fails with `EAGAIN` when the target's real user already has as
/// many signals queued as the target's limit (standard signals and `kill` never fail).
fn check_sigpending(target: &crate::task::Process, signo: u32, info: &SigInfo) -> KResult<()> {
    if !sig::is_rt_signal(signo) || info.code >= 0 {
        return Ok(());
    }
    let limit = target.rlimit_cur(uapi::flags::RLIMIT_SIGPENDING);
    let uid = target.creds().uid;
    let procs: Vec<_> = kernel().processes.lock().values().filter_map(|p| p.upgrade()).collect();
    let queued: usize = procs.iter().filter(|p| p.creds().uid == uid).flat_map(|p| p.live_threads()).map(|t| t.signals.lock().pending.queued_count()).sum();
    if queued as u64 >= limit {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

/// `rt_tgsigqueueinfo(2)`: as `rt_sigqueueinfo`, to thread `tid` of group `tgid` (`EINVAL`
/// for non-positive ids, after the siginfo is read).
pub fn sys_rt_tgsigqueueinfo(cur: &mut Current, tgid: i32, tid: i32, signo: i32, uinfo: UserAddr) -> KResult<usize> {
    cur.read_bytes(uinfo, &mut [0u8; 128])?;
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let mut info = read_queued_info(cur, tid, uinfo)?;
    let task = kernel().task(tid as u32).filter(|t| t.process.pid == tgid as u32).ok_or(Errno::ESRCH)?;
    let signo = if signo == 0 { return Ok(0) } else { valid_signal(signo)? };
    info.signo = signo as i32;
    check_sigpending(&task.process, signo, &info)?;
    crate::signal::send_to_thread_from(cur, &task, signo, info);
    Ok(0)
}

/// Reads the siginfo of `rt_(tg)sigqueueinfo` (`EFAULT`); `EPERM` if it forges a kernel code
/// (`si_code >= 0` or `SI_TKILL`) and `target` is not the caller (Linux compares the pid
/// argument: the tgid for `rt_sigqueueinfo`, the tid for `rt_tgsigqueueinfo`).
fn read_queued_info(cur: &mut Current, target: i32, uinfo: UserAddr) -> KResult<SigInfo> {
    let mut raw = [0u8; 128];
    cur.read_bytes(uinfo, &mut raw)?;
    let info: SigInfo = uapi::user::from_bytes(&raw);
    if (info.code >= 0 || info.code == sig::SI_TKILL) && target as u32 != cur.task.tid {
        return Err(Errno::EPERM);
    }
    Ok(info)
}

/// `restart_syscall(2)`: continues a syscall interrupted with `ERESTART_RESTARTBLOCK` (an
/// interrupted `nanosleep` whose signal ran no handler sleeps out its remaining time).
pub fn sys_restart_syscall(cur: &mut Current) -> KResult<usize> {
    match cur.restart_block.take() {
        Some(deadline) => crate::syscall::time::sleep_until_deadline(cur, deadline, UserAddr::NULL),
        None => Err(Errno::EINTR),
    }
}

/// `SFD_CLOEXEC` (`O_CLOEXEC`).
const SFD_CLOEXEC: i32 = uapi::flags::OpenFlags::CLOEXEC.bits() as i32;
/// `SFD_NONBLOCK` (`O_NONBLOCK`).
const SFD_NONBLOCK: i32 = uapi::flags::OpenFlags::NONBLOCK.bits() as i32;

/// `signalfd4(2)`: `EINVAL` unless `sizemask` is 8, `EFAULT`, `EINVAL` for flags other than
/// `SFD_CLOEXEC`/`SFD_NONBLOCK`. `fd` -1 creates a signalfd; another fd must be one (`EBADF`,
/// `EINVAL`) and takes the new mask (its flags are left alone), as Linux's `do_signalfd4`.
pub fn sys_signalfd4(cur: &mut Current, fd: super::args::Fd, mask: SigSetIn, sizemask: usize, flags: SignalfdFlags) -> KResult<usize> {
    check_sigsetsize(sizemask)?;
    let mask = SigSet::from_bits(cur.read_val::<u64>(mask.0)?);
    let flags = flags.0;
    if flags & !(SFD_CLOEXEC | SFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    if fd.0 != -1 {
        let file = crate::fs_glue::file(cur, fd)?;
        if file.flags().contains(uapi::flags::OpenFlags::PATH) {
            return Err(Errno::EBADF); // fdget: an O_PATH descriptor counts as not open
        }
        let sfd = file.file_like().and_then(|l| l.as_any().downcast_ref::<crate::signalfd::SignalFd>()).ok_or(Errno::EINVAL)?;
        sfd.set_mask(mask);
        return Ok(fd.0 as usize);
    }
    let creds = cur.process().creds();
    let sfd = crate::signalfd::SignalFd::new(mask, (creds.fsuid, creds.fsgid));
    let mut status = uapi::flags::OpenFlags::RDWR;
    if flags & SFD_NONBLOCK != 0 {
        status |= uapi::flags::OpenFlags::NONBLOCK;
    }
    let fd_flags = if flags & SFD_CLOEXEC != 0 { fs::FdFlags::CLOEXEC } else { fs::FdFlags::empty() };
    let fd = cur.process().files().lock().alloc(fs::OpenFile::new_anonymous(sfd, status), fd_flags)?;
    Ok(fd as usize)
}

/// `signalfd(2)`: `signalfd4` with no flags.
pub fn sys_signalfd(cur: &mut Current, fd: super::args::Fd, mask: SigSetIn, sizemask: usize) -> KResult<usize> {
    sys_signalfd4(cur, fd, mask, sizemask, SignalfdFlags(0))
}

/// `signalfd4`'s flags: strace prints `SFD_CLOEXEC|SFD_NONBLOCK`.
#[derive(Clone, Copy, Debug)]
pub struct SignalfdFlags(pub i32);

impl super::args::SysArg for SignalfdFlags {
    fn from_raw(raw: u64) -> Self {
        SignalfdFlags(raw as i32)
    }
    fn format(i: usize, args: &[u64; 6], _: Option<&KResult<usize>>, _: &mut Current, out: &mut String) {
        let v = args[i] as i32;
        let mut parts = Vec::new();
        if v & SFD_CLOEXEC != 0 {
            parts.push("SFD_CLOEXEC".to_string());
        }
        if v & SFD_NONBLOCK != 0 {
            parts.push("SFD_NONBLOCK".to_string());
        }
        let rest = v & !(SFD_CLOEXEC | SFD_NONBLOCK);
        if rest != 0 || parts.is_empty() {
            parts.push(if rest == 0 { "0".to_string() } else { format!("{rest:#x}") });
        }
        out.push_str(&parts.join("|"));
    }
}
