//! The bounded SPSC rings between a worker and the control core, and what travels on them.
//!
//! Three rings per worker: events (worker → control: session born, changed, closed),
//! commands (control → worker: queries, clears) and replies (worker → control: query
//! answers, in bounded slices). A producer never waits: a full ring is counted and the item
//! dropped, except query replies, which the worker simply resumes on a later loop.

use crate::query::SessionFilter;
use crate::session::SessionView;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Idle timeout.
    Idle,
    /// The absolute session lifetime ran out.
    Lifetime,
    /// TCP closed (both FINs acknowledged, or RST).
    TcpClose,
    /// Cleared by an operator command.
    Cleared,
    /// Closed by its ALG (a DNS query answered).
    Alg,
}

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A session was created.
    Created,
    /// Its state changed (TCP established, action changed).
    Changed,
    /// It ended; the view carries its final counters.
    Closed(CloseReason),
    /// It was opened through the ALG pinhole of this ID (follows its `Created`).
    Matched(u32),
}

/// A session event from a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The session at that moment.
    pub view: SessionView,
}

/// What a query asks of the selected sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// Send each selected session, at most `limit`.
    Records {
        /// Most sessions to send.
        limit: u64,
    },
    /// Count selected sessions by state.
    Count,
    /// Mark selected sessions for deletion; the worker removes them between bursts.
    Clear,
}

/// A command from the control core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Start a query. A worker runs one query at a time; later ones wait in the ring.
    Query {
        /// Query number, echoed in replies.
        id: u32,
        /// Which sessions.
        filter: SessionFilter,
        /// What to do with them.
        kind: QueryKind,
        /// First slot to visit (0 for a new query; a resumed query continues after the
        /// last session it delivered).
        start: u32,
    },
}

/// Counts of the sessions a query selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryCounts {
    /// Sessions selected.
    pub matched: u64,
    /// Valid (established or forwarding) sessions.
    pub valid: u64,
    /// Pending sessions (TCP handshake not complete).
    pub pending: u64,
    /// Invalidated sessions (closing, marked for deletion).
    pub invalidated: u64,
    /// Sessions in other states.
    pub other: u64,
    /// Sessions marked for deletion by a clear.
    pub cleared: u64,
    /// Count queries: the selected sessions' packets (both directions, software-counted)
    /// by their action: forwarded (Forward, Watch, Bypass), discarded, rejected.
    pub packets: [u64; 3],
}

/// The body of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Nearly every reply is a session, and the worker may not allocate: no box.
#[allow(clippy::large_enum_variant)]
pub enum ReplyBody {
    /// One selected session.
    Session(SessionView),
    /// The query is complete; counts of what it selected.
    Done(QueryCounts),
}

/// A reply to a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// The query number.
    pub query: u32,
    /// What it carries.
    pub body: ReplyBody,
}

/// Ring sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingSizes {
    /// Event ring entries.
    pub events: usize,
    /// Command ring entries.
    pub commands: usize,
    /// Reply ring entries.
    pub replies: usize,
}

impl Default for RingSizes {
    fn default() -> Self {
        Self {
            events: 65_536,
            commands: 64,
            replies: 4096,
        }
    }
}

/// The event ring (worker → control): a wait-free single-producer single-consumer ring
/// ([`rtrb`]). A push is a copy and one release store, with no locked instruction: with
/// crossbeam's multi-producer `ArrayQueue` each event cost a compare-and-swap, which also
/// waits for the stores before it, and in the setup-rate scenario (two events per session)
/// that took 32 % of the worker's time.
pub struct EventRing {
    /// The worker's end, taken once by the worker ([`take_producer`](Self::take_producer)).
    producer: Mutex<Option<rtrb::Producer<Event>>>,
    /// The control core's end. Its readers lock it (uncontended: the control core drains
    /// it, and only a stopping `svcard run` and tests look besides).
    consumer: Mutex<rtrb::Consumer<Event>>,
}

impl EventRing {
    /// A ring of `capacity` events.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let (p, c) = rtrb::RingBuffer::new(capacity.max(1));
        Self {
            producer: Mutex::new(Some(p)),
            consumer: Mutex::new(c),
        }
    }
    /// The producing end, once (the worker takes it when it starts); `None` after.
    pub fn take_producer(&self) -> Option<rtrb::Producer<Event>> {
        self.producer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
    /// The consuming end, locked for as long as the guard lives.
    pub fn consumer(&self) -> MutexGuard<'_, rtrb::Consumer<Event>> {
        self.consumer.lock().unwrap_or_else(PoisonError::into_inner)
    }
    /// Takes the oldest event.
    pub fn pop(&self) -> Option<Event> {
        self.consumer().pop().ok()
    }
    /// No event waiting.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.consumer().is_empty()
    }
}

impl core::fmt::Debug for EventRing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventRing")
            .field("waiting", &self.consumer().slots())
            .finish()
    }
}

/// The rings of one worker, shared by the worker and the control core.
#[derive(Debug)]
pub struct WorkerRings {
    /// worker → control.
    pub events: EventRing,
    /// control → worker.
    pub commands: ArrayQueue<Command>,
    /// worker → control.
    pub replies: ArrayQueue<Reply>,
    /// The number of a query the control core abandoned (its client went away); the
    /// worker drops that query when it sees it.
    pub cancelled: AtomicU32,
    /// control → worker: a reloaded configuration (one at a time).
    pub reconfig: ArrayQueue<Box<crate::worker::Reconfig>>,
    /// worker → control: the configuration it replaced, to be freed off the worker.
    pub retired: ArrayQueue<Box<crate::worker::Reconfig>>,
}

impl WorkerRings {
    /// Rings of the given sizes.
    #[must_use]
    pub fn new(sizes: RingSizes) -> Arc<Self> {
        Arc::new(Self {
            events: EventRing::new(sizes.events),
            commands: ArrayQueue::new(sizes.commands.max(1)),
            replies: ArrayQueue::new(sizes.replies.max(1)),
            cancelled: AtomicU32::new(0),
            reconfig: ArrayQueue::new(1),
            retired: ArrayQueue::new(1),
        })
    }
}
