//! Pipes and FIFOs (Linux's `fs/pipe.c`): a ring of page-sized buffers shared by reader and
//! writer ends, each end a [`FileLike`] that never blocks.
//!
//! # Semantics (as Linux 6.1)
//! - The buffer is a ring of at most `max_slots` pages (16 by default: 65 536 bytes, changed by
//!   `F_SETPIPE_SZ`). A write whose length is not a multiple of the page size first tries to
//!   append its `len % 4096` leading bytes to the last page; the rest goes into fresh pages. So
//!   a write of at most `PIPE_BUF` (4096) bytes is never split: it goes in whole or not at all
//!   (`EAGAIN`), and `POLLOUT` ("a page is free") means such a write fits.
//! - A larger write stores what fits and returns that count (`EAGAIN` if nothing fit). Linux's
//!   blocking `pipe_write` then sleeps and continues with the rest; here the kernel's blocking
//!   write path must do that (wait for `POLLOUT` and write the remainder).
//! - A read returns whatever is buffered, up to the request; empty with writers present →
//!   `EAGAIN`; empty with no writers → 0 (end of file).
//! - A write with no readers → `EPIPE` (the caller sends `SIGPIPE`, as `pipe_write` does).
//! - `O_DIRECT` at `pipe2` time makes a packet pipe: each write of up to a page is one packet
//!   and each read takes at most one packet, dropping what does not fit (Linux's packet mode;
//!   a later `F_SETFL O_DIRECT` is not seen, the flag lives in the open file).
//! - Poll: a reader sees `POLLIN|POLLRDNORM` when data is buffered and `POLLHUP` when no writer
//!   is left; a writer sees `POLLOUT|POLLWRNORM` when a page is free and `POLLERR` when no reader
//!   is left (`pipe_poll`).
//! - `splice`, `tee` and `vmsplice` add, move and copy whole buffers (`splice.rs` below): a
//!   spliced piece is a buffer of its own that later writes never merge into (a slot's
//!   `merge` flag is Linux's `PIPE_BUF_FLAG_CAN_MERGE`).
//! - `FIONREAD` gives the buffered byte count; `fstat` of an anonymous pipe shows a FIFO
//!   (`S_IFIFO | 0600`) on a pipefs-like anonymous device with its own inode number.
//!
//! Every end object counts as one reader and/or writer from creation until it is dropped (the
//! last `OpenFile` holding it goes): `Drop` decrements the counts and wakes every waiter so
//! sleepers re-check (EOF, `EPIPE`, `POLLHUP`). Wake-ups go through the pipe's [`Pollee`]:
//! readiness transitions notify exactly the events that became true, and open/close notify
//! everyone (`POLLHUP|POLLERR` are in every registration's mask).
//!
//! # FIFOs and the open protocol
//! [`install_fifo_opener`] registers [`FifoRegistry`] with fs. Named FIFOs share one pipe per
//! inode (keyed by `(st_dev, st_ino)`) while any end is open; the contents go with the last
//! end, as in Linux. Opening follows `fifo_open`:
//! - `O_RDONLY`: counts a reader at once. With no writer present, a non-blocking open succeeds
//!   (and `POLLHUP` is suppressed until a writer has come and gone); a blocking open must wait
//!   until a writer opens.
//! - `O_WRONLY`: non-blocking with no reader → `ENXIO`. Otherwise counts a writer at once and,
//!   with no reader present, a blocking open must wait until a reader opens.
//! - `O_RDWR`: counts both and never waits. Access mode 3 → `EINVAL`.
//!
//! "Must wait" is not an error: `open` returns the end already counted (so the partner can
//! see it), and the kernel's open path then calls [`wait_fifo_partner`] on the new
//! `OpenFile` (built on [`fifo_must_wait`]): while the partner is missing the task sleeps on
//! the file's pollee (partner arrivals notify every waiter) and re-checks. If a signal
//! interrupts the wait, the open path drops the `OpenFile` (its end uncounts itself) and fails
//! with `ERESTARTSYS`, as `wait_for_partner` does. The wait ends when the partner's counter
//! moves, even if that partner has already closed again (Linux's `r_counter`/`w_counter`).

mod splice;

use crate::sched::Current;
use fs::abi::{OpenFlags, S_IFIFO};
use fs::devfs::FifoOpen;
use fs::klock::KMutex;
use fs::locks::InodeKey;
use fs::{FdFlags, FileLike, InodeAttr, OpenFile, PollEvents, Pollee, UserMemory};
use mm::{IoSink, IoSource, VmReader, VmWriter};
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use uapi::flags::{AccessMode, FIONREAD, F_GETPIPE_SZ, F_SETPIPE_SZ};
use uapi::{Errno, KResult, UserAddr};

/// `PIPE_BUF`: writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;
/// The size of one pipe buffer slot (a page).
pub const PIPE_PAGE: usize = 4096;
/// Linux's default pipe capacity (`PIPE_DEF_BUFFERS` pages).
pub const DEFAULT_PIPE_SIZE: usize = 16 * PIPE_PAGE;
/// `/proc/sys/fs/pipe-max-size`: the largest `F_SETPIPE_SZ` an unprivileged caller may ask.
pub const PIPE_MAX_SIZE: usize = 1 << 20;

