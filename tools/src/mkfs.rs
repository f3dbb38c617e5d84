//! Building an ext2 image from a host directory (`umbra-mkfs`), like `mke2fs -d` or
//! genext2fs: regular files (all-zero blocks left as holes), directories, symlinks, FIFOs,
//! sockets and device nodes, hard links kept by host inode, modes and times kept, ownership
//! root unless a device table overrides it.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fs::block::{BlockDevice, FileBlockDevice};
use fs::ext2::inode::makedev;
use fs::ext2::mkfs::{format, layout, FormatOptions};
use fs::ext2::{Ext2Fs, SetAttr, Timespec};

use crate::devtable::{self, DevEntry};

/// What to build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Image size in bytes.
    pub size: u64,
    /// Block size; `None` picks 1024 under 16 MiB and 4096 above.
    pub block_size: Option<u32>,
    /// A genext2fs/makedevs device table to apply after copying.
    pub device_table: Option<PathBuf>,
    /// Volume label.
    pub label: String,
}

/// A build failure, one line for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkfsError(pub String);

impl std::fmt::Display for MkfsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MkfsError {}

fn err<T>(m: impl Into<String>) -> Result<T, MkfsError> {
    Err(MkfsError(m.into()))
}

/// Parses a size: a number with an optional `K`, `M`, `G` or `T` suffix (powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        't' | 'T' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// Formats a byte count the way the size option takes it (rounded up).
pub fn format_size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{}M", n.div_ceil(1 << 20))
    } else {
        format!("{}K", n.div_ceil(1 << 10))
    }
}

/// Space needed by the tree: blocks and inodes.
#[derive(Default, Debug, Clone, Copy)]
struct Need {
    blocks: u64,
    inodes: u64,
}

/// Blocks a file of `data` data blocks takes, indirect blocks included.
fn with_indirect(data: u64, bs: u64) -> u64 {
    let a = bs / 4;
    let mut total = data;
    if data > 12 {
        total += 1;
    }
    if data > 12 + a {
        total += 1 + (data - 12 - a).div_ceil(a).min(a);
    }
    if data > 12 + a + a * a {
        let rest = data - 12 - a - a * a;
        total += 1 + rest.div_ceil(a * a) + rest.div_ceil(a);
    }
    total
}

fn scan(dir: &Path, bs: u64, need: &mut Need, seen: &mut HashMap<(u64, u64), ()>) -> Result<(), MkfsError> {
    let rd = std::fs::read_dir(dir).map_err(|e| MkfsError(format!("{}: {e}", dir.display())))?;
    let mut names = 0u64;
    for ent in rd {
        let ent = ent.map_err(|e| MkfsError(format!("{}: {e}", dir.display())))?;
        let p = ent.path();
        let md = std::fs::symlink_metadata(&p).map_err(|e| MkfsError(format!("{}: {e}", p.display())))?;
        names += (ent.file_name().len() as u64 + 8 + 3) & !3;
        if !md.is_dir() && md.nlink() > 1 && seen.insert((md.dev(), md.ino()), ()).is_some() {
            continue;
        }
        need.inodes += 1;
        let ft = md.file_type();
        if ft.is_dir() {
            scan(&p, bs, need, seen)?;
        } else if ft.is_file() {
            let used = (md.blocks() * 512).min(md.len().div_ceil(bs) * bs);
            need.blocks += with_indirect(used.div_ceil(bs), bs);
        } else if ft.is_symlink() && md.len() >= 60 {
            need.blocks += 1;
        }
    }
    // A directory's own blocks: its entries plus `.` and `..`, with slack for block ends.
    need.blocks += with_indirect((names + 24).div_ceil(bs.saturating_sub(16)).max(1), bs);
    Ok(())
}

