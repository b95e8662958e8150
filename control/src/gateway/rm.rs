//! The resource manager: the books of what the ALGs opened.
//!
//! A *conversation* is a parent (control) session with its resource group (the group ID);
//! its *resources* are the pinholes the ALG opened, each with an ID, a state and a timeout,
//! and the child sessions that matched it. Caps: conversations per ALG (`[alg.NAME]
//! max-conversations`) and pinholes per conversation (`max-pinholes-per-conversation`).
//! Pinholes nobody used lapse; a conversation ends when its parent is gone and nothing of
//! it remains. Everything is counted per ALG for `show services alg statistics`.
//!
//! The manager keeps its own maps; [`ResourceManager::book`] renders them into the
//! [`Conversations`] book the show server reads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use svcard_alg::{
    Actions, Alg as _, AlgConfig, AlgCounters, AnyAlg, Expectation, FlowCtx, PortList,
};
use svcard_config::{AlgKind, Config, WorkerId};
use svcard_dataplane::flow::{Endpoint, FlowKey};
use svcard_dataplane::session::pinhole::{lapsed, PinholeSpec};
use svcard_dataplane::session::{Action, SessionView};

// ---------------------------------------------------------------------------------------
// The book: conversations, their sessions and resources, as the show commands read them.

/// State of a conversation, group, resource or parent session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConvState {
    /// In use.
    #[default]
    Active,
    /// Ended (a closed parent may leave its children running).
    Closed,
}

impl ConvState {
    /// `active` or `closed`, as Junos prints it.
    #[must_use]
    pub fn junos_name(self) -> &'static str {
        match self {
            ConvState::Active => "active",
            ConvState::Closed => "closed",
        }
    }
}

/// One direction of a conversation's session: `{src -> dst}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvFlow {
    /// Sender.
    pub src: svcard_dataplane::flow::Endpoint,
    /// Receiver.
    pub dst: svcard_dataplane::flow::Endpoint,
}

/// A parent or child session of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSession {
    /// Session ID.
    pub id: u32,
    /// IP protocol number.
    pub protocol: u8,
    /// The initiator's flow.
    pub forward: ConvFlow,
    /// The responder's flow, once known.
    pub reverse: Option<ConvFlow>,
}

/// A resource (pinhole) of a conversation and the child sessions it opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvResource {
    /// Resource ID.
    pub id: u32,
    /// Its state.
    pub state: ConvState,
    /// Child sessions.
    pub sessions: Vec<ConvSession>,
    /// The gate (pinhole) while it waits for its child (`show security flow gate`).
    pub gate: Option<Gate>,
}

/// A gate: what a pinhole admits, as `show security flow gate` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// IP protocol number.
    pub protocol: u8,
    /// The child's source address (`None`: any).
    pub src: Option<IpAddr>,
    /// The child's source port (`None`: any).
    pub src_port: Option<u16>,
    /// The child's destination address.
    pub dst: IpAddr,
    /// The child's destination port (`None`: any).
    pub dst_port: Option<u16>,
    /// Where source NAT sends the child (the private endpoint behind a pool's ALG port).
    pub translated: Option<(IpAddr, u16)>,
    /// When the gate lapses unused.
    pub expires: std::time::Instant,
    /// Used up by its first child (else it admits each child until it lapses).
    pub one_shot: bool,
    /// Its child is watched by an ALG in turn (an FTP data connection is not; an H.245
    /// connection is).
    pub watched: bool,
    /// The child's application (index in the configuration's applications).
    pub application: u16,
    /// The service set of the conversation.
    pub service_set: u16,
}

/// A conversation: a resource group, its parent session and its resources.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conversation {
    /// Group ID.
    pub group_id: u32,
    /// Group state.
    pub state: ConvState,
    /// The parent session's status as the ALG reports it (`None`: the ALG does not).
    pub parent_status: Option<ConvState>,
    /// The parent session while it exists.
    pub parent: Option<ConvSession>,
    /// Resources, in creation order.
    pub resources: Vec<ConvResource>,
}

impl Conversation {
    /// The parent session's state: as reported, else active while it exists.
    #[must_use]
    pub fn parent_state(&self) -> ConvState {
        self.parent_status.unwrap_or(if self.parent.is_some() {
            ConvState::Active
        } else {
            ConvState::Closed
        })
    }
    /// Child sessions across resources, in order.
    pub fn children(&self) -> impl Iterator<Item = &ConvSession> {
        self.resources.iter().flat_map(|r| r.sessions.iter())
    }
}

