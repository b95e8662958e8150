//! Session byte counters count what Junos counts: the IP packet (header and payload), not
//! the Ethernet header, not a VLAN tag, not the padding of a short frame. The expected
//! sums come from how the test builds each packet (IP header + transport header +
//! payload), never from svcard's parser.

mod common;
use common::{ip, two_ports, Dir};
use std::time::Duration;
use svcard_dataplane::pcapfile::Record;
use svcard_perf::frames::{build, tag_vlan, L4};

/// The `Bytes:` of every flow line of `show security flow session`, in order.
fn flow_bytes(out: &str) -> Vec<u64> {
    out.lines()
        .filter(|l| l.trim_start().starts_with("In:") || l.trim_start().starts_with("Out:"))
        .filter_map(|l| {
            let v = l.split("Bytes: ").nth(1)?;
            v.split(',').next()?.trim().parse().ok()
        })
        .collect()
}

#[test]
fn byte_counters_count_ip_bytes_for_ipv4_ipv6_and_vlan_tagged_sessions() {
    let dir = Dir::new("byte-counts");
    let udp = |sport: u16, payload: usize| L4::Udp {
        sport,
        dport: 9000,
        payload: vec![7; payload],
    };
    // (source, destination, source port, payload, packets, VLAN): each its own session.
    type Flow<'a> = (&'a str, &'a str, u16, usize, u64, Option<u16>);
    let flows: [Flow; 4] = [
        // 4-byte payloads: 32 IP bytes in a frame padded to 60.
        ("10.0.0.1", "192.0.2.1", 4000, 4, 5, None),
        ("10.0.0.1", "192.0.2.1", 4001, 1000, 3, None),
        ("2001:db8::1", "2001:db8::2", 4002, 100, 4, None),
        ("10.0.0.1", "192.0.2.1", 4003, 10, 6, Some(100)),
    ];
    let mut client = Vec::new();
    let mut expected = Vec::new();
    let mut t = 0u64;
    for &(src, dst, sport, payload, n, vlan) in &flows {
        let ip_header = if src.contains(':') { 40 } else { 20 };
        expected.push((sport, n * (ip_header + 8 + payload as u64)));
        for _ in 0..n {
            let mut f = build(ip(src), ip(dst), &udp(sport, payload), 60, true);
            if let Some(v) = vlan {
                tag_vlan(&mut f, v);
            }
            client.push(Record { ts_ns: t, data: f });
            t += 1;
        }
    }
    let rest = "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                default-action = \"accept\"\n";
    let (engine, _sink) = two_ports(&dir, 1, &client, &[], rest, false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    for (sport, bytes) in expected {
        let out = engine.query(&format!("show security flow session source-port {sport}"));
        assert_eq!(
            flow_bytes(&out),
            vec![bytes, 0],
            "source port {sport}: the In flow's IP bytes:\n{out}"
        );
    }
    // The services view and the resource accounting agree.
    let out = engine.query("show services sessions extensive source-port 4000");
    assert!(out.contains("Byte count: 160"), "{out}");
}
