//! The reconciler's state, kept by the control core: the walk under way and what the last
//! one saw ([`super::reconcile`] runs them).

use crossbeam_channel::Receiver;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use svcard_dataplane::flow::FlowKey;

use super::query::Relay;

/// The walk under way.
#[derive(Debug)]
pub(super) struct Walk {
    pub(super) worker: usize,
    pub(super) rx: Receiver<Relay>,
    /// Live sessions seen: ID → (start, key).
    pub(super) live: HashMap<u32, (u32, FlowKey)>,
    /// The event count when the walk was asked for.
    pub(super) began_at_event: u64,
    /// The offload manager's clock then, microseconds.
    pub(super) began_us: u64,
    /// When it was asked for.
    pub(super) began: Instant,
}

/// The reconciler's state, kept by the control core.
#[derive(Debug, Default)]
pub(super) struct Reconciler {
    /// Per worker, its `event_ring_full` when last reconciled.
    pub(super) lost_seen: Vec<u64>,
    pub(super) walk: Option<Walk>,
    pub(super) last_check: Option<Instant>,
    /// When the last walk was asked for.
    pub(super) last_walk: Option<Instant>,
    /// How long the last complete walk took.
    pub(super) last_walk_took: Option<Duration>,
    /// Walks completed.
    pub(super) done: u64,
}
