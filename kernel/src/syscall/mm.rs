//! Memory syscalls. The work is mm's (`MemorySpace`); nothing reaches the host here — changed
//! page-table entries are synced to the stub in one batch before the guest runs again.

use super::args::{Fd, Flags};
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
