//! The kernel log (Linux's printk ring buffer): every message umbra's kernel logs — whatever
//! reaches the host's stderr and the quieter ones too — is kept in a bounded ring of records,
//! so the guest's `dmesg` shows the boot and the warnings. Read with `syslog(2)` (`klogctl`) or
//! record by record from `/dev/kmsg` (1:11), which also takes messages from user space.
//!
//! The ring is one per umbra process (as Linux's `log_buf`), filled by the host logger before
//! the kernel object graph exists, so it is a static.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fs::devfs::DeviceOpen;
use fs::klock::KMutex;
use fs::{FileLike, PollEvents, Pollee};
use uapi::{Errno, KResult};

/// Bytes of message text the ring keeps (Linux's default `log_buf_len`, 128 KiB).
pub const LOG_BUF_LEN: usize = 128 * 1024;

/// One log record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Sequence number (never reused).
    pub seq: u64,
    /// Syslog priority: facility << 3 | level (kernel messages are facility 0).
    pub prio: u32,
    /// Microseconds since boot.
    pub usec: u64,
    /// The text, without a newline.
    pub text: String,
}

struct Ring {
    records: VecDeque<Record>,
    bytes: usize,
    next_seq: u64,
    /// The first record `syslog(READ)` has not consumed; `SYSLOG_ACTION_CLEAR` moves it too.
    read_seq: u64,
    clear_seq: u64,
}

static RING: KMutex<Ring> = KMutex::new(Ring { records: VecDeque::new(), bytes: 0, next_seq: 0, read_seq: 0, clear_seq: 0 });
static START_US: AtomicU64 = AtomicU64::new(0);

fn pollee() -> &'static Pollee {
    static P: std::sync::OnceLock<Pollee> = std::sync::OnceLock::new();
    P.get_or_init(Pollee::default)
}

fn now_us() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
    let start = START_US.load(Ordering::Relaxed);
    if start == 0 {
        START_US.store(t, Ordering::Relaxed);
        return 0;
    }
    t.saturating_sub(start)
}

/// Appends a record with syslog priority `prio` (the oldest records go when the ring is full).
pub fn append(prio: u32, text: &str) {
    let usec = now_us();
    let mut r = RING.lock();
    let seq = r.next_seq;
    r.next_seq += 1;
    r.bytes += text.len();
    r.records.push_back(Record { seq, prio, usec, text: text.to_string() });
    while r.bytes > LOG_BUF_LEN {
        let Some(old) = r.records.pop_front() else { break };
        r.bytes -= old.text.len();
    }
    drop(r);
    pollee().notify(PollEvents::POLLIN);
}

/// A message from umbra's logger, with the `log` level mapped to the kernel's (error → 3,
/// warn → 4, info → 6, debug and trace → 7).
pub fn log_record(level: log::Level, text: &str) {
    let prio = match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    };
    append(prio, text);
}

/// Records from `seq` on (the oldest kept if `seq` is gone).
fn records_from(seq: u64) -> Vec<Record> {
    RING.lock().records.iter().filter(|r| r.seq >= seq).cloned().collect()
}

/// The `syslog(2)`/`dmesg` text of a record: `<prio>[seconds.micros] text\n`.
fn syslog_line(r: &Record) -> String {
    format!("<{}>[{:5}.{:06}] {}\n", r.prio, r.usec / 1_000_000, r.usec % 1_000_000, r.text)
}

/// The `/dev/kmsg` text of a record: `prio,seq,usec,-;text\n`.
fn kmsg_line(r: &Record) -> String {
    format!("{},{},{},-;{}\n", r.prio, r.seq, r.usec, r.text)
}

/// `syslog(2)` actions (Linux's `do_syslog`): 2 READ (waits for new records; the caller
/// sleeps on `EAGAIN`), 3 READ_ALL, 4 READ_CLEAR, 5 CLEAR, 9 SIZE_UNREAD, 10 SIZE_BUFFER,
/// 0/1 CLOSE/OPEN and 6/7/8 console controls (accepted). Returns the bytes for reads (at most
/// `len`, the newest ones for READ_ALL) and the count for the others.
pub fn syslog(action: i32, len: usize) -> KResult<(usize, Vec<u8>)> {
    match action {
        0 | 1 | 6 | 7 => Ok((0, Vec::new())),
        8 => Ok((0, Vec::new())),
        2 => {
            let (read_seq, clear_seq) = {
                let r = RING.lock();
                (r.read_seq, r.clear_seq)
            };
            let recs = records_from(read_seq.max(clear_seq));
            if recs.is_empty() {
                return Err(Errno::EAGAIN);
            }
            let mut out = Vec::new();
            let mut last = read_seq;
            for r in &recs {
                let line = syslog_line(r);
                if out.len() + line.len() > len {
                    break;
                }
                out.extend_from_slice(line.as_bytes());
                last = r.seq + 1;
            }
            RING.lock().read_seq = last;
            Ok((out.len(), out))
        }
        3 | 4 => {
            let clear_seq = RING.lock().clear_seq;
            let lines: Vec<String> = records_from(clear_seq).iter().map(syslog_line).collect();
            // The newest records that fit, oldest first (Linux's `syslog_print_all`).
            let mut total = 0;
            let mut start = lines.len();
            while start > 0 && total + lines[start - 1].len() <= len {
                start -= 1;
                total += lines[start].len();
            }
            let out: Vec<u8> = lines[start..].concat().into_bytes();
            if action == 4 {
                let mut r = RING.lock();
                r.clear_seq = r.next_seq;
            }
            Ok((out.len(), out))
        }
        5 => {
            let mut r = RING.lock();
            r.clear_seq = r.next_seq;
            Ok((0, Vec::new()))
        }
        9 => {
            let r = RING.lock();
            let from = r.read_seq.max(r.clear_seq);
            Ok((r.records.iter().filter(|x| x.seq >= from).map(|x| syslog_line(x).len()).sum(), Vec::new()))
        }
        10 => Ok((LOG_BUF_LEN, Vec::new())),
        _ => Err(Errno::EINVAL),
    }
}

