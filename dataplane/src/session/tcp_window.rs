//! TCP sequence windows: per direction, what the sender may send and acknowledge, so that a
//! spoofed segment (an RST or a FIN with a guessed sequence number, data injected far
//! ahead) is told from the connection's own segments.
//!
//! The idea is Guido van Rooij's "Real Stateful TCP Packet Filtering in IP Filter" (2000),
//! the one netfilter's `tcp_in_window` follows. Each side keeps the highest sequence it has
//! sent (`end`), the highest sequence it may send (`maxend`: the other side's
//! acknowledgement plus its window), and the largest window it has advertised (`maxwin`).
//! A segment is in the window when
//!
//! 1. it starts no later than `sender.maxend` (nothing beyond what the receiver allowed),
//! 2. it ends no earlier than `sender.end - receiver.maxwin` (a retransmission of what could
//!    still be in flight, not of something older),
//! 3. it acknowledges nothing the receiver has not sent (`ack <= receiver.end`), and
//! 4. nothing older than a window ago (`ack >= receiver.end - max(sender.maxwin, 66000)`).
//!
//! SACK blocks stand in for the acknowledgement when they reach further (a receiver that
//! holds data beyond a hole acknowledges it there). Window scaling (RFC 7323) applies when
//! both SYNs offered it; windows in SYNs are never scaled. A session picked up mid-stream
//! has missed the handshake, and with it the scale: it is tracked but never refused (as
//! netfilter does for picked-up connections), and says so in [`TcpWindow::liberal`].
//!
//! One [`TcpWindow`] per session, 32 bytes, in the table beside the session
//! ([`super::SessionTable::with_tcp_windows`]); only TCP sessions of service sets that
//! check sequences read it.

use super::tcp::flag::{ACK, FIN, RST, SYN};
use crate::wire::TcpOptions;
use svcard_config::{Config, OutOfWindow as OnOutOfWindow, TcpSession};

/// The least acknowledgement window honoured (netfilter's `MAXACKWINUNDEF`-like floor: a
/// sender that advertised a tiny window may still acknowledge a full segment's worth).
const MIN_ACK_WINDOW: u32 = 66_000;

/// This side has been seen: its fields are set.
const SEEN: u8 = 0x01;
/// Its SYN offered window scaling.
const WSCALE: u8 = 0x02;
/// Its SYN offered SACK.
const SACK_PERM: u8 = 0x04;
/// Picked up mid-stream: tracked, never refused.
const LIBERAL: u8 = 0x08;

/// One direction's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Side {
    /// Highest sequence sent, plus one (`seq + len`, SYN and FIN counting one each).
    pub end: u32,
    /// Highest sequence this side may send: the other side's acknowledgement plus window.
    pub maxend: u32,
    /// The largest window this side advertised (scaled).
    pub maxwin: u32,
    /// Its window scale shift (0 unless both SYNs offered scaling).
    pub scale: u8,
    flags: u8,
    /// The initiator's side holds the session's [`knob`]s here; the responder's is spare.
    knobs: u8,
    _pad: u8,
}

/// What a session's service set checks of its segments, kept in its window line so that a
/// segment needs no other read ([`TcpWindow::knobs`]).
pub mod knob {
    /// Sequence windows are checked (not `no-sequence-check`).
    pub const SEQUENCE: u8 = 0x01;
    /// An RST must carry the next sequence (`rst-sequence-check`).
    pub const RST_EXACT: u8 = 0x02;
    /// Data before the handshake completes is dropped (`strict-syn-check`).
    pub const STRICT_SYN: u8 = 0x04;
    /// Out-of-window segments are passed (`out-of-window = "pass"`), not dropped.
    pub const PASS: u8 = 0x08;
}

/// A session's sequence windows: `[initiator, responder]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C, align(32))]
pub struct TcpWindow {
    /// The two sides, initiator first.
    pub sides: [Side; 2],
}

const _: () = assert!(core::mem::size_of::<TcpWindow>() == 32);

/// What a segment carries that the window reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    /// The flag byte.
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (read when ACK is set).
    pub ack: u32,
    /// Window, as sent (unscaled).
    pub window: u16,
    /// Payload bytes.
    pub payload_len: u16,
    /// Its options (window scale and SACK-permitted in SYNs, SACK blocks).
    pub options: TcpOptions,
}

