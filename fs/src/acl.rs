//! POSIX ACLs (Linux's `fs/posix_acl.c`): the `system.posix_acl_*` xattr format and ext2's
//! on-disk format, validation, the permission check that replaces the group class of the mode
//! bits, inheritance of a directory's default ACL on create, and the mask update on `chmod`.
//!
//! An ACL is stored by its filesystem as an ordinary attribute ([`ACL_ACCESS`],
//! [`ACL_DEFAULT`]) in the xattr format ([`PosixAcl::to_xattr`]); ext2 converts it to its own
//! compact format on disk, as Linux's `ext2_acl_to_disk` does.

use uapi::{Errno, KResult};

use crate::cred::{root_overrides, Credentials};
use crate::inode::{Inode, InodeAttr};
use crate::xattr::{ACL_ACCESS, ACL_DEFAULT};

/// The file owner's entry.
pub const ACL_USER_OBJ: u16 = 0x01;
/// A named user's entry.
pub const ACL_USER: u16 = 0x02;
/// The owning group's entry.
pub const ACL_GROUP_OBJ: u16 = 0x04;
/// A named group's entry.
pub const ACL_GROUP: u16 = 0x08;
/// The mask: the most the named entries and the owning group may grant.
pub const ACL_MASK: u16 = 0x10;
/// Everybody else.
pub const ACL_OTHER: u16 = 0x20;
/// The id of entries that name nobody (`ACL_UNDEFINED_ID`).
pub const ACL_UNDEFINED_ID: u32 = u32::MAX;
/// The xattr format's version (`POSIX_ACL_XATTR_VERSION`).
const XATTR_VERSION: u32 = 2;
/// ext2's on-disk version (`EXT2_ACL_VERSION`).
const EXT2_VERSION: u32 = 1;
const S_IRWXO: u32 = 0o7;
const S_IRWXG: u32 = 0o70;
const S_IRWXUGO: u32 = 0o777;

/// Which of an inode's two ACLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclKind {
    /// The access ACL, checked on every access.
    Access,
    /// A directory's default ACL, inherited by what is created in it.
    Default,
}

impl AclKind {
    /// The attribute name the ACL is stored under.
    pub fn xattr_name(self) -> &'static [u8] {
        match self {
            AclKind::Access => ACL_ACCESS,
            AclKind::Default => ACL_DEFAULT,
        }
    }

    /// The kind named by an attribute name, if it is an ACL's (`posix_acl_type`).
    pub fn from_name(name: &[u8]) -> Option<AclKind> {
        match name {
            ACL_ACCESS => Some(AclKind::Access),
            ACL_DEFAULT => Some(AclKind::Default),
            _ => None,
        }
    }
}

/// One ACL entry (`struct posix_acl_entry`); `id` is meaningful for `ACL_USER`/`ACL_GROUP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AclEntry {
    /// `ACL_USER_OBJ` … `ACL_OTHER`.
    pub tag: u16,
    /// `rwx` bits (4, 2, 1).
    pub perm: u16,
    /// The uid or gid of a named entry, else `ACL_UNDEFINED_ID`.
    pub id: u32,
}

/// A POSIX ACL: its entries in the order they were given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PosixAcl {
    /// The entries.
    pub entries: Vec<AclEntry>,
}

fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn is_named(tag: u16) -> bool {
    tag == ACL_USER || tag == ACL_GROUP
}

impl PosixAcl {
    /// Parses the xattr format, as `posix_acl_from_xattr`: `EINVAL` for a short or ragged
    /// value, an unknown tag or the undefined id in a named entry; `EOPNOTSUPP` for another
    /// version. No entries means "no ACL" (`None`).
    pub fn from_xattr(value: &[u8]) -> KResult<Option<PosixAcl>> {
        if value.len() < 4 {
            return Err(Errno::EINVAL);
        }
        if le32(value, 0) != XATTR_VERSION {
            return Err(Errno::EOPNOTSUPP);
        }
        let body = &value[4..];
        if !body.len().is_multiple_of(8) {
            return Err(Errno::EINVAL);
        }
        let mut entries = Vec::with_capacity(body.len() / 8);
        for e in body.chunks_exact(8) {
            let (tag, perm, raw_id) = (le16(e, 0), le16(e, 2), le32(e, 4));
            let id = match tag {
                ACL_USER_OBJ | ACL_GROUP_OBJ | ACL_MASK | ACL_OTHER => ACL_UNDEFINED_ID,
                ACL_USER | ACL_GROUP if raw_id != ACL_UNDEFINED_ID => raw_id,
                _ => return Err(Errno::EINVAL),
            };
            entries.push(AclEntry { tag, perm, id });
        }
        Ok((!entries.is_empty()).then_some(PosixAcl { entries }))
    }

