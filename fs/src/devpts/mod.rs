//! devpts: the filesystem of pseudo-terminal slaves (Linux's `fs/devpts/inode.c`). Every
//! mount is a new instance, as on Linux since 4.7 (`newinstance` is accepted and changes
//! nothing): its root holds `ptmx` (char 5:2, mode `ptmxmode`, opening it makes a new pty of
//! this instance) and a node `N` (char 136:N) for each pty of the instance while its master is
//! open. The kernel's pty driver allocates the indexes and adds and removes the nodes; this
//! module only keeps names, owners and modes. A node carries an opaque pointer to its pty
//! (Linux's `dentry->d_fsdata`), which is how opening `/dev/pts/N` finds the pty.
//!
//! Options (`mount -t devpts -o ...`): `uid=`, `gid=` (owner of new nodes, else the opener's
//! fs ids), `mode=` (of new nodes, octal, default 0600), `ptmxmode=` (of `ptmx`, default
//! 0000), `max=` (number of ptys), `newinstance`. Anything else is `EINVAL`.

#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Weak};

use uapi::{Errno, KResult};

use crate::abi::{make_dev, S_IFCHR, S_IFDIR};
use crate::inode::{alloc_anon_dev, DirEntry, DirVisitor, FileSystem, FileType, Inode, InodeAttr, RenameFlags, SetAttr, StatFs};
use crate::klock::KMutex;
use crate::mount::Path;
use crate::time::{now, Timespec};

/// `DEVPTS_SUPER_MAGIC`.
pub const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
/// `TTYAUX_MAJOR`: `/dev/ptmx` is 5:2.
pub const PTMX_MAJOR: u32 = 5;
/// The minor of `/dev/ptmx`.
pub const PTMX_MINOR: u32 = 2;
/// `UNIX98_PTY_SLAVE_MAJOR`: slave `N` is 136:N.
pub const PTS_MAJOR: u32 = 136;
/// `/proc/sys/kernel/pty/max`'s default: the most ptys an instance hands out.
pub const DEFAULT_MAX: u32 = 4096;

/// Inode numbers as Linux's devpts gives them: the root 1, `ptmx` 2, slave `N` N+3.
const ROOT_INO: u64 = 1;
const PTMX_INO: u64 = 2;
const FIRST_PTS_INO: u64 = 3;

/// Mount options of one instance (`struct pts_mount_opts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevPtsOptions {
    /// `uid=`: owner of new nodes (else the opener's fsuid).
    pub uid: Option<u32>,
    /// `gid=`: group of new nodes (else the opener's fsgid).
    pub gid: Option<u32>,
    /// `mode=`: permission bits of new nodes.
    pub mode: u32,
    /// `ptmxmode=`: permission bits of the instance's `ptmx`.
    pub ptmxmode: u32,
    /// `max=`: how many ptys the instance may have at once.
    pub max: u32,
}

impl Default for DevPtsOptions {
    /// Linux's defaults: `mode=600,ptmxmode=000`, owner from the opener, no limit but the
    /// system's.
    fn default() -> Self {
        DevPtsOptions { uid: None, gid: None, mode: 0o600, ptmxmode: 0, max: DEFAULT_MAX }
    }
}

impl DevPtsOptions {
    /// Parses a comma-separated option string (`devpts_parse_param`): `EINVAL` for an unknown
    /// option or a malformed number.
    pub fn parse(data: &[u8]) -> KResult<DevPtsOptions> {
        let text = std::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
        let mut o = DevPtsOptions::default();
        for opt in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = match opt.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (opt, None),
            };
            match (key, value) {
                ("newinstance", None) => {}
                ("uid", Some(v)) => o.uid = Some(v.parse().map_err(|_| Errno::EINVAL)?),
                ("gid", Some(v)) => o.gid = Some(v.parse().map_err(|_| Errno::EINVAL)?),
                ("mode", Some(v)) => o.mode = octal(v)? & 0o7777,
                ("ptmxmode", Some(v)) => o.ptmxmode = octal(v)? & 0o7777,
                ("max", Some(v)) => o.max = v.parse::<u32>().map_err(|_| Errno::EINVAL)?.min(DEFAULT_MAX),
                _ => return Err(Errno::EINVAL),
            }
        }
        Ok(o)
    }
}

