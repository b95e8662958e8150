//! A hashed timer wheel with intrusive links.
//!
//! The wheel owns only its slot heads; the `next`/`prev` links of every entry live in the
//! owner's records (the sessions) and are reached through [`Links`]. There is no timer work
//! per packet: the owner schedules an entry once with a deadline and, when the entry's slot
//! fires, the owner's callback decides whether it really expired or must be rescheduled
//! (because its last-seen time moved or its timeout changed).
//!
//! # Contract
//!
//! * Slot `k` ahead of the current one covers `[base + k·tick, base + (k+1)·tick)`; it fires
//!   at the first [`advance`](TimerWheel::advance) whose `now` is at or past the end of that
//!   interval, so an entry is offered no later than `deadline + tick` (plus whatever delay
//!   the `budget` of `advance` imposes).
//! * Deadlines at or before the last `now` seen go to a due list offered at the next
//!   `advance`.
//! * Deadlines beyond the horizon (`slots × tick`) go into the farthest slot and are offered
//!   when it fires, *before* their deadline. The wheel stores nothing per entry, so **the
//!   owner re-checks every offered entry** and answers [`Fired::Reschedule`] when it is not
//!   due yet. An owner that does this never expires anything early.
//! * A slot's list is detached before it is walked, so entries rescheduled while it is
//!   processed are not offered twice in one pass; entries rescheduled into the past during an
//!   `advance` wait for the next call.
//! * Time is a wrapping `u32` of milliseconds; differences below 2^31 count as forward.
//!   `advance` must be called at least every 2^31 ms (24 days).
//!
//! Link encoding: `next` is an entry id or [`NIL`]; `prev` is an entry id, or
//! `HEAD | list index` when the entry is first in a list (so `cancel` is O(1)), or [`NIL`]
//! when the entry is not scheduled. Entry ids must be below 2^31.

/// "No entry" in a link.
pub const NIL: u32 = u32::MAX;
/// Marks a `prev` link that names a list head rather than an entry.
const HEAD: u32 = 0x8000_0000;
/// Largest forward difference between two wrapping times.
const HALF: u32 = 0x8000_0000;

/// Default slot count of a shard's wheel.
pub const DEFAULT_SLOTS: usize = 4096;
/// Default tick of a shard's wheel, milliseconds.
pub const DEFAULT_TICK_MS: u32 = 100;

/// Access to the intrusive links of the wheel's entries (stored by the owner).
pub trait Links {
    /// The `next` link of entry `id`.
    fn next(&self, id: u32) -> u32;
    /// The `prev` link of entry `id`.
    fn prev(&self, id: u32) -> u32;
    /// Set the `next` link of entry `id`.
    fn set_next(&mut self, id: u32, v: u32);
    /// Set the `prev` link of entry `id`.
    fn set_prev(&mut self, id: u32, v: u32);
    /// Told by [`TimerWheel::advance`], as it offers an entry, which entries of the same
    /// list it will offer next: `next`, then `after` (either may be [`NIL`]). An owner
    /// whose records are cold in memory prefetches them here: the list is a chain of
    /// dependent loads. The default does nothing.
    #[inline]
    fn upcoming(&self, next: u32, after: u32) {
        let _ = (next, after);
    }
}

/// The owner's verdict on an offered entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// The entry expired: the wheel forgets it (and does not touch its links again).
    Expire,
    /// Not due: schedule again at this deadline (milliseconds, wrapping).
    Reschedule(u32),
}

/// The hashed timer wheel.
#[derive(Debug)]
pub struct TimerWheel {
    /// `slots` wheel slots, then the due list, then the list being processed.
    heads: Box<[u32]>,
    /// `slots - 1`.
    mask: u32,
    /// Tick, milliseconds.
    tick_ms: u32,
    /// Start time of the current slot's interval.
    base_ms: u32,
    /// The current slot (the next to fire).
    cur: u32,
    /// The latest `now` seen.
    last_now: u32,
    /// Scheduled entries (including those waiting in the due and pending lists).
    count: usize,
}

