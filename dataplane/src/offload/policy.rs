//! The offload decision: whether an armed session's trigger fires on this packet, from
//! what the packet path already has (the session's counters, its TCP state, the burst's
//! time). `rate-above` keeps a window in the session (its start and the count then), so a
//! rate needs no clock read per packet.

use svcard_config::OffloadTrigger;

/// What the packet path knows of a session when it checks its trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// Packets, both directions.
    pub packets: u64,
    /// Bytes, both directions.
    pub bytes: u64,
    /// TCP: the handshake completed; other protocols: a reply was seen.
    pub established: bool,
}

/// A session's rate window: when it started (milliseconds, wrapping) and the session's
/// count (packets or bytes, low 32 bits) then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Window {
    /// Start, milliseconds on the shared clock.
    pub start_ms: u32,
    /// The count at the start.
    pub base: u32,
}

/// Whether `t` fires for a session with `facts` at `now_ms`; `w` is the session's window
/// (moved on when a window closes under the rate).
///
/// `rate-above R over W ms` fires as soon as the session has carried `R × W / 1000` in
/// the current window (an elephant is seen within its first window), or, when the window
/// has passed, if the average over it reached `R`; otherwise a new window starts.
#[inline]
#[must_use]
pub fn fires(t: OffloadTrigger, facts: &Facts, w: &mut Window, now_ms: u32) -> bool {
    match t {
        OffloadTrigger::Never => false,
        OffloadTrigger::Established => facts.established,
        OffloadTrigger::AfterPackets(n) => facts.packets >= n,
        OffloadTrigger::AfterBytes(n) => facts.bytes >= n,
        OffloadTrigger::PacketRate {
            per_second,
            window_ms,
        } => rate(facts.packets, per_second, window_ms, w, now_ms),
        OffloadTrigger::ByteRate {
            per_second,
            window_ms,
        } => rate(facts.bytes, per_second, window_ms, w, now_ms),
    }
}

fn rate(count: u64, per_second: u64, window_ms: u32, w: &mut Window, now_ms: u32) -> bool {
    let count = count as u32; // the low word: differences within a window stay exact
    let seen = u64::from(count.wrapping_sub(w.base));
    let elapsed = now_ms.wrapping_sub(w.start_ms);
    let elapsed = if elapsed >= 0x8000_0000 { 0 } else { elapsed };
    let span = u64::from(elapsed.max(window_ms));
    // seen / span ≥ per_second / 1000, without division.
    if seen * 1000 >= per_second.saturating_mul(span) {
        return true;
    }
    if elapsed >= window_ms {
        *w = Window {
            start_ms: now_ms,
            base: count,
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(packets: u64, bytes: u64, established: bool) -> Facts {
        Facts {
            packets,
            bytes,
            established,
        }
    }

    #[test]
    fn thresholds() {
        let mut w = Window::default();
        let t = OffloadTrigger::AfterPackets(10);
        assert!(!fires(t, &facts(9, 0, true), &mut w, 0));
        assert!(fires(t, &facts(10, 0, false), &mut w, 0));
        let t = OffloadTrigger::AfterBytes(1500);
        assert!(!fires(t, &facts(100, 1499, true), &mut w, 0));
        assert!(fires(t, &facts(1, 1500, false), &mut w, 0));
        assert!(!fires(
            OffloadTrigger::Established,
            &facts(99, 99, false),
            &mut w,
            0
        ));
        assert!(fires(
            OffloadTrigger::Established,
            &facts(2, 0, true),
            &mut w,
            0
        ));
        assert!(!fires(
            OffloadTrigger::Never,
            &facts(u64::MAX, u64::MAX, true),
            &mut w,
            0
        ));
    }

    #[test]
    fn an_elephant_fires_within_its_first_window_a_mouse_never() {
        let t = OffloadTrigger::PacketRate {
            per_second: 1000,
            window_ms: 100,
        };
        // 100 packets in 50 ms: the window's share (100) is reached early.
        let mut w = Window::default();
        let fired = (1..=100u32).find(|&p| fires(t, &facts(u64::from(p), 0, false), &mut w, p / 2));
        assert_eq!(fired, Some(100));
        // 10 packets a second for 10 seconds: never.
        let mut w = Window::default();
        for p in 1..=100u32 {
            assert!(!fires(t, &facts(u64::from(p), 0, false), &mut w, p * 100));
        }
    }

    proptest! {
        /// A flow at a steady rate (one packet every `gap` ms): twice the threshold fires
        /// within two windows; half of it never does.
        #[test]
        fn steady_rates(threshold in 10u64..100_000, window in 10u32..2000, start in any::<u32>()) {
            let t = OffloadTrigger::PacketRate { per_second: threshold, window_ms: window };
            let run = |pps: u64, packets: u64| {
                let mut w = Window { start_ms: start, base: 0 };
                (1..=packets).find(|&p| {
                    let now = start.wrapping_add((p * 1000 / pps) as u32);
                    fires(t, &facts(p, 0, false), &mut w, now)
                })
            };
            let fast = 2 * threshold;
            let within = fast * u64::from(window) * 2 / 1000 + 2;
            prop_assert!(run(fast, within).is_some());
            let slow = (threshold / 2).max(1);
            if slow * 2 <= threshold {
                let packets = (slow * u64::from(window) * 5 / 1000).clamp(20, 5000);
                prop_assert_eq!(run(slow, packets), None);
            }
        }

        /// Count thresholds fire exactly at the count.
        #[test]
        fn counts_fire_at_the_count(n in 1u64..1_000_000, seen in 0u64..2_000_000) {
            let mut w = Window::default();
            prop_assert_eq!(
                fires(OffloadTrigger::AfterPackets(n), &facts(seen, 0, false), &mut w, 0),
                seen >= n
            );
            prop_assert_eq!(
                fires(OffloadTrigger::AfterBytes(n), &facts(0, seen, false), &mut w, 0),
                seen >= n
            );
        }
    }
}
