//! The registry of worker figures and their storage. Every counter ([`Counter`]), gauge
//! ([`Gauge`]) and malformed-drop reason ([`crate::wire::DropReason`]) is declared once, with
//! its name, help text and unit ([`Desc`]); [`Figure`] walks them all, and every view reads
//! them through it: `show svcard statistics`, the exit summary and `--rate` lines
//! ([`fields`] / [`parse_fields`]), the bench's JSON. Adding a figure is one line in a
//! declaration below (and the code that counts it).
//!
//! The worker keeps them as plain `u64`s in its own struct and publishes a snapshot to
//! shared atomics between bursts, where the control core and show commands read them.
//! Nothing here costs a locked instruction on the packet path.

use core::sync::atomic::{AtomicU64, Ordering};
use svcard_config::AlgKind;

/// What a registered figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Packets (frames).
    Packets,
    /// Bytes.
    Bytes,
    /// Sessions.
    Sessions,
    /// Events or messages.
    Events,
    /// Loop iterations.
    Loops,
}

impl Unit {
    /// The unit's name (`packets`, `bytes`, …), as metric names and XML carry it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Unit::Packets => "packets",
            Unit::Bytes => "bytes",
            Unit::Sessions => "sessions",
            Unit::Events => "events",
            Unit::Loops => "loops",
        }
    }
}

/// Whether a figure only grows (a counter) or says how things are now (a gauge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Cumulative since start (or the last clear).
    Counter,
    /// A level: the state now.
    Gauge,
}

/// A registered figure: its name (snake_case, unique across the registry), help text, unit
/// and kind. Every view (show commands, the `--rate` and exit lines, the bench's JSON,
/// metrics exports) prints figures through their `Desc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Desc {
    /// The name.
    pub name: &'static str,
    /// One line saying what it counts.
    pub help: &'static str,
    /// What it counts.
    pub unit: Unit,
    /// Counter or gauge.
    pub kind: Kind,
}

