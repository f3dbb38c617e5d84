//! Flag words and constant sets of the x86-64 Linux ABI: `open`/`*at` flags, clone and wait
//! options, poll events, file types, `fcntl`/`ioctl` commands, termios bits, clocks, resource
//! limits, `prctl`/`arch_prctl` codes, auxiliary-vector keys, mount, reboot, scheduling and futex
//! constants. Each group names the Linux header it mirrors.
//!
//! Flag words a syscall receives as a whole are `bitflags` types (`OpenFlags`, `AtFlags`, …);
//! enumerations and command numbers are plain constants, as in the C headers.

use bitflags::bitflags;

// ---------------------------------------------------------------------------------------------
// open(2) — include/uapi/asm-generic/fcntl.h

bitflags! {
    /// `O_*` flags for `open`/`openat`/`openat2`, and the file status flags of `F_GETFL`.
    /// `O_RDONLY` is zero: see [`OpenFlags::RDONLY`] and [`OpenFlags::access_mode`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct OpenFlags: u32 {
        /// `O_WRONLY`.
        const WRONLY = 0o1;
        /// `O_RDWR`.
        const RDWR = 0o2;
        /// `O_CREAT`.
        const CREAT = 0o100;
        /// `O_EXCL`.
        const EXCL = 0o200;
        /// `O_NOCTTY`.
        const NOCTTY = 0o400;
        /// `O_TRUNC`.
        const TRUNC = 0o1000;
        /// `O_APPEND`.
        const APPEND = 0o2000;
        /// `O_NONBLOCK` (also `O_NDELAY`).
        const NONBLOCK = 0o4000;
        /// `O_DSYNC`.
        const DSYNC = 0o10000;
        /// `FASYNC` (`O_ASYNC`).
        const ASYNC = 0o20000;
        /// `O_DIRECT`.
        const DIRECT = 0o40000;
        /// `O_LARGEFILE` (implied on 64-bit; reported by `F_GETFL`).
        const LARGEFILE = 0o100000;
        /// `O_DIRECTORY`.
        const DIRECTORY = 0o200000;
        /// `O_NOFOLLOW`.
        const NOFOLLOW = 0o400000;
        /// `O_NOATIME`.
        const NOATIME = 0o1000000;
        /// `O_CLOEXEC`.
        const CLOEXEC = 0o2000000;
        /// `__O_SYNC` (the bit that turns `O_DSYNC` into `O_SYNC`).
        const __SYNC = 0o4000000;
        /// `O_SYNC` = `__O_SYNC | O_DSYNC`.
        const SYNC = 0o4000000 | 0o10000;
        /// `O_PATH`.
        const PATH = 0o10000000;
        /// `__O_TMPFILE`.
        const __TMPFILE = 0o20000000;
        /// `O_TMPFILE` = `__O_TMPFILE | O_DIRECTORY`.
        const TMPFILE = 0o20000000 | 0o200000;
    }
}

/// `O_ACCMODE`: the access-mode bits of an open flags word.
pub const O_ACCMODE: u32 = 0o3;
/// `O_RDONLY`.
pub const O_RDONLY: u32 = 0;
/// `O_WRONLY`.
pub const O_WRONLY: u32 = 0o1;
/// `O_RDWR`.
pub const O_RDWR: u32 = 0o2;

/// The access mode of an open file (`flags & O_ACCMODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessMode {
    /// `O_RDONLY`.
    ReadOnly,
    /// `O_WRONLY`.
    WriteOnly,
    /// `O_RDWR`.
    ReadWrite,
    /// Mode 3: Linux opens the file for `ioctl` only, checking read and write permission.
    IoctlOnly,
}

impl OpenFlags {
    /// `O_RDONLY` (no bits set).
    pub const RDONLY: OpenFlags = OpenFlags::empty();
    /// `O_ACCMODE` as a flag value.
    pub const ACCMODE: OpenFlags = OpenFlags::from_bits_retain(O_ACCMODE);
    /// `O_NDELAY` is `O_NONBLOCK`.
    pub const NDELAY: OpenFlags = OpenFlags::NONBLOCK;
    /// The flags `F_SETFL` may change (`SETFL_MASK`).
    pub const SETFL_MASK: OpenFlags = OpenFlags::APPEND
        .union(OpenFlags::NONBLOCK)
        .union(OpenFlags::ASYNC)
        .union(OpenFlags::DIRECT)
        .union(OpenFlags::NOATIME);
    /// The flags valid with `O_PATH` (`O_PATH_FLAGS`).
    pub const PATH_FLAGS: OpenFlags = OpenFlags::DIRECTORY
        .union(OpenFlags::NOFOLLOW)
        .union(OpenFlags::PATH)
        .union(OpenFlags::CLOEXEC);

    /// The access mode (`flags & O_ACCMODE`).
    pub const fn access_mode(self) -> AccessMode {
        match self.bits() & O_ACCMODE {
            O_RDONLY => AccessMode::ReadOnly,
            O_WRONLY => AccessMode::WriteOnly,
            O_RDWR => AccessMode::ReadWrite,
            _ => AccessMode::IoctlOnly,
        }
    }

    /// True if the file may be read (`O_RDONLY` or `O_RDWR`, and not `O_PATH`).
    pub const fn can_read(self) -> bool {
        !self.contains(OpenFlags::PATH)
            && matches!(self.access_mode(), AccessMode::ReadOnly | AccessMode::ReadWrite)
    }

    /// True if the file may be written (`O_WRONLY` or `O_RDWR`, and not `O_PATH`).
    pub const fn can_write(self) -> bool {
        !self.contains(OpenFlags::PATH)
            && matches!(self.access_mode(), AccessMode::WriteOnly | AccessMode::ReadWrite)
    }
}

// ---------------------------------------------------------------------------------------------
// *at(2) — include/uapi/linux/fcntl.h

/// `AT_FDCWD`: resolve relative paths against the current directory.
pub const AT_FDCWD: i32 = -100;

bitflags! {
    /// `AT_*` flags of the `*at` syscalls.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct AtFlags: u32 {
        /// `AT_SYMLINK_NOFOLLOW`.
        const SYMLINK_NOFOLLOW = 0x100;
        /// `AT_EACCESS` (`faccessat`: use effective ids).
        const EACCESS = 0x200;
        /// `AT_REMOVEDIR` (`unlinkat`: same bit as `AT_EACCESS`).
        const REMOVEDIR = 0x200;
        /// `AT_SYMLINK_FOLLOW` (`linkat`).
        const SYMLINK_FOLLOW = 0x400;
        /// `AT_NO_AUTOMOUNT`.
        const NO_AUTOMOUNT = 0x800;
        /// `AT_EMPTY_PATH`.
        const EMPTY_PATH = 0x1000;
        /// `AT_STATX_FORCE_SYNC`.
        const STATX_FORCE_SYNC = 0x2000;
        /// `AT_STATX_DONT_SYNC`.
        const STATX_DONT_SYNC = 0x4000;
        /// `AT_RECURSIVE` (`open_tree`, `mount_setattr`).
        const RECURSIVE = 0x8000;
    }
}

/// `AT_STATX_SYNC_TYPE`: the statx sync-type bits.
pub const AT_STATX_SYNC_TYPE: u32 = 0x6000;
/// `AT_STATX_SYNC_AS_STAT`: do what `stat` does.
pub const AT_STATX_SYNC_AS_STAT: u32 = 0;

/// `F_OK` for `access`: existence.
pub const F_OK: u32 = 0;
/// `X_OK` for `access`: execute/search.
pub const X_OK: u32 = 1;
/// `W_OK` for `access`: write.
pub const W_OK: u32 = 2;
/// `R_OK` for `access`: read.
pub const R_OK: u32 = 4;

bitflags! {
    /// `RENAME_*` flags of `renameat2` (`include/uapi/linux/fs.h`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct RenameFlags: u32 {
        /// `RENAME_NOREPLACE`.
        const NOREPLACE = RENAME_NOREPLACE;
        /// `RENAME_EXCHANGE`.
        const EXCHANGE = RENAME_EXCHANGE;
        /// `RENAME_WHITEOUT`.
        const WHITEOUT = RENAME_WHITEOUT;
    }
}

/// `RENAME_NOREPLACE`: fail with `EEXIST` if the target exists.
pub const RENAME_NOREPLACE: u32 = 1 << 0;
/// `RENAME_EXCHANGE`: atomically swap source and target.
pub const RENAME_EXCHANGE: u32 = 1 << 1;
/// `RENAME_WHITEOUT`: leave a whiteout at the source.
pub const RENAME_WHITEOUT: u32 = 1 << 2;

// ---------------------------------------------------------------------------------------------
// fcntl(2) — include/uapi/asm-generic/fcntl.h, include/uapi/linux/fcntl.h

bitflags! {
    /// File descriptor flags (`F_GETFD`/`F_SETFD`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct FdFlags: u32 {
        /// `FD_CLOEXEC`.
        const CLOEXEC = FD_CLOEXEC;
    }
}

/// `FD_CLOEXEC`: close the descriptor on `execve`.
pub const FD_CLOEXEC: u32 = 1;

/// `F_DUPFD`: duplicate to the lowest free fd ≥ arg.
pub const F_DUPFD: u32 = 0;
/// `F_GETFD`: get fd flags.
pub const F_GETFD: u32 = 1;
/// `F_SETFD`: set fd flags.
pub const F_SETFD: u32 = 2;
/// `F_GETFL`: get file status flags.
pub const F_GETFL: u32 = 3;
/// `F_SETFL`: set file status flags.
pub const F_SETFL: u32 = 4;
/// `F_GETLK`: test a POSIX record lock.
pub const F_GETLK: u32 = 5;
/// `F_SETLK`: set a POSIX record lock, non-blocking.
pub const F_SETLK: u32 = 6;
/// `F_SETLKW`: set a POSIX record lock, waiting.
pub const F_SETLKW: u32 = 7;
/// `F_SETOWN`: set the `SIGIO` owner.
pub const F_SETOWN: u32 = 8;
/// `F_GETOWN`: get the `SIGIO` owner.
pub const F_GETOWN: u32 = 9;
/// `F_SETSIG`: set the signal sent for I/O readiness.
pub const F_SETSIG: u32 = 10;
/// `F_GETSIG`: get the signal sent for I/O readiness.
pub const F_GETSIG: u32 = 11;
/// `F_SETOWN_EX`: set the owner as a `struct f_owner_ex`.
pub const F_SETOWN_EX: u32 = 15;
/// `F_GETOWN_EX`: get the owner as a `struct f_owner_ex`.
pub const F_GETOWN_EX: u32 = 16;
/// `F_GETOWNER_UIDS`: get the owner's uids.
pub const F_GETOWNER_UIDS: u32 = 17;
/// `F_OFD_GETLK`: test an open-file-description lock.
pub const F_OFD_GETLK: u32 = 36;
/// `F_OFD_SETLK`: set an open-file-description lock.
pub const F_OFD_SETLK: u32 = 37;
/// `F_OFD_SETLKW`: set an open-file-description lock, waiting.
pub const F_OFD_SETLKW: u32 = 38;
/// `F_LINUX_SPECIFIC_BASE`.
pub const F_LINUX_SPECIFIC_BASE: u32 = 1024;
/// `F_SETLEASE`.
pub const F_SETLEASE: u32 = F_LINUX_SPECIFIC_BASE;
/// `F_GETLEASE`.
pub const F_GETLEASE: u32 = F_LINUX_SPECIFIC_BASE + 1;
/// `F_NOTIFY` (dnotify).
pub const F_NOTIFY: u32 = F_LINUX_SPECIFIC_BASE + 2;
/// `F_DUPFD_QUERY`: do two fds refer to the same file?
pub const F_DUPFD_QUERY: u32 = F_LINUX_SPECIFIC_BASE + 3;
/// `F_CREATED_QUERY`: was the file just created by this open?
pub const F_CREATED_QUERY: u32 = F_LINUX_SPECIFIC_BASE + 4;
/// `F_CANCELLK`.
pub const F_CANCELLK: u32 = F_LINUX_SPECIFIC_BASE + 5;
/// `F_DUPFD_CLOEXEC`: `F_DUPFD` with `FD_CLOEXEC` set.
pub const F_DUPFD_CLOEXEC: u32 = F_LINUX_SPECIFIC_BASE + 6;
/// `F_SETPIPE_SZ`: set a pipe's capacity.
pub const F_SETPIPE_SZ: u32 = F_LINUX_SPECIFIC_BASE + 7;
/// `F_GETPIPE_SZ`: get a pipe's capacity.
pub const F_GETPIPE_SZ: u32 = F_LINUX_SPECIFIC_BASE + 8;
/// `F_ADD_SEALS`: add memfd seals.
pub const F_ADD_SEALS: u32 = F_LINUX_SPECIFIC_BASE + 9;
/// `F_GET_SEALS`: get memfd seals.
pub const F_GET_SEALS: u32 = F_LINUX_SPECIFIC_BASE + 10;
/// `F_GET_RW_HINT`.
pub const F_GET_RW_HINT: u32 = F_LINUX_SPECIFIC_BASE + 11;
/// `F_SET_RW_HINT`.
pub const F_SET_RW_HINT: u32 = F_LINUX_SPECIFIC_BASE + 12;
/// `F_GET_FILE_RW_HINT`.
pub const F_GET_FILE_RW_HINT: u32 = F_LINUX_SPECIFIC_BASE + 13;
/// `F_SET_FILE_RW_HINT`.
pub const F_SET_FILE_RW_HINT: u32 = F_LINUX_SPECIFIC_BASE + 14;

