//! Guest ptrace (Linux's `kernel/ptrace.c` + `arch/x86/kernel/ptrace.c`), implemented on the
//! kernel's own task model: the host ptrace between umbra and its stubs stays invisible to
//! guests. A tracee stops on its own kernel stack (`signal::trace::ptrace_stop`), publishing its
//! registers in its `PtraceState`; the tracer's requests read and change them there and its
//! `wait` reports the stops (`link::wait_scan`). Stops happen at signal delivery and group
//! stops (`signal/`), at syscall entry and exit, and at the events (`events`).

pub mod events;
pub mod link;
pub mod regs;
pub mod vm;

pub use events::{exec_event, exit_event, syscall_enter, syscall_exit};
pub use link::{hides_exit, task_exited, tracer_exited, wait_scan, TraceReport};

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::ptrace::{PtraceState, Resume, ResumeMode};
use crate::task::Task;
use std::sync::Arc;
use uapi::ptrace as pt;
use uapi::signal::{self as sig, SigInfo, SigSet};
use uapi::{Errno, KResult, UserAddr};

/// `ptrace(2)`.
pub fn sys_ptrace(cur: &mut Current, request: u64, pid: i64, addr: u64, data: u64) -> KResult<usize> {
    match request {
        pt::TRACEME => return link::traceme(cur),
        pt::ATTACH => return link::attach(cur, pid, None),
        pt::SEIZE => return link::attach(cur, pid, Some((addr, data))),
        _ => {}
    }
    let task = traced_by_caller(cur, pid)?;
    match request {
        pt::KILL => return kill(&task),
        pt::INTERRUPT => return interrupt(&task),
        _ => {}
    }
    if !is_stopped(&task.ptrace.lock()) {
        return Err(Errno::ESRCH);
    }
    stopped_request(cur, &task, request, addr, data)
}

/// The task `pid` if the caller traces it (`ESRCH` otherwise, as `ptrace_check_attach`).
fn traced_by_caller(cur: &Current, pid: i64) -> KResult<Arc<Task>> {
    let tid = u32::try_from(pid).map_err(|_| Errno::ESRCH)?;
    let task = kernel().task(tid).ok_or(Errno::ESRCH)?;
    let tracer = task.ptrace.lock().tracer().ok_or(Errno::ESRCH)?;
    if !Arc::ptr_eq(&tracer, cur.process()) {
        return Err(Errno::ESRCH);
    }
    Ok(task)
}

/// In a ptrace stop the tracer has not answered yet.
fn is_stopped(st: &PtraceState) -> bool {
    st.stop.is_some() && st.resume.is_none() && st.exit_report.is_none()
}

/// `PTRACE_KILL`: SIGKILL to the tracee.
fn kill(task: &Arc<Task>) -> KResult<usize> {
    crate::signal::send_to_task(task, sig::SIGKILL, SigInfo::kill(sig::SIGKILL, sig::SI_USER, 0, 0));
    Ok(0)
}

/// `PTRACE_INTERRUPT` (seized tracees only, `EIO` otherwise): the tracee traps with
/// `PTRACE_EVENT_STOP` at its next chance; a sleeping syscall is interrupted for it.
fn interrupt(task: &Arc<Task>) -> KResult<usize> {
    {
        let mut st = task.ptrace.lock();
        if !st.seized {
            return Err(Errno::EIO);
        }
        if is_stopped(&st) {
            return Ok(0);
        }
        st.interrupt = true;
    }
    crate::sched::wake_task_for_signal(task);
    if task.state() == crate::task::TaskState::Stopped {
        crate::sched::wake(task);
    }
    Ok(0)
}

/// Resumes a stopped tracee with `signo` in `mode`.
fn resume(task: &Arc<Task>, signo: u64, mode: ResumeMode) -> KResult<usize> {
    let signo = link::valid_signal(signo)?;
    task.ptrace.lock().resume = Some(Resume { signo, mode });
    crate::sched::wake(task);
    Ok(0)
}

