//! One guest address space = one stub process, and the batch of host mapping operations that
//! keeps the stub's host mappings in step with mm's page table (the "TLB" of DESIGN.md).
//!
//! `map`/`unmap`/`protect` only queue operations in the stub's shared data slot, merging each with
//! the previous one when they are contiguous (UML's `arch/um/os-Linux/skas/mem.c`). `flush` runs the
//! whole batch inside the stub in one round trip: point the stub's `rip` at its batch entry,
//! `PTRACE_CONT`, wait for its `int3`.

use crate::stub_pool::StubPool;
use crate::physmem::PhysMem;
use crate::platform::{kill_and_reap, Platform};
use crate::ptrace::{self, WaitStatus};
use crate::regs::{GpRegs, XState};
use crate::stub::{STUB_BATCH_ENTRY, STUB_PHYSMEM_FD};
use std::io;
use std::sync::Arc;
use uapi::mman::Prot;

const SYS_MMAP: u64 = 9;
const SYS_MPROTECT: u64 = 10;
const SYS_MUNMAP: u64 = 11;
const HEADER_WORDS: usize = 4;
const OP_WORDS: usize = 7;
/// Maximum operations in one batch (the slot's size; see stub_abi.h).
pub const MAX_BATCH_OPS: usize = (crate::stub::STUB_DATA_SIZE as usize - HEADER_WORDS * 8) / (OP_WORDS * 8);

/// A host mapping operation that failed inside a stub.
#[derive(Debug)]
pub enum HostMmuError {
    /// The stub ran the batch but one operation failed (`ENOMEM` usually means
    /// `vm.max_map_count` was reached).
    OpFailed {
        /// The failing operation as (syscall number, args).
        op: (u64, [u64; 6]),
        /// The host errno.
        errno: i32,
    },
    /// The stub is gone (killed, or died): the guest process must be killed.
    StubDied,
    /// The host refused a mapping for lack of room (`ENOMEM`: the stub reached the host's
    /// `vm.max_map_count`). Nothing is wrong with the guest: its host mappings are a cache of
    /// the page table, so the kernel empties that cache (`reset_mappings`) and lets the guest
    /// fault its pages back in, as a full TLB is flushed.
    Full,
}

impl std::fmt::Display for HostMmuError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostMmuError::OpFailed { op, errno } => {
                let hint = if *errno == libc::ENOMEM { " (vm.max_map_count reached?)" } else { "" };
                write!(f, "host op {} {:x?} failed: errno {}{}", op.0, op.1, errno, hint)
            }
            HostMmuError::StubDied => write!(f, "stub process died"),
            HostMmuError::Full => write!(f, "the stub has no room for more host mappings"),
        }
    }
}

/// A guest address space: a stub process plus its queued host operations.
pub struct AddressSpace {
    platform: Arc<Platform>,
    /// The pool of the vCPU that started it: where the stub goes when the space ends.
    pool: Option<Arc<StubPool>>,
    pid: i32,
    slot: u32,
    queued: usize,
    dead: bool,
    /// The host refused a mapping for lack of room: queued work is dropped until
    /// `reset_mappings` empties the stub's host mappings (see `HostMmuError::Full`).
    full: bool,
    /// The FPU cell of the thread whose state is live in the stub's registers (threads share
    /// one stub; their states take turns in it, each saved back into its own `UserContext`).
    fpu_owner: std::sync::Weak<std::sync::Mutex<crate::regs::FpuSlot>>,
    /// Number of batches flushed (for statistics and tests).
    pub flushes: u64,
}

impl AddressSpace {
    /// Starts a new, empty stub with no pool (its stub is killed when the space ends).
    /// `WouldBlock` when `MAX_STUBS` exist.
    pub fn new(platform: &Arc<Platform>) -> io::Result<AddressSpace> {
        Self::start(platform, None)
    }

