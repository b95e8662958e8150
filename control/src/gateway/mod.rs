//! The ALG gateway: the part of the control core that runs the application-layer gateways.
//!
//! Per iteration it takes the packets workers handed off (the mbufs themselves, from each
//! worker's [`AlgLink`]), runs the session's ALG on each, broadcasts every pinhole the ALG
//! asked for to *every* worker, and transmits the packet on the control core's own TX queue
//! only once each worker has applied that pinhole (a packet waits in a bounded queue until
//! then; nothing waits for a worker). Devices without a TX queue for the control core get
//! the packet back through the worker that handed it off.
//!
//! The books of what the ALGs opened are kept by the resource manager ([`rm`]); `show
//! services alg conversations` and `show services alg statistics` read what it publishes.
//!
//! Room: this module owns everything between the hand-off ring and the TX queue. The
//! ALGs themselves (parsing, what to expect) live in the `svcard-alg` crate; the worker's
//! side (hand-off, pinhole lookup) in `svcard_dataplane::worker`.

pub mod nat;
pub mod rm;

use crate::central::{Attachment, ControlHandle};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use nat::{AlgNat, NatConv};
use rm::Conversations;
use rm::{AlgStatistics, ResourceManager};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use svcard_alg::{Action as AlgAction, Actions, Alg as _, FlowCtx, Proto, RewriteKind, Side};
use svcard_config::reload::LiveConfig;
use svcard_config::{AlgKind, PortId, WorkerId};
use svcard_dataplane::clock::Clock;
use svcard_dataplane::handoff::{AlgCommand, AlgLink, Handoff, HandoffNat, LinkSizes, Returned};
use svcard_dataplane::port::{Burst, PacketBuf, PortIo};
use svcard_dataplane::ring::{Event, EventKind};
use svcard_dataplane::session::pinhole::PinholeNat;
use svcard_dataplane::session::{split_session_id, Action};
use svcard_dataplane::stats::{AlgCounter, Counter, Figure, SharedStats};
use svcard_dataplane::wire::splice::{overwrite_udp_v4, shift_v4, splice_v4};
use svcard_dataplane::wire::{self, Outcome, Parsed};

/// Hand-offs taken from one worker per iteration.
const HANDOFF_BUDGET: usize = 256;
/// Packets held while workers install their pinholes.
const PENDING_CAP: usize = 8192;
/// How often pinhole and ALG timers are looked at, milliseconds.
const TIMER_TICK_MS: u32 = 50;
/// How often the published books are refreshed when they changed, milliseconds.
const PUBLISH_MS: u32 = 20;

/// Which configured ALGs the control core runs: the mask workers hand off by.
#[must_use]
pub fn watch_mask() -> [bool; AlgKind::ALL.len()] {
    core::array::from_fn(|i| AlgKind::ALL[i].has_engine())
}

/// The links for `workers` workers.
#[must_use]
pub fn links<T>(workers: usize, sizes: LinkSizes) -> Vec<Arc<AlgLink<T>>> {
    (0..workers)
        .map(|_| Arc::new(AlgLink::new(sizes, watch_mask())))
        .collect()
}

/// A rewrite an ALG asked for on the packet in hand: its side, its sequence (TCP) or payload
/// (UDP) range, its notation, and the endpoint the text names.
type Rewrite = (
    Side,
    core::ops::Range<u32>,
    RewriteKind,
    (Option<IpAddr>, u16),
);

struct Pending<T> {
    /// The last ALG command sequence number this packet waits for.
    need: u64,
    worker: WorkerId,
    port: PortId,
    pkt: T,
}

