//! The per-core session shard: the table ([`table`]), the TCP tracker ([`tcp`]) and its
//! sequence windows ([`tcp_window`]), and the
//! timer wheel ([`timer`]). One shard per worker, capacity fixed at start, no allocation
//! after construction.
//!
//! This file holds the types other crates see: what a session is doing ([`Action`]), its
//! TCP state, and [`SessionView`], the owned snapshot of one session that leaves the worker
//! for the control core (show commands, events).

mod index;
pub mod pinhole;
mod record;
pub mod table;
pub mod tcp;
pub mod tcp_window;
pub mod timer;

use crate::flow::{Direction, Endpoint, FlowKey};
pub use svcard_config::{PortId, WorkerId};

pub use record::{Session, SessionInfo, PARTIAL_RULE};
pub use table::{SessionTable, TableError};
pub use tcp::TcpState;
pub use tcp_window::TcpWindow;
pub use timer::TimerWheel;

/// What a session does with its packets (the "State" column of `show services sessions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Action {
    /// Forward without looking further.
    #[default]
    Forward = 0,
    /// Drop silently.
    Drop = 1,
    /// Drop and answer with TCP RST / ICMP unreachable.
    Reject = 2,
    /// Hand to the control core for inspection (ALG).
    Watch = 3,
    /// Pass untouched, no accounting beyond counters (limit reached with bypass policy).
    Bypass = 4,
}

impl Action {
    /// The session's packets' class in the per-service-set counts
    /// (`show services stateful-firewall statistics`, [`crate::ring::QueryCounts::packets`]):
    /// 0 forwarded (Forward, Watch, Bypass), 1 discarded, 2 rejected.
    #[must_use]
    pub fn packet_class(self) -> usize {
        match self {
            Action::Drop => 1,
            Action::Reject => 2,
            Action::Forward | Action::Watch | Action::Bypass => 0,
        }
    }

    /// The Junos word for the state.
    #[must_use]
    pub fn junos_name(self) -> &'static str {
        match self {
            Action::Forward => "Forward",
            Action::Drop => "Drop",
            Action::Reject => "Reject",
            Action::Watch => "Watch",
            Action::Bypass => "Bypass",
        }
    }
    /// From the stored byte; unknown values read as Drop (the safe choice).
    #[must_use]
    #[inline]
    pub fn from_u8(v: u8) -> Self {
        // A table, not a match: this runs for every packet.
        const BY_VALUE: [Action; 8] = [
            Action::Forward,
            Action::Drop,
            Action::Reject,
            Action::Watch,
            Action::Bypass,
            Action::Drop,
            Action::Drop,
            Action::Drop,
        ];
        if v < 8 {
            BY_VALUE[usize::from(v)]
        } else {
            Action::Drop
        }
    }
}

/// The Junos session flags of `show services sessions` ("Flags: 0x…").
pub mod flags {
    /// Found an existing session.
    pub const EXISTING: u8 = 0x1;
    /// Reached session or flow limit.
    pub const LIMIT: u8 = 0x2;
    /// No memory available for new sessions.
    pub const NO_MEMORY: u8 = 0x3;
    /// No free session ID available.
    pub const NO_ID: u8 = 0x4;
}

/// Session-level bits kept beside the Junos flag byte.
pub mod bits {
    /// The session is offloaded: its rule is active in the NIC (or the NIC model).
    pub const OFFLOAD: u8 = 0x01;
    /// Only one direction has been seen (asymmetric / unidirectional).
    pub const ASYMMETRIC: u8 = 0x02;
    /// The initiator is endpoint `b` of the canonical key.
    pub const INITIATOR_B: u8 = 0x04;
    /// Marked for deletion by a clear command; removed between bursts.
    pub const CLEARING: u8 = 0x08;
    /// Created while over the session limit with the bypass policy.
    pub const BYPASSED: u8 = 0x10;
    /// An offload policy waits to fire: the session's packets check its trigger.
    pub const OFFLOAD_ARMED: u8 = 0x20;
    /// Source NAT translates the session: it has a second wing
    /// ([`crate::nat::Wing`]) in the table, and its packets are rewritten.
    pub const NAT: u8 = 0x40;
    /// Beside [`OFFLOAD_ARMED`]: the policy fires when the session is established, which
    /// the hot line says (TCP phase, or a reply seen), so a packet of a session still
    /// waiting for it checks nothing more (no read of the cold record).
    pub const OFFLOAD_AWAITS_ESTABLISHED: u8 = 0x80;
}

