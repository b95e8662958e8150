//! The JSON report (`--json`): one object per case, one `{"scenario", "case", "skipped"}`
//! object per case not run. Built as `serde_json` values (keys in the order written here);
//! numbers as the tables show them: integral values as integers, others to three decimals,
//! non-finite ones as `null`.

use serde_json::{json, Map, Value};
use svcard_dataplane::stats;

use super::model::{cycles_per_packet, gbps_mean, median_min_max, Note, Rate, Results, RunReport};
use super::parse::parse_worker_totals;
use super::report::loop_hists;
use crate::hist::{IntervalHistogram, Summary};
use crate::recipes::FrameSize;

/// A figure: an integer when integral (and below 1e15), else rounded to three decimals;
/// `null` when not finite.
fn num(v: f64) -> Value {
    if !v.is_finite() {
        Value::Null
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!((v * 1000.0).round() / 1000.0)
    }
}

fn opt_num(v: Option<f64>) -> Value {
    v.map_or(Value::Null, num)
}

fn nums(v: &[f64]) -> Value {
    Value::Array(v.iter().map(|&x| num(x)).collect())
}

/// A rate's figures, merged into a run's object.
fn rate_fields(o: &mut Map<String, Value>, r: &Rate, mean_frame: f64, mhz: Option<f64>) {
    o.insert(
        "pps".into(),
        json!({"median": num(r.median), "min": num(r.min), "max": num(r.max), "periods": r.periods}),
    );
    o.insert("samples_pps".into(), nums(&r.samples));
    o.insert("mpps".into(), num(r.median / 1e6));
    o.insert("gbps".into(), num(gbps_mean(r.median, mean_frame)));
    o.insert(
        "cycles_per_packet".into(),
        opt_num(cycles_per_packet(mhz, r.median)),
    );
}

fn rate_short(r: &Rate) -> Value {
    json!({
        "median": num(r.median),
        "min": num(r.min),
        "max": num(r.max),
        "periods": r.periods,
        "samples": nums(&r.samples),
    })
}

/// A histogram summary (`null` when empty): `what` it holds, its `unit`, and what its
/// `count` counts.
fn summary(q: Option<Summary>, what: &str, unit: &str, count: &str, mhz: Option<f64>) -> Value {
    let Some(q) = q else {
        return Value::Null;
    };
    let cyc = |ns: f64| opt_num(mhz.map(|m| Summary::cycles(ns, m)));
    let mut o = Map::new();
    o.insert("of".into(), json!(what));
    o.insert("unit".into(), json!(unit));
    o.insert(count.into(), json!(q.count));
    for (k, v) in [
        ("min", q.min),
        ("p50", q.p50),
        ("p90", q.p90),
        ("p99", q.p99),
        ("max", q.max),
        ("mean", q.mean),
    ] {
        o.insert(k.into(), num(v));
    }
    o.insert(
        "cycles".into(),
        json!({"min": cyc(q.min), "p50": cyc(q.p50), "p90": cyc(q.p90), "p99": cyc(q.p99), "max": cyc(q.max)}),
    );
    o.insert(
        "buckets_ns_count".into(),
        Value::Array(
            q.buckets
                .iter()
                .map(|(ns, n)| json!([num(*ns), n]))
                .collect(),
        ),
    );
    Value::Object(o)
}

/// The HDR histogram of per-interval ns per packet (`null` when empty).
fn hist(pps: &[f64], mhz: Option<f64>) -> Value {
    summary(
        IntervalHistogram::of(pps).summary(),
        crate::hist::WHAT,
        "ns per packet",
        "intervals",
        mhz,
    )
}

/// Every registered figure of svcard's exit summary, summed over the workers, keyed by
/// [`stats::Figure::key`] (`null` without worker lines).
fn counters(exit_summary: &[String]) -> Value {
    let Some(t) = parse_worker_totals(exit_summary) else {
        return Value::Null;
    };
    Value::Object(
        stats::Figure::all()
            .map(|f| (f.key().into_owned(), json!(t.value(f))))
            .collect(),
    )
}

