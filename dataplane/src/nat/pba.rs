//! Port block allocation (PBA) on a worker: a host's first session takes a block of the
//! pool's ports, its later sessions take ports from its active block, a new block is taken
//! when the active one has no port of the class needed free (or has been active longer than
//! the active-block timeout), up to the most blocks a host may hold, and a block goes back
//! when its last session ends. One log per block, not one per session.
//!
//! A host's sessions reach every worker (RSS hashes their tuples), so each worker keeps its
//! own share: the pool's blocks are dealt out among the workers (block `g` is worker `g %
//! workers`'s), and a worker gives a host blocks of its own share. Within a block the
//! address is fixed and the port carries the reply's steering, as for deterministic NAT: a
//! worker takes a port whose RSS class brings the reply back to it. No state is shared; a
//! host active on two workers holds blocks of each (each worker caps it at the host's
//! maximum).
//!
//! Fixed tables sized at start: no allocation after it.

use svcard_config::nat::{NatPool, PortBlocks, MAX_BLOCKS_PER_HOST};

use super::{Kind, Steering};

const MAXB: usize = MAX_BLOCKS_PER_HOST as usize;
/// An empty host-table cell.
const EMPTY: u32 = u32::MAX;

/// A block allocated or released: what its log says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockEvent {
    /// Allocated (`true`) or released.
    pub alloc: bool,
    /// The pool (index into the configuration's pools).
    pub pool: u16,
    /// The private host (host order).
    pub host: u32,
    /// The public address (host order).
    pub public: u32,
    /// The block's first and last port.
    pub ports: (u16, u16),
    /// Blocks the host holds on this worker after the event, and the most it may hold.
    pub used: (u16, u16),
}

/// A host's blocks on this worker.
#[derive(Debug, Clone, Copy)]
struct Host {
    host: u32,
    /// Local block indices; the last is the active one.
    blocks: [u32; MAXB],
    n: u8,
    /// When the active block became active, milliseconds.
    since_ms: u32,
}

/// One pool's blocks on one worker.
#[derive(Debug)]
pub struct PoolBlocks {
    cfg: PortBlocks,
    addrs: Vec<u32>,
    low: u16,
    per_address: u32,
    /// This worker and the worker count: local block `l` is global block `l * w + me`.
    me: u32,
    workers: u32,
    /// Bitmap words per block and protocol.
    words: usize,
    /// Per local block: ports in use, `3 * words` words (TCP, UDP, ICMP).
    used: Vec<u64>,
    /// Per local block: sessions on it, and its host (`EMPTY`: free).
    count: Vec<u32>,
    owner: Vec<u32>,
    /// Free local blocks (a stack).
    free: Vec<u32>,
    /// Hosts, open addressing by host address.
    hosts: Vec<Host>,
    mask: usize,
    /// Sessions refused: the host's blocks had no free port of the class and it held the
    /// most blocks it may, or the pool had no free block.
    out_of_port: u64,
    /// Blocks held now, and sessions on them.
    pub blocks_in_use: u64,
    /// Ports held now.
    pub ports_in_use: u64,
    /// The most ports held at once.
    pub max_ports_in_use: u64,
}

