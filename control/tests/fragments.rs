//! IP fragments through the engine (virtual reassembly: nothing copied or reassembled): the
//! fragments of a datagram follow the session of its first fragment, are counted on it and
//! forwarded, IPv4 and IPv6, both directions; an overlapping fragment and one whose first
//! fragment never came are dropped and counted. Expected counts come from how the test
//! fragments the datagrams, not from svcard's parser.

mod common;
use common::{ip, two_ports, Dir};
use std::time::Duration;
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::stats::Counter;
use svcard_perf::frames::{build, fragment, L4};

const MS: u64 = 1_000_000;

fn datagram(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    payload: usize,
    from_client: bool,
) -> Vec<u8> {
    build(
        ip(src),
        ip(dst),
        &L4::Udp {
            sport,
            dport,
            payload: vec![0x5a; payload],
        },
        60,
        from_client,
    )
}

/// The IP length of a frame (its header says).
fn ip_len(f: &[u8]) -> u64 {
    if f[12..14] == [0x86, 0xdd] {
        40 + u64::from(u16::from_be_bytes([f[18], f[19]]))
    } else {
        u64::from(u16::from_be_bytes([f[16], f[17]]))
    }
}

fn flow_line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} line in {out}"))
}

#[test]
fn fragments_follow_their_datagram_s_session_in_both_directions() {
    let dir = Dir::new("fragments");
    // A 3000-byte request in 3 IPv4 fragments, a 4000-byte answer in 3; a 2000-byte IPv6
    // datagram in 2. Then: a duplicate (overlapping) fragment of the request, and a
    // fragment of a datagram whose first fragment never comes.
    let req = fragment(
        &datagram("10.0.0.1", 5000, "192.0.2.1", 53, 3000, true),
        1480,
        7,
    );
    let ans = fragment(
        &datagram("192.0.2.1", 53, "10.0.0.1", 5000, 4000, false),
        1480,
        9,
    );
    let v6 = fragment(
        &datagram("2001:db8::1", 6000, "2001:db8::2", 7000, 2000, true),
        1232,
        0x1234_5678,
    );
    let orphan = fragment(
        &datagram("10.0.0.1", 5001, "192.0.2.1", 53, 3000, true),
        1480,
        8,
    );
    assert_eq!((req.len(), ans.len(), v6.len()), (3, 3, 2));
    let at = |ms: u64, data: &Vec<u8>| Record {
        ts_ns: ms * MS,
        data: data.clone(),
    };
    // A session of ports 0 between the same hosts first: a later fragment's key (no ports)
    // names it, but the fragment must follow its own datagram.
    let zero = datagram("10.0.0.1", 0, "192.0.2.1", 0, 10, true);
    let mut client = vec![at(0, &zero)];
    client.extend(req.iter().enumerate().map(|(i, f)| at(1 + i as u64, f)));
    client.extend(v6.iter().enumerate().map(|(i, f)| at(10 + i as u64, f)));
    client.push(at(20, &req[1]));
    client.push(at(21, &orphan[2]));
    let server: Vec<Record> = ans
        .iter()
        .enumerate()
        .map(|(i, f)| at(50 + i as u64, f))
        .collect();
    let rest = "[[service-set]]\nname = \"ss1\"\nports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]\n\
                default-action = \"accept\"\n";
    let (engine, sink) = two_ports(&dir, 1, &client, &server, rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let out = engine.query("show security flow session source-port 5000");
    let sum = |fs: &[Vec<u8>]| fs.iter().map(|f| ip_len(f)).sum::<u64>();
    assert!(
        flow_line(&out, "In:").contains(&format!("Pkts: 3, Bytes: {},", sum(&req))),
        "{out}"
    );
    assert!(
        flow_line(&out, "Out:").contains(&format!("Pkts: 3, Bytes: {},", sum(&ans))),
        "{out}"
    );
    let out6 = engine.query("show security flow session source-port 6000");
    assert!(
        flow_line(&out6, "In:").contains(&format!("Pkts: 2, Bytes: {},", sum(&v6))),
        "{out6}"
    );
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::FragmentsFollowed), 2 + 2 + 1, "{card:?}");
    assert_eq!(card.get(Counter::FragmentsOverlapping), 1);
    assert_eq!(card.get(Counter::FragmentsNoSession), 1);
    assert_eq!(card.get(Counter::SessionsCreated), 3);
    let zero = engine.query("show security flow session source-port 0");
    assert!(flow_line(&zero, "In:").contains("Pkts: 1,"), "{zero}");
    // show security flow statistics: the SRX layout and its XML names.
    let fs = engine.query("show security flow statistics");
    let rx = card.get(Counter::RxPackets);
    assert!(fs.starts_with("    Current sessions: 3\n"), "{fs}");
    assert!(
        fs.contains(&format!("    Packets received: {rx}\n")),
        "{fs}"
    );
    assert!(
        fs.contains("    Packets dropped: 2\n"),
        "the duplicate and the orphan: {fs}"
    );
    assert!(
        fs.contains("    Fragment packets: 8\n"),
        "3 first and 5 later: {fs}"
    );
    assert_eq!(fs.lines().count(), 10, "{fs}");
    let x = engine.query("show security flow statistics | display xml");
    assert!(x.contains("<flow-statistics-all>"), "{x}");
    assert!(
        x.contains("<flow-frag-count-fwd>8</flow-frag-count-fwd>"),
        "{x}"
    );
    assert!(
        x.contains("<flow-pkt-count-drop>2</flow-pkt-count-drop>"),
        "{x}"
    );
    drop(engine);
    // Every fragment of the three datagrams crossed; the duplicate and the orphan did not.
    assert_eq!(sink.finish().unwrap(), vec![3, 6]);
}
