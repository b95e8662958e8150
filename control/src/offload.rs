//! The offload manager: on the control core, it takes the workers' requests, keeps the
//! card's cap on offloaded sessions and its budget of rule insertions, installs and removes
//! rules through one [`OffloadBackend`] (the NIC model or `rte_flow`), tells each worker
//! when its session's rule is active, reads the hardware counters back at the counter
//! interval (a session whose hardware counters moved has its idle timer restarted), and
//! adds the hardware's counts to the session wherever it is shown: in query replies and in
//! the close event, which thus carries the final total.
//!
//! It never waits on a worker: an answer that finds the worker's ring full is kept and
//! offered again at the next poll.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use svcard_config::Config;
use svcard_dataplane::clock::Clock;
use svcard_dataplane::flow::FlowKey;
use svcard_dataplane::offload::{
    Capabilities, FailReason, HwCounters, InstallRequest, OffloadBackend, OffloadLink,
    OffloadState, Rule, ToManager, ToWorker, WithdrawReason,
};
use svcard_dataplane::ring::{Event, EventKind};
use svcard_dataplane::session::{split_session_id, SessionView, WorkerId};

/// Requests taken from each worker's ring per poll.
const REQUEST_BUDGET: usize = 1024;
/// How long the record of a closed session waits for its close event (lost when the
/// worker's event ring was full), milliseconds.
const CLOSED_GRACE_MS: u32 = 5000;

/// The manager's figures (`show services offload statistics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffloadStats {
    /// The backend's name.
    pub backend: &'static str,
    /// What it supports.
    pub capabilities: Capabilities,
    /// Requests received from the workers.
    pub requests: u64,
    /// Rules installed.
    pub installed: u64,
    /// Of them, partial (`MARK`) rules: classification only.
    pub partial: u64,
    /// Rules that became active (workers told).
    pub activated: u64,
    /// Rules removed.
    pub removed: u64,
    /// Requests refused, by [`FailReason`] (index `reason as usize`).
    pub failed: [u64; FailReason::ALL.len() + 1],
    /// Rules in the table now.
    pub occupancy: u32,
    /// Most rules in the table at once.
    pub peak_occupancy: u32,
    /// Rules the manager holds (installed, not removed).
    pub rules: u32,
    /// Counter reads at the interval.
    pub counter_pulls: u64,
    /// Idle timers restarted from hardware activity.
    pub activity_refreshes: u64,
    /// Rules the hardware reported aged out (`AGE`: idle for their session's timeout).
    pub aged_out: u64,
    /// Insertions in the last whole second.
    pub insertions_last_second: u64,
    /// Sum and count of request → active delays, microseconds.
    pub activation_delay_us: (u64, u64),
    /// Largest request → active delay, microseconds.
    pub activation_delay_max_us: u64,
    /// Sum and count of first packet → request delays (the policy's trigger), ms.
    pub trigger_age_ms: (u64, u64),
    /// Packets and bytes the hardware handled, of sessions that closed.
    pub hw_closed: (u64, u64),
}

impl OffloadStats {
    /// Requests refused, any reason.
    #[must_use]
    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }

    /// Zeroes the counters (not the levels: occupancy, rules held, the backend).
    pub fn clear(&mut self) {
        *self = OffloadStats {
            backend: self.backend,
            capabilities: self.capabilities,
            occupancy: self.occupancy,
            peak_occupancy: self.occupancy,
            rules: self.rules,
            ..OffloadStats::default()
        };
    }
}

/// The manager's figures as the show server reads them, and its request to clear them.
#[derive(Debug, Default)]
pub struct OffloadShared {
    /// The figures, published every poll.
    pub stats: Mutex<OffloadStats>,
    /// Set by `clear services offload statistics`; the manager clears and resets it.
    pub clear: AtomicBool,
    /// Whether offload runs at all (a service set has a policy).
    pub enabled: AtomicBool,
}

/// What the manager knows of one session with a rule or a request.
#[derive(Debug, Clone, Copy)]
struct Rec {
    key: FlowKey,
    /// The backend's rule, while it holds one.
    rule: Option<u32>,
    /// The worker was told the rule is active.
    active: bool,
    /// A partial (`MARK`) rule: no hardware counters (the worker counts its packets).
    partial: bool,
    /// The hardware reported the rule aged out (idle for the session's timeout).
    aged: bool,
    /// The hardware's counts as last read (final once the rule is removed).
    hw: HwCounters,
    /// The session ended (a withdrawal said so); when, milliseconds.
    closed_at: Option<u32>,
    /// When the rule was asked for, microseconds.
    since_us: u64,
}

