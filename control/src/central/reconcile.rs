//! The books after lost events. A worker never waits on its event ring: when the ring is
//! full the event is dropped and counted (`event_ring_full`), and the control core's books
//! (live sessions, CP session IDs, the offload manager's rules) no longer match the
//! worker's table. When a worker's count of lost events has grown, the control core walks
//! that worker's sessions with an ordinary query (its own client, in the queue like any
//! other) and puts its books right: CP IDs of sessions that are gone are dropped (unless
//! their create came after the walk began), sessions without one get one, the live count
//! is the worker's own, and the offload manager removes the rules of sessions that ended
//! unseen. A CP ID is also tied to its session's start, so a slot reused while its close
//! was lost never shows the old session's ID.

use crossbeam_channel::TryRecvError;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::QueryKind;
use svcard_dataplane::session::{split_session_id, WorkerId};
use svcard_dataplane::stats::{Counter, Gauge};

use super::cp_ids::CpId;
use super::query::{Relay, Request};
use super::walk::Walk;
use super::{Active, ControlCore};

/// How often the lost-event counters are looked at.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// The least time between two walks: under a sustained overflow (a flood of new sessions
/// on a million-session table) walks would otherwise follow each other and keep the
/// control core relaying.
const MIN_WALK_GAP: Duration = Duration::from_secs(2);

/// Between walks, at least this many times the last walk's length: a walk of a few million
/// sessions on a busy control core takes seconds, and walks back to back every 2 s kept it
/// relaying views instead of draining events, which lost more events and asked for more
/// walks (a 4M-flow churn at 1.2M new sessions/s, control cores sharing a core: 85% of
/// events lost). So walks take at most a fifth of the control core's time.
const WALK_GAP_FACTOR: u32 = 4;

/// The gap before the next walk, after one that took `last`.
fn walk_gap(last: Option<Duration>) -> Duration {
    last.map_or(MIN_WALK_GAP, |d| MIN_WALK_GAP.max(d * WALK_GAP_FACTOR))
}

impl ControlCore {
    /// One turn of the reconciler: start a walk of a worker that lost events, or take in
    /// what the walk under way has relayed. True if it did anything.
    pub(super) fn reconcile_step(&mut self) -> bool {
        if self.reconciler.walk.is_some() {
            return self.take_walk();
        }
        let now = Instant::now();
        if self
            .reconciler
            .last_check
            .is_some_and(|t| now.duration_since(t) < CHECK_EVERY)
        {
            return false;
        }
        self.reconciler.last_check = Some(now);
        if self
            .reconciler
            .last_walk
            .is_some_and(|t| now.duration_since(t) < walk_gap(self.reconciler.last_walk_took))
        {
            return false;
        }
        let n = self.workers.len();
        self.reconciler.lost_seen.resize(n, 0);
        for w in 0..n {
            let lost = self.workers[w].stats.snapshot().get(Counter::EventRingFull);
            if lost > self.reconciler.lost_seen[w] {
                self.reconciler.lost_seen[w] = lost;
                self.start_walk(w);
                return true;
            }
        }
        false
    }

    fn start_walk(&mut self, w: usize) {
        self.reconciler.last_walk = Some(Instant::now());
        let (tx, rx) = crossbeam_channel::bounded(4096);
        let req = Request {
            filter: SessionFilter::default(),
            kind: QueryKind::Records { limit: u64::MAX },
            workers: vec![WorkerId::from_index(w).unwrap_or_default()],
            out: tx,
        };
        self.queue.push_back(Active::new(req));
        self.reconciler.walk = Some(Walk {
            worker: w,
            rx,
            live: HashMap::new(),
            began_at_event: self.events,
            began_us: self.offload.as_ref().map_or(0, |o| o.now_us()),
            began: Instant::now(),
        });
    }

    fn take_walk(&mut self) -> bool {
        let Some(walk) = self.reconciler.walk.as_mut() else {
            return false;
        };
        let mut did = false;
        loop {
            match walk.rx.try_recv() {
                Ok(Relay::Session(v, _)) => {
                    walk.live.insert(v.id, (v.start_s, v.key));
                    did = true;
                }
                Ok(Relay::Begin(_)) => did = true,
                Ok(Relay::End(..)) => {
                    self.finish_walk();
                    return true;
                }
                Err(TryRecvError::Empty) => return did,
                Err(TryRecvError::Disconnected) => {
                    // The query was dropped (the engine stops): try again later.
                    self.reconciler.walk = None;
                    return true;
                }
            }
        }
    }

