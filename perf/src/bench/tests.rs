//! Tests of the benchmark's parts that need no DPDK: parsers, configuration, figures,
//! reports.

use super::*;
use crate::hugepages::EalMemory;
use crate::recipes::{CaptureStats, FrameSize};
use std::path::{Path, PathBuf};
use svcard_dataplane::stats::{self, LocalStats, LoopTimes};

/// A report with the given rates, for tests of the renderers.
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
            connections: None,
            note: None,
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
            tagged: 0,
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

use super::json::*;
use super::report::*;

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
        t.contains("over 1 rounds of baseline, svcard, baseline back to back"),
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
    // The host the run was made on, with each case.
    let j: serde_json::Value = serde_json::from_str(&json).unwrap();
    let host = &j[0]["host"];
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(host["kernel"], kernel.trim(), "{host}");
    assert!(
        host["logical_cores"].as_u64().is_some_and(|n| n >= 1),
        "{host}"
    );
    assert!(host.get("cpu_model").is_some() && host.get("dpdk_version").is_some());
}

#[test]
fn a_rounds_baseline_spans_its_runs_before_and_after_svcard() {
    let run = |samples: &[f64]| BaselineRun {
        mode: Mode::FiveTupleSwap,
        command: "dpdk-testpmd".into(),
        rate: Rate::of(samples, 2),
        connections: None,
        note: None,
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
        reason: super::runner::ZERO_LOSS_NOT_APPLICABLE.into(),
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
    let near = |v: &serde_json::Value, want: f64| (v.as_f64().unwrap() - want).abs() < want * 1e-3;
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
    // The plain benchmark's JSON keeps its shape: an array, empty without reports.
    let empty: serde_json::Value = serde_json::from_str(&to_json(&[])).unwrap();
    assert_eq!(empty, serde_json::json!([]));
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
    let r = Rate::of(&[1.0, 2.0, 3.0, 10.0, 30.0, 20.0], 3);
    assert_eq!((r.median, r.min, r.max, r.periods), (20.0, 10.0, 30.0, 3));
    // The warm-up counts from the first period with traffic (a capture loading before).
    let r = Rate::of(&[0.0, 0.0, 1.0, 2.0, 3.0, 10.0, 30.0, 20.0], 3);
    assert_eq!((r.median, r.min, r.max, r.periods), (20.0, 10.0, 30.0, 3));
    let r = Rate::of(&[5.0], 3);
    assert_eq!(r.periods, 1);
    assert_eq!(mbuf_data_room(60), 256);
    assert_eq!(mbuf_data_room(1514), 1664);
    assert_eq!(mbuf_footprint(256), 455);
    assert_eq!(mbuf_footprint(2176), 4096);
    assert!((gbps(14_880_952.0, 60) - 10.0).abs() < 0.001);
    assert_eq!(cycles_per_packet(Some(2000.0), 20e6), Some(100.0));
    let j: serde_json::Value = serde_json::from_str(&to_json(&[])).unwrap();
    assert_eq!(j, serde_json::json!([]));
}

#[test]
fn the_json_keeps_strings_whole_and_numbers_as_the_tables_show_them() {
    let mut r = fake_report("sessions", 1000, FrameSize::Fixed(60), &[1e6], &[]);
    r.svcard.config = "name = \"a\\b\"\nnext line\t".into();
    r.cpu_mhz = Some(2_445.123_456);
    r.svcard.rate.samples = vec![1_000_000.0, 1.234_567, f64::NAN];
    let text = to_json(std::slice::from_ref(&r));
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j[0]["svcard"]["config"], r.svcard.config.as_str());
    assert_eq!(j[0]["cpu_mhz"], 2445.123);
    let samples = &j[0]["svcard"]["samples_pps"];
    assert!(samples[0].is_u64() || samples[0].is_i64(), "{samples}");
    assert_eq!(samples[1], 1.235);
    assert!(samples[2].is_null());
    // Keys in the order the report writes them.
    let first = text.find("\"scenario\"").unwrap();
    assert!(first < text.find("\"baselines\"").unwrap());
    assert!(text.find("\"svcard\"").unwrap() < text.find("\"ratio_svcard_to\"").unwrap());
}

/// The features table prices each feature against the plain run of its own round, and
/// lists the features not built.
#[test]
fn the_features_table_prices_each_feature_against_its_round_s_plain_run() {
    use super::scenario::{features_note, FEATURES, FEATURES_NOT_BUILT};
    let mut results = Results::default();
    // Two rounds; the host is twice as fast in the second. NAT costs 20 % in both.
    for speed in [1.0, 2.0] {
        for f in FEATURES {
            let pps = if *f == "nat" { 8e6 } else { 10e6 } * speed;
            let mut r = fake_report("features", 1 << 20, FrameSize::Fixed(60), &[pps; 4], &[]);
            r.case = (*f).to_string();
            results.reports.push(r);
        }
    }
    let note = features_note(&results).expect("a table");
    let line = |name: &str| {
        note.text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{}", note.text))
            .to_string()
    };
    assert!(note.text.contains("2 rounds"), "{}", note.text);
    assert!(
        line("nat").ends_with("0.800 (0.800-0.800) of plain"),
        "{}",
        note.text
    );
    assert!(
        line("plain").ends_with("1.000 (1.000-1.000) of plain"),
        "{}",
        note.text
    );
    // The rate is the median over the rounds (the lower of two: 8 and 16 Mpps), its
    // cycles at the nominal 2000 MHz.
    assert!(
        line("nat").contains(" 8.00 Mpps    250 cyc/pkt"),
        "{}",
        note.text
    );
    // The TCP checks are priced against the TCP flows without them.
    assert!(
        line("tcp-window-checks").ends_with("1.000 (1.000-1.000) of tcp-plain"),
        "{}",
        note.text
    );
    for f in FEATURES_NOT_BUILT {
        assert!(line(f).ends_with("skipped: not built yet"), "{}", note.text);
    }
}

