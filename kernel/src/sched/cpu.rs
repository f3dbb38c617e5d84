//! The virtual CPU: one object owns everything scheduling needs — the run queue, the task
//! running now, its kernel stacks, the kernel timers, the clock-tick accounting and the host
//! reactor it idles in. It belongs to the host thread that runs the kernel (the one that traces
//! the stubs) and is reached through `Current::cpu`, never through a global, so several vCPUs
//! (SMP, one host thread each) and a deterministic mode can be added without a rewrite.
//!
//! The loop ([`Cpu::run_until`]) resumes one task's kernel stack at a time; a task gives the
//! CPU back by blocking (`sched::wait`), yielding, or being preempted at a clock tick.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use arch_um::kstack::{self, KernelStack};
use arch_um::reactor::{Interest, Reactor, Token};
use arch_um::UserContext;
use fs::klock::KMutex;
use fs::Waker;
use uapi::{Errno, KResult};

use super::runqueue::{nice_weight, scaled, RunQueue};
use super::timer::{TimerAction, TimerFn, TimerHandle, TimerQueue};
use crate::task::{Task, TaskState};

/// How long a task runs before a tick may preempt it (Linux's minimum granularity, roughly).
pub const TIME_SLICE: Duration = Duration::from_millis(4);
/// The clock tick period.
pub const TICK: Duration = Duration::from_millis(4);

/// What a new task runs on its kernel stack: the task loop, given by the layer above (`run`),
/// as Linux's `ret_from_fork` is given by the architecture.
pub type TaskEntry = fn(Arc<Cpu>, Arc<Task>, UserContext);

struct CpuState {
    rq: RunQueue,
    /// Kernel stacks by tid (`None` while that task is running).
    stacks: BTreeMap<u32, Option<KernelStack>>,
    /// Live tasks by tid (strong references: the CPU keeps tasks alive until they finish).
    tasks: BTreeMap<u32, Arc<Task>>,
    timers: TimerQueue,
    /// The running task (0 on the scheduler's stack) and its session (its run-queue group).
    current: u32,
    current_sid: u32,
    /// When the running task was resumed.
    slice_start: Option<Instant>,
    /// CPU-time accounting of the running task: since when, and its user time then (the rest
    /// of the stretch is system time). `None` while no task runs.
    acct_since: Option<(Instant, u64)>,
}

/// A host fd the CPU watches while idle: armed while `wants()` holds, `on_ready()` called
/// when the host says it is ready (on the scheduler's stack: it must not block).
struct HostSource {
    wants: Wants,
    on_ready: HostReady,
}

/// What a source wants: readability while a test holds, or any interest it names (the
/// network relay's sockets also wait to be writable).
enum Wants {
    Read(HostWants),
    Any(HostInterest),
}

/// The events a watched host fd should be armed for now.
pub type HostInterest = Box<dyn Fn() -> Interest + Send + Sync>;

/// Whether a watched host fd should be armed now.
pub type HostWants = Box<dyn Fn() -> bool + Send + Sync>;
/// What to do when a watched host fd is ready.
pub type HostReady = Box<dyn Fn() + Send + Sync>;

/// A virtual CPU (see the module documentation).
pub struct Cpu {
    state: KMutex<CpuState>,
    reactor: Reactor,
    sources: KMutex<BTreeMap<Token, Arc<HostSource>>>,
    entry: TaskEntry,
    /// The host side of this vCPU: runs guest contexts on stubs.
    host: arch_um::Context,
}

/// Wakes one task of a CPU: what tasks register on `Pollee`s and wait queues.
pub struct TaskWaker {
    cpu: Weak<Cpu>,
    tid: u32,
}

impl Waker for TaskWaker {
    fn wake(&self) {
        if let Some(cpu) = self.cpu.upgrade() {
            cpu.wake(self.tid);
        }
    }
}

impl Cpu {
    /// A vCPU on the calling host thread; new tasks will run `entry`.
    pub fn new(entry: TaskEntry) -> std::io::Result<Arc<Cpu>> {
        Ok(Arc::new(Cpu {
            state: KMutex::new(CpuState {
                rq: RunQueue::default(),
                stacks: BTreeMap::new(),
                tasks: BTreeMap::new(),
                timers: TimerQueue::default(),
                current: 0,
                current_sid: 0,
                slice_start: None,
                acct_since: None,
            }),
            reactor: Reactor::new()?,
            sources: KMutex::new(BTreeMap::new()),
            entry,
            host: arch_um::Context::new(),
        }))
    }

