//! Golden tests of `show security flow session`: the seed's resource-manager samples and
//! the junos-cli.md samples, rendered from session views through the typed model, byte for
//! byte. `rm-*.txt`, `brief.txt` and `summary.txt` are copied from the reference pages
//! (without the prompt line); the other files are svcard's own layouts where the pages show
//! none (regenerate those with `SVCARD_BLESS=1`).

use std::net::IpAddr;

use svcard_control::commands::{parse, Command, SummaryForm};
use svcard_control::show::{
    FlowSession, FlowSessionText, IoFmt, Level, Names, ResourceInfo, Section, SessState,
    SessionCounts, SessionExtra, SessionsSummary, StaticNames,
};
use svcard_dataplane::flow::{Endpoint, FlowKey};
use svcard_dataplane::session::{bits, FlowView, SessionView};

fn golden(name: &str, got: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("SVCARD_BLESS").is_some() && !name.starts_with("rm-") {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    if got != want {
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            if g != w {
                panic!(
                    "{name}: line {} differs\n got: {g:?}\nwant: {w:?}\n--- got ---\n{got}",
                    i + 1
                );
            }
        }
        panic!(
            "{name}: lengths differ ({} vs {} bytes)\n--- got ---\n{got}",
            got.len(),
            want.len()
        );
    }
}

fn ep(addr: &str, port: u16) -> Endpoint {
    Endpoint {
        addr: addr.parse::<IpAddr>().unwrap(),
        port,
    }
}

/// A session view from the initiator's and responder's figures.
#[allow(clippy::too_many_arguments)]
fn view(
    id: u32,
    proto: u8,
    src: Endpoint,
    dst: Endpoint,
    ports: (u8, u8),
    counts: ((u64, u64), (u64, u64)),
    rule: u16,
    application: u16,
    timeouts: (u32, u32),
) -> SessionView {
    let (key, dir) = FlowKey::from_endpoints(proto, src, dst);
    let flow = |port: u8, (packets, bytes): (u64, u64)| FlowView {
        ingress_port: svcard_dataplane::session::PortId::from_stored(port),
        packets,
        bytes,
        ..FlowView::default()
    };
    SessionView {
        id,
        key,
        initiator: Some(dir),
        flows: [flow(ports.0, counts.0), flow(ports.1, counts.1)],
        rule,
        application,
        timeout_s: timeouts.0,
        remaining_s: timeouts.1,
        ..SessionView::default()
    }
}

// ---------------------------------------------------------------------------------------
// The resource-manager seed.

fn seed_names() -> StaticNames {
    StaticNames::new(
        &["ge-7/1/0.0", "ge-7/1/1.0"],
        &[("ss1", &["r1", "r2", "r3", "p1"])],
        &["junos-ftp-data", "junos-ftp"],
    )
}

fn seed_view(remaining: u32) -> SessionView {
    let mut v = view(
        410_000_664,
        6,
        ep("200.0.0.10", 41047),
        ep("60.0.0.2", 21),
        (0, 1),
        ((13, 586), (13, 803)),
        3,
        1,
        (1800, remaining),
    );
    v.start_s = 160_496;
    v.duration_s = 153;
    v
}

const FTP_ALG: ResourceInfo<'static> = ResourceInfo {
    client: "FTP ALG",
    group: 1,
    resource: 0,
};

fn seed_session(names: &StaticNames, remaining: u32) -> FlowSession<'_> {
    let extra = SessionExtra {
        cp_session_id: Some(410_001_274),
        resource: Some(FTP_ALG),
        state: None,
    };
    let mut s = FlowSession::from_view(&seed_view(remaining), names, extra);
    // Junos internals, as the seed shows them.
    s.flags = [0x42, 0x0, 0x201_0103];
    s.flows[0].session_token = 0x6;
    s.flows[1].session_token = 0x7;
    s.flows[0].flag = 0xc000_2621;
    s.flows[1].flag = 0xc000_2620;
    s.flows[0].route = 0x7_0010;
    s.flows[1].route = 0x8_0010;
    s
}

