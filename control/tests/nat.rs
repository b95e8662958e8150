//! Source NAT (napt-44) through the engine on pcap ports: the initiator's packets leave with
//! the pool's address and port, the replies to that address come back to the private host,
//! every checksum of what leaves verifies, the views show the pool and the translated
//! reverse wing; a pool that runs out refuses new sessions (counted) while the existing one
//! keeps working; a packet that reaches the private host without the public address is
//! dropped; with two workers, each reply reaches the worker that translated its session
//! (the backend's RSS is the NIC's symmetric Toeplitz hash).

mod common;
use common::{ip, two_ports, Dir};
use std::net::IpAddr;
use std::time::Duration;
use svcard_dataplane::flow::{rss_queue, Endpoint, FlowKey};
use svcard_dataplane::nat::Steering;
use svcard_dataplane::pcapfile::{read_file, Record};
use svcard_dataplane::stats::{Counter, Gauge};
use svcard_dataplane::wire::checksum::verify_parsed;
use svcard_dataplane::wire::{parse, Outcome, Parsed};
use svcard_perf::frames::{build, L4};

const MS: u64 = 1_000_000;

fn udp(src: &str, sport: u16, dst: &str, dport: u16, from_client: bool) -> Vec<u8> {
    let payload = format!("{src}:{sport}>{dst}:{dport}").into_bytes();
    build(
        ip(src),
        ip(dst),
        &L4::Udp {
            sport,
            dport,
            payload,
        },
        60,
        from_client,
    )
}

fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: u8, from_client: bool) -> Vec<u8> {
    build(
        ip(src),
        ip(dst),
        &L4::Tcp {
            sport,
            dport,
            flags,
            // The server's segment answers the client's (its SYN and 11 bytes): the
            // sequence windows are checked.
            seq: if from_client { 1000 } else { 2000 },
            ack: if from_client { 2000 } else { 1012 },
            payload: b"tcp payload".to_vec(),
        },
        60,
        from_client,
    )
}

fn echo(src: &str, dst: &str, id: u16, request: bool) -> Vec<u8> {
    build(
        ip(src),
        ip(dst),
        &L4::Echo {
            request,
            id,
            seq: 1,
        },
        60,
        request,
    )
}

/// The internet checksum (RFC 1071), written here for the test's own frames.
fn csum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An ICMP port unreachable from `from` to `to`, quoting the IP header and 8 bytes of
/// `quoted` (an Ethernet frame).
fn unreachable(from: &str, to: &str, quoted: &[u8]) -> Vec<u8> {
    let (IpAddr::V4(f), IpAddr::V4(t)) = (ip(from), ip(to)) else {
        panic!("IPv4")
    };
    let mut icmp = vec![3u8, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&quoted[14..14 + 28]);
    let c = csum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut iph = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 1, 0, 0];
    iph[2..4].copy_from_slice(&((20 + icmp.len()) as u16).to_be_bytes());
    iph.extend_from_slice(&f.octets());
    iph.extend_from_slice(&t.octets());
    let c = csum(&iph);
    iph[10..12].copy_from_slice(&c.to_be_bytes());
    let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0];
    frame.extend_from_slice(&iph);
    frame.extend_from_slice(&icmp);
    frame
}

fn at(ms: u64, data: Vec<u8>) -> Record {
    Record {
        ts_ns: ms * MS,
        data,
    }
}

/// Each frame of a capture, parsed, its checksums verified.
fn packets(path: &std::path::Path) -> Vec<Parsed> {
    read_file(path)
        .unwrap()
        .iter()
        .map(|r| match parse(&r.data) {
            Outcome::Ip(p) => {
                assert!(verify_parsed(&r.data, &p), "bad checksum in {p:?}");
                p
            }
            o => panic!("{o:?}"),
        })
        .collect()
}

