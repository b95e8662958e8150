//! SQLNet (`sql`, Oracle TNS over TCP 1521): the connection a listener redirects its
//! client to.
//!
//! A TNS packet starts with an 8-byte header: length (16 bits), packet checksum, type,
//! reserved byte, header checksum. The listener answers a Connect with a Redirect (type 5:
//! a 16-bit data length, then a connect descriptor) naming where the client is to connect
//! now, `(ADDRESS=(PROTOCOL=TCP)(HOST=…)(PORT=…))`; on some platforms (Windows' shared
//! servers) a Data packet (type 6) carries such an address instead. From either, sent by
//! the server, the ALG opens a one-shot TCP pinhole from the client to that host and port.
//! The host must be the server's own address (a name cannot be used, another address is a
//! third party) unless `loose` is set. The HOST and PORT values are reported as rewrite
//! ranges (a NAT must also fix the packet's and descriptor's lengths).

use core::net::IpAddr;
use core::ops::Range;

use crate::common::{abs_range, core_timers, delegate_core, Alg, Core, Duplex};
use crate::kind::AlgKind;
use crate::parse::{be16, dec, ip_text, Parse};
use crate::types::{
    Actions, AlgConfig, AppHint, FlowCtx, ParseErrorKind, Proto, RewriteKind, Side,
};

/// TNS packet types the ALG reads.
const REDIRECT: u8 = 5;
const DATA: u8 = 6;

/// The reassembly buffer (a Redirect is short; longer Data packets are skipped past).
const TNS_BUF: usize = 2048;

/// An address named in a connect descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TnsAddress {
    /// The HOST value as an address (`None`: a name).
    pub host: Option<IpAddr>,
    /// The HOST value's range.
    pub host_range: Range<usize>,
    /// The PORT value.
    pub port: u32,
    /// The PORT value's range.
    pub port_range: Range<usize>,
}

/// The value of `(KEY=value)` in `s` (case-insensitive key), and its range.
fn value_of(s: &[u8], key: &[u8]) -> Option<Range<usize>> {
    let n = key.len();
    let at = s.windows(n + 2).position(|w| {
        w.first() == Some(&b'(')
            && w.get(1..=n).is_some_and(|k| k.eq_ignore_ascii_case(key))
            && w.get(n + 1) == Some(&b'=')
    })?;
    let start = at + n + 2;
    let len = s.get(start..)?.iter().position(|&c| c == b')')?;
    Some(start..start + len)
}

/// Finds the first TCP `(ADDRESS=…)` in a connect descriptor `s`.
#[must_use]
pub fn find_address(s: &[u8]) -> Option<TnsAddress> {
    let a = s
        .windows(9)
        .position(|w| w.eq_ignore_ascii_case(b"(ADDRESS="))?;
    let body = s.get(a..)?;
    let proto = value_of(body, b"PROTOCOL")?;
    if !body
        .get(proto)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"TCP"))
    {
        return None;
    }
    let h = value_of(body, b"HOST")?;
    let p = value_of(body, b"PORT")?;
    let digits = body.get(p.clone())?;
    let (port, n) = dec(digits, u32::MAX)?;
    if n != digits.len() {
        return None;
    }
    Some(TnsAddress {
        host: ip_text(body.get(h.clone())?),
        host_range: a + h.start..a + h.end,
        port,
        port_range: a + p.start..a + p.end,
    })
}

/// One TNS packet: its type and, for a Redirect or a Data packet naming an address, the
/// address (ranges relative to the packet's first byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The TNS packet type.
    pub kind: u8,
    /// Its length.
    pub len: usize,
    /// The address it redirects to.
    pub address: Option<TnsAddress>,
}

/// Parses the TNS packet at the start of `b`. [`Parse::Partial`] until the header (and a
/// Redirect's or a short Data packet's body) is in; [`Parse::NoMatch`] for a length below
/// the header's.
#[must_use]
pub fn parse_packet(b: &[u8]) -> Parse<Packet> {
    let (Some(len), Some(&kind)) = (be16(b, 0), b.get(4)) else {
        return Parse::Partial;
    };
    let len = usize::from(len);
    if len < 8 {
        return Parse::NoMatch;
    }
    let wants_body = kind == REDIRECT || (kind == DATA && len <= TNS_BUF);
    if !wants_body {
        return Parse::Found(
            Packet {
                kind,
                len,
                address: None,
            },
            0..len,
        );
    }
    let Some(pkt) = b.get(..len) else {
        return Parse::Partial;
    };
    // A Redirect's descriptor follows its 2-byte data length; a Data packet's, its 2-byte
    // data flags.
    let desc = pkt.get(10..).unwrap_or(&[]);
    let address = find_address(desc).map(|mut a| {
        a.host_range = a.host_range.start + 10..a.host_range.end + 10;
        a.port_range = a.port_range.start + 10..a.port_range.end + 10;
        a
    });
    Parse::Found(Packet { kind, len, address }, 0..len)
}

