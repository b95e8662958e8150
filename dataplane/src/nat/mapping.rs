//! Endpoint-independent mappings (RFC 4787 REQ-1, RFC 5382 REQ-1): a private endpoint
//! (address, port, protocol) keeps one public endpoint whatever the destination, for as long
//! as one of its sessions lives. A fixed table sized at start, found from either side: by the
//! private endpoint (a new outbound session reuses the mapping) and by the public one (an
//! inbound packet to the mapping, under endpoint-independent filtering). Open addressing
//! with linear probing and backward-shift deletion: no tombstones, no allocation after
//! start.

use super::Kind;

/// One mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mapping {
    /// The protocol's port space.
    pub kind: u8,
    /// Private address (host order) and port.
    pub private: (u32, u16),
    /// Public address (host order) and port.
    pub public: (u32, u16),
    /// The pool the public endpoint came from.
    pub pool: u16,
    /// The NAT rule that made it (its filtering applies to inbound packets).
    pub rule: u16,
    /// Live sessions using it (0: the entry is free).
    pub refs: u32,
    /// The private host's Ethernet address, from the frame that made the mapping (where a
    /// hairpinned packet to the mapping is sent).
    pub mac: [u8; 6],
}

/// Empty index cell.
const EMPTY: u32 = u32::MAX;

/// The table.
#[derive(Debug)]
pub struct MappingTable {
    entries: Vec<Mapping>,
    free: Vec<u32>,
    by_private: Vec<u32>,
    by_public: Vec<u32>,
    mask: usize,
}

fn mix(kind: u8, a: u32, p: u16) -> usize {
    let x = (u64::from(a) << 24) ^ (u64::from(p) << 8) ^ u64::from(kind);
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize
}

impl MappingTable {
    /// Room for `capacity` mappings (indices at most half full).
    #[must_use]
    pub fn new(capacity: u32) -> Self {
        let cap = capacity as usize;
        let cells = (cap * 2).next_power_of_two().max(2);
        MappingTable {
            entries: vec![Mapping::default(); cap],
            free: (0..capacity).rev().collect(),
            by_private: vec![EMPTY; if cap == 0 { 0 } else { cells }],
            by_public: vec![EMPTY; if cap == 0 { 0 } else { cells }],
            mask: cells - 1,
        }
    }

