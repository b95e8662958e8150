//! IPFIX flow records (RFC 7011) to a collector over UDP. A session is two flows, one per
//! direction (initiator to responder, and back), each exported as a record of its own with
//! the standard information elements (RFC 7012, IANA's registry): addresses, ports,
//! protocol, octets and packets, start and end times, end reason, ingress interface.
//!
//! The control core offers each close to a bounded channel ([`IpfixTap`], never waiting: a
//! full channel is counted); a thread of its own encodes and sends. Every `active-timeout`
//! seconds that thread also walks the sessions (an ordinary query through the control core)
//! and exports the flows of each session older than the timeout with what they carried since
//! their last record (end reason "active timeout"), so a long-lived session is seen before
//! it ends; its close then carries the rest. A worker never encodes or sends a record.
//!
//! The templates (one for IPv4, one for IPv6) go first and again every `template-refresh`
//! seconds, as RFC 7011 section 8.4 asks of UDP exporters.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use svcard_config::{Config, WorkerId};
use svcard_dataplane::clock::Clock;
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::{CloseReason, Event, EventKind, QueryKind};
use svcard_dataplane::session::SessionView;

pub use crate::central::IpfixStats;
use crate::central::{run_query, ControlHandle, EventTap, Relay};

/// Template ID of IPv4 flows.
pub const TEMPLATE_V4: u16 = 256;
/// Template ID of IPv6 flows.
pub const TEMPLATE_V6: u16 = 257;
/// Template ID of IPv4 flows of translated sessions (source NAT): the IPv4 fields and the
/// post-NAT ones of RFC 8158 (`postNATSourceIPv4Address` 225, `postNAPTSourceTransportPort`
/// 227, `postNATDestinationIPv4Address` 226, `postNAPTDestinationTransportPort` 228).
pub const TEMPLATE_V4_NAT: u16 = 258;

/// Template ID of NAT44 session events (RFC 8158 section 4.1: a translated session's
/// create and delete).
pub const TEMPLATE_NAT_EVENT: u16 = 259;

/// The fields of [`TEMPLATE_NAT_EVENT`].
const NAT_EVENT_FIELDS: [(u16, u16); 9] = [
    (323, 8), // observationTimeMilliseconds
    (230, 1), // natEvent
    (8, 4),   // sourceIPv4Address
    (225, 4), // postNATSourceIPv4Address
    (4, 1),   // protocolIdentifier
    (7, 2),   // sourceTransportPort
    (227, 2), // postNAPTSourceTransportPort
    (12, 4),  // destinationIPv4Address
    (11, 2),  // destinationTransportPort
];

/// Template ID of NAT port block events (RFC 8158 section 4.5: a block allocated to a
/// host, or given back).
pub const TEMPLATE_PORT_BLOCK: u16 = 260;

/// The fields of [`TEMPLATE_PORT_BLOCK`].
const PORT_BLOCK_FIELDS: [(u16, u16); 6] = [
    (323, 8), // observationTimeMilliseconds
    (230, 1), // natEvent
    (8, 4),   // sourceIPv4Address
    (225, 4), // postNATSourceIPv4Address
    (361, 2), // portRangeStart
    (362, 2), // portRangeEnd
];

/// natEvent values (IANA "NAT Event Type", RFC 8158).
pub mod nat_event {
    /// NAT44 session create.
    pub const SESSION_CREATE: u8 = 4;
    /// NAT44 session delete.
    pub const SESSION_DELETE: u8 = 5;
    /// Port block allocation.
    pub const PORT_BLOCK_ALLOC: u8 = 16;
    /// Port block de-allocation.
    pub const PORT_BLOCK_DEALLOC: u8 = 17;
}

/// A port block event: the host, the public address, the block's first and last port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRecord {
    /// When, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// [`nat_event`].
    pub event: u8,
    /// The private host.
    pub host: std::net::Ipv4Addr,
    /// The public address.
    pub public: std::net::Ipv4Addr,
    /// The block's first and last port.
    pub ports: (u16, u16),
}

