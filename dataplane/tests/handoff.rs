//! The worker's side of the ALG link, driven directly: Watch packets go onto the hand-off
//! ring and a full ring is counted per ALG (the worker never waits); pinholes the control
//! core sends open exactly the child flow they describe, with a `Matched` event. On the same
//! rig: a burst is transmitted in the poll that receives it, and a receive burst is no
//! larger than `[workers] burst`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use svcard_config::{AlgKind, Config};
use svcard_dataplane::clock::Clock;
use svcard_dataplane::handoff::{AlgCommand, AlgLink, LinkSizes, Returned};
use svcard_dataplane::pcapfile::{read_file, Writer};
use svcard_dataplane::port::pcap::{PcapBackend, PcapOptions};
use svcard_dataplane::ring::{EventKind, RingSizes, WorkerRings};
use svcard_dataplane::session::pinhole::PinholeSpec;
use svcard_dataplane::session::Action;
use svcard_dataplane::stats::{AlgCounter, Figure};
use svcard_dataplane::stats::{Counter, SharedStats};
use svcard_dataplane::worker::{Worker, WorkerSetup};

/// An Ethernet + IPv4 + UDP frame (checksums zero: the parser does not verify them).
fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let payload = [0x42u8; 18];
    let mut f = vec![0u8; 14 + 20 + 8 + payload.len()];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + 8 + payload.len()) as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let u = &mut f[34..42];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f[42..].copy_from_slice(&payload);
    f
}

/// `n` copies of `frame`.
fn repeated(n: usize, frame: Vec<u8>) -> Vec<Vec<u8>> {
    vec![frame; n]
}

struct Rig {
    dir: std::path::PathBuf,
    worker: Worker<svcard_dataplane::port::pcap::PcapQueues>,
    link: Arc<AlgLink<svcard_dataplane::port::pcap::PcapFrame>>,
    rings: Arc<WorkerRings>,
    stats: Arc<SharedStats>,
    /// Writes port 1's output (taken by a test that reads it).
    sink: Option<svcard_dataplane::port::pcap::PcapSink>,
}

/// A worker over `frames` (port 0 in, port 1 out); `extra` is appended to its config.
fn rig_with(tag: &str, frames: &[Vec<u8>], sizes: LinkSizes, extra: &str) -> Rig {
    let dir = std::env::temp_dir().join(format!("svcard-handoff-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.pcap");
    let mut w = Writer::new(std::fs::File::create(&input).unwrap()).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write(1_000_000_000 + i as u64 * 1000, f).unwrap();
    }
    w.finish().unwrap();
    let text = format!(
        r#"
[[port]]
name = "ge-0/0/0.0"
pcap-rx = "{}"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
pcap-tx = "{}"
peer = "ge-0/0/0.0"
{extra}
"#,
        input.display(),
        dir.join("out.pcap").display()
    );
    let config = Arc::new(Config::from_toml_str(&text, &dir.join("t.toml")).unwrap());
    let opts = PcapOptions {
        pace: false,
        repeat: 1,
    };
    let (mut queues, _control, sink) = PcapBackend::for_config(&config, opts).unwrap().into_parts();
    let rings = WorkerRings::new(RingSizes::default());
    let stats = Arc::new(SharedStats::default());
    let setup = WorkerSetup {
        index: svcard_config::WorkerId(0),
        workers: 1,
        config,
        rings: Arc::clone(&rings),
        stats: Arc::clone(&stats),
        clock: Clock::new(),
        stop: Arc::new(AtomicBool::new(false)),
        drained: Arc::new(AtomicBool::new(false)),
    };
    let mut watch = [false; AlgKind::ALL.len()];
    watch[AlgKind::Dns as usize] = true;
    let link = Arc::new(AlgLink::new(sizes, watch));
    let worker = Worker::new(setup, queues.remove(0), 1024).with_alg_link(Arc::clone(&link));
    Rig {
        dir,
        worker,
        link,
        rings,
        stats,
        sink: Some(sink),
    }
}

