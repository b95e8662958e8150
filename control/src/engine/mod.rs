//! The engine: everything `svcard run` starts, as one value. [`Engine::start`] takes the
//! configuration and the port queues of a backend (one set per worker, and optionally one
//! for the control core), chooses the cores, sizes the session shards, starts the workers,
//! the control core with the ALG gateway, and (optionally) the show server; the returned
//! [`Engine`] answers [`stats`](Engine::stats) and [`query`](Engine::query) while it runs
//! and stops with [`shutdown`](Engine::shutdown).
//!
//! The binary parses arguments, opens a backend and calls this; tests, `hotpath` and the
//! bench can run the same engine in-process. Backends stay outside: the engine is generic
//! over [`PortIo`], so it never names DPDK.

pub mod cores;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use svcard_config::Config;
use svcard_dataplane::clock::Clock;
use svcard_dataplane::handoff::LinkSizes;
use svcard_dataplane::offload::{NicModel, NoFlow, OffloadBackend, OffloadLink, OffloadLinkSizes};
use svcard_dataplane::port::PortIo;
use svcard_dataplane::ring::{RingSizes, WorkerRings};
use svcard_dataplane::stats::{LocalStats, SharedStats};
use svcard_dataplane::worker::{Worker, WorkerSetup};

use crate::central::{ControlCore, ControlHandle, WorkerHandle};
use crate::gateway::{self, Gateway};
use crate::offload::OffloadManager;
use crate::reload::Reloader;
use crate::server::{Handler, Server};
use svcard_config::reload::LiveConfig;

