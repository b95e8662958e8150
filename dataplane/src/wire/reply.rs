//! Reply builders for the Reject action: turn a received frame into the TCP RST or ICMP
//! destination-unreachable that answers it, in place, without allocating.
//!
//! Both work on a plain `&mut [u8]` (the frame in `buf[..frame_len]`, `buf.len()` the
//! capacity) and the [`Parsed`] of that frame, so they are testable without any mbuf
//! type. Headers are written through the packet views, each on exactly its bytes. MAC addresses are swapped and VLAN tags kept as they are; the answer goes from the
//! packet's destination back to its source. Neither panics, whatever `buf`, `frame_len` and
//! `p` say: inconsistent inputs give `None`.

use super::{
    checksum, chunk, icmp, ip_proto, tcp, EthernetFrame, IcmpPacket, Ipv4Packet, Ipv6Packet,
    Parsed, TcpPacket,
};

/// TTL / hop limit of generated replies.
pub const REPLY_TTL: u8 = 64;

/// Largest IPv6 packet an ICMPv6 error may make (RFC 4443 2.4(c): the minimum MTU).
pub const IPV6_MIN_MTU: usize = 1280;

/// Swaps the frame's source and destination MAC addresses.
#[inline]
fn swap_macs(buf: &mut [u8]) -> Option<()> {
    let mut e = EthernetFrame::new_checked(buf).ok()?;
    let (src, dst) = (e.src_addr(), e.dst_addr());
    e.set_src_addr(dst);
    e.set_dst_addr(src);
    Some(())
}
/// Writes a 20-byte IPv4 header (no options) with a fresh checksum into `h`, which is
/// exactly its 20 bytes (every byte is set).
fn write_ipv4(h: &mut [u8], total: u16, df: bool, proto: u8, src: &[u8; 4], dst: &[u8; 4]) {
    let mut ip = Ipv4Packet::new_unchecked(h);
    ip.set_version_and_header_len(Ipv4Packet::<&[u8]>::MIN_HEADER_LEN);
    ip.set_dscp_ecn(0, 0);
    ip.set_total_len(total);
    ip.set_ident(0);
    ip.set_flags_frag(df, false, 0);
    ip.set_ttl(REPLY_TTL);
    ip.set_protocol(proto);
    ip.set_src_addr(*src);
    ip.set_dst_addr(*dst);
    ip.fill_checksum();
}
/// Writes a 40-byte IPv6 header into `h`, which is exactly its 40 bytes (every byte is set).
fn write_ipv6(h: &mut [u8], payload_len: u16, next: u8, src: &[u8; 16], dst: &[u8; 16]) {
    let mut ip = Ipv6Packet::new_unchecked(h);
    ip.set_version_tc_flow(0, 0);
    ip.set_payload_len(payload_len);
    ip.set_next_header(next);
    ip.set_hop_limit(REPLY_TTL);
    ip.set_src_addr(*src);
    ip.set_dst_addr(*dst);
}

/// Writes an ICMP or ICMPv6 error header (type, code, zero checksum, unused word) into `h`,
/// which is exactly its 8 bytes.
fn write_icmp_error(h: &mut [u8], msg_type: u8, code: u8) {
    let mut m = IcmpPacket::new_unchecked(h);
    m.set_msg_type(msg_type);
    m.set_msg_code(code);
    m.set_checksum(0);
    m.set_rest_of_header(0);
}
fn v4_of(a: &[u8; 16]) -> [u8; 4] {
    [a[0], a[1], a[2], a[3]]
}

/// Turns the TCP segment in `buf[..frame_len]`, parsed as `p`, into the RST that answers
/// it (RFC 9293 3.10.7.1): MACs, addresses and ports swapped; if the segment had ACK,
/// `seq` = its ack and flags RST, else `seq` 0, `ack` = its seq + payload length (+1 for
/// SYN, +1 for FIN) and flags RST|ACK; data offset 5, no options, no payload; IPv4: IHL 5,
/// total length 40, TTL 64, DF, header checksum; IPv6: no extension headers, payload length
/// 20, hop limit 64; TCP checksum. VLAN tags stay.
///
/// Returns the new frame length, or `None` if `p` is not a TCP segment with its header (or
/// a non-first fragment), if it is itself a RST or was sent to a multicast or broadcast
/// address (neither is ever answered, RFC 1122 4.2.3.10), or if `p` does not fit
/// `buf[..frame_len]`.
pub fn tcp_rst_in_place(buf: &mut [u8], frame_len: usize, p: &Parsed) -> Option<usize> {
    if p.tcp_flags & tcp::RST != 0 {
        return None;
    }
    let (seq, ack, flags) = if p.tcp_flags & tcp::ACK != 0 {
        (p.tcp_ack, 0, tcp::RST)
    } else {
        let mut a = p.tcp_seq.wrapping_add(u32::from(p.payload_len));
        if p.tcp_flags & tcp::SYN != 0 {
            a = a.wrapping_add(1);
        }
        if p.tcp_flags & tcp::FIN != 0 {
            a = a.wrapping_add(1);
        }
        (0, a, tcp::RST | tcp::ACK)
    };
    tcp_answer_in_place(buf, frame_len, p, seq, ack, flags)
}

