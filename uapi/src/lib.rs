//! `uapi`: the Linux x86-64 user ABI as Umbra's crates share it — errno values, typed guest
//! pointers, syscall numbers, `#[repr(C)]` structures and flag words. It is the leaf of the
//! crate graph, as Linux's `include/uapi` is: no kernel logic lives here.

#![deny(unsafe_code)]

pub mod errno;
pub mod flags;
pub mod mman;
pub mod net;
pub mod ptrace;
pub mod signal;
pub mod structs;
pub mod syscalls;
pub mod user;

pub use errno::{Errno, KResult};
pub use user::{Pod, UserAddr, UserCStr, UserRef, UserSlice};
