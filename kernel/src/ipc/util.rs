//! What the three System V IPC families share (Linux's `ipc/util.c`): the permission record
//! every object carries (`kern_ipc_perm`), the id table with its key index and cyclic,
//! sequence-numbered ids (`ipc_ids`, `ipc_addid`, `ipc_obtain_object_check`), the permission
//! and ownership checks (`ipcperms`, `ipcctl_obtain_check`), and `ipcget` — the common body of
//! `shmget`, `semget` and `msgget`.

use std::collections::BTreeMap;

use bytemuck::{Pod, Zeroable};
use fs::Credentials;
use uapi::{Errno, KResult};

/// `IPC_PRIVATE`: the key that always creates a new object and is never found.
pub const IPC_PRIVATE: i32 = 0;
/// `IPC_CREAT`: create the object if the key is not in use.
pub const IPC_CREAT: i32 = 0o1000;
/// `IPC_EXCL`: with `IPC_CREAT`, fail with `EEXIST` if the key is in use.
pub const IPC_EXCL: i32 = 0o2000;
/// `IPC_NOWAIT`: fail instead of waiting.
pub const IPC_NOWAIT: i32 = 0o4000;

/// `*ctl` command: remove the object.
pub const IPC_RMID: i32 = 0;
/// `*ctl` command: set owner and mode.
pub const IPC_SET: i32 = 1;
/// `*ctl` command: read the object's status.
pub const IPC_STAT: i32 = 2;
/// `*ctl` command: read the system-wide limits.
pub const IPC_INFO: i32 = 3;

/// The permission bits of a mode (`S_IRWXUGO`).
pub const S_IRWXUGO: u32 = 0o777;
/// Read permission for everyone (`S_IRUGO`), as `ipcperms` is asked.
pub const S_IRUGO: u32 = 0o444;
/// Write permission for everyone (`S_IWUGO`).
pub const S_IWUGO: u32 = 0o222;
/// Execute permission for everyone (`S_IXUGO`).
pub const S_IXUGO: u32 = 0o111;

/// Bits of an id below the sequence number (`IPCMNI_SHIFT`, without `ipcmni_extend`).
const IPCMNI_SHIFT: u32 = 15;
/// The number of index slots (`IPCMNI`).
pub const IPCMNI: u32 = 1 << IPCMNI_SHIFT;
/// Sequence numbers wrap here (`ipcid_seq_max`: `INT_MAX >> IPCMNI_SHIFT`).
const SEQ_MAX: u32 = (i32::MAX as u32) >> IPCMNI_SHIFT;
/// Indices are handed out cyclically below at least this (`ipc_min_cycle`).
const MIN_CYCLE: u32 = 64;

/// The current time as `*_ctime`/`*_atime` fields hold it: seconds since the epoch.
pub fn now_secs() -> i64 {
    fs::time::now().sec
}

/// Whether the caller holds `CAP_IPC_OWNER` (bypasses IPC permission checks; Linux's
/// `ipcperms` and the owner checks of `ipcctl_obtain_check` use it or `CAP_SYS_ADMIN`).
pub fn capable(cred: &Credentials) -> bool {
    cred.capable(fs::capability::cap::IPC_OWNER) || cred.capable(fs::capability::cap::SYS_ADMIN)
}

/// Whether the caller holds `CAP_IPC_LOCK` (`SHM_LOCK` and `mlock` beyond `RLIMIT_MEMLOCK`).
pub fn capable_ipc_lock(cred: &Credentials) -> bool {
    cred.capable(fs::capability::cap::IPC_LOCK)
}

/// `struct ipc64_perm` (x86-64): the permission part of every `*id64_ds`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct Ipc64Perm {
    /// The key.
    pub key: i32,
    /// Owner's user id.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
    /// Creator's user id.
    pub cuid: u32,
    /// Creator's group id.
    pub cgid: u32,
    /// Permission bits and object flags (`SHM_DEST`, `SHM_LOCKED`).
    pub mode: u32,
    /// The sequence number of the id.
    pub seq: u16,
    /// Padding.
    pub _pad2: u16,
    /// Padding (alignment of the next field).
    pub _pad3: u32,
    /// Unused.
    pub _unused1: u64,
    /// Unused.
    pub _unused2: u64,
}
const _: () = assert!(core::mem::size_of::<Ipc64Perm>() == 48);

