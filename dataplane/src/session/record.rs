//! A session's record, in two arrays indexed by slot: [`Session`], the hot 64 bytes a
//! packet reads and writes, and [`SessionInfo`], the cold 64 bytes (counters' high words,
//! timer links, names, offload state) read when a session is created, changes state,
//! expires or is shown.

use super::bits;
use super::{session_id, Action, FlowView, PortId, SessionView, TcpState, WorkerId};
use crate::flow::{Direction, FlowKey};
use crate::offload::policy::Window;
use crate::offload::{FailReason, OffloadState, OffloadView};

/// Longest idle timeout honoured, seconds (about 12 days; longer ones are clamped so that
/// wrapping millisecond arithmetic stays unambiguous).
pub const MAX_TIMEOUT_S: u32 = (1 << 30) / 1000;

/// In [`SessionInfo::offload_reason`]: the session's rule only marks its packets (partial
/// offload: the worker forwards them, without a lookup).
pub const PARTIAL_RULE: u8 = 0x80;

/// `prev` link of a free slot (the wheel uses [`NIL`] for "not scheduled" and ids or
/// `0x8000_0000 | list` otherwise, never this value).
pub(super) const FREE: u32 = u32::MAX - 1;

/// The hot part of a session: the canonical key and everything a packet of an established
/// session reads or writes. 64 bytes, aligned to a cache line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Session {
    /// The canonical key.
    pub key: FlowKey,
    /// Last packet, milliseconds (wrapping).
    pub last_seen_ms: u32,
    /// Low 32 bits of the packets per canonical direction (see [`SessionTable::packets`]).
    pub(super) packets_lo: [u32; 2],
    /// Low 32 bits of the bytes per canonical direction (see [`SessionTable::bytes`]).
    pub(super) bytes_lo: [u32; 2],
    /// [`Action`] as `u8`.
    pub action: u8,
    /// [`bits`].
    pub bits: u8,
    /// TCP tracker.
    pub tcp: TcpState,
    /// Junos flag byte ([`super::flags`]).
    pub junos_flags: u8,
}

const _: () = assert!(core::mem::size_of::<Session>() == 64);

/// The cold part of a session: what is read when a session is created, changes state,
/// expires or is shown. 64 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct SessionInfo {
    /// High 32 bits of the packets per canonical direction.
    pub(super) packets_hi: [u32; 2],
    /// High 32 bits of the bytes per canonical direction.
    pub(super) bytes_hi: [u32; 2],
    /// Current idle timeout, seconds (change it with [`SessionTable::set_timeout`]).
    pub(super) timeout_s: u32,
    /// Wheel `next` link; the free-list link when the slot is free.
    pub(super) timer_next: u32,
    /// Wheel `prev` link; [`FREE`] when the slot is free.
    pub(super) timer_prev: u32,
    /// Creation, seconds since start.
    pub start_s: u32,
    /// TCP FIN sequence numbers `[initiator, responder]` (0 until seen).
    pub fin_seq: [u32; 2],
    /// Service set index.
    pub service_set: u16,
    /// Rule index within the service set.
    pub rule: u16,
    /// Application index, `u16::MAX` for none.
    pub application: u16,
    /// Ingress port per canonical direction, `u8::MAX` when not seen.
    pub ingress: [u8; 2],
    /// [`OffloadState`] as `u8`.
    pub offload: u8,
    /// [`FailReason`] as `u8` (state `Failed`), with [`PARTIAL_RULE`] when the rule is a
    /// partial one (states `Offloaded`, `Withdrawn`).
    pub offload_reason: u8,
    /// The offload policy (index into the configuration's; 0: never).
    pub offload_policy: u16,
    /// While armed: the session's first packet, milliseconds; once offloaded: the
    /// backend's rule ID.
    pub offload_mark: u32,
    /// The `rate-above` window.
    pub offload_window: Window,
}

const _: () = assert!(core::mem::size_of::<SessionInfo>() == 64);

impl Session {
    pub(super) const EMPTY: Session = Session {
        key: FlowKey {
            addr_a: [0; 16],
            addr_b: [0; 16],
            port_a: 0,
            port_b: 0,
            proto: 0,
            family: 0,
            vlan: 0,
        },
        last_seen_ms: 0,
        packets_lo: [0; 2],
        bytes_lo: [0; 2],
        action: Action::Forward as u8,
        bits: 0,
        tcp: TcpState::from_bits(0),
        junos_flags: 0,
    };

    /// The initiator's direction in the canonical key ([`bits::INITIATOR_B`]).
    #[inline]
    #[must_use]
    pub fn initiator(&self) -> Direction {
        if self.bits & bits::INITIATOR_B != 0 {
            Direction::BtoA
        } else {
            Direction::AtoB
        }
    }

    /// Record which direction initiated the session.
    #[inline]
    pub fn set_initiator(&mut self, dir: Direction) {
        match dir {
            Direction::AtoB => self.bits &= !bits::INITIATOR_B,
            Direction::BtoA => self.bits |= bits::INITIATOR_B,
        }
    }

