//! SIP message framing and the headers the ALG reads (RFC 3261 §7, §20).
//!
//! [`parse`] takes the bytes from the start of a message: the start line (request or
//! status), the header fields up to the empty line, then a body of `Content-Length` bytes
//! (over UDP a missing length means "the rest of the datagram"). Long and compact header
//! names are both understood (`Call-ID` / `i`, `Content-Length` / `l`, `Content-Type` /
//! `c`, `Contact` / `m`, `Via` / `v`). Ranges are relative to the message's first byte, so
//! a NAT can rewrite what they cover.

use core::net::IpAddr;
use core::ops::Range;

use crate::parse::{dec, head_end, header_lines, ip_text, trim, Parse};

/// The longest header section (start line and headers) accepted.
pub const MAX_HEAD: usize = 8192;

/// A SIP method the ALG acts on (the others are counted and passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE (opens or re-negotiates a dialog).
    Invite,
    /// ACK (may carry a late answer or offer).
    Ack,
    /// BYE (ends the dialog).
    Bye,
    /// CANCEL (ends a pending INVITE).
    Cancel,
    /// REGISTER (binds a contact).
    Register,
    /// UPDATE (changes media inside a dialog).
    Update,
    /// PRACK (may carry an answer to a reliable provisional response).
    Prack,
    /// Any other method (OPTIONS, INFO, MESSAGE, …).
    Other,
}

impl Method {
    fn from_token(t: &[u8]) -> Method {
        match t {
            b"INVITE" => Method::Invite,
            b"ACK" => Method::Ack,
            b"BYE" => Method::Bye,
            b"CANCEL" => Method::Cancel,
            b"REGISTER" => Method::Register,
            b"UPDATE" => Method::Update,
            b"PRACK" => Method::Prack,
            _ => Method::Other,
        }
    }
}

/// Request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine {
    /// A request with its method.
    Request(Method),
    /// A response with its status code (100-699).
    Response(u16),
}

/// A `host[:port]` inside a header (Via's sent-by, Contact's URI host part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// The host as an address (`None`: a domain name).
    pub addr: Option<IpAddr>,
    /// The port, when given.
    pub port: Option<u16>,
    /// The bytes of `host[:port]` in the message.
    pub range: Range<usize>,
}

/// What the ALG reads from one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Request or response.
    pub start: StartLine,
    /// The Call-ID value.
    pub call_id: Range<usize>,
    /// CSeq number and method.
    pub cseq: (u32, Method),
    /// The first Via's sent-by.
    pub via: Option<HostPort>,
    /// The first Contact's URI host and port.
    pub contact: Option<HostPort>,
    /// `Expires` header or the first Contact's `expires` parameter, seconds.
    pub expires: Option<u32>,
    /// The body holds an SDP session description.
    pub sdp: bool,
    /// The body.
    pub body: Range<usize>,
    /// The whole message's length (head and body).
    pub len: usize,
}

/// Which header a name is (long or compact form); `None` for those the ALG ignores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    CallId,
    CSeq,
    ContentLength,
    ContentType,
    Contact,
    Via,
    Expires,
}

fn header(name: &[u8]) -> Option<Header> {
    const NAMES: [(&[u8], Header); 12] = [
        (b"call-id", Header::CallId),
        (b"i", Header::CallId),
        (b"cseq", Header::CSeq),
        (b"content-length", Header::ContentLength),
        (b"l", Header::ContentLength),
        (b"content-type", Header::ContentType),
        (b"c", Header::ContentType),
        (b"contact", Header::Contact),
        (b"m", Header::Contact),
        (b"via", Header::Via),
        (b"v", Header::Via),
        (b"expires", Header::Expires),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, h)| *h)
}

/// A `host[:port]` starting at `at`: an IPv6 reference in brackets, else up to `:`, `;`,
/// `>`, `,`, `?` or white space.
fn host_port(b: &[u8], at: usize, end: usize) -> Option<HostPort> {
    let s = b.get(at..end)?;
    let (host, after) = if s.first() == Some(&b'[') {
        let close = s.iter().position(|&c| c == b']')?;
        (1..close, close + 1)
    } else {
        let n = s
            .iter()
            .position(|&c| matches!(c, b':' | b';' | b'>' | b',' | b'?') || c.is_ascii_whitespace())
            .unwrap_or(s.len());
        (0..n, n)
    };
    if host.is_empty() {
        return None;
    }
    let addr = ip_text(s.get(host)?);
    let (port, stop) = if s.get(after) == Some(&b':') {
        let (p, n) = dec(s.get(after + 1..)?, 65_535)?;
        (Some(u16::try_from(p).ok()?), after + 1 + n)
    } else {
        (None, after)
    };
    Some(HostPort {
        addr,
        port,
        range: at..at + stop,
    })
}

