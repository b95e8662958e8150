//! A worker's pinholes: the child flows an ALG on the control core said to expect.
//!
//! The control core sends every pinhole to every worker (the command travels on the
//! worker's ALG command ring) and waits until each worker has applied it before it lets the
//! packet that negotiated it leave, so the child's first packet finds its pinhole on
//! whichever worker RSS gives it to. A pinhole is looked up only when a packet finds no
//! session; an empty table costs one compare.
//!
//! Capacity is fixed at start; no allocation after construction. Pinholes are indexed by
//! (protocol, destination address, destination port) in a chained hash; those that leave the
//! destination port open (an ICMP answer to a traceroute probe) sit on one short list.

use crate::session::Action;

const NIL: u32 = u32::MAX;

/// A child flow to expect. `None` fields are wildcards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinholeSpec {
    /// Resource ID, given by the control core (unique while the pinhole lives).
    pub id: u32,
    /// The session ID of the parent (control) session.
    pub parent: u32,
    /// IP protocol of the child.
    pub proto: u8,
    /// 4 or 6.
    pub family: u8,
    /// The child's source address (IPv4 in the first 4 bytes), or any.
    pub src: Option<[u8; 16]>,
    /// The child's source port, or any.
    pub src_port: Option<u16>,
    /// The child's destination address.
    pub dst: [u8; 16],
    /// The child's destination port, or any.
    pub dst_port: Option<u16>,
    /// When the pinhole lapses, on the shared clock (milliseconds).
    pub expires_ms: u32,
    /// Removed by its first match (else it stays until it lapses or the control core
    /// removes it).
    pub one_shot: bool,
    /// The child session's action (Forward, or Watch when the child has an ALG too).
    pub action: Action,
    /// The child's application (catalogue index, `u16::MAX` for none).
    pub application: u16,
    /// The parent's service set and rule: the child is permitted by its parent's policy.
    pub service_set: u16,
    /// See `service_set`.
    pub rule: u16,
    /// The child may be offloaded under its service set's policy although its
    /// application has an ALG (the ALG needs to see only the control session: FTP data).
    pub offload: bool,
    /// Through source NAT: the child comes to a public endpoint the control core took from
    /// the pool's ALG ports (`dst`, `dst_port`) and its session is made to the private one.
    pub nat: Option<PinholeNat>,
}

/// A pinhole through source NAT (an active FTP data connection to a translated client):
/// the public endpoint the ALG wrote into the payload, the private one the child's session
/// is made to, and the pool the public port came from (the control core gives it back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinholeNat {
    /// The private address (IPv4) and port.
    pub private: ([u8; 4], u16),
    /// The public address and port (the pinhole's destination).
    pub public: ([u8; 4], u16),
    /// The pool (index into the configuration's pools).
    pub pool: u16,
}

impl PinholeSpec {
    fn matches(&self, proto: u8, src: &[u8; 16], sport: u16, dst: &[u8; 16], dport: u16) -> bool {
        self.proto == proto
            && self.dst == *dst
            && self.dst_port.is_none_or(|p| p == dport)
            && self.src.is_none_or(|a| a == *src)
            && self.src_port.is_none_or(|p| p == sport)
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    spec: PinholeSpec,
    /// Next entry on the same chain (or the free list).
    next: u32,
    live: bool,
}

/// A fixed-capacity set of pinholes.
#[derive(Debug)]
pub struct PinholeTable {
    entries: Vec<Entry>,
    heads: Vec<u32>,
    /// Pinholes whose destination port is open.
    wild: u32,
    free: u32,
    len: u32,
}

fn bucket_of(proto: u8, dst: &[u8; 16], dport: u16, mask: usize) -> usize {
    // FNV-1a over the few bytes that identify the chain: cheap and good enough for a table
    // of a few thousand entries the control core fills.
    let mut h: u32 = 0x811c_9dc5;
    for &b in dst.iter().chain(&dport.to_be_bytes()).chain(&[proto]) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h as usize) & mask
}

