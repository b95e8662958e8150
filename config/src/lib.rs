//! The svcard configuration model: ports, service sets, rules, applications, timeouts and
//! limits, parsed from TOML and validated with errors that name file, line and field.
//! No I/O beyond reading text.
//!
//! [`Config::classify`] gives the verdict for the first packet of a new session; it does not
//! allocate and uses lookup tables built at validation.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Narrowing casts only where the value is known to fit, said at the cast (try_from else).
#![warn(clippy::cast_possible_truncation)]

pub mod app;
mod classify;
pub mod error;
pub mod ids;
pub mod nat;
pub mod offload;
mod parse;
pub mod prefix;
pub mod reload;
pub mod tcp;
pub mod units;

use std::path::PathBuf;

pub use app::{
    builtin_applications, protocol_name, protocol_number, AlgKind, Application, PortRange,
};
pub use error::ConfigError;
pub use ids::{PortId, QueueId, WorkerId};
pub use offload::{
    ModelSettings, Offload, OffloadBackendKind, OffloadTrigger, ServiceSetOffload, MODEL_PRESETS,
};
pub use prefix::{Prefix, PrefixError};
pub use tcp::{OutOfWindow, TcpSession};
pub use units::VlanUnit;

/// The Prometheus endpoint (`[metrics]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Metrics {
    /// Where `GET /metrics` is answered (`listen = "127.0.0.1:9464"`; none: no endpoint).
    pub listen: Option<std::net::SocketAddr>,
}

/// IPFIX flow records (`[ipfix]`, RFC 7011) to a collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipfix {
    /// The collector (`collector = "127.0.0.1:4739"`; none: no IPFIX), over UDP.
    pub collector: Option<std::net::SocketAddr>,
    /// A long-lived session's flows are exported every this many seconds (their counts
    /// since the last record), flow end reason "active timeout"; 0: on close only.
    pub active_timeout_s: u32,
    /// The templates are sent again every this many seconds (UDP may lose them).
    pub template_refresh_s: u32,
    /// The message header's observation domain.
    pub observation_domain: u32,
}

impl Default for Ipfix {
    fn default() -> Self {
        Ipfix {
            collector: None,
            active_timeout_s: 60,
            template_refresh_s: 60,
            observation_domain: 0,
        }
    }
}

/// Session logs (`[log]`): RT_FLOW syslog messages to a collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// The collector (`host = "127.0.0.1:514"`; none: no session logs).
    pub host: Option<std::net::SocketAddr>,
    /// `udp` (RFC 5426) or `tcp` (RFC 6587 octet counting).
    pub tcp: bool,
    /// Which events and sessions are logged: the card's, and each service set's unless its
    /// own `[service-set.log]` says ([`Config::log_events`]).
    pub events: LogEvents,
    /// Most messages per second (the rest are counted, not sent).
    pub rate_limit: u32,
    /// The HOSTNAME field of each message.
    pub hostname: String,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            host: None,
            tcp: false,
            events: LogEvents::default(),
            rate_limit: 100_000,
            hostname: "svcard".to_string(),
        }
    }
}

/// Which session events are logged (`events`) and of which sessions (`alg-only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEvents {
    /// Session creates (`session-init`).
    pub session_init: bool,
    /// Session closes (`session-close`).
    pub session_close: bool,
    /// Denied sessions (`deny`): a discard or reject rule's new session.
    pub deny: bool,
    /// Only sessions of an ALG: the ones it watches and the ones its pinholes open.
    pub alg_only: bool,
}

impl Default for LogEvents {
    fn default() -> Self {
        LogEvents {
            session_init: true,
            session_close: true,
            deny: true,
            alg_only: false,
        }
    }
}

/// The "no index" value of the `u16` indices in [`Verdict`] and elsewhere.
pub const NONE: u16 = u16::MAX;

/// The card's identity in the Junos views (`[card]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// FPC slot number (`Flow Sessions on FPC0 PIC1:`).
    pub fpc: u8,
    /// PIC number of worker 0; worker `w` is PIC `pic_base + w`.
    pub pic_base: u8,
    /// The bundle (aggregated multiservices) interface, `ams0`.
    pub bundle: String,
    /// Prefix of the member interfaces: worker `w` is `{member_prefix}{w}` (`mams-5/0/0`).
    pub member_prefix: String,
    /// Host name shown in the CLI prompt (`user@svcard>`).
    pub hostname: String,
}

