//! The session index: a bucketized hash table of 64-byte buckets (eight 16-bit tags and
//! eight slots each, compared with one SIMD instruction), probed linearly, at most 62.5 %
//! full; [`Index::prefetch`] pulls a hash's bucket ahead of its lookup.

use crate::flow::FlowKey;
use crate::mem::{prefetch, HugeSlice};

/// Entries per bucket.
pub(super) const WAYS: usize = 8;

/// The tag of a hash: its top 16 bits.
#[inline]
pub(super) fn tag_of(hash: u64) -> u16 {
    (hash >> 48) as u16
}

/// The home bucket of a hash among `n`: multiply-shift range reduction of the low 32 bits.
#[inline]
pub(super) fn home_of(hash: u64, n: usize) -> usize {
    ((u64::from(hash as u32) * n as u64) >> 32) as usize
}

/// Key equality: the addresses as two 128-bit compares, then the rest field by field (the
/// VLAN included: the same addresses on two VLANs are two sessions),
/// without branches (no byte-wise assembly of words).
#[inline(always)]
pub(super) fn key_eq(a: &FlowKey, b: &FlowKey) -> bool {
    let addr = (u128::from_ne_bytes(a.addr_a) ^ u128::from_ne_bytes(b.addr_a))
        | (u128::from_ne_bytes(a.addr_b) ^ u128::from_ne_bytes(b.addr_b));
    let rest = u32::from(a.port_a ^ b.port_a)
        | u32::from(a.port_b ^ b.port_b)
        | u32::from(a.proto ^ b.proto)
        | u32::from(a.family ^ b.family)
        | u32::from(a.vlan ^ b.vlan);
    (addr == 0) & (rest == 0)
}

/// One cache line of the index.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct Bucket {
    /// Tags of the entries, four 16-bit lanes per word (entry `w` in word `w / 4`, bits
    /// `16 * (w % 4)`): the match reads them as two words.
    pub(super) tags: [u64; 2],
    /// Session slots of the entries.
    pub(super) slots: [u32; WAYS],
    /// Entries whose home bucket lies before this one and that were placed after it.
    pub(super) overflow: u32,
    /// Occupied entries, one bit each.
    pub(super) occ: u8,
}

const _: () = assert!(core::mem::size_of::<Bucket>() == 64);

impl Bucket {
    pub(super) const EMPTY: Bucket = Bucket {
        tags: [0; 2],
        slots: [0; WAYS],
        overflow: 0,
        occ: 0,
    };

    /// Occupied entries whose tag is `tag`, one bit each ([`crate::mem::lanes_equal`]: SSE2
    /// on x86_64, SWAR elsewhere).
    #[inline]
    pub(super) fn matches(&self, tag: u16) -> u32 {
        crate::mem::lanes_equal(self.tags, tag) & u32::from(self.occ)
    }

    /// Entry `w`'s tag.
    #[inline]
    #[cfg(test)]
    pub(super) fn tag(&self, w: usize) -> u16 {
        (self.tags[(w / 4) & 1] >> (16 * (w % 4))) as u16
    }

    /// Sets entry `w`'s tag.
    #[inline]
    pub(super) fn set_tag(&mut self, w: usize, tag: u16) {
        let (i, sh) = ((w / 4) & 1, 16 * (w % 4));
        self.tags[i] = (self.tags[i] & !(0xFFFF << sh)) | (u64::from(tag) << sh);
    }
}

/// The bucketized index.
#[derive(Debug)]
pub(super) struct Index {
    pub(super) buckets: HugeSlice<Bucket>,
}

impl Index {
    pub(super) fn new(capacity: u32) -> Self {
        // At most 62.5 % load (capacity / 5 buckets of 8), and always one free entry. At
        // 80 % a full table had 7-9 % of its entries outside their home bucket, and each
        // lookup of one walked a chain (about 200 instructions and, at 1M sessions, a cache
        // miss the lookup passes had not prefetched); at 62.5 % about 2.5 %, for 2.8 more bytes
        // per session.
        let cap = u64::from(capacity);
        let n = cap.div_ceil(5).max((cap + 1).div_ceil(WAYS as u64)).max(1) as usize;
        Index {
            buckets: HugeSlice::new(n, |_| Bucket::EMPTY),
        }
    }

    #[inline]
    pub(super) fn home(&self, hash: u64) -> usize {
        home_of(hash, self.buckets.len())
    }

    /// Prefetches the home bucket of `hash`.
    #[inline]
    pub(super) fn prefetch(&self, hash: u64) {
        if let Some(b) = self.buckets.get(self.home(hash)) {
            prefetch(&b.occ);
        }
    }

    #[inline]
    pub(super) fn step(&self, i: usize) -> usize {
        if i + 1 >= self.buckets.len() {
            0
        } else {
            i + 1
        }
    }

    /// Add `slot` under `hash`. False (nothing changed) only if every bucket is full, which
    /// the sizing rules out.
    pub(super) fn insert(&mut self, hash: u64, slot: u32) -> bool {
        let n = self.buckets.len();
        let home = self.home(hash);
        let mut i = home;
        for probe in 0..n {
            let Some(b) = self.buckets.get_mut(i) else {
                return false;
            };
            if b.occ != 0xFF {
                let w = (!b.occ).trailing_zeros() as usize & (WAYS - 1);
                b.set_tag(w, tag_of(hash));
                b.slots[w] = slot;
                b.occ |= 1 << w;
                // Count the entry in every bucket it passed.
                let mut j = home;
                for _ in 0..probe {
                    if let Some(p) = self.buckets.get_mut(j) {
                        p.overflow += 1;
                    }
                    j = self.step(j);
                }
                return true;
            }
            i = self.step(i);
        }
        false
    }

    /// Drop the entry of `slot` under `hash`. False if it is not there.
    pub(super) fn remove(&mut self, hash: u64, slot: u32) -> bool {
        let n = self.buckets.len();
        let tag = tag_of(hash);
        let home = self.home(hash);
        let mut i = home;
        for probe in 0..n {
            let Some(b) = self.buckets.get_mut(i) else {
                return false;
            };
            let mut m = b.matches(tag);
            while m != 0 {
                let w = m.trailing_zeros() as usize & (WAYS - 1);
                if b.slots[w] == slot {
                    b.occ &= !(1 << w);
                    let mut j = home;
                    for _ in 0..probe {
                        if let Some(p) = self.buckets.get_mut(j) {
                            p.overflow = p.overflow.saturating_sub(1);
                        }
                        j = self.step(j);
                    }
                    return true;
                }
                m &= m - 1;
            }
            if b.overflow == 0 {
                return false;
            }
            i = self.step(i);
        }
        false
    }

    pub(super) fn memory_bytes(&self) -> usize {
        core::mem::size_of_val::<[Bucket]>(&self.buckets)
    }
}