/// The permission record of one IPC object (Linux's `kern_ipc_perm`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpcPerm {
    /// The key it was created with (`IPC_PRIVATE` once removed while still in use).
    pub key: i32,
    /// The full id: sequence number and index.
    pub id: i32,
    /// Owner.
    pub uid: u32,
    /// Owner's group.
    pub gid: u32,
    /// Creator.
    pub cuid: u32,
    /// Creator's group.
    pub cgid: u32,
    /// Permission bits plus object flags.
    pub mode: u32,
    /// Sequence number.
    pub seq: u32,
}

impl IpcPerm {
    /// A record for a new object: owner and creator are the caller's effective ids; `mode`
    /// keeps only the permission bits of the `*get` flags (`ipc_addid`).
    pub fn new(key: i32, flags: i32, cred: &Credentials) -> IpcPerm {
        IpcPerm {
            key,
            id: 0,
            uid: cred.euid,
            gid: cred.egid,
            cuid: cred.euid,
            cgid: cred.egid,
            mode: (flags as u32) & S_IRWXUGO,
            seq: 0,
        }
    }

    /// Linux's `ipcperms`: the owner, group or other bits (owner if the caller's euid is the
    /// owner or creator, group if it is in the owner's or creator's group) must grant every
    /// class of access `flag` asks for; root passes (`CAP_IPC_OWNER`). `EACCES` otherwise.
    pub fn check(&self, cred: &Credentials, flag: u32) -> KResult<()> {
        let requested = (flag >> 6) | (flag >> 3) | flag;
        let mut granted = self.mode;
        if cred.euid == self.cuid || cred.euid == self.uid {
            granted >>= 6;
        } else if cred.in_group(self.cgid) || cred.in_group(self.gid) {
            granted >>= 3;
        }
        if requested & !granted & 0o7 != 0 && !capable(cred) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// Linux's `ipcctl_obtain_check`: only the owner, the creator or root may remove the
    /// object or change its permissions (`EPERM`).
    pub fn check_owner(&self, cred: &Credentials) -> KResult<()> {
        if cred.euid == self.cuid || cred.euid == self.uid || capable(cred) {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// Linux's `ipc_update_perm` (`IPC_SET`): the new owner, group and permission bits;
    /// `EINVAL` for an id of -1.
    pub fn update(&mut self, new: &Ipc64Perm) -> KResult<()> {
        if new.uid == u32::MAX || new.gid == u32::MAX {
            return Err(Errno::EINVAL);
        }
        self.uid = new.uid;
        self.gid = new.gid;
        self.mode = (self.mode & !S_IRWXUGO) | (new.mode & S_IRWXUGO);
        Ok(())
    }

    /// The record as `IPC_STAT` reports it (`kernel_to_ipc64_perm`).
    pub fn to_abi(&self) -> Ipc64Perm {
        Ipc64Perm {
            key: self.key,
            uid: self.uid,
            gid: self.gid,
            cuid: self.cuid,
            cgid: self.cgid,
            mode: self.mode,
            seq: self.seq as u16,
            ..Ipc64Perm::default()
        }
    }
}

/// An object in an id table.
pub trait IpcObject {
    /// Its permission record.
    fn perm(&self) -> &IpcPerm;
    /// Its permission record, to change.
    fn perm_mut(&mut self) -> &mut IpcPerm;
}

/// The index part of an id (`ipcid_to_idx`).
fn idx_of(id: i32) -> u32 {
    (id as u32) & (IPCMNI - 1)
}

/// One family's objects by index, with the key index (Linux's `struct ipc_ids`).
pub struct Ids<T> {
    objects: BTreeMap<u32, T>,
    keys: BTreeMap<i32, u32>,
    seq: u32,
    /// The index handed out last (`last_idx`, -1 at first).
    last_idx: i64,
    /// Where the cyclic index search resumes (the idr's `idr_next`).
    next_idx: u32,
}

impl<T: IpcObject> Default for Ids<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: IpcObject> Ids<T> {
    /// An empty table.
    pub const fn new() -> Self {
        Ids { objects: BTreeMap::new(), keys: BTreeMap::new(), seq: 0, last_idx: -1, next_idx: 0 }
    }

    /// How many objects exist (`in_use`).
    pub fn in_use(&self) -> usize {
        self.objects.len()
    }

    /// The highest index in use, or -1 (`ipc_get_maxidx`): what `IPC_INFO` returns.
    pub fn max_idx(&self) -> i32 {
        self.objects.keys().next_back().map_or(-1, |&i| i as i32)
    }

    /// The object with `key` (never `IPC_PRIVATE`).
    pub fn find_key(&self, key: i32) -> Option<i32> {
        let idx = self.keys.get(&key)?;
        self.objects.get(idx).map(|o| o.perm().id)
    }

    /// Adds a new object made by `make` (given the id it gets) unless `limit` objects exist
    /// (`ENOSPC`). Indices are handed out cyclically (Linux's `idr_alloc_cyclic` below
    /// `max(in_use * 3/2, 64)`), and the sequence number advances each time the search wraps,
    /// so a removed object's id is not soon reused.
    pub fn add(&mut self, limit: usize, make: impl FnOnce(i32) -> T) -> KResult<i32> {
        let limit = limit.min(IPCMNI as usize);
        if self.objects.len() >= limit {
            return Err(Errno::ENOSPC);
        }
        let end = (self.objects.len() as u32 * 3 / 2).clamp(MIN_CYCLE, IPCMNI);
        let free_from = |start: u32| (start..end).find(|i| !self.objects.contains_key(i));
        let start = self.next_idx;
        let idx = free_from(start).or_else(|| if start > 0 { free_from(0) } else { None }).ok_or(Errno::ENOSPC)?;
        self.next_idx = idx + 1;
        if i64::from(idx) <= self.last_idx {
            self.seq += 1;
            if self.seq >= SEQ_MAX {
                self.seq = 0;
            }
        }
        self.last_idx = i64::from(idx);
        let id = ((self.seq << IPCMNI_SHIFT) + idx) as i32;
        let mut obj = make(id);
        obj.perm_mut().id = id;
        obj.perm_mut().seq = self.seq;
        let key = obj.perm().key;
        if key != IPC_PRIVATE {
            self.keys.insert(key, idx);
        }
        self.objects.insert(idx, obj);
        Ok(id)
    }

    /// The object `id` names (`ipc_obtain_object_check`): `EINVAL` if there is none at its
    /// index or the sequence number differs (the id of a removed object).
    pub fn get(&self, id: i32) -> KResult<&T> {
        match self.objects.get(&idx_of(id)) {
            Some(o) if o.perm().id == id && id >= 0 => Ok(o),
            _ => Err(Errno::EINVAL),
        }
    }

    /// [`Ids::get`], to change.
    pub fn get_mut(&mut self, id: i32) -> KResult<&mut T> {
        match self.objects.get_mut(&idx_of(id)) {
            Some(o) if o.perm().id == id && id >= 0 => Ok(o),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The object at index `idx` whatever its sequence number (`ipc_obtain_object_idr`, for
    /// the `*_STAT` commands, which take an index): `EINVAL` if none.
    pub fn by_index(&self, idx: i32) -> KResult<&T> {
        if idx < 0 {
            return Err(Errno::EINVAL);
        }
        self.objects.get(&idx_of(idx)).ok_or(Errno::EINVAL)
    }

    /// Removes object `id` (`ipc_rmid`), returning it.
    pub fn remove(&mut self, id: i32) -> Option<T> {
        self.get(id).ok()?;
        let obj = self.objects.remove(&idx_of(id))?;
        let key = obj.perm().key;
        if key != IPC_PRIVATE && self.keys.get(&key) == Some(&idx_of(id)) {
            self.keys.remove(&key);
        }
        Some(obj)
    }

    /// Makes object `id` unfindable by key (`ipc_set_key_private`: a removed segment that is
    /// still attached).
    pub fn set_key_private(&mut self, id: i32) {
        let Ok(obj) = self.get_mut(id) else { return };
        let key = std::mem::replace(&mut obj.perm_mut().key, IPC_PRIVATE);
        if key != IPC_PRIVATE {
            self.keys.remove(&key);
        }
    }

    /// Every object in index order (the order of `/proc/sysvipc/*`).
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.objects.values()
    }

    /// Every object in index order, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.objects.values_mut()
    }
}

/// Linux's `ipcget` (with `ipcget_new` and `ipcget_public`): `IPC_PRIVATE` always creates;
/// otherwise an unknown key without `IPC_CREAT` is `ENOENT`, a known key with
/// `IPC_CREAT|IPC_EXCL` is `EEXIST`, then the family's `more_checks` (e.g. a segment smaller
/// than asked is `EINVAL`) and the permission check of the `*get` flags (`EACCES`). `create`
/// makes and adds the new object and returns its id.
pub fn ipcget<T: IpcObject>(
    ids: &mut Ids<T>,
    key: i32,
    flags: i32,
    cred: &Credentials,
    more_checks: impl FnOnce(&T) -> KResult<()>,
    create: impl FnOnce(&mut Ids<T>) -> KResult<i32>,
) -> KResult<i32> {
    if key == IPC_PRIVATE {
        return create(ids);
    }
    let Some(id) = ids.find_key(key) else {
        if flags & IPC_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
        return create(ids);
    };
    if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
        return Err(Errno::EEXIST);
    }
    let obj = ids.get(id)?;
    more_checks(obj)?;
    obj.perm().check(cred, flags as u32 & S_IRWXUGO)?;
    Ok(id)
}

/// The header and the first columns shared by the `/proc/sysvipc/*` lines: key, id, mode.
pub fn proc_prefix(p: &IpcPerm) -> String {
    format!("{:>10} {:>10}  {:>4o}", p.key, p.id, p.mode)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct Obj(IpcPerm);
    impl IpcObject for Obj {
        fn perm(&self) -> &IpcPerm {
            &self.0
        }
        fn perm_mut(&mut self) -> &mut IpcPerm {
            &mut self.0
        }
    }

    fn add(ids: &mut Ids<Obj>, key: i32) -> i32 {
        ids.add(100_000, |_| Obj(IpcPerm::new(key, 0o600, &Credentials::root()))).unwrap()
    }

    #[test]
    fn ids_cycle_and_bump_the_sequence() {
        let mut ids = Ids::new();
        let a = add(&mut ids, 0);
        assert_eq!(a, 0);
        assert_eq!(add(&mut ids, 5), 1);
        assert!(ids.remove(a).is_some());
        assert_eq!(add(&mut ids, 0), 2);
        for _ in 3..64 {
            let id = add(&mut ids, 0);
            ids.remove(id);
        }
        // Index 0 is free again and the search wrapped: the sequence number is now 1.
        assert_eq!(add(&mut ids, 0), 1 << 15);
        assert_eq!(ids.get(0).err(), Some(Errno::EINVAL));
        assert_eq!(ids.find_key(5), Some(1));
        assert_eq!(ids.max_idx(), 2);
    }

    #[test]
    fn ipcperms_classes() {
        let mut p = IpcPerm::new(1, 0o640, &Credentials::user(100, 100));
        let other = Credentials::user(200, 300);
        let group = Credentials::user(200, 100);
        assert_eq!(p.check(&other, S_IRUGO), Err(Errno::EACCES));
        assert_eq!(p.check(&group, S_IRUGO), Ok(()));
        assert_eq!(p.check(&group, S_IWUGO), Err(Errno::EACCES));
        assert_eq!(p.check(&Credentials::user(100, 1), S_IRUGO | S_IWUGO), Ok(()));
        assert_eq!(p.check(&Credentials::root(), S_IWUGO), Ok(()));
        assert_eq!(p.check_owner(&other), Err(Errno::EPERM));
        let new = Ipc64Perm { uid: 200, gid: 300, mode: 0o1604, ..Ipc64Perm::default() };
        p.update(&new).unwrap();
        assert_eq!((p.uid, p.gid, p.mode, p.cuid), (200, 300, 0o604, 100));
        assert_eq!(p.update(&Ipc64Perm { uid: u32::MAX, ..new }), Err(Errno::EINVAL));
    }
}