/// `F_RDLCK`: shared lock.
pub const F_RDLCK: i16 = 0;
/// `F_WRLCK`: exclusive lock.
pub const F_WRLCK: i16 = 1;
/// `F_UNLCK`: unlock.
pub const F_UNLCK: i16 = 2;

/// `F_SEAL_SEAL`: no more seals may be added.
pub const F_SEAL_SEAL: u32 = 0x0001;
/// `F_SEAL_SHRINK`: the file may not shrink.
pub const F_SEAL_SHRINK: u32 = 0x0002;
/// `F_SEAL_GROW`: the file may not grow.
pub const F_SEAL_GROW: u32 = 0x0004;
/// `F_SEAL_WRITE`: the file may not be written.
pub const F_SEAL_WRITE: u32 = 0x0008;
/// `F_SEAL_FUTURE_WRITE`: no new writable mappings or writes.
pub const F_SEAL_FUTURE_WRITE: u32 = 0x0010;
/// `F_SEAL_EXEC`: the mode's exec bits may not change.
pub const F_SEAL_EXEC: u32 = 0x0020;

/// `LOCK_SH` for `flock`: shared lock.
pub const LOCK_SH: u32 = 1;
/// `LOCK_EX` for `flock`: exclusive lock.
pub const LOCK_EX: u32 = 2;
/// `LOCK_NB` for `flock`: do not block.
pub const LOCK_NB: u32 = 4;
/// `LOCK_UN` for `flock`: unlock.
pub const LOCK_UN: u32 = 8;

/// `SEEK_SET`: from the start.
pub const SEEK_SET: u32 = 0;
/// `SEEK_CUR`: from the current offset.
pub const SEEK_CUR: u32 = 1;
/// `SEEK_END`: from the end.
pub const SEEK_END: u32 = 2;
/// `SEEK_DATA`: the next data at or after the offset.
pub const SEEK_DATA: u32 = 3;
/// `SEEK_HOLE`: the next hole at or after the offset.
pub const SEEK_HOLE: u32 = 4;

/// `UTIME_NOW` in a `utimensat` `tv_nsec`: set to the current time.
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `UTIME_OMIT` in a `utimensat` `tv_nsec`: leave unchanged.
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

// ---------------------------------------------------------------------------------------------
// File types and modes — include/uapi/linux/stat.h, include/linux/fs.h (DT_*)

/// `S_IFMT`: the file-type bits of a mode.
pub const S_IFMT: u32 = 0o170000;
/// `S_IFSOCK`: socket.
pub const S_IFSOCK: u32 = 0o140000;
/// `S_IFLNK`: symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// `S_IFREG`: regular file.
pub const S_IFREG: u32 = 0o100000;
/// `S_IFBLK`: block device.
pub const S_IFBLK: u32 = 0o060000;
/// `S_IFDIR`: directory.
pub const S_IFDIR: u32 = 0o040000;
/// `S_IFCHR`: character device.
pub const S_IFCHR: u32 = 0o020000;
/// `S_IFIFO`: FIFO.
pub const S_IFIFO: u32 = 0o010000;
/// `S_ISUID`: set-user-ID.
pub const S_ISUID: u32 = 0o4000;
/// `S_ISGID`: set-group-ID.
pub const S_ISGID: u32 = 0o2000;
/// `S_ISVTX`: sticky.
pub const S_ISVTX: u32 = 0o1000;
/// `S_IRWXU`: owner rwx.
pub const S_IRWXU: u32 = 0o700;
/// `S_IRUSR`: owner read.
pub const S_IRUSR: u32 = 0o400;
/// `S_IWUSR`: owner write.
pub const S_IWUSR: u32 = 0o200;
/// `S_IXUSR`: owner execute.
pub const S_IXUSR: u32 = 0o100;
/// `S_IRWXG`: group rwx.
pub const S_IRWXG: u32 = 0o070;
/// `S_IRGRP`: group read.
pub const S_IRGRP: u32 = 0o040;
/// `S_IWGRP`: group write.
pub const S_IWGRP: u32 = 0o020;
/// `S_IXGRP`: group execute.
pub const S_IXGRP: u32 = 0o010;
/// `S_IRWXO`: others rwx.
pub const S_IRWXO: u32 = 0o007;
/// `S_IROTH`: others read.
pub const S_IROTH: u32 = 0o004;
/// `S_IWOTH`: others write.
pub const S_IWOTH: u32 = 0o002;
/// `S_IXOTH`: others execute.
pub const S_IXOTH: u32 = 0o001;
/// `S_IALLUGO`: every permission and special bit (`include/linux/stat.h`).
pub const S_IALLUGO: u32 = S_ISUID | S_ISGID | S_ISVTX | S_IRWXU | S_IRWXG | S_IRWXO;

/// `DT_UNKNOWN`.
pub const DT_UNKNOWN: u8 = 0;
/// `DT_FIFO`.
pub const DT_FIFO: u8 = 1;
/// `DT_CHR`.
pub const DT_CHR: u8 = 2;
/// `DT_DIR`.
pub const DT_DIR: u8 = 4;
/// `DT_BLK`.
pub const DT_BLK: u8 = 6;
/// `DT_REG`.
pub const DT_REG: u8 = 8;
/// `DT_LNK`.
pub const DT_LNK: u8 = 10;
/// `DT_SOCK`.
pub const DT_SOCK: u8 = 12;
/// `DT_WHT`.
pub const DT_WHT: u8 = 14;

/// `S_DT(mode)`: the `DT_*` value of a mode's file type (`IFTODT`).
pub const fn dt_from_mode(mode: u32) -> u8 {
    ((mode & S_IFMT) >> 12) as u8
}

/// `DTTOIF(dt)`: the `S_IF*` bits of a `DT_*` value.
pub const fn mode_from_dt(dt: u8) -> u32 {
    (dt as u32) << 12
}

/// `S_ISDIR`.
pub const fn s_isdir(mode: u32) -> bool {
    mode & S_IFMT == S_IFDIR
}
/// `S_ISREG`.
pub const fn s_isreg(mode: u32) -> bool {
    mode & S_IFMT == S_IFREG
}
/// `S_ISLNK`.
pub const fn s_islnk(mode: u32) -> bool {
    mode & S_IFMT == S_IFLNK
}
/// `S_ISCHR`.
pub const fn s_ischr(mode: u32) -> bool {
    mode & S_IFMT == S_IFCHR
}
/// `S_ISBLK`.
pub const fn s_isblk(mode: u32) -> bool {
    mode & S_IFMT == S_IFBLK
}
/// `S_ISFIFO`.
pub const fn s_isfifo(mode: u32) -> bool {
    mode & S_IFMT == S_IFIFO
}
/// `S_ISSOCK`.
pub const fn s_issock(mode: u32) -> bool {
    mode & S_IFMT == S_IFSOCK
}

// statx — include/uapi/linux/stat.h

/// `STATX_TYPE`: want `stx_mode & S_IFMT`.
pub const STATX_TYPE: u32 = 0x0000_0001;
/// `STATX_MODE`: want `stx_mode & !S_IFMT`.
pub const STATX_MODE: u32 = 0x0000_0002;
/// `STATX_NLINK`.
pub const STATX_NLINK: u32 = 0x0000_0004;
/// `STATX_UID`.
pub const STATX_UID: u32 = 0x0000_0008;
/// `STATX_GID`.
pub const STATX_GID: u32 = 0x0000_0010;
/// `STATX_ATIME`.
pub const STATX_ATIME: u32 = 0x0000_0020;
/// `STATX_MTIME`.
pub const STATX_MTIME: u32 = 0x0000_0040;
/// `STATX_CTIME`.
pub const STATX_CTIME: u32 = 0x0000_0080;
/// `STATX_INO`.
pub const STATX_INO: u32 = 0x0000_0100;
/// `STATX_SIZE`.
pub const STATX_SIZE: u32 = 0x0000_0200;
/// `STATX_BLOCKS`.
pub const STATX_BLOCKS: u32 = 0x0000_0400;
/// `STATX_BASIC_STATS`: everything `stat` returns.
pub const STATX_BASIC_STATS: u32 = 0x0000_07ff;
/// `STATX_BTIME`.
pub const STATX_BTIME: u32 = 0x0000_0800;
/// `STATX_ALL` (deprecated): basic stats plus btime.
pub const STATX_ALL: u32 = 0x0000_0fff;
/// `STATX_MNT_ID`.
pub const STATX_MNT_ID: u32 = 0x0000_1000;
/// `STATX_DIOALIGN`.
pub const STATX_DIOALIGN: u32 = 0x0000_2000;
/// `STATX_MNT_ID_UNIQUE`.
pub const STATX_MNT_ID_UNIQUE: u32 = 0x0000_4000;
/// `STATX_SUBVOL`.
pub const STATX_SUBVOL: u32 = 0x0000_8000;
/// `STATX_WRITE_ATOMIC`.
pub const STATX_WRITE_ATOMIC: u32 = 0x0001_0000;
/// `STATX_DIO_READ_ALIGN`.
pub const STATX_DIO_READ_ALIGN: u32 = 0x0002_0000;
/// `STATX__RESERVED`: reserved for future expansion; `EINVAL` if requested.
pub const STATX__RESERVED: u32 = 0x8000_0000;

/// `STATX_ATTR_COMPRESSED`.
pub const STATX_ATTR_COMPRESSED: u64 = 0x0000_0004;
/// `STATX_ATTR_IMMUTABLE`.
pub const STATX_ATTR_IMMUTABLE: u64 = 0x0000_0010;
/// `STATX_ATTR_APPEND`.
pub const STATX_ATTR_APPEND: u64 = 0x0000_0020;
/// `STATX_ATTR_NODUMP`.
pub const STATX_ATTR_NODUMP: u64 = 0x0000_0040;
/// `STATX_ATTR_ENCRYPTED`.
pub const STATX_ATTR_ENCRYPTED: u64 = 0x0000_0800;
/// `STATX_ATTR_AUTOMOUNT`.
pub const STATX_ATTR_AUTOMOUNT: u64 = 0x0000_1000;
/// `STATX_ATTR_MOUNT_ROOT`.
pub const STATX_ATTR_MOUNT_ROOT: u64 = 0x0000_2000;
/// `STATX_ATTR_VERITY`.
pub const STATX_ATTR_VERITY: u64 = 0x0010_0000;
/// `STATX_ATTR_DAX`.
pub const STATX_ATTR_DAX: u64 = 0x0020_0000;

// ---------------------------------------------------------------------------------------------
// clone(2), wait(2) — include/uapi/linux/sched.h, include/uapi/linux/wait.h

/// `CSIGNAL`: the low byte of `clone` flags, the exit signal.
pub const CSIGNAL: u64 = 0xff;

