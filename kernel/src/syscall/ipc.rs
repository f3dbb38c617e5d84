//! The IPC system calls (Linux's `ipc/syscall.c` entry points): System V shared memory,
//! semaphores and message queues, and POSIX message queues. Thin: the work is in `crate::ipc`.

use crate::ipc::{mqueue, msg, sem, shm};
use crate::sched::Current;
use super::args::{Fd, Flags, InBuf};
use uapi::{KResult, UserAddr, UserCStr};

/// `shmget(2)`.
pub fn sys_shmget(cur: &mut Current, key: i32, size: u64, flags: Flags) -> KResult<usize> {
    shm::shmget(cur, key, size, flags.0 as i32).map(|id| id as usize)
}

/// `shmat(2)`: returns the attach address.
pub fn sys_shmat(cur: &mut Current, shmid: i32, addr: UserAddr, flags: Flags) -> KResult<usize> {
    shm::shmat(cur, shmid, addr.0, flags.0 as i32).map(|a| a as usize)
}

/// `shmdt(2)`.
pub fn sys_shmdt(cur: &mut Current, addr: UserAddr) -> KResult<usize> {
    shm::shmdt(cur, addr.0)
}

/// `shmctl(2)`.
pub fn sys_shmctl(cur: &mut Current, shmid: i32, cmd: i32, buf: UserAddr) -> KResult<usize> {
    shm::shmctl(cur, shmid, cmd, buf)
}

/// `semget(2)`.
pub fn sys_semget(cur: &mut Current, key: i32, nsems: i32, flags: Flags) -> KResult<usize> {
    sem::semget(cur, key, nsems, flags.0 as i32).map(|id| id as usize)
}

/// `semop(2)`: `semtimedop` without a timeout.
pub fn sys_semop(cur: &mut Current, semid: i32, sops: UserAddr, nsops: u32) -> KResult<usize> {
    sem::semtimedop(cur, semid, sops, u64::from(nsops), None)
}

/// `semtimedop(2)`: the relative timeout is read first (`EFAULT`), as Linux does.
pub fn sys_semtimedop(cur: &mut Current, semid: i32, sops: UserAddr, nsops: u32, timeout: UserAddr) -> KResult<usize> {
    let ts = if timeout.is_null() { None } else { Some(cur.read_val(timeout)?) };
    sem::semtimedop(cur, semid, sops, u64::from(nsops), ts)
}

/// `semctl(2)`: the fourth argument is a value (`SETVAL`) or a pointer.
pub fn sys_semctl(cur: &mut Current, semid: i32, semnum: i32, cmd: i32, arg: u64) -> KResult<usize> {
    sem::semctl(cur, semid, semnum, cmd, arg)
}

/// `msgget(2)`.
pub fn sys_msgget(cur: &mut Current, key: i32, flags: Flags) -> KResult<usize> {
    msg::msgget(cur, key, flags.0 as i32).map(|id| id as usize)
}

/// `msgsnd(2)`.
pub fn sys_msgsnd(cur: &mut Current, msqid: i32, msgp: UserAddr, msgsz: u64, flags: Flags) -> KResult<usize> {
    msg::msgsnd(cur, msqid, msgp, msgsz, flags.0 as i32)
}

/// `msgrcv(2)`.
pub fn sys_msgrcv(cur: &mut Current, msqid: i32, msgp: UserAddr, msgsz: u64, msgtyp: i64, flags: Flags) -> KResult<usize> {
    msg::msgrcv(cur, msqid, msgp, msgsz, msgtyp, flags.0 as i32)
}

/// `msgctl(2)`.
pub fn sys_msgctl(cur: &mut Current, msqid: i32, cmd: i32, buf: UserAddr) -> KResult<usize> {
    msg::msgctl(cur, msqid, cmd, buf)
}

/// `mq_open(2)` (glibc has stripped the name's leading `/`; `mode` is a `umode_t`).
pub fn sys_mq_open(cur: &mut Current, name: UserCStr, oflag: Flags, mode: u32, attr: UserAddr) -> KResult<usize> {
    mqueue::mq_open(cur, name.0, oflag.0 as u32, mode & 0xffff, attr)
}

/// `mq_unlink(2)`.
pub fn sys_mq_unlink(cur: &mut Current, name: UserCStr) -> KResult<usize> {
    mqueue::mq_unlink(cur, name.0)
}

/// `mq_timedsend(2)`.
pub fn sys_mq_timedsend(cur: &mut Current, fd: Fd, msg: InBuf, len: u64, prio: u32, timeout: UserAddr) -> KResult<usize> {
    mqueue::mq_timedsend(cur, fd.0, msg.0, len, prio, timeout)
}

/// `mq_timedreceive(2)`.
pub fn sys_mq_timedreceive(cur: &mut Current, fd: Fd, msg: UserAddr, len: u64, prio: UserAddr, timeout: UserAddr) -> KResult<usize> {
    mqueue::mq_timedreceive(cur, fd.0, msg, len, prio, timeout)
}

/// `mq_notify(2)`.
pub fn sys_mq_notify(cur: &mut Current, fd: Fd, sevp: UserAddr) -> KResult<usize> {
    mqueue::mq_notify(cur, fd.0, sevp)
}

/// `mq_getsetattr(2)`.
pub fn sys_mq_getsetattr(cur: &mut Current, fd: Fd, new: UserAddr, old: UserAddr) -> KResult<usize> {
    mqueue::mq_getsetattr(cur, fd.0, new, old)
}
