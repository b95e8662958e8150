//! NAT's in-place rewrite of an IPv4 packet: one end's address and port (ICMP echo: the
//! identifier), with the IPv4, TCP, UDP and ICMP checksums updated incrementally (RFC 1624)
//! rather than recomputed, so the cost does not grow with the payload.

use super::{be16, ethertype, ip_proto};

/// Which end of a packet a translation rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The source (an initiator's packet going out).
    Src,
    /// The destination (a reply coming back).
    Dst,
}

/// Where the IPv4 header of an Ethernet frame starts: untagged, or under one 802.1Q /
/// 802.1ad tag. `None`: not IPv4.
#[inline]
#[must_use]
pub fn ipv4_offset(frame: &[u8]) -> Option<usize> {
    let et = be16(*frame.get(12)?, *frame.get(13)?);
    match et {
        ethertype::IPV4 => Some(14),
        ethertype::VLAN | ethertype::QINQ => {
            (be16(*frame.get(16)?, *frame.get(17)?) == ethertype::IPV4).then_some(18)
        }
        _ => None,
    }
}

/// Writes `addr`:`port` into `end` of the IPv4 packet of `frame` (an Ethernet frame) and
/// updates the checksums. A later fragment (no L4 header) gets its address only; a UDP
/// checksum of 0 (none) stays 0; an ICMP message other than an echo gets its address only.
/// Returns false, with nothing written, when the frame is not an IPv4 packet long enough
/// for the fields.
#[inline]
pub fn rewrite_v4(frame: &mut [u8], end: End, addr: [u8; 4], port: u16) -> bool {
    let Some(l3) = ipv4_offset(frame) else {
        return false;
    };
    let Some(ip) = frame.get(l3..) else {
        return false;
    };
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return false;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let proto = ip[9];
    let at = if end == End::Src { 12 } else { 16 };
    let old_addr = [ip[at], ip[at + 1], ip[at + 2], ip[at + 3]];
    // The port (ICMP: identifier) the rewrite replaces, where there is one.
    let po = match proto {
        ip_proto::ICMP => ihl + 4,
        _ if end == End::Src => ihl,
        _ => ihl + 2,
    };
    let old_port = ip.get(po..po + 2).map_or(0, |b| be16(b[0], b[1]));
    let (adj_ip, adj_l4) = adjustments(proto, old_addr, addr, old_port, port);
    rewrite_v4_adj(frame, end, addr, port, adj_ip, adj_l4)
}

/// One's complement sum of two 16-bit sums, folded.
#[inline(always)]
fn add1c(a: u16, b: u16) -> u16 {
    let s = u32::from(a) + u32::from(b);
    ((s & 0xffff) + (s >> 16)) as u16
}

/// The checksum adjustments (IPv4 header, L4) for rewriting `old_addr`:`old_port` to
/// `new_addr`:`new_port` (RFC 1624 eqn. 3, the part that does not depend on the packet).
/// ICMP echo (`proto` 1): the L4 adjustment covers the identifier only (no pseudo-header).
#[must_use]
pub fn adjustments(
    proto: u8,
    old_addr: [u8; 4],
    new_addr: [u8; 4],
    old_port: u16,
    new_port: u16,
) -> (u16, u16) {
    let w = |a: [u8; 4]| (be16(a[0], a[1]), be16(a[2], a[3]));
    let ((o1, o2), (n1, n2)) = (w(old_addr), w(new_addr));
    let ip = add1c(add1c(!o1, !o2), add1c(n1, n2));
    let port = add1c(!old_port, new_port);
    let l4 = if proto == ip_proto::ICMP {
        port
    } else {
        add1c(ip, port)
    };
    (ip, l4)
}

