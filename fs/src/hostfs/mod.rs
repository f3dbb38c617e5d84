//! hostfs (stub).
use std::sync::Arc;
/// HostFs.
pub struct HostFs;
impl HostFs {
    /// new
    pub fn new(_d: &str, _ro: bool) -> uapi::KResult<Arc<crate::tmpfs::TmpFs>> { Ok(crate::tmpfs::TmpFs::new(None)) }
}
