//! The hot-path parser: one pass over a frame, out comes a [`Parsed`] or a [`DropReason`].
//!
//! Every header is length-checked once, then read through a fixed-size array reference
//! (constant indices, nothing left to check), so no input can make it panic. Lengths are
//! taken from the IP header, never from the frame: Ethernet padding after the IP packet is
//! ignored, an IP packet longer than the frame is dropped. Checksums are not verified.

use super::{be16, be32, chunk, ethertype, gre, icmp, ip_proto};

/// Largest frame the parser considers; longer buffers are parsed as their first 65535
/// bytes, so every offset fits a `u16`.
const MAX_FRAME: usize = 0xffff;

/// Bound on the IPv6 extension-header walk.
pub const MAX_IPV6_EXTENSIONS: usize = 8;

macro_rules! drop_reasons {
    ($( $variant:ident = $name:literal : $desc:literal, )*) => {
        /// Why the parser refused a frame. Declared once with its names: the worker keeps
        /// `[u64; DropReason::COUNT]` counters indexed by `reason as usize`, and show
        /// commands, telemetry and logs print [`name`](DropReason::name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum DropReason {
            $( #[doc = $desc] $variant, )*
        }

        impl DropReason {
            /// Number of reasons (the size of a counter array).
            pub const COUNT: usize = [$( DropReason::$variant, )*].len();

            /// Every reason, in declaration (and discriminant) order.
            pub const ALL: [DropReason; Self::COUNT] = [$( DropReason::$variant, )*];

            /// The snake_case name used in counters and show output.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $( DropReason::$variant => $name, )*
                }
            }

            /// A one-line description.
            #[must_use]
            pub const fn description(self) -> &'static str {
                match self {
                    $( DropReason::$variant => $desc, )*
                }
            }
        }
    };
}

drop_reasons! {
    TruncatedEthernet = "truncated_ethernet": "Frame shorter than an Ethernet header.",
    TruncatedVlan = "truncated_vlan": "VLAN tag runs past the end of the frame.",
    TooManyVlanTags = "too_many_vlan_tags": "More than two VLAN tags.",
    TruncatedIpv4 = "truncated_ipv4": "Fewer than 20 bytes where an IPv4 header belongs.",
    Ipv4BadVersion = "ipv4_bad_version": "IPv4 EtherType but the version field is not 4.",
    Ipv4BadIhl = "ipv4_bad_ihl": "IPv4 IHL below 5, or the header runs past the frame.",
    Ipv4TotalLengthTooShort = "ipv4_total_length_too_short":
        "IPv4 total length below the header length.",
    Ipv4TotalLengthPastFrame = "ipv4_total_length_past_frame":
        "IPv4 total length runs past the end of the frame.",
    Ipv4BadFragmentOffset = "ipv4_bad_fragment_offset":
        "IPv4 fragment ends past 65535 bytes, or a TCP fragment at offset 8 (RFC 1858).",
    TruncatedIpv6 = "truncated_ipv6": "Fewer than 40 bytes where an IPv6 header belongs.",
    Ipv6BadVersion = "ipv6_bad_version": "IPv6 EtherType but the version field is not 6.",
    Ipv6PayloadPastFrame = "ipv6_payload_past_frame":
        "IPv6 payload length runs past the end of the frame.",
    Ipv6ExtensionChainTruncated = "ipv6_extension_chain_truncated":
        "An IPv6 extension header runs past the end of the packet.",
    Ipv6TooManyExtensions = "ipv6_too_many_extensions":
        "More IPv6 extension headers than the parser walks.",
    Ipv6BadFragmentOffset = "ipv6_bad_fragment_offset":
        "IPv6 fragment ends past 65535 bytes.",
    SourceIsMulticast = "source_is_multicast":
        "Source address is multicast or the IPv4 limited broadcast.",
    TruncatedTcp = "truncated_tcp": "Fewer than 20 bytes where a TCP header belongs.",
    TcpBadDataOffset = "tcp_bad_data_offset":
        "TCP data offset below 5, or the header runs past the packet.",
    TruncatedUdp = "truncated_udp": "Fewer than 8 bytes where a UDP header belongs.",
    UdpBadLength = "udp_bad_length": "UDP length below 8 or past the IP payload.",
    TruncatedIcmp = "truncated_icmp": "Fewer than 8 bytes where an ICMP header belongs.",
    TruncatedSctp = "truncated_sctp": "Fewer than 12 bytes where an SCTP header belongs.",
    TruncatedGre = "truncated_gre": "GRE header (as its flags declare it) runs past the packet.",
    TruncatedEsp = "truncated_esp": "Fewer than 8 bytes where an ESP header belongs.",
    TruncatedAh = "truncated_ah":
        "AH header shorter than 12 bytes or running past the packet.",
}

impl DropReason {
    /// The reason with discriminant `i`, if any.
    #[inline]
    #[must_use]
    pub fn from_index(i: usize) -> Option<DropReason> {
        Self::ALL.get(i).copied()
    }
}

impl core::fmt::Display for DropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything the worker needs from one frame, found in one pass. Copy, no references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parsed {
    /// Start of the IP header in the frame.
    pub l3_offset: u16,
    /// Start of the transport header: the upper-layer header for every protocol, known or
    /// not (0 for a non-first fragment and for IPv6 "no next header").
    pub l4_offset: u16,
    /// Start of the L4 payload (TCP/UDP/SCTP/ICMP/GRE/ESP/AH data; for an ICMP error, the
    /// quoted packet; for an unknown protocol, `l4_offset`; for a non-first fragment, the
    /// fragment data).
    pub payload_offset: u16,
    /// Bytes of L4 payload inside the IP packet (IP length wins over frame length; Ethernet
    /// padding excluded; UDP: from the UDP length unless fragmented).
    pub payload_len: u16,
    /// IP packet length from its header (IPv4 total length, IPv6 40 + payload length).
    pub ip_len: u16,
    /// Outer VLAN id, 0 if untagged.
    pub vlan: u16,
    /// 4 or 6; 0 for not-IP.
    pub family: u8,
    /// Upper-layer protocol number (after IPv6 extension headers).
    pub proto: u8,
    /// Source address: IPv4 in the first 4 bytes, rest zero.
    pub src: [u8; 16],
    /// Destination address: IPv4 in the first 4 bytes, rest zero.
    pub dst: [u8; 16],
    /// TCP/UDP/SCTP source port; ICMP/ICMPv6 echo request/reply: identifier; ESP/AH: high
    /// 16 bits of the SPI; else 0.
    pub sport: u16,
    /// TCP/UDP/SCTP destination port; ICMP echo: identifier (same as `sport`, so both
    /// directions key alike); ESP/AH: low 16 bits of the SPI; else 0.
    pub dport: u16,
    /// TCP flags: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80.
    pub tcp_flags: u8,
    /// TCP sequence number.
    pub tcp_seq: u32,
    /// TCP acknowledgment number.
    pub tcp_ack: u32,
    /// TCP window (unscaled, as sent).
    pub tcp_window: u16,
    /// ICMP / ICMPv6 type.
    pub icmp_type: u8,
    /// ICMP / ICMPv6 code.
    pub icmp_code: u8,
    /// 0 = not a fragment; 1 = first fragment (has the L4 header); 2 = non-first fragment
    /// (no L4 header; ports 0).
    pub fragment: u8,
    /// A fragment's datagram identification (IPv4: 16 bits; IPv6: the fragment header's
    /// 32); 0 when not a fragment.
    pub frag_id: u32,
    /// A fragment's offset in its datagram, bytes; 0 when not a fragment.
    pub frag_offset: u16,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
}

