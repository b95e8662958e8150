//! Executes a command line for the show server: parse, resolve names against the
//! configuration, query the workers through the control core, render (Junos text, or the
//! reply tree as XML or JSON), apply pipes, stream to the client (or to the file of
//! `| save FILE`, a path relative to the server's working directory).
//!
//! A line ending in `?` lists what may come next instead of running.

use crate::central::{run_query, ControlHandle, Relay};
use crate::gateway::rm::AlgConversations;
use crate::show::alg::{alg_elem, ConvLayout, ConversationsText};
use crate::show::command::{
    help, parse, render_error, ClearFlowSession, Command, FlowSessionFilter, ShowAlgConversations,
    ShowFlowSession, ShowServicesSessions,
};
use crate::show::model::{
    Elem, FlowSession, ResourceInfo, Section, SessState, SessionCounts, SessionExtra,
    SessionsSummary,
};
use crate::show::pipe::DisplayFormat;
use crate::show::services::{
    count_line, drain_line, utilization_line, CountRow, DrainRow, MspSession, ServicesText,
    UtilizationRow, COUNT_HEADER, DRAIN_HEADER, UTILIZATION_HEADER,
};
use crate::show::tree::{family_ns, write_rpc, JsonOut, TreeOut, XmlOut};
use crate::show::{FlowSessionText, IoFmt, Level, Names, SummaryForm};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::Arc;
use svcard_config::{AlgKind, Config};
use svcard_dataplane::clock::Clock;
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::QueryKind;
use svcard_dataplane::session::{bits, Action, SessionView, Validity};
use svcard_dataplane::stats::{Counter, Gauge};

/// Names from the configuration.
#[derive(Debug)]
pub struct ConfigNames {
    config: Arc<Config>,
    rules: Vec<Vec<String>>,
}

impl ConfigNames {
    /// Names of `config`.
    #[must_use]
    pub fn new(config: Arc<Config>) -> Self {
        let rules = config
            .service_sets
            .iter()
            .map(|ss| ss.rules.iter().map(|r| r.name.clone()).collect())
            .collect();
        Self { config, rules }
    }
}

impl Names for ConfigNames {
    fn port_name(&self, port: u8) -> Option<&str> {
        self.config
            .ports
            .get(usize::from(port))
            .map(|p| p.name.as_str())
    }
    fn port_index(&self, name: &str) -> Option<u8> {
        self.config
            .port_index(name)
            .and_then(|i| u8::try_from(i).ok())
    }
    fn service_set_name(&self, service_set: u16) -> Option<&str> {
        self.config
            .service_sets
            .get(usize::from(service_set))
            .map(|s| s.name.as_str())
    }
    fn rule_name(&self, service_set: u16, rule: u16) -> Option<&str> {
        self.rules
            .get(usize::from(service_set))?
            .get(usize::from(rule))
            .map(String::as_str)
    }
    fn application_name(&self, application: u16) -> Option<&str> {
        self.config
            .applications
            .get(usize::from(application))
            .map(|a| a.name.as_str())
    }
    fn application_index(&self, name: &str) -> Option<u16> {
        self.config.application_index(name)
    }
}

/// What command execution needs.
#[derive(Debug)]
pub struct Context {
    /// The configuration.
    pub config: Arc<Config>,
    /// Names for rendering.
    pub names: ConfigNames,
    /// The control core.
    pub control: ControlHandle,
    /// svcard's clock.
    pub clock: Clock,
}

impl Context {
    /// A context over a running control core.
    #[must_use]
    pub fn new(config: Arc<Config>, control: ControlHandle, clock: Clock) -> Self {
        Self {
            names: ConfigNames::new(Arc::clone(&config)),
            config,
            control,
            clock,
        }
    }

    fn section(&self, worker: u16) -> Section {
        Section {
            fpc: u16::from(self.config.card.fpc),
            pic: self.config.pic(worker),
        }
    }

    fn workers(&self, filter: &SessionFilter) -> Vec<u16> {
        let n = self.control.workers.len() as u16;
        (0..n)
            .filter(|w| filter.worker.is_none_or(|x| x == *w))
            .collect()
    }
}

