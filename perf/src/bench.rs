//! `svcard bench`: svcard against `dpdk-testpmd` on the same capture, the same cores, in the
//! same run.
//!
//! For each flow count N: write a capture of N distinct UDP flows, run `dpdk-testpmd`
//! (`net_pcap` with `infinite_rx=1` into `net_null,no-rx=1`) in each baseline forwarding
//! mode, then `svcard run --backend dpdk` on the same devices. Rates are the median of the
//! per-second figures after the warm-up periods. svcard's session summary is asked at
//! half time; its session-table size comes from its exit summary.
//!
//! With scenarios (`--scenario`, see [`crate::scenario`]) the same runner measures other
//! captures and configurations: session scales, IMIX, connection setup (UDP and TCP
//! churn), forwarding while show commands walk the table, an FTP (ALG) mix, and the
//! zero-loss search where the source allows it. Every svcard phase also gives an HDR
//! histogram of the time per packet of its one-second intervals ([`crate::hist`]).
//!
//! This is a program, not a test: it prints figures and never asserts on time. Every
//! process it starts is ended by its PID (SIGINT, then SIGTERM, then SIGKILL), also when a
//! phase fails.

use anyhow::{bail, Context as _, Result};
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::hist::IntervalHistogram;
use crate::hugepages::{EalMemory, Hugepages};
use crate::recipes::{CaptureStats, FrameSize};
use crate::scenario::Scenario;
use svcard_dataplane::stats::{self, Counter, Gauge, LocalStats, LoopTimes};

/// Per-second periods discarded at the start of each phase by default.
pub const DEFAULT_WARMUP: usize = 3;
/// The data room of DPDK's default mbuf pool (`Mempool::DEFAULT_DATA_ROOM`, what `svcard run`
/// uses where it does not honour `[dpdk] mbuf-data-room`): the EAL memory is sized for it
/// when svcard's pool does not fit in memory sized for small mbufs.
pub const LARGE_DATA_ROOM: u32 = 2176;
/// How long a process may take to start (EAL memory, loading the capture) before its first
/// figure.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a process may take to exit after SIGINT before SIGTERM / SIGKILL.
const EXIT_GRACE: Duration = Duration::from_secs(20);
/// Spare mbufs beyond the capture (which `infinite_rx` holds in the pool).
const SPARE_MBUFS: u32 = 65536;
/// The sink's port number (the second `--vdev`).
const SINK_PORT: u32 = 1;

/// The error when `dpdk-testpmd` cannot be started.
pub const TESTPMD_MISSING: &str = "dpdk-testpmd not found: install Debian's DPDK packages \
     (`apt-get install dpdk dpdk-dev`; bookworm ships dpdk-testpmd in dpdk-dev) or pass \
     --testpmd PATH";
/// The error when svcard has no DPDK backend.
pub const NO_DPDK: &str = "this svcard was built without DPDK: build it with \
     `cargo build --release --features dpdk` and run target/release/svcard bench";

/// A `dpdk-testpmd` forwarding mode used as the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `io`: forwards without touching the packets.
    Io,
    /// `5tswap`: swaps L2-L4 source and destination (reads and writes the headers).
    FiveTupleSwap,
}

impl Mode {
    /// The testpmd name of the mode.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Io => "io",
            Self::FiveTupleSwap => "5tswap",
        }
    }
    /// Parses `io` or `5tswap`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "io" => Some(Self::Io),
            "5tswap" => Some(Self::FiveTupleSwap),
            _ => None,
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Flow counts (one scale each).
    pub flows: Vec<u32>,
    /// Frame size in the capture, without FCS (60 = the 64-byte frame).
    pub size: usize,
    /// Seconds each phase forwards.
    pub seconds: u64,
    /// Baseline modes, run in this order before svcard.
    pub baselines: Vec<Mode>,
    /// Keep captures, configurations and logs in this directory (else a temporary one,
    /// removed at the end).
    pub keep: Option<PathBuf>,
    /// The svcard executable.
    pub svcard: PathBuf,
    /// The testpmd executable.
    pub testpmd: PathBuf,
    /// Per-second periods discarded at the start of each phase.
    pub warmup: usize,
    /// Rounds per scale: each runs the baselines, svcard, and the baselines again, back to
    /// back, and takes each baseline's rate over both its runs, so a host whose speed
    /// drifts is compared with itself; the ratio reported is the median of the per-round
    /// ratios.
    pub rounds: usize,
    /// Set (by a signal handler) to end the benchmark early: the processes it started are
    /// ended and the work directory removed.
    pub interrupted: Arc<AtomicBool>,
    /// Scenarios to run, in order; empty: the plain benchmark over `flows` and `size`.
    pub scenarios: Vec<Scenario>,
    /// Session counts that replace the scenarios' own (each scenario takes the list, or its
    /// first value where it runs one count).
    pub flows_override: Vec<u32>,
    /// Pin `svcard cli` (show-under-load) to this core with `taskset` (the control core).
    pub cli_core: u32,
    /// Passes over the flows in the plain run's capture (1 to
    /// [`MAX_PASSES`](crate::recipes::MAX_PASSES)): the first in the order the sessions are
    /// made, each later one in another order ([`udp_flows_passes`](crate::recipes::udp_flows_passes)).
    pub passes: u32,
    /// Hugepages or 4 KiB pages for the DPDK programs ([`crate::hugepages`]).
    pub hugepages: Hugepages,
}

impl Options {
    pub(crate) fn check_interrupted(&self) -> Result<()> {
        if self.interrupted.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        Ok(())
    }
}

