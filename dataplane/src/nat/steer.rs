//! Which worker a translated session's replies reach, and how a worker chooses its public
//! address and port so that they reach it.
//!
//! A reply carries the public address and port, so the NIC's RSS hashes another tuple than
//! the one that created the session. Under the symmetric Toeplitz key (a 16-bit pattern
//! repeated) the hash of a tuple is the XOR of one function `f` of each of its 16-bit
//! fields, wherever the field lies. With a power-of-two worker count the queue is the
//! hash's low bits, so:
//!
//! * a public port belongs to the worker `f(port) & (W - 1)`: the port space is split
//!   between the workers, and no two workers ever hand out the same (address, port);
//! * a worker choosing for a session to (remote, remote port) takes an address `P` whose
//!   class `f(P.hi) ^ f(P.lo)` equals `f(remote.hi) ^ f(remote.lo) ^ f(remote port)`
//!   (low bits): the fields of the reply other than the port then cancel, and the reply
//!   hashes to the port's owner, the worker that created the session;
//! * ICMP is hashed on addresses only: the address class is chosen so that
//!   `class(remote) ^ class(P)` is the worker itself.
//!
//! So both directions of a translated session reach one worker, with one lookup each, no
//! lock and no hand-off, provided the pool has an address of every class (two addresses
//! that differ in their last bit already cover two workers: `Steering::check` says which
//! are missing).

use crate::flow::SYMMETRIC_RSS_KEY;

/// The Toeplitz contribution of one 16-bit field under [`SYMMETRIC_RSS_KEY`]: the XOR of
/// the key's 32-bit windows at the field's set bits (the key repeats every 16 bits, so the
/// windows do not depend on where the field lies).
#[must_use]
pub const fn field_hash(x: u16) -> u32 {
    let k = SYMMETRIC_RSS_KEY;
    // The key as a 64-bit big-endian number: windows start at bits 0..16.
    let wide = u64::from_be_bytes([k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]]);
    let mut h = 0u32;
    let mut j = 0;
    while j < 16 {
        if x & (0x8000 >> j) != 0 {
            h ^= (wide >> (32 - j)) as u32;
        }
        j += 1;
    }
    h
}

/// A worker's view of reply steering: the worker count's mask and the worker's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steering {
    mask: u16,
    me: u16,
}

impl Steering {
    /// Steering for worker `me` of `workers`; `None` unless `workers` is a power of two (the
    /// queue is then the hash's low bits).
    #[must_use]
    pub fn new(workers: u16, me: u16) -> Option<Self> {
        (workers.is_power_of_two() && me < workers).then_some(Steering {
            mask: workers - 1,
            me,
        })
    }

    /// The worker index this steering is for.
    #[must_use]
    pub fn me(&self) -> u16 {
        self.me
    }

    /// Classes there are (the worker count).
    #[must_use]
    pub fn classes(&self) -> u16 {
        self.mask + 1
    }

    /// The worker that owns public port (or ICMP identifier) `port`.
    #[inline]
    #[must_use]
    pub fn owner(&self, port: u16) -> u16 {
        field_hash(port) as u16 & self.mask
    }

    /// The class of a public endpoint for a session made *to* it from outside and keyed to
    /// a private endpoint (an ALG's child through NAT): the session's two tuples, (remote,
    /// public) and (remote, private), hash to one worker whatever the remote is when
    /// `pair_class(public) == pair_class(private)`.
    #[inline]
    #[must_use]
    pub fn pair_class(&self, addr: u32, port: u16) -> u16 {
        self.addr_class(addr) ^ self.owner(port)
    }

    /// The class a public port needs so that replies from `remote`:`remote_port` to it at
    /// public address `public` (fixed: a deterministic block's) reach this worker.
    #[inline]
    #[must_use]
    pub fn port_class_for(&self, remote: u32, remote_port: u16, public: u32) -> u16 {
        self.me ^ self.class_for_ports(remote, remote_port) ^ self.addr_class(public)
    }

