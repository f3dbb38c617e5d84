//! The life of a task on its kernel stack (Asterinas's `ReturnReason` loop, UML's
//! `userspace()`): deliver signals, sync the page table to the stub, run guest code until an
//! event, handle it, repeat.

use crate::sched::Current;
use crate::exit;
use crate::signal::deliver::{deliver_pending, Outcome};
use crate::signal::{self as ksig};
use crate::syscall;
use arch_um::{Context, Event};
use mm::fault::FaultError;
use std::sync::atomic::Ordering;
use std::time::Instant;
use uapi::signal::{self as sig, SigInfo};

/// A task's life on its kernel stack (the CPU's task entry): run it until it exits, then end
/// it as a thread (and its process if it was the last thread).
pub fn task_main(cpu: std::sync::Arc<crate::sched::Cpu>, task: std::sync::Arc<crate::task::Task>, ctx: arch_um::UserContext) {
    let mut host = cpu.host();
    let mut cur = Current::new(task, ctx, cpu);
    run_task(&mut cur, &mut host);
    crate::ptrace::exit_event(&mut cur);
    exit::task_finished(&mut cur);
}

/// Runs `cur` until it exits.
pub fn run_task(cur: &mut Current, cpu: &mut Context) {
    loop {
        if cur.task.exited.load(Ordering::SeqCst) {
            return;
        }
        if cur.process().exiting.load(Ordering::SeqCst) {
            cur.task.exited.store(true, Ordering::SeqCst);
            return;
        }
        if let Outcome::Die(status) = deliver_pending(cur) {
            exit::exit_group(cur, status);
            return;
        }
        if cur.process().stop.lock().stopped {
            if ksig::trace::is_traced(cur) {
                ksig::trace::group_stop(cur);
            } else {
                crate::signal::job::stop_until_continued(cur);
            }
            continue;
        }
        if cur.cpu().take_ticks() > 0 {
            cur.cpu().clone().tick();
            // While switched out the task may have been sent a signal (even SIGKILL) or
            // stopped: look again before running guest code.
            continue;
        }
        // User time here; the scheduler charges the rest as system time (time spent switched
        // out between two guest runs is not this task's).
        cur.cpu().account_current();
        let start = Instant::now();
        let ev = run_guest(cur, cpu);
        charge(&cur.task.user_ns, start.elapsed());
        handle_event(cur, ev);
    }
}

fn charge(counter: &std::sync::atomic::AtomicU64, d: std::time::Duration) {
    counter.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
}

/// Syncs the task's memory to its stub and runs guest code until the next event: the page
/// table is synced into the stub's batch under the memory map's lock, which is released before
/// the guest runs; only the stub itself stays taken while it runs guest code.
fn run_guest(cur: &mut Current, cpu: &mut Context) -> Event {
    let mm = cur.mm();
    let mut host = mm.host.lock();
    mm.space.lock().sync(&mut *host);
    cpu.run(&mut cur.ctx, &mut host)
}

/// Handles one event of a running task.
fn handle_event(cur: &mut Current, ev: Event) {
    match ev {
        Event::Syscall => syscall::handle(cur),
        Event::Fault { addr, ip, code } => handle_fault(cur, addr, ip, code),
        Event::Exception { signo, siginfo } => handle_exception(cur, signo, &siginfo),
        Event::Interrupt => cur.cpu().clone().tick(),
        Event::HostMappingsFull => flush_host_mappings(cur),
        Event::AddressSpaceDied => {
            let pid = cur.mm().host.lock().pid();
            log::error!(
                "pid {}: its stub (host pid {pid}) died or a host mapping failed; killing the process (rip {:#x} rsp {:#x})",
                cur.pid(),
                cur.ctx.regs.rip,
                cur.ctx.regs.rsp
            );
            exit::exit_group(cur, ksig::killed_by(sig::SIGKILL));
        }
    }
}

/// The stub has no room for more host mappings (the host's `vm.max_map_count`): they are a
/// cache of the page table, so empty it, as a full TLB is flushed. The guest's next accesses
/// fault their pages back in; a stub that cannot even do that is dead.
fn flush_host_mappings(cur: &mut Current) {
    let mm = cur.mm();
    let mut host = mm.host.lock();
    let pages = mm.space.lock().forget_host_mappings();
    log::info!("pid {}: host mappings full; flushed them ({pages} pages will fault back in)", cur.pid());
    if let Err(e) = host.reset_mappings() {
        log::error!("pid {}: cannot empty the host mappings of its stub: {e}", cur.pid());
        host.mark_dead();
    }
}

/// A host page fault: mm resolves it (demand paging, copy-on-write) or it becomes a signal.
fn handle_fault(cur: &mut Current, addr: u64, ip: u64, code: i32) {
    if code == sig::SI_KERNEL {
        // A general-protection fault (privileged instruction, non-canonical address): no address.
        ksig::force_fault_signal(cur, SigInfo::fault(sig::SIGSEGV, sig::SI_KERNEL, 0));
        return;
    }
    let r = cur.mm().space.lock().handle_fault(addr, ip, code as u32);
    let info = match r {
        Ok(()) => return,
        Err(FaultError::MapErr) => SigInfo::fault(sig::SIGSEGV, sig::SEGV_MAPERR, addr),
        Err(FaultError::AccErr) => SigInfo::fault(sig::SIGSEGV, sig::SEGV_ACCERR, addr),
        Err(FaultError::Bus) => SigInfo::fault(sig::SIGBUS, sig::BUS_ADRERR, addr),
        Err(FaultError::OutOfMemory) => {
            match crate::oom::out_of_memory(cur) {
                crate::oom::OomOutcome::KillSelf => exit::exit_group(cur, ksig::killed_by(sig::SIGKILL)),
                // Let the victim run its exit; the guest then retries the faulting access.
                crate::oom::OomOutcome::Retry => cur.cpu().yield_now(),
            }
            return;
        }
    };
    log::debug!("pid {}: fault at {addr:#x} (ip {ip:#x}): signal {}", cur.pid(), info.signo);
    ksig::force_fault_signal(cur, info);
}

/// SIGILL, SIGFPE, SIGBUS, SIGTRAP from the CPU become the same guest signals; SIGSYS from the
/// stub's seccomp filter is a call through the host's vsyscall page, emulated as a syscall.
fn handle_exception(cur: &mut Current, signo: i32, raw: &[u8; 128]) {
    let host: SigInfo = uapi::user::from_bytes(raw);
    if signo == sig::SIGSYS as i32 {
        // The host already emulated the vsyscall's `ret`: run the call and set rax only.
        cur.ctx.regs.orig_rax = host.syscall() as u64;
        syscall::handle_vsyscall(cur);
        return;
    }
    let info = SigInfo::fault(signo as u32, host.code, host.addr());
    ksig::force_fault_signal(cur, info);
}
