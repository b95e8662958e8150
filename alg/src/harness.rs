//! A deterministic driver that feeds arbitrary bytes to an ALG, split into segments at
//! arbitrary points, in both directions, with retransmissions, gaps and timeouts. Shared by
//! the fuzz targets (`alg/fuzz`) and the crate's property tests. Not for the packet path.
//!
//! Input layout: byte 0 selects the parent's transport (bit 0: TCP when the ALG allows
//! both; bit 2: H.323's RAS over UDP) and configuration (bit 1: loose); bytes 1-4 the initial sequence number; then
//! records of `[ctl, len, len bytes of payload]`: `ctl` bit 0 = side, bits 1-2 = sequence
//! mode (0 in order, 1 retransmit from 8 bytes back, 2 skip 16 bytes ahead, 3 in order),
//! bit 3 = advance the clock by a second and run the timeout.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::any::AnyAlg;
use crate::common::Alg;
use crate::icmp;
use crate::kind::AlgKind;
use crate::parse::be32;
use crate::traceroute::Traceroute;
use crate::types::{Action, Actions, AlgConfig, AlgCounters, FlowCtx, Proto, Side};

/// Feeds `data` to a fresh ALG of `kind` as described in the module doc; returns its
/// counters (zero for an ALG without an engine). Panics only if an invariant is broken (a bounded action buffer exceeded,
/// an expectation with port 0), which is what the fuzzers look for.
///
/// # Panics
/// On a broken ALG invariant.
pub fn drive(kind: AlgKind, data: &[u8]) -> AlgCounters {
    let flags = data.first().copied().unwrap_or(0);
    let tcp = match kind {
        AlgKind::Ftp
        | AlgKind::Rsh
        | AlgKind::Rexec
        | AlgKind::Rlogin
        | AlgKind::Rtsp
        | AlgKind::Sqlnet
        | AlgKind::Pptp
        | AlgKind::DceRpcPortmap => true,
        AlgKind::Dns | AlgKind::RpcPortmap | AlgKind::Sip => flags & 1 != 0,
        // Flag 4: H.225 RAS over UDP instead of TPKT over TCP.
        AlgKind::H323 => flags & 4 == 0,
        _ => false,
    };
    let mut cfg = AlgConfig::default_for(kind);
    cfg.loose_ftp = flags & 2 != 0;
    let proto = if tcp { Proto::TCP } else { Proto::UDP };
    let port = kind.default_ports().0.max(1);
    let ctx = FlowCtx::new(
        proto,
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 40000),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20)), port),
    );
    let Some(mut alg) = AnyAlg::new(kind, cfg, ctx) else {
        // No engine for this ALG: nothing to drive.
        return AlgCounters::default();
    };
    let mut seqs = [0u32; 2];
    let isn = be32(data, 1).unwrap_or(0);
    seqs[0] = isn;
    seqs[1] = isn.rotate_left(16);
    let mut now = 0u64;
    let mut out = Actions::new();
    let mut rest = data.get(5..).unwrap_or(&[]);
    while let (Some(&ctl), Some(&len)) = (rest.first(), rest.get(1)) {
        let take = usize::from(len).min(rest.len().saturating_sub(2));
        let payload = rest.get(2..2 + take).unwrap_or(&[]);
        rest = rest.get(2 + take..).unwrap_or(&[]);
        let side = if ctl & 1 == 0 {
            Side::Initiator
        } else {
            Side::Responder
        };
        let i = side.index();
        let next = seqs.get(i).copied().unwrap_or(0);
        let seq = match (ctl >> 1) & 3 {
            1 => next.wrapping_sub(8),
            2 => next.wrapping_add(16),
            _ => next,
        };
        if ctl & 8 != 0 {
            now += 1000;
            out.clear();
            alg.on_timeout(now, &mut out);
            check(&out);
        }
        out.clear();
        alg.on_data(now, side, tcp.then_some(seq), payload, &mut out);
        check(&out);
        if let Some(s) = seqs.get_mut(i) {
            let end = seq.wrapping_add(u32::try_from(payload.len()).unwrap_or(0));
            // Advance only when the segment reached past what was expected.
            if end.wrapping_sub(next) < 0x8000_0000 && (ctl >> 1) & 3 != 2 {
                *s = end;
            }
        }
    }
    let _ = alg.poll_timeout();
    *alg.counters()
}

