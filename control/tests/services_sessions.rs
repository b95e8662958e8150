//! `show services sessions` and its count and clear over sessions that belong to no service
//! set (ports outside every service set: `Service Set: N/A`): the count counts them and the
//! clear clears them, as the list shows them.

mod common;
use common::{ip, two_ports, Dir};
use std::time::Duration;
use svcard_dataplane::pcapfile::Record;

fn udp(src: &str, sport: u16, dst: &str, dport: u16) -> Vec<u8> {
    svcard_perf::frames::udp(ip(src), sport, ip(dst), dport, &[1; 18], true)
}

/// The `Valid` column of the count row of service set `ss`, if there is one.
fn count_of(out: &str, ss: &str) -> Option<u64> {
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(ss))
        .and_then(|l| l.split_whitespace().nth(2)?.parse().ok())
}

#[test]
fn sessions_without_a_service_set_are_counted_and_cleared() {
    let dir = Dir::new("services-na");
    // Four flows from the client side (a port in no service set), two from the server side
    // (a port of ss1).
    let at = |i: u64, data: Vec<u8>| Record { ts_ns: i, data };
    let client: Vec<Record> = (0..4u16)
        .map(|i| at(u64::from(i), udp("10.0.0.1", 4000 + i, "192.0.2.1", 443)))
        .collect();
    let server: Vec<Record> = (0..2u16)
        .map(|i| {
            at(
                10 + u64::from(i),
                udp("192.0.2.1", 5000 + i, "10.0.0.1", 9000),
            )
        })
        .collect();
    let rest =
        "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/1.0\"]\ndefault-action = \"accept\"\n";
    let (engine, _sink) = two_ports(&dir, 1, &client, &server, rest, false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let list = engine.query("show services sessions destination-port 443");
    assert_eq!(list.matches("Service Set: N/A").count(), 4, "{list}");
    let count = engine.query("show services sessions count");
    assert_eq!(count_of(&count, "N/A"), Some(4), "{count}");
    assert_eq!(count_of(&count, "ss1"), Some(2), "{count}");
    let count443 = engine.query("show services sessions destination-port 443 count");
    assert_eq!(count_of(&count443, "N/A"), Some(4), "{count443}");
    assert_eq!(count_of(&count443, "ss1"), None, "{count443}");
    // The clear clears what the list shows, and says so on a row of its own.
    let cleared = engine.query("clear services sessions destination-port 443");
    let na = cleared
        .lines()
        .find(|l| l.contains("N/A"))
        .unwrap_or_else(|| panic!("{cleared}"));
    assert_eq!(na.split_whitespace().last(), Some("4"), "{cleared}");
    let after = engine.query("show services sessions count");
    assert_eq!(count_of(&after, "N/A"), None, "{after}");
    assert_eq!(count_of(&after, "ss1"), Some(2), "{after}");
    // A clear with nothing on ports outside the service sets prints no N/A row.
    let again = engine.query("clear services sessions destination-port 443");
    assert!(!again.contains("N/A"), "{again}");
}

#[test]
fn a_member_interface_with_no_session_shown_prints_no_header() {
    let dir = Dir::new("services-headers");
    // Eight flows over two workers (RSS spreads them), all in ss1.
    let at = |i: u64, data: Vec<u8>| Record { ts_ns: i, data };
    let client: Vec<Record> = (0..8u16)
        .map(|i| at(u64::from(i), udp("10.0.0.1", 4000 + i, "192.0.2.1", 8080)))
        .collect();
    let rest = "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                default-action = \"accept\"\n[[service-set]]\nname = \"ss2\"\n";
    let (engine, _sink) = two_ports(&dir, 2, &client, &[], rest, false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let members = ["mams-5/0/0", "mams-5/0/1"];
    let all = engine.query("show services sessions terse");
    for m in members {
        assert!(
            all.lines().any(|l| l == m),
            "both workers hold sessions:\n{all}"
        );
    }
    // A service set with no session: no member header at all.
    let none = engine.query("show services sessions service-set ss2");
    assert!(members.iter().all(|m| !none.contains(m)), "{none}");
    let xml = engine.query("show services sessions service-set ss2 | display xml");
    assert!(!xml.contains("<msp-session-interface>"), "{xml}");
    // A limit reached on the first member: the second prints nothing.
    let two = engine.query("show services sessions limit 2 terse");
    assert_eq!(
        two.lines().filter(|l| members.contains(l)).count(),
        1,
        "one header, then its two sessions:\n{two}"
    );
}

/// The `Sessions` column of `utilization` for member `m`.
fn utilization_of(out: &str, m: &str) -> Option<u64> {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(m))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

#[test]
fn utilization_counts_the_sessions_its_filters_select() {
    let dir = Dir::new("services-utilization");
    let at = |i: u64, data: Vec<u8>| Record { ts_ns: i, data };
    // Three flows to 443, two to 53, all in ss1; one worker.
    let client: Vec<Record> = (0..5u16)
        .map(|i| {
            let port = if i < 3 { 443 } else { 53 };
            at(u64::from(i), udp("10.0.0.1", 4000 + i, "192.0.2.1", port))
        })
        .collect();
    let rest = "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                default-action = \"accept\"\n[[service-set]]\nname = \"ss2\"\n";
    let (engine, _sink) = two_ports(&dir, 1, &client, &[], rest, false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let m = "mams-5/0/0";
    let all = engine.query("show services sessions utilization");
    assert_eq!(utilization_of(&all, m), Some(5), "{all}");
    let web = engine.query("show services sessions utilization destination-port 443");
    assert_eq!(utilization_of(&web, m), Some(3), "{web}");
    let dns = engine.query("show services sessions utilization application-protocol dns");
    assert_eq!(utilization_of(&dns, m), Some(2), "{dns}");
    let none = engine.query("show services sessions utilization service-set ss2");
    assert_eq!(utilization_of(&none, m), Some(0), "{none}");
    let member = engine.query("show services sessions utilization interface mams-5/0/0");
    assert_eq!(utilization_of(&member, m), Some(5), "{member}");
}

/// `application-protocol` values that name no ALG select the sessions of their
/// applications (`snmp`, `icmpv6`), the AMS view's generic `tcp` and `udp` select the
/// sessions without an ALG of that protocol, and a value no application has says so.
#[test]
fn application_protocols_without_an_alg_select_their_sessions() {
    use svcard_perf::frames::{build, L4};
    let dir = Dir::new("services-app-protocols");
    let at = |i: u64, data: Vec<u8>| Record { ts_ns: i, data };
    let echo = |src: &str, dst: &str| {
        build(
            ip(src),
            ip(dst),
            &L4::Echo {
                request: true,
                id: 77,
                seq: 1,
            },
            60,
            true,
        )
    };
    let syn = |dport: u16| {
        build(
            ip("10.0.0.1"),
            ip("192.0.2.1"),
            &L4::Tcp {
                sport: 40_000 + dport,
                dport,
                flags: 0x02,
                seq: 1,
                ack: 0,
                payload: vec![],
            },
            60,
            true,
        )
    };
    let client = vec![
        at(0, udp("10.0.0.1", 4000, "192.0.2.1", 161)), // snmp (junos-snmp-get)
        at(1, udp("10.0.0.1", 4001, "192.0.2.1", 123)), // ntp: udp, no ALG
        at(2, udp("10.0.0.1", 4002, "192.0.2.1", 53)),  // dns: the DNS ALG
        at(3, syn(80)),                                 // http: tcp, no ALG
        at(4, echo("10.0.0.1", "192.0.2.1")),           // icmp
        at(5, echo("2001:db8::1", "2001:db8::2")),      // icmpv6
    ];
    let rest = "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                default-action = \"accept\"\n";
    let (engine, _sink) = two_ports(&dir, 1, &client, &[], rest, false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let sessions = |p: &str| {
        let out = engine.query(&format!("show services sessions application-protocol {p}"));
        out.matches("Service Set: ").count()
    };
    assert_eq!(sessions("snmp"), 1);
    assert_eq!(sessions("icmp"), 1);
    assert_eq!(sessions("icmpv6"), 1);
    assert_eq!(sessions("dns"), 1);
    assert_eq!(
        sessions("tcp"),
        1,
        "http; the DNS ALG's session is not generic"
    );
    assert_eq!(sessions("udp"), 2, "snmp and ntp");
    let out = engine.query("show services sessions application-protocol tcp");
    assert!(out.contains(":80 "), "{out}");
    // tcp and a protocol filter that contradicts it: nothing.
    assert_eq!(
        engine
            .query("show services sessions application-protocol tcp protocol udp")
            .matches("Service Set: ")
            .count(),
        0
    );
    // No application has it: said, not silent.
    let out = engine.query("show services sessions application-protocol netshow");
    assert!(
        out.starts_with(
            "warning: no application of the configuration has application-protocol 'netshow'"
        ),
        "{out}"
    );
    let count = engine.query("show services sessions count application-protocol udp");
    assert_eq!(count_of(&count, "ss1"), Some(2), "{count}");
}
