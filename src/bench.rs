//! `svcard bench`: svcard against `dpdk-testpmd` on the same capture, the same cores, in the
//! same run (see `svcard_perf::bench`). Prints a table, optionally writes JSON; never
//! asserts on time.

use anyhow::{bail, ensure, Context as _, Result};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use svcard_perf::bench::Scenario;
use svcard_perf::bench::{self, Mode, Options, Results};
use svcard_perf::hugepages::Hugepages;

fn parse_scenario(s: &str) -> Result<Scenario, String> {
    Scenario::parse(s).ok_or_else(|| format!("'{s}': the scenarios are {}", Scenario::names()))
}

fn parse_hugepages(s: &str) -> Result<Hugepages, String> {
    Hugepages::parse(s).ok_or_else(|| format!("'{s}': --hugepages takes {}", Hugepages::NAMES))
}

fn parse_peer(s: &str) -> Result<Mode, String> {
    Mode::parse_peer(s).ok_or_else(|| format!("'{s}': the peers are ovs-ct and nft-ct"))
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    Mode::parse(s).ok_or_else(|| format!("'{s}': the baseline modes are io and 5tswap"))
}

/// Arguments of `svcard bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Distinct UDP flows (sessions) in the capture; several scales as a list
    /// (`--flows 1000,65536,1000000`) or by repeating the option.
    #[arg(long, value_delimiter = ',', default_value = "1000000")]
    pub flows: Vec<u32>,
    /// Frame size in bytes without FCS (60 = the 64-byte frame), 60 to 1514.
    #[arg(long, default_value_t = 60)]
    pub size: usize,
    /// Seconds each phase (each testpmd mode, svcard) forwards.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// dpdk-testpmd forwarding modes to compare against: io, 5tswap, or a list.
    #[arg(long, value_delimiter = ',', default_value = "5tswap", value_parser = parse_mode)]
    pub baseline: Vec<Mode>,
    /// Peers to run beside testpmd and svcard in each round, on the same capture and
    /// forwarding core: ovs-ct (OVS-DPDK's userspace datapath, Debian
    /// openvswitch-switch-dpdk, started privately, ct(commit) on every packet), nft-ct
    /// (the Linux kernel forwarding between network namespaces of the run, nftables
    /// accepting conntrack's new and established, testpmd replaying the capture into it).
    #[arg(long, value_delimiter = ',', value_parser = parse_peer)]
    pub peer: Vec<Mode>,
    /// One-second periods discarded at the start of each phase.
    #[arg(long, default_value_t = bench::DEFAULT_WARMUP)]
    pub warmup: usize,
    /// Rounds per scale (testpmd, svcard, testpmd again, back to back; testpmd's rate is
    /// taken over both its runs); the ratio is the median of the rounds' ratios, which
    /// holds on a host whose speed drifts.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Keep the captures, configurations and logs in this directory.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The dpdk-testpmd program.
    #[arg(long, default_value = "dpdk-testpmd")]
    pub testpmd: PathBuf,
    /// Scenarios instead of the plain run over --flows (repeat the option or give a
    /// list): sessions, imix, setup-udp, setup-tcp, show-under-load, alg-mix, zero-loss,
    /// features (the established capture with each feature on in turn: plain, rules,
    /// algs, nat, offload-armed, logs-metrics, tcp-window-checks; a table of each one's
    /// rate and cycles per packet against plain), nat, mix (70% TCP, 25% IPv6, 20% on a
    /// VLAN, both ways, in --passes passes, against testpmd). `all` runs every one. `offload` runs the offload experiment (in-process on the NIC
    /// model, any build: policies and insertion budgets over a heavy-tailed mix, --seconds
    /// of replay each, --flows-override flows, default 2000).
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub scenario: Vec<String>,
    /// In setup-udp and setup-tcp, keep the flow count given even when the source comes
    /// round the capture before the sessions' idle timeout ends them (by default such a
    /// case runs again with a capture sized from the set-up rate it measured, so that the
    /// table turns over).
    #[arg(long)]
    pub churn_fixed: bool,
    /// Session counts replacing the scenarios' own (sessions takes the list, the others
    /// its first value), e.g. `--flows-override 1000,65536` for a short run.
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    pub flows_override: Vec<u32>,
    /// Also write a plot (rate vs sessions, rate vs frame size) as SVG to this file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// The core `svcard cli` is pinned to (taskset) in show-under-load: the control core.
    #[arg(long, default_value_t = 0)]
    pub cli_core: u32,
    /// Passes over the flows in the capture of the plain run (1-8; default 4, fewer where
    /// the capture would pass 16 Mi frames): the first the requests in the order their
    /// sessions are made, each later one in another order and with half the flows'
    /// replies. With 1 (the in-order replay) every round meets the sessions in the order
    /// they were made, so their lines are read in memory order, which hardware
    /// prefetching hides; real traffic keeps no such order.
    #[arg(long)]
    pub passes: Option<u32>,
    /// The plain run's later passes carry requests only (no replies).
    #[arg(long)]
    pub one_way: bool,
    /// The DPDK programs' memory: hugepages when the machine has enough free on a mounted
    /// hugetlbfs (auto), always (yes: an error if it has not), or 4 KiB pages with
    /// `--no-huge` (no). svcard and testpmd of a case always get the same.
    #[arg(long, default_value = "auto", value_parser = parse_hugepages, value_name = "auto|yes|no")]
    pub hugepages: Hugepages,
}

