//! `arch-um`: the host side of Umbra, as User-Mode Linux's `os-Linux` is. Everything that talks
//! to the host kernel lives here: guest physical memory (a memfd), the stub processes that hold
//! guest address spaces, the `PTRACE_SYSEMU` loop that runs guest code, register state, host
//! timers and the console fd. It is the only crate with `unsafe`.

pub mod address_space;
pub mod checks;
pub mod console;
pub mod context;
pub mod cpu;
pub mod hostxattr;
pub mod kstack;
pub mod layout;
pub mod physmem;
pub mod platform;
pub mod random;
pub mod hostnet;
pub mod reactor;
mod ptrace;
pub mod regs;
pub mod stub;
pub mod stub_pool;
pub mod timer;
pub mod vdso;
pub mod vmio;

pub use address_space::{AddressSpace, HostMmuError};
pub use context::{Context, Event};
pub use physmem::PhysMem;
pub use platform::Platform;
pub use regs::{GpRegs, UserContext, XState};
pub use vmio::{VmReader, VmWriter};
