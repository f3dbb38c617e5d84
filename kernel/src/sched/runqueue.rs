//! The run queue: which runnable task goes next. A small CFS with Linux's *autogroup*
//! (`CONFIG_SCHED_AUTOGROUP`): runnable tasks are grouped by session, the session group with
//! the least virtual runtime is chosen first, then its task with the least virtual runtime.
//! So a session that forks a thousand tasks shares the CPU with every other session as *one*
//! entity: a fork bomb cannot starve the shell that kills it from another session.
//!
//! Virtual runtime is running time scaled by the nice weight (Linux's `sched_prio_to_weight`);
//! groups all weigh as nice 0, as autogroups do by default. This module is pure data: the
//! `Cpu` feeds it times and tids.

use std::collections::{BTreeMap, BTreeSet};

/// Linux's `sched_prio_to_weight`, indexed by nice + 20.
const WEIGHTS: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991,
    1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
];

/// The weight of a nice value (nice 0 weighs 1024).
pub fn nice_weight(nice: i32) -> u64 {
    let i = usize::try_from(nice.clamp(-20, 19) + 20).unwrap_or(20);
    WEIGHTS.get(i).copied().unwrap_or(1024)
}

/// Virtual time that `ran_ns` of real time costs at weight `weight`.
pub fn scaled(ran_ns: u64, weight: u64) -> u64 {
    ran_ns.saturating_mul(1024) / weight.max(1)
}

/// A session's share of the CPU (Linux's `task_group` of an autogroup).
#[derive(Default)]
struct Group {
    /// The group's virtual runtime: the running time of all its tasks.
    vruntime: u64,
    /// Runnable tasks of the group, by (vruntime, tid).
    tasks: BTreeSet<(u64, u32)>,
    /// The smallest vruntime of a task the group has run (woken tasks are placed near it).
    min_vruntime: u64,
}

/// The runnable tasks of one CPU, grouped by session.
#[derive(Default)]
pub struct RunQueue {
    groups: BTreeMap<u32, Group>,
    /// Groups that have runnable tasks, by (group vruntime, session id).
    order: BTreeSet<(u64, u32)>,
    /// The smallest group vruntime chosen so far (a group that wakes is placed near it).
    min_group_vruntime: u64,
}

/// How far behind the queue a waking task or group may be placed (CFS's sleeper credit).
pub const SLEEPER_CREDIT: u64 = 4_000_000;

impl RunQueue {
    /// Number of runnable tasks.
    pub fn len(&self) -> usize {
        self.groups.values().map(|g| g.tasks.len()).sum()
    }

    /// True when no task is runnable.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The smallest task vruntime of session `sid` (0 for a session never seen).
    pub fn min_vruntime(&self, sid: u32) -> u64 {
        self.groups.get(&sid).map_or(0, |g| g.min_vruntime)
    }

    /// Where a task that wakes (or moves into session `sid`) is placed: no further behind the
    /// group's tasks than the sleeper credit, so a long sleep buys no monopoly.
    pub fn place_woken(&self, sid: u32, vruntime: u64) -> u64 {
        vruntime.max(self.min_vruntime(sid).saturating_sub(SLEEPER_CREDIT))
    }

    /// Makes task `tid` of session `sid` runnable with virtual runtime `vruntime`.
    pub fn enqueue(&mut self, sid: u32, tid: u32, vruntime: u64) {
        let floor = self.min_group_vruntime.saturating_sub(SLEEPER_CREDIT);
        let g = self.groups.entry(sid).or_default();
        if g.tasks.is_empty() {
            // The group wakes: place it as CFS places a woken entity.
            g.vruntime = g.vruntime.max(floor);
            self.order.insert((g.vruntime, sid));
        }
        g.tasks.insert((vruntime, tid));
    }

    /// Takes the next task to run: `(session, tid)`.
    pub fn pick(&mut self) -> Option<(u32, u32)> {
        let &(gv, sid) = self.order.iter().next()?;
        self.min_group_vruntime = self.min_group_vruntime.max(gv);
        let g = self.groups.get_mut(&sid)?;
        let first = g.tasks.iter().next().copied();
        let Some((v, tid)) = first else {
            self.order.remove(&(gv, sid));
            return None;
        };
        g.tasks.remove(&(v, tid));
        g.min_vruntime = g.min_vruntime.max(v);
        if g.tasks.is_empty() {
            self.order.remove(&(gv, sid));
        }
        Some((sid, tid))
    }

    /// Charges session `sid` for `ran_ns` of running time (its group vruntime advances).
    pub fn charge_group(&mut self, sid: u32, ran_ns: u64) {
        let Some(g) = self.groups.get_mut(&sid) else { return };
        let queued = !g.tasks.is_empty() && self.order.remove(&(g.vruntime, sid));
        g.vruntime = g.vruntime.saturating_add(ran_ns);
        if queued {
            self.order.insert((g.vruntime, sid));
        }
    }

    /// Forgets sessions that have no runnable task and fell far behind (keeps the map small).
    pub fn prune(&mut self) {
        let floor = self.min_group_vruntime.saturating_sub(SLEEPER_CREDIT);
        self.groups.retain(|_, g| !g.tasks.is_empty() || g.vruntime > floor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the queue for `slices` picks of 1 ms each, re-queueing every task; returns how many
    /// slices each session got.
    fn share(rq: &mut RunQueue, slices: usize) -> BTreeMap<u32, usize> {
        let mut got = BTreeMap::new();
        let mut v: BTreeMap<u32, u64> = BTreeMap::new();
        for _ in 0..slices {
            let Some((sid, tid)) = rq.pick() else { break };
            *got.entry(sid).or_insert(0) += 1;
            rq.charge_group(sid, 1_000_000);
            let nv = v.entry(tid).or_insert(0);
            *nv += scaled(1_000_000, 1024);
            rq.enqueue(sid, tid, *nv);
        }
        got
    }

    #[test]
    fn sessions_share_equally_whatever_their_task_count() {
        let mut rq = RunQueue::default();
        rq.enqueue(1, 1, 0);
        for tid in 100..1100 {
            rq.enqueue(7, tid, 0);
        }
        let got = share(&mut rq, 2000);
        assert!((900..=1100).contains(&got[&1]), "the lone shell got {:?}", got);
    }

    #[test]
    fn tasks_of_one_session_share_equally() {
        let mut rq = RunQueue::default();
        for tid in 1..=4 {
            rq.enqueue(1, tid, 0);
        }
        let mut per = BTreeMap::new();
        let mut v = BTreeMap::new();
        for _ in 0..400 {
            let (sid, tid) = rq.pick().unwrap_or_default();
            *per.entry(tid).or_insert(0) += 1;
            rq.charge_group(sid, 1);
            let nv: &mut u64 = v.entry(tid).or_insert(0);
            *nv += 10;
            rq.enqueue(sid, tid, *nv);
        }
        assert!(per.values().all(|&n| n == 100), "{per:?}");
    }

    #[test]
    fn weights_follow_linux() {
        assert_eq!(nice_weight(0), 1024);
        assert_eq!(nice_weight(19), 15);
        assert_eq!(nice_weight(-20), 88761);
        assert_eq!(nice_weight(100), 15);
        assert_eq!(scaled(1024, 1024), 1024);
    }
}
