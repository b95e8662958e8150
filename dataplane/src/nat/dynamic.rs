//! Dynamic NAT44 (`dynamic-nat44`): a private host holds one pool address while it has
//! sessions, on whichever workers they are; ports are not translated. The addresses are one
//! card-wide table the workers share: per address a word holding its host and the sessions
//! on it, changed only by compare-and-swap (no lock, no wait; the host and its count change
//! together, so an address is never given back while a session takes it).
//!
//! The port is the host's own, so only the address can steer the reply: a worker takes for
//! host `A` an address of `A`'s own RSS class, and then every reply of every session of
//! `A` hashes as its request did, to the worker that holds the session, whatever the ports
//! and the remote.

use core::sync::atomic::{AtomicU64, Ordering};

use svcard_config::nat::Translation;
use svcard_config::Config;

use super::Steering;

/// One pool's addresses and their holders (`host << 32 | sessions`; 0: free).
#[derive(Debug)]
struct Owners {
    addrs: Vec<u32>,
    words: Vec<AtomicU64>,
}

/// The addresses dynamic NAT44 hosts hold, card-wide.
#[derive(Debug)]
pub struct AddrOwners {
    pools: Vec<Option<Owners>>,
}

impl AddrOwners {
    /// The tables of `config`'s dynamic-nat44 pools; `None` when no rule is one.
    #[must_use]
    pub fn new(config: &Config) -> Option<Self> {
        let pools = super::per_used_pool(
            config,
            |r| r.translation == Translation::Dynamic,
            |p| {
                let addrs: Vec<u32> = p.addresses().map(u32::from).collect();
                Owners {
                    words: addrs.iter().map(|_| AtomicU64::new(0)).collect(),
                    addrs,
                }
            },
        )?;
        Some(AddrOwners { pools })
    }

    /// The address host `host` holds in `pool`, taken if it holds none (of its own RSS class
    /// under `steer`), with one more session on it. `None`: every address of the class is
    /// another host's.
    #[must_use]
    pub fn take(&self, pool: u16, host: u32, steer: Steering) -> Option<u32> {
        let o = self.pools.get(usize::from(pool))?.as_ref()?;
        let n = o.addrs.len();
        if n == 0 || host == 0 {
            return None;
        }
        let class = steer.addr_class(host);
        let start = (u64::from(host).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % n;
        let mine = u64::from(host) << 32;
        // Every worker probes a host's addresses in the same order and stops at the first
        // that is free or already the host's: they meet on one address.
        for k in 0..n {
            let i = (start + k) % n;
            if steer.addr_class(o.addrs[i]) != class {
                continue;
            }
            let w = &o.words[i];
            let mut cur = w.load(Ordering::Acquire);
            loop {
                let next = if cur == 0 {
                    mine | 1
                } else if cur & !0xFFFF_FFFF == mine && cur & 0xFFFF_FFFF != 0xFFFF_FFFF {
                    cur + 1
                } else {
                    break;
                };
                match w.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return Some(o.addrs[i]),
                    Err(now) => cur = now,
                }
            }
        }
        None
    }

