//! The pcap and pcapng file formats: enough to read captures (both formats, either byte
//! order, microsecond or nanosecond pcap) and write classic pcap. Used by the pure-Rust
//! backend, the traffic recipes and tests. Never used on the packet path of a DPDK build.

use std::io::{self, Read, Write};

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Capture time, nanoseconds since the epoch.
    pub ts_ns: u64,
    /// The frame bytes (as captured; may be shorter than on the wire).
    pub data: Vec<u8>,
}

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// I/O error.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Not a pcap or pcapng file.
    #[error("not a pcap or pcapng file (magic {0:#010x})")]
    BadMagic(u32),
    /// The link type is not Ethernet.
    #[error("link type {0} is not Ethernet (1)")]
    LinkType(u32),
    /// A record or block is cut short or malformed.
    #[error("malformed capture at byte {0}: {1}")]
    Malformed(u64, &'static str),
}

const MAX_SNAP: usize = 262_144;

/// Reads every record of a pcap or pcapng capture held in memory.
///
/// # Errors
/// [`PcapError`] when the bytes are not an Ethernet capture or are cut short.
pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, PcapError> {
    if bytes.len() < 4 {
        return Err(PcapError::Malformed(0, "file shorter than a header"));
    }
    let magic = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1 => parse_pcap(bytes, magic),
        0x0a0d_0d0a => parse_pcapng(bytes),
        m => Err(PcapError::BadMagic(m)),
    }
}

/// Reads a capture file.
///
/// # Errors
/// I/O errors and those of [`parse`].
pub fn read_file(path: &std::path::Path) -> Result<Vec<Record>, PcapError> {
    let mut f = std::fs::File::open(path)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    parse(&v)
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    be: bool,
}

impl Cursor<'_> {
    fn u32(&mut self) -> Result<u32, PcapError> {
        let s = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or(PcapError::Malformed(self.pos as u64, "truncated field"))?;
        self.pos += 4;
        let a = [s[0], s[1], s[2], s[3]];
        Ok(if self.be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }
    fn bytes(&mut self, n: usize) -> Result<&[u8], PcapError> {
        let s = self
            .b
            .get(self.pos..self.pos + n)
            .ok_or(PcapError::Malformed(self.pos as u64, "truncated record"))?;
        self.pos += n;
        Ok(s)
    }
}

fn parse_pcap(bytes: &[u8], magic: u32) -> Result<Vec<Record>, PcapError> {
    let be = matches!(magic, 0xd4c3_b2a1 | 0x4d3c_b2a1);
    let nanos = matches!(magic, 0xa1b2_3c4d | 0x4d3c_b2a1);
    let mut c = Cursor {
        b: bytes,
        pos: 4,
        be,
    };
    let _version = c.u32()?;
    let _zone = c.u32()?;
    let _sigfigs = c.u32()?;
    let _snaplen = c.u32()?;
    let link = c.u32()?;
    if link & 0xffff != 1 {
        return Err(PcapError::LinkType(link));
    }
    let mut out = Vec::new();
    while c.pos < bytes.len() {
        let sec = c.u32()?;
        let frac = c.u32()?;
        let incl = c.u32()? as usize;
        let _orig = c.u32()?;
        if incl > MAX_SNAP {
            return Err(PcapError::Malformed(
                c.pos as u64,
                "record longer than 256 KiB",
            ));
        }
        let data = c.bytes(incl)?.to_vec();
        let ts_ns = u64::from(sec) * 1_000_000_000
            + if nanos {
                u64::from(frac)
            } else {
                u64::from(frac) * 1000
            };
        out.push(Record { ts_ns, data });
    }
    Ok(out)
}

