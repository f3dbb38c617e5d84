//! End-to-end tests of `umbra run`: static C programs (built with gcc at test time) and a
//! static Rust program, run as pid 1 on a host-directory root; output and exit status are
//! compared with what Linux gives natively where the two must agree.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn hello_static_prints_and_exits_with_status() {
    let o = run_guest(&["/bin/hello"]);
    assert_eq!(stdout(&o), "hello from the guest\n");
    assert_eq!(o.status.code(), Some(3), "stderr: {}", stderr(&o));
    assert_eq!(stderr(&o), "", "umbra is quiet on a successful run");
}

#[test]
fn hello_static_pie() {
    let o = run_guest(&["/bin/hello-pie"]);
    assert_eq!(stdout(&o), "hello from the guest\n", "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn relative_program_is_found_on_path() {
    let o = run_guest(&["hello"]);
    assert_eq!(o.status.code(), Some(3), "stderr: {}", stderr(&o));
}

#[test]
fn initial_stack_argv_env_auxv() {
    let root = root().to_str().unwrap().to_string();
    let o = run_umbra(&["run", "--root", &root, "--env", "FOO=bar baz", "--", "/bin/args", "one", "two words"], Duration::from_secs(60));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    for want in [
        "argc=3\n",
        "argv[0]=/bin/args\n",
        "argv[1]=one\n",
        "argv[2]=two words\n",
        "PATH=/bin:/usr/bin:/sbin:/usr/sbin\n",
        "HOME=/root\n",
        "FOO=bar baz\n",
        "pagesz=4096\n",
        "clktck=100\n",
        "secure=0\n",
        "random=yes\n",
        "platform=x86_64\n",
        "execfn=/bin/args\n",
        "entry_ok=1\n",
        "phdr_ok=1\n",
        "pid=1 ppid=0 uid=0 gid=0\n",
        "cwd=/\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn memory_syscalls_match_linux() {
    let o = run_guest(&["/bin/memory"]);
    let native = run_native(&root().join("bin/memory"), &[]);
    assert_eq!(stdout(&o), stdout(&native), "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
    let root = root().to_str().unwrap().to_string();
    let o = run_umbra(&["run", "--root", &root, "--env", "CHECK_MIN_ADDR=1", "--", "/bin/memory"], Duration::from_secs(60));
    assert!(stdout(&o).contains("mmap fixed low errno=1\n"), "{}", stdout(&o));
}

#[test]
fn files_match_linux() {
    // Natively the program reads the same tree through a chroot-free path rewrite: compare
    // against expectations instead (the guest sees the test root as /).
    let o = run_guest(&["/bin/files"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    for want in [
        "read 24: hello world from a file\n",
        "size=24 reg=1\n",
        "pread=world\n",
        "lseek end=24\n",
        "enoent=1\n",
        "enotdir=1\n",
        "ebadf=1\n",
        "entry .\nentry ..\nentry link\nentry motd\nentry sub\n",
        "lstat link=1\n",
        "readlink=4 motd\n",
        "via link: hello world from a file\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

/// read/write/pread/pwrite whose buffer is a `MAP_SHARED` mapping of the same file, with
/// overlapping source and destination, on tmpfs (/tmp) and on the hostfs root (/root): the
/// file and the mapping must end as Linux leaves them (it copies forward, page cache to page
/// cache).
#[test]
fn io_through_own_shared_mapping_matches_linux() {
    let native_dir = scratch(&format!("shmio-native-{}", std::process::id()));
    let native = run_native(&root().join("bin/shmio"), &[native_dir.to_str().unwrap()]);
    assert!(stdout(&native).ends_with("done\n"), "native run: {}", stderr(&native));
    for dir in ["/tmp", "/root"] {
        let o = run_guest(&["/bin/shmio", dir]);
        assert_eq!(stdout(&o), stdout(&native), "in {dir}: guest (left) and Linux (right) differ; stderr: {}", stderr(&o));
        assert_eq!(o.status.code(), Some(0));
    }
}

fn expect_signal(how: &str, signo: i32, name: &str) {
    let o = run_guest(&["/bin/crash", how]);
    assert_eq!(o.status.code(), Some(128 + signo), "{how}: stdout {} stderr {}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains(&format!("killed by {name}")), "{how}: stderr: {}", stderr(&o));
}

#[test]
fn null_dereference_is_sigsegv() {
    expect_signal("null", 11, "SIGSEGV");
}

#[test]
fn illegal_instruction_is_sigill() {
    expect_signal("ud2", 4, "SIGILL");
}

#[test]
fn abort_is_sigabrt() {
    expect_signal("abort", 6, "SIGABRT");
}

#[test]
fn stack_overflow_is_sigsegv() {
    expect_signal("stack", 11, "SIGSEGV");
}

#[test]
fn divide_by_zero_is_sigfpe() {
    expect_signal("div0", 8, "SIGFPE");
}

#[test]
fn exit_status_passes_through() {
    let o = run_guest(&["/bin/crash", "exit42"]);
    assert_eq!(o.status.code(), Some(42));
}

#[test]
fn segv_handler_gets_siginfo() {
    let o = run_guest(&["/bin/crash", "segvhandler"]);
    assert_eq!(stdout(&o), "caught 11 code=1 addr=0x1234\n", "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(7));
}

#[test]
fn int80_gets_enosys() {
    let o = run_guest(&["/bin/crash", "int80"]);
    assert_eq!(stdout(&o), "int80 getpid=-38\n", "stderr: {}", stderr(&o));
}

#[test]
fn garbage_syscalls_do_not_crash_umbra() {
    let o = run_guest(&["/bin/crash", "garbage"]);
    assert_eq!(stdout(&o), "survived garbage\n", "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn signal_handlers_and_sigreturn() {
    let o = run_guest(&["/bin/signals"]);
    let native = run_native(&root().join("bin/signals"), &[]);
    assert_eq!(stdout(&o), stdout(&native), "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn clocks_and_sleep() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    let o = run_guest(&["/bin/time", &now]);
    assert_eq!(
        stdout(&o),
        "realtime_close=1\nslept_ok=1\ntod_close=1\ntime_close=1\nbad_clock=-1\n",
        "stderr: {}",
        stderr(&o)
    );
}

#[test]
fn not_elf_is_126() {
    let o = run_guest(&["/bin/notelf"]);
    assert_eq!(o.status.code(), Some(126), "stderr: {}", stderr(&o));
    assert!(stderr(&o).contains("notelf"), "one clear line: {}", stderr(&o));
}

#[test]
fn truncated_elf_is_126() {
    let o = run_guest(&["/bin/truncated"]);
    assert_eq!(o.status.code(), Some(126), "stderr: {}", stderr(&o));
}

#[test]
fn wrong_architecture_is_126() {
    let o = run_guest(&["/bin/wrongarch"]);
    assert_eq!(o.status.code(), Some(126), "stderr: {}", stderr(&o));
    assert!(stderr(&o).contains("architecture"), "stderr: {}", stderr(&o));
}

#[test]
fn missing_program_is_127() {
    let o = run_guest(&["/bin/nope"]);
    assert_eq!(o.status.code(), Some(127));
    let o = run_guest(&["nope"]);
    assert_eq!(o.status.code(), Some(127));
}

#[test]
fn bad_flags_are_125() {
    let o = run_umbra(&["run", "--frobnicate", "--", "/bin/hello"], Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(125));
    let o = run_umbra(&["run", "--root", "/nonexistent-root", "--", "/bin/hello"], Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(125));
}

#[test]
fn more_memory_than_mem_gives_enomem_not_a_crash() {
    // 64 MiB of guest RAM cannot hold the 64 MiB mmap sweep plus the program.
    let root = root().to_str().unwrap().to_string();
    let o = run_umbra(&["run", "--root", &root, "--mem", "32M", "--", "/bin/memory"], Duration::from_secs(60));
    let code = o.status.code();
    assert!(code == Some(137) || code == Some(139) || code == Some(0), "status {code:?}, stderr {}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn strace_prints_decoded_syscalls() {
    let root = root().to_str().unwrap().to_string();
    let o = run_umbra(&["run", "--root", &root, "--strace", "--", "/bin/hello"], Duration::from_secs(60));
    let err = stderr(&o);
    assert!(err.contains("[1] write(1, \"hello from the guest\\n\", 21) = 21"), "{err}");
    assert!(err.contains("[1] exit_group(3)"), "{err}");
}

#[test]
fn rust_static_guest() {
    let dir = scratch("rust-guest");
    let out = dir.join("hello_rust");
    let st = std::process::Command::new("rustc")
        .args(["-O", "-C", "target-feature=+crt-static", "--edition", "2021", "-o"])
        .arg(&out)
        .arg(workspace().join("tests/guest/hello_rust.rs"))
        .status()
        .expect("rustc");
    assert!(st.success());
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::rename(&out, dir.join("bin/hello_rust")).unwrap();
    let root = dir.to_str().unwrap().to_string();
    let o = run_umbra(&["run", "--root", &root, "--", "/bin/hello_rust", "a", "b"], Duration::from_secs(60));
    assert_eq!(stdout(&o), "rust guest: sum=333283335000 args=[\"a\", \"b\"]\nitem0,item1,item2\n", "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(5));
}

#[test]
fn kill_9_of_umbra_leaves_no_stub() {
    let root = root().to_str().unwrap().to_string();
    let mut child = std::process::Command::new(umbra_bin())
        .args(["run", "--root", &root, "--", "/bin/crash", "sleep"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    // Find the stubs (children of umbra) before killing it.
    let pid = child.id();
    let mut stubs = Vec::new();
    for _ in 0..200 {
        stubs = children_of(pid);
        if !stubs.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(!stubs.is_empty(), "umbra started no stub");
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    for s in stubs {
        let alive = std::path::Path::new(&format!("/proc/{s}")).exists()
            && !std::fs::read_to_string(format!("/proc/{s}/stat")).unwrap_or_default().contains(") Z");
        assert!(!alive, "stub {s} outlived umbra");
    }
}

fn children_of(pid: u32) -> Vec<u32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() {
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) {
                let after = stat.rsplit(')').next().unwrap_or("");
                let ppid: u32 = after.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
                if ppid == pid {
                    v.push(p);
                }
            }
        }
    }
    v
}

#[test]
fn processes_match_linux() {
    let o = run_guest(&["/bin/procs"]);
    let native = run_native(&root().join("bin/procs"), &[]);
    assert_eq!(stdout(&o), stdout(&native), "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn dynamic_glibc_program_with_ld_so() {
    // A dynamically linked program with its libraries (found with ldd) in a root of its own.
    let dir = scratch("dynamic-root");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let st = std::process::Command::new("gcc")
        .args(["-O1", "-o"])
        .arg(dir.join("bin/dyn"))
        .arg(workspace().join("tests/guest/args.c"))
        .status()
        .unwrap();
    assert!(st.success());
    let ldd = std::process::Command::new("ldd").arg(dir.join("bin/dyn")).output().unwrap();
    for lib in String::from_utf8_lossy(&ldd.stdout).split_whitespace().filter(|w| w.starts_with('/')) {
        let dst = dir.join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(lib, &dst).unwrap();
    }
    let root = dir.to_str().unwrap().to_string();
    let o = run_umbra(&["run", "--root", &root, "--", "/bin/dyn", "x"], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(stdout(&o).contains("argv[1]=x\n"), "{}", stdout(&o));
    assert!(stdout(&o).contains("entry_ok=1\n"));
}

/// A temporary-mask syscall restarted after an ignored signal (the kernel once deadlocked on
/// its own lock there); same output as Linux.
#[test]
fn masked_waits_restart_after_ignored_signals() {
    let dir = scratch(&format!("restartmask-{}", std::process::id()));
    for d in ["bin", "tmp", "dev", "proc"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    build_c("restartmask", &dir.join("bin/restartmask"), &[]);
    let got = run_umbra(&["run", "--root", dir.to_str().unwrap(), "--", "/bin/restartmask"], std::time::Duration::from_secs(60));
    let want = run_native(&dir.join("bin/restartmask"), &[]);
    assert_eq!(stdout(&got), stdout(&want), "stderr: {}", stderr(&got));
}
