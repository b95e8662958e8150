//! RTSP (`rtsp`, TCP 554; RFC 2326): the media streams a SETUP negotiates.
//!
//! The client's SETUP names its ports (`Transport: RTP/AVP;unicast;client_port=a-b`); the
//! server's 200 answer confirms them and adds its own (`server_port=c-d`, perhaps a
//! `source=` address) and a `Session:` identifier. From the answer the ALG opens UDP
//! pinholes one-shot: from the server (or its `source=`) to the client's RTP and RTCP
//! ports, and from the client to the server's two ports (RTCP receiver reports, NAT
//! punching). A transport interleaved in the control connection (`interleaved=`,
//! `RTP/AVP/TCP`) or multicast needs none. TEARDOWN withdraws what the session opened
//! (pinholes unused, media sessions closed); the control connection's close withdraws
//! its unused pinholes (the framework).
//!
//! Messages are framed over TCP by their head and `Content-Length` (a DESCRIBE answer's
//! SDP); interleaved binary frames (`$`, channel, 16-bit length) between messages are
//! skipped. The `Transport` header's port and address texts are reported as rewrite
//! ranges. The parent stays with the ALG ([`ParentState::Watch`]).
//!
//! [`ParentState::Watch`]: crate::ParentState::Watch

use core::net::IpAddr;
use core::ops::Range;

use crate::common::{abs_range, consume_text, delegate_core, Alg, Core, TextMessages};
use crate::kind::AlgKind;
use crate::parse::{be16, dec, fnv1a, head_end, header_lines, ip_text, Parse};
use crate::stream::{Framing, StreamBuf};
use crate::types::{
    Action, Actions, AlgConfig, AppHint, Expectation, FlowCtx, ParseErrorKind, Proto, RewriteKind,
    Side,
};

/// The reassembly buffer of one direction (a message head; a DESCRIBE answer's SDP is
/// skipped past when it does not fit).
pub const RTSP_STREAM_BUF: usize = 2048;
/// SETUPs awaiting their answer, per connection.
const PENDING: usize = 8;
/// RTSP sessions tracked per connection.
const SESSIONS: usize = 4;
/// Pinholes one session holds (two SETUPs of four each, then some).
const PINS: usize = 12;

/// What a `Transport` header says (its first transport specification).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    /// `client_port=a[-b]`, and the text's range.
    pub client_port: Option<(u16, Option<u16>, Range<usize>)>,
    /// `server_port=c[-d]`, and the text's range.
    pub server_port: Option<(u16, Option<u16>, Range<usize>)>,
    /// `source=` address.
    pub source: Option<IpAddr>,
    /// `destination=` address.
    pub destination: Option<IpAddr>,
    /// Interleaved in the control connection (`interleaved=` or a TCP lower transport).
    pub interleaved: bool,
    /// `multicast`.
    pub multicast: bool,
}

fn port_pair(v: &[u8], base: usize) -> Option<(u16, Option<u16>, Range<usize>)> {
    let (a, n) = dec(v, 65_535)?;
    let a = u16::try_from(a).ok()?;
    let (b, len) = match v.get(n) {
        Some(b'-') => {
            let (b, m) = dec(v.get(n + 1..)?, 65_535)?;
            (Some(u16::try_from(b).ok()?), n + 1 + m)
        }
        _ => (None, n),
    };
    Some((a, b, base..base + len))
}