fn octal(v: &str) -> KResult<u32> {
    u32::from_str_radix(v, 8).map_err(|_| Errno::EINVAL)
}

/// The mutable attributes of a devpts inode.
#[derive(Clone, Copy, Debug)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
}

impl Meta {
    fn new(mode: u32, uid: u32, gid: u32) -> Meta {
        let t = now();
        Meta { mode, uid, gid, atime: t, mtime: t, ctime: t }
    }

    fn apply(&mut self, a: &SetAttr) {
        a.apply_to(crate::inode::MetaRefs { mode: &mut self.mode, uid: &mut self.uid, gid: &mut self.gid, atime: &mut self.atime, mtime: &mut self.mtime, ctime: &mut self.ctime });
    }
}

/// A device node of devpts: `ptmx` or a slave `N`.
pub struct DevPtsNode {
    fs: Weak<DevPts>,
    ino: u64,
    rdev: u64,
    /// The slave's index (`None` for `ptmx`).
    index: Option<u32>,
    meta: KMutex<Meta>,
    /// The pty behind a slave node (`devpts_get_priv`).
    private: Weak<dyn Any + Send + Sync>,
}

impl DevPtsNode {
    /// The slave index of this node (`None` for `ptmx`).
    pub fn index(&self) -> Option<u32> {
        self.index
    }

    /// The object the kernel attached to this node when it created it (its pty), if it is
    /// still alive.
    pub fn private(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        self.private.upgrade()
    }

    /// The instance this node belongs to.
    pub fn devpts(&self) -> Option<Arc<DevPts>> {
        self.fs.upgrade()
    }
}

impl Inode for DevPtsNode {
    fn attr(&self) -> KResult<InodeAttr> {
        let m = *self.meta.lock();
        Ok(InodeAttr {
            ino: self.ino,
            mode: m.mode,
            nlink: 1,
            uid: m.uid,
            gid: m.gid,
            size: 0,
            blocks: 0,
            blksize: 1024,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            rdev: self.rdev,
            dev: 0,
        })
    }

    fn fs(&self) -> Option<Arc<dyn FileSystem>> {
        self.fs.upgrade().map(|f| f as Arc<dyn FileSystem>)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// `simple_setattr`: `chmod`, `chown` and `utimes` on a node work (an old `grantpt`
    /// changes owner and mode this way).
    fn set_attr(&self, a: &SetAttr) -> KResult<()> {
        self.meta.lock().apply(a);
        Ok(())
    }
}

/// The root directory of an instance: `ptmx` and the live slaves, nothing else can be made.
pub struct DevPtsRoot {
    fs: Weak<DevPts>,
    meta: KMutex<Meta>,
}

impl DevPtsRoot {
    fn instance(&self) -> KResult<Arc<DevPts>> {
        self.fs.upgrade().ok_or(Errno::ENOENT)
    }
}

impl Inode for DevPtsRoot {
    fn attr(&self) -> KResult<InodeAttr> {
        let m = *self.meta.lock();
        Ok(InodeAttr {
            ino: ROOT_INO,
            mode: m.mode,
            nlink: 2,
            uid: m.uid,
            gid: m.gid,
            size: 0,
            blocks: 0,
            blksize: 1024,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            rdev: 0,
            dev: 0,
        })
    }

    fn fs(&self) -> Option<Arc<dyn FileSystem>> {
        self.fs.upgrade().map(|f| f as Arc<dyn FileSystem>)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        let fs = self.instance()?;
        if name == b"ptmx" {
            return Ok(fs.ptmx.clone());
        }
        let index = parse_index(name).ok_or(Errno::ENOENT)?;
        let node = fs.nodes.lock().get(&index).cloned().ok_or(Errno::ENOENT)?;
        Ok(node)
    }