bitflags! {
    /// `CLONE_*` flags for `clone`/`clone3`/`unshare` (the exit signal in `CSIGNAL` is not a
    /// flag; mask it off first).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct CloneFlags: u64 {
        /// `CLONE_NEWTIME` (shares the `CSIGNAL` bits; valid only for `clone3`/`unshare`).
        const NEWTIME = 0x0000_0080;
        /// `CLONE_VM`: share the address space.
        const VM = 0x0000_0100;
        /// `CLONE_FS`: share cwd, root and umask.
        const FS = 0x0000_0200;
        /// `CLONE_FILES`: share the fd table.
        const FILES = 0x0000_0400;
        /// `CLONE_SIGHAND`: share signal handlers.
        const SIGHAND = 0x0000_0800;
        /// `CLONE_PIDFD`: return a pidfd.
        const PIDFD = 0x0000_1000;
        /// `CLONE_PTRACE`: continue tracing the child.
        const PTRACE = 0x0000_2000;
        /// `CLONE_VFORK`: suspend the parent until the child execs or exits.
        const VFORK = 0x0000_4000;
        /// `CLONE_PARENT`: same parent as the caller.
        const PARENT = 0x0000_8000;
        /// `CLONE_THREAD`: same thread group.
        const THREAD = 0x0001_0000;
        /// `CLONE_NEWNS`: new mount namespace.
        const NEWNS = 0x0002_0000;
        /// `CLONE_SYSVSEM`: share System V semaphore undo.
        const SYSVSEM = 0x0004_0000;
        /// `CLONE_SETTLS`: set the TLS (fs base).
        const SETTLS = 0x0008_0000;
        /// `CLONE_PARENT_SETTID`: store the TID in the parent.
        const PARENT_SETTID = 0x0010_0000;
        /// `CLONE_CHILD_CLEARTID`: clear the TID and wake the futex at exit.
        const CHILD_CLEARTID = 0x0020_0000;
        /// `CLONE_DETACHED` (ignored).
        const DETACHED = 0x0040_0000;
        /// `CLONE_UNTRACED`: the tracer cannot force `CLONE_PTRACE`.
        const UNTRACED = 0x0080_0000;
        /// `CLONE_CHILD_SETTID`: store the TID in the child.
        const CHILD_SETTID = 0x0100_0000;
        /// `CLONE_NEWCGROUP`.
        const NEWCGROUP = 0x0200_0000;
        /// `CLONE_NEWUTS`.
        const NEWUTS = 0x0400_0000;
        /// `CLONE_NEWIPC`.
        const NEWIPC = 0x0800_0000;
        /// `CLONE_NEWUSER`.
        const NEWUSER = 0x1000_0000;
        /// `CLONE_NEWPID`.
        const NEWPID = 0x2000_0000;
        /// `CLONE_NEWNET`.
        const NEWNET = 0x4000_0000;
        /// `CLONE_IO`: share the I/O context.
        const IO = 0x8000_0000;
        /// `CLONE_CLEAR_SIGHAND` (`clone3` only): reset handlers to default.
        const CLEAR_SIGHAND = 0x1_0000_0000;
        /// `CLONE_INTO_CGROUP` (`clone3` only).
        const INTO_CGROUP = 0x2_0000_0000;
    }
}

bitflags! {
    /// Options of `wait4`/`waitid` (`include/uapi/linux/wait.h`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct WaitOptions: u32 {
        /// `WNOHANG`: do not block.
        const WNOHANG = 0x0000_0001;
        /// `WUNTRACED`: report stopped children (`wait4`).
        const WUNTRACED = 0x0000_0002;
        /// `WSTOPPED`: report stopped children (`waitid`; same bit).
        const WSTOPPED = 0x0000_0002;
        /// `WEXITED`: report exited children (`waitid`).
        const WEXITED = 0x0000_0004;
        /// `WCONTINUED`: report continued children.
        const WCONTINUED = 0x0000_0008;
        /// `WNOWAIT`: leave the child waitable.
        const WNOWAIT = 0x0100_0000;
        /// `__WNOTHREAD`: only children of this thread.
        const __WNOTHREAD = 0x2000_0000;
        /// `__WALL`: any child, clone or not.
        const __WALL = 0x4000_0000;
        /// `__WCLONE`: only clone children.
        const __WCLONE = 0x8000_0000;
    }
}

/// `P_ALL` for `waitid`: any child.
pub const P_ALL: u32 = 0;
/// `P_PID` for `waitid`: the child with this pid.
pub const P_PID: u32 = 1;
/// `P_PGID` for `waitid`: any child in this process group.
pub const P_PGID: u32 = 2;
/// `P_PIDFD` for `waitid`: the child this pidfd refers to.
pub const P_PIDFD: u32 = 3;

/// The `wait` status word of a child that exited with `code` (`W_EXITCODE(code, 0)`).
pub const fn w_exitcode(code: u32) -> u32 {
    (code & 0xff) << 8
}
/// The `wait` status word of a child killed by `sig` (with `0x80` if it dumped core).
pub const fn w_termsig(sig: u32, core: bool) -> u32 {
    (sig & 0x7f) | if core { 0x80 } else { 0 }
}
/// The `wait` status word of a child stopped by `sig` (`W_STOPCODE`).
pub const fn w_stopcode(sig: u32) -> u32 {
    ((sig & 0xff) << 8) | 0x7f
}
/// The `wait` status word of a continued child.
pub const W_CONTINUED: u32 = 0xffff;

// ---------------------------------------------------------------------------------------------
// poll(2), epoll(7) — include/uapi/asm-generic/poll.h, include/uapi/linux/eventpoll.h

bitflags! {
    /// `POLL*` event bits (`struct pollfd`'s `events`/`revents`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct PollEvents: u16 {
        /// `POLLIN`: data to read.
        const POLLIN = 0x0001;
        /// `POLLPRI`: urgent data.
        const POLLPRI = 0x0002;
        /// `POLLOUT`: writing will not block.
        const POLLOUT = 0x0004;
        /// `POLLERR`: error condition (always reported).
        const POLLERR = 0x0008;
        /// `POLLHUP`: hang up (always reported).
        const POLLHUP = 0x0010;
        /// `POLLNVAL`: invalid fd (always reported).
        const POLLNVAL = 0x0020;
        /// `POLLRDNORM`.
        const POLLRDNORM = 0x0040;
        /// `POLLRDBAND`.
        const POLLRDBAND = 0x0080;
        /// `POLLWRNORM`.
        const POLLWRNORM = 0x0100;
        /// `POLLWRBAND`.
        const POLLWRBAND = 0x0200;
        /// `POLLMSG`.
        const POLLMSG = 0x0400;
        /// `POLLREMOVE`.
        const POLLREMOVE = 0x1000;
        /// `POLLRDHUP`: peer closed its writing half.
        const POLLRDHUP = 0x2000;
    }
}

/// `EPOLLIN` (the `POLL*` bits are shared with epoll, widened to `u32`).
pub const EPOLLIN: u32 = 0x0001;
/// `EPOLLPRI`.
pub const EPOLLPRI: u32 = 0x0002;
/// `EPOLLOUT`.
pub const EPOLLOUT: u32 = 0x0004;
/// `EPOLLERR`.
pub const EPOLLERR: u32 = 0x0008;
/// `EPOLLHUP`.
pub const EPOLLHUP: u32 = 0x0010;
/// `EPOLLRDNORM`.
pub const EPOLLRDNORM: u32 = 0x0040;
/// `EPOLLRDBAND`.
pub const EPOLLRDBAND: u32 = 0x0080;
/// `EPOLLWRNORM`.
pub const EPOLLWRNORM: u32 = 0x0100;
/// `EPOLLWRBAND`.
pub const EPOLLWRBAND: u32 = 0x0200;
/// `EPOLLMSG`.
pub const EPOLLMSG: u32 = 0x0400;
/// `EPOLLRDHUP`.
pub const EPOLLRDHUP: u32 = 0x2000;
/// `EPOLLEXCLUSIVE`.
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// `EPOLLWAKEUP`.
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// `EPOLLONESHOT`.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// `EPOLLET`: edge-triggered.
pub const EPOLLET: u32 = 1 << 31;
/// `EPOLL_CTL_ADD`.
pub const EPOLL_CTL_ADD: u32 = 1;
/// `EPOLL_CTL_DEL`.
pub const EPOLL_CTL_DEL: u32 = 2;
/// `EPOLL_CTL_MOD`.
pub const EPOLL_CTL_MOD: u32 = 3;

// ---------------------------------------------------------------------------------------------
// ioctl(2) on terminals — include/uapi/asm-generic/ioctls.h

/// `TCGETS`: get the `struct termios`.
pub const TCGETS: u32 = 0x5401;
/// `TCSETS`: set the `struct termios` now.
pub const TCSETS: u32 = 0x5402;
/// `TCSETSW`: set after draining output.
pub const TCSETSW: u32 = 0x5403;
/// `TCSETSF`: set after draining output and flushing input.
pub const TCSETSF: u32 = 0x5404;
/// `TCGETA`: get the old `struct termio`.
pub const TCGETA: u32 = 0x5405;
/// `TCSETA`.
pub const TCSETA: u32 = 0x5406;
/// `TCSETAW`.
pub const TCSETAW: u32 = 0x5407;
/// `TCSETAF`.
pub const TCSETAF: u32 = 0x5408;
/// `TCSBRK`: drain output (`tcdrain`) or send a break.
pub const TCSBRK: u32 = 0x5409;
/// `TCXONC`: suspend or restart output/input (`tcflow`).
pub const TCXONC: u32 = 0x540A;
/// `TCFLSH`: flush queues (`tcflush`).
pub const TCFLSH: u32 = 0x540B;
/// `TIOCEXCL`: exclusive mode.
pub const TIOCEXCL: u32 = 0x540C;
/// `TIOCNXCL`: leave exclusive mode.
pub const TIOCNXCL: u32 = 0x540D;
/// `TIOCSCTTY`: make this the controlling terminal.
pub const TIOCSCTTY: u32 = 0x540E;
/// `TIOCGPGRP`: get the foreground process group.
pub const TIOCGPGRP: u32 = 0x540F;
/// `TIOCSPGRP`: set the foreground process group.
pub const TIOCSPGRP: u32 = 0x5410;
/// `TIOCOUTQ`: bytes in the output queue.
pub const TIOCOUTQ: u32 = 0x5411;
/// `TIOCSTI`: fake input.
pub const TIOCSTI: u32 = 0x5412;
/// `TIOCGWINSZ`: get the window size.
pub const TIOCGWINSZ: u32 = 0x5413;
/// `TIOCSWINSZ`: set the window size.
pub const TIOCSWINSZ: u32 = 0x5414;
/// `TIOCMGET`: get modem bits.
pub const TIOCMGET: u32 = 0x5415;
/// `TIOCMBIS`: set modem bits.
pub const TIOCMBIS: u32 = 0x5416;
/// `TIOCMBIC`: clear modem bits.
pub const TIOCMBIC: u32 = 0x5417;
/// `TIOCMSET`: set all modem bits.
pub const TIOCMSET: u32 = 0x5418;
/// `TIOCGSOFTCAR`.
pub const TIOCGSOFTCAR: u32 = 0x5419;
/// `TIOCSSOFTCAR`.
pub const TIOCSSOFTCAR: u32 = 0x541A;
/// `FIONREAD` (`TIOCINQ`): bytes available to read.
pub const FIONREAD: u32 = 0x541B;
/// `TIOCINQ` is `FIONREAD`.
pub const TIOCINQ: u32 = FIONREAD;
/// `TIOCLINUX`: console-specific requests.
pub const TIOCLINUX: u32 = 0x541C;
/// `TIOCCONS`: redirect console output.
pub const TIOCCONS: u32 = 0x541D;
/// `TIOCGSERIAL`.
pub const TIOCGSERIAL: u32 = 0x541E;
/// `TIOCSSERIAL`.
pub const TIOCSSERIAL: u32 = 0x541F;
/// `TIOCPKT`: packet mode (pty master).
pub const TIOCPKT: u32 = 0x5420;
/// `FIONBIO`: set/clear non-blocking mode.
pub const FIONBIO: u32 = 0x5421;
/// `TIOCNOTTY`: give up the controlling terminal.
pub const TIOCNOTTY: u32 = 0x5422;
/// `TIOCSETD`: set the line discipline.
pub const TIOCSETD: u32 = 0x5423;
/// `TIOCGETD`: get the line discipline.
pub const TIOCGETD: u32 = 0x5424;
/// `TCSBRKP`: POSIX `tcsendbreak`.
pub const TCSBRKP: u32 = 0x5425;
/// `TIOCSBRK`: start a break.
pub const TIOCSBRK: u32 = 0x5427;
/// `TIOCCBRK`: stop a break.
pub const TIOCCBRK: u32 = 0x5428;
/// `TIOCGSID`: get the session id of the terminal.
pub const TIOCGSID: u32 = 0x5429;
/// `TCGETS2`: `_IOR('T', 0x2A, struct termios2)`.
pub const TCGETS2: u32 = 0x802C_542A;
/// `TCSETS2`: `_IOW('T', 0x2B, struct termios2)`.
pub const TCSETS2: u32 = 0x402C_542B;
/// `TCSETSW2`: `_IOW('T', 0x2C, struct termios2)`.
pub const TCSETSW2: u32 = 0x402C_542C;
/// `TCSETSF2`: `_IOW('T', 0x2D, struct termios2)`.
pub const TCSETSF2: u32 = 0x402C_542D;
/// `TIOCGPTN`: `_IOR('T', 0x30, unsigned int)`, the pty number.
pub const TIOCGPTN: u32 = 0x8004_5430;
/// `TIOCSPTLCK`: `_IOW('T', 0x31, int)`, lock/unlock the pty.
pub const TIOCSPTLCK: u32 = 0x4004_5431;
/// `TIOCGDEV`: `_IOR('T', 0x32, unsigned int)`, the real device.
pub const TIOCGDEV: u32 = 0x8004_5432;
/// `TIOCVHANGUP`.
pub const TIOCVHANGUP: u32 = 0x5437;
/// `TIOCGPTPEER`: `_IO('T', 0x41)`, open the pty peer.
pub const TIOCGPTPEER: u32 = 0x5441;
/// `FIONCLEX`: clear close-on-exec.
pub const FIONCLEX: u32 = 0x5450;
/// `FIOCLEX`: set close-on-exec.
pub const FIOCLEX: u32 = 0x5451;
/// `FIOASYNC`: set/clear `O_ASYNC`.
pub const FIOASYNC: u32 = 0x5452;
/// `TIOCGLCKTRMIOS`.
pub const TIOCGLCKTRMIOS: u32 = 0x5456;
/// `TIOCSLCKTRMIOS`.
pub const TIOCSLCKTRMIOS: u32 = 0x5457;
/// `FIOQSIZE`.
pub const FIOQSIZE: u32 = 0x5460;

