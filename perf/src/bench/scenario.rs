//! The scenarios (`--scenario`): session scales, IMIX, connection setup, show under load, the FTP mix, zero loss; each makes its captures and cases and calls the runner.

use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};

use super::model::*;
use super::options::*;
use super::process::*;
use super::runner::*;
use super::setup::*;
use crate::recipes::{
    self, CaptureStats, ChurnSpec, Family, FlowSpec, FrameSize, Proto, TCP_EXCHANGE_FRAMES,
};

/// The show command the show-under-load scenario runs in a loop.
pub const SHOW_WALK: &str = "show security flow session extensive | count";

/// Estimate of svcard's memory per session beyond its mbuf pool (session table, timer
/// wheel, allocator slack), used only to decide whether a scale fits.
pub const TABLE_BYTES_PER_SESSION_ESTIMATE: u64 = 512;

/// Writes a capture into the work directory.
pub(crate) fn capture(
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
pub(crate) fn memory_note(frames: u64, max_len: usize, sessions: u32) -> Option<String> {
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
    if opts.scenarios.iter().any(|s| s.has_baselines()) {
        super::runner::check_programs(opts)?;
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
            let r = r?;
            // A churn capture the source came round before its sessions expired measured
            // hits on live sessions, not set-up: again with as many flows as the measured
            // set-up rate needs (unless --churn-fixed).
            let resized = match r.setup.as_ref().filter(|_| !opts.churn_fixed) {
                Some(s) if !turned_over(s) => churn_flows_needed(s).filter(|&n| n > p.n),
                _ => None,
            };
            let Some(n) = resized else {
                results.reports.push(r);
                continue;
            };
            let bigger = p.with_flows(n);
            let (frames, sessions) = bigger.size();
            let text = |outcome: &str| {
                let s = r.setup.as_ref();
                format!(
                    "{} flows: the source came round the capture every {:.2} s, inside the \
                     {} s idle timeout, so its frames hit live sessions; the {:.0} new \
                     sessions/s measured need about {n} flows to turn the table over: {outcome}",
                    p.n,
                    s.map_or(f64::NAN, |s| s.loop_s),
                    s.map_or(0, |s| s.timeout_s),
                    s.map_or(0.0, |s| s.peak_new_per_s),
                )
            };
            if let Some(why) = memory_note(frames, bigger.max_len(opts.size), sessions) {
                results.notes.push(Note {
                    scenario: sc.name().into(),
                    case: p.case.clone(),
                    text: text(&format!("not run again ({why})")),
                });
                results.reports.push(r);
                continue;
            }
            eprintln!("svcard bench: {} {}: {}", sc.name(), p.case, text("again"));
            results.notes.push(Note {
                scenario: sc.name().into(),
                case: bigger.case.clone(),
                text: text(&format!(
                    "run again with {n} flows (--churn-fixed keeps the count)"
                )),
            });
            let case = make_case(opts, &dir.path, &bigger, &mut progress)?;
            let r2 = run_case(opts, &dir.path, &case, &mut progress);
            if !dir.keep {
                let _ = std::fs::remove_file(&case.capture);
            }
            results.reports.push(r2?);
        }
        if sc == Scenario::Features {
            if let Some(note) = features_note(results) {
                results.notes.push(note);
            }
        }
    }
    Ok(())
}

/// What a pending case's capture is made of.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Recipe {
    Flows(FlowSpec),
    UdpChurn,
    TcpChurn,
    Ftp,
    /// The mix ([`recipes::mixed_flows`]) over this many passes.
    Mix {
        passes: u32,
    },
}

/// A case before its capture is written.
#[derive(Debug)]
pub(crate) struct Pending {
    sc: Scenario,
    n: u32,
    what: Recipe,
    case: String,
}

