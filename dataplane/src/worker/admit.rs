//! The packets the fast path hands aside: flows without a session (admission by the
//! service set's rules or a pinhole, limits, the setup rate), actions other than forward,
//! rejects (RST or ICMP unreachable), ICMP errors matched to the session they quote, and
//! later IP fragments, which follow their datagram's session ([`super::frag`]).

use crate::flow::{Direction, Family, FlowKey};
use crate::port::{PacketBuf, PortIo, BURST};
use crate::ring::EventKind;
use crate::session::pinhole::PinholeSpec;
use crate::session::tcp::flag::{ACK, RST, SYN};
use crate::session::{bits, Action, TcpState};
use crate::stats::{Counter, Gauge, SsFigure};
use crate::wire::{self, Outcome, Parsed};
use svcard_config::{Config, LimitPolicy, RuleAction, TimeoutClass};

use super::frag::{DatagramId, Follow};
use super::nat::{Inbound, NatNew};
use super::state::Worker;
use super::types::*;
use crate::wire::ip_proto;

impl<P: PortIo> Worker<P> {
    /// Stage C for packet `i` (kind `k`) that has no session: parsed whole again (stage A
    /// parsed it as IP), then [`on_new`](Self::on_new). Out of line, like every path but an
    /// established session's forward, so that stage C's loop keeps its values in registers.
    #[cold]
    #[inline(never)]
    pub(super) fn no_session(
        &mut self,
        i: usize,
        k: u8,
        port: u16,
        peer: u16,
        now_ms: u32,
        now_s: u32,
    ) {
        let Some(pkt) = self.take_for_slow_path(i) else {
            return;
        };
        let j = usize::from(k) & (BURST - 1);
        let st = &*self.stage;
        let key = if k & FAST != 0 {
            st.v4[j].key()
        } else {
            st.keys[j]
        };
        let (hash, dir) = (st.hashes[j], st.dirs[j]);
        if let Outcome::Ip(p) = wire::parse(pkt.data()) {
            self.on_new(port, peer, pkt, &p, &key, hash, dir, now_ms, now_s);
        }
    }

    /// An established session's packet whose action is not a plain forward.
    #[cold]
    #[inline(never)]
    pub(super) fn not_forward(
        &mut self,
        i: usize,
        slot: u32,
        action: u8,
        port: u16,
        peer: u16,
        from_initiator: bool,
    ) {
        let Some(pkt) = self.take_for_slow_path(i) else {
            return;
        };
        let action = Action::from_u8(action);
        if action == Action::Watch && self.alg.is_some() {
            self.hand_off(slot, port, peer, from_initiator, pkt);
            return;
        }
        self.act(action, port, peer, pkt);
    }

    pub(super) fn reject(&mut self, port: u16, mut pkt: P::Pkt, p: &Parsed) {
        let len = pkt.data().len();
        let cap = pkt.capacity();
        if !pkt.set_len(cap) {
            self.stats.inc(Counter::RejectUnanswered);
            return;
        }
        let (answer, counter) = if p.proto == ip_proto::TCP {
            if p.tcp_flags & 0x04 != 0 {
                // Never answer a RST.
                (None, Counter::RstSent)
            } else {
                (
                    wire::reply::tcp_rst_in_place(pkt.data_mut(), len, p),
                    Counter::RstSent,
                )
            }
        } else {
            (
                wire::reply::icmp_unreachable_in_place(pkt.data_mut(), len, p),
                Counter::IcmpUnreachSent,
            )
        };
        if !self.send_answer(port, pkt, answer, counter) {
            self.stats.inc(Counter::RejectUnanswered);
        }
    }

