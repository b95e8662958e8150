//! `svcard run`: starts the workers (one per RX queue), the control core and the show
//! server, on the pcap backend or (feature `dpdk`) on DPDK ports.

use anyhow::{bail, Context as _, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use svcard_config::Config;
use svcard_control::central::{ControlCore, WorkerHandle};
use svcard_control::gateway::{self, Gateway};
use svcard_dataplane::clock::Clock;
use svcard_dataplane::handoff::LinkSizes;
use svcard_dataplane::port::pcap::{PcapBackend, PcapOptions, PcapPortSpec};
use svcard_dataplane::port::PortIo;
use svcard_dataplane::ring::{RingSizes, WorkerRings};
use svcard_dataplane::stats::{Counter, Gauge, LoopTimes, SharedStats};
use svcard_dataplane::worker::{Worker, WorkerSetup};

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
    #[arg(long, default_value_os_t = crate::default_socket())]
    pub socket: PathBuf,
    /// Print forwarding rates every second (rx/tx packets per second, live sessions).
    #[arg(long)]
    pub rate: bool,
    /// EAL arguments for the DPDK backend, after `--` (they replace the configured ones).
    #[arg(last = true)]
    pub eal: Vec<String>,
}

/// The cores this process may use, read once before anything pins a thread (the DPDK EAL
/// pins the main thread to its main lcore, after which the calling thread's affinity no
/// longer says which cores exist).
static CORES: std::sync::OnceLock<Vec<core_affinity::CoreId>> = std::sync::OnceLock::new();

fn cores() -> &'static [core_affinity::CoreId] {
    CORES.get_or_init(|| core_affinity::get_core_ids().unwrap_or_default())
}

