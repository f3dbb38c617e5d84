//! Where things live in a guest address space.
//!
//! The stub's own code and data pages sit at `STUB_START`, above everything the guest may map, as
//! UML puts its stub at `STUB_START` and gVisor just below `TaskSize`. The guest sees a user
//! address space of `0..TASK_SIZE`, slightly smaller than Linux's `0x7ffffffff000`.

/// Lowest address of the stub's pages; the guest's `TASK_SIZE`.
pub const STUB_START: u64 = 0x7fff_0000_0000;
/// The guest's usable address-space limit (exclusive).
pub const TASK_SIZE: u64 = STUB_START;
/// One past the highest stub page.
pub const STUB_END: u64 = STUB_START + 0x10_0000;
/// The lowest address a guest may map (`vm.mmap_min_addr`, 64 KiB on Debian).
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;
/// Top of the initial stack of a new program (Linux places it just below `TASK_SIZE`, randomised).
pub const STACK_TOP: u64 = TASK_SIZE - 0x1000_0000;
/// Where top-down `mmap` allocation starts (below the stack and its rlimit gap, as Linux's
/// `mmap_base`).
pub const MMAP_BASE: u64 = STACK_TOP - 0x800_0000;
/// Load base for static-pie executables (Linux's `ELF_ET_DYN_BASE` is 2/3 of `TASK_SIZE`).
pub const ELF_ET_DYN_BASE: u64 = 0x5555_5555_4000;
