//! The benchmark's plot, as a self-contained SVG: forwarding rate against session count
//! (left) and against frame size (right), svcard and each testpmd baseline.

use crate::bench::RunReport;
use std::fmt::Write as _;

const W: f64 = 1000.0;
const H: f64 = 440.0;
/// Plot area of a panel: left, top, width, height (relative to the panel).
const PL: f64 = 70.0;
const PT: f64 = 50.0;
const PW: f64 = 380.0;
const PH: f64 = 300.0;

const COLOURS: [&str; 4] = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" upper bound for an axis.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let e = 10f64.powf(v.log10().floor());
    for m in [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if m * e >= v {
            return m * e;
        }
    }
    10.0 * e
}

fn count_label(n: f64) -> String {
    if n >= 1e6 {
        format!("{}M", n / 1e6)
    } else if n >= 1e3 {
        format!("{}k", n / 1e3)
    } else {
        format!("{n}")
    }
}

/// One series of points (x, median, min, max).
#[derive(Debug, Default)]
struct Series {
    name: String,
    points: Vec<(f64, f64, f64, f64)>,
}

fn y_axis(out: &mut String, x0: f64, ymax: f64, label: &str) {
    for i in 0..=5 {
        let v = ymax * f64::from(i) / 5.0;
        let y = PT + PH - PH * f64::from(i) / 5.0;
        let _ = writeln!(
            out,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11">{}</text>"##,
            x0 + PW,
            x0 - 6.0,
            y + 4.0,
            if ymax < 10.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.0}")
            }
        );
    }
    let _ = writeln!(
        out,
        r#"<text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle" font-size="12">{}</text>"#,
        x0 - 48.0,
        PT + PH / 2.0,
        esc(label)
    );
}

fn empty_panel(out: &mut String, x0: f64, text: &str) {
    let _ = writeln!(
        out,
        r##"<rect x="{x0}" y="{PT}" width="{PW}" height="{PH}" fill="none" stroke="#999"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#666">{}</text>"##,
        x0 + PW / 2.0,
        PT + PH / 2.0,
        esc(text)
    );
}

fn legend(out: &mut String, x0: f64, names: &[String]) {
    for (i, n) in names.iter().enumerate() {
        let y = PT + 12.0 + 16.0 * i as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
            x0 + 10.0,
            y - 9.0,
            COLOURS[i % COLOURS.len()],
            x0 + 24.0,
            y,
            esc(n)
        );
    }
}

