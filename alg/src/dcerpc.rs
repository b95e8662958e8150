//! MS-RPC (`dce-rpc-portmap`, the endpoint mapper on TCP 135; DCE 1.1 RPC, MS-RPCE): the
//! port an `ept_map` answer names.
//!
//! Connection-oriented PDUs carry a 16-byte header: version 5.0, type, flags, data
//! representation (byte 0 bit 4: little-endian), fragment length, auth length, call ID.
//! The ALG follows the binds to the endpoint mapper interface
//! (`e1af8308-5d1f-11c9-91a4-08002b14a0fa`), the `ept_map` requests (opnum 3) on those
//! contexts, and their answers: each tower of an answer is a list of floors, the first
//! naming the interface (UUID and version), then the protocols: TCP (0x07) with its port,
//! IP (0x09) with its address. For each TCP/IP tower the ALG opens a one-shot TCP pinhole
//! from the client to that address and port, the interface named beside it (the address
//! must be the server's own, 0.0.0.0 meaning it; another is a third party unless `loose`).
//! Fragmented PDUs (a stub over several fragments) are read from their first fragment
//! only.

use core::net::{IpAddr, Ipv4Addr};
use core::ops::Range;

use crate::common::{abs_range, core_timers, delegate_core, Alg, Core, Duplex};
use crate::kind::AlgKind;
use crate::parse::Parse;
use crate::types::{
    Actions, AlgConfig, AppHint, FlowCtx, ParseErrorKind, Proto, RewriteKind, Side,
};

/// The endpoint mapper's interface UUID, as it travels (little-endian fields).
pub const EPM_UUID: [u8; 16] = [
    0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa,
];

const BIND: u8 = 11;
const ALTER_CONTEXT: u8 = 14;
const REQUEST: u8 = 0;
const RESPONSE: u8 = 2;
const EPT_MAP: u16 = 3;
/// The most towers read from one answer.
const MAX_TOWERS: u32 = 8;
/// The reassembly buffer: an `ept_map` answer with a few towers.
const DCE_BUF: usize = 2048;

/// A PDU's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdu {
    /// PDU type.
    pub ptype: u8,
    /// Little-endian integers.
    pub le: bool,
    /// Fragment length.
    pub len: usize,
    /// Call ID.
    pub call_id: u32,
}

fn u16_at(b: &[u8], off: usize, le: bool) -> Option<u16> {
    let x = [*b.get(off)?, *b.get(off + 1)?];
    Some(if le {
        u16::from_le_bytes(x)
    } else {
        u16::from_be_bytes(x)
    })
}

fn u32_at(b: &[u8], off: usize, le: bool) -> Option<u32> {
    let x = [
        *b.get(off)?,
        *b.get(off + 1)?,
        *b.get(off + 2)?,
        *b.get(off + 3)?,
    ];
    Some(if le {
        u32::from_le_bytes(x)
    } else {
        u32::from_be_bytes(x)
    })
}

/// Parses a PDU header at the start of `b`.
#[must_use]
pub fn parse_header(b: &[u8]) -> Parse<Pdu> {
    let (Some(&v), Some(&minor), Some(&ptype), Some(&drep)) =
        (b.first(), b.get(1), b.get(2), b.get(4))
    else {
        return Parse::Partial;
    };
    let le = drep & 0x10 != 0;
    let (Some(len), Some(call_id)) = (u16_at(b, 8, le), u32_at(b, 12, le)) else {
        return Parse::Partial;
    };
    let len = usize::from(len);
    if v != 5 || minor > 1 || len < 16 {
        return Parse::NoMatch;
    }
    Parse::Found(
        Pdu {
            ptype,
            le,
            len,
            call_id,
        },
        0..len,
    )
}

