//! Journal recovery, as Linux's `fs/jbd2/recovery.c` does it: three passes over the log from
//! `s_start` — PASS_SCAN finds the last complete transaction (sequence numbers match and the
//! commit block checks out), PASS_REVOKE collects revoke records, PASS_REPLAY writes every
//! logged block to its home unless a revoke record of the same or a later transaction covers
//! it. Data-block checksums (v2/v3 tags) are verified; a block that fails is skipped.

use std::collections::HashMap;

use uapi::{Errno, KResult};

use super::format::{self, blocktype, tag_flag, Header, JournalSuperblock};

/// Access to the journal for recovery: log blocks by journal block number, and the
/// filesystem's blocks by physical number.
pub trait LogIo {
    /// Reads journal block `n` (0 is the journal superblock).
    fn read_log(&mut self, n: u32) -> KResult<Vec<u8>>;
    /// Writes `data` to filesystem block `blk`.
    fn write_home(&mut self, blk: u64, data: &[u8]) -> KResult<()>;
}

/// What recovery found and did (`struct recovery_info`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryInfo {
    /// The first transaction replayed.
    pub start_transaction: u32,
    /// The first transaction not replayed (incomplete or absent).
    pub end_transaction: u32,
    /// Blocks written to their homes.
    pub replayed: usize,
    /// Blocks skipped because a revoke record covers them.
    pub revoked: usize,
    /// Blocks skipped because their tag checksum failed.
    pub bad_checksums: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Scan,
    Revoke,
    Replay,
}

/// `tid_geq`: `a` is `b` or later, with wrap-around.
fn tid_geq(a: u32, b: u32) -> bool {
    a.wrapping_sub(b) as i32 >= 0
}

struct Walker<'a> {
    jsb: &'a JournalSuperblock,
    io: &'a mut dyn LogIo,
    info: RecoveryInfo,
    /// Home block → the latest transaction that revoked it.
    revokes: HashMap<u64, u32>,
}

impl Walker<'_> {
    fn wrap(&self, n: u32) -> u32 {
        if n >= self.jsb.maxlen {
            self.jsb.first + (n - self.jsb.maxlen)
        } else {
            n
        }
    }

    fn advance(&self, n: u32, by: usize) -> u32 {
        let span = self.jsb.maxlen - self.jsb.first;
        self.wrap(n + (by as u32 % span.max(1)))
    }

    /// One pass over the log (`do_one_pass`).
    fn pass(&mut self, pass: Pass) -> KResult<()> {
        let mut tid = self.jsb.sequence;
        let mut pos = self.jsb.start;
        let mut walked = 0usize;
        loop {
            if pass != Pass::Scan && tid_geq(tid, self.info.end_transaction) {
                break;
            }
            walked += 1;
            if walked > self.jsb.maxlen as usize {
                break; // A log that never ends is corrupt; stop where it wraps onto itself.
            }
            let block = self.io.read_log(pos)?;
            let Some(h) = Header::parse(&block) else { break };
            if h.sequence != tid {
                break;
            }
            pos = self.advance(pos, 1);
            match h.blocktype {
                blocktype::DESCRIPTOR => {
                    if !format::tail_csum_ok(self.jsb, &block) {
                        if pass == Pass::Scan {
                            log::warn!("jbd2: descriptor block of transaction {tid} fails its checksum; log ends there");
                            break;
                        }
                        return Err(Errno::EUCLEAN);
                    }
                    let tags = format::parse_tags(self.jsb, &block);
                    if pass == Pass::Replay {
                        self.replay_tags(tid, pos, &tags)?;
                    }
                    pos = self.advance(pos, tags.len());
                }
                blocktype::COMMIT => {
                    if pass == Pass::Scan && !format::commit_csum_ok(self.jsb, &block) {
                        log::warn!("jbd2: commit block of transaction {tid} fails its checksum; not replayed");
                        break;
                    }
                    tid = tid.wrapping_add(1);
                }
                blocktype::REVOKE => {
                    if !format::tail_csum_ok(self.jsb, &block) {
                        if pass == Pass::Scan {
                            break;
                        }
                        log::warn!("jbd2: revoke block of transaction {tid} fails its checksum");
                        return Err(Errno::EUCLEAN);
                    }
                    if pass == Pass::Revoke {
                        for b in format::parse_revoke(self.jsb, &block) {
                            let e = self.revokes.entry(b).or_insert(tid);
                            if tid_geq(tid, *e) {
                                *e = tid;
                            }
                        }
                    }
                }
                _ => break,
            }
        }
        if pass == Pass::Scan {
            self.info.end_transaction = tid;
        }
        Ok(())
    }

    fn replay_tags(&mut self, tid: u32, first_data: u32, tags: &[format::Tag]) -> KResult<()> {
        let mut pos = first_data;
        for tag in tags {
            let data_pos = pos;
            pos = self.advance(pos, 1);
            if self.revokes.get(&tag.blocknr).is_some_and(|&r| tid_geq(r, tid)) {
                self.info.revoked += 1;
                continue;
            }
            let mut data = self.io.read_log(data_pos)?;
            if self.jsb.csum_v2or3() && format::block_tag_csum(self.jsb, tid, &data) != tag.checksum {
                log::warn!("jbd2: invalid checksum recovering block {} in transaction {tid}; skipped", tag.blocknr);
                self.info.bad_checksums += 1;
                continue;
            }
            if tag.flags & tag_flag::ESCAPE != 0 {
                format::put_be32(&mut data, 0, format::MAGIC);
            }
            self.io.write_home(tag.blocknr, &data)?;
            self.info.replayed += 1;
        }
        Ok(())
    }
}

