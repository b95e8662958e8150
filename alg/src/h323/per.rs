//! A small bounded reader (and, for the fixtures, writer) of ASN.1 aligned PER (X.691), for
//! the few H.225 and H.245 structures the H.323 ALG walks. Every read is checked against
//! the end of the buffer: a short or malformed encoding gives `None`, never a panic.

/// A bit cursor over a byte buffer.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    b: &'a [u8],
    bit: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the first bit of `b`.
    #[must_use]
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, bit: 0 }
    }

    /// The byte offset of the next octet boundary at or after the cursor.
    #[must_use]
    pub fn byte_pos(&self) -> usize {
        self.bit.div_ceil(8)
    }

    /// One bit.
    pub fn bit(&mut self) -> Option<bool> {
        let byte = *self.b.get(self.bit / 8)?;
        let v = byte >> (7 - (self.bit % 8)) & 1;
        self.bit += 1;
        Some(v == 1)
    }

    /// `n` bits (at most 32) as an unsigned number.
    pub fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n.min(32) {
            v = (v << 1) | u32::from(self.bit()?);
        }
        Some(v)
    }

    /// Moves to the next octet boundary.
    pub fn align(&mut self) {
        self.bit = self.byte_pos() * 8;
    }

    /// `n` whole octets after aligning.
    pub fn octets(&mut self, n: usize) -> Option<&'a [u8]> {
        self.align();
        let at = self.bit / 8;
        let s = self.b.get(at..at.checked_add(n)?)?;
        self.bit += n * 8;
        Some(s)
    }

    /// `n` whole octets after aligning, with the byte offset of the first.
    pub fn octets_at(&mut self, n: usize) -> Option<(usize, &'a [u8])> {
        self.align();
        let at = self.bit / 8;
        self.octets(n).map(|o| (at, o))
    }

    /// A length determinant (X.691 §10.9, aligned, no fragmentation).
    pub fn length(&mut self) -> Option<usize> {
        let first = *self.octets(1)?.first()?;
        if first & 0x80 == 0 {
            return Some(usize::from(first));
        }
        if first & 0xc0 == 0x80 {
            let second = *self.octets(1)?.first()?;
            return Some(usize::from(first & 0x3f) << 8 | usize::from(second));
        }
        None
    }

    /// A constrained whole number in `0..range` (range > 1; X.691 §10.5.7, aligned).
    pub fn constrained(&mut self, range: u32) -> Option<u32> {
        match range {
            0 | 1 => Some(0),
            2..=255 => self.bits(32 - (range - 1).leading_zeros()),
            256 => Some(u32::from(*self.octets(1)?.first()?)),
            257..=65536 => {
                let o = self.octets(2)?;
                Some(u32::from(u16::from_be_bytes([*o.first()?, *o.get(1)?])))
            }
            _ => None,
        }
    }

    /// A whole number in `0..=u32::MAX` (X.691 §10.5.7.4, the range above 64K): its octet
    /// count less one in 2 bits, then that many octets, aligned.
    pub fn whole_u32(&mut self) -> Option<u32> {
        let n = usize::try_from(self.bits(2)?).ok()? + 1;
        let o = self.octets(n)?;
        Some(o.iter().fold(0, |v, &b| v << 8 | u32::from(b)))
    }

    /// A CHOICE index among `root` alternatives with an extension marker; `None` for an
    /// extension alternative (the caller skips what it does not know).
    pub fn choice(&mut self, root: u32) -> Option<Option<u32>> {
        if self.bit()? {
            return Some(None);
        }
        Some(Some(self.constrained(root)?))
    }

    /// A normally small non-negative number (X.691 §10.6), for extension bitmaps.
    pub fn small(&mut self) -> Option<u32> {
        if self.bit()? {
            let n = self.length()?;
            let o = self.octets(n.min(4))?;
            return Some(o.iter().fold(0, |v, &b| v << 8 | u32::from(b)));
        }
        self.bits(6)
    }

    /// An open type: its length-prefixed octets (the encoding of an extension addition).
    pub fn open(&mut self) -> Option<&'a [u8]> {
        let n = self.length()?;
        self.octets(n)
    }

    /// An OBJECT IDENTIFIER's contents (skipped).
    pub fn skip_oid(&mut self) -> Option<()> {
        let n = self.length()?;
        self.octets(n).map(|_| ())
    }
}

