//! What every command needs: the configuration and its names, the control core, the
//! clock, and the few helpers the session commands share.

use std::sync::Arc;
use svcard_config::{Config, PortId, WorkerId};
use svcard_dataplane::clock::Clock;
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::QueryKind;
use svcard_dataplane::session::{SessionView, Validity};

use super::out::{message, Failure};
use crate::central::{run_query, ControlHandle, Relay};
use crate::show::model::{Section, SessState};
use crate::show::names::Names;

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
    fn port_name(&self, port: PortId) -> Option<&str> {
        self.config.ports.get(port.index()).map(|p| p.name.as_str())
    }
    fn port_index(&self, name: &str) -> Option<PortId> {
        self.config.port_index(name).and_then(PortId::from_index)
    }
    fn unit_name(&self, port: PortId, vlan: u16) -> Option<&str> {
        self.config.unit_name(port.index(), vlan)
    }
    fn unit_index(&self, name: &str) -> Option<(PortId, u16)> {
        let (p, v) = self.config.unit_index(name)?;
        Some((PortId::from_index(p)?, v))
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
    fn nat_pool_name(&self, pool: u16) -> Option<&str> {
        self.config
            .nat
            .pools
            .get(usize::from(pool))
            .map(|p| p.name.as_str())
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

    /// The offload backend's name (`model`, `rte-flow`, `none`).
    #[must_use]
    pub fn offload_backend(&self) -> &'static str {
        self.control
            .offload
            .stats
            .lock()
            .map_or("none", |s| s.backend)
    }

    /// The section (FPC and PIC) of a worker.
    #[must_use]
    pub fn section(&self, worker: WorkerId) -> Section {
        Section {
            fpc: u16::from(self.config.card.fpc),
            pic: self.config.pic(worker),
        }
    }

    /// The workers a filter asks (all, or the one it names).
    #[must_use]
    pub fn workers(&self, filter: &SessionFilter) -> Vec<WorkerId> {
        WorkerId::all(self.control.workers.len())
            .filter(|w| filter.worker.is_none_or(|x| x == *w))
            .collect()
    }

    /// Runs a clear through the control core; returns the sessions marked per worker.
    ///
    /// # Errors
    /// The control core did not answer.
    pub fn clear(&self, filter: SessionFilter) -> Result<Vec<(WorkerId, u64)>, Failure> {
        let mut v = Vec::new();
        run_query(
            &self.control,
            filter,
            QueryKind::Clear,
            self.workers(&filter),
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
}

/// A session's state as the show model names it.
#[must_use]
pub fn state_of(v: &SessionView) -> SessState {
    match v.validity() {
        Validity::Valid => SessState::Valid,
        Validity::Pending => SessState::Pending,
        Validity::Invalidated => SessState::Invalidated,
        Validity::Other => SessState::Other,
    }
}
