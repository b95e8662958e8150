//! ICMP for IPv4 (RFC 792) and ICMPv6 (RFC 4443): both share the 8-byte layout of type,
//! code, checksum and 4 bytes of "rest of header".

use super::{Error, Result};

/// ICMPv4 echo reply.
pub const V4_ECHO_REPLY: u8 = 0;
/// ICMPv4 destination unreachable.
pub const V4_DEST_UNREACHABLE: u8 = 3;
/// ICMPv4 source quench (deprecated; still an error message).
pub const V4_SOURCE_QUENCH: u8 = 4;
/// ICMPv4 redirect.
pub const V4_REDIRECT: u8 = 5;
/// ICMPv4 echo request.
pub const V4_ECHO_REQUEST: u8 = 8;
/// ICMPv4 time exceeded.
pub const V4_TIME_EXCEEDED: u8 = 11;
/// ICMPv4 parameter problem.
pub const V4_PARAM_PROBLEM: u8 = 12;
/// ICMPv4 destination unreachable code: communication administratively prohibited.
pub const V4_CODE_ADMIN_PROHIBITED: u8 = 13;

/// ICMPv6 destination unreachable.
pub const V6_DEST_UNREACHABLE: u8 = 1;
/// ICMPv6 packet too big.
pub const V6_PACKET_TOO_BIG: u8 = 2;
/// ICMPv6 time exceeded.
pub const V6_TIME_EXCEEDED: u8 = 3;
/// ICMPv6 parameter problem.
pub const V6_PARAM_PROBLEM: u8 = 4;
/// ICMPv6 echo request.
pub const V6_ECHO_REQUEST: u8 = 128;
/// ICMPv6 echo reply.
pub const V6_ECHO_REPLY: u8 = 129;
/// ICMPv6 destination unreachable code: communication administratively prohibited.
pub const V6_CODE_ADMIN_PROHIBITED: u8 = 1;

/// Whether an ICMPv4 type is an error message quoting the offending datagram
/// (destination unreachable, source quench, redirect, time exceeded, parameter problem).
#[inline]
#[must_use]
pub const fn is_error_v4(msg_type: u8) -> bool {
    matches!(msg_type, 3 | 4 | 5 | 11 | 12)
}

/// Whether an ICMPv6 type is an error message (types 1-4; RFC 4443 reserves 0-127 for
/// errors, the parser treats the four defined ones as such).
#[inline]
#[must_use]
pub const fn is_error_v6(msg_type: u8) -> bool {
    matches!(msg_type, 1..=4)
}

/// Whether an ICMPv4 type is echo request or reply.
#[inline]
#[must_use]
pub const fn is_echo_v4(msg_type: u8) -> bool {
    matches!(msg_type, V4_ECHO_REPLY | V4_ECHO_REQUEST)
}

/// Whether an ICMPv6 type is echo request or reply.
#[inline]
#[must_use]
pub const fn is_echo_v6(msg_type: u8) -> bool {
    matches!(msg_type, V6_ECHO_REQUEST | V6_ECHO_REPLY)
}

/// A read/write view of an ICMP or ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> IcmpPacket<T> {
    /// Length of the header (type, code, checksum, rest of header).
    pub const HEADER_LEN: usize = 8;

    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        IcmpPacket { buffer }
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

    #[inline]
    fn word(&self, i: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[i], b[i + 1]])
    }

    /// Message type.
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[0]
    }

    /// Message code.
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    /// The checksum as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.word(2)
    }

    /// Echo identifier (bytes 4-5; meaningful for echo messages).
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        self.word(4)
    }

    /// Echo sequence number (bytes 6-7).
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        self.word(6)
    }

    /// The four "rest of header" bytes (unused, MTU, pointer… depending on the type).
    #[inline]
    pub fn rest_of_header(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[4], b[5], b[6], b[7]])
    }

    /// The data after the 8-byte header (for an error: the quoted packet).
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> IcmpPacket<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, t: u8) {
        self.buffer.as_mut()[0] = t;
    }

    /// Sets the message code.
    #[inline]
    pub fn set_msg_code(&mut self, c: u8) {
        self.buffer.as_mut()[1] = c;
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, c: u16) {
        self.buffer.as_mut()[2..4].copy_from_slice(&c.to_be_bytes());
    }

    /// Sets the "rest of header" bytes.
    #[inline]
    pub fn set_rest_of_header(&mut self, r: u32) {
        self.buffer.as_mut()[4..8].copy_from_slice(&r.to_be_bytes());
    }

    /// The data, mutable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[Self::HEADER_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_view() {
        let mut b = [
            0x08, 0x00, 0x00, 0x00, // echo request, code 0, checksum (filled below)
            0x12, 0x34, 0x00, 0x01, // id 0x1234, seq 1
            b'p', b'i', b'n', b'g',
        ];
        let c = crate::wire::checksum::internet_checksum(&b);
        let mut m = IcmpPacket::new_unchecked(&mut b[..]);
        m.set_checksum(c);
        let m = IcmpPacket::new_checked(&b[..]).unwrap();
        assert!(crate::wire::checksum::verify_icmpv4(&b));
        assert_eq!((m.msg_type(), m.msg_code(), m.checksum()), (8, 0, c));
        assert_eq!((m.echo_ident(), m.echo_seq_no()), (0x1234, 1));
        assert_eq!(m.rest_of_header(), 0x1234_0001);
        assert_eq!(m.data(), b"ping");
        assert_eq!(IcmpPacket::new_checked(&b[..7]), Err(Error::Truncated));
        assert!(is_echo_v4(8) && is_echo_v4(0) && !is_echo_v4(3));
        assert!(is_error_v4(3) && is_error_v4(11) && !is_error_v4(8));
        assert!(is_error_v6(1) && is_error_v6(4) && !is_error_v6(128) && !is_error_v6(0));
        assert!(is_echo_v6(128) && is_echo_v6(129));
        let mut m = IcmpPacket::new_unchecked(&mut b[..]);
        m.set_msg_type(3);
        m.set_msg_code(13);
        m.set_rest_of_header(0);
        assert_eq!(m.data_mut().len(), 4);
        assert_eq!(b[..8], [3, 13, (c >> 8) as u8, c as u8, 0, 0, 0, 0]);
    }
}
