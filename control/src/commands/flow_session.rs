//! `show security flow session` and `clear security flow session` (SRX): their options
//! (the flow selectors shared by both, [`FLOW_SELECTORS`]), the commands they make, their
//! request RPCs and their execution. Layouts: [`crate::show::text`], [`crate::show::model`].

use std::collections::HashMap;
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::QueryKind;
use svcard_dataplane::session::Action;
use svcard_dataplane::stats::{Counter, Gauge};

use super::context::{state_of, Context};
use super::grammar::{opt, syntax, Arg, CliError, OptSpec, Opts};
use super::out::{message, Failure, Out, Outcome};
use super::selectors::{filter_leaves, selector, FlowSessionFilter, FLOW_SELECTORS};
use crate::central::{run_query, Relay};
use crate::show::model::{
    Elem, FlowSession, ResourceInfo, SessionCounts, SessionExtra, SessionsSummary,
};
use crate::show::tree::family_ns;
use crate::show::{FlowSessionText, Level};

/// `show security flow session …`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShowFlowSession {
    /// Detail level.
    pub level: Level,
    /// `resource-manager`: only sessions the resource manager created, in its layout.
    pub resource_manager: bool,
    /// Which sessions.
    pub filter: FlowSessionFilter,
}

/// Which summary layout a `summary` command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryForm {
    /// The counts of the selected sessions (Valid / Pending / Invalidated / other / Total):
    /// resource-manager or filtered summaries.
    Counts,
    /// The all-sessions summary (Unicast-sessions … Maximum-sessions).
    Full,
}

impl ShowFlowSession {
    /// The summary layout this command prints at level `summary`.
    #[must_use]
    pub fn summary_form(&self) -> SummaryForm {
        if self.resource_manager || !self.filter.is_all() {
            SummaryForm::Counts
        } else {
            SummaryForm::Full
        }
    }
}

/// `clear security flow session …`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClearFlowSession {
    /// `all`: every session (no selector may be given with it).
    pub all: bool,
    /// `resource-manager`: only sessions the resource manager governs.
    pub resource_manager: bool,
    /// Which sessions.
    pub filter: FlowSessionFilter,
}

/// The options of `show security flow session`.
pub static SHOW_OPTIONS: &[&[OptSpec]] = &[
    FLOW_SELECTORS,
    &[
        opt("brief", "Display brief output (default)", Arg::Flag, 1),
        opt("extensive", "Display extensive output", Arg::Flag, 1),
        opt(
            "resource-manager",
            "Show resource manager sessions",
            Arg::Flag,
            0,
        ),
        opt(
            "session-identifier",
            "Show session with specified session identifier",
            Arg::SessionId,
            0,
        ),
        opt("summary", "Display output summary", Arg::Flag, 1),
    ],
];

/// The options of `clear security flow session`.
pub static CLEAR_OPTIONS: &[&[OptSpec]] = &[
    FLOW_SELECTORS,
    &[
        opt("all", "Clear all sessions", Arg::Flag, 0),
        opt(
            "resource-manager",
            "Clear resource manager sessions",
            Arg::Flag,
            0,
        ),
        opt(
            "session-identifier",
            "Clear session with specified session identifier",
            Arg::SessionId,
            0,
        ),
    ],
];

/// `show security flow session` from its options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build_show(opts: Opts) -> Result<ShowFlowSession, CliError> {
    let mut c = ShowFlowSession::default();
    for (spec, v, _) in opts {
        match spec.word {
            "brief" => c.level = Level::Brief,
            "extensive" => c.level = Level::Extensive,
            "summary" => c.level = Level::Summary,
            "resource-manager" => c.resource_manager = true,
            w => {
                selector(&mut c.filter, w, v);
            }
        }
    }
    Ok(c)
}

/// `clear security flow session` from its options.
///
/// # Errors
/// `all` beside a selector (which it would make meaningless).
pub fn build_clear(opts: Opts) -> Result<ClearFlowSession, CliError> {
    let mut c = ClearFlowSession::default();
    let mut all_at = None;
    let mut first_selector = None;
    for (spec, v, at) in opts {
        match spec.word {
            "all" => {
                c.all = true;
                all_at = Some(at);
            }
            "resource-manager" => {
                c.resource_manager = true;
                first_selector.get_or_insert(at);
            }
            w => {
                selector(&mut c.filter, w, v);
                first_selector.get_or_insert(at);
            }
        }
    }
    // `all` clears everything: a selector beside it would be ignored.
    if let (Some(a), Some(f)) = (all_at, first_selector) {
        return Err(syntax(a.max(f), "<command>"));
    }
    Ok(c)
}