/// One page of pipe data: `data[off..]` is unread; `data.len()` counts consumed bytes too, as
/// Linux's `offset + len` does when deciding whether a write can merge. `merge` is Linux's
/// `PIPE_BUF_FLAG_CAN_MERGE`: set on what `write` made, never on spliced pieces.
struct Slot {
    data: Vec<u8>,
    off: usize,
    packet: bool,
    merge: bool,
}

impl Slot {
    fn unread(&self) -> usize {
        self.data.len().saturating_sub(self.off)
    }
}

/// The shared buffer and end counts (Linux's `pipe_inode_info`).
struct PipeState {
    slots: VecDeque<Slot>,
    max_slots: usize,
    readers: u32,
    writers: u32,
    /// Readers ever opened (FIFO open waits watch it move).
    r_counter: u64,
    /// Writers ever opened.
    w_counter: u64,
    packet: bool,
}

impl PipeState {
    fn new(packet: bool) -> PipeState {
        PipeState {
            slots: VecDeque::new(),
            max_slots: DEFAULT_PIPE_SIZE / PIPE_PAGE,
            readers: 0,
            writers: 0,
            r_counter: 0,
            w_counter: 0,
            packet,
        }
    }

    fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn is_full(&self) -> bool {
        self.slots.len() >= self.max_slots
    }

    /// Bytes buffered (`FIONREAD`).
    fn available(&self) -> usize {
        self.slots.iter().map(Slot::unread).sum()
    }

    /// Moves buffered bytes into `sink` (`pipe_read`'s copy loop, `copy_page_to_iter`); a
    /// packet ends the read. Stops before the first page the sink cannot take whole (a guest
    /// fault), leaving that page in the pipe.
    fn take(&mut self, sink: &mut dyn IoSink) -> usize {
        let mut done = 0;
        while sink.avail() > 0 {
            let Some(slot) = self.slots.front_mut() else { break };
            let n = slot.unread().min(sink.avail());
            // A copy cut short by a fault consumes nothing of this page (Linux's `pipe_read`).
            if sink.write_slice(&slot.data[slot.off..slot.off + n]) < n {
                break;
            }
            slot.off += n;
            done += n;
            let packet = slot.packet;
            if packet || slot.unread() == 0 {
                self.slots.pop_front();
            }
            if packet {
                break;
            }
        }
        done
    }

    /// Appends from `source` as `pipe_write` does: merge `len % PAGE` leading bytes into the
    /// last page if they fit, then fill fresh pages while any is free. Returns the bytes stored;
    /// a page the source cannot fill whole (a guest fault) is dropped and ends the write, as
    /// Linux's `copy_page_from_iter` check does.
    fn put(&mut self, source: &mut dyn IoSource) -> usize {
        let len = source.remain();
        let mut done = 0;
        let head = len % PIPE_PAGE;
        if head != 0 && !self.packet {
            if let Some(last) = self.slots.back_mut() {
                if last.merge && last.data.len() + head <= PIPE_PAGE {
                    if !append_from(&mut last.data, source, head) {
                        return 0;
                    }
                    done = head;
                }
            }
        }
        while done < len && !self.is_full() {
            let n = (len - done).min(PIPE_PAGE);
            let mut page = Vec::with_capacity(PIPE_PAGE);
            if !append_from(&mut page, source, n) {
                break;
            }
            self.slots.push_back(Slot { data: page, off: 0, packet: self.packet, merge: !self.packet });
            done += n;
        }
        done
    }

    /// The events of the pipe as a whole (the union of what its ends can see), kept in the
    /// pollee so its transitions wake the right waiters.
    fn events(&self) -> PollEvents {
        let mut ev = PollEvents::empty();
        if !self.is_empty() {
            ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
        }
        if !self.is_full() {
            ev |= PollEvents::POLLOUT | PollEvents::POLLWRNORM;
        }
        if self.writers == 0 {
            ev |= PollEvents::POLLHUP;
        }
        if self.readers == 0 {
            ev |= PollEvents::POLLERR;
        }
        ev
    }
}

/// Appends `n` bytes of `source` to `buf`; false (and `buf` as it was) if the source could not
/// give them all.
fn append_from(buf: &mut Vec<u8>, source: &mut dyn IoSource, n: usize) -> bool {
    let start = buf.len();
    buf.resize(start + n, 0);
    let got = source.read_slice(&mut buf[start..]);
    if got < n {
        buf.truncate(start);
    }
    got == n
}

/// A pipe: the shared state plus what `fstat` shows for it.
pub struct Pipe {
    state: KMutex<PipeState>,
    pollee: Pollee,
    ino: u64,
    owner: (u32, u32),
    created: fs::Timespec,
    /// A named FIFO: `fstat` shows the FIFO's own inode instead.
    named: bool,
}

/// The pipefs-like device anonymous pipes live on.
fn pipefs_dev() -> u64 {
    static DEV: OnceLock<u64> = OnceLock::new();
    *DEV.get_or_init(fs::inode::alloc_anon_dev)
}