    /// Live mappings.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// No live mapping.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn probe(&self, index: &[u32], kind: u8, a: u32, p: u16, public: bool) -> Option<usize> {
        if index.is_empty() {
            return None;
        }
        let mut i = mix(kind, a, p) & self.mask;
        loop {
            let e = *index.get(i)?;
            if e == EMPTY {
                return None;
            }
            let m = self.entries.get(e as usize)?;
            let ep = if public { m.public } else { m.private };
            if m.kind == kind && ep == (a, p) {
                return Some(i);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The mapping of a private endpoint.
    #[must_use]
    pub fn by_private(&self, kind: Kind, a: u32, p: u16) -> Option<&Mapping> {
        let i = self.probe(&self.by_private, kind as u8, a, p, false)?;
        self.entries.get(self.by_private[i] as usize)
    }

    /// The mapping of a public endpoint.
    #[must_use]
    pub fn by_public(&self, kind: Kind, a: u32, p: u16) -> Option<&Mapping> {
        let i = self.probe(&self.by_public, kind as u8, a, p, true)?;
        self.entries.get(self.by_public[i] as usize)
    }

    /// One more session on the mapping of private endpoint (`a`, `p`). False if there is
    /// none.
    pub fn hold(&mut self, kind: Kind, a: u32, p: u16) -> bool {
        let Some(i) = self.probe(&self.by_private, kind as u8, a, p, false) else {
            return false;
        };
        let e = self.by_private[i] as usize;
        self.entries[e].refs += 1;
        true
    }

    /// A new mapping with one session. False when the table is full or the private or the
    /// public endpoint already has one.
    pub fn insert(&mut self, m: Mapping) -> bool {
        let k = m.kind;
        if self
            .probe(&self.by_private, k, m.private.0, m.private.1, false)
            .is_some()
            || self
                .probe(&self.by_public, k, m.public.0, m.public.1, true)
                .is_some()
        {
            return false;
        }
        let Some(e) = self.free.pop() else {
            return false;
        };
        self.entries[e as usize] = Mapping { refs: 1, ..m };
        for (index, (a, p)) in [
            (&mut self.by_private, m.private),
            (&mut self.by_public, m.public),
        ] {
            let mut i = mix(k, a, p) & self.mask;
            while index[i] != EMPTY {
                i = (i + 1) & self.mask;
            }
            index[i] = e;
        }
        true
    }

    /// One session fewer on the mapping of private endpoint (`a`, `p`); at none, the
    /// mapping goes and is returned (its public endpoint is free again).
    pub fn release(&mut self, kind: Kind, a: u32, p: u16) -> Option<Mapping> {
        let i = self.probe(&self.by_private, kind as u8, a, p, false)?;
        let e = self.by_private[i] as usize;
        let m = &mut self.entries[e];
        m.refs = m.refs.saturating_sub(1);
        if m.refs > 0 {
            return None;
        }
        let m = *m;
        let j = self.probe(&self.by_public, kind as u8, m.public.0, m.public.1, true)?;
        Self::remove_at(&mut self.by_private, i, self.mask, &self.entries, false);
        Self::remove_at(&mut self.by_public, j, self.mask, &self.entries, true);
        self.entries[e] = Mapping::default();
        self.free.push(e as u32);
        Some(m)
    }

    /// Backward-shift deletion: the cells after `i` whose home lies at or before the hole
    /// move into it, so probes never cross an empty cell that was once full.
    fn remove_at(index: &mut [u32], mut i: usize, mask: usize, entries: &[Mapping], public: bool) {
        index[i] = EMPTY;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let e = index[j];
            if e == EMPTY {
                return;
            }
            let m = &entries[e as usize];
            let (a, p) = if public { m.public } else { m.private };
            let home = mix(m.kind, a, p) & mask;
            // Move it when the hole lies cyclically between its home and its cell.
            let dist_j = j.wrapping_sub(home) & mask;
            let dist_i = i.wrapping_sub(home) & mask;
            if dist_i <= dist_j {
                index[i] = e;
                index[j] = EMPTY;
                i = j;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Against a map model: lookups from both sides agree with it after any sequence of
        /// new mappings, holds and releases; a full table refuses.
        #[test]
        fn mappings_match_a_model(ops in proptest::collection::vec((0u8..3, 0u32..40, any::<bool>()), 1..500)) {
            let mut t = MappingTable::new(16);
            let mut model: HashMap<u32, (u32, u16, u32)> = HashMap::new(); // private host -> (pub addr, pub port, refs)
            let mut next_port = 1000u16;
            for (op, host, _) in ops {
                let kind = Kind::Udp;
                match op {
                    0 => {
                        if model.contains_key(&host) {
                            prop_assert!(t.hold(kind, host, 5000));
                            model.get_mut(&host).unwrap().2 += 1;
                        } else {
                            next_port += 1;
                            let m = Mapping { kind: kind as u8, private: (host, 5000), public: (7, next_port), ..Mapping::default() };
                            let ok = t.insert(m);
                            prop_assert_eq!(ok, model.len() < 16);
                            if ok {
                                model.insert(host, (7, next_port, 1));
                            }
                        }
                    }
                    _ => {
                        let got = t.release(kind, host, 5000);
                        match model.get_mut(&host) {
                            Some(e) => {
                                e.2 -= 1;
                                if e.2 == 0 {
                                    prop_assert_eq!(got.map(|m| m.public), Some((e.0, e.1)));
                                    model.remove(&host);
                                } else {
                                    prop_assert!(got.is_none());
                                }
                            }
                            None => prop_assert!(got.is_none()),
                        }
                    }
                }
                prop_assert_eq!(t.len(), model.len());
                for (&h, &(a, p, refs)) in &model {
                    let m = t.by_private(kind, h, 5000);
                    prop_assert_eq!(m.map(|m| (m.public, m.refs)), Some(((a, p), refs)));
                    prop_assert_eq!(t.by_public(kind, a, p).map(|m| m.private), Some((h, 5000)));
                }
            }
        }
    }
}
