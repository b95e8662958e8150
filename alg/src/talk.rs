//! talk / ntalk (udp 517/518): the control messages' addresses.
//!
//! The ntalk protocol (version 1, `<protocols/talkd.h>`) exchanges fixed-size messages
//! between a talk client and a talk daemon:
//!
//! ```text
//! CTL_MSG (84 bytes, client -> daemon)      CTL_RESPONSE (24 bytes, daemon -> client)
//!  0 vers (1)  1 type  2 answer  3 pad       0 vers  1 type  2 answer  3 pad
//!  4 id_num                                  4 id_num
//!  8 addr      (osockaddr, 16 bytes)         8 addr  (osockaddr, 16 bytes)
//! 24 ctl_addr  (osockaddr, 16 bytes)
//! 40 pid   44 l_name[12]  56 r_name[12]  68 r_tty[16]
//! osockaddr: family (2 = AF_INET; network or host order), port (BE), IPv4 address, 8 zero
//! ```
//!
//! Pinholes, all bounded by the conversation's cap:
//! * `ANNOUNCE` (type 3) carries the caller's TCP listening address in `addr`: the invitee
//!   connects to it from the daemon's host: expect TCP from the daemon's address, any port,
//!   to that address and port.
//! * `ctl_addr` is where the daemon sends its response; when it is not the request's source
//!   expect UDP from the daemon's address and port to it.
//! * A successful `LOOK_UP` (type 1) response carries the inviter's TCP address on the
//!   daemon's side: expect TCP from the client's address, any port, to it.
//!
//! Addresses must be their sender's own unless loose. The old (4.2BSD, port 517) talk
//! format has no version byte and is not parsed (counted as malformed).

use core::net::{IpAddr, Ipv4Addr, SocketAddrV4};

use crate::common::{core_timers, delegate_core, Alg, Core};
use crate::kind::AlgKind;
use crate::parse::{be16, Parse};
use crate::types::{
    Actions, AlgConfig, AppHint, FlowCtx, ParseErrorKind, Proto, RewriteKind, Side,
};

/// The ntalk protocol version.
pub const TALK_VERSION: u8 = 1;
/// CTL_MSG length.
pub const CTL_MSG_LEN: usize = 84;
/// CTL_RESPONSE length.
pub const CTL_RESPONSE_LEN: usize = 24;
/// Message type LOOK_UP.
pub const LOOK_UP: u8 = 1;
/// Message type ANNOUNCE.
pub const ANNOUNCE: u8 = 3;
/// Answer SUCCESS.
pub const SUCCESS: u8 = 0;

/// A talk control message or response (the fields the ALG uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtlMsg {
    /// Message type (LEAVE_INVITE 0, LOOK_UP 1, DELETE 2, ANNOUNCE 3).
    pub msg_type: u8,
    /// Answer code (responses).
    pub answer: u8,
    /// `addr`: the TCP conversation address, if set.
    pub addr: Option<SocketAddrV4>,
    /// `ctl_addr`: where responses go (requests only), if set.
    pub ctl_addr: Option<SocketAddrV4>,
}

/// Reads an `osockaddr` at `off`: `Ok(None)` when unset (all zero), `Err` for a family
/// other than AF_INET.
fn sockaddr(b: &[u8], off: usize) -> Result<Option<SocketAddrV4>, ()> {
    let s = b.get(off..off + 16).ok_or(())?;
    if s.iter().all(|&x| x == 0) {
        return Ok(None);
    }
    let fam = be16(s, 0).ok_or(())?;
    if fam != 2 && fam != 0x0200 {
        return Err(());
    }
    let port = be16(s, 2).ok_or(())?;
    let a = s.get(4..8).ok_or(())?;
    let ip = Ipv4Addr::new(
        a.first().copied().unwrap_or(0),
        a.get(1).copied().unwrap_or(0),
        a.get(2).copied().unwrap_or(0),
        a.get(3).copied().unwrap_or(0),
    );
    Ok(Some(SocketAddrV4::new(ip, port)))
}

/// Parses a CTL_MSG (`response` false, at least 84 bytes) or a CTL_RESPONSE (`response`
/// true, at least 24 bytes). The range covers `addr`. [`Parse::Partial`] when short,
/// [`Parse::NoMatch`] for another version or a non-AF_INET address.
#[must_use]
pub fn parse(b: &[u8], response: bool) -> Parse<CtlMsg> {
    let min = if response {
        CTL_RESPONSE_LEN
    } else {
        CTL_MSG_LEN
    };
    if b.len() < min {
        return Parse::Partial;
    }
    let (Some(&vers), Some(&msg_type), Some(&answer)) = (b.first(), b.get(1), b.get(2)) else {
        return Parse::Partial;
    };
    if vers != TALK_VERSION || msg_type > ANNOUNCE {
        return Parse::NoMatch;
    }
    let Ok(addr) = sockaddr(b, 8) else {
        return Parse::NoMatch;
    };
    let ctl_addr = if response {
        None
    } else {
        match sockaddr(b, 24) {
            Ok(a) => a,
            Err(()) => return Parse::NoMatch,
        }
    };
    Parse::Found(
        CtlMsg {
            msg_type,
            answer,
            addr,
            ctl_addr,
        },
        8..24,
    )
}

