//! `show services offload statistics`: the offload manager's figures
//! ([`crate::offload::OffloadStats`]). svcard's own view (Junos shows offload per session
//! and as the summary's `Services-offload-sessions`, not as rule churn); reply root
//! `services-offload-statistics`.
//!
//! ```text
//! Services offload statistics:
//!   Backend: model, supports forward, drop, count (65536 rules)
//!   Rules installed                              12
//!   …
//!   Requests refused                              3
//!     table-full                                  2
//! ```

use core::fmt::{self, Write};

use super::model::Elem;
use crate::offload::OffloadStats;
use svcard_dataplane::offload::FailReason;

/// Width of the name column.
const NAME: usize = 44;

fn avg(sum_count: (u64, u64)) -> u64 {
    sum_count.0.checked_div(sum_count.1).unwrap_or(0)
}

/// The figures as (element name, text label, value), in display order.
fn rows(s: &OffloadStats) -> Vec<(&'static str, &'static str, u64)> {
    vec![
        ("requests", "Requests received", s.requests),
        ("rules-installed", "Rules installed", s.installed),
        ("rules-partial", "Of them partial (mark only)", s.partial),
        ("rules-activated", "Rules activated", s.activated),
        ("rules-removed", "Rules removed", s.removed),
        ("rules-held", "Rules held now", u64::from(s.rules)),
        ("table-occupancy", "Table occupancy", u64::from(s.occupancy)),
        (
            "table-peak-occupancy",
            "Table peak occupancy",
            u64::from(s.peak_occupancy),
        ),
        (
            "table-capacity",
            "Table capacity",
            u64::from(s.capabilities.capacity),
        ),
        (
            "insertions-last-second",
            "Insertions in the last second",
            s.insertions_last_second,
        ),
        (
            "activation-delay-average-us",
            "Activation delay average (us)",
            avg(s.activation_delay_us),
        ),
        (
            "activation-delay-maximum-us",
            "Activation delay maximum (us)",
            s.activation_delay_max_us,
        ),
        (
            "trigger-age-average-ms",
            "First packet to request average (ms)",
            avg(s.trigger_age_ms),
        ),
        ("counter-pulls", "Counter pulls", s.counter_pulls),
        (
            "activity-refreshes",
            "Idle timers refreshed by hardware",
            s.activity_refreshes,
        ),
        ("rules-aged-out", "Rules aged out by hardware", s.aged_out),
        (
            "closed-hardware-packets",
            "Hardware packets of closed sessions",
            s.hw_closed.0,
        ),
        (
            "closed-hardware-bytes",
            "Hardware bytes of closed sessions",
            s.hw_closed.1,
        ),
        ("requests-refused", "Requests refused", s.failed_total()),
    ]
}

/// Writes the text view; `enabled` false when no service set offloads.
///
/// # Errors
/// When the writer fails.
pub fn text<W: Write + ?Sized>(w: &mut W, s: &OffloadStats, enabled: bool) -> fmt::Result {
    writeln!(w, "Services offload statistics:")?;
    if !enabled {
        return writeln!(w, "  Offload: off (no service set has an offload policy)");
    }
    writeln!(
        w,
        "  Backend: {}, supports {}",
        s.backend,
        s.capabilities.describe()
    )?;
    for (_, label, v) in rows(s) {
        writeln!(w, "  {label:<NAME$}{v:>20}")?;
    }
    for r in FailReason::ALL {
        writeln!(w, "    {:<42}{:>20}", r.name(), s.failed[r as usize])?;
    }
    Ok(())
}

/// The element.
#[must_use]
pub fn elem(s: &OffloadStats, enabled: bool) -> Elem {
    let mut e = Elem::new("services-offload-statistics");
    e.push(Elem::leaf(
        "offload-enabled",
        if enabled { "yes" } else { "no" },
    ));
    if !enabled {
        return e;
    }
    e.push(Elem::leaf("backend", s.backend));
    e.push(Elem::leaf("capabilities", s.capabilities.describe()));
    for (name, _, v) in rows(s) {
        e.push(Elem::leaf(name, v));
    }
    for r in FailReason::ALL {
        let mut f = Elem::new("requests-refused-by-reason");
        f.push(Elem::leaf("reason", r.name()));
        f.push(Elem::leaf("count", s.failed[r as usize]));
        e.push(f);
    }
    e
}
