//! Linear directories (`fs/ext2/dir.c`): entries of `inode, rec_len, name_len, file_type,
//! name` packed in blocks, each block checked as `ext2_check_page` does. HTREE-indexed
//! directories read by linear scan (their index blocks look like empty entries); writing to one
//! clears `EXT2_INDEX_FL`, as Linux's ext2 does. ext4 directory blocks have their checksum tail
//! verified.

use super::inode::{self, Inode, FL_INDEX};
use super::raw::{get16, get32, put16, put32};
use super::superblock::incompat;
use super::{checksum, corrupt, dt, DirVisitor, Fs, NAME_MAX};
use uapi::{Errno, KResult};

/// The on-disk file type of a directory (`EXT2_FT_DIR`).
const FT_DIR: u8 = 2;

/// `EXT2_DIR_REC_LEN`: the space an entry with an `n`-byte name needs.
pub fn rec_len_for(n: usize) -> usize {
    (n + 8 + 3) & !3
}

/// One parsed directory entry in a block.
#[derive(Clone, Copy, Debug)]
pub struct DirEnt {
    pub off: usize,
    pub ino: u32,
    pub rec_len: usize,
    pub name_len: usize,
    pub ftype: u8,
}

/// ext2 dir-entry file type (`EXT2_FT_*`) for a mode.
pub fn ft_from_mode(mode: u16) -> u8 {
    match mode & inode::S_IFMT {
        inode::S_IFREG => 1,
        inode::S_IFDIR => 2,
        inode::S_IFCHR => 3,
        inode::S_IFBLK => 4,
        inode::S_IFIFO => 5,
        inode::S_IFSOCK => 6,
        inode::S_IFLNK => 7,
        _ => 0,
    }
}

/// `DT_*` for an `EXT2_FT_*`.
pub fn dt_from_ft(ft: u8) -> u8 {
    match ft {
        1 => dt::REG,
        2 => dt::DIR,
        3 => dt::CHR,
        4 => dt::BLK,
        5 => dt::FIFO,
        6 => dt::SOCK,
        7 => dt::LNK,
        _ => dt::UNKNOWN,
    }
}

