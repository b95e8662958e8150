//! `show svcard runtime` and its `clear`: each worker's loop as VPP's `show runtime` shows a
//! graph node's: polls and busy polls, packets per busy poll, time per packet, sessions
//! made and ended, hand-offs and what full rings dropped; totals since the last clear, and
//! rates over the last interval (the control core samples every worker's figures once a
//! second). svcard's own command (Junos has none for a services card's cores).
//!
//! ```text
//! Worker runtime on FPC0 PIC0 (totals since start; last interval 1.0 s):
//!                                              Total      Last interval
//!   Polls                                   12345678           998877/s
//!   …
//! ```

use std::time::Instant;

use super::context::Context;
use super::out::{Out, Outcome};
use crate::show::model::Elem;
use svcard_dataplane::stats::{
    loop_bucket_range, AlgCounter, Counter, Gauge, LocalStats, LoopTimes,
};

/// The show request RPC.
#[must_use]
pub fn request() -> Elem {
    Elem::new("get-svcard-runtime-information")
}

/// The clear request RPC.
#[must_use]
pub fn clear_request() -> Elem {
    Elem::new("clear-svcard-runtime-information")
}

/// `now - then`, counter by counter (and the loop histograms).
fn since(now: &LocalStats, then: &LocalStats) -> LocalStats {
    let mut d = now.clone();
    for (a, b) in d.counters.iter_mut().zip(then.counters.iter()) {
        *a = a.saturating_sub(*b);
    }
    for (a, b) in d.algs.iter_mut().flatten().zip(then.algs.iter().flatten()) {
        *a = a.saturating_sub(*b);
    }
    d.loops = now.loops.since(&then.loops);
    d
}

/// The median of a histogram of ns, its bucket's middle.
fn median_ns(h: &[u64]) -> Option<u64> {
    let total: u64 = h.iter().sum();
    if total == 0 {
        return None;
    }
    let mut seen = 0;
    for (i, c) in h.iter().enumerate() {
        seen += c;
        if seen * 2 >= total {
            let (lo, hi) = loop_bucket_range(i);
            return Some(lo + (hi.saturating_sub(lo)) / 2);
        }
    }
    None
}

/// One row: its name, total and rate over the interval (per second), and a unit.
struct Row {
    name: &'static str,
    xml: &'static str,
    total: f64,
    rate: Option<f64>,
    unit: &'static str,
}

fn rows(total: &LocalStats, interval: Option<(&LocalStats, f64)>) -> Vec<Row> {
    type Of = fn(&LocalStats) -> u64;
    let counts: [(&'static str, &'static str, Of); 9] = [
        ("Polls", "polls", |s| s.get(Counter::Loops)),
        ("Busy polls", "busy-polls", |s| {
            s.get(Counter::Loops)
                .saturating_sub(s.get(Counter::IdleLoops))
        }),
        ("Packets received", "packets-received", |s| {
            s.get(Counter::RxPackets)
        }),
        ("Packets sent", "packets-sent", |s| {
            s.get(Counter::TxPackets)
        }),
        ("TX queue full drops", "tx-queue-full-drops", |s| {
            s.get(Counter::TxDropped)
        }),
        ("Sessions created", "sessions-created", |s| {
            s.get(Counter::SessionsCreated)
        }),
        ("Sessions ended", "sessions-ended", |s| {
            s.get(Counter::SessionsClosed)
        }),
        ("Hand-offs to the control core", "hand-offs", |s| {
            s.algs[AlgCounter::HandedOff as usize].iter().sum()
        }),
        ("Ring full drops", "ring-full-drops", |s| {
            s.get(Counter::EventRingFull)
                + s.get(Counter::ReplyRingFull)
                + s.get(Counter::OffloadRingFull)
                + s.algs[AlgCounter::HandoffRingFull as usize]
                    .iter()
                    .sum::<u64>()
        }),
    ];
    let mut out: Vec<Row> = counts
        .iter()
        .map(|(name, xml, of)| Row {
            name,
            xml,
            total: of(total) as f64,
            rate: interval.map(|(d, secs)| of(d) as f64 / secs),
            unit: "/s",
        })
        .collect();
    let per_poll = |s: &LocalStats| {
        let busy = s
            .get(Counter::Loops)
            .saturating_sub(s.get(Counter::IdleLoops));
        (busy > 0).then(|| s.get(Counter::RxPackets) as f64 / busy as f64)
    };
    out.push(Row {
        name: "Packets per busy poll",
        xml: "packets-per-busy-poll",
        total: per_poll(total).unwrap_or(0.0),
        rate: interval.and_then(|(d, _)| per_poll(d)),
        unit: "",
    });
    let ns = |l: &LoopTimes| median_ns(&l.packet_ns);
    out.push(Row {
        name: "Time per packet, median (ns)",
        xml: "packet-ns-median",
        total: ns(&total.loops).unwrap_or(0) as f64,
        rate: interval.and_then(|(d, _)| ns(&d.loops).map(|v| v as f64)),
        unit: "",
    });
    out
}