/// Rate against session count: the reports of fixed-size captures of established flows
/// (scenario `sessions`, or the plain benchmark).
fn sessions_panel(out: &mut String, x0: f64, reports: &[&RunReport]) {
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="30" text-anchor="middle" font-size="14" font-weight="bold">Forwarding rate vs sessions</text>"#,
        x0 + PW / 2.0
    );
    fn get(series: &mut Vec<Series>, name: String) -> usize {
        if let Some(i) = series.iter().position(|s| s.name == name) {
            i
        } else {
            series.push(Series {
                name,
                points: Vec::new(),
            });
            series.len() - 1
        }
    }
    let mut series: Vec<Series> = Vec::new();
    for r in reports {
        let x = f64::from(r.flows);
        let i = get(&mut series, "svcard".into());
        let s = &r.svcard.rate;
        series[i]
            .points
            .push((x, s.median / 1e6, s.min / 1e6, s.max / 1e6));
        for b in r.baselines.iter().filter(|b| b.rate.periods > 0) {
            let i = get(&mut series, b.mode.series_name());
            let q = &b.rate;
            series[i]
                .points
                .push((x, q.median / 1e6, q.min / 1e6, q.max / 1e6));
        }
    }
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    if xs.len() < 2 || xs.iter().all(|&x| x == xs[0]) {
        empty_panel(
            out,
            x0,
            "needs two or more session counts: --scenario sessions",
        );
        return;
    }
    let (lo, hi) = xs
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
    let (l0, l1) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let ymax = nice_max(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.3.max(p.1)))
            .fold(0.0, f64::max)
            * 1.05,
    );
    let px = |x: f64| x0 + (x.log10() - l0) / (l1 - l0) * PW;
    let py = |y: f64| PT + PH - y / ymax * PH;
    y_axis(out, x0, ymax, "Mpps");
    let mut e = l0;
    while e <= l1 + 1e-9 {
        let x = px(10f64.powf(e));
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{PT}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"##,
            PT + PH,
            PT + PH + 16.0,
            count_label(10f64.powf(e))
        );
        e += 1.0;
    }
    let _ = writeln!(
        out,
        r##"<rect x="{x0}" y="{PT}" width="{PW}" height="{PH}" fill="none" stroke="#999"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">live sessions (log scale)</text>"##,
        x0 + PW / 2.0,
        PT + PH + 36.0
    );
    for (i, s) in series.iter_mut().enumerate() {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let c = COLOURS[i % COLOURS.len()];
        let pts: Vec<String> = s
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", px(p.0), py(p.1)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"/>"#,
            pts.join(" ")
        );
        for p in &s.points {
            let _ = writeln!(
                out,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{c}"/><circle cx="{x:.1}" cy="{:.1}" r="3.5" fill="{c}"><title>{}: {} sessions, {:.2} Mpps ({:.2}-{:.2})</title></circle>"#,
                py(p.2),
                py(p.3),
                py(p.1),
                esc(&s.name),
                p.0,
                p.1,
                p.2,
                p.3,
                x = px(p.0)
            );
        }
    }
    let names: Vec<String> = series.iter().map(|s| s.name.clone()).collect();
    legend(out, x0 + PW - 130.0, &names);
}

/// Rate against frame size: the `imix` scenario's cases (or any reports of one session
/// count with several frame sizes), grouped bars.
fn frames_panel(out: &mut String, x0: f64, reports: &[&RunReport]) {
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="30" text-anchor="middle" font-size="14" font-weight="bold">Forwarding rate vs frame size</text>"#,
        x0 + PW / 2.0
    );
    if reports.len() < 2 {
        empty_panel(out, x0, "needs two or more frame sizes: --scenario imix");
        return;
    }
    let mut names = vec!["svcard".to_string()];
    for b in &reports[0].baselines {
        names.push(b.mode.series_name());
    }
    let ymax = nice_max(
        reports
            .iter()
            .flat_map(|r| {
                std::iter::once(r.svcard.rate.median)
                    .chain(r.baselines.iter().map(|b| b.rate.median))
            })
            .fold(0.0, f64::max)
            / 1e6
            * 1.15,
    );
    y_axis(out, x0, ymax, "Mpps (bar label: Gbps on the wire)");
    let _ = writeln!(
        out,
        r##"<rect x="{x0}" y="{PT}" width="{PW}" height="{PH}" fill="none" stroke="#999"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">frame size (wire bytes, FCS included)</text>"##,
        x0 + PW / 2.0,
        PT + PH + 36.0
    );
    let group = PW / reports.len() as f64;
    let bw = (group * 0.7) / names.len() as f64;
    for (gi, r) in reports.iter().enumerate() {
        let gx = x0 + group * gi as f64 + group * 0.15;
        let label = match r.frame {
            crate::recipes::FrameSize::Imix => {
                format!("IMIX (mean {:.0} B)", r.mean_frame() + 4.0)
            }
            f => f.label(),
        };
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"#,
            x0 + group * (gi as f64 + 0.5),
            PT + PH + 16.0,
            esc(&label)
        );
        let vals: Vec<f64> = std::iter::once(r.svcard.rate.median)
            .chain(r.baselines.iter().map(|b| b.rate.median))
            .collect();
        for (si, v) in vals.iter().enumerate() {
            let h = v / 1e6 / ymax * PH;
            let x = gx + bw * si as f64;
            let c = COLOURS[si % COLOURS.len()];
            let _ = writeln!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{c}"><title>{}: {:.2} Mpps, {:.2} Gbps</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{:.1}</text>"#,
                PT + PH - h,
                bw * 0.9,
                esc(names.get(si).map_or("", String::as_str)),
                v / 1e6,
                r.gbps(*v),
                x + bw * 0.45,
                PT + PH - h - 4.0,
                r.gbps(*v)
            );
        }
    }
    legend(out, x0 + PW - 130.0, &names);
}