fn v4(a: &[u8; 16]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

const NAT: &str = r#"
[[nat.pool]]
name = "public"
address = "198.51.100.7"
port-low = 40000
port-high = 40000
[[nat.rule]]
name = "inside"
match-direction = "input"
source = ["10.0.0.0/8"]
translation-type = "napt-44"
pool = "public"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
nat-rules = ["inside"]
default-action = "accept"
"#;

#[test]
fn napt44_translates_out_and_back_and_a_full_pool_refuses() {
    let dir = Dir::new("nat");
    // One public port per protocol: the first UDP, TCP and ICMP sessions get it; a second
    // UDP session finds the pool empty. Then a packet straight to the private host.
    let client = vec![
        at(0, udp("10.0.0.1", 5000, "192.0.2.1", 53, true)),
        at(1, tcp("10.0.0.1", 6000, "192.0.2.1", 80, 0x02, true)),
        at(2, echo("10.0.0.1", "192.0.2.1", 77, true)),
        at(3, udp("10.0.0.2", 5001, "192.0.2.1", 53, true)),
        at(60, udp("10.0.0.1", 5000, "192.0.2.1", 53, true)),
    ];
    let server = vec![
        at(30, udp("192.0.2.1", 53, "198.51.100.7", 40000, false)),
        at(31, tcp("192.0.2.1", 80, "198.51.100.7", 40000, 0x12, false)),
        at(32, echo("192.0.2.1", "198.51.100.7", 40000, false)),
        at(33, udp("192.0.2.1", 53, "10.0.0.1", 5000, false)),
        // The server's port unreachable, quoting the datagram as it arrived (translated).
        at(
            34,
            unreachable(
                "192.0.2.1",
                "198.51.100.7",
                &udp("198.51.100.7", 40000, "192.0.2.1", 53, true),
            ),
        ),
    ];
    let (engine, sink) = two_ports(&dir, 1, &client, &server, NAT, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::NatSessions), 3, "{card:?}");
    assert_eq!(card.get(Counter::NatPoolExhausted), 1);
    assert_eq!(card.get(Counter::NatUntranslated), 1);
    assert_eq!(card.get(Counter::SessionsCreated), 3);
    assert_eq!(card.gauge(Gauge::NatPortsInUse), 3);

    // The views: the pool's name, and the reverse wing to the public address.
    let out = engine.query("show security flow session source-port 5000 extensive");
    assert!(out.contains("Source NAT pool: public,"), "{out}");
    assert!(
        out.contains("In: 10.0.0.1/5000 --> 192.0.2.1/53;udp,"),
        "{out}"
    );
    assert!(
        out.contains("Out: 192.0.2.1/53 --> 198.51.100.7/40000;udp,"),
        "{out}"
    );
    assert!(out.contains("Pkts: 2,"), "{out}");
    // The MS-MPC view: the NAT PLugin Data block, then the reverse flow to the public
    // endpoint.
    let msp = engine.query("show services sessions source-port 5000 extensive");
    assert!(
        msp.contains(
            "NAT PLugin Data:\n  NAT Action:   Translation Type - NAPT-44\n    \
             NAT source         10.0.0.1:5000         ->   198.51.100.7:40000\n"
        ),
        "{msp}"
    );
    assert!(
        msp.contains("192.0.2.1:53    ->   198.51.100.7:40000"),
        "{msp}"
    );
    let detail = engine.query("show services nat mappings detail");
    assert!(
        detail.contains("NAT pool: public\n")
            && detail.contains(
                "Mapping          : 10.0.0.1        : 5000  --> 198.51.100.7 : 40000\n\
                 Session Count    :     1\n"
            ),
        "{detail}"
    );
    let xml = engine.query("show services sessions source-port 5000 extensive | display xml");
    assert!(
        xml.contains("<nat-translated-address>198.51.100.7</nat-translated-address>"),
        "{xml}"
    );
    // The pool's figures (ports are counted per protocol: UDP, TCP and ICMP each hold one).
    let pool = engine.query("show services nat pool detail");
    assert!(
        pool.contains("NAT pool: public, Translation type: NAPT-44\nAddress range: 198.51.100.7-198.51.100.7\n"),
        "{pool}"
    );
    assert!(
        pool.contains(
            "Port range: 40000-40000, Ports in use: 3, Out of port errors: 1, Max ports used: 3"
        ),
        "{pool}"
    );
    let brief = engine.query("show services nat pool");
    assert!(brief.contains("Interface: "), "{brief}");
    assert!(
        brief
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "public",
                    "NAPT-44",
                    "198.51.100.7-198.51.100.7",
                    "40000-40000",
                    "3"
                ]),
        "{brief}"
    );
    let px = engine.query("show services nat pool detail | display xml");
    for e in [
        "<service-nat-pool-information>",
        "<service-set-name>ss1</service-set-name>",
        "<pool-name>public</pool-name>",
        "<translation-type>NAPT-44</translation-type>",
        "<pool-address-range>198.51.100.7-198.51.100.7</pool-address-range>",
        "<pool-ports-in-use>3</pool-ports-in-use>",
        "<pool-out-of-port-errors>1</pool-out-of-port-errors>",
        "<pool-max-ports-in-use>3</pool-max-ports-in-use>",
    ] {
        assert!(px.contains(e), "{e} in {px}");
    }
    let x = engine.query("show security flow session source-port 5000 | display xml");
    assert!(
        x.contains("<nat-source-pool-name>public</nat-source-pool-name>"),
        "{x}"
    );
    drop(engine);
    assert_eq!(sink.finish().unwrap(), vec![4, 4]);

    // Toward the server: every packet from the pool's address and port.
    let to_server = packets(&dir.0.join("out1.pcap"));
    assert_eq!(to_server.len(), 4);
    for p in &to_server {
        assert_eq!(v4(&p.src), "198.51.100.7", "{p:?}");
        assert_eq!(v4(&p.dst), "192.0.2.1");
        assert_eq!(p.sport, 40000, "{p:?}");
    }
    // Back to the client: to the private address and port; the direct packet is not here.
    let to_client = packets(&dir.0.join("out0.pcap"));
    assert_eq!(to_client.len(), 4);
    let mut ports: Vec<(u8, String, u16)> = to_client
        .iter()
        .map(|p| (p.proto, v4(&p.dst), p.dport))
        .collect();
    ports.sort();
    assert_eq!(
        ports,
        vec![
            (1, "10.0.0.1".into(), 0),
            (1, "10.0.0.1".into(), 77),
            (6, "10.0.0.1".into(), 6000),
            (17, "10.0.0.1".into(), 5000),
        ]
    );
    // The error reached the private host quoting its own datagram (RFC 5508 4.2): the
    // quote's header checksum verifies, and the error's ICMP checksum (checked above).
    let raw0 = read_file(&dir.0.join("out0.pcap")).unwrap();
    let e = to_client
        .iter()
        .position(|p| p.proto == 1 && p.is_icmp_error())
        .expect("the error");
    let err = &raw0[e].data;
    let q = svcard_dataplane::wire::parse_icmp_error_inner(err, &to_client[e]).unwrap();
    assert_eq!(
        (v4(&q.src), q.sport, v4(&q.dst), q.dport),
        ("10.0.0.1".into(), 5000, "192.0.2.1".into(), 53)
    );
    let l3 = usize::from(q.l3_offset);
    assert_eq!(csum(&err[l3..l3 + 20]), 0, "the quoted header's checksum");
    // The payloads crossed untouched.
    let raw = read_file(&dir.0.join("out1.pcap")).unwrap();
    let u = to_server.iter().position(|p| p.proto == 17).unwrap();
    let p0 = &to_server[u];
    assert_eq!(
        &raw[u].data[usize::from(p0.payload_offset)..][..usize::from(p0.payload_len)],
        b"10.0.0.1:5000>192.0.2.1:53"
    );
}

