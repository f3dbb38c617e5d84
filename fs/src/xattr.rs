//! Extended attributes: names and namespaces, Linux's limits and set flags (`fs/xattr.c`,
//! `include/uapi/linux/xattr.h`), and [`XattrMap`], the in-memory attribute set of
//! filesystems that keep attributes in RAM (tmpfs, as `simple_xattrs`).
//!
//! A filesystem stores attributes under their full names (`user.foo`,
//! `system.posix_acl_access`) and resolves a name against the namespaces it supports with
//! [`resolve`], as Linux's `xattr_resolve_name` walks a superblock's handlers. POSIX ACL values
//! are exchanged in the `posix_acl_xattr` format (see [`crate::acl`]).

use std::collections::BTreeMap;

use uapi::{Errno, KResult};

/// `setxattr` flag: fail with `EEXIST` if the attribute exists.
pub const XATTR_CREATE: u32 = 1;
/// `setxattr` flag: fail with `ENODATA` unless the attribute exists.
pub const XATTR_REPLACE: u32 = 2;
/// Longest attribute name (`XATTR_NAME_MAX`).
pub const XATTR_NAME_MAX: usize = 255;
/// Largest attribute value (`XATTR_SIZE_MAX`).
pub const XATTR_SIZE_MAX: usize = 65536;
/// Largest `listxattr` result (`XATTR_LIST_MAX`).
pub const XATTR_LIST_MAX: usize = 65536;
/// The access ACL's attribute name (`XATTR_NAME_POSIX_ACL_ACCESS`).
pub const ACL_ACCESS: &[u8] = b"system.posix_acl_access";
/// The default ACL's attribute name (`XATTR_NAME_POSIX_ACL_DEFAULT`).
pub const ACL_DEFAULT: &[u8] = b"system.posix_acl_default";
/// File capabilities (`XATTR_NAME_CAPS`).
pub const CAPS: &[u8] = b"security.capability";

/// An attribute namespace: one of Linux's xattr handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespace {
    /// `user.*`: for regular files and directories, by file permissions.
    User,
    /// `trusted.*`: `CAP_SYS_ADMIN` only.
    Trusted,
    /// `security.*`: anyone reads, `CAP_SYS_ADMIN` writes (the capability LSM).
    Security,
    /// `system.posix_acl_access`.
    AclAccess,
    /// `system.posix_acl_default`.
    AclDefault,
}

impl Namespace {
    /// The prefix (`user.`), or for the ACL handlers the whole name.
    pub fn prefix(self) -> &'static [u8] {
        match self {
            Namespace::User => b"user.",
            Namespace::Trusted => b"trusted.",
            Namespace::Security => b"security.",
            Namespace::AclAccess => ACL_ACCESS,
            Namespace::AclDefault => ACL_DEFAULT,
        }
    }

    /// True for a handler that matches one exact name rather than a prefix.
    fn is_exact(self) -> bool {
        matches!(self, Namespace::AclAccess | Namespace::AclDefault)
    }
}

/// Every namespace, for filesystems that support them all (tmpfs, ext2).
pub const ALL_NAMESPACES: &[Namespace] =
    &[Namespace::AclAccess, Namespace::AclDefault, Namespace::Trusted, Namespace::Security, Namespace::User];

/// Linux's `xattr_resolve_name` over the handlers in `supported`: the namespace and the
/// suffix after its prefix. A bare prefix (`user.`) is `EINVAL`; a name no handler takes is
/// `EOPNOTSUPP`.
pub fn resolve<'a>(name: &'a [u8], supported: &[Namespace]) -> KResult<(Namespace, &'a [u8])> {
    for &ns in supported {
        let Some(rest) = name.strip_prefix(ns.prefix()) else { continue };
        if ns.is_exact() {
            if rest.is_empty() {
                return Ok((ns, rest));
            }
            continue;
        }
        if rest.is_empty() {
            return Err(Errno::EINVAL);
        }
        return Ok((ns, rest));
    }
    Err(Errno::EOPNOTSUPP)
}

/// The outcome `flags` (`XATTR_CREATE`/`XATTR_REPLACE`) ask for when the attribute does or
/// does not exist: `EEXIST` or `ENODATA`, as every Linux filesystem's set handler checks.
pub fn check_set_flags(exists: bool, flags: u32) -> KResult<()> {
    if exists && flags & XATTR_CREATE != 0 {
        return Err(Errno::EEXIST);
    }
    if !exists && flags & XATTR_REPLACE != 0 {
        return Err(Errno::ENODATA);
    }
    Ok(())
}

/// Copies `value` out as `getxattr` does with a buffer of `size` bytes: size 0 asks only for
/// the length; a smaller buffer is `ERANGE`.
pub fn fit_value(value: Vec<u8>, size: usize) -> KResult<Vec<u8>> {
    if size != 0 && value.len() > size {
        return Err(Errno::ERANGE);
    }
    Ok(value)
}

