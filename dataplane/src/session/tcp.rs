//! The TCP tracker: one byte per session that follows the handshake, each side's FIN and
//! its acknowledgement, and RST. No window tracking: the tracker exists to pick timeouts and
//! to tell when a connection is over, the way a services card's session state does.
//!
//! Sides are named from the session's point of view: the *initiator* sent the first packet,
//! the *responder* is the other end. The per-side FIN sequence numbers live in the session
//! (`fin_seq: [initiator, responder]`) and are passed in, so the state itself stays one byte.

/// TCP flag bits as they appear in the flags byte of the header.
pub mod flag {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

use flag::{ACK, FIN, RST, SYN};

/// Whether a session whose first packet is not a SYN is picked up as established (Junos
/// "tcp-session no-syn-check" style mid-stream pickup). [`TcpState::new_from_first`] uses it.
pub const MID_STREAM_PICKUP: bool = true;

/// The coarse phase of a TCP session (what timeouts and validity are chosen from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpPhase {
    /// The initiator's SYN was seen, no SYN-ACK yet.
    SynSent,
    /// The responder's SYN-ACK was seen, the final ACK not yet.
    SynReceived,
    /// Handshake complete, or picked up mid-stream.
    Established,
    /// A FIN was seen, but not both FINs acknowledged.
    Closing,
    /// Both FINs acknowledged, or an RST seen.
    Closed,
}

/// The TCP state of a session: one byte of bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct TcpState(u8);

const _: () = assert!(core::mem::size_of::<TcpState>() == 1);

/// SYN seen from the initiator.
const B_SYN: u8 = 0x01;
/// SYN-ACK seen from the responder.
const B_SYNACK: u8 = 0x02;
/// Handshake completed (or mid-stream pickup).
const B_EST: u8 = 0x04;
/// FIN from the initiator.
const B_FIN_I: u8 = 0x08;
/// FIN from the responder.
const B_FIN_R: u8 = 0x10;
/// The initiator's FIN was acknowledged by the responder.
const B_FIN_I_ACK: u8 = 0x20;
/// The responder's FIN was acknowledged by the initiator.
const B_FIN_R_ACK: u8 = 0x40;
/// RST seen (either side).
const B_RST: u8 = 0x80;

/// `a >= b` in sequence space (differences below 2^31 are forward).
#[inline]
fn seq_ge(a: u32, b: u32) -> bool {
    a.wrapping_sub(b) < 0x8000_0000
}

impl TcpState {
    /// The state after the first packet of a session (sent by the initiator), with
    /// mid-stream pickup ([`MID_STREAM_PICKUP`]): a SYN without ACK starts a handshake
    /// ([`TcpPhase::SynSent`]); anything else makes the session established at once, and an
    /// RST closes it. FINs are not recorded here (their sequence numbers are not known):
    /// feeding the first segment to [`on_segment`](Self::on_segment) as well is harmless and
    /// records them.
    #[inline]
    #[must_use]
    pub fn new_from_first(flags: u8) -> TcpState {
        Self::new_from_first_with(flags, true).unwrap_or_default()
    }

    /// Like [`new_from_first`](Self::new_from_first), with mid-stream pickup switched on or
    /// off. Without pickup a first packet that is not a bare SYN gives `None`: no session.
    #[inline]
    #[must_use]
    pub fn new_from_first_with(flags: u8, mid_stream_pickup: bool) -> Option<TcpState> {
        if flags & (SYN | ACK | RST) == SYN {
            return Some(TcpState(B_SYN));
        }
        if !mid_stream_pickup {
            return None;
        }
        let mut b = B_EST;
        if flags & RST != 0 {
            b |= B_RST;
        }
        Some(TcpState(b))
    }

