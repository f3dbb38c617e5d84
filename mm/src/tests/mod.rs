//! Unit tests of `MemorySpace` against a mock host (no ptrace).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fault_tests;
mod fork_tests;
mod mmap_tests;
mod model_tests;
mod remap_brk_tests;
mod sync_tests;
mod uaccess_tests;

use std::sync::Arc;

use arch_um::PhysMem;
use uapi::mman::{MapFlags, Prot, PAGE_SIZE};
use uapi::KResult;

use crate::frame::{FrameAllocator, FrameNo};
use crate::host::MockHostMmu;
use crate::space::MemorySpace;
use crate::vma::{Backing, PageSource};

pub const RW: Prot = Prot::READ.union(Prot::WRITE);
pub const PA: MapFlags = MapFlags::PRIVATE.union(MapFlags::ANONYMOUS);
pub const P: u64 = PAGE_SIZE;

/// A space over a fresh physmem of `mib` MiB.
pub fn space(mib: u64) -> MemorySpace {
    MemorySpace::new(Arc::new(FrameAllocator::new(Arc::new(PhysMem::new(mib << 20).unwrap()))))
}

/// A private anonymous read-write mapping of `len` bytes.
pub fn anon(ms: &mut MemorySpace, len: u64) -> u64 {
    ms.mmap(0, len, RW, PA, Backing::Anon).unwrap()
}

/// Resolves a guest access at `addr` the way the kernel's run loop does: fault until the
/// (modelled) host allows it, syncing after every fault. Returns the number of faults taken.
pub fn touch(ms: &mut MemorySpace, host: &mut MockHostMmu, addr: u64, write: bool) -> usize {
    let mut faults = 0;
    loop {
        let ok = match host.page(addr) {
            Some((_, prot)) => !prot.is_empty() && (!write || prot.contains(Prot::WRITE)),
            None => false,
        };
        if ok {
            return faults;
        }
        assert!(faults < 4, "fault loop at {addr:#x}");
        ms.handle_fault(addr, 0, 1).unwrap();
        ms.sync(host);
        faults += 1;
    }
}

/// Checks that the modelled host mappings are exactly what the page table says.
pub fn check_mirror(ms: &MemorySpace, host: &MockHostMmu) {
    assert!(!ms.needs_sync());
    for v in ms.vmas() {
        let mut a = v.start;
        while a < v.end {
            let pte = ms.pte_at(a);
            let want = pte.present().then(|| (pte.frame().offset(), pte.host_prot()));
            assert_eq!(host.page(a), want, "host mirror at {a:#x}");
            a += P;
        }
    }
    for &va in host.pages.keys() {
        assert!(ms.find_vma(va).is_some(), "host maps {va:#x} outside every VMA");
    }
}

/// The number of host mappings the modelled pages would form (maximal runs contiguous in both
/// address and physmem offset, with the same protection).
pub fn host_mappings(host: &MockHostMmu) -> usize {
    let mut n = 0;
    let mut prev: Option<(u64, u64, Prot)> = None;
    for (&va, &(off, prot)) in &host.pages {
        let cont = matches!(prev, Some((pva, poff, pp)) if pva + P == va && poff + P == off && pp == prot);
        if !cont {
            n += 1;
        }
        prev = Some((va, off, prot));
    }
    n
}

/// An in-memory file whose pages are frames filled with `fill(index)`.
pub struct TestFile {
    pub frames: Arc<FrameAllocator>,
    pub pages: Vec<FrameNo>,
    pub size: u64,
}

impl TestFile {
    pub fn new(frames: &Arc<FrameAllocator>, size: u64) -> Arc<TestFile> {
        let n = size.div_ceil(P);
        let pages: Vec<FrameNo> = (0..n)
            .map(|i| {
                let f = frames.alloc().unwrap();
                frames.phys().write(f.offset(), format!("page{i}").as_bytes()).unwrap();
                f
            })
            .collect();
        Arc::new(TestFile { frames: frames.clone(), pages, size })
    }
}

impl PageSource for TestFile {
    fn page(&self, index: u64) -> KResult<FrameNo> {
        let f = *self.pages.get(index as usize).ok_or(uapi::Errno::EIO)?;
        self.frames.incref(f)?;
        Ok(f)
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn name(&self) -> String {
        "/test/file".into()
    }
}

impl Drop for TestFile {
    fn drop(&mut self) {
        self.frames.decref_many(self.pages.drain(..));
    }
}
