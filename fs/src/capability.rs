//! Linux capabilities (capabilities(7)): the five per-task sets, securebits, the
//! `security.capability` xattr format, and the pure set arithmetic of `kernel/capability.c`
//! and `security/commoncap.c` (`cap_capset`, `cap_bprm_creds_from_file`,
//! `cap_task_fix_setuid`). The kernel applies these to a task's [`Credentials`].
//!
//! [`Credentials`]: crate::cred::Credentials

use uapi::{Errno, KResult};

/// Capability numbers (`include/uapi/linux/capability.h`).
pub mod cap {
    /// Change file owners and groups.
    pub const CHOWN: u32 = 0;
    /// Bypass file read, write and execute permission checks.
    pub const DAC_OVERRIDE: u32 = 1;
    /// Bypass file read and directory read/search permission checks.
    pub const DAC_READ_SEARCH: u32 = 2;
    /// Bypass checks that the caller owns the file.
    pub const FOWNER: u32 = 3;
    /// Keep set-user/group-ID bits on modification.
    pub const FSETID: u32 = 4;
    /// Send signals to anyone.
    pub const KILL: u32 = 5;
    /// Change group ids.
    pub const SETGID: u32 = 6;
    /// Change user ids.
    pub const SETUID: u32 = 7;
    /// Add capabilities to the inheritable set beyond the bounding set's permitted part.
    pub const SETPCAP: u32 = 8;
    /// Immutable and append-only file flags.
    pub const LINUX_IMMUTABLE: u32 = 9;
    /// Bind ports below 1024.
    pub const NET_BIND_SERVICE: u32 = 10;
    /// Broadcast and multicast.
    pub const NET_BROADCAST: u32 = 11;
    /// Network administration.
    pub const NET_ADMIN: u32 = 12;
    /// Raw and packet sockets.
    pub const NET_RAW: u32 = 13;
    /// Lock memory (`mlock`, `SHM_LOCK`) beyond `RLIMIT_MEMLOCK`.
    pub const IPC_LOCK: u32 = 14;
    /// Bypass SysV IPC permission checks.
    pub const IPC_OWNER: u32 = 15;
    /// Load kernel modules.
    pub const SYS_MODULE: u32 = 16;
    /// Raw I/O.
    pub const SYS_RAWIO: u32 = 17;
    /// `chroot(2)`.
    pub const SYS_CHROOT: u32 = 18;
    /// `ptrace` any process.
    pub const SYS_PTRACE: u32 = 19;
    /// Process accounting.
    pub const SYS_PACCT: u32 = 20;
    /// System administration (mount, sethostname, ...).
    pub const SYS_ADMIN: u32 = 21;
    /// `reboot(2)`.
    pub const SYS_BOOT: u32 = 22;
    /// Raise priorities, set other processes' nice values and scheduling.
    pub const SYS_NICE: u32 = 23;
    /// Override resource limits.
    pub const SYS_RESOURCE: u32 = 24;
    /// Set the system clock.
    pub const SYS_TIME: u32 = 25;
    /// Configure ttys (`vhangup`).
    pub const SYS_TTY_CONFIG: u32 = 26;
    /// `mknod` of device nodes.
    pub const MKNOD: u32 = 27;
    /// File leases.
    pub const LEASE: u32 = 28;
    /// Write the audit log.
    pub const AUDIT_WRITE: u32 = 29;
    /// Configure auditing and set `/proc/<pid>/loginuid`.
    pub const AUDIT_CONTROL: u32 = 30;
    /// Set file capabilities.
    pub const SETFCAP: u32 = 31;
    /// Override MAC.
    pub const MAC_OVERRIDE: u32 = 32;
    /// Configure MAC.
    pub const MAC_ADMIN: u32 = 33;
    /// `syslog(2)` privileged operations.
    pub const SYSLOG: u32 = 34;
    /// Wake-up alarms.
    pub const WAKE_ALARM: u32 = 35;
    /// Block system suspend.
    pub const BLOCK_SUSPEND: u32 = 36;
    /// Read the audit log.
    pub const AUDIT_READ: u32 = 37;
    /// Performance monitoring.
    pub const PERFMON: u32 = 38;
    /// BPF.
    pub const BPF: u32 = 39;
    /// Checkpoint/restore.
    pub const CHECKPOINT_RESTORE: u32 = 40;
}

