//! What a run measured: rates, the baselines' and svcard's runs, the scenario figures, the results and their arithmetic.

use std::path::PathBuf;
use svcard_dataplane::stats::LoopTimes;

use super::options::*;
use crate::hist::IntervalHistogram;
use crate::hugepages::EalMemory;
use crate::recipes::{CaptureStats, FrameSize};

/// Median, minimum and maximum of per-second rates after the warm-up.
#[derive(Debug, Clone, Default)]
pub struct Rate {
    /// Median packets per second.
    pub median: f64,
    /// Slowest period.
    pub min: f64,
    /// Fastest period.
    pub max: f64,
    /// Periods the figures are taken from.
    pub periods: usize,
    /// Every period's packets per second, warm-up included.
    pub samples: Vec<f64>,
}

impl Rate {
    /// The samples the figures are taken from (after the warm-up).
    #[must_use]
    pub fn kept(&self) -> &[f64] {
        &self.samples[self.samples.len() - self.periods.min(self.samples.len())..]
    }
    /// Figures over `samples` without the first `warmup` after the first that is not 0
    /// (a capture of millions of frames takes seconds to load before anything flows; at
    /// least one period is kept).
    #[must_use]
    pub fn of(samples: &[f64], warmup: usize) -> Self {
        Self::after(samples, 0, warmup)
    }
    /// [`Rate::of`], and never a period before `from` (the first of the steady state, as
    /// the caller knows it).
    #[must_use]
    pub fn after(samples: &[f64], from: usize, warmup: usize) -> Self {
        let first = samples.iter().position(|&x| x > 0.0).unwrap_or(0);
        let skip = (first + warmup)
            .max(from)
            .min(samples.len().saturating_sub(1));
        let mut v: Vec<f64> = samples[skip..].to_vec();
        v.sort_by(f64::total_cmp);
        let median = match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Self {
            median,
            min: v.first().copied().unwrap_or(0.0),
            max: v.last().copied().unwrap_or(0.0),
            periods: v.len(),
            samples: samples.to_vec(),
        }
    }
}

/// One testpmd baseline of a round: its runs before and after svcard's.
#[derive(Debug, Clone)]
pub struct BaselineRun {
    /// The mode.
    pub mode: Mode,
    /// The command line.
    pub command: String,
    /// The sink port's Tx-pps.
    pub rate: Rate,
    /// A peer's connection count at the end of the run (OVS's conntrack).
    pub connections: Option<u64>,
    /// Why it did not run, or what to know of it (the split of its capture).
    pub note: Option<String>,
}

impl BaselineRun {
    /// The baseline of a round from its two runs, before and after svcard's: the rate over
    /// the periods both kept (after their warm-ups), so a host that speeds up or slows down
    /// during the round weighs on the baseline as on svcard.
    #[must_use]
    pub fn around(before: &BaselineRun, after: &BaselineRun) -> BaselineRun {
        let samples: Vec<f64> = before
            .rate
            .kept()
            .iter()
            .chain(after.rate.kept())
            .copied()
            .collect();
        BaselineRun {
            mode: before.mode,
            command: before.command.clone(),
            rate: Rate::of(&samples, 0),
            connections: after.connections.or(before.connections),
            note: before.note.clone().or_else(|| after.note.clone()),
        }
    }
}

/// One svcard run.
#[derive(Debug, Clone, Default)]
pub struct SvcardRun {
    /// The command line.
    pub command: String,
    /// The generated configuration.
    pub config: String,
    /// tx_pps of the rate lines.
    pub rate: Rate,
    /// Live sessions (summary at half time, else the last rate line).
    pub sessions: u64,
    /// `Maximum-sessions` of the summary.
    pub max_sessions: Option<u64>,
    /// The summary command line.
    pub summary_command: String,
    /// Session-table bytes (sum over workers, exit summary).
    pub table_bytes: Option<u64>,
    /// Resident bytes of the process at half time (includes the mbuf pool).
    pub rss_bytes: Option<u64>,
    /// EAL memory (-m) used, MB.
    pub eal_mb: u64,
    /// The exit summary lines.
    pub exit_summary: Vec<String>,
    /// Every rate line, in order.
    pub lines: Vec<RateLine>,
    /// The worker's loop times of each rate line's second (`loops:` lines, in order).
    pub loops: Vec<LoopTimes>,
    /// svcard's loop times over the measured periods (after warm-up, without the show
    /// load).
    pub loops_kept: LoopTimes,
    /// Index in `lines` of the first line measured while the show load ran.
    pub load_from: Option<usize>,
    /// Index in `lines` of the first period with every session made (established traffic;
    /// the rate is taken from there on at the earliest): 0 where it does not apply.
    pub loaded_at: usize,
    /// The show walks run during the load.
    pub walks: Vec<Walk>,
    /// Frames received and not forwarded, from the exit summary.
    pub drops: Option<Drops>,
    /// The show-load command line.
    pub load_command: String,
    /// Whether it was pinned with taskset.
    pub load_pinned: bool,
}

