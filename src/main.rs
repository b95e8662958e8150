//! svcard: the service-card dataplane.
//!
//! `svcard run` starts the workers, the control core and the show server; `svcard cli`
//! asks the show server; `svcard gen` writes traffic captures.
#![forbid(unsafe_code)]

mod bench;
mod cli;
mod pager;
mod run;
#[cfg(feature = "dpdk")]
mod run_dpdk;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "svcard",
    version,
    about = "Service-card dataplane: per-core session shards, ALGs, Junos show commands"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the dataplane: workers, control core and show server.
    Run(run::RunArgs),
    /// Ask a running svcard: `svcard cli -c "show security flow session"`.
    Cli {
        /// The command (without it: an interactive shell).
        #[arg(short = 'c', long = "command")]
        command: Option<String>,
        /// The show server's socket.
        #[arg(long, default_value_os_t = cli::default_socket())]
        socket: PathBuf,
    },
    /// Benchmark svcard against dpdk-testpmd on the same capture and cores (DPDK build).
    Bench(bench::BenchArgs),
    /// Write traffic captures.
    Gen {
        #[command(subcommand)]
        what: GenCmd,
    },
}

#[derive(Subcommand, Debug)]
enum GenCmd {
    /// The sample the example configuration replays: one capture per port.
    Sample {
        /// Client-side capture (arrives on the first port).
        #[arg(long, default_value = "examples/sample-client.pcap")]
        client: PathBuf,
        /// Server-side capture (arrives on the second port).
        #[arg(long, default_value = "examples/sample-server.pcap")]
        server: PathBuf,
    },
    /// N distinct UDP flows, one frame each per pass.
    UdpFlows {
        /// How many flows.
        #[arg(long, default_value_t = 1000)]
        flows: u32,
        /// Frame size in bytes (without FCS), 60 to 1514.
        #[arg(long, default_value_t = 60)]
        size: usize,
        /// Passes over the flows (1-8): the first in flow order, each later one in an
        /// order of its own (a replay then meets the sessions out of the order it made them).
        #[arg(long, default_value_t = 1)]
        passes: u32,
        /// Output capture.
        #[arg(long)]
        out: PathBuf,
    },
    /// N distinct established UDP or TCP flows, both directions (client frame, server
    /// answer), IPv4 or IPv6, optionally 802.1Q-tagged, fixed frame size or IMIX.
    Flows {
        #[command(flatten)]
        common: GenCommon,
        /// How many flows (IPv4: at most 16777214, one client address each).
        #[arg(long, default_value_t = 1000)]
        flows: u32,
        /// udp or tcp (TCP flows are mid-stream data segments).
        #[arg(long, default_value = "udp", value_parser = parse_proto)]
        proto: svcard_perf::recipes::Proto,
        /// Frame size in capture bytes without FCS (60 = the 64-byte frame, up to 1514),
        /// or `imix` (28 × 64 B, 16 × 570 B, 4 × 1518 B in every 48 frames).
        #[arg(long, default_value = "60", value_parser = svcard_perf::recipes::FrameSize::parse)]
        size: svcard_perf::recipes::FrameSize,
        /// Client frames only (no server answers).
        #[arg(long)]
        one_way: bool,
    },
    /// Connection churn for setup-rate tests: every flow new. UDP: each flow one frame,
    /// once. TCP: full exchanges (SYN, SYN-ACK, ACK, request, response, FIN/ACK, FIN/ACK,
    /// ACK), `--concurrency` connections in flight.
    Churn {
        #[command(flatten)]
        common: GenCommon,
        /// How many flows (connections).
        #[arg(long, default_value_t = 1000)]
        flows: u32,
        /// udp or tcp.
        #[arg(long, default_value = "udp", value_parser = parse_proto)]
        proto: svcard_perf::recipes::Proto,
        /// Capture bytes of UDP frames and TCP data segments (60 to 1514).
        #[arg(long, default_value_t = 60)]
        size: usize,
        /// TCP connections in flight together (their exchanges interleave step by step).
        #[arg(long, default_value_t = 16)]
        concurrency: u32,
    },
    /// An FTP (ALG) mix: control connections to port 21 with PASV/EPSV or PORT/EPRT and
    /// the data connections they announce, as packets.
    Ftp {
        #[command(flatten)]
        common: GenCommon,
        /// FTP sessions (half passive, half active).
        #[arg(long, default_value_t = 100)]
        sessions: u32,
    },
}

/// Options every many-flow recipe takes.
#[derive(clap::Args, Debug)]
struct GenCommon {
    /// Output capture (with --server-out: the client side's frames only).
    #[arg(long)]
    out: PathBuf,
    /// Write the server side's frames to this capture instead (one capture per port).
    #[arg(long, value_name = "FILE")]
    server_out: Option<PathBuf>,
    /// IPv6 instead of IPv4.
    #[arg(long)]
    ipv6: bool,
    /// Tag every frame with this 802.1Q VLAN id (1-4094).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=4094))]
    vlan: Option<u16>,
}

fn parse_proto(s: &str) -> Result<svcard_perf::recipes::Proto, String> {
    svcard_perf::recipes::Proto::parse(s).ok_or_else(|| format!("'{s}': udp or tcp"))
}