/// Runs the show.
///
/// # Errors
/// The client went away.
pub fn show(ctx: &Context, out: &mut Out<'_>) -> Outcome {
    let now = Instant::now();
    let (samples, cleared) = ctx
        .control
        .runtime
        .lock()
        .map(|r| (r.samples.clone(), r.cleared.clone()))
        .unwrap_or_default();
    if let Out::Tree(t) = out {
        t.open(&Elem::new("svcard-runtime-information"))?;
    }
    for (i, h) in ctx.control.workers.iter().enumerate() {
        let cur = h.stats.snapshot();
        let base = cleared.get(i).cloned().flatten();
        let total = base
            .as_ref()
            .map_or_else(|| cur.clone(), |b| since(&cur, b));
        // The interval: from the latest sample at least half a second old.
        let interval = samples.get(i).and_then(|pair| {
            pair.iter()
                .rev()
                .flatten()
                .find(|(at, _)| now.duration_since(*at).as_secs_f64() >= 0.5)
                .map(|(at, s)| (since(&cur, s), now.duration_since(*at).as_secs_f64()))
        });
        let rows = rows(&total, interval.as_ref().map(|(d, secs)| (d, *secs)));
        let section = ctx
            .section(svcard_config::WorkerId::from_index(i).unwrap_or_default())
            .to_string();
        let sessions = cur.gauge(Gauge::Sessions);
        match out {
            Out::Text(w) => {
                if i > 0 {
                    writeln!(w)?;
                }
                let since = if base.is_some() {
                    "the last clear"
                } else {
                    "start"
                };
                match &interval {
                    Some((_, secs)) => writeln!(
                        w,
                        "Worker runtime on {section} (totals since {since}; last interval {secs:.1} s):"
                    )?,
                    None => writeln!(
                        w,
                        "Worker runtime on {section} (totals since {since}; no interval yet):"
                    )?,
                }
                writeln!(w, "  {:<40}{:>16}{:>20}", "", "Total", "Last interval")?;
                for r in &rows {
                    let rate = r.rate.map_or("-".to_string(), |v| {
                        if r.unit.is_empty() {
                            format!("{v:.1}")
                        } else {
                            format!("{v:.0}{}", r.unit)
                        }
                    });
                    let total = if r.unit.is_empty() {
                        format!("{:.1}", r.total)
                    } else {
                        format!("{:.0}", r.total)
                    };
                    writeln!(w, "  {:<40}{total:>16}{rate:>20}", r.name)?;
                }
                writeln!(w, "  {:<40}{sessions:>16}", "Sessions now")?;
            }
            Out::Tree(t) => {
                let mut e = Elem::new("worker-runtime");
                e.push(Elem::leaf("fpc-pic-id", section.as_str()));
                if let Some((_, secs)) = &interval {
                    e.push(Elem::leaf("interval-seconds", format!("{secs:.3}")));
                }
                for r in &rows {
                    let mut c = Elem::new(r.xml);
                    c.push(Elem::leaf("total", format!("{:.1}", r.total)));
                    if let Some(v) = r.rate {
                        c.push(Elem::leaf(
                            if r.unit.is_empty() {
                                "last-interval"
                            } else {
                                "per-second"
                            },
                            format!("{v:.1}"),
                        ));
                    }
                    e.push(c);
                }
                e.push(Elem::leaf("sessions", sessions));
                t.elem(&e)?;
            }
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}

/// Runs the clear: the totals start again from each worker's figures now.
///
/// # Errors
/// The client went away.
pub fn clear(ctx: &Context, out: &mut Out<'_>) -> Outcome {
    let now: Vec<Option<LocalStats>> = ctx
        .control
        .workers
        .iter()
        .map(|h| Some(h.stats.snapshot()))
        .collect();
    if let Ok(mut r) = ctx.control.runtime.lock() {
        r.cleared = now;
    }
    match out {
        Out::Text(w) => writeln!(w, "svcard runtime cleared")?,
        Out::Tree(t) => t.elem(&Elem::leaf(
            "clear-svcard-runtime-information-results",
            "cleared",
        ))?,
    }
    Ok(())
}
