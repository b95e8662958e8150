//! PPTP (`pptp`, TCP 1723; RFC 2637): the enhanced GRE (version 1) a call carries.
//!
//! Control messages are length-framed: length (16 bits), message type (1: control),
//! magic cookie 0x1A2B3C4D, control message type, reserved. A call is set up by an
//! Outgoing-Call-Request (7) and its Reply (8), or an Incoming-Call-Request (9), Reply
//! (10) and Connected (11); each side names its call ID, and GRE packets carry the
//! *receiver's* call ID in their key field, which the dataplane keys as the destination
//! port. When a call is connected (a Reply with result 1), the ALG opens that call's GRE
//! (protocol 47): one pinhole each way, each for the call ID its packets carry, so each
//! direction of each call is a session of its own. The call ends with a Call-Clear-Request
//! (12) or a Call-Disconnect-Notify (13): its GRE is withdrawn (its sessions closed), the
//! other calls' stays.

use crate::common::{abs_range, core_timers, delegate_core, Alg, Core, Duplex};
use crate::kind::AlgKind;
use crate::parse::{be16, be32, Parse};
use crate::types::{
    Action, Actions, AlgConfig, AppHint, FlowCtx, ParseErrorKind, Proto, RewriteKind, Side,
};

/// GRE's protocol number.
pub const GRE: Proto = Proto(47);
/// The control messages' magic cookie.
pub const MAGIC: u32 = 0x1A2B_3C4D;
/// Calls tracked per control connection.
const CALLS: usize = 16;

/// Control message types the ALG acts on.
pub mod msg {
    /// Outgoing-Call-Request.
    pub const OUT_REQUEST: u16 = 7;
    /// Outgoing-Call-Reply.
    pub const OUT_REPLY: u16 = 8;
    /// Incoming-Call-Request.
    pub const IN_REQUEST: u16 = 9;
    /// Incoming-Call-Reply.
    pub const IN_REPLY: u16 = 10;
    /// Incoming-Call-Connected.
    pub const IN_CONNECTED: u16 = 11;
    /// Call-Clear-Request.
    pub const CLEAR: u16 = 12;
    /// Call-Disconnect-Notify.
    pub const DISCONNECT: u16 = 13;
}

/// One control message as the ALG reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// The control message type.
    pub kind: u16,
    /// Its length.
    pub len: usize,
    /// The first call ID field (the sender's own call ID in requests and replies, the
    /// call cleared or disconnected).
    pub call_id: Option<u16>,
    /// The second one (a reply's peer call ID).
    pub peer_call_id: Option<u16>,
    /// A reply's result code.
    pub result: Option<u8>,
}

/// Parses the control message at the start of `b` ([`Parse::Partial`] until it is all
/// in; [`Parse::NoMatch`] for a bad length, type or cookie).
#[must_use]
pub fn parse(b: &[u8]) -> Parse<Control> {
    let (Some(len), Some(mtype), Some(cookie), Some(kind)) =
        (be16(b, 0), be16(b, 2), be32(b, 4), be16(b, 8))
    else {
        return Parse::Partial;
    };
    let len = usize::from(len);
    if len < 12 || mtype != 1 || cookie != MAGIC {
        return Parse::NoMatch;
    }
    let Some(m) = b.get(..len) else {
        return Parse::Partial;
    };
    let (call_id, peer_call_id, result) = match kind {
        msg::OUT_REQUEST | msg::IN_REQUEST | msg::CLEAR | msg::DISCONNECT => {
            (be16(m, 12), None, None)
        }
        msg::OUT_REPLY | msg::IN_REPLY => (be16(m, 12), be16(m, 14), m.get(16).copied()),
        // Incoming-Call-Connected names the peer's call ID.
        msg::IN_CONNECTED => (None, be16(m, 12), None),
        _ => (None, None, None),
    };
    Parse::Found(
        Control {
            kind,
            len,
            call_id,
            peer_call_id,
            result,
        },
        0..len,
    )
}

