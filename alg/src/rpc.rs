//! Sun RPC portmapper / rpcbind (RFC 1833, ONC RPC RFC 5531) over UDP and TCP.
//!
//! A client asks the portmapper (program 100000) where a program listens:
//! * `PMAPPROC_GETPORT` (version 2, procedure 3; arguments prog, vers, prot, port): the
//!   reply's single word is the port (0 = not registered);
//! * `RPCBPROC_GETADDR` (versions 3 and 4, procedure 3; arguments prog, vers, netid, addr,
//!   owner): the reply is a universal address string "h1.h2.h3.h4.p1.p2" (IPv6:
//!   "x:x::x.p1.p2"; empty = not registered).
//!
//! The call's XID and question are remembered; the accepted, successful reply with the same
//! XID opens a pinhole: from the client's address, any port, to the server's address (or the
//! universal address, which must be the server's unless loose) and the returned port, for
//! the protocol asked about (TCP 6 / UDP 17). The pinhole is reusable within its timeout
//! (RPC clients reconnect). Over TCP, RPC record marking (a 4-byte header: last-fragment
//! bit and 31-bit length) frames messages; only a record's first fragment is parsed.

use core::net::IpAddr;
use core::ops::Range;

use crate::common::{abs_range, delegate_core, Alg, Core};
use crate::kind::AlgKind;
use crate::parse::{be32, dec, ip_text, Parse};
use crate::stream::{Framing, StreamBuf, STREAM_BUF};
use crate::types::{
    Actions, AlgConfig, AppHint, FlowCtx, ParseErrorKind, Proto, RewriteKind, Side,
};

/// The portmapper / rpcbind program number.
pub const PMAP_PROG: u32 = 100_000;
/// PMAPPROC_GETPORT / RPCBPROC_GETADDR procedure number.
pub const PROC_GETPORT: u32 = 3;
/// Calls remembered per session awaiting their reply.
pub const PENDING: usize = 8;
/// The longest opaque auth body (RFC 5531).
const MAX_AUTH: u32 = 400;
/// The longest netid / universal address string read.
const MAX_STR: u32 = 128;

/// What a portmapper call asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    /// The transaction ID.
    pub xid: u32,
    /// The program asked about.
    pub prog: u32,
    /// Its version.
    pub vers: u32,
    /// The transport asked about (TCP or UDP); `None` for a netid the ALG does not open.
    pub proto: Option<Proto>,
    /// True for rpcbind GETADDR (universal address reply), false for GETPORT.
    pub getaddr: bool,
}

/// What a successful reply carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A GETPORT port (not range-checked).
    Port(u32),
    /// A GETADDR universal address: the address (`None` when the string is empty or
    /// unparsable) and port.
    Uaddr(Option<(IpAddr, u32)>),
}

/// Reads an XDR opaque/string at `off` (length word + padded body): the body range and the
/// offset after it.
fn xdr_opaque(m: &[u8], off: usize, max: u32) -> Result<(Range<usize>, usize), Parse<()>> {
    let len = be32(m, off).ok_or(Parse::Partial)?;
    if len > max {
        return Err(Parse::NoMatch);
    }
    let len = usize::try_from(len).map_err(|_| Parse::NoMatch)?;
    let start = off + 4;
    let end = start + len;
    let padded = start + len.div_ceil(4) * 4;
    if m.len() < padded {
        return Err(Parse::Partial);
    }
    Ok((start..end, padded))
}

fn word(m: &[u8], off: usize) -> Result<u32, Parse<()>> {
    be32(m, off).ok_or(Parse::Partial)
}

fn lift<T>(e: Parse<()>) -> Parse<T> {
    match e {
        Parse::Partial => Parse::Partial,
        _ => Parse::NoMatch,
    }
}

/// Parses an RPC call to the portmapper's GETPORT (v2) or GETADDR (v3/v4). The range
/// covers the arguments. [`Parse::NoMatch`] for other calls, replies and malformed input.
#[must_use]
pub fn parse_call(m: &[u8]) -> Parse<Query> {
    match call_inner(m) {
        Ok(v) => v,
        Err(e) => lift(e),
    }
}

