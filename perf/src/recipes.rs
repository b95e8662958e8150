//! Traffic recipes: captures made on demand (never committed beyond the small sample).

use crate::frames::{self, arp_request, build, tag_vlan, L4};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use svcard_dataplane::pcapfile::{Record, Writer};

/// The client address of flow `i` of a many-flow recipe: 10.0.0.0/8, 16M distinct.
#[must_use]
pub fn client_v4(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff))
}

/// The destination ports of [`udp_flows`].
pub const UDP_FLOW_PORTS: [u16; 6] = [5353, 123, 443, 4500, 5004, 8080];

/// `n` distinct UDP flows of `frame_len`-byte frames (client → server only, one frame per
/// flow per round), source ports and addresses spread the way real clients are. The
/// destination ports name no application with an ALG (the benchmark's established traffic
/// stays on the workers; DNS on 53 would go to the control core).
#[must_use]
pub fn udp_flows(n: u32, frame_len: usize) -> Vec<Record> {
    let payload = frame_len.saturating_sub(14 + 20 + 8);
    (0..n)
        .map(|i| {
            let src = IpAddr::V4(client_v4(i.wrapping_mul(2_654_435_761) >> 8));
            let dst = IpAddr::V4(Ipv4Addr::new(192, 0, 2, (i % 200) as u8 + 1));
            let sport = 1024 + (i % 64_000) as u16;
            let dport = UDP_FLOW_PORTS[(i % 6) as usize];
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

/// Most passes [`udp_flows_passes`] writes.
pub const MAX_PASSES: u32 = 8;

/// Multipliers of the later passes' orders: primes above any flow count ([`MAX_V4_FLOWS`]
/// and `svcard bench`'s 2^24), so that `(j + 1) * P mod n` visits every flow once.
const PASS_ORDER: [u64; MAX_PASSES as usize - 1] = [
    2_654_435_761,
    2_246_822_519,
    3_266_489_917,
    668_265_263,
    374_761_393,
    4_294_967_291,
    2_147_483_647,
];

/// Most frames [`udp_flows_passes`] is asked for (the capture is built in memory first).
pub const MAX_PASS_FRAMES: u64 = 1 << 24;

/// Whether `passes` passes over `flows` flows are within [`MAX_PASSES`] and
/// [`MAX_PASS_FRAMES`]; else the error, naming the options (`--flows`, `--passes`) of the
/// commands that take them.
///
/// # Errors
/// The text to show.
pub fn check_passes(flows: u32, passes: u32) -> Result<(), String> {
    if !(1..=MAX_PASSES).contains(&passes) {
        return Err(format!("--passes must be 1 to {MAX_PASSES}"));
    }
    if u64::from(flows) * u64::from(passes) > MAX_PASS_FRAMES {
        return Err(format!(
            "--flows × --passes must be at most {MAX_PASS_FRAMES} frames"
        ));
    }
    Ok(())
}

/// The flow frame `j` of pass `pass` of [`udp_flows_passes`] carries: pass 0 in flow order,
/// each later pass in an order of its own.
#[must_use]
pub fn pass_order(pass: u32, j: u32, n: u32) -> u32 {
    match pass.checked_sub(1).and_then(|k| PASS_ORDER.get(k as usize)) {
        Some(&p) if n > 0 => ((u64::from(j) + 1) * p % u64::from(n)) as u32,
        _ => j,
    }
}

/// [`udp_flows`] written `passes` times (1 to [`MAX_PASSES`]): the first pass in flow
/// order, each later one in an order of its own ([`pass_order`]).
///
/// Why: a replay repeats its capture, and the flows' sessions are made during the first
/// pass, in that pass's order. With one pass every later round meets the sessions in the
/// order they were made, so a table that hands out slots in creation order reads its
/// sessions in memory order, which hardware prefetching hides; traffic seldom keeps
/// that order. With `passes` passes, only one frame in `passes` comes in creation order.
#[must_use]
pub fn udp_flows_passes(n: u32, frame_len: usize, passes: u32) -> Vec<Record> {
    let base = udp_flows(n, frame_len);
    let passes = passes.clamp(1, MAX_PASSES);
    if passes == 1 {
        return base;
    }
    let mut out = Vec::with_capacity(base.len() * passes as usize);
    for pass in 0..passes {
        for j in 0..n {
            let k = out.len() as u64;
            out.push(Record {
                ts_ns: k * 1000,
                data: base[pass_order(pass, j, n) as usize].data.clone(),
            });
        }
    }
    out
}

/// An address of the recipes' own plans (always valid text; the unspecified address
/// otherwise).
fn addr(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

#[allow(clippy::too_many_arguments)]
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

fn udp(src: &str, sport: u16, dst: &str, dport: u16, data: &[u8], fc: bool) -> Vec<u8> {
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

// ---------------------------------------------------------------------------------------
// Many-flow recipes: established flows, connection churn, the FTP (ALG) mix.
//
// Frame sizes are capture bytes, without the 4-byte FCS a NIC adds: the 64-byte Ethernet
// frame is a 60-byte capture frame, 1518 is 1514. A VLAN tag is inside the size (a tagged
// 60-byte frame carries 4 bytes less payload). Where the headers alone are longer than the
// size asked for (IPv6 + TCP is 74 bytes untagged), frames are as short as the headers allow.

/// IP version of a recipe's flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// IPv4: clients in 10.0.0.0/8, servers in 198.18.0.0/15 (RFC 2544's benchmark range).
    #[default]
    V4,
    /// IPv6: clients in 2001:db8:1::/64, servers in 2001:db8:2::/64.
    V6,
}

/// Transport of a recipe's flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proto {
    /// UDP.
    #[default]
    Udp,
    /// TCP.
    Tcp,
}

impl Proto {
    /// Parses `udp` or `tcp`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "udp" => Some(Self::Udp),
            "tcp" => Some(Self::Tcp),
            _ => None,
        }
    }
    /// `udp` or `tcp`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
        }
    }
}

