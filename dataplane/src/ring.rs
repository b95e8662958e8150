//! The bounded SPSC rings between a worker and the control core, and what travels on them.
//!
//! Three rings per worker: events (worker → control: session born, changed, closed),
//! commands (control → worker: queries, clears) and replies (worker → control: query
//! answers, in bounded slices). A producer never waits: a full ring is counted and the item
//! dropped, except query replies, which the worker simply resumes on a later loop.

use crate::nat::Wing;
use crate::query::SessionFilter;
use crate::session::{Session, SessionInfo, SessionTable, SessionView, WorkerId};
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

/// A session event, as the control core's readers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The session at that moment.
    pub view: SessionView,
}

/// A session event as it crosses the ring: the session's two records as they were (its hot
/// and cold lines) and what its NAT wing adds, which the control core expands into the
/// [`Event`] its readers take ([`WireEvent::expand`], the same function the worker's views
/// come from). Three cache lines instead of the view's five: under a churn of millions of
/// sessions a second, every event is written by the worker and read by the control core on
/// another core, and those lines are what the worker pays for (docs/performance-notes.md).
#[derive(Debug, Clone, Copy)]
pub struct WireEvent {
    session: Session,
    info: SessionInfo,
    kind: EventKind,
    nat: Option<WireNat>,
    worker: WorkerId,
    slot: u32,
    now_ms: u32,
    now_s: u32,
}

// Three cache lines (the view is five).
const _: () = assert!(core::mem::size_of::<WireEvent>() <= 192);

/// What the books take of an event: from the expanded view when a reader needs it
/// ([`EventFacts::of`]), else straight from the records ([`WireEvent::facts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFacts {
    /// The session ID.
    pub id: u32,
    /// Its start, seconds since start.
    pub start_s: u32,
    /// Packets, both directions (with any hardware counts the view carries).
    pub packets: u64,
    /// Bytes, both directions (likewise).
    pub bytes: u64,
    /// Its service set.
    pub service_set: u16,
    /// Its action.
    pub action: crate::session::Action,
}

impl EventFacts {
    /// The facts of an expanded event.
    #[must_use]
    pub fn of(v: &SessionView) -> EventFacts {
        EventFacts {
            id: v.id,
            start_s: v.start_s,
            packets: v.packets(),
            bytes: v.flows[0].bytes + v.flows[1].bytes,
            service_set: v.service_set,
            action: v.action,
        }
    }
}

/// The part of a NAT wing a view shows.
#[derive(Debug, Clone, Copy)]
struct WireNat {
    addr: [u8; 4],
    port: u16,
    pool: u16,
    flags: u8,
}

impl WireEvent {
    /// The event of the session in `slot` of `table` at (`now_ms`, `now_s`).
    #[must_use]
    pub fn of(kind: EventKind, table: &SessionTable, slot: u32, now_ms: u32, now_s: u32) -> Self {
        Self::from_parts(
            kind,
            (table.get(slot), table.info(slot), table.wing(slot)),
            (table.worker(), slot),
            (now_ms, now_s),
        )
    }

    /// The event of a session from its records (one being removed: the table's expiry hands
    /// them out).
    #[must_use]
    pub fn from_parts(
        kind: EventKind,
        (session, info, wing): (&Session, &SessionInfo, Option<&Wing>),
        (worker, slot): (WorkerId, u32),
        (now_ms, now_s): (u32, u32),
    ) -> Self {
        WireEvent {
            session: *session,
            info: *info,
            kind,
            nat: wing.map(|w| WireNat {
                addr: w.public_addr,
                port: w.public_port,
                pool: w.pool,
                flags: w.flags,
            }),
            worker,
            slot,
            now_ms,
            now_s,
        }
    }

    /// What happened.
    #[must_use]
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// What the control core's books take of an event, without expanding it.
    #[must_use]
    pub fn facts(&self) -> EventFacts {
        let (packets, bytes) = self.session.counts(&self.info);
        EventFacts {
            id: crate::session::session_id(self.worker, self.slot),
            start_s: self.info.start_s,
            packets: packets[0] + packets[1],
            bytes: bytes[0] + bytes[1],
            service_set: self.info.service_set,
            action: self.session.action(),
        }
    }

    /// Whether the session ever went to offload (its close may carry hardware counts the
    /// offload manager adds to the expanded view).
    #[must_use]
    pub fn offloaded(&self) -> bool {
        self.info.offload != crate::offload::OffloadState::None as u8
    }

    /// The event as the control core's readers take it.
    #[must_use]
    pub fn expand(&self) -> Event {
        let v = self
            .session
            .view(&self.info, self.worker, self.slot, self.now_ms, self.now_s);
        Event {
            kind: self.kind,
            view: match self.nat {
                Some(n) => v.with_nat(n.addr, n.port, n.pool, n.flags),
                None => v,
            },
        }
    }
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
    producer: Mutex<Option<rtrb::Producer<WireEvent>>>,
    /// The control core's end. Its readers lock it (uncontended: the control core drains
    /// it, and only a stopping `svcard run` and tests look besides).
    consumer: Mutex<rtrb::Consumer<WireEvent>>,
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
    pub fn take_producer(&self) -> Option<rtrb::Producer<WireEvent>> {
        self.producer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
    /// The consuming end, locked for as long as the guard lives.
    pub fn consumer(&self) -> MutexGuard<'_, rtrb::Consumer<WireEvent>> {
        self.consumer.lock().unwrap_or_else(PoisonError::into_inner)
    }
    /// Takes the oldest event, expanded.
    pub fn pop(&self) -> Option<Event> {
        self.consumer().pop().ok().map(|w| w.expand())
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

/// Port block events a worker's ring holds.
pub const NAT_EVENTS: usize = 4096;

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
    /// Port blocks allocated and released (their logs), worker to control core.
    pub nat_events: ArrayQueue<crate::nat::BlockEvent>,
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
            nat_events: ArrayQueue::new(NAT_EVENTS),
        })
    }
}
