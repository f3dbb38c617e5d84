//! System V shared memory (Linux's `ipc/shm.c`): `shmget`, `shmat`, `shmdt`, `shmctl` and
//! `/proc/sysvipc/shm`.
//!
//! A segment's memory is an `mm::ShmemObject` (zero-filled pages allocated on first touch,
//! what `MAP_SHARED|MAP_ANONYMOUS` memory is made of). `shmat` maps it `MAP_SHARED` into the
//! caller through a [`ShmMapping`], one per segment, which every attach's VMAs hold: the
//! segment's attach count (`shm_nattch`) is the number of VMAs holding it, so fork (which
//! copies VMAs), `munmap`, `shmdt`, exit and exec keep it right by themselves, as Linux's
//! `shm_open`/`shm_close` VMA hooks do. When the last VMA goes, the mapping's `Drop` destroys
//! a segment marked `SHM_DEST` by `IPC_RMID`. (A plain `munmap` of an attach therefore counts
//! as a detach, but only `shmdt`, exit, exec and `SHM_REMAP` stamp `shm_dtime`/`shm_lpid`:
//! mm has no per-VMA close hook.)
//!
//! Lock order: a memory space (`Mm::space`) before the segment table; the table is never held
//! while mapping or unmapping.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use bytemuck::{Pod, Zeroable};
use fs::klock::KMutex;
use fs::Credentials;
use mm::{Backing, MapOptions, MemorySpace, PageSource, ShmemObject};
use uapi::mman::{page_ceil, MapFlags, Prot, PAGE_SIZE};
use uapi::{Errno, KResult, UserAddr};

use super::util::{capable_ipc_lock, ipcget, now_secs, proc_prefix, Ids, Ipc64Perm, IpcObject, IpcPerm, IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT, S_IRUGO, S_IWUGO, S_IXUGO};
use crate::sched::Current;
use crate::task::kernel::kernel;
use crate::task::Mm;

/// `shmat` flag: attach read-only.
pub const SHM_RDONLY: i32 = 0o10000;
/// `shmat` flag: round the address down to `SHMLBA`.
pub const SHM_RND: i32 = 0o20000;
/// `shmat` flag: replace whatever is mapped at the address.
pub const SHM_REMAP: i32 = 0o40000;
/// `shmat` flag: attach executable.
pub const SHM_EXEC: i32 = 0o100000;
/// Mode flag: removed, destroyed at the last detach.
pub const SHM_DEST: u32 = 0o1000;
/// Mode flag: locked in memory (`SHM_LOCK`).
pub const SHM_LOCKED: u32 = 0o2000;
/// `shmctl`: lock the segment in memory.
pub const SHM_LOCK: i32 = 11;
/// `shmctl`: unlock it.
pub const SHM_UNLOCK: i32 = 12;
/// `shmctl`: `IPC_STAT` by index, returning the id.
pub const SHM_STAT: i32 = 13;
/// `shmctl`: usage totals.
pub const SHM_INFO: i32 = 14;
/// `shmctl`: `SHM_STAT` without the read-permission check.
pub const SHM_STAT_ANY: i32 = 15;

/// Smallest segment (`SHMMIN`).
const SHMMIN: u64 = 1;
/// Largest segment and largest total in pages (`SHMMAX`, `SHMALL`: `ULONG_MAX - 2^24`).
const SHMMAX: u64 = u64::MAX - (1 << 24);
/// Most segments (`SHMMNI`).
const SHMMNI: usize = 4096;
/// Attach address alignment on x86 (`SHMLBA`).
const SHMLBA: u64 = PAGE_SIZE;

/// `struct shmid64_ds` (x86-64).
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
pub struct Shmid64Ds {
    /// Permissions.
    pub perm: Ipc64Perm,
    /// Size in bytes.
    pub segsz: u64,
    /// Last attach.
    pub atime: i64,
    /// Last detach.
    pub dtime: i64,
    /// Last change.
    pub ctime: i64,
    /// Creator.
    pub cpid: i32,
    /// Last attacher or detacher.
    pub lpid: i32,
    /// Attaches.
    pub nattch: u64,
    /// Unused.
    pub _unused: [u64; 2],
}
const _: () = assert!(core::mem::size_of::<Shmid64Ds>() == 112);

