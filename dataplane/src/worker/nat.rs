//! Source NAT on the worker: a new session a NAT rule matches gets a public address and
//! port from this worker's share of the pool (chosen so that replies reach this worker,
//! [`crate::nat::steer`]) and a second wing in the table (the translated tuple); its
//! packets are rewritten in place as they pass, the initiator's source out and the replies'
//! destination back; its port goes back to the pool when it ends.

use core::net::Ipv4Addr;

use crate::flow::{Family, FlowKey};
use crate::nat::{Kind, PoolAlloc, Steering, Wing};
use crate::port::{PacketBuf, PortIo, BURST};
use crate::stats::{Counter, Gauge};
use crate::wire::nat::{
    adjustments, rewrite_fast_v4, rewrite_v4_adj, translate_icmp_error_v4, End,
};
use crate::wire::{icmp, ip_proto, Parsed};

use super::state::Worker;
use super::types::FAST;

/// A worker's NAT state: its share of every pool, and its steering.
#[derive(Debug)]
pub struct NatShare {
    pub(super) steer: Steering,
    pub(super) pools: Vec<PoolAlloc>,
}

impl NatShare {
    /// Worker `me` of `workers`' share of the configuration's pools; `None` when the worker
    /// count is not a power of two (replies could not be steered).
    #[must_use]
    pub fn new(cfg: &svcard_config::Config, workers: u16, me: u16) -> Option<Self> {
        let steer = Steering::new(workers.max(1), me)?;
        Some(NatShare {
            steer,
            pools: cfg
                .nat
                .pools
                .iter()
                .map(|p| PoolAlloc::new(p, steer))
                .collect(),
        })
    }

    /// Ports in use, all pools.
    #[must_use]
    pub fn in_use(&self) -> u64 {
        self.pools.iter().map(PoolAlloc::in_use).sum()
    }

    /// Bytes of bitmaps, all pools.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.pools.iter().map(PoolAlloc::memory_bytes).sum()
    }

    /// Gives back a translated session's public port.
    pub(super) fn release(&mut self, key: &FlowKey, w: &Wing) {
        if let (Some(kind), Some(pool)) =
            (Kind::of(key.proto), self.pools.get_mut(usize::from(w.pool)))
        {
            pool.free(kind, u32::from_be_bytes(w.public_addr), w.public_port);
        }
    }
}

/// What the NAT decided for a new session's first packet.
pub(super) enum NatNew {
    /// No rule matched: not translated.
    None,
    /// Translated: the wing to add once the session exists.
    Wing(Wing),
    /// A rule matched but the session cannot be translated: dropped, counted.
    Refused(Counter),
}

impl<P: PortIo> Worker<P> {
    /// The translation of a new IPv4 session of `service_set` whose first packet is `p`:
    /// a public address and port taken from the pool (given back by
    /// [`nat_give_back`](Self::nat_give_back) if the session is not created after all).
    pub(super) fn nat_new(&mut self, service_set: u16, p: &Parsed) -> NatNew {
        let Some(share) = self.nat.as_deref_mut() else {
            return NatNew::None;
        };
        if p.family != 4 {
            return NatNew::None;
        }
        let (src, dst) = (p.src_v4(), p.dst_v4());
        let cfg = &self.setup.config;
        let Some(rule) = cfg.nat_rule_for(service_set, Ipv4Addr::from(src), Ipv4Addr::from(dst))
        else {
            return NatNew::None;
        };
        let pool = cfg.nat.rules[usize::from(rule)].pool;
        let echo = p.proto == ip_proto::ICMP && icmp::is_echo_v4(p.icmp_type);
        let kind = match Kind::of(p.proto) {
            Some(Kind::Icmp) if !echo => None,
            k => k,
        };
        let Some(kind) = kind else {
            return NatNew::Refused(Counter::NatUnsupported);
        };
        let remote = u32::from_be_bytes(dst);
        let class = if kind == Kind::Icmp {
            share.steer.class_for_icmp(remote)
        } else {
            share.steer.class_for_ports(remote, p.dport)
        };
        let Some(alloc) = share.pools.get_mut(usize::from(pool)) else {
            return NatNew::None;
        };
        let Some((addr, port)) = alloc.alloc(kind, Some(class), u32::from_be_bytes(src)) else {
            return NatNew::Refused(Counter::NatPoolExhausted);
        };
        let public = addr.to_be_bytes();
        let mut pub16 = [0u8; 16];
        pub16[..4].copy_from_slice(&public);
        // ICMP echo: the identifier stands for both ports.
        let dport = if kind == Kind::Icmp { port } else { p.dport };
        let (mut key, _) = FlowKey::from_packet(Family::V4, p.proto, pub16, port, p.dst, dport);
        key.vlan = p.vlan;
        if self.table.find(&key, self.table.hash(&key)).is_some() {
            // The translated tuple is another session's (the public address is also a
            // host's): this port will not do.
            if let Some(share) = self.nat.as_deref_mut() {
                if let Some(a) = share.pools.get_mut(usize::from(pool)) {
                    a.free(kind, addr, port);
                }
            }
            return NatNew::Refused(Counter::NatPoolExhausted);
        }
        let (adj_ip, adj_l4) = adjustments(p.proto, src, public, p.sport, port);
        NatNew::Wing(Wing {
            key,
            public_addr: public,
            public_port: port,
            pool,
            adj_ip,
            adj_l4,
        })
    }

