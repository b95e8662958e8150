//! TCP segments (RFC 9293).

use super::{Error, Result};

/// FIN flag.
pub const FIN: u8 = 0x01;
/// SYN flag.
pub const SYN: u8 = 0x02;
/// RST flag.
pub const RST: u8 = 0x04;
/// PSH flag.
pub const PSH: u8 = 0x08;
/// ACK flag.
pub const ACK: u8 = 0x10;
/// URG flag.
pub const URG: u8 = 0x20;
/// ECE flag.
pub const ECE: u8 = 0x40;
/// CWR flag.
pub const CWR: u8 = 0x80;

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WIN_SIZE: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// A read/write view of a TCP segment (header, options, payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Length of the header without options.
    pub const MIN_HEADER_LEN: usize = 20;

    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
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
    /// [`Error::Truncated`] if the buffer is shorter than 20 bytes or than the data offset;
    /// [`Error::Malformed`] if the data offset is below 5.
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

    #[inline]
    fn word(&self, r: core::ops::Range<usize>) -> u16 {
        let d = &self.buffer.as_ref()[r];
        u16::from_be_bytes([d[0], d[1]])
    }

    #[inline]
    fn dword(&self, r: core::ops::Range<usize>) -> u32 {
        let d = &self.buffer.as_ref()[r];
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        self.word(field::SRC_PORT)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        self.word(field::DST_PORT)
    }

    /// Sequence number.
    #[inline]
    pub fn seq_number(&self) -> u32 {
        self.dword(field::SEQ_NUM)
    }

    /// Acknowledgment number.
    #[inline]
    pub fn ack_number(&self) -> u32 {
        self.dword(field::ACK_NUM)
    }

    /// Header length in bytes (data offset * 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }

    /// The flags byte (see [`FIN`], [`SYN`], …).
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// Window size (unscaled).
    #[inline]
    pub fn window_len(&self) -> u16 {
        self.word(field::WIN_SIZE)
    }

    /// The checksum as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.word(field::CHECKSUM)
    }

    /// Urgent pointer.
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        self.word(field::URGENT)
    }

    /// The options (skipped by the parser; here for whoever needs them).
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::MIN_HEADER_LEN..self.header_len()]
    }

    /// The payload (everything after the header).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

/// What the session engine reads of a segment's options: the window scale and SACK
/// permission a SYN offers (RFC 7323 section 2, RFC 2018), and the highest right edge of the
/// SACK blocks a segment carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpOptions {
    /// Window scale shift (clamped to 14, as RFC 7323 requires of receivers).
    pub wscale: Option<u8>,
    /// SACK-permitted.
    pub sack_permitted: bool,
    /// The highest right edge of the SACK blocks (sequence-space maximum).
    pub sack_right: Option<u32>,
}

