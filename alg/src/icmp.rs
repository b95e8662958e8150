//! ICMP and ICMPv6 errors: which ones are errors, the flow they quote, and how they relate
//! to a session.
//!
//! An ICMP error (destination unreachable, time exceeded, packet too big, parameter
//! problem, ...) carries the head of the packet that caused it: the *quoted* packet, as its
//! sender sent it. The error belongs to the session of that packet: the dataplane parses
//! the quote ([`quoted_tuple`]), checks the error travels back to the quoted packet's
//! sender ([`icmp_error_relation`]), looks the session up with the quoted tuple, counts the
//! error there and passes it only if that session exists.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::parse::{be16, Parse};
use crate::types::{FiveTuple, Proto};

/// What an ICMP / ICMPv6 message is, for session handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpClass {
    /// Destination unreachable; `port` is true for port unreachable (a traceroute probe
    /// reached its destination).
    DestUnreachable {
        /// Port unreachable (v4 code 3, v6 code 4).
        port: bool,
    },
    /// Time exceeded in transit (a traceroute hop's answer) or in reassembly.
    TimeExceeded,
    /// Packet too big (ICMPv6 2; ICMP "fragmentation needed" is `DestUnreachable`).
    PacketTooBig,
    /// Parameter problem.
    ParamProblem,
    /// Source quench or redirect: errors that svcard does not pass.
    Other,
    /// Not an error (echo, neighbour discovery, ...): a flow of its own.
    NotError,
}

impl IcmpClass {
    /// True for the error classes that quote a packet.
    #[must_use]
    pub fn is_error(self) -> bool {
        !matches!(self, IcmpClass::NotError)
    }
}

/// Classifies an ICMP (`v6` false) or ICMPv6 (`v6` true) type and code.
#[must_use]
pub fn classify(v6: bool, icmp_type: u8, code: u8) -> IcmpClass {
    if v6 {
        match icmp_type {
            1 => IcmpClass::DestUnreachable { port: code == 4 },
            2 => IcmpClass::PacketTooBig,
            3 => IcmpClass::TimeExceeded,
            4 => IcmpClass::ParamProblem,
            _ => IcmpClass::NotError,
        }
    } else {
        match icmp_type {
            3 => IcmpClass::DestUnreachable { port: code == 3 },
            11 => IcmpClass::TimeExceeded,
            12 => IcmpClass::ParamProblem,
            4 | 5 => IcmpClass::Other,
            _ => IcmpClass::NotError,
        }
    }
}

/// Parses the quoted packet of an ICMP error (the bytes after the 8-byte ICMP header): the
/// quoted IP header and the first 4 bytes of its transport header (ports for TCP, UDP,
/// SCTP; 0 for other protocols). IPv6 extension headers are not walked: a quote whose next
/// header is not a transport is returned with ports 0. The range covers the quoted IP
/// header. [`Parse::Partial`] when the quote is too short, [`Parse::NoMatch`] when the IP
/// version does not match `v6` or the header is malformed.
#[must_use]
pub fn quoted_tuple(v6: bool, q: &[u8]) -> Parse<FiveTuple> {
    let Some(&vihl) = q.first() else {
        return Parse::Partial;
    };
    let (proto, src, dst, l4) = if v6 {
        if vihl >> 4 != 6 {
            return Parse::NoMatch;
        }
        let (Some(&nh), Some(s), Some(d)) = (q.get(6), q.get(8..24), q.get(24..40)) else {
            return Parse::Partial;
        };
        let mut sa = [0u8; 16];
        sa.copy_from_slice(s);
        let mut da = [0u8; 16];
        da.copy_from_slice(d);
        (
            nh,
            IpAddr::V6(Ipv6Addr::from(sa)),
            IpAddr::V6(Ipv6Addr::from(da)),
            40usize,
        )
    } else {
        if vihl >> 4 != 4 {
            return Parse::NoMatch;
        }
        let ihl = usize::from(vihl & 0xf) * 4;
        if ihl < 20 {
            return Parse::NoMatch;
        }
        let (Some(&p), Some(s), Some(d)) = (q.get(9), q.get(12..16), q.get(16..20)) else {
            return Parse::Partial;
        };
        let v4 = |b: &[u8]| {
            IpAddr::V4(Ipv4Addr::new(
                b.first().copied().unwrap_or(0),
                b.get(1).copied().unwrap_or(0),
                b.get(2).copied().unwrap_or(0),
                b.get(3).copied().unwrap_or(0),
            ))
        };
        (p, v4(s), v4(d), ihl)
    };
    let proto = Proto(proto);
    let ported = matches!(proto.0, 6 | 17 | 132 | 136);
    let (src_port, dst_port) = if ported {
        match (be16(q, l4), be16(q, l4 + 2)) {
            (Some(s), Some(d)) => (s, d),
            _ => return Parse::Partial,
        }
    } else {
        (0, 0)
    };
    Parse::Found(
        FiveTuple {
            proto,
            src,
            src_port,
            dst,
            dst_port,
        },
        0..l4,
    )
}