/// Parses a `Transport` value (`v` starts at `base` in the message).
#[must_use]
pub fn parse_transport(v: &[u8], base: usize) -> Transport {
    let mut t = Transport::default();
    let first = v.iter().position(|&c| c == b',').unwrap_or(v.len());
    let spec = v.get(..first).unwrap_or(&[]);
    let mut at = 0;
    for (i, p) in spec.split(|&c| c == b';').enumerate() {
        let off = base + at;
        at += p.len() + 1;
        if i == 0 {
            t.interleaved = p
                .split(|&c| c == b'/')
                .nth(2)
                .is_some_and(|l| l.eq_ignore_ascii_case(b"TCP"));
            continue;
        }
        let (k, val) = match p.iter().position(|&c| c == b'=') {
            Some(e) => (p.get(..e).unwrap_or(&[]), p.get(e + 1..).unwrap_or(&[])),
            None => (p, &[][..]),
        };
        let voff = off + k.len() + 1;
        if k.eq_ignore_ascii_case(b"client_port") {
            t.client_port = port_pair(val, voff);
        } else if k.eq_ignore_ascii_case(b"server_port") {
            t.server_port = port_pair(val, voff);
        } else if k.eq_ignore_ascii_case(b"source") {
            t.source = ip_text(val);
        } else if k.eq_ignore_ascii_case(b"destination") {
            t.destination = ip_text(val);
        } else if k.eq_ignore_ascii_case(b"interleaved") {
            t.interleaved = true;
        } else if k.eq_ignore_ascii_case(b"multicast") {
            t.multicast = true;
        }
    }
    t
}

/// Request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// SETUP.
    Setup,
    /// TEARDOWN.
    Teardown,
    /// Another request (OPTIONS, DESCRIBE, PLAY, PAUSE, …).
    OtherRequest,
    /// A response with its status code.
    Response(u16),
}

/// One RTSP message as the ALG reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its start line.
    pub start: Start,
    /// CSeq.
    pub cseq: Option<u32>,
    /// The Session identifier's range (before any `;timeout=`).
    pub session: Option<Range<usize>>,
    /// The Transport header.
    pub transport: Option<Transport>,
    /// Head and body length.
    pub len: usize,
}

/// Parses one message at the start of `b` ([`Parse::Partial`] until its head and body
/// are in; [`Parse::NoMatch`] for what is not RTSP).
#[must_use]
pub fn parse_message(b: &[u8]) -> Parse<Message> {
    let Some(head) = head_end(b) else {
        return if b.len() >= RTSP_STREAM_BUF {
            Parse::NoMatch
        } else {
            Parse::Partial
        };
    };
    let line_end = b.iter().position(|&c| c == b'\n').unwrap_or(0);
    let line = b.get(..line_end).unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let start = if let Some(rest) = line.strip_prefix(b"RTSP/1.0 ") {
        match dec(rest, 999) {
            Some((c, 3)) if c >= 100 => Start::Response(u16::try_from(c).unwrap_or(0)),
            _ => return Parse::NoMatch,
        }
    } else {
        let sp = line.iter().position(|&c| c == b' ').unwrap_or(0);
        let method = line.get(..sp).unwrap_or(&[]);
        if method.is_empty()
            || !method.iter().all(u8::is_ascii_uppercase)
            || !line.ends_with(b" RTSP/1.0")
        {
            return Parse::NoMatch;
        }
        match method {
            b"SETUP" => Start::Setup,
            b"TEARDOWN" => Start::Teardown,
            _ => Start::OtherRequest,
        }
    };
    let mut m = Message {
        start,
        cseq: None,
        session: None,
        transport: None,
        len: head,
    };
    let mut clen = 0usize;
    for (name, value) in header_lines(b, head) {
        let n = b.get(name).unwrap_or(&[]);
        let v = b.get(value.clone()).unwrap_or(&[]);
        if n.eq_ignore_ascii_case(b"cseq") {
            m.cseq = dec(v, u32::MAX).map(|(x, _)| x);
        } else if n.eq_ignore_ascii_case(b"content-length") {
            match dec(v, 1 << 20) {
                Some((x, len)) if len == v.len() => clen = x as usize,
                _ => return Parse::NoMatch,
            }
        } else if n.eq_ignore_ascii_case(b"session") {
            let id = v.iter().position(|&c| c == b';').unwrap_or(v.len());
            m.session = Some(value.start..value.start + id);
        } else if n.eq_ignore_ascii_case(b"transport") {
            m.transport = Some(parse_transport(v, value.start));
        }
    }
    m.len = head + clen;
    let len = m.len;
    Parse::Found(m, 0..len)
}

