//! The worker's small types (the burst's stage arrays, per-packet metadata, admission,
//! the active query), its constants and the helpers every part of it uses.

use crate::flow::{Direction, FlowKey, V4Words};
use crate::port::BURST;
use crate::query::SessionFilter;
use crate::ring::{QueryCounts, QueryKind, WireEvent};
use crate::session::tcp::TcpPhase;
use crate::session::{Action, Session, SessionTable, TcpState, Validity};
use crate::stats::Gauge;
use crate::wire::{self, Parsed};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use svcard_config::TimeoutClass;

/// Sessions a query visits per loop iteration.
pub(super) const QUERY_SLICE: usize = 256;
/// Sessions a query visits per loop iteration while packets are arriving: one per packet
/// of a full burst, so a walk's share of the worker and its speed do not depend on the
/// burst size (at 32 with 64-packet bursts a 1M-session walk under load went from 9.2 s to
/// more than 10 s).
pub(super) const QUERY_SLICE_BUSY: usize = BURST;
/// Sessions the timer wheel may check (and expire) per loop iteration: twice a burst, so
/// expiry outpaces creation (at most a burst of new sessions per iteration) while one
/// iteration's expiry work stays bounded. Each expiry costs a few hundred ns at millions
/// of sessions (its session, index and event lines are cold); at 512, the setup-rate
/// scenario's per-burst times had a p90 of 172 us and a p99 of 205 us, at 128 70 us and
/// 78-86 us, with as many new sessions per second (a NIC ring of 1024 descriptors at
/// 10 Mpps holds about 100 us).
pub(super) const EXPIRE_BUDGET: usize = 2 * BURST;
/// Loop iterations between counter publications (also published on every idle loop): at
/// full load about 8k frames, a few milliseconds.
pub(super) const PUBLISH_EVERY: u64 = 128;
/// ALG commands (pinholes, closes) applied per loop iteration.
pub(super) const ALG_COMMAND_BUDGET: usize = 256;

#[derive(Debug, Clone, Copy)]
pub(super) struct ActiveQuery {
    pub(super) id: u32,
    pub(super) filter: SessionFilter,
    pub(super) kind: QueryKind,
    pub(super) cursor: u32,
    pub(super) sent: u64,
    pub(super) counts: QueryCounts,
    pub(super) done: bool,
}

/// One received burst as its three passes see it (A: parsed, home buckets prefetched; B:
/// candidates found, sessions prefetched; C: resolved and acted on). A burst goes through
/// all three in the poll that receives it; the prefetches of one pass have the next pass's
/// work on the packets before them to land.
#[derive(Debug)]
pub(super) struct Stage {
    /// The port it arrived on.
    pub(super) port: u16,
    /// Frames in the burst.
    pub(super) n: usize,
    /// Per frame: index into the IP arrays (with [`FAST`] when its key is in `v4`),
    /// [`NOT_IP`] or [`GONE`].
    pub(super) kind: [u8; BURST],
    /// IP frames.
    pub(super) m: usize,
    /// Plain IPv4 UDP/TCP frames (their keys in `v4`): when all `n` are, frame `i` is IP
    /// packet `i` and stage C skips the `kind` indirection.
    pub(super) fast: usize,
    pub(super) meta: [Meta; BURST],
    /// Keys of the frames the full parser read.
    pub(super) keys: [FlowKey; BURST],
    /// Keys of the plain IPv4 UDP/TCP frames, as their three words: 24 bytes built and
    /// stored instead of 40, compared on three words.
    pub(super) v4: [V4Words; BURST],
    pub(super) hashes: [u64; BURST],
    pub(super) dirs: [Direction; BURST],
    pub(super) cand: [u32; BURST],
    /// Per IP packet: its IP length (header and payload, no link layer, no padding), what
    /// the session's byte counters count, as Junos counts them.
    pub(super) l3_len: [u16; BURST],
    /// Bit `j`: IP packet `j` came marked with its session (partial offload): its
    /// candidate is the mark's slot, prefetched in stage A, and stage B skips its bucket.
    pub(super) marked: u64,
    /// Bit `j`: IP packet `j` is a TCP segment (its session's sequence window is
    /// prefetched in stage B when the table keeps windows).
    pub(super) tcp: u64,
}
const _: () = assert!(BURST <= 64, "Stage::marked has a bit per packet");

pub(super) const NOT_IP: u8 = u8::MAX;
pub(super) const GONE: u8 = u8::MAX - 1;
/// In a [`Stage`]'s `kind`: the frame's key is in `v4` (indices stay below it).
pub(super) const FAST: u8 = 0x40;
const _: () = assert!(BURST <= FAST as usize && (FAST as usize) << 1 < GONE as usize);

