//! hostfs extended attributes: `user.*` passes through to the host file (what the host allows:
//! its `EOPNOTSUPP`, `EPERM` or `ENOSPC` come back); every other namespace is `EOPNOTSUPP`, as
//! the guest must not reach the host's `trusted.*`, `security.*` or ACLs.

use uapi::{Errno, KResult};

use super::{host_err, HostInode};
use crate::xattr::{resolve, Namespace};

/// The namespaces hostfs serves.
const NAMESPACES: &[Namespace] = &[Namespace::User];

/// A host error of an xattr call: the xattr errnos pass as they are, the rest as hostfs maps
/// every host error.
fn xattr_err(e: std::io::Error) -> Errno {
    match e.raw_os_error().map(Errno::from_raw) {
        Some(errno @ (Errno::ENODATA | Errno::ERANGE | Errno::E2BIG | Errno::EEXIST)) => errno,
        _ => host_err(e),
    }
}

impl HostInode {
    pub(super) fn xattr_get(&self, name: &[u8]) -> KResult<Vec<u8>> {
        resolve(name, NAMESPACES)?;
        arch_um::hostxattr::get(&self.host_path()?, name).map_err(xattr_err)
    }

    pub(super) fn xattr_set(&self, name: &[u8], value: &[u8], flags: u32) -> KResult<()> {
        resolve(name, NAMESPACES)?;
        self.check_writable_fs()?;
        arch_um::hostxattr::set(&self.host_path()?, name, value, flags).map_err(xattr_err)
    }

    pub(super) fn xattr_remove(&self, name: &[u8]) -> KResult<()> {
        resolve(name, NAMESPACES)?;
        self.check_writable_fs()?;
        arch_um::hostxattr::remove(&self.host_path()?, name).map_err(xattr_err)
    }

    pub(super) fn xattr_list(&self) -> KResult<Vec<Vec<u8>>> {
        let names = arch_um::hostxattr::list(&self.host_path()?).map_err(xattr_err)?;
        Ok(names.into_iter().filter(|n| n.starts_with(b"user.")).collect())
    }
}