impl Default for Card {
    fn default() -> Self {
        Card {
            fpc: 0,
            pic_base: 0,
            bundle: "ams0".to_string(),
            member_prefix: "mams-5/0/".to_string(),
            hostname: "svcard".to_string(),
        }
    }
}

/// The largest receive burst a worker takes (`[workers] burst`): the size of its burst
/// arrays, fixed when svcard is built.
pub const MAX_BURST: u16 = 64;

/// Most ports a configuration may have: a session records its ingress port in one byte (so
/// that its cold record stays one cache line), and DPDK's default build has 32 ports.
pub const MAX_PORTS: usize = 255;

/// Worker threads (`[workers]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workers {
    /// Number of workers (1-1024).
    pub count: u16,
    /// Core of each worker (empty: no pinning; else exactly one per worker).
    pub cores: Vec<usize>,
    /// Core of the control thread, if pinned.
    pub control_core: Option<usize>,
    /// Frames a worker receives per burst (1-[`MAX_BURST`]): smaller bursts shorten the
    /// time a frame waits in the worker, larger ones spread the per-burst work.
    pub burst: u16,
}

impl Default for Workers {
    fn default() -> Self {
        Workers {
            count: 1,
            cores: Vec::new(),
            control_core: None,
            burst: MAX_BURST,
        }
    }
}

/// DPDK settings (`[dpdk]`), used by the DPDK backend only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dpdk {
    /// EAL arguments (the program name is added by the backend).
    pub eal_args: Vec<String>,
    /// Mbufs in the packet pool.
    pub mbufs: u32,
    /// Per-core mbuf cache (0-512).
    pub mbuf_cache: u32,
    /// Bytes of each mbuf's data room, headroom included (DPDK's default is 2176;
    /// 256 fits 64-byte frames and keeps large replay pools small).
    pub mbuf_data_room: u16,
    /// RX descriptors per queue.
    pub rx_desc: u16,
    /// TX descriptors per queue.
    pub tx_desc: u16,
}

impl Default for Dpdk {
    fn default() -> Self {
        Dpdk {
            eal_args: ["--no-huge", "-m", "1024", "--no-pci", "--no-shconf"]
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
            mbufs: 8191,
            mbuf_cache: 250,
            mbuf_data_room: 2176,
            rx_desc: 1024,
            tx_desc: 1024,
        }
    }
}

/// A port (`[[port]]`): a Junos interface name bound to a device, paired with its peer.
/// Each backend uses its own device fields and ignores the other's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Interface name (`ge-0/0/0.0`).
    pub name: String,
    /// DPDK device: devargs of a virtual device (`net_pcap0,rx_pcap=in.pcap`) or a PCI
    /// address (`0000:01:00.0`).
    pub dpdk: Option<String>,
    /// Pure-Rust backend: capture read as this port's input (resolved against the config
    /// file's directory).
    pub pcap_rx: Option<PathBuf>,
    /// Pure-Rust backend: capture written with what this port transmits (resolved against
    /// the config file's directory).
    pub pcap_tx: Option<PathBuf>,
    /// Index of the paired port (what arrives here leaves there, and back).
    pub peer: usize,
    /// Its VLAN units ([`units`]).
    pub units: Vec<VlanUnit>,
}

/// What a rule does with the sessions it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// Create the session and forward.
    Accept,
    /// Drop silently (a session remembers the verdict).
    Discard,
    /// Drop and answer with a TCP RST or an ICMP unreachable.
    Reject,
}

impl RuleAction {
    /// The configuration keyword (`accept`, `discard`, `reject`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            RuleAction::Accept => "accept",
            RuleAction::Discard => "discard",
            RuleAction::Reject => "reject",
        }
    }
}

