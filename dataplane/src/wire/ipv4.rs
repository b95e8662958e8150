//! IPv4 packets (RFC 791).

use super::{checksum, Error, Result};

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// "Don't fragment" flag in the flags/fragment-offset word.
pub const FLAG_DF: u16 = 0x4000;
/// "More fragments" flag in the flags/fragment-offset word.
pub const FLAG_MF: u16 = 0x2000;

/// A read/write view of an IPv4 packet.
///
/// After [`check_len`](Self::check_len): the fixed header, the options (`IHL*4` bytes) and
/// the whole packet (`total_len` bytes) are inside the buffer, so [`payload`](Self::payload)
/// excludes any Ethernet padding that follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Length of the header without options.
    pub const MIN_HEADER_LEN: usize = 20;

    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer and checks it.
    ///
    /// # Errors
    /// As [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that no accessor will panic.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than 20 bytes, than the header length
    /// or than the total length; [`Error::Malformed`] if IHL is below 5 or the total length
    /// is below the header length.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < Self::MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let hl = self.header_len();
        if hl < Self::MIN_HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < hl {
            return Err(Error::Truncated);
        }
        let total = usize::from(self.total_len());
        if total < hl {
            return Err(Error::Malformed);
        }
        if len < total {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    fn word(&self, r: core::ops::Range<usize>) -> u16 {
        let d = &self.buffer.as_ref()[r];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// The version field (4 for a valid packet).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Differentiated services code point.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit congestion notification bits.
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// Total length (header plus payload) in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        self.word(field::LENGTH)
    }

    /// Identification.
    #[inline]
    pub fn ident(&self) -> u16 {
        self.word(field::IDENT)
    }

    /// The "don't fragment" flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.word(field::FLG_OFF) & FLAG_DF != 0
    }

    /// The "more fragments" flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.word(field::FLG_OFF) & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the field times 8).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.word(field::FLG_OFF) & 0x1fff) << 3
    }

    /// Whether this packet is a fragment (MF set or a non-zero offset).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.word(field::FLG_OFF) & 0x3fff != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// The header checksum as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.word(field::CHECKSUM)
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> [u8; 4] {
        let d = &self.buffer.as_ref()[field::SRC];
        [d[0], d[1], d[2], d[3]]
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> [u8; 4] {
        let d = &self.buffer.as_ref()[field::DST];
        [d[0], d[1], d[2], d[3]]
    }

    /// The options (between the fixed header and the payload).
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::MIN_HEADER_LEN..self.header_len()]
    }

    /// Whether the header checksum is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::verify_ipv4_header(&self.buffer.as_ref()[..self.header_len()])
    }

    /// The payload: from the end of the header to the total length (padding excluded).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    #[inline]
    fn set_word(&mut self, r: core::ops::Range<usize>, v: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets version 4 and the header length in bytes (a multiple of 4, 20..=60).
    #[inline]
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }

    /// Sets DSCP and ECN.
    #[inline]
    pub fn set_dscp_ecn(&mut self, dscp: u8, ecn: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = (dscp << 2) | (ecn & 3);
    }

    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, len: u16) {
        self.set_word(field::LENGTH, len);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, id: u16) {
        self.set_word(field::IDENT, id);
    }

    /// Sets the flags/fragment-offset word: DF, MF and the offset in bytes (multiple of 8).
    #[inline]
    pub fn set_flags_frag(&mut self, df: bool, mf: bool, offset_bytes: u16) {
        let mut w = (offset_bytes >> 3) & 0x1fff;
        if df {
            w |= FLAG_DF;
        }
        if mf {
            w |= FLAG_MF;
        }
        self.set_word(field::FLG_OFF, w);
    }

    /// Sets the time to live.
    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol.
    #[inline]
    pub fn set_protocol(&mut self, p: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = p;
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, c: u16) {
        self.set_word(field::CHECKSUM, c);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, a: [u8; 4]) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&a);
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, a: [u8; 4]) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&a);
    }

    /// Computes and stores the header checksum.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::internet_checksum(&self.buffer.as_ref()[..self.header_len()]);
        self.set_checksum(c);
    }

    /// The payload, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (h, t) = (self.header_len(), usize::from(self.total_len()));
        &mut self.buffer.as_mut()[h..t]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // IPv4 UDP: 10.0.0.1 -> 10.0.0.53, total 32, 4 bytes of padding after it.
    const PKT: [u8; 36] = [
        0x45, 0x00, 0x00, 0x20, // v4 IHL 5, TOS 0, total 32
        0xbe, 0xef, 0x20, 0x08, // id 0xbeef, MF, offset 8*8 = 64
        0x40, 0x11, 0x00, 0x00, // TTL 64, UDP, checksum (filled below)
        0x0a, 0x00, 0x00, 0x01, // src 10.0.0.1
        0x0a, 0x00, 0x00, 0x35, // dst 10.0.0.53
        0xcf, 0x08, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, // UDP 53000 -> 53, len 12
        0xde, 0xad, 0xbe, 0xef, // payload
        0x00, 0x00, 0x00, 0x00, // padding
    ];

    #[test]
    fn getters_setters_and_checks() {
        let mut b = PKT;
        let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 32);
        assert_eq!(p.ident(), 0xbeef);
        assert!(p.more_frags() && !p.dont_frag() && p.is_fragment());
        assert_eq!(p.frag_offset(), 64);
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), 17);
        assert_eq!(p.src_addr(), [10, 0, 0, 1]);
        assert_eq!(p.dst_addr(), [10, 0, 0, 53]);
        assert_eq!(p.payload().len(), 12);
        assert!(p.options().is_empty());
        p.set_flags_frag(true, false, 0);
        p.set_ttl(1);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum() && p.dont_frag() && !p.is_fragment());

        assert_eq!(Ipv4Packet::new_checked(&PKT[..19]), Err(Error::Truncated));
        assert_eq!(Ipv4Packet::new_checked(&PKT[..31]), Err(Error::Truncated));
        let mut bad = PKT;
        bad[0] = 0x44;
        assert_eq!(Ipv4Packet::new_checked(&bad[..]), Err(Error::Malformed));
        bad[0] = 0x4f; // 60-byte header in a 36-byte buffer
        assert_eq!(Ipv4Packet::new_checked(&bad[..]), Err(Error::Truncated));
        bad[0] = 0x46;
        bad[3] = 0x10; // total 16 < header 24
        assert_eq!(Ipv4Packet::new_checked(&bad[..]), Err(Error::Malformed));
    }
}