    /// The class of an IPv4 address (host order).
    #[inline]
    #[must_use]
    pub fn addr_class(&self, a: u32) -> u16 {
        (field_hash((a >> 16) as u16) ^ field_hash(a as u16)) as u16 & self.mask
    }

    /// The class a public address needs so that replies from `remote`:`remote_port` to a
    /// port this worker owns reach this worker (TCP, UDP).
    #[inline]
    #[must_use]
    pub fn class_for_ports(&self, remote: u32, remote_port: u16) -> u16 {
        self.addr_class(remote) ^ (field_hash(remote_port) as u16 & self.mask)
    }

    /// The class a public address needs so that ICMP replies from `remote` reach this
    /// worker (hashed on addresses only).
    #[inline]
    #[must_use]
    pub fn class_for_icmp(&self, remote: u32) -> u16 {
        self.addr_class(remote) ^ self.me
    }

    /// The classes none of `addrs` has (replies to those would reach another worker).
    #[must_use]
    pub fn missing_classes(&self, addrs: impl Iterator<Item = u32>) -> Vec<u16> {
        let mut seen = vec![false; usize::from(self.classes())];
        for a in addrs {
            seen[usize::from(self.addr_class(a))] = true;
        }
        (0..self.classes())
            .filter(|&c| !seen[usize::from(c)])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{rss_queue, Endpoint, FlowKey};
    use core::net::Ipv4Addr;
    use proptest::prelude::*;

    fn ep(a: u32, p: u16) -> Endpoint {
        Endpoint {
            addr: Ipv4Addr::from(a).into(),
            port: p,
        }
    }

    #[test]
    fn only_powers_of_two_steer() {
        assert!(Steering::new(1, 0).is_some());
        assert!(Steering::new(4, 3).is_some());
        assert!(Steering::new(3, 0).is_none());
        assert!(Steering::new(2, 2).is_none());
    }

    #[test]
    fn addresses_that_differ_in_their_last_bit_cover_two_workers() {
        let s = Steering::new(2, 0).unwrap();
        let a = u32::from(Ipv4Addr::new(198, 51, 100, 0));
        assert_ne!(s.addr_class(a), s.addr_class(a + 1));
        assert!(s.missing_classes([a, a + 1].into_iter()).is_empty());
        assert_eq!(s.missing_classes([a].into_iter()).len(), 1);
    }

    proptest! {
        /// The reply of a session translated as the steering says reaches the worker that
        /// translated it, by the same RSS a NIC (and the pcap backend) computes.
        #[test]
        fn replies_reach_the_translating_worker(
            shift in 0u32..4, me_seed in any::<u16>(), remote in any::<u32>(),
            rport in any::<u16>(), pool_base in any::<u32>(), port in any::<u16>(),
            tcp in any::<bool>(),
        ) {
            let workers = 1u16 << shift;
            let me = me_seed % workers;
            let s = Steering::new(workers, me).unwrap();
            prop_assume!(s.owner(port) == me);
            // A pool of 256 consecutive addresses has every class of up to 8 workers.
            let want = s.class_for_ports(remote, rport);
            let public = (0..256u32)
                .map(|i| pool_base.wrapping_add(i))
                .find(|&a| s.addr_class(a) == want)
                .unwrap();
            let proto = if tcp { 6 } else { 17 };
            let (k, d) = FlowKey::from_endpoints(proto, ep(remote, rport), ep(public, port));
            prop_assert_eq!(rss_queue(&k, d, workers), me);
            let want = s.class_for_icmp(remote);
            let public = (0..256u32)
                .map(|i| pool_base.wrapping_add(i))
                .find(|&a| s.addr_class(a) == want)
                .unwrap();
            let (k, d) = FlowKey::from_endpoints(1, ep(remote, 7), ep(public, 7));
            prop_assert_eq!(rss_queue(&k, d, workers), me);
        }
    }
}
