//! The TCP checks of a service set on the worker (`tcp-session`): the SYN check on a new
//! session's first segment, the strict SYN check, and each segment against its session's
//! sequence window ([`crate::session::tcp_window`]). What the checks refuse is counted by
//! reason; a refused segment changes nothing in its session.

use crate::port::{PacketBuf, PortIo};
use crate::session::tcp::flag::{ACK, RST, SYN};
use crate::session::tcp::TcpPhase;
use crate::session::tcp_window::{knob, OutOfWindow, Segment};
use crate::session::TcpState;
use crate::stats::Counter;
use crate::wire::{read_tcp_options, Parsed, TcpOptions};

use super::state::Worker;
use super::types::Meta;

/// What becomes of a segment of an existing session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SegmentFate {
    /// Checked (or not to be): the TCP tracker takes it.
    Track,
    /// Out of the window and passed: forwarded, but it changes nothing.
    Pass,
    /// Dropped (counted by reason).
    Drop,
    /// An RST at the wrong sequence (`rst-sequence-check`): dropped, and answered with
    /// this challenge ACK (`seq`, `ack`) to its sender.
    Challenge(u32, u32),
}

/// The options of the TCP header at `l4` of `frame` that the window reads. Linux's data
/// segments carry only timestamps (NOP, NOP, TS): those are recognised without a walk.
#[inline(always)]
fn options_at(frame: &[u8], l4: usize) -> TcpOptions {
    let Some(hdr) = frame.get(l4..l4 + 20) else {
        return TcpOptions::default();
    };
    let hl = usize::from(hdr[12] >> 4) * 4;
    if hl <= 20 {
        return TcpOptions::default();
    }
    let Some(opts) = frame.get(l4 + 20..l4 + hl) else {
        return TcpOptions::default();
    };
    if opts.len() == 12 && opts[..4] == [1, 1, 8, 10] {
        return TcpOptions::default();
    }
    read_tcp_options(opts)
}

impl<P: PortIo> Worker<P> {
    /// The segment whose meta is `m`, as the window reads it (options from frame `i`).
    #[inline(always)]
    fn segment(&self, i: usize, m: &Meta) -> Segment {
        let options = self.rx.get(i).map_or_else(TcpOptions::default, |p| {
            options_at(p.data(), usize::from(m.l4_offset))
        });
        Segment {
            flags: m.tcp_flags,
            seq: m.tcp_seq,
            ack: m.tcp_ack,
            window: m.tcp_window,
            payload_len: m.payload_len,
            options,
        }
    }

    /// Checks segment `i` (meta `m`) of TCP session `slot` against its service set's
    /// checks; `tracker` is the session's TCP state before it.
    #[inline(never)]
    pub(super) fn check_segment(
        &mut self,
        i: usize,
        slot: u32,
        from_initiator: bool,
        m: &Meta,
        tracker: TcpState,
    ) -> SegmentFate {
        let Some(knobs) = self.table.tcp_window(slot).map(|w| w.knobs()) else {
            return SegmentFate::Track;
        };
        if knobs == 0 {
            return SegmentFate::Track;
        }
        if knobs & knob::STRICT_SYN != 0
            && m.payload_len != 0
            && m.tcp_flags & SYN == 0
            && matches!(tracker.phase(), TcpPhase::SynSent | TcpPhase::SynReceived)
        {
            self.stats.inc(Counter::TcpStrictSynDrops);
            return SegmentFate::Drop;
        }
        if knobs & knob::SEQUENCE == 0 {
            return SegmentFate::Track;
        }
        let seg = self.segment(i, m);
        // A SYN after the connection closed starts a new one (the tracker restarts too).
        let restart = from_initiator
            && m.tcp_flags & (SYN | ACK | RST) == SYN
            && tracker.phase() == TcpPhase::Closed;
        let Some(w) = self.table.tcp_window_mut(slot) else {
            return SegmentFate::Track;
        };
        if restart {
            w.reset();
        }
        match w.track(from_initiator, &seg, knobs & knob::RST_EXACT != 0) {
            Ok(()) => SegmentFate::Track,
            Err(OutOfWindow::RstNotExact) => {
                self.stats.inc(Counter::TcpRstSequenceDrops);
                let (seq, ack) = w.challenge(from_initiator);
                SegmentFate::Challenge(seq, ack)
            }
            Err(_) => {
                self.stats.inc(Counter::TcpOutOfWindow);
                if knobs & knob::PASS != 0 {
                    SegmentFate::Pass
                } else {
                    self.stats.inc(Counter::TcpOutOfWindowDrops);
                    SegmentFate::Drop
                }
            }
        }
    }

    /// Answers RST frame `i` (taken out of the burst) with the challenge ACK (`seq`, `ack`),
    /// sent back out of `port`, the port it came in on. Rare: the frame is parsed again.
    #[cold]
    pub(super) fn challenge_ack(&mut self, i: usize, port: u16, seq: u32, ack: u32) {
        let Some(mut pkt) = self.rx.take(i) else {
            return;
        };
        let len = pkt.data().len();
        let crate::wire::Outcome::Ip(p) = crate::wire::parse(pkt.data()) else {
            return;
        };
        // Room for the answer (an RST is at least as long as the bare ACK; padding below).
        if !pkt.set_len(pkt.capacity()) {
            return;
        }
        let answer = crate::wire::tcp_ack_in_place(pkt.data_mut(), len, &p, seq, ack);
        self.send_answer(port, pkt, answer, Counter::TcpChallengeAcks);
    }

    /// A new TCP session `slot` of `service_set`: its window takes the service set's knobs
    /// and its first segment (parsed as `p` from `frame`, from the initiator).
    pub(super) fn start_window(&mut self, slot: u32, service_set: u16, p: &Parsed, frame: &[u8]) {
        let seg = Segment {
            flags: p.tcp_flags,
            seq: p.tcp_seq,
            ack: p.tcp_ack,
            window: p.tcp_window,
            payload_len: p.payload_len,
            options: options_at(frame, usize::from(p.l4_offset)),
        };
        let knobs = self.tcp_checks.knobs(service_set);
        if let Some(w) = self.table.tcp_window_mut(slot) {
            w.set_knobs(knobs);
            if knobs & knob::SEQUENCE != 0 {
                // The first segment is the window's first: it cannot be refused.
                let _ = w.track(true, &seg, false);
            }
        }
    }
}