    /// Track one segment. `from_initiator` says who sent it; `flags` is the TCP flag byte;
    /// `seq`/`ack` the segment's sequence and acknowledgement numbers; `payload_len` its
    /// payload length; `fin_seq` the session's per-side FIN sequence numbers
    /// `[initiator, responder]`, written when a side's first FIN is seen (`seq + payload_len`).
    ///
    /// A FIN is acknowledged when the other side sends an ACK with `ack >= fin_seq + 1`
    /// (sequence-space compare). A bare SYN from the initiator on a closed session restarts
    /// the tracker (port reuse after TIME_WAIT). Returns the new phase if it changed.
    #[inline]
    pub fn on_segment(
        &mut self,
        from_initiator: bool,
        flags: u8,
        seq: u32,
        ack: u32,
        payload_len: u16,
        fin_seq: &mut [u32; 2],
    ) -> Option<TcpPhase> {
        let old = self.phase();
        let mut b = self.0;
        let syn = flags & SYN != 0;
        let has_ack = flags & ACK != 0;
        if syn {
            if !has_ack {
                if from_initiator {
                    if old == TcpPhase::Closed {
                        // A new connection on the same 5-tuple.
                        b = 0;
                        *fin_seq = [0; 2];
                    }
                    b |= B_SYN;
                }
            } else if !from_initiator {
                b |= B_SYNACK;
            }
        } else if has_ack && from_initiator && b & B_SYNACK != 0 {
            // Final ACK of the handshake (or any later ACK: idempotent).
            b |= B_EST;
        }
        if flags & RST != 0 {
            b |= B_RST;
        }
        if flags & FIN != 0 {
            let (bit, side) = if from_initiator {
                (B_FIN_I, 0)
            } else {
                (B_FIN_R, 1)
            };
            if b & bit == 0 {
                b |= bit;
                fin_seq[side] = seq.wrapping_add(u32::from(payload_len));
            }
        }
        if has_ack {
            // This segment may acknowledge the other side's FIN.
            let (fin_bit, ack_bit, other) = if from_initiator {
                (B_FIN_R, B_FIN_R_ACK, 1)
            } else {
                (B_FIN_I, B_FIN_I_ACK, 0)
            };
            if b & fin_bit != 0 && b & ack_bit == 0 && seq_ge(ack, fin_seq[other].wrapping_add(1)) {
                b |= ack_bit;
            }
        }
        self.0 = b;
        let new = self.phase();
        (new != old).then_some(new)
    }

    /// True when a segment with `flags` cannot change this state: the connection is
    /// established with no FIN or RST seen, and the segment carries no SYN, FIN or RST
    /// ([`on_segment`](Self::on_segment) would then return `None` and change nothing). The
    /// worker skips the tracker for these, the data and ACK segments of a live connection.
    #[inline]
    #[must_use]
    pub fn unchanged_by(self, flags: u8) -> bool {
        (flags & (SYN | FIN | RST) == 0) & (self.0 & (B_EST | B_FIN_I | B_FIN_R | B_RST) == B_EST)
    }

    /// The coarse phase.
    #[inline]
    #[must_use]
    pub fn phase(self) -> TcpPhase {
        let b = self.0;
        if b & B_RST != 0 || b & (B_FIN_I_ACK | B_FIN_R_ACK) == (B_FIN_I_ACK | B_FIN_R_ACK) {
            TcpPhase::Closed
        } else if b & (B_FIN_I | B_FIN_R) != 0 {
            TcpPhase::Closing
        } else if b & B_EST != 0 {
            TcpPhase::Established
        } else if b & B_SYNACK != 0 {
            TcpPhase::SynReceived
        } else {
            TcpPhase::SynSent
        }
    }

    /// FIN state of one side (`initiator_side` true for the initiator): 0 none, 1 FIN sent,
    /// 2 FIN acknowledged.
    #[inline]
    #[must_use]
    pub fn fin_state(self, initiator_side: bool) -> u8 {
        let (fin, acked) = if initiator_side {
            (B_FIN_I, B_FIN_I_ACK)
        } else {
            (B_FIN_R, B_FIN_R_ACK)
        };
        if self.0 & acked != 0 {
            2
        } else if self.0 & fin != 0 {
            1
        } else {
            0
        }
    }

    /// The SYN of the initiator was seen.
    #[inline]
    #[must_use]
    pub fn syn_seen(self) -> bool {
        self.0 & B_SYN != 0
    }

    /// The responder's SYN-ACK was seen.
    #[inline]
    #[must_use]
    pub fn syn_ack_seen(self) -> bool {
        self.0 & B_SYNACK != 0
    }

    /// An RST was seen.
    #[inline]
    #[must_use]
    pub fn rst_seen(self) -> bool {
        self.0 & B_RST != 0
    }

    /// The raw byte.
    #[inline]
    #[must_use]
    pub fn bits(self) -> u8 {
        self.0
    }

