use uapi::mman::{MapFlags, Prot};
use uapi::{Errno, UserRef};
use crate::VmReader;

use super::*;

#[test]
fn read_write_across_pages() {
    let mut ms = space(4);
    let a = anon(&mut ms, 3 * P);
    let data: Vec<u8> = (0..(2 * P + 100) as usize).map(|i| i as u8).collect();
    ms.write(a + 50, &data).unwrap();
    let mut back = vec![0u8; data.len()];
    ms.read(a + 50, &mut back).unwrap();
    assert_eq!(back, data);
    ms.zero(a + 60, P).unwrap();
    ms.read(a + 50, &mut back).unwrap();
    assert!(back[10..10 + P as usize].iter().all(|&b| b == 0));
    assert_eq!(back[9], 9);
}

#[test]
fn efault_on_unmapped_or_forbidden() {
    let mut ms = space(4);
    let mut b = [0u8; 8];
    assert_eq!(ms.read(0x1234_5000, &mut b), Err(Errno::EFAULT));
    assert_eq!(ms.write(0x1234_5000, &b), Err(Errno::EFAULT));
    assert_eq!(ms.read_cstr(0x1234_5000, 10), Err(Errno::EFAULT));
    assert_eq!(ms.read(u64::MAX - 3, &mut b), Err(Errno::EFAULT));
    let a = anon(&mut ms, P);
    // Running off the end of the mapping.
    assert_eq!(ms.read(a + P - 4, &mut b), Err(Errno::EFAULT));
    let ro = ms.mmap(0, P, Prot::READ, PA, Backing::Anon).unwrap();
    assert_eq!(ms.write(ro, b"x"), Err(Errno::EFAULT));
    assert!(ms.read(ro, &mut b).is_ok());
    let none = ms.mmap(0, P, Prot::empty(), PA, Backing::Anon).unwrap();
    assert_eq!(ms.read(none, &mut b), Err(Errno::EFAULT));
    assert_eq!(ms.zero(none, 1), Err(Errno::EFAULT));
}

#[test]
fn read_cstr_limits() {
    let mut ms = space(4);
    let a = anon(&mut ms, 2 * P);
    ms.write(a + P - 3, b"hello\0").unwrap();
    assert_eq!(ms.read_cstr(a + P - 3, 4096).unwrap(), b"hello");
    assert_eq!(ms.read_cstr(a + P - 3, 5), Err(Errno::ENAMETOOLONG));
    assert_eq!(ms.read_cstr(a + P - 3, 6).unwrap(), b"hello");
    ms.write(a + 2 * P - 2, b"ab").unwrap();
    assert_eq!(ms.read_cstr(a + 2 * P - 2, 100), Err(Errno::EFAULT));
    assert_eq!(ms.read_cstr(a, 0), Err(Errno::ENAMETOOLONG));
}

#[test]
fn typed_values() {
    let mut ms = space(4);
    let a = anon(&mut ms, P);
    ms.write_val(a + P - 4, &0x1122_3344u32).unwrap();
    assert_eq!(ms.read_val::<u32>(a + P - 4).unwrap(), 0x1122_3344);
    assert_eq!(ms.read_val::<u64>(a + P - 4), Err(Errno::EFAULT));
    let r: UserRef<[u64; 40]> = UserRef::from(a);
    ms.write_ref(r, &[7u64; 40]).unwrap();
    assert_eq!(ms.read_ref(r).unwrap(), [7u64; 40]);
}

#[test]
fn bulk_access_gets_contiguous_chunks() {
    let mut ms = space(8);
    let a = ms.mmap(0, 64 * P, RW, PA | MapFlags::POPULATE, Backing::Anon).unwrap();
    let mut chunks = vec![];
    let n = ms.with_user_writer(a + 10, 60 * P, |w| {
        chunks.push(w.avail());
        Ok(w.write_slice(&vec![0xab; w.avail()]))
    }).unwrap();
    assert_eq!(n, 60 * P);
    assert_eq!(chunks, vec![60 * P as usize]);
    // A short fill stops the walk.
    let n = ms.with_user_reader(a, 64 * P, |r| Ok(r.remain().min(100))).unwrap();
    assert_eq!(n, 100);
    // A hole after the first page gives a partial count; at the start, EFAULT.
    ms.munmap(a + 2 * P, P).unwrap();
    let all = |r: &mut VmReader<'_>| Ok(r.remain());
    assert_eq!(ms.with_user_reader(a, 4 * P, all).unwrap(), 2 * P);
    assert_eq!(ms.with_user_reader(a + 2 * P, P, all), Err(Errno::EFAULT));
    let mut b = [0u8; 1];
    ms.read(a + 20, &mut b).unwrap();
    assert_eq!(b[0], 0xab);
}
