//! `svcard bench --scenario offload`: the offload experiment. A heavy-tailed mix of UDP
//! flows (many mice, a few elephants carrying most of the bytes) is replayed at its own
//! pace through the engine, in-process on the pure-Rust pcap backend with the NIC model,
//! once per policy and, for one policy, once per insertion budget. For each run: the share
//! of packets and bytes the NIC handled, rules inserted and removed per second against the
//! budget, requests refused by reason, table occupancy over time, the delay from a
//! session's first packet to its request and from the request to the rule being active,
//! the counter error at close (software plus hardware against what was sent: it must be 0),
//! and the worker's time per packet it handled itself.
//!
//! The mix: flow sizes in packets drawn from a Pareto distribution (shape 1.2, scale 2,
//! capped at 20,000), the model of heavy-tailed flow sizes that measurements of Internet and
//! data-centre traffic support (Benson, Akella, Maltz, "Network traffic characteristics of
//! data centers in the wild", IMC 2010: most flows are small, most bytes are in the few
//! large ones). Flows of 100 packets or more send 1,242-byte frames, the others 142-byte
//! ones; each flow answers every tenth packet (102 bytes), so `established` applies to UDP.
//!
//! What it measures and what it cannot: see [`svcard_dataplane::offload::model`]. The
//! time per packet is the worker's own (loop time over packets), on a pcap backend:
//! compare runs with each other, not with the DPDK figures of the other scenarios.

use anyhow::{Context as _, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use svcard_config::Config;
use svcard_control::engine::{Engine, EngineOptions};
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::port::pcap::{PcapBackend, PcapOptions};
use svcard_dataplane::stats::{Counter, LocalStats, LOOP_BUCKETS};

/// One run of the experiment: a policy and an insertion budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffloadCase {
    /// A short name (`after-packets 20`).
    pub policy: String,
    /// The `[service-set.offload]` lines.
    pub toml: String,
    /// Rule insertions per second allowed (`None`: unlimited).
    pub budget: Option<u32>,
}

/// What one run measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OffloadFigures {
    /// The policy.
    pub policy: String,
    /// The insertion budget.
    pub budget: Option<u32>,
    /// Seconds the replay took.
    pub seconds: f64,
    /// Packets and bytes received.
    pub packets: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Packets and bytes the NIC (model) handled.
    pub hw_packets: u64,
    /// Bytes the NIC handled.
    pub hw_bytes: u64,
    /// Sessions created.
    pub sessions: u64,
    /// Offload requests.
    pub requests: u64,
    /// Rules installed, removed.
    pub installed: u64,
    /// Rules removed.
    pub removed: u64,
    /// Requests refused, by reason name.
    pub refused: Vec<(&'static str, u64)>,
    /// Table occupancy sampled over the run: (seconds, rules).
    pub occupancy: Vec<(f64, u32)>,
    /// Most rules at once.
    pub peak_occupancy: u32,
    /// Mean first packet → request, ms.
    pub trigger_ms: f64,
    /// Mean and largest request → active, µs.
    pub activation_us: (f64, u64),
    /// Packets counted at close minus packets forwarded or dropped (must be 0).
    pub counter_error: i64,
    /// The worker's ns per packet it handled in software (loop time over packets).
    pub sw_ns_per_packet: f64,
}

