//! The worker: its setup, its state, and the poll loop that runs the stages
//! ([`super::stages`]) and the work between bursts ([`super::between`]).

use crate::clock::Clock;
use crate::handoff::AlgLink;
use crate::offload::{ModelCells, OffloadLink};
use crate::port::{Burst, PortIo};
use crate::ring::{EventKind, WireEvent, WorkerRings};
use crate::session::pinhole::PinholeTable;
use crate::session::SessionTable;
use crate::stats::{Counter, Gauge, LocalStats, SharedStats};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use svcard_config::{Config, PortId, WorkerId};

use super::types::*;

/// What a worker needs from outside.
#[derive(Debug, Clone)]
pub struct WorkerSetup {
    /// The worker (its index is also its RX/TX queue index).
    pub index: WorkerId,
    /// Worker count (for per-worker shares of card-wide limits).
    pub workers: u16,
    /// The configuration.
    pub config: Arc<Config>,
    /// Rings to and from the control core.
    pub rings: Arc<WorkerRings>,
    /// Where counters are published.
    pub stats: Arc<SharedStats>,
    /// The shared clock.
    pub clock: Clock,
    /// Set to stop the loop.
    pub stop: Arc<AtomicBool>,
    /// Set by the worker when its RX sources are exhausted and everything it received has
    /// been handled (pcap replay ended).
    pub drained: Arc<AtomicBool>,
}

/// One worker: its port queues, its session shard, its counters.
#[derive(Debug)]
pub struct Worker<P: PortIo> {
    pub(super) setup: WorkerSetup,
    pub(super) io: P,
    pub(super) table: SessionTable,
    pub(super) stats: LocalStats,
    pub(super) out: Vec<Burst<P::Pkt>>,
    pub(super) peers: Vec<u16>,
    /// The burst being handled and what its passes found (empty between polls).
    pub(super) stage: Box<Stage>,
    pub(super) rx: Burst<P::Pkt>,
    /// Where stage C forwards in place.
    pub(super) back: InPlace,
    pub(super) query: Option<ActiveQuery>,
    pub(super) ss_sessions: Vec<u32>,
    pub(super) ss_limits: Vec<u32>,
    pub(super) tokens: u64,
    pub(super) token_rate_per_ms: u64,
    pub(super) last_refill_ms: u32,
    pub(super) loops_since_publish: u64,
    /// This worker's end of its event ring (taken from `setup.rings` at start; `None` only
    /// if another worker took it, and then every event counts as lost).
    pub(super) events: Option<rtrb::Producer<WireEvent>>,
    /// Start of the current loop iteration, ns (for [`LocalStats::loops`]).
    pub(super) last_loop_ns: u64,
    /// Packets the previous iteration received (0: it was idle, and is not timed).
    pub(super) last_received: u64,
    /// Loop times recorded since the last publish.
    pub(super) loops_dirty: bool,
    pub(super) lifetime_s: u32,
    /// Each service set's lifetime (its own, else the global one; 0: none).
    pub(super) ss_lifetimes: Vec<u32>,
    /// The link to the control core's ALGs (none: Watch sessions are forwarded here).
    pub(super) alg: Option<Arc<AlgLink<P::Pkt>>>,
    /// Pinholes the control core installed.
    pub(super) pinholes: PinholeTable,
    /// ICMP errors are tied to the session they quote (the ICMP ALG is on).
    pub(super) icmp_alg: bool,
    /// The link to the offload manager (none: offload is off, no session is armed).
    pub(super) offload: Option<Arc<OffloadLink>>,
    /// The NIC model's counter cells (backend `model`): offloaded sessions' packets take
    /// the emulated hardware path.
    pub(super) model: Option<Arc<ModelCells>>,
    /// Frames may carry a NIC's mark naming their session ([`Worker::with_marks`]).
    pub(super) marks: bool,
    /// Early age-out runs (the table rose to its high watermark and has not fallen to its
    /// low one); the sweep's next slot.
    pub(super) early: Option<u32>,
    /// The service sets' card-wide session budget, shared with the other workers (none:
    /// each worker holds an even share of each limit, `ss_limits`).
    pub(super) budget: Option<Arc<super::ServiceSetBudget>>,
    /// The datagrams whose first fragment was seen: their later fragments follow its
    /// session.
    pub(super) frags: super::frag::FragTable,
    /// The service sets' TCP checks (`tcp-session`).
    pub(super) tcp_checks: crate::session::tcp_window::TcpChecks,
    /// Source NAT: this worker's share of the pools (none: no NAT configured).
    pub(super) nat: Option<Box<super::NatShare>>,
}

