//! IKE with ESP (`ike-esp-nat`, UDP 500): the flows an IKE exchange sets up between two
//! peers.
//!
//! * **NAT traversal.** When the IKE_SA_INIT answer (IKEv2) carries NAT_DETECTION
//!   notifications, or an IKEv1 exchange announces the NAT-T vendor ID, the peers may move
//!   to UDP 4500 (RFC 7296 §2.23, RFC 3947): the ALG opens a pinhole from the initiator to
//!   the responder's port 4500. That flow then carries the rest of IKE and the
//!   UDP-encapsulated ESP; it is forwarded by the workers (not watched: the ESP in it is
//!   the bulk).
//! * **ESP.** When Child SAs are up (the responder's IKE_AUTH or CREATE_CHILD_SA answer,
//!   an IKEv1 Quick Mode's third message), the ALG opens ESP (protocol 50) between the two
//!   peers, one one-shot pinhole each way. The dataplane keys ESP by its SPI, so each SA
//!   (one direction) is a session of its own, made by its first packet; a rekey's answer
//!   opens pinholes for the new pair. The SPIs travel encrypted (IKE_AUTH's SK payload):
//!   they are not learnt, so the pinholes admit any SPI between the peers.
//!
//! Only the fixed IKE header (RFC 7296 §3.1) and, in IKE_SA_INIT, the unencrypted payload
//! chain are read; anything else is counted as malformed and opens nothing.

use crate::common::{core_timers, delegate_core, Alg, Core};
use crate::kind::AlgKind;
use crate::parse::{be16, be32, Parse};
use crate::types::{Actions, AlgConfig, AppHint, FlowCtx, ParseErrorKind, Proto, Side};

/// ESP's protocol number.
pub const ESP: Proto = Proto(50);
/// NAT-T's port.
pub const NAT_T_PORT: u16 = 4500;

/// IKEv2 exchange types (RFC 7296 §3.1) and IKEv1's Quick Mode (RFC 2409).
const IKE_SA_INIT: u8 = 34;
const IKE_AUTH: u8 = 35;
const CREATE_CHILD_SA: u8 = 36;
const V1_QUICK_MODE: u8 = 32;

/// What the ALG reads from one IKE message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Major version (1 or 2).
    pub version: u8,
    /// Exchange type.
    pub exchange: u8,
    /// IKEv2: the message is a response (flag R).
    pub response: bool,
    /// The message carries NAT_DETECTION notifications (IKEv2) or a NAT-T vendor ID
    /// (IKEv1) in its unencrypted payloads.
    pub nat_t: bool,
    /// IKEv1: the payloads are encrypted (flag E).
    pub encrypted: bool,
    /// The message ID (a retransmission repeats it).
    pub message_id: u32,
    /// The message's length from its header.
    pub len: usize,
}

/// The vendor ID of RFC 3947 NAT-T (MD5 of "RFC 3947").
const V1_NAT_T_VID: [u8; 16] = [
    0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45, 0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f,
];

/// Parses an IKE message (the header and the unencrypted payload chain).
/// [`Parse::NoMatch`] for what is not IKE (short, a bad version or length).
#[must_use]
pub fn parse(b: &[u8]) -> Parse<Header> {
    let (Some(&np), Some(&ver), Some(&exchange), Some(&flags), Some(len)) =
        (b.get(16), b.get(17), b.get(18), b.get(19), be32(b, 24))
    else {
        return Parse::NoMatch;
    };
    let version = ver >> 4;
    let len = len as usize;
    if !(1..=2).contains(&version) || len < 28 || len > b.len() {
        return Parse::NoMatch;
    }
    let mut h = Header {
        version,
        exchange,
        response: version == 2 && flags & 0x20 != 0,
        nat_t: false,
        encrypted: version == 1 && flags & 0x01 != 0,
        message_id: be32(b, 20).unwrap_or(0),
        len,
    };
    // Walk the unencrypted payloads: generic header (next, flags, length).
    let mut next = np;
    let mut at = 28usize;
    let mut guard = 0;
    while next != 0 && at + 4 <= len && guard < 64 && !h.encrypted {
        guard += 1;
        let Some(plen) = be16(b, at + 2).map(usize::from) else {
            break;
        };
        if plen < 4 || at + plen > len {
            return Parse::NoMatch;
        }
        let body = b.get(at + 4..at + plen).unwrap_or(&[]);
        match (version, next) {
            // IKEv2 Notify: protocol, SPI size, type.
            (2, 41) => {
                let t = be16(body, 2).unwrap_or(0);
                if t == 16388 || t == 16389 {
                    h.nat_t = true;
                }
            }
            // IKEv2 SK: the rest is encrypted.
            (2, 46) => break,
            // IKEv1 Vendor ID.
            (1, 13) if body == V1_NAT_T_VID => h.nat_t = true,
            _ => {}
        }
        next = b.get(at).copied().unwrap_or(0);
        at += plen;
    }
    Parse::Found(h, 0..len)
}

