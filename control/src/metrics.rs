//! The Prometheus endpoint: every counter and gauge of the registry
//! (`svcard_dataplane::stats`), per worker, the malformed-frame drops by reason, the ALG
//! hand-off counters by ALG, the offload manager's figures, and the workers' busy-loop
//! times as a histogram, in the text exposition format (version 0.0.4), served over HTTP
//! from a thread of the control side (never a worker: it reads the figures the workers
//! publish).
//!
//! Names follow Prometheus's conventions: `svcard_` then the registry's name; counters end
//! in `_total`; the unit is in the name where the registry's name lacks it (bytes,
//! seconds). Labels: `worker` (its member interface's index), `reason`, `alg`, `service_set`
//! (its name), `verdict`, `action`.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use svcard_config::reload::LiveConfig;
use svcard_config::{AlgKind, Config};
use svcard_dataplane::stats::{
    loop_bucket_range, AlgCounter, Counter, Gauge, Kind, LocalStats, SsFigure, LOOP_BUCKETS,
    MAX_SS_FIGURES,
};
use svcard_dataplane::wire::DropReason;

use crate::central::ControlHandle;

/// Upper bounds of the busy-loop histogram, seconds (the registry's fine buckets summed).
const LOOP_LE: [f64; 10] = [
    1e-6, 4e-6, 16e-6, 64e-6, 256e-6, 1e-3, 4e-3, 16e-3, 64e-3, 256e-3,
];

/// A metric's family: `# HELP` and `# TYPE` once, then its samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The registry name as a Prometheus name: counters get `_total`.
fn prom_name(name: &str, counter: bool) -> String {
    if counter {
        format!("svcard_{name}_total")
    } else {
        format!("svcard_{name}")
    }
}

/// Renders every metric from the workers' published figures and the offload manager's;
/// `config` names the service sets.
#[must_use]
pub fn render(control: &ControlHandle, config: &Config) -> String {
    let stats: Vec<LocalStats> = control.workers.iter().map(|w| w.stats.snapshot()).collect();
    let mut out = String::with_capacity(64 * 1024);
    for &c in Counter::ALL {
        let d = c.desc();
        let name = prom_name(d.name, matches!(d.kind, Kind::Counter));
        family(&mut out, &name, "counter", d.help);
        for (w, s) in stats.iter().enumerate() {
            let _ = writeln!(out, "{name}{{worker=\"{w}\"}} {}", s.get(c));
        }
    }
    for &g in Gauge::ALL {
        let d = g.desc();
        let name = prom_name(d.name, false);
        family(&mut out, &name, "gauge", d.help);
        for (w, s) in stats.iter().enumerate() {
            let _ = writeln!(out, "{name}{{worker=\"{w}\"}} {}", s.gauge(g));
        }
    }
    let name = "svcard_malformed_drops_total";
    family(
        &mut out,
        name,
        "counter",
        "Frames dropped as malformed, by reason.",
    );
    for (w, s) in stats.iter().enumerate() {
        for r in DropReason::ALL {
            let _ = writeln!(
                out,
                "{name}{{worker=\"{w}\",reason=\"{}\"}} {}",
                r.name(),
                s.drops[r as usize]
            );
        }
    }
    for &a in AlgCounter::ALL {
        let d = a.desc();
        let name = prom_name(d.name, true);
        family(&mut out, &name, "counter", d.help);
        for (w, s) in stats.iter().enumerate() {
            for k in AlgKind::ALL {
                let _ = writeln!(
                    out,
                    "{name}{{worker=\"{w}\",alg=\"{}\"}} {}",
                    k.junos_name(),
                    s.algs[a as usize][k as usize]
                );
            }
        }
    }
    loop_histogram(&mut out, &stats);
    service_sets(&mut out, control, config, &stats);
    offload(&mut out, control);
    session_logs(&mut out, control);
    ipfix(&mut out, control);
    out
}