fn mix(h: u32) -> usize {
    (u64::from(h).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize
}

impl PoolBlocks {
    /// Worker `steer.me()`'s share of `pool`'s blocks.
    #[must_use]
    pub fn new(pool: &NatPool, cfg: PortBlocks, steer: Steering) -> Self {
        let addrs: Vec<u32> = pool.addresses().map(u32::from).collect();
        let (low, _) = pool.worker_ports();
        let per_address = cfg.per_address(pool);
        let total = addrs.len() as u64 * u64::from(per_address);
        let (me, workers) = (u32::from(steer.me()), u32::from(steer.classes()));
        let mine = u32::try_from(
            total
                .saturating_sub(u64::from(me))
                .div_ceil(u64::from(workers)),
        )
        .unwrap_or(u32::MAX);
        let words = usize::from(cfg.block).div_ceil(64);
        let n = mine as usize;
        let cells = (n * 2).next_power_of_two().max(2);
        PoolBlocks {
            cfg,
            addrs,
            low,
            per_address,
            me,
            workers,
            words,
            used: vec![0; n * 3 * words],
            count: vec![0; n],
            owner: vec![EMPTY; n],
            free: (0..mine).rev().collect(),
            hosts: vec![
                Host {
                    host: EMPTY,
                    blocks: [0; MAXB],
                    n: 0,
                    since_ms: 0,
                };
                cells
            ],
            mask: cells - 1,
            out_of_port: 0,
            blocks_in_use: 0,
            ports_in_use: 0,
            max_ports_in_use: 0,
        }
    }

    /// Sessions refused for want of a port.
    #[must_use]
    pub fn out_of_port(&self) -> u64 {
        self.out_of_port
    }

    /// Bytes of tables.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.used.len() * 8
            + (self.count.len() + self.owner.len() + self.free.len()) * 4
            + self.hosts.len() * core::mem::size_of::<Host>()
    }

    /// Local block `l`'s public address and first port.
    fn place(&self, l: u32) -> (u32, u16) {
        let g = l * self.workers + self.me;
        let addr = self.addrs[(g / self.per_address) as usize];
        let first = u32::from(self.low) + (g % self.per_address) * u32::from(self.cfg.block);
        (addr, first as u16)
    }

    /// The local block holding `addr`:`port`, if it is this worker's.
    fn block_of(&self, addr: u32, port: u16) -> Option<u32> {
        let ai = self.addrs.iter().position(|&a| a == addr)? as u32;
        let off = u32::from(port.checked_sub(self.low)?) / u32::from(self.cfg.block);
        if off >= self.per_address {
            return None;
        }
        let g = ai * self.per_address + off;
        (g % self.workers == self.me).then_some(g / self.workers)
    }

    fn find(&self, host: u32) -> Option<usize> {
        let mut i = mix(host) & self.mask;
        loop {
            let h = self.hosts.get(i)?;
            if h.host == host {
                return Some(i);
            }
            if h.host == EMPTY {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// A free port of `kind` in local block `l` whose class is `class` (any: `None`).
    fn take_in(&mut self, l: u32, kind: Kind, class: Option<u16>, steer: Steering) -> Option<u16> {
        let (_, first) = self.place(l);
        let base = (l as usize * 3 + kind as usize) * self.words;
        for k in 0..self.cfg.block {
            let port = first + k;
            if class.is_some_and(|c| steer.owner(port) != c) {
                continue;
            }
            let (w, bit) = (base + usize::from(k) / 64, 1u64 << (k % 64));
            if self.used[w] & bit == 0 {
                self.used[w] |= bit;
                self.count[l as usize] += 1;
                self.ports_in_use += 1;
                self.max_ports_in_use = self.max_ports_in_use.max(self.ports_in_use);
                return Some(port);
            }
        }
        None
    }

    /// A public (address, port) of `kind` for a session of `host` to `remote`:`rport`,
    /// from the host's blocks (a new one when needed); the allocation event, if a block was
    /// taken. `None`: refused, counted.
    pub fn alloc(
        &mut self,
        host: u32,
        kind: Kind,
        (remote, rport): (u32, u16),
        steer: Steering,
        now_ms: u32,
    ) -> Option<((u32, u16), Option<BlockEvent>)> {
        let class_of = |addr: u32| -> Option<Option<u16>> {
            if kind == Kind::Icmp {
                // Hashed on addresses: the block's address steers or it does not.
                (steer.addr_class(remote) ^ steer.addr_class(addr) == steer.me()).then_some(None)
            } else {
                Some(Some(steer.port_class_for(remote, rport, addr)))
            }
        };
        let slot = self.find(host);
        if let Some(i) = slot {
            let h = self.hosts[i];
            let active = h.blocks[usize::from(h.n) - 1];
            let fresh = self.cfg.active_timeout_s == 0
                || now_ms.wrapping_sub(h.since_ms) < self.cfg.active_timeout_s.saturating_mul(1000);
            if fresh {
                if let Some(c) = class_of(self.place(active).0) {
                    if let Some(p) = self.take_in(active, kind, c, steer) {
                        return Some(((self.place(active).0, p), None));
                    }
                }
            }
            if u16::from(h.n) >= self.cfg.max_blocks {
                // At the most blocks: any of them with a port free.
                for &l in &h.blocks[..usize::from(h.n)] {
                    if let Some(c) = class_of(self.place(l).0) {
                        if let Some(p) = self.take_in(l, kind, c, steer) {
                            return Some(((self.place(l).0, p), None));
                        }
                    }
                }
                self.out_of_port += 1;
                return None;
            }
        }
        // A new block for the host: the first free one whose address steers ICMP here.
        let l = self.take_block(|b| class_of(b).is_some())?;
        let Some(c) = class_of(self.place(l).0) else {
            self.put_block(l);
            self.out_of_port += 1;
            return None;
        };
        let Some(port) = self.take_in(l, kind, c, steer) else {
            // A block smaller than the worker count may have no port of the class.
            self.put_block(l);
            self.out_of_port += 1;
            return None;
        };
        let i = match slot {
            Some(i) => i,
            None => {
                let mut i = mix(host) & self.mask;
                while self.hosts[i].host != EMPTY {
                    i = (i + 1) & self.mask;
                }
                self.hosts[i] = Host {
                    host,
                    blocks: [0; MAXB],
                    n: 0,
                    since_ms: now_ms,
                };
                i
            }
        };
        let h = &mut self.hosts[i];
        h.blocks[usize::from(h.n)] = l;
        h.n += 1;
        h.since_ms = now_ms;
        let used = (u16::from(h.n), self.cfg.max_blocks);
        self.owner[l as usize] = host;
        self.blocks_in_use += 1;
        let (addr, first) = self.place(l);
        Some((
            (addr, port),
            Some(BlockEvent {
                alloc: true,
                pool: 0,
                host,
                public: addr,
                ports: (first, first + (self.cfg.block - 1)),
                used,
            }),
        ))
    }

    /// Takes a free block that `ok` accepts (by its address); `None` counted.
    fn take_block(&mut self, ok: impl Fn(u32) -> bool) -> Option<u32> {
        // The top of the stack first; a block whose address does not steer (ICMP) is
        // looked past, a few at most.
        let n = self.free.len();
        for k in 0..n.min(64) {
            let l = self.free[n - 1 - k];
            if ok(self.place(l).0) {
                self.free.swap_remove(n - 1 - k);
                return Some(l);
            }
        }
        self.out_of_port += 1;
        None
    }

    fn put_block(&mut self, l: u32) {
        self.free.push(l);
    }

    /// A session's port `addr`:`port` of `kind` goes back; the release event when its block
    /// had no other session (the block goes back to the pool).
    pub fn free(&mut self, kind: Kind, addr: u32, port: u16) -> Option<BlockEvent> {
        let l = self.block_of(addr, port)?;
        let (_, first) = self.place(l);
        let k = port - first;
        let w = (l as usize * 3 + kind as usize) * self.words + usize::from(k) / 64;
        let bit = 1u64 << (k % 64);
        if self.used[w] & bit == 0 {
            return None;
        }
        self.used[w] &= !bit;
        self.ports_in_use -= 1;
        let c = &mut self.count[l as usize];
        *c -= 1;
        if *c > 0 {
            return None;
        }
        // The block's last session: it goes back.
        let host = self.owner[l as usize];
        self.owner[l as usize] = EMPTY;
        self.blocks_in_use -= 1;
        self.put_block(l);
        let i = self.find(host)?;
        let h = &mut self.hosts[i];
        let at = h.blocks[..usize::from(h.n)].iter().position(|&b| b == l)?;
        // Keep the order: the last stays the active one.
        h.blocks.copy_within(at + 1..usize::from(h.n), at);
        h.n -= 1;
        let used = (u16::from(h.n), self.cfg.max_blocks);
        if h.n == 0 {
            self.remove_host(i);
        }
        Some(BlockEvent {
            alloc: false,
            pool: 0,
            host,
            public: addr,
            ports: (first, first + (self.cfg.block - 1)),
            used,
        })
    }

    /// Backward-shift deletion of host cell `i`.
    fn remove_host(&mut self, mut i: usize) {
        self.hosts[i].host = EMPTY;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let h = self.hosts[j];
            if h.host == EMPTY {
                return;
            }
            let home = mix(h.host) & self.mask;
            if (i.wrapping_sub(home) & self.mask) <= (j.wrapping_sub(home) & self.mask) {
                self.hosts[i] = h;
                self.hosts[j].host = EMPTY;
                i = j;
            }
        }
    }

    /// The blocks host `host` holds here: (address, first port) each, the active one last.
    pub fn blocks_of(&self, host: u32) -> impl Iterator<Item = (u32, u16)> + '_ {
        let h = self.find(host).map(|i| self.hosts[i]);
        h.into_iter()
            .flat_map(|h| (0..usize::from(h.n)).map(move |k| h.blocks[k]))
            .map(|l| self.place(l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};
    use svcard_config::nat::AddrRange;

    fn pool(block: u16, max_blocks: u16, timeout: u32) -> NatPool {
        let cfg = PortBlocks {
            block,
            max_blocks,
            active_timeout_s: timeout,
        };
        NatPool {
            name: "p".into(),
            ranges: vec![AddrRange {
                first: 0xC633_6406,
                last: 0xC633_6407,
            }],
            port_low: 1024,
            port_high: 2047,
            alg_ports: 0,
            block_size: None,
            include_boundary: false,
            preserve: Default::default(),
            pba: Some(cfg),
            max_sessions_per_host: None,
        }
    }

    #[test]
    fn a_host_fills_its_block_then_takes_another_and_gives_them_back() {
        let p = pool(4, 2, 0);
        let st = Steering::new(1, 0).unwrap();
        let mut b = PoolBlocks::new(&p, p.pba.unwrap(), st);
        let mut events = Vec::new();
        let mut ports = Vec::new();
        for i in 0..8u16 {
            let (pub_, ev) = b.alloc(7, Kind::Udp, (9, 53 + i), st, 0).unwrap();
            events.extend(ev);
            ports.push(pub_);
        }
        // Two blocks of four: two allocation events, the second when the first was full.
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e.alloc && e.host == 7));
        assert_eq!(events[0].used, (1, 2));
        assert_eq!(events[1].used, (2, 2));
        let blocks: HashSet<(u32, u16)> = events.iter().map(|e| (e.public, e.ports.0)).collect();
        for (a, p) in &ports {
            assert!(blocks
                .iter()
                .any(|(ba, bf)| ba == a && (*bf..*bf + 4).contains(p)));
        }
        // At the most blocks and both full: refused, counted.
        assert!(b.alloc(7, Kind::Udp, (9, 99), st, 0).is_none());
        assert_eq!(b.out_of_port(), 1);
        // Another protocol has its own ports in the same blocks.
        assert!(b.alloc(7, Kind::Tcp, (9, 99), st, 0).unwrap().1.is_none());
        // Sessions end: a block goes back with its last session (TCP's holds one).
        let mut released = Vec::new();
        for (a, p) in &ports {
            released.extend(b.free(Kind::Udp, *a, *p));
        }
        assert_eq!(released.len(), 1, "{released:?}");
        assert!(!released[0].alloc);
        assert_eq!(b.blocks_in_use, 1);
        assert_eq!(b.ports_in_use, 1);
    }

    #[test]
    fn an_active_block_times_out_into_a_new_one() {
        let p = pool(64, 4, 10);
        let st = Steering::new(1, 0).unwrap();
        let mut b = PoolBlocks::new(&p, p.pba.unwrap(), st);
        assert!(b.alloc(1, Kind::Tcp, (9, 80), st, 0).unwrap().1.is_some());
        assert!(b
            .alloc(1, Kind::Tcp, (9, 81), st, 9_000)
            .unwrap()
            .1
            .is_none());
        let (_, ev) = b.alloc(1, Kind::Tcp, (9, 82), st, 10_001).unwrap();
        assert!(ev.is_some_and(|e| e.used == (2, 4)));
        assert_eq!(b.blocks_of(1).count(), 2);
    }

    proptest! {
        /// Against a model, with two workers: no two live sessions share a public (address,
        /// port, protocol), blocks never overlap and are each one host's, a session's port
        /// lies in one of its host's blocks with the class that steers its reply, and a
        /// block's allocation and release events pair up.
        #[test]
        fn blocks_and_ports_never_overlap(ops in proptest::collection::vec((0u16..2, 0u32..6, any::<u16>(), any::<bool>()), 1..400)) {
            let p = pool(8, 3, 0);
            let st = [Steering::new(2, 0).unwrap(), Steering::new(2, 1).unwrap()];
            let mut w = [PoolBlocks::new(&p, p.pba.unwrap(), st[0]), PoolBlocks::new(&p, p.pba.unwrap(), st[1])];
            let mut live: HashMap<(u8, u32, u16), (usize, u32)> = HashMap::new();
            let mut held: Vec<(usize, Kind, u32, u16)> = Vec::new();
            let mut blocks: HashMap<(u32, u16), (usize, u32)> = HashMap::new();
            for (wi, host, r, release) in ops {
                let wi = usize::from(wi);
                if release && !held.is_empty() {
                    let (wj, kind, a, port) = held.swap_remove(usize::from(r) % held.len());
                    live.remove(&(kind as u8, a, port));
                    if let Some(e) = w[wj].free(kind, a, port) {
                        prop_assert!(!e.alloc);
                        prop_assert!(blocks.remove(&(e.public, e.ports.0)).is_some());
                    }
                    continue;
                }
                let kind = if r & 1 == 0 { Kind::Udp } else { Kind::Tcp };
                let remote = (0x0A00_0000 | u32::from(r), r.rotate_left(3));
                if let Some(((a, port), ev)) = w[wi].alloc(host, kind, remote, st[wi], 0) {
                    if let Some(e) = ev {
                        prop_assert!(e.alloc);
                        prop_assert!(blocks.insert((e.public, e.ports.0), (wi, host)).is_none(), "a block handed out twice");
                    }
                    let owner = blocks.iter().find(|((ba, bf), _)| *ba == a && (*bf..*bf + 8).contains(&port));
                    prop_assert_eq!(owner.map(|x| *x.1), Some((wi, host)));
                    prop_assert_eq!(st[wi].owner(port), st[wi].port_class_for(remote.0, remote.1, a));
                    prop_assert!(live.insert((kind as u8, a, port), (wi, host)).is_none(), "port shared");
                    held.push((wi, kind, a, port));
                }
            }
            let total: u64 = w.iter().map(|x| x.ports_in_use).sum();
            prop_assert_eq!(total, live.len() as u64);
            let nblocks: u64 = w.iter().map(|x| x.blocks_in_use).sum();
            prop_assert_eq!(nblocks, blocks.len() as u64);
        }
    }
}
