//! The worker poll loop: one pinned core, run to completion, never blocks, never allocates
//! after start, never logs.
//!
//! Per burst, in the poll that receives it: parse, look the whole burst up with prefetch,
//! update or create sessions, act (Forward, Drop, Reject, Watch, Bypass), transmit, free
//! what was not sent. Between bursts: apply what the ALGs sent (before the receive, so a
//! pinhole holds for the next packets), advance the timer wheel (idle timeouts), work on
//! the current query in a bounded slice, publish counters.

use crate::clock::Clock;
use crate::flow::{Direction, Family, FlowKey, V4Words};
use crate::handoff::{bump, AlgCommand, AlgLink, Handoff};
use crate::port::{Burst, PacketBuf, PortIo, BURST};
use crate::query::SessionFilter;
use crate::ring::{
    CloseReason, Command, Event, EventKind, QueryCounts, QueryKind, Reply, ReplyBody, WorkerRings,
};
use crate::session::pinhole::{PinholeSpec, PinholeTable};
use crate::session::tcp::TcpPhase;
use crate::session::{bits, split_session_id, Action, Session, SessionTable, TcpState, Validity};
use crate::stats::{Counter, Gauge, LocalStats, SharedStats};
use crate::wire::{self, Outcome, Parsed};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use svcard_config::{AlgKind, Config, LimitPolicy, RuleAction, TimeoutClass};

/// Sessions a query visits per loop iteration.
const QUERY_SLICE: usize = 256;
/// Sessions a query visits per loop iteration while packets are arriving: one per packet
/// of a full burst, so a walk's share of the worker and its speed do not depend on the
/// burst size (at 32 with 64-packet bursts a 1M-session walk under load went from 9.2 s to
/// more than 10 s).
const QUERY_SLICE_BUSY: usize = BURST;
/// Sessions the timer wheel may check (and expire) per loop iteration: twice a burst, so
/// expiry outpaces creation (at most a burst of new sessions per iteration) while one
/// iteration's expiry work stays bounded. Each expiry costs a few hundred ns at millions
/// of sessions (its session, index and event lines are cold); at 512, the setup-rate
/// scenario's per-burst times had a p90 of 172 us and a p99 of 205 us, at 128 70 us and
/// 78-86 us, with as many new sessions per second (a NIC ring of 1024 descriptors at
/// 10 Mpps holds about 100 us).
const EXPIRE_BUDGET: usize = 2 * BURST;
/// Loop iterations between counter publications (also published on every idle loop): at
/// full load about 8k frames, a few milliseconds.
const PUBLISH_EVERY: u64 = 128;
/// ALG commands (pinholes, closes) applied per loop iteration.
const ALG_COMMAND_BUDGET: usize = 256;

/// What a worker needs from outside.
#[derive(Debug, Clone)]
pub struct WorkerSetup {
    /// Worker index (0-based; also the RX/TX queue index).
    pub index: u16,
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

#[derive(Debug, Clone, Copy)]
struct ActiveQuery {
    id: u32,
    filter: SessionFilter,
    kind: QueryKind,
    cursor: u32,
    sent: u64,
    counts: QueryCounts,
    done: bool,
}

/// One received burst as its three passes see it (A: parsed, home buckets prefetched; B:
/// candidates found, sessions prefetched; C: resolved and acted on). A burst goes through
/// all three in the poll that receives it; the prefetches of one pass have the next pass's
/// work on the packets before them to land.
#[derive(Debug)]
struct Stage {
    /// The port it arrived on.
    port: u16,
    /// Frames in the burst.
    n: usize,
    /// Per frame: index into the IP arrays (with [`FAST`] when its key is in `v4`),
    /// [`NOT_IP`] or [`GONE`].
    kind: [u8; BURST],
    /// IP frames.
    m: usize,
    /// Plain IPv4 UDP/TCP frames (their keys in `v4`): when all `n` are, frame `i` is IP
    /// packet `i` and stage C skips the `kind` indirection.
    fast: usize,
    meta: [Meta; BURST],
    /// Keys of the frames the full parser read.
    keys: [FlowKey; BURST],
    /// Keys of the plain IPv4 UDP/TCP frames, as their three words: 24 bytes built and
    /// stored instead of 40, compared on three words.
    v4: [V4Words; BURST],
    hashes: [u64; BURST],
    dirs: [Direction; BURST],
    cand: [u32; BURST],
}

const NOT_IP: u8 = u8::MAX;
const GONE: u8 = u8::MAX - 1;
/// In a [`Stage`]'s `kind`: the frame's key is in `v4` (indices stay below it).
const FAST: u8 = 0x40;
const _: () = assert!(BURST <= FAST as usize && (FAST as usize) << 1 < GONE as usize);

/// What an established TCP session's segment needs of its parse (16 bytes instead of the whole
/// [`Parsed`]); the rare paths that need more (a new session, a reject) parse the frame
/// again, while it is still in cache. Only TCP segments read it (the session's key gives
/// the protocol), so the hot path stores it for TCP frames only.
#[derive(Debug, Clone, Copy, Default)]
struct Meta {
    tcp_seq: u32,
    tcp_ack: u32,
    payload_len: u16,
    fragment: u8,
    tcp_flags: u8,
}

impl Meta {
    /// From the hot path's parse (never a fragment).
    #[inline(always)]
    fn of_fast(f: &wire::FastV4) -> Meta {
        Meta {
            tcp_seq: f.tcp_seq,
            tcp_ack: f.tcp_ack,
            payload_len: f.payload_len,
            fragment: 0,
            tcp_flags: f.tcp_flags,
        }
    }

