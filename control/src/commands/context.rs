//! What every command needs: the configuration and its names, the control core, the
//! clock, and the few helpers the session commands share.

use std::sync::{Arc, Mutex};
use svcard_config::reload::LiveConfig;
use svcard_config::{Config, PortId, WorkerId};
use svcard_dataplane::clock::Clock;
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::QueryKind;
use svcard_dataplane::session::{SessionView, Validity};

use super::out::{message, Failure};
use crate::central::{run_query, ControlHandle, Relay};
use crate::reload::Reloader;
use crate::show::model::{Section, SessState};
use crate::show::names::Names;

/// Names from the configuration.
#[derive(Debug)]
pub struct ConfigNames {
    config: Arc<Config>,
}

impl ConfigNames {
    /// Names of `config`.
    #[must_use]
    pub fn new(config: Arc<Config>) -> Self {
        Self { config }
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
        // By the rule's ID: a rule a reload removed still names its live sessions.
        self.config
            .service_sets
            .get(usize::from(service_set))?
            .rule_names
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

/// The configuration a command runs with, and its names: taken once when the command
/// starts, so a reload in the middle of a command does not mix two configurations.
#[derive(Debug)]
struct InForce {
    generation: u64,
    config: Arc<Config>,
    names: Arc<ConfigNames>,
}

/// What command execution needs.
#[derive(Debug)]
pub struct Context {
    live: Arc<LiveConfig>,
    in_force: Mutex<Arc<InForce>>,
    /// The control core.
    pub control: ControlHandle,
    /// svcard's clock.
    pub clock: Clock,
    /// What reloads the configuration (none: this context cannot).
    pub reloader: Option<Arc<Reloader>>,
    /// A command's own context ([`Context::pinned`]): it keeps the configuration it was
    /// made with, whatever a reload puts in force meanwhile.
    pinned: bool,
}

impl Context {
    /// A context over a running control core, with a configuration that does not change.
    #[must_use]
    pub fn new(config: Arc<Config>, control: ControlHandle, clock: Clock) -> Self {
        Self::live(Arc::new(LiveConfig::new(config)), control, clock, None)
    }

    /// A context over a running control core, with the configuration in force in `live`
    /// (changed by `reloader`).
    #[must_use]
    pub fn live(
        live: Arc<LiveConfig>,
        control: ControlHandle,
        clock: Clock,
        reloader: Option<Arc<Reloader>>,
    ) -> Self {
        let in_force = Mutex::new(Arc::new(in_force(&live)));
        Self {
            live,
            in_force,
            control,
            clock,
            reloader,
            pinned: false,
        }
    }

    /// A context for one command: the configuration in force now, kept for the whole
    /// command, so a reload in its middle never mixes two configurations in one answer.
    #[must_use]
    pub fn pinned(&self) -> Self {
        Self {
            live: Arc::clone(&self.live),
            in_force: Mutex::new(self.now_in_force()),
            control: self.control.clone(),
            clock: self.clock,
            reloader: self.reloader.clone(),
            pinned: true,
        }
    }

    fn now_in_force(&self) -> Arc<InForce> {
        let mut g = match self.in_force.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !self.pinned && g.generation != self.live.generation() {
            *g = Arc::new(in_force(&self.live));
        }
        Arc::clone(&g)
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.now_in_force().config)
    }

    /// Names of the configuration in force.
    #[must_use]
    pub fn names(&self) -> Arc<ConfigNames> {
        Arc::clone(&self.now_in_force().names)
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
            fpc: u16::from(self.config().card.fpc),
            pic: self.config().pic(worker),
        }
    }

    /// The workers a member interface names (none: all; the bundle: all).
    ///
    /// # Errors
    /// A name that is neither the bundle nor a member interface.
    pub fn member_workers(
        &self,
        interface: Option<&String>,
    ) -> Result<Vec<WorkerId>, super::selectors::ResolveError> {
        let all = WorkerId::all(self.control.workers.len());
        let cfg = self.config();
        match interface {
            None => Ok(all.collect()),
            Some(i) if *i == cfg.card.bundle => Ok(all.collect()),
            Some(i) => all
                .into_iter()
                .find(|&w| cfg.member_interface(w) == *i)
                .map(|w| vec![w])
                .ok_or_else(|| super::selectors::ResolveError::Interface(i.clone())),
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

fn in_force(live: &LiveConfig) -> InForce {
    let generation = live.generation();
    let config = live.current();
    InForce {
        generation,
        names: Arc::new(ConfigNames::new(Arc::clone(&config))),
        config,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::central::{ControlCore, WorkerHandle};
    use svcard_dataplane::ring::{RingSizes, WorkerRings};
    use svcard_dataplane::stats::SharedStats;

    #[test]
    fn a_command_keeps_its_configuration_through_a_reload() {
        let conf = |host: &str| {
            let text = format!("[card]\nhostname = \"{host}\"\n");
            Arc::new(Config::from_toml_str(&text, "t.toml".as_ref()).unwrap())
        };
        let (_core, handle) = ControlCore::new(vec![WorkerHandle {
            rings: WorkerRings::new(RingSizes::default()),
            stats: Arc::new(SharedStats::default()),
        }]);
        let live = Arc::new(LiveConfig::new(conf("before")));
        let ctx = Context::live(Arc::clone(&live), handle, Clock::new(), None);
        let command = ctx.pinned();
        live.replace(conf("after"));
        assert_eq!(command.config().card.hostname, "before");
        assert_eq!(ctx.config().card.hostname, "after");
        assert_eq!(ctx.pinned().config().card.hostname, "after");
    }
}
