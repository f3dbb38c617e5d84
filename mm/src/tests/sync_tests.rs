use super::*;
use crate::host::{HostMmu, HostOp};

#[test]
fn sync_merges_and_only_walks_dirty_ranges() {
    let mut ms = space(16);
    let mut host = MockHostMmu::new();
    let a = anon(&mut ms, 1000 * P);
    ms.populate_range(a, a + 1000 * P);
    let n = ms.sync(&mut host);
    assert!(n <= 2, "1000 contiguous pages gave {n} ops");
    check_mirror(&ms, &host);
    assert_eq!(ms.sync(&mut host), 0);
    // Unmapping a sparse set of pages: one merged unmap across the never-mapped gaps.
    ms.munmap(a + 100 * P, 300 * P).unwrap();
    host.take_ops();
    assert_eq!(ms.sync(&mut host), 1);
    assert_eq!(host.take_ops(), vec![HostOp::Unmap { va: a + 100 * P, len: 300 * P }]);
    check_mirror(&ms, &host);
}

#[test]
fn tombstones_split_around_present_pages() {
    let mut ms = space(16);
    let mut host = MockHostMmu::new();
    let a = anon(&mut ms, 64 * P);
    ms.populate_range(a, a + 64 * P);
    ms.sync(&mut host);
    ms.madvise(a, 8 * P, uapi::mman::madv::DONTNEED).unwrap();
    ms.madvise(a + 16 * P, 8 * P, uapi::mman::madv::DONTNEED).unwrap();
    ms.sync(&mut host);
    check_mirror(&ms, &host);
    assert_eq!(ms.resident_pages(), 48);
}

#[test]
fn emptied_host_mappings_fault_back_in_with_the_same_frames_and_cow() {
    let mut ms = space(16);
    let mut host = MockHostMmu::new();
    let a = anon(&mut ms, 64 * P);
    for i in 0..64 {
        touch(&mut ms, &mut host, a + i * P, true);
    }
    let mut child = ms.fork().unwrap();
    let mut chost = MockHostMmu::new();
    child.sync(&mut chost);
    ms.sync(&mut host);
    let before: Vec<_> = (0..64).map(|i| ms.pte_at(a + i * P).frame()).collect();
    // The host had no room: the stub's mappings are emptied and the page table told so.
    host.unmap(0, arch_um::layout::TASK_SIZE);
    assert_eq!(ms.forget_host_mappings(), 64);
    assert!(!ms.needs_sync());
    assert_eq!(ms.sync(&mut host), 0, "sync must not map host-less pages");
    // A read maps the page (and its fault-around window) again, still copy-on-write...
    assert_eq!(touch(&mut ms, &mut host, a + 5 * P, false), 1);
    assert_eq!(ms.pte_at(a + 5 * P).frame(), before[5]);
    assert!(!host.page(a + 5 * P).unwrap().1.contains(Prot::WRITE));
    assert!(host.page(a + 6 * P).is_some(), "fault-around maps the neighbours");
    // ...and a write then breaks COW as usual.
    assert_eq!(touch(&mut ms, &mut host, a + 5 * P, true), 1);
    assert_ne!(ms.pte_at(a + 5 * P).frame(), before[5]);
    for i in 0..64 {
        touch(&mut ms, &mut host, a + i * P, false);
    }
    check_mirror(&ms, &host);
}
