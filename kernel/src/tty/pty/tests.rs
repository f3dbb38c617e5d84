//! The pty pair without processes: data both ways, the lock, packet status, flow control
//! through the master's buffer, and what closing either side does.

use std::sync::{Arc, Mutex};

use fs::devpts::{DevPts, DevPtsOptions};
use fs::{FileLike, PollEvents};
use uapi::signal as sig;
use uapi::Errno;

use super::*;

#[derive(Default)]
struct Recorded {
    signals: Mutex<Vec<(i32, u32)>>,
    hangups: Mutex<Vec<i32>>,
}

impl PtyHooks for Recorded {
    fn kill_pgrp(&self, pgrp: i32, s: u32) {
        self.signals.lock().unwrap().push((pgrp, s));
    }
    fn hangup(&self, sid: i32) {
        self.hangups.lock().unwrap().push(sid);
    }
}

fn pair() -> (Arc<Pty>, Arc<Recorded>, Arc<DevPts>) {
    let devpts = DevPts::new(DevPtsOptions::default());
    let index = devpts.alloc_index().unwrap();
    let hooks = Arc::new(Recorded::default());
    let pty = Pty::new(index, devpts.clone(), hooks.clone());
    let private: Arc<dyn Any + Send + Sync> = pty.clone();
    devpts.add_node(index, 0, 0, Arc::downgrade(&private));
    (pty, hooks, devpts)
}

fn unlocked() -> (Arc<Pty>, Arc<PtyMaster>, Arc<PtySlave>) {
    let (pty, _, _) = pair();
    let master = pty.master();
    pty.link.state.lock().locked = false;
    let slave = pty.open_slave().unwrap();
    (pty, master, slave)
}

fn read(f: &dyn FileLike) -> Result<Vec<u8>, Errno> {
    let mut b = [0u8; 512];
    let n = f.read(&mut b, 0)?;
    Ok(b[..n].to_vec())
}

#[test]
fn locked_until_unlocked_then_data_flows_both_ways() {
    let (pty, _, _) = pair();
    let master = pty.master();
    assert_eq!(pty.open_slave().err(), Some(Errno::EIO));
    pty.link.state.lock().locked = false;
    let slave = pty.open_slave().unwrap();
    master.write(b"hi\n", 0).unwrap();
    assert_eq!(read(&*master).unwrap(), b"hi\r\n", "echo with ONLCR");
    assert_eq!(read(&*slave).unwrap(), b"hi\n");
    slave.write(b"out\n", 0).unwrap();
    assert_eq!(read(&*master).unwrap(), b"out\r\n");
    assert_eq!(read(&*master), Err(Errno::EAGAIN));
    assert_eq!(slave.tty().driver().device(), (136, 0));
}

#[test]
fn a_full_master_blocks_slave_writes_until_read() {
    let (_pty, master, slave) = unlocked();
    let mut t = slave.tty().termios();
    t.c_oflag = 0;
    slave.tty().set_termios(t, false);
    let big = vec![b'x'; MASTER_BUFFER + 100];
    assert_eq!(slave.write(&big, 0).unwrap(), MASTER_BUFFER);
    assert!(!slave.poll().contains(PollEvents::POLLOUT));
    assert_eq!(slave.write(b"y", 0), Err(Errno::EAGAIN));
    assert_eq!(read(&*master).unwrap().len(), 512);
    assert!(slave.poll().contains(PollEvents::POLLOUT), "reading the master makes room");
}

#[test]
fn input_beyond_the_line_discipline_waits_in_the_flip_buffer() {
    let (_pty, master, slave) = unlocked();
    let mut t = slave.tty().termios();
    t.c_lflag = 0;
    t.c_iflag = 0;
    slave.tty().set_termios(t, false);
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(master.write(&data, 0).unwrap(), 10_000);
    let mut got = Vec::new();
    while let Ok(chunk) = read(&*slave) {
        got.extend(chunk);
    }
    assert!(got == data, "{} bytes read, the first wrong at {:?}", got.len(), got.iter().zip(&data).position(|(a, b)| a != b));
    let flood = vec![b'z'; N_TTY_BUF_SIZE + SLAVE_FLIP + 10];
    assert_eq!(master.write(&flood, 0).unwrap(), N_TTY_BUF_SIZE - 1 + SLAVE_FLIP);
    assert!(!master.poll().contains(PollEvents::POLLOUT));
    assert_eq!(master.write(b"z", 0), Err(Errno::EAGAIN));
}

#[test]
fn packet_mode_reports_status_before_data() {
    let (pty, master, slave) = unlocked();
    pty.set_packet(true);
    slave.write(b"a", 0).unwrap();
    assert_eq!(read(&*master).unwrap(), b"\0a");
    slave.tty().driver().flushed(true, false);
    assert!(master.poll().contains(PollEvents::POLLPRI));
    slave.tty().driver().flow_changed(true);
    slave.tty().driver().flow_changed(false);
    assert_eq!(read(&*master).unwrap(), [pkt::FLUSHREAD | pkt::START]);
    assert!(!master.poll().contains(PollEvents::POLLPRI));
}

#[test]
fn intr_typed_on_the_master_signals_the_foreground_group() {
    let (pty, hooks, _) = pair();
    let master = pty.master();
    pty.slave().set_session(5, 7);
    master.write(b"\x03", 0).unwrap();
    assert_eq!(*hooks.signals.lock().unwrap(), vec![(7, sig::SIGINT)]);
    assert_eq!(read(&*master).unwrap(), b"^C");
}

#[test]
fn closing_the_slave_then_the_master() {
    let (pty, hooks, devpts) = pair();
    let master = pty.master();
    pty.link.state.lock().locked = false;
    let slave = pty.open_slave().unwrap();
    pty.slave().set_session(5, 7);
    slave.write(b"bye", 0).unwrap();
    drop(slave);
    assert!(master.poll().contains(PollEvents::POLLHUP));
    assert_eq!(read(&*master).unwrap(), b"bye");
    assert_eq!(read(&*master), Err(Errno::EIO));
    let again = pty.open_slave().unwrap();
    assert!(!master.poll().contains(PollEvents::POLLHUP), "reopening clears it");
    drop(master);
    assert_eq!(*hooks.hangups.lock().unwrap(), vec![5]);
    assert!(devpts.node(0).is_none(), "the node goes with the master");
    assert_eq!(read(&*again).unwrap(), b"", "a hung-up slave reads end of file");
    assert_eq!(again.write(b"x", 0), Err(Errno::EIO));
    assert!(again.poll().contains(PollEvents::POLLHUP | PollEvents::POLLERR));
    assert_eq!(devpts.alloc_index().unwrap(), 1, "the index stays taken while the slave is open");
    drop(again);
    drop(pty);
    assert_eq!(devpts.alloc_index().unwrap(), 0, "and is free once the pty is gone");
}
