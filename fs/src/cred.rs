//! Credentials and Linux's discretionary permission checks (`fs/namei.c`:
//! `generic_permission`, `acl_permission_check`, `check_sticky`, `capable_wrt_inode_uidgid`).
//!
//! Privilege is by capability (see [`crate::capability`]): the overrides below ask for
//! `CAP_DAC_OVERRIDE`, `CAP_DAC_READ_SEARCH`, `CAP_FOWNER`, `CAP_CHOWN`, `CAP_FSETID` in the
//! effective set, which root has and which uid changes clear as Linux does.

use uapi::{Errno, KResult};

use crate::capability::{cap, CapSets};
use crate::abi::{S_ISGID, S_ISVTX, S_IXGRP, S_IXUGO};
use crate::inode::{FileType, InodeAttr};

/// Read permission (`MAY_READ`).
pub const MAY_READ: u32 = 4;
/// Write permission (`MAY_WRITE`).
pub const MAY_WRITE: u32 = 2;
/// Execute/search permission (`MAY_EXEC`).
pub const MAY_EXEC: u32 = 1;

/// A task's ids and capabilities, as Linux's `struct cred` (plus the per-task
/// `no_new_privs` flag and audit's `loginuid`/`sessionid`, inherited the same way).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved set-user-id.
    pub suid: u32,
    /// Saved set-group-id.
    pub sgid: u32,
    /// Filesystem user id (follows `euid` unless `setfsuid` changed it).
    pub fsuid: u32,
    /// Filesystem group id.
    pub fsgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Capability sets.
    pub caps: CapSets,
    /// Securebits (`SECBIT_*`, `PR_SET_SECUREBITS`).
    pub securebits: u32,
    /// `PR_SET_NO_NEW_PRIVS`: exec grants no privilege (sticky, inherited).
    pub no_new_privs: bool,
    /// Audit login uid (`/proc/<pid>/loginuid`), `u32::MAX` while unset.
    pub loginuid: u32,
    /// Audit session id (`/proc/<pid>/sessionid`), `u32::MAX` while unset.
    pub sessionid: u32,
}

impl Default for Credentials {
    /// All ids 0 but no capabilities; audit ids unset.
    fn default() -> Self {
        Credentials {
            uid: 0,
            gid: 0,
            euid: 0,
            egid: 0,
            suid: 0,
            sgid: 0,
            fsuid: 0,
            fsgid: 0,
            groups: Vec::new(),
            caps: CapSets::none(),
            securebits: 0,
            no_new_privs: false,
            loginuid: u32::MAX,
            sessionid: u32::MAX,
        }
    }
}

impl Credentials {
    /// Root's credentials (every id 0, every capability).
    pub fn root() -> Self {
        Credentials { caps: CapSets::full(), ..Credentials::default() }
    }

    /// An ordinary user with every uid set to `uid` and every gid to `gid`.
    pub fn user(uid: u32, gid: u32) -> Self {
        Credentials {
            uid,
            gid,
            euid: uid,
            egid: gid,
            suid: uid,
            sgid: gid,
            fsuid: uid,
            fsgid: gid,
            ..Credentials::default()
        }
    }

    /// True if capability `c` (`capability::cap::*`) is effective (Linux's `capable`).
    pub fn capable(&self, c: u32) -> bool {
        self.caps.has(c)
    }

    /// True if `gid` is the filesystem gid or a supplementary group (`in_group_p`).
    pub fn in_group(&self, gid: u32) -> bool {
        self.fsgid == gid || self.groups.contains(&gid)
    }

    /// A copy whose filesystem ids are the real ids, as `access(2)` without `AT_EACCESS` uses
    /// (`access_override_creds`): unless `SECBIT_NO_SETUID_FIXUP`, a real uid other than 0
    /// has no effective capabilities, and a real uid 0 has all its permitted ones.
    pub fn with_real_ids(&self) -> Self {
        let mut c = self.clone();
        c.fsuid = c.uid;
        c.fsgid = c.gid;
        if c.securebits & crate::capability::secbit::NO_SETUID_FIXUP == 0 {
            c.caps.effective = if c.uid == 0 { c.caps.permitted } else { 0 };
        }
        c
    }

    /// True if the caller owns the inode or has `CAP_FOWNER` (`inode_owner_or_capable`).
    pub fn owns(&self, attr: &InodeAttr) -> bool {
        self.fsuid == attr.uid || self.capable(cap::FOWNER)
    }
}

/// The permission bits that apply to `cred` for `attr` (owner, group or other class).
fn class_bits(cred: &Credentials, attr: &InodeAttr) -> u32 {
    if cred.fsuid == attr.uid {
        (attr.mode >> 6) & 7
    } else if cred.in_group(attr.gid) {
        (attr.mode >> 3) & 7
    } else {
        attr.mode & 7
    }
}