    #[inline]
    fn of(p: &Parsed) -> Meta {
        Meta {
            tcp_seq: p.tcp_seq,
            tcp_ack: p.tcp_ack,
            payload_len: p.payload_len,
            fragment: p.fragment,
            tcp_flags: p.tcp_flags,
        }
    }
}

impl Stage {
    /// Records frame `i` as IP packet `m` (then `m + 1`), whose key the full parser read:
    /// its key, hash, direction and meta, and prefetches its home bucket.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn push_ip(
        &mut self,
        table: &SessionTable,
        i: usize,
        m: &mut usize,
        k: FlowKey,
        d: Direction,
        meta: Meta,
    ) {
        let j = *m & (BURST - 1);
        self.keys[j] = k;
        self.meta[j] = meta;
        self.push_tail(table, i, m, k.hash(), d, 0);
    }

    /// [`push_ip`](Self::push_ip) for a plain IPv4 UDP/TCP frame, its key as three words;
    /// its [`Meta`] is stored only for TCP (nothing else reads it).
    #[inline(always)]
    fn push_v4(
        &mut self,
        table: &SessionTable,
        i: usize,
        m: &mut usize,
        w: V4Words,
        d: Direction,
        f: &wire::FastV4,
    ) {
        let j = *m & (BURST - 1);
        self.v4[j] = w;
        if f.proto == 6 {
            self.meta[j] = Meta::of_fast(f);
        }
        self.push_tail(table, i, m, w.hash(), d, FAST);
    }

    #[inline(always)]
    fn push_tail(
        &mut self,
        table: &SessionTable,
        i: usize,
        m: &mut usize,
        h: u64,
        d: Direction,
        flag: u8,
    ) {
        table.prefetch_bucket(h);
        let j = *m & (BURST - 1);
        self.hashes[j] = h;
        self.dirs[j] = d;
        self.kind[i & (BURST - 1)] = j as u8 | flag;
        *m += 1;
    }
}

impl Default for Stage {
    fn default() -> Self {
        Stage {
            port: 0,
            n: 0,
            kind: [GONE; BURST],
            m: 0,
            fast: 0,
            meta: [Meta::default(); BURST],
            keys: [FlowKey::default(); BURST],
            v4: [V4Words::default(); BURST],
            hashes: [0; BURST],
            dirs: [Direction::AtoB; BURST],
            cand: [u32::MAX; BURST],
        }
    }
}

/// Puts `ev` on the worker's event ring; false if the ring is full (or the worker has no
/// end of it).
#[inline]
fn send_event(ring: &mut Option<rtrb::Producer<Event>>, ev: Event) -> bool {
    ring.as_mut().is_some_and(|p| p.push(ev).is_ok())
}

/// The validity of a session in the table.
#[inline]
#[must_use]
pub fn validity(s: &Session) -> Validity {
    crate::session::validity(s.key.proto, s.tcp, s.bits)
}

fn gauge_of(v: Validity) -> Gauge {
    match v {
        Validity::Valid => Gauge::Valid,
        Validity::Pending => Gauge::Pending,
        Validity::Invalidated => Gauge::Invalidated,
    }
}

fn timeout_class(proto: u8, tcp: TcpState) -> TimeoutClass {
    match proto {
        6 => match tcp.phase() {
            TcpPhase::SynSent | TcpPhase::SynReceived => TimeoutClass::TcpSyn,
            TcpPhase::Established => TimeoutClass::TcpEstablished,
            TcpPhase::Closing => TimeoutClass::TcpClosing,
            TcpPhase::Closed => TimeoutClass::TcpClosed,
        },
        17 => TimeoutClass::Udp,
        1 | 58 => TimeoutClass::Icmp,
        _ => TimeoutClass::Other,
    }
}

fn ip_of(family: u8, slot: &[u8; 16]) -> IpAddr {
    if family == 6 {
        IpAddr::V6(Ipv6Addr::from(*slot))
    } else {
        IpAddr::V4(Ipv4Addr::new(slot[0], slot[1], slot[2], slot[3]))
    }
}

