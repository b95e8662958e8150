//! `show services service-sets statistics packet-drops [interface I]` and its clear: per
//! member interface (worker) and service set, the packets dropped at a limit. svcard's one
//! such limit is the service set's session limit and setup rate (`[limits]`, `[service-set]
//! max-sessions`), counted by the worker once per refused new flow
//! ([`SsFigure::LimitDrops`]); CPU and memory limits do not exist here and read 0. RPCs
//! `get-service-set-packet-drop-statistics` and `clear-service-set-packet-drop-statistics`
//! (Juniper's JUNOS::Methods). Layout: [`crate::show::service_sets`].

use super::context::Context;
use super::grammar::{opt, Arg, CliError, OptSpec, Opts, Value};
use super::out::{message, Out, Outcome};
use crate::show::model::Elem;
use crate::show::service_sets::{header, PacketDrops};
use svcard_dataplane::stats::{SsFigure, MAX_SS_FIGURES};

/// Options of the show and the clear.
pub static OPTIONS: &[&[OptSpec]] = &[&[opt("interface", "Name of interface", Arg::Name, 0)]];

/// The interface option, if given.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build(opts: Opts) -> Result<Option<String>, CliError> {
    Ok(opts
        .into_iter()
        .find_map(|(spec, v, _)| match (spec.word, v) {
            ("interface", Value::Name(n)) => Some(n),
            _ => None,
        }))
}

fn with_interface(name: &'static str, interface: Option<&String>) -> Elem {
    let mut e = Elem::new(name);
    if let Some(i) = interface {
        e.push(Elem::leaf("interface", i.as_str()));
    }
    e
}

/// The show's request RPC.
#[must_use]
pub fn show_request(interface: Option<&String>) -> Elem {
    with_interface("get-service-set-packet-drop-statistics", interface)
}

/// The clear's request RPC.
#[must_use]
pub fn clear_request(interface: Option<&String>) -> Elem {
    with_interface("clear-service-set-packet-drop-statistics", interface)
}

/// Runs the show.
///
/// # Errors
/// An interface the configuration does not know; the client went away.
pub fn show(ctx: &Context, interface: Option<&String>, out: &mut Out<'_>) -> Outcome {
    let workers = ctx.member_workers(interface).map_err(message)?;
    let cfg = ctx.config();
    let cleared = ctx
        .control
        .ss_drops_cleared
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default();
    let sets = cfg.service_sets.len().min(MAX_SS_FIGURES);
    if let Out::Text(w) = out {
        header(*w)?;
    }
    for w in workers {
        let now = ctx.control.workers[w.index()].stats.snapshot();
        let base = cleared.get(w.index());
        for (i, set) in cfg.service_sets.iter().take(sets).enumerate() {
            let ss = u16::try_from(i).unwrap_or(u16::MAX);
            let b = base.and_then(|b| b.get(i)).copied().unwrap_or(0);
            let row = PacketDrops {
                interface: cfg.member_interface(w),
                service_set: set.name.clone(),
                cpu_limit: 0,
                memory_limit: 0,
                flow_limit: now.ss(ss, SsFigure::LimitDrops).saturating_sub(b),
            };
            match out {
                Out::Text(t) => row.row(*t)?,
                Out::Tree(t) => t.elem(&row.to_elem())?,
            }
        }
    }
    Ok(())
}

/// Runs the clear: the interface's figures start again from zero.
///
/// # Errors
/// An interface the configuration does not know; the client went away.
pub fn clear(ctx: &Context, interface: Option<&String>, _out: &mut Out<'_>) -> Outcome {
    let workers = ctx.member_workers(interface).map_err(message)?;
    let sets = ctx.config().service_sets.len().min(MAX_SS_FIGURES);
    for w in workers {
        let now = ctx.control.workers[w.index()].stats.snapshot();
        let base: Vec<u64> = (0..sets)
            .map(|i| now.ss(u16::try_from(i).unwrap_or(u16::MAX), SsFigure::LimitDrops))
            .collect();
        if let Ok(mut c) = ctx.control.ss_drops_cleared.lock() {
            if let Some(slot) = c.get_mut(w.index()) {
                *slot = base;
            }
        }
    }
    // Junos answers this clear with nothing.
    Ok(())
}
