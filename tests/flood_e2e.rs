//! Floods beside real traffic: svcard (DPDK, `net_af_packet`) between a client and a
//! server namespace, a table of 20,000 sessions, and `tcpreplay` in the client namespace
//! offering a SYN flood and a UDP flood of new flows (each frame a flow never seen) at ten
//! times that capacity per second while a `curl` download (512 MiB from Python's HTTP
//! server) and an `iperf3` UDP stream, both established before the flood, cross the same
//! worker. The download must complete whole and iperf3 report over its control connection,
//! the table stay at its limit with the refusals counted, and svcard's memory stay what it
//! was. The same download and stream
//! without the flood give the figures to compare; the test prints both (the closing note
//! of issue 18 quotes them) and asserts no rate. Needs root (network namespaces).

#![cfg(feature = "dpdk")]

mod common;
use common::netns::{figure, need, Rig, PYTHON};
use std::time::{Duration, Instant};
use svcard_perf::frames::{build, L4};

/// The card's session limit.
const CAPACITY: u32 = 20_000;
/// Flood frames offered per second: ten times the capacity.
const FLOOD_PPS: u32 = 10 * CAPACITY;
/// Distinct flows in the flood's capture (half SYNs, half UDP), replayed `LOOPS` times.
const FLOOD_FLOWS: u32 = 300_000;
const LOOPS: u32 = 2;

/// The flood: SYNs and UDP datagrams from 10.200.0.0/16, each frame its own flow, to the
/// server's address (addressed to no MAC of the rig: only svcard sees them).
fn flood_frames(server: &str) -> Vec<Vec<u8>> {
    let dst: std::net::IpAddr = server.parse().unwrap();
    (0..FLOOD_FLOWS)
        .map(|i| {
            let src = std::net::IpAddr::from([10, 200, (i >> 8 & 0xff) as u8, (i & 0xff) as u8]);
            let sport = 1024 + (i >> 16) as u16;
            let l4 = if i % 2 == 0 {
                L4::Tcp {
                    sport,
                    dport: 8080,
                    flags: 0x02,
                    seq: i,
                    ack: 0,
                    payload: Vec::new(),
                }
            } else {
                L4::Udp {
                    sport,
                    dport: 5201,
                    payload: vec![0; 18],
                }
            };
            build(src, dst, &l4, 60, true)
        })
        .collect()
}

fn vm_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A number after `key` in the `section` object (`sum_sent`, `sum_received`) of the `end`
/// summary of iperf3's JSON.
fn json_number(json: &str, section: &str, key: &str) -> Option<f64> {
    let end = &json[json.find("\"end\":")?..];
    let sec = &end[end.find(&format!("\"{section}\":"))?..];
    let at = sec.find(&format!("\"{key}\":"))? + key.len() + 3;
    sec[at..]
        .trim_start()
        .split([',', '\n', '}'])
        .next()?
        .trim()
        .parse()
        .ok()
}

struct Traffic {
    /// The download's rate, bytes per second, and whether it was whole.
    download: (f64, bool),
    /// The UDP stream: datagrams sent and lost.
    udp: (u64, u64),
    /// iperf3 finished and reported.
    udp_ok: bool,
}

/// The download and the UDP stream, with `during` run once both are under way.
fn traffic(rig: &Rig, s4: &str, during: impl FnOnce()) -> Traffic {
    let iperf = rig.spawn_client(&[
        "iperf3", "-c", s4, "-u", "-b", "20M", "-l", "1000", "-t", "5", "-J",
    ]);
    let curl = rig.spawn_client(&[
        "curl",
        "-sS",
        "-m",
        "60",
        "-o",
        "/dev/null",
        "-w",
        "%{size_download} %{speed_download}",
        &format!("http://{s4}:8080/big.bin"),
    ]);
    std::thread::sleep(Duration::from_millis(300));
    during();
    let c = curl.finish(Duration::from_secs(65));
    let mut w = c.stdout.split_whitespace();
    let size: u64 = w.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let speed: f64 = w.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let i = iperf.finish(Duration::from_secs(15));
    // Datagrams sent, and received (the server's bytes over the 1000-byte length).
    let sent = json_number(&i.stdout, "sum_sent", "packets").unwrap_or(0.0) as u64;
    let got = json_number(&i.stdout, "sum_received", "bytes").unwrap_or(0.0) as u64 / 1000;
    let lost = sent.saturating_sub(got);
    Traffic {
        download: (speed, c.ok() && size == 512 << 20),
        udp: (sent, lost),
        udp_ok: i.ok() && i.stdout.contains("\"end\""),
    }
}

