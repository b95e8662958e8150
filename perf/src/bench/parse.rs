//! Reading the programs' output: testpmd's statistics, svcard's `rate:` lines and exit summary (the counter registry's `name=value` fields), show command replies.

use svcard_dataplane::stats::{self, Counter, Gauge, LocalStats};

use super::model::*;

/// Frames in and out, from svcard's exit summary (`worker N: rx_packets=A tx_packets=B …`,
/// the registry's fields, and `<port>: rx X tx Y missed M rx errors E tx errors O`).
#[must_use]
pub fn parse_drops(lines: &[String]) -> Option<Drops> {
    fn after(l: &str, key: &str) -> Option<u64> {
        let i = l.find(key)?;
        l[i + key.len()..].split([' ', ',']).next()?.parse().ok()
    }
    let mut d = Drops::default();
    let (mut any, mut ports) = (false, (0u64, 0u64, false));
    for l in lines {
        if let Some(w) = worker_fields(l) {
            d.rx += w.get(Counter::RxPackets);
            d.tx += w.get(Counter::TxPackets);
            d.policy_malformed += w.get(Counter::PolicyDropped) + w.get(Counter::Malformed);
            any = true;
        } else if l.contains(" missed ") {
            ports.0 += after(l, ": rx ").unwrap_or(0);
            ports.1 += after(l, " tx ").unwrap_or(0);
            ports.2 = true;
            d.port_losses += after(l, " missed ").unwrap_or(0)
                + after(l, " rx errors ").unwrap_or(0)
                + after(l, " tx errors ").unwrap_or(0);
        }
    }
    if ports.2 {
        (d.rx, d.tx) = (ports.0, ports.1);
    }
    any.then_some(d)
}

/// Reads testpmd's periodic NIC statistics, line by line.
#[derive(Debug, Default)]
pub struct TestpmdParser {
    port: Option<u32>,
    sink: u32,
}

impl TestpmdParser {
    /// A parser of the Tx-pps of port `sink`.
    #[must_use]
    pub fn new(sink: u32) -> Self {
        Self { port: None, sink }
    }
    /// Feeds one line; returns the sink's Tx-pps at the end of its block.
    pub fn line(&mut self, l: &str) -> Option<f64> {
        if let Some(i) = l.find("NIC statistics for port ") {
            let rest = &l[i + "NIC statistics for port ".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            self.port = digits.parse().ok();
            return None;
        }
        let t = l.trim_start();
        if t.starts_with("####") {
            self.port = None;
            return None;
        }
        if let Some(rest) = t.strip_prefix("Tx-pps:") {
            if self.port == Some(self.sink) {
                return rest.split_whitespace().next()?.parse().ok();
            }
        }
        None
    }
}

/// Parses `rate: t=3.000 rx_pps=5620910 tx_pps=5620910 rx_packets=… sessions=100000
/// sessions_created=100000 …` (the registry's fields after the two rates).
#[must_use]
pub fn parse_rate_line(l: &str) -> Option<RateLine> {
    let rest = l.trim().strip_prefix("rate:")?;
    let mut r = RateLine {
        t: f64::NAN,
        rx_pps: f64::NAN,
        tx_pps: f64::NAN,
        sessions: 0,
        created: 0,
    };
    for kv in rest.split_whitespace() {
        let (k, v) = kv.split_once('=')?;
        match k {
            "t" => r.t = v.parse().ok()?,
            "rx_pps" => r.rx_pps = v.parse().ok()?,
            "tx_pps" => r.tx_pps = v.parse().ok()?,
            _ => {}
        }
    }
    let fields = stats::parse_fields(rest);
    r.sessions = fields.gauge(Gauge::Sessions);
    r.created = fields.get(Counter::SessionsCreated);
    (!r.t.is_nan() && !r.tx_pps.is_nan()).then_some(r)
}

/// The registry's figures of one worker line of svcard's exit summary
/// (`worker N: name=value …`), or `None` for another line.
#[must_use]
pub fn worker_fields(l: &str) -> Option<LocalStats> {
    let rest = l.strip_prefix("worker ")?;
    let (n, fields) = rest.split_once(": ")?;
    n.parse::<u16>().ok()?;
    Some(stats::parse_fields(fields))
}

/// Every registered figure summed over the worker lines of svcard's exit summary, or
/// `None` when it has none.
#[must_use]
pub fn parse_worker_totals(lines: &[String]) -> Option<LocalStats> {
    let mut total: Option<LocalStats> = None;
    for w in lines.iter().filter_map(|l| worker_fields(l)) {
        total.get_or_insert_with(LocalStats::default).merge(&w);
    }
    total
}

/// `Unicast-sessions` and `Maximum-sessions` of `show security flow session summary`,
/// summed over the workers' sections.
#[must_use]
pub fn parse_session_summary(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let v: Vec<u64> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix(name)?.trim().parse().ok())
            .collect();
        (!v.is_empty()).then(|| v.iter().sum())
    };
    Some((field("Unicast-sessions:")?, field("Maximum-sessions:")?))
}

/// Session-table bytes of svcard's exit summary (the workers' `table_bytes`), summed.
#[must_use]
pub fn parse_table_bytes(lines: &[String]) -> Option<u64> {
    parse_worker_totals(lines).map(|t| t.gauge(Gauge::TableBytes))
}

/// `N` of `Count: N lines`.
#[must_use]
pub fn parse_count(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("Count: ")?
            .strip_suffix(" lines")?
            .parse()
            .ok()
    })
}
