//! `HostMmu` for the real stub: `arch_um::AddressSpace` queues each operation in the stub's
//! batch (merging contiguous ones) and runs the batch in one round trip before the guest
//! resumes. A batch the host refuses for lack of room (`vm.max_map_count` reached) leaves the
//! space *full*: the kernel then empties its host mappings and the page table marks every page
//! host-less, to be faulted back in (`MemorySpace::forget_host_mappings`). Any other failure
//! marks the address space dead, so the guest process is killed with a log line instead of
//! running with stale mappings.

use crate::host::HostMmu;
use arch_um::{AddressSpace, HostMmuError};
use uapi::mman::Prot;

impl HostMmu for AddressSpace {
    fn map(&mut self, va: u64, len: u64, prot: Prot, phys_off: u64) {
        let r = AddressSpace::map(self, va, len, prot, phys_off);
        fail(self, r);
    }

    fn unmap(&mut self, va: u64, len: u64) {
        let r = AddressSpace::unmap(self, va, len);
        fail(self, r);
    }

    fn protect(&mut self, va: u64, len: u64, prot: Prot) {
        let r = AddressSpace::protect(self, va, len, prot);
        fail(self, r);
    }
}

/// Marks the space dead unless the failure was only a full host (handled by the next run).
fn fail(space: &mut AddressSpace, r: Result<(), HostMmuError>) {
    match r {
        Ok(()) | Err(HostMmuError::Full) => {}
        Err(_) => space.mark_dead(),
    }
}
