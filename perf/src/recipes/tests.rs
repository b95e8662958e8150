//! Tests of the recipes: every frame parses, flows are distinct and complete, sizes and
//! proportions hold.

use super::shape::tcp_flags::{ACK, FIN, PSH, SYN};
use super::{capture::*, churn::*, flows::*, ftp::*, shape::*, udp::*};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use svcard_dataplane::wire::{parse, Outcome, Parsed};

fn ip(f: &[u8]) -> Parsed {
    match parse(f) {
        Outcome::Ip(p) => p,
        o => panic!("not a valid IP frame: {o:?}"),
    }
}

/// The canonical (direction-free) 5-tuple of a parsed frame.
fn key(p: &Parsed) -> ([u8; 16], u16, [u8; 16], u16, u8) {
    let a = (p.src, p.sport);
    let b = (p.dst, p.dport);
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    (x.0, x.1, y.0, y.1, p.proto)
}

/// The L4 checksum of a frame verifies (sums to 0xffff with the pseudo-header).
fn l4_checksum_ok(f: &[u8], p: &Parsed) -> bool {
    let seg = &f[usize::from(p.l4_offset)..usize::from(p.l3_offset) + usize::from(p.ip_len)];
    let mut sum = 0u32;
    let add = |sum: &mut u32, b: &[u8]| {
        for c in b.chunks(2) {
            *sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    };
    if p.family == 4 {
        add(&mut sum, &p.src[..4]);
        add(&mut sum, &p.dst[..4]);
    } else {
        add(&mut sum, &p.src);
        add(&mut sum, &p.dst);
    }
    sum += u32::from(p.proto) + seg.len() as u32;
    add(&mut sum, seg);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

#[test]
fn udp_flows_unchanged() {
    // `svcard gen udp-flows` (the lead's captures) must not change: one client frame
    // per flow, 192.0.2.x servers, the historic port plan.
    let r = udp_flows(1000, 60);
    assert_eq!(r.len(), 1000);
    assert!(r.iter().all(|x| x.data.len() == 60));
    let p = ip(&r[7].data);
    assert_eq!(p.dst_v4(), [192, 0, 2, 8]);
    assert_eq!((p.sport, p.dport), (1031, 123));
    assert_eq!(r[7].ts_ns, 7000);
    let r = udp_flows(10, 1514);
    assert!(r.iter().all(|x| x.data.len() == 1514));
}

#[test]
fn later_passes_hold_every_flow_once_in_another_order() {
    for n in [1u32, 2, 7, 1000, 65_536] {
        let r = udp_flows_passes(n, 60, 4);
        assert_eq!(r.len(), 4 * n as usize);
        let base = udp_flows(n, 60);
        // Pass 0 is the one-pass capture itself.
        for (a, b) in r[..n as usize].iter().zip(&base) {
            assert_eq!(a.data, b.data);
        }
        for pass in 1..4 {
            let part = &r[(pass * n) as usize..((pass + 1) * n) as usize];
            let mut seen: HashSet<&[u8]> = HashSet::new();
            for f in part {
                assert!(seen.insert(&f.data), "n {n} pass {pass}: a flow twice");
            }
            assert_eq!(seen.len(), n as usize);
            if n >= 1000 {
                // Not the creation order, nor close to it.
                let in_place = part
                    .iter()
                    .zip(&base)
                    .filter(|(a, b)| a.data == b.data)
                    .count();
                assert!(
                    in_place < n as usize / 20,
                    "pass {pass}: {in_place} in place"
                );
            }
        }
        // Time keeps going forward across the passes.
        assert!(r.windows(2).all(|w| w[0].ts_ns < w[1].ts_ns));
    }
    // One pass (and anything out of range, clamped) is the plain capture.
    assert_eq!(udp_flows_passes(100, 60, 1).len(), 100);
    assert_eq!(udp_flows_passes(100, 60, 0).len(), 100);
    assert_eq!(udp_flows_passes(10, 60, 99).len(), 10 * MAX_PASSES as usize);
    // What the commands accept.
    assert_eq!(check_passes(1 << 22, 4), Ok(()));
    assert!(check_passes((1 << 22) + 1, 4)
        .unwrap_err()
        .contains("at most 16777216"));
    assert!(check_passes(10, 0).unwrap_err().contains("1 to 8"));
    assert!(check_passes(10, 9).unwrap_err().contains("1 to 8"));
    // The orders of different passes differ.
    let a: Vec<u32> = (0..1000).map(|j| pass_order(1, j, 1000)).collect();
    let b: Vec<u32> = (0..1000).map(|j| pass_order(2, j, 1000)).collect();
    assert_ne!(a, b);
}

#[test]
fn udp_flows_ports_carry_no_alg() {
    let cfg = svcard_config::Config::from_toml_str("", std::path::Path::new("t.toml")).unwrap();
    for p in UDP_FLOW_PORTS {
        let app = cfg.lookup_application(17, p);
        assert_eq!(cfg.alg_enabled(app), None, "udp/{p} has an ALG");
    }
}

#[test]
fn udp_flows_both_directions_distinct() {
    let spec = FlowSpec {
        flows: 5000,
        ..FlowSpec::default()
    };
    let v: Vec<(bool, Vec<u8>)> = flows(spec).collect();
    assert_eq!(v.len(), 10_000);
    let mut keys = HashSet::new();
    for (j, (from_client, f)) in v.iter().enumerate() {
        assert_eq!(*from_client, j % 2 == 0, "client then server per flow");
        assert_eq!(f.len(), 60);
        let p = ip(f);
        assert_eq!((p.family, p.proto, p.vlan), (4, 17, 0));
        assert!(l4_checksum_ok(f, &p), "UDP checksum of frame {j}");
        if *from_client {
            assert_eq!(p.src[0], 10, "clients in 10/8");
            assert_eq!(&p.dst[..2], &[198, 18], "servers in 198.18/15");
            assert!((32_768..61_000).contains(&p.sport));
            assert!(UDP_SERVICE_PORTS.contains(&p.dport));
        } else {
            assert_eq!(p.dst[0], 10);
            assert!(UDP_SERVICE_PORTS.contains(&p.sport));
        }
        keys.insert(key(&p));
    }
    assert_eq!(
        keys.len(),
        5000,
        "one session per flow, both directions of it"
    );
}

#[test]
fn v4_clients_distinct_at_scale() {
    let mut seen = HashSet::new();
    for i in (0..MAX_V4_FLOWS)
        .step_by(97)
        .chain(MAX_V4_FLOWS - 50..MAX_V4_FLOWS)
    {
        let e = endpoints(i, Family::V4, Proto::Udp);
        assert!(seen.insert(e.client), "flow {i}");
        assert_ne!(e.client, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)));
        assert_ne!(e.client, IpAddr::V4(Ipv4Addr::new(10, 255, 255, 255)));
    }
}