    fn with<R>(&self, f: impl FnOnce(&mut CpuState) -> R) -> R {
        f(&mut self.state.lock())
    }

    /// The host vCPU that runs guest code for this CPU's tasks.
    pub fn host(&self) -> arch_um::Context {
        self.host.clone()
    }

    /// Starts the clock tick of this CPU.
    pub fn start_tick(&self) -> std::io::Result<()> {
        self.host.start_tick(TICK)
    }

    /// Clock ticks since the last call (the task loop preempts on them).
    pub fn take_ticks(&self) -> u64 {
        self.host.take_ticks()
    }

    /// A waker for task `tid` of this CPU.
    pub fn waker(self: &Arc<Self>, tid: u32) -> Arc<dyn Waker> {
        Arc::new(TaskWaker { cpu: Arc::downgrade(self), tid })
    }

    /// Starts a new task: its kernel stack runs the task entry on `ctx` until it exits.
    /// CFS's `task_fork_fair` + `place_entity(initial)`: a child starts no earlier than its
    /// parent's virtual runtime, and a slice behind its group, so a fork bomb cannot keep
    /// starting tasks ahead of everyone else.
    pub fn spawn(self: &Arc<Self>, task: Arc<Task>, ctx: UserContext) -> KResult<()> {
        let tid = task.tid;
        let (cpu, t, entry) = (self.clone(), task.clone(), self.entry);
        let stack = KernelStack::new(move || entry(cpu, t, ctx)).map_err(|e| {
            log::warn!("cannot allocate a kernel stack: {e}");
            Errno::EAGAIN
        })?;
        let me: Weak<dyn std::any::Any + Send + Sync> = Arc::downgrade(self) as Weak<dyn std::any::Any + Send + Sync>;
        let _ = task.cpu.set(me);
        let sid = task.process.sid.load(Ordering::Relaxed);
        self.with(|s| {
            let parent = s.tasks.get(&s.current).filter(|p| p.process.sid.load(Ordering::Relaxed) == sid);
            let parent_v = parent.map_or(0, |t| t.vruntime.load(Ordering::Relaxed));
            let v = s.rq.min_vruntime(sid).saturating_add(TIME_SLICE.as_nanos() as u64).max(parent_v);
            task.vruntime.store(v, Ordering::Relaxed);
            task.sched_group.store(sid, Ordering::Relaxed);
            s.stacks.insert(tid, Some(stack));
            s.tasks.insert(tid, task.clone());
            s.rq.enqueue(sid, tid, v);
        });
        task.set_state(TaskState::Running);
        Ok(())
    }

    /// Puts `task` on the run queue, in its session's group (placed as a woken task when it
    /// moved to another session since it last ran).
    fn enqueue(s: &mut CpuState, task: &Task, woken: bool) {
        let sid = task.process.sid.load(Ordering::Relaxed);
        let mut v = task.vruntime.load(Ordering::Relaxed);
        if woken || task.sched_group.swap(sid, Ordering::Relaxed) != sid {
            v = s.rq.place_woken(sid, v);
            task.vruntime.store(v, Ordering::Relaxed);
        }
        s.rq.enqueue(sid, task.tid, v);
    }

    /// Number of tasks that are runnable or running now (the load average's sample).
    pub fn runnable_count(&self) -> u32 {
        self.with(|s| u32::try_from(s.rq.len()).unwrap_or(u32::MAX).saturating_add(u32::from(s.current != 0)))
    }

    /// Number of live tasks on this CPU.
    pub fn task_count(&self) -> usize {
        self.with(|s| s.tasks.len())
    }

    /// The tid of the running task (0 outside tasks).
    pub fn current_tid(&self) -> u32 {
        self.with(|s| s.current)
    }

    /// Number of pending kernel timers.
    pub fn timer_count(&self) -> usize {
        self.with(|s| s.timers.len())
    }

    /// Makes a sleeping or stopped task runnable (no-op for a running one or a zombie).
    pub fn wake(&self, tid: u32) {
        let Some(task) = self.with(|s| s.tasks.get(&tid).cloned()) else { return };
        if matches!(task.state(), TaskState::Running | TaskState::Zombie) {
            return;
        }
        task.set_state(TaskState::Running);
        self.with(|s| Self::enqueue(s, &task, true));
    }

