//! FTP (RFC 959, RFC 2428): PORT, EPRT, 227 (PASV reply), 229 (EPSV reply).
//!
//! Lines are reassembled per direction and parsed only at line starts, like
//! `nf_conntrack_ftp`: the client's commands (`PORT`, `EPRT`) on the initiator side, the
//! server's replies (`227`, `229`) on the responder side.
//!
//! * Active (`PORT h1,h2,h3,h4,p1,p2`, `EPRT |1|a.b.c.d|port|`, `EPRT |2|v6|port|`): expect TCP
//!   from the server's address, any source port (servers use 20 or an ephemeral port), to
//!   the announced address and port.
//! * Passive (`227 ... (h1,h2,h3,h4,p1,p2)`, with or without parentheses or with `=`;
//!   `229 ... (|||port|)`): expect TCP from the client's address, any port, to the server's
//!   announced address (227) or the control connection's server address (229) and port.
//!
//! An announced address that is not the announcing end's own address (a third-party
//! transfer, FTP bounce) is refused with [`ParseErrorKind::ThirdPartyAddress`] and nothing
//! is opened, unless [`AlgConfig::loose_ftp`]. Port 0, ports beyond 65535, numbers beyond 255
//! and unspecified/multicast addresses are refused. Each accepted command also reports the
//! address/port text's sequence range as an [`Action::Rewrite`](crate::Action::Rewrite) for a future NAT.

use core::net::IpAddr;
use core::ops::Range;

use crate::common::{abs_range, core_timers, delegate_core, Alg, Core};
use crate::kind::AlgKind;
use crate::parse::{comma_addr_port, dec, ip_text, is_prefix_ci, starts_with_ci, Parse};
use crate::stream::{for_each_line, Framing, StreamBuf};
use crate::types::{
    Actions, AlgConfig, AppHint, FlowCtx, ParseErrorKind, Proto, RewriteKind, Side,
};

/// An address (or only a port, for 229) and port announced in an FTP line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FtpAddr {
    /// The announced address; `None` for 229, which announces a port only.
    pub addr: Option<IpAddr>,
    /// The announced port, not yet range-checked (may be 0 or above 65535).
    pub port: u32,
}

