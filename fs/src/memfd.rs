//! Memory files: the regular files `memfd_create` makes (Linux's shmem files on the internal
//! `shm_mnt`, `mm/shmem.c` + `mm/memfd.c`). A [`MemfdInode`]'s data *are* guest RAM frames,
//! allocated when first written or touched, and every mapping of it maps those frames directly
//! (it is its own [`PageSource`]): `MAP_SHARED` mappings in a parent and a forked child see
//! one content, `read(2)` sees stores made through a mapping, and nothing is lost on `munmap`.
//!
//! File seals (`F_SEAL_*`) are kept here and enforced on every change of the data, as
//! `shmem_write_begin`, `shmem_setattr` and `shmem_fallocate` do: `F_SEAL_WRITE` and
//! `F_SEAL_FUTURE_WRITE` refuse writes (`EPERM`), `F_SEAL_GROW` refuses growth (a write is cut
//! at the first page that would grow the file), `F_SEAL_SHRINK` refuses shrinking, and
//! `F_SEAL_EXEC` refuses changing the mode's exec bits. Whether a seal may be *added* (who
//! may, and `EBUSY` while writable shared mappings exist) is the kernel's business.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use mm::{FrameAllocator, FrameNo, PageSource, VmReader, VmWriter};
use uapi::flags::{F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SHRINK, F_SEAL_WRITE};
use uapi::mman::PAGE_SIZE;
use uapi::{Errno, KResult};

use crate::abi::{MAX_LFS_FILESIZE, S_IFREG};
use crate::inode::{FileSystem, Inode, InodeAttr, SetAttr};
use crate::klock::KMutex;
use crate::time::{now, Timespec};

/// `fallocate` mode bits a memfd accepts (`FALLOC_FL_KEEP_SIZE`, `FALLOC_FL_PUNCH_HOLE`).
const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;

/// The seals that forbid writing the data.
const WRITE_SEALS: u32 = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

/// A memfd's data and attributes.
struct State {
    pages: BTreeMap<u64, FrameNo>,
    size: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
}

/// A memfd's inode: frames, size, attributes and seals.
pub struct MemfdInode {
    me: Weak<MemfdInode>,
    fs: Arc<dyn FileSystem>,
    ino: u64,
    /// `memfd:NAME`, the dentry name (the mapping shows `/memfd:NAME (deleted)`).
    name: Vec<u8>,
    frames: Arc<FrameAllocator>,
    state: KMutex<State>,
    seals: AtomicU32,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(2);

impl MemfdInode {
    /// A new empty memfd named `name` (the `memfd:` prefix included) in `fs` (the internal
    /// tmpfs all memfds share), with permission bits `mode` and the initial `seals`.
    pub fn new(fs: Arc<dyn FileSystem>, frames: Arc<FrameAllocator>, name: &[u8], mode: u32, owner: (u32, u32), seals: u32) -> Arc<MemfdInode> {
        let t = now();
        let state = State { pages: BTreeMap::new(), size: 0, mode: S_IFREG | (mode & 0o7777), uid: owner.0, gid: owner.1, atime: t, mtime: t, ctime: t };
        Arc::new_cyclic(|me| MemfdInode {
            me: me.clone(),
            fs,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            name: name.to_vec(),
            frames,
            state: KMutex::new(state),
            seals: AtomicU32::new(seals),
        })
    }

    /// The dentry name, `memfd:NAME`.
    pub fn dentry_name(&self) -> &[u8] {
        &self.name
    }

    /// The seals now (`F_GET_SEALS`).
    pub fn seals(&self) -> u32 {
        self.seals.load(Ordering::Relaxed)
    }

    /// Adds `seals` (the caller checked that they may be added).
    pub fn add_seals(&self, seals: u32) {
        self.seals.fetch_or(seals, Ordering::Relaxed);
    }

    /// The mode's permission bits.
    pub fn mode(&self) -> u32 {
        self.state.lock().mode & 0o7777
    }

    /// Frame of page `index`, allocated (zeroed, after the previous page's frame when
    /// possible) if the file has none yet.
    fn frame_for(&self, st: &mut State, index: u64) -> KResult<FrameNo> {
        if let Some(&f) = st.pages.get(&index) {
            return Ok(f);
        }
        let hint = index.checked_sub(1).and_then(|i| st.pages.get(&i).copied());
        let f = self.frames.alloc_near(hint, 1)?;
        st.pages.insert(index, f);
        Ok(f)
    }

    /// Drops every page wholly at or past byte `from` and zeroes the rest of the page holding
    /// `from` (what truncation and hole punching leave).
    fn drop_from(&self, st: &mut State, from: u64) {
        let keep = from.div_ceil(PAGE_SIZE);
        let gone = st.pages.split_off(&keep);
        self.frames.decref_many(gone.into_values());
        self.zero_tail(st, from);
    }