/// Turns the TCP segment in `buf[..frame_len]`, parsed as `p` (an RST among them), into a
/// bare ACK back to its sender with `seq` and `ack` (the challenge ACK of RFC 5961 3.2,
/// which Junos's `rst-sequence-check` sends for an RST at the wrong sequence): the same
/// rewrite as [`tcp_rst_in_place`] otherwise.
///
/// Returns the new frame length, or `None` as [`tcp_rst_in_place`] does (an RST is
/// answered here).
pub fn tcp_ack_in_place(
    buf: &mut [u8],
    frame_len: usize,
    p: &Parsed,
    seq: u32,
    ack: u32,
) -> Option<usize> {
    tcp_answer_in_place(buf, frame_len, p, seq, ack, tcp::ACK)
}

/// The segment answering `p` with `seq`, `ack` and `flags`, built in place.
fn tcp_answer_in_place(
    buf: &mut [u8],
    frame_len: usize,
    p: &Parsed,
    seq: u32,
    ack: u32,
    flags: u8,
) -> Option<usize> {
    if p.proto != ip_proto::TCP
        || p.l4_offset == 0
        || p.fragment == 2
        || frame_len > buf.len()
        || to_group(p)
    {
        return None;
    }
    let l3 = usize::from(p.l3_offset);
    let ip_hl = match p.family {
        4 => 20,
        6 => 40,
        _ => return None,
    };
    let new_len = l3 + ip_hl + 20;
    if l3 < 14 || new_len > frame_len {
        return None;
    }
    let at = l3 + ip_hl;
    {
        let mut t = TcpPacket::new_unchecked(buf.get_mut(at..at + 20)?);
        t.set_src_port(p.dport);
        t.set_dst_port(p.sport);
        t.set_seq_number(seq);
        t.set_ack_number(ack);
        t.set_header_len(20);
        t.set_flags(flags);
        t.set_window_len(0);
        t.set_checksum(0);
        t.set_urgent_at(0);
    }
    let c = if p.family == 4 {
        let (src, dst) = (v4_of(&p.dst), v4_of(&p.src));
        write_ipv4(
            buf.get_mut(l3..l3 + 20)?,
            40,
            true,
            ip_proto::TCP,
            &src,
            &dst,
        );
        checksum::l4_checksum_v4(&src, &dst, ip_proto::TCP, buf.get(at..at + 20)?)
    } else {
        write_ipv6(buf.get_mut(l3..l3 + 40)?, 20, ip_proto::TCP, &p.dst, &p.src);
        checksum::l4_checksum_v6(&p.dst, &p.src, ip_proto::TCP, buf.get(at..at + 20)?)
    };
    TcpPacket::new_unchecked(buf.get_mut(at..at + 20)?).set_checksum(c);
    swap_macs(buf)?;
    Some(new_len)
}

/// Whether `p` was sent to a multicast or broadcast address (IPv4: 224.0.0.0 and above,
/// the limited broadcast included; IPv6: ff00::/8).
fn to_group(p: &Parsed) -> bool {
    if p.family == 4 {
        p.dst[0] >= 224
    } else {
        p.dst[0] == 0xff
    }
}

