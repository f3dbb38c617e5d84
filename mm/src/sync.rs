//! Bringing a stub's host mappings up to date with the page table (UML's `um_tlb_sync`).
//!
//! Only the dirty ranges are walked, and within them only populated tables. Consecutive pages
//! whose frames are contiguous and whose host protection is equal become one `map`; consecutive
//! tombstones become one `unmap` (which may span never-mapped pages in between: the host has
//! nothing there, so unmapping them is harmless and saves operations).

use uapi::mman::{Prot, PAGE_SHIFT};

use crate::frame::FrameNo;
use crate::host::HostMmu;
use crate::pagetable::Pte;
use crate::space::MemorySpace;

/// The operation being grown while walking the page table.
enum Pending {
    None,
    Map { vpn: u64, n: u64, frame: FrameNo, prot: Prot },
    Unmap { vpn: u64, end: u64 },
}

/// Merges per-page updates into as few host operations as possible.
struct Batcher<'h> {
    host: &'h mut dyn HostMmu,
    pending: Pending,
    ops: usize,
}

impl Batcher<'_> {
    fn map(&mut self, vpn: u64, frame: FrameNo, prot: Prot) {
        if let Pending::Map { vpn: v, n, frame: f, prot: p } = &mut self.pending {
            if *v + *n == vpn && f.0 + *n == frame.0 && *p == prot {
                *n += 1;
                return;
            }
        }
        self.flush();
        self.pending = Pending::Map { vpn, n: 1, frame, prot };
    }

    fn unmap(&mut self, vpn: u64) {
        if let Pending::Unmap { end, .. } = &mut self.pending {
            *end = vpn + 1;
            return;
        }
        self.flush();
        self.pending = Pending::Unmap { vpn, end: vpn + 1 };
    }

    fn flush(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => return,
            Pending::Map { vpn, n, frame, prot } => {
                self.host.map(vpn << PAGE_SHIFT, n << PAGE_SHIFT, prot, frame.offset())
            }
            Pending::Unmap { vpn, end } => self.host.unmap(vpn << PAGE_SHIFT, (end - vpn) << PAGE_SHIFT),
        }
        self.ops += 1;
    }
}

impl MemorySpace {
    /// Records that the stub's host mappings were all removed (the host had no room for more):
    /// every present page becomes host-less, to be mapped again when the guest touches it, and
    /// nothing is left to sync. Returns the number of present pages.
    pub fn forget_host_mappings(&mut self) -> u64 {
        let mut present = 0;
        self.pt.update(0, crate::pagetable::VPN_LIMIT, |_, pte| {
            if pte.is_tombstone() {
                *pte = Pte::EMPTY;
            } else if pte.present() {
                *pte = pte.with_hostless(true).with_sync(false);
                present += 1;
            }
        });
        self.dirty.take();
        present
    }

    /// Sends every out-of-date page-table entry to `host` as merged `map`/`unmap` operations
    /// (host protection = the page's protection minus write while COW) and clears the marks.
    /// Call before the guest runs; returns the number of operations sent.
    pub fn sync(&mut self, host: &mut dyn HostMmu) -> usize {
        let mut b = Batcher { host, pending: Pending::None, ops: 0 };
        for (lo, hi) in self.dirty.take() {
            self.pt.update(lo, hi, |vpn, pte| {
                if pte.is_tombstone() {
                    b.unmap(vpn);
                    *pte = Pte::EMPTY;
                } else if pte.needs_sync() && pte.is_hostless() {
                    b.flush(); // nothing on the host: the guest's next access maps it
                    *pte = pte.with_sync(false);
                } else if pte.needs_sync() {
                    b.map(vpn, pte.frame(), pte.host_prot());
                    *pte = pte.with_sync(false);
                } else {
                    b.flush();
                }
            });
            b.flush();
        }
        b.ops
    }
}
