//! The parts of an SDP session description (RFC 4566, RFC 3605) that say where media is
//! received: the session's and each medium's `c=` address, each `m=` line's port and
//! transport, `a=rtcp:` and the direction attributes. Ranges are relative to the body's
//! first byte.

use core::net::IpAddr;
use core::ops::Range;

use crate::parse::{dec, ip_text};

/// The most media lines read from one description.
pub const MAX_MEDIA: usize = 4;

/// One `m=` line as the ALG uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Where the sender of the description receives it (the medium's `c=`, else the
    /// session's); `None` when neither gives a usable address.
    pub addr: Option<IpAddr>,
    /// The `c=` address text that gave `addr`.
    pub addr_range: Option<Range<usize>>,
    /// The RTP port (0: the stream is refused or disabled).
    pub port: u16,
    /// The port digits of the `m=` line.
    pub port_range: Range<usize>,
    /// RTCP's port and address (`a=rtcp:`), else the RTP port + 1 on the same address.
    pub rtcp: Option<(u16, Option<IpAddr>)>,
    /// `a=inactive` (on the medium or the session): nothing flows.
    pub inactive: bool,
    /// An RTP / UDP transport (`RTP/AVP`, `RTP/SAVP`, `udp`, …); TCP media open nothing.
    pub udp: bool,
}

impl Media {
    /// True when the medium asks for packets: an address, a port, a UDP transport, not
    /// inactive, an address that is neither unspecified (old-style hold) nor multicast.
    #[must_use]
    pub fn wants_packets(&self) -> bool {
        self.port != 0
            && self.udp
            && !self.inactive
            && self
                .addr
                .is_some_and(|a| !a.is_unspecified() && !a.is_multicast())
    }

    /// The RTCP port and address the medium uses (`None` for port 0 or none).
    #[must_use]
    pub fn rtcp_endpoint(&self) -> Option<(IpAddr, u16)> {
        let (port, addr) = match self.rtcp {
            Some((p, a)) => (p, a.or(self.addr)),
            None => (self.port.checked_add(1)?, self.addr),
        };
        (port != 0).then_some(())?;
        let addr = addr.filter(|a| !a.is_unspecified() && !a.is_multicast())?;
        Some((addr, port))
    }
}

/// A parsed description: up to [`MAX_MEDIA`] media, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sdp {
    /// The media lines.
    pub media: [Option<Media>; MAX_MEDIA],
    /// Media lines beyond [`MAX_MEDIA`] (ignored).
    pub ignored: u8,
}

impl Sdp {
    /// The media read.
    pub fn iter(&self) -> impl Iterator<Item = &Media> + '_ {
        self.media.iter().filter_map(Option::as_ref)
    }
}

/// `IN IP4 addr` / `IN IP6 addr` (after `c=`, or in `a=rtcp:port IN IP4 addr`): the
/// address and its byte range (relative to `base`).
fn conn_addr(v: &[u8], base: usize) -> Option<(IpAddr, Range<usize>)> {
    let mut it = v.split(|&c| c == b' ');
    if it.next()? != b"IN" {
        return None;
    }
    let fam = it.next()?;
    let a = it.next()?;
    // Multicast "addr/ttl": the address ends at '/'.
    let a = a.split(|&c| c == b'/').next()?;
    let ip = ip_text(a)?;
    let ok = matches!((fam, ip), (b"IP4", IpAddr::V4(_)) | (b"IP6", IpAddr::V6(_)));
    if !ok {
        return None;
    }
    let off = 2 + 1 + fam.len() + 1;
    Some((ip, base + off..base + off + a.len()))
}