#[derive(Debug, Clone)]
struct Session {
    id: u64,
    tag: u32,
    pins: [Option<Expectation>; PINS],
}

/// The connection's state the consumer of a reassembly buffer borrows.
#[derive(Debug, Clone)]
struct State {
    core: Core,
    /// SETUPs sent: (CSeq, the client's Transport).
    pending: [Option<(u32, Transport)>; PENDING],
    sessions: [Option<Session>; SESSIONS],
    next_tag: u32,
}

/// The RTSP ALG for one control connection.
#[derive(Debug, Clone)]
pub struct Rtsp {
    st: State,
    bufs: [StreamBuf<RTSP_STREAM_BUF>; 2],
}

impl Rtsp {
    /// An ALG for the control connection `ctx`.
    #[must_use]
    pub fn new(cfg: AlgConfig, ctx: FlowCtx) -> Rtsp {
        Rtsp {
            st: State {
                core: Core::new(cfg, ctx),
                pending: Default::default(),
                sessions: Default::default(),
                next_tag: 1,
            },
            bufs: [
                StreamBuf::new(Framing::Messages),
                StreamBuf::new(Framing::Messages),
            ],
        }
    }
}

impl TextMessages for State {
    type Msg = Message;

    fn parse(b: &[u8]) -> Parse<Message> {
        parse_message(b)
    }

    fn core(&mut self) -> &mut Core {
        &mut self.core
    }

    fn on_message(
        &mut self,
        now: u64,
        side: Side,
        b: &[u8],
        base: u32,
        m: &Message,
        out: &mut Actions,
    ) {
        if let Some(t) = &m.transport {
            for (p, kind) in [
                (&t.client_port, RewriteKind::RtspPorts),
                (&t.server_port, RewriteKind::RtspPorts),
            ] {
                if let Some((a, _, r)) = p {
                    self.core
                        .rewrite(out, side, abs_range(base, r), kind, None, *a);
                }
            }
        }
        match (m.start, side) {
            (Start::Setup, Side::Initiator) => {
                self.core.counters.requests += 1;
                if let (Some(c), Some(t)) = (m.cseq, m.transport.clone()) {
                    let slot = self
                        .pending
                        .iter()
                        .position(|p| p.as_ref().is_some_and(|(q, _)| *q == c))
                        .or_else(|| self.pending.iter().position(Option::is_none))
                        .unwrap_or(0);
                    if let Some(p) = self.pending.get_mut(slot) {
                        *p = Some((c, t));
                    }
                }
            }
            (Start::Teardown, Side::Initiator) => {
                self.core.counters.requests += 1;
                let id = m.session.clone().and_then(|r| b.get(r)).map(fnv1a);
                if let Some(i) = self
                    .sessions
                    .iter()
                    .position(|s| s.as_ref().is_some_and(|s| Some(s.id) == id))
                {
                    self.end(i, out);
                }
            }
            (Start::Response(code), Side::Responder) => {
                let Some(i) = m.cseq.and_then(|c| {
                    self.pending
                        .iter()
                        .position(|p| p.as_ref().is_some_and(|(q, _)| *q == c))
                }) else {
                    return;
                };
                let asked = self.pending.get_mut(i).and_then(Option::take);
                self.core.counters.replies += 1;
                if (200..300).contains(&code) {
                    let id = m.session.clone().and_then(|r| b.get(r)).map_or(0, fnv1a);
                    let t = m.transport.clone().unwrap_or_default();
                    self.setup_answered(now, id, &t, asked.map(|(_, t)| t), out);
                }
            }
            _ => {}
        }
    }
}