/// The talk ALG for one client-daemon control flow.
#[derive(Debug, Clone)]
pub struct Talk {
    core: Core,
}

impl Talk {
    /// A talk ALG for the control flow `ctx` (initiator = talk client, responder = daemon).
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> Talk {
        Talk {
            core: Core::new(cfg, ctx),
        }
    }
}

/// Opens a TCP conversation pinhole to `a` announced by `side`.
fn conversation(c: &mut Core, now_ms: u64, side: Side, a: SocketAddrV4, out: &mut Actions) {
    let addr = IpAddr::V4(*a.ip());
    let Some(port) = c.check_port(out, u32::from(a.port())) else {
        return;
    };
    if !c.check_addr(out, side, addr) {
        return;
    }
    let opener = c.ctx.addr(side.peer());
    let e = c.expectation(
        Proto::TCP,
        Some(opener),
        addr,
        Some(port),
        AppHint::TalkData,
        true,
    );
    if c.expect(now_ms, out, e) {
        c.rewrite(
            out,
            side,
            8..24,
            RewriteKind::TalkSockaddr,
            Some(addr),
            port,
        );
    }
}

impl Alg for Talk {
    fn kind(&self) -> AlgKind {
        AlgKind::Talk
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        let c = &mut self.core;
        if !c.begin(seq, payload, out) {
            return;
        }
        let m = match parse(payload, side == Side::Responder) {
            Parse::Found(m, _) => m,
            Parse::Partial | Parse::NoMatch => {
                c.error(out, ParseErrorKind::Malformed);
                return;
            }
        };
        match side {
            Side::Initiator => {
                c.counters.requests += 1;
                if m.msg_type == ANNOUNCE {
                    if let Some(a) = m.addr {
                        conversation(c, now_ms, side, a, out);
                    }
                }
                let src = c.ctx.initiator;
                if let Some(ctl) = m.ctl_addr {
                    let ip = IpAddr::V4(*ctl.ip());
                    let same = ip == src.ip() && ctl.port() == src.port();
                    if same {
                        // The request's own source: nothing to expect, but a NAT writes
                        // the source it gives the request there.
                        let kind = RewriteKind::TalkSockaddr;
                        c.rewrite(out, side, 24..40, kind, Some(ip), ctl.port());
                    }
                    if !same && c.check_addr(out, side, ip) {
                        if let Some(port) = c.check_port(out, u32::from(ctl.port())) {
                            let daemon = c.ctx.responder;
                            let mut e = c.expectation(
                                Proto::UDP,
                                Some(daemon.ip()),
                                ip,
                                Some(port),
                                AppHint::TalkControl,
                                true,
                            );
                            e.src_port = Some(daemon.port());
                            if c.expect(now_ms, out, e) {
                                let kind = RewriteKind::TalkSockaddr;
                                c.rewrite(out, side, 24..40, kind, Some(ip), port);
                            }
                        }
                    }
                }
            }
            Side::Responder => {
                c.counters.replies += 1;
                if m.msg_type == LOOK_UP && m.answer == SUCCESS {
                    if let Some(a) = m.addr {
                        conversation(c, now_ms, side, a, out);
                    }
                }
            }
        }
    }

    core_timers!();

    fn sync_seq(&mut self, _side: Side, _next_seq: u32) {}

    delegate_core!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::Action;

    fn osa(ip: [u8; 4], port: u16) -> [u8; 16] {
        let mut s = [0u8; 16];
        s[0..2].copy_from_slice(&2u16.to_be_bytes());
        s[2..4].copy_from_slice(&port.to_be_bytes());
        s[4..8].copy_from_slice(&ip);
        s
    }

    fn msg(t: u8, addr: [u8; 16], ctl: [u8; 16]) -> Vec<u8> {
        let mut m = vec![1, t, 0, 0, 0, 0, 0, 7];
        m.extend_from_slice(&addr);
        m.extend_from_slice(&ctl);
        m.extend_from_slice(&4242u32.to_be_bytes());
        let mut name = [0u8; 12];
        name[..5].copy_from_slice(b"alice");
        m.extend_from_slice(&name);
        name = [0; 12];
        name[..3].copy_from_slice(b"bob");
        m.extend_from_slice(&name);
        m.extend_from_slice(&[0u8; 16]);
        assert_eq!(m.len(), CTL_MSG_LEN);
        m
    }

