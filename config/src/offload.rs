//! Session offload settings: when a session is handed to the NIC ([`OffloadTrigger`], per
//! service set with per-application overrides, [`ServiceSetOffload`]), and how the card
//! offloads ([`Offload`]: the backend, the cap on offloaded sessions, the budget of rule
//! insertions, the counter interval, and the NIC model's parameters, [`ModelSettings`]).

/// When a session is offloaded (`[service-set.offload] policy = …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OffloadTrigger {
    /// Never (the default).
    #[default]
    Never,
    /// After the TCP handshake; for other protocols after the first reply.
    Established,
    /// Once the session has carried this many packets (both directions).
    AfterPackets(u64),
    /// Once the session has carried this many bytes (both directions).
    AfterBytes(u64),
    /// When the session's packet rate over a window reaches `per_second` (an elephant).
    PacketRate {
        /// Packets per second.
        per_second: u64,
        /// The window the rate is measured over, milliseconds.
        window_ms: u32,
    },
    /// When the session's byte rate over a window reaches `per_second`.
    ByteRate {
        /// Bytes per second.
        per_second: u64,
        /// The window the rate is measured over, milliseconds.
        window_ms: u32,
    },
}

impl OffloadTrigger {
    /// The policy's configuration word.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            OffloadTrigger::Never => "never",
            OffloadTrigger::Established => "established",
            OffloadTrigger::AfterPackets(_) => "after-packets",
            OffloadTrigger::AfterBytes(_) => "after-bytes",
            OffloadTrigger::PacketRate { .. } | OffloadTrigger::ByteRate { .. } => "rate-above",
        }
    }
}

impl core::fmt::Display for OffloadTrigger {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            OffloadTrigger::Never | OffloadTrigger::Established => f.write_str(self.name()),
            OffloadTrigger::AfterPackets(n) => write!(f, "after-packets {n}"),
            OffloadTrigger::AfterBytes(n) => write!(f, "after-bytes {n}"),
            OffloadTrigger::PacketRate {
                per_second,
                window_ms,
            } => write!(f, "rate-above {per_second} packets/s over {window_ms} ms"),
            OffloadTrigger::ByteRate {
                per_second,
                window_ms,
            } => write!(f, "rate-above {per_second} bytes/s over {window_ms} ms"),
        }
    }
}

/// A service set's offload policy (`[service-set.offload]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceSetOffload {
    /// The policy of the service set's sessions.
    pub policy: OffloadTrigger,
    /// Per-application overrides (`[[service-set.offload.application]]`): catalogue index
    /// and policy.
    pub applications: Vec<(u16, OffloadTrigger)>,
}

impl ServiceSetOffload {
    /// The policy of a session of `application`.
    #[must_use]
    pub fn policy_of(&self, application: u16) -> OffloadTrigger {
        self.applications
            .iter()
            .find(|(a, _)| *a == application)
            .map_or(self.policy, |(_, t)| *t)
    }
}

/// Which backend installs the rules (`[offload] backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OffloadBackendKind {
    /// The emulated NIC flow table (every port, every build).
    #[default]
    Model,
    /// DPDK `rte_flow` on the ports' devices (feature `dpdk`).
    RteFlow,
}

impl OffloadBackendKind {
    /// The configuration word.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            OffloadBackendKind::Model => "model",
            OffloadBackendKind::RteFlow => "rte-flow",
        }
    }
}

/// The emulated NIC's parameters (`[offload.model]`): a preset, then overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSettings {
    /// The preset these start from (`generic`, `connectx-6dx`, `e810`).
    pub preset: String,
    /// Rules the table holds.
    pub capacity: u32,
    /// Rule insertions per second the table accepts.
    pub insert_rate: u32,
    /// Rule removals per second.
    pub remove_rate: u32,
    /// From an accepted insertion to the rule matching packets, microseconds.
    pub insert_latency_us: u32,
    /// Injected failure: every Nth insertion is refused (0: none).
    pub refuse_every: u32,
}

/// A NIC model preset: name, the figures it stands for, where they come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPreset {
    /// The configuration word.
    pub name: &'static str,
    /// Rules the table holds.
    pub capacity: u32,
    /// Insertions per second.
    pub insert_rate: u32,
    /// Removals per second.
    pub remove_rate: u32,
    /// Insertion latency, microseconds.
    pub insert_latency_us: u32,
    /// What the figures are (the README cites the sources).
    pub note: &'static str,
}

