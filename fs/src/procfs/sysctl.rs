//! `/proc/sys` (Linux's `kernel/sysctl.c` tables): the kernel's tunables and facts as one file
//! each, `sysctl -a` walks them. Every entry is declared once in [`ENTRIES`] with its mode and
//! where its value comes from: a fixed text, or the kernel (through
//! [`crate::procfs::ProcProvider::sysctl`]) for the ones that change or are set by root
//! (`kernel/hostname`, `kernel/random/boot_id`, the tunables). Writes go to the kernel, which
//! accepts what Linux lets root write; the file's mode decides who may open it for writing.

use std::any::Any;
use std::sync::Arc;

use uapi::{Errno, KResult};

use crate::file_like::FileLike;
use crate::procfs::ProcProvider;

/// Where an entry's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A fixed value (without the newline).
    Fixed(&'static str),
    /// Asked from the kernel each time the file is opened.
    Kernel,
}

/// One `/proc/sys` file: its path below `/proc/sys`, its permission bits, its value's source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `kernel/hostname`.
    pub path: &'static str,
    /// Permission bits (0644 for root-writable tunables, 0444 for facts).
    pub mode: u32,
    /// Where the value comes from.
    pub source: Source,
}

const fn fixed(path: &'static str, value: &'static str) -> Entry {
    Entry { path, mode: 0o444, source: Source::Fixed(value) }
}

const fn kernel_ro(path: &'static str) -> Entry {
    Entry { path, mode: 0o444, source: Source::Kernel }
}

const fn tunable(path: &'static str) -> Entry {
    Entry { path, mode: 0o644, source: Source::Kernel }
}

/// Every `/proc/sys` file umbra has, sorted by path (what programs read: glibc, libcap-ng,
/// systemd, procps's `sysctl`, Python's `uuid`, inotify users).
pub const ENTRIES: &[Entry] = &[
    tunable("fs/file-max"),
    fixed("fs/file-nr", "0\t0\t9223372036854775807"),
    tunable("fs/inotify/max_queued_events"),
    tunable("fs/inotify/max_user_instances"),
    tunable("fs/inotify/max_user_watches"),
    tunable("fs/nr_open"),
    tunable("fs/pipe-max-size"),
    tunable("fs/protected_hardlinks"),
    tunable("fs/protected_symlinks"),
    fixed("kernel/cap_last_cap", "40"),
    tunable("kernel/domainname"),
    tunable("kernel/hostname"),
    tunable("kernel/ngroups_max"),
    fixed("kernel/osrelease", "6.1.0-umbra"),
    fixed("kernel/ostype", "Linux"),
    tunable("kernel/overflowgid"),
    tunable("kernel/overflowuid"),
    tunable("kernel/pid_max"),
    tunable("kernel/printk"),
    kernel_ro("kernel/random/boot_id"),
    fixed("kernel/random/entropy_avail", "256"),
    fixed("kernel/random/poolsize", "256"),
    kernel_ro("kernel/random/uuid"),
    tunable("kernel/threads-max"),
    fixed("kernel/version", "#1 SMP PREEMPT_DYNAMIC umbra"),
    tunable("net/core/somaxconn"),
    tunable("net/ipv4/ip_local_port_range"),
    tunable("net/ipv4/ping_group_range"),
    tunable("vm/max_map_count"),
    tunable("vm/overcommit_memory"),
    tunable("vm/overcommit_ratio"),
    tunable("vm/swappiness"),
];

/// The entry at `path`.
pub fn entry(path: &str) -> Option<(usize, &'static Entry)> {
    ENTRIES.iter().enumerate().find(|(_, e)| e.path == path)
}

/// Whether `path` is a directory of the tree (`""` is `/proc/sys` itself).
pub fn is_dir(path: &str) -> bool {
    path.is_empty() || ENTRIES.iter().any(|e| e.path.strip_prefix(path).is_some_and(|rest| rest.starts_with('/')))
}

/// The names directly inside directory `dir`, sorted, each with whether it is a directory.
pub fn children(dir: &str) -> Vec<(&'static str, bool)> {
    let mut out: Vec<(&'static str, bool)> = Vec::new();
    for e in ENTRIES {
        let rest = if dir.is_empty() { Some(e.path) } else { e.path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) };
        let Some(rest) = rest else { continue };
        let (name, is_dir) = match rest.find('/') {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        if out.last().map(|(n, _)| *n) != Some(name) {
            out.push((name, is_dir));
        }
    }
    out
}

/// The path of `name` inside `dir`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// An entry's current text, newline-terminated.
pub fn value(e: &Entry, provider: &dyn ProcProvider) -> KResult<Vec<u8>> {
    let v = match e.source {
        Source::Fixed(s) => s.to_string(),
        Source::Kernel => provider.sysctl(e.path).ok_or(Errno::EIO)?,
    };
    Ok(format!("{v}\n").into_bytes())
}

/// An open `/proc/sys` file: reads from the snapshot taken at open; a write hands the new value
/// to the kernel (`EINVAL` if it refuses it, as Linux's `proc_dointvec` does for garbage).
pub struct SysctlFile {
    entry: &'static Entry,
    data: Vec<u8>,
    provider: Arc<dyn ProcProvider>,
}

impl SysctlFile {
    /// Opens `entry` with its current value.
    pub fn new(entry: &'static Entry, provider: Arc<dyn ProcProvider>) -> KResult<SysctlFile> {
        let data = value(entry, provider.as_ref())?;
        Ok(SysctlFile { entry, data, provider })
    }
}

impl FileLike for SysctlFile {
    fn read(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        let Some(src) = usize::try_from(offset).ok().and_then(|o| self.data.get(o..)) else { return Ok(0) };
        let n = src.len().min(buf.len());
        buf.get_mut(..n).ok_or(Errno::EINVAL)?.copy_from_slice(&src[..n]);
        Ok(n)
    }

    fn write(&self, data: &[u8], offset: u64) -> KResult<usize> {
        if self.entry.mode & 0o200 == 0 || self.entry.source != Source::Kernel {
            return Err(Errno::EINVAL);
        }
        if offset != 0 {
            return Err(Errno::EINVAL);
        }
        let text = data.strip_suffix(b"\n").unwrap_or(data);
        self.provider.set_sysctl(self.entry.path, text)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_sorted_and_walkable() {
        assert!(ENTRIES.windows(2).all(|w| w[0].path < w[1].path), "ENTRIES must stay sorted");
        assert_eq!(children(""), vec![("fs", true), ("kernel", true), ("net", true), ("vm", true)]);
        assert!(children("kernel").contains(&("random", true)));
        assert!(children("kernel").contains(&("hostname", false)));
        assert!(is_dir("kernel/random") && !is_dir("kernel/hostname") && !is_dir("kern"));
        assert_eq!(entry("kernel/ostype").map(|(_, e)| e.source), Some(Source::Fixed("Linux")));
        assert_eq!(join("fs", "inotify"), "fs/inotify");
    }
}
