//! procfs (`proc`): the framework of Linux's `fs/proc`. Directories and symlinks are computed
//! on lookup; files are generated when opened and read from that snapshot (as `seq_file`
//! does), so a reader sees one consistent text. The kernel supplies the facts through
//! [`ProcProvider`]; fs formats them in Linux's layouts (see [`format`]).
//!
//! Tree: `/proc/{meminfo,cpuinfo,uptime,loadavg,mounts,filesystems,version,cmdline,stat}`,
//! `/proc/sys/...` (the sysctl tree, [`sysctl`]),
//! `/proc/sysvipc/{msg,sem,shm}` (System V IPC objects, from the provider),
//! `/proc/self` → `<pid>`, `/proc/thread-self` → `<pid>/task/<tid>`, and per process
//! `/proc/<pid>/{stat,status,statm,cmdline,comm,environ,maps,mounts,exe,cwd,root,fd/<n>}`.

pub mod format;
mod inode;
pub mod provider;
pub mod sysctl;

use std::any::Any;
use std::sync::{Arc, Weak};

use uapi::KResult;

use crate::abi::magic;
use crate::inode::{alloc_anon_dev, FileSystem, Inode, StatFs};
use crate::vfs::Vfs;

pub use inode::{ProcInode, SeqFile};
pub use provider::{CpuInfo, CpuTimes, KernelStat, LoadAvg, MemInfo, PidBytes, PidLink, ProcProvider, ProcessInfo, Uname, Uptime};

/// A procfs instance.
pub struct ProcFs {
    me: Weak<ProcFs>,
    vfs: Weak<Vfs>,
    provider: Arc<dyn ProcProvider>,
    dev: u64,
}

impl ProcFs {
    /// A procfs over `vfs`'s provider (or the one-process default if none is installed).
    pub fn new(vfs: &Arc<Vfs>) -> Arc<ProcFs> {
        let provider = vfs.proc_provider().unwrap_or_else(|| Arc::new(()));
        ProcFs::with_provider(Arc::downgrade(vfs), provider)
    }

    /// A procfs with an explicit provider.
    pub fn with_provider(vfs: Weak<Vfs>, provider: Arc<dyn ProcProvider>) -> Arc<ProcFs> {
        Arc::new_cyclic(|me| ProcFs { me: me.clone(), vfs, provider, dev: alloc_anon_dev() })
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<dyn ProcProvider> {
        &self.provider
    }
}

impl FileSystem for ProcFs {
    fn name(&self) -> &'static str {
        "proc"
    }
    fn root(&self) -> Arc<dyn Inode> {
        Arc::new(ProcInode::root(self.me.clone()))
    }
    fn statfs(&self) -> KResult<StatFs> {
        Ok(StatFs { fs_type: magic::PROC, bsize: 4096, namelen: 255, frsize: 4096, fsid: self.dev, ..StatFs::default() })
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn revalidate(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests;
