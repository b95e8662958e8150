//! Offload on the NIC model, with real traffic through the engine (in-process, the pcap
//! backend replaying at the capture's pace): counters exact at close, timeouts kept by
//! hardware activity, FIN and `clear` removing rules, a full table leaving sessions in
//! software, discarded sessions dropped in hardware.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use svcard_control::engine::{Engine, EngineOptions};
use svcard_dataplane::offload::{
    Capabilities, FailReason, HwCounters, Installed, OffloadBackend, Rule,
};
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::port::pcap::PcapSink;
use svcard_dataplane::stats::{Counter, Gauge};

mod common;
use common::{ip, two_ports_with, Dir};

const MS: u64 = 1_000_000;

fn udp(src: &str, sport: u16, dst: &str, dport: u16) -> Vec<u8> {
    svcard_perf::frames::udp(ip(src), sport, ip(dst), dport, &[7; 100], true)
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    n: usize,
) -> Vec<u8> {
    let data = vec![0x42; n];
    svcard_perf::frames::tcp(ip(src), sport, ip(dst), dport, flags, seq, ack, &data, true)
}

/// Two ports (client side 0, server side 1) replaying `client` and `server` at their pace,
/// one worker, a service set that accepts everything but 198.51.100.0/24, and `extra`
/// (offload settings, the service set's offload table, timeouts).
fn start(
    dir: &Dir,
    client: &[Record],
    server: &[Record],
    ss_extra: &str,
    extra: &str,
) -> (Engine, PcapSink) {
    start_with(
        dir,
        client,
        server,
        ss_extra,
        extra,
        EngineOptions::default(),
    )
}

/// [`start`] with engine options (a backend of the test's own).
fn start_with(
    dir: &Dir,
    client: &[Record],
    server: &[Record],
    ss_extra: &str,
    extra: &str,
    opts: EngineOptions,
) -> (Engine, PcapSink) {
    let rest = format!(
        r#"{extra}
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
[[service-set.rule]]
name = "block"
destination = ["198.51.100.0/24"]
action = "discard"
{ss_extra}"#
    );
    two_ports_with(dir, 1, client, server, &rest, true, opts)
}

/// `n` frames of `frame`, `gap_ms` apart from `t0_ms`.
fn every(frame: &[u8], n: u64, t0_ms: u64, gap_ms: u64) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            ts_ns: (t0_ms + i * gap_ms) * MS,
            data: frame.to_vec(),
        })
        .collect()
}

fn merge(mut a: Vec<Record>, b: Vec<Record>) -> Vec<Record> {
    a.extend(b);
    a.sort_by_key(|r| r.ts_ns);
    a
}

/// The value after `label` on the first line of `out` that has it.
fn field(out: &str, label: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{out}"));
    line.split_whitespace().last().unwrap().parse().unwrap()
}

/// Every frame count of `show services sessions` (one per flow line).
fn frame_counts(out: &str) -> Vec<u64> {
    out.lines()
        .filter(|l| l.contains("->"))
        .map(|l| l.split_whitespace().last().unwrap().parse().unwrap())
        .collect()
}

fn wait_idle(engine: &Engine) {
    assert!(engine.wait_idle(Duration::from_secs(30)), "the replay ends");
}

const POLICY_AFTER_5: &str = r#"
[service-set.offload]
policy = "after-packets"
packets = 5
"#;

