//! Extended attributes of ext2 inodes through the VFS: full names map to ext2's name indexes
//! (`user.` 1, the access and default ACLs 2 and 3, `trusted.` 4, `security.` 6), and ACL
//! values convert between the xattr format the VFS speaks and ext2's on-disk format, as
//! Linux's `ext2_xattr_handlers` and `ext2_acl_{to,from}_disk` do.

use uapi::{Errno, KResult};

use super::Ext2Inode;
use crate::acl::PosixAcl;
use crate::ext2::xattr::index;
use crate::xattr::{resolve, Namespace, ALL_NAMESPACES, XATTR_REPLACE};

/// ext2's name index for a namespace.
fn index_of(ns: Namespace) -> u8 {
    match ns {
        Namespace::User => index::USER,
        Namespace::AclAccess => index::ACL_ACCESS,
        Namespace::AclDefault => index::ACL_DEFAULT,
        Namespace::Trusted => index::TRUSTED,
        Namespace::Security => index::SECURITY,
    }
}

/// The full name of a stored attribute, `None` for an index no handler lists.
fn full_name(idx: u8, suffix: &[u8]) -> Option<Vec<u8>> {
    let ns = match idx {
        index::USER => Namespace::User,
        index::ACL_ACCESS => Namespace::AclAccess,
        index::ACL_DEFAULT => Namespace::AclDefault,
        index::TRUSTED => Namespace::Trusted,
        index::SECURITY => Namespace::Security,
        _ => return None,
    };
    let mut n = ns.prefix().to_vec();
    n.extend_from_slice(suffix);
    Some(n)
}

fn is_acl(idx: u8) -> bool {
    idx == index::ACL_ACCESS || idx == index::ACL_DEFAULT
}

/// An ACL value in ext2's disk format from the xattr format (`EINVAL` if malformed).
fn acl_to_disk(value: &[u8]) -> KResult<Vec<u8>> {
    let acl = PosixAcl::from_xattr(value)?.ok_or(Errno::EINVAL)?;
    Ok(acl.to_ext2_disk())
}

impl Ext2Inode {
    pub(super) fn xattr_get(&self, name: &[u8]) -> KResult<Vec<u8>> {
        let (ns, suffix) = resolve(name, ALL_NAMESPACES)?;
        let idx = index_of(ns);
        let value = self.ext2().xattr_get(self.ino(), idx, suffix)?;
        if !is_acl(idx) {
            return Ok(value);
        }
        match PosixAcl::from_ext2_disk(&value) {
            Ok(Some(acl)) => Ok(acl.to_xattr()),
            Ok(None) => Err(Errno::ENODATA),
            Err(_) => {
                log::warn!("ext2: inode {}: corrupt ACL", self.ino());
                Err(Errno::EIO)
            }
        }
    }

    pub(super) fn xattr_set(&self, name: &[u8], value: &[u8], flags: u32) -> KResult<()> {
        let (ns, suffix) = resolve(name, ALL_NAMESPACES)?;
        let idx = index_of(ns);
        let stored = if is_acl(idx) { acl_to_disk(value)? } else { value.to_vec() };
        self.ext2().xattr_set(self.ino(), idx, suffix, Some(&stored), flags)
    }

    pub(super) fn xattr_remove(&self, name: &[u8]) -> KResult<()> {
        let (ns, suffix) = resolve(name, ALL_NAMESPACES)?;
        self.ext2().xattr_set(self.ino(), index_of(ns), suffix, None, XATTR_REPLACE)
    }

    pub(super) fn xattr_list(&self) -> KResult<Vec<Vec<u8>>> {
        let stored = self.ext2().xattr_list(self.ino())?;
        Ok(stored.into_iter().filter_map(|(idx, suffix)| full_name(idx, &suffix)).collect())
    }
}
