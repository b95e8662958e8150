//! Configuration reload under traffic (`request system configuration reload`): a changed
//! rule takes effect for new sessions while the live ones keep every packet (the pcap
//! backend loses none), a live session still names the rule that admitted it, a changed
//! timeout and limit apply to new sessions; a bad file and a change that needs a restart
//! are refused, name what is wrong, and change nothing.

mod common;
use common::{at, two_ports, udp_frame, write_config, Dir};
use std::time::{Duration, Instant};
use svcard_dataplane::pcapfile::read_file;
use svcard_dataplane::wire::{parse, Outcome};

const BEFORE: &str = r#"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
[[service-set.rule]]
name = "dns"
protocol = 17
destination-port = "53"
action = "accept"
[[service-set.rule]]
name = "web"
protocol = 17
destination-port = "8080"
action = "accept"
"#;

/// The same rules with a discard for 8080 inserted first, and a UDP timeout of 7 s.
fn after() -> String {
    let block = "[[service-set.rule]]\nname = \"block-8080\"\nprotocol = 17\n\
                 destination-port = \"8080\"\naction = \"discard\"\n";
    let (head, rules) = BEFORE.split_once("[[service-set.rule]]\n").unwrap();
    format!("[timeouts]\nudp = 7\n{head}{block}[[service-set.rule]]\n{rules}")
}

/// Packets per destination port that left toward the server, by source port.
fn forwarded(dir: &Dir) -> std::collections::BTreeMap<u16, usize> {
    let mut m = std::collections::BTreeMap::new();
    for r in read_file(&dir.0.join("out1.pcap")).unwrap() {
        if let Outcome::Ip(p) = parse(&r.data) {
            *m.entry(p.sport).or_default() += 1;
        }
    }
    m
}

#[test]
fn a_reload_under_traffic_changes_new_sessions_and_keeps_live_ones() {
    let dir = Dir::new("reload");
    // A DNS flow all along (port 5000, every 10 ms for 3 s); 8080 flows starting before
    // the reload (sources 6000-6004, each every 20 ms to the end) and after it (7000-7004,
    // starting at 2 s).
    let mut client = Vec::new();
    for i in 0..300u64 {
        client.push((
            i * 10,
            udp_frame("10.0.0.1", 5000, "192.0.2.1", 53, 20, true),
        ));
    }
    for f in 0..5u16 {
        for t in (u64::from(f) * 20..3000).step_by(20) {
            client.push((
                t,
                udp_frame("10.0.0.2", 6000 + f, "192.0.2.2", 8080, 20, true),
            ));
        }
        for t in (2000 + u64::from(f) * 20..3000).step_by(20) {
            client.push((
                t,
                udp_frame("10.0.0.3", 7000 + f, "192.0.2.2", 8080, 20, true),
            ));
        }
    }
    client.sort_by_key(|(t, _)| *t);
    let sent = |sport: u16| {
        client
            .iter()
            .filter(|(_, f)| f[34..36] == sport.to_be_bytes())
            .count()
    };
    let want_dns = sent(5000);
    let want_early: Vec<usize> = (0..5).map(|f| sent(6000 + f)).collect();
    let records: Vec<_> = client.into_iter().map(|(t, f)| at(t, f)).collect();
    let start = Instant::now();
    let (engine, sink) = two_ports(&dir, 1, &records, &[], BEFORE, true);
    std::thread::sleep(Duration::from_millis(600));
    let before = engine.query("show security flow session destination-port 8080");
    assert!(before.contains("Policy name: web/2"), "{before}");

    // A bad file: refused with its line and field, nothing changed.
    let path = write_config(&dir, 1, &after().replace("\"discard\"", "\"maybe\""));
    let bad = engine.query("request system configuration reload");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().position(|l| l.contains("\"maybe\"")).unwrap() + 1;
    assert!(
        bad.contains(&format!(
            "error: {}:{line}: service-set[0].rule[0].action:",
            path.display()
        )),
        "{bad}"
    );
    assert!(
        bad.ends_with("error: configuration check-out failed\n"),
        "{bad}"
    );
    // A change that needs a restart: refused, each part named.
    write_config(&dir, 2, BEFORE);
    let fixed = engine.query("request system configuration reload");
    assert_eq!(
        fixed,
        "error: [workers]: cannot change while svcard runs; restart svcard to apply it\n\
         error: configuration check-out failed\n"
    );
    assert_eq!(engine.config().service_sets[0].rules.len(), 2);

    // The reload, about 1 s into the capture.
    write_config(&dir, 1, &after());
    let ok = engine.query("request system configuration reload");
    let at_reload = start.elapsed();
    assert!(
        ok.starts_with(&format!(
            "configuration reloaded from {} (generation 1)\n",
            path.display()
        )),
        "{ok}"
    );
    assert!(ok.contains("  changed: service-set 'ss1' rules\n"), "{ok}");
    assert!(ok.contains("  changed: [timeouts]\n"), "{ok}");
    assert!(ok.ends_with("commit complete\n"), "{ok}");
    assert!(
        at_reload < Duration::from_millis(1900),
        "reloaded at {at_reload:?}"
    );
    let x = engine.query("request system configuration reload | display xml");
    assert!(x.contains("<generation>2</generation>"), "{x}");
    assert!(x.contains("<commit-success/>"), "{x}");

    assert!(engine.wait_idle(Duration::from_secs(30)));
    // The live sessions still name the rule that admitted them (its ID kept: web/2), and
    // kept their timeout; the new ones were refused by the new rule.
    let live = engine.query("show security flow session destination-port 8080 extensive");
    let blocks: Vec<&str> = live.split("Session ID: ").skip(1).collect();
    assert_eq!(blocks.len(), 10, "{live}");
    for b in blocks {
        if b.contains("10.0.0.2/600") {
            assert!(b.contains("Policy name: web/2\n"), "{b}");
            assert!(b.contains("Maximum timeout: 60, "), "{b}");
        } else {
            // Refused by the new rule (a drop session), with the new timeout.
            assert!(b.contains("10.0.0.3/700"), "{b}");
            assert!(b.contains("Policy name: block-8080/3\n"), "{b}");
            assert!(b.contains("Maximum timeout: 7, "), "{b}");
        }
    }
    let dns = engine.query("show security flow session destination-port 53 extensive");
    assert!(dns.contains("Policy name: dns/1"), "{dns}");
    let stats = engine.shutdown().unwrap().card();
    drop(sink);
    let out = forwarded(&dir);
    assert_eq!(
        out.get(&5000),
        Some(&want_dns),
        "the DNS flow lost packets: {out:?}"
    );
    for f in 0..5u16 {
        let early = out.get(&(6000 + f));
        assert_eq!(early, Some(&want_early[usize::from(f)]), "{out:?}");
        assert_eq!(out.get(&(7000 + f)), None, "{out:?}");
    }
    assert_eq!(
        stats.get(svcard_dataplane::stats::Counter::SessionsCreated),
        11,
        "1 DNS + 5 early 8080 + 5 refused 8080 sessions"
    );
}