    fn finish_walk(&mut self) {
        let Some(walk) = self.reconciler.walk.take() else {
            return;
        };
        let w = walk.worker;
        self.reconciler.last_walk_took = self.reconciler.last_walk.map(|t| t.elapsed());
        let of_worker = |id: u32| split_session_id(id).is_some_and(|(wk, _)| wk.index() == w);
        // CP IDs of sessions gone unseen, unless recorded after the walk began (the walk
        // may have passed their slot before they were made).
        self.cp_ids.retain(|id, c| {
            !of_worker(id)
                || c.at_event >= walk.began_at_event
                || walk
                    .live
                    .get(&id)
                    .is_some_and(|(start, _)| *start == c.start_s)
        });
        for (id, (start_s, _)) in &walk.live {
            let fresh = self.cp_ids.get(*id).is_none_or(|c| c.start_s != *start_s);
            if fresh {
                let cp = self.next_cp;
                self.next_cp = self.next_cp.wrapping_add(1).max(super::CP_ID_BASE);
                self.cp_ids.insert(
                    *id,
                    CpId {
                        cp,
                        start_s: *start_s,
                        at_event: self.events,
                    },
                );
            }
        }
        if let Some(b) = self.local.get_mut(w) {
            b.live = self.workers[w].stats.snapshot().gauge(Gauge::Sessions);
        }
        if let Some(o) = self.offload.as_mut() {
            o.forget_gone(
                WorkerId::from_index(w).unwrap_or_default(),
                &walk.live,
                walk.began_us,
            );
        }
        if let Some(a) = self.attachment.as_mut() {
            a.forget_gone(
                WorkerId::from_index(w).unwrap_or_default(),
                &walk.live,
                walk.began,
            );
        }
        self.reconciler.done += 1;
        self.reconciles
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ControlCore, WorkerHandle};
    use super::{walk_gap, MIN_WALK_GAP};
    use std::time::Duration;

    #[test]
    fn walks_take_at_most_a_fifth_of_the_time() {
        assert_eq!(walk_gap(None), MIN_WALK_GAP);
        assert_eq!(walk_gap(Some(Duration::from_millis(100))), MIN_WALK_GAP);
        assert_eq!(
            walk_gap(Some(Duration::from_secs(3))),
            Duration::from_secs(12)
        );
    }

    use std::sync::Arc;
    use svcard_dataplane::ring::{
        Command, EventKind, QueryCounts, Reply, ReplyBody, RingSizes, WireEvent, WorkerRings,
    };
    use svcard_dataplane::session::{session_id, SessionTable, SessionView, WorkerId};
    use svcard_dataplane::stats::{Counter, Gauge, LocalStats, SharedStats};

    fn view(slot: u32, start_s: u32) -> SessionView {
        let mut v = SessionView {
            id: session_id(WorkerId(0), slot),
            start_s,
            ..SessionView::default()
        };
        v.key.port_a = u16::try_from(slot).unwrap_or(u16::MAX);
        v
    }

    /// The worker's side of a walk: answers the control core's query with `live`.
    fn answer(rings: &WorkerRings, live: &[SessionView]) -> bool {
        let Some(Command::Query { id, .. }) = rings.commands.pop() else {
            return false;
        };
        for v in live {
            rings
                .replies
                .push(Reply {
                    query: id,
                    body: ReplyBody::Session(*v),
                })
                .unwrap();
        }
        rings
            .replies
            .push(Reply {
                query: id,
                body: ReplyBody::Done(QueryCounts::default()),
            })
            .unwrap();
        true
    }

    #[test]
    fn after_lost_events_a_walk_puts_the_books_right() {
        let rings = WorkerRings::new(RingSizes {
            events: 64,
            commands: 64,
            replies: 4096,
        });
        let stats = Arc::new(SharedStats::default());
        let (mut core, handle) = ControlCore::new(vec![WorkerHandle {
            rings: Arc::clone(&rings),
            stats: Arc::clone(&stats),
        }]);
        let mut events = rings.events.take_producer().unwrap();
        // Sessions in slots 1-5 are made (at 10 s) and their events seen.
        let mut table = SessionTable::new(WorkerId(0), 64, 0);
        let slots: Vec<u32> = (0..6u16)
            .map(|i| {
                let k = view(u32::from(i), 10).key;
                table.insert(&k, k.hash(), 10_000, 10, 30).unwrap()
            })
            .collect();
        assert_eq!(slots, [0, 1, 2, 3, 4, 5]);
        for slot in 1..=5 {
            events
                .push(WireEvent::of(EventKind::Created, &table, slot, 10_000, 10))
                .unwrap();
        }
        core.poll();
        let cp3 = core.cp_id(session_id(WorkerId(0), 3)).unwrap();
        // Then, unseen: 1 and 2 end, slot 5 is reused by a new session (started at 20),
        // and slot 6 gets one. The worker counted the events it lost.
        let live = [view(3, 10), view(4, 10), view(5, 20), view(6, 20)];
        let mut s = LocalStats::default();
        s.counters[Counter::EventRingFull as usize] = 4;
        s.set_gauge(Gauge::Sessions, 4);
        stats.publish(&s);
        assert_eq!(handle.books.lock().unwrap().workers[0].live, 5, "drifted");
        let t0 = std::time::Instant::now();
        let mut answered = false;
        while handle.reconciles.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            core.poll();
            answered |= answer(&rings, &live);
            assert!(t0.elapsed().as_secs() < 5, "no reconciliation");
        }
        assert!(answered);
        core.poll();
        let cp = |slot| core.cp_id(session_id(WorkerId(0), slot));
        assert_eq!((cp(1), cp(2)), (None, None), "gone sessions keep no CP ID");
        assert_eq!(cp(3), Some(cp3), "a live session keeps its CP ID");
        let (c5, c6) = (cp(5).unwrap(), cp(6).unwrap());
        assert!(c5 > cp3 && c6 > cp3 && c5 != c6, "new sessions get new IDs");
        assert_eq!(handle.books.lock().unwrap().workers[0].live, 4);
        // Nothing more was lost: no second walk.
        for _ in 0..3 {
            std::thread::sleep(super::CHECK_EVERY);
            core.poll();
            assert!(rings.commands.pop().is_none());
        }
    }
}
