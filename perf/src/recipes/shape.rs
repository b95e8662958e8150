//! What every many-flow recipe shares: address families, protocols, frame sizes (fixed or IMIX), the endpoints of flow i, and the frame builder.
//!
//! Frame sizes are capture bytes, without the 4-byte FCS a NIC adds: the 64-byte Ethernet
//! frame is a 60-byte capture frame, 1518 is 1514. A VLAN tag is inside the size (a tagged
//! 60-byte frame carries 4 bytes less payload). Where the headers alone are longer than the
//! size asked for (IPv6 + TCP is 74 bytes untagged), frames are as short as the headers allow.

use crate::frames::{build, tag_vlan, L4};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
pub(crate) fn mix(i: u32, k: u32) -> u32 {
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
pub(crate) fn frame(
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
pub(crate) fn payload_len(len: usize, family: Family, proto: Proto, vlan: Option<u16>) -> usize {
    len.saturating_sub(header_len(family, proto, vlan.is_some()))
}

/// A recognisable payload of `n` bytes.
pub(crate) fn payload(n: usize, seed: u32) -> Vec<u8> {
    (0..n).map(|j| (seed as usize + j) as u8 | 0x20).collect()
}

/// An initial sequence number for flow `i`, side `side` (spread like real ISNs).
#[must_use]
pub fn isn(i: u32, side: u32) -> u32 {
    mix(i ^ side.wrapping_mul(0x27d4_eb2d), 0xc2b2_ae35).wrapping_mul(0x1656_67b1)
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
