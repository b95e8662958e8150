//! `svcard run`: starts the workers (one per RX queue), the control core and the show
//! server, on the pcap backend or (feature `dpdk`) on DPDK ports.

use anyhow::{Context as _, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use svcard_config::Config;
use svcard_control::engine::{Engine, EngineOptions};
use svcard_dataplane::port::pcap::{PcapBackend, PcapOptions};
use svcard_dataplane::port::PortIo;
use svcard_dataplane::stats::{self, Counter, LoopTimes};

/// Which port backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// pcap files in and out, pure Rust (the default; works without libdpdk).
    Pcap,
    /// DPDK ports (build with `--features dpdk`).
    Dpdk,
}

/// Arguments of `svcard run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The configuration file.
    #[arg(long, short = 'f')]
    pub config: PathBuf,
    /// The port backend.
    #[arg(long, value_enum, default_value_t = Backend::Pcap)]
    pub backend: Backend,
    /// Keep running after the captures are replayed, serving show commands, until SIGINT
    /// or SIGTERM.
    #[arg(long)]
    pub hold: bool,
    /// Stop after this many seconds.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Replay captures as fast as the workers go instead of at the capture's pace.
    #[arg(long)]
    pub fast: bool,
    /// Replay each capture this many times.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Override the configured worker count.
    #[arg(long)]
    pub workers: Option<u16>,
    /// The show server's socket.
    #[arg(long, default_value_os_t = crate::cli::default_socket())]
    pub socket: PathBuf,
    /// Print forwarding rates every second (rx/tx packets per second, live sessions).
    #[arg(long)]
    pub rate: bool,
    /// EAL arguments for the DPDK backend, after `--` (they replace the configured ones).
    #[arg(last = true)]
    pub eal: Vec<String>,
}

pub fn run(args: RunArgs) -> Result<()> {
    // Read which cores exist before the EAL pins this thread.
    let _ = svcard_control::engine::cores::available();
    let mut config = Config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(w) = args.workers {
        anyhow::ensure!(w >= 1, "--workers must be at least 1");
        config.workers.count = w;
    }
    let config = Arc::new(config);
    match args.backend {
        Backend::Pcap => {
            let opts = PcapOptions {
                pace: !args.fast,
                repeat: args.repeat,
            };
            let (queues, control_io, sink) = PcapBackend::for_config(&config, opts)?.into_parts();
            let summary = drive(&config, &args, (queues, control_io), (None, None), |_| {})?;
            let written = sink.finish().context("writing output captures")?;
            for (i, n) in written.iter().enumerate() {
                if let Some(p) = config.ports.get(i).and_then(|p| p.pcap_tx.as_ref()) {
                    println!(
                        "{}: wrote {n} frames to {}",
                        config.ports[i].name,
                        p.display()
                    );
                }
            }
            print!("{summary}");
            Ok(())
        }
        Backend::Dpdk => run_dpdk(&config, &args),
    }
}

#[cfg(not(feature = "dpdk"))]
fn run_dpdk(_config: &Arc<Config>, _args: &RunArgs) -> Result<()> {
    anyhow::bail!(
        "this svcard was built without DPDK: rebuild with `cargo build --release --features dpdk`"
    )
}

#[cfg(feature = "dpdk")]
fn run_dpdk(config: &Arc<Config>, args: &RunArgs) -> Result<()> {
    let ports = crate::run_dpdk::open(config, &args.eal)?;
    let flow = ports.ports.flow_backend(&ports.config);
    // svcard's commands in DPDK's telemetry, once the engine runs.
    let on_start = |engine: &Engine| {
        let source = Arc::new(crate::run_dpdk::Telemetry::new(engine));
        if let Err(e) = svcard_dataplane::port::dpdk::telemetry::register(source) {
            eprintln!("svcard: telemetry: {e}");
        }
    };
    let status = Some(ports.ports.status_reader());
    let summary = drive(
        &ports.config,
        args,
        (ports.queues, ports.control_io),
        (flow, status),
        on_start,
    )?;
    for line in ports.ports.report() {
        println!("{line}");
    }
    print!("{summary}");
    Ok(())
}

/// What a port backend hands the engine beside its queues: an offload backend of its
/// devices, and what `show interfaces` reads of them.
type BackendParts = (
    Option<Box<dyn svcard_dataplane::offload::OffloadBackend>>,
    Option<Arc<dyn svcard_dataplane::port::PortStatusSource>>,
);