fn call_inner(m: &[u8]) -> Result<Parse<Query>, Parse<()>> {
    let xid = word(m, 0)?;
    if word(m, 4)? != 0 || word(m, 8)? != 2 {
        return Err(Parse::NoMatch);
    }
    let (prog, vers, proc_) = (word(m, 12)?, word(m, 16)?, word(m, 20)?);
    // cred: flavor, opaque; verf: flavor, opaque.
    let (_, off) = xdr_opaque(m, 28, MAX_AUTH)?;
    let (_, off) = xdr_opaque(m, off + 4, MAX_AUTH)?;
    if prog != PMAP_PROG || proc_ != PROC_GETPORT {
        return Ok(Parse::NoMatch);
    }
    let (qprog, qvers) = (word(m, off)?, word(m, off + 4)?);
    match vers {
        2 => {
            let prot = word(m, off + 8)?;
            word(m, off + 12)?;
            let proto = match prot {
                6 => Some(Proto::TCP),
                17 => Some(Proto::UDP),
                _ => None,
            };
            let q = Query {
                xid,
                prog: qprog,
                vers: qvers,
                proto,
                getaddr: false,
            };
            Ok(Parse::Found(q, off..off + 16))
        }
        3 | 4 => {
            let (netid, next) = xdr_opaque(m, off + 8, MAX_STR)?;
            let (_, next) = xdr_opaque(m, next, MAX_STR)?;
            let (_, end) = xdr_opaque(m, next, MAX_STR)?;
            let proto = match m.get(netid).unwrap_or(&[]) {
                b"tcp" | b"tcp6" => Some(Proto::TCP),
                b"udp" | b"udp6" => Some(Proto::UDP),
                _ => None,
            };
            let q = Query {
                xid,
                prog: qprog,
                vers: qvers,
                proto,
                getaddr: true,
            };
            Ok(Parse::Found(q, off..end))
        }
        _ => Ok(Parse::NoMatch),
    }
}

/// Parses a universal address "h1.h2.h3.h4.p1.p2" / "v6addr.p1.p2": the address and port.
#[must_use]
pub fn parse_uaddr(s: &[u8]) -> Option<(IpAddr, u32)> {
    let p2_dot = s.iter().rposition(|&b| b == b'.')?;
    let p1_dot = s.get(..p2_dot)?.iter().rposition(|&b| b == b'.')?;
    let num = |r: &[u8]| match dec(r, 255) {
        Some((v, n)) if n == r.len() => Some(v),
        _ => None,
    };
    let p1 = num(s.get(p1_dot + 1..p2_dot)?)?;
    let p2 = num(s.get(p2_dot + 1..)?)?;
    Some((ip_text(s.get(..p1_dot)?)?, p1 * 256 + p2))
}

/// Parses an accepted, successful RPC reply for `xid`'s question (`getaddr` says which
/// result form). Returns the XID, the answer and the result's range (the port word or the
/// address string). [`Parse::NoMatch`] for calls, denied or failed replies, malformed input.
#[must_use]
pub fn parse_reply(m: &[u8], getaddr: impl Fn(u32) -> Option<bool>) -> Parse<(u32, Answer)> {
    match reply_inner(m, getaddr) {
        Ok(v) => v,
        Err(e) => lift(e),
    }
}

