//! The scheduler: which task runs next, how tasks sleep and wake, and what the kernel does
//! when nothing is runnable (Linux's `kernel/sched/`, much smaller).
//!
//! Every task runs on its own kernel stack (`arch_um::kstack`). The scheduler loop
//! (`run_until_idle_exit`) resumes one task at a time; a task gives the CPU back by blocking
//! (`wait_until`), yielding, or being preempted at a clock tick. Choosing the next task is a
//! small CFS: each task accumulates *virtual runtime* — real running time scaled by its `nice`
//! weight (Linux's `sched_prio_to_weight`) — and the runnable task with the least runs next.
//! Idle means waiting on the host (`ppoll` on the console and the next timer), so an idle
//! umbra uses no CPU.

use crate::current::Current;
use crate::task::{Task, TaskState};
use arch_um::kstack::{self, KernelStack};
use fs::{OpenFile, PollEvents, Pollee, Waker};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use uapi::flags::OpenFlags;
use uapi::structs::PollFd;
use uapi::{Errno, KResult};

/// How long a task runs before a tick may preempt it (Linux's minimum granularity, roughly).
pub const TIME_SLICE: Duration = Duration::from_millis(4);
/// The clock tick period.
pub const TICK: Duration = Duration::from_millis(4);

/// Linux's `sched_prio_to_weight`, indexed by nice + 20.
const WEIGHTS: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991,
    1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
];

/// The weight of a nice value.
pub fn nice_weight(nice: i32) -> u64 {
    WEIGHTS[(nice.clamp(-20, 19) + 20) as usize]
}

struct Sched {
    /// Runnable tasks ordered by (vruntime, tid).
    runnable: BTreeSet<(u64, u32)>,
    /// Kernel stacks by tid (`None` while that task is running).
    stacks: BTreeMap<u32, Option<KernelStack>>,
    /// Live tasks by tid (strong references: the scheduler keeps tasks alive until they finish).
    tasks: BTreeMap<u32, Arc<Task>>,
    /// Deadlines: (when, seq) → what to do (wake a sleeper, or run a kernel timer's callback).
    timers: BTreeMap<(Instant, u64), TimerAction>,
    timer_seq: u64,
    /// The running task (0 on the scheduler's stack).
    current: u32,
    /// The smallest vruntime of any runnable task (woken sleepers are placed near it).
    min_vruntime: u64,
    /// When the running task was resumed.
    slice_start: Option<Instant>,
    /// CPU-time accounting of the running task: since when, and its user time then (the
    /// rest of the stretch is system time). `None` while no task runs.
    acct_since: Option<(Instant, u64)>,
    /// Called when the console may have input (installed by the tty).
    input_pump: Option<Box<dyn Fn()>>,
    /// Whether the console has a reader waiting (then idle also watches host stdin).
    watch_stdin: bool,
}

thread_local! {
    static SCHED: RefCell<Sched> = RefCell::new(Sched {
        runnable: BTreeSet::new(),
        stacks: BTreeMap::new(),
        tasks: BTreeMap::new(),
        timers: BTreeMap::new(),
        timer_seq: 0,
        current: 0,
        min_vruntime: 0,
        slice_start: None,
        acct_since: None,
        input_pump: None,
        watch_stdin: false,
    });
}

fn with<R>(f: impl FnOnce(&mut Sched) -> R) -> R {
    SCHED.with(|s| f(&mut s.borrow_mut()))
}

/// What happens when a deadline passes.
enum TimerAction {
    /// Wake a task sleeping with a timeout.
    Wake(u32),
    /// Run a kernel timer's callback (on the scheduler's stack: it must not block).
    Call(Box<dyn FnOnce()>),
}

/// A kernel timer, as `add_timer` returns it (cancel with `cancel_timer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerId(Instant, u64);

/// Runs `f` at `deadline` (Linux's `hrtimer`): `alarm`, interval timers, POSIX timers and
/// timerfds are built on it. `f` runs outside any task and must not block.
pub fn add_timer(deadline: Instant, f: Box<dyn FnOnce()>) -> TimerId {
    with(|s| {
        s.timer_seq += 1;
        let k = (deadline, s.timer_seq);
        s.timers.insert(k, TimerAction::Call(f));
        TimerId(k.0, k.1)
    })
}

