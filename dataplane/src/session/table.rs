//! The session table of one worker: sessions in one boxed slice indexed by slot, a
//! bucketized hash index over them, and the idle-timeout wheel, all sized at construction.
//!
//! # Layout
//!
//! * **Sessions**: two arrays indexed by slot. [`Session`] is the hot part, 64 bytes aligned
//!   to a cache line: the key and everything an established packet reads or writes
//!   (`last_seen_ms`, the low 32 bits of the packet and byte counters, action, bits, TCP
//!   state). [`SessionInfo`] is the cold part, 64 bytes (so one line, never two): the
//!   counters' high words (carried into only when a low word wraps), timeout, timer links,
//!   start time, FIN sequences, service set, rule, application, ingress ports, offload
//!   state. So a packet of an established session
//!   touches one session cache line. Free slots are chained through the timer `next` link;
//!   a free slot's timer `prev` holds a sentinel, which is the live bit.
//! * **Index**: 64-byte buckets of 8 entries (16-bit tags from the top of the hash, packed
//!   four to a word, `[u32; 8]` slots, an occupancy mask and an overflow counter). The home
//!   bucket is the multiply-shift range reduction of the low 32 bits of the hash over a
//!   bucket count that need not be a power of two; the table is sized for at most 62.5 %
//!   load. A full bucket
//!   sends the entry to the next one (linear probing by bucket) and counts it in the
//!   overflow counter of every bucket it passes, so lookups stop at the first bucket whose
//!   counter is zero and removals need no tombstones.
//! * **Wheel**: a [`TimerWheel`] of 4096 × 100 ms whose links are the sessions' timer
//!   fields. A session is scheduled once at creation; packets only store `last_seen_ms`;
//!   when its slot fires, [`SessionTable::expire`] re-checks and expires or reschedules it.
//!
//! At 1 Mi sessions that is 64 + 48 + 10 bytes per session (+ 16 KiB of wheel).
//!
//! # Hash
//!
//! Every `hash` passed in must be the table's hash of the key: [`FlowKey::hash`] for a table
//! made by [`SessionTable::new`], the given function for [`SessionTable::with_hasher`] (the
//! table recomputes it to remove a session).

use super::timer::{Fired, Links, TimerWheel, DEFAULT_SLOTS, DEFAULT_TICK_MS, NIL};
use super::{bits, session_id, SessionView, TcpWindow, WorkerId, SLOT_BITS, WING};
use crate::flow::{Direction, FlowKey, V4Words};
use crate::nat::Wing;
// Table arrays on 2 MiB-aligned memory advised for huge pages: random access over 100+ MB
// otherwise pays a TLB miss (in a VM a two-level page walk) on nearly every lookup.
use crate::mem::{prefetch, HugeSlice};

use super::index::*;
use super::record::*;

/// Largest capacity of one table (slots must fit the session ID's slot bits).
pub const MAX_CAPACITY: u32 = (1 << SLOT_BITS) - 1;

/// Table errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// No free slot.
    #[error("session table full")]
    Full,
}

/// Most keys [`SessionTable::find_burst`] resolves in one call (a worker burst).
pub const BURST_MAX: usize = 64;

/// The wheel's view of the sessions' timer fields.
struct SessLinks<'a>(&'a mut [SessionInfo]);

impl Links for SessLinks<'_> {
    #[inline]
    fn next(&self, id: u32) -> u32 {
        self.0.get(id as usize).map_or(NIL, |s| s.timer_next)
    }
    #[inline]
    fn prev(&self, id: u32) -> u32 {
        self.0.get(id as usize).map_or(NIL, |s| s.timer_prev)
    }
    #[inline]
    fn set_next(&mut self, id: u32, v: u32) {
        if let Some(s) = self.0.get_mut(id as usize) {
            s.timer_next = v;
        }
    }
    #[inline]
    fn set_prev(&mut self, id: u32, v: u32) {
        if let Some(s) = self.0.get_mut(id as usize) {
            s.timer_prev = v;
        }
    }
}

/// The wheel's view during expiry: the timer links, and the sessions and index the expiry
/// callback updates, so that the records of the entries offered next are prefetched
/// ([`Links::upcoming`]). At millions of sessions each is a cold miss: the list's next link
/// (cold part), the key (hot part) and the index bucket.
struct ExpireLinks<'a> {
    links: SessLinks<'a>,
    sessions: &'a mut [Session],
    index: &'a mut Index,
    hasher: fn(&FlowKey) -> u64,
    wings: &'a [Wing],
}

impl Links for ExpireLinks<'_> {
    #[inline]
    fn next(&self, id: u32) -> u32 {
        self.links.next(id)
    }
    #[inline]
    fn prev(&self, id: u32) -> u32 {
        self.links.prev(id)
    }
    #[inline]
    fn set_next(&mut self, id: u32, v: u32) {
        self.links.set_next(id, v);
    }
    #[inline]
    fn set_prev(&mut self, id: u32, v: u32) {
        self.links.set_prev(id, v);
    }
    #[inline]
    fn upcoming(&self, next: u32, after: u32) {
        // Two ahead: its cold part (its own next link) and its key.
        if let Some(i) = self.links.0.get(after as usize) {
            prefetch(i);
        }
        if let Some(s) = self.sessions.get(after as usize) {
            prefetch(&s.key.addr_a[0]);
        }
        // One ahead: its bucket, from its key (prefetched a step ago).
        if let Some(s) = self.sessions.get(next as usize) {
            self.index.prefetch((self.hasher)(&s.key));
        }
    }
}

/// Put `slot` on the free list (the caller has unlinked it from the index and the wheel).
#[inline]
fn release(sessions: &mut [SessionInfo], free_head: &mut u32, len: &mut u32, slot: u32) {
    if let Some(s) = sessions.get_mut(slot as usize) {
        s.timer_next = *free_head;
        s.timer_prev = FREE;
        *free_head = slot;
        *len = len.saturating_sub(1);
    }
}

/// The session table of one worker. Fixed capacity; no allocation after [`new`](Self::new).
pub struct SessionTable {
    /// Hot parts, one cache line each.
    sessions: HugeSlice<Session>,
    /// Cold parts (timer links and the live bit live here).
    info: HugeSlice<SessionInfo>,
    index: Index,
    /// Translated sessions' second wings, by slot (empty unless
    /// [`with_wings`](Self::with_wings)).
    wings: HugeSlice<Wing>,
    /// TCP sessions' sequence windows, by slot (empty unless
    /// [`with_tcp_windows`](Self::with_tcp_windows)).
    windows: HugeSlice<TcpWindow>,
    wheel: TimerWheel,
    /// First free slot, [`NIL`] when full.
    free_head: u32,
    len: u32,
    /// One past the highest slot ever used (walks stop there).
    high_water: u32,
    worker: WorkerId,
    hasher: fn(&FlowKey) -> u64,
    /// Session lifetime of the latest `expire` call (0: none), so new sessions are
    /// scheduled no later than their lifetime ends.
    lifetime_s: u32,
    /// Per service set, the lifetime that overrides `lifetime_s` (0: none)
    /// ([`set_service_set_lifetimes`](Self::set_service_set_lifetimes)).
    ss_lifetime: Box<[u32]>,
    /// The shortest lifetime of all (0: none): a new session, whose service set the table
    /// does not know, is first checked no later than that.
    first_lifetime_s: u32,
    /// What `get`/`get_mut` hand out for a slot out of range (never live).
    scratch: Session,
    scratch_info: SessionInfo,
}