#[test]
fn frame_sizes_64_to_1518() {
    for size in [60usize, 124, 252, 508, 1020, 1514] {
        let spec = FlowSpec {
            flows: 20,
            size: FrameSize::Fixed(size),
            ..FlowSpec::default()
        };
        for (_, f) in flows(spec) {
            assert_eq!(f.len(), size);
            let p = ip(&f);
            assert_eq!(usize::from(p.payload_len), size - 42);
        }
    }
    assert_eq!(FrameSize::parse("60"), Ok(FrameSize::Fixed(60)));
    assert_eq!(FrameSize::parse("IMIX"), Ok(FrameSize::Imix));
    assert!(FrameSize::parse("64000").is_err());
    assert!(FrameSize::parse("59").is_err());
    assert_eq!(FrameSize::Fixed(60).label(), "64 B");
}

#[test]
fn imix_proportions() {
    let spec = FlowSpec {
        flows: 48 * 100,
        size: FrameSize::Imix,
        both_directions: true,
        ..FlowSpec::default()
    };
    let mut count: HashMap<usize, usize> = HashMap::new();
    let mut bytes = 0usize;
    let mut n = 0usize;
    for (_, f) in flows(spec) {
        ip(&f);
        *count.entry(f.len()).or_default() += 1;
        bytes += f.len() + 4;
        n += 1;
    }
    assert_eq!(n, 9600);
    // 28 × 64, 16 × 570, 4 × 1518 per 48 frames (capture frames have no FCS).
    assert_eq!(count.len(), 3);
    assert_eq!(count[&60], 28 * 200);
    assert_eq!(count[&566], 16 * 200);
    assert_eq!(count[&1514], 4 * 200);
    assert!((bytes as f64 / n as f64 - IMIX_MEAN_WIRE_BYTES).abs() < 1e-9);
    // Every 12 consecutive frames hold the same mix.
    let w: Vec<usize> = (0..12).map(|i| FrameSize::Imix.len_of(i + 5)).collect();
    assert_eq!(w.iter().filter(|&&l| l == 60).count(), 7);
    assert_eq!(w.iter().filter(|&&l| l == 566).count(), 4);
    assert_eq!(w.iter().filter(|&&l| l == 1514).count(), 1);
}