/// One block of the IMIX cycle in capture bytes (64, 570 and 1518 on the wire): 7 × 60,
/// 4 × 566 and 1 × 1514, interleaved. Four blocks make the 48-frame cycle of 28 × 64 B,
/// 16 × 570 B and 4 × 1518 B, and every run of 12 consecutive frames holds the same mix.
pub const IMIX_BLOCK: [u16; 12] = [60, 566, 60, 60, 566, 60, 1514, 60, 566, 60, 60, 566];

/// Mean wire bytes of an IMIX frame with FCS: (28 × 64 + 16 × 570 + 4 × 1518) / 48.
pub const IMIX_MEAN_WIRE_BYTES: f64 = 16_984.0 / 48.0;

/// Frame sizes of a recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSize {
    /// Every frame this many capture bytes (60 = the 64-byte frame, up to 1514).
    Fixed(usize),
    /// The simple IMIX: 28 × 64 B, 16 × 570 B, 4 × 1518 B in every 48 frames.
    Imix,
}

impl Default for FrameSize {
    fn default() -> Self {
        Self::Fixed(60)
    }
}

impl FrameSize {
    /// Parses `imix` or a capture size 60 to 1514.
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("imix") {
            return Ok(Self::Imix);
        }
        match t.parse::<usize>() {
            Ok(n) if (60..=1514).contains(&n) => Ok(Self::Fixed(n)),
            _ => Err(format!(
                "'{s}': a frame size is 60 to 1514 capture bytes (60 = the 64-byte frame without FCS) or imix"
            )),
        }
    }
    /// Capture bytes of frame `i` of a capture.
    #[must_use]
    pub fn len_of(self, i: u64) -> usize {
        match self {
            Self::Fixed(n) => n,
            Self::Imix => usize::from(IMIX_BLOCK[(i % 12) as usize]),
        }
    }
    /// The largest frame.
    #[must_use]
    pub fn max_len(self) -> usize {
        match self {
            Self::Fixed(n) => n,
            Self::Imix => 1514,
        }
    }
    /// `64 B` (the wire size, FCS included) or `IMIX`.
    #[must_use]
    pub fn label(self) -> String {
        match self {
            Self::Fixed(n) => format!("{} B", n + 4),
            Self::Imix => "IMIX".into(),
        }
    }
}

