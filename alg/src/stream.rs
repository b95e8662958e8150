//! A bounded per-direction reassembly buffer for line- and message-based TCP protocols.
//!
//! [`StreamBuf`] is keyed by TCP sequence number:
//! * the first segment seen (or [`StreamBuf::sync`]) fixes the next expected sequence;
//! * in-order bytes are appended; bytes already seen (retransmissions, the overlapping
//!   head of a segment) are skipped and counted;
//! * a segment starting beyond the next expected sequence (a gap) is **not** guessed: it is
//!   counted and dropped, and the next in-order segment resumes. (The sender retransmits
//!   what the receiver never acknowledged; what was forwarded out of order is not parsed.)
//! * the consumer is handed the buffered bytes after every append and says how many it
//!   consumed (complete messages); it may consume more than is buffered to skip the rest of
//!   a long message (e.g. a DNS answer body).
//! * a buffer filled without the consumer making progress is an overflow: in
//!   [`Framing::Lines`] mode the buffer is reset and bytes are dropped up to and including
//!   the next `\n`, so parsing resumes at the next line start; in [`Framing::Messages`] mode
//!   the buffer is reset (the consumer should have asked to skip).
//!
//! Sequence comparisons are modulo 2^32 (RFC 1982 style), so streams wrap.

/// The default buffer size: a command line or a small message.
pub const STREAM_BUF: usize = 1024;

/// How an overflow is recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Text lines ending in `\n`: resume after the next `\n`.
    Lines,
    /// Length-framed messages: the consumer skips; an overflow just resets.
    Messages,
}

/// What one [`StreamBuf::feed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Feed {
    /// New in-order bytes accepted.
    pub new_bytes: usize,
    /// Bytes already seen and skipped.
    pub retransmitted: usize,
    /// The segment started beyond the next expected sequence and was dropped.
    pub out_of_order: bool,
    /// Overflows (buffer full without progress) during this feed.
    pub overflows: u32,
}

/// A bounded reassembly buffer for one direction of a TCP stream. See the module doc.
#[derive(Debug, Clone)]
pub struct StreamBuf<const N: usize = STREAM_BUF> {
    buf: [u8; N],
    len: usize,
    next: Option<u32>,
    skip: u64,
    skip_line: bool,
    framing: Framing,
}

impl<const N: usize> StreamBuf<N> {
    /// An empty buffer, not yet synchronised to a sequence number.
    #[must_use]
    pub fn new(framing: Framing) -> Self {
        StreamBuf {
            buf: [0; N],
            len: 0,
            next: None,
            skip: 0,
            skip_line: false,
            framing,
        }
    }

    /// Fixes the next expected sequence number (the ISN + 1 from the handshake), so a first
    /// segment arriving out of order is recognised as such. Drops buffered bytes.
    pub fn sync(&mut self, next_seq: u32) {
        self.next = Some(next_seq);
        self.len = 0;
        self.skip = 0;
        self.skip_line = false;
    }

    /// The next expected sequence number, once known.
    #[must_use]
    pub fn next_seq(&self) -> Option<u32> {
        self.next
    }

