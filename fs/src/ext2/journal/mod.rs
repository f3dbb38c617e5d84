//! The ext3/ext4 journal (jbd2) in ordered mode, as Linux's `fs/jbd2` runs it for ext4.
//!
//! * [`format`]: the on-disk structures (journal superblock v1/v2, descriptor, commit and
//!   revoke blocks, v2/v3 checksums).
//! * [`recovery`]: replay on mount of a journal that needs recovery.
//! * [`Journal::commit`]: one transaction per commit. The running transaction is every dirty
//!   metadata block in the block cache (pinned there until it is committed) plus revoke records
//!   for metadata blocks freed meanwhile. A commit writes the dirty file data to its home
//!   first (ordered mode), then the log (revoke blocks, descriptors with metadata copies) and
//!   the journal superblock, a flush, the commit block, a flush; then it checkpoints
//!   (metadata to its home) without waiting. The journal superblock's tail (`s_start`,
//!   `s_sequence`) points at the previous transaction, whose checkpoint the first flush made
//!   durable — so a crash replays at most the last two transactions, and two flushes per commit
//!   suffice. When the log reaches the journal's end, and at unmount, every checkpoint is
//!   flushed and the journal marked empty (`s_start` = 0); the log then restarts at `s_first`.
//!   Blocks freed by a transaction are not reused before it commits, so replaying an older
//!   transaction never overwrites data of a newer one.
//! * [`orphan`]: the on-disk orphan list (`s_last_orphan` chained through `i_dtime`), kept while
//!   a journal is active and processed at mount, as ext3/ext4 do.
//!
//! Commits happen on `sync`/`fsync` (the filesystem's sync), from the 5-second write-back timer,
//! at unmount, and when the running transaction reaches a quarter of the journal (checked at
//! the end of every operation, as `jbd2_journal_stop` would start a commit).

pub mod format;
mod orphan;
pub mod recovery;

use std::collections::BTreeSet;
use std::sync::{Arc, MutexGuard};

use uapi::{Errno, KResult};

use super::raw::{get32, put32};
use super::superblock::{incompat, ro_compat};
use super::{checksum, Fs, MountError};
use crate::block::{BlockCache, BlockDevice};
use format::JournalSuperblock;
use recovery::{LogIo, RecoveryInfo};

/// Superblock offset of `s_journal_inum`.
const SB_JOURNAL_INUM: usize = 0xE0;

/// An open journal of a read-write mounted filesystem.
pub(crate) struct Journal {
    /// The physical filesystem block of each journal block.
    map: Vec<u64>,
    jsb: JournalSuperblock,
    dev: Arc<dyn BlockDevice>,
    bs: u64,
    /// The id the next transaction commits with.
    next_tid: u32,
    /// The log block the next transaction starts at.
    head: u32,
    /// Start block and id of the last committed transaction, while the journal superblock
    /// may still have to point at it (its checkpoint is not known to be durable).
    last_committed: Option<(u32, u32)>,
    /// Metadata blocks freed in the running transaction.
    revoked: BTreeSet<u64>,
    /// Every block freed in the running transaction: not reused before it commits, or a
    /// crash could leave the committed owner pointing at new contents (ext4 defers the reuse
    /// of freed blocks the same way).
    freed: BTreeSet<u64>,
}

/// Journal access for recovery: log blocks through the journal's block map, homes on the device.
struct DevIo<'a> {
    j: &'a Journal,
    fs_blocks: u64,
}

impl LogIo for DevIo<'_> {
    fn read_log(&mut self, n: u32) -> KResult<Vec<u8>> {
        self.j.read_block(n)
    }
    fn write_home(&mut self, blk: u64, data: &[u8]) -> KResult<()> {
        if blk >= self.fs_blocks {
            log::warn!("jbd2: journal block for home {blk} outside the filesystem; skipped");
            return Ok(());
        }
        self.j.dev.write_at(blk * self.j.bs, data)
    }
}

