//! The operators' views of the card itself: `show svcard runtime` and its `clear` (a
//! worker's totals, polls, packets, sessions, time per packet, after a capture, started
//! again by the clear; rates over the last interval while traffic runs; the XML form), and
//! `show interfaces` on the pcap backend (the DPDK one is in tests/dpdk_engine.rs).

mod common;
use common::{at, two_ports, udp_frame, Dir};
use std::time::Duration;

/// The figure `name`'s (total, last interval) in the text form.
fn row(out: &str, name: &str) -> (String, String) {
    let l = out
        .lines()
        .find(|l| l.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in\n{out}"));
    let w: Vec<&str> = l[2 + name.len()..].split_whitespace().collect();
    (w[0].to_string(), w.get(1).unwrap_or(&"").to_string())
}

#[test]
fn runtime_totals_rates_and_clear() {
    let dir = Dir::new("runtime");
    // 300 packets of 30 flows over 3 s: the control core samples every second, so the
    // show at 2.5 s has an interval with traffic in it.
    let client: Vec<_> = (0..300u64)
        .map(|i| {
            at(
                i * 10,
                udp_frame(
                    "10.0.0.1",
                    5000 + (i % 30) as u16,
                    "192.0.2.1",
                    53,
                    20,
                    true,
                ),
            )
        })
        .collect();
    let rest = "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                default-action = \"accept\"\n";
    let (engine, _sink) = two_ports(&dir, 1, &client, &[], rest, true);
    std::thread::sleep(Duration::from_millis(2500));
    let live = engine.query("show svcard runtime");
    let (_, rate) = row(&live, "Packets received");
    let rate: f64 = rate.trim_end_matches("/s").parse().unwrap_or(0.0);
    assert!(
        rate > 10.0,
        "a rate while the capture plays (100/s): {live}"
    );
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let out = engine.query("show svcard runtime");
    assert!(
        out.contains("Worker runtime on FPC0 PIC0 (totals since start"),
        "{out}"
    );
    assert_eq!(row(&out, "Packets received").0, "300", "{out}");
    assert_eq!(row(&out, "Sessions created").0, "30", "{out}");
    let busy: u64 = row(&out, "Busy polls").0.parse().unwrap();
    let polls: u64 = row(&out, "Polls").0.parse().unwrap();
    assert!((1..=300).contains(&busy) && polls > busy, "{out}");
    let ns: f64 = row(&out, "Time per packet, median (ns)").0.parse().unwrap();
    assert!(ns > 0.0, "{out}");
    let x = engine.query("show svcard runtime | display xml");
    assert!(x.contains("<packets-received>"), "{x}");
    assert!(x.contains("<total>300.0</total>"), "{x}");
    // The clear starts the totals again.
    assert_eq!(
        engine.query("clear svcard runtime").trim(),
        "svcard runtime cleared"
    );
    let out = engine.query("show svcard runtime");
    assert!(out.contains("(totals since the last clear"), "{out}");
    assert_eq!(row(&out, "Packets received").0, "0", "{out}");
    assert_eq!(row(&out, "Sessions created").0, "0", "{out}");
}

/// On the pcap backend `show interfaces` names the ports and says their counters are not
/// kept; an unknown interface is an error.
#[test]
fn show_interfaces_on_the_pcap_backend() {
    let dir = Dir::new("interfaces");
    let client = vec![at(
        0,
        udp_frame("10.0.0.1", 5000, "192.0.2.1", 53, 20, true),
    )];
    let rest = "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                default-action = \"accept\"\n";
    let (engine, _sink) = two_ports(&dir, 1, &client, &[], rest, false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let out = engine.query("show interfaces extensive");
    assert!(
        out.contains("Physical interface: ge-0/0/0, Enabled, Physical link is Up"),
        "{out}"
    );
    assert!(
        out.contains("Physical interface: ge-0/0/1, Enabled"),
        "{out}"
    );
    assert!(out.contains("not kept by this port backend"), "{out}");
    let bad = engine.query("show interfaces interface-name ge-9/9/9");
    assert!(bad.contains("error: device ge-9/9/9 not found"), "{bad}");
}