#[test]
fn counters_are_exact_at_close_and_clear_removes_the_rules() {
    let dir = Dir::new("offload-exact");
    // Three accepted flows and one discarded one, 40 frames each over 1.2 s.
    let mut client = Vec::new();
    for (i, dst) in ["192.0.2.1", "192.0.2.2", "192.0.2.3", "198.51.100.9"]
        .iter()
        .enumerate()
    {
        let f = udp("10.0.0.1", 4000 + i as u16, dst, 5000);
        client = merge(client, every(&f, 40, i as u64, 30));
    }
    let (engine, sink) = start(&dir, &client, &[], POLICY_AFTER_5, "");
    wait_idle(&engine);
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::RxPackets), 160);
    assert_eq!(card.get(Counter::OffloadRequested), 4);
    assert_eq!(card.get(Counter::OffloadActivated), 4);
    assert_eq!(card.gauge(Gauge::Offloaded), 4);
    let hw = card.get(Counter::OffloadModelPackets);
    assert!(
        hw >= 4 * 20,
        "most frames after the fifth go through the model: {hw}"
    );
    // Accepted frames all leave, discarded ones all stay, wherever they were handled.
    assert_eq!(card.get(Counter::TxPackets), 120);
    let sw_drops = card.get(Counter::PolicyDropped);
    assert!(
        (5..40).contains(&sw_drops),
        "the discarded flow's later frames drop in the model: {sw_drops}"
    );

    // Each session shows software plus hardware: all 40 of its frames.
    let out = engine.query("show services sessions extensive");
    assert_eq!(out.matches("Offload: yes").count(), 4, "{out}");
    assert_eq!(
        out.matches("Offload state: offloaded, Backend: model")
            .count(),
        4,
        "{out}"
    );
    let counts = frame_counts(&out);
    assert_eq!(counts.iter().filter(|&&c| c == 40).count(), 4, "{out}");
    let summary = engine.query("show security flow session summary");
    assert!(
        summary.contains("Services-offload-sessions: 4"),
        "{summary}"
    );
    let st = engine.query("show services offload statistics");
    assert_eq!(field(&st, "Rules installed"), 4, "{st}");
    assert_eq!(field(&st, "Rules held now"), 4, "{st}");

    // Clear: the rules go, and the close carries every frame (software + hardware).
    let cleared = engine.query("clear services sessions");
    assert!(cleared.contains("4"), "{cleared}");
    let st = engine.query("show services offload statistics");
    assert_eq!(field(&st, "Rules held now"), 0, "{st}");
    assert_eq!(field(&st, "Rules removed"), 4, "{st}");
    let books = engine.control().books.lock().unwrap().workers[0];
    assert_eq!(books.closed_packets, 160, "software + hardware at close");
    assert_eq!(
        field(&st, "Hardware packets of closed sessions"),
        hw,
        "{st}"
    );
    let end = engine.shutdown().unwrap().card();
    assert_eq!(end.gauge(Gauge::Offloaded), 0);
    assert_eq!(sink.finish().unwrap(), vec![0, 120]);
}

#[test]
fn hardware_activity_keeps_a_session_past_its_idle_timeout_and_an_idle_one_expires() {
    let dir = Dir::new("offload-timeouts");
    // UDP idle timeout 1 s, counters read every 200 ms; a frame every 100 ms for 3.5 s:
    // after the second frame the model carries them all, the worker sees none.
    let f = udp("10.0.0.1", 4000, "192.0.2.1", 5000);
    let client = every(&f, 36, 0, 100);
    let extra = "[timeouts]\nudp = 1\n[offload]\ncounter-interval-ms = 200\n";
    let policy = "[service-set.offload]\npolicy = \"after-packets\"\npackets = 2\n";
    let (engine, _sink) = start(&dir, &client, &[], policy, extra);
    wait_idle(&engine);
    let ended = Instant::now();
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::OffloadActivated), 1);
    assert!(card.get(Counter::OffloadModelPackets) >= 25, "{card:?}");
    assert_eq!(
        card.get(Counter::SessionsCreated),
        1,
        "the session lived through 3.5 idle timeouts on hardware activity alone"
    );
    assert_eq!(card.get(Counter::SessionsIdleExpired), 0);
    let st = engine.query("show services offload statistics");
    assert!(
        field(&st, "Idle timers refreshed by hardware") >= 10,
        "{st}"
    );
    // Idle now: it expires within its timeout plus one counter interval (and the wheel's
    // tick), not before its timeout.
    let expired = loop {
        if engine.stats().card().gauge(Gauge::Sessions) == 0 {
            break ended.elapsed();
        }
        assert!(ended.elapsed() < Duration::from_secs(5), "never expired");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        expired >= Duration::from_millis(800) && expired <= Duration::from_millis(1800),
        "expired {expired:?} after the last frame"
    );
    assert!(engine.wait_idle(Duration::from_secs(5)));
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::SessionsIdleExpired), 1);
    let books = engine.control().books.lock().unwrap().workers[0];
    assert_eq!(books.closed_packets, 36, "software + hardware at close");
    let st = engine.query("show services offload statistics");
    assert_eq!(field(&st, "Rules held now"), 0, "{st}");
}

/// A device that ages rules but cannot count them (what the rte_flow probe reports for
/// such a NIC): it says a rule went idle only when the test says so.
struct AgingNic {
    aged: Arc<Mutex<Vec<u32>>>,
    next: u32,
    held: u32,
}

impl OffloadBackend for AgingNic {
    fn name(&self) -> &'static str {
        "aging-nic"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            forward: true,
            drop: true,
            count: false,
            age: true,
            mark: false,
            capacity: 64,
        }
    }
    fn insert(&mut self, _rule: &Rule, now_us: u64) -> Result<Installed, FailReason> {
        self.next += 1;
        self.held += 1;
        Ok(Installed {
            id: self.next - 1,
            active_at_us: now_us,
            partial: false,
        })
    }
    fn remove(&mut self, _id: u32, _now_us: u64) -> HwCounters {
        self.held -= 1;
        HwCounters::default()
    }
    fn counters(&self, _id: u32) -> HwCounters {
        HwCounters::default()
    }
    fn occupancy(&self) -> u32 {
        self.held
    }
    fn aged(&mut self) -> Vec<u32> {
        std::mem::take(&mut *self.aged.lock().unwrap())
    }
}