    /// Runs `f` at `deadline` on this CPU (outside any task; it must not block). The handle
    /// cancels it.
    pub fn add_timer(self: &Arc<Self>, deadline: Instant, f: TimerFn) -> TimerHandle {
        let id = self.with(|s| s.timers.add(deadline, TimerAction::Call(f)));
        TimerHandle { cpu: Arc::downgrade(self), id }
    }

    /// Cancels a timer that has not fired; `true` if it was pending.
    pub(super) fn cancel_timer(&self, id: super::timer::TimerId) -> bool {
        self.with(|s| s.timers.cancel(id))
    }

    /// Charges the running task's system time up to `now`: the time since the last accounting
    /// that it did not spend in guest code (the task loop charges user time). Time spent
    /// switched out is nobody's CPU time.
    fn account(s: &mut CpuState, now: Instant) {
        let Some((since, user_then)) = s.acct_since else { return };
        let Some(task) = s.tasks.get(&s.current) else { return };
        let user_now = task.user_ns.load(Ordering::Relaxed);
        let ran = now.saturating_duration_since(since).as_nanos() as u64;
        task.system_ns.fetch_add(ran.saturating_sub(user_now.saturating_sub(user_then)), Ordering::Relaxed);
        s.acct_since = Some((now, user_now));
    }

    /// Brings the running task's system time up to date (before each return to guest code, so
    /// `times`, `getrusage` and the CPU-time clocks see it).
    pub fn account_current(&self) {
        self.with(|s| Self::account(s, Instant::now()));
    }

    /// Charges the running task for the time since it was resumed (it is switching out): CPU
    /// time, its virtual runtime scaled by its nice weight, and its session group's.
    fn charge_current(s: &mut CpuState, now: Instant) {
        Self::account(s, now);
        s.acct_since = None;
        let Some(start) = s.slice_start.take() else { return };
        let ran = now.duration_since(start).as_nanos() as u64;
        s.rq.charge_group(s.current_sid, ran);
        let Some(task) = s.tasks.get(&s.current) else { return };
        let dv = scaled(ran, nice_weight(task.nice.load(Ordering::Relaxed)));
        task.vruntime.fetch_add(dv, Ordering::Relaxed);
    }

    /// Gives up the CPU; the task stays runnable.
    pub fn yield_now(&self) {
        if !kstack::on_kernel_stack() {
            return;
        }
        self.with(|s| {
            Self::charge_current(s, Instant::now());
            if let Some(t) = s.tasks.get(&s.current).cloned() {
                Self::enqueue(s, &t, false);
            }
        });
        kstack::switch_out();
    }

    /// At a clock tick: run expired kernel timers (a CPU-bound task never returns to the loop
    /// on its own, and `alarm` must still fire), then yield if the running task used its slice
    /// and another task is runnable, or if the host asked for attention (SIGTERM, ^C, resize).
    pub fn tick(self: &Arc<Self>) {
        self.fire_timers(Instant::now());
        if arch_um::console::host_signal_pending() {
            self.yield_now();
            return;
        }
        let used = self.with(|s| s.slice_start.is_some_and(|t| t.elapsed() >= TIME_SLICE) && !s.rq.is_empty());
        if used {
            self.yield_now();
        }
    }

    /// Puts the running task to sleep until it is woken (or `deadline` passes). The caller
    /// re-checks its condition afterwards: wake-ups may be spurious.
    pub fn sleep(&self, task: &Task, deadline: Option<Instant>) {
        task.set_state(TaskState::Sleeping);
        let key = deadline.map(|d| self.with(|s| s.timers.add(d, TimerAction::Wake(task.tid))));
        self.with(|s| Self::charge_current(s, Instant::now()));
        kstack::switch_out();
        if let Some(k) = key {
            self.with(|s| s.timers.cancel(k));
        }
        task.set_state(TaskState::Running);
    }

    /// Stops the running task (job control) until SIGCONT or SIGKILL wakes it.
    pub fn stop(&self, task: &Task) {
        task.set_state(TaskState::Stopped);
        self.with(|s| Self::charge_current(s, Instant::now()));
        kstack::switch_out();
        task.set_state(TaskState::Running);
    }

    /// Fires every expired deadline: sleepers are made runnable, callbacks run.
    fn fire_timers(self: &Arc<Self>, now: Instant) {
        let expired = self.with(|s| s.timers.expired(now));
        for action in expired {
            match action {
                TimerAction::Wake(tid) => self.wake(tid),
                TimerAction::Call(f) => f(self),
            }
        }
    }