/// Per service set (`show services stateful-firewall statistics`'s figures): new flows by
/// verdict, new flows refused by reason, and the sessions that closed with their packets
/// by action (live sessions' packets need a walk, which a scrape does not make).
fn service_sets(out: &mut String, control: &ControlHandle, config: &Config, stats: &[LocalStats]) {
    let names: Vec<&str> = config
        .service_sets
        .iter()
        .take(MAX_SS_FIGURES)
        .map(|s| s.name.as_str())
        .collect();
    let books: Vec<crate::central::WorkerBooks> = control
        .books
        .lock()
        .map(|b| b.workers.clone())
        .unwrap_or_default();
    let fig = |fs: &'static [SsFigure]| {
        move |w: usize, ss: usize, k: usize| {
            stats[w].ss(u16::try_from(ss).unwrap_or(u16::MAX), fs[k])
        }
    };
    use SsFigure as F;
    let families: [Family<'_>; 4] = [
        Family {
            name: "svcard_service_set_new_flows_total",
            help: "New sessions of the service set, by the verdict of its rules.",
            labels: &[
                "verdict=\"accept\"",
                "verdict=\"discard\"",
                "verdict=\"reject\"",
            ],
            value: Box::new(fig(&[F::RuleAccepts, F::RuleDiscards, F::RuleRejects])),
        },
        Family {
            name: "svcard_service_set_new_flow_refusals_total",
            help: "New flows of the service set refused, by reason.",
            labels: &[
                "reason=\"limit\"",
                "reason=\"nat\"",
                "reason=\"tcp_syn_check\"",
            ],
            value: Box::new(fig(&[F::LimitDrops, F::NatRefused, F::TcpSynCheckDrops])),
        },
        Family {
            name: "svcard_service_set_limit_bypassed_total",
            help: "New flows of the service set past a limit made Bypass sessions.",
            labels: &[""],
            value: Box::new(fig(&[F::LimitBypassed])),
        },
        Family {
            name: "svcard_service_set_closed_sessions_total",
            help: "Sessions of the service set that closed.",
            labels: &[""],
            value: Box::new(|w, ss, _| books.get(w).map_or(0, |b| b.service_sets.0[ss].ended)),
        },
    ];
    let closed_packets = Family {
        name: "svcard_service_set_closed_packets_total",
        help: "Packets of the service set's sessions that closed, by the session's action.",
        labels: &[
            "action=\"accept\"",
            "action=\"discard\"",
            "action=\"reject\"",
        ],
        value: Box::new(|w, ss, k| books.get(w).map_or(0, |b| b.service_sets.0[ss].packets[k])),
    };
    for f in families.iter().chain([&closed_packets]) {
        family(out, f.name, "counter", f.help);
        for w in 0..stats.len() {
            for (ss, ssn) in names.iter().enumerate() {
                for (k, label) in f.labels.iter().enumerate() {
                    let sep = if label.is_empty() { "" } else { "," };
                    let v = (f.value)(w, ss, k);
                    let _ = writeln!(
                        out,
                        "{}{{worker=\"{w}\",service_set=\"{ssn}\"{sep}{label}}} {v}",
                        f.name
                    );
                }
            }
        }
    }
}

/// A per-service-set metric: its samples are `value(worker, service set, label index)`.
struct Family<'a> {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    value: Box<dyn Fn(usize, usize, usize) -> u64 + 'a>,
}

/// The IPFIX exporter's figures (counters; zeros when `[ipfix]` is off).
fn ipfix(out: &mut String, control: &ControlHandle) {
    let help = [
        "IPFIX flow records sent to the collector.",
        "IPFIX messages sent to the collector.",
        "Session closes lost because the IPFIX exporter's channel was full.",
        "IPFIX messages the socket refused.",
    ];
    control_counters(out, &control.ipfix.rows(), &help);
}

/// The session logger's figures (counters; zeros when `[log]` is off).
fn session_logs(out: &mut String, control: &ControlHandle) {
    let help = [
        "Session log messages sent to the collector.",
        "Session events lost because the logger's channel was full.",
        "Session log messages not sent: over the rate limit.",
        "Session log messages the socket refused.",
    ];
    control_counters(out, &control.logs.rows(), &help);
}