fn svcard(r: &RunReport) -> Value {
    let s = &r.svcard;
    let mean = r.mean_frame();
    let mut o = Map::new();
    o.insert("command".into(), json!(s.command));
    o.insert("eal_memory_mb".into(), json!(s.eal_mb));
    rate_fields(&mut o, &s.rate, mean, r.cpu_mhz);
    // The first period (from 0) with every session made, before which no period counts.
    o.insert("steady_from_period".into(), json!(s.loaded_at));
    o.insert("live_sessions".into(), json!(s.sessions));
    o.insert("maximum_sessions".into(), json!(s.max_sessions));
    o.insert("summary_command".into(), json!(s.summary_command));
    o.insert("table_bytes".into(), json!(s.table_bytes));
    o.insert("bytes_per_session".into(), opt_num(s.bytes_per_session()));
    o.insert("rss_bytes".into(), json!(s.rss_bytes));
    o.insert(
        "drops".into(),
        s.drops.map_or(Value::Null, |d| {
            json!({
                "total": d.total(),
                "rx": d.rx,
                "tx": d.tx,
                "port_losses": d.port_losses,
                "policy_or_malformed": d.policy_malformed,
            })
        }),
    );
    o.insert("counters".into(), counters(&s.exit_summary));
    o.insert("histogram".into(), hist(&r.svcard_intervals, r.cpu_mhz));
    let [burst, packet] = loop_hists(&r.svcard_loops).map(|h| {
        summary(
            h.summary,
            crate::hist::LOOP_WHAT,
            h.unit,
            h.count,
            r.cpu_mhz,
        )
    });
    o.insert("burst_histogram".into(), burst);
    o.insert("packet_histogram".into(), packet);
    o.insert(
        "rate_lines_fields".into(),
        json!(["t", "rx_pps", "tx_pps", "sessions", "created"]),
    );
    o.insert(
        "rate_lines".into(),
        Value::Array(
            s.lines
                .iter()
                .map(|l| {
                    json!([
                        num(l.t),
                        num(l.rx_pps),
                        num(l.tx_pps),
                        l.sessions,
                        l.created
                    ])
                })
                .collect(),
        ),
    );
    o.insert("exit_summary".into(), json!(s.exit_summary));
    o.insert("config".into(), json!(s.config));
    Value::Object(o)
}

fn case(r: &RunReport) -> Value {
    let s = &r.svcard;
    let mean = r.mean_frame();
    let mut o = Map::new();
    o.insert("scenario".into(), json!(r.scenario));
    o.insert("case".into(), json!(r.case));
    o.insert("flows".into(), json!(r.flows));
    let (cap_bytes, frame_bytes) = match r.frame {
        FrameSize::Fixed(n) => (json!(n), json!(n + 4)),
        FrameSize::Imix => (json!("imix"), json!("imix")),
    };
    o.insert("capture_frame_bytes".into(), cap_bytes);
    o.insert("frame_bytes".into(), frame_bytes);
    o.insert("frame".into(), json!(r.frame_label));
    o.insert("capture_frames".into(), json!(r.capture_stats.frames));
    o.insert("mean_capture_frame_bytes".into(), num(mean));
    o.insert("seconds".into(), json!(r.seconds));
    o.insert("warmup_periods".into(), json!(r.warmup));
    o.insert("cpu_mhz".into(), opt_num(r.cpu_mhz));
    o.insert("forwarding_cores".into(), json!(1));
    o.insert("eal_memory".into(), json!(r.memory.tag()));
    let baselines = r.baselines.iter().enumerate().map(|(bi, b)| {
        let mut bo = Map::new();
        bo.insert("tool".into(), json!(b.mode.tool()));
        if let Some(c) = b.connections {
            bo.insert("connections".into(), json!(c));
        }
        if let Some(n) = &b.note {
            bo.insert("note".into(), json!(n));
        }
        bo.insert("mode".into(), json!(b.mode.name()));
        bo.insert("command".into(), json!(b.command));
        rate_fields(&mut bo, &b.rate, mean, r.cpu_mhz);
        let intervals = r.baseline_intervals.get(bi).map_or(&[][..], Vec::as_slice);
        bo.insert("histogram".into(), hist(intervals, r.cpu_mhz));
        Value::Object(bo)
    });
    o.insert("baselines".into(), Value::Array(baselines.collect()));
    o.insert("svcard".into(), svcard(r));
    let mut ratios = Map::new();
    for (bi, b) in r.baselines.iter().enumerate() {
        let rr = r.round_ratios.get(bi).cloned().unwrap_or_default();
        let v = if rr.is_empty() {
            (b.rate.median > 0.0).then(|| s.rate.median / b.rate.median)
        } else {
            Some(median_min_max(&rr).0)
        };
        ratios.insert(b.mode.name().into(), opt_num(v));
        ratios.insert(format!("{}_rounds", b.mode.name()), nums(&rr));
    }
    o.insert("ratio_svcard_to".into(), Value::Object(ratios));
    extras(&mut o, r);
    Value::Object(o)
}

