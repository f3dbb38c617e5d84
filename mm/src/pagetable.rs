//! A software x86-64 4-level page table (PML4 → PDPT → PD → PT, 512 entries each) mapping guest
//! virtual page numbers to PTEs, as Linux's `pgd/pud/pmd/pte` hierarchy does.
//!
//! Tables live in the Rust heap, are allocated when the first entry below them is set and freed
//! when their last entry is cleared, so walking a range only visits populated tables. The entry
//! format is x86's (present, writable, user, NX; frame in bits 12–51) with the software bits 9–11
//! that x86 leaves free: copy-on-write and needs-sync (the stub's host mapping is out of date).
//!
//! Umbra's meaning of the bits (the table is never walked by hardware):
//! - `P`: the entry holds a frame; `US`: the guest may read it; `RW`: the VMA allows writes;
//!   `NX`: no execution. `mprotect(PROT_NONE)` keeps the frame with `US`, `RW` clear and `NX` set.
//! - `COW`: the frame must not be written through this mapping (shared after fork, or a page-cache
//!   page in a private file mapping): the host gets the page without write permission.
//! - `NEEDSYNC` without `P` is a *tombstone*: the page was removed but the host may still map it.
//! - `HOSTLESS` with `P`: the host does not map the page at all (the stub's host mappings were
//!   emptied because the host had no room for more, as a full TLB is flushed); the next guest
//!   access faults and maps it again. `sync` never maps a host-less page.

use uapi::mman::Prot;
use x86::bits64::paging::PTFlags;

use crate::frame::FrameNo;

const P: u64 = PTFlags::P.bits();
const RW: u64 = PTFlags::RW.bits();
const US: u64 = PTFlags::US.bits();
const NX: u64 = PTFlags::XD.bits();
const COW: u64 = PTFlags::USER_9.bits();
const NEEDSYNC: u64 = PTFlags::USER_10.bits();
const HOSTLESS: u64 = PTFlags::USER_11.bits();
const FRAME_MASK: u64 = 0x000f_ffff_ffff_f000;

/// Number of virtual page numbers a 4-level table covers (48-bit addresses).
pub const VPN_LIMIT: u64 = 1 << 36;

/// A page-table entry (x86 layout plus Umbra's software bits).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Pte(u64);

impl std::fmt::Debug for Pte {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pte({:#x} {:?}{}{}{}{})", self.0 & FRAME_MASK, self.prot(),
            if self.present() { "" } else { " !P" },
            if self.is_cow() { " COW" } else { "" },
            if self.needs_sync() { " SYNC" } else { "" },
            if self.is_hostless() { " HOSTLESS" } else { "" })
    }
}

impl Pte {
    /// The empty entry (no frame, nothing to sync).
    pub const EMPTY: Pte = Pte(0);
    /// A removed page whose host mapping must still be torn down (`NEEDSYNC` without `P`).
    pub const TOMBSTONE: Pte = Pte(NEEDSYNC);

    /// An entry mapping `frame` with the access `prot`, not COW, not marked for sync.
    pub fn new(frame: FrameNo, prot: Prot) -> Pte {
        Pte((frame.offset() & FRAME_MASK) | P).with_prot(prot)
    }

