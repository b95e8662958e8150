//! Session logs: each session's create, close and deny as a Junos `RT_FLOW` message in
//! structured-data syslog (RFC 5424, `sd-syslog`), to a collector over UDP (RFC 5426) or
//! TCP (RFC 6587 octet counting). The control core offers each event to a bounded channel
//! ([`LogTap`], never waiting: a full channel is counted); a thread of its own formats and
//! sends, at most `rate-limit` messages a second (the rest counted). A worker never formats
//! or sends a log.
//!
//! The fields and their order are those of SRX `RT_FLOW_SESSION_CREATE` / `_CLOSE` /
//! `_DENY` messages as captured from devices (sources in docs/operations.md); what svcard
//! has no notion of is written as Junos writes an absent value (`N/A`, `UNKNOWN`, `0`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use svcard_config::reload::LiveConfig;
use svcard_config::{Config, WorkerId};
use svcard_dataplane::nat::BlockEvent;
use svcard_dataplane::ring::{CloseReason, Event, EventKind};
use svcard_dataplane::session::{Action, SessionView};

use crate::central::EventTap;
pub use crate::central::LogStats;
use crate::commands::ConfigNames;
use crate::show::names::Names;

/// The structured-data ID: Juniper's enterprise number and the platform the messages
/// stand for (an MX router's, as the MX-SPC3 samples carry).
pub const SD_ID: &str = "junos@2636.1.1.1.2.25";

/// What the logger thread is offered.
// By value, as the events were before: no allocation per session event (block events
// are rare and small).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
enum LogItem {
    /// A session's event.
    Session(WorkerId, Event),
    /// A NAT port block allocated or released.
    Block(BlockEvent),
}

/// The control core's end: offers events to the logger thread.
#[derive(Debug)]
pub struct LogTap {
    tx: crossbeam_channel::Sender<LogItem>,
    stats: Arc<LogStats>,
    /// The configuration in force (its switches: the card's and each service set's), and
    /// its generation.
    config: Arc<Config>,
    live: Arc<LiveConfig>,
    generation: u64,
}