    /// A new, empty address space on a vCPU: a stub from the vCPU's pool if it has one, else a
    /// new stub; when the space ends its stub goes back to that pool.
    pub fn new_pooled(platform: &Arc<Platform>, pool: &Arc<StubPool>) -> io::Result<AddressSpace> {
        Self::start(platform, Some(pool.clone()))
    }

    fn start(platform: &Arc<Platform>, pool: Option<Arc<StubPool>>) -> io::Result<AddressSpace> {
        let make = |pid, slot, pool| AddressSpace { platform: platform.clone(), pool, pid, slot, queued: 0, dead: false, full: false, fpu_owner: std::sync::Weak::new(), flushes: 0 };
        if let Some((pid, slot)) = pool.as_ref().and_then(|p| p.take()) {
            let a = make(pid, slot, pool);
            a.write_header(0, 0, 0);
            return Ok(a);
        }
        let slot = platform
            .take_slot()
            .ok_or_else(|| io::Error::new(io::ErrorKind::WouldBlock, "too many address spaces"))?;
        match platform.spawn_stub(slot) {
            Ok(pid) => {
                let a = make(pid, slot, pool);
                a.write_header(0, 0, 0);
                Ok(a)
            }
            Err(e) => {
                platform.return_slot(slot);
                Err(e)
            }
        }
    }