    /// Zeroes page bytes from `from` to the end of its page, if that page exists.
    fn zero_tail(&self, st: &State, from: u64) {
        let tail = from % PAGE_SIZE;
        if tail == 0 {
            return;
        }
        if let Some(f) = st.pages.get(&(from / PAGE_SIZE)) {
            let _ = self.frames.phys().zero(f.offset() + tail, PAGE_SIZE - tail);
        }
    }

    /// Writes one piece of `data` that stays within one page, at `off`.
    fn write_piece(&self, st: &mut State, off: u64, len: u64, data: &mut VmReader<'_>) -> KResult<u64> {
        let frame = self.frame_for(st, off / PAGE_SIZE)?;
        let mut w = self.frames.phys().writer(frame.offset() + off % PAGE_SIZE, len).map_err(|_| Errno::EIO)?;
        Ok(w.write(data) as u64)
    }

    /// The page pieces `[off, off+len)` is written in (each inside one page), as Linux's
    /// `generic_perform_write` asks `shmem_write_begin` page by page.
    fn pieces(off: u64, len: u64) -> impl Iterator<Item = (u64, u64)> {
        let end = off.saturating_add(len);
        let mut pos = off;
        std::iter::from_fn(move || {
            if pos >= end {
                return None;
            }
            let n = (PAGE_SIZE - pos % PAGE_SIZE).min(end - pos);
            let piece = (pos, n);
            pos += n;
            Some(piece)
        })
    }

    fn touch_mc(st: &mut State) {
        let t = now();
        st.mtime = t;
        st.ctime = t;
    }
}

impl Drop for MemfdInode {
    fn drop(&mut self) {
        let pages = std::mem::take(&mut self.state.lock().pages);
        self.frames.decref_many(pages.into_values());
    }
}

impl Inode for MemfdInode {
    fn attr(&self) -> KResult<InodeAttr> {
        let st = self.state.lock();
        Ok(InodeAttr {
            ino: self.ino,
            mode: st.mode,
            nlink: 0,
            uid: st.uid,
            gid: st.gid,
            size: st.size,
            blocks: st.pages.len() as u64 * (PAGE_SIZE / 512),
            blksize: PAGE_SIZE as u32,
            atime: st.atime,
            mtime: st.mtime,
            ctime: st.ctime,
            rdev: 0,
            dev: 0,
        })
    }

