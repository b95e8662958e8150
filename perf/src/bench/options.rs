//! The benchmark's options: what to run (scenarios, scales, baselines), for how long, on which memory.

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::hugepages::Hugepages;

/// Per-second periods discarded at the start of each phase by default.
pub const DEFAULT_WARMUP: usize = 3;

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
    /// A peer, not testpmd: OVS-DPDK's userspace datapath with `ct(commit)` on every
    /// packet ([`super::ovs`]).
    OvsCt,
    /// A peer, not testpmd: the Linux kernel's forwarding with nftables conntrack
    /// ([`super::nft`]).
    NftCt,
}

impl Mode {
    /// The testpmd name of the mode (the peer's name for a peer).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Io => "io",
            Self::FiveTupleSwap => "5tswap",
            Self::OvsCt => "ovs-ct",
            Self::NftCt => "nft-ct",
        }
    }
    /// How plots name it: `testpmd 5tswap`, `OVS-DPDK ct`.
    #[must_use]
    pub fn series_name(self) -> String {
        match self {
            Self::OvsCt => "OVS-DPDK ct".into(),
            Self::NftCt => "Linux nftables ct".into(),
            m => format!("testpmd {}", m.name()),
        }
    }
    /// Parses a testpmd mode: `io` or `5tswap`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "io" => Some(Self::Io),
            "5tswap" => Some(Self::FiveTupleSwap),
            _ => None,
        }
    }
    /// Parses a peer: `ovs-ct` or `nft-ct`.
    #[must_use]
    pub fn parse_peer(s: &str) -> Option<Self> {
        match s.trim() {
            "ovs-ct" => Some(Self::OvsCt),
            "nft-ct" => Some(Self::NftCt),
            _ => None,
        }
    }
    /// Whether dpdk-testpmd runs it.
    #[must_use]
    pub fn is_testpmd(self) -> bool {
        !matches!(self, Self::OvsCt | Self::NftCt)
    }
    /// The program that runs it (reports and JSON).
    #[must_use]
    pub fn tool(self) -> &'static str {
        match self {
            Self::OvsCt => "ovs-vswitchd (OVS-DPDK)",
            Self::NftCt => "Linux kernel forwarding, nftables conntrack",
            _ => "dpdk-testpmd",
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
    /// [`MAX_PASSES`](recipes::MAX_PASSES)): the first in the order the sessions are
    /// made, each later one in another order ([`udp_flows_passes`](recipes::udp_flows_passes)).
    pub passes: u32,
    /// The later passes carry half the flows' replies ([`udp_flows_both_ways`](recipes::udp_flows_both_ways)).
    pub replies: bool,
    /// Hugepages or 4 KiB pages for the DPDK programs ([`crate::hugepages`]).
    pub hugepages: Hugepages,
    /// Keep a setup scenario's flow count even when the source comes round the capture
    /// before the sessions expire (else the case runs again with a capture sized from the
    /// set-up rate it measured).
    pub churn_fixed: bool,
}

impl Options {
    /// Options for unit tests: nothing to run, one round, one pass, short phases.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self {
            flows: vec![],
            size: 60,
            seconds: 3,
            baselines: vec![],
            keep: None,
            svcard: "svcard".into(),
            testpmd: "dpdk-testpmd".into(),
            warmup: 1,
            rounds: 1,
            interrupted: Arc::default(),
            scenarios: vec![],
            flows_override: vec![],
            cli_core: 0,
            passes: 1,
            replies: false,
            hugepages: crate::hugepages::Hugepages::No,
            churn_fixed: false,
        }
    }

    pub(crate) fn check_interrupted(&self) -> Result<()> {
        if self.interrupted.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        Ok(())
    }
}

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
    /// The same established capture with each feature on in turn, against plain.
    Features,
    /// Established UDP through source NAT (napt-44 of every session), one direction, with
    /// the testpmd baselines on the same capture in the same run.
    Nat,
    /// Traffic as a mix ([`recipes::mix`]): TCP and UDP, IPv4 and IPv6, a share on a
    /// VLAN, both directions, in the plain run's passes, against testpmd.
    Mix,
}

impl Scenario {
    /// Every scenario, in the order `all` runs them.
    pub const ALL: [Self; 10] = [
        Self::Sessions,
        Self::Imix,
        Self::SetupUdp,
        Self::SetupTcp,
        Self::ShowUnderLoad,
        Self::AlgMix,
        Self::ZeroLoss,
        Self::Features,
        Self::Nat,
        Self::Mix,
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
            Self::Features => "features",
            Self::Nat => "nat",
            Self::Mix => "mix",
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
            Self::Features | Self::Nat | Self::Mix => vec![1 << 20],
        }
    }

    /// Whether its cases run the testpmd baselines.
    #[must_use]
    pub fn has_baselines(self) -> bool {
        matches!(
            self,
            Self::Sessions | Self::Imix | Self::AlgMix | Self::Nat | Self::Mix
        )
    }
}