/// FPC10 PIC1 with the seed's session, PIC2 and PIC3 empty.
fn render_seed(line: &str, remaining: u32) -> String {
    let Command::ShowFlowSession(cmd) = parse(line).unwrap().command else {
        panic!("{line}")
    };
    assert!(cmd.resource_manager);
    let names = seed_names();
    let mut r = FlowSessionText::new(cmd.level, cmd.resource_manager);
    let mut out = String::new();
    for pic in 1..=3 {
        r.begin_section(&mut out, Section { fpc: 10, pic }).unwrap();
        let sessions: Vec<FlowSession<'_>> = if pic == 1 {
            vec![seed_session(&names, remaining)]
        } else {
            vec![]
        };
        if cmd.level == Level::Summary {
            assert_eq!(cmd.summary_form(), SummaryForm::Counts);
            let mut c = SessionCounts::default();
            for s in &sessions {
                c.add(s.state);
            }
            r.counts(&mut out, &c).unwrap();
        } else {
            for s in &sessions {
                r.session(&mut out, s).unwrap();
            }
            r.end_section(&mut out, sessions.len() as u64).unwrap();
        }
    }
    out
}

#[test]
fn resource_manager_default() {
    golden(
        "rm-default.txt",
        &render_seed("show security flow session resource-manager", 1734),
    );
}

#[test]
fn resource_manager_brief() {
    golden(
        "rm-brief.txt",
        &render_seed("show security flow session resource-manager brief", 1704),
    );
}

#[test]
fn resource_manager_extensive() {
    golden(
        "rm-extensive.txt",
        &render_seed(
            "show security flow session resource-manager extensive",
            1682,
        ),
    );
}

#[test]
fn resource_manager_summary() {
    golden(
        "rm-summary.txt",
        &render_seed("show security flow session resource-manager summary", 1682),
    );
}

#[test]
fn seed_session_model_and_elements() {
    let names = seed_names();
    let s = seed_session(&names, 1682);
    assert_eq!(s.policy.to_string(), "p1/4");
    assert_eq!(s.application_display().to_string(), "junos-ftp/1");
    assert_eq!(s.state, SessState::Valid);
    assert_eq!(s.flows[0].gateway.to_string(), "200.0.0.10");
    assert_eq!(s.flows[1].gateway.to_string(), "60.0.0.2");
    let e = s.to_elem(Level::Extensive, true);
    assert_eq!(e.name, "flow-session");
    assert_eq!(e.attrs, vec![("junos:style", "extensive".to_string())]);
    assert_eq!(
        e.child("session-identifier").unwrap().text.as_deref(),
        Some("410000664")
    );
    assert_eq!(e.child("policy").unwrap().text.as_deref(), Some("p1/4"));
    assert_eq!(
        e.child("sess-state").unwrap().text.as_deref(),
        Some("Valid")
    );
    let flows: Vec<_> = e
        .children
        .iter()
        .filter(|c| c.name == "flow-information")
        .collect();
    assert_eq!(flows.len(), 2);
    let leaf = |i: usize, n: &str| flows[i].child(n).unwrap().text.clone().unwrap();
    assert_eq!(leaf(0, "direction"), "In");
    assert_eq!(leaf(1, "source-address"), "60.0.0.2");
    assert_eq!(leaf(1, "protocol"), "tcp");
    assert_eq!(leaf(0, "interface-name"), "ge-7/1/0.0");
    assert_eq!(leaf(1, "byte-cnt"), "803");
    assert_eq!(leaf(0, "cp-session-id"), "410001274");
}

// ---------------------------------------------------------------------------------------
// junos-cli.md samples.

fn web_names() -> StaticNames {
    let rules = ["r1", "r2", "r3", "r4", "r5", "DST-TO-WEB"];
    StaticNames::new(
        &["ge-0/0/0.0", "ge-0/0/1.0"],
        &[("ss", &rules)],
        &["junos-http", "junos-dns-udp"],
    )
}