/// Counters of the control core's side (`svcard_<name>_total`), each with its help.
fn control_counters(out: &mut String, rows: &[(&str, u64)], help: &[&str]) {
    for ((name, v), help) in rows.iter().zip(help) {
        let name = format!("svcard_{name}_total");
        family(out, &name, "counter", help);
        let _ = writeln!(out, "{name} {v}");
    }
}

/// The busy-loop times as a histogram: the registry's fine buckets summed under each bound
/// (a fine bucket counts under the first bound its upper end does not pass).
fn loop_histogram(out: &mut String, stats: &[LocalStats]) {
    let name = "svcard_busy_loop_duration_seconds";
    family(
        out,
        name,
        "histogram",
        "Worker loop iterations that received packets, by duration.",
    );
    for (w, s) in stats.iter().enumerate() {
        let mut cum = [0u64; LOOP_LE.len()];
        let (mut count, mut sum_ns) = (0u64, 0u128);
        for i in 0..LOOP_BUCKETS {
            let n = s.loops.burst_ns[i];
            if n == 0 {
                continue;
            }
            let (lo, hi) = loop_bucket_range(i);
            count += n;
            sum_ns += u128::from(n) * u128::from(lo / 2 + hi / 2);
            for (b, &le) in LOOP_LE.iter().enumerate() {
                if (hi as f64) <= le * 1e9 {
                    cum[b] += n;
                }
            }
        }
        for (b, &le) in LOOP_LE.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{worker=\"{w}\",le=\"{le}\"}} {}",
                cum[b]
            );
        }
        let _ = writeln!(out, "{name}_bucket{{worker=\"{w}\",le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum{{worker=\"{w}\"}} {}", sum_ns as f64 / 1e9);
        let _ = writeln!(out, "{name}_count{{worker=\"{w}\"}} {count}");
    }
}

/// The offload manager's figures, when offload runs.
fn offload(out: &mut String, control: &ControlHandle) {
    if !control.offload.enabled.load(Ordering::Relaxed) {
        return;
    }
    let Ok(s) = control.offload.stats.lock().map(|s| s.clone()) else {
        return;
    };
    for (name, kind, help, v) in [
        (
            "svcard_offload_rules_installed_total",
            "counter",
            "Offload rules installed.",
            s.installed,
        ),
        (
            "svcard_offload_rules_removed_total",
            "counter",
            "Offload rules removed.",
            s.removed,
        ),
        (
            "svcard_offload_rules",
            "gauge",
            "Offload rules held now.",
            u64::from(s.rules),
        ),
        (
            "svcard_offload_table_occupancy",
            "gauge",
            "Entries of the backend's flow table in use.",
            u64::from(s.occupancy),
        ),
    ] {
        family(out, name, kind, help);
        let _ = writeln!(out, "{name} {v}");
    }
    let name = "svcard_offload_requests_refused_total";
    family(out, name, "counter", "Offload requests refused, by reason.");
    for r in svcard_dataplane::offload::FailReason::ALL {
        let _ = writeln!(
            out,
            "{name}{{reason=\"{}\"}} {}",
            r.name(),
            s.failed[r as usize]
        );
    }
}

/// A running metrics endpoint (stopped on drop).
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` and answers `GET /metrics` from `control`'s figures.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn start(
        addr: SocketAddr,
        control: ControlHandle,
        live: Arc<LiveConfig>,
    ) -> std::io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, _)) => answer(s, &control, &live.current()),
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })?;
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One HTTP exchange: `GET /metrics` gets the exposition, anything else 404.
fn answer(stream: TcpStream, control: &ControlHandle, config: &Config) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let Ok(read) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read);
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    // The headers, up to the empty line (their content is not needed).
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let (status, body) =
        if request.starts_with("GET ") && (path == "/metrics" || path.starts_with("/metrics?")) {
            ("200 OK", render(control, config))
        } else {
            (
                "404 Not Found",
                "not found: svcard serves /metrics\n".to_string(),
            )
        };
    let mut w = stream;
    let _ = write!(
        w,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = w.flush();
}
