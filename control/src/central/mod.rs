//! The control core ("central point": it hands out CP session IDs). Its loop drains every worker's event ring into the books, and relays
//! show/clear queries: it sends a query to one worker at a time, pulls that worker's reply
//! slices only while the client's stream has room (so a slow client stalls its own query,
//! never a worker), and cancels the query if the client goes away. When a worker lost
//! events (its ring was full), [`reconcile`] walks its sessions and puts the books right.

use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use svcard_dataplane::query::SessionFilter;
use svcard_dataplane::ring::{
    CloseReason, Command, Event, EventFacts, EventKind, QueryKind, ReplyBody, WorkerRings,
};
use svcard_dataplane::session::{split_session_id, WorkerId};
use svcard_dataplane::stats::{LocalStats, SharedStats, MAX_SS_FIGURES, SS_FIGURES};

mod cp_ids;
mod query;
mod reconcile;
mod walk;
use cp_ids::{CpId, CpIds};
pub use query::{Relay, Request};
use walk::Reconciler;

use crate::gateway::rm::Conversations;
use crate::offload::{OffloadManager, OffloadShared};

/// A worker as the control core sees it.
#[derive(Debug, Clone)]
pub struct WorkerHandle {
    /// Its rings.
    pub rings: Arc<WorkerRings>,
    /// Its published counters.
    pub stats: Arc<SharedStats>,
}

/// Per-worker books of the resource manager.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerBooks {
    /// Sessions recorded (created events seen).
    pub created: u64,
    /// Sessions that ended, by reason: idle, lifetime, TCP close, cleared, closed by an ALG.
    pub closed: [u64; 5],
    /// State-change events seen.
    pub changed: u64,
    /// Sessions recorded and not yet closed.
    pub live: u64,
    /// Packets of the sessions that closed, both directions, software and hardware.
    pub closed_packets: u64,
    /// Bytes of the sessions that closed, likewise.
    pub closed_bytes: u64,
    /// Per service set, what its sessions that closed carried.
    pub service_sets: SsBooks,
}

/// Per service set (the first [`MAX_SS_FIGURES`]), the sessions that closed and their
/// packets by the action of their session, software and hardware
/// (`show services stateful-firewall statistics`: the existing flows' share that ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsBooks(pub [SsClosed; MAX_SS_FIGURES]);

impl Default for SsBooks {
    fn default() -> Self {
        SsBooks([SsClosed::default(); MAX_SS_FIGURES])
    }
}

/// One service set's closed sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SsClosed {
    /// Sessions that closed.
    pub ended: u64,
    /// Their packets, by the session's action: forwarded (Forward, Watch, Bypass),
    /// discarded, rejected.
    pub packets: [u64; 3],
}

impl SsBooks {
    /// Counts a closed session.
    pub fn close(&mut self, f: &EventFacts) {
        if let Some(c) = self.0.get_mut(usize::from(f.service_set)) {
            c.ended += 1;
            c.packets[f.action.packet_class()] += f.packets;
        }
    }
}

/// The control core's books, readable by the show server.
#[derive(Debug, Default)]
pub struct Books {
    /// Per worker.
    pub workers: Vec<WorkerBooks>,
    /// Events taken from the rings.
    pub events: u64,
}

// ---------------------------------------------------------------------------------------
// The resource manager's ALG conversation book (`show services alg conversations`).
//
// The ALGs record here the conversations they govern: per worker (member interface) and
// ALG, each conversation is a group with its parent (control) session and the resources
// (pinholes) that hold its child sessions. The show server reads it under a short lock.

