//! Session offload, the dataplane's side: a session's offload state and its transitions
//! ([`state`]), the policy decision on the packet path ([`policy`]), the backend-neutral rule
//! and the trait backends implement ([`backend`]), a session's `rte_flow` rules as plain
//! data ([`flow_spec`]), the emulated NIC ([`model`]), and the
//! link between a worker and the offload manager on the control core ([`OffloadLink`]).
//!
//! The flow of an offload: a session admitted under a policy other than `never` is *armed*
//! (a bit in its hot line); its packets check the policy's trigger; when it fires, the
//! worker puts an [`InstallRequest`] on its bounded request ring (full: the session stays in
//! software, counted) and the session is `requested`. The manager (control core) checks the
//! card's cap and insertion budget, asks the backend, and answers [`ToWorker::Active`] once
//! the rule matches packets, or [`ToWorker::Refused`] with the reason. A FIN or RST, a
//! clear, a timeout or an ALG's close withdraws the rule ([`ToManager::Withdraw`]); the
//! manager adds the rule's hardware counters to the session's as it reports them.

pub mod backend;
pub mod flow_spec;
pub mod model;
pub mod policy;
pub mod state;

use crossbeam_queue::ArrayQueue;
use std::sync::Arc;

use crate::flow::{Direction, FlowKey};
pub use backend::{Capabilities, HwCounters, Installed, NoFlow, OffloadBackend, Rule, RuleAction};
pub use model::{ModelCells, NicModel};
pub use state::{FailReason, OffloadState};

/// What a worker asks of the offload manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToManager {
    /// Install a rule for a session whose policy fired.
    Install(InstallRequest),
    /// The session's rule (installed or still requested) is no longer wanted.
    Withdraw {
        /// The session's ID.
        session: u32,
        /// Its key (tells a reused ID from the session before).
        key: FlowKey,
        /// Why.
        reason: WithdrawReason,
    },
}

/// A session whose offload policy fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallRequest {
    /// The session's ID.
    pub session: u32,
    /// Its canonical key.
    pub key: FlowKey,
    /// The initiator's direction in the key.
    pub initiator: Direction,
    /// The port each canonical direction arrives on (`u8::MAX`: not seen yet).
    pub ingress: [u8; 2],
    /// Forward (to the ingress port's peer) or drop.
    pub action: RuleAction,
    /// The policy that fired (index into the configuration's offload policies).
    pub policy: u16,
    /// Milliseconds from the session's first packet to the request.
    pub age_ms: u32,
    /// The session's idle timeout now, seconds.
    pub idle_s: u32,
    /// When the request was made (shared clock, milliseconds).
    pub at_ms: u32,
}

/// Why a rule is withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WithdrawReason {
    /// A TCP FIN or RST: the close is tracked in software.
    TcpClose = 0,
    /// The session ended (timeout, clear, an ALG's close).
    Closed = 1,
}

/// What the offload manager tells a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToWorker {
    /// The session's rule matches packets now.
    Active {
        /// The session's ID.
        session: u32,
        /// Its key.
        key: FlowKey,
        /// The backend's rule ID.
        rule: u32,
        /// Partial offload: the rule marks the session's packets, the worker still forwards
        /// them (without a lookup).
        partial: bool,
    },
    /// The request failed: the session stays in software.
    Refused {
        /// The session's ID.
        session: u32,
        /// Its key.
        key: FlowKey,
        /// Why.
        reason: FailReason,
    },
    /// The hardware saw the session's packets since the last report: its idle timer
    /// restarts.
    Activity {
        /// The session's ID.
        session: u32,
        /// Its key.
        key: FlowKey,
    },
}

/// Ring sizes of an [`OffloadLink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffloadLinkSizes {
    /// worker → manager entries.
    pub requests: usize,
    /// manager → worker entries.
    pub replies: usize,
}

impl Default for OffloadLinkSizes {
    fn default() -> Self {
        OffloadLinkSizes {
            requests: 4096,
            replies: 8192,
        }
    }
}

/// One worker's link to the offload manager.
#[derive(Debug)]
pub struct OffloadLink {
    /// worker → manager.
    pub requests: ArrayQueue<ToManager>,
    /// manager → worker.
    pub replies: ArrayQueue<ToWorker>,
    /// The NIC model's counter cells, when the backend is the model: the worker counts the
    /// packets of sessions whose rule is active there (the emulated hardware path).
    pub model: Option<Arc<ModelCells>>,
    /// The backend can install partial (`MARK`) rules: the worker reads frames' marks.
    pub marks: bool,
}

impl OffloadLink {
    /// A link of the given sizes; `model` when the backend is the NIC model; `marks` when
    /// it can install partial rules.
    #[must_use]
    pub fn new(
        sizes: OffloadLinkSizes,
        model: Option<Arc<ModelCells>>,
        marks: bool,
    ) -> OffloadLink {
        OffloadLink {
            requests: ArrayQueue::new(sizes.requests.max(1)),
            replies: ArrayQueue::new(sizes.replies.max(1)),
            model,
            marks,
        }
    }
}

/// A session's offload figures as a worker reports them and the manager completes them
/// (part of [`crate::session::SessionView`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OffloadView {
    /// The state.
    pub state: OffloadState,
    /// Why it failed (meaningful in state `Failed`).
    pub reason: FailReason,
    /// The rule only marks the session's packets (partial offload; the worker forwards
    /// them).
    pub partial: bool,
    /// The policy (index into the configuration's offload policies; 0: never).
    pub policy: u16,
    /// The backend's rule ID (state `Offloaded`, `Withdrawn`).
    pub rule: u32,
    /// Packets the hardware handled, per direction of the view (initiator's first), as last
    /// read; included in the view's flow counters.
    pub hw_packets: [u64; 2],
    /// Bytes the hardware handled, likewise.
    pub hw_bytes: [u64; 2],
}
