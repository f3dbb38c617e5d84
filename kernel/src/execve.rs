//! `execve`: replacing a process's program (Linux's `fs/exec.c` + `fs/binfmt_elf.c` +
//! `fs/binfmt_script.c`), in the order Linux does it:
//!
//! 1. find the file and check it may be executed (`ENOENT`, `EACCES`, `ENOEXEC`);
//! 2. `#!` scripts: run the named interpreter instead, with the script as an argument;
//! 3. parse the ELF (bounds-checked before goblin sees it) and, for a dynamic program, its
//!    interpreter (`PT_INTERP`, `ld.so`);
//! 4. build a *new* memory context on a fresh stub: the segments, the brk, the initial stack
//!    with argv, envp and the auxiliary vector;
//! 5. only then — the point of no return — swap it in, close `O_CLOEXEC` fds, reset handled
//!    signals to default, and start at the entry point.
//!
//! A failure before step 5 leaves the caller's process untouched and returns the errno.

use crate::sched::Current;
use crate::exec::elf::{self, ElfImage};
use crate::exec::stack;
use crate::task::kernel::kernel;
use crate::fs_glue::Fd;
use crate::task::Mm;
use arch_um::layout::{ELF_ET_DYN_BASE, STACK_TOP};
use arch_um::UserContext;
use fs::Path;
use mm::{Backing, PageSource};
use std::sync::Arc;
use uapi::mman::{page_ceil, page_floor, MapFlags, Prot, PAGE_SIZE};
use uapi::{flags as f, Errno, KResult};

/// Linux's limit on nested `#!` scripts: `exec_binprm` tries up to six binary handlers in a
/// chain (depth 0..=5), so five scripts may lead to the final ELF program.
const MAX_SCRIPT_DEPTH: usize = 5;
/// The longest `#!` line Linux reads (`BINPRM_BUF_SIZE`).
const SHEBANG_MAX: usize = 256;
/// Largest executable umbra loads (a sanity bound on hostile files).
const MAX_EXEC_SIZE: u64 = 1 << 30;

/// A failed `execve` with the reason for the log.
#[derive(Debug)]
pub struct ExecFailure {
    /// The errno the guest gets.
    pub errno: Errno,
    msg: String,
}

impl ExecFailure {
    fn new(errno: Errno, msg: impl Into<String>) -> Self {
        ExecFailure { errno, msg: msg.into() }
    }

    /// Why, in words.
    pub fn message(&self) -> String {
        if self.msg.is_empty() {
            self.errno.description().to_string()
        } else {
            self.msg.clone()
        }
    }
}

impl From<Errno> for ExecFailure {
    fn from(e: Errno) -> Self {
        ExecFailure::new(e, "")
    }
}

/// Linux's limit on argv+envp bytes: a quarter of the stack rlimit, at least 128 KiB and at
/// most 6 MiB (3/4 of the default 8 MiB stack), as `bprm_stack_limits` computes.
pub fn arg_limit(stack_rlimit: u64) -> usize {
    (stack_rlimit / 4).clamp(128 * 1024, 6 << 20) as usize
}

/// `execve(2)` from a running task.
pub fn execve(cur: &mut Current, dirfd: Fd, path: &[u8], argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>, how: ExecAt) -> KResult<()> {
    match exec_common(cur, dirfd, path, argv, envp, how) {
        Ok(()) => {
            crate::ptrace::exec_event(cur);
            Ok(())
        }
        Err(e) => {
            log::debug!("pid {}: execve {:?} failed: {}", cur.pid(), String::from_utf8_lossy(path), e.message());
            Err(e.errno)
        }
    }
}

/// How `execveat` finds the program (its `AT_EMPTY_PATH` and `AT_SYMLINK_NOFOLLOW` flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecAt {
    /// An empty path names the file open at `dirfd` (`fexecve`).
    pub empty_path: bool,
    /// A final symlink is not followed (`ELOOP`).
    pub nofollow: bool,
}