pub(crate) fn established(n: u32, size: FrameSize) -> Recipe {
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
    /// The same case with `n` flows (a churn capture sized to the host).
    pub(crate) fn with_flows(&self, n: u32) -> Pending {
        let case = match self.sc {
            Scenario::SetupUdp => format!("{n} new UDP flows"),
            Scenario::SetupTcp => format!("{n} TCP exchanges"),
            Scenario::Nat if matches!(self.what, Recipe::UdpChurn) => {
                format!("{n} new UDP flows NAPT44")
            }
            _ => self.case.clone(),
        };
        Pending {
            sc: self.sc,
            n,
            what: self.what,
            case,
        }
    }

    /// Frames its capture will hold, and the sessions it makes.
    pub(crate) fn size(&self) -> (u64, u32) {
        let n = u64::from(self.n);
        match self.what {
            Recipe::Flows(spec) => (n * if spec.both_directions { 2 } else { 1 }, self.n),
            Recipe::UdpChurn => (n, self.n),
            Recipe::TcpChurn => (n * TCP_EXCHANGE_FRAMES as u64, self.n),
            Recipe::Ftp => (
                n * recipes::FTP_SESSION_FRAMES as u64,
                self.n.saturating_mul(2),
            ),
            Recipe::Mix { passes } => (n * u64::from(passes), self.n),
        }
    }
    pub(crate) fn max_len(&self, size: usize) -> usize {
        match self.what {
            Recipe::Flows(spec) => spec.size.max_len(),
            Recipe::Ftp => 1514,
            // IPv6 + TCP + a tag is 78 bytes.
            Recipe::Mix { .. } => size.max(78),
            Recipe::UdpChurn | Recipe::TcpChurn => size,
        }
    }
}

/// The cases of scenario `sc` at `counts`; those that do not fit in memory are left out
/// with a note in `results`.
pub(crate) fn pending(
    opts: &Options,
    sc: Scenario,
    counts: &[u32],
    results: &mut Results,
) -> Vec<Pending> {
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
        Scenario::Mix => one(
            Recipe::Mix {
                // As the plain run's passes, fewer where the capture would pass its cap.
                passes: opts
                    .passes
                    .clamp(1, recipes::MAX_PASSES)
                    .min(u32::try_from(recipes::MAX_PASS_FRAMES / u64::from(n)).unwrap_or(u32::MAX))
                    .max(1),
            },
            format!(
                "{n} flows: {}% TCP, {}% IPv6, {}% VLAN, both ways",
                recipes::TCP_PERCENT,
                recipes::V6_PERCENT,
                recipes::VLAN_PERCENT
            ),
        ),
        // One direction, as the features' NAT case (a capture written ahead cannot know a
        // translated session's public endpoints for its replies).
        // And the set-up rate through NAT: every UDP flow new, as setup-udp.
        Scenario::Nat => vec![
            Pending {
                sc,
                n,
                what: Recipe::Flows(FlowSpec {
                    flows: n,
                    proto: Proto::Udp,
                    family: Family::V4,
                    vlan: None,
                    size,
                    both_directions: false,
                }),
                case: format!("{n} sessions NAPT44"),
            },
            Pending {
                sc,
                n,
                what: Recipe::UdpChurn,
                case: format!("{n} new UDP flows NAPT44"),
            },
        ],
        // One direction: a translated session's replies would need the public endpoints,
        // which a capture written ahead cannot know.
        // Every feature in turn, `rounds` times over: each round has its own plain run, so
        // a feature is priced against the host as it was minutes around it.
        // The TCP features run TCP flows both ways (picked up mid-stream: the capture has
        // no handshakes), priced against `tcp-plain`.
        Scenario::Features => (0..opts.rounds.max(1))
            .flat_map(|_| FEATURES.iter())
            .map(|f| {
                let tcp = f.starts_with("tcp-");
                Pending {
                    sc,
                    n,
                    what: Recipe::Flows(FlowSpec {
                        flows: n,
                        proto: if tcp { Proto::Tcp } else { Proto::Udp },
                        family: Family::V4,
                        vlan: None,
                        size,
                        both_directions: tcp,
                    }),
                    case: (*f).to_string(),
                }
            })
            .collect(),
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

/// The features the `features` scenario turns on in turn (the first is plain forwarding).
pub const FEATURES: &[&str] = &[
    "plain",
    "rules",
    "algs",
    "nat",
    "offload-armed",
    "logs-metrics",
    "tcp-plain",
    "tcp-window-checks",
];

/// The run a feature is priced against, in the same round: `plain`, but `tcp-plain` (TCP
/// flows both ways, sequence checks off) for the TCP checks.
#[must_use]
pub fn baseline(feature: &str) -> &'static str {
    if feature == "tcp-window-checks" {
        "tcp-plain"
    } else {
        "plain"
    }
}

