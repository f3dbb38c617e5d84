use arch_um::layout::{MMAP_BASE, MMAP_MIN_ADDR, TASK_SIZE};
use uapi::mman::{madv, MapFlags, Prot};
use uapi::Errno;

use super::*;
use crate::mmap::MapOptions;
use crate::FaultError;
use crate::vma::VmaFlags;

#[test]
fn top_down_placement_and_hints() {
    let mut ms = space(16);
    let a = anon(&mut ms, 3 * P);
    assert_eq!(a, MMAP_BASE - 3 * P);
    let b = anon(&mut ms, 5000); // rounded to 2 pages
    assert_eq!(b, a - 2 * P);
    // Adjacent anonymous mappings with equal attributes merge, as Linux's vma_merge.
    assert_eq!(ms.vmas().count(), 1);
    // A free hint is used (rounded down); a taken one falls back to top-down.
    let h = ms.mmap(0x1000_0123, P, RW, PA, Backing::Anon).unwrap();
    assert_eq!(h, 0x1000_0000);
    let h2 = ms.mmap(0x1000_0000, P, Prot::READ, PA, Backing::Anon).unwrap();
    assert_eq!(h2, b - P);
    // A hint below mmap_min_addr is raised to it.
    assert_eq!(ms.mmap(0x10, P, RW, PA, Backing::Anon).unwrap(), MMAP_MIN_ADDR);
    // A freed hole near the top is reused.
    ms.munmap(a, P).unwrap();
    assert_eq!(anon(&mut ms, P), a);
}

#[test]
fn mmap_errno_order() {
    let mut ms = space(4);
    let fixed = PA | MapFlags::FIXED;
    assert_eq!(ms.mmap(0, 0, RW, PA, Backing::Anon), Err(Errno::EINVAL));
    assert_eq!(ms.mmap(0x20_0001, P, RW, fixed, Backing::Anon), Err(Errno::EINVAL));
    assert_eq!(ms.mmap(0, P, RW, MapFlags::ANONYMOUS, Backing::Anon), Err(Errno::EINVAL));
    assert_eq!(ms.mmap(0, P, RW, MapFlags::SHARED_VALIDATE | MapFlags::ANONYMOUS, Backing::Anon), Err(Errno::EINVAL));
    assert_eq!(ms.mmap(0x1000, P, RW, fixed, Backing::Anon), Err(Errno::EPERM));
    assert_eq!(ms.mmap(0, u64::MAX - 10, RW, PA, Backing::Anon), Err(Errno::ENOMEM));
    assert_eq!(ms.mmap(0, TASK_SIZE + P, RW, PA, Backing::Anon), Err(Errno::ENOMEM));
    assert_eq!(ms.mmap(TASK_SIZE - P, 2 * P, RW, fixed, Backing::Anon), Err(Errno::ENOMEM));
    // Zero length beats everything; a bad type comes after address checks, as in do_mmap.
    assert_eq!(ms.mmap(0x1000, 0, RW, MapFlags::empty(), Backing::Anon), Err(Errno::EINVAL));
    assert_eq!(ms.mmap(0x1000, P, RW, MapFlags::FIXED, Backing::Anon), Err(Errno::EPERM));
    // Heuristic overcommit: more than all memory, unless MAP_NORESERVE or not writable.
    assert_eq!(ms.mmap(0, 8 << 20, RW, PA, Backing::Anon), Err(Errno::ENOMEM));
    assert!(ms.mmap(0, 8 << 20, RW, PA | MapFlags::NORESERVE, Backing::Anon).is_ok());
    assert!(ms.mmap(0, 1 << 30, Prot::empty(), PA, Backing::Anon).is_ok());
    let fa = ms.frames().clone();
    let file = TestFile::new(&fa, P);
    let b = Backing::File { source: file, offset: 100 };
    assert_eq!(ms.mmap(0, P, Prot::READ, MapFlags::PRIVATE, b), Err(Errno::EINVAL));
}

