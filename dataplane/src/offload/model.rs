//! The NIC model: an emulated flow table for offload experiments on any port, in every
//! build. It has a capacity, an insertion rate (insertions beyond it are refused), a
//! removal rate (removed rules free their entry at that pace), an insertion latency (a rule
//! matches packets that long after it is accepted) and injected refusals. Its counters are
//! [`ModelCells`], one per rule, written by the worker that owns the session (the emulated
//! hardware path: the packet is counted there and forwarded, without the session's
//! per-packet work) and read by the offload manager at its counter interval.
//!
//! What it measures: which sessions a policy offloads and when, the rule churn against a
//! table's limits, the share of packets and bytes that would bypass the software path, and
//! that counters and timeouts stay true. What it cannot: the cycles a real NIC saves (the
//! model's packets still cross the worker's parse and lookup), which only a NIC with
//! `rte_flow` measures, or the bench's cycles per packet estimates.

use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::VecDeque;
use std::sync::Arc;

use super::backend::{Capabilities, HwCounters, Installed, OffloadBackend, Rule};
use super::state::FailReason;
use svcard_config::ModelSettings;

/// One rule's counters: per canonical direction, packets and bytes.
#[derive(Debug, Default)]
struct Cell {
    packets: [AtomicU64; 2],
    bytes: [AtomicU64; 2],
}

/// The model's counters, one cell per rule, shared by the workers (each cell written by
/// the one worker whose session holds the rule) and the manager (reads).
#[derive(Debug)]
pub struct ModelCells {
    cells: Box<[Cell]>,
}

impl ModelCells {
    /// Cells for `capacity` rules.
    #[must_use]
    pub fn new(capacity: u32) -> ModelCells {
        ModelCells {
            cells: (0..capacity).map(|_| Cell::default()).collect(),
        }
    }

    /// Counts a packet of `len` bytes in direction `dir` (0 or 1) on rule `id`. Only the
    /// worker that owns the rule's session calls it: a plain load and store, no locked
    /// instruction.
    #[inline]
    pub fn count(&self, id: u32, dir: usize, len: u32) {
        if let Some(c) = self.cells.get(id as usize) {
            let d = dir & 1;
            let p = c.packets[d].load(Ordering::Relaxed);
            c.packets[d].store(p + 1, Ordering::Relaxed);
            let b = c.bytes[d].load(Ordering::Relaxed);
            c.bytes[d].store(b + u64::from(len), Ordering::Relaxed);
        }
    }

    /// Rule `id`'s counters.
    #[must_use]
    pub fn read(&self, id: u32) -> HwCounters {
        let Some(c) = self.cells.get(id as usize) else {
            return HwCounters::default();
        };
        HwCounters {
            packets: [
                c.packets[0].load(Ordering::Relaxed),
                c.packets[1].load(Ordering::Relaxed),
            ],
            bytes: [
                c.bytes[0].load(Ordering::Relaxed),
                c.bytes[1].load(Ordering::Relaxed),
            ],
        }
    }

