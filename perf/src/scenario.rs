//! Scenarios of `svcard bench --scenario NAME`: which captures are made, how svcard is set
//! up for them, and which figures come out. Each scenario is a list of [`Case`]s run by
//! the same runner as the plain benchmark ([`crate::bench`]).
//!
//! | scenario | capture | svcard | figures |
//! |---|---|---|---|
//! | `sessions` | N established UDP flows, both directions, N = 1k, 64k, 1M, 4M | accept-all, UDP timeout 1 h | rate and ratio to testpmd per N, B/session |
//! | `imix` | 64k flows, 64 B and IMIX | same | rate, Gbps, ratio per frame size |
//! | `setup-udp` | every frame a new UDP flow (4M flows) | UDP timeout 1 s | new sessions/s, expiring/s |
//! | `setup-tcp` | full TCP exchanges (1M connections × 8 frames) | TCP timeouts 1 s | new sessions/s, expiring/s |
//! | `show-under-load` | 1M established UDP flows | accept-all | rate with `show … extensive \| count` walking in a loop vs without |
//! | `alg-mix` | FTP control + data connections (10k sessions) | port 21 is `junos-ftp` | rate, ratio to testpmd |
//! | `zero-loss` | 64k flows | accept-all | RFC 2544 search where the source can be rate-limited (not with `net_pcap`) |

use anyhow::{bail, Context as _, Result};
use std::path::{Path, PathBuf};

use crate::bench::{
    find_program, mem_available, run_case, svcard_memory_mb, Case, Note, Options, Progress,
    Results, SvcardSetup, WorkDir, TESTPMD_MISSING,
};
use crate::recipes::{
    self, CaptureStats, ChurnSpec, Family, FlowSpec, FrameSize, Proto, TCP_EXCHANGE_FRAMES,
};

/// A benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Established UDP at several session counts.
    Sessions,
    /// 64-byte frames and IMIX at one session count.
    Imix,
    /// Setup rate, every UDP flow new.
    SetupUdp,
    /// Setup rate, full TCP exchanges.
    SetupTcp,
    /// Forwarding while show commands walk every session.
    ShowUnderLoad,
    /// The FTP (ALG) mix.
    AlgMix,
    /// RFC 2544 zero-loss throughput.
    ZeroLoss,
}

/// The show command the show-under-load scenario runs in a loop.
pub const SHOW_WALK: &str = "show security flow session extensive | count";

/// Estimate of svcard's memory per session beyond its mbuf pool (session table, timer
/// wheel, allocator slack), used only to decide whether a scale fits.
pub const TABLE_BYTES_PER_SESSION_ESTIMATE: u64 = 512;

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

impl Scenario {
    /// Every scenario, in the order `all` runs them.
    pub const ALL: [Self; 7] = [
        Self::Sessions,
        Self::Imix,
        Self::SetupUdp,
        Self::SetupTcp,
        Self::ShowUnderLoad,
        Self::AlgMix,
        Self::ZeroLoss,
    ];

    /// The name on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sessions => "sessions",
            Self::Imix => "imix",
            Self::SetupUdp => "setup-udp",
            Self::SetupTcp => "setup-tcp",
            Self::ShowUnderLoad => "show-under-load",
            Self::AlgMix => "alg-mix",
            Self::ZeroLoss => "zero-loss",
        }
    }

    /// Parses a scenario name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s.trim())
    }

    /// The names, for messages.
    #[must_use]
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }

    /// The session (flow, connection, FTP session) counts it runs by default.
    #[must_use]
    pub fn default_flows(self) -> Vec<u32> {
        match self {
            Self::Sessions => vec![1000, 65_536, 1 << 20, 1 << 22],
            Self::Imix | Self::ZeroLoss => vec![65_536],
            Self::SetupUdp => vec![1 << 22],
            Self::SetupTcp => vec![1 << 20],
            Self::ShowUnderLoad => vec![1 << 20],
            Self::AlgMix => vec![10_000],
        }
    }

    /// Whether its cases run the testpmd baselines.
    #[must_use]
    pub fn has_baselines(self) -> bool {
        matches!(self, Self::Sessions | Self::Imix | Self::AlgMix)
    }
}