/// Handles the show server uses to talk to the control core.
#[derive(Debug, Clone)]
pub struct ControlHandle {
    /// Submit queries here.
    pub requests: Sender<Request>,
    /// The books (snapshot under a short lock; the control core updates them in batches).
    pub books: Arc<Mutex<Books>>,
    /// The workers.
    pub workers: Vec<WorkerHandle>,
    /// Queries answered.
    pub queries: Arc<AtomicU64>,
    /// The resource manager's ALG conversations.
    pub conversations: Arc<Mutex<Conversations>>,
    /// Per-ALG statistics (`show services alg statistics`), published by the gateway.
    pub alg_statistics: Arc<Mutex<crate::gateway::rm::AlgStatistics>>,
    /// The baselines of `clear services alg statistics`.
    pub alg_cleared: Arc<Mutex<crate::gateway::rm::AlgCleared>>,
    /// Packets the gateway holds (handed off, not yet sent): the run loop waits for it to
    /// empty before stopping the workers.
    pub alg_backlog: Arc<AtomicU64>,
    /// The offload manager's figures (`show services offload statistics`).
    pub offload: Arc<OffloadShared>,
    /// The session logger's figures (zeros when `[log]` is off).
    pub logs: Arc<LogStats>,
    /// Times the books were reconciled with a worker's table after it lost events.
    pub reconciles: Arc<AtomicU64>,
    /// The IPFIX exporter's figures (zeros when `[ipfix]` is off).
    pub ipfix: Arc<IpfixStats>,
    /// What `show svcard runtime` computes from: samples of each worker's figures, about
    /// a second apart, and the baseline of the last `clear svcard runtime`.
    pub runtime: Arc<Mutex<RuntimeSamples>>,
    /// Per worker, the per-service-set figures at the last `clear services stateful-firewall
    /// statistics` (none: since start).
    pub sfw_cleared: Arc<Mutex<Vec<Option<SfwBaseline>>>>,
    /// Per worker and service set, the flow-limit drops at the last `clear services
    /// service-sets statistics packet-drops` (zeros: since start).
    pub ss_drops_cleared: Arc<Mutex<Vec<Vec<u64>>>>,
    /// What `show interfaces` reads of the ports (the port backend's, when it keeps any).
    pub port_status: PortStatusHandle,
    /// The ports deterministic NAT blocks hold, card-wide (none: no deterministic rule).
    pub det_ports: Option<Arc<svcard_dataplane::nat::DetPorts>>,
}

/// The port backend's [`PortStatusSource`](svcard_dataplane::port::PortStatusSource), if any.
#[derive(Clone, Default)]
pub struct PortStatusHandle(pub Option<Arc<dyn svcard_dataplane::port::PortStatusSource>>);

impl core::fmt::Debug for PortStatusHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.0.is_some() {
            "PortStatusHandle(Some)"
        } else {
            "PortStatusHandle(None)"
        })
    }
}

/// Samples of each worker's published figures for `show svcard runtime`.
#[derive(Debug, Default)]
pub struct RuntimeSamples {
    /// Per worker, the two latest samples (older first), taken about a second apart by the
    /// control core.
    pub samples: Vec<[Option<(Instant, LocalStats)>; 2]>,
    /// Per worker, the figures at the last clear (none: since start).
    pub cleared: Vec<Option<LocalStats>>,
}

/// One worker's per-service-set figures when they were cleared: the new-flow figures the
/// worker published, and each service set's packets of existing flows by class (live and
/// closed sessions), subtracted from what later shows give.
#[derive(Debug, Clone)]
pub struct SfwBaseline {
    /// [`LocalStats::service_sets`] then.
    pub figures: Box<[[u64; SS_FIGURES]; MAX_SS_FIGURES]>,
    /// Packets by class (forwarded, discarded, rejected) per service set then.
    pub packets: Box<[[u64; 3]; MAX_SS_FIGURES]>,
    /// Sessions closed per service set then.
    pub ended: Box<[u64; MAX_SS_FIGURES]>,
}

/// What the IPFIX exporter ([`crate::ipfix`]) counted.
#[derive(Debug, Default)]
pub struct IpfixStats {
    /// Flow records sent.
    pub records: AtomicU64,
    /// IPFIX messages sent.
    pub messages: AtomicU64,
    /// Closes lost because the exporter's channel was full.
    pub channel_full: AtomicU64,
    /// Messages the socket refused.
    pub send_errors: AtomicU64,
}