/// The gateway: hand-off intake, ALG dispatch, pinhole broadcast, transmit.
pub struct Gateway<P: PortIo> {
    clock: Clock,
    links: Vec<Arc<AlgLink<P::Pkt>>>,
    /// The control core's TX queues (none: packets go back through their worker).
    tx: Option<P>,
    out: Vec<Burst<P::Pkt>>,
    /// Last command sequence number given out, and per worker the last one pushed.
    seq: u64,
    pushed: Vec<u64>,
    pending: VecDeque<Pending<P::Pkt>>,
    rm: ResourceManager,
    actions: Actions,
    last_tick_ms: u32,
    last_publish_ms: u32,
    last_book_ms: u32,
    book: Arc<Mutex<Conversations>>,
    statistics: Arc<Mutex<AlgStatistics>>,
    /// The workers' published figures (their per-ALG hand-off counts).
    workers: Vec<Arc<SharedStats>>,
    backlog: Arc<AtomicU64>,
    /// The TX queues were set up on the control core's thread.
    started: bool,
    /// The configuration in force, and the generation the resource manager has.
    live: Arc<LiveConfig>,
    generation: u64,
    /// The ALGs through source NAT: ALG ports, payload rewrites, sequence shifts.
    nat: AlgNat,
    /// The rewrites the ALG asked for on the packet in hand: (side, sequence range, kind,
    /// the endpoint the text names).
    rewrites: Vec<Rewrite>,
    /// The ALG of a translated conversation is done with the packet in hand: the worker may
    /// forward the rest unless the connection's numbers are shifted (the control core must
    /// then see every packet to shift it).
    forward_after: bool,
}

