//! Deterministic NAPT44 (and address pooling paired) on the workers: a private host's public address and port block
//! are computed ([`svcard_config::nat::Deterministic`]), never allocated; which port of the
//! block a session takes is. A host's sessions reach any worker (RSS hashes their tuples),
//! so the ports in use are one card-wide bitmap per pool address and protocol, claimed and
//! freed with atomic bit operations: no lock, no wait, and no two live sessions ever share
//! a public (address, port, protocol).
//!
//! The reply must reach the worker that holds the session, and the address is fixed: the
//! port carries the steering instead. A worker takes, within the host's block, only a port
//! whose class makes the reply's symmetric hash its own ([`Steering::port_class_for`]):
//! a block of `B` ports offers about `B / workers` of them to each remote endpoint.

use core::sync::atomic::{AtomicU64, Ordering};

use svcard_config::nat::Translation;
use svcard_config::Config;

use super::{Kind, Steering};

/// One pool's ports in use: per address (the pool's order) and protocol, a bitmap of the
/// range the workers hand out.
#[derive(Debug)]
struct DetPool {
    addrs: Vec<u32>,
    low: u16,
    count: u32,
    words: usize,
    bits: Vec<AtomicU64>,
}

/// The ports deterministic sessions hold, card-wide, shared by the workers.
#[derive(Debug)]
pub struct DetPorts {
    pools: Vec<Option<DetPool>>,
}

impl DetPorts {
    /// The bitmaps of `config`'s deterministic pools; `None` when no rule is deterministic.
    #[must_use]
    pub fn new(config: &Config) -> Option<Self> {
        // Deterministic pools, and the pools of address pooling paired (a host's address is
        // fixed there too, so its ports are claimed card-wide the same way).
        let pools = super::per_used_pool(
            config,
            |r| r.translation == Translation::Deterministic || r.paired,
            |p| {
                let (low, high) = p.worker_ports();
                let count = u32::from(high - low) + 1;
                let words = (count as usize).div_ceil(64);
                let addrs: Vec<u32> = p.addresses().map(u32::from).collect();
                let n = addrs.len() * 3 * words;
                DetPool {
                    addrs,
                    low,
                    count,
                    words,
                    bits: (0..n).map(|_| AtomicU64::new(0)).collect(),
                }
            },
        )?;
        Some(DetPorts { pools })
    }

    fn place(&self, pool: u16, kind: Kind, addr: u32, port: u16) -> Option<(&AtomicU64, u64)> {
        let p = self.pools.get(usize::from(pool))?.as_ref()?;
        let ai = p.addrs.iter().position(|&a| a == addr)?;
        let off = u32::from(port.checked_sub(p.low)?);
        if off >= p.count {
            return None;
        }
        let w = (ai * 3 + kind as usize) * p.words + (off / 64) as usize;
        Some((p.bits.get(w)?, 1u64 << (off % 64)))
    }