/// The conversations of one ALG on one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgConversations {
    /// The worker (member interface).
    pub worker: WorkerId,
    /// The ALG (`application-protocol` filter).
    pub alg: svcard_config::AlgKind,
    /// The name printed (`FTP ALG`; an ALG may keep several books, H.323 and its `RAS ALG`).
    pub name: String,
    /// The ALG's state.
    pub state: ConvState,
    /// Its conversations.
    pub conversations: Vec<Conversation>,
}

/// The book: per worker and ALG, the conversations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conversations {
    /// In worker order, then in the order ALGs first recorded a conversation there.
    pub algs: Vec<AlgConversations>,
}

impl Conversations {
    /// The book of ALG `alg` named `name` on `worker`, created (active, empty) if missing.
    pub fn book(
        &mut self,
        worker: WorkerId,
        alg: svcard_config::AlgKind,
        name: &str,
    ) -> &mut AlgConversations {
        let i = match self
            .algs
            .iter()
            .position(|a| a.worker == worker && a.alg == alg && a.name == name)
        {
            Some(i) => i,
            None => {
                let at = self
                    .algs
                    .iter()
                    .position(|a| a.worker > worker)
                    .unwrap_or(self.algs.len());
                self.algs.insert(
                    at,
                    AlgConversations {
                        worker,
                        alg,
                        name: name.to_string(),
                        state: ConvState::Active,
                        conversations: Vec::new(),
                    },
                );
                at
            }
        };
        &mut self.algs[i]
    }

    /// Records a conversation of `alg` (its display name) on `worker`.
    pub fn insert(&mut self, worker: WorkerId, alg: svcard_config::AlgKind, c: Conversation) {
        self.book(worker, alg, alg.display_name())
            .conversations
            .push(c);
    }

    /// Forgets the conversation of group `group_id`; empty books go too.
    pub fn remove_group(&mut self, group_id: u32) {
        for a in &mut self.algs {
            a.conversations.retain(|c| c.group_id != group_id);
        }
        self.algs.retain(|a| !a.conversations.is_empty());
    }
}

/// How many times one tick lets an ALG's timer act.
const TIMER_ROUNDS: usize = 64;

/// Rows of the statistics: one per ALG ([`AlgKind::ALL`] order; those without an engine
/// stay zero and are not shown).
pub const ENGINES: usize = AlgKind::ALL.len();

/// One ALG's line of `show services alg statistics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlgRow {
    /// The ALG instances' own counters (live and ended conversations).
    pub counters: AlgCounters,
    /// Packets workers handed to the control core.
    pub handed_off: u64,
    /// Packets lost because a hand-off ring was full.
    pub handoff_drops: u64,
    /// Conversations now.
    pub conversations_active: u64,
    /// Conversations ever.
    pub conversations_total: u64,
    /// Conversations refused by the ALG's cap (their sessions pass uninspected).
    pub conversations_refused: u64,
    /// Pinholes waiting for their child now.
    pub pinholes_active: u64,
    /// Pinholes opened.
    pub pinholes_opened: u64,
    /// Pinholes a child flow matched.
    pub pinholes_matched: u64,
    /// Pinholes that lapsed unused.
    pub pinholes_expired: u64,
    /// Pinholes withdrawn unused: their parent closed, or the ALG took them back (a SIP
    /// dialog ended, its media changed).
    pub pinholes_withdrawn: u64,
    /// Child sessions closed because the ALG ended what opened them (a SIP BYE).
    pub children_closed: u64,
    /// Pinholes refused by the per-conversation cap.
    pub pinholes_refused: u64,
    /// Parent sessions the ALG closed (a DNS query answered).
    pub sessions_closed: u64,
}

impl AlgRow {
    /// What was counted since `base` (the row at a clear); the figures of now
    /// (conversations and pinholes active) stay as they are.
    #[must_use]
    pub fn since(&self, base: &AlgRow) -> AlgRow {
        let d = |now: u64, then: u64| now.saturating_sub(then);
        AlgRow {
            counters: self.counters.since(&base.counters),
            handed_off: d(self.handed_off, base.handed_off),
            handoff_drops: d(self.handoff_drops, base.handoff_drops),
            conversations_active: self.conversations_active,
            conversations_total: d(self.conversations_total, base.conversations_total),
            conversations_refused: d(self.conversations_refused, base.conversations_refused),
            pinholes_active: self.pinholes_active,
            pinholes_opened: d(self.pinholes_opened, base.pinholes_opened),
            pinholes_matched: d(self.pinholes_matched, base.pinholes_matched),
            pinholes_expired: d(self.pinholes_expired, base.pinholes_expired),
            pinholes_withdrawn: d(self.pinholes_withdrawn, base.pinholes_withdrawn),
            children_closed: d(self.children_closed, base.children_closed),
            pinholes_refused: d(self.pinholes_refused, base.pinholes_refused),
            sessions_closed: d(self.sessions_closed, base.sessions_closed),
        }
    }
}