/// The highest capability number (`CAP_LAST_CAP`, `/proc/sys/kernel/cap_last_cap`).
pub const CAP_LAST_CAP: u32 = cap::CHECKPOINT_RESTORE;

/// Every valid capability (`CAP_VALID_MASK`, Linux's `CAP_FULL_SET`).
pub const CAP_FULL_SET: u64 = (1u64 << (CAP_LAST_CAP + 1)) - 1;

/// The filesystem-related capabilities a change of fsuid to or from 0 raises or drops
/// (`CAP_FS_MASK`).
pub const CAP_FS_MASK: u64 = bit(cap::CHOWN)
    | bit(cap::DAC_OVERRIDE)
    | bit(cap::DAC_READ_SEARCH)
    | bit(cap::FOWNER)
    | bit(cap::FSETID)
    | bit(cap::LINUX_IMMUTABLE)
    | bit(cap::MKNOD)
    | bit(cap::MAC_OVERRIDE);

/// The bit of capability `c` in a set.
pub const fn bit(c: u32) -> u64 {
    1u64 << c
}

/// True if `c` names a capability this kernel knows (`cap_valid`).
pub fn valid(c: u64) -> bool {
    c <= u64::from(CAP_LAST_CAP)
}

/// Securebits (`include/uapi/linux/securebits.h`).
pub mod secbit {
    /// Root is not special on exec (`SECBIT_NOROOT`).
    pub const NOROOT: u32 = 1 << 0;
    /// Locks `NOROOT`.
    pub const NOROOT_LOCKED: u32 = 1 << 1;
    /// uid changes do not touch capabilities (`SECBIT_NO_SETUID_FIXUP`).
    pub const NO_SETUID_FIXUP: u32 = 1 << 2;
    /// Locks `NO_SETUID_FIXUP`.
    pub const NO_SETUID_FIXUP_LOCKED: u32 = 1 << 3;
    /// Keep permitted capabilities when all uids leave 0 (`SECBIT_KEEP_CAPS`).
    pub const KEEP_CAPS: u32 = 1 << 4;
    /// Locks `KEEP_CAPS`.
    pub const KEEP_CAPS_LOCKED: u32 = 1 << 5;
    /// Forbid raising ambient capabilities (`SECBIT_NO_CAP_AMBIENT_RAISE`).
    pub const NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
    /// Locks `NO_CAP_AMBIENT_RAISE`.
    pub const NO_CAP_AMBIENT_RAISE_LOCKED: u32 = 1 << 7;
    /// Every securebit a task may set (`SECURE_ALL_BITS | SECURE_ALL_LOCKS`).
    pub const ALL: u32 = 0xff;
    /// The lock bits (`SECURE_ALL_LOCKS`).
    pub const LOCKS: u32 = NOROOT_LOCKED | NO_SETUID_FIXUP_LOCKED | KEEP_CAPS_LOCKED | NO_CAP_AMBIENT_RAISE_LOCKED;
}

/// A task's capability sets (`struct cred`'s `cap_*`), as bit masks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSets {
    /// Capabilities preserved across exec for files with matching inheritable bits.
    pub inheritable: u64,
    /// Capabilities the task may assume.
    pub permitted: u64,
    /// Capabilities in force.
    pub effective: u64,
    /// Limit on what exec may grant (`cap_bset`).
    pub bounding: u64,
    /// Capabilities kept across exec of an unprivileged program.
    pub ambient: u64,
}

impl CapSets {
    /// Root's sets at boot: everything but inheritable and ambient (`init_cred`).
    pub fn full() -> Self {
        CapSets { inheritable: 0, permitted: CAP_FULL_SET, effective: CAP_FULL_SET, bounding: CAP_FULL_SET, ambient: 0 }
    }