/// One endpoint an `ept_map` answer names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The interface's UUID (as it travels) and major version.
    pub interface: ([u8; 16], u16),
    /// The TCP port, and its bytes' range in the PDU.
    pub port: (u16, Range<usize>),
    /// The IPv4 address, and its bytes' range.
    pub addr: (Ipv4Addr, Range<usize>),
}

/// Reads one tower (its octets start at `at` in `pdu`).
fn tower(pdu: &[u8], at: usize, len: usize, le: bool) -> Option<Endpoint> {
    let t = pdu.get(at..at.checked_add(len)?)?;
    // Floor count and floors are little-endian whatever the PDU's representation;
    // the port and the address are big-endian (network order).
    let floors = u16::from_le_bytes([*t.first()?, *t.get(1)?]);
    let _ = le;
    let mut off = 2usize;
    let mut interface = None;
    let mut port = None;
    let mut addr = None;
    for _ in 0..floors.min(8) {
        let lhs_len = usize::from(u16::from_le_bytes([*t.get(off)?, *t.get(off + 1)?]));
        let lhs = t.get(off + 2..off + 2 + lhs_len)?;
        let r = off + 2 + lhs_len;
        let rhs_len = usize::from(u16::from_le_bytes([*t.get(r)?, *t.get(r + 1)?]));
        let rhs = t.get(r + 2..r + 2 + rhs_len)?;
        let rhs_at = at + r + 2;
        match lhs.first() {
            Some(0x0d) if interface.is_none() && lhs.len() >= 19 => {
                let mut u = [0u8; 16];
                u.copy_from_slice(lhs.get(1..17)?);
                interface = Some((u, u16::from_le_bytes([*lhs.get(17)?, *lhs.get(18)?])));
            }
            Some(0x07) if rhs.len() == 2 => {
                port = Some((
                    u16::from_be_bytes([*rhs.first()?, *rhs.get(1)?]),
                    rhs_at..rhs_at + 2,
                ));
            }
            Some(0x09) if rhs.len() == 4 => {
                addr = Some((
                    Ipv4Addr::new(*rhs.first()?, *rhs.get(1)?, *rhs.get(2)?, *rhs.get(3)?),
                    rhs_at..rhs_at + 4,
                ));
            }
            _ => {}
        }
        off = r + 2 + rhs_len;
    }
    Some(Endpoint {
        interface: interface?,
        port: port?,
        addr: addr?,
    })
}

/// The TCP/IP endpoints of an `ept_map` answer PDU (`pdu` is the whole PDU), pushed to
/// `out` (at most [`MAX_TOWERS`]). False when the stub does not parse.
pub fn map_answer(pdu: &[u8], le: bool, out: &mut impl FnMut(Endpoint)) -> bool {
    // Response header 24 bytes; stub: entry handle (20), num_towers, then the towers'
    // conformant varying array: max count, offset, actual count, a referent per tower.
    let stub = 24usize;
    let Some(n) = u32_at(pdu, stub + 20, le) else {
        return false;
    };
    let Some(actual) = u32_at(pdu, stub + 32, le) else {
        return false;
    };
    if actual > n.max(MAX_TOWERS).saturating_mul(2) {
        return false;
    }
    let towers = actual.min(MAX_TOWERS) as usize;
    let mut at = stub + 36 + 4 * actual as usize;
    for _ in 0..towers {
        let Some(len) = u32_at(pdu, at + 4, le) else {
            return false;
        };
        let len = len as usize;
        if let Some(e) = tower(pdu, at + 8, len, le) {
            out(e);
        }
        at = at + 8 + len;
        at = (at + 3) & !3;
    }
    true
}

#[derive(Debug, Clone, Default)]
struct Calls {
    /// Presentation contexts bound to the endpoint mapper.
    epm_contexts: [Option<u16>; 4],
    /// Call IDs of `ept_map` requests awaiting their answer.
    pending: [Option<u32>; 8],
}