    /// One session fewer of `host` on `addr`; the address is free again with its last.
    pub fn release(&self, pool: u16, host: u32, addr: u32) {
        let Some(o) = self.pools.get(usize::from(pool)).and_then(Option::as_ref) else {
            return;
        };
        let Some(i) = o.addrs.iter().position(|&a| a == addr) else {
            return;
        };
        let w = &o.words[i];
        let mine = u64::from(host) << 32;
        let mut cur = w.load(Ordering::Acquire);
        while cur & !0xFFFF_FFFF == mine && cur & 0xFFFF_FFFF != 0 {
            let next = if cur & 0xFFFF_FFFF == 1 { 0 } else { cur - 1 };
            match w.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }

    /// Addresses held now in `pool`, and the sessions on them.
    #[must_use]
    pub fn held(&self, pool: u16) -> (u64, u64) {
        self.pools
            .get(usize::from(pool))
            .and_then(Option::as_ref)
            .map_or((0, 0), |o| {
                o.words.iter().fold((0, 0), |(a, s), w| {
                    let v = w.load(Ordering::Acquire);
                    (a + u64::from(v != 0), s + (v & 0xFFFF_FFFF))
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Arc;

    fn config(pool: &str) -> Config {
        let text = format!(
            "[[port]]\nname = \"ge-0/0/0.0\"\npcap-rx = \"in.pcap\"\npeer = \"ge-0/0/1.0\"\n\
             [[port]]\nname = \"ge-0/0/1.0\"\npcap-tx = \"out.pcap\"\npeer = \"ge-0/0/0.0\"\n\
             [[nat.pool]]\nname = \"dyn\"\naddress = \"{pool}\"\n\
             [[nat.rule]]\nname = \"r\"\nsource = [\"10.0.0.0/8\"]\n\
             translation-type = \"dynamic-nat44\"\npool = \"dyn\"\n"
        );
        Config::from_toml_str(&text, "t.toml".as_ref()).unwrap()
    }

    #[test]
    fn a_host_keeps_its_address_while_it_has_sessions_and_hosts_never_share_one() {
        let o = AddrOwners::new(&config("198.51.100.0/30")).unwrap();
        let st = Steering::new(2, 0).unwrap();
        let a = o.take(0, 0x0A00_0001, st).unwrap();
        assert_eq!(
            o.take(0, 0x0A00_0001, st),
            Some(a),
            "the same address again"
        );
        assert_eq!(
            st.addr_class(a),
            st.addr_class(0x0A00_0001),
            "of the host's class"
        );
        // Two addresses of each class: hosts of one class take them, a third is refused.
        let same_class: Vec<u32> = (2..200u32)
            .map(|h| 0x0A00_0000 + h)
            .filter(|&h| st.addr_class(h) == st.addr_class(0x0A00_0001))
            .take(2)
            .collect();
        let b = o.take(0, same_class[0], st).unwrap();
        assert_ne!(a, b);
        assert_eq!(o.take(0, same_class[1], st), None);
        assert_eq!(o.held(0), (2, 3));
        o.release(0, 0x0A00_0001, a);
        assert_eq!(
            o.take(0, same_class[1], st),
            None,
            "a still holds one session"
        );
        o.release(0, 0x0A00_0001, a);
        assert_eq!(
            o.take(0, same_class[1], st),
            Some(a),
            "free with its last session"
        );
        // A release by another host changes nothing.
        o.release(0, 0x0A00_0001, a);
        assert_eq!(o.held(0), (2, 2));
    }

    #[test]
    fn hosts_on_several_threads_meet_on_one_address_each() {
        let o = Arc::new(AddrOwners::new(&config("198.51.100.0/26")).unwrap());
        let st = Steering::new(1, 0).unwrap();
        let got: Vec<Vec<(u32, u32)>> = (0..4u32)
            .map(|t| {
                let o = Arc::clone(&o);
                std::thread::spawn(move || {
                    (0..2000u32)
                        .map(|i| {
                            let host = 0x0A00_0000 + (i * 7 + t) % 40;
                            (host, o.take(0, host, st).unwrap())
                        })
                        .collect()
                })
            })
            .map(|h| h.join().unwrap())
            .collect();
        let mut by_host: HashMap<u32, u32> = HashMap::new();
        let mut by_addr: HashMap<u32, u32> = HashMap::new();
        for (h, a) in got.into_iter().flatten() {
            assert_eq!(
                *by_host.entry(h).or_insert(a),
                a,
                "host {h:x} on two addresses"
            );
            assert_eq!(*by_addr.entry(a).or_insert(h), h, "address {a:x} shared");
        }
        assert_eq!(o.held(0), (40, 8000));
    }
}