/// The first `execve` of pid 1 (its failure is reported by `init` with an exit status).
pub fn execve_initial(cur: &mut Current, path: &[u8], argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> Result<(), ExecFailure> {
    exec_common(cur, Fd(f::AT_FDCWD), path, argv, envp, ExecAt::default())
}

fn exec_common(cur: &mut Current, dirfd: Fd, path: &[u8], mut argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>, how: ExecAt) -> Result<(), ExecFailure> {
    let mut path = path.to_vec();
    let execfn = path.clone();
    let mut how = how;
    let mut dirfd = dirfd;
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let (file_path, data) = read_executable(cur, dirfd, &path, how)?;
        // An interpreter is found by its own path, from the cwd.
        how = ExecAt::default();
        dirfd = Fd(f::AT_FDCWD);
        if data.starts_with(b"#!") {
            let (interp, arg) = parse_shebang(&data)?;
            // argv becomes: interp [arg] script-path original-argv[1..]
            let mut new_argv = vec![interp.clone()];
            new_argv.extend(arg);
            new_argv.push(path.clone());
            new_argv.extend(argv.into_iter().skip(1));
            argv = new_argv;
            path = interp;
            continue;
        }
        let image = elf::parse_elf(&data).map_err(|e| ExecFailure::new(Errno::ENOEXEC, e.to_string()))?;
        let (creds, secure) = exec_credentials(&cur.process().creds(), &file_path)?;
        let loaded = load(cur, &image, &data, &file_path, &argv, &envp, &execfn, &creds, secure)?;
        commit(cur, loaded, file_path, &path, creds, secure);
        return Ok(());
    }
    Err(ExecFailure::new(Errno::ELOOP, "too many levels of #! interpreters"))
}

/// The credentials a program runs with, and whether it runs in secure mode (`AT_SECURE`)
/// (Linux's `bprm_fill_uid` + `cap_bprm_creds_from_file`): a set-user-ID file makes its
/// owner the effective user, a set-group-ID file with group execute its group the effective
/// group — unless its mount is `nosuid` or the task has `no_new_privs`; the capability sets
/// follow capabilities(7) with the file's `security.capability`; then the saved and
/// filesystem ids follow the effective ones, and `SECBIT_KEEP_CAPS` is cleared.
fn exec_credentials(old: &fs::Credentials, file: &Path) -> KResult<(fs::Credentials, bool)> {
    let attr = file.attr()?;
    let mut c = old.clone();
    let nosuid = file.mount.flags().contains(fs::MountFlags::NOSUID);
    if !nosuid && !old.no_new_privs {
        if attr.mode & fs::abi::S_ISUID != 0 {
            c.euid = attr.uid;
        }
        if attr.mode & fs::abi::S_ISGID != 0 && attr.mode & fs::abi::S_IXGRP != 0 {
            c.egid = attr.gid;
        }
    }
    let file_caps = if nosuid { None } else { file_capabilities(file)? };
    let ids = fs::capability::ExecIds { uid: c.uid, euid: c.euid, is_setid: c.euid != c.uid || c.egid != c.gid };
    let ec = fs::capability::exec_caps(&old.caps, old.securebits, old.no_new_privs, ids, file_caps)?;
    c.caps = ec.caps;
    if ec.reset_ids {
        c.euid = c.uid;
        c.egid = c.gid;
    }
    c.suid = c.euid;
    c.fsuid = c.euid;
    c.sgid = c.egid;
    c.fsgid = c.egid;
    c.securebits &= !fs::capability::secbit::KEEP_CAPS;
    Ok((c, ec.secure))
}

/// The file's capabilities (`security.capability`, `get_vfs_caps_from_disk`): none if the
/// attribute is absent, the filesystem has no xattrs, or a v3 root id is not 0; `EINVAL` for
/// a malformed value, which fails the exec as on Linux.
fn file_capabilities(file: &Path) -> KResult<Option<fs::capability::FileCaps>> {
    match file.inode().get_xattr(fs::xattr::CAPS) {
        Ok(v) => {
            let fc = fs::capability::FileCaps::parse(&v)?;
            Ok((fc.rootid == 0).then_some(fc))
        }
        Err(_) => Ok(None),
    }
}