impl<P: PortIo> core::fmt::Debug for Gateway<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gateway")
            .field("workers", &self.links.len())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<P: PortIo> Gateway<P> {
    /// A gateway over the workers' `links`, transmitting on `tx` (the control core's
    /// queues, when the ports have them), publishing into the books of `handle`.
    #[must_use]
    pub fn new(
        live: &Arc<LiveConfig>,
        clock: Clock,
        links: Vec<Arc<AlgLink<P::Pkt>>>,
        tx: Option<P>,
        handle: &ControlHandle,
    ) -> Gateway<P> {
        let config = live.current();
        let nports = config
            .ports
            .len()
            .max(tx.as_ref().map_or(0, PortIo::port_count));
        let now = clock.now_ms();
        let n = links.len();
        let workers = u16::try_from(links.len()).unwrap_or(1);
        Gateway {
            nat: AlgNat::new(&config, workers),
            rewrites: Vec::new(),
            forward_after: false,
            rm: ResourceManager::new(config),
            clock,
            links,
            tx,
            out: (0..nports).map(|_| Burst::default()).collect(),
            seq: 0,
            pushed: vec![0; n],
            pending: VecDeque::with_capacity(PENDING_CAP),
            actions: Actions::new(),
            last_tick_ms: now,
            last_publish_ms: now,
            last_book_ms: now,
            book: Arc::clone(&handle.conversations),
            statistics: Arc::clone(&handle.alg_statistics),
            workers: handle
                .workers
                .iter()
                .map(|w| Arc::clone(&w.stats))
                .collect(),
            backlog: Arc::clone(&handle.alg_backlog),
            started: false,
            generation: live.generation(),
            live: Arc::clone(live),
        }
    }

    /// Sends a command to every worker; returns its sequence number.
    fn broadcast(&mut self, make: impl Fn(u64) -> AlgCommand) -> u64 {
        self.seq += 1;
        let seq = self.seq;
        for (w, l) in self.links.iter().enumerate() {
            if l.commands.push(make(seq)).is_ok() {
                self.pushed[w] = seq;
            } else {
                self.rm.stats.command_ring_full += 1;
            }
        }
        seq
    }

    /// Sends a command to one worker; returns its sequence number.
    fn unicast(&mut self, w: WorkerId, make: impl Fn(u64) -> AlgCommand) -> u64 {
        self.seq += 1;
        let seq = self.seq;
        if let Some(l) = self.links.get(w.index()) {
            if l.commands.push(make(seq)).is_ok() {
                self.pushed[w.index()] = seq;
            } else {
                self.rm.stats.command_ring_full += 1;
            }
        }
        seq
    }

    /// True once every worker applied the commands up to `need` that it was sent.
    fn applied(&self, need: u64) -> bool {
        self.links.iter().enumerate().all(|(w, l)| {
            let want = need.min(self.pushed[w]);
            l.applied.load(Ordering::Acquire) >= want
        })
    }

    fn transmit(&mut self, worker: WorkerId, port: PortId, pkt: P::Pkt) {
        if self.tx.is_none() {
            // No TX queue of our own: the worker that handed the packet off sends it.
            let Some(l) = self.links.get(worker.index()) else {
                return;
            };
            if l.returns.push(Returned { port, pkt }).is_err() {
                self.rm.stats.tx_dropped += 1;
            }
            return;
        }
        let p = port.index();
        if p >= self.out.len() {
            self.rm.stats.tx_dropped += 1;
            return;
        }
        if self.out[p].is_full() {
            self.flush_port(p);
        }
        if self.out[p].push(pkt).is_err() {
            self.rm.stats.tx_dropped += 1;
        }
    }

    fn flush_port(&mut self, p: usize) {
        let Some(tx) = self.tx.as_mut() else { return };
        let n = self.out[p].len();
        if n == 0 {
            return;
        }
        let Some(port) = PortId::from_index(p) else {
            return;
        };
        let sent = tx.tx_burst(port, &mut self.out[p]);
        self.rm.stats.tx_packets += sent as u64;
        self.rm.stats.tx_dropped += (n - sent) as u64;
    }

    fn flush(&mut self) {
        for p in 0..self.out.len() {
            self.flush_port(p);
        }
    }

    /// Runs the session's ALG on one handed-off packet, then sends it (at once, or once
    /// every worker holds the pinholes it opened).
    fn on_handoff(&mut self, worker: WorkerId, h: Handoff<P::Pkt>, now_ms: u32) {
        let Handoff {
            pkt,
            egress,
            session,
            key,
            from_initiator,
            alg,
            service_set,
            rule,
            nat,
            ..
        } = h;
        let Outcome::Ip(p) = wire::parse(pkt.data()) else {
            self.transmit(worker, egress, pkt);
            return;
        };
        if !alg.has_engine() {
            self.transmit(worker, egress, pkt);
            return;
        }
        let side = if from_initiator {
            Side::Initiator
        } else {
            Side::Responder
        };
        let Some(conv) = self.rm.conversation(
            worker,
            session,
            &key,
            alg,
            || private_ctx(flow_ctx(&p, from_initiator), nat),
            (service_set, rule),
        ) else {
            // Over the ALG's conversation cap: the session passes uninspected, forwarded by
            // its worker from now on.
            self.unicast(worker, |seq| AlgCommand::SetAction {
                seq,
                session,
                action: Action::Forward,
            });
            self.transmit(worker, egress, pkt);
            return;
        };
        let now = u64::from(now_ms);
        self.actions.clear();
        let tcp = p.proto == wire::ip_proto::TCP;
        if tcp && p.tcp_flags & 0x02 != 0 {
            conv.alg.sync_seq(side, p.tcp_seq.wrapping_add(1));
        }
        let start = usize::from(p.payload_offset);
        let end = start + usize::from(p.payload_len);
        let payload = pkt.data().get(start..end).unwrap_or(&[]);
        let seq = tcp.then_some(p.tcp_seq);
        if tcp && payload.is_empty() {
            // Nothing for an ALG in a bare TCP segment.
        } else if let (svcard_alg::AnyAlg::Traceroute(t), Side::Initiator) = (&mut conv.alg, side) {
            t.on_probe(now, Some(p.ttl), &mut self.actions);
        } else {
            conv.alg.on_data(now, side, seq, payload, &mut self.actions);
        }
        if let Some(n) = nat {
            self.nat.conv(session, &key, n);
        }
        let mut need = self.apply_actions(worker, session, now_ms);
        if tcp && p.tcp_flags & 0x05 != 0 {
            self.rm
                .parent_tcp_end(session, side.index(), p.tcp_flags & 0x04 != 0);
        }
        let mut pkt = pkt;
        if nat.is_some() && p.proto == wire::ip_proto::UDP {
            self.nat_rewrite_udp(&mut pkt, &p, session, side);
        }
        if nat.is_some() && tcp && self.nat_rewrite(&mut pkt, &p, session, side) {
            // The first shift: the worker's windows stop refusing before the segment (and
            // so the peer's shifted acknowledgements) can reach anyone.
            need = self.unicast(worker, |seq| AlgCommand::SequenceShifted { seq, session });
        }
        // What the ALG asked to rewrite is this packet's only (kept when not translated).
        self.rewrites.clear();
        if core::mem::take(&mut self.forward_after)
            && self
                .nat
                .get(session)
                .is_some_and(|c| c.adj.iter().all(nat::SeqAdj::is_zero))
        {
            let seq = self.unicast(worker, |seq| AlgCommand::SetAction {
                seq,
                session,
                action: Action::Forward,
            });
            need = need.max(seq);
        }
        if need == 0 || self.applied(need) {
            self.transmit(worker, egress, pkt);
        } else if self.pending.len() < PENDING_CAP {
            self.pending.push_back(Pending {
                need,
                worker,
                port: egress,
                pkt,
            });
        } else {
            self.rm.stats.pending_full += 1;
        }
    }

    /// Carries out what the ALG of `session` asked for; returns the sequence number of the
    /// last pinhole broadcast (0: none).
    fn apply_actions(&mut self, worker: WorkerId, session: u32, now_ms: u32) -> u64 {
        let mut need = 0;
        let actions = core::mem::take(&mut self.actions);
        for a in actions.iter() {
            match a {
                AlgAction::Expect(e) => {
                    let Some(spec) = self.open_pinhole(session, e, now_ms) else {
                        continue;
                    };
                    need = self.broadcast(|seq| AlgCommand::AddPinhole { seq, spec });
                }
                AlgAction::Rewrite {
                    side,
                    range,
                    kind,
                    addr,
                    port,
                } => self
                    .rewrites
                    .push((*side, range.clone(), *kind, (*addr, *port))),
                AlgAction::Close => {
                    self.rm.parent_done(session);
                    if let Some((w, _)) = split_session_id(session) {
                        self.unicast(w, |seq| AlgCommand::CloseSession { seq, session });
                    }
                }
                AlgAction::ParentState(svcard_alg::ParentState::Forward) => {
                    // Negotiation over (or the ALG is off): the worker forwards the rest,
                    // unless NAT shifts this connection's sequence numbers (decided once
                    // this packet's rewrites are made: `forward_after`).
                    if self.nat.get(session).is_some() {
                        self.forward_after = true;
                    } else {
                        self.unicast(worker, |seq| AlgCommand::SetAction {
                            seq,
                            session,
                            action: Action::Forward,
                        });
                    }
                }
                AlgAction::Withdraw(e) => {
                    self.rm.withdraw(session, e, now_ms);
                }
                AlgAction::ParentState(svcard_alg::ParentState::Watch) => {}
                AlgAction::ParseError(_) => {}
            }
        }
        self.actions = actions;
        need
    }

    /// Opens a pinhole for `session`'s expectation `e`. When the session is translated and
    /// the child is to connect to its private endpoint from outside, the pinhole is for an
    /// ALG port of the pool instead, with the private endpoint beside it; `None` when no
    /// pinhole is opened (the conversation's cap, or no ALG port free).
    fn open_pinhole(
        &mut self,
        session: u32,
        e: &svcard_alg::Expectation,
        now_ms: u32,
    ) -> Option<svcard_dataplane::session::pinhole::PinholeSpec> {
        let through = self.nat.get(session).and_then(|c| {
            let private = c.nat.private;
            let to_private = e.dst == IpAddr::V4(Ipv4Addr::from(private.0));
            let tcp = e.proto == Proto::TCP;
            (to_private && (tcp || e.proto == Proto::UDP)).then_some((
                c.nat.pool,
                tcp,
                private.0,
                e.dst_port?,
            ))
        });
        let Some((pool, tcp, private, pport)) = through else {
            return self.rm.open_pinhole(session, e, now_ms);
        };
        let (a, q) = self
            .nat
            .take(pool, tcp, u32::from_be_bytes(private), pport)?;
        let public = (a.to_be_bytes(), q);
        let outside = svcard_alg::Expectation {
            dst: IpAddr::V4(Ipv4Addr::from(a)),
            dst_port: Some(q),
            ..*e
        };
        let Some(mut spec) = self.rm.open_pinhole(session, &outside, now_ms) else {
            self.nat.release(pool, tcp, (a, q));
            return None;
        };
        spec.nat = Some(PinholeNat {
            private: (private, pport),
            public,
            pool,
        });
        self.rm
            .translated(spec.id, (IpAddr::V4(Ipv4Addr::from(private)), pport));
        self.nat.hold(spec.id, pool, tcp, (a, q));
        if let Some(c) = self.nat.get(session) {
            c.set_next(public);
        }
        Some(spec)
    }

    /// A translated conversation's packet leaves: the rewrites its ALG asked for (and those
    /// of earlier segments it carries again) are made in its payload, and its sequence and
    /// acknowledgement numbers shifted for what rewrites changed before. True when this
    /// segment is the first whose length changed (the conversation's numbers are shifted
    /// from now on).
    fn nat_rewrite(&mut self, pkt: &mut P::Pkt, p: &Parsed, session: u32, side: Side) -> bool {
        let rewrites = core::mem::take(&mut self.rewrites);
        let Some(c) = self.nat.get(session) else {
            self.rewrites = rewrites;
            return false;
        };
        let shifted_before = !(c.adj[0].is_zero() && c.adj[1].is_zero());
        let seq = p.tcp_seq;
        let start = usize::from(p.payload_offset);
        let payload = pkt
            .data()
            .get(start..start + usize::from(p.payload_len))
            .unwrap_or(&[]);
        // (offset in the payload, old length, new text), ascending.
        let mut edits = if rewrites.is_empty() {
            c.again(side, seq, payload)
        } else {
            Vec::new()
        };
        let again = edits.len();
        let mut failed = 0u64;
        for (s, range, kind, named) in &rewrites {
            if *s != side || side != c.private_side() {
                continue;
            }
            let off = range.start.wrapping_sub(seq) as usize;
            let len = range.end.wrapping_sub(range.start) as usize;
            let Some(old) = off.checked_add(len).and_then(|end| payload.get(off..end)) else {
                failed += 1;
                continue;
            };
            match c.text_naming(*kind, *named, old) {
                Some(new) => {
                    c.record(side, range.start, old, &new);
                    edits.push((off, len, new));
                }
                None => failed += 1,
            }
        }
        edits.sort_by_key(|e| e.0);
        let i = NatConv::index(side);
        let mut diff = 0i64;
        let mut spliced = false;
        // From the last: earlier offsets stay valid.
        for (k, (off, len, new)) in edits.iter().enumerate().rev() {
            let Outcome::Ip(q) = wire::parse(pkt.data()) else {
                break;
            };
            if splice_v4(pkt, &q, *off, off + len, new) {
                spliced = true;
                self.nat.stats.rewrites += 1;
                if k >= again {
                    diff += new.len() as i64 - *len as i64;
                }
            } else {
                failed += 1;
            }
        }
        self.nat.stats.rewrite_failed += failed;
        let Some(c) = self.nat.get(session) else {
            self.rewrites = rewrites;
            return false;
        };
        if diff != 0 {
            c.adj[i].record(seq, i32::try_from(diff).unwrap_or(0));
        }
        let (mine, theirs) = (c.adj[i], c.adj[1 - i]);
        if spliced || !mine.is_zero() || !theirs.is_zero() {
            shift_v4(pkt.data_mut(), p, mine.seq_delta(seq), |a| {
                theirs.unshift_ack(a)
            });
        }
        self.rewrites = rewrites;
        self.rewrites.clear();
        !shifted_before && diff != 0
    }

    /// A translated conversation's datagram leaves: the rewrites its ALG asked for (offsets
    /// into this datagram's payload) are made when the text keeps its length (a talk
    /// `osockaddr`); others are counted as not made.
    fn nat_rewrite_udp(&mut self, pkt: &mut P::Pkt, p: &Parsed, session: u32, side: Side) {
        let rewrites = core::mem::take(&mut self.rewrites);
        if let Some(c) = self.nat.get(session) {
            let start = usize::from(p.payload_offset);
            let mut made = 0u64;
            let mut failed = 0u64;
            for (s, range, kind, named) in &rewrites {
                if *s != side || side != c.private_side() {
                    continue;
                }
                let (off, end) = (range.start as usize, range.end as usize);
                let old = pkt.data().get(start + off..start + end).map(<[u8]>::to_vec);
                let new = old.as_deref().and_then(|o| c.text_naming(*kind, *named, o));
                match new {
                    Some(n) if overwrite_udp_v4(pkt.data_mut(), p, off, &n) => made += 1,
                    _ => failed += 1,
                }
            }
            self.nat.stats.rewrites += made;
            self.nat.stats.rewrite_failed += failed;
        }
        self.rewrites = rewrites;
        self.rewrites.clear();
    }

    /// Pinholes that lapsed leave every worker; ALG clocks advance.
    fn tick(&mut self, now_ms: u32) {
        let mut lapsed = Vec::new();
        self.rm.expire(now_ms, &mut lapsed);
        for id in lapsed {
            self.nat.pinhole_gone(id);
            self.broadcast(|seq| AlgCommand::RemovePinhole { seq, id });
        }
        let mut asked = Vec::new();
        self.rm.alg_timers(now_ms, &mut asked);
        for (session, a) in asked {
            match a {
                AlgAction::Expect(e) => {
                    if let Some(spec) = self.rm.open_pinhole(session, &e, now_ms) {
                        self.broadcast(|seq| AlgCommand::AddPinhole { seq, spec });
                    }
                }
                AlgAction::Withdraw(e) => {
                    self.rm.withdraw(session, &e, now_ms);
                }
                _ => {}
            }
        }
        self.settle();
    }

    /// What the resource manager took back leaves the workers: withdrawn pinholes are
    /// dropped everywhere, the children of withdrawn resources are closed.
    fn settle(&mut self) {
        for id in self.rm.take_withdrawn() {
            self.nat.pinhole_gone(id);
            self.broadcast(|seq| AlgCommand::RemovePinhole { seq, id });
        }
        for session in self.rm.take_to_close() {
            if let Some((w, _)) = split_session_id(session) {
                self.unicast(w, |seq| AlgCommand::CloseSession { seq, session });
            }
        }
    }

    fn release_pending(&mut self) -> bool {
        let mut did = false;
        while let Some(front) = self.pending.front() {
            if !self.applied(front.need) {
                break;
            }
            if let Some(p) = self.pending.pop_front() {
                self.transmit(p.worker, p.port, p.pkt);
                did = true;
            }
        }
        did
    }

    fn publish(&mut self, now_ms: u32) {
        let mut st = self.rm.statistics();
        for w in &self.workers {
            let figures = w.snapshot();
            for k in AlgKind::ENGINES {
                let row = &mut st.rows[k as usize];
                row.handed_off += figures.value(Figure::Alg(AlgCounter::HandedOff, k));
                row.handoff_drops += figures.value(Figure::Alg(AlgCounter::HandoffRingFull, k));
            }
            st.pinhole_table_full += figures.get(Counter::PinholeTableFull);
        }
        st.pending = self.pending.len() as u64;
        st.pinhole_capacity = self.links.first().map_or(0, |l| l.pinhole_capacity);
        st.nat = self.nat.stats;
        st.nat_alg_ports = (0..self.live.current().nat.pools.len())
            .map(|i| self.nat.in_use(i))
            .collect();
        if let Ok(mut s) = self.statistics.lock() {
            *s = st;
        }
        // The book is rebuilt from the manager's maps: O(conversations). Keep it fresh
        // while it is small; under a flood of conversations refresh it once a second so
        // the rebuild neither eats the control core nor sweeps the caches the workers use.
        let period = if self.rm.conversations() < 1024 {
            PUBLISH_MS
        } else {
            1000
        };
        if now_ms.wrapping_sub(self.last_book_ms) >= period && self.rm.take_dirty() {
            self.last_book_ms = now_ms;
            let book = self.rm.book();
            if let Ok(mut b) = self.book.lock() {
                *b = book;
            }
        }
    }

    /// What the run loop waits on before it stops the workers: packets handed off and not
    /// yet sent.
    fn publish_backlog(&self) {
        let held: usize = self.links.iter().map(|l| l.handoff.len()).sum();
        self.backlog
            .store((held + self.pending.len()) as u64, Ordering::Release);
    }
}

