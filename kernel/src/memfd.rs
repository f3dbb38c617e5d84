//! `memfd_create` and file seals (Linux's `mm/memfd.c`): anonymous memory files on an internal
//! tmpfs (Linux's `shm_mnt`), named `memfd:NAME` (so `/proc/<pid>/fd` and the maps show
//! `/memfd:NAME (deleted)`), and the `F_ADD_SEALS`/`F_GET_SEALS` rules — who may add seals,
//! `EBUSY` for `F_SEAL_WRITE` while writable shared mappings exist, and what a sealed memfd
//! may still be mapped as. The file's data and the seals' effect on writes live in
//! `fs::memfd`.

use std::sync::{Arc, OnceLock};

use crate::sched::Current;
use crate::task::kernel::kernel;
use fs::abi::OpenFlags;
use fs::memfd::MemfdInode;
use fs::tmpfs::{TmpFs, TmpInode};
use fs::{Dentry, FdFlags, FileSystem, FileType, Mount, MountFlags, OpenFile, Path};
use mm::Backing;
use uapi::flags::{
    F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, MFD_ALLOW_SEALING, MFD_CLOEXEC, MFD_EXEC,
    MFD_HUGETLB, MFD_HUGE_MASK, MFD_HUGE_SHIFT, MFD_NAME_MAX_LEN, MFD_NOEXEC_SEAL,
};
use uapi::mman::{MapFlags, Prot};
use uapi::{Errno, KResult, UserAddr};

/// Every seal Linux knows (`F_ALL_SEALS`).
const ALL_SEALS: u32 = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;
/// Every `memfd_create` flag (`MFD_ALL_FLAGS`).
const ALL_FLAGS: u32 = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;

/// The internal tmpfs every memfd lives on, mounted nowhere (Linux's `shm_mnt`).
fn shm_mount() -> &'static Arc<Mount> {
    static SHM: OnceLock<Arc<Mount>> = OnceLock::new();
    SHM.get_or_init(|| {
        let fs = TmpFs::new(None);
        let root = Dentry::new_root(fs.root());
        Mount::new(fs, root, b"tmpfs", MountFlags::empty())
    })
}

/// The memfd behind an open file, if it is one.
pub fn memfd_of(f: &OpenFile) -> Option<&MemfdInode> {
    f.inode()?.as_any().downcast_ref::<MemfdInode>()
}