impl Journal {
    /// Opens the journal in inode `s_journal_inum` (`ext4_get_journal` + `jbd2_journal_load`
    /// minus recovery): maps its blocks and validates its superblock.
    fn open(fs: &mut Fs) -> Result<Journal, String> {
        let inum = get32(&fs.sb.raw, SB_JOURNAL_INUM);
        if inum == 0 {
            return Err("external journals are not supported".into());
        }
        let inode = fs.read_inode(inum).map_err(|e| format!("cannot read journal inode {inum}: {e}"))?;
        let bs = fs.bs();
        let nblocks = inode.size / bs;
        if nblocks < 1024 / bs.max(1) + 1 || nblocks > fs.sb.blocks_count {
            return Err(format!("journal inode {inum} has a bad size {}", inode.size));
        }
        let mut map = Vec::with_capacity(nblocks as usize);
        for l in 0..nblocks {
            match fs.map_block(inum, &inode, l) {
                Ok(Some(p)) => map.push(p),
                Ok(None) => return Err(format!("journal inode {inum} has a hole at block {l}")),
                Err(e) => return Err(format!("cannot map journal block {l}: {e}")),
            }
        }
        let dev = fs.cache.device().clone();
        let mut raw = vec![0u8; bs as usize];
        dev.read_at(map[0] * bs, &mut raw).map_err(|e| format!("cannot read the journal superblock: {e}"))?;
        let jsb = JournalSuperblock::parse(&raw, bs as u32)?;
        if jsb.maxlen as u64 > nblocks {
            return Err(format!("journal superblock claims {} blocks, the inode has {nblocks}", jsb.maxlen));
        }
        Ok(Journal {
            map,
            next_tid: jsb.sequence,
            head: jsb.first,
            last_committed: None,
            jsb,
            dev,
            bs,
            revoked: BTreeSet::new(),
            freed: BTreeSet::new(),
        })
    }

    fn read_block(&self, n: u32) -> KResult<Vec<u8>> {
        let p = *self.map.get(n as usize).ok_or(Errno::EIO)?;
        let mut b = vec![0u8; self.bs as usize];
        self.dev.read_at(p * self.bs, &mut b)?;
        Ok(b)
    }

    /// Writes journal blocks `(n, data)` (in log order), coalescing physically adjacent runs.
    fn write_blocks(&self, blocks: &[(u32, Vec<u8>)]) -> KResult<()> {
        let mut i = 0;
        while i < blocks.len() {
            let first = *self.map.get(blocks[i].0 as usize).ok_or(Errno::EIO)?;
            let mut buf = blocks[i].1.clone();
            let mut j = i + 1;
            while j < blocks.len() && self.map.get(blocks[j].0 as usize) == Some(&(first + (j - i) as u64)) {
                buf.extend_from_slice(&blocks[j].1);
                j += 1;
            }
            self.dev.write_at(first * self.bs, &buf)?;
            i = j;
        }
        Ok(())
    }

    fn write_superblock(&mut self) -> KResult<()> {
        let raw = self.jsb.to_raw();
        self.write_blocks(&[(0, raw)])
    }

    /// Log blocks available to one transaction.
    fn capacity(&self) -> usize {
        (self.jsb.maxlen - self.jsb.first) as usize
    }

    /// Dirty metadata blocks at which the running transaction is committed (a quarter of the
    /// journal, as jbd2's `j_max_transaction_buffers`).
    fn max_transaction(&self) -> usize {
        (self.capacity() / 4).max(8)
    }

    /// Replays the journal into the filesystem and empties it (`jbd2_journal_recover`).
    fn recover(&mut self, fs_blocks: u64) -> KResult<RecoveryInfo> {
        let jsb = self.jsb.clone();
        let info = recovery::recover(&jsb, &mut DevIo { j: self, fs_blocks })?;
        self.dev.sync()?;
        self.jsb.sequence = info.end_transaction.wrapping_add(1);
        self.jsb.start = 0;
        self.next_tid = self.jsb.sequence;
        self.write_superblock()?;
        self.dev.sync()?;
        Ok(info)
    }

    /// Empties a journal that holds transactions though the filesystem does not need recovery
    /// (`jbd2_journal_wipe`).
    fn wipe(&mut self) -> KResult<()> {
        log::warn!("jbd2: discarding recovery information on a journal the filesystem does not need");
        self.jsb.start = 0;
        self.write_superblock()?;
        self.dev.sync()
    }

    /// Records that metadata block `blk` was freed in the running transaction (a revoke
    /// record, when the journal has the revoke feature).
    fn revoke(&mut self, blk: u64) {
        if self.jsb.has_incompat(format::feature::INCOMPAT_REVOKE) {
            self.revoked.insert(blk);
        }
    }

    /// Whether the running transaction freed any block.
    pub(crate) fn has_freed(&self) -> bool {
        !self.freed.is_empty()
    }

    /// Whether block `blk` was freed by the running transaction (not to be reused yet).
    pub(crate) fn freed_uncommitted(&self, blk: u64) -> bool {
        self.freed.contains(&blk)
    }