/// Whether an ICMP error may be sent back to the source of `p` (RFC 1122 3.2.2,
/// RFC 1812 4.3.2.7, RFC 4443 2.4(e)): not to a multicast, broadcast, unspecified or
/// loopback source (the destination side is [`to_group`]).
fn may_answer(p: &Parsed) -> bool {
    if p.family == 4 {
        let s = v4_of(&p.src);
        s[0] < 224 && s != [0; 4] && s[0] != 127
    } else {
        p.src[0] != 0xff
            && p.src != [0; 16]
            && p.src != [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    }
}

/// Turns the IP packet in `buf[..frame_len]`, parsed as `p`, into an ICMP destination
/// unreachable, administratively prohibited (IPv4 type 3 code 13; IPv6 type 1 code 1),
/// from the packet's destination back to its source, TTL / hop limit 64.
///
/// The quote is moved into place with `copy_within`: for IPv4 the original IP header
/// (options included) and the first 8 bytes of its payload; for IPv6 as much of the
/// original packet as keeps the error within 1280 bytes. `buf.len()` is the capacity.
///
/// Returns the new frame length, or `None` if it does not fit in `buf`, if `p` is an ICMP
/// error, a non-first fragment, or to or from a multicast, broadcast, unspecified or
/// loopback address (no error is ever sent about those), or if `p` does not fit
/// `buf[..frame_len]`.
pub fn icmp_unreachable_in_place(buf: &mut [u8], frame_len: usize, p: &Parsed) -> Option<usize> {
    if p.is_icmp_error()
        || p.fragment == 2
        || frame_len > buf.len()
        || to_group(p)
        || !may_answer(p)
    {
        return None;
    }
    let l3 = usize::from(p.l3_offset);
    let ip_len = usize::from(p.ip_len);
    if l3 < 14 || l3 + ip_len > frame_len {
        return None;
    }
    match p.family {
        4 => {
            let ihl = usize::from(chunk::<1>(buf, l3)?[0] & 0x0f) * 4;
            let quote = (ihl + 8).min(ip_len);
            let total = 28 + quote;
            let new_len = l3 + total;
            if ihl < 20 || new_len > buf.len() {
                return None;
            }
            buf.copy_within(l3..l3 + quote, l3 + 28);
            let (src, dst) = (v4_of(&p.dst), v4_of(&p.src));
            let total = u16::try_from(total).ok()?;
            write_ipv4(
                buf.get_mut(l3..l3 + 20)?,
                total,
                false,
                ip_proto::ICMP,
                &src,
                &dst,
            );
            write_icmp_error(
                buf.get_mut(l3 + 20..l3 + 28)?,
                icmp::V4_DEST_UNREACHABLE,
                icmp::V4_CODE_ADMIN_PROHIBITED,
            );
            let c = checksum::internet_checksum(buf.get(l3 + 20..new_len)?);
            IcmpPacket::new_unchecked(buf.get_mut(l3 + 20..l3 + 28)?).set_checksum(c);
            swap_macs(buf)?;
            Some(new_len)
        }
        6 => {
            let quote = ip_len.min(IPV6_MIN_MTU - 48);
            let plen = 8 + quote;
            let new_len = l3 + 40 + plen;
            if ip_len < 40 || new_len > buf.len() {
                return None;
            }
            buf.copy_within(l3..l3 + quote, l3 + 48);
            let plen16 = u16::try_from(plen).ok()?;
            write_ipv6(
                buf.get_mut(l3..l3 + 40)?,
                plen16,
                ip_proto::ICMPV6,
                &p.dst,
                &p.src,
            );
            write_icmp_error(
                buf.get_mut(l3 + 40..l3 + 48)?,
                icmp::V6_DEST_UNREACHABLE,
                icmp::V6_CODE_ADMIN_PROHIBITED,
            );
            let msg = buf.get(l3 + 40..new_len)?;
            let c = checksum::l4_checksum_v6(&p.dst, &p.src, ip_proto::ICMPV6, msg);
            IcmpPacket::new_unchecked(buf.get_mut(l3 + 40..l3 + 48)?).set_checksum(c);
            swap_macs(buf)?;
            Some(new_len)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum::verify_parsed;
    use crate::wire::fixtures::*;
    use crate::wire::{parse, parse_icmp_error_inner, Outcome};
    use proptest::prelude::*;

    fn ip(frame: &[u8]) -> Parsed {
        match parse(frame) {
            Outcome::Ip(p) => p,
            other => panic!("expected Ip, got {other:?}"),
        }
    }

    /// Builds the RST for `frame` in a copy with `extra` bytes of room; returns the frame.
    fn rst(frame: &[u8]) -> Vec<u8> {
        let p = ip(frame);
        let mut buf = frame.to_vec();
        let n = tcp_rst_in_place(&mut buf, frame.len(), &p).expect("rst");
        buf.truncate(n);
        buf
    }

    fn unreachable(frame: &[u8], room: usize) -> Option<Vec<u8>> {
        let p = ip(frame);
        let mut buf = frame.to_vec();
        buf.resize(frame.len() + room, 0xee);
        let n = icmp_unreachable_in_place(&mut buf, frame.len(), &p)?;
        buf.truncate(n);
        Some(buf)
    }

    #[test]
    fn rst_answers_syn_v4() {
        let orig = ip(&TCP_SYN_V4);
        let r = rst(&TCP_SYN_V4);
        assert_eq!(r.len(), 54);
        assert_eq!(r[..6], TCP_SYN_V4[6..12]);
        assert_eq!(r[6..12], TCP_SYN_V4[..6]);
        let p = ip(&r);
        assert!(verify_parsed(&r, &p));
        assert_eq!((p.src, p.dst), (orig.dst, orig.src));
        assert_eq!((p.sport, p.dport), (80, 51234));
        assert_eq!(p.tcp_flags, tcp::RST | tcp::ACK);
        assert_eq!((p.tcp_seq, p.tcp_ack), (0, 0x0a1b_2c3e)); // SYN counts one
        assert_eq!((p.ip_len, p.ttl, p.payload_len), (40, 64, 0));
        assert_eq!(r[20], 0x40); // DF
    }

    #[test]
    fn rst_answers_ack_and_drops_ip_options() {
        let r = rst(&TCP_PSH_ACK_V4_OPTIONS);
        let p = ip(&r);
        assert!(verify_parsed(&r, &p));
        assert_eq!(r[14], 0x45);
        assert_eq!((p.l4_offset, p.tcp_flags), (34, tcp::RST));
        assert_eq!((p.tcp_seq, p.tcp_ack), (0x5566_7788, 0));
        assert_eq!((p.sport, p.dport), (8080, 40000));
        // Without ACK the ack covers the payload and FIN.
        let mut f = TCP_PSH_ACK_V4_OPTIONS;
        f[51] = tcp::PSH | tcp::FIN;
        let p = ip(&rst(&f));
        assert_eq!((p.tcp_seq, p.tcp_ack), (0, 0x1122_3344 + 27 + 1));
        assert_eq!(p.tcp_flags, tcp::RST | tcp::ACK);
    }

    #[test]
    fn rst_v6_drops_extension_headers() {
        let r = rst(&TCP_SYN_V6);
        assert_eq!(r.len(), 74);
        let p = ip(&r);
        assert!(verify_parsed(&r, &p));
        assert_eq!(
            (p.family, p.sport, p.dport, p.ttl, p.ip_len),
            (6, 443, 51000, 64, 60)
        );
        assert_eq!((p.tcp_ack, p.tcp_flags), (0xc0ff_ee01, tcp::RST | tcp::ACK));

        let r = rst(&AH_TCP_V6);
        assert_eq!(r.len(), 74);
        let p = ip(&r);
        assert!(verify_parsed(&r, &p));
        assert_eq!(
            (p.proto, p.sport, p.dport, p.tcp_flags),
            (6, 60000, 22, tcp::RST)
        );
        assert_eq!(p.tcp_seq, 0x0a0b_0c0d);
    }

    #[test]
    fn rst_keeps_vlan_tags() {
        let mut f = Vec::from(&TCP_SYN_V4[..12]);
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        f.extend_from_slice(&TCP_SYN_V4[12..]);
        let r = rst(&f);
        assert_eq!(r.len(), 58);
        assert_eq!(r[12..16], [0x81, 0x00, 0x00, 0x64]);
        let p = ip(&r);
        assert!(verify_parsed(&r, &p));
        assert_eq!((p.vlan, p.dport), (100, 51234));
    }

    #[test]
    fn rst_refusals() {
        let mut buf = UDP_DNS_VLAN100_V4;
        let p = ip(&buf);
        assert_eq!(tcp_rst_in_place(&mut buf, 75, &p), None);
        let mut f = TCP_SYN_V4;
        f[47] = tcp::RST;
        let p = ip(&f);
        assert_eq!(tcp_rst_in_place(&mut f, 74, &p), None);
        let p = ip(&TCP_SYN_V4);
        let mut short = [0u8; 40];
        assert_eq!(tcp_rst_in_place(&mut short, 40, &p), None);
        assert_eq!(tcp_rst_in_place(&mut short, 74, &p), None);
        assert_eq!(tcp_rst_in_place(&mut [], 0, &Parsed::default()), None);
        // Never to a group address.
        let mut f = TCP_SYN_V4;
        f[30] = 224;
        let p = ip(&f);
        assert_eq!(tcp_rst_in_place(&mut f, 74, &p), None);
        let mut f = TCP_SYN_V4;
        f[30..34].copy_from_slice(&[255; 4]);
        let p = ip(&f);
        assert_eq!(tcp_rst_in_place(&mut f, 74, &p), None);
        let mut f = TCP_SYN_V6;
        f[38] = 0xff;
        let p = ip(&f);
        assert_eq!(tcp_rst_in_place(&mut f, 94, &p), None);
    }

    #[test]
    fn unreachable_v4_quotes_header_and_8_bytes() {
        let orig = ip(&UDP_DNS_VLAN100_V4);
        let r = unreachable(&UDP_DNS_VLAN100_V4, 0).unwrap();
        assert_eq!(r.len(), 18 + 20 + 8 + 28);
        let p = ip(&r);
        assert!(verify_parsed(&r, &p));
        assert_eq!((p.proto, p.icmp_type, p.icmp_code, p.vlan), (1, 3, 13, 100));
        assert_eq!((p.src, p.dst, p.ttl), (orig.dst, orig.src, 64));
        assert!(p.is_icmp_error());
        let inner = parse_icmp_error_inner(&r, &p).unwrap();
        assert_eq!((inner.src, inner.dst), (orig.src, orig.dst));
        assert_eq!((inner.proto, inner.sport, inner.dport), (17, 53000, 53));
        assert_eq!(r[46..74], UDP_DNS_VLAN100_V4[18..46]);

        // IPv4 options are quoted too; a TCP SYN and an echo request can be refused.
        let r = unreachable(&TCP_PSH_ACK_V4_OPTIONS, 0).unwrap();
        assert_eq!(r.len(), 14 + 28 + 24 + 8);
        let p = ip(&r);
        assert!(verify_parsed(&r, &p));
        let inner = parse_icmp_error_inner(&r, &p).unwrap();
        assert_eq!(
            (inner.sport, inner.dport, inner.tcp_seq),
            (40000, 8080, 0x1122_3344)
        );
        let r = unreachable(&ICMP_ECHO_V4, 12).unwrap();
        assert_eq!(r.len(), 70);
        let p = ip(&r);
        assert!(verify_parsed(&r, &p));
        let inner = parse_icmp_error_inner(&r, &p).unwrap();
        assert_eq!((inner.icmp_type, inner.sport), (8, 0x1234));
    }

    #[test]
    fn unreachable_v6() {
        let orig = ip(&TCP_SYN_V6);
        assert_eq!(unreachable(&TCP_SYN_V6, 47), None); // needs 48 more bytes
        let r = unreachable(&TCP_SYN_V6, 48).unwrap();
        assert_eq!(r.len(), 14 + 48 + 80);
        let p = ip(&r);
        assert!(verify_parsed(&r, &p));
        assert_eq!((p.proto, p.icmp_type, p.icmp_code), (58, 1, 1));
        assert_eq!((p.src, p.dst, p.ttl), (orig.dst, orig.src, 64));
        let inner = parse_icmp_error_inner(&r, &p).unwrap();
        assert_eq!(
            (inner.sport, inner.dport, inner.tcp_flags),
            (51000, 443, tcp::SYN)
        );
        assert_eq!(r[62..], TCP_SYN_V6[14..]);

        // A 1500-byte packet: the error stops at 1280 bytes.
        let mut big = vec![0u8; 14 + 1500];
        big[..14].copy_from_slice(&TCP_SYN_V6[..14]);
        big[14..54].copy_from_slice(&TCP_SYN_V6[14..54]);
        big[18..20].copy_from_slice(&1460u16.to_be_bytes());
        big[20] = 17;
        big[54..62].copy_from_slice(&[0x13, 0x88, 0x13, 0x89, 0x05, 0xb4, 0, 0]);
        let r = unreachable(&big, 0).unwrap();
        assert_eq!(r.len(), 14 + 1280);
        let p = ip(&r);
        assert!(verify_parsed(&r, &p));
        assert_eq!(p.ip_len, 1280);
        let inner = parse_icmp_error_inner(&r, &p).unwrap();
        assert_eq!(
            (inner.proto, inner.sport, inner.dport, inner.ip_len),
            (17, 5000, 5001, 1500)
        );
    }

    #[test]
    fn unreachable_refusals() {
        assert_eq!(unreachable(&ICMP_PORT_UNREACH_V4, 100), None);
        assert_eq!(unreachable(&TCP_SYN_V4, 0).map(|r| r.len()), Some(70));
        let mut m = UDP_DNS_VLAN100_V4;
        m[34] = 224; // to a multicast group
        assert_eq!(unreachable(&m, 100), None);
        let mut m = TCP_SYN_V6;
        m[38] = 0xff;
        assert_eq!(unreachable(&m, 100), None);
        // Non-first fragment.
        let mut f = TCP_SYN_V4;
        f[20..22].copy_from_slice(&0x0010u16.to_be_bytes());
        assert_eq!(unreachable(&f, 100), None);
        // No room: 32 bytes of IP become 56 (22 + 56 = 78 > 64), unless the caller has room.
        assert_eq!(unreachable(&UDP_QINQ_V4_PADDED, 13), None);
        assert_eq!(
            unreachable(&UDP_QINQ_V4_PADDED, 14).map(|r| r.len()),
            Some(78)
        );
        // A `Parsed` that does not fit the frame.
        let p = ip(&TCP_SYN_V4);
        let mut short = [0u8; 69];
        short.copy_from_slice(&TCP_SYN_V4[..69]);
        assert_eq!(icmp_unreachable_in_place(&mut short, 69, &p), None);
        assert_eq!(
            icmp_unreachable_in_place(&mut [], 0, &Parsed::default()),
            None
        );
    }

    fn mutated() -> impl Strategy<Value = Vec<u8>> {
        let all: [&'static [u8]; 8] = [
            &TCP_SYN_V4,
            &TCP_PSH_ACK_V4_OPTIONS,
            &UDP_DNS_VLAN100_V4,
            &ICMP_ECHO_V4,
            &ICMP_PORT_UNREACH_V4,
            &TCP_SYN_V6,
            &AH_TCP_V6,
            &UDP_V6_HBH_FRAG,
        ];
        (
            0..all.len(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        )
            .prop_map(move |(i, edits)| {
                let mut v = all[i].to_vec();
                for (at, b) in edits {
                    let n = v.len();
                    v[at % n] = b;
                }
                v
            })
    }

    proptest! {
        /// Whatever parses, the replies built from it parse back with valid checksums.
        #[test]
        fn replies_reparse(frame in mutated(), room in 0usize..1400) {
            if let Outcome::Ip(p) = parse(&frame) {
                let mut buf = frame.clone();
                buf.resize(frame.len() + room, 0);
                if let Some(n) = tcp_rst_in_place(&mut buf, frame.len(), &p) {
                    let r = &buf[..n];
                    let q = ip(r);
                    prop_assert!(verify_parsed(r, &q));
                    prop_assert!(q.tcp_flags & tcp::RST != 0);
                }
                let mut buf = frame.clone();
                buf.resize(frame.len() + room, 0);
                if let Some(n) = icmp_unreachable_in_place(&mut buf, frame.len(), &p) {
                    let r = &buf[..n];
                    let q = ip(r);
                    prop_assert!(verify_parsed(r, &q));
                    prop_assert!(q.is_icmp_error());
                }
            }
        }

        /// Arbitrary `Parsed` values against arbitrary buffers never panic.
        #[test]
        fn builders_never_panic(
            mut buf in proptest::collection::vec(any::<u8>(), 0..200),
            frame_len in 0usize..256,
            l3 in 0u16..256, l4 in 0u16..256, po in 0u16..300, pl in any::<u16>(),
            ip_len in any::<u16>(), family in 0u8..8, proto in any::<u8>(), flags in any::<u8>(),
            t in any::<u8>(), frag in 0u8..3,
        ) {
            let p = Parsed {
                l3_offset: l3, l4_offset: l4, payload_offset: po, payload_len: pl, ip_len,
                family, proto, tcp_flags: flags, icmp_type: t, fragment: frag,
                src: [1; 16], dst: [2; 16], ..Parsed::default()
            };
            let mut b2 = buf.clone();
            let _ = tcp_rst_in_place(&mut buf, frame_len, &p);
            let _ = icmp_unreachable_in_place(&mut b2, frame_len, &p);
            let _ = parse_icmp_error_inner(&b2, &p);
        }
    }
}
