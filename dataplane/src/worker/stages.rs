//! The per-packet path: stage A (parse, canonical key, hash, bucket prefetch), stage B
//! (session prefetch), stage C (find or create, act, forward in place), and the TCP tracker's
//! step. Everything here runs once per packet: no allocation, no lock, no clock read, no log.

use crate::flow::{Direction, Family, FlowKey, V4Words};
use crate::port::{PacketBuf, PortId, PortIo, BURST};
use crate::ring::EventKind;
use crate::session::tcp::TcpPhase;
use crate::session::{bits, Action, WING};
use crate::stats::Counter;
use crate::wire::{self, Outcome};

use super::state::Worker;
use super::tcp::SegmentFate;
use super::types::*;
use crate::wire::ip_proto;

impl<P: PortIo> Worker<P> {
    /// Stage A: parse every frame once, build its key and hash, prefetch its bucket.
    /// `MARKS`: frames may carry a NIC's mark naming their session (partial offload,
    /// [`Worker::with_marks`]): a marked frame's session is prefetched instead of its
    /// bucket, and stage B does not look it up. Without, the loop reads no mark.
    #[inline(never)]
    pub(super) fn stage_a<const MARKS: bool>(&mut self, port: u16) {
        let rx = &mut self.rx;
        let st = &mut *self.stage;
        let n = rx.len();
        st.port = port;
        st.n = n;
        st.marked = 0;
        st.tcp = 0;
        let me = self.setup.index;
        let mut m = 0usize;
        let mut fast = 0usize;
        let mut bytes = 0u64;
        let mut malformed = 0u64;
        for i in 0..n {
            st.kind[i] = GONE;
            let Some(pkt) = rx.get(i) else { continue };
            let data = pkt.data();
            bytes += data.len() as u64;
            // A mark names a slot of this worker (anything else is ignored: looked up).
            let mark = if MARKS {
                pkt.mark()
                    .and_then(crate::session::split_session_id)
                    .and_then(|(w, slot)| (w == me).then_some(slot))
            } else {
                None
            };
            // The commonest frame (untagged IPv4, UDP or TCP) in a few loads; the rest
            // through the full parser.
            if let Some(f) = wire::parse_fast_v4(data) {
                let (w, d) = V4Words::of(f.proto, f.src, f.sport, f.dst, f.dport);
                st.push_v4(&self.table, i, &mut m, w, d, &f, mark);
                fast += 1;
                continue;
            }
            match wire::parse(data) {
                Outcome::Ip(p) => {
                    let fam = if p.family == 6 {
                        Family::V6
                    } else {
                        Family::V4
                    };
                    let (mut k, d) =
                        FlowKey::from_packet(fam, p.proto, p.src, p.sport, p.dst, p.dport);
                    // Tagged frames are keyed by their VLAN too (the hot parser takes only
                    // untagged ones, whose keys have VLAN 0).
                    k.vlan = p.vlan;
                    st.push_ip(&self.table, i, &mut m, k, d, Meta::of(&p), p.ip_len, mark);
                }
                Outcome::NotIp { .. } => st.kind[i] = NOT_IP,
                Outcome::Drop(reason) => {
                    malformed += 1;
                    self.stats.drops[reason as usize] += 1;
                    drop(rx.take(i));
                }
            }
        }
        st.m = m;
        st.fast = fast;
        if MARKS {
            self.stats.add(
                Counter::OffloadMarkedPackets,
                u64::from(st.marked.count_ones()),
            );
        }
        self.stats.add(Counter::RxPackets, n as u64);
        self.stats.add(Counter::RxBytes, bytes);
        self.stats.add(Counter::Malformed, malformed);
    }