/// One rule of a service set (`[[service-set.rule]]`). Every present condition must match;
/// an empty list matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Rule name (unique within the service set).
    pub name: String,
    /// 1-based policy index (Junos shows `name/index`, `p1/4`): `id + 1`.
    pub index: u16,
    /// The rule's stable ID in its service set: its position when the file was first read;
    /// a configuration reloaded while svcard runs keeps each rule's ID by name and gives
    /// new rules new ones ([`Config::rebase`]), so the ID a live session holds names the
    /// rule that admitted it. What a session's `rule` and [`Verdict::rule`] hold.
    pub id: u16,
    /// Source prefixes (any when empty).
    pub source: Vec<Prefix>,
    /// Destination prefixes (any when empty).
    pub destination: Vec<Prefix>,
    /// IP protocol (any when `None`).
    pub protocol: Option<u8>,
    /// Source port ranges (any when empty).
    pub source_ports: Vec<PortRange>,
    /// Destination port ranges (any when empty).
    pub destination_ports: Vec<PortRange>,
    /// Catalogue indices of the applications; the packet must match one (any when empty).
    pub applications: Vec<u16>,
    /// What to do with a matching session.
    pub action: RuleAction,
}

/// A service set (`[[service-set]]`): ports and ordered rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSet {
    /// Name (`ss1`).
    pub name: String,
    /// Indices of its ports (a port belongs to at most one service set).
    pub ports: Vec<usize>,
    /// Rules, tried in order.
    pub rules: Vec<Rule>,
    /// Every rule name by [`Rule::id`]: the rules' names, then those of rules a reload
    /// removed (their live sessions still name them).
    pub rule_names: Vec<String>,
    /// Action when no rule matches (default discard).
    pub default_action: RuleAction,
    /// Maximum sessions of this service set on the card.
    pub max_sessions: Option<u32>,
    /// Timeouts overriding the global ones for this service set.
    pub timeouts: TimeoutOverrides,
    /// When its sessions are offloaded.
    pub offload: ServiceSetOffload,
    /// Its NAT rules, in order (indices into [`Nat::rules`](nat::Nat::rules)).
    pub nat_rules: Vec<u16>,
    /// Its TCP checks (`[service-set.tcp-session]` over the card's `[tcp-session]`).
    pub tcp_session: TcpSession,
    /// Its session logs (`[service-set.log]`; none: the card's `[log]` events).
    pub log: Option<LogEvents>,
}

/// The timer that governs a session, by protocol and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeoutClass {
    /// TCP, handshake not complete.
    TcpSyn,
    /// TCP, established.
    TcpEstablished,
    /// TCP, FIN seen.
    TcpClosing,
    /// TCP, closed (both FINs or RST).
    TcpClosed,
    /// UDP.
    Udp,
    /// ICMP and ICMPv6.
    Icmp,
    /// Any other protocol.
    Other,
}

/// Global timeouts in seconds (`[timeouts]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP handshake (default 20).
    pub tcp_syn: u32,
    /// TCP established idle (default 1800).
    pub tcp_established: u32,
    /// TCP after a FIN (default 2).
    pub tcp_closing: u32,
    /// TCP after both FINs or a RST (default 2).
    pub tcp_closed: u32,
    /// UDP idle (default 60).
    pub udp: u32,
    /// ICMP idle (default 60).
    pub icmp: u32,
    /// Other protocols idle (default 60).
    pub other: u32,
    /// Absolute session lifetime, 0 = none (default 0).
    pub lifetime: u32,
    /// Early age-out (`[aging]`, Junos `security flow aging`): above
    /// `high_watermark` percent of a worker's table in use, sessions idle this many
    /// seconds are aged out, until use falls to `low_watermark` (default 20).
    pub early_ageout: u32,
    /// Percent of the table in use that starts early age-out (100, the default: never).
    pub high_watermark: u8,
    /// Percent of the table in use that stops it (default 100).
    pub low_watermark: u8,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp_syn: 20,
            tcp_established: 1800,
            tcp_closing: 2,
            tcp_closed: 2,
            udp: 60,
            icmp: 60,
            other: 60,
            lifetime: 0,
            early_ageout: 20,
            high_watermark: 100,
            low_watermark: 100,
        }
    }
}

impl Timeouts {
    /// The idle timeout of `class`.
    #[inline]
    #[must_use]
    pub const fn get(&self, class: TimeoutClass) -> u32 {
        match class {
            TimeoutClass::TcpSyn => self.tcp_syn,
            TimeoutClass::TcpEstablished => self.tcp_established,
            TimeoutClass::TcpClosing => self.tcp_closing,
            TimeoutClass::TcpClosed => self.tcp_closed,
            TimeoutClass::Udp => self.udp,
            TimeoutClass::Icmp => self.icmp,
            TimeoutClass::Other => self.other,
        }
    }
}

