//! The tables `svcard bench` prints: rates, ratios, cycles a packet, histograms.

use std::fmt::Write as _;
use svcard_dataplane::stats::LoopTimes;

use super::model::*;
use super::options::Mode;
use crate::hist::IntervalHistogram;

pub(crate) fn mpps(pps: f64) -> String {
    format!("{:.2}", pps / 1e6)
}

pub(crate) fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.prec$}"))
}

/// The terminal table: one row per case and baseline mode (a scenario column when
/// scenarios ran).
#[must_use]
pub fn render_table(reports: &[RunReport]) -> String {
    let with_scenario = reports.iter().any(|r| r.scenario != "flows");
    let mut head = vec![
        "flows",
        "frame",
        "baseline",
        "baseline Mpps",
        "svcard Mpps",
        "ratio",
        "sessions",
        "B/session",
        "svcard Gbps",
        "svcard cyc/pkt",
        "baseline cyc/pkt",
        "drops",
    ];
    if with_scenario {
        head.insert(0, "scenario");
    }
    let left = if with_scenario { [0usize, 3] } else { [2, 2] };
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in reports {
        let s = &r.svcard;
        let common = |base: &str, tp: String, ratio: String, tcyc: String| {
            let mut v = vec![
                r.flows.to_string(),
                r.frame_label.clone(),
                base.to_string(),
                tp,
                format!(
                    "{} ({}-{})",
                    mpps(s.rate.median),
                    mpps(s.rate.min),
                    mpps(s.rate.max)
                ),
                ratio,
                s.sessions.to_string(),
                opt(s.bytes_per_session(), 1),
                format!("{:.2}", r.gbps(s.rate.median)),
                opt(cycles_per_packet(r.cpu_mhz, s.rate.median), 0),
                tcyc,
                s.drops
                    .map_or_else(|| "-".into(), |d| d.total().to_string()),
            ];
            if with_scenario {
                v.insert(0, r.scenario.clone());
            }
            v
        };
        if r.baselines.is_empty() {
            rows.push(common("-", "-".into(), "-".into(), "-".into()));
        }
        for (bi, b) in r.baselines.iter().enumerate() {
            let rr = r.round_ratios.get(bi).map(Vec::as_slice).unwrap_or(&[]);
            let ratio = if rr.len() > 1 {
                let (med, lo, hi) = median_min_max(rr);
                format!("{med:.3} ({lo:.2}-{hi:.2})")
            } else if b.rate.median > 0.0 {
                format!("{:.3}", s.rate.median / b.rate.median)
            } else {
                "-".into()
            };
            if b.rate.periods == 0 {
                rows.push(common(
                    b.mode.name(),
                    "not run".into(),
                    "-".into(),
                    "-".into(),
                ));
                continue;
            }
            rows.push(common(
                b.mode.name(),
                format!(
                    "{} ({}-{})",
                    mpps(b.rate.median),
                    mpps(b.rate.min),
                    mpps(b.rate.max)
                ),
                ratio,
                opt(cycles_per_packet(r.cpu_mhz, b.rate.median), 0),
            ));
        }
    }
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let v: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if left.contains(&i) {
                    format!("{c:<0$}", w[i])
                } else {
                    format!("{c:>0$}", w[i])
                }
            })
            .collect();
        let _ = writeln!(out, "{}", v.join("  ").trim_end());
    };
    line(&mut out, &head);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&mut out, &cells);
    }
    if let Some(r) = reports.first() {
        let ratio = if reports.iter().any(|r| !r.baselines.is_empty()) {
            let has = |m: Mode| {
                reports
                    .iter()
                    .any(|r| r.baselines.iter().any(|b| b.mode == m))
            };
            let mut peers = String::new();
            if has(Mode::OvsCt) {
                peers.push_str(
                    "; ovs-ct: OVS-DPDK with ct(commit) on every packet, its sink port's count \
                     read once a second",
                );
            }
            if has(Mode::NftCt) {
                peers.push_str(
                    "; nft-ct: the Linux kernel forwarding through conntrack and nftables \
                     (ct state new,established accept), its sink's received packets read once \
                     a second",
                );
            }
            format!(
                "ratio: median (min-max) over {} rounds of baseline, svcard, baseline back to back \
                 (each baseline's Mpps over the periods of both its runs{peers})",
                r.round_ratios.first().map_or(1, Vec::len)
            )
        } else {
            "ratio: none (these scenarios run no baseline)".to_string()
        };
        let _ = writeln!(
            out,
            "Mpps: median (min-max) of {} one-second periods after {} warm-up, in the median round; \
             {ratio}; 1 forwarding core; CPU {} MHz; EAL memory: {}; \
             Gbps on the wire (frame + preamble + IFG); B/session = session-table bytes / live sessions; \
             drops = frames svcard received and did not forward, plus port losses, over the whole run",
            r.svcard.rate.periods,
            r.warmup,
            opt(r.cpu_mhz, 0),
            r.memory
        );
    }
    out
}