    /// The xattr format (`posix_acl_to_xattr`): version 2, then 8-byte entries with the
    /// undefined id on unnamed ones.
    pub fn to_xattr(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 8 * self.entries.len());
        out.extend_from_slice(&XATTR_VERSION.to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.tag.to_le_bytes());
            out.extend_from_slice(&e.perm.to_le_bytes());
            let id = if is_named(e.tag) { e.id } else { ACL_UNDEFINED_ID };
            out.extend_from_slice(&id.to_le_bytes());
        }
        out
    }

    /// ext2's on-disk format (`ext2_acl_to_disk`): version 1, 8-byte named entries and 4-byte
    /// unnamed ones.
    pub fn to_ext2_disk(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 8 * self.entries.len());
        out.extend_from_slice(&EXT2_VERSION.to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.tag.to_le_bytes());
            out.extend_from_slice(&e.perm.to_le_bytes());
            if is_named(e.tag) {
                out.extend_from_slice(&e.id.to_le_bytes());
            }
        }
        out
    }

    /// Parses ext2's on-disk format (`ext2_acl_from_disk`); `EINVAL` if it is malformed.
    pub fn from_ext2_disk(value: &[u8]) -> KResult<Option<PosixAcl>> {
        if value.len() < 4 || le32(value, 0) != EXT2_VERSION {
            return Err(Errno::EINVAL);
        }
        let mut entries = Vec::new();
        let mut off = 4;
        while off < value.len() {
            if off + 4 > value.len() {
                return Err(Errno::EINVAL);
            }
            let (tag, perm) = (le16(value, off), le16(value, off + 2));
            let id = match tag {
                ACL_USER_OBJ | ACL_GROUP_OBJ | ACL_MASK | ACL_OTHER => {
                    off += 4;
                    ACL_UNDEFINED_ID
                }
                ACL_USER | ACL_GROUP if off + 8 <= value.len() => {
                    off += 8;
                    le32(value, off - 4)
                }
                _ => return Err(Errno::EINVAL),
            };
            entries.push(AclEntry { tag, perm, id });
        }
        Ok((!entries.is_empty()).then_some(PosixAcl { entries }))
    }

    /// Linux's `posix_acl_valid`: permissions within `rwx`; the owner, named users, the owning
    /// group, named groups, the mask and other in that order, each unnamed one exactly once,
    /// and a mask whenever there are named entries. `EINVAL` otherwise.
    pub fn validate(&self) -> KResult<()> {
        #[derive(PartialEq)]
        enum State {
            UserObj,
            User,
            Group,
            Other,
            Done,
        }
        let mut state = State::UserObj;
        let mut needs_mask = false;
        for e in &self.entries {
            if e.perm & !7 != 0 {
                return Err(Errno::EINVAL);
            }
            state = match (e.tag, state) {
                (ACL_USER_OBJ, State::UserObj) => State::User,
                (ACL_USER, State::User) => {
                    needs_mask = true;
                    State::User
                }
                (ACL_GROUP_OBJ, State::User) => State::Group,
                (ACL_GROUP, State::Group) => {
                    needs_mask = true;
                    State::Group
                }
                (ACL_MASK, State::Group) => State::Other,
                (ACL_OTHER, State::Other) => State::Done,
                (ACL_OTHER, State::Group) if !needs_mask => State::Done,
                _ => return Err(Errno::EINVAL),
            };
        }
        if state == State::Done {
            Ok(())
        } else {
            Err(Errno::EINVAL)
        }
    }

    /// Linux's `posix_acl_equiv_mode`: the permission bits the ACL amounts to (the mask
    /// standing for the group class) merged into `mode`, and whether the ACL says more than
    /// those bits can (a mask or named entries).
    pub fn equiv_mode(&self, mode: u32) -> (u32, bool) {
        let mut bits = 0;
        let mut not_equiv = false;
        for e in &self.entries {
            let p = u32::from(e.perm) & S_IRWXO;
            match e.tag {
                ACL_USER_OBJ => bits |= p << 6,
                ACL_GROUP_OBJ => bits |= p << 3,
                ACL_OTHER => bits |= p,
                ACL_MASK => {
                    bits = (bits & !S_IRWXG) | (p << 3);
                    not_equiv = true;
                }
                _ => not_equiv = true,
            }
        }
        ((mode & !S_IRWXUGO) | bits, not_equiv)
    }

    /// Linux's `posix_acl_create_masq`: restricts a copy of a default ACL by the create mode
    /// and the mode by the ACL; returns the new mode and whether the ACL must be kept.
    pub fn create_masq(&mut self, mode: u32) -> (u32, bool) {
        let mut m = mode;
        let mut not_equiv = false;
        let mut group_obj = None;
        let mut mask_obj = None;
        for (i, e) in self.entries.iter_mut().enumerate() {
            let perm = u32::from(e.perm);
            match e.tag {
                ACL_USER_OBJ => {
                    let p = perm & ((m >> 6) | !S_IRWXO);
                    e.perm = p as u16;
                    m &= (p << 6) | !0o700;
                }
                ACL_USER | ACL_GROUP => not_equiv = true,
                ACL_GROUP_OBJ => group_obj = Some(i),
                ACL_OTHER => {
                    let p = perm & (m | !S_IRWXO);
                    e.perm = p as u16;
                    m &= p | !S_IRWXO;
                }
                ACL_MASK => {
                    mask_obj = Some(i);
                    not_equiv = true;
                }
                _ => {}
            }
        }
        if let Some(i) = mask_obj.or(group_obj) {
            let e = &mut self.entries[i];
            let p = u32::from(e.perm) & ((m >> 3) | !S_IRWXO);
            e.perm = p as u16;
            m &= (p << 3) | !S_IRWXG;
        }
        ((mode & !S_IRWXUGO) | (m & S_IRWXUGO), not_equiv)
    }

    /// Linux's `posix_acl_chmod_masq`: the owner, other, and mask (or owning group, without a
    /// mask) entries take the new mode's bits.
    pub fn chmod_masq(&mut self, mode: u32) {
        let has_mask = self.entries.iter().any(|e| e.tag == ACL_MASK);
        for e in &mut self.entries {
            match e.tag {
                ACL_USER_OBJ => e.perm = ((mode >> 6) & 7) as u16,
                ACL_OTHER => e.perm = (mode & 7) as u16,
                ACL_MASK => e.perm = ((mode >> 3) & 7) as u16,
                ACL_GROUP_OBJ if !has_mask => e.perm = ((mode >> 3) & 7) as u16,
                _ => {}
            }
        }
    }

    /// Linux's `posix_acl_permission`: whether `cred` may `want` (`MAY_*` bits) an inode owned
    /// by `attr.uid`/`attr.gid` under this ACL.
    pub fn permits(&self, cred: &Credentials, attr: &InodeAttr, want: u32) -> bool {
        let want = want & 7;
        let grants = |perm: u16| u32::from(perm) & want == want;
        let masked = |i: usize, perm: u16| {
            let mask = self.entries[i + 1..].iter().find(|e| e.tag == ACL_MASK).map_or(7, |m| m.perm);
            grants(perm & mask)
        };
        let mut found_group = false;
        for (i, e) in self.entries.iter().enumerate() {
            match e.tag {
                ACL_USER_OBJ if cred.fsuid == attr.uid => return grants(e.perm),
                ACL_USER if cred.fsuid == e.id => return masked(i, e.perm),
                ACL_GROUP_OBJ | ACL_GROUP => {
                    let gid = if e.tag == ACL_GROUP_OBJ { attr.gid } else { e.id };
                    if cred.in_group(gid) {
                        found_group = true;
                        if grants(e.perm) {
                            return masked(i, e.perm);
                        }
                    }
                }
                ACL_OTHER => return !found_group && grants(e.perm),
                _ => {}
            }
        }
        false
    }
}

