//! `arch-um`: the host side of Umbra, as User-Mode Linux's `os-Linux` is. Everything that talks
//! to the host kernel lives here: guest physical memory (a memfd), the stub processes that hold
//! guest address spaces, the `PTRACE_SYSEMU` loop that runs guest code, register state, host
//! timers and the console fd. It is the only crate with `unsafe`.

pub mod layout;
pub mod physmem;

pub use physmem::PhysMem;
