//! procfs inodes: one small value type naming a node of the tree, with its content computed
//! from the provider on demand.

use std::any::Any;
use std::sync::{Arc, Weak};

use mm::{VmReader, VmWriter};
use uapi::{Errno, KResult};

use super::format;
use super::provider::{PidBytes, PidLink};
use super::{sysctl, ProcFs};
use crate::abi::{OpenFlags, S_IFDIR, S_IFLNK, S_IFREG};
use crate::file_like::FileLike;
use crate::inode::{DirEntry, DirVisitor, FileSystem, FileType, Inode, InodeAttr};
use crate::time::now;

/// A system-wide file in `/proc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SysFile {
    Meminfo,
    Cpuinfo,
    Uptime,
    Loadavg,
    Mounts,
    Filesystems,
    Partitions,
    Version,
    Cmdline,
    Stat,
}

const SYS_FILES: [(&str, SysFile); 10] = [
    ("cmdline", SysFile::Cmdline),
    ("cpuinfo", SysFile::Cpuinfo),
    ("filesystems", SysFile::Filesystems),
    ("loadavg", SysFile::Loadavg),
    ("meminfo", SysFile::Meminfo),
    ("mounts", SysFile::Mounts),
    ("partitions", SysFile::Partitions),
    ("stat", SysFile::Stat),
    ("uptime", SysFile::Uptime),
    ("version", SysFile::Version),
];

/// The files of `/proc/sysvipc`, whose text the provider gives (System V IPC objects).
const SYSVIPC_FILES: [&str; 3] = ["msg", "sem", "shm"];

/// A file in `/proc/<pid>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PidFile {
    Stat,
    Status,
    Statm,
    Comm,
    /// `loginuid` (writable by the process itself, audit's rules).
    Loginuid,
    /// `sessionid`.
    Sessionid,
    /// `oom_score_adj` (writable: the OOM killer's bias for this process).
    OomScoreAdj,
    /// `oom_score` (read-only badness).
    OomScore,
    Mounts,
    Mountinfo,
    Bytes(PidBytes),
    /// `mem`: the process's memory, opened through the provider.
    Mem,
}

/// What a name in `/proc/<pid>` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PidEntry {
    File(PidFile),
    Link(PidLink),
    Fd,
    /// `net/`: the network namespace's files (one namespace: the same for every process).
    Net,
    /// `task/`: one directory per thread, the same as `/proc/<tid>`.
    Task,
    /// `ns/`: a link per namespace type naming the process's namespace (`net:[4026531840]`).
    Ns,
}

/// The namespaces `/proc/<pid>/ns` lists, with the inode numbers Linux gives its initial
/// namespaces (`PROC_*_INIT_INO`; the network one as the first `net` allocated at boot). Umbra
/// has one namespace of each type, so every process shows the same links.
const NS_LINKS: [(&str, u64); 10] = [
    ("cgroup", 0xEFFF_FFFB),
    ("ipc", 0xEFFF_FFFF),
    ("mnt", 0xF000_0000),
    ("net", 0xF000_0098),
    ("pid", 0xEFFF_FFFC),
    ("pid_for_children", 0xEFFF_FFFC),
    ("time", 0xEFFF_FFFA),
    ("time_for_children", 0xEFFF_FFFA),
    ("user", 0xEFFF_FFFD),
    ("uts", 0xEFFF_FFFE),
];

/// A file in `/proc/<pid>/net`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NetFile {
    Unix,
    /// An internet file, by name (`tcp`, `udp6`, `dev`, ...): the provider's `net_inet`.
    Inet(&'static str),
}

const NET_FILES: [(&str, NetFile); 10] = [
    ("dev", NetFile::Inet("dev")),
    ("if_inet6", NetFile::Inet("if_inet6")),
    ("route", NetFile::Inet("route")),
    ("snmp", NetFile::Inet("snmp")),
    ("tcp", NetFile::Inet("tcp")),
    ("tcp6", NetFile::Inet("tcp6")),
    ("udp", NetFile::Inet("udp")),
    ("udp6", NetFile::Inet("udp6")),
    ("unix", NetFile::Unix),
    ("sockstat", NetFile::Inet("sockstat")),
];