    fn reset(&self, id: u32) {
        if let Some(c) = self.cells.get(id as usize) {
            for a in c.packets.iter().chain(c.bytes.iter()) {
                a.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Rules the cells hold.
    #[must_use]
    pub fn capacity(&self) -> u32 {
        self.cells.len() as u32 // fits: built from a u32
    }
}

/// The emulated NIC flow table.
#[derive(Debug)]
pub struct NicModel {
    settings: ModelSettings,
    cells: Arc<ModelCells>,
    /// Free entries (a stack).
    free: Vec<u32>,
    /// Removed entries and when each is free again.
    freeing: VecDeque<(u32, u64)>,
    /// When the last queued removal completes.
    last_free_us: u64,
    /// Insertion tokens, in millionths of a rule.
    tokens: u64,
    last_refill_us: u64,
    /// Insertions asked for (for `refuse_every`).
    asked: u64,
}

impl NicModel {
    /// A model with `settings`; its cells are shared with the workers ([`cells`](Self::cells)).
    #[must_use]
    pub fn new(settings: &ModelSettings) -> NicModel {
        let cap = settings.capacity;
        NicModel {
            cells: Arc::new(ModelCells::new(cap)),
            free: (0..cap).rev().collect(),
            freeing: VecDeque::new(),
            last_free_us: 0,
            tokens: Self::bucket(settings),
            last_refill_us: 0,
            asked: 0,
            settings: settings.clone(),
        }
    }

    /// The counter cells the workers write.
    #[must_use]
    pub fn cells(&self) -> Arc<ModelCells> {
        Arc::clone(&self.cells)
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &ModelSettings {
        &self.settings
    }

    /// The bucket holds 10 ms of insertions (at least one): a burst the size of a NIC's
    /// command queue, not a second's worth.
    fn bucket(s: &ModelSettings) -> u64 {
        (u64::from(s.insert_rate) / 100).max(1) * 1_000_000
    }

    fn refill(&mut self, now_us: u64) {
        let dt = now_us.saturating_sub(self.last_refill_us);
        self.last_refill_us = self.last_refill_us.max(now_us);
        let add = dt.saturating_mul(u64::from(self.settings.insert_rate));
        self.tokens = (self.tokens.saturating_add(add)).min(Self::bucket(&self.settings));
    }
}

impl OffloadBackend for NicModel {
    fn name(&self) -> &'static str {
        "model"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            forward: true,
            drop: true,
            count: true,
            age: false,
            mark: false,
            capacity: self.settings.capacity,
        }
    }

    fn insert(&mut self, _rule: &Rule, now_us: u64) -> Result<Installed, FailReason> {
        self.tick(now_us);
        self.asked += 1;
        let every = u64::from(self.settings.refuse_every);
        if every != 0 && self.asked.is_multiple_of(every) {
            return Err(FailReason::Refused);
        }
        self.refill(now_us);
        if self.tokens < 1_000_000 {
            return Err(FailReason::RateExceeded);
        }
        let Some(id) = self.free.pop() else {
            return Err(FailReason::TableFull);
        };
        self.tokens -= 1_000_000;
        self.cells.reset(id);
        Ok(Installed {
            id,
            active_at_us: now_us + u64::from(self.settings.insert_latency_us),
            partial: false,
        })
    }

    fn remove(&mut self, id: u32, now_us: u64) -> HwCounters {
        let last = self.cells.read(id);
        // Removals complete one after another at the removal rate.
        let gap = 1_000_000 / u64::from(self.settings.remove_rate.max(1));
        let at = self.last_free_us.max(now_us) + gap;
        self.last_free_us = at;
        self.freeing.push_back((id, at));
        last
    }

    fn counters(&self, id: u32) -> HwCounters {
        self.cells.read(id)
    }

    fn occupancy(&self) -> u32 {
        self.settings.capacity - self.free.len() as u32 // fits: free ≤ capacity
    }

    fn tick(&mut self, now_us: u64) {
        while let Some(&(id, at)) = self.freeing.front() {
            if at > now_us {
                break;
            }
            self.freeing.pop_front();
            self.free.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Direction, FlowKey};
    use crate::offload::backend::RuleAction;

    fn rule() -> Rule {
        Rule {
            session: 1,
            key: FlowKey::default(),
            initiator: Direction::AtoB,
            ingress: [0, 1],
            egress: [1, 0],
            action: RuleAction::Forward,
            idle_s: 60,
        }
    }

    fn settings(capacity: u32, rate: u32) -> ModelSettings {
        ModelSettings {
            preset: "test".into(),
            capacity,
            insert_rate: rate,
            remove_rate: rate,
            insert_latency_us: 30,
            refuse_every: 0,
        }
    }

    #[test]
    fn capacity_latency_and_counters() {
        let mut m = NicModel::new(&settings(2, 1_000_000));
        let a = m.insert(&rule(), 1000).unwrap();
        assert_eq!(a.active_at_us, 1030);
        let b = m.insert(&rule(), 1000).unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(m.insert(&rule(), 1000), Err(FailReason::TableFull));
        assert_eq!(m.occupancy(), 2);
        let cells = m.cells();
        cells.count(a.id, 0, 100);
        cells.count(a.id, 1, 60);
        cells.count(a.id, 1, 60);
        let c = m.counters(a.id);
        assert_eq!((c.packets, c.bytes), ([1, 2], [100, 120]));
        // Removal returns the final counters; the entry frees at the removal rate.
        assert_eq!(m.remove(a.id, 2000), c);
        assert_eq!(m.occupancy(), 2);
        m.tick(2000);
        assert_eq!(m.occupancy(), 2);
        m.tick(2001);
        assert_eq!(m.occupancy(), 1);
        // A reused entry starts from zero.
        let again = m.insert(&rule(), 3000).unwrap();
        assert_eq!(again.id, a.id);
        assert_eq!(m.counters(again.id), HwCounters::default());
    }

    #[test]
    fn insertion_rate_and_injected_refusals() {
        // 100 insertions a second: a bucket of one, then one every 10 ms.
        let mut m = NicModel::new(&settings(100, 100));
        assert!(m.insert(&rule(), 0).is_ok());
        assert_eq!(m.insert(&rule(), 1000), Err(FailReason::RateExceeded));
        assert!(m.insert(&rule(), 10_000).is_ok());
        let mut s = settings(100, 1_000_000);
        s.refuse_every = 3;
        let mut m = NicModel::new(&s);
        let results: Vec<bool> = (0..6).map(|i| m.insert(&rule(), i * 10).is_ok()).collect();
        assert_eq!(results, [true, true, false, true, true, false]);
    }
}