/// The scenario figures a case has: setup rates, show under load, zero loss.
fn extras(o: &mut Map<String, Value>, r: &RunReport) {
    if let Some(s) = &r.setup {
        o.insert(
            "setup".into(),
            json!({
                "new_sessions_per_s": rate_short(&s.new_per_s),
                "ending_sessions_per_s": rate_short(&s.closed_per_s),
                "peak_new_sessions_per_s": s.peak_new_per_s,
                "new_sessions_per_frame": num(s.new_per_frame),
                "peak_live_sessions": s.peak_live,
                "idle_timeout_s": s.timeout_s,
                "capture_loop_s": num(s.loop_s),
                "expected_new_sessions_per_frame": num(s.expected_per_frame),
                "from": "per-second differences of the created counter of svcard's rate lines; ending = new - change of live sessions",
            }),
        );
    }
    if let Some(l) = &r.show_load {
        let walks: Vec<Value> = l
            .walks
            .iter()
            .map(|w| json!({"seconds": num(w.seconds), "lines": w.lines, "cut_at_end": w.cut}))
            .collect();
        o.insert(
            "show_under_load".into(),
            json!({
                "command": l.command,
                "pinned": l.pinned,
                "without_pps": rate_short(&l.without),
                "with_pps": rate_short(&l.with),
                "ratio": opt_num(l.ratio()),
                "walks": walks,
            }),
        );
    }
    if let Some(z) = &r.zero_loss {
        o.insert(
            "zero_loss".into(),
            json!({
                "applicable": z.applicable,
                "rate_pps": opt_num(z.rate_pps),
                "reason": z.reason,
                "unthrottled_rx_pps": num(z.pull_rx_pps),
                "unthrottled_tx_pps": num(z.pull_tx_pps),
                "unthrottled_lost_frames": z.pull_lost,
            }),
        );
    }
}

fn array(reports: &[RunReport], notes: &[Note]) -> String {
    let host = super::process::host();
    let mut items: Vec<Value> = reports
        .iter()
        .map(|r| {
            let mut v = case(r);
            if let Value::Object(o) = &mut v {
                o.insert("host".into(), host.clone());
            }
            v
        })
        .collect();
    items.extend(
        notes
            .iter()
            .map(|n| json!({"scenario": n.scenario, "case": n.case, "skipped": n.text})),
    );
    // Serializing a Value cannot fail.
    let mut s = serde_json::to_string_pretty(&Value::Array(items)).unwrap_or_default();
    s.push('\n');
    s
}

/// The reports as JSON: an array of run objects (one per scale), with the command lines.
#[must_use]
pub fn to_json(reports: &[RunReport]) -> String {
    array(reports, &[])
}

/// [`to_json`] of every report, then one `{"scenario", "case", "skipped"}` object per note.
#[must_use]
pub fn results_json(results: &Results) -> String {
    array(&results.reports, &results.notes)
}
