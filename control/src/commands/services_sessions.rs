//! `show services sessions` and `clear services sessions` (MS-MPC, AMS): their options
//! (the services selectors shared by both, [`SERVICES_SELECTORS`]), the commands they make,
//! their request RPCs and their execution. Layouts: [`crate::show::services`].

use std::collections::HashMap;
use std::fmt::Write as _;
use svcard_config::{AlgKind, Config, WorkerId, NONE};
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::QueryKind;
use svcard_dataplane::session::{bits, SessionView};
use svcard_dataplane::stats::Gauge;

use super::context::{state_of, ConfigNames, Context};
use super::grammar::{opt, Arg, CliError, OptSpec, Opts, Value};
use super::out::{message, Failure, Out, Outcome};
use super::selectors::{
    filter_leaves, selector, FlowSessionFilter, ResolveError, SERVICES_SELECTORS,
};
use crate::central::{run_query, Relay};
use crate::show::model::{Elem, FlowSession, SessionCounts, SessionExtra};
use crate::show::names::Names;
use crate::show::services::{
    count_line, drain_line, utilization_line, CountRow, DrainRow, MspSession, NatInfo, OffloadInfo,
    ServicesLevel, ServicesText, UtilizationRow, COUNT_HEADER, DRAIN_HEADER, UTILIZATION_HEADER,
};

/// `show services sessions …`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShowServicesSessions {
    /// Detail level.
    pub level: ServicesLevel,
    /// `count`: per interface and service set, the session counts by state.
    pub count: bool,
    /// `utilization`: per interface, sessions against capacity.
    pub utilization: bool,
    /// `limit N`: at most N sessions.
    pub limit: Option<u64>,
    /// Which sessions.
    pub filter: FlowSessionFilter,
}

/// Most sessions `limit` takes.
pub const LIMIT_MAX: u64 = u32::MAX as u64;

/// The options of `show services sessions`.
pub static SHOW_OPTIONS: &[&[OptSpec]] = &[
    SERVICES_SELECTORS,
    &[
        opt("brief", "Display brief output", Arg::Flag, 1),
        opt("count", "Display count of matching entries", Arg::Flag, 2),
        opt("extensive", "Display extensive output", Arg::Flag, 1),
        opt(
            "limit",
            "Maximum number of entries to display",
            Arg::Number(1, LIMIT_MAX),
            0,
        ),
        opt("terse", "Display terse output", Arg::Flag, 1),
        opt(
            "utilization",
            "Display session utilization statistics",
            Arg::Flag,
            2,
        ),
    ],
];

/// The options of `clear services sessions`: the selectors alone.
pub static CLEAR_OPTIONS: &[&[OptSpec]] = &[SERVICES_SELECTORS];

/// `show services sessions` from its options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build_show(opts: Opts) -> Result<ShowServicesSessions, CliError> {
    let mut c = ShowServicesSessions::default();
    for (spec, v, _) in opts {
        match (spec.word, v) {
            ("brief", _) => c.level = ServicesLevel::Brief,
            ("extensive", _) => c.level = ServicesLevel::Extensive,
            ("terse", _) => c.level = ServicesLevel::Terse,
            ("count", _) => c.count = true,
            ("utilization", _) => c.utilization = true,
            ("limit", Value::Number(n)) => c.limit = Some(n),
            (w, v) => {
                selector(&mut c.filter, w, v);
            }
        }
    }
    Ok(c)
}

/// `clear services sessions` from its options.
///
/// # Errors
/// None today (the grammar checked the options).
pub fn build_clear(opts: Opts) -> Result<FlowSessionFilter, CliError> {
    let mut f = FlowSessionFilter::default();
    for (spec, v, _) in opts {
        selector(&mut f, spec.word, v);
    }
    Ok(f)
}

/// The request RPC of `show services sessions`.
#[must_use]
pub fn show_request(s: &ShowServicesSessions) -> Elem {
    let mut e = Elem::new("get-msp-session-table");
    filter_leaves(&mut e, &s.filter);
    if let Some(n) = s.limit {
        e.push(Elem::leaf("limit", n));
    }
    if let Some(k) = s.level.keyword() {
        e.push(Elem::new(k));
    }
    if s.count {
        e.push(Elem::new("count"));
    }
    if s.utilization {
        e.push(Elem::new("utilization"));
    }
    e
}