/// [`rewrite_v4`] with the checksum adjustments of [`adjustments`] precomputed (a reply
/// passes their complements, `!adj`): the per-packet cost is the writes and two one's
/// complement additions. Same results, byte for byte.
#[inline]
pub fn rewrite_v4_adj(
    frame: &mut [u8],
    end: End,
    addr: [u8; 4],
    port: u16,
    adj_ip: u16,
    adj_l4: u16,
) -> bool {
    let Some(l3) = ipv4_offset(frame) else {
        return false;
    };
    let Some(ip) = frame.get_mut(l3..) else {
        return false;
    };
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return false;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let proto = ip[9];
    let later_fragment = be16(ip[6], ip[7]) & 0x1fff != 0;
    let at = if end == End::Src { 12 } else { 16 };
    let l4_len = ip.len().saturating_sub(ihl);
    let fix = |c: u16, adj: u16| !add1c(!c, adj);
    // (port offset, checksum offset) of the L4 header, checked for length first.
    let l4_fix = if later_fragment || ihl < 20 {
        None
    } else {
        let po = if end == End::Src { 0 } else { 2 };
        match proto {
            ip_proto::TCP if l4_len >= 20 => Some((po, 16)),
            ip_proto::UDP if l4_len >= 8 => Some((po, 6)),
            ip_proto::ICMP if l4_len >= 8 && matches!(ip[ihl], 0 | 8) => Some((4, 2)),
            _ => None,
        }
    };
    ip[at..at + 4].copy_from_slice(&addr);
    let c = be16(ip[10], ip[11]);
    ip[10..12].copy_from_slice(&fix(c, adj_ip).to_be_bytes());
    if let Some((po, co)) = l4_fix {
        let l4 = &mut ip[ihl..];
        l4[po..po + 2].copy_from_slice(&port.to_be_bytes());
        let old_c = be16(l4[co], l4[co + 1]);
        if proto == ip_proto::UDP && old_c == 0 {
            return true;
        }
        let mut c = fix(old_c, adj_l4);
        if proto == ip_proto::UDP && c == 0 {
            c = 0xffff;
        }
        l4[co..co + 2].copy_from_slice(&c.to_be_bytes());
    }
    true
}

/// [`rewrite_v4_adj`] for a frame the hot parser took ([`super::parse_fast_v4`]: untagged,
/// a 20-byte IPv4 header, not a fragment, TCP or UDP): every offset fixed, one length check.
#[inline]
pub fn rewrite_fast_v4(
    frame: &mut [u8],
    end: End,
    addr: [u8; 4],
    port: u16,
    adj_ip: u16,
    adj_l4: u16,
) -> bool {
    const L4: usize = 14 + 20;
    let Some(&proto) = frame.get(23) else {
        return false;
    };
    let co = match proto {
        ip_proto::TCP => L4 + 16,
        ip_proto::UDP => L4 + 6,
        _ => return false,
    };
    let Some(f) = frame.get_mut(..co + 2) else {
        return false;
    };
    let fix = |c: u16, adj: u16| !add1c(!c, adj);
    let (at, po) = if end == End::Src {
        (26, L4)
    } else {
        (30, L4 + 2)
    };
    f[at..at + 4].copy_from_slice(&addr);
    let c = be16(f[24], f[25]);
    f[24..26].copy_from_slice(&fix(c, adj_ip).to_be_bytes());
    f[po..po + 2].copy_from_slice(&port.to_be_bytes());
    let old_c = be16(f[co], f[co + 1]);
    if proto == ip_proto::UDP && old_c == 0 {
        return true;
    }
    let mut c = fix(old_c, adj_l4);
    if proto == ip_proto::UDP && c == 0 {
        c = 0xffff;
    }
    f[co..co + 2].copy_from_slice(&c.to_be_bytes());
    true
}