#[test]
fn map_fixed_replaces_and_noreplace_refuses() {
    let mut ms = space(4);
    let mut host = MockHostMmu::new();
    let a = anon(&mut ms, 4 * P);
    ms.write(a, b"old").unwrap();
    let used = ms.frames().free_frames();
    let fixed = PA | MapFlags::FIXED;
    assert_eq!(ms.mmap(a + P, P, RW, PA | MapFlags::FIXED_NOREPLACE, Backing::Anon), Err(Errno::EEXIST));
    assert_eq!(ms.mmap(a, P, Prot::READ, fixed, Backing::Anon), Ok(a));
    assert!(ms.frames().free_frames() > used);
    let mut b = [9u8; 3];
    ms.read(a, &mut b).unwrap();
    assert_eq!(b, [0; 3]);
    assert_eq!(ms.vmas().count(), 2);
    ms.sync(&mut host);
    check_mirror(&ms, &host);
}

#[test]
fn munmap_splits_and_validates() {
    let mut ms = space(4);
    let a = anon(&mut ms, 10 * P);
    ms.munmap(a + 3 * P, 2 * P).unwrap();
    let v: Vec<(u64, u64)> = ms.vmas().map(|v| (v.start, v.end)).collect();
    assert_eq!(v, vec![(a, a + 3 * P), (a + 5 * P, a + 10 * P)]);
    assert_eq!(ms.munmap(a + 1, P), Err(Errno::EINVAL));
    assert_eq!(ms.munmap(a, 0), Err(Errno::EINVAL));
    assert_eq!(ms.munmap(TASK_SIZE - P, 2 * P), Err(Errno::EINVAL));
    assert_eq!(ms.munmap(0x1000, P), Ok(())); // nothing there: fine
    ms.munmap(a, 10 * P).unwrap();
    assert_eq!(ms.vmas().count(), 0);
}

#[test]
fn mprotect_splits_merges_and_errors() {
    let mut ms = space(4);
    let a = anon(&mut ms, 6 * P);
    ms.mprotect(a + 2 * P, 2 * P, Prot::READ).unwrap();
    let prots: Vec<Prot> = ms.vmas().map(|v| v.prot).collect();
    assert_eq!(prots, vec![RW, Prot::READ, RW]);
    ms.mprotect(a + 2 * P, 2 * P, RW).unwrap();
    assert_eq!(ms.vmas().count(), 1);
    assert_eq!(ms.mprotect(a + 1, P, RW), Err(Errno::EINVAL));
    assert_eq!(ms.mprotect(a, P, Prot::from_bits_retain(0x40)), Err(Errno::EINVAL));
    assert_eq!(ms.mprotect(a, 0, RW), Ok(()));
    // Start in a hole: ENOMEM, nothing changed.
    assert_eq!(ms.mprotect(a - P, 2 * P, Prot::READ), Err(Errno::ENOMEM));
    assert_eq!(ms.vmas().count(), 1);
    // Hole after a VMA: the VMA part is changed, then ENOMEM (Linux applies up to the hole).
    assert_eq!(ms.mprotect(a + 5 * P, 2 * P, Prot::READ), Err(Errno::ENOMEM));
    assert_eq!(ms.find_vma(a + 5 * P).unwrap().prot, Prot::READ);
    // VM_MAYWRITE: no write permission can be added to a mapping that may not have it.
    let opts = MapOptions { max_prot: Prot::READ, ..MapOptions::default() };
    let f = ms.mmap_with(0, P, Prot::READ, PA, Backing::Anon, opts).unwrap();
    assert_eq!(ms.mprotect(f, P, RW), Err(Errno::EACCES));
}

#[test]
fn mprotect_updates_present_pages_and_keeps_data() {
    let mut ms = space(4);
    let mut host = MockHostMmu::new();
    let a = anon(&mut ms, 4 * P);
    ms.write(a, b"keep").unwrap();
    ms.sync(&mut host);
    ms.mprotect(a, 4 * P, Prot::empty()).unwrap();
    ms.sync(&mut host);
    check_mirror(&ms, &host);
    assert_eq!(host.page(a).unwrap().1, Prot::empty());
    assert_eq!(ms.handle_fault(a, 0, 2), Err(FaultError::AccErr));
    assert_eq!(ms.read(a, &mut [0u8; 4]), Err(Errno::EFAULT));
    ms.mprotect(a, 4 * P, Prot::READ).unwrap();
    let mut b = [0u8; 4];
    ms.read(a, &mut b).unwrap();
    assert_eq!(&b, b"keep");
    assert_eq!(ms.write(a, b"x"), Err(Errno::EFAULT));
}

