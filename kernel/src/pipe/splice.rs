//! The pipe-buffer side of `splice`, `tee` and `vmsplice` (Linux's `fs/splice.c` helpers that
//! work on `pipe_inode_info`): adding pieces as buffers of their own, looking at and consuming
//! what is buffered, and moving or copying buffers from one pipe to another. None of these
//! block; the waiting (`wait_for_space`, `ipipe_prep`, `opipe_prep`) is `crate::splice`'s.
//!
//! Buffers keep their identity as Linux's do: a spliced piece is one buffer that later writes
//! never merge into (no `PIPE_BUF_FLAG_CAN_MERGE`); `splice` between pipes moves whole buffers
//! (keeping their flags) and splits the last one; `tee` copies buffers without their merge flag.

use std::sync::Arc;

use fs::PollEvents;
use uapi::{Errno, KResult};

use super::{Pipe, PipeEnd, PipeState, Slot};

impl PipeState {
    fn free_slots(&self) -> usize {
        self.max_slots.saturating_sub(self.slots.len())
    }
}

impl PipeEnd {
    /// The number of free buffers (`EPIPE` if no reader is left): a splice into the pipe may
    /// add that many pieces.
    pub fn splice_space(&self) -> KResult<usize> {
        let st = self.pipe.state.lock();
        if st.readers == 0 {
            return Err(Errno::EPIPE);
        }
        Ok(st.free_slots())
    }

    /// True if nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.pipe.state.lock().is_empty()
    }

    /// True if every buffer is in use.
    pub fn is_full(&self) -> bool {
        self.pipe.state.lock().is_full()
    }

    /// True while some end can write into the pipe.
    pub fn has_writers(&self) -> bool {
        self.pipe.state.lock().writers > 0
    }

    /// True while some end can read from the pipe.
    pub fn has_readers(&self) -> bool {
        self.pipe.state.lock().readers > 0
    }

    /// True if both ends belong to the same pipe.
    pub fn same_pipe(&self, other: &PipeEnd) -> bool {
        Arc::ptr_eq(&self.pipe, &other.pipe)
    }

    /// Adds `pieces` as buffers of their own (Linux's `add_to_pipe` per piece) while buffers
    /// are free; returns the bytes added. `EPIPE` if no reader is left; `EAGAIN` if nothing fit.
    pub fn push_pieces(&self, pieces: &[&[u8]]) -> KResult<usize> {
        self.pipe.update(false, |st| {
            if st.readers == 0 {
                return Err(Errno::EPIPE);
            }
            let mut done = 0;
            for piece in pieces.iter().filter(|p| !p.is_empty()) {
                if st.is_full() {
                    break;
                }
                st.slots.push_back(Slot { data: piece.to_vec(), off: 0, packet: false, merge: false });
                done += piece.len();
            }
            if done == 0 && pieces.iter().any(|p| !p.is_empty()) {
                return Err(Errno::EAGAIN);
            }
            Ok(done)
        })
    }

    /// A copy of up to `max` buffered bytes, from the oldest buffer on, without consuming
    /// them (what `iter_file_splice_write` hands the file).
    pub fn peek(&self, max: usize) -> Vec<u8> {
        let st = self.pipe.state.lock();
        let mut out = Vec::new();
        for slot in &st.slots {
            if out.len() >= max {
                break;
            }
            let n = slot.unread().min(max - out.len());
            out.extend_from_slice(&slot.data[slot.off..slot.off + n]);
        }
        out
    }

    /// Drops the first `n` buffered bytes (those a splice passed on), freeing emptied buffers.
    pub fn consume(&self, n: usize) {
        self.pipe.update(false, |st| {
            let mut left = n;
            while left > 0 {
                let Some(slot) = st.slots.front_mut() else { break };
                let k = slot.unread().min(left);
                slot.off += k;
                left -= k;
                if slot.unread() == 0 {
                    st.slots.pop_front();
                }
            }
        });
    }

    /// One pass of Linux's `splice_pipe_to_pipe` after both pipes were found ready: moves up to
    /// `len` bytes of whole buffers from this pipe into `out` (splitting the last one), while
    /// `out` has room. `EPIPE` if `out` has no reader (the caller sends SIGPIPE).
    pub fn move_into(&self, out: &PipeEnd, len: usize) -> KResult<usize> {
        Pipe::update_two(&self.pipe, &out.pipe, |src, dst| {
            if dst.readers == 0 {
                return Err(Errno::EPIPE);
            }
            let mut done = 0;
            while done < len && !dst.is_full() {
                let Some(front) = src.slots.front_mut() else { break };
                let want = len - done;
                if want >= front.unread() {
                    let Some(whole) = src.slots.pop_front() else { break };
                    done += whole.unread();
                    dst.slots.push_back(whole);
                } else {
                    let piece = front.data[front.off..front.off + want].to_vec();
                    front.off += want;
                    done += want;
                    dst.slots.push_back(Slot { data: piece, off: 0, packet: false, merge: false });
                }
            }
            Ok(done)
        })
    }

    /// Linux's `link_pipe` (`tee`): copies up to `len` bytes of this pipe's buffers, oldest
    /// first, into `out` while it has room, consuming nothing. `EPIPE` if `out` has no reader.
    pub fn copy_into(&self, out: &PipeEnd, len: usize) -> KResult<usize> {
        Pipe::update_two(&self.pipe, &out.pipe, |src, dst| {
            if dst.readers == 0 {
                return Err(Errno::EPIPE);
            }
            let mut done = 0;
            for slot in &src.slots {
                if done >= len || dst.is_full() {
                    break;
                }
                let n = slot.unread().min(len - done);
                let piece = slot.data[slot.off..slot.off + n].to_vec();
                dst.slots.push_back(Slot { data: piece, off: 0, packet: false, merge: false });
                done += n;
            }
            Ok(done)
        })
    }
}