    /// Commits the running transaction and checkpoints it (see the module documentation).
    pub(crate) fn commit(&mut self, cache: &mut BlockCache) -> KResult<()> {
        cache.write_dirty_data()?;
        let meta = cache.dirty_meta();
        self.revoked.retain(|b| meta.binary_search(b).is_err());
        if meta.is_empty() && self.revoked.is_empty() {
            self.freed.clear();
            return self.dev.sync();
        }
        let revokes: Vec<u64> = std::mem::take(&mut self.revoked).into_iter().collect();
        let tid = self.next_tid;
        let log = self.build_log(cache, tid, &meta, &revokes)?;
        if log.len() + 1 > self.capacity() {
            log::warn!("jbd2: a transaction of {} blocks does not fit the journal; written without it", log.len());
            cache.write_back(&meta)?;
            self.freed.clear();
            return self.dev.sync();
        }
        if self.head as usize + log.len() + 1 > self.jsb.maxlen as usize {
            self.wrap()?;
        }
        let start = self.head;
        let numbered: Vec<(u32, Vec<u8>)> = log.into_iter().enumerate().map(|(k, b)| (start + k as u32, b)).collect();
        let commit_pos = start + numbered.len() as u32;
        self.write_blocks(&numbered)?;
        // The log tail: the previous transaction, whose checkpoint this flush makes durable.
        let (tail, tail_tid) = self.last_committed.unwrap_or((start, tid));
        self.jsb.start = tail;
        self.jsb.sequence = tail_tid;
        self.write_superblock()?;
        self.dev.sync()?;
        let now = super::Fs::now();
        let commit = format::commit_block(&self.jsb, tid, now.sec.max(0) as u64, now.nsec);
        self.write_blocks(&[(commit_pos, commit)])?;
        self.dev.sync()?;
        log::debug!("jbd2: committed transaction {tid}: {} metadata blocks, {} revoked, log {start}..={commit_pos}", meta.len(), revokes.len());
        self.next_tid = tid.wrapping_add(1);
        self.head = commit_pos + 1;
        self.last_committed = Some((start, tid));
        self.freed.clear();
        crash_point_after_commit();
        // Checkpoint: the transaction's blocks to their homes, made durable by the next flush.
        cache.write_back(&meta)
    }

    /// Restarts the log at `s_first` once it reaches the journal's end: every checkpoint is
    /// made durable and the journal marked empty before old log blocks are overwritten.
    fn wrap(&mut self) -> KResult<()> {
        log::debug!("jbd2: log wraps to block {}", self.jsb.first);
        self.empty()?;
        self.head = self.jsb.first;
        Ok(())
    }

    /// Makes every checkpoint durable and marks the journal empty (`s_start` = 0), as at
    /// unmount (`jbd2_journal_destroy` → `jbd2_mark_journal_empty`).
    pub(crate) fn empty(&mut self) -> KResult<()> {
        self.dev.sync()?;
        self.jsb.start = 0;
        self.jsb.sequence = self.next_tid;
        self.write_superblock()?;
        self.dev.sync()?;
        self.last_committed = None;
        Ok(())
    }

    /// The log of transaction `tid`: revoke blocks, then descriptor blocks each followed by
    /// the (escaped) copies of the metadata blocks its tags name.
    fn build_log(&self, cache: &BlockCache, tid: u32, meta: &[u64], revokes: &[u64]) -> KResult<Vec<Vec<u8>>> {
        let mut log = format::revoke_blocks(&self.jsb, tid, revokes);
        let mut copies = Vec::with_capacity(meta.len());
        let mut sums = Vec::with_capacity(meta.len());
        let mut escaped = Vec::with_capacity(meta.len());
        for &b in meta {
            let data = cache.peek(b).ok_or(Errno::EIO)?;
            let (copy, esc) = format::escape(data);
            sums.push(format::block_tag_csum(&self.jsb, tid, &copy));
            copies.push(copy);
            escaped.push(esc);
        }
        let mut copies = copies.into_iter();
        for (desc, n) in format::descriptor_blocks(&self.jsb, tid, meta, &sums, &escaped) {
            log.push(desc);
            log.extend(copies.by_ref().take(n));
        }
        Ok(log)
    }
}

/// Crash-test hook: with `UMBRA_JBD2_CRASH_AFTER_COMMITS=N` in umbra's environment, umbra
/// dies (`abort`) right after the N-th commit block is durable and before its checkpoint,
/// leaving a journal that must be replayed. Tests use it to check the replay of real
/// transactions, by umbra and by e2fsck.
fn crash_point_after_commit() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    static COMMITS: AtomicU64 = AtomicU64::new(0);
    let limit = LIMIT.get_or_init(|| std::env::var("UMBRA_JBD2_CRASH_AFTER_COMMITS").ok().and_then(|v| v.parse().ok()));
    if let Some(n) = *limit {
        if COMMITS.fetch_add(1, Ordering::Relaxed) + 1 >= n {
            log::error!("jbd2: crash point after commit {n} reached; aborting");
            std::process::abort();
        }
    }
}

/// The lock on a filesystem held for one operation; dropping it ends the operation (a
/// `jbd2_journal_stop`), which commits the running transaction once it has grown too large.
pub(crate) struct OpGuard<'a>(pub(crate) MutexGuard<'a, Fs>);

impl std::ops::Deref for OpGuard<'_> {
    type Target = Fs;
    fn deref(&self) -> &Fs {
        &self.0
    }
}

