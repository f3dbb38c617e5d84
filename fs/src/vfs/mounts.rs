//! `mount(2)` and `umount2(2)` over the namespace's mount tree, and the mount table text of
//! `/proc/mounts`.

use std::sync::Arc;

use uapi::{Errno, KResult};

use super::{MountRequest, Vfs};
use crate::abi::{MsFlags, MNT_DETACH, UMOUNT_NOFOLLOW};
use crate::context::Ctx;
use crate::inode::FileSystem;
use crate::mount::{Mount, MountFlags, Path};
use crate::path::{is_dir, path_string, resolve};

/// Converts `MS_*` flags to per-mount flags.
pub fn mount_flags(ms: MsFlags) -> MountFlags {
    let mut f = MountFlags::empty();
    for (m, mf) in [
        (MsFlags::MS_RDONLY, MountFlags::RDONLY | MountFlags::SB_RDONLY),
        (MsFlags::MS_NOSUID, MountFlags::NOSUID),
        (MsFlags::MS_NODEV, MountFlags::NODEV),
        (MsFlags::MS_NOEXEC, MountFlags::NOEXEC),
        (MsFlags::MS_NOATIME, MountFlags::NOATIME),
        (MsFlags::MS_RELATIME, MountFlags::RELATIME),
    ] {
        if ms.contains(m) {
            f |= mf;
        }
    }
    f
}