fn fits(size: u64, bs: u32, need: Need) -> Option<FormatOptions> {
    let mut o = FormatOptions { block_size: bs, ..Default::default() };
    let l = layout(size, &o).ok()?;
    let inodes = (need.inodes + 16).max(l.inodes());
    o.inodes = Some(u32::try_from(inodes).ok()?);
    let l = layout(size, &o).ok()?;
    let lpf = (16384 / bs as u64).clamp(1, 12);
    if l.inodes() < need.inodes + 11 || l.data_blocks() < need.blocks + lpf + 1 {
        return None;
    }
    Some(o)
}

fn min_size(bs: u32, need: Need) -> u64 {
    let mut hi = 1u64 << 20;
    while fits(hi, bs, need).is_none() {
        if hi > 1 << 44 {
            return hi;
        }
        hi *= 2;
    }
    let mut lo = hi / 2;
    while hi - lo > 64 * 1024 {
        let mid = (lo + hi) / 2;
        if fits(mid, bs, need).is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

fn fserr(what: &str, e: uapi::Errno) -> MkfsError {
    if e == uapi::Errno::ENOSPC {
        MkfsError(format!("{what}: image full (ENOSPC); use a larger --size"))
    } else {
        MkfsError(format!("{what}: {e}"))
    }
}

fn host_times(md: &std::fs::Metadata) -> (Timespec, Timespec) {
    (
        Timespec { sec: md.atime(), nsec: md.atime_nsec().clamp(0, 999_999_999) as u32 },
        Timespec { sec: md.mtime(), nsec: md.mtime_nsec().clamp(0, 999_999_999) as u32 },
    )
}

struct Copier<'a> {
    fs: &'a Ext2Fs,
    links: HashMap<(u64, u64), u32>,
    bs: usize,
}

impl Copier<'_> {
    fn copy_file(&mut self, src: &Path, ino: u32, len: u64) -> Result<(), MkfsError> {
        let mut f = File::open(src).map_err(|e| MkfsError(format!("{}: {e}", src.display())))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut off = 0u64;
        let what = src.display().to_string();
        loop {
            let n = f.read(&mut buf).map_err(|e| MkfsError(format!("{what}: {e}")))?;
            if n == 0 {
                break;
            }
            // Write runs of non-zero blocks; all-zero blocks stay holes.
            let mut i = 0;
            while i < n {
                let end = (i + self.bs).min(n);
                if buf[i..end].iter().all(|&b| b == 0) {
                    i = end;
                    continue;
                }
                let mut j = end;
                while j < n {
                    let e2 = (j + self.bs).min(n);
                    if buf[j..e2].iter().all(|&b| b == 0) {
                        break;
                    }
                    j = e2;
                }
                let w = self.fs.write(ino, off + i as u64, &buf[i..j]).map_err(|e| fserr(&what, e))?;
                if w != j - i {
                    return Err(fserr(&what, uapi::Errno::ENOSPC));
                }
                i = j;
            }
            off += n as u64;
        }
        if off != len {
            log::warn!("{what}: size changed while copying");
        }
        self.fs.truncate(ino, off).map_err(|e| fserr(&what, e))?;
        Ok(())
    }

    fn copy_dir(&mut self, src: &Path, dir: u32) -> Result<(), MkfsError> {
        let mut ents: Vec<_> = std::fs::read_dir(src)
            .map_err(|e| MkfsError(format!("{}: {e}", src.display())))?
            .collect::<Result<_, _>>()
            .map_err(|e| MkfsError(format!("{}: {e}", src.display())))?;
        ents.sort_by_key(|e| e.file_name());
        for ent in ents {
            let p = ent.path();
            let name = ent.file_name();
            let name = name.as_encoded_bytes();
            let what = p.display().to_string();
            let md = std::fs::symlink_metadata(&p).map_err(|e| MkfsError(format!("{what}: {e}")))?;
            let ft = md.file_type();
            let perm = md.mode() & 0o7777;
            let key = (md.dev(), md.ino());
            if !ft.is_dir() && md.nlink() > 1 {
                if let Some(&ino) = self.links.get(&key) {
                    self.fs.link(ino, dir, name).map_err(|e| fserr(&what, e))?;
                    continue;
                }
            }
            let ino = if ft.is_dir() {
                // An existing directory (the image's own lost+found) is merged into.
                let ino = match self.fs.mkdir(dir, name, perm, 0, 0) {
                    Err(uapi::Errno::EEXIST) => self.fs.lookup(dir, name).map_err(|e| fserr(&what, e))?,
                    r => r.map_err(|e| fserr(&what, e))?,
                };
                self.copy_dir(&p, ino)?;
                ino
            } else if ft.is_symlink() {
                let t = std::fs::read_link(&p).map_err(|e| MkfsError(format!("{what}: {e}")))?;
                self.fs.symlink(dir, name, t.as_os_str().as_encoded_bytes(), 0, 0).map_err(|e| fserr(&what, e))?
            } else {
                let (kind, rdev) = if ft.is_file() {
                    (0o100000, 0)
                } else if ft.is_fifo() {
                    (0o010000, 0)
                } else if ft.is_socket() {
                    (0o140000, 0)
                } else if ft.is_char_device() {
                    (0o020000, md.rdev())
                } else if ft.is_block_device() {
                    (0o060000, md.rdev())
                } else {
                    return err(format!("{what}: unsupported file type"));
                };
                let ino = self.fs.create(dir, name, kind | perm, 0, 0, rdev).map_err(|e| fserr(&what, e))?;
                if ft.is_file() {
                    self.copy_file(&p, ino, md.len())?;
                }
                ino
            };
            if !ft.is_dir() && md.nlink() > 1 {
                self.links.insert(key, ino);
            }
            let (atime, mtime) = host_times(&md);
            let a = SetAttr { mode: Some(perm), atime: Some(atime), mtime: Some(mtime), ..Default::default() };
            if !ft.is_symlink() {
                self.fs.set_attr(ino, &a).map_err(|e| fserr(&what, e))?;
            } else {
                self.fs.set_attr(ino, &SetAttr { atime: Some(atime), mtime: Some(mtime), ..Default::default() }).map_err(|e| fserr(&what, e))?;
            }
        }
        Ok(())
    }
}

