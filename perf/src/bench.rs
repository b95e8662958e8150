//! `svcard bench`: svcard against `dpdk-testpmd` on the same capture, the same cores, in the
//! same run.
//!
//! For each flow count N: write a capture of N distinct UDP flows, run `dpdk-testpmd`
//! (`net_pcap` with `infinite_rx=1` into `net_null,no-rx=1`) in each baseline forwarding
//! mode, then `svcard run --backend dpdk` on the same devices. Rates are the median of the
//! per-second figures after the warm-up periods. svcard's session summary is asked at
//! half time; its session-table size comes from its exit summary.
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
    /// Rounds per scale: each runs the baselines then svcard, back to back, so a host
    /// whose speed drifts over minutes is compared with itself; the ratio reported is the
    /// median of the per-round ratios.
    pub rounds: usize,
    /// Set (by a signal handler) to end the benchmark early: the processes it started are
    /// ended and the work directory removed.
    pub interrupted: Arc<AtomicBool>,
}

impl Options {
    fn check_interrupted(&self) -> Result<()> {
        if self.interrupted.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        Ok(())
    }
}

/// Finds `prog` (a path, or a name on PATH).
fn find_program(prog: &Path) -> Option<PathBuf> {
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

/// One testpmd run.
#[derive(Debug, Clone)]
pub struct BaselineRun {
    /// The mode.
    pub mode: Mode,
    /// The command line.
    pub command: String,
    /// The sink port's Tx-pps.
    pub rate: Rate,
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
    pps * (size + 4 + 20) as f64 * 8.0 / 1e9
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

/// Parses `rate: t=3.0 rx_pps=5620910 tx_pps=5620910 sessions=100000 created=100000`.
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
            "sessions" => r.sessions = v.parse().ok()?,
            "created" => r.created = v.parse().ok()?,
            _ => {}
        }
    }
    (!r.t.is_nan() && !r.tx_pps.is_nan()).then_some(r)
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

/// Session-table bytes of svcard's exit summary (`worker N: …, table B bytes`), summed.
#[must_use]
pub fn parse_table_bytes(lines: &[String]) -> Option<u64> {
    let v: Vec<u64> = lines
        .iter()
        .filter(|l| l.starts_with("worker "))
        .filter_map(|l| {
            let i = l.rfind(", table ")?;
            l[i + 8..].split_whitespace().next()?.parse().ok()
        })
        .collect();
    (!v.is_empty()).then(|| v.iter().sum())
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
    let mbufs = flows + SPARE_MBUFS;
    let max_sessions = flows.max(1024);
    let cap = capture.display();
    format!(
        r#"# svcard bench: {flows} UDP flows replayed from memory into a counting sink.
[workers]
count = 1
[dpdk]
eal-args = ["--no-huge", "-m", "{eal_mb}", "--no-pci", "--no-shconf", "--no-telemetry", "--file-prefix", "{prefix}", "-l", "0-1", "--log-level=lib.eal:error"]
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
[timeouts]
udp = 3600
[limits]
max-sessions = {max_sessions}
"#
    )
}

