//! HDR histograms of the time per packet and per burst.
//!
//! Two sources. From outside, for svcard and testpmd alike: the *mean* time per packet of
//! each sampling interval: every one-second period of a phase (after the warm-up) gives
//! one value, 1e9 / packets per second, in nanoseconds, and at the CPU's nominal frequency
//! one value of cycles per packet; the spread shows how steady forwarding is from second
//! to second. From inside, for svcard only: the worker times each busy loop iteration
//! (one burst received and handled) and publishes a bucketed histogram
//! ([`svcard_dataplane::stats::LoopTimes`]); `svcard run --rate` prints it each second,
//! per burst and per packet, and [`IntervalHistogram::of_buckets`] takes it in.

use hdrhistogram::Histogram;

/// What a per-interval [`IntervalHistogram`] holds, for the reports.
pub const WHAT: &str = "mean ns (and cycles at the nominal CPU MHz) per forwarded packet in each \
     one-second interval after warm-up, from the per-second packet rate (1e9 / pps); not a \
     per-packet latency distribution (testpmd gives no finer timing)";

/// What the loop-time histograms ([`IntervalHistogram::of_buckets`]) hold.
pub const LOOP_WHAT: &str = "svcard's busy loop iterations over the same periods, timed by the \
     worker from one iteration's start to the next (the clock read it makes once per \
     iteration): ns per burst (one receive burst, handled), and ns per packet \
     (an iteration's time over its packets, counted once per packet); the worker's buckets \
     are 12.5 % wide and each is counted at its middle";

/// Picoseconds per nanosecond: values are recorded in picoseconds so that sub-nanosecond
/// differences at tens of Mpps survive the integer histogram.
const PS: f64 = 1000.0;

/// A histogram of ns per packet over sampling intervals.
#[derive(Debug, Clone)]
pub struct IntervalHistogram {
    h: Histogram<u64>,
}

/// Quantiles of an [`IntervalHistogram`], in ns per packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Intervals recorded.
    pub count: u64,
    /// Fastest interval.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest interval.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// (ns per packet, intervals) of every recorded bucket, fastest first.
    pub buckets: Vec<(f64, u64)>,
}

impl Summary {
    /// `ns` converted to cycles at `mhz`.
    #[must_use]
    pub fn cycles(ns: f64, mhz: f64) -> f64 {
        ns * mhz / 1000.0
    }
}

impl Default for IntervalHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl IntervalHistogram {
    /// An empty histogram (3 significant digits, auto-resizing).
    ///
    /// # Panics
    /// Never: 3 significant digits is a valid precision.
    #[must_use]
    pub fn new() -> Self {
        Self {
            h: Histogram::new(3).expect("3 significant digits"),
        }
    }
    /// Records one interval that forwarded `pps` packets per second (0 or less: nothing
    /// forwarded, not recorded).
    pub fn record_pps(&mut self, pps: f64) {
        if pps.is_finite() && pps > 0.0 {
            let ps = (1e9 / pps * PS).round().max(1.0);
            let v = ps as u64;
            // `record` grows the (auto-resizing) histogram; `saturating_record` would clamp
            // to its current top.
            if self.h.record(v).is_err() {
                self.h.saturating_record(v);
            }
        }
    }
    /// A histogram of every `pps` sample.
    #[must_use]
    pub fn of(pps: &[f64]) -> Self {
        let mut h = Self::new();
        for &p in pps {
            h.record_pps(p);
        }
        h
    }
    /// A histogram of a worker's loop-time buckets
    /// ([`svcard_dataplane::stats::LoopTimes`]): each bucket's count at its middle (the
    /// open-ended last one at its low end).
    #[must_use]
    pub fn of_buckets(counts: &[u64; svcard_dataplane::stats::LOOP_BUCKETS]) -> Self {
        let mut h = Self::new();
        for (i, &n) in counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let (lo, hi) = svcard_dataplane::stats::loop_bucket_range(i);
            let mid = if hi == u64::MAX {
                lo
            } else {
                lo + (hi - lo) / 2
            };
            let ps = (mid as f64 * PS).max(1.0) as u64;
            if h.h.record_n(ps, n).is_err() {
                h.h.saturating_record_n(ps, n);
            }
        }
        h
    }
    /// Intervals recorded.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.h.len()
    }
    /// Whether nothing was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.h.is_empty()
    }
    /// Quantiles in ns per packet; `None` when empty.
    #[must_use]
    pub fn summary(&self) -> Option<Summary> {
        if self.h.is_empty() {
            return None;
        }
        // Quantiles are reported at the middle of their bucket (3 significant digits).
        let ns = |v: u64| self.h.median_equivalent(v) as f64 / PS;
        Some(Summary {
            count: self.h.len(),
            min: ns(self.h.min()),
            p50: ns(self.h.value_at_quantile(0.5)),
            p90: ns(self.h.value_at_quantile(0.9)),
            p99: ns(self.h.value_at_quantile(0.99)),
            max: ns(self.h.max()),
            mean: self.h.mean() / PS,
            buckets: self
                .h
                .iter_recorded()
                .map(|v| (ns(v.value_iterated_to()), v.count_at_value()))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_per_packet_quantiles() {
        // 10 Mpps is 100 ns per packet; 5 Mpps 200 ns.
        let mut s = vec![10e6; 9];
        s.push(5e6);
        let h = IntervalHistogram::of(&s);
        assert_eq!(h.len(), 10);
        let q = h.summary().unwrap();
        assert!((q.p50 - 100.0).abs() < 0.1, "{q:?}");
        assert!((q.min - 100.0).abs() < 0.1);
        assert!((q.max - 200.0).abs() < 0.2);
        assert!((q.p99 - 200.0).abs() < 0.2);
        assert!((q.mean - 110.0).abs() < 0.2);
        assert_eq!(q.buckets.iter().map(|b| b.1).sum::<u64>(), 10);
        assert_eq!(q.buckets.len(), 2);
        assert!((Summary::cycles(q.p50, 2000.0) - 200.0).abs() < 0.2);
        // A worker's loop-time buckets, each counted at its middle.
        let mut b = [0u64; svcard_dataplane::stats::LOOP_BUCKETS];
        b[svcard_dataplane::stats::loop_bucket(6_200)] = 3; // 6144-6656 ns
        b[svcard_dataplane::stats::loop_bucket(100)] = 1; // 96-104 ns
        let q = IntervalHistogram::of_buckets(&b).summary().unwrap();
        assert_eq!(q.count, 4);
        assert!((q.min - 100.0).abs() < 0.1, "{q:?}");
        assert!((q.p50 - 6400.0).abs() < 5.0, "{q:?}");
        assert!(
            IntervalHistogram::of_buckets(&[0; svcard_dataplane::stats::LOOP_BUCKETS])
                .summary()
                .is_none()
        );
        // Idle intervals are not packets.
        let h = IntervalHistogram::of(&[0.0, f64::NAN]);
        assert!(h.is_empty() && h.summary().is_none());
    }
}
