//! `svcard bench`: svcard against `dpdk-testpmd` on the same capture, the same cores, in the
//! same run.
//!
//! For each flow count N: write a capture of N distinct UDP flows, run `dpdk-testpmd`
//! (`net_pcap` with `infinite_rx=1` into `net_null,no-rx=1`) in each baseline forwarding
//! mode, then `svcard run --backend dpdk` on the same devices. Rates are the median of the
//! per-second figures after the warm-up periods. svcard's session summary is asked at
//! half time; its session-table size comes from its exit summary.
//!
//! With scenarios (`--scenario`, [`scenario`]) the same runner measures other captures and
//! configurations. This is a program, not a test: it prints figures and never asserts on
//! time. Every process it starts is ended by its PID, also when a phase fails.
//!
//! The rooms, each depending only on those before it: [`options`]; [`model`] (what a run
//! measured); [`parse`] (the programs' output); [`process`] (running programs); [`setup`]
//! (their configuration); [`runner`] (one case); [`scenario`] (cases of each scenario);
//! [`report`] and [`json`] (the outputs). This file is the entry point above them.

pub mod json;
pub mod model;
pub mod nft;
pub mod offload;
pub mod options;
pub mod ovs;
pub mod parse;
pub mod process;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod setup;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) use tests::fake_report;

pub use json::{results_json, to_json};
pub use model::*;
pub use options::*;
pub use parse::*;
pub use report::{render_report, render_table};
pub use runner::Case;
pub use setup::*;

use anyhow::{Context as _, Result};

use crate::recipes::{CaptureStats, FrameSize};
use process::{Progress, WorkDir};
use runner::run_case;

/// Runs every scale (or the scenarios of `opts`); each finished case is pushed to
/// `results` (so that a failure later still leaves the figures already taken).
///
/// # Errors
/// A process that cannot be started, fails or prints no figures; I/O errors.
pub fn run(opts: &Options, results: &mut Results) -> Result<()> {
    if !opts.scenarios.is_empty() {
        return scenario::run_all(opts, results);
    }
    runner::check_programs(opts)?;
    let dir = WorkDir::new(opts.keep.as_deref())?;
    let mut progress = Progress::new();
    let passes = opts.passes.clamp(1, crate::recipes::MAX_PASSES);
    let replies = opts.replies && passes > 1;
    let (file_tag, name_tag) = match (passes, replies) {
        (1, _) => (String::new(), String::new()),
        (_, false) => (format!("-{passes}-passes"), format!(", {passes} passes")),
        (_, true) => (
            format!("-{passes}-passes-both-ways"),
            format!(", {passes} passes, both ways"),
        ),
    };
    for &n in &opts.flows {
        let cap = dir
            .path
            .join(format!("udp-{n}-{}{file_tag}.pcap", opts.size));
        let name = format!("{n} flows{name_tag}");
        progress.show(&format!("[capture {name}] writing {}", cap.display()));
        let recs = crate::recipes::udp_flows_both_ways(n, opts.size, passes, replies);
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
                client_frames: crate::recipes::client_frames_both_ways(n, passes, replies),
                bytes: frames * opts.size as u64,
                max_len: opts.size,
                tagged: 0,
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
