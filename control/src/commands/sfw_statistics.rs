//! `show services stateful-firewall statistics [extensive] [service-set S] [interface I]`
//! and `clear services stateful-firewall statistics [interface I]`: per member interface
//! (worker) and service set, the rule counters of new flows, the packets of existing flows
//! by their session's action, and the drops of new flows. Layout:
//! [`crate::show::sfw`].
//!
//! Where the figures come from, so that they cost the packet path nothing:
//! * new flows and their drops: counted by the worker once per new flow
//!   ([`SsFigure`]), published with its other figures (rates from the control core's
//!   samples, as `show svcard runtime`'s);
//! * existing flows' packets: the sessions' own counts, those of live sessions summed by a
//!   count walk of the service set (one per service set shown), those of closed ones from
//!   the close events ([`crate::central::SsBooks`]). A close lost to a full event ring
//!   (`event_ring_full`) is missing from the closed share.

use std::time::Instant;

use super::context::Context;
use super::grammar::{opt, Arg, CliError, OptSpec, Opts, Value};
use super::out::{message, Out, Outcome};
use super::selectors::ResolveError;
use crate::central::{run_query, Relay, SfwBaseline};
use crate::show::model::Elem;
use crate::show::sfw::{self, SfwBlock, SfwExtensive};
use svcard_config::WorkerId;
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::QueryKind;
use svcard_dataplane::stats::{LocalStats, SsFigure, MAX_SS_FIGURES};

/// `show services stateful-firewall statistics …`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowSfwStatistics {
    /// The extensive level (sessions and rates).
    pub extensive: bool,
    /// One service set.
    pub service_set: Option<String>,
    /// One member interface (the bundle: all).
    pub interface: Option<String>,
}

/// The show's options.
pub static SHOW_OPTIONS: &[&[OptSpec]] = &[&[
    opt("extensive", "Display extensive output", Arg::Flag, 1),
    opt("service-set", "Name of service set", Arg::Name, 0),
    opt("interface", "Name of interface", Arg::Name, 0),
]];

/// The clear's options.
pub static CLEAR_OPTIONS: &[&[OptSpec]] = &[&[opt("interface", "Name of interface", Arg::Name, 0)]];

/// The show from its options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build_show(opts: Opts) -> Result<ShowSfwStatistics, CliError> {
    let mut s = ShowSfwStatistics::default();
    for (spec, v, _) in opts {
        match (spec.word, v) {
            ("extensive", _) => s.extensive = true,
            ("service-set", Value::Name(n)) => s.service_set = Some(n),
            ("interface", Value::Name(n)) => s.interface = Some(n),
            _ => {}
        }
    }
    Ok(s)
}

/// The clear from its options (the interface, if one).
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build_clear(opts: Opts) -> Result<Option<String>, CliError> {
    Ok(opts
        .into_iter()
        .find_map(|(spec, v, _)| match (spec.word, v) {
            ("interface", Value::Name(n)) => Some(n),
            _ => None,
        }))
}

/// The show's request RPC (Junos's, from its RPC table: `get-service-sfw-statistics-information`).
#[must_use]
pub fn show_request(s: &ShowSfwStatistics) -> Elem {
    let mut e = Elem::new("get-service-sfw-statistics-information");
    if s.extensive {
        e.push(Elem::new("extensive"));
    }
    if let Some(n) = &s.service_set {
        e.push(Elem::leaf("service-set", n.as_str()));
    }
    if let Some(n) = &s.interface {
        e.push(Elem::leaf("interface", n.as_str()));
    }
    e
}

/// The clear's request RPC (Junos's `clear-stateful-firewall-statistics`).
#[must_use]
pub fn clear_request(interface: Option<&String>) -> Elem {
    let mut e = Elem::new("clear-stateful-firewall-statistics");
    if let Some(n) = interface {
        e.push(Elem::leaf("interface", n.as_str()));
    }
    e
}

/// One worker's figures now, per service set: new-flow figures, existing packets by
/// class, sessions closed, sessions live.
struct Now {
    figures: LocalStats,
    packets: Vec<[u64; 3]>,
    ended: Vec<u64>,
    active: Vec<u64>,
}

/// Reads worker `w`'s figures for service sets `sets` (a count walk per service set).
fn read_now(ctx: &Context, w: WorkerId, sets: &[u16]) -> Result<Now, String> {
    let figures = ctx.control.workers[w.index()].stats.snapshot();
    let books = ctx
        .control
        .books
        .lock()
        .map(|b| b.workers.get(w.index()).copied().unwrap_or_default())
        .unwrap_or_default();
    let mut now = Now {
        figures,
        packets: vec![[0; 3]; MAX_SS_FIGURES],
        ended: vec![0; MAX_SS_FIGURES],
        active: vec![0; MAX_SS_FIGURES],
    };
    for &ss in sets {
        let i = usize::from(ss);
        let closed = books.service_sets.0[i];
        now.ended[i] = closed.ended;
        now.packets[i] = closed.packets;
        let f = SessionFilter {
            service_set: Some(ss),
            worker: Some(w),
            ..SessionFilter::default()
        };
        let mut live = None;
        run_query(&ctx.control, f, QueryKind::Count, vec![w], |m| {
            if let Relay::End(_, c) = m {
                live = Some(c);
            }
            true
        })
        .map_err(|e| format!("error: {e}"))?;
        if let Some(c) = live {
            now.active[i] = c.matched;
            for (p, l) in now.packets[i].iter_mut().zip(c.packets) {
                *p += l;
            }
        }
    }
    Ok(now)
}

