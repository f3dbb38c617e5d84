//! `HostMmu` for the real stub: `arch_um::AddressSpace` queues each operation in the stub's
//! batch (merging contiguous ones) and runs the batch in one round trip before the guest
//! resumes. A batch that fails (e.g. `vm.max_map_count` reached) marks the address space dead,
//! so the guest process is killed with a log line instead of running with stale mappings.

use crate::host::HostMmu;
use arch_um::AddressSpace;
use uapi::mman::Prot;

impl HostMmu for AddressSpace {
    fn map(&mut self, va: u64, len: u64, prot: Prot, phys_off: u64) {
        if AddressSpace::map(self, va, len, prot, phys_off).is_err() {
            self.mark_dead();
        }
    }

    fn unmap(&mut self, va: u64, len: u64) {
        if AddressSpace::unmap(self, va, len).is_err() {
            self.mark_dead();
        }
    }

    fn protect(&mut self, va: u64, len: u64, prot: Prot) {
        if AddressSpace::protect(self, va, len, prot).is_err() {
            self.mark_dead();
        }
    }
}