/// Finds `prog` (a path, or a name on PATH).
pub(crate) fn find_program(prog: &Path) -> Option<PathBuf> {
    if prog.components().count() > 1 {
        return prog.is_file().then(|| prog.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

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
    /// Figures over `samples` without the first `warmup` (at least one period is kept).
    #[must_use]
    pub fn of(samples: &[f64], warmup: usize) -> Self {
        let skip = warmup.min(samples.len().saturating_sub(1));
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

/// Frames in and out, from svcard's exit summary (`worker N: rx_packets=A tx_packets=B …`,
/// the registry's fields, and `<port>: rx X tx Y missed M rx errors E tx errors O`).
#[must_use]
pub fn parse_drops(lines: &[String]) -> Option<Drops> {
    fn after(l: &str, key: &str) -> Option<u64> {
        let i = l.find(key)?;
        l[i + key.len()..].split([' ', ',']).next()?.parse().ok()
    }
    let mut d = Drops::default();
    let (mut any, mut ports) = (false, (0u64, 0u64, false));
    for l in lines {
        if let Some(w) = worker_fields(l) {
            d.rx += w.get(Counter::RxPackets);
            d.tx += w.get(Counter::TxPackets);
            d.policy_malformed += w.get(Counter::PolicyDropped) + w.get(Counter::Malformed);
            any = true;
        } else if l.contains(" missed ") {
            ports.0 += after(l, ": rx ").unwrap_or(0);
            ports.1 += after(l, " tx ").unwrap_or(0);
            ports.2 = true;
            d.port_losses += after(l, " missed ").unwrap_or(0)
                + after(l, " rx errors ").unwrap_or(0)
                + after(l, " tx errors ").unwrap_or(0);
        }
    }
    if ports.2 {
        (d.rx, d.tx) = (ports.0, ports.1);
    }
    any.then_some(d)
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

/// The `cpu MHz` of the first processor in /proc/cpuinfo.
#[must_use]
pub fn cpu_mhz() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    s.lines()
        .filter(|l| l.starts_with("cpu MHz"))
        .find_map(|l| l.split(':').nth(1)?.trim().parse().ok())
}

/// The mbuf data room for frames of `size` bytes: headroom (128) plus the frame and FCS,
/// at least 256.
#[must_use]
pub fn mbuf_data_room(size: usize) -> u32 {
    let need = 128 + size as u32 + 4;
    need.div_ceil(64).max(4) * 64
}

/// Bytes an mbuf takes in a pool without hugepages: the object (mbuf header 128 B, data
/// room, mempool header and trailer about 64 B) does not cross a 4 KiB page, so a page holds
/// a whole number of them (one 2176-byte mbuf per page, nine 256-byte ones).
#[must_use]
pub fn mbuf_footprint(data_room: u32) -> u64 {
    const PAGE: u64 = 4096;
    let obj = u64::from(data_room) + 128 + 64;
    if obj <= PAGE {
        PAGE / (PAGE / obj)
    } else {
        obj.div_ceil(PAGE) * PAGE
    }
}

/// EAL memory (-m, MB) for a pool of `mbufs` mbufs of `data_room` bytes plus 512 MB for
/// the rest (rings, ports, the capture's ring with `infinite_rx`).
#[must_use]
pub fn eal_memory_mb(mbufs: u32, data_room: u32) -> u64 {
    512 + (u64::from(mbufs) * mbuf_footprint(data_room) * 21 / 20).div_ceil(1 << 20)
}

/// Reads testpmd's periodic NIC statistics, line by line.
#[derive(Debug, Default)]
pub struct TestpmdParser {
    port: Option<u32>,
    sink: u32,
}

impl TestpmdParser {
    /// A parser of the Tx-pps of port `sink`.
    #[must_use]
    pub fn new(sink: u32) -> Self {
        Self { port: None, sink }
    }
    /// Feeds one line; returns the sink's Tx-pps at the end of its block.
    pub fn line(&mut self, l: &str) -> Option<f64> {
        if let Some(i) = l.find("NIC statistics for port ") {
            let rest = &l[i + "NIC statistics for port ".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            self.port = digits.parse().ok();
            return None;
        }
        let t = l.trim_start();
        if t.starts_with("####") {
            self.port = None;
            return None;
        }
        if let Some(rest) = t.strip_prefix("Tx-pps:") {
            if self.port == Some(self.sink) {
                return rest.split_whitespace().next()?.parse().ok();
            }
        }
        None
    }
}

/// A `rate:` line of `svcard run --rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// Parses `rate: t=3.000 rx_pps=5620910 tx_pps=5620910 rx_packets=… sessions=100000
/// sessions_created=100000 …` (the registry's fields after the two rates).
#[must_use]
pub fn parse_rate_line(l: &str) -> Option<RateLine> {
    let rest = l.trim().strip_prefix("rate:")?;
    let mut r = RateLine {
        t: f64::NAN,
        rx_pps: f64::NAN,
        tx_pps: f64::NAN,
        sessions: 0,
        created: 0,
    };
    for kv in rest.split_whitespace() {
        let (k, v) = kv.split_once('=')?;
        match k {
            "t" => r.t = v.parse().ok()?,
            "rx_pps" => r.rx_pps = v.parse().ok()?,
            "tx_pps" => r.tx_pps = v.parse().ok()?,
            _ => {}
        }
    }
    let fields = stats::parse_fields(rest);
    r.sessions = fields.gauge(Gauge::Sessions);
    r.created = fields.get(Counter::SessionsCreated);
    (!r.t.is_nan() && !r.tx_pps.is_nan()).then_some(r)
}

/// The registry's figures of one worker line of svcard's exit summary
/// (`worker N: name=value …`), or `None` for another line.
#[must_use]
pub fn worker_fields(l: &str) -> Option<LocalStats> {
    let rest = l.strip_prefix("worker ")?;
    let (n, fields) = rest.split_once(": ")?;
    n.parse::<u16>().ok()?;
    Some(stats::parse_fields(fields))
}

/// Every registered figure summed over the worker lines of svcard's exit summary, or
/// `None` when it has none.
#[must_use]
pub fn parse_worker_totals(lines: &[String]) -> Option<LocalStats> {
    let mut total: Option<LocalStats> = None;
    for w in lines.iter().filter_map(|l| worker_fields(l)) {
        total.get_or_insert_with(LocalStats::default).merge(&w);
    }
    total
}

/// `Unicast-sessions` and `Maximum-sessions` of `show security flow session summary`,
/// summed over the workers' sections.
#[must_use]
pub fn parse_session_summary(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let v: Vec<u64> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix(name)?.trim().parse().ok())
            .collect();
        (!v.is_empty()).then(|| v.iter().sum())
    };
    Some((field("Unicast-sessions:")?, field("Maximum-sessions:")?))
}

/// Session-table bytes of svcard's exit summary (the workers' `table_bytes`), summed.
#[must_use]
pub fn parse_table_bytes(lines: &[String]) -> Option<u64> {
    parse_worker_totals(lines).map(|t| t.gauge(Gauge::TableBytes))
}

/// How svcard is configured beyond the common benchmark setup.
#[derive(Debug, Clone)]
pub struct SvcardSetup {
    /// `[timeouts]` entries (key, seconds).
    pub timeouts: Vec<(&'static str, u32)>,
    /// `[[service-set.rule]]` tables tried before the default accept (TOML).
    pub rules: String,
    /// `[limits] max-sessions`.
    pub max_sessions: u32,
    /// What the capture holds, for the configuration's first line.
    pub what: String,
}

impl SvcardSetup {
    /// Accept-all, UDP idle timeout an hour (nothing expires during a run), room for
    /// `flows` sessions.
    #[must_use]
    pub fn established(flows: u32, what: String) -> Self {
        Self {
            timeouts: vec![("udp", 3600)],
            rules: String::new(),
            max_sessions: flows.max(1024),
            what,
        }
    }
}

/// svcard's configuration for the benchmark: one worker, the capture on a `net_pcap`
/// looping from memory, the sink on `net_null`, one accept-all service set.
#[must_use]
pub fn svcard_config(
    capture: &Path,
    flows: u32,
    eal_mb: u64,
    prefix: &str,
    data_room: u32,
) -> String {
    svcard_config_for(
        capture,
        flows,
        eal_mb,
        prefix,
        data_room,
        &SvcardSetup::established(flows, format!("{flows} UDP flows")),
        EalMemory::NoHuge,
    )
}

/// [`svcard_config`] for a capture of `frames` frames (all held in the pool by
/// `infinite_rx`), set up as `setup` says, its EAL on `memory`.
#[must_use]
pub fn svcard_config_for(
    capture: &Path,
    frames: u32,
    eal_mb: u64,
    prefix: &str,
    data_room: u32,
    setup: &SvcardSetup,
    memory: EalMemory,
) -> String {
    let pages = memory.eal_flag();
    let mbufs = frames.saturating_add(SPARE_MBUFS);
    let cap = capture.display();
    let what = &setup.what;
    let max_sessions = setup.max_sessions;
    let rules = &setup.rules;
    let timeouts: String = setup
        .timeouts
        .iter()
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
    format!(
        r#"# svcard bench: {what} replayed from memory into a counting sink.
[workers]
count = 1
[dpdk]
eal-args = ["{pages}", "-m", "{eal_mb}", "--no-pci", "--no-shconf", "--no-telemetry", "--file-prefix", "{prefix}", "-l", "0-1", "--log-level=lib.eal:error"]
mbufs = {mbufs}
mbuf-cache = 256
mbuf-data-room = {data_room}
[[port]]
name = "ge-0/0/0.0"
dpdk = "net_pcap0,rx_pcap={cap},infinite_rx=1"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
dpdk = "net_null0,no-rx=1"
peer = "ge-0/0/0.0"
[[service-set]]
name = "bench"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
{rules}[timeouts]
{timeouts}[limits]
max-sessions = {max_sessions}
"#
    )
}

/// The testpmd arguments (without the program), its EAL on `memory`.
#[must_use]
pub fn testpmd_args(
    capture: &Path,
    frames: u32,
    size: usize,
    mode: Mode,
    prefix: &str,
    memory: EalMemory,
) -> Vec<String> {
    let mbufs = frames.saturating_add(SPARE_MBUFS);
    let room = mbuf_data_room(size);
    vec![
        memory.eal_flag().into(),
        "-m".into(),
        eal_memory_mb(mbufs, room).to_string(),
        "--no-pci".into(),
        "--no-shconf".into(),
        "--no-telemetry".into(),
        "--file-prefix".into(),
        prefix.into(),
        "-l".into(),
        "0-1".into(),
        format!(
            "--vdev=net_pcap0,rx_pcap={},infinite_rx=1",
            capture.display()
        ),
        "--vdev=net_null0,no-rx=1".into(),
        "--".into(),
        format!("--forward-mode={}", mode.name()),
        format!("--mbuf-size={room}"),
        format!("--total-num-mbufs={mbufs}"),
        "--stats-period=1".into(),
        "--nb-cores=1".into(),
    ]
}

fn command_line(prog: &Path, args: &[String]) -> String {
    let q = |s: &str| {
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c))
        {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let mut v = vec![q(&prog.display().to_string())];
    v.extend(args.iter().map(|a| q(a)));
    v.join(" ")
}

fn unique_prefix() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "svbench{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A process the benchmark started: ended by its PID on drop (SIGINT, SIGTERM, SIGKILL).
#[derive(Debug)]
struct Proc {
    child: Child,
    name: String,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
    /// Still running (not yet reaped, so the PID is still ours).
    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
    fn signal(&mut self, sig: &str) {
        if self.running() {
            let _ = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(self.pid().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    fn wait_for(&mut self, d: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + d;
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => return Some(s),
                Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
                _ => return None,
            }
        }
    }
    /// Ends the process: SIGINT, then SIGTERM, then SIGKILL.
    fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Ok(Some(s)) = self.child.try_wait() {
            return Some(s);
        }
        for sig in ["INT", "TERM"] {
            self.signal(sig);
            if let Some(s) = self.wait_for(grace) {
                return Some(s);
            }
        }
        eprintln!(
            "svcard bench: {} (pid {}) did not exit: SIGKILL",
            self.name,
            self.pid()
        );
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// The work directory: removed on drop unless kept.
#[derive(Debug)]
pub(crate) struct WorkDir {
    pub(crate) path: PathBuf,
    pub(crate) keep: bool,
}

impl WorkDir {
    pub(crate) fn new(keep: Option<&Path>) -> Result<Self> {
        let (path, keep) = match keep {
            Some(p) => (p.to_path_buf(), true),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                (
                    std::env::temp_dir()
                        .join(format!("svcard-bench-{}-{nanos:x}", std::process::id())),
                    false,
                )
            }
        };
        std::fs::create_dir_all(&path).with_context(|| path.display().to_string())?;
        Ok(Self { path, keep })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Progress on stderr: one line rewritten in place on a terminal, else one line a second.
#[derive(Debug)]
pub(crate) struct Progress {
    tty: bool,
    open: bool,
}

impl Progress {
    pub(crate) fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            open: false,
        }
    }
    pub(crate) fn show(&mut self, text: &str) {
        if self.tty {
            eprint!("\r\x1b[K{text}");
            self.open = true;
        } else {
            eprintln!("{text}");
        }
    }
    pub(crate) fn end(&mut self) {
        if self.open {
            eprintln!();
            self.open = false;
        }
    }
}

/// Reads a child's stdout on a thread, one line at a time.
fn line_reader(child: &mut Child) -> Result<mpsc::Receiver<String>> {
    let out = child.stdout.take().context("child stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("bench-reader".into())
        .spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let l = String::from_utf8_lossy(&buf).trim_end().to_string();
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                }
            }
        })
        .context("starting a reader thread")?;
    Ok(rx)
}

/// The last lines of a log file.
fn tail(path: &Path, n: usize) -> String {
    let mut s = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn mem_available_mb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    Some(crate::hugepages::meminfo_field(&s, "MemAvailable")? / 1024)
}

/// On 4 KiB pages, that the EAL's `mb` fit in the available memory (hugepages were counted
/// when they were chosen).
fn check_memory(mb: u64, memory: EalMemory, what: &str) -> Result<()> {
    if memory != EalMemory::NoHuge {
        return Ok(());
    }
    if let Some(avail) = mem_available_mb() {
        if mb > avail {
            bail!("{what} needs about {mb} MB of EAL memory (-m) but only {avail} MB is available: use fewer --flows");
        }
    }
    Ok(())
}

fn rss_bytes(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = l.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// One thing to measure: a capture, how svcard is set up for it, what runs alongside.
#[derive(Debug, Clone)]
pub struct Case {
    /// The scenario (`flows` for the plain benchmark).
    pub scenario: String,
    /// The case within the scenario.
    pub case: String,
    /// Distinct flows (sessions) the capture makes.
    pub flows: u32,
    /// The capture.
    pub capture: PathBuf,
    /// What it holds.
    pub stats: CaptureStats,
    /// Its frame sizes.
    pub frame: FrameSize,
    /// How its frame sizes are shown (`64 B`, `IMIX`, `mixed, mean 108 B`).
    pub frame_label: String,
    /// svcard's set-up.
    pub setup: SvcardSetup,
    /// Whether the testpmd baselines run too.
    pub baselines: bool,
    /// Rounds (baselines, svcard, baselines again, back to back).
    pub rounds: usize,
    /// Seconds each phase forwards (show-under-load: each half).
    pub seconds: u64,
    /// Show-under-load: this show command walks the sessions in a loop during the second
    /// half of the svcard phase.
    pub show_load: Option<String>,
    /// Zero-loss scenario: report the search (or why it cannot be made).
    pub zero_loss: bool,
    /// Setup scenarios: the idle timeout (s) that turns the table over; the report gets
    /// [`SetupFigures`].
    pub churn_timeout: Option<u32>,
}

impl Case {
    fn label(&self) -> String {
        format!("[{} {}]", self.scenario, self.case)
    }
    fn slug(&self) -> String {
        format!("{}-{}", self.scenario, self.case)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    }
    fn frames(&self) -> u32 {
        u32::try_from(self.stats.frames).unwrap_or(u32::MAX)
    }
}

/// MB of memory svcard needs for `case`: its EAL memory (`-m`, the pool that holds the
/// capture) plus about `table_bytes_per_session` per session.
#[must_use]
pub fn svcard_memory_mb(
    frames: u32,
    max_len: usize,
    sessions: u32,
    table_bytes_per_session: u64,
) -> u64 {
    eal_memory_mb(frames.saturating_add(SPARE_MBUFS), mbuf_data_room(max_len))
        + (u64::from(sessions) * table_bytes_per_session).div_ceil(1 << 20)
}

/// MB of memory the kernel says is available (`MemAvailable`).
#[must_use]
pub fn mem_available() -> Option<u64> {
    mem_available_mb()
}

/// Runs every scale (or the scenarios of `opts`); each finished case is pushed to
/// `results` (so that a failure later still leaves the figures already taken).
///
/// # Errors
/// A process that cannot be started, fails or prints no figures; I/O errors.
pub fn run(opts: &Options, results: &mut Results) -> Result<()> {
    if !opts.scenarios.is_empty() {
        return crate::scenario::run_all(opts, results);
    }
    if !opts.baselines.is_empty() && find_program(&opts.testpmd).is_none() {
        bail!("{TESTPMD_MISSING}");
    }
    let dir = WorkDir::new(opts.keep.as_deref())?;
    let mut progress = Progress::new();
    let passes = opts.passes.clamp(1, crate::recipes::MAX_PASSES);
    let (file_tag, name_tag) = if passes == 1 {
        (String::new(), String::new())
    } else {
        (format!("-{passes}-passes"), format!(", {passes} passes"))
    };
    for &n in &opts.flows {
        let cap = dir
            .path
            .join(format!("udp-{n}-{}{file_tag}.pcap", opts.size));
        let name = format!("{n} flows{name_tag}");
        progress.show(&format!("[capture {name}] writing {}", cap.display()));
        let recs = crate::recipes::udp_flows_passes(n, opts.size, passes);
        crate::write_pcap(&cap, &recs).with_context(|| cap.display().to_string())?;
        drop(recs);
        progress.end();
        let frames = u64::from(n) * u64::from(passes);
        let case = Case {
            scenario: "flows".into(),
            case: name,
            flows: n,
            capture: cap.clone(),
            stats: CaptureStats {
                frames,
                client_frames: frames,
                bytes: frames * opts.size as u64,
                max_len: opts.size,
            },
            frame: FrameSize::Fixed(opts.size),
            frame_label: FrameSize::Fixed(opts.size).label(),
            setup: SvcardSetup::established(n, format!("{n} UDP flows")),
            baselines: true,
            rounds: opts.rounds,
            seconds: opts.seconds,
            show_load: None,
            zero_loss: false,
            churn_timeout: None,
        };
        results
            .reports
            .push(run_case(opts, &dir.path, &case, &mut progress)?);
        if !dir.keep {
            let _ = std::fs::remove_file(&cap);
        }
    }
    Ok(())
}

/// Runs one case: its rounds of baselines then svcard, and the figures of the median
/// round.
pub(crate) fn run_case(
    opts: &Options,
    dir: &Path,
    case: &Case,
    progress: &mut Progress,
) -> Result<RunReport> {
    let modes: &[Mode] = if case.baselines { &opts.baselines } else { &[] };
    let room = mbuf_data_room(case.stats.max_len);
    // svcard's and testpmd's pools are the same size: one choice for both, every round.
    let need = eal_memory_mb(case.frames().saturating_add(SPARE_MBUFS), room);
    let memory =
        crate::hugepages::choose(opts.hugepages, crate::hugepages::Supply::of_machine(), need)
            .map_err(anyhow::Error::msg)?;
    let nrounds = case.rounds.max(1);
    let mut rounds: Vec<(Vec<BaselineRun>, SvcardRun)> = Vec::new();
    for round in 0..nrounds {
        if nrounds > 1 {
            progress.end();
            eprintln!(
                "svcard bench: {}, round {} of {nrounds}",
                case.label(),
                round + 1
            );
        }
        let mut baselines = Vec::new();
        for &mode in modes {
            opts.check_interrupted()?;
            baselines.push(run_testpmd(opts, dir, case, mode, memory, "", progress)?);
        }
        opts.check_interrupted()?;
        let svcard = match run_svcard(opts, dir, case, room, memory, progress) {
            Ok(r) => r,
            Err(e)
                if format!("{e:#}").contains("creating the mbuf pool")
                    && room < LARGE_DATA_ROOM =>
            {
                eprintln!(
                    "svcard bench: svcard could not create its mbuf pool in the EAL memory sized for {room}-byte mbufs: \
                     again with memory for {LARGE_DATA_ROOM}-byte mbufs"
                );
                run_svcard(opts, dir, case, LARGE_DATA_ROOM, memory, progress)?
            }
            Err(e) => return Err(e),
        };
        // The baselines again: each is taken over its runs on both sides of svcard's.
        for (b, &mode) in baselines.iter_mut().zip(modes) {
            opts.check_interrupted()?;
            let after = run_testpmd(opts, dir, case, mode, memory, "-after", progress)?;
            *b = BaselineRun::around(b, &after);
        }
        rounds.push((baselines, svcard));
    }
    let ratio = |b: &BaselineRun, s: &SvcardRun| {
        if b.rate.median > 0.0 {
            s.rate.median / b.rate.median
        } else {
            f64::NAN
        }
    };
    let round_ratios: Vec<Vec<f64>> = (0..modes.len())
        .map(|i| rounds.iter().map(|(b, s)| ratio(&b[i], s)).collect())
        .collect();
    let svcard_intervals: Vec<f64> = rounds
        .iter()
        .flat_map(|(_, s)| s.rate.kept().to_vec())
        .collect();
    let mut svcard_loops = LoopTimes::default();
    for (_, s) in &rounds {
        svcard_loops.merge(&s.loops_kept);
    }
    let baseline_intervals: Vec<Vec<f64>> = (0..modes.len())
        .map(|i| {
            rounds
                .iter()
                .flat_map(|(b, _)| b[i].rate.kept().to_vec())
                .collect()
        })
        .collect();
    // Report the round whose first-mode ratio is the median.
    let pick = round_ratios.first().map_or(0, |r| {
        let (med, _, _) = median_min_max(r);
        r.iter().position(|x| *x == med).unwrap_or(0)
    });
    let (baselines, svcard) = rounds.swap_remove(pick);
    let setup = case.churn_timeout.map(|t| {
        let mut f = SetupFigures::of(&svcard.lines, opts.warmup, t);
        let rx: Vec<f64> = svcard.lines.iter().map(|l| l.rx_pps).collect();
        let r = Rate::of(&rx, opts.warmup).median;
        if r > 0.0 {
            f.loop_s = case.stats.frames as f64 / r;
        }
        if case.stats.frames > 0 {
            f.expected_per_frame = f64::from(case.flows) / case.stats.frames as f64;
        }
        f
    });
    let show_load = case.show_load.as_ref().map(|_| {
        let from = svcard.load_from.unwrap_or(svcard.lines.len());
        let tx: Vec<f64> = svcard.lines.iter().map(|l| l.tx_pps).collect();
        ShowLoad {
            command: svcard.load_command.clone(),
            pinned: svcard.load_pinned,
            without: Rate::of(&tx[..from], opts.warmup),
            with: Rate::of(&tx[from..], 0),
            walks: svcard.walks.clone(),
        }
    });
    let zero_loss = case.zero_loss.then(|| {
        let rx: Vec<f64> = svcard.lines.iter().map(|l| l.rx_pps).collect();
        ZeroLoss {
            applicable: false,
            reason: crate::scenario::ZERO_LOSS_NOT_APPLICABLE.into(),
            rate_pps: None,
            pull_rx_pps: Rate::of(&rx, opts.warmup).median,
            pull_tx_pps: svcard.rate.median,
            pull_lost: svcard.drops.map(|d| d.total()),
        }
    });
    Ok(RunReport {
        flows: case.flows,
        size: case.frame.max_len(),
        seconds: case.seconds,
        warmup: opts.warmup,
        cpu_mhz: cpu_mhz(),
        memory,
        capture: case.capture.clone(),
        baselines,
        svcard,
        round_ratios,
        scenario: case.scenario.clone(),
        case: case.case.clone(),
        frame: case.frame,
        frame_label: case.frame_label.clone(),
        capture_stats: case.stats,
        svcard_intervals,
        svcard_loops,
        baseline_intervals,
        setup,
        show_load,
        zero_loss,
    })
}

fn run_testpmd(
    opts: &Options,
    dir: &Path,
    case: &Case,
    mode: Mode,
    memory: EalMemory,
    // Appended to the log's name: the run after svcard's keeps its own log.
    log_suffix: &str,
    progress: &mut Progress,
) -> Result<BaselineRun> {
    let label = format!("[testpmd {} {} {}]", mode.name(), case.scenario, case.case);
    let frames = case.frames();
    let size = case.stats.max_len;
    let args = testpmd_args(&case.capture, frames, size, mode, &unique_prefix(), memory);
    let mb = eal_memory_mb(frames.saturating_add(SPARE_MBUFS), mbuf_data_room(size));
    check_memory(mb, memory, "dpdk-testpmd")?;
    let command = command_line(&opts.testpmd, &args);
    let log = dir.join(format!(
        "testpmd-{}-{}{log_suffix}.log",
        mode.name(),
        case.slug()
    ));
    let errf = std::fs::File::create(&log).with_context(|| log.display().to_string())?;
    let child = Command::new(&opts.testpmd)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(errf)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("{TESTPMD_MISSING}"),
        Err(e) => return Err(e).with_context(|| opts.testpmd.display().to_string()),
    };
    let rx = line_reader(&mut child)?;
    let mut p = Proc {
        child,
        name: "dpdk-testpmd".into(),
    };
    progress.show(&format!("{label} starting"));
    let mut parser = TestpmdParser::new(SINK_PORT);
    let mut samples = Vec::new();
    // The first block has no previous one to measure against (testpmd shows 0): it starts
    // the clock; then one sample a second until `seconds` of them.
    let mut first: Option<Instant> = None;
    let started = Instant::now();
    let want = usize::try_from(case.seconds).unwrap_or(usize::MAX);
    while samples.len() < want {
        let deadline = first.map_or(started + STARTUP_TIMEOUT, |f| {
            f + Duration::from_secs(case.seconds + 5)
        });
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            if first.is_none() {
                progress.end();
                bail!(
                    "dpdk-testpmd printed no statistics in {} s; its log ({}):\n{}",
                    STARTUP_TIMEOUT.as_secs(),
                    log.display(),
                    tail(&log, 15)
                );
            }
            break;
        }
        opts.check_interrupted()?;
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => {
                if let Some(pps) = parser.line(&line) {
                    if first.is_none() {
                        first = Some(Instant::now());
                        progress.show(&format!("{label} forwarding"));
                    } else {
                        samples.push(pps);
                        progress.show(&format!(
                            "{label} t={}s {:.2} Mpps",
                            samples.len(),
                            pps / 1e6
                        ));
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                progress.end();
                let st = p.stop(EXIT_GRACE);
                opts.check_interrupted()?;
                bail!(
                    "dpdk-testpmd ended early ({}); its log ({}):\n{}",
                    st.map_or_else(|| "unknown status".into(), |s| s.to_string()),
                    log.display(),
                    tail(&log, 15)
                );
            }
        }
    }
    progress.end();
    let _ = p.stop(EXIT_GRACE);
    let rate = Rate::of(&samples, opts.warmup);
    Ok(BaselineRun {
        mode,
        command,
        rate,
    })
}

/// The `svcard cli` command line of the show load: `taskset -c CORE svcard cli …` when
/// taskset exists (so the kernel keeps the cli off the worker's core), else without.
fn show_load_command(opts: &Options, socket: &Path, show: &str) -> (PathBuf, Vec<String>, bool) {
    let cli = vec![
        "cli".to_string(),
        "--socket".into(),
        socket.display().to_string(),
        "-c".into(),
        show.to_string(),
    ];
    match find_program(Path::new("taskset")) {
        Some(ts) => {
            let mut a = vec![
                "-c".to_string(),
                opts.cli_core.to_string(),
                opts.svcard.display().to_string(),
            ];
            a.extend(cli);
            (ts, a, true)
        }
        None => (opts.svcard.clone(), cli, false),
    }
}

fn run_svcard(
    opts: &Options,
    dir: &Path,
    case: &Case,
    pool_room: u32,
    memory: EalMemory,
    progress: &mut Progress,
) -> Result<SvcardRun> {
    let label = format!("[svcard {} {}]", case.scenario, case.case);
    let frames = case.frames();
    let mb = eal_memory_mb(frames.saturating_add(SPARE_MBUFS), pool_room);
    check_memory(mb, memory, "svcard")?;
    let config = svcard_config_for(
        &case.capture,
        frames,
        mb,
        &unique_prefix(),
        mbuf_data_room(case.stats.max_len),
        &case.setup,
        memory,
    );
    let cfg_path = dir.join(format!("svcard-{}.toml", case.slug()));
    std::fs::write(&cfg_path, &config).with_context(|| cfg_path.display().to_string())?;
    let mut socket = dir.join("bench.sock");
    if socket.as_os_str().len() > 100 {
        socket = std::env::temp_dir().join(format!("svcard-bench-{}.sock", std::process::id()));
    }
    // Show-under-load runs twice as long: the first half without the walks, the second
    // half with them.
    let seconds = if case.show_load.is_some() {
        case.seconds * 2
    } else {
        case.seconds
    };
    let args: Vec<String> = vec![
        "run".into(),
        "--backend".into(),
        "dpdk".into(),
        "--config".into(),
        cfg_path.display().to_string(),
        // Half a second more than the periods wanted, so that the last rate line (at
        // t = seconds) is printed before svcard stops.
        "--duration".into(),
        format!("{seconds}.5"),
        "--rate".into(),
        "--socket".into(),
        socket.display().to_string(),
    ];
    let summary_args: Vec<String> = vec![
        "cli".into(),
        "--socket".into(),
        socket.display().to_string(),
        "-c".into(),
        "show security flow session summary".into(),
    ];
    let log = dir.join(format!("svcard-{}.log", case.slug()));
    let errf = std::fs::File::create(&log).with_context(|| log.display().to_string())?;
    let mut child = Command::new(&opts.svcard)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(errf)
        .spawn()
        .with_context(|| opts.svcard.display().to_string())?;
    let rx = line_reader(&mut child)?;
    let mut p = Proc {
        child,
        name: "svcard".into(),
    };
    progress.show(&format!("{label} starting"));
    let mut run = SvcardRun {
        command: command_line(&opts.svcard, &args),
        config,
        summary_command: command_line(&opts.svcard, &summary_args),
        eal_mb: mb,
        ..SvcardRun::default()
    };
    let mut loader: Option<ShowLoader> = None;
    let mut asked = false;
    let deadline = Instant::now() + STARTUP_TIMEOUT + Duration::from_secs(seconds);
    let half = case.seconds as f64 / 2.0;
    let want = usize::try_from(seconds).unwrap_or(usize::MAX);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            progress.end();
            bail!(
                "svcard did not finish in {} s; its log ({}):\n{}",
                (STARTUP_TIMEOUT.as_secs() + seconds),
                log.display(),
                tail(&log, 15)
            );
        }
        opts.check_interrupted()?;
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => {
                if let Some(rest) = line.trim().strip_prefix("loops:") {
                    if run.loops.len() < run.lines.len() {
                        if let Some(l) = LoopTimes::from_fields(rest) {
                            run.loops.push(l);
                        }
                    }
                    continue;
                }
                if let Some(r) = parse_rate_line(&line) {
                    if run.lines.len() >= want {
                        continue;
                    }
                    let prev = run.lines.last().copied();
                    run.lines.push(r);
                    let mut text = format!(
                        "{label} t={:.0}s {:.2} Mpps, {} sessions",
                        r.t,
                        r.tx_pps / 1e6,
                        r.sessions
                    );
                    if case.churn_timeout.is_some() {
                        let (t0, c0) = prev.map_or((0.0, 0), |p| (p.t, p.created));
                        if r.t > t0 {
                            let _ = write!(
                                text,
                                ", {:.0}k new/s",
                                r.created.saturating_sub(c0) as f64 / (r.t - t0) / 1e3
                            );
                        }
                    }
                    if let Some(l) = &loader {
                        let _ = write!(text, ", show walks done: {}", l.done());
                    }
                    progress.show(&text);
                    if !asked && r.t >= half {
                        asked = true;
                        run.rss_bytes = rss_bytes(p.pid());
                        match ask(&opts.svcard, &summary_args) {
                            Ok(text) => {
                                if let Some((u, m)) = parse_session_summary(&text) {
                                    run.sessions = u;
                                    run.max_sessions = Some(m);
                                }
                            }
                            Err(e) => {
                                progress.end();
                                eprintln!("svcard bench: session summary: {e:#}");
                            }
                        }
                    }
                    if run.lines.len() >= want {
                        // The last period wanted: stop the walks before svcard stops (a
                        // walk cut short by its exit would count as a short one).
                        if let Some(l) = loader.take() {
                            run.walks = l.finish();
                        }
                    } else if let Some(show) = &case.show_load {
                        if loader.is_none()
                            && run.load_from.is_none()
                            && r.t >= case.seconds as f64 - 0.5
                        {
                            let (prog, a, pinned) = show_load_command(opts, &socket, show);
                            run.load_command = command_line(&prog, &a);
                            run.load_pinned = pinned;
                            run.load_from = Some(run.lines.len());
                            loader = Some(ShowLoader::start(prog, a)?);
                        }
                    }
                } else if !line.trim().is_empty() {
                    run.exit_summary.push(line);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    progress.end();
    if let Some(l) = loader.take() {
        run.walks = l.finish();
    }
    // A walk that failed because svcard was stopping is not a walk.
    while run
        .walks
        .last()
        .is_some_and(|w| w.lines.is_none() && !w.cut)
    {
        run.walks.pop();
    }
    let status = p.wait_for(EXIT_GRACE).or_else(|| p.stop(EXIT_GRACE));
    opts.check_interrupted()?;
    if !status.is_some_and(|s| s.success()) {
        let t = tail(&log, 15);
        if t.contains("built without DPDK") {
            bail!("{NO_DPDK}");
        }
        bail!(
            "svcard failed ({}); its log ({}):\n{t}",
            status.map_or_else(|| "unknown status".into(), |s| s.to_string()),
            log.display()
        );
    }
    if run.lines.is_empty() {
        bail!(
            "svcard printed no rate lines; its log ({}):\n{}",
            log.display(),
            tail(&log, 15)
        );
    }
    if run.sessions == 0 {
        run.sessions = run.lines.last().map_or(0, |l| l.sessions);
    }
    let until = run.load_from.unwrap_or(run.lines.len());
    let tx: Vec<f64> = run.lines[..until].iter().map(|l| l.tx_pps).collect();
    run.rate = Rate::of(&tx, opts.warmup);
    // The same periods as the rate's (a `loops:` line follows each rate line).
    let kept = run.rate.periods.min(until);
    for l in run
        .loops
        .get(until - kept..until.min(run.loops.len()))
        .unwrap_or(&[])
    {
        run.loops_kept.merge(l);
    }
    run.table_bytes = parse_table_bytes(&run.exit_summary);
    run.drops = parse_drops(&run.exit_summary);
    Ok(run)
}

/// `N` of `Count: N lines`.
#[must_use]
pub fn parse_count(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("Count: ")?
            .strip_suffix(" lines")?
            .parse()
            .ok()
    })
}

/// Runs a show command in a loop on a thread until told to stop.
#[derive(Debug)]
struct ShowLoader {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU32>,
    thread: Option<std::thread::JoinHandle<Vec<Walk>>>,
}

impl ShowLoader {
    fn start(prog: PathBuf, args: Vec<String>) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU32::new(0));
        let (st, dn) = (Arc::clone(&stop), Arc::clone(&done));
        let thread = std::thread::Builder::new()
            .name("bench-show-load".into())
            .spawn(move || {
                let mut walks = Vec::new();
                while !st.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    match run_until_stopped(&prog, &args, &st) {
                        Ok(Some(text)) => {
                            walks.push(Walk {
                                seconds: t0.elapsed().as_secs_f64(),
                                lines: parse_count(&text),
                                cut: false,
                            });
                            dn.fetch_add(1, Ordering::Relaxed);
                        }
                        // Stopped in the middle of a walk: recorded as cut.
                        Ok(None) => {
                            walks.push(Walk {
                                seconds: t0.elapsed().as_secs_f64(),
                                lines: None,
                                cut: true,
                            });
                            break;
                        }
                        Err(_) => {
                            walks.push(Walk {
                                seconds: t0.elapsed().as_secs_f64(),
                                lines: None,
                                cut: false,
                            });
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
                walks
            })
            .context("starting the show-load thread")?;
        Ok(Self {
            stop,
            done,
            thread: Some(thread),
        })
    }
    fn done(&self) -> u32 {
        self.done.load(Ordering::Relaxed)
    }
    fn finish(mut self) -> Vec<Walk> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for ShowLoader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `prog args` to its end and returns its output (`None` when `stop` was set first:
/// the process is then ended by its PID).
fn run_until_stopped(prog: &Path, args: &[String], stop: &AtomicBool) -> Result<Option<String>> {
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| prog.display().to_string())?;
    let out = child.stdout.take().context("cli stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(out).read_to_string(&mut s);
        s
    });
    let mut p = Proc {
        child,
        name: "svcard cli".into(),
    };
    loop {
        if let Ok(Some(st)) = p.child.try_wait() {
            let text = reader.join().unwrap_or_default();
            if !st.success() {
                bail!("svcard cli failed ({st})");
            }
            return Ok(Some(text));
        }
        if stop.load(Ordering::Relaxed) {
            p.stop(Duration::from_secs(2));
            let _ = reader.join();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `svcard cli …` (ended by its PID if it hangs) and returns its output.
fn ask(svcard: &Path, args: &[String]) -> Result<String> {
    let mut child = Command::new(svcard)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting svcard cli")?;
    let out = child.stdout.take().context("cli stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(out).read_to_string(&mut s);
        s
    });
    let mut p = Proc {
        child,
        name: "svcard cli".into(),
    };
    let status = p
        .wait_for(Duration::from_secs(15))
        .or_else(|| p.stop(Duration::from_secs(2)));
    let text = reader.join().unwrap_or_default();
    if !status.is_some_and(|s| s.success()) {
        let mut err = String::new();
        if let Some(mut e) = p.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        bail!("svcard cli failed: {}", err.trim());
    }
    Ok(text)
}

fn mpps(pps: f64) -> String {
    format!("{:.2}", pps / 1e6)
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.prec$}"))
}

/// The terminal table: one row per case and baseline mode (a scenario column when
/// scenarios ran).
#[must_use]
pub fn render_table(reports: &[RunReport]) -> String {
    let with_scenario = reports.iter().any(|r| r.scenario != "flows");
    let mut head = vec![
        "flows",
        "frame",
        "baseline",
        "testpmd Mpps",
        "svcard Mpps",
        "ratio",
        "sessions",
        "B/session",
        "svcard Gbps",
        "svcard cyc/pkt",
        "testpmd cyc/pkt",
        "drops",
    ];
    if with_scenario {
        head.insert(0, "scenario");
    }
    let left = if with_scenario { [0usize, 3] } else { [2, 2] };
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in reports {
        let s = &r.svcard;
        let common = |base: &str, tp: String, ratio: String, tcyc: String| {
            let mut v = vec![
                r.flows.to_string(),
                r.frame_label.clone(),
                base.to_string(),
                tp,
                format!(
                    "{} ({}-{})",
                    mpps(s.rate.median),
                    mpps(s.rate.min),
                    mpps(s.rate.max)
                ),
                ratio,
                s.sessions.to_string(),
                opt(s.bytes_per_session(), 1),
                format!("{:.2}", r.gbps(s.rate.median)),
                opt(cycles_per_packet(r.cpu_mhz, s.rate.median), 0),
                tcyc,
                s.drops
                    .map_or_else(|| "-".into(), |d| d.total().to_string()),
            ];
            if with_scenario {
                v.insert(0, r.scenario.clone());
            }
            v
        };
        if r.baselines.is_empty() {
            rows.push(common("-", "-".into(), "-".into(), "-".into()));
        }
        for (bi, b) in r.baselines.iter().enumerate() {
            let rr = r.round_ratios.get(bi).map(Vec::as_slice).unwrap_or(&[]);
            let ratio = if rr.len() > 1 {
                let (med, lo, hi) = median_min_max(rr);
                format!("{med:.3} ({lo:.2}-{hi:.2})")
            } else if b.rate.median > 0.0 {
                format!("{:.3}", s.rate.median / b.rate.median)
            } else {
                "-".into()
            };
            rows.push(common(
                b.mode.name(),
                format!(
                    "{} ({}-{})",
                    mpps(b.rate.median),
                    mpps(b.rate.min),
                    mpps(b.rate.max)
                ),
                ratio,
                opt(cycles_per_packet(r.cpu_mhz, b.rate.median), 0),
            ));
        }
    }
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let v: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if left.contains(&i) {
                    format!("{c:<0$}", w[i])
                } else {
                    format!("{c:>0$}", w[i])
                }
            })
            .collect();
        let _ = writeln!(out, "{}", v.join("  ").trim_end());
    };
    line(&mut out, &head);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&mut out, &cells);
    }
    if let Some(r) = reports.first() {
        let ratio = if reports.iter().any(|r| !r.baselines.is_empty()) {
            format!(
                "ratio: median (min-max) over {} rounds of testpmd, svcard, testpmd back to back \
                 (testpmd's Mpps over the periods of both its runs)",
                r.round_ratios.first().map_or(1, Vec::len)
            )
        } else {
            "ratio: none (these scenarios run no baseline)".to_string()
        };
        let _ = writeln!(
            out,
            "Mpps: median (min-max) of {} one-second periods after {} warm-up, in the median round; \
             {ratio}; 1 forwarding core; CPU {} MHz; EAL memory: {}; \
             Gbps on the wire (frame + preamble + IFG); B/session = session-table bytes / live sessions; \
             drops = frames svcard received and did not forward, plus port losses, over the whole run",
            r.svcard.rate.periods,
            r.warmup,
            opt(r.cpu_mhz, 0),
            r.memory
        );
    }
    out
}