/// Writes a capture into the work directory.
fn capture(
    dir: &Path,
    name: &str,
    progress: &mut Progress,
    frames: impl Iterator<Item = (bool, Vec<u8>)>,
) -> Result<(PathBuf, CaptureStats)> {
    let path = dir.join(format!("{name}.pcap"));
    progress.show(&format!("[capture {name}] writing {}", path.display()));
    let st =
        recipes::write_capture(&path, None, frames).with_context(|| path.display().to_string())?;
    progress.end();
    Ok((path, st))
}

/// Whether svcard (and testpmd, which needs less) fits in the available memory; the note
/// to give when it does not.
fn memory_note(frames: u64, max_len: usize, sessions: u32) -> Option<String> {
    let frames = u32::try_from(frames).unwrap_or(u32::MAX);
    let need = svcard_memory_mb(frames, max_len, sessions, TABLE_BYTES_PER_SESSION_ESTIMATE);
    let avail = mem_available()?;
    (need > avail).then(|| {
        format!(
            "skipped: svcard would need about {need} MB ({frames} frames held in 4 KiB-page mbufs \
             without hugepages, plus about {TABLE_BYTES_PER_SESSION_ESTIMATE} B per session) and \
             only {avail} MB is available"
        )
    })
}

/// Runs `opts.scenarios` in order, pushing each finished case to `results` and a note
/// for each case skipped. Captures are written one at a time, just before their case runs,
/// and removed after it (unless kept).
///
/// # Errors
/// As [`crate::bench::run`].
pub fn run_all(opts: &Options, results: &mut Results) -> Result<()> {
    let baselines = opts.scenarios.iter().any(|s| s.has_baselines());
    if baselines && !opts.baselines.is_empty() && find_program(&opts.testpmd).is_none() {
        bail!("{TESTPMD_MISSING}");
    }
    let dir = WorkDir::new(opts.keep.as_deref())?;
    let mut progress = Progress::new();
    for &sc in &opts.scenarios {
        let counts = if opts.flows_override.is_empty() {
            sc.default_flows()
        } else if sc == Scenario::Sessions {
            opts.flows_override.clone()
        } else {
            vec![opts.flows_override[0]]
        };
        for p in pending(opts, sc, &counts, results) {
            opts.check_interrupted()?;
            let case = make_case(opts, &dir.path, &p, &mut progress)?;
            let r = run_case(opts, &dir.path, &case, &mut progress);
            if !dir.keep {
                let _ = std::fs::remove_file(&case.capture);
            }
            results.reports.push(r?);
        }
    }
    Ok(())
}

/// What a pending case's capture is made of.
#[derive(Debug, Clone, Copy)]
enum Recipe {
    Flows(FlowSpec),
    UdpChurn,
    TcpChurn,
    Ftp,
}

/// A case before its capture is written.
#[derive(Debug)]
struct Pending {
    sc: Scenario,
    n: u32,
    what: Recipe,
    case: String,
}

fn established(n: u32, size: FrameSize) -> Recipe {
    Recipe::Flows(FlowSpec {
        flows: n,
        proto: Proto::Udp,
        family: Family::V4,
        vlan: None,
        size,
        both_directions: true,
    })
}

impl Pending {
    /// Frames its capture will hold, and the sessions it makes.
    fn size(&self) -> (u64, u32) {
        let n = u64::from(self.n);
        match self.what {
            Recipe::Flows(spec) => (n * if spec.both_directions { 2 } else { 1 }, self.n),
            Recipe::UdpChurn => (n, self.n),
            Recipe::TcpChurn => (n * TCP_EXCHANGE_FRAMES as u64, self.n),
            Recipe::Ftp => (
                n * recipes::FTP_SESSION_FRAMES as u64,
                self.n.saturating_mul(2),
            ),
        }
    }
    fn max_len(&self, size: usize) -> usize {
        match self.what {
            Recipe::Flows(spec) => spec.size.max_len(),
            Recipe::Ftp => 1514,
            Recipe::UdpChurn | Recipe::TcpChurn => size,
        }
    }
}