/// The gateway's own counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// ALG commands lost because a worker's command ring was full.
    pub command_ring_full: u64,
    /// Packets the control core transmitted.
    pub tx_packets: u64,
    /// Packets the control core could not transmit.
    pub tx_dropped: u64,
    /// Packets dropped because too many waited for pinhole installation.
    pub pending_full: u64,
}

impl GatewayStats {
    /// What was counted since `base`.
    #[must_use]
    pub fn since(&self, base: &GatewayStats) -> GatewayStats {
        GatewayStats {
            command_ring_full: self
                .command_ring_full
                .saturating_sub(base.command_ring_full),
            tx_packets: self.tx_packets.saturating_sub(base.tx_packets),
            tx_dropped: self.tx_dropped.saturating_sub(base.tx_dropped),
            pending_full: self.pending_full.saturating_sub(base.pending_full),
        }
    }
}

/// What `show services alg statistics` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlgStatistics {
    /// Per ALG, in [`AlgKind::ALL`] order.
    pub rows: [AlgRow; ENGINES],
    /// Gateway counters.
    pub gateway: GatewayStats,
    /// Packets waiting for pinholes to be installed, now.
    pub pending: u64,
    /// Pinholes a worker could not hold (its pinhole table was full).
    pub pinhole_table_full: u64,
    /// The ALGs through source NAT.
    pub nat: super::nat::AlgNatStats,
    /// ALG ports in use, per pool (configuration order).
    pub nat_alg_ports: Vec<u64>,
    /// Pinholes a worker's table holds at most (every worker holds every pinhole).
    pub pinhole_capacity: u32,
}

/// The baseline of `clear services alg statistics`: per ALG, the row at its last clear;
/// the control core's counters at the last clear of every ALG.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlgCleared {
    /// Per ALG ([`AlgKind::ALL`] order): the row at its last clear, if any.
    pub rows: [Option<AlgRow>; ENGINES],
    /// The control core's counters, the pinhole-table-full count and the NAT counters at
    /// the last clear of every ALG.
    pub gateway: Option<(GatewayStats, u64, super::nat::AlgNatStats)>,
}

impl AlgStatistics {
    /// The statistics counted since the clears of `cleared`.
    #[must_use]
    pub fn since(&self, cleared: &AlgCleared) -> AlgStatistics {
        let mut s = self.clone();
        for (row, base) in s.rows.iter_mut().zip(&cleared.rows) {
            if let Some(b) = base {
                *row = row.since(b);
            }
        }
        if let Some((g, full, nat)) = &cleared.gateway {
            s.gateway = s.gateway.since(g);
            s.pinhole_table_full = s.pinhole_table_full.saturating_sub(*full);
            s.nat = s.nat.since(nat);
        }
        s
    }

    /// Takes the clear of ALG `only` (every ALG and the control core's counters when
    /// `None`) into `cleared`.
    pub fn clear_into(&self, cleared: &mut AlgCleared, only: Option<AlgKind>) {
        for k in AlgKind::ALL {
            if only.is_none_or(|o| o == k) {
                cleared.rows[k as usize] = Some(self.rows[k as usize]);
            }
        }
        if only.is_none() {
            cleared.gateway = Some((self.gateway, self.pinhole_table_full, self.nat));
        }
    }
}

/// A resource (pinhole) and the children it opened.
#[derive(Debug)]
struct Resource {
    id: u32,
    pinhole_live: bool,
    children: Vec<ConvSession>,
    /// What the pinhole admits and for which negotiation: tag, protocol, destination,
    /// destination port (an ALG withdraws a resource by it).
    target: (u32, u8, IpAddr, Option<u16>),
    /// The gate as shown while the pinhole is live.
    gate: Gate,
}

/// A conversation the manager keeps.
#[derive(Debug)]
pub struct Conv {
    group: u32,
    worker: WorkerId,
    kind: AlgKind,
    parent_id: u32,
    key: FlowKey,
    parent_alive: bool,
    parent: ConvSession,
    policy: (u16, u16),
    resources: Vec<Resource>,
    /// The ALG instance.
    pub alg: AnyAlg,
    /// When the conversation began.
    since: std::time::Instant,
    /// A TCP parent's FIN seen from the initiator, the responder.
    fins: [bool; 2],
}

#[derive(Debug, Clone, Copy)]
struct PinholeRec {
    group: u32,
    expires_ms: u32,
    one_shot: bool,
}