fn rig(tag: &str, frames: &[Vec<u8>], sizes: LinkSizes) -> Rig {
    rig_with(tag, frames, sizes, "")
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls until the replay is over (a few iterations after the last frame), within a bound.
fn poll_until_drained(r: &mut Rig) {
    for _ in 0..100_000 {
        if !r.worker.poll() && r.worker.stats().get(Counter::IdleLoops) > 100 {
            return;
        }
    }
}

/// Polls until a poll receives frames (within a bound).
fn poll_until_received(r: &mut Rig) {
    for _ in 0..100_000 {
        if r.worker.poll() {
            return;
        }
    }
}

#[test]
fn a_full_handoff_ring_is_counted_per_alg_and_never_waited_on() {
    // Ten DNS queries of one session (UDP 53: the DNS ALG watches it).
    let frames = repeated(10, udp([10, 0, 0, 1], 5555, [192, 0, 2, 53], 53));
    let mut r = rig(
        "full",
        &frames,
        LinkSizes {
            handoff: 3,
            ..LinkSizes::default()
        },
    );
    poll_until_drained(&mut r);
    // Nobody consumes the ring: three wait there, seven were dropped and counted.
    assert_eq!(r.link.handoff.len(), 3);
    let per_alg = |c| r.worker.stats().value(Figure::Alg(c, AlgKind::Dns));
    assert_eq!(per_alg(AlgCounter::HandoffRingFull), 7);
    assert_eq!(per_alg(AlgCounter::HandedOff), 3);
    assert_eq!(r.worker.stats().alg_total(AlgCounter::HandoffRingFull), 7);
    // The worker transmitted none of them itself.
    assert_eq!(r.worker.stats().get(Counter::TxPackets), 0);
    let h = r.link.handoff.pop().unwrap();
    assert_eq!(
        (h.alg, h.from_initiator, h.egress),
        (AlgKind::Dns, true, svcard_config::PortId(1))
    );
    let _ = r.stats.snapshot();
}

#[test]
fn a_pinhole_opens_exactly_its_child_flow_and_is_used_up() {
    let mut dst = [0u8; 16];
    dst[..4].copy_from_slice(&[192, 0, 2, 69]);
    let mut src = [0u8; 16];
    src[..4].copy_from_slice(&[10, 0, 0, 1]);
    let frames = vec![
        // The child: matches (any source port).
        udp([10, 0, 0, 1], 40000, [192, 0, 2, 69], 6000),
        // Same flow again: an existing session now.
        udp([10, 0, 0, 1], 40000, [192, 0, 2, 69], 6000),
        // Another source port to the same place: the pinhole was one-shot.
        udp([10, 0, 0, 1], 40001, [192, 0, 2, 69], 6000),
    ];
    let mut r = rig("pinhole", &frames, LinkSizes::default());
    let spec = PinholeSpec {
        id: 77,
        parent: 1,
        proto: 17,
        family: 4,
        src: Some(src),
        src_port: None,
        dst,
        dst_port: Some(6000),
        expires_ms: 60_000,
        one_shot: true,
        action: Action::Forward,
        application: u16::MAX,
        service_set: u16::MAX,
        rule: u16::MAX,
        offload: false,
        nat: None,
    };
    r.link
        .commands
        .push(AlgCommand::AddPinhole { seq: 5, spec })
        .unwrap();
    poll_until_drained(&mut r);
    assert_eq!(r.link.applied.load(Ordering::Acquire), 5);
    assert_eq!(r.worker.stats().get(Counter::PinholeMatches), 1);
    let mut matched = Vec::new();
    let mut created = 0;
    while let Some(ev) = r.rings.events.pop() {
        match ev.kind {
            EventKind::Created => created += 1,
            EventKind::Matched(id) => {
                matched.push((id, ev.view.key.port_b.max(ev.view.key.port_a)))
            }
            _ => {}
        }
    }
    // Two sessions (the child, and the second flow by policy), one of them through
    // pinhole 77.
    assert_eq!(created, 2);
    assert_eq!(matched, vec![(77, 40000)]);
}

#[test]
fn a_burst_is_sent_in_the_poll_that_receives_it() {
    // Five frames of a plain UDP flow (no ALG): forwarded.
    let frames = repeated(5, udp([10, 0, 0, 1], 5555, [192, 0, 2, 9], 9999));
    let mut r = rig("whole", &frames, LinkSizes::default());
    // The poll that receives the burst parses it, looks it up, acts on it and transmits
    // it: nothing is left in flight for a later poll (or a stop) to send.
    poll_until_received(&mut r);
    assert_eq!(r.worker.stats().get(Counter::RxPackets), 5);
    assert_eq!(r.worker.stats().get(Counter::TxPackets), 5);
    assert_eq!(r.worker.table().len(), 1);
    r.worker.finish();
    assert_eq!(r.worker.stats().get(Counter::TxPackets), 5);
}

#[test]
fn a_burst_forwarded_in_place_leaves_after_what_was_queued_before_it() {
    // Bursts of two: a DNS query (the DNS ALG watches it) and a plain UDP frame, then two
    // more plain frames. The query goes to the control core, which sends it back out; the
    // worker queues it before it receives the second burst, which it forwards in place.
    let dns = udp([10, 0, 0, 1], 5555, [192, 0, 2, 53], 53);
    let plain = |sport| udp([10, 0, 0, 2], sport, [192, 0, 2, 9], 9999);
    let frames = vec![dns.clone(), plain(1), plain(2), plain(3)];
    let mut r = rig_with(
        "inplace",
        &frames,
        LinkSizes::default(),
        "[workers]\nburst = 2",
    );
    poll_until_received(&mut r);
    assert_eq!(r.worker.stats().get(Counter::TxPackets), 1);
    let h = r.link.handoff.pop().expect("the DNS query was handed off");
    r.link
        .returns
        .push(Returned {
            port: h.egress,
            pkt: h.pkt,
        })
        .unwrap();
    poll_until_drained(&mut r);
    assert_eq!(r.worker.stats().get(Counter::TxPackets), 4);
    assert_eq!(r.worker.stats().get(Counter::ReturnedSent), 1);
    let sink = r.sink.take().unwrap();
    assert_eq!(sink.finish().unwrap(), vec![0, 4]);
    let out = r.dir.join("out.pcap");
    let written: Vec<Vec<u8>> = read_file(&out)
        .unwrap()
        .into_iter()
        .map(|f| f.data)
        .collect();
    // The returned query before the second burst, not after it.
    assert_eq!(written, vec![plain(1), dns, plain(2), plain(3)]);
}

#[test]
fn a_receive_burst_is_no_larger_than_the_configured_burst() {
    let frames = repeated(10, udp([10, 0, 0, 1], 5555, [192, 0, 2, 9], 9999));
    let mut r = rig_with(
        "burst",
        &frames,
        LinkSizes::default(),
        "[workers]\nburst = 4",
    );
    poll_until_received(&mut r);
    assert_eq!(r.worker.stats().get(Counter::RxPackets), 4);
    poll_until_drained(&mut r);
    assert_eq!(r.worker.stats().get(Counter::RxPackets), 10);
    assert_eq!(r.worker.stats().get(Counter::TxPackets), 10);
}

#[test]
fn every_busy_loop_is_timed_per_burst_and_per_packet() {
    // Ten frames in bursts of four: three busy iterations (4, 4, 2 frames).
    let frames = repeated(10, udp([10, 0, 0, 1], 5555, [192, 0, 2, 9], 9999));
    let mut r = rig_with(
        "loops",
        &frames,
        LinkSizes::default(),
        "[workers]\nburst = 4",
    );
    // Ends after idle iterations, the first of which timed the last busy one.
    poll_until_drained(&mut r);
    let local = &r.worker.stats().loops;
    let bursts: u64 = local.burst_ns.iter().sum();
    let packets: u64 = local.packet_ns.iter().sum();
    assert_eq!((bursts, packets), (3, 10));
    // Published for the control core (the last, idle, iteration published them).
    assert_eq!(r.stats.snapshot().loops, *local);
    // A busy iteration takes time: none lands in the zero-ns bucket.
    assert_eq!(local.burst_ns[0], 0);
}