fn reply_inner(
    m: &[u8],
    getaddr: impl Fn(u32) -> Option<bool>,
) -> Result<Parse<(u32, Answer)>, Parse<()>> {
    let xid = word(m, 0)?;
    if word(m, 4)? != 1 {
        return Err(Parse::NoMatch);
    }
    // reply_stat 0 = MSG_ACCEPTED, then verf, then accept_stat 0 = SUCCESS.
    if word(m, 8)? != 0 {
        return Err(Parse::NoMatch);
    }
    let (_, off) = xdr_opaque(m, 16, MAX_AUTH)?;
    if word(m, off)? != 0 {
        return Err(Parse::NoMatch);
    }
    let res = off + 4;
    match getaddr(xid) {
        None => Ok(Parse::NoMatch),
        Some(false) => Ok(Parse::Found(
            (xid, Answer::Port(word(m, res)?)),
            res..res + 4,
        )),
        Some(true) => {
            let (s, _) = xdr_opaque(m, res, MAX_STR)?;
            let text = m.get(s.clone()).unwrap_or(&[]);
            Ok(Parse::Found((xid, Answer::Uaddr(parse_uaddr(text))), s))
        }
    }
}

/// The portmapper ALG for one session (UDP or TCP).
#[derive(Debug, Clone)]
pub struct RpcPortmap {
    core: Core,
    pending: [Option<(u64, Query)>; PENDING],
    /// TCP reassembly per direction, and whether the next fragment continues a record.
    bufs: [StreamBuf; 2],
    cont: [bool; 2],
}

impl RpcPortmap {
    /// A portmapper ALG for the session `ctx` (initiator = RPC client).
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> RpcPortmap {
        RpcPortmap {
            core: Core::new(cfg, ctx),
            pending: [None; PENDING],
            bufs: [
                StreamBuf::new(Framing::Messages),
                StreamBuf::new(Framing::Messages),
            ],
            cont: [false; 2],
        }
    }
}

fn handle_message(
    core: &mut Core,
    pending: &mut [Option<(u64, Query)>; PENDING],
    now_ms: u64,
    side: Side,
    m: &[u8],
    base: u32,
    out: &mut Actions,
) {
    match side {
        Side::Initiator => match parse_call(m) {
            Parse::Found(q, _) => {
                core.counters.requests += 1;
                let expires = now_ms.saturating_add(core.cfg.timeout_ms);
                let free = pending.iter().position(|p| p.is_none_or_xid(q.xid));
                let oldest = pending
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, p)| p.map_or(0, |(x, _)| x))
                    .map_or(0, |(i, _)| i);
                if let Some(s) = pending.get_mut(free.unwrap_or(oldest)) {
                    *s = Some((expires, q));
                }
            }
            Parse::Partial => core.error(out, ParseErrorKind::Malformed),
            // Other RPC calls (DUMP, CALLIT, ...) are not inspected.
            Parse::NoMatch => {}
        },
        Side::Responder => {
            let kind = |xid: u32| {
                pending
                    .iter()
                    .flatten()
                    .find(|(_, q)| q.xid == xid)
                    .map(|(_, q)| q.getaddr)
            };
            let (xid, answer, range) = match parse_reply(m, kind) {
                Parse::Found((x, a), r) => (x, a, r),
                Parse::Partial => {
                    core.error(out, ParseErrorKind::Malformed);
                    return;
                }
                Parse::NoMatch => return,
            };
            let Some(slot) = pending
                .iter_mut()
                .find(|p| p.is_some_and(|(_, q)| q.xid == xid))
            else {
                return;
            };
            let Some((_, q)) = slot.take() else { return };
            core.counters.replies += 1;
            let server = core.ctx.responder.ip();
            let (addr, port, rw) = match answer {
                Answer::Port(0) | Answer::Uaddr(None) => return, // not registered
                Answer::Port(p) => (server, p, RewriteKind::RpcPort),
                // "0.0.0.0.p1.p2" / "::.p1.p2": the server itself.
                Answer::Uaddr(Some((a, p))) if a.is_unspecified() => {
                    (server, p, RewriteKind::RpcUaddr)
                }
                Answer::Uaddr(Some((a, p))) => (a, p, RewriteKind::RpcUaddr),
            };
            let Some(port) = core.check_port(out, port) else {
                return;
            };
            if !core.check_addr(out, Side::Responder, addr) {
                return;
            }
            let Some(proto) = q.proto else { return };
            let app = AppHint::RpcProgram {
                prog: q.prog,
                vers: q.vers,
            };
            let client = core.ctx.initiator.ip();
            let e = core.expectation(proto, Some(client), addr, Some(port), app, false);
            if core.expect(now_ms, out, e) {
                let a = (rw == RewriteKind::RpcUaddr).then_some(addr);
                core.rewrite(out, side, abs_range(base, &range), rw, a, port);
            }
        }
    }
}