pub fn run(args: RunArgs) -> Result<()> {
    let _ = cores();
    let mut config = Config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(w) = args.workers {
        anyhow::ensure!(w >= 1, "--workers must be at least 1");
        config.workers.count = w;
    }
    let config = Arc::new(config);
    match args.backend {
        Backend::Pcap => {
            let specs: Vec<PcapPortSpec> = config
                .ports
                .iter()
                .map(|p| PcapPortSpec {
                    rx: p.pcap_rx.clone(),
                    tx: p.pcap_tx.clone(),
                })
                .collect();
            let opts = PcapOptions {
                pace: !args.fast,
                repeat: args.repeat,
            };
            let backend = PcapBackend::open(&specs, config.workers.count, opts)?;
            let PcapBackend { mut queues, sink } = backend;
            // The last set of queues is the control core's (it transmits ALG packets).
            let control_io = (queues.len() > usize::from(config.workers.count))
                .then(|| queues.pop())
                .flatten();
            queues.truncate(usize::from(config.workers.count));
            let summary = run_engine(&config, &args, queues, control_io)?;
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
    bail!(
        "this svcard was built without DPDK: rebuild with `cargo build --release --features dpdk`"
    )
}

#[cfg(feature = "dpdk")]
fn run_dpdk(config: &Arc<Config>, args: &RunArgs) -> Result<()> {
    crate::run_dpdk::run(config, args)
}

/// Cores for the workers: the configured ones, else worker w on core w+1 when there are
/// more cores than workers (core 0 left to the control core and the OS), else unpinned.
fn worker_cores(config: &Config) -> Vec<Option<core_affinity::CoreId>> {
    let n = usize::from(config.workers.count);
    let ids = cores();
    if !config.workers.cores.is_empty() {
        return (0..n)
            .map(|w| {
                config
                    .workers
                    .cores
                    .get(w)
                    .and_then(|c| ids.iter().find(|i| i.id == *c).copied())
            })
            .collect();
    }
    if ids.len() > n {
        return (0..n).map(|w| ids.get(w + 1).copied()).collect();
    }
    vec![None; n]
}

/// The control core: the configured one, else the first core no worker is pinned to.
fn control_core(
    config: &Config,
    workers: &[Option<core_affinity::CoreId>],
) -> Option<core_affinity::CoreId> {
    let ids = cores();
    if let Some(c) = config.workers.control_core {
        return ids.iter().find(|i| i.id == c).copied();
    }
    ids.iter()
        .copied()
        .find(|i| !workers.iter().flatten().any(|w| w.id == i.id))
}

/// Runs workers over `queues` (one per worker), the control core (transmitting ALG packets
/// on `control_io` when the ports have queues for it) and the show server until the replay
/// ends (or --duration, or a signal with --hold). Returns the closing summary.
pub fn run_engine<P: PortIo + 'static>(
    config: &Arc<Config>,
    args: &RunArgs,
    queues: Vec<P>,
    control_io: Option<P>,
) -> Result<String> {
    let nworkers = queues.len();
    let clock = Clock::new();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_control = Arc::new(AtomicBool::new(false));
    let signalled = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&signalled))?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&signalled))?;

    let capacity = config.limits.max_sessions_per_worker.unwrap_or_else(|| {
        config
            .limits
            .max_sessions
            .div_ceil(u32::from(config.workers.count.max(1)))
    });
    let cores = worker_cores(config);
    // Everything that is not a worker (control core, show server, this thread) runs on the
    // control core, so the kernel never puts it on a worker's core. Threads started from here
    // inherit this; workers then pin themselves.
    if let Some(c) = control_core(config, &cores) {
        core_affinity::set_for_current(c);
    }
    let mut handles = Vec::new();
    let mut threads = Vec::new();
    let mut drained = Vec::new();
    let links = gateway::links::<P::Pkt>(nworkers, LinkSizes::default());
    for (w, io) in queues.into_iter().enumerate() {
        let rings = WorkerRings::new(RingSizes::default());
        let stats = Arc::new(SharedStats::default());
        let done = Arc::new(AtomicBool::new(false));
        handles.push(WorkerHandle {
            rings: Arc::clone(&rings),
            stats: Arc::clone(&stats),
        });
        drained.push(Arc::clone(&done));
        let setup = WorkerSetup {
            index: w as u16,
            workers: nworkers as u16,
            config: Arc::clone(config),
            rings,
            stats,
            clock,
            stop: Arc::clone(&stop),
            drained: done,
        };
        let core = cores.get(w).copied().flatten();
        let link = Arc::clone(&links[w]);
        threads.push(
            std::thread::Builder::new()
                .name(format!("worker-{w}"))
                .spawn(move || {
                    if let Some(c) = core {
                        core_affinity::set_for_current(c);
                    }
                    let mut io = io;
                    if let Err(e) = io.thread_init() {
                        eprintln!("svcard: worker {w}: {e}");
                        setup.stop.store(true, Ordering::Relaxed);
                        return;
                    }
                    let mut worker = Worker::new(setup, io, capacity).with_alg_link(link);
                    worker.run();
                })
                .context("starting a worker thread")?,
        );
    }
    let (mut control, handle) = ControlCore::new(handles.clone());
    control.attach(Box::new(Gateway::new(
        Arc::clone(config),
        clock,
        links.clone(),
        control_io,
        &handle,
    )));
    let sc = Arc::clone(&stop_control);
    let control_thread = std::thread::Builder::new()
        .name("control".into())
        .spawn(move || control.run(&sc))
        .context("starting the control core")?;
    let ctx = Arc::new(svcard_control::exec::Context::new(
        Arc::clone(config),
        handle.clone(),
        clock,
    ));
    let handler: Arc<svcard_control::server::Handler> =
        Arc::new(move |line: &str, out: &mut dyn std::io::Write| {
            svcard_control::exec::execute(&ctx, line, out)
        });
    let server = svcard_control::server::Server::start(&args.socket, handler)
        .with_context(|| format!("show server on {}", args.socket.display()))?;
    eprintln!(
        "svcard: {nworkers} worker(s), {capacity} sessions each; show server on {}",
        server.path().display()
    );

    let started = Instant::now();
    let mut quiet = false;
    let mut last_rate = (Instant::now(), 0u64, 0u64);
    let mut last_loops = LoopTimes::default();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        if args.rate && last_rate.0.elapsed() >= Duration::from_secs(1) {
            let (mut rx, mut tx, mut live, mut created) = (0u64, 0u64, 0u64, 0u64);
            let mut loops = LoopTimes::default();
            for h in &handles {
                let st = h.stats.snapshot();
                rx += st.get(Counter::RxPackets);
                tx += st.get(Counter::TxPackets);
                live += st.gauge(Gauge::Sessions);
                created += st.get(Counter::SessionsCreated);
                loops.merge(&st.loops);
            }
            let dt = last_rate.0.elapsed().as_secs_f64();
            let t = started.elapsed().as_secs_f64();
            println!(
                "rate: t={t:.1} rx_pps={:.0} tx_pps={:.0} sessions={live} created={created}",
                (rx - last_rate.1) as f64 / dt,
                (tx - last_rate.2) as f64 / dt
            );
            // How long the workers' busy loop iterations took in that second.
            println!("loops: t={t:.1} {}", loops.since(&last_loops).to_fields());
            last_loops = loops;
            last_rate = (Instant::now(), rx, tx);
        }
        if signalled.load(Ordering::Relaxed) {
            break;
        }
        if let Some(d) = args.duration {
            if started.elapsed().as_secs_f64() >= d {
                break;
            }
        }
        if !args.hold
            && args.duration.is_none()
            && drained.iter().all(|d| d.load(Ordering::Acquire))
        {
            // Let the control core take the last events and send the last ALG packets
            // (seen idle twice, 20 ms apart: a packet may be between ring and queue).
            let idle = handles.iter().all(|h| h.rings.events.is_empty())
                && links
                    .iter()
                    .all(|l| l.handoff.is_empty() && l.returns.is_empty())
                && handle.alg_backlog.load(Ordering::Acquire) == 0;
            if idle && quiet {
                break;
            }
            quiet = idle;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        if t.join().is_err() {
            bail!("a worker thread panicked");
        }
    }
    // The control core takes what the workers left in the rings, then stops.
    std::thread::sleep(Duration::from_millis(50));
    stop_control.store(true, Ordering::Relaxed);
    let _ = control_thread.join();
    drop(server);

    let mut s = String::new();
    for (w, h) in handles.iter().enumerate() {
        let st = h.stats.snapshot();
        s += &format!(
            "worker {w}: rx {} tx {} sessions created {} closed {} live {} (valid {} pending {} invalidated {}), policy drops {}, rejects {}, malformed {}, non-IP passed {}, table {} bytes\n",
            st.get(Counter::RxPackets),
            st.get(Counter::TxPackets),
            st.get(Counter::SessionsCreated),
            st.get(Counter::SessionsClosed),
            st.gauge(Gauge::Sessions),
            st.gauge(Gauge::Valid),
            st.gauge(Gauge::Pending),
            st.gauge(Gauge::Invalidated),
            st.get(Counter::PolicyDropped),
            st.get(Counter::Rejected),
            st.get(Counter::Malformed),
            st.get(Counter::NonIpPassed),
            st.gauge(Gauge::TableBytes),
        );
    }
    Ok(s)
}
