//! The page cache: a file's pages as physmem frames, so `mmap` of a file and `execve` can map
//! them into guests (`mm::PageSource`, Linux's `address_space` + `filemap_fault`).
//!
//! Pages are read from the inode on first use and kept while any mapping (or the cache's user)
//! holds the [`FilePages`]. While they are kept, `read(2)` of a cached page copies from its
//! frame and `write(2)` stores into the frame first and then writes the frame's bytes through to
//! the inode, so mappings and file I/O see one content, as on Linux. Both copy forward in
//! ascending order through [`VmReader`]/[`VmWriter`], so I/O whose user buffer is a mapping of
//! the same file ends as Linux's does (page cache to page cache). `truncate` zeroes or drops
//! cached pages.
//!
//! Stores through a writable `MAP_SHARED` mapping land in the cached frames only (the guest
//! writes them directly, so nobody sees which pages are dirty). Once such a mapping exists
//! ([`FilePages::mark_shared_writable`]) they are written back — each cached page that differs
//! from the file, up to its size — by `msync`, `fsync`, `sync`/`syncfs`/shutdown and when the
//! last holder of the pages goes (Linux writes dirty pages back in the same places, and
//! periodically).
//!
//! Files of disk filesystems (ext2/ext4) have their own persistent page cache in their inode
//! ([`crate::pagestore::PageStore`]): read, write, fsync and mappings all go through it, and a
//! [`FilePages`] of such a file only hands its frames to mappings. The namespace's
//! [`PageCache`] lists those stores for `/proc/meminfo` and for reclaim under memory pressure.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use mm::{FrameAllocator, FrameNo, PageSource, VmReader, VmWriter};
use uapi::mman::PAGE_SIZE;
use uapi::{Errno, KResult};

use crate::inode::Inode;
use crate::klock::KMutex;
use crate::pagestore::PageStore;

/// The cached pages of one file.
pub struct FilePages {
    inode: Arc<dyn Inode>,
    name: String,
    frames: Arc<FrameAllocator>,
    pages: KMutex<BTreeMap<u64, FrameNo>>,
    /// Set once a writable `MAP_SHARED` mapping may have stored into the frames.
    shared_writable: AtomicBool,
    /// The file's own page cache (disk filesystems): pages come from and go to it.
    store: Option<Arc<PageStore>>,
}

impl FilePages {
    /// Reads page `index` of the file into a new frame (zero past end of file).
    fn fill(&self, index: u64, hint: Option<FrameNo>) -> KResult<FrameNo> {
        let f = self.frames.alloc_near(hint, 1)?;
        let off = index.checked_mul(PAGE_SIZE).ok_or(Errno::EFBIG)?;
        if let Err(e) = self.load(f.offset(), off, PAGE_SIZE) {
            self.frames.decref(f);
            return Err(e);
        }
        Ok(f)
    }

    /// Copies `len` bytes of the file at `pos` from the inode to physmem offset `at`, straight
    /// into the frame; what lies past end of file reads as zeroes.
    fn load(&self, at: u64, pos: u64, len: u64) -> KResult<()> {
        let mut w = self.frames.phys().writer(at, len).map_err(|_| Errno::EIO)?;
        while w.avail() > 0 {
            let done = len - w.avail() as u64;
            if self.inode.read_at(pos + done, &mut w)? == 0 {
                break;
            }
        }
        w.fill_zero(w.avail());
        Ok(())
    }