/// What [`Engine::start`] may fail on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No queues were given.
    #[error("the engine needs at least one worker's queues")]
    NoWorkers,
    /// A thread could not be started.
    #[error("starting the {what} thread: {source}")]
    Thread {
        /// Which thread.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// The show server could not bind its socket.
    #[error("show server on {path}: {source}")]
    Server {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The metrics endpoint could not listen.
    #[error("metrics endpoint {addr}: {source}")]
    Metrics {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A worker thread panicked.
    #[error("a worker thread panicked")]
    WorkerPanicked,
    /// The session logger could not start.
    #[error("session log to {host}: {source}")]
    Log {
        /// The collector.
        host: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The IPFIX exporter could not start.
    #[error("IPFIX to {collector}: {source}")]
    Ipfix {
        /// The collector.
        collector: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Source NAT cannot run as configured with these workers.
    #[error("source NAT: {0}")]
    Nat(String),
}

/// How to start an [`Engine`] beyond the configuration.
#[derive(Default)]
pub struct EngineOptions {
    /// Serve show commands on this Unix socket (none: only [`Engine::query`]).
    pub socket: Option<PathBuf>,
    /// Pin threads to cores as the configuration says (else leave them where the OS puts
    /// them, as tests that run many engines in one process want).
    pub pin: bool,
    /// The offload backend for `[offload] backend = "rte-flow"`, opened by the port
    /// backend that owns the devices (none: the model when the configuration asks for it,
    /// else no flow offload: every session stays in software, counted).
    pub offload_backend: Option<Box<dyn OffloadBackend>>,
    /// The workers' ring sizes (none: [`RingSizes::default`]); tests shrink the event ring
    /// to make it overflow.
    pub ring_sizes: Option<RingSizes>,
    /// The ALG links' sizes (none: the defaults); tests shrink a worker's pinhole table.
    pub link_sizes: Option<LinkSizes>,
    /// What `show interfaces` reads of the ports (none: the backend keeps no port state).
    pub port_status: Option<Arc<dyn svcard_dataplane::port::PortStatusSource>>,
    /// How a reload reads the configuration file (none: as it is; the binary applies its
    /// command-line overrides again).
    pub loader: Option<crate::reload::Loader>,
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("socket", &self.socket)
            .field("pin", &self.pin)
            .field(
                "offload_backend",
                &self.offload_backend.as_ref().map(|b| b.name()),
            )
            .finish()
    }
}

/// Each worker's counters, drop reasons and gauges as last published.
#[derive(Debug, Clone)]
pub struct EngineStats {
    /// By worker.
    pub workers: Vec<LocalStats>,
}

impl EngineStats {
    /// The card's figures: every worker's summed (gauges too: sessions, capacity, bytes).
    #[must_use]
    pub fn card(&self) -> LocalStats {
        let mut c = LocalStats::default();
        for w in &self.workers {
            c.merge(w);
        }
        c
    }
}

/// A running engine.
pub struct Engine {
    live: Arc<LiveConfig>,
    reloader: Arc<Reloader>,
    handles: Vec<WorkerHandle>,
    control: ControlHandle,
    /// Whether every ALG link's rings are empty (the links are typed by the backend's
    /// packets, which the engine does not name).
    idle_probe: Box<dyn Fn() -> bool + Send + Sync>,
    context: Arc<crate::commands::Context>,
    workers: Vec<JoinHandle<()>>,
    drained: Vec<Arc<AtomicBool>>,
    stop: Arc<AtomicBool>,
    stop_control: Arc<AtomicBool>,
    control_thread: Option<JoinHandle<()>>,
    server: Option<Server>,
    /// The Prometheus endpoint (`[metrics] listen`).
    metrics: Option<crate::metrics::MetricsServer>,
    /// The session logger (`[log]`).
    logger: Option<crate::logs::SessionLogger>,
    /// The IPFIX exporter (`[ipfix]`).
    exporter: Option<crate::ipfix::IpfixExporter>,
    capacity: u32,
    offload_summary: Option<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("workers", &self.handles.len())
            .field("capacity", &self.capacity)
            .field("socket", &self.socket())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts workers over `queues` (one set per worker), the control core (transmitting
    /// ALG packets on `control_io` when the ports have queues for it) and, with
    /// `opts.socket`, the show server.
    ///
    /// # Errors
    /// No queues, a thread that does not start, a socket that cannot be bound.
    pub fn start<P: PortIo + 'static>(
        config: &Arc<Config>,
        queues: Vec<P>,
        control_io: Option<P>,
        opts: EngineOptions,
    ) -> Result<Engine, EngineError> {
        let nworkers = queues.len();
        if nworkers == 0 {
            return Err(EngineError::NoWorkers);
        }
        check_nat(config, nworkers)?;
        let clock = Clock::new();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_control = Arc::new(AtomicBool::new(false));
        let capacity = config.max_sessions_per_worker();
        let (worker_cores, control_core) = if opts.pin {
            let ids = cores::available();
            let w = cores::workers(config, ids);
            let c = cores::control(config, ids, &w);
            (w, c)
        } else {
            (vec![None; nworkers], None)
        };
        // Everything that is not a worker (control core, show server, the caller's thread)
        // runs on the control core, so the kernel never puts it on a worker's core. Threads
        // started from here inherit this; workers then pin themselves.
        if let Some(c) = control_core {
            core_affinity::set_for_current(c);
        }
        let thread_error = |what: String| move |source| EngineError::Thread { what, source };
        let mut handles = Vec::new();
        // The workers started so far: stopped and joined if a later step fails.
        let mut workers = Started {
            stop: Arc::clone(&stop),
            threads: Vec::new(),
        };
        let mut drained = Vec::new();
        let links = gateway::links::<P::Pkt>(nworkers, opts.link_sizes.unwrap_or_default());
        let EngineOptions {
            socket,
            offload_backend,
            ring_sizes,
            port_status,
            loader,
            ..
        } = opts;
        let live = Arc::new(LiveConfig::new(Arc::clone(config)));
        let offload = offload_parts(config, offload_backend);
        let offload_links: Vec<Arc<OffloadLink>> = (0..nworkers)
            .map(|_| {
                Arc::new(OffloadLink::new(
                    OffloadLinkSizes::default(),
                    offload.as_ref().and_then(|o| o.cells.clone()),
                    offload
                        .as_ref()
                        .is_some_and(|o| o.backend.capabilities().mark),
                ))
            })
            .collect();
        // The service sets' session limits, one card-wide budget the workers share (only
        // when a service set has a limit: otherwise no atomic per new session).
        let budget = config
            .service_sets
            .iter()
            .any(|s| s.max_sessions.is_some())
            .then(|| {
                let limits: Vec<u32> = config
                    .service_sets
                    .iter()
                    .map(|s| s.max_sessions.unwrap_or(u32::MAX))
                    .collect();
                Arc::new(svcard_dataplane::worker::ServiceSetBudget::new(&limits))
            });
        // Deterministic NAT: the ports its blocks hold, one bitmap the workers share.
        let det_ports = svcard_dataplane::nat::DetPorts::new(config).map(Arc::new);
        // Dynamic NAT44: the addresses hosts hold, one table the workers share.
        let addr_owners = svcard_dataplane::nat::AddrOwners::new(config).map(Arc::new);
        for (w, io) in queues.into_iter().enumerate() {
            let rings = WorkerRings::new(ring_sizes.unwrap_or_default());
            let stats = Arc::new(SharedStats::default());
            let done = Arc::new(AtomicBool::new(false));
            handles.push(WorkerHandle {
                rings: Arc::clone(&rings),
                stats: Arc::clone(&stats),
            });
            drained.push(Arc::clone(&done));
            let setup = WorkerSetup {
                index: svcard_config::WorkerId::from_index(w).unwrap_or_default(),
                workers: u16::try_from(nworkers).unwrap_or(u16::MAX),
                config: Arc::clone(config),
                rings,
                stats,
                clock,
                stop: Arc::clone(&stop),
                drained: done,
            };
            let core = worker_cores.get(w).copied().flatten();
            let link = Arc::clone(&links[w]);
            let olink = Arc::clone(&offload_links[w]);
            let wbudget = budget.clone();
            let wdet = det_ports.clone();
            let wown = addr_owners.clone();
            let thread = std::thread::Builder::new()
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
                    let mut worker = Worker::new(setup, io, capacity)
                        .with_alg_link(link)
                        .with_offload_link(olink);
                    if let Some(b) = wbudget {
                        worker = worker.with_budget(b);
                    }
                    if let Some(d) = wdet {
                        worker = worker.with_det_ports(d);
                    }
                    if let Some(o) = wown {
                        worker = worker.with_addr_owners(o);
                    }
                    worker.run();
                })
                .map_err(thread_error(format!("worker-{w}")))?;
            workers.threads.push(thread);
        }
        let (mut core, mut control) = ControlCore::new(handles.clone());
        control.port_status = crate::central::PortStatusHandle(port_status);
        control.det_ports = det_ports;
        core.attach(Box::new(Gateway::new(
            &live,
            clock,
            links.clone(),
            control_io,
            &control,
        )));
        let offload_summary = offload.map(|o| {
            let summary = o.summary.clone();
            core.attach_offload(OffloadManager::new(
                Arc::clone(config),
                o.backend,
                offload_links,
                clock,
                Arc::clone(&control.offload),
            ));
            summary
        });
        // Session logs: a thread of their own, fed by the control core's events.
        let logger = match config.log.host {
            Some(host) => {
                let (logger, tap) =
                    crate::logs::SessionLogger::start(&live, Arc::clone(&control.logs))
                        .map_err(|source| EngineError::Log { host, source })?;
                core.tap(Box::new(tap));
                Some(logger)
            }
            None => None,
        };
        // IPFIX flow records: a thread of their own, fed by the closes and its own walks.
        let exporter = match config.ipfix.collector {
            Some(collector) => {
                let (x, tap) = crate::ipfix::IpfixExporter::start(
                    config,
                    clock,
                    control.clone(),
                    Arc::clone(&control.ipfix),
                )
                .map_err(|source| EngineError::Ipfix { collector, source })?;
                core.tap(Box::new(tap));
                Some(x)
            }
            None => None,
        };
        let sc = Arc::clone(&stop_control);
        let control_thread = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || core.run(&sc))
            .map_err(thread_error("control".into()))?;
        let reloader = Arc::new(Reloader::new(
            Arc::clone(&live),
            loader,
            handles.iter().map(|h| Arc::clone(&h.rings)).collect(),
            budget,
        ));
        let context = Arc::new(crate::commands::Context::live(
            Arc::clone(&live),
            control.clone(),
            clock,
            Some(Arc::clone(&reloader)),
        ));
        let mut engine = Engine {
            live,
            reloader,
            idle_probe: Box::new({
                let links = links.clone();
                move || {
                    links
                        .iter()
                        .all(|l| l.handoff.is_empty() && l.returns.is_empty())
                }
            }),
            handles,
            control,
            context,
            workers: std::mem::take(&mut workers.threads),
            drained,
            stop,
            stop_control,
            control_thread: Some(control_thread),
            server: None,
            metrics: None,
            logger,
            exporter,
            capacity,
            offload_summary,
        };
        if let Some(path) = &socket {
            let ctx = Arc::clone(&engine.context);
            let handler: Arc<Handler> =
                Arc::new(move |line: &str, out: &mut dyn std::io::Write| {
                    crate::commands::execute(&ctx, line, out)
                        .map(|s| s == crate::commands::Status::Done)
                });
            // On failure the engine is dropped, which stops what it started.
            engine.server =
                Some(
                    Server::start(path, handler).map_err(|source| EngineError::Server {
                        path: path.clone(),
                        source,
                    })?,
                );
        }
        if let Some(addr) = config.metrics.listen {
            let m = crate::metrics::MetricsServer::start(
                addr,
                engine.control.clone(),
                Arc::clone(&engine.live),
            )
            .map_err(|source| EngineError::Metrics { addr, source })?;
            engine.metrics = Some(m);
        }
        Ok(engine)
    }

    /// What the session logger counted, if it runs.
    #[must_use]
    pub fn log_stats(&self) -> Option<Arc<crate::logs::LogStats>> {
        self.logger.as_ref().map(|l| Arc::clone(&l.stats))
    }

    /// Where the Prometheus endpoint listens, if it runs.
    #[must_use]
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics
            .as_ref()
            .map(crate::metrics::MetricsServer::addr)
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> Arc<Config> {
        self.live.current()
    }

    /// Reads the configuration file again and puts it in force while sessions keep
    /// forwarding ([`crate::reload`]).
    ///
    /// # Errors
    /// A bad file, a change that needs a restart, a reload already running: nothing
    /// changed.
    pub fn reload(&self) -> Result<crate::reload::ReloadReport, crate::reload::ReloadError> {
        self.reloader.reload()
    }

    /// How many workers run.
    #[must_use]
    pub fn workers(&self) -> usize {
        self.handles.len()
    }

    /// Each worker's session-table capacity.
    #[must_use]
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// One line saying how sessions are offloaded (none when no service set offloads).
    #[must_use]
    pub fn offload_summary(&self) -> Option<&str> {
        self.offload_summary.as_deref()
    }

    /// The show server's socket, if one was asked for.
    #[must_use]
    pub fn socket(&self) -> Option<&Path> {
        self.server.as_ref().map(Server::path)
    }

    /// The control core's handle (books, conversations, queries).
    #[must_use]
    pub fn control(&self) -> &ControlHandle {
        &self.control
    }

    /// Every worker's last published counters, drop reasons and gauges.
    #[must_use]
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            workers: self.handles.iter().map(|h| h.stats.snapshot()).collect(),
        }
    }

    /// Runs one command line (as `svcard cli -c` would) and returns its output.
    #[must_use]
    pub fn query(&self, line: &str) -> String {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = crate::commands::execute(&self.context, line, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Whether every worker has drained its input (a replay ended) and the control core has
    /// nothing left to do: no event waiting, no ALG packet between a ring and a queue.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.drained.iter().all(|d| d.load(Ordering::Acquire))
            && self.handles.iter().all(|h| h.rings.events.is_empty())
            && (self.idle_probe)()
            && self.control.alg_backlog.load(Ordering::Acquire) == 0
    }

    /// Whether the engine has settled: [`is_idle`](Self::is_idle) now and at the call
    /// before (`seen_idle` carries that between calls; a packet may be between a ring and
    /// a queue at one instant). Callers poll it every 20 ms or so.
    pub fn settled(&self, seen_idle: &mut bool) -> bool {
        let idle = self.is_idle();
        let settled = idle && *seen_idle;
        *seen_idle = idle;
        settled
    }

    /// Polls [`settled`](Self::settled) every 20 ms until it holds or `timeout` passes.
    /// Returns whether it settled.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let start = std::time::Instant::now();
        let mut seen_idle = false;
        while start.elapsed() < timeout {
            if self.settled(&mut seen_idle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Stops the workers, lets the control core take what they left in the rings, stops it
    /// and the show server, and returns the final counters.
    ///
    /// # Errors
    /// A worker thread panicked.
    pub fn shutdown(mut self) -> Result<EngineStats, EngineError> {
        self.stop_threads()?;
        Ok(self.stats())
    }

    fn stop_threads(&mut self) -> Result<(), EngineError> {
        self.stop.store(true, Ordering::Relaxed);
        let mut panicked = false;
        for t in self.workers.drain(..) {
            panicked |= t.join().is_err();
        }
        if let Some(t) = self.control_thread.take() {
            // The control core takes what the workers left in the rings, then stops.
            std::thread::sleep(Duration::from_millis(50));
            self.stop_control.store(true, Ordering::Relaxed);
            let _ = t.join();
        }
        // The control core's tap is gone with it: the logger sends what it holds and ends.
        if let Some(l) = self.logger.as_mut() {
            l.join();
        }
        if let Some(x) = self.exporter.as_mut() {
            x.join();
        }
        self.server = None;
        if panicked {
            return Err(EngineError::WorkerPanicked);
        }
        Ok(())
    }
}

/// The offload backend chosen for a configuration, the model's counter cells (backend
/// `model`) and the start-up line that says what it supports.
struct OffloadParts {
    backend: Box<dyn OffloadBackend>,
    cells: Option<Arc<svcard_dataplane::offload::ModelCells>>,
    summary: String,
}

fn offload_parts(config: &Config, given: Option<Box<dyn OffloadBackend>>) -> Option<OffloadParts> {
    use svcard_config::OffloadBackendKind;
    if !config.offload_enabled() {
        return None;
    }
    let (backend, cells, what): (Box<dyn OffloadBackend>, _, String) =
        match (config.offload.backend, given) {
            (OffloadBackendKind::Model, _) => {
                let m = NicModel::new(&config.offload.model);
                let cells = Some(m.cells());
                let what = format!("NIC model '{}'", config.offload.model.preset);
                (Box::new(m), cells, what)
            }
            (OffloadBackendKind::RteFlow, Some(b)) => (b, None, "rte_flow".to_string()),
            (OffloadBackendKind::RteFlow, None) => (
                Box::new(NoFlow),
                None,
                "rte_flow unavailable on these ports (no DPDK device)".to_string(),
            ),
        };
    let summary = format!("offload: {what}: {}", backend.capabilities().describe());
    Some(OffloadParts {
        backend,
        cells,
        summary,
    })
}

/// Worker threads started by [`Engine::start`] before it returns: if it fails, they are
/// told to stop and joined, so that no worker outlives the failed start.
struct Started {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Started {
    fn drop(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.stop_threads();
    }
}

/// The first port of the first block of `block` ports from `low` (`per_address` of them)
/// that has no port of some RSS class under `steer`.
fn block_missing_a_class(
    steer: svcard_dataplane::nat::Steering,
    low: u16,
    block: u16,
    per_address: u32,
) -> Option<u32> {
    (0..per_address)
        .map(|b| u32::from(low) + b * u32::from(block))
        .find(|&first| {
            let mut seen = vec![false; usize::from(steer.classes())];
            for p in first..first + u32::from(block) {
                seen[usize::from(steer.owner(u16::try_from(p).unwrap_or(0)))] = true;
            }
            seen.iter().any(|s| !s)
        })
}

/// Source NAT's conditions on the workers: replies are steered to the worker that
/// translated their session by RSS alone ([`svcard_dataplane::nat::steer`]), which needs a
/// power-of-two worker count and, in each pool a rule uses, an address of every class.
fn check_nat(config: &Config, workers: usize) -> Result<(), EngineError> {
    use svcard_dataplane::nat::{Steering, MAX_POOL_ADDRESSES};
    if config.nat.rules.is_empty() {
        return Ok(());
    }
    let w = u16::try_from(workers).unwrap_or(u16::MAX);
    let Some(steer) = Steering::new(w, 0) else {
        return Err(EngineError::Nat(format!(
            "{workers} workers: NAT needs a power-of-two number of workers (1, 2, 4, …), so \
             that RSS brings each reply to the worker that translated its session"
        )));
    };
    if workers > 1 {
        if let Some(r) = config
            .nat
            .rules
            .iter()
            .find(|r| r.translation == svcard_config::nat::Translation::Basic)
        {
            return Err(EngineError::Nat(format!(
                "rule '{}' is basic-nat44, which runs on one worker: a host's fixed public \
                 address is of another RSS class than the host in general, so its replies would \
                 reach another worker (no hand-off between workers yet)",
                r.name
            )));
        }
        if let Some(r) = config.nat.rules.iter().find(|r| r.eim) {
            return Err(EngineError::Nat(format!(
                "rule '{}' maps endpoint-independently, which runs on one worker: a mapping's \
                 public address cannot follow each remote's RSS class, and packets in to it \
                 may reach any worker (no hand-off between workers yet)",
                r.name
            )));
        }
    }
    for pool in &config.nat.pools {
        let n = pool.address_count();
        if n > MAX_POOL_ADDRESSES {
            return Err(EngineError::Nat(format!(
                "pool '{}' has {n} addresses; at most {MAX_POOL_ADDRESSES} per pool",
                pool.name
            )));
        }
        let det = config
            .nat
            .rules
            .iter()
            .filter_map(|r| r.det.as_ref())
            .find(|d| d.addresses.first() == pool.addresses().map(u32::from).next().as_ref())
            .map(|d| (d.low, d.block, d.blocks_per_address));
        let pba = pool
            .pba
            .map(|b| (pool.worker_ports().0, b.block, b.per_address(pool)));
        if let Some((low, block, per_address)) = det.or(pba) {
            // Blocks (deterministic or allocated): the address is fixed, the port steers;
            // every block needs a port of every class.
            if let Some(first) = block_missing_a_class(steer, low, block, per_address) {
                return Err(EngineError::Nat(format!(
                    "pool '{}': the block at port {first} ({block} ports) has no port of some \
                     RSS class for {workers} workers; use larger blocks",
                    pool.name
                )));
            }
            continue;
        }
        if config.nat.rules.iter().any(|r| {
            r.paired
                && config
                    .nat
                    .pools
                    .get(usize::from(r.pool))
                    .is_some_and(|p| p.name == pool.name)
        }) {
            // Address pooling paired: the host's address is fixed, the port steers.
            continue;
        }
        let missing = steer.missing_classes(pool.addresses().map(u32::from));
        if !missing.is_empty()
            && config.nat.rules.iter().any(|r| {
                config
                    .nat
                    .pools
                    .get(usize::from(r.pool))
                    .is_some_and(|p| p.name == pool.name)
            })
        {
            return Err(EngineError::Nat(format!(
                "pool '{}' has no address of RSS class {missing:?} for {workers} workers: \
                 replies to such an address would reach another worker; add addresses (two \
                 that differ in their last bit cover two workers) or run fewer workers",
                pool.name
            )));
        }
    }
    Ok(())
}