#[test]
fn vlan_and_ipv6() {
    let spec = FlowSpec {
        flows: 100,
        family: Family::V6,
        vlan: Some(100),
        size: FrameSize::Fixed(128),
        ..FlowSpec::default()
    };
    let mut keys = HashSet::new();
    for (fc, f) in flows(spec) {
        assert_eq!(f.len(), 128);
        assert_eq!(&f[12..16], &[0x81, 0x00, 0x00, 100], "802.1Q tag, VLAN 100");
        assert_eq!(&f[16..18], &[0x86, 0xdd]);
        let p = ip(&f);
        assert_eq!((p.family, p.proto, p.vlan, p.l3_offset), (6, 17, 100, 18));
        assert!(l4_checksum_ok(&f, &p));
        let (c, _s) = if fc { (p.src, p.dst) } else { (p.dst, p.src) };
        assert_eq!(&c[..8], &[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0]);
        keys.insert(key(&p));
    }
    assert_eq!(keys.len(), 100);
    // A tagged 64-byte frame stays 60 capture bytes; IPv6+TCP cannot be shorter than
    // its headers.
    let spec = FlowSpec {
        flows: 3,
        vlan: Some(7),
        ..FlowSpec::default()
    };
    assert!(flows(spec).all(|(_, f)| f.len() == 60 && ip(&f).vlan == 7));
    let spec = FlowSpec {
        flows: 3,
        family: Family::V6,
        proto: Proto::Tcp,
        ..FlowSpec::default()
    };
    assert!(flows(spec).all(|(_, f)| f.len() == 74));
}

#[test]
fn tcp_established_flows() {
    let spec = FlowSpec {
        flows: 50,
        proto: Proto::Tcp,
        size: FrameSize::Fixed(100),
        ..FlowSpec::default()
    };
    let v: Vec<Parsed> = flows(spec).map(|(_, f)| ip(&f)).collect();
    assert_eq!(v.len(), 100);
    for pair in v.chunks(2) {
        let (c, s) = (&pair[0], &pair[1]);
        assert_eq!((c.proto, c.tcp_flags, s.tcp_flags), (6, 0x18, 0x18));
        assert!(TCP_SERVICE_PORTS.contains(&c.dport));
        // The server acknowledges the client's segment; the client acks the server's ISN+1.
        assert_eq!(s.tcp_ack, c.tcp_seq.wrapping_add(u32::from(c.payload_len)));
        assert_eq!(c.tcp_ack, s.tcp_seq);
    }
}

#[test]
fn udp_churn_every_flow_once() {
    let v: Vec<(bool, Vec<u8>)> = udp_churn(3000, Family::V4, None, 60).collect();
    assert_eq!(v.len(), 3000);
    assert!(v.iter().all(|(fc, f)| *fc && f.len() == 60));
    let keys: HashSet<_> = v.iter().map(|(_, f)| key(&ip(f))).collect();
    assert_eq!(keys.len(), 3000, "every frame a new flow");
}