impl Vfs {
    /// `mount(2)`: root only (`EPERM`). Supports a new mount of a registered type (`ENODEV`
    /// for unknown types), `MS_BIND` (the source path's subtree), and `MS_REMOUNT` (flags of
    /// an existing mount, `EINVAL` if `target` is not a mount root). `MS_MOVE` is `EINVAL`.
    #[allow(clippy::too_many_arguments)]
    pub fn mount(&self, ctx: &Ctx<'_>, start: &Path, source: &[u8], target: &[u8], fstype: &[u8], flags: MsFlags, data: &[u8]) -> KResult<()> {
        if !ctx.cred.capable(crate::capability::cap::SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        let target = resolve(ctx, start, target, true)?;
        if flags.contains(MsFlags::MS_REMOUNT) {
            if !target.is_mount_root() {
                return Err(Errno::EINVAL);
            }
            let mut new = mount_flags(flags);
            if flags.contains(MsFlags::MS_BIND) {
                // A bind remount leaves the superblock as it was.
                new.remove(MountFlags::SB_RDONLY);
                new |= target.mount.flags() & MountFlags::SB_RDONLY;
            }
            target.mount.set_flags(new);
            return Ok(());
        }
        if flags.contains(MsFlags::MS_MOVE) {
            return Err(Errno::EINVAL);
        }
        if flags.contains(MsFlags::MS_BIND) {
            let src = resolve(ctx, start, source, true)?;
            // A bind inherits the source mount's flags (Linux's `clone_mnt`); `-o ro` is a remount.
            let m = Mount::new(src.mount.fs().clone(), src.dentry.clone(), src.mount.source(), src.mount.flags());
            if flags.contains(MsFlags::MS_REC) {
                copy_submounts(&src.mount, &src.dentry, &m);
            }
            return self.attach(&target, m);
        }
        let factory = self.fs_factory(fstype)?;
        let vfs = self.arc().ok_or(Errno::EINVAL)?;
        let block = self.source_block_device(ctx, start, source);
        let fs = factory(&MountRequest { source, flags, data, vfs: &vfs, block })?;
        self.mount_fs(&target, fs, source, mount_flags(flags)).map(|_| ())
    }

    /// The disk behind `source` when it names a block device node (see
    /// [`MountRequest::block`]); `None` when it does not resolve or is another kind of file.
    fn source_block_device(&self, ctx: &Ctx<'_>, start: &Path, source: &[u8]) -> Option<KResult<crate::devfs::BlockDisk>> {
        if source.is_empty() {
            return None;
        }
        let p = resolve(ctx, start, source, true).ok()?;
        let attr = p.inode().attr().ok()?;
        if attr.file_type() != crate::inode::FileType::BlockDevice {
            return None;
        }
        if p.mount.flags().contains(MountFlags::NODEV) {
            return Some(Err(Errno::EACCES));
        }
        Some(self.devices().block_device(attr.rdev))
    }

    /// Mounts `fs` on the resolved directory `target` (for init's root setup and tests).
    pub fn mount_fs(&self, target: &Path, fs: Arc<dyn FileSystem>, source: &[u8], flags: MountFlags) -> KResult<Arc<Mount>> {
        let root = crate::dentry::Dentry::new_root(fs.root());
        let m = Mount::new(fs, root, source, flags);
        self.attach(target, m.clone())?;
        Ok(m)
    }

    fn attach(&self, target: &Path, m: Arc<Mount>) -> KResult<()> {
        if !is_dir(target) || !is_dir(&Path::root_of(&m)) {
            return Err(Errno::ENOTDIR);
        }
        if target.dentry.is_deleted() {
            return Err(Errno::ENOENT);
        }
        target.mount.attach(&m, &target.dentry);
        Ok(())
    }

    /// `umount2(2)`: root only; `EINVAL` unless `target` is a mount's root; `EBUSY` for the
    /// namespace root, a mount with mounts below it, or one still in use (open files, cwds)
    /// unless `MNT_DETACH`, which detaches it lazily. The filesystem is synced.
    pub fn umount(&self, ctx: &Ctx<'_>, start: &Path, target: &[u8], flags: u32) -> KResult<()> {
        if !ctx.cred.capable(crate::capability::cap::SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        let p = resolve(ctx, start, target, flags & UMOUNT_NOFOLLOW == 0)?;
        if !p.is_mount_root() {
            return Err(Errno::EINVAL);
        }
        let Path { mount, dentry } = p;
        drop(dentry);
        let Some((parent, _)) = mount.parent() else { return Err(Errno::EBUSY) };
        let lazy = flags & MNT_DETACH != 0;
        // References: the parent's child list and `mount` here; anything more is a user.
        if !lazy && (!mount.children().is_empty() || Arc::strong_count(&mount) > 2) {
            return Err(Errno::EBUSY);
        }
        parent.detach(&mount);
        self.notifier.on_unmount(mount.fs().dev());
        if let Err(e) = mount.fs().sync() {
            log::warn!("umount: sync of {} failed: {e}", mount.fs().name());
        }
        // The dentry cache is shared by every mount of the filesystem (binds): drop it only
        // when this was the last one, or other mounts would lose their mountpoints.
        let shared = self.mounts().iter().any(|m| Arc::ptr_eq(m.fs(), mount.fs()));
        if !lazy && !shared {
            mount.root().prune();
        }
        Ok(())
    }

    /// Every mount, parents before children (the order of `/proc/mounts`).
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(m) = stack.pop() {
            let mut children = m.children();
            children.reverse();
            stack.extend(children);
            out.push(m);
        }
        out
    }

    /// The text of `/proc/<pid>/mountinfo` as seen from `root` (Linux's `show_mountinfo`):
    /// `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS - FSTYPE SOURCE SUPER_OPTIONS` per mount.
    /// ROOT is the mount's root inside its filesystem (a bind of a subdirectory shows it);
    /// there are no propagation fields (every mount is private).
    pub fn mountinfo_text(&self, root: &Path) -> String {
        let mut s = String::new();
        for m in self.mounts() {
            let target = path_string(&Path::root_of(&m), root);
            if target.starts_with(b"(unreachable)") {
                continue;
            }
            let parent = m.parent().map_or(m.id(), |(p, _)| p.id());
            let dev = m.fs().dev();
            let (major, minor) = ((dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00));
            let opts = mount_options(&m);
            let sb = if m.fs().read_only() || m.flags().contains(MountFlags::SB_RDONLY) { "ro" } else { "rw" };
            let sb = format!("{sb}{}", m.fs().mount_options());
            s.push_str(&format!(
                "{} {} {major}:{minor} {} {} {opts} - {} {} {sb}\n",
                m.id(),
                parent,
                escape_mount_field(&root_in_fs(&m)),
                escape_mount_field(&target),
                m.fs().name(),
                escape_mount_field(m.source()),
            ));
        }
        s
    }

    /// The text of `/proc/mounts` as seen from `root` (mounts outside it are omitted):
    /// `source target fstype options 0 0` per line, as Linux's `show_vfsmnt`.
    pub fn mounts_text(&self, root: &Path) -> String {
        let mut s = String::new();
        for m in self.mounts() {
            let target = path_string(&Path::root_of(&m), root);
            if target.starts_with(b"(unreachable)") {
                continue;
            }
            let opts = format!("{}{}", mount_options(&m), m.fs().mount_options());
            s.push_str(&format!(
                "{} {} {} {} 0 0\n",
                escape_mount_field(m.source()),
                escape_mount_field(&target),
                m.fs().name(),
                opts
            ));
        }
        s
    }
}

/// `mount --rbind` (`MS_BIND|MS_REC`, Linux's `copy_tree`): copies of the mounts of `from`
/// sitting at or below `at`, attached to `to` at the same dentries, and their mounts in turn.
/// The children are listed before `to` is attached, so binding a tree inside itself stops.
fn copy_submounts(from: &Arc<Mount>, at: &Arc<crate::dentry::Dentry>, to: &Arc<Mount>) {
    for child in from.children() {
        let Some((_, mountpoint)) = child.parent() else { continue };
        if !at.is_ancestor_of(&mountpoint) {
            continue;
        }
        let copy = Mount::new(child.fs().clone(), child.root().clone(), child.source(), child.flags());
        copy_submounts(&child, child.root(), &copy);
        to.attach(&copy, &mountpoint);
    }
}

/// The path of a mount's root inside its filesystem (mountinfo's fourth field: `/` unless
/// the mount is a bind of a subdirectory).
fn root_in_fs(m: &Mount) -> Vec<u8> {
    let mut names = Vec::new();
    let mut cur = Some(m.root().clone());
    while let Some(d) = cur {
        cur = d.parent();
        if cur.is_some() {
            names.push(d.name());
        }
    }
    let mut out = Vec::new();
    for name in names.iter().rev() {
        out.push(b'/');
        out.extend_from_slice(name);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// A mount's per-mount options as `/proc/mounts` shows them (`rw,nosuid,relatime`).
fn mount_options(m: &Mount) -> String {
    let mut opts = String::from(if m.is_readonly() { "ro" } else { "rw" });
    for (f, name) in [(MountFlags::NOSUID, ",nosuid"), (MountFlags::NODEV, ",nodev"), (MountFlags::NOEXEC, ",noexec"), (MountFlags::NOATIME, ",noatime")] {
        if m.flags().contains(f) {
            opts.push_str(name);
        }
    }
    if !m.flags().contains(MountFlags::NOATIME) {
        opts.push_str(",relatime");
    }
    opts
}

/// Escapes space, tab, newline and backslash as octal, as Linux's `mangle` does.
fn escape_mount_field(s: &[u8]) -> String {
    let mut out = Vec::new();
    for &c in s {
        match c {
            b' ' | b'\t' | b'\n' | b'\\' => out.extend_from_slice(format!("\\{c:03o}").as_bytes()),
            _ => out.push(c),
        }
    }
    if out.is_empty() {
        out.extend_from_slice(b"none");
    }
    String::from_utf8_lossy(&out).into_owned()
}