/// Inode numbers of anonymous pipes (Linux's `get_next_ino`).
fn next_pipe_ino() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(4096);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Which partner a blocking FIFO open waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Partner {
    Reader,
    Writer,
}

impl Pipe {
    fn new(owner: (u32, u32), packet: bool, named: bool) -> Arc<Pipe> {
        let st = PipeState::new(packet);
        let pollee = Pollee::new(st.events());
        Arc::new(Pipe { state: KMutex::new(st), pollee, ino: next_pipe_ino(), owner, created: fs::time::now(), named })
    }

    /// Runs `f` on the state, then publishes the readiness change (after the lock is gone,
    /// so a woken waker may call back into the pipe); `wake_all` also wakes every waiter.
    fn update<R>(&self, wake_all: bool, f: impl FnOnce(&mut PipeState) -> R) -> R {
        let (r, new) = {
            let mut st = self.state.lock();
            let r = f(&mut st);
            (r, st.events())
        };
        let old = self.pollee.events();
        self.pollee.del_events(old - new);
        let raised = new - old;
        if !raised.is_empty() {
            self.pollee.add_events(raised);
        }
        // Every registration includes POLLHUP|POLLERR, so raising one of them already woke all.
        if wake_all && !raised.intersects(PollEvents::POLLHUP | PollEvents::POLLERR) {
            self.pollee.notify(PollEvents::all());
        }
        r
    }

    fn open_end(self: &Arc<Pipe>, readable: bool, writable: bool) -> PipeEnd {
        self.update(true, |st| {
            if readable {
                st.readers = st.readers.saturating_add(1);
                st.r_counter = st.r_counter.wrapping_add(1);
            }
            if writable {
                st.writers = st.writers.saturating_add(1);
                st.w_counter = st.w_counter.wrapping_add(1);
            }
        });
        PipeEnd { pipe: self.clone(), readable, writable, hup_version: 0, wait_for: None }
    }
}

/// One open end of a pipe (Linux's `struct file` on `pipefifo_fops`): a reader, a writer, or
/// both (a FIFO opened `O_RDWR`). Counted in the pipe from creation until dropped.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    readable: bool,
    writable: bool,
    /// `f_version`: `POLLHUP` is shown only once the writer counter differs from it.
    hup_version: u64,
    /// For a blocking FIFO open: the partner awaited and its counter when the open began.
    wait_for: Option<(Partner, u64)>,
}

impl PipeEnd {
    /// The pipe's inode number (`pipe:[ino]` in `/proc/<pid>/fd`).
    pub fn ino(&self) -> u64 {
        self.pipe.ino
    }

    /// True for an end of an anonymous pipe (not a named FIFO).
    pub fn is_anonymous(&self) -> bool {
        !self.pipe.named
    }

    /// Bytes buffered now (`FIONREAD`).
    pub fn available(&self) -> usize {
        self.pipe.state.lock().available()
    }

    /// The capacity in bytes (`F_GETPIPE_SZ`).
    pub fn capacity(&self) -> usize {
        self.pipe.state.lock().max_slots.saturating_mul(PIPE_PAGE)
    }

    /// `F_SETPIPE_SZ` (`pipe_set_size`): rounds `size` up to a power-of-two number of pages
    /// (at least one); `EINVAL` above 2^31, `EPERM` above `pipe-max-size` unless
    /// `privileged`, `EBUSY` if the buffered data would not fit. Returns the new capacity.
    pub fn set_capacity(&self, size: u64, privileged: bool) -> KResult<usize> {
        let bytes = round_pipe_size(size).ok_or(Errno::EINVAL)?;
        if bytes > PIPE_MAX_SIZE && !privileged {
            return Err(Errno::EPERM);
        }
        let slots = bytes / PIPE_PAGE;
        self.pipe.update(false, |st| {
            if slots < st.slots.len() {
                return Err(Errno::EBUSY);
            }
            st.max_slots = slots;
            Ok(bytes)
        })
    }

    /// True while a blocking FIFO open must keep waiting for its partner (see the module
    /// doc): the awaited counter has not moved since the open began.
    pub fn must_wait(&self) -> bool {
        let Some((partner, snap)) = self.wait_for else { return false };
        let st = self.pipe.state.lock();
        match partner {
            Partner::Reader => st.r_counter == snap,
            Partner::Writer => st.w_counter == snap,
        }
    }
}

/// `round_pipe_size`: a page at least, else the next power of two; `None` above 2^31.
fn round_pipe_size(size: u64) -> Option<usize> {
    if size > 1 << 31 {
        return None;
    }
    let size = usize::try_from(size).ok()?;
    size.max(PIPE_PAGE).checked_next_power_of_two()
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let (r, w) = (self.readable, self.writable);
        self.pipe.update(true, |st| {
            if r {
                st.readers = st.readers.saturating_sub(1);
            }
            if w {
                st.writers = st.writers.saturating_sub(1);
            }
        });
    }
}

impl FileLike for PipeEnd {
    fn read(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        self.read_to(&mut VmWriter::from_slice(buf), offset)
    }

