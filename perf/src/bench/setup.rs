//! How the programs are configured: svcard's TOML and testpmd's arguments for a case, and the mbuf and EAL memory they need.

use std::path::Path;

use super::options::*;
use crate::hugepages::EalMemory;

/// The data room of DPDK's default mbuf pool (`Mempool::DEFAULT_DATA_ROOM`, what `svcard run`
/// uses where it does not honour `[dpdk] mbuf-data-room`): the EAL memory is sized for it
/// when svcard's pool does not fit in memory sized for small mbufs.
pub const LARGE_DATA_ROOM: u32 = 2176;

/// Spare mbufs beyond the capture (which `infinite_rx` holds in the pool).
pub(crate) const SPARE_MBUFS: u32 = 65536;

/// The sink's port number (the second `--vdev`).
pub(crate) const SINK_PORT: u32 = 1;

/// The mbuf data room for frames of `size` bytes: headroom (128) plus the frame and FCS,
/// at least 256.
#[must_use]
pub fn mbuf_data_room(size: usize) -> u32 {
    let need = 128 + size as u32 + 4;
    need.div_ceil(64).max(4) * 64
}

/// Bytes an mbuf takes in a pool without hugepages: the object (mbuf header 128 B, data
/// room, mempool header and trailer about 64 B) does not cross a 4 KiB page, so a page holds
/// a whole number of them (one 2176-byte mbuf per page, nine 256-byte ones).
#[must_use]
pub fn mbuf_footprint(data_room: u32) -> u64 {
    const PAGE: u64 = 4096;
    let obj = u64::from(data_room) + 128 + 64;
    if obj <= PAGE {
        PAGE / (PAGE / obj)
    } else {
        obj.div_ceil(PAGE) * PAGE
    }
}

/// EAL memory (-m, MB) for a pool of `mbufs` mbufs of `data_room` bytes plus 512 MB for
/// the rest (rings, ports, the capture's ring with `infinite_rx`).
#[must_use]
pub fn eal_memory_mb(mbufs: u32, data_room: u32) -> u64 {
    512 + (u64::from(mbufs) * mbuf_footprint(data_room) * 21 / 20).div_ceil(1 << 20)
}

/// How svcard is configured beyond the common benchmark setup.
#[derive(Debug, Clone)]
pub struct SvcardSetup {
    /// `[timeouts]` entries (key, seconds).
    pub timeouts: Vec<(&'static str, u32)>,
    /// `[[service-set.rule]]` tables tried before the default accept (TOML).
    pub rules: String,
    /// `[limits] max-sessions`.
    pub max_sessions: u32,
    /// Keys of the service set (`nat-rules = […]`), before its rules.
    pub ss_keys: String,
    /// Tables of the service set (`[service-set.offload]`), after its rules.
    pub ss_tables: String,
    /// Top-level tables after the rest (`[nat]`, `[log]`, `[offload]`).
    pub extra: String,
    /// What the capture holds, for the configuration's first line.
    pub what: String,
}

impl SvcardSetup {
    /// Accept-all, UDP idle timeout an hour (nothing expires during a run), room for
    /// `flows` sessions.
    #[must_use]
    pub fn established(flows: u32, what: String) -> Self {
        Self {
            timeouts: vec![("udp", 3600)],
            rules: String::new(),
            max_sessions: flows.max(1024),
            ss_keys: String::new(),
            ss_tables: String::new(),
            extra: String::new(),
            what,
        }
    }
}

/// svcard's configuration for the benchmark: one worker, the capture on a `net_pcap`
/// looping from memory, the sink on `net_null`, one accept-all service set.
#[must_use]
pub fn svcard_config(
    capture: &Path,
    flows: u32,
    eal_mb: u64,
    prefix: &str,
    data_room: u32,
) -> String {
    svcard_config_for(
        capture,
        flows,
        eal_mb,
        prefix,
        data_room,
        &SvcardSetup::established(flows, format!("{flows} UDP flows")),
        EalMemory::NoHuge,
    )
}

/// [`svcard_config`] for a capture of `frames` frames (all held in the pool by
/// `infinite_rx`), set up as `setup` says, its EAL on `memory`.
#[must_use]
pub fn svcard_config_for(
    capture: &Path,
    frames: u32,
    eal_mb: u64,
    prefix: &str,
    data_room: u32,
    setup: &SvcardSetup,
    memory: EalMemory,
) -> String {
    let pages = memory.eal_flag();
    let mbufs = frames.saturating_add(SPARE_MBUFS);
    let cap = capture.display();
    let what = &setup.what;
    let max_sessions = setup.max_sessions;
    let rules = &setup.rules;
    let (ss_keys, ss_tables, extra) = (&setup.ss_keys, &setup.ss_tables, &setup.extra);
    let timeouts: String = setup
        .timeouts
        .iter()
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
    format!(
        r#"# svcard bench: {what} replayed from memory into a counting sink.
[workers]
count = 1
[dpdk]
eal-args = ["{pages}", "-m", "{eal_mb}", "--no-pci", "--no-shconf", "--no-telemetry", "--file-prefix", "{prefix}", "-l", "0-1", "--log-level=lib.eal:error"]
mbufs = {mbufs}
mbuf-cache = 256
mbuf-data-room = {data_room}
[[port]]
name = "ge-0/0/0.0"
dpdk = "net_pcap0,rx_pcap={cap},infinite_rx=1"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
dpdk = "net_null0,no-rx=1"
peer = "ge-0/0/0.0"
[[service-set]]
name = "bench"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
{ss_keys}{rules}{ss_tables}[timeouts]
{timeouts}[limits]
max-sessions = {max_sessions}
{extra}"#
    )
}

/// The testpmd arguments (without the program), its EAL on `memory`.
#[must_use]
pub fn testpmd_args(
    capture: &Path,
    frames: u32,
    size: usize,
    mode: Mode,
    prefix: &str,
    memory: EalMemory,
) -> Vec<String> {
    let mbufs = frames.saturating_add(SPARE_MBUFS);
    let room = mbuf_data_room(size);
    vec![
        memory.eal_flag().into(),
        "-m".into(),
        eal_memory_mb(mbufs, room).to_string(),
        "--no-pci".into(),
        "--no-shconf".into(),
        "--no-telemetry".into(),
        "--file-prefix".into(),
        prefix.into(),
        "-l".into(),
        "0-1".into(),
        format!(
            "--vdev=net_pcap0,rx_pcap={},infinite_rx=1",
            capture.display()
        ),
        "--vdev=net_null0,no-rx=1".into(),
        "--".into(),
        format!("--forward-mode={}", mode.name()),
        format!("--mbuf-size={room}"),
        format!("--total-num-mbufs={mbufs}"),
        "--stats-period=1".into(),
        "--nb-cores=1".into(),
    ]
}

/// MB of memory svcard needs for `case`: its EAL memory (`-m`, the pool that holds the
/// capture) plus about `table_bytes_per_session` per session.
#[must_use]
pub fn svcard_memory_mb(
    frames: u32,
    max_len: usize,
    sessions: u32,
    table_bytes_per_session: u64,
) -> u64 {
    eal_memory_mb(frames.saturating_add(SPARE_MBUFS), mbuf_data_room(max_len))
        + (u64::from(sessions) * table_bytes_per_session).div_ceil(1 << 20)
}