/// The resource manager.
#[derive(Debug)]
pub struct ResourceManager {
    config: Arc<Config>,
    convs: BTreeMap<u32, Conv>,
    by_parent: HashMap<u32, u32>,
    pinholes: HashMap<u32, PinholeRec>,
    /// Child session → (group, pinhole, when it matched).
    children: HashMap<u32, (u32, u32, std::time::Instant)>,
    /// Sessions the conversation cap refused (counted once; the worker forwards them).
    refused: HashSet<u32>,
    next_group: u32,
    next_resource: u32,
    retired: [AlgCounters; ENGINES],
    rows: [AlgRow; ENGINES],
    /// Gateway counters, kept here with the rest.
    pub stats: GatewayStats,
    dirty: bool,
    /// Pinholes withdrawn here that the workers still hold (drained by the gateway).
    withdrawn: Vec<u32>,
    /// Child sessions to close (drained by the gateway).
    to_close: Vec<u32>,
}

fn conv_session(v: &SessionView) -> ConvSession {
    let flow = |i: usize| {
        let f = &v.flows[i];
        Some(ConvFlow {
            src: f.src?,
            dst: f.dst?,
        })
    };
    let fallback = ConvFlow {
        src: Endpoint {
            addr: core::net::IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
            port: 0,
        },
        dst: Endpoint {
            addr: core::net::IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
            port: 0,
        },
    };
    ConvSession {
        id: v.id,
        protocol: v.key.proto,
        forward: flow(0).unwrap_or(fallback),
        reverse: flow(1),
    }
}

impl ResourceManager {
    /// Puts a reloaded configuration in force: new conversations take its ALG settings
    /// and caps; live ones keep the engines they run.
    pub fn set_config(&mut self, config: Arc<Config>) {
        self.config = config;
    }

    /// An empty manager.
    #[must_use]
    pub fn new(config: Arc<Config>) -> ResourceManager {
        ResourceManager {
            config,
            convs: BTreeMap::new(),
            by_parent: HashMap::new(),
            pinholes: HashMap::new(),
            children: HashMap::new(),
            refused: HashSet::new(),
            next_group: 1,
            next_resource: 1,
            retired: [AlgCounters::default(); ENGINES],
            rows: [AlgRow::default(); ENGINES],
            stats: GatewayStats::default(),
            dirty: false,
            withdrawn: Vec::new(),
            to_close: Vec::new(),
        }
    }

    /// The conversation of parent `session` (created on its first packet), or `None` when
    /// the ALG's conversation cap refuses a new one.
    #[allow(clippy::too_many_arguments)]
    pub fn conversation(
        &mut self,
        worker: WorkerId,
        session: u32,
        key: &FlowKey,
        kind: AlgKind,
        ctx: impl FnOnce() -> FlowCtx,
        policy: (u16, u16),
    ) -> Option<&mut Conv> {
        if let Some(&g) = self.by_parent.get(&session) {
            let same = self.convs.get(&g).is_some_and(|c| c.key == *key);
            if same {
                return self.convs.get_mut(&g);
            }
            // The session ID was reused: the old parent is gone.
            self.parent_closed(g);
        }
        let e = kind as usize;
        if let Some(cap) = self.config.algs[kind].max_conversations {
            if self.rows[e].conversations_active >= u64::from(cap) {
                if self.refused.insert(session) {
                    self.rows[e].conversations_refused += 1;
                }
                return None;
            }
        }
        let ctx = ctx();
        let group = self.next_group;
        self.next_group = self.next_group.wrapping_add(1).max(1);
        let forward = ConvFlow {
            src: Endpoint {
                addr: ctx.initiator.ip(),
                port: ctx.initiator.port(),
            },
            dst: Endpoint {
                addr: ctx.responder.ip(),
                port: ctx.responder.port(),
            },
        };
        let conv = Conv {
            group,
            worker,
            kind,
            parent_id: session,
            key: *key,
            parent_alive: true,
            parent: ConvSession {
                id: session,
                protocol: key.proto,
                forward,
                reverse: Some(ConvFlow {
                    src: forward.dst,
                    dst: forward.src,
                }),
            },
            policy,
            resources: Vec::new(),
            alg: AnyAlg::new(kind, alg_config(&self.config, kind), ctx)?,
            since: std::time::Instant::now(),
            fins: [false; 2],
        };
        self.rows[e].conversations_active += 1;
        self.rows[e].conversations_total += 1;
        self.by_parent.insert(session, group);
        self.dirty = true;
        Some(self.convs.entry(group).or_insert(conv))
    }

    /// Opens a pinhole for the conversation of parent `session`; `None` when the
    /// conversation is gone or at its pinhole cap.
    pub fn open_pinhole(
        &mut self,
        session: u32,
        e: &Expectation,
        now_ms: u32,
    ) -> Option<PinholeSpec> {
        let g = *self.by_parent.get(&session)?;
        self.open_in(g, e, now_ms)
    }