/// The PPTP ALG for one control connection.
#[derive(Debug, Clone)]
pub struct Pptp {
    core: Core,
    bufs: Duplex<256>,
    st: Calls,
}

/// The calls of a control connection.
#[derive(Debug, Clone, Default)]
struct Calls {
    /// Connected calls: (the initiator's call ID, the responder's).
    calls: [Option<(u16, u16)>; CALLS],
    /// Incoming calls waiting for Connected: (the responder's ID, the initiator's).
    waiting: Option<(u16, u16)>,
}

impl Pptp {
    /// An ALG for the control connection `ctx` (initiator: the PNS that connected).
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> Pptp {
        Pptp {
            core: Core::new(cfg, ctx),
            bufs: Duplex::new(),
            st: Calls::default(),
        }
    }

    /// Calls connected now.
    #[must_use]
    pub fn calls(&self) -> usize {
        self.st.calls.iter().flatten().count()
    }
}

impl Calls {
    /// The GRE of call `ids` (the initiator's call ID, the responder's), one pinhole each
    /// way. A GRE packet carries its receiver's call ID, which the dataplane keys as the
    /// destination port: the initiator's packets name the responder's ID, and back.
    fn gre(core: &Core, (initiator_id, responder_id): (u16, u16)) -> [crate::Expectation; 2] {
        let c = core;
        let (i, r) = (c.ctx.initiator.ip(), c.ctx.responder.ip());
        [(i, r, responder_id), (r, i, initiator_id)].map(|(src, dst, id)| {
            c.expectation(GRE, Some(src), dst, Some(id), AppHint::PptpGre, true)
        })
    }

    fn connected(&mut self, core: &mut Core, now: u64, ids: (u16, u16), out: &mut Actions) {
        if self.calls.contains(&Some(ids)) {
            return;
        }
        // A call ID keys its GRE: 0 would key nothing (the dataplane's "no key").
        if core.check_port(out, u32::from(ids.0)).is_none()
            || core.check_port(out, u32::from(ids.1)).is_none()
        {
            return;
        }
        let Some(slot) = self.calls.iter().position(Option::is_none) else {
            core.error(out, ParseErrorKind::PinholeCap);
            return;
        };
        if let Some(s) = self.calls.get_mut(slot) {
            *s = Some(ids);
        }
        core.counters.dialogs += 1;
        for e in Self::gre(core, ids) {
            core.expect(now, out, e);
        }
    }

    fn ended(&mut self, core: &mut Core, side: Side, id: u16, out: &mut Actions) {
        let own = |c: &(u16, u16)| match side {
            Side::Initiator => c.0 == id,
            Side::Responder => c.1 == id,
        };
        let Some(slot) = self.calls.iter().position(|c| c.as_ref().is_some_and(own)) else {
            return;
        };
        let Some(ids) = self.calls.get_mut(slot).and_then(Option::take) else {
            return;
        };
        core.counters.dialogs_ended += 1;
        // The call's GRE goes (its sessions closed); the other calls' stays.
        for e in Self::gre(core, ids) {
            core.push(out, Action::Withdraw(e));
        }
    }

