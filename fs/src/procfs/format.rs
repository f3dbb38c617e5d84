//! Linux's text formats for the proc files (`fs/proc/meminfo.c`, `uptime.c`, `loadavg.c`,
//! `stat.c`, `version.c`, `cmdline.c`, `arch/x86/kernel/cpu/proc.c`, `fs/proc/array.c`), kept
//! exactly so that busybox `free`, `uptime`, `top`, `ps` and `df` parse them.

use std::fmt::Write;

use super::provider::{CpuInfo, CpuTimes, KernelStat, LoadAvg, MemInfo, ProcessInfo, Uname, Uptime};

/// One `meminfo` line: the label with its colon padded to 16 columns, the value right-aligned
/// in 8, then ` kB` (`show_val_kb`).
fn kb_line(out: &mut String, label: &str, kb: u64) {
    let _ = writeln!(out, "{:<16}{:>8} kB", format!("{label}:"), kb);
}

/// `/proc/meminfo`.
pub fn meminfo(m: &MemInfo) -> String {
    let mut s = String::new();
    let rows: [(&str, u64); 24] = [
        ("MemTotal", m.total_kb),
        ("MemFree", m.free_kb),
        ("MemAvailable", m.available_kb),
        ("Buffers", m.buffers_kb),
        ("Cached", m.cached_kb),
        ("SwapCached", 0),
        ("Active", m.anon_kb.saturating_add(m.cached_kb) / 2),
        ("Inactive", m.anon_kb.saturating_add(m.cached_kb) / 2),
        ("Active(anon)", m.anon_kb / 2),
        ("Inactive(anon)", m.anon_kb / 2),
        ("Active(file)", m.cached_kb / 2),
        ("Inactive(file)", m.cached_kb / 2),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", m.swap_total_kb),
        ("SwapFree", m.swap_free_kb),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", m.anon_kb),
        ("Mapped", m.mapped_kb),
        ("Shmem", m.shmem_kb),
        ("Slab", 0),
        ("SReclaimable", 0),
        ("SUnreclaim", 0),
    ];
    for (label, v) in rows {
        kb_line(&mut s, label, v);
    }
    kb_line(&mut s, "CommitLimit", m.total_kb / 2 + m.swap_total_kb);
    kb_line(&mut s, "Committed_AS", m.total_kb.saturating_sub(m.free_kb));
    kb_line(&mut s, "VmallocTotal", 34_359_738_367);
    kb_line(&mut s, "VmallocUsed", 0);
    kb_line(&mut s, "VmallocChunk", 0);
    s
}

fn centis(v: u64) -> String {
    format!("{}.{:02}", v / 100, v % 100)
}

/// `/proc/uptime`: `up.cc idle.cc`.
pub fn uptime(u: &Uptime) -> String {
    format!("{} {}\n", centis(u.up_centis), centis(u.idle_centis))
}

/// `/proc/loadavg`: `l1 l5 l15 running/total last_pid`.
pub fn loadavg(l: &LoadAvg) -> String {
    let [a, b, c] = l.load_centis;
    format!("{} {} {} {}/{} {}\n", centis(a), centis(b), centis(c), l.running, l.total, l.last_pid)
}

/// `/proc/version`.
pub fn version(u: &Uname) -> String {
    format!("{} version {} (umbra@{}) (rustc) {}\n", u.sysname, u.release, u.nodename, u.version)
}

/// `/proc/cmdline`.
pub fn cmdline(c: &str) -> String {
    format!("{c}\n")
}

/// `/proc/cpuinfo`: one block per CPU, as x86's `show_cpuinfo`.
pub fn cpuinfo(c: &CpuInfo) -> String {
    let mut s = String::new();
    let (family, model, stepping) = c.family_model_stepping;
    for i in 0..c.count.max(1) {
        let _ = write!(
            s,
            "processor\t: {i}\nvendor_id\t: {}\ncpu family\t: {family}\nmodel\t\t: {model}\nmodel name\t: {}\n\
             stepping\t: {stepping}\ncpu MHz\t\t: {:.3}\ncache size\t: {} KB\nphysical id\t: 0\nsiblings\t: {}\n\
             core id\t\t: {i}\ncpu cores\t: {}\napicid\t\t: {i}\ninitial apicid\t: {i}\nfpu\t\t: yes\n\
             fpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\nflags\t\t: {}\nbogomips\t: {:.2}\n\
             clflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 39 bits physical, 48 bits virtual\n\
             power management:\n\n",
            c.vendor, c.model_name, c.mhz, c.cache_kb, c.count, c.count, c.flags, c.mhz * 2.0
        );
    }
    s
}

fn cpu_line(s: &mut String, label: &str, t: &CpuTimes) {
    let _ = writeln!(s, "{label} {} {} {} {} {} {} {} 0 0 0", t.user, t.nice, t.system, t.idle, t.iowait, t.irq, t.softirq);
}

