//! Runs hand-made code pages in real stubs. Each test creates its own platform and stubs on its
//! own thread (ptrace is per tracer thread) and waits only for its own pids.

use arch_um::layout::{STUB_END, STUB_START};
use arch_um::{AddressSpace, Context, Event, PhysMem, Platform, UserContext};
use std::sync::Arc;
use uapi::mman::Prot;

const CODE_VA: u64 = 0x40_0000;

fn platform() -> Arc<Platform> {
    let pm = Arc::new(PhysMem::new(16 << 20).unwrap());
    Platform::new(pm).unwrap()
}

/// Maps `code` at CODE_VA (from physmem frame 0) and returns a context starting there.
fn load_code(p: &Platform, space: &mut AddressSpace, code: &[u8]) -> UserContext {
    p.physmem().write(0, code).unwrap();
    space.map(CODE_VA, 4096, Prot::READ | Prot::EXEC, 0).unwrap();
    let mut ctx = UserContext::default();
    ctx.regs.rip = CODE_VA;
    ctx
}

#[test]
fn stub_binary_is_static_non_pie_without_interp() {
    let elf = goblin::elf::Elf::parse(arch_um::stub::STUB_BINARY).unwrap();
    assert_eq!(elf.header.e_type, goblin::elf::header::ET_EXEC, "stub must be non-PIE");
    assert!(elf.interpreter.is_none(), "stub must have no PT_INTERP");
    assert!(elf.dynamic.is_none(), "stub must be static");
    for ph in &elf.program_headers {
        if ph.p_type == goblin::elf::program_header::PT_LOAD {
            assert!(ph.p_vaddr >= STUB_START && ph.p_vaddr + ph.p_memsz <= STUB_END);
        }
    }
}

#[test]
fn stub_keeps_only_its_own_pages() {
    let p = platform();
    let space = AddressSpace::new(&p).unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", space.pid())).unwrap();
    for line in maps.lines() {
        let range = line.split_whitespace().next().unwrap();
        let (a, b) = range.split_once('-').unwrap();
        let (a, b) = (u64::from_str_radix(a, 16).unwrap(), u64::from_str_radix(b, 16).unwrap());
        if line.ends_with("[vsyscall]") {
            continue; // the host's vsyscall page cannot be unmapped; seccomp traps its calls
        }
        assert!(a >= STUB_START && b <= STUB_END, "unexpected mapping in stub: {line}");
    }
    assert!(p.xstate_size() >= 512 + 64, "xstate size probed: {}", p.xstate_size());
}

/// Whether the host lets a process turn off address-space randomisation (a container's seccomp
/// policy may refuse `personality(ADDR_NO_RANDOMIZE)`), probed in a forked child.
fn host_allows_no_randomize() -> bool {
    // SAFETY: the child only makes raw syscalls and exits.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let ok = libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong) >= 0;
            libc::_exit(if ok { 0 } else { 1 });
        }
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0) == pid && libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0
    }
}

/// The stub is linked at `STUB_START`, inside the range where the host puts a randomised exec
/// stack; a stack that landed on the stub's pages killed the new stub with SIGSEGV during its
/// exec (about one start in 100 000: a fork failed with "stub N did not start: Signaled(11)").
/// Stubs are exec'd without randomisation, which keeps their stack 4 GiB above `STUB_END`.
#[test]
fn stub_is_started_without_a_randomised_stack() {
    if !host_allows_no_randomize() {
        eprintln!("SKIPPED: the host refuses personality(ADDR_NO_RANDOMIZE); spawn_stub retries instead");
        return;
    }
    let p = platform();
    let space = AddressSpace::new(&p).unwrap();
    let text = std::fs::read_to_string(format!("/proc/{}/personality", space.pid())).unwrap();
    let persona = u64::from_str_radix(text.trim(), 16).unwrap();
    assert_ne!(persona & libc::ADDR_NO_RANDOMIZE as u64, 0, "stub personality {persona:#x}");
}

#[test]
fn syscall_then_illegal_instruction() {
    let p = platform();
    let mut space = AddressSpace::new(&p).unwrap();
    // mov eax, 39 ; syscall ; ud2
    let mut ctx = load_code(&p, &mut space, &[0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x0f, 0x0b]);
    let mut cpu = Context::new();
    assert_eq!(cpu.run(&mut ctx, &mut space), Event::Syscall);
    assert_eq!(ctx.regs.orig_rax, 39);
    assert_eq!(ctx.regs.rip, CODE_VA + 7);
    ctx.regs.rax = 1234;
    match cpu.run(&mut ctx, &mut space) {
        Event::Exception { signo, .. } => assert_eq!(signo, libc::SIGILL),
        other => panic!("expected SIGILL, got {other:?}"),
    }
    assert_eq!(ctx.regs.rax, 1234, "syscall return value reached the guest");
}