/// Cancels a timer that has not fired; `true` if it was pending.
pub fn cancel_timer(id: TimerId) -> bool {
    with(|s| s.timers.remove(&(id.0, id.1)).is_some())
}

/// Wakes a task from a `Pollee` or wait queue.
pub struct TaskWaker(pub u32);

impl Waker for TaskWaker {
    fn wake(&self) {
        wake(self.0);
    }
}

/// Starts a new task: its kernel stack runs `run_task` on `ctx` until it exits.
pub fn spawn(task: Arc<Task>, ctx: arch_um::UserContext) -> KResult<()> {
    let tid = task.tid;
    let t = task.clone();
    let stack = KernelStack::new(move || {
        let mut cur = Current::new(t, ctx);
        let mut cpu = arch_um::Context::new();
        crate::run::run_task(&mut cur, &mut cpu);
        crate::exit::task_finished(&mut cur);
    })
    .map_err(|e| {
        log::warn!("cannot allocate a kernel stack: {e}");
        Errno::EAGAIN
    })?;
    with(|s| {
        // CFS's `task_fork_fair` + `place_entity(initial)`: a child starts no earlier than its
        // parent's virtual runtime, and a slice behind the queue, so a fork bomb cannot keep
        // starting tasks ahead of everyone else (the woken parent of it would starve).
        let parent = s.tasks.get(&s.current).map_or(0, |t| t.vruntime.load(Ordering::Relaxed));
        let v = s.min_vruntime.saturating_add(TIME_SLICE.as_nanos() as u64).max(parent);
        task.vruntime.store(v, Ordering::Relaxed);
        s.stacks.insert(tid, Some(stack));
        s.tasks.insert(tid, task.clone());
        s.runnable.insert((v, tid));
    });
    task.set_state(TaskState::Running);
    Ok(())
}

/// Number of tasks that are runnable or running now (the load average's sample).
pub fn runnable_count() -> u32 {
    with(|s| s.runnable.len() as u32 + u32::from(s.current != 0))
}

/// Number of live tasks.
pub fn task_count() -> usize {
    with(|s| s.tasks.len())
}

/// The tid of the running task (0 outside tasks).
pub fn current_tid() -> u32 {
    with(|s| s.current)
}

/// Installs the console input pump the idle loop calls when host stdin is readable.
pub fn set_input_pump(f: Box<dyn Fn()>) {
    with(|s| s.input_pump = Some(f));
}

/// Tells idle whether to watch host stdin (a task waits for console input).
pub fn watch_stdin(on: bool) {
    with(|s| s.watch_stdin = on);
}

/// Makes a sleeping or stopped task runnable (no-op for a running one).
pub fn wake(tid: u32) {
    let task = with(|s| s.tasks.get(&tid).cloned());
    let Some(task) = task else { return };
    if task.state() == TaskState::Running || task.state() == TaskState::Zombie {
        return;
    }
    task.set_state(TaskState::Running);
    with(|s| {
        // A sleeper is placed at most a little behind the others (CFS's sleeper credit), so a
        // task that slept long does not monopolise the CPU when it wakes.
        let credit = TIME_SLICE.as_nanos() as u64;
        let v = task.vruntime.load(Ordering::Relaxed).max(s.min_vruntime.saturating_sub(credit));
        task.vruntime.store(v, Ordering::Relaxed);
        s.runnable.insert((v, tid));
    });
}

/// Wakes a task blocked in a syscall so it can take a newly sent signal (stopped tasks stay
/// stopped unless the signal is SIGKILL or SIGCONT — their senders wake them).
pub fn wake_task_for_signal(task: &Task) {
    if task.state() == TaskState::Sleeping {
        wake(task.tid);
    }
}