fn resolve_parent(fs: &Ext2Fs, path: &str) -> Result<(u32, Vec<u8>), String> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let Some((last, dirs)) = comps.split_last() else {
        return Err("the root has no name".into());
    };
    let mut ino = fs.root_ino();
    for c in dirs {
        ino = fs.lookup(ino, c.as_bytes()).map_err(|e| format!("parent directory /{c}: {e}"))?;
    }
    Ok((ino, last.as_bytes().to_vec()))
}

fn apply_entry(fs: &Ext2Fs, e: &DevEntry) -> Result<(), String> {
    let owner = SetAttr { mode: Some(e.mode), uid: Some(e.uid), gid: Some(e.gid), ..Default::default() };
    if e.path.trim_matches('/').is_empty() {
        return fs.set_attr(fs.root_ino(), &owner).map_err(|x| x.to_string());
    }
    let (dir, name) = resolve_parent(fs, &e.path)?;
    let existing = fs.lookup(dir, &name).ok();
    let ino = match (e.kind, existing) {
        ('f', Some(i)) => i,
        ('f', None) => return Err("no such file in the tree".into()),
        ('d', Some(i)) => i,
        ('d', None) => fs.mkdir(dir, &name, e.mode, e.uid, e.gid).map_err(|x| x.to_string())?,
        (k, ex) => {
            let t = match k {
                'c' => 0o020000,
                'b' => 0o060000,
                _ => 0o010000,
            };
            if ex.is_some() {
                let u = fs.unlink(dir, &name).map_err(|x| format!("replacing it: {x}"))?;
                if u.orphaned {
                    fs.evict(u.ino).map_err(|x| x.to_string())?;
                }
            }
            fs.create(dir, &name, t | e.mode, e.uid, e.gid, makedev(e.major, e.minor)).map_err(|x| x.to_string())?
        }
    };
    let want_dir = e.kind == 'd';
    let st = fs.stat(ino).map_err(|x| x.to_string())?;
    if want_dir != (st.mode & 0o170000 == 0o040000) {
        return Err("exists with another file type".into());
    }
    fs.set_attr(ino, &owner).map_err(|x| x.to_string())
}