impl<P: PortIo> Worker<P> {
    /// A worker over `io` with a session table of `capacity` sessions.
    #[must_use]
    pub fn new(setup: WorkerSetup, io: P, capacity: u32) -> Self {
        let (now_ms, _) = setup.clock.now();
        let cfg = &setup.config;
        // Source NAT: a share of every pool, and a table with room for second wings. A
        // worker count that is not a power of two cannot steer replies: the engine refuses
        // it at start; here the worker then translates nothing.
        let nat = (!cfg.nat.rules.is_empty())
            .then(|| super::NatShare::new(cfg, setup.workers, setup.index.0, capacity))
            .flatten()
            .map(Box::new);
        let mut table = SessionTable::new(setup.index, capacity, now_ms);
        if nat.is_some() {
            table = table.with_wings();
        }
        if cfg.checks_tcp_segments() {
            table = table.with_tcp_windows();
        }
        let r = *super::Reconfig::new(Arc::clone(cfg), setup.workers);
        // Each service set's lifetime (its own, else the global one): the table checks each
        // session against its set's.
        table.set_service_set_lifetimes(&r.table_lifetimes);
        let nports = io.port_count();
        let peers = (0..nports)
            .map(|p| cfg.ports.get(p).map_or(p as u16, |port| port.peer as u16))
            .collect();
        let mut stats = LocalStats::default();
        stats.set_gauge(Gauge::Capacity, u64::from(capacity));
        stats.set_gauge(
            Gauge::TableBytes,
            (table.memory_bytes() + nat.as_ref().map_or(0, |n| n.memory_bytes())) as u64,
        );
        Self {
            out: (0..nports).map(|_| Burst::default()).collect(),
            peers,
            stage: Box::default(),
            back: InPlace {
                port: NO_PORT,
                slot: 0,
                kept: 0,
            },
            rx: {
                let mut b = Burst::default();
                b.set_limit(usize::from(cfg.workers.burst));
                b
            },
            query: None,
            ss_sessions: r.ss_sessions,
            ss_limits: r.ss_limits,
            // Token bucket in milli-sessions: rate/s == rate milli-sessions per ms.
            tokens: r.token_rate_per_ms * 1000,
            token_rate_per_ms: r.token_rate_per_ms,
            last_refill_ms: now_ms,
            loops_since_publish: 0,
            events: setup.rings.events.take_producer(),
            last_loop_ns: 0,
            last_received: 0,
            loops_dirty: false,
            lifetime_s: r.lifetime_s,
            ss_lifetimes: r.ss_lifetimes,
            alg: None,
            pinholes: PinholeTable::new(1),
            icmp_alg: r.icmp_alg,
            offload: None,
            model: None,
            marks: false,
            early: None,
            budget: None,
            frags: super::frag::FragTable::default(),
            tcp_checks: r.tcp_checks,
            nat,
            stats,
            table,
            io,
            setup,
        }
    }

    /// Connects the worker to the control core's ALGs: packets of sessions whose ALG the
    /// link watches go to the control core, and pinholes come back.
    #[must_use]
    pub fn with_alg_link(mut self, link: Arc<AlgLink<P::Pkt>>) -> Self {
        self.pinholes = PinholeTable::new(link.pinhole_capacity);
        self.alg = Some(link);
        self
    }

    /// Connects the worker to the offload manager: sessions are armed under their
    /// service set's offload policy (when the configuration has one).
    #[must_use]
    pub fn with_offload_link(mut self, link: Arc<OffloadLink>) -> Self {
        if self.setup.config.offload_enabled() {
            self.model.clone_from(&link.model);
            self.marks = link.marks;
            self.offload = Some(link);
        }
        self
    }