/// One worker: its port queues, its session shard, its counters.
#[derive(Debug)]
pub struct Worker<P: PortIo> {
    setup: WorkerSetup,
    io: P,
    table: SessionTable,
    stats: LocalStats,
    out: Vec<Burst<P::Pkt>>,
    peers: Vec<u16>,
    /// The burst being handled and what its passes found (empty between polls).
    stage: Box<Stage>,
    rx: Burst<P::Pkt>,
    /// Where stage C forwards in place.
    back: InPlace,
    query: Option<ActiveQuery>,
    ss_sessions: Vec<u32>,
    ss_limits: Vec<u32>,
    tokens: u64,
    token_rate_per_ms: u64,
    last_refill_ms: u32,
    loops_since_publish: u64,
    /// This worker's end of its event ring (taken from `setup.rings` at start; `None` only
    /// if another worker took it, and then every event counts as lost).
    events: Option<rtrb::Producer<Event>>,
    /// Start of the current loop iteration, ns (for [`LocalStats::loops`]).
    last_loop_ns: u64,
    /// Packets the previous iteration received (0: it was idle, and is not timed).
    last_received: u64,
    /// Loop times recorded since the last publish.
    loops_dirty: bool,
    lifetime_s: u32,
    /// The link to the control core's ALGs (none: Watch sessions are forwarded here).
    alg: Option<Arc<AlgLink<P::Pkt>>>,
    /// Pinholes the control core installed.
    pinholes: PinholeTable,
    /// ICMP errors are tied to the session they quote (the ICMP ALG is on).
    icmp_alg: bool,
}

/// Stage C forwards in place: the packets of a burst that go to its peer port stay in (or
/// go back to) their slots of the received burst, which is then transmitted as it is.
#[derive(Debug, Clone, Copy)]
struct InPlace {
    /// The peer of the burst being handled ([`NO_PORT`] outside stage C).
    port: u16,
    /// The slot of the packet a slow path took out ([`Worker::take_for_slow_path`]).
    slot: usize,
    /// Packets in the burst's slots to send.
    kept: usize,
}

/// No port ([`InPlace::port`] outside stage C).
const NO_PORT: u16 = u16::MAX;

/// How a new session is admitted: by the policy, or through a pinhole.
#[derive(Debug, Clone, Copy)]
struct Admission {
    service_set: u16,
    rule: u16,
    application: u16,
    action: Action,
    timeout: u32,
    pinhole: Option<u32>,
}

impl<P: PortIo> Worker<P> {
    /// A worker over `io` with a session table of `capacity` sessions.
    #[must_use]
    pub fn new(setup: WorkerSetup, io: P, capacity: u32) -> Self {
        let (now_ms, _) = setup.clock.now();
        let table = SessionTable::new(setup.index, capacity, now_ms);
        let cfg = &setup.config;
        let nports = io.port_count();
        let peers = (0..nports)
            .map(|p| cfg.ports.get(p).map_or(p as u16, |port| port.peer as u16))
            .collect();
        let workers = u32::from(setup.workers.max(1));
        let ss_limits = cfg
            .service_sets
            .iter()
            .map(|ss| ss.max_sessions.map_or(u32::MAX, |m| m.div_ceil(workers)))
            .collect();
        let rate = cfg
            .limits
            .setup_rate
            .map_or(0, |r| u64::from(r.div_ceil(workers)));
        let mut stats = LocalStats::default();
        stats.set_gauge(Gauge::Capacity, u64::from(capacity));
        stats.set_gauge(Gauge::TableBytes, table.memory_bytes() as u64);
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
            ss_sessions: vec![0; cfg.service_sets.len()],
            ss_limits,
            // Token bucket in milli-sessions: rate/s == rate milli-sessions per ms.
            tokens: rate * 1000,
            token_rate_per_ms: rate,
            last_refill_ms: now_ms,
            loops_since_publish: 0,
            events: setup.rings.events.take_producer(),
            last_loop_ns: 0,
            last_received: 0,
            loops_dirty: false,
            lifetime_s: cfg.timeouts.lifetime,
            alg: None,
            pinholes: PinholeTable::new(1),
            icmp_alg: cfg.algs[AlgKind::Icmp].enabled,
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

    /// The session table (for tests and tools).
    #[must_use]
    pub fn table(&self) -> &SessionTable {
        &self.table
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
        let mut received = 0usize;
        for port in 0..self.io.port_count() as u16 {
            let n = self.io.rx_burst(port, &mut self.rx);
            if n > 0 {
                received += n;
                self.stage_a(port);
                self.stage_b();
                self.stage_c(now_ms, now_s);
            }
        }
        self.flush_out();
        self.refill_tokens(now_ms);
        self.expire(now_ms, now_s);
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
            self.publish();
        }
        self.last_received = received as u64;
        received > 0
    }

    fn publish(&mut self) {
        self.loops_since_publish = 0;
        self.stats
            .set_gauge(Gauge::Sessions, u64::from(self.table.len()));
        self.setup
            .stats
            .publish_with(&self.stats, core::mem::take(&mut self.loops_dirty));
    }

