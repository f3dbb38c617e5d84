//! `kernel`: Umbra's guest kernel — tasks and processes, the syscall table, signals, `execve`,
//! the console, and the loop that runs guest code on stubs. It reaches the host only through
//! `arch-um`, memory through `mm` and files through `fs` (DESIGN.md's crate graph).

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod boot;
pub mod clone;
pub mod console;
pub mod current;
pub mod exec;
pub mod execve;
pub mod exit;
pub mod fs_glue;
pub mod futex;
pub mod kernel;
pub mod pipe;
pub mod procfs;
pub mod run;
pub mod sched;
pub mod signal;
pub mod strace;
pub mod syscall;
pub mod task;
pub mod timers;
pub mod tty;
pub mod tty_glue;
pub mod vdso;
pub mod wait;

pub use boot::{boot, BootConfig, BootError, Outcome};
pub use kernel::Shutdown;
pub use task::ExitStatus;
