//! Packet views and the one-pass parser the worker runs on every frame.
//!
//! Two layers, in the style of smoltcp's `wire`:
//!
//! * **Views** ([`EthernetFrame`], [`Ipv4Packet`], [`TcpPacket`], …): a `Packet<T>` wraps
//!   any `T: AsRef<[u8]>`. `new_checked` is `new_unchecked` followed by `check_len`; once
//!   `check_len` has passed, **no getter panics**, and on `T: AsMut<[u8]>` no setter
//!   panics either (setters of the variable-length parts touch only what `check_len`
//!   verified). Views neither copy nor allocate.
//! * **The hot-path parser** ([`parse()`]): one straight pass over Ethernet, up to two VLAN
//!   tags, IPv4 or IPv6 (with its extension headers) and the transport header, producing a
//!   [`Parsed`] (plain `Copy` data, no references) or a [`DropReason`]. It never panics,
//!   never allocates, and does not verify checksums (NICs do; see [`checksum`] for the
//!   `verify_*` helpers used off the hot path and in tests).
//!
//! [`reply`] turns a received frame into the TCP RST or ICMP unreachable that answers it, in
//! place, for the Reject action.

pub mod checksum;
pub mod ethernet;
pub mod gre;
pub mod icmp;
pub mod ipsec;
pub mod ipv4;
pub mod ipv6;
pub mod nat;
pub mod parse;
pub mod reply;
pub mod sctp;
pub mod splice;
pub mod tcp;
pub mod udp;

#[cfg(test)]
mod agree;
#[cfg(test)]
mod fixtures;

pub use ethernet::{EthernetFrame, VlanHeader};
pub use gre::GrePacket;
pub use icmp::IcmpPacket;
pub use ipsec::{AhHeader, EspPacket};
pub use ipv4::Ipv4Packet;
pub use ipv6::{Ipv6ExtHeader, Ipv6FragmentHeader, Ipv6Packet};
pub use parse::{
    parse, parse_fast_v4, parse_icmp_error_inner, DropReason, FastV4, Outcome, Parsed,
};
pub use reply::{icmp_unreachable_in_place, tcp_ack_in_place, tcp_rst_in_place};
pub use sctp::SctpPacket;
pub use tcp::{read_options as read_tcp_options, TcpOptions, TcpPacket};
pub use udp::UdpPacket;

/// Why a view's `check_len` refused a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// The buffer is shorter than the header (or than the length the header declares).
    #[error("truncated packet")]
    Truncated,
    /// A length field contradicts itself (e.g. a header length below the minimum).
    #[error("malformed packet")]
    Malformed,
}

/// Result of a view's `check_len` / `new_checked`.
pub type Result<T> = core::result::Result<T, Error>;

/// EtherType values the parser knows.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// IEEE 802.1Q VLAN tag (C-tag).
    pub const VLAN: u16 = 0x8100;
    /// IEEE 802.1ad service tag (S-tag, QinQ outer tag).
    pub const QINQ: u16 = 0x88a8;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
}

/// IP protocol numbers (IPv4 protocol / IPv6 next header) the parser knows.
pub mod ip_proto {
    /// IPv6 hop-by-hop options (extension header).
    pub const HOPOPT: u8 = 0;
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// IPv4 encapsulated in IP.
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 encapsulated in IP.
    pub const IPV6: u8 = 41;
    /// IPv6 routing header (extension header).
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header (extension header).
    pub const FRAGMENT: u8 = 44;
    /// Generic routing encapsulation.
    pub const GRE: u8 = 47;
    /// IPsec encapsulating security payload.
    pub const ESP: u8 = 50;
    /// IPsec authentication header (an extension header in IPv6).
    pub const AH: u8 = 51;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    pub const NO_NEXT_HEADER: u8 = 59;
    /// IPv6 destination options (extension header).
    pub const DSTOPTS: u8 = 60;
    /// SCTP.
    pub const SCTP: u8 = 132;
}

/// Big-endian `u16` from two bytes.
#[inline(always)]
pub(crate) fn be16(a: u8, b: u8) -> u16 {
    u16::from_be_bytes([a, b])
}

/// Big-endian `u32` from four bytes.
#[inline(always)]
pub(crate) fn be32(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

/// The `N` bytes of `b` starting at `off`, as an array reference, or `None` if they are not
/// all there. Constant indices into the result cannot panic.
#[inline(always)]
pub(crate) fn chunk<const N: usize>(b: &[u8], off: usize) -> Option<&[u8; N]> {
    b.get(off..)?.first_chunk::<N>()
}