impl BlockRecord {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.push(self.event);
        out.extend_from_slice(&self.host.octets());
        out.extend_from_slice(&self.public.octets());
        out.extend_from_slice(&self.ports.0.to_be_bytes());
        out.extend_from_slice(&self.ports.1.to_be_bytes());
    }
}

/// A NAT44 session event: the private endpoint, the public one it was given, the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatEvent {
    /// When, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// [`nat_event`].
    pub event: u8,
    /// The private source and the public one.
    pub src: (std::net::Ipv4Addr, u16),
    /// See `src`.
    pub post_src: (std::net::Ipv4Addr, u16),
    /// The remote destination.
    pub dst: (std::net::Ipv4Addr, u16),
    /// IP protocol.
    pub proto: u8,
}

impl NatEvent {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.push(self.event);
        out.extend_from_slice(&self.src.0.octets());
        out.extend_from_slice(&self.post_src.0.octets());
        out.push(self.proto);
        out.extend_from_slice(&self.src.1.to_be_bytes());
        out.extend_from_slice(&self.post_src.1.to_be_bytes());
        out.extend_from_slice(&self.dst.0.octets());
        out.extend_from_slice(&self.dst.1.to_be_bytes());
    }
}

/// A record of any template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// One direction of a session.
    Flow(FlowRecord),
    /// A NAT44 session event.
    Nat(NatEvent),
    /// A NAT port block event.
    Block(BlockRecord),
}

impl Record {
    fn template(&self) -> u16 {
        match self {
            Record::Flow(f) => f.template(),
            Record::Nat(_) => TEMPLATE_NAT_EVENT,
            Record::Block(_) => TEMPLATE_PORT_BLOCK,
        }
    }

    fn len(&self) -> usize {
        match self {
            Record::Flow(f) => f.len(),
            Record::Nat(_) => 28,
            Record::Block(_) => 21,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Flow(f) => f.encode(out),
            Record::Nat(n) => n.encode(out),
            Record::Block(b) => b.encode(out),
        }
    }
}

/// The post-NAT fields of [`TEMPLATE_V4_NAT`].
const NAT_TAIL: [(u16, u16); 4] = [(225, 4), (227, 2), (226, 4), (228, 2)];

/// The fields of a record after the addresses: (information element, length).
const TAIL: [(u16, u16); 9] = [
    (7, 2),   // sourceTransportPort
    (11, 2),  // destinationTransportPort
    (4, 1),   // protocolIdentifier
    (1, 8),   // octetDeltaCount
    (2, 8),   // packetDeltaCount
    (150, 4), // flowStartSeconds
    (151, 4), // flowEndSeconds
    (136, 1), // flowEndReason
    (10, 4),  // ingressInterface
];

/// Bytes of the fields in [`TAIL`].
const TAIL_LEN: usize = 34;

/// Largest message sent (an Ethernet MTU's worth of UDP payload).
const MAX_MESSAGE: usize = 1400;

/// flowEndReason values (RFC 7012, 5.11.3).
pub mod end_reason {
    /// Idle timeout.
    pub const IDLE: u8 = 1;
    /// Active timeout (a long-lived flow's periodic record).
    pub const ACTIVE: u8 = 2;
    /// End of flow detected (TCP FIN or RST; an ALG's close).
    pub const END: u8 = 3;
    /// Forced end (a clear command).
    pub const FORCED: u8 = 4;
}

fn end_reason_of(r: CloseReason) -> u8 {
    match r {
        CloseReason::Idle => end_reason::IDLE,
        CloseReason::Lifetime => end_reason::ACTIVE,
        CloseReason::TcpClose | CloseReason::Alg => end_reason::END,
        CloseReason::Cleared => end_reason::FORCED,
    }
}