/// The two ends of flow `i` of a many-flow recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    /// The client (initiator).
    pub client: IpAddr,
    /// The server.
    pub server: IpAddr,
    /// The client's (ephemeral) port.
    pub sport: u16,
    /// The server's (service) port.
    pub dport: u16,
}

/// Service ports of generated UDP flows (QUIC, NTP, STUN, RTP, OpenVPN, WireGuard; none
/// of them an ALG's port, so the flows stay on the workers).
pub const UDP_SERVICE_PORTS: [u16; 6] = [443, 123, 3478, 5004, 1194, 51820];
/// Service ports of generated TCP flows (HTTPS, HTTP, alt-HTTPS, IMAPS, SSH, PostgreSQL).
pub const TCP_SERVICE_PORTS: [u16; 6] = [443, 80, 8443, 993, 22, 5432];
/// Most flows an IPv4 recipe can make distinct (one client address each in 10.0.0.0/8,
/// neither 10.0.0.0 nor 10.255.255.255).
pub const MAX_V4_FLOWS: u32 = (1 << 24) - 2;

/// Scrambles `i` (a bijection on u32: multiplication by an odd constant).
fn mix(i: u32, k: u32) -> u32 {
    i.wrapping_mul(k | 1).rotate_left(7) ^ 0x5bd1_e995
}

/// The ends of flow `i`: a distinct client address per flow (for IPv4 while
/// `i < MAX_V4_FLOWS`), an ephemeral source port (32768-60999, as Linux picks them), one of
/// 1000 servers and a realistic service port.
#[must_use]
pub fn endpoints(i: u32, family: Family, proto: Proto) -> Endpoints {
    let k = i % 1000;
    let (client, server) = match family {
        Family::V4 => {
            // Multiplying by a prime that does not divide the modulus is a bijection:
            // distinct clients for i < MAX_V4_FLOWS, hosts 1 to 2^24 - 2.
            let m = u64::from(MAX_V4_FLOWS);
            let host = 1 + (u64::from(i) % m * 2_654_435_761 % m) as u32;
            (
                IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | host)),
                IpAddr::V4(Ipv4Addr::new(198, 18, (k / 254) as u8, (k % 254) as u8 + 1)),
            )
        }
        Family::V6 => {
            let id = u128::from(i.wrapping_add(1).wrapping_mul(0x9e37_79b1)) | (0x0200_u128 << 48);
            (
                IpAddr::V6(Ipv6Addr::from((0x2001_0db8_0001_u128 << 80) | id)),
                IpAddr::V6(Ipv6Addr::from(
                    (0x2001_0db8_0002_u128 << 80) | u128::from(k + 1),
                )),
            )
        }
    };
    let ports = match proto {
        Proto::Udp => &UDP_SERVICE_PORTS,
        Proto::Tcp => &TCP_SERVICE_PORTS,
    };
    Endpoints {
        client,
        server,
        sport: 32_768 + (mix(i, 0x85eb_ca6b) % 28_232) as u16,
        dport: ports[(i % 6) as usize],
    }
}

/// L2 + L3 + L4 header bytes of a frame.
#[must_use]
pub fn header_len(family: Family, proto: Proto, vlan: bool) -> usize {
    14 + if vlan { 4 } else { 0 }
        + match family {
            Family::V4 => 20,
            Family::V6 => 40,
        }
        + match proto {
            Proto::Udp => 8,
            Proto::Tcp => 20,
        }
}

/// A frame of `len` capture bytes (or as short as the headers allow), VLAN tag included.
fn frame(
    src: IpAddr,
    dst: IpAddr,
    l4: &L4,
    len: usize,
    vlan: Option<u16>,
    from_client: bool,
) -> Vec<u8> {
    let tag = if vlan.is_some() { 4 } else { 0 };
    let mut f = build(src, dst, l4, len.max(60) - tag, from_client);
    if let Some(v) = vlan {
        tag_vlan(&mut f, v);
    }
    f
}

/// Payload bytes that make a frame `len` long.
fn payload_len(len: usize, family: Family, proto: Proto, vlan: Option<u16>) -> usize {
    len.saturating_sub(header_len(family, proto, vlan.is_some()))
}

/// A recognisable payload of `n` bytes.
fn payload(n: usize, seed: u32) -> Vec<u8> {
    (0..n).map(|j| (seed as usize + j) as u8 | 0x20).collect()
}