#[test]
fn floods_at_ten_times_the_capacity_leave_established_traffic_flowing() {
    need(&["curl", "iperf3", "tcpreplay", PYTHON]);
    let mut rig = Rig::new(90, "flood");
    let www = rig.dir.path("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::File::create(www.join("big.bin"))
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    rig.start(&format!(
        "[limits]\nmax-sessions = {CAPACITY}\nat-limit = \"drop\"\n\
         [[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
         default-action = \"accept\"\n"
    ));
    let s4 = rig.server_ip().to_string();
    let mut servers = rig.server(
        "servers",
        &format!(
            "cd {}\niperf3 -s -B {s4} -p 5201 &\nexec {PYTHON} -m http.server -b {s4} 8080",
            www.display()
        ),
    );
    rig.wait_listening(&mut servers, "tcp", 8080, 1);
    rig.wait_listening(&mut servers, "tcp", 5201, 1);
    let pcap = rig.dir.path("flood.pcap");
    common::write_pcap(&pcap, &flood_frames(&s4));
    let pid = rig
        .svcard()
        .child
        .as_ref()
        .map_or(0, std::process::Child::id);

    // Without the flood (after a first run that warms the server's caches).
    let _ = traffic(&rig, &s4, || {});
    let calm = traffic(&rig, &s4, || {});
    let rss_before = vm_rss_kib(pid);
    let before = rig.show("show svcard statistics");

    // With it.
    let mut replay = None;
    let t0 = Instant::now();
    let flooded = traffic(&rig, &s4, || {
        replay = Some(rig.client(
            &[
                "tcpreplay",
                &format!("--pps={FLOOD_PPS}"),
                &format!("--loop={LOOPS}"),
                "-i",
                &rig.client_if,
                &pcap.display().to_string(),
            ],
            Duration::from_secs(30),
        ));
    });
    let took = t0.elapsed();
    let replay = replay.unwrap();
    let rss_after = vm_rss_kib(pid);
    let after = rig.show("show svcard statistics");
    let delta = |name: &str| figure(&after, name) - figure(&before, name);
    let offered = u64::from(FLOOD_FLOWS * LOOPS);
    let rated = replay
        .stdout
        .lines()
        .find(|l| l.contains("Rated:"))
        .unwrap_or("")
        .trim()
        .to_string();
    let refused = delta("session_limit_drops") + delta("table_full_drops");
    let created = delta("sessions_created");
    let sessions = figure(&after, "sessions");
    let count = rig.show("show services sessions count");
    eprintln!(
        "flood: {offered} new flows offered at {FLOOD_PPS}/s by tcpreplay ({rated}); \
         svcard received {} frames, created {created} sessions, refused {refused} \
         (session limit {}, table full {}, setup rate {}), sessions at the end {sessions} \
         of {CAPACITY}; {took:?}\n\
         download 512 MiB: {:.1} MB/s without the flood, {:.1} MB/s with it (whole: {} / {})\n\
         UDP 20 Mbit/s: {} of {} datagrams lost without, {} of {} with\n\
         svcard RSS {rss_before} KiB before the flood, {rss_after} KiB after",
        delta("rx_packets"),
        delta("session_limit_drops"),
        delta("table_full_drops"),
        delta("setup_rate_drops"),
        calm.download.0 / 1e6,
        flooded.download.0 / 1e6,
        calm.download.1,
        flooded.download.1,
        calm.udp.1,
        calm.udp.0,
        flooded.udp.1,
        flooded.udp.0,
    );
    let mut failures = Vec::new();
    if !replay.ok() {
        failures.push(format!("tcpreplay failed: {}", replay.report()));
    }
    if !calm.download.1 || !flooded.download.1 {
        failures.push("a download was not whole".to_string());
    }
    // iperf3 reports at the end over its TCP control connection, made before the flood:
    // its report says that connection lived through it. (Its loss is a figure, printed
    // above; this host's share of the CPU decides it, not svcard's books.)
    if !flooded.udp_ok {
        failures.push("iperf3 under the flood did not report (its control connection)".into());
    }
    if sessions > u64::from(CAPACITY) {
        failures.push(format!("{sessions} sessions above the limit {CAPACITY}"));
    }
    if refused == 0 {
        failures.push(format!(
            "no new flow of the flood refused ({created} created, table of {CAPACITY})"
        ));
    }
    if !count.contains("Valid") && !count.contains("Sessions") {
        failures.push(format!("show services sessions count:\n{count}"));
    }
    // The table is allocated at start: a flood adds nothing but the pages it touches.
    if rss_after > rss_before + 64 * 1024 {
        failures.push(format!(
            "svcard grew from {rss_before} KiB to {rss_after} KiB under the flood"
        ));
    }
    drop(servers);
    // Where frames were lost, if anywhere: the ports' own counters at stop.
    let log = rig.stop_svcard();
    for l in log.lines().filter(|l| l.contains(" missed ")) {
        eprintln!("flood: {}", l.trim());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