fn state_of(v: &SessionView) -> SessState {
    match v.validity() {
        Validity::Valid => SessState::Valid,
        Validity::Pending => SessState::Pending,
        Validity::Invalidated => SessState::Invalidated,
    }
}

/// Runs one command line, writing its output (errors in Junos form). Returns an error only
/// when the client went away.
///
/// # Errors
/// The client's connection failed.
pub fn execute(ctx: &Context, line: &str, out: &mut dyn Write) -> io::Result<()> {
    if let Some(before) = line.trim_end().strip_suffix('?') {
        return match help(before) {
            Ok(h) => out.write_all(h.render().as_bytes()),
            Err(e) => {
                writeln!(out, "{before}")?;
                out.write_all(render_error(0, before, &e).as_bytes())
            }
        };
    }
    let cl = match parse(line) {
        Ok(c) => c,
        Err(e) => {
            writeln!(out, "{line}")?;
            return out.write_all(render_error(0, line, &e).as_bytes());
        }
    };
    let mut file;
    let dest: &mut dyn Write = match cl.pipes.save() {
        None => &mut *out,
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => {
                file = io::BufWriter::new(f);
                &mut file
            }
            Err(e) => return writeln!(out, "error: could not create {path}: {e}"),
        },
    };
    let mut sink = IoFmt::new(dest);
    let mut w = cl.pipes.writer(&mut sink);
    let r = match cl.pipes.display() {
        Some(DisplayFormat::XmlRpc) => {
            write_rpc(&mut w, &request(&cl.command)).map_err(Failure::from)
        }
        Some(DisplayFormat::Xml) => {
            let mut t = XmlOut::new(&mut w);
            run(ctx, &cl.command, &mut Out::Tree(&mut t))
                .and_then(|()| t.finish().map_err(Failure::from))
        }
        Some(DisplayFormat::Json) => {
            let mut t = JsonOut::new(&mut w);
            run(ctx, &cl.command, &mut Out::Tree(&mut t))
                .and_then(|()| t.finish().map_err(Failure::from))
        }
        None => run(ctx, &cl.command, &mut Out::Text(&mut w)),
    };
    let finished = match r {
        Ok(()) => w.finish().is_ok(),
        Err(_) => {
            drop(w);
            true
        }
    };
    if let Some(e) = sink.take_error() {
        return Err(e);
    }
    let dest = sink.into_inner();
    dest.flush()?;
    match r {
        Ok(()) if finished => Ok(()),
        Err(Failure::Message(m)) => out.write_all(m.as_bytes()),
        _ => Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "client went away",
        )),
    }
}

enum Failure {
    Gone,
    Message(String),
}

impl From<std::fmt::Error> for Failure {
    fn from(_: std::fmt::Error) -> Self {
        Failure::Gone
    }
}

fn message(m: impl std::fmt::Display) -> Failure {
    Failure::Message(format!("{m}\n"))
}