/// With two workers, the public address and port a worker chooses make the reply hash
/// (as the NIC's RSS does) to that worker: the replies find their sessions and come back
/// translated. Each worker owns one of the two ports, and the pool's two addresses are of
/// the two classes.
#[test]
fn with_two_workers_replies_reach_the_translating_worker() {
    let dir = Dir::new("nat2");
    let ep = |a: &str, p: u16| Endpoint {
        addr: ip(a),
        port: p,
    };
    let pool = ["198.51.100.6", "198.51.100.7"];
    let mut client = Vec::new();
    let mut server = Vec::new();
    let mut expect = Vec::new();
    // Flows from different hosts to different servers, until each worker has one.
    let mut seen = [false; 2];
    for i in 0..64u16 {
        let (host, remote) = (format!("10.0.1.{}", i + 1), format!("192.0.2.{}", i + 1));
        let (k, d) = FlowKey::from_endpoints(17, ep(&host, 7000 + i), ep(&remote, 53));
        let w = rss_queue(&k, d, 2);
        if seen[usize::from(w)] {
            continue;
        }
        seen[usize::from(w)] = true;
        let steer = Steering::new(2, w).unwrap();
        let port = (40000..=40001).find(|&p| steer.owner(p) == w).unwrap();
        let want = steer.class_for_ports(u32::from(ip_v4(&remote)), 53);
        let public = *pool
            .iter()
            .find(|a| steer.addr_class(u32::from(ip_v4(a))) == want)
            .unwrap();
        // The NIC model agrees: the reply hashes to the same worker.
        let (rk, rd) = FlowKey::from_endpoints(17, ep(&remote, 53), ep(public, port));
        assert_eq!(rss_queue(&rk, rd, 2), w);
        client.push(at(u64::from(i), udp(&host, 7000 + i, &remote, 53, true)));
        server.push(at(40 + u64::from(i), udp(&remote, 53, public, port, false)));
        expect.push((host, 7000 + i, public.to_string(), port));
        if seen == [true, true] {
            break;
        }
    }
    assert_eq!(expect.len(), 2);
    let rest = NAT
        .replace(
            "address = \"198.51.100.7\"",
            "address = \"198.51.100.6/31\"",
        )
        .replace("port-high = 40000", "port-high = 40001");
    let (engine, sink) = two_ports(&dir, 2, &client, &server, &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::NatSessions), 2, "{card:?}");
    assert_eq!(
        card.get(Counter::SessionsCreated),
        2,
        "a reply made a session of its own"
    );
    drop(engine);
    assert_eq!(sink.finish().unwrap(), vec![2, 2]);
    let publics: Vec<(String, u16)> = expect.iter().map(|e| (e.2.clone(), e.3)).collect();
    let hosts: Vec<(String, u16)> = expect.iter().map(|e| (e.0.clone(), e.1)).collect();
    left_and_came_back(&dir, publics, hosts);
}

/// What reached the server left from exactly `publics` (address, port), and the replies
/// reached exactly `hosts`.
fn left_and_came_back(dir: &Dir, mut publics: Vec<(String, u16)>, mut hosts: Vec<(String, u16)>) {
    let to_server = packets(&dir.0.join("out1.pcap"));
    let mut got: Vec<(String, u16)> = to_server.iter().map(|p| (v4(&p.src), p.sport)).collect();
    got.sort();
    publics.sort();
    assert_eq!(got, publics);
    let mut back: Vec<(String, u16)> = packets(&dir.0.join("out0.pcap"))
        .iter()
        .map(|p| (v4(&p.dst), p.dport))
        .collect();
    back.sort();
    hosts.sort();
    assert_eq!(back, hosts);
}

fn ip_v4(s: &str) -> std::net::Ipv4Addr {
    match ip(s) {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => panic!("{s}"),
    }
}