    /// True for the empty entry.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// True if the entry holds a frame.
    pub fn present(self) -> bool {
        self.0 & P != 0
    }
    /// True for a tombstone (see the module doc).
    pub fn is_tombstone(self) -> bool {
        !self.present() && self.needs_sync()
    }
    /// The frame (meaningful only when present).
    pub fn frame(self) -> FrameNo {
        FrameNo((self.0 & FRAME_MASK) >> 12)
    }
    /// The same entry pointing at another frame.
    pub fn with_frame(self, f: FrameNo) -> Pte {
        Pte((self.0 & !FRAME_MASK) | (f.offset() & FRAME_MASK))
    }
    /// The guest's access rights (the VMA's protection when the page was mapped or last mprotected).
    pub fn prot(self) -> Prot {
        let mut p = Prot::empty();
        p.set(Prot::READ, self.0 & US != 0);
        p.set(Prot::WRITE, self.0 & RW != 0);
        p.set(Prot::EXEC, self.0 & P != 0 && self.0 & NX == 0);
        p
    }
    /// The same entry with access rights `prot`.
    pub fn with_prot(self, prot: Prot) -> Pte {
        let mut v = self.0 & !(US | RW | NX);
        if prot.contains(Prot::READ) {
            v |= US;
        }
        if prot.contains(Prot::WRITE) {
            v |= RW;
        }
        if !prot.contains(Prot::EXEC) {
            v |= NX;
        }
        Pte(v)
    }
    /// True if the guest may access the page at all (any of read/write/exec).
    pub fn accessible(self) -> bool {
        self.present() && !self.prot().is_empty()
    }
    /// True if the VMA allows writes (the host may still map it read-only while COW).
    pub fn writable(self) -> bool {
        self.0 & RW != 0
    }
    /// True if the frame is shared copy-on-write.
    pub fn is_cow(self) -> bool {
        self.0 & COW != 0
    }
    /// The same entry with the COW bit set or cleared.
    pub fn with_cow(self, cow: bool) -> Pte {
        Pte(if cow { self.0 | COW } else { self.0 & !COW })
    }
    /// True if the host mapping of this page is out of date.
    pub fn needs_sync(self) -> bool {
        self.0 & NEEDSYNC != 0
    }
    /// The same entry with the needs-sync bit set or cleared.
    pub fn with_sync(self, needs: bool) -> Pte {
        Pte(if needs { self.0 | NEEDSYNC } else { self.0 & !NEEDSYNC })
    }
    /// True if the page is present but deliberately not mapped on the host (see the module doc).
    pub fn is_hostless(self) -> bool {
        self.0 & (P | HOSTLESS) == P | HOSTLESS
    }
    /// The same entry with the host-less bit set or cleared.
    pub fn with_hostless(self, hostless: bool) -> Pte {
        Pte(if hostless { self.0 | HOSTLESS } else { self.0 & !HOSTLESS })
    }
    /// What the host mapping may allow: the guest's rights minus write while COW.
    pub fn host_prot(self) -> Prot {
        let p = self.prot();
        if self.is_cow() {
            p - Prot::WRITE
        } else {
            p
        }
    }
}

/// One level of the tree: `SHIFT` is log2 of the pages each slot covers.
trait Node {
    const SHIFT: u32;
    fn boxed() -> Box<Self>;
    fn used(&self) -> usize;
    fn get(&self, vpn: u64) -> Pte;
    fn set(&mut self, vpn: u64, pte: Pte) -> Pte;
    fn tables(&self) -> usize;
    fn visit<F: FnMut(u64, Pte)>(&self, base: u64, lo: u64, hi: u64, f: &mut F);
    fn update<F: FnMut(u64, &mut Pte)>(&mut self, base: u64, lo: u64, hi: u64, f: &mut F, st: &mut Stats);
}

/// Counters kept up to date by `set` and `update`.
#[derive(Default, Clone, Copy)]
struct Stats {
    present: u64,
}

impl Stats {
    fn account(&mut self, old: Pte, new: Pte) {
        if old.present() {
            self.present = self.present.saturating_sub(1);
        }
        if new.present() {
            self.present = self.present.saturating_add(1);
        }
    }
}

fn slot(vpn: u64, shift: u32) -> usize {
    ((vpn >> shift) & 511) as usize
}

/// Slot indices of a node at `base` covering `[lo, hi)` (`lo < hi`, both inside the node).
fn slots(base: u64, lo: u64, hi: u64, shift: u32) -> std::ops::RangeInclusive<usize> {
    (((lo - base) >> shift) as usize)..=(((hi - 1 - base) >> shift) as usize)
}

/// The last level: 512 PTEs.
struct Leaf {
    ptes: [Pte; 512],
    used: usize,
}

impl Node for Leaf {
    const SHIFT: u32 = 0;
    fn boxed() -> Box<Self> {
        Box::new(Leaf { ptes: [Pte::EMPTY; 512], used: 0 })
    }
    fn used(&self) -> usize {
        self.used
    }
    fn get(&self, vpn: u64) -> Pte {
        self.ptes[slot(vpn, 0)]
    }
    fn set(&mut self, vpn: u64, pte: Pte) -> Pte {
        let e = &mut self.ptes[slot(vpn, 0)];
        let old = std::mem::replace(e, pte);
        self.used = self.used + usize::from(!pte.is_empty()) - usize::from(!old.is_empty());
        old
    }
    fn tables(&self) -> usize {
        1
    }
    fn visit<F: FnMut(u64, Pte)>(&self, base: u64, lo: u64, hi: u64, f: &mut F) {
        for i in slots(base, lo, hi, 0) {
            let pte = self.ptes[i];
            if !pte.is_empty() {
                f(base + i as u64, pte);
            }
        }
    }
    fn update<F: FnMut(u64, &mut Pte)>(&mut self, base: u64, lo: u64, hi: u64, f: &mut F, st: &mut Stats) {
        for i in slots(base, lo, hi, 0) {
            let old = self.ptes[i];
            if old.is_empty() {
                continue;
            }
            f(base + i as u64, &mut self.ptes[i]);
            let new = self.ptes[i];
            st.account(old, new);
            if new.is_empty() {
                self.used -= 1;
            }
        }
    }
}