/// Why a segment is outside its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutOfWindow {
    /// It starts beyond what the receiver allowed (check 1).
    SeqAbove,
    /// It ends before anything that could still be in flight (check 2).
    SeqBelow,
    /// It acknowledges data the other side never sent (check 3).
    AckAbove,
    /// It acknowledges data older than a window (check 4).
    AckBelow,
    /// The first segment of the side that did not send the SYN is not a SYN-ACK or an
    /// RST acknowledging the SYN.
    BadSynAck,
    /// An RST inside the window but not at the expected sequence number (only with
    /// `rst-sequence-check`).
    RstNotExact,
}

/// `a <= b` in sequence space.
#[inline]
fn seq_le(a: u32, b: u32) -> bool {
    b.wrapping_sub(a) < 0x8000_0000
}

/// `a > b` in sequence space.
#[inline]
fn seq_gt(a: u32, b: u32) -> bool {
    !seq_le(a, b)
}

impl Side {
    /// A side first seen on its SYN (or SYN-ACK) ending at `end`.
    fn on_syn(end: u32, s: &Segment) -> Side {
        let mut flags = SEEN;
        if s.options.wscale.is_some() {
            flags |= WSCALE;
        }
        if s.options.sack_permitted {
            flags |= SACK_PERM;
        }
        Side {
            end,
            maxend: end,
            maxwin: u32::from(s.window).max(1),
            scale: s.options.wscale.unwrap_or(0),
            flags,
            knobs: 0,
            _pad: 0,
        }
    }
}

impl TcpWindow {
    /// Forget both sides (a new connection on the same tuple); the knobs stay.
    pub fn reset(&mut self) {
        self.put(Side::default(), Side::default());
    }

    /// Replaces both sides (initiator's first), keeping the session's knobs, which live in
    /// the initiator's side.
    fn put(&mut self, initiator: Side, responder: Side) {
        let knobs = self.knobs();
        self.sides = [initiator, responder];
        self.sides[0].knobs = knobs;
    }

    /// From now on tracked but never refused: the session's segments are about to bypass
    /// the window (a hardware rule forwards them), so what it knows goes stale.
    pub fn make_liberal(&mut self) {
        self.sides[0].flags |= LIBERAL;
        self.sides[1].flags |= LIBERAL;
    }

    /// The challenge ACK for an RST from the initiator (`from_initiator`) or the responder
    /// at the wrong sequence (RFC 5961 3.2): (`seq`, `ack`) of an ACK back to the RST's sender
    /// as the other side would send it, acknowledging what the sender sent so far.
    #[must_use]
    pub fn challenge(&self, from_initiator: bool) -> (u32, u32) {
        let (si, ri) = if from_initiator { (0, 1) } else { (1, 0) };
        (self.sides[ri].end, self.sides[si].end)
    }

    /// The session's [`knob`]s.
    #[inline]
    #[must_use]
    pub fn knobs(&self) -> u8 {
        self.sides[0].knobs
    }

    /// Sets the session's [`knob`]s (at its creation).
    #[inline]
    pub fn set_knobs(&mut self, knobs: u8) {
        self.sides[0].knobs = knobs;
    }

    /// The session was picked up mid-stream (or its handshake was not seen whole): its
    /// segments are tracked but never refused.
    #[must_use]
    pub fn liberal(&self) -> bool {
        (self.sides[0].flags | self.sides[1].flags) & LIBERAL != 0
    }

