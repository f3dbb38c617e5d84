//! Shared anonymous memory (`mmap(MAP_SHARED|MAP_ANONYMOUS)`): an object of zero-filled frames
//! allocated on first touch and shared by every mapper, so a page first touched after `fork` is
//! still the same page in parent and child. Linux backs these with a shmem file named
//! `/dev/zero (deleted)`; so do we.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use uapi::{Errno, KResult};

use crate::frame::{FrameAllocator, FrameNo};
use crate::vma::PageSource;

/// A fixed-size object of anonymous pages, allocated on demand (Linux's `shmem_zero_setup`).
pub struct ShmemObject {
    frames: Arc<FrameAllocator>,
    size: u64,
    pages: Mutex<BTreeMap<u64, FrameNo>>,
}

impl ShmemObject {
    /// An object of `size` bytes, all reading as zero.
    pub fn new(frames: Arc<FrameAllocator>, size: u64) -> ShmemObject {
        ShmemObject { frames, size, pages: Mutex::new(BTreeMap::new()) }
    }

    /// The number of pages allocated so far (the object's resident set, as `shm_rss` counts).
    pub fn resident_pages(&self) -> u64 {
        self.pages.lock().unwrap_or_else(|e| e.into_inner()).len() as u64
    }
}

impl PageSource for ShmemObject {
    /// The frame of page `index`, allocated (zeroed, right after the previous page's frame when
    /// possible) on first use; the object keeps one reference, the caller gets another.
    fn page(&self, index: u64) -> KResult<FrameNo> {
        if index >= self.size.div_ceil(uapi::mman::PAGE_SIZE) {
            return Err(Errno::EFAULT);
        }
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        let f = match pages.get(&index) {
            Some(&f) => f,
            None => {
                let hint = index.checked_sub(1).and_then(|i| pages.get(&i).copied());
                let f = self.frames.alloc_near(hint, 1)?;
                pages.insert(index, f);
                f
            }
        };
        self.frames.incref(f)?;
        Ok(f)
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn name(&self) -> String {
        "/dev/zero (deleted)".into()
    }

    /// A page is in memory once some mapper touched it.
    fn is_resident(&self, index: u64) -> bool {
        self.pages.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&index)
    }
}

impl Drop for ShmemObject {
    fn drop(&mut self) {
        let pages = std::mem::take(self.pages.get_mut().unwrap_or_else(|e| e.into_inner()));
        self.frames.decref_many(pages.into_values());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use arch_um::PhysMem;

    #[test]
    fn pages_are_shared_and_freed() {
        let fa = Arc::new(FrameAllocator::new(Arc::new(PhysMem::new(1 << 20).unwrap())));
        let obj = ShmemObject::new(fa.clone(), 3 * 4096 + 1);
        let a = obj.page(0).unwrap();
        let b = obj.page(0).unwrap();
        assert_eq!(a, b);
        assert_eq!(fa.refcount(a), 3);
        let c = obj.page(1).unwrap();
        assert_eq!(c.0, a.0 + 1);
        assert!(obj.page(3).is_ok());
        assert_eq!(obj.page(4), Err(Errno::EFAULT));
        fa.decref_many([a, b, c]);
        drop(obj);
        assert_eq!(fa.free_frames(), fa.total_frames() - 1);
    }
}