/// Charges the running task's system time up to `now`: the time since the last accounting
/// that it did not spend in guest code (`run_task` charges user time). Time spent switched out
/// is nobody's CPU time.
fn account(s: &mut Sched, now: Instant) {
    let Some((since, user_then)) = s.acct_since else { return };
    let Some(task) = s.tasks.get(&s.current) else { return };
    let user_now = task.user_ns.load(Ordering::Relaxed);
    let ran = now.saturating_duration_since(since).as_nanos() as u64;
    task.system_ns.fetch_add(ran.saturating_sub(user_now.saturating_sub(user_then)), Ordering::Relaxed);
    s.acct_since = Some((now, user_now));
}

/// Brings the running task's system time up to date (called before each return to guest code,
/// so `times`, `getrusage` and the CPU-time clocks see it).
pub fn account_current() {
    with(|s| account(s, Instant::now()));
}

/// Charges the running task for the time since it was resumed (it is switching out): CPU time,
/// and virtual runtime scaled by its nice weight.
fn charge_current(s: &mut Sched, now: Instant) {
    account(s, now);
    s.acct_since = None;
    let Some(start) = s.slice_start.take() else { return };
    let Some(task) = s.tasks.get(&s.current) else { return };
    let ran = now.duration_since(start).as_nanos() as u64;
    let w = nice_weight(task.nice.load(Ordering::Relaxed));
    let dv = ran.saturating_mul(1024) / w.max(1);
    task.vruntime.fetch_add(dv, Ordering::Relaxed);
}

/// Gives up the CPU; the task stays runnable.
pub fn yield_now() {
    if !kstack::on_kernel_stack() {
        return;
    }
    with(|s| {
        charge_current(s, Instant::now());
        let tid = s.current;
        if let Some(t) = s.tasks.get(&tid) {
            s.runnable.insert((t.vruntime.load(Ordering::Relaxed), tid));
        }
    });
    kstack::switch_out();
}

/// At a clock tick: run expired kernel timers (a CPU-bound task never returns to the
/// scheduler loop on its own, and `alarm` must still fire), then yield if the running task
/// used its slice and another task is runnable.
pub fn maybe_preempt() {
    fire_timers(Instant::now());
    if arch_um::console::host_signal_pending() {
        // SIGTERM, the user's ^C, a resize: the scheduler loop handles them, even while one
        // CPU-bound task would otherwise keep the CPU.
        yield_now();
        return;
    }
    let should = with(|s| {
        let used = s.slice_start.map(|t| t.elapsed() >= TIME_SLICE).unwrap_or(false);
        used && !s.runnable.is_empty()
    });
    if should {
        yield_now();
    }
}

/// Puts the running task to sleep until `wake(tid)` (or a deadline). The caller re-checks its
/// condition afterwards: wake-ups may be spurious.
fn sleep(task: &Task, deadline: Option<Instant>) {
    task.set_state(TaskState::Sleeping);
    let key = deadline.map(|d| {
        with(|s| {
            s.timer_seq += 1;
            let k = (d, s.timer_seq);
            s.timers.insert(k, TimerAction::Wake(task.tid));
            k
        })
    });
    with(|s| charge_current(s, Instant::now()));
    kstack::switch_out();
    if let Some(k) = key {
        with(|s| s.timers.remove(&k));
    }
    task.set_state(TaskState::Running);
}

/// Whether a signal the task does not block is pending (or it is being killed): a blocking
/// syscall must return `ERESTARTSYS`/`EINTR` for it.
pub fn signal_pending(cur: &Current) -> bool {
    if cur.process().exiting.load(Ordering::Relaxed) || cur.task.exited.load(Ordering::Relaxed) {
        return true;
    }
    let s = cur.task.signals.lock();
    !s.pending.set.difference(s.mask).is_empty()
}