impl State {
    /// A SETUP was answered: open the streams of the answer's (else the request's)
    /// transport under session `id`.
    fn setup_answered(
        &mut self,
        _now: u64,
        id: u64,
        t: &Transport,
        asked: Option<Transport>,
        out: &mut Actions,
    ) {
        let asked = asked.unwrap_or_default();
        if t.interleaved || asked.interleaved || t.multicast {
            return;
        }
        let client = self.core.ctx.initiator.ip();
        let server = self.core.ctx.responder.ip();
        if let Some(d) = t.destination.or(asked.destination) {
            if !self.core.check_addr(out, Side::Initiator, d) {
                return;
            }
        }
        let source = t.source.unwrap_or(server);
        let Some(cp) = t.client_port.as_ref().or(asked.client_port.as_ref()) else {
            self.core.error(out, ParseErrorKind::Malformed);
            return;
        };
        let mut want: [Option<(IpAddr, IpAddr, u16)>; 4] = [None; 4];
        let rtcp = |(a, b, _): &(u16, Option<u16>, Range<usize>)| b.or_else(|| a.checked_add(1));
        want[0] = Some((source, client, cp.0));
        want[1] = rtcp(cp).map(|p| (source, client, p));
        if let Some(sp) = &t.server_port {
            want[2] = Some((client, source, sp.0));
            want[3] = rtcp(sp).map(|p| (client, source, p));
        }
        let slot = match self
            .sessions
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.id == id))
        {
            Some(i) => i,
            None => {
                let Some(i) = self.sessions.iter().position(Option::is_none) else {
                    self.core.error(out, ParseErrorKind::PinholeCap);
                    return;
                };
                let tag = self.next_tag;
                self.next_tag = self.next_tag.wrapping_add(1).max(1);
                if let Some(s) = self.sessions.get_mut(i) {
                    *s = Some(Session {
                        id,
                        tag,
                        pins: [None; PINS],
                    });
                }
                self.core.counters.dialogs += 1;
                i
            }
        };
        for (src, dst, port) in want.into_iter().flatten() {
            if port == 0 {
                continue;
            }
            let Some(Some(s)) = self.sessions.get(slot) else {
                return;
            };
            let mut e = self.core.expectation(
                Proto::UDP,
                Some(src),
                dst,
                Some(port),
                AppHint::RtspMedia,
                true,
            );
            e.tag = s.tag;
            let Some(free) = s.pins.iter().position(Option::is_none) else {
                self.core.counters.cap_refused += 1;
                self.core.error(out, ParseErrorKind::PinholeCap);
                return;
            };
            self.core.open(out, e);
            if let Some(Some(s)) = self.sessions.get_mut(slot) {
                if let Some(p) = s.pins.get_mut(free) {
                    *p = Some(e);
                }
            }
        }
    }

    fn end(&mut self, i: usize, out: &mut Actions) {
        if let Some(s) = self.sessions.get_mut(i).and_then(Option::take) {
            for e in s.pins.iter().flatten() {
                self.core.push(out, Action::Withdraw(*e));
            }
            self.core.counters.dialogs_ended += 1;
        }
    }
}