/// The cases of scenario `sc` at `counts`; those that do not fit in memory are left out
/// with a note in `results`.
fn pending(opts: &Options, sc: Scenario, counts: &[u32], results: &mut Results) -> Vec<Pending> {
    let n = counts.first().copied().unwrap_or(1).max(1);
    let size = FrameSize::Fixed(opts.size);
    let one = |what: Recipe, case: String| vec![Pending { sc, n, what, case }];
    let all = match sc {
        Scenario::Sessions => counts
            .iter()
            .map(|&n| Pending {
                sc,
                n,
                what: established(n, size),
                case: format!("{n} sessions"),
            })
            .collect(),
        Scenario::Imix => [FrameSize::Fixed(60), FrameSize::Imix]
            .into_iter()
            .map(|frame| Pending {
                sc,
                n,
                what: established(n, frame),
                case: format!("{n} sessions {}", frame.label()),
            })
            .collect(),
        Scenario::SetupUdp => one(Recipe::UdpChurn, format!("{n} new UDP flows")),
        Scenario::SetupTcp => one(Recipe::TcpChurn, format!("{n} TCP exchanges")),
        Scenario::ShowUnderLoad | Scenario::ZeroLoss => {
            one(established(n, size), format!("{n} sessions"))
        }
        Scenario::AlgMix => one(Recipe::Ftp, format!("{n} FTP sessions")),
    };
    let mut v = Vec::new();
    for p in all {
        let (frames, sessions) = p.size();
        if let Some(text) = memory_note(frames, p.max_len(opts.size), sessions) {
            eprintln!("svcard bench: {} {}: {text}", sc.name(), p.case);
            results.notes.push(Note {
                scenario: sc.name().into(),
                case: p.case.clone(),
                text,
            });
        } else {
            v.push(p);
        }
    }
    v
}

/// The rule that makes port 21 `junos-ftp` (and so runs the FTP ALG) in `alg-mix`.
pub const FTP_RULE: &str =
    "[[service-set.rule]]\nname = \"ftp\"\napplication = [\"junos-ftp\"]\naction = \"accept\"\n";

/// svcard's set-up for scenario `sc` at `n` sessions, and the idle timeout that turns the
/// table over in the setup scenarios.
#[must_use]
pub fn setup_for(sc: Scenario, n: u32, what: String) -> (SvcardSetup, Option<u32>) {
    let mut setup = SvcardSetup::established(n, what);
    let mut churn = None;
    match sc {
        Scenario::SetupUdp => {
            setup.timeouts = vec![("udp", 1)];
            churn = Some(1);
        }
        Scenario::SetupTcp => {
            setup.timeouts = vec![
                ("tcp-syn", 1),
                ("tcp-established", 1),
                ("tcp-closing", 1),
                ("tcp-closed", 1),
            ];
            churn = Some(1);
        }
        Scenario::AlgMix => {
            // Control and data connection per FTP session.
            setup.rules = FTP_RULE.into();
            setup.max_sessions = n.saturating_mul(2).max(1024);
        }
        Scenario::Sessions | Scenario::Imix | Scenario::ShowUnderLoad | Scenario::ZeroLoss => {}
    }
    (setup, churn)
}