/// The IKE ALG for one peer pair's UDP 500 flow.
#[derive(Debug, Clone)]
pub struct Ike {
    core: Core,
    /// NAT-T pinhole opened.
    nat_t: bool,
    /// The message ID of the last answer that set up Child SAs (its retransmission opens
    /// nothing again).
    last_sa: Option<u32>,
    /// IKEv1 Quick Mode messages seen of the exchange under way (the third completes it).
    quick: u8,
}

impl Ike {
    /// An ALG for the IKE flow `ctx` (initiator: the peer that sent IKE_SA_INIT).
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> Ike {
        Ike {
            core: Core::new(cfg, ctx),
            nat_t: false,
            last_sa: None,
            quick: 0,
        }
    }

    fn open_nat_t(&mut self, now: u64, out: &mut Actions) {
        if self.nat_t {
            return;
        }
        self.nat_t = true;
        let c = &mut self.core;
        let (i, r) = (c.ctx.initiator.ip(), c.ctx.responder.ip());
        let e = c.expectation(
            Proto::UDP,
            Some(i),
            r,
            Some(NAT_T_PORT),
            AppHint::IkeNatT,
            true,
        );
        c.expect(now, out, e);
    }

    /// A Child SA pair is up (the answer of message `id`): ESP each way, one-shot. The
    /// dataplane keys ESP by SPI, so each SA's first packet makes a session of its own
    /// (the SPIs travel encrypted: the pinholes admit any); a rekey's new SAs need pinholes
    /// of their own.
    fn open_esp(&mut self, now: u64, id: u32, out: &mut Actions) {
        if self.last_sa == Some(id) {
            return;
        }
        self.last_sa = Some(id);
        let c = &mut self.core;
        let (i, r) = (c.ctx.initiator.ip(), c.ctx.responder.ip());
        for (src, dst) in [(i, r), (r, i)] {
            let e = c.expectation(ESP, Some(src), dst, None, AppHint::Esp, true);
            c.expect(now, out, e);
        }
    }
}

impl Alg for Ike {
    fn kind(&self) -> AlgKind {
        AlgKind::IkeEspNat
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        if !self.core.begin(seq, payload, out) {
            return;
        }
        let h = match parse(payload) {
            Parse::Found(h, _) => h,
            _ => {
                self.core.error(out, ParseErrorKind::Malformed);
                return;
            }
        };
        let answer = if h.version == 2 {
            h.response
        } else {
            side == Side::Responder
        };
        if answer {
            self.core.counters.replies += 1;
        } else {
            self.core.counters.requests += 1;
        }
        if h.nat_t && (answer || h.version == 1) {
            self.open_nat_t(now_ms, out);
        }
        match (h.version, h.exchange) {
            (2, IKE_AUTH | CREATE_CHILD_SA) if h.response && side == Side::Responder => {
                self.open_esp(now_ms, h.message_id, out);
            }
            (2, IKE_SA_INIT) => {}
            // Each Quick Mode (three messages under one message ID) sets up an SA pair.
            (1, V1_QUICK_MODE) => {
                self.quick = self.quick.saturating_add(1);
                if self.quick >= 3 {
                    self.quick = 0;
                    self.open_esp(now_ms, h.message_id, out);
                }
            }
            _ => {}
        }
    }

    core_timers!();

    fn sync_seq(&mut self, _side: Side, _next_seq: u32) {}

    delegate_core!();
}

/// Byte fixtures of IKE messages, shared by the unit tests and the dataplane tests.
pub mod fixtures {
    /// An IKE message: header (SPIs, next payload, version, exchange, flags, message ID 1)
    /// and payloads given as (type, body).
    #[must_use]
    pub fn ike(version: u8, exchange: u8, flags: u8, payloads: &[(u8, Vec<u8>)]) -> Vec<u8> {
        message(version, exchange, flags, 1, payloads)
    }

    /// [`ike`] with message ID `id`.
    #[must_use]
    pub fn message(
        version: u8,
        exchange: u8,
        flags: u8,
        id: u32,
        payloads: &[(u8, Vec<u8>)],
    ) -> Vec<u8> {
        let mut b = vec![0x11; 8];
        b.extend_from_slice(&[0x22; 8]);
        b.push(payloads.first().map_or(0, |p| p.0));
        b.push(version << 4);
        b.push(exchange);
        b.push(flags);
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&[0; 4]);
        for (i, (_, body)) in payloads.iter().enumerate() {
            b.push(payloads.get(i + 1).map_or(0, |p| p.0));
            b.push(0);
            b.extend_from_slice(&u16::try_from(body.len() + 4).unwrap_or(0).to_be_bytes());
            b.extend_from_slice(body);
        }
        let len = u32::try_from(b.len()).unwrap_or(0).to_be_bytes();
        b[24..28].copy_from_slice(&len);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    use super::fixtures::ike;

    pub(crate) fn notify(t: u16) -> (u8, Vec<u8>) {
        let mut n = vec![0, 0];
        n.extend_from_slice(&t.to_be_bytes());
        n.extend_from_slice(&[0xab; 20]);
        (41, n)
    }