/// Finds an executable and reads it whole: a regular file with execute permission.
fn read_executable(cur: &Current, dirfd: Fd, path: &[u8], how: ExecAt) -> Result<(Path, Vec<u8>), ExecFailure> {
    let p = if path.is_empty() {
        if !how.empty_path {
            return Err(Errno::ENOENT.into());
        }
        crate::fs_glue::file(cur, dirfd)?.path().cloned().ok_or(Errno::EACCES)?
    } else {
        let p = crate::fs_glue::lookup(cur, dirfd, path, !how.nofollow)?;
        if how.nofollow && p.attr()?.file_type() == fs::FileType::Symlink {
            return Err(Errno::ELOOP.into());
        }
        p
    };
    let attr = p.attr()?;
    if attr.mode & fs::abi::S_IFMT != fs::abi::S_IFREG {
        return Err(ExecFailure::new(Errno::EACCES, "not a regular file"));
    }
    let cred = cur.process().creds();
    kernel().vfs.access_path(&cred, &p, fs::abi::X_OK).map_err(|e| ExecFailure::new(e, "permission denied"))?;
    if attr.size > MAX_EXEC_SIZE {
        return Err(ExecFailure::new(Errno::ENOEXEC, "file too large to execute"));
    }
    // Read through the page cache, which the segments are then mapped from.
    let _ = kernel().vfs.page_cache().store(p.inode());
    let mut data = vec![0u8; attr.size as usize];
    let mut done = 0;
    while done < data.len() {
        let n = p.inode().read_bytes(done as u64, &mut data[done..])?;
        if n == 0 {
            break;
        }
        done += n;
    }
    data.truncate(done);
    Ok((p, data))
}

/// Parses a `#!` line: the interpreter path and at most one argument (the rest of the line,
/// trimmed), as `binfmt_script` does.
fn parse_shebang(data: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), ExecFailure> {
    let line = &data[2..data.len().min(SHEBANG_MAX)];
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    let line = &line[..end];
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !is_space(b)).ok_or_else(|| ExecFailure::new(Errno::ENOEXEC, "empty #! line"))?;
    let line = &line[start..];
    let iend = line.iter().position(is_space).unwrap_or(line.len());
    let interp = line[..iend].to_vec();
    let rest = &line[iend..];
    let arg = rest.iter().position(|b| !is_space(b)).map(|s| {
        let r = &rest[s..];
        let e = r.iter().rposition(|b| !is_space(b)).map(|e| e + 1).unwrap_or(r.len());
        r[..e].to_vec()
    });
    Ok((interp, arg))
}

/// A fully built new program image, not yet installed.
struct Loaded {
    mm: Mm,
    regs: UserContext,
    arg_range: (u64, u64),
    env_range: (u64, u64),
    auxv: Vec<(u64, u64)>,
}

/// Maps one ELF image's segments at `bias`; returns the end of the highest segment. With the
/// file's page-cache pages (`source`), each segment whose file offset and address agree modulo
/// the page size maps them `MAP_PRIVATE` (copy-on-write, so every process running the program
/// shares its text), as Linux's `elf_map` does; other segments are copied into anonymous
/// memory.
fn map_image(m: &mut mm::MemorySpace, image: &ElfImage, data: &[u8], bias: u64, source: Option<&Arc<dyn PageSource>>) -> Result<u64, ExecFailure> {
    let mut top = 0u64;
    for seg in &image.load_segments {
        let start = bias.checked_add(seg.vaddr).ok_or(Errno::ENOEXEC)?;
        let end = start.checked_add(seg.memsz).ok_or(Errno::ENOEXEC)?;
        let map_start = page_floor(start);
        let map_end = page_ceil(end).ok_or(Errno::ENOEXEC)?;
        if map_end <= map_start {
            continue;
        }
        match source {
            Some(src) if seg.vaddr % PAGE_SIZE == seg.offset % PAGE_SIZE => map_file_segment(m, seg, start, end, src)?,
            _ => copy_segment(m, seg, data, start, map_start, map_end)?,
        }
        top = top.max(map_end);
    }
    Ok(top)
}