/// `struct shminfo64` (`IPC_INFO`).
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
struct ShmInfo64 {
    shmmax: u64,
    shmmin: u64,
    shmmni: u64,
    shmseg: u64,
    shmall: u64,
    _unused: [u64; 4],
}

/// `struct shm_info` (`SHM_INFO`).
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
#[repr(C)]
struct ShmInfo {
    used_ids: i32,
    _pad: i32,
    shm_tot: u64,
    shm_rss: u64,
    shm_swp: u64,
    swap_attempts: u64,
    swap_successes: u64,
}

/// One segment (Linux's `shmid_kernel`).
struct Segment {
    perm: IpcPerm,
    /// The key it was created with (its name in `/proc/<pid>/maps`).
    name_key: i32,
    segsz: u64,
    atime: i64,
    dtime: i64,
    ctime: i64,
    cpid: u32,
    lpid: u32,
    memory: Arc<ShmemObject>,
    /// What the VMAs of its attaches hold; its strong count is the attach count.
    mapping: Weak<ShmMapping>,
    /// The user whose `RLIMIT_MEMLOCK` a `SHM_LOCK` was charged to.
    locker: Option<u32>,
}

impl IpcObject for Segment {
    fn perm(&self) -> &IpcPerm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut IpcPerm {
        &mut self.perm
    }
}

impl Segment {
    fn nattch(&self) -> u64 {
        self.mapping.strong_count() as u64
    }

    fn pages(&self) -> u64 {
        self.segsz.div_ceil(PAGE_SIZE)
    }

    /// The identity of the mapping its VMAs hold, if it is attached.
    fn mapping_ptr(&self) -> Option<usize> {
        (self.mapping.strong_count() > 0).then_some(Weak::as_ptr(&self.mapping) as *const () as usize)
    }

    /// Records an attach or detach by `pid` (`shm_open`/`shm_close`).
    fn touch(&mut self, pid: u32, attach: bool) {
        self.lpid = pid;
        if attach {
            self.atime = now_secs();
        } else {
            self.dtime = now_secs();
        }
    }

    fn to_abi(&self) -> Shmid64Ds {
        Shmid64Ds {
            perm: self.perm.to_abi(),
            segsz: self.segsz,
            atime: self.atime,
            dtime: self.dtime,
            ctime: self.ctime,
            cpid: self.cpid as i32,
            lpid: self.lpid as i32,
            nattch: self.nattch(),
            _unused: [0; 2],
        }
    }
}

/// Every segment of the (single) IPC namespace.
static SHM: KMutex<Ids<Segment>> = KMutex::new(Ids::new());

/// What an attach maps: the segment's memory, as a page source whose VMAs never merge (each
/// counts as an attach) and which destroys a removed segment when its last VMA goes.
pub struct ShmMapping {
    id: i32,
    name_key: i32,
    size: u64,
    memory: Arc<ShmemObject>,
}

impl PageSource for ShmMapping {
    fn page(&self, index: u64) -> KResult<mm::FrameNo> {
        self.memory.page(index)
    }
    fn size(&self) -> u64 {
        self.size
    }
    /// `/SYSV<key> (deleted)`, as Linux names the segment's shmem file.
    fn name(&self) -> String {
        format!("/SYSV{:08x} (deleted)", self.name_key)
    }
    fn mergeable(&self) -> bool {
        false
    }
}

impl Drop for ShmMapping {
    /// The last attach went away: a segment already removed is destroyed now (`shm_close`
    /// with `shm_may_destroy`).
    fn drop(&mut self) {
        let mut shm = SHM.lock();
        let dead = shm.get(self.id).is_ok_and(|s| Arc::ptr_eq(&s.memory, &self.memory) && s.perm.mode & SHM_DEST != 0 && s.nattch() == 0);
        if dead {
            shm.remove(self.id);
        }
    }
}

/// The pages all segments hold (`shm_tot`).
fn total_pages(shm: &Ids<Segment>) -> u64 {
    shm.iter().map(Segment::pages).sum()
}

