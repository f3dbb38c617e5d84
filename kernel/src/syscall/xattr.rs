//! Extended attribute syscalls: `{,l,f}{set,get,list,remove}xattr` and the `*xattrat` family
//! (Linux 6.13), in Linux's argument order (`fs/xattr.c`): the flags, then the name (`ERANGE`
//! when empty or longer than 255 bytes), then the value (`E2BIG` past 64 KiB), then the file.
//! The rules themselves live in the VFS (`fs::Vfs::getxattr` and friends).

use super::args::{Fd, InBuf, OutBuf};
use crate::fs_glue::{self, file, with_start};
use crate::sched::Current;
use crate::task::kernel::kernel;
use fs::abi;
use fs::xattr::{XATTR_CREATE, XATTR_LIST_MAX, XATTR_NAME_MAX, XATTR_REPLACE, XATTR_SIZE_MAX};
use uapi::{Errno, KResult, UserAddr, UserCStr};

/// `sizeof(struct xattr_args)` in its first version (`XATTR_ARGS_SIZE_VER0`).
const XATTR_ARGS_SIZE_VER0: usize = 16;

/// What an xattr call acts on: a path, or an open file with no path (a pipe, a socket).
enum Target {
    Path(fs::Path),
    Pathless,
}

/// Imports an attribute name as `import_xattr_name`: `ERANGE` for an empty name or one
/// without a NUL in its first 256 bytes.
fn read_name(cur: &mut Current, name: UserCStr) -> KResult<Vec<u8>> {
    match cur.read_cstr(name.0, XATTR_NAME_MAX + 1) {
        Ok(n) if n.is_empty() => Err(Errno::ERANGE),
        Err(Errno::ENAMETOOLONG) => Err(Errno::ERANGE),
        r => r,
    }
}

/// The file open at `fd` (`EBADF` if none).
fn fd_target(cur: &Current, fd: Fd) -> KResult<Target> {
    Ok(match file(cur, fd)?.path() {
        Some(p) => Target::Path(p.clone()),
        None => Target::Pathless,
    })
}

/// The target of a path call: `path` from `dirfd` (following a final symlink unless
/// `AT_SYMLINK_NOFOLLOW`); with `AT_EMPTY_PATH` a null or empty path means `dirfd` itself.
fn path_target(cur: &mut Current, dirfd: Fd, path: UserAddr, at_flags: u32) -> KResult<Target> {
    let empty_ok = at_flags & abi::AT_EMPTY_PATH != 0;
    let p = if path.is_null() && empty_ok { Vec::new() } else { cur.read_path(path)? };
    if p.is_empty() {
        if !empty_ok {
            return Err(Errno::ENOENT);
        }
        if dirfd.0 == abi::AT_FDCWD {
            return fs_glue::lookup(cur, dirfd, b".", true).map(Target::Path);
        }
        return fd_target(cur, dirfd);
    }
    let follow = at_flags & abi::AT_SYMLINK_NOFOLLOW == 0;
    fs_glue::lookup(cur, dirfd, &p, follow).map(Target::Path)
}

