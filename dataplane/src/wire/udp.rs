//! UDP datagrams (RFC 768).

use super::{Error, Result};

/// A read/write view of a UDP datagram.
///
/// After [`check_len`](Self::check_len) the datagram's own length field is at least 8 and
/// within the buffer, so [`payload`](Self::payload) is exactly the UDP payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Length of the header.
    pub const HEADER_LEN: usize = 8;

    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
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
    /// [`Error::Truncated`] if the buffer is shorter than 8 bytes or than the length field;
    /// [`Error::Malformed`] if the length field is below 8.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < Self::HEADER_LEN {
            return Err(Error::Truncated);
        }
        let l = usize::from(self.len());
        if l < Self::HEADER_LEN {
            Err(Error::Malformed)
        } else if b.len() < l {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    fn word(&self, i: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[i], b[i + 1]])
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        self.word(0)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        self.word(2)
    }

    /// Length field (header plus payload).
    #[inline]
    pub fn len(&self) -> u16 {
        self.word(4)
    }

    /// Whether the payload is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() <= 8
    }

    /// The checksum as stored (0: none, over IPv4).
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.word(6)
    }

    /// The payload (up to the length field).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..usize::from(self.len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    #[inline]
    fn set_word(&mut self, i: usize, v: u16) {
        self.buffer.as_mut()[i..i + 2].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, p: u16) {
        self.set_word(0, p);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, p: u16) {
        self.set_word(2, p);
    }

    /// Sets the length field.
    #[inline]
    pub fn set_len(&mut self, l: u16) {
        self.set_word(4, l);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, c: u16) {
        self.set_word(6, c);
    }

    /// The payload, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let l = usize::from(self.len());
        &mut self.buffer.as_mut()[Self::HEADER_LEN..l]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_view() {
        let mut b = [
            0xcf, 0x08, 0x00, 0x35, // 53000 -> 53
            0x00, 0x0a, 0x12, 0x34, // length 10, checksum 0x1234
            0xab, 0xcd, // payload
            0x00, 0x00, // trailing bytes beyond the UDP length
        ];
        let u = UdpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            (u.src_port(), u.dst_port(), u.len(), u.checksum()),
            (53000, 53, 10, 0x1234)
        );
        assert_eq!(u.payload(), &[0xab, 0xcd]);
        assert!(!u.is_empty());
        assert_eq!(UdpPacket::new_checked(&b[..9]), Err(Error::Truncated));
        let mut u = UdpPacket::new_unchecked(&mut b[..]);
        u.set_len(7);
        assert_eq!(u.check_len(), Err(Error::Malformed));
        u.set_len(8);
        u.set_src_port(1);
        u.set_dst_port(2);
        u.set_checksum(3);
        assert!(u.payload_mut().is_empty());
        assert_eq!(b[..8], [0, 1, 0, 2, 0, 8, 0, 3]);
    }
}