/// What an established TCP session's segment needs of its parse (16 bytes instead of the whole
/// [`Parsed`]); the rare paths that need more (a new session, a reject) parse the frame
/// again, while it is still in cache. Only TCP segments read it (the session's key gives
/// the protocol), so the hot path stores it for TCP frames only.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Meta {
    pub(super) tcp_seq: u32,
    pub(super) tcp_ack: u32,
    pub(super) payload_len: u16,
    pub(super) fragment: u8,
    pub(super) tcp_flags: u8,
    pub(super) tcp_window: u16,
    /// Where the TCP header starts in the frame (its options are read from there when the
    /// sequence window needs them).
    pub(super) l4_offset: u16,
}

const _: () = assert!(core::mem::size_of::<Meta>() == 16);

impl Meta {
    /// From the hot path's parse (never a fragment).
    #[inline(always)]
    pub(super) fn of_fast(f: &wire::FastV4) -> Meta {
        Meta {
            tcp_seq: f.tcp_seq,
            tcp_ack: f.tcp_ack,
            payload_len: f.payload_len,
            fragment: 0,
            tcp_flags: f.tcp_flags,
            tcp_window: f.tcp_window,
            // Ethernet, then a 20-byte IPv4 header: the hot path takes no other.
            l4_offset: 34,
        }
    }

    #[inline]
    pub(super) fn of(p: &Parsed) -> Meta {
        Meta {
            tcp_seq: p.tcp_seq,
            tcp_ack: p.tcp_ack,
            payload_len: p.payload_len,
            fragment: p.fragment,
            tcp_flags: p.tcp_flags,
            tcp_window: p.tcp_window,
            l4_offset: p.l4_offset,
        }
    }
}

impl Stage {
    /// Records frame `i` as IP packet `m` (then `m + 1`), whose key the full parser read:
    /// its key, hash, direction and meta, and prefetches its home bucket.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push_ip(
        &mut self,
        table: &SessionTable,
        i: usize,
        m: &mut usize,
        k: FlowKey,
        d: Direction,
        meta: Meta,
        ip_len: u16,
        mark: Option<u32>,
    ) {
        let j = *m & (BURST - 1);
        self.keys[j] = k;
        self.l3_len[j] = ip_len;
        self.meta[j] = meta;
        self.tcp |= u64::from(k.proto == crate::wire::ip_proto::TCP) << j;
        self.push_tail(table, i, m, k.hash(), d, 0, mark);
    }

    /// [`push_ip`](Self::push_ip) for a plain IPv4 UDP/TCP frame, its key as three words;
    /// its [`Meta`] is stored only for TCP (nothing else reads it).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push_v4(
        &mut self,
        table: &SessionTable,
        i: usize,
        m: &mut usize,
        w: V4Words,
        d: Direction,
        f: &wire::FastV4,
        mark: Option<u32>,
    ) {
        let j = *m & (BURST - 1);
        self.v4[j] = w;
        self.l3_len[j] = f.ip_len;
        if f.proto == crate::wire::ip_proto::TCP {
            self.meta[j] = Meta::of_fast(f);
            self.tcp |= 1 << j;
        }
        self.push_tail(table, i, m, w.hash(), d, FAST, mark);
    }

    /// The common tail of the two pushes. `mark`: the slot a NIC's mark names (partial
    /// offload): the session itself is prefetched instead of the home bucket, and it is the
    /// candidate stage C compares first (a stale mark, whose slot was freed or reused,
    /// fails the compare and falls back to the lookup, so a mark is a hint, never trusted).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push_tail(
        &mut self,
        table: &SessionTable,
        i: usize,
        m: &mut usize,
        h: u64,
        d: Direction,
        flag: u8,
        mark: Option<u32>,
    ) {
        let j = *m & (BURST - 1);
        if let Some(slot) = mark {
            table.prefetch_session(slot);
            self.cand[j] = slot;
            self.marked |= 1 << j;
        } else {
            table.prefetch_bucket(h);
        }
        self.hashes[j] = h;
        self.dirs[j] = d;
        self.kind[i & (BURST - 1)] = j as u8 | flag;
        *m += 1;
    }
}

impl Default for Stage {
    fn default() -> Self {
        Stage {
            port: 0,
            n: 0,
            kind: [GONE; BURST],
            m: 0,
            fast: 0,
            meta: [Meta::default(); BURST],
            keys: [FlowKey::default(); BURST],
            v4: [V4Words::default(); BURST],
            hashes: [0; BURST],
            dirs: [Direction::AtoB; BURST],
            cand: [u32::MAX; BURST],
            l3_len: [0; BURST],
            marked: 0,
            tcp: 0,
        }
    }
}

