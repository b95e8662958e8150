//! The hot parser held to the views: the two read the same bytes independently (the parser
//! by raw offsets in one pass, the views through `check_len`ed accessors), so each checks
//! the other.
//!
//! * Frames emitted through the views' setters (IPv4 or IPv6, untagged or with a VLAN tag,
//!   TCP or UDP, any addresses, ports, sequence numbers, flags and payload) parse to exactly
//!   what was set.
//! * Frames the parser accepts (fixtures and random edits of them) are accepted by the views
//!   at the parser's offsets, and the views read the same addresses, ports and lengths (the
//!   transport header only of unfragmented datagrams).

use proptest::prelude::*;

use super::fixtures::ALL_FIXTURES;
use super::{
    ethertype, ip_proto, parse, EthernetFrame, Ipv4Packet, Ipv6Packet, Outcome, TcpPacket,
    UdpPacket, VlanHeader,
};

/// What a generated frame carries.
#[derive(Debug, Clone)]
struct Spec {
    v6: bool,
    vlan: Option<u16>,
    tcp: bool,
    src: [u8; 16],
    dst: [u8; 16],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: Vec<u8>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        proptest::option::of(1u16..4095),
        any::<bool>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<(u16, u16, u32, u32, u8)>(),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(
            |(v6, vlan, tcp, mut src, dst, (sport, dport, seq, ack, flags), payload)| {
                // A multicast or broadcast source is a drop reason, not a flow.
                src[0] &= 0x7f;
                if !v6 {
                    src[0] = 10;
                }
                Spec {
                    v6,
                    vlan,
                    tcp,
                    src,
                    dst,
                    sport,
                    dport,
                    seq,
                    ack,
                    flags,
                    payload,
                }
            },
        )
}

/// The frame of `s`, written through the views' setters only.
fn emit(s: &Spec) -> Vec<u8> {
    let l4_len = if s.tcp { 20 } else { 8 } + s.payload.len();
    let l3_hdr = if s.v6 { 40 } else { 20 };
    let l2 = 14 + if s.vlan.is_some() { 4 } else { 0 };
    let mut f = vec![0u8; l2 + l3_hdr + l4_len];
    let ip_type = if s.v6 {
        ethertype::IPV6
    } else {
        ethertype::IPV4
    };
    {
        let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
        eth.set_dst_addr([2, 0, 0, 0, 0, 1]);
        eth.set_src_addr([2, 0, 0, 0, 0, 2]);
        match s.vlan {
            None => eth.set_ethertype(ip_type),
            Some(vid) => {
                eth.set_ethertype(ethertype::VLAN);
                let mut tag = VlanHeader::new_unchecked(&mut f[14..18]);
                tag.set_tci(0);
                tag.set_vid(vid);
                tag.set_ethertype(ip_type);
            }
        }
    }
    let proto = if s.tcp { ip_proto::TCP } else { ip_proto::UDP };
    if s.v6 {
        let mut ip = Ipv6Packet::new_unchecked(&mut f[l2..]);
        ip.set_version_tc_flow(0, 0);
        ip.set_payload_len(l4_len as u16);
        ip.set_next_header(proto);
        ip.set_hop_limit(64);
        ip.set_src_addr(s.src);
        ip.set_dst_addr(s.dst);
    } else {
        let mut ip = Ipv4Packet::new_unchecked(&mut f[l2..]);
        ip.set_version_and_header_len(20);
        ip.set_dscp_ecn(0, 0);
        ip.set_total_len((20 + l4_len) as u16);
        ip.set_ident(1);
        ip.set_flags_frag(true, false, 0);
        ip.set_ttl(64);
        ip.set_protocol(proto);
        ip.set_src_addr(s.src[..4].try_into().unwrap());
        ip.set_dst_addr(s.dst[..4].try_into().unwrap());
        ip.fill_checksum();
    }
    let l4 = l2 + l3_hdr;
    if s.tcp {
        let mut t = TcpPacket::new_unchecked(&mut f[l4..]);
        t.set_src_port(s.sport);
        t.set_dst_port(s.dport);
        t.set_seq_number(s.seq);
        t.set_ack_number(s.ack);
        t.set_header_len(20);
        t.set_flags(s.flags);
        t.set_window_len(1024);
    } else {
        let mut u = UdpPacket::new_unchecked(&mut f[l4..]);
        u.set_src_port(s.sport);
        u.set_dst_port(s.dport);
        u.set_len(l4_len as u16);
    }
    let at = f.len() - s.payload.len();
    f[at..].copy_from_slice(&s.payload);
    f
}

