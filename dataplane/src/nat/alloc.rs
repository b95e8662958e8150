//! One worker's share of a NAT pool: for each public address and protocol, a bitmap of the
//! ports in use among those the worker owns ([`super::Steering::owner`]). Allocated whole at
//! start; an allocation scans bitmap words from a random one (ports are not predictable,
//! RFC 6056), a release clears one bit. No allocation, no lock.

use svcard_config::nat::{NatPool, Preserve};

use super::Steering;
use crate::wire::ip_proto;

/// The port spaces of an address: TCP, UDP and ICMP identifiers are separate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// TCP ports.
    Tcp = 0,
    /// UDP ports.
    Udp = 1,
    /// ICMP echo identifiers.
    Icmp = 2,
}

/// Port spaces per address.
const KINDS: usize = 3;

impl Kind {
    /// The port space of IP protocol `proto` (`None`: napt-44 cannot translate it).
    #[must_use]
    pub fn of(proto: u8) -> Option<Kind> {
        match proto {
            ip_proto::TCP => Some(Kind::Tcp),
            ip_proto::UDP => Some(Kind::Udp),
            ip_proto::ICMP => Some(Kind::Icmp),
            _ => None,
        }
    }
}

/// Most addresses a pool may have (the bitmaps of a worker take `addresses × 3 × range / 8`
/// bytes: 24 KiB an address for the whole port range).
pub const MAX_POOL_ADDRESSES: u64 = 4096;

/// A worker's share of one pool.
#[derive(Debug)]
pub struct PoolAlloc {
    /// The pool's addresses, ascending (host order).
    addrs: Vec<u32>,
    /// Indices into `addrs` by steering class.
    by_class: Vec<Vec<u32>>,
    /// First port of the range.
    low: u16,
    /// Bitmap words per (address, kind).
    words: usize,
    /// Ports of the range this worker owns (bit `i`: port `low + i`).
    owned: Vec<u64>,
    /// In use, `words` per (address, kind), address-major.
    used: Vec<u64>,
    /// Ports in use, all addresses and kinds.
    in_use: u64,
    /// The most in use at once.
    max_in_use: u64,
    /// Allocations refused: every port of the class asked for in use.
    out_of_port: u64,
    /// Ports this worker owns per address and kind.
    owned_count: u32,
    /// xorshift state for the scan's starting word.
    rng: u32,
    /// How the public port follows the private one.
    preserve: Preserve,
}

/// Bit indices of a bitmap word whose ports have the parity of the range's first port.
const SAME_PARITY: u64 = 0x5555_5555_5555_5555;

impl PoolAlloc {
    /// Worker `steer.me()`'s share of `pool`.
    ///
    /// # Panics
    /// Never for a pool the configuration accepted within [`MAX_POOL_ADDRESSES`]; larger
    /// pools are refused at start by the engine.
    #[must_use]
    pub fn new(pool: &NatPool, steer: Steering) -> Self {
        let mut addrs: Vec<u32> = pool.addresses().map(u32::from).collect();
        addrs.sort_unstable();
        let mut by_class = vec![Vec::new(); usize::from(steer.classes())];
        for (i, &a) in addrs.iter().enumerate() {
            by_class[usize::from(steer.addr_class(a))].push(i as u32);
        }
        // The top of the range is the ALGs' (the control core hands those ports out).
        let (low, high) = pool.worker_ports();
        let range = usize::from(high - low) + 1;
        let words = range.div_ceil(64);
        let mut owned = vec![0u64; words];
        let mut owned_count = 0u32;
        for p in low..=high {
            if steer.owner(p) == steer.me() && !pool.is_alg_port(p) {
                let i = usize::from(p - low);
                owned[i / 64] |= 1 << (i % 64);
                owned_count += 1;
            }
        }
        PoolAlloc {
            used: vec![0u64; addrs.len() * KINDS * words],
            addrs,
            by_class,
            low,
            words,
            owned,
            in_use: 0,
            max_in_use: 0,
            out_of_port: 0,
            owned_count,
            rng: 0x9E37_79B9 ^ u32::from(steer.me()).wrapping_mul(0x85EB_CA6B),
            preserve: pool.preserve,
        }
    }

    /// Takes a free public (address, port) of `kind`: among the addresses of `class` (all
    /// addresses when `None`), starting with the one `host` (the private address) hashes
    /// to, so that a host's sessions tend to share one public address; the port follows
    /// private port `pport` as the pool's [`Preserve`] says. `None`: every such address
    /// has all its ports of `kind` (that the preservation allows) in use.
    pub fn alloc(
        &mut self,
        kind: Kind,
        class: Option<u16>,
        (host, pport): (u32, u16),
    ) -> Option<(u32, u16)> {
        let n = match class {
            Some(c) => self.by_class.get(usize::from(c))?.len(),
            None => self.addrs.len(),
        };
        if n == 0 || self.owned_count == 0 {
            self.out_of_port += 1;
            return None;
        }
        let start = (host.wrapping_mul(0x9E37_79B1) >> 8) as usize % n;
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        let first_word = self.rng as usize % self.words;
        for k in 0..n {
            let i = (start + k) % n;
            let ai = match class {
                Some(c) => self.by_class[usize::from(c)][i] as usize,
                None => i,
            };
            if let Some(port) = self.take_port(ai, kind, first_word, pport) {
                self.in_use += 1;
                self.max_in_use = self.max_in_use.max(self.in_use);
                return Some((self.addrs[ai], port));
            }
        }
        self.out_of_port += 1;
        None
    }