/// Declares an enum of figures once: each variant's doc comment is its help text, then its
/// name and unit. The enum gets `ALL`, `COUNT` and [`Desc`]s.
macro_rules! registry {
    ($(#[$m:meta])* $vis:vis enum $name:ident: $kind:ident {
        $($(#[doc = $doc:literal])* $var:ident => $label:literal in $unit:ident,)*
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        $vis enum $name { $($(#[doc = $doc])* $var,)* }
        impl $name {
            /// Every one, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var,)*];
            /// How many there are.
            pub const COUNT: usize = $name::ALL.len();
            /// Name, help text, unit and kind.
            #[must_use]
            pub fn desc(self) -> Desc {
                match self {
                    $($name::$var => Desc {
                        name: $label,
                        help: concat!($($doc),*),
                        unit: Unit::$unit,
                        kind: Kind::$kind,
                    },)*
                }
            }
            /// The name.
            #[must_use]
            pub fn name(self) -> &'static str {
                self.desc().name
            }
        }
    };
}

registry! {
    /// What a worker counts.
    pub enum Counter: Counter {
        /// Frames received.
        RxPackets => "rx_packets" in Packets,
        /// Bytes received (whole frames).
        RxBytes => "rx_bytes" in Bytes,
        /// Frames transmitted.
        TxPackets => "tx_packets" in Packets,
        /// Frames the TX queue did not take.
        TxDropped => "tx_queue_full_drops" in Packets,
        /// Frames that are not IP, passed through untouched.
        NonIpPassed => "non_ip_passed" in Packets,
        /// Frames dropped as malformed (by reason in malformed_drops).
        Malformed => "malformed" in Packets,
        /// Packets dropped by a discard rule or a Drop session.
        PolicyDropped => "policy_drops" in Packets,
        /// Packets rejected (answered with RST or ICMP unreachable).
        Rejected => "policy_rejects" in Packets,
        /// TCP RSTs sent for rejected packets.
        RstSent => "tcp_rst_sent" in Packets,
        /// ICMP unreachables sent for rejected packets.
        IcmpUnreachSent => "icmp_unreachable_sent" in Packets,
        /// Rejected packets that could not be answered (no room, an ICMP error).
        RejectUnanswered => "reject_unanswered" in Packets,
        /// Sessions created.
        SessionsCreated => "sessions_created" in Sessions,
        /// Sessions that ended (any reason).
        SessionsClosed => "sessions_closed" in Sessions,
        /// Sessions ended by the idle timeout.
        SessionsIdleExpired => "sessions_idle_expired" in Sessions,
        /// Of them, aged out early: idle for the early age-out while the table was above
        /// its high watermark.
        SessionsEarlyAgedOut => "sessions_early_aged_out" in Sessions,
        /// Times the table rose to its high watermark and early age-out began.
        EarlyAgeoutStarts => "early_ageout_starts" in Sessions,
        /// Sessions ended by the absolute lifetime.
        SessionsLifetimeExpired => "sessions_lifetime_expired" in Sessions,
        /// Sessions ended by TCP close.
        SessionsTcpClosed => "sessions_tcp_closed" in Sessions,
        /// Sessions removed by a clear command.
        SessionsCleared => "sessions_cleared" in Sessions,
        /// New sessions refused: card or service-set session limit (Junos flag 0x2).
        SessionLimitDrops => "session_limit_drops" in Packets,
        /// New flows passed without a session at the limit (bypass policy).
        SessionLimitBypassed => "session_limit_bypassed" in Packets,
        /// New sessions refused: the table had no free slot (Junos flag 0x3/0x4).
        TableFullDrops => "table_full_drops" in Packets,
        /// New sessions refused by the setup-rate limit.
        SetupRateDrops => "setup_rate_drops" in Packets,
        /// Non-first fragments whose datagram's first fragment was not seen (or too long
        /// ago): no session to follow, dropped.
        FragmentsNoSession => "fragments_without_session" in Packets,
        /// First fragments (they carry the ports): their datagram is remembered for the
        /// later ones.
        FragmentsFirst => "fragments_first" in Packets,
        /// Non-first fragments that followed their datagram's session (counted there, given
        /// its action).
        FragmentsFollowed => "fragments_followed" in Packets,
        /// Fragments that overlapped a piece of their datagram already seen: dropped.
        FragmentsOverlapping => "fragments_overlapping" in Packets,
        /// Fragments of a datagram that came in too many pieces: dropped.
        FragmentsTooMany => "fragments_too_many" in Packets,
        /// New sessions source NAT translated (given a public address and port).
        NatSessions => "nat_sessions_translated" in Sessions,
        /// First packets of sessions a NAT rule matched that were dropped because the pool
        /// had no free port (of the address class that steers replies to this worker).
        NatPoolExhausted => "nat_pool_exhausted_drops" in Packets,
        /// First packets of sessions a NAT rule matched whose protocol napt-44 cannot
        /// translate (not TCP, UDP or ICMP echo): dropped.
        NatUnsupported => "nat_protocol_unsupported_drops" in Packets,
        /// Packets to a translated session's private address that did not come through its
        /// public one: dropped.
        NatUntranslated => "nat_untranslated_drops" in Packets,
        /// Packets to a pool address that no session and no endpoint-independent mapping
        /// admits (address- and port-dependent filtering): dropped.
        NatFiltered => "nat_filtered_drops" in Packets,
        /// First packets of sessions refused because their private host had the pool's
        /// `max-sessions-per-host` (this worker's share of it).
        NatHostLimitDrops => "nat_host_limit_drops" in Packets,
        /// Events lost because the event ring was full.
        EventRingFull => "event_ring_full" in Events,
        /// Port block allocations and releases whose log was lost: the NAT event ring was
        /// full.
        NatBlockEventsLost => "nat_block_events_lost" in Events,
        /// Query replies deferred because the reply ring was full.
        ReplyRingFull => "reply_ring_full" in Events,
        /// Packets the control core gave back for this worker to transmit.
        ReturnedSent => "alg_returned" in Packets,
        /// Pinholes the worker could not install (its pinhole table was full).
        PinholeTableFull => "pinhole_table_full" in Events,
        /// New sessions opened through an ALG pinhole.
        PinholeMatches => "pinhole_matches" in Sessions,
        /// Sessions an ALG closed (a DNS answer seen).
        SessionsAlgClosed => "sessions_alg_closed" in Sessions,
        /// ICMP errors passed because the session they quote exists (counted there).
        IcmpErrorsRelated => "icmp_errors_related" in Packets,
        /// ICMP errors dropped: no session for the packet they quote.
        IcmpErrorsNoSession => "icmp_errors_without_session" in Packets,
        /// TCP segments outside their session's sequence window (they change nothing in
        /// it; dropped or passed by `out-of-window`).
        TcpOutOfWindow => "tcp_out_of_window" in Packets,
        /// Of them, dropped (`out-of-window = "drop"`).
        TcpOutOfWindowDrops => "tcp_out_of_window_drops" in Packets,
        /// RSTs inside the window but not at the expected sequence (`rst-sequence-check`):
        /// dropped, the session kept.
        TcpRstSequenceDrops => "tcp_rst_sequence_drops" in Packets,
        /// Challenge ACKs sent back to the senders of those RSTs (RFC 5961 3.2).
        TcpChallengeAcks => "tcp_challenge_acks_sent" in Packets,
        /// First segments that are not a SYN, where mid-stream pickup is off (the SYN check):
        /// dropped, no session.
        TcpNonSynDrops => "tcp_non_syn_drops" in Packets,
        /// Segments with data before the handshake completed (`strict-syn-check`): dropped.
        TcpStrictSynDrops => "tcp_strict_syn_drops" in Packets,
        /// Worker loop iterations.
        Loops => "loops" in Loops,
        /// Loop iterations that received nothing.
        IdleLoops => "idle_loops" in Loops,
        /// New sessions refused or bypassed, any reason (Junos Failed-sessions).
        SessionsFailed => "sessions_failed" in Sessions,
        /// Sessions whose offload policy fired and whose rule was asked for.
        OffloadRequested => "offload_requested" in Sessions,
        /// Offload requests lost: the request ring to the offload manager was full.
        OffloadRingFull => "offload_request_ring_full" in Events,
        /// Sessions whose rule became active.
        OffloadActivated => "offload_activated" in Sessions,
        /// Offload requests the manager or the backend refused (by reason in show services offload statistics).
        OffloadRefused => "offload_refused" in Sessions,
        /// Rules withdrawn while their session lived (a FIN or RST).
        OffloadWithdrawn => "offload_withdrawn" in Sessions,
        /// Packets the NIC model handled (counted on the rule, not by the session's path).
        OffloadModelPackets => "offload_model_packets" in Packets,
        /// Bytes the NIC model handled.
        OffloadModelBytes => "offload_model_bytes" in Bytes,
        /// Frames that arrived marked with their session by a NIC rule (partial offload) and
        /// skipped the hash-table lookup.
        OffloadMarkedPackets => "offload_marked_packets" in Packets,
    }
}

registry! {
    /// Gauges a worker publishes: the state of its table now.
    pub enum Gauge: Gauge {
        /// Live sessions.
        Sessions => "sessions" in Sessions,
        /// Valid sessions.
        Valid => "sessions_valid" in Sessions,
        /// Pending sessions (TCP handshake incomplete).
        Pending => "sessions_pending" in Sessions,
        /// Invalidated sessions (closing).
        Invalidated => "sessions_invalidated" in Sessions,
        /// Sessions in other states (Bypass sessions).
        Other => "sessions_other" in Sessions,
        /// Session table capacity.
        Capacity => "sessions_max" in Sessions,
        /// Bytes the session table allocated.
        TableBytes => "table_bytes" in Bytes,
        /// Sessions whose action drops (Drop or Reject).
        DropFlow => "sessions_drop_flow" in Sessions,
        /// Sessions whose rule is active in the NIC (or the NIC model).
        Offloaded => "sessions_offloaded" in Sessions,
        /// 1 while early age-out runs (between the high and the low watermark).
        EarlyAgeout => "early_ageout_active" in Sessions,
        /// Public (address, port) pairs this worker has handed out to live sessions.
        NatPortsInUse => "nat_ports_in_use" in Sessions,
    }
}

registry! {
    /// What a worker counts per ALG (labelled `alg`, for the ALGs with an engine).
    pub enum AlgCounter: Counter {
        /// Packets of Watch sessions handed to the control core.
        HandedOff => "alg_handed_off" in Packets,
        /// Packets of Watch sessions lost because the hand-off ring was full.
        HandoffRingFull => "alg_handoff_ring_full" in Packets,
    }
}

/// Kinds of ALG (the per-ALG arrays' size).
const ALG_KINDS: usize = AlgKind::ALL.len();

/// The name under which the per-reason malformed-frame drops
/// ([`crate::wire::DropReason`]) are registered; each reason is one labelled figure.
pub const MALFORMED_DROPS: &str = "malformed_drops";

/// One registered figure of a worker: a counter, a gauge, or one reason's malformed drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// A counter.
    Counter(Counter),
    /// A gauge.
    Gauge(Gauge),
    /// Malformed frames dropped for this reason.
    Malformed(crate::wire::DropReason),
    /// A per-ALG counter of one ALG.
    Alg(AlgCounter, AlgKind),
}

impl Figure {
    /// Every figure a worker publishes: counters, gauges, then drop reasons.
    pub fn all() -> impl Iterator<Item = Figure> {
        Counter::ALL
            .iter()
            .map(|c| Figure::Counter(*c))
            .chain(Gauge::ALL.iter().map(|g| Figure::Gauge(*g)))
            .chain(
                crate::wire::DropReason::ALL
                    .iter()
                    .map(|r| Figure::Malformed(*r)),
            )
            .chain(
                AlgCounter::ALL
                    .iter()
                    .flat_map(|c| AlgKind::ENGINES.iter().map(move |k| Figure::Alg(*c, *k))),
            )
    }

    /// Name, help, unit and kind (a drop reason: [`MALFORMED_DROPS`], its description).
    #[must_use]
    pub fn desc(self) -> Desc {
        match self {
            Figure::Counter(c) => c.desc(),
            Figure::Gauge(g) => g.desc(),
            Figure::Malformed(r) => Desc {
                name: MALFORMED_DROPS,
                help: r.description(),
                unit: Unit::Packets,
                kind: Kind::Counter,
            },
            Figure::Alg(c, _) => c.desc(),
        }
    }

    /// The label that tells this figure from others of its name (`reason`, for drops).
    #[must_use]
    pub fn label(self) -> Option<(&'static str, &'static str)> {
        match self {
            Figure::Malformed(r) => Some(("reason", r.name())),
            Figure::Alg(_, k) => Some(("alg", k.junos_name())),
            _ => None,
        }
    }

    /// The key of the `name=value` lines: the name, and for a labelled figure
    /// `name.label-value` (`malformed_drops.truncated_ipv4`).
    #[must_use]
    pub fn key(self) -> std::borrow::Cow<'static, str> {
        match self.label() {
            None => self.desc().name.into(),
            Some((_, v)) => format!("{}.{v}", self.desc().name).into(),
        }
    }
}

/// `key=value` for every figure of `s`, space-separated ([`Figure::key`]); labelled figures
/// (drop reasons, per-ALG counts) only where nonzero. The exit summary's and the `--rate` lines' form; [`parse_fields`] reads it.
#[must_use]
pub fn fields(s: &LocalStats) -> String {
    let mut out = String::new();
    for f in Figure::all() {
        let v = s.value(f);
        if f.label().is_some() && v == 0 {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&f.key());
        out.push('=');
        out.push_str(&v.to_string());
    }
    out
}

/// The registered figures among whitespace-separated `key=value` fields (other keys and
/// values that are not integers are skipped), as a [`LocalStats`]. Drop reasons absent
/// from the text are 0.
#[must_use]
pub fn parse_fields(text: &str) -> LocalStats {
    let mut s = LocalStats::default();
    for kv in text.split_whitespace() {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        let Ok(v) = v.parse::<u64>() else {
            continue;
        };
        if let Some(f) = Figure::all().find(|f| f.key() == k) {
            s.set(f, v);
        }
    }
    s
}

/// A worker's published counters, drop reasons and gauges.
#[derive(Debug)]
pub struct SharedStats {
    counters: [AtomicU64; Counter::COUNT],
    nat_pools: [[AtomicU64; POOL_FIGURES]; MAX_NAT_POOLS],
    drops: [AtomicU64; crate::wire::DropReason::COUNT],
    gauges: [AtomicU64; Gauge::COUNT],
    algs: [[AtomicU64; ALG_KINDS]; AlgCounter::COUNT],
    /// [`LoopTimes::burst_ns`], then [`LoopTimes::packet_ns`].
    loops: [[AtomicU64; LOOP_BUCKETS]; 2],
    /// Per service set, its [`SsFigure`]s.
    service_sets: [[AtomicU64; SS_FIGURES]; MAX_SS_FIGURES],
}

impl Default for SharedStats {
    fn default() -> Self {
        Self {
            counters: [const { AtomicU64::new(0) }; Counter::COUNT],
            nat_pools: [const { [const { AtomicU64::new(0) }; POOL_FIGURES] }; MAX_NAT_POOLS],
            drops: [const { AtomicU64::new(0) }; crate::wire::DropReason::COUNT],
            gauges: [const { AtomicU64::new(0) }; Gauge::COUNT],
            algs: [const { [const { AtomicU64::new(0) }; ALG_KINDS] }; AlgCounter::COUNT],
            loops: [const { [const { AtomicU64::new(0) }; LOOP_BUCKETS] }; 2],
            service_sets: [const { [const { AtomicU64::new(0) }; SS_FIGURES] }; MAX_SS_FIGURES],
        }
    }
}

/// Buckets of a [`LoopTimes`] histogram: log-linear, eight per power of two (each at most
/// 12.5 % wide), exact below 8 ns, the last one open-ended (from about 4 s).
pub const LOOP_BUCKETS: usize = 8 * 30;

/// The [`LoopTimes`] bucket of a duration in ns.
#[inline]
#[must_use]
pub fn loop_bucket(ns: u64) -> usize {
    if ns < 8 {
        return ns as usize;
    }
    // ns in [2^e, 2^(e+1)), e >= 3: eight sub-buckets of 2^(e-3) ns each.
    let e = 63 - ns.leading_zeros() as usize;
    let sub = ((ns >> (e - 3)) & 7) as usize;
    (8 * (e - 2) + sub).min(LOOP_BUCKETS - 1)
}

/// The ns range `[low, high)` of a [`LoopTimes`] bucket (the last one's `high` is
/// `u64::MAX`).
#[must_use]
pub fn loop_bucket_range(i: usize) -> (u64, u64) {
    if i < 8 {
        return (i as u64, i as u64 + 1);
    }
    if i >= LOOP_BUCKETS - 1 {
        return (loop_bucket_range(LOOP_BUCKETS - 2).1, u64::MAX);
    }
    let (e, sub) = (i / 8 + 2, (i % 8) as u64);
    let width = 1u64 << (e - 3);
    let low = (1u64 << e) + sub * width;
    (low, low + width)
}

/// How long the worker's busy loop iterations take: each iteration that received packets
/// is timed from its start to the next one's (the clock the loop reads anyway, so no extra
/// clock read), and counted once per burst in `burst_ns` and once per packet, at the
/// iteration's time divided by its packets, in `packet_ns`. Buckets by [`loop_bucket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopTimes {
    /// Busy iterations by duration.
    pub burst_ns: [u64; LOOP_BUCKETS],
    /// Packets by their share of their iteration's duration.
    pub packet_ns: [u64; LOOP_BUCKETS],
}

impl Default for LoopTimes {
    fn default() -> Self {
        Self {
            burst_ns: [0; LOOP_BUCKETS],
            packet_ns: [0; LOOP_BUCKETS],
        }
    }
}

impl LoopTimes {
    /// Records one busy iteration of `ns` that received `packets` (at least 1).
    #[inline]
    pub fn record(&mut self, ns: u64, packets: u64) {
        let packets = packets.max(1);
        self.burst_ns[loop_bucket(ns)] += 1;
        self.packet_ns[loop_bucket(ns / packets)] += packets;
    }

    /// Both histograms, `burst_ns` then `packet_ns`, for element-wise work.
    fn both(&self) -> [&[u64; LOOP_BUCKETS]; 2] {
        [&self.burst_ns, &self.packet_ns]
    }

    /// [`both`](Self::both), mutable.
    fn both_mut(&mut self) -> [&mut [u64; LOOP_BUCKETS]; 2] {
        [&mut self.burst_ns, &mut self.packet_ns]
    }

    /// Adds another histogram (several workers' together).
    pub fn merge(&mut self, o: &LoopTimes) {
        for (mine, theirs) in self.both_mut().into_iter().zip(o.both()) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
    }

    /// What was recorded since `earlier` (a snapshot of the same, cumulative, histogram).
    #[must_use]
    pub fn since(&self, earlier: &LoopTimes) -> LoopTimes {
        let mut d = self.clone();
        for (mine, then) in d.both_mut().into_iter().zip(earlier.both()) {
            for (a, b) in mine.iter_mut().zip(then) {
                *a = a.saturating_sub(*b);
            }
        }
        d
    }

    /// The text form `svcard run --rate` prints each second (and `svcard bench` reads):
    /// `bursts=N burst_ns=LOW:COUNT,... packet_ns=LOW:COUNT,...`, each bucket named by its
    /// lowest ns, empty buckets left out (`-` when all are).
    #[must_use]
    pub fn to_fields(&self) -> String {
        let list = |b: &[u64; LOOP_BUCKETS]| {
            let v: Vec<String> = b
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(i, c)| format!("{}:{c}", loop_bucket_range(i).0))
                .collect();
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join(",")
            }
        };
        format!(
            "bursts={} burst_ns={} packet_ns={}",
            self.burst_ns.iter().sum::<u64>(),
            list(&self.burst_ns),
            list(&self.packet_ns)
        )
    }

    /// Reads [`to_fields`](Self::to_fields)' `burst_ns` and `packet_ns` from whitespace-
    /// separated `key=value` fields (others are ignored). `None` if either is missing or
    /// malformed.
    #[must_use]
    pub fn from_fields(text: &str) -> Option<LoopTimes> {
        fn list(v: &str, into: &mut [u64; LOOP_BUCKETS]) -> Option<()> {
            if v == "-" {
                return Some(());
            }
            for item in v.split(',') {
                let (low, count) = item.split_once(':')?;
                into[loop_bucket(low.parse().ok()?)] += count.parse::<u64>().ok()?;
            }
            Some(())
        }
        let mut t = LoopTimes::default();
        let (mut burst, mut packet) = (false, false);
        for kv in text.split_whitespace() {
            match kv.split_once('=') {
                Some(("burst_ns", v)) => {
                    list(v, &mut t.burst_ns)?;
                    burst = true;
                }
                Some(("packet_ns", v)) => {
                    list(v, &mut t.packet_ns)?;
                    packet = true;
                }
                _ => {}
            }
        }
        (burst && packet).then_some(t)
    }
}

