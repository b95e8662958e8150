//! The CP session IDs of live sessions, indexed by the session's worker and slot: one
//! array entry a slot (grown to the highest slot seen), so recording a create and
//! forgetting a close cost one memory access each. A hash map of millions of entries took
//! two cache misses a lookup and most of the control core's time at 2.5M new sessions a
//! second (perf on a churn run: its probes were the hottest instructions of the control
//! core), which lost events it then had to reconcile.

use svcard_dataplane::session::{session_id, split_session_id, WorkerId};

/// A CP session ID, with what ties it to its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CpId {
    pub(crate) cp: u32,
    /// The session's start (seconds since start), from its create event.
    pub(crate) start_s: u32,
    /// The control core's event count when it was recorded.
    pub(crate) at_event: u64,
}

/// The table.
#[derive(Debug, Default)]
pub(super) struct CpIds {
    /// Per worker, per slot (`cp == 0`: none).
    by_worker: Vec<Vec<CpId>>,
    len: usize,
}

const EMPTY: CpId = CpId {
    cp: 0,
    start_s: 0,
    at_event: 0,
};

impl CpIds {
    fn at(&self, id: u32) -> Option<&CpId> {
        let (w, s) = split_session_id(id)?;
        self.by_worker.get(w.index())?.get(s as usize)
    }

    /// The CP ID recorded for session `id`.
    pub(super) fn get(&self, id: u32) -> Option<&CpId> {
        self.at(id).filter(|c| c.cp != 0)
    }

    /// Records `c` for session `id` (a CP ID is never 0).
    pub(super) fn insert(&mut self, id: u32, c: CpId) {
        let Some((w, s)) = split_session_id(id) else {
            return;
        };
        let (w, s) = (w.index(), s as usize);
        if self.by_worker.len() <= w {
            self.by_worker.resize_with(w + 1, Vec::new);
        }
        let v = &mut self.by_worker[w];
        if v.len() <= s {
            // Grown in steps, so a table filling slot by slot reallocates rarely.
            v.resize((s + 1).next_power_of_two().max(1024), EMPTY);
        }
        if v[s].cp == 0 {
            self.len += 1;
        }
        v[s] = c;
    }

    /// Forgets session `id`.
    pub(super) fn remove(&mut self, id: u32) {
        let Some((w, s)) = split_session_id(id) else {
            return;
        };
        if let Some(c) = self
            .by_worker
            .get_mut(w.index())
            .and_then(|v| v.get_mut(s as usize))
        {
            if c.cp != 0 {
                self.len -= 1;
            }
            *c = EMPTY;
        }
    }

    /// Keeps the sessions `keep(id, cp)` says.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(u32, &CpId) -> bool) {
        for (w, v) in self.by_worker.iter_mut().enumerate() {
            let wk = WorkerId::from_index(w).unwrap_or_default();
            for (s, c) in v.iter_mut().enumerate() {
                let slot = u32::try_from(s).unwrap_or(u32::MAX);
                if c.cp != 0 && !keep(session_id(wk, slot), c) {
                    *c = EMPTY;
                    self.len -= 1;
                }
            }
        }
    }

    /// Sessions with a CP ID.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_forgets_and_keeps_by_worker_and_slot() {
        let mut t = CpIds::default();
        let id = |w: u16, s: u32| session_id(WorkerId(w), s);
        let cp = |n: u32| CpId {
            cp: n,
            start_s: n,
            at_event: 0,
        };
        t.insert(id(0, 5), cp(10));
        t.insert(id(1, 70_000), cp(11));
        t.insert(id(0, 5), cp(12));
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(id(0, 5)).map(|c| c.cp), Some(12));
        assert_eq!(t.get(id(1, 70_000)).map(|c| c.cp), Some(11));
        assert!(t.get(id(0, 6)).is_none() && t.get(id(3, 1)).is_none() && t.get(0).is_none());
        t.retain(|i, _| i != id(1, 70_000));
        assert_eq!(t.len(), 1);
        assert!(t.get(id(1, 70_000)).is_none());
        t.remove(id(0, 5));
        t.remove(id(0, 5));
        assert_eq!(t.len(), 0);
        assert!(t.get(id(0, 5)).is_none());
    }
}