impl EventTap for LogTap {
    fn on_event(&mut self, worker: WorkerId, ev: &Event) {
        if self.live.generation() != self.generation {
            // A reload: its switches apply from this event on.
            self.generation = self.live.generation();
            self.config = self.live.current();
        }
        let on = self.config.log_events(ev.view.service_set);
        let wanted = match ev.kind {
            EventKind::Created if denied(&ev.view) => on.deny,
            EventKind::Created => on.session_init,
            EventKind::Closed(_) if denied(&ev.view) => false,
            EventKind::Closed(_) => on.session_close,
            EventKind::Changed | EventKind::Matched(_) => false,
        } && (!on.alg_only || of_alg(&self.config, &ev.view));
        if wanted && self.tx.try_send(LogItem::Session(worker, *ev)).is_err() {
            self.stats.channel_full.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_block(&mut self, _worker: WorkerId, ev: &BlockEvent) {
        // Port block logs are on whenever the log is (Junos logs them unless told not
        // to): they are what a compliance archive keeps instead of a log per session.
        if self.tx.try_send(LogItem::Block(*ev)).is_err() {
            self.stats.channel_full.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn denied(v: &SessionView) -> bool {
    matches!(v.action, Action::Drop | Action::Reject)
}

/// Whether `v` is a session of an ALG: one it watches (its application has an ALG), or one
/// its pinholes opened (an ALG's child application: FTP data, TFTP data, …).
fn of_alg(config: &Config, v: &SessionView) -> bool {
    v.action == Action::Watch
        || config
            .applications
            .get(usize::from(v.application))
            .is_some_and(|a| {
                a.alg.is_some() || svcard_alg::AppHint::ALL.iter().any(|h| h.name() == a.name)
            })
}

/// The logger thread and its figures.
#[derive(Debug)]
pub struct SessionLogger {
    /// What it counted.
    pub stats: Arc<LogStats>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SessionLogger {
    /// Starts the logger of `config`'s `[log]` (which must name a host), counting into
    /// `stats`; returns it and the tap for the control core.
    ///
    /// # Errors
    /// The thread could not start, or the UDP socket not open.
    pub fn start(
        live: &Arc<LiveConfig>,
        stats: Arc<LogStats>,
    ) -> std::io::Result<(SessionLogger, LogTap)> {
        let config = &live.current();
        let host = config
            .log
            .host
            .ok_or_else(|| std::io::Error::other("no [log] host"))?;
        let (tx, rx) = crossbeam_channel::bounded::<LogItem>(16_384);
        let mut out = Sink::new(host, config.log.tcp)?;
        let (lv, st) = (Arc::clone(live), Arc::clone(&stats));
        let thread = std::thread::Builder::new()
            .name("svcard-log".into())
            .spawn(move || {
                let mut generation = lv.generation();
                let mut cfg = lv.current();
                let mut names = ConfigNames::new(Arc::clone(&cfg));
                let mut rate = u64::from(cfg.log.rate_limit);
                let (mut window, mut in_window) = (Instant::now(), 0u64);
                while let Ok(item) = rx.recv() {
                    if lv.generation() != generation {
                        // A reload: its names and rate from this message on.
                        generation = lv.generation();
                        cfg = lv.current();
                        names = ConfigNames::new(Arc::clone(&cfg));
                        rate = u64::from(cfg.log.rate_limit);
                    }
                    if window.elapsed() >= Duration::from_secs(1) {
                        (window, in_window) = (Instant::now(), 0);
                    }
                    if in_window >= rate {
                        st.rate_limited.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    in_window += 1;
                    let msg = match item {
                        LogItem::Session(w, ev) => {
                            format_event(&cfg, &names, w, &ev, SystemTime::now())
                        }
                        LogItem::Block(b) => format_block(&cfg, &b, SystemTime::now()),
                    };
                    if out.send(&msg) {
                        st.sent.fetch_add(1, Ordering::Relaxed);
                    } else {
                        st.send_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })?;
        let tap = LogTap {
            tx,
            stats: Arc::clone(&stats),
            config: Arc::clone(config),
            generation: live.generation(),
            live: Arc::clone(live),
        };
        Ok((
            SessionLogger {
                stats,
                thread: Some(thread),
            },
            tap,
        ))
    }

    /// Waits for the thread (it ends when the control core's tap is dropped).
    pub fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Where messages go.
enum Sink {
    Udp(UdpSocket, SocketAddr),
    Tcp(SocketAddr, Option<TcpStream>, Option<Instant>),
}

impl Sink {
    fn new(host: SocketAddr, tcp: bool) -> std::io::Result<Sink> {
        if tcp {
            return Ok(Sink::Tcp(host, None, None));
        }
        let bind: SocketAddr = if host.is_ipv4() {
            "0.0.0.0:0".parse().map_err(std::io::Error::other)?
        } else {
            "[::]:0".parse().map_err(std::io::Error::other)?
        };
        Ok(Sink::Udp(UdpSocket::bind(bind)?, host))
    }

    /// Sends one message; false when it could not.
    fn send(&mut self, msg: &str) -> bool {
        match self {
            Sink::Udp(s, to) => s.send_to(msg.as_bytes(), *to).is_ok(),
            Sink::Tcp(to, conn, last_try) => {
                if conn.is_none() {
                    // At most one connection attempt a second while the collector is away.
                    if last_try.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                        return false;
                    }
                    *last_try = Some(Instant::now());
                    *conn = TcpStream::connect_timeout(to, Duration::from_millis(500)).ok();
                }
                let Some(c) = conn.as_mut() else {
                    return false;
                };
                // RFC 6587 octet counting: the length, a space, the message.
                let framed = format!("{} {msg}", msg.len());
                if c.write_all(framed.as_bytes()).is_ok() {
                    true
                } else {
                    *conn = None;
                    false
                }
            }
        }
    }
}

/// The close reason as Junos words it.
fn reason(r: CloseReason) -> &'static str {
    match r {
        CloseReason::Idle => "idle Timeout",
        CloseReason::TcpClose => "TCP FIN",
        CloseReason::Lifetime => "aged out",
        CloseReason::Cleared => "CLI",
        CloseReason::Alg => "ALG",
    }
}

/// RFC 3339 UTC time with milliseconds (`2026-12-07T06:59:01.123Z`).
fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// One event as an RFC 5424 message (no trailing newline).
#[must_use]
pub fn format_event(
    cfg: &Config,
    names: &dyn Names,
    _worker: WorkerId,
    ev: &Event,
    now: SystemTime,
) -> String {
    let v = &ev.view;
    let (msgid, close) = match ev.kind {
        EventKind::Closed(r) => ("RT_FLOW_SESSION_CLOSE", Some(r)),
        EventKind::Created if denied(v) => ("RT_FLOW_SESSION_DENY", None),
        _ => ("RT_FLOW_SESSION_CREATE", None),
    };
    let f0 = &v.flows[0];
    let ep = |e: Option<svcard_dataplane::flow::Endpoint>| {
        e.map_or(("N/A".to_string(), 0), |e| (e.addr.to_string(), e.port))
    };
    let (src, sport) = ep(f0.src);
    let (dst, dport) = ep(f0.dst);
    // Translated: the initiator's source leaves from the public endpoint; a session in to
    // a mapping arrived at the public endpoint and goes to the private one.
    let (nsrc, nsport, ndst, ndport, rule_type, rule_name) = match v.nat {
        Some(n) if n.inbound => {
            let (a, p) = (n.private.addr.to_string(), n.private.port);
            (
                src.clone(),
                sport,
                a,
                p,
                "source rule",
                nat_rule(cfg, v, n.pool),
            )
        }
        Some(n) => {
            let (a, p) = (n.public.addr.to_string(), n.public.port);
            (
                a,
                p,
                dst.clone(),
                dport,
                "source rule",
                nat_rule(cfg, v, n.pool),
            )
        }
        None => (
            src.clone(),
            sport,
            dst.clone(),
            dport,
            "N/A",
            "N/A".to_string(),
        ),
    };
    let service = names.application_name(v.application).unwrap_or("None");
    let policy = if v.rule == u16::MAX {
        crate::show::model::DEFAULT_POLICY
    } else {
        names.rule_name(v.service_set, v.rule).unwrap_or("N/A")
    };
    let zone = names.service_set_name(v.service_set).unwrap_or("N/A");
    let iface = f0
        .ingress_port
        .and_then(|p| names.port_name(p))
        .unwrap_or("N/A");
    let mut sd = String::with_capacity(768);
    let mut kv = |k: &str, val: &dyn core::fmt::Display| {
        let _ = write!(sd, " {k}=\"");
        let s = val.to_string();
        // RFC 5424 §6.3.3: '"', '\' and ']' escaped in PARAM-VALUE.
        for c in s.chars() {
            if matches!(c, '"' | '\\' | ']') {
                sd.push('\\');
            }
            sd.push(c);
        }
        sd.push('"');
    };
    if let Some(r) = close {
        kv("reason", &reason(r));
    }
    kv("source-address", &src);
    kv("source-port", &sport);
    kv("destination-address", &dst);
    kv("destination-port", &dport);
    kv("connection-tag", &0);
    kv("service-name", &service);
    if msgid != "RT_FLOW_SESSION_DENY" {
        kv("nat-source-address", &nsrc);
        kv("nat-source-port", &nsport);
        kv("nat-destination-address", &ndst);
        kv("nat-destination-port", &ndport);
        kv("nat-connection-tag", &0);
        kv("src-nat-rule-type", &rule_type);
        kv("src-nat-rule-name", &rule_name);
        kv("dst-nat-rule-type", &"N/A");
        kv("dst-nat-rule-name", &"N/A");
    }
    kv("protocol-id", &v.key.proto);
    kv("policy-name", &policy);
    kv("source-zone-name", &zone);
    kv("destination-zone-name", &zone);
    kv("session-id-32", &v.id);
    if close.is_some() {
        kv("packets-from-client", &f0.packets);
        kv("bytes-from-client", &f0.bytes);
        kv("packets-from-server", &v.flows[1].packets);
        kv("bytes-from-server", &v.flows[1].bytes);
        kv("elapsed-time", &v.duration_s);
    }
    kv("application", &"UNKNOWN");
    kv("nested-application", &"UNKNOWN");
    kv("username", &"N/A");
    kv("roles", &"N/A");
    kv("packet-incoming-interface", &iface);
    kv("encrypted", &"UNKNOWN");
    if msgid == "RT_FLOW_SESSION_DENY" {
        kv("reason", &"policy deny");
    }
    // <14>: facility user (1), severity info (6), as the devices send them.
    format!(
        "<14>1 {} {} RT_FLOW - {msgid} [{SD_ID}{sd}]",
        timestamp(now),
        cfg.log.hostname
    )
}

/// A NAT port block allocated or released, as the SRX's `RT_SRC_NAT_PBA_ALLOC` /
/// `RT_SRC_NAT_PBA_RELEASE` message (no trailing newline): its fields as structured data,
/// then the text the SRX writes ("Subscriber A used/maximum [U/M] blocks, allocates port
/// block [F-L] from P in source pool N lsys_id: 0").
#[must_use]
pub fn format_block(cfg: &Config, b: &BlockEvent, now: SystemTime) -> String {
    let (msgid, verb) = if b.alloc {
        ("RT_SRC_NAT_PBA_ALLOC", "allocates")
    } else {
        ("RT_SRC_NAT_PBA_RELEASE", "releases")
    };
    let host = std::net::Ipv4Addr::from(b.host);
    let public = std::net::Ipv4Addr::from(b.public);
    let pool = cfg
        .nat
        .pools
        .get(usize::from(b.pool))
        .map_or("N/A", |p| p.name.as_str());
    let (first, last) = b.ports;
    let (used, max) = b.used;
    format!(
        "<14>1 {} {} RT_NAT - {msgid} [{SD_ID} subscriber-address=\"{host}\" \
         nat-source-address=\"{public}\" nat-source-port-start=\"{first}\" \
         nat-source-port-end=\"{last}\" blocks-used=\"{used}\" blocks-maximum=\"{max}\" \
         source-nat-pool-name=\"{pool}\" lsys-id=\"0\"] Subscriber {host} used/maximum \
         [{used}/{max}] blocks, {verb} port block [{first}-{last}] from {public} in source \
         pool {pool} lsys_id: 0",
        timestamp(now),
        cfg.log.hostname
    )
}

/// The name of the NAT rule of a session's service set that uses `pool`.
fn nat_rule(cfg: &Config, v: &SessionView, pool: u16) -> String {
    cfg.service_sets
        .get(usize::from(v.service_set))
        .and_then(|ss| {
            ss.nat_rules
                .iter()
                .filter_map(|&r| cfg.nat.rules.get(usize::from(r)))
                .find(|r| r.pool == pool)
        })
        .map_or_else(|| "N/A".to_string(), |r| r.name.clone())
}

#[cfg(test)]
mod tests {
    use super::timestamp;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T12:34:56.789Z, a leap day.
        let t = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        assert_eq!(timestamp(t), "2024-02-29T12:34:56.789Z");
        // (`date -u -d @1796627941` agrees.)
        let t = UNIX_EPOCH + Duration::from_secs(1_796_627_941);
        assert_eq!(timestamp(t), "2026-12-07T07:19:01.000Z");
    }
}