/// Skips spaces after a command word.
fn after_spaces(line: &[u8], from: usize) -> usize {
    let mut i = from;
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// True when the line has its terminating `\n`.
fn complete(line: &[u8]) -> bool {
    line.last() == Some(&b'\n')
}

/// `PORT h1,h2,h3,h4,p1,p2` (case-insensitive). The range covers the six numbers.
/// [`Parse::NoMatch`] for another command or a malformed argument on a complete line.
#[must_use]
pub fn parse_port(line: &[u8]) -> Parse<FtpAddr> {
    if is_prefix_ci(line, b"PORT ") {
        return Parse::Partial;
    }
    if !starts_with_ci(line, b"PORT ") {
        return Parse::NoMatch;
    }
    let start = after_spaces(line, 5);
    match comma_addr_port(line.get(start..).unwrap_or(&[])) {
        Ok(Some((a, port, len))) => {
            let end = start + len;
            match line.get(end) {
                Some(b'\r' | b'\n' | b' ') => Parse::Found(
                    FtpAddr {
                        addr: Some(IpAddr::V4(a)),
                        port,
                    },
                    start..end,
                ),
                _ => Parse::NoMatch,
            }
        }
        Ok(None) if !complete(line) => Parse::Partial,
        _ => Parse::NoMatch,
    }
}

/// `EPRT <d><af><d><addr><d><port><d>` (RFC 2428; `d` any printable non-digit, af 1 = IPv4,
/// 2 = IPv6). The range covers the whole argument from the first delimiter to the last.
#[must_use]
pub fn parse_eprt(line: &[u8]) -> Parse<FtpAddr> {
    if is_prefix_ci(line, b"EPRT ") {
        return Parse::Partial;
    }
    if !starts_with_ci(line, b"EPRT ") {
        return Parse::NoMatch;
    }
    let start = after_spaces(line, 5);
    let Some(&d) = line.get(start) else {
        return Parse::Partial;
    };
    if !(33..=126).contains(&d) || d.is_ascii_digit() {
        return Parse::NoMatch;
    }
    // Fields between delimiters: af, addr, port.
    let mut fields: [Range<usize>; 3] = [0..0, 0..0, 0..0];
    let mut pos = start + 1;
    for f in &mut fields {
        let rest = line.get(pos..).unwrap_or(&[]);
        match rest.iter().position(|&b| b == d || b == b'\n') {
            Some(i) if rest.get(i) == Some(&d) => {
                *f = pos..pos + i;
                pos += i + 1;
            }
            Some(_) => return Parse::NoMatch,
            None if rest.len() > 64 => return Parse::NoMatch,
            None => return Parse::Partial,
        }
    }
    let [af, addr, port] = fields;
    let af = line.get(af).unwrap_or(&[]);
    let Some(addr) = ip_text(line.get(addr).unwrap_or(&[])) else {
        return Parse::NoMatch;
    };
    let family_ok = match af {
        b"1" => addr.is_ipv4(),
        b"2" => addr.is_ipv6(),
        _ => false,
    };
    let port_text = line.get(port).unwrap_or(&[]);
    let port = match dec(port_text, u32::MAX) {
        Some((p, n)) if n == port_text.len() => p,
        _ => return Parse::NoMatch,
    };
    if !family_ok {
        return Parse::NoMatch;
    }
    Parse::Found(
        FtpAddr {
            addr: Some(addr),
            port,
        },
        start..pos,
    )
}

/// `227 <text>h1,h2,h3,h4,p1,p2<text>`: the first run of six comma-separated numbers after
/// the code, with or without parentheses ("227 Entering Passive Mode (h1,...,p2).",
/// "227 Entering Passive Mode h1,...,p2", "227 =h1,...,p2"). The range covers the numbers.
#[must_use]
pub fn parse_227(line: &[u8]) -> Parse<FtpAddr> {
    if is_prefix_ci(line, b"227 ") {
        return Parse::Partial;
    }
    if !line.starts_with(b"227 ") {
        return Parse::NoMatch;
    }
    let mut i = 4;
    while let Some(&b) = line.get(i) {
        if b.is_ascii_digit() {
            return match comma_addr_port(line.get(i..).unwrap_or(&[])) {
                Ok(Some((a, port, len))) => Parse::Found(
                    FtpAddr {
                        addr: Some(IpAddr::V4(a)),
                        port,
                    },
                    i..i + len,
                ),
                Ok(None) if !complete(line) => Parse::Partial,
                _ => Parse::NoMatch,
            };
        }
        if b == b'\n' {
            return Parse::NoMatch;
        }
        i += 1;
    }
    Parse::Partial
}

/// `229 <text>(<d><d><d>port<d>)`: the extended passive reply; the range covers the port
/// digits. Also accepted without parentheses (the first `|||`-style triple delimiter).
#[must_use]
pub fn parse_229(line: &[u8]) -> Parse<FtpAddr> {
    if is_prefix_ci(line, b"229 ") {
        return Parse::Partial;
    }
    if !line.starts_with(b"229 ") {
        return Parse::NoMatch;
    }
    let body = line.get(4..).unwrap_or(&[]);
    // The delimiter triple starts after '(' or at the first "ddd" of a printable non-digit.
    let open = body
        .iter()
        .position(|&b| b == b'(')
        .map(|i| i + 1)
        .or_else(|| {
            body.windows(3).position(|w| {
                w.first().is_some_and(|&d| {
                    (33..=126).contains(&d) && !d.is_ascii_digit() && w.iter().all(|&x| x == d)
                })
            })
        });
    let Some(open) = open else {
        return if complete(line) {
            Parse::NoMatch
        } else {
            Parse::Partial
        };
    };
    let s = 4 + open;
    let (Some(&d), Some(&d2), Some(&d3)) = (line.get(s), line.get(s + 1), line.get(s + 2)) else {
        return if complete(line) {
            Parse::NoMatch
        } else {
            Parse::Partial
        };
    };
    if d != d2 || d != d3 || d.is_ascii_digit() || !(33..=126).contains(&d) {
        return Parse::NoMatch;
    }
    let ps = s + 3;
    match dec(line.get(ps..).unwrap_or(&[]), u32::MAX) {
        Some((port, n)) => match line.get(ps + n) {
            Some(&x) if x == d => Parse::Found(FtpAddr { addr: None, port }, ps..ps + n),
            None => Parse::Partial,
            Some(_) => Parse::NoMatch,
        },
        None if line.get(ps).is_none() => Parse::Partial,
        None => Parse::NoMatch,
    }
}

/// The FTP ALG for one control connection.
#[derive(Debug, Clone)]
pub struct Ftp {
    core: Core,
    client: StreamBuf,
    server: StreamBuf,
}

impl Ftp {
    /// An FTP ALG for the control connection `ctx` (initiator = client).
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> Ftp {
        Ftp {
            core: Core::new(cfg, ctx),
            client: StreamBuf::new(Framing::Lines),
            server: StreamBuf::new(Framing::Lines),
        }
    }
}

/// Which announcement a line carried.
#[derive(Clone, Copy)]
enum Cmd {
    Port,
    Eprt,
    Pasv227,
    Epsv229,
}

fn handle_line(core: &mut Core, now_ms: u64, side: Side, line: &[u8], seq: u32, out: &mut Actions) {
    let parsed = match side {
        Side::Initiator => {
            if starts_with_ci(line, b"PASV") || starts_with_ci(line, b"EPSV") {
                core.counters.requests += 1;
                return;
            }
            match parse_port(line) {
                Parse::NoMatch => (Cmd::Eprt, parse_eprt(line)),
                p => (Cmd::Port, p),
            }
        }
        Side::Responder => match parse_227(line) {
            Parse::NoMatch => (Cmd::Epsv229, parse_229(line)),
            p => (Cmd::Pasv227, p),
        },
    };
    let (cmd, parsed) = parsed;
    let (value, range) = match parsed {
        Parse::Found(v, r) => (v, r),
        // A complete line can only be Partial when its argument is cut short.
        Parse::Partial => {
            core.error(out, ParseErrorKind::Malformed);
            return;
        }
        Parse::NoMatch => {
            let keyword = match side {
                Side::Initiator => starts_with_ci(line, b"PORT") || starts_with_ci(line, b"EPRT"),
                Side::Responder => line.starts_with(b"227") || line.starts_with(b"229"),
            };
            if keyword {
                core.error(out, ParseErrorKind::Malformed);
            }
            return;
        }
    };
    match side {
        Side::Initiator => core.counters.requests += 1,
        Side::Responder => core.counters.replies += 1,
    }
    let Some(port) = core.check_port(out, value.port) else {
        return;
    };
    let addr = match value.addr {
        Some(a) => {
            if !core.check_addr(out, side, a) {
                return;
            }
            a
        }
        None => core.ctx.addr(side),
    };
    // The data connection is opened by the other end towards the announcer.
    let opener = core.ctx.addr(side.peer());
    let e = core.expectation(
        Proto::TCP,
        Some(opener),
        addr,
        Some(port),
        AppHint::FtpData,
        true,
    );
    if core.expect(now_ms, out, e) {
        let kind = match cmd {
            Cmd::Port | Cmd::Pasv227 => RewriteKind::FtpCommaAddrPort,
            Cmd::Eprt => RewriteKind::FtpEprt,
            Cmd::Epsv229 => RewriteKind::FtpEpsvPort,
        };
        core.rewrite(out, side, abs_range(seq, &range), kind, value.addr, port);
    }
}

impl Alg for Ftp {
    fn kind(&self) -> AlgKind {
        AlgKind::Ftp
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
        let Some(seq) = seq else { return };
        let core = &mut self.core;
        let buf = match side {
            Side::Initiator => &mut self.client,
            Side::Responder => &mut self.server,
        };
        let f = buf.feed(seq, payload, |b, base| {
            for_each_line(b, base, |line, lseq| {
                handle_line(core, now_ms, side, line, lseq, out)
            })
        });
        core.account(&f, out);
    }

    core_timers!();

    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        match side {
            Side::Initiator => self.client.sync(next_seq),
            Side::Responder => self.server.sync(next_seq),
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
    use crate::{Action, Expectation, ParentState};

    const CLI: &str = "192.0.2.10:40000";
    const SRV: &str = "198.51.100.20:21";

    fn ftp() -> Ftp {
        Ftp::new(
            AlgConfig::default_for(AlgKind::Ftp),
            ctx(Proto::TCP, CLI, SRV),
        )
    }

    fn loose() -> Ftp {
        let mut c = AlgConfig::default_for(AlgKind::Ftp);
        c.loose_ftp = true;
        Ftp::new(c, ctx(Proto::TCP, CLI, SRV))
    }

    fn data_exp(src: &str, dst: &str, port: u16) -> Expectation {
        Expectation {
            proto: Proto::TCP,
            src: Some(ip(src)),
            src_port: None,
            dst: ip(dst),
            dst_port: Some(port),
            timeout_ms: 30_000,
            child_app: AppHint::FtpData,
            one_shot: true,
            quoted: None,
            tag: 0,
        }
    }

    fn feed(a: &mut Ftp, side: Side, seq: u32, p: &[u8]) -> Actions {
        let mut out = Actions::new();
        a.on_data(1, side, Some(seq), p, &mut out);
        out
    }

    #[test]
    fn parsers_match_ranges() {
        let l = b"PORT 192,0,2,10,195,80\r\n";
        assert_eq!(
            parse_port(l),
            Parse::Found(
                FtpAddr {
                    addr: Some(ip("192.0.2.10")),
                    port: 50000
                },
                5..22
            )
        );
        assert_eq!(&l[5..22], b"192,0,2,10,195,80");
        assert!(parse_port(b"port 1,2,3,4,0,21\r\n").is_found());
        assert_eq!(parse_port(b"POR"), Parse::Partial);
        assert_eq!(parse_port(b"PORT 1,2,3"), Parse::Partial);
        assert_eq!(parse_port(b"PORT 1,2,3\r\n"), Parse::NoMatch);
        assert_eq!(parse_port(b"PASV\r\n"), Parse::NoMatch);
        assert_eq!(parse_port(b"PORT 1,2,3,4,5,6x\r\n"), Parse::NoMatch);

        let l = b"EPRT |2|2001:db8::10|50000|\r\n";
        assert_eq!(
            parse_eprt(l),
            Parse::Found(
                FtpAddr {
                    addr: Some(ip("2001:db8::10")),
                    port: 50000
                },
                5..27
            )
        );
        assert_eq!(&l[5..27], b"|2|2001:db8::10|50000|");
        assert!(parse_eprt(b"EPRT !1!192.0.2.10!6275!\r\n").is_found());
        assert_eq!(
            parse_eprt(b"EPRT |1|2001:db8::10|5|\r\n"),
            Parse::NoMatch,
            "af mismatch"
        );
        assert_eq!(parse_eprt(b"EPRT |3|192.0.2.1|5|\r\n"), Parse::NoMatch);
        assert_eq!(parse_eprt(b"EPRT |1|192.0.2.1|5x|\r\n"), Parse::NoMatch);
        assert_eq!(parse_eprt(b"EPRT |1|192.0.2.1|50"), Parse::Partial);
        assert_eq!(parse_eprt(b"EPRT |1|192.0.2.1\r\n"), Parse::NoMatch);

        for (l, r) in [
            (
                &b"227 Entering Passive Mode (198,51,100,20,195,81).\r\n"[..],
                27..47,
            ),
            (
                b"227 Entering Passive Mode 198,51,100,20,195,81\r\n",
                26..46,
            ),
            (b"227 =198,51,100,20,195,81\r\n", 5..25),
        ] {
            assert_eq!(
                parse_227(l),
                Parse::Found(
                    FtpAddr {
                        addr: Some(ip("198.51.100.20")),
                        port: 50001
                    },
                    r
                )
            );
        }
        assert_eq!(
            parse_227(b"227 Entering Passive Mode (198,51,100"),
            Parse::Partial
        );
        assert_eq!(parse_227(b"227 Entering Passive Mode\r\n"), Parse::NoMatch);
        assert_eq!(parse_227(b"200 OK\r\n"), Parse::NoMatch);

        let l = b"229 Entering Extended Passive Mode (|||50002|)\r\n";
        assert_eq!(
            parse_229(l),
            Parse::Found(
                FtpAddr {
                    addr: None,
                    port: 50002
                },
                39..44
            )
        );
        assert!(parse_229(b"229 EPSV ok !!!6446!\r\n").is_found());
        assert_eq!(
            parse_229(b"229 Entering Extended Passive Mode (|||50"),
            Parse::Partial
        );
        assert_eq!(
            parse_229(b"229 Entering Extended Passive Mode (|x|50|)\r\n"),
            Parse::NoMatch
        );
        assert_eq!(parse_229(b"229 no port\r\n"), Parse::NoMatch);
    }

    #[test]
    fn active_port() {
        let mut a = ftp();
        let out = feed(&mut a, Side::Initiator, 1000, b"PORT 192,0,2,10,195,80\r\n");
        assert_eq!(
            exps(&out),
            vec![data_exp("198.51.100.20", "192.0.2.10", 50000)]
        );
        assert!(acts(&out).contains(&Action::Rewrite {
            side: Side::Initiator,
            range: 1005..1022,
            kind: RewriteKind::FtpCommaAddrPort,
            addr: Some(ip("192.0.2.10")),
            port: 50000,
        }));
        assert_eq!(a.counters().pinholes, 1);
        assert_eq!(a.counters().requests, 1);
    }

    #[test]
    fn active_eprt_v4_and_v6() {
        let mut a = ftp();
        let out = feed(&mut a, Side::Initiator, 1, b"EPRT |1|192.0.2.10|50003|\r\n");
        assert_eq!(
            exps(&out),
            vec![data_exp("198.51.100.20", "192.0.2.10", 50003)]
        );

        let mut a = Ftp::new(
            AlgConfig::default_for(AlgKind::Ftp),
            ctx(Proto::TCP, "[2001:db8::10]:40000", "[2001:db8:1::20]:21"),
        );
        let out = feed(
            &mut a,
            Side::Initiator,
            1,
            b"EPRT |2|2001:db8::10|50004|\r\n",
        );
        assert_eq!(
            exps(&out),
            vec![data_exp("2001:db8:1::20", "2001:db8::10", 50004)]
        );
        let out = feed(
            &mut a,
            Side::Responder,
            9,
            b"229 Entering Extended Passive Mode (|||50005|)\r\n",
        );
        assert_eq!(
            exps(&out),
            vec![data_exp("2001:db8::10", "2001:db8:1::20", 50005)]
        );
    }

    #[test]
    fn passive_227_and_229() {
        let mut a = ftp();
        assert!(feed(&mut a, Side::Initiator, 1, b"PASV\r\n").is_empty());
        let out = feed(
            &mut a,
            Side::Responder,
            500,
            b"227 Entering Passive Mode (198,51,100,20,195,81).\r\n",
        );
        assert_eq!(
            exps(&out),
            vec![data_exp("192.0.2.10", "198.51.100.20", 50001)]
        );
        assert!(acts(&out).iter().any(|x| matches!(x,
            Action::Rewrite { side: Side::Responder, range, .. } if *range == (527..547))));
        let out = feed(
            &mut a,
            Side::Responder,
            551,
            b"227 =198,51,100,20,195,82\r\n",
        );
        assert_eq!(
            exps(&out),
            vec![data_exp("192.0.2.10", "198.51.100.20", 50002)]
        );
        let out = feed(
            &mut a,
            Side::Responder,
            578,
            b"229 Entering Extended Passive Mode (|||50006|)\r\n",
        );
        assert_eq!(
            exps(&out),
            vec![data_exp("192.0.2.10", "198.51.100.20", 50006)]
        );
        assert_eq!(a.counters().replies, 3);
    }

    #[test]
    fn command_split_across_segments() {
        let mut a = ftp();
        assert!(feed(&mut a, Side::Initiator, 100, b"PO").is_empty());
        assert!(feed(&mut a, Side::Initiator, 102, b"RT 192,0,2,").is_empty());
        // Retransmission of the first piece changes nothing.
        assert!(feed(&mut a, Side::Initiator, 100, b"PORT").is_empty());
        let out = feed(&mut a, Side::Initiator, 113, b"10,195,80\r\n");
        assert_eq!(
            exps(&out),
            vec![data_exp("198.51.100.20", "192.0.2.10", 50000)]
        );
        assert!(acts(&out)
            .iter()
            .any(|x| matches!(x, Action::Rewrite { range, .. } if *range == (105..122))));
        assert_eq!(a.counters().retransmitted_bytes, 4);
    }

    #[test]
    fn out_of_order_not_guessed() {
        let mut a = ftp();
        feed(&mut a, Side::Initiator, 100, b"NOOP\r\n");
        // The tail of a PORT arrives first: held off.
        assert!(feed(&mut a, Side::Initiator, 117, b"2,10,195,80\r\n").is_empty());
        assert_eq!(a.counters().out_of_order, 1);
        // The head arrives, then the sender retransmits the tail.
        assert!(feed(&mut a, Side::Initiator, 106, b"PORT 192,0,").is_empty());
        let out = feed(&mut a, Side::Initiator, 117, b"2,10,195,80\r\n");
        assert_eq!(exps(&out).len(), 1);
    }

    #[test]
    fn seq_wrap_inside_command() {
        let mut a = ftp();
        let s = u32::MAX - 6;
        feed(&mut a, Side::Initiator, s, b"PORT 192");
        let out = feed(
            &mut a,
            Side::Initiator,
            s.wrapping_add(8),
            b",0,2,10,195,80\r\n",
        );
        assert!(acts(&out).iter().any(|x| matches!(x,
            Action::Rewrite { range, .. } if *range == (s.wrapping_add(5)..s.wrapping_add(22)))));
    }

    #[test]
    fn third_party_refused_unless_loose() {
        let mut a = ftp();
        let out = feed(&mut a, Side::Initiator, 1, b"PORT 203,0,113,5,0,21\r\n");
        assert!(exps(&out).is_empty());
        assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
        let out = feed(&mut a, Side::Initiator, 24, b"EPRT |1|203.0.113.5|21|\r\n");
        assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
        let out = feed(
            &mut a,
            Side::Responder,
            1,
            b"227 Entering Passive Mode (203,0,113,5,4,1)\r\n",
        );
        assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
        assert_eq!(a.counters().third_party_refused, 3);

        let mut a = loose();
        let out = feed(&mut a, Side::Initiator, 1, b"PORT 203,0,113,5,0,21\r\n");
        assert_eq!(
            exps(&out),
            vec![data_exp("198.51.100.20", "203.0.113.5", 21)]
        );
        // Loose still refuses unusable addresses.
        let out = feed(&mut a, Side::Initiator, 24, b"PORT 0,0,0,0,4,1\r\n");
        assert_eq!(errs(&out), vec![ParseErrorKind::BadAddress]);
        let out = feed(&mut a, Side::Initiator, 42, b"PORT 224,0,0,1,4,1\r\n");
        assert_eq!(errs(&out), vec![ParseErrorKind::BadAddress]);
    }

    #[test]
    fn hostile_ports_and_numbers() {
        let mut a = ftp();
        let mut seq = 1u32;
        for (l, e) in [
            (&b"PORT 192,0,2,10,0,0\r\n"[..], ParseErrorKind::BadPort),
            (b"EPRT |1|192.0.2.10|0|\r\n", ParseErrorKind::BadPort),
            (b"EPRT |1|192.0.2.10|65536|\r\n", ParseErrorKind::BadPort),
            (
                b"EPRT |1|192.0.2.10|99999999999|\r\n",
                ParseErrorKind::Malformed,
            ),
            (b"PORT 192,0,2,10,256,1\r\n", ParseErrorKind::Malformed),
            (b"PORT 192,0,2,10,1\r\n", ParseErrorKind::Malformed),
            (b"PORT\r\n", ParseErrorKind::Malformed),
            (b"EPRT |1|999.0.2.10|5|\r\n", ParseErrorKind::Malformed),
        ] {
            let out = feed(&mut a, Side::Initiator, seq, l);
            seq += l.len() as u32;
            assert_eq!(errs(&out), vec![e], "{}", String::from_utf8_lossy(l));
            assert!(exps(&out).is_empty());
        }
        let out = feed(
            &mut a,
            Side::Responder,
            1,
            b"229 Entering Extended Passive Mode (|||70000|)\r\n",
        );
        assert_eq!(errs(&out), vec![ParseErrorKind::BadPort]);
        assert_eq!(a.counters().pinholes, 0);
    }

    #[test]
    fn oversized_line_then_recovery() {
        let mut a = ftp();
        let mut long = b"PORT ".to_vec();
        long.extend(vec![b'1'; 3000]);
        long.extend_from_slice(b"\r\n");
        let out = feed(&mut a, Side::Initiator, 0, &long);
        assert!(errs(&out).contains(&ParseErrorKind::TooLong));
        assert!(a.counters().overflow >= 1);
        let out = feed(
            &mut a,
            Side::Initiator,
            long.len() as u32,
            b"PORT 192,0,2,10,195,80\r\n",
        );
        assert_eq!(exps(&out).len(), 1);
    }

    #[test]
    fn many_commands_in_one_segment_bounded() {
        let mut a = ftp();
        let mut p = Vec::new();
        for i in 0..20u8 {
            p.extend_from_slice(format!("PORT 192,0,2,10,200,{i}\r\n").as_bytes());
        }
        let out = feed(&mut a, Side::Initiator, 0, &p);
        assert_eq!(out.len(), ACTIONS_CAP);
        assert!(a.counters().action_overflow > 0 || a.counters().cap_refused > 0);
        // The conversation cap (16) holds.
        assert!(a.counters().pinholes <= 16);
    }

    #[test]
    fn udp_data_refused_and_no_forward_state() {
        let mut a = ftp();
        let mut out = Actions::new();
        a.on_data(
            0,
            Side::Initiator,
            None,
            b"PORT 192,0,2,10,195,80\r\n",
            &mut out,
        );
        assert_eq!(errs(&out), vec![ParseErrorKind::BadSequence]);
        assert!(!acts(&out).contains(&Action::ParentState(ParentState::Forward)));
    }

    /// A whole curl-against-vsftpd control exchange (EPSV refused, PASV, then active EPRT
    /// and PORT), both directions interleaved, sequence numbers as on the wire.
    #[test]
    fn transcript_both_directions() {
        let mut a = ftp();
        a.sync_seq(Side::Initiator, 0x1000);
        a.sync_seq(Side::Responder, 0x9000);
        let script: &[(Side, &[u8])] = &[
            (Side::Responder, b"220-Welcome\r\n220 (vsFTPd 3.0.3)\r\n"),
            (Side::Initiator, b"USER anonymous\r\n"),
            (Side::Responder, b"331 Please specify the password.\r\n"),
            (Side::Initiator, b"PASS ftp@example.com\r\n"),
            (Side::Responder, b"230 Login successful.\r\n"),
            (Side::Initiator, b"EPSV\r\n"),
            (
                Side::Responder,
                b"229 Entering Extended Passive Mode (|||40123|)\r\n",
            ),
            (Side::Initiator, b"TYPE I\r\nSIZE file.bin\r\n"),
            (
                Side::Responder,
                b"200 Switching to Binary mode.\r\n213 4194304\r\n",
            ),
            (Side::Initiator, b"PASV\r\n"),
            (
                Side::Responder,
                b"227 Entering Passive Mode (198,51,100,20,156,208).\r\n",
            ),
            (Side::Initiator, b"RETR file.bin\r\n"),
            (
                Side::Responder,
                b"150 Opening BINARY mode data connection.\r\n226 Transfer complete.\r\n",
            ),
            (Side::Initiator, b"EPRT |1|192.0.2.10|41234|\r\n"),
            (Side::Responder, b"200 EPRT command successful.\r\n"),
            (Side::Initiator, b"PORT 192,0,2,10,161,19\r\n"),
            (
                Side::Responder,
                b"200 PORT command successful. Consider using PASV.\r\n",
            ),
            (Side::Initiator, b"QUIT\r\n"),
            (Side::Responder, b"221 Goodbye.\r\n"),
        ];
        let mut seqs = [0x1000u32, 0x9000];
        let mut ports = Vec::new();
        for (side, bytes) in script {
            let i = side.index();
            let out = feed(&mut a, *side, seqs[i], bytes);
            seqs[i] += bytes.len() as u32;
            assert!(errs(&out).is_empty(), "{out:?}");
            ports.extend(exps(&out).iter().map(|e| (e.dst, e.dst_port.unwrap())));
        }
        assert_eq!(
            ports,
            vec![
                (ip("198.51.100.20"), 40123),
                (ip("198.51.100.20"), 40144),
                (ip("192.0.2.10"), 41234),
                (ip("192.0.2.10"), 41235),
            ]
        );
        let c = a.counters();
        assert_eq!(
            (c.pinholes, c.requests, c.replies, c.parse_errors),
            (4, 4, 2, 0)
        );
    }

    use crate::ACTIONS_CAP;
}
