//! svcard: the service-card dataplane.
//!
//! `svcard run` starts the workers, the control core and the show server; `svcard cli`
//! asks the show server; `svcard gen` writes traffic captures.
#![forbid(unsafe_code)]

mod bench;
mod cli;
mod run;
#[cfg(feature = "dpdk")]
mod run_dpdk;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// The default show-server socket (override with --socket or SVCARD_SOCKET).
pub fn default_socket() -> PathBuf {
    std::env::var_os("SVCARD_SOCKET")
        .map_or_else(|| PathBuf::from("/tmp/svcard.sock"), PathBuf::from)
}

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
        #[arg(long, default_value_os_t = default_socket())]
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
    /// N distinct UDP flows, one frame each per round.
    UdpFlows {
        /// How many flows.
        #[arg(long, default_value_t = 1000)]
        flows: u32,
        /// Frame size in bytes (without FCS), 60 to 1514.
        #[arg(long, default_value_t = 60)]
        size: usize,
        /// Output capture.
        #[arg(long)]
        out: PathBuf,
    },
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
        GenCmd::UdpFlows { flows, size, out } => {
            anyhow::ensure!((60..=1514).contains(&size), "--size must be 60 to 1514");
            let recs = svcard_perf::recipes::udp_flows(flows, size);
            svcard_perf::write_pcap(&out, &recs).with_context(|| out.display().to_string())?;
            println!("wrote {} ({} flows of {} B)", out.display(), flows, size);
        }
    }
    Ok(())
}
