//! The syscall status table (`docs/syscalls.md`): every x86-64 syscall Linux numbers
//! (`uapi::syscalls::ALL`) marked implemented, partial (with what is missing) or absent —
//! generated from the dispatch table, so it cannot go stale: the test below regenerates it and
//! compares (`UPDATE_SYSCALL_TABLE=1 cargo test -p kernel --lib syscall_table` rewrites it).

/// Implemented syscalls with known gaps, and what is missing.
pub const PARTIAL: &[(&str, &str)] = &[
    ("clone", "namespace flags (`CLONE_NEW*`) are `EINVAL`"),
    ("clone3", "namespace flags (`CLONE_NEW*`) are `EINVAL`"),
    ("unshare", "namespaces (`CLONE_NEW*`) are `EINVAL`/`EPERM`"),
    ("mlockall", "`MCL_FUTURE` does not lock later mappings"),
    ("munmap", "does not release `mlock`ed ranges from the `RLIMIT_MEMLOCK` count"),
    ("personality", "only `PER_LINUX`"),
    ("prctl", "`PR_SET_SECCOMP`, `PR_SET_PTRACER`, `PR_SET_VMA`, speculation control are `EINVAL`; `PR_SET_MM` only checks permission; a subreaper's orphans still go to init"),
    ("kill", "a real-time signal past `RLIMIT_SIGPENDING` is still queued with its siginfo"),
    ("mount", "only the filesystem types of `/proc/filesystems`; `MS_MOVE` is `EINVAL`"),
    ("sched_setscheduler", "only `SCHED_OTHER`/`SCHED_BATCH`/`SCHED_IDLE`; real-time policies `EPERM`"),
    ("sched_setattr", "only the fair policies"),
    ("syslog", "as `dmesg_restrict=1`"),
];

/// The status of syscall `name` (number `n`): `"implemented"`, `"partial: ..."` or `"absent"`.
pub fn status_of(n: u64, name: &str) -> String {
    if !super::implemented(n) {
        return "absent (ENOSYS)".to_string();
    }
    match PARTIAL.iter().find(|(s, _)| *s == name) {
        Some((_, what)) => format!("partial: {what}"),
        None => "implemented".to_string(),
    }
}

/// The Markdown table of every x86-64 syscall and its status.
pub fn table() -> String {
    let all = uapi::syscalls::ALL;
    let done = all.iter().filter(|(n, _)| super::implemented(*n)).count();
    let mut s = String::from(
        "# x86-64 syscalls in umbra\n\n\
         Generated from the dispatch table in `kernel/src/syscall/mod.rs` and the notes in\n\
         `kernel/src/syscall/status.rs` by `UPDATE_SYSCALL_TABLE=1 cargo test -p kernel --lib syscall_table`\n\
         (the same test fails when this file is stale). `umbra --log warn` (the default) names each\n\
         absent syscall a guest calls, once.\n\n",
    );
    s.push_str(&format!("{done} of {} implemented.\n\n| nr | name | status |\n|---:|---|---|\n", all.len()));
    for (n, name) in all {
        s.push_str(&format!("| {n} | `{name}` | {} |\n", status_of(*n, name)));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn syscall_table_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/syscalls.md");
        let want = super::table();
        if std::env::var_os("UPDATE_SYSCALL_TABLE").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == want, "docs/syscalls.md is stale: run UPDATE_SYSCALL_TABLE=1 cargo test -p kernel --lib syscall_table");
    }

    #[test]
    fn partial_names_exist_and_are_implemented() {
        for (name, _) in super::PARTIAL {
            let n = uapi::syscalls::ALL.iter().find(|(_, s)| s == name).map(|(n, _)| *n);
            assert!(n.is_some_and(super::super::implemented), "{name} in PARTIAL is not an implemented syscall");
        }
    }
}