/// Maps a segment's file bytes from the page cache (`MAP_PRIVATE`), zeroes the rest of their
/// last page (Linux's `padzero`, which copies that page) and maps the rest of `p_memsz` as
/// anonymous memory (the `.bss`).
fn map_file_segment(m: &mut mm::MemorySpace, seg: &elf::LoadSegment, start: u64, end: u64, src: &Arc<dyn PageSource>) -> Result<(), ExecFailure> {
    let map_start = page_floor(start);
    let file_end = start.checked_add(seg.filesz).ok_or(Errno::ENOEXEC)?;
    let file_map_end = if seg.filesz == 0 { map_start } else { page_ceil(file_end).ok_or(Errno::ENOEXEC)? };
    // Populated now, as the copy was: the pages are in the page cache already (the file was
    // just read), and mapping them here saves the new program a fault per 16 pages.
    let flags = MapFlags::PRIVATE | MapFlags::FIXED | MapFlags::POPULATE;
    if file_map_end > map_start {
        let backing = Backing::File { source: src.clone(), offset: page_floor(seg.offset) };
        m.mmap(map_start, file_map_end - map_start, seg.prot, flags, backing).map_err(|e| ExecFailure::new(e, "cannot map a segment"))?;
    }
    if seg.memsz > seg.filesz && file_end < file_map_end {
        let page = page_floor(file_end);
        let writable = seg.prot.contains(Prot::WRITE);
        if !writable {
            m.mprotect(page, PAGE_SIZE, seg.prot | Prot::WRITE)?;
        }
        let zeros = vec![0u8; (file_map_end - file_end) as usize];
        m.write(file_end, &zeros).map_err(|e| ExecFailure::new(e, "cannot clear the bss"))?;
        if !writable {
            m.mprotect(page, PAGE_SIZE, seg.prot)?;
        }
    }
    let map_end = page_ceil(end).ok_or(Errno::ENOEXEC)?;
    if map_end > file_map_end {
        let anon = MapFlags::PRIVATE | MapFlags::ANONYMOUS | MapFlags::FIXED;
        m.mmap(file_map_end, map_end - file_map_end, seg.prot, anon, Backing::Anon).map_err(|e| ExecFailure::new(e, "cannot map the bss"))?;
    }
    Ok(())
}

/// Copies a segment into anonymous memory (a segment the page cache cannot map).
fn copy_segment(m: &mut mm::MemorySpace, seg: &elf::LoadSegment, data: &[u8], start: u64, map_start: u64, map_end: u64) -> Result<(), ExecFailure> {
    let flags = MapFlags::PRIVATE | MapFlags::ANONYMOUS | MapFlags::FIXED;
    m.mmap(map_start, map_end - map_start, seg.prot | Prot::WRITE, flags, Backing::Anon).map_err(|e| ExecFailure::new(e, "cannot map a segment"))?;
    let off = seg.offset as usize;
    let file_bytes = data.get(off..off + seg.filesz as usize).ok_or_else(|| ExecFailure::new(Errno::ENOEXEC, "segment outside the file"))?;
    m.write(start, file_bytes).map_err(|e| ExecFailure::new(e, "cannot load a segment"))?;
    if !seg.prot.contains(Prot::WRITE) {
        m.mprotect(map_start, map_end - map_start, seg.prot)?;
    }
    Ok(())
}

/// The page-cache pages of an executable file, if it has them (regular files do).
fn program_pages(file: &Path) -> Option<Arc<dyn PageSource>> {
    match kernel().vfs.path_pages(file, &kernel().frames) {
        Ok(p) => Some(p as Arc<dyn PageSource>),
        Err(e) => {
            log::debug!("execve: program copied, not mapped: {e}");
            None
        }
    }
}

