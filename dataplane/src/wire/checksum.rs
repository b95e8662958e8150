//! The internet checksum (RFC 1071), its incremental update (RFC 1624), the TCP/UDP/ICMPv6
//! pseudo-headers for IPv4 and IPv6, and `verify_*` helpers.
//!
//! Sums are one's complement sums folded to 16 bits and *not* complemented ([`data`],
//! [`pseudo_header_v4`], …); [`combine`] adds sums; the value stored in a header is the
//! complement of the total ([`finish`]). The hot path never verifies checksums (NICs do);
//! these helpers serve the reply builders, the slow path and the tests.

use super::{be16, chunk, ip_proto, parse::Parsed};

/// Folds a wide one's complement accumulator down to 16 bits.
#[inline]
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// One's complement sum of `data` taken as big-endian 16-bit words (an odd last byte is
/// padded with a zero byte), folded to 16 bits, not complemented.
#[must_use]
pub fn data(data: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        if let Some(w) = w.first_chunk::<4>() {
            sum += u64::from(u32::from_be_bytes(*w));
        }
    }
    let rest = words.remainder();
    let mut pairs = rest.chunks_exact(2);
    for w in &mut pairs {
        if let Some(w) = w.first_chunk::<2>() {
            sum += u64::from(u16::from_be_bytes(*w));
        }
    }
    if let Some(&last) = pairs.remainder().first() {
        sum += u64::from(last) << 8;
    }
    fold(sum)
}

/// One's complement sum of several partial sums.
#[must_use]
pub fn combine(sums: &[u16]) -> u16 {
    let mut acc: u64 = 0;
    for &s in sums {
        acc += u64::from(s);
    }
    fold(acc)
}

/// The checksum to store for a folded sum: its one's complement.
#[inline]
#[must_use]
pub fn finish(sum: u16) -> u16 {
    !sum
}

/// The RFC 1071 internet checksum of `bytes`, ready to store (e.g. an IPv4 header with its
/// checksum field zeroed).
#[inline]
#[must_use]
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    !data(bytes)
}

/// RFC 1624 incremental update (eqn. 3: `HC' = ~(~HC + ~m + m')`): the new checksum after
/// one 16-bit word covered by checksum `old_checksum` changed from `old` to `new`.
#[inline]
#[must_use]
pub fn update16(old_checksum: u16, old: u16, new: u16) -> u16 {
    let sum = u64::from(!old_checksum) + u64::from(!old) + u64::from(new);
    !fold(sum)
}

/// [`update16`] for a 32-bit field (an IPv4 address, a TCP sequence number).
#[inline]
#[must_use]
pub fn update32(old_checksum: u16, old: u32, new: u32) -> u16 {
    let sum = u64::from(!old_checksum)
        + u64::from(!(old >> 16) as u16)
        + u64::from(!(old as u16))
        + u64::from((new >> 16) as u16)
        + u64::from(new as u16);
    !fold(sum)
}

/// [`update16`] for a byte range of even length that changed from `old` to `new` (e.g. an
/// IPv6 address). Extra bytes of the longer slice are ignored.
#[must_use]
pub fn update_bytes(old_checksum: u16, old: &[u8], new: &[u8]) -> u16 {
    let mut sum = u64::from(!old_checksum);
    let mut o = old.chunks_exact(2);
    let mut n = new.chunks_exact(2);
    while let (Some(&[a, b]), Some(&[c, d])) = (o.next(), n.next()) {
        sum += u64::from(!be16(a, b)) + u64::from(be16(c, d));
    }
    !fold(sum)
}

/// Sum of the IPv4 pseudo-header (RFC 793 / 768): source, destination, zero, protocol,
/// upper-layer length.
#[must_use]
pub fn pseudo_header_v4(src: &[u8; 4], dst: &[u8; 4], proto: u8, len: u32) -> u16 {
    let sum = u64::from(be16(src[0], src[1]))
        + u64::from(be16(src[2], src[3]))
        + u64::from(be16(dst[0], dst[1]))
        + u64::from(be16(dst[2], dst[3]))
        + u64::from(proto)
        + u64::from(len >> 16)
        + u64::from(len & 0xffff);
    fold(sum)
}

