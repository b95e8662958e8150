//! SCTP common header (RFC 9260).

use super::{Error, Result};

/// A read/write view of an SCTP packet: the 12-byte common header, then chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SctpPacket<T> {
    /// Length of the common header.
    pub const HEADER_LEN: usize = 12;

    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        SctpPacket { buffer }
    }

    /// Wraps a buffer and checks it.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than 12 bytes.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that no accessor will panic.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than 12 bytes.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::HEADER_LEN {
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

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }

    /// Verification tag.
    #[inline]
    pub fn verification_tag(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[4], b[5], b[6], b[7]])
    }

    /// The CRC32c checksum as stored (not verified here).
    #[inline]
    pub fn checksum(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[8], b[9], b[10], b[11]])
    }

    /// The chunks after the common header.
    #[inline]
    pub fn chunks(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SctpPacket<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, p: u16) {
        self.buffer.as_mut()[0..2].copy_from_slice(&p.to_be_bytes());
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, p: u16) {
        self.buffer.as_mut()[2..4].copy_from_slice(&p.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sctp_view() {
        let mut b = [
            0x13, 0x88, 0x96, 0x0c, // 5000 -> 38412
            0x00, 0x00, 0x00, 0x00, // verification tag 0 (INIT)
            0xde, 0xad, 0xbe, 0xef, // CRC32c
            0x01, 0x00, 0x00, 0x04, // a chunk header
        ];
        let s = SctpPacket::new_checked(&b[..]).unwrap();
        assert_eq!((s.src_port(), s.dst_port()), (5000, 38412));
        assert_eq!((s.verification_tag(), s.checksum()), (0, 0xdead_beef));
        assert_eq!(s.chunks().len(), 4);
        assert_eq!(SctpPacket::new_checked(&b[..11]), Err(Error::Truncated));
        let mut s = SctpPacket::new_unchecked(&mut b[..]);
        s.set_src_port(1);
        s.set_dst_port(2);
        assert_eq!(b[..4], [0, 1, 0, 2]);
    }
}
