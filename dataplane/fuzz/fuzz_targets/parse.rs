//! Fuzz target: the hot-path parser, the ICMP-error quote parser, the TCP options reader
//! (window scale, SACK) and the reply builders.
//! Seeds: `seeds/parse/` (the wire test fixtures as binary frames).
#![no_main]

use libfuzzer_sys::fuzz_target;
use svcard_dataplane::wire::{self, checksum, Outcome, Parsed};

/// Room a reply builder may need beyond the received frame (an ICMPv6 error adds 48).
const ROOM: usize = 1400;

fn assert_in_frame(len: usize, p: &Parsed) {
    let l3 = usize::from(p.l3_offset);
    let ip_end = l3 + usize::from(p.ip_len);
    let end = usize::from(p.payload_offset) + usize::from(p.payload_len);
    assert!(ip_end <= len && end <= ip_end && l3 < usize::from(p.payload_offset));
    assert!(p.l4_offset == 0 || usize::from(p.l4_offset) <= usize::from(p.payload_offset));
}

fuzz_target!(|data: &[u8]| {
    let p = match wire::parse(data) {
        Outcome::Ip(p) => p,
        Outcome::NotIp { .. } | Outcome::Drop(_) => return,
    };
    assert_in_frame(data.len().min(0xffff), &p);
    if let Some(q) = wire::parse_icmp_error_inner(data, &p) {
        assert!(q.l3_offset == p.payload_offset);
        assert!(
            usize::from(q.payload_offset) + usize::from(q.payload_len)
                <= usize::from(p.payload_offset) + usize::from(p.payload_len)
        );
    }
    let _ = checksum::verify_parsed(data, &p);
    if p.proto == wire::ip_proto::TCP && p.l4_offset != 0 {
        // The options area as the session's sequence window reads it.
        let l4 = usize::from(p.l4_offset);
        let opts = data.get(l4 + 20..usize::from(p.payload_offset)).unwrap_or(&[]);
        let o = wire::read_tcp_options(opts);
        assert!(o.wscale.is_none_or(|w| w <= 14));
    }

    let mut buf = Vec::with_capacity(data.len() + ROOM);
    buf.extend_from_slice(data);
    buf.resize(data.len() + ROOM, 0);
    if let Some(n) = wire::tcp_rst_in_place(&mut buf, data.len(), &p) {
        match wire::parse(&buf[..n]) {
            Outcome::Ip(r) => assert!(checksum::verify_parsed(&buf[..n], &r)),
            other => panic!("RST does not parse: {other:?}"),
        }
    }

    buf.clear();
    buf.extend_from_slice(data);
    buf.resize(data.len() + ROOM, 0);
    if let Some(n) = wire::icmp_unreachable_in_place(&mut buf, data.len(), &p) {
        match wire::parse(&buf[..n]) {
            Outcome::Ip(r) => {
                assert!(r.is_icmp_error());
                assert!(checksum::verify_parsed(&buf[..n], &r));
            }
            other => panic!("ICMP unreachable does not parse: {other:?}"),
        }
    }
});
