//! End-to-end on the pure-Rust backend: the engine replays captures through the workers,
//! writes what each port transmits, and answers show commands while it runs. The first test
//! runs the real binary (`svcard run`, its exit lines); the others run the engine in this
//! process ([`InProcess`]: the same engine, asked directly).

mod common;

use common::*;
use svcard_dataplane::wire::{self, Outcome};

const POLICY: &str = r#"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
[[service-set.rule]]
name = "block-udp"
destination = ["198.51.100.0/24"]
protocol = "udp"
action = "discard"
[[service-set.rule]]
name = "refuse-telnet"
destination-port = 23
protocol = "tcp"
action = "reject"
[[service-set.rule]]
name = "web"
destination-port = 80
protocol = "tcp"
action = "accept"
"#;

fn config(
    dir: &TempDir,
    client: &str,
    server: Option<&str>,
    workers: u16,
    extra: &str,
) -> std::path::PathBuf {
    let server_rx = server
        .map(|s| format!("pcap-rx = \"{s}\"\n"))
        .unwrap_or_default();
    let text = format!(
        r#"
[workers]
count = {workers}
[[port]]
name = "ge-0/0/0.0"
pcap-rx = "{client}"
pcap-tx = "out0.pcap"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
{server_rx}pcap-tx = "out1.pcap"
peer = "ge-0/0/0.0"
{POLICY}
{extra}
"#
    );
    let p = dir.path("svcard.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn permitted_flows_pass_byte_identical_and_in_order_discarded_do_not_rejected_get_rst() {
    let dir = TempDir::new("fwd");
    let mut input = Vec::new();
    // Three permitted UDP flows, 5 frames each, interleaved; the tag byte numbers them.
    for i in 0..5u8 {
        for f in 0..3u16 {
            input.push(udp("10.1.0.1", 4000 + f, "192.0.2.10", 5000, i));
        }
    }
    // A discarded flow.
    for i in 0..4u8 {
        input.push(udp("10.1.0.2", 4100, "198.51.100.5", 5000, i));
    }
    // A rejected TCP SYN.
    input.push(tcp("10.1.0.3", 4200, "192.0.2.23", 23, 0x02, 1000, 0, &[]));
    // A permitted TCP SYN.
    input.push(tcp("10.1.0.4", 4300, "192.0.2.80", 80, 0x02, 5000, 0, &[]));
    // ARP passes untouched; a truncated frame is dropped.
    input.push(svcard_perf::frames::arp_request(
        [10, 1, 0, 1],
        [10, 1, 0, 254],
    ));
    let mut bad = udp("10.1.0.5", 1, "192.0.2.5", 2, 0);
    bad.truncate(30);
    input.push(bad);
    write_pcap(&dir.path("in.pcap"), &input);
    let cfg = config(&dir, "in.pcap", None, 1, "");
    let o = run_to_end(&cfg, &dir.path("s.sock"), &["--fast"]);
    let summary = String::from_utf8_lossy(&o.stdout);

    let out1 = read_pcap(&dir.path("out1.pcap"));
    let permitted: Vec<Vec<u8>> = input
        .iter()
        .filter(|f| match wire::parse(f) {
            Outcome::Ip(p) => p.dst[..4] == [192, 0, 2, 10] || p.dport == 80,
            Outcome::NotIp { .. } => true,
            Outcome::Drop(_) => false,
        })
        .cloned()
        .collect();
    assert_eq!(out1.len(), permitted.len(), "{summary}");
    // Byte-identical and in order (one worker keeps the capture order).
    assert_eq!(out1, permitted);
    // Nothing of the discarded flow, nor the rejected SYN, left on the server side.
    for f in &out1 {
        if let Outcome::Ip(p) = wire::parse(f) {
            assert_ne!(p.dst[..4], [198, 51, 100, 5]);
            assert_ne!(p.dport, 23);
        }
    }
    // The RST went back out of the client-side port.
    let out0 = read_pcap(&dir.path("out0.pcap"));
    assert_eq!(out0.len(), 1, "exactly the RST comes back");
    let Outcome::Ip(r) = wire::parse(&out0[0]) else {
        panic!("RST does not parse")
    };
    assert_eq!(r.proto, 6);
    assert_eq!((&r.src[..4], r.sport), (&[192u8, 0, 2, 23][..], 23));
    assert_eq!((&r.dst[..4], r.dport), (&[10u8, 1, 0, 3][..], 4200));
    assert_eq!(r.tcp_flags & 0x04, 0x04, "RST flag");
    assert_eq!(r.tcp_ack, 1001, "acknowledges the SYN");
    assert!(wire::checksum::verify_parsed(&out0[0], &r), "RST checksums");
    assert!(summary.contains(" malformed=1 "), "{summary}");
    assert!(summary.contains(" non_ip_passed=1 "), "{summary}");
    assert!(summary.contains(" policy_drops=4 "), "{summary}");
    assert!(summary.contains(" policy_rejects=1 "), "{summary}");
    // The dropped frame's reason (30 bytes: 16 of an IPv4 header).
    assert!(
        summary.contains(" malformed_drops.truncated_ipv4=1"),
        "{summary}"
    );
}

#[test]
fn show_commands_see_the_sessions_with_real_counters() {
    let dir = TempDir::new("show");
    let mut client = Vec::new();
    let mut server = Vec::new();
    for i in 0..3u8 {
        client.push(udp("10.2.0.1", 7000, "192.0.2.20", 53, i));
    }
    server.push(udp("192.0.2.20", 53, "10.2.0.1", 7000, 9));
    client.push(tcp("10.2.0.2", 7100, "192.0.2.80", 80, 0x02, 1, 0, &[]));
    client.push(udp("10.2.0.3", 7200, "198.51.100.7", 9, 1));
    write_pcap(&dir.path("c.pcap"), &client);
    write_pcap(&dir.path("s.pcap"), &server);
    let cfg = config(&dir, "c.pcap", Some("s.pcap"), 1, "");
    let sv = InProcess::start(&cfg);
    let all = sv.wait_for("show security flow session", 10, |o| {
        o.contains("Total sessions: 3")
    });
    assert!(all.starts_with("Flow Sessions on FPC0 PIC0:\n"), "{all}");
    assert!(all.contains("In: 10.2.0.1/7000 --> 192.0.2.20/53;udp, Conn Tag: 0x0, If: ge-0/0/0.0, Pkts: 3, Bytes: 138,"), "{all}");
    assert!(all.contains("Out: 192.0.2.20/53 --> 10.2.0.1/7000;udp, Conn Tag: 0x0, If: ge-0/0/1.0, Pkts: 1, Bytes: 46,"), "{all}");
    assert!(all.contains("Policy name: block-udp/1"), "{all}");
    assert!(all.contains("Policy name: web/3"), "{all}");

    let sum = sv.cli("show security flow session summary");
    assert!(sum.contains("Unicast-sessions: 3\n"), "{sum}");
    assert!(sum.contains("Sessions-in-drop-flow: 1\n"), "{sum}");
    assert!(sum.contains("  Valid sessions: 2\n"), "{sum}");
    assert!(sum.contains("  Pending sessions: 1\n"), "{sum}");
    assert!(sum.contains("Maximum-sessions: "), "{sum}");

    // Filters select exactly the matching sessions.
    let tcp_only = sv.cli("show security flow session protocol tcp");
    assert_eq!(field_values(&tcp_only, "Total sessions"), vec![1]);
    assert!(tcp_only.contains("192.0.2.80/80;tcp"));
    let by_port = sv.cli("sh sec fl sess destination-port 53");
    assert_eq!(field_values(&by_port, "Total sessions"), vec![1]);
    let by_prefix = sv.cli("show security flow session destination-prefix 198.51.100.0/24");
    assert_eq!(field_values(&by_prefix, "Total sessions"), vec![1]);
    let none = sv.cli("show security flow session source-port 1");
    assert_eq!(field_values(&none, "Total sessions"), vec![0]);
    let ext = sv.cli("show security flow session extensive destination-port 53");
    assert!(ext.contains("Session State: Valid"), "{ext}");
    assert!(ext.contains("    Pkts: 3, Bytes: 138"), "{ext}");
    let id = field_values(&all, "Session ID")[0];
    let one = sv.cli(&format!(
        "show security flow session session-identifier {id}"
    ));
    assert_eq!(field_values(&one, "Session ID"), vec![id]);
    let filtered_summary = sv.cli("show security flow session protocol udp summary");
    assert!(
        filtered_summary.contains("Valid sessions: 2"),
        "{filtered_summary}"
    );
    // Pipes.
    assert_eq!(
        sv.cli("show security flow session | match \"Session ID\" | count"),
        "Count: 3 lines\n"
    );
    // Junos-style errors.
    let err = sv.cli("show security flow sesion");
    assert!(err.contains("syntax error"), "{err}");
    let range = sv.cli("show security flow session destination-port 70000");
    assert!(range.contains("70000"), "{range}");
    sv.stop();
}

#[test]
fn two_workers_own_each_session_once_with_both_directions() {
    let dir = TempDir::new("two");
    let mut client = Vec::new();
    let mut server = Vec::new();
    for f in 0..200u16 {
        let c = format!("10.3.{}.{}", f / 250, f % 250 + 1);
        client.push(udp(&c, 10_000 + f, "192.0.2.30", 4000 + (f % 7), 1));
        server.push(udp("192.0.2.30", 4000 + (f % 7), &c, 10_000 + f, 2));
    }
    write_pcap(&dir.path("c.pcap"), &client);
    write_pcap(&dir.path("s.pcap"), &server);
    let cfg = config(&dir, "c.pcap", Some("s.pcap"), 2, "");
    let sv = InProcess::start(&cfg);
    let out = sv.wait_for("show security flow session", 15, |o| {
        field_values(o, "Total sessions").iter().sum::<u64>() == 200
    });
    let ids = sessions_by_pic(&out);
    assert_eq!(ids.len(), 200);
    let mut seen = std::collections::HashSet::new();
    let mut per_pic = [0usize; 2];
    for (pic, id) in &ids {
        assert!(seen.insert(*id), "session {id} listed twice");
        // The ID names the worker: (worker + 1) << 25 | slot.
        assert_eq!(id >> 25, pic + 1, "session {id} on PIC{pic}");
        per_pic[*pic as usize] += 1;
    }
    assert!(per_pic[0] > 0 && per_pic[1] > 0, "RSS spread: {per_pic:?}");
    // Both directions of every session were counted on its worker.
    let pkts = field_values(&out, "Pkts");
    assert_eq!(pkts.len(), 400);
    assert!(pkts.iter().all(|&p| p == 1), "every direction seen once");
    sv.stop();
}

#[test]
fn sessions_expire_after_their_timeouts_and_the_summary_follows() {
    let dir = TempDir::new("expire");
    let frames: Vec<Vec<u8>> = (0..20u16)
        .map(|f| udp("10.4.0.1", 20_000 + f, "192.0.2.40", 9000, 0))
        .collect();
    write_pcap(&dir.path("c.pcap"), &frames);
    let cfg = config(&dir, "c.pcap", None, 1, "[timeouts]\nudp = 1\n");
    let sv = InProcess::start(&cfg);
    sv.wait_for("show security flow session summary", 10, |o| {
        o.contains("Unicast-sessions: 20\n")
    });
    let gone = sv.wait_for("show security flow session summary", 10, |o| {
        o.contains("Unicast-sessions: 0\n")
    });
    assert!(gone.contains("Valid sessions: 0"), "{gone}");
    assert_eq!(
        field_values(&sv.cli("show security flow session"), "Total sessions"),
        vec![0]
    );
    let log = sv.stop();
    assert!(log.contains(" sessions_closed=20 "), "{log}");
}

/// `svcard gen udp-flows --passes`: each later pass holds every flow once more, out of the
/// first pass's order; a count out of range is refused with the option named.
#[test]
fn gen_udp_flows_passes_repeat_every_flow_out_of_order() {
    let dir = TempDir::new("gen-passes");
    let out = dir.0.join("f.pcap");
    let run = |passes: &str| {
        std::process::Command::new(BIN)
            .args([
                "gen",
                "udp-flows",
                "--flows",
                "500",
                "--passes",
                passes,
                "--out",
            ])
            .arg(&out)
            .output()
            .expect("svcard runs")
    };
    let o = run("3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("1500 frames"));
    let recs = svcard_dataplane::pcapfile::read_file(&out).expect("a capture");
    assert_eq!(recs.len(), 1500);
    let first: Vec<&[u8]> = recs[..500].iter().map(|r| r.data.as_slice()).collect();
    for pass in 1..3 {
        let part: Vec<&[u8]> = recs[pass * 500..(pass + 1) * 500]
            .iter()
            .map(|r| r.data.as_slice())
            .collect();
        let mut sorted_part = part.clone();
        sorted_part.sort();
        let mut sorted_first = first.clone();
        sorted_first.sort();
        assert_eq!(sorted_part, sorted_first, "pass {pass}: the same flows");
        assert_ne!(part, first, "pass {pass}: in another order");
    }
    let o = run("9");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--passes must be 1 to 8"));
    let o = std::process::Command::new(BIN)
        .args([
            "gen",
            "udp-flows",
            "--flows",
            "4194305",
            "--passes",
            "4",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("svcard runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("at most 16777216 frames"));
}
