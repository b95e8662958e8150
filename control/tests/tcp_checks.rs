//! The service sets' TCP checks (`tcp-session`) through the engine on pcap ports, with byte
//! fixtures of one connection (a handshake, data both ways) into which spoofed segments are
//! mixed: an RST far ahead of the window and a FIN acknowledging data never sent. Under
//! each knob the test counts what crossed each way, the counters, and whether the session
//! is still established (its idle timeout is the established one; after a close it is the
//! closed one).

mod common;
use common::{at, tcp_frame, two_ports, Dir};
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::stats::Counter;

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const RST: u8 = 0x04;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;

/// A segment of client 10.0.0.1:`cport` <-> server 192.0.2.1:80 at `ms`.
fn seg(
    ms: u64,
    cport: u16,
    from_client: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    len: usize,
) -> Record {
    let (src, sport, dst, dport) = if from_client {
        ("10.0.0.1", cport, "192.0.2.1", 80)
    } else {
        ("192.0.2.1", 80, "10.0.0.1", cport)
    };
    at(
        ms,
        tcp_frame(
            (src, sport),
            (dst, dport),
            flags,
            (seq, ack),
            len,
            from_client,
        ),
    )
}

/// The connection (ISNs 1000 and 5000, windows 65535) with two spoofed segments.
fn connection() -> (Vec<Record>, Vec<Record>) {
    let client = vec![
        seg(0, 40000, true, SYN, 1000, 0, 0),
        seg(20, 40000, true, ACK, 1001, 5001, 0),
        seg(30, 40000, true, PSH | ACK, 1001, 5001, 100),
        // Spoofed: an RST three million bytes ahead of anything the server allowed.
        seg(50, 40000, true, RST, 3_001_001, 0, 0),
        seg(70, 40000, true, PSH | ACK, 1101, 5001, 50),
    ];
    let server = vec![
        seg(10, 40000, false, SYN | ACK, 5000, 1001, 0),
        seg(40, 40000, false, ACK, 5001, 1101, 0),
        // Spoofed: a FIN acknowledging 900 kB the client never sent.
        seg(60, 40000, false, FIN | ACK, 5001, 900_000, 0),
        seg(80, 40000, false, ACK, 5001, 1151, 0),
    ];
    (client, server)
}

const BASE: &str = "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                    default-action = \"accept\"\n[timeouts]\ntcp-closed = 600\ntcp-closing = 700\n";

struct Run {
    /// Frames sent out of each port: [to the server, to the client] (the sink gives them by
    /// port: port 0 faces the client).
    out: Vec<u64>,
    /// The TCP segments sent to the client: (flags, seq, ack).
    to_client: Vec<(u8, u32, u32)>,
    counters: [u64; 5],
    /// The `Timeout:` of each session shown.
    timeouts: Vec<u32>,
}

fn run(name: &str, tcp_session: &str, client: &[Record], server: &[Record]) -> Run {
    let dir = Dir::new(name);
    let rest = format!("{BASE}[tcp-session]\n{tcp_session}\n");
    let (engine, sink) = two_ports(&dir, 1, client, server, &rest, true);
    assert!(engine.wait_idle(std::time::Duration::from_secs(20)));
    let card = engine.stats().card();
    let counters = [
        Counter::TcpOutOfWindow,
        Counter::TcpOutOfWindowDrops,
        Counter::TcpRstSequenceDrops,
        Counter::TcpNonSynDrops,
        Counter::TcpStrictSynDrops,
    ]
    .map(|c| card.get(c));
    let shown = engine.query("show security flow session");
    let timeouts = shown
        .lines()
        .filter_map(|l| l.split("Timeout: ").nth(1))
        .filter_map(|t| t.split(',').next()?.trim().parse().ok())
        .collect();
    drop(engine);
    let mut out = sink.finish().unwrap();
    out.reverse();
    let to_client = svcard_dataplane::pcapfile::read_file(&dir.0.join("out0.pcap"))
        .unwrap()
        .iter()
        .filter_map(|r| match svcard_dataplane::wire::parse(&r.data) {
            svcard_dataplane::wire::Outcome::Ip(p) if p.proto == 6 => {
                Some((p.tcp_flags, p.tcp_seq, p.tcp_ack))
            }
            _ => None,
        })
        .collect();
    Run {
        out,
        to_client,
        counters,
        timeouts,
    }
}

#[test]
fn by_default_spoofed_rst_and_fin_outside_the_window_are_dropped_and_the_session_lives() {
    let (c, s) = connection();
    let r = run("tcp-default", "", &c, &s);
    // The client's SYN, ACK and two data segments reach the server; the server's SYN-ACK
    // and two ACKs reach the client. The RST and the FIN do not.
    assert_eq!(r.out, vec![4, 3], "{:?}", r.counters);
    assert_eq!(r.counters, [2, 2, 0, 0, 0]);
    assert_eq!(r.timeouts.len(), 1);
    assert!(r.timeouts[0] > 700, "still established: {:?}", r.timeouts);
}

