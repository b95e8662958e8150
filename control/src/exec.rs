//! Executes a command line for the show server: parse, resolve names against the
//! configuration, query the workers through the control core, render, apply pipes,
//! stream to the client.

use crate::central::{run_query, ControlHandle, Relay};
use crate::show::command::{parse, render_error, Command, ShowFlowSession};
use crate::show::model::{
    FlowSession, Section, SessState, SessionCounts, SessionExtra, SessionsSummary,
};
use crate::show::{FlowSessionText, IoFmt, Level, Names, SummaryForm};
use std::io::{self, Write};
use std::sync::Arc;
use svcard_config::Config;
use svcard_dataplane::clock::Clock;
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::QueryKind;
use svcard_dataplane::session::{Action, Validity};
use svcard_dataplane::stats::Gauge;

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

fn state_of(v: &svcard_dataplane::session::SessionView) -> SessState {
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
    let cl = match parse(line) {
        Ok(c) => c,
        Err(e) => {
            writeln!(out, "{line}")?;
            return out.write_all(render_error(0, line, &e).as_bytes());
        }
    };
    if let Some(f) = cl.pipes.display() {
        return writeln!(
            out,
            "error: '| display {f:?}' is not supported by this svcard yet"
        );
    }
    let mut sink = IoFmt::new(out);
    let mut w = cl.pipes.writer(&mut sink);
    let r = match &cl.command {
        Command::ShowFlowSession(s) => show_flow_session(ctx, s, &mut w),
    };
    let finished = w.finish().is_ok();
    if let Some(e) = sink.take_error() {
        return Err(e);
    }
    match r {
        Ok(()) if finished => Ok(()),
        Err(Failure::Message(m)) => sink.into_inner().write_all(m.as_bytes()),
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

fn show_flow_session(
    ctx: &Context,
    s: &ShowFlowSession,
    w: &mut dyn std::fmt::Write,
) -> Result<(), Failure> {
    let filter = s
        .filter
        .resolve(&ctx.names)
        .map_err(|e| Failure::Message(format!("error: {e}\n")))?;
    let mut r = FlowSessionText::new(s.level, s.resource_manager);
    let workers = ctx.workers(&filter);
    if s.level == Level::Summary && s.summary_form() == SummaryForm::Full {
        for &wk in &workers {
            let st = ctx.control.workers[usize::from(wk)].stats.snapshot();
            let summary = SessionsSummary {
                unicast: st.gauge(Gauge::Sessions),
                multicast: 0,
                services_offload: 0,
                failed: st.gauge(Gauge::Failed),
                drop_flow: st.gauge(Gauge::DropFlow),
                in_use: st.gauge(Gauge::Sessions),
                valid: st.gauge(Gauge::Valid),
                pending: st.gauge(Gauge::Pending),
                invalidated: st.gauge(Gauge::Invalidated),
                other: st.gauge(Gauge::Other),
                maximum: st.gauge(Gauge::Capacity),
            };
            r.begin_section(w, ctx.section(wk))?;
            r.summary(w, &summary)?;
        }
        return Ok(());
    }
    let watch_only = s.resource_manager;
    let kind = if s.level == Level::Summary {
        QueryKind::Count
    } else {
        QueryKind::Records { limit: u64::MAX }
    };
    let mut failed: Option<Failure> = None;
    let mut shown = 0u64;
    run_query(&ctx.control, filter, kind, workers, |m| {
        let res: std::fmt::Result = (|| match m {
            Relay::Begin(wk) => {
                shown = 0;
                r.begin_section(w, ctx.section(wk))
            }
            Relay::Session(v, cp) => {
                if watch_only && v.action != Action::Watch {
                    return Ok(());
                }
                let state = state_of(&v);
                shown += 1;
                let extra = SessionExtra {
                    cp_session_id: cp,
                    resource: None,
                    state: Some(state),
                };
                let fs = FlowSession::from_view(&v, &ctx.names, extra);
                r.session(w, &fs)
            }
            Relay::End(_, c) => {
                if s.level == Level::Summary {
                    r.counts(w, &SessionCounts::from(c))
                } else {
                    r.end_section(w, shown)
                }
            }
        })();
        if res.is_err() {
            failed = Some(Failure::Gone);
            return false;
        }
        true
    })
    .map_err(|e| Failure::Message(format!("error: {e}\n")))?;
    failed.map_or(Ok(()), Err)
}