/// The applications with an ALG the `algs` feature configures.
const ALG_APPS: &[&str] = &[
    "junos-ftp",
    "junos-tftp",
    "junos-dns-udp",
    "junos-sip",
    "junos-rtsp",
    "junos-pptp",
    "junos-sun-rpc-udp",
    "junos-ms-rpc-tcp",
    "junos-rsh",
    "junos-talk",
    "junos-icmp-all",
    "junos-h323",
    "junos-sqlnet-v2",
    "junos-ike",
];

/// Features the `features` scenario lists as skipped: not built yet (none today).
pub const FEATURES_NOT_BUILT: &[&str] = &[];

/// What a feature adds to the established set-up.
fn feature(setup: &mut SvcardSetup, name: &str, n: u32) {
    match name {
        "rules" => {
            // 200 rules whose prefixes the traffic misses, then one that accepts it: every
            // new session walks them (established ones never do).
            let mut r = String::new();
            for i in 0..200u32 {
                let _ = std::fmt::Write::write_fmt(
                    &mut r,
                    format_args!(
                        "[[service-set.rule]]\nname = \"r{i}\"\nsource = [\"172.{}.{}.0/24\"]\n\
                         destination = [\"192.168.{}.0/24\"]\naction = \"discard\"\n",
                        16 + i / 256,
                        i % 256,
                        i % 256
                    ),
                );
            }
            r.push_str("[[service-set.rule]]\nname = \"all\"\naction = \"accept\"\n");
            setup.rules = r;
        }
        "algs" => {
            // Every ALG's application accepted by a rule of its own ahead of the accept-all:
            // new sessions are classified against them (the capture's flows match none).
            let mut r = String::new();
            for app in ALG_APPS {
                let _ = std::fmt::Write::write_fmt(
                    &mut r,
                    format_args!(
                        "[[service-set.rule]]\nname = \"{app}\"\napplication = [\"{app}\"]\n\
                         action = \"accept\"\n"
                    ),
                );
            }
            r.push_str("[[service-set.rule]]\nname = \"all\"\naction = \"accept\"\n");
            setup.rules = r;
        }
        "nat" => {
            // The clients (10.0.0.0/8) to a pool with ports for every session.
            let addrs = (u64::from(n) / 60_000 + 1).next_power_of_two().max(2);
            let len = 32 - addrs.trailing_zeros();
            setup.ss_keys = "nat-rules = [\"clients\"]\n".into();
            setup.extra = format!(
                "[[nat.pool]]\nname = \"bench\"\naddress = \"100.64.0.0/{len}\"\n\
                 [[nat.rule]]\nname = \"clients\"\nsource = [\"10.0.0.0/8\"]\n\
                 translation-type = \"napt-44\"\npool = \"bench\"\n"
            );
        }
        "offload-armed" => {
            // `established` on the NIC model. The capture has no replies, so no UDP session
            // is ever established: every one stays armed, its packets checking the policy
            // (the price of a policy that waits; the offload scenario measures the rest).
            setup.ss_tables = "[service-set.offload]\npolicy = \"established\"\n".into();
            setup.extra = format!(
                "[offload]\nbackend = \"model\"\nmax-sessions = {}\n[offload.model]\n\
                 preset = \"generic\"\ncapacity = {}\n",
                n.max(1024),
                n.max(1024)
            );
        }
        "tcp-plain" => {
            // TCP without sequence checks: no window line, nothing read per segment.
            setup.extra = "[tcp-session]\nno-sequence-check = true\n".into();
        }
        // "tcp-window-checks": svcard's default (sequence windows checked); against
        // tcp-plain it prices the window line each segment reads and updates.
        "logs-metrics" => {
            // A collector nobody listens on: the messages are formatted and sent all the same.
            setup.extra =
                "[log]\nhost = \"127.0.0.1:5514\"\n[metrics]\nlisten = \"127.0.0.1:9466\"\n".into();
        }
        _ => {}
    }
}