    /// `.`, `..`, `ptmx`, then the slaves by index; position `N + 4` follows slave `N`.
    fn readdir(&self, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        let fs = self.instance()?;
        let fixed: [(&[u8], u64, FileType); 3] =
            [(b".", ROOT_INO, FileType::Directory), (b"..", ROOT_INO, FileType::Directory), (b"ptmx", PTMX_INO, FileType::CharDevice)];
        for (i, (name, ino, file_type)) in fixed.into_iter().enumerate() {
            let i = i as u64;
            if pos <= i && !visitor(&DirEntry { name, ino, file_type, next_pos: i + 1 }) {
                return Ok(());
            }
        }
        let nodes: Vec<(u32, u64)> = fs.nodes.lock().iter().map(|(i, n)| (*i, n.ino)).collect();
        for (index, ino) in nodes {
            if ino < pos {
                continue;
            }
            let name = index.to_string();
            if !visitor(&DirEntry { name: name.as_bytes(), ino, file_type: FileType::CharDevice, next_pos: ino + 1 }) {
                break;
            }
        }
        Ok(())
    }

    fn create(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::EACCES)
    }
    fn mknod(&self, _name: &[u8], _mode: u32, _rdev: u64, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::EPERM)
    }
    fn mkdir(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::EPERM)
    }
    fn unlink(&self, _name: &[u8]) -> KResult<()> {
        Err(Errno::EPERM)
    }
    fn rmdir(&self, _name: &[u8]) -> KResult<()> {
        Err(Errno::EPERM)
    }
    fn rename(&self, _old: &[u8], _dir: &Arc<dyn Inode>, _new: &[u8], _flags: RenameFlags) -> KResult<()> {
        Err(Errno::EPERM)
    }
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> KResult<()> {
        Err(Errno::EPERM)
    }
    fn symlink(&self, _name: &[u8], _target: &[u8], _uid: u32, _gid: u32) -> KResult<Arc<dyn Inode>> {
        Err(Errno::EPERM)
    }

    fn set_attr(&self, a: &SetAttr) -> KResult<()> {
        self.meta.lock().apply(a);
        Ok(())
    }
}

