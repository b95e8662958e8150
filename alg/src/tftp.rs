//! TFTP (RFC 1350, options RFC 2347): a read or write request opens the transfer.
//!
//! The client sends `RRQ` (opcode 1) or `WRQ` (opcode 2) — `filename\0mode\0` followed by
//! optional `option\0value\0` pairs — to the server's port 69. The server answers from a
//! *new* port, so the transfer is a new flow: expect UDP from the server's address, any
//! source port, to the client's address and request port, one-shot. A retransmitted
//! request while the pinhole is outstanding opens nothing new.

use crate::common::{core_timers, delegate_core, Alg, Core};
use crate::kind::AlgKind;
use crate::parse::{be16, Parse};
use crate::types::{Actions, AlgConfig, AppHint, FlowCtx, ParseErrorKind, Proto, Side};

/// The longest request accepted (RFC 1350 packets are at most 512 bytes; options may add).
pub const MAX_REQUEST: usize = 1024;

/// A parsed read or write request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// True for a write request (WRQ), false for a read request (RRQ).
    pub write: bool,
    /// The number of option pairs after the mode.
    pub options: usize,
}

/// The mode names of RFC 1350 (case-insensitive).
const MODES: [&[u8]; 3] = [b"netascii", b"octet", b"mail"];

/// Parses an RRQ/WRQ datagram. The range covers the filename. [`Parse::NoMatch`] for any
/// other opcode or a malformed request (empty filename, unknown mode, unterminated field,
/// odd option list, oversized).
#[must_use]
pub fn parse_request(p: &[u8]) -> Parse<Request> {
    let write = match be16(p, 0) {
        Some(1) => false,
        Some(2) => true,
        Some(_) => return Parse::NoMatch,
        None => return Parse::Partial,
    };
    if p.len() > MAX_REQUEST {
        return Parse::NoMatch;
    }
    let body = p.get(2..).unwrap_or(&[]);
    // Every field ends in NUL: strip the last one and split the rest.
    let Some((&0, fields)) = body.split_last() else {
        return Parse::NoMatch;
    };
    let mut fields = fields.split(|&b| b == 0);
    let filename = fields.next().unwrap_or(&[]);
    if filename.is_empty() {
        return Parse::NoMatch;
    }
    let mode = fields.next().unwrap_or(&[]);
    if !MODES.iter().any(|m| m.eq_ignore_ascii_case(mode)) {
        return Parse::NoMatch;
    }
    let mut rest = 0usize;
    for f in fields {
        // Option names (even positions) must not be empty.
        if f.is_empty() && rest & 1 == 0 {
            return Parse::NoMatch;
        }
        rest += 1;
    }
    if rest & 1 != 0 {
        return Parse::NoMatch;
    }
    Parse::Found(
        Request {
            write,
            options: rest / 2,
        },
        2..2 + filename.len(),
    )
}

/// The TFTP ALG for one request flow.
#[derive(Debug, Clone)]
pub struct Tftp {
    core: Core,
}

impl Tftp {
    /// A TFTP ALG for the request flow `ctx` (initiator = client).
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> Tftp {
        Tftp {
            core: Core::new(cfg, ctx),
        }
    }
}

