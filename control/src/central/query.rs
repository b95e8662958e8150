//! The query plumbing between the show server and the control core: a [`Request`] names
//! the sessions and the workers to ask, and the answer comes back as [`Relay`] messages.

use crossbeam_channel::Sender;
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::{QueryCounts, QueryKind};
use svcard_dataplane::session::{SessionView, WorkerId};

/// What the control core sends back for a query, in order: for each worker asked,
/// `Begin`, its sessions, `End`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Nearly every message is a `Session` (two others per worker): boxing it would allocate per
// session relayed to save nothing.
#[allow(clippy::large_enum_variant)]
pub enum Relay {
    /// The worker's answer starts.
    Begin(WorkerId),
    /// One session, with its CP session ID if the control core recorded it.
    Session(SessionView, Option<u32>),
    /// The worker's answer is complete.
    End(WorkerId, QueryCounts),
}

/// A query for the control core.
#[derive(Debug)]
pub struct Request {
    /// Which sessions.
    pub filter: SessionFilter,
    /// What to do with them.
    pub kind: QueryKind,
    /// The workers to ask, in order.
    pub workers: Vec<WorkerId>,
    /// Where the answer goes (bounded: the client's pace).
    pub out: Sender<Relay>,
}