    fn write(&self, data: &[u8], offset: u64) -> KResult<usize> {
        self.write_from(&mut VmReader::from_slice(data), offset)
    }

    /// `pipe_read`: copies straight from the pipe's pages into the reader's buffers.
    fn read_to(&self, sink: &mut dyn IoSink, _offset: u64) -> KResult<usize> {
        if !self.readable {
            return Err(Errno::EBADF);
        }
        if sink.avail() == 0 {
            return Ok(0);
        }
        self.pipe.update(false, |st| {
            let had_data = !st.is_empty();
            match st.take(sink) {
                0 if had_data => Err(Errno::EFAULT),
                0 if st.writers > 0 => Err(Errno::EAGAIN),
                n => Ok(n),
            }
        })
    }

    /// `pipe_write`: copies straight from the writer's buffers into the pipe's pages.
    fn write_from(&self, source: &mut dyn IoSource, _offset: u64) -> KResult<usize> {
        if !self.writable {
            return Err(Errno::EBADF);
        }
        if source.remain() == 0 {
            return Ok(0);
        }
        let (n, was_empty) = self.pipe.update(false, |st| {
            if st.readers == 0 {
                return Err(Errno::EPIPE);
            }
            let was_empty = st.is_empty();
            let had_room = !st.is_full();
            match st.put(source) {
                0 if had_room => Err(Errno::EFAULT),
                0 => Err(Errno::EAGAIN),
                n => Ok((n, was_empty)),
            }
        })?;
        // Filling an empty pipe raised POLLIN above. Linux's pipe_write wakes readers on every
        // write while the pipe is polled ("epoll nonsensically wants a wakeup whether the pipe
        // was already empty or not"): an edge-triggered epoll reports each write.
        if !was_empty {
            self.pipe.pollee.notify(PollEvents::POLLIN | PollEvents::POLLRDNORM);
        }
        Ok(n)
    }