/// `TCIFLUSH` for `TCFLSH`: flush input.
pub const TCIFLUSH: u32 = 0;
/// `TCOFLUSH` for `TCFLSH`: flush output.
pub const TCOFLUSH: u32 = 1;
/// `TCIOFLUSH` for `TCFLSH`: flush both.
pub const TCIOFLUSH: u32 = 2;
/// `TCOOFF` for `TCXONC`: suspend output.
pub const TCOOFF: u32 = 0;
/// `TCOON` for `TCXONC`: restart output.
pub const TCOON: u32 = 1;
/// `TCIOFF` for `TCXONC`: send STOP.
pub const TCIOFF: u32 = 2;
/// `TCION` for `TCXONC`: send START.
pub const TCION: u32 = 3;
/// `TCSANOW` (`tcsetattr`).
pub const TCSANOW: u32 = 0;
/// `TCSADRAIN` (`tcsetattr`).
pub const TCSADRAIN: u32 = 1;
/// `TCSAFLUSH` (`tcsetattr`).
pub const TCSAFLUSH: u32 = 2;

// termios bits — include/uapi/asm-generic/termbits.h, termbits-common.h

/// `VINTR` index in `c_cc`.
pub const VINTR: usize = 0;
/// `VQUIT` index.
pub const VQUIT: usize = 1;
/// `VERASE` index.
pub const VERASE: usize = 2;
/// `VKILL` index.
pub const VKILL: usize = 3;
/// `VEOF` index.
pub const VEOF: usize = 4;
/// `VTIME` index.
pub const VTIME: usize = 5;
/// `VMIN` index.
pub const VMIN: usize = 6;
/// `VSWTC` index.
pub const VSWTC: usize = 7;
/// `VSTART` index.
pub const VSTART: usize = 8;
/// `VSTOP` index.
pub const VSTOP: usize = 9;
/// `VSUSP` index.
pub const VSUSP: usize = 10;
/// `VEOL` index.
pub const VEOL: usize = 11;
/// `VREPRINT` index.
pub const VREPRINT: usize = 12;
/// `VDISCARD` index.
pub const VDISCARD: usize = 13;
/// `VWERASE` index.
pub const VWERASE: usize = 14;
/// `VLNEXT` index.
pub const VLNEXT: usize = 15;
/// `VEOL2` index.
pub const VEOL2: usize = 16;

/// `IGNBRK` (c_iflag).
pub const IGNBRK: u32 = 0o1;
/// `BRKINT` (c_iflag).
pub const BRKINT: u32 = 0o2;
/// `IGNPAR` (c_iflag).
pub const IGNPAR: u32 = 0o4;
/// `PARMRK` (c_iflag).
pub const PARMRK: u32 = 0o10;
/// `INPCK` (c_iflag).
pub const INPCK: u32 = 0o20;
/// `ISTRIP` (c_iflag).
pub const ISTRIP: u32 = 0o40;
/// `INLCR` (c_iflag).
pub const INLCR: u32 = 0o100;
/// `IGNCR` (c_iflag).
pub const IGNCR: u32 = 0o200;
/// `ICRNL` (c_iflag).
pub const ICRNL: u32 = 0o400;
/// `IUCLC` (c_iflag).
pub const IUCLC: u32 = 0o1000;
/// `IXON` (c_iflag).
pub const IXON: u32 = 0o2000;
/// `IXANY` (c_iflag).
pub const IXANY: u32 = 0o4000;
/// `IXOFF` (c_iflag).
pub const IXOFF: u32 = 0o10000;
/// `IMAXBEL` (c_iflag).
pub const IMAXBEL: u32 = 0o20000;
/// `IUTF8` (c_iflag).
pub const IUTF8: u32 = 0o40000;

/// `OPOST` (c_oflag).
pub const OPOST: u32 = 0o1;
/// `OLCUC` (c_oflag).
pub const OLCUC: u32 = 0o2;
/// `ONLCR` (c_oflag).
pub const ONLCR: u32 = 0o4;
/// `OCRNL` (c_oflag).
pub const OCRNL: u32 = 0o10;
/// `ONOCR` (c_oflag).
pub const ONOCR: u32 = 0o20;
/// `ONLRET` (c_oflag).
pub const ONLRET: u32 = 0o40;
/// `OFILL` (c_oflag).
pub const OFILL: u32 = 0o100;
/// `OFDEL` (c_oflag).
pub const OFDEL: u32 = 0o200;
/// `NLDLY` (c_oflag).
pub const NLDLY: u32 = 0o400;
/// `CRDLY` (c_oflag).
pub const CRDLY: u32 = 0o3000;
/// `TABDLY` (c_oflag).
pub const TABDLY: u32 = 0o14000;
/// `XTABS` (c_oflag; `TAB3`).
pub const XTABS: u32 = 0o14000;
/// `BSDLY` (c_oflag).
pub const BSDLY: u32 = 0o20000;
/// `VTDLY` (c_oflag).
pub const VTDLY: u32 = 0o40000;
/// `FFDLY` (c_oflag).
pub const FFDLY: u32 = 0o100000;

/// `CBAUD` (c_cflag).
pub const CBAUD: u32 = 0o10017;
/// `B0` (c_cflag): hang up.
pub const B0: u32 = 0;
/// `B9600` (c_cflag).
pub const B9600: u32 = 0o15;
/// `B38400` (c_cflag).
pub const B38400: u32 = 0o17;
/// `B115200` (c_cflag).
pub const B115200: u32 = 0o10002;
/// `CSIZE` (c_cflag).
pub const CSIZE: u32 = 0o60;
/// `CS5` (c_cflag).
pub const CS5: u32 = 0;
/// `CS6` (c_cflag).
pub const CS6: u32 = 0o20;
/// `CS7` (c_cflag).
pub const CS7: u32 = 0o40;
/// `CS8` (c_cflag).
pub const CS8: u32 = 0o60;
/// `CSTOPB` (c_cflag).
pub const CSTOPB: u32 = 0o100;
/// `CREAD` (c_cflag).
pub const CREAD: u32 = 0o200;
/// `PARENB` (c_cflag).
pub const PARENB: u32 = 0o400;
/// `PARODD` (c_cflag).
pub const PARODD: u32 = 0o1000;
/// `HUPCL` (c_cflag).
pub const HUPCL: u32 = 0o2000;
/// `CLOCAL` (c_cflag).
pub const CLOCAL: u32 = 0o4000;
/// `CBAUDEX` (c_cflag).
pub const CBAUDEX: u32 = 0o10000;
/// `BOTHER` (c_cflag): speed in `c_ispeed`/`c_ospeed`.
pub const BOTHER: u32 = 0o10000;
/// `CIBAUD` (c_cflag): input baud rate.
pub const CIBAUD: u32 = 0o2003600000;
/// `CMSPAR` (c_cflag).
pub const CMSPAR: u32 = 0o10000000000;
/// `CRTSCTS` (c_cflag).
pub const CRTSCTS: u32 = 0o20000000000;

/// `ISIG` (c_lflag): generate signals for INTR/QUIT/SUSP.
pub const ISIG: u32 = 0o1;
/// `ICANON` (c_lflag): canonical (line) mode.
pub const ICANON: u32 = 0o2;
/// `XCASE` (c_lflag).
pub const XCASE: u32 = 0o4;
/// `ECHO` (c_lflag).
pub const ECHO: u32 = 0o10;
/// `ECHOE` (c_lflag).
pub const ECHOE: u32 = 0o20;
/// `ECHOK` (c_lflag).
pub const ECHOK: u32 = 0o40;
/// `ECHONL` (c_lflag).
pub const ECHONL: u32 = 0o100;
/// `NOFLSH` (c_lflag).
pub const NOFLSH: u32 = 0o200;
/// `TOSTOP` (c_lflag).
pub const TOSTOP: u32 = 0o400;
/// `ECHOCTL` (c_lflag).
pub const ECHOCTL: u32 = 0o1000;
/// `ECHOPRT` (c_lflag).
pub const ECHOPRT: u32 = 0o2000;
/// `ECHOKE` (c_lflag).
pub const ECHOKE: u32 = 0o4000;
/// `FLUSHO` (c_lflag).
pub const FLUSHO: u32 = 0o10000;
/// `PENDIN` (c_lflag).
pub const PENDIN: u32 = 0o40000;
/// `IEXTEN` (c_lflag).
pub const IEXTEN: u32 = 0o100000;
/// `EXTPROC` (c_lflag).
pub const EXTPROC: u32 = 0o200000;

/// `N_TTY`: the default line discipline.
pub const N_TTY: u8 = 0;

// ---------------------------------------------------------------------------------------------
// Clocks and timers — include/uapi/linux/time.h

/// `CLOCK_REALTIME`.
pub const CLOCK_REALTIME: i32 = 0;
/// `CLOCK_MONOTONIC`.
pub const CLOCK_MONOTONIC: i32 = 1;
/// `CLOCK_PROCESS_CPUTIME_ID`.
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
/// `CLOCK_THREAD_CPUTIME_ID`.
pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
/// `CLOCK_MONOTONIC_RAW`.
pub const CLOCK_MONOTONIC_RAW: i32 = 4;
/// `CLOCK_REALTIME_COARSE`.
pub const CLOCK_REALTIME_COARSE: i32 = 5;
/// `CLOCK_MONOTONIC_COARSE`.
pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
/// `CLOCK_BOOTTIME`.
pub const CLOCK_BOOTTIME: i32 = 7;
/// `CLOCK_REALTIME_ALARM`.
pub const CLOCK_REALTIME_ALARM: i32 = 8;
/// `CLOCK_BOOTTIME_ALARM`.
pub const CLOCK_BOOTTIME_ALARM: i32 = 9;
/// `CLOCK_TAI`.
pub const CLOCK_TAI: i32 = 11;
/// `TIMER_ABSTIME`: the time is absolute (`clock_nanosleep`, `timer_settime`).
pub const TIMER_ABSTIME: i32 = 0x01;
/// `TFD_TIMER_ABSTIME` for `timerfd_settime`.
pub const TFD_TIMER_ABSTIME: i32 = 1;
/// `TFD_TIMER_CANCEL_ON_SET` for `timerfd_settime`.
pub const TFD_TIMER_CANCEL_ON_SET: i32 = 2;
/// `ITIMER_REAL`: wall-clock interval timer (`SIGALRM`).
pub const ITIMER_REAL: i32 = 0;
/// `ITIMER_VIRTUAL`: user CPU time (`SIGVTALRM`).
pub const ITIMER_VIRTUAL: i32 = 1;
/// `ITIMER_PROF`: user+system CPU time (`SIGPROF`).
pub const ITIMER_PROF: i32 = 2;
/// `USER_HZ`: clock ticks per second as user space sees them (`AT_CLKTCK`, `times`).
pub const USER_HZ: u64 = 100;

// ---------------------------------------------------------------------------------------------
// Resource limits — include/uapi/asm-generic/resource.h

