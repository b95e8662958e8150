//! Running one case: its rounds of testpmd and svcard on the same capture, the show-command load, and the figures of the median round. Scenarios call it; it knows no scenario.

use anyhow::{bail, Context as _, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use svcard_dataplane::stats::LoopTimes;

use super::model::*;
use super::options::*;
use super::parse::*;
use super::process::*;
use super::setup::*;
use crate::hugepages::EalMemory;
use crate::recipes::{CaptureStats, FrameSize};

/// Why the zero-loss search is not made on the benchmark's virtual devices.
pub const ZERO_LOSS_NOT_APPLICABLE: &str = "not applicable: the source is net_pcap with \
     infinite_rx=1, which hands the worker as many frames as it asks for (pull-driven), so \
     there is no offered rate to set and no RX queue that can overflow: no drop signal exists \
     below the forwarding limit. DPDK 22.11's rate limits (rte_eth_set_queue_rate_limit, \
     testpmd `set port P queue Q rate R`, rte_tm) are NIC hardware features (mlx5, ice, \
     ixgbe, ...) that net_pcap and net_null do not implement, and testpmd's txonly/flowgen \
     generators have no pacing. On real NICs, drive svcard from an external generator \
     (TRex, pktgen-dpdk) and search on the port's imissed counter. Reported instead: what \
     the unthrottled source delivered, what svcard forwarded, and the frames lost";

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
    pub(crate) fn label(&self) -> String {
        format!("[{} {}]", self.scenario, self.case)
    }
    pub(crate) fn slug(&self) -> String {
        format!("{}-{}", self.scenario, self.case)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    }
    pub(crate) fn frames(&self) -> u32 {
        u32::try_from(self.stats.frames).unwrap_or(u32::MAX)
    }
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
            baselines.push(run_baseline(opts, dir, case, mode, memory, "", progress)?);
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
            let after = run_baseline(opts, dir, case, mode, memory, "-after", progress)?;
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
            reason: super::runner::ZERO_LOSS_NOT_APPLICABLE.into(),
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

pub(crate) fn run_testpmd(
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
        connections: None,
        note: None,
    })
}

/// That the programs of the baselines and peers asked for are installed (the nft peer's
/// generator is testpmd).
pub(crate) fn check_programs(opts: &Options) -> Result<()> {
    let testpmd = opts
        .baselines
        .iter()
        .any(|m| m.is_testpmd() || *m == Mode::NftCt);
    if testpmd && super::process::find_program(&opts.testpmd).is_none() {
        bail!("{TESTPMD_MISSING}");
    }
    if opts.baselines.contains(&Mode::OvsCt) && !super::ovs::installed() {
        bail!("{}", super::ovs::OVS_MISSING);
    }
    if opts.baselines.contains(&Mode::NftCt) && !super::nft::installed() {
        bail!("{}", super::nft::NFT_MISSING);
    }
    Ok(())
}

/// Runs baseline `mode`: testpmd, or the peer.
pub(crate) fn run_baseline(
    opts: &Options,
    dir: &Path,
    case: &Case,
    mode: Mode,
    memory: EalMemory,
    log_suffix: &str,
    progress: &mut Progress,
) -> Result<BaselineRun> {
    match mode {
        Mode::OvsCt => run_ovs(opts, case, memory, progress),
        Mode::NftCt => run_nft(opts, dir, case, memory, log_suffix, progress),
        _ => run_testpmd(opts, dir, case, mode, memory, log_suffix, progress),
    }
}

