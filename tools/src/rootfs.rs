//! The default root image: a small busybox system assembled from the recipe in `rootfs/`
//! (plain files under `rootfs/files`, permissions and device nodes in
//! `rootfs/device_table.txt`) plus a static busybox and a symlink for each of its applets, built
//! into an ext2 image by [`crate::mkfs::build_image`] without root and without e2fsprogs.
//!
//! Busybox comes from, in order: the path the caller names; the host's `/bin/busybox` (or
//! `/usr/bin/busybox`) if it is a static x86-64 ELF (no `PT_INTERP`); Debian's
//! `busybox-static` package fetched with `apt-get download` and unpacked with `dpkg-deb -x`
//! (neither needs root). The image content is deterministic: the same recipe and busybox give
//! the same files, modes, owners and file times (`SOURCE_DATE_EPOCH`, or a fixed date).

use std::io::ErrorKind;
use std::os::unix::fs::{symlink, FileExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// The default image size: 64 MiB.
pub const DEFAULT_SIZE: u64 = 64 << 20;

/// Host paths tried, in order, for a static busybox before downloading one.
pub const HOST_BUSYBOX: &[&str] = &["/bin/busybox", "/usr/bin/busybox"];

/// What to tell the user when no static busybox can be had.
pub const INSTALL_HINT: &str =
    "install Debian's busybox-static (apt-get install busybox-static) or put a static busybox at /bin/busybox (or pass --busybox PATH)";

/// File times in the image when `SOURCE_DATE_EPOCH` is unset: 2025-01-01 00:00:00 UTC.
const DEFAULT_EPOCH: u64 = 1_735_689_600;

/// Directories under which busybox applet links are made (`busybox --list-full` also names
/// `linuxrc`, which does not belong in a root filesystem).
const APPLET_DIRS: &[&str] = &["bin/", "sbin/", "usr/bin/", "usr/sbin/"];

/// How to build the default image.
#[derive(Clone, Debug)]
pub struct Options {
    /// Image size in bytes ([`DEFAULT_SIZE`] by default).
    pub size: u64,
    /// A static busybox to use instead of searching for one.
    pub busybox: Option<PathBuf>,
    /// The recipe directory, holding `files/` and `device_table.txt` ([`recipe_dir`]).
    pub recipe: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options { size: DEFAULT_SIZE, busybox: None, recipe: recipe_dir() }
    }
}

/// The workspace root this crate was built in.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The recipe committed in the repository: `<workspace>/rootfs`.
pub fn recipe_dir() -> PathBuf {
    workspace_root().join("rootfs")
}

/// Where `umbra` looks for the default image: `<workspace>/rootfs/build/rootfs.img`.
pub fn default_image_path() -> PathBuf {
    workspace_root().join("rootfs/build/rootfs.img")
}

/// Builds `path` with the default options if it does not exist yet, printing one line to
/// stderr when it does so. Returns whether it built the image.
pub fn ensure_default_image(path: &Path) -> Result<bool, String> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", path.display())),
    }
    eprintln!("umbra: building the default root image {} ...", path.display());
    build_default_image(path, &Options::default())?;
    Ok(true)
}

/// Builds the default root image at `out` (its directory is created if missing). The image is
/// written beside `out` and renamed into place, so `out` never holds a half-built image.
pub fn build_default_image(out: &Path, opts: &Options) -> Result<(), String> {
    let files = opts.recipe.join("files");
    let table = opts.recipe.join("device_table.txt");
    for p in [&files, &table] {
        std::fs::metadata(p).map_err(|e| format!("rootfs recipe {}: {e}", p.display()))?;
    }
    let scratch = tempdir()?;
    let busybox = find_busybox(opts.busybox.as_deref(), scratch.path())?;
    let stage = scratch.path().join("root");
    stage_tree(&files, &busybox, &stage)?;
    stage_table_dirs(&table, &stage)?;
    let epoch = source_date_epoch();
    set_times(&stage, epoch)?;
    write_image(&stage, out, opts.size, &table)
}

/// Builds the image into a temporary file beside `out`, then renames it to `out`.
fn write_image(stage: &Path, out: &Path, size: u64, table: &Path) -> Result<(), String> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(format!(".partial-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let built = crate::mkfs::build_image(stage, size, &tmp, Some(table)).map_err(|e| e.0);
    let done = built.and_then(|()| std::fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display())));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