    /// The stub's host pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The platform this stub belongs to.
    pub fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }

    /// Guest physical memory.
    pub fn physmem(&self) -> &Arc<PhysMem> {
        self.platform.physmem()
    }

    /// True once the stub has died; every later run reports `AddressSpaceDied`.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Marks the stub as unusable (a host mapping failed): the guest process must die.
    pub fn mark_dead(&mut self) {
        self.dead = true;
    }

    fn slot_words(&self) -> *mut u64 {
        self.platform.slot_ptr(self.slot) as *mut u64
    }

    fn word(&self, i: usize) -> u64 {
        // SAFETY: `i` is below the slot size (callers index the header or ops < MAX_BATCH_OPS).
        unsafe { std::ptr::read_volatile(self.slot_words().add(i)) }
    }

    fn set_word(&self, i: usize, v: u64) {
        // SAFETY: as in `word`; the stub only reads the slot while we wait for it.
        unsafe { std::ptr::write_volatile(self.slot_words().add(i), v) }
    }

    fn write_header(&self, count: u64, done: u64, error: u64) {
        self.set_word(0, count);
        self.set_word(1, done);
        self.set_word(2, error);
    }

    fn op(&self, i: usize) -> (u64, [u64; 6]) {
        let b = HEADER_WORDS + i * OP_WORDS;
        let mut args = [0; 6];
        for (k, a) in args.iter_mut().enumerate() {
            *a = self.word(b + 1 + k);
        }
        (self.word(b), args)
    }

    fn set_op(&self, i: usize, nr: u64, args: [u64; 6]) {
        let b = HEADER_WORDS + i * OP_WORDS;
        self.set_word(b, nr);
        for (k, a) in args.iter().enumerate() {
            self.set_word(b + 1 + k, *a);
        }
    }

    fn push(&mut self, nr: u64, args: [u64; 6]) -> Result<(), HostMmuError> {
        if self.full {
            // Everything will be unmapped by `reset_mappings`; queuing more is pointless.
            return Ok(());
        }
        if self.queued == MAX_BATCH_OPS {
            self.flush()?;
        }
        self.set_op(self.queued, nr, args);
        self.queued += 1;
        Ok(())
    }

    /// Queues `mmap(va, len, prot, MAP_SHARED|MAP_FIXED, physmem, phys_off)`, merged with the
    /// previous queued mmap when both the addresses and the physmem offsets are contiguous.
    pub fn map(&mut self, va: u64, len: u64, prot: Prot, phys_off: u64) -> Result<(), HostMmuError> {
        let prot = prot_bits(prot);
        if self.queued > 0 {
            let (nr, a) = self.op(self.queued - 1);
            if nr == SYS_MMAP && a[0] + a[1] == va && a[5] + a[1] == phys_off && a[2] == prot {
                self.set_op(self.queued - 1, nr, [a[0], a[1] + len, a[2], a[3], a[4], a[5]]);
                return Ok(());
            }
        }
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        self.push(SYS_MMAP, [va, len, prot, flags, STUB_PHYSMEM_FD as u64, phys_off])
    }

    /// Queues `munmap(va, len)`, merged with a contiguous previous munmap.
    pub fn unmap(&mut self, va: u64, len: u64) -> Result<(), HostMmuError> {
        if self.queued > 0 {
            let (nr, a) = self.op(self.queued - 1);
            if nr == SYS_MUNMAP && a[0] + a[1] == va {
                self.set_op(self.queued - 1, nr, [a[0], a[1] + len, 0, 0, 0, 0]);
                return Ok(());
            }
        }
        self.push(SYS_MUNMAP, [va, len, 0, 0, 0, 0])
    }

    /// Queues `mprotect(va, len, prot)`, merged with a contiguous previous mprotect of equal prot.
    pub fn protect(&mut self, va: u64, len: u64, prot: Prot) -> Result<(), HostMmuError> {
        let prot = prot_bits(prot);
        if self.queued > 0 {
            let (nr, a) = self.op(self.queued - 1);
            if nr == SYS_MPROTECT && a[0] + a[1] == va && a[2] == prot {
                self.set_op(self.queued - 1, nr, [a[0], a[1] + len, prot, 0, 0, 0]);
                return Ok(());
            }
        }
        self.push(SYS_MPROTECT, [va, len, prot, 0, 0, 0])
    }

    /// True after the host refused a mapping for lack of room, until `reset_mappings`.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Removes every host mapping of the guest's range (`0..TASK_SIZE`, leaving the stub's own
    /// pages) in one operation and accepts new operations again. The caller has told the page
    /// table that nothing is host-mapped any more (`MemorySpace::forget_host_mappings`).
    pub fn reset_mappings(&mut self) -> Result<(), HostMmuError> {
        self.full = false;
        self.queued = 0;
        self.push(SYS_MUNMAP, [0, crate::layout::TASK_SIZE, 0, 0, 0, 0])?;
        self.flush()
    }

    /// Number of operations waiting for the next flush.
    pub fn pending(&self) -> usize {
        self.queued
    }

    /// Runs all queued operations inside the stub in one round trip. Clobbers the stub's
    /// registers: the caller sets the guest's registers again before resuming it (Context::run
    /// always does).
    pub fn flush(&mut self) -> Result<(), HostMmuError> {
        if self.dead {
            return Err(HostMmuError::StubDied);
        }
        if self.full {
            return Err(HostMmuError::Full);
        }
        if self.queued == 0 {
            return Ok(());
        }
        let n = self.queued;
        self.queued = 0;
        self.flushes += 1;
        self.write_header(n as u64, 0, 0);
        let mut regs = self.platform.init_regs();
        regs.rip = STUB_BATCH_ENTRY;
        regs.orig_rax = u64::MAX;
        if ptrace::set_regs(self.pid, &regs).is_err() || !self.run_stub_until_trap() {
            self.dead = true;
            return Err(HostMmuError::StubDied);
        }
        let done = self.word(1) as usize;
        let error = self.word(2) as i64;
        if error == -(libc::ENOMEM as i64) {
            log::debug!("stub {}: host mappings full after {} of {} operations; flushing them", self.pid, done, n);
            self.full = true;
            return Err(HostMmuError::Full);
        }
        if error != 0 {
            let op = self.op(done.min(MAX_BATCH_OPS - 1));
            log::error!(
                "stub {}: host operation {} of {} failed (errno {}); last batch op {:x?}",
                self.pid, done, n, -error, op
            );
            return Err(HostMmuError::OpFailed { op, errno: (-error) as i32 });
        }
        Ok(())
    }

    /// `PTRACE_CONT`s the stub until its `int3`; tolerates stray stops (SIGALRM kicks, SIGWINCH)
    /// as UML's `wait_stub_done` does. False if the stub died.
    fn run_stub_until_trap(&mut self) -> bool {
        loop {
            if ptrace::resume(self.pid, libc::PTRACE_CONT as libc::c_uint).is_err() {
                return false;
            }
            match ptrace::wait(self.pid) {
                Ok(WaitStatus::Stopped(libc::SIGTRAP)) => return true,
                Ok(WaitStatus::Stopped(sig)) if sig != libc::SIGSEGV && sig != libc::SIGBUS && sig != libc::SIGILL => continue,
                Ok(WaitStatus::Event(_)) => continue,
                Ok(other) => {
                    log::error!("stub {} died while running a batch: {:?}", self.pid, other);
                    return false;
                }
                Err(e) => {
                    log::error!("stub {}: wait failed while running a batch: {}", self.pid, e);
                    return false;
                }
            }
        }
    }

    /// Reads the stub's FPU/SSE/AVX state (full host XSAVE size).
    pub fn get_fpu(&mut self) -> io::Result<XState> {
        let mut buf = vec![0u8; self.platform.xstate_size()];
        let n = ptrace::get_xstate(self.pid, &mut buf)?;
        buf.truncate(n);
        Ok(XState(buf))
    }

    /// Loads FPU state into the stub.
    pub fn set_fpu(&mut self, x: &XState) -> io::Result<()> {
        ptrace::set_xstate(self.pid, &x.0)
    }

    /// Makes the stub hold `ctx`'s FPU state: first saves the registers of the thread leaving
    /// the stub back into that thread's own context, then loads `ctx`'s saved or kernel-set
    /// state. Costs nothing when the stub already holds it (the single-threaded case).
    pub(crate) fn load_fpu_for(&mut self, ctx: &crate::regs::UserContext) -> io::Result<()> {
        use crate::regs::{is_live, save_evicted, take_for_run, FpuLoad};
        let cell = ctx.fpu_cell();
        let owner = self.fpu_owner.upgrade();
        let already = owner.as_ref().is_some_and(|o| Arc::ptr_eq(o, cell));
        if let Some(o) = owner.filter(|_| !already) {
            if is_live(&o) {
                let x = self.get_fpu()?;
                save_evicted(&o, || Some(x));
            }
        }
        self.fpu_owner = Arc::downgrade(cell);
        match take_for_run(cell, already) {
            FpuLoad::Load(x) => self.set_fpu(&x),
            FpuLoad::Nothing | FpuLoad::Adopt => Ok(()),
        }
    }

    /// The FPU state of `ctx` (for a signal frame or a forked child): the copy it holds, else
    /// the stub's registers (live there, or never set and so the stub's).
    pub fn fpu_of(&mut self, ctx: &crate::regs::UserContext) -> io::Result<XState> {
        match ctx.fpu_copy() {
            Some(x) => Ok(x),
            None => self.get_fpu(),
        }
    }

    pub(crate) fn set_regs(&mut self, regs: &GpRegs) -> io::Result<()> {
        ptrace::set_regs(self.pid, regs)
    }
}

impl Drop for AddressSpace {
    /// A healthy stub is emptied (one `munmap` of the whole guest range, one round trip) and
    /// kept for the next address space — `fork` and `execve` then start no host process
    /// (gVisor's stub pool). A dead or failing one is killed and reaped.
    fn drop(&mut self) {
        self.queued = 0;
        let pool = self.pool.take().filter(|p| p.has_room());
        let reusable = !self.dead && pool.is_some() && self.unmap(0, crate::layout::STUB_START).is_ok() && self.flush().is_ok();
        if let (true, Some(pool)) = (reusable, pool) {
            pool.put(self.pid, self.slot);
        } else {
            kill_and_reap(self.pid);
            self.platform.return_slot(self.slot);
        }
    }
}

fn prot_bits(p: Prot) -> u64 {
    (p & (Prot::READ | Prot::WRITE | Prot::EXEC)).bits() as u64
}
