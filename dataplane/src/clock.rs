//! The worker's coarse clock: read once per loop iteration, never per packet.

use std::time::Instant;

/// Milliseconds and seconds since svcard started.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock starting now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }
    /// A clock counting from `start`.
    #[must_use]
    pub fn starting_at(start: Instant) -> Self {
        Self { start }
    }
    /// Milliseconds since start, wrapping at 2^32 (compare with `wrapping_sub`).
    #[inline]
    #[must_use]
    pub fn now_ms(&self) -> u32 {
        self.start.elapsed().as_millis() as u32
    }
    /// (milliseconds wrapping, seconds) since start, from one clock read.
    #[inline]
    #[must_use]
    pub fn now(&self) -> (u32, u32) {
        let (ms, s, _) = self.now_ns();
        (ms, s)
    }
    /// (milliseconds wrapping, seconds, nanoseconds) since start, from one clock read.
    #[inline]
    #[must_use]
    pub fn now_ns(&self) -> (u32, u32, u64) {
        let e = self.start.elapsed();
        (
            e.as_millis() as u32,
            e.as_secs() as u32,
            e.as_nanos() as u64,
        )
    }
}
