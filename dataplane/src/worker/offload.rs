//! The worker's side of offload: arming a new session under its policy, checking the
//! trigger on an armed session's packets, the request to the offload manager, the manager's
//! answers between bursts, the withdrawal on FIN, RST or close, and the NIC model's
//! emulated hardware path. With offload off nothing here runs: a session is never armed,
//! never offloaded, and the packet path tests one bit it already reads.

use crate::flow::{Direction, FlowKey};
use crate::offload::policy::{self, Facts, Window};
use crate::offload::state::OffloadEvent;
use crate::offload::{
    FailReason, InstallRequest, OffloadState, RuleAction, ToManager, ToWorker, WithdrawReason,
};
use crate::port::{PortIo, BURST};
use crate::session::tcp::TcpPhase;
use crate::session::{bits, Action, Session, SessionInfo};
use crate::stats::{Counter, Gauge};
use crate::wire::ip_proto;
use svcard_config::OffloadTrigger;

use super::state::Worker;

/// Manager answers applied per loop iteration.
const REPLY_BUDGET: usize = 256;

/// TCP flags a rule never matches: SYN, FIN, RST reach the worker.
const CONTROL_FLAGS: u8 = 0x01 | 0x02 | 0x04;

/// Whether a session is established as offload policies mean it: a TCP handshake done, a
/// UDP (or other) reply seen. Read from the hot line alone.
fn established(s: &Session) -> bool {
    if s.key.proto == ip_proto::TCP {
        s.tcp.phase() == TcpPhase::Established
    } else {
        s.bits & bits::ASYMMETRIC == 0
    }
}

impl<P: PortIo> Worker<P> {
    /// A new session (its record filled in) under offload policy `policy`: armed when the
    /// policy can fire and its action is one a rule can carry, then checked once (a
    /// threshold of one packet fires on the first).
    pub(super) fn arm_offload(&mut self, slot: u32, policy: u16, action: Action, now_ms: u32) {
        if policy == 0
            || self.offload.is_none()
            || !matches!(action, Action::Forward | Action::Drop)
        {
            return;
        }
        let awaits = matches!(
            self.setup.config.offload_trigger(policy),
            OffloadTrigger::Established
        );
        if let Some((s, info)) = self.table.parts_mut(slot) {
            s.bits |= bits::OFFLOAD_ARMED;
            if awaits {
                s.bits |= bits::OFFLOAD_AWAITS_ESTABLISHED;
            }
            info.offload_policy = policy;
            info.offload_mark = now_ms;
            info.offload_window = Window {
                start_ms: now_ms,
                base: 0,
            };
        }
        self.check_offload(slot, now_ms);
    }

    /// An armed session's packet: does its policy fire now?
    #[cold]
    #[inline(never)]
    pub(super) fn check_offload(&mut self, slot: u32, now_ms: u32) {
        // The hot line only (`get`: the slot is a live session's, found by this packet).
        let s = self.table.get(slot);
        if s.bits & bits::OFFLOAD_AWAITS_ESTABLISHED != 0 && !established(s) {
            // Still waiting for the handshake or the reply: nothing else to read.
            return;
        }
        let packets =
            self.table.packets(slot, Direction::AtoB) + self.table.packets(slot, Direction::BtoA);
        let bytes =
            self.table.bytes(slot, Direction::AtoB) + self.table.bytes(slot, Direction::BtoA);
        let Some((s, info)) = self.table.parts_mut(slot) else {
            return;
        };
        let facts = Facts {
            packets,
            bytes,
            established: established(s),
        };
        let trigger = self.setup.config.offload_trigger(info.offload_policy);
        if !policy::fires(trigger, &facts, &mut info.offload_window, now_ms) {
            return;
        }
        s.bits &= !(bits::OFFLOAD_ARMED | bits::OFFLOAD_AWAITS_ESTABLISHED);
        let req = InstallRequest {
            session: crate::session::session_id(self.setup.index, slot),
            key: s.key,
            initiator: s.initiator(),
            ingress: info.ingress,
            action: if Action::from_u8(s.action) == Action::Drop {
                RuleAction::Drop
            } else {
                RuleAction::Forward
            },
            policy: info.offload_policy,
            age_ms: now_ms.wrapping_sub(info.offload_mark),
            idle_s: info.timeout_s(),
            at_ms: now_ms,
        };
        let sent = self
            .offload
            .as_ref()
            .is_some_and(|l| l.requests.push(ToManager::Install(req)).is_ok());
        let (ev, counter) = if sent {
            (OffloadEvent::Request, Counter::OffloadRequested)
        } else {
            info.offload_reason = FailReason::RingFull as u8;
            (OffloadEvent::Fail, Counter::OffloadRingFull)
        };
        if let Some(n) = info.offload_state().next(ev) {
            info.offload = n as u8;
        }
        self.stats.inc(counter);
    }

    /// The NIC model's hardware path for packet `i` of an offloaded session: counted on
    /// the rule and forwarded (or dropped) without the session's per-packet work. TCP
    /// segments with SYN, FIN or RST are not matched (false: the software path takes
    /// them), as a real rule would not match them.
    #[cold]
    #[inline(never)]
    pub(super) fn model_path(&mut self, i: usize, slot: u32, dir: Direction, at: usize) -> bool {
        let Some(cells) = self.model.as_ref() else {
            return false;
        };
        let s = self.table.get(slot);
        if s.key.proto == ip_proto::TCP
            && self.stage.meta[at & (BURST - 1)].tcp_flags & CONTROL_FLAGS != 0
        {
            return false;
        }
        if self.rx.get(i).is_none() {
            return true;
        }
        let len = u32::from(self.stage.l3_len[at & (BURST - 1)]);
        let drop_it = Action::from_u8(s.action) == Action::Drop;
        cells.count(self.table.info(slot).offload_mark, dir.index(), len);
        self.stats.inc(Counter::OffloadModelPackets);
        self.stats.add(Counter::OffloadModelBytes, u64::from(len));
        if drop_it {
            drop(self.rx.take(i));
        } else {
            self.back.kept += 1;
        }
        true
    }