/// The SQLNet ALG for one listener connection.
#[derive(Debug, Clone)]
pub struct Sqlnet {
    core: Core,
    buf: Duplex<TNS_BUF>,
}

impl Sqlnet {
    /// An ALG for the connection `ctx` (initiator: the database client).
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> Sqlnet {
        Sqlnet {
            core: Core::new(cfg, ctx),
            buf: Duplex::new(),
        }
    }
}

fn redirected(core: &mut Core, now: u64, pkt: &Packet, base: u32, out: &mut Actions) {
    let Some(a) = &pkt.address else {
        if pkt.kind == REDIRECT {
            core.error(out, ParseErrorKind::Malformed);
        }
        return;
    };
    core.counters.replies += 1;
    let Some(host) = a.host else {
        core.error(out, ParseErrorKind::BadAddress);
        return;
    };
    if !core.check_addr(out, Side::Responder, host) {
        return;
    }
    let Some(port) = core.check_port(out, a.port) else {
        return;
    };
    let client = core.ctx.initiator.ip();
    let e = core.expectation(
        Proto::TCP,
        Some(client),
        host,
        Some(port),
        AppHint::SqlnetData,
        true,
    );
    if core.expect(now, out, e) {
        core.rewrite(
            out,
            Side::Responder,
            abs_range(base, &a.host_range),
            RewriteKind::TnsHost,
            Some(host),
            port,
        );
        core.rewrite(
            out,
            Side::Responder,
            abs_range(base, &a.port_range),
            RewriteKind::TnsPort,
            None,
            port,
        );
    }
}

impl Alg for Sqlnet {
    fn kind(&self) -> AlgKind {
        AlgKind::Sqlnet
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        if side == Side::Initiator {
            // The client's Connect: counted; nothing in it opens anything.
            if self.core.begin(seq, payload, out) && payload.get(4) == Some(&1) {
                self.core.counters.requests += 1;
            }
            return;
        }
        self.buf.feed(
            &mut self.core,
            side,
            seq,
            payload,
            out,
            parse_packet,
            |core, p, _, base, _, out| {
                redirected(core, now_ms, &p, base, out);
                p.len
            },
        );
    }

    core_timers!();

    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        self.buf.sync(side, next_seq);
    }

    delegate_core!();
}

/// Byte fixtures of TNS packets, shared by the unit tests and the `tshark` check
/// (`tests/alg_fixtures.rs`).
pub mod fixtures {
    /// A TNS packet of `kind` with `body` after the 8-byte header.
    #[must_use]
    pub fn packet(kind: u8, body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(body.len() + 8).unwrap_or(u16::MAX);
        let mut p = len.to_be_bytes().to_vec();
        p.extend_from_slice(&[0, 0, kind, 0, 0, 0]);
        p.extend_from_slice(body);
        p
    }

    /// A Redirect (type 5) to `host`:`port`, as a listener sends it.
    #[must_use]
    pub fn redirect(host: &str, port: u16) -> Vec<u8> {
        let desc = format!(
            "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST={host})(PORT={port}))(CONNECT_DATA=(SID=ORCL)))"
        );
        let mut body = u16::try_from(desc.len())
            .unwrap_or(0)
            .to_be_bytes()
            .to_vec();
        body.extend_from_slice(desc.as_bytes());
        packet(super::REDIRECT, &body)
    }

