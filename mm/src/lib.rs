//! `mm`: Umbra's memory management — frames, page tables, VMAs, page faults, copy-on-write and
//! access to guest memory — with no `unsafe` and no host calls, so all of it is unit-tested on
//! the host with a mock in place of the stub.
//!
//! **mm owns the truth.** All guest RAM is one memfd ("physmem", `arch_um::PhysMem`) cut into
//! 4 KiB frames by a refcounted [`FrameAllocator`]. Each address space is a [`MemorySpace`]: VMAs
//! (Linux's `vm_area_struct`s) and a software x86-64 4-level [`PageTable`] mapping guest pages to
//! frames. Page faults, `mmap`, COW and `fork` only ever change these structures.
//!
//! **Stub host mappings are a TLB.** A guest runs in a host stub process whose mappings are
//! `MAP_SHARED|MAP_FIXED` views of physmem. Every entry the page table changes is marked
//! needs-sync and its page range recorded as dirty; before the guest runs again,
//! [`MemorySpace::sync`] walks only the dirty ranges and sends merged `map`/`unmap` operations to
//! a [`HostMmu`], which `arch-um` runs in the stub in one round trip (UML's `tlb.c`). Host
//! mappings merge only when guest addresses *and* memfd offsets are contiguous, and a host process
//! may hold only ~65 530 of them, so the allocator hands out contiguous runs and fault-around
//! fills windows of pages with one run placed after the previous page's frame.
//!
//! **Faults.** Under ptrace umbra does not learn whether a fault was a read or a write; mm infers
//! it from what it has mapped (see [`fault`]). The kernel reads and writes guest memory through
//! physmem directly ([`uaccess`]), faulting pages in (and breaking COW) exactly as the guest would.

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

pub mod brk;
pub mod fault;
pub mod force;
pub mod fork;
pub mod frame;
pub mod host;
pub mod iov;
pub mod mincore;
pub mod mmap;
pub mod pagetable;
pub mod rangeset;
pub mod remap;
pub mod shmem;
pub mod space;
pub mod stats;
pub mod sync;
pub mod uaccess;
pub mod vma;

#[cfg(test)]
mod tests;

pub use fault::{FaultError, SI_KERNEL};
pub use frame::{FrameAllocator, FrameNo, Reclaimer};
pub use iov::{IoSink, IoSource, SpaceLock, UserIovReader, UserIovWriter};
pub use host::{HostMmu, HostOp, MockHostMmu};
pub use mmap::MapOptions;
pub use pagetable::{PageTable, Pte};
pub use shmem::ShmemObject;
pub use space::MemorySpace;
pub use stats::{MapInfo, MemStats};
pub use vma::{Backing, PageSource, Vma, VmaFlags};
pub use arch_um::vmio::{VmReader, VmWriter};
pub mod stub_mmu;