impl IpfixStats {
    /// The figures, by name.
    #[must_use]
    pub fn rows(&self) -> [(&'static str, u64); 4] {
        use std::sync::atomic::Ordering::Relaxed;
        [
            ("ipfix_records_sent", self.records.load(Relaxed)),
            ("ipfix_messages_sent", self.messages.load(Relaxed)),
            ("ipfix_channel_full", self.channel_full.load(Relaxed)),
            ("ipfix_send_errors", self.send_errors.load(Relaxed)),
        ]
    }
}

/// What the session logger ([`crate::logs`]) counted.
#[derive(Debug, Default)]
pub struct LogStats {
    /// Messages sent.
    pub sent: AtomicU64,
    /// Events lost because the logger's channel was full.
    pub channel_full: AtomicU64,
    /// Messages not sent: over the rate limit.
    pub rate_limited: AtomicU64,
    /// Messages the socket refused (TCP collector away, UDP error).
    pub send_errors: AtomicU64,
}

impl LogStats {
    /// The figures as (name, value), in display order.
    #[must_use]
    pub fn rows(&self) -> [(&'static str, u64); 4] {
        use std::sync::atomic::Ordering::Relaxed;
        [
            ("session_logs_sent", self.sent.load(Relaxed)),
            ("session_logs_channel_full", self.channel_full.load(Relaxed)),
            ("session_logs_rate_limited", self.rate_limited.load(Relaxed)),
            ("session_logs_send_errors", self.send_errors.load(Relaxed)),
        ]
    }
}

struct Active {
    id: u32,
    req: Request,
    pos: usize,
    sent_cmd: bool,
    begun: bool,
    /// Slot the worker starts from (after the last session relayed, when resumed).
    start: u32,
    /// Sessions relayed from the current worker so far (a resumed `Records` query asks
    /// for the rest of its limit).
    relayed: u64,
    /// Since when the client's stream has been full.
    stalled_since: Option<Instant>,
}

impl Active {
    fn new(req: Request) -> Active {
        Active {
            id: 0,
            req,
            pos: 0,
            sent_cmd: false,
            begun: false,
            start: 0,
            relayed: 0,
            stalled_since: None,
        }
    }
}

/// How long a client may leave its stream full while other requests wait before its query
/// is set aside (it resumes, where it stopped, after them).
pub const PREEMPT_AFTER: Duration = Duration::from_millis(50);

/// The control core's state.
#[derive(Debug)]
pub struct ControlCore {
    workers: Vec<WorkerHandle>,
    requests: Receiver<Request>,
    books: Arc<Mutex<Books>>,
    local: Vec<WorkerBooks>,
    events: u64,
    cp_ids: CpIds,
    next_cp: u32,
    /// The books' repair after lost events ([`reconcile`]).
    reconciler: Reconciler,
    /// Reconciliations done (readable by the show server).
    reconciles: Arc<AtomicU64>,
    /// `show svcard runtime`'s samples, and when the last was taken.
    runtime: Arc<Mutex<RuntimeSamples>>,
    last_sample: Option<Instant>,
    next_query: u32,
    queue: VecDeque<Active>,
    active: Option<ActiveDbg>,
    queries: Arc<AtomicU64>,
    /// Queries set aside because their client stopped reading while others waited.
    set_aside: u64,
    /// The ALG gateway, when attached.
    attachment: Option<Box<dyn Attachment>>,
    /// Event taps (the session logger).
    taps: Vec<Box<dyn EventTap>>,
    /// The offload manager, when offload is on.
    offload: Option<OffloadManager>,
}

impl core::fmt::Debug for dyn EventTap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EventTap")
    }
}

impl core::fmt::Debug for dyn Attachment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Attachment")
    }
}