fn make_case(opts: &Options, dir: &Path, p: &Pending, progress: &mut Progress) -> Result<Case> {
    let (sc, n) = (p.sc, p.n);
    let slug: String = format!("{}-{}", sc.name(), p.case)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let (setup, churn_timeout) = setup_for(sc, n, p.case.clone());
    let fixed = FrameSize::Fixed(opts.size);
    let (frame, (capture_path, stats)) = match p.what {
        Recipe::Flows(spec) => (
            spec.size,
            capture(dir, &slug, progress, recipes::flows(spec))?,
        ),
        Recipe::UdpChurn => (
            fixed,
            capture(
                dir,
                &slug,
                progress,
                recipes::udp_churn(n, Family::V4, None, opts.size),
            )?,
        ),
        Recipe::TcpChurn => {
            let spec = ChurnSpec {
                connections: n,
                family: Family::V4,
                vlan: None,
                size: opts.size,
                concurrency: 16,
            };
            (
                fixed,
                capture(dir, &slug, progress, recipes::tcp_churn(spec))?,
            )
        }
        Recipe::Ftp => {
            let r = capture(dir, &slug, progress, recipes::ftp_mix(n, Family::V4, None))?;
            (FrameSize::Fixed(r.1.max_len), r)
        }
    };
    let frame_label = match p.what {
        Recipe::Ftp => format!("mixed, mean {:.0} B", stats.mean_len() + 4.0),
        _ => frame.label(),
    };
    Ok(Case {
        scenario: sc.name().into(),
        case: p.case.clone(),
        flows: n,
        capture: capture_path,
        stats,
        frame,
        frame_label,
        setup,
        baselines: sc.has_baselines(),
        rounds: if sc.has_baselines() { opts.rounds } else { 1 },
        seconds: opts.seconds,
        show_load: (sc == Scenario::ShowUnderLoad).then(|| SHOW_WALK.to_string()),
        zero_loss: sc == Scenario::ZeroLoss,
        churn_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::svcard_config_for;
    use svcard_config::Config;

    fn parse(setup: &SvcardSetup, frames: u32) -> Config {
        let text = svcard_config_for(
            Path::new("/tmp/x.pcap"),
            frames,
            1024,
            "p",
            256,
            setup,
            crate::hugepages::EalMemory::NoHuge,
        );
        Config::from_toml_str(&text, Path::new("bench.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse(s.name()), Some(s));
        }
        assert_eq!(Scenario::parse("nope"), None);
        assert_eq!(
            Scenario::Sessions.default_flows(),
            vec![1000, 65_536, 1_048_576, 4_194_304]
        );
    }

    #[test]
    fn configurations_parse() {
        // Established: small mbufs (no hugepages: 256-byte data room), pool = frames + spare,
        // nothing expires during a run.
        let (s, churn) = setup_for(Scenario::Sessions, 1 << 20, "x".into());
        assert_eq!(churn, None);
        let c = parse(&s, 2 << 20);
        assert_eq!(c.dpdk.mbuf_data_room, 256);
        assert!(c.dpdk.mbufs >= (2 << 20) + 40_000);
        assert_eq!(c.timeouts.udp, 3600);
        assert_eq!(c.limits.max_sessions, 1 << 20);
        // setup-udp: the UDP timeout is 1 s so the table turns over.
        let (s, churn) = setup_for(Scenario::SetupUdp, 4096, "x".into());
        assert_eq!(churn, Some(1));
        assert_eq!(parse(&s, 4096).timeouts.udp, 1);
        // setup-tcp: every TCP state times out after 1 s.
        let (s, _) = setup_for(Scenario::SetupTcp, 4096, "x".into());
        let t = parse(&s, 8 * 4096).timeouts;
        assert_eq!(
            (t.tcp_syn, t.tcp_established, t.tcp_closing, t.tcp_closed),
            (1, 1, 1, 1)
        );
        // alg-mix: port 21 is junos-ftp (its ALG), room for control + data sessions.
        let (s, _) = setup_for(Scenario::AlgMix, 10_000, "x".into());
        let c = parse(&s, 270_000);
        assert_eq!(c.limits.max_sessions, 20_000);
        let ftp = c.application_index("junos-ftp").unwrap();
        assert_eq!(c.lookup_application(6, 21), ftp);
        assert!(c.alg_enabled(ftp).is_some());
        assert_eq!(c.service_sets[0].rules.len(), 1);
    }

    #[test]
    fn pending_cases() {
        let opts = Options {
            flows: vec![],
            size: 60,
            seconds: 3,
            baselines: vec![],
            keep: None,
            svcard: "svcard".into(),
            testpmd: "dpdk-testpmd".into(),
            warmup: 1,
            rounds: 1,
            interrupted: std::sync::Arc::default(),
            scenarios: vec![],
            flows_override: vec![],
            cli_core: 0,
            passes: 1,
            hugepages: crate::hugepages::Hugepages::No,
        };
        let mut r = Results::default();
        let p = pending(&opts, Scenario::Imix, &[1000], &mut r);
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].case, "1000 sessions IMIX");
        assert_eq!(p[1].max_len(60), 1514);
        assert_eq!(p[0].size(), (2000, 1000));
        let p = pending(&opts, Scenario::SetupTcp, &[1000], &mut r);
        assert_eq!(p[0].size(), (8000, 1000));
        let p = pending(&opts, Scenario::AlgMix, &[10], &mut r);
        assert_eq!(p[0].size(), (270, 20));
        // A scale far beyond any memory is skipped with a note, not attempted.
        let p = pending(&opts, Scenario::Sessions, &[1000, MAX_TEST_FLOWS], &mut r);
        if mem_available().is_some() {
            assert_eq!(p.len(), 1);
            assert_eq!(r.notes.len(), 1);
            assert!(r.notes[0]
                .text
                .starts_with("skipped: svcard would need about"));
        }
    }

    /// More flows than any test machine has memory for (about 100 GB of pool).
    const MAX_TEST_FLOWS: u32 = 16_000_000 * 7;
}