/// An initial sequence number for flow `i`, side `side` (spread like real ISNs).
#[must_use]
pub fn isn(i: u32, side: u32) -> u32 {
    mix(i ^ side.wrapping_mul(0x27d4_eb2d), 0xc2b2_ae35).wrapping_mul(0x1656_67b1)
}

/// What a many-flow capture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSpec {
    /// Distinct flows.
    pub flows: u32,
    /// UDP or TCP.
    pub proto: Proto,
    /// IPv4 or IPv6.
    pub family: Family,
    /// 802.1Q VLAN id of every frame (1-4094), if tagged.
    pub vlan: Option<u16>,
    /// Frame sizes.
    pub size: FrameSize,
    /// One frame per flow from each side (client then server), else the client's only.
    pub both_directions: bool,
}

impl Default for FlowSpec {
    fn default() -> Self {
        Self {
            flows: 1000,
            proto: Proto::Udp,
            family: Family::V4,
            vlan: None,
            size: FrameSize::Fixed(60),
            both_directions: true,
        }
    }
}

/// Established flows: per flow one frame from the client and (with `both_directions`)
/// one answer from the server, flow after flow; frame `j` of the capture has
/// `spec.size.len_of(j)` bytes. TCP flows are mid-stream segments (PSH+ACK with data,
/// sequence and acknowledgement numbers consistent with each other), which a tracker with
/// mid-stream pickup takes as established. Each element is `(from_client, frame)`.
pub fn flows(spec: FlowSpec) -> impl Iterator<Item = (bool, Vec<u8>)> {
    let dirs: u32 = if spec.both_directions { 2 } else { 1 };
    (0..spec.flows).flat_map(move |i| {
        let e = endpoints(i, spec.family, spec.proto);
        (0..dirs).map(move |d| {
            let j = u64::from(i) * u64::from(dirs) + u64::from(d);
            let len = spec.size.len_of(j);
            let n = payload_len(len, spec.family, spec.proto, spec.vlan);
            let from_client = d == 0;
            let (src, dst, sp, dp) = if from_client {
                (e.client, e.server, e.sport, e.dport)
            } else {
                (e.server, e.client, e.dport, e.sport)
            };
            let l4 = match spec.proto {
                Proto::Udp => L4::Udp {
                    sport: sp,
                    dport: dp,
                    payload: payload(n, i),
                },
                Proto::Tcp => {
                    // Both ISNs, the client's first segment acknowledged by the server's.
                    let (c0, s0) = (isn(i, 0).wrapping_add(1), isn(i, 1).wrapping_add(1));
                    let first = payload_len(
                        spec.size.len_of(u64::from(i) * u64::from(dirs)),
                        spec.family,
                        spec.proto,
                        spec.vlan,
                    ) as u32;
                    let (seq, ack) = if from_client {
                        (c0, s0)
                    } else {
                        (s0, c0.wrapping_add(first))
                    };
                    L4::Tcp {
                        sport: sp,
                        dport: dp,
                        // PSH+ACK with data, a bare ACK where the size leaves none.
                        flags: if n > 0 { PSH | ACK } else { ACK },
                        seq,
                        ack,
                        payload: payload(n, i),
                    }
                }
            };
            (
                from_client,
                frame(src, dst, &l4, len, spec.vlan, from_client),
            )
        })
    })
}

/// UDP connection churn: `flows` new UDP flows, each a single client frame (every flow
/// appears once in the capture). Replayed with a short UDP timeout the table turns over.
pub fn udp_churn(
    count: u32,
    family: Family,
    vlan: Option<u16>,
    size: usize,
) -> impl Iterator<Item = (bool, Vec<u8>)> {
    let spec = FlowSpec {
        flows: count,
        proto: Proto::Udp,
        family,
        vlan,
        size: FrameSize::Fixed(size),
        both_directions: false,
    };
    flows(spec)
}

/// TCP flag bytes used by the recipes.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}
use tcp_flags::{ACK, FIN, PSH, SYN};