/// One of svcard's loop-time histograms, as the reports show it.
pub(crate) struct LoopHist {
    /// Name in the text report.
    pub(crate) who: &'static str,
    /// Unit in the text report.
    pub(crate) short_unit: &'static str,
    /// Unit in the JSON.
    pub(crate) unit: &'static str,
    /// What its count counts (the JSON key).
    pub(crate) count: &'static str,
    pub(crate) summary: Option<crate::hist::Summary>,
}

/// svcard's per-burst and per-packet histograms.
pub(crate) fn loop_hists(l: &LoopTimes) -> [LoopHist; 2] {
    let of = |b| IntervalHistogram::of_buckets(b).summary();
    [
        LoopHist {
            who: "svcard burst",
            short_unit: "ns/burst",
            unit: "ns per burst",
            count: "bursts",
            summary: of(&l.burst_ns),
        },
        LoopHist {
            who: "svcard packet",
            short_unit: "ns/pkt",
            unit: "ns per packet",
            count: "packets",
            summary: of(&l.packet_ns),
        },
    ]
}

pub(crate) fn hist_line(out: &mut String, who: &str, pps: &[f64], mhz: Option<f64>) {
    summary_line(
        out,
        who,
        IntervalHistogram::of(pps).summary(),
        "ns/pkt",
        mhz,
    );
}

pub(crate) fn summary_line(
    out: &mut String,
    who: &str,
    q: Option<crate::hist::Summary>,
    unit: &str,
    mhz: Option<f64>,
) {
    let Some(q) = q else {
        return;
    };
    let cyc = |ns: f64| {
        mhz.map_or_else(String::new, |m| {
            format!(" ({:.0} cyc)", crate::hist::Summary::cycles(ns, m))
        })
    };
    let _ = writeln!(
        out,
        "    {who:<16} n={:<3} min {:.1}{}  p50 {:.1}{}  p90 {:.1}{}  p99 {:.1}{}  max {:.1}{} {unit}",
        q.count,
        q.min,
        cyc(q.min),
        q.p50,
        cyc(q.p50),
        q.p90,
        cyc(q.p90),
        q.p99,
        cyc(q.p99),
        q.max,
        cyc(q.max)
    );
}