#[test]
fn fault_reports_address() {
    let p = platform();
    let mut space = AddressSpace::new(&p).unwrap();
    // mov rax, [0x123456]  (48 8b 04 25 56 34 12 00)
    let mut ctx = load_code(&p, &mut space, &[0x48, 0x8b, 0x04, 0x25, 0x56, 0x34, 0x12, 0x00]);
    let mut cpu = Context::new();
    match cpu.run(&mut ctx, &mut space) {
        Event::Fault { addr, ip, code } => {
            assert_eq!(addr, 0x123456);
            assert_eq!(ip, CODE_VA);
            assert_eq!(code, 1, "SEGV_MAPERR");
        }
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[test]
fn contiguous_maps_merge_into_one_batch_op() {
    let p = platform();
    let mut space = AddressSpace::new(&p).unwrap();
    for i in 0..200u64 {
        space.map(0x100_0000 + i * 4096, 4096, Prot::READ | Prot::WRITE, 0x10_0000 + i * 4096).unwrap();
    }
    assert_eq!(space.pending(), 1);
    space.flush().unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", space.pid())).unwrap();
    assert!(maps.contains("01000000-010c8000 rw-s"), "{maps}");
}

#[test]
fn written_memory_is_visible_to_guest() {
    let p = platform();
    let mut space = AddressSpace::new(&p).unwrap();
    // mov rax, [0x500000] ; syscall
    let mut ctx = load_code(&p, &mut space, &[0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x50, 0x00, 0x0f, 0x05]);
    p.physmem().write(8192, &0xdead_beef_u64.to_le_bytes()).unwrap();
    space.map(0x50_0000, 4096, Prot::READ, 8192).unwrap();
    let mut cpu = Context::new();
    assert_eq!(cpu.run(&mut ctx, &mut space), Event::Syscall);
    assert_eq!(ctx.regs.orig_rax, 0xdead_beef);
}

#[test]
fn fpu_state_round_trips() {
    let p = platform();
    let mut space = AddressSpace::new(&p).unwrap();
    let x = space.get_fpu().unwrap();
    assert_eq!(x.0.len(), p.xstate_size());
    let mut y = x.clone();
    y.0[160..176].copy_from_slice(&[7u8; 16]); // xmm0 in the legacy area
    y.0[512] |= 2; // XSTATE_BV: the SSE component is not in its init state
    space.set_fpu(&y).unwrap();
    assert_eq!(space.get_fpu().unwrap().0[160..176], [7u8; 16]);
}

#[test]
fn dead_stub_is_reported_not_panicked() {
    let p = platform();
    let mut space = AddressSpace::new(&p).unwrap();
    let mut ctx = load_code(&p, &mut space, &[0xeb, 0xfe]); // jmp .
    space.flush().unwrap();
    unsafe { libc::kill(space.pid(), libc::SIGKILL) };
    let mut cpu = Context::new();
    assert_eq!(cpu.run(&mut ctx, &mut space), Event::AddressSpaceDied);
}

/// A context whose FPU image (to be loaded at its next run) has xmm0 filled with `byte`.
fn context_with_xmm0(p: &Platform, space: &mut AddressSpace, id: u64, byte: u8) -> UserContext {
    let mut x = space.get_fpu().unwrap();
    x.0[160..176].copy_from_slice(&[byte; 16]); // xmm0 in the legacy area
    x.0[512] |= 2; // XSTATE_BV: the SSE component is not in its init state
    let mut ctx = load_code(p, space, &[0x0f, 0x05]); // syscall
    ctx.id = id;
    ctx.set_fpu(x);
    ctx
}

/// Threads take turns on one stub: the one switched out has its FPU state saved back into its
/// own context. When the thread holding the stub exits, the stub still holds *its* registers:
/// the other thread's state (for a signal frame) must come from its own copy, not the stub.
#[test]
fn parked_fpu_state_outlives_the_owner_exiting() {
    let p = platform();
    let mut space = AddressSpace::new(&p).unwrap();
    let mut a = context_with_xmm0(&p, &mut space, 1, 0xaa);
    let mut b = context_with_xmm0(&p, &mut space, 2, 0xbb);
    let mut cpu = Context::new();
    assert_eq!(cpu.run(&mut a, &mut space), Event::Syscall);
    assert_eq!(cpu.run(&mut b, &mut space), Event::Syscall);
    assert_eq!(space.fpu_of(&a).unwrap().0[160..176], [0xaa; 16], "a's saved state");
    assert_eq!(space.fpu_of(&b).unwrap().0[160..176], [0xbb; 16], "b's live state");
    drop(b); // b, the stub's owner, exits
    assert_eq!(space.fpu_of(&a).unwrap().0[160..176], [0xaa; 16], "a's state after b exited");
    a.regs.rip -= 2; // run the `syscall` again: a's saved state is loaded back into the stub
    assert_eq!(cpu.run(&mut a, &mut space), Event::Syscall);
    assert_eq!(space.get_fpu().unwrap().0[160..176], [0xaa; 16], "a's state loaded again");
}
