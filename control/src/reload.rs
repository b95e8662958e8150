//! Configuration reload while svcard runs (`request system configuration reload`, SIGHUP
//! to `svcard run`), as a Junos commit: the file is read again, checked whole, rebased on
//! the running configuration ([`Config::rebase`]: what needs a restart is refused, rule IDs
//! kept by name), then put in force in this order:
//!
//! 1. the card-wide session budget's limits (atomics the workers read per new session);
//! 2. each worker: a boxed [`Reconfig`] over its ring, taken between bursts; the old one
//!    comes back over another and is freed here, never on the worker;
//! 3. the control core's readers ([`LiveConfig`]): show commands, the ALG gateway, the
//!    session logger take it at their next piece of work.
//!
//! Live sessions keep forwarding throughout: nothing is stopped, no session is touched. A
//! bad file or a refused change leaves everything as it was.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use svcard_config::reload::{LiveConfig, Refused};
use svcard_config::{Config, WorkerId};
use svcard_dataplane::ring::WorkerRings;
use svcard_dataplane::worker::{Reconfig, ServiceSetBudget};

/// How a running engine reads its configuration file again (the binary's loader applies
/// the same command-line overrides it applied at start).
pub type Loader = Box<dyn Fn(&Path) -> Result<Config, String> + Send + Sync>;

/// How long the workers have to take a new configuration (each takes it within a
/// millisecond while it polls).
const TAKE_WITHIN: Duration = Duration::from_secs(5);

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// The file read.
    pub file: std::path::PathBuf,
    /// The configuration's generation now (the one started with is 0).
    pub generation: u64,
    /// What changed, one line per part (empty: the file was as running).
    pub changes: Vec<String>,
    /// Workers that had not taken it when the reload returned (they take it at their next
    /// poll).
    pub late: Vec<WorkerId>,
}

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Another reload is running.
    #[error("another configuration reload is in progress")]
    Busy,
    /// The file does not read or does not validate (file, line and field).
    #[error("{0}")]
    File(String),
    /// It asks for changes that need a restart.
    #[error("{0}")]
    Refused(Refused),
}

/// What reloads a running engine's configuration.
pub struct Reloader {
    live: Arc<LiveConfig>,
    load: Loader,
    rings: Vec<Arc<WorkerRings>>,
    budget: Option<Arc<ServiceSetBudget>>,
    busy: Mutex<()>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("generation", &self.live.generation())
            .field("workers", &self.rings.len())
            .finish_non_exhaustive()
    }
}

impl Reloader {
    /// A reloader for the workers behind `rings`, reading with `load` (none: the file as
    /// it is, [`Config::load`]).
    #[must_use]
    pub fn new(
        live: Arc<LiveConfig>,
        load: Option<Loader>,
        rings: Vec<Arc<WorkerRings>>,
        budget: Option<Arc<ServiceSetBudget>>,
    ) -> Reloader {
        Reloader {
            live,
            load: load.unwrap_or_else(|| Box::new(|p| Config::load(p).map_err(|e| e.to_string()))),
            rings,
            budget,
            busy: Mutex::new(()),
        }
    }

    /// Reads the running configuration's file again and puts it in force.
    ///
    /// # Errors
    /// Another reload runs, the file is bad, or it changes what needs a restart: then
    /// nothing changed.
    pub fn reload(&self) -> Result<ReloadReport, ReloadError> {
        let Ok(_one) = self.busy.try_lock() else {
            return Err(ReloadError::Busy);
        };
        self.reload_now()
    }

    fn reload_now(&self) -> Result<ReloadReport, ReloadError> {
        let running = self.live.current();
        let read = (self.load)(&running.file).map_err(ReloadError::File)?;
        let (new, changes) = read.rebase(&running).map_err(ReloadError::Refused)?;
        let new = Arc::new(new);
        if let Some(b) = &self.budget {
            for (i, ss) in new.service_sets.iter().enumerate() {
                let i = u16::try_from(i).unwrap_or(u16::MAX);
                b.set_limit(i, ss.max_sessions.unwrap_or(u32::MAX));
            }
        }
        let workers = u16::try_from(self.rings.len()).unwrap_or(u16::MAX);
        for rings in &self.rings {
            // What a late worker gave back after an earlier reload returned.
            drop(rings.retired.pop());
            // A reload the worker has not taken yet is replaced by this one.
            drop(rings.reconfig.pop());
            let _ = rings
                .reconfig
                .push(Reconfig::new(Arc::clone(&new), workers));
        }
        let start = Instant::now();
        let mut taken = vec![false; self.rings.len()];
        while taken.iter().any(|t| !t) && start.elapsed() < TAKE_WITHIN {
            for (t, rings) in taken.iter_mut().zip(&self.rings) {
                if !*t {
                    if let Some(old) = rings.retired.pop() {
                        *t = true;
                        drop(old);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let late = taken
            .iter()
            .enumerate()
            .filter(|(_, t)| !**t)
            .filter_map(|(w, _)| WorkerId::from_index(w))
            .collect();
        let generation = self.live.replace(Arc::clone(&new));
        Ok(ReloadReport {
            file: new.file.clone(),
            generation,
            changes,
            late,
        })
    }
}
