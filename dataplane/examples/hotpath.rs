//! The worker's hot path on its own: one worker forwards a capture, replayed from memory in a
//! loop, between two in-memory ports, with no control core and no DPDK. It prints ns and
//! (at the nominal clock) cycles per packet of the whole loop: receive (a 60..1514-byte copy
//! into a recycled buffer, as `net_pcap infinite_rx` does), parse, session lookup, update
//! and transmit; then the worker's own timing of its bursts (median, tail, and how many
//! took 16 µs or more: stalls of the host show there, as in `svcard bench`).
//!
//! Its point is a figure that does not move with the host: under cachegrind the instruction
//! count per packet is exact and repeatable, so a change to the hot path can be judged on a
//! noisy machine where `svcard bench` ratios drift by ±10 %:
//!
//! ```text
//! svcard gen flows --flows 1000 --out /tmp/f1k.pcap
//! cargo run --release -p svcard-dataplane --example hotpath -- /tmp/f1k.pcap 2000000
//! valgrind --tool=cachegrind --cache-sim=no \
//!     target/release/examples/hotpath /tmp/f1k.pcap 2000000    # Ir / packets
//! ```
//!
//! Arguments: the capture, the packets to forward (default 10,000,000), the session
//! capacity (default: the flows rounded up, at least 1024). The first pass over the capture
//! creates the sessions and is not timed. With `--marks` anywhere, the timed part's frames
//! carry their session's ID as a NIC's partial-offload rule (`rte_flow` `MARK`) would put it
//! there, and the worker honours marks: the difference to a run without is what skipping
//! the hash-table lookup saves. With `--nat`, the clients (10.0.0.0/8, as `svcard gen`
//! writes them) are translated by napt-44 to a pool of 64 addresses: the first pass creates
//! the translated sessions (and drops the replies, which still carry the private address),
//! then every reply frame of the capture is readdressed to its session's public address and
//! port, as it would come back from the server, so the timed part translates both
//! directions. It also prints the first pass's rate of new sessions.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;
use svcard_config::{Config, WorkerId};
use svcard_dataplane::clock::Clock;
use svcard_dataplane::flow::{Family, FlowKey};
use svcard_dataplane::port::{Burst, PacketBuf, PortId, PortIo};
use svcard_dataplane::ring::{RingSizes, WorkerRings};
use svcard_dataplane::session::SessionTable;
use svcard_dataplane::stats::{loop_bucket_range, Counter, SharedStats, LOOP_BUCKETS};
use svcard_dataplane::wire::{self, Outcome};
use svcard_dataplane::worker::{Worker, WorkerSetup};

const ROOM: usize = 2048;

/// A packet buffer of fixed room, recycled through the ports' free list.
struct Buf {
    data: Box<[u8; ROOM]>,
    len: usize,
    mark: Option<u32>,
}

impl PacketBuf for Buf {
    fn data(&self) -> &[u8] {
        &self.data[..self.len]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data[..self.len]
    }
    fn set_len(&mut self, len: usize) -> bool {
        if len > ROOM {
            return false;
        }
        self.len = len;
        true
    }
    fn capacity(&self) -> usize {
        ROOM
    }
    fn mark(&self) -> Option<u32> {
        self.mark
    }
}

/// Port 0 receives the capture's frames in a loop; whatever either port transmits goes back
/// to the free list.
struct LoopIo {
    frames: Vec<Vec<u8>>,
    /// Per frame, the mark its NIC rule puts on it (empty: none).
    marks: Vec<Option<u32>>,
    next: usize,
    free: Vec<Buf>,
    received: u64,
    sent: u64,
}

