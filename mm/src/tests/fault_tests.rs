use std::sync::Arc;

use arch_um::layout::TASK_SIZE;
use uapi::mman::{MapFlags, Prot};

use super::*;
use crate::fault::{FaultError, FAULT_AROUND_PAGES, SI_KERNEL};
use crate::host::HostOp;

#[test]
fn maperr_accerr_and_si_kernel() {
    let mut ms = space(4);
    assert_eq!(ms.handle_fault(0x5000_0000, 0, 1), Err(FaultError::MapErr));
    assert_eq!(ms.handle_fault(TASK_SIZE + 5, 0, 1), Err(FaultError::MapErr));
    let none = ms.mmap(0, P, Prot::empty(), PA, Backing::Anon).unwrap();
    assert_eq!(ms.handle_fault(none, 0, 1), Err(FaultError::AccErr));
    let a = anon(&mut ms, P);
    assert_eq!(ms.handle_fault(a, 0, SI_KERNEL), Err(FaultError::AccErr));
}

#[test]
fn access_type_is_inferred_from_the_mirror() {
    let mut ms = space(4);
    let mut host = MockHostMmu::new();
    let ro = ms.mmap(0, P, Prot::READ, PA, Backing::Anon).unwrap();
    // First touch maps it with the VMA's protection…
    ms.handle_fault(ro, 0, 1).unwrap();
    ms.sync(&mut host);
    assert_eq!(host.page(ro).unwrap().1, Prot::READ);
    // …so a second fault on a present, non-COW page is a denied access: a write.
    assert_eq!(ms.handle_fault(ro, 0, 2), Err(FaultError::AccErr));
    // An instruction fetch (addr == ip) from a non-executable page.
    let rw = anon(&mut ms, P);
    ms.handle_fault(rw, rw, 1).unwrap();
    ms.sync(&mut host);
    assert_eq!(ms.handle_fault(rw, rw, 2), Err(FaultError::AccErr));
    // A fault on a page the host has not been told about yet is spurious: Ok, sync fixes it.
    let rw2 = anon(&mut ms, 64 * P);
    ms.handle_fault(rw2, 0, 1).unwrap();
    assert_eq!(ms.handle_fault(rw2, 0, 1), Ok(()));
}

#[test]
fn fault_around_fills_an_aligned_window_with_one_host_op() {
    let mut ms = space(16);
    let mut host = MockHostMmu::new();
    let a = ms.mmap(0x4000_0000, 1 << 20, RW, PA, Backing::Anon).unwrap();
    let addr = a + 37 * P + 5;
    ms.handle_fault(addr, 0, 1).unwrap();
    assert_eq!(ms.resident_pages(), FAULT_AROUND_PAGES);
    let ops = {
        ms.sync(&mut host);
        host.take_ops()
    };
    assert_eq!(ops, vec![HostOp::Map {
        va: a + 32 * P,
        len: FAULT_AROUND_PAGES * P,
        prot: RW,
        off: ms.pte_at(a + 32 * P).frame().offset(),
    }]);
    check_mirror(&ms, &host);
    // A fault in the next window lands on frames right after the previous ones.
    ms.handle_fault(a + 100 * P, 0, 1).unwrap();
    ms.handle_fault(a + 48 * P, 0, 1).unwrap();
    ms.sync(&mut host);
    assert_eq!(ms.pte_at(a + 48 * P).frame().0, ms.pte_at(a + 47 * P).frame().0 + 1);
    check_mirror(&ms, &host);
}

#[test]
fn sequential_sweep_of_256_mib_stays_merged() {
    let mut ms = space(300);
    let mut host = MockHostMmu::new();
    let len = 256u64 << 20;
    let a = anon(&mut ms, len);
    let mut faults = 0;
    let mut ops = 0;
    let mut p = a;
    while p < a + len {
        let f = touch(&mut ms, &mut host, p, true);
        if f > 0 {
            faults += f;
            let batch = host.take_ops();
            assert_eq!(batch.len(), 1, "one merged op per fault: {batch:?}");
            ops += batch.len();
        }
        p += P;
    }
    assert_eq!(ms.resident_pages(), len / P);
    assert!(faults < 150, "{faults} faults for 65536 pages");
    assert!(ops < 150);
    assert_eq!(host_mappings(&host), 1, "host mappings should merge into one");
    check_mirror(&ms, &host);
    // Unmapping it frees everything with one host op.
    ms.munmap(a, len).unwrap();
    assert_eq!(ms.sync(&mut host), 1);
    assert!(host.pages.is_empty());
    assert_eq!(ms.frames().free_frames(), ms.frames().total_frames());
}

