//! Extended attributes of host files, for hostfs: `lgetxattr`, `lsetxattr`, `llistxattr` and
//! `lremovexattr` on a host path (a final symlink is not followed). Errors are the host's.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// How often a read is retried when the value grows between sizing and reading it.
const RETRIES: usize = 4;

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn c_name(n: &[u8]) -> io::Result<CString> {
    CString::new(n).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Calls a sizing/reading pair (`buf` null and 0 first, then a buffer of that size) until
/// the result fits, as callers of `getxattr`/`listxattr` must when the value can change.
fn read_sized(mut call: impl FnMut(*mut libc::c_void, usize) -> isize) -> io::Result<Vec<u8>> {
    for _ in 0..RETRIES {
        let n = call(std::ptr::null_mut(), 0);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; n as usize];
        let m = call(buf.as_mut_ptr().cast(), buf.len());
        if m >= 0 {
            buf.truncate(m as usize);
            return Ok(buf);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ERANGE) {
            return Err(e);
        }
    }
    Err(io::Error::from_raw_os_error(libc::ERANGE))
}

/// The value of attribute `name` of the host file at `path`.
pub fn get(path: &Path, name: &[u8]) -> io::Result<Vec<u8>> {
    let (p, n) = (c_path(path)?, c_name(name)?);
    // SAFETY: both strings are NUL-terminated and live across the call; `buf` is null with
    // size 0 or points to `size` writable bytes.
    read_sized(|buf, size| unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf, size) })
}

/// Sets attribute `name` of the host file at `path` (`flags`: `XATTR_CREATE`/`XATTR_REPLACE`).
pub fn set(path: &Path, name: &[u8], value: &[u8], flags: u32) -> io::Result<()> {
    let (p, n) = (c_path(path)?, c_name(name)?);
    // SAFETY: the strings are NUL-terminated; `value` is readable for its length.
    let r = unsafe { libc::lsetxattr(p.as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), flags as libc::c_int) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The names of the attributes of the host file at `path`.
pub fn list(path: &Path) -> io::Result<Vec<Vec<u8>>> {
    let p = c_path(path)?;
    // SAFETY: the path is NUL-terminated; `buf` is null with size 0 or `size` writable bytes.
    let raw = read_sized(|buf, size| unsafe { libc::llistxattr(p.as_ptr(), buf.cast(), size) })?;
    Ok(raw.split(|&b| b == 0).filter(|n| !n.is_empty()).map(<[u8]>::to_vec).collect())
}

/// Removes attribute `name` of the host file at `path`.
pub fn remove(path: &Path, name: &[u8]) -> io::Result<()> {
    let (p, n) = (c_path(path)?, c_name(name)?);
    // SAFETY: both strings are NUL-terminated.
    let r = unsafe { libc::lremovexattr(p.as_ptr(), n.as_ptr()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