    fn open_in(&mut self, g: u32, e: &Expectation, now_ms: u32) -> Option<PinholeSpec> {
        let conv = self.convs.get_mut(&g)?;
        let row = &mut self.rows[conv.kind as usize];
        let live = conv.resources.iter().filter(|r| r.pinhole_live).count();
        let live = u32::try_from(live).unwrap_or(u32::MAX);
        let cap = self.config.algs[conv.kind]
            .max_pinholes_per_conversation
            .unwrap_or(u32::MAX);
        if live >= cap {
            row.pinholes_refused += 1;
            return None;
        }
        let id = self.next_resource;
        self.next_resource = self.next_resource.wrapping_add(1).max(1);
        let spec = pinhole_spec(&self.config, id, conv.parent_id, e, conv.policy, now_ms);
        let gate = Gate {
            protocol: e.proto.0,
            src: e.src,
            src_port: e.src_port,
            dst: e.dst,
            dst_port: e.dst_port,
            translated: None,
            expires: std::time::Instant::now()
                + std::time::Duration::from_millis(u64::from(spec.expires_ms.wrapping_sub(now_ms))),
            one_shot: spec.one_shot,
            watched: spec.action == Action::Watch,
            application: spec.application,
            service_set: spec.service_set,
        };
        conv.resources.push(Resource {
            id,
            pinhole_live: true,
            children: Vec::new(),
            target: (e.tag, e.proto.0, e.dst, e.dst_port),
            gate,
        });
        row.pinholes_opened += 1;
        row.pinholes_active += 1;
        self.pinholes.insert(
            id,
            PinholeRec {
                group: g,
                expires_ms: spec.expires_ms,
                one_shot: spec.one_shot,
            },
        );
        self.dirty = true;
        Some(spec)
    }

    /// Source NAT sends the children of pinhole `pinhole` on to `to` (a private endpoint).
    pub fn translated(&mut self, pinhole: u32, to: (IpAddr, u16)) {
        let Some(rec) = self.pinholes.get(&pinhole) else {
            return;
        };
        if let Some(r) = self
            .convs
            .get_mut(&rec.group)
            .and_then(|c| c.resources.iter_mut().find(|r| r.id == pinhole))
        {
            r.gate.translated = Some(to);
        }
    }

    /// A worker opened child session `view` through pinhole `pinhole`. Returns the pinhole
    /// when it is used up (the other workers must drop it).
    pub fn child_matched(&mut self, pinhole: u32, view: &SessionView, now_ms: u32) -> Option<u32> {
        let rec = *self.pinholes.get(&pinhole)?;
        let conv = self.convs.get_mut(&rec.group)?;
        let row = &mut self.rows[conv.kind as usize];
        row.pinholes_matched += 1;
        if let Some(r) = conv.resources.iter_mut().find(|r| r.id == pinhole) {
            r.children.push(conv_session(view));
            if rec.one_shot {
                r.pinhole_live = false;
            }
        }
        self.children
            .insert(view.id, (rec.group, pinhole, std::time::Instant::now()));
        self.dirty = true;
        if rec.one_shot {
            self.pinholes.remove(&pinhole);
            row.pinholes_active = row.pinholes_active.saturating_sub(1);
            conv.alg.pinhole_resolved(u64::from(now_ms));
            return Some(pinhole);
        }
        None
    }

    /// The ALG closed its parent (the close event follows from the worker).
    pub fn parent_done(&mut self, session: u32) {
        if let Some(c) = self.by_parent.get(&session).and_then(|g| self.convs.get(g)) {
            self.rows[c.kind as usize].sessions_closed += 1;
        }
    }

    /// Whether a close can matter: some session is a conversation's parent or child, or
    /// was refused by a cap.
    #[must_use]
    pub fn holds_sessions(&self) -> bool {
        !(self.children.is_empty() && self.by_parent.is_empty() && self.refused.is_empty())
    }

    /// A session ended: a child leaves its resource, a parent leaves its conversation.
    pub fn session_closed(&mut self, v: &SessionView) {
        self.refused.remove(&v.id);
        self.child_gone(v.id);
        if let Some(&g) = self.by_parent.get(&v.id) {
            if self.convs.get(&g).is_some_and(|c| c.key == v.key) {
                self.parent_closed(g);
            }
        }
    }

    fn child_gone(&mut self, id: u32) {
        if let Some((g, r, _)) = self.children.remove(&id) {
            if let Some(c) = self.convs.get_mut(&g) {
                if let Some(res) = c.resources.iter_mut().find(|x| x.id == r) {
                    res.children.retain(|s| s.id != id);
                }
            }
            self.dirty = true;
            self.maybe_end(g);
        }
    }