fn check_at_flags(at_flags: u32) -> KResult<()> {
    if at_flags & !(abi::AT_SYMLINK_NOFOLLOW | abi::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Runs `f` with the task's VFS context.
fn with_ctx<R>(cur: &Current, f: impl FnOnce(&fs::Ctx<'_>) -> KResult<R>) -> KResult<R> {
    with_start(cur, Fd(abi::AT_FDCWD), b"/", |ctx, _| f(ctx))
}

/// Copies a reply of the VFS (a value or a name list) to the guest buffer of `size` bytes
/// (nothing with size 0); a reply too big even for the largest buffer is `E2BIG`.
fn reply(cur: &mut Current, r: KResult<Vec<u8>>, buf: UserAddr, size: usize, max: usize) -> KResult<usize> {
    match r {
        Ok(v) => {
            if size != 0 {
                cur.write_bytes(buf, &v)?;
            }
            Ok(v.len())
        }
        Err(Errno::ERANGE) if size >= max => Err(Errno::E2BIG),
        Err(e) => Err(e),
    }
}

fn get_on(cur: &mut Current, t: Target, name: &[u8], value: UserAddr, size: usize) -> KResult<usize> {
    let size = size.min(XATTR_SIZE_MAX);
    let r = match t {
        Target::Path(p) => with_ctx(cur, |ctx| kernel().vfs.getxattr(ctx, &p, name, size)),
        Target::Pathless => Err(fs::vfs::pathless_xattr_error(&cur.process().creds(), name, false)),
    };
    reply(cur, r, value, size, XATTR_SIZE_MAX)
}

fn list_on(cur: &mut Current, t: Target, list: UserAddr, size: usize) -> KResult<usize> {
    let size = size.min(XATTR_LIST_MAX);
    let r = match t {
        Target::Path(p) => with_ctx(cur, |ctx| kernel().vfs.listxattr(ctx, &p, size)),
        Target::Pathless => Ok(Vec::new()),
    };
    reply(cur, r, list, size, XATTR_LIST_MAX)
}

fn remove_on(cur: &mut Current, t: Target, name: &[u8]) -> KResult<usize> {
    match t {
        Target::Path(p) => with_ctx(cur, |ctx| kernel().vfs.removexattr(ctx, &p, name))?,
        Target::Pathless => return Err(fs::vfs::pathless_xattr_error(&cur.process().creds(), name, true)),
    }
    Ok(0)
}

/// A `setxattr` request after `setxattr_copy`: the name and value read from the guest.
struct SetRequest {
    name: Vec<u8>,
    value: Vec<u8>,
    flags: u32,
}

/// Linux's `setxattr_copy`: `EINVAL` for unknown flags, the name, `E2BIG` for a value past
/// 64 KiB, then the value.
fn read_set_request(cur: &mut Current, name: UserCStr, value: UserAddr, size: usize, flags: u32) -> KResult<SetRequest> {
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(cur, name)?;
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let mut buf = vec![0u8; size];
    if size != 0 {
        cur.read_bytes(value, &mut buf)?;
    }
    Ok(SetRequest { name, value: buf, flags })
}

fn set_on(cur: &mut Current, t: Target, req: &SetRequest) -> KResult<usize> {
    match t {
        Target::Path(p) => with_ctx(cur, |ctx| kernel().vfs.setxattr(ctx, &p, &req.name, &req.value, req.flags))?,
        Target::Pathless => return Err(fs::vfs::pathless_xattr_error(&cur.process().creds(), &req.name, true)),
    }
    Ok(0)
}

/// `setxattr(2)`.
pub fn sys_setxattr(cur: &mut Current, path: UserCStr, name: UserCStr, value: InBuf, size: usize, flags: u32) -> KResult<usize> {
    let req = read_set_request(cur, name, value.0, size, flags)?;
    let t = path_target(cur, Fd(abi::AT_FDCWD), path.0, 0)?;
    set_on(cur, t, &req)
}

/// `lsetxattr(2)`: a final symlink is not followed.
pub fn sys_lsetxattr(cur: &mut Current, path: UserCStr, name: UserCStr, value: InBuf, size: usize, flags: u32) -> KResult<usize> {
    let req = read_set_request(cur, name, value.0, size, flags)?;
    let t = path_target(cur, Fd(abi::AT_FDCWD), path.0, abi::AT_SYMLINK_NOFOLLOW)?;
    set_on(cur, t, &req)
}

/// `fsetxattr(2)`.
pub fn sys_fsetxattr(cur: &mut Current, fd: Fd, name: UserCStr, value: InBuf, size: usize, flags: u32) -> KResult<usize> {
    let req = read_set_request(cur, name, value.0, size, flags)?;
    let t = fd_target(cur, fd)?;
    set_on(cur, t, &req)
}

/// `getxattr(2)`: the value's length, copied out unless `size` is 0 (`ERANGE` if too small).
pub fn sys_getxattr(cur: &mut Current, path: UserCStr, name: UserCStr, value: OutBuf, size: usize) -> KResult<usize> {
    let name = read_name(cur, name)?;
    let t = path_target(cur, Fd(abi::AT_FDCWD), path.0, 0)?;
    get_on(cur, t, &name, value.0, size)
}

/// `lgetxattr(2)`.
pub fn sys_lgetxattr(cur: &mut Current, path: UserCStr, name: UserCStr, value: OutBuf, size: usize) -> KResult<usize> {
    let name = read_name(cur, name)?;
    let t = path_target(cur, Fd(abi::AT_FDCWD), path.0, abi::AT_SYMLINK_NOFOLLOW)?;
    get_on(cur, t, &name, value.0, size)
}

/// `fgetxattr(2)`.
pub fn sys_fgetxattr(cur: &mut Current, fd: Fd, name: UserCStr, value: OutBuf, size: usize) -> KResult<usize> {
    let name = read_name(cur, name)?;
    let t = fd_target(cur, fd)?;
    get_on(cur, t, &name, value.0, size)
}

/// `listxattr(2)`: the NUL-separated names' total length, copied out unless `size` is 0.
pub fn sys_listxattr(cur: &mut Current, path: UserCStr, list: OutBuf, size: usize) -> KResult<usize> {
    let t = path_target(cur, Fd(abi::AT_FDCWD), path.0, 0)?;
    list_on(cur, t, list.0, size)
}

/// `llistxattr(2)`.
pub fn sys_llistxattr(cur: &mut Current, path: UserCStr, list: OutBuf, size: usize) -> KResult<usize> {
    let t = path_target(cur, Fd(abi::AT_FDCWD), path.0, abi::AT_SYMLINK_NOFOLLOW)?;
    list_on(cur, t, list.0, size)
}

/// `flistxattr(2)`.
pub fn sys_flistxattr(cur: &mut Current, fd: Fd, list: OutBuf, size: usize) -> KResult<usize> {
    let t = fd_target(cur, fd)?;
    list_on(cur, t, list.0, size)
}

/// `removexattr(2)`.
pub fn sys_removexattr(cur: &mut Current, path: UserCStr, name: UserCStr) -> KResult<usize> {
    let name = read_name(cur, name)?;
    let t = path_target(cur, Fd(abi::AT_FDCWD), path.0, 0)?;
    remove_on(cur, t, &name)
}

/// `lremovexattr(2)`.
pub fn sys_lremovexattr(cur: &mut Current, path: UserCStr, name: UserCStr) -> KResult<usize> {
    let name = read_name(cur, name)?;
    let t = path_target(cur, Fd(abi::AT_FDCWD), path.0, abi::AT_SYMLINK_NOFOLLOW)?;
    remove_on(cur, t, &name)
}

/// `fremovexattr(2)`.
pub fn sys_fremovexattr(cur: &mut Current, fd: Fd, name: UserCStr) -> KResult<usize> {
    let name = read_name(cur, name)?;
    let t = fd_target(cur, fd)?;
    remove_on(cur, t, &name)
}

/// `struct xattr_args` of the `*xattrat` calls: the value pointer, its size, the flags.
struct XattrArgs {
    value: UserAddr,
    size: usize,
    flags: u32,
}

/// Reads a `struct xattr_args` of `args_size` bytes as `copy_struct_from_user` does: `EINVAL` if
/// shorter than the first version, `E2BIG` past a page or with non-zero bytes beyond the
/// fields umbra knows.
fn read_xattr_args(cur: &mut Current, uargs: UserAddr, args_size: usize) -> KResult<XattrArgs> {
    if args_size < XATTR_ARGS_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if args_size > 4096 {
        return Err(Errno::E2BIG);
    }
    let mut raw = vec![0u8; args_size];
    cur.read_bytes(uargs, &mut raw)?;
    if raw[XATTR_ARGS_SIZE_VER0..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let word = |off: usize| u32::from_le_bytes([raw[off], raw[off + 1], raw[off + 2], raw[off + 3]]);
    let value = u64::from(word(0)) | u64::from(word(4)) << 32;
    Ok(XattrArgs { value: UserAddr(value), size: word(8) as usize, flags: word(12) })
}

/// `setxattrat(2)`.
pub fn sys_setxattrat(cur: &mut Current, dirfd: Fd, path: UserAddr, at_flags: u32, name: UserCStr, uargs: UserAddr, args_size: usize) -> KResult<usize> {
    let args = read_xattr_args(cur, uargs, args_size)?;
    check_at_flags(at_flags)?;
    let req = read_set_request(cur, name, args.value, args.size, args.flags)?;
    let t = path_target(cur, dirfd, path, at_flags)?;
    set_on(cur, t, &req)
}

/// `getxattrat(2)`: `EINVAL` for non-zero `xattr_args.flags`.
pub fn sys_getxattrat(cur: &mut Current, dirfd: Fd, path: UserAddr, at_flags: u32, name: UserCStr, uargs: UserAddr, args_size: usize) -> KResult<usize> {
    let args = read_xattr_args(cur, uargs, args_size)?;
    if args.flags != 0 {
        return Err(Errno::EINVAL);
    }
    check_at_flags(at_flags)?;
    let name = read_name(cur, name)?;
    let t = path_target(cur, dirfd, path, at_flags)?;
    get_on(cur, t, &name, args.value, args.size)
}

/// `listxattrat(2)`.
pub fn sys_listxattrat(cur: &mut Current, dirfd: Fd, path: UserAddr, at_flags: u32, list: OutBuf, size: usize) -> KResult<usize> {
    check_at_flags(at_flags)?;
    let t = path_target(cur, dirfd, path, at_flags)?;
    list_on(cur, t, list.0, size)
}

/// `removexattrat(2)`.
pub fn sys_removexattrat(cur: &mut Current, dirfd: Fd, path: UserAddr, at_flags: u32, name: UserCStr) -> KResult<usize> {
    check_at_flags(at_flags)?;
    let name = read_name(cur, name)?;
    let t = path_target(cur, dirfd, path, at_flags)?;
    remove_on(cur, t, &name)
}