/// Debug-printable wrapper (the request holds a channel).
struct ActiveDbg(Active);
impl core::fmt::Debug for Active {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "query {} at worker #{} from slot {}",
            self.id, self.pos, self.start
        )
    }
}

impl core::fmt::Debug for ActiveDbg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "query {} at worker #{}", self.0.id, self.0.pos)
    }
}

/// Work that runs on the control core beside the books and the queries (the ALG gateway):
/// it sees every event after the books took it, and gets a turn every iteration.
pub trait Attachment: Send {
    /// Whether it needs events of `kind` (each is expanded into a view for it).
    fn wants(&self, kind: EventKind) -> bool {
        let _ = kind;
        true
    }
    /// A worker's event.
    fn on_event(&mut self, worker: WorkerId, ev: &Event);
    /// One turn of its own work; true if it did anything.
    fn poll(&mut self) -> bool;
    /// A walk of `worker`'s sessions (asked for at `began`, after the worker lost events)
    /// found `live` (ID → start, key): what it holds of that worker's sessions that ended
    /// unseen before the walk began goes.
    fn forget_gone(
        &mut self,
        worker: WorkerId,
        live: &std::collections::HashMap<u32, (u32, svcard_dataplane::flow::FlowKey)>,
        began: std::time::Instant,
    ) {
        let _ = (worker, live, began);
    }
}

/// Something else that sees every event after the books (the session logger's channel).
pub trait EventTap: Send {
    /// A worker's event.
    fn on_event(&mut self, worker: WorkerId, ev: &Event);
    /// A worker allocated or released a NAT port block.
    fn on_block(&mut self, worker: WorkerId, ev: &svcard_dataplane::nat::BlockEvent) {
        let _ = (worker, ev);
    }
}

/// First CP session ID handed out.
pub const CP_ID_BASE: u32 = 1 << 28;

impl ControlCore {
    /// The control core for `workers`, and the handle the show server uses.
    #[must_use]
    pub fn new(workers: Vec<WorkerHandle>) -> (ControlCore, ControlHandle) {
        let (tx, rx) = crossbeam_channel::bounded(64);
        let books = Arc::new(Mutex::new(Books {
            workers: vec![WorkerBooks::default(); workers.len()],
            events: 0,
        }));
        let queries = Arc::new(AtomicU64::new(0));
        let reconciles = Arc::new(AtomicU64::new(0));
        let runtime = Arc::new(Mutex::new(RuntimeSamples::default()));
        let handle = ControlHandle {
            reconciles: Arc::clone(&reconciles),
            ipfix: Arc::default(),
            runtime: Arc::clone(&runtime),
            sfw_cleared: Arc::new(Mutex::new(vec![None; workers.len()])),
            ss_drops_cleared: Arc::new(Mutex::new(vec![Vec::new(); workers.len()])),
            port_status: PortStatusHandle::default(),
            det_ports: None,
            requests: tx,
            books: Arc::clone(&books),
            workers: workers.clone(),
            queries: Arc::clone(&queries),
            conversations: Arc::new(Mutex::new(Conversations::default())),
            alg_statistics: Arc::default(),
            alg_cleared: Arc::default(),
            alg_backlog: Arc::default(),
            offload: Arc::default(),
            logs: Arc::default(),
        };
        let n = workers.len();
        (
            ControlCore {
                workers,
                requests: rx,
                books,
                local: vec![WorkerBooks::default(); n],
                events: 0,
                cp_ids: CpIds::default(),
                next_cp: CP_ID_BASE,
                reconciler: Reconciler::default(),
                reconciles: Arc::clone(&reconciles),
                runtime,
                last_sample: None,
                next_query: 1,
                queue: VecDeque::new(),
                active: None,
                set_aside: 0,
                attachment: None,
                taps: Vec::new(),
                offload: None,
                queries,
            },
            handle,
        )
    }

