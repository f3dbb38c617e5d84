//! A set of disjoint half-open `u64` ranges, merged on insert and carved on remove. mm uses it for
//! the dirty (needs-sync) page ranges, as UML's `tlb.c` tracks ranges to flush, and for the free
//! gaps of an address space, so `mmap` finds room without walking every VMA.

use std::collections::BTreeMap;

/// Disjoint, non-adjacent half-open ranges `[start, end)`, kept as `start → end`.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct RangeSet {
    map: BTreeMap<u64, u64>,
}

impl RangeSet {
    /// The empty set.
    pub fn new() -> RangeSet {
        RangeSet::default()
    }

    /// Adds `[lo, hi)`, merging with overlapping or adjacent ranges.
    pub fn insert(&mut self, mut lo: u64, mut hi: u64) {
        if lo >= hi {
            return;
        }
        if let Some((&s, &e)) = self.map.range(..=lo).next_back() {
            if e >= lo {
                lo = s;
                hi = hi.max(e);
            }
        }
        loop {
            let next = self.map.range(lo..).next().map(|(&s, &e)| (s, e));
            match next {
                Some((s, e)) if s <= hi => {
                    self.map.remove(&s);
                    hi = hi.max(e);
                }
                _ => break,
            }
        }
        self.map.insert(lo, hi);
    }

    /// Removes `[lo, hi)`, splitting ranges that straddle its ends.
    pub fn remove(&mut self, lo: u64, hi: u64) {
        if lo >= hi {
            return;
        }
        if let Some((&s, &e)) = self.map.range(..lo).next_back() {
            if e > lo {
                self.map.insert(s, lo);
                if e > hi {
                    self.map.insert(hi, e);
                    return;
                }
            }
        }
        loop {
            let next = self.map.range(lo..).next().map(|(&s, &e)| (s, e));
            match next {
                Some((s, e)) if s < hi => {
                    self.map.remove(&s);
                    if e > hi {
                        self.map.insert(hi, e);
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// The range containing `v`, if any.
    pub fn containing(&self, v: u64) -> Option<(u64, u64)> {
        let (&s, &e) = self.map.range(..=v).next_back()?;
        (v < e).then_some((s, e))
    }

    /// True if `[lo, hi)` lies inside one range.
    pub fn covers(&self, lo: u64, hi: u64) -> bool {
        self.containing(lo).is_some_and(|(_, e)| hi <= e)
    }

    /// The ranges in increasing order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, u64)> + '_ {
        self.map.iter().map(|(&s, &e)| (s, e))
    }

    /// The ranges starting below `hi`, highest first (the top-down `mmap` search).
    pub fn iter_down_from(&self, hi: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.map.range(..hi).rev().map(|(&s, &e)| (s, e))
    }

    /// Removes and returns every range.
    pub fn take(&mut self) -> Vec<(u64, u64)> {
        std::mem::take(&mut self.map).into_iter().collect()
    }

    /// True if the set is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The number of ranges.
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_merges() {
        let mut r = RangeSet::new();
        r.insert(10, 20);
        r.insert(30, 40);
        r.insert(20, 25);
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![(10, 25), (30, 40)]);
        r.insert(5, 35);
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![(5, 40)]);
        r.insert(1, 1);
        assert_eq!(r.len(), 1);
        assert!(r.covers(6, 40) && !r.covers(6, 41));
    }

    #[test]
    fn remove_carves() {
        let mut r = RangeSet::new();
        r.insert(0, 100);
        r.remove(10, 20);
        r.remove(50, 60);
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![(0, 10), (20, 50), (60, 100)]);
        r.remove(5, 70);
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![(0, 5), (70, 100)]);
        r.remove(0, 200);
        assert!(r.is_empty());
        assert_eq!(r.containing(3), None);
    }

    #[test]
    fn down_iteration() {
        let mut r = RangeSet::new();
        r.insert(0, 10);
        r.insert(20, 30);
        r.insert(40, 50);
        assert_eq!(r.iter_down_from(40).collect::<Vec<_>>(), vec![(20, 30), (0, 10)]);
        assert_eq!(r.containing(25), Some((20, 30)));
        assert_eq!(r.take().len(), 3);
        assert!(r.is_empty());
    }
}
