//! The JSON report (`--json`).

use std::fmt::Write as _;
use svcard_dataplane::stats::{self};

use super::model::*;
use super::parse::*;
use super::report::*;
use crate::hist::IntervalHistogram;
use crate::recipes::FrameSize;

pub(crate) fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

pub(crate) fn json_num(v: f64) -> String {
    if v.is_finite() {
        if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{v:.0}")
        } else {
            format!("{v:.3}")
        }
    } else {
        "null".into()
    }
}

pub(crate) fn json_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "null".into(), json_num)
}

pub(crate) fn json_rate(r: &Rate, mean_frame: f64, mhz: Option<f64>) -> String {
    let samples: Vec<String> = r.samples.iter().map(|&s| json_num(s)).collect();
    format!(
        "\"pps\": {{\"median\": {}, \"min\": {}, \"max\": {}, \"periods\": {}}}, \"samples_pps\": [{}], \
         \"mpps\": {}, \"gbps\": {}, \"cycles_per_packet\": {}",
        json_num(r.median),
        json_num(r.min),
        json_num(r.max),
        r.periods,
        samples.join(", "),
        json_num(r.median / 1e6),
        json_num(gbps_mean(r.median, mean_frame)),
        json_opt(cycles_per_packet(mhz, r.median))
    )
}