    /// A free owned port of address `ai` and `kind`, marked used: private port `pport`
    /// itself first when the pool preserves ports, else one of its parity and range when
    /// the pool preserves those.
    fn take_port(&mut self, ai: usize, kind: Kind, first_word: usize, pport: u16) -> Option<u16> {
        let base = (ai * KINDS + kind as usize) * self.words;
        let used = self.used.get_mut(base..base + self.words)?;
        let low = self.low;
        if self.preserve.port {
            if let Some(off) = pport.checked_sub(low).map(usize::from) {
                let (w, bit) = (off / 64, 1u64 << (off % 64));
                if w < self.words && self.owned[w] & !used[w] & bit != 0 {
                    used[w] |= bit;
                    return Some(pport);
                }
            }
        }
        let parity = match self.preserve.parity {
            false => u64::MAX,
            true if (low ^ pport) & 1 == 0 => SAME_PARITY,
            true => !SAME_PARITY,
        };
        // With preserve-range: the bit index where the ports of 1024 and above start.
        let split = self
            .preserve
            .range
            .then(|| (pport < 1024, usize::from(1024u16.saturating_sub(low))));
        for k in 0..self.words {
            let w = (first_word + k) % self.words;
            let range = split.map_or(u64::MAX, |(below, at)| {
                let start = w * 64;
                let under = if at >= start + 64 {
                    u64::MAX
                } else if at <= start {
                    0
                } else {
                    (1u64 << (at - start)) - 1
                };
                if below {
                    under
                } else {
                    !under
                }
            });
            let free = self.owned[w] & !used[w] & parity & range;
            if free != 0 {
                let b = free.trailing_zeros() as usize;
                used[w] |= 1 << b;
                return u16::try_from(w * 64 + b)
                    .ok()
                    .map(|off| self.low.wrapping_add(off));
            }
        }
        None
    }

    /// Gives back `addr`:`port` of `kind`. False if it was not in use here.
    pub fn free(&mut self, kind: Kind, addr: u32, port: u16) -> bool {
        let Some((base, w, bit)) = self.place(kind, addr, port) else {
            return false;
        };
        let word = &mut self.used[base + w];
        if *word & bit == 0 {
            return false;
        }
        *word &= !bit;
        self.in_use -= 1;
        true
    }

    /// True when `addr`:`port` of `kind` is in use here.
    #[must_use]
    pub fn is_used(&self, kind: Kind, addr: u32, port: u16) -> bool {
        self.place(kind, addr, port)
            .is_some_and(|(base, w, bit)| self.used[base + w] & bit != 0)
    }

    fn place(&self, kind: Kind, addr: u32, port: u16) -> Option<(usize, usize, u64)> {
        let ai = self.addrs.binary_search(&addr).ok()?;
        let off = usize::from(port.checked_sub(self.low)?);
        if off / 64 >= self.words {
            return None;
        }
        let base = (ai * KINDS + kind as usize) * self.words;
        Some((base, off / 64, 1u64 << (off % 64)))
    }

    /// Ports in use (all addresses and protocols).
    #[must_use]
    pub fn in_use(&self) -> u64 {
        self.in_use
    }

    /// The most ports in use at once.
    #[must_use]
    pub fn max_in_use(&self) -> u64 {
        self.max_in_use
    }

    /// Allocations refused for want of a port.
    #[must_use]
    pub fn out_of_port(&self) -> u64 {
        self.out_of_port
    }

    /// Ports this worker may hand out per protocol, all addresses.
    #[must_use]
    pub fn capacity(&self) -> u64 {
        u64::from(self.owned_count) * self.addrs.len() as u64
    }

    /// Bytes of bitmaps.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        (self.used.len() + self.owned.len()) * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;
    use svcard_config::nat::{AddrRange, Preserve};

    fn pool(first: u32, n: u32, low: u16, high: u16) -> NatPool {
        NatPool {
            name: "p".into(),
            ranges: vec![AddrRange {
                first,
                last: first + n - 1,
            }],
            port_low: low,
            port_high: high,
            alg_ports: 0,
            block_size: None,
            include_boundary: false,
            preserve: Preserve::default(),
            pba: None,
            max_sessions_per_host: None,
        }
    }