/// In a slot the session table's lookups return: the packet carries the session's
/// translated tuple (its second wing, [`crate::nat::Wing`]). Slots stay below
/// `1 << SLOT_BITS`, so the bit is never a slot's own.
pub const WING: u32 = 1 << 31;

/// Per-direction figures of a session, seen from the initiator ("In") or responder ("Out").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowView {
    /// Sender of this direction.
    pub src: Option<Endpoint>,
    /// Receiver of this direction.
    pub dst: Option<Endpoint>,
    /// The port the direction arrived on (none: not seen yet).
    pub ingress_port: Option<PortId>,
    /// Packets.
    pub packets: u64,
    /// Bytes (whole frames as received).
    pub bytes: u64,
    /// Sequence number of this side's FIN (TCP), 0 if none.
    pub fin_seq: u32,
    /// FIN state of this side: 0 none, 1 FIN sent, 2 FIN acknowledged.
    pub fin_state: u8,
}

/// An owned snapshot of one session, as a worker reports it to the control core.
/// Plain data: no references into the shard, `Copy`, fixed size (moves over rings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionView {
    /// Session ID: worker bits | slot (see [`session_id`]).
    pub id: u32,
    /// The owning worker.
    pub worker: WorkerId,
    /// The canonical key.
    pub key: FlowKey,
    /// Which endpoint of the key initiated the session.
    pub initiator: Option<Direction>,
    /// Initiator's flow ("In") then responder's flow ("Out").
    pub flows: [FlowView; 2],
    /// Service set index in the configuration.
    pub service_set: u16,
    /// Rule index within the service set (the policy "p1/4" is name/index).
    pub rule: u16,
    /// Application index in the catalogue, `u16::MAX` for none.
    pub application: u16,
    /// What the session does.
    pub action: Action,
    /// Junos flag byte ([`flags`]).
    pub junos_flags: u8,
    /// [`bits`].
    pub bits: u8,
    /// TCP tracker state.
    pub tcp: TcpState,
    /// Configured idle timeout, seconds ("Maximum timeout").
    pub timeout_s: u32,
    /// Seconds left before expiry unless traffic comes ("Current timeout").
    pub remaining_s: u32,
    /// Start, seconds since svcard started.
    pub start_s: u32,
    /// Seconds since start.
    pub duration_s: u32,
    /// Offload state, rule and hardware counters.
    pub offload: crate::offload::OffloadView,
    /// Source NAT: the pool and the public endpoint the initiator was given (the
    /// responder's flow is shown to that endpoint, as SRX shows the reverse wing).
    pub nat: Option<NatView>,
}

/// A translated session's NAT, as views show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatView {
    /// The pool (index into the configuration's pools).
    pub pool: u16,
    /// The public address and port (ICMP: identifier).
    pub public: crate::flow::Endpoint,
    /// The private address and port.
    pub private: crate::flow::Endpoint,
    /// The public endpoint is an endpoint-independent mapping's.
    pub eim: bool,
    /// The session came in to the mapping (endpoint-independent filtering).
    pub inbound: bool,
}

impl SessionView {
    /// Adds a translated session's second wing: its pool and public endpoint, and each
    /// flow as it arrives (as SRX shows them): the flow toward the private side addressed
    /// to the public endpoint (the responder's for a session out, the initiator's for one
    /// in to a mapping).
    #[must_use]
    pub fn with_wing(self, w: &crate::nat::Wing) -> Self {
        let mut v = self.with_nat(w.public_addr, w.public_port, w.pool, w.flags);
        if w.flags & crate::nat::wing::HAIRPIN != 0 {
            // A hairpinned session's other flow comes from the other private host.
            let (addr, port) = w.hairpin_other();
            v.flows[1].src = Some(crate::flow::Endpoint {
                addr: core::net::Ipv4Addr::from(addr).into(),
                port,
            });
        }
        v
    }

