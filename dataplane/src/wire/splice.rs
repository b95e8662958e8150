//! An ALG's payload rewrite through NAT, on the control core (never on a worker's path):
//! bytes of a TCP segment replaced by text of another length (the frame grows or shrinks
//! in its buffer), the sequence and acknowledgement numbers shifted for what earlier
//! rewrites changed (SACK blocks too), and the checksums recomputed whole.

use super::checksum::l4_checksum_v4;
use super::{be16, ip_proto, Parsed};
use crate::port::PacketBuf;

/// TCP option kinds read here.
const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_SACK: u8 = 5;

/// Replaces payload bytes `start..end` (offsets into the TCP payload) of IPv4 TCP packet
/// `pkt` (parsed as `p`) with `new`, moving the rest of the payload and fixing the IP total
/// length and header checksum; the TCP checksum is left for [`finish_tcp_v4`]. Ethernet
/// padding after the IP packet is dropped. False, with nothing changed, when the packet is
/// not an unfragmented IPv4 TCP segment holding the range, or the result would not fit
/// the buffer or an IP packet.
pub fn splice_v4<B: PacketBuf>(
    pkt: &mut B,
    p: &Parsed,
    start: usize,
    end: usize,
    new: &[u8],
) -> bool {
    if p.family != 4 || p.proto != ip_proto::TCP || p.fragment != 0 || start > end {
        return false;
    }
    if end > usize::from(p.payload_len) {
        return false;
    }
    let l3 = usize::from(p.l3_offset);
    let ip_end = l3 + usize::from(p.ip_len);
    let (s, e) = (
        usize::from(p.payload_offset) + start,
        usize::from(p.payload_offset) + end,
    );
    if ip_end > pkt.data().len() || e > ip_end {
        return false;
    }
    let new_ip_len = usize::from(p.ip_len) + new.len() - (end - start);
    let Ok(total) = u16::try_from(new_ip_len) else {
        return false;
    };
    let new_end = l3 + new_ip_len;
    if new_end > pkt.capacity() {
        return false;
    }
    if new_end > pkt.data().len() && !pkt.set_len(new_end) {
        return false;
    }
    let d = pkt.data_mut();
    d.copy_within(e..ip_end, s + new.len());
    d[s..s + new.len()].copy_from_slice(new);
    d[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
    let ihl = usize::from(d[l3] & 0x0f) * 4;
    d[l3 + 10] = 0;
    d[l3 + 11] = 0;
    let sum = super::checksum::internet_checksum(&d[l3..l3 + ihl]);
    d[l3 + 10..l3 + 12].copy_from_slice(&sum.to_be_bytes());
    if pkt.data().len() != new_end {
        pkt.set_len(new_end);
    }
    true
}

/// Shifts IPv4 TCP segment `frame`'s sequence number by `seq_delta` and passes its
/// acknowledgement number (when ACK is set) and every SACK block edge through `ack`,
/// then recomputes the TCP checksum. The frame must be the one `p` was parsed from, with
/// any [`splice_v4`] applied to it (the IP total length is read from the frame).
pub fn shift_v4(frame: &mut [u8], p: &Parsed, seq_delta: u32, ack: impl Fn(u32) -> u32) {
    if p.family != 4 || p.proto != ip_proto::TCP {
        return;
    }
    let l4 = usize::from(p.l4_offset);
    let Some(h) = frame.get_mut(l4..l4 + 20) else {
        return;
    };
    let seq = u32::from_be_bytes([h[4], h[5], h[6], h[7]]).wrapping_add(seq_delta);
    h[4..8].copy_from_slice(&seq.to_be_bytes());
    let acked = h[13] & 0x10 != 0;
    if acked {
        let a = ack(u32::from_be_bytes([h[8], h[9], h[10], h[11]]));
        h[8..12].copy_from_slice(&a.to_be_bytes());
    }
    let hlen = usize::from(h[12] >> 4) * 4;
    if acked && hlen > 20 {
        if let Some(opts) = frame.get_mut(l4 + 20..l4 + hlen) {
            shift_sack(opts, &ack);
        }
    }
    finish_tcp_v4(frame, p);
}

/// SACK block edges (RFC 2018) in options `opts`, passed through `ack`.
fn shift_sack(opts: &mut [u8], ack: &impl Fn(u32) -> u32) {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            OPT_END => return,
            OPT_NOP => i += 1,
            kind => {
                let Some(&len) = opts.get(i + 1) else { return };
                let len = usize::from(len);
                if len < 2 || i + len > opts.len() {
                    return;
                }
                if kind == OPT_SACK {
                    let mut j = i + 2;
                    while j + 4 <= i + len {
                        let e = ack(u32::from_be_bytes([
                            opts[j],
                            opts[j + 1],
                            opts[j + 2],
                            opts[j + 3],
                        ]));
                        opts[j..j + 4].copy_from_slice(&e.to_be_bytes());
                        j += 4;
                    }
                }
                i += len;
            }
        }
    }
}