/// Runs the pure parsers of every ALG over `data` (they must not panic).
pub fn parsers(data: &[u8]) {
    let _ = crate::ftp::parse_port(data);
    let _ = crate::ftp::parse_eprt(data);
    let _ = crate::ftp::parse_227(data);
    let _ = crate::ftp::parse_229(data);
    let _ = crate::tftp::parse_request(data);
    let _ = crate::dns::parse_message(data);
    let _ = crate::rpc::parse_call(data);
    let _ = crate::rpc::parse_reply(data, |x| Some(x & 1 == 0));
    let _ = crate::rpc::parse_uaddr(data);
    let _ = crate::rsh::parse_stderr_port(data);
    let _ = crate::talk::parse(data, false);
    let _ = crate::talk::parse(data, true);
    let _ = crate::parse::comma_addr_port(data);
    let _ = crate::sip::msg::parse(data, true);
    let _ = crate::sip::msg::parse(data, false);
    let _ = crate::sip::sdp::parse(data);
    let _ = crate::rtsp::parse_message(data);
    let _ = crate::rtsp::parse_transport(data, 0);
    let _ = crate::ike::parse(data);
    let _ = crate::sqlnet::parse_packet(data);
    let _ = crate::sqlnet::find_address(data);
    let _ = crate::pptp::parse(data);
    let _ = crate::dcerpc::parse_header(data);
    let _ = crate::h323::parse_tpkt(data);
    let _ = crate::h323::ras::parse(data);
    let _ = crate::dcerpc::map_answer(data, true, &mut |_| {});
    let _ = crate::dcerpc::map_answer(data, false, &mut |_| {});
}

/// Drives the traceroute entry points with TTLs and ICMP answers taken from `data`.
pub fn traceroute(data: &[u8]) {
    let ctx = FlowCtx::new(
        Proto::UDP,
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 40000),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20)), 33434),
    );
    let mut t = Traceroute::new(AlgConfig::default_for(AlgKind::Traceroute), ctx);
    let mut out = Actions::new();
    for (i, pair) in data.chunks(2).enumerate() {
        let (a, b) = (
            pair.first().copied().unwrap_or(0),
            pair.get(1).copied().unwrap_or(0),
        );
        let now = u64::try_from(i).unwrap_or(0) * 100;
        out.clear();
        if a & 1 == 0 {
            t.on_probe(now, Some(b), &mut out);
        } else {
            t.on_icmp(
                now,
                icmp::classify(a & 2 != 0, a >> 2, b),
                ctx.responder.ip(),
            );
            t.on_timeout(now, &mut out);
        }
        check(&out);
    }
}

fn check(out: &Actions) {
    assert!(out.len() <= crate::ACTIONS_CAP);
    for a in out.iter() {
        if let Action::Expect(e) = a {
            assert_ne!(e.dst_port, Some(0), "expectation to port 0");
            assert!(e.timeout_ms > 0);
        }
    }
}

#[cfg(test)]
// Fixture lengths are a few bytes: the casts build wire fields from them.
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a harness input carrying `msg` from `side`, split at `cuts`.
    fn split_input(flags: u8, side: u8, msg: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut d = vec![flags, 0xff, 0xff, 0xff, 0xf0];
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (msg.len() + 1)).collect();
        cuts.push(0);
        cuts.push(msg.len());
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            let part = &msg[w[0]..w[1]];
            d.push(side);
            d.push(part.len() as u8);
            d.extend_from_slice(part);
        }
        d
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn never_panics(kind in 0usize..AlgKind::ENGINES.len(), data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let k = AlgKind::ENGINES[kind];
            let c = drive(k, &data);
            prop_assert!(c.pinholes <= c.packets + c.requests + 1);
            parsers(&data);
            traceroute(&data);
        }

        /// Splitting an FTP command anywhere (across a sequence wrap) changes nothing.
        #[test]
        fn ftp_split_anywhere(cuts in proptest::collection::vec(0usize..64, 0..6), port in 1u16..) {
            let msg = format!("PORT 192,0,2,10,{},{}\r\n", port >> 8, port & 0xff);
            let c = drive(AlgKind::Ftp, &split_input(0, 0, msg.as_bytes(), &cuts));
            prop_assert_eq!(c.pinholes, 1);
            prop_assert_eq!(c.parse_errors, 0);
            let msg = format!("229 Entering Extended Passive Mode (|||{port}|)\r\n");
            let c = drive(AlgKind::Ftp, &split_input(0, 1, msg.as_bytes(), &cuts));
            prop_assert_eq!(c.pinholes, 1);
        }

        /// A DNS-over-TCP query split anywhere is reassembled.
        #[test]
        fn dns_tcp_split_anywhere(cuts in proptest::collection::vec(0usize..40, 0..6)) {
            let mut msg = vec![0u8, 29];
            msg.extend_from_slice(b"\x12\x34\x01\x20\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01");
            let c = drive(AlgKind::Dns, &split_input(1, 0, &msg, &cuts));
            prop_assert_eq!(c.requests, 1);
            prop_assert_eq!(c.parse_errors, 0);
        }

        /// An rsh stderr field split anywhere is found.
        #[test]
        fn rsh_split_anywhere(cuts in proptest::collection::vec(0usize..16, 0..4), port in 1u16..) {
            let msg = format!("{port}\0root\0root\0id\0");
            let c = drive(AlgKind::Rsh, &split_input(0, 0, msg.as_bytes(), &cuts));
            prop_assert_eq!(c.pinholes, 1);
        }
    }

    #[test]
    fn harness_smoke() {
        let msg = b"PORT 192,0,2,10,4,1\r\n";
        assert_eq!(
            drive(AlgKind::Ftp, &split_input(0, 0, msg, &[3, 9])).pinholes,
            1
        );
        assert_eq!(drive(AlgKind::Ftp, &[]).packets, 0);
    }
}