    /// Acts on one control message (its first byte at sequence `base`) and reports the
    /// call IDs a NAT (PPTP port address translation) rewrites.
    fn on_message(
        &mut self,
        core: &mut Core,
        now: u64,
        side: Side,
        base: u32,
        m: &Control,
        out: &mut Actions,
    ) {
        let ids = match m.kind {
            msg::OUT_REQUEST | msg::IN_REQUEST | msg::CLEAR | msg::DISCONNECT => 1,
            msg::OUT_REPLY | msg::IN_REPLY => 2,
            _ => 0,
        };
        for (i, id) in [m.call_id, m.peer_call_id]
            .into_iter()
            .take(ids)
            .enumerate()
        {
            if let Some(id) = id {
                let at = 12 + 2 * i;
                core.rewrite(
                    out,
                    side,
                    abs_range(base, &(at..at + 2)),
                    RewriteKind::PptpCallId,
                    None,
                    id,
                );
            }
        }
        match (m.kind, side) {
            (msg::OUT_REQUEST | msg::IN_REQUEST, _) => core.counters.requests += 1,
            // The PAC answers the PNS's outgoing call: (PNS's ID, PAC's ID).
            (msg::OUT_REPLY, Side::Responder) => {
                core.counters.replies += 1;
                if let (Some(pac), Some(pns), Some(1)) = (m.call_id, m.peer_call_id, m.result) {
                    self.connected(core, now, (pns, pac), out);
                }
            }
            // An incoming call (PAC → PNS) is answered by the PNS, then connected by the PAC.
            (msg::IN_REPLY, Side::Initiator) => {
                core.counters.replies += 1;
                if let (Some(pns), Some(pac), Some(1)) = (m.call_id, m.peer_call_id, m.result) {
                    self.waiting = Some((pns, pac));
                }
            }
            (msg::IN_CONNECTED, Side::Responder) => {
                if let Some(ids) = self.waiting.take() {
                    if m.peer_call_id == Some(ids.0) {
                        self.connected(core, now, ids, out);
                    }
                }
            }
            // Call-Clear-Request comes from the PNS naming its call; Call-Disconnect-Notify
            // from the side that ends it, naming its own.
            (msg::CLEAR | msg::DISCONNECT, _) => {
                if let Some(id) = m.call_id {
                    self.ended(core, side, id, out);
                }
            }
            _ => {}
        }
    }
}

impl Alg for Pptp {
    fn kind(&self) -> AlgKind {
        AlgKind::Pptp
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        let st = &mut self.st;
        self.bufs.feed(
            &mut self.core,
            side,
            seq,
            payload,
            out,
            parse,
            |core, m, _, base, _, out| {
                st.on_message(core, now_ms, side, base, &m, out);
                m.len
            },
        );
    }

    core_timers!();

    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        self.bufs.sync(side, next_seq);
    }

    delegate_core!();
}

/// Byte fixtures of PPTP control messages and enhanced GRE, shared by the unit tests and
/// the `tshark` check (`tests/alg_fixtures.rs`).
pub mod fixtures {
    use super::MAGIC;