impl std::ops::DerefMut for OpGuard<'_> {
    fn deref_mut(&mut self) -> &mut Fs {
        &mut self.0
    }
}

impl Drop for OpGuard<'_> {
    fn drop(&mut self) {
        let fs = &mut *self.0;
        let full = fs.journal.as_ref().is_some_and(|j| fs.cache.dirty_meta_count() >= j.max_transaction());
        if full {
            if let Err(e) = fs.sync() {
                log::warn!("jbd2: commit failed: {e}");
            }
        }
    }
}

impl Fs {
    /// Opens the journal of a `has_journal` filesystem at mount (`ext4_load_journal`). A
    /// filesystem that needs recovery has its journal replayed and `needs_recovery` cleared
    /// on the device; then `Ok(true)` says the caller must read the filesystem afresh. For a
    /// read-write mount the journal stays open, pins dirty metadata and marks the filesystem
    /// `needs_recovery` until unmount.
    pub(crate) fn load_journal(&mut self) -> Result<bool, MountError> {
        let err = |errno: Errno, m: String| MountError { errno, message: m };
        let needs_recovery = self.sb.has_incompat(incompat::RECOVER);
        let mut j = Journal::open(self).map_err(|m| err(Errno::EINVAL, format!("cannot mount: {m}")))?;
        if needs_recovery {
            if self.cache.device().read_only() {
                return Err(err(Errno::EROFS, "cannot mount: the journal needs recovery but the image is read-only".into()));
            }
            let info = j
                .recover(self.sb.blocks_count)
                .map_err(|e| err(e, format!("cannot mount: journal recovery failed ({e})")))?;
            log::info!(
                "jbd2: recovery complete: transactions {}..{}, {} blocks replayed, {} revoked",
                info.start_transaction,
                info.end_transaction,
                info.replayed,
                info.revoked
            );
            self.cache.clear();
            clear_needs_recovery(self.cache.device().as_ref())
                .map_err(|e| err(e, format!("cannot mount: cannot update the superblock after recovery ({e})")))?;
            return Ok(true);
        }
        if self.read_only {
            return Ok(false);
        }
        if j.jsb.start != 0 {
            j.wipe().map_err(|e| err(e, format!("cannot mount: cannot reset the journal ({e})")))?;
        }
        j.jsb.enable_revoke();
        // The journal keeps the filesystem consistent across a crash: no "unchecked" state.
        self.orig_state |= super::superblock::STATE_VALID;
        self.cache.set_journaled(true);
        self.journal = Some(j);
        set_incompat(self, self.sb.feature_incompat | incompat::RECOVER);
        self.sb_dirty = true;
        Ok(false)
    }

    /// Commits the running transaction, or flushes the cache without a journal.
    pub(crate) fn commit(&mut self) -> KResult<()> {
        match self.journal.as_mut() {
            Some(j) => j.commit(&mut self.cache),
            None => self.cache.flush(),
        }
    }

    /// Ends journaling at unmount, after the final commit (`jbd2_journal_destroy`, then
    /// `ext4_put_super` clearing `needs_recovery`): flushes every checkpoint, marks the journal
    /// empty, and only then writes the superblock without `needs_recovery`.
    pub(crate) fn close_journal(&mut self) -> KResult<()> {
        let Some(mut j) = self.journal.take() else { return Ok(()) };
        j.empty()?;
        self.cache.set_journaled(false);
        set_incompat(self, self.sb.feature_incompat & !incompat::RECOVER);
        self.sb_dirty = true;
        self.sync()
    }

    /// A block is being freed: if it holds dirty metadata of the running transaction, drop it
    /// and write a revoke record for it (`jbd2_journal_forget` + `jbd2_journal_revoke`).
    pub(crate) fn journal_forget(&mut self, blk: u64) {
        if let Some(j) = self.journal.as_mut() {
            j.freed.insert(blk);
            if self.cache.forget_meta(blk) {
                j.revoke(blk);
            }
        }
    }
}

/// Sets the superblock's INCOMPAT features (written with the next commit).
fn set_incompat(fs: &mut Fs, f: u32) {
    fs.sb.feature_incompat = f;
    put32(&mut fs.sb.raw, 0x60, f);
}

/// Clears `needs_recovery` in the superblock on `dev` (with its checksum), and syncs.
fn clear_needs_recovery(dev: &dyn BlockDevice) -> KResult<()> {
    let mut raw = [0u8; 1024];
    dev.read_at(1024, &mut raw)?;
    let f = get32(&raw, 0x60) & !incompat::RECOVER;
    put32(&mut raw, 0x60, f);
    if get32(&raw, 0x64) & ro_compat::METADATA_CSUM != 0 {
        let c = checksum::superblock(&raw);
        put32(&mut raw, 0x3FC, c);
    }
    dev.write_at(1024, &raw)?;
    dev.sync()
}