    /// The bytes buffered (not yet consumed).
    #[must_use]
    pub fn buffered(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The sequence number of the first buffered byte.
    #[must_use]
    pub fn base_seq(&self) -> u32 {
        // `len <= N`, far below 2^32.
        let len = u32::try_from(self.len).unwrap_or(u32::MAX);
        self.next.unwrap_or(0).wrapping_sub(len)
    }

    /// Feeds one segment (`seq` = its first byte's sequence number). After each append,
    /// `consume(buffered, base_seq)` is called until it returns 0 or the buffer is empty;
    /// it returns how many bytes it consumed (complete messages), possibly more than are
    /// buffered to skip the remainder of a message.
    pub fn feed(
        &mut self,
        seq: u32,
        payload: &[u8],
        mut consume: impl FnMut(&[u8], u32) -> usize,
    ) -> Feed {
        let mut report = Feed::default();
        let next = *self.next.get_or_insert(seq);
        // Signed distance from the expected sequence to this segment's start.
        let ahead = seq.wrapping_sub(next);
        if ahead != 0 && ahead < 0x8000_0000 {
            report.out_of_order = true;
            return report;
        }
        let behind = usize::try_from(next.wrapping_sub(seq)).unwrap_or(usize::MAX);
        if behind >= payload.len() {
            report.retransmitted = payload.len();
            return report;
        }
        report.retransmitted = behind;
        let mut data = payload.get(behind..).unwrap_or(&[]);
        report.new_bytes = data.len();
        // `next` advances as bytes are taken from `data`, so `base_seq` stays exact while
        // the consumer runs.
        let mut next = next;
        while !data.is_empty() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                data = data.get(n..).unwrap_or(&[]);
                self.skip -= n as u64;
                next = next.wrapping_add(u32::try_from(n).unwrap_or(0));
                self.next = Some(next);
                continue;
            }
            if self.skip_line {
                let n = match data.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.skip_line = false;
                        i + 1
                    }
                    None => data.len(),
                };
                data = data.get(n..).unwrap_or(&[]);
                next = next.wrapping_add(u32::try_from(n).unwrap_or(0));
                self.next = Some(next);
                continue;
            }
            let room = N - self.len;
            let n = room.min(data.len());
            if let (Some(dst), Some(src)) =
                (self.buf.get_mut(self.len..self.len + n), data.get(..n))
            {
                dst.copy_from_slice(src);
            }
            self.len += n;
            data = data.get(n..).unwrap_or(&[]);
            next = next.wrapping_add(u32::try_from(n).unwrap_or(0));
            self.next = Some(next);
            self.drain(&mut consume);
            if self.len == N {
                report.overflows += 1;
                self.len = 0;
                if self.framing == Framing::Lines {
                    self.skip_line = true;
                }
            }
        }
        report
    }

    fn drain(&mut self, consume: &mut impl FnMut(&[u8], u32) -> usize) {
        while self.len > 0 {
            let base = self.base_seq();
            let c = consume(self.buf.get(..self.len).unwrap_or(&[]), base);
            if c == 0 {
                break;
            }
            if c >= self.len {
                self.skip = self.skip.saturating_add((c - self.len) as u64);
                self.len = 0;
            } else {
                self.buf.copy_within(c..self.len, 0);
                self.len -= c;
            }
        }
    }
}

/// Consumer helper for [`Framing::Lines`]: calls `line(bytes_with_newline, seq_of_line)` for
/// every complete line in `buf` and returns the bytes consumed.
pub fn for_each_line(buf: &[u8], base_seq: u32, mut line: impl FnMut(&[u8], u32)) -> usize {
    let mut pos = 0usize;
    while let Some(i) = buf
        .get(pos..)
        .and_then(|r| r.iter().position(|&b| b == b'\n'))
    {
        let end = pos + i + 1;
        let off = u32::try_from(pos).unwrap_or(u32::MAX);
        line(buf.get(pos..end).unwrap_or(&[]), base_seq.wrapping_add(off));
        pos = end;
    }
    pos
}