#[test]
fn downward_sweep_stays_merged() {
    let mut ms = space(64);
    let mut host = MockHostMmu::new();
    let len = 16u64 << 20;
    let a = anon(&mut ms, len);
    let mut p = a + len;
    let mut faults = 0;
    while p > a {
        p -= P;
        faults += touch(&mut ms, &mut host, p, true);
    }
    assert!(faults < 60, "{faults} faults");
    assert!(host_mappings(&host) <= 2, "{} host mappings", host_mappings(&host));
}

#[test]
fn stack_grows_down_within_limit_and_guard_gap() {
    let mut ms = space(16);
    let top = 0x7000_0000;
    let s = ms.map_stack(top, 4 * P).unwrap();
    ms.handle_fault(s - 10 * P + 8, 0, 1).unwrap();
    assert_eq!(ms.find_vma(s - 10 * P).unwrap().start, s - 10 * P);
    assert_eq!(ms.find_vma(s - 10 * P).unwrap().end, top);
    // Beyond RLIMIT_STACK (8 MiB): no growth.
    assert_eq!(ms.handle_fault(top - (9 << 20), 0, 1), Err(FaultError::MapErr));
    // A mapping within the guard gap below blocks growth towards it.
    let below = top - (6 << 20);
    ms.mmap(below, P, RW, PA | MapFlags::FIXED, Backing::Anon).unwrap();
    assert_eq!(ms.handle_fault(below + P + 0x1000, 0, 1), Err(FaultError::MapErr));
    // The kernel's own accesses grow the stack too (signal frames are written below sp).
    ms.write(s - 20 * P, b"frame").unwrap();
    assert_eq!(ms.find_vma(s - 20 * P).unwrap().end, top);
}

#[test]
fn private_file_mapping_is_cow() {
    let mut ms = space(8);
    let mut host = MockHostMmu::new();
    let fa = ms.frames().clone();
    let file = TestFile::new(&fa, 2 * P + 100);
    let src: Arc<dyn PageSource> = file.clone();
    let a = ms.mmap(0, 4 * P, RW, MapFlags::PRIVATE, Backing::File { source: src, offset: 0 }).unwrap();
    // A read: the page-cache frames are mapped read-only (fault-around maps all 3 file pages).
    touch(&mut ms, &mut host, a + P, false);
    assert_eq!(ms.pte_at(a + P).frame(), file.pages[1]);
    assert_eq!(ms.pte_at(a + 2 * P).frame(), file.pages[2]);
    assert_eq!(host.page(a + P).unwrap().1, Prot::READ);
    assert_eq!(ms.read_cstr(a + P, 64).unwrap(), b"page1");
    // A write copies it: the file is unchanged.
    assert_eq!(touch(&mut ms, &mut host, a + P, true), 1);
    assert_ne!(ms.pte_at(a + P).frame(), file.pages[1]);
    ms.write(a + P, b"PRIVATE").unwrap();
    let mut b = [0u8; 5];
    fa.phys().read(file.pages[1].offset(), &mut b).unwrap();
    assert_eq!(&b, b"page1");
    assert_eq!(fa.refcount(file.pages[1]), 1);
    // Past the end of the file: SIGBUS.
    assert_eq!(ms.handle_fault(a + 3 * P, 0, 1), Err(FaultError::Bus));
    assert_eq!(ms.read(a + 3 * P, &mut b), Err(uapi::Errno::EFAULT));
    check_mirror(&ms, &host);
    drop(ms);
    assert_eq!(fa.refcount(file.pages[0]), 1);
}

#[test]
fn shared_file_mapping_writes_through() {
    let mut ms = space(8);
    let mut host = MockHostMmu::new();
    let fa = ms.frames().clone();
    let file = TestFile::new(&fa, P);
    let src: Arc<dyn PageSource> = file.clone();
    let a = ms.mmap(0, P, RW, MapFlags::SHARED, Backing::File { source: src, offset: 0 }).unwrap();
    assert_eq!(touch(&mut ms, &mut host, a, true), 1);
    assert_eq!(host.page(a), Some((file.pages[0].offset(), RW)));
    ms.write(a, b"shared").unwrap();
    let mut b = [0u8; 6];
    fa.phys().read(file.pages[0].offset(), &mut b).unwrap();
    assert_eq!(&b, b"shared");
}