/// One flow record: one direction of a session over an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRecord {
    /// Source and destination (both of one family).
    pub src: IpAddr,
    /// See `src`.
    pub dst: IpAddr,
    /// Ports.
    pub sport: u16,
    /// See `sport`.
    pub dport: u16,
    /// IP protocol.
    pub proto: u8,
    /// Octets (IP layer) and packets of the interval.
    pub octets: u64,
    /// See `octets`.
    pub packets: u64,
    /// Start and end, seconds since the Unix epoch.
    pub start_s: u32,
    /// See `start_s`.
    pub end_s: u32,
    /// [`end_reason`].
    pub end_reason: u8,
    /// The port it came in on (svcard's port index + 1, as an ifIndex is never 0).
    pub ingress: u32,
    /// A translated flow's addresses and ports as it leaves (source, then destination).
    pub post_nat: Option<(std::net::Ipv4Addr, u16, std::net::Ipv4Addr, u16)>,
}

impl FlowRecord {
    fn template(&self) -> u16 {
        match (self.src.is_ipv6(), self.post_nat.is_some()) {
            (true, _) => TEMPLATE_V6,
            (false, true) => TEMPLATE_V4_NAT,
            (false, false) => TEMPLATE_V4,
        }
    }

    fn len(&self) -> usize {
        match self.template() {
            TEMPLATE_V6 => 32 + TAIL_LEN,
            TEMPLATE_V4_NAT => 8 + TAIL_LEN + 12,
            _ => 8 + TAIL_LEN,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        for a in [self.src, self.dst] {
            match a {
                IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
            }
        }
        out.extend_from_slice(&self.sport.to_be_bytes());
        out.extend_from_slice(&self.dport.to_be_bytes());
        out.push(self.proto);
        out.extend_from_slice(&self.octets.to_be_bytes());
        out.extend_from_slice(&self.packets.to_be_bytes());
        out.extend_from_slice(&self.start_s.to_be_bytes());
        out.extend_from_slice(&self.end_s.to_be_bytes());
        out.push(self.end_reason);
        out.extend_from_slice(&self.ingress.to_be_bytes());
        if let Some((sa, sp, da, dp)) = self.post_nat {
            out.extend_from_slice(&sa.octets());
            out.extend_from_slice(&sp.to_be_bytes());
            out.extend_from_slice(&da.octets());
            out.extend_from_slice(&dp.to_be_bytes());
        }
    }
}

/// A length field (every length here stays below [`MAX_MESSAGE`]).
fn len16(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes()
}

/// The template set: the three templates.
#[must_use]
pub fn template_set() -> Vec<u8> {
    let mut t = Vec::new();
    let none: &[(u16, u16)] = &[];
    for (id, addrs, extra) in [
        (TEMPLATE_V4, [(8u16, 4u16), (12, 4)], none),
        (TEMPLATE_V6, [(27, 16), (28, 16)], none),
        (TEMPLATE_V4_NAT, [(8, 4), (12, 4)], &NAT_TAIL[..]),
    ] {
        t.extend_from_slice(&id.to_be_bytes());
        t.extend_from_slice(&len16(2 + TAIL.len() + extra.len()));
        for (ie, len) in addrs.iter().chain(TAIL.iter()).chain(extra.iter()) {
            t.extend_from_slice(&ie.to_be_bytes());
            t.extend_from_slice(&len.to_be_bytes());
        }
    }
    for (id, fields) in [
        (TEMPLATE_NAT_EVENT, &NAT_EVENT_FIELDS[..]),
        (TEMPLATE_PORT_BLOCK, &PORT_BLOCK_FIELDS[..]),
    ] {
        t.extend_from_slice(&id.to_be_bytes());
        t.extend_from_slice(&len16(fields.len()));
        for (ie, len) in fields {
            t.extend_from_slice(&ie.to_be_bytes());
            t.extend_from_slice(&len.to_be_bytes());
        }
    }
    let mut set = Vec::with_capacity(4 + t.len());
    set.extend_from_slice(&2u16.to_be_bytes());
    set.extend_from_slice(&len16(4 + t.len()));
    set.extend_from_slice(&t);
    set
}

/// Builds messages: header, an optional template set, data sets of records.
#[derive(Debug)]
pub struct Encoder {
    domain: u32,
    /// Data records sent before the message being built (the header's sequence number).
    sequence: u32,
}

impl Encoder {
    /// An encoder for observation domain `domain`.
    #[must_use]
    pub fn new(domain: u32) -> Self {
        Encoder {
            domain,
            sequence: 0,
        }
    }