impl core::fmt::Debug for SessionTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionTable")
            .field("worker", &self.worker)
            .field("capacity", &self.capacity())
            .field("len", &self.len)
            .field("buckets", &self.index.buckets.len())
            .field("wheel", &self.wheel)
            .finish_non_exhaustive()
    }
}

impl SessionTable {
    /// A table for `worker` holding up to `capacity` sessions (clamped to
    /// [`MAX_CAPACITY`]), hashing with [`FlowKey::hash`], its wheel starting at `now_ms`.
    #[must_use]
    pub fn new(worker: WorkerId, capacity: u32, now_ms: u32) -> Self {
        Self::with_hasher(worker, capacity, now_ms, FlowKey::hash)
    }

    /// Like [`new`](Self::new) with another hash function (a keyed hash, or a poor one in
    /// tests). Every `hash` passed to the table must then come from `hasher`.
    #[must_use]
    pub fn with_hasher(
        worker: WorkerId,
        capacity: u32,
        now_ms: u32,
        hasher: fn(&FlowKey) -> u64,
    ) -> Self {
        let capacity = capacity.min(MAX_CAPACITY);
        let sessions: HugeSlice<Session> = HugeSlice::new(capacity as usize, |_| Session::EMPTY);
        let info: HugeSlice<SessionInfo> = HugeSlice::new(capacity as usize, |i| {
            let i = i as u32;
            SessionInfo::free(if i + 1 < capacity { i + 1 } else { NIL })
        });
        SessionTable {
            sessions,
            info,
            index: Index::new(capacity),
            wings: HugeSlice::new(0, |_| Wing::default()),
            windows: HugeSlice::new(0, |_| TcpWindow::default()),
            wheel: TimerWheel::new(DEFAULT_SLOTS, DEFAULT_TICK_MS, now_ms),
            free_head: if capacity > 0 { 0 } else { NIL },
            len: 0,
            high_water: 0,
            worker,
            hasher,
            lifetime_s: 0,
            ss_lifetime: Box::new([]),
            first_lifetime_s: 0,
            scratch: Session::EMPTY,
            scratch_info: SessionInfo::free(NIL),
        }
    }

    /// Makes room for translated sessions (source NAT): a second wing per slot, and an
    /// index sized for two entries a session. Called before the first insert (the index is
    /// rebuilt empty).
    #[must_use]
    pub fn with_wings(mut self) -> Self {
        debug_assert!(self.is_empty(), "wings are added to an empty table");
        let cap = self.capacity();
        self.index = Index::new(cap.saturating_mul(2));
        self.wings = HugeSlice::new(cap as usize, |_| Wing::default());
        self
    }

    /// Makes room for TCP sequence windows ([`TcpWindow`]), 32 bytes a slot; a TCP session's
    /// window starts empty at [`insert`](Self::insert).
    #[must_use]
    pub fn with_tcp_windows(mut self) -> Self {
        self.windows = HugeSlice::new(self.capacity() as usize, |_| TcpWindow::default());
        self
    }

    /// The table keeps TCP sequence windows.
    #[inline]
    #[must_use]
    pub fn has_tcp_windows(&self) -> bool {
        !self.windows.is_empty()
    }

    /// The sequence window of session `slot` (none without
    /// [`with_tcp_windows`](Self::with_tcp_windows)).
    #[inline]
    pub fn tcp_window_mut(&mut self, slot: u32) -> Option<&mut TcpWindow> {
        self.windows.get_mut(slot as usize)
    }

    /// The sequence window of session `slot`, to read.
    #[inline]
    #[must_use]
    pub fn tcp_window(&self, slot: u32) -> Option<&TcpWindow> {
        self.windows.get(slot as usize)
    }

    /// Prefetch the sequence window of session `slot` (a TCP segment's, before its turn).
    #[inline]
    pub fn prefetch_tcp_window(&self, slot: u32) {
        if let Some(w) = self.windows.get((slot & !WING) as usize) {
            prefetch(w);
        }
    }

    /// Gives live session `slot` its second wing: `wing.key` (which must have no session)
    /// finds it too, as `slot | WING`. False when the table has no room for wings or the
    /// session already has one.
    pub fn add_wing(&mut self, slot: u32, wing: Wing) -> bool {
        if !self.is_live(slot) {
            return false;
        }
        let Some(w) = self.wings.get_mut(slot as usize) else {
            return false;
        };
        let Some(s) = self.sessions.get_mut(slot as usize) else {
            return false;
        };
        if s.bits & bits::NAT != 0 {
            return false;
        }
        let hash = (self.hasher)(&wing.key);
        if !self.index.insert(hash, slot | WING) {
            return false;
        }
        *w = wing;
        s.bits |= bits::NAT;
        true
    }

    /// The second wing of a translated session.
    #[inline]
    #[must_use]
    pub fn wing(&self, slot: u32) -> Option<&Wing> {
        let s = self.sessions.get(slot as usize)?;
        if s.bits & bits::NAT == 0 {
            return None;
        }
        self.wings.get(slot as usize)
    }

    /// A translated session's hot part and second wing, in one call (the rewrite reads
    /// both).
    #[inline]
    #[must_use]
    pub fn nat_parts(&self, slot: u32) -> Option<(&Session, &Wing)> {
        let s = self.sessions.get(slot as usize)?;
        let w = self.wings.get(slot as usize)?;
        (s.bits & bits::NAT != 0).then_some((s, w))
    }

    /// The owning worker.
    #[must_use]
    pub fn worker(&self) -> WorkerId {
        self.worker
    }

    /// The session ID of a slot.
    #[must_use]
    pub fn id(&self, slot: u32) -> u32 {
        session_id(self.worker, slot)
    }

    /// Most sessions the table holds.
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> u32 {
        self.sessions.len() as u32
    }

    /// Live sessions.
    #[inline]
    #[must_use]
    pub fn len(&self) -> u32 {
        self.len
    }

