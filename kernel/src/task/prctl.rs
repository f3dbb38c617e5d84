//! The per-process `prctl` settings besides credentials (Linux spreads them over
//! `task_struct`, `signal_struct` and `mm_struct`); `syscall::prctl` reads and sets them.

/// Linux's default timer slack, nanoseconds.
pub const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;

/// The prctl settings a process keeps besides its credentials (Linux spreads them over
/// `task_struct`, `signal_struct` and `mm_struct`).
#[derive(Clone, Debug)]
pub struct PrctlState {
    /// `PR_SET_PDEATHSIG`: the signal sent when the parent exits (0: none).
    pub pdeath_signal: u32,
    /// `PR_SET_DUMPABLE` (0 or 1); a set-ID exec clears it.
    pub dumpable: u32,
    /// `PR_SET_CHILD_SUBREAPER`.
    pub child_subreaper: bool,
    /// `PR_SET_TIMERSLACK`, nanoseconds.
    pub timer_slack_ns: u64,
    /// `PR_SET_THP_DISABLE`.
    pub thp_disable: bool,
    /// `PR_MCE_KILL`: `None` for the system default, else early (1) or late (0).
    pub mce_kill: Option<u64>,
    /// The auxiliary vector of the last exec (`mm->saved_auxv`: `PR_GET_AUXV`, core dumps).
    pub auxv: Vec<(u64, u64)>,
    /// Page ranges locked by `mlock`/`mlockall` (`VM_LOCKED`; see `syscall::mlock`).
    pub locked: Vec<(u64, u64)>,
}

impl Default for PrctlState {
    fn default() -> Self {
        PrctlState { pdeath_signal: 0, dumpable: 1, child_subreaper: false, timer_slack_ns: DEFAULT_TIMER_SLACK_NS, thp_disable: false, mce_kill: None, auxv: Vec::new(), locked: Vec::new() }
    }
}

impl PrctlState {
    /// What a `fork` child starts with (`copy_process`): no parent-death signal, not a
    /// subreaper, no locked memory, the rest inherited.
    pub fn forked(&self) -> PrctlState {
        PrctlState { pdeath_signal: 0, child_subreaper: false, locked: Vec::new(), ..self.clone() }
    }
}

/// Exec's changes to the prctl state (`begin_new_exec`): a privileged (secure or set-ID)
/// exec is not dumpable (`suid_dumpable` 0) and loses its parent-death signal.
pub fn on_exec(p: &crate::task::Process, privileged: bool, auxv: Vec<(u64, u64)>) {
    let mut st = p.prctl.lock();
    st.auxv = auxv;
    st.locked.clear();
    st.dumpable = u32::from(!privileged);
    if privileged {
        st.pdeath_signal = 0;
    }
}