/// Reserves an address range for a relocatable image (the interpreter) by letting mmap pick
/// a free span top-down, as Linux's `elf_map` of the first segment does.
fn reserve_span(m: &mut mm::MemorySpace, image: &ElfImage) -> Result<u64, ExecFailure> {
    let lo = image.load_segments.iter().map(|s| page_floor(s.vaddr)).min().unwrap_or(0);
    let hi = image.load_segments.iter().filter_map(|s| page_ceil(s.vaddr.saturating_add(s.memsz))).max().unwrap_or(0);
    let span = hi.checked_sub(lo).filter(|&s| s > 0).ok_or(Errno::ENOEXEC)?;
    let base = m.mmap(0, span, Prot::empty(), MapFlags::PRIVATE | MapFlags::ANONYMOUS, Backing::Anon)?;
    m.munmap(base, span)?;
    Ok(base.wrapping_sub(lo))
}

#[allow(clippy::too_many_arguments)]
fn load(cur: &Current, image: &ElfImage, data: &[u8], file: &Path, argv: &[Vec<u8>], envp: &[Vec<u8>], execfn: &[u8], creds: &fs::Credentials, secure: bool) -> Result<Loaded, ExecFailure> {
    let mut m = crate::task::Mm::new_empty(&cur.cpu().host()).map_err(|e| {
        log::warn!("execve: cannot start a stub: {e}");
        ExecFailure::new(Errno::EAGAIN, "too many processes")
    })?;
    let space = m.space.get_mut();
    space.set_stack_limit(cur.process().rlimit_cur(f::RLIMIT_STACK).min(1 << 30));
    // ET_EXEC loads where it says; a PIE (static-pie, or a PIE with an interpreter) at
    // ELF_ET_DYN_BASE, as Linux's load_elf_binary does without randomisation.
    let bias = if image.pie { page_floor(ELF_ET_DYN_BASE) } else { 0 };
    // Header values are the file's: an entry point or phdr address past the top wraps as in
    // Linux's unchecked sums, and the program then faults (SIGSEGV) instead of starting.
    let end = map_image(space, image, data, bias, program_pages(file).as_ref())?;
    space.set_brk_base(end);
    let mut entry = bias.wrapping_add(image.entry);
    let mut interp_base = 0;
    if let Some(interp_path) = &image.interp {
        let (ipath, idata) = read_executable(cur, Fd(f::AT_FDCWD), interp_path, ExecAt::default()).map_err(|e| ExecFailure::new(if e.errno == Errno::ENOENT { Errno::ENOENT } else { Errno::ELIBBAD }, format!("interpreter {}: {}", String::from_utf8_lossy(interp_path), e.message())))?;
        let iimage = elf::parse_elf(&idata).map_err(|e| ExecFailure::new(Errno::ELIBBAD, format!("interpreter: {e}")))?;
        interp_base = reserve_span(space, &iimage)?;
        map_image(space, &iimage, &idata, interp_base, program_pages(&ipath).as_ref())?;
        entry = interp_base.wrapping_add(iimage.entry);
    }
    let stack_size = cur.process().rlimit_cur(f::RLIMIT_STACK).clamp(128 * 1024, 8 << 20);
    space.map_stack(STACK_TOP, stack_size)?;
    let vdso_base = crate::vdso::map_into(space)?;

    let mut random = [0u8; 16];
    arch_um::random::fill(&mut random).map_err(|_| Errno::EIO)?;
    let (xsize, _) = kernel().platform.user_xstate();
    let auxv = vec![
        (f::AT_PHDR, bias.wrapping_add(image.phdr_vaddr.unwrap_or(0))),
        (f::AT_PHENT, image.phent as u64),
        (f::AT_PHNUM, image.phnum as u64),
        (f::AT_PAGESZ, PAGE_SIZE),
        (f::AT_BASE, interp_base),
        (f::AT_FLAGS, 0),
        (f::AT_ENTRY, bias.wrapping_add(image.entry)),
        (f::AT_UID, creds.uid as u64),
        (f::AT_EUID, creds.euid as u64),
        (f::AT_GID, creds.gid as u64),
        (f::AT_EGID, creds.egid as u64),
        // Secure mode (glibc ignores LD_PRELOAD and friends) when the ids changed or
        // capabilities were gained at exec.
        (f::AT_SECURE, u64::from(secure)),
        (f::AT_HWCAP, arch_um::cpu::hwcap()),
        (f::AT_HWCAP2, 0),
        (f::AT_CLKTCK, 100),
        (f::AT_SYSINFO_EHDR, vdso_base),
        (f::AT_MINSIGSTKSZ, (xsize as u64 + 4 + 64 + crate::signal::frame::off::SIZE + 128).next_multiple_of(16)),
    ];
    let st = stack::build_initial_stack(STACK_TOP, argv, envp, &auxv, random, execfn, b"x86_64")?;
    space.write(st.sp, &st.bytes).map_err(|e| ExecFailure::new(e, "cannot write the initial stack"))?;

    let mut regs = UserContext::default();
    regs.regs.rip = entry;
    regs.regs.rsp = st.sp;
    regs.regs.eflags = 0x202;
    regs.set_fpu(arch_um::XState(initial_fpu()));
    Ok(Loaded { mm: m, regs, arg_range: (st.arg_start, st.arg_end), env_range: (st.env_start, st.env_end), auxv: st.auxv })
}

