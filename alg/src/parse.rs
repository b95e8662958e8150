//! Match results and the small text/binary readers the parsers share.
//!
//! Every parser is a pure function over `&[u8]` that says [`Parse::Found`] with the byte
//! range of the interesting text (a NAT rewrites that range), [`Parse::NoMatch`] (this is
//! not the message looked for, or it is malformed: see each parser), or [`Parse::Partial`]
//! (the bytes so far are a prefix of a match: wait for more), like `nf_conntrack_ftp`.

use core::net::{IpAddr, Ipv4Addr};
use core::ops::Range;

/// The result of matching a parser against bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse<T> {
    /// Matched: the value and the byte range (relative to the parser's input) it came from.
    Found(T, Range<usize>),
    /// Not this message (or refused as malformed; the parser's doc says which).
    NoMatch,
    /// A prefix of a possible match: more bytes are needed.
    Partial,
}

impl<T> Parse<T> {
    /// True for [`Parse::Found`].
    #[must_use]
    pub fn is_found(&self) -> bool {
        matches!(self, Parse::Found(..))
    }
}

/// Reads an ASCII decimal number at the start of `s`: its value and the digit count.
/// `None` when `s` does not start with a digit or the value exceeds `max`.
#[must_use]
pub fn dec(s: &[u8], max: u32) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    let mut n = 0usize;
    for &b in s {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
        if v > max {
            return None;
        }
        n += 1;
    }
    if n == 0 {
        None
    } else {
        Some((v, n))
    }
}

/// Parses a whole byte string as an IPv4 or IPv6 address in text form.
#[must_use]
pub fn ip_text(s: &[u8]) -> Option<IpAddr> {
    if s.is_empty() || s.len() > 45 {
        return None;
    }
    core::str::from_utf8(s).ok()?.parse::<IpAddr>().ok()
}

/// Parses "h1,h2,h3,h4,p1,p2" at the start of `s` (each 0-255 decimal, no spaces): the
/// address, the port and the length consumed. `Err(())` when a number exceeds 255 or the
/// shape is wrong; `Ok(None)` when `s` is a valid prefix that ends too early.
///
/// # Errors
/// `Err(())` when the text cannot be the comma notation.
#[allow(clippy::result_unit_err)]
pub fn comma_addr_port(s: &[u8]) -> Result<Option<(Ipv4Addr, u32, usize)>, ()> {
    let mut v = [0u8; 6];
    let mut pos = 0usize;
    for (i, slot) in v.iter_mut().enumerate() {
        let rest = s.get(pos..).unwrap_or(&[]);
        if rest.is_empty() {
            return Ok(None);
        }
        let (n, len) = dec(rest, 255).ok_or(())?;
        // dec bounded the value to 255.
        *slot = u8::try_from(n).map_err(|_| ())?;
        pos += len;
        if i < 5 {
            match s.get(pos) {
                Some(b',') => pos += 1,
                None => return Ok(None),
                Some(_) => return Err(()),
            }
        } else if s.get(pos).is_none() {
            // The last number may continue in the next segment.
            return Ok(None);
        }
    }
    let [a, b, c, d, p1, p2] = v;
    let port = u32::from(p1) * 256 + u32::from(p2);
    Ok(Some((Ipv4Addr::new(a, b, c, d), port, pos)))
}

