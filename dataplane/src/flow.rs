//! Flow keys: the canonical 5-tuple that finds a session from either direction, its hash,
//! and the symmetric Toeplitz hash that RSS uses to spread flows over workers.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Address family of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Family {
    /// IPv4: the address occupies the first 4 bytes of each 16-byte slot.
    #[default]
    V4 = 4,
    /// IPv6.
    V6 = 6,
}

/// One endpoint of a flow: address and port (for ICMP echo, the identifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The address.
    pub addr: IpAddr,
    /// The port (0 where the protocol has none).
    pub port: u16,
}

impl core::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.addr, self.port)
    }
}

/// The canonical key of a session. Endpoint `a` is the lower of the two endpoints, compared
/// as (address bytes, port), so both directions of a flow produce the same key; a packet's
/// [`Direction`] relative to the key says which endpoint sent it.
///
/// 40 bytes, `repr(C)`, no padding left uninitialised: compared and hashed as five `u64`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(C, align(8))]
pub struct FlowKey {
    /// Address of the lower endpoint (IPv4 in the first 4 bytes, rest zero).
    pub addr_a: [u8; 16],
    /// Address of the higher endpoint.
    pub addr_b: [u8; 16],
    /// Port of the lower endpoint.
    pub port_a: u16,
    /// Port of the higher endpoint.
    pub port_b: u16,
    /// IP protocol number.
    pub proto: u8,
    /// 4 or 6.
    pub family: u8,
    /// The 802.1Q VLAN ID the session's frames carry (0: untagged): the same addresses on
    /// two VLANs are two sessions. (It also keeps the key free of padding.)
    pub vlan: u16,
}

const _: () = assert!(core::mem::size_of::<FlowKey>() == 40);

/// Which endpoint of a canonical key sent a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Direction {
    /// Sent by endpoint `a` (the lower).
    AtoB = 0,
    /// Sent by endpoint `b`.
    BtoA = 1,
}

impl Direction {
    /// The other direction.
    #[inline]
    #[must_use]
    pub fn reverse(self) -> Self {
        match self {
            Direction::AtoB => Direction::BtoA,
            Direction::BtoA => Direction::AtoB,
        }
    }
    /// 0 or 1, for indexing per-direction arrays.
    #[inline]
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

impl FlowKey {
    /// The canonical key of a packet from `src` to `dst`, and the packet's direction in it.
    /// Addresses are 16-byte slots (IPv4 in the first 4 bytes).
    #[inline]
    #[must_use]
    pub fn from_packet(
        family: Family,
        proto: u8,
        src: [u8; 16],
        sport: u16,
        dst: [u8; 16],
        dport: u16,
    ) -> (FlowKey, Direction) {
        // Byte-wise order of (address, port), as two 128-bit compares.
        let (s, d) = (u128::from_be_bytes(src), u128::from_be_bytes(dst));
        let src_first = s < d || (s == d && sport <= dport);
        let (a, pa, b, pb, dir) = if src_first {
            (src, sport, dst, dport, Direction::AtoB)
        } else {
            (dst, dport, src, sport, Direction::BtoA)
        };
        (
            FlowKey {
                addr_a: a,
                addr_b: b,
                port_a: pa,
                port_b: pb,
                proto,
                family: family as u8,
                vlan: 0,
            },
            dir,
        )
    }

    /// The key for a flow given as two socket endpoints (for tests, filters and tools).
    #[must_use]
    pub fn from_endpoints(proto: u8, src: Endpoint, dst: Endpoint) -> (FlowKey, Direction) {
        let fam = match src.addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        };
        Self::from_packet(
            fam,
            proto,
            addr_slot(src.addr),
            src.port,
            addr_slot(dst.addr),
            dst.port,
        )
    }

    /// Address family.
    #[inline]
    #[must_use]
    pub fn family(&self) -> Family {
        if self.family == 6 {
            Family::V6
        } else {
            Family::V4
        }
    }

    /// The sender endpoint of a packet travelling in `dir`.
    #[must_use]
    pub fn src(&self, dir: Direction) -> Endpoint {
        match dir {
            Direction::AtoB => Endpoint {
                addr: self.ip(&self.addr_a),
                port: self.port_a,
            },
            Direction::BtoA => Endpoint {
                addr: self.ip(&self.addr_b),
                port: self.port_b,
            },
        }
    }

    /// The receiver endpoint of a packet travelling in `dir`.
    #[must_use]
    pub fn dst(&self, dir: Direction) -> Endpoint {
        self.src(dir.reverse())
    }

