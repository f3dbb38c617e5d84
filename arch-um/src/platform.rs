//! The host platform: what all stubs share — physmem, the stub executable, the data slots
//! through which umbra hands each stub its batch of host operations, and facts probed from the
//! host (the XSAVE size, the stub's initial segment selectors).

use crate::physmem::PhysMem;
use crate::ptrace;
use crate::regs::GpRegs;
use crate::stub;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How many stubs (guest address spaces) may exist at once: umbra's own cap, so a fork bomb gets
/// `EAGAIN` instead of exhausting the host.
pub const MAX_STUBS: u32 = 1100;

/// Shared state of all stubs. One per umbra instance; `Arc`-shared by every `AddressSpace`.
pub struct Platform {
    physmem: Arc<PhysMem>,
    stub_exe: OwnedFd,
    slots_fd: OwnedFd,
    slots_base: *mut u8,
    free_slots: Mutex<Vec<u32>>,
    xstate_size: AtomicUsize,
    user_xstate: Mutex<(usize, u64)>,
    init_regs: Mutex<Option<GpRegs>>,
    umbra_pid: i32,
    seccomp: bool,
}

// SAFETY: `slots_base` points at a mapping owned by this struct for its whole life; slot memory
// is only touched by the kernel thread while the owning stub is stopped.
unsafe impl Send for Platform {}
unsafe impl Sync for Platform {}

impl Platform {
    /// Creates the stub executable memfd and the data-slot memfd (sparse, `MAX_STUBS` slots).
    pub fn new(physmem: Arc<PhysMem>) -> io::Result<Arc<Platform>> {
        let stub_exe = stub::create_stub_exe()?;
        let size = MAX_STUBS as u64 * stub::STUB_DATA_SIZE;
        // SAFETY: plain syscalls; results checked; the mapping is owned by the Platform.
        let (slots_fd, slots_base) = unsafe {
            let fd = libc::memfd_create(c"umbra-stub-data".as_ptr(), libc::MFD_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = OwnedFd::from_raw_fd(fd);
            if libc::ftruncate(fd.as_raw_fd(), size as libc::off_t) < 0 {
                return Err(io::Error::last_os_error());
            }
            let p = libc::mmap(
                std::ptr::null_mut(),
                size as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            );
            if p == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            (fd, p as *mut u8)
        };
        Ok(Arc::new(Platform {
            physmem,
            stub_exe,
            slots_fd,
            slots_base,
            free_slots: Mutex::new((0..MAX_STUBS).rev().collect()),
            xstate_size: AtomicUsize::new(0),
            user_xstate: Mutex::new((576, 3)),
            init_regs: Mutex::new(None),
            // SAFETY: getpid cannot fail.
            umbra_pid: unsafe { libc::getpid() },
            seccomp: std::env::var_os("UMBRA_NO_SECCOMP").is_none(),
        }))
    }

    /// Guest physical memory.
    pub fn physmem(&self) -> &Arc<PhysMem> {
        &self.physmem
    }

    /// The host's full XSAVE size in bytes (probed from the first stub), or 0 before any stub.
    pub fn xstate_size(&self) -> usize {
        self.xstate_size.load(Ordering::Relaxed)
    }

    pub(crate) fn take_slot(&self) -> Option<u32> {
        self.free_slots.lock().ok()?.pop()
    }

    pub(crate) fn return_slot(&self, slot: u32) {
        if let Ok(mut s) = self.free_slots.lock() {
            s.push(slot);
        }
    }

    /// umbra's view of a stub's data slot.
    pub(crate) fn slot_ptr(&self, slot: u32) -> *mut u8 {
        self.slots_base.wrapping_add(slot as usize * stub::STUB_DATA_SIZE as usize)
    }

    /// How many times a stub that a signal killed before its first stop is started.
    const START_ATTEMPTS: u32 = 4;

    /// Starts a stub for data slot `slot` and waits for its first stop. A stub killed by a
    /// signal on the way (its exec failed after the point of no return: see
    /// `stub::no_random_stack`) is started again; an exit with a reason is final.
    pub(crate) fn spawn_stub(&self, slot: u32) -> io::Result<i32> {
        let mut attempt = 1;
        let pid = loop {
            match self.start_stub(slot)? {
                FirstStop::Ready(pid) => break pid,
                FirstStop::Killed { pid, signo } if attempt < Self::START_ATTEMPTS => {
                    log::warn!("stub {pid} was killed by signal {signo} while it started; starting another");
                    attempt += 1;
                }
                FirstStop::Killed { pid, signo } => {
                    return Err(io::Error::other(format!("stub {pid} did not start: killed by signal {signo}")))
                }
            }
        };
        let opts = libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL;
        if let Err(e) = ptrace::set_options(pid, opts) {
            kill_and_reap(pid);
            return Err(e);
        }
        self.probe_first_stub(pid)?;
        Ok(pid)
    }

    /// Forks and execs one stub process for `slot` and waits until it stops for umbra or dies.
    fn start_stub(&self, slot: u32) -> io::Result<FirstStop> {
        let pid = stub::spawn(&stub::SpawnArgs {
            stub_exe: self.stub_exe.as_raw_fd(),
            physmem: self.physmem.fd(),
            slots: self.slots_fd.as_raw_fd(),
            slot_offset: slot as u64 * stub::STUB_DATA_SIZE,
            umbra_pid: self.umbra_pid,
            seccomp: self.seccomp,
        })?;
        match ptrace::wait(pid)? {
            ptrace::WaitStatus::Stopped(libc::SIGTRAP) => Ok(FirstStop::Ready(pid)),
            ptrace::WaitStatus::Signaled(signo) => Ok(FirstStop::Killed { pid, signo }),
            ptrace::WaitStatus::Exited(code) => Err(io::Error::other(format!(
                "stub {pid} exited with {code} before starting: {}",
                stub::describe_early_exit(code)
            ))),
            other => {
                kill_and_reap(pid);
                Err(io::Error::other(format!("stub {pid} did not start: {other:?}")))
            }
        }
    }

    /// On the first stub: remember its segment selectors (every SETREGS uses them, so a guest
    /// can never load a bogus selector) and probe the XSAVE size.
    fn probe_first_stub(&self, pid: i32) -> io::Result<()> {
        let mut init = self.init_regs.lock().map_err(|_| io::Error::other("poisoned"))?;
        if init.is_some() {
            return Ok(());
        }
        let mut regs = GpRegs::default();
        ptrace::get_regs(pid, &mut regs)?;
        *init = Some(regs);
        let mut buf = vec![0u8; 1 << 16];
        let n = ptrace::get_xstate(pid, &mut buf)?;
        self.xstate_size.store(n, Ordering::Relaxed);
        // fpx_sw_bytes.xfeatures (offset 464 + 8) names the features the host exposes when the
        // host kernel fills it; otherwise XCR0 says which ones the OS enabled.
        let sw = buf.get(472..480).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).unwrap_or(0);
        let host_features = if sw & 3 == 3 { sw } else { crate::cpu::xcr0() };
        if let Ok(mut u) = self.user_xstate.lock() {
            *u = crate::cpu::user_xstate_layout(host_features);
        }
        log::debug!("host XSAVE area is {n} bytes");
        Ok(())
    }