/// The worker's own, plain counters. Cache-line aligned (and so a whole number of lines),
/// so that the worker's other fields keep their lines when figures are added or removed.
#[derive(Debug, Clone)]
#[repr(align(64))]
pub struct LocalStats {
    /// Counters by [`Counter`].
    pub counters: [u64; Counter::COUNT],
    /// Malformed-frame drops by [`crate::wire::DropReason`].
    pub drops: [u64; crate::wire::DropReason::COUNT],
    /// Gauges by [`Gauge`].
    pub gauges: [u64; Gauge::COUNT],
    /// Per-ALG counters by [`AlgCounter`], then by [`AlgKind`].
    pub algs: [[u64; ALG_KINDS]; AlgCounter::COUNT],
    /// Busy loop iterations by duration.
    pub loops: LoopTimes,
    /// Per NAT pool (configuration order), its [`PoolFigure`]s.
    pub nat_pools: [[u64; POOL_FIGURES]; MAX_NAT_POOLS],
    /// Per service set (configuration order), its [`SsFigure`]s.
    pub service_sets: [[u64; SS_FIGURES]; MAX_SS_FIGURES],
    /// A service set's figure changed since the last publish.
    pub service_sets_dirty: bool,
}

/// Service sets with figures of their own: the first this many of the configuration (a
/// service set past them is counted in the card's counters only).
pub const MAX_SS_FIGURES: usize = 64;
/// Figures per service set.
pub const SS_FIGURES: usize = SsFigure::ALL.len();