fn tempdir() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("umbra-rootfs-")
        .tempdir()
        .map_err(|e| format!("creating a temporary directory: {e}"))
}

/// Finds a static busybox: `explicit` if given (it must be static), else a static host busybox
/// from [`HOST_BUSYBOX`], else Debian's `busybox-static` downloaded and unpacked into
/// `scratch`. The error says what was tried and what to install.
pub fn find_busybox(explicit: Option<&Path>, scratch: &Path) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        check_static_elf(p).map_err(|why| format!("busybox {}: {why}", p.display()))?;
        return Ok(p.to_path_buf());
    }
    let mut tried = Vec::new();
    for p in HOST_BUSYBOX.iter().map(Path::new) {
        match check_static_elf(p) {
            Ok(()) => return Ok(p.to_path_buf()),
            Err(why) => tried.push(format!("{}: {why}", p.display())),
        }
    }
    match download_busybox(scratch) {
        Ok(p) => Ok(p),
        Err(why) => {
            tried.push(why);
            Err(format!("no static busybox found ({}); {INSTALL_HINT}", tried.join("; ")))
        }
    }
}

/// Fetches Debian's `busybox-static` with `apt-get download` into `scratch`, unpacks it with
/// `dpkg-deb -x` and returns its busybox if that is static.
pub fn download_busybox(scratch: &Path) -> Result<PathBuf, String> {
    let dl = scratch.join("apt");
    std::fs::create_dir_all(&dl).map_err(|e| format!("{}: {e}", dl.display()))?;
    run_tool(Command::new("apt-get").args(["-q", "download", "busybox-static"]).current_dir(&dl))
        .map_err(|e| format!("`apt-get download busybox-static` {e}"))?;
    let deb = find_deb(&dl)?;
    let root = scratch.join("deb");
    run_tool(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))
        .map_err(|e| format!("`dpkg-deb -x {}` {e}", deb.display()))?;
    for rel in ["bin/busybox", "usr/bin/busybox"] {
        let p = root.join(rel);
        if p.exists() {
            check_static_elf(&p).map_err(|why| format!("busybox-static's {rel}: {why}"))?;
            return Ok(p);
        }
    }
    Err("the busybox-static package holds no bin/busybox".into())
}

/// Runs a host tool, turning a failure into "failed: <last line of its stderr>".
fn run_tool(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("could not run: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
    Err(format!("failed ({}): {}", out.status, last.trim()))
}

/// The one `.deb` file in `dir`.
fn find_deb(dir: &Path) -> Result<PathBuf, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    rd.filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| "apt-get download busybox-static left no .deb file".to_string())
}

/// Reads `len` bytes of `f` at `off`, or says the file is too short.
fn read_at(f: &std::fs::File, off: u64, len: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; len];
    f.read_exact_at(&mut buf, off).map_err(|e| match e.kind() {
        ErrorKind::UnexpectedEof => "truncated ELF file".to_string(),
        _ => e.to_string(),
    })?;
    Ok(buf)
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).and_then(|s| s.try_into().ok()).map_or(0, u16::from_le_bytes)
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).and_then(|s| s.try_into().ok()).map_or(0, u32::from_le_bytes)
}

fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).and_then(|s| s.try_into().ok()).map_or(0, u64::from_le_bytes)
}

/// Checks that `path` is an x86-64 ELF executable with no program interpreter (`PT_INTERP`),
/// i.e. one that runs in an empty root filesystem. The error is the reason it is not.
pub fn check_static_elf(path: &Path) -> Result<(), String> {
    const PT_INTERP: u32 = 3;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let eh = read_at(&f, 0, 64).map_err(|_| "not an ELF file".to_string())?;
    if eh[..4] != *b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if eh[4] != 2 || eh[5] != 1 || le16(&eh, 18) != 62 {
        return Err("not an x86-64 ELF file".into());
    }
    if !matches!(le16(&eh, 16), 2 | 3) {
        return Err("not an ELF executable".into());
    }
    let (phoff, phentsize, phnum) = (le64(&eh, 32), usize::from(le16(&eh, 54)), usize::from(le16(&eh, 56)));
    if phentsize != 56 || phnum == 0 || phnum == 0xffff {
        return Err("malformed ELF program headers".into());
    }
    let ph = read_at(&f, phoff, phentsize * phnum)?;
    if ph.chunks_exact(phentsize).any(|p| le32(p, 0) == PT_INTERP) {
        return Err("dynamically linked (it has a program interpreter)".into());
    }
    Ok(())
}

