//! `fork`, `vfork`, `clone` and `clone3` (Linux's `kernel/fork.c` `copy_process`): a new
//! thread in the same process, or a new process whose memory is a copy-on-write copy of the
//! parent's on a stub of its own. Which parts are shared and which copied is decided by the
//! `CLONE_*` flags, one by one, as in Linux.

use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::signal::SignalState;
use crate::task::{Mm, NewProcess, Process, Task};
use fs::klock::KMutex;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use uapi::flags::CloneFlags;
use uapi::structs::CloneArgs;
use uapi::{Errno, KResult, UserAddr};

/// umbra's cap on live tasks: the guest is root, and Linux applies no `RLIMIT_NPROC` to root,
/// so without it a fork bomb would exhaust the host. Beyond it `fork` fails with `EAGAIN`.
pub const MAX_TASKS: usize = 1000;

/// The part of `MAX_TASKS` one session may hold: the rest stays free for other sessions, so a
/// fork bomb in one session still leaves the shell of another room to start `kill` or `ps`
/// (as Linux keeps the last threads for root while `RLIMIT_NPROC` stops the others).
pub const MAX_SESSION_TASKS: usize = MAX_TASKS * 9 / 10;

/// `RLIMIT_NPROC` (Linux's check in `copy_process`): a caller whose real uid already runs
/// that many tasks may not start another, unless its real uid is 0 or it holds
/// `CAP_SYS_RESOURCE` or `CAP_SYS_ADMIN`.
fn nproc_limit_reached(cur: &Current) -> bool {
    let (uid, privileged) = {
        let c = cur.process().creds.lock();
        (c.uid, c.capable(fs::capability::cap::SYS_RESOURCE) || c.capable(fs::capability::cap::SYS_ADMIN))
    };
    if uid == 0 || privileged {
        return false;
    }
    let limit = cur.process().rlimit_cur(uapi::flags::RLIMIT_NPROC);
    let Ok(limit) = usize::try_from(limit) else { return false };
    let tasks = kernel().tasks.lock();
    if tasks.len() < limit {
        return false;
    }
    tasks.values().filter_map(std::sync::Weak::upgrade).filter(|t| t.process.creds.lock().uid == uid).count() >= limit
}

/// Whether umbra's task cap refuses a new task for `cur` (checked before any host work, so a
/// refused fork is cheap).
fn task_cap_reached(cur: &Current) -> bool {
    let tasks = kernel().tasks.lock();
    if tasks.len() >= MAX_TASKS {
        return true;
    }
    if tasks.len() < MAX_SESSION_TASKS {
        return false;
    }
    let sid = cur.process().sid.load(Ordering::Relaxed);
    let in_session = tasks.values().filter_map(std::sync::Weak::upgrade).filter(|t| t.process.sid.load(Ordering::Relaxed) == sid).count();
    in_session >= MAX_SESSION_TASKS
}

/// The namespace flags umbra does not implement.
fn unsupported(f: CloneFlags) -> bool {
    f.intersects(
        CloneFlags::NEWNS | CloneFlags::NEWUTS | CloneFlags::NEWIPC | CloneFlags::NEWUSER | CloneFlags::NEWPID | CloneFlags::NEWNET | CloneFlags::NEWCGROUP | CloneFlags::NEWTIME,
    )
}