/// The request RPC of `show security flow session` (by identifier when only an identifier
/// is given).
#[must_use]
pub fn show_request(s: &ShowFlowSession) -> Elem {
    let only_id = s.filter.session_id.is_some()
        && FlowSessionFilter {
            session_id: None,
            ..s.filter.clone()
        }
        .is_all()
        && !s.resource_manager;
    let mut e = Elem::new(if only_id {
        "get-flow-session-by-identifier"
    } else {
        "get-flow-session-information"
    });
    filter_leaves(&mut e, &s.filter);
    if s.resource_manager {
        e.push(Elem::new("resource-manager"));
    }
    if let Some(k) = s.level.keyword() {
        e.push(Elem::new(k));
    }
    e
}

/// The request RPC of `clear security flow session`.
#[must_use]
pub fn clear_request(c: &ClearFlowSession) -> Elem {
    if c.all {
        return Elem::new("clear-flow-session-all");
    }
    let mut e = Elem::new("clear-flow-session");
    filter_leaves(&mut e, &c.filter);
    if c.resource_manager {
        e.push(Elem::new("resource-manager"));
    }
    e
}

/// The resource manager's records by session ID (ALG name, group, resource): a snapshot, so
/// no lock is held while the reply streams.
fn resource_records(ctx: &Context) -> HashMap<u32, (String, u32, u32)> {
    let mut m = HashMap::new();
    if let Ok(book) = ctx.control.conversations.lock() {
        for a in &book.algs {
            for c in &a.conversations {
                if let Some(p) = &c.parent {
                    m.insert(p.id, (a.name.clone(), c.group_id, 0));
                }
                for r in &c.resources {
                    for s in &r.sessions {
                        m.insert(s.id, (a.name.clone(), c.group_id, r.id));
                    }
                }
            }
        }
    }
    m
}

fn flow_ns_root(name: &'static str) -> Elem {
    Elem::new(name).attr("xmlns", family_ns("junos-flow"))
}