/// Parses a description. Malformed lines are skipped; what cannot be used stays `None`.
#[must_use]
pub fn parse(b: &[u8]) -> Sdp {
    let mut sdp = Sdp::default();
    let mut session_addr: Option<(IpAddr, Range<usize>)> = None;
    let mut session_inactive = false;
    let mut current: Option<usize> = None;
    let mut at = 0;
    while at < b.len() {
        let nl = b
            .get(at..)
            .and_then(|r| r.iter().position(|&c| c == b'\n'))
            .map_or(b.len(), |n| at + n);
        let mut end = nl;
        if end > at && b.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        let line = b.get(at..end).unwrap_or(&[]);
        let base = at;
        at = nl + 1;
        let (Some(&t), Some(b'=')) = (line.first(), line.get(1)) else {
            continue;
        };
        let v = line.get(2..).unwrap_or(&[]);
        let vbase = base + 2;
        match t {
            b'c' => {
                if let Some(c) = conn_addr(v, vbase) {
                    match current
                        .and_then(|i| sdp.media.get_mut(i))
                        .and_then(Option::as_mut)
                    {
                        Some(m) => {
                            m.addr = Some(c.0);
                            m.addr_range = Some(c.1);
                        }
                        None if current.is_none() => session_addr = Some(c),
                        None => {}
                    }
                }
            }
            b'm' => {
                let i = sdp.media.iter().position(Option::is_none);
                current = i.or(Some(MAX_MEDIA));
                let Some(i) = i else {
                    sdp.ignored = sdp.ignored.saturating_add(1);
                    continue;
                };
                let mut parts = v.split(|&c| c == b' ');
                let _kind = parts.next();
                let Some(pf) = parts.next() else { continue };
                let Some((port, n)) = dec(pf, 65_535) else {
                    continue;
                };
                let proto = parts.next().unwrap_or(&[]);
                let udp = proto.windows(3).any(|w| w.eq_ignore_ascii_case(b"RTP"))
                    || proto.eq_ignore_ascii_case(b"udp");
                let kind_len = v.iter().position(|&c| c == b' ').unwrap_or(0);
                let ps = vbase + kind_len + 1;
                if let Some(slot) = sdp.media.get_mut(i) {
                    *slot = Some(Media {
                        addr: session_addr.as_ref().map(|c| c.0),
                        addr_range: session_addr.as_ref().map(|c| c.1.clone()),
                        port: u16::try_from(port).unwrap_or(0),
                        port_range: ps..ps + n,
                        rtcp: None,
                        inactive: session_inactive,
                        udp,
                    });
                }
            }
            b'a' => {
                let m = current
                    .and_then(|i| sdp.media.get_mut(i))
                    .and_then(Option::as_mut);
                if v == b"inactive" {
                    match (current, m) {
                        (None, _) => session_inactive = true,
                        (Some(_), Some(m)) => m.inactive = true,
                        _ => {}
                    }
                } else if let (Some(rest), Some(m)) = (v.strip_prefix(b"rtcp:"), m) {
                    if let Some((p, n)) = dec(rest, 65_535) {
                        let addr = rest
                            .get(n..)
                            .map(|r| r.strip_prefix(b" ").unwrap_or(r))
                            .and_then(|r| conn_addr(r, 0))
                            .map(|c| c.0);
                        if let Ok(p) = u16::try_from(p) {
                            m.rtcp = Some((p, addr));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    sdp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_and_media_connection() {
        let b = b"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\na=rtcp:6005\r\n\
m=video 6010 RTP/AVP 96\r\nc=IN IP4 192.0.2.11\r\n\
m=audio 0 RTP/AVP 0\r\n\
m=application 7000 TCP/BFCP *\r\n";
        let s = parse(b);
        let m: Vec<&Media> = s.iter().collect();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].addr, Some("192.0.2.10".parse().unwrap()));
        assert_eq!(&b[m[0].addr_range.clone().unwrap()], b"192.0.2.10");
        assert_eq!(m[0].port, 6000);
        assert_eq!(&b[m[0].port_range.clone()], b"6000");
        assert_eq!(
            m[0].rtcp_endpoint(),
            Some(("192.0.2.10".parse().unwrap(), 6005))
        );
        assert!(m[0].wants_packets());
        assert_eq!(m[1].addr, Some("192.0.2.11".parse().unwrap()));
        assert_eq!(m[1].rtcp_endpoint().unwrap().1, 6011);
        assert!(!m[2].wants_packets(), "port 0");
        assert!(!m[3].wants_packets(), "TCP media");
    }

    #[test]
    fn ipv6_inactive_hold_and_rtcp_address() {
        let b = b"v=0\nc=IN IP6 2001:db8::10\nm=audio 4000 RTP/AVP 0\na=rtcp:4001 IN IP6 2001:db8::11\n\
m=audio 4002 RTP/AVP 0\na=inactive\n";
        let s = parse(b);
        let m: Vec<&Media> = s.iter().collect();
        assert_eq!(m[0].addr, Some("2001:db8::10".parse().unwrap()));
        assert_eq!(
            m[0].rtcp_endpoint(),
            Some(("2001:db8::11".parse().unwrap(), 4001))
        );
        assert!(!m[1].wants_packets());
        let hold = parse(b"c=IN IP4 0.0.0.0\nm=audio 4000 RTP/AVP 0\n");
        assert!(!hold.iter().next().unwrap().wants_packets());
        let inactive = parse(b"c=IN IP4 192.0.2.1\na=inactive\nm=audio 4000 RTP/AVP 0\n");
        assert!(inactive.iter().next().unwrap().inactive);
        // A family that does not match its address is not used.
        let bad = parse(b"c=IN IP4 2001:db8::1\nm=audio 4000 RTP/AVP 0\n");
        assert_eq!(bad.iter().next().unwrap().addr, None);
    }

    #[test]
    fn too_many_media() {
        let mut b = b"c=IN IP4 192.0.2.1\n".to_vec();
        for i in 0..6 {
            b.extend_from_slice(format!("m=audio {} RTP/AVP 0\n", 4000 + 2 * i).as_bytes());
        }
        let s = parse(&b);
        assert_eq!(s.iter().count(), MAX_MEDIA);
        assert_eq!(s.ignored, 2);
    }
}