impl Pipe {
    /// [`Pipe::update`] over two different pipes at once (the caller checked they differ).
    fn update_two<R>(a: &Pipe, b: &Pipe, f: impl FnOnce(&mut PipeState, &mut PipeState) -> R) -> R {
        let (r, ev_a, ev_b) = {
            let mut sa = a.state.lock();
            let mut sb = b.state.lock();
            let r = f(&mut sa, &mut sb);
            (r, sa.events(), sb.events())
        };
        a.publish(ev_a);
        b.publish(ev_b);
        r
    }

    /// Moves the pollee to the pipe's new events, waking those that became true.
    fn publish(&self, new: PollEvents) {
        let old = self.pollee.events();
        self.pollee.del_events(old - new);
        let raised = new - old;
        if !raised.is_empty() {
            self.pollee.add_events(raised);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::anon_pipe;
    use super::*;
    use fs::FileLike;

    #[test]
    fn spliced_pieces_are_buffers_writes_do_not_merge_into() {
        let (r, w) = anon_pipe((0, 0), false);
        assert_eq!(w.push_pieces(&[b"ab", b"cd"]), Ok(4));
        assert_eq!(r.pipe.state.lock().slots.len(), 2);
        assert_eq!(w.write(b"e", 0), Ok(1));
        assert_eq!(r.pipe.state.lock().slots.len(), 3, "no merge into a spliced piece");
        assert_eq!(r.peek(3), b"abc");
        r.consume(3);
        let mut b = [0u8; 8];
        assert_eq!(r.read(&mut b, 0), Ok(2));
        assert_eq!(&b[..2], b"de");
        let many: Vec<&[u8]> = (0..20).map(|_| &b"x"[..]).collect();
        assert_eq!(w.push_pieces(&many), Ok(16), "one buffer per piece: 16 fit");
        assert_eq!(w.push_pieces(&[b"y"]), Err(Errno::EAGAIN));
        assert_eq!(w.splice_space(), Ok(0));
        drop(r);
        assert_eq!(w.splice_space(), Err(Errno::EPIPE));
    }

    #[test]
    fn move_and_copy_between_pipes() {
        let (r1, w1) = anon_pipe((0, 0), false);
        let (r2, w2) = anon_pipe((0, 0), false);
        w1.write(b"hello", 0).unwrap();
        w1.write(&[b'x'; 5000], 0).unwrap();
        assert_eq!(r1.copy_into(&w2, 3), Ok(3));
        assert_eq!(r1.copy_into(&w2, 100), Ok(100), "tee copies from the start again");
        assert_eq!(r2.peek(200).len(), 103);
        r2.consume(103);
        assert_eq!(r1.move_into(&w2, 4097), Ok(4097), "a whole first buffer, then a split");
        assert_eq!(r2.peek(10), b"hellox".iter().copied().chain([b'x'; 4]).collect::<Vec<u8>>());
        assert_eq!(r1.available(), 5005 - 4097);
        assert!(!r1.same_pipe(&w2) && r1.same_pipe(&w1));
        drop(r2);
        assert_eq!(r1.move_into(&w2, 1), Err(Errno::EPIPE));
    }
}
