//! `show security resource-manager summary`, `… group active [group-number N]` and
//! `… resource active [resource-number N]`: the resource manager's books (its groups are
//! the ALG conversations, its resources their pinholes and the child sessions those let
//! in), read from the book the gateway publishes. RPCs `get-resource-manager-summary`,
//! `get-resmgr-group-active`, `get-resmgr-resource-active` (Juniper's JUNOS::Methods).
//! Layout: [`crate::show::resmgr`].

use super::context::Context;
use super::grammar::{opt, Arg, CliError, OptSpec, Opts, Value};
use super::out::{Out, Outcome};
use crate::show::model::Elem;
use crate::show::resmgr::{RmGroup, RmGroups, RmResource, RmResources, RmSummary};
use svcard_config::AlgKind;
use svcard_dataplane::stats::Gauge;

/// A resource-manager view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RmView {
    /// `summary`.
    Summary,
    /// `group active [group-number N]`.
    Groups(Option<u32>),
    /// `resource active [resource-number N]`.
    Resources(Option<u32>),
}

/// Options of `group active`.
pub static GROUP_OPTIONS: &[&[OptSpec]] = &[&[opt(
    "group-number",
    "Group number",
    Arg::Number(1, u32::MAX as u64),
    0,
)]];

/// Options of `resource active`.
pub static RESOURCE_OPTIONS: &[&[OptSpec]] = &[&[opt(
    "resource-number",
    "Resource number",
    Arg::Number(1, u32::MAX as u64),
    0,
)]];

fn number(opts: Opts) -> Option<u32> {
    opts.into_iter().find_map(|(_, v, _)| match v {
        Value::Number(n) => u32::try_from(n).ok(),
        _ => None,
    })
}

/// `group active` from its options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build_groups(opts: Opts) -> Result<RmView, CliError> {
    Ok(RmView::Groups(number(opts)))
}

/// `resource active` from its options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build_resources(opts: Opts) -> Result<RmView, CliError> {
    Ok(RmView::Resources(number(opts)))
}

/// The request RPC.
#[must_use]
pub fn request(v: RmView) -> Elem {
    match v {
        RmView::Summary => Elem::new("get-resource-manager-summary"),
        RmView::Groups(n) => {
            let mut e = Elem::new("get-resmgr-group-active");
            if let Some(n) = n {
                e.push(Elem::leaf("group-number", n));
            }
            e
        }
        RmView::Resources(n) => {
            let mut e = Elem::new("get-resmgr-resource-active");
            if let Some(n) = n {
                e.push(Elem::leaf("resource-number", n));
            }
            e
        }
    }
}

/// The books read once: the summary, every group and every resource.
fn read(ctx: &Context) -> (RmSummary, Vec<RmGroup>, Vec<RmResource>) {
    let mut s = RmSummary::default();
    let mut groups = Vec::new();
    let mut resources = Vec::new();
    let Ok(book) = ctx.control.conversations.lock() else {
        return (s, groups, resources);
    };
    let mut clients: Vec<AlgKind> = Vec::new();
    for a in &book.algs {
        if !a.conversations.is_empty() && !clients.contains(&a.alg) {
            clients.push(a.alg);
        }
        for c in &a.conversations {
            groups.push(RmGroup {
                group: c.group_id,
                client: a.name.clone(),
            });
            s.sessions += u64::from(c.parent.is_some());
            for r in &c.resources {
                resources.push(RmResource {
                    resource: r.id,
                    group: c.group_id,
                    client: a.name.clone(),
                });
                s.sessions += r.sessions.len() as u64;
            }
        }
    }
    drop(book);
    groups.sort_by_key(|g| g.group);
    resources.sort_by_key(|r| r.resource);
    s.clients = clients.len() as u64;
    s.groups = groups.len() as u64;
    s.resources = resources.len() as u64;
    (s, groups, resources)
}

/// The most groups there can be: each needs a parent session, so the card's session
/// capacity, or less when every running ALG caps its conversations.
fn group_capacity(ctx: &Context) -> u64 {
    let sessions: u64 = ctx
        .control
        .workers
        .iter()
        .map(|w| w.stats.snapshot().gauge(Gauge::Capacity))
        .sum();
    let config = ctx.config();
    let caps: Option<u64> = AlgKind::ENGINES
        .iter()
        .filter(|&&k| config.algs[k].enabled)
        .map(|&k| config.algs[k].max_conversations.map(u64::from))
        .sum();
    caps.map_or(sessions, |c| c.min(sessions))
}

/// Runs the command.
///
/// # Errors
/// The client went away.
pub fn show(ctx: &Context, v: RmView, out: &mut Out<'_>) -> Outcome {
    let (summary, groups, resources) = read(ctx);
    match v {
        RmView::Summary => match out {
            Out::Text(w) => summary.text(*w)?,
            Out::Tree(t) => t.elem(&summary.to_elem())?,
        },
        RmView::Groups(n) => {
            let g = RmGroups {
                active: groups.len() as u64,
                groups: groups
                    .into_iter()
                    .filter(|g| n.is_none_or(|n| n == g.group))
                    .collect(),
                total: group_capacity(ctx),
            };
            match out {
                Out::Text(w) => g.text(*w)?,
                Out::Tree(t) => t.elem(&g.to_elem())?,
            }
        }
        RmView::Resources(n) => {
            let capacity = ctx
                .control
                .alg_statistics
                .lock()
                .map_or(0, |s| s.pinhole_capacity);
            let r = RmResources {
                active: resources.len() as u64,
                resources: resources
                    .into_iter()
                    .filter(|r| n.is_none_or(|n| n == r.resource))
                    .collect(),
                total: u64::from(capacity),
            };
            match out {
                Out::Text(w) => r.text(*w)?,
                Out::Tree(t) => t.elem(&r.to_elem())?,
            }
        }
    }
    Ok(())
}