    /// Messages carrying `records` (templates first when `templates`), each at most
    /// [`MAX_MESSAGE`] bytes, stamped `export_s`.
    pub fn messages(&mut self, records: &[Record], templates: bool, export_s: u32) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut first = true;
        while i < records.len() || (first && templates) {
            let mut body = Vec::new();
            if first && templates {
                body.extend_from_slice(&template_set());
            }
            first = false;
            let mut n = 0u32;
            // Data sets, one per template, records of that family in order.
            while i < records.len() {
                let id = records[i].template();
                let mut set = Vec::new();
                while i < records.len()
                    && records[i].template() == id
                    && 16 + body.len() + 4 + set.len() + records[i].len() <= MAX_MESSAGE
                {
                    records[i].encode(&mut set);
                    i += 1;
                    n += 1;
                }
                if set.is_empty() {
                    break;
                }
                body.extend_from_slice(&id.to_be_bytes());
                body.extend_from_slice(&len16(4 + set.len()));
                body.extend_from_slice(&set);
            }
            let mut m = Vec::with_capacity(16 + body.len());
            m.extend_from_slice(&10u16.to_be_bytes());
            m.extend_from_slice(&len16(16 + body.len()));
            m.extend_from_slice(&export_s.to_be_bytes());
            m.extend_from_slice(&self.sequence.to_be_bytes());
            m.extend_from_slice(&self.domain.to_be_bytes());
            m.extend_from_slice(&body);
            self.sequence = self.sequence.wrapping_add(n);
            out.push(m);
        }
        out
    }
}

/// What was last exported of a long-lived session: its start, and per flow (initiator's
/// first) the packets and octets so far.
type Exported = HashMap<u32, (u32, [u64; 2], [u64; 2])>;

/// The flow records of session `v` for what it carried beyond `before` (packets, octets
/// per flow), ending at `end_s` (seconds since svcard started) for `reason`; `base_s` is
/// the Unix time at svcard's start.
fn records_of(
    v: &SessionView,
    before: ([u64; 2], [u64; 2]),
    base_s: u32,
    end_s: u32,
    reason: u8,
) -> Vec<FlowRecord> {
    let mut out = Vec::new();
    for (i, f) in v.flows.iter().enumerate() {
        let packets = f.packets.saturating_sub(before.0[i]);
        let octets = f.bytes.saturating_sub(before.1[i]);
        let (Some(src), Some(dst)) = (f.src, f.dst) else {
            continue;
        };
        if packets == 0 {
            continue;
        }
        // Source NAT: the flow out leaves from the public endpoint, the flow back leaves
        // to the private one.
        let post_nat = v.nat.and_then(|n| {
            let (s, d) = (v4(src)?, v4(dst)?);
            if src == n.private {
                let p = v4(n.public)?;
                Some((p.0, p.1, d.0, d.1))
            } else if dst == n.public {
                let p = v4(n.private)?;
                Some((s.0, s.1, p.0, p.1))
            } else {
                None
            }
        });
        out.push(FlowRecord {
            src: src.addr,
            dst: dst.addr,
            sport: src.port,
            dport: dst.port,
            proto: v.key.proto,
            octets,
            packets,
            start_s: base_s.wrapping_add(v.start_s),
            end_s: base_s.wrapping_add(end_s),
            end_reason: reason,
            ingress: f.ingress_port.map_or(0, |p| u32::from(p.0) + 1),
            post_nat,
        });
    }
    out
}