/// `shmget(2)`: the segment of `key`, created (zero-filled, `size` bytes) under `IPC_CREAT` or
/// for `IPC_PRIVATE`. `EINVAL` for a size below `SHMMIN` or above `SHMMAX` when creating, or
/// larger than an existing segment; `ENOSPC` past `SHMALL` pages or `SHMMNI` segments;
/// `ENOMEM` for more than all memory; and `ipcget`'s `ENOENT`/`EEXIST`/`EACCES`.
pub fn shmget(cur: &Current, key: i32, size: u64, flags: i32) -> KResult<i32> {
    let cred = cur.process().creds();
    let pid = cur.pid();
    let mut shm = SHM.lock();
    let more_checks = |s: &Segment| if s.segsz < size { Err(Errno::EINVAL) } else { Ok(()) };
    ipcget(&mut shm, key, flags, &cred, more_checks, |ids| newseg(ids, key, size, flags, &cred, pid))
}

/// Linux's `newseg`.
fn newseg(ids: &mut Ids<Segment>, key: i32, size: u64, flags: i32, cred: &Credentials, pid: u32) -> KResult<i32> {
    if !(SHMMIN..=SHMMAX).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let pages = size.div_ceil(PAGE_SIZE);
    if total_pages(ids).checked_add(pages).is_none_or(|t| t > SHMMAX) {
        return Err(Errno::ENOSPC);
    }
    let frames = kernel().frames.clone();
    if flags & SHM_NORESERVE == 0 && pages > frames.total_frames() {
        return Err(Errno::ENOMEM);
    }
    let memory = Arc::new(ShmemObject::new(frames, size));
    ids.add(SHMMNI, |_| Segment {
        perm: IpcPerm::new(key, flags, cred),
        name_key: key,
        segsz: size,
        atime: 0,
        dtime: 0,
        ctime: now_secs(),
        cpid: pid,
        lpid: 0,
        memory,
        mapping: Weak::new(),
        locker: None,
    })
}

/// `shmget` flag: do not reserve memory for the segment.
const SHM_NORESERVE: i32 = 0o10000;

/// The address and mapping flags `shmat` uses for `addr` (Linux's `do_shmat` prologue):
/// unaligned is `EINVAL` unless `SHM_RND` rounds it down; `SHM_REMAP` needs an address.
fn attach_address(addr: u64, flags: i32) -> KResult<u64> {
    let mut addr = addr;
    if addr != 0 {
        if addr & (SHMLBA - 1) != 0 {
            if flags & SHM_RND == 0 {
                return Err(Errno::EINVAL);
            }
            addr &= !(SHMLBA - 1);
            if addr == 0 && flags & SHM_REMAP != 0 {
                return Err(Errno::EINVAL);
            }
        }
    } else if flags & SHM_REMAP != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(addr)
}

/// `shmat(2)`: maps segment `shmid` shared into the caller at `addr` (or where `mmap` would
/// put it), read-only with `SHM_RDONLY`, executable with `SHM_EXEC`; returns the address.
/// As Linux: `EINVAL` for a negative id, a bad address, or (without `SHM_REMAP`) an address
/// range that is not free; `EINVAL` for an unknown id; `EACCES` without read (and write
/// unless `SHM_RDONLY`) permission; then `mmap`'s errors. A removed segment that is still
/// attached can be attached again.
pub fn shmat(cur: &mut Current, shmid: i32, addr: u64, flags: i32) -> KResult<u64> {
    if shmid < 0 {
        return Err(Errno::EINVAL);
    }
    let addr = attach_address(addr, flags)?;
    let rdonly = flags & SHM_RDONLY != 0;
    let mut prot = if rdonly { Prot::READ } else { Prot::READ | Prot::WRITE };
    let mut acc = if rdonly { S_IRUGO } else { S_IRUGO | S_IWUGO };
    if flags & SHM_EXEC != 0 {
        prot |= Prot::EXEC;
        acc |= S_IXUGO;
    }
    let cred = cur.process().creds();
    // Holding the mapping keeps the segment alive meanwhile (Linux's `shm_nattch++`).
    let mapping = {
        let mut shm = SHM.lock();
        let seg = shm.get_mut(shmid)?;
        seg.perm.check(&cred, acc)?;
        match seg.mapping.upgrade() {
            Some(m) => m,
            None => {
                let m = Arc::new(ShmMapping { id: shmid, name_key: seg.name_key, size: seg.segsz, memory: seg.memory.clone() });
                seg.mapping = Arc::downgrade(&m);
                m
            }
        }
    };
    let size = mapping.size;
    let as_limit = cur.process().rlimit_cur(uapi::flags::RLIMIT_AS);
    let mm = cur.mm();
    let (result, replaced) = {
        let mut space = mm.space.lock();
        // `SHM_REMAP` over attaches detaches them (the VMAs `mmap` replaces are closed).
        let end = addr.saturating_add(page_ceil(size).unwrap_or(u64::MAX));
        let replaced: Vec<i32> = if addr != 0 && flags & SHM_REMAP != 0 { attach_vmas(&space, addr).iter().filter(|v| v.start < end).map(|v| v.id).collect() } else { Vec::new() };
        (map_segment(&mut space, &mapping, addr, size, prot, flags, as_limit), replaced)
    };
    if result.is_ok() {
        let mut shm = SHM.lock();
        for id in replaced {
            if let Ok(seg) = shm.get_mut(id) {
                seg.touch(cur.pid(), false);
            }
        }
        if let Ok(seg) = shm.get_mut(shmid) {
            seg.touch(cur.pid(), true);
        }
    }
    drop(mapping);
    result
}

