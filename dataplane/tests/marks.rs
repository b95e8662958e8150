//! Partial offload on the worker: frames a NIC rule marked with their session's ID
//! (`rte_flow` `MARK`, delivered in the mbuf) go to that session without the hash-table
//! lookup, and a mark is only a hint: one that names another session, a freed slot or
//! another worker's session leaves the frame on its own session, looked up, and a frame
//! whose flow has no session still creates one. Driven directly over an in-memory port
//! that marks frames as a NIC would, IPv4 (the hot parser) and IPv6 (the full one).

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use svcard_config::{Config, WorkerId};
use svcard_dataplane::clock::Clock;
use svcard_dataplane::flow::{Direction, Family, FlowKey};
use svcard_dataplane::port::{Burst, PacketBuf, PortId, PortIo};
use svcard_dataplane::ring::{RingSizes, WorkerRings};
use svcard_dataplane::session::{session_id, SessionTable};
use svcard_dataplane::stats::{Counter, SharedStats};
use svcard_dataplane::wire::{self, Outcome};
use svcard_dataplane::worker::{Worker, WorkerSetup};

/// A frame with the mark a NIC put on it.
struct Frame {
    data: Vec<u8>,
    mark: Option<u32>,
}

impl PacketBuf for Frame {
    fn data(&self) -> &[u8] {
        &self.data
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
    fn set_len(&mut self, len: usize) -> bool {
        self.data.resize(len, 0);
        true
    }
    fn capacity(&self) -> usize {
        2048
    }
    fn mark(&self) -> Option<u32> {
        self.mark
    }
}

/// Port 0 receives what the test queued; port 1's transmissions are counted.
#[derive(Default)]
struct MarkIo {
    queued: VecDeque<Frame>,
    sent: u64,
}

impl PortIo for MarkIo {
    type Pkt = Frame;
    fn port_count(&self) -> usize {
        2
    }
    fn rx_burst(&mut self, port: PortId, out: &mut Burst<Frame>) -> usize {
        if port != PortId(0) {
            return 0;
        }
        let mut n = 0;
        while out.room() > 0 {
            let Some(f) = self.queued.pop_front() else {
                break;
            };
            if out.push(f).is_err() {
                break;
            }
            n += 1;
        }
        n
    }
    fn tx_burst(&mut self, _port: PortId, pkts: &mut Burst<Frame>) -> usize {
        let n = pkts.drain().count();
        self.sent += n as u64;
        n
    }
}

fn udp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 18];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[38..40].copy_from_slice(&26u16.to_be_bytes());
    f
}

fn udp6(src_last: u8, sport: u16, dst_last: u8, dport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 40 + 8 + 18];
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    let ip = &mut f[14..54];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&26u16.to_be_bytes());
    ip[6] = 17;
    ip[7] = 64;
    ip[8..10].copy_from_slice(&[0x20, 0x01]);
    ip[23] = src_last;
    ip[24..26].copy_from_slice(&[0x20, 0x01]);
    ip[39] = dst_last;
    f[54..56].copy_from_slice(&sport.to_be_bytes());
    f[56..58].copy_from_slice(&dport.to_be_bytes());
    f[58..60].copy_from_slice(&26u16.to_be_bytes());
    f
}

fn key_of(frame: &[u8]) -> (FlowKey, Direction) {
    let Outcome::Ip(p) = wire::parse(frame) else {
        panic!("not an IP frame")
    };
    let fam = if p.family == 6 {
        Family::V6
    } else {
        Family::V4
    };
    FlowKey::from_packet(fam, p.proto, p.src, p.sport, p.dst, p.dport)
}

/// The slot of `frame`'s session, looked up as the worker would.
fn slot_of(table: &SessionTable, frame: &[u8]) -> Option<u32> {
    let (k, _) = key_of(frame);
    table.find(&k, table.hash(&k))
}

fn packets_of(table: &SessionTable, frame: &[u8]) -> u64 {
    let slot = slot_of(table, frame).expect("a session");
    table.packets(slot, Direction::AtoB) + table.packets(slot, Direction::BtoA)
}

fn worker(marks: bool) -> Worker<MarkIo> {
    let text = r#"
[[port]]
name = "ge-0/0/0.0"
dpdk = "in-memory"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
dpdk = "in-memory"
peer = "ge-0/0/0.0"
[[service-set]]
name = "marks"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
"#;
    let config = Arc::new(Config::from_toml_str(text, "marks.toml".as_ref()).unwrap());
    let setup = WorkerSetup {
        index: WorkerId(0),
        workers: 1,
        config,
        rings: WorkerRings::new(RingSizes::default()),
        stats: Arc::new(SharedStats::default()),
        clock: Clock::new(),
        stop: Arc::new(AtomicBool::new(false)),
        drained: Arc::new(AtomicBool::new(false)),
    };
    Worker::new(setup, MarkIo::default(), 1024).with_marks(marks)
}

