//! The host side of the TLB: what `MemorySpace::sync` tells a stub to map.
//!
//! A stub's host mappings are a cache of mm's page table. `sync` sends the out-of-date parts as
//! merged operations through `HostMmu`; the real implementation (`arch_um::AddressSpace`) queues
//! them and runs the whole batch in the stub in one round trip before the guest resumes, as UML's
//! `um_tlb_sync` does. `MockHostMmu` records the operations for tests and can replay them onto a
//! model of the host's mappings.

use std::collections::BTreeMap;

use uapi::mman::{Prot, PAGE_SIZE};

/// Receives the host mapping operations for one stub (all `MAP_SHARED|MAP_FIXED` on physmem).
pub trait HostMmu {
    /// Map `[va, va+len)` to physmem bytes `[phys_off, phys_off+len)` with `prot`.
    fn map(&mut self, va: u64, len: u64, prot: Prot, phys_off: u64);
    /// Remove any host mapping of `[va, va+len)`.
    fn unmap(&mut self, va: u64, len: u64);
    /// Change the protection of the host mapping of `[va, va+len)`.
    fn protect(&mut self, va: u64, len: u64, prot: Prot);
}

/// One recorded host operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostOp {
    /// `HostMmu::map`.
    Map {
        /// Guest address.
        va: u64,
        /// Length in bytes.
        len: u64,
        /// Host protection.
        prot: Prot,
        /// Physmem offset.
        off: u64,
    },
    /// `HostMmu::unmap`.
    Unmap {
        /// Guest address.
        va: u64,
        /// Length in bytes.
        len: u64,
    },
    /// `HostMmu::protect`.
    Protect {
        /// Guest address.
        va: u64,
        /// Length in bytes.
        len: u64,
        /// Host protection.
        prot: Prot,
    },
}

/// A `HostMmu` that records operations and keeps a per-page model of the host's mappings
/// (page → physmem offset and protection), for tests here and in other crates.
#[derive(Default, Debug)]
pub struct MockHostMmu {
    /// Every operation received, in order (cleared by `take_ops`).
    pub ops: Vec<HostOp>,
    /// The modelled host mappings: guest page address → (physmem offset, protection).
    pub pages: BTreeMap<u64, (u64, Prot)>,
}

impl MockHostMmu {
    /// An empty mock (no host mappings).
    pub fn new() -> MockHostMmu {
        MockHostMmu::default()
    }

    /// Returns and clears the recorded operations (one batch).
    pub fn take_ops(&mut self) -> Vec<HostOp> {
        std::mem::take(&mut self.ops)
    }

    /// The modelled mapping of the page at `va`.
    pub fn page(&self, va: u64) -> Option<(u64, Prot)> {
        self.pages.get(&(va & !(PAGE_SIZE - 1))).copied()
    }

    fn pages_of(va: u64, len: u64) -> impl Iterator<Item = u64> {
        (0..len / PAGE_SIZE).map(move |i| va + i * PAGE_SIZE)
    }
}

impl HostMmu for MockHostMmu {
    fn map(&mut self, va: u64, len: u64, prot: Prot, phys_off: u64) {
        self.ops.push(HostOp::Map { va, len, prot, off: phys_off });
        for (i, p) in Self::pages_of(va, len).enumerate() {
            self.pages.insert(p, (phys_off + i as u64 * PAGE_SIZE, prot));
        }
    }

    fn unmap(&mut self, va: u64, len: u64) {
        self.ops.push(HostOp::Unmap { va, len });
        // By range, not page by page: emptying a whole address space is one call.
        let end = va.saturating_add(len);
        let gone: Vec<u64> = self.pages.range(va..end).map(|(&p, _)| p).collect();
        for p in gone {
            self.pages.remove(&p);
        }
    }

    fn protect(&mut self, va: u64, len: u64, prot: Prot) {
        self.ops.push(HostOp::Protect { va, len, prot });
        for p in Self::pages_of(va, len) {
            if let Some(e) = self.pages.get_mut(&p) {
                e.1 = prot;
            }
        }
    }
}