/// Validates `memfd_create` flags as Linux: unknown bits (huge page sizes only with
/// `MFD_HUGETLB`) or `MFD_EXEC` with `MFD_NOEXEC_SEAL` are `EINVAL`. umbra has no huge
/// pages, so `MFD_HUGETLB` is `EINVAL` as well.
fn check_flags(flags: u32) -> KResult<()> {
    let allowed = if flags & MFD_HUGETLB == 0 { ALL_FLAGS } else { ALL_FLAGS | (MFD_HUGE_MASK << MFD_HUGE_SHIFT) };
    if flags & !allowed != 0 || (flags & MFD_EXEC != 0 && flags & MFD_NOEXEC_SEAL != 0) {
        return Err(Errno::EINVAL);
    }
    if flags & MFD_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The mode and initial seals: `MFD_NOEXEC_SEAL` gives 0666 sealed against exec (sealing
/// allowed); otherwise 0777 (Linux's default with `vm.memfd_noexec` = 0), sealed against
/// sealing unless `MFD_ALLOW_SEALING`.
fn mode_and_seals(flags: u32) -> (u32, u32) {
    if flags & MFD_NOEXEC_SEAL != 0 {
        (0o666, F_SEAL_EXEC)
    } else if flags & MFD_ALLOW_SEALING != 0 {
        (0o777, 0)
    } else {
        (0o777, F_SEAL_SEAL)
    }
}

/// `memfd_create(2)`: a new memory file open `O_RDWR`, named `memfd:NAME`. `EINVAL` for bad
/// flags or a name longer than 249 bytes, `EFAULT` if the name cannot be read, `EMFILE` when
/// the fd table is full.
pub fn memfd_create(cur: &mut Current, name: UserAddr, flags: u32) -> KResult<usize> {
    check_flags(flags)?;
    let name = match cur.read_cstr(name, MFD_NAME_MAX_LEN + 1) {
        Err(Errno::ENAMETOOLONG) => return Err(Errno::EINVAL),
        r => r?,
    };
    let mut full = b"memfd:".to_vec();
    full.extend_from_slice(&name);
    let (mode, seals) = mode_and_seals(flags);
    let creds = cur.process().creds();
    let mount = shm_mount();
    let fs: Arc<dyn FileSystem> = mount.fs().clone();
    let inode = MemfdInode::new(fs, kernel().frames.clone(), &full, mode, (creds.fsuid, creds.fsgid), seals);
    let dentry = Dentry::new_unlinked(mount.root(), &full, inode, false);
    let file = OpenFile::new(Path { mount: mount.clone(), dentry }, None, OpenFlags::RDWR);
    let fdflags = if flags & MFD_CLOEXEC != 0 { FdFlags::CLOEXEC } else { FdFlags::empty() };
    let fd = cur.process().files().lock().alloc(file, fdflags)?;
    Ok(fd as usize)
}

/// True for a regular tmpfs file that is not a memfd: Linux's shmem files carry seals too,
/// born with `F_SEAL_SEAL`, so they report it and refuse new ones.
fn is_plain_shmem_file(f: &OpenFile) -> bool {
    let Some(i) = f.inode() else { return false };
    i.as_any().is::<TmpInode>() && i.attr().is_ok_and(|a| a.file_type() == FileType::Regular) && f.file_like().is_none()
}

/// `fcntl(F_GET_SEALS)`: the seals, `F_SEAL_SEAL` for other tmpfs files, `EINVAL` for files
/// that cannot carry seals.
pub fn get_seals(f: &Arc<OpenFile>) -> KResult<usize> {
    if let Some(m) = memfd_of(f) {
        return Ok(m.seals() as usize);
    }
    if is_plain_shmem_file(f) {
        return Ok(F_SEAL_SEAL as usize);
    }
    Err(Errno::EINVAL)
}

/// `fcntl(F_ADD_SEALS)` (Linux's `memfd_add_seals`), in its order: `EPERM` unless open for
/// writing, `EINVAL` for unknown seals or a file that cannot carry seals, `EPERM` once
/// `F_SEAL_SEAL` is set, `EBUSY` for `F_SEAL_WRITE` while a writable shared mapping exists.
/// `F_SEAL_EXEC` on an executable memfd implies the write and size seals.
pub fn add_seals(f: &Arc<OpenFile>, seals: u32) -> KResult<usize> {
    if !f.flags().can_write() {
        return Err(Errno::EPERM);
    }
    if seals & !ALL_SEALS != 0 {
        return Err(Errno::EINVAL);
    }
    let Some(m) = memfd_of(f) else {
        return Err(if is_plain_shmem_file(f) { Errno::EPERM } else { Errno::EINVAL });
    };
    let now = m.seals();
    if now & F_SEAL_SEAL != 0 {
        return Err(Errno::EPERM);
    }
    if seals & F_SEAL_WRITE != 0 && now & F_SEAL_WRITE == 0 && writably_mapped(m) {
        return Err(Errno::EBUSY);
    }
    let mut seals = seals;
    if seals & F_SEAL_EXEC != 0 && m.mode() & 0o111 != 0 {
        seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
    }
    m.add_seals(seals);
    Ok(0)
}

/// Whether some address space maps `m` shared and may write it (Linux's `i_mmap_writable`:
/// a `MAP_SHARED` mapping with `VM_MAYWRITE`, even if not writable now).
fn writably_mapped(m: &MemfdInode) -> bool {
    let me = m as *const MemfdInode as *const ();
    let tasks: Vec<_> = kernel().tasks.lock().values().filter_map(std::sync::Weak::upgrade).collect();
    let mut seen: Vec<*const crate::task::Mm> = Vec::new();
    for t in tasks {
        let mm = t.mm();
        if seen.contains(&Arc::as_ptr(&mm)) {
            continue;
        }
        seen.push(Arc::as_ptr(&mm));
        let space = mm.space.lock();
        let found = space.vmas().any(|v| {
            v.is_shared() && v.max_prot.contains(Prot::WRITE) && matches!(&v.backing, Backing::File { source, .. } if std::ptr::eq(Arc::as_ptr(source) as *const (), me))
        });
        if found {
            return true;
        }
    }
    false
}

/// What the seals of a memfd leave of a new mapping (Linux's `memfd_check_seals_mmap`): with
/// `F_SEAL_WRITE` or `F_SEAL_FUTURE_WRITE` a writable shared mapping is `EPERM` and a
/// read-only shared one may never become writable; `max_prot` is narrowed accordingly.
pub fn check_seals_mmap(f: &OpenFile, prot: Prot, flags: MapFlags, max_prot: &mut Prot) -> KResult<()> {
    let Some(m) = memfd_of(f) else { return Ok(()) };
    let shared = flags.bits() & uapi::mman::MAP_TYPE != MapFlags::PRIVATE.bits() && f.flags().can_write();
    if !shared || m.seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) == 0 {
        return Ok(());
    }
    if prot.contains(Prot::WRITE) {
        return Err(Errno::EPERM);
    }
    max_prot.remove(Prot::WRITE);
    Ok(())
}