impl OffloadFigures {
    /// Share of packets the NIC handled.
    #[must_use]
    pub fn share_packets(&self) -> f64 {
        ratio(self.hw_packets, self.packets)
    }
    /// Share of bytes the NIC handled.
    #[must_use]
    pub fn share_bytes(&self) -> f64 {
        ratio(self.hw_bytes, self.bytes)
    }
    /// Rules inserted per second of replay.
    #[must_use]
    pub fn inserts_per_s(&self) -> f64 {
        per_s(self.installed, self.seconds)
    }
    /// Rules removed per second of replay.
    #[must_use]
    pub fn removes_per_s(&self) -> f64 {
        per_s(self.removed, self.seconds)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn per_s(n: u64, s: f64) -> f64 {
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

/// The policies compared, then the budget sweep (of `after-packets 20`).
#[must_use]
pub fn cases() -> Vec<OffloadCase> {
    let pol = |name: &str, toml: &str, budget: Option<u32>| OffloadCase {
        policy: name.to_string(),
        toml: format!("[service-set.offload]\n{toml}"),
        budget,
    };
    let after = "policy = \"after-packets\"\npackets = 20\n";
    let mut v = vec![
        pol("never", "policy = \"never\"\n", None),
        pol("established", "policy = \"established\"\n", None),
        pol("after-packets 20", after, None),
        pol(
            "after-bytes 16000",
            "policy = \"after-bytes\"\nbytes = 16000\n",
            None,
        ),
        pol(
            "rate-above 500 pps",
            "policy = \"rate-above\"\npackets-per-second = 500\nwindow-ms = 100\n",
            None,
        ),
    ];
    for b in [1000, 300, 100] {
        v.push(pol("after-packets 20", after, Some(b)));
    }
    v
}

/// A small deterministic generator (xorshift64*), so a mix is the same in every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
}

/// The heavy-tailed mix: `flows` UDP flows over `seconds`, (client frames, server frames),
/// timestamps in ns. Returns the two captures' records.
#[must_use]
pub fn mix(flows: u32, seconds: f64, seed: u64) -> (Vec<Record>, Vec<Record>) {
    const SHAPE: f64 = 1.2;
    const SCALE: f64 = 2.0;
    const CAP: f64 = 20_000.0;
    let mut rng = Rng(seed | 1);
    let span_ns = (seconds * 1e9) as u64;
    let (mut client, mut server) = (Vec::new(), Vec::new());
    for f in 0..flows {
        let size = (SCALE / rng.unit().powf(1.0 / SHAPE)).min(CAP) as u64;
        // A flow starts in the first 70 % of the span and sends its packets a millisecond
        // apart, faster when that would not fit in the rest of the span (elephants up to
        // 50,000 packets a second): every flow keeps its drawn size.
        let start = (rng.unit() * 0.7 * span_ns as f64) as u64;
        let room = span_ns - start;
        let gap = (room / size.max(1)).clamp(20_000, 1_000_000);
        let n = size.min(room / gap).max(1);
        let c = ip4(10, 0, (f >> 8) as u8, f as u8);
        let s = ip4(192, 0, 2, 1 + (f % 200) as u8);
        let sport = 1024 + (f % 60_000) as u16;
        // Bulk flows carry full frames, short ones small ones; answers are small.
        let payload = if size >= 100 { 1200 } else { 100 };
        let up = crate::frames::udp(c, sport, s, 5000, &vec![0x55; payload], true);
        let down = crate::frames::udp(s, 5000, c, sport, &[0x66; 60], true);
        for i in 0..n {
            let ts = start + i * gap;
            client.push(Record {
                ts_ns: ts,
                data: up.clone(),
            });
            if i % 10 == 0 {
                server.push(Record {
                    ts_ns: ts + 50_000,
                    data: down.clone(),
                });
            }
        }
    }
    client.sort_by_key(|r| r.ts_ns);
    server.sort_by_key(|r| r.ts_ns);
    (client, server)
}

fn ip4(a: u8, b: u8, c: u8, d: u8) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d))
}

