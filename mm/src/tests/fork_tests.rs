use uapi::mman::{MapFlags, Prot};

use super::*;
use crate::host::HostOp;

#[test]
fn fork_shares_frames_copy_on_write() {
    let mut parent = space(8);
    let mut phost = MockHostMmu::new();
    let a = anon(&mut parent, 8 * P);
    parent.write(a, b"parent").unwrap();
    touch(&mut parent, &mut phost, a, true);
    check_mirror(&parent, &phost);
    phost.take_ops();
    let f0 = parent.pte_at(a).frame();
    let fa = parent.frames().clone();
    let resident = parent.resident_pages();

    let mut child = parent.fork().unwrap();
    let mut chost = MockHostMmu::new();
    assert_eq!(fa.refcount(f0), 2);
    assert_eq!(child.resident_pages(), resident);
    assert!(parent.pte_at(a).is_cow() && child.pte_at(a).is_cow());
    assert!(parent.pte_at(a).needs_sync() && child.pte_at(a).needs_sync());

    // Both sides get one merged batch: the parent is downgraded to read-only, the child mapped.
    assert_eq!(parent.sync(&mut phost), 1);
    assert!(matches!(phost.take_ops()[0], HostOp::Map { prot, .. } if prot == Prot::READ));
    assert_eq!(child.sync(&mut chost), 1);
    check_mirror(&parent, &phost);
    check_mirror(&child, &chost);

    // The child writes: it gets its own copy; the parent still sees its data.
    assert_eq!(touch(&mut child, &mut chost, a, true), 1);
    child.write(a, b"child!").unwrap();
    assert_ne!(child.pte_at(a).frame(), f0);
    let mut b = [0u8; 6];
    parent.read(a, &mut b).unwrap();
    assert_eq!(&b, b"parent");
    child.read(a, &mut b).unwrap();
    assert_eq!(&b, b"child!");
    assert_eq!(fa.refcount(f0), 1);

    // The parent's next write finds itself the only user: no copy, just write access back.
    assert_eq!(touch(&mut parent, &mut phost, a, true), 1);
    assert_eq!(parent.pte_at(a).frame(), f0);
    assert!(!parent.pte_at(a).is_cow());
    check_mirror(&parent, &phost);
    check_mirror(&child, &chost);

    drop(child);
    drop(parent);
    assert_eq!(fa.free_frames(), fa.total_frames());
}

#[test]
fn kernel_write_breaks_cow() {
    let mut parent = space(8);
    let a = anon(&mut parent, P);
    parent.write(a, b"orig").unwrap();
    let mut child = parent.fork().unwrap();
    child.write(a, b"kern").unwrap();
    let mut b = [0u8; 4];
    parent.read(a, &mut b).unwrap();
    assert_eq!(&b, b"orig");
    // with_user_writer breaks COW too.
    parent.with_user_writer(a, 4, |w| {
        Ok(w.write_slice(b"bulk"))
    }).unwrap();
    child.read(a, &mut b).unwrap();
    assert_eq!(&b, b"kern");
}

#[test]
fn shared_mappings_stay_shared_across_fork() {
    let mut parent = space(8);
    let sa = parent.mmap(0, 4 * P, RW, MapFlags::SHARED | MapFlags::ANONYMOUS, Backing::Anon).unwrap();
    parent.write(sa, b"before").unwrap();
    let mut child = parent.fork().unwrap();
    // A page touched before the fork and one first touched after it are both shared.
    child.write(sa, b"child1").unwrap();
    child.write(sa + 3 * P, b"late").unwrap();
    let mut b = [0u8; 6];
    parent.read(sa, &mut b).unwrap();
    assert_eq!(&b, b"child1");
    let mut c = [0u8; 4];
    parent.read(sa + 3 * P, &mut c).unwrap();
    assert_eq!(&c, b"late");
    assert!(!parent.pte_at(sa).is_cow());
    assert_eq!(parent.maps()[0].name, "/dev/zero (deleted)");
    assert!(parent.maps()[0].shared);
}

#[test]
fn fork_cost_is_merged_per_region() {
    let mut parent = space(64);
    let mut phost = MockHostMmu::new();
    let a = anon(&mut parent, 16 << 20);
    parent.populate_range(a, a + (16 << 20));
    let b = anon(&mut parent, 1 << 20);
    parent.write(b, b"x").unwrap();
    parent.sync(&mut phost);
    let mut child = parent.fork().unwrap();
    let mut chost = MockHostMmu::new();
    assert!(child.sync(&mut chost) <= 3);
    assert!(parent.sync(&mut phost) <= 3);
    check_mirror(&child, &chost);
    check_mirror(&parent, &phost);
}

#[test]
fn wipeonfork_gives_the_child_zeroes() {
    let mut parent = space(8);
    let a = anon(&mut parent, 2 * P);
    parent.write(a, b"secret").unwrap();
    parent.madvise(a, 2 * P, 18).unwrap();
    let mut child = parent.fork().unwrap();
    let mut b = [1u8; 6];
    child.read(a, &mut b).unwrap();
    assert_eq!(b, [0; 6]);
    parent.read(a, &mut b).unwrap();
    assert_eq!(&b, b"secret");
}