    /// Attaches work that runs beside the books (the ALG gateway).
    pub fn attach(&mut self, a: Box<dyn Attachment>) {
        self.attachment = Some(a);
    }

    /// Adds an event tap.
    pub fn tap(&mut self, t: Box<dyn EventTap>) {
        self.taps.push(t);
    }

    /// Runs the offload manager here: it sees every event first (a close carries the
    /// hardware's final counts) and completes every session a query relays.
    pub fn attach_offload(&mut self, m: OffloadManager) {
        self.offload = Some(m);
    }

    /// The CP session ID recorded for a session.
    #[must_use]
    pub fn cp_id(&self, session: u32) -> Option<u32> {
        self.cp_ids.get(session).map(|c| c.cp)
    }

    /// Runs until `stop` is set. While there is work it polls back to back; idle, it sleeps
    /// between polls, 50 µs at first and twice as long after each idle poll up to 1 ms. Under
    /// steady established traffic (no events) it thus wakes 1,000 times a second instead of
    /// 20,000 (it took 6 % of its core), and it is back to polling within 50 µs of the first
    /// work. The wait costs nothing: a worker's event ring holds 65,536 events, 15 ms of the
    /// setup-rate scenario's 4.3 M events a second.
    pub fn run(&mut self, stop: &AtomicBool) {
        const FIRST_NAP: Duration = Duration::from_micros(50);
        const LONGEST_NAP: Duration = Duration::from_millis(1);
        let mut nap = FIRST_NAP;
        while !stop.load(Ordering::Relaxed) {
            if self.poll() {
                nap = FIRST_NAP;
            } else {
                std::thread::sleep(nap);
                nap = (nap * 2).min(LONGEST_NAP);
            }
        }
        self.publish();
    }

    /// One iteration. Returns true if it did anything.
    pub fn poll(&mut self) -> bool {
        let mut busy = self.drain_events(4096) > 0;
        busy |= self.drain_block_events(1024) > 0;
        if let Some(a) = self.attachment.as_mut() {
            busy |= a.poll();
        }
        if let Some(o) = self.offload.as_mut() {
            busy |= o.poll();
        }
        while let Ok(r) = self.requests.try_recv() {
            // A count sends its client a line per worker, never a walk's worth: it goes
            // ahead of the walks waiting (in arrival order among counts), so walks whose
            // clients stopped reading cannot hold it up.
            let at = if r.kind == QueryKind::Count {
                self.queue
                    .iter()
                    .position(|a| a.req.kind != QueryKind::Count)
                    .unwrap_or(self.queue.len())
            } else {
                self.queue.len()
            };
            self.queue.insert(at, Active::new(r));
        }
        busy |= self.reconcile_step();
        busy |= self.drive_query();
        self.publish();
        busy
    }

    fn publish(&mut self) {
        if let Ok(mut b) = self.books.lock() {
            b.workers.clone_from(&self.local);
            b.events = self.events;
        }
        self.sample_runtime();
    }

    /// Once a second: each worker's figures, for `show svcard runtime`'s rates.
    fn sample_runtime(&mut self) {
        let now = Instant::now();
        if self
            .last_sample
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.last_sample = Some(now);
        let snaps: Vec<LocalStats> = self.workers.iter().map(|h| h.stats.snapshot()).collect();
        if let Ok(mut rt) = self.runtime.lock() {
            rt.samples.resize(snaps.len(), [None, None]);
            for (slot, s) in rt.samples.iter_mut().zip(snaps) {
                slot[0] = slot[1].take();
                slot[1] = Some((now, s));
            }
        }
    }

    /// Takes up to `budget` NAT port block events from each worker's ring to the taps (the
    /// session logger's, the IPFIX exporter's).
    pub fn drain_block_events(&mut self, budget: usize) -> usize {
        let mut n = 0;
        for (w, h) in self.workers.iter().enumerate() {
            let wid = WorkerId::from_index(w).unwrap_or_default();
            for _ in 0..budget {
                let Some(e) = h.rings.nat_events.pop() else {
                    break;
                };
                n += 1;
                for t in &mut self.taps {
                    t.on_block(wid, &e);
                }
            }
        }
        n
    }