/// Per-service-set timeout overrides (`[service-set.timeouts]`); `None` = the global value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeoutOverrides {
    /// TCP handshake.
    pub tcp_syn: Option<u32>,
    /// TCP established idle.
    pub tcp_established: Option<u32>,
    /// TCP after a FIN.
    pub tcp_closing: Option<u32>,
    /// TCP after both FINs or a RST.
    pub tcp_closed: Option<u32>,
    /// UDP idle.
    pub udp: Option<u32>,
    /// ICMP idle.
    pub icmp: Option<u32>,
    /// Other protocols idle.
    pub other: Option<u32>,
    /// Absolute session lifetime (0 = none).
    pub lifetime: Option<u32>,
}

impl TimeoutOverrides {
    /// The override for `class`, if any.
    #[inline]
    #[must_use]
    pub const fn get(&self, class: TimeoutClass) -> Option<u32> {
        match class {
            TimeoutClass::TcpSyn => self.tcp_syn,
            TimeoutClass::TcpEstablished => self.tcp_established,
            TimeoutClass::TcpClosing => self.tcp_closing,
            TimeoutClass::TcpClosed => self.tcp_closed,
            TimeoutClass::Udp => self.udp,
            TimeoutClass::Icmp => self.icmp,
            TimeoutClass::Other => self.other,
        }
    }
}

/// What happens to a new flow when a session limit or the setup rate is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitPolicy {
    /// Drop the packet (no session is created).
    Drop,
    /// Forward the packet without a session and without services (fail open).
    Bypass,
}

/// Session limits (`[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum sessions on the card (default 1 048 576).
    pub max_sessions: u32,
    /// Maximum sessions per worker; `None`: `max_sessions` divided by the workers, rounded
    /// up (see [`Config::max_sessions_per_worker`]).
    pub max_sessions_per_worker: Option<u32>,
    /// New sessions per second on the card (unlimited when `None`).
    pub setup_rate: Option<u32>,
    /// What happens at a limit.
    pub at_limit: LimitPolicy,
}

impl Limits {
    /// Default of `max_sessions`.
    pub const DEFAULT_MAX_SESSIONS: u32 = 1_048_576;
}

/// Settings of one ALG (`[alg.NAME]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgSettings {
    /// The ALG runs (default true). When off, its applications still classify sessions.
    pub enabled: bool,
    /// Destination ports that replace the ports of the ALG's applications (empty: keep them).
    pub ports: Vec<u16>,
    /// Timeout of the ALG's pinholes and conversations, seconds (ALG default when `None`).
    pub timeout: Option<u32>,
    /// Maximum pinholes one conversation may open (ALG default when `None`).
    pub max_pinholes_per_conversation: Option<u32>,
    /// Maximum conversations of this ALG on the card (unlimited when `None`).
    pub max_conversations: Option<u32>,
    /// Accept an announced address other than the announcer's own (FTP's third-party
    /// transfers, a redirect to another host; refused by default): ftp, rpc-portmap,
    /// talk, sip, rtsp, sql, dce-rpc-portmap.
    pub loose: bool,
    /// SIP only: T1 in milliseconds (`t1-interval`; an INVITE unanswered for 64 × T1 is
    /// dropped).
    pub sip_t1_ms: Option<u32>,
    /// SIP only: the longest call, minutes (`maximum-call-duration`).
    pub sip_max_call_min: Option<u32>,
    /// SIP only: the most calls one signalling session tracks (`max-dialogs`).
    pub sip_max_dialogs: Option<u32>,
}

impl Default for AlgSettings {
    fn default() -> Self {
        AlgSettings {
            enabled: true,
            ports: Vec::new(),
            timeout: None,
            max_pinholes_per_conversation: None,
            max_conversations: None,
            loose: false,
            sip_t1_ms: None,
            sip_max_call_min: None,
            sip_max_dialogs: None,
        }
    }
}

/// The settings of every ALG, indexed by [`AlgKind`] (`algs[AlgKind::Sip].enabled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Algs {
    /// One entry per ALG, in [`AlgKind::ALL`] order.
    pub settings: [AlgSettings; AlgKind::ALL.len()],
}