/// Blocks until `cond` returns `Some`, re-checking it whenever one of `pollees` signals any of
/// `events`, a signal arrives (`Err(ERESTARTSYS)`), or `deadline` passes (`Err(ETIMEDOUT)`).
/// This is the kernel's one sleeping primitive (Linux's `wait_event_interruptible_timeout`).
pub fn wait_until<T>(
    cur: &mut Current,
    pollees: &[&Pollee],
    events: PollEvents,
    deadline: Option<Instant>,
    mut cond: impl FnMut(&mut Current) -> Option<KResult<T>>,
) -> KResult<T> {
    let waker: Arc<dyn Waker> = Arc::new(TaskWaker(cur.task.tid));
    let weak: Weak<dyn Waker> = Arc::downgrade(&waker);
    let result = loop {
        if let Some(r) = cond(cur) {
            break r;
        }
        if signal_pending(cur) {
            break Err(Errno::ERESTARTSYS);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break Err(Errno::ETIMEDOUT);
        }
        for p in pollees {
            p.register(weak.clone(), events);
        }
        sleep(&cur.task, deadline);
        for p in pollees {
            p.unregister(&weak);
        }
    };
    drop(waker);
    result
}

/// Blocks until `cond` holds, ignoring ordinary signals (they stay pending): only SIGKILL or
/// the process exiting cuts the wait short (`false`). Linux's `TASK_KILLABLE` waits, as the
/// `vfork` parent's.
pub fn wait_killable(cur: &mut Current, pollees: &[&Pollee], mut cond: impl FnMut() -> bool) -> bool {
    let waker: Arc<dyn Waker> = Arc::new(TaskWaker(cur.task.tid));
    let weak: Weak<dyn Waker> = Arc::downgrade(&waker);
    loop {
        if cond() {
            return true;
        }
        let killed = cur.process().exiting.load(Ordering::Relaxed)
            || cur.task.exited.load(Ordering::Relaxed)
            || cur.task.signals.lock().pending.set.contains(uapi::signal::SIGKILL);
        if killed {
            return false;
        }
        for p in pollees {
            p.register(weak.clone(), PollEvents::all());
        }
        sleep(&cur.task, None);
        for p in pollees {
            p.unregister(&weak);
        }
    }
}

/// Reads from `file`, sleeping while it would block (unless `O_NONBLOCK`). Console reads
/// first pass the job-control check and may wake at the tty's `VTIME` deadline.
pub fn io_read(cur: &mut Current, file: &Arc<OpenFile>, buf: &mut [u8]) -> KResult<usize> {
    crate::tty_glue::check_read(cur, file)?;
    let console = is_console_file(file);
    if console {
        crate::tty_glue::pump_input();
    }
    match file.read(buf) {
        Err(Errno::EAGAIN) if !file.flags().contains(OpenFlags::NONBLOCK) => {}
        Err(Errno::EAGAIN) => {
            crate::tty_glue::read_abandoned(file);
            return Err(Errno::EAGAIN);
        }
        r => return r,
    }
    let Some(pollee) = file.pollee() else { return file.read(buf) };
    if console {
        watch_stdin(true);
    }
    let r = loop {
        let deadline = crate::tty_glue::read_deadline(file);
        let r = wait_until(cur, &[pollee], PollEvents::POLLIN, deadline, |_| match file.read(buf) {
            Err(Errno::EAGAIN) => None,
            r => Some(r),
        });
        if r != Err(Errno::ETIMEDOUT) {
            break r;
        }
    };
    if console {
        watch_stdin(false);
        if r.is_err() {
            crate::tty_glue::read_abandoned(file);
        }
    }
    r
}

/// True for the console (its input comes from the host's stdin).
pub fn is_console_file(file: &Arc<OpenFile>) -> bool {
    crate::tty_glue::tty_of(file).is_some() || crate::console::is_console_file(file)
}