    /// A Connect (type 1) with the usual fields and `desc` as its connect data.
    #[must_use]
    pub fn connect(desc: &str) -> Vec<u8> {
        let mut body = Vec::new();
        // version 314, compatible 300, service options, SDU 8192, TDU 32767, NT
        // characteristics, line turnaround, value of 1, data length, data offset (34),
        // max receivable data, flags 0x41 0x41, trace fields (zeros).
        for v in [314u16, 300, 0x0c41, 8192, 32767, 0x7f08, 0, 0x0100] {
            body.extend_from_slice(&v.to_be_bytes());
        }
        body.extend_from_slice(&u16::try_from(desc.len()).unwrap_or(0).to_be_bytes());
        body.extend_from_slice(&58u16.to_be_bytes());
        body.extend_from_slice(&[0, 0, 0, 0, 0x41, 0x41]);
        body.extend_from_slice(&[0; 24]);
        body.extend_from_slice(desc.as_bytes());
        packet(1, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::testutil::*;

    fn alg(loose: bool) -> Sqlnet {
        let mut cfg = AlgConfig::default_for(AlgKind::Sqlnet);
        cfg.loose_ftp = loose;
        let mut a = Sqlnet::new(
            cfg,
            ctx(Proto::TCP, "192.0.2.10:40000", "198.51.100.20:1521"),
        );
        a.sync_seq(Side::Responder, 1000);
        a
    }

    fn from_server(a: &mut Sqlnet, seq: u32, p: &[u8]) -> Actions {
        let mut out = Actions::new();
        a.on_data(0, Side::Responder, Some(seq), p, &mut out);
        out
    }

    #[test]
    fn redirect_opens_the_new_port_split_anywhere() {
        let r = redirect("198.51.100.20", 49_152);
        for cut in [1, 5, 9, 30, r.len() - 1] {
            let mut a = alg(false);
            let mut out = from_server(&mut a, 1000, &r[..cut]);
            assert!(out.expectations().next().is_none());
            out = from_server(&mut a, 1000 + u32::try_from(cut).unwrap(), &r[cut..]);
            let e = exps(&out);
            assert_eq!(e.len(), 1, "cut {cut}");
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
                    Some(49_152),
                    AppHint::SqlnetData
                )
            );
            let port = out
                .iter()
                .find_map(|x| match x {
                    crate::Action::Rewrite {
                        kind: RewriteKind::TnsPort,
                        range,
                        ..
                    } => Some(range.clone()),
                    _ => None,
                })
                .unwrap();
            let at = (port.start - 1000) as usize;
            assert_eq!(&r[at..at + 5], b"49152");
        }
    }

    #[test]
    fn data_packet_address_and_refusals() {
        // A Data packet naming an address (Windows shared server).
        let mut body = vec![0, 0];
        body.extend_from_slice(b"(ADDRESS=(PROTOCOL=tcp)(HOST=198.51.100.20)(PORT=1030))");
        let mut a = alg(false);
        assert_eq!(
            exps(&from_server(&mut a, 1000, &packet(DATA, &body))).len(),
            1
        );
        // A third-party host, a host name, a bad port.
        let mut a = alg(false);
        let out = from_server(&mut a, 1000, &redirect("203.0.113.9", 1600));
        assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
        let mut a = alg(true);
        assert_eq!(
            exps(&from_server(&mut a, 1000, &redirect("203.0.113.9", 1600))).len(),
            1
        );
        let mut a = alg(false);
        let out = from_server(&mut a, 1000, &redirect("db.example", 1600));
        assert_eq!(errs(&out), vec![ParseErrorKind::BadAddress]);
        let mut a = alg(false);
        let out = from_server(&mut a, 1000, &redirect("198.51.100.20", 0));
        assert_eq!(errs(&out), vec![ParseErrorKind::BadPort]);
        // A length below the header's.
        let mut a = alg(false);
        let out = from_server(&mut a, 1000, &[0, 3, 0, 0, 5, 0, 0, 0]);
        assert_eq!(errs(&out), vec![ParseErrorKind::Malformed]);
    }

    #[test]
    fn the_fuzz_seed_redirect() {
        let c = crate::harness::drive(
            AlgKind::Sqlnet,
            include_bytes!("../fuzz/seeds/sqlnet/redirect"),
        );
        assert_eq!(
            (c.requests, c.replies, c.pinholes, c.parse_errors),
            (1, 1, 1, 0)
        );
    }

    #[test]
    fn the_client_connect_opens_nothing() {
        let mut a = alg(false);
        let mut out = Actions::new();
        let c = connect("(DESCRIPTION=(CONNECT_DATA=(SID=ORCL))(ADDRESS=(PROTOCOL=TCP)(HOST=198.51.100.20)(PORT=1521)))");
        a.on_data(0, Side::Initiator, Some(1), &c, &mut out);
        assert!(out.is_empty());
        assert_eq!(a.counters().requests, 1);
    }
}