/// Maps an attach: `MAP_SHARED` (`MAP_FIXED` at a given address), a read-only attach never
/// becoming writable (`max_prot`); `ENOMEM` if the address space would grow past `as_limit`
/// (`RLIMIT_AS`, Linux's `may_expand_vm`).
fn map_segment(space: &mut MemorySpace, mapping: &Arc<ShmMapping>, addr: u64, size: u64, prot: Prot, flags: i32, as_limit: u64) -> KResult<u64> {
    let end = addr.checked_add(size).ok_or(Errno::EINVAL)?;
    if addr != 0 && flags & SHM_REMAP == 0 && space.vmas().any(|v| v.start < end && v.end > addr) {
        return Err(Errno::EINVAL);
    }
    if as_limit != u64::MAX {
        let len = page_ceil(size).ok_or(Errno::ENOMEM)?;
        let end = addr.saturating_add(len);
        let replaced: u64 = if addr == 0 { 0 } else { space.vmas().map(|v| v.end.min(end).saturating_sub(v.start.max(addr))).sum() };
        if space.stats().vm_size.saturating_add(len - replaced.min(len)) > as_limit {
            return Err(Errno::ENOMEM);
        }
    }
    let mut map_flags = MapFlags::SHARED;
    if addr != 0 {
        map_flags |= MapFlags::FIXED;
    }
    let max_prot = if flags & SHM_RDONLY != 0 { Prot::READ | Prot::EXEC } else { Prot::READ | Prot::WRITE | Prot::EXEC };
    let source: Arc<dyn PageSource> = mapping.clone();
    space.mmap_with(addr, size, prot, map_flags, Backing::File { source, offset: 0 }, MapOptions { name: None, max_prot })
}

/// The attached segments by the identity of their mapping: what tells a VMA of an attach.
fn attached_segments() -> BTreeMap<usize, (i32, u64)> {
    SHM.lock().iter().filter_map(|s| Some((s.mapping_ptr()?, (s.perm.id, s.segsz)))).collect()
}

/// A VMA of an attach: its range, file offset and segment.
struct AttachVma {
    start: u64,
    end: u64,
    offset: u64,
    source: usize,
    id: i32,
    segsz: u64,
}

/// The VMAs of attaches in `space` from the one containing or following `from`, in order.
fn attach_vmas(space: &MemorySpace, from: u64) -> Vec<AttachVma> {
    let attached = attached_segments();
    if attached.is_empty() {
        return Vec::new();
    }
    space
        .vmas()
        .filter(|v| v.end > from)
        .filter_map(|v| {
            let Backing::File { source, offset } = &v.backing else { return None };
            let ptr = Arc::as_ptr(source) as *const () as usize;
            let &(id, segsz) = attached.get(&ptr)?;
            Some(AttachVma { start: v.start, end: v.end, offset: *offset, source: ptr, id, segsz })
        })
        .collect()
}

/// True if `v` is a piece of an attach made at `addr` (it starts as far above `addr` as its
/// offset into the segment).
fn starts_at(v: &AttachVma, addr: u64) -> bool {
    v.start >= addr && (v.start - addr) / PAGE_SIZE == v.offset / PAGE_SIZE
}