/// A bit writer, the mirror of [`Reader`] (fixtures only).
#[derive(Debug, Clone, Default)]
pub struct Writer {
    /// The bytes written so far (the last possibly partial).
    pub out: Vec<u8>,
    bit: usize,
}

impl Writer {
    /// An empty writer.
    #[must_use]
    pub fn new() -> Writer {
        Writer::default()
    }

    /// One bit.
    pub fn bit(&mut self, v: bool) {
        if self.bit.is_multiple_of(8) {
            self.out.push(0);
        }
        if v {
            if let Some(last) = self.out.last_mut() {
                *last |= 0x80 >> (self.bit % 8);
            }
        }
        self.bit += 1;
    }

    /// `n` bits of `v`.
    pub fn bits(&mut self, v: u32, n: u32) {
        for i in (0..n).rev() {
            self.bit(v >> i & 1 == 1);
        }
    }

    /// Pads to the next octet boundary.
    pub fn align(&mut self) {
        self.bit = self.out.len() * 8;
    }

    /// Whole octets after aligning.
    pub fn octets(&mut self, b: &[u8]) {
        self.align();
        self.out.extend_from_slice(b);
        self.bit = self.out.len() * 8;
    }

    /// A length determinant below 16384.
    pub fn length(&mut self, n: usize) {
        match u8::try_from(n) {
            Ok(b) if b < 0x80 => self.octets(&[b]),
            _ => {
                let n = u16::try_from(n.min(0x3fff)).unwrap_or(0) | 0x8000;
                self.octets(&n.to_be_bytes());
            }
        }
    }

    /// A constrained whole number `v` in `0..range`.
    pub fn constrained(&mut self, v: u32, range: u32) {
        match range {
            0 | 1 => {}
            2..=255 => self.bits(v, 32 - (range - 1).leading_zeros()),
            256 => self.octets(&[u8::try_from(v).unwrap_or(0)]),
            _ => self.octets(&u16::try_from(v).unwrap_or(0).to_be_bytes()),
        }
    }

    /// A whole number in `0..=u32::MAX` ([`Reader::whole_u32`]).
    pub fn whole_u32(&mut self, v: u32) {
        let n = (4 - v.leading_zeros() / 8).max(1);
        self.bits(n - 1, 2);
        let b = v.to_be_bytes();
        self.octets(&b[(4 - n as usize)..]);
    }

    /// An open type holding `inner`'s encoding.
    pub fn open(&mut self, inner: &Writer) {
        self.length(inner.out.len());
        let b = inner.out.clone();
        self.octets(&b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_bounds() {
        let mut w = Writer::new();
        w.bit(true);
        w.constrained(5, 7);
        w.constrained(200, 256);
        w.constrained(1720, 65536);
        w.length(3);
        w.octets(&[1, 2, 3]);
        w.bits(0b101, 3);
        w.whole_u32(640);
        w.whole_u32(0);
        let mut r = Reader::new(&w.out);
        assert_eq!(r.bit(), Some(true));
        assert_eq!(r.constrained(7), Some(5));
        assert_eq!(r.constrained(256), Some(200));
        assert_eq!(r.constrained(65536), Some(1720));
        assert_eq!(r.length(), Some(3));
        assert_eq!(r.octets(3), Some(&[1u8, 2, 3][..]));
        assert_eq!(r.bits(3), Some(0b101));
        assert_eq!(r.whole_u32(), Some(640));
        assert_eq!(r.whole_u32(), Some(0));
        assert_eq!(r.octets(1), None);
        let mut r = Reader::new(&[0xff]);
        assert_eq!(r.length(), None);
    }
}