/// An inner level: 512 optional child tables.
struct Dir<C> {
    children: [Option<Box<C>>; 512],
    used: usize,
}

impl<C: Node> Node for Dir<C> {
    const SHIFT: u32 = C::SHIFT + 9;
    fn boxed() -> Box<Self> {
        Box::new(Dir { children: std::array::from_fn(|_| None), used: 0 })
    }
    fn used(&self) -> usize {
        self.used
    }
    fn get(&self, vpn: u64) -> Pte {
        match &self.children[slot(vpn, Self::SHIFT)] {
            Some(c) => c.get(vpn),
            None => Pte::EMPTY,
        }
    }
    fn set(&mut self, vpn: u64, pte: Pte) -> Pte {
        let child = &mut self.children[slot(vpn, Self::SHIFT)];
        if child.is_none() {
            if pte.is_empty() {
                return Pte::EMPTY;
            }
            *child = Some(C::boxed());
            self.used += 1;
        }
        let Some(c) = child else { return Pte::EMPTY };
        let old = c.set(vpn, pte);
        if c.used() == 0 {
            *child = None;
            self.used -= 1;
        }
        old
    }
    fn tables(&self) -> usize {
        1 + self.children.iter().flatten().map(|c| c.tables()).sum::<usize>()
    }
    fn visit<F: FnMut(u64, Pte)>(&self, base: u64, lo: u64, hi: u64, f: &mut F) {
        let span = 1u64 << Self::SHIFT;
        for i in slots(base, lo, hi, Self::SHIFT) {
            if let Some(c) = &self.children[i] {
                let cb = base + ((i as u64) << Self::SHIFT);
                c.visit(cb, lo.max(cb), hi.min(cb + span), f);
            }
        }
    }
    fn update<F: FnMut(u64, &mut Pte)>(&mut self, base: u64, lo: u64, hi: u64, f: &mut F, st: &mut Stats) {
        let span = 1u64 << Self::SHIFT;
        for i in slots(base, lo, hi, Self::SHIFT) {
            let child = &mut self.children[i];
            let Some(c) = child else { continue };
            let cb = base + ((i as u64) << Self::SHIFT);
            c.update(cb, lo.max(cb), hi.min(cb + span), f, st);
            if c.used() == 0 {
                *child = None;
                self.used -= 1;
            }
        }
    }
}

type Pd = Dir<Leaf>;
type Pdpt = Dir<Pd>;
type Pml4 = Dir<Pdpt>;

/// A guest page table: virtual page number → `Pte`.
pub struct PageTable {
    root: Box<Pml4>,
    stats: Stats,
}

impl Default for PageTable {
    fn default() -> Self {
        PageTable::new()
    }
}

impl std::fmt::Debug for PageTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PageTable({} present)", self.stats.present)
    }
}

impl PageTable {
    /// An empty table (just the PML4).
    pub fn new() -> PageTable {
        PageTable { root: Pml4::boxed(), stats: Stats::default() }
    }

    /// The entry for `vpn` (`Pte::EMPTY` if none or out of range).
    pub fn lookup(&self, vpn: u64) -> Pte {
        if vpn >= VPN_LIMIT {
            return Pte::EMPTY;
        }
        self.root.get(vpn)
    }

    /// Sets the entry for `vpn` and returns the old one; setting `EMPTY` clears it and frees
    /// tables that become empty. Out-of-range `vpn`s are ignored (logged).
    pub fn set(&mut self, vpn: u64, pte: Pte) -> Pte {
        if vpn >= VPN_LIMIT {
            log::warn!("mm: page-table set beyond the 48-bit space: vpn {vpn:#x}");
            return Pte::EMPTY;
        }
        let old = self.root.set(vpn, pte);
        self.stats.account(old, pte);
        old
    }

    /// Clears the entry for `vpn` and returns what it held.
    pub fn clear(&mut self, vpn: u64) -> Pte {
        self.set(vpn, Pte::EMPTY)
    }

    /// Calls `f(vpn, pte)` for every non-empty entry in `[lo, hi)`, in address order, visiting
    /// only populated tables.
    pub fn for_each<F: FnMut(u64, Pte)>(&self, lo: u64, hi: u64, mut f: F) {
        let hi = hi.min(VPN_LIMIT);
        if lo < hi {
            self.root.visit(0, lo, hi, &mut f);
        }
    }