    /// From a raw byte (every value is a valid state).
    #[inline]
    #[must_use]
    pub const fn from_bits(b: u8) -> Self {
        TcpState(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: bool = true;
    const R: bool = false;

    #[test]
    fn a_segment_said_to_change_nothing_changes_nothing() {
        // Every state byte, every flag byte, both sides, sequence numbers around a FIN's.
        let mut quiet = 0;
        for bits in 0..=255u8 {
            for flags in 0..=255u8 {
                if !TcpState(bits).unchanged_by(flags) {
                    continue;
                }
                quiet += 1;
                for from_initiator in [false, true] {
                    for (seq, ack) in [(0, 0), (100, 101), (u32::MAX, 0), (7, 1 << 31)] {
                        let mut st = TcpState(bits);
                        let mut fin = [100, 7];
                        let got = st.on_segment(from_initiator, flags, seq, ack, 10, &mut fin);
                        assert_eq!(got, None, "{bits:#x} {flags:#x}");
                        assert_eq!(
                            (st, fin),
                            (TcpState(bits), [100, 7]),
                            "{bits:#x} {flags:#x}"
                        );
                    }
                }
            }
        }
        // The established connection's plain segments are the quiet ones.
        assert!(TcpState(B_SYN | B_SYNACK | B_EST).unchanged_by(ACK | flag::PSH));
        assert!(TcpState(B_EST).unchanged_by(ACK));
        assert!(!TcpState(B_EST).unchanged_by(ACK | FIN));
        assert!(!TcpState(B_EST | B_FIN_I).unchanged_by(ACK));
        assert!(!TcpState(B_SYN | B_SYNACK).unchanged_by(ACK));
        assert!(quiet > 0);
    }

    #[test]
    fn tcp_handshake_then_close() {
        let mut f = [0u32; 2];
        let mut t = TcpState::new_from_first(SYN);
        assert_eq!(t.phase(), TcpPhase::SynSent);
        assert!(t.syn_seen());
        // SYN-ACK from the responder.
        assert_eq!(
            t.on_segment(R, SYN | ACK, 5000, 101, 0, &mut f),
            Some(TcpPhase::SynReceived)
        );
        assert!(t.syn_ack_seen());
        // Final ACK.
        assert_eq!(
            t.on_segment(I, ACK, 101, 5001, 0, &mut f),
            Some(TcpPhase::Established)
        );
        // Data both ways: no change.
        assert_eq!(
            t.on_segment(I, ACK | flag::PSH, 101, 5001, 100, &mut f),
            None
        );
        assert_eq!(t.on_segment(R, ACK, 5001, 201, 1000, &mut f), None);
        // Initiator closes with 10 bytes of data on the FIN.
        assert_eq!(
            t.on_segment(I, FIN | ACK, 201, 6001, 10, &mut f),
            Some(TcpPhase::Closing)
        );
        assert_eq!(f[0], 211);
        assert_eq!(t.fin_state(true), 1);
        // An ACK that does not cover the FIN.
        assert_eq!(t.on_segment(R, ACK, 6001, 211, 0, &mut f), None);
        assert_eq!(t.fin_state(true), 1);
        // Responder acks the FIN and sends its own.
        assert_eq!(t.on_segment(R, FIN | ACK, 6001, 212, 0, &mut f), None);
        assert_eq!(t.fin_state(true), 2);
        assert_eq!(t.fin_state(false), 1);
        assert_eq!(f[1], 6001);
        assert_eq!(
            t.on_segment(I, ACK, 212, 6002, 0, &mut f),
            Some(TcpPhase::Closed)
        );
        assert_eq!(t.fin_state(false), 2);
    }

    #[test]
    fn tcp_simultaneous_close() {
        let mut f = [0u32; 2];
        let mut t = TcpState::new_from_first(SYN);
        t.on_segment(R, SYN | ACK, 0, 1, 0, &mut f);
        t.on_segment(I, ACK, 1, 1, 0, &mut f);
        assert_eq!(
            t.on_segment(I, FIN | ACK, 1, 1, 0, &mut f),
            Some(TcpPhase::Closing)
        );
        // The responder's FIN crosses it and does not ack the initiator's FIN.
        assert_eq!(t.on_segment(R, FIN | ACK, 1, 1, 0, &mut f), None);
        assert_eq!((t.fin_state(true), t.fin_state(false)), (1, 1));
        assert_eq!(t.on_segment(I, ACK, 2, 2, 0, &mut f), None);
        assert_eq!((t.fin_state(true), t.fin_state(false)), (1, 2));
        assert_eq!(
            t.on_segment(R, ACK, 2, 2, 0, &mut f),
            Some(TcpPhase::Closed)
        );
    }

    #[test]
    fn tcp_half_close_keeps_the_other_side_open() {
        let mut f = [0u32; 2];
        let mut t = TcpState::new_from_first(SYN);
        t.on_segment(R, SYN | ACK, 900, 11, 0, &mut f);
        t.on_segment(I, ACK, 11, 901, 0, &mut f);
        t.on_segment(I, FIN | ACK, 11, 901, 0, &mut f);
        t.on_segment(R, ACK, 901, 12, 0, &mut f);
        assert_eq!(t.fin_state(true), 2);
        assert_eq!(t.phase(), TcpPhase::Closing);
        // The responder keeps sending data for a while.
        for i in 0..5u32 {
            assert_eq!(t.on_segment(R, ACK, 901 + i * 100, 12, 100, &mut f), None);
            assert_eq!(t.on_segment(I, ACK, 12, 1001 + i * 100, 0, &mut f), None);
        }
        assert_eq!(t.on_segment(R, FIN | ACK, 1401, 12, 0, &mut f), None);
        assert_eq!(
            t.on_segment(I, ACK, 12, 1402, 0, &mut f),
            Some(TcpPhase::Closed)
        );
    }

    #[test]
    fn tcp_rst_closes() {
        let mut f = [0u32; 2];
        let mut t = TcpState::new_from_first(SYN);
        assert_eq!(
            t.on_segment(R, RST | ACK, 0, 1, 0, &mut f),
            Some(TcpPhase::Closed)
        );
        assert!(t.rst_seen());
        let mut t = TcpState::new_from_first(ACK);
        assert_eq!(
            t.on_segment(I, RST, 10, 0, 0, &mut f),
            Some(TcpPhase::Closed)
        );
        assert_eq!(TcpState::new_from_first(RST).phase(), TcpPhase::Closed);
    }

    #[test]
    fn tcp_mid_stream_pickup() {
        let t = TcpState::new_from_first(ACK | flag::PSH);
        assert_eq!(t.phase(), TcpPhase::Established);
        assert!(!t.syn_seen());
        assert_eq!(TcpState::new_from_first_with(ACK, false), None);
        assert_eq!(TcpState::new_from_first_with(SYN | ACK, false), None);
        assert_eq!(
            TcpState::new_from_first_with(SYN, false),
            Some(TcpState::new_from_first(SYN))
        );
        // A picked-up session closes normally.
        let mut f = [0u32; 2];
        let mut t = t;
        assert_eq!(
            t.on_segment(R, FIN | ACK, 77, 1000, 3, &mut f),
            Some(TcpPhase::Closing)
        );
        assert_eq!(f[1], 80);
        t.on_segment(I, FIN | ACK, 1000, 81, 0, &mut f);
        assert_eq!(
            t.on_segment(R, ACK, 81, 1001, 0, &mut f),
            Some(TcpPhase::Closed)
        );
    }

    #[test]
    fn tcp_retransmitted_syn_and_syn_ack() {
        let mut f = [0u32; 2];
        let mut t = TcpState::new_from_first(SYN);
        let b = t.bits();
        assert_eq!(t.on_segment(I, SYN, 100, 0, 0, &mut f), None);
        assert_eq!(t.bits(), b);
        assert_eq!(
            t.on_segment(R, SYN | ACK, 7, 101, 0, &mut f),
            Some(TcpPhase::SynReceived)
        );
        assert_eq!(t.on_segment(I, SYN, 100, 0, 0, &mut f), None);
        assert_eq!(t.on_segment(R, SYN | ACK, 7, 101, 0, &mut f), None);
        assert_eq!(
            t.on_segment(I, ACK, 101, 8, 0, &mut f),
            Some(TcpPhase::Established)
        );
        // A late retransmitted SYN does not undo the handshake.
        assert_eq!(t.on_segment(I, SYN, 100, 0, 0, &mut f), None);
        assert_eq!(t.phase(), TcpPhase::Established);
    }

    #[test]
    fn tcp_fin_ack_compare_wraps() {
        let mut f = [0u32; 2];
        let mut t = TcpState::new_from_first(ACK);
        t.on_segment(I, FIN | ACK, u32::MAX - 4, 0, 4, &mut f);
        assert_eq!(f[0], u32::MAX);
        t.on_segment(R, ACK, 0, u32::MAX, 0, &mut f);
        assert_eq!(t.fin_state(true), 1);
        t.on_segment(R, ACK, 0, 0, 0, &mut f);
        assert_eq!(t.fin_state(true), 2);
    }

    #[test]
    fn tcp_syn_on_closed_session_restarts() {
        let mut f = [0u32; 2];
        let mut t = TcpState::new_from_first(SYN);
        t.on_segment(R, RST | ACK, 0, 1, 0, &mut f);
        assert_eq!(
            t.on_segment(I, SYN, 5, 0, 0, &mut f),
            Some(TcpPhase::SynSent)
        );
        assert_eq!(TcpState::from_bits(t.bits()), t);
    }
}