/// The SVG of `reports`: rate vs sessions from the `sessions` scenario (else the plain
/// benchmark's scales), rate vs frame size from the `imix` scenario.
#[must_use]
pub fn render(reports: &[RunReport]) -> String {
    let fixed = |r: &&RunReport| matches!(r.frame, crate::recipes::FrameSize::Fixed(_));
    let mut by_sessions: Vec<&RunReport> = reports
        .iter()
        .filter(|r| r.scenario == "sessions")
        .filter(fixed)
        .collect();
    if by_sessions.is_empty() {
        by_sessions = reports
            .iter()
            .filter(|r| r.scenario == "flows")
            .filter(fixed)
            .collect();
    }
    let by_frames: Vec<&RunReport> = reports.iter().filter(|r| r.scenario == "imix").collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif">"#
    );
    let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let mut g = String::new();
    let _ = writeln!(g, r#"<g transform="translate(0,0)">"#);
    sessions_panel(&mut g, PL, &by_sessions);
    frames_panel(&mut g, PL + PW + 110.0, &by_frames);
    g.push_str("</g>\n");
    out.push_str(&g);
    let mhz = reports.iter().find_map(|r| r.cpu_mhz);
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#444">1 forwarding core, net_pcap (infinite_rx) into net_null; median of one-second periods after warm-up, bars min-max; CPU {} MHz</text>"##,
        W / 2.0,
        H - 12.0,
        mhz.map_or_else(|| "?".into(), |m| format!("{m:.0}"))
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::fake_report;
    use crate::recipes::FrameSize;

    #[test]
    fn both_panels() {
        let reports = vec![
            fake_report(
                "sessions",
                1000,
                FrameSize::Fixed(60),
                &[1e6, 5e6],
                &[1e7, 2e7],
            ),
            fake_report(
                "sessions",
                65_536,
                FrameSize::Fixed(60),
                &[1e6, 4e6],
                &[1e7, 2e7],
            ),
            fake_report(
                "sessions",
                1 << 20,
                FrameSize::Fixed(60),
                &[1e6, 3e6],
                &[1e7, 1.8e7],
            ),
            fake_report(
                "imix",
                65_536,
                FrameSize::Fixed(60),
                &[1e6, 4e6],
                &[1e7, 2e7],
            ),
            fake_report("imix", 65_536, FrameSize::Imix, &[1e6, 2e6], &[1e7, 5e6]),
        ];
        let s = render(&reports);
        assert!(s.starts_with("<svg"));
        assert!(s.trim_end().ends_with("</svg>"));
        // Rate vs sessions: one line for svcard, one for testpmd 5tswap, three points each.
        assert_eq!(s.matches("<polyline").count(), 2);
        assert_eq!(s.matches("<circle").count(), 6);
        assert!(s.contains(">1M<") && s.contains(">1k<"));
        // Rate vs frame size: two groups of two bars.
        assert!(s.contains("IMIX (mean 354 B)"));
        assert!(s.contains(">64 B<"));
        assert_eq!(s.matches("Gbps</title></rect>").count(), 4);
        assert!(!s.contains("needs two or more"));
        // Without data the panels say what to run.
        let e = render(&reports[..1]);
        assert!(e.contains("--scenario sessions") && e.contains("--scenario imix"));
    }
}