/// What a worker counts of each service set's new flows
/// (`show services stateful-firewall statistics`): one add per new flow, none per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsFigure {
    /// New sessions a rule (or the default action) accepted: Forward or Watch.
    RuleAccepts = 0,
    /// New sessions made to discard their packets.
    RuleDiscards = 1,
    /// New sessions made to reject their packets.
    RuleRejects = 2,
    /// New flows past the service set's session limit or the setup rate, dropped.
    LimitDrops = 3,
    /// New flows past a limit made Bypass sessions (`at-limit = "bypass"`).
    LimitBypassed = 4,
    /// New flows refused for want of a NAT port (or a mapping's filtering).
    NatRefused = 5,
    /// New TCP flows refused by the SYN check (`no-syn-check = false`).
    TcpSynCheckDrops = 6,
}

impl SsFigure {
    /// Every figure, in index order.
    pub const ALL: [SsFigure; 7] = [
        SsFigure::RuleAccepts,
        SsFigure::RuleDiscards,
        SsFigure::RuleRejects,
        SsFigure::LimitDrops,
        SsFigure::LimitBypassed,
        SsFigure::NatRefused,
        SsFigure::TcpSynCheckDrops,
    ];
}

/// Most NAT pools a configuration may have (their figures are fixed arrays).
pub const MAX_NAT_POOLS: usize = svcard_config::nat::MAX_POOLS;
/// Figures per NAT pool.
pub const POOL_FIGURES: usize = 4;