    /// A FIN or RST on a session with a rule (or a request out): the rule is withdrawn and
    /// the close is tracked in software.
    pub(super) fn withdraw_on_close(&mut self, slot: u32) {
        let Some((s, info)) = self.table.parts_mut(slot) else {
            return;
        };
        // A closing session is not worth a rule.
        s.bits &= !(bits::OFFLOAD_ARMED | bits::OFFLOAD_AWAITS_ESTABLISHED);
        let Some(n) = info.offload_state().next(OffloadEvent::TcpClose) else {
            return;
        };
        let was_active = s.bits & bits::OFFLOAD != 0;
        s.bits &= !bits::OFFLOAD;
        info.offload = n as u8;
        let key = s.key;
        if was_active {
            self.stats.gauges[Gauge::Offloaded as usize] -= 1;
        }
        self.stats.inc(Counter::OffloadWithdrawn);
        let id = crate::session::session_id(self.setup.index, slot);
        self.send_withdraw(id, key, WithdrawReason::TcpClose);
    }

    fn send_withdraw(&mut self, session: u32, key: FlowKey, reason: WithdrawReason) {
        self.push_offload(ToManager::Withdraw {
            session,
            key,
            reason,
        });
    }

    /// Sends `msg` to the offload manager; a full ring loses it, counted.
    pub(super) fn push_offload(&mut self, msg: ToManager) {
        if let Some(l) = self.offload.as_ref() {
            if l.requests.push(msg).is_err() {
                self.stats.inc(Counter::OffloadRingFull);
            }
        }
    }

    /// The manager's answers: rules active, requests refused, hardware activity.
    pub(super) fn offload_work(&mut self, now_ms: u32) {
        for _ in 0..REPLY_BUDGET {
            // The message is copied out: the link is not held across the handling.
            let Some(msg) = self.offload.as_ref().and_then(|l| l.replies.pop()) else {
                return;
            };
            let (session, key) = match msg {
                ToWorker::Active { session, key, .. }
                | ToWorker::Refused { session, key, .. }
                | ToWorker::Activity { session, key } => (session, key),
            };
            let slot = self.own_session(session, &key);
            match (msg, slot) {
                (ToWorker::Active { rule, partial, .. }, Some(slot)) => {
                    self.on_active(slot, rule, partial);
                }
                (ToWorker::Active { .. }, None) => {
                    // The session ended (or was withdrawn) before its rule came.
                    self.send_withdraw(session, key, WithdrawReason::Closed);
                }
                (ToWorker::Refused { reason, .. }, Some(slot)) => {
                    let info = self.table.info_mut(slot);
                    if let Some(n) = info.offload_state().next(OffloadEvent::Fail) {
                        info.offload = n as u8;
                        info.offload_reason = reason as u8;
                        self.stats.inc(Counter::OffloadRefused);
                    }
                }
                (ToWorker::Activity { .. }, Some(slot)) => self.table.refresh(slot, now_ms),
                (_, None) => {}
            }
        }
    }

    /// Rule `rule` matches session `slot`'s packets now. A full one forwards (or drops) them
    /// in hardware: the session is `Offload: yes`. A partial one marks them: the worker still
    /// forwards and counts them, without a lookup, so the session's flag stays clear.
    fn on_active(&mut self, slot: u32, rule: u32, partial: bool) {
        let id = crate::session::session_id(self.setup.index, slot);
        let Some((s, info)) = self.table.parts_mut(slot) else {
            return;
        };
        let Some(n) = info.offload_state().next(OffloadEvent::Active) else {
            // Withdrawn while the rule was coming: the manager takes it out again.
            let key = s.key;
            self.send_withdraw(id, key, WithdrawReason::TcpClose);
            return;
        };
        info.offload = n as u8;
        info.offload_mark = rule;
        self.stats.inc(Counter::OffloadActivated);
        if partial {
            info.offload_reason = crate::session::PARTIAL_RULE;
            return;
        }
        s.bits |= bits::OFFLOAD;
        self.stats.gauges[Gauge::Offloaded as usize] += 1;
        // The rule forwards the data segments, unseen by the sequence window: the FIN or
        // RST that comes back to software would be judged against stale figures.
        if let Some(w) = self.table.tcp_window_mut(slot) {
            w.make_liberal();
        }
    }

    /// The slot of live session `id` of this worker with `key`.
    fn own_session(&self, id: u32, key: &FlowKey) -> Option<u32> {
        let (w, slot) = crate::session::split_session_id(id)?;
        (w == self.setup.index && self.table.is_live(slot) && self.table.get(slot).key == *key)
            .then_some(slot)
    }
}

/// A session that is going away: if a rule exists or was asked for, the manager must
/// remove it (and add its last counters to the close). Returns the message to send.
pub(super) fn withdraw_at_end(id: u32, s: &Session, info: &SessionInfo) -> Option<ToManager> {
    matches!(
        info.offload_state(),
        OffloadState::Requested | OffloadState::Offloaded | OffloadState::Withdrawn
    )
    .then_some(ToManager::Withdraw {
        session: id,
        key: s.key,
        reason: WithdrawReason::Closed,
    })
}