/// The applet paths `busybox --list-full` prints (relative, such as `bin/ls`), keeping only
/// plain relative paths under [`APPLET_DIRS`].
pub fn applet_paths(busybox: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| format!("running `{} --list-full`: {e}", busybox.display()))?;
    if !out.status.success() {
        return Err(format!("`{} --list-full` failed ({})", busybox.display(), out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut paths: Vec<PathBuf> = text
        .lines()
        .map(str::trim)
        .filter(|l| APPLET_DIRS.iter().any(|d| l.starts_with(d)))
        .map(PathBuf::from)
        .filter(|p| p.components().all(|c| matches!(c, Component::Normal(_))))
        .collect();
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        return Err(format!("`{} --list-full` named no applets", busybox.display()));
    }
    Ok(paths)
}

/// Assembles the root tree at `stage`: a copy of `files`, busybox at `/bin/busybox`, and a
/// relative symlink to it for every applet the recipe does not provide itself.
fn stage_tree(files: &Path, busybox: &Path, stage: &Path) -> Result<(), String> {
    copy_tree(files, stage)?;
    let bin = stage.join("bin");
    mkdir(&bin)?;
    let target = bin.join("busybox");
    std::fs::copy(busybox, &target).map_err(|e| format!("copying {}: {e}", busybox.display()))?;
    chmod(&target, 0o755)?;
    for rel in applet_paths(busybox)? {
        link_applet(stage, &rel)?;
    }
    if std::fs::symlink_metadata(stage.join("sbin/init")).is_err() {
        return Err(format!("{} has no init applet (sbin/init)", busybox.display()));
    }
    Ok(())
}

/// Creates in `stage` the directories the device table names, so that they carry the staged
/// (fixed) times into the image; the table still sets their modes and owners.
fn stage_table_dirs(table: &Path, stage: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(table).map_err(|e| format!("{}: {e}", table.display()))?;
    let entries = crate::devtable::parse(&text).map_err(|e| format!("{}: {e}", table.display()))?;
    for e in entries.iter().filter(|e| e.kind == 'd') {
        let rel = Path::new(e.path.trim_start_matches('/'));
        if rel.components().all(|c| matches!(c, Component::Normal(_))) {
            mkdir(&stage.join(rel))?;
        }
    }
    Ok(())
}

/// Links `stage/rel` to `/bin/busybox` with a relative symlink (`../bin/busybox` for
/// `sbin/ls`, `../../bin/busybox` for `usr/bin/env`), unless something is there already.
fn link_applet(stage: &Path, rel: &Path) -> Result<(), String> {
    let dst = stage.join(rel);
    if std::fs::symlink_metadata(&dst).is_ok() {
        return Ok(());
    }
    let depth = rel.components().count().saturating_sub(1);
    let target = if rel.parent() == Some(Path::new("bin")) {
        PathBuf::from("busybox")
    } else {
        let mut t = PathBuf::new();
        (0..depth).for_each(|_| t.push(".."));
        t.join("bin/busybox")
    };
    if let Some(dir) = dst.parent() {
        mkdir(dir)?;
    }
    symlink(&target, &dst).map_err(|e| format!("{}: {e}", dst.display()))
}

fn mkdir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    chmod(dir, 0o755)
}

fn chmod(p: &Path, mode: u32) -> Result<(), String> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(|e| format!("{}: {e}", p.display()))
}

