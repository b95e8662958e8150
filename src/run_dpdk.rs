//! `svcard run --backend dpdk`: EAL start, mempool, ports with one RX and one TX queue per
//! worker (plus a TX queue for the control core where the device has one). The caller runs
//! the same engine over them as over the pcap backend.

use anyhow::{bail, Context as _, Result};
use std::sync::Arc;
use svcard_config::{Config, WorkerId};
use svcard_dataplane::port::dpdk::{
    DpdkError, DpdkLink, DpdkQueues, Eal, EthPort, Mempool, PortConfig, RteFlowBackend,
};

/// The EAL arguments: those after `--` on the command line, else the configured ones, plus a
/// `--vdev` or `-a` for every port's device not already named.
fn eal_args(config: &Config, given: &[String]) -> Vec<String> {
    let mut v: Vec<String> = if given.is_empty() {
        config.dpdk.eal_args.clone()
    } else {
        given.to_vec()
    };
    for p in &config.ports {
        let Some(dev) = p.dpdk.as_deref() else {
            continue;
        };
        let name = dev.split(',').next().unwrap_or(dev);
        let named = v.iter().any(|a| a.contains(name));
        if named {
            continue;
        }
        if name.starts_with("net_") {
            v.push(format!("--vdev={dev}"));
        } else {
            v.push("-a".into());
            v.push(dev.to_string());
        }
    }
    v
}

/// The DPDK objects a run holds, dropped in order (queues before ports before the pool
/// before the EAL) once the engine has stopped.
pub struct Opened {
    /// The configuration with the EAL's lcores as the cores (see [`with_eal_cores`]).
    pub config: Arc<Config>,
    /// One set of queues per worker.
    pub queues: Vec<DpdkQueues>,
    /// The control core's TX queues, where every port has one.
    pub control_io: Option<DpdkQueues>,
    /// The ports, for their closing statistics.
    pub ports: Ports,
}

/// The configured ports, then the pool and the EAL they depend on.
pub struct Ports {
    ports: Vec<EthPort>,
    _pool: Mempool,
    _eal: Eal,
}

/// The ports' link and counters for `show interfaces`, read when asked.
pub struct PortStatusReader {
    ports: Vec<EthPort>,
}

impl svcard_dataplane::port::PortStatusSource for PortStatusReader {
    fn ports(&self) -> Vec<svcard_dataplane::port::PortStatus> {
        self.ports
            .iter()
            .map(|p| {
                let link = p.link().ok();
                svcard_dataplane::port::PortStatus {
                    device: p.name().unwrap_or_default(),
                    link_up: link.map(|l| l.up),
                    speed_mbps: link.map_or(0, |l| {
                        if l.speed_mbps == u32::MAX {
                            0
                        } else {
                            l.speed_mbps
                        }
                    }),
                    stats: p.stats().ok(),
                }
            })
            .collect()
    }
}

impl Ports {
    /// What `show interfaces` reads of these ports.
    pub fn status_reader(&self) -> Arc<dyn svcard_dataplane::port::PortStatusSource> {
        Arc::new(PortStatusReader {
            ports: self.ports.clone(),
        })
    }

    /// The `rte_flow` offload backend over these ports, when the configuration asks for it
    /// (and offloads anything); one line per port says what its device supports.
    pub fn flow_backend(
        &self,
        config: &Config,
    ) -> Option<Box<dyn svcard_dataplane::offload::OffloadBackend>> {
        use svcard_config::{OffloadBackendKind, TimeoutClass};
        if !config.offload_enabled() || config.offload.backend != OffloadBackendKind::RteFlow {
            return None;
        }
        let ids: Vec<u16> = self.ports.iter().map(EthPort::id).collect();
        let peers: Vec<usize> = config.ports.iter().map(|p| p.peer).collect();
        // AGE gets the established TCP timeout: the longest a flow idles in practice.
        let idle = config.timeouts.get(TimeoutClass::TcpEstablished);
        let marks: Vec<bool> = self.ports.iter().map(EthPort::rx_marks).collect();
        let backend = RteFlowBackend::new(ids, &peers, &marks, idle);
        for (p, s) in config.ports.iter().zip(backend.support()) {
            eprintln!("svcard: {}", s.describe(&p.name));
        }
        Some(Box::new(backend))
    }