    /// Checks a segment from the initiator (`from_initiator`) or the responder against the
    /// window, and when it is inside (or the session is liberal) takes it into account.
    /// `rst_exact`: an RST must carry the sequence number expected next. A segment outside
    /// changes nothing.
    ///
    /// # Errors
    /// Which check the segment failed.
    // Inlined into its one caller on the packet path, so the segment stays in registers (a
    // copy of it through the stack stalled on store forwarding, 15 cycles a segment).
    #[inline(always)]
    pub fn track(
        &mut self,
        from_initiator: bool,
        s: &Segment,
        rst_exact: bool,
    ) -> Result<(), OutOfWindow> {
        let (si, ri) = if from_initiator { (0, 1) } else { (1, 0) };
        let (syn, has_ack) = (s.flags & SYN != 0, s.flags & ACK != 0);
        let end = s
            .seq
            .wrapping_add(u32::from(s.payload_len))
            .wrapping_add(u32::from(syn))
            .wrapping_add(u32::from(s.flags & FIN != 0));
        let mut sender = self.sides[si];
        let mut receiver = self.sides[ri];
        // Writes the two sides back in their places (the knobs kept).
        let put = |w: &mut TcpWindow, sender: Side, receiver: Side| {
            if si == 0 {
                w.put(sender, receiver);
            } else {
                w.put(receiver, sender);
            }
        };
        if syn && !has_ack && from_initiator && receiver.flags & SEEN == 0 {
            // The initiator's SYN (or its retransmission, or a new ISN before any answer).
            put(self, Side::on_syn(end, s), Side::default());
            return Ok(());
        }
        if sender.flags & SEEN == 0 {
            // This side's first segment.
            let strict = receiver.flags & (SEEN | LIBERAL) == SEEN;
            if strict {
                // The other side began with a SYN: this one answers it with a SYN-ACK, or an
                // RST, acknowledging the SYN (and any data sent on its heels).
                let answers = has_ack
                    && (syn || s.flags & RST != 0)
                    && seq_le(s.ack, receiver.end)
                    && seq_le(receiver.maxend, s.ack);
                if !answers {
                    return Err(OutOfWindow::BadSynAck);
                }
            }
            if syn && has_ack && strict {
                let mut me = Side::on_syn(end, s);
                if me.flags & receiver.flags & WSCALE == 0 {
                    me.scale = 0;
                    receiver.scale = 0;
                }
                // The SYN-ACK's window (never scaled) bounds what the initiator may send.
                receiver.maxend = s.ack.wrapping_add(u32::from(s.window));
                put(self, me, receiver);
                return Ok(());
            }
            // Mid-stream (or an answer other than a SYN-ACK): no scale known. Liberal.
            sender = Side {
                end,
                maxend: end,
                maxwin: u32::from(s.window).max(1),
                scale: 0,
                flags: SEEN | LIBERAL,
                knobs: 0,
                _pad: 0,
            };
            receiver.flags |= LIBERAL;
            put(self, sender, receiver);
            return Ok(());
        }
        if receiver.flags & SEEN == 0 {
            // The other side has sent nothing yet (asymmetric path, or data on the SYN's
            // heels): nothing to check against. `maxend` keeps the SYN's end until the
            // answer, which must acknowledge at least the SYN.
            if seq_gt(end, sender.end) {
                sender.end = end;
            }
            put(self, sender, receiver);
            return Ok(());
        }
        let win = if syn {
            u32::from(s.window)
        } else {
            u32::from(s.window) << sender.scale
        };
        let mut ack = if has_ack { s.ack } else { receiver.end };
        if has_ack {
            if let Some(r) = s.options.sack_right {
                if seq_gt(r, ack) {
                    ack = r;
                }
            }
        }
        let liberal = (sender.flags | receiver.flags) & LIBERAL != 0;
        if !liberal {
            let ack_window = sender.maxwin.max(MIN_ACK_WINDOW);
            if !seq_le(s.seq, sender.maxend) {
                return Err(OutOfWindow::SeqAbove);
            }
            if !seq_le(sender.end.wrapping_sub(receiver.maxwin), end) {
                return Err(OutOfWindow::SeqBelow);
            }
            if !seq_le(ack, receiver.end) {
                return Err(OutOfWindow::AckAbove);
            }
            if !seq_le(receiver.end.wrapping_sub(ack_window), ack) {
                return Err(OutOfWindow::AckBelow);
            }
            if rst_exact && s.flags & RST != 0 && s.seq != sender.end {
                return Err(OutOfWindow::RstNotExact);
            }
        }
        if sender.maxwin < win {
            sender.maxwin = win;
        }
        if seq_gt(end, sender.end) {
            sender.end = end;
        }
        if seq_gt(end, sender.maxend) {
            // Beyond what the receiver allowed (a liberal session, or a zero-window probe):
            // the receiver evidently accepts more.
            receiver.maxwin = receiver
                .maxwin
                .wrapping_add(end.wrapping_sub(sender.maxend));
            sender.maxend = end;
        }
        if has_ack {
            let reach = ack.wrapping_add(win).wrapping_add(u32::from(win == 0));
            if seq_gt(reach, receiver.maxend) {
                receiver.maxend = reach;
            }
        }
        put(self, sender, receiver);
        Ok(())
    }
}

/// A service set's checks as [`knob`] bits.
fn knobs_of(t: &TcpSession) -> u8 {
    let mut k = 0;
    if t.tracks_windows() {
        k |= knob::SEQUENCE;
    }
    if t.rst_sequence_check {
        k |= knob::RST_EXACT;
    }
    if t.strict_syn_check {
        k |= knob::STRICT_SYN;
    }
    if t.out_of_window == OnOutOfWindow::Pass {
        k |= knob::PASS;
    }
    k
}