const PID_ENTRIES: [(&str, PidEntry); 22] = [
    ("cmdline", PidEntry::File(PidFile::Bytes(PidBytes::Cmdline))),
    ("comm", PidEntry::File(PidFile::Comm)),
    ("cwd", PidEntry::Link(PidLink::Cwd)),
    ("environ", PidEntry::File(PidFile::Bytes(PidBytes::Environ))),
    ("exe", PidEntry::Link(PidLink::Exe)),
    ("fd", PidEntry::Fd),
    ("limits", PidEntry::File(PidFile::Bytes(PidBytes::Limits))),
    ("loginuid", PidEntry::File(PidFile::Loginuid)),
    ("maps", PidEntry::File(PidFile::Bytes(PidBytes::Maps))),
    ("mem", PidEntry::File(PidFile::Mem)),
    ("mountinfo", PidEntry::File(PidFile::Mountinfo)),
    ("mounts", PidEntry::File(PidFile::Mounts)),
    ("net", PidEntry::Net),
    ("ns", PidEntry::Ns),
    ("oom_score", PidEntry::File(PidFile::OomScore)),
    ("oom_score_adj", PidEntry::File(PidFile::OomScoreAdj)),
    ("root", PidEntry::Link(PidLink::Root)),
    ("sessionid", PidEntry::File(PidFile::Sessionid)),
    ("stat", PidEntry::File(PidFile::Stat)),
    ("statm", PidEntry::File(PidFile::Statm)),
    ("status", PidEntry::File(PidFile::Status)),
    ("task", PidEntry::Task),
];

/// Readdir position of the first pid in `/proc` (`FIRST_PROCESS_ENTRY` spirit): pid `p` is at
/// `PID_POS + p`, so positions survive processes coming and going.
const PID_POS: u64 = 0x1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Root,
    Sys(SysFile),
    SelfLink,
    ThreadSelf,
    /// `/proc/net`, a link to `self/net` as in Linux.
    NetLink,
    PidDir(u32),
    /// `/proc/<pid>/task/<tid>`: the thread's own directory — `/proc/<tid>` without `task`
    /// (Linux's `tid_base_stuff`), so walking `/proc` never loops through `task/<tid>/task`.
    ThreadDir(u32),
    Pid(u32, PidEntry),
    FdLink(u32, u32),
    /// A directory of `/proc/sys` (its path below it; `""` is `/proc/sys`).
    SysctlDir(&'static str),
    /// A file of `/proc/sys` (its index in `sysctl::ENTRIES`).
    Sysctl(usize),
    PidNet(u32, NetFile),
    /// `/proc/<pid>/ns/<name>` by its index in `NS_LINKS`.
    NsLink(u32, usize),
    /// `/proc/sysvipc`.
    SysvipcDir,
    /// A file of `/proc/sysvipc` by its index in `SYSVIPC_FILES`.
    Sysvipc(usize),
}

/// One node of the proc tree.
pub struct ProcInode {
    fs: Weak<ProcFs>,
    node: Node,
}

impl ProcInode {
    pub(super) fn root(fs: Weak<ProcFs>) -> ProcInode {
        ProcInode { fs, node: Node::Root }
    }

    fn child(&self, node: Node) -> Arc<dyn Inode> {
        Arc::new(ProcInode { fs: self.fs.clone(), node })
    }

    fn procfs(&self) -> KResult<Arc<ProcFs>> {
        self.fs.upgrade().ok_or(Errno::ENOENT)
    }

    fn pid_exists(&self, pid: u32) -> KResult<bool> {
        Ok(self.procfs()?.provider.process(pid).is_some())
    }