/// `RLIMIT_CPU`: CPU time in seconds.
pub const RLIMIT_CPU: u32 = 0;
/// `RLIMIT_FSIZE`: maximum file size.
pub const RLIMIT_FSIZE: u32 = 1;
/// `RLIMIT_DATA`: maximum data size.
pub const RLIMIT_DATA: u32 = 2;
/// `RLIMIT_STACK`: maximum stack size.
pub const RLIMIT_STACK: u32 = 3;
/// `RLIMIT_CORE`: maximum core file size.
pub const RLIMIT_CORE: u32 = 4;
/// `RLIMIT_RSS`: maximum resident set size.
pub const RLIMIT_RSS: u32 = 5;
/// `RLIMIT_NPROC`: maximum number of processes.
pub const RLIMIT_NPROC: u32 = 6;
/// `RLIMIT_NOFILE`: maximum number of open files.
pub const RLIMIT_NOFILE: u32 = 7;
/// `RLIMIT_MEMLOCK`: maximum locked memory.
pub const RLIMIT_MEMLOCK: u32 = 8;
/// `RLIMIT_AS`: address-space limit.
pub const RLIMIT_AS: u32 = 9;
/// `RLIMIT_LOCKS`: maximum file locks.
pub const RLIMIT_LOCKS: u32 = 10;
/// `RLIMIT_SIGPENDING`: maximum pending signals.
pub const RLIMIT_SIGPENDING: u32 = 11;
/// `RLIMIT_MSGQUEUE`: maximum bytes in POSIX message queues.
pub const RLIMIT_MSGQUEUE: u32 = 12;
/// `RLIMIT_NICE`: maximum nice priority.
pub const RLIMIT_NICE: u32 = 13;
/// `RLIMIT_RTPRIO`: maximum real-time priority.
pub const RLIMIT_RTPRIO: u32 = 14;
/// `RLIMIT_RTTIME`: real-time CPU timeout in microseconds.
pub const RLIMIT_RTTIME: u32 = 15;
/// `RLIM_NLIMITS`: the number of limits.
pub const RLIM_NLIMITS: u32 = 16;

// ---------------------------------------------------------------------------------------------
// prctl(2) — include/uapi/linux/prctl.h

/// `PR_SET_PDEATHSIG`.
pub const PR_SET_PDEATHSIG: u32 = 1;
/// `PR_GET_PDEATHSIG`.
pub const PR_GET_PDEATHSIG: u32 = 2;
/// `PR_GET_DUMPABLE`.
pub const PR_GET_DUMPABLE: u32 = 3;
/// `PR_SET_DUMPABLE`.
pub const PR_SET_DUMPABLE: u32 = 4;
/// `PR_GET_UNALIGN`.
pub const PR_GET_UNALIGN: u32 = 5;
/// `PR_SET_UNALIGN`.
pub const PR_SET_UNALIGN: u32 = 6;
/// `PR_GET_KEEPCAPS`.
pub const PR_GET_KEEPCAPS: u32 = 7;
/// `PR_SET_KEEPCAPS`.
pub const PR_SET_KEEPCAPS: u32 = 8;
/// `PR_GET_FPEMU`.
pub const PR_GET_FPEMU: u32 = 9;
/// `PR_SET_FPEMU`.
pub const PR_SET_FPEMU: u32 = 10;
/// `PR_GET_FPEXC`.
pub const PR_GET_FPEXC: u32 = 11;
/// `PR_SET_FPEXC`.
pub const PR_SET_FPEXC: u32 = 12;
/// `PR_GET_TIMING`.
pub const PR_GET_TIMING: u32 = 13;
/// `PR_SET_TIMING`.
pub const PR_SET_TIMING: u32 = 14;
/// `PR_SET_NAME`: set the thread's `comm` (16 bytes with NUL).
pub const PR_SET_NAME: u32 = 15;
/// `PR_GET_NAME`: get the thread's `comm`.
pub const PR_GET_NAME: u32 = 16;
/// `PR_GET_ENDIAN`.
pub const PR_GET_ENDIAN: u32 = 19;
/// `PR_SET_ENDIAN`.
pub const PR_SET_ENDIAN: u32 = 20;
/// `PR_GET_SECCOMP`.
pub const PR_GET_SECCOMP: u32 = 21;
/// `PR_SET_SECCOMP`.
pub const PR_SET_SECCOMP: u32 = 22;
/// `PR_CAPBSET_READ`.
pub const PR_CAPBSET_READ: u32 = 23;
/// `PR_CAPBSET_DROP`.
pub const PR_CAPBSET_DROP: u32 = 24;
/// `PR_GET_TSC`.
pub const PR_GET_TSC: u32 = 25;
/// `PR_SET_TSC`.
pub const PR_SET_TSC: u32 = 26;
/// `PR_GET_SECUREBITS`.
pub const PR_GET_SECUREBITS: u32 = 27;
/// `PR_SET_SECUREBITS`.
pub const PR_SET_SECUREBITS: u32 = 28;
/// `PR_SET_TIMERSLACK`.
pub const PR_SET_TIMERSLACK: u32 = 29;
/// `PR_GET_TIMERSLACK`.
pub const PR_GET_TIMERSLACK: u32 = 30;
/// `PR_TASK_PERF_EVENTS_DISABLE`.
pub const PR_TASK_PERF_EVENTS_DISABLE: u32 = 31;
/// `PR_TASK_PERF_EVENTS_ENABLE`.
pub const PR_TASK_PERF_EVENTS_ENABLE: u32 = 32;
/// `PR_MCE_KILL`.
pub const PR_MCE_KILL: u32 = 33;
/// `PR_MCE_KILL_GET`.
pub const PR_MCE_KILL_GET: u32 = 34;
/// `PR_SET_MM`.
pub const PR_SET_MM: u32 = 35;
/// `PR_SET_CHILD_SUBREAPER`.
pub const PR_SET_CHILD_SUBREAPER: u32 = 36;
/// `PR_GET_CHILD_SUBREAPER`.
pub const PR_GET_CHILD_SUBREAPER: u32 = 37;
/// `PR_SET_NO_NEW_PRIVS`.
pub const PR_SET_NO_NEW_PRIVS: u32 = 38;
/// `PR_GET_NO_NEW_PRIVS`.
pub const PR_GET_NO_NEW_PRIVS: u32 = 39;
/// `PR_GET_TID_ADDRESS`.
pub const PR_GET_TID_ADDRESS: u32 = 40;
/// `PR_SET_THP_DISABLE`.
pub const PR_SET_THP_DISABLE: u32 = 41;
/// `PR_GET_THP_DISABLE`.
pub const PR_GET_THP_DISABLE: u32 = 42;
/// `PR_SET_FP_MODE`.
pub const PR_SET_FP_MODE: u32 = 45;
/// `PR_GET_FP_MODE`.
pub const PR_GET_FP_MODE: u32 = 46;
/// `PR_CAP_AMBIENT`.
pub const PR_CAP_AMBIENT: u32 = 47;
/// `PR_GET_SPECULATION_CTRL`.
pub const PR_GET_SPECULATION_CTRL: u32 = 52;
/// `PR_SET_SPECULATION_CTRL`.
pub const PR_SET_SPECULATION_CTRL: u32 = 53;
/// `PR_SET_TAGGED_ADDR_CTRL`.
pub const PR_SET_TAGGED_ADDR_CTRL: u32 = 55;
/// `PR_GET_TAGGED_ADDR_CTRL`.
pub const PR_GET_TAGGED_ADDR_CTRL: u32 = 56;
/// `PR_SET_IO_FLUSHER`.
pub const PR_SET_IO_FLUSHER: u32 = 57;
/// `PR_GET_IO_FLUSHER`.
pub const PR_GET_IO_FLUSHER: u32 = 58;
/// `PR_SET_SYSCALL_USER_DISPATCH`.
pub const PR_SET_SYSCALL_USER_DISPATCH: u32 = 59;
/// `PR_SCHED_CORE`.
pub const PR_SCHED_CORE: u32 = 62;
/// `PR_SET_MDWE`: memory-deny-write-execute.
pub const PR_SET_MDWE: u32 = 65;
/// `PR_GET_MDWE`.
pub const PR_GET_MDWE: u32 = 66;
/// `PR_SET_VMA`: name anonymous mappings.
pub const PR_SET_VMA: u32 = 0x53564d41;
/// `PR_SET_VMA_ANON_NAME`: the `PR_SET_VMA` sub-command.
pub const PR_SET_VMA_ANON_NAME: u32 = 0;
/// `PR_SET_PTRACER` (Yama).
pub const PR_SET_PTRACER: u32 = 0x59616d61;
/// `TASK_COMM_LEN`: the size of a task name with its NUL (`PR_SET_NAME`).
pub const TASK_COMM_LEN: usize = 16;

// ---------------------------------------------------------------------------------------------
// arch_prctl(2) — arch/x86/include/uapi/asm/prctl.h

/// `ARCH_SET_GS`.
pub const ARCH_SET_GS: u32 = 0x1001;
/// `ARCH_SET_FS`.
pub const ARCH_SET_FS: u32 = 0x1002;
/// `ARCH_GET_FS`.
pub const ARCH_GET_FS: u32 = 0x1003;
/// `ARCH_GET_GS`.
pub const ARCH_GET_GS: u32 = 0x1004;
/// `ARCH_GET_CPUID`: is `cpuid` enabled?
pub const ARCH_GET_CPUID: u32 = 0x1011;
/// `ARCH_SET_CPUID`: enable/disable `cpuid` faulting.
pub const ARCH_SET_CPUID: u32 = 0x1012;
/// `ARCH_GET_XCOMP_SUPP`: supported xstate features.
pub const ARCH_GET_XCOMP_SUPP: u32 = 0x1021;
/// `ARCH_GET_XCOMP_PERM`: permitted xstate features.
pub const ARCH_GET_XCOMP_PERM: u32 = 0x1022;
/// `ARCH_REQ_XCOMP_PERM`: request a dynamic xstate feature (AMX).
pub const ARCH_REQ_XCOMP_PERM: u32 = 0x1023;
/// `ARCH_GET_XCOMP_GUEST_PERM`.
pub const ARCH_GET_XCOMP_GUEST_PERM: u32 = 0x1024;
/// `ARCH_REQ_XCOMP_GUEST_PERM`.
pub const ARCH_REQ_XCOMP_GUEST_PERM: u32 = 0x1025;
/// `ARCH_XCOMP_TILECFG`: the AMX tile-config xstate component.
pub const ARCH_XCOMP_TILECFG: u32 = 17;
/// `ARCH_XCOMP_TILEDATA`: the AMX tile-data xstate component.
pub const ARCH_XCOMP_TILEDATA: u32 = 18;
/// `ARCH_MAP_VDSO_X32`.
pub const ARCH_MAP_VDSO_X32: u32 = 0x2001;
/// `ARCH_MAP_VDSO_32`.
pub const ARCH_MAP_VDSO_32: u32 = 0x2002;
/// `ARCH_MAP_VDSO_64`.
pub const ARCH_MAP_VDSO_64: u32 = 0x2003;
/// `ARCH_GET_UNTAG_MASK` (LAM).
pub const ARCH_GET_UNTAG_MASK: u32 = 0x4001;
/// `ARCH_ENABLE_TAGGED_ADDR` (LAM).
pub const ARCH_ENABLE_TAGGED_ADDR: u32 = 0x4002;
/// `ARCH_GET_MAX_TAG_BITS` (LAM).
pub const ARCH_GET_MAX_TAG_BITS: u32 = 0x4003;
/// `ARCH_FORCE_TAGGED_SVA` (LAM).
pub const ARCH_FORCE_TAGGED_SVA: u32 = 0x4004;
/// `ARCH_SHSTK_ENABLE` (shadow stack).
pub const ARCH_SHSTK_ENABLE: u32 = 0x5001;
/// `ARCH_SHSTK_DISABLE`.
pub const ARCH_SHSTK_DISABLE: u32 = 0x5002;
/// `ARCH_SHSTK_LOCK`.
pub const ARCH_SHSTK_LOCK: u32 = 0x5003;
/// `ARCH_SHSTK_UNLOCK`.
pub const ARCH_SHSTK_UNLOCK: u32 = 0x5004;
/// `ARCH_SHSTK_STATUS`.
pub const ARCH_SHSTK_STATUS: u32 = 0x5005;

// ---------------------------------------------------------------------------------------------
// Auxiliary vector — include/uapi/linux/auxvec.h, arch/x86/include/uapi/asm/auxvec.h

