//! The relay: guest sockets whose far end is outside the guest are carried by host sockets.

use super::tcp::Tcp;
use super::udp::Udp;
use fs::SockTask;
use std::net::SocketAddr;
use std::sync::Arc;
use uapi::{Errno, KResult};

/// A host TCP connection carrying a guest connection.
pub struct HostConn {}

impl HostConn {
    /// Resets the host connection (`SO_LINGER` 0 close).
    pub fn abort(&self) {}
    /// Closes the host connection after the data sent.
    pub fn close(&self) {}
    /// Sends the guest's FIN (`shutdown(SHUT_WR)` on the host socket).
    pub fn shutdown_write(&self) {}
    /// Writes what the host socket takes now.
    pub fn send(&self, _data: &[u8]) -> KResult<usize> {
        Err(Errno::EPIPE)
    }
    /// True if the host socket can take more data.
    pub fn writable(&self) -> bool {
        true
    }
    /// The guest read some data: more may be taken from the host.
    pub fn rx_drained(&self) {}
}

/// A host UDP socket carrying a guest socket's datagrams to the outside.
pub struct HostUdp {}

impl HostUdp {
    /// Closes the host socket.
    pub fn close(&self) {}
}

/// Connects `t` to `dst` outside the guest.
pub fn connect(_t: &Arc<Tcp>, _task: &mut dyn SockTask, _dst: SocketAddr, _uid: u32) -> KResult<()> {
    Err(Errno::ENETUNREACH)
}

/// Sends a datagram from `u` to `dst` outside the guest.
pub fn udp_send(_u: &Arc<Udp>, _dst: SocketAddr, _data: &[u8]) -> KResult<usize> {
    Err(Errno::ENETUNREACH)
}
