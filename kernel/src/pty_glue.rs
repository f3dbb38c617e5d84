//! The pty devices (Linux's `ptmx_open` and the Unix98 slave driver): `/dev/ptmx` and every
//! devpts instance's `ptmx` (5:2) make a new pty of the instance they belong to, owned by the
//! opener; the slave nodes (136:N) open their pty, found through the devpts node. Hangups and
//! signals from the ptys reach processes through `crate::tty_glue`.

use crate::tty::pty::{Pty, PtyHooks};
use crate::tty_glue;
use fs::abi::OpenFlags;
use fs::devfs::DeviceOpen;
use fs::devpts::{DevPts, DevPtsNode, PTMX_MAJOR, PTMX_MINOR, PTS_MAJOR};
use fs::{Credentials, FileLike, Path};
use std::sync::Arc;
use uapi::{Errno, KResult};

/// Registers `/dev/ptmx` (5:2, mode 0666) and the slave major (136) in `vfs`'s registry.
pub fn install(vfs: &fs::Vfs) {
    let devices = vfs.devices();
    devices.register_char_device("ptmx", PTMX_MAJOR, PTMX_MINOR, 0o666, Arc::new(Ptmx));
    devices.register_char_major(PTS_MAJOR, Arc::new(PtsDevice));
}

/// What a pty asks of the kernel: signals and session hangups.
struct Hooks;

impl PtyHooks for Hooks {
    fn kill_pgrp(&self, pgrp: i32, sig: u32) {
        tty_glue::kill_pgrp(pgrp, sig);
    }
    fn hangup(&self, sid: i32) {
        tty_glue::session_hung_up(sid);
    }
}

/// `ptmx` (5:2).
struct Ptmx;

impl DeviceOpen for Ptmx {
    /// Without the node there is no devpts to find: `ENODEV`.
    fn open(&self, _flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        Err(Errno::ENODEV)
    }

    /// `ptmx_open`: a new index in the devpts instance beside the node (`ENODEV` without
    /// one), its slave node owned by the opener's fs ids (unless the mount says otherwise),
    /// the pty locked; the file is its master.
    fn open_node(&self, node: &Path, cred: &Credentials, _flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        let (devpts, root) = DevPts::for_ptmx(node)?;
        let index = devpts.alloc_index()?;
        let pty = Pty::new(index, devpts.clone(), Arc::new(Hooks));
        let private: Arc<dyn std::any::Any + Send + Sync> = pty.clone();
        devpts.add_node(index, cred.fsuid, cred.fsgid, Arc::downgrade(&private));
        if let Ok(p) = devpts.node_path(&root, index) {
            pty.set_slave_path(p);
        }
        tty_glue::register_pty(&pty);
        Ok(pty.master())
    }
}

/// The slaves (136:N): a node of a devpts instance opens its pty; anything else (a copy made
/// with `mknod`) is `EIO`, as `pts_unix98_lookup` finds no pty behind it.
struct PtsDevice;

impl DeviceOpen for PtsDevice {
    fn open(&self, _flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        Err(Errno::EIO)
    }

    fn open_node(&self, node: &Path, _cred: &Credentials, flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        let inode = node.inode().as_any().downcast_ref::<DevPtsNode>().ok_or(Errno::EIO)?;
        let pty = inode.private().and_then(|p| p.downcast::<Pty>().ok()).ok_or(Errno::EIO)?;
        tty_glue::open_slave(&pty, flags, tty_glue::current_process().as_ref())
    }
}