/// One TCP connection whose segments carry consistent sequence and acknowledgement
/// numbers: each side's next sequence number advances by its payload and by 1 for SYN and
/// FIN; every segment but the first SYN acknowledges all the other side has sent.
#[derive(Debug, Clone)]
pub struct TcpConn {
    /// The side that opens the connection.
    pub a: (IpAddr, u16),
    /// The side that accepts it.
    pub b: (IpAddr, u16),
    /// Next sequence number of `a` and of `b`.
    pub next: [u32; 2],
    /// Whether `a` is on the client side of the card (its frames arrive on the client
    /// port and carry the client MAC).
    pub a_is_client: bool,
    /// VLAN tag of every frame.
    pub vlan: Option<u16>,
    /// Capture size of data segments (headers plus payload), 0 for just the payload.
    pub min_len: usize,
    acked: [bool; 2],
}

impl TcpConn {
    /// A connection from `a` to `b` with initial sequence numbers `isn`.
    #[must_use]
    pub fn new(a: (IpAddr, u16), b: (IpAddr, u16), isn: [u32; 2], a_is_client: bool) -> Self {
        Self {
            a,
            b,
            next: isn,
            a_is_client,
            vlan: None,
            min_len: 60,
            acked: [false; 2],
        }
    }
    /// A segment from `a` (`from_a`) or `b` with `flags` and `data`, as
    /// `(from the client side, frame)`.
    pub fn seg(&mut self, from_a: bool, flags: u8, data: &[u8]) -> (bool, Vec<u8>) {
        let (me, other) = if from_a { (0, 1) } else { (1, 0) };
        let ((src, sport), (dst, dport)) = if from_a {
            (self.a, self.b)
        } else {
            (self.b, self.a)
        };
        let seq = self.next[me];
        // The first SYN acknowledges nothing; after it, every segment carries ACK.
        let flags = if flags & SYN != 0 && !self.acked[me] && me == 0 {
            flags
        } else {
            flags | ACK
        };
        let ack = if flags & ACK != 0 {
            self.next[other]
        } else {
            0
        };
        self.next[me] = seq
            .wrapping_add(data.len() as u32)
            .wrapping_add(u32::from(flags & (SYN | FIN) != 0));
        self.acked[me] = true;
        let from_client = from_a == self.a_is_client;
        let l4 = L4::Tcp {
            sport,
            dport,
            flags,
            seq,
            ack,
            payload: data.to_vec(),
        };
        (
            from_client,
            frame(src, dst, &l4, self.min_len, self.vlan, from_client),
        )
    }
    /// The three-way handshake.
    pub fn handshake(&mut self) -> Vec<(bool, Vec<u8>)> {
        vec![
            self.seg(true, SYN, &[]),
            self.seg(false, SYN | ACK, &[]),
            self.seg(true, ACK, &[]),
        ]
    }
    /// Data from one side (PSH+ACK).
    pub fn data(&mut self, from_a: bool, data: &[u8]) -> (bool, Vec<u8>) {
        self.seg(from_a, PSH | ACK, data)
    }
    /// The close: FIN+ACK from `first_a`'s side, FIN+ACK from the other, the last ACK.
    pub fn close(&mut self, first_a: bool) -> Vec<(bool, Vec<u8>)> {
        vec![
            self.seg(first_a, FIN | ACK, &[]),
            self.seg(!first_a, FIN | ACK, &[]),
            self.seg(first_a, ACK, &[]),
        ]
    }
}

/// What a TCP churn capture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChurnSpec {
    /// Connections, each a distinct flow.
    pub connections: u32,
    /// IPv4 or IPv6.
    pub family: Family,
    /// 802.1Q VLAN id of every frame.
    pub vlan: Option<u16>,
    /// Capture bytes of the request and response segments (60 to 1514).
    pub size: usize,
    /// Connections in flight together: the capture is made of waves of this many
    /// connections, each wave going through the exchange step by step.
    pub concurrency: u32,
}

/// Frames of one full TCP exchange.
pub const TCP_EXCHANGE_FRAMES: usize = 8;

