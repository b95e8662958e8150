//! `show services stateful-firewall statistics` and its clear: per service set, the new
//! flows each rule verdict made, the packets of existing flows by their session's action
//! (live sessions and closed ones), the drops of new flows (session limit, TCP SYN check),
//! the extensive lines (sessions, rate), XML, and a clear that starts them again.

mod common;
use common::{at, tcp_frame, two_ports, udp_frame, Dir};
use std::time::Duration;

const REST: &str = r#"
[limits]
at-limit = "drop"
[timeouts]
udp = 2
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
max-sessions = 6
[service-set.tcp-session]
no-syn-check = false
[[service-set.rule]]
name = "dns"
protocol = 17
destination-port = "53"
action = "accept"
[[service-set.rule]]
name = "telnet"
protocol = 6
destination-port = "23"
action = "reject"
"#;

/// The numbers after `label: ` on the line that has `label`.
fn field(out: &str, label: &str) -> u64 {
    let at = out
        .find(&format!("{label}: "))
        .unwrap_or_else(|| panic!("no {label} in\n{out}"));
    let rest = &out[at + label.len() + 2..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().unwrap()
}

#[test]
fn per_service_set_rule_counters_existing_packets_drops_and_clear() {
    let dir = Dir::new("sfw-stats");
    let mut client = Vec::new();
    let mut t = 0u64;
    let mut push = |f: Vec<u8>| {
        t += 1;
        client.push(at(t, f));
    };
    // Three DNS flows of 4 packets (accepted), two flows to 9999 of 3 (the default
    // action discards them), one telnet SYN (rejected): six sessions, the limit.
    for f in 0..3u16 {
        for _ in 0..4 {
            push(udp_frame("10.0.0.1", 5000 + f, "192.0.2.1", 53, 20, true));
        }
    }
    for f in 0..2u16 {
        for _ in 0..3 {
            push(udp_frame("10.0.0.1", 6000 + f, "192.0.2.1", 9999, 20, true));
        }
    }
    push(tcp_frame(
        ("10.0.0.1", 7000),
        ("192.0.2.1", 23),
        0x02,
        (1, 0),
        0,
        true,
    ));
    // A seventh flow: past the limit. A mid-stream TCP segment: the SYN check refuses it
    // (before the limit is looked at).
    push(udp_frame("10.0.0.1", 5009, "192.0.2.1", 53, 20, true));
    push(tcp_frame(
        ("10.0.0.1", 7001),
        ("192.0.2.1", 80),
        0x10,
        (5, 9),
        0,
        true,
    ));
    let (engine, _sink) = two_ports(&dir, 1, &client, &[], REST, false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let out = engine.query("show services stateful-firewall statistics");
    assert!(out.starts_with("Interface: "), "{out}");
    assert!(out.contains("  Service set: ss1\n"), "{out}");
    assert_eq!(field(&out, "Rule Accepts"), 3, "{out}");
    assert_eq!(field(&out, "Rule Discards"), 2, "{out}");
    assert_eq!(field(&out, "Rule Rejects"), 1, "{out}");
    assert_eq!(field(&out, "      Accepts"), 12, "{out}");
    assert_eq!(field(&out, "Drop"), 6, "{out}");
    assert_eq!(field(&out, "Rejects"), 1, "{out}");
    assert_eq!(field(&out, "Session limit or setup rate"), 1, "{out}");
    assert_eq!(field(&out, "TCP SYN check"), 1, "{out}");
    let x = engine.query("show services stateful-firewall statistics extensive");
    assert_eq!(field(&x, "Active"), 6, "{x}");
    assert_eq!(field(&x, "Closed"), 0, "{x}");
    let xml = engine.query("show services stateful-firewall statistics | display xml");
    assert!(
        xml.contains("<service-sfw-statistics-information>"),
        "{xml}"
    );
    assert!(xml.contains("<rule-accepts>3</rule-accepts>"), "{xml}");
    assert!(
        xml.contains("<existing-flow-drops>6</existing-flow-drops>"),
        "{xml}"
    );
    // The same refusal, as the service set's flow-limit drops.
    let drops = engine.query("show services service-sets statistics packet-drops");
    let row = drops_row(&drops, "ss1");
    assert_eq!(row, [0, 0, 1], "{drops}");
    let xml = engine.query("show services service-sets statistics packet-drops | display xml");
    for want in [
        "<service-set-packet-drop-statistics>",
        "<service-set-name>ss1</service-set-name>",
        "<cpulimit-drops>0</cpulimit-drops>",
        "<memlimit-drops>0</memlimit-drops>",
        "<flowlimit-drops>1</flowlimit-drops>",
    ] {
        assert!(xml.contains(want), "{want}: {xml}");
    }
    let bad = engine.query("show services service-sets statistics packet-drops interface nope");
    assert!(bad.contains("nope"), "{bad}");
    let bad = engine.query("show services stateful-firewall statistics service-set nope");
    assert!(bad.contains("nope"), "{bad}");

    // The UDP sessions end at their 2 s timeout: their packets stay, now as closed ones.
    std::thread::sleep(Duration::from_millis(3500));
    let x = engine.query("show services stateful-firewall statistics extensive");
    assert_eq!(field(&x, "Closed"), 5, "{x}");
    assert_eq!(field(&x, "Active"), 1, "{x}");
    assert_eq!(field(&x, "      Accepts"), 12, "{x}");
    assert_eq!(field(&x, "Drop"), 6, "{x}");

    // The clear starts every figure again.
    let c = engine.query("clear services stateful-firewall statistics");
    assert_eq!(c, "", "Junos answers this clear with nothing");
    let out = engine.query("show services stateful-firewall statistics extensive");
    for label in [
        "Rule Accepts",
        "      Accepts",
        "Drop",
        "TCP SYN check",
        "Closed",
    ] {
        assert_eq!(field(&out, label), 0, "{label}: {out}");
    }
    assert_eq!(
        field(&out, "Active"),
        1,
        "live sessions are not a counter: {out}"
    );
    // Each clear clears its own figures: the packet drops stay until theirs.
    let drops = engine.query("show services service-sets statistics packet-drops");
    assert_eq!(drops_row(&drops, "ss1"), [0, 0, 1], "{drops}");
    let c = engine.query("clear services service-sets statistics packet-drops");
    assert_eq!(c, "", "Junos answers this clear with nothing");
    let drops = engine.query("show services service-sets statistics packet-drops");
    assert_eq!(drops_row(&drops, "ss1"), [0, 0, 0], "{drops}");
}

/// The CPU, memory and flow limit drops on the row of service set `ss`.
fn drops_row(out: &str, ss: &str) -> [u64; 3] {
    assert!(out.contains("CPU limit"), "{out}");
    let line = out
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(ss))
        .unwrap_or_else(|| panic!("no row of {ss} in\n{out}"));
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(2)
        .map(|x| x.parse().unwrap())
        .collect();
    [n[0], n[1], n[2]]
}
