//! Source NAT on the worker: a new session a NAT rule matches gets a public address and
//! port from this worker's share of the pool (chosen so that replies reach this worker,
//! [`crate::nat::steer`]) or from its private endpoint's endpoint-independent mapping, and
//! a second wing in the table (the translated tuple); a packet to a mapping's public
//! endpoint under endpoint-independent filtering makes a session to the private one. The
//! packets of a translated session are rewritten in place as they pass (the private side's
//! source out, the destination back in); its port goes back to the pool, or its hold on the
//! mapping is released, when it ends.

use core::net::Ipv4Addr;

use crate::flow::{Direction, Family, FlowKey};
use crate::handoff::HandoffNat;
use std::sync::Arc;

use crate::nat::{
    wing, AddrOwners, BlockEvent, DetPorts, HostCounts, Kind, Mapping, MappingTable, PoolAlloc,
    PoolBlocks, Steering, Wing,
};
use crate::port::{PacketBuf, PortIo, BURST};
use crate::session::pinhole::PinholeNat;
use crate::session::Session;
use crate::stats::{Counter, Gauge};
use crate::wire::nat::{
    adjustments, rewrite_fast_v4, rewrite_v4, rewrite_v4_adj, translate_icmp_error_v4, End,
};
use crate::wire::{icmp, ip_proto, Parsed};

use super::state::Worker;
use super::types::FAST;

/// A worker's NAT state: its share of every pool, its steering, its endpoint-independent
/// mappings.
#[derive(Debug)]
pub struct NatShare {
    pub(super) steer: Steering,
    pub(super) pools: Vec<PoolAlloc>,
    pub(super) maps: MappingTable,
    /// Some rule filters endpoint-independently: packets to a pool address are checked
    /// against the mappings.
    pub(super) eif: bool,
    /// Per pool, live sessions in to its mappings.
    pub(super) eif_inbound: Vec<u64>,
    /// Deterministic blocks: the card-wide ports in use (shared with the other workers).
    pub(super) det: Option<Arc<DetPorts>>,
    /// Dynamic NAT44: the card-wide addresses hosts hold (shared with the other workers).
    pub(super) owners: Option<Arc<AddrOwners>>,
    /// Per pool with `max-sessions-per-host`: this worker's count of each host's sessions.
    pub(super) hosts: Vec<Option<HostCounts>>,
    /// Per pool, this worker's deterministic sessions: ports held now, the most at once,
    /// and sessions refused because the host's block had no free port of the class.
    pub(super) det_figures: Vec<[u64; 3]>,
    /// Per pool, its port blocks on this worker (pools with port block allocation).
    pub(super) pba: Vec<Option<PoolBlocks>>,
    /// Port block events not yet on the ring (an allocation, and the release of a block
    /// its session was not made after all; sent by the worker right after, in order).
    pub(super) block_events: [Option<BlockEvent>; 2],
    /// Per session slot, the two hosts' Ethernet addresses of a hairpinned session (the
    /// initiator's, then the other's); sized only when a rule filters
    /// endpoint-independently (hairpinning needs it).
    pub(super) hairpin_macs: Vec<[u8; 12]>,
}

impl NatShare {
    /// Worker `me` of `workers`' share of the configuration's pools, with room for
    /// `capacity` mappings when a rule maps endpoint-independently; `None` when the worker
    /// count is not a power of two (replies could not be steered).
    #[must_use]
    pub fn new(cfg: &svcard_config::Config, workers: u16, me: u16, capacity: u32) -> Option<Self> {
        let steer = Steering::new(workers.max(1), me)?;
        let eim = cfg.nat.rules.iter().any(|r| r.eim);
        Some(NatShare {
            steer,
            pools: cfg
                .nat
                .pools
                .iter()
                .map(|p| PoolAlloc::new(p, steer))
                .collect(),
            maps: MappingTable::new(if eim { capacity } else { 0 }),
            eif: cfg.nat.rules.iter().any(|r| r.eif),
            eif_inbound: vec![0; cfg.nat.pools.len()],
            det: None,
            owners: None,
            hosts: cfg
                .nat
                .pools
                .iter()
                .map(|p| {
                    p.host_limit_per_worker(workers)
                        .map(|l| HostCounts::new(capacity, l))
                })
                .collect(),
            det_figures: vec![[0; 3]; cfg.nat.pools.len()],
            pba: cfg
                .nat
                .pools
                .iter()
                .map(|p| p.pba.map(|b| PoolBlocks::new(p, b, steer)))
                .collect(),
            block_events: [None; 2],
            hairpin_macs: if cfg.nat.rules.iter().any(|r| r.eif) {
                vec![[0; 12]; capacity as usize]
            } else {
                Vec::new()
            },
        })
    }

    /// Ports in use, all pools.
    #[must_use]
    pub fn in_use(&self) -> u64 {
        self.pools.iter().map(PoolAlloc::in_use).sum::<u64>()
            + self.det_figures.iter().map(|f| f[0]).sum::<u64>()
            + self
                .pba
                .iter()
                .flatten()
                .map(|b| b.ports_in_use)
                .sum::<u64>()
    }