/// The NUL-separated `listxattr` buffer for `names`.
pub fn list_bytes(names: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(names.iter().map(|n| n.len() + 1).sum());
    for n in names {
        out.extend_from_slice(n);
        out.push(0);
    }
    out
}

/// An inode's attributes kept in memory (Linux's `simple_xattrs`), by full name. Listing gives
/// the ACLs first, then the rest in name order, as `simple_xattr_list` does.
#[derive(Debug, Default)]
pub struct XattrMap {
    attrs: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl XattrMap {
    /// An empty set.
    pub fn new() -> XattrMap {
        XattrMap::default()
    }

    /// The value of `name` (`ENODATA` if absent).
    pub fn get(&self, name: &[u8]) -> KResult<Vec<u8>> {
        self.attrs.get(name).cloned().ok_or(Errno::ENODATA)
    }

    /// True if `name` is set.
    pub fn contains(&self, name: &[u8]) -> bool {
        self.attrs.contains_key(name)
    }

    /// Sets `name` under `flags`.
    pub fn set(&mut self, name: &[u8], value: &[u8], flags: u32) -> KResult<()> {
        check_set_flags(self.contains(name), flags)?;
        self.attrs.insert(name.to_vec(), value.to_vec());
        Ok(())
    }

    /// The bytes `name` holds (name and value; 0 if unset).
    pub fn footprint(&self, name: &[u8]) -> u64 {
        self.attrs.get(name).map_or(0, |v| (name.len() + v.len()) as u64)
    }

    /// Removes `name` (`ENODATA` if absent); returns the bytes freed.
    pub fn remove(&mut self, name: &[u8]) -> KResult<u64> {
        let v = self.attrs.remove(name).ok_or(Errno::ENODATA)?;
        Ok((name.len() + v.len()) as u64)
    }

    /// The names: ACLs first (access, default), then the others in name order.
    pub fn names(&self) -> Vec<Vec<u8>> {
        let acls = [ACL_ACCESS, ACL_DEFAULT].into_iter().filter(|n| self.contains(n)).map(<[u8]>::to_vec);
        let rest = self.attrs.keys().filter(|k| k.as_slice() != ACL_ACCESS && k.as_slice() != ACL_DEFAULT).cloned();
        acls.chain(rest).collect()
    }

    /// Bytes held (names and values), for a filesystem's space accounting.
    pub fn bytes(&self) -> u64 {
        self.attrs.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_matches_linux_handlers() {
        let all = ALL_NAMESPACES;
        assert_eq!(resolve(b"user.a", all), Ok((Namespace::User, &b"a"[..])));
        assert_eq!(resolve(b"user.", all), Err(Errno::EINVAL));
        assert_eq!(resolve(b"trusted.", all), Err(Errno::EINVAL));
        assert_eq!(resolve(b"system.posix_acl_access", all), Ok((Namespace::AclAccess, &b""[..])));
        assert_eq!(resolve(b"system.posix_acl_accessX", all), Err(Errno::EOPNOTSUPP));
        assert_eq!(resolve(b"system.foo", all), Err(Errno::EOPNOTSUPP));
        assert_eq!(resolve(b"foo.bar", all), Err(Errno::EOPNOTSUPP));
        assert_eq!(resolve(b"user.x", &[Namespace::Security]), Err(Errno::EOPNOTSUPP));
    }

    #[test]
    fn map_flags_and_order() {
        let mut m = XattrMap::new();
        assert_eq!(m.set(b"user.b", b"1", XATTR_REPLACE), Err(Errno::ENODATA));
        assert_eq!(m.set(b"user.b", b"1", XATTR_CREATE), Ok(()));
        assert_eq!(m.set(b"user.b", b"22", XATTR_CREATE), Err(Errno::EEXIST));
        assert_eq!(m.set(b"user.b", b"22", XATTR_REPLACE), Ok(()));
        assert_eq!(m.footprint(b"user.b"), 8);
        m.set(b"user.a", b"", 0).unwrap();
        m.set(ACL_DEFAULT, b"d", 0).unwrap();
        m.set(ACL_ACCESS, b"a", 0).unwrap();
        let names = m.names();
        assert_eq!(names, vec![ACL_ACCESS.to_vec(), ACL_DEFAULT.to_vec(), b"user.a".to_vec(), b"user.b".to_vec()]);
        assert_eq!(m.remove(b"user.zz"), Err(Errno::ENODATA));
        assert_eq!(m.remove(b"user.b"), Ok(8));
        assert_eq!(m.get(b"user.b"), Err(Errno::ENODATA));
        assert_eq!(list_bytes(&[b"a.b".to_vec(), b"c.d".to_vec()]), b"a.b\0c.d\0");
    }
}
