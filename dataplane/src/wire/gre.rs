//! GRE (RFC 2784 / 2890, and the enhanced GRE of PPTP, RFC 2637).

use super::{Error, Result};

/// Checksum present.
pub const FLAG_C: u16 = 0x8000;
/// Routing present (RFC 1701; implies the checksum/offset word).
pub const FLAG_R: u16 = 0x4000;
/// Key present.
pub const FLAG_K: u16 = 0x2000;
/// Sequence number present.
pub const FLAG_S: u16 = 0x1000;
/// Acknowledgment number present (version 1 only).
pub const FLAG_A: u16 = 0x0080;

/// Header length implied by the flags/version word: 4, plus 4 for the checksum word (C or
/// R), the key (K), the sequence number (S) and, in version 1, the acknowledgment (A).
/// Routing SREs (RFC 1701, obsolete) are not counted.
#[inline]
#[must_use]
pub const fn header_len(flags_version: u16) -> usize {
    let mut hl = 4;
    if flags_version & (FLAG_C | FLAG_R) != 0 {
        hl += 4;
    }
    if flags_version & FLAG_K != 0 {
        hl += 4;
    }
    if flags_version & FLAG_S != 0 {
        hl += 4;
    }
    if flags_version & 7 == 1 && flags_version & FLAG_A != 0 {
        hl += 4;
    }
    hl
}

/// A read-only view of a GRE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GrePacket<T> {
    /// Length of the fixed part (flags/version and protocol type).
    pub const MIN_HEADER_LEN: usize = 4;

    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        GrePacket { buffer }
    }

    /// Wraps a buffer and checks it.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than the header its flags imply.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that no accessor will panic.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than the header its flags imply.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < Self::MIN_HEADER_LEN || len < self.header_len() {
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

    /// The flags and version word.
    #[inline]
    pub fn flags_version(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[0], b[1]])
    }

    /// GRE version (0: RFC 2784; 1: PPTP enhanced GRE).
    #[inline]
    pub fn version(&self) -> u8 {
        (self.flags_version() & 7) as u8
    }

    /// The EtherType of the payload.
    #[inline]
    pub fn protocol_type(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }

    /// Header length in bytes (see [`header_len`]).
    #[inline]
    pub fn header_len(&self) -> usize {
        header_len(self.flags_version())
    }

    #[inline]
    fn dword(&self, i: usize) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    #[inline]
    fn key_at(&self) -> usize {
        if self.flags_version() & (FLAG_C | FLAG_R) != 0 {
            8
        } else {
            4
        }
    }

    /// The key, if present (in version 1: payload length in the high half, call id low).
    #[inline]
    pub fn key(&self) -> Option<u32> {
        (self.flags_version() & FLAG_K != 0).then(|| self.dword(self.key_at()))
    }

    /// The sequence number, if present.
    #[inline]
    pub fn seq_number(&self) -> Option<u32> {
        let f = self.flags_version();
        if f & FLAG_S == 0 {
            return None;
        }
        let at = self.key_at() + if f & FLAG_K != 0 { 4 } else { 0 };
        Some(self.dword(at))
    }

    /// The payload after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_view() {
        let b = [
            0xb0, 0x00, 0x08, 0x00, // C, K, S; version 0; protocol IPv4
            0x12, 0x34, 0x00, 0x00, // checksum, reserved
            0x00, 0x00, 0x00, 0x64, // key 100
            0x00, 0x00, 0x00, 0x07, // sequence 7
            0x45, // payload
        ];
        let g = GrePacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            (g.version(), g.protocol_type(), g.header_len()),
            (0, 0x0800, 16)
        );
        assert_eq!((g.key(), g.seq_number()), (Some(100), Some(7)));
        assert_eq!(g.payload(), &[0x45]);
        assert_eq!(GrePacket::new_checked(&b[..15]), Err(Error::Truncated));
        let plain = [0x00, 0x00, 0x86, 0xdd];
        let g = GrePacket::new_checked(&plain[..]).unwrap();
        assert_eq!((g.key(), g.seq_number(), g.header_len()), (None, None, 4));
        // PPTP: version 1, K and S and A: 4 + 4 + 4 + 4.
        assert_eq!(header_len(0x3081), 16);
    }
}