/// `shmdt(2)`: detaches the attach made at `addr`: the first attach piece at or above `addr`
/// whose offset matches its distance from `addr`, then the other pieces of the same segment
/// within the segment's size (Linux's `ksys_shmdt`, which finds attaches split by
/// `mprotect`/`munmap`). `EINVAL` if `addr` is unaligned or no attach starts there.
pub fn shmdt(cur: &mut Current, addr: u64) -> KResult<usize> {
    if addr & (PAGE_SIZE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let mm = cur.mm();
    let mut space = mm.space.lock();
    let vmas = attach_vmas(&space, addr);
    let Some(first) = vmas.iter().position(|v| starts_at(v, addr)) else { return Err(Errno::EINVAL) };
    let (source, size) = (vmas[first].source, page_ceil(vmas[first].segsz).unwrap_or(u64::MAX));
    let mut doomed = vec![&vmas[first]];
    doomed.extend(
        vmas[first + 1..]
            .iter()
            .take_while(|v| v.end - addr <= size)
            .filter(|v| v.source == source && starts_at(v, addr)),
    );
    {
        let mut shm = SHM.lock();
        for v in &doomed {
            if let Ok(seg) = shm.get_mut(v.id) {
                seg.touch(cur.pid(), false);
            }
        }
    }
    for v in doomed {
        space.munmap(v.start, v.end - v.start)?;
    }
    Ok(0)
}

/// Called when a memory space is copied by `fork`: each attach it inherits is a new attach by
/// the parent `pid` (Linux's `shm_open` from `dup_mmap`).
pub fn mm_forked(pid: u32, child: &MemorySpace) {
    let vmas = attach_vmas(child, 0);
    let mut shm = SHM.lock();
    for v in vmas {
        if let Ok(seg) = shm.get_mut(v.id) {
            seg.touch(pid, true);
        }
    }
}

/// Called when the caller's memory space is about to go (exit, exec): unless another live task
/// still runs in it (a `vfork` parent), its attaches are detached by `pid` now, so the
/// segments see the detach (time, pid, attach count, destruction) at once, as Linux's
/// `exit_mmap` closes the VMAs.
pub fn release_mm(cur: &Current) {
    let mm = cur.mm();
    let attached = !attach_vmas(&mm.space.lock(), 0).is_empty();
    if !attached || mm_shared(cur, &mm) {
        return;
    }
    let mut space = mm.space.lock();
    let vmas = attach_vmas(&space, 0);
    {
        let mut shm = SHM.lock();
        for v in &vmas {
            if let Ok(seg) = shm.get_mut(v.id) {
                seg.touch(cur.pid(), false);
            }
        }
    }
    for v in vmas {
        let _ = space.munmap(v.start, v.end - v.start);
    }
}

/// True if a live task other than the caller runs in `mm`.
fn mm_shared(cur: &Current, mm: &Arc<Mm>) -> bool {
    let tasks: Vec<_> = kernel().tasks.lock().values().filter_map(Weak::upgrade).collect();
    tasks.iter().any(|t| t.tid != cur.task.tid && !t.exited.load(std::sync::atomic::Ordering::Relaxed) && Arc::ptr_eq(&t.mm(), mm))
}

/// `shmctl(2)`: `IPC_INFO`, `SHM_INFO`, `IPC_STAT`, `SHM_STAT`, `SHM_STAT_ANY`, `IPC_SET`,
/// `IPC_RMID`, `SHM_LOCK`, `SHM_UNLOCK`, with Linux's errors (`EINVAL` for a negative id or
/// command and unknown commands).
pub fn shmctl(cur: &mut Current, shmid: i32, cmd: i32, buf: UserAddr) -> KResult<usize> {
    if cmd < 0 || shmid < 0 {
        return Err(Errno::EINVAL);
    }
    let cred = cur.process().creds();
    match cmd {
        IPC_INFO => {
            let info = ShmInfo64 { shmmax: SHMMAX, shmmin: SHMMIN, shmmni: SHMMNI as u64, shmseg: SHMMNI as u64, shmall: SHMMAX, _unused: [0; 4] };
            cur.write_val(buf, &info)?;
            Ok(SHM.lock().max_idx().max(0) as usize)
        }
        SHM_INFO => {
            let (info, max) = {
                let shm = SHM.lock();
                let rss = shm.iter().map(|s| s.memory.resident_pages()).sum();
                let info = ShmInfo { used_ids: shm.in_use() as i32, shm_tot: total_pages(&shm), shm_rss: rss, ..ShmInfo::default() };
                (info, shm.max_idx())
            };
            cur.write_val(buf, &info)?;
            Ok(max.max(0) as usize)
        }
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            let (ds, ret) = {
                let shm = SHM.lock();
                let seg = if cmd == IPC_STAT { shm.get(shmid)? } else { shm.by_index(shmid)? };
                if cmd != SHM_STAT_ANY {
                    seg.perm.check(&cred, S_IRUGO)?;
                }
                (seg.to_abi(), if cmd == IPC_STAT { 0 } else { seg.perm.id as usize })
            };
            cur.write_val(buf, &ds)?;
            Ok(ret)
        }
        IPC_SET => {
            let ds: Shmid64Ds = cur.read_val(buf)?;
            let mut shm = SHM.lock();
            let seg = shm.get_mut(shmid)?;
            seg.perm.check_owner(&cred)?;
            seg.perm.update(&ds.perm)?;
            seg.ctime = now_secs();
            Ok(0)
        }
        IPC_RMID => rmid(&cred, shmid),
        SHM_LOCK | SHM_UNLOCK => lock(cur, &cred, shmid, cmd == SHM_LOCK),
        _ => Err(Errno::EINVAL),
    }
}