fn web_view() -> SessionView {
    view(
        111_929,
        6,
        ep("198.51.100.124", 19208),
        ep("192.0.2.80", 80),
        (0, 1),
        ((6, 1055), (8, 7524)),
        5,
        u16::MAX,
        (300, 298),
    )
}

#[test]
fn brief_sample() {
    let names = web_names();
    for line in [
        "show security flow session",
        "show security flow session brief",
    ] {
        let Command::ShowFlowSession(cmd) = parse(line).unwrap().command else {
            panic!("{line}")
        };
        let mut r = FlowSessionText::new(cmd.level, cmd.resource_manager);
        let mut out = String::new();
        r.begin_section(&mut out, Section { fpc: 0, pic: 1 })
            .unwrap();
        r.session(
            &mut out,
            &FlowSession::from_view(&web_view(), &names, SessionExtra::default()),
        )
        .unwrap();
        r.end_section(&mut out, 1).unwrap();
        golden("brief.txt", &out);
    }
}

fn sample_summary() -> SessionsSummary {
    SessionsSummary {
        unicast: 3231,
        in_use: 3680,
        valid: 3230,
        invalidated: 450,
        maximum: 4_194_304,
        ..SessionsSummary::default()
    }
}

#[test]
fn summary_sample() {
    let Command::ShowFlowSession(cmd) =
        parse("show security flow session summary").unwrap().command
    else {
        panic!("not a flow-session command")
    };
    assert_eq!(cmd.summary_form(), SummaryForm::Full);
    let mut r = FlowSessionText::new(cmd.level, false);
    let mut out = String::new();
    r.summary(&mut out, &sample_summary()).unwrap();
    golden("summary.txt", &out);
    let e = sample_summary().to_elem();
    assert_eq!(e.name, "flow-session-summary-information");
    assert_eq!(
        e.child("active-sessions").unwrap().text.as_deref(),
        Some("3680")
    );
    // The element names an SRX emits, in its order (what PyEZ tables and scripts read).
    let names: Vec<&str> = e.children.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "active-unicast-sessions",
            "active-multicast-sessions",
            "active-services-offload-sessions",
            "failed-sessions",
            "active-drop-sessions",
            "active-sessions",
            "active-session-valid",
            "active-session-pending",
            "active-session-invalidated",
            "active-session-other",
            "max-sessions",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// svcard's layouts where the pages show no sample.

/// Three sessions over two sections and an empty one: TCP without application, ICMP
/// (identifier in the port slot) marked for deletion, IPv6 UDP with an application and a
/// responder not seen yet.
fn mixed(names: &StaticNames) -> Vec<(Section, Vec<FlowSession<'_>>)> {
    let tcp = web_view();
    let mut icmp = view(
        33_554_434,
        1,
        ep("10.0.0.1", 4660),
        ep("10.0.0.2", 4660),
        (0, 1),
        ((3, 252), (3, 252)),
        5,
        u16::MAX,
        (60, 58),
    );
    icmp.start_s = 1000;
    icmp.duration_s = 2;
    icmp.bits |= bits::CLEARING;
    let mut v6 = view(
        67_108_865,
        17,
        ep("2001:db8::10", 5353),
        ep("2001:db8:0:1::53", 53),
        (1, u8::MAX),
        ((1, 90), (0, 0)),
        5,
        1,
        (60, 60),
    );
    v6.worker = svcard_dataplane::session::WorkerId(1);
    let extra = SessionExtra::default();
    vec![
        (
            Section { fpc: 0, pic: 0 },
            vec![
                FlowSession::from_view(&tcp, names, extra),
                FlowSession::from_view(&icmp, names, extra),
            ],
        ),
        (
            Section { fpc: 0, pic: 1 },
            vec![FlowSession::from_view(&v6, names, extra)],
        ),
        (Section { fpc: 0, pic: 2 }, vec![]),
    ]
}

fn render_mixed(level: Level) -> String {
    let names = web_names();
    let mut r = FlowSessionText::new(level, false);
    let mut out = IoFmt::new(Vec::new());
    for (section, sessions) in mixed(&names) {
        r.begin_section(&mut out, section).unwrap();
        for s in &sessions {
            r.session(&mut out, s).unwrap();
        }
        r.end_section(&mut out, sessions.len() as u64).unwrap();
    }
    String::from_utf8(out.into_inner()).unwrap()
}

#[test]
fn brief_mixed() {
    golden("brief-mixed.txt", &render_mixed(Level::Brief));
}

#[test]
fn extensive_mixed() {
    golden("extensive-mixed.txt", &render_mixed(Level::Extensive));
}

#[test]
fn unsectioned_sessions_are_separated_by_blank_lines() {
    let names = web_names();
    let mut r = FlowSessionText::new(Level::Default, false);
    let mut out = String::new();
    let sessions = mixed(&names).remove(0).1;
    for s in &sessions {
        r.session(&mut out, s).unwrap();
    }
    r.end_section(&mut out, 2).unwrap();
    assert!(out.starts_with("Session ID: 111929,"));
    assert!(out
        .contains(",\n\nSession ID: 33554434, Policy name: DST-TO-WEB/6, Timeout: 58, Invalid\n"));
    assert!(out.ends_with(",\nTotal sessions: 2\n"));
}

#[test]
fn summary_sections() {
    let mut r = FlowSessionText::new(Level::Summary, false);
    let mut out = String::new();
    r.begin_section(&mut out, Section { fpc: 0, pic: 0 })
        .unwrap();
    r.summary(&mut out, &sample_summary()).unwrap();
    r.begin_section(&mut out, Section { fpc: 0, pic: 1 })
        .unwrap();
    r.summary(
        &mut out,
        &SessionsSummary {
            maximum: 4_194_304,
            ..SessionsSummary::default()
        },
    )
    .unwrap();
    r.begin_section(&mut out, Section { fpc: 0, pic: 2 })
        .unwrap();
    r.counts(
        &mut out,
        &SessionCounts {
            valid: 2,
            pending: 1,
            invalidated: 0,
            other: 0,
            total: 3,
        },
    )
    .unwrap();
    golden("summary-sections.txt", &out);
}

#[test]
fn unknown_names_and_missing_application() {
    let names = StaticNames::default();
    let v = web_view();
    let s = FlowSession::from_view(
        &v,
        &names,
        SessionExtra {
            state: Some(SessState::Pending),
            ..SessionExtra::default()
        },
    );
    assert_eq!(s.policy.to_string(), "N/A/6");
    assert_eq!(s.application_display().to_string(), "none/0");
    assert_eq!(s.flows[0].interface, "N/A");
    let mut out = String::new();
    FlowSessionText::new(Level::Brief, false)
        .session(&mut out, &s)
        .unwrap();
    assert!(
        out.starts_with("Session ID: 111929, Policy name: N/A/6, Timeout: 298, Pending\n"),
        "{out}"
    );
    assert_eq!(Names::protocol_name(&names, 250), None);
}

#[test]
fn many_sessions_stream_without_being_held() {
    // The renderer keeps no sessions: write 100000 into a sink that only counts.
    struct Count(usize, usize);
    impl core::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.0 += s.len();
            self.1 += s.bytes().filter(|&b| b == b'\n').count();
            Ok(())
        }
    }
    let names = web_names();
    let mut v = web_view();
    let mut r = FlowSessionText::new(Level::Brief, false);
    let mut sink = Count(0, 0);
    r.begin_section(&mut sink, Section { fpc: 0, pic: 1 })
        .unwrap();
    for i in 0..100_000u32 {
        v.id = i + 1;
        r.session(
            &mut sink,
            &FlowSession::from_view(&v, &names, SessionExtra::default()),
        )
        .unwrap();
    }
    r.end_section(&mut sink, 100_000).unwrap();
    assert_eq!(sink.1, 1 + 4 * 100_000 + 1);
}
