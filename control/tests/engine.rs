//! The engine in-process: start it on the pure-Rust pcap backend, read its figures and ask
//! it show commands without a socket or a child process, then shut it down.

use std::sync::Arc;
use std::time::Duration;
use svcard_config::Config;
use svcard_control::engine::EngineError;
use svcard_control::engine::{Engine, EngineOptions};
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::port::pcap::{PcapBackend, PcapOptions, PcapQueues};
use svcard_dataplane::stats::{self, Counter, Figure, Gauge};

mod common;
use common::{ip, Dir};

type Backend = (
    Arc<Config>,
    Vec<PcapQueues>,
    Option<PcapQueues>,
    svcard_dataplane::port::pcap::PcapSink,
);

/// 30 frames of 3 UDP flows, 2 discarded frames, one truncated frame; one or two workers.
fn backend(dir: &Dir, workers: u16) -> Backend {
    let mut recs = Vec::new();
    for i in 0..10u64 {
        for f in 0..3u16 {
            let data = svcard_perf::frames::udp(
                ip("10.1.0.1"),
                4000 + f,
                ip("192.0.2.10"),
                5000,
                &[0; 18],
                true,
            );
            recs.push(Record {
                ts_ns: i * 1000 + u64::from(f),
                data,
            });
        }
    }
    for i in 0..2 {
        let data = svcard_perf::frames::udp(
            ip("10.1.0.2"),
            4100,
            ip("198.51.100.5"),
            5000,
            &[0; 18],
            true,
        );
        recs.push(Record {
            ts_ns: 20_000 + i,
            data,
        });
    }
    let mut bad = recs[0].data.clone();
    bad.truncate(30);
    recs.push(Record {
        ts_ns: 30_000,
        data: bad,
    });
    let input = dir.0.join("in.pcap");
    svcard_perf::write_pcap(&input, &recs).unwrap();
    let text = format!(
        r#"
[workers]
count = {workers}
[[port]]
name = "ge-0/0/0.0"
pcap-rx = "{}"
pcap-tx = "{}"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
pcap-tx = "{}"
peer = "ge-0/0/0.0"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
[[service-set.rule]]
name = "block"
destination = ["198.51.100.0/24"]
protocol = "udp"
action = "discard"
"#,
        input.display(),
        dir.0.join("out0.pcap").display(),
        dir.0.join("out1.pcap").display(),
    );
    let config = Arc::new(Config::from_toml_str(&text, "t.toml".as_ref()).unwrap());
    let opts = PcapOptions {
        pace: false,
        repeat: 1,
    };
    let (queues, control, sink) = PcapBackend::for_config(&config, opts).unwrap().into_parts();
    (config, queues, control, sink)
}

/// The engine over [`backend`], replayed to the end.
fn start(dir: &Dir, workers: u16) -> (Engine, svcard_dataplane::port::pcap::PcapSink) {
    let (config, queues, control, sink) = backend(dir, workers);
    let engine = Engine::start(&config, queues, control, EngineOptions::default()).unwrap();
    assert!(engine.wait_idle(Duration::from_secs(20)), "the replay ends");
    (engine, sink)
}

#[test]
fn the_engine_runs_in_process_and_reports_through_the_registry() {
    let dir = Dir::new("engine-registry");
    let (engine, sink) = start(&dir, 1);
    assert_eq!(engine.workers(), 1);
    let st = engine.stats();
    let card = st.card();
    assert_eq!(card.get(Counter::RxPackets), 33);
    assert_eq!(card.get(Counter::TxPackets), 30);
    assert_eq!(card.get(Counter::PolicyDropped), 2);
    assert_eq!(card.get(Counter::Malformed), 1);
    assert_eq!(
        card.gauge(Gauge::Sessions),
        4,
        "3 accepted flows, 1 drop flow"
    );

    // Every registered figure, with the worker's value, in the show view (text and XML):
    // a figure added to the registry shows up here with no other change.
    let text = engine.query("show svcard statistics");
    assert!(
        text.starts_with("Worker statistics on FPC0 PIC0:\n"),
        "{text}"
    );
    let w = &st.workers[0];
    for f in Figure::all() {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&f.key()))
            .unwrap_or_else(|| panic!("{} missing:\n{text}", f.key()));
        let v: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        // Loop counts move while the worker idles; the rest is settled.
        if !matches!(f, Figure::Counter(Counter::Loops | Counter::IdleLoops)) {
            assert_eq!(v, w.value(f), "{line}");
        }
    }
    let xml = engine.query("show svcard statistics | display xml");
    let figures = xml.matches("<figure>").count();
    assert_eq!(figures, Figure::all().count(), "{xml}");
    assert!(xml.contains("<reason>truncated_ipv4</reason>"), "{xml}");
    // And in the exit line's fields.
    let line = stats::fields(w);
    assert!(line.contains(" malformed_drops.truncated_ipv4=1"), "{line}");

    let end = engine.shutdown().unwrap().card();
    assert_eq!(end.get(Counter::TxPackets), 30);
    let written = sink.finish().unwrap();
    assert_eq!(written, vec![0, 30]);
}

#[test]
fn two_workers_share_the_flows_and_shut_down_clean() {
    let dir = Dir::new("engine-two");
    let (engine, sink) = start(&dir, 2);
    assert_eq!(engine.workers(), 2);
    let summary = engine.query("show security flow session summary");
    assert_eq!(
        summary.matches("Flow Sessions on FPC0 PIC").count(),
        2,
        "{summary}"
    );
    let end = engine.shutdown().unwrap().card();
    assert_eq!(end.get(Counter::RxPackets), 33);
    assert_eq!(end.gauge(Gauge::Sessions), 4);
    assert_eq!(sink.finish().unwrap(), vec![0, 30]);
}

#[test]
fn a_show_socket_that_cannot_be_bound_fails_the_start_and_names_the_path() {
    let dir = Dir::new("engine-socket");
    let (config, queues, control, sink) = backend(&dir, 1);
    let socket = dir.0.join("no-such-dir").join("s.sock");
    let opts = EngineOptions {
        socket: Some(socket.clone()),
        pin: false,
        offload_backend: None,
        ring_sizes: None,
        link_sizes: None,
        port_status: None,
        loader: None,
    };
    let err = Engine::start(&config, queues, control, opts).unwrap_err();
    assert!(matches!(err, EngineError::Server { .. }), "{err}");
    assert!(
        err.to_string().contains(&socket.display().to_string()),
        "{err}"
    );
    drop(sink);
}