/// Sum of the IPv6 pseudo-header (RFC 8200 8.1): source, destination, upper-layer length
/// (32 bits), three zero bytes, next header.
#[must_use]
pub fn pseudo_header_v6(src: &[u8; 16], dst: &[u8; 16], proto: u8, len: u32) -> u16 {
    let sum = u64::from(data(src))
        + u64::from(data(dst))
        + u64::from(proto)
        + u64::from(len >> 16)
        + u64::from(len & 0xffff);
    fold(sum)
}

/// The checksum to store in a TCP/UDP header carried over IPv4: `segment` is the whole
/// transport header plus payload with its checksum field zeroed. For UDP, store `0xffff`
/// when this returns 0 (0 means "no checksum").
#[must_use]
pub fn l4_checksum_v4(src: &[u8; 4], dst: &[u8; 4], proto: u8, segment: &[u8]) -> u16 {
    let ph = pseudo_header_v4(src, dst, proto, segment.len() as u32);
    !combine(&[ph, data(segment)])
}

/// The checksum to store in a TCP/UDP/ICMPv6 header carried over IPv6 (see
/// [`l4_checksum_v4`]).
#[must_use]
pub fn l4_checksum_v6(src: &[u8; 16], dst: &[u8; 16], proto: u8, segment: &[u8]) -> u16 {
    let ph = pseudo_header_v6(src, dst, proto, segment.len() as u32);
    !combine(&[ph, data(segment)])
}

/// Whether an IPv4 header (exactly its IHL*4 bytes, checksum included) sums correctly.
#[must_use]
pub fn verify_ipv4_header(header: &[u8]) -> bool {
    data(header) == 0xffff
}

/// Whether a TCP/UDP segment over IPv4 (checksum field included) sums correctly. A UDP
/// checksum of 0 means "none" and verifies.
#[must_use]
pub fn verify_l4_v4(src: &[u8; 4], dst: &[u8; 4], proto: u8, segment: &[u8]) -> bool {
    if proto == ip_proto::UDP && chunk::<8>(segment, 0).is_some_and(|u| u[6] == 0 && u[7] == 0) {
        return true;
    }
    let ph = pseudo_header_v4(src, dst, proto, segment.len() as u32);
    combine(&[ph, data(segment)]) == 0xffff
}

/// Whether a TCP/UDP/ICMPv6 segment over IPv6 (checksum field included) sums correctly.
#[must_use]
pub fn verify_l4_v6(src: &[u8; 16], dst: &[u8; 16], proto: u8, segment: &[u8]) -> bool {
    let ph = pseudo_header_v6(src, dst, proto, segment.len() as u32);
    combine(&[ph, data(segment)]) == 0xffff
}

/// Whether an ICMP (IPv4) message, header and data, sums correctly (no pseudo-header).
#[must_use]
pub fn verify_icmpv4(message: &[u8]) -> bool {
    data(message) == 0xffff
}