/// `/proc/stat`: the summed `cpu` line (two spaces after `cpu`), one line per CPU, and the
/// counters `ps`/`top` read.
pub fn stat(k: &KernelStat) -> String {
    let mut total = CpuTimes::default();
    for c in &k.cpus {
        total.user = total.user.saturating_add(c.user);
        total.nice = total.nice.saturating_add(c.nice);
        total.system = total.system.saturating_add(c.system);
        total.idle = total.idle.saturating_add(c.idle);
        total.iowait = total.iowait.saturating_add(c.iowait);
        total.irq = total.irq.saturating_add(c.irq);
        total.softirq = total.softirq.saturating_add(c.softirq);
    }
    let mut s = String::new();
    cpu_line(&mut s, "cpu ", &total);
    for (i, c) in k.cpus.iter().enumerate() {
        cpu_line(&mut s, &format!("cpu{i}"), c);
    }
    let _ = write!(
        s,
        "intr 0\nctxt {}\nbtime {}\nprocesses {}\nprocs_running {}\nprocs_blocked {}\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
        k.ctxt, k.btime, k.processes, k.running, k.blocked
    );
    s
}

/// `/proc/<pid>/stat`: the 52 fields of `do_task_stat`.
pub fn pid_stat(p: &ProcessInfo) -> String {
    let l = &p.layout;
    let sig = |i: usize| p.signals[i] & 0x7fff_ffff;
    format!(
        "{} ({}) {} {} {} {} {} {} 4194560 {} 0 {} 0 {} {} {} {} {} {} {} 0 {} {} {} 18446744073709551615 \
         {} {} {} 0 0 {} {} {} {} 0 0 0 {} 0 0 0 0 0 0 {} {} {} {} {} {} {} {}\n",
        p.pid, p.comm, p.state, p.ppid, p.pgrp, p.session, p.tty_nr, p.tpgid,
        p.faults.0, p.faults.1, p.utime, p.stime, p.child_times.0, p.child_times.1,
        p.priority, p.nice, p.threads, p.start_time, p.vsize, p.rss_pages,
        l[0], l[1], l[2], sig(0), sig(2), sig(3), sig(4), p.exit_signal,
        l[3], l[4], l[5], l[6], l[7], l[8], l[9], p.exit_code
    )
}

fn state_name(c: char) -> &'static str {
    match c {
        'R' => "R (running)",
        'S' => "S (sleeping)",
        'D' => "D (disk sleep)",
        'T' => "T (stopped)",
        't' => "t (tracing stop)",
        'Z' => "Z (zombie)",
        _ => "X (dead)",
    }
}

/// `/proc/<pid>/status` (`proc_pid_status`).
pub fn pid_status(p: &ProcessInfo) -> String {
    let mut s = String::new();
    let [u0, u1, u2, u3] = p.uids;
    let [g0, g1, g2, g3] = p.gids;
    let groups: String = p.groups.iter().map(|g| format!("{g} ")).collect();
    let _ = write!(
        s,
        "Name:\t{}\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t{}\n\
         Uid:\t{u0}\t{u1}\t{u2}\t{u3}\nGid:\t{g0}\t{g1}\t{g2}\t{g3}\nFDSize:\t{}\nGroups:\t{}\n",
        p.comm, p.umask, state_name(p.state), p.pid, p.pid, p.ppid, p.tracer_pid, p.fd_size, groups
    );
    if p.state != 'Z' {
        let rss_kb = p.rss_pages.saturating_mul(4);
        for (label, v) in [
            ("VmPeak", p.vm_peak_kb.max(p.vsize / 1024)),
            ("VmSize", p.vsize / 1024),
            ("VmLck", 0),
            ("VmPin", 0),
            ("VmHWM", p.vm_hwm_kb.max(rss_kb)),
            ("VmRSS", rss_kb),
            ("VmData", p.vm_data_kb),
            ("VmStk", p.vm_stack_kb),
            ("VmExe", p.vm_exe_kb),
            ("VmLib", p.vm_lib_kb),
            ("VmPTE", 0),
            ("VmSwap", 0),
        ] {
            let _ = writeln!(s, "{label}:\t{v:>8} kB");
        }
    }
    let [pnd, shd, blk, ign, cgt] = p.signals;
    let _ = write!(
        s,
        "Threads:\t{}\nSigQ:\t0/0\nSigPnd:\t{pnd:016x}\nShdPnd:\t{shd:016x}\nSigBlk:\t{blk:016x}\nSigIgn:\t{ign:016x}\n\
         SigCgt:\t{cgt:016x}\nCapInh:\t{inh:016x}\nCapPrm:\t{prm:016x}\nCapEff:\t{eff:016x}\n\
         CapBnd:\t{bnd:016x}\nCapAmb:\t{amb:016x}\nNoNewPrivs:\t{}\nSeccomp:\t0\nSeccomp_filters:\t0\n\
         voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
        p.threads,
        u8::from(p.no_new_privs),
        inh = p.caps[0],
        prm = p.caps[1],
        eff = p.caps[2],
        bnd = p.caps[3],
        amb = p.caps[4],
    );
    s
}

