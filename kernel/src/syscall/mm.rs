//! Memory syscalls. The work is mm's (`MemorySpace`); nothing reaches the host here — changed
//! page-table entries are synced to the stub in one batch before the guest runs again.

use super::args::{Fd, Flags, MincoreVec};
use crate::sched::Current;
use mm::Backing;
use uapi::mman::{MapFlags, MremapFlags, Prot, MAP_TYPE};
use uapi::{Errno, KResult, UserAddr};

/// `mmap(2)`: anonymous mappings (file mappings arrive with the page cache).
pub fn sys_mmap(cur: &mut Current, addr: UserAddr, len: usize, prot: Flags, flags: Flags, fd: Fd, off: u64) -> KResult<usize> {
    let prot = Prot::from_bits(prot.0 as u32).ok_or(Errno::EINVAL)?;
    let flags = MapFlags::from_bits_truncate(flags.0 as u32);
    let kind = flags.bits() & MAP_TYPE;
    if kind != MapFlags::SHARED.bits() && kind != MapFlags::PRIVATE.bits() && kind != MapFlags::SHARED_VALIDATE.bits() {
        return Err(Errno::EINVAL);
    }
    if !off.is_multiple_of(uapi::mman::PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let (backing, opts) = if flags.contains(MapFlags::ANONYMOUS) {
        (Backing::Anon, mm::MapOptions::default())
    } else {
        crate::fs_glue::mmap_backing(cur, fd, off, prot, flags)?
    };
    let mm = cur.mm();
    let limit = cur.process().rlimit_cur(uapi::flags::RLIMIT_AS);
    let mut space = mm.space.lock();
    let replaced = if flags.contains(MapFlags::FIXED) { mapped_in(&space, addr.0, len as u64) } else { 0 };
    if !may_expand(&space, limit, (len as u64).saturating_sub(replaced)) {
        return Err(Errno::ENOMEM);
    }
    let r = space.mmap_with(addr.0, len as u64, prot, flags, backing, opts);
    r.map(|a| a as usize)
}

/// Bytes of `[addr, addr+len)` that are mapped now (a `MAP_FIXED` mapping replaces them).
fn mapped_in(space: &mm::MemorySpace, addr: u64, len: u64) -> u64 {
    let end = addr.saturating_add(len);
    space.maps().iter().map(|m| m.end.min(end).saturating_sub(m.start.max(addr))).sum()
}

/// `RLIMIT_AS` (Linux's `may_expand_vm`): whether the address space may grow by `grow` bytes
/// (page-rounded) under `limit`.
fn may_expand(space: &mm::MemorySpace, limit: u64, grow: u64) -> bool {
    if limit == u64::MAX {
        return true;
    }
    let grow = grow.div_ceil(uapi::mman::PAGE_SIZE).saturating_mul(uapi::mman::PAGE_SIZE);
    space.stats().vm_size.saturating_add(grow) <= limit
}

/// `munmap(2)`.
pub fn sys_munmap(cur: &mut Current, addr: UserAddr, len: usize) -> KResult<usize> {
    cur.mm().space.lock().munmap(addr.0, len as u64)?;
    Ok(0)
}

/// `mprotect(2)`.
pub fn sys_mprotect(cur: &mut Current, addr: UserAddr, len: usize, prot: Flags) -> KResult<usize> {
    let prot = Prot::from_bits(prot.0 as u32).ok_or(Errno::EINVAL)?;
    cur.mm().space.lock().mprotect(addr.0, len as u64, prot)?;
    Ok(0)
}

/// `brk(2)`: returns the new break, or the old one if it could not move (Linux never fails);
/// growing past `RLIMIT_AS` does not move it.
pub fn sys_brk(cur: &mut Current, addr: UserAddr) -> KResult<usize> {
    let limit = cur.process().rlimit_cur(uapi::flags::RLIMIT_AS);
    let mm = cur.mm();
    let mut space = mm.space.lock();
    let old = space.current_brk();
    if addr.0 > old && !may_expand(&space, limit, addr.0 - old) {
        return Ok(old as usize);
    }
    Ok(space.brk(addr.0) as usize)
}

/// `mremap(2)`.
pub fn sys_mremap(cur: &mut Current, old: UserAddr, old_len: usize, new_len: usize, flags: Flags, new_addr: UserAddr) -> KResult<usize> {
    let flags = MremapFlags::from_bits(flags.0 as u32).ok_or(Errno::EINVAL)?;
    let limit = cur.process().rlimit_cur(uapi::flags::RLIMIT_AS);
    let mm = cur.mm();
    let mut space = mm.space.lock();
    if new_len > old_len && !may_expand(&space, limit, (new_len - old_len) as u64) {
        return Err(Errno::ENOMEM);
    }
    let r = space.mremap(old.0, old_len as u64, new_len as u64, flags, new_addr.0);
    r.map(|a| a as usize)
}

/// `madvise(2)`: `MADV_DONTNEED` drops private pages (they read back as zero); the other
/// advice values are hints and succeed.
pub fn sys_madvise(cur: &mut Current, addr: UserAddr, len: usize, advice: i32) -> KResult<usize> {
    cur.mm().space.lock().madvise(addr.0, len as u64, advice)?;
    Ok(0)
}

/// `mincore(2)` (Linux's `sys_mincore`): one byte per page of `[start, start+len)`, 1 if the
/// page is in memory. `EINVAL` for an unaligned start; `ENOMEM` for a range beyond user space
/// or one that runs into unmapped memory (the bytes of the mappings before the hole are
/// written first); `EFAULT` if `vec` cannot hold the answer.
pub fn sys_mincore(cur: &mut Current, start: UserAddr, len: usize, vec: MincoreVec) -> KResult<usize> {
    use uapi::mman::PAGE_SIZE;
    if !start.0.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let user_end = arch_um::layout::TASK_SIZE;
    if start.0.checked_add(len as u64).is_none_or(|e| e > user_end) {
        return Err(Errno::ENOMEM);
    }
    let mut pages = (len as u64).div_ceil(PAGE_SIZE);
    if vec.0 .0.checked_add(pages).is_none_or(|e| e > user_end) {
        return Err(Errno::EFAULT);
    }
    let (mut addr, mut out) = (start.0, vec.0 .0);
    while pages > 0 {
        let chunk = cur.mm().space.lock().mincore_chunk(addr, pages)?;
        cur.write_bytes(UserAddr(out), &chunk)?;
        let n = chunk.len() as u64;
        pages -= n;
        out += n;
        addr += n * PAGE_SIZE;
    }
    Ok(0)
}