/// The table, then the scenarios' own figures (setup rates, show under load, zero loss),
/// the per-interval histograms and the notes of skipped cases.
#[must_use]
pub fn render_report(results: &Results) -> String {
    let reports = &results.reports;
    let mut out = if reports.is_empty() {
        String::new()
    } else {
        render_table(reports)
    };
    for r in reports {
        let name = format!("{} {}", r.scenario, r.case);
        if let Some(s) = &r.setup {
            // The table's occupancy beside the rates: at the peak, of what it holds.
            let occupancy = r
                .svcard
                .max_sessions
                .filter(|&m| m > 0)
                .map_or(String::new(), |m| {
                    format!(
                        " ({:.0}% of the table's {m})",
                        s.peak_live as f64 * 100.0 / m as f64
                    )
                });
            let _ = writeln!(
                out,
                "{name}: {:.0} new sessions/s (min {:.0}, max {:.0}; {:.0} at the peak second, \
                 warm-up included), {:.0} sessions/s ending, {:.3} new sessions per received \
                 frame, peak {} live{occupancy} (idle timeout {} s, the source comes round the \
                 capture every {:.2} s)",
                s.new_per_s.median,
                s.new_per_s.min,
                s.new_per_s.max,
                s.peak_new_per_s,
                s.closed_per_s.median,
                s.new_per_frame,
                s.peak_live,
                s.timeout_s,
                s.loop_s
            );
            if s.new_per_frame < 0.9 * s.expected_per_frame {
                let _ = writeln!(
                    out,
                    "  WARNING: {:.3} new sessions per frame where every flow new would give {:.3}: the \
                     source comes back to flows before their {} s idle timeout (plus the timer's \
                     granularity) has ended their sessions, so those frames hit live sessions; give more \
                     flows (--flows-override) for a setup-rate figure",
                    s.new_per_frame,
                    s.expected_per_frame,
                    s.timeout_s
                );
            }
        }
        if let Some(l) = &r.show_load {
            let done: Vec<f64> = l
                .walks
                .iter()
                .filter(|w| w.lines.is_some())
                .map(|w| w.seconds)
                .collect();
            let (med, _, _) = median_min_max(&done);
            let _ = writeln!(
                out,
                "{name}: {} Mpps without the show walks, {} Mpps with them ({} periods), ratio {}; \
                 {} walks finished (median {med:.2} s, {} lines each), {} failed, {}; cli{} `{}`",
                mpps(l.without.median),
                mpps(l.with.median),
                l.with.periods,
                opt(l.ratio(), 3),
                done.len(),
                l.walks
                    .iter()
                    .find_map(|w| w.lines)
                    .map_or_else(|| "-".into(), |n| n.to_string()),
                l.walks
                    .iter()
                    .filter(|w| w.lines.is_none() && !w.cut)
                    .count(),
                l.walks.iter().find(|w| w.cut).map_or_else(
                    || "none cut".to_string(),
                    |w| format!("one cut at the end after {:.1} s", w.seconds)
                ),
                if l.pinned { " pinned" } else { " NOT pinned (no taskset)" },
                l.command
            );
        }
        if let Some(z) = &r.zero_loss {
            let _ = writeln!(
                out,
                "{name}: zero-loss rate {}; unthrottled source: rx {} Mpps, forwarded {} Mpps, {} frames lost",
                z.rate_pps
                    .map_or_else(|| "n/a".into(), |p| format!("{} Mpps", mpps(p))),
                mpps(z.pull_rx_pps),
                mpps(z.pull_tx_pps),
                z.pull_lost.map_or_else(|| "?".into(), |n| n.to_string())
            );
            if !z.applicable {
                let _ = writeln!(out, "  {}", z.reason);
            }
        }
    }
    if !reports.is_empty() {
        let _ = writeln!(out, "HDR histogram: {}", crate::hist::WHAT);
        let _ = writeln!(out, "  svcard burst / packet: {}", crate::hist::LOOP_WHAT);
        for r in reports {
            let _ = writeln!(out, "  {} {}:", r.scenario, r.case);
            hist_line(&mut out, "svcard", &r.svcard_intervals, r.cpu_mhz);
            for h in loop_hists(&r.svcard_loops) {
                summary_line(&mut out, h.who, h.summary, h.short_unit, r.cpu_mhz);
            }
            for (b, v) in r.baselines.iter().zip(&r.baseline_intervals) {
                hist_line(
                    &mut out,
                    &format!(
                        "{} {}",
                        if b.mode.is_testpmd() {
                            "testpmd"
                        } else {
                            "peer"
                        },
                        b.mode.name()
                    ),
                    v,
                    r.cpu_mhz,
                );
            }
        }
    }
    for n in &results.notes {
        let _ = writeln!(out, "{} {}: {}", n.scenario, n.case, n.text);
    }
    for r in &results.reports {
        for b in &r.baselines {
            if let Some(n) = &b.note {
                let _ = writeln!(out, "{} {} {}: {n}", r.scenario, r.case, b.mode.name());
            }
            if let Some(c) = b.connections {
                let _ = writeln!(
                    out,
                    "{} {} {}: {c} connections in its conntrack ({} flows in the capture)",
                    r.scenario,
                    r.case,
                    b.mode.name(),
                    r.flows
                );
            }
        }
    }
    out
}