/// Translates an ICMP error about a translated session (RFC 5508 section 4.2): the
/// address of `outer_end` of the error, and `inner_end`'s address and port (ICMP echo:
/// identifier) of the packet it quotes, become `addr` and `port`; the quoted packet's IPv4
/// and transport checksums are updated where quoted, the error's IPv4 checksum too, and its
/// ICMP checksum recomputed (it covers the quote). `outer` and `inner` are the error's and
/// the quote's parses ([`super::parse_icmp_error_inner`]). False, nothing written, when they
/// do not fit the frame. Slow path: errors are rare.
pub fn translate_icmp_error_v4(
    frame: &mut [u8],
    outer: &super::Parsed,
    inner: &super::Parsed,
    outer_end: End,
    inner_end: End,
    addr: [u8; 4],
    port: u16,
) -> bool {
    use super::checksum::{internet_checksum, update16, update32};
    if outer.family != 4 || inner.family != 4 || outer.proto != ip_proto::ICMP {
        return false;
    }
    let (o3, i3, i4) = (
        usize::from(outer.l3_offset),
        usize::from(inner.l3_offset),
        usize::from(inner.l4_offset),
    );
    let o4 = usize::from(outer.l4_offset);
    let end = (o3 + usize::from(outer.ip_len)).min(frame.len());
    if i3 + 20 > end || o4 + 8 > end || i4 + 8 > end {
        return false;
    }
    let word32 = |f: &[u8], at: usize| u32::from_be_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]]);
    let new_addr = u32::from_be_bytes(addr);
    // The quoted packet: its address and header checksum.
    let ia = i3 + if inner_end == End::Src { 12 } else { 16 };
    let old_addr = word32(frame, ia);
    frame[ia..ia + 4].copy_from_slice(&addr);
    let c = be16(frame[i3 + 10], frame[i3 + 11]);
    frame[i3 + 10..i3 + 12].copy_from_slice(&update32(c, old_addr, new_addr).to_be_bytes());
    // Its port (or identifier) and transport checksum, where quoted.
    let (po, co, pseudo) = match inner.proto {
        ip_proto::TCP => (
            i4 + if inner_end == End::Src { 0 } else { 2 },
            i4 + 16,
            true,
        ),
        ip_proto::UDP => (i4 + if inner_end == End::Src { 0 } else { 2 }, i4 + 6, true),
        ip_proto::ICMP => (i4 + 4, i4 + 2, false),
        _ => (usize::MAX - 2, usize::MAX - 2, false),
    };
    if po + 2 <= end {
        let old_port = be16(frame[po], frame[po + 1]);
        frame[po..po + 2].copy_from_slice(&port.to_be_bytes());
        if co + 2 <= end {
            let old_c = be16(frame[co], frame[co + 1]);
            if !(inner.proto == ip_proto::UDP && old_c == 0) {
                let mut c = update16(old_c, old_port, port);
                if pseudo {
                    c = update32(c, old_addr, new_addr);
                }
                if inner.proto == ip_proto::UDP && c == 0 {
                    c = 0xffff;
                }
                frame[co..co + 2].copy_from_slice(&c.to_be_bytes());
            }
        }
    }
    // The error's own address and header checksum.
    let oa = o3 + if outer_end == End::Src { 12 } else { 16 };
    let old_outer = word32(frame, oa);
    frame[oa..oa + 4].copy_from_slice(&addr);
    let c = be16(frame[o3 + 10], frame[o3 + 11]);
    frame[o3 + 10..o3 + 12].copy_from_slice(&update32(c, old_outer, new_addr).to_be_bytes());
    // The ICMP checksum covers the quote: computed again.
    frame[o4 + 2..o4 + 4].fill(0);
    let c = internet_checksum(&frame[o4..end]);
    frame[o4 + 2..o4 + 4].copy_from_slice(&c.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum::{internet_checksum, l4_checksum_v4, verify_parsed};
    use crate::wire::{parse, Outcome};
    use proptest::prelude::*;

    /// An IPv4 frame with correct checksums, built here (not by the code under test).
    #[allow(clippy::too_many_arguments)]
    fn frame(
        proto: u8,
        src: [u8; 4],
        dst: [u8; 4],
        sp: u16,
        dp: u16,
        payload: &[u8],
        vlan: bool,
        no_udp_sum: bool,
    ) -> Vec<u8> {
        let mut l4 = match proto {
            6 => {
                let mut t = vec![0u8; 20];
                t[0..2].copy_from_slice(&sp.to_be_bytes());
                t[2..4].copy_from_slice(&dp.to_be_bytes());
                t[12] = 0x50;
                t[13] = 0x18;
                t
            }
            17 => {
                let mut u = vec![0u8; 8];
                u[0..2].copy_from_slice(&sp.to_be_bytes());
                u[2..4].copy_from_slice(&dp.to_be_bytes());
                u[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
                u
            }
            _ => {
                // Echo request, identifier sp.
                let mut m = vec![8u8, 0, 0, 0, 0, 0, 0, 1];
                m[4..6].copy_from_slice(&sp.to_be_bytes());
                m
            }
        };
        l4.extend_from_slice(payload);
        let c = match proto {
            1 => internet_checksum(&l4),
            17 if no_udp_sum => 0,
            _ => l4_checksum_v4(&src, &dst, proto, &l4),
        };
        let co = match proto {
            6 => 16,
            17 => 6,
            _ => 2,
        };
        l4[co..co + 2].copy_from_slice(&c.to_be_bytes());
        let mut ip = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
        ip[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let hc = internet_checksum(&ip);
        ip[10..12].copy_from_slice(&hc.to_be_bytes());
        let mut f = vec![2u8, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        }
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&l4);
        f
    }

    fn parsed(f: &[u8]) -> crate::wire::Parsed {
        match parse(f) {
            Outcome::Ip(p) => p,
            o => panic!("{o:?}"),
        }
    }

    proptest! {
        /// After a rewrite of either end, every checksum verifies as if computed from
        /// scratch, the end holds the new address and port, and the other end and the
        /// payload are as they were.
        #[test]
        fn rewritten_packets_verify(
            proto in prop::sample::select(vec![6u8, 17, 1]), vlan in any::<bool>(),
            src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), sp in any::<u16>(), dp in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            addr in any::<[u8; 4]>(), port in any::<u16>(), dst_end in any::<bool>(),
            no_udp_sum in any::<bool>(),
        ) {
            // Unicast addresses the parser accepts.
            let (mut src, mut dst, mut addr) = (src, dst, addr);
            src[0] = 10;
            dst[0] = 100 + dst[0] % 100;
            addr[0] = 198;
            let mut f = frame(proto, src, dst, sp, dp, &payload, vlan, no_udp_sum);
            let before = parsed(&f);
            prop_assert!(verify_parsed(&f, &before));
            let end = if dst_end { End::Dst } else { End::Src };
            prop_assert!(rewrite_v4(&mut f, end, addr, port));
            let p = parsed(&f);
            prop_assert!(verify_parsed(&f, &p));
            let (a, pt) = if dst_end { (p.dst, p.dport) } else { (p.src, p.sport) };
            prop_assert_eq!(&a[..4], &addr[..]);
            prop_assert_eq!(pt, port);
            let (o, opt) = if dst_end { (p.src, p.sport) } else { (p.dst, p.dport) };
            let (bo, bopt) = if dst_end { (before.src, before.sport) } else { (before.dst, before.dport) };
            prop_assert_eq!(&o[..4], &bo[..4]);
            if proto != 1 {
                prop_assert_eq!(opt, bopt);
            }
            if proto == 17 && no_udp_sum {
                prop_assert_eq!(&f[f.len() - payload.len() - 2..f.len() - payload.len()], &[0u8, 0][..]);
            }
            prop_assert_eq!(&f[f.len() - payload.len()..], &payload[..]);
        }
    }

    proptest! {
        /// The precomputed adjustments give the same bytes as the general rewrite, out and
        /// back (the reply with their complements).
        #[test]
        fn precomputed_adjustments_rewrite_alike(
            proto in prop::sample::select(vec![6u8, 17, 1]), vlan in any::<bool>(),
            sp in any::<u16>(), dp in any::<u16>(), public in any::<[u8; 4]>(), pport in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..100), no_udp_sum in any::<bool>(),
        ) {
            let (private, remote) = ([10, 1, 2, 3], [192, 0, 2, 9]);
            let mut public = public;
            public[0] = 198;
            let (adj_ip, adj_l4) = adjustments(proto, private, public, sp, pport);
            let out = frame(proto, private, remote, sp, dp, &payload, vlan, no_udp_sum);
            let (mut a, mut b) = (out.clone(), out);
            prop_assert!(rewrite_v4(&mut a, End::Src, public, pport));
            prop_assert!(rewrite_v4_adj(&mut b, End::Src, public, pport, adj_ip, adj_l4));
            prop_assert_eq!(&a, &b);
            if !vlan && proto != 1 {
                let mut c = frame(proto, private, remote, sp, dp, &payload, vlan, no_udp_sum);
                prop_assert!(rewrite_fast_v4(&mut c, End::Src, public, pport, adj_ip, adj_l4));
                prop_assert_eq!(&a, &c);
            }
            // The reply: to the public endpoint, back to the private one.
            let rp = if proto == 1 { pport } else { dp };
            let back = frame(proto, remote, public, rp, pport, &payload, vlan, no_udp_sum);
            let (mut a, mut b) = (back.clone(), back);
            prop_assert!(rewrite_v4(&mut a, End::Dst, private, sp));
            prop_assert!(rewrite_v4_adj(&mut b, End::Dst, private, sp, !adj_ip, !adj_l4));
            prop_assert_eq!(&a, &b);
            if !vlan && proto != 1 {
                let mut c = frame(proto, remote, public, rp, pport, &payload, vlan, no_udp_sum);
                prop_assert!(rewrite_fast_v4(&mut c, End::Dst, private, sp, !adj_ip, !adj_l4));
                prop_assert_eq!(&a, &c);
            }
        }
    }

    #[test]
    fn not_ipv4_is_left_alone() {
        let mut f = frame(17, [1; 4], [2; 4], 1, 2, b"x", false, false);
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        let copy = f.clone();
        assert!(!rewrite_v4(&mut f, End::Src, [9; 4], 9));
        assert_eq!(f, copy);
        let mut short = vec![0u8; 30];
        short[12] = 0x08;
        short[14] = 0x45;
        assert!(!rewrite_v4(&mut short, End::Src, [9; 4], 9));
    }
}