    /// An unprivileged task's sets: nothing, with the full bounding set.
    pub fn none() -> Self {
        CapSets { bounding: CAP_FULL_SET, ..CapSets::default() }
    }

    /// True if capability `c` is effective (`capable`).
    pub fn has(&self, c: u32) -> bool {
        self.effective & bit(c) != 0
    }

    /// Linux's `cap_capset` rules for new inheritable/permitted/effective sets: `EPERM` if
    /// the permitted set grows, the effective set leaves the new permitted set, or the
    /// inheritable set gains something outside `old inheritable | permitted` (without
    /// `CAP_SETPCAP`) or outside `old inheritable | bounding`. Ambient capabilities not in
    /// both new permitted and inheritable are dropped.
    pub fn capset(&self, inheritable: u64, permitted: u64, effective: u64) -> KResult<CapSets> {
        let (inheritable, permitted, effective) = (inheritable & CAP_FULL_SET, permitted & CAP_FULL_SET, effective & CAP_FULL_SET);
        let pcap = self.has(cap::SETPCAP);
        let inh_limit = self.inheritable | if pcap { self.bounding } else { self.permitted };
        if inheritable & !inh_limit != 0
            || inheritable & !(self.inheritable | self.bounding) != 0
            || permitted & !self.permitted != 0
            || effective & !permitted != 0
        {
            return Err(Errno::EPERM);
        }
        Ok(CapSets { inheritable, permitted, effective, bounding: self.bounding, ambient: self.ambient & permitted & inheritable })
    }
}

/// `security.capability` revision 1 (32-bit sets).
pub const VFS_CAP_REVISION_1: u32 = 0x0100_0000;
/// `security.capability` revision 2 (64-bit sets).
pub const VFS_CAP_REVISION_2: u32 = 0x0200_0000;
/// `security.capability` revision 3 (64-bit sets and a namespace root uid).
pub const VFS_CAP_REVISION_3: u32 = 0x0300_0000;
/// The revision part of `magic_etc`.
const VFS_CAP_REVISION_MASK: u32 = 0xff00_0000;
/// The effective bit of `magic_etc`: the permitted set becomes effective on exec.
pub const VFS_CAP_FLAGS_EFFECTIVE: u32 = 0x0000_0001;

/// A file's capabilities, decoded from `security.capability` (`struct cpu_vfs_cap_data`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileCaps {
    /// fP: granted regardless of the task's inheritable set (subject to bounding).
    pub permitted: u64,
    /// fI: granted where the task's inheritable set has them too.
    pub inheritable: u64,
    /// fE: the new permitted set becomes effective.
    pub effective: bool,
    /// The uid that counts as root for this file (revision 3; 0 otherwise).
    pub rootid: u32,
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

impl FileCaps {
    /// Decodes `security.capability` as `get_vfs_caps_from_disk`: `EINVAL` for a size or
    /// revision that does not match.
    pub fn parse(v: &[u8]) -> KResult<FileCaps> {
        if v.len() < 4 {
            return Err(Errno::EINVAL);
        }
        let magic = le32(v, 0);
        let words = match (magic & VFS_CAP_REVISION_MASK, v.len()) {
            (VFS_CAP_REVISION_1, 12) => 1,
            (VFS_CAP_REVISION_2, 20) | (VFS_CAP_REVISION_3, 24) => 2,
            _ => return Err(Errno::EINVAL),
        };
        let mut fc = FileCaps { effective: magic & VFS_CAP_FLAGS_EFFECTIVE != 0, rootid: le32(v, 20), ..FileCaps::default() };
        for i in 0..words {
            fc.permitted |= u64::from(le32(v, 4 + 8 * i)) << (32 * i);
            fc.inheritable |= u64::from(le32(v, 8 + 8 * i)) << (32 * i);
        }
        fc.permitted &= CAP_FULL_SET;
        fc.inheritable &= CAP_FULL_SET;
        Ok(fc)
    }
}