    /// A reconcile walk of `worker`'s sessions (asked for at `began`) found `live`: the
    /// children and parents of that worker known before the walk began and gone since
    /// (their closes lost) leave their conversations, as a close would have made them.
    /// Returns how many went.
    pub fn forget_gone(
        &mut self,
        worker: WorkerId,
        live: &HashMap<u32, (u32, FlowKey)>,
        began: std::time::Instant,
    ) -> usize {
        let of = |id: u32| {
            svcard_dataplane::session::split_session_id(id).is_some_and(|(w, _)| w == worker)
        };
        let children: Vec<u32> = self
            .children
            .iter()
            .filter(|(id, (_, _, at))| of(**id) && *at < began && !live.contains_key(id))
            .map(|(id, _)| *id)
            .collect();
        for id in &children {
            self.child_gone(*id);
        }
        let parents: Vec<u32> = self
            .by_parent
            .iter()
            .filter(|(id, g)| {
                of(**id)
                    && self.convs.get(g).is_some_and(|c| {
                        c.since < began && live.get(id).is_none_or(|(_, k)| *k != c.key)
                    })
            })
            .map(|(_, g)| *g)
            .collect();
        for g in &parents {
            self.parent_closed(*g);
        }
        children.len() + parents.len()
    }

    /// The parent is gone: its unused pinholes go with it (as Junos tears down the
    /// resource group), its children run on.
    fn parent_closed(&mut self, g: u32) {
        if let Some(c) = self.convs.get_mut(&g) {
            c.parent_alive = false;
            self.by_parent.remove(&c.parent_id);
            self.dirty = true;
        }
        self.withdraw_live(g);
        self.maybe_end(g);
    }

    /// Every unused pinhole of conversation `g` is withdrawn.
    fn withdraw_live(&mut self, g: u32) {
        let Some(c) = self.convs.get_mut(&g) else {
            return;
        };
        let row = &mut self.rows[c.kind as usize];
        for r in c.resources.iter_mut().filter(|r| r.pinhole_live) {
            r.pinhole_live = false;
            self.pinholes.remove(&r.id);
            self.withdrawn.push(r.id);
            row.pinholes_active = row.pinholes_active.saturating_sub(1);
            row.pinholes_withdrawn += 1;
            self.dirty = true;
        }
    }

    /// A TCP parent's packet with FIN or RST went by (`side`: 0 the initiator's, 1 the
    /// responder's). A reset, or a FIN from each side, ends the conversation's
    /// negotiation: its unused pinholes are withdrawn then, before the worker's close
    /// timer runs out.
    pub fn parent_tcp_end(&mut self, session: u32, side: usize, rst: bool) {
        let Some(&g) = self.by_parent.get(&session) else {
            return;
        };
        let Some(c) = self.convs.get_mut(&g) else {
            return;
        };
        if let Some(f) = c.fins.get_mut(side) {
            *f = true;
        }
        if rst || c.fins.iter().all(|f| *f) {
            self.withdraw_live(g);
        }
    }

    /// The ALG of parent `session` takes back what it opened for `e` (matched by protocol,
    /// destination and port): the pinhole, if still unused, and the child sessions it
    /// opened (closed). Returns how many resources matched.
    pub fn withdraw(&mut self, session: u32, e: &Expectation, now_ms: u32) -> usize {
        let Some(&g) = self.by_parent.get(&session) else {
            return 0;
        };
        let Some(c) = self.convs.get_mut(&g) else {
            return 0;
        };
        let target = (e.tag, e.proto.0, e.dst, e.dst_port);
        let row = &mut self.rows[c.kind as usize];
        let mut matched = 0;
        for r in c.resources.iter_mut().filter(|r| r.target == target) {
            matched += 1;
            if r.pinhole_live {
                r.pinhole_live = false;
                self.pinholes.remove(&r.id);
                self.withdrawn.push(r.id);
                row.pinholes_active = row.pinholes_active.saturating_sub(1);
                row.pinholes_withdrawn += 1;
                c.alg.pinhole_resolved(u64::from(now_ms));
            }
            for s in r.children.drain(..) {
                self.children.remove(&s.id);
                self.to_close.push(s.id);
                row.children_closed += 1;
            }
        }
        if matched > 0 {
            self.dirty = true;
            self.maybe_end(g);
        }
        matched
    }

    /// Pinholes withdrawn since the last call (every worker must drop them).
    pub fn take_withdrawn(&mut self) -> Vec<u32> {
        core::mem::take(&mut self.withdrawn)
    }

    /// Child sessions to close since the last call.
    pub fn take_to_close(&mut self) -> Vec<u32> {
        core::mem::take(&mut self.to_close)
    }