/// TCP connection churn: every connection new and complete, [`TCP_EXCHANGE_FRAMES`] frames
/// each: SYN, SYN-ACK, ACK, request (client PSH+ACK), response (server PSH+ACK), FIN+ACK
/// from the client, FIN+ACK from the server, the client's last ACK. Connections run in
/// waves of `concurrency`, interleaved step by step.
pub fn tcp_churn(spec: ChurnSpec) -> impl Iterator<Item = (bool, Vec<u8>)> {
    let k = spec.concurrency.max(1);
    let waves = spec.connections.div_ceil(k);
    (0..waves).flat_map(move |w| {
        let lo = w * k;
        let hi = (lo + k).min(spec.connections);
        let mut per: Vec<Vec<(bool, Vec<u8>)>> = (lo..hi)
            .map(|i| {
                let e = endpoints(i, spec.family, Proto::Tcp);
                let mut c = TcpConn::new(
                    (e.client, e.sport),
                    (e.server, e.dport),
                    [isn(i, 0), isn(i, 1)],
                    true,
                );
                c.vlan = spec.vlan;
                let n = payload_len(spec.size, spec.family, Proto::Tcp, spec.vlan);
                let mut v = c.handshake();
                v.push(c.data(true, &payload(n, i)));
                v.push(c.data(false, &payload(n, i ^ 0x55)));
                v.extend(c.close(true));
                v.reverse();
                v
            })
            .collect();
        let mut out = Vec::with_capacity(per.len() * TCP_EXCHANGE_FRAMES);
        for _ in 0..TCP_EXCHANGE_FRAMES {
            for c in &mut per {
                if let Some(f) = c.pop() {
                    out.push(f);
                }
            }
        }
        out
    })
}

/// The FTP server port (control connection).
pub const FTP_PORT: u16 = 21;

/// Frames of one session of [`ftp_mix`].
pub const FTP_SESSION_FRAMES: usize = 27;

fn ftp_addr_v4(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{},{},{},{}", o[0], o[1], o[2], o[3])
        }
        IpAddr::V6(v) => v.to_string(),
    }
}

/// An FTP mix: `sessions` FTP sessions, each a control connection to port 21 (banner,
/// USER, PASS, TYPE I, a data-connection command, RETR, the transfer, 226, QUIT, close) and
/// the data connection its command announces, as packets with consistent sequence numbers.
/// Even sessions use passive mode (IPv4 `PASV` / `227 … (h1,h2,h3,h4,p1,p2)`, IPv6 `EPSV` /
/// `229 … (|||port|)`: the client connects to the announced server port), odd sessions
/// active mode (IPv4 `PORT h1,h2,h3,h4,p1,p2`, IPv6 `EPRT |2|addr|port|`: the server connects
/// from port 20 to the client's port). Each data connection carries a 1024-byte file.
pub fn ftp_mix(
    sessions: u32,
    family: Family,
    vlan: Option<u16>,
) -> impl Iterator<Item = (bool, Vec<u8>)> {
    (0..sessions).flat_map(move |i| ftp_session(i, family, vlan))
}