/// What exec decides about identity: the new ids' effective/real/saved values are the
/// caller's; this carries the inputs `cap_bprm_creds_from_file` needs besides the sets.
#[derive(Clone, Copy, Debug)]
pub struct ExecIds {
    /// Real uid.
    pub uid: u32,
    /// Effective uid after the set-user-ID bit.
    pub euid: u32,
    /// True if the effective ids differ from the real ones after the set-ID bits.
    pub is_setid: bool,
}

/// The outcome of [`exec_caps`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecCaps {
    /// The new sets.
    pub caps: CapSets,
    /// True if the program gained privilege (`AT_SECURE` from the capability side).
    pub secure: bool,
    /// True if privilege had to be withheld (no_new_privs): the caller resets euid/egid to
    /// the real ids.
    pub reset_ids: bool,
}

/// Linux's `cap_bprm_creds_from_file` (capabilities(7), "Transformation of capabilities
/// during execve()"): file capabilities or root's special case give the new permitted set
/// `(pI & fI) | (fP & bounding) | ambient`; effective is that set if fE (or root) else
/// ambient; file caps or set-ID clear ambient. `EPERM` if a file with fE cannot get all of
/// fP. With `no_new_privs` nothing is gained beyond the old permitted set.
pub fn exec_caps(old: &CapSets, securebits: u32, no_new_privs: bool, ids: ExecIds, file: Option<FileCaps>) -> KResult<ExecCaps> {
    let mut new = CapSets { permitted: 0, ..*old };
    let mut effective = false;
    let mut root_uid = 0;
    if let Some(fc) = file {
        root_uid = fc.rootid;
        new.permitted = (fc.permitted & old.bounding) | (fc.inheritable & old.inheritable);
        effective = fc.effective;
        if fc.effective && fc.permitted & !new.permitted != 0 {
            return Err(Errno::EPERM);
        }
    }
    let has_fcap = file.is_some();
    if securebits & secbit::NOROOT == 0 && !(has_fcap && ids.euid == root_uid && ids.uid != root_uid) {
        if ids.euid == root_uid || ids.uid == root_uid {
            new.permitted = old.bounding | old.inheritable;
        }
        if ids.euid == root_uid {
            effective = true;
        }
    }
    let gained = new.permitted & !old.permitted != 0;
    let mut reset_ids = false;
    if (ids.is_setid || gained) && no_new_privs {
        reset_ids = ids.is_setid;
        new.permitted &= old.permitted;
    }
    if has_fcap || ids.is_setid {
        new.ambient = 0;
    }
    new.permitted |= new.ambient;
    new.effective = if effective { new.permitted } else { new.ambient };
    let grew = new.permitted & !new.ambient != 0;
    let secure = ids.is_setid || (ids.uid != root_uid && (effective || grew));
    Ok(ExecCaps { caps: new, secure, reset_ids })
}

/// Linux's `cap_emulate_setxuid`: after a uid change, a task none of whose uids is 0 any
/// more loses its ambient set and, unless `SECBIT_KEEP_CAPS`, its permitted and effective sets;
/// one whose effective uid left 0 loses its effective set; one whose effective uid became
/// 0 gets its permitted set as effective.
pub fn fix_setuid(caps: &mut CapSets, securebits: u32, old: [u32; 3], new: [u32; 3]) {
    if securebits & secbit::NO_SETUID_FIXUP != 0 {
        return;
    }
    let had_root = old.contains(&0);
    let has_root = new.contains(&0);
    if had_root && !has_root {
        if securebits & secbit::KEEP_CAPS == 0 {
            caps.permitted = 0;
            caps.effective = 0;
        }
        caps.ambient = 0;
    }
    if old[1] == 0 && new[1] != 0 {
        caps.effective = 0;
    }
    if old[1] != 0 && new[1] == 0 {
        caps.effective = caps.permitted;
    }
}