/// An endpoint's IPv4 address and port (none for IPv6).
fn v4(e: svcard_dataplane::flow::Endpoint) -> Option<(std::net::Ipv4Addr, u16)> {
    match e.addr {
        IpAddr::V4(a) => Some((a, e.port)),
        IpAddr::V6(_) => None,
    }
}

/// The NAT44 session event of translated session `v` (none for others).
fn nat_event_of(v: &SessionView, event: u8, time_ms: u64) -> Option<NatEvent> {
    let n = v.nat?;
    // The flow the private host sends: its destination is the remote endpoint.
    let remote = v
        .flows
        .iter()
        .find(|f| f.src == Some(n.private))
        .and_then(|f| f.dst)?;
    Some(NatEvent {
        time_ms,
        event,
        src: v4(n.private)?,
        post_src: v4(n.public)?,
        dst: v4(remote)?,
        proto: v.key.proto,
    })
}

fn counts(v: &SessionView) -> ([u64; 2], [u64; 2]) {
    (
        [v.flows[0].packets, v.flows[1].packets],
        [v.flows[0].bytes, v.flows[1].bytes],
    )
}

/// The control core's end: offers each close to the exporter.
#[derive(Debug)]
pub struct IpfixTap {
    tx: crossbeam_channel::Sender<Offered>,
    stats: Arc<IpfixStats>,
}