/// The presets (sources in the README's offload section).
pub const MODEL_PRESETS: &[ModelPreset] = &[
    ModelPreset {
        name: "generic",
        capacity: 65_536,
        insert_rate: 100_000,
        remove_rate: 100_000,
        insert_latency_us: 20,
        note: "a round mid-range NIC: 64k rules, 100k insertions/s",
    },
    ModelPreset {
        name: "connectx-6dx",
        capacity: 1_048_576,
        insert_rate: 250_000,
        remove_rate: 250_000,
        insert_latency_us: 10,
        note: "NVIDIA ConnectX-6 Dx, mlx5 software steering: rules in host memory",
    },
    ModelPreset {
        name: "e810",
        // One PF of a two-port E810 (DPDK DTS, ice switch filter test plan: a 16K Flow
        // Director table, 14K shared, 2K guaranteed to the PFs; 15,360 rules per PF on a
        // 2×100G card). docs/configuration.md cites it.
        capacity: 15_360,
        insert_rate: 20_000,
        remove_rate: 20_000,
        insert_latency_us: 50,
        note: "Intel E810, ice Flow Director perfect-match filters (one PF of a 2-port card)",
    },
];

impl ModelSettings {
    /// The settings of a preset, by name.
    #[must_use]
    pub fn preset(name: &str) -> Option<ModelSettings> {
        MODEL_PRESETS
            .iter()
            .find(|p| p.name == name)
            .map(|p| ModelSettings {
                preset: p.name.to_string(),
                capacity: p.capacity,
                insert_rate: p.insert_rate,
                remove_rate: p.remove_rate,
                insert_latency_us: p.insert_latency_us,
                refuse_every: 0,
            })
    }
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings::preset("generic").unwrap_or(ModelSettings {
            preset: String::new(),
            capacity: 0,
            insert_rate: 0,
            remove_rate: 0,
            insert_latency_us: 0,
            refuse_every: 0,
        })
    }
}

/// The card's offload settings (`[offload]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offload {
    /// Which backend installs rules.
    pub backend: OffloadBackendKind,
    /// Most sessions offloaded at once on the card (`None`: the backend's capacity).
    pub max_sessions: Option<u32>,
    /// Rule insertions per second the offload manager may make (`None`: unlimited).
    pub insert_budget: Option<u32>,
    /// How often hardware counters are read back, milliseconds.
    pub counter_interval_ms: u32,
    /// The NIC model (backend `model`).
    pub model: ModelSettings,
}

impl Offload {
    /// Default `counter-interval-ms`.
    pub const DEFAULT_COUNTER_INTERVAL_MS: u32 = 1000;
}

impl Default for Offload {
    fn default() -> Self {
        Offload {
            backend: OffloadBackendKind::Model,
            max_sessions: None,
            insert_budget: None,
            counter_interval_ms: Offload::DEFAULT_COUNTER_INTERVAL_MS,
            model: ModelSettings::default(),
        }
    }
}

/// The offload policy of a session, as the worker asks for it.
impl crate::Config {
    /// The offload policy of a new session of `service_set` and `application`, as an
    /// index for [`offload_trigger`](Self::offload_trigger) (0: never). A session whose
    /// application has a running ALG is never offloaded (its control packets must be seen),
    /// unless it is a child flow its ALG marked offloadable (`alg_child`), such as FTP data.
    #[must_use]
    pub fn offload_policy(&self, service_set: u16, application: u16, alg_child: bool) -> u16 {
        if self.offload_triggers.len() < 2 {
            return 0;
        }
        if !alg_child && self.alg_enabled(application).is_some() {
            return 0;
        }
        let Some(ss) = self.service_sets.get(usize::from(service_set)) else {
            return 0;
        };
        let t = ss.offload.policy_of(application);
        self.offload_triggers
            .iter()
            .position(|x| *x == t)
            .and_then(|i| u16::try_from(i).ok())
            .unwrap_or(0)
    }

    /// The policy an [`offload_policy`](Self::offload_policy) index names (never when out
    /// of range).
    #[inline]
    #[must_use]
    pub fn offload_trigger(&self, index: u16) -> OffloadTrigger {
        self.offload_triggers
            .get(usize::from(index))
            .copied()
            .unwrap_or(OffloadTrigger::Never)
    }

    /// Whether any service set offloads anything.
    #[must_use]
    pub fn offload_enabled(&self) -> bool {
        self.offload_triggers.len() > 1
    }
}