#[test]
fn on_a_device_that_ages_but_cannot_count_a_session_lives_until_its_rule_ages_out() {
    let dir = Dir::new("offload-age");
    // Three frames, then silence: the rule (after the second) is all that says whether
    // the flow still runs in hardware.
    let f = udp("10.0.0.1", 4000, "192.0.2.1", 5000);
    let client = every(&f, 3, 0, 100);
    let extra =
        "[timeouts]\nudp = 1\n[offload]\nbackend = \"rte-flow\"\ncounter-interval-ms = 200\n";
    let policy = "[service-set.offload]\npolicy = \"after-packets\"\npackets = 2\n";
    let aged = Arc::new(Mutex::new(Vec::new()));
    let nic = AgingNic {
        aged: Arc::clone(&aged),
        next: 0,
        held: 0,
    };
    let opts = EngineOptions {
        offload_backend: Some(Box::new(nic)),
        ..EngineOptions::default()
    };
    let (engine, _sink) = start_with(&dir, &client, &[], policy, extra, opts);
    wait_idle(&engine);
    // Three idle timeouts with no aged report: the hardware may be carrying the flow, so
    // the session stays.
    std::thread::sleep(Duration::from_millis(3200));
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::OffloadActivated), 1, "{card:?}");
    assert_eq!(
        card.gauge(Gauge::Sessions),
        1,
        "the session outlived 3 timeouts"
    );
    assert_eq!(card.get(Counter::SessionsIdleExpired), 0);
    // The device reports the rule aged out: the session expires within its timeout plus
    // one interval, and its rule is removed.
    aged.lock().unwrap().push(0);
    let told = Instant::now();
    let expired = loop {
        if engine.stats().card().gauge(Gauge::Sessions) == 0 {
            break told.elapsed();
        }
        assert!(told.elapsed() < Duration::from_secs(5), "never expired");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        expired <= Duration::from_millis(1800),
        "expired {expired:?} after the aged report"
    );
    assert!(engine.wait_idle(Duration::from_secs(5)));
    let st = engine.query("show services offload statistics");
    assert_eq!(field(&st, "Rules aged out by hardware"), 1, "{st}");
    assert_eq!(field(&st, "Rules held now"), 0, "{st}");
    assert_eq!(engine.stats().card().get(Counter::SessionsIdleExpired), 1);
}

#[test]
fn a_fin_withdraws_the_rule_and_the_close_is_tracked_in_software() {
    let dir = Dir::new("offload-fin");
    let (c, s) = (("10.0.0.1", 40000u16), ("192.0.2.1", 8080u16));
    let at = |ms: u64, data: Vec<u8>| Record {
        ts_ns: ms * MS,
        data,
    };
    let mut client = vec![
        at(0, tcp(c.0, c.1, s.0, s.1, 0x02, 1000, 0, 0)),
        at(20, tcp(c.0, c.1, s.0, s.1, 0x10, 1001, 5001, 0)),
    ];
    for i in 0..40u32 {
        let seq = 1001 + i * 100;
        client.push(at(
            30 + u64::from(i) * 25,
            tcp(c.0, c.1, s.0, s.1, 0x18, seq, 5001, 100),
        ));
    }
    client.push(at(1100, tcp(c.0, c.1, s.0, s.1, 0x11, 5001, 5001, 0)));
    client.push(at(1120, tcp(c.0, c.1, s.0, s.1, 0x10, 5002, 5002, 0)));
    let server = vec![
        at(10, tcp(s.0, s.1, c.0, c.1, 0x12, 5000, 1001, 0)),
        at(1110, tcp(s.0, s.1, c.0, c.1, 0x11, 5001, 5002, 0)),
    ];
    let sent = (client.len() + server.len()) as u64;
    let policy = "[service-set.offload]\npolicy = \"established\"\n";
    let (engine, sink) = start(
        &dir,
        &client,
        &server,
        policy,
        "[timeouts]\ntcp-closed = 1\n",
    );
    wait_idle(&engine);
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::OffloadActivated), 1);
    assert_eq!(
        card.get(Counter::OffloadWithdrawn),
        1,
        "the FIN withdrew it"
    );
    assert_eq!(card.gauge(Gauge::Offloaded), 0);
    assert!(card.get(Counter::OffloadModelPackets) >= 20, "{card:?}");
    let st = engine.query("show services offload statistics");
    assert_eq!(field(&st, "Rules held now"), 0, "{st}");
    assert_eq!(field(&st, "Rules removed"), 1, "{st}");
    // Every segment crossed, and the session closes on its FINs, counted whole.
    assert_eq!(card.get(Counter::TxPackets), sent);
    let t0 = Instant::now();
    while engine.stats().card().gauge(Gauge::Sessions) > 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the closed session never went"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(engine.wait_idle(Duration::from_secs(5)));
    assert_eq!(engine.stats().card().get(Counter::SessionsTcpClosed), 1);
    let books = engine.control().books.lock().unwrap().workers[0];
    assert_eq!(books.closed_packets, sent);
    drop(engine);
    assert_eq!(
        sink.finish().unwrap(),
        vec![server.len() as u64, client.len() as u64]
    );
}

