//! The sysfs tree: nodes in a vector (index 0 is the root), built from paths.

use std::fmt::Write as _;

use crate::inode::FileType;

/// A network interface as sysfs shows it (`/sys/class/net/<name>`): the kernel's interface
/// table passes these through [`crate::procfs::ProcProvider::net_interfaces`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetIf {
    /// `ifindex`.
    pub index: u32,
    /// `lo`, `eth0`.
    pub name: String,
    /// `IFF_*` flags.
    pub flags: u32,
    /// `ARPHRD_*` type (772 loopback, 1 ethernet).
    pub hw_type: u16,
    /// MTU.
    pub mtu: u32,
    /// Hardware address.
    pub mac: [u8; 6],
}

impl NetIf {
    /// The loopback interface as Linux sets it up (`IFF_UP|IFF_LOOPBACK|IFF_RUNNING|IFF_LOWER_UP`).
    pub fn loopback() -> NetIf {
        NetIf { index: 1, name: "lo".into(), flags: 0x1_0049, hw_type: 772, mtu: 65536, mac: [0; 6] }
    }
}

/// One node: a directory (named children, by node index), an attribute file, or a symlink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeNode {
    /// A directory.
    Dir(Vec<(String, usize)>),
    /// A file with its contents.
    File(Vec<u8>),
    /// A symlink with its target.
    Link(String),
}

impl TreeNode {
    /// The node's file type.
    pub fn file_type(&self) -> FileType {
        match self {
            TreeNode::Dir(_) => FileType::Directory,
            TreeNode::File(_) => FileType::Regular,
            TreeNode::Link(_) => FileType::Symlink,
        }
    }
}

/// A disk as sysfs shows it (`/sys/block/<name>`): from the device registry's block devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockIf {
    /// `ubda`, `ubdb`, …
    pub name: String,
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Size in bytes.
    pub size: u64,
    /// Read-only disk.
    pub ro: bool,
}

/// A whole sysfs tree.
#[derive(Clone, Debug)]
pub struct Tree {
    nodes: Vec<TreeNode>,
}

impl Tree {
    fn new() -> Tree {
        Tree { nodes: vec![TreeNode::Dir(Vec::new())] }
    }

    /// The node at `index`.
    pub fn node(&self, index: usize) -> Option<&TreeNode> {
        self.nodes.get(index)
    }

    /// The node at `path` (relative to the root, `/`-separated; symlinks not followed).
    pub fn find(&self, path: &str) -> Option<&TreeNode> {
        let mut at = 0;
        for name in path.split('/').filter(|n| !n.is_empty()) {
            let TreeNode::Dir(children) = self.nodes.get(at)? else { return None };
            at = children.iter().find(|(n, _)| n == name)?.1;
        }
        self.nodes.get(at)
    }

    /// The directory at `path`, made with its parents where missing; its index.
    fn dir(&mut self, path: &str) -> usize {
        let mut at = 0;
        for name in path.split('/').filter(|n| !n.is_empty()) {
            at = self.child(at, name, || TreeNode::Dir(Vec::new()));
        }
        at
    }

    /// The child `name` of directory `parent`, added with `make` if missing.
    fn child(&mut self, parent: usize, name: &str, make: impl FnOnce() -> TreeNode) -> usize {
        if let Some(TreeNode::Dir(children)) = self.nodes.get(parent) {
            if let Some((_, i)) = children.iter().find(|(n, _)| n == name) {
                return *i;
            }
        }
        let index = self.nodes.len();
        self.nodes.push(make());
        if let Some(TreeNode::Dir(children)) = self.nodes.get_mut(parent) {
            children.push((name.to_string(), index));
        }
        index
    }

    fn add(&mut self, path: &str, node: TreeNode) {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = self.dir(dir);
        self.child(parent, name, || node);
    }

    fn file(&mut self, path: &str, text: &str) {
        self.add(path, TreeNode::File(text.as_bytes().to_vec()));
    }