    /// [`with_wing`](Self::with_wing) from the wing's public address and port, pool and
    /// flags (what an event carries of it).
    #[must_use]
    pub fn with_nat(
        mut self,
        public_addr: [u8; 4],
        public_port: u16,
        pool: u16,
        flags: u8,
    ) -> Self {
        let public = crate::flow::Endpoint {
            addr: core::net::Ipv4Addr::from(public_addr).into(),
            port: public_port,
        };
        let inbound = flags & crate::nat::wing::INBOUND != 0;
        let toward_private = usize::from(!inbound);
        // The private endpoint sends the other flow.
        let private = self.flows[1 - toward_private].src.unwrap_or(public);
        self.flows[toward_private].dst = Some(public);
        self.nat = Some(NatView {
            pool,
            public,
            private,
            eim: flags & crate::nat::wing::EIM != 0,
            inbound,
        });
        self
    }
}

impl SessionView {
    /// The initiator's direction in the canonical key (A→B when unknown).
    #[must_use]
    pub fn initiator_dir(&self) -> Direction {
        self.initiator.unwrap_or(Direction::AtoB)
    }
    /// Total packets, both directions.
    #[must_use]
    pub fn packets(&self) -> u64 {
        self.flows[0].packets + self.flows[1].packets
    }
}

/// Validity class of a session, for the summary counts ("Valid sessions", "Pending
/// sessions", "Invalidated sessions").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Valid: forwarding (non-TCP, or TCP established).
    Valid,
    /// TCP handshake not complete.
    Pending,
    /// Closing, or marked for deletion.
    Invalidated,
    /// Neither: a Bypass session (made past a limit, forwarded without services), which
    /// the resource-manager summary counts as "other".
    Other,
}

/// The validity of a session from its protocol, TCP state and [`bits`].
#[inline]
#[must_use]
pub fn validity(proto: u8, tcp: TcpState, session_bits: u8) -> Validity {
    if session_bits & bits::CLEARING != 0 {
        return Validity::Invalidated;
    }
    if session_bits & bits::BYPASSED != 0 {
        return Validity::Other;
    }
    if proto == crate::wire::ip_proto::TCP {
        return match tcp.phase() {
            tcp::TcpPhase::SynSent | tcp::TcpPhase::SynReceived => Validity::Pending,
            tcp::TcpPhase::Established => Validity::Valid,
            tcp::TcpPhase::Closing | tcp::TcpPhase::Closed => Validity::Invalidated,
        };
    }
    Validity::Valid
}

impl SessionView {
    /// The session's validity class.
    #[must_use]
    pub fn validity(&self) -> Validity {
        validity(self.key.proto, self.tcp, self.bits)
    }
}

/// How many bits of a session ID name the slot. Junos: 33554433 = 1 << 25 | 1.
pub const SLOT_BITS: u32 = 25;

/// A session ID from the worker index and the slot: `(worker + 1) << 25 | (slot + 1)`, so
/// worker 0's first session is 33554433 as on a Junos card.
#[inline]
#[must_use]
pub fn session_id(worker: WorkerId, slot: u32) -> u32 {
    ((u32::from(worker.0) + 1) << SLOT_BITS) | (slot + 1)
}

/// The (worker, slot) an ID names, if it is well formed.
#[inline]
#[must_use]
pub fn split_session_id(id: u32) -> Option<(WorkerId, u32)> {
    let w = id >> SLOT_BITS;
    let s = id & ((1 << SLOT_BITS) - 1);
    if w == 0 || s == 0 {
        return None;
    }
    Some((WorkerId((w - 1) as u16), s - 1)) // fits: 32 - SLOT_BITS = 7 bits
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ids_look_like_junos() {
        assert_eq!(session_id(WorkerId(0), 0), 33_554_433);
        assert_eq!(session_id(WorkerId(1), 2), 67_108_867);
        assert_eq!(split_session_id(67_108_867), Some((WorkerId(1), 2)));
        assert_eq!(split_session_id(5), None);
    }
}
