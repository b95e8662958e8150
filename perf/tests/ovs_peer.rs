//! The OVS-DPDK peer for a few seconds, where Debian's `openvswitch-switch-dpdk` is
//! installed (CI installs it): a private OVS forwards a capture of 30,000 UDP flows through
//! `ct(commit)` into its sink; its sink counts packets and its conntrack holds every flow;
//! its daemons are ended by their PIDs. The capture is larger than the pool OVS gives a
//! port of one receive queue (4,096 + 16 Ki mbufs), so it runs only because the port's pool
//! is sized to hold it. Says so and passes when OVS is not installed.

use std::path::Path;
use std::time::{Duration, Instant};
use svcard_perf::bench::ovs::{
    alive, memory_mb, Ovs, OvsPaths, OvsSetup, OVS_MBUF_BYTES_4K, VSWITCHD_DPDK,
};

#[test]
fn ovs_forwards_through_conntrack_and_ends_by_pid() {
    if !Path::new(VSWITCHD_DPDK).is_file() {
        eprintln!("skipped: {VSWITCHD_DPDK} is not installed");
        return;
    }
    // A short path: OVS's unix sockets must fit sun_path.
    let dir = std::env::temp_dir().join(format!("ovs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    const FLOWS: u64 = 30_000;
    let cap = dir.join("udp-30000.pcap");
    svcard_perf::write_pcap(&cap, &svcard_perf::recipes::udp_flows(FLOWS as u32, 60)).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let setup = OvsSetup {
        captures: vec![cap],
        frames: FLOWS,
        pmd_core: cores.saturating_sub(1),
        main_core: 0,
        no_huge_mb: Some(memory_mb(FLOWS, u64::from(cores), OVS_MBUF_BYTES_4K)),
    };
    let ovs = Ovs::start(OvsPaths::new(&dir), &setup).unwrap_or_else(|e| panic!("{e:#}"));
    let pids = ovs.pids().to_vec();
    assert_eq!(pids.len(), 2, "ovsdb-server and ovs-vswitchd");
    // Forwarding: the sink's packets grow; every flow is in conntrack.
    let t0 = Instant::now();
    let (mut tx, mut ct) = (0, 0);
    while t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(500));
        tx = ovs.tx_packets("sink").unwrap_or(0);
        ct = ovs.conntrack().unwrap_or(0);
        if tx > 100_000 && ct >= FLOWS {
            break;
        }
    }
    let log = std::fs::read_to_string(dir.join("ovs-vswitchd.log")).unwrap_or_default();
    assert!(tx > 100_000, "the sink counted {tx} packets\n{log}");
    assert_eq!(ct, FLOWS, "conntrack holds every flow once\n{log}");
    drop(ovs);
    for pid in pids {
        assert!(!alive(pid), "OVS daemon {pid} still runs");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