/// One of svcard's loop-time histograms, as the reports show it.
struct LoopHist {
    /// Name in the text report.
    who: &'static str,
    /// Unit in the text report.
    short_unit: &'static str,
    /// Unit in the JSON.
    unit: &'static str,
    /// What its count counts (the JSON key).
    count: &'static str,
    summary: Option<crate::hist::Summary>,
}

/// svcard's per-burst and per-packet histograms.
fn loop_hists(l: &LoopTimes) -> [LoopHist; 2] {
    let of = |b| IntervalHistogram::of_buckets(b).summary();
    [
        LoopHist {
            who: "svcard burst",
            short_unit: "ns/burst",
            unit: "ns per burst",
            count: "bursts",
            summary: of(&l.burst_ns),
        },
        LoopHist {
            who: "svcard packet",
            short_unit: "ns/pkt",
            unit: "ns per packet",
            count: "packets",
            summary: of(&l.packet_ns),
        },
    ]
}

fn hist_line(out: &mut String, who: &str, pps: &[f64], mhz: Option<f64>) {
    summary_line(
        out,
        who,
        IntervalHistogram::of(pps).summary(),
        "ns/pkt",
        mhz,
    );
}

fn summary_line(
    out: &mut String,
    who: &str,
    q: Option<crate::hist::Summary>,
    unit: &str,
    mhz: Option<f64>,
) {
    let Some(q) = q else {
        return;
    };
    let cyc = |ns: f64| {
        mhz.map_or_else(String::new, |m| {
            format!(" ({:.0} cyc)", crate::hist::Summary::cycles(ns, m))
        })
    };
    let _ = writeln!(
        out,
        "    {who:<16} n={:<3} min {:.1}{}  p50 {:.1}{}  p90 {:.1}{}  p99 {:.1}{}  max {:.1}{} {unit}",
        q.count,
        q.min,
        cyc(q.min),
        q.p50,
        cyc(q.p50),
        q.p90,
        cyc(q.p90),
        q.p99,
        cyc(q.p99),
        q.max,
        cyc(q.max)
    );
}

