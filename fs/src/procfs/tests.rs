//! procfs through the VFS with a test provider.

use std::sync::Arc;

use uapi::{Errno, KResult};

use super::*;
use crate::abi::{MsFlags, OpenFlags};
use crate::context::FsContext;
use crate::cred::Credentials;
use crate::tmpfs::TmpFs;
use crate::vfs::Vfs;

struct Kernel;

impl ProcProvider for Kernel {
    fn current_pid(&self) -> u32 {
        42
    }
    fn pids(&self) -> Vec<u32> {
        vec![1, 42]
    }
    fn process(&self, pid: u32) -> Option<ProcessInfo> {
        [1, 42].contains(&pid).then(|| ProcessInfo {
            pid,
            comm: if pid == 1 { "init".into() } else { "sh".into() },
            state: 'S',
            ppid: if pid == 1 { 0 } else { 1 },
            uids: [1000; 4],
            gids: [1000; 4],
            threads: 1,
            ..ProcessInfo::default()
        })
    }
    fn pid_bytes(&self, _pid: u32, what: PidBytes) -> KResult<Vec<u8>> {
        Ok(match what {
            PidBytes::Cmdline => b"sh\0-c\0true\0".to_vec(),
            _ => Vec::new(),
        })
    }
    fn pid_link(&self, _pid: u32, what: PidLink) -> KResult<Vec<u8>> {
        Ok(match what {
            PidLink::Exe => b"/bin/sh".to_vec(),
            _ => b"/".to_vec(),
        })
    }
    fn pid_fds(&self, _pid: u32) -> KResult<Vec<u32>> {
        Ok(vec![0, 1, 2])
    }
    fn pid_fd_link(&self, _pid: u32, fd: u32) -> KResult<Vec<u8>> {
        if fd <= 2 {
            Ok(b"/dev/null".to_vec())
        } else {
            Err(Errno::ENOENT)
        }
    }
    fn meminfo(&self) -> MemInfo {
        MemInfo { total_kb: 1024, free_kb: 512, available_kb: 600, ..MemInfo::default() }
    }
    fn sysvipc(&self, name: &str) -> String {
        format!("{name} table\n")
    }
}

fn setup() -> (Arc<Vfs>, FsContext, Credentials) {
    let vfs = Vfs::new(TmpFs::new(None));
    vfs.set_proc_provider(Arc::new(Kernel));
    let fsc = FsContext::new(vfs.root());
    let cred = Credentials::root();
    let c = fsc.ctx(&cred);
    for d in [&b"/proc"[..], b"/dev", b"/bin"] {
        vfs.mkdir(&c, &fsc.cwd, d, 0o755).unwrap();
    }
    vfs.open(&c, &fsc.cwd, b"/bin/sh", OpenFlags::CREAT, 0o755).unwrap();
    vfs.mount(&c, &fsc.cwd, b"proc", b"/proc", b"proc", MsFlags::empty(), b"").unwrap();
    vfs.mount(&c, &fsc.cwd, b"devtmpfs", b"/dev", b"devtmpfs", MsFlags::empty(), b"").unwrap();
    (vfs, fsc, cred)
}

