//! `show services alg statistics`: per ALG, what the gateway and the resource manager
//! counted (reply root `service-msp-alg-stats-information`, request
//! `get-service-msp-alg-stats-information`, as `reference/junos-cli.md` names them).
//!
//! Text layout, one block per ALG svcard runs, in the style of Junos counter pages:
//!
//! ```text
//! FTP ALG, State: enabled
//!   Packets handed off                          12
//!   Hand-off drops                               0
//!   …
//! ```

use core::fmt::{self, Write};

use super::model::Elem;
use crate::gateway::rm::{AlgRow, AlgStatistics};

/// Width of the label column.
const LABEL: usize = 40;

/// One ALG's block: its name, whether it is enabled, its row.
#[derive(Debug, Clone, Copy)]
pub struct AlgBlock<'a> {
    /// `FTP ALG`.
    pub name: &'a str,
    /// The `application-protocol` keyword.
    pub protocol: &'a str,
    /// Enabled in the configuration.
    pub enabled: bool,
    /// The counters.
    pub row: &'a AlgRow,
}

/// (label, XML element, value) of every line of `b`, in display order: the lines every
/// ALG has, then those of its own (SIP's calls).
fn lines(b: &AlgBlock<'_>) -> Vec<(&'static str, &'static str, u64)> {
    let mut l = common_lines(b.row);
    let c = &b.row.counters;
    if b.protocol == "pptp" {
        l.extend([
            ("Calls connected", "calls-connected", c.dialogs),
            ("Calls ended", "calls-ended", c.dialogs_ended),
        ]);
    }
    if b.protocol == "rtsp" {
        l.extend([
            ("Media sessions set up", "media-sessions-begun", c.dialogs),
            (
                "Media sessions torn down",
                "media-sessions-ended",
                c.dialogs_ended,
            ),
        ]);
    }
    if b.protocol == "sip" {
        l.extend([
            ("Calls begun", "calls-begun", c.dialogs),
            ("Calls ended", "calls-ended", c.dialogs_ended),
            ("Calls timed out", "calls-timed-out", c.dialogs_timed_out),
            (
                "Calls refused, table full",
                "calls-refused",
                c.dialogs_refused,
            ),
        ]);
    }
    l
}

fn common_lines(r: &AlgRow) -> Vec<(&'static str, &'static str, u64)> {
    let c = &r.counters;
    vec![
        ("Packets handed off", "packets-handed-off", r.handed_off),
        ("Hand-off drops", "handoff-drops", r.handoff_drops),
        ("Packets inspected", "packets-inspected", c.packets),
        ("Bytes inspected", "bytes-inspected", c.bytes),
        ("Requests", "requests", c.requests),
        ("Replies matched", "replies-matched", c.replies),
        (
            "Conversations active",
            "conversations-active",
            r.conversations_active,
        ),
        (
            "Conversations total",
            "conversations-total",
            r.conversations_total,
        ),
        (
            "Conversations refused by cap",
            "conversations-refused",
            r.conversations_refused,
        ),
        ("Pinholes active", "pinholes-active", r.pinholes_active),
        ("Pinholes opened", "pinholes-opened", r.pinholes_opened),
        ("Pinholes matched", "pinholes-matched", r.pinholes_matched),
        ("Pinholes expired", "pinholes-expired", r.pinholes_expired),
        (
            "Pinholes withdrawn",
            "pinholes-withdrawn",
            r.pinholes_withdrawn,
        ),
        (
            "Pinholes refused by cap",
            "pinholes-refused",
            r.pinholes_refused.saturating_add(c.cap_refused),
        ),
        (
            "Sessions closed by the ALG",
            "sessions-closed",
            r.sessions_closed,
        ),
        (
            "Child sessions closed by the ALG",
            "children-closed",
            r.children_closed,
        ),
        ("Parse errors", "parse-errors", c.parse_errors),
        (
            "Third-party addresses refused",
            "third-party-refused",
            c.third_party_refused,
        ),
        ("Buffer overflows", "buffer-overflows", c.overflow),
        (
            "Out-of-order segments",
            "out-of-order-segments",
            c.out_of_order,
        ),
        (
            "Retransmitted bytes",
            "retransmitted-bytes",
            c.retransmitted_bytes,
        ),
    ]
}