/// The request RPC of `clear services sessions`.
#[must_use]
pub fn clear_request(f: &FlowSessionFilter) -> Elem {
    let mut e = Elem::new("clear-service-msp-sessions");
    filter_leaves(&mut e, f);
    e
}

// ---------------------------------------------------------------------------------------
// Selection: what the workers select, and what the control core keeps.

/// What an `application-protocol` selects: applications (indices; `u16::MAX` stands for
/// sessions without one), and an IP protocol the sessions must have.
struct AppSelection {
    applications: Vec<u16>,
    protocol: Option<u8>,
}

/// The applications an `application-protocol` selects:
/// * an ALG's name: the applications whose ALG it is (enabled); `sqlnet` is `sql`, and the
///   services' names of the r-commands' ports (`shell` 514, as `/etc/services` calls it)
///   are their ALGs';
/// * `icmp` and `icmpv6`: the ICMP ALG's applications of that family;
/// * `rpc`: the Sun RPC ALG's, and the RPC program flows it opens (`junos-sun-rpc`);
/// * protocols without an ALG here (`snmp`, `bootp`): the catalogue's applications of that
///   protocol;
/// * `none`: no enabled ALG (including sessions without an application); `ip`, `tcp`,
///   `udp` (the AMS view's generic protocols): the same, of that IP protocol.
fn applications_of(config: &Config, proto: &str) -> AppSelection {
    const ICMP: u8 = 1;
    const ICMP6: u8 = 58;
    let proto = match proto {
        "sqlnet" => "sql",
        "shell" => "rsh",
        p => p,
    };
    let n = u16::try_from(config.applications.len()).unwrap_or(u16::MAX);
    let app = |a: u16| &config.applications[usize::from(a)];
    let generic = |ip: Option<u8>| {
        let mut v: Vec<u16> = (0..n)
            .filter(|&a| config.alg_enabled(a).is_none())
            .collect();
        v.push(u16::MAX);
        AppSelection {
            applications: v,
            protocol: ip,
        }
    };
    let named = |f: &dyn Fn(u16) -> bool| AppSelection {
        applications: (0..n).filter(|&a| f(a)).collect(),
        protocol: None,
    };
    match proto {
        "none" | "ip" => generic(None),
        "tcp" => generic(Some(6)),
        "udp" => generic(Some(17)),
        "icmp" | "icmpv6" => {
            let family = if proto == "icmp" { ICMP } else { ICMP6 };
            named(&|a| config.alg_enabled(a) == Some(AlgKind::Icmp) && app(a).protocol == family)
        }
        "rpc" => named(&|a| {
            config.alg_enabled(a) == Some(AlgKind::Rpc) || app(a).name == "junos-sun-rpc"
        }),
        "snmp" => named(&|a| app(a).name.starts_with("junos-snmp")),
        "bootp" => named(&|a| app(a).name == "junos-bootps"),
        p => named(&|a| config.alg_enabled(a).is_some_and(|k| k.junos_name() == p)),
    }
}

/// The ALG a session runs (its application's enabled ALG), as `ALG:` prints it.
fn alg_of(config: &Config, application: u16) -> Option<AlgKind> {
    if application == u16::MAX {
        return None;
    }
    config.alg_enabled(application)
}

/// A services-view selection: the workers' filter, and the applications the control core
/// keeps (`None`: all).
struct Selection {
    filter: SessionFilter,
    applications: Option<Vec<u16>>,
    /// Said before the answer (text): why an `application-protocol` selects nothing.
    note: Option<String>,
}

impl Selection {
    /// Writes the selection's note first (text only: XML and JSON stay the reply alone).
    fn say_note(&self, out: &mut Out<'_>) -> std::fmt::Result {
        match (&self.note, out) {
            (Some(n), Out::Text(w)) => writeln!(w, "{n}"),
            _ => Ok(()),
        }
    }

    fn keeps(&self, v: &SessionView) -> bool {
        self.applications
            .as_ref()
            .is_none_or(|a| a.contains(&v.application))
    }
    /// True when the workers' filter alone selects (one application or none).
    fn worker_side(&mut self) -> bool {
        match self.applications.as_deref() {
            None => true,
            Some([a]) => {
                self.filter.application = Some(*a);
                self.applications = None;
                true
            }
            Some(_) => false,
        }
    }
}