    fn fs(&self) -> Option<Arc<dyn FileSystem>> {
        Some(self.fs.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// Reads from the frames; pages never written read as zero.
    fn read_at(&self, off: u64, buf: &mut VmWriter<'_>) -> KResult<usize> {
        let st = self.state.lock();
        let end = st.size.min(off.saturating_add(buf.avail() as u64));
        let mut pos = off;
        while pos < end {
            let n = (PAGE_SIZE - pos % PAGE_SIZE).min(end - pos);
            match st.pages.get(&(pos / PAGE_SIZE)) {
                Some(f) => {
                    let mut r = self.frames.phys().reader(f.offset() + pos % PAGE_SIZE, n).map_err(|_| Errno::EIO)?;
                    r.read(buf);
                }
                None => {
                    buf.fill_zero(n as usize);
                }
            }
            pos += n;
        }
        Ok(usize::try_from(end.saturating_sub(off)).unwrap_or(usize::MAX))
    }

    /// Writes page by page: `EPERM` under a write seal, or (with `F_SEAL_GROW`) at the first
    /// page that would grow the file — a short count if some pages were written before.
    fn write_at(&self, off: u64, data: &mut VmReader<'_>) -> KResult<usize> {
        let seals = self.seals();
        let len = data.remain() as u64;
        if len == 0 {
            return Ok(0);
        }
        if seals & WRITE_SEALS != 0 {
            return Err(Errno::EPERM);
        }
        let mut st = self.state.lock();
        let mut done = 0u64;
        for (pos, n) in MemfdInode::pieces(off, len) {
            let grows = pos + n > st.size;
            let refused = if grows && seals & F_SEAL_GROW != 0 {
                Some(Errno::EPERM)
            } else if pos + n > MAX_LFS_FILESIZE {
                Some(Errno::EFBIG)
            } else {
                None
            };
            let put = match refused.map_or_else(|| self.write_piece(&mut st, pos, n, data), Err) {
                Ok(put) => put,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            done += put;
            st.size = st.size.max(pos + put);
            if put < n {
                break;
            }
        }
        MemfdInode::touch_mc(&mut st);
        Ok(usize::try_from(done).unwrap_or(usize::MAX))
    }

    /// `ftruncate`: `EPERM` against `F_SEAL_SHRINK`/`F_SEAL_GROW`; growth reads as zeroes.
    fn truncate(&self, size: u64) -> KResult<()> {
        let seals = self.seals();
        let mut st = self.state.lock();
        if (size < st.size && seals & F_SEAL_SHRINK != 0) || (size > st.size && seals & F_SEAL_GROW != 0) {
            return Err(Errno::EPERM);
        }
        if size < st.size {
            self.drop_from(&mut st, size);
        }
        st.size = size;
        MemfdInode::touch_mc(&mut st);
        Ok(())
    }

    /// `fallocate`: mode 0 and `FALLOC_FL_KEEP_SIZE` allocate the pages (growing the size
    /// unless kept), `FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE` frees them; `EPERM` against
    /// the write seals (punching) or `F_SEAL_GROW` (past the end, even with `KEEP_SIZE`),
    /// `ENOSPC` when memory runs out, `EOPNOTSUPP` for other modes.
    fn fallocate(&self, mode: u32, off: u64, len: u64) -> KResult<()> {
        let seals = self.seals();
        let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
        let mut st = self.state.lock();
        if mode == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE {
            if seals & WRITE_SEALS != 0 {
                return Err(Errno::EPERM);
            }
            punch(self, &mut st, off, end);
            return Ok(());
        }
        if mode & !FALLOC_FL_KEEP_SIZE != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if seals & F_SEAL_GROW != 0 && end > st.size {
            return Err(Errno::EPERM);
        }
        let mut added = Vec::new();
        for index in off / PAGE_SIZE..end.div_ceil(PAGE_SIZE) {
            if st.pages.contains_key(&index) {
                continue;
            }
            match self.frame_for(&mut st, index) {
                Ok(_) => added.push(index),
                Err(_) => {
                    for i in added {
                        if let Some(f) = st.pages.remove(&i) {
                            self.frames.decref(f);
                        }
                    }
                    return Err(Errno::ENOSPC);
                }
            }
        }
        if mode & FALLOC_FL_KEEP_SIZE == 0 && end > st.size {
            st.size = end;
        }
        st.ctime = now();
        Ok(())
    }

    /// `chmod`/`chown`/`utimes`; with `F_SEAL_EXEC` the exec bits may not change (`EPERM`).
    fn set_attr(&self, a: &SetAttr) -> KResult<()> {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        if a.mode.is_some_and(|mode| self.seals() & F_SEAL_EXEC != 0 && (st.mode ^ mode) & 0o111 != 0) {
            return Err(Errno::EPERM);
        }
        a.apply_to(crate::inode::MetaRefs { mode: &mut st.mode, uid: &mut st.uid, gid: &mut st.gid, atime: &mut st.atime, mtime: &mut st.mtime, ctime: &mut st.ctime });
        Ok(())
    }

    fn page_source(&self) -> Option<Arc<dyn PageSource>> {
        self.me.upgrade().map(|m| m as Arc<dyn PageSource>)
    }
}

/// Frees the whole pages of `[off, end)` and zeroes the partial ones at its edges.
fn punch(m: &MemfdInode, st: &mut State, off: u64, end: u64) {
    let first_whole = off.div_ceil(PAGE_SIZE);
    let last_whole = end / PAGE_SIZE;
    let gone: Vec<u64> = st.pages.range(first_whole..last_whole.max(first_whole)).map(|(i, _)| *i).collect();
    for i in gone {
        if let Some(f) = st.pages.remove(&i) {
            m.frames.decref(f);
        }
    }
    for (pos, n) in MemfdInode::pieces(off, end - off) {
        if n == PAGE_SIZE {
            continue;
        }
        if let Some(f) = st.pages.get(&(pos / PAGE_SIZE)) {
            let _ = m.frames.phys().zero(f.offset() + pos % PAGE_SIZE, n);
        }
    }
}

impl PageSource for MemfdInode {
    /// The frame of page `index` (allocated on first touch); the caller gets a reference.
    fn page(&self, index: u64) -> KResult<FrameNo> {
        let mut st = self.state.lock();
        let f = self.frame_for(&mut st, index)?;
        self.frames.incref(f)?;
        Ok(f)
    }

    fn size(&self) -> u64 {
        self.state.lock().size
    }

    fn name(&self) -> String {
        format!("/{} (deleted)", String::from_utf8_lossy(&self.name))
    }

    /// Only pages the file already holds: fault-around allocates nothing.
    fn cached_page(&self, index: u64) -> Option<FrameNo> {
        let st = self.state.lock();
        let f = *st.pages.get(&index)?;
        self.frames.incref(f).ok()?;
        Some(f)
    }

    fn is_resident(&self, index: u64) -> bool {
        self.state.lock().pages.contains_key(&index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tmpfs::TmpFs;
    use arch_um::PhysMem;

    fn memfd(seals: u32) -> (Arc<FrameAllocator>, Arc<MemfdInode>) {
        let fa = Arc::new(FrameAllocator::new(Arc::new(PhysMem::new(1 << 20).unwrap())));
        let m = MemfdInode::new(TmpFs::new(None), fa.clone(), b"memfd:t", 0o777, (0, 0), seals);
        (fa, m)
    }

    fn read_all(m: &MemfdInode, off: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        let n = m.read_at(off, &mut VmWriter::from(&mut v[..])).unwrap();
        v.truncate(n);
        v
    }

    fn write(m: &MemfdInode, off: u64, data: &[u8]) -> KResult<usize> {
        m.write_at(off, &mut VmReader::from(data))
    }

    #[test]
    fn data_lives_in_frames_shared_with_mappings() {
        let (fa, m) = memfd(0);
        assert_eq!(write(&m, 4090, b"0123456789"), Ok(10));
        assert_eq!(m.attr().unwrap().size, 4100);
        assert_eq!(m.attr().unwrap().blocks, 16);
        assert_eq!(read_all(&m, 4088, 100), b"\0\x000123456789");
        // A mapping's store (straight into the frame) is what read(2) sees.
        let f = m.page(1).unwrap();
        fa.phys().write(f.offset() + 2, b"XY").unwrap();
        assert_eq!(read_all(&m, 4096, 4), b"67XY");
        assert!(m.is_resident(1) && !m.is_resident(2));
        assert_eq!(m.cached_page(2), None, "fault-around allocates nothing");
        fa.decref(f);
        m.truncate(4095).unwrap();
        assert_eq!(read_all(&m, 4090, 10), b"01234");
        assert_eq!(fa.refcount(f), 0, "the page past the end is freed");
        assert!(!m.is_resident(1));
        m.truncate(8192).unwrap();
        assert_eq!(read_all(&m, 4094, 3), b"4\0\0", "growth reads as zeroes");
        assert_eq!(PageSource::name(&*m), "/memfd:t (deleted)");
    }

    #[test]
    fn seals_are_enforced() {
        let (_fa, m) = memfd(0);
        write(&m, 0, &[7u8; 5000]).unwrap();
        m.add_seals(F_SEAL_SHRINK);
        assert_eq!(m.truncate(10), Err(Errno::EPERM));
        assert_eq!(m.truncate(6000), Ok(()));
        m.add_seals(F_SEAL_GROW);
        assert_eq!(m.truncate(7000), Err(Errno::EPERM));
        assert_eq!(write(&m, 5990, b"0123456789"), Ok(10), "inside the file");
        assert_eq!(write(&m, 5995, b"0123456789"), Err(Errno::EPERM));
        // Page by page: the first page goes in, the one that would grow is refused.
        assert_eq!(write(&m, 4000, &[1u8; 2100]), Ok(96), "cut at the growing page");
        assert_eq!(write(&m, 4096, &[2u8; 1904]), Ok(1904), "up to the end is no growth");
        assert_eq!(m.fallocate(0, 0, 7000), Err(Errno::EPERM));
        assert_eq!(m.fallocate(0, 0, 6000), Ok(()));
        m.add_seals(F_SEAL_WRITE);
        assert_eq!(write(&m, 0, b"x"), Err(Errno::EPERM));
        assert_eq!(write(&m, 0, b""), Ok(0));
        assert_eq!(m.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10), Err(Errno::EPERM));
        m.add_seals(F_SEAL_EXEC);
        assert_eq!(m.set_attr(&SetAttr { mode: Some(0o666), ..SetAttr::default() }), Err(Errno::EPERM));
        assert_eq!(m.set_attr(&SetAttr { mode: Some(0o755), ..SetAttr::default() }), Ok(()));
    }

    #[test]
    fn punching_frees_whole_pages_and_zeroes_edges() {
        let (_fa, m) = memfd(0);
        write(&m, 0, &[9u8; 3 * 4096]).unwrap();
        m.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4000, 5000).unwrap();
        assert!(m.is_resident(0) && !m.is_resident(1) && m.is_resident(2));
        assert_eq!(read_all(&m, 3999, 2), [9, 0]);
        assert_eq!(read_all(&m, 8999, 2), [0, 9]);
        assert_eq!(m.attr().unwrap().size, 3 * 4096);
    }
}