    /// Runs one task until it switches out or finishes.
    fn run_one(&self, sid: u32, tid: u32) {
        let stack = self.with(|s| {
            s.current = tid;
            s.current_sid = sid;
            let now = Instant::now();
            s.slice_start = Some(now);
            s.acct_since = Some((now, s.tasks.get(&tid).map_or(0, |t| t.user_ns.load(Ordering::Relaxed))));
            s.stacks.get_mut(&tid).and_then(Option::take)
        });
        let running = &crate::task::kernel().running_tid;
        running.store(tid, Ordering::Relaxed);
        let Some(mut stack) = stack else {
            self.with(|s| s.current = 0);
            running.store(0, Ordering::Relaxed);
            return;
        };
        let done = stack.resume();
        running.store(0, Ordering::Relaxed);
        self.with(|s| {
            Self::charge_current(s, Instant::now());
            s.current = 0;
            if done {
                s.stacks.remove(&tid);
                s.tasks.remove(&tid);
            } else if let Some(slot) = s.stacks.get_mut(&tid) {
                *slot = Some(stack);
            }
        });
    }

    /// Watches host fd `fd` (which must stay open while watched): while `wants()` holds, the
    /// CPU calls `on_ready()` when the fd is readable — from idle, or at the next tick while
    /// tasks run. This is how host input reaches the kernel (the console, later host sockets).
    pub fn watch_host_fd(&self, fd: i32, wants: HostWants, on_ready: HostReady) -> std::io::Result<Token> {
        let token = self.reactor.add(fd)?;
        self.sources.lock().insert(token, Arc::new(HostSource { wants: Wants::Read(wants), on_ready }));
        Ok(token)
    }

    /// Like [`Cpu::watch_host_fd`], armed for whatever `wants()` names (read, write, both).
    pub fn watch_host_fd_for(&self, fd: i32, wants: HostInterest, on_ready: HostReady) -> std::io::Result<Token> {
        let token = self.reactor.add(fd)?;
        self.sources.lock().insert(token, Arc::new(HostSource { wants: Wants::Any(wants), on_ready }));
        Ok(token)
    }

    /// Stops watching a host fd.
    pub fn unwatch_host_fd(&self, token: Token) {
        self.reactor.remove(token);
        self.sources.lock().remove(&token);
    }

    /// Arms the host sources that want input; true if any is armed.
    fn arm_sources(&self) -> bool {
        let sources: Vec<(Token, Arc<HostSource>)> = self.sources.lock().iter().map(|(t, s)| (*t, s.clone())).collect();
        let mut any = false;
        for (t, s) in sources {
            let interest = match &s.wants {
                Wants::Read(w) if w() => Interest::Read,
                Wants::Read(_) => Interest::None,
                Wants::Any(w) => w(),
            };
            any |= interest != Interest::None;
            self.reactor.arm(t, interest);
        }
        any
    }

    /// Waits on the host (at most `timeout`) and hands ready sources their input.
    fn poll_host(&self, timeout: Option<Duration>) {
        for token in self.reactor.wait(timeout) {
            let source = self.sources.lock().get(&token).cloned();
            if let Some(s) = source {
                (s.on_ready)();
            }
        }
    }

    /// The scheduler loop: runs tasks until `done()` says to stop or no task is left. Idle
    /// blocks in the host reactor until the next timer or host input. Returns on the
    /// scheduler's own stack.
    pub fn run_until(self: &Arc<Self>, mut done: impl FnMut() -> bool) {
        let mut last_host_check = Instant::now();
        loop {
            if done() {
                return;
            }
            let now = Instant::now();
            self.fire_timers(now);
            if now.duration_since(last_host_check) >= TICK {
                // Busy: look at host input once per tick (idle blocks for it below).
                last_host_check = now;
                if self.arm_sources() {
                    self.poll_host(Some(Duration::ZERO));
                }
            }
            let next = self.with(|s| {
                let n = s.rq.pick();
                if n.is_none() {
                    s.rq.prune();
                }
                n
            });
            match next {
                Some((sid, tid)) => self.run_one(sid, tid),
                None if self.task_count() == 0 => return,
                None => {
                    self.arm_sources();
                    let deadline = self.with(|s| s.timers.next_deadline());
                    self.poll_host(deadline.map(|d| d.saturating_duration_since(Instant::now())));
                }
            }
        }
    }
}
