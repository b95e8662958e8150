//! The ids that cross crate boundaries, as types: a worker ([`WorkerId`]), a port of the
//! configuration ([`PortId`]) and a device queue ([`QueueId`]). Each wraps the integer the
//! hot path uses (`repr(transparent)`: no cost), so a worker index cannot be passed where a
//! port is meant, and the narrowing to what a session stores is said once, here.

use core::fmt;

/// Each id prints as its number.
macro_rules! display_as_number {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

display_as_number!(WorkerId, PortId, QueueId);

/// A worker: its index from 0. Worker `w` polls RX queue `w` of every port and is PIC
/// `pic-base + w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct WorkerId(pub u16);

impl WorkerId {
    /// As an index into per-worker arrays.
    #[inline]
    #[must_use]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The worker at `i`, if `i` fits (at most 65,535 workers; the configuration allows
    /// 1,024).
    #[inline]
    #[must_use]
    pub fn from_index(i: usize) -> Option<WorkerId> {
        u16::try_from(i).ok().map(WorkerId)
    }

    /// Workers `0..n`.
    pub fn all(n: usize) -> impl Iterator<Item = WorkerId> {
        (0..u16::try_from(n).unwrap_or(u16::MAX)).map(WorkerId)
    }
}

/// A port: its index in the configuration's port list (at most
/// [`crate::MAX_PORTS`] = 255, so a session stores it in one byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct PortId(pub u16);

impl PortId {
    /// As an index into per-port arrays.
    #[inline]
    #[must_use]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The port at `i`, if `i` is a port a configuration can have.
    #[inline]
    #[must_use]
    pub fn from_index(i: usize) -> Option<PortId> {
        u16::try_from(i)
            .ok()
            .filter(|_| i < crate::MAX_PORTS)
            .map(PortId)
    }

    /// The byte a session record stores (`u8::MAX`: none); ids past 254 store as none.
    #[inline]
    #[must_use]
    pub fn as_stored(self) -> u8 {
        u8::try_from(self.0).unwrap_or(u8::MAX)
    }

    /// The port a stored byte names (`u8::MAX`: none).
    #[inline]
    #[must_use]
    pub const fn from_stored(b: u8) -> Option<PortId> {
        if b == u8::MAX {
            None
        } else {
            Some(PortId(b as u16))
        }
    }
}

/// A device queue's index on its port (RX or TX).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct QueueId(pub u16);

impl QueueId {
    /// The queue a worker polls: queue `w` for worker `w`.
    #[inline]
    #[must_use]
    pub const fn of_worker(w: WorkerId) -> QueueId {
        QueueId(w.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_store_in_a_byte_and_none_is_max() {
        assert_eq!(PortId(3).as_stored(), 3);
        assert_eq!(PortId::from_stored(3), Some(PortId(3)));
        assert_eq!(PortId::from_stored(u8::MAX), None);
        assert_eq!(PortId(255).as_stored(), u8::MAX);
        assert_eq!(PortId::from_index(254), Some(PortId(254)));
        assert_eq!(PortId::from_index(255), None);
        assert_eq!(WorkerId::from_index(70_000), None);
        assert_eq!(
            WorkerId::all(3).collect::<Vec<_>>(),
            [WorkerId(0), WorkerId(1), WorkerId(2)]
        );
        assert_eq!(QueueId::of_worker(WorkerId(5)), QueueId(5));
    }
}
