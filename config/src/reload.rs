//! A configuration replaced while svcard runs (`request system configuration reload`, or
//! SIGHUP to `svcard run`), as a Junos commit replaces one: what may change while sessions
//! live, what needs a restart, and the new configuration *rebased* on the running one so
//! that the indices live sessions hold (service set, rule, application, offload policy,
//! NAT pool) keep naming what they named.
//!
//! * **Live**: rules (added, removed, reordered, changed), applications added after the
//!   existing ones, timeouts, limits other than the table's size, ALG switches and
//!   settings, the logs' event switches and rate, the TCP checks (when the windows were
//!   kept from the start), service sets added after the existing ones, which port or unit
//!   belongs to which service set.
//! * **Restart**: the card's identity, the workers, DPDK, the ports and their units, the
//!   table's size, the metrics endpoint, source NAT, offload, the IPFIX exporter, the log
//!   collector, turning the TCP sequence checks on where the table has no windows, and a
//!   service set or application removed, renamed or moved (live sessions are counted and
//!   named by their index).
//!
//! [`LiveConfig`] holds the configuration in force for the control core's readers (show
//! commands, the ALG gateway, the logger); the workers get theirs over their rings.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::{Config, ServiceSet};

/// Why a new configuration cannot replace the running one: one line per part that would
/// need a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub Vec<String>);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for Refused {}

impl Config {
    /// `self`, read from the file again, made ready to replace `running`: each rule keeps
    /// the ID its name had, new rules get new IDs, removed rules keep theirs for the
    /// sessions that name them. Returns the rebased configuration and what changed, one
    /// line per part (empty: nothing did).
    ///
    /// # Errors
    /// The parts that cannot change while svcard runs, each with why.
    pub fn rebase(mut self, running: &Config) -> Result<(Config, Vec<String>), Refused> {
        let mut refused = Vec::new();
        let mut restart = |what: &str, why: &str| {
            refused.push(format!("{what}: {why}; restart svcard to apply it"));
        };
        let fixed = "cannot change while svcard runs";
        if self.card != running.card {
            restart("[card]", fixed);
        }
        if self.workers != running.workers {
            restart("[workers]", fixed);
        }
        if self.dpdk != running.dpdk {
            restart("[dpdk]", fixed);
        }
        if self.ports != running.ports {
            restart(
                "[[port]]",
                "the ports and their units cannot change while svcard runs",
            );
        }
        if self.limits.max_sessions != running.limits.max_sessions
            || self.limits.max_sessions_per_worker != running.limits.max_sessions_per_worker
        {
            restart(
                "[limits] max-sessions",
                "the session table is sized at start",
            );
        }
        if self.metrics != running.metrics {
            restart("[metrics]", fixed);
        }
        if self.nat != running.nat {
            restart(
                "[nat]",
                "source NAT's pools and rules cannot change while svcard runs",
            );
        }
        if self.offload != running.offload {
            restart("[offload]", fixed);
        }
        if self.ipfix != running.ipfix {
            restart("[ipfix]", fixed);
        }
        if self.log.host != running.log.host || self.log.tcp != running.log.tcp {
            restart(
                "[log] host, transport",
                "the log collector is opened at start",
            );
        }
        if self.checks_tcp_segments() && !running.checks_tcp_segments() {
            restart(
                "[tcp-session]",
                "TCP sequence checks need the windows the session table sizes at start (it \
                 started with every check off)",
            );
        }
        for (i, old) in running.applications.iter().enumerate() {
            match self.applications.get(i) {
                Some(a) if a.name == old.name => {}
                _ => restart(
                    &format!("application '{}'", old.name),
                    "removed, renamed or moved: live sessions name their application by its \
                     place in the catalogue (add new applications after the existing ones)",
                ),
            }
        }
        for (i, old) in running.service_sets.iter().enumerate() {
            let Some(new) = self.service_sets.get_mut(i) else {
                restart(
                    &format!("service-set '{}'", old.name),
                    "removed: its live sessions are counted under it",
                );
                continue;
            };
            if new.name != old.name {
                restart(
                    &format!("service-set '{}'", old.name),
                    "renamed or moved: live sessions are counted under its place (add new \
                     service sets after the existing ones)",
                );
                continue;
            }
            if new.offload != old.offload {
                restart(&format!("service-set '{}' offload", old.name), fixed);
            }
            if new.nat_rules != old.nat_rules {
                restart(&format!("service-set '{}' nat-rules", old.name), fixed);
            }
            if let Err(e) = keep_rule_ids(new, old) {
                restart(&format!("service-set '{}'", old.name), &e);
            }
        }
        if self.offload_triggers != running.offload_triggers {
            restart(
                "offload policies",
                "live sessions name their offload policy by its place",
            );
        }
        if !refused.is_empty() {
            return Err(Refused(refused));
        }
        let changes = changes(&self, running);
        Ok((self, changes))
    }
}

