//! Hooks between processes and the controlling terminal (filled in by the tty).

use crate::task::Process;

/// A process became a session leader with no controlling terminal (`setsid`).
pub fn session_created(_p: &Process) {}