/// Builds `out` (created or truncated to `opts.size`) holding a copy of `from_dir` (or an empty
/// filesystem when `None`). Errors are single lines for the user.
pub fn build(from_dir: Option<&Path>, out: &Path, opts: &BuildOptions) -> Result<(), MkfsError> {
    if let Some(d) = from_dir {
        match std::fs::metadata(d) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return err(format!("{}: not a directory", d.display())),
            Err(e) => return err(format!("{}: {e}", d.display())),
        }
    }
    let bs = opts.block_size.unwrap_or(if opts.size < 16 << 20 { 1024 } else { 4096 });
    if !matches!(bs, 1024 | 2048 | 4096) {
        return err(format!("block size {bs}: must be 1024, 2048 or 4096"));
    }
    let table = match &opts.device_table {
        Some(p) => {
            let t = std::fs::read_to_string(p).map_err(|e| MkfsError(format!("{}: {e}", p.display())))?;
            devtable::parse(&t).map_err(|e| MkfsError(format!("{}: {e}", p.display())))?
        }
        None => Vec::new(),
    };
    let mut need = Need::default();
    if let Some(d) = from_dir {
        scan(d, bs as u64, &mut need, &mut HashMap::new())?;
    }
    need.inodes += table.len() as u64;
    need.blocks += table.iter().filter(|e| e.kind == 'd').count() as u64 + table.len() as u64 / 16;
    let Some(mut fo) = fits(opts.size, bs, need) else {
        return err(format!("image too small: need at least {}", format_size(min_size(bs, need))));
    };
    fo.label = opts.label.as_bytes().to_vec();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(out)
        .map_err(|e| MkfsError(format!("{}: {e}", out.display())))?;
    file.set_len(opts.size).map_err(|e| MkfsError(format!("{}: {e}", out.display())))?;
    let dev: Arc<dyn BlockDevice> =
        Arc::new(FileBlockDevice::from_file(file, false).map_err(|e| MkfsError(format!("{}: {e}", out.display())))?);
    format(dev.clone(), &fo).map_err(|e| fserr("formatting", e))?;
    let fs = Ext2Fs::mount(dev, false).map_err(|e| MkfsError(e.message))?;
    if let Some(d) = from_dir {
        let mut c = Copier { fs: &fs, links: HashMap::new(), bs: bs as usize };
        c.copy_dir(d, fs.root_ino())?;
        let md = std::fs::metadata(d).map_err(|e| MkfsError(format!("{}: {e}", d.display())))?;
        let (atime, mtime) = host_times(&md);
        let a = SetAttr { mode: Some(md.mode() & 0o7777), atime: Some(atime), mtime: Some(mtime), ..Default::default() };
        fs.set_attr(fs.root_ino(), &a).map_err(|e| fserr("/", e))?;
    }
    for e in &table {
        apply_entry(&fs, e).map_err(|m| MkfsError(format!("device table entry {}: {m}", e.path)))?;
    }
    fs.unmount().map_err(|e| fserr("writing the image", e))?;
    Ok(())
}

/// `build` with the signature: copy `from_dir` into a `size`-byte image at `out`,
/// applying `device_table` if given.
pub fn build_image(from_dir: &Path, size: u64, out: &Path, device_table: Option<&Path>) -> Result<(), MkfsError> {
    let opts = BuildOptions {
        size,
        block_size: None,
        device_table: device_table.map(Path::to_path_buf),
        label: String::new(),
    };
    build(Some(from_dir), out, &opts)
}