    /// Stage B: read the buckets, note each packet's candidate session, prefetch it.
    /// Packets that came marked keep the candidate their mark named.
    pub(super) fn stage_b(&mut self) {
        let st = &mut *self.stage;
        let m = st.m.min(BURST);
        if st.marked == 0 {
            self.table.candidates(&st.hashes[..m], &mut st.cand[..m]);
        } else {
            for j in 0..m {
                if st.marked & (1 << j) == 0 {
                    self.table
                        .candidates(&st.hashes[j..=j], &mut st.cand[j..=j]);
                }
            }
        }
        if st.tcp != 0 && self.table.has_tcp_windows() {
            // The TCP segments' windows, read in stage C after the session.
            let mut t = st.tcp;
            while t != 0 {
                let j = t.trailing_zeros() as usize & (BURST - 1);
                self.table.prefetch_tcp_window(st.cand[j]);
                t &= t - 1;
            }
        }
    }

    /// Stage C: resolve each packet's session (creating new ones) and act, in arrival
    /// order. `OFFLOAD`: sessions may be armed or offloaded (the worker has a link to the
    /// offload manager); without, the loop is built without a single offload check, so
    /// offload off costs nothing. Out of line, so each build of it is a function of its own,
    /// aligned (`.cargo/config.toml`), wherever the other lands.
    #[inline(never)]
    pub(super) fn stage_c<const OFFLOAD: bool>(&mut self, now_ms: u32, now_s: u32) {
        // Indices masked or clamped to the arrays' sizes: no bounds check per packet.
        const _: () = assert!(BURST.is_power_of_two());
        let port = self.stage.port;
        let n = self.stage.n.min(BURST);
        let peer = self.peers.get(usize::from(port)).copied().unwrap_or(port);
        self.back.port = peer;
        if self.stage.fast == n {
            // The common burst: every frame plain IPv4 UDP/TCP, so frame i is IP packet i
            // and there is no kind to look at.
            for i in 0..n {
                self.resolve_and_act::<OFFLOAD>(i, i as u8 | FAST, port, peer, now_ms, now_s);
            }
            self.end_stage_c(peer);
            return;
        }
        for i in 0..n {
            let k = self.stage.kind[i];
            if k == GONE {
                continue;
            }
            if k == NOT_IP {
                // Passed as it is: it stays in its slot, sent to the peer with the burst.
                self.stats.inc(Counter::NonIpPassed);
                self.back.kept += 1;
                continue;
            }
            self.resolve_and_act::<OFFLOAD>(i, k, port, peer, now_ms, now_s);
        }
        self.end_stage_c(peer);
    }

    /// The burst is handled: what stayed in its slots goes to the peer.
    #[inline(always)]
    pub(super) fn end_stage_c(&mut self, peer: u16) {
        self.stage.n = 0;
        self.send_in_place(peer);
    }

    /// Stage C for IP packet `i` of kind `k`: its session found (a miss is looked up again:
    /// an earlier packet may have created it) and the packet handled.
    #[inline(always)]
    pub(super) fn resolve_and_act<const OFFLOAD: bool>(
        &mut self,
        i: usize,
        k: u8,
        port: u16,
        peer: u16,
        now_ms: u32,
        now_s: u32,
    ) {
        let j = usize::from(k) & (BURST - 1);
        let st = &*self.stage;
        if k & FAST == 0 && st.meta[j].fragment == 2 {
            // A later fragment has no ports: its key could name another session (one of
            // ports 0, such as ICMPv6 neighbour discovery between the same hosts). It
            // follows its datagram's first fragment instead.
            self.no_session(i, k, port, peer, now_ms, now_s);
            return;
        }
        // The key is read in place (a copy of its 40 bytes costs as much as the compare).
        let found = if k & FAST != 0 {
            self.table.resolve_v4(&st.v4[j], st.hashes[j], st.cand[j])
        } else {
            self.table.resolve(&st.keys[j], st.hashes[j], st.cand[j])
        };
        match found {
            Some(s) => {
                // A packet with a translated session's translated tuple (its second wing)
                // travels from the remote end: the responder of a session out, the
                // initiator of one made in to a mapping or an ALG's port (the wing's line
                // is read here rather than by the rewrite that follows).
                let wing = s & WING != 0;
                let (s, dir) = if wing {
                    let slot = s & !WING;
                    let initiator = self.table.get(slot).initiator();
                    let inbound = self
                        .table
                        .wing(slot)
                        .is_some_and(|w| w.flags & crate::nat::wing::INBOUND != 0);
                    (
                        slot,
                        if inbound {
                            initiator
                        } else {
                            initiator.reverse()
                        },
                    )
                } else {
                    (s, st.dirs[j])
                };
                if k & FAST == 0 && self.stage.meta[j].fragment == 1 {
                    // A datagram's first fragment: its later ones will follow this session.
                    self.note_first_fragment(i, s, dir, now_ms);
                }
                self.on_existing::<OFFLOAD>(i, s, port, peer, j, dir, wing, now_ms, now_s);
            }
            None => self.no_session(i, k, port, peer, now_ms, now_s),
        }
    }