/// The testpmd arguments (without the program).
#[must_use]
pub fn testpmd_args(
    capture: &Path,
    flows: u32,
    size: usize,
    mode: Mode,
    prefix: &str,
) -> Vec<String> {
    let mbufs = flows + SPARE_MBUFS;
    let room = mbuf_data_room(size);
    vec![
        "--no-huge".into(),
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
struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    fn new(keep: Option<&Path>) -> Result<Self> {
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
struct Progress {
    tty: bool,
    open: bool,
}

impl Progress {
    fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            open: false,
        }
    }
    fn show(&mut self, text: &str) {
        if self.tty {
            eprint!("\r\x1b[K{text}");
            self.open = true;
        } else {
            eprintln!("{text}");
        }
    }
    fn end(&mut self) {
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
    let l = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = l.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

fn check_memory(mb: u64, what: &str) -> Result<()> {
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

/// Runs every scale; each finished scale is pushed to `reports` (so that a failure later
/// still leaves the figures already taken).
///
/// # Errors
/// A process that cannot be started, fails or prints no figures; I/O errors.
pub fn run(opts: &Options, reports: &mut Vec<RunReport>) -> Result<()> {
    if !opts.baselines.is_empty() && find_program(&opts.testpmd).is_none() {
        bail!("{TESTPMD_MISSING}");
    }
    let dir = WorkDir::new(opts.keep.as_deref())?;
    let mhz = cpu_mhz();
    let mut progress = Progress::new();
    for &n in &opts.flows {
        let cap = dir.path.join(format!("udp-{n}-{}.pcap", opts.size));
        progress.show(&format!("[capture {n} flows] writing {}", cap.display()));
        let recs = crate::recipes::udp_flows(n, opts.size);
        crate::write_pcap(&cap, &recs).with_context(|| cap.display().to_string())?;
        drop(recs);
        progress.end();
        let mut rounds: Vec<(Vec<BaselineRun>, SvcardRun)> = Vec::new();
        for round in 0..opts.rounds.max(1) {
            if opts.rounds > 1 {
                eprintln!(
                    "svcard bench: {n} flows, round {} of {}",
                    round + 1,
                    opts.rounds
                );
            }
            let mut baselines = Vec::new();
            for &mode in &opts.baselines {
                opts.check_interrupted()?;
                baselines.push(run_testpmd(opts, &dir.path, &cap, n, mode, &mut progress)?);
            }
            let svcard = match run_svcard(
                opts,
                &dir.path,
                &cap,
                n,
                mbuf_data_room(opts.size),
                &mut progress,
            ) {
                Ok(r) => r,
                Err(e) if format!("{e:#}").contains("creating the mbuf pool") => {
                    eprintln!(
                        "svcard bench: svcard could not create its mbuf pool in the EAL memory sized for {}-byte mbufs: \
                         again with memory for {LARGE_DATA_ROOM}-byte mbufs",
                        mbuf_data_room(opts.size)
                    );
                    run_svcard(opts, &dir.path, &cap, n, LARGE_DATA_ROOM, &mut progress)?
                }
                Err(e) => return Err(e),
            };
            rounds.push((baselines, svcard));
        }
        let ratio = |b: &BaselineRun, s: &SvcardRun| {
            if b.rate.median > 0.0 {
                s.rate.median / b.rate.median
            } else {
                f64::NAN
            }
        };
        let round_ratios: Vec<Vec<f64>> = (0..opts.baselines.len())
            .map(|i| rounds.iter().map(|(b, s)| ratio(&b[i], s)).collect())
            .collect();
        // Report the round whose first-mode ratio is the median.
        let pick = round_ratios.first().map_or(0, |r| {
            let (med, _, _) = median_min_max(r);
            r.iter().position(|x| *x == med).unwrap_or(0)
        });
        let (baselines, svcard) = rounds.swap_remove(pick);
        reports.push(RunReport {
            flows: n,
            size: opts.size,
            seconds: opts.seconds,
            warmup: opts.warmup,
            cpu_mhz: mhz,
            capture: cap.clone(),
            baselines,
            svcard,
            round_ratios,
        });
        if !dir.keep {
            let _ = std::fs::remove_file(&cap);
        }
    }
    Ok(())
}

fn run_testpmd(
    opts: &Options,
    dir: &Path,
    cap: &Path,
    n: u32,
    mode: Mode,
    progress: &mut Progress,
) -> Result<BaselineRun> {
    let label = format!("[testpmd {} {n} flows]", mode.name());
    let args = testpmd_args(cap, n, opts.size, mode, &unique_prefix());
    let mb = eal_memory_mb(n + SPARE_MBUFS, mbuf_data_room(opts.size));
    check_memory(mb, "dpdk-testpmd")?;
    let command = command_line(&opts.testpmd, &args);
    let log = dir.join(format!("testpmd-{}-{n}.log", mode.name()));
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
    let want = usize::try_from(opts.seconds).unwrap_or(usize::MAX);
    while samples.len() < want {
        let deadline = first.map_or(started + STARTUP_TIMEOUT, |f| {
            f + Duration::from_secs(opts.seconds + 5)
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

fn run_svcard(
    opts: &Options,
    dir: &Path,
    cap: &Path,
    n: u32,
    pool_room: u32,
    progress: &mut Progress,
) -> Result<SvcardRun> {
    let label = format!("[svcard {n} flows]");
    let mb = eal_memory_mb(n + SPARE_MBUFS, pool_room);
    check_memory(mb, "svcard")?;
    let config = svcard_config(cap, n, mb, &unique_prefix(), mbuf_data_room(opts.size));
    let cfg_path = dir.join(format!("svcard-{n}.toml"));
    std::fs::write(&cfg_path, &config).with_context(|| cfg_path.display().to_string())?;
    let mut socket = dir.join("bench.sock");
    if socket.as_os_str().len() > 100 {
        socket = std::env::temp_dir().join(format!("svcard-bench-{}.sock", std::process::id()));
    }
    let args: Vec<String> = vec![
        "run".into(),
        "--backend".into(),
        "dpdk".into(),
        "--config".into(),
        cfg_path.display().to_string(),
        // Half a second more than the periods wanted, so that the last rate line (at
        // t = seconds) is printed before svcard stops.
        "--duration".into(),
        format!("{}.5", opts.seconds),
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
    let log = dir.join(format!("svcard-{n}.log"));
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
    let mut samples = Vec::new();
    let mut last_sessions = 0;
    let mut asked = false;
    let deadline = Instant::now() + STARTUP_TIMEOUT + Duration::from_secs(opts.seconds);
    let half = opts.seconds as f64 / 2.0;
    let want = usize::try_from(opts.seconds).unwrap_or(usize::MAX);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            progress.end();
            bail!(
                "svcard did not finish in {} s; its log ({}):\n{}",
                (STARTUP_TIMEOUT.as_secs() + opts.seconds),
                log.display(),
                tail(&log, 15)
            );
        }
        opts.check_interrupted()?;
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => {
                if let Some(r) = parse_rate_line(&line) {
                    if samples.len() >= want {
                        continue;
                    }
                    samples.push(r.tx_pps);
                    last_sessions = r.sessions;
                    progress.show(&format!(
                        "{label} t={:.0}s {:.2} Mpps, {} sessions",
                        r.t,
                        r.tx_pps / 1e6,
                        r.sessions
                    ));
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
                } else if !line.trim().is_empty() {
                    run.exit_summary.push(line);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    progress.end();
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
    if samples.is_empty() {
        bail!(
            "svcard printed no rate lines; its log ({}):\n{}",
            log.display(),
            tail(&log, 15)
        );
    }
    if run.sessions == 0 {
        run.sessions = last_sessions;
    }
    run.rate = Rate::of(&samples, opts.warmup);
    run.table_bytes = parse_table_bytes(&run.exit_summary);
    Ok(run)
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

/// The terminal table: one row per scale and baseline mode.
#[must_use]
pub fn render_table(reports: &[RunReport]) -> String {
    let head = [
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
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in reports {
        let s = &r.svcard;
        let common = |base: &str, tp: String, ratio: String, tcyc: String| {
            vec![
                r.flows.to_string(),
                format!("{} B", r.size + 4),
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
                format!("{:.2}", gbps(s.rate.median, r.size)),
                opt(cycles_per_packet(r.cpu_mhz, s.rate.median), 0),
                tcyc,
            ]
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
                if i == 2 {
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
        let _ = writeln!(
            out,
            "Mpps: median (min-max) of {} one-second periods after {} warm-up, in the median round; \
             ratio: median (min-max) over {} rounds of testpmd then svcard back to back; 1 forwarding core; CPU {} MHz; \
             Gbps on the wire (frame + preamble + IFG); B/session = session-table bytes / live sessions",
            r.svcard.rate.periods,
            r.warmup,
            r.round_ratios.first().map_or(1, Vec::len),
            opt(r.cpu_mhz, 0)
        );
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

fn json_rate(r: &Rate, size: usize, mhz: Option<f64>) -> String {
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
        json_num(gbps(r.median, size)),
        json_opt(cycles_per_packet(mhz, r.median))
    )
}

/// The reports as JSON: an array of run objects (one per scale), with the command lines.
#[must_use]
pub fn to_json(reports: &[RunReport]) -> String {
    let mut out = String::from("[\n");
    for (i, r) in reports.iter().enumerate() {
        let s = &r.svcard;
        let baselines: Vec<String> = r
            .baselines
            .iter()
            .map(|b| {
                format!(
                    "      {{\"tool\": \"dpdk-testpmd\", \"mode\": {}, \"command\": {}, {}}}",
                    json_str(b.mode.name()),
                    json_str(&b.command),
                    json_rate(&b.rate, r.size, r.cpu_mhz)
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
        let _ = write!(
            out,
            "  {{\n    \"flows\": {}, \"capture_frame_bytes\": {}, \"frame_bytes\": {}, \"seconds\": {}, \
             \"warmup_periods\": {}, \"cpu_mhz\": {}, \"forwarding_cores\": 1,\n    \"baselines\": [\n{}\n    ],\n    \
             \"svcard\": {{\"command\": {}, \"eal_memory_mb\": {}, {}, \"live_sessions\": {}, \"maximum_sessions\": {}, \
             \"summary_command\": {}, \"table_bytes\": {}, \"bytes_per_session\": {}, \"rss_bytes\": {}, \
             \"exit_summary\": [{}], \"config\": {}}},\n    \"ratio_svcard_to\": {{{}}}\n  }}{}\n",
            r.flows,
            r.size,
            r.size + 4,
            r.seconds,
            r.warmup,
            json_opt(r.cpu_mhz),
            baselines.join(",\n"),
            json_str(&s.command),
            s.eal_mb,
            json_rate(&s.rate, r.size, r.cpu_mhz),
            s.sessions,
            s.max_sessions.map_or_else(|| "null".into(), |m| m.to_string()),
            json_str(&s.summary_command),
            s.table_bytes.map_or_else(|| "null".into(), |m| m.to_string()),
            json_opt(s.bytes_per_session()),
            s.rss_bytes.map_or_else(|| "null".into(), |m| m.to_string()),
            summary.join(", "),
            json_str(&s.config),
            ratios.join(", "),
            if i + 1 < reports.len() { "," } else { "" }
        );
    }
    out.push_str("]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
            "rate: t=3.0 rx_pps=5620910 tx_pps=5620911 sessions=100000 created=100001",
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
            "worker 0: rx 1 tx 1 sessions created 1 closed 0 live 1 (valid 1 pending 0 invalidated 0), policy drops 0, rejects 0, malformed 0, non-IP passed 0, table 4096 bytes".to_string(),
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