/// Replays the committed transactions of the journal described by `jsb` into their home
/// blocks (`jbd2_journal_recover`). The caller syncs the device, then stores
/// `end_transaction + 1` as `s_sequence` and 0 as `s_start` (an empty journal).
pub fn recover(jsb: &JournalSuperblock, io: &mut dyn LogIo) -> KResult<RecoveryInfo> {
    let mut w = Walker {
        jsb,
        io,
        info: RecoveryInfo { start_transaction: jsb.sequence, end_transaction: jsb.sequence, ..Default::default() },
        revokes: HashMap::new(),
    };
    if jsb.start == 0 {
        return Ok(w.info);
    }
    w.pass(Pass::Scan)?;
    w.pass(Pass::Revoke)?;
    w.pass(Pass::Replay)?;
    Ok(w.info)
}

#[cfg(test)]
mod tests {
    use super::super::format::{self, blocktype, feature, test_jsb, Header};
    use super::*;

    /// A journal in memory and a filesystem of 64 blocks.
    struct Mem {
        log: Vec<Vec<u8>>,
        home: HashMap<u64, Vec<u8>>,
    }

    impl LogIo for Mem {
        fn read_log(&mut self, n: u32) -> KResult<Vec<u8>> {
            self.log.get(n as usize).cloned().ok_or(Errno::EIO)
        }
        fn write_home(&mut self, blk: u64, data: &[u8]) -> KResult<()> {
            self.home.insert(blk, data.to_vec());
            Ok(())
        }
    }

    /// Writes transaction `tid` at `pos` logging `blocks` (home, contents) and revoking
    /// `revoked`; `commit` says whether the commit block is written. Returns the next position.
    fn log_transaction(
        jsb: &format::JournalSuperblock,
        m: &mut Mem,
        mut pos: usize,
        tid: u32,
        blocks: &[(u64, Vec<u8>)],
        revoked: &[u64],
        commit: bool,
    ) -> usize {
        for rb in format::revoke_blocks(jsb, tid, revoked) {
            m.log[pos] = rb;
            pos += 1;
        }
        let homes: Vec<u64> = blocks.iter().map(|b| b.0).collect();
        let copies: Vec<(Vec<u8>, bool)> = blocks.iter().map(|b| format::escape(&b.1)).collect();
        let sums: Vec<u32> = copies.iter().map(|c| format::block_tag_csum(jsb, tid, &c.0)).collect();
        let esc: Vec<bool> = copies.iter().map(|c| c.1).collect();
        let mut k = 0;
        for (d, n) in format::descriptor_blocks(jsb, tid, &homes, &sums, &esc) {
            m.log[pos] = d;
            pos += 1;
            for c in &copies[k..k + n] {
                m.log[pos] = c.0.clone();
                pos += 1;
            }
            k += n;
        }
        if commit {
            m.log[pos] = format::commit_block(jsb, tid, 1, 0);
            pos += 1;
        }
        pos
    }