/// The host of a `sip:`/`sips:` URI in a Contact value (after any display name).
fn contact_uri(b: &[u8], v: Range<usize>) -> (Option<HostPort>, Option<u32>) {
    let s = b.get(v.clone()).unwrap_or(&[]);
    let Some(scheme) = s
        .windows(4)
        .position(|w| w.eq_ignore_ascii_case(b"sip:"))
        .map(|i| i + 4)
        .or_else(|| {
            s.windows(5)
                .position(|w| w.eq_ignore_ascii_case(b"sips:"))
                .map(|i| i + 5)
        })
    else {
        return (None, None);
    };
    // user@ part, if any, ends before the host.
    let uri_end = s
        .get(scheme..)
        .and_then(|r| r.iter().position(|&c| c == b'>' || c == b';' || c == b','))
        .map_or(s.len(), |n| scheme + n);
    let host_at = s
        .get(scheme..uri_end)
        .and_then(|r| r.iter().position(|&c| c == b'@'))
        .map_or(scheme, |n| scheme + n + 1);
    let hp = host_port(b, v.start + host_at, v.end);
    // ";expires=N" after the URI (header parameter).
    let expires = s
        .windows(8)
        .position(|w| w.eq_ignore_ascii_case(b"expires="))
        .and_then(|i| dec(s.get(i + 8..)?, u32::MAX))
        .map(|(n, _)| n);
    (hp, expires)
}

/// Parses one message from the start of `b`. `datagram`: `b` is a whole UDP payload (the
/// body runs to its end when there is no Content-Length).
///
/// [`Parse::Partial`] while the head or the body is incomplete (TCP); [`Parse::NoMatch`]
/// for what is not a SIP message (no start line, no Call-ID or CSeq, a bad length, a head
/// longer than [`MAX_HEAD`]).
#[must_use]
pub fn parse(b: &[u8], datagram: bool) -> Parse<Message> {
    let Some(head) = head_end(b) else {
        return if datagram || b.len() >= MAX_HEAD {
            Parse::NoMatch
        } else {
            Parse::Partial
        };
    };
    if head > MAX_HEAD {
        return Parse::NoMatch;
    }
    let first_nl = b.iter().position(|&c| c == b'\n').unwrap_or(0);
    let line = trim(b, 0..first_nl);
    let Some(start) = start_line(b.get(line).unwrap_or(&[])) else {
        return Parse::NoMatch;
    };
    let mut call_id = None;
    let mut cseq = None;
    let mut clen: Option<usize> = None;
    let mut sdp = false;
    let mut via = None;
    let mut contact = None;
    let mut expires = None;
    for (name, value) in header_lines(b, head) {
        let Some(h) = b.get(name).and_then(header) else {
            continue;
        };
        let v = b.get(value.clone()).unwrap_or(&[]);
        match h {
            Header::CallId if call_id.is_none() && !v.is_empty() => call_id = Some(value),
            Header::CSeq if cseq.is_none() => {
                let Some((n, len)) = dec(v, u32::MAX) else {
                    return Parse::NoMatch;
                };
                let m = trim(v, len..v.len());
                cseq = Some((n, Method::from_token(v.get(m).unwrap_or(&[]))));
            }
            Header::ContentLength => match dec(v, 1 << 20) {
                Some((n, len)) if len == v.len() => clen = Some(n as usize),
                _ => return Parse::NoMatch,
            },
            Header::ContentType => {
                sdp = v.len() >= 15
                    && v.get(..15)
                        .is_some_and(|t| t.eq_ignore_ascii_case(b"application/sdp"));
            }
            Header::Via if via.is_none() => {
                // "SIP/2.0/UDP host:port;params"
                let sp = v.iter().position(u8::is_ascii_whitespace);
                if let Some(sp) = sp {
                    let mut h = value.start + sp;
                    while b.get(h).is_some_and(u8::is_ascii_whitespace) {
                        h += 1;
                    }
                    via = host_port(b, h, value.end);
                }
            }
            Header::Contact if contact.is_none() => {
                let (hp, e) = contact_uri(b, value);
                contact = hp;
                if e.is_some() {
                    expires = expires.or(e);
                }
            }
            Header::Expires => {
                if let Some((n, _)) = dec(v, u32::MAX) {
                    expires = Some(n);
                }
            }
            _ => {}
        }
    }
    let (Some(call_id), Some(cseq)) = (call_id, cseq) else {
        return Parse::NoMatch;
    };
    let body_len = match (clen, datagram) {
        (Some(n), true) if head + n > b.len() => return Parse::NoMatch,
        (Some(n), _) => n,
        (None, true) => b.len() - head,
        (None, false) => 0,
    };
    let len = head + body_len;
    if len > b.len() {
        return Parse::Partial;
    }
    Parse::Found(
        Message {
            start,
            call_id,
            cseq,
            via,
            contact,
            expires,
            sdp,
            body: head..len,
            len,
        },
        0..len,
    )
}