/// Writes all of `data` to `file`, sleeping while it would block (unless `O_NONBLOCK`), as
/// Linux's pipe and tty writes do: a partial count is returned only when a signal interrupts
/// after some bytes went through. `EPIPE` also sends SIGPIPE (Linux's pipe write does).
pub fn io_write(cur: &mut Current, file: &Arc<OpenFile>, data: &[u8]) -> KResult<usize> {
    crate::tty_glue::check_write(cur, file)?;
    let nonblock = file.flags().contains(OpenFlags::NONBLOCK);
    let mut done = 0usize;
    let r = loop {
        match file.write(&data[done..]) {
            Ok(n) => {
                done += n;
                if done == data.len() || nonblock || n == 0 || file.pollee().is_none() {
                    break Ok(done);
                }
            }
            Err(Errno::EAGAIN) if !nonblock && file.pollee().is_some() => {}
            Err(e) if done > 0 && e != Errno::EPIPE => break Ok(done),
            Err(e) => break Err(e),
        }
        let Some(p) = file.pollee() else { break Ok(done) };
        let rest = &data[done..];
        match wait_until(cur, &[p], PollEvents::POLLOUT, None, |_| match file.write(rest) {
            Err(Errno::EAGAIN) => None,
            r => Some(r),
        }) {
            Ok(n) => {
                done += n;
                if done == data.len() {
                    break Ok(done);
                }
            }
            Err(_) if done > 0 => break Ok(done),
            Err(e) => break Err(e),
        }
    };
    if r == Err(Errno::EPIPE) {
        let info = uapi::signal::SigInfo::kill(uapi::signal::SIGPIPE, uapi::signal::SI_USER, cur.pid() as i32, 0);
        crate::signal::send_to_task(&cur.task, uapi::signal::SIGPIPE, info);
    }
    r
}

/// Fills in `revents`; returns how many fds are ready.
fn poll_once(cur: &Current, fds: &mut [PollFd], pollees: &mut Vec<Arc<OpenFile>>) -> usize {
    let files = cur.process().files();
    let mut n = 0;
    pollees.clear();
    for p in fds.iter_mut() {
        p.revents = 0;
        if p.fd < 0 {
            continue;
        }
        let ev = match files.lock().get(p.fd) {
            Ok(f) => {
                let ev = f.poll();
                pollees.push(f);
                ev
            }
            Err(_) => PollEvents::POLLNVAL,
        };
        let wanted = PollEvents::from_bits_truncate(p.events as u16) | PollEvents::POLLERR | PollEvents::POLLHUP | PollEvents::POLLNVAL;
        p.revents = (ev & wanted).bits() as i16;
        if p.revents != 0 {
            n += 1;
        }
    }
    n
}

/// `poll`'s wait: the number of ready fds, waiting up to `timeout_ns` (`None`: forever).
/// A signal interrupts it with `EINTR` (poll is never restarted after a handler, as Linux).
pub fn poll_wait(cur: &mut Current, fds: &mut [PollFd], timeout_ns: Option<u64>) -> KResult<usize> {
    let deadline = timeout_ns.map(|t| Instant::now() + Duration::from_nanos(t));
    let mut files = Vec::new();
    let n = poll_once(cur, fds, &mut files);
    if n > 0 || timeout_ns == Some(0) {
        return Ok(n);
    }
    let console = files.iter().any(is_console_file);
    if console {
        crate::tty_glue::pump_input();
    }
    if console {
        watch_stdin(true);
    }
    let pollee_files = files.clone();
    let pollees: Vec<&Pollee> = pollee_files.iter().filter_map(|f| f.pollee()).collect();
    let all = PollEvents::all();
    let r = wait_until(cur, &pollees, all, deadline, |cur| {
        let n = poll_once(cur, fds, &mut files);
        (n > 0).then_some(Ok(n))
    });
    if console {
        watch_stdin(false);
    }
    match r {
        Err(Errno::ETIMEDOUT) => Ok(0),
        Err(Errno::ERESTARTSYS) => Err(Errno::ERESTARTNOHAND),
        r => r,
    }
}

/// Sleeps until `deadline` (`nanosleep`): `Ok` when it passed, `Err(ERESTARTSYS)` if a
/// signal came first.
pub fn sleep_until(cur: &mut Current, deadline: Instant) -> KResult<()> {
    let r = wait_until(cur, &[], PollEvents::empty(), Some(deadline), |_| None::<KResult<()>>);
    match r {
        Err(Errno::ETIMEDOUT) => Ok(()),
        Err(e) => Err(e),
        Ok(()) => Ok(()),
    }
}

