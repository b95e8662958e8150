//! The sample the example configuration replays: a few flows of each kind (UDP, a TCP exchange, a rejected and a discarded flow, ARP, a malformed frame).

use crate::frames::{self, arp_request, build, L4};
use std::net::{IpAddr, Ipv4Addr};

/// An address of the recipes' own plans (always valid text; the unspecified address
/// otherwise).
pub(crate) fn addr(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn tcp(
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
    frames::tcp(
        addr(src),
        sport,
        addr(dst),
        dport,
        flags,
        seq,
        ack,
        data,
        fc,
    )
}

pub(crate) fn udp(src: &str, sport: u16, dst: &str, dport: u16, data: &[u8], fc: bool) -> Vec<u8> {
    frames::udp(addr(src), sport, addr(dst), dport, data, fc)
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
        let (src, dst) = (addr("10.0.0.60"), addr("192.0.2.1"));
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
    let (a6, b6) = (addr("2001:db8:1::10"), addr("2001:db8:2::20"));
    v.push((true, frames::udp(a6, 33_000, b6, 5004, &[1; 100], true)));
    v.push((false, frames::udp(b6, 5004, a6, 33_000, &[2; 100], false)));
    // ARP, passed through untouched.
    v.push((true, arp_request([10, 0, 0, 1], [10, 0, 0, 254])));
    // A truncated IPv4 frame (dropped and counted as malformed).
    let mut bad = udp("10.0.0.70", 1, "192.0.2.70", 2, b"x", true);
    bad.truncate(20);
    v.push((true, bad));
    v
}