    fn file_type(&self) -> FileType {
        match self.node {
            Node::Root | Node::PidDir(_) | Node::ThreadDir(_) | Node::Pid(_, PidEntry::Fd | PidEntry::Net | PidEntry::Task | PidEntry::Ns) | Node::SysctlDir(_) | Node::SysvipcDir => FileType::Directory,
            Node::Sys(_) | Node::Pid(_, PidEntry::File(_)) | Node::PidNet(..) | Node::Sysctl(_) | Node::Sysvipc(_) => FileType::Regular,
            _ => FileType::Symlink,
        }
    }

    fn ino(&self) -> u64 {
        let pid_base = |p: u32| (u64::from(p) + 1) << 32;
        let pid_index = |e: PidEntry| PID_ENTRIES.iter().position(|(_, x)| *x == e).unwrap_or(0) as u64;
        match self.node {
            Node::Root => 1,
            Node::Sys(f) => 2 + SYS_FILES.iter().position(|(_, x)| *x == f).unwrap_or(0) as u64,
            Node::SelfLink => 20,
            Node::ThreadSelf => 21,
            Node::NetLink => 22,
            Node::SysvipcDir => 23,
            Node::Sysvipc(i) => 24 + i as u64,
            Node::PidDir(p) => pid_base(p),
            Node::ThreadDir(p) => pid_base(p) + 0xF00,
            Node::Pid(p, e) => pid_base(p) + 1 + pid_index(e),
            Node::FdLink(p, fd) => pid_base(p) + 0x1000 + u64::from(fd),
            Node::SysctlDir("") => 0x3ff,
            Node::SysctlDir(d) => 0x400 + sysctl::ENTRIES.iter().position(|e| e.path.starts_with(d)).unwrap_or(0) as u64,
            Node::Sysctl(i) => 0x800 + i as u64,
            Node::PidNet(p, f) => pid_base(p) + 0x800 + NET_FILES.iter().position(|(_, x)| *x == f).unwrap_or(0) as u64,
            Node::NsLink(p, i) => pid_base(p) + 0xE00 + i as u64,
        }
    }

    fn pid(&self) -> Option<u32> {
        match self.node {
            Node::PidDir(p) | Node::ThreadDir(p) | Node::Pid(p, _) | Node::FdLink(p, _) | Node::PidNet(p, _) | Node::NsLink(p, _) => Some(p),
            _ => None,
        }
    }

    fn mode(&self) -> u32 {
        match (self.file_type(), self.node) {
            (FileType::Directory, Node::Pid(_, PidEntry::Fd)) => S_IFDIR | 0o500,
            (FileType::Directory, _) => S_IFDIR | 0o555,
            (FileType::Regular, Node::Pid(_, PidEntry::File(PidFile::Bytes(PidBytes::Environ)))) => S_IFREG | 0o400,
            (FileType::Regular, Node::Pid(_, PidEntry::File(PidFile::Loginuid | PidFile::OomScoreAdj))) => S_IFREG | 0o644,
            (FileType::Regular, Node::Pid(_, PidEntry::File(PidFile::Mem))) => S_IFREG | 0o600,
            (FileType::Regular, Node::Sysctl(i)) => S_IFREG | sysctl::ENTRIES.get(i).map_or(0o444, |e| e.mode),
            (FileType::Regular, _) => S_IFREG | 0o444,
            _ => S_IFLNK | 0o777,
        }
    }