/// Receives `frames` (as many polls as it takes).
fn feed(w: &mut Worker<MarkIo>, frames: Vec<Frame>) {
    // The worker owns its port: frames are queued through a fresh poll each burst.
    let mut rest: VecDeque<Frame> = frames.into();
    while !rest.is_empty() {
        let burst: Vec<Frame> = rest.drain(..rest.len().min(64)).collect();
        w.io_mut().queued.extend(burst);
        while !w.io_mut().queued.is_empty() {
            w.poll();
        }
    }
    w.poll();
}

fn plain(frames: &[Vec<u8>]) -> Vec<Frame> {
    frames
        .iter()
        .map(|d| Frame {
            data: d.clone(),
            mark: None,
        })
        .collect()
}

#[test]
fn marked_frames_reach_their_session_and_a_mark_is_only_a_hint() {
    let flows: Vec<Vec<u8>> = (0..40u8)
        .map(|i| udp4([10, 0, 0, i], 1000 + u16::from(i), [192, 0, 2, 9], 53))
        .chain((0..8u8).map(|i| udp6(i + 1, 2000 + u16::from(i), 0x99, 443)))
        .collect();
    let mut w = worker(true);
    // The first packet of each flow creates its session (no NIC rule yet: unmarked).
    feed(&mut w, plain(&flows));
    assert_eq!(w.table().len(), 48);
    assert_eq!(w.stats().get(Counter::OffloadMarkedPackets), 0);
    let ids: Vec<u32> = flows
        .iter()
        .map(|f| w.table().id(slot_of(w.table(), f).unwrap()))
        .collect();

    // Three marked packets per flow, as a NIC with a partial rule delivers them.
    let marked: Vec<Frame> = (0..3)
        .flat_map(|_| {
            flows.iter().zip(&ids).map(|(f, &id)| Frame {
                data: f.clone(),
                mark: Some(id),
            })
        })
        .collect();
    feed(&mut w, marked);
    assert_eq!(w.stats().get(Counter::OffloadMarkedPackets), 3 * 48);
    for f in &flows {
        assert_eq!(
            packets_of(w.table(), f),
            4,
            "each flow's packets on its own session"
        );
    }
    assert_eq!(w.table().len(), 48, "no session created by a mark");
    assert_eq!(w.io_mut().sent, 4 * 48, "every packet forwarded");

    // Wrong marks: another flow's session, a slot that holds none, another worker's
    // session, a mark that is no session ID at all. Each frame stays on its own session.
    let wrong = [
        ids[1],
        session_id(WorkerId(0), 1000),
        session_id(WorkerId(1), 0),
        7,
    ];
    let frames: Vec<Frame> = wrong
        .iter()
        .map(|&m| Frame {
            data: flows[0].clone(),
            mark: Some(m),
        })
        .collect();
    feed(&mut w, frames);
    assert_eq!(packets_of(w.table(), &flows[0]), 8);
    assert_eq!(
        packets_of(w.table(), &flows[1]),
        4,
        "not the flow the mark named"
    );
    assert_eq!(
        w.stats().get(Counter::OffloadMarkedPackets),
        3 * 48 + 2,
        "marks naming this worker's slots were tried, the others ignored"
    );

    // A flow with no session, marked with a live session's ID: a session of its own.
    let new_flow = udp4([10, 0, 1, 1], 5555, [192, 0, 2, 9], 53);
    feed(
        &mut w,
        vec![Frame {
            data: new_flow.clone(),
            mark: Some(ids[2]),
        }],
    );
    assert_eq!(w.table().len(), 49);
    assert_eq!(packets_of(w.table(), &new_flow), 1);
    assert_eq!(packets_of(w.table(), &flows[2]), 4);
}

#[test]
fn without_marks_switched_on_the_worker_reads_none() {
    let flows: Vec<Vec<u8>> = (0..4u8)
        .map(|i| udp4([10, 0, 0, i], 1000, [192, 0, 2, 9], 53))
        .collect();
    let mut w = worker(false);
    feed(&mut w, plain(&flows));
    let id = w.table().id(slot_of(w.table(), &flows[0]).unwrap());
    feed(
        &mut w,
        vec![Frame {
            data: flows[0].clone(),
            mark: Some(id),
        }],
    );
    assert_eq!(w.stats().get(Counter::OffloadMarkedPackets), 0);
    assert_eq!(packets_of(w.table(), &flows[0]), 2);
}