/// One `svcard cli` run of the show-under-load scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Walk {
    /// Wall seconds the command took.
    pub seconds: f64,
    /// `Count: N lines` of its output, if it finished.
    pub lines: Option<u64>,
    /// Cut short at the end of the phase (still walking when the phase ended).
    pub cut: bool,
}

/// Frames in and out of svcard over a whole run (exit summary): what was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Drops {
    /// Frames the ports received (the workers' count where the summary has no port lines).
    pub rx: u64,
    /// Frames the ports transmitted, workers' and control core's queues together (the
    /// workers' count where the summary has no port lines).
    pub tx: u64,
    /// Frames the ports missed (RX ring full) or counted as RX/TX errors.
    pub port_losses: u64,
    /// Frames dropped by policy (no rule accepted them) or as malformed.
    pub policy_malformed: u64,
}

impl Drops {
    /// Frames received but not transmitted, plus port losses.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.rx.saturating_sub(self.tx) + self.port_losses
    }
}

impl SvcardRun {
    /// Session-table bytes per live session.
    #[must_use]
    pub fn bytes_per_session(&self) -> Option<f64> {
        match (self.table_bytes, self.sessions) {
            (Some(b), s) if s > 0 => Some(b as f64 / s as f64),
            _ => None,
        }
    }
}

/// The figures of one scale.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Distinct flows in the capture.
    pub flows: u32,
    /// Frame size in the capture, without FCS.
    pub size: usize,
    /// Seconds per phase.
    pub seconds: u64,
    /// Discarded periods.
    pub warmup: usize,
    /// `cpu MHz` of /proc/cpuinfo.
    pub cpu_mhz: Option<f64>,
    /// The memory both programs' EAL ran in.
    pub memory: EalMemory,
    /// The capture.
    pub capture: PathBuf,
    /// testpmd runs.
    pub baselines: Vec<BaselineRun>,
    /// The svcard run.
    pub svcard: SvcardRun,
    /// svcard / baseline ratio of every round, per baseline mode (same order as
    /// `baselines`). The `baselines` and `svcard` above are those of the median round of
    /// the first mode.
    pub round_ratios: Vec<Vec<f64>>,
    /// The scenario (`flows` for the plain `svcard bench`).
    pub scenario: String,
    /// The case within the scenario (`64 B`, `IMIX`, `udp churn`, …).
    pub case: String,
    /// Frame sizes of the capture.
    pub frame: FrameSize,
    /// How they are shown.
    pub frame_label: String,
    /// What the capture holds.
    pub capture_stats: CaptureStats,
    /// svcard's per-second rates after warm-up, every round (the histogram's input).
    pub svcard_intervals: Vec<f64>,
    /// svcard's busy loop times over the same periods, every round.
    pub svcard_loops: LoopTimes,
    /// The same for each baseline mode.
    pub baseline_intervals: Vec<Vec<f64>>,
    /// Connection setup figures (setup scenarios).
    pub setup: Option<SetupFigures>,
    /// Show-under-load figures.
    pub show_load: Option<ShowLoad>,
    /// The zero-loss search.
    pub zero_loss: Option<ZeroLoss>,
}

impl RunReport {
    /// Mean capture bytes per frame (the size for a fixed-size capture).
    #[must_use]
    pub fn mean_frame(&self) -> f64 {
        if self.capture_stats.frames > 0 {
            self.capture_stats.mean_len()
        } else {
            self.size as f64
        }
    }
    /// Wire Gbit/s of `pps` frames of this capture (FCS, preamble and gap included).
    #[must_use]
    pub fn gbps(&self, pps: f64) -> f64 {
        gbps_mean(pps, self.mean_frame())
    }
    /// HDR histogram of svcard's ns per packet over one-second intervals.
    #[must_use]
    pub fn svcard_histogram(&self) -> IntervalHistogram {
        IntervalHistogram::of(&self.svcard_intervals)
    }
}

/// Connection setup figures of a churn capture, from the `created` and `sessions` counters
/// of the rate lines.
#[derive(Debug, Clone, Default)]
pub struct SetupFigures {
    /// New sessions per second (per-second differences of `created`).
    pub new_per_s: Rate,
    /// The highest new sessions per second of any second, warm-up included (while the
    /// table fills every flow is new: the set-up rate even of a run that then only hits).
    pub peak_new_per_s: f64,
    /// Sessions ending per second (new minus the change of live sessions).
    pub closed_per_s: Rate,
    /// Sessions created per received frame after warm-up (1 = every frame made a session).
    pub new_per_frame: f64,
    /// Largest live-session count seen.
    pub peak_live: u64,
    /// The idle timeout (s) that turns the table over.
    pub timeout_s: u32,
    /// Seconds the source takes to come round the capture (frames / median rx rate): a
    /// flow is new again only if this is longer than the timeout.
    pub loop_s: f64,
    /// New sessions per frame if every flow of the capture were new each time round
    /// (flows / frames: 1 for UDP churn, 1/8 for TCP exchanges).
    pub expected_per_frame: f64,
}