/// The FPU state a new program starts with: x87 control word 0x37f, MXCSR 0x1f80, everything
/// else in its init state (Linux's `fpstate_init_user`).
fn initial_fpu() -> Vec<u8> {
    let size = kernel().platform.xstate_size().max(576);
    let mut x = vec![0u8; size];
    x[0..2].copy_from_slice(&0x37fu16.to_le_bytes());
    x[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    x[28..32].copy_from_slice(&0xffffu32.to_le_bytes()); // MXCSR_MASK as the CPU reports it
    x
}

/// The point of no return: install the new memory, registers and identity.
fn commit(cur: &mut Current, loaded: Loaded, file: Path, path: &[u8], creds: fs::Credentials, secure: bool) {
    de_thread(cur);
    // Robust mutexes held in the old image are released (Linux's `exec_mm_release`).
    crate::futex::exit_robust_list(cur);
    cur.task.robust_list.set(0);
    crate::ipc::shm::release_mm(cur);
    *cur.task.mm.lock() = Arc::new(loaded.mm);
    // The new registers keep naming this thread: the stub tells threads' FPU states apart by it.
    cur.ctx = loaded.regs;
    cur.ctx.id = cur.task.tid as u64;
    let p = cur.process().clone();
    let setid = creds.euid != creds.uid || creds.egid != creds.gid;
    *p.creds.lock() = creds;
    crate::task::prctl::on_exec(&p, secure || setid, loaded.auxv.clone());
    // The borrowed memory is given back: a `vfork` parent runs again (Linux's exec_mm_release).
    crate::exit::release_vfork_parent(&p);
    *p.exe.lock() = Some(file);
    *p.exe_name.lock() = path.to_vec();
    p.did_exec.store(true, std::sync::atomic::Ordering::Relaxed);
    *p.arg_range.lock() = loaded.arg_range;
    *p.env_range.lock() = loaded.env_range;
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    *cur.task.comm.lock() = name[..name.len().min(15)].to_vec();
    let closed = p.files().lock().close_on_exec();
    crate::fs_glue::close_files(p.pid, closed);
    p.sighand().lock().reset_for_exec();
    crate::timers::on_exec(&p);
    let mut s = cur.task.signals.lock();
    s.altstack = Default::default();
    s.altstack.ss_flags = uapi::signal::SS_DISABLE;
}

/// Ends every other thread of the process (Linux's `de_thread`): they leave at their next
/// scheduling point, on the old memory, which they keep until then. Signals sent to the
/// process and queued on them move to the caller. (Linux also gives the caller the leader's
/// tid; here a non-leader keeps its own.)
fn de_thread(cur: &mut Current) {
    for t in cur.process().live_threads() {
        if t.tid == cur.task.tid {
            continue;
        }
        let moved = t.signals.lock().pending.drain_shared();
        for p in moved {
            cur.task.signals.lock().pending.add_shared(p.signo, p.info);
        }
        t.exited.store(true, std::sync::atomic::Ordering::SeqCst);
        crate::sched::wake(&t);
    }
}