/// `/proc/<pid>/statm`: size resident shared text lib data dt, in pages.
pub fn pid_statm(p: &ProcessInfo) -> String {
    format!("{} {} 0 {} 0 {} 0\n", p.vsize / 4096, p.rss_pages, p.vm_exe_kb / 4, p.vm_data_kb.saturating_add(p.vm_stack_kb) / 4)
}

/// `/proc/filesystems`: `nodev\tname` or `\tname` per registered type.
pub fn filesystems(types: &[(String, bool)]) -> String {
    let mut s = String::new();
    for (name, nodev) in types {
        let _ = writeln!(s, "{}\t{name}", if *nodev { "nodev" } else { "" });
    }
    s
}

/// `/proc/partitions` (Linux's `show_partition`): a header, a blank line, then one line per
/// disk with its numbers and size in 1 KiB blocks.
pub fn partitions(disks: &[crate::devfs::BlockDisk]) -> String {
    let mut s = String::from("major minor  #blocks  name\n\n");
    for d in disks {
        let _ = writeln!(s, "{:4}  {:7} {:10} {}", d.major, d.minor, d.dev.size() >> 10, d.name);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_as_linux_prints_them() {
        let dev = std::sync::Arc::new(crate::block::MemBlockDevice::new(16 << 20));
        let d = crate::devfs::BlockDisk::new("ubdb", 98, 16, dev);
        assert_eq!(partitions(&[d]), "major minor  #blocks  name\n\n  98       16      16384 ubdb\n");
    }

    #[test]
    fn meminfo_lines() {
        let m = MemInfo { total_kb: 262144, free_kb: 200000, available_kb: 210000, ..MemInfo::default() };
        let s = meminfo(&m);
        let mut lines = s.lines();
        assert_eq!(lines.next(), Some("MemTotal:         262144 kB"));
        assert_eq!(lines.next(), Some("MemFree:          200000 kB"));
        assert_eq!(lines.next(), Some("MemAvailable:     210000 kB"));
        assert!(s.contains("\nSwapTotal:             0 kB\n"));
        assert!(s.contains("\nShmem:                 0 kB\n"));
    }

    #[test]
    fn small_files() {
        assert_eq!(uptime(&Uptime { up_centis: 12345, idle_centis: 5 }), "123.45 0.05\n");
        let l = LoadAvg { load_centis: [1, 250, 1000], running: 2, total: 17, last_pid: 42 };
        assert_eq!(loadavg(&l), "0.01 2.50 10.00 2/17 42\n");
        assert!(version(&Uname::default()).starts_with("Linux version 6.1.0-umbra (umbra@umbra)"));
        assert_eq!(filesystems(&[("ext2".into(), false), ("proc".into(), true)]), "\text2\nnodev\tproc\n");
    }

    #[test]
    fn stat_and_cpuinfo() {
        let k = KernelStat { cpus: vec![CpuTimes { user: 5, idle: 100, ..CpuTimes::default() }], btime: 1700000000, processes: 3, running: 1, ..KernelStat::default() };
        let s = stat(&k);
        assert!(s.starts_with("cpu  5 0 0 100 0 0 0 0 0 0\ncpu0 5 0 0 100 0 0 0 0 0 0\n"));
        assert!(s.contains("\nbtime 1700000000\n"));
        let c = cpuinfo(&CpuInfo { count: 2, ..CpuInfo::default() });
        assert_eq!(c.matches("processor\t: ").count(), 2);
        assert!(c.contains("model name\t: Umbra virtual CPU\n"));
    }

    #[test]
    fn pid_files() {
        let p = ProcessInfo { pid: 7, comm: "sh".into(), state: 'S', ppid: 1, pgrp: 7, session: 7, tpgid: -1, threads: 1, vsize: 8192, rss_pages: 1, ..ProcessInfo::default() };
        let s = pid_stat(&p);
        assert!(s.starts_with("7 (sh) S 1 7 7 0 -1 "));
        assert_eq!(s.split_whitespace().count(), 52);
        let st = pid_status(&p);
        assert!(st.starts_with("Name:\tsh\nUmask:\t0000\nState:\tS (sleeping)\nTgid:\t7\n"));
        assert!(st.contains("\nVmRSS:\t       4 kB\n"));
        assert_eq!(pid_statm(&p), "2 1 0 0 0 0 0\n");
    }
}