    /// No live session.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Everything the table allocated: sessions, buckets, wheel, and the table itself.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        core::mem::size_of_val::<[Session]>(&self.sessions)
            + core::mem::size_of_val::<[SessionInfo]>(&self.info)
            + self.index.memory_bytes()
            + core::mem::size_of_val::<[Wing]>(&self.wings)
            + core::mem::size_of_val::<[TcpWindow]>(&self.windows)
            + self.wheel.memory_bytes()
            + core::mem::size_of::<Self>()
    }

    /// Hash of a key as this table computes it.
    #[inline]
    #[must_use]
    pub fn hash(&self, key: &FlowKey) -> u64 {
        (self.hasher)(key)
    }

    /// Prefetch the home bucket of `hash` (first pass over a burst).
    #[inline]
    pub fn prefetch_bucket(&self, hash: u64) {
        self.index.prefetch(hash);
    }

    /// Prefetch the hot line of a session (what lookups and [`touch`](Self::touch) read).
    #[inline]
    pub fn prefetch_session(&self, slot: u32) {
        if let Some(s) = self.sessions.get((slot & !WING) as usize) {
            prefetch(&s.key.addr_a[0]);
        }
        if slot & WING != 0 {
            if let Some(w) = self.wings.get((slot & !WING) as usize) {
                prefetch(&w.key.addr_a[0]);
            }
        }
    }

    /// True when index entry `slot` (a slot, or a slot with [`WING`]) stands for `key`.
    #[inline(always)]
    fn entry_is(&self, slot: u32, key: &FlowKey) -> bool {
        if slot & WING == 0 {
            self.sessions
                .get(slot as usize)
                .is_some_and(|s| key_eq(&s.key, key))
        } else {
            self.wings
                .get((slot & !WING) as usize)
                .is_some_and(|w| key_eq(&w.key, key))
        }
    }

    /// The slot of `key`, if it has a session. `hash` is the table's hash of `key`. The
    /// translated tuple of a session with a second wing finds `slot | WING`.
    #[inline]
    #[must_use]
    pub fn find(&self, key: &FlowKey, hash: u64) -> Option<u32> {
        let buckets = &*self.index.buckets;
        let n = buckets.len();
        let tag = tag_of(hash);
        let mut i = home_of(hash, n);
        for _ in 0..n {
            let b = buckets.get(i)?;
            let mut m = b.matches(tag);
            while m != 0 {
                let slot = b.slots[m.trailing_zeros() as usize & (WAYS - 1)];
                if self.entry_is(slot, key) {
                    return Some(slot);
                }
                m &= m - 1;
            }
            if b.overflow == 0 {
                return None;
            }
            i = if i + 1 >= n { 0 } else { i + 1 };
        }
        None
    }

    /// Lookup stage two, for callers that look a burst up in passes: read the home bucket of each hash (the
    /// caller prefetched it with [`prefetch_bucket`](Self::prefetch_bucket) earlier), write
    /// its first tag match to `cand` (`u32::MAX` for none) and prefetch every candidate
    /// session. Resolve later with [`resolve`](Self::resolve).
    #[inline]
    pub fn candidates(&self, hashes: &[u64], cand: &mut [u32]) {
        let buckets = &*self.index.buckets;
        for (&h, c) in hashes.iter().zip(cand.iter_mut()) {
            let home = home_of(h, buckets.len());
            let Some(b) = buckets.get(home) else {
                *c = u32::MAX;
                continue;
            };
            let mut m = b.matches(tag_of(h));
            if m == 0 {
                *c = u32::MAX;
                if b.overflow != 0 {
                    // Perhaps displaced to the next bucket: stage three's `find` reads it.
                    if let Some(next) = buckets.get(self.index.step(home)) {
                        prefetch(&next.occ);
                    }
                }
                continue;
            }
            // The first match is the candidate (almost always the only one); every match's
            // session is prefetched.
            let first = b.slots[m.trailing_zeros() as usize & (WAYS - 1)];
            *c = first;
            self.prefetch_session(first);
            if first & WING == 0 && !self.wings.is_empty() {
                // With NAT on, a session's own packets read its wing too (the public
                // address and port they leave with).
                if let Some(w) = self.wings.get(first as usize) {
                    prefetch(&w.key.addr_a[0]);
                }
            }
            m &= m - 1;
            while m != 0 {
                self.prefetch_session(b.slots[m.trailing_zeros() as usize & (WAYS - 1)]);
                m &= m - 1;
            }
        }
    }

    /// Lookup stage three: the slot of `key`, checking the candidate from
    /// [`candidates`](Self::candidates) first (almost always the answer) and walking the
    /// bucket chain only when it is not. Sessions removed since stage two never match: a
    /// freed slot's key is cleared.
    #[inline]
    #[must_use]
    pub fn resolve(&self, key: &FlowKey, hash: u64, cand: u32) -> Option<u32> {
        if let Some(s) = self.sessions.get(cand as usize) {
            if key_eq(&s.key, key) {
                return Some(cand);
            }
        }
        self.find(key, hash)
    }

    /// [`find`](Self::find) for callers that want the session whichever wing the key
    /// names: its slot, and whether the key was its translated tuple.
    #[inline]
    #[must_use]
    pub fn find_any(&self, key: &FlowKey, hash: u64) -> Option<(u32, bool)> {
        self.find(key, hash)
            .map(|slot| (slot & !WING, slot & WING != 0))
    }

    /// [`resolve`](Self::resolve) for an IPv4 key given as its three words (the hot path's
    /// form): the candidate compared on three words, the chain walked with the whole key.
    #[inline(always)]
    #[must_use]
    pub fn resolve_v4(&self, w: &V4Words, hash: u64, cand: u32) -> Option<u32> {
        if let Some(s) = self.sessions.get(cand as usize) {
            if w.matches(&s.key) {
                return Some(cand);
            }
        } else if let Some(x) = self.wings.get((cand & !WING) as usize) {
            // A translated tuple's entry (a reply of a NAT session): the candidate has
            // WING set, so the session array's lookup above missed.
            if cand & WING != 0 && w.matches(&x.key) {
                return Some(cand);
            }
        }
        self.find(&w.key(), hash)
    }

    /// Look up a burst in one call: [`candidates`](Self::candidates) then
    /// [`resolve`](Self::resolve) for each key. Prefetch the home buckets first (as the
    /// hashes are computed) for speed. Handles `min` of the three lengths.
    pub fn find_burst(&self, keys: &[FlowKey], hashes: &[u64], out: &mut [Option<u32>]) {
        let n = keys.len().min(hashes.len()).min(out.len()).min(BURST_MAX);
        let (keys, hashes, out) = (&keys[..n], &hashes[..n], &mut out[..n]);
        let mut cand = [u32::MAX; BURST_MAX];
        self.candidates(hashes, &mut cand[..n]);
        for (i, ((k, &h), o)) in keys.iter().zip(hashes).zip(out.iter_mut()).enumerate() {
            *o = self.resolve(k, h, cand[i]);
        }
    }

    /// Create a session for `key` (which must be absent: the caller's `find` said `None`).
    /// Counters start at zero, ingress ports unseen, `last_seen_ms = now_ms`,
    /// `start_s = now_s`, and its timer is scheduled at `now_ms + timeout_s` seconds (or at
    /// the end of its lifetime if that is sooner: the lifetime of the latest
    /// [`expire`](Self::expire) call or [`set_lifetime`](Self::set_lifetime)). The other fields are neutral (Forward, no application, no bits): the caller sets them.
    pub fn insert(
        &mut self,
        key: &FlowKey,
        hash: u64,
        now_ms: u32,
        now_s: u32,
        timeout_s: u32,
    ) -> Result<u32, TableError> {
        debug_assert_eq!(
            hash,
            (self.hasher)(key),
            "hash is not the table's hash of the key"
        );
        debug_assert!(self.find(key, hash).is_none(), "key already present");
        let slot = self.free_head;
        let (Some(s), Some(inf)) = (
            self.sessions.get_mut(slot as usize),
            self.info.get_mut(slot as usize),
        ) else {
            return Err(TableError::Full);
        };
        let next_free = inf.timer_next;
        if !self.index.insert(hash, slot) {
            return Err(TableError::Full);
        }
        self.free_head = next_free;
        *s = Session::EMPTY;
        s.key = *key;
        s.last_seen_ms = now_ms;
        *inf = SessionInfo::free(NIL);
        inf.timeout_s = timeout_s;
        inf.start_s = now_s;
        inf.timer_prev = NIL; // live, not scheduled yet
        if key.proto == crate::wire::ip_proto::TCP {
            if let Some(w) = self.windows.get_mut(slot as usize) {
                w.reset();
            }
        }
        self.len += 1;
        self.high_water = self.high_water.max(slot + 1);
        let mut first = timeout_ms(timeout_s);
        let life = self.first_lifetime();
        if life != 0 {
            first = first.min(timeout_ms(life));
        }
        let deadline = now_ms.wrapping_add(first);
        self.wheel
            .schedule(&mut SessLinks(&mut self.info), slot, deadline);
        Ok(slot)
    }

    /// Set the session lifetime new sessions are scheduled for (also taken from every
    /// [`expire`](Self::expire) call; 0 for none). Sessions already scheduled keep their
    /// timers until their next check.
    pub fn set_lifetime(&mut self, lifetime_s: u32) {
        self.lifetime_s = lifetime_s;
    }

    /// Per service set (indexed as the sessions' `service_set`), a lifetime that replaces
    /// the table's (0: none for that set); sets past the end use the table's.
    pub fn set_service_set_lifetimes(&mut self, per_service_set: &[u32]) {
        self.ss_lifetime = per_service_set.into();
        self.first_lifetime_s = per_service_set
            .iter()
            .copied()
            .filter(|&l| l != 0)
            .min()
            .unwrap_or(0);
    }

    /// Swaps the service sets' lifetimes with `per_service_set` (a reload: the old ones
    /// go back in it, so nothing is allocated or freed here).
    pub fn swap_service_set_lifetimes(&mut self, per_service_set: &mut Box<[u32]>) {
        core::mem::swap(&mut self.ss_lifetime, per_service_set);
        self.first_lifetime_s = self
            .ss_lifetime
            .iter()
            .copied()
            .filter(|&l| l != 0)
            .min()
            .unwrap_or(0);
    }

    /// The shortest lifetime any session may have (0: none).
    fn first_lifetime(&self) -> u32 {
        match (self.lifetime_s, self.first_lifetime_s) {
            (0, b) => b,
            (a, 0) => a,
            (a, b) => a.min(b),
        }
    }

    /// The session in `slot` (live or not). A slot out of range gives a free dummy (and
    /// fails a debug assertion) rather than panicking.
    #[inline]
    #[must_use]
    pub fn get(&self, slot: u32) -> &Session {
        debug_assert!(slot < self.capacity(), "slot {slot} out of range");
        self.sessions.get(slot as usize).unwrap_or(&self.scratch)
    }

    /// The session in `slot`, mutable. A slot out of range gives a scratch session (and
    /// fails a debug assertion) rather than panicking. The timer links are not reachable
    /// from here; change the timeout with [`set_timeout`](Self::set_timeout).
    #[inline]
    pub fn get_mut(&mut self, slot: u32) -> &mut Session {
        debug_assert!(slot < self.capacity(), "slot {slot} out of range");
        match self.sessions.get_mut(slot as usize) {
            Some(s) => s,
            None => {
                self.scratch = Session::EMPTY;
                &mut self.scratch
            }
        }
    }

    /// The session in `slot` if it is live.
    #[inline]
    #[must_use]
    pub fn try_get(&self, slot: u32) -> Option<&Session> {
        self.sessions
            .get(slot as usize)
            .filter(|_| self.is_live(slot))
    }

    /// The session in `slot`, mutable, if it is live.
    #[inline]
    pub fn try_get_mut(&mut self, slot: u32) -> Option<&mut Session> {
        let live = self.is_live(slot);
        self.sessions.get_mut(slot as usize).filter(|_| live)
    }

    /// The cold part of the session in `slot` (live or not; a slot out of range gives a
    /// free dummy and fails a debug assertion).
    #[inline]
    #[must_use]
    pub fn info(&self, slot: u32) -> &SessionInfo {
        debug_assert!(slot < self.capacity(), "slot {slot} out of range");
        self.info.get(slot as usize).unwrap_or(&self.scratch_info)
    }

    /// The cold part of the session in `slot`, mutable. The timer links and timeout are not
    /// reachable from here.
    #[inline]
    pub fn info_mut(&mut self, slot: u32) -> &mut SessionInfo {
        debug_assert!(slot < self.capacity(), "slot {slot} out of range");
        match self.info.get_mut(slot as usize) {
            Some(s) => s,
            None => {
                self.scratch_info = SessionInfo::free(NIL);
                &mut self.scratch_info
            }
        }
    }

    /// Both parts of the session in `slot`, mutable.
    #[inline]
    pub fn parts_mut(&mut self, slot: u32) -> Option<(&mut Session, &mut SessionInfo)> {
        match (
            self.sessions.get_mut(slot as usize),
            self.info.get_mut(slot as usize),
        ) {
            (Some(s), Some(i)) => Some((s, i)),
            _ => None,
        }
    }

    /// The snapshot of the session in `slot`.
    #[must_use]
    pub fn view(&self, slot: u32, now_ms: u32, now_s: u32) -> SessionView {
        let v = self
            .get(slot)
            .view(self.info(slot), self.worker, slot, now_ms, now_s);
        match self.wing(slot) {
            Some(w) => v.with_wing(w),
            None => v,
        }
    }

    /// Packets of direction `dir` (all 64 bits).
    #[must_use]
    pub fn packets(&self, slot: u32, dir: Direction) -> u64 {
        let d = dir.index() & 1;
        join(self.info(slot).packets_hi[d], self.get(slot).packets_lo[d])
    }

    /// Bytes of direction `dir` (all 64 bits).
    #[must_use]
    pub fn bytes(&self, slot: u32, dir: Direction) -> u64 {
        let d = dir.index() & 1;
        join(self.info(slot).bytes_hi[d], self.get(slot).bytes_lo[d])
    }

    /// The per-packet update: `last_seen_ms`, packets and bytes of direction `dir`. No timer
    /// work. Returns the session (as [`get_mut`](Self::get_mut) would) for the rest of the
    /// packet's handling, so the slot is looked up once.
    #[inline]
    pub fn touch(
        &mut self,
        slot: u32,
        dir: Direction,
        frame_len: u32,
        now_ms: u32,
    ) -> &mut Session {
        let Some(s) = self.sessions.get_mut(slot as usize) else {
            self.scratch = Session::EMPTY;
            return &mut self.scratch;
        };
        count_packet(s, &mut self.info, slot, dir, frame_len, now_ms);
        s
    }

    /// [`touch`](Self::touch), unless the session has one of the `unless` bits set: then
    /// nothing is changed and `None` comes back (the caller takes another path). One
    /// load of the session's line decides, the one the touch needs anyway.
    #[inline(always)]
    pub fn touch_unless(
        &mut self,
        slot: u32,
        dir: Direction,
        frame_len: u32,
        now_ms: u32,
        unless: u8,
    ) -> Option<&mut Session> {
        let s = self.sessions.get_mut(slot as usize)?;
        if s.bits & unless != 0 {
            return None;
        }
        count_packet(s, &mut self.info, slot, dir, frame_len, now_ms);
        Some(s)
    }

    /// Restarts a session's idle timer without counting a packet (its packets were seen
    /// elsewhere: the NIC's counters moved).
    pub fn refresh(&mut self, slot: u32, now_ms: u32) {
        if let Some(s) = self.sessions.get_mut(slot as usize) {
            s.last_seen_ms = now_ms;
        }
    }

    /// Change a session's idle timeout. A longer one needs no timer work (the expiry check
    /// reads the new value); a shorter one reschedules the timer at `last_seen + timeout` so
    /// the session is not expired late.
    pub fn set_timeout(&mut self, slot: u32, timeout_s: u32) {
        let (Some(s), Some(inf)) = (
            self.sessions.get(slot as usize),
            self.info.get_mut(slot as usize),
        ) else {
            return;
        };
        if !inf.is_live() {
            return;
        }
        let old = inf.timeout_s;
        inf.timeout_s = timeout_s;
        if timeout_ms(timeout_s) < timeout_ms(old) {
            let deadline = s.last_seen_ms.wrapping_add(timeout_ms(timeout_s));
            let mut l = SessLinks(&mut self.info);
            self.wheel.cancel(&mut l, slot);
            self.wheel.schedule(&mut l, slot, deadline);
        }
    }

    /// Remove the session in `slot`: unlink it from the index and the wheel and free the
    /// slot. A slot that is not live is left alone.
    pub fn remove(&mut self, slot: u32) {
        let Some(s) = self.sessions.get(slot as usize) else {
            return;
        };
        if !self.is_live(slot) {
            return;
        }
        let hash = (self.hasher)(&s.key);
        let nat = s.bits & bits::NAT != 0;
        let found = self.index.remove(hash, slot);
        debug_assert!(found, "live slot {slot} missing from the index");
        if nat {
            if let Some(w) = self.wings.get(slot as usize) {
                let found = self.index.remove((self.hasher)(&w.key), slot | WING);
                debug_assert!(found, "wing of slot {slot} missing from the index");
            }
        }
        self.wheel.cancel(&mut SessLinks(&mut self.info), slot);
        release(&mut self.info, &mut self.free_head, &mut self.len, slot);
        if let Some(s) = self.sessions.get_mut(slot as usize) {
            s.key = FlowKey::default();
        }
    }

    /// The slot holds a session.
    #[inline]
    #[must_use]
    pub fn is_live(&self, slot: u32) -> bool {
        self.info
            .get(slot as usize)
            .is_some_and(SessionInfo::is_live)
    }

    /// The first live slot at or after `from_slot`, for walks in slices:
    /// `let mut c = 0; while let Some(s) = t.next_live(c) { …; c = s + 1 }`. Scans up to the
    /// highest slot ever used; see [`next_live_in`](Self::next_live_in) for a bounded scan.
    #[must_use]
    pub fn next_live(&self, from_slot: u32) -> Option<u32> {
        self.next_live_in(from_slot, self.high_water)
    }

    /// The first live slot in `from_slot..end_slot` (scans at most `end_slot - from_slot`
    /// slots).
    #[must_use]
    pub fn next_live_in(&self, from_slot: u32, end_slot: u32) -> Option<u32> {
        let end = end_slot.min(self.high_water) as usize;
        let from = (from_slot as usize).min(end);
        let window = self.info.get(from..end)?;
        window
            .iter()
            .position(SessionInfo::is_live)
            .map(|i| (from + i) as u32)
    }

    /// One past the highest slot ever used (walks end there).
    #[must_use]
    pub fn high_water(&self) -> u32 {
        self.high_water
    }

    /// Expire idle sessions: advance the wheel to `now_ms` and check each session it offers
    /// (at most `budget`). A session expires when it has been idle for its timeout, or when
    /// `lifetime_s != 0` and it is `lifetime_s` old; `on_expire(slot, &session)` is called
    /// before it is removed. Otherwise it is rescheduled at its next possible expiry.
    /// Returns the number expired.
    pub fn expire(
        &mut self,
        now_ms: u32,
        now_s: u32,
        lifetime_s: u32,
        budget: usize,
        mut on_expire: impl FnMut(u32, &Session, &SessionInfo, Option<&Wing>),
    ) -> usize {
        self.lifetime_s = lifetime_s;
        let SessionTable {
            sessions,
            info,
            index,
            wheel,
            free_head,
            len,
            hasher,
            ss_lifetime,
            wings,
            ..
        } = self;
        // A session's lifetime: its service set's where one is set, else the table's.
        let life_of = |ss: u16| {
            ss_lifetime
                .get(usize::from(ss))
                .copied()
                .unwrap_or(lifetime_s)
        };
        let mut expired = 0usize;
        let mut links = ExpireLinks {
            links: SessLinks(info),
            sessions,
            index,
            hasher: *hasher,
            wings,
        };
        wheel.advance(&mut links, now_ms, budget, |l, slot| {
            let (Some(s), Some(inf)) =
                (l.sessions.get(slot as usize), l.links.0.get(slot as usize))
            else {
                return Fired::Expire;
            };
            let s = *s;
            let tmo = timeout_ms(inf.timeout_s);
            let idle = s.idle_ms(now_ms);
            let age = now_s.wrapping_sub(inf.start_s);
            let age = if age >= 0x8000_0000 { 0 } else { age };
            let life = life_of(inf.service_set);
            let over_life = life != 0 && age >= life;
            if idle >= tmo || over_life {
                let wing = (s.bits & bits::NAT != 0)
                    .then(|| l.wings.get(slot as usize))
                    .flatten();
                on_expire(slot, &s, inf, wing);
                let hash = (l.hasher)(&s.key);
                let found = l.index.remove(hash, slot);
                debug_assert!(found, "expiring slot {slot} missing from the index");
                if let Some(w) = wing {
                    let found = l.index.remove((l.hasher)(&w.key), slot | WING);
                    debug_assert!(found, "wing of slot {slot} missing from the index");
                }
                release(l.links.0, free_head, len, slot);
                if let Some(h) = l.sessions.get_mut(slot as usize) {
                    h.key = FlowKey::default();
                }
                expired += 1;
                Fired::Expire
            } else {
                let mut deadline = now_ms.wrapping_add(tmo - idle);
                if life != 0 {
                    let left = (life - age).min(MAX_TIMEOUT_S) * 1000;
                    if left < tmo - idle {
                        deadline = now_ms.wrapping_add(left);
                    }
                }
                Fired::Reschedule(deadline)
            }
        });
        expired
    }

    /// Sessions scheduled in the wheel (equals [`len`](Self::len) between calls).
    #[must_use]
    pub fn timers(&self) -> usize {
        self.wheel.len()
    }
}

