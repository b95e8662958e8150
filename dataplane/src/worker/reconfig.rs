//! What a worker derives from its configuration, built off the worker: at start by
//! [`Worker::new`](super::Worker::new), and on a reload by the control core, which hands
//! the worker a boxed [`Reconfig`] over its rings (`WorkerRings::reconfig`). Between
//! bursts the worker swaps its fields with the box's (no allocation, no lock) and hands
//! the box back holding the old ones (`WorkerRings::retired`), so what the old
//! configuration owned is freed on the control core, never on the worker.
//!
//! What it changes applies to new sessions: a live session keeps the timeout, TCP checks
//! and rule it was given; the service sets' lifetimes apply to every session at its next
//! expiry check.

use std::sync::Arc;

use crate::session::tcp_window::TcpChecks;
use svcard_config::{AlgKind, Config, NONE};

/// A worker's configuration and what it derives from it.
#[derive(Debug)]
pub struct Reconfig {
    /// The configuration.
    pub(super) config: Arc<Config>,
    /// Each service set's session limit, this worker's even share (used where the card-wide
    /// budget does not cover the service set).
    pub(super) ss_limits: Vec<u32>,
    /// Each service set's lifetime (its own, else the global one; 0: none).
    pub(super) ss_lifetimes: Vec<u32>,
    /// The same, the session table's copy.
    pub(super) table_lifetimes: Box<[u32]>,
    /// Room for each service set's live session count: zeros, as long as the service sets
    /// (the worker copies its counts in when it takes it).
    pub(super) ss_sessions: Vec<u32>,
    /// The service sets' TCP checks.
    pub(super) tcp_checks: TcpChecks,
    /// The setup rate, this worker's share, sessions per millisecond ×1000.
    pub(super) token_rate_per_ms: u64,
    /// The global lifetime.
    pub(super) lifetime_s: u32,
    /// ICMP errors are tied to the session they quote.
    pub(super) icmp_alg: bool,
}

impl Reconfig {
    /// What one of `workers` workers derives from `config`.
    #[must_use]
    pub fn new(config: Arc<Config>, workers: u16) -> Box<Reconfig> {
        let cfg = &*config;
        let n = cfg.service_sets.len();
        let ss_lifetimes: Vec<u32> = (0..n)
            .map(|ss| cfg.lifetime(u16::try_from(ss).unwrap_or(NONE)))
            .collect();
        let workers = u32::from(workers.max(1));
        Box::new(Reconfig {
            ss_limits: cfg
                .service_sets
                .iter()
                .map(|ss| ss.max_sessions.map_or(u32::MAX, |m| m.div_ceil(workers)))
                .collect(),
            table_lifetimes: ss_lifetimes.clone().into_boxed_slice(),
            ss_lifetimes,
            ss_sessions: vec![0; n],
            tcp_checks: TcpChecks::new(cfg),
            token_rate_per_ms: cfg
                .limits
                .setup_rate
                .map_or(0, |r| u64::from(r.div_ceil(workers))),
            lifetime_s: cfg.timeouts.lifetime,
            icmp_alg: cfg.algs[AlgKind::Icmp].enabled,
            config,
        })
    }
}

impl<P: crate::port::PortIo> super::Worker<P> {
    /// Between bursts: takes a new configuration the control core sent, if any, and gives
    /// the old one back to be freed there.
    pub(super) fn take_reconfig(&mut self) {
        let Some(mut r) = self.setup.rings.reconfig.pop() else {
            return;
        };
        self.apply_reconfig(&mut r);
        // The ring holds one: the control core takes the last one back before it sends
        // another. Were it full, the box would be freed here, which is only a cost.
        let _ = self.setup.rings.retired.push(r);
    }

    /// Swaps what `r` carries with the worker's own: afterwards the worker runs `r`'s
    /// configuration and `r` holds the old one.
    pub(super) fn apply_reconfig(&mut self, r: &mut Reconfig) {
        // Live counts move to the new service set list (service sets are only ever added
        // after the existing ones by a reload, so index i stays service set i).
        let n = r.ss_sessions.len().min(self.ss_sessions.len());
        r.ss_sessions[..n].copy_from_slice(&self.ss_sessions[..n]);
        core::mem::swap(&mut self.setup.config, &mut r.config);
        core::mem::swap(&mut self.ss_sessions, &mut r.ss_sessions);
        core::mem::swap(&mut self.ss_limits, &mut r.ss_limits);
        core::mem::swap(&mut self.ss_lifetimes, &mut r.ss_lifetimes);
        self.table
            .swap_service_set_lifetimes(&mut r.table_lifetimes);
        core::mem::swap(&mut self.tcp_checks, &mut r.tcp_checks);
        core::mem::swap(&mut self.token_rate_per_ms, &mut r.token_rate_per_ms);
        self.tokens = self.tokens.min(self.token_rate_per_ms * 1000);
        core::mem::swap(&mut self.lifetime_s, &mut r.lifetime_s);
        core::mem::swap(&mut self.icmp_alg, &mut r.icmp_alg);
    }
}