/// Gives `new`'s rules the IDs their names have in `old`, and new names new IDs after
/// every ID `old` knew; the names of rules `new` no longer has keep their IDs.
fn keep_rule_ids(new: &mut ServiceSet, old: &ServiceSet) -> Result<(), String> {
    let mut names = old.rule_names.clone();
    for r in &mut new.rules {
        let id = match names.iter().position(|n| *n == r.name) {
            Some(i) => i,
            None => {
                names.push(r.name.clone());
                names.len() - 1
            }
        };
        let id = u16::try_from(id)
            .ok()
            .filter(|&i| i < u16::MAX - 1)
            .ok_or("too many rule names over its reloads")?;
        r.id = id;
        r.index = id + 1;
    }
    new.rule_names = names;
    Ok(())
}

/// What differs between `new` and `old`, one line per part.
fn changes(new: &Config, old: &Config) -> Vec<String> {
    let mut v = Vec::new();
    for (i, ss) in new.service_sets.iter().enumerate() {
        let Some(o) = old.service_sets.get(i) else {
            v.push(format!("service-set '{}' added", ss.name));
            continue;
        };
        if ss.rules != o.rules || ss.default_action != o.default_action {
            v.push(format!("service-set '{}' rules", ss.name));
        }
        if ss.ports != o.ports {
            v.push(format!("service-set '{}' interfaces", ss.name));
        }
        if ss.max_sessions != o.max_sessions {
            v.push(format!("service-set '{}' max-sessions", ss.name));
        }
        if ss.timeouts != o.timeouts {
            v.push(format!("service-set '{}' timeouts", ss.name));
        }
        if ss.tcp_session != o.tcp_session {
            v.push(format!("service-set '{}' tcp-session", ss.name));
        }
        if ss.log != o.log {
            v.push(format!("service-set '{}' log", ss.name));
        }
    }
    if new.applications.len() > old.applications.len() {
        v.push(format!(
            "{} application(s) added",
            new.applications.len() - old.applications.len()
        ));
    }
    if new.applications[..old.applications.len().min(new.applications.len())]
        != old.applications[..old.applications.len().min(new.applications.len())]
    {
        v.push("applications changed".into());
    }
    if new.timeouts != old.timeouts {
        v.push("[timeouts]".into());
    }
    if new.limits != old.limits {
        v.push("[limits]".into());
    }
    if new.algs != old.algs {
        v.push("[alg]".into());
    }
    if new.log != old.log {
        v.push("[log]".into());
    }
    if new.tcp_session != old.tcp_session {
        v.push("[tcp-session]".into());
    }
    if new.unit_ss != old.unit_ss || new.port_ss != old.port_ss {
        v.push("interfaces' service sets".into());
    }
    v
}

/// The configuration in force, for the control core's readers: the show commands, the ALG
/// gateway and the logger take the current one when they start a piece of work, and a
/// reload replaces it after every worker has taken the new one. Its generation counts
/// replacements (0: the one started with), so a reader notices one with a single load.
#[derive(Debug)]
pub struct LiveConfig {
    current: RwLock<Arc<Config>>,
    generation: AtomicU64,
}

impl LiveConfig {
    /// A cell holding `config`, generation 0.
    #[must_use]
    pub fn new(config: Arc<Config>) -> LiveConfig {
        LiveConfig {
            current: RwLock::new(config),
            generation: AtomicU64::new(0),
        }
    }

    /// The configuration in force.
    #[must_use]
    pub fn current(&self) -> Arc<Config> {
        match self.current.read() {
            Ok(c) => Arc::clone(&c),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// How many times it was replaced.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Puts `config` in force; returns the new generation.
    pub fn replace(&self, config: Arc<Config>) -> u64 {
        match self.current.write() {
            Ok(mut c) => *c = config,
            Err(p) => {
                let mut c = p.into_inner();
                *c = config;
            }
        }
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }
}