    /// Takes up to `budget` events from each worker's ring into the books.
    pub fn drain_events(&mut self, budget: usize) -> usize {
        let mut n = 0;
        for (w, h) in self.workers.iter().enumerate() {
            let mut ring = h.rings.events.consumer();
            for _ in 0..budget {
                let Ok(wire) = ring.pop() else {
                    break;
                };
                n += 1;
                let kind = wire.kind();
                // The whole view only for a reader that takes it: at millions of events a
                // second, expanding every one is most of the control core's work.
                let expand = !self.taps.is_empty()
                    || (self.offload.is_some() && wire.offloaded())
                    || self.attachment.as_ref().is_some_and(|a| a.wants(kind));
                let mut ev = expand.then(|| wire.expand());
                if let (Some(o), Some(ev)) = (self.offload.as_mut(), ev.as_mut()) {
                    o.on_event(ev);
                }
                let f = ev
                    .as_ref()
                    .map_or_else(|| wire.facts(), |e| EventFacts::of(&e.view));
                let b = &mut self.local[w];
                match kind {
                    EventKind::Created => {
                        b.created += 1;
                        b.live += 1;
                        self.cp_ids.insert(
                            f.id,
                            CpId {
                                cp: self.next_cp,
                                start_s: f.start_s,
                                at_event: self.events + n as u64,
                            },
                        );
                        self.next_cp = self.next_cp.wrapping_add(1).max(CP_ID_BASE);
                    }
                    EventKind::Changed => b.changed += 1,
                    EventKind::Matched(_) => {}
                    EventKind::Closed(reason) => {
                        let i = match reason {
                            CloseReason::Idle => 0,
                            CloseReason::Lifetime => 1,
                            CloseReason::TcpClose => 2,
                            CloseReason::Cleared => 3,
                            CloseReason::Alg => 4,
                        };
                        b.closed[i] += 1;
                        b.live = b.live.saturating_sub(1);
                        b.closed_packets += f.packets;
                        b.closed_bytes += f.bytes;
                        b.service_sets.close(&f);
                        self.cp_ids.remove(f.id);
                    }
                }
                let Some(ev) = ev else {
                    continue;
                };
                let wid = WorkerId::from_index(w).unwrap_or_default();
                if let Some(a) = self.attachment.as_mut() {
                    a.on_event(wid, &ev);
                }
                for t in &mut self.taps {
                    t.on_event(wid, &ev);
                }
            }
        }
        self.events += n as u64;
        n
    }