/// The table, then the scenarios' own figures (setup rates, show under load, zero loss),
/// the per-interval histograms and the notes of skipped cases.
#[must_use]
pub fn render_report(results: &Results) -> String {
    let reports = &results.reports;
    let mut out = if reports.is_empty() {
        String::new()
    } else {
        render_table(reports)
    };
    for r in reports {
        let name = format!("{} {}", r.scenario, r.case);
        if let Some(s) = &r.setup {
            let _ = writeln!(
                out,
                "{name}: {:.0} new sessions/s (min {:.0}, max {:.0}), {:.0} sessions/s ending, \
                 {:.3} new sessions per received frame, peak {} live (idle timeout {} s, the \
                 source comes round the capture every {:.2} s)",
                s.new_per_s.median,
                s.new_per_s.min,
                s.new_per_s.max,
                s.closed_per_s.median,
                s.new_per_frame,
                s.peak_live,
                s.timeout_s,
                s.loop_s
            );
            if s.new_per_frame < 0.9 * s.expected_per_frame {
                let _ = writeln!(
                    out,
                    "  WARNING: {:.3} new sessions per frame where every flow new would give {:.3}: the \
                     source comes back to flows before their {} s idle timeout (plus the timer's \
                     granularity) has ended their sessions, so those frames hit live sessions; give more \
                     flows (--flows-override) for a setup-rate figure",
                    s.new_per_frame,
                    s.expected_per_frame,
                    s.timeout_s
                );
            }
        }
        if let Some(l) = &r.show_load {
            let done: Vec<f64> = l
                .walks
                .iter()
                .filter(|w| w.lines.is_some())
                .map(|w| w.seconds)
                .collect();
            let (med, _, _) = median_min_max(&done);
            let _ = writeln!(
                out,
                "{name}: {} Mpps without the show walks, {} Mpps with them ({} periods), ratio {}; \
                 {} walks finished (median {med:.2} s, {} lines each), {} failed, {}; cli{} `{}`",
                mpps(l.without.median),
                mpps(l.with.median),
                l.with.periods,
                opt(l.ratio(), 3),
                done.len(),
                l.walks
                    .iter()
                    .find_map(|w| w.lines)
                    .map_or_else(|| "-".into(), |n| n.to_string()),
                l.walks
                    .iter()
                    .filter(|w| w.lines.is_none() && !w.cut)
                    .count(),
                l.walks.iter().find(|w| w.cut).map_or_else(
                    || "none cut".to_string(),
                    |w| format!("one cut at the end after {:.1} s", w.seconds)
                ),
                if l.pinned { " pinned" } else { " NOT pinned (no taskset)" },
                l.command
            );
        }
        if let Some(z) = &r.zero_loss {
            let _ = writeln!(
                out,
                "{name}: zero-loss rate {}; unthrottled source: rx {} Mpps, forwarded {} Mpps, {} frames lost",
                z.rate_pps
                    .map_or_else(|| "n/a".into(), |p| format!("{} Mpps", mpps(p))),
                mpps(z.pull_rx_pps),
                mpps(z.pull_tx_pps),
                z.pull_lost.map_or_else(|| "?".into(), |n| n.to_string())
            );
            if !z.applicable {
                let _ = writeln!(out, "  {}", z.reason);
            }
        }
    }
    if !reports.is_empty() {
        let _ = writeln!(out, "HDR histogram: {}", crate::hist::WHAT);
        let _ = writeln!(out, "  svcard burst / packet: {}", crate::hist::LOOP_WHAT);
        for r in reports {
            let _ = writeln!(out, "  {} {}:", r.scenario, r.case);
            hist_line(&mut out, "svcard", &r.svcard_intervals, r.cpu_mhz);
            for h in loop_hists(&r.svcard_loops) {
                summary_line(&mut out, h.who, h.summary, h.short_unit, r.cpu_mhz);
            }
            for (b, v) in r.baselines.iter().zip(&r.baseline_intervals) {
                hist_line(
                    &mut out,
                    &format!("testpmd {}", b.mode.name()),
                    v,
                    r.cpu_mhz,
                );
            }
        }
    }
    for n in &results.notes {
        let _ = writeln!(out, "{} {}: {}", n.scenario, n.case, n.text);
    }
    out
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_num(v: f64) -> String {
    if v.is_finite() {
        if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{v:.0}")
        } else {
            format!("{v:.3}")
        }
    } else {
        "null".into()
    }
}

