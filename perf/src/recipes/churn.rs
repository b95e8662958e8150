//! Connection churn for setup-rate tests: UDP flows once each, full TCP exchanges with connections in flight.

use super::flows::*;
use super::shape::*;
use crate::frames::L4;
use std::net::IpAddr;

/// UDP connection churn: `flows` new UDP flows, each a single client frame (every flow
/// appears once in the capture). Replayed with a short UDP timeout the table turns over.
pub fn udp_churn(
    count: u32,
    family: Family,
    vlan: Option<u16>,
    size: usize,
) -> impl Iterator<Item = (bool, Vec<u8>)> {
    let spec = FlowSpec {
        flows: count,
        proto: Proto::Udp,
        family,
        vlan,
        size: FrameSize::Fixed(size),
        both_directions: false,
    };
    flows(spec)
}

use super::shape::tcp_flags::{ACK, FIN, PSH, SYN};

/// One TCP connection whose segments carry consistent sequence and acknowledgement
/// numbers: each side's next sequence number advances by its payload and by 1 for SYN and
/// FIN; every segment but the first SYN acknowledges all the other side has sent.
#[derive(Debug, Clone)]
pub struct TcpConn {
    /// The side that opens the connection.
    pub a: (IpAddr, u16),
    /// The side that accepts it.
    pub b: (IpAddr, u16),
    /// Next sequence number of `a` and of `b`.
    pub next: [u32; 2],
    /// Whether `a` is on the client side of the card (its frames arrive on the client
    /// port and carry the client MAC).
    pub a_is_client: bool,
    /// VLAN tag of every frame.
    pub vlan: Option<u16>,
    /// Capture size of data segments (headers plus payload), 0 for just the payload.
    pub min_len: usize,
    acked: [bool; 2],
}

impl TcpConn {
    /// A connection from `a` to `b` with initial sequence numbers `isn`.
    #[must_use]
    pub fn new(a: (IpAddr, u16), b: (IpAddr, u16), isn: [u32; 2], a_is_client: bool) -> Self {
        Self {
            a,
            b,
            next: isn,
            a_is_client,
            vlan: None,
            min_len: 60,
            acked: [false; 2],
        }
    }
    /// A segment from `a` (`from_a`) or `b` with `flags` and `data`, as
    /// `(from the client side, frame)`.
    pub fn seg(&mut self, from_a: bool, flags: u8, data: &[u8]) -> (bool, Vec<u8>) {
        let (me, other) = if from_a { (0, 1) } else { (1, 0) };
        let ((src, sport), (dst, dport)) = if from_a {
            (self.a, self.b)
        } else {
            (self.b, self.a)
        };
        let seq = self.next[me];
        // The first SYN acknowledges nothing; after it, every segment carries ACK.
        let flags = if flags & SYN != 0 && !self.acked[me] && me == 0 {
            flags
        } else {
            flags | ACK
        };
        let ack = if flags & ACK != 0 {
            self.next[other]
        } else {
            0
        };
        self.next[me] = seq
            .wrapping_add(data.len() as u32)
            .wrapping_add(u32::from(flags & (SYN | FIN) != 0));
        self.acked[me] = true;
        let from_client = from_a == self.a_is_client;
        let l4 = L4::Tcp {
            sport,
            dport,
            flags,
            seq,
            ack,
            payload: data.to_vec(),
        };
        (
            from_client,
            frame(src, dst, &l4, self.min_len, self.vlan, from_client),
        )
    }
    /// The three-way handshake.
    pub fn handshake(&mut self) -> Vec<(bool, Vec<u8>)> {
        vec![
            self.seg(true, SYN, &[]),
            self.seg(false, SYN | ACK, &[]),
            self.seg(true, ACK, &[]),
        ]
    }
    /// Data from one side (PSH+ACK).
    pub fn data(&mut self, from_a: bool, data: &[u8]) -> (bool, Vec<u8>) {
        self.seg(from_a, PSH | ACK, data)
    }
    /// The close: FIN+ACK from `first_a`'s side, FIN+ACK from the other, the last ACK.
    pub fn close(&mut self, first_a: bool) -> Vec<(bool, Vec<u8>)> {
        vec![
            self.seg(first_a, FIN | ACK, &[]),
            self.seg(!first_a, FIN | ACK, &[]),
            self.seg(first_a, ACK, &[]),
        ]
    }
}

/// What a TCP churn capture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChurnSpec {
    /// Connections, each a distinct flow.
    pub connections: u32,
    /// IPv4 or IPv6.
    pub family: Family,
    /// 802.1Q VLAN id of every frame.
    pub vlan: Option<u16>,
    /// Capture bytes of the request and response segments (60 to 1514).
    pub size: usize,
    /// Connections in flight together: the capture is made of waves of this many
    /// connections, each wave going through the exchange step by step.
    pub concurrency: u32,
}

/// Frames of one full TCP exchange.
pub const TCP_EXCHANGE_FRAMES: usize = 8;

/// TCP connection churn: every connection new and complete, [`TCP_EXCHANGE_FRAMES`] frames
/// each: SYN, SYN-ACK, ACK, request (client PSH+ACK), response (server PSH+ACK), FIN+ACK
/// from the client, FIN+ACK from the server, the client's last ACK. Connections run in
/// waves of `concurrency`, interleaved step by step.
pub fn tcp_churn(spec: ChurnSpec) -> impl Iterator<Item = (bool, Vec<u8>)> {
    let k = spec.concurrency.max(1);
    let waves = spec.connections.div_ceil(k);
    (0..waves).flat_map(move |w| {
        let lo = w * k;
        let hi = (lo + k).min(spec.connections);
        let mut per: Vec<Vec<(bool, Vec<u8>)>> = (lo..hi)
            .map(|i| {
                let e = endpoints(i, spec.family, Proto::Tcp);
                let mut c = TcpConn::new(
                    (e.client, e.sport),
                    (e.server, e.dport),
                    [isn(i, 0), isn(i, 1)],
                    true,
                );
                c.vlan = spec.vlan;
                let n = payload_len(spec.size, spec.family, Proto::Tcp, spec.vlan);
                let mut v = c.handshake();
                v.push(c.data(true, &payload(n, i)));
                v.push(c.data(false, &payload(n, i ^ 0x55)));
                v.extend(c.close(true));
                v.reverse();
                v
            })
            .collect();
        let mut out = Vec::with_capacity(per.len() * TCP_EXCHANGE_FRAMES);
        for _ in 0..TCP_EXCHANGE_FRAMES {
            for c in &mut per {
                if let Some(f) = c.pop() {
                    out.push(f);
                }
            }
        }
        out
    })
}