    /// `read(2)` of `[off, off+w.avail())` clamped to the file's `size`: cached pages are copied
    /// from their frames, the others read from the inode, in ascending order. Returns the
    /// bytes read (short at end of file or when the inode reads short).
    pub fn read(&self, off: u64, size: u64, w: &mut VmWriter<'_>) -> KResult<usize> {
        if let Some(store) = &self.store {
            return store.read(off, w);
        }
        let len = size.saturating_sub(off).min(w.avail() as u64);
        let end = off + len;
        let pages = self.pages.lock();
        let mut pos = off;
        for (&index, frame) in pages.range(off / PAGE_SIZE..end.div_ceil(PAGE_SIZE)) {
            let page_start = index * PAGE_SIZE;
            if pos < page_start {
                let n = page_start - pos;
                let got = self.inode_read(pos, n, w, pos > off)?;
                pos += got;
                if got < n {
                    return Ok(to_count(pos - off));
                }
            }
            let to = end.min(page_start + PAGE_SIZE);
            let mut r = self.frames.phys().reader(frame.offset() + (pos - page_start), to - pos).map_err(|_| Errno::EIO)?;
            pos += r.read(w) as u64;
        }
        if pos < end {
            pos += self.inode_read(pos, end - pos, w, pos > off)?;
        }
        Ok(to_count(pos - off))
    }