/// Where a command's reply goes: Junos text, or the reply tree.
enum Out<'a> {
    Text(&'a mut dyn std::fmt::Write),
    Tree(&'a mut dyn TreeOut),
}

fn run(ctx: &Context, cmd: &Command, out: &mut Out<'_>) -> Result<(), Failure> {
    match cmd {
        Command::ShowFlowSession(s) => show_flow_session(ctx, s, out),
        Command::ShowServicesSessions(s) => show_services_sessions(ctx, s, out),
        Command::ShowAlgConversations(s) => show_alg_conversations(ctx, s, out),
        Command::ShowAlgStatistics(p) => show_alg_statistics(ctx, *p, out),
        Command::ClearFlowSession(s) => clear_flow_session(ctx, s, out),
        Command::ClearServicesSessions(f) => clear_services_sessions(ctx, f, out),
        Command::ShowSvcardStatistics => show_svcard_statistics(ctx, out),
        Command::ShowVersion => show_version(ctx, out),
    }
}

// ---------------------------------------------------------------------------------------
// Requests (`| display xml rpc`).

fn filter_leaves(e: &mut Elem, f: &FlowSessionFilter) {
    if let Some(p) = f.source_prefix {
        e.push(Elem::leaf("source-prefix", p));
    }
    if let Some(p) = f.destination_prefix {
        e.push(Elem::leaf("destination-prefix", p));
    }
    if let Some(p) = f.source_port {
        e.push(Elem::leaf("source-port", p));
    }
    if let Some(p) = f.destination_port {
        e.push(Elem::leaf("destination-port", p));
    }
    if let Some(p) = f.protocol {
        match crate::show::protocol_name(p) {
            Some(n) => e.push(Elem::leaf("protocol", n)),
            None => e.push(Elem::leaf("protocol", p)),
        }
    }
    if let Some(id) = f.session_id {
        e.push(Elem::leaf("session-identifier", id));
    }
    if let Some(a) = &f.application {
        e.push(Elem::leaf("application", a));
    }
    if let Some(a) = f.application_protocol {
        e.push(Elem::leaf("application-protocol", a));
    }
    if let Some(s) = &f.service_set {
        e.push(Elem::leaf("service-set", s));
    }
    if let Some(i) = &f.interface {
        e.push(Elem::leaf("interface", i));
    }
}

/// The request RPC a command maps to (`| display xml rpc`).
#[must_use]
pub fn request(cmd: &Command) -> Elem {
    match cmd {
        Command::ShowVersion => Elem::new("get-software-information"),
        Command::ShowSvcardStatistics => Elem::new("get-svcard-statistics-information"),
        Command::ShowFlowSession(s) => {
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
        Command::ShowServicesSessions(s) => {
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
        Command::ShowAlgConversations(s) => {
            let mut e = Elem::new("get-service-msp-alg-conversation-information");
            if let Some(i) = &s.interface {
                e.push(Elem::leaf("interface", i));
            }
            if let Some(a) = s.application_protocol {
                e.push(Elem::leaf("application-protocol", a));
            }
            if s.extensive {
                e.push(Elem::new("extensive"));
            }
            if s.brief {
                e.push(Elem::new("brief"));
            }
            e
        }
        Command::ShowAlgStatistics(p) => {
            let mut e = Elem::new("get-service-alg-statistics-information");
            if let Some(a) = p {
                e.push(Elem::leaf("application-protocol", a));
            }
            e
        }
        Command::ClearFlowSession(c) => {
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
        Command::ClearServicesSessions(f) => {
            let mut e = Elem::new("clear-service-msp-sessions");
            filter_leaves(&mut e, f);
            e
        }
    }
}

// ---------------------------------------------------------------------------------------
// show version

fn show_version(ctx: &Context, out: &mut Out<'_>) -> Result<(), Failure> {
    let host = &ctx.config.card.hostname;
    let version = env!("CARGO_PKG_VERSION");
    match out {
        Out::Text(w) => {
            writeln!(w, "Hostname: {host}")?;
            writeln!(w, "Model: svcard")?;
            writeln!(w, "Junos: svcard-{version}")?;
        }
        Out::Tree(t) => {
            let mut e = Elem::new("software-information");
            e.push(Elem::leaf("host-name", host));
            e.push(Elem::leaf("product-model", "svcard"));
            e.push(Elem::leaf("product-name", "svcard"));
            e.push(Elem::leaf("junos-version", format!("svcard-{version}")));
            t.elem(&e)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// show security flow session

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

/// Sessions in states other than valid, pending and invalidated: a svcard session is always
/// in one of those three, so Junos's fourth count is always 0.
const OTHER_STATES: u64 = 0;

fn show_flow_session(ctx: &Context, s: &ShowFlowSession, out: &mut Out<'_>) -> Result<(), Failure> {
    let filter = s.filter.resolve(&ctx.names).map_err(message)?;
    let mut r = FlowSessionText::new(s.level, s.resource_manager);
    let workers = ctx.workers(&filter);
    if s.level == Level::Summary && s.summary_form() == SummaryForm::Full {
        for &wk in &workers {
            let st = ctx.control.workers[usize::from(wk)].stats.snapshot();
            let summary = SessionsSummary {
                unicast: st.gauge(Gauge::Sessions),
                multicast: 0,
                services_offload: 0,
                failed: st.get(Counter::SessionsFailed),
                drop_flow: st.gauge(Gauge::DropFlow),
                in_use: st.gauge(Gauge::Sessions),
                valid: st.gauge(Gauge::Valid),
                pending: st.gauge(Gauge::Pending),
                invalidated: st.gauge(Gauge::Invalidated),
                other: OTHER_STATES,
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
                let fs = FlowSession::from_view(&v, &ctx.names, extra);
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

// ---------------------------------------------------------------------------------------
// Services views: selectors.

/// The applications an `application-protocol` selects (`none`: no enabled ALG, including
/// sessions without an application, index `u16::MAX`).
fn applications_of(config: &Config, proto: &str) -> Vec<u16> {
    let proto = if proto == "sqlnet" { "sql" } else { proto };
    let mut v: Vec<u16> = (0..config.applications.len() as u16)
        .filter(|&a| match config.alg_enabled(a) {
            None => proto == "none",
            Some(k) => k.junos_name() == proto,
        })
        .collect();
    if proto == "none" {
        v.push(u16::MAX);
    }
    v
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
}

impl Selection {
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
    let mut filter = base.resolve(&ctx.names).map_err(message)?;
    if let Some(i) = &f.interface {
        if *i != ctx.config.card.bundle {
            let n = ctx.control.workers.len() as u16;
            if let Some(w) = (0..n).find(|&w| ctx.config.member_interface(w) == *i) {
                filter.worker = Some(w);
            } else if let Some(p) = ctx.names.port_index(i) {
                filter.port = Some(p);
            } else {
                return Err(message(crate::show::command::ResolveError::Interface(
                    i.clone(),
                )));
            }
        }
    }
    if let Some(s) = &f.service_set {
        filter.service_set =
            Some(ctx.config.service_set_index(s).ok_or_else(|| {
                message(crate::show::command::ResolveError::ServiceSet(s.clone()))
            })?);
    }
    Ok(Selection {
        filter,
        applications: f
            .application_protocol
            .map(|p| applications_of(&ctx.config, p)),
    })
}

fn service_set_name(ctx: &Context, ss: u16) -> &str {
    ctx.names
        .service_set_name(ss)
        .unwrap_or(crate::show::model::UNKNOWN_NAME)
}

/// The service sets a count or clear goes through: the one selected, else all.
fn service_sets(ctx: &Context, filter: &SessionFilter) -> Vec<u16> {
    match filter.service_set {
        Some(s) => vec![s],
        None => (0..ctx.config.service_sets.len() as u16).collect(),
    }
}

fn msp_session<'a>(ctx: &'a Context, v: &SessionView) -> MspSession<'a> {
    let fs = FlowSession::from_view(v, &ctx.names, SessionExtra::default());
    MspSession::from_flow_session(
        &fs,
        service_set_name(ctx, v.service_set),
        alg_of(&ctx.config, v.application).map_or("none", AlgKind::junos_name),
        v.action.junos_name(),
        u32::from(v.junos_flags),
        v.bits & bits::OFFLOAD != 0,
        v.bits & bits::ASYMMETRIC != 0,
    )
}

// ---------------------------------------------------------------------------------------
// show services sessions

fn show_services_sessions(
    ctx: &Context,
    s: &ShowServicesSessions,
    out: &mut Out<'_>,
) -> Result<(), Failure> {
    let mut sel = select(ctx, &s.filter)?;
    if s.count {
        return services_count(ctx, sel, out);
    }
    if s.utilization {
        return services_utilization(ctx, &sel, out);
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
    run_query(&ctx.control, sel.filter, kind, workers, |m| {
        let res: std::fmt::Result = (|| match m {
            Relay::Begin(wk) => {
                let name = ctx.config.member_interface(wk);
                match out {
                    Out::Text(w) => text.interface(*w, &name),
                    Out::Tree(t) => {
                        t.open(&Elem::new("msp-session-interface"))?;
                        t.elem(&Elem::leaf("interface-name", name))
                    }
                }
            }
            Relay::Session(v, _) => {
                if !sel.keeps(&v) || shown >= limit {
                    return Ok(());
                }
                shown += 1;
                let ms = msp_session(ctx, &v);
                match out {
                    Out::Text(w) => text.session(*w, &ms),
                    Out::Tree(t) => t.elem(&ms.to_elem(s.level)),
                }
            }
            Relay::End(..) => match out {
                Out::Text(_) => Ok(()),
                Out::Tree(t) => t.close(),
            },
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
fn services_count(ctx: &Context, mut sel: Selection, out: &mut Out<'_>) -> Result<(), Failure> {
    let n = ctx.control.workers.len();
    let nss = ctx.config.service_sets.len();
    let mut rows: Vec<(u16, u16, SessionCounts)> = Vec::new();
    let one_set =
        nss == 1 && (0..ctx.config.ports.len()).all(|p| ctx.config.port_service_set(p) == 0);
    if sel.filter.is_all() && sel.applications.is_none() && one_set {
        for w in 0..n as u16 {
            let st = ctx.control.workers[usize::from(w)].stats.snapshot();
            rows.push((
                w,
                0,
                SessionCounts {
                    valid: st.gauge(Gauge::Valid),
                    pending: st.gauge(Gauge::Pending),
                    invalidated: st.gauge(Gauge::Invalidated),
                    other: OTHER_STATES,
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
        let mut m: std::collections::BTreeMap<(u16, u16), SessionCounts> = Default::default();
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
        let iface = ctx.config.member_interface(w);
        let row = CountRow {
            interface: &iface,
            service_set: service_set_name(ctx, ss),
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

fn services_utilization(ctx: &Context, sel: &Selection, out: &mut Out<'_>) -> Result<(), Failure> {
    let workers = ctx.workers(&sel.filter);
    match out {
        Out::Text(w) => writeln!(w, "{UTILIZATION_HEADER}")?,
        Out::Tree(t) => t.open(&Elem::new("service-msp-sess-utilization-information"))?,
    }
    for wk in workers {
        let st = ctx.control.workers[usize::from(wk)].stats.snapshot();
        let iface = ctx.config.member_interface(wk);
        let row = UtilizationRow {
            interface: &iface,
            sessions: st.gauge(Gauge::Sessions),
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

// ---------------------------------------------------------------------------------------
// show svcard statistics

fn show_svcard_statistics(ctx: &Context, out: &mut Out<'_>) -> Result<(), Failure> {
    use crate::show::counters;
    if let Out::Tree(t) = out {
        t.open(&Elem::new("svcard-statistics-information"))?;
    }
    for (i, h) in ctx.control.workers.iter().enumerate() {
        let st = h.stats.snapshot();
        let section = ctx.section(i as u16).to_string();
        match out {
            Out::Text(w) => {
                if i > 0 {
                    writeln!(w)?;
                }
                counters::text(*w, &section, &st)?;
            }
            Out::Tree(t) => t.elem(&counters::elem(&section, &st))?,
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// show services alg statistics

fn show_alg_statistics(
    ctx: &Context,
    protocol: Option<&'static str>,
    out: &mut Out<'_>,
) -> Result<(), Failure> {
    use crate::show::alg_stats::{self, AlgBlock};
    let st = ctx
        .control
        .alg_statistics
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    if let Out::Tree(t) = out {
        t.open(&Elem::new("service-alg-statistics-information"))?;
    }
    let mut first = true;
    for k in svcard_config::AlgKind::ALL {
        let Some(e) = crate::gateway::engine_kind(k) else {
            continue;
        };
        if protocol.is_some_and(|p| p != k.junos_name()) {
            continue;
        }
        let b = AlgBlock {
            name: k.display_name(),
            protocol: k.junos_name(),
            enabled: ctx.config.algs[k].enabled,
            row: &st.rows[e as usize],
        };
        match out {
            Out::Text(w) => {
                if !first {
                    writeln!(w)?;
                }
                alg_stats::text(*w, &b)?;
            }
            Out::Tree(t) => t.elem(&alg_stats::elem(&b))?,
        }
        first = false;
    }
    if protocol.is_none() {
        match out {
            Out::Text(w) => {
                writeln!(w)?;
                alg_stats::gateway_text(*w, &st)?;
            }
            Out::Tree(t) => t.elem(&alg_stats::gateway_elem(&st))?,
        }
    }
    if first && protocol.is_some() {
        if let Out::Text(w) = out {
            writeln!(w, "svcard runs no ALG for this application protocol")?;
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// show services alg conversations

fn show_alg_conversations(
    ctx: &Context,
    s: &ShowAlgConversations,
    out: &mut Out<'_>,
) -> Result<(), Failure> {
    let n = ctx.control.workers.len() as u16;
    let worker = match &s.interface {
        None => None,
        Some(i) if *i == ctx.config.card.bundle => None,
        Some(i) => Some(
            (0..n)
                .find(|&w| ctx.config.member_interface(w) == *i)
                .ok_or_else(|| message(crate::show::command::ResolveError::Interface(i.clone())))?,
        ),
    };
    // A snapshot: the book stays locked only while it is copied.
    let books: Vec<AlgConversations> = ctx
        .control
        .conversations
        .lock()
        .map(|b| {
            b.algs
                .iter()
                .filter(|a| worker.is_none_or(|w| w == a.worker))
                .filter(|a| {
                    s.application_protocol
                        .is_none_or(|p| crate::show::alg::alg_matches(a.alg, p))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let layout = if s.extensive {
        ConvLayout::Extensive
    } else if s.application_protocol.is_some() {
        ConvLayout::Indented
    } else {
        ConvLayout::Flat
    };
    let text = ConversationsText {
        layout,
        interface_given: s.interface.is_some(),
    };
    if let Out::Tree(t) = out {
        t.open(&Elem::new("service-msp-alg-conversation-information").attr(
            "junos:style",
            if s.extensive { "extensive" } else { "brief" },
        ))?;
    }
    let mut last = None;
    for a in &books {
        if last != Some(a.worker) {
            last = Some(a.worker);
            let iface = ctx.config.member_interface(a.worker);
            match out {
                Out::Text(w) => text.interface(*w, &iface)?,
                Out::Tree(t) => t.elem(&Elem::leaf("interface-name", iface))?,
            }
        }
        match out {
            Out::Text(w) => text.alg(*w, a)?,
            Out::Tree(t) => t.elem(&alg_elem(a, s.extensive))?,
        }
    }
    if let Out::Tree(t) = out {
        t.close()?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// clear

/// Runs a clear through the control core; returns the sessions marked per worker.
fn clear_query(ctx: &Context, filter: SessionFilter) -> Result<Vec<(u16, u64)>, Failure> {
    let mut v = Vec::new();
    run_query(
        &ctx.control,
        filter,
        QueryKind::Clear,
        ctx.workers(&filter),
        |m| {
            if let Relay::End(w, c) = m {
                v.push((w, c.cleared));
            }
            true
        },
    )
    .map_err(|e| message(format!("error: {e}")))?;
    Ok(v)
}

fn clear_flow_session(
    ctx: &Context,
    c: &ClearFlowSession,
    out: &mut Out<'_>,
) -> Result<(), Failure> {
    let filter = if c.all {
        SessionFilter::default()
    } else {
        c.filter.resolve(&ctx.names).map_err(message)?
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
            for (w, n) in clear_query(ctx, f)? {
                cleared[usize::from(w)] += n;
            }
        }
    } else {
        for (w, n) in clear_query(ctx, filter)? {
            cleared[usize::from(w)] += n;
        }
    }
    for (i, &wk) in workers.iter().enumerate() {
        let n = cleared[usize::from(wk)];
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

fn clear_services_sessions(
    ctx: &Context,
    f: &FlowSessionFilter,
    out: &mut Out<'_>,
) -> Result<(), Failure> {
    let sel = select(ctx, f)?;
    let workers = ctx.workers(&sel.filter);
    let sets = service_sets(ctx, &sel.filter);
    let apps: Vec<Option<u16>> = match &sel.applications {
        None => vec![None],
        Some(a) => a.iter().map(|&x| Some(x)).collect(),
    };
    let mut marked: HashMap<(u16, u16), u64> = HashMap::new();
    for &ss in &sets {
        for &app in &apps {
            let filter = SessionFilter {
                service_set: Some(ss),
                application: app,
                ..sel.filter
            };
            for (w, n) in clear_query(ctx, filter)? {
                *marked.entry((w, ss)).or_default() += n;
            }
        }
    }
    match out {
        Out::Text(w) => writeln!(w, "{DRAIN_HEADER}")?,
        Out::Tree(t) => t.open(&Elem::new("service-msp-sess-drain-information"))?,
    }
    for &wk in &workers {
        let iface = ctx.config.member_interface(wk);
        for &ss in &sets {
            let row = DrainRow {
                interface: &iface,
                service_set: service_set_name(ctx, ss),
                marked: marked.get(&(wk, ss)).copied().unwrap_or(0),
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
