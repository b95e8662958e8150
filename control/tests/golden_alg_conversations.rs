//! Golden tests of `show services alg conversations`: every sample of the seed page, built
//! in the resource manager's conversation book (as the ALGs will fill it) and rendered
//! through the command executor, compared line for line (whitespace included) with
//! `tests/golden/alg-*.txt`, which are the seed's sample bodies.
//!
//! Two seed typos are corrected in the golden files because no card can print them:
//! `192.0.2:5091` (extensive) and `198.51.2:…` (talk) are not addresses; they read
//! `192.0.2.2:5091` and `198.51.100.2:…`. The seed's `application-protocol ftp` sample
//! shows a DNS ALG conversation (a documentation slip); its layout is checked with that
//! DNS conversation, and the `ftp` filter is checked to select only FTP conversations.

use std::net::IpAddr;
use std::sync::Arc;

use svcard_config::{AlgKind, Config};
use svcard_control::central::{ControlCore, WorkerHandle};
use svcard_control::commands::{execute, Context};
use svcard_control::gateway::rm::{ConvFlow, ConvResource, ConvSession, ConvState, Conversation};
use svcard_dataplane::clock::Clock;
use svcard_dataplane::flow::Endpoint;
use svcard_dataplane::ring::{RingSizes, WorkerRings};
use svcard_dataplane::stats::SharedStats;

fn golden(name: &str, got: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    if got != want {
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "{name}: line {} differs\n--- got ---\n{got}", i + 1);
        }
        panic!(
            "{name}: lengths differ ({} vs {} bytes)\n--- got ---\n{got:?}\n--- want ---\n{want:?}",
            got.len(),
            want.len()
        );
    }
}

/// A context whose worker 0 is member interface `iface` (`ms-2/1/0`), two workers.
fn context(iface: &str) -> Context {
    let prefix = &iface[..iface.len() - 1];
    let text = format!(
        "[card]\nmember-prefix = \"{prefix}\"\n[workers]\ncount = 2\n\
         [[port]]\nname = \"ge-0/0/0.0\"\npcap-tx = \"a.pcap\"\npeer = \"ge-0/0/1.0\"\n\
         [[port]]\nname = \"ge-0/0/1.0\"\npcap-tx = \"b.pcap\"\npeer = \"ge-0/0/0.0\"\n"
    );
    let config =
        Arc::new(Config::from_toml_str(&text, std::path::Path::new("t.toml")).expect("config"));
    let workers = (0..2)
        .map(|_| WorkerHandle {
            rings: WorkerRings::new(RingSizes::default()),
            stats: Arc::new(SharedStats::default()),
        })
        .collect();
    let (_core, handle) = ControlCore::new(workers);
    Context::new(config, handle, Clock::new())
}