/// A big-endian `u16` at `off`.
#[must_use]
pub fn be16(s: &[u8], off: usize) -> Option<u16> {
    let b = s.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// A big-endian `u32` at `off`.
#[must_use]
pub fn be32(s: &[u8], off: usize) -> Option<u32> {
    let b = s.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

/// Where the header section of a text message (SIP, RTSP) ends: the index just past the
/// empty line (`CRLF CRLF`, or bare `LF LF`); `None` while it has not come.
#[must_use]
pub fn head_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(nl) = b.get(i..).and_then(|r| r.iter().position(|&x| x == b'\n')) {
        let next = i + nl + 1;
        match b.get(next) {
            Some(b'\n') => return Some(next + 1),
            Some(b'\r') if b.get(next + 1) == Some(&b'\n') => return Some(next + 2),
            _ => i = next,
        }
    }
    None
}

/// `r` without the ASCII white space at either end of `b[r]`.
#[must_use]
pub fn trim(b: &[u8], r: Range<usize>) -> Range<usize> {
    let mut r = r;
    while r.start < r.end && b.get(r.start).is_some_and(u8::is_ascii_whitespace) {
        r.start += 1;
    }
    while r.end > r.start && b.get(r.end - 1).is_some_and(u8::is_ascii_whitespace) {
        r.end -= 1;
    }
    r
}

/// The header lines of a text message whose head ends at `head` (from [`head_end`]),
/// after the start line: `(name, value)` ranges, both trimmed. Lines without a colon
/// (and folded continuation lines) are skipped.
pub fn header_lines(
    b: &[u8],
    head: usize,
) -> impl Iterator<Item = (Range<usize>, Range<usize>)> + '_ {
    let first = b.iter().position(|&c| c == b'\n').map_or(head, |n| n + 1);
    let mut at = first;
    core::iter::from_fn(move || {
        while at < head {
            let nl = b
                .get(at..head)
                .and_then(|r| r.iter().position(|&c| c == b'\n'))
                .map_or(head, |n| at + n);
            let l = at..nl;
            at = nl + 1;
            let folded = b.get(l.start).is_some_and(|c| *c == b' ' || *c == b'\t');
            let colon = b
                .get(l.clone())
                .and_then(|r| r.iter().position(|&c| c == b':'));
            if let (false, Some(colon)) = (folded, colon) {
                return Some((
                    trim(b, l.start..l.start + colon),
                    trim(b, l.start + colon + 1..l.end),
                ));
            }
        }
        None
    })
}

/// FNV-1a of `b`: a key for an identifier of arbitrary length (a Call-ID, an RTSP
/// session) kept in a fixed-size table.
#[must_use]
pub fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &c| {
        (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Case-insensitive "starts with" for ASCII commands.
#[must_use]
pub fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// True when `s` could still become `prefix` (case-insensitively) with more bytes.
#[must_use]
pub fn is_prefix_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() < prefix.len()
        && prefix
            .get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dec_bounds() {
        assert_eq!(dec(b"65535x", 65535), Some((65535, 5)));
        assert_eq!(dec(b"65536", 65535), None);
        assert_eq!(dec(b"99999999999999999999", u32::MAX), None);
        assert_eq!(dec(b"x1", 9), None);
        assert_eq!(dec(b"", 9), None);
        assert_eq!(dec(b"007", 9), Some((7, 3)));
    }

    #[test]
    fn comma_notation() {
        assert_eq!(
            comma_addr_port(b"10,0,0,1,4,1)"),
            Ok(Some((Ipv4Addr::new(10, 0, 0, 1), 1025, 12)))
        );
        assert_eq!(comma_addr_port(b"10,0,0,1,4,1"), Ok(None));
        assert_eq!(comma_addr_port(b"10,0,0"), Ok(None));
        assert_eq!(comma_addr_port(b"10,0,0,256,4,1\r"), Err(()));
        assert_eq!(comma_addr_port(b"10,0;0,1,4,1\r"), Err(()));
        assert_eq!(comma_addr_port(b"10,0,0,1,4,\r"), Err(()));
    }

    #[test]
    fn ip_text_forms() {
        assert_eq!(
            ip_text(b"192.0.2.1"),
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        assert!(ip_text(b"2001:db8::1").is_some());
        assert_eq!(ip_text(b"192.0.2.256"), None);
        assert_eq!(ip_text(b"\xff\xfe"), None);
        assert_eq!(ip_text(b""), None);
    }

    #[test]
    fn binary_readers() {
        assert_eq!(be16(&[1, 2, 3], 1), Some(0x0203));
        assert_eq!(be16(&[1, 2, 3], 2), None);
        assert_eq!(be32(&[0, 0, 0, 111], 0), Some(111));
        assert_eq!(be32(&[0, 0, 0], 0), None);
        assert_eq!(be32(&[0, 0, 0], usize::MAX), None);
    }
}