    fn link(&mut self, path: &str, target: &str) {
        self.add(path, TreeNode::Link(target.to_string()));
    }

    /// Adds `disk` under `devices/virtual/block/<name>` with the links of `/sys/block`,
    /// `/sys/class/block` and `/sys/dev/block/MAJ:MIN`, and the attributes `lsblk` reads
    /// (Linux's `disk_attrs` and `queue` directory; 512-byte sectors as `ubd`).
    pub fn add_disk(&mut self, d: &BlockIf) {
        let dir = format!("devices/virtual/block/{}", d.name);
        let sectors = d.size / 512;
        let attrs: [(&str, String); 14] = [
            ("dev", format!("{}:{}\n", d.major, d.minor)),
            ("size", format!("{sectors}\n")),
            ("ro", format!("{}\n", u8::from(d.ro))),
            ("removable", "0\n".into()),
            ("hidden", "0\n".into()),
            ("range", "16\n".into()),
            ("ext_range", "16\n".into()),
            ("alignment_offset", "0\n".into()),
            ("discard_alignment", "0\n".into()),
            ("capability", "0\n".into()),
            ("events", "\n".into()),
            ("inflight", "       0        0\n".into()),
            ("stat", "       0        0        0        0        0        0        0        0        0        0        0\n".into()),
            ("uevent", format!("MAJOR={}\nMINOR={}\nDEVNAME={}\nDEVTYPE=disk\n", d.major, d.minor, d.name)),
        ];
        for (name, value) in attrs {
            self.file(&format!("{dir}/{name}"), &value);
        }
        let queue: [(&str, &str); 10] = [
            ("logical_block_size", "512\n"),
            ("physical_block_size", "512\n"),
            ("hw_sector_size", "512\n"),
            ("minimum_io_size", "512\n"),
            ("optimal_io_size", "0\n"),
            ("rotational", "0\n"),
            ("discard_granularity", "0\n"),
            ("discard_max_bytes", "0\n"),
            ("write_zeroes_max_bytes", "0\n"),
            ("scheduler", "[none]\n"),
        ];
        for (name, value) in queue {
            self.file(&format!("{dir}/queue/{name}"), value);
        }
        self.dir(&format!("{dir}/holders"));
        self.dir(&format!("{dir}/slaves"));
        self.link(&format!("{dir}/subsystem"), "../../../../class/block");
        self.link(&format!("block/{}", d.name), &format!("../{dir}"));
        self.link(&format!("class/block/{}", d.name), &format!("../../{dir}"));
        self.link(&format!("dev/block/{}:{}", d.major, d.minor), &format!("../../{dir}"));
    }
}

/// Linux's top-level sysfs directories (`/sys/*`).
const TOP_DIRS: [&str; 10] = ["block", "bus", "class", "dev", "devices", "firmware", "fs", "hypervisor", "kernel", "module"];

/// Builds the tree for `cpus` CPUs and the interfaces `netifs`.
pub fn build(cpus: u32, netifs: &[NetIf]) -> Tree {
    let mut t = Tree::new();
    for d in TOP_DIRS {
        t.dir(d);
    }
    for d in ["power", "fs/cgroup", "class/block", "dev/block", "dev/char", "kernel/mm/hugepages", "kernel/security", "kernel/debug", "bus/cpu/devices"] {
        t.dir(d);
    }
    add_cpus(&mut t, cpus.max(1));
    add_kernel(&mut t);
    for n in netifs {
        add_netif(&mut t, n);
    }
    t
}

/// `0-3` style CPU list (`cpulist_print`); `0` for one CPU.
fn cpu_list(cpus: u32) -> String {
    match cpus {
        0 | 1 => "0\n".into(),
        n => format!("0-{}\n", n - 1),
    }
}