fn select(ctx: &Context, f: &FlowSessionFilter) -> Result<Selection, Failure> {
    let base = FlowSessionFilter {
        interface: None,
        service_set: None,
        application_protocol: None,
        ..f.clone()
    };
    let mut filter = base.resolve(&*ctx.names()).map_err(message)?;
    if let Some(i) = &f.interface {
        if *i != ctx.config().card.bundle {
            let n = ctx.control.workers.len();
            if let Some(w) = WorkerId::all(n).find(|&w| ctx.config().member_interface(w) == *i) {
                filter.worker = Some(w);
            } else if let Some(p) = ctx.names().port_index(i) {
                filter.port = Some(p);
            } else if let Some((p, v)) = ctx.names().unit_index(i) {
                filter.port = Some(p);
                filter.vlan = Some(v);
            } else {
                return Err(message(ResolveError::Interface(i.clone())));
            }
        }
    }
    if let Some(s) = &f.service_set {
        filter.service_set = Some(
            ctx.config()
                .service_set_index(s)
                .ok_or_else(|| message(ResolveError::ServiceSet(s.clone())))?,
        );
    }
    let mut note = None;
    let applications = match f.application_protocol {
        None => None,
        Some(p) => {
            let sel = applications_of(&ctx.config(), p);
            if sel.applications.is_empty() {
                note = Some(format!(
                    "warning: no application of the configuration has application-protocol '{p}': no session is selected"
                ));
            }
            match (sel.protocol, filter.protocol) {
                (Some(want), Some(given)) if want != given => Some(Vec::new()),
                (Some(want), _) => {
                    filter.protocol = Some(want);
                    Some(sel.applications)
                }
                (None, _) => Some(sel.applications),
            }
        }
    };
    Ok(Selection {
        filter,
        applications,
        note,
    })
}

fn service_set_name(names: &ConfigNames, ss: u16) -> &str {
    names
        .service_set_name(ss)
        .unwrap_or(crate::show::model::UNKNOWN_NAME)
}

/// The service sets a count or clear goes through: the one selected, else all and then
/// none ([`NONE`]: the sessions of ports in no service set, shown as `Service Set: N/A`,
/// which a count counts and a clear clears like any other).
fn service_sets(ctx: &Context, filter: &SessionFilter) -> Vec<u16> {
    match filter.service_set {
        Some(s) => vec![s],
        None => (0..u16::try_from(ctx.config().service_sets.len()).unwrap_or(NONE))
            .chain(core::iter::once(NONE))
            .collect(),
    }
}

fn msp_session<'a>(ctx: &Context, names: &'a ConfigNames, v: &SessionView) -> MspSession<'a> {
    use svcard_dataplane::offload::{FailReason, OffloadState};
    let fs = FlowSession::from_view(v, names, SessionExtra::default());
    let o = &v.offload;
    let offload_info = (o.state != OffloadState::None).then(|| OffloadInfo {
        state: o.state.name(),
        reason: (o.state == OffloadState::Failed && o.reason != FailReason::None)
            .then(|| o.reason.name()),
        partial: o.partial,
        backend: ctx.offload_backend(),
        rule: o.rule,
        frames: o.hw_packets,
        bytes: o.hw_bytes,
    });
    let mut m = MspSession::from_flow_session(
        &fs,
        service_set_name(names, v.service_set),
        alg_of(&ctx.config(), v.application).map_or("none", AlgKind::junos_name),
        v.action.junos_name(),
        u32::from(v.junos_flags),
        v.bits & bits::OFFLOAD != 0,
        v.bits & bits::ASYMMETRIC != 0,
    );
    m.offload_info = offload_info;
    m.nat_info = v.nat.map(|n| {
        let cfg = ctx.config();
        let translation = cfg
            .nat
            .rules
            .iter()
            .find(|r| r.pool == n.pool)
            .map_or("NAPT-44", |r| r.translation.junos_label());
        let (which, from, to) = if n.inbound {
            ("destination", n.public, n.private)
        } else {
            ("source", n.private, n.public)
        };
        NatInfo {
            translation,
            which,
            from: (from.addr, from.port),
            to: (to.addr, to.port),
        }
    });
    m
}