    fn refill_tokens(&mut self, now_ms: u32) {
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

    fn flush_out(&mut self) {
        for port in 0..self.out.len() {
            self.send_queued(port as u16);
        }
    }

    /// Transmits what is queued for `port`, counted.
    fn send_queued(&mut self, port: u16) {
        let Some(out) = self.out.get_mut(usize::from(port)) else {
            return;
        };
        let n = out.len();
        if n == 0 {
            return;
        }
        let sent = self.io.tx_burst(port, out);
        self.stats.add(Counter::TxPackets, sent as u64);
        self.stats.add(Counter::TxDropped, (n - sent) as u64);
    }

    fn emit(&mut self, kind: EventKind, slot: u32, now_ms: u32, now_s: u32) {
        let view = self.table.view(slot, now_ms, now_s);
        self.push_event(Event { kind, view });
    }

    /// Sends an event to the control core; a full ring loses it, counted.
    fn push_event(&mut self, ev: Event) {
        if !send_event(&mut self.events, ev) {
            self.stats.inc(Counter::EventRingFull);
        }
    }

    #[inline(always)]
    fn queue_out(&mut self, port: u16, mut pkt: P::Pkt) {
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

    /// Stage A: parse every frame once, build its key and hash, prefetch its bucket.
    fn stage_a(&mut self, port: u16) {
        let rx = &mut self.rx;
        let st = &mut *self.stage;
        let n = rx.len();
        st.port = port;
        st.n = n;
        let mut m = 0usize;
        let mut fast = 0usize;
        let mut bytes = 0u64;
        let mut malformed = 0u64;
        for i in 0..n {
            st.kind[i] = GONE;
            let Some(pkt) = rx.get(i) else { continue };
            let data = pkt.data();
            bytes += data.len() as u64;
            // The commonest frame (untagged IPv4, UDP or TCP) in a few loads; the rest
            // through the full parser.
            if let Some(f) = wire::parse_fast_v4(data) {
                let (w, d) = V4Words::of(f.proto, f.src, f.sport, f.dst, f.dport);
                st.push_v4(&self.table, i, &mut m, w, d, &f);
                fast += 1;
                continue;
            }
            match wire::parse(data) {
                Outcome::Ip(p) => {
                    let fam = if p.family == 6 {
                        Family::V6
                    } else {
                        Family::V4
                    };
                    let (k, d) = FlowKey::from_packet(fam, p.proto, p.src, p.sport, p.dst, p.dport);
                    st.push_ip(&self.table, i, &mut m, k, d, Meta::of(&p));
                }
                Outcome::NotIp { .. } => st.kind[i] = NOT_IP,
                Outcome::Drop(reason) => {
                    malformed += 1;
                    self.stats.drops[reason as usize] += 1;
                    drop(rx.take(i));
                }
            }
        }
        st.m = m;
        st.fast = fast;
        self.stats.add(Counter::RxPackets, n as u64);
        self.stats.add(Counter::RxBytes, bytes);
        self.stats.add(Counter::Malformed, malformed);
    }

    /// Stage B: read the buckets, note each packet's candidate session, prefetch it.
    fn stage_b(&mut self) {
        let st = &mut *self.stage;
        let m = st.m;
        self.table.candidates(&st.hashes[..m], &mut st.cand[..m]);
    }

    /// Stage C: resolve each packet's session (creating new ones) and act, in arrival
    /// order.
    fn stage_c(&mut self, now_ms: u32, now_s: u32) {
        // Indices masked or clamped to the arrays' sizes: no bounds check per packet.
        const _: () = assert!(BURST.is_power_of_two());
        let port = self.stage.port;
        let n = self.stage.n.min(BURST);
        let peer = self.peers.get(usize::from(port)).copied().unwrap_or(port);
        self.back.port = peer;
        if self.stage.fast == n {
            // The common burst: every frame plain IPv4 UDP/TCP, so frame i is IP packet i
            // and there is no kind to look at.
            for i in 0..n {
                self.resolve_and_act(i, i as u8 | FAST, port, peer, now_ms, now_s);
            }
            self.end_stage_c(peer);
            return;
        }
        for i in 0..n {
            let k = self.stage.kind[i];
            if k == GONE {
                continue;
            }
            if k == NOT_IP {
                // Passed as it is: it stays in its slot, sent to the peer with the burst.
                self.stats.inc(Counter::NonIpPassed);
                self.back.kept += 1;
                continue;
            }
            self.resolve_and_act(i, k, port, peer, now_ms, now_s);
        }
        self.end_stage_c(peer);
    }

    /// The burst is handled: what stayed in its slots goes to the peer.
    #[inline(always)]
    fn end_stage_c(&mut self, peer: u16) {
        self.stage.n = 0;
        self.send_in_place(peer);
    }

    /// Stage C for IP packet `i` of kind `k`: its session found (a miss is looked up again:
    /// an earlier packet may have created it) and the packet handled.
    #[inline(always)]
    fn resolve_and_act(&mut self, i: usize, k: u8, port: u16, peer: u16, now_ms: u32, now_s: u32) {
        let j = usize::from(k) & (BURST - 1);
        let st = &*self.stage;
        // The key is read in place (a copy of its 40 bytes costs as much as the compare).
        let found = if k & FAST != 0 {
            self.table.resolve_v4(&st.v4[j], st.hashes[j], st.cand[j])
        } else {
            self.table.resolve(&st.keys[j], st.hashes[j], st.cand[j])
        };
        match found {
            Some(s) => {
                let dir = st.dirs[j];
                self.on_existing(i, s, port, peer, j, dir, now_ms, now_s);
            }
            None => self.no_session(i, k, port, peer, now_ms, now_s),
        }
    }

    /// Stage C for packet `i` (kind `k`) that has no session: parsed whole again (stage A
    /// parsed it as IP), then [`on_new`](Self::on_new). Out of line, like every path but an
    /// established session's forward, so that stage C's loop keeps its values in registers.
    #[cold]
    #[inline(never)]
    fn no_session(&mut self, i: usize, k: u8, port: u16, peer: u16, now_ms: u32, now_s: u32) {
        let Some(pkt) = self.take_for_slow_path(i) else {
            return;
        };
        let j = usize::from(k) & (BURST - 1);
        let st = &*self.stage;
        let key = if k & FAST != 0 {
            st.v4[j].key()
        } else {
            st.keys[j]
        };
        let (hash, dir) = (st.hashes[j], st.dirs[j]);
        if let Outcome::Ip(p) = wire::parse(pkt.data()) {
            self.on_new(port, peer, pkt, &p, &key, hash, dir, now_ms, now_s);
        }
    }

    /// Takes packet `i` of the burst out for a slow path; if that path forwards it to the
    /// peer, [`queue_out`](Self::queue_out) puts it back into this slot.
    #[inline]
    fn take_for_slow_path(&mut self, i: usize) -> Option<P::Pkt> {
        self.back.slot = i;
        self.rx.take(i)
    }

    /// Sends what stayed in the received burst to the peer, in arrival order, after what
    /// was queued for the peer before the burst.
    fn send_in_place(&mut self, peer: u16) {
        let kept = core::mem::take(&mut self.back.kept);
        self.back.port = NO_PORT;
        self.send_queued(peer);
        let sent = if kept > 0 {
            self.io.tx_burst(peer, &mut self.rx)
        } else {
            0
        };
        // Whatever is left (nothing kept, or a port without TX) is freed.
        self.rx.drain().for_each(drop);
        self.stats.add(Counter::TxPackets, sent as u64);
        self.stats
            .add(Counter::TxDropped, kept.saturating_sub(sent) as u64);
    }

    /// A packet of an established session; `at` is its IP index in the burst (where its
    /// [`Meta`] lies, read for TCP segments only).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn on_existing(
        &mut self,
        i: usize,
        slot: u32,
        port: u16,
        peer: u16,
        at: usize,
        dir: Direction,
        now_ms: u32,
        now_s: u32,
    ) {
        let Some(len) = self.rx.get(i).map(|p| p.frame_len() as u32) else {
            return;
        };
        let s = self.table.touch(slot, dir, len, now_ms);
        let (tcp, tracker) = (s.key.proto == 6, s.tcp);
        let from_initiator = dir == s.initiator();
        let action = s.action;
        if !from_initiator && s.bits & bits::ASYMMETRIC != 0 {
            // The first packet of the reverse direction: record where it came in.
            s.bits &= !bits::ASYMMETRIC;
            self.table.info_mut(slot).ingress[dir.index()] = port as u8;
        }
        if tcp {
            // A TCP session's frames all stored their meta (the full parse's, or the hot
            // path's, which is never a fragment). A data or ACK segment of an established
            // connection cannot change its tracker: skipped.
            let meta = self.stage.meta[at & (BURST - 1)];
            if meta.fragment != 2 && !tracker.unchanged_by(meta.tcp_flags) {
                self.on_tcp(slot, from_initiator, &meta, now_ms, now_s);
            }
        }
        if action == Action::Forward as u8 {
            // The common case, without the general dispatch: the packet stays in its slot,
            // sent to the peer with the burst.
            self.back.kept += 1;
            return;
        }
        self.not_forward(i, slot, action, port, peer, from_initiator);
    }

    /// An established session's packet whose action is not a plain forward.
    #[cold]
    #[inline(never)]
    fn not_forward(
        &mut self,
        i: usize,
        slot: u32,
        action: u8,
        port: u16,
        peer: u16,
        from_initiator: bool,
    ) {
        let Some(pkt) = self.take_for_slow_path(i) else {
            return;
        };
        let action = Action::from_u8(action);
        if action == Action::Watch && self.alg.is_some() {
            self.hand_off(slot, port, peer, from_initiator, pkt);
            return;
        }
        self.act(action, port, peer, pkt);
    }

    /// TCP tracking for a segment of an existing session. The FIN sequences live in the cold
    /// part of the session: they are read only when a FIN or SYN is in play.
    #[inline(never)]
    fn on_tcp(&mut self, slot: u32, from_initiator: bool, p: &Meta, now_ms: u32, now_s: u32) {
        const FIN_OR_SYN: u8 = 0x01 | 0x02;
        let Some((s, info)) = self.table.parts_mut(slot) else {
            return;
        };
        let before = validity(s);
        let closing = matches!(s.tcp.phase(), TcpPhase::Closing | TcpPhase::Closed);
        let changed = if p.tcp_flags & FIN_OR_SYN != 0 || closing {
            s.tcp.on_segment(
                from_initiator,
                p.tcp_flags,
                p.tcp_seq,
                p.tcp_ack,
                p.payload_len,
                &mut info.fin_seq,
            )
        } else {
            let mut unused = [0u32; 2];
            s.tcp.on_segment(
                from_initiator,
                p.tcp_flags,
                p.tcp_seq,
                p.tcp_ack,
                p.payload_len,
                &mut unused,
            )
        };
        if changed.is_none() {
            return;
        }
        let after = validity(s);
        let class = timeout_class(6, s.tcp);
        let (ss, app) = (info.service_set, info.application);
        let t = self.setup.config.idle_timeout(ss, app, class);
        self.table.set_timeout(slot, t);
        if before != after {
            self.stats.gauges[gauge_of(before) as usize] -= 1;
            self.stats.gauges[gauge_of(after) as usize] += 1;
        }
        self.emit(EventKind::Changed, slot, now_ms, now_s);
    }

    /// Carries out a session's action on one packet. A reject needs the whole parse: the
    /// frame is parsed again (rare, and still in cache).
    #[inline(always)]
    fn act(&mut self, action: Action, port: u16, peer: u16, pkt: P::Pkt) {
        match action {
            Action::Forward | Action::Watch | Action::Bypass => self.queue_out(peer, pkt),
            Action::Drop => {
                self.stats.inc(Counter::PolicyDropped);
                drop(pkt);
            }
            Action::Reject => {
                self.stats.inc(Counter::Rejected);
                if let Outcome::Ip(full) = wire::parse(pkt.data()) {
                    self.reject(port, pkt, &full);
                }
            }
        }
    }

    fn reject(&mut self, port: u16, mut pkt: P::Pkt, p: &Parsed) {
        let len = pkt.data().len();
        let cap = pkt.capacity();
        if !pkt.set_len(cap) {
            self.stats.inc(Counter::RejectUnanswered);
            return;
        }
        let (answer, counter) = if p.proto == 6 {
            if p.tcp_flags & 0x04 != 0 {
                // Never answer a RST.
                (None, Counter::RstSent)
            } else {
                (
                    wire::reply::tcp_rst_in_place(pkt.data_mut(), len, p),
                    Counter::RstSent,
                )
            }
        } else {
            (
                wire::reply::icmp_unreachable_in_place(pkt.data_mut(), len, p),
                Counter::IcmpUnreachSent,
            )
        };
        // Pad to Ethernet's minimum frame (60 bytes without FCS), as a NIC would.
        let answer = answer.map(|n| {
            if n < 60 && pkt.set_len(60) {
                pkt.data_mut()[n..].fill(0);
                60
            } else {
                n
            }
        });
        match answer {
            Some(n) if pkt.set_len(n) => {
                self.stats.inc(counter);
                self.queue_out(port, pkt);
            }
            _ => self.stats.inc(Counter::RejectUnanswered),
        }
    }

    fn fail_new(&mut self, policy: LimitPolicy, peer: u16, pkt: P::Pkt, counter: Counter) {
        self.stats.inc(Counter::SessionsFailed);
        match policy {
            LimitPolicy::Bypass => {
                self.stats.inc(Counter::SessionLimitBypassed);
                self.queue_out(peer, pkt);
            }
            LimitPolicy::Drop => {
                self.stats.inc(counter);
                drop(pkt);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_new(
        &mut self,
        port: u16,
        peer: u16,
        pkt: P::Pkt,
        p: &Parsed,
        key: &FlowKey,
        hash: u64,
        dir: Direction,
        now_ms: u32,
        now_s: u32,
    ) {
        if p.fragment == 2 {
            // A non-first fragment carries no ports: without fragment tracking there is no
            // session to tie it to.
            self.stats.inc(Counter::FragmentsNoSession);
            drop(pkt);
            return;
        }
        if self.icmp_alg && p.is_icmp_error() {
            self.on_icmp_error(peer, pkt, p, now_ms);
            return;
        }
        let tcp = if p.proto == 6 {
            TcpState::new_from_first(p.tcp_flags)
        } else {
            TcpState::default()
        };
        let class = timeout_class(p.proto, tcp);
        let adm = match self
            .pinholes
            .take_match(p.proto, &p.src, p.sport, &p.dst, p.dport, now_ms)
        {
            Some(ph) => self.admit_child(&ph, class),
            None => self.admit(port, p, class),
        };
        let policy = self.setup.config.limits.at_limit;
        let ss = usize::from(adm.service_set);
        if ss < self.ss_sessions.len() && self.ss_sessions[ss] >= self.ss_limits[ss] {
            self.fail_new(policy, peer, pkt, Counter::SessionLimitDrops);
            return;
        }
        if self.token_rate_per_ms != 0 {
            if self.tokens < 1000 {
                self.fail_new(LimitPolicy::Drop, peer, pkt, Counter::SetupRateDrops);
                return;
            }
            self.tokens -= 1000;
        }
        let slot = match self.table.insert(key, hash, now_ms, now_s, adm.timeout) {
            Ok(s) => s,
            Err(_) => {
                self.fail_new(policy, peer, pkt, Counter::TableFullDrops);
                return;
            }
        };
        if ss < self.ss_sessions.len() {
            self.ss_sessions[ss] += 1;
        }
        let len = pkt.data().len() as u32;
        if let Some((s, info)) = self.table.parts_mut(slot) {
            info.service_set = adm.service_set;
            info.rule = adm.rule;
            info.application = adm.application;
            info.ingress[dir.index()] = port as u8;
            s.action = adm.action as u8;
            s.junos_flags = 0;
            s.bits = bits::ASYMMETRIC
                | if dir == Direction::BtoA {
                    bits::INITIATOR_B
                } else {
                    0
                };
            s.tcp = tcp;
        }
        let _ = self.table.touch(slot, dir, len, now_ms);
        self.stats.inc(Counter::SessionsCreated);
        let val = validity(self.table.get(slot));
        self.stats.gauges[gauge_of(val) as usize] += 1;
        if matches!(adm.action, Action::Drop | Action::Reject) {
            self.stats.gauges[Gauge::DropFlow as usize] += 1;
        }
        self.emit(EventKind::Created, slot, now_ms, now_s);
        if let Some(id) = adm.pinhole {
            self.stats.inc(Counter::PinholeMatches);
            self.emit(EventKind::Matched(id), slot, now_ms, now_s);
        }
        if adm.action == Action::Watch && self.alg.is_some() {
            self.hand_off(slot, port, peer, true, pkt);
            return;
        }
        self.act(adm.action, port, peer, pkt);
    }

    /// What the policy says of a new flow's first packet. Everything the configuration
    /// decides, under a plain borrow (no reference count traffic per new session).
    fn admit(&self, port: u16, p: &Parsed, class: TimeoutClass) -> Admission {
        let cfg: &Config = &self.setup.config;
        let v = cfg.classify(
            usize::from(port),
            p.proto,
            ip_of(p.family, &p.src),
            p.sport,
            ip_of(p.family, &p.dst),
            p.dport,
        );
        let action = match v.action {
            RuleAction::Accept => match cfg.alg_enabled(v.application) {
                // Without a link to the control core (tests, tools) a Watch session is
                // forwarded here; with one, only the ALGs the control core runs watch.
                Some(k) if self.alg.as_ref().is_none_or(|l| l.watches(k)) => Action::Watch,
                _ => Action::Forward,
            },
            RuleAction::Discard => Action::Drop,
            RuleAction::Reject => Action::Reject,
        };
        Admission {
            service_set: v.service_set,
            rule: v.rule,
            application: v.application,
            action,
            timeout: cfg.idle_timeout(v.service_set, v.application, class),
            pinhole: None,
        }
    }

    /// A child flow that matched a pinhole: permitted by its parent's policy.
    fn admit_child(&self, ph: &PinholeSpec, class: TimeoutClass) -> Admission {
        Admission {
            service_set: ph.service_set,
            rule: ph.rule,
            application: ph.application,
            action: ph.action,
            timeout: self
                .setup
                .config
                .idle_timeout(ph.service_set, ph.application, class),
            pinhole: Some(ph.id),
        }
    }

    /// An ICMP error with no session of its own (the ICMP ALG is on): it belongs to the
    /// session of the packet it quotes, is counted there and passed, or is dropped when
    /// there is no such session.
    fn on_icmp_error(&mut self, peer: u16, pkt: P::Pkt, p: &Parsed, now_ms: u32) {
        let quoted = wire::parse_icmp_error_inner(pkt.data(), p).and_then(|q| {
            let fam = if q.family == 6 {
                Family::V6
            } else {
                Family::V4
            };
            let (k, d) = FlowKey::from_packet(fam, q.proto, q.src, q.sport, q.dst, q.dport);
            let h = self.table.hash(&k);
            self.table.find(&k, h).map(|slot| (slot, d))
        });
        let Some((slot, quoted_dir)) = quoted else {
            self.stats.inc(Counter::IcmpErrorsNoSession);
            drop(pkt);
            return;
        };
        // The error travels against the packet it quotes.
        let len = pkt.data().len() as u32;
        let _ = self.table.touch(slot, quoted_dir.reverse(), len, now_ms);
        self.stats.inc(Counter::IcmpErrorsRelated);
        match Action::from_u8(self.table.get(slot).action) {
            Action::Drop | Action::Reject => {
                self.stats.inc(Counter::PolicyDropped);
                drop(pkt);
            }
            _ => self.queue_out(peer, pkt),
        }
    }

    /// Moves a Watch session's packet to the control core; a full ring loses it (counted
    /// per ALG).
    fn hand_off(&mut self, slot: u32, port: u16, peer: u16, from_initiator: bool, pkt: P::Pkt) {
        let Some(link) = self.alg.as_ref() else {
            self.queue_out(peer, pkt);
            return;
        };
        let info = self.table.info(slot);
        let Some(alg) = self.setup.config.alg_enabled(info.application) else {
            self.queue_out(peer, pkt);
            return;
        };
        let h = Handoff {
            pkt,
            port,
            egress: peer,
            session: self.table.id(slot),
            key: self.table.get(slot).key,
            from_initiator,
            alg,
            application: info.application,
            service_set: info.service_set,
            rule: info.rule,
        };
        match link.handoff.push(h) {
            Ok(()) => {
                bump(&link.handed_off[alg as usize], 1);
                self.stats.inc(Counter::HandedOff);
            }
            Err(h) => {
                bump(&link.handoff_drops[alg as usize], 1);
                self.stats.inc(Counter::HandoffRingFull);
                drop(h);
            }
        }
    }

    /// Between bursts: apply the control core's ALG commands (then publish the last one
    /// applied) and transmit what it gave back.
    fn alg_work(&mut self, now_ms: u32, now_s: u32) {
        let Some(link) = self.alg.as_ref() else {
            return;
        };
        if link.commands.is_empty() && link.returns.is_empty() {
            return;
        }
        let mut last = None;
        for _ in 0..ALG_COMMAND_BUDGET {
            let Some(cmd) = self.alg.as_ref().and_then(|l| l.commands.pop()) else {
                break;
            };
            last = Some(cmd.seq());
            match cmd {
                AlgCommand::AddPinhole { spec, .. } => {
                    if !self.pinholes.insert(spec) {
                        if let Some(l) = &self.alg {
                            bump(&l.pinhole_table_full, 1);
                        }
                    }
                }
                AlgCommand::RemovePinhole { id, .. } => {
                    self.pinholes.remove(id);
                }
                AlgCommand::SetAction {
                    session, action, ..
                } => {
                    if let Some((w, slot)) = split_session_id(session) {
                        if w == self.setup.index && self.table.is_live(slot) {
                            self.table.get_mut(slot).action = action as u8;
                            self.emit(EventKind::Changed, slot, now_ms, now_s);
                        }
                    }
                }
                AlgCommand::CloseSession { session, .. } => {
                    self.close_session(session, now_ms, now_s);
                }
            }
        }
        for _ in 0..BURST {
            let Some(r) = self.alg.as_ref().and_then(|l| l.returns.pop()) else {
                break;
            };
            self.stats.inc(Counter::ReturnedSent);
            self.queue_out(r.port, r.pkt);
        }
        if let (Some(seq), Some(l)) = (last, &self.alg) {
            l.applied.store(seq, Ordering::Release);
        }
    }

    /// Removes a session an ALG is done with (its close event says so).
    fn close_session(&mut self, id: u32, now_ms: u32, now_s: u32) {
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
    fn end_session(&mut self, slot: u32, reason: CloseReason, now_ms: u32, now_s: u32) {
        let s = *self.table.get(slot);
        self.forget(&s, self.table.info(slot).service_set);
        if reason == CloseReason::Cleared {
            self.table.get_mut(slot).bits |= bits::CLEARING;
        }
        let view = self.table.view(slot, now_ms, now_s);
        self.push_event(Event {
            kind: EventKind::Closed(reason),
            view,
        });
        self.table.remove(slot);
    }

    fn forget(&mut self, s: &Session, service_set: u16) {
        unbook(
            &mut self.ss_sessions,
            &mut self.stats.gauges,
            s,
            service_set,
        );
        self.stats.inc(Counter::SessionsClosed);
    }

    fn expire(&mut self, now_ms: u32, now_s: u32) {
        let index = self.setup.index;
        let events = &mut self.events;
        let mut lost = 0u64;
        let mut by_reason = [0u64; 3];
        let lifetime = self.lifetime_s;
        let ss_sessions = &mut self.ss_sessions;
        let gauges = &mut self.stats.gauges;
        self.table
            .expire(now_ms, now_s, lifetime, EXPIRE_BUDGET, |slot, s, info| {
                let reason = if lifetime != 0 && now_s.wrapping_sub(info.start_s) >= lifetime {
                    by_reason[1] += 1;
                    CloseReason::Lifetime
                } else if s.key.proto == 6 && s.tcp.phase() == TcpPhase::Closed {
                    by_reason[2] += 1;
                    CloseReason::TcpClose
                } else {
                    by_reason[0] += 1;
                    CloseReason::Idle
                };
                unbook(ss_sessions, gauges, s, info.service_set);
                let view = s.view(info, index, slot, now_ms, now_s);
                let ev = Event {
                    kind: EventKind::Closed(reason),
                    view,
                };
                lost += u64::from(!send_event(events, ev));
            });
        let total: u64 = by_reason.iter().sum();
        if total > 0 {
            self.stats.add(Counter::SessionsIdleExpired, by_reason[0]);
            self.stats
                .add(Counter::SessionsLifetimeExpired, by_reason[1]);
            self.stats.add(Counter::SessionsTcpClosed, by_reason[2]);
            self.stats.add(Counter::SessionsClosed, total);
            self.stats.add(Counter::EventRingFull, lost);
        }
    }

    fn commands(&mut self) {
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

    fn run_query(&mut self, now_ms: u32, now_s: u32, busy: bool) {
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
                QueryKind::Count => count_into(&mut q.counts, self.table.get(slot)),
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

/// Takes a session that is going away off the books: its service set's count, its
/// validity gauge and the drop-flow gauge. (A free function so the expiry callback, which
/// borrows the table, can call it.)
fn unbook(
    ss_sessions: &mut [u32],
    gauges: &mut [u64; Gauge::COUNT],
    s: &Session,
    service_set: u16,
) {
    if let Some(n) = ss_sessions.get_mut(usize::from(service_set)) {
        *n = n.saturating_sub(1);
    }
    let g = gauge_of(validity(s)) as usize;
    gauges[g] = gauges[g].saturating_sub(1);
    if matches!(Action::from_u8(s.action), Action::Drop | Action::Reject) {
        let d = Gauge::DropFlow as usize;
        gauges[d] = gauges[d].saturating_sub(1);
    }
}

fn count_into(c: &mut QueryCounts, s: &Session) {
    c.matched += 1;
    match validity(s) {
        Validity::Valid => c.valid += 1,
        Validity::Pending => c.pending += 1,
        Validity::Invalidated => c.invalidated += 1,
    }
}
