//! Which core each thread runs on: the workers' cores and the control core's, from the
//! configuration and the cores this process may use.

use core_affinity::CoreId;
use std::sync::OnceLock;
use svcard_config::Config;

/// The cores this process may use, read once before anything pins a thread (the DPDK EAL
/// pins the main thread to its main lcore, after which the calling thread's affinity no
/// longer says which cores exist). Call it early (the binary does, before the EAL starts).
pub fn available() -> &'static [CoreId] {
    static CORES: OnceLock<Vec<CoreId>> = OnceLock::new();
    CORES.get_or_init(|| core_affinity::get_core_ids().unwrap_or_default())
}

/// Cores for the workers: the configured ones, else worker w on core w+1 when there are
/// more cores than workers (core 0 left to the control core and the OS), else unpinned.
#[must_use]
pub fn workers(config: &Config, ids: &[CoreId]) -> Vec<Option<CoreId>> {
    let n = usize::from(config.workers.count);
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
#[must_use]
pub fn control(config: &Config, ids: &[CoreId], workers: &[Option<CoreId>]) -> Option<CoreId> {
    if let Some(c) = config.workers.control_core {
        return ids.iter().find(|i| i.id == c).copied();
    }
    ids.iter()
        .copied()
        .find(|i| !workers.iter().flatten().any(|w| w.id == i.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(workers: &str) -> Config {
        let text = format!(
            "[workers]\n{workers}\n[[port]]\nname = \"ge-0/0/0.0\"\npcap-rx = \"in.pcap\"\n\
             peer = \"ge-0/0/1.0\"\n[[port]]\nname = \"ge-0/0/1.0\"\npcap-tx = \"out.pcap\"\n\
             peer = \"ge-0/0/0.0\"\n"
        );
        Config::from_toml_str(&text, "t.toml".as_ref()).unwrap()
    }

    fn ids(n: usize) -> Vec<CoreId> {
        (0..n).map(|id| CoreId { id }).collect()
    }

    fn numbers(v: &[Option<CoreId>]) -> Vec<Option<usize>> {
        v.iter().map(|c| c.map(|c| c.id)).collect()
    }

    #[test]
    fn workers_take_the_cores_after_the_first_and_the_control_core_the_first_free() {
        let c = config("count = 2");
        let w = workers(&c, &ids(4));
        assert_eq!(numbers(&w), [Some(1), Some(2)]);
        assert_eq!(control(&c, &ids(4), &w).map(|c| c.id), Some(0));
        // As many cores as workers (or one core): unpinned, the control core on core 0.
        let w = workers(&c, &ids(2));
        assert_eq!(numbers(&w), [None, None]);
        assert_eq!(control(&c, &ids(2), &w).map(|c| c.id), Some(0));
        let one = config("count = 1");
        assert_eq!(numbers(&workers(&one, &ids(1))), [None]);
    }

    #[test]
    fn configured_cores_are_used_when_they_exist() {
        let c = config("count = 2\ncores = [3, 9]\ncontrol-core = 2");
        let w = workers(&c, &ids(4));
        assert_eq!(numbers(&w), [Some(3), None], "core 9 does not exist here");
        assert_eq!(control(&c, &ids(4), &w).map(|c| c.id), Some(2));
        let c = config("count = 1\ncores = [0]");
        let w = workers(&c, &ids(2));
        assert_eq!(control(&c, &ids(2), &w).map(|c| c.id), Some(1));
    }
}