/// Runs `show services sessions`.
///
/// # Errors
/// A name the configuration does not know; the client went away.
pub fn show(ctx: &Context, s: &ShowServicesSessions, out: &mut Out<'_>) -> Outcome {
    let names = ctx.names();
    let mut sel = select(ctx, &s.filter)?;
    sel.say_note(out)?;
    if s.count {
        return services_count(ctx, sel, out);
    }
    if s.utilization {
        return services_utilization(ctx, sel, out);
    }
    let workers = ctx.workers(&sel.filter);
    let limit = s.limit.unwrap_or(u64::MAX);
    let kind = QueryKind::Records {
        limit: if sel.worker_side() { limit } else { u64::MAX },
    };
    let text = ServicesText { level: s.level };
    let style = s.level.style();
    if let Out::Tree(t) = out {
        t.open(&Elem::new("msp-session-table").attr("junos:style", style))?;
    }
    let mut shown = 0u64;
    let mut failed: Option<Failure> = None;
    // A member interface's header is written with its first session shown: a member with
    // none shown (none selected, or the limit reached before it) prints nothing.
    let mut waiting: Option<WorkerId> = None;
    let mut opened = false;
    run_query(&ctx.control, sel.filter, kind, workers, |m| {
        let res: std::fmt::Result = (|| match m {
            Relay::Begin(wk) => {
                waiting = Some(wk);
                opened = false;
                Ok(())
            }
            Relay::Session(v, _) => {
                if !sel.keeps(&v) || shown >= limit {
                    return Ok(());
                }
                shown += 1;
                if let Some(wk) = waiting.take() {
                    let name = ctx.config().member_interface(wk);
                    opened = true;
                    match out {
                        Out::Text(w) => text.interface(*w, &name)?,
                        Out::Tree(t) => {
                            t.open(&Elem::new("msp-session-interface"))?;
                            t.elem(&Elem::leaf("interface-name", name))?;
                        }
                    }
                }
                let ms = msp_session(ctx, &names, &v);
                match out {
                    Out::Text(w) => text.session(*w, &ms),
                    Out::Tree(t) => t.elem(&ms.to_elem(s.level)),
                }
            }
            Relay::End(..) => {
                waiting = None;
                match out {
                    Out::Tree(t) if core::mem::take(&mut opened) => t.close(),
                    _ => Ok(()),
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
    if let Some(f) = failed {
        return Err(f);
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}

/// Per (worker, service set) counts of the selected sessions: from the gauges when nothing
/// is selected and one service set holds every port (O(workers)), else by count queries per
/// service set, else (application protocols the workers cannot select) by records.
fn services_count(ctx: &Context, mut sel: Selection, out: &mut Out<'_>) -> Outcome {
    let names = ctx.names();
    let n = ctx.control.workers.len();
    let nss = ctx.config().service_sets.len();
    let mut rows: Vec<(WorkerId, u16, SessionCounts)> = Vec::new();
    let one_set =
        nss == 1 && (0..ctx.config().ports.len()).all(|p| ctx.config().port_service_set(p) == 0);
    if sel.filter.is_all() && sel.applications.is_none() && one_set {
        for w in WorkerId::all(n) {
            let st = ctx.control.workers[w.index()].stats.snapshot();
            rows.push((
                w,
                0,
                SessionCounts {
                    valid: st.gauge(Gauge::Valid),
                    pending: st.gauge(Gauge::Pending),
                    invalidated: st.gauge(Gauge::Invalidated),
                    other: st.gauge(Gauge::Other),
                    total: st.gauge(Gauge::Sessions),
                },
            ));
        }
    } else if sel.worker_side() {
        for ss in service_sets(ctx, &sel.filter) {
            let f = SessionFilter {
                service_set: Some(ss),
                ..sel.filter
            };
            run_query(&ctx.control, f, QueryKind::Count, ctx.workers(&f), |m| {
                if let Relay::End(w, c) = m {
                    rows.push((w, ss, SessionCounts::from(c)));
                }
                true
            })
            .map_err(|e| message(format!("error: {e}")))?;
        }
        rows.sort_by_key(|(w, ss, _)| (*w, *ss));
    } else {
        let mut m: std::collections::BTreeMap<(WorkerId, u16), SessionCounts> = Default::default();
        run_query(
            &ctx.control,
            sel.filter,
            QueryKind::Records { limit: u64::MAX },
            ctx.workers(&sel.filter),
            |r| {
                if let Relay::Session(v, _) = r {
                    if sel.keeps(&v) {
                        m.entry((v.worker, v.service_set))
                            .or_default()
                            .add(state_of(&v));
                    }
                }
                true
            },
        )
        .map_err(|e| message(format!("error: {e}")))?;
        rows = m.into_iter().map(|((w, ss), c)| (w, ss, c)).collect();
    }
    if let Out::Text(w) = out {
        writeln!(w, "{COUNT_HEADER}")?;
    } else if let Out::Tree(t) = out {
        t.open(&Elem::new("service-msp-sess-count-information"))?;
    }
    for (w, ss, c) in rows {
        // Individual empty service sets are not displayed.
        if c.total == 0 {
            continue;
        }
        let iface = ctx.config().member_interface(w);
        let row = CountRow {
            interface: &iface,
            service_set: service_set_name(&names, ss),
            valid: c.valid,
            invalid: c.invalidated,
            pending: c.pending,
            other: c.total.saturating_sub(c.valid + c.invalidated + c.pending),
        };
        match out {
            Out::Text(w) => count_line(*w, &row)?,
            Out::Tree(t) => t.elem(&row.to_elem())?,
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}

/// Per member interface, the selected sessions against its capacity: the sessions in use
/// when nothing but an interface is selected (the gauges), else those the filters select
/// (counted by the workers, or by records for several application protocols).
fn services_utilization(ctx: &Context, mut sel: Selection, out: &mut Out<'_>) -> Outcome {
    let workers = ctx.workers(&sel.filter);
    let only_members = SessionFilter {
        port: None,
        worker: None,
        ..sel.filter
    }
    .is_all();
    let use_gauges = only_members && sel.applications.is_none();
    let mut selected: HashMap<WorkerId, u64> = HashMap::new();
    if !use_gauges {
        let kind = if sel.worker_side() {
            QueryKind::Count
        } else {
            QueryKind::Records { limit: u64::MAX }
        };
        run_query(&ctx.control, sel.filter, kind, workers.clone(), |m| {
            match m {
                Relay::End(w, c) if kind == QueryKind::Count => {
                    selected.insert(w, c.matched);
                }
                Relay::Session(v, _) if sel.keeps(&v) => {
                    *selected.entry(v.worker).or_default() += 1;
                }
                _ => {}
            }
            true
        })
        .map_err(|e| message(format!("error: {e}")))?;
    }
    match out {
        Out::Text(w) => writeln!(w, "{UTILIZATION_HEADER}")?,
        Out::Tree(t) => t.open(&Elem::new("service-msp-sess-utilization-information"))?,
    }
    for wk in workers {
        let st = ctx.control.workers[wk.index()].stats.snapshot();
        let iface = ctx.config().member_interface(wk);
        let sessions = if use_gauges {
            st.gauge(Gauge::Sessions)
        } else {
            selected.get(&wk).copied().unwrap_or(0)
        };
        let row = UtilizationRow {
            interface: &iface,
            sessions,
            maximum: st.gauge(Gauge::Capacity),
        };
        match out {
            Out::Text(w) => utilization_line(*w, &row)?,
            Out::Tree(t) => t.elem(&row.to_elem())?,
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}

/// Runs `clear services sessions`.
///
/// # Errors
/// A name the configuration does not know; the client went away.
pub fn clear(ctx: &Context, f: &FlowSessionFilter, out: &mut Out<'_>) -> Outcome {
    let names = ctx.names();
    let sel = select(ctx, f)?;
    sel.say_note(out)?;
    let workers = ctx.workers(&sel.filter);
    let sets = service_sets(ctx, &sel.filter);
    let apps: Vec<Option<u16>> = match &sel.applications {
        None => vec![None],
        Some(a) => a.iter().map(|&x| Some(x)).collect(),
    };
    let mut marked: HashMap<(WorkerId, u16), u64> = HashMap::new();
    for &ss in &sets {
        for &app in &apps {
            let filter = SessionFilter {
                service_set: Some(ss),
                application: app,
                ..sel.filter
            };
            for (w, n) in ctx.clear(filter)? {
                *marked.entry((w, ss)).or_default() += n;
            }
        }
    }
    match out {
        Out::Text(w) => writeln!(w, "{DRAIN_HEADER}")?,
        Out::Tree(t) => t.open(&Elem::new("service-msp-sess-drain-information"))?,
    }
    for &wk in &workers {
        let iface = ctx.config().member_interface(wk);
        for &ss in &sets {
            let n = marked.get(&(wk, ss)).copied().unwrap_or(0);
            if ss == NONE && n == 0 {
                // No service set, nothing cleared: no row (Junos lists service sets).
                continue;
            }
            let row = DrainRow {
                interface: &iface,
                service_set: service_set_name(&names, ss),
                marked: n,
            };
            match out {
                Out::Text(w) => drain_line(*w, &row)?,
                Out::Tree(t) => t.elem(&row.to_elem())?,
            }
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}