/// What a worker publishes of each NAT pool (`show services nat pool detail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolFigure {
    /// Public ports in use now.
    PortsInUse = 0,
    /// New sessions refused for want of a port.
    OutOfPortErrors = 1,
    /// The most ports in use at once.
    MaxPortsInUse = 2,
    /// Live sessions in to an endpoint-independent mapping.
    EifInbound = 3,
}

impl Default for LocalStats {
    fn default() -> Self {
        Self {
            nat_pools: [[0; POOL_FIGURES]; MAX_NAT_POOLS],
            service_sets: [[0; SS_FIGURES]; MAX_SS_FIGURES],
            service_sets_dirty: false,
            counters: [0; Counter::COUNT],
            drops: [0; crate::wire::DropReason::COUNT],
            gauges: [0; Gauge::COUNT],
            algs: [[0; ALG_KINDS]; AlgCounter::COUNT],
            loops: LoopTimes::default(),
        }
    }
}

impl LocalStats {
    /// Adds `n` to a counter.
    #[inline]
    pub fn add(&mut self, c: Counter, n: u64) {
        self.counters[c as usize] += n;
    }
    /// Adds one to a counter.
    #[inline]
    pub fn inc(&mut self, c: Counter) {
        self.counters[c as usize] += 1;
    }
    /// Adds one to service set `ss`'s figure `f` (none past [`MAX_SS_FIGURES`], or for a
    /// session of no service set).
    #[inline]
    pub fn inc_ss(&mut self, ss: u16, f: SsFigure) {
        if let Some(row) = self.service_sets.get_mut(usize::from(ss)) {
            row[f as usize] += 1;
            self.service_sets_dirty = true;
        }
    }
    /// Service set `ss`'s figure `f`.
    #[must_use]
    pub fn ss(&self, ss: u16, f: SsFigure) -> u64 {
        self.service_sets
            .get(usize::from(ss))
            .map_or(0, |row| row[f as usize])
    }
    /// A counter's value.
    #[inline]
    #[must_use]
    pub fn get(&self, c: Counter) -> u64 {
        self.counters[c as usize]
    }
    /// Sets a gauge.
    #[inline]
    pub fn set_gauge(&mut self, g: Gauge, v: u64) {
        self.gauges[g as usize] = v;
    }
    /// A gauge's value.
    #[inline]
    #[must_use]
    pub fn gauge(&self, g: Gauge) -> u64 {
        self.gauges[g as usize]
    }
    /// Adds one to a per-ALG counter.
    #[inline]
    pub fn inc_alg(&mut self, c: AlgCounter, k: AlgKind) {
        self.algs[c as usize][k as usize] += 1;
    }
    /// A per-ALG counter summed over the ALGs.
    #[must_use]
    pub fn alg_total(&self, c: AlgCounter) -> u64 {
        self.algs[c as usize].iter().sum()
    }
    /// Any figure's value.
    #[must_use]
    pub fn value(&self, f: Figure) -> u64 {
        match f {
            Figure::Counter(c) => self.get(c),
            Figure::Gauge(g) => self.gauge(g),
            Figure::Malformed(r) => self.drops[r as usize],
            Figure::Alg(c, k) => self.algs[c as usize][k as usize],
        }
    }
    /// Sets any figure.
    pub fn set(&mut self, f: Figure, v: u64) {
        match f {
            Figure::Counter(c) => self.counters[c as usize] = v,
            Figure::Gauge(g) => self.gauges[g as usize] = v,
            Figure::Malformed(r) => self.drops[r as usize] = v,
            Figure::Alg(c, k) => self.algs[c as usize][k as usize] = v,
        }
    }
    /// Adds another worker's figures (for card totals).
    pub fn merge(&mut self, o: &LocalStats) {
        for (a, b) in self.counters.iter_mut().zip(&o.counters) {
            *a += b;
        }
        for (a, b) in self.drops.iter_mut().zip(&o.drops) {
            *a += b;
        }
        for (a, b) in self.gauges.iter_mut().zip(&o.gauges) {
            *a += b;
        }
        for (mine, theirs) in self.algs.iter_mut().zip(&o.algs) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        // Summed over workers (the maximum too: the sum of each worker's most, an upper
        // bound of the card's).
        for (mine, theirs) in self.nat_pools.iter_mut().zip(&o.nat_pools) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        for (mine, theirs) in self.service_sets.iter_mut().zip(&o.service_sets) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        self.loops.merge(&o.loops);
    }
}

