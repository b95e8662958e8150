//! Work between bursts: session ends (timeouts, TCP close, clear), the control core's
//! commands, and the current query, in bounded slices.

use crate::port::PortIo;
use crate::ring::{
    CloseReason, Command, EventKind, QueryCounts, QueryKind, Reply, ReplyBody, WireEvent,
};
use crate::session::tcp::TcpPhase;
use crate::session::{bits, session_id, split_session_id, Session};
use crate::stats::{Counter, Gauge};
use std::sync::atomic::Ordering;

use super::offload::withdraw_at_end;
use super::state::Worker;
use super::types::*;

impl<P: PortIo> Worker<P> {
    /// Removes a session an ALG is done with (its close event says so).
    pub(super) fn close_session(&mut self, id: u32, now_ms: u32, now_s: u32) {
        let Some((w, slot)) = split_session_id(id) else {
            return;
        };
        if w != self.setup.index || !self.table.is_live(slot) {
            return;
        }
        self.end_session(slot, CloseReason::Alg, now_ms, now_s);
        self.stats.inc(Counter::SessionsAlgClosed);
    }

    /// Takes a live session out now (a clear, an ALG's close): off the books, a close
    /// event with its final counters, out of the table.
    pub(super) fn end_session(&mut self, slot: u32, reason: CloseReason, now_ms: u32, now_s: u32) {
        let s = *self.table.get(slot);
        self.forget(&s, self.table.info(slot).service_set);
        if reason == CloseReason::Cleared {
            self.table.get_mut(slot).bits |= bits::CLEARING;
        }
        self.push_event(WireEvent::of(
            EventKind::Closed(reason),
            &self.table,
            slot,
            now_ms,
            now_s,
        ));
        let id = self.table.id(slot);
        if let Some(msg) = withdraw_at_end(id, &s, self.table.info(slot)) {
            self.push_offload(msg);
        }
        if let Some(w) = self.table.wing(slot).copied() {
            self.nat_give_back(&s, &w);
        }
        self.table.remove(slot);
    }

    pub(super) fn forget(&mut self, s: &Session, service_set: u16) {
        unbook(
            &mut self.ss_sessions,
            self.budget.as_deref(),
            &mut self.stats.gauges,
            s,
            service_set,
        );
        self.stats.inc(Counter::SessionsClosed);
    }

    pub(super) fn expire(&mut self, now_ms: u32, now_s: u32) {
        let index = self.setup.index;
        let events = &mut self.events;
        let mut lost = 0u64;
        let mut by_reason = [0u64; 3];
        let lifetime = self.lifetime_s;
        let ss_lifetimes = &self.ss_lifetimes;
        let ss_sessions = &mut self.ss_sessions;
        let budget = self.budget.as_deref();
        let gauges = &mut self.stats.gauges;
        let offload = self.offload.as_deref();
        let mut offload_lost = 0u64;
        let mut nat = self.nat.as_deref_mut();
        let nat_events = &self.setup.rings.nat_events;
        let mut nat_lost = 0u64;
        self.table.expire(
            now_ms,
            now_s,
            lifetime,
            EXPIRE_BUDGET,
            |slot, s, info, wing| {
                if let (Some(n), Some(w)) = (nat.as_deref_mut(), wing) {
                    n.release(s, w);
                    // A port block its last session gave back: its log.
                    nat_lost += n.flush_events(nat_events);
                }
                let life = ss_lifetimes
                    .get(usize::from(info.service_set))
                    .copied()
                    .unwrap_or(lifetime);
                let reason = if life != 0 && now_s.wrapping_sub(info.start_s) >= life {
                    by_reason[1] += 1;
                    CloseReason::Lifetime
                } else if s.key.proto == 6 && s.tcp.phase() == TcpPhase::Closed {
                    by_reason[2] += 1;
                    CloseReason::TcpClose
                } else {
                    by_reason[0] += 1;
                    CloseReason::Idle
                };
                unbook(ss_sessions, budget, gauges, s, info.service_set);
                let ev = WireEvent::from_parts(
                    EventKind::Closed(reason),
                    (s, info, wing),
                    (index, slot),
                    (now_ms, now_s),
                );
                lost += u64::from(!send_event(events, ev));
                let id = session_id(index, slot);
                if let (Some(l), Some(msg)) = (offload, withdraw_at_end(id, s, info)) {
                    offload_lost += u64::from(l.requests.push(msg).is_err());
                }
            },
        );
        self.stats.add(Counter::OffloadRingFull, offload_lost);
        self.stats.add(Counter::NatBlockEventsLost, nat_lost);
        let total: u64 = by_reason.iter().sum();
        if total > 0 {
            if let Some(n) = self.nat.as_deref() {
                self.stats.set_gauge(Gauge::NatPortsInUse, n.in_use());
            }
            self.stats.add(Counter::SessionsIdleExpired, by_reason[0]);
            self.stats
                .add(Counter::SessionsLifetimeExpired, by_reason[1]);
            self.stats.add(Counter::SessionsTcpClosed, by_reason[2]);
            self.stats.add(Counter::SessionsClosed, total);
            self.stats.add(Counter::EventRingFull, lost);
        }
    }