fn parse_pcapng(bytes: &[u8]) -> Result<Vec<Record>, PcapError> {
    // Byte order from the section header's byte-order magic.
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut be = false;
    // Per interface: timestamp resolution in units per second.
    let mut if_res: Vec<u64> = Vec::new();
    while pos + 12 <= bytes.len() {
        let bom = bytes
            .get(pos + 8..pos + 12)
            .ok_or(PcapError::Malformed(pos as u64, "truncated block"))?;
        let btype_le =
            u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]);
        if btype_le == 0x0a0d_0d0a {
            be = bom == [0x1a, 0x2b, 0x3c, 0x4d];
            if_res.clear();
        }
        let mut c = Cursor { b: bytes, pos, be };
        let btype = c.u32()?;
        let blen = c.u32()? as usize;
        if blen < 12 || !blen.is_multiple_of(4) || pos + blen > bytes.len() {
            return Err(PcapError::Malformed(pos as u64, "bad block length"));
        }
        let body = &bytes[pos + 8..pos + blen - 4];
        let mut b = Cursor {
            b: body,
            pos: 0,
            be,
        };
        match btype {
            1 => {
                // Interface description: link type (u16), reserved, snaplen, options.
                let lt = b.u32()?;
                let link = if be { lt >> 16 } else { lt & 0xffff };
                if link != 1 {
                    return Err(PcapError::LinkType(link));
                }
                let _snap = b.u32()?;
                let mut res = 1_000_000u64;
                // Options: code u16, len u16, value padded to 4.
                while b.pos + 4 <= body.len() {
                    let hdr = b.u32()?;
                    let (code, len) = if be {
                        (hdr >> 16, (hdr & 0xffff) as usize)
                    } else {
                        (hdr & 0xffff, (hdr >> 16) as usize)
                    };
                    if code == 0 {
                        break;
                    }
                    let v = b.bytes((len + 3) & !3)?;
                    if code == 9 && len >= 1 {
                        let r = v[0];
                        res = if r & 0x80 != 0 {
                            1u64.checked_shl(u32::from(r & 0x7f)).unwrap_or(1_000_000)
                        } else {
                            10u64.checked_pow(u32::from(r)).unwrap_or(1_000_000)
                        };
                    }
                }
                if_res.push(res.max(1));
            }
            6 => {
                let ifid = b.u32()? as usize;
                let hi = u64::from(b.u32()?);
                let lo = u64::from(b.u32()?);
                let cap = b.u32()? as usize;
                let _orig = b.u32()?;
                if cap > MAX_SNAP {
                    return Err(PcapError::Malformed(
                        pos as u64,
                        "packet longer than 256 KiB",
                    ));
                }
                let data = b.bytes(cap)?.to_vec();
                let units = (hi << 32) | lo;
                let res = if_res.get(ifid).copied().unwrap_or(1_000_000);
                let ts_ns = if res >= 1_000_000_000 {
                    units / (res / 1_000_000_000)
                } else {
                    units.saturating_mul(1_000_000_000 / res)
                };
                out.push(Record { ts_ns, data });
            }
            3 => {
                // Simple packet block: no timestamp.
                let orig = b.u32()? as usize;
                let cap = orig.min(body.len().saturating_sub(4));
                out.push(Record {
                    ts_ns: 0,
                    data: b.bytes(cap)?.to_vec(),
                });
            }
            _ => {}
        }
        pos += blen;
    }
    Ok(out)
}

/// Writes classic pcap (microsecond timestamps, Ethernet).
#[derive(Debug)]
pub struct Writer<W: Write> {
    w: W,
}

impl<W: Write> Writer<W> {
    /// Writes the global header.
    ///
    /// # Errors
    /// I/O errors.
    pub fn new(mut w: W) -> io::Result<Self> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        h[16..20].copy_from_slice(&(MAX_SNAP as u32).to_le_bytes());
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        w.write_all(&h)?;
        Ok(Self { w })
    }

    /// Appends one frame.
    ///
    /// # Errors
    /// I/O errors.
    pub fn write(&mut self, ts_ns: u64, data: &[u8]) -> io::Result<()> {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((ts_ns / 1_000_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&(((ts_ns % 1_000_000_000) / 1000) as u32).to_le_bytes());
        let n = data.len() as u32;
        h[8..12].copy_from_slice(&n.to_le_bytes());
        h[12..16].copy_from_slice(&n.to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data)
    }

    /// Flushes and returns the inner writer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_round_trip() {
        let mut w = Writer::new(Vec::new()).unwrap();
        w.write(1_500_000_123_000, &[1, 2, 3]).unwrap();
        w.write(1_500_000_124_000, &[4; 60]).unwrap();
        let bytes = w.finish().unwrap();
        assert_eq!(bytes.len(), 24 + 16 + 3 + 16 + 60);
        let r = parse(&bytes).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].data, vec![1, 2, 3]);
        assert_eq!(r[0].ts_ns, 1_500_000_123_000);
        assert_eq!(r[1].data.len(), 60);
    }

    #[test]
    fn truncated_pcap_is_an_error_not_a_panic() {
        let mut w = Writer::new(Vec::new()).unwrap();
        w.write(0, &[9; 40]).unwrap();
        let bytes = w.finish().unwrap();
        for n in 0..bytes.len() {
            let _ = parse(&bytes[..n]);
        }
        assert!(parse(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn pcapng_minimal() {
        // SHB (28 bytes) + IDB (20 bytes) + EPB with 4 bytes of data (36 bytes).
        let mut f = Vec::new();
        f.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        f.extend_from_slice(&28u32.to_le_bytes());
        f.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&0u16.to_le_bytes());
        f.extend_from_slice(&(-1i64).to_le_bytes());
        f.extend_from_slice(&28u32.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&20u32.to_le_bytes());
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&0u16.to_le_bytes());
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&20u32.to_le_bytes());
        f.extend_from_slice(&6u32.to_le_bytes());
        f.extend_from_slice(&36u32.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&2_000_000u32.to_le_bytes());
        f.extend_from_slice(&4u32.to_le_bytes());
        f.extend_from_slice(&4u32.to_le_bytes());
        f.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        f.extend_from_slice(&36u32.to_le_bytes());
        let r = parse(&f).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].data, vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(r[0].ts_ns, 2_000_000_000);
    }
}