impl Default for Algs {
    fn default() -> Self {
        Algs {
            settings: core::array::from_fn(|_| AlgSettings::default()),
        }
    }
}

impl core::ops::Index<AlgKind> for Algs {
    type Output = AlgSettings;
    fn index(&self, k: AlgKind) -> &AlgSettings {
        &self.settings[k as usize]
    }
}

/// The verdict for the first packet of a new session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Verdict {
    /// Service set index ([`NONE`] if the port is in no service set).
    pub service_set: u16,
    /// The matching rule's [`Rule::id`] ([`NONE`] when no rule matched).
    pub rule: u16,
    /// What to do.
    pub action: RuleAction,
    /// Catalogue index of the session's application ([`NONE`] if none).
    pub application: u16,
}

/// Catalogue lookup by (protocol, destination port), built at validation.
#[derive(Clone)]
struct AppLookup {
    /// For each protocol, 1 + index into `tables` of its per-port table, or 0.
    table_of: [u8; 256],
    /// Per-port tables (65 536 entries) of the protocols with ports that have applications.
    tables: Vec<Box<[u16]>>,
    /// For protocols without a table: the application of the whole protocol.
    any: [u16; 256],
}

impl core::fmt::Debug for AppLookup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppLookup")
            .field("tables", &self.tables.len())
            .finish_non_exhaustive()
    }
}