/// `IPC_RMID` (Linux's `do_shm_rmid`): a segment still attached is marked `SHM_DEST` and its
/// key freed at once; it goes with its last detach. Others go now.
fn rmid(cred: &Credentials, shmid: i32) -> KResult<usize> {
    let mut shm = SHM.lock();
    let seg = shm.get_mut(shmid)?;
    seg.perm.check_owner(cred)?;
    if seg.nattch() > 0 {
        seg.perm.mode |= SHM_DEST;
        shm.set_key_private(shmid);
    } else {
        shm.remove(shmid);
    }
    Ok(0)
}

/// `SHM_LOCK`/`SHM_UNLOCK` (Linux's `shmctl_do_lock`): without `CAP_IPC_LOCK` only the owner or
/// creator may (`EPERM`), locking needs a nonzero `RLIMIT_MEMLOCK` (`EPERM`) that the user's
/// locked segments stay within (`ENOMEM`). umbra never swaps: locking only sets the flag.
fn lock(cur: &Current, cred: &Credentials, shmid: i32, on: bool) -> KResult<usize> {
    let memlock = cur.process().rlimit_cur(uapi::flags::RLIMIT_MEMLOCK);
    let mut shm = SHM.lock();
    let uid = cred.uid;
    let locked_pages: u64 = shm.iter().filter(|s| s.locker == Some(uid)).map(Segment::pages).sum();
    let seg = shm.get_mut(shmid)?;
    if !capable_ipc_lock(cred) {
        if cred.euid != seg.perm.uid && cred.euid != seg.perm.cuid {
            return Err(Errno::EPERM);
        }
        if on && memlock == 0 {
            return Err(Errno::EPERM);
        }
    }
    if on {
        if seg.perm.mode & SHM_LOCKED == 0 {
            let limit = if memlock == u64::MAX { u64::MAX } else { memlock / PAGE_SIZE };
            if !capable_ipc_lock(cred) && locked_pages.saturating_add(seg.pages()) > limit {
                return Err(Errno::ENOMEM);
            }
            seg.perm.mode |= SHM_LOCKED;
            seg.locker = Some(uid);
        }
    } else if seg.perm.mode & SHM_LOCKED != 0 {
        seg.perm.mode &= !SHM_LOCKED;
        seg.locker = None;
    }
    Ok(0)
}

/// The text of `/proc/sysvipc/shm` (Linux's `sysvipc_shm_proc_show`; rss in bytes).
pub fn proc_text() -> String {
    let mut out = String::from("       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n");
    for s in SHM.lock().iter() {
        let p = &s.perm;
        out.push_str(&format!(
            "{} {:>21} {:>5} {:>5}  {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>21} {:>21}\n",
            proc_prefix(p),
            s.segsz,
            s.cpid,
            s.lpid,
            s.nattch(),
            p.uid,
            p.gid,
            p.cuid,
            p.cgid,
            s.atime,
            s.dtime,
            s.ctime,
            s.memory.resident_pages() * PAGE_SIZE,
            0
        ));
    }
    out
}