#[test]
fn out_of_memory_is_reported() {
    let mut ms = space(1); // 256 frames
    let a = ms.mmap(0, 4 << 20, RW, PA | MapFlags::NORESERVE, Backing::Anon).unwrap();
    let mut res = Ok(());
    let mut p = a;
    while res.is_ok() && p < a + (4 << 20) {
        if !ms.pte_at(p).present() {
            res = ms.handle_fault(p, 0, 1);
        }
        p += P;
    }
    assert_eq!(res, Err(FaultError::OutOfMemory));
    assert_eq!(ms.frames().free_frames(), 0);
    assert_eq!(ms.write(p, b"x"), Err(uapi::Errno::ENOMEM));
}

/// `cargo test -p mm --release -- --ignored mmap_touch_cost --nocapture`: mm's own cost per page
/// for the `mmap_touch` benchmark (64 MiB: mmap, touch every page, munmap), host excluded.
#[test]
#[ignore]
fn mmap_touch_cost() {
    struct Null;
    impl crate::host::HostMmu for Null {
        fn map(&mut self, _: u64, _: u64, _: Prot, _: u64) {}
        fn unmap(&mut self, _: u64, _: u64) {}
        fn protect(&mut self, _: u64, _: u64, _: Prot) {}
    }
    let mut ms = space(128);
    let len = 64u64 << 20;
    for round in 0..4 {
        let t = std::time::Instant::now();
        let a = anon(&mut ms, len);
        let mut faults = 0;
        let mut p = a;
        while p < a + len {
            if !ms.pte_at(p).present() {
                ms.handle_fault(p, 0, 1).unwrap();
                ms.sync(&mut Null);
                faults += 1;
            }
            p += P;
        }
        ms.munmap(a, len).unwrap();
        ms.sync(&mut Null);
        let ns = t.elapsed().as_nanos() as f64 / (len / P) as f64;
        println!("round {round}: {faults} faults, {ns:.0} ns/page");
    }
}

#[test]
fn truncating_a_mapped_file_drops_pages_past_its_end() {
    let mut ms = space(16);
    let mut host = MockHostMmu::new();
    let fa = ms.frames().clone();
    let file = TestFile::new(&fa, 3 * P);
    let other = TestFile::new(&fa, 3 * P);
    let src: Arc<dyn PageSource> = file.clone();
    let osrc: Arc<dyn PageSource> = other.clone();
    let shared = ms.mmap(0, 3 * P, RW, MapFlags::SHARED, Backing::File { source: src.clone(), offset: 0 }).unwrap();
    let private = ms.mmap(0, 2 * P, RW, MapFlags::PRIVATE, Backing::File { source: src, offset: P }).unwrap();
    let unrelated = ms.mmap(0, 3 * P, RW, MapFlags::SHARED, Backing::File { source: osrc, offset: 0 }).unwrap();
    for a in [shared, shared + 2 * P, private, private + P, unrelated + 2 * P] {
        touch(&mut ms, &mut host, a, false);
    }
    touch(&mut ms, &mut host, private + P, true); // a private copy of file page 2
    ms.file_truncated(Arc::as_ptr(&file) as *const (), P + 10);
    assert!(ms.pte_at(shared).present(), "page 0 and the page holding the end stay");
    assert!(ms.pte_at(private).present());
    assert!(!ms.pte_at(shared + 2 * P).present(), "the shared mapping's page past the end goes");
    assert!(!ms.pte_at(private + P).present(), "and so does a private copy of it, as on Linux");
    assert!(ms.pte_at(unrelated + 2 * P).present(), "other files' mappings are left alone");
    assert_eq!(fa.refcount(file.pages[2]), 1);
    ms.sync(&mut host);
    check_mirror(&ms, &host);
}

#[test]
fn the_reclaimer_is_asked_when_frames_run_out() {
    let fa = Arc::new(FrameAllocator::new(Arc::new(arch_um::PhysMem::new(4 * P).unwrap())));
    let held: Vec<FrameNo> = (0..4).map(|_| fa.alloc().unwrap()).collect();
    assert_eq!(fa.alloc(), Err(uapi::Errno::ENOMEM));
    let pool = Arc::new(std::sync::Mutex::new(held));
    let (fa2, pool2) = (fa.clone(), pool.clone());
    fa.set_reclaimer(Box::new(move |_want| match pool2.lock().unwrap().pop() {
        Some(f) => {
            fa2.decref(f);
            1
        }
        None => 0,
    }));
    assert!(fa.alloc().is_ok(), "the reclaimer gave a frame back");
    assert_eq!(pool.lock().unwrap().len(), 3);
}