/// A packet of `frame_len` bytes in direction `dir` on session `s` (slot `slot`): its time
/// and counters; a low word that wraps carries into the cold part.
#[inline(always)]
fn count_packet(
    s: &mut Session,
    info: &mut [SessionInfo],
    slot: u32,
    dir: Direction,
    frame_len: u32,
    now_ms: u32,
) {
    let d = dir.index() & 1;
    s.last_seen_ms = now_ms;
    let (p, pc) = s.packets_lo[d].overflowing_add(1);
    let (b, bc) = s.bytes_lo[d].overflowing_add(frame_len);
    s.packets_lo[d] = p;
    s.bytes_lo[d] = b;
    if pc | bc {
        // Rare: a low word wrapped; carry into the cold part.
        if let Some(i) = info.get_mut(slot as usize) {
            i.packets_hi[d] = i.packets_hi[d].wrapping_add(u32::from(pc));
            i.bytes_hi[d] = i.bytes_hi[d].wrapping_add(u32::from(bc));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Endpoint, Family};
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn key(i: u32) -> (FlowKey, Direction) {
        let mut src = [0u8; 16];
        src[..4].copy_from_slice(&(0x0a00_0000 | i).to_be_bytes());
        let mut dst = [0u8; 16];
        dst[..4].copy_from_slice(&[192, 0, 2, (i % 251) as u8]);
        FlowKey::from_packet(Family::V4, 17, src, 1024 + (i % 50_000) as u16, dst, 53)
    }

    fn bad_hash(k: &FlowKey) -> u64 {
        // Three home buckets, eight tags: long chains and tag collisions.
        let h = k.hash();
        ((h % 8) << 48) | (h % 3)
    }

    /// Everything the table promises about its internal structure.
    fn check(t: &SessionTable) {
        let n = t.index.buckets.len();
        let mut expect_over = vec![0u32; n];
        let mut seen = vec![false; t.sessions.len()];
        let mut wings = vec![false; t.sessions.len()];
        for (bi, b) in t.index.buckets.iter().enumerate() {
            for w in 0..WAYS {
                if b.occ & (1 << w) == 0 {
                    continue;
                }
                let entry = b.slots[w];
                let slot = (entry & !WING) as usize;
                assert!(t.info[slot].is_live(), "index names free slot {slot}");
                let h = if entry & WING != 0 {
                    assert!(
                        t.sessions[slot].bits & bits::NAT != 0,
                        "wing without NAT bit"
                    );
                    assert!(!wings[slot], "wing of {slot} indexed twice");
                    wings[slot] = true;
                    t.hash(&t.wings[slot].key)
                } else {
                    assert!(!seen[slot], "slot {slot} indexed twice");
                    seen[slot] = true;
                    t.hash(&t.sessions[slot].key)
                };
                assert_eq!(b.tag(w), tag_of(h));
                let mut j = home_of(h, n);
                while j != bi {
                    expect_over[j] += 1;
                    j = (j + 1) % n;
                }
            }
        }
        for (bi, b) in t.index.buckets.iter().enumerate() {
            assert_eq!(b.overflow, expect_over[bi], "overflow of bucket {bi}");
        }
        let live = t.info.iter().filter(|s| s.is_live()).count();
        assert_eq!(live, t.len() as usize);
        assert_eq!(seen.iter().filter(|&&x| x).count(), live);
        for (slot, &w) in wings.iter().enumerate() {
            let nat = t.info[slot].is_live() && t.sessions[slot].bits & bits::NAT != 0;
            assert_eq!(
                w, nat,
                "slot {slot}: a NAT session has exactly one wing entry"
            );
        }
        assert_eq!(t.wheel.len(), live);
        let mut free = 0;
        let mut f = t.free_head;
        while f != NIL {
            assert!(!t.info[f as usize].is_live());
            free += 1;
            f = t.info[f as usize].timer_next;
            assert!(free <= t.sessions.len());
        }
        assert_eq!(free + live, t.sessions.len());
    }

    #[test]
    fn bucket_match_mask_is_exact() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut b = Bucket::EMPTY;
            for i in 0..WAYS {
                // Few distinct values, including 0 and 0xFFFF, so lanes collide often.
                b.set_tag(
                    i,
                    [0u16, 1, 0x8000, 0xFFFF, 0x7FFF, 0x0100][((x >> (i * 3)) % 6) as usize],
                );
            }
            b.occ = (x >> 32) as u8;
            for tag in [0u16, 1, 0x8000, 0xFFFF, 0x7FFF, 0x0100, 2] {
                let mut want = 0;
                for i in 0..WAYS {
                    if b.tag(i) == tag && b.occ & (1 << i) != 0 {
                        want |= 1 << i;
                    }
                }
                assert_eq!(b.matches(tag), want, "{:?} {:#x} {tag:#x}", b.tags, b.occ);
            }
        }
    }

    #[test]
    fn session_is_one_hot_line_and_one_cold_line() {
        assert_eq!(core::mem::size_of::<Session>(), 64);
        assert_eq!(core::mem::align_of::<Session>(), 64);
        assert_eq!(core::mem::size_of::<SessionInfo>(), 64);
        assert_eq!(core::mem::offset_of!(Session, last_seen_ms), 40);
    }

    #[test]
    fn counters_carry_into_the_cold_high_words() {
        let mut t = SessionTable::new(WorkerId(0), 4, 0);
        let (k, _) = key(1);
        let slot = t.insert(&k, k.hash(), 0, 0, 60).unwrap();
        for _ in 0..3 {
            let _ = t.touch(slot, Direction::AtoB, u32::MAX / 2, 1);
        }
        assert_eq!(t.bytes(slot, Direction::AtoB), 3 * u64::from(u32::MAX / 2));
        assert_eq!(t.packets(slot, Direction::AtoB), 3);
        assert_eq!(t.bytes(slot, Direction::BtoA), 0);
        let v = t.view(slot, 1, 0);
        assert_eq!(v.flows[0].bytes, 3 * u64::from(u32::MAX / 2));
    }

    #[test]
    fn session_table_find_from_either_direction() {
        let mut t = SessionTable::new(WorkerId(1), 100, 0);
        let ep = |s: &str| {
            let (a, p) = s.rsplit_once(':').unwrap();
            Endpoint {
                addr: a.parse().unwrap(),
                port: p.parse().unwrap(),
            }
        };
        let (k, d) = FlowKey::from_endpoints(6, ep("10.0.0.9:40000"), ep("10.0.0.1:80"));
        let (k2, d2) = FlowKey::from_endpoints(6, ep("10.0.0.1:80"), ep("10.0.0.9:40000"));
        assert_eq!(d, Direction::BtoA);
        assert_eq!(t.find(&k, k.hash()), None);
        let slot = t.insert(&k, k.hash(), 1000, 1, 30).unwrap();
        t.get_mut(slot).set_initiator(d);
        assert_eq!(t.find(&k2, k2.hash()), Some(slot));
        let _ = t.touch(slot, d, 60, 1000);
        let _ = t.touch(slot, d2, 1500, 1200);
        let _ = t.touch(slot, d2, 1500, 1300);
        let v = t.get(slot).view(t.info(slot), WorkerId(1), slot, 5300, 5);
        assert_eq!(v.id, session_id(WorkerId(1), slot));
        assert_eq!(v.initiator, Some(Direction::BtoA));
        assert_eq!(v.flows[0].src, Some(ep("10.0.0.9:40000")));
        assert_eq!(v.flows[0].dst, Some(ep("10.0.0.1:80")));
        assert_eq!((v.flows[0].packets, v.flows[0].bytes), (1, 60));
        assert_eq!((v.flows[1].packets, v.flows[1].bytes), (2, 3000));
        assert_eq!(v.flows[0].ingress_port, None);
        assert_eq!((v.timeout_s, v.remaining_s, v.duration_s), (30, 26, 4));
        check(&t);
    }

    #[test]
    fn keys_that_differ_only_in_their_vlan_are_two_sessions_even_under_one_tag() {
        // Every key hashes alike: the compare alone must tell the VLANs apart.
        let mut t = SessionTable::with_hasher(WorkerId(0), 16, 0, |_| 7);
        let (mut k100, _) = key(1);
        k100.vlan = 100;
        let mut k200 = k100;
        k200.vlan = 200;
        let s = t.insert(&k100, 7, 0, 0, 30).unwrap();
        assert_eq!(t.find(&k200, 7), None);
        assert_eq!(t.resolve(&k200, 7, s), None);
        let s2 = t.insert(&k200, 7, 0, 0, 30).unwrap();
        assert_eq!((t.find(&k100, 7), t.find(&k200, 7)), (Some(s), Some(s2)));
        check(&t);
    }

    #[test]
    fn a_second_wing_finds_its_session_and_leaves_with_it() {
        let mut t = SessionTable::with_hasher(WorkerId(0), 8, 0, bad_hash).with_wings();
        let mut slots = Vec::new();
        for i in 0..4 {
            let (k, _) = key(i);
            let s = t.insert(&k, bad_hash(&k), 0, 0, 5).unwrap();
            let (mut x, _) = key(100 + i);
            x.port_b = 40000;
            assert!(t.add_wing(
                s,
                Wing {
                    key: x,
                    ..Wing::default()
                }
            ));
            assert!(
                !t.add_wing(
                    s,
                    Wing {
                        key: x,
                        ..Wing::default()
                    }
                ),
                "one wing a session"
            );
            assert_eq!(t.find(&x, bad_hash(&x)), Some(s | WING));
            assert_eq!(t.find_any(&x, bad_hash(&x)), Some((s, true)));
            assert_eq!(t.find_any(&k, bad_hash(&k)), Some((s, false)));
            assert_eq!(t.resolve(&x, bad_hash(&x), s | WING), Some(s | WING));
            slots.push((s, k, x));
            check(&t);
        }
        // Removed: neither wing finds it.
        let (s, k, x) = slots[1];
        t.remove(s);
        assert_eq!(t.find(&k, bad_hash(&k)), None);
        assert_eq!(t.find(&x, bad_hash(&x)), None);
        check(&t);
        // Expired: the callback sees the wing, and both entries go.
        let mut seen = Vec::new();
        let n = t.expire(10_000, 10, 0, usize::MAX, |slot, _, _, w| {
            seen.push((slot, w.map(|w| w.key)));
        });
        assert_eq!(n, 3);
        seen.sort_by_key(|e| e.0);
        let want: Vec<_> = [0, 2, 3]
            .iter()
            .map(|&i| (slots[i].0, Some(slots[i].2)))
            .collect();
        assert_eq!(seen, want);
        assert!(t.is_empty());
        check(&t);
        // A table without wings refuses them.
        let mut plain = SessionTable::new(WorkerId(0), 8, 0);
        let (k, _) = key(1);
        let s = plain.insert(&k, k.hash(), 0, 0, 5).unwrap();
        assert!(!plain.add_wing(s, Wing::default()));
    }

    #[test]
    fn session_table_full_then_remove_and_reinsert() {
        let mut t = SessionTable::new(WorkerId(0), 16, 0);
        let mut slots = Vec::new();
        for i in 0..16 {
            let (k, _) = key(i);
            slots.push(t.insert(&k, k.hash(), 0, 0, 60).unwrap());
        }
        let (k, _) = key(99);
        assert_eq!(t.insert(&k, k.hash(), 0, 0, 60), Err(TableError::Full));
        check(&t);
        for i in 0..16 {
            let (k, _) = key(i);
            assert_eq!(t.find(&k, k.hash()), Some(slots[i as usize]));
        }
        t.remove(slots[3]);
        t.remove(slots[3]); // twice: no-op
        assert!(!t.is_live(slots[3]));
        assert_eq!(t.try_get(slots[3]), None);
        let (k3, _) = key(3);
        assert_eq!(t.find(&k3, k3.hash()), None);
        let s = t.insert(&k, k.hash(), 0, 0, 60).unwrap();
        assert_eq!(s, slots[3]);
        assert_eq!(t.find(&k, k.hash()), Some(s));
        assert_eq!(
            (t.packets(s, Direction::AtoB), t.packets(s, Direction::BtoA)),
            (0, 0)
        );
        assert_eq!(t.info(s).ingress, [u8::MAX; 2]);
        check(&t);
        // Out of range never panics in release (debug asserts aside).
        assert!(!t.is_live(1000));
        assert_eq!(t.try_get(1000), None);
        assert_eq!(
            SessionTable::new(WorkerId(0), 0, 0).insert(&k, k.hash(), 0, 0, 1),
            Err(TableError::Full)
        );
    }

    #[test]
    fn session_table_overflow_chains() {
        let mut t = SessionTable::with_hasher(WorkerId(0), 64, 0, bad_hash);
        let mut slots = HashMap::new();
        for i in 0..64 {
            let (k, _) = key(i);
            let s = t.insert(&k, bad_hash(&k), 0, 0, 60).unwrap();
            slots.insert(i, s);
        }
        assert!(t.index.buckets.iter().any(|b| b.overflow > 8));
        check(&t);
        for i in 0..64 {
            let (k, _) = key(i);
            assert_eq!(t.find(&k, bad_hash(&k)), Some(slots[&i]));
        }
        for i in (0..64).step_by(3) {
            t.remove(slots[&i]);
            check(&t);
        }
        for i in 0..64 {
            let (k, _) = key(i);
            let want = if i % 3 == 0 { None } else { Some(slots[&i]) };
            assert_eq!(t.find(&k, bad_hash(&k)), want);
        }
        for i in 100..121 {
            let (k, _) = key(i);
            t.insert(&k, bad_hash(&k), 0, 0, 60).unwrap();
        }
        check(&t);
        let mut out = [None; 4];
        let ks: Vec<FlowKey> = [1, 3, 100, 500].iter().map(|&i| key(i).0).collect();
        let hs: Vec<u64> = ks.iter().map(bad_hash).collect();
        t.find_burst(&ks, &hs, &mut out);
        assert_eq!(out[0], Some(slots[&1]));
        assert_eq!(out[1], None);
        assert!(out[2].is_some());
        assert_eq!(out[3], None);
    }

    #[test]
    fn session_table_expire_with_budgets() {
        let start = u32::MAX - 20_000; // the clock wraps during the test
        let mut t = SessionTable::new(WorkerId(0), 1000, start);
        for i in 0..1000 {
            let (k, _) = key(i);
            let s = t.insert(&k, k.hash(), start, 0, 10).unwrap();
            if i % 2 == 0 {
                // Half of them see traffic 5 s later.
                let _ = t.touch(s, Direction::AtoB, 64, start.wrapping_add(5000));
            }
        }
        let mut got = Vec::new();
        // Nothing before 10 s.
        assert_eq!(
            t.expire(start.wrapping_add(9_999), 9, 0, usize::MAX, |s, _, _, _| {
                got.push(s)
            }),
            0
        );
        // The idle half by 10 s + a tick, 100 per call.
        let now = start.wrapping_add(10_100);
        let mut calls = 0;
        while t.len() > 500 {
            let n = t.expire(now, 10, 0, 100, |s, _sess, info, _| {
                assert!(info.is_live());
                got.push(s);
            });
            assert!(n <= 100);
            calls += 1;
            assert!(calls < 20);
        }
        assert_eq!(got.len(), 500);
        check(&t);
        // The touched half was rescheduled: not before 15 s.
        assert_eq!(
            t.expire(
                start.wrapping_add(14_999),
                14,
                0,
                usize::MAX,
                |_, _, _, _| ()
            ),
            0
        );
        assert_eq!(
            t.expire(
                start.wrapping_add(15_100),
                15,
                0,
                usize::MAX,
                |_, _, _, _| ()
            ),
            500
        );
        assert!(t.is_empty());
        check(&t);
    }

    #[test]
    fn session_table_lifetime_and_shorter_timeout() {
        let mut t = SessionTable::new(WorkerId(0), 10, 0);
        let (k, _) = key(1);
        // The worker's first expire call tells the table the lifetime.
        assert_eq!(t.expire(0, 0, 20, 64, |_, _, _, _| ()), 0);
        let s = t.insert(&k, k.hash(), 0, 0, 300).unwrap();
        // Kept alive by traffic, but the lifetime ends it.
        for sec in 1..=20u32 {
            let _ = t.touch(s, Direction::AtoB, 64, sec * 1000);
            let n = t.expire(sec * 1000 + 100, sec, 20, 64, |_, _, _, _| ());
            assert_eq!(n, usize::from(sec == 20), "at {sec}");
        }
        // A shorter timeout takes effect on time.
        t.set_lifetime(0);
        let s = t.insert(&k, k.hash(), 30_000, 30, 300).unwrap();
        t.set_timeout(s, 2);
        assert_eq!(t.info(s).timeout_s(), 2);
        assert_eq!(t.expire(31_900, 31, 0, 64, |_, _, _, _| ()), 0);
        assert_eq!(t.expire(32_100, 32, 0, 64, |_, _, _, _| ()), 1);
        check(&t);
    }

    #[test]
    fn each_service_set_s_lifetime_ends_its_sessions() {
        let mut t = SessionTable::new(WorkerId(0), 10, 0);
        // Service set 0 lives 5 s, set 1 has none; no global lifetime.
        t.set_service_set_lifetimes(&[5, 0]);
        let (k0, _) = key(1);
        let (k1, _) = key(2);
        let a = t.insert(&k0, k0.hash(), 0, 0, 300).unwrap();
        let b = t.insert(&k1, k1.hash(), 0, 0, 300).unwrap();
        t.info_mut(a).service_set = 0;
        t.info_mut(b).service_set = 1;
        let mut ended = Vec::new();
        for sec in 1..=8u32 {
            let _ = t.touch(a, Direction::AtoB, 64, sec * 1000);
            let _ = t.touch(b, Direction::AtoB, 64, sec * 1000);
            t.expire(sec * 1000 + 100, sec, 0, 64, |slot, _, _, _| {
                ended.push((slot, sec))
            });
        }
        // Kept alive by traffic, set 0's session ends at 5 s; set 1's lives on.
        assert_eq!(ended, vec![(a, 5)]);
        assert!(t.is_live(b));
        check(&t);
    }

    #[test]
    fn session_table_memory_at_1m() {
        let t = SessionTable::new(WorkerId(0), 1 << 20, 0);
        let per = t.memory_bytes() as f64 / f64::from(t.capacity());
        println!(
            "SessionTable 1Mi: {} bytes = {:.2} bytes/session (Session {} B)",
            t.memory_bytes(),
            per,
            core::mem::size_of::<Session>()
        );
        // 64 hot + 64 cold bytes, the index and the wheel: about 141 bytes a session.
        assert!(t.memory_bytes() / 1_048_576 <= 144);
    }

    #[test]
    fn session_table_next_live_walks() {
        let mut t = SessionTable::new(WorkerId(0), 50, 0);
        for i in 0..20 {
            let (k, _) = key(i);
            t.insert(&k, k.hash(), 0, 0, 10).unwrap();
        }
        for s in (0..20).step_by(2) {
            t.remove(s);
        }
        let mut c = 0;
        let mut walked = Vec::new();
        while let Some(s) = t.next_live(c) {
            walked.push(s);
            c = s + 1;
        }
        assert_eq!(walked, (1..20).step_by(2).collect::<Vec<_>>());
        assert_eq!(t.next_live_in(2, 3), None);
        assert_eq!(t.next_live_in(2, 4), Some(3));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32, u32),
        Find(u32),
        Touch(u32),
        Remove(u32),
        Expire(u32, usize),
        SetTimeout(u32, u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u32..160, 1u32..8).prop_map(|(k, t)| Op::Insert(k, t)),
            3 => (0u32..160).prop_map(Op::Find),
            3 => (0u32..160).prop_map(Op::Touch),
            2 => (0u32..160).prop_map(Op::Remove),
            2 => (0u32..3000, prop_oneof![1usize..8, Just(usize::MAX)])
                .prop_map(|(dt, b)| Op::Expire(dt, b)),
            1 => (0u32..160, 1u32..8).prop_map(|(k, t)| Op::SetTimeout(k, t)),
        ]
    }

    #[derive(Debug, Clone, Copy)]
    struct M {
        slot: u32,
        last_seen: u32,
        timeout_s: u32,
        packets: u64,
    }

    fn run_model(start: u32, bad: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
        let hasher: fn(&FlowKey) -> u64 = if bad { bad_hash } else { FlowKey::hash };
        let mut t = SessionTable::with_hasher(WorkerId(0), 64, start, hasher);
        let mut m: HashMap<FlowKey, M> = HashMap::new();
        let mut now = start;
        let tick = DEFAULT_TICK_MS;
        for op in ops {
            match op {
                Op::Insert(i, tmo) => {
                    let (k, _) = key(i);
                    let h = hasher(&k);
                    let found = t.find(&k, h);
                    prop_assert_eq!(found, m.get(&k).map(|e| e.slot));
                    if found.is_none() {
                        match t.insert(&k, h, now, 0, tmo) {
                            Ok(slot) => {
                                prop_assert!(m.len() < 64);
                                prop_assert!(m.values().all(|e| e.slot != slot));
                                m.insert(
                                    k,
                                    M {
                                        slot,
                                        last_seen: now,
                                        timeout_s: tmo,
                                        packets: 0,
                                    },
                                );
                            }
                            Err(TableError::Full) => prop_assert_eq!(m.len(), 64),
                        }
                    }
                }
                Op::Find(i) => {
                    let (k, _) = key(i);
                    prop_assert_eq!(t.find(&k, hasher(&k)), m.get(&k).map(|e| e.slot));
                }
                Op::Touch(i) => {
                    let (k, d) = key(i);
                    if let Some(e) = m.get_mut(&k) {
                        now = now.wrapping_add(1);
                        let _ = t.touch(e.slot, d, 100, now);
                        e.last_seen = now;
                        e.packets += 1;
                    }
                }
                Op::Remove(i) => {
                    let (k, _) = key(i);
                    if let Some(e) = m.remove(&k) {
                        t.remove(e.slot);
                    }
                }
                Op::SetTimeout(i, tmo) => {
                    let (k, _) = key(i);
                    if let Some(e) = m.get_mut(&k) {
                        t.set_timeout(e.slot, tmo);
                        e.timeout_s = tmo;
                    }
                }
                Op::Expire(dt, budget) => {
                    now = now.wrapping_add(dt);
                    let mut gone = Vec::new();
                    let n = t.expire(now, 0, 0, budget, |slot, s, _, _| gone.push((slot, s.key)));
                    prop_assert_eq!(n, gone.len());
                    prop_assert!(n <= budget);
                    for (slot, k) in gone {
                        let e = m.remove(&k);
                        prop_assert!(e.is_some(), "expired unknown session");
                        let e = e.unwrap();
                        prop_assert_eq!(e.slot, slot);
                        // Never early.
                        prop_assert!(now.wrapping_sub(e.last_seen) >= e.timeout_s * 1000);
                    }
                    if budget == usize::MAX {
                        // Never later than timeout + a tick.
                        for e in m.values() {
                            prop_assert!(now.wrapping_sub(e.last_seen) < e.timeout_s * 1000 + tick);
                        }
                    }
                }
            }
            prop_assert_eq!(t.len() as usize, m.len());
            for (k, e) in &m {
                prop_assert_eq!(t.find(k, hasher(k)), Some(e.slot));
                prop_assert_eq!(
                    t.packets(e.slot, Direction::AtoB) + t.packets(e.slot, Direction::BtoA),
                    e.packets
                );
            }
        }
        check(&t);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn session_table_matches_hashmap_model(
            start in prop_oneof![Just(0u32), Just(u32::MAX - 5000), any::<u32>()],
            bad in any::<bool>(),
            ops in proptest::collection::vec(op(), 1..400),
        ) {
            run_model(start, bad, ops)?;
        }
    }
}
