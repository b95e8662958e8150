//! Traffic as a mix, the way it arrives at a card: TCP and UDP, IPv4 and IPv6, a share of
//! it on a VLAN, every flow both ways, in the passes of the plain run (the first in the
//! order the sessions are made, the later ones in orders of their own, half of them
//! replies). Each flow's kind is fixed by its index, spread by a hash rather than in
//! blocks, so any stretch of the capture holds the same mix.

use super::flows::{flow_frame, FlowKind};
use super::shape::{mix, Family, Proto};
use super::udp::pass_sequence;

/// Share of flows that are TCP (the rest UDP), per cent.
pub const TCP_PERCENT: u32 = 70;
/// Share of flows that are IPv6 (the rest IPv4), per cent.
pub const V6_PERCENT: u32 = 25;
/// Share of flows on [`MIX_VLAN`] (the rest untagged), per cent.
pub const VLAN_PERCENT: u32 = 20;
/// The VLAN of the tagged share.
pub const MIX_VLAN: u16 = 100;

/// The kind of flow `i` of the mix.
#[must_use]
pub fn kind_of(i: u32) -> FlowKind {
    let pick = |k: u32, pct: u32| mix(i, k) % 100 < pct;
    FlowKind {
        family: if pick(0x2545_f491, V6_PERCENT) {
            Family::V6
        } else {
            Family::V4
        },
        proto: if pick(0x9e37_79b9, TCP_PERCENT) {
            Proto::Tcp
        } else {
            Proto::Udp
        },
        vlan: pick(0x7f4a_7c15, VLAN_PERCENT).then_some(MIX_VLAN),
    }
}

/// Frame of flow `i` of the mix, `len` capture bytes (or as short as its headers allow):
/// the client's request, or the server's reply.
#[must_use]
pub fn mixed_flow_frame(i: u32, len: usize, reply: bool) -> Vec<u8> {
    flow_frame(i, kind_of(i), len, len, !reply)
}

/// The mixed capture: `n` flows ([`kind_of`]) over `passes` passes ([`pass_sequence`]),
/// with replies; each element is `(from_client, frame)`.
pub fn mixed_flows(n: u32, len: usize, passes: u32) -> impl Iterator<Item = (bool, Vec<u8>)> {
    pass_sequence(n, passes, true).map(move |(f, reply)| (!reply, mixed_flow_frame(f, len, reply)))
}
