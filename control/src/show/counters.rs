//! `show svcard statistics`: every figure of the registry
//! ([`svcard_dataplane::stats::Figure`]), per worker. svcard's own view (Junos has no
//! command that lists a services card's raw counters); the Junos pages that show some of
//! them in their own layouts read the same registry. Reply root
//! `svcard-statistics-information`.
//!
//! Text layout, one section per worker, one line per figure (name, then value):
//!
//! ```text
//! Worker statistics on FPC0 PIC0:
//!   rx_packets                                             46
//!   …
//!   malformed_drops.truncated_ipv4                          1
//! ```

use core::fmt::{self, Write};

use super::model::Elem;
use svcard_dataplane::stats::{Figure, Kind, LocalStats};

/// Width of the name column.
const NAME: usize = 44;

/// Writes one worker's section.
///
/// # Errors
/// When the writer fails.
pub fn text<W: Write + ?Sized>(w: &mut W, section: &str, s: &LocalStats) -> fmt::Result {
    writeln!(w, "Worker statistics on {section}:")?;
    for f in Figure::all() {
        writeln!(w, "  {:<NAME$}{:>20}", f.key(), s.value(f))?;
    }
    Ok(())
}

/// One worker's element: `worker-statistics` with a `figure` per registered figure.
#[must_use]
pub fn elem(section: &str, s: &LocalStats) -> Elem {
    let mut e = Elem::new("worker-statistics");
    e.push(Elem::leaf("fpc-pic-id", section));
    for f in Figure::all() {
        let d = f.desc();
        let mut g = Elem::new("figure");
        g.push(Elem::leaf("name", d.name));
        if let Some((label, value)) = f.label() {
            g.push(Elem::leaf(label, value));
        }
        g.push(Elem::leaf("value", s.value(f)));
        g.push(Elem::leaf("unit", d.unit.name()));
        g.push(Elem::leaf(
            "kind",
            match d.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            },
        ));
        e.push(g);
    }
    e
}