/// `AT_NULL`: end of the vector.
pub const AT_NULL: u64 = 0;
/// `AT_IGNORE`: entry to ignore.
pub const AT_IGNORE: u64 = 1;
/// `AT_EXECFD`: fd of the program (binfmt_misc).
pub const AT_EXECFD: u64 = 2;
/// `AT_PHDR`: address of the program headers.
pub const AT_PHDR: u64 = 3;
/// `AT_PHENT`: size of a program header.
pub const AT_PHENT: u64 = 4;
/// `AT_PHNUM`: number of program headers.
pub const AT_PHNUM: u64 = 5;
/// `AT_PAGESZ`: page size.
pub const AT_PAGESZ: u64 = 6;
/// `AT_BASE`: load address of the interpreter.
pub const AT_BASE: u64 = 7;
/// `AT_FLAGS`.
pub const AT_FLAGS: u64 = 8;
/// `AT_ENTRY`: the program's entry point.
pub const AT_ENTRY: u64 = 9;
/// `AT_NOTELF`: the program is not ELF.
pub const AT_NOTELF: u64 = 10;
/// `AT_UID`: real uid.
pub const AT_UID: u64 = 11;
/// `AT_EUID`: effective uid.
pub const AT_EUID: u64 = 12;
/// `AT_GID`: real gid.
pub const AT_GID: u64 = 13;
/// `AT_EGID`: effective gid.
pub const AT_EGID: u64 = 14;
/// `AT_PLATFORM`: address of the platform string (`"x86_64"`).
pub const AT_PLATFORM: u64 = 15;
/// `AT_HWCAP`: CPU capabilities (CPUID.1:EDX on x86).
pub const AT_HWCAP: u64 = 16;
/// `AT_CLKTCK`: `times()` frequency.
pub const AT_CLKTCK: u64 = 17;
/// `AT_SECURE`: secure mode (setuid).
pub const AT_SECURE: u64 = 23;
/// `AT_BASE_PLATFORM`: address of the real platform string.
pub const AT_BASE_PLATFORM: u64 = 24;
/// `AT_RANDOM`: address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// `AT_HWCAP2`: extended capabilities.
pub const AT_HWCAP2: u64 = 26;
/// `AT_RSEQ_FEATURE_SIZE`: rseq supported feature size.
pub const AT_RSEQ_FEATURE_SIZE: u64 = 27;
/// `AT_RSEQ_ALIGN`: rseq allocation alignment.
pub const AT_RSEQ_ALIGN: u64 = 28;
/// `AT_HWCAP3`.
pub const AT_HWCAP3: u64 = 29;
/// `AT_HWCAP4`.
pub const AT_HWCAP4: u64 = 30;
/// `AT_EXECFN`: address of the filename the program was executed as.
pub const AT_EXECFN: u64 = 31;
/// `AT_SYSINFO_EHDR`: address of the vDSO.
pub const AT_SYSINFO_EHDR: u64 = 33;
/// `AT_MINSIGSTKSZ`: minimal signal stack size the kernel needs for a frame.
pub const AT_MINSIGSTKSZ: u64 = 51;
/// `AT_VECTOR_SIZE_BASE` + arch: the most auxv pairs Linux writes (`AT_VECTOR_SIZE`/2).
pub const AT_VECTOR_MAX_PAIRS: usize = 25;