/// Writes `new` over payload bytes `start..start + new.len()` of IPv4 UDP datagram `frame`
/// (parsed as `p`: a text of the same length, as a talk `osockaddr`) and recomputes its
/// UDP checksum (a checksum of 0, none, stays 0). False, nothing written, when the range is
/// not in the payload.
pub fn overwrite_udp_v4(frame: &mut [u8], p: &Parsed, start: usize, new: &[u8]) -> bool {
    if p.family != 4 || p.proto != ip_proto::UDP || p.fragment != 0 {
        return false;
    }
    if start + new.len() > usize::from(p.payload_len) {
        return false;
    }
    let at = usize::from(p.payload_offset) + start;
    let Some(dst) = frame.get_mut(at..at + new.len()) else {
        return false;
    };
    dst.copy_from_slice(new);
    let (l3, l4) = (usize::from(p.l3_offset), usize::from(p.l4_offset));
    let ip_end = l3 + usize::from(p.ip_len);
    if ip_end > frame.len() || l4 + 8 > ip_end || (frame[l4 + 6] == 0 && frame[l4 + 7] == 0) {
        return true;
    }
    let src = [
        frame[l3 + 12],
        frame[l3 + 13],
        frame[l3 + 14],
        frame[l3 + 15],
    ];
    let dst = [
        frame[l3 + 16],
        frame[l3 + 17],
        frame[l3 + 18],
        frame[l3 + 19],
    ];
    frame[l4 + 6] = 0;
    frame[l4 + 7] = 0;
    let mut sum = l4_checksum_v4(&src, &dst, ip_proto::UDP, &frame[l4..ip_end]);
    if sum == 0 {
        sum = 0xffff;
    }
    frame[l4 + 6..l4 + 8].copy_from_slice(&sum.to_be_bytes());
    true
}

