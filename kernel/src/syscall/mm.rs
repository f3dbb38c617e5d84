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
    let r = mm.space.lock().mmap_with(addr.0, len as u64, prot, flags, backing, opts);
    r.map(|a| a as usize)
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

/// `brk(2)`: returns the new break, or the old one if it could not move (Linux never fails).
pub fn sys_brk(cur: &mut Current, addr: UserAddr) -> KResult<usize> {
    Ok(cur.mm().space.lock().brk(addr.0) as usize)
}

/// `mremap(2)`.
pub fn sys_mremap(cur: &mut Current, old: UserAddr, old_len: usize, new_len: usize, flags: Flags, new_addr: UserAddr) -> KResult<usize> {
    let flags = MremapFlags::from_bits(flags.0 as u32).ok_or(Errno::EINVAL)?;
    let r = cur.mm().space.lock().mremap(old.0, old_len as u64, new_len as u64, flags, new_addr.0);
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