    /// One line of statistics per port (`NAME: rx N tx N missed N rx errors N tx errors N`).
    pub fn report(&self) -> Vec<String> {
        self.ports
            .iter()
            .filter_map(|p| {
                let s = p.stats().ok()?;
                Some(format!(
                    "{}: rx {} tx {} missed {} rx errors {} tx errors {}",
                    p.name().unwrap_or_default(),
                    s.ipackets,
                    s.opackets,
                    s.imissed,
                    s.ierrors,
                    s.oerrors
                ))
            })
            .collect()
    }
}

/// Starts the EAL (`eal`: the arguments after `--`, else the configured ones), creates the
/// pool and configures every port with a queue per worker.
pub fn open(config: &Arc<Config>, eal: &[String]) -> Result<Opened> {
    let eal = Eal::init(&eal_args(config, eal)).context("starting the DPDK EAL")?;
    let config = &with_eal_cores(config, &eal.lcore_cpus());
    let workers = config.workers.count;
    let pool = Mempool::new(
        &eal,
        "svcard_pool",
        config.dpdk.mbufs,
        config.dpdk.mbuf_cache,
        config.dpdk.mbuf_data_room,
    )
    .context("creating the mbuf pool (raise [dpdk] mbufs or -m)")?;
    let mut ports = Vec::new();
    for p in &config.ports {
        let Some(dev) = p.dpdk.as_deref() else {
            bail!("port {}: no `dpdk` device in the configuration", p.name);
        };
        let name = dev.split(',').next().unwrap_or(dev);
        let Some(id) = EthPort::find_by_name(&eal, name) else {
            let hint = if Eal::link() == DpdkLink::Static {
                "; this build links DPDK statically, with the drivers the README lists: for \
                 another NIC build with SVCARD_DPDK_LINK=shared"
            } else {
                ""
            };
            bail!(
                "port {}: DPDK has no device named '{name}' (did it probe? see the EAL log \
                 above{hint})",
                p.name
            );
        };
        let mut pc = PortConfig::for_workers(workers);
        pc.rx_desc = config.dpdk.rx_desc;
        pc.tx_desc = config.dpdk.tx_desc;
        let port = match EthPort::configure(id, &pc, &pool) {
            Ok(port) => port,
            Err(first) => {
                // Devices such as net_pcap with one tx_pcap have no queue for the control
                // core (QueueCount), and net_tap wants as many TX queues as RX queues (its
                // configure fails): the workers' queues are what forwarding needs. If that
                // fails too, the first error is the one to read.
                pc.tx_queues = workers;
                match EthPort::configure(id, &pc, &pool) {
                    Ok(port) => port,
                    Err(_) if !matches!(first, DpdkError::QueueCount { .. }) => {
                        return Err(first).with_context(|| format!("port {} ({name})", p.name))
                    }
                    Err(e) => return Err(e).with_context(|| format!("port {} ({name})", p.name)),
                }
            }
        };
        if port.rx_queues() > workers {
            // A device that receives on all its queues (net_af_packet) got them all: the
            // workers share them out (worker w takes queues w, w + workers, ...).
            eprintln!(
                "svcard: port {} ({name}) receives on all its {} RX queues: the {workers} worker(s) poll them all",
                p.name,
                port.rx_queues()
            );
        }
        ports.push(port);
    }
    let mut queues = Vec::new();
    for w in WorkerId::all(usize::from(workers)) {
        queues.push(
            DpdkQueues::worker_of(&ports, w, workers)
                .with_context(|| format!("queues of worker {w}"))?,
        );
    }
    // The control core's TX queues, where every port has one (else ALG packets leave
    // through the worker that handed them off).
    let control_io = match DpdkQueues::control(&ports) {
        Ok(q) => Some(q),
        Err(e) => {
            eprintln!("svcard: no TX queue for the control core ({e}); ALG packets leave through the workers");
            None
        }
    };
    Ok(Opened {
        config: Arc::clone(config),
        queues,
        control_io,
        ports: Ports {
            ports,
            _pool: pool,
            _eal: eal,
        },
    })
}

/// Where the workers and the control core run when `[workers] cores` does not say: on the
/// EAL's lcores (`-l`), the main one for the control core and the next ones for the
/// workers, as a DPDK application would. Without this, `-l 2-3` left the worker on core 1
/// (the default: worker w on core w + 1). If the EAL has too few lcores for the workers,
/// the configuration is left as it is, and a note says so.
fn with_eal_cores(config: &Arc<Config>, cpus: &[usize]) -> Arc<Config> {
    let n = usize::from(config.workers.count);
    if !config.workers.cores.is_empty() || cpus.is_empty() {
        return Arc::clone(config);
    }
    let Some(workers) = cpus.get(1..=n) else {
        if cpus.len() > 1 {
            eprintln!(
                "svcard: the EAL has {} lcores for {n} workers and the control core; workers \
                 are pinned as without DPDK ([workers] cores sets them)",
                cpus.len()
            );
        }
        return Arc::clone(config);
    };
    let mut c = (**config).clone();
    c.workers.cores = workers.to_vec();
    if c.workers.control_core.is_none() {
        c.workers.control_core = cpus.first().copied();
    }
    Arc::new(c)
}

