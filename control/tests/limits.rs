//! Session limits as an operator sets them: a service set's `max-sessions` is one budget for
//! the card (uneven RSS does not refuse sessions below it), and `at-limit = "bypass"` turns
//! the flows past a limit into Bypass sessions (forwarded without services, Flags 0x2,
//! outside the service set's count) instead of dropping them.

mod common;
use common::{ip, two_ports, Dir};
use std::time::Duration;
use svcard_dataplane::flow::{rss_queue, Endpoint, FlowKey};
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::stats::{Counter, Gauge};

/// 12 UDP flows that RSS puts all on worker 0 of 2.
fn flows_of_worker_0() -> Vec<Record> {
    let mut out = Vec::new();
    let mut sport = 1000u16;
    while out.len() < 12 {
        sport += 1;
        let (src, dst) = (
            Endpoint {
                addr: ip("10.0.0.1"),
                port: sport,
            },
            Endpoint {
                addr: ip("192.0.2.1"),
                port: 9000,
            },
        );
        let (k, d) = FlowKey::from_endpoints(17, src, dst);
        if rss_queue(&k, d, 2) != 0 {
            continue;
        }
        out.push(Record {
            ts_ns: out.len() as u64,
            data: svcard_perf::frames::udp(src.addr, sport, dst.addr, 9000, &[1; 18], true),
        });
    }
    out
}

fn rest(at_limit: &str) -> String {
    format!(
        "[limits]\nat-limit = \"{at_limit}\"\n\
         [[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
         default-action = \"accept\"\nmax-sessions = 10\n"
    )
}

#[test]
fn a_service_set_limit_is_one_budget_for_the_card() {
    let dir = Dir::new("limits-budget");
    let (engine, _sink) = two_ports(&dir, 2, &flows_of_worker_0(), &[], &rest("drop"), false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let card = engine.stats().card();
    // An even share would have given worker 0 five.
    assert_eq!(card.get(Counter::SessionsCreated), 10, "{card:?}");
    assert_eq!(card.get(Counter::SessionLimitDrops), 2);
    let sum = engine.query("show security flow session summary");
    assert!(sum.contains("Unicast-sessions: 10\n"), "{sum}");
}

#[test]
fn past_the_limit_bypass_sessions_forward_without_services() {
    let dir = Dir::new("limits-bypass");
    let (engine, sink) = two_ports(&dir, 2, &flows_of_worker_0(), &[], &rest("bypass"), false);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::SessionsCreated), 12, "{card:?}");
    assert_eq!(card.get(Counter::SessionLimitBypassed), 2);
    assert_eq!(card.get(Counter::SessionLimitDrops), 0);
    let out = engine.query("show services sessions");
    // Two sessions, each with its two flows in state Bypass.
    let bypass: Vec<&str> = out.lines().filter(|l| l.contains(" Bypass ")).collect();
    assert_eq!(bypass.len(), 4, "{out}");
    assert_eq!(
        out.matches("Flags: 0x0002").count(),
        2,
        "the limit flag on the Bypass sessions: {out}"
    );
    // The resource-manager summary counts them as "other", and its failed count is the
    // flows that met the limit.
    let summary = engine.query("show security flow session summary");
    let field = |label: &str| {
        summary
            .lines()
            .filter_map(|l| l.trim().strip_prefix(label))
            .filter_map(|v| v.trim().parse::<u64>().ok())
            .sum::<u64>()
    };
    assert_eq!(field("Sessions in other states:"), 2, "{summary}");
    assert_eq!(field("Failed-sessions:"), 2, "{summary}");
    assert_eq!(engine.stats().card().gauge(Gauge::Other), 2);
    drop(engine);
    assert_eq!(sink.finish().unwrap(), vec![0, 12], "every flow forwarded");
}

/// A reload that lowers a service set's `max-sessions` keeps the sessions above the new
/// limit and refuses new ones until the count is below it; one that adds a service set with
/// a limit holds that limit too.
#[test]
fn a_reloaded_limit_applies_to_new_sessions() {
    let dir = Dir::new("limits-reload");
    // Six flows at once, then six more 1.5 s later.
    let mut flows = flows_of_worker_0();
    for (i, r) in flows.iter_mut().enumerate() {
        r.ts_ns = if i < 6 { 0 } else { 1_500_000_000 } + i as u64 * 1_000_000;
    }
    let (engine, _sink) = two_ports(&dir, 1, &flows, &[], &rest("drop"), true);
    let t0 = std::time::Instant::now();
    while engine.stats().card().get(Counter::SessionsCreated) < 6 {
        assert!(
            t0.elapsed() < Duration::from_millis(1200),
            "the first six are late"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    common::write_config(
        &dir,
        1,
        &rest("drop").replace("max-sessions = 10", "max-sessions = 7"),
    );
    let r = engine.query("request system configuration reload");
    assert!(r.contains("changed: service-set 'ss1' max-sessions"), "{r}");
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::SessionsCreated), 7, "{card:?}");
    assert_eq!(card.get(Counter::SessionLimitDrops), 5);
    assert_eq!(card.gauge(Gauge::Sessions), 7);
}