/// Writes one ALG's block.
///
/// # Errors
/// When the writer fails.
pub fn text<W: Write + ?Sized>(w: &mut W, b: &AlgBlock<'_>) -> fmt::Result {
    writeln!(
        w,
        "{}, State: {}",
        b.name,
        if b.enabled { "enabled" } else { "disabled" }
    )?;
    for (label, _, v) in lines(b) {
        writeln!(w, "  {label:<LABEL$}{v:>12}")?;
    }
    Ok(())
}

/// Writes the gateway's own counters (the trailer of the unfiltered command).
///
/// # Errors
/// When the writer fails.
pub fn gateway_text<W: Write + ?Sized>(w: &mut W, s: &AlgStatistics) -> fmt::Result {
    writeln!(w, "Control core")?;
    for (label, _, v) in gateway_lines(s) {
        writeln!(w, "  {label:<LABEL$}{v:>12}")?;
    }
    Ok(())
}

fn gateway_lines(s: &AlgStatistics) -> [(&'static str, &'static str, u64); 9] {
    [
        (
            "Packets transmitted",
            "packets-transmitted",
            s.gateway.tx_packets,
        ),
        ("Transmit drops", "transmit-drops", s.gateway.tx_dropped),
        ("Packets waiting for pinholes", "packets-waiting", s.pending),
        (
            "Drops, too many waiting",
            "waiting-drops",
            s.gateway.pending_full,
        ),
        (
            "Command ring full",
            "command-ring-full",
            s.gateway.command_ring_full,
        ),
        (
            "Pinhole table full",
            "pinhole-table-full",
            s.pinhole_table_full,
        ),
        ("NAT payload rewrites", "nat-rewrites", s.nat.rewrites),
        (
            "NAT rewrites not made",
            "nat-rewrite-failures",
            s.nat.rewrite_failed,
        ),
        (
            "NAT ALG ports exhausted",
            "nat-alg-ports-exhausted",
            s.nat.ports_exhausted,
        ),
    ]
}

/// One ALG's element.
#[must_use]
pub fn elem(b: &AlgBlock<'_>) -> Elem {
    let mut e = Elem::new("alg-statistics");
    e.push(Elem::leaf("alg-name", b.name));
    e.push(Elem::leaf("application-protocol", b.protocol));
    e.push(Elem::leaf(
        "alg-state",
        if b.enabled { "enabled" } else { "disabled" },
    ));
    for (_, name, v) in lines(b) {
        e.push(Elem::leaf(name, v));
    }
    e
}

/// The gateway's element.
#[must_use]
pub fn gateway_elem(s: &AlgStatistics) -> Elem {
    let mut e = Elem::new("control-core-statistics");
    for (_, name, v) in gateway_lines(s) {
        e.push(Elem::leaf(name, v));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_lines_align_and_carry_the_counts() {
        let mut row = AlgRow {
            handed_off: 12,
            pinholes_opened: 1,
            pinholes_matched: 1,
            ..AlgRow::default()
        };
        row.counters.packets = 3;
        let mut s = String::new();
        text(
            &mut s,
            &AlgBlock {
                name: "FTP ALG",
                protocol: "ftp",
                enabled: true,
                row: &row,
            },
        )
        .unwrap();
        let l: Vec<&str> = s.lines().collect();
        assert_eq!(l[0], "FTP ALG, State: enabled");
        assert_eq!(
            l[1],
            "  Packets handed off                                12"
        );
        assert!(s.contains("  Pinholes matched                                   1\n"));
        assert!(l.iter().skip(1).all(|x| x.len() == 2 + LABEL + 12), "{s}");
    }
}