#[test]
fn tcp_churn_full_exchanges() {
    let spec = ChurnSpec {
        connections: 100,
        family: Family::V4,
        vlan: None,
        size: 200,
        concurrency: 16,
    };
    let v: Vec<(bool, Vec<u8>)> = tcp_churn(spec).collect();
    assert_eq!(v.len(), 100 * TCP_EXCHANGE_FRAMES);
    let mut per: HashMap<_, Vec<(bool, Parsed)>> = HashMap::new();
    for (fc, f) in &v {
        let p = ip(f);
        assert!(l4_checksum_ok(f, &p));
        per.entry(key(&p)).or_default().push((*fc, p));
    }
    assert_eq!(per.len(), 100, "100 distinct connections");
    // Waves of 16: the first 16 frames are the SYNs of 16 connections.
    assert!(v[..16].iter().all(|(_, f)| ip(f).tcp_flags == SYN));
    for segs in per.values() {
        let flags: Vec<u8> = segs.iter().map(|(_, p)| p.tcp_flags).collect();
        assert_eq!(
            flags,
            vec![
                SYN,
                SYN | ACK,
                ACK,
                PSH | ACK,
                PSH | ACK,
                FIN | ACK,
                FIN | ACK,
                ACK
            ],
            "SYN, SYN-ACK, ACK, data, data, FIN/ACK, FIN/ACK, ACK"
        );
        let dirs: Vec<bool> = segs.iter().map(|(fc, _)| *fc).collect();
        assert_eq!(
            dirs,
            vec![true, false, true, true, false, true, false, true]
        );
        let p: Vec<&Parsed> = segs.iter().map(|(_, p)| p).collect();
        // Sequence numbers: SYN-ACK acks ISN+1, data advances, FINs count one.
        assert_eq!(p[1].tcp_ack, p[0].tcp_seq.wrapping_add(1));
        assert_eq!(p[2].tcp_seq, p[0].tcp_seq.wrapping_add(1));
        assert_eq!(p[2].tcp_ack, p[1].tcp_seq.wrapping_add(1));
        assert_eq!(p[3].payload_len, 200 - 54);
        assert_eq!(
            p[4].tcp_ack,
            p[3].tcp_seq.wrapping_add(u32::from(p[3].payload_len))
        );
        assert_eq!(p[5].tcp_seq, p[4].tcp_ack);
        assert_eq!(p[6].tcp_ack, p[5].tcp_seq.wrapping_add(1));
        assert_eq!(p[7].tcp_ack, p[6].tcp_seq.wrapping_add(1));
    }
    // IPv6 with a VLAN tag.
    let spec = ChurnSpec {
        connections: 5,
        family: Family::V6,
        vlan: Some(42),
        size: 60,
        concurrency: 2,
    };
    let v: Vec<Parsed> = tcp_churn(spec).map(|(_, f)| ip(&f)).collect();
    assert_eq!(v.len(), 5 * TCP_EXCHANGE_FRAMES);
    assert!(v.iter().all(|p| p.family == 6 && p.vlan == 42));
}

fn text(f: &[u8], p: &Parsed) -> String {
    let o = usize::from(p.payload_offset);
    String::from_utf8_lossy(&f[o..o + usize::from(p.payload_len)]).into_owned()
}

#[test]
fn ftp_mix_control_and_data() {
    let v: Vec<(bool, Vec<u8>)> = ftp_mix(4, Family::V4, None).collect();
    let parsed: Vec<(bool, Parsed, String)> = v
        .iter()
        .map(|(fc, f)| {
            let p = ip(f);
            assert!(l4_checksum_ok(f, &p));
            (*fc, p, text(f, &p))
        })
        .collect();
    // Session 0 is passive: PASV, 227 with the port the client then connects to.
    let s0 = ftp_session(0, Family::V4, None);
    let p0: Vec<(bool, Parsed, String)> = s0
        .iter()
        .map(|(fc, f)| {
            let p = ip(f);
            (*fc, p, text(f, &p))
        })
        .collect();
    assert_eq!(p0[0].1.dport, FTP_PORT);
    assert_eq!(p0[0].1.tcp_flags, SYN);
    assert!(p0[3].2.starts_with("220 "));
    assert!(p0.iter().any(|(fc, _, t)| *fc && t == "PASV\r\n"));
    let reply = p0
        .iter()
        .find(|(_, _, t)| t.starts_with("227 "))
        .map(|(_, p, t)| (p.src_v4(), t.clone()))
        .unwrap();
    let inner = &reply.1[reply.1.find('(').unwrap() + 1..reply.1.find(')').unwrap()];
    let n: Vec<u16> = inner.split(',').map(|x| x.parse().unwrap()).collect();
    assert_eq!(n.len(), 6);
    assert_eq!(
        [n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8],
        reply.0,
        "227 names the server"
    );
    let port = n[4] * 256 + n[5];
    let syn = p0
        .iter()
        .find(|(_, p, _)| p.tcp_flags == SYN && p.dport == port)
        .expect("the client's SYN to the passive port");
    assert!(syn.0, "passive data connection opened by the client");
    // The data connection carries the file, then both sides close.
    assert!(p0
        .iter()
        .any(|(fc, p, _)| !fc && p.sport == port && p.payload_len == 1024));
    // Session 1 is active: PORT with the client's address, SYN from server port 20.
    let s1: Vec<(bool, Parsed, String)> = ftp_session(1, Family::V4, None)
        .iter()
        .map(|(fc, f)| {
            let p = ip(f);
            (*fc, p, text(f, &p))
        })
        .collect();
    let (cli, port_cmd) = s1
        .iter()
        .find(|(_, _, t)| t.starts_with("PORT "))
        .map(|(_, p, t)| (p.src_v4(), t.clone()))
        .unwrap();
    let n: Vec<u16> = port_cmd[5..port_cmd.len() - 2]
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!([n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8], cli);
    let port = n[4] * 256 + n[5];
    let syn = s1
        .iter()
        .find(|(_, p, _)| p.tcp_flags == SYN && p.sport == 20)
        .unwrap();
    assert!(!syn.0, "active data connection opened by the server");
    assert_eq!(syn.1.dport, port);
    // Control-connection sequence numbers follow the dialogue: each reply acks the
    // command before it.
    let ctl: Vec<&(bool, Parsed, String)> = s1
        .iter()
        .filter(|(_, p, _)| p.sport == FTP_PORT || p.dport == FTP_PORT)
        .collect();
    for w in ctl.windows(2) {
        let (a, b) = (&w[0].1, &w[1].1);
        if w[0].0 != w[1].0 && b.tcp_flags & ACK != 0 {
            let adv = u32::from(a.payload_len) + u32::from(a.tcp_flags & (SYN | FIN) != 0);
            assert_eq!(b.tcp_ack, a.tcp_seq.wrapping_add(adv));
        }
    }
    assert!(s1.last().is_some_and(|(_, p, _)| p.tcp_flags == ACK));
    assert!(s1.iter().any(|(_, _, t)| t == "QUIT\r\n"));
    assert_eq!(s0.len(), FTP_SESSION_FRAMES);
    assert_eq!(s1.len(), FTP_SESSION_FRAMES);
    assert_eq!(parsed.len(), v.len());
    // IPv6 uses EPSV / EPRT.
    let t6: Vec<String> = ftp_mix(2, Family::V6, Some(5))
        .map(|(_, f)| {
            let p = ip(&f);
            assert_eq!((p.family, p.vlan), (6, 5));
            text(&f, &p)
        })
        .collect();
    assert!(t6.iter().any(|t| t == "EPSV\r\n"));
    assert!(t6
        .iter()
        .any(|t| t.starts_with("229 Entering Extended Passive Mode (|||")));
    assert!(t6.iter().any(|t| t.starts_with("EPRT |2|2001:db8:1:")));
}