impl Alg for Tftp {
    fn kind(&self) -> AlgKind {
        AlgKind::Tftp
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
        if !c.begin(seq, payload, out) || side != Side::Initiator {
            return;
        }
        match parse_request(payload) {
            Parse::Found(_, _) => {
                c.counters.requests += 1;
                let Some(port) = c.check_port(out, u32::from(c.ctx.initiator.port())) else {
                    return;
                };
                let e = c.expectation(
                    Proto::UDP,
                    Some(c.ctx.responder.ip()),
                    c.ctx.initiator.ip(),
                    Some(port),
                    AppHint::TftpData,
                    true,
                );
                c.expect(now_ms, out, e);
            }
            Parse::NoMatch | Parse::Partial => c.error(out, ParseErrorKind::Malformed),
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
    use crate::Expectation;

    fn tftp(cli: &str) -> Tftp {
        Tftp::new(
            AlgConfig::default_for(AlgKind::Tftp),
            ctx(Proto::UDP, cli, "198.51.100.20:69"),
        )
    }

    fn run(a: &mut Tftp, p: &[u8]) -> Actions {
        let mut out = Actions::new();
        a.on_data(5, Side::Initiator, None, p, &mut out);
        out
    }

    /// RRQ "hello.txt" octet, as tftp-hpa sends it, with the blksize/tsize options.
    const RRQ_OPTS: &[u8] = b"\x00\x01hello.txt\x00octet\x00blksize\x001468\x00tsize\x000\x00";

    #[test]
    fn parse_forms() {
        assert_eq!(
            parse_request(b"\x00\x01hello.txt\x00netascii\x00"),
            Parse::Found(
                Request {
                    write: false,
                    options: 0
                },
                2..11
            )
        );
        assert_eq!(
            parse_request(RRQ_OPTS),
            Parse::Found(
                Request {
                    write: false,
                    options: 2
                },
                2..11
            )
        );
        assert_eq!(
            parse_request(b"\x00\x02up.bin\x00OCTET\x00"),
            Parse::Found(
                Request {
                    write: true,
                    options: 0
                },
                2..8
            )
        );
        assert_eq!(parse_request(b"\x00"), Parse::Partial);
        assert_eq!(parse_request(b"\x00\x03\x00\x01data"), Parse::NoMatch);
        assert_eq!(
            parse_request(b"\x00\x01\x00octet\x00"),
            Parse::NoMatch,
            "empty filename"
        );
        assert_eq!(
            parse_request(b"\x00\x01f\x00binary\x00"),
            Parse::NoMatch,
            "bad mode"
        );
        assert_eq!(
            parse_request(b"\x00\x01f\x00octet"),
            Parse::NoMatch,
            "unterminated"
        );
        assert_eq!(
            parse_request(b"\x00\x01f\x00octet\x00blksize\x00"),
            Parse::NoMatch
        );
        let mut big = b"\x00\x01".to_vec();
        big.extend(vec![b'a'; 2000]);
        big.extend_from_slice(b"\x00octet\x00");
        assert_eq!(parse_request(&big), Parse::NoMatch);
    }

    #[test]
    fn rrq_opens_server_new_port() {
        let mut a = tftp("192.0.2.10:51000");
        let out = run(&mut a, RRQ_OPTS);
        assert_eq!(
            exps(&out),
            vec![Expectation {
                proto: Proto::UDP,
                src: Some(ip("198.51.100.20")),
                src_port: None,
                dst: ip("192.0.2.10"),
                dst_port: Some(51000),
                timeout_ms: 10_000,
                child_app: AppHint::TftpData,
                one_shot: true,
                quoted: None,
                tag: 0,
            }]
        );
        // A retransmitted request opens nothing new.
        assert!(run(&mut a, RRQ_OPTS).is_empty());
        assert_eq!(a.counters().pinholes, 1);
        assert_eq!(a.counters().requests, 2);
        // Responder traffic (an error from 69) is only counted.
        let mut out = Actions::new();
        a.on_data(
            6,
            Side::Responder,
            None,
            b"\x00\x05\x00\x01nope\x00",
            &mut out,
        );
        assert!(out.is_empty());
    }

    #[test]
    fn hostile_requests() {
        let mut a = tftp("192.0.2.10:0");
        assert_eq!(
            errs(&run(&mut a, b"\x00\x02f\x00octet\x00")),
            vec![ParseErrorKind::BadPort]
        );
        let mut a = tftp("192.0.2.10:51000");
        assert_eq!(
            errs(&run(&mut a, b"\x00\x01f\x00")),
            vec![ParseErrorKind::Malformed]
        );
        assert_eq!(errs(&run(&mut a, b"\x00")), vec![ParseErrorKind::Malformed]);
        let mut out = Actions::new();
        a.on_data(0, Side::Initiator, Some(1), RRQ_OPTS, &mut out);
        assert_eq!(errs(&out), vec![ParseErrorKind::BadSequence]);
        assert_eq!(a.counters().parse_errors, 3);
    }
}
