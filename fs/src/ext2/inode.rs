//! On-disk inodes (`struct ext2_inode`, and ext4's large-inode fields): parsing, encoding,
//! timestamps with nanoseconds in the extra fields, 32-bit uid/gid, 64-bit size and blocks,
//! and device numbers as Linux's ext2 stores them in `i_block`.

use super::raw::{get16, get32, put16, put32};

/// `S_IFMT` and the file type bits.
pub const S_IFMT: u16 = 0o170000;
pub const S_IFSOCK: u16 = 0o140000;
pub const S_IFLNK: u16 = 0o120000;
pub const S_IFREG: u16 = 0o100000;
pub const S_IFBLK: u16 = 0o060000;
pub const S_IFDIR: u16 = 0o040000;
pub const S_IFCHR: u16 = 0o020000;
pub const S_IFIFO: u16 = 0o010000;

/// `i_flags`: immutable file.
pub const FL_IMMUTABLE: u32 = 0x10;
/// `i_flags`: append only.
pub const FL_APPEND: u32 = 0x20;
/// `i_flags`: hash-indexed directory (HTREE).
pub const FL_INDEX: u32 = 0x1000;
/// `i_flags`: `i_blocks` counts fs blocks, not sectors (ext4 huge_file).
pub const FL_HUGE_FILE: u32 = 0x40000;
/// `i_flags`: extent-mapped inode (ext4).
pub const FL_EXTENTS: u32 = 0x80000;
/// `i_flags`: data stored inline in the inode (ext4).
pub const FL_INLINE_DATA: u32 = 0x1000_0000;

/// Size of the `i_block` array in bytes (15 block pointers).
pub const I_BLOCK_BYTES: usize = 60;

/// A timestamp: seconds since the epoch and nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: u32,
}

impl Timespec {
    /// The host's current time.
    pub fn now() -> Timespec {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timespec { sec: d.as_secs() as i64, nsec: d.subsec_nanos() },
            Err(_) => Timespec::default(),
        }
    }
}

/// A parsed inode; `raw` keeps the fields umbra does not interpret.
#[derive(Clone, Debug)]
pub struct Inode {
    pub raw: Vec<u8>,
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: Timespec,
    pub ctime: Timespec,
    pub mtime: Timespec,
    pub dtime: u32,
    pub links: u16,
    /// `i_blocks` as stored (512-byte units unless `FL_HUGE_FILE`).
    pub blocks: u64,
    pub flags: u32,
    pub block: [u8; I_BLOCK_BYTES],
    pub generation: u32,
    pub file_acl: u64,
}

fn extra_fits(raw: &[u8], field_end: usize) -> bool {
    raw.len() > 128 && 128 + get16(raw, 128) as usize >= field_end
}

fn decode_time(raw: &[u8], off: usize, extra_off: usize) -> Timespec {
    let lo = get32(raw, off) as i32 as i64;
    if extra_fits(raw, extra_off + 4) {
        let extra = get32(raw, extra_off);
        let epoch = (extra & 3) as i64;
        Timespec { sec: lo + (epoch << 32), nsec: (extra >> 2).min(999_999_999) }
    } else {
        Timespec { sec: lo, nsec: 0 }
    }
}

fn encode_time(raw: &mut [u8], off: usize, extra_off: usize, t: Timespec) {
    put32(raw, off, t.sec as u32);
    if extra_fits(raw, extra_off + 4) {
        let epoch = ((t.sec - (t.sec as i32 as i64)) >> 32) as u32 & 3;
        put32(raw, extra_off, epoch | (t.nsec.min(999_999_999) << 2));
    }
}

impl Inode {
    /// Parses an on-disk inode. `size_high_all` reads `i_size_high` for every file type
    /// (ext4 `large_dir`); otherwise only regular files use it (for ext2 directories the field
    /// is `i_dir_acl`). `huge` is the `huge_file` feature (`i_blocks_hi` valid).
    pub fn parse(raw: &[u8], size_high_all: bool, huge: bool) -> Inode {
        let mode = get16(raw, 0);
        let mut size = get32(raw, 4) as u64;
        if mode & S_IFMT == S_IFREG || size_high_all {
            size |= (get32(raw, 108) as u64) << 32;
        }
        let mut blocks = get32(raw, 28) as u64;
        if huge {
            blocks |= (get16(raw, 116) as u64) << 32;
        }
        let mut block = [0u8; I_BLOCK_BYTES];
        block.copy_from_slice(&raw[40..100]);
        Inode {
            mode,
            uid: get16(raw, 2) as u32 | (get16(raw, 120) as u32) << 16,
            gid: get16(raw, 24) as u32 | (get16(raw, 122) as u32) << 16,
            size,
            atime: decode_time(raw, 8, 140),
            ctime: decode_time(raw, 12, 132),
            mtime: decode_time(raw, 16, 136),
            dtime: get32(raw, 20),
            links: get16(raw, 26),
            blocks,
            flags: get32(raw, 32),
            block,
            generation: get32(raw, 100),
            file_acl: get32(raw, 104) as u64 | (get16(raw, 118) as u64) << 32,
            raw: raw.to_vec(),
        }
    }