/// The requests that need the tracee in a ptrace stop.
fn stopped_request(cur: &mut Current, task: &Arc<Task>, request: u64, addr: u64, data: u64) -> KResult<usize> {
    let out = UserAddr(data);
    match request {
        pt::CONT => resume(task, data, ResumeMode::Cont),
        pt::SYSCALL => resume(task, data, ResumeMode::Syscall),
        pt::SINGLESTEP => resume(task, data, ResumeMode::Step),
        pt::SYSEMU => resume(task, data, ResumeMode::Sysemu),
        pt::SYSEMU_SINGLESTEP => resume(task, data, ResumeMode::SysemuStep),
        pt::DETACH => link::detach(task, data),
        pt::LISTEN => listen(task),
        pt::PEEKTEXT | pt::PEEKDATA => {
            let mut w = [0u8; 8];
            if task.mm().space.lock().read_forced(addr, &mut w) != 8 {
                return Err(Errno::EIO);
            }
            cur.write_bytes(out, &w).map(|_| 0)
        }
        pt::POKETEXT | pt::POKEDATA => {
            if task.mm().space.lock().write_forced(addr, &data.to_le_bytes()) != 8 {
                return Err(Errno::EIO);
            }
            Ok(0)
        }
        pt::PEEKUSR => {
            let v = regs::peek_user(&task.ptrace.lock(), addr)?;
            cur.write_val(out, &v).map(|_| 0)
        }
        pt::POKEUSR => regs::poke_user(&mut task.ptrace.lock(), addr, data).map(|_| 0),
        pt::GETREGS => {
            let r = regs::regs_bytes(&task.ptrace.lock().regs);
            cur.write_bytes(out, &r).map(|_| 0)
        }
        pt::SETREGS => {
            let mut b = vec![0u8; pt::USER_REGS_SIZE as usize];
            cur.read_bytes(out, &mut b)?;
            regs::set_all(&mut task.ptrace.lock(), &regs::regs_from_bytes(&b)).map(|_| 0)
        }
        pt::GETFPREGS => {
            let fx = regs::fxsave(&task.ptrace.lock())?.to_vec();
            cur.write_bytes(out, &fx).map(|_| 0)
        }
        pt::SETFPREGS => {
            let mut fx = vec![0u8; 512];
            cur.read_bytes(out, &mut fx)?;
            regs::set_fxsave(&mut task.ptrace.lock(), &fx).map(|_| 0)
        }
        pt::GETREGSET => get_regset(cur, task, addr, out),
        pt::SETREGSET => set_regset(cur, task, addr, out),
        pt::GETSIGINFO => {
            let info = task.ptrace.lock().siginfo.ok_or(Errno::EINVAL)?;
            cur.write_bytes(out, info.as_bytes()).map(|_| 0)
        }
        pt::SETSIGINFO => {
            let info: SigInfo = cur.read_val(out)?;
            let mut st = task.ptrace.lock();
            if st.siginfo.is_none() {
                return Err(Errno::EINVAL);
            }
            st.siginfo = Some(info);
            Ok(0)
        }
        pt::SETOPTIONS => {
            let o = u32::try_from(data).ok().filter(|o| o & !pt::O_MASK == 0).ok_or(Errno::EINVAL)?;
            task.ptrace.lock().options = o;
            Ok(0)
        }
        pt::GETEVENTMSG => {
            let m = task.ptrace.lock().event_msg;
            cur.write_val(out, &m).map(|_| 0)
        }
        pt::GETSIGMASK => {
            if addr != 8 {
                return Err(Errno::EINVAL);
            }
            let m = task.signals.lock().mask.bits();
            cur.write_val(out, &m).map(|_| 0)
        }
        pt::SETSIGMASK => {
            if addr != 8 {
                return Err(Errno::EINVAL);
            }
            let m: u64 = cur.read_val(out)?;
            task.signals.lock().mask = SigSet::from_bits(m).without_unblockable();
            Ok(0)
        }
        pt::PEEKSIGINFO => peek_siginfo(cur, task, UserAddr(addr), out),
        pt::GET_SYSCALL_INFO => {
            let (bytes, size) = regs::syscall_info(&task.ptrace.lock());
            let n = usize::try_from(addr).unwrap_or(usize::MAX).min(size);
            cur.write_bytes(out, &bytes[..n])?;
            Ok(size)
        }
        _ => Err(Errno::EIO),
    }
}