impl Parsed {
    /// Whether this is an ICMP (v4: 3, 4, 5, 11, 12) or ICMPv6 (1-4) error message, whose
    /// payload quotes the packet that caused it (see [`parse_icmp_error_inner`]).
    #[inline]
    #[must_use]
    pub fn is_icmp_error(&self) -> bool {
        self.l4_offset != 0
            && match (self.family, self.proto) {
                (4, ip_proto::ICMP) => icmp::is_error_v4(self.icmp_type),
                (6, ip_proto::ICMPV6) => icmp::is_error_v6(self.icmp_type),
                _ => false,
            }
    }

    /// The IPv4 source address (meaningful when `family == 4`).
    #[inline]
    #[must_use]
    pub fn src_v4(&self) -> [u8; 4] {
        [self.src[0], self.src[1], self.src[2], self.src[3]]
    }

    /// The IPv4 destination address (meaningful when `family == 4`).
    #[inline]
    #[must_use]
    pub fn dst_v4(&self) -> [u8; 4] {
        [self.dst[0], self.dst[1], self.dst[2], self.dst[3]]
    }
}

/// How a frame was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An IPv4 or IPv6 packet that passed every check.
    Ip(Parsed),
    /// Not IP (ARP and every other EtherType): the worker passes it through untouched.
    NotIp {
        /// The EtherType after any VLAN tags.
        ethertype: u16,
    },
    /// Malformed: drop and count.
    Drop(DropReason),
}

#[inline(always)]
fn is_vlan_tpid(t: u16) -> bool {
    t == ethertype::VLAN || t == ethertype::QINQ
}

/// Parses one frame: Ethernet II, up to two VLAN tags (0x8100 or 0x88a8), IPv4 or IPv6
/// (with up to [`MAX_IPV6_EXTENSIONS`] extension headers, AH included) and the transport
/// header. Never panics, never allocates, does not verify checksums.
#[inline(always)]
pub fn parse(frame: &[u8]) -> Outcome {
    let frame = match frame.get(..MAX_FRAME) {
        Some(f) => f,
        None => frame,
    };
    let Some(eth) = chunk::<14>(frame, 0) else {
        return Outcome::Drop(DropReason::TruncatedEthernet);
    };
    let mut etype = be16(eth[12], eth[13]);
    let mut l3 = 14;
    let mut vlan = 0;
    if is_vlan_tpid(etype) {
        let Some(t) = chunk::<4>(frame, l3) else {
            return Outcome::Drop(DropReason::TruncatedVlan);
        };
        vlan = be16(t[0], t[1]) & 0x0fff;
        etype = be16(t[2], t[3]);
        l3 += 4;
        if is_vlan_tpid(etype) {
            let Some(t) = chunk::<4>(frame, l3) else {
                return Outcome::Drop(DropReason::TruncatedVlan);
            };
            etype = be16(t[2], t[3]);
            l3 += 4;
            if is_vlan_tpid(etype) {
                return Outcome::Drop(DropReason::TooManyVlanTags);
            }
        }
    }
    let r = match etype {
        ethertype::IPV4 => parse_ipv4::<false>(frame, l3, vlan),
        ethertype::IPV6 => parse_ipv6::<false>(frame, l3, vlan),
        _ => return Outcome::NotIp { ethertype: etype },
    };
    match r {
        Ok(p) => Outcome::Ip(p),
        Err(d) => Outcome::Drop(d),
    }
}

/// What the worker's hot path needs of the commonest frame: untagged IPv4 without options
/// or fragmentation, carrying UDP or TCP (see [`parse_fast_v4`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastV4 {
    /// Source address (host order).
    pub src: u32,
    /// Destination address (host order).
    pub dst: u32,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// 6 (TCP) or 17 (UDP).
    pub proto: u8,
    /// TCP flags (0 for UDP).
    pub tcp_flags: u8,
    /// L4 payload bytes, as [`Parsed::payload_len`].
    pub payload_len: u16,
    /// TCP sequence number (0 for UDP).
    pub tcp_seq: u32,
    /// TCP acknowledgment number (0 for UDP).
    pub tcp_ack: u32,
    /// TCP window (0 for UDP).
    pub tcp_window: u16,
    /// The IP packet's length (header and payload, as [`Parsed::ip_len`]): what a
    /// session's byte counters count.
    pub ip_len: u16,
}

/// The hot path's parse: for an untagged IPv4 frame with a 20-byte header, not a fragment,
/// from a unicast source, carrying a well-formed UDP datagram or TCP segment, the fields
/// [`parse`] would give, read with a handful of loads and compares. `None` for every other
/// frame, which then goes through [`parse`] (and is classified or dropped there): `Some`
/// implies that [`parse`] returns [`Outcome::Ip`] with the same values (a property test
/// holds the two together).
#[inline(always)]
#[must_use]
pub fn parse_fast_v4(frame: &[u8]) -> Option<FastV4> {
    if frame.len() > MAX_FRAME {
        return None;
    }
    // Ethernet (14) + IPv4 (20) + the first 8 bytes of UDP or TCP.
    let b = chunk::<42>(frame, 0)?;
    // Ethertype 0x0800, then version 4 with a 20-byte header: one word.
    if be32(b[12], b[13], b[14], b[15]) >> 8 != 0x0008_0045 {
        return None;
    }
    let total = usize::from(be16(b[16], b[17]));
    let src = be32(b[26], b[27], b[28], b[29]);
    // Not a fragment; not from a multicast (224/4) or the broadcast address.
    if (14 + total > frame.len())
        | (be16(b[20], b[21]) & 0x3fff != 0)
        | (src >> 28 == 0xe)
        | (src == u32::MAX)
    {
        return None;
    }
    let mut f = FastV4 {
        src,
        dst: be32(b[30], b[31], b[32], b[33]),
        sport: be16(b[34], b[35]),
        dport: be16(b[36], b[37]),
        proto: b[23],
        ip_len: total as u16, // fits: read from a 16-bit field
        ..FastV4::default()
    };
    match f.proto {
        ip_proto::UDP => {
            let ulen = usize::from(be16(b[38], b[39]));
            if total < 28 || ulen < 8 || ulen > total - 20 {
                return None;
            }
            f.payload_len = (ulen - 8) as u16;
        }
        ip_proto::TCP => {
            let t = chunk::<54>(frame, 0)?;
            let hl = usize::from(t[46] >> 4) * 4;
            if total < 40 || hl < 20 || hl > total - 20 {
                return None;
            }
            f.payload_len = (total - 20 - hl) as u16;
            f.tcp_seq = be32(t[38], t[39], t[40], t[41]);
            f.tcp_ack = be32(t[42], t[43], t[44], t[45]);
            f.tcp_flags = t[47];
            f.tcp_window = be16(t[48], t[49]);
        }
        _ => return None,
    }
    Some(f)
}

/// Parses the packet quoted by an ICMP / ICMPv6 error `p` (parsed from `frame`): the
/// inner IP header and the first bytes of its transport header, as a [`Parsed`] whose
/// offsets point into `frame`.
///
/// Tolerates the truncation that quoting implies: the inner packet is checked against the
/// bytes present, not against its own length field (`ip_len` keeps the inner header's
/// value, `payload_len` counts what is present). The inner IP header must be whole, and
/// TCP/UDP/SCTP/ICMP/ESP/AH need their first 8 bytes (ports, identifier, SPI); TCP flags and
/// ack are read only if quoted. Returns `None` if `p` is not an ICMP error or the quote is
/// malformed or too short.
pub fn parse_icmp_error_inner(frame: &[u8], p: &Parsed) -> Option<Parsed> {
    if !p.is_icmp_error() || p.fragment == 2 {
        return None;
    }
    let start = usize::from(p.payload_offset);
    let end = (start + usize::from(p.payload_len)).min(MAX_FRAME);
    let quote = frame.get(..end)?;
    let r = match p.family {
        4 => parse_ipv4::<true>(quote, start, p.vlan),
        6 => parse_ipv6::<true>(quote, start, p.vlan),
        _ => return None,
    };
    r.ok()
}