#[test]
fn capture_writer_splits_and_counts() {
    let dir = std::env::temp_dir().join(format!("svcard-perf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("c.pcap"), dir.join("s.pcap"));
    let spec = FlowSpec {
        flows: 48,
        size: FrameSize::Imix,
        ..FlowSpec::default()
    };
    let st = write_capture(&a, Some(&b), flows(spec)).unwrap();
    assert_eq!((st.frames, st.client_frames, st.max_len), (96, 48, 1514));
    let c = svcard_dataplane::pcapfile::read_file(&a).unwrap();
    let s = svcard_dataplane::pcapfile::read_file(&b).unwrap();
    assert_eq!((c.len(), s.len()), (48, 48));
    assert!((st.mean_len() + 4.0 - IMIX_MEAN_WIRE_BYTES).abs() < 1e-9);
    let st = write_capture(&a, None, flows(spec)).unwrap();
    assert_eq!(svcard_dataplane::pcapfile::read_file(&a).unwrap().len(), 96);
    assert_eq!((st.frames, st.tagged), (96, 0));
    // Tagged frames are counted (the mix tags a fifth of its flows).
    let st = write_capture(&a, None, super::mix::mixed_flows(1000, 60, 1)).unwrap();
    let want = (0..1000)
        .filter(|&i| super::mix::kind_of(i).vlan.is_some())
        .count() as u64;
    assert!(want > 0);
    assert_eq!(st.tagged, want);
    let _ = std::fs::remove_dir_all(&dir);
}

/// With replies, later passes carry half the flows' replies (the other half the next pass),
/// so every flow is seen both ways; pass 0 stays the requests in creation order; the
/// client-side count is exact.
#[test]
fn later_passes_carry_the_replies_in_no_creation_order() {
    for n in [1u32, 7, 1000] {
        for passes in [2u32, 4] {
            let r = udp_flows_both_ways(n, 60, passes, true);
            assert_eq!(r.len(), (n * passes) as usize);
            let base = udp_flows(n, 60);
            for (a, b) in r[..n as usize].iter().zip(&base) {
                assert_eq!(a.data, b.data);
            }
            let replies: HashSet<Vec<u8>> = (0..n).map(|i| udp_flow_frame(i, 60, true)).collect();
            let requests: HashSet<&[u8]> = base.iter().map(|b| b.data.as_slice()).collect();
            let mut both = HashSet::new();
            let mut from_client = 0u64;
            for f in &r {
                let req = requests.contains(f.data.as_slice());
                let rep = replies.contains(&f.data);
                assert!(req ^ rep, "every frame is one flow's request or reply");
                from_client += u64::from(req);
                if rep {
                    both.insert(f.data.clone());
                }
            }
            assert_eq!(from_client, client_frames_both_ways(n, passes, true));
            if passes == 4 && n > 1 {
                assert_eq!(both.len(), n as usize, "n {n}: every flow's reply");
            }
        }
    }
    // A reply is the request with addresses and ports swapped, from the server's side.
    let q = ip(&udp_flow_frame(5, 60, false));
    let a = ip(&udp_flow_frame(5, 60, true));
    assert_eq!(
        (q.src, q.sport, q.dst, q.dport),
        (a.dst, a.dport, a.src, a.sport)
    );
    // Without replies, or with one pass, the requests only.
    assert_eq!(
        udp_flows_both_ways(100, 60, 4, false)
            .iter()
            .zip(udp_flows_passes(100, 60, 4))
            .filter(|(a, b)| a.data != b.data)
            .count(),
        0
    );
    assert_eq!(client_frames_both_ways(100, 1, true), 100);
}

/// The mix: every frame parses; its shares of TCP, IPv6 and VLAN flows are those asked for
/// (within 2 points over 20,000 flows); every flow is seen both ways with one 5-tuple
/// (one session); each frame's family, protocol and tag are its flow's; TCP replies
/// acknowledge the request's payload; checksums verify; sizes are the size asked for, or
/// the headers where they are longer.
#[test]
fn the_mix_holds_its_shares_and_every_flow_both_ways() {
    use super::mix::*;
    let n = 20_000u32;
    let kinds: Vec<FlowKind> = (0..n).map(kind_of).collect();
    let share = |f: &dyn Fn(&FlowKind) -> bool| {
        kinds.iter().filter(|k| f(k)).count() as f64 * 100.0 / f64::from(n)
    };
    let tcp = share(&|k| k.proto == Proto::Tcp);
    let v6 = share(&|k| k.family == Family::V6);
    let vlan = share(&|k| k.vlan == Some(MIX_VLAN));
    assert!((tcp - f64::from(TCP_PERCENT)).abs() < 2.0, "{tcp}");
    assert!((v6 - f64::from(V6_PERCENT)).abs() < 2.0, "{v6}");
    assert!((vlan - f64::from(VLAN_PERCENT)).abs() < 2.0, "{vlan}");
    // Independent: IPv6 TCP on a VLAN exists.
    assert!(kinds
        .iter()
        .any(|k| k.proto == Proto::Tcp && k.family == Family::V6 && k.vlan.is_some()));
    let frames: Vec<(bool, Vec<u8>)> = mixed_flows(n, 60, 4).collect();
    assert_eq!(frames.len(), 4 * n as usize);
    // The first pass is the requests in flow order.
    assert!(frames[..n as usize].iter().all(|(c, _)| *c));
    let mut dirs: HashMap<_, (bool, bool)> = HashMap::new();
    for (from_client, f) in &frames {
        let p = ip(f);
        assert!(l4_checksum_ok(f, &p));
        let k = key(&p);
        let e = dirs.entry(k).or_default();
        if *from_client {
            e.0 = true;
        } else {
            e.1 = true;
        }
    }
    assert_eq!(dirs.len(), n as usize, "one 5-tuple per flow");
    assert!(dirs.values().all(|&(c, s)| c && s), "every flow both ways");
    for i in [0u32, 1, 2, 7, 99, 1234] {
        let k = kind_of(i);
        let (req, rep) = (
            mixed_flow_frame(i, 60, false),
            mixed_flow_frame(i, 60, true),
        );
        let (a, b) = (ip(&req), ip(&rep));
        assert_eq!(key(&a), key(&b));
        assert_eq!(a.family, if k.family == Family::V6 { 6 } else { 4 });
        let want_proto = if k.proto == Proto::Tcp { 6 } else { 17 };
        assert_eq!(a.proto, want_proto);
        assert_eq!(
            req.len(),
            60.max(header_len(k.family, k.proto, k.vlan.is_some()))
        );
        let tagged = u16::from_be_bytes([req[12], req[13]]) == 0x8100;
        assert_eq!(tagged, k.vlan.is_some(), "flow {i}");
        if k.proto == Proto::Tcp {
            let data = u32::from(a.ip_len) - u32::from(a.l4_offset - a.l3_offset) - 20;
            assert_eq!(b.tcp_ack, a.tcp_seq.wrapping_add(data), "flow {i}");
        }
    }
}