#[test]
fn out_of_window_pass_forwards_them_but_they_close_nothing() {
    let (c, s) = connection();
    let r = run("tcp-pass", "out-of-window = \"pass\"", &c, &s);
    assert_eq!(r.out, vec![5, 4]);
    assert_eq!(r.counters, [2, 0, 0, 0, 0]);
    assert!(r.timeouts[0] > 700, "still established: {:?}", r.timeouts);
}

#[test]
fn no_sequence_check_lets_the_spoofed_rst_close_the_session() {
    let (c, s) = connection();
    let r = run("tcp-noseq", "no-sequence-check = true", &c, &s);
    assert_eq!(r.out, vec![5, 4]);
    assert_eq!(r.counters, [0; 5]);
    assert_eq!(r.timeouts.len(), 1);
    assert!(r.timeouts[0] <= 600, "closed by the RST: {:?}", r.timeouts);
}

#[test]
fn rst_sequence_check_wants_the_next_sequence_and_then_closes() {
    let (mut c, s) = connection();
    // An RST inside the window but 31 bytes short of the next sequence (1151), then the
    // real one.
    c.push(seg(90, 40000, true, RST, 1120, 0, 0));
    c.push(seg(100, 40000, true, RST, 1151, 0, 0));
    let r = run("tcp-rstseq", "rst-sequence-check = true", &c, &s);
    // The inexact RST is answered with a challenge ACK (RFC 5961): from the server's next
    // sequence, acknowledging the client's (1151).
    assert_eq!(r.out, vec![5, 4]);
    assert!(
        r.to_client.contains(&(ACK, 5001, 1151)),
        "{:?}",
        r.to_client
    );
    assert_eq!(r.counters, [2, 2, 1, 0, 0]);
    assert!(
        r.timeouts[0] <= 600,
        "closed by the exact RST: {:?}",
        r.timeouts
    );
    // Without the knob the first of the two closes it.
    let (mut c, s) = connection();
    c.push(seg(90, 40000, true, RST, 1120, 0, 0));
    let r = run("tcp-rstwin", "", &c, &s);
    assert_eq!(r.out, vec![5, 3]);
    assert!(r.timeouts[0] <= 600, "closed: {:?}", r.timeouts);
}

#[test]
fn the_syn_check_refuses_a_first_segment_without_syn() {
    let (mut c, s) = connection();
    // Another connection seen mid-stream.
    c.insert(0, seg(0, 40001, true, PSH | ACK, 777, 888, 10));
    let r = run("tcp-syncheck", "no-syn-check = false", &c, &s);
    assert_eq!(r.counters[3], 1, "{:?}", r.counters);
    assert_eq!(r.out, vec![4, 3]);
    assert_eq!(r.timeouts.len(), 1, "no session for the picked-up one");
    // svcard's default picks it up: two sessions, the second forwarded.
    let (mut c, s) = connection();
    c.insert(0, seg(0, 40001, true, PSH | ACK, 777, 888, 10));
    let r = run("tcp-pickup", "", &c, &s);
    assert_eq!((r.counters[3], r.timeouts.len()), (0, 2));
    assert_eq!(r.out, vec![5, 3]);
}

#[test]
fn strict_syn_check_drops_data_before_the_handshake_completes() {
    let (mut c, s) = connection();
    // Data on the SYN's heels, before the SYN-ACK (t = 10 ms).
    c.insert(1, seg(5, 40000, true, PSH | ACK, 1001, 0, 20));
    let r = run("tcp-strict", "strict-syn-check = true", &c, &s);
    assert_eq!(r.counters, [2, 2, 0, 0, 1]);
    assert_eq!(r.out, vec![4, 3]);
    // Without it the early data passes.
    let (mut c, s) = connection();
    c.insert(1, seg(5, 40000, true, PSH | ACK, 1001, 0, 20));
    let r = run("tcp-nostrict", "", &c, &s);
    assert_eq!(r.counters[4], 0);
    assert_eq!(r.out, vec![5, 3]);
}

#[test]
fn a_new_connection_on_a_closed_session_s_tuple_flags_it_0x1() {
    let (mut c, s) = connection();
    // The client resets the connection (the next sequence), then opens a new one on the
    // same ports: the session is taken over, flagged "found an existing session".
    c.push(seg(90, 40000, true, RST, 1151, 0, 0));
    c.push(seg(100, 40000, true, SYN, 90_000, 0, 0));
    let dir = Dir::new("tcp-flag1");
    let rest = format!("{BASE}[tcp-session]\n");
    let (engine, _sink) = two_ports(&dir, 1, &c, &s, &rest, true);
    assert!(engine.wait_idle(std::time::Duration::from_secs(20)));
    let out = engine.query("show services sessions");
    assert!(out.contains("Flags: 0x0001,"), "{out}");
    assert_eq!(out.matches("Flags: 0x").count(), 1, "one session: {out}");
    // Without the restart, no flag.
    let (c, s) = connection();
    let dir = Dir::new("tcp-flag0");
    let (engine, _sink) = two_ports(&dir, 1, &c, &s, &rest, true);
    assert!(engine.wait_idle(std::time::Duration::from_secs(20)));
    let out = engine.query("show services sessions");
    assert!(out.contains("Flags: 0x0000,"), "{out}");
}