    /// Puts the port block events kept onto ring `q`; returns how many a full ring lost.
    pub(super) fn flush_events(&mut self, q: &crossbeam_queue::ArrayQueue<BlockEvent>) -> u64 {
        let mut lost = 0;
        for e in self.block_events.iter_mut().filter_map(Option::take) {
            lost += u64::from(q.push(e).is_err());
        }
        lost
    }

    /// One session fewer of private host `host` in `pool`'s per-host count.
    fn host_gone(&mut self, pool: u16, host: u32) {
        if let Some(Some(h)) = self.hosts.get_mut(usize::from(pool)) {
            h.give(host);
        }
    }

    /// One session fewer of `host` on dynamic address `addr`.
    fn addr_release(&mut self, pool: u16, host: u32, addr: u32) {
        if let Some(o) = self.owners.as_deref() {
            o.release(pool, host, addr);
            self.det_count(pool, false);
        }
    }

    /// A hairpinned session lets go of the other host's mapping (its public port goes back
    /// to the pool with the mapping's last session).
    fn release_other(&mut self, kind: Kind, w: &Wing) {
        let (b, bport) = hairpin_other(w);
        if let Some(m) = self.maps.release(kind, b, bport) {
            if let Some(pool) = self.pools.get_mut(usize::from(m.pool)) {
                pool.free(kind, m.public.0, m.public.1);
            }
        }
    }

    /// Keeps a port block event for the worker to send.
    fn keep_event(&mut self, e: BlockEvent) {
        if let Some(slot) = self.block_events.iter_mut().find(|s| s.is_none()) {
            *slot = Some(e);
        }
    }

    /// Gives back a port of a block; a block that empties goes back (its event kept for
    /// the worker to send).
    fn pba_release(&mut self, pool: u16, kind: Kind, public: u32, port: u16) {
        if let Some(Some(b)) = self.pba.get_mut(usize::from(pool)) {
            if let Some(mut e) = b.free(kind, public, port) {
                e.pool = pool;
                self.keep_event(e);
            }
        }
    }

    /// A deterministic port of `pool` is held (`true`) or given back.
    fn det_count(&mut self, pool: u16, held: bool) {
        if let Some(f) = self.det_figures.get_mut(usize::from(pool)) {
            if held {
                f[0] += 1;
                f[1] = f[1].max(f[0]);
            } else {
                f[0] = f[0].saturating_sub(1);
            }
        }
    }

    /// Gives back a deterministic port.
    fn det_release(&mut self, pool: u16, kind: Kind, public: u32, port: u16) {
        if self
            .det
            .as_deref()
            .is_some_and(|d| d.release(pool, kind, public, port))
        {
            self.det_count(pool, false);
        }
    }

    /// Bytes of bitmaps, all pools.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.pools.iter().map(PoolAlloc::memory_bytes).sum()
    }

    /// A translated session ends: its hold on its mapping goes (and the mapping's port with
    /// the last one), or its port goes back to the pool.
    pub(super) fn release(&mut self, s: &Session, w: &Wing) {
        let Some(kind) = Kind::of(s.key.proto) else {
            return;
        };
        let (public, pport) = (u32::from_be_bytes(w.public_addr), w.public_port);
        if w.flags & (wing::INBOUND | wing::ALG) == 0 {
            let (host, _) = private_of(s, w);
            self.host_gone(w.pool, u32::from_be_bytes(host));
        }
        if w.flags & wing::ALG != 0 {
            // One of the pool's ALG ports: the control core's to give back.
            return;
        }
        if w.flags & wing::ADDR != 0 {
            if w.flags & wing::DYN != 0 {
                let (host, _) = private_of(s, w);
                self.addr_release(w.pool, u32::from_be_bytes(host), public);
            }
            return;
        }
        if w.flags & wing::DET != 0 {
            self.det_release(w.pool, kind, public, pport);
            return;
        }
        if w.flags & wing::PBA != 0 {
            self.pba_release(w.pool, kind, public, pport);
            return;
        }
        if w.flags & wing::INBOUND != 0 {
            if let Some(n) = self.eif_inbound.get_mut(usize::from(w.pool)) {
                *n = n.saturating_sub(1);
            }
        }
        if w.flags & wing::HAIRPIN != 0 {
            self.release_other(kind, w);
        }
        if w.flags & wing::EIM != 0 {
            let (a, p) = private_of(s, w);
            if self.maps.release(kind, u32::from_be_bytes(a), p).is_none() {
                return;
            }
        }
        if let Some(pool) = self.pools.get_mut(usize::from(w.pool)) {
            pool.free(kind, public, pport);
        }
    }
}

