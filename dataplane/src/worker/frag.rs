//! Virtual reassembly: the fragments of a datagram follow its session without being
//! copied or reassembled. The first fragment (it carries the ports) finds or makes the
//! session as any packet does and is remembered here by (source, destination,
//! identification, protocol, VLAN) for [`FRAG_TIMEOUT_MS`]; a later fragment of the same
//! datagram is counted on that session and gets its action. Each datagram keeps the byte
//! ranges it has seen: a fragment that overlaps one (the classic evasion and teardrop
//! attacks) is dropped and counted, as is one past [`MAX_RANGES`] pieces. Fragments that
//! arrive before their first one find nothing and are dropped and counted.
//!
//! A fixed table, allocated at start (4-way set associative, the oldest of a full set
//! replaced): nothing is allocated per packet.

use crate::flow::{Direction, FlowKey};

/// How long a datagram's first fragment is remembered, milliseconds.
pub(super) const FRAG_TIMEOUT_MS: u32 = 2_000;
/// Pieces a datagram may come in.
pub(super) const MAX_RANGES: usize = 16;
/// Datagrams remembered at once, per worker.
const ENTRIES: usize = 1024;
const WAYS: usize = 4;

/// Which datagram a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct DatagramId {
    pub(super) src: [u8; 16],
    pub(super) dst: [u8; 16],
    pub(super) id: u32,
    pub(super) proto: u8,
    pub(super) vlan: u16,
}

impl DatagramId {
    fn hash(&self) -> usize {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let words = [
            u64::from_le_bytes(self.src[..8].try_into().unwrap_or([0; 8])),
            u64::from_le_bytes(self.src[8..].try_into().unwrap_or([0; 8])),
            u64::from_le_bytes(self.dst[..8].try_into().unwrap_or([0; 8])),
            u64::from_le_bytes(self.dst[8..].try_into().unwrap_or([0; 8])),
            (u64::from(self.id) << 24) | (u64::from(self.proto) << 16) | u64::from(self.vlan),
        ];
        for w in words {
            h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3);
        }
        (h ^ (h >> 29)) as usize
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    live: bool,
    datagram: DatagramId,
    /// The session the first fragment went to, and its key (a slot may be reused).
    slot: u32,
    key: FlowKey,
    dir_b: bool,
    expires_ms: u32,
    ranges: [(u16, u16); MAX_RANGES],
    n: u8,
}

/// What a later fragment found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Follow {
    /// Its datagram's session: count it there, give it the session's action.
    Session(u32, FlowKey, Direction),
    /// No first fragment remembered (not seen, or too long ago).
    Unknown,
    /// It overlaps a piece already seen.
    Overlap,
    /// Its datagram came in too many pieces.
    TooMany,
}

/// The remembered datagrams of one worker.
#[derive(Debug)]
pub(super) struct FragTable {
    entries: Box<[Entry]>,
}

impl Default for FragTable {
    fn default() -> Self {
        FragTable {
            entries: vec![Entry::default(); ENTRIES].into_boxed_slice(),
        }
    }
}

fn expired(e: &Entry, now_ms: u32) -> bool {
    !e.live || (now_ms.wrapping_sub(e.expires_ms) as i32) >= 0
}

fn overlaps(e: &Entry, start: u16, end: u16) -> bool {
    e.ranges[..usize::from(e.n)]
        .iter()
        .any(|&(s, t)| start < t && s < end)
}

impl FragTable {
    fn set(&self, d: &DatagramId) -> usize {
        (d.hash() % (ENTRIES / WAYS)) * WAYS
    }

    fn find(&mut self, d: &DatagramId, now_ms: u32) -> Option<&mut Entry> {
        let base = self.set(d);
        self.entries[base..base + WAYS]
            .iter_mut()
            .find(|e| !expired(e, now_ms) && e.datagram == *d)
    }