/// Ties an ICMP error to the session of the packet it quotes: `Some(key)` — the quoted
/// tuple, in the direction its sender sent it, which is the session lookup key — when the
/// error travels back to that sender (`outer_dst` is the quoted source); `None` for an
/// error sent anywhere else (misdirected or forged: not passed).
#[must_use]
pub fn icmp_error_relation(outer_dst: IpAddr, inner: FiveTuple) -> Option<FiveTuple> {
    (outer_dst == inner.src).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::ip;

    /// The quote in a time-exceeded answer to a Linux traceroute probe:
    /// 192.0.2.10:45000 -> 198.51.100.20:33435 UDP, TTL 1.
    const QUOTE_V4: &[u8] = b"\x45\x00\x00\x3c\x12\x34\x00\x00\x01\x11\x00\x00\
\xc0\x00\x02\x0a\xc6\x33\x64\x14\
\xaf\xc8\x82\x9b\x00\x28\x00\x00";

    #[test]
    fn classify_types() {
        assert_eq!(classify(false, 11, 0), IcmpClass::TimeExceeded);
        assert_eq!(
            classify(false, 3, 3),
            IcmpClass::DestUnreachable { port: true }
        );
        assert_eq!(
            classify(false, 3, 4),
            IcmpClass::DestUnreachable { port: false }
        );
        assert_eq!(classify(false, 8, 0), IcmpClass::NotError);
        assert_eq!(classify(false, 5, 1), IcmpClass::Other);
        assert_eq!(classify(true, 3, 0), IcmpClass::TimeExceeded);
        assert_eq!(
            classify(true, 1, 4),
            IcmpClass::DestUnreachable { port: true }
        );
        assert_eq!(classify(true, 2, 0), IcmpClass::PacketTooBig);
        assert_eq!(classify(true, 128, 0), IcmpClass::NotError);
        assert!(!IcmpClass::NotError.is_error());
    }

    #[test]
    fn quote_v4_and_v6() {
        let t = FiveTuple {
            proto: Proto::UDP,
            src: ip("192.0.2.10"),
            src_port: 45000,
            dst: ip("198.51.100.20"),
            dst_port: 33435,
        };
        assert_eq!(quoted_tuple(false, QUOTE_V4), Parse::Found(t, 0..20));
        assert_eq!(icmp_error_relation(ip("192.0.2.10"), t), Some(t));
        assert_eq!(icmp_error_relation(ip("192.0.2.99"), t), None);
        assert_eq!(quoted_tuple(false, &QUOTE_V4[..22]), Parse::Partial);
        assert_eq!(quoted_tuple(true, QUOTE_V4), Parse::NoMatch);
        let mut bad = QUOTE_V4.to_vec();
        bad[0] = 0x44;
        assert_eq!(quoted_tuple(false, &bad), Parse::NoMatch);

        let mut q6 = vec![0x60, 0, 0, 0, 0, 8, 17, 1];
        q6.extend_from_slice(&ip6("2001:db8::10"));
        q6.extend_from_slice(&ip6("2001:db8:1::20"));
        q6.extend_from_slice(&[0xaf, 0xc8, 0x82, 0x9a, 0, 8, 0, 0]);
        let Parse::Found(t6, r) = quoted_tuple(true, &q6) else {
            panic!()
        };
        assert_eq!(
            (t6.dst_port, t6.dst, r),
            (33434, ip("2001:db8:1::20"), 0..40)
        );
        // ICMP echo quoted: no ports.
        let mut echo = QUOTE_V4[..20].to_vec();
        echo[9] = 1;
        let Parse::Found(te, _) = quoted_tuple(false, &echo) else {
            panic!()
        };
        assert_eq!((te.src_port, te.dst_port), (0, 0));
        assert_eq!(quoted_tuple(false, &[]), Parse::Partial);
    }

    fn ip6(s: &str) -> [u8; 16] {
        s.parse::<Ipv6Addr>().unwrap().octets()
    }
}