fn json_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "null".into(), json_num)
}

fn json_rate(r: &Rate, mean_frame: f64, mhz: Option<f64>) -> String {
    let samples: Vec<String> = r.samples.iter().map(|&s| json_num(s)).collect();
    format!(
        "\"pps\": {{\"median\": {}, \"min\": {}, \"max\": {}, \"periods\": {}}}, \"samples_pps\": [{}], \
         \"mpps\": {}, \"gbps\": {}, \"cycles_per_packet\": {}",
        json_num(r.median),
        json_num(r.min),
        json_num(r.max),
        r.periods,
        samples.join(", "),
        json_num(r.median / 1e6),
        json_num(gbps_mean(r.median, mean_frame)),
        json_opt(cycles_per_packet(mhz, r.median))
    )
}

fn json_rate_short(r: &Rate) -> String {
    format!(
        "{{\"median\": {}, \"min\": {}, \"max\": {}, \"periods\": {}, \"samples\": [{}]}}",
        json_num(r.median),
        json_num(r.min),
        json_num(r.max),
        r.periods,
        r.samples
            .iter()
            .map(|&s| json_num(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The HDR histogram of per-interval ns per packet, as JSON (`null` when empty).
fn json_hist(pps: &[f64], mhz: Option<f64>) -> String {
    json_summary(
        IntervalHistogram::of(pps).summary(),
        crate::hist::WHAT,
        "ns per packet",
        "intervals",
        mhz,
    )
}

/// A histogram summary as JSON (`null` when empty): `what` it holds, its `unit`, and what
/// its `count` counts.
fn json_summary(
    q: Option<crate::hist::Summary>,
    what: &str,
    unit: &str,
    count: &str,
    mhz: Option<f64>,
) -> String {
    let Some(q) = q else {
        return "null".into();
    };
    let cyc = |ns: f64| json_opt(mhz.map(|m| crate::hist::Summary::cycles(ns, m)));
    let buckets: Vec<String> = q
        .buckets
        .iter()
        .map(|(ns, n)| format!("[{}, {n}]", json_num(*ns)))
        .collect();
    format!(
        "{{\"of\": {}, \"unit\": {}, {}: {}, \"min\": {}, \"p50\": {}, \"p90\": {}, \
         \"p99\": {}, \"max\": {}, \"mean\": {}, \"cycles\": {{\"min\": {}, \"p50\": {}, \"p90\": {}, \"p99\": {}, \"max\": {}}}, \
         \"buckets_ns_count\": [{}]}}",
        json_str(what),
        json_str(unit),
        json_str(count),
        q.count,
        json_num(q.min),
        json_num(q.p50),
        json_num(q.p90),
        json_num(q.p99),
        json_num(q.max),
        json_num(q.mean),
        cyc(q.min),
        cyc(q.p50),
        cyc(q.p90),
        cyc(q.p99),
        cyc(q.max),
        buckets.join(", ")
    )
}

fn json_extras(r: &RunReport) -> String {
    let mut out = String::new();
    if let Some(s) = &r.setup {
        let _ = write!(
            out,
            ",\n    \"setup\": {{\"new_sessions_per_s\": {}, \"ending_sessions_per_s\": {}, \"new_sessions_per_frame\": {}, \
             \"peak_live_sessions\": {}, \"idle_timeout_s\": {}, \"capture_loop_s\": {}, \"expected_new_sessions_per_frame\": {}, \"from\": \"per-second differences of the created counter of svcard's rate lines; ending = new - change of live sessions\"}}",
            json_rate_short(&s.new_per_s),
            json_rate_short(&s.closed_per_s),
            json_num(s.new_per_frame),
            s.peak_live,
            s.timeout_s,
            json_num(s.loop_s),
            json_num(s.expected_per_frame)
        );
    }
    if let Some(l) = &r.show_load {
        let walks: Vec<String> = l
            .walks
            .iter()
            .map(|w| {
                format!(
                    "{{\"seconds\": {}, \"lines\": {}, \"cut_at_end\": {}}}",
                    json_num(w.seconds),
                    w.lines.map_or_else(|| "null".into(), |n| n.to_string()),
                    w.cut
                )
            })
            .collect();
        let _ = write!(
            out,
            ",\n    \"show_under_load\": {{\"command\": {}, \"pinned\": {}, \"without_pps\": {}, \"with_pps\": {}, \
             \"ratio\": {}, \"walks\": [{}]}}",
            json_str(&l.command),
            l.pinned,
            json_rate_short(&l.without),
            json_rate_short(&l.with),
            json_opt(l.ratio()),
            walks.join(", ")
        );
    }
    if let Some(z) = &r.zero_loss {
        let _ = write!(
            out,
            ",\n    \"zero_loss\": {{\"applicable\": {}, \"rate_pps\": {}, \"reason\": {}, \"unthrottled_rx_pps\": {}, \
             \"unthrottled_tx_pps\": {}, \"unthrottled_lost_frames\": {}}}",
            z.applicable,
            json_opt(z.rate_pps),
            json_str(&z.reason),
            json_num(z.pull_rx_pps),
            json_num(z.pull_tx_pps),
            z.pull_lost.map_or_else(|| "null".into(), |n| n.to_string())
        );
    }
    out
}

/// The reports as JSON: an array of run objects (one per scale), with the command lines.
#[must_use]
pub fn to_json(reports: &[RunReport]) -> String {
    json_array(reports, &[])
}

/// [`to_json`] of every report, then one `{"scenario", "case", "skipped"}` object per note.
#[must_use]
pub fn results_json(results: &Results) -> String {
    json_array(&results.reports, &results.notes)
}

/// Every registered figure of svcard's exit summary, summed over the workers, as a JSON
/// object keyed by [`stats::Figure::key`] (`null` without worker lines).
fn json_counters(exit_summary: &[String]) -> String {
    let Some(t) = parse_worker_totals(exit_summary) else {
        return "null".into();
    };
    let kv: Vec<String> = stats::Figure::all()
        .map(|f| format!("{}: {}", json_str(&f.key()), t.value(f)))
        .collect();
    format!("{{{}}}", kv.join(", "))
}

fn json_array(reports: &[RunReport], notes: &[Note]) -> String {
    let mut items: Vec<String> = Vec::new();
    for r in reports {
        let s = &r.svcard;
        let mean = r.mean_frame();
        let baselines: Vec<String> = r
            .baselines
            .iter()
            .enumerate()
            .map(|(bi, b)| {
                format!(
                    "      {{\"tool\": \"dpdk-testpmd\", \"mode\": {}, \"command\": {}, {}, \"histogram\": {}}}",
                    json_str(b.mode.name()),
                    json_str(&b.command),
                    json_rate(&b.rate, mean, r.cpu_mhz),
                    json_hist(
                        r.baseline_intervals.get(bi).map_or(&[][..], Vec::as_slice),
                        r.cpu_mhz
                    )
                )
            })
            .collect();
        let ratios: Vec<String> = r
            .baselines
            .iter()
            .enumerate()
            .map(|(bi, b)| {
                let rr = r.round_ratios.get(bi).cloned().unwrap_or_default();
                let v = if rr.is_empty() {
                    (b.rate.median > 0.0).then(|| s.rate.median / b.rate.median)
                } else {
                    Some(median_min_max(&rr).0)
                };
                let rounds: Vec<String> = rr.iter().map(|x| json_num(*x)).collect();
                format!(
                    "{}: {}, {}: [{}]",
                    json_str(b.mode.name()),
                    json_opt(v),
                    json_str(&format!("{}_rounds", b.mode.name())),
                    rounds.join(", ")
                )
            })
            .collect();
        let summary: Vec<String> = s.exit_summary.iter().map(|l| json_str(l)).collect();
        let counters = json_counters(&s.exit_summary);
        let lines: Vec<String> = s
            .lines
            .iter()
            .map(|l| {
                format!(
                    "[{}, {}, {}, {}, {}]",
                    json_num(l.t),
                    json_num(l.rx_pps),
                    json_num(l.tx_pps),
                    l.sessions,
                    l.created
                )
            })
            .collect();
        let drops = s.drops.map_or_else(
            || "null".into(),
            |d| {
                format!(
                    "{{\"total\": {}, \"rx\": {}, \"tx\": {}, \"port_losses\": {}, \"policy_or_malformed\": {}}}",
                    d.total(),
                    d.rx,
                    d.tx,
                    d.port_losses,
                    d.policy_malformed
                )
            },
        );
        let loop_json = loop_hists(&r.svcard_loops).map(|h| {
            json_summary(
                h.summary,
                crate::hist::LOOP_WHAT,
                h.unit,
                h.count,
                r.cpu_mhz,
            )
        });
        let (cap_bytes, frame_bytes) = match r.frame {
            FrameSize::Fixed(n) => (n.to_string(), (n + 4).to_string()),
            FrameSize::Imix => ("\"imix\"".into(), "\"imix\"".into()),
        };
        items.push(format!(
            "  {{\n    \"scenario\": {}, \"case\": {}, \"flows\": {}, \"capture_frame_bytes\": {cap_bytes}, \"frame_bytes\": {frame_bytes}, \
             \"frame\": {}, \"capture_frames\": {}, \"mean_capture_frame_bytes\": {}, \"seconds\": {}, \
             \"warmup_periods\": {}, \"cpu_mhz\": {}, \"forwarding_cores\": 1, \"eal_memory\": {},\n    \"baselines\": [\n{}\n    ],\n    \
             \"svcard\": {{\"command\": {}, \"eal_memory_mb\": {}, {}, \"live_sessions\": {}, \"maximum_sessions\": {}, \
             \"summary_command\": {}, \"table_bytes\": {}, \"bytes_per_session\": {}, \"rss_bytes\": {}, \"drops\": {drops}, \
             \"counters\": {counters}, \"histogram\": {}, \"burst_histogram\": {}, \"packet_histogram\": {}, \"rate_lines_fields\": [\"t\", \"rx_pps\", \"tx_pps\", \"sessions\", \"created\"], \
             \"rate_lines\": [{}], \"exit_summary\": [{}], \"config\": {}}},\n    \"ratio_svcard_to\": {{{}}}{}\n  }}",
            json_str(&r.scenario),
            json_str(&r.case),
            r.flows,
            json_str(&r.frame_label),
            r.capture_stats.frames,
            json_num(mean),
            r.seconds,
            r.warmup,
            json_opt(r.cpu_mhz),
            json_str(&r.memory.tag()),
            baselines.join(",\n"),
            json_str(&s.command),
            s.eal_mb,
            json_rate(&s.rate, mean, r.cpu_mhz),
            s.sessions,
            s.max_sessions.map_or_else(|| "null".into(), |m| m.to_string()),
            json_str(&s.summary_command),
            s.table_bytes.map_or_else(|| "null".into(), |m| m.to_string()),
            json_opt(s.bytes_per_session()),
            s.rss_bytes.map_or_else(|| "null".into(), |m| m.to_string()),
            json_hist(&r.svcard_intervals, r.cpu_mhz),
            loop_json[0],
            loop_json[1],
            lines.join(", "),
            summary.join(", "),
            json_str(&s.config),
            ratios.join(", "),
            json_extras(r)
        ));
    }
    for n in notes {
        items.push(format!(
            "  {{\"scenario\": {}, \"case\": {}, \"skipped\": {}}}",
            json_str(&n.scenario),
            json_str(&n.case),
            json_str(&n.text)
        ));
    }
    if items.is_empty() {
        return "[\n]\n".into();
    }
    format!("[\n{}\n]\n", items.join(",\n"))
}

/// A report with the given rates, for tests of the renderers.
#[cfg(test)]
pub(crate) fn fake_report(
    scenario: &str,
    flows: u32,
    frame: FrameSize,
    svcard_pps: &[f64],
    testpmd_pps: &[f64],
) -> RunReport {
    let mean = match frame {
        FrameSize::Fixed(n) => n as f64,
        FrameSize::Imix => crate::recipes::IMIX_MEAN_WIRE_BYTES - 4.0,
    };
    let lines: Vec<RateLine> = svcard_pps
        .iter()
        .enumerate()
        .map(|(i, &p)| RateLine {
            t: i as f64 + 1.0,
            rx_pps: p,
            tx_pps: p,
            sessions: u64::from(flows),
            created: u64::from(flows) * (i as u64 + 1),
        })
        .collect();
    RunReport {
        flows,
        size: frame.max_len(),
        seconds: svcard_pps.len() as u64,
        warmup: 1,
        cpu_mhz: Some(2000.0),
        memory: EalMemory::NoHuge,
        capture: PathBuf::from("x.pcap"),
        baselines: vec![BaselineRun {
            mode: Mode::FiveTupleSwap,
            command: "dpdk-testpmd …".into(),
            rate: Rate::of(testpmd_pps, 1),
        }],
        svcard: SvcardRun {
            rate: Rate::of(svcard_pps, 1),
            sessions: u64::from(flows),
            lines,
            drops: Some(Drops {
                rx: 100,
                tx: 90,
                port_losses: 1,
                policy_malformed: 0,
            }),
            ..SvcardRun::default()
        },
        round_ratios: vec![vec![0.5]],
        scenario: scenario.into(),
        case: format!("{flows} sessions"),
        frame,
        frame_label: frame.label(),
        capture_stats: CaptureStats {
            frames: 1000,
            client_frames: 500,
            bytes: (1000.0 * mean) as u64,
            max_len: frame.max_len(),
        },
        svcard_intervals: Rate::of(svcard_pps, 1).kept().to_vec(),
        svcard_loops: LoopTimes::from_fields(
            "burst_ns=6144:90,7168:9,1048576:1 packet_ns=96:5760,112:576,16384:64",
        )
        .unwrap_or_default(),
        baseline_intervals: vec![Rate::of(testpmd_pps, 1).kept().to_vec()],
        setup: None,
        show_load: None,
        zero_loss: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_footer_says_how_the_ratio_was_taken() {
        let with = fake_report(
            "flows",
            65536,
            FrameSize::Fixed(60),
            &[1.0, 2.0],
            &[2.0, 4.0],
        );
        let t = render_table(std::slice::from_ref(&with));
        assert!(
            t.contains("over 1 rounds of testpmd, svcard, testpmd back to back"),
            "{t}"
        );
        let mut without = with;
        without.baselines.clear();
        without.round_ratios.clear();
        let t = render_table(&[without]);
        assert!(
            t.contains("ratio: none (these scenarios run no baseline)"),
            "{t}"
        );
        assert!(!t.contains("rounds of testpmd"), "{t}");
    }

    /// svcard and testpmd are started on the memory chosen for the case, and the report
    /// says which it was.
    #[test]
    fn both_programs_run_on_the_chosen_memory() {
        let huge = EalMemory::Huge { page_kb: 2048 };
        let cap = Path::new("/tmp/x.pcap");
        for (memory, flag) in [(huge, "--huge-unlink"), (EalMemory::NoHuge, "--no-huge")] {
            let args = testpmd_args(cap, 1000, 60, Mode::FiveTupleSwap, "p", memory);
            assert_eq!(args[0], flag);
            assert_eq!(args.iter().filter(|a| a.contains("huge")).count(), 1);
            let setup = SvcardSetup::established(1000, "1000 UDP flows".into());
            let text = svcard_config_for(cap, 1000, 600, "p", 256, &setup, memory);
            let cfg = svcard_config::Config::from_toml_str(&text, Path::new("bench.toml"))
                .expect("the bench's configuration parses");
            assert_eq!(cfg.dpdk.eal_args[0], flag);
            assert_eq!(
                cfg.dpdk
                    .eal_args
                    .iter()
                    .filter(|a| a.contains("huge"))
                    .count(),
                1
            );
        }
        let mut r = fake_report("flows", 65536, FrameSize::Fixed(60), &[1.0], &[2.0]);
        r.memory = huge;
        let t = render_table(std::slice::from_ref(&r));
        assert!(t.contains("EAL memory: 2 MiB hugepages;"), "{t}");
        let json = to_json(std::slice::from_ref(&r));
        assert!(
            json.contains("\"eal_memory\": \"hugepages-2048kB\""),
            "{json}"
        );
    }

    #[test]
    fn a_rounds_baseline_spans_its_runs_before_and_after_svcard() {
        let run = |samples: &[f64]| BaselineRun {
            mode: Mode::FiveTupleSwap,
            command: "dpdk-testpmd".into(),
            rate: Rate::of(samples, 2),
        };
        // Warm-up periods (the first two of each run) are left out; the host slowed down
        // between the runs: the round's baseline sits between them.
        let b = BaselineRun::around(
            &run(&[1.0, 2.0, 10.0, 11.0, 12.0]),
            &run(&[1.0, 2.0, 6.0, 7.0, 8.0]),
        );
        assert_eq!(b.rate.periods, 6);
        assert_eq!(b.rate.median, 9.0);
        assert_eq!((b.rate.min, b.rate.max), (6.0, 12.0));
        assert_eq!(b.rate.kept(), &[10.0, 11.0, 12.0, 6.0, 7.0, 8.0]);
        assert_eq!(b.command, "dpdk-testpmd");
    }

    #[test]
    fn drops_and_counts() {
        let lines: Vec<String> = [
            "net_pcap0: rx 9382880 tx 0 missed 3 rx errors 1 tx errors 0",
            "net_null0: rx 0 tx 9329162 missed 0 rx errors 0 tx errors 2",
            "worker 0: rx_packets=9382880 tx_packets=9329162 sessions_created=1000 sessions=1000 policy_drops=7 malformed=5 table_bytes=141576",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        let d = parse_drops(&lines).unwrap();
        assert_eq!(
            (d.rx, d.tx, d.port_losses, d.policy_malformed),
            (9_382_880, 9_329_162, 6, 12)
        );
        assert_eq!(d.total(), 53_718 + 6);
        assert!(parse_drops(&lines[..2]).is_none());
        // Without port lines, the workers' counters.
        let d = parse_drops(&lines[2..]).unwrap();
        assert_eq!((d.rx, d.tx, d.total()), (9_382_880, 9_329_162, 53_718));
        assert_eq!(parse_count("Count: 1234 lines\n"), Some(1234));
        assert_eq!(parse_count("error: no\n"), None);
    }

    #[test]
    fn setup_figures_from_rate_lines() {
        // 1000 new sessions a second; live sessions level at 1000 (a 1 s timeout): from
        // t=2 on, 1000 end each second.
        let l = |t: f64, sessions: u64, created: u64| RateLine {
            t,
            rx_pps: 2000.0,
            tx_pps: 2000.0,
            sessions,
            created,
        };
        let lines = [
            l(1.0, 1000, 1000),
            l(2.0, 1000, 2000),
            l(3.0, 1000, 3000),
            l(4.0, 1000, 4000),
        ];
        let f = SetupFigures::of(&lines, 1, 1);
        assert_eq!(f.new_per_s.median, 1000.0);
        assert_eq!(f.new_per_s.periods, 3);
        assert_eq!(f.closed_per_s.median, 1000.0);
        assert!((f.new_per_frame - 0.5).abs() < 1e-9);
        assert_eq!((f.peak_live, f.timeout_s), (1000, 1));
    }

    #[test]
    fn every_registered_figure_reaches_the_json_from_the_exit_summary() {
        // Two workers' exit lines, as `svcard run` prints them from the registry.
        let mut w = LocalStats::default();
        for (i, f) in stats::Figure::all().enumerate() {
            w.set(f, 7 + i as u64);
        }
        let mut r = fake_report("sessions", 1000, FrameSize::Fixed(60), &[1e6], &[]);
        r.svcard.exit_summary = vec![
            format!("worker 0: {}", stats::fields(&w)),
            format!("worker 1: {}", stats::fields(&w)),
        ];
        let results = Results {
            reports: vec![r],
            notes: vec![],
        };
        let j: serde_json::Value = serde_json::from_str(&results_json(&results)).unwrap();
        let c = &j[0]["svcard"]["counters"];
        for f in stats::Figure::all() {
            assert_eq!(c[f.key().as_ref()], 2 * w.value(f), "{}", f.key());
        }
    }

    #[test]
    fn json_and_table_of_scenarios() {
        let mut r = fake_report(
            "setup-udp",
            4096,
            FrameSize::Fixed(60),
            &[1e6, 2e6, 2e6],
            &[],
        );
        r.baselines.clear();
        r.baseline_intervals.clear();
        r.round_ratios.clear();
        r.setup = Some(SetupFigures::of(&r.svcard.lines, 1, 1));
        let mut z = fake_report("zero-loss", 65_536, FrameSize::Fixed(60), &[3e6, 3e6], &[]);
        z.zero_loss = Some(ZeroLoss {
            applicable: false,
            reason: crate::scenario::ZERO_LOSS_NOT_APPLICABLE.into(),
            rate_pps: None,
            pull_rx_pps: 3e6,
            pull_tx_pps: 3e6,
            pull_lost: Some(0),
        });
        let mut s = fake_report(
            "show-under-load",
            1 << 20,
            FrameSize::Fixed(60),
            &[4e6; 4],
            &[],
        );
        s.show_load = Some(ShowLoad {
            command: "taskset -c 0 svcard cli".into(),
            pinned: true,
            without: Rate::of(&[4e6, 4e6], 0),
            with: Rate::of(&[3e6, 3e6], 0),
            walks: vec![
                Walk {
                    seconds: 1.5,
                    lines: Some(42),
                    cut: false,
                },
                Walk {
                    seconds: 0.5,
                    lines: None,
                    cut: true,
                },
            ],
        });
        let imix = fake_report("imix", 65_536, FrameSize::Imix, &[1e6, 1e6], &[2e6, 2e6]);
        let results = Results {
            reports: vec![r, z, s, imix],
            notes: vec![Note {
                scenario: "sessions".into(),
                case: "4194304 sessions".into(),
                text: "skipped: no memory".into(),
            }],
        };
        let j: serde_json::Value = serde_json::from_str(&results_json(&results)).unwrap();
        let a = j.as_array().unwrap();
        assert_eq!(a.len(), 5);
        assert_eq!(a[0]["scenario"], "setup-udp");
        assert_eq!(a[0]["setup"]["new_sessions_per_s"]["median"], 4096.0);
        assert_eq!(a[0]["setup"]["ending_sessions_per_s"]["median"], 4096.0);
        assert_eq!(a[0]["svcard"]["drops"]["total"], 11);
        assert_eq!(a[0]["svcard"]["rate_lines"][2][4], 3 * 4096);
        assert_eq!(a[1]["zero_loss"]["applicable"], false);
        assert!(a[1]["zero_loss"]["rate_pps"].is_null());
        assert_eq!(a[2]["show_under_load"]["ratio"], 0.75);
        assert_eq!(a[3]["frame"], "IMIX");
        assert_eq!(a[3]["capture_frame_bytes"], "imix");
        // 1 Mpps of IMIX frames: (353.8 + 20) × 8 bit.
        let g = a[3]["svcard"]["gbps"].as_f64().unwrap();
        assert!((g - 2.991).abs() < 0.01, "{g}");
        let h = &a[3]["svcard"]["histogram"];
        assert_eq!(h["intervals"], 1);
        let near =
            |v: &serde_json::Value, want: f64| (v.as_f64().unwrap() - want).abs() < want * 1e-3;
        assert!(near(&h["p50"], 1000.0), "{h}");
        assert!(near(&h["cycles"]["p50"], 2000.0));
        assert!(near(&a[3]["baselines"][0]["histogram"]["p50"], 500.0));
        // The worker's own loop times: 100 bursts, 6400 packets, each counted at the
        // middle of its bucket (6144-6656 ns, 96-104 ns).
        let h = &a[3]["svcard"]["burst_histogram"];
        assert_eq!(
            (h["bursts"].as_u64(), h["unit"].as_str()),
            (Some(100), Some("ns per burst"))
        );
        assert!(near(&h["p50"], 6400.0), "{h}");
        assert!(near(&h["max"], 1_114_112.0), "{h}");
        let h = &a[3]["svcard"]["packet_histogram"];
        assert_eq!(h["packets"], 6400);
        assert!(near(&h["p50"], 100.0), "{h}");
        assert!(near(&h["cycles"]["p50"], 200.0), "{h}");
        assert!(a[3]["baselines"][0].get("burst_histogram").is_none());
        assert_eq!(a[4]["skipped"], "skipped: no memory");
        let t = render_report(&results);
        assert!(t.starts_with("scenario"), "{t}");
        assert!(t.contains("new sessions/s"));
        assert!(t.contains("zero-loss rate n/a"));
        assert!(t.contains("ratio 0.750"));
        assert!(t.contains("1 walks finished (median 1.50 s, 42 lines each), 0 failed, one cut"));
        assert!(t.contains("p50 1000.2 (2000 cyc)"), "{t}");
        assert!(
            t.contains("svcard burst     n=100 min 6400.0 (12800 cyc)"),
            "{t}"
        );
        assert!(t.contains("svcard packet    n=6400"), "{t}");
        assert!(t.contains("4194304 sessions: skipped: no memory"));
        // The plain benchmark's JSON keeps its shape.
        assert_eq!(to_json(&[]), "[\n]\n");
    }

    #[test]
    fn testpmd_blocks() {
        let text = "\
  ######################## NIC statistics for port 0  ########################
  Rx-pps:     17869179          Rx-bps:   8577206136
  Tx-pps:            0          Tx-bps:            0
  ############################################################################
  ######################## NIC statistics for port 1  ########################
  Rx-pps:            0          Rx-bps:            0
  Tx-pps:     17869242          Tx-bps:            0
  ############################################################################
  Tx-pps:     5          Tx-bps:            0
";
        let mut p = TestpmdParser::new(1);
        let v: Vec<f64> = text.lines().filter_map(|l| p.line(l)).collect();
        assert_eq!(v, vec![17_869_242.0]);
    }

    #[test]
    fn rate_lines() {
        let r = parse_rate_line(
            "rate: t=3.0 rx_pps=5620910 tx_pps=5620911 sessions=100000 sessions_created=100001",
        )
        .unwrap();
        assert_eq!(r.t, 3.0);
        assert_eq!(r.tx_pps, 5_620_911.0);
        assert_eq!(r.sessions, 100_000);
        assert_eq!(r.created, 100_001);
        assert!(parse_rate_line("net_null0: rx 0 tx 5").is_none());
    }

    #[test]
    fn summary_and_table() {
        let s = "Flow Sessions on FPC0 PIC0:\n\nUnicast-sessions: 10\nMaximum-sessions: 20\n\
                 Flow Sessions on FPC0 PIC1:\n\nUnicast-sessions: 5\nMaximum-sessions: 20\n";
        assert_eq!(parse_session_summary(s), Some((15, 40)));
        let lines = vec![
            "net_null0: rx 0 tx 1".to_string(),
            "worker 0: rx_packets=1 tx_packets=1 sessions_created=1 table_bytes=4096".to_string(),
        ];
        assert_eq!(parse_table_bytes(&lines), Some(4096));
    }

    #[test]
    fn figures() {
        let r = Rate::of(&[0.0, 1.0, 2.0, 10.0, 30.0, 20.0], 3);
        assert_eq!((r.median, r.min, r.max, r.periods), (20.0, 10.0, 30.0, 3));
        let r = Rate::of(&[5.0], 3);
        assert_eq!(r.periods, 1);
        assert_eq!(mbuf_data_room(60), 256);
        assert_eq!(mbuf_data_room(1514), 1664);
        assert_eq!(mbuf_footprint(256), 455);
        assert_eq!(mbuf_footprint(2176), 4096);
        assert!((gbps(14_880_952.0, 60) - 10.0).abs() < 0.001);
        assert_eq!(cycles_per_packet(Some(2000.0), 20e6), Some(100.0));
        let j = to_json(&[]);
        assert_eq!(j, "[\n]\n");
        assert_eq!(json_str("a\"b\n"), "\"a\\\"b\\n\"");
    }
}