/// The peer OVS-DPDK with `ct(commit)` on the case's capture, on testpmd's cores (lcore 1
/// forwards): one sample of its sink's packets a second, after it starts forwarding. Its
/// input port's pool is sized to hold the capture ([`super::ovs::pool_rxqs`]); a capture
/// that needs more memory than the host has, or a larger pool than OVS can name, is not
/// run (noted). Its daemons run from a directory of their own (short: their sockets' paths
/// are bounded) and are ended by PID.
pub(crate) fn run_ovs(
    opts: &Options,
    case: &Case,
    memory: EalMemory,
    progress: &mut Progress,
) -> Result<BaselineRun> {
    use super::ovs::{
        memory_mb, pool_mbufs, Ovs, OvsPaths, OvsSetup, MAX_POOL_MBUFS, OVS_MBUF_BYTES_4K,
    };
    let label = format!("[ovs-ct {} {}]", case.scenario, case.case);
    let frames = u64::from(case.frames());
    let skipped = |note: String| BaselineRun {
        mode: Mode::OvsCt,
        command: String::new(),
        rate: Rate::default(),
        connections: None,
        note: Some(note),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let (pool, _) = pool_mbufs(frames, cores);
    let no_huge_mb = match memory {
        EalMemory::NoHuge => Some(memory_mb(frames, cores, OVS_MBUF_BYTES_4K)),
        EalMemory::Huge { .. } => None,
    };
    let refused = if pool > MAX_POOL_MBUFS {
        Some(format!(
            "not run: the capture has {frames} frames and OVS names no pool above {MAX_POOL_MBUFS} mbufs"
        ))
    } else {
        no_huge_mb.and_then(|mb| {
            check_memory(mb, memory, "OVS-DPDK")
                .err()
                .map(|e| format!("not run: {e:#}"))
        })
    };
    if let Some(note) = refused {
        progress.end();
        eprintln!("svcard bench: {label} {note}");
        return Ok(skipped(note));
    }
    let dir = std::env::temp_dir().join(format!("svovs-{}", unique_prefix()));
    // Removed when the run ends, however it ends (declared before the daemons, so that
    // they are ended first).
    struct RemoveDir(std::path::PathBuf);
    impl Drop for RemoveDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = RemoveDir(dir.clone());
    let setup = OvsSetup {
        captures: vec![case.capture.clone()],
        frames,
        pmd_core: 1,
        main_core: 0,
        no_huge_mb,
    };
    progress.show(&format!("{label} starting"));
    let ovs = Ovs::start(OvsPaths::new(&dir), &setup)?;
    let command = format!(
        "ovs-vswitchd-dpdk (private, {}; the input port's pool {pool} mbufs): \
         in_port=in0,ip,actions=ct(commit),output:sink",
        dir.display()
    );
    let samples = sample_peer(
        opts,
        &label,
        case.seconds,
        progress,
        &mut || ovs.tx_packets("sink"),
        &mut || Ok(()),
    )?;
    let connections = ovs.conntrack().ok();
    progress.end();
    drop(ovs);
    let note = connections
        .filter(|&c| c != u64::from(case.flows))
        .map(|c| {
            format!(
                "conntrack held {c} connections, the capture has {} flows",
                case.flows
            )
        });
    if let Some(n) = &note {
        eprintln!("svcard bench: {label} {n}");
    }
    Ok(BaselineRun {
        mode: Mode::OvsCt,
        command,
        rate: Rate::of(&samples, opts.warmup),
        connections,
        note,
    })
}

/// Packets a sink must count within a 200 ms look for a peer to be forwarding: more than
/// the few a link sends by itself (IPv6 neighbour discovery, MLD reports on the nft-ct
/// peer's veths), fewer than any forwarding path passes.
const PEER_STARTED: u64 = 1000;

/// The first period of established traffic's steady state: the first second that made no
/// session after some were made (every flow has its session), so that a feature that
/// slows set-up (a long rule walk) is not priced on its set-up; 0 for a churn (whose
/// set-up is what it measures) or where sessions never stop being made.
pub(crate) fn loaded_at(lines: &[RateLine], established: bool) -> usize {
    if !established {
        return 0;
    }
    lines
        .windows(2)
        .position(|w| w[0].created > 0 && w[1].created == w[0].created)
        .map_or(0, |i| i + 1)
}

/// A peer's rate from its sink's packet `count`: waits (up to [`STARTUP_TIMEOUT`]) for
/// the count to grow by [`PEER_STARTED`] in one look, calling `check` meanwhile (an error
/// ends the wait), then one sample a second for `seconds` seconds (`check` after each).
pub(crate) fn sample_peer(
    opts: &Options,
    label: &str,
    seconds: u64,
    progress: &mut Progress,
    count: &mut dyn FnMut() -> Result<u64>,
    check: &mut dyn FnMut() -> Result<()>,
) -> Result<Vec<f64>> {
    let t0 = Instant::now();
    let mut last = count().unwrap_or(0);
    loop {
        opts.check_interrupted()?;
        std::thread::sleep(Duration::from_millis(200));
        if let Err(e) = check() {
            progress.end();
            return Err(e.context(label.to_string()));
        }
        let now = count().unwrap_or(0);
        if now >= last + PEER_STARTED {
            last = now;
            break;
        }
        last = last.max(now);
        if t0.elapsed() > STARTUP_TIMEOUT {
            progress.end();
            bail!(
                "{label} forwarded nothing in {} s",
                STARTUP_TIMEOUT.as_secs()
            );
        }
    }
    progress.show(&format!("{label} forwarding"));
    let mut samples = Vec::new();
    let mut at = Instant::now();
    while (samples.len() as u64) < seconds {
        opts.check_interrupted()?;
        std::thread::sleep(Duration::from_secs(1).saturating_sub(at.elapsed()));
        let now = count()?;
        let t = Instant::now();
        samples.push(now.saturating_sub(last) as f64 / t.duration_since(at).as_secs_f64());
        check()?;
        progress.show(&format!(
            "{label} t={}s {:.2} Mpps",
            samples.len(),
            samples.last().copied().unwrap_or(0.0) / 1e6
        ));
        (last, at) = (now, t);
    }
    Ok(samples)
}

/// The peer Linux nftables conntrack ([`super::nft`]): its path built in namespaces of
/// the run, the generator (testpmd replaying the capture) started in the generator's
/// namespace on CPU 0 while the kernel forwards on lcore 1's CPU; one sample of the sink's
/// received packets a second once packets arrive, the generator's offered rate beside it,
/// the router's conntrack count at the end. Namespaces, generator and settings are gone
/// when it returns, however it returns.
pub(crate) fn run_nft(
    opts: &Options,
    dir: &Path,
    case: &Case,
    memory: EalMemory,
    log_suffix: &str,
    progress: &mut Progress,
) -> Result<BaselineRun> {
    use super::nft::{af_packet_frame, generator_args, Nft, NftNames};
    let label = format!("[nft-ct {} {}]", case.scenario, case.case);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (gen_cpu, fwd_cpu) = if cores > 1 { (0, 1) } else { (0, 0) };
    let (framesz, af_room) = af_packet_frame(case.stats.max_len);
    let room = mbuf_data_room(case.stats.max_len).max(af_room);
    let mbufs = case.frames().saturating_add(SPARE_MBUFS);
    let mb = eal_memory_mb(mbufs, room);
    check_memory(mb, memory, "the nft-ct generator (dpdk-testpmd)")?;
    let tag = unique_prefix();
    progress.show(&format!("{label} starting"));
    let nft = Nft::start(NftNames::new(&tag), fwd_cpu, u64::from(case.flows))?;
    let eal = [
        memory.eal_flag().to_string(),
        "-m".into(),
        mb.to_string(),
        "--file-prefix".into(),
        tag.clone(),
    ];
    let pool = [
        format!("--mbuf-size={room}"),
        format!("--total-num-mbufs={mbufs}"),
    ];
    let args = generator_args(
        &opts.testpmd,
        &nft.names.gen,
        &case.capture,
        gen_cpu,
        framesz,
        &eal,
        &pool,
    );
    let command = format!(
        "kernel forwarding on CPU {fwd_cpu}, nftables ct state new,established accept; generator: {}",
        command_line(Path::new("ip"), &args)
    );
    let log = dir.join(format!("nft-generator-{}{log_suffix}.log", case.slug()));
    let errf = std::fs::File::create(&log).with_context(|| log.display().to_string())?;
    let mut child = Command::new("ip")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(errf)
        .spawn()
        .context("ip netns exec dpdk-testpmd")?;
    let rx = line_reader(&mut child)?;
    let mut p = Proc {
        child,
        name: "dpdk-testpmd (the nft-ct generator)".into(),
    };
    let mut parser = TestpmdParser::new(1);
    let mut offered = Vec::new();
    let mut drain = |offered: &mut Vec<f64>| {
        while let Ok(line) = rx.try_recv() {
            if let Some(pps) = parser.line(&line) {
                offered.push(pps);
            }
        }
    };
    // Until the sink's count moves, the generator must be running.
    let samples = sample_peer(
        opts,
        &label,
        case.seconds,
        progress,
        &mut || nft.sink_packets(),
        &mut || {
            drain(&mut offered);
            if p.running() {
                return Ok(());
            }
            bail!(
                "the generator ended early; its log ({}):\n{}",
                log.display(),
                tail(&log, 15)
            )
        },
    )?;
    let connections = nft.conntrack().ok();
    progress.end();
    let _ = p.stop(EXIT_GRACE);
    drop(nft);
    let rate = Rate::of(&samples, opts.warmup);
    let offered = Rate::of(&offered, opts.warmup).median;
    let mut notes = vec![format!("the generator offered {:.2} Mpps", offered / 1e6)];
    if offered > 0.0 && rate.median >= offered * 0.98 {
        notes.push("the kernel kept up with it: the generator was the limit".into());
    }
    if case.stats.tagged > 0 && !super::nft::kernel_has_vlan() {
        notes.push(super::nft::NO_VLAN.into());
    }
    if let Some(c) = connections.filter(|&c| c != u64::from(case.flows)) {
        notes.push(format!(
            "conntrack held {c} connections, the capture has {} flows",
            case.flows
        ));
    }
    let note = notes.join("; ");
    eprintln!("svcard bench: {label} {note}");
    Ok(BaselineRun {
        mode: Mode::NftCt,
        command,
        rate,
        connections,
        note: Some(note),
    })
}

/// The `svcard cli` command line of the show load: `taskset -c CORE svcard cli …` when
/// taskset exists (so the kernel keeps the cli off the worker's core), else without.
pub(crate) fn show_load_command(
    opts: &Options,
    socket: &Path,
    show: &str,
) -> (PathBuf, Vec<String>, bool) {
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

pub(crate) fn run_svcard(
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
    run.loaded_at = loaded_at(&run.lines, case.churn_timeout.is_none());
    run.rate = Rate::after(&tx, run.loaded_at, opts.warmup);
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

/// Runs a show command in a loop on a thread until told to stop.
#[derive(Debug)]
pub(crate) struct ShowLoader {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU32>,
    thread: Option<std::thread::JoinHandle<Vec<Walk>>>,
}

impl ShowLoader {
    pub(crate) fn start(prog: PathBuf, args: Vec<String>) -> Result<Self> {
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
    pub(crate) fn done(&self) -> u32 {
        self.done.load(Ordering::Relaxed)
    }
    pub(crate) fn finish(mut self) -> Vec<Walk> {
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