/// An open `/dev/kmsg`: each reader has its own position, starting at the oldest record.
pub struct KmsgFile {
    next: KMutex<u64>,
}

impl FileLike for KmsgFile {
    /// One record per read (`EINVAL` if the buffer cannot hold it, `EAGAIN` when none is new;
    /// `EPIPE` once if records were lost since the last read, as Linux's `devkmsg_read`).
    fn read(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        let mut next = self.next.lock();
        let r = RING.lock();
        let oldest = r.records.front().map_or(r.next_seq, |x| x.seq);
        if *next < oldest {
            *next = oldest;
            return Err(Errno::EPIPE);
        }
        let rec = r.records.iter().find(|x| x.seq >= *next).ok_or(Errno::EAGAIN)?;
        let line = kmsg_line(rec);
        if line.len() > buf.len() {
            return Err(Errno::EINVAL);
        }
        buf.get_mut(..line.len()).ok_or(Errno::EINVAL)?.copy_from_slice(line.as_bytes());
        *next = rec.seq + 1;
        Ok(line.len())
    }

    /// A message from user space, with an optional `<prio>` prefix (default: user.info).
    fn write(&self, data: &[u8], _offset: u64) -> KResult<usize> {
        let text = String::from_utf8_lossy(data);
        let text = text.trim_end_matches('\n');
        let (prio, msg) = match text.strip_prefix('<').and_then(|t| t.split_once('>')) {
            Some((p, m)) if p.parse::<u32>().is_ok() => (p.parse::<u32>().unwrap_or(14), m),
            _ => ((1 << 3) | 6, text),
        };
        let prio = if prio >> 3 == 0 { prio | (1 << 3) } else { prio };
        append(prio, msg);
        Ok(data.len())
    }

    fn poll(&self) -> PollEvents {
        let next = *self.next.lock();
        if RING.lock().records.back().is_some_and(|r| r.seq >= next) {
            PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLOUT
        } else {
            PollEvents::POLLOUT
        }
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(pollee())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Opens `/dev/kmsg`.
pub struct KmsgDevice;

impl DeviceOpen for KmsgDevice {
    fn open(&self, _flags: fs::abi::OpenFlags) -> KResult<Arc<dyn FileLike>> {
        let oldest = RING.lock().records.front().map_or(0, |r| r.seq);
        Ok(Arc::new(KmsgFile { next: KMutex::new(oldest) }))
    }
}

/// The wait queue of kernel-log readers (`syslog(READ)` sleeps on it).
pub fn readers() -> &'static Pollee {
    pollee()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_as_syslog_and_kmsg_lines() {
        append(6, "hello");
        let (n, text) = syslog(3, 1 << 20).unwrap_or_default();
        let text = String::from_utf8_lossy(&text).into_owned();
        assert_eq!(n, text.len());
        assert!(text.lines().any(|l| l.starts_with("<6>[") && l.ends_with("] hello")), "{text}");
        assert_eq!(syslog(10, 0).map(|r| r.0), Ok(LOG_BUF_LEN));
        assert_eq!(syslog(99, 0).err(), Some(Errno::EINVAL));
        let f = KmsgFile { next: KMutex::new(0) };
        let mut buf = [0u8; 256];
        let mut found = false;
        while let Ok(n) = f.read(&mut buf, 0) {
            found |= String::from_utf8_lossy(&buf[..n]).ends_with(",-;hello\n");
        }
        assert!(found);
        assert_eq!(f.write(b"<5>from user\n", 0), Ok(13));
        let mut buf = [0u8; 256];
        let n = f.read(&mut buf, 0).unwrap_or(0);
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("13,"));
    }
}