    /// A first fragment (bytes `0..end` of its datagram) went to session `slot` with
    /// `key`, in direction `dir`.
    pub(super) fn first(
        &mut self,
        d: DatagramId,
        end: u16,
        slot: u32,
        key: FlowKey,
        dir: Direction,
        now_ms: u32,
    ) {
        let base = self.set(&d);
        let set = &mut self.entries[base..base + WAYS];
        // The same datagram again (a retransmission), else a free or expired entry, else
        // the one that expires first.
        let i = set
            .iter()
            .position(|e| e.live && e.datagram == d)
            .or_else(|| set.iter().position(|e| expired(e, now_ms)))
            .unwrap_or_else(|| {
                (0..WAYS)
                    .min_by_key(|&i| set[i].expires_ms.wrapping_sub(now_ms))
                    .unwrap_or(0)
            });
        let mut e = Entry {
            live: true,
            datagram: d,
            slot,
            key,
            dir_b: dir == Direction::BtoA,
            expires_ms: now_ms.wrapping_add(FRAG_TIMEOUT_MS),
            ranges: [(0, 0); MAX_RANGES],
            n: 1,
        };
        e.ranges[0] = (0, end);
        set[i] = e;
    }

    /// A later fragment: bytes `start..end` of datagram `d`.
    pub(super) fn follow(&mut self, d: &DatagramId, start: u16, end: u16, now_ms: u32) -> Follow {
        let Some(e) = self.find(d, now_ms) else {
            return Follow::Unknown;
        };
        if overlaps(e, start, end) {
            return Follow::Overlap;
        }
        if usize::from(e.n) == MAX_RANGES {
            return Follow::TooMany;
        }
        e.ranges[usize::from(e.n)] = (start, end);
        e.n += 1;
        let dir = if e.dir_b {
            Direction::BtoA
        } else {
            Direction::AtoB
        };
        Follow::Session(e.slot, e.key, dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: u32) -> DatagramId {
        DatagramId {
            src: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            dst: [10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            id,
            proto: 17,
            vlan: 0,
        }
    }

    #[test]
    fn later_fragments_follow_the_first_and_overlaps_are_refused() {
        let mut t = FragTable::default();
        let k = FlowKey::default();
        assert_eq!(t.follow(&d(1), 1480, 2960, 0), Follow::Unknown);
        t.first(d(1), 1480, 7, k, Direction::BtoA, 0);
        assert_eq!(
            t.follow(&d(1), 1480, 2960, 10),
            Follow::Session(7, k, Direction::BtoA)
        );
        assert_eq!(t.follow(&d(1), 2000, 2500, 10), Follow::Overlap);
        assert_eq!(t.follow(&d(1), 0, 8, 10), Follow::Overlap, "over the first");
        assert_eq!(
            t.follow(&d(2), 1480, 2960, 10),
            Follow::Unknown,
            "another datagram"
        );
        // Remembered for FRAG_TIMEOUT_MS.
        assert_eq!(
            t.follow(&d(1), 2960, 3000, FRAG_TIMEOUT_MS),
            Follow::Unknown
        );
        // Tiny pieces: at most MAX_RANGES.
        t.first(d(3), 8, 1, k, Direction::AtoB, 0);
        for i in 1..MAX_RANGES as u16 {
            assert!(matches!(
                t.follow(&d(3), i * 8, i * 8 + 8, 1),
                Follow::Session(..)
            ));
        }
        assert_eq!(t.follow(&d(3), 4000, 4008, 1), Follow::TooMany);
    }

    #[test]
    fn a_full_set_drops_the_oldest() {
        let mut t = FragTable::default();
        let k = FlowKey::default();
        for id in 0..10_000u32 {
            t.first(d(id), 8, id, k, Direction::AtoB, id);
        }
        // The latest are there; the table never grew.
        assert!(matches!(
            t.follow(&d(9_999), 8, 16, 10_000),
            Follow::Session(9_999, ..)
        ));
        assert_eq!(t.entries.len(), ENTRIES);
    }
}