    /// Sends an answer a reply builder wrote in `pkt` (`answer`: its length, none when it
    /// could not) out of `port`, padded to Ethernet's minimum frame (60 bytes without FCS)
    /// as a NIC would, and counts it in `counter`. False when nothing was sent.
    pub(super) fn send_answer(
        &mut self,
        port: u16,
        mut pkt: P::Pkt,
        answer: Option<usize>,
        counter: Counter,
    ) -> bool {
        let answer = answer.map(|n| {
            if n < 60 && pkt.set_len(60) {
                pkt.data_mut()[n..].fill(0);
                60
            } else {
                n
            }
        });
        match answer {
            Some(n) if pkt.set_len(n) => {
                self.stats.inc(counter);
                self.queue_out(port, pkt);
                true
            }
            _ => false,
        }
    }

    /// Gives a session of service set `ss` back to the card-wide budget (when shared).
    pub(super) fn give_back(&self, ss: u16) {
        if let Some(b) = self.budget.as_deref() {
            b.give_back(ss);
        }
    }

    pub(super) fn fail_new(
        &mut self,
        policy: LimitPolicy,
        (peer, ss): (u16, u16),
        pkt: P::Pkt,
        counter: Counter,
    ) {
        self.stats.inc(Counter::SessionsFailed);
        match policy {
            LimitPolicy::Bypass => {
                self.stats.inc(Counter::SessionLimitBypassed);
                self.stats.inc_ss(ss, SsFigure::LimitBypassed);
                self.queue_out(peer, pkt);
            }
            LimitPolicy::Drop => {
                self.stats.inc(counter);
                let f = match counter {
                    Counter::SessionLimitDrops | Counter::SetupRateDrops => {
                        Some(SsFigure::LimitDrops)
                    }
                    Counter::NatFiltered => Some(SsFigure::NatRefused),
                    _ => None,
                };
                if let Some(f) = f {
                    self.stats.inc_ss(ss, f);
                }
                drop(pkt);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_new(
        &mut self,
        port: u16,
        peer: u16,
        pkt: P::Pkt,
        p: &Parsed,
        key: &FlowKey,
        hash: u64,
        dir: Direction,
        now_ms: u32,
        now_s: u32,
    ) {
        let (mut key, mut hash, mut dir) = (*key, hash, dir);
        if p.fragment == 2 {
            // A non-first fragment carries no ports: it follows the session its datagram's
            // first fragment went to.
            self.follow_fragment(peer, pkt, p, now_ms);
            return;
        }
        if self.icmp_alg && p.is_icmp_error() {
            self.on_icmp_error(peer, pkt, p, now_ms);
            return;
        }
        // An ALG's pinhole, matched on the packet's own tuple. Through source NAT (the
        // child comes to the public endpoint the ALG wrote into its parent's payload) the
        // session is keyed to the private endpoint, the packet's tuple its second wing.
        // Otherwise a packet to a pool address needs a mapping that admits it
        // (endpoint-independent filtering), and its session is made the same way.
        let pinhole = self
            .pinholes
            .take_match(p.proto, &p.src, p.sport, &p.dst, p.dport, now_ms);
        let mut wing = None;
        if let Some(n) = pinhole.as_ref().and_then(|ph| ph.nat) {
            match self.nat_pinhole(p, &key, &n) {
                Some((k, h, d, w)) => {
                    (key, hash, dir) = (k, h, d);
                    wing = Some(w);
                }
                None => {
                    self.stats.inc(Counter::NatFiltered);
                    drop(pkt);
                    return;
                }
            }
        } else if self.nat.is_some() && pinhole.is_none() {
            match self.nat_inbound(p, &key, now_ms, src_mac(&pkt)) {
                Inbound::NotNat => {}
                Inbound::Hairpin(w) => {
                    // The session keeps the packet's own key; its wing is the other host's.
                    wing = Some(w);
                }
                Inbound::Filtered => {
                    self.stats.inc(Counter::NatFiltered);
                    drop(pkt);
                    return;
                }
                Inbound::Session(k, h, d, w) => {
                    (key, hash, dir) = (k, h, d);
                    wing = Some(w);
                }
            }
        }
        let tcp = if p.proto == ip_proto::TCP {
            TcpState::new_from_first(p.tcp_flags)
        } else {
            TcpState::default()
        };
        let class = timeout_class(p.proto, tcp);
        let mut adm = match pinhole {
            Some(ph) => self.admit_child(&ph, class),
            None => self.admit(port, p, class),
        };
        if p.proto == ip_proto::TCP
            && p.tcp_flags & (SYN | ACK | RST) != SYN
            && !self.tcp_checks.pickup(adm.service_set)
        {
            // The SYN check: no mid-stream pickup in this service set.
            if let Some(w) = wing {
                self.nat_abandon(&key, dir, &w);
            }
            self.stats.inc(Counter::TcpNonSynDrops);
            self.stats
                .inc_ss(adm.service_set, SsFigure::TcpSynCheckDrops);
            drop(pkt);
            return;
        }
        let policy = self.setup.config.limits.at_limit;
        let ss = usize::from(adm.service_set);
        // The service set's session limit (the card-wide budget, else this worker's share)
        // and the setup rate. Past either, `at-limit` decides: drop, or a Bypass session
        // (forwarded without services, flagged 0x2, outside the service set's count).
        let mut limited = None;
        let took = match self.budget.as_deref() {
            Some(b) if b.covers(adm.service_set) => b.try_take(adm.service_set),
            _ => ss >= self.ss_sessions.len() || self.ss_sessions[ss] < self.ss_limits[ss],
        };
        if !took {
            limited = Some(Counter::SessionLimitDrops);
        } else if self.token_rate_per_ms != 0 {
            if self.tokens < 1000 {
                limited = Some(Counter::SetupRateDrops);
            } else {
                self.tokens -= 1000;
            }
        }
        let inbound = wing.is_some();
        if inbound && (limited.is_some() || !matches!(adm.action, Action::Forward | Action::Watch))
        {
            // A session in to a mapping is made whole or not at all (a Bypass one would
            // reach no private host).
            if let Some(w) = wing {
                self.nat_abandon(&key, dir, &w);
            }
            if took {
                self.give_back(adm.service_set);
            }
            let counter = limited.unwrap_or(Counter::NatFiltered);
            self.fail_new(LimitPolicy::Drop, (peer, adm.service_set), pkt, counter);
            return;
        }
        if let Some(counter) = limited {
            if took {
                self.give_back(adm.service_set);
            }
            if let Some(parent) = adm.parent {
                // 0x2 on the ALG's session: its child met the session or flow limit.
                self.flag_session(parent, crate::session::flags::LIMIT);
            }
            if policy == LimitPolicy::Drop {
                self.fail_new(policy, (peer, adm.service_set), pkt, counter);
                return;
            }
            self.stats.inc(Counter::SessionsFailed);
            self.stats.inc(Counter::SessionLimitBypassed);
            self.stats.inc_ss(adm.service_set, SsFigure::LimitBypassed);
            adm.action = Action::Bypass;
            adm.pinhole = None;
            adm.offload_child = false;
        }
        // Source NAT: a public address and port for a session that forwards (a Bypass
        // session is forwarded without services, untranslated).
        if !inbound && self.nat.is_some() && matches!(adm.action, Action::Forward | Action::Watch) {
            let translated = self.nat_new(adm.service_set, p, now_ms, src_mac(&pkt));
            // A port block taken for it: its log.
            self.send_block_event();
            match translated {
                NatNew::None => {}
                NatNew::Wing(w) => wing = Some(w),
                NatNew::Refused(counter) => {
                    self.give_back(adm.service_set);
                    self.stats.inc(Counter::SessionsFailed);
                    self.stats.inc(counter);
                    self.stats.inc_ss(adm.service_set, SsFigure::NatRefused);
                    drop(pkt);
                    return;
                }
            }
        }
        let slot = match self.table.insert(&key, hash, now_ms, now_s, adm.timeout) {
            Ok(s) => s,
            Err(_) => {
                if adm.action != Action::Bypass {
                    self.give_back(adm.service_set);
                }
                if let Some(w) = wing {
                    self.nat_abandon(&key, dir, &w);
                }
                if let Some(parent) = adm.parent {
                    // 0x4 on the ALG's session: no session ID was free for its child.
                    self.flag_session(parent, crate::session::flags::NO_ID);
                }
                self.fail_new(
                    policy,
                    (peer, adm.service_set),
                    pkt,
                    Counter::TableFullDrops,
                );
                return;
            }
        };
        let len = u32::from(p.ip_len);
        if let Some((s, info)) = self.table.parts_mut(slot) {
            info.service_set = adm.service_set;
            info.rule = adm.rule;
            info.application = adm.application;
            info.ingress[dir.index()] = port as u8; // fits: svcard_config::MAX_PORTS is 255
            s.action = adm.action as u8;
            // 0x2: the session or flow limit was reached (a Bypass session).
            s.junos_flags = if adm.action == Action::Bypass {
                crate::session::flags::LIMIT
            } else {
                0
            };
            s.bits = bits::ASYMMETRIC
                | if dir == Direction::BtoA {
                    bits::INITIATOR_B
                } else {
                    0
                }
                | if adm.action == Action::Bypass {
                    bits::BYPASSED
                } else {
                    0
                };
            s.tcp = tcp;
        }
        if p.proto == ip_proto::TCP && self.table.has_tcp_windows() {
            self.start_window(slot, adm.service_set, p, pkt.data());
        }
        // The wing after the session's bits are set (they would clear its NAT bit).
        let mut pkt = pkt;
        let mut hairpin = false;
        if let Some(w) = wing {
            if self.table.add_wing(slot, w) {
                self.stats.inc(Counter::NatSessions);
                hairpin = w.flags & crate::nat::wing::HAIRPIN != 0;
                if inbound && w.flags & (crate::nat::wing::ALG | crate::nat::wing::HAIRPIN) == 0 {
                    self.nat_inbound_made(w.pool);
                }
                if hairpin {
                    self.hairpin_made(slot, src_mac(&pkt), &w);
                    self.hairpin_rewrite(pkt.data_mut(), slot, true);
                } else {
                    self.nat_rewrite_pkt(&mut pkt, slot, true, inbound);
                }
            } else {
                // No room in the index (the sizing rules it out): untranslated, never.
                self.nat_abandon(&key, dir, &w);
                self.table.remove(slot);
                self.give_back(adm.service_set);
                self.fail_new(
                    policy,
                    (peer, adm.service_set),
                    pkt,
                    Counter::TableFullDrops,
                );
                return;
            }
            if let Some(n) = self.nat.as_deref() {
                self.stats.set_gauge(Gauge::NatPortsInUse, n.in_use());
            }
        }
        if ss < self.ss_sessions.len() && adm.action != Action::Bypass {
            self.ss_sessions[ss] += 1;
        }
        let _ = self.table.touch(slot, dir, len, now_ms);
        if p.fragment == 1 {
            self.stats.inc(Counter::FragmentsFirst);
            self.frags.first(
                datagram_of(p),
                first_fragment_end(p),
                slot,
                key,
                dir,
                now_ms,
            );
        }
        self.stats.inc(Counter::SessionsCreated);
        match adm.action {
            Action::Forward | Action::Watch => {
                self.stats.inc_ss(adm.service_set, SsFigure::RuleAccepts);
            }
            Action::Drop => self.stats.inc_ss(adm.service_set, SsFigure::RuleDiscards),
            Action::Reject => self.stats.inc_ss(adm.service_set, SsFigure::RuleRejects),
            Action::Bypass => {}
        }
        let val = validity(self.table.get(slot));
        self.stats.gauges[gauge_of(val) as usize] += 1;
        if matches!(adm.action, Action::Drop | Action::Reject) {
            self.stats.gauges[Gauge::DropFlow as usize] += 1;
        }
        // A translated session is never offloaded: rules do not rewrite (yet).
        if self.offload.is_some() && wing.is_none() {
            let policy = self.setup.config.offload_policy(
                adm.service_set,
                adm.application,
                adm.offload_child,
            );
            self.arm_offload(slot, policy, adm.action, now_ms);
        }
        self.emit(EventKind::Created, slot, now_ms, now_s);
        if let Some(id) = adm.pinhole {
            self.stats.inc(Counter::PinholeMatches);
            self.emit(EventKind::Matched(id), slot, now_ms, now_s);
        }
        if adm.action == Action::Watch && self.alg.is_some() {
            self.hand_off(slot, port, peer, true, pkt);
            return;
        }
        // A hairpinned packet goes back out the port it came in on.
        self.act(adm.action, port, if hairpin { port } else { peer }, pkt);
    }

    /// What the policy says of a new flow's first packet. Everything the configuration
    /// decides, under a plain borrow (no reference count traffic per new session).
    pub(super) fn admit(&self, port: u16, p: &Parsed, class: TimeoutClass) -> Admission {
        let cfg: &Config = &self.setup.config;
        let v = cfg.classify_on(
            usize::from(port),
            p.vlan,
            p.proto,
            ip_of(p.family, &p.src),
            p.sport,
            ip_of(p.family, &p.dst),
            p.dport,
        );
        let action = match v.action {
            RuleAction::Accept => match cfg.alg_enabled(v.application) {
                // Without a link to the control core (tests, tools) a Watch session is
                // forwarded here; with one, only the ALGs the control core runs watch.
                Some(k) if self.alg.as_ref().is_none_or(|l| l.watches(k)) => Action::Watch,
                _ => Action::Forward,
            },
            RuleAction::Discard => Action::Drop,
            RuleAction::Reject => Action::Reject,
        };
        Admission {
            service_set: v.service_set,
            rule: v.rule,
            application: v.application,
            action,
            timeout: cfg.idle_timeout(v.service_set, v.application, class),
            pinhole: None,
            parent: None,
            offload_child: false,
        }
    }

    /// Sets the Junos flag of session `id` (`show services sessions`, `Flags: 0x…`), if it
    /// is a live session of this worker.
    pub(super) fn flag_session(&mut self, id: u32, flag: u8) {
        if let Some((w, slot)) = crate::session::split_session_id(id) {
            if w == self.setup.index {
                if let Some(s) = self.table.try_get_mut(slot) {
                    s.junos_flags = flag;
                }
            }
        }
    }

    /// A child flow that matched a pinhole: permitted by its parent's policy.
    pub(super) fn admit_child(&self, ph: &PinholeSpec, class: TimeoutClass) -> Admission {
        Admission {
            service_set: ph.service_set,
            rule: ph.rule,
            application: ph.application,
            action: ph.action,
            timeout: self
                .setup
                .config
                .idle_timeout(ph.service_set, ph.application, class),
            pinhole: Some(ph.id),
            parent: Some(ph.parent),
            offload_child: ph.offload,
        }
    }

    /// An ICMP error with no session of its own (the ICMP ALG is on): it belongs to the
    /// session of the packet it quotes, is counted there and passed, or is dropped when
    /// there is no such session.
    pub(super) fn on_icmp_error(&mut self, peer: u16, pkt: P::Pkt, p: &Parsed, now_ms: u32) {
        let quoted = wire::parse_icmp_error_inner(pkt.data(), p).and_then(|q| {
            let fam = if q.family == 6 {
                Family::V6
            } else {
                Family::V4
            };
            let (mut k, d) = FlowKey::from_packet(fam, q.proto, q.src, q.sport, q.dst, q.dport);
            // The quoted packet travelled on the error's VLAN.
            k.vlan = p.vlan;
            let h = self.table.hash(&k);
            self.table
                .find_any(&k, h)
                .map(|(slot, wing)| (slot, d, wing, q))
        });
        let Some((slot, quoted_dir, wing, q)) = quoted else {
            self.stats.inc(Counter::IcmpErrorsNoSession);
            drop(pkt);
            return;
        };
        // The error travels against the packet it quotes (its IP bytes, as every count). A
        // quote of the translated tuple is of the initiator's packet.
        let ini = self.table.get(slot).initiator();
        let quoted_dir = if wing { ini } else { quoted_dir };
        let len = u32::from(p.ip_len);
        let _ = self.table.touch(slot, quoted_dir.reverse(), len, now_ms);
        self.stats.inc(Counter::IcmpErrorsRelated);
        let mut pkt = pkt;
        if self.table.get(slot).bits & bits::NAT != 0 {
            self.nat_icmp_error(&mut pkt, slot, p, &q, wing);
        }
        match Action::from_u8(self.table.get(slot).action) {
            Action::Drop | Action::Reject => {
                self.stats.inc(Counter::PolicyDropped);
                drop(pkt);
            }
            _ => self.queue_out(peer, pkt),
        }
    }
}

/// The datagram a fragment belongs to.
/// A frame's Ethernet source address.
fn src_mac<B: crate::port::PacketBuf>(pkt: &B) -> [u8; 6] {
    let mut m = [0u8; 6];
    if let Some(s) = pkt.data().get(6..12) {
        m.copy_from_slice(s);
    }
    m
}

fn datagram_of(p: &Parsed) -> DatagramId {
    DatagramId {
        src: p.src,
        dst: p.dst,
        id: p.frag_id,
        proto: p.proto,
        vlan: p.vlan,
    }
}

/// Where a first fragment's data ends in its datagram (the bytes after its IP header and
/// any extension headers up to the fragment header).
fn first_fragment_end(p: &Parsed) -> u16 {
    p.ip_len
        .saturating_sub(p.l4_offset.saturating_sub(p.l3_offset))
}

impl<P: PortIo> Worker<P> {
    /// Remembers the first fragment in burst slot `i`, of session `slot`, in direction
    /// `dir` (its frame is parsed again: first fragments are rare).
    pub(super) fn note_first_fragment(&mut self, i: usize, slot: u32, dir: Direction, now_ms: u32) {
        let Some(Outcome::Ip(p)) = self.rx.get(i).map(|pkt| wire::parse(pkt.data())) else {
            return;
        };
        let key = self.table.get(slot).key;
        self.stats.inc(Counter::FragmentsFirst);
        self.frags.first(
            datagram_of(&p),
            first_fragment_end(&p),
            slot,
            key,
            dir,
            now_ms,
        );
    }

    /// A later fragment: counted on its datagram's session and given its action, or
    /// dropped and counted (no first fragment seen, an overlap, too many pieces).
    fn follow_fragment(&mut self, peer: u16, pkt: P::Pkt, p: &Parsed, now_ms: u32) {
        let start = p.frag_offset;
        let end = start.saturating_add(p.payload_len);
        match self.frags.follow(&datagram_of(p), start, end, now_ms) {
            Follow::Session(slot, key, dir)
                if self.table.is_live(slot) && self.table.get(slot).key == key =>
            {
                let _ = self.table.touch(slot, dir, u32::from(p.ip_len), now_ms);
                self.stats.inc(Counter::FragmentsFollowed);
                let mut pkt = pkt;
                if self.table.get(slot).bits & bits::NAT != 0 {
                    let from_initiator = dir == self.table.get(slot).initiator();
                    // Its first fragment was checked: the rest follow it.
                    self.nat_rewrite_pkt(&mut pkt, slot, from_initiator, true);
                }
                match Action::from_u8(self.table.get(slot).action) {
                    Action::Forward | Action::Watch | Action::Bypass => self.queue_out(peer, pkt),
                    Action::Drop | Action::Reject => {
                        self.stats.inc(Counter::PolicyDropped);
                        drop(pkt);
                    }
                }
            }
            Follow::Overlap => {
                self.stats.inc(Counter::FragmentsOverlapping);
                drop(pkt);
            }
            Follow::TooMany => {
                self.stats.inc(Counter::FragmentsTooMany);
                drop(pkt);
            }
            Follow::Session(..) | Follow::Unknown => {
                self.stats.inc(Counter::FragmentsNoSession);
                drop(pkt);
            }
        }
    }
}