/// The private endpoint of translated session `s`: its initiator's end, or its
/// responder's when it came in to a mapping.
#[inline]
fn private_of(s: &Session, w: &Wing) -> ([u8; 4], u16) {
    let mut dir = s.initiator();
    if w.flags & wing::INBOUND != 0 {
        dir = dir.reverse();
    }
    let (a, p) = if dir == Direction::AtoB {
        (&s.key.addr_a, s.key.port_a)
    } else {
        (&s.key.addr_b, s.key.port_b)
    };
    ([a[0], a[1], a[2], a[3]], p)
}

/// The other host of a hairpinned session (host-order address, port).
fn hairpin_other(w: &Wing) -> (u32, u16) {
    let (addr, port) = w.hairpin_other();
    (u32::from_be_bytes(addr), port)
}

/// Why a packet of a translated session gets no one-end rewrite: its session is
/// hairpinned (`true`: both ends, back out its port), or it reached the private side
/// without the public endpoint (`false`: dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hairpin(bool);

/// What the NAT decided for a new session's first packet.
pub(super) enum NatNew {
    /// No rule matched: not translated.
    None,
    /// Translated: the wing to add once the session exists.
    Wing(Wing),
    /// A rule matched but the session cannot be translated: dropped, counted.
    Refused(Counter),
}

/// A packet to a pool address with no session: what endpoint-independent filtering makes
/// of it.
pub(super) enum Inbound {
    /// Not to a pool address: not NAT's business.
    NotNat,
    /// To a mapping that admits it: the session's key (to the private endpoint), its hash,
    /// the packet's direction in it, and the wing (the packet's own tuple).
    Session(FlowKey, u64, Direction, Wing),
    /// To a pool address that nothing admits: dropped, counted.
    Filtered,
    /// From a private host to another's mapping: hairpinned. The wing.
    Hairpin(Wing),
}

impl<P: PortIo> Worker<P> {
    /// The translation of a new IPv4 session of `service_set` whose first packet is `p`:
    /// its private endpoint's mapping (endpoint-independent), or a public address and port
    /// taken from the pool (given back by [`nat_give_back`](Self::nat_give_back) if the
    /// session is not created after all).
    pub(super) fn nat_new(
        &mut self,
        service_set: u16,
        p: &Parsed,
        now_ms: u32,
        mac: [u8; 6],
    ) -> NatNew {
        if self.nat.is_none() || p.family != 4 {
            return NatNew::None;
        }
        let (src, dst) = (p.src_v4(), p.dst_v4());
        let cfg = &self.setup.config;
        let Some(rule) = cfg.nat_rule_for(service_set, Ipv4Addr::from(src), Ipv4Addr::from(dst))
        else {
            return NatNew::None;
        };
        let private = u32::from_be_bytes(src);
        let pool = cfg.nat.rules[usize::from(rule)].pool;
        match self.nat_public(rule, p, now_ms, mac) {
            Ok((public, flags)) => self.nat_wing(p, private, public, pool, flags),
            Err(c) => NatNew::Refused(c),
        }
    }

    /// The public endpoint NAT rule `rule` gives the source of new session `p` (its
    /// endpoint-independent mapping's, a deterministic block's, a port block's, an
    /// address's or the pool's), with the wing flags that say where it came from; `Err`:
    /// refused, counted so. A pool with `max-sessions-per-host` counts the host's session
    /// first.
    fn nat_public(
        &mut self,
        rule: u16,
        p: &Parsed,
        now_ms: u32,
        mac: [u8; 6],
    ) -> Result<((u32, u16), u8), Counter> {
        let host = u32::from_be_bytes(p.src_v4());
        let pool = self.setup.config.nat.rules[usize::from(rule)].pool;
        if let Some(Some(h)) = self
            .nat
            .as_deref_mut()
            .and_then(|n| n.hosts.get_mut(usize::from(pool)))
        {
            if !h.take(host) {
                return Err(Counter::NatHostLimitDrops);
            }
        }
        let got = self.nat_public_of(rule, p, now_ms, mac);
        if got.is_err() {
            if let Some(n) = self.nat.as_deref_mut() {
                n.host_gone(pool, host);
            }
        }
        got
    }

