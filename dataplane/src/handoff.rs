//! The ALG link between one worker and the control core.
//!
//! * **Hand-off** (worker → control): every packet of a Watch session moves, mbuf and all,
//!   onto the worker's hand-off ring; the control core runs the session's ALG on it and
//!   transmits it on its own TX queue (or, on a device without one, hands it back on the
//!   return ring for the worker to transmit). A full hand-off ring is counted per ALG and
//!   the packet dropped: the worker never waits.
//! * **ALG commands** (control → worker): pinholes to add or remove, and sessions an ALG
//!   closed. Each carries a sequence number; the worker publishes the last one it applied
//!   in [`AlgLink::applied`], which is how the control core knows every worker holds a
//!   pinhole before it lets the packet that negotiated it leave.

use crate::flow::FlowKey;
use crate::session::pinhole::PinholeSpec;
use core::sync::atomic::AtomicU64;
use crossbeam_queue::ArrayQueue;
use svcard_config::{AlgKind, PortId};

/// A packet of a Watch session on its way to the control core.
#[derive(Debug)]
pub struct Handoff<P> {
    /// The frame.
    pub pkt: P,
    /// The port it came in on.
    pub port: PortId,
    /// The port it leaves by (the ingress port's peer).
    pub egress: PortId,
    /// The session's ID.
    pub session: u32,
    /// The session's canonical key (tells a reused session ID from the session before).
    pub key: FlowKey,
    /// True when the initiator sent it.
    pub from_initiator: bool,
    /// The ALG that governs the session.
    pub alg: AlgKind,
    /// The session's application, service set and rule (children inherit them).
    pub application: u16,
    /// See `application`.
    pub service_set: u16,
    /// See `application`.
    pub rule: u16,
    /// The session's source NAT, when it is translated.
    pub nat: Option<HandoffNat>,
}

/// What the control core needs of a translated session's NAT to run its ALG: the ALG sees
/// the private side's endpoints (as without NAT), and writes the public ones into the
/// payloads it rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoffNat {
    /// The private endpoint (IPv4 address, port).
    pub private: ([u8; 4], u16),
    /// The public endpoint it is translated to.
    pub public: ([u8; 4], u16),
    /// The pool.
    pub pool: u16,
    /// The private endpoint is the session's initiator (a session out); false for one made
    /// in to it (a mapping's, an ALG's child).
    pub private_initiates: bool,
}

/// A packet the control core gives back to the worker to transmit (devices without a TX
/// queue for the control core).
#[derive(Debug)]
pub struct Returned<P> {
    /// The port to send it on.
    pub port: PortId,
    /// The frame.
    pub pkt: P,
}

/// What the control core asks of a worker's ALG state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgCommand {
    /// Install a pinhole.
    AddPinhole {
        /// Sequence number of this command.
        seq: u64,
        /// The pinhole.
        spec: PinholeSpec,
    },
    /// Remove a pinhole (lapsed, used elsewhere, or its conversation ended).
    RemovePinhole {
        /// Sequence number of this command.
        seq: u64,
        /// The pinhole's ID.
        id: u32,
    },
    /// Change a session's action (an ALG done negotiating lets the worker forward the rest).
    SetAction {
        /// Sequence number of this command.
        seq: u64,
        /// The session's ID.
        session: u32,
        /// The new action.
        action: crate::session::Action,
    },
    /// Close a session the ALG is done with (a DNS query answered).
    CloseSession {
        /// Sequence number of this command.
        seq: u64,
        /// The session's ID.
        session: u32,
    },
    /// A NAT rewrite changed a payload's length: the session's sequence numbers are
    /// shifted by the control core from now on, so the worker's windows (which see them
    /// unshifted one way and shifted the other) track the session but refuse nothing.
    SequenceShifted {
        /// Sequence number of this command.
        seq: u64,
        /// The session's ID.
        session: u32,
    },
}

impl AlgCommand {
    /// The command's sequence number.
    #[must_use]
    pub fn seq(&self) -> u64 {
        match *self {
            AlgCommand::AddPinhole { seq, .. }
            | AlgCommand::RemovePinhole { seq, .. }
            | AlgCommand::SetAction { seq, .. }
            | AlgCommand::CloseSession { seq, .. }
            | AlgCommand::SequenceShifted { seq, .. } => seq,
        }
    }
}

/// Ring sizes and limits of an [`AlgLink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSizes {
    /// Hand-off ring entries.
    pub handoff: usize,
    /// Return ring entries.
    pub returns: usize,
    /// ALG command ring entries.
    pub commands: usize,
    /// Pinholes a worker holds at most.
    pub pinholes: u32,
}

impl Default for LinkSizes {
    fn default() -> Self {
        LinkSizes {
            handoff: 4096,
            returns: 4096,
            commands: 4096,
            pinholes: 16_384,
        }
    }
}

/// One worker's ALG link, shared by the worker and the control core.
#[derive(Debug)]
pub struct AlgLink<P> {
    /// worker → control: packets of Watch sessions.
    pub handoff: ArrayQueue<Handoff<P>>,
    /// control → worker: packets to transmit.
    pub returns: ArrayQueue<Returned<P>>,
    /// control → worker: pinholes and closes.
    pub commands: ArrayQueue<AlgCommand>,
    /// The sequence number of the last command the worker applied.
    pub applied: AtomicU64,
    /// Which ALGs the control core runs (a session of another ALG is forwarded by the
    /// worker like any other).
    pub watch: [bool; AlgKind::ALL.len()],
    /// Pinholes the worker holds at most.
    pub pinhole_capacity: u32,
}

impl<P> AlgLink<P> {
    /// A link of the given sizes for the ALGs in `watch`.
    #[must_use]
    pub fn new(sizes: LinkSizes, watch: [bool; AlgKind::ALL.len()]) -> AlgLink<P> {
        AlgLink {
            handoff: ArrayQueue::new(sizes.handoff.max(1)),
            returns: ArrayQueue::new(sizes.returns.max(1)),
            commands: ArrayQueue::new(sizes.commands.max(1)),
            applied: AtomicU64::new(0),
            watch,
            pinhole_capacity: sizes.pinholes,
        }
    }

    /// True when the control core runs ALG `k`.
    #[must_use]
    pub fn watches(&self, k: AlgKind) -> bool {
        self.watch[k as usize]
    }
}