/// `--scenario offload`: the offload experiment, in-process on the NIC model (any build).
fn offload(a: &BenchArgs) -> Result<()> {
    use svcard_perf::bench::offload as exp;
    let flows = a.flows_override.first().copied().unwrap_or(2000);
    let dir = exp::work_dir(a.keep.as_deref());
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let figs = exp::run(&dir, flows, a.seconds as f64);
    if a.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let figs = figs?;
    if let Some(j) = &a.json {
        std::fs::write(j, exp::json(&figs)).with_context(|| j.display().to_string())?;
    }
    if let Some(f) = &a.svg {
        std::fs::write(f, exp::svg(&figs)).with_context(|| f.display().to_string())?;
    }
    println!(
        "Offload experiment: {flows} heavy-tailed UDP flows over {} s, NIC model 'generic', one \
         worker (hw: share the model handled; ins/s, rem/s: rules per second; peak: most rules \
         at once; trig: first packet to request; act: request to active; error: packets at \
         close minus packets handled, must be 0; ns/pkt: the worker's loop time per packet, \
         pcap backend)",
        a.seconds
    );
    print!("{}", exp::table(&figs));
    Ok(())
}

pub fn bench(mut a: BenchArgs) -> Result<()> {
    if a.scenario.iter().any(|s| s.trim() == "offload") {
        a.scenario.retain(|s| s.trim() != "offload");
        offload(&a)?;
        if a.scenario.is_empty() {
            return Ok(());
        }
    }
    if !cfg!(feature = "dpdk") {
        bail!("{}", bench::NO_DPDK);
    }
    ensure!((60..=1514).contains(&a.size), "--size must be 60 to 1514");
    ensure!(
        a.flows.iter().all(|&n| (1..=1 << 24).contains(&n)),
        "--flows must be 1 to 16777216"
    );
    ensure!(
        a.flows_override
            .iter()
            .all(|&n| (1..=svcard_perf::recipes::MAX_V4_FLOWS).contains(&n)),
        "--flows-override must be 1 to {}",
        svcard_perf::recipes::MAX_V4_FLOWS
    );
    let mut scenarios = Vec::new();
    for s in &a.scenario {
        if s.trim() == "all" {
            scenarios.extend(Scenario::ALL);
        } else {
            scenarios.push(parse_scenario(s).map_err(anyhow::Error::msg)?);
        }
    }
    ensure!(a.seconds >= 1, "--seconds must be at least 1");
    // Four passes unless asked, or as many as fit the largest scale.
    let passes = a.passes.unwrap_or_else(|| {
        let most = a.flows.iter().copied().max().unwrap_or(1).max(1);
        let fit = svcard_perf::recipes::MAX_PASS_FRAMES / u64::from(most);
        u32::try_from(fit.clamp(1, 4)).unwrap_or(1)
    });
    for &n in &a.flows {
        svcard_perf::recipes::check_passes(n, passes).map_err(anyhow::Error::msg)?;
    }
    if (a.passes.is_some() || a.one_way) && !scenarios.is_empty() {
        eprintln!(
            "svcard bench: --passes and --one-way apply to the plain run over --flows, not to scenarios"
        );
    }
    ensure!(
        !a.baseline.is_empty(),
        "--baseline needs a mode (io, 5tswap)"
    );
    if a.seconds <= a.warmup as u64 {
        eprintln!(
            "svcard bench: --seconds {} leaves few periods after {} warm-up ones",
            a.seconds, a.warmup
        );
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted))?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&interrupted))?;
    let opts = Options {
        flows: a.flows,
        size: a.size,
        seconds: a.seconds,
        baselines: a.baseline.iter().chain(&a.peer).copied().collect(),
        keep: a.keep,
        svcard: std::env::current_exe().context("finding the svcard executable")?,
        testpmd: a.testpmd,
        warmup: a.warmup,
        rounds: a.rounds.max(1),
        interrupted,
        scenarios,
        flows_override: a.flows_override,
        cli_core: a.cli_core,
        passes,
        replies: !a.one_way,
        hugepages: a.hugepages,
        churn_fixed: a.churn_fixed,
    };
    let mut results = Results::default();
    let r = bench::run(&opts, &mut results);
    if !results.reports.is_empty() || !results.notes.is_empty() {
        // Files first: the table may go to a pipe that closes early.
        let mut wrote = Vec::new();
        if let Some(j) = &a.json {
            std::fs::write(j, bench::results_json(&results))
                .with_context(|| j.display().to_string())?;
            wrote.push(j);
        }
        if let Some(f) = &a.svg {
            std::fs::write(f, svcard_perf::svg::render(&results.reports))
                .with_context(|| f.display().to_string())?;
            wrote.push(f);
        }
        print!("{}", bench::render_report(&results));
        for f in wrote {
            println!("wrote {}", f.display());
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    #[test]
    fn hugepages_option_defaults_to_auto_and_refuses_other_words() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))
        };
        assert_eq!(parse(&[]).unwrap().bench.hugepages, Hugepages::Auto);
        assert_eq!(
            parse(&["--hugepages", "no"]).unwrap().bench.hugepages,
            Hugepages::No
        );
        assert_eq!(
            parse(&["--hugepages", "yes"]).unwrap().bench.hugepages,
            Hugepages::Yes
        );
        let e = parse(&["--hugepages", "maybe"]).unwrap_err().to_string();
        assert!(
            e.contains("'maybe': --hugepages takes auto, yes, no"),
            "{e}"
        );
    }
}