/// The frames of FTP session `i` of [`ftp_mix`].
#[must_use]
pub fn ftp_session(i: u32, family: Family, vlan: Option<u16>) -> Vec<(bool, Vec<u8>)> {
    let e = endpoints(i, family, Proto::Tcp);
    let (client, server) = (e.client, e.server);
    let mut ctl = TcpConn::new(
        (client, e.sport),
        (server, FTP_PORT),
        [isn(i, 2), isn(i, 3)],
        true,
    );
    ctl.vlan = vlan;
    let mut v = ctl.handshake();
    let mut say = |v: &mut Vec<(bool, Vec<u8>)>, from_client: bool, text: &str| {
        v.push(ctl.data(from_client, text.as_bytes()));
    };
    say(&mut v, false, "220 (vsFTPd 3.0.3)\r\n");
    say(&mut v, true, "USER anonymous\r\n");
    say(&mut v, false, "331 Please specify the password.\r\n");
    say(&mut v, true, "PASS guest@example.com\r\n");
    say(&mut v, false, "230 Login successful.\r\n");
    say(&mut v, true, "TYPE I\r\n");
    say(&mut v, false, "200 Switching to Binary mode.\r\n");
    let passive = i & 1 == 0;
    let file = format!("file-{i}.bin");
    let data_port = if passive {
        // The server's passive port range.
        40_000 + (mix(i, 0x7feb_352d) % 10_000) as u16
    } else {
        // The client's next ephemeral port.
        32_768 + (mix(i, 0x846c_a68b) % 28_232) as u16
    };
    let (p1, p2) = (data_port >> 8, data_port & 0xff);
    let v6 = family == Family::V6;
    let mut data = if passive {
        if v6 {
            say(&mut v, true, "EPSV\r\n");
            say(
                &mut v,
                false,
                &format!("229 Entering Extended Passive Mode (|||{data_port}|)\r\n"),
            );
        } else {
            say(&mut v, true, "PASV\r\n");
            say(
                &mut v,
                false,
                &format!(
                    "227 Entering Passive Mode ({},{p1},{p2}).\r\n",
                    ftp_addr_v4(server)
                ),
            );
        }
        // The client's next ephemeral port.
        let cport = 32_768 + (e.sport - 32_767) % 28_232;
        TcpConn::new(
            (client, cport),
            (server, data_port),
            [isn(i, 4), isn(i, 5)],
            true,
        )
    } else {
        if v6 {
            say(&mut v, true, &format!("EPRT |2|{client}|{data_port}|\r\n"));
            say(
                &mut v,
                false,
                "200 EPRT command successful. Consider using EPSV.\r\n",
            );
        } else {
            say(
                &mut v,
                true,
                &format!("PORT {},{p1},{p2}\r\n", ftp_addr_v4(client)),
            );
            say(
                &mut v,
                false,
                "200 PORT command successful. Consider using PASV.\r\n",
            );
        }
        // Active mode: the server opens the data connection from port 20.
        TcpConn::new(
            (server, 20),
            (client, data_port),
            [isn(i, 4), isn(i, 5)],
            false,
        )
    };
    data.vlan = vlan;
    say(&mut v, true, &format!("RETR {file}\r\n"));
    v.extend(data.handshake());
    say(
        &mut v,
        false,
        &format!("150 Opening BINARY mode data connection for {file} (1024 bytes).\r\n"),
    );
    // The file goes from the server: side b in passive mode, side a in active mode.
    let server_is_a = !passive;
    v.push(data.data(server_is_a, &payload(1024, i)));
    v.extend(data.close(server_is_a));
    say(&mut v, false, "226 Transfer complete.\r\n");
    say(&mut v, true, "QUIT\r\n");
    say(&mut v, false, "221 Goodbye.\r\n");
    v.extend(ctl.close(false));
    v
}

/// What was written by [`write_capture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaptureStats {
    /// Frames written (both files).
    pub frames: u64,
    /// Frames from the client side.
    pub client_frames: u64,
    /// Capture bytes of all frames (without pcap headers).
    pub bytes: u64,
    /// The longest frame.
    pub max_len: usize,
}

impl CaptureStats {
    /// Mean capture bytes per frame.
    #[must_use]
    pub fn mean_len(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.bytes as f64 / self.frames as f64
        }
    }
}

/// Writes `frames` as they come (nothing holds the whole capture) to `out`, one microsecond
/// apart; with `server_out`, the server side's frames go there instead (one capture per
/// port, timestamps shared so a paced replay keeps the order).
///
/// # Errors
/// I/O errors.
pub fn write_capture(
    out: &Path,
    server_out: Option<&Path>,
    frames: impl Iterator<Item = (bool, Vec<u8>)>,
) -> std::io::Result<CaptureStats> {
    let open = |p: &Path| -> std::io::Result<Writer<std::io::BufWriter<std::fs::File>>> {
        Writer::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(p)?,
        ))
    };
    let mut c = open(out)?;
    let mut s = server_out.map(open).transpose()?;
    let mut st = CaptureStats::default();
    for (j, (from_client, f)) in frames.enumerate() {
        let ts = 1_700_000_000_000_000_000 + j as u64 * 1000;
        match (&mut s, from_client) {
            (Some(w), false) => w.write(ts, &f)?,
            _ => c.write(ts, &f)?,
        }
        st.frames += 1;
        st.client_frames += u64::from(from_client);
        st.bytes += f.len() as u64;
        st.max_len = st.max_len.max(f.len());
    }
    c.finish()?.flush()?;
    if let Some(w) = s {
        w.finish()?.flush()?;
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
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
        assert_eq!(st.frames, 96);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