    /// Reads up to `n` bytes at `pos` from the inode into `w`; an error after earlier progress
    /// (`partial`) ends the read short instead, as Linux returns what it read.
    fn inode_read(&self, pos: u64, n: u64, w: &mut VmWriter<'_>, partial: bool) -> KResult<u64> {
        match w.with_limit(to_count(n), |w| self.inode.read_at(pos, w)) {
            Ok(got) => Ok(got as u64),
            Err(_) if partial => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// `write(2)` of all of `r` at `off`, in ascending order: a cached page gets the bytes in
    /// its frame first (a guest-to-guest copy when `r` is guest memory, exact even when `r` is
    /// this very frame) and the inode then gets them from the frame; between cached pages `r`
    /// goes straight to the inode. Returns the bytes written (short when the inode writes
    /// short; a cached page then gets back what the inode holds).
    pub fn write(&self, off: u64, r: &mut VmReader<'_>) -> KResult<usize> {
        if let Some(store) = &self.store {
            return store.write(off, r);
        }
        let end = off.checked_add(r.remain() as u64).ok_or(Errno::EFBIG)?;
        let pages = self.pages.lock();
        let mut pos = off;
        for (&index, frame) in pages.range(off / PAGE_SIZE..end.div_ceil(PAGE_SIZE)) {
            let page_start = index * PAGE_SIZE;
            if pos < page_start {
                let n = page_start - pos;
                let put = self.inode_write(pos, n, r, pos > off)?;
                pos += put;
                if put < n {
                    return Ok(to_count(pos - off));
                }
            }
            let to = end.min(page_start + PAGE_SIZE);
            let put = self.write_page(frame.offset() + (pos - page_start), pos, to - pos, r, pos > off)?;
            pos += put;
            if pos < to {
                return Ok(to_count(pos - off));
            }
        }
        if pos < end {
            pos += self.inode_write(pos, end - pos, r, pos > off)?;
        }
        Ok(to_count(pos - off))
    }

    /// Writes up to `n` bytes of `r` at `pos` to the inode; an error after earlier progress
    /// (`partial`) ends the write short instead.
    fn inode_write(&self, pos: u64, n: u64, r: &mut VmReader<'_>, partial: bool) -> KResult<u64> {
        match r.with_limit(to_count(n), |r| self.inode.write_at(pos, r)) {
            Ok(put) => Ok(put as u64),
            Err(_) if partial => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Copies `n` bytes of `r` into the cached frame bytes at physmem offset `at` (file offset
    /// `pos`), then writes them from the frame to the inode. What the inode did not take is
    /// loaded back from it, so the frame never shows bytes the file does not hold.
    fn write_page(&self, at: u64, pos: u64, n: u64, r: &mut VmReader<'_>, partial: bool) -> KResult<u64> {
        let phys = self.frames.phys();
        let copied = phys.writer(at, n).map_err(|_| Errno::EIO)?.write(r) as u64;
        let mut from_frame = phys.reader(at, copied).map_err(|_| Errno::EIO)?;
        let put = match self.inode.write_at(pos, &mut from_frame) {
            Ok(put) => (put as u64).min(copied),
            Err(e) if !partial => {
                self.load(at, pos, copied)?;
                return Err(e);
            }
            Err(_) => 0,
        };
        if put < copied {
            self.load(at + put, pos + put, copied - put)?;
        }
        Ok(put)
    }

    /// Notes that a `MAP_SHARED` mapping that may be written (now or after `mprotect`) maps
    /// these pages: from now on the frames may hold stores the file does not have yet.
    pub fn mark_shared_writable(&self) {
        if let Some(store) = &self.store {
            store.mark_shared_writable();
        }
        self.shared_writable.store(true, Ordering::Relaxed);
    }

    fn may_hold_stores(&self) -> bool {
        self.shared_writable.load(Ordering::Relaxed)
    }

    /// Writes back to the file every cached page (the part inside the file: stores past the
    /// end of file are not kept, as on Linux) whose content differs from the file's — the
    /// pages a shared mapping stored into. Nothing to do unless a writable shared mapping was
    /// made. Errors (`ENOSPC`, `EIO`) are returned after trying every page.
    pub fn writeback(&self) -> KResult<()> {
        if let Some(store) = &self.store {
            return store.writeback();
        }
        if !self.may_hold_stores() {
            return Ok(());
        }
        let size = self.inode.attr()?.size;
        let pages = self.pages.lock();
        let mut result = Ok(());
        for (&index, &frame) in pages.range(..size.div_ceil(PAGE_SIZE)) {
            if let Err(e) = self.write_back_page(index, frame, size) {
                result = Err(e);
            }
        }
        result
    }

    /// Writes page `index` (held in `frame`) back if it differs from the file of size `size`.
    fn write_back_page(&self, index: u64, frame: FrameNo, size: u64) -> KResult<()> {
        let off = index * PAGE_SIZE;
        let len = size.saturating_sub(off).min(PAGE_SIZE);
        let phys = self.frames.phys();
        let mut cached = vec![0u8; to_count(len)];
        phys.read(frame.offset(), &mut cached).map_err(|_| Errno::EIO)?;
        let mut on_file = vec![0u8; to_count(len)];
        let mut w = VmWriter::from(&mut on_file[..]);
        while w.avail() > 0 {
            let done = len - w.avail() as u64;
            if self.inode.read_at(off + done, &mut w)? == 0 {
                break;
            }
        }
        if cached == on_file {
            return Ok(());
        }
        let mut r = phys.reader(frame.offset(), len).map_err(|_| Errno::EIO)?;
        while r.remain() > 0 {
            let done = len - r.remain() as u64;
            if self.inode.write_at(off + done, &mut r)? == 0 {
                return Err(Errno::EIO);
            }
        }
        Ok(())
    }

    /// Drops cached pages wholly past `size` and zeroes the tail of the last partial page.
    pub fn truncate(&self, size: u64) {
        if self.store.is_some() {
            return; // the inode told its page cache itself
        }
        let mut pages = self.pages.lock();
        let keep = size.div_ceil(PAGE_SIZE);
        let gone = pages.split_off(&keep);
        self.frames.decref_many(gone.into_values());
        if !size.is_multiple_of(PAGE_SIZE) {
            if let Some(f) = pages.get(&(size / PAGE_SIZE)) {
                let tail = size % PAGE_SIZE;
                let _ = self.frames.phys().zero(f.offset() + tail, PAGE_SIZE - tail);
            }
        }
    }
}

impl PageSource for FilePages {
    /// The frame of page `index` (read from the file on first use); the caller gets a reference.
    fn page(&self, index: u64) -> KResult<FrameNo> {
        if let Some(store) = &self.store {
            return store.page(index);
        }
        let mut pages = self.pages.lock();
        let f = match pages.get(&index) {
            Some(&f) => f,
            None => {
                let hint = index.checked_sub(1).and_then(|i| pages.get(&i).copied());
                let f = self.fill(index, hint)?;
                pages.insert(index, f);
                f
            }
        };
        self.frames.incref(f)?;
        Ok(f)
    }

    fn size(&self) -> u64 {
        self.inode.attr().map(|a| a.size).unwrap_or(0)
    }

    fn cached_page(&self, index: u64) -> Option<FrameNo> {
        match &self.store {
            Some(store) => store.cached_page(index),
            None => self.page(index).ok(),
        }
    }

    fn is_resident(&self, index: u64) -> bool {
        match &self.store {
            Some(store) => store.is_cached(index),
            None => index < self.size().div_ceil(PAGE_SIZE),
        }
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    /// `msync(MS_SYNC)`: writes shared-mapping stores back, then the file to its storage.
    fn flush(&self) -> KResult<()> {
        self.writeback()?;
        self.inode.sync()
    }
}

impl Drop for FilePages {
    /// The last mapping is gone: stores through it are written back before the frames go.
    fn drop(&mut self) {
        let written = match &self.store {
            Some(store) => store.unmapped(),
            None => self.writeback(),
        };
        if let Err(e) = written {
            log::warn!("writeback of {} failed: {e}", self.name);
        }
        let pages = std::mem::take(&mut *self.pages.lock());
        self.frames.decref_many(pages.into_values());
    }
}

/// Identity of an inode object (inode objects are unique per file while alive).
fn inode_id(inode: &Arc<dyn Inode>) -> usize {
    Arc::as_ptr(inode) as *const () as usize
}

/// The namespace's page caches, one [`FilePages`] per file while something holds it.
#[derive(Default)]
pub struct PageCache {
    map: KMutex<HashMap<usize, Weak<FilePages>>>,
    /// The frames file pages live in (set at boot; without them files are read through their
    /// inodes as before).
    frames: std::sync::OnceLock<Arc<FrameAllocator>>,
    /// Every disk file's page cache made so far (while its inode lives).
    stores: KMutex<Vec<Weak<PageStore>>>,
    /// Told when a mapped file shrinks (the kernel drops the pages past the end from every
    /// address space mapping it).
    on_shrink: std::sync::OnceLock<ShrinkHook>,
}

/// Called with a mapped file's [`FilePages`] (as the address `mm` compares mappings' sources
/// with) and its new size.
pub type ShrinkHook = Box<dyn Fn(*const (), u64) + Send + Sync>;

impl PageCache {
    /// An empty cache.
    pub fn new() -> Self {
        PageCache::default()
    }

    /// Gives the cache the frames of guest RAM, and the allocator a way to take clean pages
    /// back when it runs out (so the page cache is bounded by `--mem`).
    pub fn set_frames(self: &Arc<Self>, frames: Arc<FrameAllocator>) {
        let me = Arc::downgrade(self);
        frames.set_reclaimer(Box::new(move |want| me.upgrade().map_or(0, |c| c.reclaim(want))));
        let _ = self.frames.set(frames);
    }

    /// The page cache of `inode` (disk filesystems' regular files) once frames are known.
    pub fn store(&self, inode: &Arc<dyn Inode>) -> Option<Arc<PageStore>> {
        let frames = self.frames.get()?;
        self.store_with(inode, frames)
    }

    fn store_with(&self, inode: &Arc<dyn Inode>, frames: &Arc<FrameAllocator>) -> Option<Arc<PageStore>> {
        let store = inode.page_store(frames)?;
        if store.first_registration() {
            let mut stores = self.stores.lock();
            if stores.len() >= 64 && stores.len().is_power_of_two() {
                stores.retain(|w| w.strong_count() > 0);
            }
            stores.push(Arc::downgrade(&store));
        }
        Some(store)
    }

    /// The live stores, or none if the list is busy (reclaim inside an allocation).
    fn live_stores(&self) -> Vec<Arc<PageStore>> {
        self.stores.try_lock().map_or_else(Vec::new, |s| s.iter().filter_map(Weak::upgrade).collect())
    }

    /// Memory pressure: drops up to `want` (at least 256) clean unmapped pages, oldest stores
    /// first; returns how many frames were freed.
    pub fn reclaim(&self, want: u64) -> u64 {
        let want = want.max(256);
        let mut freed = 0;
        for store in self.live_stores() {
            if freed >= want {
                break;
            }
            freed += store.evict_clean(want - freed);
        }
        freed
    }

    /// Pages held by disk files' page caches (`Cached:` in `/proc/meminfo`).
    pub fn cached_pages(&self) -> u64 {
        self.live_stores().iter().map(|s| s.cached_pages()).sum()
    }

    /// The pages of `inode` (shared with other mappings of the same file); `name` is what
    /// `/proc/<pid>/maps` shows.
    pub fn pages(&self, inode: &Arc<dyn Inode>, frames: &Arc<FrameAllocator>, name: String) -> Arc<FilePages> {
        let mut map = self.map.lock();
        if let Some(p) = map.get(&inode_id(inode)).and_then(Weak::upgrade) {
            return p;
        }
        map.retain(|_, w| w.strong_count() > 0);
        let store = self.store_with(inode, frames);
        let p = Arc::new(FilePages {
            inode: inode.clone(),
            name,
            frames: frames.clone(),
            pages: KMutex::new(BTreeMap::new()),
            shared_writable: AtomicBool::new(false),
            store,
        });
        map.insert(inode_id(inode), Arc::downgrade(&p));
        p
    }

    /// The pages of `inode` if something holds them (a mapping, an exec): reads and writes of
    /// the file then go through them.
    pub fn live(&self, inode: &Arc<dyn Inode>) -> Option<Arc<FilePages>> {
        self.map.lock().get(&inode_id(inode)).and_then(Weak::upgrade)
    }

    /// `fsync(2)`: writes back the stores shared mappings made to `inode`'s pages.
    pub fn writeback(&self, inode: &Arc<dyn Inode>) -> KResult<()> {
        self.live(inode).map_or(Ok(()), |p| p.writeback())
    }

    /// `sync(2)` and shutdown: writes back the stores of every shared mapping.
    pub fn writeback_all(&self) -> KResult<()> {
        let live: Vec<Arc<FilePages>> = self.map.lock().values().filter_map(Weak::upgrade).collect();
        let mut result = Ok(());
        for p in live {
            if let Err(e) = p.writeback() {
                log::warn!("writeback of {} failed: {e}", p.name);
                result = Err(e);
            }
        }
        result
    }

    /// Installs what is called when a mapped file shrinks (see [`ShrinkHook`]).
    pub fn set_shrink_hook(&self, hook: ShrinkHook) {
        let _ = self.on_shrink.set(hook);
    }

    /// Tells the cache that `inode` was truncated to `size`: cached pages past the end go,
    /// and so do the pages mappings of the file map there (the next touch gets `SIGBUS`).
    pub fn truncated(&self, inode: &Arc<dyn Inode>, size: u64) {
        if let Some(p) = self.live(inode) {
            p.truncate(size);
            if let Some(hook) = self.on_shrink.get() {
                hook(Arc::as_ptr(&p) as *const (), size);
            }
        }
    }
}

/// A byte count that fits a read or write (they are bounded by a `usize` buffer).
fn to_count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::OpenFlags;
    use crate::context::FsContext;
    use crate::cred::Credentials;
    use crate::tmpfs::TmpFs;
    use crate::vfs::Vfs;
    use arch_um::PhysMem;

    fn frame_bytes(fa: &FrameAllocator, f: FrameNo, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        fa.phys().read(f.offset(), &mut v).unwrap();
        v
    }

    #[test]
    fn pages_follow_writes_and_truncate() {
        let fa = Arc::new(FrameAllocator::new(Arc::new(PhysMem::new(1 << 20).unwrap())));
        let vfs = Vfs::new(TmpFs::new(None));
        let fsc = FsContext::new(vfs.root());
        let cred = Credentials::root();
        let c = fsc.ctx(&cred);
        let f = vfs.open(&c, &fsc.cwd, b"/lib.so", OpenFlags::CREAT | OpenFlags::RDWR, 0o755).unwrap();
        let mut data = vec![b'a'; 5000];
        data[4096] = b'b';
        f.write(&data).unwrap();
        let pages = vfs.file_pages(&f, &fa).unwrap();
        assert_eq!(pages.name(), "/lib.so");
        assert_eq!(pages.size(), 5000);
        let p1 = pages.page(1).unwrap();
        assert!(frame_bytes(&fa, p1, 4096)[..904] == data[4096..]);
        assert!(frame_bytes(&fa, p1, 4096)[904..].iter().all(|b| *b == 0));
        // Another mapping of the same file shares the frames.
        let again = vfs.file_pages(&f, &fa).unwrap();
        assert_eq!(again.page(1).unwrap(), p1);
        // write(2) is seen through the cached page; truncate zeroes the tail.
        f.pwrite(b"XY", 4100).unwrap();
        assert_eq!(&frame_bytes(&fa, p1, 6)[4..], b"XY");
        f.truncate(4097).unwrap();
        assert_eq!(frame_bytes(&fa, p1, 3), vec![b'b', 0, 0]);
        fa.decref(p1);
        fa.decref(p1);
        drop((pages, again));
        assert_eq!(fa.refcount(p1), 0);
        let dir = vfs.open(&c, &fsc.cwd, b"/", OpenFlags::DIRECTORY, 0).unwrap();
        assert_eq!(vfs.file_pages(&dir, &fa).err(), Some(Errno::ENODEV));
    }

    /// A byte-by-byte forward copy inside `v` (what Linux's `copy_user` leaves).
    fn forward_copy(v: &mut [u8], src: usize, dst: usize, len: usize) {
        for i in 0..len {
            v[dst + i] = v[src + i];
        }
    }

    /// A tmpfs file of `len` pattern bytes (at most `limit` bytes in the fs) with all its
    /// pages cached; returns the allocator, the file, its pages and the pattern.
    fn cached_file(len: usize, limit: Option<u64>) -> (Arc<FrameAllocator>, Arc<crate::OpenFile>, Arc<FilePages>, Vec<u8>) {
        let fa = Arc::new(FrameAllocator::new(Arc::new(PhysMem::new(1 << 20).unwrap())));
        let vfs = Vfs::new(TmpFs::new(limit));
        let fsc = FsContext::new(vfs.root());
        let cred = Credentials::root();
        let f = vfs.open(&fsc.ctx(&cred), &fsc.cwd, b"/f", OpenFlags::CREAT | OpenFlags::RDWR, 0o644).unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
        f.write(&data).unwrap();
        let pages = vfs.file_pages(&f, &fa).unwrap();
        for i in 0..(len as u64).div_ceil(PAGE_SIZE) {
            let frame = pages.page(i).unwrap();
            fa.decref(frame);
        }
        (fa, f, pages, data)
    }

    fn file_bytes(f: &crate::OpenFile, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        assert_eq!(f.pread(&mut v, 0).unwrap(), len);
        v
    }

    #[test]
    fn a_write_from_the_files_own_page_copies_forward() {
        let (fa, f, pages, mut model) = cached_file(3 * 4096, None);
        let p0 = pages.page(0).unwrap();
        // pwrite(fd, page 0, 4096, 100): the source is the frame being written.
        let mut src = fa.phys().reader(p0.offset(), 4096).unwrap();
        assert_eq!(f.pwrite_from(&mut src, 100).unwrap(), 4096);
        forward_copy(&mut model, 0, 100, 4096);
        assert!(file_bytes(&f, model.len()) == model, "the inode holds Linux's result");
        assert!(frame_bytes(&fa, p0, 4096) == model[..4096], "and so does the cached page");
        // The other direction: from page 0 + 100 to file offset 0.
        let mut src = fa.phys().reader(p0.offset() + 100, 3000).unwrap();
        assert_eq!(f.pwrite_from(&mut src, 0).unwrap(), 3000);
        forward_copy(&mut model, 100, 0, 3000);
        assert!(file_bytes(&f, model.len()) == model);
        fa.decref(p0);
    }

    #[test]
    fn a_read_into_the_files_own_page_copies_forward() {
        let (fa, f, pages, mut model) = cached_file(2 * 4096, None);
        let p0 = pages.page(0).unwrap();
        let mut dst = fa.phys().writer(p0.offset() + 100, 3900).unwrap();
        assert_eq!(f.pread_to(&mut dst, 0).unwrap(), 3900);
        forward_copy(&mut model, 0, 100, 3900);
        assert!(frame_bytes(&fa, p0, 4096) == model[..4096]);
        assert!(file_bytes(&f, model.len()) == model, "reads see the cached page");
        fa.decref(p0);
    }

    #[test]
    fn a_write_the_inode_refuses_leaves_the_cached_page_as_the_file() {
        let (fa, f, pages, data) = cached_file(4000, Some(4000));
        let p0 = pages.page(0).unwrap();
        // Growing past the tmpfs limit fails: the page must not keep the refused bytes.
        assert_eq!(f.pwrite(&[9u8; 200], 3900), Err(Errno::ENOSPC));
        let mut want = data.clone();
        want.resize(4096, 0);
        assert!(frame_bytes(&fa, p0, 4096) == want);
        assert!(file_bytes(&f, 4000) == data);
        fa.decref(p0);
    }

    #[test]
    fn shared_stores_are_read_and_written_back() {
        let fa = Arc::new(FrameAllocator::new(Arc::new(PhysMem::new(1 << 20).unwrap())));
        let vfs = Vfs::new(TmpFs::new(None));
        let fsc = FsContext::new(vfs.root());
        let cred = Credentials::root();
        let c = fsc.ctx(&cred);
        let f = vfs.open(&c, &fsc.cwd, b"/data", OpenFlags::CREAT | OpenFlags::RDWR, 0o644).unwrap();
        f.write(&[b'a'; 5000]).unwrap();
        let inode = f.inode().unwrap().clone();
        let on_file = |off: u64, len: usize| {
            let mut v = vec![0u8; len];
            let n = inode.read_at(off, &mut VmWriter::from(&mut v[..])).unwrap();
            v.truncate(n);
            v
        };
        let pages = vfs.file_pages(&f, &fa).unwrap();
        let p1 = pages.page(1).unwrap();
        pages.mark_shared_writable();
        // A guest store into the shared frame: read(2) sees it before any writeback; a store
        // past the end of file is never written back.
        fa.phys().write(p1.offset() + 4, b"XY").unwrap();
        fa.phys().write(p1.offset() + 1000, b"Z").unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(f.pread(&mut buf, 4096 + 3).unwrap(), 4);
        assert_eq!(&buf, b"aXYa");
        assert_eq!(on_file(4096 + 4, 2), b"aa");
        // fsync writes it back, without extending the file.
        f.fsync().unwrap();
        assert_eq!(on_file(4096 + 4, 2), b"XY");
        assert_eq!(f.stat().unwrap().size, 5000);
        // The last mapping going writes back what is left.
        fa.phys().write(p1.offset(), b"Q").unwrap();
        fa.decref(p1);
        drop(pages);
        assert_eq!(on_file(4096, 1), b"Q");
        assert_eq!(on_file(0, 5000).len(), 5000);
    }
}