    fn ip(&self, slot: &[u8; 16]) -> IpAddr {
        match self.family() {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(slot[0], slot[1], slot[2], slot[3])),
            Family::V6 => IpAddr::V6(Ipv6Addr::from(*slot)),
        }
    }

    /// The key as five little-endian words (what the hash and the comparison read).
    #[inline]
    #[must_use]
    pub fn words(&self) -> [u64; 5] {
        let mut w = [0u64; 5];
        let mut i = 0;
        while i < 2 {
            w[i] = u64::from_le_bytes(self.addr_a[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
            w[i + 2] =
                u64::from_le_bytes(self.addr_b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
            i += 1;
        }
        // Bytes 32-39 as one little-endian word: the ports, protocol, family and VLAN at
        // bits 0, 16, 32, 40 and 48, in one load on a little-endian host.
        let (pa, pb) = (self.port_a.to_le_bytes(), self.port_b.to_le_bytes());
        let vl = self.vlan.to_le_bytes();
        w[4] = u64::from_le_bytes([
            pa[0],
            pa[1],
            pb[0],
            pb[1],
            self.proto,
            self.family,
            vl[0],
            vl[1],
        ]);
        w
    }

    /// A fast 64-bit hash of the key: the five words folded into three, then two
    /// dependent 64×64→128-bit multiplies whose halves are xored ("mum", as wyhash mixes).
    /// Not keyed: not a defence against chosen-flow flooding beyond what the table's
    /// bounded probing gives.
    #[inline]
    #[must_use]
    pub fn hash(&self) -> u64 {
        let w = self.words();
        hash_folded(
            w[0] ^ w[1].rotate_left(29),
            w[2] ^ w[3].rotate_left(29),
            w[4],
        )
    }
}

/// The mix of [`FlowKey::hash`], from the key's five words folded into three.
#[inline(always)]
fn hash_folded(x: u64, y: u64, z: u64) -> u64 {
    const S0: u64 = 0xa076_1d64_78bd_642f;
    const S1: u64 = 0xe703_7ed1_a0b4_28db;
    const S2: u64 = 0x8ebc_6af0_9c88_c6e3;
    #[inline(always)]
    fn mum(a: u64, b: u64) -> u64 {
        let r = u128::from(a) * u128::from(b);
        (r as u64) ^ ((r >> 64) as u64)
    }
    mum(mum(x ^ S0, y ^ S1) ^ z, S2)
}

/// An IPv4 [`FlowKey`] as the three of its [`words`](FlowKey::words) that can be other
/// than zero (0: `addr_a`, 2: `addr_b`, 4: ports, protocol and family): what the worker's
/// hot path builds, stores and compares for a plain IPv4 UDP/TCP frame instead of the
/// 40-byte key. Words 1 and 3 of an IPv4 key are zero, and word 4 carries the family, so
/// these three words equal to a session key's words 0, 2 and 4 mean the whole keys are
/// equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct V4Words(pub [u64; 3]);

impl V4Words {
    /// The words of the key [`FlowKey::from_packet`] makes of an IPv4 packet (addresses
    /// given as numbers, host order), and its direction, without building the key:
    /// `(address, port)` as one number orders like the slots' byte-wise order.
    #[inline(always)]
    #[must_use]
    pub fn of(proto: u8, src: u32, sport: u16, dst: u32, dport: u16) -> (V4Words, Direction) {
        let (s, d) = (
            (u64::from(src) << 16) | u64::from(sport),
            (u64::from(dst) << 16) | u64::from(dport),
        );
        let (a, pa, b, pb, dir) = if s <= d {
            (src, sport, dst, dport, Direction::AtoB)
        } else {
            (dst, dport, src, sport, Direction::BtoA)
        };
        // An address slot holds the address big-endian in its first 4 bytes and the
        // words read it little-endian: the word is the number byte-swapped.
        let w4 = u64::from(pa)
            | (u64::from(pb) << 16)
            | (u64::from(proto) << 32)
            | ((Family::V4 as u64) << 40);
        (
            V4Words([u64::from(a.swap_bytes()), u64::from(b.swap_bytes()), w4]),
            dir,
        )
    }

    /// [`FlowKey::hash`] of the key these words stand for.
    #[inline(always)]
    #[must_use]
    pub fn hash(&self) -> u64 {
        hash_folded(self.0[0], self.0[1], self.0[2])
    }

    /// Whether `key` is the key these words stand for. `key` is a key of the table: an IPv4
    /// key has zero words 1 and 3 (every constructor makes it so), so they are not read.
    #[inline(always)]
    #[must_use]
    pub fn matches(&self, key: &FlowKey) -> bool {
        let w = key.words();
        ((w[0] ^ self.0[0]) | (w[2] ^ self.0[1]) | (w[4] ^ self.0[2])) == 0
    }

    /// The whole key (for the rare paths: a miss, a new session).
    #[must_use]
    pub fn key(&self) -> FlowKey {
        let slot = |w: u64| {
            let mut s = [0u8; 16];
            s[..8].copy_from_slice(&w.to_le_bytes());
            s
        };
        let z = self.0[2];
        FlowKey {
            addr_a: slot(self.0[0]),
            addr_b: slot(self.0[1]),
            port_a: z as u16,
            port_b: (z >> 16) as u16,
            proto: (z >> 32) as u8,
            family: (z >> 40) as u8,
            vlan: 0,
        }
    }
}

/// The 16-byte slot of an address (IPv4 in the first 4 bytes).
#[must_use]
pub fn addr_slot(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => {
            let mut s = [0u8; 16];
            s[..4].copy_from_slice(&v4.octets());
            s
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The symmetric Toeplitz key (0x6d5a repeated) that makes RSS put both directions of a flow
/// on the same queue. 40 bytes, the length NICs take.
pub const SYMMETRIC_RSS_KEY: [u8; 40] = {
    let mut k = [0u8; 40];
    let mut i = 0;
    while i < 40 {
        k[i] = if i % 2 == 0 { 0x6d } else { 0x5a };
        i += 1;
    }
    k
};

/// Toeplitz hash of `input` under `key`, as a NIC computes RSS.
#[must_use]
pub fn toeplitz(key: &[u8; 40], input: &[u8]) -> u32 {
    let mut result: u32 = 0;
    // The 32-bit window of the key starting at bit 0.
    let mut window: u32 = u32::from_be_bytes([key[0], key[1], key[2], key[3]]);
    for (next_key_byte, &byte) in (4usize..).zip(input) {
        for bit in (0..8).rev() {
            if byte & (1 << bit) != 0 {
                result ^= window;
            }
            let incoming = if next_key_byte < key.len() {
                (key[next_key_byte] >> bit) & 1
            } else {
                0
            };
            window = (window << 1) | u32::from(incoming);
        }
    }
    result
}

/// The RSS hash a NIC with the symmetric key computes for a packet (IPv4/IPv6 with ports for
/// TCP, UDP and SCTP; addresses only otherwise), and the queue it picks among `queues`
/// (hash modulo queue count, as a 1:1 redirection table does).
#[must_use]
pub fn rss_queue(key: &FlowKey, dir: Direction, queues: u16) -> u16 {
    if queues <= 1 {
        return 0;
    }
    let s = key.src(dir);
    let d = key.dst(dir);
    let mut buf = [0u8; 36];
    let mut n = 0;
    for a in [s.addr, d.addr] {
        match a {
            IpAddr::V4(v4) => {
                buf[n..n + 4].copy_from_slice(&v4.octets());
                n += 4;
            }
            IpAddr::V6(v6) => {
                buf[n..n + 16].copy_from_slice(&v6.octets());
                n += 16;
            }
        }
    }
    if matches!(key.proto, 6 | 17 | 132) {
        buf[n..n + 2].copy_from_slice(&s.port.to_be_bytes());
        buf[n + 2..n + 4].copy_from_slice(&d.port.to_be_bytes());
        n += 4;
    }
    let h = toeplitz(&SYMMETRIC_RSS_KEY, &buf[..n]);
    (h % u32::from(queues)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        let (a, p) = s.rsplit_once(':').unwrap();
        Endpoint {
            addr: a.parse().unwrap(),
            port: p.parse().unwrap(),
        }
    }

    proptest::proptest! {
        /// The hot path's three words stand for the key `from_packet` makes of the same
        /// IPv4 packet: the same direction, the same hash, `matches` that key and no other
        /// IPv4 key nor any IPv6 key (one with the same first bytes included), and expand
        /// back to it.
        #[test]
        fn v4_words_are_the_v4_key(
            proto: u8, src: u32, sport: u16, dport: u16, same_addr: bool, dst: u32,
            field: u8, flip: u8,
        ) {
            let dst = if same_addr { src } else { dst };
            let slot = |x: u32| addr_slot(IpAddr::V4(Ipv4Addr::from(x)));
            let (k, d) =
                FlowKey::from_packet(Family::V4, proto, slot(src), sport, slot(dst), dport);
            let (w, dw) = V4Words::of(proto, src, sport, dst, dport);
            proptest::prop_assert_eq!(d, dw);
            proptest::prop_assert_eq!(w.key(), k);
            proptest::prop_assert_eq!(w.hash(), k.hash());
            proptest::prop_assert!(w.matches(&k));
            let mut other = k;
            let bit = flip.max(1);
            match field % 8 {
                0 => other.addr_a[usize::from(flip % 4)] ^= bit,
                1 => other.addr_b[usize::from(flip % 4)] ^= bit,
                2 => other.port_a ^= u16::from(bit),
                3 => other.port_b ^= u16::from(bit),
                4 => other.proto ^= bit,
                5 => other.family = Family::V6 as u8,
                // Bytes 8-15 of an IPv4 key are zero: only an IPv6 key has others.
                6 => {
                    other.addr_a[4 + usize::from(flip % 12)] ^= bit;
                    other.family = Family::V6 as u8;
                }
                _ => {
                    other.addr_b[4 + usize::from(flip % 12)] ^= bit;
                    other.family = Family::V6 as u8;
                }
            }
            proptest::prop_assert!(!w.matches(&other));
        }
    }

    #[test]
    fn hash_spreads_structured_keys() {
        // 2^16 flows that differ only in the low bits of the address and the port, as
        // generated traffic does: bucket index (multiply-shift of the low 32 bits over 8192
        // buckets) and 16-bit tag (top bits) must both look uniform.
        let n = 1u32 << 16;
        let mut buckets = vec![0u32; 8192];
        let mut tags = std::collections::HashSet::new();
        for i in 0..n {
            let a = Endpoint {
                addr: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i >> 4))),
                port: 1024 + (i & 15) as u16,
            };
            let b = Endpoint {
                addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                port: 53,
            };
            let (k, _) = FlowKey::from_endpoints(17, a, b);
            let h = k.hash();
            buckets[((u64::from(h as u32) * 8192) >> 32) as usize] += 1;
            tags.insert(h >> 48);
        }
        // 8 per bucket on average; a uniform hash keeps the fullest bucket well under 30.
        let max = *buckets.iter().max().unwrap();
        assert!(max < 30, "fullest bucket {max}");
        assert!(tags.len() > 40_000, "only {} distinct tags", tags.len());
    }

    #[test]
    fn both_directions_give_one_key() {
        let (k1, d1) = FlowKey::from_endpoints(6, ep("10.0.0.1:1234"), ep("10.0.0.2:80"));
        let (k2, d2) = FlowKey::from_endpoints(6, ep("10.0.0.2:80"), ep("10.0.0.1:1234"));
        assert_eq!(k1, k2);
        assert_eq!(k1.hash(), k2.hash());
        assert_ne!(d1, d2);
        assert_eq!(k1.src(d1), ep("10.0.0.1:1234"));
        assert_eq!(k1.dst(d1), ep("10.0.0.2:80"));
    }

    #[test]
    fn same_address_orders_by_port() {
        let (k, d) = FlowKey::from_endpoints(17, ep("10.0.0.1:53"), ep("10.0.0.1:40000"));
        assert_eq!(d, Direction::AtoB);
        assert_eq!(k.port_a, 53);
    }

    #[test]
    fn toeplitz_matches_the_published_vector() {
        // Microsoft's RSS verification suite, IPv4 with TCP ports, default key.
        let key: [u8; 40] = [
            0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
            0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
            0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
        ];
        // src 66.9.149.187:2794 dst 161.142.100.80:1766 -> 0x51ccc178
        let input = [66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6];
        assert_eq!(toeplitz(&key, &input), 0x51cc_c178);
    }

    #[test]
    fn symmetric_key_sends_both_directions_to_one_queue() {
        for i in 0..200u16 {
            let a = ep(&format!("10.{}.{}.1:{}", i % 7, i, 1000 + i));
            let b = ep(&format!("192.0.2.{}:{}", i % 250, 80 + i));
            let (k, d) = FlowKey::from_endpoints(17, a, b);
            assert_eq!(rss_queue(&k, d, 4), rss_queue(&k, d.reverse(), 4));
        }
    }
}
