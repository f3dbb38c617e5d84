//! Inter-process communication (Linux's `ipc/`): System V shared memory (`shm`), semaphores
//! (`sem`) and message queues (`msg`) over the common id tables and permission checks of
//! `util`, and POSIX message queues with their `mqueue` filesystem (`mqueue`).
//!
//! There is one IPC namespace: every object lives in the tables of these modules from its
//! creation until it is removed (`IPC_RMID`, `mq_unlink` and last close). A process's share of
//! it ends with the process: its `SEM_UNDO` adjustments are applied and its attaches detached
//! ([`exit_process`]).

pub mod mqueue;
pub mod msg;
pub mod sem;
pub mod shm;
pub mod util;

/// At the exit of the calling task's process (its last thread): applies its semaphore undo
/// adjustments and detaches its shared memory (Linux's `exit_sem` and `exit_mm`'s `shm_close`).
pub fn exit_process(cur: &crate::sched::Current) {
    shm::release_mm(cur);
    sem::exit_undo(cur.pid());
}

/// `/proc/sysvipc/shm`, `sem` or `msg`; `None` for another name.
pub fn proc_sysvipc(name: &[u8]) -> Option<String> {
    match name {
        b"shm" => Some(shm::proc_text()),
        b"sem" => Some(sem::proc_text()),
        b"msg" => Some(msg::proc_text()),
        _ => None,
    }
}
