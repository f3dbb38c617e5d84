//! Core dumps (Linux's `fs/coredump.c` `do_coredump` + `fs/binfmt_elf.c` `elf_core_dump`):
//! when a signal whose default action dumps core kills a dumpable process whose
//! `RLIMIT_CORE` is at least a page, an ELF core file named `core` is written in its working
//! directory — a `PT_NOTE` segment (`NT_PRSTATUS` of the dumping thread, `NT_PRPSINFO`,
//! `NT_AUXV`, `NT_FILE`) and one `PT_LOAD` per mapping, readable ones with their contents —
//! and the wait status gets the core-dump bit (0x80). As Linux, a dump that would pass the
//! limit is cut off and then does not count as dumped.

use crate::sched::Current;
use crate::task::ExitStatus;
use mm::stats::MapInfo;
use uapi::mman::Prot;
use uapi::flags::{OpenFlags, RLIMIT_CORE};
use crate::fs_glue::Fd;
use uapi::{Errno, KResult, UserAddr};

const PAGE: u64 = 4096;
const NT_PRSTATUS: u32 = 1;
const NT_PRPSINFO: u32 = 3;
const NT_AUXV: u32 = 6;
const NT_FILE: u32 = 0x4649_4c45;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;

/// The status of a process killed by `signo`, whose default action dumps core: dumps it
/// first when the limit and `PR_SET_DUMPABLE` allow, setting the core bit if that worked.
pub fn dump_and_status(cur: &mut Current, signo: u32) -> ExitStatus {
    let limit = cur.process().rlimit_cur(RLIMIT_CORE);
    let dumpable = cur.process().prctl.lock().dumpable != 0;
    let core = limit >= PAGE && dumpable && write_core(cur, signo, limit).is_ok();
    ExitStatus::Killed { signo: signo as i32, core }
}

/// Builds the core image and writes it to `core` in the cwd (`EFBIG` past `limit`).
fn write_core(cur: &mut Current, signo: u32, limit: u64) -> KResult<()> {
    let maps = cur.mm().space.lock().maps();
    let notes = notes(cur, signo, &maps);
    let phnum = 1 + maps.len();
    let headers = 64 + 56 * phnum as u64;
    let note_off = headers;
    let mut data_off = (note_off + notes.len() as u64).next_multiple_of(PAGE);
    let mut out = elf_header(phnum as u16);
    out.extend(phdr(PT_NOTE, 0, note_off, 0, notes.len() as u64, 0, 0));
    let mut loads = Vec::new();
    for m in &maps {
        let size = m.end - m.start;
        let filesz = if m.prot.contains(Prot::READ) { size } else { 0 };
        out.extend(phdr(PT_LOAD, flags(m.prot), data_off, m.start, filesz, size, PAGE));
        loads.push((m.start, filesz, data_off));
        data_off += filesz;
    }
    out.extend_from_slice(&notes);
    if data_off > limit {
        return Err(Errno::EFBIG);
    }
    let file = open_core(cur)?;
    file.pwrite(&out, 0)?;
    let mut page = vec![0u8; PAGE as usize];
    for (start, filesz, off) in loads {
        let mut a = 0;
        while a < filesz {
            // Pages that cannot be read (a guard gap, an unbacked file page) are holes.
            if cur.read_bytes(UserAddr(start + a), &mut page).is_ok() && page.iter().any(|&b| b != 0) {
                file.pwrite(&page, (off + a) as i64)?;
            }
            a += PAGE;
        }
    }
    file.truncate(i64::try_from(data_off).map_err(|_| Errno::EFBIG)?)?;
    Ok(())
}

/// Creates `core` in the cwd, replacing an old one, mode 0600 (`do_coredump`'s open: the old
/// file is unlinked, then created exclusively without following links).
fn open_core(cur: &Current) -> KResult<std::sync::Arc<fs::OpenFile>> {
    let vfs = crate::task::kernel::kernel().vfs.clone();
    let cwd = Fd(uapi::flags::AT_FDCWD);
    let _ = crate::fs_glue::with_start(cur, cwd, b"core", |ctx, start| vfs.unlink(ctx, start, b"core"));
    let flags = OpenFlags::CREAT | OpenFlags::EXCL | OpenFlags::WRONLY | OpenFlags::NOFOLLOW | OpenFlags::LARGEFILE;
    crate::fs_glue::open(cur, cwd, b"core", flags, 0o600)
}

fn flags(p: Prot) -> u32 {
    u32::from(p.contains(Prot::EXEC)) | u32::from(p.contains(Prot::WRITE)) << 1 | u32::from(p.contains(Prot::READ)) << 2
}

fn elf_header(phnum: u16) -> Vec<u8> {
    let mut h = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    h.resize(16, 0);
    h.extend(4u16.to_le_bytes()); // ET_CORE
    h.extend(62u16.to_le_bytes()); // EM_X86_64
    h.extend(1u32.to_le_bytes());
    h.extend(0u64.to_le_bytes()); // entry
    h.extend(64u64.to_le_bytes()); // phoff
    h.extend(0u64.to_le_bytes()); // shoff
    h.extend(0u32.to_le_bytes());
    h.extend(64u16.to_le_bytes());
    h.extend(56u16.to_le_bytes());
    h.extend(phnum.to_le_bytes());
    h.extend([0u8; 6]);
    h
}