    /// [`nat_public`](Self::nat_public) past the host's count: where the endpoint comes
    /// from, by the rule's translation type.
    fn nat_public_of(
        &mut self,
        rule: u16,
        p: &Parsed,
        now_ms: u32,
        mac: [u8; 6],
    ) -> Result<((u32, u16), u8), Counter> {
        let Some(share) = self.nat.as_deref_mut() else {
            return Err(Counter::NatUnsupported);
        };
        let (src, dst) = (p.src_v4(), p.dst_v4());
        let cfg = &self.setup.config;
        let r = &cfg.nat.rules[usize::from(rule)];
        let pool = r.pool;
        let echo = p.proto == ip_proto::ICMP && icmp::is_echo_v4(p.icmp_type);
        let kind = match Kind::of(p.proto) {
            Some(Kind::Icmp) if !echo => None,
            k => k,
        };
        let Some(kind) = kind else {
            return Err(Counter::NatUnsupported);
        };
        let private = u32::from_be_bytes(src);
        let mut flags = 0;
        // The address only: the port (ICMP: identifier) stays the host's.
        match r.translation {
            svcard_config::nat::Translation::Basic => {
                let Some((addr, _)) = r.det.as_ref().and_then(|d| d.block_of(private)) else {
                    return Err(Counter::NatPoolExhausted);
                };
                return Ok(((addr, p.sport), wing::ADDR));
            }
            svcard_config::nat::Translation::Dynamic => {
                let taken = share
                    .owners
                    .as_deref()
                    .and_then(|o| o.take(pool, private, share.steer));
                let Some(addr) = taken else {
                    if let Some(f) = share.det_figures.get_mut(usize::from(pool)) {
                        f[2] += 1;
                    }
                    return Err(Counter::NatPoolExhausted);
                };
                share.det_count(pool, true);
                return Ok(((addr, p.sport), wing::ADDR | wing::DYN));
            }
            _ => {}
        }
        // Deterministic: the host's address and block are computed. Address pooling
        // paired: the host's address is (the whole port range is its "block"). Either way a
        // port whose class steers the reply here is claimed card-wide.
        let fixed = if let Some(d) = r.det.as_ref() {
            d.block_of(private).map(|(a, first)| (a, (first, d.block)))
        } else if r.paired {
            cfg.nat.pools.get(usize::from(pool)).and_then(|pl| {
                let (low, high) = pl.worker_ports();
                pl.paired_address(private)
                    .map(|a| (a, (low, high - low + 1)))
            })
        } else {
            None
        };
        if r.det.is_some() || r.paired {
            let (Some((addr, block)), Some(ports)) = (fixed, share.det.as_deref()) else {
                return Err(Counter::NatPoolExhausted);
            };
            let remote = u32::from_be_bytes(dst);
            let steer = share.steer;
            let class = if kind == Kind::Icmp {
                // ICMP is hashed on addresses only: the fixed address steers or it does not.
                if steer.addr_class(remote) ^ steer.addr_class(addr) != steer.me() {
                    return Err(Counter::NatUnsupported);
                }
                None
            } else {
                Some(steer.port_class_for(remote, p.dport, addr))
            };
            let start = (u32::from(p.sport) ^ remote.rotate_left(7) ^ u32::from(p.dport) << 16)
                .wrapping_mul(0x9E37_79B1)
                >> 16;
            let claimed = ports.claim(pool, kind, addr, block, steer, class, start as u16);
            let Some(port) = claimed else {
                if let Some(f) = share.det_figures.get_mut(usize::from(pool)) {
                    f[2] += 1;
                }
                return Err(Counter::NatPoolExhausted);
            };
            share.det_count(pool, true);
            return Ok(((addr, port), wing::DET));
        }
        if let Some(Some(blocks)) = share.pba.get_mut(usize::from(pool)) {
            // Port blocks: the host's active block, or a new one (its event sent).
            let remote = (u32::from_be_bytes(dst), p.dport);
            let Some(((addr, port), ev)) = blocks.alloc(private, kind, remote, share.steer, now_ms)
            else {
                return Err(Counter::NatPoolExhausted);
            };
            if let Some(mut e) = ev {
                e.pool = pool;
                share.keep_event(e);
            }
            // The caller sends the block's event.
            return Ok(((addr, port), wing::PBA));
        }
        let held = if r.eim {
            share
                .maps
                .by_private(kind, private, p.sport)
                .map(|m| m.public)
        } else {
            None
        };
        let (addr, port) = match held {
            Some(public) => {
                share.maps.hold(kind, private, p.sport);
                flags |= wing::EIM;
                public
            }
            None => {
                let remote = u32::from_be_bytes(dst);
                // Endpoint-independent mappings run on one worker (the engine says so):
                // their address cannot follow each remote's class.
                let class = if r.eim {
                    None
                } else if kind == Kind::Icmp {
                    Some(share.steer.class_for_icmp(remote))
                } else {
                    Some(share.steer.class_for_ports(remote, p.dport))
                };
                let Some(alloc) = share.pools.get_mut(usize::from(pool)) else {
                    return Err(Counter::NatPoolExhausted);
                };
                let Some((addr, port)) = alloc.alloc(kind, class, (private, p.sport)) else {
                    return Err(Counter::NatPoolExhausted);
                };
                if r.eim {
                    let m = Mapping {
                        kind: kind as u8,
                        private: (private, p.sport),
                        public: (addr, port),
                        pool,
                        rule,
                        refs: 1,
                        mac,
                    };
                    if !share.maps.insert(m) {
                        alloc.free(kind, addr, port);
                        return Err(Counter::NatPoolExhausted);
                    }
                    flags |= wing::EIM;
                }
                (addr, port)
            }
        };
        Ok(((addr, port), flags))
    }