/// IPv4 at `l3` in `b`. `QUOTE`: parsing a packet quoted in an ICMP error (lenient about
/// lengths, no source checks).
#[inline(always)]
fn parse_ipv4<const QUOTE: bool>(b: &[u8], l3: usize, vlan: u16) -> Result<Parsed, DropReason> {
    let Some(h) = chunk::<20>(b, l3) else {
        return Err(DropReason::TruncatedIpv4);
    };
    if h[0] >> 4 != 4 {
        return Err(DropReason::Ipv4BadVersion);
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let avail = b.len().saturating_sub(l3);
    if ihl < 20 || ihl > avail {
        return Err(DropReason::Ipv4BadIhl);
    }
    let total = usize::from(be16(h[2], h[3]));
    if total < ihl {
        return Err(DropReason::Ipv4TotalLengthTooShort);
    }
    let end = if total <= avail {
        l3 + total
    } else if QUOTE {
        b.len()
    } else {
        return Err(DropReason::Ipv4TotalLengthPastFrame);
    };
    if !QUOTE && ((h[12] & 0xf0) == 0xe0 || (h[12] & h[13] & h[14] & h[15]) == 0xff) {
        return Err(DropReason::SourceIsMulticast);
    }
    // The IP packet, padding cut off: every L4 bound below is against `ip.len()`.
    let Some(ip) = b.get(..end) else {
        return Err(DropReason::Ipv4TotalLengthPastFrame);
    };
    let proto = h[9];
    let mut p = Parsed {
        l3_offset: l3 as u16,
        ip_len: total as u16,
        vlan,
        family: 4,
        proto,
        ttl: h[8],
        src: v4(h[12], h[13], h[14], h[15]),
        dst: v4(h[16], h[17], h[18], h[19]),
        ..Parsed::default()
    };
    let l4 = l3 + ihl;
    let frag = be16(h[6], h[7]);
    if frag & 0x3fff != 0 {
        let offset = usize::from(frag & 0x1fff) * 8;
        p.frag_id = u32::from(be16(h[4], h[5]));
        p.frag_offset = offset as u16; // fits: 8191 * 8 < 65536
        if !QUOTE && (offset + (total - ihl) > 0xffff || (offset == 8 && proto == ip_proto::TCP)) {
            return Err(DropReason::Ipv4BadFragmentOffset);
        }
        if offset != 0 {
            p.fragment = 2;
            p.payload_offset = l4 as u16;
            p.payload_len = (end - l4) as u16;
            return Ok(p);
        }
        p.fragment = 1;
    }
    if QUOTE {
        parse_l4_quoted(ip, l4, p)
    } else {
        parse_l4(ip, l4, p)
    }
}

/// IPv6 at `l3` in `b`, extension headers included (see [`parse_ipv4`] for `QUOTE`).
#[inline(always)]
fn parse_ipv6<const QUOTE: bool>(b: &[u8], l3: usize, vlan: u16) -> Result<Parsed, DropReason> {
    let Some(h) = chunk::<40>(b, l3) else {
        return Err(DropReason::TruncatedIpv6);
    };
    if h[0] >> 4 != 6 {
        return Err(DropReason::Ipv6BadVersion);
    }
    let total = 40 + usize::from(be16(h[4], h[5]));
    let avail = b.len().saturating_sub(l3);
    let end = if total <= avail {
        l3 + total
    } else if QUOTE {
        b.len()
    } else {
        return Err(DropReason::Ipv6PayloadPastFrame);
    };
    if !QUOTE && h[8] == 0xff {
        return Err(DropReason::SourceIsMulticast);
    }
    let Some(ip) = b.get(..end) else {
        return Err(DropReason::Ipv6PayloadPastFrame);
    };
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    if let (Some(s), Some(d)) = (chunk::<16>(h, 8), chunk::<16>(h, 24)) {
        src = *s;
        dst = *d;
    }
    let mut p = Parsed {
        l3_offset: l3 as u16,
        ip_len: total.min(0xffff) as u16,
        vlan,
        family: 6,
        ttl: h[7],
        src,
        dst,
        ..Parsed::default()
    };
    let mut nh = h[6];
    let mut off = l3 + 40;
    let mut walked = 0;
    loop {
        match nh {
            ip_proto::HOPOPT | ip_proto::ROUTING | ip_proto::DSTOPTS => {
                if walked == MAX_IPV6_EXTENSIONS {
                    return Err(DropReason::Ipv6TooManyExtensions);
                }
                let Some(e) = chunk::<2>(ip, off) else {
                    return Err(DropReason::Ipv6ExtensionChainTruncated);
                };
                let len = (usize::from(e[1]) + 1) * 8;
                if len > ip.len() - off {
                    return Err(DropReason::Ipv6ExtensionChainTruncated);
                }
                nh = e[0];
                off += len;
            }
            ip_proto::FRAGMENT => {
                if walked == MAX_IPV6_EXTENSIONS {
                    return Err(DropReason::Ipv6TooManyExtensions);
                }
                let Some(e) = chunk::<8>(ip, off) else {
                    return Err(DropReason::Ipv6ExtensionChainTruncated);
                };
                nh = e[0];
                off += 8;
                let fo = be16(e[2], e[3]);
                let offset = usize::from(fo & 0xfff8);
                let more = fo & 1 != 0;
                if offset != 0 || more {
                    p.frag_id = be32(e[4], e[5], e[6], e[7]);
                    p.frag_offset = offset as u16; // fits: a 13-bit field times 8
                    if !QUOTE && offset + (ip.len() - off) > 0xffff {
                        return Err(DropReason::Ipv6BadFragmentOffset);
                    }
                    if offset != 0 {
                        p.fragment = 2;
                        p.proto = nh;
                        p.payload_offset = off as u16;
                        p.payload_len = (ip.len() - off) as u16;
                        return Ok(p);
                    }
                    p.fragment = 1;
                }
                // offset 0 and M clear: an atomic fragment (RFC 6946), a whole packet.
            }
            ip_proto::AH => {
                if walked == MAX_IPV6_EXTENSIONS {
                    return Err(DropReason::Ipv6TooManyExtensions);
                }
                let Some(e) = chunk::<2>(ip, off) else {
                    return Err(DropReason::Ipv6ExtensionChainTruncated);
                };
                let len = (usize::from(e[1]) + 2) * 4;
                if len < 12 {
                    return Err(DropReason::TruncatedAh);
                }
                if len > ip.len() - off {
                    return Err(DropReason::Ipv6ExtensionChainTruncated);
                }
                nh = e[0];
                off += len;
            }
            ip_proto::NO_NEXT_HEADER => {
                p.proto = nh;
                p.payload_offset = off as u16;
                return Ok(p);
            }
            _ => break,
        }
        walked += 1;
    }
    p.proto = nh;
    if QUOTE {
        parse_l4_quoted(ip, off, p)
    } else {
        parse_l4(ip, off, p)
    }
}

/// IPv4 address in the first 4 bytes of a 16-byte slot.
#[inline(always)]
fn v4(a: u8, b: u8, c: u8, d: u8) -> [u8; 16] {
    let mut x = [0u8; 16];
    x[0] = a;
    x[1] = b;
    x[2] = c;
    x[3] = d;
    x
}

/// Sets the payload span to `[l4 + hl, ip.len())`.
#[inline(always)]
fn set_payload(p: &mut Parsed, ip: &[u8], l4: usize, hl: usize) {
    p.payload_offset = (l4 + hl) as u16;
    p.payload_len = ip.len().saturating_sub(l4 + hl) as u16;
}

/// The ICMP / ICMPv6 header at `l4`: type, code, and for echo request/reply the identifier
/// in both port slots (so both directions key alike). Shared by the full and the quoted
/// (ICMP error) parse.
#[inline(always)]
fn read_icmp(ip: &[u8], l4: usize, p: &mut Parsed) -> Result<(), DropReason> {
    let Some(m) = chunk::<8>(ip, l4) else {
        return Err(DropReason::TruncatedIcmp);
    };
    p.icmp_type = m[0];
    p.icmp_code = m[1];
    let echo = if p.family == 4 {
        icmp::is_echo_v4(m[0])
    } else {
        icmp::is_echo_v6(m[0])
    };
    if echo {
        p.sport = be16(m[4], m[5]);
        p.dport = p.sport;
    }
    Ok(())
}

/// The ESP SPI at `l4`, split over the two port slots.
#[inline(always)]
fn read_esp(ip: &[u8], l4: usize, p: &mut Parsed) -> Result<(), DropReason> {
    let Some(e) = chunk::<8>(ip, l4) else {
        return Err(DropReason::TruncatedEsp);
    };
    p.sport = be16(e[0], e[1]);
    p.dport = be16(e[2], e[3]);
    Ok(())
}

/// The GRE header at `l4`: its length. PPTP's enhanced GRE (version 1, key present) keys
/// the packet by its call ID, which names the receiver's end of the call: the destination
/// port slot takes it, so each call's GRE is a session of its own in each direction.
#[inline(always)]
fn read_gre(ip: &[u8], l4: usize, p: &mut Parsed) -> Result<usize, DropReason> {
    let Some(g) = chunk::<4>(ip, l4) else {
        return Err(DropReason::TruncatedGre);
    };
    let fv = be16(g[0], g[1]);
    let hl = gre::header_len(fv);
    if fv & 7 == 1 && fv & gre::FLAG_K != 0 {
        // Version 1 has no checksum word: the key (payload length, call ID) follows.
        let Some(k) = chunk::<8>(ip, l4) else {
            return Err(DropReason::TruncatedGre);
        };
        p.dport = be16(k[6], k[7]);
    }
    Ok(hl)
}

/// The transport header at `l4` of the IP packet `ip` (which ends where the IP header says).
#[inline(always)]
fn parse_l4(ip: &[u8], l4: usize, mut p: Parsed) -> Result<Parsed, DropReason> {
    p.l4_offset = l4 as u16;
    let rem = ip.len().saturating_sub(l4);
    match p.proto {
        ip_proto::TCP => {
            let Some(t) = chunk::<20>(ip, l4) else {
                return Err(DropReason::TruncatedTcp);
            };
            let hl = usize::from(t[12] >> 4) * 4;
            if hl < 20 || hl > rem {
                return Err(DropReason::TcpBadDataOffset);
            }
            p.sport = be16(t[0], t[1]);
            p.dport = be16(t[2], t[3]);
            p.tcp_seq = be32(t[4], t[5], t[6], t[7]);
            p.tcp_ack = be32(t[8], t[9], t[10], t[11]);
            p.tcp_flags = t[13];
            p.tcp_window = be16(t[14], t[15]);
            set_payload(&mut p, ip, l4, hl);
        }
        ip_proto::UDP => {
            let Some(u) = chunk::<8>(ip, l4) else {
                return Err(DropReason::TruncatedUdp);
            };
            let ulen = usize::from(be16(u[4], u[5]));
            if ulen < 8 {
                return Err(DropReason::UdpBadLength);
            }
            p.sport = be16(u[0], u[1]);
            p.dport = be16(u[2], u[3]);
            p.payload_offset = (l4 + 8) as u16;
            if p.fragment == 0 {
                if ulen > rem {
                    return Err(DropReason::UdpBadLength);
                }
                p.payload_len = (ulen - 8) as u16;
            } else {
                // First fragment: the UDP length covers the whole datagram.
                p.payload_len = (rem - 8) as u16;
            }
        }
        ip_proto::ICMP | ip_proto::ICMPV6 if (p.proto == ip_proto::ICMP) == (p.family == 4) => {
            read_icmp(ip, l4, &mut p)?;
            set_payload(&mut p, ip, l4, 8);
        }
        ip_proto::SCTP => {
            let Some(s) = chunk::<12>(ip, l4) else {
                return Err(DropReason::TruncatedSctp);
            };
            p.sport = be16(s[0], s[1]);
            p.dport = be16(s[2], s[3]);
            set_payload(&mut p, ip, l4, 12);
        }
        ip_proto::GRE => {
            let hl = read_gre(ip, l4, &mut p)?;
            if hl > rem {
                return Err(DropReason::TruncatedGre);
            }
            set_payload(&mut p, ip, l4, hl);
        }
        ip_proto::ESP => {
            read_esp(ip, l4, &mut p)?;
            set_payload(&mut p, ip, l4, 8);
        }
        ip_proto::AH => {
            // Reached for IPv4 only: IPv6 walks AH as an extension header.
            let Some(a) = chunk::<12>(ip, l4) else {
                return Err(DropReason::TruncatedAh);
            };
            let hl = (usize::from(a[1]) + 2) * 4;
            if hl < 12 || hl > rem {
                return Err(DropReason::TruncatedAh);
            }
            p.sport = be16(a[4], a[5]);
            p.dport = be16(a[6], a[7]);
            set_payload(&mut p, ip, l4, hl);
        }
        _ => set_payload(&mut p, ip, l4, 0),
    }
    Ok(p)
}

/// The first bytes of a quoted transport header: what RFC 792 promises (8 bytes) must be
/// there; the rest is read if present. The payload span is clamped to what was quoted.
fn parse_l4_quoted(ip: &[u8], l4: usize, mut p: Parsed) -> Result<Parsed, DropReason> {
    p.l4_offset = l4 as u16;
    let hl = match p.proto {
        ip_proto::TCP => {
            let Some(t) = chunk::<8>(ip, l4) else {
                return Err(DropReason::TruncatedTcp);
            };
            p.sport = be16(t[0], t[1]);
            p.dport = be16(t[2], t[3]);
            p.tcp_seq = be32(t[4], t[5], t[6], t[7]);
            match chunk::<14>(ip, l4) {
                Some(t) => {
                    p.tcp_ack = be32(t[8], t[9], t[10], t[11]);
                    p.tcp_flags = t[13];
                    let hl = usize::from(t[12] >> 4) * 4;
                    if hl < 20 {
                        return Err(DropReason::TcpBadDataOffset);
                    }
                    hl
                }
                None => 20,
            }
        }
        ip_proto::UDP | ip_proto::SCTP => {
            let Some(u) = chunk::<8>(ip, l4) else {
                return Err(if p.proto == ip_proto::UDP {
                    DropReason::TruncatedUdp
                } else {
                    DropReason::TruncatedSctp
                });
            };
            p.sport = be16(u[0], u[1]);
            p.dport = be16(u[2], u[3]);
            if p.proto == ip_proto::UDP {
                8
            } else {
                12
            }
        }
        ip_proto::ICMP | ip_proto::ICMPV6 if (p.proto == ip_proto::ICMP) == (p.family == 4) => {
            read_icmp(ip, l4, &mut p)?;
            8
        }
        ip_proto::ESP => {
            read_esp(ip, l4, &mut p)?;
            8
        }
        ip_proto::AH => {
            let Some(a) = chunk::<8>(ip, l4) else {
                return Err(DropReason::TruncatedAh);
            };
            p.sport = be16(a[4], a[5]);
            p.dport = be16(a[6], a[7]);
            (usize::from(a[1]) + 2) * 4
        }
        ip_proto::GRE => read_gre(ip, l4, &mut p)?,
        _ => 0,
    };
    let start = (l4 + hl).min(ip.len());
    p.payload_offset = start as u16;
    p.payload_len = (ip.len() - start) as u16;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum::verify_parsed;
    use crate::wire::fixtures::*;
    use crate::wire::tcp;
    use proptest::prelude::*;

    /// The fast path says nothing `parse` would not: on every fixture, and on frames made
    /// by corrupting fixtures and plain UDP/TCP frames at random, `parse_fast_v4` is either
    /// `None` or agrees field by field with `parse`.
    fn fast_agrees(frame: &[u8]) {
        let Some(f) = parse_fast_v4(frame) else {
            return;
        };
        let p = match parse(frame) {
            Outcome::Ip(p) => p,
            other => panic!("fast path took a frame parse gives {other:?}: {frame:02x?}"),
        };
        assert_eq!(
            (p.family, p.proto, p.fragment, p.vlan),
            (4, f.proto, 0, 0),
            "{frame:02x?}"
        );
        assert_eq!(&p.src[..4], &f.src.to_be_bytes());
        assert_eq!(&p.dst[..4], &f.dst.to_be_bytes());
        assert_eq!(
            (
                p.sport,
                p.dport,
                p.payload_len,
                p.tcp_seq,
                p.tcp_ack,
                p.tcp_flags,
                p.tcp_window
            ),
            (
                f.sport,
                f.dport,
                f.payload_len,
                f.tcp_seq,
                f.tcp_ack,
                f.tcp_flags,
                f.tcp_window
            ),
            "{frame:02x?}"
        );
    }

    /// Untagged IPv4 + UDP, 60 bytes (18 bytes of payload, no padding).
    fn plain_udp() -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[12] = 0x08;
        f[14] = 0x45;
        f[16..18].copy_from_slice(&46u16.to_be_bytes());
        f[22] = 64;
        f[23] = 17;
        f[26..30].copy_from_slice(&[10, 1, 2, 3]);
        f[30..34].copy_from_slice(&[192, 0, 2, 9]);
        f[34..36].copy_from_slice(&40000u16.to_be_bytes());
        f[36..38].copy_from_slice(&443u16.to_be_bytes());
        f[38..40].copy_from_slice(&26u16.to_be_bytes());
        f
    }

    #[test]
    fn fast_path_takes_plain_udp_and_tcp_and_agrees_with_parse() {
        for f in ALL_FIXTURES {
            fast_agrees(f);
        }
        let u = plain_udp();
        fast_agrees(&u);
        assert_eq!(
            parse_fast_v4(&u).map(|f| (f.src, f.sport, f.dport, f.payload_len)),
            Some((0x0a01_0203, 40000, 443, 18))
        );
        // TCP (a SYN with TCP options) is taken; IP options (IHL 6) and ICMP are not.
        assert!(parse_fast_v4(&TCP_SYN_V4).is_some_and(|f| f.tcp_flags == 0x02));
        assert!(
            parse_fast_v4(&TCP_PSH_ACK_V4_OPTIONS).is_none(),
            "IP options"
        );
        assert!(parse_fast_v4(&ICMP_ECHO_V4).is_none(), "ICMP");
        assert!(parse_fast_v4(&UDP_DNS_VLAN100_V4).is_none(), "tagged");
        assert!(parse_fast_v4(&UDP_QINQ_V4_PADDED).is_none(), "tagged");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn fast_path_never_disagrees_with_parse(
            which in 0usize..ALL_FIXTURES.len() + 1,
            edits in proptest::collection::vec((0usize..80, any::<u8>()), 0..4),
            cut in 0usize..100,
        ) {
            let mut f = ALL_FIXTURES.get(which).map_or_else(plain_udp, |f| f.to_vec());
            // Make the base a fast-path candidate half the time: untagged IPv4, IHL 5.
            if which % 2 == 0 && f.len() >= 42 {
                f[12] = 0x08;
                f[13] = 0x00;
                f[14] = 0x45;
            }
            for (at, v) in edits {
                if at < f.len() {
                    f[at] = v;
                }
            }
            if cut < f.len() {
                f.truncate(f.len() - cut.min(f.len()) / 4);
            }
            fast_agrees(&f);
        }
    }

    fn ip(frame: &[u8]) -> Parsed {
        match parse(frame) {
            Outcome::Ip(p) => p,
            other => panic!("expected Ip, got {other:?}"),
        }
    }

    fn dropped(frame: &[u8]) -> DropReason {
        match parse(frame) {
            Outcome::Drop(d) => d,
            other => panic!("expected Drop, got {other:?}"),
        }
    }

    fn a4(a: [u8; 4]) -> [u8; 16] {
        let mut x = [0; 16];
        x[..4].copy_from_slice(&a);
        x
    }

    fn a6(last: u8) -> [u8; 16] {
        let mut x = [0; 16];
        x[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        x[15] = last;
        x
    }

    /// The invariants every accepted frame satisfies.
    fn assert_offsets_in_frame(frame: &[u8], p: &Parsed) {
        let len = frame.len().min(MAX_FRAME);
        let (l3, l4) = (usize::from(p.l3_offset), usize::from(p.l4_offset));
        let (po, pl) = (usize::from(p.payload_offset), usize::from(p.payload_len));
        let ip_end = l3 + usize::from(p.ip_len);
        assert!(p.family == 4 || p.family == 6);
        assert!(l3 >= 14 && ip_end <= len, "{p:?} len {len}");
        if l4 != 0 {
            assert!(l3 < l4 && l4 <= po, "{p:?}");
        }
        assert!(l3 < po && po + pl <= ip_end, "{p:?}");
        if p.fragment == 2 {
            assert_eq!((l4, p.sport, p.dport), (0, 0, 0));
        }
    }

    #[test]
    fn drop_reason_table() {
        assert_eq!(DropReason::COUNT, DropReason::ALL.len());
        assert_eq!(DropReason::COUNT, 25);
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
            assert_eq!(DropReason::from_index(i), Some(*r));
            let n = r.name();
            assert!(n
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'));
            assert!(!r.description().is_empty());
            assert_eq!(r.to_string(), n);
        }
        assert_eq!(DropReason::from_index(DropReason::COUNT), None);
        assert_eq!(DropReason::TruncatedEthernet.name(), "truncated_ethernet");
        assert_eq!(
            DropReason::Ipv6ExtensionChainTruncated.name(),
            "ipv6_extension_chain_truncated"
        );
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
    }

    #[test]
    fn tcp_syn_v4() {
        let p = ip(&TCP_SYN_V4);
        assert_eq!(
            p,
            Parsed {
                l3_offset: 14,
                l4_offset: 34,
                payload_offset: 74,
                payload_len: 0,
                ip_len: 60,
                vlan: 0,
                family: 4,
                proto: 6,
                src: a4([192, 168, 1, 10]),
                dst: a4([93, 184, 216, 34]),
                sport: 51234,
                dport: 80,
                tcp_flags: tcp::SYN,
                tcp_seq: 0x0a1b_2c3d,
                tcp_ack: 0,
                tcp_window: 64240,
                icmp_type: 0,
                icmp_code: 0,
                fragment: 0,
                frag_id: 0,
                frag_offset: 0,
                ttl: 64,
            }
        );
    }

    #[test]
    fn tcp_with_ipv4_options_and_payload() {
        let p = ip(&TCP_PSH_ACK_V4_OPTIONS);
        assert_eq!((p.l3_offset, p.l4_offset, p.payload_offset), (14, 38, 58));
        assert_eq!((p.payload_len, p.ip_len), (27, 71));
        assert_eq!((p.sport, p.dport), (40000, 8080));
        assert_eq!(p.tcp_flags, tcp::PSH | tcp::ACK);
        assert_eq!((p.tcp_seq, p.tcp_ack), (0x1122_3344, 0x5566_7788));
        let po = usize::from(p.payload_offset);
        assert_eq!(
            &TCP_PSH_ACK_V4_OPTIONS[po..po + 27],
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        );
    }

    #[test]
    fn udp_vlan_and_qinq() {
        let p = ip(&UDP_DNS_VLAN100_V4);
        assert_eq!(
            (p.vlan, p.l3_offset, p.l4_offset, p.payload_offset),
            (100, 18, 38, 46)
        );
        assert_eq!(
            (p.proto, p.sport, p.dport, p.payload_len),
            (17, 53000, 53, 29)
        );
        assert_eq!((p.src, p.dst), (a4([10, 0, 0, 1]), a4([10, 0, 0, 53])));

        // Outer (S-tag) VID wins; Ethernet padding is not payload.
        let p = ip(&UDP_QINQ_V4_PADDED);
        assert_eq!((p.vlan, p.l3_offset, p.l4_offset), (10, 22, 42));
        assert_eq!((p.ip_len, p.payload_offset, p.payload_len), (32, 50, 4));
        assert_eq!((p.sport, p.dport), (1234, 5678));
        assert_eq!(UDP_QINQ_V4_PADDED.len(), 64);
    }

    #[test]
    fn icmp_echo_keys_identifier_both_ways() {
        let p = ip(&ICMP_ECHO_V4);
        assert_eq!((p.proto, p.icmp_type, p.icmp_code), (1, 8, 0));
        assert_eq!((p.sport, p.dport), (0x1234, 0x1234));
        assert_eq!((p.l4_offset, p.payload_offset, p.payload_len), (34, 42, 16));
        assert!(!p.is_icmp_error());
        assert_eq!(parse_icmp_error_inner(&ICMP_ECHO_V4, &p), None);
        // The reply (type 0) keys the same.
        let mut r = ICMP_ECHO_V4;
        r[34] = 0;
        let q = ip(&r);
        assert_eq!((q.icmp_type, q.sport, q.dport), (0, 0x1234, 0x1234));

        let p = ip(&ICMPV6_ECHO);
        assert_eq!((p.family, p.proto, p.icmp_type), (6, 58, 128));
        assert_eq!((p.sport, p.dport), (0x42, 0x42));
        assert_eq!((p.src, p.dst), (a6(1), a6(2)));
        assert_eq!((p.ip_len, p.payload_offset, p.payload_len), (56, 62, 8));
    }

    #[test]
    fn icmp_error_and_its_quote() {
        let p = ip(&ICMP_PORT_UNREACH_V4);
        assert_eq!((p.icmp_type, p.icmp_code, p.sport, p.dport), (3, 3, 0, 0));
        assert!(p.is_icmp_error());
        assert_eq!((p.payload_offset, p.payload_len), (42, 28));
        let inner = parse_icmp_error_inner(&ICMP_PORT_UNREACH_V4, &p).unwrap();
        assert_eq!(
            (inner.family, inner.proto, inner.l3_offset, inner.l4_offset),
            (4, 17, 42, 62)
        );
        // The quoted header says 57 bytes; 28 are present.
        assert_eq!(
            (inner.ip_len, inner.payload_offset, inner.payload_len),
            (57, 70, 0)
        );
        assert_eq!(
            (inner.src, inner.dst),
            (a4([10, 0, 0, 1]), a4([10, 0, 0, 53]))
        );
        assert_eq!((inner.sport, inner.dport), (53000, 53));
        // Fewer than 8 bytes of UDP quoted: refused.
        let mut short = ICMP_PORT_UNREACH_V4;
        short[17] = 55; // outer total length 55: 7 bytes of quoted UDP
        let ps = ip(&short[..69]);
        assert_eq!(parse_icmp_error_inner(&short[..69], &ps), None);
        // A quote that is not IPv4.
        let mut bad = ICMP_PORT_UNREACH_V4;
        bad[42] = 0x65;
        let pb = ip(&bad);
        assert_eq!(parse_icmp_error_inner(&bad, &pb), None);
    }

    /// An ICMPv6 error (packet too big) quoting the start of the IPv6 TCP SYN.
    #[test]
    fn icmpv6_error_quote() {
        let mut f = [0u8; 14 + 40 + 8 + 60];
        f[..14].copy_from_slice(&TCP_SYN_V6[..14]);
        f[14] = 0x60;
        f[18..20].copy_from_slice(&68u16.to_be_bytes()); // payload 8 + 60 quoted
        f[20] = 58;
        f[21] = 64;
        f[22..38].copy_from_slice(&a6(9));
        f[38..54].copy_from_slice(&a6(1));
        f[54] = 2; // packet too big
        f[58..62].copy_from_slice(&1280u32.to_be_bytes());
        f[62..].copy_from_slice(&TCP_SYN_V6[14..74]);
        let p = ip(&f);
        assert!(p.is_icmp_error());
        assert_eq!((p.icmp_type, p.sport, p.payload_len), (2, 0, 60));
        let inner = parse_icmp_error_inner(&f, &p).unwrap();
        assert_eq!(
            (inner.family, inner.proto, inner.sport, inner.dport),
            (6, 6, 51000, 443)
        );
        assert_eq!(
            (inner.tcp_seq, inner.tcp_flags, inner.ip_len),
            (0xc0ff_ee00, tcp::SYN, 80)
        );
        assert_eq!((inner.src, inner.dst), (a6(1), a6(2)));
        assert_eq!(
            (inner.l3_offset, inner.l4_offset, inner.payload_offset),
            (62, 102, 122)
        );
    }

    #[test]
    fn ipv6_extension_headers_and_fragments() {
        let p = ip(&UDP_V6_HBH_FRAG);
        assert_eq!((p.family, p.proto, p.fragment), (6, 17, 1));
        assert_eq!((p.l3_offset, p.l4_offset, p.payload_offset), (14, 70, 78));
        // The UDP length (1208) spans later fragments: payload is what is here.
        assert_eq!(
            (p.sport, p.dport, p.payload_len, p.ip_len),
            (50000, 9999, 16, 80)
        );
        assert_eq!(p.vlan, 0);

        // Non-first fragment: no L4 header, ports 0, proto from the fragment header.
        let mut nf = UDP_V6_HBH_FRAG;
        nf[64..66].copy_from_slice(&0x00b9u16.to_be_bytes()); // offset 184, M=1
        let q = ip(&nf);
        assert_eq!(
            (q.fragment, q.proto, q.l4_offset, q.sport, q.dport),
            (2, 17, 0, 0, 0)
        );
        assert_eq!((q.payload_offset, q.payload_len), (70, 24));

        // Atomic fragment (offset 0, M=0) is a whole packet.
        let mut at = UDP_V6_HBH_FRAG;
        at[65] = 0;
        at[74..76].copy_from_slice(&24u16.to_be_bytes());
        let r = ip(&at);
        assert_eq!((r.fragment, r.sport, r.payload_len), (0, 50000, 16));

        // AH walked as an extension header.
        let p = ip(&AH_TCP_V6);
        assert_eq!(
            (p.proto, p.l4_offset, p.payload_offset, p.payload_len),
            (6, 78, 98, 4)
        );
        assert_eq!((p.sport, p.dport, p.tcp_flags), (22, 60000, tcp::ACK));

        // No next header: nothing after the chain.
        let mut nn = ICMPV6_ECHO;
        nn[20] = 59;
        let q = ip(&nn);
        assert_eq!(
            (q.proto, q.l4_offset, q.payload_offset, q.payload_len),
            (59, 0, 54, 0)
        );
    }

    #[test]
    fn tcp_syn_v6_gre_esp_ah_sctp() {
        let p = ip(&TCP_SYN_V6);
        assert_eq!(
            (p.family, p.sport, p.dport, p.tcp_flags),
            (6, 51000, 443, tcp::SYN)
        );
        assert_eq!(
            (p.l4_offset, p.payload_offset, p.payload_len, p.ttl),
            (54, 94, 0, 64)
        );

        let p = ip(&GRE_KEY_V4);
        assert_eq!((p.proto, p.sport, p.dport), (47, 0, 0));
        assert_eq!((p.l4_offset, p.payload_offset, p.payload_len), (34, 42, 28));
        // PPTP's enhanced GRE (version 1, protocol 0x880b): the key's low half is the
        // receiver's call ID, keyed as the destination port.
        let mut v1 = GRE_KEY_V4;
        v1[35] = 0x01;
        v1[36..38].copy_from_slice(&[0x88, 0x0b]);
        v1[38..42].copy_from_slice(&[0x00, 0x1c, 0x40, 0x01]);
        let p = ip(&v1);
        assert_eq!((p.proto, p.sport, p.dport), (47, 0, 0x4001));
        assert_eq!((p.l4_offset, p.payload_offset, p.payload_len), (34, 42, 28));
        // Version 1 without a key is keyed by its addresses only.
        v1[34] = 0x00;
        assert_eq!(ip(&v1).dport, 0);
        // The GRE payload is an IPv4 packet.
        assert_eq!(GRE_KEY_V4[42], 0x45);

        let p = ip(&ESP_V4);
        assert_eq!((p.proto, p.sport, p.dport), (50, 0x0a0b, 0x0c0d));
        assert_eq!((p.payload_offset, p.payload_len), (42, 16));

        let p = ip(&AH_TCP_V4);
        assert_eq!((p.proto, p.sport, p.dport), (51, 0x1234, 0x5678));
        assert_eq!((p.l4_offset, p.payload_offset, p.payload_len), (34, 58, 20));

        let p = ip(&SCTP_INIT_V4);
        assert_eq!((p.proto, p.sport, p.dport), (132, 5000, 38412));
        assert_eq!((p.payload_offset, p.payload_len), (46, 20));
    }

    #[test]
    fn not_ip() {
        assert_eq!(parse(&ARP_REQUEST), Outcome::NotIp { ethertype: 0x0806 });
        let mut lldp = ARP_REQUEST;
        lldp[12..14].copy_from_slice(&[0x88, 0xcc]);
        assert_eq!(parse(&lldp), Outcome::NotIp { ethertype: 0x88cc });
        // ARP behind a VLAN tag.
        let mut v = [0u8; 64];
        v[12..18].copy_from_slice(&[0x81, 0x00, 0x00, 0x07, 0x08, 0x06]);
        assert_eq!(parse(&v), Outcome::NotIp { ethertype: 0x0806 });
    }

    #[test]
    fn fixtures_checksums_verify() {
        for f in ALL_FIXTURES {
            if let Outcome::Ip(p) = parse(f) {
                assert!(verify_parsed(f, &p), "{p:?}");
                let mut g = f.to_vec();
                let last = usize::from(p.l3_offset) + usize::from(p.ip_len) - 1;
                g[last] ^= 0x01;
                // Flipping the last byte of the packet breaks whichever checksum covers it.
                if p.fragment == 0 && matches!(p.proto, 1 | 6 | 17 | 58) {
                    assert!(!verify_parsed(&g, &p), "{p:?}");
                }
            }
        }
    }

    #[test]
    fn every_truncation_drops_or_parses_in_bounds() {
        for f in ALL_FIXTURES {
            let full = parse(f);
            for len in 0..=f.len() {
                let t = &f[..len];
                match parse(t) {
                    Outcome::Ip(p) => {
                        assert_offsets_in_frame(t, &p);
                        // Only Ethernet padding can be cut without changing the result.
                        assert_eq!(Outcome::Ip(p), full);
                        if p.is_icmp_error() {
                            let _ = parse_icmp_error_inner(t, &p);
                        }
                    }
                    Outcome::Drop(_) => assert!(len < f.len()),
                    Outcome::NotIp { .. } => assert!(matches!(full, Outcome::NotIp { .. })),
                }
            }
            assert_eq!(
                parse(&f[..13]),
                Outcome::Drop(DropReason::TruncatedEthernet)
            );
        }
        assert_eq!(dropped(&TCP_SYN_V4[..33]), DropReason::TruncatedIpv4);
        assert_eq!(
            dropped(&TCP_SYN_V4[..73]),
            DropReason::Ipv4TotalLengthPastFrame
        );
        assert_eq!(dropped(&TCP_SYN_V6[..53]), DropReason::TruncatedIpv6);
        assert_eq!(dropped(&TCP_SYN_V6[..93]), DropReason::Ipv6PayloadPastFrame);
        assert_eq!(
            dropped(&UDP_DNS_VLAN100_V4[..17]),
            DropReason::TruncatedVlan
        );
        assert_eq!(
            dropped(&UDP_QINQ_V4_PADDED[..21]),
            DropReason::TruncatedVlan
        );
        // Padding may go; the packet may not.
        assert!(matches!(parse(&UDP_QINQ_V4_PADDED[..54]), Outcome::Ip(_)));
        assert_eq!(
            dropped(&UDP_QINQ_V4_PADDED[..53]),
            DropReason::Ipv4TotalLengthPastFrame
        );
    }

    /// Sets the IPv4 total length at `l3` and keeps the header checksum honest.
    fn set_total_len(f: &mut [u8], l3: usize, total: u16) {
        f[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
    }

    #[test]
    fn bad_ipv4_headers() {
        let mut f = TCP_SYN_V4;
        f[14] = 0x44;
        assert_eq!(dropped(&f), DropReason::Ipv4BadIhl);
        f[14] = 0x40;
        assert_eq!(dropped(&f), DropReason::Ipv4BadIhl);
        let mut f = TCP_SYN_V4;
        f[14] = 0x4f; // 60-byte header fits in the 60 bytes after Ethernet...
        assert_eq!(dropped(&f[..60]), DropReason::Ipv4BadIhl); // ...but not in 46.
        let mut f = TCP_SYN_V4;
        f[14] = 0x65;
        assert_eq!(dropped(&f), DropReason::Ipv4BadVersion);
        let mut f = TCP_SYN_V4;
        set_total_len(&mut f, 14, 19);
        assert_eq!(dropped(&f), DropReason::Ipv4TotalLengthTooShort);
        set_total_len(&mut f, 14, 61);
        assert_eq!(dropped(&f), DropReason::Ipv4TotalLengthPastFrame);
        set_total_len(&mut f, 14, 0xffff);
        assert_eq!(dropped(&f), DropReason::Ipv4TotalLengthPastFrame);
        // A total length that leaves only 10 bytes of TCP.
        set_total_len(&mut f, 14, 30);
        assert_eq!(dropped(&f), DropReason::TruncatedTcp);
        // Multicast and broadcast sources.
        let mut f = TCP_SYN_V4;
        f[26] = 239;
        assert_eq!(dropped(&f), DropReason::SourceIsMulticast);
        f[26..30].copy_from_slice(&[255; 4]);
        assert_eq!(dropped(&f), DropReason::SourceIsMulticast);
        let mut f = TCP_SYN_V6;
        f[22] = 0xff;
        assert_eq!(dropped(&f), DropReason::SourceIsMulticast);
        f[14] = 0x40;
        assert_eq!(dropped(&f), DropReason::Ipv6BadVersion);
    }

    #[test]
    fn ipv4_fragments() {
        // First fragment (MF, offset 0): the L4 header is read.
        let mut f = TCP_SYN_V4;
        f[20] = 0x20;
        let p = ip(&f);
        assert_eq!(
            (p.fragment, p.sport, p.dport, p.l4_offset),
            (1, 51234, 80, 34)
        );
        // Non-first fragment: no L4.
        f[20..22].copy_from_slice(&0x2010u16.to_be_bytes()); // MF, offset 128
        let p = ip(&f);
        assert_eq!(
            (p.fragment, p.l4_offset, p.sport, p.dport, p.tcp_flags),
            (2, 0, 0, 0, 0)
        );
        assert_eq!((p.payload_offset, p.payload_len, p.proto), (34, 40, 6));
        // Last fragment (MF clear, offset != 0).
        f[20..22].copy_from_slice(&0x0010u16.to_be_bytes());
        assert_eq!(ip(&f).fragment, 2);
        // RFC 1858: a TCP fragment at offset 8 could overwrite the flags.
        f[20..22].copy_from_slice(&0x0001u16.to_be_bytes());
        assert_eq!(dropped(&f), DropReason::Ipv4BadFragmentOffset);
        // Ends past 65535.
        f[20..22].copy_from_slice(&0x1fffu16.to_be_bytes());
        assert_eq!(dropped(&f), DropReason::Ipv4BadFragmentOffset);
        // UDP first fragment: the UDP length may exceed what is here.
        let mut u = UDP_DNS_VLAN100_V4;
        u[24] = 0x20;
        u[42..44].copy_from_slice(&1000u16.to_be_bytes());
        let p = ip(&u);
        assert_eq!((p.fragment, p.sport, p.payload_len), (1, 53000, 29));
        u[24] = 0;
        assert_eq!(dropped(&u), DropReason::UdpBadLength);
    }

    #[test]
    fn bad_transport_headers() {
        let mut f = TCP_SYN_V4;
        f[46] = 0x40; // data offset 4
        assert_eq!(dropped(&f), DropReason::TcpBadDataOffset);
        f[46] = 0x00;
        assert_eq!(dropped(&f), DropReason::TcpBadDataOffset);
        f[46] = 0xb0; // 44 bytes in a 40-byte segment
        assert_eq!(dropped(&f), DropReason::TcpBadDataOffset);

        let mut u = UDP_DNS_VLAN100_V4;
        u[42..44].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(dropped(&u), DropReason::UdpBadLength);
        u[42..44].copy_from_slice(&38u16.to_be_bytes()); // IP payload is 37
        assert_eq!(dropped(&u), DropReason::UdpBadLength);
        u[42..44].copy_from_slice(&36u16.to_be_bytes()); // shorter than the IP payload: fine
        assert_eq!(ip(&u).payload_len, 28);
        let mut u = UDP_DNS_VLAN100_V4;
        set_total_len(&mut u, 18, 27);
        assert_eq!(dropped(&u), DropReason::TruncatedUdp);

        let mut m = ICMP_ECHO_V4;
        set_total_len(&mut m, 14, 27);
        assert_eq!(dropped(&m), DropReason::TruncatedIcmp);
        let mut s = SCTP_INIT_V4;
        set_total_len(&mut s, 14, 31);
        assert_eq!(dropped(&s), DropReason::TruncatedSctp);
        let mut e = ESP_V4;
        set_total_len(&mut e, 14, 27);
        assert_eq!(dropped(&e), DropReason::TruncatedEsp);
        let mut g = GRE_KEY_V4;
        set_total_len(&mut g, 14, 27); // K bit needs 8 bytes
        assert_eq!(dropped(&g), DropReason::TruncatedGre);
        let mut a = AH_TCP_V4;
        set_total_len(&mut a, 14, 43); // 23 of the AH's 24 bytes
        assert_eq!(dropped(&a), DropReason::TruncatedAh);
        let mut a = AH_TCP_V4;
        a[35] = 0; // AH length 8 < 12
        assert_eq!(dropped(&a), DropReason::TruncatedAh);
    }

    #[test]
    fn bad_ipv6_chains() {
        // Hop-by-hop header claiming 16 bytes, running off the end of the packet.
        let mut f = UDP_V6_HBH_FRAG;
        f[55] = 10;
        assert_eq!(dropped(&f), DropReason::Ipv6ExtensionChainTruncated);
        // Payload length cutting the fragment header.
        let mut f = UDP_V6_HBH_FRAG;
        f[18..20].copy_from_slice(&12u16.to_be_bytes());
        assert_eq!(dropped(&f[..66]), DropReason::Ipv6ExtensionChainTruncated);
        // Cutting the UDP header.
        f[18..20].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(dropped(&f[..74]), DropReason::TruncatedUdp);
        // AH running off the end.
        let mut a = AH_TCP_V6;
        a[55] = 60;
        assert_eq!(dropped(&a), DropReason::Ipv6ExtensionChainTruncated);
        a[55] = 0;
        assert_eq!(dropped(&a), DropReason::TruncatedAh);

        // Nine destination-options headers: one too many.
        let mut v = Vec::from(&TCP_SYN_V6[..54]);
        v[20] = 60;
        for i in 0..9 {
            v.extend_from_slice(&[if i == 8 { 59 } else { 60 }, 0, 1, 4, 0, 0, 0, 0]);
        }
        let plen = (v.len() - 54) as u16;
        v[18..20].copy_from_slice(&plen.to_be_bytes());
        assert_eq!(dropped(&v), DropReason::Ipv6TooManyExtensions);
        // Eight are fine.
        v.truncate(54 + 8 * 8);
        v[54 + 7 * 8] = 59;
        v[18..20].copy_from_slice(&64u16.to_be_bytes());
        let p = ip(&v);
        assert_eq!((p.proto, p.payload_offset), (59, 118));

        // A fragment ending past 65535.
        let mut f = UDP_V6_HBH_FRAG;
        f[64..66].copy_from_slice(&0xfff9u16.to_be_bytes());
        assert_eq!(dropped(&f), DropReason::Ipv6BadFragmentOffset);
    }

    #[test]
    fn vlan_limits() {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&[0x88, 0xa8]);
        f.extend_from_slice(&[
            0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x81, 0x00, 0, 0, 0x08, 0x00,
        ]);
        f.extend_from_slice(&[0u8; 40]);
        assert_eq!(dropped(&f), DropReason::TooManyVlanTags);
    }

    #[test]
    fn oversized_buffer_is_clamped() {
        // A frame longer than 65535 bytes: parsed as its first 65535.
        let mut f = vec![0u8; 70_000];
        f[..TCP_SYN_V4.len()].copy_from_slice(&TCP_SYN_V4);
        assert_eq!(parse(&f), parse(&TCP_SYN_V4));
        f[16..18].copy_from_slice(&0xffffu16.to_be_bytes());
        assert_eq!(dropped(&f), DropReason::Ipv4TotalLengthPastFrame);
        // The largest IP packet that fits: 65535 - 14 bytes.
        let mut f = vec![0u8; 70_000];
        f[..14].copy_from_slice(&TCP_SYN_V4[..14]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&65521u16.to_be_bytes());
        f[23] = 99; // unknown protocol
        f[26] = 10;
        let p = ip(&f);
        assert_eq!(
            (p.ip_len, p.l4_offset, p.payload_offset, p.payload_len),
            (65521, 34, 34, 65501)
        );
        assert_offsets_in_frame(&f, &p);
    }

    fn mutated_fixture() -> impl Strategy<Value = Vec<u8>> {
        (
            0..ALL_FIXTURES.len(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 0..32),
        )
            .prop_map(|(i, edits, cut, tail)| {
                let mut v = ALL_FIXTURES[i].to_vec();
                for (at, b) in edits {
                    let n = v.len();
                    v[at % n] = b;
                }
                v.truncate(cut % (v.len() + 1));
                v.extend_from_slice(&tail);
                v
            })
    }

    fn check_any(frame: &[u8]) {
        if let Outcome::Ip(p) = parse(frame) {
            assert_offsets_in_frame(frame, &p);
            if let Some(q) = parse_icmp_error_inner(frame, &p) {
                let end = usize::from(p.payload_offset) + usize::from(p.payload_len);
                assert!(q.l3_offset == p.payload_offset);
                assert!(usize::from(q.payload_offset) + usize::from(q.payload_len) <= end);
                assert!(q.l4_offset == 0 || q.l4_offset <= q.payload_offset);
            }
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_random_bytes(frame in proptest::collection::vec(any::<u8>(), 0..256)) {
            check_any(&frame);
        }

        #[test]
        fn parse_never_panics_on_ip_shaped_bytes(
            et in prop_oneof![Just(0x0800u16), Just(0x86dd), Just(0x8100), Just(0x88a8)],
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&et.to_be_bytes());
            f.extend_from_slice(&body);
            check_any(&f);
        }

        #[test]
        fn parse_never_panics_on_mutated_fixtures(frame in mutated_fixture()) {
            check_any(&frame);
        }
    }
}