/// `Option::is_none_or` for the pending table: a free slot or the same XID (retransmit).
trait FreeOrSame {
    fn is_none_or_xid(&self, xid: u32) -> bool;
}

impl FreeOrSame for Option<(u64, Query)> {
    fn is_none_or_xid(&self, xid: u32) -> bool {
        match self {
            None => true,
            Some((_, q)) => q.xid == xid,
        }
    }
}

impl Alg for RpcPortmap {
    fn kind(&self) -> AlgKind {
        AlgKind::RpcPortmap
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
        let RpcPortmap {
            core,
            pending,
            bufs,
            cont,
        } = self;
        let Some(seq) = seq else {
            handle_message(core, pending, now_ms, side, payload, 0, out);
            return;
        };
        let [cli, srv] = bufs;
        let [ccont, scont] = cont;
        let (buf, cont) = match side {
            Side::Initiator => (cli, ccont),
            Side::Responder => (srv, scont),
        };
        let f = buf.feed(seq, payload, |b, base| {
            let Some(hdr) = be32(b, 0) else { return 0 };
            let last = hdr & 0x8000_0000 != 0;
            let len = usize::try_from(hdr & 0x7fff_ffff).unwrap_or(usize::MAX);
            let need = len.saturating_add(4);
            if b.len() < need && b.len() < STREAM_BUF {
                return 0;
            }
            if !*cont {
                let body = b.get(4..need.min(b.len())).unwrap_or(&[]);
                handle_message(core, pending, now_ms, side, body, base.wrapping_add(4), out);
            }
            *cont = !last;
            need
        });
        core.account(&f, out);
    }

    fn on_timeout(&mut self, now_ms: u64, _out: &mut Actions) {
        self.core.on_timeout(now_ms);
        for p in &mut self.pending {
            if p.is_some_and(|(x, _)| x <= now_ms) {
                *p = None;
            }
        }
    }

    fn poll_timeout(&self) -> Option<u64> {
        let q = self.pending.iter().filter_map(|p| p.map(|(x, _)| x)).min();
        match (q, self.core.next_expiry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        let [cli, srv] = &mut self.bufs;
        match side {
            Side::Initiator => cli.sync(next_seq),
            Side::Responder => srv.sync(next_seq),
        }
    }

    delegate_core!();
}

#[cfg(test)]
// Fixture lengths are a few bytes: the casts build wire fields from them.
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::{Action, Expectation};

    /// `rpcinfo -p`-style GETPORT call for NFS (100003 v3 over UDP), AUTH_NULL.
    fn getport_call(xid: u32, prot: u32) -> Vec<u8> {
        let mut m = Vec::new();
        for w in [xid, 0, 2, PMAP_PROG, 2, 3, 0, 0, 0, 0, 100_003, 3, prot, 0] {
            m.extend_from_slice(&w.to_be_bytes());
        }
        m
    }

    fn getport_reply(xid: u32, port: u32) -> Vec<u8> {
        let mut m = Vec::new();
        for w in [xid, 1, 0, 0, 0, 0, port] {
            m.extend_from_slice(&w.to_be_bytes());
        }
        m
    }

    fn xdr_str(m: &mut Vec<u8>, s: &[u8]) {
        m.extend_from_slice(&(s.len() as u32).to_be_bytes());
        m.extend_from_slice(s);
        m.extend(vec![0; (4 - s.len() % 4) % 4]);
    }