    /// Generates a file's text.
    fn content(&self) -> KResult<Vec<u8>> {
        let fs = self.procfs()?;
        let p = &fs.provider;
        let text = match self.node {
            Node::Sys(f) => match f {
                SysFile::Meminfo => format::meminfo(&p.meminfo()),
                SysFile::Cpuinfo => format::cpuinfo(&p.cpuinfo()),
                SysFile::Uptime => format::uptime(&p.uptime()),
                SysFile::Loadavg => format::loadavg(&p.loadavg()),
                SysFile::Mounts => self.mounts_text()?,
                SysFile::Filesystems => format::filesystems(&fs.vfs.upgrade().ok_or(Errno::ENOENT)?.fs_types()),
                SysFile::Partitions => format::partitions(&fs.vfs.upgrade().ok_or(Errno::ENOENT)?.devices().block_devices()),
                SysFile::Version => format::version(&p.uname()),
                SysFile::Cmdline => format::cmdline(&p.cmdline()),
                SysFile::Stat => format::stat(&p.stat()),
            },
            Node::PidNet(_, NetFile::Unix) => p.net_unix(),
            Node::PidNet(_, NetFile::Inet(name)) => p.net_inet(name),
            Node::Sysvipc(i) => p.sysvipc(SYSVIPC_FILES.get(i).copied().unwrap_or_default()),
            Node::Pid(pid, PidEntry::File(f)) => {
                if let PidFile::Bytes(b) = f {
                    return p.pid_bytes(pid, b);
                }
                if f == PidFile::Mounts {
                    return Ok(self.mounts_text()?.into_bytes());
                }
                if f == PidFile::Mem {
                    return Ok(Vec::new());
                }
                if f == PidFile::Mountinfo {
                    let vfs = self.procfs()?.vfs.upgrade().ok_or(Errno::ENOENT)?;
                    return Ok(vfs.mountinfo_text(&vfs.root()).into_bytes());
                }
                let info = p.process(pid).ok_or(Errno::ESRCH)?;
                match f {
                    PidFile::Stat => format::pid_stat(&info),
                    PidFile::Status => format::pid_status(&info),
                    PidFile::Statm => format::pid_statm(&info),
                    PidFile::Loginuid => info.loginuid.to_string(),
                    PidFile::Sessionid => info.sessionid.to_string(),
                    PidFile::OomScoreAdj => format!("{}\n", info.oom_score_adj),
                    PidFile::OomScore => format!("{}\n", info.oom_score),
                    _ => format!("{}\n", info.comm),
                }
            }
            Node::Sysctl(i) => return sysctl::value(sysctl::ENTRIES.get(i).ok_or(Errno::ENOENT)?, p.as_ref()),
            _ => return Err(Errno::EISDIR),
        };
        Ok(text.into_bytes())
    }

    fn mounts_text(&self) -> KResult<String> {
        let vfs = self.procfs()?.vfs.upgrade().ok_or(Errno::ENOENT)?;
        Ok(vfs.mounts_text(&vfs.root()))
    }