    /// The wing of a new session from `private` (the packet `p`'s source) translated to
    /// public `addr`:`port` of `pool`, or its refusal when the translated tuple is another
    /// session's (what was taken is given back).
    fn nat_wing(
        &mut self,
        p: &Parsed,
        private: u32,
        (addr, port): (u32, u16),
        pool: u16,
        flags: u8,
    ) -> NatNew {
        let src = p.src_v4();
        let kind = Kind::of(p.proto).unwrap_or(Kind::Icmp);
        let public = addr.to_be_bytes();
        let mut pub16 = [0u8; 16];
        pub16[..4].copy_from_slice(&public);
        // ICMP echo: the identifier stands for both ports.
        let dport = if kind == Kind::Icmp { port } else { p.dport };
        let (mut key, _) = FlowKey::from_packet(Family::V4, p.proto, pub16, port, p.dst, dport);
        key.vlan = p.vlan;
        let (adj_ip, adj_l4) = adjustments(p.proto, src, public, p.sport, port);
        let w = Wing {
            key,
            public_addr: public,
            public_port: port,
            pool,
            adj_ip,
            adj_l4,
            flags,
        };
        if self.table.find(&key, self.table.hash(&key)).is_some() {
            // The translated tuple is another session's (the public address is also a
            // host's, or a mapping already talks to this remote port): not this one.
            self.nat_undo(p.proto, private, p.sport, &w);
            return NatNew::Refused(Counter::NatPoolExhausted);
        }
        NatNew::Wing(w)
    }

    /// Takes back what [`nat_new`](Self::nat_new) or [`nat_inbound`](Self::nat_inbound)
    /// took for a session keyed `key`, its initiator in direction `dir`, that is not made.
    pub(super) fn nat_abandon(&mut self, key: &FlowKey, dir: Direction, w: &Wing) {
        let private = if w.flags & wing::INBOUND != 0 {
            key.dst(dir)
        } else {
            key.src(dir)
        };
        if let core::net::IpAddr::V4(a) = private.addr {
            self.nat_undo(key.proto, u32::from(a), private.port, w);
        }
        if let Some(share) = self.nat.as_deref() {
            self.stats.set_gauge(Gauge::NatPortsInUse, share.in_use());
        }
    }

    /// Takes back what [`nat_new`](Self::nat_new) took for a session that is not made.
    fn nat_undo(&mut self, proto: u8, private: u32, pport: u16, w: &Wing) {
        let (Some(share), Some(kind)) = (self.nat.as_deref_mut(), Kind::of(proto)) else {
            return;
        };
        if w.flags & (wing::INBOUND | wing::ALG) == 0 {
            share.host_gone(w.pool, private);
        }
        if w.flags & wing::ALG != 0 {
            return;
        }
        if w.flags & wing::HAIRPIN != 0 {
            share.release_other(kind, w);
        }
        let public = (u32::from_be_bytes(w.public_addr), w.public_port);
        if w.flags & wing::ADDR != 0 {
            if w.flags & wing::DYN != 0 {
                share.addr_release(w.pool, private, public.0);
            }
            return;
        }
        if w.flags & wing::DET != 0 {
            share.det_release(w.pool, kind, public.0, public.1);
            return;
        }
        if w.flags & wing::PBA != 0 {
            share.pba_release(w.pool, kind, public.0, public.1);
            self.send_block_event();
            return;
        }
        if w.flags & wing::EIM != 0 && share.maps.release(kind, private, pport).is_none() {
            return;
        }
        if let Some(a) = share.pools.get_mut(usize::from(w.pool)) {
            a.free(kind, u32::from_be_bytes(w.public_addr), w.public_port);
        }
    }