    /// Gives a wing's port back (its session was not created, or has ended).
    pub(super) fn nat_give_back(&mut self, key: &FlowKey, w: &Wing) {
        if let Some(share) = self.nat.as_deref_mut() {
            share.release(key, w);
            self.stats.set_gauge(Gauge::NatPortsInUse, share.in_use());
        }
    }

    /// What a packet of translated session `slot` gets written, with the checksum
    /// adjustments: the initiator's source becomes the public address and port, a reply's
    /// destination the private ones.
    #[inline]
    fn nat_target(&self, slot: u32, from_initiator: bool) -> Option<(End, [u8; 4], u16, u16, u16)> {
        let (s, w) = self.table.nat_parts(slot)?;
        if from_initiator {
            Some((End::Src, w.public_addr, w.public_port, w.adj_ip, w.adj_l4))
        } else {
            // The private endpoint: the initiator's end of the key (IPv4: its first bytes).
            let (a, port) = if s.bits & crate::session::bits::INITIATOR_B != 0 {
                (&s.key.addr_b, s.key.port_b)
            } else {
                (&s.key.addr_a, s.key.port_a)
            };
            Some((
                End::Dst,
                [a[0], a[1], a[2], a[3]],
                port,
                !w.adj_ip,
                !w.adj_l4,
            ))
        }
    }

    /// Translates an ICMP error about translated session `slot` (`outer` and `inner`: the
    /// error's and its quote's parses): an error that quotes the initiator's translated
    /// packet (`wing`) goes back to the private host; one from the private host about a
    /// reply it received (`from_initiator` false: the quote is the responder's) leaves from
    /// the public address. An error from inside about the initiator's own packet needs
    /// nothing.
    pub(super) fn nat_icmp_error(
        &self,
        pkt: &mut P::Pkt,
        slot: u32,
        outer: &Parsed,
        inner: &Parsed,
        wing: bool,
        quotes_initiator: bool,
    ) {
        let Some((s, w)) = self.table.nat_parts(slot) else {
            return;
        };
        if wing {
            let private = s.key.src(s.initiator());
            if let core::net::IpAddr::V4(a) = private.addr {
                translate_icmp_error_v4(
                    pkt.data_mut(),
                    outer,
                    inner,
                    End::Dst,
                    End::Src,
                    a.octets(),
                    private.port,
                );
            }
        } else if !quotes_initiator {
            translate_icmp_error_v4(
                pkt.data_mut(),
                outer,
                inner,
                End::Src,
                End::Dst,
                w.public_addr,
                w.public_port,
            );
        }
    }

    /// Rewrites `pkt`, a packet of translated session `slot`.
    pub(super) fn nat_rewrite_pkt(&self, pkt: &mut P::Pkt, slot: u32, from_initiator: bool) {
        if let Some((end, addr, port, adj_ip, adj_l4)) = self.nat_target(slot, from_initiator) {
            rewrite_v4_adj(pkt.data_mut(), end, addr, port, adj_ip, adj_l4);
        }
    }

    /// Rewrites packet `i` of the burst, of translated session `slot` (`wing`: it came
    /// with the translated tuple). False (the caller drops the packet) for a packet that
    /// reached the session's private side without its public address, counted.
    #[inline(never)]
    pub(super) fn nat_rewrite(
        &mut self,
        i: usize,
        slot: u32,
        from_initiator: bool,
        wing: bool,
    ) -> bool {
        if !from_initiator && !wing {
            self.stats.inc(Counter::NatUntranslated);
            return false;
        }
        // A frame the hot parser took has every offset fixed.
        let fast = self.stage.kind[i & (BURST - 1)] & FAST != 0;
        if let Some((end, addr, port, adj_ip, adj_l4)) = self.nat_target(slot, from_initiator) {
            if let Some(pkt) = self.rx.get_mut(i) {
                if fast {
                    rewrite_fast_v4(pkt.data_mut(), end, addr, port, adj_ip, adj_l4);
                } else {
                    rewrite_v4_adj(pkt.data_mut(), end, addr, port, adj_ip, adj_l4);
                }
            }
        }
        true
    }
}