/// The MS-RPC endpoint mapper ALG for one connection.
#[derive(Debug, Clone)]
pub struct DceRpc {
    core: Core,
    bufs: Duplex<DCE_BUF>,
    calls: Calls,
}

impl DceRpc {
    /// An ALG for the endpoint mapper connection `ctx`.
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> DceRpc {
        DceRpc {
            core: Core::new(cfg, ctx),
            bufs: Duplex::new(),
            calls: Calls::default(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn on_pdu(
    core: &mut Core,
    calls: &mut Calls,
    now: u64,
    side: Side,
    pdu: &[u8],
    h: &Pdu,
    base: u32,
    out: &mut Actions,
) {
    match (h.ptype, side) {
        (BIND | ALTER_CONTEXT, Side::Initiator) => {
            // max xmit, max recv, assoc group, then the context list: count (1 byte, 3
            // pad), each: context id (2), transfer syntax count (1, 1 pad), abstract
            // syntax (UUID 16 + version 4), transfer syntaxes (20 each).
            let n = pdu.get(24).copied().unwrap_or(0);
            let mut at = 28usize;
            for _ in 0..n.min(8) {
                let (Some(id), Some(&ts)) = (u16_at(pdu, at, h.le), pdu.get(at + 2)) else {
                    return;
                };
                if pdu.get(at + 4..at + 20) == Some(&EPM_UUID[..]) {
                    if let Some(slot) = calls
                        .epm_contexts
                        .iter_mut()
                        .find(|c| c.is_none() || **c == Some(id))
                    {
                        *slot = Some(id);
                    }
                }
                at += 24 + 20 * usize::from(ts);
            }
        }
        (REQUEST, Side::Initiator) => {
            let (Some(ctx_id), Some(op)) = (u16_at(pdu, 20, h.le), u16_at(pdu, 22, h.le)) else {
                return;
            };
            if op == EPT_MAP && calls.epm_contexts.contains(&Some(ctx_id)) {
                core.counters.requests += 1;
                if let Some(slot) = calls.pending.iter_mut().find(|p| p.is_none()) {
                    *slot = Some(h.call_id);
                }
            }
        }
        (RESPONSE, Side::Responder) => {
            let Some(slot) = calls.pending.iter_mut().find(|p| **p == Some(h.call_id)) else {
                return;
            };
            *slot = None;
            core.counters.replies += 1;
            let server = core.ctx.responder.ip();
            let client = core.ctx.initiator.ip();
            let mut found = [None, None, None, None];
            let mut k = 0;
            let ok = map_answer(pdu, h.le, &mut |e| {
                if let Some(f) = found.get_mut(k) {
                    *f = Some(e);
                    k += 1;
                }
            });
            if !ok {
                core.error(out, ParseErrorKind::Malformed);
                return;
            }
            for e in found.into_iter().flatten() {
                let addr = if e.addr.0.is_unspecified() {
                    server
                } else {
                    IpAddr::V4(e.addr.0)
                };
                if !core.check_addr(out, Side::Responder, addr) {
                    continue;
                }
                let Some(port) = core.check_port(out, u32::from(e.port.0)) else {
                    continue;
                };
                let x = core.expectation(
                    Proto::TCP,
                    Some(client),
                    addr,
                    Some(port),
                    AppHint::DceRpcProgram {
                        uuid: e.interface.0,
                    },
                    true,
                );
                if core.expect(now, out, x) {
                    core.rewrite(
                        out,
                        side,
                        abs_range(base, &e.addr.1),
                        RewriteKind::DceRpcAddr,
                        Some(addr),
                        port,
                    );
                    core.rewrite(
                        out,
                        side,
                        abs_range(base, &e.port.1),
                        RewriteKind::DceRpcPort,
                        None,
                        port,
                    );
                }
            }
        }
        _ => {}
    }
}

impl Alg for DceRpc {
    fn kind(&self) -> AlgKind {
        AlgKind::DceRpcPortmap
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        let calls = &mut self.calls;
        self.bufs.feed(
            &mut self.core,
            side,
            seq,
            payload,
            out,
            parse_header,
            |core, h, b, base, _, out| {
                // A PDU longer than the buffer is skipped past (the consumer may ask).
                if let Some(pdu) = b.get(..h.len) {
                    on_pdu(core, calls, now_ms, side, pdu, &h, base, out);
                } else if h.len < DCE_BUF {
                    return 0;
                }
                h.len
            },
        );
    }

    core_timers!();

    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        self.bufs.sync(side, next_seq);
    }

    delegate_core!();
}

/// Byte fixtures of endpoint mapper PDUs (little-endian, as Windows and Samba send
/// them), shared by the unit tests and the `tshark` check (`tests/alg_fixtures.rs`).
pub mod fixtures {
    use super::EPM_UUID;

    /// NDR's transfer syntax UUID (8a885d04-1ceb-11c9-9fe8-08002b104860) and version 2.
    const NDR: [u8; 20] = [
        0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48,
        0x60, 2, 0, 0, 0,
    ];

    fn header(ptype: u8, flen: usize, call_id: u32) -> Vec<u8> {
        let mut h = vec![5, 0, ptype, 0x03, 0x10, 0, 0, 0];
        h.extend_from_slice(&u16::try_from(flen).unwrap_or(0).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&call_id.to_le_bytes());
        h
    }

    fn pdu(ptype: u8, call_id: u32, body: &[u8]) -> Vec<u8> {
        let mut p = header(ptype, 16 + body.len(), call_id);
        p.extend_from_slice(body);
        p
    }

    /// A bind of context 0 to the endpoint mapper (version 3.0) over NDR.
    #[must_use]
    pub fn bind(call_id: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&5840u16.to_le_bytes());
        b.extend_from_slice(&5840u16.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&[1, 0, 0, 0]);
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&EPM_UUID);
        b.extend_from_slice(&3u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&NDR);
        pdu(super::BIND, call_id, &b)
    }

    /// A tower: the interface (UUID, major version), NDR, RPC connection-oriented, TCP
    /// `port`, IP `addr`.
    #[must_use]
    pub fn tower(uuid: [u8; 16], version: u16, port: u16, addr: [u8; 4]) -> Vec<u8> {
        let mut t = 5u16.to_le_bytes().to_vec();
        let mut floor = |lhs: &[u8], rhs: &[u8]| {
            t.extend_from_slice(&u16::try_from(lhs.len()).unwrap_or(0).to_le_bytes());
            t.extend_from_slice(lhs);
            t.extend_from_slice(&u16::try_from(rhs.len()).unwrap_or(0).to_le_bytes());
            t.extend_from_slice(rhs);
        };
        let mut l = vec![0x0d];
        l.extend_from_slice(&uuid);
        l.extend_from_slice(&version.to_le_bytes());
        floor(&l, &[0, 0]);
        let mut n = vec![0x0d];
        n.extend_from_slice(&NDR[..16]);
        n.extend_from_slice(&2u16.to_le_bytes());
        floor(&n, &[0, 0]);
        floor(&[0x0b], &[0, 0]);
        floor(&[0x07], &port.to_be_bytes());
        floor(&[0x09], &addr);
        t
    }

    fn tower_ptr(t: &[u8], b: &mut Vec<u8>) {
        b.extend_from_slice(&u32::try_from(t.len()).unwrap_or(0).to_le_bytes());
        b.extend_from_slice(&u32::try_from(t.len()).unwrap_or(0).to_le_bytes());
        b.extend_from_slice(t);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
    }

    /// An `ept_map` request (opnum 3) on context 0 asking for `uuid` over TCP/IP.
    #[must_use]
    pub fn map_request(call_id: u32, uuid: [u8; 16], version: u16) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0u32.to_le_bytes()); // alloc hint, filled below
        b.extend_from_slice(&0u16.to_le_bytes()); // context 0
        b.extend_from_slice(&3u16.to_le_bytes()); // opnum: ept_map
                                                  // object: a full pointer to a nil UUID.
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&[0; 16]);
        // map_tower: a pointer to a tower.
        b.extend_from_slice(&2u32.to_le_bytes());
        tower_ptr(&tower(uuid, version, 135, [0, 0, 0, 0]), &mut b);
        b.extend_from_slice(&[0; 20]); // entry handle
        b.extend_from_slice(&4u32.to_le_bytes()); // max towers
        let hint = u32::try_from(b.len() - 8).unwrap_or(0).to_le_bytes();
        b[..4].copy_from_slice(&hint);
        pdu(super::REQUEST, call_id, &b)
    }

    /// The `ept_map` answer naming `uuid` at TCP `port` on `addr`.
    #[must_use]
    pub fn map_response(
        call_id: u32,
        uuid: [u8; 16],
        version: u16,
        port: u16,
        addr: [u8; 4],
    ) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0u32.to_le_bytes()); // alloc hint, filled below
        b.extend_from_slice(&0u16.to_le_bytes()); // context 0
        b.extend_from_slice(&[0, 0]); // cancel count, reserved
        b.extend_from_slice(&[0; 20]); // entry handle
        b.extend_from_slice(&1u32.to_le_bytes()); // num towers
        b.extend_from_slice(&4u32.to_le_bytes()); // max count
        b.extend_from_slice(&0u32.to_le_bytes()); // offset
        b.extend_from_slice(&1u32.to_le_bytes()); // actual count
        b.extend_from_slice(&3u32.to_le_bytes()); // referent
        tower_ptr(&tower(uuid, version, port, addr), &mut b);
        b.extend_from_slice(&0u32.to_le_bytes()); // status
        let hint = u32::try_from(b.len() - 8).unwrap_or(0).to_le_bytes();
        b[..4].copy_from_slice(&hint);
        pdu(super::RESPONSE, call_id, &b)
    }

    /// Another interface than the endpoint mapper, as a client asks for it: MS-SAMR
    /// (12345778-1234-abcd-ef00-0123456789ac), version 1.
    pub const SAMR: [u8; 16] = [
        0x78, 0x57, 0x34, 0x12, 0x34, 0x12, 0xcd, 0xab, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89,
        0xac,
    ];
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::testutil::*;

    struct Conn {
        a: DceRpc,
        seq: [u32; 2],
    }

    impl Conn {
        fn new(loose: bool) -> Conn {
            let mut cfg = AlgConfig::default_for(AlgKind::DceRpcPortmap);
            cfg.loose_ftp = loose;
            let mut a = DceRpc::new(
                cfg,
                ctx(Proto::TCP, "192.0.2.10:40000", "198.51.100.20:135"),
            );
            a.sync_seq(Side::Initiator, 100);
            a.sync_seq(Side::Responder, 900);
            Conn { a, seq: [100, 900] }
        }
        fn send(&mut self, side: Side, b: &[u8]) -> Actions {
            let mut out = Actions::new();
            let i = side.index();
            for chunk in b.chunks(61) {
                out.clear();
                self.a.on_data(0, side, Some(self.seq[i]), chunk, &mut out);
                self.seq[i] = self.seq[i].wrapping_add(u32::try_from(chunk.len()).unwrap());
            }
            out
        }
    }

    const S: [u8; 4] = [198, 51, 100, 20];

    #[test]
    fn ept_map_answer_opens_the_interface_port() {
        let mut c = Conn::new(false);
        c.send(Side::Initiator, &bind(1));
        c.send(Side::Initiator, &map_request(2, SAMR, 1));
        let r = map_response(2, SAMR, 1, 49_155, S);
        let out = c.send(Side::Responder, &r);
        let e = exps(&out);
        assert_eq!(e.len(), 1, "{:?}", acts(&out));
        assert_eq!(
            (
                e[0].proto,
                e[0].src,
                e[0].dst,
                e[0].dst_port,
                e[0].child_app
            ),
            (
                Proto::TCP,
                Some(ip("192.0.2.10")),
                ip("198.51.100.20"),
                Some(49_155),
                AppHint::DceRpcProgram { uuid: SAMR }
            )
        );
        assert_eq!(c.a.counters().parse_errors, 0);
        // 0.0.0.0 means the server.
        let mut c = Conn::new(false);
        c.send(Side::Initiator, &bind(1));
        c.send(Side::Initiator, &map_request(2, SAMR, 1));
        let e = exps(&c.send(Side::Responder, &map_response(2, SAMR, 1, 49_156, [0; 4])));
        assert_eq!(e[0].dst, ip("198.51.100.20"));
    }

    #[test]
    fn the_fuzz_seed_exchange() {
        let c = crate::harness::drive(
            AlgKind::DceRpcPortmap,
            include_bytes!("../fuzz/seeds/dcerpc/ept-map"),
        );
        assert_eq!(
            (c.requests, c.replies, c.pinholes, c.parse_errors),
            (1, 1, 1, 0)
        );
    }

    /// A real exchange: Samba's endpoint mapper asked by `rpcclient ... -c srvinfo`
    /// (`tests/msrpc_e2e.rs`'s) where srvsvc listens.
    #[test]
    fn a_real_samba_ept_map() {
        let mut a = DceRpc::new(
            AlgConfig::default_for(AlgKind::DceRpcPortmap),
            ctx(Proto::TCP, "10.78.9.1:40000", "10.78.9.2:135"),
        );
        let all = replay_tcp(&mut a, include_str!("../fixtures/samba-epm-map.txt"));
        let e: Vec<_> = all
            .iter()
            .filter_map(|x| match x {
                crate::Action::Expect(e) => Some(*e),
                _ => None,
            })
            .collect();
        assert_eq!(e.len(), 1, "{all:?}");
        assert_eq!(
            (e[0].src, e[0].dst),
            (Some(ip("10.78.9.1")), ip("10.78.9.2"))
        );
        // srvsvc: 4b324fc8-1670-01d3-1278-5a47bf6ee188, as it travels.
        assert!(matches!(
            e[0].child_app,
            AppHint::DceRpcProgram { uuid } if uuid[..4] == [0xc8, 0x4f, 0x32, 0x4b]
        ));
        assert!(e[0].dst_port.is_some_and(|p| p >= 1024));
        assert_eq!(a.counters().parse_errors, 0);
    }

    #[test]
    fn only_answers_to_map_requests_on_epm_contexts() {
        // No bind to the endpoint mapper: the request is not tracked.
        let mut c = Conn::new(false);
        c.send(Side::Initiator, &map_request(2, SAMR, 1));
        assert!(exps(&c.send(Side::Responder, &map_response(2, SAMR, 1, 49_155, S))).is_empty());
        // An answer to another call ID.
        let mut c = Conn::new(false);
        c.send(Side::Initiator, &bind(1));
        c.send(Side::Initiator, &map_request(2, SAMR, 1));
        assert!(exps(&c.send(Side::Responder, &map_response(3, SAMR, 1, 49_155, S))).is_empty());
        // A third party.
        let mut c = Conn::new(false);
        c.send(Side::Initiator, &bind(1));
        c.send(Side::Initiator, &map_request(2, SAMR, 1));
        let out = c.send(
            Side::Responder,
            &map_response(2, SAMR, 1, 49_155, [203, 0, 113, 9]),
        );
        assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
        // Not DCE/RPC.
        let mut c = Conn::new(false);
        let out = c.send(
            Side::Initiator,
            &[4, 0, 11, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0],
        );
        assert_eq!(errs(&out), vec![ParseErrorKind::Malformed]);
    }
}