/// Linux's `generic_permission`: checks `mask` (`MAY_*` bits) against the mode bits, with
/// root's overrides (read and write always; execute only on a directory or if some `x` bit is
/// set). Returns `EACCES` on refusal.
pub fn generic_permission(cred: &Credentials, attr: &InodeAttr, mask: u32) -> KResult<()> {
    let mask = mask & (MAY_READ | MAY_WRITE | MAY_EXEC);
    if class_bits(cred, attr) & mask == mask || root_overrides(cred, attr, mask) {
        return Ok(());
    }
    Err(Errno::EACCES)
}

/// Whether a capability lets `cred` have `mask` where the permission bits (or the ACL)
/// refused it (the capability half of `generic_permission`): `CAP_DAC_READ_SEARCH` for
/// reading a file or reading/searching a directory; `CAP_DAC_OVERRIDE` for everything on a
/// directory and for read/write (and execute if some `x` bit is set) on other files.
pub fn root_overrides(cred: &Credentials, attr: &InodeAttr, mask: u32) -> bool {
    let mask = mask & (MAY_READ | MAY_WRITE | MAY_EXEC);
    if attr.file_type() == FileType::Directory {
        return (mask & MAY_WRITE == 0 && cred.capable(cap::DAC_READ_SEARCH)) || cred.capable(cap::DAC_OVERRIDE);
    }
    if mask == MAY_READ && cred.capable(cap::DAC_READ_SEARCH) {
        return true;
    }
    (mask & MAY_EXEC == 0 || attr.mode & S_IXUGO != 0) && cred.capable(cap::DAC_OVERRIDE)
}

/// Linux's `check_sticky`: in a sticky directory only the file's owner, the directory's owner
/// or a `CAP_FOWNER` holder may delete or rename an entry. Returns `EPERM` otherwise.
pub fn check_sticky(cred: &Credentials, dir: &InodeAttr, victim: &InodeAttr) -> KResult<()> {
    if dir.mode & S_ISVTX == 0 {
        return Ok(());
    }
    if cred.fsuid == victim.uid || cred.fsuid == dir.uid || cred.capable(cap::FOWNER) {
        return Ok(());
    }
    Err(Errno::EPERM)
}

/// The owner a new inode gets in `dir`, as Linux's `inode_init_owner`: the caller's fs ids,
/// but the directory's group (and, for a new directory, its setgid bit) when `dir` is setgid.
/// Returns `(uid, gid, mode)`.
pub fn new_inode_owner(cred: &Credentials, dir: &InodeAttr, mode: u32) -> (u32, u32, u32) {
    let is_dir = mode & crate::abi::S_IFMT == crate::abi::S_IFDIR;
    if dir.mode & S_ISGID != 0 {
        let mut mode = mode;
        if is_dir {
            mode |= S_ISGID;
        } else if mode & S_ISGID != 0 && mode & S_IXGRP != 0 && !cred.in_group(dir.gid) && !cred.capable(cap::FSETID) {
            mode &= !S_ISGID;
        }
        (cred.fsuid, dir.gid, mode)
    } else {
        (cred.fsuid, cred.fsgid, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(mode: u32, uid: u32, gid: u32) -> InodeAttr {
        InodeAttr { mode, uid, gid, ..InodeAttr::default() }
    }

    #[test]
    fn owner_group_other() {
        let a = attr(0o100640, 1000, 100);
        let owner = Credentials::user(1000, 1);
        let member = Credentials::user(2000, 100);
        let other = Credentials::user(3000, 3000);
        assert!(generic_permission(&owner, &a, MAY_READ | MAY_WRITE).is_ok());
        assert!(generic_permission(&member, &a, MAY_READ).is_ok());
        assert_eq!(generic_permission(&member, &a, MAY_WRITE), Err(Errno::EACCES));
        assert_eq!(generic_permission(&other, &a, MAY_READ), Err(Errno::EACCES));
        // The owner class decides even when the group class would allow more.
        let b = attr(0o100070, 1000, 100);
        let mut both = Credentials::user(1000, 100);
        both.groups.push(100);
        assert_eq!(generic_permission(&both, &b, MAY_READ), Err(Errno::EACCES));
    }

    #[test]
    fn root_overrides() {
        let root = Credentials::root();
        assert!(generic_permission(&root, &attr(0o100000, 5, 5), MAY_READ | MAY_WRITE).is_ok());
        assert_eq!(generic_permission(&root, &attr(0o100600, 5, 5), MAY_EXEC), Err(Errno::EACCES));
        assert!(generic_permission(&root, &attr(0o100001, 5, 5), MAY_EXEC).is_ok());
        assert!(generic_permission(&root, &attr(0o040000, 5, 5), MAY_EXEC).is_ok());
    }

    #[test]
    fn sticky() {
        let dir = attr(0o041777, 0, 0);
        let victim = attr(0o100644, 1000, 1000);
        assert!(check_sticky(&Credentials::user(1000, 1), &dir, &victim).is_ok());
        assert_eq!(check_sticky(&Credentials::user(1001, 1), &dir, &victim), Err(Errno::EPERM));
        assert!(check_sticky(&Credentials::root(), &dir, &victim).is_ok());
    }
}