    /// rpcbind v4 GETADDR for 100024 (status) v1 over tcp, AUTH_UNIX credentials.
    fn getaddr_call(xid: u32) -> Vec<u8> {
        let mut m = Vec::new();
        for w in [xid, 0, 2, PMAP_PROG, 4, 3, 1] {
            m.extend_from_slice(&w.to_be_bytes());
        }
        // AUTH_UNIX body: stamp, machine name, uid, gid, gids.
        let mut cred = Vec::new();
        cred.extend_from_slice(&0x5f5e_0f00u32.to_be_bytes());
        xdr_str(&mut cred, b"client");
        for w in [0u32, 0, 0] {
            cred.extend_from_slice(&w.to_be_bytes());
        }
        xdr_str(&mut m, &cred);
        m.extend_from_slice(&[0; 8]);
        for w in [100_024u32, 1] {
            m.extend_from_slice(&w.to_be_bytes());
        }
        xdr_str(&mut m, b"tcp");
        xdr_str(&mut m, b"");
        xdr_str(&mut m, b"superuser");
        m
    }

    fn getaddr_reply(xid: u32, uaddr: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        for w in [xid, 1, 0, 0, 0, 0] {
            m.extend_from_slice(&w.to_be_bytes());
        }
        xdr_str(&mut m, uaddr);
        m
    }

    fn alg(proto: Proto) -> RpcPortmap {
        RpcPortmap::new(
            AlgConfig::default_for(AlgKind::RpcPortmap),
            ctx(proto, "192.168.203.198:1019", "192.168.203.194:111"),
        )
    }

    fn run(a: &mut RpcPortmap, side: Side, seq: Option<u32>, p: &[u8]) -> Actions {
        let mut out = Actions::new();
        a.on_data(3, side, seq, p, &mut out);
        out
    }

    fn nfs(proto: Proto, port: u16) -> Expectation {
        Expectation {
            proto,
            src: Some(ip("192.168.203.198")),
            src_port: None,
            dst: ip("192.168.203.194"),
            dst_port: Some(port),
            timeout_ms: 30_000,
            child_app: AppHint::RpcProgram {
                prog: 100_003,
                vers: 3,
            },
            one_shot: false,
            quoted: None,
            tag: 0,
        }
    }

    #[test]
    fn parsers() {
        let Parse::Found(q, r) = parse_call(&getport_call(7, 17)) else {
            panic!()
        };
        assert_eq!(
            q,
            Query {
                xid: 7,
                prog: 100_003,
                vers: 3,
                proto: Some(Proto::UDP),
                getaddr: false
            }
        );
        assert_eq!(r, 40..56);
        assert_eq!(parse_call(&getport_call(7, 17)[..50]), Parse::Partial);
        assert_eq!(parse_call(&getport_reply(7, 2049)), Parse::NoMatch);
        let Parse::Found(q, _) = parse_call(&getaddr_call(9)) else {
            panic!()
        };
        assert_eq!(
            (q.prog, q.proto, q.getaddr),
            (100_024, Some(Proto::TCP), true)
        );
        assert_eq!(
            parse_reply(&getport_reply(7, 2049), |_| Some(false)),
            Parse::Found((7, Answer::Port(2049)), 24..28)
        );
        assert_eq!(
            parse_reply(&getport_reply(7, 2049), |_| None),
            Parse::NoMatch
        );
        assert_eq!(
            parse_uaddr(b"192.168.203.194.2.101"),
            Some((ip("192.168.203.194"), 613))
        );
        assert_eq!(parse_uaddr(b"::1.3.0"), Some((ip("::1"), 768)));
        assert_eq!(parse_uaddr(b"192.168.203.194.2.256"), None);
        assert_eq!(parse_uaddr(b"2.101"), None);
        assert_eq!(parse_uaddr(b""), None);
        // A huge auth length is refused, not allocated or over-read.
        let mut bad = getport_call(1, 6);
        bad[28..32].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        assert_eq!(parse_call(&bad), Parse::NoMatch);
    }