/// Reads the options area of a TCP header (the bytes after its fixed 20). Malformed
/// options (a length below 2 or past the end) end the walk: what was read before stays.
#[must_use]
pub fn read_options(opts: &[u8]) -> TcpOptions {
    let mut o = TcpOptions::default();
    let mut i = 0usize;
    while let Some(&kind) = opts.get(i) {
        match kind {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = opts.get(i + 1) else { break };
        let len = usize::from(len);
        let Some(body) = opts.get(i + 2..i + len.max(2)) else {
            break;
        };
        if len < 2 {
            break;
        }
        match (kind, body.len()) {
            (3, 1) => o.wscale = Some(body[0].min(14)),
            (4, 0) => o.sack_permitted = true,
            (5, n) if n >= 8 && n % 8 == 0 => {
                for b in body.chunks_exact(8) {
                    let right = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                    o.sack_right = Some(match o.sack_right {
                        Some(r) if r.wrapping_sub(right) < 0x8000_0000 => r,
                        _ => right,
                    });
                }
            }
            _ => {}
        }
        i += len;
    }
    o
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    #[inline]
    fn set_word(&mut self, r: core::ops::Range<usize>, v: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }

    #[inline]
    fn set_dword(&mut self, r: core::ops::Range<usize>, v: u32) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, p: u16) {
        self.set_word(field::SRC_PORT, p);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, p: u16) {
        self.set_word(field::DST_PORT, p);
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, s: u32) {
        self.set_dword(field::SEQ_NUM, s);
    }

    /// Sets the acknowledgment number.
    #[inline]
    pub fn set_ack_number(&mut self, a: u32) {
        self.set_dword(field::ACK_NUM, a);
    }

    /// Sets the header length in bytes (a multiple of 4, 20..=60); clears the reserved bits.
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        self.buffer.as_mut()[field::DATA_OFF] = ((len / 4) as u8 & 0x0f) << 4;
    }

    /// Sets the flags byte.
    #[inline]
    pub fn set_flags(&mut self, f: u8) {
        self.buffer.as_mut()[field::FLAGS] = f;
    }

    /// Sets the window size.
    #[inline]
    pub fn set_window_len(&mut self, w: u16) {
        self.set_word(field::WIN_SIZE, w);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, c: u16) {
        self.set_word(field::CHECKSUM, c);
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_at(&mut self, u: u16) {
        self.set_word(field::URGENT, u);
    }

    /// The payload, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let h = self.header_len();
        &mut self.buffer.as_mut()[h..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_view() {
        let mut b = [
            0xc8, 0x22, 0x00, 0x50, // 51234 -> 80
            0x0a, 0x1b, 0x2c, 0x3d, // seq
            0x00, 0x00, 0x00, 0x00, // ack
            0x60, 0x02, 0xfa, 0xf0, // data offset 6 (24 bytes), SYN, window 64240
            0x00, 0x00, 0x00, 0x00, // checksum, urgent
            0x02, 0x04, 0x05, 0xb4, // MSS 1460
            b'x', // payload
        ];
        let t = TcpPacket::new_checked(&b[..]).unwrap();
        assert_eq!((t.src_port(), t.dst_port()), (51234, 80));
        assert_eq!(t.seq_number(), 0x0a1b_2c3d);
        assert_eq!(t.header_len(), 24);
        assert_eq!(t.flags(), SYN);
        assert_eq!(t.window_len(), 64240);
        assert_eq!(t.options(), &[2, 4, 5, 0xb4]);
        assert_eq!(t.payload(), b"x");
        assert_eq!(TcpPacket::new_checked(&b[..23]), Err(Error::Truncated));
        let mut t = TcpPacket::new_unchecked(&mut b[..]);
        t.set_header_len(16);
        assert_eq!(t.check_len(), Err(Error::Malformed));
        t.set_header_len(20);
        t.set_flags(RST | ACK);
        t.set_ack_number(7);
        assert_eq!(t.payload_mut().len(), 5);
        assert_eq!(b[8..14], [0, 0, 0, 7, 0x50, 0x14]);
    }
}

#[cfg(test)]
mod option_tests {
    use super::*;

    #[test]
    fn options_of_a_linux_syn_and_of_a_sack_segment() {
        // MSS 1460, SACK permitted, timestamps, NOP, window scale 7 (Linux's SYN).
        let syn = [
            2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let o = read_options(&syn);
        assert_eq!(
            (o.wscale, o.sack_permitted, o.sack_right),
            (Some(7), true, None)
        );
        // NOP NOP timestamps, NOP NOP SACK with two blocks; the right edges wrap.
        let mut ack = vec![1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1, 1, 1, 5, 18];
        for (l, r) in [(0xffff_ff00u32, 0xffff_fff0u32), (0x10, 0x20)] {
            ack.extend_from_slice(&l.to_be_bytes());
            ack.extend_from_slice(&r.to_be_bytes());
        }
        let o = read_options(&ack);
        assert_eq!(
            (o.wscale, o.sack_permitted, o.sack_right),
            (None, false, Some(0x20))
        );
        // A shift above 14 is read as 14; a bad length ends the walk, keeping what came
        // before.
        assert_eq!(read_options(&[3, 3, 20]).wscale, Some(14));
        assert_eq!(read_options(&[3, 3, 2, 4, 0]).wscale, Some(2));
        assert!(read_options(&[4, 2, 3, 9, 1]).sack_permitted);
        assert_eq!(read_options(&[5, 9, 0, 0, 0, 0, 0, 0, 0]).sack_right, None);
    }

    proptest::proptest! {
        #[test]
        fn any_option_bytes_read_without_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..60)) {
            let o = read_options(&b);
            proptest::prop_assert!(o.wscale.is_none_or(|w| w <= 14));
        }
    }
}