/// The `features` scenario's table: each feature's rate and cycles per packet, and its
/// rate over the same round's plain run (median, min and max over the rounds), as a note
/// of the report.
pub(crate) fn features_note(results: &Results) -> Option<Note> {
    let runs: Vec<&RunReport> = results
        .reports
        .iter()
        .filter(|r| r.scenario == Scenario::Features.name())
        .collect();
    // Rounds in the order they ran: each starts with its plain run.
    let rounds: Vec<&[&RunReport]> = runs.chunks(FEATURES.len()).collect();
    let mut text = format!(
        "cost of each feature against plain forwarding (same capture; {} round{}; \
         of plain: median (min-max) of each round's rate over that round's plain run):",
        rounds.len(),
        if rounds.len() == 1 { "" } else { "s" }
    );
    let mhz = runs.first()?.cpu_mhz;
    for f in FEATURES {
        let mut pps = Vec::new();
        let mut ratio = Vec::new();
        for round in &rounds {
            let rate = |name: &str| {
                round
                    .iter()
                    .find(|r| r.case == name)
                    .map(|r| r.svcard.rate.median)
            };
            if let Some(p) = rate(f) {
                pps.push(p);
                if let Some(plain) = rate(baseline(f)).filter(|&x| x > 0.0) {
                    ratio.push(p / plain);
                }
            }
        }
        if pps.is_empty() {
            continue;
        }
        let (rate, _, _) = median_min_max(&pps);
        let cyc = cycles_per_packet(mhz, rate).map_or("-".into(), |c| format!("{c:.0}"));
        let of_plain = if ratio.is_empty() {
            "-".to_string()
        } else {
            let (m, lo, hi) = median_min_max(&ratio);
            format!("{m:.3} ({lo:.3}-{hi:.3}) of {}", baseline(f))
        };
        let _ = std::fmt::Write::write_fmt(
            &mut text,
            format_args!(
                "\n    {f:<17} {:>7.2} Mpps  {cyc:>5} cyc/pkt  {of_plain}",
                rate / 1e6
            ),
        );
    }
    for f in FEATURES_NOT_BUILT {
        let _ = std::fmt::Write::write_fmt(
            &mut text,
            format_args!("\n    {f:<17} skipped: not built yet"),
        );
    }
    Some(Note {
        scenario: Scenario::Features.name().into(),
        case: String::new(),
        text,
    })
}

/// Whether a churn run turned its table over: nearly every frame of the capture made a
/// session (the source came round each flow after its session had ended).
#[must_use]
pub fn turned_over(s: &SetupFigures) -> bool {
    // Not known (no frames, no expectation): taken as turned over, nothing to size.
    s.new_per_frame.partial_cmp(&(0.9 * s.expected_per_frame)) != Some(std::cmp::Ordering::Less)
}

/// Flows (connections) a churn capture needs for each to come round only after its
/// session has expired: the highest set-up rate measured (the first seconds, when every
/// flow is new, warm-up included) over the idle timeout plus a second of the timer's granularity and
/// slack, a quarter more, rounded up to a multiple of 2^20. None without a rate.
#[must_use]
pub fn churn_flows_needed(s: &SetupFigures) -> Option<u32> {
    let rate = s.peak_new_per_s;
    if !rate.is_finite() || rate <= 0.0 {
        return None;
    }
    let flows = rate * (f64::from(s.timeout_s) + 1.0) * 1.25;
    let mib = (flows / f64::from(1u32 << 20)).ceil().max(1.0);
    u32::try_from(mib as u64 * (1 << 20)).ok()
}

/// The rule that makes port 21 `junos-ftp` (and so runs the FTP ALG) in `alg-mix`.
pub const FTP_RULE: &str =
    "[[service-set.rule]]\nname = \"ftp\"\napplication = [\"junos-ftp\"]\naction = \"accept\"\n";

/// svcard's set-up for scenario `sc` at `n` sessions, and the idle timeout that turns the
/// table over in the setup scenarios.
#[must_use]
pub fn setup_for(sc: Scenario, n: u32, what: String) -> (SvcardSetup, Option<u32>) {
    let what_case = what.clone();
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
        Scenario::Features => feature(&mut setup, &what_case, n),
        Scenario::Nat => {
            feature(&mut setup, "nat", n);
            if what_case.contains("new UDP flows") {
                setup.timeouts = vec![("udp", 1)];
                churn = Some(1);
            }
        }
        Scenario::Sessions
        | Scenario::Imix
        | Scenario::ShowUnderLoad
        | Scenario::ZeroLoss
        | Scenario::Mix => {}
    }
    (setup, churn)
}