/// What svcard's telemetry commands read: the workers' published figures.
pub struct Telemetry {
    workers: Vec<Arc<svcard_dataplane::stats::SharedStats>>,
}

impl Telemetry {
    /// Over the running engine's workers.
    pub fn new(engine: &svcard_control::engine::Engine) -> Telemetry {
        Telemetry {
            workers: engine
                .control()
                .workers
                .iter()
                .map(|h| Arc::clone(&h.stats))
                .collect(),
        }
    }
}

impl svcard_dataplane::port::dpdk::telemetry::TelemetrySource for Telemetry {
    fn dict(&self, cmd: &str, params: &str) -> Vec<(String, u64)> {
        use svcard_dataplane::stats::{Counter, Figure, Gauge, LocalStats};
        let snaps: Vec<LocalStats> = self.workers.iter().map(|w| w.snapshot()).collect();
        let mut card = LocalStats::default();
        for s in &snaps {
            card.merge(s);
        }
        let figures = |s: &LocalStats, keep: &dyn Fn(&Figure) -> bool| -> Vec<(String, u64)> {
            Figure::all()
                .filter(|f| keep(f))
                .map(|f| (f.key().into_owned(), s.value(f)))
                .collect()
        };
        match cmd {
            "/svcard/counters" => figures(&card, &|f| matches!(f, Figure::Counter(_))),
            "/svcard/sessions" => figures(&card, &|f| matches!(f, Figure::Gauge(_))),
            "/svcard/drops" => figures(&card, &|f| matches!(f, Figure::Malformed(_))),
            "/svcard/workers" => match params.parse::<usize>() {
                Ok(w) => snaps
                    .get(w)
                    .map(|s| figures(s, &|f| matches!(f, Figure::Counter(_) | Figure::Gauge(_))))
                    .unwrap_or_default(),
                Err(_) => {
                    let mut v = vec![("workers".to_string(), snaps.len() as u64)];
                    for (i, s) in snaps.iter().enumerate() {
                        let busy = s
                            .get(Counter::Loops)
                            .saturating_sub(s.get(Counter::IdleLoops));
                        v.extend([
                            (format!("w{i}_rx_packets"), s.get(Counter::RxPackets)),
                            (format!("w{i}_tx_packets"), s.get(Counter::TxPackets)),
                            (format!("w{i}_polls"), s.get(Counter::Loops)),
                            (format!("w{i}_busy_polls"), busy),
                            (format!("w{i}_sessions"), s.gauge(Gauge::Sessions)),
                        ]);
                    }
                    v
                }
            },
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(workers: &str) -> Arc<Config> {
        let text = format!(
            "[workers]\n{workers}\n[[port]]\nname = \"ge-0/0/0.0\"\npcap-rx = \"in.pcap\"\n\
             peer = \"ge-0/0/1.0\"\n[[port]]\nname = \"ge-0/0/1.0\"\npcap-tx = \"out.pcap\"\n\
             peer = \"ge-0/0/0.0\"\n"
        );
        Arc::new(Config::from_toml_str(&text, "t.toml".as_ref()).unwrap())
    }

    #[test]
    fn the_eal_lcores_place_the_control_core_and_the_workers() {
        let workers = |c: &Config| (c.workers.cores.clone(), c.workers.control_core);
        let one = config("count = 1");
        assert_eq!(
            workers(&with_eal_cores(&one, &[2, 3, 5])),
            (vec![3], Some(2))
        );
        // Too few lcores, or none: unchanged.
        assert_eq!(workers(&with_eal_cores(&one, &[2])), (vec![], None));
        assert_eq!(workers(&with_eal_cores(&one, &[])), (vec![], None));
        // Cores configured: unchanged.
        let set = config("count = 1\ncores = [1]");
        assert_eq!(workers(&with_eal_cores(&set, &[2, 3])), (vec![1], None));
        // Two workers on three lcores; a configured control core stays.
        let two = config("count = 2\ncontrol-core = 0");
        assert_eq!(
            workers(&with_eal_cores(&two, &[4, 5, 6])),
            (vec![5, 6], Some(0))
        );
    }
}