    /// A packet without a session (`p`, keyed `key`): to a mapping under
    /// endpoint-independent filtering it makes a session to the private endpoint; to any
    /// other pool address it is filtered.
    pub(super) fn nat_inbound(
        &mut self,
        p: &Parsed,
        key: &FlowKey,
        now_ms: u32,
        mac: [u8; 6],
    ) -> Inbound {
        let Some(share) = self.nat.as_deref() else {
            return Inbound::NotNat;
        };
        if p.family != 4 {
            return Inbound::NotNat;
        }
        let dst = p.dst_v4();
        let cfg = &self.setup.config;
        if !cfg
            .nat
            .pools
            .iter()
            .any(|x| x.contains(Ipv4Addr::from(dst)))
        {
            return Inbound::NotNat;
        }
        let m = match Kind::of(p.proto) {
            Some(kind @ (Kind::Tcp | Kind::Udp)) if share.eif => {
                share.maps.by_public(kind, u32::from_be_bytes(dst), p.dport)
            }
            _ => None,
        };
        let Some(m) = m
            .filter(|m| {
                cfg.nat
                    .rules
                    .get(usize::from(m.rule))
                    .is_some_and(|r| r.eif)
            })
            .copied()
        else {
            return Inbound::Filtered;
        };
        let src = Ipv4Addr::from(p.src_v4());
        if cfg
            .nat
            .rules
            .get(usize::from(m.rule))
            .is_some_and(|r| r.matches(src, Ipv4Addr::from(dst)))
        {
            // From one of the mapping's own private hosts: hairpinned.
            return match self.nat_hairpin(p, &m, now_ms, mac) {
                Some(w) => Inbound::Hairpin(w),
                None => Inbound::Filtered,
            };
        }
        let (private, pport) = (m.private.0.to_be_bytes(), m.private.1);
        let mut priv16 = [0u8; 16];
        priv16[..4].copy_from_slice(&private);
        let (mut k, d) = FlowKey::from_packet(Family::V4, p.proto, p.src, p.sport, priv16, pport);
        k.vlan = p.vlan;
        if self.table.find(&k, self.table.hash(&k)).is_some() {
            // The private endpoint already has a session with this remote endpoint (under
            // another mapping): not made twice.
            return Inbound::Filtered;
        }
        let (adj_ip, adj_l4) = adjustments(p.proto, private, dst, pport, p.dport);
        let w = Wing {
            key: *key,
            public_addr: dst,
            public_port: p.dport,
            pool: m.pool,
            adj_ip,
            adj_l4,
            flags: wing::INBOUND | wing::EIM,
        };
        let kind = if p.proto == ip_proto::TCP {
            Kind::Tcp
        } else {
            Kind::Udp
        };
        if let Some(share) = self.nat.as_deref_mut() {
            share.maps.hold(kind, m.private.0, pport);
        }
        Inbound::Session(k, self.table.hash(&k), d, w)
    }

    /// Hairpinning (RFC 4787 REQ-9): private host A's packet `p` to private host B's
    /// mapping `m`. A gets its own public endpoint, as any session of its rule (so B sees A
    /// as the outside would); B's mapping is held for the session. The wing is B's packets'
    /// tuple (B to A's public endpoint). `None` when A gets no public endpoint.
    fn nat_hairpin(&mut self, p: &Parsed, m: &Mapping, now_ms: u32, mac: [u8; 6]) -> Option<Wing> {
        let kind = Kind::of(p.proto)?;
        let ((a, port), flags) = self.nat_public(m.rule, p, now_ms, mac).ok()?;
        let mut pub16 = [0u8; 16];
        pub16[..4].copy_from_slice(&a.to_be_bytes());
        let mut b16 = [0u8; 16];
        b16[..4].copy_from_slice(&m.private.0.to_be_bytes());
        let (mut key, _) = FlowKey::from_packet(Family::V4, p.proto, b16, m.private.1, pub16, port);
        key.vlan = p.vlan;
        let w = Wing {
            key,
            public_addr: a.to_be_bytes(),
            public_port: port,
            pool: m.pool,
            adj_ip: 0,
            adj_l4: 0,
            flags: flags | wing::HAIRPIN,
        };
        if self.table.find(&key, self.table.hash(&key)).is_some() {
            self.nat_undo(
                p.proto,
                u32::from_be_bytes(p.src_v4()),
                p.sport,
                &Wing { flags, ..w },
            );
            return None;
        }
        let share = self.nat.as_deref_mut()?;
        share.maps.hold(kind, m.private.0, m.private.1);
        Some(w)
    }

    /// Notes the two hosts' Ethernet addresses of hairpinned session `slot`.
    pub(super) fn hairpin_made(&mut self, slot: u32, a_mac: [u8; 6], w: &Wing) {
        let Some(share) = self.nat.as_deref_mut() else {
            return;
        };
        let kind = Kind::of(w.key.proto).unwrap_or(Kind::Udp);
        let (b, bport) = hairpin_other(w);
        let b_mac = share
            .maps
            .by_private(kind, b, bport)
            .map_or([0; 6], |m| m.mac);
        if let Some(cell) = share.hairpin_macs.get_mut(slot as usize) {
            cell[..6].copy_from_slice(&a_mac);
            cell[6..].copy_from_slice(&b_mac);
        }
    }

    /// Rewrites a packet of hairpinned session `slot` (from the first host when
    /// `from_initiator`, else from the other): both its ends (its source to its sender's
    /// public endpoint, its destination to the receiver's private one) and its Ethernet
    /// addresses (to the receiver, from the gateway the sender addressed), for it to go back
    /// out the port it came in on.
    pub(super) fn hairpin_rewrite(&self, frame: &mut [u8], slot: u32, from_initiator: bool) {
        let Some((s, w)) = self.table.nat_parts(slot) else {
            return;
        };
        let dir = s.initiator();
        let (a, a_port) = (s.key.src(dir), s.key.src(dir).port);
        let (pb, pb_port) = (s.key.dst(dir), s.key.dst(dir).port);
        let v4 = |e: crate::flow::Endpoint| match e.addr {
            core::net::IpAddr::V4(x) => x.octets(),
            core::net::IpAddr::V6(_) => [0; 4],
        };
        let (b, b_port) = hairpin_other(w);
        let macs = self
            .nat
            .as_deref()
            .and_then(|n| n.hairpin_macs.get(slot as usize))
            .copied()
            .unwrap_or([0; 12]);
        let (src, dst, to_mac) = if from_initiator {
            (
                (w.public_addr, w.public_port),
                (b.to_be_bytes(), b_port),
                &macs[6..],
            )
        } else {
            ((v4(pb), pb_port), (v4(a), a_port), &macs[..6])
        };
        rewrite_v4(frame, End::Src, src.0, src.1);
        rewrite_v4(frame, End::Dst, dst.0, dst.1);
        if frame.len() >= 12 {
            // From the gateway the sender addressed, to the receiver.
            frame.copy_within(0..6, 6);
            frame[..6].copy_from_slice(to_mac);
        }
    }

