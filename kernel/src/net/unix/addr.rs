//! Unix socket names (Linux's `unix_validate_addr`, `unix_bind*`, `unix_autobind`,
//! `unix_find_other`): filesystem paths, bound as a socket inode and found through the table
//! keyed by the inode's `(st_dev, st_ino)`; abstract names (a leading NUL), one namespace per
//! socket type as Linux's hash makes them; autobind's `"\0" + 5 hex digits`. The tables also
//! list every live socket for `/proc/net/unix`.

use super::{Conn, Core};
use fs::klock::KMutex;
use fs::locks::InodeKey;
use fs::SockTask;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Weak};
use uapi::net::{self as n};
use uapi::{Errno, KResult};

/// A bound address as `getsockname` returns it (Linux's `struct unix_address`): the family
/// and the path bytes, `len` bytes in all (a path's includes its NUL).
#[derive(Debug, PartialEq, Eq)]
pub struct UnixAddr {
    /// `struct sockaddr_un`, truncated to the address length.
    pub bytes: Vec<u8>,
}

impl UnixAddr {
    fn new(path_bytes: &[u8]) -> UnixAddr {
        let mut bytes = (n::AF_UNIX as u16).to_ne_bytes().to_vec();
        bytes.extend_from_slice(path_bytes);
        UnixAddr { bytes }
    }

    /// The `sun_path` bytes.
    pub fn path(&self) -> &[u8] {
        self.bytes.get(n::SUN_PATH_OFFSET..).unwrap_or_default()
    }
}

/// A checked name to bind or connect to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Name {
    /// A filesystem path (up to its first NUL, as `unix_mkname_bsd` cuts it).
    Path(Vec<u8>),
    /// An abstract name: the `sun_path` bytes, leading NUL included.
    Abstract(Vec<u8>),
}

/// `unix_validate_addr`: `EINVAL` unless the address is longer than the family field, at most
/// `sizeof(struct sockaddr_un)`, and of family `AF_UNIX`.
pub(super) fn validate(addr: &[u8]) -> KResult<Name> {
    if addr.len() <= n::SUN_PATH_OFFSET || addr.len() > n::SOCKADDR_UN_SIZE {
        return Err(Errno::EINVAL);
    }
    if family(addr) != Some(n::AF_UNIX) {
        return Err(Errno::EINVAL);
    }
    let path = &addr[n::SUN_PATH_OFFSET..];
    if path.first() == Some(&0) {
        return Ok(Name::Abstract(path.to_vec()));
    }
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    Ok(Name::Path(path[..end].to_vec()))
}

/// The `sa_family` of an address (`None` if shorter than the field).
pub(super) fn family(addr: &[u8]) -> Option<i32> {
    Some(i32::from(u16::from_ne_bytes(addr.get(..2)?.try_into().ok()?)))
}

/// What a socket owns in the tables.
#[derive(Clone, Debug)]
pub(super) enum Bound {
    Path(InodeKey),
    Abstract(i32, Vec<u8>),
}

/// The bound sockets and every live socket.
#[derive(Default)]
struct Tables {
    by_inode: HashMap<InodeKey, Weak<Core>>,
    by_name: HashMap<(i32, Vec<u8>), Weak<Core>>,
    live: BTreeMap<u64, Weak<Core>>,
}

static TABLES: LazyLock<KMutex<Tables>> = LazyLock::new(|| KMutex::new(Tables::default()));

/// Lists a new socket (`unix_insert_unbound_socket`).
pub(super) fn register(core: &Arc<Core>) {
    TABLES.lock().live.insert(core.id, Arc::downgrade(core));
}

/// Forgets a released socket and its name (`unix_remove_socket`, `unix_remove_bsd_socket`).
pub(super) fn unregister(core: &Arc<Core>) {
    let bound = core.state.lock().bound.take();
    let mut t = TABLES.lock();
    t.live.remove(&core.id);
    let is_me = |w: &Weak<Core>| w.as_ptr() == Arc::as_ptr(core);
    match bound {
        Some(Bound::Path(key)) if t.by_inode.get(&key).is_some_and(is_me) => {
            t.by_inode.remove(&key);
        }
        Some(Bound::Abstract(kind, name)) => {
            let key = (kind, name);
            if t.by_name.get(&key).is_some_and(is_me) {
                t.by_name.remove(&key);
            }
        }
        _ => {}
    }
}

/// Every live socket, in creation order (`/proc/net/unix`).
pub(super) fn live_sockets() -> Vec<Arc<Core>> {
    TABLES.lock().live.values().filter_map(Weak::upgrade).collect()
}

/// `unix_bind`: the family alone autobinds; otherwise a path or an abstract name.
pub(super) fn bind(core: &Arc<Core>, task: &mut dyn SockTask, addr: &[u8]) -> KResult<()> {
    if addr.len() == n::SUN_PATH_OFFSET && family(addr) == Some(n::AF_UNIX) {
        return autobind(core);
    }
    match validate(addr)? {
        Name::Path(p) => bind_path(core, task, &p),
        Name::Abstract(a) => bind_abstract(core, a),
    }
}

/// `unix_bind_bsd`: creates the socket file (`EADDRINUSE` if the name exists), then fails with
/// `EINVAL` — removing the new file again — if the socket already has an address.
fn bind_path(core: &Arc<Core>, task: &mut dyn SockTask, path: &[u8]) -> KResult<()> {
    let node = task.create_node(path).map_err(|e| if e == Errno::EEXIST { Errno::EADDRINUSE } else { e })?;
    let attr = node.attr()?;
    let key = InodeKey { dev: attr.dev, ino: attr.ino };
    {
        let mut st = core.state.lock();
        if st.addr.is_none() {
            let mut name = path.to_vec();
            name.push(0);
            st.addr = Some(Arc::new(UnixAddr::new(&name)));
            st.bound = Some(Bound::Path(key));
            st.path = Some(node);
            TABLES.lock().by_inode.insert(key, Arc::downgrade(core));
            return Ok(());
        }
    }
    task.remove_node(path);
    Err(Errno::EINVAL)
}