fn add_cpus(t: &mut Tree, cpus: u32) {
    let all = cpu_list(cpus);
    let base = "devices/system/cpu";
    for f in ["online", "possible", "present"] {
        t.file(&format!("{base}/{f}"), &all);
    }
    t.file(&format!("{base}/offline"), "\n");
    t.file(&format!("{base}/kernel_max"), "8191\n");
    t.file(&format!("{base}/isolated"), "\n");
    for i in 0..cpus {
        let dir = format!("{base}/cpu{i}");
        if i > 0 {
            t.file(&format!("{dir}/online"), "1\n");
        }
        let topo = format!("{dir}/topology");
        t.file(&format!("{topo}/core_id"), &format!("{i}\n"));
        t.file(&format!("{topo}/physical_package_id"), "0\n");
        t.file(&format!("{topo}/die_id"), "0\n");
        t.file(&format!("{topo}/thread_siblings_list"), &format!("{i}\n"));
        t.file(&format!("{topo}/core_siblings_list"), &all);
        t.file(&format!("{topo}/core_cpus_list"), &format!("{i}\n"));
        t.file(&format!("{topo}/package_cpus_list"), &all);
        t.link(&format!("bus/cpu/devices/cpu{i}"), &format!("../../../devices/system/cpu/cpu{i}"));
        t.link(&format!("devices/system/node/node0/cpu{i}"), &format!("../../cpu/cpu{i}"));
    }
    let node = "devices/system/node";
    for f in ["online", "possible", "has_cpu", "has_normal_memory"] {
        t.file(&format!("{node}/{f}"), "0\n");
    }
    t.file(&format!("{node}/node0/cpulist"), &all);
}

fn add_kernel(t: &mut Tree) {
    let thp = "kernel/mm/transparent_hugepage";
    t.file(&format!("{thp}/enabled"), "always [madvise] never\n");
    t.file(&format!("{thp}/defrag"), "always defer defer+madvise [madvise] never\n");
    t.file(&format!("{thp}/use_zero_page"), "1\n");
    t.file(&format!("{thp}/hpage_pmd_size"), "2097152\n");
    t.file("kernel/uevent_seqnum", "0\n");
    t.file("kernel/kexec_loaded", "0\n");
    t.file("kernel/profiling", "0\n");
    t.file("kernel/rcu_expedited", "0\n");
}

/// `IFF_RUNNING`: an operational state netlink reports but `dev->flags` (what sysfs shows) lacks.
const IFF_RUNNING: u32 = 0x40;

fn add_netif(t: &mut Tree, n: &NetIf) {
    let dir = format!("devices/virtual/net/{}", n.name);
    let mut mac = String::new();
    for (i, b) in n.mac.iter().enumerate() {
        let _ = write!(mac, "{}{b:02x}", if i == 0 { "" } else { ":" });
    }
    let up = n.flags & 0x1 != 0;
    let operstate = match (n.hw_type, up) {
        (772, _) => "unknown",
        (_, true) => "up",
        (_, false) => "down",
    };
    let broadcast = if n.hw_type == 772 { "00:00:00:00:00:00" } else { "ff:ff:ff:ff:ff:ff" };
    let attrs: [(&str, String); 13] = [
        ("address", format!("{mac}\n")),
        ("addr_len", "6\n".into()),
        ("broadcast", format!("{broadcast}\n")),
        ("carrier", format!("{}\n", u8::from(up))),
        ("dev_id", "0x0\n".into()),
        ("flags", format!("{:#x}\n", n.flags & 0xffff & !IFF_RUNNING)),
        ("ifindex", format!("{}\n", n.index)),
        ("iflink", format!("{}\n", n.index)),
        ("mtu", format!("{}\n", n.mtu)),
        ("operstate", format!("{operstate}\n")),
        ("tx_queue_len", "1000\n".into()),
        ("type", format!("{}\n", n.hw_type)),
        ("uevent", format!("INTERFACE={}\nIFINDEX={}\n", n.name, n.index)),
    ];
    for (name, value) in attrs {
        t.file(&format!("{dir}/{name}"), &value);
    }
    t.dir(&format!("{dir}/statistics"));
    t.link(&format!("class/net/{}", n.name), &format!("../../devices/virtual/net/{}", n.name));
}