/// The address as the parser stores it (IPv4 in the first four bytes of sixteen).
fn slot(a: &[u8], v6: bool) -> [u8; 16] {
    let mut x = [0u8; 16];
    let n = if v6 { 16 } else { 4 };
    x[..n].copy_from_slice(&a[..n]);
    x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn frames_the_views_emit_parse_to_what_was_set(s in spec()) {
        let f = emit(&s);
        let Outcome::Ip(p) = parse(&f) else {
            panic!("not parsed as IP: {s:?}");
        };
        prop_assert_eq!(p.family, if s.v6 { 6 } else { 4 });
        prop_assert_eq!(p.proto, if s.tcp { ip_proto::TCP } else { ip_proto::UDP });
        prop_assert_eq!(p.vlan, s.vlan.unwrap_or(0));
        prop_assert_eq!(p.src, slot(&s.src, s.v6));
        prop_assert_eq!(p.dst, slot(&s.dst, s.v6));
        prop_assert_eq!((p.sport, p.dport), (s.sport, s.dport));
        prop_assert_eq!(usize::from(p.payload_len), s.payload.len());
        let at = usize::from(p.payload_offset);
        prop_assert_eq!(&f[at..at + s.payload.len()], &s.payload[..]);
        if s.tcp {
            prop_assert_eq!((p.tcp_seq, p.tcp_ack, p.tcp_flags), (s.seq, s.ack, s.flags));
        }
    }

    #[test]
    fn what_the_parser_accepts_the_views_read_alike(
        which in 0usize..ALL_FIXTURES.len(),
        edits in proptest::collection::vec((0usize..80, any::<u8>()), 0..3),
    ) {
        let mut f = ALL_FIXTURES[which].to_vec();
        for (at, v) in edits {
            if at < f.len() {
                f[at] = v;
            }
        }
        let Outcome::Ip(p) = parse(&f) else {
            return Ok(());
        };
        let l3 = usize::from(p.l3_offset);
        let ip_end = l3 + usize::from(p.ip_len);
        prop_assert!(ip_end <= f.len());
        let ip = &f[l3..ip_end];
        if p.family == 4 {
            let v = Ipv4Packet::new_checked(ip).expect("the views accept the parser's IPv4");
            prop_assert_eq!(slot(&v.src_addr(), false), p.src);
            prop_assert_eq!(slot(&v.dst_addr(), false), p.dst);
            prop_assert_eq!(v.protocol(), p.proto);
            prop_assert_eq!(usize::from(v.total_len()), usize::from(p.ip_len));
        } else {
            let v = Ipv6Packet::new_checked(ip).expect("the views accept the parser's IPv6");
            prop_assert_eq!(v.src_addr(), p.src);
            prop_assert_eq!(v.dst_addr(), p.dst);
        }
        // A fragment holds part of its datagram: the transport header's length covers the
        // whole datagram, so a view over the fragment alone rightly refuses it.
        let l4 = usize::from(p.l4_offset);
        if l4 == 0 || p.fragment != 0 {
            return Ok(());
        }
        let seg = &f[l4..ip_end];
        if p.proto == ip_proto::TCP {
            let t = TcpPacket::new_checked(seg).expect("the views accept the parser's TCP");
            prop_assert_eq!((t.src_port(), t.dst_port()), (p.sport, p.dport));
            prop_assert_eq!((t.seq_number(), t.ack_number(), t.flags()), (p.tcp_seq, p.tcp_ack, p.tcp_flags));
            prop_assert_eq!(t.window_len(), p.tcp_window);
            prop_assert_eq!(l4 + t.header_len(), usize::from(p.payload_offset));
        } else if p.proto == ip_proto::UDP {
            let u = UdpPacket::new_checked(seg).expect("the views accept the parser's UDP");
            prop_assert_eq!((u.src_port(), u.dst_port()), (p.sport, p.dport));
            prop_assert_eq!(usize::from(u.len()), 8 + usize::from(p.payload_len));
        }
    }
}