fn read_all(vfs: &Vfs, fsc: &FsContext, cred: &Credentials, p: &str) -> KResult<String> {
    let f = vfs.open(&fsc.ctx(cred), &fsc.cwd, p.as_bytes(), OpenFlags::empty(), 0)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(String::from_utf8_lossy(&out).into_owned());
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn system_files() {
    let (vfs, fsc, cred) = setup();
    let mem = read_all(&vfs, &fsc, &cred, "/proc/meminfo").unwrap();
    assert!(mem.starts_with("MemTotal:           1024 kB\nMemFree:             512 kB\n"));
    let mounts = read_all(&vfs, &fsc, &cred, "/proc/mounts").unwrap();
    assert!(mounts.contains("proc /proc proc rw,relatime 0 0\n"), "{mounts}");
    assert!(mounts.contains("devtmpfs /dev devtmpfs rw,relatime 0 0\n"));
    let info = read_all(&vfs, &fsc, &cred, "/proc/self/mountinfo").unwrap();
    let proc_line = info.lines().find(|l| l.contains(" /proc ")).unwrap_or_default().to_string();
    let f: Vec<&str> = proc_line.split(' ').collect();
    assert_eq!(f.len(), 10, "{info}");
    assert_eq!((f[3], f[4], f[5], f[6], f[7], f[8], f[9]), ("/", "/proc", "rw,relatime", "-", "proc", "proc", "rw"), "{info}");
    assert!(info.lines().any(|l| l.starts_with(&format!("{} ", f[1]))), "the parent of /proc is listed: {info}");
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/sys/kernel/ostype").unwrap(), "Linux\n");
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/sys/fs/inotify/max_queued_events").unwrap(), "16384\n");
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/sys/kernel/nothing").err(), Some(Errno::ENOENT));
    let st = vfs.stat(&fsc.ctx(&cred), &fsc.cwd, b"/proc/sys/kernel/random", true).unwrap();
    assert_eq!(st.mode, 0o40555);
    let fss = read_all(&vfs, &fsc, &cred, "/proc/filesystems").unwrap();
    assert!(fss.contains("nodev\ttmpfs\n") && fss.contains("nodev\tproc\n"));
    assert!(read_all(&vfs, &fsc, &cred, "/proc/version").unwrap().starts_with("Linux version "));
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/uptime").unwrap(), "0.00 0.00\n");
    assert!(read_all(&vfs, &fsc, &cred, "/proc/stat").unwrap().starts_with("cpu  "));
    assert!(read_all(&vfs, &fsc, &cred, "/proc/cpuinfo").unwrap().starts_with("processor\t: 0\n"));
    let st = vfs.stat(&fsc.ctx(&cred), &fsc.cwd, b"/proc/meminfo", true).unwrap();
    assert_eq!((st.mode, st.size), (0o100444, 0));
    let f = vfs.open(&fsc.ctx(&cred), &fsc.cwd, b"/proc/uptime", OpenFlags::RDWR, 0).unwrap();
    assert_eq!(f.write(b"x").err(), Some(Errno::EINVAL));
    assert_eq!(f.lseek(0, crate::abi::SEEK_END).unwrap(), 10);
}

#[test]
fn self_and_pid_dirs() {
    let (vfs, fsc, cred) = setup();
    let c = fsc.ctx(&cred);
    assert_eq!(vfs.readlink(&c, &fsc.cwd, b"/proc/self").unwrap(), b"42");
    let stat = read_all(&vfs, &fsc, &cred, "/proc/self/stat").unwrap();
    assert!(stat.starts_with("42 (sh) S 1 "), "{stat}");
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/1/comm").unwrap(), "init\n");
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/42/cmdline").unwrap(), "sh\0-c\0true\0");
    assert!(read_all(&vfs, &fsc, &cred, "/proc/42/status").unwrap().contains("Uid:\t1000\t1000\t1000\t1000\n"));
    assert_eq!(vfs.readlink(&c, &fsc.cwd, b"/proc/self/exe").unwrap(), b"/bin/sh");
    // Following /proc/self/exe reaches the executable.
    assert!(vfs.stat(&c, &fsc.cwd, b"/proc/self/exe", true).unwrap().mode & 0o111 != 0);
    assert_eq!(vfs.readlink(&c, &fsc.cwd, b"/proc/self/fd/1").unwrap(), b"/dev/null");
    assert_eq!(vfs.stat(&c, &fsc.cwd, b"/proc/self/fd/7", true).err(), Some(Errno::ENOENT));
    assert_eq!(vfs.stat(&c, &fsc.cwd, b"/proc/9", true).err(), Some(Errno::ENOENT));
    assert_eq!(vfs.stat(&c, &fsc.cwd, b"/proc/042", true).err(), Some(Errno::ENOENT));
    let st = vfs.stat(&c, &fsc.cwd, b"/proc/42", true).unwrap();
    assert_eq!((st.uid, st.mode), (1000, 0o040555));
}

#[test]
fn readdir_lists_pids_and_fds() {
    let (vfs, fsc, cred) = setup();
    let list = |p: &str| {
        let f = vfs.open(&fsc.ctx(&cred), &fsc.cwd, p.as_bytes(), OpenFlags::DIRECTORY, 0).unwrap();
        let mut names = Vec::new();
        f.readdir(&mut |e| {
            names.push(String::from_utf8_lossy(e.name).into_owned());
            true
        })
        .unwrap();
        names
    };
    let root = list("/proc");
    for n in ["meminfo", "self", "1", "42", "mounts"] {
        assert!(root.contains(&n.to_string()), "{root:?}");
    }
    assert_eq!(list("/proc/42/fd"), vec![".", "..", "0", "1", "2"]);
    assert!(list("/proc/1").contains(&"status".to_string()));
    // getdents64 in small chunks resumes correctly.
    let f = vfs.open(&fsc.ctx(&cred), &fsc.cwd, b"/proc", OpenFlags::DIRECTORY, 0).unwrap();
    let mut total = 0;
    let mut buf = [0u8; 48];
    loop {
        let n = f.getdents64(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        let mut off = 0;
        while off < n {
            total += 1;
            off += u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
        }
    }
    assert_eq!(total, root.len());
}

#[test]
fn net_is_a_link_to_self_net_with_unix() {
    let (vfs, fsc, cred) = setup();
    let c = fsc.ctx(&cred);
    assert_eq!(vfs.readlink(&c, &fsc.cwd, b"/proc/net").unwrap(), b"self/net");
    let text = read_all(&vfs, &fsc, &cred, "/proc/net/unix").unwrap();
    assert_eq!(text, "Num       RefCount Protocol Flags    Type St Inode Path\n", "the default provider lists no socket");
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/1/net/unix").unwrap(), text);
    let st = vfs.stat(&c, &fsc.cwd, b"/proc/42/net", true).unwrap();
    assert_eq!(st.mode, 0o040555);
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/42/net/tcp").unwrap(), "", "the default provider has no internet files");
    assert_eq!(vfs.stat(&c, &fsc.cwd, b"/proc/42/net/nonesuch", true).err(), Some(Errno::ENOENT));
}

#[test]
fn sysvipc_files_come_from_the_provider() {
    let (vfs, fsc, cred) = setup();
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/sysvipc/shm").unwrap(), "shm table\n");
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/sysvipc/msg").unwrap(), "msg table\n");
    assert_eq!(read_all(&vfs, &fsc, &cred, "/proc/sysvipc/nope").err(), Some(Errno::ENOENT));
    let f = vfs.open(&fsc.ctx(&cred), &fsc.cwd, b"/proc/sysvipc", OpenFlags::DIRECTORY, 0).unwrap();
    let mut names = Vec::new();
    f.readdir(&mut |e| {
        names.push(String::from_utf8_lossy(e.name).into_owned());
        true
    })
    .unwrap();
    assert_eq!(names, vec![".", "..", "msg", "sem", "shm"]);
    let st = vfs.stat(&fsc.ctx(&cred), &fsc.cwd, b"/proc/sysvipc/sem", true).unwrap();
    assert_eq!(st.mode, 0o100444);
}
