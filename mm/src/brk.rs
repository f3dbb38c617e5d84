//! The program break (`brk(2)`, Linux's `mm/mmap.c` `SYSCALL_DEFINE1(brk)`): an anonymous
//! read-write VMA named `[heap]` from `start_brk` up to the page-rounded break.

use arch_um::layout::TASK_SIZE;
use uapi::mman::{page_ceil, Prot, PAGE_SHIFT, PAGE_SIZE};
use uapi::KResult;

use crate::space::{MemorySpace, STACK_GUARD_GAP};
use crate::vma::{Backing, Vma, VmaFlags};

impl MemorySpace {
    /// Sets the start of the heap (page-rounded up), as the ELF loader does after mapping the
    /// last segment (Linux's `mm->start_brk = mm->brk`). The break starts there.
    pub fn set_brk_base(&mut self, addr: u64) {
        let base = page_ceil(addr).unwrap_or(addr);
        self.start_brk = base;
        self.brk = base;
    }

    /// The start of the heap (`start_brk`).
    pub fn brk_base(&self) -> u64 {
        self.start_brk
    }

    /// The current break.
    pub fn current_brk(&self) -> u64 {
        self.brk
    }

    /// `brk(2)`: moves the break to `new` and returns it; on failure (below the heap start,
    /// overlapping another mapping or its stack guard gap, beyond `TASK_SIZE`, more than all
    /// memory, or `new == 0`, the query) returns the current break unchanged, as Linux does.
    /// Shrinking unmaps the freed pages.
    pub fn brk(&mut self, new: u64) -> u64 {
        if let Ok(true) = self.try_brk(new) {
            self.brk = new;
        }
        self.brk
    }

    fn try_brk(&mut self, new: u64) -> KResult<bool> {
        if new < self.start_brk {
            return Ok(false);
        }
        let (Some(newbrk), Some(oldbrk)) = (page_ceil(new), page_ceil(self.brk)) else { return Ok(false) };
        if newbrk == oldbrk {
            return Ok(true);
        }
        if new <= self.brk {
            self.unmap_range(newbrk, oldbrk)?;
            return Ok(true);
        }
        if !self.brk_room(oldbrk, newbrk) {
            return Ok(false);
        }
        self.extend_heap(oldbrk, newbrk);
        // A heap grows to be used: prefault a small growth now, so the guest's first touch of
        // each new page costs no fault round trip (the pages reach the stub in the batch that
        // runs before the guest resumes anyway). Large growths stay demand-paged.
        if newbrk - oldbrk <= BRK_PREFAULT_MAX {
            self.populate_range(oldbrk, newbrk);
        }
        Ok(true)
    }

    /// True if `[oldbrk, newbrk)` may become heap: free, under `TASK_SIZE` with a page to spare
    /// before the next mapping (and the guard gap below a stack), and not more than all memory.
    fn brk_room(&self, oldbrk: u64, newbrk: u64) -> bool {
        if newbrk > TASK_SIZE || !self.vmas.is_free(oldbrk, newbrk) {
            return false;
        }
        if ((newbrk - oldbrk) >> PAGE_SHIFT) > self.frames.total_frames() {
            return false;
        }
        match self.vmas.find_from(newbrk) {
            Some(next) => {
                let gap = if next.flags.contains(VmaFlags::GROWSDOWN) { STACK_GUARD_GAP } else { 0 };
                newbrk.saturating_add(PAGE_SIZE) <= next.start.saturating_sub(gap)
            }
            None => true,
        }
    }

    /// Extends the `[heap]` VMA ending at `oldbrk` to `newbrk`, or creates it.
    fn extend_heap(&mut self, oldbrk: u64, newbrk: u64) {
        let heap = self.vmas.prev(oldbrk).filter(|v| v.end == oldbrk && v.name.as_deref() == Some("[heap]"));
        match heap.map(|v| v.start) {
            Some(start) => self.vmas.resize(start, start, newbrk),
            None => {
                let rw = Prot::READ | Prot::WRITE;
                let mut vma = Vma::new(oldbrk, newbrk, rw, VmaFlags::ANONYMOUS, Backing::Anon);
                vma.name = Some("[heap]".into());
                self.vmas.insert(vma);
            }
        }
    }
}

/// The largest heap growth `brk` prefaults (64 KiB, fault-around's window).
const BRK_PREFAULT_MAX: u64 = 16 * PAGE_SIZE;