    #[test]
    fn udp_getport_opens_program_port() {
        let mut a = alg(Proto::UDP);
        assert!(run(&mut a, Side::Initiator, None, &getport_call(0x11, 17)).is_empty());
        let out = run(&mut a, Side::Responder, None, &getport_reply(0x11, 2049));
        assert_eq!(exps(&out), vec![nfs(Proto::UDP, 2049)]);
        assert!(acts(&out).iter().any(|x| matches!(x,
            Action::Rewrite { range, kind: RewriteKind::RpcPort, .. } if *range == (24..28))));
        // The same reply again pairs with nothing.
        assert!(run(&mut a, Side::Responder, None, &getport_reply(0x11, 2049)).is_empty());
    }

    #[test]
    fn tcp_record_marking_split() {
        let mut a = alg(Proto::TCP);
        let call = getport_call(0x22, 6);
        let mut rec = (0x8000_0000u32 | call.len() as u32).to_be_bytes().to_vec();
        rec.extend_from_slice(&call);
        run(&mut a, Side::Initiator, Some(1000), &rec[..3]);
        run(&mut a, Side::Initiator, Some(1003), &rec[3..30]);
        run(&mut a, Side::Initiator, Some(1030), &rec[30..]);
        let reply = getport_reply(0x22, 2049);
        let mut rec = (0x8000_0000u32 | reply.len() as u32).to_be_bytes().to_vec();
        rec.extend_from_slice(&reply);
        let out = run(&mut a, Side::Responder, Some(50), &rec);
        assert_eq!(exps(&out), vec![nfs(Proto::TCP, 2049)]);
        assert!(acts(&out).iter().any(|x| matches!(x,
            Action::Rewrite { range, .. } if *range == (78..82))));
    }

    #[test]
    fn rpcbind_getaddr() {
        let mut a = alg(Proto::UDP);
        run(&mut a, Side::Initiator, None, &getaddr_call(5));
        let out = run(
            &mut a,
            Side::Responder,
            None,
            &getaddr_reply(5, b"192.168.203.194.2.101"),
        );
        let e = exps(&out);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].proto, e[0].dst_port), (Proto::TCP, Some(613)));
        // Not registered: empty address opens nothing, no error.
        run(&mut a, Side::Initiator, None, &getaddr_call(6));
        assert!(run(&mut a, Side::Responder, None, &getaddr_reply(6, b"")).is_empty());
        // Another host's address is refused.
        run(&mut a, Side::Initiator, None, &getaddr_call(7));
        let out = run(
            &mut a,
            Side::Responder,
            None,
            &getaddr_reply(7, b"10.9.9.9.2.101"),
        );
        assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
        // 0.0.0.0 means the server itself.
        run(&mut a, Side::Initiator, None, &getaddr_call(8));
        let out = run(
            &mut a,
            Side::Responder,
            None,
            &getaddr_reply(8, b"0.0.0.0.3.1"),
        );
        assert_eq!(exps(&out)[0].dst, ip("192.168.203.194"));
    }

    #[test]
    fn hostile_values() {
        let mut a = alg(Proto::UDP);
        run(&mut a, Side::Initiator, None, &getport_call(1, 17));
        assert!(
            run(&mut a, Side::Responder, None, &getport_reply(1, 0)).is_empty(),
            "not registered"
        );
        run(&mut a, Side::Initiator, None, &getport_call(2, 17));
        assert_eq!(
            errs(&run(
                &mut a,
                Side::Responder,
                None,
                &getport_reply(2, 70_000)
            )),
            vec![ParseErrorKind::BadPort]
        );
        // Unsolicited reply: nothing.
        assert!(run(&mut a, Side::Responder, None, &getport_reply(99, 2049)).is_empty());
        // Unknown protocol asked: the reply opens nothing.
        run(&mut a, Side::Initiator, None, &getport_call(3, 132));
        assert!(exps(&run(&mut a, Side::Responder, None, &getport_reply(3, 2049))).is_empty());
        // Truncated call and reply.
        assert_eq!(
            errs(&run(
                &mut a,
                Side::Initiator,
                None,
                &getport_call(4, 17)[..20]
            )),
            vec![ParseErrorKind::Malformed]
        );
        assert_eq!(a.counters().pinholes, 0);
    }
}