impl SetupFigures {
    /// The figures of `lines` (cumulative `created`, live `sessions`) after `warmup`.
    #[must_use]
    pub fn of(lines: &[RateLine], warmup: usize, timeout_s: u32) -> Self {
        let mut new = Vec::new();
        let mut closed = Vec::new();
        let (mut made, mut rx) = (0.0, 0.0);
        let mut prev = (0.0, 0u64, 0u64);
        for (k, l) in lines.iter().enumerate() {
            let dt = l.t - prev.0;
            if dt > 0.0 {
                let n = l.created.saturating_sub(prev.1) as f64 / dt;
                let dl = (l.sessions as f64 - prev.2 as f64) / dt;
                new.push(n);
                closed.push((n - dl).max(0.0));
                if k >= warmup.min(lines.len().saturating_sub(1)) {
                    made += n * dt;
                    rx += l.rx_pps * dt;
                }
            }
            prev = (l.t, l.created, l.sessions);
        }
        Self {
            peak_new_per_s: new.iter().copied().fold(0.0, f64::max),
            new_per_s: Rate::of(&new, warmup),
            closed_per_s: Rate::of(&closed, warmup),
            new_per_frame: if rx > 0.0 { made / rx } else { 0.0 },
            peak_live: lines.iter().map(|l| l.sessions).max().unwrap_or(0),
            timeout_s,
            loop_s: f64::NAN,
            expected_per_frame: f64::NAN,
        }
    }
}

/// Forwarding while `show` walks the sessions, against forwarding without.
#[derive(Debug, Clone, Default)]
pub struct ShowLoad {
    /// The show command line (with `taskset` when pinned).
    pub command: String,
    /// Whether the cli was pinned to the control core.
    pub pinned: bool,
    /// Rate before the walks started (after warm-up).
    pub without: Rate,
    /// Rate while the walks ran.
    pub with: Rate,
    /// The walks.
    pub walks: Vec<Walk>,
}

impl ShowLoad {
    /// Rate with the walks / rate without.
    #[must_use]
    pub fn ratio(&self) -> Option<f64> {
        (self.without.median > 0.0 && self.with.periods > 0)
            .then(|| self.with.median / self.without.median)
    }
}

/// The RFC 2544 zero-loss search, or why it could not be made.
#[derive(Debug, Clone, Default)]
pub struct ZeroLoss {
    /// Whether the source's offered rate could be controlled.
    pub applicable: bool,
    /// Why not, or how it was made.
    pub reason: String,
    /// The highest offered rate without loss (pps), when applicable.
    pub rate_pps: Option<f64>,
    /// What the unthrottled source delivered (rx) and svcard forwarded, and the frames lost
    /// over the run.
    pub pull_rx_pps: f64,
    /// Forwarded packets per second at that rate.
    pub pull_tx_pps: f64,
    /// Frames lost over the unthrottled run (received and not forwarded, port losses).
    pub pull_lost: Option<u64>,
}

/// Everything a benchmark measured: reports, and notes about cases not run.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// One report per case.
    pub reports: Vec<RunReport>,
    /// Cases skipped, and why.
    pub notes: Vec<Note>,
}

/// A case the benchmark did not run.
#[derive(Debug, Clone)]
pub struct Note {
    /// The scenario.
    pub scenario: String,
    /// The case.
    pub case: String,
    /// Why.
    pub text: String,
}

/// Median, min and max of a non-empty list.
#[must_use]
pub fn median_min_max(v: &[f64]) -> (f64, f64, f64) {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    s.sort_by(f64::total_cmp);
    (s[(s.len() - 1) / 2], s[0], s[s.len() - 1])
}

/// Wire rate in Gbit/s of `pps` frames of `size` bytes (without FCS): FCS, preamble and
/// inter-frame gap included.
#[must_use]
pub fn gbps(pps: f64, size: usize) -> f64 {
    gbps_mean(pps, size as f64)
}

/// [`gbps`] for frames of `mean` capture bytes on average.
#[must_use]
pub fn gbps_mean(pps: f64, mean: f64) -> f64 {
    pps * (mean + 4.0 + 20.0) * 8.0 / 1e9
}

/// CPU cycles per packet of one core at `mhz`.
#[must_use]
pub fn cycles_per_packet(mhz: Option<f64>, pps: f64) -> Option<f64> {
    match mhz {
        Some(m) if pps > 0.0 => Some(m * 1e6 / pps),
        _ => None,
    }
}

/// A `rate:` line of `svcard run --rate`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RateLine {
    /// Seconds since the start.
    pub t: f64,
    /// Received packets per second.
    pub rx_pps: f64,
    /// Transmitted packets per second.
    pub tx_pps: f64,
    /// Live sessions.
    pub sessions: u64,
    /// Sessions created.
    pub created: u64,
}
