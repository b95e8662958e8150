//! Source NAT, the dataplane's side: reply steering ([`steer`]: which public address and
//! port make a reply reach the worker that translated its session), a worker's share of
//! each pool ([`alloc`]), endpoint-independent mappings ([`mapping`]), and a translated
//! session's second wing ([`Wing`], kept by the
//! session table: the key replies carry). The in-place header rewrite is in
//! [`crate::wire::nat`]; the worker's use of all of it in `worker/nat.rs`.

pub mod alloc;
pub mod det;
pub mod dynamic;
pub mod hosts;
pub mod mapping;
pub mod pba;
pub mod steer;

pub use alloc::{Kind, PoolAlloc, MAX_POOL_ADDRESSES};
pub use det::DetPorts;
pub use dynamic::AddrOwners;
pub use hosts::HostCounts;
pub use mapping::{Mapping, MappingTable};
pub use pba::{BlockEvent, PoolBlocks};
pub use steer::Steering;

use crate::flow::FlowKey;

/// Per pool of `config` (configuration order), what `make` builds for it when a rule that
/// `uses` selects names it (`None` for the others); `None` when no rule is selected.
pub(crate) fn per_used_pool<T>(
    config: &svcard_config::Config,
    uses: impl Fn(&svcard_config::nat::NatRule) -> bool,
    make: impl Fn(&svcard_config::nat::NatPool) -> T,
) -> Option<Vec<Option<T>>> {
    let used: Vec<u16> = config
        .nat
        .rules
        .iter()
        .filter(|r| uses(r))
        .map(|r| r.pool)
        .collect();
    if used.is_empty() {
        return None;
    }
    Some(
        config
            .nat
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| used.iter().any(|&u| usize::from(u) == i).then(|| make(p)))
            .collect(),
    )
}

/// A translated session's second wing: the canonical key of its translated tuple (what its
/// replies carry), and the public address and port its initiator was given. The session
/// table indexes the key under the session's slot, so a reply finds the session with one
/// lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C, align(64))]
pub struct Wing {
    /// The translated tuple's canonical key.
    pub key: FlowKey,
    /// The public address (IPv4, network order bytes).
    pub public_addr: [u8; 4],
    /// The public port (ICMP: identifier).
    pub public_port: u16,
    /// The pool (index into the configuration's pools).
    pub pool: u16,
    /// The IPv4 header checksum's adjustment for the initiator's packets (private source to
    /// public, RFC 1624: the one's complement sum of the old words' complements and the new
    /// words); replies take its complement.
    pub adj_ip: u16,
    /// The same for the TCP / UDP checksum (pseudo-header address and port) or the ICMP
    /// checksum (identifier).
    pub adj_l4: u16,
    /// [`wing`] flags.
    pub flags: u8,
}

impl Wing {
    /// The other private host of a hairpinned session ([`wing::HAIRPIN`]): the end of the
    /// wing's key that is not the first host's public endpoint (IPv4 address, port).
    #[must_use]
    pub fn hairpin_other(&self) -> ([u8; 4], u16) {
        let k = &self.key;
        let a = (
            [k.addr_a[0], k.addr_a[1], k.addr_a[2], k.addr_a[3]],
            k.port_a,
        );
        if a == (self.public_addr, self.public_port) {
            (
                [k.addr_b[0], k.addr_b[1], k.addr_b[2], k.addr_b[3]],
                k.port_b,
            )
        } else {
            a
        }
    }
}

/// [`Wing::flags`].
pub mod wing {
    /// The private endpoint is the session's responder: the session came in to an
    /// endpoint-independent mapping (EIF). Otherwise it is the initiator.
    pub const INBOUND: u8 = 0x01;
    /// The public endpoint is an endpoint-independent mapping's, held by the session
    /// (released on the mapping, not on the pool, when it ends).
    pub const EIM: u8 = 0x02;
    /// The public endpoint is one of the pool's ALG ports, taken by the control core for
    /// an ALG's child (an active FTP data connection): the control core gives it back when
    /// the session ends, never the worker.
    pub const ALG: u8 = 0x04;
    /// The public port is a deterministic block's (held in the card-wide
    /// [`super::DetPorts`], given back there).
    pub const DET: u8 = 0x08;
    /// The public port is one of a port block's (given back to the worker's
    /// [`super::PoolBlocks`]).
    pub const PBA: u8 = 0x10;
    /// Hairpinning (RFC 4787 REQ-9): a private host's session to another private host's
    /// mapping. The session's key is the first host's packets' tuple (to the other's public
    /// endpoint); the wing is the other host's packets' tuple (to the first's public
    /// endpoint, [`Wing::public_addr`]); both ends of each packet are rewritten and it goes
    /// back out the port it came in on. The other host's mapping is held by the session.
    pub const HAIRPIN: u8 = 0x20;
    /// The address only (basic-nat44, dynamic-nat44): the port is the private one and
    /// nothing of a pool's ports is held.
    pub const ADDR: u8 = 0x40;
    /// A dynamic-nat44 address, held in the card-wide [`super::AddrOwners`] (one session
    /// fewer on it when the session ends).
    pub const DYN: u8 = 0x80;
}

const _: () = assert!(core::mem::size_of::<Wing>() == 64);