/// Stops the running task (job control) until SIGCONT or SIGKILL wakes it.
pub fn stop_current(cur: &Current) {
    cur.task.set_state(TaskState::Stopped);
    with(|s| charge_current(s, Instant::now()));
    kstack::switch_out();
    cur.task.set_state(TaskState::Running);
}

/// CPU time of a task in nanoseconds (user + system).
pub fn cpu_time_ns(task: &Task) -> u64 {
    task.user_ns.load(Ordering::Relaxed) + task.system_ns.load(Ordering::Relaxed)
}

/// Fires every expired deadline: sleepers are made runnable, kernel timers' callbacks run.
fn fire_timers(now: Instant) {
    let expired: Vec<TimerAction> = with(|s| {
        let keys: Vec<(Instant, u64)> = s.timers.range(..=(now, u64::MAX)).map(|(k, _)| *k).collect();
        keys.into_iter().filter_map(|k| s.timers.remove(&k)).collect()
    });
    for action in expired {
        match action {
            TimerAction::Wake(tid) => wake(tid),
            TimerAction::Call(f) => f(),
        }
    }
}

/// Runs one task until it switches out or finishes.
fn run_one(tid: u32) {
    let stack = with(|s| {
        s.current = tid;
        let now = Instant::now();
        s.slice_start = Some(now);
        s.acct_since = Some((now, s.tasks.get(&tid).map_or(0, |t| t.user_ns.load(Ordering::Relaxed))));
        s.stacks.get_mut(&tid).and_then(Option::take)
    });
    let Some(mut stack) = stack else {
        with(|s| s.current = 0);
        return;
    };
    let done = stack.resume();
    with(|s| {
        charge_current(s, Instant::now());
        s.current = 0;
        if done {
            s.stacks.remove(&tid);
            s.tasks.remove(&tid);
        } else if let Some(slot) = s.stacks.get_mut(&tid) {
            *slot = Some(stack);
        }
    });
}

/// Picks the runnable task with the least virtual runtime.
fn pick_next() -> Option<u32> {
    with(|s| {
        let first = s.runnable.iter().next().copied()?;
        s.runnable.remove(&first);
        s.min_vruntime = s.min_vruntime.max(first.0);
        Some(first.1)
    })
}

/// Waits on the host until the next timer or console input.
fn idle() {
    let (deadline, watch) = with(|s| (s.timers.keys().next().map(|k| k.0), s.watch_stdin));
    let watch = watch || crate::tty_glue::wants_input();
    let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    if arch_um::timer::idle_wait(timeout, watch) == arch_um::timer::IdleWake::Input {
        pump_input();
    }
}

/// True once the host asked umbra to shut down (SIGTERM under the console's flag policy).
/// Also forwards the other host signals the console records: a window-size change, and a
/// host `SIGINT` (the user's `^C` when stdin is not a terminal) to the guest's foreground.
pub fn host_shutdown_requested() -> bool {
    if arch_um::console::take_winch() {
        crate::tty_glue::window_changed();
    }
    if arch_um::console::take_host_signal(2) {
        crate::tty_glue::host_interrupt();
    }
    arch_um::console::take_host_signal(15)
}

/// Lets the console read host input (called when stdin is readable).
pub fn pump_input() {
    let pump = with(|s| s.input_pump.take());
    if let Some(p) = pump {
        p();
        with(|s| s.input_pump = Some(p));
    }
}

/// The scheduler loop: runs tasks until `done()` says to stop (pid 1 has exited) or no task is
/// left. Returns on the scheduler's own stack.
pub fn run_until(mut done: impl FnMut() -> bool) {
    let mut last_input_check = Instant::now();
    loop {
        if done() {
            return;
        }
        let now = Instant::now();
        fire_timers(now);
        if (with(|s| s.watch_stdin) || crate::tty_glue::wants_input()) && now.duration_since(last_input_check) >= TICK {
            last_input_check = now;
            if arch_um::console::stdin_ready(0) {
                pump_input();
            }
        }
        match pick_next() {
            Some(tid) => run_one(tid),
            None => {
                if task_count() == 0 {
                    return;
                }
                idle();
            }
        }
    }
}
