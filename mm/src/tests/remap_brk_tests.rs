use arch_um::layout::MMAP_BASE;
use uapi::mman::{MapFlags, MremapFlags};
use uapi::Errno;

use super::*;

#[test]
fn brk_grows_shrinks_and_fails_like_linux() {
    let mut ms = space(8);
    let mut host = MockHostMmu::new();
    ms.set_brk_base(0x60_0010);
    let base = 0x60_1000;
    assert_eq!(ms.brk(0), base);
    assert_eq!(ms.brk(base + 10), base + 10);
    assert_eq!(ms.brk(base + 5 * P), base + 5 * P);
    assert_eq!(ms.maps()[0].name, "[heap]");
    assert_eq!(ms.find_vma(base).unwrap().end, base + 5 * P);
    ms.write(base + 4 * P, b"heap").unwrap();
    ms.sync(&mut host);
    let resident = ms.resident_pages();
    assert_eq!(ms.brk(base + P), base + P);
    assert!(ms.resident_pages() < resident);
    assert_eq!(ms.find_vma(base).unwrap().end, base + P);
    ms.sync(&mut host);
    check_mirror(&ms, &host);
    // Below the base: refused, the current break is returned.
    assert_eq!(ms.brk(base - P), base + P);
    // Into another mapping: refused.
    ms.mmap(base + 8 * P, P, RW, PA | MapFlags::FIXED, Backing::Anon).unwrap();
    assert_eq!(ms.brk(base + 8 * P), base + P);
    assert_eq!(ms.brk(base + 7 * P), base + 7 * P);
    // More than all memory: refused.
    assert_eq!(ms.brk(base + (1 << 40)), base + 7 * P);
    // Grown again, the old pages read back as zero.
    let mut b = [1u8; 4];
    ms.read(base + 4 * P, &mut b).unwrap();
    assert_eq!(b, [0; 4]);
}

#[test]
fn mremap_grows_in_place_or_moves_frames() {
    let mut ms = space(8);
    let mut host = MockHostMmu::new();
    let a = anon(&mut ms, 4 * P);
    ms.write(a, b"moveme").unwrap();
    // Grow in place into free space above? a is the topmost mapping: MMAP_BASE is free above.
    assert_eq!(a + 4 * P, MMAP_BASE);
    assert_eq!(ms.mremap(a, 4 * P, 6 * P, MremapFlags::empty(), 0), Ok(a));
    assert_eq!(ms.find_vma(a).unwrap().end, a + 6 * P);
    // Blocked above and no MAYMOVE: ENOMEM.
    ms.mmap(a + 6 * P, P, RW, PA | MapFlags::FIXED, Backing::Anon).unwrap();
    ms.mprotect(a + 6 * P, P, uapi::mman::Prot::READ).unwrap();
    assert_eq!(ms.mremap(a, 6 * P, 8 * P, MremapFlags::empty(), 0), Err(Errno::ENOMEM));
    // MAYMOVE: the entries move, the frames stay, the data follows.
    let f = ms.pte_at(a).frame();
    ms.sync(&mut host);
    let b = ms.mremap(a, 6 * P, 8 * P, MremapFlags::MAYMOVE, 0).unwrap();
    assert_ne!(b, a);
    assert_eq!(ms.pte_at(b).frame(), f);
    assert!(ms.find_vma(a).is_none());
    let mut buf = [0u8; 6];
    ms.read(b, &mut buf).unwrap();
    assert_eq!(&buf, b"moveme");
    ms.sync(&mut host);
    check_mirror(&ms, &host);
    // Shrink in place.
    assert_eq!(ms.mremap(b, 8 * P, 2 * P, MremapFlags::empty(), 0), Ok(b));
    assert_eq!(ms.find_vma(b).unwrap().end, b + 2 * P);
}

#[test]
fn mremap_fixed_dontunmap_and_errors() {
    let mut ms = space(8);
    let a = anon(&mut ms, 2 * P);
    ms.write(a, b"data").unwrap();
    let to = 0x2000_0000;
    let mm = MremapFlags::MAYMOVE;
    assert_eq!(ms.mremap(a, 2 * P, 2 * P, MremapFlags::FIXED, to), Err(Errno::EINVAL));
    assert_eq!(ms.mremap(a + 1, P, P, mm, 0), Err(Errno::EINVAL));
    assert_eq!(ms.mremap(a, P, 0, mm, 0), Err(Errno::EINVAL));
    assert_eq!(ms.mremap(0x3000_0000, P, 2 * P, mm, 0), Err(Errno::EFAULT));
    assert_eq!(ms.mremap(a, 3 * P, 4 * P, mm, 0), Err(Errno::EFAULT));
    assert_eq!(ms.mremap(a, 2 * P, 2 * P, mm | MremapFlags::FIXED, a + P), Err(Errno::EINVAL));
    assert_eq!(ms.mremap(a, P, P, MremapFlags::from_bits_retain(8), 0), Err(Errno::EINVAL));
    assert_eq!(ms.mremap(a, 2 * P, 2 * P, mm | MremapFlags::FIXED, to), Ok(to));
    let mut b = [0u8; 4];
    ms.read(to, &mut b).unwrap();
    assert_eq!(&b, b"data");
    // DONTUNMAP leaves the old range mapped and empty.
    let c = ms.mremap(to, 2 * P, 2 * P, mm | MremapFlags::DONTUNMAP, 0).unwrap();
    ms.read(c, &mut b).unwrap();
    assert_eq!(&b, b"data");
    ms.read(to, &mut b).unwrap();
    assert_eq!(b, [0; 4]);
    // old_len == 0 duplicates a shared mapping only.
    assert_eq!(ms.mremap(c, 0, P, mm, 0), Err(Errno::EINVAL));
    let s = ms.mmap(0, P, RW, MapFlags::SHARED | MapFlags::ANONYMOUS, Backing::Anon).unwrap();
    ms.write(s, b"dup!").unwrap();
    let d = ms.mremap(s, 0, P, mm, 0).unwrap();
    ms.read(d, &mut b).unwrap();
    assert_eq!(&b, b"dup!");
}

#[test]
fn drop_frees_every_frame() {
    let mut ms = space(8);
    let fa = ms.frames().clone();
    let a = anon(&mut ms, 100 * P);
    ms.populate_range(a, a + 100 * P);
    let _child = ms.fork().unwrap();
    drop(ms);
    assert!(fa.free_frames() < fa.total_frames());
    drop(_child);
    assert_eq!(fa.free_frames(), fa.total_frames());
}