/// Copies the recipe tree `src` to `dst`: directories 0755, files 0755 if the owner may
/// execute them and 0644 otherwise (whatever the checkout's umask was), symlinks as symlinks.
/// The device table sets any other mode.
fn copy_tree(src: &Path, dst: &Path) -> Result<(), String> {
    mkdir(dst)?;
    let rd = std::fs::read_dir(src).map_err(|e| format!("{}: {e}", src.display()))?;
    for ent in rd {
        let ent = ent.map_err(|e| format!("{}: {e}", src.display()))?;
        let (from, to) = (ent.path(), dst.join(ent.file_name()));
        let md = std::fs::symlink_metadata(&from).map_err(|e| format!("{}: {e}", from.display()))?;
        if md.is_dir() {
            copy_tree(&from, &to)?;
        } else if md.file_type().is_symlink() {
            let t = std::fs::read_link(&from).map_err(|e| format!("{}: {e}", from.display()))?;
            symlink(&t, &to).map_err(|e| format!("{}: {e}", to.display()))?;
        } else if md.is_file() {
            std::fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
            chmod(&to, if md.permissions().mode() & 0o100 != 0 { 0o755 } else { 0o644 })?;
        } else {
            return Err(format!("{}: not a file, directory or symlink (put device nodes in the device table)", from.display()));
        }
    }
    Ok(())
}

/// The file time for the image: `SOURCE_DATE_EPOCH` if set and numeric, else a fixed date.
fn source_date_epoch() -> SystemTime {
    let secs = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(DEFAULT_EPOCH);
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// Sets the access and modification times of every file and directory under `root` (itself
/// included) to `t`, so the image does not depend on when it was built. Symlinks keep theirs:
/// `std` cannot set a symlink's own times.
fn set_times(root: &Path, t: SystemTime) -> Result<(), String> {
    let md = std::fs::symlink_metadata(root).map_err(|e| format!("{}: {e}", root.display()))?;
    if md.file_type().is_symlink() {
        return Ok(());
    }
    if md.is_dir() {
        let rd = std::fs::read_dir(root).map_err(|e| format!("{}: {e}", root.display()))?;
        for ent in rd {
            set_times(&ent.map_err(|e| format!("{}: {e}", root.display()))?.path(), t)?;
        }
    }
    let f = std::fs::File::open(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let times = std::fs::FileTimes::new().set_accessed(t).set_modified(t);
    f.set_times(times).map_err(|e| format!("{}: {e}", root.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_checks_reject_non_static_and_garbage() {
        let t = tempfile::tempdir().unwrap();
        let junk = t.path().join("junk");
        std::fs::write(&junk, b"#!/bin/sh\necho hi\n").unwrap();
        assert_eq!(check_static_elf(&junk), Err("not an ELF file".into()));
        let mut eh = vec![0u8; 64];
        eh[..6].copy_from_slice(b"\x7fELF\x02\x01");
        eh[16] = 2;
        eh[18] = 62;
        eh[32] = 64; // e_phoff
        eh[54] = 56; // e_phentsize
        eh[56] = 2; // e_phnum: points past the end
        std::fs::write(&junk, &eh).unwrap();
        assert_eq!(check_static_elf(&junk), Err("truncated ELF file".into()));
        let mut with_interp = eh.clone();
        with_interp.extend_from_slice(&[0u8; 112]);
        with_interp[64 + 56] = 3; // second header: PT_INTERP
        std::fs::write(&junk, &with_interp).unwrap();
        assert!(check_static_elf(&junk).unwrap_err().contains("dynamically linked"));
        with_interp[64 + 56] = 1; // PT_LOAD
        std::fs::write(&junk, &with_interp).unwrap();
        assert_eq!(check_static_elf(&junk), Ok(()));
        assert!(check_static_elf(&t.path().join("missing")).is_err());
    }

    #[test]
    fn applet_links_are_relative() {
        let t = tempfile::tempdir().unwrap();
        for rel in ["bin/ls", "sbin/init", "usr/bin/env"] {
            link_applet(t.path(), Path::new(rel)).unwrap();
        }
        assert_eq!(std::fs::read_link(t.path().join("bin/ls")).unwrap(), Path::new("busybox"));
        assert_eq!(std::fs::read_link(t.path().join("sbin/init")).unwrap(), Path::new("../bin/busybox"));
        assert_eq!(std::fs::read_link(t.path().join("usr/bin/env")).unwrap(), Path::new("../../bin/busybox"));
    }

    #[test]
    fn missing_recipe_is_an_error_line() {
        let t = tempfile::tempdir().unwrap();
        let opts = Options { recipe: t.path().join("nope"), ..Options::default() };
        let e = build_default_image(&t.path().join("x.img"), &opts).unwrap_err();
        assert!(e.starts_with("rootfs recipe ") && !e.contains('\n'), "{e}");
    }
}
