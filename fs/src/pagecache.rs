//! The page cache: a file's pages as physmem frames, so `mmap` of a file and `execve` can map
//! them into guests (`mm::PageSource`, Linux's `address_space` + `filemap_fault`).
//!
//! Pages are read from the inode on first use and kept while any mapping (or the cache's user)
//! holds the [`FilePages`]. `write(2)` and `truncate` through the VFS update cached pages, so
//! mappings see the file's current content, as on Linux. Stores through a `MAP_SHARED` mapping
//! are not written back to the file yet (`msync` writeback is missing).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};

use mm::{FrameAllocator, FrameNo, PageSource};
use uapi::mman::PAGE_SIZE;
use uapi::{Errno, KResult};

use crate::inode::Inode;
use crate::klock::KMutex;

/// The cached pages of one file.
pub struct FilePages {
    inode: Arc<dyn Inode>,
    name: String,
    frames: Arc<FrameAllocator>,
    pages: KMutex<BTreeMap<u64, FrameNo>>,
}

impl FilePages {
    /// Reads page `index` of the file into a new frame (zero past end of file).
    fn fill(&self, index: u64, hint: Option<FrameNo>) -> KResult<FrameNo> {
        let f = self.frames.alloc_near(hint, 1)?;
        let off = index.checked_mul(PAGE_SIZE).ok_or(Errno::EFBIG)?;
        let mut buf = vec![0u8; PAGE_SIZE as usize];
        let mut done = 0;
        while done < buf.len() {
            let n = self.inode.read_at(off + done as u64, &mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        if self.frames.phys().write(f.offset(), &buf).is_err() {
            self.frames.decref(f);
            return Err(Errno::EIO);
        }
        Ok(f)
    }

    /// Copies bytes written to the file at `off` into the pages already cached.
    pub fn update(&self, off: u64, data: &[u8]) {
        let pages = self.pages.lock();
        let Some(end) = off.checked_add(data.len() as u64) else { return };
        for (&index, frame) in pages.range(off / PAGE_SIZE..end.div_ceil(PAGE_SIZE)) {
            let page_start = index * PAGE_SIZE;
            let from = off.max(page_start);
            let to = end.min(page_start + PAGE_SIZE);
            let src = &data[(from - off) as usize..(to - off) as usize];
            let _ = self.frames.phys().write(frame.offset() + (from - page_start), src);
        }
    }

    /// Drops cached pages wholly past `size` and zeroes the tail of the last partial page.
    pub fn truncate(&self, size: u64) {
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

    fn name(&self) -> String {
        self.name.clone()
    }
}

impl Drop for FilePages {
    fn drop(&mut self) {
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
}

impl PageCache {
    /// An empty cache.
    pub fn new() -> Self {
        PageCache::default()
    }

    /// The pages of `inode` (shared with other mappings of the same file); `name` is what
    /// `/proc/<pid>/maps` shows.
    pub fn pages(&self, inode: &Arc<dyn Inode>, frames: &Arc<FrameAllocator>, name: String) -> Arc<FilePages> {
        let mut map = self.map.lock();
        if let Some(p) = map.get(&inode_id(inode)).and_then(Weak::upgrade) {
            return p;
        }
        map.retain(|_, w| w.strong_count() > 0);
        let p = Arc::new(FilePages { inode: inode.clone(), name, frames: frames.clone(), pages: KMutex::new(BTreeMap::new()) });
        map.insert(inode_id(inode), Arc::downgrade(&p));
        p
    }

    fn live(&self, inode: &Arc<dyn Inode>) -> Option<Arc<FilePages>> {
        self.map.lock().get(&inode_id(inode)).and_then(Weak::upgrade)
    }

    /// Tells the cache that `data` was written to `inode` at `off`.
    pub fn written(&self, inode: &Arc<dyn Inode>, off: u64, data: &[u8]) {
        if let Some(p) = self.live(inode) {
            p.update(off, data);
        }
    }

    /// Tells the cache that `inode` was truncated to `size`.
    pub fn truncated(&self, inode: &Arc<dyn Inode>, size: u64) {
        if let Some(p) = self.live(inode) {
            p.truncate(size);
        }
    }
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
}