/// A slave name: decimal digits without a leading zero (except `0` itself).
fn parse_index(name: &[u8]) -> Option<u32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) || (name.len() > 1 && name[0] == b'0') {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// One devpts instance (`struct pts_fs_info` with its super block).
pub struct DevPts {
    dev: u64,
    opts: DevPtsOptions,
    root: Arc<DevPtsRoot>,
    ptmx: Arc<DevPtsNode>,
    /// The indexes in use: from a `ptmx` open until the pty is freed (`devpts_new_index`).
    indexes: KMutex<BTreeSet<u32>>,
    /// The slave nodes shown, by index: from creation until the master closes.
    nodes: KMutex<BTreeMap<u32, Arc<DevPtsNode>>>,
    /// How many nodes each index has had: a reused index gets a new inode number (index + 3
    /// as on Linux, plus the reuse count in the high bits), so the VFS's cached dentry of
    /// `/dev/pts/N` sees the node changed instead of opening the gone pty (Linux deletes the
    /// dentry when the pty dies).
    reuses: KMutex<BTreeMap<u32, u64>>,
}

impl DevPts {
    /// A new instance with `opts`.
    pub fn new(opts: DevPtsOptions) -> Arc<DevPts> {
        Arc::new_cyclic(|me: &Weak<DevPts>| {
            let nothing: Weak<dyn Any + Send + Sync> = Weak::<()>::new();
            DevPts {
                dev: alloc_anon_dev(),
                opts,
                root: Arc::new(DevPtsRoot { fs: me.clone(), meta: KMutex::new(Meta::new(S_IFDIR | 0o755, 0, 0)) }),
                ptmx: Arc::new(DevPtsNode {
                    fs: me.clone(),
                    ino: PTMX_INO,
                    rdev: make_dev(PTMX_MAJOR, PTMX_MINOR),
                    index: None,
                    meta: KMutex::new(Meta::new(S_IFCHR | opts.ptmxmode, 0, 0)),
                    private: nothing,
                }),
                indexes: KMutex::new(BTreeSet::new()),
                nodes: KMutex::new(BTreeMap::new()),
                reuses: KMutex::new(BTreeMap::new()),
            }
        })
    }

    /// The mount options.
    pub fn options(&self) -> DevPtsOptions {
        self.opts
    }

    /// Takes the lowest free index (`devpts_new_index`); `ENOSPC` once `max` are in use.
    pub fn alloc_index(&self) -> KResult<u32> {
        let mut used = self.indexes.lock();
        let index = (0..self.opts.max).find(|i| !used.contains(i)).ok_or(Errno::ENOSPC)?;
        used.insert(index);
        Ok(index)
    }

    /// Frees an index once its pty is gone (`devpts_kill_index`).
    pub fn release_index(&self, index: u32) {
        self.indexes.lock().remove(&index);
    }

    /// Shows slave `index` (`devpts_pty_new`): owner `uid`/`gid` (the opener's fs ids) unless
    /// the mount set them, the mount's `mode`, and `private` as the pty behind it.
    pub fn add_node(self: &Arc<Self>, index: u32, uid: u32, gid: u32, private: Weak<dyn Any + Send + Sync>) -> Arc<DevPtsNode> {
        let uid = self.opts.uid.unwrap_or(uid);
        let gid = self.opts.gid.unwrap_or(gid);
        let node = Arc::new(DevPtsNode {
            fs: Arc::downgrade(self),
            ino: FIRST_PTS_INO + u64::from(index) + (self.next_reuse(index) << 32),
            rdev: make_dev(PTS_MAJOR, index),
            index: Some(index),
            meta: KMutex::new(Meta::new(S_IFCHR | self.opts.mode, uid, gid)),
            private,
        });
        self.nodes.lock().insert(index, node.clone());
        node
    }

    /// How many nodes `index` had before this one.
    fn next_reuse(&self, index: u32) -> u64 {
        let mut r = self.reuses.lock();
        let n = r.entry(index).or_insert(0);
        let before = *n;
        *n = n.wrapping_add(1);
        before
    }

    /// Removes slave `index`'s node (`devpts_pty_kill`, when the master closes).
    pub fn remove_node(&self, index: u32) {
        self.nodes.lock().remove(&index);
    }

    /// The node of slave `index`, if shown.
    pub fn node(&self, index: u32) -> Option<Arc<DevPtsNode>> {
        self.nodes.lock().get(&index).cloned()
    }

    /// The path of slave `index` in the mount `root` of this instance (what the pty keeps to
    /// open its slave from the master, `TIOCGPTPEER`).
    pub fn node_path(&self, root: &Path, index: u32) -> KResult<Path> {
        let dentry = root.dentry.lookup_child(index.to_string().as_bytes(), true)?;
        Ok(Path { mount: root.mount.clone(), dentry })
    }

    /// The instance a `ptmx` node opened at `ptmx` belongs to, with the root of its mount
    /// (`devpts_acquire`): the mount `ptmx` is on if that is devpts (`/dev/pts/ptmx`), else
    /// whatever is mounted on `pts` beside it (`/dev/ptmx` finds `/dev/pts`), which must be
    /// the root of a devpts mount. `ENODEV` otherwise.
    pub fn for_ptmx(ptmx: &Path) -> KResult<(Arc<DevPts>, Path)> {
        if let Some(fs) = Self::of_mount(ptmx) {
            return Ok((fs, Path::root_of(&ptmx.mount)));
        }
        let parent = ptmx.dentry.parent().ok_or(Errno::ENODEV)?;
        let pts = parent.lookup_child(b"pts", ptmx.mount.fs().revalidate()).map_err(|_| Errno::ENODEV)?;
        let pts = Path { mount: ptmx.mount.clone(), dentry: pts }.follow_mounts();
        match Self::of_mount(&pts) {
            Some(fs) if pts.is_mount_root() => Ok((fs, pts)),
            _ => Err(Errno::ENODEV),
        }
    }

    /// The devpts instance `p` is on, if it is one.
    pub fn of_mount(p: &Path) -> Option<Arc<DevPts>> {
        let root = p.mount.fs().root();
        let root = root.as_any().downcast_ref::<DevPtsRoot>()?;
        root.fs.upgrade()
    }
}

impl FileSystem for DevPts {
    fn name(&self) -> &'static str {
        "devpts"
    }

    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }

    fn statfs(&self) -> KResult<StatFs> {
        Ok(StatFs { fs_type: DEVPTS_SUPER_MAGIC, bsize: 4096, namelen: 255, frsize: 4096, fsid: self.dev, ..StatFs::default() })
    }

    fn dev(&self) -> u64 {
        self.dev
    }

    /// Nodes come and go with ptys, behind the VFS's back.
    fn revalidate(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