    /// Ends a conversation whose parent is gone and that holds nothing any more; drops
    /// resources with neither pinhole nor children.
    fn maybe_end(&mut self, g: u32) {
        let Some(c) = self.convs.get_mut(&g) else {
            return;
        };
        c.resources
            .retain(|r| r.pinhole_live || !r.children.is_empty());
        if c.parent_alive || !c.resources.is_empty() {
            return;
        }
        if let Some(c) = self.convs.remove(&g) {
            let e = c.kind as usize;
            self.retired[e].add(c.alg.counters());
            self.rows[e].conversations_active = self.rows[e].conversations_active.saturating_sub(1);
            self.dirty = true;
        }
    }

    /// Pinholes whose time ran out: forgotten here, their IDs pushed to `out` (the workers
    /// must drop them too).
    pub fn expire(&mut self, now_ms: u32, out: &mut Vec<u32>) {
        let gone: Vec<(u32, PinholeRec)> = self
            .pinholes
            .iter()
            .filter(|(_, r)| lapsed(r.expires_ms, now_ms))
            .map(|(&id, &r)| (id, r))
            .collect();
        for (id, rec) in gone {
            self.pinholes.remove(&id);
            out.push(id);
            if let Some(c) = self.convs.get_mut(&rec.group) {
                let row = &mut self.rows[c.kind as usize];
                row.pinholes_expired += 1;
                row.pinholes_active = row.pinholes_active.saturating_sub(1);
                if let Some(r) = c.resources.iter_mut().find(|r| r.id == id) {
                    r.pinhole_live = false;
                }
                c.alg.pinhole_resolved(u64::from(now_ms));
            }
            self.dirty = true;
            self.maybe_end(rec.group);
        }
    }

    /// Advances the clocks of ALGs that asked for it; the expectations and withdrawals they
    /// produce are pushed to `out` with their parent session.
    pub fn alg_timers(&mut self, now_ms: u32, out: &mut Vec<(u32, svcard_alg::Action)>) {
        let now = u64::from(now_ms);
        let mut actions = Actions::new();
        for c in self.convs.values_mut() {
            // An ALG may take several calls to say all that is due (a SIP ALG ends one
            // call per call); bounded so one conversation cannot hold the tick.
            for _ in 0..TIMER_ROUNDS {
                if c.alg.poll_timeout().is_none_or(|t| t > now) {
                    break;
                }
                actions.clear();
                c.alg.on_timeout(now, &mut actions);
                if c.parent_alive {
                    out.extend(
                        actions
                            .iter()
                            .filter(|a| {
                                matches!(
                                    a,
                                    svcard_alg::Action::Expect(_) | svcard_alg::Action::Withdraw(_)
                                )
                            })
                            .map(|a| (c.parent_id, a.clone())),
                    );
                }
                if actions.is_empty() {
                    break;
                }
            }
        }
    }

    /// True (once) when the books changed since the last call.
    pub fn take_dirty(&mut self) -> bool {
        core::mem::replace(&mut self.dirty, false)
    }

    /// The statistics now.
    #[must_use]
    pub fn statistics(&self) -> AlgStatistics {
        let mut rows = self.rows;
        for (i, r) in rows.iter_mut().enumerate() {
            r.counters = self.retired[i];
        }
        for c in self.convs.values() {
            rows[c.kind as usize].counters.add(c.alg.counters());
        }
        AlgStatistics {
            rows,
            gateway: self.stats,
            pending: 0,
            pinhole_table_full: 0,
            nat: super::nat::AlgNatStats::default(),
            nat_alg_ports: Vec::new(),
            pinhole_capacity: 0,
        }
    }

    /// The conversation book as the show commands read it.
    #[must_use]
    pub fn book(&self) -> Conversations {
        let mut book = Conversations::default();
        for c in self.convs.values() {
            let conv = Conversation {
                group_id: c.group,
                state: ConvState::Active,
                parent_status: None,
                parent: c.parent_alive.then_some(c.parent),
                resources: c
                    .resources
                    .iter()
                    .map(|r| ConvResource {
                        id: r.id,
                        state: ConvState::Active,
                        sessions: r.children.clone(),
                        gate: r.pinhole_live.then_some(r.gate),
                    })
                    .collect(),
            };
            book.insert(c.worker, c.kind, conv);
        }
        book
    }

    /// Live conversations.
    #[must_use]
    pub fn conversations(&self) -> usize {
        self.convs.len()
    }
}

