use super::*;
use crate::host::HostOp;

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