fn run(ctx: &Context, line: &str) -> String {
    let mut out = Vec::new();
    execute(ctx, line, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn ep(s: &str) -> Endpoint {
    let (a, p) = s.rsplit_once(':').unwrap();
    Endpoint {
        addr: a.parse::<IpAddr>().unwrap(),
        port: p.parse().unwrap(),
    }
}

fn flow(f: &str) -> ConvFlow {
    let (a, b) = f.split_once(" -> ").unwrap();
    ConvFlow {
        src: ep(a),
        dst: ep(b),
    }
}

fn sess(id: u32, protocol: u8, fwd: &str, rev: &str) -> ConvSession {
    ConvSession {
        id,
        protocol,
        forward: flow(fwd),
        reverse: Some(flow(rev)),
    }
}

fn resource(id: u32, sessions: Vec<ConvSession>) -> ConvResource {
    ConvResource {
        id,
        state: ConvState::Active,
        sessions,
        gate: None,
    }
}

fn conv(
    parent_status: Option<ConvState>,
    parent: Option<ConvSession>,
    children: Vec<ConvSession>,
) -> Conversation {
    Conversation {
        group_id: 1,
        state: ConvState::Active,
        parent_status,
        parent,
        resources: vec![resource(1, children)],
    }
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const GRE: u8 = 47;
const ESP: u8 = 50;
const CLOSED: Option<ConvState> = Some(ConvState::Closed);
const ACTIVE: Option<ConvState> = Some(ConvState::Active);

fn put(ctx: &Context, worker: u16, alg: AlgKind, c: Conversation) {
    ctx.control
        .conversations
        .lock()
        .unwrap()
        .insert(svcard_config::WorkerId(worker), alg, c);
}

#[test]
fn default_and_brief_sample() {
    let ctx = context("ms-2/1/0");
    put(
        &ctx,
        0,
        AlgKind::Sqlnet,
        conv(
            CLOSED,
            None,
            vec![sess(
                1,
                TCP,
                "10.50.50.2:37244 -> 10.40.40.10:4334",
                "10.40.40.10:4334 -> 10.11.11.10:37244",
            )],
        ),
    );
    golden(
        "alg-default.txt",
        &run(&ctx, "show services alg conversations"),
    );
    // brief is identical.
    golden(
        "alg-default.txt",
        &run(&ctx, "show services alg conversations brief"),
    );
    golden("alg-default.txt", &run(&ctx, "sh ser alg conv b"));
}

fn h323_context() -> Context {
    let ctx = context("ms-1/0/0");
    let udp = |id, f: &str, r: &str| sess(id, UDP, f, r);
    let h323 = Conversation {
        group_id: 3_499_913_712,
        state: ConvState::Active,
        parent_status: None,
        parent: Some(sess(
            33_554_433,
            TCP,
            "198.51.100.2:30000 -> 192.0.2.2:1720",
            "192.0.2.2:1720 -> 203.0.113.1:57730",
        )),
        resources: vec![
            resource(
                3_499_927_656,
                vec![udp(
                    33_554_436,
                    "198.51.100.2:5086 -> 192.0.2.2:5090",
                    "192.0.2.2:5090 -> 203.0.113.3:55916",
                )],
            ),
            resource(
                3_499_927_376,
                vec![udp(
                    67_108_867,
                    "192.0.2.2:5091 -> 203.0.113.3:55917",
                    "198.51.100.2:5087 -> 192.0.2.2:5091",
                )],
            ),
            resource(
                3_499_926_816,
                vec![udp(
                    33_554_438,
                    "198.51.100.2:5089 -> 192.0.2.2:5093",
                    "192.0.2.2:5093 -> 203.0.113.2:63435",
                )],
            ),
            resource(
                3_499_926_536,
                vec![udp(
                    33_554_437,
                    "198.51.100.2:5088 -> 192.0.2.2:5092",
                    "192.0.2.2:5092 -> 203.0.113.2:63434",
                )],
            ),
        ],
    };
    put(&ctx, 0, AlgKind::H323, h323);
    let ras = Conversation {
        group_id: 799_037_592,
        state: ConvState::Active,
        parent_status: None,
        parent: None,
        resources: vec![],
    };
    ctx.control
        .conversations
        .lock()
        .unwrap()
        .book(svcard_config::WorkerId(0), AlgKind::H323, "RAS ALG")
        .conversations
        .push(ras);
    ctx
}

#[test]
fn extensive_sample() {
    let ctx = h323_context();
    golden(
        "alg-extensive.txt",
        &run(&ctx, "show services alg conversations extensive"),
    );
}

#[test]
fn extensive_as_xml_and_json() {
    let ctx = h323_context();
    let xml = run(
        &ctx,
        "show services alg conversations extensive | display xml",
    );
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("service-msp-alg-conversation-information"))
        .expect("reply root");
    let child_ids: Vec<&str> = root
        .descendants()
        .filter(|n| n.has_tag_name("child-session"))
        .filter_map(|n| n.children().find(|c| c.has_tag_name("session-identifier")))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(child_ids, ["33554436", "67108867", "33554438", "33554437"]);
    let json = run(
        &ctx,
        "show services alg conversations extensive | display json",
    );
    let v: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    let sets = &v["service-msp-alg-conversation-information"][0]["alg-conversation-set"];
    assert_eq!(sets[0]["alg-name"][0]["data"], "H323 ALG");
    assert_eq!(sets[1]["alg-name"][0]["data"], "RAS ALG");
    assert_eq!(
        sets[0]["alg-conversation"][0]["alg-resource"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let rpc = run(
        &ctx,
        "show services alg conversations extensive | display xml rpc",
    );
    assert!(
        rpc.contains("<get-service-msp-alg-conversation-information>"),
        "{rpc}"
    );
    assert!(rpc.contains("                <extensive/>"), "{rpc}");
    // `show services alg statistics`: the RPC and reply names of the reference.
    let rpc = run(&ctx, "show services alg statistics | display xml rpc");
    assert!(
        rpc.contains("<get-service-msp-alg-stats-information/>")
            || rpc.contains("<get-service-msp-alg-stats-information>"),
        "{rpc}"
    );
    let xml = run(&ctx, "show services alg statistics | display xml");
    assert!(xml.contains("<service-msp-alg-stats-information"), "{xml}");
    assert!(!xml.contains("service-alg-statistics"), "{xml}");
}

/// The `application-protocol` samples: (golden, worker interface, ALG, conversations).
fn app_samples() -> Vec<(&'static str, &'static str, AlgKind, Vec<Conversation>)> {
    let pair = |f: &str, r: &str, proto| sess(0, proto, f, r);
    vec![
        (
            "rpc",
            "ms-1/1/0",
            AlgKind::Rpc,
            vec![
                conv(
                    CLOSED,
                    None,
                    vec![
                        pair(
                            "192.168.203.198:1019 -> 192.168.203.194:2049",
                            "192.168.203.194:2049 -> 192.168.203.198:1019",
                            UDP,
                        ),
                        pair(
                            "192.168.203.198:36595 -> 192.168.203.194:2049",
                            "192.168.203.194:2049 -> 192.168.203.198:36595",
                            UDP,
                        ),
                    ],
                ),
                conv(
                    CLOSED,
                    None,
                    vec![
                        pair(
                            "192.168.203.198:954 -> 192.168.203.194:613",
                            "192.168.203.194:613 -> 192.168.203.198:954",
                            UDP,
                        ),
                        pair(
                            "192.168.203.198:53836 -> 192.168.203.194:613",
                            "192.168.203.194:613 -> 192.168.203.198:53836",
                            UDP,
                        ),
                    ],
                ),
            ],
        ),
        (
            "dns",
            "ms-1/1/0",
            AlgKind::Dns,
            vec![conv(
                CLOSED,
                None,
                vec![pair(
                    "192.168.203.198:1019 -> 192.168.203.194:2049",
                    "192.168.203.194:2049 -> 192.168.203.198:1019",
                    UDP,
                )],
            )],
        ),
        (
            "ftp",
            "ms-1/1/0",
            AlgKind::Dns,
            vec![conv(
                CLOSED,
                None,
                vec![pair(
                    "192.168.203.198:53836 -> 192.168.203.194:613",
                    "192.168.203.194:613 -> 192.168.203.198:53836",
                    UDP,
                )],
            )],
        ),
        (
            "ike-esp-nat",
            "ms-2/2/0",
            AlgKind::IkeEspNat,
            vec![conv(
                CLOSED,
                None,
                vec![
                    pair(
                        "198.51.100.101:2623 -> 203.0.113.1:46838",
                        "192.0.2.101:46838 -> 198.51.10.101:2623",
                        ESP,
                    ),
                    pair(
                        "192.0.2.101:2666 -> 198.51.10.101:57882",
                        "198.51.10.101:57882 -> 203.0.113.1:2666",
                        ESP,
                    ),
                ],
            )],
        ),
        (
            "pptp",
            "ms-2/0/0",
            AlgKind::Pptp,
            vec![conv(
                ACTIVE,
                Some(pair(
                    "192.0.2.10:1511 -> 198.51.100.10:1723",
                    "198.51.100.10:1723 -> 192.0.2.10:1511",
                    TCP,
                )),
                vec![
                    pair(
                        "192.0.2.10:0 -> 198.51.100.10:49913",
                        "198.51.100.10:49913 -> 192.0.2.10:65001",
                        GRE,
                    ),
                    pair(
                        "198.51.100.10:0 -> 192.0.2.10:0",
                        "192.0.2.10:0 -> 198.51.100.10:65000",
                        GRE,
                    ),
                ],
            )],
        ),
        (
            "rtsp",
            "ms-0/1/0",
            AlgKind::Rtsp,
            vec![conv(
                None,
                Some(pair(
                    "198.51.100.2:3985 -> 192.0.2.1:554",
                    "203.0.113.2:554 -> 198.51.100.2:3985",
                    TCP,
                )),
                vec![
                    pair(
                        "203.0.113.2:35859 -> 198.51.100.2:38159",
                        "198.51.100.2:38159 -> 192.0.2.1:35859",
                        UDP,
                    ),
                    pair(
                        "203.0.113.2:35859 -> 198.51.100.2:37391",
                        "198.51.100.2:37391 -> 192.0.2.1:35859",
                        UDP,
                    ),
                ],
            )],
        ),
        (
            "rsh",
            "ms-0/1/0",
            AlgKind::Rsh,
            vec![conv(
                None,
                Some(pair(
                    "198.51.100.2:3985 -> 192.0.2.1:554",
                    "203.0.113.2:554 -> 198.51.100.2:3985",
                    TCP,
                )),
                vec![pair(
                    "203.0.113.2:35859 -> 198.51.100.2:38159",
                    "198.51.100.2:38159 -> 192.0.2.1:35859",
                    UDP,
                )],
            )],
        ),
        (
            "sip",
            "ms-1/1/0",
            AlgKind::Sip,
            vec![conv(
                ACTIVE,
                Some(pair(
                    "192.0.2.2:5060 -> 198.51.100.2:5060",
                    "198.51.100.2:5060 -> 203.0.113.2:5060",
                    UDP,
                )),
                vec![pair(
                    "192.0.2.2:6000 -> 198.51.100.2:12442",
                    "198.51.100.2:12442 -> 203.0.113.2:6000",
                    UDP,
                )],
            )],
        ),
        (
            "sql",
            "ms-2/0/0",
            AlgKind::Sqlnet,
            vec![conv(
                None,
                Some(pair("0.0.0.0:0 -> 0.0.0.0:0", "0.0.0.0:0 -> 0.0.0.0:0", 0)),
                vec![pair(
                    "203.0.113.2:19099 -> 198.51.100.10:32773",
                    "198.51.100.10:32773 -> 192.0.2.1:19099",
                    TCP,
                )],
            )],
        ),
        (
            "talk",
            "ms-0/1/0",
            AlgKind::Talk,
            vec![conv(
                None,
                Some(pair(
                    "198.51.100.2:3985 -> 192.0.2.1:554",
                    "203.0.113.2:554 -> 198.51.100.2:3985",
                    TCP,
                )),
                vec![pair(
                    "203.0.113.2:35859 -> 198.51.100.2:38159",
                    "198.51.100.2:38159 -> 192.0.2.1:35859",
                    UDP,
                )],
            )],
        ),
    ]
}

#[test]
fn application_protocol_samples() {
    for (name, iface, alg, convs) in app_samples() {
        let ctx = context(iface);
        for c in convs {
            put(&ctx, 0, alg, c);
        }
        let filter = if name == "ftp" { "dns" } else { name };
        let got = run(
            &ctx,
            &format!("show services alg conversations application-protocol {filter}"),
        );
        golden(&format!("alg-{name}.txt"), &got);
        // Another ALG's filter selects nothing of it.
        let other = if alg == AlgKind::Ftp { "sip" } else { "ftp" };
        assert_eq!(
            run(
                &ctx,
                &format!("show services alg conversations application-protocol {other}")
            ),
            "",
            "{name}"
        );
    }
}

#[test]
fn interface_sample_and_filters() {
    let ctx = context("ms-1/1/0");
    let ftp = Conversation {
        group_id: 7,
        state: ConvState::Active,
        parent_status: ACTIVE,
        parent: Some(ConvSession {
            id: 33_554_433,
            protocol: TCP,
            forward: flow("10.20.20.10:47164 -> 10.30.30.30:21"),
            reverse: None,
        }),
        resources: vec![],
    };
    put(&ctx, 0, AlgKind::Ftp, ftp);
    golden(
        "alg-interface.txt",
        &run(&ctx, "show services alg conversations interface ms-1/1/0"),
    );
    // A conversation on the other member interface.
    put(
        &ctx,
        1,
        AlgKind::Sip,
        conv(
            ACTIVE,
            Some(sess(
                67_108_865,
                UDP,
                "192.0.2.2:5060 -> 198.51.100.2:5060",
                "198.51.100.2:5060 -> 192.0.2.2:5060",
            )),
            vec![],
        ),
    );
    let all = run(&ctx, "show services alg conversations");
    assert!(
        all.starts_with("Interface name: ms-1/1/0\nALG : FTP ALG"),
        "{all}"
    );
    assert!(
        all.contains("Interface name: ms-1/1/1\nALG : SIP ALG"),
        "{all}"
    );
    let one = run(&ctx, "show services alg conversations interface ms-1/1/1");
    assert!(one.starts_with("\nALG : SIP ALG"), "{one}");
    assert!(!one.contains("FTP"), "{one}");
    // The bundle is every member.
    let bundle = run(&ctx, "show services alg conversations interface ams0");
    assert!(
        bundle.contains("FTP ALG") && bundle.contains("SIP ALG"),
        "{bundle}"
    );
    let ftp_only = run(
        &ctx,
        "show services alg conversations application-protocol ftp",
    );
    assert!(
        ftp_only.contains("FTP ALG") && !ftp_only.contains("SIP"),
        "{ftp_only}"
    );
    let err = run(&ctx, "show services alg conversations interface ms-9/9/9");
    assert_eq!(err, "error: interface 'ms-9/9/9' not found\n");
    let err = run(
        &ctx,
        "show services alg conversations application-protocol bogus",
    );
    assert!(
        err.contains("invalid application-protocol: 'bogus'"),
        "{err}"
    );
    // Removing a group removes its conversation (and the empty book).
    ctx.control.conversations.lock().unwrap().remove_group(7);
    assert!(!run(&ctx, "show services alg conversations").contains("FTP"));
}

/// The resource manager's book does not carry a reported parent status (it knows whether
/// the parent lives): every conversation still prints its `Parent session status:` line,
/// at the default and brief levels, so the list shows as many as `Number of
/// conversations` counts (it counted 5 and showed 1 when only children were printed).
#[test]
fn every_counted_conversation_is_listed_with_its_parent_status() {
    let ctx = context("ms-2/1/0");
    let ftp = |port: u16| {
        sess(
            33_554_433 + u32::from(port),
            TCP,
            &format!("10.0.0.1:{port} -> 192.0.2.1:21"),
            &format!("192.0.2.1:21 -> 10.0.0.1:{port}"),
        )
    };
    // One conversation whose control session lives and has a data connection; four whose
    // control sessions are gone.
    put(
        &ctx,
        0,
        AlgKind::Ftp,
        conv(
            None,
            Some(ftp(40_000)),
            vec![sess(
                33_554_500,
                TCP,
                "192.0.2.1:20 -> 10.0.0.1:50000",
                "10.0.0.1:50000 -> 192.0.2.1:20",
            )],
        ),
    );
    for _ in 0..4 {
        put(&ctx, 0, AlgKind::Ftp, conv(None, None, vec![]));
    }
    for cmd in [
        "show services alg conversations",
        "show services alg conversations brief",
    ] {
        let out = run(&ctx, cmd);
        assert!(out.contains("Number of conversations: 5\n"), "{out}");
        assert_eq!(
            out.matches("Parent session status: ").count(),
            5,
            "{cmd}:\n{out}"
        );
        assert_eq!(
            out.matches("Parent session status: active").count(),
            1,
            "{out}"
        );
        assert_eq!(
            out.matches("Parent session status: closed").count(),
            4,
            "{out}"
        );
    }
}
