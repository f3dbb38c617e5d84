//! Kernel stacks: each guest task runs its kernel side (`loop { run guest; handle event }`) on
//! a stack of its own, so a syscall can block in plain sequential code and the scheduler
//! switches to another task — Linux's `switch_to`, UML's `switch_threads`. The switching is
//! `corosensei`'s stackful coroutines: no hand-written stack switching, panics stay panics.
//!
//! `KernelStack::resume` runs a task until it calls `switch_out` (it blocked or yielded) or
//! finishes; `switch_out` returns to the scheduler loop that resumed it.

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use std::cell::Cell;
use std::io;
use std::mem::ManuallyDrop;

/// Size of one kernel stack (virtual; pages are touched lazily, with a guard page below).
pub const KSTACK_SIZE: usize = 1 << 20;

thread_local! {
    /// The yielder of the kernel stack running now (null on the scheduler's own stack).
    static CURRENT: Cell<*const Yielder<(), ()>> = const { Cell::new(std::ptr::null()) };
}

/// A task's kernel stack and the code running on it.
pub struct KernelStack {
    co: ManuallyDrop<Coroutine<(), (), (), DefaultStack>>,
    finished: bool,
    /// The host thread that created the stack: the only one that may resume it.
    owner: std::thread::ThreadId,
}

// SAFETY: a kernel stack is only ever resumed on the host thread that created it (`resume`
// checks and panics otherwise), so moving the handle between threads cannot run the coroutine
// on a foreign thread; it lets the kernel keep stacks in its `Send + Sync` vCPU object, whose
// wakers may be reached from any kernel object.
unsafe impl Send for KernelStack {}

impl KernelStack {
    /// A new stack that will run `f` when first resumed.
    pub fn new(f: impl FnOnce() + 'static) -> io::Result<KernelStack> {
        let stack = DefaultStack::new(KSTACK_SIZE)?;
        let co = Coroutine::with_stack(stack, move |y: &Yielder<(), ()>, ()| {
            CURRENT.with(|c| c.set(y as *const _));
            f();
        });
        Ok(KernelStack { co: ManuallyDrop::new(co), finished: false, owner: std::thread::current().id() })
    }

    /// Runs the task until it switches out or returns; `true` once it has returned.
    pub fn resume(&mut self) -> bool {
        if self.finished {
            return true;
        }
        assert_eq!(self.owner, std::thread::current().id(), "a kernel stack resumed on a foreign host thread");
        let r = self.co.resume(());
        CURRENT.with(|c| c.set(std::ptr::null()));
        self.finished = matches!(r, CoroutineResult::Return(()));
        self.finished
    }

    /// Whether the task's code has returned.
    pub fn finished(&self) -> bool {
        self.finished
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        if self.finished {
            // SAFETY: dropped exactly once, here.
            unsafe { ManuallyDrop::drop(&mut self.co) };
        }
        // A stack whose task never finished is leaked rather than unwound (umbra builds with
        // panic=abort, and unwinding a suspended coroutine would abort): this only happens when
        // umbra itself is shutting down.
    }
}

/// True when running on a kernel stack (inside a task), false on the scheduler's stack.
pub fn on_kernel_stack() -> bool {
    CURRENT.with(|c| !c.get().is_null())
}

/// Leaves the current task's kernel stack and returns to the scheduler loop that resumed it;
/// returns when the scheduler resumes this task again. Panics if called outside a task (a
/// kernel bug: only task code blocks).
pub fn switch_out() {
    let y = CURRENT.with(|c| c.get());
    assert!(!y.is_null(), "switch_out called outside a kernel stack");
    // SAFETY: `y` was set by this coroutine's own body and stays valid while it runs (the
    // Yielder lives on the coroutine's stack for its whole life); we are on that coroutine now.
    unsafe { (*y).suspend(()) };
    CURRENT.with(|c| c.set(y));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn switches_between_stacks() {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let (l1, l2) = (log.clone(), log.clone());
        let mut a = KernelStack::new(move || {
            l1.borrow_mut().push("a1");
            switch_out();
            l1.borrow_mut().push("a2");
        })
        .unwrap();
        let mut b = KernelStack::new(move || {
            l2.borrow_mut().push("b1");
            switch_out();
            l2.borrow_mut().push("b2");
        })
        .unwrap();
        assert!(!a.resume());
        assert!(!b.resume());
        assert!(!on_kernel_stack());
        assert!(a.resume());
        assert!(b.resume());
        assert_eq!(*log.borrow(), vec!["a1", "b1", "a2", "b2"]);
    }
}