/// How a reload reads the file: as at start, with `--workers` applied again, and the cores
/// the start chose (from the EAL's lcores) where the file leaves them to svcard.
fn reloader(workers: Option<u16>, running: &Arc<Config>) -> svcard_control::reload::Loader {
    let (cores, control) = (running.workers.cores.clone(), running.workers.control_core);
    Box::new(move |path| {
        let mut c = Config::load(path).map_err(|e| e.to_string())?;
        if let Some(w) = workers {
            c.workers.count = w;
        }
        if c.workers.cores.is_empty() {
            c.workers.cores.clone_from(&cores);
            if c.workers.control_core.is_none() {
                c.workers.control_core = control;
            }
        }
        Ok(c)
    })
}

/// Runs the engine over `queues` (one per worker) and `control_io` until the replay ends
/// (or --duration, or a signal with --hold), printing the rate lines with --rate. Returns
/// the closing summary.
fn drive<P: PortIo + 'static>(
    config: &Arc<Config>,
    args: &RunArgs,
    (queues, control_io): (Vec<P>, Option<P>),
    (offload_backend, port_status): BackendParts,
    on_start: impl FnOnce(&Engine),
) -> Result<String> {
    let signalled = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&signalled))?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&signalled))?;
    let hangup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hangup))?;
    let opts = EngineOptions {
        loader: Some(reloader(args.workers, config)),
        socket: Some(args.socket.clone()),
        pin: true,
        offload_backend,
        ring_sizes: None,
        link_sizes: None,
        port_status,
    };
    let engine = Engine::start(config, queues, control_io, opts)?;
    on_start(&engine);
    eprintln!(
        "svcard: {} worker(s), {} sessions each; show server on {}",
        engine.workers(),
        engine.capacity(),
        args.socket.display()
    );
    if let Some(line) = engine.offload_summary() {
        eprintln!("svcard: {line}");
    }
    if let Some(addr) = engine.metrics_addr() {
        eprintln!("svcard: metrics on http://{addr}/metrics");
    }

    let started = Instant::now();
    let mut seen_idle = false;
    let mut last_rate = (Instant::now(), 0u64, 0u64);
    let mut last_loops = LoopTimes::default();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        if args.rate && last_rate.0.elapsed() >= Duration::from_secs(1) {
            let card = engine.stats().card();
            let (rx, tx) = (card.get(Counter::RxPackets), card.get(Counter::TxPackets));
            let dt = last_rate.0.elapsed().as_secs_f64();
            let t = started.elapsed().as_secs_f64();
            println!(
                "rate: t={t:.3} rx_pps={:.0} tx_pps={:.0} {}",
                (rx - last_rate.1) as f64 / dt,
                (tx - last_rate.2) as f64 / dt,
                stats::fields(&card),
            );
            // How long the workers' busy loop iterations took in that second.
            println!(
                "loops: t={t:.3} {}",
                card.loops.since(&last_loops).to_fields()
            );
            last_loops = card.loops;
            last_rate = (Instant::now(), rx, tx);
        }
        if signalled.load(Ordering::Relaxed) {
            break;
        }
        if hangup.swap(false, Ordering::Relaxed) {
            // SIGHUP: as `request system configuration reload`.
            match engine.reload() {
                Ok(r) => eprintln!(
                    "svcard: configuration reloaded from {} (generation {}){}",
                    r.file.display(),
                    r.generation,
                    if r.changes.is_empty() {
                        ": no changes".to_string()
                    } else {
                        format!(": {}", r.changes.join("; "))
                    }
                ),
                Err(e) => eprintln!("svcard: configuration reload refused, nothing changed: {e}"),
            }
        }
        if let Some(d) = args.duration {
            if started.elapsed().as_secs_f64() >= d {
                break;
            }
        }
        if !args.hold && args.duration.is_none() && engine.settled(&mut seen_idle) {
            break;
        }
    }
    let stats = engine.shutdown()?;
    // One line per worker: every registered figure as name=value (svcard bench reads them).
    let mut s = String::new();
    for (w, st) in stats.workers.iter().enumerate() {
        s += &format!("worker {w}: {}\n", stats::fields(st));
    }
    Ok(s)
}
