//! The control core's books after the event ring overflowed: a worker with a 16-entry
//! event ring creates 3,000 sessions faster than the control core drains them, loses most
//! of their events (counted), and the books reconcile with its table afterwards (the live
//! count is right, one reconciliation ran) instead of drifting.

mod common;
use common::{ip, two_ports_with, Dir};
use std::time::{Duration, Instant};
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::ring::RingSizes;
use svcard_dataplane::stats::{Counter, Gauge};
use svcard_perf::frames::{build, L4};

#[test]
fn books_reconcile_after_the_event_ring_overflows() {
    let dir = Dir::new("reconcile");
    let client: Vec<Record> = (0..3000u32)
        .map(|i| Record {
            ts_ns: u64::from(i),
            data: build(
                ip(&format!("10.0.{}.{}", i / 250, i % 250 + 1)),
                ip("192.0.2.1"),
                &L4::Udp {
                    sport: 5000,
                    dport: 53,
                    payload: vec![0; 20],
                },
                60,
                true,
            ),
        })
        .collect();
    let opts = svcard_control::engine::EngineOptions {
        ring_sizes: Some(RingSizes {
            events: 16,
            commands: 64,
            replies: 4096,
        }),
        ..Default::default()
    };
    let rest = "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                default-action = \"accept\"\n";
    let (engine, _sink) = two_ports_with(&dir, 1, &client, &[], rest, false, opts);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::SessionsCreated), 3000);
    let lost = card.get(Counter::EventRingFull);
    assert!(lost > 0, "the ring never overflowed: {card:?}");
    let t0 = Instant::now();
    loop {
        let live = engine.control().books.lock().unwrap().workers[0].live;
        let done = engine
            .control()
            .reconciles
            .load(std::sync::atomic::Ordering::Relaxed);
        if done >= 1 && live == 3000 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "books not reconciled: live {live}, reconciliations {done}, {lost} events lost"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(engine.stats().card().gauge(Gauge::Sessions), 3000);
    // The show commands agree with the table.
    let out = engine.query("show services sessions count");
    assert!(out.contains("3000"), "{out}");
}