/// Verifies every checksum of a frame that [`parse`](super::parse()) accepted as `p`: the
/// IPv4 header checksum, and the transport checksum of an unfragmented TCP, UDP, ICMP or
/// ICMPv6 packet (other protocols and fragments carry nothing this helper can check).
/// Returns `false` if `p` does not fit `frame`. Slow path and tests only.
#[must_use]
pub fn verify_parsed(frame: &[u8], p: &Parsed) -> bool {
    let l3 = usize::from(p.l3_offset);
    let ip_end = l3 + usize::from(p.ip_len);
    let Some(ip) = frame.get(l3..ip_end) else {
        return false;
    };
    let l4 = usize::from(p.l4_offset);
    match p.family {
        4 => {
            let Some(h) = chunk::<20>(ip, 0) else {
                return false;
            };
            let ihl = usize::from(h[0] & 0x0f) * 4;
            let Some(header) = ip.get(..ihl) else {
                return false;
            };
            if !verify_ipv4_header(header) {
                return false;
            }
            if p.fragment != 0 || l4 == 0 {
                return true;
            }
            let Some(seg) = frame.get(l4..ip_end) else {
                return false;
            };
            let src = [h[12], h[13], h[14], h[15]];
            let dst = [h[16], h[17], h[18], h[19]];
            match p.proto {
                ip_proto::TCP | ip_proto::UDP => verify_l4_v4(&src, &dst, p.proto, seg),
                ip_proto::ICMP => verify_icmpv4(seg),
                _ => true,
            }
        }
        6 => {
            if p.fragment != 0 || l4 == 0 {
                return true;
            }
            let Some(seg) = frame.get(l4..ip_end) else {
                return false;
            };
            match p.proto {
                ip_proto::TCP | ip_proto::UDP | ip_proto::ICMPV6 => {
                    verify_l4_v6(&p.src, &p.dst, p.proto, seg)
                }
                _ => true,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&bytes), 0xddf2);
        assert_eq!(internet_checksum(&bytes), !0xddf2);
        // Odd length: the last byte is padded with zero.
        assert_eq!(data(&[0x12]), 0x1200);
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        assert_eq!(data(&[]), 0);
    }

    #[test]
    fn ipv4_header_checksum_known() {
        // A classic example header: checksum 0xb861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&h), 0xb861);
        h[10] = 0xb8;
        h[11] = 0x61;
        assert!(verify_ipv4_header(&h));
        h[8] = 0x3f;
        assert!(!verify_ipv4_header(&h));
    }

    #[test]
    fn incremental_update_matches_recompute() {
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        // TTL 64 -> 63 (word at offset 8: 0x4011 -> 0x3f11).
        let c = update16(0xb861, 0x4011, 0x3f11);
        h[8] = 0x3f;
        h[10] = 0;
        h[11] = 0;
        assert_eq!(c, internet_checksum(&h));
        // Source address 192.168.0.1 -> 10.1.2.3.
        let c2 = update32(c, 0xc0a8_0001, 0x0a01_0203);
        h[12..16].copy_from_slice(&[10, 1, 2, 3]);
        assert_eq!(c2, internet_checksum(&h));
        // Back again, bytewise.
        let c3 = update_bytes(c2, &[10, 1, 2, 3], &[0xc0, 0xa8, 0x00, 0x01]);
        h[12..16].copy_from_slice(&[0xc0, 0xa8, 0x00, 0x01]);
        assert_eq!(c3, internet_checksum(&h));
    }

    #[test]
    fn udp_zero_checksum_is_none_over_ipv4() {
        let seg = [0x12, 0x34, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00];
        assert!(verify_l4_v4(
            &[1, 2, 3, 4],
            &[5, 6, 7, 8],
            ip_proto::UDP,
            &seg
        ));
        assert!(!verify_l4_v4(
            &[1, 2, 3, 4],
            &[5, 6, 7, 8],
            ip_proto::TCP,
            &seg
        ));
    }

    #[test]
    fn l4_checksum_roundtrip() {
        let src = [10, 0, 0, 1];
        let dst = [10, 0, 0, 2];
        let mut seg = [
            0x04, 0xd2, 0x00, 0x50, 0x00, 0x0b, 0x00, 0x00, b'h', b'i', b'!',
        ];
        let c = l4_checksum_v4(&src, &dst, ip_proto::UDP, &seg);
        seg[6..8].copy_from_slice(&c.to_be_bytes());
        assert!(verify_l4_v4(&src, &dst, ip_proto::UDP, &seg));
        let mut s6 = [0u8; 16];
        s6[0] = 0x20;
        s6[15] = 1;
        let mut d6 = s6;
        d6[15] = 2;
        seg[6] = 0;
        seg[7] = 0;
        let c = l4_checksum_v6(&s6, &d6, ip_proto::UDP, &seg);
        seg[6..8].copy_from_slice(&c.to_be_bytes());
        assert!(verify_l4_v6(&s6, &d6, ip_proto::UDP, &seg));
        seg[9] ^= 1;
        assert!(!verify_l4_v6(&s6, &d6, ip_proto::UDP, &seg));
    }
}
