//! The dentry cache (Linux's `struct dentry` and `fs/dcache.c`): a tree of names over inodes,
//! with negative entries for names known to be absent. A dentry holds its parent and its cached
//! children strongly; unlink, rmdir and rename drop or move entries so that the inode of a
//! removed name is released as soon as no open file holds it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use uapi::{Errno, KResult};

use crate::inode::Inode;
use crate::klock::KMutex;

/// A cached child: `Some` for a positive entry, `None` for a negative one.
type Child = Option<Arc<Dentry>>;

/// A name in the tree, bound to one inode.
pub struct Dentry {
    name: KMutex<Vec<u8>>,
    parent: KMutex<Option<Arc<Dentry>>>,
    inode: Arc<dyn Inode>,
    children: KMutex<BTreeMap<Vec<u8>, Child>>,
    mounts: AtomicU32,
    deleted: AtomicBool,
    /// An unnamed file that `linkat` may give a name (Linux's `I_LINKABLE`: an `O_TMPFILE`
    /// opened without `O_EXCL`, until its first link).
    linkable: AtomicBool,
}

impl Dentry {
    /// The root dentry of a filesystem (its own parent for `..`, named `/`).
    pub fn new_root(inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Dentry::new(b"/".to_vec(), None, inode)
    }

    fn new(name: Vec<u8>, parent: Option<Arc<Dentry>>, inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: KMutex::new(name),
            parent: KMutex::new(parent),
            inode,
            children: KMutex::new(BTreeMap::new()),
            mounts: AtomicU32::new(0),
            deleted: AtomicBool::new(false),
            linkable: AtomicBool::new(false),
        })
    }

    /// A dentry for a file with no name in its directory (Linux's `d_alloc_pseudo` for a
    /// memfd, `d_tmpfile` for `O_TMPFILE`): `name` below `parent`, never found by a lookup,
    /// and shown as deleted. `linkable` lets `linkat` give the file a name.
    pub fn new_unlinked(parent: &Arc<Dentry>, name: &[u8], inode: Arc<dyn Inode>, linkable: bool) -> Arc<Dentry> {
        let d = Dentry::new(name.to_vec(), Some(parent.clone()), inode);
        d.deleted.store(true, Ordering::Relaxed);
        d.linkable.store(linkable, Ordering::Relaxed);
        d
    }

    /// True for an unnamed file `linkat` may still link (see [`Dentry::new_unlinked`]).
    pub fn is_linkable(&self) -> bool {
        self.linkable.load(Ordering::Relaxed)
    }

    /// Called once the file got a name: it is no longer "linkable" (Linux clears `I_LINKABLE`).
    pub fn clear_linkable(&self) {
        self.linkable.store(false, Ordering::Relaxed);
    }

    /// The entry's current name.
    pub fn name(&self) -> Vec<u8> {
        self.name.lock().clone()
    }

    /// The parent dentry (`None` for a filesystem root).
    pub fn parent(&self) -> Option<Arc<Dentry>> {
        self.parent.lock().clone()
    }

    /// The inode.
    pub fn inode(&self) -> &Arc<dyn Inode> {
        &self.inode
    }

    /// True once the name was unlinked or replaced (`d_unlinked`).
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Relaxed)
    }

    /// True if something is mounted on this dentry (`d_mountpoint`).
    pub fn is_mountpoint(&self) -> bool {
        self.mounts.load(Ordering::Relaxed) > 0
    }

    pub(crate) fn add_mount(&self) {
        self.mounts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn remove_mount(&self) {
        let _ = self.mounts.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Compares two dentries by identity.
    pub fn ptr_eq(a: &Arc<Dentry>, b: &Arc<Dentry>) -> bool {
        Arc::ptr_eq(a, b)
    }

    /// Looks `name` up below this directory: from the cache when possible, otherwise through
    /// the inode (caching the result, negative results included unless `revalidate`). With
    /// `revalidate`, a cached entry is re-checked against the filesystem first.
    pub fn lookup_child(self: &Arc<Self>, name: &[u8], revalidate: bool) -> KResult<Arc<Dentry>> {
        let cached = self.children.lock().get(name).cloned();
        match cached {
            Some(Some(d)) if !revalidate => return Ok(d),
            Some(None) if !revalidate => return Err(Errno::ENOENT),
            Some(Some(d)) => return self.revalidate_child(name, d),
            _ => {}
        }
        match self.inode.lookup(name) {
            Ok(inode) => Ok(self.insert_child(name, inode)),
            Err(e) if e == Errno::ENOENT && !revalidate => {
                self.children.lock().insert(name.to_vec(), None);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    fn revalidate_child(self: &Arc<Self>, name: &[u8], d: Arc<Dentry>) -> KResult<Arc<Dentry>> {
        if d.is_mountpoint() {
            return Ok(d);
        }
        let fresh = match self.inode.lookup(name) {
            Ok(i) => i,
            Err(e) => {
                if e == Errno::ENOENT {
                    self.children.lock().remove(name);
                }
                return Err(e);
            }
        };
        let same = match (fresh.attr(), d.inode.attr()) {
            (Ok(a), Ok(b)) => a.ino == b.ino && a.file_type() == b.file_type(),
            _ => false,
        };
        if same {
            Ok(d)
        } else {
            Ok(self.insert_child(name, fresh))
        }
    }

    /// The cached child `name`, if cached (`Some(None)` for a negative entry).
    pub fn cached_child(&self, name: &[u8]) -> Option<Child> {
        self.children.lock().get(name).cloned()
    }

    /// Binds `name` to `inode` in the cache (after a create), replacing any entry.
    pub fn insert_child(self: &Arc<Self>, name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        let d = Dentry::new(name.to_vec(), Some(self.clone()), inode);
        self.children.lock().insert(name.to_vec(), Some(d.clone()));
        d
    }

    /// Forgets `name` after it was removed: the cached dentry (if any) is marked deleted and a
    /// negative entry takes its place (`d_delete`).
    pub fn remove_child(&self, name: &[u8]) {
        let old = self.children.lock().insert(name.to_vec(), None);
        if let Some(Some(d)) = old {
            d.deleted.store(true, Ordering::Relaxed);
        }
    }

    /// Drops whatever is cached for `name` (`d_invalidate`).
    pub fn forget_child(&self, name: &[u8]) {
        self.children.lock().remove(name);
    }

    /// Moves the cached entry `old_name` to `new_parent/new_name` after a rename (`d_move`);
    /// a replaced target is marked deleted.
    pub fn move_child(self: &Arc<Self>, old_name: &[u8], new_parent: &Arc<Dentry>, new_name: &[u8]) {
        let moved = self.children.lock().insert(old_name.to_vec(), None).flatten();
        new_parent.remove_child(new_name);
        if let Some(d) = moved {
            *d.name.lock() = new_name.to_vec();
            *d.parent.lock() = Some(new_parent.clone());
            new_parent.children.lock().insert(new_name.to_vec(), Some(d));
        } else {
            new_parent.forget_child(new_name);
        }
    }

    /// Swaps the cached entries of a `RENAME_EXCHANGE`.
    pub fn exchange_children(self: &Arc<Self>, a_name: &[u8], b_parent: &Arc<Dentry>, b_name: &[u8]) {
        let a = self.children.lock().remove(a_name).flatten();
        let b = b_parent.children.lock().remove(b_name).flatten();
        if let Some(a) = a {
            *a.name.lock() = b_name.to_vec();
            *a.parent.lock() = Some(b_parent.clone());
            b_parent.children.lock().insert(b_name.to_vec(), Some(a));
        }
        if let Some(b) = b {
            *b.name.lock() = a_name.to_vec();
            *b.parent.lock() = Some(self.clone());
            self.children.lock().insert(a_name.to_vec(), Some(b));
        }
    }

    /// True if `self` is `other` or one of its ancestors within the same filesystem tree.
    pub fn is_ancestor_of(self: &Arc<Self>, other: &Arc<Dentry>) -> bool {
        let mut cur = Some(other.clone());
        while let Some(d) = cur {
            if Arc::ptr_eq(self, &d) {
                return true;
            }
            cur = d.parent();
        }
        false
    }

    /// Drops the whole cached subtree (on unmount), breaking parent/child reference cycles.
    pub fn prune(&self) {
        let children = std::mem::take(&mut *self.children.lock());
        for d in children.into_values().flatten() {
            d.prune();
            *d.parent.lock() = None;
        }
    }
}