    fn alg() -> Ike {
        Ike::new(
            AlgConfig::default_for(AlgKind::IkeEspNat),
            ctx(Proto::UDP, "192.0.2.10:500", "198.51.100.20:500"),
        )
    }

    fn run(a: &mut Ike, side: Side, p: &[u8]) -> Actions {
        datagram(a, side, p)
    }

    #[test]
    fn ikev2_nat_detection_opens_4500_and_ike_auth_opens_esp() {
        let mut a = alg();
        let sa = (33, vec![0; 8]);
        let init = ike(
            2,
            IKE_SA_INIT,
            0x08,
            &[sa.clone(), notify(16388), notify(16389)],
        );
        assert!(exps(&run(&mut a, Side::Initiator, &init)).is_empty());
        let answer = ike(2, IKE_SA_INIT, 0x20, &[sa, notify(16388), notify(16389)]);
        let e = exps(&run(&mut a, Side::Responder, &answer));
        assert_eq!(e.len(), 1);
        assert_eq!(
            (
                e[0].proto,
                e[0].src,
                e[0].dst,
                e[0].dst_port,
                e[0].child_app
            ),
            (
                Proto::UDP,
                Some(ip("192.0.2.10")),
                ip("198.51.100.20"),
                Some(4500),
                AppHint::IkeNatT
            )
        );
        // IKE_AUTH: the request opens nothing, the answer opens ESP both ways.
        let sk = (46, vec![0x55; 40]);
        assert!(exps(&run(
            &mut a,
            Side::Initiator,
            &ike(2, IKE_AUTH, 0x08, std::slice::from_ref(&sk))
        ))
        .is_empty());
        let e = exps(&run(
            &mut a,
            Side::Responder,
            &ike(2, IKE_AUTH, 0x20, &[sk]),
        ));
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.proto, e.src.unwrap(), e.dst, e.dst_port))
            .collect();
        assert_eq!(
            got,
            vec![
                (ESP, ip("192.0.2.10"), ip("198.51.100.20"), None),
                (ESP, ip("198.51.100.20"), ip("192.0.2.10"), None),
            ]
        );
        // The answer again (a retransmission, same message ID) opens nothing more.
        let sk = (46, vec![0x55; 40]);
        let again = ike(2, IKE_AUTH, 0x20, std::slice::from_ref(&sk));
        assert!(exps(&run(&mut a, Side::Responder, &again)).is_empty());
        // The NAT-T flow and both SAs' first packets came (their pinholes used); a rekey
        // (CREATE_CHILD_SA, message 2) makes new SAs: ESP both ways again.
        for _ in 0..3 {
            a.pinhole_resolved(0);
        }
        let rekey = super::fixtures::message(2, CREATE_CHILD_SA, 0x20, 2, &[sk]);
        assert_eq!(exps(&run(&mut a, Side::Responder, &rekey)).len(), 2);
        assert_eq!(a.counters().parse_errors, 0);
    }

    #[test]
    fn without_nat_detection_no_4500_and_garbage_refused() {
        let mut a = alg();
        let answer = ike(2, IKE_SA_INIT, 0x20, &[(33, vec![0; 8])]);
        assert!(exps(&run(&mut a, Side::Responder, &answer)).is_empty());
        let out = run(&mut a, Side::Initiator, b"not ike at all, not at all");
        assert_eq!(errs(&out), vec![ParseErrorKind::Malformed]);
        // A length beyond the datagram, a payload beyond the message.
        let mut bad = ike(2, IKE_SA_INIT, 0x08, &[(33, vec![0; 8])]);
        bad[27] = bad[27].wrapping_add(9);
        assert_eq!(parse(&bad), Parse::NoMatch);
        let mut bad = ike(2, IKE_SA_INIT, 0x08, &[(33, vec![0; 8])]);
        bad[31] = 200;
        assert_eq!(parse(&bad), Parse::NoMatch);
    }

    #[test]
    fn the_fuzz_seed_exchange() {
        let c = crate::harness::drive(
            AlgKind::IkeEspNat,
            include_bytes!("../fuzz/seeds/ike/ikev2-nat-t"),
        );
        assert_eq!(
            (c.requests, c.replies, c.pinholes, c.parse_errors),
            (2, 2, 3, 0)
        );
    }

    #[test]
    fn ikev1_nat_t_vendor_id_and_quick_mode() {
        let mut a = alg();
        let out = run(
            &mut a,
            Side::Initiator,
            &ike(1, 2, 0, &[(1, vec![0; 8]), (13, V1_NAT_T_VID.to_vec())]),
        );
        assert_eq!(exps(&out).len(), 1);
        for side in [Side::Initiator, Side::Responder] {
            assert!(exps(&run(
                &mut a,
                side,
                &ike(1, V1_QUICK_MODE, 1, &[(8, vec![0; 20])])
            ))
            .is_empty());
        }
        let e = exps(&run(
            &mut a,
            Side::Initiator,
            &ike(1, V1_QUICK_MODE, 1, &[(8, vec![0; 20])]),
        ));
        assert_eq!(e.len(), 2);
        assert!(e
            .iter()
            .all(|e| e.proto == ESP && e.child_app == AppHint::Esp));
    }
}