/// The ACL of `kind` stored on `inode`: `None` when there is none or the filesystem keeps no
/// ACLs (`get_inode_acl`).
pub fn get_acl(inode: &dyn Inode, kind: AclKind) -> KResult<Option<PosixAcl>> {
    match inode.get_xattr(kind.xattr_name()) {
        Ok(v) => PosixAcl::from_xattr(&v).map_err(|_| Errno::EIO),
        Err(Errno::ENODATA | Errno::EOPNOTSUPP) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Linux's `generic_permission` with ACLs (`acl_permission_check` + `check_acl`): the owner is
/// judged by the owner bits; anyone else by the access ACL when the inode has one (and a
/// non-empty group class), else by the group or other bits; then root's overrides. `EACCES`
/// on refusal.
pub fn permission(cred: &Credentials, inode: &dyn Inode, attr: &InodeAttr, mask: u32) -> KResult<()> {
    let want = mask & 7;
    let allowed = if cred.fsuid == attr.uid {
        (attr.mode >> 6) & want == want
    } else {
        let acl = if attr.mode & S_IRWXG != 0 { get_acl(inode, AclKind::Access)? } else { None };
        match acl {
            Some(acl) => acl.permits(cred, attr, want),
            None => {
                let bits = if cred.in_group(attr.gid) { attr.mode >> 3 } else { attr.mode };
                bits & want == want
            }
        }
    };
    if allowed || root_overrides(cred, attr, mask) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// What a new inode inherits from its directory's default ACL (`posix_acl_create`).
#[derive(Debug, Default)]
pub struct Inherited {
    /// The new inode's access ACL, when the default ACL says more than the mode bits.
    pub access: Option<PosixAcl>,
    /// The new directory's default ACL (a copy of its parent's).
    pub default: Option<PosixAcl>,
}

impl Inherited {
    /// Stores the inherited ACLs on the freshly created `inode`.
    pub fn apply(&self, inode: &dyn Inode) -> KResult<()> {
        for (kind, acl) in [(AclKind::Access, &self.access), (AclKind::Default, &self.default)] {
            if let Some(acl) = acl {
                inode.set_xattr(kind.xattr_name(), &acl.to_xattr(), 0)?;
            }
        }
        Ok(())
    }
}

/// The permission bits of a new inode of type-and-mode `mode` in directory `dir`, and the ACLs
/// it inherits: with a default ACL on `dir` the umask is ignored and the ACL restricts the
/// mode (`posix_acl_create`); without one the umask applies. Symlinks inherit nothing.
pub fn creation_mode(dir: &dyn Inode, mode: u32, umask: u32) -> KResult<(u32, Inherited)> {
    let is_symlink = mode & crate::abi::S_IFMT == crate::abi::S_IFLNK;
    let default = if is_symlink { None } else { get_acl(dir, AclKind::Default)? };
    let Some(default) = default else {
        let mask = if is_symlink { 0 } else { umask };
        return Ok((mode & !mask, Inherited::default()));
    };
    let mut access = default.clone();
    let (mode, keep) = access.create_masq(mode);
    let is_dir = mode & crate::abi::S_IFMT == crate::abi::S_IFDIR;
    let inherited = Inherited { access: keep.then_some(access), default: is_dir.then_some(default) };
    Ok((mode, inherited))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(tag: u16, perm: u16, id: u32) -> AclEntry {
        AclEntry { tag, perm, id }
    }

    fn acl(entries: &[AclEntry]) -> PosixAcl {
        PosixAcl { entries: entries.to_vec() }
    }

    fn sample() -> PosixAcl {
        acl(&[
            e(ACL_USER_OBJ, 6, ACL_UNDEFINED_ID),
            e(ACL_USER, 7, 1000),
            e(ACL_GROUP_OBJ, 4, ACL_UNDEFINED_ID),
            e(ACL_GROUP, 6, 50),
            e(ACL_MASK, 6, ACL_UNDEFINED_ID),
            e(ACL_OTHER, 0, ACL_UNDEFINED_ID),
        ])
    }

    #[test]
    fn formats_round_trip() {
        let a = sample();
        assert_eq!(PosixAcl::from_xattr(&a.to_xattr()).unwrap(), Some(a.clone()));
        assert_eq!(PosixAcl::from_ext2_disk(&a.to_ext2_disk()).unwrap(), Some(a.clone()));
        assert_eq!(a.to_ext2_disk().len(), 4 + 4 * 4 + 2 * 8);
        assert_eq!(PosixAcl::from_xattr(&2u32.to_le_bytes()).unwrap(), None);
        assert_eq!(PosixAcl::from_xattr(&[2, 0, 0]), Err(Errno::EINVAL));
        assert_eq!(PosixAcl::from_xattr(&[1, 0, 0, 0]), Err(Errno::EOPNOTSUPP));
        let mut bad = a.to_xattr();
        bad.push(0);
        assert_eq!(PosixAcl::from_xattr(&bad), Err(Errno::EINVAL));
    }

    #[test]
    fn validation_follows_linux() {
        assert_eq!(sample().validate(), Ok(()));
        let minimal = acl(&[e(ACL_USER_OBJ, 6, 0), e(ACL_GROUP_OBJ, 4, 0), e(ACL_OTHER, 4, 0)]);
        assert_eq!(minimal.validate(), Ok(()));
        let no_mask = acl(&[e(ACL_USER_OBJ, 6, 0), e(ACL_USER, 6, 5), e(ACL_GROUP_OBJ, 4, 0), e(ACL_OTHER, 4, 0)]);
        assert_eq!(no_mask.validate(), Err(Errno::EINVAL));
        let out_of_order = acl(&[e(ACL_GROUP_OBJ, 4, 0), e(ACL_USER_OBJ, 6, 0), e(ACL_OTHER, 4, 0)]);
        assert_eq!(out_of_order.validate(), Err(Errno::EINVAL));
        let bad_perm = acl(&[e(ACL_USER_OBJ, 8, 0), e(ACL_GROUP_OBJ, 4, 0), e(ACL_OTHER, 4, 0)]);
        assert_eq!(bad_perm.validate(), Err(Errno::EINVAL));
    }

    #[test]
    fn equiv_mode_and_masks() {
        let minimal = acl(&[e(ACL_USER_OBJ, 7, 0), e(ACL_GROUP_OBJ, 5, 0), e(ACL_OTHER, 1, 0)]);
        assert_eq!(minimal.equiv_mode(0o104000), (0o104751, false));
        assert_eq!(sample().equiv_mode(0o100777), (0o100660, true));
        let mut c = sample();
        c.chmod_masq(0o751);
        assert_eq!(c.entries.iter().map(|e| e.perm).collect::<Vec<_>>(), vec![7, 7, 4, 6, 5, 1]);
    }

    #[test]
    fn create_masq_restricts_both() {
        let mut d = sample();
        let (mode, keep) = d.create_masq(0o100644);
        assert!(keep);
        assert_eq!(mode, 0o100640);
        assert_eq!(d.entries.iter().map(|e| e.perm).collect::<Vec<_>>(), vec![6, 7, 4, 6, 4, 0]);
    }

    #[test]
    fn permission_by_acl() {
        let a = sample();
        let attr = InodeAttr { mode: 0o100660, uid: 1, gid: 2, ..InodeAttr::default() };
        let named = Credentials::user(1000, 9);
        assert!(a.permits(&named, &attr, 6));
        assert!(!a.permits(&named, &attr, 1), "mask removes x");
        let group50 = Credentials::user(7, 50);
        assert!(a.permits(&group50, &attr, 6));
        let owning_group = Credentials::user(7, 2);
        assert!(a.permits(&owning_group, &attr, 4));
        assert!(!a.permits(&owning_group, &attr, 2));
        let other = Credentials::user(7, 7);
        assert!(!a.permits(&other, &attr, 4));
    }
}