    /// A packet that matched an ALG's pinhole through NAT (`n`: it came to the public
    /// endpoint the control core wrote into the parent's payload): its session is keyed to
    /// the private endpoint, the packet's own tuple (`key`) its second wing. Returns the
    /// session's key, hash, the packet's direction in it and the wing; `None` when the
    /// private endpoint already has a session with this remote endpoint.
    pub(super) fn nat_pinhole(
        &self,
        p: &Parsed,
        key: &FlowKey,
        n: &PinholeNat,
    ) -> Option<(FlowKey, u64, Direction, Wing)> {
        let (private, pport) = n.private;
        let mut priv16 = [0u8; 16];
        priv16[..4].copy_from_slice(&private);
        let (mut k, d) = FlowKey::from_packet(Family::V4, p.proto, p.src, p.sport, priv16, pport);
        k.vlan = p.vlan;
        let h = self.table.hash(&k);
        if self.table.find(&k, h).is_some() {
            return None;
        }
        let (adj_ip, adj_l4) = adjustments(p.proto, private, n.public.0, pport, n.public.1);
        let w = Wing {
            key: *key,
            public_addr: n.public.0,
            public_port: n.public.1,
            pool: n.pool,
            adj_ip,
            adj_l4,
            flags: wing::INBOUND | wing::ALG,
        };
        Some((k, h, d, w))
    }

    /// What the control core needs of session `slot`'s NAT to run its ALG (`None`: not
    /// translated).
    pub(super) fn handoff_nat(&self, slot: u32) -> Option<HandoffNat> {
        let (s, w) = self.table.nat_parts(slot)?;
        Some(HandoffNat {
            private: private_of(s, w),
            public: (w.public_addr, w.public_port),
            pool: w.pool,
            private_initiates: w.flags & wing::INBOUND == 0,
        })
    }

    /// Copies each pool's figures into the worker's counters (published with them).
    pub(super) fn publish_nat(&mut self) {
        use crate::stats::{PoolFigure, MAX_NAT_POOLS};
        let Some(share) = self.nat.as_deref() else {
            return;
        };
        for (i, pool) in share.pools.iter().enumerate().take(MAX_NAT_POOLS) {
            let f = &mut self.stats.nat_pools[i];
            f[PoolFigure::PortsInUse as usize] = pool.in_use();
            f[PoolFigure::OutOfPortErrors as usize] = pool.out_of_port();
            f[PoolFigure::MaxPortsInUse as usize] = pool.max_in_use();
            f[PoolFigure::EifInbound as usize] = share.eif_inbound.get(i).copied().unwrap_or(0);
            if let Some(Some(b)) = share.pba.get(i) {
                f[PoolFigure::PortsInUse as usize] += b.ports_in_use;
                f[PoolFigure::MaxPortsInUse as usize] += b.max_ports_in_use;
                f[PoolFigure::OutOfPortErrors as usize] += b.out_of_port();
            }
            if let Some(d) = share.det_figures.get(i) {
                f[PoolFigure::PortsInUse as usize] += d[0];
                f[PoolFigure::MaxPortsInUse as usize] += d[1];
                f[PoolFigure::OutOfPortErrors as usize] += d[2];
            }
        }
    }

    /// Sends the port block event the NAT state keeps (a full ring loses it, counted).
    pub(super) fn send_block_event(&mut self) {
        let Some(share) = self.nat.as_deref_mut() else {
            return;
        };
        let lost = share.flush_events(&self.setup.rings.nat_events);
        self.stats.add(Counter::NatBlockEventsLost, lost);
    }

    /// Counts a session made in to a mapping of `pool`.
    pub(super) fn nat_inbound_made(&mut self, pool: u16) {
        if let Some(n) = self
            .nat
            .as_deref_mut()
            .and_then(|s| s.eif_inbound.get_mut(usize::from(pool)))
        {
            *n += 1;
        }
    }

    /// Gives a wing's port back, or its hold on its mapping (its session has ended, or was
    /// not made: `s` is its hot part, with the key and initiator it has or would have had).
    pub(super) fn nat_give_back(&mut self, s: &Session, w: &Wing) {
        if let Some(share) = self.nat.as_deref_mut() {
            share.release(s, w);
            self.stats.set_gauge(Gauge::NatPortsInUse, share.in_use());
        }
        self.send_block_event();
    }