impl PortIo for LoopIo {
    type Pkt = Buf;
    fn port_count(&self) -> usize {
        2
    }
    fn rx_burst(&mut self, port: PortId, out: &mut Burst<Buf>) -> usize {
        if port != PortId(0) {
            return 0;
        }
        let (mut n, room) = (0, out.room());
        while n < room {
            let f = &self.frames[self.next];
            let at = self.next;
            self.next = if self.next + 1 == self.frames.len() {
                0
            } else {
                self.next + 1
            };
            let mut b = self.free.pop().unwrap_or_else(|| Buf {
                data: Box::new([0; ROOM]),
                len: 0,
                mark: None,
            });
            b.mark = self.marks.get(at).copied().flatten();
            let len = f.len().min(ROOM);
            b.data[..len].copy_from_slice(&f[..len]);
            b.len = len;
            if out.push(b).is_err() {
                break;
            }
            n += 1;
        }
        self.received += n as u64;
        n
    }
    fn tx_burst(&mut self, _port: PortId, pkts: &mut Burst<Buf>) -> usize {
        let mut n = 0;
        for b in pkts.drain() {
            self.free.push(b);
            n += 1;
        }
        self.sent += n as u64;
        n
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let marks = args.iter().any(|a| a == "--marks");
    let nat = args.iter().any(|a| a == "--nat");
    args.retain(|a| a != "--marks" && a != "--nat");
    let Some(capture) = args.get(1) else {
        eprintln!("usage: hotpath CAPTURE [PACKETS] [CAPACITY]");
        std::process::exit(2);
    };
    let packets: u64 = args
        .get(2)
        .map_or(10_000_000, |s| s.parse().expect("PACKETS"));
    let frames: Vec<Vec<u8>> = svcard_dataplane::pcapfile::read_file(capture.as_ref())
        .unwrap_or_else(|e| {
            eprintln!("hotpath: {capture}: {e}");
            std::process::exit(1)
        })
        .into_iter()
        .map(|r| r.data)
        .collect();
    assert!(!frames.is_empty(), "{capture}: no frames");
    let capacity: u32 = args.get(3).map_or_else(
        || (frames.len() as u32).next_power_of_two().max(1024),
        |s| s.parse().expect("CAPACITY"),
    );
    let text = format!(
        r#"
[[port]]
name = "ge-0/0/0.0"
dpdk = "in-memory"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
dpdk = "in-memory"
peer = "ge-0/0/0.0"
[[service-set]]
name = "bench"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
{nat_rules}
[timeouts]
udp = 3600
tcp-established = 3600
[limits]
max-sessions = {capacity}
{nat_tables}
"#,
        nat_rules = if nat { "nat-rules = [\"clients\"]" } else { "" },
        nat_tables = if nat {
            "[[nat.pool]]\nname = \"bench\"\naddress = \"100.64.0.0/26\"\n\
             [[nat.rule]]\nname = \"clients\"\nsource = [\"10.0.0.0/8\"]\n\
             translation-type = \"napt-44\"\npool = \"bench\""
        } else {
            ""
        },
    );
    let config = Arc::new(
        Config::from_toml_str(&text, "hotpath.toml".as_ref()).unwrap_or_else(|e| panic!("{e}")),
    );
    let io = LoopIo {
        frames,
        marks: Vec::new(),
        next: 0,
        free: Vec::new(),
        received: 0,
        sent: 0,
    };
    let n_frames = io.frames.len() as u64;
    let stats = Arc::new(SharedStats::default());
    let setup = WorkerSetup {
        index: WorkerId(0),
        workers: 1,
        config,
        rings: WorkerRings::new(RingSizes::default()),
        stats: Arc::clone(&stats),
        clock: Clock::new(),
        stop: Arc::new(AtomicBool::new(false)),
        drained: Arc::new(AtomicBool::new(false)),
    };
    let mut w = Worker::new(setup, io, capacity).with_marks(marks);
    // Warm-up: every flow seen (sessions created), caches and tables touched. The first
    // pass is timed for its rate of new sessions.
    let mut loops = 0u64;
    let t_new = Instant::now();
    while w.stats().get(Counter::RxPackets) < n_frames {
        w.poll();
        loops += 1;
    }
    let created = w.stats().get(Counter::SessionsCreated);
    println!(
        "hotpath: first pass: {created} new sessions{} in {:.3} s with the capture's other frames: {:.2} M new sessions/s",
        if nat { " (translated)" } else { "" },
        t_new.elapsed().as_secs_f64(),
        created as f64 / t_new.elapsed().as_secs_f64() / 1e6
    );
    if nat {
        // The replies as they come back from the server: to the public address and port.
        let mut frames = w.io_mut().frames.clone();
        let mut readdressed = 0u64;
        for f in &mut frames {
            if let Some((addr, port)) = public_of(w.table(), f) {
                wire::nat::rewrite_v4(f, wire::nat::End::Dst, addr, port);
                readdressed += 1;
            }
        }
        println!("hotpath: {readdressed} reply frames readdressed to their public endpoints");
        w.io_mut().frames = frames;
    }
    while w.stats().get(Counter::RxPackets) < 2 * n_frames {
        w.poll();
        loops += 1;
    }
    if marks {
        // Each frame's session, as the NIC's rule would name it.
        let frames = w.io_mut().frames.clone();
        let ids: Vec<Option<u32>> = frames.iter().map(|f| session_of(w.table(), f)).collect();
        w.io_mut().marks = ids;
    }
    let rx0 = w.stats().get(Counter::RxPackets);
    let tx0 = w.stats().get(Counter::TxPackets);
    let loops0 = w.stats().loops.clone();
    let t0 = Instant::now();
    while w.stats().get(Counter::RxPackets) - rx0 < packets {
        w.poll();
        loops += 1;
    }
    let dt = t0.elapsed().as_secs_f64();
    let rx = w.stats().get(Counter::RxPackets) - rx0;
    let tx = w.stats().get(Counter::TxPackets) - tx0;
    let ns = dt * 1e9 / rx as f64;
    println!(
        "hotpath: {rx} packets ({n_frames} frames, {} sessions) in {dt:.3} s: {:.2} Mpps, {ns:.1} ns/packet ({:.0} cycles at 2 GHz), tx {tx}, {loops} loops",
        w.table().len(),
        rx as f64 / dt / 1e6,
        ns * 2.0
    );
    // The worker's own timing of its busy iterations (one burst each), over the timed part.
    let bursts = w.stats().loops.since(&loops0).burst_ns;
    let q = |q: f64| quantile_ns(&bursts, q);
    let slow: u64 = (0..LOOP_BUCKETS)
        .filter(|&i| loop_bucket_range(i).0 >= 16_384)
        .map(|i| bursts[i])
        .sum();
    println!(
        "hotpath: per burst (bucket low ends) p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns; {slow} of {} bursts took 16 us or more",
        q(0.5),
        q(0.99),
        q(0.999),
        q(1.0),
        bursts.iter().sum::<u64>()
    );
}

/// The public address and port of the translated session a reply `frame` (from the
/// responder, to the private endpoint) belongs to.
fn public_of(table: &SessionTable, frame: &[u8]) -> Option<([u8; 4], u16)> {
    let Outcome::Ip(p) = wire::parse(frame) else {
        return None;
    };
    if p.family != 4 {
        return None;
    }
    let (k, d) = FlowKey::from_packet(Family::V4, p.proto, p.src, p.sport, p.dst, p.dport);
    let (slot, wing) = table.find_any(&k, table.hash(&k))?;
    let s = table.get(slot);
    if wing || d == s.initiator() {
        return None;
    }
    let w = table.wing(slot)?;
    Some((w.public_addr, w.public_port))
}

/// The ID of `frame`'s session in `table`, if it has one.
fn session_of(table: &SessionTable, frame: &[u8]) -> Option<u32> {
    let Outcome::Ip(p) = wire::parse(frame) else {
        return None;
    };
    let fam = if p.family == 6 {
        Family::V6
    } else {
        Family::V4
    };
    let (k, _) = FlowKey::from_packet(fam, p.proto, p.src, p.sport, p.dst, p.dport);
    table.find(&k, table.hash(&k)).map(|slot| table.id(slot))
}

/// The low end of the bucket holding quantile `q` of `counts`.
fn quantile_ns(counts: &[u64; LOOP_BUCKETS], q: f64) -> u64 {
    let total: u64 = counts.iter().sum();
    let want = ((total as f64 * q).ceil() as u64).max(1);
    let mut seen = 0;
    for (i, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= want {
            return loop_bucket_range(i).0;
        }
    }
    0
}