impl PinholeTable {
    /// A table for at most `capacity` pinholes.
    #[must_use]
    pub fn new(capacity: u32) -> PinholeTable {
        let cap = capacity.max(1);
        let entries = (0..cap)
            .map(|i| Entry {
                spec: PinholeSpec {
                    id: 0,
                    parent: 0,
                    proto: 0,
                    family: 0,
                    src: None,
                    src_port: None,
                    dst: [0; 16],
                    dst_port: None,
                    expires_ms: 0,
                    one_shot: false,
                    action: Action::Forward,
                    application: u16::MAX,
                    service_set: 0,
                    rule: 0,
                    offload: false,
                    nat: None,
                },
                next: if i + 1 < cap { i + 1 } else { NIL },
                live: false,
            })
            .collect();
        let nb = (cap as usize * 2).next_power_of_two();
        PinholeTable {
            entries,
            heads: vec![NIL; nb],
            wild: NIL,
            free: 0,
            len: 0,
        }
    }

    /// Live pinholes.
    #[must_use]
    pub fn len(&self) -> u32 {
        self.len
    }

    /// True when there is none.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn head_mut(&mut self, spec_dst: &[u8; 16], proto: u8, dport: Option<u16>) -> &mut u32 {
        match dport {
            Some(p) => {
                let b = bucket_of(proto, spec_dst, p, self.heads.len() - 1);
                &mut self.heads[b]
            }
            None => &mut self.wild,
        }
    }

    /// Adds a pinhole (replacing one with the same ID). Returns false when the table is full.
    pub fn insert(&mut self, spec: PinholeSpec) -> bool {
        self.remove(spec.id);
        let i = self.free;
        if i == NIL {
            return false;
        }
        let head = *self.head_mut(&spec.dst, spec.proto, spec.dst_port);
        let e = &mut self.entries[i as usize];
        self.free = e.next;
        *e = Entry {
            spec,
            next: head,
            live: true,
        };
        *self.head_mut(&spec.dst, spec.proto, spec.dst_port) = i;
        self.len += 1;
        true
    }

    /// Removes the pinhole with this ID; returns it if it was there.
    pub fn remove(&mut self, id: u32) -> Option<PinholeSpec> {
        if self.len == 0 {
            return None;
        }
        let i = self
            .entries
            .iter()
            .position(|e| e.live && e.spec.id == id)?;
        Some(self.unlink(i as u32))
    }

    fn unlink(&mut self, i: u32) -> PinholeSpec {
        let spec = self.entries[i as usize].spec;
        let next = self.entries[i as usize].next;
        let head = self.head_mut(&spec.dst, spec.proto, spec.dst_port);
        if *head == i {
            *head = next;
        } else {
            let mut cur = *head;
            while cur != NIL {
                let n = self.entries[cur as usize].next;
                if n == i {
                    self.entries[cur as usize].next = next;
                    break;
                }
                cur = n;
            }
        }
        let e = &mut self.entries[i as usize];
        e.live = false;
        e.next = self.free;
        self.free = i;
        self.len -= 1;
        spec
    }

    /// The pinhole a new flow's first packet matches, if any: one-shot pinholes are taken
    /// out; lapsed ones met on the way are dropped.
    pub fn take_match(
        &mut self,
        proto: u8,
        src: &[u8; 16],
        sport: u16,
        dst: &[u8; 16],
        dport: u16,
        now_ms: u32,
    ) -> Option<PinholeSpec> {
        if self.len == 0 {
            return None;
        }
        let b = bucket_of(proto, dst, dport, self.heads.len() - 1);
        for start in [self.heads[b], self.wild] {
            let mut cur = start;
            while cur != NIL {
                let e = self.entries[cur as usize];
                let next = e.next;
                if lapsed(e.spec.expires_ms, now_ms) {
                    self.unlink(cur);
                } else if e.spec.matches(proto, src, sport, dst, dport) {
                    if e.spec.one_shot {
                        self.unlink(cur);
                    }
                    return Some(e.spec);
                }
                cur = next;
            }
        }
        None
    }
}