pub(crate) fn json_rate_short(r: &Rate) -> String {
    format!(
        "{{\"median\": {}, \"min\": {}, \"max\": {}, \"periods\": {}, \"samples\": [{}]}}",
        json_num(r.median),
        json_num(r.min),
        json_num(r.max),
        r.periods,
        r.samples
            .iter()
            .map(|&s| json_num(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The HDR histogram of per-interval ns per packet, as JSON (`null` when empty).
pub(crate) fn json_hist(pps: &[f64], mhz: Option<f64>) -> String {
    json_summary(
        IntervalHistogram::of(pps).summary(),
        crate::hist::WHAT,
        "ns per packet",
        "intervals",
        mhz,
    )
}

/// A histogram summary as JSON (`null` when empty): `what` it holds, its `unit`, and what
/// its `count` counts.
pub(crate) fn json_summary(
    q: Option<crate::hist::Summary>,
    what: &str,
    unit: &str,
    count: &str,
    mhz: Option<f64>,
) -> String {
    let Some(q) = q else {
        return "null".into();
    };
    let cyc = |ns: f64| json_opt(mhz.map(|m| crate::hist::Summary::cycles(ns, m)));
    let buckets: Vec<String> = q
        .buckets
        .iter()
        .map(|(ns, n)| format!("[{}, {n}]", json_num(*ns)))
        .collect();
    format!(
        "{{\"of\": {}, \"unit\": {}, {}: {}, \"min\": {}, \"p50\": {}, \"p90\": {}, \
         \"p99\": {}, \"max\": {}, \"mean\": {}, \"cycles\": {{\"min\": {}, \"p50\": {}, \"p90\": {}, \"p99\": {}, \"max\": {}}}, \
         \"buckets_ns_count\": [{}]}}",
        json_str(what),
        json_str(unit),
        json_str(count),
        q.count,
        json_num(q.min),
        json_num(q.p50),
        json_num(q.p90),
        json_num(q.p99),
        json_num(q.max),
        json_num(q.mean),
        cyc(q.min),
        cyc(q.p50),
        cyc(q.p90),
        cyc(q.p99),
        cyc(q.max),
        buckets.join(", ")
    )
}

pub(crate) fn json_extras(r: &RunReport) -> String {
    let mut out = String::new();
    if let Some(s) = &r.setup {
        let _ = write!(
            out,
            ",\n    \"setup\": {{\"new_sessions_per_s\": {}, \"ending_sessions_per_s\": {}, \"new_sessions_per_frame\": {}, \
             \"peak_live_sessions\": {}, \"idle_timeout_s\": {}, \"capture_loop_s\": {}, \"expected_new_sessions_per_frame\": {}, \"from\": \"per-second differences of the created counter of svcard's rate lines; ending = new - change of live sessions\"}}",
            json_rate_short(&s.new_per_s),
            json_rate_short(&s.closed_per_s),
            json_num(s.new_per_frame),
            s.peak_live,
            s.timeout_s,
            json_num(s.loop_s),
            json_num(s.expected_per_frame)
        );
    }
    if let Some(l) = &r.show_load {
        let walks: Vec<String> = l
            .walks
            .iter()
            .map(|w| {
                format!(
                    "{{\"seconds\": {}, \"lines\": {}, \"cut_at_end\": {}}}",
                    json_num(w.seconds),
                    w.lines.map_or_else(|| "null".into(), |n| n.to_string()),
                    w.cut
                )
            })
            .collect();
        let _ = write!(
            out,
            ",\n    \"show_under_load\": {{\"command\": {}, \"pinned\": {}, \"without_pps\": {}, \"with_pps\": {}, \
             \"ratio\": {}, \"walks\": [{}]}}",
            json_str(&l.command),
            l.pinned,
            json_rate_short(&l.without),
            json_rate_short(&l.with),
            json_opt(l.ratio()),
            walks.join(", ")
        );
    }
    if let Some(z) = &r.zero_loss {
        let _ = write!(
            out,
            ",\n    \"zero_loss\": {{\"applicable\": {}, \"rate_pps\": {}, \"reason\": {}, \"unthrottled_rx_pps\": {}, \
             \"unthrottled_tx_pps\": {}, \"unthrottled_lost_frames\": {}}}",
            z.applicable,
            json_opt(z.rate_pps),
            json_str(&z.reason),
            json_num(z.pull_rx_pps),
            json_num(z.pull_tx_pps),
            z.pull_lost.map_or_else(|| "null".into(), |n| n.to_string())
        );
    }
    out
}

/// The reports as JSON: an array of run objects (one per scale), with the command lines.
#[must_use]
pub fn to_json(reports: &[RunReport]) -> String {
    json_array(reports, &[])
}

/// [`to_json`] of every report, then one `{"scenario", "case", "skipped"}` object per note.
#[must_use]
pub fn results_json(results: &Results) -> String {
    json_array(&results.reports, &results.notes)
}

/// Every registered figure of svcard's exit summary, summed over the workers, as a JSON
/// object keyed by [`stats::Figure::key`] (`null` without worker lines).
pub(crate) fn json_counters(exit_summary: &[String]) -> String {
    let Some(t) = parse_worker_totals(exit_summary) else {
        return "null".into();
    };
    let kv: Vec<String> = stats::Figure::all()
        .map(|f| format!("{}: {}", json_str(&f.key()), t.value(f)))
        .collect();
    format!("{{{}}}", kv.join(", "))
}

pub(crate) fn json_array(reports: &[RunReport], notes: &[Note]) -> String {
    let mut items: Vec<String> = Vec::new();
    for r in reports {
        let s = &r.svcard;
        let mean = r.mean_frame();
        let baselines: Vec<String> = r
            .baselines
            .iter()
            .enumerate()
            .map(|(bi, b)| {
                format!(
                    "      {{\"tool\": \"dpdk-testpmd\", \"mode\": {}, \"command\": {}, {}, \"histogram\": {}}}",
                    json_str(b.mode.name()),
                    json_str(&b.command),
                    json_rate(&b.rate, mean, r.cpu_mhz),
                    json_hist(
                        r.baseline_intervals.get(bi).map_or(&[][..], Vec::as_slice),
                        r.cpu_mhz
                    )
                )
            })
            .collect();
        let ratios: Vec<String> = r
            .baselines
            .iter()
            .enumerate()
            .map(|(bi, b)| {
                let rr = r.round_ratios.get(bi).cloned().unwrap_or_default();
                let v = if rr.is_empty() {
                    (b.rate.median > 0.0).then(|| s.rate.median / b.rate.median)
                } else {
                    Some(median_min_max(&rr).0)
                };
                let rounds: Vec<String> = rr.iter().map(|x| json_num(*x)).collect();
                format!(
                    "{}: {}, {}: [{}]",
                    json_str(b.mode.name()),
                    json_opt(v),
                    json_str(&format!("{}_rounds", b.mode.name())),
                    rounds.join(", ")
                )
            })
            .collect();
        let summary: Vec<String> = s.exit_summary.iter().map(|l| json_str(l)).collect();
        let counters = json_counters(&s.exit_summary);
        let lines: Vec<String> = s
            .lines
            .iter()
            .map(|l| {
                format!(
                    "[{}, {}, {}, {}, {}]",
                    json_num(l.t),
                    json_num(l.rx_pps),
                    json_num(l.tx_pps),
                    l.sessions,
                    l.created
                )
            })
            .collect();
        let drops = s.drops.map_or_else(
            || "null".into(),
            |d| {
                format!(
                    "{{\"total\": {}, \"rx\": {}, \"tx\": {}, \"port_losses\": {}, \"policy_or_malformed\": {}}}",
                    d.total(),
                    d.rx,
                    d.tx,
                    d.port_losses,
                    d.policy_malformed
                )
            },
        );
        let loop_json = loop_hists(&r.svcard_loops).map(|h| {
            json_summary(
                h.summary,
                crate::hist::LOOP_WHAT,
                h.unit,
                h.count,
                r.cpu_mhz,
            )
        });
        let (cap_bytes, frame_bytes) = match r.frame {
            FrameSize::Fixed(n) => (n.to_string(), (n + 4).to_string()),
            FrameSize::Imix => ("\"imix\"".into(), "\"imix\"".into()),
        };
        items.push(format!(
            "  {{\n    \"scenario\": {}, \"case\": {}, \"flows\": {}, \"capture_frame_bytes\": {cap_bytes}, \"frame_bytes\": {frame_bytes}, \
             \"frame\": {}, \"capture_frames\": {}, \"mean_capture_frame_bytes\": {}, \"seconds\": {}, \
             \"warmup_periods\": {}, \"cpu_mhz\": {}, \"forwarding_cores\": 1, \"eal_memory\": {},\n    \"baselines\": [\n{}\n    ],\n    \
             \"svcard\": {{\"command\": {}, \"eal_memory_mb\": {}, {}, \"live_sessions\": {}, \"maximum_sessions\": {}, \
             \"summary_command\": {}, \"table_bytes\": {}, \"bytes_per_session\": {}, \"rss_bytes\": {}, \"drops\": {drops}, \
             \"counters\": {counters}, \"histogram\": {}, \"burst_histogram\": {}, \"packet_histogram\": {}, \"rate_lines_fields\": [\"t\", \"rx_pps\", \"tx_pps\", \"sessions\", \"created\"], \
             \"rate_lines\": [{}], \"exit_summary\": [{}], \"config\": {}}},\n    \"ratio_svcard_to\": {{{}}}{}\n  }}",
            json_str(&r.scenario),
            json_str(&r.case),
            r.flows,
            json_str(&r.frame_label),
            r.capture_stats.frames,
            json_num(mean),
            r.seconds,
            r.warmup,
            json_opt(r.cpu_mhz),
            json_str(&r.memory.tag()),
            baselines.join(",\n"),
            json_str(&s.command),
            s.eal_mb,
            json_rate(&s.rate, mean, r.cpu_mhz),
            s.sessions,
            s.max_sessions.map_or_else(|| "null".into(), |m| m.to_string()),
            json_str(&s.summary_command),
            s.table_bytes.map_or_else(|| "null".into(), |m| m.to_string()),
            json_opt(s.bytes_per_session()),
            s.rss_bytes.map_or_else(|| "null".into(), |m| m.to_string()),
            json_hist(&r.svcard_intervals, r.cpu_mhz),
            loop_json[0],
            loop_json[1],
            lines.join(", "),
            summary.join(", "),
            json_str(&s.config),
            ratios.join(", "),
            json_extras(r)
        ));
    }
    for n in notes {
        items.push(format!(
            "  {{\"scenario\": {}, \"case\": {}, \"skipped\": {}}}",
            json_str(&n.scenario),
            json_str(&n.case),
            json_str(&n.text)
        ));
    }
    if items.is_empty() {
        return "[\n]\n".into();
    }
    format!("[\n{}\n]\n", items.join(",\n"))
}
