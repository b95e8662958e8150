//! rsh (`shell`, tcp 514), rexec (`exec`, tcp 512) and rlogin (`login`, tcp 513).
//!
//! rsh and rexec clients (BSD `rcmd`/`rexec`) start the connection with the stderr port in
//! ASCII decimal followed by NUL: "1023\0". The server then connects *back* from a reserved
//! port (rshd binds 512-1023; rexecd any port) to the client's address and that port, and
//! the rest of the exchange (user names, command) is ordinary data. An empty field ("\0")
//! means no stderr channel. So: parse the first field, expect TCP from the server's address
//! (any source port: an [`Expectation`](crate::Expectation) cannot express 512-1023) to the
//! client's address and the port, one-shot, then hand the parent back to the worker
//! ([`ParentState::Forward`]).
//!
//! rlogin sends "\0locuser\0remuser\0term/speed\0" and has no secondary connection: the
//! ALG opens nothing and forwards the parent at once.

use crate::common::{abs_range, core_timers, delegate_core, Alg, Core};
use crate::kind::AlgKind;
use crate::parse::{dec, Parse};
use crate::stream::{Framing, StreamBuf};
use crate::types::{
    Action, Actions, AlgConfig, AppHint, FlowCtx, ParentState, ParseErrorKind, Proto, RewriteKind,
    Side,
};

/// The longest stderr-port field accepted, NUL included ("65535\0").
pub const MAX_FIELD: usize = 6;

/// Parses the first field: `Found(Some(port))` (not range-checked), `Found(None)` for the
/// empty field (no stderr channel); the range covers the digits. [`Parse::NoMatch`] for
/// non-digits or more than five digits; [`Parse::Partial`] before the NUL.
#[must_use]
pub fn parse_stderr_port(b: &[u8]) -> Parse<Option<u32>> {
    let Some(nul) = b.iter().position(|&x| x == 0) else {
        return if b.len() < MAX_FIELD && b.iter().all(u8::is_ascii_digit) {
            Parse::Partial
        } else {
            Parse::NoMatch
        };
    };
    if nul == 0 {
        return Parse::Found(None, 0..0);
    }
    match dec(b, u32::MAX) {
        Some((p, n)) if n == nul && n < MAX_FIELD => Parse::Found(Some(p), 0..n),
        _ => Parse::NoMatch,
    }
}

/// The rsh / rexec / rlogin ALG for one connection.
#[derive(Debug, Clone)]
pub struct Rsh {
    core: Core,
    kind: AlgKind,
    buf: StreamBuf<8>,
    done: bool,
}

impl Rsh {
    /// An ALG for the connection `ctx`; `kind` is [`AlgKind::Rsh`], [`AlgKind::Rexec`] or
    /// [`AlgKind::Rlogin`] (any other kind behaves as rsh).
    #[must_use]
    pub fn new(kind: AlgKind, cfg: AlgConfig, ctx: FlowCtx) -> Rsh {
        let kind = match kind {
            AlgKind::Rexec | AlgKind::Rlogin => kind,
            _ => AlgKind::Rsh,
        };
        Rsh {
            core: Core::new(cfg, ctx),
            kind,
            buf: StreamBuf::new(Framing::Messages),
            done: false,
        }
    }
}

impl Alg for Rsh {
    fn kind(&self) -> AlgKind {
        self.kind
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        if self.done || !self.core.begin(seq, payload, out) {
            return;
        }
        let Some(seq) = seq else { return };
        if self.kind == AlgKind::Rlogin {
            self.done = true;
            self.core
                .push(out, Action::ParentState(ParentState::Forward));
            return;
        }
        if side != Side::Initiator {
            return;
        }
        let Rsh {
            core, buf, done, ..
        } = self;
        let f = buf.feed(seq, payload, |b, base| {
            if *done {
                return b.len();
            }
            let (port, range) = match parse_stderr_port(b) {
                Parse::Partial => return 0,
                Parse::NoMatch => {
                    core.error(out, ParseErrorKind::Malformed);
                    *done = true;
                    return b.len();
                }
                Parse::Found(p, r) => (p, r),
            };
            *done = true;
            core.counters.requests += 1;
            if let Some(port) = port.and_then(|p| core.check_port(out, p)) {
                let client = core.ctx.initiator.ip();
                let server = core.ctx.responder.ip();
                let e = core.expectation(
                    Proto::TCP,
                    Some(server),
                    client,
                    Some(port),
                    AppHint::RshStderr,
                    true,
                );
                if core.expect(now_ms, out, e) {
                    let r = abs_range(base, &range);
                    core.rewrite(out, side, r, RewriteKind::RshPort, None, port);
                }
            }
            b.len()
        });
        core.account(&f, out);
        if *done {
            core.push(out, Action::ParentState(ParentState::Forward));
        }
    }