impl GenCommon {
    fn family(&self) -> svcard_perf::recipes::Family {
        if self.ipv6 {
            svcard_perf::recipes::Family::V6
        } else {
            svcard_perf::recipes::Family::V4
        }
    }
    /// Writes `frames` and says what was written.
    fn write(&self, what: &str, frames: impl Iterator<Item = (bool, Vec<u8>)>) -> Result<()> {
        let st = svcard_perf::recipes::write_capture(&self.out, self.server_out.as_deref(), frames)
            .with_context(|| self.out.display().to_string())?;
        match &self.server_out {
            Some(s) => println!(
                "wrote {} ({} frames) and {} ({} frames): {what}, mean frame {:.1} B",
                self.out.display(),
                st.client_frames,
                s.display(),
                st.frames - st.client_frames,
                st.mean_len()
            ),
            None => println!(
                "wrote {} ({} frames): {what}, mean frame {:.1} B",
                self.out.display(),
                st.frames,
                st.mean_len()
            ),
        }
        Ok(())
    }
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Run(a) => run::run(a),
        Cmd::Cli { command, socket } => cli::cli(command, &socket),
        Cmd::Gen { what } => gen(what),
        Cmd::Bench(a) => bench::bench(a),
    };
    if let Err(e) = r {
        eprintln!("svcard: {e:#}");
        std::process::exit(1);
    }
}

fn gen(what: GenCmd) -> Result<()> {
    use svcard_dataplane::pcapfile::Record;
    match what {
        GenCmd::Sample { client, server } => {
            let mut c = Vec::new();
            let mut s = Vec::new();
            // One millisecond apart, so a paced replay keeps the order across the ports.
            for (i, (from_client, data)) in
                svcard_perf::recipes::sample_mix().into_iter().enumerate()
            {
                let r = Record {
                    ts_ns: 1_700_000_000_000_000_000 + i as u64 * 1_000_000,
                    data,
                };
                if from_client {
                    c.push(r);
                } else {
                    s.push(r);
                }
            }
            svcard_perf::write_pcap(&client, &c).with_context(|| client.display().to_string())?;
            svcard_perf::write_pcap(&server, &s).with_context(|| server.display().to_string())?;
            println!(
                "wrote {} ({} frames) and {} ({} frames)",
                client.display(),
                c.len(),
                server.display(),
                s.len()
            );
        }
        GenCmd::UdpFlows {
            flows,
            size,
            passes,
            out,
        } => {
            anyhow::ensure!((60..=1514).contains(&size), "--size must be 60 to 1514");
            svcard_perf::recipes::check_passes(flows, passes).map_err(anyhow::Error::msg)?;
            let recs = svcard_perf::recipes::udp_flows_passes(flows, size, passes);
            svcard_perf::write_pcap(&out, &recs).with_context(|| out.display().to_string())?;
            println!(
                "wrote {} ({} flows of {} B, {} frames)",
                out.display(),
                flows,
                size,
                recs.len()
            );
        }
        GenCmd::Flows {
            common,
            flows,
            proto,
            size,
            one_way,
        } => {
            use svcard_perf::recipes::{Family, FlowSpec, MAX_V4_FLOWS};
            let family = common.family();
            anyhow::ensure!(
                flows >= 1 && (family == Family::V6 || flows <= MAX_V4_FLOWS),
                "--flows must be 1 to {MAX_V4_FLOWS} for IPv4"
            );
            let spec = FlowSpec {
                flows,
                proto,
                family,
                vlan: common.vlan,
                size,
                both_directions: !one_way,
            };
            common.write(
                &format!("{flows} {} flows, {}", proto.name(), size.label()),
                svcard_perf::recipes::flows(spec),
            )?;
        }
        GenCmd::Churn {
            common,
            flows,
            proto,
            size,
            concurrency,
        } => {
            use svcard_perf::recipes::{ChurnSpec, Family, Proto, MAX_V4_FLOWS};
            let family = common.family();
            anyhow::ensure!((60..=1514).contains(&size), "--size must be 60 to 1514");
            anyhow::ensure!(
                flows >= 1 && (family == Family::V6 || flows <= MAX_V4_FLOWS),
                "--flows must be 1 to {MAX_V4_FLOWS} for IPv4"
            );
            match proto {
                Proto::Udp => common.write(
                    &format!("{flows} new UDP flows"),
                    svcard_perf::recipes::udp_churn(flows, family, common.vlan, size),
                )?,
                Proto::Tcp => common.write(
                    &format!("{flows} full TCP exchanges"),
                    svcard_perf::recipes::tcp_churn(ChurnSpec {
                        connections: flows,
                        family,
                        vlan: common.vlan,
                        size,
                        concurrency: concurrency.max(1),
                    }),
                )?,
            }
        }
        GenCmd::Ftp { common, sessions } => {
            anyhow::ensure!(
                (1..=svcard_perf::recipes::MAX_V4_FLOWS).contains(&sessions),
                "--sessions must be 1 to {}",
                svcard_perf::recipes::MAX_V4_FLOWS
            );
            common.write(
                &format!("{sessions} FTP sessions"),
                svcard_perf::recipes::ftp_mix(sessions, common.family(), common.vlan),
            )?;
        }
    }
    Ok(())
}
