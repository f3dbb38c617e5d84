//! `kernel`: Umbra's guest kernel — tasks and processes, the scheduler, signals, `execve`,
//! the console, and the loop that runs guest code on stubs. It reaches the host only through
//! `arch-um`, memory through `mm` and files through `fs` (DESIGN.md's crate graph).
//!
//! Inside, the modules form one-way layers (ARCHITECTURE.md; `tests/layering.rs` checks them):
//! the task model (`task`) → scheduling (`sched`) → kernel objects (`signal`, `futex`, `pipe`,
//! `epoll`, `signalfd`, `inotify`, `ipc`, `tty`, `pty_glue`, `timers`, `fileio`, `poll`, `procfs`, `vdso`, …) →
//! process life (`clone`, `exec`, `exit`, `wait`, `ptrace`) → `syscall` → the task loop (`run`) and `boot`.

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod boot;
pub mod clone;
pub mod console;
pub mod coredump;
pub mod epoll;
pub mod exec;
pub mod execve;
pub mod exit;
pub mod fileio;
pub mod fs_glue;
pub mod net;
pub mod oom;
pub mod futex;
pub mod inotify;
pub mod ipc;
pub mod kmsg;
pub mod memfd;
pub mod pidfd;
pub mod pipe;
pub mod poll;
pub mod procfs;
pub mod ptrace;
pub mod pty_glue;
pub mod run;
pub mod sched;
pub mod signal;
pub mod signalfd;
pub mod splice;
pub mod strace;
pub mod syscall;
pub mod task;
pub mod timers;
pub mod tty;
pub mod tty_glue;
pub mod vdso;
pub mod wait;

pub use boot::{boot, BootConfig, BootError, Outcome};
pub use task::{ExitStatus, Shutdown};