    fn setup(incompat: u32) -> (format::JournalSuperblock, Mem) {
        let mut jsb = test_jsb(1024, 64, incompat);
        jsb.start = 1;
        jsb.sequence = 10;
        let m = Mem { log: vec![vec![0u8; 1024]; 64], home: HashMap::new() };
        (jsb, m)
    }

    #[test]
    fn jbd2_recovery_replays_committed_transactions_only() {
        for inc in [feature::INCOMPAT_REVOKE, feature::INCOMPAT_REVOKE | feature::INCOMPAT_CSUM_V3 | feature::INCOMPAT_64BIT] {
            let (jsb, mut m) = setup(inc);
            let mut magic_block = vec![3u8; 1024];
            format::put_be32(&mut magic_block, 0, format::MAGIC);
            let p = log_transaction(&jsb, &mut m, 1, 10, &[(100, vec![1; 1024]), (101, magic_block.clone())], &[], true);
            let p = log_transaction(&jsb, &mut m, p, 11, &[(100, vec![2; 1024])], &[], true);
            log_transaction(&jsb, &mut m, p, 12, &[(102, vec![9; 1024])], &[], false);
            let info = recover(&jsb, &mut m).unwrap();
            assert_eq!(info.end_transaction, 12);
            assert_eq!(m.home[&100], vec![2; 1024]);
            assert_eq!(m.home[&101], magic_block, "escaped block restored");
            assert!(!m.home.contains_key(&102), "uncommitted transaction not replayed");
        }
    }

    #[test]
    fn jbd2_recovery_honours_revoke_records() {
        let (jsb, mut m) = setup(feature::INCOMPAT_REVOKE | feature::INCOMPAT_CSUM_V3);
        let p = log_transaction(&jsb, &mut m, 1, 10, &[(100, vec![1; 1024]), (101, vec![1; 1024])], &[], true);
        let p = log_transaction(&jsb, &mut m, p, 11, &[(102, vec![2; 1024])], &[100], true);
        log_transaction(&jsb, &mut m, p, 12, &[(101, vec![7; 1024])], &[101], false);
        let info = recover(&jsb, &mut m).unwrap();
        assert!(!m.home.contains_key(&100), "revoked by a later transaction");
        assert_eq!(m.home[&101], vec![1; 1024], "revoke of an uncommitted transaction ignored");
        assert_eq!(m.home[&102], vec![2; 1024]);
        assert_eq!(info.revoked, 1);
    }

    #[test]
    fn jbd2_recovery_stops_at_a_bad_commit_checksum_and_skips_bad_blocks() {
        let (jsb, mut m) = setup(feature::INCOMPAT_CSUM_V3);
        let p = log_transaction(&jsb, &mut m, 1, 10, &[(100, vec![1; 1024]), (101, vec![1; 1024])], &[], true);
        m.log[3][5] ^= 1; // the copy of block 101
        let q = log_transaction(&jsb, &mut m, p, 11, &[(102, vec![2; 1024])], &[], true);
        m.log[q - 1][200] ^= 1; // commit block of 11
        let info = recover(&jsb, &mut m).unwrap();
        assert_eq!((info.end_transaction, info.bad_checksums), (11, 1));
        assert_eq!(m.home[&100], vec![1; 1024]);
        assert!(!m.home.contains_key(&101) && !m.home.contains_key(&102));
    }

    #[test]
    fn jbd2_recovery_wraps_around_the_log_end() {
        let (mut jsb, mut m) = setup(feature::INCOMPAT_REVOKE);
        jsb.start = 62;
        Header { blocktype: blocktype::DESCRIPTOR, sequence: 10 }.write(&mut m.log[62]);
        let d = format::descriptor_blocks(&jsb, 10, &[100, 101], &[0, 0], &[false, false]);
        m.log[62] = d[0].0.clone();
        m.log[63] = vec![4; 1024];
        m.log[1] = vec![5; 1024];
        m.log[2] = format::commit_block(&jsb, 10, 1, 0);
        let info = recover(&jsb, &mut m).unwrap();
        assert_eq!(info.end_transaction, 11);
        assert_eq!((m.home[&100][0], m.home[&101][0]), (4, 5));
    }

    #[test]
    fn jbd2_empty_journal_needs_nothing() {
        let (mut jsb, mut m) = setup(0);
        jsb.start = 0;
        let info = recover(&jsb, &mut m).unwrap();
        assert_eq!((info.end_transaction, info.replayed), (10, 0));
    }
}
