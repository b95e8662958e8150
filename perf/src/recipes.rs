//! Traffic recipes: captures made on demand (never committed beyond the small sample).

use crate::frames::{arp_request, build, L4};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use svcard_dataplane::pcapfile::Record;

/// The client address of flow `i` of a many-flow recipe: 10.0.0.0/8, 16M distinct.
#[must_use]
pub fn client_v4(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff))
}

/// `n` distinct UDP flows of `frame_len`-byte frames (client → server only, one frame per
/// flow per round), source ports and addresses spread the way real clients are.
#[must_use]
pub fn udp_flows(n: u32, frame_len: usize) -> Vec<Record> {
    let payload = frame_len.saturating_sub(14 + 20 + 8);
    (0..n)
        .map(|i| {
            let src = IpAddr::V4(client_v4(i.wrapping_mul(2_654_435_761) >> 8));
            let dst = IpAddr::V4(Ipv4Addr::new(192, 0, 2, (i % 200) as u8 + 1));
            let sport = 1024 + (i % 64_000) as u16;
            let dport = [53u16, 123, 443, 4500, 5004, 8080][(i % 6) as usize];
            let l4 = L4::Udp {
                sport,
                dport,
                payload: vec![0x5a; payload.min(1472)],
            };
            Record {
                ts_ns: u64::from(i) * 1000,
                data: build(src, dst, &l4, frame_len.max(60), true),
            }
        })
        .collect()
}

fn tcp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    data: &[u8],
    fc: bool,
) -> Vec<u8> {
    let l4 = L4::Tcp {
        sport,
        dport,
        flags,
        seq,
        ack,
        payload: data.to_vec(),
    };
    build(
        src.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        dst.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        &l4,
        60,
        fc,
    )
}

fn udp(src: &str, sport: u16, dst: &str, dport: u16, data: &[u8], fc: bool) -> Vec<u8> {
    let l4 = L4::Udp {
        sport,
        dport,
        payload: data.to_vec(),
    };
    build(
        src.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        dst.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        &l4,
        60,
        fc,
    )
}

/// A full TCP exchange (handshake, request, response, both FINs) between a client and a
/// server: client frames and server frames in capture order, each tagged `true` when the
/// client sent it.
#[must_use]
pub fn tcp_exchange(
    c: &str,
    cp: u16,
    s: &str,
    sp: u16,
    req: &[u8],
    resp: &[u8],
    close: bool,
) -> Vec<(bool, Vec<u8>)> {
    let (ci, si) = (1000u32, 5000u32);
    let q = req.len() as u32;
    let r = resp.len() as u32;
    let mut v = vec![
        (true, tcp(c, cp, s, sp, 0x02, ci, 0, &[], true)),
        (false, tcp(s, sp, c, cp, 0x12, si, ci + 1, &[], false)),
        (true, tcp(c, cp, s, sp, 0x10, ci + 1, si + 1, &[], true)),
        (true, tcp(c, cp, s, sp, 0x18, ci + 1, si + 1, req, true)),
        (
            false,
            tcp(s, sp, c, cp, 0x18, si + 1, ci + 1 + q, resp, false),
        ),
        (
            true,
            tcp(c, cp, s, sp, 0x10, ci + 1 + q, si + 1 + r, &[], true),
        ),
    ];
    if close {
        v.push((
            true,
            tcp(c, cp, s, sp, 0x11, ci + 1 + q, si + 1 + r, &[], true),
        ));
        v.push((
            false,
            tcp(s, sp, c, cp, 0x11, si + 1 + r, ci + 2 + q, &[], false),
        ));
        v.push((
            true,
            tcp(c, cp, s, sp, 0x10, ci + 2 + q, si + 2 + r, &[], true),
        ));
    }
    v
}

/// The sample the example configuration replays: what each flow is and what the example's
/// rules do with it are listed in `examples/svcard.toml`. Returns the frames as they
/// arrive on the client-side port (`true`) and the server-side port (`false`).
#[must_use]
pub fn sample_mix() -> Vec<(bool, Vec<u8>)> {
    let mut v: Vec<(bool, Vec<u8>)> = Vec::new();
    // Web: three HTTP exchanges, two closed, one left open.
    for (i, close) in [(1u16, true), (2, true), (3, false)] {
        let c = format!("10.0.0.{}", 10 + i);
        v.extend(tcp_exchange(
            &c,
            40_000 + i,
            "192.0.2.80",
            80,
            b"GET / HTTP/1.1\r\nHost: www\r\n\r\n",
            &[b'x'; 600],
            close,
        ));
    }
    // FTP control connection (login and a PWD).
    v.extend(tcp_exchange(
        "10.0.0.20",
        41_047,
        "192.0.2.21",
        21,
        b"USER anonymous\r\n",
        b"220 svcard test FTP\r\n",
        false,
    ));
    // DNS query and answer.
    v.push((
        true,
        udp(
            "10.0.0.30",
            53_001,
            "192.0.2.53",
            53,
            &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
            true,
        ),
    ));
    v.push((
        false,
        udp(
            "192.0.2.53",
            53,
            "10.0.0.30",
            53_001,
            &[0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0],
            false,
        ),
    ));
    // UDP to a discarded range.
    for i in 0..3u16 {
        v.push((
            true,
            udp(
                "10.0.0.40",
                50_000 + i,
                "198.51.100.9",
                9999,
                b"blocked",
                true,
            ),
        ));
    }
    // Telnet to a rejected host: the SYN is answered with a RST.
    v.push((
        true,
        tcp(
            "10.0.0.50",
            50_123,
            "198.51.100.7",
            23,
            0x02,
            7777,
            0,
            &[],
            true,
        ),
    ));
    // Ping.
    for seq in 1..=3u16 {
        let src: IpAddr = "10.0.0.60"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let dst: IpAddr = "192.0.2.1"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        v.push((
            true,
            build(
                src,
                dst,
                &L4::Echo {
                    request: true,
                    id: 0x77,
                    seq,
                },
                60,
                true,
            ),
        ));
        v.push((
            false,
            build(
                dst,
                src,
                &L4::Echo {
                    request: false,
                    id: 0x77,
                    seq,
                },
                60,
                false,
            ),
        ));
    }
    // IPv6 UDP.
    let a6: IpAddr = IpAddr::V6("2001:db8:1::10".parse().unwrap_or(Ipv6Addr::UNSPECIFIED));
    let b6: IpAddr = IpAddr::V6("2001:db8:2::20".parse().unwrap_or(Ipv6Addr::UNSPECIFIED));
    v.push((
        true,
        build(
            a6,
            b6,
            &L4::Udp {
                sport: 33_000,
                dport: 5004,
                payload: vec![1; 100],
            },
            60,
            true,
        ),
    ));
    v.push((
        false,
        build(
            b6,
            a6,
            &L4::Udp {
                sport: 5004,
                dport: 33_000,
                payload: vec![2; 100],
            },
            60,
            false,
        ),
    ));
    // ARP, passed through untouched.
    v.push((true, arp_request([10, 0, 0, 1], [10, 0, 0, 254])));
    // A truncated IPv4 frame (dropped and counted as malformed).
    let mut bad = udp("10.0.0.70", 1, "192.0.2.70", 2, b"x", true);
    bad.truncate(20);
    v.push((true, bad));
    v
}