    /// A control message of `kind` with `body` after its 12-byte header.
    #[must_use]
    pub fn control(kind: u16, body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(body.len() + 12).unwrap_or(u16::MAX);
        let mut m = len.to_be_bytes().to_vec();
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&MAGIC.to_be_bytes());
        m.extend_from_slice(&kind.to_be_bytes());
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(body);
        m
    }

    /// Outgoing-Call-Request (156 bytes) from the PNS with its `call_id`.
    #[must_use]
    pub fn outgoing_call_request(call_id: u16) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&call_id.to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes()); // call serial number
        b.extend_from_slice(&300u32.to_be_bytes()); // minimum BPS
        b.extend_from_slice(&100_000_000u32.to_be_bytes()); // maximum BPS
        b.extend_from_slice(&3u32.to_be_bytes()); // bearer type: either
        b.extend_from_slice(&3u32.to_be_bytes()); // framing type: either
        b.extend_from_slice(&64u16.to_be_bytes()); // packet receive window
        b.extend_from_slice(&0u16.to_be_bytes()); // packet processing delay
        b.extend_from_slice(&0u16.to_be_bytes()); // phone number length
        b.extend_from_slice(&[0, 0]); // reserved
        b.extend_from_slice(&[0; 64]); // phone number
        b.extend_from_slice(&[0; 64]); // subaddress
        control(super::msg::OUT_REQUEST, &b)
    }

    /// Outgoing-Call-Reply (32 bytes) from the PAC: its `call_id`, the PNS's, `result`.
    #[must_use]
    pub fn outgoing_call_reply(call_id: u16, peer: u16, result: u8) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&call_id.to_be_bytes());
        b.extend_from_slice(&peer.to_be_bytes());
        b.push(result);
        b.push(0); // error code
        b.extend_from_slice(&0u16.to_be_bytes()); // cause code
        b.extend_from_slice(&100_000_000u32.to_be_bytes()); // connect speed
        b.extend_from_slice(&64u16.to_be_bytes()); // packet receive window
        b.extend_from_slice(&0u16.to_be_bytes()); // packet processing delay
        b.extend_from_slice(&0u32.to_be_bytes()); // physical channel ID
        control(super::msg::OUT_REPLY, &b)
    }

    /// Call-Clear-Request (16 bytes) from the PNS for its `call_id`.
    #[must_use]
    pub fn call_clear_request(call_id: u16) -> Vec<u8> {
        let mut b = call_id.to_be_bytes().to_vec();
        b.extend_from_slice(&[0, 0]);
        control(super::msg::CLEAR, &b)
    }

    /// Call-Disconnect-Notify (148 bytes) from the PAC for its `call_id`.
    #[must_use]
    pub fn call_disconnect_notify(call_id: u16) -> Vec<u8> {
        let mut b = call_id.to_be_bytes().to_vec();
        b.push(3); // result: request (Call-Clear-Request)
        b.push(0);
        b.extend_from_slice(&0u16.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&[0; 128]); // call statistics
        control(super::msg::DISCONNECT, &b)
    }

    /// An enhanced GRE (version 1) packet carrying PPP (0x880B) to the peer whose call ID
    /// is `call_id`, with sequence number `seq` and `payload`.
    #[must_use]
    pub fn gre(call_id: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        // Flags: K and S set, version 1.
        let mut g = vec![0x30, 0x01];
        g.extend_from_slice(&0x880Bu16.to_be_bytes());
        g.extend_from_slice(&u16::try_from(payload.len()).unwrap_or(0).to_be_bytes());
        g.extend_from_slice(&call_id.to_be_bytes());
        g.extend_from_slice(&seq.to_be_bytes());
        g.extend_from_slice(payload);
        g
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::testutil::*;

    struct Conn {
        a: Pptp,
        seq: [u32; 2],
    }

    impl Conn {
        fn new() -> Conn {
            let mut a = Pptp::new(
                AlgConfig::default_for(AlgKind::Pptp),
                ctx(Proto::TCP, "192.0.2.10:40000", "198.51.100.20:1723"),
            );
            a.sync_seq(Side::Initiator, 100);
            a.sync_seq(Side::Responder, 900);
            Conn { a, seq: [100, 900] }
        }
        fn send(&mut self, side: Side, b: &[u8]) -> Actions {
            let mut out = Actions::new();
            let i = side.index();
            self.a.on_data(0, side, Some(self.seq[i]), b, &mut out);
            self.seq[i] = self.seq[i].wrapping_add(u32::try_from(b.len()).unwrap());
            out
        }
    }

    fn withdrawn(a: &Actions) -> usize {
        a.iter()
            .filter(|x| matches!(x, Action::Withdraw(_)))
            .count()
    }

    #[test]
    fn a_connected_call_opens_gre_and_its_end_withdraws_it() {
        let mut c = Conn::new();
        assert!(exps(&c.send(Side::Initiator, &outgoing_call_request(0x1111))).is_empty());
        let out = c.send(Side::Responder, &outgoing_call_reply(0x2222, 0x1111, 1));
        let e = exps(&out);
        assert_eq!(e.len(), 2);
        assert!(e
            .iter()
            .all(|e| e.proto == GRE && e.child_app == AppHint::PptpGre));
        // Each way, keyed by the call ID its packets carry: the receiver's.
        assert_eq!(
            (
                e[0].src,
                e[0].dst,
                e[0].dst_port,
                e[1].src,
                e[1].dst,
                e[1].dst_port
            ),
            (
                Some(ip("192.0.2.10")),
                ip("198.51.100.20"),
                Some(0x2222),
                Some(ip("198.51.100.20")),
                ip("192.0.2.10"),
                Some(0x1111)
            )
        );
        // A second call between the same peers has GRE of its own.
        c.send(Side::Initiator, &outgoing_call_request(0x1112));
        let e = exps(&c.send(Side::Responder, &outgoing_call_reply(0x2223, 0x1112, 1)));
        assert_eq!(
            e.iter().map(|e| e.dst_port).collect::<Vec<_>>(),
            [Some(0x2223), Some(0x1112)]
        );
        assert_eq!(c.a.calls(), 2);
        // Clearing the first withdraws its GRE only.
        let out = c.send(Side::Initiator, &call_clear_request(0x1111));
        let gone: Vec<_> = out
            .iter()
            .filter_map(|x| match x {
                Action::Withdraw(e) => Some(e.dst_port),
                _ => None,
            })
            .collect();
        assert_eq!(gone, [Some(0x2222), Some(0x1111)]);
        // The PAC's disconnect of the other call (its own ID) ends it.
        assert_eq!(
            withdrawn(&c.send(Side::Responder, &call_disconnect_notify(0x2223))),
            2
        );
        assert_eq!(c.a.calls(), 0);
        assert_eq!(c.a.counters().dialogs_ended, 2);
    }

    /// Found by the fuzzer: a call connected with call ID 0 opened GRE keyed by port 0.
    #[test]
    fn regression_call_id_0_is_refused() {
        crate::harness::drive(
            AlgKind::Pptp,
            include_bytes!("../fuzz/seeds/pptp/regress-call-id-0"),
        );
        let mut c = Conn::new();
        c.send(Side::Initiator, &outgoing_call_request(0));
        let out = c.send(Side::Responder, &outgoing_call_reply(0x2222, 0, 1));
        assert!(exps(&out).is_empty());
        assert_eq!(errs(&out), vec![ParseErrorKind::BadPort]);
        assert_eq!(c.a.calls(), 0);
    }

    #[test]
    fn the_fuzz_seed_call() {
        let c = crate::harness::drive(AlgKind::Pptp, include_bytes!("../fuzz/seeds/pptp/call"));
        assert_eq!(
            (
                c.requests,
                c.dialogs,
                c.dialogs_ended,
                c.pinholes,
                c.parse_errors
            ),
            (1, 1, 1, 2, 0)
        );
    }

    #[test]
    fn call_ids_are_reported_for_a_nat() {
        let mut c = Conn::new();
        let out = c.send(Side::Initiator, &outgoing_call_request(0x1111));
        let ranges: Vec<_> = out
            .iter()
            .filter_map(|x| match x {
                Action::Rewrite {
                    kind: RewriteKind::PptpCallId,
                    range,
                    port,
                    ..
                } => Some((range.clone(), *port)),
                _ => None,
            })
            .collect();
        assert_eq!(ranges, vec![(112..114, 0x1111)]);
        let out = c.send(Side::Responder, &outgoing_call_reply(0x2222, 0x1111, 1));
        let n = out
            .iter()
            .filter(|x| {
                matches!(
                    x,
                    Action::Rewrite {
                        kind: RewriteKind::PptpCallId,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(n, 2);
    }

    #[test]
    fn refused_call_split_messages_and_garbage() {
        let mut c = Conn::new();
        let req = outgoing_call_request(7);
        c.send(Side::Initiator, &req[..20]);
        c.send(Side::Initiator, &req[20..]);
        assert_eq!(c.a.counters().requests, 1);
        // Result 2: general error. Nothing opens.
        assert!(exps(&c.send(Side::Responder, &outgoing_call_reply(9, 7, 2))).is_empty());
        let out = c.send(
            Side::Responder,
            &[0, 12, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0, 8, 0, 0],
        );
        assert_eq!(errs(&out), vec![ParseErrorKind::Malformed]);
    }
}
