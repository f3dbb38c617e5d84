//! tmpfs extended attributes: every namespace (`user.`, `trusted.`, `security.` and the POSIX
//! ACLs), kept in memory as Linux's `simple_xattrs`, their bytes charged to the size limit.

use uapi::KResult;

use super::TmpInode;
use crate::xattr::{check_set_flags, resolve, ALL_NAMESPACES};

impl TmpInode {
    /// `getxattr` (`ENODATA` if unset, `EOPNOTSUPP` for an unknown namespace).
    pub(super) fn xattr_get(&self, name: &[u8]) -> KResult<Vec<u8>> {
        resolve(name, ALL_NAMESPACES)?;
        self.xattrs.lock().get(name)
    }

    /// `setxattr` under `flags`; growth is charged to the filesystem's limit (`ENOSPC`).
    pub(super) fn xattr_set(&self, name: &[u8], value: &[u8], flags: u32) -> KResult<()> {
        resolve(name, ALL_NAMESPACES)?;
        let fs = self.tmpfs()?;
        {
            let mut x = self.xattrs.lock();
            check_set_flags(x.contains(name), flags)?;
            fs.charge(x.footprint(name), (name.len() + value.len()) as u64)?;
            x.set(name, value, flags)?;
        }
        self.touch_c();
        Ok(())
    }

    /// `removexattr` (`ENODATA` if unset).
    pub(super) fn xattr_remove(&self, name: &[u8]) -> KResult<()> {
        resolve(name, ALL_NAMESPACES)?;
        let freed = self.xattrs.lock().remove(name)?;
        self.tmpfs()?.charge(freed, 0)?;
        self.touch_c();
        Ok(())
    }
}