impl TimerWheel {
    /// A wheel of `slots` slots (rounded up to a power of two, at least 1) of `tick_ms`
    /// milliseconds (at least 1) each, starting at `now_ms`.
    #[must_use]
    pub fn new(slots: usize, tick_ms: u32, now_ms: u32) -> Self {
        let slots = slots.clamp(1, 1 << 30).next_power_of_two();
        TimerWheel {
            heads: vec![NIL; slots + 2].into_boxed_slice(),
            mask: (slots - 1) as u32,
            tick_ms: tick_ms.max(1),
            base_ms: now_ms,
            cur: 0,
            last_now: now_ms,
            count: 0,
        }
    }

    #[inline]
    fn due_list(&self) -> u32 {
        self.mask + 1
    }

    #[inline]
    fn pending_list(&self) -> u32 {
        self.mask + 2
    }

    /// Slot count.
    #[must_use]
    pub fn slots(&self) -> usize {
        self.mask as usize + 1
    }

    /// Tick, milliseconds.
    #[must_use]
    pub fn tick_ms(&self) -> u32 {
        self.tick_ms
    }

    /// Scheduled entries.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// No entry scheduled.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the wheel allocated.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.heads.len() * core::mem::size_of::<u32>()
    }

    #[inline]
    fn head(&self, list: u32) -> u32 {
        self.heads.get(list as usize).copied().unwrap_or(NIL)
    }

    #[inline]
    fn set_head(&mut self, list: u32, v: u32) {
        if let Some(h) = self.heads.get_mut(list as usize) {
            *h = v;
        }
    }

    /// The list a deadline belongs to.
    #[inline]
    fn list_for(&self, deadline_ms: u32) -> u32 {
        if deadline_ms.wrapping_sub(self.last_now).wrapping_sub(1) >= HALF - 1 {
            // At or before the last `now` (or more than 2^31 ahead, i.e. in the past).
            return self.due_list();
        }
        // Forward of last_now, hence of base (base <= last_now).
        let ahead = deadline_ms.wrapping_sub(self.base_ms) / self.tick_ms;
        let ahead = ahead.min(self.mask);
        (self.cur + ahead) & self.mask
    }

    #[inline]
    fn push<L: Links>(&mut self, links: &mut L, list: u32, id: u32) {
        let first = self.head(list);
        links.set_next(id, first);
        links.set_prev(id, HEAD | list);
        if first != NIL {
            links.set_prev(first, id);
        }
        self.set_head(list, id);
    }

    /// Schedule entry `id` (not currently scheduled) at `deadline_ms`. A deadline at or
    /// before the latest `now` fires at the next [`advance`](Self::advance).
    #[inline]
    pub fn schedule<L: Links>(&mut self, links: &mut L, id: u32, deadline_ms: u32) {
        debug_assert!(id < HEAD, "wheel ids must be below 2^31");
        debug_assert_eq!(links.prev(id), NIL, "entry {id} is already scheduled");
        let list = self.list_for(deadline_ms);
        self.push(links, list, id);
        self.count += 1;
    }

    /// Unschedule entry `id` in O(1). An entry that is not scheduled (`prev` is [`NIL`]) is
    /// left alone. Afterwards both links of `id` are [`NIL`].
    #[inline]
    pub fn cancel<L: Links>(&mut self, links: &mut L, id: u32) {
        let prev = links.prev(id);
        if prev == NIL {
            return;
        }
        let next = links.next(id);
        if prev & HEAD != 0 {
            self.set_head(prev & !HEAD, next);
        } else {
            links.set_next(prev, next);
        }
        if next != NIL {
            links.set_prev(next, prev);
        }
        links.set_next(id, NIL);
        links.set_prev(id, NIL);
        self.count = self.count.saturating_sub(1);
    }

    /// Move list `from` to the empty list `to` (O(1)).
    #[inline]
    fn move_list<L: Links>(&mut self, links: &mut L, from: u32, to: u32) {
        let first = self.head(from);
        if first != NIL {
            links.set_prev(first, HEAD | to);
        }
        self.set_head(to, first);
        self.set_head(from, NIL);
    }

    /// Unlink the first entry of `list`; its links become [`NIL`].
    #[inline]
    fn pop<L: Links>(&mut self, links: &mut L, list: u32) -> u32 {
        let id = self.head(list);
        if id == NIL {
            return NIL;
        }
        let next = links.next(id);
        self.set_head(list, next);
        if next != NIL {
            links.set_prev(next, HEAD | list);
        }
        links.set_next(id, NIL);
        links.set_prev(id, NIL);
        id
    }

    /// Advance to `now_ms`, offering at most `budget` entries to `fired`. Each offered entry
    /// is unlinked (links [`NIL`]) before the callback runs, so the callback may reuse its
    /// links (e.g. free the record) when it answers [`Fired::Expire`]; on
    /// [`Fired::Reschedule`] the wheel schedules it again. Returns how many entries were
    /// offered; when that equals `budget`, work may remain and the next call continues
    /// where this one stopped (nothing is skipped or offered early by the wheel). A `now_ms`
    /// behind the latest seen is treated as the latest.
    pub fn advance<L: Links>(
        &mut self,
        links: &mut L,
        now_ms: u32,
        budget: usize,
        mut fired: impl FnMut(&mut L, u32) -> Fired,
    ) -> usize {
        if now_ms.wrapping_sub(self.last_now) < HALF {
            self.last_now = now_ms;
        }
        let now = self.last_now;
        let pending = self.pending_list();
        let due = self.due_list();
        let mut done = 0usize;
        let mut due_taken = false;
        let lap = u64::from(self.mask + 1) * u64::from(self.tick_ms);
        loop {
            while self.head(pending) != NIL {
                if done >= budget {
                    return done;
                }
                let id = self.pop(links, pending);
                done += 1;
                let next = self.head(pending);
                if next != NIL {
                    // Its links were just written by `pop`: reading them costs nothing.
                    links.upcoming(next, links.next(next));
                }
                match fired(links, id) {
                    Fired::Expire => self.count = self.count.saturating_sub(1),
                    Fired::Reschedule(d) => {
                        let list = self.list_for(d);
                        self.push(links, list, id);
                    }
                }
            }
            if !due_taken {
                due_taken = true;
                if self.head(due) != NIL {
                    self.move_list(links, due, pending);
                    continue;
                }
            }
            let lag = now.wrapping_sub(self.base_ms);
            if lag < self.tick_ms || lag >= HALF {
                break;
            }
            if self.count == 0 {
                // Nothing anywhere: jump straight to now.
                let k = lag / self.tick_ms;
                self.base_ms = self.base_ms.wrapping_add(k.wrapping_mul(self.tick_ms));
                self.cur = self.cur.wrapping_add(k) & self.mask;
                break;
            }
            if u64::from(lag) >= 2 * lap {
                // More than two laps behind: every slot is due either way; skip whole laps
                // (slot phases are kept) so catching up costs at most two laps of slots.
                let skip = (u64::from(lag) / lap - 1) * lap;
                self.base_ms = self.base_ms.wrapping_add(skip as u32);
            }
            let cur = self.cur;
            self.move_list(links, cur, pending);
            self.cur = (cur + 1) & self.mask;
            self.base_ms = self.base_ms.wrapping_add(self.tick_ms);
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Links in a plain vector, for tests.
    struct VecLinks(Vec<(u32, u32)>);

    impl VecLinks {
        fn new(n: usize) -> Self {
            VecLinks(vec![(NIL, NIL); n])
        }
    }

    impl Links for VecLinks {
        fn next(&self, id: u32) -> u32 {
            self.0[id as usize].0
        }
        fn prev(&self, id: u32) -> u32 {
            self.0[id as usize].1
        }
        fn set_next(&mut self, id: u32, v: u32) {
            self.0[id as usize].0 = v;
        }
        fn set_prev(&mut self, id: u32, v: u32) {
            self.0[id as usize].1 = v;
        }
    }

    fn due(now: u32, deadline: u32) -> bool {
        now.wrapping_sub(deadline) < HALF
    }

    /// Advance, expiring entries whose deadline (from `dl`) is due, and return them.
    fn run(
        w: &mut TimerWheel,
        l: &mut VecLinks,
        dl: &[u32],
        now: u32,
        budget: usize,
    ) -> (usize, Vec<u32>) {
        let mut out = Vec::new();
        let n = w.advance(l, now, budget, |_, id| {
            let d = dl[id as usize];
            if due(now, d) {
                out.push(id);
                Fired::Expire
            } else {
                Fired::Reschedule(d)
            }
        });
        (n, out)
    }

    #[test]
    fn wheel_fires_at_slot_end() {
        let mut l = VecLinks::new(4);
        let mut w = TimerWheel::new(8, 10, 1000);
        let dl = [1005, 1010, 1035, 1000];
        for (i, &d) in dl.iter().enumerate() {
            w.schedule(&mut l, i as u32, d);
        }
        assert_eq!(w.len(), 4);
        // Deadline == now goes to the due list: fires at the next advance.
        assert_eq!(run(&mut w, &mut l, &dl, 1000, 100).1, vec![3]);
        assert_eq!(run(&mut w, &mut l, &dl, 1009, 100).1, Vec::<u32>::new());
        assert_eq!(run(&mut w, &mut l, &dl, 1010, 100).1, vec![0]);
        assert_eq!(run(&mut w, &mut l, &dl, 1019, 100).1, Vec::<u32>::new());
        assert_eq!(run(&mut w, &mut l, &dl, 1020, 100).1, vec![1]);
        assert_eq!(run(&mut w, &mut l, &dl, 1045, 100).1, vec![2]);
        assert!(w.is_empty());
    }

    #[test]
    fn wheel_cancel_is_o1_and_exact() {
        let mut l = VecLinks::new(3);
        let mut w = TimerWheel::new(4, 10, 0);
        let dl = [15, 15, 15];
        for i in 0..3 {
            w.schedule(&mut l, i, 15);
        }
        w.cancel(&mut l, 1); // middle
        w.cancel(&mut l, 2); // head
        w.cancel(&mut l, 2); // again: no-op
        assert_eq!(w.len(), 1);
        assert_eq!(run(&mut w, &mut l, &dl, 100, 100).1, vec![0]);
    }

    #[test]
    fn wheel_beyond_horizon_is_rescheduled_not_fired_early() {
        let mut l = VecLinks::new(1);
        let mut w = TimerWheel::new(4, 10, 0); // horizon 40 ms
        let dl = [1000];
        w.schedule(&mut l, 0, 1000);
        let mut offers = 0;
        let mut t = 0;
        while !w.is_empty() {
            t += 5;
            w.advance(&mut l, t, 100, |_, id| {
                offers += 1;
                if due(t, dl[id as usize]) {
                    Fired::Expire
                } else {
                    Fired::Reschedule(dl[id as usize])
                }
            });
        }
        assert!((1000..=1010).contains(&t), "fired at {t}");
        assert!(offers <= 1000 / 30 + 2, "{offers} offers");
    }

    #[test]
    fn wheel_budget_continues_where_it_stopped() {
        let n = 50;
        let mut l = VecLinks::new(n);
        let mut w = TimerWheel::new(16, 10, 0);
        let dl: Vec<u32> = (0..n as u32).map(|i| i % 7).collect();
        for i in 0..n as u32 {
            w.schedule(&mut l, i, dl[i as usize]);
        }
        let mut all = Vec::new();
        loop {
            let (k, out) = run(&mut w, &mut l, &dl, 20, 3);
            assert!(k <= 3);
            all.extend(out);
            if k < 3 {
                break;
            }
        }
        all.sort_unstable();
        assert_eq!(all, (0..n as u32).collect::<Vec<_>>());
    }

    #[test]
    fn wheel_long_gap_catches_up_cheaply() {
        let mut l = VecLinks::new(2);
        let mut w = TimerWheel::new(8, 10, u32::MAX - 100);
        let dl = [u32::MAX - 50, 3_000_000];
        w.schedule(&mut l, 0, dl[0]);
        w.schedule(&mut l, 1, dl[1]);
        // Across the wrap and more than two laps at once.
        assert_eq!(run(&mut w, &mut l, &dl, 5000, 100).1, vec![0]);
        assert_eq!(
            run(&mut w, &mut l, &dl, 2_999_999, 100).1,
            Vec::<u32>::new()
        );
        assert_eq!(run(&mut w, &mut l, &dl, 3_000_010, 100).1, vec![1]);
        // Empty wheel jumps.
        assert_eq!(run(&mut w, &mut l, &dl, 2_000_000_000, 100).0, 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Schedule(u32),
        Cancel(usize),
        Advance(u32, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u32..700).prop_map(Op::Schedule),
            1 => (0u32..400).prop_map(Op::Schedule),
            1 => any::<usize>().prop_map(Op::Cancel),
            3 => (0u32..60, 1usize..6).prop_map(|(t, b)| Op::Advance(t, b)),
            2 => (0u32..60).prop_map(|t| Op::Advance(t, usize::MAX)),
            1 => (0u32..3000, 1usize..40).prop_map(|(t, b)| Op::Advance(t, b)),
        ]
    }

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum St {
        Free,
        Scheduled(u32),
        Cancelled,
        Fired,
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn wheel_matches_sorted_model(
            start in prop_oneof![Just(0u32), Just(u32::MAX - 1500), any::<u32>()],
            ops in proptest::collection::vec(op(), 1..300),
        ) {
            const N: usize = 64;
            const TICK: u32 = 10;
            let mut w = TimerWheel::new(16, TICK, start); // horizon 160 ms
            let mut l = VecLinks::new(N);
            let mut st = [St::Free; N];
            let mut now = start;
            for op in ops {
                match op {
                    Op::Schedule(off) => {
                        if let Some(id) = st.iter().position(|s| *s == St::Free) {
                            // Some deadlines in the past.
                            let d = now.wrapping_add(off).wrapping_sub(100);
                            w.schedule(&mut l, id as u32, d);
                            st[id] = St::Scheduled(d);
                        }
                    }
                    Op::Cancel(pick) => {
                        let live: Vec<usize> = (0..N).filter(|&i| matches!(st[i], St::Scheduled(_))).collect();
                        if !live.is_empty() {
                            let id = live[pick % live.len()];
                            w.cancel(&mut l, id as u32);
                            st[id] = St::Cancelled;
                        }
                    }
                    Op::Advance(dt, budget) => {
                        now = now.wrapping_add(dt);
                        let mut fired = Vec::new();
                        let t = now;
                        let snapshot = st;
                        let k = w.advance(&mut l, t, budget, |_, id| {
                            match snapshot[id as usize] {
                                St::Scheduled(d) if due(t, d) => { fired.push(id); Fired::Expire }
                                St::Scheduled(d) => Fired::Reschedule(d),
                                other => panic!("offered entry {id} in state {other:?}"),
                            }
                        });
                        prop_assert!(k <= budget);
                        for id in fired {
                            let s = &mut st[id as usize];
                            // Exactly once, never early (checked in the callback).
                            prop_assert!(matches!(*s, St::Scheduled(_)), "fired twice: {}", id);
                            *s = St::Fired;
                        }
                        if k < budget {
                            // Caught up: nothing is later than deadline + tick.
                            for (i, s) in st.iter().enumerate() {
                                if let St::Scheduled(d) = *s {
                                    prop_assert!(!due(t, d.wrapping_add(TICK)),
                                        "entry {} due at {} not fired at {}", i, d, t);
                                }
                            }
                        }
                        // Free the fired and cancelled ids for reuse.
                        for s in st.iter_mut() {
                            if matches!(*s, St::Fired | St::Cancelled) {
                                *s = St::Free;
                            }
                        }
                    }
                }
                let live = st.iter().filter(|s| matches!(s, St::Scheduled(_))).count();
                prop_assert_eq!(w.len(), live);
            }
        }
    }
}