    core_timers!();

    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        if side == Side::Initiator {
            self.buf.sync(next_seq);
        }
    }

    delegate_core!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use crate::Expectation;

    fn alg(kind: AlgKind) -> Rsh {
        Rsh::new(
            kind,
            AlgConfig::default_for(kind),
            ctx(Proto::TCP, "192.0.2.10:1022", "198.51.100.20:514"),
        )
    }

    fn run(a: &mut Rsh, side: Side, seq: u32, p: &[u8]) -> Actions {
        let mut out = Actions::new();
        a.on_data(0, side, Some(seq), p, &mut out);
        out
    }

    const FWD: Action = Action::ParentState(ParentState::Forward);

    #[test]
    fn parser() {
        assert_eq!(
            parse_stderr_port(b"1021\0root\0"),
            Parse::Found(Some(1021), 0..4)
        );
        assert_eq!(parse_stderr_port(b"\0root\0"), Parse::Found(None, 0..0));
        assert_eq!(parse_stderr_port(b"10"), Parse::Partial);
        assert_eq!(parse_stderr_port(b"123456"), Parse::NoMatch);
        assert_eq!(parse_stderr_port(b"123456\0"), Parse::NoMatch);
        assert_eq!(parse_stderr_port(b"1a\0"), Parse::NoMatch);
        assert_eq!(parse_stderr_port(b"root"), Parse::NoMatch);
    }

    #[test]
    fn rsh_stderr_channel_split() {
        let mut a = alg(AlgKind::Rsh);
        assert!(run(&mut a, Side::Initiator, 10, b"10").is_empty());
        let out = run(
            &mut a,
            Side::Initiator,
            12,
            b"21\0root\0root\0ls -l /nonexistent\0",
        );
        assert_eq!(
            exps(&out),
            vec![Expectation {
                proto: Proto::TCP,
                src: Some(ip("198.51.100.20")),
                src_port: None,
                dst: ip("192.0.2.10"),
                dst_port: Some(1021),
                timeout_ms: 30_000,
                child_app: AppHint::RshStderr,
                one_shot: true,
                quoted: None,
                tag: 0,
            }]
        );
        assert!(acts(&out).contains(&Action::Rewrite {
            side: Side::Initiator,
            range: 10..14,
            kind: RewriteKind::RshPort,
            addr: None,
            port: 1021
        }));
        assert_eq!(acts(&out).last(), Some(&FWD));
        // Later data is not parsed.
        assert!(run(&mut a, Side::Initiator, 45, b"999\0").is_empty());
    }

    #[test]
    fn no_stderr_and_rexec() {
        let mut a = alg(AlgKind::Rsh);
        assert_eq!(
            acts(&run(&mut a, Side::Initiator, 1, b"\0root\0root\0id\0")),
            vec![FWD]
        );
        let mut a = alg(AlgKind::Rexec);
        assert_eq!(a.kind(), AlgKind::Rexec);
        let out = run(&mut a, Side::Initiator, 1, b"1023\0user\0pass\0id\0");
        assert_eq!(exps(&out)[0].dst_port, Some(1023));
    }

    #[test]
    fn rlogin_opens_nothing() {
        let mut a = alg(AlgKind::Rlogin);
        assert_eq!(
            acts(&run(
                &mut a,
                Side::Initiator,
                1,
                b"\0root\0root\0xterm/38400\0"
            )),
            vec![FWD]
        );
        assert_eq!(a.counters().pinholes, 0);
    }

    #[test]
    fn hostile_fields() {
        let mut a = alg(AlgKind::Rsh);
        assert_eq!(
            acts(&run(&mut a, Side::Initiator, 1, b"0\0r\0")),
            vec![Action::ParseError(ParseErrorKind::BadPort), FWD]
        );
        let mut a = alg(AlgKind::Rsh);
        assert_eq!(
            errs(&run(&mut a, Side::Initiator, 1, b"99999\0")),
            vec![ParseErrorKind::BadPort]
        );
        let mut a = alg(AlgKind::Rsh);
        assert_eq!(
            errs(&run(&mut a, Side::Initiator, 1, b"1234567890\0")),
            vec![ParseErrorKind::Malformed]
        );
        let mut a = alg(AlgKind::Rsh);
        assert_eq!(
            errs(&run(&mut a, Side::Initiator, 1, b"-1\0")),
            vec![ParseErrorKind::Malformed]
        );
        // Server data before the client's field is ignored.
        let mut a = alg(AlgKind::Rsh);
        assert!(run(&mut a, Side::Responder, 1, b"\0").is_empty());
    }
}
