//! `show security flow gate [brief | summary] [source-prefix P] [destination-prefix P]
//! [source-port N] [destination-port N] [protocol P] [family inet | inet6]`: the pinholes
//! the ALGs opened and that wait for their child flow, read from the resource manager's
//! book (the counts `show services alg statistics` gives as "Pinholes active"). RPC
//! `get-flow-gate-information`, reply `flow-gate-information` per worker (Juniper's
//! JUNOS::Methods and test library; docs/show-commands.md). Layout: [`crate::show::gate`].
//!
//! A gate is listed once, in the section of the worker whose conversation opened it; every
//! worker holds a copy, so a child arriving on any queue finds it.

use std::time::Instant;

use super::context::Context;
use super::grammar::{opt, Arg, CliError, Keyword, OptSpec, Opts, Value};
use super::out::{Out, Outcome};
use super::selectors::{filter_leaves, selector, FlowSessionFilter};
use crate::show::gate::{counts_elems, gate_elem, section_elem, GateCounts, GateRow, GateText};
use crate::show::model::Elem;
use crate::show::tree::family_ns;
use crate::show::Names as _;
use svcard_config::WorkerId;

/// `family` values.
static FAMILIES: &[Keyword] = &[("inet", "Show IPv4 gates"), ("inet6", "Show IPv6 gates")];

/// `show security flow gate …`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowFlowGate {
    /// `brief` (the default layout, marked in the request).
    pub brief: bool,
    /// `summary`: the counts alone.
    pub summary: bool,
    /// The address, port and protocol selectors (the sessions' own).
    pub filter: FlowSessionFilter,
    /// `family`: `Some(true)` IPv6, `Some(false)` IPv4.
    pub inet6: Option<bool>,
}

/// The options.
pub static OPTIONS: &[&[OptSpec]] = &[&[
    opt("brief", "Display brief output", Arg::Flag, 1),
    opt("destination-port", "Destination port", Arg::Port, 0),
    opt(
        "destination-prefix",
        "Destination IP prefix or address",
        Arg::Prefix,
        0,
    ),
    opt("family", "Protocol family", Arg::Keyword(FAMILIES), 0),
    opt("protocol", "IP protocol number", Arg::Protocol, 0),
    opt("source-port", "Source port", Arg::Port, 0),
    opt(
        "source-prefix",
        "Source IP prefix or address",
        Arg::Prefix,
        0,
    ),
    opt("summary", "Display output summary", Arg::Flag, 1),
]];

/// The command from its options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build(opts: Opts) -> Result<ShowFlowGate, CliError> {
    let mut s = ShowFlowGate::default();
    for (spec, v, _) in opts {
        match (spec.word, v) {
            ("brief", _) => s.brief = true,
            ("summary", _) => s.summary = true,
            ("family", Value::Keyword(k)) => s.inet6 = Some(k == "inet6"),
            (word, v) => {
                selector(&mut s.filter, word, v);
            }
        }
    }
    Ok(s)
}

/// The request RPC.
#[must_use]
pub fn request(s: &ShowFlowGate) -> Elem {
    let mut e = Elem::new("get-flow-gate-information");
    filter_leaves(&mut e, &s.filter);
    if let Some(v6) = s.inet6 {
        e.push(Elem::leaf("family", if v6 { "inet6" } else { "inet" }));
    }
    if s.summary {
        e.push(Elem::new("summary"));
    }
    if s.brief {
        e.push(Elem::new("brief"));
    }
    e
}

impl ShowFlowGate {
    /// Whether gate `g` is selected. A gate that admits any source (or any port) is
    /// selected by every source prefix (or port): it would admit that child.
    #[must_use]
    pub fn selects(&self, g: &crate::gateway::rm::Gate) -> bool {
        let f = &self.filter;
        f.source_prefix
            .is_none_or(|p| g.src.is_none_or(|a| p.contains(a)))
            && f.destination_prefix.is_none_or(|p| p.contains(g.dst))
            && f.source_port
                .is_none_or(|p| g.src_port.is_none_or(|x| x == p))
            && f.destination_port
                .is_none_or(|p| g.dst_port.is_none_or(|x| x == p))
            && f.protocol.is_none_or(|p| p == g.protocol)
            && self.inet6.is_none_or(|v6| v6 == g.dst.is_ipv6())
    }
}

/// The selected gates of each worker, in worker order (a snapshot: the book is locked only
/// while it is read).
fn rows(ctx: &Context, s: &ShowFlowGate) -> Vec<(WorkerId, Vec<GateRow>)> {
    let names = ctx.names();
    let n = ctx.control.workers.len();
    let mut out: Vec<(WorkerId, Vec<GateRow>)> =
        WorkerId::all(n).map(|w| (w, Vec::new())).collect();
    let Ok(book) = ctx.control.conversations.lock() else {
        return out;
    };
    for a in &book.algs {
        let Some((_, rows)) = out.iter_mut().find(|(w, _)| *w == a.worker) else {
            continue;
        };
        for c in &a.conversations {
            for r in &c.resources {
                let Some(gate) = r.gate.filter(|g| s.selects(g)) else {
                    continue;
                };
                rows.push(GateRow {
                    gate,
                    alg: a.name.clone(),
                    client: client_id(a.alg),
                    group: c.group_id,
                    resource: r.id,
                    references: r.sessions.len(),
                    service_set: names
                        .service_set_name(gate.service_set)
                        .unwrap_or("N/A")
                        .to_string(),
                });
            }
        }
    }
    out
}

/// The resource manager's client ID of an ALG (its place in the catalogue, from 1).
#[must_use]
pub fn client_id(k: svcard_config::AlgKind) -> u32 {
    k as u32 + 1
}

/// Runs the command.
///
/// # Errors
/// The client went away.
pub fn show(ctx: &Context, s: &ShowFlowGate, out: &mut Out<'_>) -> Outcome {
    let now = Instant::now();
    let mut text = GateText::new(s.summary);
    for (w, gates) in rows(ctx, s) {
        let n = gates.len() as u64;
        let counts = GateCounts {
            valid: n,
            total: n,
            ..GateCounts::default()
        };
        let section = ctx.section(w);
        match out {
            Out::Text(t) => {
                text.begin_section(*t, section)?;
                for g in &gates {
                    text.gate(*t, g, now)?;
                }
                text.counts(*t, &counts)?;
            }
            Out::Tree(t) => {
                t.open(&Elem::new("flow-gate-information").attr("xmlns", family_ns("junos-flow")))?;
                t.elem(&section_elem(section))?;
                if !s.summary {
                    for g in &gates {
                        t.elem(&gate_elem(g, now))?;
                    }
                }
                for e in counts_elems(&counts) {
                    t.elem(&e)?;
                }
                t.close()?;
            }
        }
    }
    Ok(())
}