    fn poll(&self) -> PollEvents {
        let st = self.pipe.state.lock();
        let mut ev = PollEvents::empty();
        if self.readable {
            if !st.is_empty() {
                ev |= PollEvents::POLLIN | PollEvents::POLLRDNORM;
            }
            if st.writers == 0 && st.w_counter != self.hup_version {
                ev |= PollEvents::POLLHUP;
            }
        }
        if self.writable {
            if !st.is_full() {
                ev |= PollEvents::POLLOUT | PollEvents::POLLWRNORM;
            }
            if st.readers == 0 {
                ev |= PollEvents::POLLERR;
            }
        }
        ev
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.pipe.pollee)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> KResult<usize> {
        match cmd {
            FIONREAD => {
                let n = i32::try_from(self.available()).unwrap_or(i32::MAX);
                mem.write(arg, &n.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn stat(&self) -> Option<InodeAttr> {
        if self.pipe.named {
            return None;
        }
        let p = &self.pipe;
        let t = p.created;
        Some(InodeAttr {
            ino: p.ino,
            mode: S_IFIFO | 0o600,
            nlink: 1,
            uid: p.owner.0,
            gid: p.owner.1,
            blksize: PIPE_PAGE as u32,
            atime: t,
            mtime: t,
            ctime: t,
            dev: pipefs_dev(),
            ..InodeAttr::default()
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A new anonymous pipe owned by `owner` (uid, gid): (read end, write end).
fn anon_pipe(owner: (u32, u32), packet: bool) -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let pipe = Pipe::new(owner, packet, false);
    let r = pipe.open_end(true, false);
    let w = pipe.open_end(false, true);
    (Arc::new(r), Arc::new(w))
}

/// A new anonymous pipe owned by root: (read end, write end), as `create_pipe_files` makes.
pub fn new_pipe() -> (Arc<dyn FileLike>, Arc<dyn FileLike>) {
    let (r, w) = anon_pipe((0, 0), false);
    (r, w)
}

/// The pipe end behind an open file, if it is one (anonymous pipe or FIFO).
pub fn pipe_end(file: &OpenFile) -> Option<&PipeEnd> {
    file.file_like()?.as_any().downcast_ref::<PipeEnd>()
}

/// True if `file` is a pipe or FIFO (the kernel sends `SIGPIPE` on its `EPIPE`).
pub fn is_pipe(file: &OpenFile) -> bool {
    pipe_end(file).is_some()
}

/// True while a FIFO just opened in blocking mode must wait for its partner (see the module
/// doc for the protocol); false for everything else.
pub fn fifo_must_wait(file: &OpenFile) -> bool {
    pipe_end(file).is_some_and(PipeEnd::must_wait)
}

/// The blocking-open wait of a FIFO (`wait_for_partner`): call right after `open` returned
/// `file`. Returns at once for anything but a blocking FIFO open still missing its partner;
/// otherwise sleeps until the partner's counter moves. `ERESTARTSYS` if a signal comes first:
/// the caller then drops `file`, which uncounts its end.
pub fn wait_fifo_partner(cur: &mut Current, file: &Arc<OpenFile>) -> KResult<()> {
    let Some(end) = pipe_end(file) else { return Ok(()) };
    if !end.must_wait() {
        return Ok(());
    }
    crate::sched::wait_until(cur, &[&end.pipe.pollee], PollEvents::all(), None, |_| (!end.must_wait()).then_some(Ok(())))
}

/// `fcntl(F_GETPIPE_SZ/F_SETPIPE_SZ)` (`pipe_fcntl`): `None` for other commands; `EBADF` if
/// `file` is not a pipe. `privileged` is `CAP_SYS_RESOURCE` (euid 0 here).
pub fn pipe_fcntl(file: &OpenFile, cmd: u32, arg: u64, privileged: bool) -> Option<KResult<usize>> {
    if cmd != F_GETPIPE_SZ && cmd != F_SETPIPE_SZ {
        return None;
    }
    let Some(end) = pipe_end(file) else { return Some(Err(Errno::EBADF)) };
    Some(if cmd == F_GETPIPE_SZ { Ok(end.capacity()) } else { end.set_capacity(arg & 0xffff_ffff, privileged) })
}

/// Validates `pipe2` flags: `O_CLOEXEC`, `O_NONBLOCK`, `O_DIRECT`; anything else (including
/// `O_NOTIFICATION_PIPE`, which needs watch queues) is `EINVAL`.
fn pipe2_flags(flags: u32) -> KResult<OpenFlags> {
    let f = OpenFlags::from_bits(flags).ok_or(Errno::EINVAL)?;
    let allowed = OpenFlags::CLOEXEC | OpenFlags::NONBLOCK | OpenFlags::DIRECT;
    if !allowed.contains(f) {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

/// `pipe2(2)` (`do_pipe2`): creates a pipe and stores `[read_fd, write_fd]` at `fds`.
/// `EINVAL` for unknown flags, `EMFILE` when the table is full, `EFAULT` (with no descriptor
/// left open) when `fds` cannot be written.
pub fn sys_pipe2(cur: &mut Current, fds: UserAddr, flags: u32) -> KResult<usize> {
    let f = pipe2_flags(flags)?;
    let creds = cur.process().creds();
    let (r, w) = anon_pipe((creds.fsuid, creds.fsgid), f.contains(OpenFlags::DIRECT));
    let status = f & (OpenFlags::NONBLOCK | OpenFlags::DIRECT);
    let rf = OpenFile::new_anonymous(r, status);
    let wf = OpenFile::new_anonymous(w, OpenFlags::WRONLY | status);
    let fdflags = if f.contains(OpenFlags::CLOEXEC) { FdFlags::CLOEXEC } else { FdFlags::empty() };
    let table = cur.process().files();
    let (rfd, wfd) = {
        let mut t = table.lock();
        let rfd = t.alloc(rf, fdflags)?;
        match t.alloc(wf, fdflags) {
            Ok(wfd) => (rfd, wfd),
            Err(e) => {
                let closed = t.close(rfd);
                drop(t);
                crate::fs_glue::close_files(cur.pid(), closed);
                return Err(e);
            }
        }
    };
    if let Err(e) = cur.write_val(fds, &[rfd, wfd]) {
        let closed = {
            let mut t = table.lock();
            [t.close(rfd), t.close(wfd)]
        };
        crate::fs_glue::close_files(cur.pid(), closed.into_iter().flatten());
        return Err(e);
    }
    Ok(0)
}

/// `pipe(2)`: `pipe2` with no flags.
pub fn sys_pipe(cur: &mut Current, fds: UserAddr) -> KResult<usize> {
    sys_pipe2(cur, fds, 0)
}

/// The FIFO side of the device registry: one pipe per FIFO inode while any end is open.
#[derive(Default)]
pub struct FifoRegistry {
    pipes: KMutex<HashMap<InodeKey, Weak<Pipe>>>,
}

impl FifoRegistry {
    /// An empty registry.
    pub fn new() -> FifoRegistry {
        FifoRegistry::default()
    }

    /// The pipe of FIFO `key`, created on first open; forgets pipes whose ends are all gone.
    fn pipe_for(&self, key: InodeKey) -> Arc<Pipe> {
        let mut map = self.pipes.lock();
        map.retain(|_, p| p.strong_count() > 0);
        if let Some(p) = map.get(&key).and_then(Weak::upgrade) {
            return p;
        }
        let p = Pipe::new((0, 0), false, true);
        map.insert(key, Arc::downgrade(&p));
        p
    }

    /// The number of FIFOs with open ends (for tests and diagnostics).
    pub fn open_fifos(&self) -> usize {
        self.pipes.lock().values().filter(|p| p.strong_count() > 0).count()
    }
}

/// Opens an end of `pipe` as `fifo_open` does (see the module doc).
fn fifo_open(pipe: &Arc<Pipe>, flags: OpenFlags) -> KResult<PipeEnd> {
    let nonblock = flags.contains(OpenFlags::NONBLOCK);
    match flags.access_mode() {
        AccessMode::ReadOnly => {
            let mut end = pipe.open_end(true, false);
            let st = pipe.state.lock();
            if st.writers == 0 {
                if nonblock {
                    end.hup_version = st.w_counter;
                } else {
                    end.wait_for = Some((Partner::Writer, st.w_counter));
                }
            }
            drop(st);
            Ok(end)
        }
        AccessMode::WriteOnly => {
            if nonblock && pipe.state.lock().readers == 0 {
                return Err(Errno::ENXIO);
            }
            let mut end = pipe.open_end(false, true);
            let st = pipe.state.lock();
            if st.readers == 0 {
                end.wait_for = Some((Partner::Reader, st.r_counter));
            }
            drop(st);
            Ok(end)
        }
        AccessMode::ReadWrite => Ok(pipe.open_end(true, true)),
        AccessMode::IoctlOnly => Err(Errno::EINVAL),
    }
}

impl FifoOpen for FifoRegistry {
    fn open_fifo(&self, key: InodeKey, flags: OpenFlags) -> KResult<Arc<dyn FileLike>> {
        let pipe = self.pipe_for(key);
        let end = fifo_open(&pipe, flags)?;
        Ok(Arc::new(end))
    }
}

/// Installs the FIFO implementation in `vfs`'s device registry (call once at boot).
pub fn install_fifo_opener(vfs: &fs::Vfs) {
    vfs.devices().set_fifo_opener(Arc::new(FifoRegistry::new()));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn ends() -> (Arc<PipeEnd>, Arc<PipeEnd>) {
        anon_pipe((0, 0), false)
    }

    struct Counter(AtomicUsize);
    impl fs::Waker for Counter {
        fn wake(&self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn waiter(p: &PipeEnd, mask: PollEvents) -> Arc<Counter> {
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        let w: Arc<dyn fs::Waker> = c.clone();
        p.pollee().unwrap().register(Arc::downgrade(&w), mask);
        c // `c` keeps the allocation (and so the registration) alive
    }

    fn woken(c: &Counter) -> usize {
        c.0.load(Ordering::Relaxed)
    }

    #[test]
    fn pipe_read_write_and_eof() {
        let (r, w) = ends();
        let mut buf = [0u8; 16];
        assert_eq!(r.read(&mut buf, 0), Err(Errno::EAGAIN));
        assert_eq!(w.write(b"hello", 0), Ok(5));
        assert_eq!(w.write(b" world", 0), Ok(6));
        assert_eq!(r.read(&mut buf[..3], 0), Ok(3));
        assert_eq!(&buf[..3], b"hel");
        assert_eq!(r.read(&mut buf, 0), Ok(8));
        assert_eq!(&buf[..8], b"lo world");
        assert_eq!(w.write(b"tail", 0), Ok(4));
        drop(w);
        assert_eq!(r.read(&mut buf, 0), Ok(4), "data buffered before the close is still read");
        assert_eq!(r.read(&mut buf, 0), Ok(0), "EOF after the last writer");
        assert_eq!(r.read(&mut [], 0), Ok(0));
    }

    #[test]
    fn pipe_epipe_after_last_reader() {
        let (r, w) = ends();
        assert_eq!(w.write(&[], 0), Ok(0), "a zero-length write succeeds before any check");
        drop(r);
        assert_eq!(w.write(b"x", 0), Err(Errno::EPIPE));
        assert!(w.poll().contains(PollEvents::POLLERR));
    }

    #[test]
    fn pipe_capacity_byte_writes() {
        let (r, w) = ends();
        let mut n = 0;
        while w.write(b"x", 0).is_ok() {
            n += 1;
        }
        assert_eq!(n, DEFAULT_PIPE_SIZE);
        assert_eq!(w.write(b"x", 0), Err(Errno::EAGAIN));
        assert_eq!(r.available(), DEFAULT_PIPE_SIZE);
        assert_eq!(r.capacity(), 65536);
    }

    #[test]
    fn pipe_capacity_pages_and_partial_large_write() {
        let (r, w) = ends();
        let big = vec![7u8; 70_000];
        assert_eq!(w.write(&big, 0), Ok(DEFAULT_PIPE_SIZE), "a large write is partial");
        assert_eq!(w.write(&big, 0), Err(Errno::EAGAIN), "nothing fits: EAGAIN, not 0");
        let mut buf = vec![0u8; 100_000];
        assert_eq!(r.read(&mut buf, 0), Ok(DEFAULT_PIPE_SIZE), "a read drains across pages");
    }

    #[test]
    fn pipe_atomic_writes() {
        let (r, w) = ends();
        // One byte in the first page, then full pages: the small write used a whole slot.
        assert_eq!(w.write(b"a", 0), Ok(1));
        let page = vec![1u8; PIPE_BUF];
        for _ in 0..15 {
            assert_eq!(w.write(&page, 0), Ok(PIPE_BUF));
        }
        assert_eq!(w.write(&page, 0), Err(Errno::EAGAIN), "no free page: PIPE_BUF write refused whole");
        assert!(!w.poll().contains(PollEvents::POLLOUT));
        // The first page has room, but Linux merges only into the *last* page (full here).
        assert_eq!(w.write(b"bb", 0), Err(Errno::EAGAIN));
        let mut one = [0u8; 1];
        assert_eq!(r.read(&mut one, 0), Ok(1));
        assert!(w.poll().contains(PollEvents::POLLOUT), "a freed page makes POLLOUT");
        let odd = vec![2u8; 3000];
        assert_eq!(w.write(&odd, 0), Ok(3000), "fits whole in the freed page");
        assert_eq!(w.write(&odd, 0), Err(Errno::EAGAIN), "3000 more would split: refused");
        assert_eq!(w.write(&[3u8; 1096], 0), Ok(1096), "merges into the last page's room");
    }

    #[test]
    fn pipe_write_merge_of_remainder() {
        let (r, w) = ends();
        assert_eq!(w.write(&[1u8; 100], 0), Ok(100));
        // 4196 = 100 merged into the first page + one fresh page.
        assert_eq!(w.write(&[2u8; 4196], 0), Ok(4196));
        assert_eq!(r.pipe.state.lock().slots.len(), 2);
        let mut buf = vec![0u8; 8192];
        assert_eq!(r.read(&mut buf, 0), Ok(4296));
    }

    #[test]
    fn pipe_poll_events() {
        let (r, w) = ends();
        assert_eq!(r.poll(), PollEvents::empty());
        assert_eq!(w.poll(), PollEvents::POLLOUT | PollEvents::POLLWRNORM);
        w.write(b"z", 0).unwrap();
        assert_eq!(r.poll(), PollEvents::POLLIN | PollEvents::POLLRDNORM);
        drop(w);
        assert_eq!(r.poll(), PollEvents::POLLIN | PollEvents::POLLRDNORM | PollEvents::POLLHUP);
        let mut b = [0u8; 1];
        r.read(&mut b, 0).unwrap();
        assert_eq!(r.poll(), PollEvents::POLLHUP);
    }

    #[test]
    fn pipe_wakes_waiters() {
        let (r, w) = ends();
        let reader = waiter(&r, PollEvents::POLLIN);
        let writer = waiter(&w, PollEvents::POLLOUT);
        w.write(b"1", 0).unwrap();
        assert_eq!(woken(&reader), 1, "data arriving wakes readers");
        w.write(b"2", 0).unwrap();
        assert_eq!(woken(&reader), 2, "every write wakes readers, as Linux's (for epoll's edges)");
        assert_eq!(woken(&writer), 0);
        let big = vec![0u8; DEFAULT_PIPE_SIZE];
        let _ = w.write(&big, 0);
        assert_eq!(woken(&reader), 3);
        let mut buf = vec![0u8; 8192];
        r.read(&mut buf, 0).unwrap();
        assert_eq!(woken(&writer), 1, "space freed wakes writers");
        assert_eq!(woken(&reader), 3, "a read that leaves data wakes no reader");
        drop(w);
        assert_eq!(woken(&reader), 4, "the last writer's close wakes readers");
    }

    #[test]
    fn pipe_fstat_and_fionread() {
        struct Mem(Vec<u8>);
        impl UserMemory for Mem {
            fn read(&mut self, _a: u64, _b: &mut [u8]) -> KResult<()> {
                Err(Errno::EFAULT)
            }
            fn write(&mut self, a: u64, d: &[u8]) -> KResult<()> {
                assert_eq!(a, 0x1000);
                self.0 = d.to_vec();
                Ok(())
            }
        }
        let (r, w) = anon_pipe((1000, 100), false);
        w.write(b"12345", 0).unwrap();
        let mut m = Mem(Vec::new());
        assert_eq!(r.ioctl(FIONREAD, 0x1000, &mut m), Ok(0));
        assert_eq!(m.0, 5i32.to_le_bytes());
        assert_eq!(r.ioctl(0x5401, 0, &mut m), Err(Errno::ENOTTY));
        let a = r.stat().unwrap();
        assert_eq!(a.mode, S_IFIFO | 0o600);
        assert_eq!((a.uid, a.gid, a.nlink, a.blksize), (1000, 100, 1, 4096));
        assert_eq!(a.ino, w.stat().unwrap().ino);
        assert_eq!(a.dev, pipefs_dev());
        let (r2, _w2) = ends();
        assert_ne!(r2.ino(), r.ino());
        assert!(!r.seekable());
    }

    #[test]
    fn pipe_set_size() {
        let (r, w) = ends();
        let rf = OpenFile::new_anonymous(r.clone(), OpenFlags::RDONLY);
        assert_eq!(pipe_fcntl(&rf, F_GETPIPE_SZ, 0, false), Some(Ok(65536)));
        assert_eq!(pipe_fcntl(&rf, F_SETPIPE_SZ, 5000, false), Some(Ok(8192)));
        assert_eq!(pipe_fcntl(&rf, F_SETPIPE_SZ, 0, false), Some(Ok(4096)));
        assert_eq!(pipe_fcntl(&rf, F_SETPIPE_SZ, 2 << 20, false), Some(Err(Errno::EPERM)));
        assert_eq!(pipe_fcntl(&rf, F_SETPIPE_SZ, 2 << 20, true), Some(Ok(2 << 20)));
        assert_eq!(pipe_fcntl(&rf, F_SETPIPE_SZ, (1 << 31) + 1, true), Some(Err(Errno::EINVAL)));
        assert_eq!(pipe_fcntl(&rf, 1, 0, false), None);
        r.set_capacity(8192, false).unwrap();
        w.write(&[0u8; 8192], 0).unwrap();
        assert_eq!(w.write(b"x", 0), Err(Errno::EAGAIN));
        assert_eq!(r.set_capacity(4096, false), Err(Errno::EBUSY));
        let other = OpenFile::new_anonymous(Arc::new(fs::procfs::SeqFile::new(Vec::new())), OpenFlags::RDONLY);
        assert_eq!(pipe_fcntl(&other, F_GETPIPE_SZ, 0, false), Some(Err(Errno::EBADF)));
    }

    #[test]
    fn pipe_packet_mode() {
        let (r, w) = anon_pipe((0, 0), true);
        w.write(b"abc", 0).unwrap();
        w.write(b"defg", 0).unwrap();
        let mut buf = [0u8; 2];
        assert_eq!(r.read(&mut buf, 0), Ok(2), "a short read drops the packet's rest");
        assert_eq!(&buf, b"ab");
        let mut buf = [0u8; 16];
        assert_eq!(r.read(&mut buf, 0), Ok(4));
        assert_eq!(&buf[..4], b"defg");
    }

    #[test]
    fn pipe2_flag_validation() {
        assert!(pipe2_flags(0).is_ok());
        assert!(pipe2_flags(OpenFlags::CLOEXEC.bits() | OpenFlags::NONBLOCK.bits()).is_ok());
        assert_eq!(pipe2_flags(OpenFlags::EXCL.bits()), Err(Errno::EINVAL));
        assert_eq!(pipe2_flags(OpenFlags::RDWR.bits()), Err(Errno::EINVAL));
        assert_eq!(pipe2_flags(1 << 30), Err(Errno::EINVAL));
    }

    fn key() -> InodeKey {
        InodeKey { dev: 7, ino: 42 }
    }

    fn end_of(f: &Arc<dyn FileLike>) -> &PipeEnd {
        f.as_any().downcast_ref::<PipeEnd>().unwrap()
    }

    #[test]
    fn fifo_nonblocking_opens() {
        let reg = FifoRegistry::new();
        let wo = OpenFlags::WRONLY | OpenFlags::NONBLOCK;
        assert_eq!(reg.open_fifo(key(), wo).err(), Some(Errno::ENXIO), "no reader: ENXIO");
        let r = reg.open_fifo(key(), OpenFlags::NONBLOCK).unwrap();
        assert!(!end_of(&r).must_wait());
        assert_eq!(r.poll(), PollEvents::empty(), "no POLLHUP before any writer came");
        let mut b = [0u8; 4];
        assert_eq!(r.read(&mut b, 0), Ok(0), "no writer: EOF");
        let w = reg.open_fifo(key(), wo).unwrap();
        assert_eq!(w.write(b"hi", 0), Ok(2));
        assert_eq!(reg.open_fifo(InodeKey { dev: 7, ino: 43 }, OpenFlags::RDWR).map(|_| ()), Ok(()));
        drop(w);
        assert!(r.poll().contains(PollEvents::POLLHUP), "POLLHUP once a writer came and went");
        assert_eq!(r.read(&mut b, 0), Ok(2));
        assert_eq!(reg.open_fifo(key(), OpenFlags::ACCMODE).err(), Some(Errno::EINVAL));
        drop(r);
        assert_eq!(reg.open_fifos(), 0, "the pipe goes with its last end");
    }

    #[test]
    fn fifo_blocking_opens_wait_for_partner() {
        let reg = FifoRegistry::new();
        let r = reg.open_fifo(key(), OpenFlags::RDONLY).unwrap();
        assert!(end_of(&r).must_wait(), "a reader waits for a writer");
        let woke = waiter(end_of(&r), PollEvents::POLLIN);
        let w = reg.open_fifo(key(), OpenFlags::WRONLY).unwrap();
        assert!(!end_of(&w).must_wait(), "a reader is there: no wait");
        assert!(!end_of(&r).must_wait(), "the writer's arrival ends the wait");
        assert!(woken(&woke) >= 1);
        assert_eq!(w.write(b"data", 0), Ok(4));
        let mut b = [0u8; 8];
        assert_eq!(r.read(&mut b, 0), Ok(4));
        drop(r);
        assert_eq!(w.write(b"x", 0), Err(Errno::EPIPE));
        drop(w);

        let w = reg.open_fifo(key(), OpenFlags::WRONLY).unwrap();
        assert!(end_of(&w).must_wait(), "a writer waits for a reader");
        // A reader that comes and goes still releases the waiting writer (counter moved).
        drop(reg.open_fifo(key(), OpenFlags::RDONLY | OpenFlags::NONBLOCK).unwrap());
        assert!(!end_of(&w).must_wait());
        let rw = reg.open_fifo(key(), OpenFlags::RDWR).unwrap();
        assert!(!end_of(&rw).must_wait());
        assert_eq!(rw.write(b"self", 0), Ok(4));
        assert_eq!(rw.read(&mut b, 0), Ok(4));
        assert!(rw.stat().is_none(), "a FIFO's fstat shows its inode");
    }
}