    /// Shares the service sets' session limits with the other workers: one card-wide
    /// budget instead of an even share each.
    #[must_use]
    pub fn with_budget(mut self, budget: Arc<super::ServiceSetBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Shares the card-wide ports of the deterministic NAT blocks (one
    /// [`DetPorts`](crate::nat::DetPorts) for every worker).
    #[must_use]
    pub fn with_det_ports(mut self, ports: Arc<crate::nat::DetPorts>) -> Self {
        if let Some(n) = self.nat.as_deref_mut() {
            n.det = Some(ports);
        }
        self
    }

    /// Shares the card-wide addresses dynamic NAT44 hosts hold (one
    /// [`AddrOwners`](crate::nat::AddrOwners) for every worker).
    #[must_use]
    pub fn with_addr_owners(mut self, owners: Arc<crate::nat::AddrOwners>) -> Self {
        if let Some(n) = self.nat.as_deref_mut() {
            n.owners = Some(owners);
        }
        self
    }

    /// Honours the marks a NIC's flow rules put on frames (`rte_flow` `MARK` with the
    /// session's ID: partial offload, where the device can classify but not forward): a
    /// marked frame goes to the session its mark names, compared on its key, without the
    /// hash-table lookup. A stale mark (its session gone, its slot reused) fails the compare
    /// and the frame is looked up as any other. Set from the offload link when the backend
    /// can mark; tools and tests set it directly.
    #[must_use]
    pub fn with_marks(mut self, on: bool) -> Self {
        self.marks = on;
        self
    }

    /// The session table (for tests and tools).
    #[must_use]
    pub fn table(&self) -> &SessionTable {
        &self.table
    }

    /// The worker's ports (for tests and tools that feed them).
    #[must_use]
    pub fn io_mut(&mut self) -> &mut P {
        &mut self.io
    }

    /// The worker's own counters.
    #[must_use]
    pub fn stats(&self) -> &LocalStats {
        &self.stats
    }

    /// Runs until the stop flag is set.
    pub fn run(&mut self) {
        while !self.setup.stop.load(Ordering::Relaxed) {
            if !self.poll() {
                core::hint::spin_loop();
            }
        }
        self.finish();
    }

    /// At stop: what is queued for transmit is sent, then the counters are published (a
    /// received burst is handled whole in the poll that received it: nothing else is in
    /// flight).
    pub fn finish(&mut self) {
        self.flush_out();
        self.publish();
    }

    /// One loop iteration. Returns true when it received packets.
    pub fn poll(&mut self) -> bool {
        let (now_ms, now_s, now_ns) = self.setup.clock.now_ns();
        if self.last_received > 0 {
            // The previous iteration received packets: it took until now.
            let ns = now_ns.saturating_sub(self.last_loop_ns);
            self.stats.loops.record(ns, self.last_received);
            self.loops_dirty = true;
        }
        self.last_loop_ns = now_ns;
        self.stats.inc(Counter::Loops);
        // What the ALGs sent (pinholes, actions, closes) applies to the packets received
        // next.
        self.alg_work(now_ms, now_s);
        self.offload_work(now_ms);
        let mut received = 0usize;
        for port in 0..self.io.port_count() as u16 {
            let n = self.io.rx_burst(PortId(port), &mut self.rx);
            if n > 0 {
                received += n;
                if self.marks {
                    self.stage_a::<true>(port);
                } else {
                    self.stage_a::<false>(port);
                }
                self.stage_b();
                if self.offload.is_some() {
                    self.stage_c::<true>(now_ms, now_s);
                } else {
                    self.stage_c::<false>(now_ms, now_s);
                }
            }
        }
        self.flush_out();
        self.refill_tokens(now_ms);
        self.expire(now_ms, now_s);
        self.early_ageout(now_ms, now_s);
        self.commands();
        self.run_query(now_ms, now_s, received > 0);
        self.loops_since_publish += 1;
        if received == 0 {
            self.stats.inc(Counter::IdleLoops);
            if self.io.rx_finished() && !self.setup.drained.load(Ordering::Relaxed) {
                self.publish();
                self.setup.drained.store(true, Ordering::Release);
            }
        }
        if received == 0 || self.loops_since_publish >= PUBLISH_EVERY {
            self.take_reconfig();
            self.publish();
        }
        self.last_received = received as u64;
        received > 0
    }

    pub(super) fn publish(&mut self) {
        self.loops_since_publish = 0;
        self.publish_nat();
        self.stats
            .set_gauge(Gauge::Sessions, u64::from(self.table.len()));
        self.setup
            .stats
            .publish_with(&self.stats, core::mem::take(&mut self.loops_dirty));
        self.stats.service_sets_dirty = false;
    }

    pub(super) fn refill_tokens(&mut self, now_ms: u32) {
        if self.token_rate_per_ms == 0 {
            return;
        }
        let dt = u64::from(now_ms.wrapping_sub(self.last_refill_ms));
        if dt > 0 {
            self.last_refill_ms = now_ms;
            // At most one second of burst.
            self.tokens =
                (self.tokens + dt * self.token_rate_per_ms).min(self.token_rate_per_ms * 1000);
        }
    }

    pub(super) fn flush_out(&mut self) {
        for port in 0..self.out.len() {
            self.send_queued(port as u16);
        }
    }

    /// Transmits what is queued for `port`, counted.
    pub(super) fn send_queued(&mut self, port: u16) {
        let Some(out) = self.out.get_mut(usize::from(port)) else {
            return;
        };
        let n = out.len();
        if n == 0 {
            return;
        }
        let sent = self.io.tx_burst(PortId(port), out);
        self.stats.add(Counter::TxPackets, sent as u64);
        self.stats.add(Counter::TxDropped, (n - sent) as u64);
    }

    pub(super) fn emit(&mut self, kind: EventKind, slot: u32, now_ms: u32, now_s: u32) {
        self.push_event(WireEvent::of(kind, &self.table, slot, now_ms, now_s));
    }

    /// Sends an event to the control core; a full ring loses it, counted.
    pub(super) fn push_event(&mut self, ev: WireEvent) {
        if !send_event(&mut self.events, ev) {
            self.stats.inc(Counter::EventRingFull);
        }
    }

    #[inline(always)]
    pub(super) fn queue_out(&mut self, port: u16, mut pkt: P::Pkt) {
        if port == self.back.port {
            // A packet of the burst being handled, forwarded to the peer: back into its
            // slot, so that it leaves in arrival order with those that stayed in theirs.
            match self.rx.put_back(self.back.slot, pkt) {
                Ok(()) => {
                    self.back.kept += 1;
                    return;
                }
                Err(p) => pkt = p,
            }
        }
        let Some(out) = self.out.get(usize::from(port)) else {
            self.stats.inc(Counter::TxDropped);
            return;
        };
        if out.is_full() {
            self.send_queued(port);
        }
        if let Err(pkt) = self.out[usize::from(port)].push(pkt) {
            drop(pkt);
            self.stats.inc(Counter::TxDropped);
        }
    }
}
