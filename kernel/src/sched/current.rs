//! `Current`: the task a syscall handler runs for, with its saved registers. Every handler
//! takes `&mut Current` first (as Starnix passes `CurrentTask`), and reaches guest memory only
//! through it: `read_*`/`write_*` walk the guest's page table and copy through umbra's own view
//! of guest RAM — never a host syscall per access (REFERENCES B.10).

use super::Cpu;
use crate::task::{Mm, Process, Task};
use arch_um::UserContext;
use std::sync::Arc;
use uapi::{Errno, KResult, Pod, UserAddr};

/// The running task and its register state.
pub struct Current {
    /// The task.
    pub task: Arc<Task>,
    /// Its registers (loaded into the stub before each run).
    pub ctx: UserContext,
    /// The syscall that just returned a `-ERESTART*` code (number, code): signal delivery
    /// decides whether it is restarted or fails with `EINTR`.
    pub restart: Option<(u64, Errno)>,
    /// What `restart_syscall` continues (an interrupted `nanosleep`'s deadline).
    pub restart_block: Option<std::time::Instant>,
    /// The virtual CPU the task runs on.
    cpu: Arc<Cpu>,
}

impl Current {
    /// Wraps a task and its initial registers.
    pub fn new(task: Arc<Task>, mut ctx: UserContext, cpu: Arc<Cpu>) -> Current {
        ctx.id = task.tid as u64;
        Current { task, ctx, restart: None, restart_block: None, cpu }
    }

    /// The virtual CPU this task runs on (its run queue, timers, reactor).
    pub fn cpu(&self) -> &Arc<Cpu> {
        &self.cpu
    }

    /// The thread group.
    pub fn process(&self) -> &Arc<Process> {
        &self.task.process
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.task.process.pid
    }

    /// The memory context.
    pub fn mm(&self) -> Arc<Mm> {
        self.task.mm()
    }

    /// Copies guest memory at `addr` into `buf` (`EFAULT` if any byte is inaccessible).
    pub fn read_bytes(&mut self, addr: UserAddr, buf: &mut [u8]) -> KResult<()> {
        self.mm().space.lock().read(addr.0, buf)
    }

    /// Copies `data` into guest memory at `addr` (breaking copy-on-write first).
    pub fn write_bytes(&mut self, addr: UserAddr, data: &[u8]) -> KResult<()> {
        self.mm().space.lock().write(addr.0, data)
    }

    /// Reads a NUL-terminated string of at most `max` bytes (`ENAMETOOLONG` past it).
    pub fn read_cstr(&mut self, addr: UserAddr, max: usize) -> KResult<Vec<u8>> {
        self.mm().space.lock().read_cstr(addr.0, max)
    }

    /// Reads a path argument (at most `PATH_MAX` = 4096 bytes including the NUL).
    pub fn read_path(&mut self, addr: UserAddr) -> KResult<Vec<u8>> {
        if addr.is_null() {
            return Err(Errno::EFAULT);
        }
        self.read_cstr(addr, 4096)
    }

    /// Reads one `T` from guest memory.
    pub fn read_val<T: Pod>(&mut self, addr: UserAddr) -> KResult<T> {
        let mut v = T::zeroed();
        self.read_bytes(addr, bytemuck::bytes_of_mut(&mut v))?;
        Ok(v)
    }

    /// Writes one `T` to guest memory.
    pub fn write_val<T: Pod>(&mut self, addr: UserAddr, v: &T) -> KResult<()> {
        self.write_bytes(addr, bytemuck::bytes_of(v))
    }

    /// Reads a NULL-terminated array of string pointers (`argv`, `envp`), with Linux's limits.
    pub fn read_string_array(&mut self, addr: UserAddr, max_total: usize) -> KResult<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        if addr.is_null() {
            return Ok(out);
        }
        let mut total = 0usize;
        for i in 0u64.. {
            let p: u64 = self.read_val(addr.checked_add(i * 8).ok_or(Errno::EFAULT)?)?;
            if p == 0 {
                break;
            }
            let s = self.read_cstr(UserAddr(p), 128 * 1024).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::E2BIG } else { e })?;
            total = total.saturating_add(s.len() + 1 + 8);
            if total > max_total {
                return Err(Errno::E2BIG);
            }
            out.push(s);
        }
        Ok(out)
    }

    /// A `fs::UserMemory` view of this task's memory, for ioctls.
    pub fn user_memory(&self) -> TaskMemory {
        TaskMemory(self.mm())
    }
}

/// Guest memory of one task, as `fs` ioctls see it.
pub struct TaskMemory(Arc<Mm>);

impl fs::UserMemory for TaskMemory {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> KResult<()> {
        self.0.space.lock().read(addr, buf)
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> KResult<()> {
        self.0.space.lock().write(addr, data)
    }
}