    /// What a packet of translated session `slot` travelling from the initiator or not
    /// (`wing`: it came with the translated tuple) gets written, with the checksum
    /// adjustments: the private side's source becomes the public address and port, a
    /// packet to the public endpoint gets the private ones. `Err` for a packet that reached
    /// the private side without the public endpoint (it is dropped).
    #[inline]
    #[allow(clippy::type_complexity)]
    fn nat_target(
        &self,
        slot: u32,
        from_initiator: bool,
        wing_match: bool,
    ) -> Result<Option<(End, [u8; 4], u16, u16, u16)>, Hairpin> {
        let Some((s, w)) = self.table.nat_parts(slot) else {
            return Ok(None);
        };
        if w.flags & wing::HAIRPIN != 0 {
            return Err(Hairpin(true));
        }
        let from_private = from_initiator != (w.flags & wing::INBOUND != 0);
        if from_private {
            Ok(Some((
                End::Src,
                w.public_addr,
                w.public_port,
                w.adj_ip,
                w.adj_l4,
            )))
        } else if wing_match {
            let (a, p) = private_of(s, w);
            Ok(Some((End::Dst, a, p, !w.adj_ip, !w.adj_l4)))
        } else {
            Err(Hairpin(false))
        }
    }

    /// Translates an ICMP error about translated session `slot` (`outer` and `inner`: the
    /// error's and its quote's parses, `wing_match`: the quote is the translated tuple): an
    /// error quoting a translated packet the private side sent goes back to the private
    /// host; one from the private host about a packet it received leaves from the public
    /// address. An error from the private side about its own untranslated packet needs
    /// nothing.
    pub(super) fn nat_icmp_error(
        &self,
        pkt: &mut P::Pkt,
        slot: u32,
        outer: &Parsed,
        inner: &Parsed,
        wing_match: bool,
    ) {
        let Some((s, w)) = self.table.nat_parts(slot) else {
            return;
        };
        let (private, pport) = private_of(s, w);
        if wing_match && inner.src_v4() == w.public_addr {
            translate_icmp_error_v4(
                pkt.data_mut(),
                outer,
                inner,
                End::Dst,
                End::Src,
                private,
                pport,
            );
        } else if !wing_match && inner.dst_v4() == private {
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

    /// Rewrites `pkt`, a packet of translated session `slot` that matched its session (a
    /// first packet, a later fragment).
    pub(super) fn nat_rewrite_pkt(
        &self,
        pkt: &mut P::Pkt,
        slot: u32,
        from_initiator: bool,
        wing_match: bool,
    ) {
        if let Ok(Some((end, addr, port, adj_ip, adj_l4))) =
            self.nat_target(slot, from_initiator, wing_match)
        {
            rewrite_v4_adj(pkt.data_mut(), end, addr, port, adj_ip, adj_l4);
        }
    }

    /// The rare packets of translated sessions that get no one-end rewrite: a hairpinned
    /// session's (both ends rewritten, back out the port it came in on), and one that reached
    /// the private side without the public endpoint (counted; the caller drops it).
    #[cold]
    #[inline(never)]
    fn nat_not_rewritten(
        &mut self,
        i: usize,
        slot: u32,
        from_initiator: bool,
        port: u16,
        h: Hairpin,
    ) {
        if h.0 {
            if let Some(mut pkt) = self.take_for_slow_path(i) {
                self.hairpin_rewrite(pkt.data_mut(), slot, from_initiator);
                self.queue_out(port, pkt);
            }
        } else {
            self.stats.inc(Counter::NatUntranslated);
        }
    }

    /// Rewrites packet `i` of the burst, of translated session `slot` (`wing_match`: it
    /// came with the translated tuple; `port`: in on that port). False when the packet has
    /// left the burst: a hairpinned one went back out `port`, or one that reached the
    /// session's private side without its public endpoint is to be dropped (counted; the
    /// caller drops it).
    #[inline(always)]
    pub(super) fn nat_rewrite(
        &mut self,
        i: usize,
        slot: u32,
        from_initiator: bool,
        (wing_match, port): (bool, u16),
    ) -> bool {
        let target = match self.nat_target(slot, from_initiator, wing_match) {
            Ok(t) => t,
            Err(h) => {
                self.nat_not_rewritten(i, slot, from_initiator, port, h);
                return false;
            }
        };
        // A frame the hot parser took has every offset fixed.
        let fast = self.stage.kind[i & (BURST - 1)] & FAST != 0;
        if let (Some((end, addr, port, adj_ip, adj_l4)), Some(pkt)) = (target, self.rx.get_mut(i)) {
            if fast {
                rewrite_fast_v4(pkt.data_mut(), end, addr, port, adj_ip, adj_l4);
            } else {
                rewrite_v4_adj(pkt.data_mut(), end, addr, port, adj_ip, adj_l4);
            }
        }
        true
    }
}
