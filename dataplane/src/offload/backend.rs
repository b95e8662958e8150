//! What an offload backend is asked to do, independent of the device: the rule for one
//! session ([`Rule`]: its key, ports per direction, forward or drop), what the device can
//! do ([`Capabilities`]), and the trait the offload manager drives ([`OffloadBackend`]).
//! The NIC model ([`super::model::NicModel`]) and `rte_flow` (feature `dpdk`) implement it.

use super::state::FailReason;
use crate::flow::{Direction, FlowKey};

/// What a rule does with the packets it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RuleAction {
    /// Forward to the peer port (full offload).
    Forward = 0,
    /// Discard (a session whose action drops: flood relief).
    Drop = 1,
}

impl RuleAction {
    /// The action's name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            RuleAction::Forward => "forward",
            RuleAction::Drop => "drop",
        }
    }
}

/// A session's rule: both directions of its key. TCP segments with SYN, FIN or RST are
/// never matched (they reach the worker, so state and close stay right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The session's ID.
    pub session: u32,
    /// Its canonical key.
    pub key: FlowKey,
    /// The initiator's direction in the key.
    pub initiator: Direction,
    /// Per canonical direction (`Direction::index`): the port it arrives on.
    pub ingress: [u16; 2],
    /// Per canonical direction: the port it leaves by.
    pub egress: [u16; 2],
    /// Forward or drop.
    pub action: RuleAction,
    /// The session's idle timeout, seconds (what an `AGE` action waits).
    pub idle_s: u32,
}

/// What a device (or the model) can offload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Forwarding to the peer port in hardware.
    pub forward: bool,
    /// Dropping in hardware.
    pub drop: bool,
    /// Per-rule counters.
    pub count: bool,
    /// Aging (idle notification) in hardware.
    pub age: bool,
    /// Marking packets with the session (partial offload: classification only).
    pub mark: bool,
    /// Rules the table holds.
    pub capacity: u32,
}

impl Capabilities {
    /// Whether rules of `action` can be installed.
    #[must_use]
    /// (Fully, or partially where the device can only mark.)
    pub fn supports(&self, action: RuleAction) -> bool {
        self.mark
            || match action {
                RuleAction::Forward => self.forward,
                RuleAction::Drop => self.drop,
            }
    }

    /// One line for the start-up log: what is supported.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (on, name) in [
            (self.forward, "forward"),
            (self.drop, "drop"),
            (self.count, "count"),
            (self.age, "age"),
            (self.mark, "mark"),
        ] {
            if on {
                parts.push(name);
            }
        }
        if parts.is_empty() {
            "no flow offload (sessions stay in software)".to_string()
        } else {
            if self.capacity == u32::MAX {
                // rte_flow has no capacity query: the device says when it is full.
                format!("{} (capacity not reported)", parts.join(", "))
            } else {
                format!("{} ({} rules)", parts.join(", "), self.capacity)
            }
        }
    }
}

/// An accepted rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Installed {
    /// The backend's rule ID.
    pub id: u32,
    /// When it matches packets, microseconds on the manager's clock.
    pub active_at_us: u64,
    /// Partial offload: the rule only marks the session's packets (the worker forwards and
    /// counts them, without a lookup); the rule has no counters of its own.
    pub partial: bool,
}

/// A rule's hardware counters, per canonical direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HwCounters {
    /// Packets.
    pub packets: [u64; 2],
    /// Bytes.
    pub bytes: [u64; 2],
}

impl HwCounters {
    /// Packets, both directions.
    #[must_use]
    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }
}

/// A device's flow table as the offload manager drives it. Calls come from the control
/// core only; none may block for long (a device call, not a wait).
pub trait OffloadBackend: Send {
    /// The backend's name (`model`, `rte-flow`).
    fn name(&self) -> &'static str;
    /// What it supports.
    fn capabilities(&self) -> Capabilities;
    /// Installs `rule` at `now_us`.
    ///
    /// # Errors
    /// Why the rule was not installed.
    fn insert(&mut self, rule: &Rule, now_us: u64) -> Result<Installed, FailReason>;
    /// Removes rule `id` and returns its final counters.
    fn remove(&mut self, id: u32, now_us: u64) -> HwCounters;
    /// Rule `id`'s counters now.
    fn counters(&self, id: u32) -> HwCounters;
    /// Rules in the table now (removed rules still freeing count).
    fn occupancy(&self) -> u32;
    /// Work the backend does over time (a model frees removed rules at its removal rate).
    fn tick(&mut self, _now_us: u64) {}
    /// Rules whose traffic stopped for their idle timeout (hardware aging, both
    /// directions) since the last call. A device with `AGE` but no `COUNT` tells idleness
    /// only this way.
    fn aged(&mut self) -> Vec<u32> {
        Vec::new()
    }
}

/// A backend for a device without flow offload (or a build without its driver): every
/// request is refused as unsupported, so every session stays in software, counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFlow;

impl OffloadBackend for NoFlow {
    fn name(&self) -> &'static str {
        "none"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    fn insert(&mut self, _rule: &Rule, _now_us: u64) -> Result<Installed, FailReason> {
        Err(FailReason::Unsupported)
    }
    fn remove(&mut self, _id: u32, _now_us: u64) -> HwCounters {
        HwCounters::default()
    }
    fn counters(&self, _id: u32) -> HwCounters {
        HwCounters::default()
    }
    fn occupancy(&self) -> u32 {
        0
    }
}