/// `PTRACE_LISTEN` (`EIO` unless a seized tracee in a group-stop): it stays stopped, but the
/// next event (a SIGCONT: `PTRACE_EVENT_STOP` with SIGTRAP) ends the stop and traps again —
/// at once if one is already due.
fn listen(task: &Arc<Task>) -> KResult<usize> {
    let mut st = task.ptrace.lock();
    if !st.seized || !st.stop.is_some_and(|s| s.group) {
        return Err(Errno::EIO);
    }
    if st.interrupt {
        st.resume = Some(Resume::default());
        drop(st);
        crate::sched::wake(task);
        return Ok(0);
    }
    st.listening = true;
    Ok(0)
}

/// Reads a `struct iovec` at `at`.
fn read_iovec(cur: &mut Current, at: UserAddr) -> KResult<(u64, u64)> {
    let v: [u64; 2] = cur.read_val(at)?;
    Ok((v[0], v[1]))
}

/// `PTRACE_GETREGSET`: copies at most `iov_len` bytes of regset `ty` and sets `iov_len` to the
/// amount copied.
fn get_regset(cur: &mut Current, task: &Arc<Task>, ty: u64, iov: UserAddr) -> KResult<usize> {
    let (base, len) = read_iovec(cur, iov)?;
    let bytes = regs::regset(&task.ptrace.lock(), ty)?;
    let n = bytes.len().min(usize::try_from(len).unwrap_or(usize::MAX));
    cur.write_bytes(UserAddr(base), &bytes[..n])?;
    cur.write_val(iov.checked_add(8).ok_or(Errno::EFAULT)?, &(n as u64))?;
    Ok(0)
}

/// `PTRACE_SETREGSET`: replaces the start of regset `ty` with `iov_len` bytes.
fn set_regset(cur: &mut Current, task: &Arc<Task>, ty: u64, iov: UserAddr) -> KResult<usize> {
    let (base, len) = read_iovec(cur, iov)?;
    let size = regs::regset_size(&task.ptrace.lock(), ty)?;
    let n = size.min(usize::try_from(len).unwrap_or(usize::MAX));
    let mut data = vec![0u8; n];
    cur.read_bytes(UserAddr(base), &mut data)?;
    regs::set_regset(&mut task.ptrace.lock(), ty, &data)?;
    cur.write_val(iov.checked_add(8).ok_or(Errno::EFAULT)?, &(n as u64))?;
    Ok(0)
}

/// `PTRACE_PEEKSIGINFO`: copies queued signals (the thread's, or with
/// `PTRACE_PEEKSIGINFO_SHARED` the process's) from position `off` without dequeuing them.
fn peek_siginfo(cur: &mut Current, task: &Arc<Task>, args: UserAddr, out: UserAddr) -> KResult<usize> {
    let a: pt::PeekSiginfoArgs = cur.read_val(args)?;
    if a.flags & !pt::PEEKSIGINFO_SHARED != 0 || a.nr < 0 {
        return Err(Errno::EINVAL);
    }
    let shared = a.flags & pt::PEEKSIGINFO_SHARED != 0;
    let mut infos: Vec<SigInfo> = Vec::new();
    let threads = if shared { task.process.live_threads() } else { vec![task.clone()] };
    for t in threads {
        infos.extend(t.signals.lock().pending.queued().filter(|p| p.shared == shared).map(|p| p.info));
    }
    let from = usize::try_from(a.off).unwrap_or(usize::MAX);
    let mut n = 0usize;
    for (i, info) in infos.iter().skip(from).take(a.nr as usize).enumerate() {
        let at = out.checked_add((i * 128) as u64).ok_or(Errno::EFAULT)?;
        if cur.write_bytes(at, info.as_bytes()).is_err() {
            return if n == 0 { Err(Errno::EFAULT) } else { Ok(n) };
        }
        n += 1;
    }
    Ok(n)
}
