//! The layout of `show services stateful-firewall statistics`: per member interface, per
//! service set, the rule counters of new flows, the packets of existing flows by their
//! session's action, and the drops of new flows. Field names are Junos's output-field table
//! for the MS-MPC (see `docs/show-commands.md`); the drop lines and the extensive lines
//! (sessions, rates) are svcard's own figures.

use std::fmt::{self, Write};

use super::model::Elem;

/// One service set's block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SfwBlock<'a> {
    /// The service set.
    pub service_set: &'a str,
    /// New flows: rule accepts, discards, rejects.
    pub rules: [u64; 3],
    /// Existing flows' packets: accepts (forward and watch flows), drop, rejects.
    pub existing: [u64; 3],
    /// Drops of new flows: session limit or setup rate, bypassed at a limit, NAT ports
    /// exhausted, TCP SYN check.
    pub drops: [u64; 4],
    /// At extensive: live sessions, sessions closed, and the new flows and closes per
    /// second over the last interval (none before the first interval).
    pub extensive: Option<SfwExtensive>,
}

/// The extensive lines of a block.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SfwExtensive {
    /// Sessions of the service set live now.
    pub active: u64,
    /// Sessions that closed.
    pub closed: u64,
    /// New flows per second, and the interval's length in seconds.
    pub new_per_s: Option<(f64, f64)>,
}

/// Writes the interface header.
///
/// # Errors
/// The writer failed.
pub fn interface(w: &mut dyn Write, name: &str) -> fmt::Result {
    writeln!(w, "Interface: {name}")
}

/// Writes one service set's block.
///
/// # Errors
/// The writer failed.
pub fn block(w: &mut dyn Write, b: &SfwBlock<'_>) -> fmt::Result {
    let [a, d, r] = b.rules;
    let [ea, ed, er] = b.existing;
    let [limit, bypassed, nat, syn] = b.drops;
    writeln!(w, "  Service set: {}", b.service_set)?;
    writeln!(w, "    New flows:")?;
    writeln!(
        w,
        "      Rule Accepts: {a}, Rule Discards: {d}, Rule Rejects: {r}"
    )?;
    writeln!(w, "    Existing flow types packet counters:")?;
    writeln!(w, "      Accepts: {ea}, Drop: {ed}, Rejects: {er}")?;
    writeln!(w, "    Drops:")?;
    writeln!(
        w,
        "      Session limit or setup rate: {limit}, Bypassed at a limit: {bypassed}"
    )?;
    writeln!(w, "      NAT ports exhausted: {nat}, TCP SYN check: {syn}")?;
    if let Some(x) = &b.extensive {
        writeln!(w, "    Sessions:")?;
        writeln!(w, "      Active: {}, Closed: {}", x.active, x.closed)?;
        match x.new_per_s {
            Some((rate, secs)) => {
                writeln!(w, "    Rates (last interval {secs:.1} s):")?;
                writeln!(w, "      New flows: {rate:.1}/s")?;
            }
            None => writeln!(w, "    Rates: no interval yet")?,
        }
    }
    Ok(())
}

impl SfwBlock<'_> {
    /// The block as XML/JSON.
    #[must_use]
    pub fn to_elem(&self) -> Elem {
        let mut e = Elem::new("service-set-sfw-statistics");
        e.push(Elem::leaf("service-set-name", self.service_set));
        let names = [
            ("rule-accepts", self.rules[0]),
            ("rule-discards", self.rules[1]),
            ("rule-rejects", self.rules[2]),
            ("existing-flow-accepts", self.existing[0]),
            ("existing-flow-drops", self.existing[1]),
            ("existing-flow-rejects", self.existing[2]),
            ("session-limit-drops", self.drops[0]),
            ("limit-bypassed", self.drops[1]),
            ("nat-ports-exhausted", self.drops[2]),
            ("tcp-syn-check-drops", self.drops[3]),
        ];
        for (n, v) in names {
            e.push(Elem::leaf(n, v));
        }
        if let Some(x) = &self.extensive {
            e.push(Elem::leaf("active-sessions", x.active));
            e.push(Elem::leaf("closed-sessions", x.closed));
            if let Some((rate, secs)) = x.new_per_s {
                e.push(Elem::leaf("new-flows-per-second", format!("{rate:.1}")));
                e.push(Elem::leaf("interval-seconds", format!("{secs:.1}")));
            }
        }
        e
    }
}