    /// A zeroed inode of `inode_size` bytes; large inodes get `i_extra_isize` = 32 so the
    /// nanosecond timestamp fields exist (as mke2fs and Linux ext4 do).
    pub fn new(inode_size: usize) -> Inode {
        let mut raw = vec![0u8; inode_size];
        if inode_size >= 160 {
            put16(&mut raw, 128, 32);
        }
        Inode::parse(&raw, false, false)
    }

    /// The on-disk bytes with the parsed fields stored back.
    pub fn to_raw(&self) -> Vec<u8> {
        let mut r = self.raw.clone();
        put16(&mut r, 0, self.mode);
        put16(&mut r, 2, self.uid as u16);
        put16(&mut r, 120, (self.uid >> 16) as u16);
        put16(&mut r, 24, self.gid as u16);
        put16(&mut r, 122, (self.gid >> 16) as u16);
        put32(&mut r, 4, self.size as u32);
        if self.is_reg() {
            put32(&mut r, 108, (self.size >> 32) as u32);
        }
        encode_time(&mut r, 8, 140, self.atime);
        encode_time(&mut r, 12, 132, self.ctime);
        encode_time(&mut r, 16, 136, self.mtime);
        put32(&mut r, 20, self.dtime);
        put16(&mut r, 26, self.links);
        put32(&mut r, 28, self.blocks as u32);
        put16(&mut r, 116, (self.blocks >> 32) as u16);
        put32(&mut r, 32, self.flags);
        r[40..100].copy_from_slice(&self.block);
        put32(&mut r, 100, self.generation);
        put32(&mut r, 104, self.file_acl as u32);
        put16(&mut r, 118, (self.file_acl >> 32) as u16);
        r
    }

    /// The file type bits.
    pub fn ftype(&self) -> u16 {
        self.mode & S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.ftype() == S_IFDIR
    }
    pub fn is_reg(&self) -> bool {
        self.ftype() == S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.ftype() == S_IFLNK
    }
    /// Whether the inode's data lives in blocks (regular, directory, symlink).
    pub fn has_data_blocks(&self) -> bool {
        matches!(self.ftype(), S_IFREG | S_IFDIR | S_IFLNK)
    }

    /// Pointer `i` of `i_block` (0..15).
    pub fn block_ptr(&self, i: usize) -> u32 {
        get32(&self.block, i * 4)
    }
    /// Sets pointer `i` of `i_block`.
    pub fn set_block_ptr(&mut self, i: usize, v: u32) {
        put32(&mut self.block, i * 4, v)
    }

    /// `i_blocks` in 512-byte units.
    pub fn sectors(&self, block_size: u32) -> u64 {
        if self.flags & FL_HUGE_FILE != 0 {
            self.blocks.saturating_mul(block_size as u64 / 512)
        } else {
            self.blocks
        }
    }

    /// The device number in the `stat` `st_rdev` encoding, decoded as `ext2_iget` does
    /// (old 16-bit form in `i_block[0]`, else the new form in `i_block[1]`).
    pub fn rdev(&self) -> u64 {
        let old = self.block_ptr(0);
        let (major, minor) = if old != 0 {
            ((old >> 8) & 0xff, old & 0xff)
        } else {
            let new = self.block_ptr(1);
            ((new & 0xfff00) >> 8, (new & 0xff) | ((new >> 12) & 0xfff00))
        };
        makedev(major, minor)
    }

    /// Stores a device number as `ext2_set_inode`/`old_valid_dev` does.
    pub fn set_rdev(&mut self, rdev: u64) {
        let (major, minor) = (dev_major(rdev), dev_minor(rdev));
        if major < 256 && minor < 256 {
            self.set_block_ptr(0, (major << 8) | minor);
            self.set_block_ptr(1, 0);
        } else {
            self.set_block_ptr(0, 0);
            self.set_block_ptr(1, (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12));
        }
        self.set_block_ptr(2, 0);
    }

    /// Whether `i_checksum_hi` exists in this (large) inode.
    /// Sets the creation time (`i_crtime`, ext4's large inodes with room for it).
    pub fn set_crtime(&mut self, t: Timespec) {
        if extra_fits(&self.raw, 0x98) {
            encode_time(&mut self.raw, 0x90, 0x94, t);
        }
    }

    pub fn has_csum_hi(&self) -> bool {
        extra_fits(&self.raw, 0x84)
    }
}

/// glibc's `makedev` (the `st_rdev` encoding).
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & !0xff) << 12) | ((ma & !0xfff) << 32)
}
/// glibc's `major`.
pub fn dev_major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}
/// glibc's `minor`.
pub fn dev_minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}