#[test]
fn mprotect_growsdown_extends_to_vma_start() {
    let mut ms = space(4);
    let s = ms.map_stack(0x7000_0000, 4 * P).unwrap();
    ms.mprotect(s + 2 * P, P, Prot::READ | Prot::WRITE | Prot::EXEC | Prot::GROWSDOWN).unwrap();
    let v = ms.find_vma(s).unwrap();
    assert!(v.prot.contains(Prot::EXEC) && v.end == s + 3 * P);
    let a = anon(&mut ms, P);
    assert_eq!(ms.mprotect(a, P, Prot::READ | Prot::GROWSDOWN), Err(Errno::EINVAL));
}

#[test]
fn madvise_dontneed_zeroes_private_anon() {
    let mut ms = space(4);
    let mut host = MockHostMmu::new();
    let a = anon(&mut ms, 4 * P);
    ms.write(a + P, b"data").unwrap();
    ms.sync(&mut host);
    let free = ms.frames().free_frames();
    ms.madvise(a, 4 * P, madv::DONTNEED).unwrap();
    assert!(ms.frames().free_frames() > free);
    assert_eq!(ms.resident_pages(), 0);
    ms.sync(&mut host);
    check_mirror(&ms, &host);
    assert!(host.pages.is_empty());
    let mut b = [1u8; 4];
    ms.read(a + P, &mut b).unwrap();
    assert_eq!(b, [0; 4]);
    assert_eq!(ms.madvise(a + 1, P, madv::DONTNEED), Err(Errno::EINVAL));
    assert_eq!(ms.madvise(a, P, 7), Err(Errno::EINVAL));
    assert_eq!(ms.madvise(a, 8 * P, madv::NORMAL), Err(Errno::ENOMEM));
    assert_eq!(ms.madvise(a, 0, madv::DONTNEED), Ok(()));
}

#[test]
fn madvise_dontfork_splits_flags() {
    let mut ms = space(4);
    let a = anon(&mut ms, 4 * P);
    ms.madvise(a + P, P, 10).unwrap();
    assert_eq!(ms.vmas().count(), 3);
    assert!(ms.find_vma(a + P).unwrap().flags.contains(VmaFlags::DONTFORK));
    let child = ms.fork().unwrap();
    assert!(child.find_vma(a + P).is_none());
    assert!(child.find_vma(a).is_some());
    ms.madvise(a + P, P, 11).unwrap();
    assert_eq!(ms.vmas().count(), 1);
}

#[test]
fn populate_prefaults_in_runs() {
    let mut ms = space(8);
    let mut host = MockHostMmu::new();
    let a = ms.mmap(0, 1 << 20, RW, PA | MapFlags::POPULATE, Backing::Anon).unwrap();
    assert_eq!(ms.resident_pages(), 256);
    assert_eq!(ms.sync(&mut host), 1);
    check_mirror(&ms, &host);
    let _ = a;
}

#[test]
fn maps_lines_look_like_linux() {
    let mut ms = space(4);
    ms.set_brk_base(0x60_0123);
    ms.brk(0x60_5000);
    let s = ms.map_stack(arch_um::layout::STACK_TOP, 0x21000).unwrap();
    let fa = ms.frames().clone();
    let file = TestFile::new(&fa, 2 * P);
    let f = ms.mmap(0, 2 * P, Prot::READ | Prot::EXEC, MapFlags::PRIVATE, Backing::File { source: file, offset: P }).unwrap();
    let lines: Vec<String> = ms.maps().iter().map(|m| m.to_maps_line()).collect();
    assert!(lines[0].starts_with("00601000-00605000 rw-p 00000000 00:00 0   "));
    assert_eq!(lines[0].find("[heap]"), Some(73));
    assert!(lines[1].starts_with(&format!("{f:08x}-{:08x} r-xp 00001000 00:00 0 ", f + 2 * P)));
    assert!(lines[1].ends_with(" /test/file"));
    assert_eq!(lines[1].find("/test").unwrap(), 73);
    assert!(lines[2].starts_with(&format!("{s:08x}-{:08x} rw-p", arch_um::layout::STACK_TOP)));
    assert!(lines[2].ends_with("[stack]"));
    let st = ms.stats();
    assert_eq!(st.stack, 0x21000);
    assert_eq!(st.heap, 0x60_5000 - 0x60_1000);
}
