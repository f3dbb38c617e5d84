//! Name operations (`fs/ext2/namei.c`): create/mknod, mkdir, symlink, link, unlink, rmdir,
//! rename (with `RENAME_NOREPLACE`/`RENAME_EXCHANGE`) and eviction of orphaned inodes.

use super::dir::{check_name, ft_from_mode};
use super::inode::{self, Inode, FL_APPEND, FL_IMMUTABLE, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use super::symlink::is_fast_symlink;
use super::{corrupt, Fs, Unlinked, LINK_MAX, RENAME_EXCHANGE, RENAME_NOREPLACE, ROOT_INO};
use uapi::{Errno, KResult};

impl Fs {
    fn new_inode(&mut self, mode: u16, uid: u32, gid: u32) -> Inode {
        let mut i = Inode::new(self.sb.inode_size as usize);
        let now = Fs::now();
        i.mode = mode;
        i.uid = uid;
        i.gid = gid;
        i.atime = now;
        i.mtime = now;
        i.ctime = now;
        i.set_crtime(now);
        self.next_generation = self.next_generation.wrapping_mul(1_103_515_245).wrapping_add(12345);
        i.generation = self.next_generation;
        let ft = mode & S_IFMT;
        if (ft == S_IFREG || ft == S_IFDIR) && self.sb.has_incompat(super::superblock::incompat::EXTENTS) {
            super::extent_tree::init_root(&mut i);
        }
        i
    }

    fn check_absent(&mut self, dir: u32, name: &[u8]) -> KResult<()> {
        match self.lookup(dir, name) {
            Ok(_) => Err(Errno::EEXIST),
            Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn adjust_links(&mut self, ino: u32, delta: i32) -> KResult<()> {
        let mut i = self.read_inode(ino)?;
        i.links = if delta >= 0 { i.links.saturating_add(delta as u16) } else { i.links.saturating_sub((-delta) as u16) };
        i.ctime = Fs::now();
        self.write_inode(ino, &i)
    }

    /// Gives back a freshly allocated inode whose directory entry could not be made.
    fn undo_new(&mut self, ino: u32, mut i: Inode) {
        let was_dir = i.is_dir();
        if i.has_data_blocks() && !is_fast_symlink(&i, self.sb.block_size) {
            let _ = self.free_blocks_from(ino, &mut i, 0);
        }
        i.links = 0;
        i.size = 0;
        i.dtime = Fs::now().sec as u32;
        let _ = self.write_inode(ino, &i);
        let _ = self.free_inode(ino, was_dir);
    }

    /// `ext2_create`/`ext2_mknod`.
    pub fn create(&mut self, dir: u32, name: &[u8], mode: u32, uid: u32, gid: u32, rdev: u64) -> KResult<u32> {
        self.ensure_rw()?;
        check_name(name)?;
        self.dir_inode(dir)?;
        let ftype = match mode as u16 & S_IFMT {
            0 => S_IFREG,
            t @ (inode::S_IFREG | inode::S_IFCHR | inode::S_IFBLK | inode::S_IFIFO | inode::S_IFSOCK) => t,
            _ => return Err(Errno::EINVAL),
        };
        self.check_absent(dir, name)?;
        let ino = self.alloc_inode(dir, false)?;
        let mut i = self.new_inode(ftype | (mode as u16 & 0o7777), uid, gid);
        if ftype == inode::S_IFCHR || ftype == inode::S_IFBLK {
            i.set_rdev(rdev);
        }
        i.links = 1;
        if let Err(e) = self.write_inode(ino, &i).and_then(|_| self.add_entry(dir, name, ino, ft_from_mode(ftype))) {
            self.undo_new(ino, i);
            return Err(e);
        }
        Ok(ino)
    }

    /// `ext2_mkdir`.
    pub fn mkdir(&mut self, dir: u32, name: &[u8], mode: u32, uid: u32, gid: u32) -> KResult<u32> {
        self.ensure_rw()?;
        check_name(name)?;
        let parent = self.dir_inode(dir)?;
        if parent.links >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        self.check_absent(dir, name)?;
        let ino = self.alloc_inode(dir, true)?;
        let mut i = self.new_inode(S_IFDIR | (mode as u16 & 0o7777), uid, gid);
        i.links = 2;
        let goal = self.sb.group_first_block((ino - 1) / self.sb.inodes_per_group);
        let blk = match self.map_alloc(ino, &mut i, 0, goal) {
            Ok((b, _)) => b,
            Err(e) => {
                self.undo_new(ino, i);
                return Err(e);
            }
        };
        let bs = self.bs() as usize;
        let mut b = vec![0u8; bs];
        b[0..4].copy_from_slice(&ino.to_le_bytes());
        b[4..6].copy_from_slice(&12u16.to_le_bytes());
        b[6] = 1;
        b[8] = b'.';
        b[12..16].copy_from_slice(&dir.to_le_bytes());
        let tail = self.dir_tail_len();
        let rest = if bs - 12 - tail >= 65536 { 65535 } else { (bs - 12 - tail) as u16 };
        b[16..18].copy_from_slice(&rest.to_le_bytes());
        b[18] = 2;
        b[20] = b'.';
        b[21] = b'.';
        if self.sb.has_incompat(super::superblock::incompat::FILETYPE) {
            b[7] = 2;
            b[19] = 2;
        }
        i.size = bs as u64;
        if tail > 0 {
            super::checksum::init_dirent_tail(&mut b);
            self.seal_dir_block(ino, &i, &mut b);
        }
        let r = self
            .cache
            .overwrite(blk, &b)
            .and_then(|_| self.write_inode(ino, &i))
            .and_then(|_| self.add_entry(dir, name, ino, 2));
        if let Err(e) = r {
            self.undo_new(ino, i);
            return Err(e);
        }
        self.adjust_links(dir, 1)?;
        Ok(ino)
    }

    /// `ext2_symlink`.
    pub fn symlink(&mut self, dir: u32, name: &[u8], target: &[u8], uid: u32, gid: u32) -> KResult<u32> {
        self.ensure_rw()?;
        check_name(name)?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() + 1 > self.bs() as usize {
            return Err(Errno::ENAMETOOLONG);
        }
        self.dir_inode(dir)?;
        self.check_absent(dir, name)?;
        let ino = self.alloc_inode(dir, false)?;
        let mut i = self.new_inode(S_IFLNK | 0o777, uid, gid);
        i.links = 1;
        let r = self
            .init_symlink(ino, &mut i, target)
            .and_then(|_| self.write_inode(ino, &i))
            .and_then(|_| self.add_entry(dir, name, ino, 7));
        if let Err(e) = r {
            self.undo_new(ino, i);
            return Err(e);
        }
        Ok(ino)
    }

    /// `ext2_link`.
    pub fn link(&mut self, ino: u32, dir: u32, name: &[u8], allow_unlinked: bool) -> KResult<()> {
        self.ensure_rw()?;
        check_name(name)?;
        let i = self.read_inode(ino)?;
        if i.is_dir() {
            return Err(Errno::EPERM);
        }
        if i.links == 0 && !allow_unlinked {
            return Err(Errno::ENOENT);
        }
        if i.links >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        if i.flags & (FL_IMMUTABLE | FL_APPEND) != 0 {
            return Err(Errno::EPERM);
        }
        self.dir_inode(dir)?;
        self.check_absent(dir, name)?;
        self.add_entry(dir, name, ino, ft_from_mode(i.mode))?;
        self.adjust_links(ino, 1)?;
        self.orphan_del(ino)?;
        Ok(())
    }

    /// `ext2_tmpfile`: a regular file with no name and no link near `dir`, an orphan (freed by
    /// [`evict`](Fs::evict) on last close or at unmount) until `link` names it.
    pub fn tmpfile(&mut self, dir: u32, mode: u32, uid: u32, gid: u32) -> KResult<u32> {
        self.ensure_rw()?;
        self.dir_inode(dir)?;
        let ino = self.alloc_inode(dir, false)?;
        let mut i = self.new_inode(S_IFREG | (mode as u16 & 0o7777), uid, gid);
        i.links = 0;
        if let Err(e) = self.write_inode(ino, &i) {
            self.undo_new(ino, i);
            return Err(e);
        }
        self.orphan_add(ino)?;
        Ok(ino)
    }

    fn orphan_if_unlinked(&mut self, ino: u32) -> KResult<Unlinked> {
        let i = self.read_inode(ino)?;
        let orphaned = i.links == 0;
        if orphaned {
            self.orphan_add(ino)?;
        }
        Ok(Unlinked { ino, orphaned })
    }

    /// `ext2_unlink`.
    pub fn unlink(&mut self, dir: u32, name: &[u8]) -> KResult<Unlinked> {
        self.ensure_rw()?;
        let ino = self.lookup(dir, name)?;
        let i = self.read_inode(ino)?;
        if i.is_dir() {
            return Err(Errno::EISDIR);
        }
        if i.flags & (FL_IMMUTABLE | FL_APPEND) != 0 {
            return Err(Errno::EPERM);
        }
        self.remove_entry(dir, name)?;
        self.adjust_links(ino, -1)?;
        self.orphan_if_unlinked(ino)
    }

    /// `ext2_rmdir`.
    pub fn rmdir(&mut self, dir: u32, name: &[u8]) -> KResult<Unlinked> {
        self.ensure_rw()?;
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        let ino = self.lookup(dir, name)?;
        let mut i = self.read_inode(ino)?;
        if !i.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if ino == ROOT_INO || ino == dir {
            return Err(Errno::EBUSY);
        }
        if !self.dir_is_empty(ino)? {
            return Err(Errno::ENOTEMPTY);
        }
        self.remove_entry(dir, name)?;
        i.links = 0;
        i.ctime = Fs::now();
        self.write_inode(ino, &i)?;
        self.adjust_links(dir, -1)?;
        self.orphan_if_unlinked(ino)
    }

    /// Frees inode `ino` if it has no links left (`ext2_evict_inode` + `ext2_free_inode`).
    pub fn evict(&mut self, ino: u32) -> KResult<()> {
        self.ensure_rw()?;
        let mut i = self.read_inode(ino)?;
        if i.links != 0 || (i.mode == 0 && i.dtime != 0) || ino < self.sb.first_ino {
            self.orphan_del(ino)?;
            return Ok(());
        }
        self.orphan_del(ino)?;
        let was_dir = i.is_dir();
        if i.has_data_blocks() && !is_fast_symlink(&i, self.sb.block_size) {
            self.free_blocks_from(ino, &mut i, 0)?;
        }
        let acl = i.file_acl;
        self.release_xattr_block(ino, acl)?;
        if acl != 0 {
            i.blocks = i.blocks.saturating_sub(self.sectors_per_block());
        }
        i.file_acl = 0;
        if i.blocks != 0 && !is_fast_symlink(&i, self.sb.block_size) {
            log::warn!("ext2: inode {ino}: {} sectors still counted after freeing its blocks", i.blocks);
        }
        i.blocks = 0;
        i.size = 0;
        i.dtime = Fs::now().sec as u32;
        self.write_inode(ino, &i)?;
        self.free_inode(ino, was_dir)?;
        self.orphans.remove(&ino);
        Ok(())
    }

    /// Whether `anc` is `dir` or one of its ancestors (walking `..`, bounded by the inode count).
    fn is_ancestor(&mut self, anc: u32, dir: u32) -> KResult<bool> {
        let mut cur = dir;
        for _ in 0..=self.sb.inodes_count.min(65536) {
            if cur == anc {
                return Ok(true);
            }
            if cur == ROOT_INO {
                return Ok(false);
            }
            cur = self.lookup(cur, b"..")?;
        }
        Err(corrupt!("directory {dir}: `..` chain does not reach the root"))
    }

    /// `ext2_rename` and `renameat2` flags.
    pub fn rename(&mut self, olddir: u32, oldname: &[u8], newdir: u32, newname: &[u8], flags: u32) -> KResult<Option<Unlinked>> {
        self.ensure_rw()?;
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 || flags == RENAME_NOREPLACE | RENAME_EXCHANGE {
            return Err(Errno::EINVAL);
        }
        for n in [oldname, newname] {
            if n == b"." || n == b".." {
                return Err(Errno::EBUSY);
            }
        }
        check_name(newname)?;
        self.dir_inode(newdir)?;
        let old_ino = self.lookup(olddir, oldname)?;
        let old = self.read_inode(old_ino)?;
        let new_ino = match self.lookup(newdir, newname) {
            Ok(i) => Some(i),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        let old_is_dir = old.is_dir();
        if flags & RENAME_EXCHANGE != 0 {
            let Some(new_ino) = new_ino else { return Err(Errno::ENOENT) };
            return self.exchange(olddir, oldname, old_ino, newdir, newname, new_ino).map(|_| None);
        }
        if flags & RENAME_NOREPLACE != 0 && new_ino.is_some() {
            return Err(Errno::EEXIST);
        }
        if new_ino == Some(old_ino) {
            return Ok(None);
        }
        if old_is_dir && olddir != newdir && self.is_ancestor(old_ino, newdir)? {
            return Err(Errno::EINVAL);
        }
        let mut replaced = None;
        if let Some(new_ino) = new_ino {
            let new = self.read_inode(new_ino)?;
            if old_is_dir {
                if !new.is_dir() {
                    return Err(Errno::ENOTDIR);
                }
                if !self.dir_is_empty(new_ino)? {
                    return Err(Errno::ENOTEMPTY);
                }
            } else if new.is_dir() {
                return Err(Errno::EISDIR);
            }
            self.set_entry(newdir, newname, old_ino, ft_from_mode(old.mode), true)?;
            let mut n = self.read_inode(new_ino)?;
            n.links = if new.is_dir() { 0 } else { n.links.saturating_sub(1) };
            n.ctime = Fs::now();
            self.write_inode(new_ino, &n)?;
            replaced = Some(self.orphan_if_unlinked(new_ino)?);
        } else {
            if old_is_dir && olddir != newdir && self.read_inode(newdir)?.links >= LINK_MAX {
                return Err(Errno::EMLINK);
            }
            self.add_entry(newdir, newname, old_ino, ft_from_mode(old.mode))?;
            if old_is_dir {
                self.adjust_links(newdir, 1)?;
            }
        }
        self.remove_entry(olddir, oldname)?;
        if old_is_dir {
            if olddir != newdir {
                self.set_entry(old_ino, b"..", newdir, 2, false)?;
            }
            self.adjust_links(olddir, -1)?;
        }
        let mut o = self.read_inode(old_ino)?;
        o.ctime = Fs::now();
        self.write_inode(old_ino, &o)?;
        Ok(replaced)
    }

    fn exchange(&mut self, olddir: u32, oldname: &[u8], old_ino: u32, newdir: u32, newname: &[u8], new_ino: u32) -> KResult<()> {
        if old_ino == new_ino {
            return Ok(());
        }
        let old = self.read_inode(old_ino)?;
        let new = self.read_inode(new_ino)?;
        if olddir != newdir {
            if old.is_dir() && self.is_ancestor(old_ino, newdir)? {
                return Err(Errno::EINVAL);
            }
            if new.is_dir() && self.is_ancestor(new_ino, olddir)? {
                return Err(Errno::EINVAL);
            }
            if old.is_dir() && !new.is_dir() && self.read_inode(newdir)?.links >= LINK_MAX {
                return Err(Errno::EMLINK);
            }
            if new.is_dir() && !old.is_dir() && self.read_inode(olddir)?.links >= LINK_MAX {
                return Err(Errno::EMLINK);
            }
        }
        self.set_entry(olddir, oldname, new_ino, ft_from_mode(new.mode), true)?;
        self.set_entry(newdir, newname, old_ino, ft_from_mode(old.mode), true)?;
        if olddir != newdir {
            if old.is_dir() {
                self.set_entry(old_ino, b"..", newdir, 2, false)?;
            }
            if new.is_dir() {
                self.set_entry(new_ino, b"..", olddir, 2, false)?;
            }
            match (old.is_dir(), new.is_dir()) {
                (true, false) => {
                    self.adjust_links(newdir, 1)?;
                    self.adjust_links(olddir, -1)?;
                }
                (false, true) => {
                    self.adjust_links(olddir, 1)?;
                    self.adjust_links(newdir, -1)?;
                }
                _ => {}
            }
        }
        for ino in [old_ino, new_ino] {
            let mut i = self.read_inode(ino)?;
            i.ctime = Fs::now();
            self.write_inode(ino, &i)?;
        }
        Ok(())
    }
}