/// The checks of every service set, looked up by a session's service set at its creation.
#[derive(Debug, Default)]
pub struct TcpChecks {
    /// Per service set, then the card's (sessions in no service set) last.
    knobs: Box<[u8]>,
    /// Per service set, then the card's: mid-stream pickup allowed (`no-syn-check`).
    pickup: Box<[bool]>,
}

impl TcpChecks {
    /// The checks of `cfg`'s service sets and of the card.
    #[must_use]
    pub fn new(cfg: &Config) -> Self {
        let all: Vec<&TcpSession> = cfg
            .service_sets
            .iter()
            .map(|s| &s.tcp_session)
            .chain(core::iter::once(&cfg.tcp_session))
            .collect();
        TcpChecks {
            knobs: all.iter().map(|t| knobs_of(t)).collect(),
            pickup: all.iter().map(|t| t.no_syn_check).collect(),
        }
    }

    fn at<T: Copy>(v: &[T], service_set: u16) -> Option<T> {
        v.get(usize::from(service_set))
            .or_else(|| v.last())
            .copied()
    }

    /// The knobs of a new session of `service_set`.
    #[must_use]
    pub fn knobs(&self, service_set: u16) -> u8 {
        Self::at(&self.knobs, service_set).unwrap_or(0)
    }

    /// A session of `service_set` may start with a segment other than a SYN.
    #[must_use]
    pub fn pickup(&self, service_set: u16) -> bool {
        Self::at(&self.pickup, service_set).unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tcp::flag::PSH;

    const I: bool = true;
    const R: bool = false;

    fn seg(flags: u8, seq: u32, ack: u32, window: u16, len: u16) -> Segment {
        Segment {
            flags,
            seq,
            ack,
            window,
            payload_len: len,
            options: TcpOptions::default(),
        }
    }

    fn syn(flags: u8, seq: u32, ack: u32, window: u16, wscale: Option<u8>) -> Segment {
        Segment {
            options: TcpOptions {
                wscale,
                sack_permitted: true,
                sack_right: None,
            },
            ..seg(flags, seq, ack, window, 0)
        }
    }

    /// A handshake as Linux makes it: ISNs 1000 and 5000, windows 64240 / 65160, scale 7.
    fn handshake() -> TcpWindow {
        let mut w = TcpWindow::default();
        w.track(I, &syn(SYN, 1000, 0, 64240, Some(7)), false)
            .unwrap();
        w.track(R, &syn(SYN | ACK, 5000, 1001, 65160, Some(7)), false)
            .unwrap();
        w.track(I, &seg(ACK, 1001, 5001, 502, 0), false).unwrap();
        assert!(!w.liberal());
        w
    }

    #[test]
    fn a_handshake_sets_both_sides_with_their_scale() {
        let w = handshake();
        let [i, r] = w.sides;
        assert_eq!((i.end, i.scale, r.end, r.scale), (1001, 7, 5001, 7));
        // The initiator may send up to the SYN-ACK's ack + window (unscaled).
        assert_eq!(i.maxend, 1001 + 65160);
        // The responder up to the final ACK's ack + its scaled window.
        assert_eq!(r.maxend, 5001 + (502 << 7));
        assert_eq!(i.maxwin, 502 << 7);
    }

    #[test]
    fn scaling_applies_only_when_both_syns_offer_it() {
        let mut w = TcpWindow::default();
        w.track(I, &syn(SYN, 1, 0, 1000, Some(7)), false).unwrap();
        w.track(R, &syn(SYN | ACK, 9, 2, 1000, None), false)
            .unwrap();
        assert_eq!((w.sides[0].scale, w.sides[1].scale), (0, 0));
        w.track(I, &seg(ACK, 2, 10, 500, 0), false).unwrap();
        assert_eq!(w.sides[1].maxend, 10 + 500, "not scaled");
    }

    #[test]
    fn data_retransmissions_keepalives_and_window_probes_are_in_the_window() {
        let mut w = handshake();
        // The initiator sends 3 segments of 1448; the responder acks the first two.
        for k in 0..3u32 {
            w.track(I, &seg(ACK | PSH, 1001 + k * 1448, 5001, 502, 1448), false)
                .unwrap();
        }
        w.track(R, &seg(ACK, 5001, 1001 + 2 * 1448, 509, 0), false)
            .unwrap();
        // A retransmission of the first segment (already acked).
        w.track(I, &seg(ACK, 1001, 5001, 502, 1448), false).unwrap();
        // A keep-alive: one byte before the next sequence, or none.
        let next = w.sides[0].end;
        w.track(I, &seg(ACK, next - 1, 5001, 502, 1), false)
            .unwrap();
        w.track(I, &seg(ACK, next - 1, 5001, 502, 0), false)
            .unwrap();
        // The responder closes its window; the initiator probes with one byte.
        w.track(R, &seg(ACK, 5001, next, 0, 0), false).unwrap();
        assert_eq!(
            w.sides[0].maxend,
            1001 + 2 * 1448 + (509 << 7),
            "a closed window does not take back what was allowed"
        );
        w.track(I, &seg(ACK, next, 5001, 502, 1), false).unwrap();
        // A duplicate ACK from the responder, a data segment back.
        w.track(R, &seg(ACK, 5001, next, 0, 0), false).unwrap();
        w.track(R, &seg(ACK | PSH, 5001, next + 1, 500, 100), false)
            .unwrap();
        assert_eq!(w.sides[1].end, 5101);
    }

    #[test]
    fn segments_outside_the_window_are_refused_and_change_nothing() {
        let w0 = handshake();
        let cases = [
            // An RST far ahead of anything allowed.
            (
                I,
                seg(RST, 1001 + 10_000_000, 0, 0, 0),
                OutOfWindow::SeqAbove,
            ),
            // An RST far behind.
            (
                I,
                seg(RST | ACK, 1001u32.wrapping_sub(10_000_000), 5001, 0, 0),
                OutOfWindow::SeqBelow,
            ),
            // A FIN from the responder acknowledging data never sent.
            (
                R,
                seg(FIN | ACK, 5001, 1001 + 500_000, 500, 0),
                OutOfWindow::AckAbove,
            ),
            // Data acknowledging something older than any window.
            (
                R,
                seg(ACK, 5001, 1001u32.wrapping_sub(200_000), 500, 10),
                OutOfWindow::AckBelow,
            ),
        ];
        for (side, s, why) in cases {
            let mut w = w0;
            assert_eq!(w.track(side, &s, false), Err(why), "{s:?}");
            assert_eq!(w, w0, "{s:?} changed the window");
        }
        // Sequence space wraps: the same checks around 2^32.
        let mut w = TcpWindow::default();
        w.track(I, &syn(SYN, u32::MAX - 10, 0, 64240, Some(7)), false)
            .unwrap();
        w.track(R, &syn(SYN | ACK, 77, u32::MAX - 9, 65160, Some(7)), false)
            .unwrap();
        w.track(I, &seg(ACK, u32::MAX - 9, 78, 502, 1000), false)
            .unwrap();
        assert_eq!(w.sides[0].end, 990);
        assert_eq!(
            w.track(I, &seg(RST, 0x4000_0000, 0, 0, 0), false),
            Err(OutOfWindow::SeqAbove)
        );
        w.track(I, &seg(RST, 990, 0, 0, 0), false).unwrap();
    }

    #[test]
    fn rst_sequence_check_wants_the_next_sequence_exactly() {
        let mut w = handshake();
        w.track(I, &seg(ACK, 1001, 5001, 502, 100), false).unwrap();
        let mut x = w;
        assert_eq!(
            x.track(I, &seg(RST, 1050, 0, 0, 0), true),
            Err(OutOfWindow::RstNotExact)
        );
        assert!(
            w.track(I, &seg(RST, 1050, 0, 0, 0), false).is_ok(),
            "in the window"
        );
        // The challenge ACK back to the initiator: the responder's next sequence,
        // acknowledging everything the initiator sent.
        assert_eq!(w.challenge(I), (5001, 1101));
        assert_eq!(w.challenge(R), (1101, 5001));
        let mut x = handshake();
        x.track(I, &seg(ACK, 1001, 5001, 502, 100), false).unwrap();
        x.track(I, &seg(RST, 1101, 0, 0, 0), true).unwrap();
    }

    #[test]
    fn a_syn_ack_or_rst_must_answer_the_syn() {
        let mut w = TcpWindow::default();
        w.track(I, &syn(SYN, 1000, 0, 64240, Some(7)), false)
            .unwrap();
        let before = w;
        assert_eq!(
            w.track(R, &syn(SYN | ACK, 5000, 777, 65160, Some(7)), false),
            Err(OutOfWindow::BadSynAck)
        );
        assert_eq!(
            w.track(R, &seg(RST | ACK, 0, 2000, 0, 0), false),
            Err(OutOfWindow::BadSynAck)
        );
        // Anything else first from the responder (a spoofed ACK, a bare RST).
        assert_eq!(
            w.track(R, &seg(ACK, 5000, 1001, 100, 10), false),
            Err(OutOfWindow::BadSynAck)
        );
        assert_eq!(
            w.track(R, &seg(RST, 0, 0, 0, 0), false),
            Err(OutOfWindow::BadSynAck)
        );
        assert_eq!(w, before);
        // Data on the SYN's heels: the SYN-ACK acknowledges the SYN alone.
        let mut early = before;
        early
            .track(I, &seg(ACK | PSH, 1001, 0, 64240, 20), false)
            .unwrap();
        early
            .track(R, &syn(SYN | ACK, 5000, 1001, 65160, Some(7)), false)
            .unwrap();
        // The port is closed: RST, ACK of the SYN.
        w.track(R, &seg(RST | ACK, 0, 1001, 0, 0), false).unwrap();
    }

    #[test]
    fn sack_blocks_stand_in_for_the_ack() {
        let mut w = handshake();
        for k in 0..4u32 {
            w.track(I, &seg(ACK, 1001 + k * 1000, 5001, 502, 1000), false)
                .unwrap();
        }
        // The responder lost the second segment: ack 2001, SACK up to 5001.
        let mut s = seg(ACK, 5001, 2001, 600, 0);
        s.options.sack_right = Some(5001);
        w.track(R, &s, false).unwrap();
        assert_eq!(w.sides[0].maxend, 5001 + (600 << 7), "from the SACK edge");
        // A SACK edge beyond what was sent is refused like an ack would be.
        let mut bad = s;
        bad.options.sack_right = Some(9_000_000);
        assert_eq!(w.track(R, &bad, false), Err(OutOfWindow::AckAbove));
    }

    #[test]
    fn the_knobs_survive_every_transition() {
        let mut w = TcpWindow::default();
        w.set_knobs(knob::SEQUENCE | knob::PASS);
        w.track(I, &syn(SYN, 1000, 0, 64240, Some(7)), false)
            .unwrap();
        w.track(R, &syn(SYN | ACK, 5000, 1001, 65160, Some(7)), false)
            .unwrap();
        w.track(I, &seg(ACK, 1001, 5001, 502, 0), false).unwrap();
        w.track(R, &seg(ACK, 5001, 1001, 502, 10), false).unwrap();
        assert_eq!(w.knobs(), knob::SEQUENCE | knob::PASS);
        w.reset();
        assert_eq!(w.knobs(), knob::SEQUENCE | knob::PASS);
        let mut p = TcpWindow::default();
        p.set_knobs(knob::RST_EXACT);
        p.track(R, &seg(ACK, 5, 5, 5, 5), false).unwrap();
        p.track(I, &seg(ACK, 5, 10, 5, 5), false).unwrap();
        assert_eq!(p.knobs(), knob::RST_EXACT);
    }

    #[test]
    fn a_session_picked_up_mid_stream_is_tracked_but_never_refused() {
        let mut w = TcpWindow::default();
        w.track(I, &seg(ACK, 123_456, 99, 300, 10), false).unwrap();
        assert!(w.liberal());
        w.track(R, &seg(ACK, 99, 123_466, 300, 0), false).unwrap();
        w.track(I, &seg(RST, 3_000_000_000, 0, 0, 0), false)
            .unwrap();
        assert!(w.liberal());
        // A new connection on the tuple starts strict again.
        w.reset();
        w.track(I, &syn(SYN, 5, 0, 1000, None), false).unwrap();
        assert!(!w.liberal());
    }

    #[test]
    fn a_syn_retransmitted_with_a_new_isn_restarts_before_any_answer() {
        let mut w = TcpWindow::default();
        w.track(I, &syn(SYN, 1000, 0, 64240, Some(7)), false)
            .unwrap();
        w.track(I, &syn(SYN, 7000, 0, 64240, Some(7)), false)
            .unwrap();
        assert_eq!(w.sides[0].end, 7001);
        w.track(R, &syn(SYN | ACK, 1, 7001, 65160, Some(7)), false)
            .unwrap();
        // Once answered, a SYN with another ISN is a segment like any other.
        assert!(w
            .track(I, &syn(SYN, 3_000_000_000, 0, 64240, Some(7)), false)
            .is_err());
        assert_eq!(w.sides[0].end, 7001);
    }
}