    /// The action as the enum.
    #[inline]
    #[must_use]
    pub fn action(&self) -> Action {
        Action::from_u8(self.action)
    }

    /// Milliseconds since the last packet (0 if `last_seen_ms` is ahead of `now_ms`).
    #[inline]
    #[must_use]
    pub fn idle_ms(&self, now_ms: u32) -> u32 {
        let d = now_ms.wrapping_sub(self.last_seen_ms);
        if d >= 0x8000_0000 {
            0
        } else {
            d
        }
    }

    /// Packets and bytes, all 64 bits, per canonical direction.
    #[must_use]
    pub fn counts(&self, info: &SessionInfo) -> ([u64; 2], [u64; 2]) {
        (
            [0, 1].map(|d| join(info.packets_hi[d], self.packets_lo[d])),
            [0, 1].map(|d| join(info.bytes_hi[d], self.bytes_lo[d])),
        )
    }

    /// The owned snapshot the worker reports: `flows[0]` is the initiator's direction.
    #[must_use]
    pub fn view(
        &self,
        info: &SessionInfo,
        worker: WorkerId,
        slot: u32,
        now_ms: u32,
        now_s: u32,
    ) -> SessionView {
        let ini = self.initiator();
        let flow = |dir: Direction, side: usize| {
            let d = dir.index() & 1;
            FlowView {
                src: Some(self.key.src(dir)),
                dst: Some(self.key.dst(dir)),
                ingress_port: PortId::from_stored(info.ingress[d]),
                packets: join(info.packets_hi[d], self.packets_lo[d]),
                bytes: join(info.bytes_hi[d], self.bytes_lo[d]),
                fin_seq: info.fin_seq[side & 1],
                fin_state: self.tcp.fin_state(side == 0),
            }
        };
        let idle_s = self.idle_ms(now_ms) / 1000;
        let dur = now_s.wrapping_sub(info.start_s);
        SessionView {
            id: session_id(worker, slot),
            worker,
            key: self.key,
            initiator: Some(ini),
            flows: [flow(ini, 0), flow(ini.reverse(), 1)],
            service_set: info.service_set,
            rule: info.rule,
            application: info.application,
            action: self.action(),
            junos_flags: self.junos_flags,
            bits: self.bits,
            tcp: self.tcp,
            timeout_s: info.timeout_s,
            remaining_s: info.timeout_s.saturating_sub(idle_s),
            start_s: info.start_s,
            duration_s: if dur >= 0x8000_0000 { 0 } else { dur },
            offload: info.offload_view(),
            nat: None,
        }
    }
}

#[inline]
pub(super) fn join(hi: u32, lo: u32) -> u64 {
    (u64::from(hi) << 32) | u64::from(lo)
}

impl SessionInfo {
    /// A free slot linked to `next`.
    pub(super) const fn free(next: u32) -> Self {
        SessionInfo {
            packets_hi: [0; 2],
            bytes_hi: [0; 2],
            timeout_s: 0,
            timer_next: next,
            timer_prev: FREE,
            start_s: 0,
            fin_seq: [0; 2],
            service_set: 0,
            rule: 0,
            application: u16::MAX,
            ingress: [u8::MAX; 2],
            offload: 0,
            offload_reason: 0,
            offload_policy: 0,
            offload_mark: 0,
            offload_window: Window {
                start_ms: 0,
                base: 0,
            },
        }
    }

    /// The offload state.
    #[inline]
    #[must_use]
    pub fn offload_state(&self) -> OffloadState {
        OffloadState::from_u8(self.offload)
    }

    /// The session's rule ID, when a backend holds one.
    #[inline]
    #[must_use]
    pub fn offload_rule(&self) -> Option<u32> {
        matches!(
            self.offload_state(),
            OffloadState::Offloaded | OffloadState::Withdrawn
        )
        .then_some(self.offload_mark)
    }

    /// The offload part of the session's view (hardware counters are the manager's to
    /// add).
    #[must_use]
    pub fn offload_view(&self) -> OffloadView {
        OffloadView {
            state: self.offload_state(),
            reason: FailReason::from_u8(self.offload_reason & !PARTIAL_RULE),
            partial: self.offload_reason & PARTIAL_RULE != 0,
            policy: self.offload_policy,
            rule: self.offload_rule().unwrap_or(0),
            hw_packets: [0; 2],
            hw_bytes: [0; 2],
        }
    }

    /// The slot holds a session.
    #[inline]
    #[must_use]
    pub fn is_live(&self) -> bool {
        self.timer_prev != FREE
    }

    /// Current idle timeout, seconds.
    #[inline]
    #[must_use]
    pub fn timeout_s(&self) -> u32 {
        self.timeout_s
    }
}

/// Idle timeout in milliseconds (clamped, see [`MAX_TIMEOUT_S`]).
#[inline]
pub(super) fn timeout_ms(timeout_s: u32) -> u32 {
    timeout_s.min(MAX_TIMEOUT_S) * 1000
}