    fn readdir_root(&self, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        let fs = self.procfs()?;
        let mut fixed: Vec<(&str, Node)> = SYS_FILES.iter().map(|(n, f)| (*n, Node::Sys(*f))).collect();
        fixed.push(("self", Node::SelfLink));
        fixed.push(("sys", Node::SysctlDir("")));
        fixed.push(("thread-self", Node::ThreadSelf));
        fixed.push(("net", Node::NetLink));
        fixed.push(("sysvipc", Node::SysvipcDir));
        for (i, (name, node)) in fixed.iter().enumerate().skip(pos.saturating_sub(2) as usize) {
            let inode = ProcInode { fs: self.fs.clone(), node: *node };
            let e = DirEntry { name: name.as_bytes(), ino: inode.ino(), file_type: inode.file_type(), next_pos: i as u64 + 3 };
            if !visitor(&e) {
                return Ok(());
            }
        }
        let first_pid = pos.saturating_sub(PID_POS);
        for pid in fs.provider.pids().into_iter().filter(|p| u64::from(*p) >= first_pid) {
            let name = pid.to_string();
            let ino = ProcInode { fs: self.fs.clone(), node: Node::PidDir(pid) }.ino();
            let e = DirEntry { name: name.as_bytes(), ino, file_type: FileType::Directory, next_pos: PID_POS + u64::from(pid) + 1 };
            if !visitor(&e) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The entries of `/proc/<pid>`, or of `/proc/<pid>/task/<tid>` (`thread`: no `task`).
    fn readdir_pid(&self, pid: u32, thread: bool, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        for (i, (name, entry)) in PID_ENTRIES.iter().enumerate().skip(pos.saturating_sub(2) as usize) {
            if thread && *entry == PidEntry::Task {
                continue;
            }
            let inode = ProcInode { fs: self.fs.clone(), node: Node::Pid(pid, *entry) };
            let e = DirEntry { name: name.as_bytes(), ino: inode.ino(), file_type: inode.file_type(), next_pos: i as u64 + 3 };
            if !visitor(&e) {
                break;
            }
        }
        Ok(())
    }

    fn readdir_sysctl(&self, dir: &'static str, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        for (i, (name, _)) in sysctl::children(dir).into_iter().enumerate().skip(pos.saturating_sub(2) as usize) {
            let Some(node) = sysctl_child(dir, name) else { continue };
            let inode = ProcInode { fs: self.fs.clone(), node };
            let e = DirEntry { name: name.as_bytes(), ino: inode.ino(), file_type: inode.file_type(), next_pos: i as u64 + 3 };
            if !visitor(&e) {
                break;
            }
        }
        Ok(())
    }

    fn readdir_net(&self, pid: u32, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        for (i, (name, f)) in NET_FILES.iter().enumerate().skip(pos.saturating_sub(2) as usize) {
            let ino = ProcInode { fs: self.fs.clone(), node: Node::PidNet(pid, *f) }.ino();
            let e = DirEntry { name: name.as_bytes(), ino, file_type: FileType::Regular, next_pos: i as u64 + 3 };
            if !visitor(&e) {
                break;
            }
        }
        Ok(())
    }

    fn readdir_ns(&self, pid: u32, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        for (i, (name, _)) in NS_LINKS.iter().enumerate().skip(pos.saturating_sub(2) as usize) {
            let ino = ProcInode { fs: self.fs.clone(), node: Node::NsLink(pid, i) }.ino();
            let e = DirEntry { name: name.as_bytes(), ino, file_type: FileType::Symlink, next_pos: i as u64 + 3 };
            if !visitor(&e) {
                break;
            }
        }
        Ok(())
    }

    fn readdir_tasks(&self, pid: u32, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        let tids = self.procfs()?.provider.pid_threads(pid)?;
        for tid in tids.into_iter().filter(|t| u64::from(*t) + 2 >= pos) {
            let name = tid.to_string();
            let ino = ProcInode { fs: self.fs.clone(), node: Node::ThreadDir(tid) }.ino();
            let e = DirEntry { name: name.as_bytes(), ino, file_type: FileType::Directory, next_pos: u64::from(tid) + 3 };
            if !visitor(&e) {
                break;
            }
        }
        Ok(())
    }

    fn readdir_fds(&self, pid: u32, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        let fds = self.procfs()?.provider.pid_fds(pid)?;
        for fd in fds.into_iter().filter(|fd| u64::from(*fd) + 2 >= pos) {
            let name = fd.to_string();
            let ino = ProcInode { fs: self.fs.clone(), node: Node::FdLink(pid, fd) }.ino();
            let e = DirEntry { name: name.as_bytes(), ino, file_type: FileType::Symlink, next_pos: u64::from(fd) + 3 };
            if !visitor(&e) {
                break;
            }
        }
        Ok(())
    }

    fn readdir_sysvipc(&self, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        for (i, name) in SYSVIPC_FILES.iter().enumerate().skip(pos.saturating_sub(2) as usize) {
            let ino = ProcInode { fs: self.fs.clone(), node: Node::Sysvipc(i) }.ino();
            if !visitor(&DirEntry { name: name.as_bytes(), ino, file_type: FileType::Regular, next_pos: i as u64 + 3 }) {
                break;
            }
        }
        Ok(())
    }
}

/// The node of `name` inside `/proc/sys` directory `dir`.
fn sysctl_child(dir: &'static str, name: &str) -> Option<Node> {
    let path = sysctl::join(dir, name);
    if let Some((i, _)) = sysctl::entry(&path) {
        return Some(Node::Sysctl(i));
    }
    // A directory: its path as a prefix of an entry's static path.
    sysctl::ENTRIES.iter().find(|e| e.path.strip_prefix(path.as_str()).is_some_and(|r| r.starts_with('/'))).map(|e| Node::SysctlDir(&e.path[..path.len()]))
}

fn parse_num(name: &[u8]) -> Option<u32> {
    if name.first() == Some(&b'0') && name.len() > 1 {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

impl Inode for ProcInode {
    fn attr(&self) -> KResult<InodeAttr> {
        let (uid, gid) = match self.pid() {
            Some(p) => {
                let info = self.procfs()?.provider.process(p).ok_or(Errno::ENOENT)?;
                (info.uids[1], info.gids[1])
            }
            None => (0, 0),
        };
        let t = now();
        let nlink = if self.file_type() == FileType::Directory { 2 } else { 1 };
        Ok(InodeAttr { ino: self.ino(), mode: self.mode(), nlink, uid, gid, blksize: 1024, atime: t, mtime: t, ctime: t, ..InodeAttr::default() })
    }

    fn fs(&self) -> Option<Arc<dyn FileSystem>> {
        self.fs.upgrade().map(|f| f as Arc<dyn FileSystem>)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, name: &[u8]) -> KResult<Arc<dyn Inode>> {
        match self.node {
            Node::Root => {
                if let Some((_, f)) = SYS_FILES.iter().find(|(n, _)| n.as_bytes() == name) {
                    return Ok(self.child(Node::Sys(*f)));
                }
                match name {
                    b"self" => return Ok(self.child(Node::SelfLink)),
                    b"sys" => return Ok(self.child(Node::SysctlDir(""))),
                    b"thread-self" => return Ok(self.child(Node::ThreadSelf)),
                    b"net" => return Ok(self.child(Node::NetLink)),
                    b"sysvipc" => return Ok(self.child(Node::SysvipcDir)),
                    _ => {}
                }
                let pid = parse_num(name).ok_or(Errno::ENOENT)?;
                if !self.pid_exists(pid)? {
                    return Err(Errno::ENOENT);
                }
                Ok(self.child(Node::PidDir(pid)))
            }
            Node::PidDir(pid) | Node::ThreadDir(pid) => {
                let thread = matches!(self.node, Node::ThreadDir(_));
                let (_, e) = PID_ENTRIES
                    .iter()
                    .find(|(n, e)| n.as_bytes() == name && !(thread && *e == PidEntry::Task))
                    .ok_or(Errno::ENOENT)?;
                if !self.pid_exists(pid)? {
                    return Err(Errno::ENOENT);
                }
                Ok(self.child(Node::Pid(pid, *e)))
            }
            Node::SysctlDir(dir) => {
                let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
                sysctl_child(dir, name).map(|n| self.child(n)).ok_or(Errno::ENOENT)
            }
            Node::SysvipcDir => {
                let i = SYSVIPC_FILES.iter().position(|n| n.as_bytes() == name).ok_or(Errno::ENOENT)?;
                Ok(self.child(Node::Sysvipc(i)))
            }
            Node::Pid(pid, PidEntry::Fd) => {
                let fd = parse_num(name).ok_or(Errno::ENOENT)?;
                if !self.procfs()?.provider.pid_fds(pid)?.contains(&fd) {
                    return Err(Errno::ENOENT);
                }
                Ok(self.child(Node::FdLink(pid, fd)))
            }
            Node::Pid(pid, PidEntry::Ns) => {
                let i = NS_LINKS.iter().position(|(n, _)| n.as_bytes() == name).ok_or(Errno::ENOENT)?;
                Ok(self.child(Node::NsLink(pid, i)))
            }
            Node::Pid(pid, PidEntry::Net) => {
                let (_, f) = NET_FILES.iter().find(|(n, _)| n.as_bytes() == name).ok_or(Errno::ENOENT)?;
                Ok(self.child(Node::PidNet(pid, *f)))
            }
            Node::Pid(pid, PidEntry::Task) => {
                let tid = parse_num(name).ok_or(Errno::ENOENT)?;
                if !self.procfs()?.provider.pid_threads(pid)?.contains(&tid) {
                    return Err(Errno::ENOENT);
                }
                Ok(self.child(Node::ThreadDir(tid)))
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn readdir(&self, pos: u64, visitor: &mut DirVisitor<'_>) -> KResult<()> {
        if self.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let ino = self.ino();
        if pos == 0 && !visitor(&DirEntry { name: b".", ino, file_type: FileType::Directory, next_pos: 1 }) {
            return Ok(());
        }
        if pos <= 1 && !visitor(&DirEntry { name: b"..", ino: 1, file_type: FileType::Directory, next_pos: 2 }) {
            return Ok(());
        }
        match self.node {
            Node::Root => self.readdir_root(pos, visitor),
            Node::PidDir(p) => self.readdir_pid(p, false, pos, visitor),
            Node::ThreadDir(p) => self.readdir_pid(p, true, pos, visitor),
            Node::Pid(p, PidEntry::Fd) => self.readdir_fds(p, pos, visitor),
            Node::SysctlDir(d) => self.readdir_sysctl(d, pos, visitor),
            Node::Pid(p, PidEntry::Net) => self.readdir_net(p, pos, visitor),
            Node::Pid(p, PidEntry::Ns) => self.readdir_ns(p, pos, visitor),
            Node::Pid(p, PidEntry::Task) => self.readdir_tasks(p, pos, visitor),
            Node::SysvipcDir => self.readdir_sysvipc(pos, visitor),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn read_at(&self, off: u64, buf: &mut VmWriter<'_>) -> KResult<usize> {
        let data = self.content()?;
        let Some(src) = usize::try_from(off).ok().and_then(|o| data.get(o..)) else { return Ok(0) };
        Ok(buf.write_slice(src))
    }

    fn write_at(&self, _off: u64, _data: &mut VmReader<'_>) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    /// `O_TRUNC`/`ftruncate` on a proc file is accepted and changes nothing (Linux's
    /// `proc_setattr` and `proc_sys_setattr` ignore the size; pam_loginuid truncates
    /// `/proc/self/loginuid` before writing it).
    fn truncate(&self, _size: u64) -> KResult<()> {
        Ok(())
    }

    fn readlink(&self) -> KResult<Vec<u8>> {
        let fs = self.procfs()?;
        let p = &fs.provider;
        match self.node {
            Node::SelfLink => Ok(p.current_pid().to_string().into_bytes()),
            Node::ThreadSelf => Ok(format!("{}/task/{}", p.current_pid(), p.current_tid()).into_bytes()),
            Node::NetLink => Ok(b"self/net".to_vec()),
            Node::Pid(pid, PidEntry::Link(l)) => p.pid_link(pid, l),
            Node::FdLink(pid, fd) => p.pid_fd_link(pid, fd),
            Node::NsLink(_, i) => {
                let (name, ino) = NS_LINKS.get(i).ok_or(Errno::ENOENT)?;
                let kind = name.trim_end_matches("_for_children");
                Ok(format!("{kind}:[{ino}]").into_bytes())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn magic_link(&self) -> Option<KResult<crate::mount::Path>> {
        let Node::FdLink(pid, fd) = self.node else { return None };
        match self.procfs() {
            Ok(fs) => fs.provider.pid_fd_path(pid, fd),
            Err(e) => Some(Err(e)),
        }
    }

    fn open(&self, _flags: OpenFlags) -> KResult<Option<Arc<dyn FileLike>>> {
        if self.file_type() != FileType::Regular {
            return Ok(None);
        }
        if let Node::Sysctl(i) = self.node {
            let e = sysctl::ENTRIES.get(i).ok_or(Errno::ENOENT)?;
            return Ok(Some(Arc::new(sysctl::SysctlFile::new(e, self.procfs()?.provider.clone())?)));
        }
        if let Node::Pid(pid, PidEntry::File(what @ (PidFile::Loginuid | PidFile::OomScoreAdj))) = self.node {
            let setting = if what == PidFile::Loginuid { PidSetting::Loginuid } else { PidSetting::OomScoreAdj };
            return Ok(Some(Arc::new(PidNumberFile { pid, setting, data: self.content()?, provider: self.procfs()?.provider.clone() })));
        }
        if let Node::Pid(pid, PidEntry::File(PidFile::Mem)) = self.node {
            return Ok(Some(self.procfs()?.provider.pid_mem(pid)?));
        }
        Ok(Some(Arc::new(SeqFile::new(self.content()?))))
    }
}

/// Which per-process number a `PidNumberFile` sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PidSetting {
    /// `loginuid`: an unsigned decimal (`proc_loginuid_write`).
    Loginuid,
    /// `oom_score_adj`: a signed decimal in -1000..=1000 (`oom_score_adj_write`).
    OomScoreAdj,
}

/// `/proc/<pid>/loginuid` or `oom_score_adj` opened: reads the value taken at open, writes of
/// one decimal number (a trailing newline allowed) go to the kernel.
struct PidNumberFile {
    pid: u32,
    setting: PidSetting,
    data: Vec<u8>,
    provider: Arc<dyn super::provider::ProcProvider>,
}

impl FileLike for PidNumberFile {
    fn read(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        Ok(copy_at(&self.data, offset, buf))
    }
    fn write(&self, data: &[u8], offset: u64) -> KResult<usize> {
        if offset != 0 {
            return Err(Errno::EINVAL);
        }
        let text = std::str::from_utf8(data.strip_suffix(b"\n").unwrap_or(data)).map_err(|_| Errno::EINVAL)?;
        match self.setting {
            PidSetting::Loginuid => {
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Errno::EINVAL);
                }
                let uid: u32 = text.parse().map_err(|_| Errno::ERANGE)?;
                self.provider.set_loginuid(self.pid, uid)?;
            }
            PidSetting::OomScoreAdj => {
                // kstrtoint: surrounding whitespace is trimmed, then an optional sign and digits.
                let adj: i32 = text.trim().parse().map_err(|_| Errno::EINVAL)?;
                if !(-1000..=1000).contains(&adj) {
                    return Err(Errno::EINVAL);
                }
                self.provider.set_oom_score_adj(self.pid, adj)?;
            }
        }
        Ok(data.len())
    }
    fn seekable(&self) -> bool {
        true
    }
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn copy_at(data: &[u8], off: u64, buf: &mut [u8]) -> usize {
    let Ok(off) = usize::try_from(off) else { return 0 };
    let Some(src) = data.get(off..) else { return 0 };
    let n = src.len().min(buf.len());
    buf[..n].copy_from_slice(&src[..n]);
    n
}

/// A generated file's snapshot, taken at open (Linux's `seq_file` with `single_open`):
/// seekable, read-only (`EINVAL` on write).
pub struct SeqFile {
    data: Vec<u8>,
}

impl SeqFile {
    /// A snapshot of `data`.
    pub fn new(data: Vec<u8>) -> Self {
        SeqFile { data }
    }
}

impl FileLike for SeqFile {
    fn read(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        Ok(copy_at(&self.data, offset, buf))
    }
    fn write(&self, _data: &[u8], _offset: u64) -> KResult<usize> {
        Err(Errno::EINVAL)
    }
    fn seekable(&self) -> bool {
        true
    }
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