/// The configuration of a run over the captures in `dir`.
fn config(dir: &Path, case: &OffloadCase) -> Result<Arc<Config>> {
    let budget = case
        .budget
        .map_or(String::new(), |b| format!("insert-budget = {b}\n"));
    let text = format!(
        r#"
[workers]
count = 1
[timeouts]
udp = 2
[offload]
counter-interval-ms = 100
{budget}
[offload.model]
preset = "generic"
[[port]]
name = "ge-0/0/0.0"
pcap-rx = "{c}"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
pcap-rx = "{s}"
peer = "ge-0/0/0.0"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
{policy}
"#,
        c = dir.join("client.pcap").display(),
        s = dir.join("server.pcap").display(),
        policy = case.toml,
    );
    let cfg = Config::from_toml_str(&text, &dir.join("offload.toml"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Arc::new(cfg))
}

/// Mean ns per packet from the worker's loop times.
fn ns_per_packet(s: &LocalStats) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0u64);
    for b in 0..LOOP_BUCKETS {
        let c = s.loops.packet_ns[b];
        if c > 0 {
            let (lo, hi) = svcard_dataplane::stats::loop_bucket_range(b);
            // The bucket's middle (its low end for the open last one).
            let mid = if hi == u64::MAX { lo } else { (lo + hi) / 2 };
            sum += mid as f64 * c as f64;
            n += c;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Runs one case over the captures in `dir`.
///
/// # Errors
/// The configuration or the engine does not start, or the replay never ends.
pub fn run_case(dir: &Path, case: &OffloadCase) -> Result<OffloadFigures> {
    let config = config(dir, case)?;
    let opts = PcapOptions {
        pace: true,
        repeat: 1,
    };
    let (queues, control, _sink) = PcapBackend::for_config(&config, opts)?.into_parts();
    let engine = Engine::start(&config, queues, control, EngineOptions::default())
        .context("starting the engine")?;
    let t0 = Instant::now();
    let mut occupancy = Vec::new();
    let mut seen_idle = false;
    let seconds = loop {
        std::thread::sleep(Duration::from_millis(100));
        if let Ok(s) = engine.control().offload.stats.lock() {
            occupancy.push((t0.elapsed().as_secs_f64(), s.occupancy));
        }
        if engine.settled(&mut seen_idle) {
            break t0.elapsed().as_secs_f64();
        }
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(600),
            "the replay never ended"
        );
    };
    let card = engine.stats().card();
    let st = engine
        .control()
        .offload
        .stats
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    // Close everything: the closes carry software plus hardware counts.
    let _ = engine.query("clear services sessions");
    let t1 = Instant::now();
    let closed = loop {
        let b = engine
            .control()
            .books
            .lock()
            .map(|b| b.workers.clone())
            .unwrap_or_default();
        let (closed, created, packets): (u64, u64, u64) = b.iter().fold((0, 0, 0), |a, w| {
            (
                a.0 + w.closed.iter().sum::<u64>(),
                a.1 + w.created,
                a.2 + w.closed_packets,
            )
        });
        if closed >= created || t1.elapsed() > Duration::from_secs(10) {
            break packets;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let handled = card.get(Counter::TxPackets) + card.get(Counter::PolicyDropped);
    let fig = OffloadFigures {
        policy: case.policy.clone(),
        budget: case.budget,
        seconds,
        packets: card.get(Counter::RxPackets),
        bytes: card.get(Counter::RxBytes),
        hw_packets: card.get(Counter::OffloadModelPackets),
        hw_bytes: card.get(Counter::OffloadModelBytes),
        sessions: card.get(Counter::SessionsCreated),
        requests: st.requests,
        installed: st.installed,
        removed: engine
            .control()
            .offload
            .stats
            .lock()
            .map_or(st.removed, |s| s.removed),
        refused: svcard_dataplane::offload::FailReason::ALL
            .iter()
            .map(|r| (r.name(), st.failed[*r as usize]))
            .filter(|(_, n)| *n > 0)
            .collect(),
        occupancy,
        peak_occupancy: st.peak_occupancy,
        trigger_ms: ratio(st.trigger_age_ms.0, st.trigger_age_ms.1),
        activation_us: (
            ratio(st.activation_delay_us.0, st.activation_delay_us.1),
            st.activation_delay_max_us,
        ),
        counter_error: closed as i64 - handled as i64,
        sw_ns_per_packet: ns_per_packet(&card),
    };
    engine.shutdown().context("stopping the engine")?;
    Ok(fig)
}

/// Writes the mix into `dir` and runs every case.
///
/// # Errors
/// A capture cannot be written, or a case fails.
pub fn run(dir: &Path, flows: u32, seconds: f64) -> Result<Vec<OffloadFigures>> {
    let (client, server) = mix(flows, seconds, 0x5eed);
    crate::write_pcap(&dir.join("client.pcap"), &client)?;
    crate::write_pcap(&dir.join("server.pcap"), &server)?;
    let mut out = Vec::new();
    for case in cases() {
        eprintln!(
            "[offload] {}{}",
            case.policy,
            case.budget
                .map_or(String::new(), |b| format!(", budget {b}/s"))
        );
        out.push(run_case(dir, &case)?);
    }
    Ok(out)
}

/// The table.
#[must_use]
pub fn table(figs: &[OffloadFigures]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<20} {:>7} {:>8} {:>8} {:>8} {:>9} {:>9} {:>6} {:>9} {:>9} {:>6} {:>7}",
        "policy",
        "budget",
        "pkts hw",
        "bytes hw",
        "ins/s",
        "rem/s",
        "refused",
        "peak",
        "trig ms",
        "act us",
        "error",
        "ns/pkt"
    );
    for f in figs {
        let _ = writeln!(
            s,
            "{:<20} {:>7} {:>7.1}% {:>7.1}% {:>8.0} {:>9.0} {:>9} {:>6} {:>9.1} {:>9.0} {:>6} {:>7.0}",
            f.policy,
            f.budget.map_or("-".to_string(), |b| b.to_string()),
            100.0 * f.share_packets(),
            100.0 * f.share_bytes(),
            f.inserts_per_s(),
            f.removes_per_s(),
            f.refused.iter().map(|(_, n)| n).sum::<u64>(),
            f.peak_occupancy,
            f.trigger_ms,
            f.activation_us.0,
            f.counter_error,
            f.sw_ns_per_packet,
        );
    }
    s
}

/// The figures as JSON text.
#[must_use]
pub fn json(figs: &[OffloadFigures]) -> String {
    serde_json::to_string_pretty(&json_value(figs)).unwrap_or_default()
}

fn json_value(figs: &[OffloadFigures]) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = figs
        .iter()
        .map(|f| {
            serde_json::json!({
                "policy": f.policy,
                "insert_budget_per_s": f.budget,
                "seconds": f.seconds,
                "packets": f.packets,
                "bytes": f.bytes,
                "hw_packets": f.hw_packets,
                "hw_bytes": f.hw_bytes,
                "share_packets": f.share_packets(),
                "share_bytes": f.share_bytes(),
                "sessions": f.sessions,
                "requests": f.requests,
                "rules_installed": f.installed,
                "rules_removed": f.removed,
                "inserts_per_s": f.inserts_per_s(),
                "removes_per_s": f.removes_per_s(),
                "refused": f.refused.iter().map(|(r, n)| (r.to_string(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
                "occupancy": f.occupancy.iter().map(|(t, n)| serde_json::json!([t, n])).collect::<Vec<_>>(),
                "peak_occupancy": f.peak_occupancy,
                "trigger_ms_mean": f.trigger_ms,
                "activation_us_mean": f.activation_us.0,
                "activation_us_max": f.activation_us.1,
                "counter_error_at_close": f.counter_error,
                "software_ns_per_packet": f.sw_ns_per_packet,
            })
        })
        .collect();
    serde_json::json!({
        "scenario": "offload",
        "backend": "model (generic)",
        "note": "share and churn from the NIC model; ns per packet is the worker's loop time on the pcap backend (an estimate, not a NIC's saving)",
        "runs": runs,
    })
}

/// An SVG: share of packets and bytes offloaded against the insertion budget (the budget
/// sweep's runs, unlimited drawn at the right).
#[must_use]
pub fn svg(figs: &[OffloadFigures]) -> String {
    let sweep: Vec<&OffloadFigures> = figs
        .iter()
        .filter(|f| f.policy == "after-packets 20")
        .collect();
    let (w, h, l, t, pw, ph) = (640.0, 400.0, 70.0, 50.0, 520.0, 280.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="14">Share offloaded against the insertion budget (after-packets 20, NIC model)</text>"#,
        w / 2.0
    );
    let _ = write!(
        s,
        r#"<rect x="{l}" y="{t}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    let n = sweep.len().max(1);
    let x_of = |i: usize| l + pw * (i as f64 + 0.5) / n as f64;
    let y_of = |v: f64| t + ph * (1.0 - v.clamp(0.0, 1.0));
    for k in 0..=4 {
        let v = f64::from(k) / 4.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{:.0} %</text>"#,
            l - 6.0,
            y_of(v) + 4.0,
            v * 100.0
        );
    }
    let mut order: Vec<&&OffloadFigures> = sweep.iter().collect();
    order.sort_by_key(|f| f.budget.unwrap_or(u32::MAX));
    for (series, colour, get) in [
        (
            "packets",
            "#1f77b4",
            OffloadFigures::share_packets as fn(&OffloadFigures) -> f64,
        ),
        ("bytes", "#d62728", OffloadFigures::share_bytes),
    ] {
        let pts: Vec<String> = order
            .iter()
            .enumerate()
            .map(|(i, f)| format!("{:.1},{:.1}", x_of(i), y_of(get(f))))
            .collect();
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            pts.join(" ")
        );
        if let Some(last) = pts.last() {
            let (x, y) = last.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                s,
                r#"<text x="{x}" y="{y}" dx="6" fill="{colour}">{series}</text>"#
            );
        }
    }
    for (i, f) in order.iter().enumerate() {
        let label = f
            .budget
            .map_or("unlimited".to_string(), |b| format!("{b}/s"));
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{label}</text>"#,
            x_of(i),
            t + ph + 18.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">rule insertions per second allowed</text></svg>"#,
        l + pw / 2.0,
        t + ph + 40.0
    );
    s
}

/// Where the experiment writes its captures: `keep`, else a temporary directory.
#[must_use]
pub fn work_dir(keep: Option<&Path>) -> PathBuf {
    keep.map_or_else(
        || std::env::temp_dir().join(format!("svcard-offload-{}", std::process::id())),
        Path::to_path_buf,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_heavy_tailed_and_deterministic() {
        let (c, s) = mix(2000, 4.0, 7);
        assert_eq!(mix(2000, 4.0, 7).0.len(), c.len());
        assert!(!s.is_empty());
        // Count packets per flow (source port and address identify it).
        let mut per: std::collections::HashMap<Vec<u8>, u64> = std::collections::HashMap::new();
        for r in &c {
            *per.entry(r.data[26..36].to_vec()).or_default() += 1;
        }
        let mut sizes: Vec<u64> = per.values().copied().collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let total: u64 = sizes.iter().sum();
        let top: u64 = sizes.iter().take(sizes.len() / 10).sum();
        assert!(
            top * 2 > total,
            "the top 10 % of flows carry most packets: {top} of {total}"
        );
        let median = sizes[sizes.len() / 2];
        assert!(median <= 5, "most flows are mice: median {median}");
        assert!(c.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
    }

    #[test]
    fn the_cases_cover_the_policies_and_a_budget_sweep() {
        let c = cases();
        let policies: std::collections::BTreeSet<&str> =
            c.iter().map(|x| x.policy.as_str()).collect();
        assert!(policies.len() >= 4);
        assert!(c.iter().filter(|x| x.budget.is_some()).count() >= 3);
    }
}