fn start_line(l: &[u8]) -> Option<StartLine> {
    if let Some(rest) = l.strip_prefix(b"SIP/2.0 ") {
        let (code, n) = dec(rest, 699)?;
        if n != 3 || code < 100 {
            return None;
        }
        return Some(StartLine::Response(u16::try_from(code).ok()?));
    }
    let sp = l.iter().position(|&c| c == b' ')?;
    let method = l.get(..sp)?;
    if method.is_empty() || !method.iter().all(u8::is_ascii_uppercase) || !l.ends_with(b" SIP/2.0")
    {
        return None;
    }
    Some(StartLine::Request(Method::from_token(method)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@192.0.2.20 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n\
From: <sip:alice@192.0.2.10>;tag=1\r\n\
To: <sip:bob@192.0.2.20>\r\n\
i: 1-2@192.0.2.10\r\n\
CSeq: 1 INVITE\r\n\
m: \"Alice\" <sip:alice@192.0.2.10:5062;transport=udp>\r\n\
c: application/sdp\r\n\
l: 4\r\n\
\r\n\
v=0\n";

    #[test]
    fn request_with_compact_headers() {
        let Parse::Found(m, r) = parse(INVITE, true) else {
            panic!("not parsed");
        };
        assert_eq!(r.end, INVITE.len());
        assert_eq!(m.start, StartLine::Request(Method::Invite));
        assert_eq!(&INVITE[m.call_id.clone()], b"1-2@192.0.2.10");
        assert_eq!(m.cseq, (1, Method::Invite));
        assert!(m.sdp);
        assert_eq!(&INVITE[m.body.clone()], b"v=0\n");
        let via = m.via.unwrap();
        assert_eq!(&INVITE[via.range], b"192.0.2.10:5060");
        assert_eq!(via.port, Some(5060));
        let c = m.contact.unwrap();
        assert_eq!(&INVITE[c.range], b"192.0.2.10:5062");
        assert_eq!(c.addr, Some("192.0.2.10".parse().unwrap()));
    }

    #[test]
    fn stream_framing_waits_for_head_and_body() {
        for cut in [10, 60, INVITE.len() - 4, INVITE.len() - 1] {
            assert_eq!(parse(&INVITE[..cut], false), Parse::Partial, "cut at {cut}");
        }
        let mut two = INVITE.to_vec();
        two.extend_from_slice(INVITE);
        let Parse::Found(m, _) = parse(&two, false) else {
            panic!()
        };
        assert_eq!(m.len, INVITE.len());
    }

    #[test]
    fn responses_and_refusals() {
        let ok = b"SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n";
        let Parse::Found(m, _) = parse(ok, true) else {
            panic!()
        };
        assert_eq!(m.start, StartLine::Response(200));
        assert_eq!(m.cseq, (7, Method::Bye));
        assert_eq!(m.body.len(), 0);
        // No Call-ID, a bad length, a length beyond the datagram, not SIP.
        assert_eq!(
            parse(b"SIP/2.0 200 OK\r\nCSeq: 1 BYE\r\n\r\n", true),
            Parse::NoMatch
        );
        assert_eq!(
            parse(
                b"SIP/2.0 200 OK\r\ni: a\r\nCSeq: 1 BYE\r\nl: 1x\r\n\r\n",
                true
            ),
            Parse::NoMatch
        );
        assert_eq!(
            parse(
                b"SIP/2.0 200 OK\r\ni: a\r\nCSeq: 1 BYE\r\nl: 9\r\n\r\nabc",
                true
            ),
            Parse::NoMatch
        );
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n", true), Parse::NoMatch);
        assert_eq!(
            parse(b"SIP/2.0 99 X\r\ni: a\r\nCSeq: 1 A\r\n\r\n", true),
            Parse::NoMatch
        );
    }

    #[test]
    fn register_contact_expiry_and_ipv6_host() {
        let reg = b"REGISTER sip:[2001:db8::1] SIP/2.0\r\n\
Via: SIP/2.0/TCP [2001:db8::10]:5070\r\n\
Call-ID: r1\r\nCSeq: 2 REGISTER\r\n\
Contact: <sip:alice@[2001:db8::10]:5070>;expires=600\r\n\r\n";
        let Parse::Found(m, _) = parse(reg, false) else {
            panic!()
        };
        assert_eq!(m.start, StartLine::Request(Method::Register));
        let c = m.contact.unwrap();
        assert_eq!(c.addr, Some("2001:db8::10".parse().unwrap()));
        assert_eq!(c.port, Some(5070));
        assert_eq!(m.expires, Some(600));
        assert_eq!(m.via.unwrap().port, Some(5070));
    }
}
