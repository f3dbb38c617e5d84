//! Host self-checks (REFERENCES B.13): what umbra needs from the host, checked at start-up.
//! Each check prints nothing when it passes and one actionable line when it fails, as UML's
//! "Checking ... OK" would if it only spoke up on failure.

/// A failed check: what is wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// Fatal: umbra cannot run at all (versus a warning about limits).
    pub fatal: bool,
    /// The one-line explanation with the fix.
    pub message: String,
}

fn read_sysctl(path: &str) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `kernel.yama.ptrace_scope` 3 forbids ptrace for everyone; 2 needs `CAP_SYS_PTRACE`.
fn check_ptrace_scope() -> Option<CheckFailure> {
    match read_sysctl("/proc/sys/kernel/yama/ptrace_scope") {
        Some(3) => Some(CheckFailure {
            fatal: true,
            message: "ptrace is disabled on this host (kernel.yama.ptrace_scope = 3); it can only be lowered by rebooting".into(),
        }),
        Some(2) => Some(CheckFailure {
            fatal: false,
            message: "kernel.yama.ptrace_scope = 2 allows ptrace only with CAP_SYS_PTRACE: run `sysctl kernel.yama.ptrace_scope=1` if stubs fail to start".into(),
        }),
        _ => None,
    }
}

/// `vm.memfd_noexec` 2 forbids executing memfds, which is how stubs start.
fn check_memfd_exec() -> Option<CheckFailure> {
    (read_sysctl("/proc/sys/vm/memfd_noexec") == Some(2)).then(|| CheckFailure {
        fatal: true,
        message: "memfds cannot be executed on this host (vm.memfd_noexec = 2): run `sysctl vm.memfd_noexec=0`".into(),
    })
}

/// Seccomp must run after the ptrace SYSEMU check (Linux 4.8, commit 93e35efb8de45).
fn check_kernel_version() -> Option<CheckFailure> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let mut parts = release.trim().split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next()?, parts.next()?);
    ((major, minor) < (4, 8)).then(|| CheckFailure {
        fatal: true,
        message: format!("host Linux {major}.{minor} is too old: umbra needs 4.8 or later (seccomp after ptrace)"),
    })
}

/// Guest memory becomes host mappings in each stub; they merge, but a tiny
/// `vm.max_map_count` can still be reached by a fragmented guest.
fn check_map_count(mem_bytes: u64) -> Option<CheckFailure> {
    let max = read_sysctl("/proc/sys/vm/max_map_count")?;
    let pages = (mem_bytes / 4096) as i64;
    (max < 4096 && pages > max).then(|| CheckFailure {
        fatal: false,
        message: format!("vm.max_map_count is only {max}: guests with fragmented memory may be killed; run `sysctl vm.max_map_count=65530`"),
    })
}

/// Runs every check for a guest with `mem_bytes` of RAM; returns the failures.
pub fn run(mem_bytes: u64) -> Vec<CheckFailure> {
    [check_ptrace_scope(), check_memfd_exec(), check_kernel_version(), check_map_count(mem_bytes)].into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_host_passes() {
        let fatal: Vec<_> = super::run(256 << 20).into_iter().filter(|f| f.fatal).collect();
        assert!(fatal.is_empty(), "{fatal:?}");
    }
}
