//! Frame builders for traffic recipes and tests: Ethernet + IPv4/IPv6 + TCP/UDP/ICMP with
//! correct lengths and checksums.

use std::net::IpAddr;

/// A frame's L4 part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L4 {
    /// UDP with ports and payload.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Payload.
        payload: Vec<u8>,
    },
    /// TCP with ports, flags, sequence numbers and payload.
    Tcp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Flags (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).
        flags: u8,
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
        /// Payload.
        payload: Vec<u8>,
    },
    /// ICMP (or ICMPv6) echo request/reply.
    Echo {
        /// True for a request.
        request: bool,
        /// Identifier.
        id: u16,
        /// Sequence.
        seq: u16,
    },
}

/// MAC addresses used by generated traffic (locally administered).
pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
/// The server side's MAC.
pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

fn csum_add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    sum
}

fn csum_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Builds an Ethernet frame from `src` to `dst` carrying `l4`, padded to at least
/// `min_len` bytes (60 is Ethernet's minimum without FCS).
#[must_use]
pub fn build(src: IpAddr, dst: IpAddr, l4: &L4, min_len: usize, from_client: bool) -> Vec<u8> {
    let v6 = src.is_ipv6();
    let (proto, mut seg) = match l4 {
        L4::Udp {
            sport,
            dport,
            payload,
        } => {
            let mut s = Vec::with_capacity(8 + payload.len());
            s.extend_from_slice(&sport.to_be_bytes());
            s.extend_from_slice(&dport.to_be_bytes());
            s.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            s.extend_from_slice(&[0, 0]);
            s.extend_from_slice(payload);
            (17u8, s)
        }
        L4::Tcp {
            sport,
            dport,
            flags,
            seq,
            ack,
            payload,
        } => {
            let mut s = Vec::with_capacity(20 + payload.len());
            s.extend_from_slice(&sport.to_be_bytes());
            s.extend_from_slice(&dport.to_be_bytes());
            s.extend_from_slice(&seq.to_be_bytes());
            s.extend_from_slice(&ack.to_be_bytes());
            s.push(5 << 4);
            s.push(*flags);
            s.extend_from_slice(&65535u16.to_be_bytes());
            s.extend_from_slice(&[0, 0, 0, 0]);
            s.extend_from_slice(payload);
            (6u8, s)
        }
        L4::Echo { request, id, seq } => {
            let ty = match (v6, request) {
                (false, true) => 8,
                (false, false) => 0,
                (true, true) => 128,
                (true, false) => 129,
            };
            let mut s = vec![ty, 0, 0, 0];
            s.extend_from_slice(&id.to_be_bytes());
            s.extend_from_slice(&seq.to_be_bytes());
            s.extend_from_slice(b"svcard-ping-data");
            (if v6 { 58u8 } else { 1u8 }, s)
        }
    };
    // L4 checksum (ICMPv4 has no pseudo-header).
    let mut pseudo = 0u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            if proto != 1 {
                pseudo = csum_add(pseudo, &s.octets());
                pseudo = csum_add(pseudo, &d.octets());
                pseudo += u32::from(proto) + seg.len() as u32;
            }
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            pseudo = csum_add(pseudo, &s.octets());
            pseudo = csum_add(pseudo, &d.octets());
            pseudo += seg.len() as u32 + u32::from(proto);
        }
        _ => panic!("mixed address families"),
    }
    let c = csum_fold(csum_add(pseudo, &seg));
    let off = match proto {
        17 => 6,
        6 => 16,
        _ => 2,
    };
    let c = if proto == 17 && c == 0 { 0xffff } else { c };
    seg[off..off + 2].copy_from_slice(&c.to_be_bytes());

    let mut f = Vec::with_capacity(min_len.max(14 + 40 + seg.len()));
    let (smac, dmac) = if from_client {
        (CLIENT_MAC, SERVER_MAC)
    } else {
        (SERVER_MAC, CLIENT_MAC)
    };
    f.extend_from_slice(&dmac);
    f.extend_from_slice(&smac);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&0x0800u16.to_be_bytes());
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&((20 + seg.len()) as u16).to_be_bytes());
            ip[6] = 0x40;
            ip[8] = 64;
            ip[9] = proto;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let c = csum_fold(csum_add(0, &ip));
            ip[10..12].copy_from_slice(&c.to_be_bytes());
            f.extend_from_slice(&ip);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            f.extend_from_slice(&0x86ddu16.to_be_bytes());
            let mut ip = [0u8; 40];
            ip[0] = 0x60;
            ip[4..6].copy_from_slice(&(seg.len() as u16).to_be_bytes());
            ip[6] = proto;
            ip[7] = 64;
            ip[8..24].copy_from_slice(&s.octets());
            ip[24..40].copy_from_slice(&d.octets());
            f.extend_from_slice(&ip);
        }
        _ => unreachable!(),
    }
    f.extend_from_slice(&seg);
    if f.len() < min_len {
        f.resize(min_len, 0);
    }
    f
}

/// A TCP segment from `src` to `dst` as a frame of at least 60 bytes ([`build`] with
/// [`L4::Tcp`]).
#[allow(clippy::too_many_arguments)]
#[must_use]
pub fn tcp(
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    data: &[u8],
    from_client: bool,
) -> Vec<u8> {
    let l4 = L4::Tcp {
        sport,
        dport,
        flags,
        seq,
        ack,
        payload: data.to_vec(),
    };
    build(src, dst, &l4, 60, from_client)
}

/// A UDP datagram from `src` to `dst` as a frame of at least 60 bytes ([`build`] with
/// [`L4::Udp`]).
#[must_use]
pub fn udp(
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    data: &[u8],
    from_client: bool,
) -> Vec<u8> {
    let l4 = L4::Udp {
        sport,
        dport,
        payload: data.to_vec(),
    };
    build(src, dst, &l4, 60, from_client)
}

/// An ARP request frame (who-has `target` tell `sender`).
#[must_use]
pub fn arp_request(sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&0x0806u16.to_be_bytes());
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&CLIENT_MAC);
    f.extend_from_slice(&sender);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target);
    f.resize(60, 0);
    f
}

/// The 802.1Q TPID.
pub const TPID_8021Q: u16 = 0x8100;

/// Inserts an 802.1Q tag (VLAN `vid`, priority 0) after the MAC addresses of `frame`; the
/// frame grows by 4 bytes.
///
/// # Panics
/// If `frame` is shorter than the two MAC addresses or `vid` is not 1 to 4094.
pub fn tag_vlan(frame: &mut Vec<u8>, vid: u16) {
    assert!(frame.len() >= 12, "frame too short for a VLAN tag");
    assert!((1..=4094).contains(&vid), "VLAN id must be 1 to 4094");
    let mut tag = [0u8; 4];
    tag[0..2].copy_from_slice(&TPID_8021Q.to_be_bytes());
    tag[2..4].copy_from_slice(&(vid & 0x0fff).to_be_bytes());
    frame.splice(12..12, tag);
}