/// A peer's row beside testpmd's: its rate and ratio, its conntrack count after the table;
/// a peer that did not run says so and why, with no ratio.
#[test]
fn a_peer_has_a_row_its_connections_and_a_not_run_note() {
    let mut r = fake_report("flows", 1000, FrameSize::Fixed(60), &[20e6; 4], &[10e6; 4]);
    let mut peer = r.baselines[0].clone();
    peer.mode = Mode::OvsCt;
    peer.rate = Rate::of(&[2e6, 2e6, 2e6, 2e6], 1);
    peer.connections = Some(1000);
    r.baselines.push(peer);
    r.round_ratios.push(vec![5.0]);
    let mut skipped = r.clone();
    skipped.flows = 1_000_000;
    skipped.baselines[1].rate = Rate::default();
    skipped.baselines[1].connections = None;
    skipped.baselines[1].note = Some("not run: too many frames".into());
    skipped.round_ratios[1] = vec![f64::NAN];
    let results = Results {
        reports: vec![r, skipped],
        ..Results::default()
    };
    let text = render_report(&results);
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("ovs-ct")).collect();
    assert!(rows[0].contains(" 2.00 ("), "{text}");
    assert!(rows[0].contains("10.000"), "{text}");
    assert!(rows[1].contains("not run"), "{text}");
    assert!(
        text.contains("ovs-ct: 1000 connections in its conntrack (1000 flows in the capture)"),
        "{text}"
    );
    assert!(text.contains("ovs-ct: not run: too many frames"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&results_json(&results)).unwrap();
    let b = &json[0]["baselines"][1];
    assert_eq!(b["tool"], "ovs-vswitchd (OVS-DPDK)");
    assert_eq!(b["connections"], 1000);
    assert_eq!(json[1]["baselines"][1]["note"], "not run: too many frames");
}

/// A peer starts forwarding when its sink counts a burst of packets, not the few a link
/// sends by itself; then a sample a second, each the count's growth over its second.
#[test]
fn a_peer_is_sampled_once_it_forwards_and_not_on_link_noise() {
    use super::runner::sample_peer;
    let mut opts = Options::for_tests();
    opts.seconds = 2;
    let mut progress = super::process::Progress::new();
    let t0 = std::time::Instant::now();
    // A few packets of noise for the first 0.7 s, then 100,000 packets a second.
    let mut count = || -> anyhow::Result<u64> {
        let t = t0.elapsed().as_secs_f64();
        Ok(if t < 0.7 {
            (t * 20.0) as u64
        } else {
            14 + ((t - 0.7) * 100_000.0) as u64
        })
    };
    let mut checks = 0;
    let samples = sample_peer(&opts, "[t]", 2, &mut progress, &mut count, &mut || {
        checks += 1;
        Ok(())
    })
    .unwrap();
    assert!(t0.elapsed().as_secs_f64() > 2.7, "{:?}", t0.elapsed());
    assert_eq!(samples.len(), 2);
    for s in &samples {
        assert!((90_000.0..110_000.0).contains(s), "{samples:?}");
    }
    assert!(checks >= 5);
    // A check that fails ends the wait with its error.
    let mut never = || -> anyhow::Result<u64> { Ok(0) };
    let e = sample_peer(&opts, "[t]", 2, &mut progress, &mut never, &mut || {
        anyhow::bail!("the generator ended early")
    })
    .unwrap_err();
    assert!(
        format!("{e:#}").contains("the generator ended early"),
        "{e:#}"
    );
}

/// Established traffic is measured once every session is made: a feature that slows
/// set-up (200 rules walked per new session made 1M sessions in 3 s here) is not priced
/// on the seconds it spent making them; a churn is measured from the start.
#[test]
fn established_rates_count_from_the_table_loaded() {
    use super::runner::loaded_at;
    let line = |created: u64, tx: f64| RateLine {
        tx_pps: tx,
        created,
        ..RateLine::default()
    };
    // Three seconds of set-up at 0.35 M sessions/s, then 11 Mpps established.
    let lines = [
        line(335_872, 0.33e6),
        line(696_320, 0.36e6),
        line(1_048_576, 0.86e6),
        line(1_048_576, 11.2e6),
        line(1_048_576, 11.6e6),
        line(1_048_576, 11.4e6),
    ];
    assert_eq!(loaded_at(&lines, true), 3);
    assert_eq!(loaded_at(&lines, false), 0);
    // Sessions made in every second (a churn, or a capture that never settles): from 0.
    let churn: Vec<RateLine> = (1..6).map(|k| line(k * 1000, 1e6)).collect();
    assert_eq!(loaded_at(&churn, true), 0);
    let tx: Vec<f64> = lines.iter().map(|l| l.tx_pps).collect();
    // With one warm-up period: the old rule kept the set-up's last second.
    assert_eq!(Rate::of(&tx, 1).min, 0.36e6);
    let r = Rate::after(&tx, 3, 1);
    assert_eq!((r.periods, r.min, r.max), (3, 11.2e6, 11.6e6));
    // The warm-up still applies where it reaches further.
    assert_eq!(Rate::after(&tx, 3, 4).periods, 2);
    // At least one period is kept.
    assert_eq!(Rate::after(&tx, 9, 0).periods, 1);
}
