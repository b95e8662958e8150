//! Established flows, both directions or one way, UDP or TCP, at any scale.

use super::shape::tcp_flags::{ACK, PSH};
use super::shape::*;
use crate::frames::L4;

/// What a many-flow capture holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSpec {
    /// Distinct flows.
    pub flows: u32,
    /// UDP or TCP.
    pub proto: Proto,
    /// IPv4 or IPv6.
    pub family: Family,
    /// 802.1Q VLAN id of every frame (1-4094), if tagged.
    pub vlan: Option<u16>,
    /// Frame sizes.
    pub size: FrameSize,
    /// One frame per flow from each side (client then server), else the client's only.
    pub both_directions: bool,
}

impl Default for FlowSpec {
    fn default() -> Self {
        Self {
            flows: 1000,
            proto: Proto::Udp,
            family: Family::V4,
            vlan: None,
            size: FrameSize::Fixed(60),
            both_directions: true,
        }
    }
}

/// Established flows: per flow one frame from the client and (with `both_directions`)
/// one answer from the server, flow after flow; frame `j` of the capture has
/// `spec.size.len_of(j)` bytes. TCP flows are mid-stream segments (PSH+ACK with data,
/// sequence and acknowledgement numbers consistent with each other), which a tracker with
/// mid-stream pickup takes as established. Each element is `(from_client, frame)`.
pub fn flows(spec: FlowSpec) -> impl Iterator<Item = (bool, Vec<u8>)> {
    let dirs: u32 = if spec.both_directions { 2 } else { 1 };
    (0..spec.flows).flat_map(move |i| {
        let kind = FlowKind {
            family: spec.family,
            proto: spec.proto,
            vlan: spec.vlan,
        };
        let first = spec.size.len_of(u64::from(i) * u64::from(dirs));
        (0..dirs).map(move |d| {
            let j = u64::from(i) * u64::from(dirs) + u64::from(d);
            let from_client = d == 0;
            (
                from_client,
                flow_frame(i, kind, spec.size.len_of(j), first, from_client),
            )
        })
    })
}

/// What one flow is: its family, transport and VLAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKind {
    /// IPv4 or IPv6.
    pub family: Family,
    /// UDP or TCP.
    pub proto: Proto,
    /// 802.1Q VLAN id of its frames, if tagged.
    pub vlan: Option<u16>,
}

/// A frame of flow `i` ([`endpoints`]) of `kind`, `len` capture bytes, from the client or
/// the server; `client_len` is the length of the client's frame, whose payload a TCP
/// server's segment acknowledges.
#[must_use]
pub fn flow_frame(
    i: u32,
    kind: FlowKind,
    len: usize,
    client_len: usize,
    from_client: bool,
) -> Vec<u8> {
    let e = endpoints(i, kind.family, kind.proto);
    let n = payload_len(len, kind.family, kind.proto, kind.vlan);
    let (src, dst, sp, dp) = if from_client {
        (e.client, e.server, e.sport, e.dport)
    } else {
        (e.server, e.client, e.dport, e.sport)
    };
    let l4 = match kind.proto {
        Proto::Udp => L4::Udp {
            sport: sp,
            dport: dp,
            payload: payload(n, i),
        },
        Proto::Tcp => {
            // Both ISNs, the client's first segment acknowledged by the server's.
            let (c0, s0) = (isn(i, 0).wrapping_add(1), isn(i, 1).wrapping_add(1));
            let first = payload_len(client_len, kind.family, kind.proto, kind.vlan) as u32;
            let (seq, ack) = if from_client {
                (c0, s0)
            } else {
                (s0, c0.wrapping_add(first))
            };
            L4::Tcp {
                sport: sp,
                dport: dp,
                // PSH+ACK with data, a bare ACK where the size leaves none.
                flags: if n > 0 { PSH | ACK } else { ACK },
                seq,
                ack,
                payload: payload(n, i),
            }
        }
    };
    frame(src, dst, &l4, len, kind.vlan, from_client)
}