/// `unix_bind_abstract`: `EINVAL` if already bound, `EADDRINUSE` if a socket of the same type
/// holds the name.
fn bind_abstract(core: &Arc<Core>, name: Vec<u8>) -> KResult<()> {
    let mut st = core.state.lock();
    if st.addr.is_some() {
        return Err(Errno::EINVAL);
    }
    let mut t = TABLES.lock();
    let key = (core.kind, name);
    if t.by_name.get(&key).and_then(Weak::upgrade).is_some() {
        return Err(Errno::EADDRINUSE);
    }
    t.by_name.insert(key.clone(), Arc::downgrade(core));
    st.addr = Some(Arc::new(UnixAddr::new(&key.1)));
    st.bound = Some(Bound::Abstract(key.0, key.1));
    Ok(())
}

/// `unix_autobind`: an abstract name `"\0%05x"` free for this type, starting at a random
/// number; nothing if the socket is bound already; `ENOSPC` when all 2^20 are taken.
pub(super) fn autobind(core: &Arc<Core>) -> KResult<()> {
    let mut st = core.state.lock();
    if st.addr.is_some() {
        return Ok(());
    }
    let mut seed = [0u8; 4];
    let _ = arch_um::random::fill(&mut seed);
    let last = u32::from_ne_bytes(seed) & 0xfffff;
    let mut order = last;
    let mut t = TABLES.lock();
    loop {
        order = (order + 1) & 0xfffff;
        let mut name = vec![0u8];
        name.extend_from_slice(format!("{order:05x}").as_bytes());
        let key = (core.kind, name);
        if t.by_name.get(&key).and_then(Weak::upgrade).is_none() {
            t.by_name.insert(key.clone(), Arc::downgrade(core));
            st.addr = Some(Arc::new(UnixAddr::new(&key.1)));
            st.bound = Some(Bound::Abstract(key.0, key.1));
            return Ok(());
        }
        if order == last {
            return Err(Errno::ENOSPC);
        }
    }
}

/// Autobinds a socket with `SO_PASSCRED` that has no address yet (connect, sendmsg).
pub(super) fn autobind_for_creds(core: &Arc<Core>) -> KResult<()> {
    if core.common.flag(crate::net::SockFlag::PassCred) && core.addr().is_none() {
        autobind(core)?;
    }
    Ok(())
}

/// `unix_find_other`: the live socket `name` denotes for a socket of type `kind`. A path is
/// looked up with the caller's permissions (`ENOENT`, `EACCES` without write permission);
/// anything but a bound socket there is `ECONNREFUSED`, a socket of another type `EPROTOTYPE`.
/// An abstract name is looked up among sockets of the same type (`ECONNREFUSED`).
pub(super) fn find_other(task: &mut dyn SockTask, name: &Name, kind: i32) -> KResult<Arc<Core>> {
    let found = match name {
        Name::Path(p) => {
            let node = task.find_node(p)?;
            let attr = node.attr()?;
            if attr.mode & fs::abi::S_IFMT != fs::abi::S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            let key = InodeKey { dev: attr.dev, ino: attr.ino };
            let core = TABLES.lock().by_inode.get(&key).and_then(Weak::upgrade).ok_or(Errno::ECONNREFUSED)?;
            if core.kind != kind {
                return Err(Errno::EPROTOTYPE);
            }
            core
        }
        Name::Abstract(a) => TABLES.lock().by_name.get(&(kind, a.clone())).and_then(Weak::upgrade).ok_or(Errno::ECONNREFUSED)?,
    };
    if found.state.lock().dead {
        return Err(Errno::ECONNREFUSED);
    }
    Ok(found)
}

/// The state a socket shows in `/proc/net/unix` (`SS_*`).
pub(super) fn proc_state(conn: Conn, has_file: bool) -> u8 {
    match (has_file, conn == Conn::Established) {
        (true, true) => 3,  // SS_CONNECTED
        (true, false) => 1, // SS_UNCONNECTED
        (false, true) => 2, // SS_CONNECTING
        (false, false) => 4, // SS_DISCONNECTING
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(path: &[u8]) -> Vec<u8> {
        let mut v = (n::AF_UNIX as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(path);
        v
    }

    #[test]
    fn validate_checks_length_and_family() {
        assert_eq!(validate(&sa(b"")), Err(Errno::EINVAL), "the family alone");
        assert_eq!(validate(&[1]), Err(Errno::EINVAL));
        assert_eq!(validate(&sa(&[b'a'; 109])), Err(Errno::EINVAL), "longer than sockaddr_un");
        assert_eq!(validate(&sa(&[b'a'; 108])), Ok(Name::Path(vec![b'a'; 108])));
        let mut inet = sa(b"x");
        inet[0] = 2;
        assert_eq!(validate(&inet), Err(Errno::EINVAL));
        assert_eq!(validate(&sa(b"/tmp/s\0junk")), Ok(Name::Path(b"/tmp/s".to_vec())), "a path ends at its NUL");
        assert_eq!(validate(&sa(b"\0ab\0")), Ok(Name::Abstract(b"\0ab\0".to_vec())), "abstract names keep every byte");
    }
}