/// The auxv key's name (`"AT_PHDR"`), for `--strace` and `/proc/<pid>/auxv` dumps.
pub fn auxv_name(key: u64) -> Option<&'static str> {
    Some(match key {
        AT_NULL => "AT_NULL",
        AT_IGNORE => "AT_IGNORE",
        AT_EXECFD => "AT_EXECFD",
        AT_PHDR => "AT_PHDR",
        AT_PHENT => "AT_PHENT",
        AT_PHNUM => "AT_PHNUM",
        AT_PAGESZ => "AT_PAGESZ",
        AT_BASE => "AT_BASE",
        AT_FLAGS => "AT_FLAGS",
        AT_ENTRY => "AT_ENTRY",
        AT_NOTELF => "AT_NOTELF",
        AT_UID => "AT_UID",
        AT_EUID => "AT_EUID",
        AT_GID => "AT_GID",
        AT_EGID => "AT_EGID",
        AT_PLATFORM => "AT_PLATFORM",
        AT_HWCAP => "AT_HWCAP",
        AT_CLKTCK => "AT_CLKTCK",
        AT_SECURE => "AT_SECURE",
        AT_BASE_PLATFORM => "AT_BASE_PLATFORM",
        AT_RANDOM => "AT_RANDOM",
        AT_HWCAP2 => "AT_HWCAP2",
        AT_RSEQ_FEATURE_SIZE => "AT_RSEQ_FEATURE_SIZE",
        AT_RSEQ_ALIGN => "AT_RSEQ_ALIGN",
        AT_HWCAP3 => "AT_HWCAP3",
        AT_HWCAP4 => "AT_HWCAP4",
        AT_EXECFN => "AT_EXECFN",
        AT_SYSINFO_EHDR => "AT_SYSINFO_EHDR",
        AT_MINSIGSTKSZ => "AT_MINSIGSTKSZ",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// getrandom(2) — include/uapi/linux/random.h

/// `GRND_NONBLOCK`: do not block if the pool is not initialised.
pub const GRND_NONBLOCK: u32 = 0x0001;
/// `GRND_RANDOM`: use the (historical) blocking pool.
pub const GRND_RANDOM: u32 = 0x0002;
/// `GRND_INSECURE`: return possibly-uninitialised randomness.
pub const GRND_INSECURE: u32 = 0x0004;

// ---------------------------------------------------------------------------------------------
// mount(2), umount2(2) — include/uapi/linux/mount.h

/// `MS_RDONLY`.
pub const MS_RDONLY: u64 = 1;
/// `MS_NOSUID`.
pub const MS_NOSUID: u64 = 2;
/// `MS_NODEV`.
pub const MS_NODEV: u64 = 4;
/// `MS_NOEXEC`.
pub const MS_NOEXEC: u64 = 8;
/// `MS_SYNCHRONOUS`.
pub const MS_SYNCHRONOUS: u64 = 16;
/// `MS_REMOUNT`.
pub const MS_REMOUNT: u64 = 32;
/// `MS_MANDLOCK`.
pub const MS_MANDLOCK: u64 = 64;
/// `MS_DIRSYNC`.
pub const MS_DIRSYNC: u64 = 128;
/// `MS_NOSYMFOLLOW`.
pub const MS_NOSYMFOLLOW: u64 = 256;
/// `MS_NOATIME`.
pub const MS_NOATIME: u64 = 1024;
/// `MS_NODIRATIME`.
pub const MS_NODIRATIME: u64 = 2048;
/// `MS_BIND`.
pub const MS_BIND: u64 = 4096;
/// `MS_MOVE`.
pub const MS_MOVE: u64 = 8192;
/// `MS_REC`.
pub const MS_REC: u64 = 16384;
/// `MS_SILENT`.
pub const MS_SILENT: u64 = 32768;
/// `MS_POSIXACL`.
pub const MS_POSIXACL: u64 = 1 << 16;
/// `MS_UNBINDABLE`.
pub const MS_UNBINDABLE: u64 = 1 << 17;
/// `MS_PRIVATE`.
pub const MS_PRIVATE: u64 = 1 << 18;
/// `MS_SLAVE`.
pub const MS_SLAVE: u64 = 1 << 19;
/// `MS_SHARED`.
pub const MS_SHARED: u64 = 1 << 20;
/// `MS_RELATIME`.
pub const MS_RELATIME: u64 = 1 << 21;
/// `MS_KERNMOUNT`.
pub const MS_KERNMOUNT: u64 = 1 << 22;
/// `MS_I_VERSION`.
pub const MS_I_VERSION: u64 = 1 << 23;
/// `MS_STRICTATIME`.
pub const MS_STRICTATIME: u64 = 1 << 24;
/// `MS_LAZYTIME`.
pub const MS_LAZYTIME: u64 = 1 << 25;
/// `MS_ACTIVE` (internal).
pub const MS_ACTIVE: u64 = 1 << 30;
/// `MS_NOUSER` (internal).
pub const MS_NOUSER: u64 = 1 << 31;
/// `MS_MGC_VAL`: the old magic in the high half of the flags.
pub const MS_MGC_VAL: u64 = 0xC0ED_0000;
/// `MS_MGC_MSK`: the mask of that magic.
pub const MS_MGC_MSK: u64 = 0xffff_0000;

/// `MNT_FORCE` for `umount2`.
pub const MNT_FORCE: u32 = 0x0000_0001;
/// `MNT_DETACH` for `umount2`: lazy unmount.
pub const MNT_DETACH: u32 = 0x0000_0002;
/// `MNT_EXPIRE` for `umount2`.
pub const MNT_EXPIRE: u32 = 0x0000_0004;
/// `UMOUNT_NOFOLLOW` for `umount2`.
pub const UMOUNT_NOFOLLOW: u32 = 0x0000_0008;

// ---------------------------------------------------------------------------------------------
// reboot(2) — include/uapi/linux/reboot.h

/// `LINUX_REBOOT_MAGIC1`.
pub const LINUX_REBOOT_MAGIC1: u32 = 0xfee1_dead;
/// `LINUX_REBOOT_MAGIC2` (Linus's birthday).
pub const LINUX_REBOOT_MAGIC2: u32 = 672_274_793;
/// `LINUX_REBOOT_MAGIC2A`.
pub const LINUX_REBOOT_MAGIC2A: u32 = 85_072_278;
/// `LINUX_REBOOT_MAGIC2B`.
pub const LINUX_REBOOT_MAGIC2B: u32 = 369_367_448;
/// `LINUX_REBOOT_MAGIC2C`.
pub const LINUX_REBOOT_MAGIC2C: u32 = 537_993_216;
/// `LINUX_REBOOT_CMD_RESTART`.
pub const LINUX_REBOOT_CMD_RESTART: u32 = 0x0123_4567;
/// `LINUX_REBOOT_CMD_HALT`.
pub const LINUX_REBOOT_CMD_HALT: u32 = 0xCDEF_0123;
/// `LINUX_REBOOT_CMD_CAD_ON`: Ctrl-Alt-Del reboots.
pub const LINUX_REBOOT_CMD_CAD_ON: u32 = 0x89AB_CDEF;
/// `LINUX_REBOOT_CMD_CAD_OFF`: Ctrl-Alt-Del sends `SIGINT` to init.
pub const LINUX_REBOOT_CMD_CAD_OFF: u32 = 0x0000_0000;
/// `LINUX_REBOOT_CMD_POWER_OFF`.
pub const LINUX_REBOOT_CMD_POWER_OFF: u32 = 0x4321_FEDC;
/// `LINUX_REBOOT_CMD_RESTART2`: restart with a command string.
pub const LINUX_REBOOT_CMD_RESTART2: u32 = 0xA1B2_C3D4;
/// `LINUX_REBOOT_CMD_SW_SUSPEND`.
pub const LINUX_REBOOT_CMD_SW_SUSPEND: u32 = 0xD000_FCE2;
/// `LINUX_REBOOT_CMD_KEXEC`.
pub const LINUX_REBOOT_CMD_KEXEC: u32 = 0x4558_4543;

// ---------------------------------------------------------------------------------------------
// Scheduling and priorities — include/uapi/linux/sched.h, include/uapi/linux/resource.h

/// `PRIO_PROCESS` for `getpriority`/`setpriority`.
pub const PRIO_PROCESS: i32 = 0;
/// `PRIO_PGRP`.
pub const PRIO_PGRP: i32 = 1;
/// `PRIO_USER`.
pub const PRIO_USER: i32 = 2;
/// `SCHED_NORMAL` (`SCHED_OTHER`).
pub const SCHED_NORMAL: i32 = 0;
/// `SCHED_FIFO`.
pub const SCHED_FIFO: i32 = 1;
/// `SCHED_RR`.
pub const SCHED_RR: i32 = 2;
/// `SCHED_BATCH`.
pub const SCHED_BATCH: i32 = 3;
/// `SCHED_IDLE`.
pub const SCHED_IDLE: i32 = 5;
/// `SCHED_DEADLINE`.
pub const SCHED_DEADLINE: i32 = 6;
/// `SCHED_EXT`.
pub const SCHED_EXT: i32 = 7;
/// `SCHED_RESET_ON_FORK`: OR-ed into the policy.
pub const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

// ---------------------------------------------------------------------------------------------
// futex(2) — include/uapi/linux/futex.h

/// `FUTEX_WAIT`.
pub const FUTEX_WAIT: u32 = 0;
/// `FUTEX_WAKE`.
pub const FUTEX_WAKE: u32 = 1;
/// `FUTEX_FD` (removed).
pub const FUTEX_FD: u32 = 2;
/// `FUTEX_REQUEUE`.
pub const FUTEX_REQUEUE: u32 = 3;
/// `FUTEX_CMP_REQUEUE`.
pub const FUTEX_CMP_REQUEUE: u32 = 4;
/// `FUTEX_WAKE_OP`.
pub const FUTEX_WAKE_OP: u32 = 5;
/// `FUTEX_LOCK_PI`.
pub const FUTEX_LOCK_PI: u32 = 6;
/// `FUTEX_UNLOCK_PI`.
pub const FUTEX_UNLOCK_PI: u32 = 7;
/// `FUTEX_TRYLOCK_PI`.
pub const FUTEX_TRYLOCK_PI: u32 = 8;
/// `FUTEX_WAIT_BITSET`.
pub const FUTEX_WAIT_BITSET: u32 = 9;
/// `FUTEX_WAKE_BITSET`.
pub const FUTEX_WAKE_BITSET: u32 = 10;
/// `FUTEX_WAIT_REQUEUE_PI`.
pub const FUTEX_WAIT_REQUEUE_PI: u32 = 11;
/// `FUTEX_CMP_REQUEUE_PI`.
pub const FUTEX_CMP_REQUEUE_PI: u32 = 12;
/// `FUTEX_LOCK_PI2`.
pub const FUTEX_LOCK_PI2: u32 = 13;
/// `FUTEX_PRIVATE_FLAG`: the futex is process-private.
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
/// `FUTEX_CLOCK_REALTIME`: timeouts use `CLOCK_REALTIME`.
pub const FUTEX_CLOCK_REALTIME: u32 = 256;
/// `FUTEX_CMD_MASK`: strips the modifier flags from the op.
pub const FUTEX_CMD_MASK: u32 = !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
/// `FUTEX_BITSET_MATCH_ANY`.
pub const FUTEX_BITSET_MATCH_ANY: u32 = 0xffff_ffff;
/// `FUTEX_WAITERS` (robust/PI futex word).
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
/// `FUTEX_OWNER_DIED` (robust futex word).
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// `FUTEX_TID_MASK` (robust/PI futex word).
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// `FUTEX_OP_SET` (`FUTEX_WAKE_OP`).
pub const FUTEX_OP_SET: u32 = 0;
/// `FUTEX_OP_ADD`.
pub const FUTEX_OP_ADD: u32 = 1;
/// `FUTEX_OP_OR`.
pub const FUTEX_OP_OR: u32 = 2;
/// `FUTEX_OP_ANDN`.
pub const FUTEX_OP_ANDN: u32 = 3;
/// `FUTEX_OP_XOR`.
pub const FUTEX_OP_XOR: u32 = 4;
/// `FUTEX_OP_OPARG_SHIFT`: the operand is `1 << oparg`.
pub const FUTEX_OP_OPARG_SHIFT: u32 = 8;
/// `FUTEX_OP_CMP_EQ`.
pub const FUTEX_OP_CMP_EQ: u32 = 0;
/// `FUTEX_OP_CMP_NE`.
pub const FUTEX_OP_CMP_NE: u32 = 1;
/// `FUTEX_OP_CMP_LT`.
pub const FUTEX_OP_CMP_LT: u32 = 2;
/// `FUTEX_OP_CMP_LE`.
pub const FUTEX_OP_CMP_LE: u32 = 3;
/// `FUTEX_OP_CMP_GT`.
pub const FUTEX_OP_CMP_GT: u32 = 4;
/// `FUTEX_OP_CMP_GE`.
pub const FUTEX_OP_CMP_GE: u32 = 5;
/// `FUTEX2_SIZE_U8` (futex2 flags).
pub const FUTEX2_SIZE_U8: u32 = 0x00;
/// `FUTEX2_SIZE_U16`.
pub const FUTEX2_SIZE_U16: u32 = 0x01;
/// `FUTEX2_SIZE_U32`.
pub const FUTEX2_SIZE_U32: u32 = 0x02;
/// `FUTEX2_SIZE_U64`.
pub const FUTEX2_SIZE_U64: u32 = 0x03;
/// `FUTEX2_NUMA`.
pub const FUTEX2_NUMA: u32 = 0x04;
/// `FUTEX2_PRIVATE` (same bit as `FUTEX_PRIVATE_FLAG`).
pub const FUTEX2_PRIVATE: u32 = FUTEX_PRIVATE_FLAG;

/// `MFD_CLOEXEC`: `memfd_create` sets close-on-exec on the new fd.
pub const MFD_CLOEXEC: u32 = 0x0001;
/// `MFD_ALLOW_SEALING`: the memfd starts without `F_SEAL_SEAL`, so seals may be added.
pub const MFD_ALLOW_SEALING: u32 = 0x0002;
/// `MFD_HUGETLB`: back the memfd with huge pages (the page size is in the high bits).
pub const MFD_HUGETLB: u32 = 0x0004;
/// `MFD_NOEXEC_SEAL`: mode 0666 and `F_SEAL_EXEC` from the start (implies sealing allowed).
pub const MFD_NOEXEC_SEAL: u32 = 0x0008;
/// `MFD_EXEC`: mode 0777 (the default when `vm.memfd_noexec` is 0).
pub const MFD_EXEC: u32 = 0x0010;
/// Where `MFD_HUGETLB`'s huge page size (log2) starts in the flags.
pub const MFD_HUGE_SHIFT: u32 = 26;
/// The mask of that huge page size (after shifting).
pub const MFD_HUGE_MASK: u32 = 0x3f;
/// Linux's `MFD_NAME_MAX_LEN`: `NAME_MAX` minus the `memfd:` prefix.
pub const MFD_NAME_MAX_LEN: usize = 255 - 6;

/// `SPLICE_F_MOVE`: a hint to move pages (ignored, as Linux now does).
pub const SPLICE_F_MOVE: u32 = 0x01;
/// `SPLICE_F_NONBLOCK`: do not block on the pipe(s).
pub const SPLICE_F_NONBLOCK: u32 = 0x02;
/// `SPLICE_F_MORE`: more data follows (a hint for sockets).
pub const SPLICE_F_MORE: u32 = 0x04;
/// `SPLICE_F_GIFT`: `vmsplice` gives the pages away (a hint).
pub const SPLICE_F_GIFT: u32 = 0x08;
/// Every valid `splice`/`tee`/`vmsplice` flag (`SPLICE_F_ALL`).
pub const SPLICE_F_ALL: u32 = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

/// `PIDFD_NONBLOCK` (= `O_NONBLOCK`): `waitid` on the pidfd returns `EAGAIN` instead of blocking.
pub const PIDFD_NONBLOCK: u32 = 0o4000;
/// `PIDFD_THREAD` (= `O_EXCL`): the pidfd refers to one thread, not a thread group.
pub const PIDFD_THREAD: u32 = 0o200;
/// `PIDFD_SIGNAL_THREAD`: `pidfd_send_signal` targets the thread.
pub const PIDFD_SIGNAL_THREAD: u32 = 1 << 0;
/// `PIDFD_SIGNAL_THREAD_GROUP`: `pidfd_send_signal` targets the thread group.
pub const PIDFD_SIGNAL_THREAD_GROUP: u32 = 1 << 1;
/// `PIDFD_SIGNAL_PROCESS_GROUP`: `pidfd_send_signal` targets the process group.
pub const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 1 << 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags() {
        let f = OpenFlags::from_bits_retain(0o2 | 0o100 | 0o2000000);
        assert_eq!(f.access_mode(), AccessMode::ReadWrite);
        assert!(f.contains(OpenFlags::CREAT | OpenFlags::CLOEXEC));
        assert!(f.can_read() && f.can_write());
        assert_eq!(OpenFlags::RDONLY.access_mode(), AccessMode::ReadOnly);
        assert!(!OpenFlags::PATH.can_read());
        assert_eq!(OpenFlags::from_bits_retain(3).access_mode(), AccessMode::IoctlOnly);
        assert_eq!(OpenFlags::TMPFILE.bits(), 0o20200000);
        assert_eq!(OpenFlags::SYNC.bits(), 0o4010000);
    }

    #[test]
    fn file_types() {
        assert_eq!(dt_from_mode(S_IFDIR | 0o755), DT_DIR);
        assert_eq!(dt_from_mode(S_IFREG), DT_REG);
        assert_eq!(dt_from_mode(S_IFLNK), DT_LNK);
        assert_eq!(dt_from_mode(S_IFSOCK), DT_SOCK);
        assert_eq!(mode_from_dt(DT_CHR), S_IFCHR);
        assert!(s_isdir(S_IFDIR) && !s_isreg(S_IFDIR));
    }

    #[test]
    fn wait_status() {
        assert_eq!(w_exitcode(3), 0x300);
        assert_eq!(w_termsig(11, true), 0x8b);
        assert_eq!(w_stopcode(19), 0x137f);
    }

    /// Compares a selection of constants with the host's headers, if `gcc` is installed.
    #[test]
    fn constants_match_c() {
        let prog = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <linux/futex.h>
#include <linux/reboot.h>
#include <linux/random.h>
#include <asm/prctl.h>
#include <asm/termbits.h>
#include <elf.h>
#include <dirent.h>
#include <time.h>
#define P(e) printf("%s=%lld\n", #e, (long long)(e))
int main(void) {
    P(O_CREAT); P(O_EXCL); P(O_NOCTTY); P(O_TRUNC); P(O_APPEND); P(O_NONBLOCK); P(O_DSYNC);
    P(O_DIRECT); P(O_DIRECTORY); P(O_NOFOLLOW); P(O_NOATIME); P(O_CLOEXEC); P(O_SYNC); P(O_PATH);
    P(O_TMPFILE); P(AT_FDCWD); P(AT_SYMLINK_NOFOLLOW); P(AT_REMOVEDIR); P(AT_SYMLINK_FOLLOW);
    P(AT_NO_AUTOMOUNT); P(AT_EMPTY_PATH); P(AT_EACCESS);
    P(F_DUPFD_CLOEXEC); P(F_OFD_GETLK); P(F_OFD_SETLKW); P(F_SETPIPE_SZ); P(F_GET_SEALS);
    P(CLONE_VM); P(CLONE_THREAD); P(CLONE_SETTLS); P(CLONE_CHILD_CLEARTID); P(CLONE_NEWPID);
    P(CLONE_PIDFD); P(CLONE_IO);
    P(WNOHANG); P(WUNTRACED); P(WCONTINUED); P(WEXITED); P(WNOWAIT); P(__WALL); P(__WCLONE);
    P(POLLIN); P(POLLOUT); P(POLLRDHUP); P(POLLNVAL);
    P(TCGETS); P(TCSETSF); P(TIOCGWINSZ); P(TIOCSPGRP); P(TIOCSCTTY); P(TIOCNOTTY); P(FIONREAD);
    P(FIONBIO); P(TIOCGSID); P(TCFLSH); P(TCXONC); P(TCGETS2); P(TCSETSF2); P(TIOCGPTN);
    P(ICANON); P(ECHO); P(ISIG); P(IEXTEN); P(ECHOCTL); P(ICRNL); P(IXON); P(IUTF8); P(OPOST);
    P(ONLCR); P(CS8); P(CREAD); P(CBAUD); P(B38400); P(CRTSCTS); P(CIBAUD); P(VINTR); P(VMIN);
    P(VEOL2); P(VLNEXT);
    P(CLOCK_MONOTONIC_RAW); P(CLOCK_BOOTTIME); P(CLOCK_TAI); P(TIMER_ABSTIME);
    P(RLIMIT_NOFILE); P(RLIMIT_STACK); P(RLIMIT_RTTIME);
    P(PR_SET_NAME); P(PR_GET_NAME); P(PR_SET_PDEATHSIG); P(PR_SET_NO_NEW_PRIVS);
    P(PR_SET_CHILD_SUBREAPER); P(PR_SET_VMA); P(PR_SET_PTRACER); P(PR_CAP_AMBIENT);
    P(ARCH_SET_FS); P(ARCH_GET_GS); P(ARCH_SET_CPUID); P(ARCH_REQ_XCOMP_PERM);
    P(AT_RANDOM); P(AT_EXECFN); P(AT_SYSINFO_EHDR); P(AT_MINSIGSTKSZ); P(AT_HWCAP2); P(AT_SECURE);
    P(GRND_NONBLOCK); P(GRND_RANDOM); P(GRND_INSECURE);
    P(UTIME_NOW); P(UTIME_OMIT); P(LOCK_NB); P(LOCK_UN);
    P(MS_BIND); P(MS_REC); P(MS_PRIVATE); P(MS_LAZYTIME); P(MS_NOSYMFOLLOW); P(MNT_DETACH); P(UMOUNT_NOFOLLOW);
    P(LINUX_REBOOT_MAGIC2C); P(LINUX_REBOOT_CMD_POWER_OFF); P(LINUX_REBOOT_CMD_RESTART2);
    P(PRIO_USER); P(SCHED_IDLE); P(SCHED_RESET_ON_FORK);
    P(FUTEX_WAIT_BITSET); P(FUTEX_LOCK_PI2); P(FUTEX_CMP_REQUEUE_PI); P(FUTEX_CLOCK_REALTIME);
    P(STATX_BASIC_STATS); P(STATX_BTIME); P(STATX_MNT_ID); P(STATX_DIOALIGN);
    P(S_IFSOCK); P(S_IFLNK); P(DT_WHT); P(RENAME_WHITEOUT);
    P(MFD_CLOEXEC); P(MFD_ALLOW_SEALING); P(MFD_HUGETLB);
    P(SPLICE_F_MOVE); P(SPLICE_F_NONBLOCK); P(SPLICE_F_MORE); P(SPLICE_F_GIFT);
    P(F_ADD_SEALS); P(F_SEAL_FUTURE_WRITE);
    return 0;
}
"#;
        let Some(out) = crate::structs::test_support::run_c(prog) else { return };
        let ours: &[(&str, i64)] = &[
            ("O_CREAT", OpenFlags::CREAT.bits() as i64),
            ("O_EXCL", OpenFlags::EXCL.bits() as i64),
            ("O_NOCTTY", OpenFlags::NOCTTY.bits() as i64),
            ("O_TRUNC", OpenFlags::TRUNC.bits() as i64),
            ("O_APPEND", OpenFlags::APPEND.bits() as i64),
            ("O_NONBLOCK", OpenFlags::NONBLOCK.bits() as i64),
            ("O_DSYNC", OpenFlags::DSYNC.bits() as i64),
            ("O_DIRECT", OpenFlags::DIRECT.bits() as i64),
            ("O_DIRECTORY", OpenFlags::DIRECTORY.bits() as i64),
            ("O_NOFOLLOW", OpenFlags::NOFOLLOW.bits() as i64),
            ("O_NOATIME", OpenFlags::NOATIME.bits() as i64),
            ("O_CLOEXEC", OpenFlags::CLOEXEC.bits() as i64),
            ("O_SYNC", OpenFlags::SYNC.bits() as i64),
            ("O_PATH", OpenFlags::PATH.bits() as i64),
            ("O_TMPFILE", OpenFlags::TMPFILE.bits() as i64),
            ("AT_FDCWD", AT_FDCWD as i64),
            ("AT_SYMLINK_NOFOLLOW", AtFlags::SYMLINK_NOFOLLOW.bits() as i64),
            ("AT_REMOVEDIR", AtFlags::REMOVEDIR.bits() as i64),
            ("AT_SYMLINK_FOLLOW", AtFlags::SYMLINK_FOLLOW.bits() as i64),
            ("AT_NO_AUTOMOUNT", AtFlags::NO_AUTOMOUNT.bits() as i64),
            ("AT_EMPTY_PATH", AtFlags::EMPTY_PATH.bits() as i64),
            ("AT_EACCESS", AtFlags::EACCESS.bits() as i64),
            ("F_DUPFD_CLOEXEC", F_DUPFD_CLOEXEC as i64),
            ("F_OFD_GETLK", F_OFD_GETLK as i64),
            ("F_OFD_SETLKW", F_OFD_SETLKW as i64),
            ("F_SETPIPE_SZ", F_SETPIPE_SZ as i64),
            ("F_GET_SEALS", F_GET_SEALS as i64),
            ("MFD_CLOEXEC", MFD_CLOEXEC as i64),
            ("MFD_ALLOW_SEALING", MFD_ALLOW_SEALING as i64),
            ("MFD_HUGETLB", MFD_HUGETLB as i64),
            ("SPLICE_F_MOVE", SPLICE_F_MOVE as i64),
            ("SPLICE_F_NONBLOCK", SPLICE_F_NONBLOCK as i64),
            ("SPLICE_F_MORE", SPLICE_F_MORE as i64),
            ("SPLICE_F_GIFT", SPLICE_F_GIFT as i64),
            ("F_ADD_SEALS", F_ADD_SEALS as i64),
            ("F_SEAL_FUTURE_WRITE", F_SEAL_FUTURE_WRITE as i64),
            ("CLONE_VM", CloneFlags::VM.bits() as i64),
            ("CLONE_THREAD", CloneFlags::THREAD.bits() as i64),
            ("CLONE_SETTLS", CloneFlags::SETTLS.bits() as i64),
            ("CLONE_CHILD_CLEARTID", CloneFlags::CHILD_CLEARTID.bits() as i64),
            ("CLONE_NEWPID", CloneFlags::NEWPID.bits() as i64),
            ("CLONE_PIDFD", CloneFlags::PIDFD.bits() as i64),
            ("CLONE_IO", CloneFlags::IO.bits() as i64),
            ("WNOHANG", WaitOptions::WNOHANG.bits() as i64),
            ("WUNTRACED", WaitOptions::WUNTRACED.bits() as i64),
            ("WCONTINUED", WaitOptions::WCONTINUED.bits() as i64),
            ("WEXITED", WaitOptions::WEXITED.bits() as i64),
            ("WNOWAIT", WaitOptions::WNOWAIT.bits() as i64),
            ("__WALL", WaitOptions::__WALL.bits() as i64),
            ("__WCLONE", WaitOptions::__WCLONE.bits() as i32 as i64),
            ("POLLIN", PollEvents::POLLIN.bits() as i64),
            ("POLLOUT", PollEvents::POLLOUT.bits() as i64),
            ("POLLRDHUP", PollEvents::POLLRDHUP.bits() as i64),
            ("POLLNVAL", PollEvents::POLLNVAL.bits() as i64),
            ("TCGETS", TCGETS as i64),
            ("TCSETSF", TCSETSF as i64),
            ("TIOCGWINSZ", TIOCGWINSZ as i64),
            ("TIOCSPGRP", TIOCSPGRP as i64),
            ("TIOCSCTTY", TIOCSCTTY as i64),
            ("TIOCNOTTY", TIOCNOTTY as i64),
            ("FIONREAD", FIONREAD as i64),
            ("FIONBIO", FIONBIO as i64),
            ("TIOCGSID", TIOCGSID as i64),
            ("TCFLSH", TCFLSH as i64),
            ("TCXONC", TCXONC as i64),
            ("TCGETS2", TCGETS2 as i64),
            ("TCSETSF2", TCSETSF2 as i64),
            ("TIOCGPTN", TIOCGPTN as i64),
            ("ICANON", ICANON as i64),
            ("ECHO", ECHO as i64),
            ("ISIG", ISIG as i64),
            ("IEXTEN", IEXTEN as i64),
            ("ECHOCTL", ECHOCTL as i64),
            ("ICRNL", ICRNL as i64),
            ("IXON", IXON as i64),
            ("IUTF8", IUTF8 as i64),
            ("OPOST", OPOST as i64),
            ("ONLCR", ONLCR as i64),
            ("CS8", CS8 as i64),
            ("CREAD", CREAD as i64),
            ("CBAUD", CBAUD as i64),
            ("B38400", B38400 as i64),
            ("CRTSCTS", CRTSCTS as i64),
            ("CIBAUD", CIBAUD as i64),
            ("VINTR", VINTR as i64),
            ("VMIN", VMIN as i64),
            ("VEOL2", VEOL2 as i64),
            ("VLNEXT", VLNEXT as i64),
            ("CLOCK_MONOTONIC_RAW", CLOCK_MONOTONIC_RAW as i64),
            ("CLOCK_BOOTTIME", CLOCK_BOOTTIME as i64),
            ("CLOCK_TAI", CLOCK_TAI as i64),
            ("TIMER_ABSTIME", TIMER_ABSTIME as i64),
            ("RLIMIT_NOFILE", RLIMIT_NOFILE as i64),
            ("RLIMIT_STACK", RLIMIT_STACK as i64),
            ("RLIMIT_RTTIME", RLIMIT_RTTIME as i64),
            ("PR_SET_NAME", PR_SET_NAME as i64),
            ("PR_GET_NAME", PR_GET_NAME as i64),
            ("PR_SET_PDEATHSIG", PR_SET_PDEATHSIG as i64),
            ("PR_SET_NO_NEW_PRIVS", PR_SET_NO_NEW_PRIVS as i64),
            ("PR_SET_CHILD_SUBREAPER", PR_SET_CHILD_SUBREAPER as i64),
            ("PR_SET_VMA", PR_SET_VMA as i64),
            ("PR_SET_PTRACER", PR_SET_PTRACER as i64),
            ("PR_CAP_AMBIENT", PR_CAP_AMBIENT as i64),
            ("ARCH_SET_FS", ARCH_SET_FS as i64),
            ("ARCH_GET_GS", ARCH_GET_GS as i64),
            ("ARCH_SET_CPUID", ARCH_SET_CPUID as i64),
            ("ARCH_REQ_XCOMP_PERM", ARCH_REQ_XCOMP_PERM as i64),
            ("AT_RANDOM", AT_RANDOM as i64),
            ("AT_EXECFN", AT_EXECFN as i64),
            ("AT_SYSINFO_EHDR", AT_SYSINFO_EHDR as i64),
            ("AT_MINSIGSTKSZ", AT_MINSIGSTKSZ as i64),
            ("AT_HWCAP2", AT_HWCAP2 as i64),
            ("AT_SECURE", AT_SECURE as i64),
            ("GRND_NONBLOCK", GRND_NONBLOCK as i64),
            ("GRND_RANDOM", GRND_RANDOM as i64),
            ("GRND_INSECURE", GRND_INSECURE as i64),
            ("UTIME_NOW", UTIME_NOW),
            ("UTIME_OMIT", UTIME_OMIT),
            ("LOCK_NB", LOCK_NB as i64),
            ("LOCK_UN", LOCK_UN as i64),
            ("MS_BIND", MS_BIND as i64),
            ("MS_REC", MS_REC as i64),
            ("MS_PRIVATE", MS_PRIVATE as i64),
            ("MS_LAZYTIME", MS_LAZYTIME as i64),
            ("MS_NOSYMFOLLOW", MS_NOSYMFOLLOW as i64),
            ("MNT_DETACH", MNT_DETACH as i64),
            ("UMOUNT_NOFOLLOW", UMOUNT_NOFOLLOW as i64),
            ("LINUX_REBOOT_MAGIC2C", LINUX_REBOOT_MAGIC2C as i64),
            ("LINUX_REBOOT_CMD_POWER_OFF", LINUX_REBOOT_CMD_POWER_OFF as i32 as i64),
            ("LINUX_REBOOT_CMD_RESTART2", LINUX_REBOOT_CMD_RESTART2 as i32 as i64),
            ("PRIO_USER", PRIO_USER as i64),
            ("SCHED_IDLE", SCHED_IDLE as i64),
            ("SCHED_RESET_ON_FORK", SCHED_RESET_ON_FORK as i64),
            ("FUTEX_WAIT_BITSET", FUTEX_WAIT_BITSET as i64),
            ("FUTEX_LOCK_PI2", FUTEX_LOCK_PI2 as i64),
            ("FUTEX_CMP_REQUEUE_PI", FUTEX_CMP_REQUEUE_PI as i64),
            ("FUTEX_CLOCK_REALTIME", FUTEX_CLOCK_REALTIME as i64),
            ("STATX_BASIC_STATS", STATX_BASIC_STATS as i64),
            ("STATX_BTIME", STATX_BTIME as i64),
            ("STATX_MNT_ID", STATX_MNT_ID as i64),
            ("STATX_DIOALIGN", STATX_DIOALIGN as i64),
            ("S_IFSOCK", S_IFSOCK as i64),
            ("S_IFLNK", S_IFLNK as i64),
            ("DT_WHT", DT_WHT as i64),
            ("RENAME_WHITEOUT", RENAME_WHITEOUT as i64),
        ];
        let mut bad = Vec::new();
        for &(name, want) in ours {
            let got = out
                .lines()
                .find(|l| l.split('=').next() == Some(name))
                .and_then(|l| l.rsplit('=').next())
                .and_then(|v| v.parse::<i64>().ok());
            // 32-bit values compare modulo 2^32 (C prints some as signed ints, some unsigned).
            let wide = want > u32::MAX as i64 || want < i32::MIN as i64;
            let same = got.is_some_and(|g| if wide { g == want } else { g as u32 == want as u32 });
            if !same {
                bad.push(format!("{name}: C {got:?}, ours {want}"));
            }
        }
        assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
    }
}