/// True when `expires_ms` is in the past (wrapping millisecond clock).
#[must_use]
pub fn lapsed(expires_ms: u32, now_ms: u32) -> bool {
    (now_ms.wrapping_sub(expires_ms) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut x = [0u8; 16];
        x[..4].copy_from_slice(&a);
        x
    }

    fn spec(id: u32, dst: [u8; 4], dport: Option<u16>, one_shot: bool) -> PinholeSpec {
        PinholeSpec {
            id,
            parent: 7,
            proto: crate::wire::ip_proto::TCP,
            family: 4,
            src: Some(v4([10, 0, 0, 1])),
            src_port: None,
            dst: v4(dst),
            dst_port: dport,
            expires_ms: 10_000,
            one_shot,
            action: Action::Forward,
            application: 3,
            service_set: 0,
            rule: 1,
            offload: false,
            nat: None,
        }
    }

    #[test]
    fn matches_with_wildcards_and_one_shot_goes() {
        let mut t = PinholeTable::new(4);
        assert!(t.insert(spec(1, [10, 0, 0, 2], Some(5001), true)));
        let (c, s) = (v4([10, 0, 0, 1]), v4([10, 0, 0, 2]));
        // Wrong port, wrong source, wrong protocol: no match.
        assert_eq!(t.take_match(6, &c, 40000, &s, 5002, 0), None);
        assert_eq!(
            t.take_match(6, &v4([10, 0, 0, 9]), 40000, &s, 5001, 0),
            None
        );
        assert_eq!(t.take_match(17, &c, 40000, &s, 5001, 0), None);
        // Any source port matches; the pinhole is used up.
        assert_eq!(
            t.take_match(6, &c, 40000, &s, 5001, 0).map(|p| p.id),
            Some(1)
        );
        assert!(t.is_empty());
        assert_eq!(t.take_match(6, &c, 40001, &s, 5001, 0), None);
    }

    #[test]
    fn lapsed_pinholes_do_not_match_and_are_dropped() {
        let mut t = PinholeTable::new(4);
        t.insert(spec(1, [10, 0, 0, 2], Some(5001), false));
        let (c, s) = (v4([10, 0, 0, 1]), v4([10, 0, 0, 2]));
        assert!(t.take_match(6, &c, 1, &s, 5001, 9_999).is_some());
        assert_eq!(t.len(), 1, "not one-shot: stays");
        assert_eq!(t.take_match(6, &c, 1, &s, 5001, 10_001), None);
        assert!(t.is_empty());
    }

    #[test]
    fn open_destination_port_and_capacity() {
        let mut t = PinholeTable::new(2);
        assert!(t.insert(spec(1, [10, 0, 0, 2], None, false)));
        assert!(t.insert(spec(2, [10, 0, 0, 3], Some(1), false)));
        assert!(!t.insert(spec(3, [10, 0, 0, 4], Some(1), false)), "full");
        let (c, s) = (v4([10, 0, 0, 1]), v4([10, 0, 0, 2]));
        assert_eq!(t.take_match(6, &c, 1, &s, 33_434, 0).map(|p| p.id), Some(1));
        assert_eq!(t.remove(1).map(|p| p.id), Some(1));
        assert!(
            t.insert(spec(3, [10, 0, 0, 4], Some(1), false)),
            "room again"
        );
        assert_eq!(t.remove(99), None);
        // Replacing an ID keeps one entry.
        assert!(t.insert(spec(3, [10, 0, 0, 5], Some(1), false)));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn many_on_one_chain_unlink_from_the_middle() {
        let mut t = PinholeTable::new(64);
        for id in 0..40 {
            // Same destination, distinct ports: several share chains.
            assert!(t.insert(spec(id, [10, 0, 0, 2], Some(2000 + id as u16), false)));
        }
        for id in (0..40).step_by(3) {
            assert!(t.remove(id).is_some());
        }
        let (c, s) = (v4([10, 0, 0, 1]), v4([10, 0, 0, 2]));
        for id in 0..40u32 {
            let got = t
                .take_match(6, &c, 9, &s, 2000 + id as u16, 0)
                .map(|p| p.id);
            assert_eq!(got, (id % 3 != 0).then_some(id));
        }
    }
}