pub(crate) fn make_case(
    opts: &Options,
    dir: &Path,
    p: &Pending,
    progress: &mut Progress,
) -> Result<Case> {
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
        Recipe::Mix { passes } => {
            let r = capture(
                dir,
                &slug,
                progress,
                recipes::mixed_flows(n, opts.size, passes),
            )?;
            (FrameSize::Fixed(r.1.max_len), r)
        }
    };
    let frame_label = match p.what {
        Recipe::Ftp | Recipe::Mix { .. } => {
            format!("mixed, mean {:.0} B", stats.mean_len() + 4.0)
        }
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
    use super::super::setup::svcard_config_for;
    use super::*;
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

    /// Each case of `features` configures what it names, and nothing else: its
    /// configuration parses and turns its feature on (plain turns none on).
    #[test]
    fn every_feature_s_configuration_parses_and_turns_its_feature_on() {
        let n = 1 << 20;
        for f in FEATURES {
            let (s, churn) = setup_for(Scenario::Features, n, (*f).to_string());
            assert_eq!(churn, None, "{f}: the established capture never churns");
            let c = parse(&s, n);
            let ss = &c.service_sets[0];
            let on = [
                ("rules", ss.rules.len() > 200),
                ("algs", ss.rules.len() == ALG_APPS.len() + 1),
                (
                    "nat",
                    c.nat_rule_for(
                        0,
                        "10.1.2.3".parse().unwrap(),
                        "198.51.100.1".parse().unwrap(),
                    )
                    .is_some(),
                ),
                ("offload-armed", c.offload_enabled()),
                // Sequence checks are the default: only tcp-plain turns them off.
                ("tcp-plain", !c.checks_tcp_segments()),
                (
                    "logs-metrics",
                    c.log.host.is_some() && c.metrics.listen.is_some(),
                ),
            ];
            for (name, is_on) in on {
                assert_eq!(is_on, name == *f, "{f}: {name} is {is_on}");
            }
        }
        // The pool has a port for every session at a million flows.
        let (s, _) = setup_for(Scenario::Features, n, "nat".into());
        let c = parse(&s, n);
        let ports: u64 = c
            .nat
            .pools
            .iter()
            .map(|p| p.address_count() * u64::from(p.port_high - p.port_low + 1))
            .sum();
        assert!(ports >= u64::from(n), "{ports} ports for {n} sessions");
        // Every ALG application the `algs` case names is one with an ALG.
        for app in ALG_APPS {
            let i = c.application_index(app).unwrap_or_else(|| panic!("{app}"));
            assert!(c.alg_enabled(i).is_some(), "{app} has no ALG");
        }
    }

    #[test]
    fn a_churn_capture_is_sized_from_the_set_up_rate_measured() {
        let mut s = SetupFigures {
            timeout_s: 1,
            expected_per_frame: 1.0,
            new_per_frame: 0.3,
            ..SetupFigures::default()
        };
        s.peak_new_per_s = 3.1e6;
        assert!(!turned_over(&s));
        // 3.1M/s over 1 s + 1 s, a quarter more: 7.75M, up to 8 Mi.
        assert_eq!(churn_flows_needed(&s), Some(8 << 20));
        s.new_per_frame = 0.95;
        assert!(turned_over(&s));
        s.peak_new_per_s = 0.0;
        assert_eq!(churn_flows_needed(&s), None);
        let opts_case = Pending {
            sc: Scenario::SetupUdp,
            n: 1 << 22,
            what: Recipe::UdpChurn,
            case: "4194304 new UDP flows".into(),
        };
        let b = opts_case.with_flows(8 << 20);
        assert_eq!(
            (b.case.as_str(), b.size()),
            ("8388608 new UDP flows", (8 << 20, 8 << 20))
        );
    }

    #[test]
    fn pending_cases() {
        let opts = Options::for_tests();
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
        // The mix: the plain run's passes (one here), frames up to IPv6 + TCP + a tag.
        let p = pending(&opts, Scenario::Mix, &[1000], &mut r);
        assert_eq!(p[0].size(), (1000, 1000));
        assert_eq!(p[0].max_len(60), 78);
        assert_eq!(
            p[0].case,
            "1000 flows: 70% TCP, 25% IPv6, 20% VLAN, both ways"
        );
        let four = Options {
            passes: 4,
            ..opts.clone()
        };
        assert_eq!(
            pending(&four, Scenario::Mix, &[1000], &mut r)[0].size(),
            (4000, 1000)
        );
        // Fewer passes where 4 would pass the capture's cap.
        assert_eq!(
            pending(&four, Scenario::Mix, &[8 << 20], &mut r)
                .first()
                .map_or((16 << 20, 8 << 20), Pending::size),
            (16 << 20, 8 << 20)
        );
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