    /// Early age-out (Junos `security flow aging`): when the table's use reaches the high
    /// watermark, a sweep goes round the table, [`EXPIRE_BUDGET`] slots per loop iteration,
    /// ending sessions idle for the early age-out, until use falls to the low watermark.
    /// Idle sessions go first under pressure while established traffic keeps its sessions
    /// (a session that saw a packet within the early age-out stays).
    pub(super) fn early_ageout(&mut self, now_ms: u32, now_s: u32) {
        let t = &self.setup.config.timeouts;
        let (high, low, early_ms) = (
            u64::from(t.high_watermark),
            u64::from(t.low_watermark),
            t.early_ageout.saturating_mul(1000),
        );
        if high >= 100 {
            return;
        }
        let cap = u64::from(self.table.capacity().max(1));
        let used = u64::from(self.table.len()) * 100;
        match self.early {
            None if used >= high * cap => {
                self.early = Some(0);
                self.stats.inc(Counter::EarlyAgeoutStarts);
                self.stats.set_gauge(Gauge::EarlyAgeout, 1);
            }
            Some(_) if used <= low * cap => {
                self.early = None;
                self.stats.set_gauge(Gauge::EarlyAgeout, 0);
            }
            _ => {}
        }
        let Some(mut cursor) = self.early else {
            return;
        };
        // A bounded window of slots per turn (free ones cost a scan too), wrapping at the end.
        let end = cursor.saturating_add(4 * EXPIRE_BUDGET as u32);
        for _ in 0..EXPIRE_BUDGET {
            let Some(slot) = self.table.next_live_in(cursor, end) else {
                cursor = if end >= self.table.high_water() {
                    0
                } else {
                    end
                };
                break;
            };
            cursor = slot + 1;
            if u64::from(self.table.len()) * 100 <= low * cap {
                // Down to the low watermark: the next turn stops the sweep.
                break;
            }
            if self.table.get(slot).idle_ms(now_ms) >= early_ms {
                self.end_session(slot, CloseReason::Idle, now_ms, now_s);
                self.stats.inc(Counter::SessionsIdleExpired);
                self.stats.inc(Counter::SessionsEarlyAgedOut);
            }
        }
        self.early = Some(cursor);
    }

    pub(super) fn commands(&mut self) {
        // Take a new command only when no query is running (one query at a time; others
        // wait in the ring).
        for _ in 0..4 {
            if self.query.is_some() {
                return;
            }
            let Some(cmd) = self.setup.rings.commands.pop() else {
                return;
            };
            match cmd {
                Command::Query {
                    id,
                    filter,
                    kind,
                    start,
                } => {
                    self.query = Some(ActiveQuery {
                        id,
                        filter,
                        kind,
                        cursor: start,
                        sent: 0,
                        counts: QueryCounts::default(),
                        done: false,
                    });
                }
            }
        }
    }

    pub(super) fn run_query(&mut self, now_ms: u32, now_s: u32, busy: bool) {
        let Some(mut q) = self.query else { return };
        // The control core cancels a query whose client went away.
        if self.setup.rings.cancelled.load(Ordering::Acquire) == q.id {
            self.query = None;
            return;
        }
        let mut visited = 0usize;
        // While packets flow, a smaller slice: each session shown costs its two cache lines
        // (DRAM at 1M sessions), and the walk is paced by the client anyway.
        let slice = if busy { QUERY_SLICE_BUSY } else { QUERY_SLICE };
        while !q.done && visited < slice {
            if matches!(q.kind, QueryKind::Records { .. }) && self.setup.rings.replies.is_full() {
                // The client has not caught up: nothing to do this turn (not even a view).
                self.stats.inc(Counter::ReplyRingFull);
                break;
            }
            let Some(slot) = self.table.next_live(q.cursor) else {
                q.done = true;
                break;
            };
            visited += 1;
            let view = self.table.view(slot, now_ms, now_s);
            if !q.filter.matches(&view) {
                q.cursor = slot + 1;
                continue;
            }
            match q.kind {
                QueryKind::Records { limit } => {
                    if q.sent >= limit {
                        q.done = true;
                        break;
                    }
                    let r = Reply {
                        query: q.id,
                        body: ReplyBody::Session(view),
                    };
                    if self.setup.rings.replies.push(r).is_err() {
                        self.stats.inc(Counter::ReplyRingFull);
                        break;
                    }
                    q.sent += 1;
                    count_into(&mut q.counts, self.table.get(slot));
                }
                QueryKind::Count => {
                    count_into(&mut q.counts, self.table.get(slot));
                    q.counts.packets[view.action.packet_class()] += view.packets();
                }
                QueryKind::Clear => {
                    count_into(&mut q.counts, self.table.get(slot));
                    q.counts.cleared += 1;
                    self.end_session(slot, CloseReason::Cleared, now_ms, now_s);
                    self.stats.inc(Counter::SessionsCleared);
                }
            }
            q.cursor = slot + 1;
        }
        if q.done {
            let r = Reply {
                query: q.id,
                body: ReplyBody::Done(q.counts),
            };
            if self.setup.rings.replies.push(r).is_err() {
                self.stats.inc(Counter::ReplyRingFull);
                self.query = Some(q);
                return;
            }
            self.query = None;
            return;
        }
        self.query = Some(q);
    }
}