impl AppLookup {
    #[inline]
    fn get(&self, proto: u8, dport: u16) -> u16 {
        match self.table_of[usize::from(proto)] {
            0 => self.any[usize::from(proto)],
            t => self.tables[usize::from(t - 1)][usize::from(dport)],
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    /// Card identity.
    pub card: Card,
    /// Worker threads.
    pub workers: Workers,
    /// DPDK settings.
    pub dpdk: Dpdk,
    /// Ports, in file order.
    pub ports: Vec<Port>,
    /// Service sets, in file order.
    pub service_sets: Vec<ServiceSet>,
    /// The application catalogue: the built-in Junos entries (redefined in place by
    /// same-named `[[application]]`s), then the configuration's own.
    pub applications: Vec<Application>,
    /// Global timeouts.
    pub timeouts: Timeouts,
    /// Session limits.
    pub limits: Limits,
    /// ALG settings.
    pub algs: Algs,
    /// Offload settings.
    pub offload: Offload,
    /// The Prometheus endpoint (`[metrics]`).
    pub metrics: Metrics,
    /// Source NAT pools and rules (`[nat]`).
    pub nat: nat::Nat,
    /// Session logs (`[log]`).
    pub log: Log,
    /// IPFIX flow records (`[ipfix]`).
    pub ipfix: Ipfix,
    /// The card's TCP checks (`[tcp-session]`): sessions of ports in no service set, and
    /// the base of each service set's.
    pub tcp_session: TcpSession,
    /// The distinct offload policies of the service sets, `Never` first: sessions name
    /// theirs by index ([`Config::offload_policy`]).
    pub(crate) offload_triggers: Vec<OffloadTrigger>,
    /// Service set of each port ([`NONE`] when none).
    port_ss: Vec<u16>,
    /// Service set of each port's VLAN units, in the port's unit order.
    unit_ss: Vec<Vec<u16>>,
    /// Effective destination ports of each application (ALG `ports` overrides applied).
    app_ports: Vec<Vec<PortRange>>,
    lookup: AppLookup,
}

impl Config {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assemble(
        file: PathBuf,
        card: Card,
        workers: Workers,
        dpdk: Dpdk,
        ports: Vec<Port>,
        service_sets: Vec<ServiceSet>,
        applications: Vec<Application>,
        timeouts: Timeouts,
        limits: Limits,
        algs: Algs,
        offload: Offload,
        metrics: Metrics,
        nat: nat::Nat,
        log: Log,
        tcp_session: TcpSession,
        port_ss: Vec<u16>,
        unit_ss: Vec<Vec<u16>>,
    ) -> Config {
        let app_ports: Vec<Vec<PortRange>> = applications
            .iter()
            .map(|a| match a.alg {
                Some(k) if has_ports_override(&algs, k, a.protocol) => algs[k]
                    .ports
                    .iter()
                    .map(|&p| PortRange::single(p))
                    .collect(),
                _ => vec![a.destination_ports],
            })
            .collect();
        let lookup = build_lookup(&applications, &app_ports);
        let mut offload_triggers = vec![OffloadTrigger::Never];
        for ss in &service_sets {
            let all = core::iter::once(ss.offload.policy)
                .chain(ss.offload.applications.iter().map(|(_, t)| *t));
            for t in all {
                if !offload_triggers.contains(&t) {
                    offload_triggers.push(t);
                }
            }
        }
        Config {
            file,
            card,
            workers,
            dpdk,
            ports,
            service_sets,
            applications,
            timeouts,
            limits,
            algs,
            offload,
            metrics,
            nat,
            log,
            ipfix: Ipfix::default(),
            tcp_session,
            offload_triggers,
            port_ss,
            unit_ss,
            app_ports,
            lookup,
        }
    }

    /// True when a packet of (`proto`, `dport`) belongs to application `app` (its protocol
    /// and its destination ports, after any ALG `ports` override).
    #[inline]
    #[must_use]
    pub fn application_matches(&self, app: u16, proto: u8, dport: u16) -> bool {
        let i = usize::from(app);
        match self.applications.get(i) {
            Some(a) => a.protocol == proto && self.app_ports[i].iter().any(|r| r.contains(dport)),
            None => false,
        }
    }

    /// The catalogue application of (`proto`, `dport`) ([`NONE`] if none): the narrowest
    /// port range wins, then the configuration's own entries, then catalogue order.
    #[inline]
    #[must_use]
    pub fn lookup_application(&self, proto: u8, dport: u16) -> u16 {
        self.lookup.get(proto, dport)
    }

    /// The TCP checks of a service set's sessions (the card's for [`NONE`]).
    #[inline]
    #[must_use]
    pub fn tcp_session(&self, service_set: u16) -> &TcpSession {
        self.service_sets
            .get(usize::from(service_set))
            .map_or(&self.tcp_session, |s| &s.tcp_session)
    }

    /// Which events of service set `service_set`'s sessions are logged (its own
    /// `[service-set.log]`, else the card's; [`NONE`]: the card's).
    #[must_use]
    pub fn log_events(&self, service_set: u16) -> LogEvents {
        self.service_sets
            .get(usize::from(service_set))
            .and_then(|s| s.log)
            .unwrap_or(self.log.events)
    }

    /// Some TCP session of the card may have its segments checked (sequence windows or
    /// the strict SYN check): the workers keep a window line per session.
    #[must_use]
    pub fn checks_tcp_segments(&self) -> bool {
        core::iter::once(&self.tcp_session)
            .chain(self.service_sets.iter().map(|s| &s.tcp_session))
            .any(|t| t.tracks_windows() || t.strict_syn_check)
    }

    /// The ALG of application `app`, only if it has one and that ALG is enabled.
    #[inline]
    #[must_use]
    pub fn alg_enabled(&self, app: u16) -> Option<AlgKind> {
        let k = self.applications.get(usize::from(app))?.alg?;
        self.algs[k].enabled.then_some(k)
    }

    /// The NAT rule (index into [`Nat::rules`](nat::Nat::rules)) that translates a new
    /// IPv4 session of `service_set` from `src` to `dst`: the first of the service set's
    /// `nat-rules` that matches; `None` when none does (or the service set has none).
    #[must_use]
    pub fn nat_rule_for(
        &self,
        service_set: u16,
        src: core::net::Ipv4Addr,
        dst: core::net::Ipv4Addr,
    ) -> Option<u16> {
        let ss = self.service_sets.get(usize::from(service_set))?;
        ss.nat_rules.iter().copied().find(|&r| {
            self.nat
                .rules
                .get(usize::from(r))
                .is_some_and(|x| x.matches(src, dst))
        })
    }

    /// Idle timeout in seconds of a session of `service_set` and `application` (either may
    /// be [`NONE`]) in timer `class`: the application's `inactivity-timeout` (for the
    /// established, UDP, ICMP and other classes, not for TCP set-up and tear-down), then the
    /// service set's override, then the global value.
    #[inline]
    #[must_use]
    pub fn idle_timeout(&self, service_set: u16, application: u16, class: TimeoutClass) -> u32 {
        let steady = !matches!(
            class,
            TimeoutClass::TcpSyn | TimeoutClass::TcpClosing | TimeoutClass::TcpClosed
        );
        if steady {
            if let Some(t) = self
                .applications
                .get(usize::from(application))
                .and_then(|a| a.inactivity_timeout)
            {
                return t;
            }
        }
        if let Some(t) = self
            .service_sets
            .get(usize::from(service_set))
            .and_then(|s| s.timeouts.get(class))
        {
            return t;
        }
        self.timeouts.get(class)
    }

    /// Absolute session lifetime in seconds for `service_set` (0 = none).
    #[inline]
    #[must_use]
    pub fn lifetime(&self, service_set: u16) -> u32 {
        self.service_sets
            .get(usize::from(service_set))
            .and_then(|s| s.timeouts.lifetime)
            .unwrap_or(self.timeouts.lifetime)
    }

    /// The service set of `port` ([`NONE`] when none).
    #[inline]
    #[must_use]
    pub fn port_service_set(&self, port: usize) -> u16 {
        self.port_ss.get(port).copied().unwrap_or(NONE)
    }

    /// Index of the port named `name`.
    #[must_use]
    pub fn port_index(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name == name)
    }

    /// Catalogue index of the application named `name`.
    #[must_use]
    pub fn application_index(&self, name: &str) -> Option<u16> {
        self.applications
            .iter()
            .position(|a| a.name == name)
            .and_then(|i| u16::try_from(i).ok())
    }

    /// Index of the service set named `name`.
    #[must_use]
    pub fn service_set_index(&self, name: &str) -> Option<u16> {
        self.service_sets
            .iter()
            .position(|s| s.name == name)
            .and_then(|i| u16::try_from(i).ok())
    }

    /// Member interface of worker `worker` (`mams-5/0/0`).
    #[must_use]
    pub fn member_interface(&self, worker: WorkerId) -> String {
        format!("{}{}", self.card.member_prefix, worker)
    }

    /// Session capacity of one worker: `limits.max_sessions_per_worker`, or else
    /// `limits.max_sessions` divided by `workers.count`, rounded up.
    #[must_use]
    pub fn max_sessions_per_worker(&self) -> u32 {
        self.limits.max_sessions_per_worker.unwrap_or_else(|| {
            self.limits
                .max_sessions
                .div_ceil(u32::from(self.workers.count.max(1)))
        })
    }

    /// PIC number of worker `worker` (`pic_base + worker`).
    #[must_use]
    pub fn pic(&self, worker: WorkerId) -> u16 {
        u16::from(self.card.pic_base) + worker.0
    }
}

fn has_ports_override(algs: &Algs, k: AlgKind, proto: u8) -> bool {
    !algs[k].ports.is_empty() && app::has_ports(proto)
}

fn build_lookup(apps: &[Application], app_ports: &[Vec<PortRange>]) -> AppLookup {
    // Entries in ascending priority; later writes win.
    let mut entries: Vec<(u8, PortRange, usize)> = Vec::new();
    for (i, a) in apps.iter().enumerate() {
        // An empty range (lo > hi: an ALG's child application) is never chosen by port.
        for r in app_ports[i].iter().filter(|r| r.lo <= r.hi) {
            entries.push((a.protocol, *r, i));
        }
    }
    entries.sort_by_key(|&(_, r, i)| {
        (
            core::cmp::Reverse(r.width()),
            !apps[i].builtin,
            core::cmp::Reverse(i),
        )
    });
    let mut l = AppLookup {
        table_of: [0; 256],
        tables: Vec::new(),
        any: [NONE; 256],
    };
    for &(proto, r, i) in &entries {
        let p = usize::from(proto);
        if app::has_ports(proto) {
            if l.table_of[p] == 0 {
                l.tables.push(vec![NONE; 65_536].into_boxed_slice());
                l.table_of[p] = u8::try_from(l.tables.len()).unwrap_or(u8::MAX);
            }
            let t = &mut l.tables[usize::from(l.table_of[p] - 1)];
            t[usize::from(r.lo)..=usize::from(r.hi)].fill(u16::try_from(i).unwrap_or(NONE));
        } else {
            l.any[p] = u16::try_from(i).unwrap_or(NONE);
        }
    }
    l
}

#[cfg(test)]
mod tests;
