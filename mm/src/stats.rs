//! Views of an address space for /proc: the maps list and memory statistics.

use uapi::mman::{Prot, PAGE_SIZE};

use crate::space::MemorySpace;
use crate::vma::VmaFlags;

/// One line of `/proc/<pid>/maps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapInfo {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Current protection.
    pub prot: Prot,
    /// `MAP_SHARED` (`s`) or private (`p`).
    pub shared: bool,
    /// File offset (0 for anonymous memory).
    pub offset: u64,
    /// Path or special name (`[heap]`, `[stack]`), empty for anonymous memory.
    pub name: String,
}

impl MapInfo {
    /// Formats the line as Linux's `show_map_vma` does (device and inode shown as `00:00 0`;
    /// the kernel may substitute real ones), without the newline.
    pub fn to_maps_line(&self) -> String {
        let flag = |p: Prot, c: char| if self.prot.contains(p) { c } else { '-' };
        let mut line = format!(
            "{:08x}-{:08x} {}{}{}{} {:08x} 00:00 0 ",
            self.start,
            self.end,
            flag(Prot::READ, 'r'),
            flag(Prot::WRITE, 'w'),
            flag(Prot::EXEC, 'x'),
            if self.shared { 's' } else { 'p' },
            self.offset
        );
        if !self.name.is_empty() {
            while line.len() < 72 {
                line.push(' ');
            }
            line.push(' ');
            line.push_str(&self.name);
        }
        line
    }
}

/// Memory statistics of one address space (for `/proc/<pid>/status` and statm).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemStats {
    /// Total mapped size in bytes (`VmSize`).
    pub vm_size: u64,
    /// Resident pages (`VmRSS` in pages).
    pub resident_pages: u64,
    /// Size of the `[stack]` VMA in bytes (`VmStk`).
    pub stack: u64,
    /// Size of the heap in bytes (`brk - start_brk`).
    pub heap: u64,
}

impl MemorySpace {
    /// The `/proc/<pid>/maps` lines, in address order.
    pub fn maps(&self) -> Vec<MapInfo> {
        self.vmas
            .iter()
            .map(|v| MapInfo {
                start: v.start,
                end: v.end,
                prot: v.prot,
                shared: v.is_shared(),
                offset: if v.flags.contains(VmaFlags::ANONYMOUS) { 0 } else { v.offset() },
                name: v.display_name(),
            })
            .collect()
    }

    /// Number of pages holding a frame.
    pub fn resident_pages(&self) -> u64 {
        self.pt.present_count()
    }

    /// Size and residency statistics.
    pub fn stats(&self) -> MemStats {
        let stack = self.vmas.iter().filter(|v| v.flags.contains(VmaFlags::STACK)).map(|v| v.len()).sum();
        MemStats {
            vm_size: self.vmas.iter().map(|v| v.len()).sum(),
            resident_pages: self.pt.present_count(),
            stack,
            heap: self.brk.saturating_sub(self.start_brk),
        }
    }

    /// Resident memory in bytes.
    pub fn resident_bytes(&self) -> u64 {
        self.pt.present_count().saturating_mul(PAGE_SIZE)
    }
}
