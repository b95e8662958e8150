//! `show security flow statistics`: the card's forwarding figures in the SRX layout (every
//! line indented four spaces, as a vSRX 24.4 prints it: psaab/xpf
//! `docs/junos-cli-reference.md`, "Security: Flow Statistics"); RPC
//! `get-flow-statistics-all`, reply `flow-statistics-all` (Juniper's JUNOS::Methods for
//! Junos 12.3, peter216/iperl `nettools_lib/JUNOS/12.3R4/`), with the element names Juniper's
//! test library reads from it (`flow-session-count-valid`, `flow-pkt-count-fwd`,
//! `flow-pkt-count-drop`, `flow-frag-count-fwd`, `tunnel-frag-gen-pre`,
//! `tunnel-frag-gen-post`). See docs/show-commands.md.

use std::fmt::Write as _;

use svcard_dataplane::stats::{Counter, Gauge, LocalStats};

use super::context::Context;
use super::out::{Out, Outcome};
use crate::show::model::Elem;

/// The request RPC.
#[must_use]
pub fn request() -> Elem {
    Elem::new("get-flow-statistics-all")
}

/// The figures, summed over the workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FlowStatistics {
    sessions: u64,
    received: u64,
    transmitted: u64,
    queued: u64,
    dropped: u64,
    offloaded: u64,
    fragments: u64,
}

impl FlowStatistics {
    fn add(&mut self, s: &LocalStats) {
        self.sessions += s.gauge(Gauge::Sessions);
        self.received += s.get(Counter::RxPackets);
        self.transmitted += s.get(Counter::TxPackets);
        // Packets queued to the control core for an ALG.
        self.queued += s.algs[svcard_dataplane::stats::AlgCounter::HandedOff as usize]
            .iter()
            .sum::<u64>();
        // Every packet the card dropped, whatever the reason.
        self.dropped += [
            Counter::PolicyDropped,
            Counter::Malformed,
            Counter::SessionLimitDrops,
            Counter::TableFullDrops,
            Counter::SetupRateDrops,
            Counter::FragmentsNoSession,
            Counter::FragmentsOverlapping,
            Counter::FragmentsTooMany,
            Counter::TxDropped,
        ]
        .iter()
        .map(|&c| s.get(c))
        .sum::<u64>();
        self.offloaded += s.get(Counter::OffloadModelPackets);
        self.fragments += s.get(Counter::FragmentsFollowed) + s.get(Counter::FragmentsFirst);
    }
}

/// Runs the command.
///
/// # Errors
/// The client went away.
pub fn show(ctx: &Context, out: &mut Out<'_>) -> Outcome {
    let mut f = FlowStatistics::default();
    for h in &ctx.control.workers {
        f.add(&h.stats.snapshot());
    }
    match out {
        Out::Text(w) => {
            for (label, v) in [
                ("Current sessions", f.sessions),
                ("Packets received", f.received),
                ("Packets transmitted", f.transmitted),
                ("Packets forwarded/queued", f.queued),
                ("Packets copied", 0),
                ("Packets dropped", f.dropped),
                ("Services-offload packets processed", f.offloaded),
                ("Fragment packets", f.fragments),
                ("Pre fragments generated", 0),
                ("Post fragments generated", 0),
            ] {
                writeln!(w, "    {label}: {v}")?;
            }
        }
        Out::Tree(t) => {
            let mut e = Elem::new("flow-statistics-all");
            e.push(Elem::leaf("flow-session-count-valid", f.sessions));
            e.push(Elem::leaf("flow-pkt-count-fwd", f.transmitted));
            e.push(Elem::leaf("flow-pkt-count-drop", f.dropped));
            e.push(Elem::leaf("flow-frag-count-fwd", f.fragments));
            e.push(Elem::leaf("tunnel-frag-gen-pre", 0));
            e.push(Elem::leaf("tunnel-frag-gen-post", 0));
            t.elem(&e)?;
        }
    }
    Ok(())
}