    /// Takes packet `i` of the burst out for a slow path; if that path forwards it to the
    /// peer, [`queue_out`](Self::queue_out) puts it back into this slot.
    #[inline]
    pub(super) fn take_for_slow_path(&mut self, i: usize) -> Option<P::Pkt> {
        self.back.slot = i;
        self.rx.take(i)
    }

    /// Sends what stayed in the received burst to the peer, in arrival order, after what
    /// was queued for the peer before the burst.
    pub(super) fn send_in_place(&mut self, peer: u16) {
        let kept = core::mem::take(&mut self.back.kept);
        self.back.port = NO_PORT;
        self.send_queued(peer);
        let sent = if kept > 0 {
            self.io.tx_burst(PortId(peer), &mut self.rx)
        } else {
            0
        };
        // Whatever is left (nothing kept, or a port without TX) is freed.
        self.rx.drain().for_each(drop);
        self.stats.add(Counter::TxPackets, sent as u64);
        self.stats
            .add(Counter::TxDropped, kept.saturating_sub(sent) as u64);
    }

    /// A packet of an established session; `at` is its IP index in the burst (where its
    /// [`Meta`] lies, read for TCP segments only).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_existing<const OFFLOAD: bool>(
        &mut self,
        i: usize,
        slot: u32,
        port: u16,
        peer: u16,
        at: usize,
        dir: Direction,
        wing: bool,
        now_ms: u32,
        now_s: u32,
    ) {
        if self.rx.get(i).is_none() {
            return;
        }
        // IP bytes, as Junos counts them (no link layer, no VLAN tag, no padding).
        let len = u32::from(self.stage.l3_len[at & (BURST - 1)]);
        let s = if OFFLOAD {
            match self
                .table
                .touch_unless(slot, dir, len, now_ms, bits::OFFLOAD)
            {
                Some(s) => s,
                None => {
                    if self.model_path(i, slot, dir, at) {
                        // Its rule is active in the NIC model: counted and forwarded there.
                        return;
                    }
                    self.table.touch(slot, dir, len, now_ms)
                }
            }
        } else {
            self.table.touch(slot, dir, len, now_ms)
        };
        let (tcp, tracker) = (s.key.proto == ip_proto::TCP, s.tcp);
        let from_initiator = dir == s.initiator();
        let action = s.action;
        let armed = OFFLOAD && s.bits & bits::OFFLOAD_ARMED != 0;
        let nat = s.bits & bits::NAT != 0;
        if !from_initiator && s.bits & bits::ASYMMETRIC != 0 {
            // The first packet of the reverse direction: record where it came in.
            s.bits &= !bits::ASYMMETRIC;
            self.table.info_mut(slot).ingress[dir.index()] = port as u8; // fits: svcard_config::MAX_PORTS is 255
        }
        if tcp {
            // A TCP session's frames all stored their meta (the full parse's, or the hot
            // path's, which is never a fragment). A data or ACK segment of an established
            // connection cannot change its tracker: skipped.
            let meta = self.stage.meta[at & (BURST - 1)];
            let mut fate = SegmentFate::Track;
            if meta.fragment != 2 && self.table.has_tcp_windows() {
                // The service set's checks (sequence window, strict SYN).
                fate = self.check_segment(i, slot, from_initiator, &meta, tracker);
                match fate {
                    SegmentFate::Drop => {
                        drop(self.rx.take(i));
                        return;
                    }
                    SegmentFate::Challenge(seq, ack) => {
                        self.challenge_ack(i, port, seq, ack);
                        return;
                    }
                    SegmentFate::Track | SegmentFate::Pass => {}
                }
            }
            if fate == SegmentFate::Track
                && meta.fragment != 2
                && !tracker.unchanged_by(meta.tcp_flags)
            {
                self.on_tcp(slot, from_initiator, &meta, now_ms, now_s);
            }
        }
        if armed {
            // An offload policy waits to fire (after TCP tracking: the segment that
            // completes a handshake counts).
            self.check_offload(slot, now_ms);
        }
        if nat && !self.nat_rewrite(i, slot, from_initiator, (wing, port)) {
            drop(self.rx.take(i));
            return;
        }
        if action == Action::Forward as u8 {
            // The common case, without the general dispatch: the packet stays in its slot,
            // sent to the peer with the burst.
            self.back.kept += 1;
            return;
        }
        self.not_forward(i, slot, action, port, peer, from_initiator);
    }

    /// TCP tracking for a segment of an existing session. The FIN sequences live in the cold
    /// part of the session: they are read only when a FIN or SYN is in play.
    #[inline(never)]
    pub(super) fn on_tcp(
        &mut self,
        slot: u32,
        from_initiator: bool,
        p: &Meta,
        now_ms: u32,
        now_s: u32,
    ) {
        const FIN_OR_SYN: u8 = 0x01 | 0x02;
        let Some((s, info)) = self.table.parts_mut(slot) else {
            return;
        };
        let before = validity(s);
        let closing = matches!(s.tcp.phase(), TcpPhase::Closing | TcpPhase::Closed);
        let changed = if p.tcp_flags & FIN_OR_SYN != 0 || closing {
            s.tcp.on_segment(
                from_initiator,
                p.tcp_flags,
                p.tcp_seq,
                p.tcp_ack,
                p.payload_len,
                &mut info.fin_seq,
            )
        } else {
            let mut unused = [0u32; 2];
            s.tcp.on_segment(
                from_initiator,
                p.tcp_flags,
                p.tcp_seq,
                p.tcp_ack,
                p.payload_len,
                &mut unused,
            )
        };
        if p.tcp_flags & (0x01 | 0x04) != 0
            && (info.offload != 0 || s.bits & bits::OFFLOAD_ARMED != 0)
        {
            // A FIN or RST: the rest of the close is the software path's.
            self.withdraw_on_close(slot);
        }
        if changed.is_none() {
            return;
        }
        let Some((s, info)) = self.table.parts_mut(slot) else {
            return;
        };
        if changed == Some(TcpPhase::SynSent) {
            // A new connection took over the closed session of its tuple: 0x1, found an
            // existing session.
            s.junos_flags = crate::session::flags::EXISTING;
        }
        let after = validity(s);
        let class = timeout_class(6, s.tcp);
        let (ss, app) = (info.service_set, info.application);
        let t = self.setup.config.idle_timeout(ss, app, class);
        self.table.set_timeout(slot, t);
        if before != after {
            self.stats.gauges[gauge_of(before) as usize] -= 1;
            self.stats.gauges[gauge_of(after) as usize] += 1;
        }
        self.emit(EventKind::Changed, slot, now_ms, now_s);
    }

    /// Carries out a session's action on one packet. A reject needs the whole parse: the
    /// frame is parsed again (rare, and still in cache).
    #[inline(always)]
    pub(super) fn act(&mut self, action: Action, port: u16, peer: u16, pkt: P::Pkt) {
        match action {
            Action::Forward | Action::Watch | Action::Bypass => self.queue_out(peer, pkt),
            Action::Drop => {
                self.stats.inc(Counter::PolicyDropped);
                drop(pkt);
            }
            Action::Reject => {
                self.stats.inc(Counter::Rejected);
                if let Outcome::Ip(full) = wire::parse(pkt.data()) {
                    self.reject(port, pkt, &full);
                }
            }
        }
    }
}