impl SharedStats {
    /// Publishes a snapshot (single writer: the owning worker); the loop times only when
    /// `loops` (they change only while packets arrive).
    pub fn publish_with(&self, s: &LocalStats, loops: bool) {
        self.publish(s);
        if loops {
            for (shared, local) in self.loops.iter().zip(s.loops.both()) {
                for (a, v) in shared.iter().zip(local) {
                    a.store(*v, Ordering::Relaxed);
                }
            }
        }
    }
    /// Publishes the counters, drop reasons and gauges (single writer: the owner).
    pub fn publish(&self, s: &LocalStats) {
        for (a, v) in self.counters.iter().zip(s.counters.iter()) {
            a.store(*v, Ordering::Relaxed);
        }
        for (a, v) in self.drops.iter().zip(s.drops.iter()) {
            a.store(*v, Ordering::Relaxed);
        }
        for (a, v) in self.gauges.iter().zip(s.gauges.iter()) {
            a.store(*v, Ordering::Relaxed);
        }
        for (shared, local) in self.algs.iter().zip(&s.algs) {
            for (a, v) in shared.iter().zip(local) {
                a.store(*v, Ordering::Relaxed);
            }
        }
        for (shared, local) in self.nat_pools.iter().zip(&s.nat_pools) {
            for (a, v) in shared.iter().zip(local) {
                a.store(*v, Ordering::Relaxed);
            }
        }
        // Only when one changed: they change per new flow, not per packet.
        if s.service_sets_dirty {
            for (shared, local) in self.service_sets.iter().zip(&s.service_sets) {
                for (a, v) in shared.iter().zip(local) {
                    a.store(*v, Ordering::Relaxed);
                }
            }
        }
    }
    /// Reads the last published snapshot.
    #[must_use]
    pub fn snapshot(&self) -> LocalStats {
        let mut s = LocalStats::default();
        for (v, a) in s.counters.iter_mut().zip(self.counters.iter()) {
            *v = a.load(Ordering::Relaxed);
        }
        for (v, a) in s.drops.iter_mut().zip(self.drops.iter()) {
            *v = a.load(Ordering::Relaxed);
        }
        for (v, a) in s.gauges.iter_mut().zip(self.gauges.iter()) {
            *v = a.load(Ordering::Relaxed);
        }
        for (local, shared) in s.algs.iter_mut().zip(&self.algs) {
            for (v, a) in local.iter_mut().zip(shared) {
                *v = a.load(Ordering::Relaxed);
            }
        }
        for (local, shared) in s.service_sets.iter_mut().zip(&self.service_sets) {
            for (v, a) in local.iter_mut().zip(shared) {
                *v = a.load(Ordering::Relaxed);
            }
        }
        for (local, shared) in s.nat_pools.iter_mut().zip(&self.nat_pools) {
            for (v, a) in local.iter_mut().zip(shared) {
                *v = a.load(Ordering::Relaxed);
            }
        }
        for (local, shared) in s.loops.both_mut().into_iter().zip(self.loops.iter()) {
            for (v, a) in local.iter_mut().zip(shared) {
                *v = a.load(Ordering::Relaxed);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_names_are_unique_snake_case_with_help() {
        let mut keys = std::collections::HashSet::new();
        for f in Figure::all() {
            let d = f.desc();
            assert!(
                d.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                d.name
            );
            assert!(!d.help.trim().is_empty(), "{} has no help", d.name);
            assert!(keys.insert(f.key()), "{} twice", f.key());
        }
    }

    #[test]
    fn fields_round_trip_every_figure() {
        let mut s = LocalStats::default();
        for (i, f) in Figure::all().enumerate() {
            s.set(f, 1000 + i as u64);
        }
        let text = fields(&s);
        let back = parse_fields(&format!("worker 0: {text} other=x"));
        for f in Figure::all() {
            assert_eq!(back.value(f), s.value(f), "{}", f.key());
        }
        // Zero drop reasons are left out, and read back as zero.
        let empty = fields(&LocalStats::default());
        assert!(!empty.contains(MALFORMED_DROPS), "{empty}");
        assert!(empty.contains("rx_packets=0"), "{empty}");
    }

    #[test]
    fn a_loop_bucket_holds_its_value_and_is_at_most_an_eighth_wide() {
        let mut last = 0;
        let mut v = 0u64;
        while v < 1 << 34 {
            let i = loop_bucket(v);
            assert!(i >= last, "buckets grow with the value ({v})");
            last = i;
            let (lo, hi) = loop_bucket_range(i);
            assert!(lo <= v && v < hi, "{v} in bucket {i} = [{lo}, {hi})");
            if i < LOOP_BUCKETS - 1 {
                assert!(
                    (hi - lo) * 8 <= lo.max(8),
                    "bucket {i} [{lo}, {hi}) too wide"
                );
            }
            v = v + 1 + v / 13;
        }
        assert_eq!(loop_bucket(u64::MAX), LOOP_BUCKETS - 1);
        // Consecutive buckets tile the line.
        for i in 1..LOOP_BUCKETS {
            assert_eq!(loop_bucket_range(i - 1).1, loop_bucket_range(i).0);
        }
    }

    #[test]
    fn loop_times_count_bursts_and_packets_and_survive_publishing() {
        let mut l = LocalStats::default();
        l.loops.record(6_400, 64);
        l.loops.record(6_400, 64);
        l.loops.record(50, 0);
        let burst: u64 = l.loops.burst_ns.iter().sum();
        let packets: u64 = l.loops.packet_ns.iter().sum();
        assert_eq!((burst, packets), (3, 129));
        assert_eq!(l.loops.burst_ns[loop_bucket(6_400)], 2);
        assert_eq!(l.loops.packet_ns[loop_bucket(100)], 128);
        let shared = SharedStats::default();
        shared.publish_with(&l, false);
        assert_eq!(shared.snapshot().loops, LoopTimes::default());
        shared.publish_with(&l, true);
        let snap = shared.snapshot();
        assert_eq!(snap.loops, l.loops);
        let text = l.loops.to_fields();
        assert!(text.starts_with("bursts=3 burst_ns="), "{text}");
        assert_eq!(
            LoopTimes::from_fields(&format!("t=1.0 {text}")),
            Some(l.loops.clone())
        );
        assert_eq!(
            LoopTimes::default().to_fields(),
            "bursts=0 burst_ns=- packet_ns=-"
        );
        assert!(LoopTimes::from_fields("burst_ns=12:x packet_ns=-").is_none());
        assert!(LoopTimes::from_fields("burst_ns=-").is_none());
        let mut twice = snap.loops.clone();
        twice.merge(&l.loops);
        assert_eq!(twice.since(&l.loops), l.loops);
    }
}