#[cfg(test)]
// Fixture lengths are a few bytes: the casts build wire fields from them.
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    /// Feeds and collects the complete lines and their sequence numbers.
    fn lines<const N: usize>(
        s: &mut StreamBuf<N>,
        seq: u32,
        p: &[u8],
        out: &mut Vec<(Vec<u8>, u32)>,
    ) -> Feed {
        s.feed(seq, p, |b, base| {
            for_each_line(b, base, |l, q| out.push((l.to_vec(), q)))
        })
    }

    #[test]
    fn split_command_across_segments() {
        let mut s = StreamBuf::<64>::new(Framing::Lines);
        let mut out = Vec::new();
        lines(&mut s, 1000, b"PORT 10,0,", &mut out);
        assert!(out.is_empty());
        assert_eq!(s.buffered(), b"PORT 10,0,");
        lines(&mut s, 1010, b"0,1,4,1\r\nNO", &mut out);
        assert_eq!(out, vec![(b"PORT 10,0,0,1,4,1\r\n".to_vec(), 1000)]);
        assert_eq!(s.buffered(), b"NO");
        assert_eq!(s.base_seq(), 1019);
        lines(&mut s, 1021, b"OP\r\n", &mut out);
        assert_eq!(out[1], (b"NOOP\r\n".to_vec(), 1019));
        assert!(s.buffered().is_empty());
    }

    #[test]
    fn one_byte_segments() {
        let mut s = StreamBuf::<64>::new(Framing::Lines);
        let mut out = Vec::new();
        let msg = b"USER a\r\nPASS b\r\n";
        for (i, b) in msg.iter().enumerate() {
            lines(&mut s, 7 + i as u32, &[*b], &mut out);
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], (b"PASS b\r\n".to_vec(), 15));
    }

    #[test]
    fn retransmission_and_overlap_skipped() {
        let mut s = StreamBuf::<64>::new(Framing::Lines);
        let mut out = Vec::new();
        lines(&mut s, 100, b"ABC\r\n", &mut out);
        let f = lines(&mut s, 100, b"ABC\r\n", &mut out);
        assert_eq!(f.retransmitted, 5);
        assert_eq!(f.new_bytes, 0);
        assert_eq!(out.len(), 1);
        // Overlap: repeats "\r\n" and adds "DEF\r\n".
        let f = lines(&mut s, 103, b"\r\nDEF\r\n", &mut out);
        assert_eq!(f.retransmitted, 2);
        assert_eq!(f.new_bytes, 5);
        assert_eq!(out[1], (b"DEF\r\n".to_vec(), 105));
    }

    #[test]
    fn out_of_order_held_off_then_resumes() {
        let mut s = StreamBuf::<64>::new(Framing::Lines);
        let mut out = Vec::new();
        lines(&mut s, 0, b"AB", &mut out);
        let f = lines(&mut s, 10, b"ZZ\r\n", &mut out);
        assert!(f.out_of_order);
        assert!(out.is_empty());
        assert_eq!(s.next_seq(), Some(2));
        lines(&mut s, 2, b"C\r\n", &mut out);
        assert_eq!(out, vec![(b"ABC\r\n".to_vec(), 0)]);
    }

    #[test]
    fn sequence_wrap() {
        let mut s = StreamBuf::<64>::new(Framing::Lines);
        let mut out = Vec::new();
        let start = u32::MAX - 3;
        lines(&mut s, start, b"PAS", &mut out);
        lines(&mut s, start.wrapping_add(3), b"V\r\n", &mut out);
        assert_eq!(out, vec![(b"PASV\r\n".to_vec(), start)]);
        assert_eq!(s.next_seq(), Some(2));
        // A retransmission from before the wrap is still recognised.
        let f = lines(&mut s, start, b"PASV\r\n", &mut out);
        assert_eq!(f.retransmitted, 6);
        // Far behind (older than 2^31) and far ahead are both not parsed.
        let f = lines(&mut s, 2u32.wrapping_add(0x7fff_ffff), b"X\r\n", &mut out);
        assert!(f.out_of_order);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn overflow_resets_at_next_line() {
        let mut s = StreamBuf::<16>::new(Framing::Lines);
        let mut out = Vec::new();
        let f = lines(&mut s, 0, &[b'A'; 40], &mut out);
        assert!(f.overflows >= 1);
        assert!(out.is_empty());
        // Rest of the long line is dropped, the next line parses.
        lines(&mut s, 40, b"AAAA\r\nNOOP\r\n", &mut out);
        assert_eq!(out, vec![(b"NOOP\r\n".to_vec(), 46)]);
    }

    #[test]
    fn overflow_in_one_big_segment_keeps_later_lines() {
        let mut s = StreamBuf::<16>::new(Framing::Lines);
        let mut out = Vec::new();
        let mut p = vec![b'x'; 30];
        p.extend_from_slice(b"\r\nPASV\r\n");
        lines(&mut s, 0, &p, &mut out);
        assert_eq!(out, vec![(b"PASV\r\n".to_vec(), 32)]);
    }

    #[test]
    fn consumer_skip_beyond_buffer() {
        let mut s = StreamBuf::<16>::new(Framing::Messages);
        let mut seen = Vec::new();
        // Messages: 1 length byte + body; the consumer looks only at the first byte.
        let mut f = |b: &[u8], _base: u32| -> usize {
            match b.first() {
                Some(&n) => {
                    seen.push(n);
                    1 + usize::from(n)
                }
                None => 0,
            }
        };
        s.feed(0, &[3, 0, 0], &mut f);
        s.feed(3, &[0, 40], &mut f);
        let mut body = vec![7u8; 40];
        body.push(1);
        body.push(9);
        s.feed(5, &body, &mut f);
        assert_eq!(seen, vec![3, 40, 1]);
    }

    #[test]
    fn sync_marks_early_segment_out_of_order() {
        let mut s = StreamBuf::<16>::new(Framing::Lines);
        s.sync(500);
        let mut out = Vec::new();
        assert!(lines(&mut s, 505, b"X\r\n", &mut out).out_of_order);
        lines(&mut s, 500, b"ABCD\r\n", &mut out);
        assert_eq!(out.len(), 1);
    }
}