impl<P: PortIo + 'static> Attachment for Gateway<P> {
    fn wants(&self, kind: EventKind) -> bool {
        match kind {
            EventKind::Matched(_) => true,
            // A close matters only while conversations hold sessions.
            EventKind::Closed(_) => self.rm.holds_sessions() || self.nat.holds_sessions(),
            EventKind::Created | EventKind::Changed => false,
        }
    }

    fn forget_gone(
        &mut self,
        worker: WorkerId,
        live: &std::collections::HashMap<u32, (u32, svcard_dataplane::flow::FlowKey)>,
        began: std::time::Instant,
    ) {
        self.nat.forget_gone(worker, live, began);
        self.rm.forget_gone(worker, live, began);
        self.settle();
    }

    fn on_event(&mut self, _worker: WorkerId, ev: &Event) {
        match ev.kind {
            EventKind::Matched(pinhole) => {
                // The clock only where it is used: events come by millions a second.
                let now_ms = self.clock.now_ms();
                self.nat.child_matched(pinhole, ev.view.id);
                if let Some(id) = self.rm.child_matched(pinhole, &ev.view, now_ms) {
                    // Used up: the other workers drop their copies.
                    self.broadcast(|seq| AlgCommand::RemovePinhole { seq, id });
                }
            }
            EventKind::Closed(_) => {
                self.nat.session_closed(ev.view.id, &ev.view.key);
                self.rm.session_closed(&ev.view);
                self.settle();
            }
            EventKind::Created | EventKind::Changed => {}
        }
    }

    fn poll(&mut self) -> bool {
        if !self.started {
            self.started = true;
            if let Some(tx) = self.tx.as_mut() {
                if let Err(e) = tx.thread_init() {
                    // Without our own queues, packets go back through their workers.
                    eprintln!("svcard: control core TX queues unusable ({e}); ALG packets leave through the workers");
                    self.tx = None;
                }
            }
        }
        if self.live.generation() != self.generation {
            self.generation = self.live.generation();
            self.rm.set_config(self.live.current());
        }
        let now_ms = self.clock.now_ms();
        let mut did = self.release_pending();
        for w in 0..self.links.len() {
            for _ in 0..HANDOFF_BUDGET {
                let Some(h) = self.links[w].handoff.pop() else {
                    break;
                };
                did = true;
                self.on_handoff(WorkerId::from_index(w).unwrap_or_default(), h, now_ms);
            }
        }
        self.settle();
        self.flush();
        if now_ms.wrapping_sub(self.last_tick_ms) >= TIMER_TICK_MS {
            self.last_tick_ms = now_ms;
            self.tick(now_ms);
        }
        self.publish_backlog();
        if now_ms.wrapping_sub(self.last_publish_ms) >= PUBLISH_MS {
            self.last_publish_ms = now_ms;
            self.publish(now_ms);
        }
        did
    }
}

fn ip_of(family: u8, slot: &[u8; 16]) -> IpAddr {
    if family == 6 {
        IpAddr::V6(Ipv6Addr::from(*slot))
    } else {
        IpAddr::V4(Ipv4Addr::new(slot[0], slot[1], slot[2], slot[3]))
    }
}

/// The parent's endpoints as its ALG sees them when it is translated: the private side's
/// own endpoint, not the public one its packets leave with.
fn private_ctx(mut ctx: FlowCtx, nat: Option<HandoffNat>) -> FlowCtx {
    if let Some(n) = nat {
        let private = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(n.private.0)), n.private.1);
        if n.private_initiates {
            ctx.initiator = private;
        } else {
            ctx.responder = private;
        }
    }
    ctx
}

/// The parent's endpoints as the ALG sees them, from one of its packets.
fn flow_ctx(p: &Parsed, from_initiator: bool) -> FlowCtx {
    let src = SocketAddr::new(ip_of(p.family, &p.src), p.sport);
    let dst = SocketAddr::new(ip_of(p.family, &p.dst), p.dport);
    let (i, r) = if from_initiator {
        (src, dst)
    } else {
        (dst, src)
    };
    FlowCtx::new(Proto(p.proto), i, r)
}