impl Alg for Rtsp {
    fn kind(&self) -> AlgKind {
        AlgKind::Rtsp
    }

    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        let Rtsp { st, bufs } = self;
        if !st.core.begin(seq, payload, out) {
            return;
        }
        let (Some(seq), Some(buf)) = (seq, bufs.get_mut(side.index())) else {
            return;
        };
        let f = buf.feed(seq, payload, |b, base| {
            // An interleaved frame: '$', channel, length.
            if b.first() == Some(&b'$') {
                return be16(b, 2).map_or(0, |n| 4 + usize::from(n));
            }
            consume_text(st, now_ms, side, b, base, out)
        });
        st.core.account(&f, out);
    }

    fn on_timeout(&mut self, now_ms: u64, _out: &mut Actions) {
        self.st.core.on_timeout(now_ms);
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.st.core.next_expiry()
    }

    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        if let Some(b) = self.bufs.get_mut(side.index()) {
            b.sync(next_seq);
        }
    }

    delegate_core!(st.core);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    const C: &str = "192.0.2.10:40000";
    const S: &str = "198.51.100.20:554";

    fn alg() -> Rtsp {
        let mut a = Rtsp::new(AlgConfig::default_for(AlgKind::Rtsp), ctx(Proto::TCP, C, S));
        a.sync_seq(Side::Initiator, 100);
        a.sync_seq(Side::Responder, 5000);
        a
    }

    struct Conn {
        a: Rtsp,
        seq: [u32; 2],
    }

    impl Conn {
        fn send(&mut self, side: Side, b: &[u8]) -> Actions {
            let mut out = Actions::new();
            let i = side.index();
            self.a.on_data(0, side, Some(self.seq[i]), b, &mut out);
            self.seq[i] = self.seq[i].wrapping_add(u32::try_from(b.len()).unwrap());
            out
        }
    }

    fn conn() -> Conn {
        Conn {
            a: alg(),
            seq: [100, 5000],
        }
    }

    fn setup(cseq: u32, transport: &str) -> Vec<u8> {
        format!("SETUP rtsp://198.51.100.20/s/trackID=0 RTSP/1.0\r\nCSeq: {cseq}\r\nTransport: {transport}\r\n\r\n").into_bytes()
    }

    fn ok(cseq: u32, session: &str, transport: &str) -> Vec<u8> {
        format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: {session};timeout=60\r\nTransport: {transport}\r\n\r\n").into_bytes()
    }

    fn pins(a: &Actions) -> Vec<(String, String, u16)> {
        exps(a)
            .iter()
            .map(|e| {
                assert_eq!(
                    (e.proto, e.child_app, e.one_shot),
                    (Proto::UDP, AppHint::RtspMedia, true)
                );
                (
                    e.src.unwrap().to_string(),
                    e.dst.to_string(),
                    e.dst_port.unwrap(),
                )
            })
            .collect()
    }

    fn p(s: &str, d: &str, port: u16) -> (String, String, u16) {
        (s.to_string(), d.to_string(), port)
    }

    #[test]
    fn setup_answer_opens_both_ways_and_teardown_withdraws() {
        let mut c = conn();
        let out = c.send(
            Side::Initiator,
            &setup(3, "RTP/AVP;unicast;client_port=5000-5001"),
        );
        assert!(pins(&out).is_empty());
        // A DESCRIBE answer with an SDP body before it is framed by its length.
        let describe = b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 27\r\n\r\nv=0\r\nm=video 0 RTP/AVP 96\r\n";
        assert!(c.send(Side::Responder, describe).is_empty());
        let out = c.send(
            Side::Responder,
            &ok(
                3,
                "12345678",
                "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=1",
            ),
        );
        assert_eq!(
            pins(&out),
            vec![
                p("198.51.100.20", "192.0.2.10", 5000),
                p("198.51.100.20", "192.0.2.10", 5001),
                p("192.0.2.10", "198.51.100.20", 6970),
                p("192.0.2.10", "198.51.100.20", 6971),
            ]
        );
        // Interleaved data on the connection is skipped.
        let mut frame = vec![b'$', 0, 0, 10];
        frame.extend_from_slice(&[0xAA; 10]);
        assert!(c.send(Side::Responder, &frame).is_empty());
        let out = c.send(
            Side::Initiator,
            b"TEARDOWN rtsp://198.51.100.20/s RTSP/1.0\r\nCSeq: 5\r\nSession: 12345678\r\n\r\n",
        );
        let w: Vec<u16> = out
            .iter()
            .filter_map(|x| match x {
                Action::Withdraw(e) => e.dst_port,
                _ => None,
            })
            .collect();
        assert_eq!(w, vec![5000, 5001, 6970, 6971]);
        let k = c.a.counters();
        assert_eq!((k.dialogs, k.dialogs_ended, k.parse_errors), (1, 1, 0));
    }

    #[test]
    fn interleaved_and_source_and_refusals() {
        let mut c = conn();
        c.send(
            Side::Initiator,
            &setup(1, "RTP/AVP/TCP;unicast;interleaved=0-1"),
        );
        let out = c.send(
            Side::Responder,
            &ok(1, "s1", "RTP/AVP/TCP;unicast;interleaved=0-1"),
        );
        assert!(pins(&out).is_empty());
        // A source= address sends the media (and receives the client's reports).
        c.send(
            Side::Initiator,
            &setup(2, "RTP/AVP;unicast;client_port=7000"),
        );
        let out = c.send(
            Side::Responder,
            &ok(
                2,
                "s2",
                "RTP/AVP;unicast;client_port=7000;server_port=8000;source=198.51.100.30",
            ),
        );
        assert_eq!(
            pins(&out),
            vec![
                p("198.51.100.30", "192.0.2.10", 7000),
                p("198.51.100.30", "192.0.2.10", 7001),
                p("192.0.2.10", "198.51.100.30", 8000),
                p("192.0.2.10", "198.51.100.30", 8001),
            ]
        );
        // A destination other than the client is a third party.
        c.send(
            Side::Initiator,
            &setup(
                3,
                "RTP/AVP;unicast;destination=203.0.113.5;client_port=7002-7003",
            ),
        );
        let out = c.send(
            Side::Responder,
            &ok(
                3,
                "s3",
                "RTP/AVP;unicast;client_port=7002-7003;server_port=8002-8003",
            ),
        );
        assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
        // An answer to no SETUP opens nothing.
        let out = c.send(
            Side::Responder,
            &ok(9, "s9", "RTP/AVP;unicast;client_port=1-2;server_port=3-4"),
        );
        assert!(pins(&out).is_empty());
    }

    #[test]
    fn the_fuzz_seed_session_in_255_byte_segments() {
        let c = crate::harness::drive(
            AlgKind::Rtsp,
            include_bytes!("../fuzz/seeds/rtsp/play-teardown"),
        );
        assert_eq!(
            (c.dialogs, c.dialogs_ended, c.pinholes, c.parse_errors),
            (1, 1, 4, 0)
        );
    }

    /// A real exchange: GStreamer's RTSP client and server (`tests/rtsp_e2e.rs`'s),
    /// OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN.
    #[test]
    fn a_real_gstreamer_session() {
        let mut a = Rtsp::new(
            AlgConfig::default_for(AlgKind::Rtsp),
            ctx(Proto::TCP, "10.78.9.1:40000", "10.78.9.2:8554"),
        );
        let all = replay_tcp(&mut a, include_str!("../fixtures/gst-rtsp-udp.txt"));
        let opened: Vec<(Option<IpAddr>, IpAddr, Option<u16>)> = all
            .iter()
            .filter_map(|x| match x {
                Action::Expect(e) => Some((e.src, e.dst, e.dst_port)),
                _ => None,
            })
            .collect();
        let (c, s) = (ip("10.78.9.1"), ip("10.78.9.2"));
        assert_eq!(
            opened,
            vec![
                (Some(s), c, Some(33_766)),
                (Some(s), c, Some(33_767)),
                (Some(c), s, Some(57_722)),
                (Some(c), s, Some(57_723)),
            ]
        );
        let withdrawn = all
            .iter()
            .filter(|x| matches!(x, Action::Withdraw(_)))
            .count();
        assert_eq!(withdrawn, 4, "TEARDOWN takes all four back");
        assert_eq!(a.counters().parse_errors, 0);
    }

    #[test]
    fn transport_ranges_for_nat() {
        let v = b"RTP/AVP;unicast;client_port=5000-5001;server_port=6970";
        let t = parse_transport(v, 10);
        let (a, b, r) = t.client_port.unwrap();
        assert_eq!((a, b), (5000, Some(5001)));
        assert_eq!(&v[r.start - 10..r.end - 10], b"5000-5001");
        let (c, d, r) = t.server_port.unwrap();
        assert_eq!((c, d), (6970, None));
        assert_eq!(&v[r.start - 10..r.end - 10], b"6970");
        assert!(!t.interleaved);
    }
}
