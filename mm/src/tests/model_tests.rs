//! Random operation sequences on two address spaces (a parent and its forked child) checked
//! against a byte-per-page model: data integrity, COW isolation, the host mirror after every
//! sync, and no leaked frames at the end.

use std::collections::BTreeMap;

use proptest::prelude::*;
use uapi::mman::{madv, MapFlags, MremapFlags, Prot};

use super::*;
use crate::FaultError;

const BASE: u64 = 0x1000_0000;
const PAGES: u64 = 48;

#[derive(Clone, Debug)]
enum Op {
    Map { who: bool, page: u64, n: u64, write: bool },
    Unmap { who: bool, page: u64, n: u64 },
    Protect { who: bool, page: u64, n: u64, write: bool },
    Write { who: bool, page: u64, val: u8 },
    GuestTouch { who: bool, page: u64, write: bool },
    DontNeed { who: bool, page: u64, n: u64 },
    Move { who: bool, page: u64, n: u64, to: u64 },
    Fork,
}

fn op() -> impl Strategy<Value = Op> {
    let page = 0..PAGES;
    let n = 1..8u64;
    prop_oneof![
        (any::<bool>(), page.clone(), n.clone(), any::<bool>()).prop_map(|(who, page, n, write)| Op::Map { who, page, n, write }),
        (any::<bool>(), page.clone(), n.clone()).prop_map(|(who, page, n)| Op::Unmap { who, page, n }),
        (any::<bool>(), page.clone(), n.clone(), any::<bool>()).prop_map(|(who, page, n, write)| Op::Protect { who, page, n, write }),
        (any::<bool>(), page.clone(), 1..255u8).prop_map(|(who, page, val)| Op::Write { who, page, val }),
        (any::<bool>(), page.clone(), 1..255u8).prop_map(|(who, page, val)| Op::Write { who, page, val }),
        (any::<bool>(), page.clone(), any::<bool>()).prop_map(|(who, page, write)| Op::GuestTouch { who, page, write }),
        (any::<bool>(), page.clone(), n.clone()).prop_map(|(who, page, n)| Op::DontNeed { who, page, n }),
        (any::<bool>(), page.clone(), n, page).prop_map(|(who, page, n, to)| Op::Move { who, page, n, to }),
        Just(Op::Fork),
    ]
}

/// Per page: (writable, first byte).
type Model = BTreeMap<u64, (bool, u8)>;

struct Side {
    ms: MemorySpace,
    host: MockHostMmu,
    model: Model,
}

fn addr(page: u64) -> u64 {
    BASE + page * P
}

fn all_mapped(m: &Model, page: u64, n: u64) -> bool {
    (page..page + n).all(|p| m.contains_key(&p))
}

fn apply(side: &mut Side, op: &Op) {
    let (ms, m) = (&mut side.ms, &mut side.model);
    match *op {
        Op::Map { page, n, write, .. } => {
            let prot = if write { RW } else { Prot::READ };
            ms.mmap(addr(page), n * P, prot, PA | MapFlags::FIXED, Backing::Anon).unwrap();
            for p in page..page + n {
                m.insert(p, (write, 0));
            }
        }
        Op::Unmap { page, n, .. } => {
            ms.munmap(addr(page), n * P).unwrap();
            for p in page..page + n {
                m.remove(&p);
            }
        }
        Op::Protect { page, n, write, .. } => {
            let prot = if write { RW } else { Prot::READ };
            let res = ms.mprotect(addr(page), n * P, prot);
            if all_mapped(m, page, n) {
                res.unwrap();
                for p in page..page + n {
                    m.get_mut(&p).unwrap().0 = write;
                }
            } else {
                assert_eq!(res, Err(uapi::Errno::ENOMEM));
                // Linux applies the change up to the first hole.
                for p in page..page + n {
                    match m.get_mut(&p) {
                        Some(e) => e.0 = write,
                        None => break,
                    }
                }
            }
        }
        Op::Write { page, val, .. } => {
            let res = ms.write(addr(page), &[val]);
            match m.get_mut(&page) {
                Some((true, v)) => {
                    res.unwrap();
                    *v = val;
                }
                _ => assert_eq!(res, Err(uapi::Errno::EFAULT)),
            }
        }
        Op::GuestTouch { page, write, .. } => {
            let res = ms.handle_fault(addr(page), 0, 1);
            match m.get(&page) {
                None => assert_eq!(res, Err(FaultError::MapErr)),
                Some(_) => {
                    ms.sync(&mut side.host);
                    if let Some((w, _)) = m.get(&page) {
                        if write && *w {
                            touch(ms, &mut side.host, addr(page), true);
                        }
                    }
                }
            }
        }
        Op::DontNeed { page, n, .. } => {
            let res = ms.madvise(addr(page), n * P, madv::DONTNEED);
            assert_eq!(res.is_ok(), all_mapped(m, page, n));
            for p in page..page + n {
                if let Some(e) = m.get_mut(&p) {
                    e.1 = 0;
                }
            }
        }
        Op::Move { page, n, to, .. } => {
            let inside_one = ms.find_vma(addr(page)).is_some_and(|v| v.end >= addr(page + n));
            let overlap = to < page + n && page < to + n;
            let res = ms.mremap(addr(page), n * P, n * P, MremapFlags::MAYMOVE | MremapFlags::FIXED, addr(to));
            if !inside_one || overlap {
                assert!(res.is_err());
                return;
            }
            assert_eq!(res, Ok(addr(to)));
            let moved: Vec<(bool, u8)> = (page..page + n).map(|p| m.remove(&p).unwrap()).collect();
            for (i, e) in moved.into_iter().enumerate() {
                m.insert(to + i as u64, e);
            }
        }
        Op::Fork => unreachable!(),
    }
}

fn check(side: &mut Side) {
    side.ms.sync(&mut side.host);
    check_mirror(&side.ms, &side.host);
    for p in 0..PAGES {
        let mut b = [0u8; 1];
        let res = side.ms.read(addr(p), &mut b);
        match side.model.get(&p) {
            Some(&(_, v)) => assert_eq!((res, b[0]), (Ok(()), v), "page {p}"),
            None => assert!(res.is_err(), "page {p} should be unmapped"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96), ..ProptestConfig::default() })]
    #[test]
    fn random_ops_match_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let fa = space(4).frames().clone();
        let mut sides = vec![Side { ms: MemorySpace::new(fa.clone()), host: MockHostMmu::new(), model: Model::new() }];
        for op in &ops {
            if let Op::Fork = op {
                let child = sides[0].ms.fork().unwrap();
                let model = sides[0].model.clone();
                let child = Side { ms: child, host: MockHostMmu::new(), model };
                if sides.len() == 2 { sides[1] = child } else { sides.push(child) }
            } else {
                let who = match op {
                    Op::Map { who, .. } | Op::Unmap { who, .. } | Op::Protect { who, .. } | Op::Write { who, .. }
                    | Op::GuestTouch { who, .. } | Op::DontNeed { who, .. } | Op::Move { who, .. } => *who,
                    Op::Fork => false,
                };
                let i = if who && sides.len() == 2 { 1 } else { 0 };
                apply(&mut sides[i], op);
            }
            for s in &mut sides {
                check(s);
            }
        }
        drop(sides);
        prop_assert_eq!(fa.free_frames(), fa.total_frames());
    }
}