    #[test]
    fn a_pool_that_runs_out_refuses_then_serves_again_after_a_release() {
        let p = pool(0xC633_6400, 1, 5000, 5009);
        let mut a = PoolAlloc::new(&p, Steering::new(1, 0).unwrap());
        assert_eq!(a.capacity(), 10);
        let got: Vec<_> = (0..10)
            .map(|_| a.alloc(Kind::Udp, None, (7, 5000)).unwrap())
            .collect();
        let ports: HashSet<u16> = got.iter().map(|g| g.1).collect();
        assert_eq!(ports, (5000..=5009).collect());
        assert_eq!(a.alloc(Kind::Udp, None, (7, 5000)), None);
        // Another protocol has its own ports.
        assert!(a.alloc(Kind::Tcp, None, (7, 5000)).is_some());
        assert!(a.free(Kind::Udp, got[3].0, got[3].1));
        assert!(
            !a.free(Kind::Udp, got[3].0, got[3].1),
            "a double free is refused"
        );
        assert_eq!(a.alloc(Kind::Udp, None, (7, 5000)), Some(got[3]));
        assert_eq!(a.in_use(), 11);
    }

    #[test]
    fn ports_follow_the_private_port_as_the_pool_says() {
        let mut p = pool(0xC633_6400, 1, 500, 2047);
        p.preserve = Preserve {
            port: true,
            parity: true,
            range: true,
        };
        let mut a = PoolAlloc::new(&p, Steering::new(1, 0).unwrap());
        // The private port itself while it is free.
        assert_eq!(
            a.alloc(Kind::Udp, None, (7, 1500)),
            Some((0xC633_6400, 1500))
        );
        // Taken: another of its parity and range.
        for _ in 0..200 {
            let (_, port) = a.alloc(Kind::Udp, None, (8, 1500)).unwrap();
            assert!(port >= 1024 && port % 2 == 0, "{port}");
            let (_, port) = a.alloc(Kind::Udp, None, (8, 1501)).unwrap();
            assert!(port >= 1024 && port % 2 == 1, "{port}");
            let (_, port) = a.alloc(Kind::Udp, None, (8, 601)).unwrap();
            assert!(port < 1024 && port % 2 == 1, "{port}");
        }
        // Below 1024 and odd: 501..=1023 has 262 odd ports; 200 taken above, 1 for 601.
        let odd_low: Vec<u16> =
            core::iter::from_fn(|| a.alloc(Kind::Udp, None, (9, 777)).map(|x| x.1)).collect();
        assert_eq!(odd_low.len(), 262 - 200);
        assert!(odd_low.iter().all(|&p| p < 1024 && p % 2 == 1));
        // Those are gone; the even ones below 1024 are still there.
        assert!(a
            .alloc(Kind::Udp, None, (9, 778))
            .is_some_and(|x| x.1 < 1024 && x.1 % 2 == 0));
        // Without preservation, any port.
        let mut q = PoolAlloc::new(
            &pool(0xC633_6400, 1, 500, 2047),
            Steering::new(1, 0).unwrap(),
        );
        let any: HashSet<u16> = (0..400)
            .map(|_| q.alloc(Kind::Udp, None, (7, 1500)).unwrap().1)
            .collect();
        assert!(any.iter().any(|p| p % 2 == 1) && any.iter().any(|p| *p < 1024));
    }

    proptest! {
        /// Two workers' shares of one pool never hand out the same (address, port,
        /// protocol), every port handed out is owned by the worker that handed it out, and
        /// addresses come from the class asked for.
        #[test]
        fn workers_never_share_a_public_port(
            ops in proptest::collection::vec((0u16..2, 0u8..3, any::<u32>(), any::<bool>()), 1..400)
        ) {
            let p = pool(0x0A00_0000, 4, 1024, 1100);
            let st = [Steering::new(2, 0).unwrap(), Steering::new(2, 1).unwrap()];
            let mut w = [PoolAlloc::new(&p, st[0]), PoolAlloc::new(&p, st[1])];
            let mut live: HashSet<(u8, u32, u16)> = HashSet::new();
            let mut held: Vec<(u16, Kind, u32, u16)> = Vec::new();
            for (who, k, remote, release) in ops {
                let kind = [Kind::Tcp, Kind::Udp, Kind::Icmp][usize::from(k)];
                if release && !held.is_empty() {
                    let (wi, kind, a, port) = held.swap_remove(remote as usize % held.len());
                    prop_assert!(w[usize::from(wi)].free(kind, a, port));
                    live.remove(&(kind as u8, a, port));
                    continue;
                }
                let s = st[usize::from(who)];
                let class = s.class_for_ports(remote, 80);
                if let Some((a, port)) = w[usize::from(who)].alloc(kind, Some(class), (remote, 5000)) {
                    prop_assert_eq!(s.owner(port), who);
                    prop_assert_eq!(s.addr_class(a), class);
                    prop_assert!(live.insert((kind as u8, a, port)), "shared {a:x}:{port}");
                    held.push((who, kind, a, port));
                }
            }
            let total: u64 = w.iter().map(PoolAlloc::in_use).sum();
            prop_assert_eq!(total, live.len() as u64);
        }
    }
}