/// Runs `show security flow session`.
///
/// # Errors
/// A name the configuration does not know; the client went away.
pub fn show(ctx: &Context, s: &ShowFlowSession, out: &mut Out<'_>) -> Outcome {
    let names = ctx.names();
    let filter = s.filter.resolve(&*ctx.names()).map_err(message)?;
    let mut r = FlowSessionText::new(s.level, s.resource_manager);
    let workers = ctx.workers(&filter);
    if s.level == Level::Summary && s.summary_form() == SummaryForm::Full {
        for &wk in &workers {
            let st = ctx.control.workers[wk.index()].stats.snapshot();
            let summary = SessionsSummary {
                unicast: st.gauge(Gauge::Sessions),
                multicast: 0,
                services_offload: st.gauge(Gauge::Offloaded),
                failed: st.get(Counter::SessionsFailed),
                drop_flow: st.gauge(Gauge::DropFlow),
                in_use: st.gauge(Gauge::Sessions),
                valid: st.gauge(Gauge::Valid),
                pending: st.gauge(Gauge::Pending),
                invalidated: st.gauge(Gauge::Invalidated),
                other: st.gauge(Gauge::Other),
                maximum: st.gauge(Gauge::Capacity),
            };
            match out {
                Out::Text(w) => {
                    r.begin_section(*w, ctx.section(wk))?;
                    r.summary(*w, &summary)?;
                }
                Out::Tree(t) => {
                    let mut e = summary.to_elem().attr("xmlns", family_ns("junos-flow"));
                    e.children.insert(0, ctx.section(wk).to_elem());
                    t.elem(&e)?;
                }
            }
        }
        return Ok(());
    }
    let records = if s.resource_manager {
        resource_records(ctx)
    } else {
        HashMap::new()
    };
    let kind = if s.level == Level::Summary && !s.resource_manager {
        QueryKind::Count
    } else {
        QueryKind::Records { limit: u64::MAX }
    };
    let mut failed: Option<Failure> = None;
    let mut shown = SessionCounts::default();
    run_query(&ctx.control, filter, kind, workers, |m| {
        let res: std::fmt::Result = (|| match m {
            Relay::Begin(wk) => {
                shown = SessionCounts::default();
                match out {
                    Out::Text(w) => r.begin_section(*w, ctx.section(wk)),
                    Out::Tree(t) => {
                        t.open(&flow_ns_root("flow-session-information"))?;
                        t.elem(&ctx.section(wk).to_elem())
                    }
                }
            }
            Relay::Session(v, cp) => {
                let rec = records.get(&v.id);
                if s.resource_manager && v.action != Action::Watch && rec.is_none() {
                    return Ok(());
                }
                let state = state_of(&v);
                shown.add(state);
                if s.level == Level::Summary {
                    return Ok(());
                }
                let extra = SessionExtra {
                    cp_session_id: cp,
                    resource: rec.map(|(n, g, res)| ResourceInfo {
                        client: n.as_str(),
                        group: *g,
                        resource: *res,
                    }),
                    state: Some(state),
                };
                let fs = FlowSession::from_view(&v, &*names, extra);
                match out {
                    Out::Text(w) => r.session(*w, &fs),
                    Out::Tree(t) => t.elem(&fs.to_elem(s.level, s.resource_manager)),
                }
            }
            Relay::End(_, c) => {
                let counts = if s.level == Level::Summary && !s.resource_manager {
                    SessionCounts::from(c)
                } else {
                    shown
                };
                match out {
                    Out::Text(w) if s.level == Level::Summary => r.counts(*w, &counts),
                    Out::Text(w) => r.end_section(*w, counts.total),
                    Out::Tree(t) => {
                        if s.level == Level::Summary {
                            for e in counts.to_elems() {
                                t.elem(&e)?;
                            }
                        } else {
                            t.elem(&Elem::leaf("displayed-session-count", counts.total))?;
                        }
                        t.close()
                    }
                }
            }
        })();
        if res.is_err() {
            failed = Some(Failure::Gone);
            return false;
        }
        true
    })
    .map_err(|e| message(format!("error: {e}")))?;
    failed.map_or(Ok(()), Err)
}

/// Runs `clear security flow session`.
///
/// # Errors
/// A name the configuration does not know; the client went away.
pub fn clear(ctx: &Context, c: &ClearFlowSession, out: &mut Out<'_>) -> Outcome {
    let filter = if c.all {
        SessionFilter::default()
    } else {
        c.filter.resolve(&*ctx.names()).map_err(message)?
    };
    let workers = ctx.workers(&filter);
    let mut cleared: Vec<u64> = vec![0; ctx.control.workers.len()];
    if c.resource_manager {
        // Only the sessions the resource manager governs: find them, clear each.
        let records = resource_records(ctx);
        let mut ids = Vec::new();
        run_query(
            &ctx.control,
            filter,
            QueryKind::Records { limit: u64::MAX },
            workers.clone(),
            |m| {
                if let Relay::Session(v, _) = m {
                    if v.action == Action::Watch || records.contains_key(&v.id) {
                        ids.push(v.id);
                    }
                }
                true
            },
        )
        .map_err(|e| message(format!("error: {e}")))?;
        for id in ids {
            let f = SessionFilter {
                session_id: Some(id),
                ..filter
            };
            for (w, n) in ctx.clear(f)? {
                cleared[w.index()] += n;
            }
        }
    } else {
        for (w, n) in ctx.clear(filter)? {
            cleared[w.index()] += n;
        }
    }
    for (i, &wk) in workers.iter().enumerate() {
        let n = cleared[wk.index()];
        match out {
            Out::Text(w) => {
                if i > 0 {
                    writeln!(w)?;
                }
                writeln!(w, "Flow Sessions on {}:", ctx.section(wk))?;
                writeln!(w, "{n} active sessions cleared")?;
            }
            Out::Tree(t) => {
                let mut e = flow_ns_root("clear-flow-session-information");
                e.push(ctx.section(wk).to_elem());
                e.push(Elem::leaf("active-sessions-cleared", n));
                t.elem(&e)?;
            }
        }
    }
    Ok(())
}