    /// Claims a free port of `kind` in block `first .. first + block` of `addr`, whose
    /// class under `steer` is `class` (any port when `class` is `None`: ICMP, steered by
    /// addresses), trying from `start` on. `None`: every such port is in use.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub fn claim(
        &self,
        pool: u16,
        kind: Kind,
        addr: u32,
        (first, block): (u16, u16),
        steer: Steering,
        class: Option<u16>,
        start: u16,
    ) -> Option<u16> {
        for k in 0..block {
            let port = first.wrapping_add((start.wrapping_add(k)) % block);
            if class.is_some_and(|c| steer.owner(port) != c) {
                continue;
            }
            let (word, bit) = self.place(pool, kind, addr, port)?;
            // Read before the read-modify-write: in a busy range most candidates are held.
            if word.load(Ordering::Relaxed) & bit == 0
                && word.fetch_or(bit, Ordering::AcqRel) & bit == 0
            {
                return Some(port);
            }
        }
        None
    }

    /// Gives `addr`:`port` of `kind` back. False if it was not held.
    pub fn release(&self, pool: u16, kind: Kind, addr: u32, port: u16) -> bool {
        self.place(pool, kind, addr, port)
            .is_some_and(|(word, bit)| word.fetch_and(!bit, Ordering::AcqRel) & bit != 0)
    }

    /// Ports of `kind` held in block `first .. first + block` of `addr`.
    #[must_use]
    pub fn held_in(&self, pool: u16, kind: Kind, addr: u32, (first, block): (u16, u16)) -> u32 {
        (0..block)
            .filter(|&k| self.is_held(pool, kind, addr, first.wrapping_add(k)))
            .count() as u32
    }

    /// True when `addr`:`port` of `kind` is held.
    #[must_use]
    pub fn is_held(&self, pool: u16, kind: Kind, addr: u32, port: u16) -> bool {
        self.place(pool, kind, addr, port)
            .is_some_and(|(word, bit)| word.load(Ordering::Acquire) & bit != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    fn config(block: u16, hosts: &str, addrs: &str) -> Config {
        let text = format!(
            "[[port]]\nname = \"ge-0/0/0.0\"\npcap-rx = \"in.pcap\"\npeer = \"ge-0/0/1.0\"\n\
             [[port]]\nname = \"ge-0/0/1.0\"\npcap-tx = \"out.pcap\"\npeer = \"ge-0/0/0.0\"\n\
             [[nat.pool]]\nname = \"det\"\naddress = \"{addrs}\"\nblock-size = {block}\n\
             [[nat.rule]]\nname = \"subscribers\"\nsource = [\"{hosts}\"]\n\
             translation-type = \"deterministic-napt44\"\npool = \"det\"\n"
        );
        Config::from_toml_str(&text, "t.toml".as_ref()).unwrap()
    }

    #[test]
    fn hosts_map_to_blocks_and_back_and_blocks_never_overlap() {
        let c = config(256, "10.0.0.0/22", "198.51.100.0/29");
        let d = c.nat.rules[0].det.as_ref().unwrap();
        // 1022 hosts (network and broadcast left out), 252 blocks of 256 an address.
        assert_eq!(d.host_count(), 1022);
        assert_eq!(d.blocks_per_address, 252);
        let a = |s: &str| u32::from(s.parse::<core::net::Ipv4Addr>().unwrap());
        assert_eq!(d.block_of(a("10.0.0.0")), None);
        assert_eq!(d.block_of(a("10.0.0.1")), Some((a("198.51.100.0"), 1024)));
        assert_eq!(d.block_of(a("10.0.0.2")), Some((a("198.51.100.0"), 1280)));
        assert_eq!(d.block_of(a("10.0.0.253")), Some((a("198.51.100.1"), 1024)));
        let mut seen = HashSet::new();
        let mut h = a("10.0.0.1");
        while h < a("10.0.3.255") {
            let (addr, first) = d.block_of(h).unwrap();
            for port in [first, first + 255] {
                assert_eq!(d.host_of(addr, port), Some(h), "{h:x} {addr:x}:{port}");
            }
            assert!(seen.insert((addr, first)), "block shared");
            h += 1;
        }
        assert_eq!(
            d.host_of(a("198.51.100.7"), 1024),
            None,
            "beyond the last host"
        );
        assert_eq!(d.host_of(a("203.0.113.1"), 2000), None);
    }

    #[test]
    fn a_pool_too_small_or_a_block_too_big_is_refused() {
        let text = |block: u16, hosts: &str| {
            format!(
                "[[port]]\nname = \"ge-0/0/0.0\"\npcap-rx = \"in.pcap\"\npeer = \"ge-0/0/1.0\"\n\
                 [[port]]\nname = \"ge-0/0/1.0\"\npcap-tx = \"out.pcap\"\npeer = \"ge-0/0/0.0\"\n\
                 [[nat.pool]]\nname = \"det\"\naddress = \"198.51.100.1\"\nblock-size = {block}\n\
                 [[nat.rule]]\nname = \"s\"\nsource = [\"{hosts}\"]\n\
                 translation-type = \"deterministic-napt44\"\npool = \"det\"\n"
            )
        };
        let e = Config::from_toml_str(&text(256, "10.0.0.0/23"), "t.toml".as_ref())
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml:17: nat.rule[0].pool:"), "{e}");
        assert!(
            e.contains("510 hosts need 510 blocks of 256 ports; pool 'det' holds 252 (1 address of 252 blocks)"),
            "{e}"
        );
        let e = Config::from_toml_str(
            &text(64512, "10.0.0.0/24").replace(
                "address = \"198.51.100.1\"",
                "address = \"198.51.100.1\"\nport-low = 2000",
            ),
            "t.toml".as_ref(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("a block of 64512 ports does not fit the pool's 63536 ports"),
            "{e}"
        );
        // block-size 0: the most that gives each of 254 hosts one block (Junos's
        // int(64512 / ceil(254 / 1))).
        let c = Config::from_toml_str(&text(0, "10.0.0.0/24"), "t.toml".as_ref()).unwrap();
        assert_eq!(c.nat.rules[0].det.as_ref().unwrap().block, 253);
    }

    proptest! {
        /// Workers claiming from one host's block at once never hold the same port, every
        /// port they take has the class they asked for, and a release frees exactly one.
        #[test]
        fn workers_never_share_a_port(seeds in proptest::collection::vec((0u16..2, any::<u16>(), any::<bool>()), 1..300)) {
            let c = config(64, "10.0.0.0/24", "198.51.100.1");
            let d = c.nat.rules[0].det.clone().unwrap();
            let ports = Arc::new(DetPorts::new(&c).unwrap());
            let st = [Steering::new(2, 0).unwrap(), Steering::new(2, 1).unwrap()];
            let (addr, first) = d.block_of(0x0A00_0005).unwrap();
            let mut held: Vec<u16> = Vec::new();
            let mut live = HashSet::new();
            for (w, start, release) in seeds {
                if release && !held.is_empty() {
                    let p = held.swap_remove(usize::from(start) % held.len());
                    prop_assert!(ports.release(0, Kind::Udp, addr, p));
                    prop_assert!(!ports.release(0, Kind::Udp, addr, p));
                    live.remove(&p);
                    continue;
                }
                let class = start & 1;
                if let Some(p) = ports.claim(0, Kind::Udp, addr, (first, 64), st[usize::from(w)], Some(class), start) {
                    prop_assert!((first..first + 64).contains(&p));
                    prop_assert_eq!(st[usize::from(w)].owner(p), class);
                    prop_assert!(live.insert(p), "port {} handed out twice", p);
                    held.push(p);
                }
            }
            for p in 0..u16::MAX {
                let want = live.contains(&p);
                prop_assert_eq!(ports.is_held(0, Kind::Udp, addr, p), want);
            }
        }
    }

    #[test]
    fn two_threads_claiming_one_block_share_nothing() {
        let c = config(256, "10.0.0.0/25", "198.51.100.1");
        let ports = Arc::new(DetPorts::new(&c).unwrap());
        let steer = Steering::new(1, 0).unwrap();
        let (addr, first) = c.nat.rules[0]
            .det
            .as_ref()
            .unwrap()
            .block_of(0x0A00_0001)
            .unwrap();
        let got: Vec<Vec<u16>> = (0..2u16)
            .map(|t| {
                let ports = Arc::clone(&ports);
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    while let Some(p) =
                        ports.claim(0, Kind::Tcp, addr, (first, 256), steer, None, t * 7)
                    {
                        mine.push(p);
                    }
                    mine
                })
            })
            .map(|h| h.join().unwrap())
            .collect();
        let all: HashSet<u16> = got.iter().flatten().copied().collect();
        assert_eq!(got[0].len() + got[1].len(), 256);
        assert_eq!(all.len(), 256);
    }
}