    fn resp(t: u8, answer: u8, addr: [u8; 16]) -> Vec<u8> {
        let mut m = vec![1, t, answer, 0, 0, 0, 0, 7];
        m.extend_from_slice(&addr);
        m
    }

    fn alg() -> Talk {
        Talk::new(
            AlgConfig::default_for(AlgKind::Talk),
            ctx(Proto::UDP, "192.0.2.10:40001", "198.51.100.20:518"),
        )
    }

    fn run(a: &mut Talk, side: Side, p: &[u8]) -> Actions {
        let mut out = Actions::new();
        a.on_data(0, side, None, p, &mut out);
        out
    }

    #[test]
    fn announce_opens_conversation() {
        let mut a = alg();
        let out = run(
            &mut a,
            Side::Initiator,
            &msg(
                ANNOUNCE,
                osa([192, 0, 2, 10], 40100),
                osa([192, 0, 2, 10], 40001),
            ),
        );
        let e = exps(&out);
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].proto, e[0].src, e[0].dst, e[0].dst_port),
            (
                Proto::TCP,
                Some(ip("198.51.100.20")),
                ip("192.0.2.10"),
                Some(40100)
            )
        );
        assert!(acts(&out)
            .iter()
            .any(|x| matches!(x, Action::Rewrite { range, .. } if *range == (8..24))));
    }

    #[test]
    fn lookup_response_and_ctl_addr() {
        let mut a = alg();
        // LOOK_UP with responses to another local port: a UDP pinhole for the response.
        let out = run(
            &mut a,
            Side::Initiator,
            &msg(
                LOOK_UP,
                osa([192, 0, 2, 10], 40100),
                osa([192, 0, 2, 10], 40002),
            ),
        );
        let e = exps(&out);
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].proto, e[0].src_port, e[0].dst_port),
            (Proto::UDP, Some(518), Some(40002))
        );
        let out = run(
            &mut a,
            Side::Responder,
            &resp(LOOK_UP, SUCCESS, osa([198, 51, 100, 20], 40200)),
        );
        let e = exps(&out);
        assert_eq!(
            (e[0].proto, e[0].src, e[0].dst, e[0].dst_port),
            (
                Proto::TCP,
                Some(ip("192.0.2.10")),
                ip("198.51.100.20"),
                Some(40200)
            )
        );
        // Unsuccessful lookup: nothing.
        assert!(run(
            &mut a,
            Side::Responder,
            &resp(LOOK_UP, 1, osa([198, 51, 100, 20], 1))
        )
        .is_empty());
        // Host byte-order family is accepted too.
        let mut le = osa([198, 51, 100, 20], 40300);
        le[0..2].copy_from_slice(&[2, 0]);
        assert_eq!(
            exps(&run(&mut a, Side::Responder, &resp(LOOK_UP, SUCCESS, le)))[0].dst_port,
            Some(40300)
        );
    }

    #[test]
    fn hostile_messages() {
        let mut a = alg();
        // Another host's address.
        let out = run(
            &mut a,
            Side::Initiator,
            &msg(ANNOUNCE, osa([203, 0, 113, 9], 40100), [0; 16]),
        );
        assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
        // Port 0.
        let out = run(
            &mut a,
            Side::Initiator,
            &msg(ANNOUNCE, osa([192, 0, 2, 10], 0), [0; 16]),
        );
        assert_eq!(errs(&out), vec![ParseErrorKind::BadPort]);
        // Truncated, wrong version, wrong family, unknown type.
        assert_eq!(
            errs(&run(
                &mut a,
                Side::Initiator,
                &msg(ANNOUNCE, [0; 16], [0; 16])[..40]
            )),
            vec![ParseErrorKind::Malformed]
        );
        let mut v0 = msg(ANNOUNCE, [0; 16], [0; 16]);
        v0[0] = 0;
        assert_eq!(
            errs(&run(&mut a, Side::Initiator, &v0)),
            vec![ParseErrorKind::Malformed]
        );
        let mut fam = osa([192, 0, 2, 10], 5);
        fam[1] = 10;
        assert_eq!(
            errs(&run(&mut a, Side::Initiator, &msg(ANNOUNCE, fam, [0; 16]))),
            vec![ParseErrorKind::Malformed]
        );
        assert_eq!(
            errs(&run(&mut a, Side::Responder, &resp(9, 0, [0; 16]))),
            vec![ParseErrorKind::Malformed]
        );
        assert_eq!(a.counters().pinholes, 0);
    }
}