/// Validates flag combinations in Linux's order (`copy_process`).
fn check_flags(f: CloneFlags) -> KResult<()> {
    if f.contains(CloneFlags::THREAD) && !f.contains(CloneFlags::SIGHAND) {
        return Err(Errno::EINVAL);
    }
    if f.contains(CloneFlags::SIGHAND) && !f.contains(CloneFlags::VM) {
        return Err(Errno::EINVAL);
    }
    if f.contains(CloneFlags::FS) && f.contains(CloneFlags::NEWNS) {
        return Err(Errno::EINVAL);
    }
    if unsupported(f) {
        return Err(Errno::EINVAL);
    }
    if f.contains(CloneFlags::PIDFD) && f.contains(CloneFlags::DETACHED) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The child's memory: shared (`CLONE_VM`) or a copy-on-write fork on a new stub.
fn child_mm(cur: &Current, f: CloneFlags) -> KResult<Arc<Mm>> {
    let mm = cur.mm();
    if f.contains(CloneFlags::VM) {
        return Ok(mm);
    }
    let host = cur.cpu().host().new_address_space(&kernel().platform).map_err(|e| {
        log::warn!("fork: cannot start a stub: {e}");
        Errno::EAGAIN
    })?;
    let space = mm.space.lock().fork()?;
    crate::ipc::shm::mm_forked(cur.pid(), &space);
    Ok(Arc::new(Mm::new(space, host)))
}

/// The child's starting registers: the parent's, returning 0, on `stack` if given, with the
/// parent's FPU state.
fn child_context(cur: &Current, tid: u32, a: &CloneArgs, f: CloneFlags) -> KResult<arch_um::UserContext> {
    let mut ctx = cur.ctx.clone();
    ctx.id = tid as u64;
    ctx.regs.rax = 0;
    if a.stack != 0 {
        ctx.regs.rsp = a.stack.checked_add(a.stack_size).ok_or(Errno::EINVAL)?;
    }
    if f.contains(CloneFlags::SETTLS) {
        ctx.regs.fs_base = a.tls;
    }
    let fpu = cur.mm().host.lock().fpu_of(&cur.ctx).map_err(|_| Errno::EAGAIN)?;
    ctx.set_fpu(fpu);
    Ok(ctx)
}

/// A new thread group for a `fork`-style clone (not yet registered: see `register_process`).
fn new_process(cur: &Current, pid: u32, a: &CloneArgs, f: CloneFlags) -> Arc<Process> {
    let me = cur.process();
    let parent = if f.contains(CloneFlags::PARENT) { me.parent.lock().clone() } else { Arc::downgrade(me) };
    let files = if f.contains(CloneFlags::FILES) { me.files() } else { Arc::new(KMutex::new(me.files().lock().clone())) };
    let fsc = if f.contains(CloneFlags::FS) { me.fs() } else { Arc::new(KMutex::new(me.fs().lock().clone())) };
    let sighand = if f.contains(CloneFlags::SIGHAND) { me.sighand() } else { Arc::new(KMutex::new(me.sighand().lock().clone())) };
    let child = Process::new(
        NewProcess {
            pid,
            parent,
            pgid: me.pgid.load(Ordering::Relaxed),
            sid: me.sid.load(Ordering::Relaxed),
            creds: me.creds(),
            files,
            fs: fsc,
            sighand,
            rlimits: *me.rlimits.lock(),
            exit_signal: (a.exit_signal & 0xff) as u32,
            exe: me.exe.lock().clone(),
            exe_name: me.exe_name.lock().clone(),
            ranges: (*me.arg_range.lock(), *me.env_range.lock()),
            has_ctty: me.has_ctty.load(Ordering::Relaxed),
        },
        kernel().uptime_ns(),
    );
    *child.prctl.lock() = me.prctl.lock().forked();
    child.oom_score_adj.store(me.oom_score_adj.load(Ordering::Relaxed), Ordering::Relaxed);
    child.oom_score_adj_min.store(me.oom_score_adj_min.load(Ordering::Relaxed), Ordering::Relaxed);
    child.personality.store(me.personality.load(Ordering::Relaxed), Ordering::Relaxed);
    child
}

/// Makes a new process known: a child of its parent, in the process table.
fn register_process(p: &Arc<Process>) {
    if let Some(pp) = p.parent.lock().upgrade() {
        pp.children.lock().push(p.clone());
    }
    kernel().processes.lock().insert(p.pid, Arc::downgrade(p));
}

/// `CLONE_PIDFD`: a pidfd of the new process (of the new thread with `CLONE_THREAD`) as a
/// close-on-exec descriptor of the parent, its number stored at `a.pidfd`. On `EFAULT` the
/// descriptor is closed again and the clone fails, as Linux's `copy_process` undoes itself.
fn give_pidfd(cur: &mut Current, a: &CloneArgs, f: CloneFlags, process: &Arc<Process>, task: &Arc<Task>) -> KResult<()> {
    let pidfd = if f.contains(CloneFlags::THREAD) { crate::pidfd::PidFd::of_thread(task) } else { crate::pidfd::PidFd::of_process(process) };
    let fd = crate::pidfd::install(cur, crate::pidfd::open_file(pidfd, false))?;
    if let Err(e) = cur.write_val(UserAddr(a.pidfd), &fd) {
        let closed = cur.process().files().lock().close(fd);
        drop(closed);
        return Err(e);
    }
    Ok(())
}

/// Creates the child and starts it; returns its tid (the parent's return value).
pub fn do_clone(cur: &mut Current, a: CloneArgs) -> KResult<usize> {
    let f = CloneFlags::from_bits_truncate(a.flags & !0xff);
    if f.contains(CloneFlags::PIDFD | CloneFlags::PARENT_SETTID) && a.pidfd == a.parent_tid {
        return Err(Errno::EINVAL);
    }
    check_flags(f)?;
    // A signal that arrived meanwhile (a group kill of a fork bomb) is taken first and the
    // call restarted, so no child slips out of it (Linux's check in `copy_process`).
    if crate::sched::signal_pending(cur) {
        return Err(Errno::ERESTARTNOINTR);
    }
    if nproc_limit_reached(cur) {
        return Err(Errno::EAGAIN);
    }
    if task_cap_reached(cur) {
        log::info!("fork refused: umbra's task limit ({MAX_TASKS}, {MAX_SESSION_TASKS} per session) reached");
        return Err(Errno::EAGAIN);
    }
    let mm = child_mm(cur, f)?;
    let tid = kernel().alloc_pid();
    let ctx = child_context(cur, tid, &a, f)?;
    let process = if f.contains(CloneFlags::THREAD) { cur.process().clone() } else { new_process(cur, tid, &a, f) };
    let signals = {
        let s = cur.task.signals.lock();
        let mut n = SignalState { mask: s.mask, ..Default::default() };
        if !f.contains(CloneFlags::VM) || f.contains(CloneFlags::VFORK) {
            n.altstack = s.altstack;
        } else {
            n.altstack.ss_flags = uapi::signal::SS_DISABLE;
        }
        n
    };
    let comm = cur.task.comm.lock().clone();
    let nice = cur.task.nice.load(Ordering::Relaxed);
    let task = Task::new(tid, process.clone(), mm.clone(), signals, comm, nice);
    if f.contains(CloneFlags::PIDFD) {
        give_pidfd(cur, &a, f, &process, &task)?;
    }
    if !f.contains(CloneFlags::THREAD) {
        register_process(&process);
    }
    if f.contains(CloneFlags::CHILD_CLEARTID) {
        task.clear_child_tid.set(a.child_tid);
    }
    if f.contains(CloneFlags::PARENT_SETTID) {
        // Linux's `kernel_clone` ignores a failure here: the child exists by now.
        let _ = cur.write_val(UserAddr(a.parent_tid), &tid);
    }
    if f.contains(CloneFlags::CHILD_SETTID) {
        // Likewise for the child's copy (Linux's `schedule_tail` ignores it too).
        let _ = mm.space.lock().write_val(a.child_tid, &tid);
    }
    kernel().tasks.lock().insert(tid, Arc::downgrade(&task));
    let trace_event = crate::ptrace::events::clone_event(cur, f, (a.exit_signal & 0xff) as u32);
    crate::ptrace::events::attach_child(cur, &task, trace_event, f);
    cur.cpu().spawn(task, ctx)?;
    crate::ptrace::events::report_clone(cur, trace_event, tid);
    if f.contains(CloneFlags::VFORK) {
        wait_for_vfork_child(cur, &process);
        crate::ptrace::events::report_vfork_done(cur, tid);
    }
    Ok(tid as usize)
}

/// The `vfork` parent sleeps until the child execs or exits; ordinary signals wait until
/// then (only SIGKILL cuts it short), as Linux's killable `wait_for_vfork_done`.
fn wait_for_vfork_child(cur: &mut Current, child: &Arc<Process>) {
    crate::sched::wait_killable(cur, &[&child.vfork_event], || child.vfork_done.load(Ordering::SeqCst));
}

/// `fork(2)`.
pub fn sys_fork(cur: &mut Current) -> KResult<usize> {
    do_clone(cur, CloneArgs { exit_signal: uapi::signal::SIGCHLD as u64, ..Default::default() })
}

/// `vfork(2)`.
pub fn sys_vfork(cur: &mut Current) -> KResult<usize> {
    let flags = (CloneFlags::VM | CloneFlags::VFORK).bits();
    do_clone(cur, CloneArgs { flags, exit_signal: uapi::signal::SIGCHLD as u64, ..Default::default() })
}

/// `clone(2)` (x86-64 argument order: flags, stack, parent_tid, child_tid, tls).
pub fn sys_clone(cur: &mut Current, flags: u64, stack: u64, parent_tid: u64, child_tid: u64, tls: u64) -> KResult<usize> {
    // The legacy call has no pidfd field: `CLONE_PIDFD` stores it at `parent_tid`.
    let pidfd = if flags & CloneFlags::PIDFD.bits() != 0 { parent_tid } else { 0 };
    let a = CloneArgs { flags: flags & !0xff, exit_signal: flags & 0xff, stack, parent_tid, child_tid, tls, pidfd, ..Default::default() };
    do_clone(cur, a)
}

/// `clone3(2)`.
pub fn sys_clone3(cur: &mut Current, uargs: UserAddr, size: usize) -> KResult<usize> {
    // Linux's `copy_struct_from_user`: larger than a page is E2BIG, smaller than VER0 EINVAL.
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    if size < uapi::structs::CLONE_ARGS_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    let mut buf = vec![0u8; size];
    cur.read_bytes(uargs, &mut buf)?;
    let a: CloneArgs = uapi::user::from_bytes(&buf);
    if buf.len() > std::mem::size_of::<CloneArgs>() && buf[std::mem::size_of::<CloneArgs>()..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    if a.exit_signal > 64 || a.set_tid != 0 || a.set_tid_size != 0 {
        return Err(Errno::EINVAL);
    }
    if a.stack == 0 && a.stack_size != 0 || a.stack != 0 && a.stack_size == 0 {
        return Err(Errno::EINVAL);
    }
    do_clone(cur, a)
}
