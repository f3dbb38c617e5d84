//! procfs (stub).
use std::sync::Arc;
/// Provider.
pub trait ProcProvider: Send + Sync {}
/// ProcFs.
pub struct ProcFs;
impl ProcFs {
    /// new
    pub fn new(_v: &Arc<crate::vfs::Vfs>) -> Arc<crate::tmpfs::TmpFs> { crate::tmpfs::TmpFs::new(None) }
}