impl EventTap for IpfixTap {
    fn on_event(&mut self, _worker: WorkerId, ev: &Event) {
        // Closes (flow records, and a translated session's NAT delete event) and the
        // creates of translated sessions (NAT create events).
        let wanted = match ev.kind {
            EventKind::Closed(_) => true,
            EventKind::Created => ev.view.nat.is_some(),
            EventKind::Changed | EventKind::Matched(_) => false,
        };
        if wanted && self.tx.try_send(Offered::Session(*ev)).is_err() {
            self.stats.channel_full.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_block(&mut self, _worker: WorkerId, ev: &svcard_dataplane::nat::BlockEvent) {
        if self.tx.try_send(Offered::Block(*ev)).is_err() {
            self.stats.channel_full.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the exporter thread is offered.
// By value, as the events were before: no allocation per session event (block events
// are rare and small).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
enum Offered {
    /// A session's create or close.
    Session(Event),
    /// A NAT port block allocated or released.
    Block(svcard_dataplane::nat::BlockEvent),
}

/// The exporter thread.
#[derive(Debug)]
pub struct IpfixExporter {
    /// What it counted.
    pub stats: Arc<IpfixStats>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl IpfixExporter {
    /// Starts the exporter of `config`'s `[ipfix]` (which must name a collector); `clock`
    /// is the engine's (sessions' times count from it), `control` the handle its walks go
    /// through. Returns it and the tap for the control core.
    ///
    /// # Errors
    /// The thread could not start, or the socket not open.
    pub fn start(
        config: &Config,
        clock: Clock,
        control: ControlHandle,
        stats: Arc<IpfixStats>,
    ) -> std::io::Result<(IpfixExporter, IpfixTap)> {
        let x = config.ipfix;
        let to = x
            .collector
            .ok_or_else(|| std::io::Error::other("no [ipfix] collector"))?;
        let bind: SocketAddr = if to.is_ipv4() {
            "0.0.0.0:0".parse().map_err(std::io::Error::other)?
        } else {
            "[::]:0".parse().map_err(std::io::Error::other)?
        };
        let sock = UdpSocket::bind(bind)?;
        let (tx, rx) = crossbeam_channel::bounded::<Offered>(16_384);
        let st = Arc::clone(&stats);
        let workers: Vec<WorkerId> = (0..control.workers.len())
            .filter_map(WorkerId::from_index)
            .collect();
        let thread = std::thread::Builder::new()
            .name("svcard-ipfix".into())
            .spawn(move || {
                let now_unix = || {
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
                };
                let base_s = now_unix().wrapping_sub(clock.now().1);
                let mut enc = Encoder::new(x.observation_domain);
                let mut exported: Exported = HashMap::new();
                let mut pending: Vec<Record> = Vec::new();
                let refresh = Duration::from_secs(u64::from(x.template_refresh_s));
                let mut last_templates: Option<Instant> = None;
                let active = Duration::from_secs(u64::from(x.active_timeout_s));
                let mut last_walk = Instant::now();
                let send = |records: &[Record],
                            enc: &mut Encoder,
                            last_templates: &mut Option<Instant>| {
                    let templates = last_templates.is_none_or(|t| t.elapsed() >= refresh);
                    if records.is_empty() && !templates {
                        return;
                    }
                    if templates {
                        *last_templates = Some(Instant::now());
                    }
                    for m in enc.messages(records, templates, now_unix()) {
                        if sock.send_to(&m, to).is_ok() {
                            st.messages.fetch_add(1, Ordering::Relaxed);
                        } else {
                            st.send_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    st.records
                        .fetch_add(records.len() as u64, Ordering::Relaxed);
                };
                send(&[], &mut enc, &mut last_templates);
                loop {
                    match rx.recv_timeout(Duration::from_millis(100)) {
                        Ok(Offered::Block(b)) => {
                            let now_ms = SystemTime::now()
                                .duration_since(UNIX_EPOCH)
                                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                            pending.push(Record::Block(BlockRecord {
                                time_ms: now_ms,
                                event: if b.alloc {
                                    nat_event::PORT_BLOCK_ALLOC
                                } else {
                                    nat_event::PORT_BLOCK_DEALLOC
                                },
                                host: std::net::Ipv4Addr::from(b.host),
                                public: std::net::Ipv4Addr::from(b.public),
                                ports: b.ports,
                            }));
                            if pending.len() < 64 {
                                continue;
                            }
                        }
                        Ok(Offered::Session(ev)) => {
                            let now_ms = SystemTime::now()
                                .duration_since(UNIX_EPOCH)
                                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                            let event = match ev.kind {
                                EventKind::Created => nat_event::SESSION_CREATE,
                                _ => nat_event::SESSION_DELETE,
                            };
                            if let Some(n) = nat_event_of(&ev.view, event, now_ms) {
                                pending.push(Record::Nat(n));
                            }
                            if let EventKind::Closed(r) = ev.kind {
                                let v = &ev.view;
                                let before = exported
                                    .remove(&v.id)
                                    .filter(|(start, _, _)| *start == v.start_s)
                                    .map_or(([0; 2], [0; 2]), |(_, p, o)| (p, o));
                                let end = v.start_s.wrapping_add(v.duration_s);
                                pending.extend(
                                    records_of(v, before, base_s, end, end_reason_of(r))
                                        .into_iter()
                                        .map(Record::Flow),
                                );
                            }
                            if pending.len() < 64 {
                                continue;
                            }
                        }
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                            send(&pending, &mut enc, &mut last_templates);
                            return;
                        }
                    }
                    send(&pending, &mut enc, &mut last_templates);
                    pending.clear();
                    if x.active_timeout_s > 0 && last_walk.elapsed() >= active {
                        last_walk = Instant::now();
                        let now_s = clock.now().1;
                        let mut walked = Vec::new();
                        let _ = run_query(
                            &control,
                            SessionFilter::default(),
                            QueryKind::Records { limit: u64::MAX },
                            workers.clone(),
                            |m| {
                                if let Relay::Session(v, _) = m {
                                    if v.duration_s >= x.active_timeout_s {
                                        walked.push(v);
                                    }
                                }
                                true
                            },
                        );
                        for v in &walked {
                            let before = exported
                                .get(&v.id)
                                .filter(|(start, _, _)| *start == v.start_s)
                                .map_or(([0; 2], [0; 2]), |(_, p, o)| (*p, *o));
                            pending.extend(
                                records_of(v, before, base_s, now_s, end_reason::ACTIVE)
                                    .into_iter()
                                    .map(Record::Flow),
                            );
                            let (p, o) = counts(v);
                            exported.insert(v.id, (v.start_s, p, o));
                        }
                        send(&pending, &mut enc, &mut last_templates);
                        pending.clear();
                    }
                }
            })?;
        Ok((
            IpfixExporter {
                stats: Arc::clone(&stats),
                thread: Some(thread),
            },
            IpfixTap { tx, stats },
        ))
    }

    /// Waits for the thread (it ends when the control core's tap is dropped).
    pub fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: u8, v6: bool) -> FlowRecord {
        let (src, dst): (IpAddr, IpAddr) = if v6 {
            (
                format!("fd00::{i}").parse().unwrap(),
                "fd00::53".parse().unwrap(),
            )
        } else {
            ([10, 0, 0, i].into(), [192, 0, 2, 1].into())
        };
        FlowRecord {
            src,
            dst,
            sport: 1000 + u16::from(i),
            dport: 53,
            proto: 17,
            octets: 100 * u64::from(i),
            packets: u64::from(i),
            start_s: 1_800_000_000,
            end_s: 1_800_000_005,
            end_reason: end_reason::IDLE,
            ingress: 1,
            post_nat: None,
        }
    }

    fn be16(b: &[u8], at: usize) -> usize {
        usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
    }

    #[test]
    fn messages_split_at_the_mtu_with_sets_that_add_up() {
        let mut enc = Encoder::new(7);
        let mut records: Vec<Record> = (1..=40).map(|i| Record::Flow(rec(i, i % 3 == 0))).collect();
        records.push(Record::Nat(NatEvent {
            time_ms: 1_800_000_000_000,
            event: nat_event::SESSION_CREATE,
            src: ([10, 0, 0, 1].into(), 5000),
            post_src: ([198, 51, 100, 7].into(), 40000),
            dst: ([192, 0, 2, 1].into(), 53),
            proto: 17,
        }));
        let msgs = enc.messages(&records, true, 1_800_000_010);
        assert!(msgs.len() >= 2, "{} messages", msgs.len());
        let mut seen = 0;
        let mut sequence = 0;
        for (k, m) in msgs.iter().enumerate() {
            assert!(m.len() <= MAX_MESSAGE);
            assert_eq!((be16(m, 0), be16(m, 2)), (10, m.len()));
            assert_eq!(u32::from_be_bytes([m[8], m[9], m[10], m[11]]), sequence);
            assert_eq!(u32::from_be_bytes([m[12], m[13], m[14], m[15]]), 7);
            // Walk the sets: their lengths tile the message.
            let mut at = 16;
            while at < m.len() {
                let (id, len) = (be16(m, at), be16(m, at + 2));
                assert!(len >= 4 && at + len <= m.len());
                match id {
                    2 => assert_eq!(k, 0, "templates in the first message only"),
                    256 => {
                        assert_eq!((len - 4) % (8 + TAIL_LEN), 0);
                        seen += (len - 4) / (8 + TAIL_LEN);
                        sequence += u32::try_from((len - 4) / (8 + TAIL_LEN)).unwrap();
                    }
                    257 => {
                        assert_eq!((len - 4) % (32 + TAIL_LEN), 0);
                        seen += (len - 4) / (32 + TAIL_LEN);
                        sequence += u32::try_from((len - 4) / (32 + TAIL_LEN)).unwrap();
                    }
                    259 => {
                        assert_eq!(len - 4, 28, "one NAT event");
                        seen += 1;
                        sequence += 1;
                    }
                    other => panic!("set {other}"),
                }
                at += len;
            }
            assert_eq!(at, m.len());
        }
        assert_eq!(seen, records.len());
    }

    #[test]
    fn the_templates_describe_the_records() {
        let t = template_set();
        assert_eq!((be16(&t, 0), be16(&t, 2)), (2, t.len()));
        // Template 256: 11 fields whose lengths add up to a record's.
        assert_eq!((be16(&t, 4), be16(&t, 6)), (256, 11));
        let v4: usize = (0..11).map(|f| be16(&t, 8 + f * 4 + 2)).sum();
        let mut one = Vec::new();
        rec(1, false).encode(&mut one);
        assert_eq!(v4, one.len());
        let at = 8 + 11 * 4;
        assert_eq!((be16(&t, at), be16(&t, at + 2)), (257, 11));
        let v6: usize = (0..11).map(|f| be16(&t, at + 4 + f * 4 + 2)).sum();
        let mut one = Vec::new();
        rec(1, true).encode(&mut one);
        assert_eq!(v6, one.len());
        // Template 258: the IPv4 fields and the four post-NAT ones.
        let at = at + 4 + 11 * 4;
        assert_eq!((be16(&t, at), be16(&t, at + 2)), (258, 15));
        let nat: usize = (0..15).map(|f| be16(&t, at + 4 + f * 4 + 2)).sum();
        let mut r = rec(1, false);
        r.post_nat = Some(([198, 51, 100, 7].into(), 40000, [192, 0, 2, 1].into(), 53));
        let mut one = Vec::new();
        r.encode(&mut one);
        assert_eq!(nat, one.len());
        // Template 259: the NAT event's nine fields, 28 bytes.
        let at = at + 4 + 15 * 4;
        assert_eq!((be16(&t, at), be16(&t, at + 2)), (259, 9));
        let ev: usize = (0..9).map(|f| be16(&t, at + 4 + f * 4 + 2)).sum();
        assert_eq!(ev, 28);
        // Template 260: the port block event's six fields, as a record encodes them.
        let at = at + 4 + 9 * 4;
        assert_eq!((be16(&t, at), be16(&t, at + 2)), (260, 6));
        let ies: Vec<usize> = (0..6).map(|f| be16(&t, at + 4 + f * 4)).collect();
        assert_eq!(ies, [323, 230, 8, 225, 361, 362]);
        let pb: usize = (0..6).map(|f| be16(&t, at + 4 + f * 4 + 2)).sum();
        let b = Record::Block(BlockRecord {
            time_ms: 1,
            event: nat_event::PORT_BLOCK_ALLOC,
            host: [10, 0, 0, 1].into(),
            public: [198, 51, 100, 7].into(),
            ports: (1024, 1151),
        });
        let mut one = Vec::new();
        b.encode(&mut one);
        assert_eq!((pb, b.len()), (one.len(), one.len()));
        assert_eq!(&one[8..], &[16, 10, 0, 0, 1, 198, 51, 100, 7, 4, 0, 4, 127]);
        assert_eq!(at + 4 + 6 * 4, t.len());
    }

    #[test]
    fn a_nat_event_encodes_its_fields_in_template_order() {
        let e = NatEvent {
            time_ms: 0x0102_0304_0506_0708,
            event: nat_event::SESSION_DELETE,
            src: ([10, 0, 0, 1].into(), 5000),
            post_src: ([198, 51, 100, 7].into(), 40000),
            dst: ([192, 0, 2, 1].into(), 53),
            proto: 17,
        };
        let mut b = Vec::new();
        e.encode(&mut b);
        assert_eq!(b.len(), 28);
        assert_eq!(&b[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(b[8], 5, "natEvent: NAT44 session delete");
        assert_eq!(&b[9..13], &[10, 0, 0, 1]);
        assert_eq!(&b[13..17], &[198, 51, 100, 7]);
        assert_eq!(b[17], 17);
        assert_eq!((be16(&b, 18), be16(&b, 20)), (5000, 40000));
        assert_eq!(&b[22..26], &[192, 0, 2, 1]);
        assert_eq!(be16(&b, 26), 53);
    }
}