/// The engine configuration of ALG `k` from the operator's `[alg.NAME]` table.
#[must_use]
pub fn alg_config(config: &Config, k: AlgKind) -> AlgConfig {
    let s = &config.algs[k];
    let mut c = AlgConfig::default_for(k);
    c.enabled = s.enabled;
    if !s.ports.is_empty() {
        c.ports = PortList::from_slice(&s.ports);
    }
    if let Some(t) = s.timeout {
        c.timeout_ms = u64::from(t) * 1000;
    }
    if let Some(m) = s.max_pinholes_per_conversation {
        c.max_pinholes = m;
    }
    c.loose_ftp = s.loose;
    if let Some(t1) = s.sip_t1_ms {
        c.sip.t1_ms = u64::from(t1);
    }
    if let Some(m) = s.sip_max_call_min {
        c.sip.max_call_ms = u64::from(m) * 60_000;
    }
    if let Some(d) = s.sip_max_dialogs {
        c.sip.max_dialogs = d;
    }
    c
}

/// A pinhole for the workers from an ALG's expectation.
#[must_use]
pub fn pinhole_spec(
    config: &Config,
    id: u32,
    parent: u32,
    e: &svcard_alg::Expectation,
    (service_set, rule): (u16, u16),
    now_ms: u32,
) -> PinholeSpec {
    let application = config
        .application_index(e.child_app.name())
        .unwrap_or(u16::MAX);
    let watched = config
        .alg_enabled(application)
        .is_some_and(AlgKind::has_engine);
    let timeout = u32::try_from(e.timeout_ms)
        .unwrap_or(u32::MAX / 2)
        .min(u32::MAX / 2);
    PinholeSpec {
        id,
        parent,
        proto: e.proto.0,
        family: if e.dst.is_ipv6() { 6 } else { 4 },
        src: e.src.map(slot_of),
        src_port: e.src_port,
        dst: slot_of(e.dst),
        dst_port: e.dst_port,
        expires_ms: now_ms.wrapping_add(timeout),
        one_shot: e.one_shot,
        action: if watched {
            Action::Watch
        } else {
            Action::Forward
        },
        application,
        service_set,
        rule,
        offload: !watched && e.child_app.offloadable(),
        nat: None,
    }
}

/// An address as the dataplane stores it (IPv4 in the first 4 bytes of 16).
#[must_use]
pub fn slot_of(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v) => {
            let mut s = [0u8; 16];
            s[..4].copy_from_slice(&v.octets());
            s
        }
        IpAddr::V6(v) => v.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use svcard_alg::{AppHint, Proto};
    use svcard_dataplane::session::session_id;

    fn config() -> Arc<Config> {
        let text = "[[port]]\nname = \"ge-0/0/0.0\"\npcap-rx = \"in.pcap\"\npeer = \"ge-0/0/1.0\"\n\
                    [[port]]\nname = \"ge-0/0/1.0\"\npcap-tx = \"out.pcap\"\npeer = \"ge-0/0/0.0\"\n";
        Arc::new(Config::from_toml_str(text, "t.toml".as_ref()).unwrap())
    }

    /// A parent and its child whose closes were lost: a reconcile walk that finds neither
    /// ends the conversation; one made after the walk began stays.
    #[test]
    fn a_walk_ends_what_lost_closes_left() {
        let mut rm = ResourceManager::new(config());
        let w0 = WorkerId::from_index(0).unwrap();
        let (parent, child) = (session_id(w0, 1), session_id(w0, 2));
        let ctx = || {
            FlowCtx::new(
                Proto::TCP,
                "10.0.0.1:40000".parse().unwrap(),
                "192.0.2.1:21".parse().unwrap(),
            )
        };
        let key = FlowKey::default();
        assert!(rm
            .conversation(w0, parent, &key, AlgKind::Ftp, ctx, (0, 0))
            .is_some());
        let e = Expectation {
            proto: Proto::TCP,
            src: None,
            src_port: None,
            dst: "10.0.0.1".parse().unwrap(),
            dst_port: Some(5000),
            timeout_ms: 60_000,
            child_app: AppHint::FtpData,
            one_shot: true,
            quoted: None,
            tag: 0,
        };
        let spec = rm.open_pinhole(parent, &e, 0).unwrap();
        let v = SessionView {
            id: child,
            ..SessionView::default()
        };
        rm.child_matched(spec.id, &v, 0);
        let began = Instant::now();
        // A conversation begun after the walk was asked for is not the walk's to judge.
        let late = session_id(w0, 3);
        let late_key = FlowKey {
            port_a: 1,
            ..FlowKey::default()
        };
        assert!(rm
            .conversation(w0, late, &late_key, AlgKind::Ftp, ctx, (0, 0))
            .is_some());
        assert_eq!(rm.conversations(), 2);
        assert_eq!(rm.forget_gone(w0, &HashMap::new(), began), 2);
        assert_eq!(rm.conversations(), 1);
        assert!(rm.holds_sessions(), "the late parent is still held");
    }
}