/// The offload manager.
pub struct OffloadManager {
    config: Arc<Config>,
    backend: Box<dyn OffloadBackend>,
    links: Vec<Arc<OffloadLink>>,
    clock: Clock,
    sessions: HashMap<u32, Rec>,
    /// Rules accepted, waiting for their insertion latency: (active at µs, session).
    coming: VecDeque<(u64, u32, u64)>,
    /// Budget tokens, millionths of an insertion.
    tokens: u64,
    last_refill_us: u64,
    next_pull_us: u64,
    second_start_us: u64,
    inserted_this_second: u64,
    stats: OffloadStats,
    shared: Arc<OffloadShared>,
}

impl core::fmt::Debug for OffloadManager {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OffloadManager")
            .field("backend", &self.backend.name())
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl OffloadManager {
    /// A manager over `backend` for the workers' `links`; its figures are published to
    /// `shared` every poll.
    #[must_use]
    pub fn new(
        config: Arc<Config>,
        backend: Box<dyn OffloadBackend>,
        links: Vec<Arc<OffloadLink>>,
        clock: Clock,
        shared: Arc<OffloadShared>,
    ) -> OffloadManager {
        shared.enabled.store(true, Ordering::Relaxed);
        let stats = OffloadStats {
            backend: backend.name(),
            capabilities: backend.capabilities(),
            ..OffloadStats::default()
        };
        OffloadManager {
            tokens: Self::bucket(&config),
            config,
            backend,
            links,
            clock,
            sessions: HashMap::new(),
            coming: VecDeque::new(),
            last_refill_us: 0,
            next_pull_us: 0,
            second_start_us: 0,
            inserted_this_second: 0,
            stats,
            shared,
        }
    }

    /// The budget's bucket: 10 ms of insertions (at least one).
    fn bucket(config: &Config) -> u64 {
        config
            .offload
            .insert_budget
            .map_or(u64::MAX, |b| (u64::from(b) / 100).max(1) * 1_000_000)
    }

    fn now(&self) -> (u32, u64) {
        let (ms, _, ns) = self.clock.now_ns();
        (ms, ns / 1000)
    }

    /// One turn: requests, activations, the counter interval. True if it did anything.
    pub fn poll(&mut self) -> bool {
        let (now_ms, now_us) = self.now();
        self.backend.tick(now_us);
        let mut did = false;
        for w in 0..self.links.len() {
            for _ in 0..REQUEST_BUDGET {
                let Some(msg) = self.links[w].requests.pop() else {
                    break;
                };
                did = true;
                match msg {
                    ToManager::Install(req) => self.install(w, &req, now_us),
                    ToManager::Withdraw {
                        session,
                        key,
                        reason,
                    } => self.withdraw(session, &key, reason, now_ms, now_us),
                }
            }
        }
        did |= self.activate(now_us);
        if now_us >= self.next_pull_us {
            self.next_pull_us = now_us + u64::from(self.config.offload.counter_interval_ms) * 1000;
            did |= self.pull();
            self.sessions.retain(|_, r| {
                r.closed_at
                    .is_none_or(|t| now_ms.wrapping_sub(t) < CLOSED_GRACE_MS)
            });
        }
        if now_us.saturating_sub(self.second_start_us) >= 1_000_000 {
            self.stats.insertions_last_second = self.inserted_this_second;
            self.inserted_this_second = 0;
            self.second_start_us = now_us;
        }
        self.publish();
        did
    }

    fn publish(&mut self) {
        let occ = self.backend.occupancy();
        self.stats.occupancy = occ;
        self.stats.peak_occupancy = self.stats.peak_occupancy.max(occ);
        if self.shared.clear.swap(false, Ordering::AcqRel) {
            self.stats.clear();
        }
        if let Ok(mut s) = self.shared.stats.lock() {
            *s = self.stats.clone();
        }
    }

    fn refuse(&mut self, w: usize, session: u32, key: FlowKey, reason: FailReason) {
        self.stats.failed[reason as usize] += 1;
        let msg = ToWorker::Refused {
            session,
            key,
            reason,
        };
        // A full ring: the session stays "requested" (in software) until it ends.
        let _ = self.links[w].replies.push(msg);
    }

    fn install(&mut self, w: usize, req: &InstallRequest, now_us: u64) {
        self.stats.requests += 1;
        self.stats.trigger_age_ms.0 += u64::from(req.age_ms);
        self.stats.trigger_age_ms.1 += 1;
        let caps = self.backend.capabilities();
        if !caps.supports(req.action) {
            return self.refuse(w, req.session, req.key, FailReason::Unsupported);
        }
        let cap = self.config.offload.max_sessions.unwrap_or(u32::MAX);
        if self.stats.rules >= cap {
            return self.refuse(w, req.session, req.key, FailReason::Cap);
        }
        if self.config.offload.insert_budget.is_some() {
            let dt = now_us.saturating_sub(self.last_refill_us);
            self.last_refill_us = self.last_refill_us.max(now_us);
            let rate = u64::from(self.config.offload.insert_budget.unwrap_or(0));
            self.tokens = self
                .tokens
                .saturating_add(dt.saturating_mul(rate))
                .min(Self::bucket(&self.config));
            if self.tokens < 1_000_000 {
                return self.refuse(w, req.session, req.key, FailReason::Budget);
            }
            self.tokens -= 1_000_000;
        }
        let rule = self.rule_of(req);
        match self.backend.insert(&rule, now_us) {
            Ok(inst) => {
                self.stats.installed += 1;
                self.stats.partial += u64::from(inst.partial);
                self.stats.rules += 1;
                self.inserted_this_second += 1;
                self.sessions.insert(
                    req.session,
                    Rec {
                        key: req.key,
                        rule: Some(inst.id),
                        active: false,
                        partial: inst.partial,
                        aged: false,
                        hw: HwCounters::default(),
                        closed_at: None,
                        since_us: now_us,
                    },
                );
                self.coming
                    .push_back((inst.active_at_us, req.session, now_us));
            }
            Err(reason) => self.refuse(w, req.session, req.key, reason),
        }
    }

    /// The rule for a request: each canonical direction's ingress port (a direction not
    /// seen yet arrives on the peer of the other's) and its egress, the ingress's peer.
    fn rule_of(&self, req: &InstallRequest) -> Rule {
        let peer = |p: u16| {
            self.config
                .ports
                .get(usize::from(p))
                .and_then(|x| u16::try_from(x.peer).ok())
                .unwrap_or(p)
        };
        let seen = |d: u8| (d != u8::MAX).then_some(u16::from(d));
        let ingress = match (seen(req.ingress[0]), seen(req.ingress[1])) {
            (Some(a), Some(b)) => [a, b],
            (Some(a), None) => [a, peer(a)],
            (None, Some(b)) => [peer(b), b],
            (None, None) => [u16::MAX, u16::MAX],
        };
        Rule {
            session: req.session,
            key: req.key,
            initiator: req.initiator,
            ingress,
            egress: [peer(ingress[0]), peer(ingress[1])],
            action: req.action,
            idle_s: req.idle_s,
        }
    }

    fn withdraw(
        &mut self,
        session: u32,
        key: &FlowKey,
        reason: WithdrawReason,
        now_ms: u32,
        now_us: u64,
    ) {
        let Some(rec) = self.sessions.get_mut(&session) else {
            return;
        };
        if rec.key != *key {
            return;
        }
        if let Some(rule) = rec.rule.take() {
            rec.hw = self.backend.remove(rule, now_us);
            self.stats.removed += 1;
            self.stats.rules = self.stats.rules.saturating_sub(1);
        }
        if reason == WithdrawReason::Closed {
            rec.closed_at = Some(now_ms);
        }
    }

    /// Tells the workers of rules whose latency has passed.
    fn activate(&mut self, now_us: u64) -> bool {
        let mut did = false;
        while let Some(&(at, session, asked_us)) = self.coming.front() {
            if at > now_us {
                break;
            }
            let Some(rec) = self.sessions.get(&session).copied() else {
                self.coming.pop_front();
                continue;
            };
            let (Some(rule), Some((w, _))) = (rec.rule, split_session_id(session)) else {
                // Withdrawn before it was active.
                self.coming.pop_front();
                continue;
            };
            let Some(link) = self.links.get(w.index()) else {
                self.coming.pop_front();
                continue;
            };
            let msg = ToWorker::Active {
                session,
                key: rec.key,
                rule,
                partial: rec.partial,
            };
            if link.replies.push(msg).is_err() {
                // The worker's ring is full: offered again at the next poll.
                break;
            }
            self.coming.pop_front();
            did = true;
            if let Some(r) = self.sessions.get_mut(&session) {
                r.active = true;
            }
            let delay = now_us.saturating_sub(asked_us);
            self.stats.activated += 1;
            self.stats.activation_delay_us.0 += delay;
            self.stats.activation_delay_us.1 += 1;
            self.stats.activation_delay_max_us = self.stats.activation_delay_max_us.max(delay);
        }
        did
    }

    /// Reads every active rule's counters; a session whose hardware counters moved has
    /// its idle timer restarted by its worker. A device that can age rules but not count
    /// them says only when a rule went idle: its sessions are refreshed every interval
    /// until their rule is reported aged out, then left to their own timers.
    fn pull(&mut self) -> bool {
        let caps = self.backend.capabilities();
        let aged = self.backend.aged();
        self.stats.aged_out += aged.len() as u64;
        let mut did = false;
        for (&session, rec) in &mut self.sessions {
            let (Some(rule), true, false) = (rec.rule, rec.active, rec.partial) else {
                continue;
            };
            rec.aged |= aged.contains(&rule);
            let hw = if caps.count {
                self.stats.counter_pulls += 1;
                self.backend.counters(rule)
            } else {
                rec.hw
            };
            let active = if caps.count {
                hw.total_packets() != rec.hw.total_packets()
            } else {
                caps.age && !rec.aged
            };
            if !active {
                continue;
            }
            let Some((w, _)) = split_session_id(session) else {
                continue;
            };
            let msg = ToWorker::Activity {
                session,
                key: rec.key,
            };
            if let Some(l) = self.links.get(w.index()) {
                // A full ring: the counts are compared again at the next interval.
                if l.replies.push(msg).is_ok() {
                    self.stats.activity_refreshes += 1;
                    rec.hw = hw;
                }
            }
            did = true;
        }
        did
    }

    /// Adds the hardware's counts (read now) to a session's view.
    pub fn complete_view(&self, v: &mut SessionView) {
        let Some(rec) = self.sessions.get(&v.id) else {
            return;
        };
        if rec.key != v.key || v.offload.state == OffloadState::None {
            return;
        }
        let hw = rec.rule.map_or(rec.hw, |r| self.backend.counters(r));
        add_hw(v, &hw);
    }

    /// The manager's clock, microseconds.
    #[must_use]
    pub fn now_us(&self) -> u64 {
        self.now().1
    }

    /// After a walk of `worker`'s sessions that began at `began_us` (the books'
    /// reconciliation after lost events): the rules of its sessions that ended unseen (not
    /// among `live`, ID to start and key, and asked for before the walk) are removed, their
    /// counts kept in the totals.
    pub fn forget_gone(
        &mut self,
        worker: WorkerId,
        live: &HashMap<u32, (u32, FlowKey)>,
        began_us: u64,
    ) {
        let gone: Vec<u32> = self
            .sessions
            .iter()
            .filter(|(id, r)| {
                split_session_id(**id).is_some_and(|(w, _)| w == worker)
                    && r.since_us < began_us
                    && live.get(id).is_none_or(|(_, k)| *k != r.key)
            })
            .map(|(id, _)| *id)
            .collect();
        let (_, now_us) = self.now();
        for id in gone {
            let Some(mut rec) = self.sessions.remove(&id) else {
                continue;
            };
            if let Some(rule) = rec.rule.take() {
                rec.hw = self.backend.remove(rule, now_us);
                self.stats.removed += 1;
                self.stats.rules = self.stats.rules.saturating_sub(1);
            }
            self.stats.hw_closed.0 += rec.hw.total_packets();
            self.stats.hw_closed.1 += rec.hw.bytes[0] + rec.hw.bytes[1];
        }
    }

    /// A worker's event, before the books and the ALGs see it: a close of a session with
    /// a rule removes the rule and carries the hardware's final counts.
    pub fn on_event(&mut self, ev: &mut Event) {
        let EventKind::Closed(_) = ev.kind else {
            return;
        };
        let v = &mut ev.view;
        if v.offload.state == OffloadState::None {
            return;
        }
        let Some(mut rec) = self.sessions.remove(&v.id) else {
            return;
        };
        if rec.key != v.key {
            self.sessions.insert(v.id, rec);
            return;
        }
        if let Some(rule) = rec.rule.take() {
            let (_, now_us) = self.now();
            rec.hw = self.backend.remove(rule, now_us);
            self.stats.removed += 1;
            self.stats.rules = self.stats.rules.saturating_sub(1);
        }
        add_hw(v, &rec.hw);
        self.stats.hw_closed.0 += rec.hw.total_packets();
        self.stats.hw_closed.1 += rec.hw.bytes[0] + rec.hw.bytes[1];
    }
}

/// Adds `hw` (per canonical direction) to the view's flows (initiator's first).
fn add_hw(v: &mut SessionView, hw: &HwCounters) {
    let ini = v.initiator_dir();
    for (side, dir) in [(0, ini), (1, ini.reverse())] {
        let d = dir.index() & 1;
        v.flows[side].packets += hw.packets[d];
        v.flows[side].bytes += hw.bytes[d];
        v.offload.hw_packets[side] = hw.packets[d];
        v.offload.hw_bytes[side] = hw.bytes[d];
    }
}