/// Puts `ev` on the worker's event ring; false if the ring is full (or the worker has no
/// end of it).
#[inline]
pub(super) fn send_event(ring: &mut Option<rtrb::Producer<WireEvent>>, ev: WireEvent) -> bool {
    ring.as_mut().is_some_and(|p| p.push(ev).is_ok())
}

/// The validity of a session in the table.
#[inline]
#[must_use]
pub fn validity(s: &Session) -> Validity {
    crate::session::validity(s.key.proto, s.tcp, s.bits)
}

pub(super) fn gauge_of(v: Validity) -> Gauge {
    match v {
        Validity::Valid => Gauge::Valid,
        Validity::Pending => Gauge::Pending,
        Validity::Invalidated => Gauge::Invalidated,
        Validity::Other => Gauge::Other,
    }
}

pub(super) fn timeout_class(proto: u8, tcp: TcpState) -> TimeoutClass {
    match proto {
        6 => match tcp.phase() {
            TcpPhase::SynSent | TcpPhase::SynReceived => TimeoutClass::TcpSyn,
            TcpPhase::Established => TimeoutClass::TcpEstablished,
            TcpPhase::Closing => TimeoutClass::TcpClosing,
            TcpPhase::Closed => TimeoutClass::TcpClosed,
        },
        17 => TimeoutClass::Udp,
        1 | 58 => TimeoutClass::Icmp,
        _ => TimeoutClass::Other,
    }
}

pub(super) fn ip_of(family: u8, slot: &[u8; 16]) -> IpAddr {
    if family == 6 {
        IpAddr::V6(Ipv6Addr::from(*slot))
    } else {
        IpAddr::V4(Ipv4Addr::new(slot[0], slot[1], slot[2], slot[3]))
    }
}

/// Stage C forwards in place: the packets of a burst that go to its peer port stay in (or
/// go back to) their slots of the received burst, which is then transmitted as it is.
#[derive(Debug, Clone, Copy)]
pub(super) struct InPlace {
    /// The peer of the burst being handled ([`NO_PORT`] outside stage C).
    pub(super) port: u16,
    /// The slot of the packet a slow path took out ([`Worker::take_for_slow_path`]).
    pub(super) slot: usize,
    /// Packets in the burst's slots to send.
    pub(super) kept: usize,
}

/// No port ([`InPlace::port`] outside stage C).
pub(super) const NO_PORT: u16 = u16::MAX;

/// How a new session is admitted: by the policy, or through a pinhole.
#[derive(Debug, Clone, Copy)]
pub(super) struct Admission {
    pub(super) service_set: u16,
    pub(super) rule: u16,
    pub(super) application: u16,
    pub(super) action: Action,
    pub(super) timeout: u32,
    pub(super) pinhole: Option<u32>,
    /// A child flow's parent session (the ALG's control session): it carries the Junos
    /// flag of a child that could not be made.
    pub(super) parent: Option<u32>,
    /// A child flow its ALG marked offloadable (FTP data).
    pub(super) offload_child: bool,
}

/// Takes a session that is going away off the books: its service set's count (and its
/// place in the card-wide budget; a Bypass session held neither), its validity gauge and
/// the drop-flow gauge. (A free function so the expiry callback, which borrows the table,
/// can call it.)
pub(super) fn unbook(
    ss_sessions: &mut [u32],
    budget: Option<&super::ServiceSetBudget>,
    gauges: &mut [u64; Gauge::COUNT],
    s: &Session,
    service_set: u16,
) {
    if Action::from_u8(s.action) != Action::Bypass {
        if let Some(n) = ss_sessions.get_mut(usize::from(service_set)) {
            *n = n.saturating_sub(1);
        }
        if let Some(b) = budget {
            b.give_back(service_set);
        }
    }
    let g = gauge_of(validity(s)) as usize;
    gauges[g] = gauges[g].saturating_sub(1);
    if matches!(Action::from_u8(s.action), Action::Drop | Action::Reject) {
        let d = Gauge::DropFlow as usize;
        gauges[d] = gauges[d].saturating_sub(1);
    }
    if s.bits & crate::session::bits::OFFLOAD != 0 {
        let o = Gauge::Offloaded as usize;
        gauges[o] = gauges[o].saturating_sub(1);
    }
}

pub(super) fn count_into(c: &mut QueryCounts, s: &Session) {
    c.matched += 1;
    match validity(s) {
        Validity::Valid => c.valid += 1,
        Validity::Pending => c.pending += 1,
        Validity::Invalidated => c.invalidated += 1,
        Validity::Other => c.other += 1,
    }
}