    /// The XSAVE layout of a guest's signal frames: (size, features) — see `cpu`.
    pub fn user_xstate(&self) -> (usize, u64) {
        self.user_xstate.lock().map(|u| *u).unwrap_or((576, 3))
    }

    /// The stub's initial registers (selectors to reuse).
    pub(crate) fn init_regs(&self) -> GpRegs {
        self.init_regs.lock().ok().and_then(|r| *r).unwrap_or_default()
    }

    /// Sets the segment selectors of `regs` to the ones guest code runs with (a context the
    /// kernel built, e.g. by `execve`, has none until it first runs), as a guest debugger
    /// must see them (`cs` 0x33 says "64-bit").
    pub fn set_user_selectors(&self, regs: &mut GpRegs) {
        let init = self.init_regs();
        regs.cs = init.cs;
        regs.ss = init.ss;
        regs.ds = init.ds;
        regs.es = init.es;
        regs.fs = init.fs;
        regs.gs = init.gs;
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; no AddressSpace outlives the Platform (they hold Arcs).
        unsafe { libc::munmap(self.slots_base as *mut libc::c_void, (MAX_STUBS as u64 * stub::STUB_DATA_SIZE) as usize) };
    }
}

/// How a new stub process ended its start-up.
enum FirstStop {
    /// Stopped at its first `int3`, traced and ready.
    Ready(i32),
    /// Killed by a signal before that (already reaped).
    Killed { pid: i32, signo: i32 },
}

/// SIGKILLs a stub and reaps it by pid (never `wait(-1)`: other children are not ours to reap).
pub(crate) fn kill_and_reap(pid: i32) {
    // SAFETY: plain syscalls on a pid we created.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut st = 0;
        while libc::waitpid(pid, &mut st, libc::__WALL) < 0 && *libc::__errno_location() == libc::EINTR {}
    }
}