/// The service sets shown: the one asked for, else every one with figures.
fn sets_of(ctx: &Context, s: Option<&String>) -> Result<Vec<u16>, ResolveError> {
    let cfg = ctx.config();
    let n = cfg.service_sets.len().min(MAX_SS_FIGURES);
    match s {
        None => Ok((0..n).filter_map(|i| u16::try_from(i).ok()).collect()),
        Some(name) => cfg
            .service_set_index(name)
            .filter(|&i| usize::from(i) < MAX_SS_FIGURES)
            .map(|i| vec![i])
            .ok_or_else(|| ResolveError::ServiceSet(name.clone())),
    }
}

/// Runs the show.
///
/// # Errors
/// An interface or service set the configuration does not know; the client went away.
pub fn show(ctx: &Context, s: &ShowSfwStatistics, out: &mut Out<'_>) -> Outcome {
    let workers = ctx.member_workers(s.interface.as_ref()).map_err(message)?;
    let sets = sets_of(ctx, s.service_set.as_ref()).map_err(message)?;
    let cfg = ctx.config();
    let cleared = ctx
        .control
        .sfw_cleared
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default();
    let samples = ctx
        .control
        .runtime
        .lock()
        .map(|r| r.samples.clone())
        .unwrap_or_default();
    if let Out::Tree(t) = out {
        t.open(&Elem::new("service-sfw-statistics-information"))?;
    }
    let at = Instant::now();
    for w in workers {
        let now = read_now(ctx, w, &sets).map_err(message)?;
        let base = cleared.get(w.index()).cloned().flatten();
        // The interval: from the latest sample at least half a second old.
        let earlier = samples.get(w.index()).and_then(|pair| {
            pair.iter()
                .rev()
                .flatten()
                .find(|(t, _)| at.duration_since(*t).as_secs_f64() >= 0.5)
                .map(|(t, st)| (st.clone(), at.duration_since(*t).as_secs_f64()))
        });
        let iface = cfg.member_interface(w);
        match out {
            Out::Text(t) => sfw::interface(*t, &iface)?,
            Out::Tree(t) => {
                t.open(&Elem::new("sfw-interface"))?;
                t.elem(&Elem::leaf("interface-name", iface.as_str()))?;
            }
        }
        for &ss in &sets {
            let i = usize::from(ss);
            let fig = |f: SsFigure| {
                let b = base.as_ref().map_or(0, |b| b.figures[i][f as usize]);
                now.figures.ss(ss, f).saturating_sub(b)
            };
            let pkt = |k: usize| {
                let b = base.as_ref().map_or(0, |b| b.packets[i][k]);
                now.packets[i][k].saturating_sub(b)
            };
            let new_flows = |st: &LocalStats| {
                [
                    SsFigure::RuleAccepts,
                    SsFigure::RuleDiscards,
                    SsFigure::RuleRejects,
                    SsFigure::LimitBypassed,
                ]
                .iter()
                .map(|&f| st.ss(ss, f))
                .sum::<u64>()
            };
            let block = SfwBlock {
                service_set: cfg.service_sets[i].name.as_str(),
                rules: [
                    fig(SsFigure::RuleAccepts),
                    fig(SsFigure::RuleDiscards),
                    fig(SsFigure::RuleRejects),
                ],
                existing: [pkt(0), pkt(1), pkt(2)],
                drops: [
                    fig(SsFigure::LimitDrops),
                    fig(SsFigure::LimitBypassed),
                    fig(SsFigure::NatRefused),
                    fig(SsFigure::TcpSynCheckDrops),
                ],
                extensive: s.extensive.then(|| SfwExtensive {
                    active: now.active[i],
                    closed: now.ended[i].saturating_sub(base.as_ref().map_or(0, |b| b.ended[i])),
                    new_per_s: earlier.as_ref().map(|(st, secs)| {
                        let d = new_flows(&now.figures).saturating_sub(new_flows(st));
                        (d as f64 / secs, *secs)
                    }),
                }),
            };
            match out {
                Out::Text(t) => sfw::block(*t, &block)?,
                Out::Tree(t) => t.elem(&block.to_elem())?,
            }
        }
        if let Out::Tree(t) = out {
            t.close()?;
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}

/// Runs the clear: the figures of the interface's workers start again from zero.
///
/// # Errors
/// An interface the configuration does not know; the client went away.
pub fn clear(ctx: &Context, interface: Option<&String>, _out: &mut Out<'_>) -> Outcome {
    let workers = ctx.member_workers(interface).map_err(message)?;
    let all: Vec<u16> = (0..ctx.config().service_sets.len().min(MAX_SS_FIGURES))
        .filter_map(|i| u16::try_from(i).ok())
        .collect();
    for w in workers {
        let now = read_now(ctx, w, &all).map_err(message)?;
        let mut b = SfwBaseline {
            figures: Box::new(now.figures.service_sets),
            packets: Box::new([[0; 3]; MAX_SS_FIGURES]),
            ended: Box::new([0; MAX_SS_FIGURES]),
        };
        b.packets.copy_from_slice(&now.packets);
        b.ended.copy_from_slice(&now.ended);
        if let Ok(mut c) = ctx.control.sfw_cleared.lock() {
            if let Some(slot) = c.get_mut(w.index()) {
                *slot = Some(b);
            }
        }
    }
    // Junos answers this clear with nothing.
    Ok(())
}
