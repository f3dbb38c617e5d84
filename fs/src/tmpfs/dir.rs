//! A tmpfs directory's entries: names to inodes, with stable readdir cookies (positions 0 and 1
//! are `.` and `..`; entries get increasing cookies from 2 that never change).

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use super::inode::TmpInode;

/// First cookie handed to an entry (0 and 1 are `.` and `..`).
const FIRST_COOKIE: u64 = 2;

/// The entries of one directory.
pub(super) struct Dir {
    pub(super) parent: Weak<TmpInode>,
    by_name: BTreeMap<Vec<u8>, u64>,
    by_cookie: BTreeMap<u64, (Vec<u8>, Arc<TmpInode>)>,
    next_cookie: u64,
}

impl Dir {
    pub(super) fn new(parent: Weak<TmpInode>) -> Self {
        Dir { parent, by_name: BTreeMap::new(), by_cookie: BTreeMap::new(), next_cookie: FIRST_COOKIE }
    }

    pub(super) fn get(&self, name: &[u8]) -> Option<Arc<TmpInode>> {
        let c = self.by_name.get(name)?;
        self.by_cookie.get(c).map(|(_, i)| i.clone())
    }

    pub(super) fn len(&self) -> usize {
        self.by_name.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Adds or replaces `name`; a replaced entry keeps its cookie.
    pub(super) fn insert(&mut self, name: &[u8], inode: Arc<TmpInode>) -> Option<Arc<TmpInode>> {
        if let Some(c) = self.by_name.get(name) {
            return self.by_cookie.insert(*c, (name.to_vec(), inode)).map(|(_, i)| i);
        }
        let c = self.next_cookie;
        self.next_cookie = self.next_cookie.saturating_add(1);
        self.by_name.insert(name.to_vec(), c);
        self.by_cookie.insert(c, (name.to_vec(), inode));
        None
    }

    pub(super) fn remove(&mut self, name: &[u8]) -> Option<Arc<TmpInode>> {
        let c = self.by_name.remove(name)?;
        self.by_cookie.remove(&c).map(|(_, i)| i)
    }

    /// Entries with cookie `>= pos`, in order, as (cookie, name, inode).
    pub(super) fn entries_from(&self, pos: u64) -> Vec<(u64, Vec<u8>, Arc<TmpInode>)> {
        self.by_cookie.range(pos.max(FIRST_COOKIE)..).map(|(c, (n, i))| (*c, n.clone(), i.clone())).collect()
    }
}