#[test]
fn a_full_table_leaves_sessions_in_software_counted() {
    let dir = Dir::new("offload-full");
    let mut client = Vec::new();
    for i in 0..5u16 {
        let f = udp("10.0.0.1", 4000 + i, "192.0.2.1", 5000);
        client = merge(client, every(&f, 20, u64::from(i) * 3, 20));
    }
    let extra = "[offload.model]\ncapacity = 2\n";
    let (engine, sink) = start(&dir, &client, &[], POLICY_AFTER_5, extra);
    wait_idle(&engine);
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::OffloadRequested), 5);
    assert_eq!(card.get(Counter::OffloadActivated), 2);
    assert_eq!(card.get(Counter::OffloadRefused), 3);
    assert_eq!(card.get(Counter::TxPackets), 100, "all forwarded");
    let st = engine.query("show services offload statistics");
    assert_eq!(field(&st, "table-full"), 3, "{st}");
    assert_eq!(field(&st, "Requests refused"), 3, "{st}");
    let out = engine.query("show services sessions extensive");
    assert_eq!(
        out.matches("Offload state: failed (table-full)").count(),
        3,
        "{out}"
    );
    assert_eq!(
        frame_counts(&out).iter().filter(|&&c| c == 20).count(),
        5,
        "{out}"
    );
    let xml = engine.query("show services offload statistics | display xml");
    assert!(xml.contains("<reason>table-full</reason>"), "{xml}");
    let json = engine.query("show services offload statistics | display json");
    assert!(json.contains("\"rules-installed\""), "{json}");
    drop(engine);
    assert_eq!(sink.finish().unwrap(), vec![0, 100]);
}

#[test]
fn with_offload_off_nothing_is_armed_and_the_view_says_so() {
    let dir = Dir::new("offload-off");
    let f = udp("10.0.0.1", 4000, "192.0.2.1", 5000);
    let (engine, _sink) = start(&dir, &every(&f, 10, 0, 1), &[], "", "");
    wait_idle(&engine);
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::OffloadRequested), 0);
    assert_eq!(card.get(Counter::OffloadModelPackets), 0);
    let st = engine.query("show services offload statistics");
    assert!(st.contains("Offload: off"), "{st}");
    let out = engine.query("show services sessions extensive");
    assert!(
        out.contains("Offload: no") && !out.contains("Offload state"),
        "{out}"
    );
}

/// Under `established`, a UDP session is offloaded at its first reply and not before: a
/// one-way flow (a scan, a flood) never asks for a rule however many packets it sends,
/// and a flow that is answered is offloaded at the answer.
#[test]
fn under_established_a_udp_session_waits_for_its_reply() {
    let dir = Dir::new("offload-udp-reply");
    let one_way = udp("10.0.0.1", 4000, "192.0.2.1", 5000);
    let asked = udp("10.0.0.1", 4001, "192.0.2.1", 5000);
    let answer = udp("192.0.2.1", 5000, "10.0.0.1", 4001);
    let client = merge(every(&one_way, 30, 0, 10), every(&asked, 30, 5, 10));
    // The answer comes after ten of the asking flow's packets.
    let server = every(&answer, 5, 105, 20);
    let policy = "[service-set.offload]\npolicy = \"established\"\n";
    let (engine, _sink) = start(&dir, &client, &server, policy, "");
    wait_idle(&engine);
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::OffloadRequested), 1, "{card:?}");
    assert_eq!(card.get(Counter::OffloadActivated), 1, "{card:?}");
    assert_eq!(card.get(Counter::TxPackets), 65, "all forwarded");
    let out = engine.query("show services sessions extensive");
    assert_eq!(out.matches("Offload: yes").count(), 1, "{out}");
    assert_eq!(out.matches("Offload: no").count(), 1, "{out}");
}