#[test]
fn nat_refuses_to_start_where_replies_cannot_be_steered() {
    use svcard_control::engine::{Engine, EngineError};
    let dir = Dir::new("nat3");
    let empty = dir.0.join("empty.pcap");
    svcard_perf::write_pcap(&empty, &[]).unwrap();
    let e = empty.display();
    let refused = |nat: &str, why: &str| {
        let text = format!(
            "[workers]\ncount = 2\n[[port]]\nname = \"ge-0/0/0.0\"\npcap-rx = \"{e}\"\n\
             peer = \"ge-0/0/1.0\"\n[[port]]\nname = \"ge-0/0/1.0\"\npcap-rx = \"{e}\"\n\
             peer = \"ge-0/0/0.0\"\n{nat}"
        );
        let config = std::sync::Arc::new(
            svcard_config::Config::from_toml_str(&text, "t.toml".as_ref()).unwrap(),
        );
        let (q, c, _s) = svcard_dataplane::port::pcap::PcapBackend::for_config(
            &config,
            svcard_dataplane::port::pcap::PcapOptions {
                pace: false,
                repeat: 1,
            },
        )
        .unwrap()
        .into_parts();
        match Engine::start(&config, q, c, Default::default()) {
            Err(EngineError::Nat(m)) => assert!(m.contains(why), "{m}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("started"),
        }
    };
    // One address is of one class: with two workers half the replies would go astray.
    refused(NAT, "no address of RSS class");
    // basic-nat44's fixed addresses cannot follow the hosts' classes.
    refused(
        &NAT.replace("napt-44", "basic-nat44")
            .replace("source = [\"10.0.0.0/8\"]", "source = [\"10.0.0.1/32\"]"),
        "basic-nat44, which runs on one worker",
    );
}

/// Endpoint-independent mapping and filtering (RFC 4787 REQ-1 and REQ-8): a private
/// endpoint keeps its public endpoint for every destination; any host may then reach it
/// there, and gets a session to the private endpoint. Without EIF the same packet is
/// filtered.
#[test]
fn endpoint_independent_mapping_and_filtering() {
    for eif in [true, false] {
        let dir = Dir::new(if eif { "nat-eif" } else { "nat-eim" });
        let client = vec![
            at(0, udp("10.0.0.1", 5000, "192.0.2.1", 53, true)),
            at(1, udp("10.0.0.1", 5000, "192.0.2.2", 53, true)),
        ];
        // Replies from both servers, then a stranger to the same public endpoint. The
        // pool has two ports: with EIM both sessions share one, so the stranger's port is
        // whichever the first reply names; the test learns it from the view.
        let rest = NAT
            .replace("port-high = 40000", "port-high = 40001")
            .replace(
                "pool = \"public\"\n",
                &format!(
                    "pool = \"public\"\nmapping-type = \"endpoint-independent\"\n{}",
                    if eif {
                        "filtering-type = \"endpoint-independent\"\n"
                    } else {
                        ""
                    }
                ),
            );
        // The public port is random among two: send to both; only one is the mapping's.
        let mut server = Vec::new();
        for (i, port) in [40000u16, 40001].into_iter().enumerate() {
            let t = 30 + 10 * i as u64;
            server.push(at(t, udp("192.0.2.1", 53, "198.51.100.7", port, false)));
            server.push(at(t + 1, udp("192.0.2.2", 53, "198.51.100.7", port, false)));
            // The stranger twice: its second packet finds the session by its wing, and
            // travels from the session's initiator.
            for k in [2, 3] {
                server.push(at(
                    t + k,
                    udp("192.0.2.3", 9999, "198.51.100.7", port, false),
                ));
            }
        }
        let (engine, sink) = two_ports(&dir, 1, &client, &server, &rest, true);
        assert!(engine.wait_idle(Duration::from_secs(20)));
        let out = engine.query("show security flow session extensive");
        let card = engine.stats().card();
        assert_eq!(
            card.get(Counter::NatSessions),
            if eif { 3 } else { 2 },
            "{out}"
        );
        // Both outbound sessions on one public endpoint.
        let publics: Vec<&str> = out
            .lines()
            .filter(|l| {
                l.trim_start().starts_with("Out: 192.0.2.1/53")
                    || l.trim_start().starts_with("Out: 192.0.2.2/53")
            })
            .map(|l| l.split("--> ").nth(1).unwrap().split(';').next().unwrap())
            .collect();
        assert_eq!(publics.len(), 2, "{out}");
        assert_eq!(publics[0], publics[1], "EIM: one public endpoint: {out}");
        // The mapping, once, held by both outbound sessions (and the stranger's, with EIF).
        let maps = engine.query("show services nat mappings endpoint-independent");
        let (addr, port) = publics[0].split_once('/').unwrap();
        assert!(
            maps.contains(&format!(
                "NAT pool: public\nMapping          : 10.0.0.1        : 5000  --> {addr:<13}: {port}\nSession Count    :     {}\nMapping State    : Active\n",
                if eif { 3 } else { 2 }
            )),
            "{maps}"
        );
        assert_eq!(maps.matches("Mapping State").count(), 1, "{maps}");
        // Four packets to the unused port filtered; the stranger's two to the mapping too
        // without EIF.
        assert_eq!(
            card.get(Counter::NatFiltered),
            if eif { 4 } else { 6 },
            "{card:?}"
        );
        if eif {
            let stranger = format!("In: 192.0.2.3/9999 --> {};udp,", publics[0]);
            let brief = engine.query("show security flow session");
            let line = brief.lines().find(|l| l.contains(&stranger));
            assert!(
                line.is_some_and(|l| l.contains("Pkts: 2,")),
                "the stranger's session, as it arrived, both its packets on its flow: {brief}"
            );
            assert!(
                out.contains("Out: 10.0.0.1/5000 --> 192.0.2.3/9999;udp,"),
                "{out}"
            );
        }
        // Clearing the mappings clears the sessions that hold them, and they go.
        let cleared = engine.query("clear services nat mappings");
        let held = if eif { 3 } else { 2 };
        assert!(
            cleared.contains(&format!("Total sessions of mappings cleared: {held}")),
            "{cleared}"
        );
        let t0 = std::time::Instant::now();
        loop {
            let maps = engine.query("show services nat mappings endpoint-independent");
            if !maps.contains("Mapping State") {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "still mapped: {maps}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(engine.stats().card().gauge(Gauge::NatPortsInUse), 0);
        drop(engine);
        let back = sink.finish().unwrap();
        assert_eq!(back, vec![if eif { 4 } else { 2 }, 2]);
        let mut to_client: Vec<(String, u16, String, u16)> = packets(&dir.0.join("out0.pcap"))
            .iter()
            .map(|p| (v4(&p.src), p.sport, v4(&p.dst), p.dport))
            .collect();
        to_client.sort();
        let mut want = vec![
            ("192.0.2.1".to_string(), 53, "10.0.0.1".to_string(), 5000),
            ("192.0.2.2".to_string(), 53, "10.0.0.1".to_string(), 5000),
        ];
        if eif {
            let s = ("192.0.2.3".to_string(), 9999, "10.0.0.1".to_string(), 5000);
            want.extend([s.clone(), s]);
        }
        assert_eq!(to_client, want);
    }
}

/// Deterministic NAPT44 with two workers: each host leaves with its computed address and a
/// port of its computed block (blocks of two ports: the one whose RSS class brings the reply
/// back to the worker that holds the session), every reply reaches its host, no two
/// sessions share a public port, and a host whose block has no free port of the class
/// needed is refused (counted) while its first session keeps working.
#[test]
fn deterministic_blocks_with_two_workers() {
    let dir = Dir::new("nat-det");
    let ep = |a: &str, p: u16| Endpoint {
        addr: ip(a),
        port: p,
    };
    let public = "198.51.100.7";
    let paddr = u32::from(ip_v4(public));
    let mut client = Vec::new();
    let mut server = Vec::new();
    let mut expect = Vec::new();
    for i in 0..40u16 {
        let (host, remote) = (format!("10.0.1.{}", i + 1), format!("192.0.2.{}", i + 1));
        let (k, d) = FlowKey::from_endpoints(17, ep(&host, 7000 + i), ep(&remote, 53));
        let w = rss_queue(&k, d, 2);
        let steer = Steering::new(2, w).unwrap();
        // Host offset i (10.0.1.0 is the network address): ports 1024 + 2i and up.
        let first = 1024 + 2 * i;
        let class = steer.port_class_for(u32::from(ip_v4(&remote)), 53, paddr);
        let port = (first..first + 2)
            .find(|&p| steer.owner(p) == class)
            .unwrap();
        let (rk, rd) = FlowKey::from_endpoints(17, ep(&remote, 53), ep(public, port));
        assert_eq!(
            rss_queue(&rk, rd, 2),
            w,
            "the reply reaches the session's worker"
        );
        client.push(at(u64::from(i), udp(&host, 7000 + i, &remote, 53, true)));
        server.push(at(60 + u64::from(i), udp(&remote, 53, public, port, false)));
        expect.push((host, 7000 + i, port));
    }
    // Host 10.0.1.1 again, to the same server from a source port that RSS gives the same
    // worker: it needs the same class, and its block's one port of that class is taken.
    let w0 = {
        let (k, d) = FlowKey::from_endpoints(17, ep("10.0.1.1", 7000), ep("192.0.2.1", 53));
        rss_queue(&k, d, 2)
    };
    let again = (9000..9100u16)
        .find(|&s| {
            let (k, d) = FlowKey::from_endpoints(17, ep("10.0.1.1", s), ep("192.0.2.1", 53));
            rss_queue(&k, d, 2) == w0
        })
        .unwrap();
    client.push(at(50, udp("10.0.1.1", again, "192.0.2.1", 53, true)));
    let rest = NAT
        .replace("port-low = 40000\nport-high = 40000\n", "block-size = 2\n")
        .replace("source = [\"10.0.0.0/8\"]", "source = [\"10.0.1.0/24\"]")
        .replace("napt-44", "deterministic-napt44");
    let (engine, sink) = two_ports(&dir, 2, &client, &server, &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::NatSessions), 40, "{card:?}");
    assert_eq!(card.get(Counter::NatPoolExhausted), 1, "{card:?}");
    assert_eq!(
        card.get(Counter::SessionsCreated),
        40,
        "no reply made a session"
    );
    let pool = engine.query("show services nat pool detail");
    assert!(pool.contains("Ports in use: "), "{pool}");
    let in_use: u64 = pool
        .lines()
        .filter_map(|l| l.split("Ports in use: ").nth(1))
        .filter_map(|r| r.split(',').next()?.trim().parse::<u64>().ok())
        .sum();
    assert_eq!(in_use, 40, "{pool}");
    // The mapping both ways: host 10.0.1.5 (offset 4) holds 1032-1033 and one UDP port.
    let host = engine.query("show services nat deterministic-nat internal-host 10.0.1.5");
    assert_eq!(
        host,
        "Pool name: public\nInternal host: 10.0.1.5\n  NAT IP: 198.51.100.7\n  \
         NAT port block: 1032-1033\n  Block size: 2\n  Ports in use: TCP 0, UDP 1, ICMP 0\n"
    );
    let block =
        engine.query("show services nat deterministic-nat nat-port-block 198.51.100.7 port 1033");
    let lines: Vec<&str> = block.lines().collect();
    assert_eq!(lines.len(), 2, "{block}");
    let cols: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        cols,
        [
            "public",
            "198.51.100.7",
            "1032-1033",
            "10.0.1.5",
            "0",
            "1",
            "0"
        ],
        "{block}"
    );
    let all = engine.query("show services nat deterministic-nat nat-port-block 198.51.100.7");
    assert_eq!(
        all.lines().count(),
        1 + 254,
        "a block per host of 10.0.1.0/24"
    );
    let none = engine.query("show services nat deterministic-nat internal-host 10.0.2.1");
    assert!(
        none.contains("error: no deterministic NAT rule maps internal host 10.0.2.1"),
        "{none}"
    );
    let xml =
        engine.query("show services nat deterministic-nat internal-host 10.0.1.5 | display xml");
    assert!(
        xml.contains("<port-block-range>1032-1033</port-block-range>")
            && xml.contains("<udp-ports-in-use>1</udp-ports-in-use>"),
        "{xml}"
    );
    drop(engine);
    assert_eq!(sink.finish().unwrap(), vec![40, 40]);
    left_and_came_back(
        &dir,
        expect.iter().map(|e| (public.to_string(), e.2)).collect(),
        expect.iter().map(|e| (e.0.clone(), e.1)).collect(),
    );
}

/// `preserve-port` and `preserve-parity`: a session's public port is its private port while
/// that is free; the next session from another host with the same port gets another port of
/// the same parity. Both replies come back.
#[test]
fn ports_are_preserved_where_free_and_keep_their_parity() {
    let dir = Dir::new("nat-preserve");
    let client = vec![
        at(0, udp("10.0.0.1", 7001, "192.0.2.1", 53, true)),
        at(1, udp("10.0.0.2", 7001, "192.0.2.1", 53, true)),
    ];
    let rest = NAT.replace(
        "port-low = 40000\nport-high = 40000\n",
        "port-low = 7000\nport-high = 7999\npreserve-port = true\npreserve-parity = true\n",
    );
    let (engine, sink) = two_ports(&dir, 1, &client, &[], &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    assert_eq!(engine.stats().card().get(Counter::NatSessions), 2);
    drop(engine);
    assert_eq!(sink.finish().unwrap(), vec![0, 2]);
    let ports: Vec<u16> = packets(&dir.0.join("out1.pcap"))
        .iter()
        .map(|p| p.sport)
        .collect();
    assert_eq!(ports[0], 7001, "the private port, preserved");
    assert!(ports[1] != 7001 && ports[1] % 2 == 1, "{ports:?}");
}

/// Address pooling paired with two workers: every session of a host leaves from one public
/// address (the pool's address for that host, the same on both workers), no two sessions
/// share a public port, and each reply's tuple hashes to the worker that holds the session.
#[test]
fn paired_pooling_keeps_a_host_on_one_address_across_workers() {
    let dir = Dir::new("nat-app");
    let ep = |a: &str, p: u16| Endpoint {
        addr: ip(a),
        port: p,
    };
    let mut client = Vec::new();
    for h in 0..8u16 {
        for f in 0..6u16 {
            let (host, remote) = (format!("10.0.1.{}", h + 1), format!("192.0.2.{}", f + 1));
            let sport = 7000 + f;
            client.push(at(
                u64::from(h * 6 + f),
                udp(&host, sport, &remote, 53, true),
            ));
        }
    }
    let rest = NAT
        .replace(
            "address = \"198.51.100.7\"",
            "address = \"198.51.100.0/29\"",
        )
        .replace("port-low = 40000\nport-high = 40000\n", "")
        .replace(
            "pool = \"public\"\n",
            "pool = \"public\"\naddress-pooling = \"paired\"\n",
        );
    let (engine, sink) = two_ports(&dir, 2, &client, &[], &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let cfg = engine.config();
    assert_eq!(engine.stats().card().get(Counter::NatSessions), 48);
    // The paired mappings, per member interface: each host on its address, 48 sessions.
    let maps = engine.query("show services nat mappings address-pooling-paired");
    let mut sessions = 0;
    let mut lines = maps.lines();
    while let Some(l) = lines.next() {
        if let Some(m) = l.strip_prefix("Mapping          : ") {
            let (host, public) = m.split_once("-->").unwrap();
            let want = cfg.nat.pools[0]
                .paired_address(u32::from(ip_v4(host.trim())))
                .unwrap();
            assert_eq!(
                public.trim(),
                std::net::Ipv4Addr::from(want).to_string(),
                "{maps}"
            );
            let count = lines.next().unwrap();
            sessions += count
                .split(':')
                .nth(1)
                .unwrap()
                .trim()
                .parse::<u64>()
                .unwrap();
        }
    }
    assert_eq!(sessions, 48, "{maps}");
    drop(engine);
    assert_eq!(sink.finish().unwrap(), vec![0, 48]);
    let mut seen = std::collections::HashSet::new();
    for r in read_file(&dir.0.join("out1.pcap")).unwrap() {
        let Outcome::Ip(p) = parse(&r.data) else {
            panic!("not IP");
        };
        assert!(verify_parsed(&r.data, &p));
        // The payload names the private sender ("src:sport>dst:dport").
        let text = String::from_utf8_lossy(&r.data[usize::from(p.payload_offset)..]).into_owned();
        let (s, _) = text.split_once('>').unwrap();
        let (host, sport) = s.rsplit_once(':').unwrap();
        let (host, sport, remote) = (host.to_string(), sport.parse::<u16>().unwrap(), v4(&p.dst));
        let want = cfg.nat.pools[0]
            .paired_address(u32::from(ip_v4(&host)))
            .unwrap();
        assert_eq!(
            v4(&p.src),
            std::net::Ipv4Addr::from(want).to_string(),
            "{host}"
        );
        assert!(seen.insert((v4(&p.src), p.sport)), "public port shared");
        let (k, d) = FlowKey::from_endpoints(17, ep(&host, sport), ep(&remote, 53));
        let (rk, rd) = FlowKey::from_endpoints(17, ep(&remote, 53), ep(&v4(&p.src), p.sport));
        assert_eq!(
            rss_queue(&rk, rd, 2),
            rss_queue(&k, d, 2),
            "the reply reaches the session's worker"
        );
    }
    assert_eq!(seen.len(), 48);
}

/// Hairpinning (RFC 4787 REQ-9) under endpoint-independent mapping and filtering: host A's
/// packet to host B's public endpoint comes back out the private port, from A's own public
/// endpoint to B's private one and addressed to B's Ethernet address; B's answer to A's
/// public endpoint goes back the same way to A. Nothing of it reaches the outside.
#[test]
fn hairpinned_hosts_reach_each_other_through_their_public_endpoints() {
    let dir = Dir::new("nat-hairpin");
    let mac = |last: u8| [0x02, 0, 0, 0, 0, last];
    let from = |f: Vec<u8>, m: [u8; 6]| {
        let mut f = f;
        f[6..12].copy_from_slice(&m);
        f
    };
    let client = vec![
        // B's session out makes its mapping 198.51.100.7:40000 (its port, preserved).
        at(
            0,
            from(udp("10.0.0.2", 40000, "192.0.2.1", 53, true), mac(0xb)),
        ),
        // A to B's public endpoint: hairpinned.
        at(
            1,
            from(
                udp("10.0.0.1", 40001, "198.51.100.7", 40000, true),
                mac(0xa),
            ),
        ),
        // B's answer to A's public endpoint.
        at(
            2,
            from(
                udp("10.0.0.2", 40000, "198.51.100.7", 40001, true),
                mac(0xb),
            ),
        ),
    ];
    let rest = NAT
        .replace(
            "port-high = 40000\n",
            "port-high = 40001\npreserve-port = true\n",
        )
        .replace(
            "pool = \"public\"\n",
            "pool = \"public\"\nmapping-type = \"endpoint-independent\"\n\
             filtering-type = \"endpoint-independent\"\n",
        );
    let (engine, sink) = two_ports(&dir, 1, &client, &[], &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let out = engine.query("show security flow session");
    assert_eq!(engine.stats().card().get(Counter::NatSessions), 2, "{out}");
    assert!(
        out.contains("In: 10.0.0.1/40001 --> 198.51.100.7/40000;udp,")
            && out.contains("Out: 10.0.0.2/40000 --> 198.51.100.7/40001;udp,"),
        "the hairpinned session as its packets arrive: {out}"
    );
    drop(engine);
    assert_eq!(
        sink.finish().unwrap(),
        vec![2, 1],
        "two back inside, one out"
    );
    let back: Vec<(String, u16, String, u16, Vec<u8>)> = read_file(&dir.0.join("out0.pcap"))
        .unwrap()
        .iter()
        .map(|r| {
            let Outcome::Ip(p) = parse(&r.data) else {
                panic!("not IP");
            };
            assert!(verify_parsed(&r.data, &p), "checksums");
            (
                v4(&p.src),
                p.sport,
                v4(&p.dst),
                p.dport,
                r.data[..6].to_vec(),
            )
        })
        .collect();
    assert_eq!(
        back,
        vec![
            (
                "198.51.100.7".into(),
                40001,
                "10.0.0.2".into(),
                40000,
                mac(0xb).to_vec()
            ),
            (
                "198.51.100.7".into(),
                40000,
                "10.0.0.1".into(),
                40001,
                mac(0xa).to_vec()
            ),
        ]
    );
    let outside = packets(&dir.0.join("out1.pcap"));
    assert_eq!(outside.len(), 1);
    assert_eq!(
        (v4(&outside[0].src), outside[0].sport),
        ("198.51.100.7".into(), 40000)
    );
}

/// dynamic-nat44 with two workers: each host's sessions leave from one pool address of the
/// host's own RSS class (so every reply reaches its session's worker), with their ports
/// unchanged; no two hosts share an address. basic-nat44 (one worker): host `h` of the
/// source prefix leaves from the pool's address `h`, ports unchanged.
#[test]
fn address_only_translation_dynamic_and_basic() {
    let ep = |a: &str, p: u16| Endpoint {
        addr: ip(a),
        port: p,
    };
    for basic in [false, true] {
        let dir = Dir::new(if basic { "nat-basic" } else { "nat-dynamic" });
        let mut client = Vec::new();
        for h in 0..6u16 {
            for f in 0..3u16 {
                let (host, remote) = (format!("10.0.1.{}", h + 1), format!("192.0.2.{}", f + 1));
                client.push(at(
                    u64::from(h * 3 + f),
                    udp(&host, 7000 + f, &remote, 53, true),
                ));
            }
        }
        let rest = NAT
            .replace(
                "address = \"198.51.100.7\"",
                "address = \"198.51.100.0/28\"",
            )
            .replace("port-low = 40000\nport-high = 40000\n", "")
            .replace("source = [\"10.0.0.0/8\"]", "source = [\"10.0.1.0/29\"]")
            .replace(
                "napt-44",
                if basic {
                    "basic-nat44"
                } else {
                    "dynamic-nat44"
                },
            );
        let workers = if basic { 1 } else { 2 };
        let (engine, sink) = two_ports(&dir, workers, &client, &[], &rest, true);
        assert!(engine.wait_idle(Duration::from_secs(20)));
        assert_eq!(engine.stats().card().get(Counter::NatSessions), 18);
        drop(engine);
        assert_eq!(sink.finish().unwrap(), vec![0, 18]);
        let steer = Steering::new(2, 0).unwrap();
        let mut by_host: std::collections::HashMap<String, String> = Default::default();
        for r in read_file(&dir.0.join("out1.pcap")).unwrap() {
            let Outcome::Ip(p) = parse(&r.data) else {
                panic!("not IP");
            };
            assert!(verify_parsed(&r.data, &p));
            let text =
                String::from_utf8_lossy(&r.data[usize::from(p.payload_offset)..]).into_owned();
            let (s, _) = text.split_once('>').unwrap();
            let (host, sport) = s.rsplit_once(':').unwrap();
            let sport: u16 = sport.parse().unwrap();
            assert_eq!(p.sport, sport, "the port is the host's");
            let public = v4(&p.src);
            assert_eq!(
                by_host
                    .entry(host.to_string())
                    .or_insert_with(|| public.clone()),
                &public,
                "{host} on two addresses"
            );
            if basic {
                let h: u32 = host.rsplit('.').next().unwrap().parse().unwrap();
                assert_eq!(public, format!("198.51.100.{}", h - 1), "host {host}");
            } else {
                let (hc, pc) = (
                    steer.addr_class(u32::from(ip_v4(host))),
                    steer.addr_class(u32::from(ip_v4(&public))),
                );
                assert_eq!(hc, pc, "{host} -> {public}: of the host's class");
                let remote = v4(&p.dst);
                let (k, d) = FlowKey::from_endpoints(17, ep(host, sport), ep(&remote, 53));
                let (rk, rd) = FlowKey::from_endpoints(17, ep(&remote, 53), ep(&public, sport));
                assert_eq!(rss_queue(&rk, rd, 2), rss_queue(&k, d, 2));
            }
        }
        let mut addrs: Vec<&String> = by_host.values().collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!((by_host.len(), addrs.len()), (6, 6), "one address a host");
    }
}

/// `max-sessions-per-host`: a host at the pool's limit has its next session refused
/// (counted) while another host's go on; when its sessions end, it may make new ones.
#[test]
fn a_host_at_its_session_limit_is_refused_until_its_sessions_end() {
    let dir = Dir::new("nat-hostlimit");
    let mut client: Vec<Record> = (0..3u16)
        .map(|i| {
            at(
                u64::from(i),
                udp("10.0.0.1", 7000 + i, "192.0.2.1", 53, true),
            )
        })
        .collect();
    client.extend((0..2u16).map(|i| {
        at(
            10 + u64::from(i),
            udp("10.0.0.2", 7000 + i, "192.0.2.1", 53, true),
        )
    }));
    // After the first host's sessions idled out (1 s): a new one is allowed.
    client.push(at(2500, udp("10.0.0.1", 7100, "192.0.2.1", 53, true)));
    let rest = format!(
        "[timeouts]\nudp = 1\n{}",
        NAT.replace(
            "port-high = 40000\n",
            "port-high = 40099\nmax-sessions-per-host = 2\n"
        )
    );
    let (engine, sink) = two_ports(&dir, 1, &client, &[], &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let card = engine.stats().card();
    assert_eq!(card.get(Counter::NatHostLimitDrops), 1, "{card:?}");
    assert_eq!(card.get(Counter::NatSessions), 5, "{card:?}");
    drop(engine);
    assert_eq!(sink.finish().unwrap(), vec![0, 5]);
}

/// The talk ALG through NAT: a private caller's `ANNOUNCE` leaves with its `addr` (the
/// caller's TCP listener) rewritten to the pool's address and an ALG port, and its
/// `ctl_addr` (its own request source) to the request's public source; the invitee's
/// connection to that ALG port comes in to the caller's private listener.
#[test]
fn talk_announce_through_nat_names_public_endpoints() {
    let dir = Dir::new("nat-talk");
    let osa = |ip: [u8; 4], port: u16| {
        let mut s = vec![0, 2];
        s.extend_from_slice(&port.to_be_bytes());
        s.extend_from_slice(&ip);
        s.extend_from_slice(&[0; 8]);
        s
    };
    // CTL_MSG: version 1, ANNOUNCE (3), id 7, addr, ctl_addr, pid, names, tty.
    let mut msg = vec![1, 3, 0, 0, 0, 0, 0, 7];
    msg.extend(osa([10, 0, 0, 1], 40000));
    msg.extend(osa([10, 0, 0, 1], 40001));
    msg.extend_from_slice(&4242u32.to_be_bytes());
    msg.extend_from_slice(b"alice\0\0\0\0\0\0\0bob\0\0\0\0\0\0\0\0\0");
    msg.extend_from_slice(&[0; 16]);
    assert_eq!(msg.len(), 84);
    let client = vec![at(
        0,
        build(
            ip("10.0.0.1"),
            ip("192.0.2.1"),
            &L4::Udp {
                sport: 40001,
                dport: 518,
                payload: msg,
            },
            60,
            true,
        ),
    )];
    // The invitee's host connects to the announced address, as the daemon forwarded it:
    // the pool address and the first ALG port (one worker: the top 1008 ports of 1024-65535
    // are the ALG's, taken from the lowest).
    let server = vec![at(
        300,
        tcp("192.0.2.1", 1234, "198.51.100.7", 64528, 0x02, false),
    )];
    let rest = NAT.replace("port-low = 40000\nport-high = 40000\n", "");
    let (engine, sink) = two_ports(&dir, 1, &client, &server, &rest, true);
    assert!(engine.wait_idle(Duration::from_secs(20)));
    let out = engine.query("show security flow session");
    assert!(
        out.contains("In: 192.0.2.1/1234 --> 198.51.100.7/64528;tcp,")
            && out.contains("Out: 10.0.0.1/40000 --> 192.0.2.1/1234;tcp,"),
        "the invitee's connection in to the caller's listener: {out}"
    );
    drop(engine);
    assert_eq!(sink.finish().unwrap(), vec![1, 1]);
    let sent = read_file(&dir.0.join("out1.pcap")).unwrap();
    let Outcome::Ip(p) = parse(&sent[0].data) else {
        panic!("not IP");
    };
    assert!(verify_parsed(&sent[0].data, &p), "the UDP checksum holds");
    let payload = &sent[0].data[usize::from(p.payload_offset)..];
    assert_eq!(&payload[8..24], &osa([198, 51, 100, 7], 64528)[..], "addr");
    assert_eq!(
        &payload[24..40],
        &osa([198, 51, 100, 7], p.sport)[..],
        "ctl_addr: the request's own public source"
    );
    let to_caller = packets(&dir.0.join("out0.pcap"));
    assert_eq!(
        (v4(&to_caller[0].dst), to_caller[0].dport),
        ("10.0.0.1".into(), 40000)
    );
}
