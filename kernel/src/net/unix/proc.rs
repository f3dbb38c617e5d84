//! `/proc/net/unix` (Linux's `unix_seq_show`): one line per live unix socket.

use super::addr::{live_sockets, proc_state};
use super::Conn;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// `__SO_ACCEPTCON`: the flag a listening socket shows.
const SO_ACCEPTCON: u32 = 1 << 16;

/// The text of `/proc/net/unix`. The `Num` column, a kernel address Linux hides from the
/// unprivileged, is printed as zeros (as Linux does under `kptr_restrict`); `RefCount` as 2.
pub fn text() -> String {
    let mut out = String::from("Num       RefCount Protocol Flags    Type St Inode Path\n");
    for s in live_sockets() {
        let st = s.state.lock();
        let flags = if st.conn == Conn::Listen { SO_ACCEPTCON } else { 0 };
        let _ = write!(
            out,
            "{:016x}: {:08X} {:08X} {:08X} {:04X} {:02X} {:5}",
            0,
            2,
            0,
            flags,
            s.kind,
            proc_state(st.conn, st.has_file),
            s.ino.load(Ordering::Relaxed)
        );
        if let Some(a) = &st.addr {
            out.push(' ');
            let path = a.path();
            let (start, len) = if path.first() == Some(&0) {
                out.push('@');
                (1, path.len())
            } else {
                (0, path.len().saturating_sub(1))
            };
            for &b in path.get(start..len).unwrap_or_default() {
                out.push(if b == 0 { '@' } else { b as char });
            }
        }
        out.push('\n');
    }
    out
}
