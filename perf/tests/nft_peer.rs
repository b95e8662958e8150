//! The nft-ct peer for a few seconds, where nftables and testpmd are installed (CI installs
//! both): its path is built in namespaces of the test's own, testpmd replays the mix of
//! 2,000 flows into it (TCP and UDP, IPv4 and IPv6, a share on a VLAN, both ways), the
//! kernel forwards them through conntrack to the sink, and the router's conntrack holds
//! every flow once (a flow of a kind the router did not forward would not be confirmed). Afterwards the generator (ended by its
//! PID), the namespaces and the raised conntrack limit are all gone. Says so and passes
//! when a piece is missing.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use svcard_perf::bench::nft::{
    af_packet_frame, generator_args, installed, kernel_has_vlan, Nft, NftNames,
};

fn testpmd() -> Option<std::path::PathBuf> {
    let o = Command::new("sh")
        .args(["-c", "command -v dpdk-testpmd"])
        .output()
        .ok()?;
    let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
    (!p.is_empty()).then(|| p.into())
}

fn namespaces() -> String {
    String::from_utf8_lossy(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned()
}

#[test]
fn the_kernel_forwards_through_conntrack_and_everything_is_removed() {
    let Some(testpmd) = testpmd() else {
        eprintln!("skipped: dpdk-testpmd is not installed");
        return;
    };
    if !installed() {
        eprintln!("skipped: nftables is not installed");
        return;
    }
    const FLOWS: u32 = 2_000;
    let dir = std::env::temp_dir().join(format!("nft-peer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("udp.pcap");
    // Every flow both ways from the third pass on: one connection each.
    let stats = svcard_perf::recipes::write_capture(
        &cap,
        None,
        svcard_perf::recipes::mixed_flows(FLOWS, 60, 4),
    )
    .unwrap();
    let (framesz, room) = af_packet_frame(stats.max_len);
    let max_before = std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_max").unwrap();
    let tag = format!("svt{}", std::process::id());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let fwd = u32::from(cores > 1);
    let nft = Nft::start(NftNames::new(&tag), fwd, 200_000).unwrap_or_else(|e| panic!("{e:#}"));
    // Raised for the run (the kernel's default on a small machine is lower).
    let max_during: u64 = std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(max_during >= 400_000, "{max_during}");
    let args = generator_args(
        &testpmd,
        &nft.names.gen,
        &cap,
        0,
        framesz,
        &[
            "--no-huge".into(),
            "-m".into(),
            "256".into(),
            "--file-prefix".into(),
            tag.clone(),
        ],
        &[
            format!("--mbuf-size={room}"),
            "--total-num-mbufs=70000".into(),
        ],
    );
    let log = dir.join("gen.log");
    let mut gen = Command::new("ip")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let (mut rx, mut ct) = (0, 0);
    let enough = (0..FLOWS)
        .filter(|&i| kernel_has_vlan() || svcard_perf::recipes::kind_of(i).vlan.is_none())
        .count() as u64;
    while t0.elapsed() < Duration::from_secs(40) {
        std::thread::sleep(Duration::from_millis(500));
        rx = nft.sink_packets().unwrap_or(0);
        ct = nft.conntrack().unwrap_or(0);
        if rx > 50_000 && ct >= enough {
            break;
        }
    }
    let pid = gen.id();
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let ended = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        matches!(gen.try_wait(), Ok(Some(_)))
    });
    if !ended {
        let _ = gen.kill();
        let _ = gen.wait();
    }
    let gen_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(rx > 50_000, "the sink received {rx} packets\n{gen_log}");
    // Every flow once: the replies found their requests' connections.
    // Tagged flows too, where the kernel has 802.1Q (not built into this machine's).
    assert!(enough >= u64::from(FLOWS) * 3 / 4, "{enough}");
    assert_eq!(ct, enough, "{gen_log}");
    assert!(ended, "the generator (pid {pid}) did not end on SIGTERM");
    drop(nft);
    let left = namespaces();
    assert!(!left.contains(&tag), "namespaces left: {left}");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_max").unwrap(),
        max_before
    );
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists() || {
            // A PID reused by another process since: not ours.
            !std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .contains("testpmd")
        }
    );
    let _ = std::fs::remove_dir_all(&dir);
}