/// Checks a name for a new entry.
pub fn check_name(name: &[u8]) -> KResult<()> {
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.contains(&b'/') || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

struct Found {
    phys: u64,
    ent: DirEnt,
    prev: Option<DirEnt>,
}

impl Fs {
    fn filetype(&self) -> bool {
        self.sb.has_incompat(incompat::FILETYPE)
    }

    /// Reads inode `ino`, which must be a directory (`ENOTDIR`).
    pub fn dir_inode(&mut self, ino: u32) -> KResult<Inode> {
        let i = self.read_inode(ino)?;
        if !i.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(i)
    }

    fn dir_nblocks(&self, ino: u32, i: &Inode) -> KResult<u64> {
        let n = i.size.div_ceil(self.bs());
        if n > self.sb.blocks_count {
            return Err(corrupt!("directory {ino} size {} larger than the filesystem", i.size));
        }
        Ok(n)
    }

    /// Parses and checks the entries of one directory block.
    fn parse_block(&self, dir: u32, b: &[u8]) -> KResult<Vec<DirEnt>> {
        let bs = b.len();
        let mut out = Vec::new();
        let mut off = 0usize;
        let ft = self.filetype();
        while off < bs {
            if off + 8 > bs {
                return Err(corrupt!("directory {dir}: entry at {off} crosses the block end"));
            }
            let ino = get32(b, off);
            let raw_len = get16(b, off + 4) as usize;
            let rec_len = if raw_len == 0 || raw_len == 65535 { 65536 } else { raw_len };
            let (name_len, ftype) = if ft {
                (b[off + 6] as usize, b[off + 7])
            } else {
                (get16(b, off + 6) as usize, 0)
            };
            if rec_len < rec_len_for(1) || rec_len % 4 != 0 {
                return Err(corrupt!("directory {dir}: bad rec_len {rec_len} at {off}"));
            }
            if off + rec_len > bs {
                return Err(corrupt!("directory {dir}: entry at {off} spans the block end"));
            }
            if ino != 0 && (rec_len < rec_len_for(name_len) || name_len == 0) {
                return Err(corrupt!("directory {dir}: rec_len {rec_len} too small for name_len {name_len}"));
            }
            if ino > self.sb.inodes_count {
                return Err(corrupt!("directory {dir}: entry points to inode {ino} out of range"));
            }
            out.push(DirEnt { off, ino, rec_len, name_len, ftype });
            off += rec_len;
        }
        Ok(out)
    }

    /// Reads directory block `idx` of `dir`: its physical number and checked contents.
    fn dir_block(&mut self, dir: u32, di: &Inode, idx: u64) -> KResult<(u64, Vec<u8>)> {
        let Some(phys) = self.map_block(dir, di, idx)? else {
            return Err(corrupt!("directory {dir} has a hole at block {idx}"));
        };
        let b = self.cache.read(phys)?.to_vec();
        if let Some(seed) = self.csum_seed {
            let n = b.len();
            let tail = &b[n - 12..];
            if get32(tail, 0) == 0 && get16(tail, 4) == 12 && tail[6] == 0 && tail[7] == 0xDE {
                let c = checksum::crc32c_raw(checksum::inode_seed(seed, dir, di.generation), &b[..n - 12]);
                if c != get32(tail, 8) {
                    log::warn!("ext4: directory {dir} block {idx} checksum mismatch");
                    return Err(Errno::EUCLEAN);
                }
            } else if di.flags & FL_INDEX == 0 {
                return Err(corrupt!("directory {dir} block {idx} has no checksum tail"));
            }
        }
        Ok((phys, b))
    }

    fn find(&mut self, dir: u32, di: &Inode, name: &[u8]) -> KResult<Option<Found>> {
        let n = self.dir_nblocks(dir, di)?;
        for idx in 0..n {
            let (phys, b) = self.dir_block(dir, di, idx)?;
            let ents = self.parse_block(dir, &b)?;
            let mut prev = None;
            for e in ents {
                if e.ino != 0 && e.name_len == name.len() && &b[e.off + 8..e.off + 8 + e.name_len] == name {
                    return Ok(Some(Found { phys, ent: e, prev }));
                }
                prev = Some(e);
            }
        }
        Ok(None)
    }

    /// Looks `name` up in directory `dir` (`ext2_inode_by_name`).
    pub fn lookup(&mut self, dir: u32, name: &[u8]) -> KResult<u32> {
        let di = self.dir_inode(dir)?;
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        match self.find(dir, &di, name)? {
            Some(f) => Ok(f.ent.ino),
            None => Err(Errno::ENOENT),
        }
    }

    /// Lists entries from byte offset `pos` (`ext2_readdir`).
    pub fn readdir(&mut self, dir: u32, pos: u64, visit: &mut DirVisitor<'_>) -> KResult<()> {
        let di = self.dir_inode(dir)?;
        let n = self.dir_nblocks(dir, &di)?;
        let bs = self.bs();
        let mut idx = pos / bs;
        let mut skip_to = (pos % bs) as usize;
        while idx < n {
            let (_, b) = self.dir_block(dir, &di, idx)?;
            for e in self.parse_block(dir, &b)? {
                if e.off < skip_to || e.ino == 0 {
                    continue;
                }
                let next = idx * bs + (e.off + e.rec_len) as u64;
                let name = &b[e.off + 8..e.off + 8 + e.name_len];
                if !visit(name, e.ino, dt_from_ft(e.ftype), next) {
                    return Ok(());
                }
            }
            skip_to = 0;
            idx += 1;
        }
        Ok(())
    }

    fn write_entry(&self, b: &mut [u8], off: usize, ino: u32, rec_len: usize, name: &[u8], ft: u8) {
        put32(b, off, ino);
        put16(b, off + 4, if rec_len >= 65536 { 65535 } else { rec_len as u16 });
        if self.filetype() {
            b[off + 6] = name.len() as u8;
            b[off + 7] = ft;
        } else {
            put16(b, off + 6, name.len() as u16);
        }
        b[off + 8..off + 8 + name.len()].copy_from_slice(name);
    }

    /// Bytes at the end of each directory block reserved for the checksum tail.
    pub(super) fn dir_tail_len(&self) -> usize {
        if self.csum_seed.is_some() { 12 } else { 0 }
    }

    /// Sets the checksum tail of directory block `b` of `dir` (with `metadata_csum`).
    pub(super) fn seal_dir_block(&self, dir: u32, di: &Inode, b: &mut [u8]) {
        if let Some(seed) = self.csum_seed {
            checksum::set_dirent_tail(checksum::inode_seed(seed, dir, di.generation), b);
        }
    }

    /// Turns an indexed (htree) directory into a linear one, as Linux's ext2 does by clearing
    /// the flag: the index blocks are already valid linear blocks (the root's `..` entry and
    /// each interior node's one empty entry cover the index data), but with `metadata_csum`
    /// they carry no checksum tail, so they are rewritten with one.
    fn deindex(&mut self, dir: u32, di: &mut Inode) -> KResult<()> {
        if di.flags & FL_INDEX == 0 {
            return Ok(());
        }
        di.flags &= !FL_INDEX;
        if self.csum_seed.is_none() {
            return Ok(());
        }
        let bs = self.bs() as usize;
        for idx in 0..self.dir_nblocks(dir, di)? {
            let Some(phys) = self.map_block(dir, di, idx)? else { continue };
            let mut b = self.cache.read(phys)?.to_vec();
            if checksum::has_dirent_tail(&b) {
                continue;
            }
            if idx == 0 {
                // "." (12 bytes) then ".." covering the rest: keep both, end ".." before the tail.
                let dotdot = get32(&b, 12);
                let dot = get32(&b, 0);
                b.fill(0);
                self.write_entry(&mut b, 0, dot, 12, b".", FT_DIR);
                self.write_entry(&mut b, 12, dotdot, bs - 24, b"..", FT_DIR);
            } else {
                b.fill(0);
                put16(&mut b, 4, (bs - 12) as u16);
            }
            checksum::init_dirent_tail(&mut b);
            self.seal_dir_block(dir, di, &mut b);
            self.cache.overwrite(phys, &b)?;
        }
        self.write_inode(dir, di)
    }

    /// Adds entry `name` → `child` to `dir` (`ext2_add_link`): reuses a free entry or the slack
    /// of an existing one, else appends a block. Updates the directory's times and size and
    /// clears its HTREE flag.
    pub fn add_entry(&mut self, dir: u32, name: &[u8], child: u32, ft: u8) -> KResult<()> {
        self.ensure_rw()?;
        check_name(name)?;
        let mut di = self.dir_inode(dir)?;
        self.deindex(dir, &mut di)?;
        let tail = self.dir_tail_len();
        let need = rec_len_for(name.len());
        let n = self.dir_nblocks(dir, &di)?;
        let ftype = if self.filetype() { ft } else { 0 };
        let mut placed = false;
        for idx in 0..n {
            let (phys, mut b) = self.dir_block(dir, &di, idx)?;
            let bs = b.len();
            for e in self.parse_block(dir, &b)? {
                if tail > 0 && e.off + e.rec_len > bs - tail {
                    break; // the checksum tail
                }
                if e.ino == 0 && e.rec_len >= need {
                    self.write_entry(&mut b, e.off, child, e.rec_len, name, ftype);
                    placed = true;
                } else if e.ino != 0 && e.rec_len >= rec_len_for(e.name_len) + need {
                    let used = rec_len_for(e.name_len);
                    put16(&mut b, e.off + 4, used as u16);
                    self.write_entry(&mut b, e.off + used, child, e.rec_len - used, name, ftype);
                    placed = true;
                }
                if placed {
                    break;
                }
            }
            if placed {
                self.seal_dir_block(dir, &di, &mut b);
                self.cache.overwrite(phys, &b)?;
                break;
            }
        }
        if !placed {
            let goal = match n.checked_sub(1) {
                Some(last) => self.map_block(dir, &di, last)?.map_or(0, |p| p + 1),
                None => 0,
            };
            let (phys, _) = self.map_alloc(dir, &mut di, n, goal)?;
            let mut b = vec![0u8; self.bs() as usize];
            let bs = b.len();
            self.write_entry(&mut b, 0, child, bs - tail, name, ftype);
            if tail > 0 {
                checksum::init_dirent_tail(&mut b);
                self.seal_dir_block(dir, &di, &mut b);
            }
            self.cache.overwrite(phys, &b)?;
            di.size = (n + 1) * self.bs();
        }
        let now = Fs::now();
        di.mtime = now;
        di.ctime = now;
        di.flags &= !FL_INDEX;
        self.write_inode(dir, &di)
    }

    /// Removes entry `name` from `dir` (`ext2_delete_entry`: merged into the previous entry,
    /// or marked free when first in its block). Returns the inode it named.
    pub fn remove_entry(&mut self, dir: u32, name: &[u8]) -> KResult<u32> {
        self.ensure_rw()?;
        let mut di = self.dir_inode(dir)?;
        self.deindex(dir, &mut di)?;
        let Some(f) = self.find(dir, &di, name)? else { return Err(Errno::ENOENT) };
        let mut b = self.cache.read(f.phys)?.to_vec();
        match f.prev {
            Some(p) => put16(&mut b, p.off + 4, (p.rec_len + f.ent.rec_len) as u16),
            None => put32(&mut b, f.ent.off, 0),
        }
        self.seal_dir_block(dir, &di, &mut b);
        self.cache.overwrite(f.phys, &b)?;
        let now = Fs::now();
        di.mtime = now;
        di.ctime = now;
        di.flags &= !FL_INDEX;
        self.write_inode(dir, &di)?;
        Ok(f.ent.ino)
    }

    /// Points existing entry `name` in `dir` at `child` (`ext2_set_link`).
    pub fn set_entry(&mut self, dir: u32, name: &[u8], child: u32, ft: u8, touch: bool) -> KResult<()> {
        self.ensure_rw()?;
        let mut di = self.dir_inode(dir)?;
        self.deindex(dir, &mut di)?;
        let Some(f) = self.find(dir, &di, name)? else { return Err(Errno::ENOENT) };
        let filetype = self.filetype();
        let mut b = self.cache.read(f.phys)?.to_vec();
        put32(&mut b, f.ent.off, child);
        if filetype {
            b[f.ent.off + 7] = ft;
        }
        self.seal_dir_block(dir, &di, &mut b);
        self.cache.overwrite(f.phys, &b)?;
        if touch {
            let now = Fs::now();
            di.mtime = now;
            di.ctime = now;
        }
        di.flags &= !FL_INDEX;
        self.write_inode(dir, &di)
    }

    /// Whether directory `dir` holds nothing but `.` and `..` (`ext2_empty_dir`).
    pub fn dir_is_empty(&mut self, dir: u32) -> KResult<bool> {
        let di = self.dir_inode(dir)?;
        let n = self.dir_nblocks(dir, &di)?;
        for idx in 0..n {
            let (_, b) = self.dir_block(dir, &di, idx)?;
            for e in self.parse_block(dir, &b)? {
                if e.ino == 0 {
                    continue;
                }
                let name = &b[e.off + 8..e.off + 8 + e.name_len];
                if name != b"." && name != b".." {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}
