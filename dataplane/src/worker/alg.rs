//! The worker's side of the ALGs: handing Watch sessions' packets to the control core, and
//! applying what it sends back (pinholes, actions, closes, packets to transmit).

use crate::handoff::{AlgCommand, Handoff};
use crate::port::{PortId, PortIo, BURST};
use crate::ring::EventKind;
use crate::session::split_session_id;
use crate::stats::{AlgCounter, Counter};
use std::sync::atomic::Ordering;

use super::state::Worker;
use super::types::*;

impl<P: PortIo> Worker<P> {
    /// Moves a Watch session's packet to the control core; a full ring loses it (counted
    /// per ALG).
    pub(super) fn hand_off(
        &mut self,
        slot: u32,
        port: u16,
        peer: u16,
        from_initiator: bool,
        pkt: P::Pkt,
    ) {
        let Some(link) = self.alg.as_ref() else {
            self.queue_out(peer, pkt);
            return;
        };
        let info = self.table.info(slot);
        let Some(alg) = self.setup.config.alg_enabled(info.application) else {
            self.queue_out(peer, pkt);
            return;
        };
        let h = Handoff {
            pkt,
            port: PortId(port),
            egress: PortId(peer),
            session: self.table.id(slot),
            key: self.table.get(slot).key,
            from_initiator,
            alg,
            application: info.application,
            service_set: info.service_set,
            rule: info.rule,
            nat: self.handoff_nat(slot),
        };
        match link.handoff.push(h) {
            Ok(()) => self.stats.inc_alg(AlgCounter::HandedOff, alg),
            Err(h) => {
                self.stats.inc_alg(AlgCounter::HandoffRingFull, alg);
                drop(h);
            }
        }
    }

    /// Between bursts: apply the control core's ALG commands (then publish the last one
    /// applied) and transmit what it gave back.
    pub(super) fn alg_work(&mut self, now_ms: u32, now_s: u32) {
        let Some(link) = self.alg.as_ref() else {
            return;
        };
        if link.commands.is_empty() && link.returns.is_empty() {
            return;
        }
        let mut last = None;
        for _ in 0..ALG_COMMAND_BUDGET {
            let Some(cmd) = self.alg.as_ref().and_then(|l| l.commands.pop()) else {
                break;
            };
            last = Some(cmd.seq());
            match cmd {
                AlgCommand::AddPinhole { spec, .. } => {
                    if !self.pinholes.insert(spec) {
                        self.stats.inc(Counter::PinholeTableFull);
                        // 0x3 on the ALG's session: no memory for its child's pinhole.
                        self.flag_session(spec.parent, crate::session::flags::NO_MEMORY);
                    }
                }
                AlgCommand::RemovePinhole { id, .. } => {
                    self.pinholes.remove(id);
                }
                AlgCommand::SetAction {
                    session, action, ..
                } => {
                    if let Some((w, slot)) = split_session_id(session) {
                        if w == self.setup.index && self.table.is_live(slot) {
                            self.table.get_mut(slot).action = action as u8;
                            self.emit(EventKind::Changed, slot, now_ms, now_s);
                        }
                    }
                }
                AlgCommand::CloseSession { session, .. } => {
                    self.close_session(session, now_ms, now_s);
                }
                AlgCommand::SequenceShifted { session, .. } => {
                    if let Some((w, slot)) = split_session_id(session) {
                        if w == self.setup.index && self.table.is_live(slot) {
                            if let Some(win) = self.table.tcp_window_mut(slot) {
                                win.make_liberal();
                            }
                        }
                    }
                }
            }
        }
        for _ in 0..BURST {
            let Some(r) = self.alg.as_ref().and_then(|l| l.returns.pop()) else {
                break;
            };
            self.stats.inc(Counter::ReturnedSent);
            self.queue_out(r.port.0, r.pkt);
        }
        if let (Some(seq), Some(l)) = (last, &self.alg) {
            l.applied.store(seq, Ordering::Release);
        }
    }
}