    fn drive_query(&mut self) -> bool {
        if self.active.is_none() {
            let Some(mut a) = self.queue.pop_front() else {
                return false;
            };
            // A new number for every (re)start: replies of a set-aside run are dropped.
            a.id = self.next_query;
            a.sent_cmd = false;
            a.stalled_since = None;
            self.next_query = self.next_query.wrapping_add(1).max(1);
            self.active = Some(ActiveDbg(a));
        }
        let Some(ActiveDbg(a)) = self.active.as_mut() else {
            return false;
        };
        let mut did = false;
        loop {
            let Some(&w) = a.req.workers.get(a.pos) else {
                self.active = None;
                self.queries.fetch_add(1, Ordering::Relaxed);
                return true;
            };
            let Some(h) = self.workers.get(w.index()) else {
                a.pos += 1;
                continue;
            };
            if !a.sent_cmd {
                let kind = match a.req.kind {
                    QueryKind::Records { limit } => QueryKind::Records {
                        limit: limit.saturating_sub(a.relayed),
                    },
                    k => k,
                };
                let cmd = Command::Query {
                    id: a.id,
                    filter: a.req.filter,
                    kind,
                    start: a.start,
                };
                if h.rings.commands.push(cmd).is_err() {
                    return did;
                }
                a.sent_cmd = true;
                did = true;
            }
            if !a.begun {
                match a.req.out.try_send(Relay::Begin(w)) {
                    Ok(()) => a.begun = true,
                    Err(TrySendError::Full(_)) => return did,
                    Err(TrySendError::Disconnected(_)) => {
                        return self.abandon(w);
                    }
                }
            }
            // Relay while the client has room.
            loop {
                if a.req.out.is_full() {
                    let since = *a.stalled_since.get_or_insert_with(Instant::now);
                    // A stalled walk yields after PREEMPT_AFTER to whatever waits, at once
                    // to a count.
                    let count_waits = self
                        .queue
                        .front()
                        .is_some_and(|q| q.req.kind == QueryKind::Count);
                    if (since.elapsed() >= PREEMPT_AFTER && !self.queue.is_empty()) || count_waits {
                        return self.set_aside(w);
                    }
                    return did;
                }
                a.stalled_since = None;
                let Some(reply) = h.rings.replies.pop() else {
                    return did;
                };
                did = true;
                if reply.query != a.id {
                    // A reply of an abandoned query.
                    continue;
                }
                let msg = match reply.body {
                    ReplyBody::Session(mut v) => {
                        if let Some(o) = self.offload.as_ref() {
                            o.complete_view(&mut v);
                        }
                        if let Some((_, slot)) = split_session_id(v.id) {
                            a.start = slot + 1;
                        }
                        a.relayed += 1;
                        // A CP ID belongs to the session that started when it was given
                        // (a slot reused while a close was lost is another session).
                        let cp = self
                            .cp_ids
                            .get(v.id)
                            .filter(|c| c.start_s == v.start_s)
                            .map(|c| c.cp);
                        Relay::Session(v, cp)
                    }
                    ReplyBody::Done(c) => Relay::End(w, c),
                };
                let done = matches!(msg, Relay::End(..));
                if a.req.out.try_send(msg).is_err() {
                    return self.abandon(w);
                }
                if done {
                    a.pos += 1;
                    a.sent_cmd = false;
                    a.begun = false;
                    a.start = 0;
                    a.relayed = 0;
                    break;
                }
            }
        }
    }

    /// The client of the active query stopped reading while others wait: cancel its run on
    /// the worker and queue it behind them, to resume after the last session it was sent.
    fn set_aside(&mut self, w: WorkerId) -> bool {
        if let Some(ActiveDbg(a)) = self.active.take() {
            if let Some(h) = self.workers.get(w.index()) {
                h.rings.cancelled.store(a.id, Ordering::Release);
            }
            self.set_aside += 1;
            self.queue.push_back(a);
        }
        true
    }

    fn abandon(&mut self, w: WorkerId) -> bool {
        if let Some(ActiveDbg(a)) = self.active.take() {
            if let Some(h) = self.workers.get(w.index()) {
                h.rings.cancelled.store(a.id, Ordering::Release);
            }
        }
        true
    }
}

/// Runs a query through the control core and calls `each` for every relay message, in
/// order. Blocks the calling (server) thread only.
///
/// # Errors
/// When the control core is gone.
pub fn run_query(
    handle: &ControlHandle,
    filter: SessionFilter,
    kind: QueryKind,
    workers: Vec<WorkerId>,
    mut each: impl FnMut(Relay) -> bool,
) -> Result<(), &'static str> {
    let (tx, rx) = crossbeam_channel::bounded(1024);
    handle
        .requests
        .send_timeout(
            Request {
                filter,
                kind,
                workers,
                out: tx,
            },
            Duration::from_secs(5),
        )
        .map_err(|_| "control core not answering")?;
    while let Ok(m) = rx.recv() {
        if !each(m) {
            // Dropping the receiver tells the control core to cancel.
            return Ok(());
        }
    }
    Ok(())
}