/// Recomputes the TCP checksum of IPv4 TCP segment `frame` (parsed as `p`, its IP total
/// length read from the frame).
pub fn finish_tcp_v4(frame: &mut [u8], p: &Parsed) {
    let (l3, l4) = (usize::from(p.l3_offset), usize::from(p.l4_offset));
    let Some(ip) = frame.get(l3..l3 + 20) else {
        return;
    };
    let ip_end = l3 + usize::from(be16(ip[2], ip[3]));
    let src = [ip[12], ip[13], ip[14], ip[15]];
    let dst = [ip[16], ip[17], ip[18], ip[19]];
    if ip_end > frame.len() || l4 + 18 > ip_end {
        return;
    }
    frame[l4 + 16] = 0;
    frame[l4 + 17] = 0;
    let sum = l4_checksum_v4(&src, &dst, ip_proto::TCP, &frame[l4..ip_end]);
    frame[l4 + 16..l4 + 18].copy_from_slice(&sum.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum::{internet_checksum, verify_parsed};
    use crate::wire::{parse, Outcome};

    /// A buffer of fixed capacity, as an mbuf is.
    struct Buf {
        b: Vec<u8>,
        len: usize,
    }

    impl Buf {
        fn with_capacity(f: &[u8], cap: usize) -> Buf {
            let mut b = f.to_vec();
            b.resize(cap.max(f.len()), 0xEE);
            Buf { b, len: f.len() }
        }
    }

    impl PacketBuf for Buf {
        fn data(&self) -> &[u8] {
            &self.b[..self.len]
        }
        fn data_mut(&mut self) -> &mut [u8] {
            &mut self.b[..self.len]
        }
        fn set_len(&mut self, len: usize) -> bool {
            if len > self.b.len() {
                return false;
            }
            self.len = len;
            true
        }
        fn capacity(&self) -> usize {
            self.b.len()
        }
    }

    type PcapPacket = Buf;

    fn parsed(f: &[u8]) -> Parsed {
        match parse(f) {
            Outcome::Ip(p) => p,
            o => panic!("{o:?}"),
        }
    }

    /// 10.0.0.2:40000 -> 192.0.2.9:21, seq 1000, ack 5000, with checksums.
    fn frame(payload: &[u8], flags: u8, opts: &[u8]) -> Vec<u8> {
        let (src, dst) = ([10, 0, 0, 2], [192, 0, 2, 9]);
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&40000u16.to_be_bytes());
        tcp.extend_from_slice(&21u16.to_be_bytes());
        tcp.extend_from_slice(&1000u32.to_be_bytes());
        tcp.extend_from_slice(&5000u32.to_be_bytes());
        tcp.push(u8::try_from((20 + opts.len()) / 4).unwrap() << 4);
        tcp.push(flags);
        tcp.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend_from_slice(opts);
        tcp.extend_from_slice(payload);
        let c = l4_checksum_v4(&src, &dst, ip_proto::TCP, &tcp);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        let total = u16::try_from(20 + tcp.len()).unwrap();
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[0, 1, 0x40, 0, 64, ip_proto::TCP, 0, 0]);
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let c = internet_checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        f.extend_from_slice(&ip);
        f.extend_from_slice(&tcp);
        f
    }

    #[test]
    fn a_longer_text_grows_the_frame_and_every_checksum_holds() {
        let f = frame(b"PORT 10,0,0,2,156,64\r\n", 0x18, &[]);
        let mut pkt = PcapPacket::with_capacity(&f, 2048);
        let p = parsed(pkt.data());
        let new = b"198,51,100,7,4,1";
        assert!(splice_v4(&mut pkt, &p, 5, 20, new));
        shift_v4(pkt.data_mut(), &p, 7, |a| a.wrapping_sub(3));
        let q = parsed(pkt.data());
        assert!(verify_parsed(pkt.data(), &q));
        assert_eq!(q.ip_len, p.ip_len + 1);
        assert_eq!((q.tcp_seq, q.tcp_ack), (1007, 4997));
        let pl = &pkt.data()[usize::from(q.payload_offset)..];
        assert_eq!(pl, b"PORT 198,51,100,7,4,1\r\n");
    }

    #[test]
    fn a_shorter_text_shrinks_it() {
        let f = frame(b"PORT 198,51,100,7,4,1\r\nNOOP\r\n", 0x18, &[]);
        let mut pkt = PcapPacket::with_capacity(&f, 2048);
        let p = parsed(pkt.data());
        assert!(splice_v4(&mut pkt, &p, 5, 21, b"1,2,3,4,0,9"));
        finish_tcp_v4(pkt.data_mut(), &p);
        let q = parsed(pkt.data());
        assert!(verify_parsed(pkt.data(), &q));
        let pl = &pkt.data()[usize::from(q.payload_offset)..];
        assert_eq!(pl, b"PORT 1,2,3,4,0,9\r\nNOOP\r\n");
    }

    #[test]
    fn sack_edges_follow_the_acknowledgement() {
        // NOP, NOP, SACK with two blocks.
        let mut opts = vec![1, 1, 5, 18];
        for e in [100u32, 200, 300, 400] {
            opts.extend_from_slice(&e.to_be_bytes());
        }
        let f = frame(b"", 0x10, &opts);
        let mut pkt = PcapPacket::with_capacity(&f, 2048);
        let p = parsed(pkt.data());
        shift_v4(pkt.data_mut(), &p, 0, |a| a.wrapping_sub(10));
        let q = parsed(pkt.data());
        assert!(verify_parsed(pkt.data(), &q));
        let l4 = usize::from(q.l4_offset);
        let o = &pkt.data()[l4 + 24..l4 + 40];
        let edges: Vec<u32> = o
            .chunks(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(edges, vec![90, 190, 290, 390]);
    }

    #[test]
    fn a_range_outside_the_payload_or_a_full_buffer_changes_nothing() {
        let f = frame(b"PORT 1,2,3,4,5,6\r\n", 0x18, &[]);
        let mut pkt = PcapPacket::with_capacity(&f, f.len());
        let p = parsed(pkt.data());
        assert!(!splice_v4(&mut pkt, &p, 5, 99, b"x"));
        assert!(!splice_v4(&mut pkt, &p, 5, 16, b"198,51,100,7,4,1"));
        assert_eq!(pkt.data(), &f[..]);
    }
}