/// Linux's fsuid half of `cap_task_fix_setuid`: the filesystem capabilities leave the
/// effective set when fsuid leaves 0 and return (from permitted) when it becomes 0.
pub fn fix_setfsuid(caps: &mut CapSets, securebits: u32, old_fsuid: u32, new_fsuid: u32) {
    if securebits & secbit::NO_SETUID_FIXUP != 0 {
        return;
    }
    if old_fsuid == 0 && new_fsuid != 0 {
        caps.effective &= !CAP_FS_MASK;
    }
    if old_fsuid != 0 && new_fsuid == 0 {
        caps.effective |= caps.permitted & CAP_FS_MASK;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(uid: u32, euid: u32) -> ExecIds {
        ExecIds { uid, euid, is_setid: uid != euid }
    }

    #[test]
    fn root_exec_keeps_everything() {
        let r = exec_caps(&CapSets::full(), 0, false, ids(0, 0), None).unwrap();
        assert_eq!(r.caps, CapSets::full());
        assert!(!r.secure);
    }

    #[test]
    fn user_exec_gets_ambient_only() {
        let old = CapSets { inheritable: 0b110, permitted: 0b110, effective: 0b110, bounding: CAP_FULL_SET, ambient: 0b100 };
        let r = exec_caps(&old, 0, false, ids(1000, 1000), None).unwrap();
        assert_eq!(r.caps.permitted, 0b100);
        assert_eq!(r.caps.effective, 0b100);
        assert!(!r.secure);
    }

    #[test]
    fn setuid_root_and_noroot() {
        let old = CapSets::none();
        let r = exec_caps(&old, 0, false, ids(1000, 0), None).unwrap();
        assert_eq!(r.caps.effective, CAP_FULL_SET);
        assert!(r.secure);
        let r = exec_caps(&old, secbit::NOROOT, false, ids(1000, 0), None).unwrap();
        assert_eq!(r.caps.effective, 0);
        let r = exec_caps(&old, 0, true, ids(1000, 0), None).unwrap();
        assert_eq!(r.caps.permitted, 0);
        assert!(r.reset_ids);
    }

    #[test]
    fn file_caps() {
        let v2 = [0x01, 0, 0, 2, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let fc = FileCaps::parse(&v2).unwrap();
        assert_eq!(fc.permitted, bit(cap::NET_BIND_SERVICE));
        assert!(fc.effective);
        let r = exec_caps(&CapSets::none(), 0, false, ids(1000, 1000), Some(fc)).unwrap();
        assert_eq!(r.caps.effective, bit(cap::NET_BIND_SERVICE));
        assert!(r.secure);
        let limited = CapSets { bounding: 0, ..CapSets::none() };
        assert_eq!(exec_caps(&limited, 0, false, ids(1000, 1000), Some(fc)), Err(Errno::EPERM));
        assert_eq!(FileCaps::parse(&v2[..19]), Err(Errno::EINVAL));
    }

    #[test]
    fn capset_rules() {
        let full = CapSets::full();
        assert!(full.capset(0, 1, 1).is_ok());
        let some = full.capset(0, 1, 1).unwrap();
        assert_eq!(some.capset(0, 3, 1), Err(Errno::EPERM));
        assert_eq!(some.capset(0, 1, 2), Err(Errno::EPERM));
        assert_eq!(some.capset(2, 1, 1), Err(Errno::EPERM));
        assert!(some.capset(1, 1, 0).is_ok());
    }

    #[test]
    fn setuid_fixup() {
        let mut c = CapSets::full();
        fix_setuid(&mut c, 0, [0, 0, 0], [0, 1000, 0]);
        assert_eq!((c.permitted, c.effective), (CAP_FULL_SET, 0));
        fix_setuid(&mut c, 0, [0, 1000, 0], [0, 0, 0]);
        assert_eq!(c.effective, CAP_FULL_SET);
        fix_setuid(&mut c, secbit::KEEP_CAPS, [0, 0, 0], [1000, 1000, 1000]);
        assert_eq!((c.permitted, c.effective), (CAP_FULL_SET, 0));
        fix_setuid(&mut c, 0, [1000, 1000, 0], [1000, 1000, 1000]);
        assert_eq!(c.permitted, 0);
    }
}
