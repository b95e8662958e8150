//! IPsec headers: ESP (RFC 4303) and AH (RFC 4302).

use super::{Error, Result};

/// A read-only view of an ESP packet: SPI, sequence number, then encrypted data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EspPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EspPacket<T> {
    /// Length of the clear header.
    pub const HEADER_LEN: usize = 8;

    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        EspPacket { buffer }
    }

    /// Wraps a buffer and checks it.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than 8 bytes.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that no accessor will panic.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than 8 bytes.
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

    /// Security parameters index.
    #[inline]
    pub fn spi(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Sequence number.
    #[inline]
    pub fn seq_number(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[4], b[5], b[6], b[7]])
    }

    /// The (encrypted) payload after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
}

/// A read-only view of an authentication header: next header, payload length (in 4-octet
/// units, minus 2), reserved, SPI, sequence number, ICV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AhHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AhHeader<T> {
    /// Length of the fixed part (up to and including the sequence number).
    pub const MIN_HEADER_LEN: usize = 12;

    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        AhHeader { buffer }
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
    /// [`Error::Truncated`] if the buffer is shorter than 12 bytes or than the header
    /// length; [`Error::Malformed`] if the length field declares less than 12 bytes.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < Self::MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let hl = self.header_len();
        if hl < Self::MIN_HEADER_LEN {
            Err(Error::Malformed)
        } else if len < hl {
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

    /// The protocol after this header.
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[0]
    }

    /// The raw payload length field.
    #[inline]
    pub fn payload_len_field(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    /// Length of this header in bytes: (field + 2) * 4.
    #[inline]
    pub fn header_len(&self) -> usize {
        (usize::from(self.buffer.as_ref()[1]) + 2) * 4
    }

    /// Security parameters index.
    #[inline]
    pub fn spi(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[4], b[5], b[6], b[7]])
    }

    /// Sequence number.
    #[inline]
    pub fn seq_number(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[8], b[9], b[10], b[11]])
    }

    /// The integrity check value.
    #[inline]
    pub fn icv(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::MIN_HEADER_LEN..self.header_len()]
    }

    /// Everything after this header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esp_and_ah_views() {
        let esp = [0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x01, 0xaa];
        let e = EspPacket::new_checked(&esp[..]).unwrap();
        assert_eq!(
            (e.spi(), e.seq_number(), e.payload()),
            (0x1234_5678, 1, &[0xaa][..])
        );
        assert_eq!(EspPacket::new_checked(&esp[..7]), Err(Error::Truncated));

        let ah = [
            0x06, 0x04, 0x00, 0x00, // next TCP, length 4 -> 24 bytes
            0x00, 0x00, 0x10, 0x01, // SPI 0x1001
            0x00, 0x00, 0x00, 0x02, // sequence 2
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, // ICV
            0xcc,
        ];
        let a = AhHeader::new_checked(&ah[..]).unwrap();
        assert_eq!(
            (a.next_header(), a.payload_len_field(), a.header_len()),
            (6, 4, 24)
        );
        assert_eq!((a.spi(), a.seq_number(), a.icv().len()), (0x1001, 2, 12));
        assert_eq!(a.payload(), &[0xcc]);
        assert_eq!(AhHeader::new_checked(&ah[..23]), Err(Error::Truncated));
        let mut bad = ah;
        bad[1] = 0;
        assert_eq!(AhHeader::new_checked(&bad[..]), Err(Error::Malformed));
    }
}
