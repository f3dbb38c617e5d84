//! `mincore` (Linux's `mm/mincore.c`): which pages of a mapping are in memory — a page the
//! mapping has mapped, or for a file (or shared memory) mapping a page its file holds in
//! memory even if this mapping never touched it.

use uapi::mman::{PAGE_SHIFT, PAGE_SIZE};
use uapi::{Errno, KResult};

use crate::space::MemorySpace;
use crate::vma::Backing;

/// The most pages one [`MemorySpace::mincore_chunk`] call reports (Linux's one-page buffer).
pub const MINCORE_CHUNK_PAGES: u64 = PAGE_SIZE;

impl MemorySpace {
    /// Linux's `do_mincore`: the residency bytes (1 or 0) of up to `pages` pages from the
    /// page-aligned `addr`, stopping at the end of the VMA holding `addr` (at most
    /// [`MINCORE_CHUNK_PAGES`]). `ENOMEM` if no VMA holds `addr`.
    pub fn mincore_chunk(&self, addr: u64, pages: u64) -> KResult<Vec<u8>> {
        let vma = self.vmas.find(addr).ok_or(Errno::ENOMEM)?;
        let want = pages.min(MINCORE_CHUNK_PAGES);
        let end = vma.end.min(addr.saturating_add(want << PAGE_SHIFT));
        let mut out = Vec::with_capacity(((end - addr) >> PAGE_SHIFT) as usize);
        let mut a = addr;
        while a < end {
            out.push(u8::from(self.page_resident(vma, a)));
            a += PAGE_SIZE;
        }
        Ok(out)
    }

    /// One page: mapped here, or (not mapped) held by the file behind a file mapping.
    fn page_resident(&self, vma: &crate::vma::Vma, addr: u64) -> bool {
        if self.pt.lookup(addr >> PAGE_SHIFT).present() {
            return true;
        }
        match (&vma.backing, vma.file_page(addr)) {
            (Backing::File { .. }, Some((source, index))) => source.is_resident(index),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::Arc;

    use arch_um::PhysMem;
    use uapi::mman::{MapFlags, Prot};

    use crate::frame::FrameAllocator;
    use crate::space::MemorySpace;
    use crate::vma::Backing;
    use uapi::Errno;

    fn space() -> MemorySpace {
        MemorySpace::new(Arc::new(FrameAllocator::new(Arc::new(PhysMem::new(4 << 20).unwrap()))))
    }

    #[test]
    fn touched_anonymous_pages_are_resident() {
        let mut s = space();
        let rw = Prot::READ | Prot::WRITE;
        let a = s.mmap(0, 64 * 4096, rw, MapFlags::PRIVATE | MapFlags::ANONYMOUS, Backing::Anon).unwrap();
        assert_eq!(s.mincore_chunk(a, 4).unwrap(), vec![0, 0, 0, 0]);
        s.write(a + 40 * 4096, &[1]).unwrap();
        let v = s.mincore_chunk(a, 64).unwrap();
        assert_eq!(v.len(), 64);
        assert_eq!(v[40], 1);
        assert!(v.iter().filter(|b| **b == 1).count() >= 1);
        assert_eq!(s.mincore_chunk(a + 64 * 4096, 1), Err(Errno::ENOMEM));
        // A chunk stops at the end of the VMA.
        assert_eq!(s.mincore_chunk(a + 63 * 4096, 10).unwrap().len(), 1);
    }

    #[test]
    fn shared_memory_pages_are_resident_once_allocated() {
        let mut s = space();
        let rw = Prot::READ | Prot::WRITE;
        let a = s.mmap(0, 3 * 4096, rw, MapFlags::SHARED | MapFlags::ANONYMOUS, Backing::Anon).unwrap();
        assert_eq!(s.mincore_chunk(a, 3).unwrap(), vec![0, 0, 0]);
        s.write(a + 4096, &[1]).unwrap();
        assert_eq!(s.mincore_chunk(a, 3).unwrap()[1], 1);
    }
}