    /// Calls `f(vpn, &mut pte)` for every non-empty entry in `[lo, hi)`, in address order; `f`
    /// may change or clear the entry (tables left empty are freed).
    pub fn update<F: FnMut(u64, &mut Pte)>(&mut self, lo: u64, hi: u64, mut f: F) {
        let hi = hi.min(VPN_LIMIT);
        if lo < hi {
            self.root.update(0, lo, hi, &mut f, &mut self.stats);
        }
    }

    /// Number of entries holding a frame (resident pages).
    pub fn present_count(&self) -> u64 {
        self.stats.present
    }

    /// Number of tables allocated, the PML4 included.
    pub fn table_count(&self) -> usize {
        self.root.tables()
    }

    /// True if no entry is set.
    pub fn is_empty(&self) -> bool {
        self.root.used() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const RW_: Prot = Prot::READ.union(Prot::WRITE);

    #[test]
    fn pte_bits() {
        let p = Pte::new(FrameNo(0x1234), RW_);
        assert!(p.present() && p.writable() && !p.is_cow() && !p.needs_sync());
        assert_eq!(p.frame(), FrameNo(0x1234));
        assert_eq!(p.prot(), RW_);
        let c = p.with_cow(true).with_sync(true);
        assert_eq!(c.host_prot(), Prot::READ);
        assert_eq!(c.prot(), RW_);
        assert_eq!(c.with_frame(FrameNo(7)).frame(), FrameNo(7));
        let none = p.with_prot(Prot::empty());
        assert!(none.present() && !none.accessible());
        assert_eq!(Pte::new(FrameNo(1), Prot::READ | Prot::EXEC).prot(), Prot::READ | Prot::EXEC);
        assert!(Pte::TOMBSTONE.is_tombstone() && !Pte::TOMBSTONE.present());
    }

    #[test]
    fn set_lookup_clear_frees_tables() {
        let mut pt = PageTable::new();
        assert_eq!(pt.table_count(), 1);
        let vpns = [0u64, 1, 511, 512, 1 << 18, (1 << 27) + 5, VPN_LIMIT - 1];
        for (i, &v) in vpns.iter().enumerate() {
            pt.set(v, Pte::new(FrameNo(i as u64 + 1), Prot::READ));
        }
        assert_eq!(pt.present_count(), vpns.len() as u64);
        for (i, &v) in vpns.iter().enumerate() {
            assert_eq!(pt.lookup(v).frame(), FrameNo(i as u64 + 1));
        }
        assert!(pt.lookup(2).is_empty());
        assert!(pt.lookup(VPN_LIMIT).is_empty());
        assert!(pt.set(VPN_LIMIT, Pte::new(FrameNo(1), Prot::READ)).is_empty());
        for &v in &vpns {
            assert!(pt.clear(v).present());
        }
        assert!(pt.is_empty());
        assert_eq!(pt.table_count(), 1);
        assert_eq!(pt.present_count(), 0);
    }

    #[test]
    fn range_iteration_visits_in_order_only_populated() {
        let mut pt = PageTable::new();
        for v in (1000..3000).step_by(7) {
            pt.set(v, Pte::new(FrameNo(v), Prot::READ));
        }
        pt.set(1 << 30, Pte::new(FrameNo(9), Prot::READ));
        let mut seen = vec![];
        pt.for_each(1500, 2500, |v, p| {
            assert_eq!(p.frame().0, v);
            seen.push(v);
        });
        let want: Vec<u64> = (1000..3000).step_by(7).filter(|v| (1500..2500).contains(v)).collect();
        assert_eq!(seen, want);
        let mut all = 0;
        pt.for_each(0, u64::MAX, |_, _| all += 1);
        assert_eq!(all, (1000..3000).step_by(7).count() + 1);
    }

    #[test]
    fn update_changes_and_clears() {
        let mut pt = PageTable::new();
        for v in 0..2048 {
            pt.set(v, Pte::new(FrameNo(v), RW_));
        }
        let tables = pt.table_count();
        pt.update(0, 1024, |_, p| *p = p.with_cow(true));
        assert!(pt.lookup(5).is_cow());
        assert!(!pt.lookup(1500).is_cow());
        pt.update(0, 2048, |v, p| {
            if v < 1024 {
                *p = Pte::EMPTY
            } else {
                *p = Pte::TOMBSTONE
            }
        });
        assert_eq!(pt.present_count(), 0);
        assert!(pt.table_count() < tables);
        assert!(pt.lookup(1500).is_tombstone());
        pt.update(0, 4096, |_, p| *p = Pte::EMPTY);
        assert!(pt.is_empty());
        assert_eq!(pt.table_count(), 1);
    }
}