fn phdr(ty: u32, flags: u32, off: u64, vaddr: u64, filesz: u64, memsz: u64, align: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(56);
    p.extend(ty.to_le_bytes());
    p.extend(flags.to_le_bytes());
    for v in [off, vaddr, 0, filesz, memsz, align] {
        p.extend(v.to_le_bytes());
    }
    p
}

/// One ELF note named `CORE`, padded to 4 bytes.
fn note(ty: u32, desc: &[u8]) -> Vec<u8> {
    let mut n = Vec::new();
    n.extend(5u32.to_le_bytes());
    n.extend((desc.len() as u32).to_le_bytes());
    n.extend(ty.to_le_bytes());
    n.extend(b"CORE\0\0\0\0");
    n.extend_from_slice(desc);
    n.resize(n.len().next_multiple_of(4), 0);
    n
}

fn notes(cur: &mut Current, signo: u32, maps: &[MapInfo]) -> Vec<u8> {
    let mut v = note(NT_PRSTATUS, &prstatus(cur, signo));
    v.extend(note(NT_PRPSINFO, &prpsinfo(cur)));
    let auxv = cur.process().prctl.lock().auxv.clone();
    let auxv: Vec<u8> = auxv.iter().flat_map(|(k, val)| k.to_le_bytes().into_iter().chain(val.to_le_bytes())).collect();
    v.extend(note(NT_AUXV, &auxv));
    v.extend(note(NT_FILE, &file_note(maps)));
    v
}

/// `struct elf_prstatus` (336 bytes): the signal, ids, and `user_regs_struct`.
fn prstatus(cur: &Current, signo: u32) -> Vec<u8> {
    let p = cur.process();
    let mut b = Vec::with_capacity(336);
    b.extend((signo as i32).to_le_bytes());
    b.extend([0u8; 8]);
    b.extend((signo as u16).to_le_bytes());
    b.extend([0u8; 2]);
    b.extend([0u8; 16]); // pending, held
    let ppid = p.parent.lock().upgrade().map_or(0, |q| q.pid);
    for id in [cur.task.tid, ppid, p.pgid.load(std::sync::atomic::Ordering::Relaxed), p.sid.load(std::sync::atomic::Ordering::Relaxed)] {
        b.extend(id.to_le_bytes());
    }
    b.extend([0u8; 64]); // utime, stime, cutime, cstime
    b.extend(regs_bytes(&cur.ctx.regs));
    b.extend(0i32.to_le_bytes());
    b.resize(336, 0);
    b
}

/// `struct user_regs_struct` in Linux's field order.
fn regs_bytes(r: &arch_um::regs::GpRegs) -> Vec<u8> {
    let f = [
        r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx, r.rdx, r.rsi, r.rdi, r.orig_rax, r.rip, r.cs, r.eflags, r.rsp, r.ss,
        r.fs_base, r.gs_base, r.ds, r.es, r.fs, r.gs,
    ];
    f.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// `struct elf_prpsinfo` (136 bytes): state, ids, command name and arguments.
fn prpsinfo(cur: &mut Current) -> Vec<u8> {
    let p = cur.process();
    let c = p.creds();
    let mut b = vec![0u8, b'R', 0, 0, 0, 0, 0, 0];
    b.extend(0u64.to_le_bytes());
    b.extend(c.uid.to_le_bytes());
    b.extend(c.gid.to_le_bytes());
    let ppid = p.parent.lock().upgrade().map_or(0, |q| q.pid);
    for id in [p.pid, ppid, p.pgid.load(std::sync::atomic::Ordering::Relaxed), p.sid.load(std::sync::atomic::Ordering::Relaxed)] {
        b.extend(id.to_le_bytes());
    }
    let mut name = cur.task.comm.lock().clone();
    name.resize(16, 0);
    name[15] = 0;
    b.extend(name);
    let (start, end) = *p.arg_range.lock();
    let mut args = vec![0u8; (end.saturating_sub(start) as usize).min(79)];
    if cur.read_bytes(UserAddr(start), &mut args).is_err() {
        args.clear();
    }
    for a in args.iter_mut() {
        if *a == 0 {
            *a = b' ';
        }
    }
    let trimmed = args.len() - args.iter().rev().take_while(|&&a| a == b' ').count();
    args.truncate(trimmed);
    args.resize(80, 0);
    b.extend(args);
    b
}

/// `NT_FILE`: the file-backed mappings (count, page size, then start/end/page offset
/// triples, then the NUL-terminated names).
fn file_note(maps: &[MapInfo]) -> Vec<u8> {
    let files: Vec<&MapInfo> = maps.iter().filter(|m| m.name.starts_with('/')).collect();
    let mut b = Vec::new();
    b.extend((files.len() as u64).to_le_bytes());
    b.extend(PAGE.to_le_bytes());
    for m in &files {
        for v in [m.start, m.end, m.offset / PAGE] {
            b.extend(v.to_le_bytes());
        }
    }
    for m in &files {
        b.extend(m.name.as_bytes());
        b.push(0);
    }
    b
}
