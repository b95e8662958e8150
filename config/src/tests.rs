use super::*;
use std::net::IpAddr;
use std::path::Path;

fn text(lines: &[&str]) -> String {
    lines.join("\n") + "\n"
}

fn parse(lines: &[&str]) -> Config {
    match Config::from_toml_str(&text(lines), Path::new("t.toml")) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// Parses `lines`, expects an error on `line` about `field` whose message contains `msg`.
#[track_caller]
fn fails(lines: &[&str], line: usize, field: &str, msg: &str) -> ConfigError {
    let e = Config::from_toml_str(&text(lines), Path::new("t.toml"))
        .expect_err("config should not validate");
    assert_eq!((e.line, e.field.as_str()), (line, field), "{e}");
    assert!(e.message.contains(msg), "{e}");
    e
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const PORTS: &[&str] = &[
    "[[port]]",                    // 1
    "name = \"ge-0/0/0.0\"",       // 2
    "pcap-rx = \"in.pcap\"",       // 3
    "peer = \"ge-0/0/1.0\"",       // 4
    "[[port]]",                    // 5
    "name = \"ge-0/0/1.0\"",       // 6
    "pcap-tx = \"/tmp/out.pcap\"", // 7
    "peer = \"ge-0/0/0.0\"",       // 8
];

fn with_ports(rest: &[&str]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = PORTS.to_vec();
    for l in rest {
        v.push(Box::leak(l.to_string().into_boxed_str()));
    }
    v
}

// ---------------------------------------------------------------------------------------
// Defaults, the example, structure.

#[test]
fn empty_config_has_the_defaults() {
    let c = parse(&[]);
    assert_eq!(c.card, Card::default());
    assert_eq!(c.workers.count, 1);
    assert_eq!(c.workers.burst, 64);
    assert_eq!(c.dpdk.mbufs, 8191);
    assert_eq!(c.dpdk.eal_args[0], "--no-huge");
    assert_eq!(c.timeouts, Timeouts::default());
    assert_eq!(c.limits.max_sessions, 1_048_576);
    assert_eq!(c.limits.max_sessions_per_worker, None);
    assert_eq!(c.max_sessions_per_worker(), 1_048_576);
    assert_eq!(c.limits.at_limit, LimitPolicy::Drop);
    assert!(c.ports.is_empty() && c.service_sets.is_empty());
    assert_eq!(c.member_interface(WorkerId(3)), "mams-5/0/3");
    for k in AlgKind::ALL {
        assert!(c.algs[k].enabled);
    }
    let ftp = c.application_index("junos-ftp").unwrap();
    assert_eq!(c.alg_enabled(ftp), Some(AlgKind::Ftp));
    assert_eq!(c.lookup_application(6, 21), ftp);
    assert_eq!(c.lookup_application(6, 9), NONE);
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/svcard.toml")
}

#[test]
fn the_shipped_example_parses_and_classifies_the_sample() {
    let path = example_path();
    let c = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let dir = path.parent().unwrap();
    assert_eq!(c.ports.len(), 2);
    assert_eq!(c.ports[0].name, "ge-0/0/0.0");
    assert_eq!(
        c.ports[0].pcap_rx.as_deref(),
        Some(&*dir.join("sample-client.pcap"))
    );
    assert_eq!(
        c.ports[1].pcap_rx.as_deref(),
        Some(&*dir.join("sample-server.pcap"))
    );
    assert_eq!(
        c.ports[1].pcap_tx.as_deref(),
        Some(&*dir.join("out-ge-0-0-1.pcap"))
    );
    assert_eq!((c.ports[0].peer, c.ports[1].peer), (1, 0));
    assert_eq!(c.service_sets.len(), 1);
    let ss = &c.service_sets[0];
    assert_eq!(ss.ports, vec![0, 1]);
    assert_eq!(ss.rules[0].index, 1);

    let v = |proto, s: &str, sp, d: &str, dp| c.classify(0, proto, ip(s), sp, ip(d), dp);
    let app = |n: &str| c.application_index(n).unwrap();
    // Web: accepted by p3, application junos-http (redefined: 300 s).
    let w = v(6, "10.0.0.5", 40000, "192.0.2.10", 80);
    assert_eq!(
        (w.service_set, w.rule, w.action),
        (0, 2, RuleAction::Accept)
    );
    assert_eq!(w.application, app("junos-http"));
    assert_eq!(
        c.idle_timeout(0, w.application, TimeoutClass::TcpEstablished),
        300
    );
    // FTP control: p4, junos-ftp, ALG on.
    let f = v(6, "10.0.0.5", 40001, "192.0.2.21", 21);
    assert_eq!((f.rule, f.action), (3, RuleAction::Accept));
    assert_eq!(c.alg_enabled(f.application), Some(AlgKind::Ftp));
    // DNS.
    let d = v(17, "10.0.0.5", 5353, "192.0.2.53", 53);
    assert_eq!((d.rule, d.action), (3, RuleAction::Accept));
    assert_eq!(d.application, app("junos-dns-udp"));
    assert_eq!(c.idle_timeout(0, d.application, TimeoutClass::Udp), 30);
    // UDP 9999: discarded by p1.
    let x = v(17, "10.0.0.5", 1234, "198.51.100.9", 9999);
    assert_eq!((x.rule, x.action), (0, RuleAction::Discard));
    // Telnet to 198.51.100.7: rejected by p2.
    let t = v(6, "10.0.0.5", 1234, "198.51.100.7", 23);
    assert_eq!((t.rule, t.action), (1, RuleAction::Reject));
    // Ping.
    let p = v(1, "10.0.0.1", 0, "192.0.2.1", 0);
    assert_eq!((p.rule, p.action), (4, RuleAction::Accept));
    assert_eq!(c.alg_enabled(p.application), Some(AlgKind::Icmp));
    // IPv6 UDP.
    let s = v(17, "2001:db8:1::5", 1000, "2001:db8:2::9", 4000);
    assert_eq!((s.rule, s.action), (5, RuleAction::Accept));
    // Anything else: default discard. The reply direction arrives on port 1.
    let o = c.classify(1, 6, ip("192.0.2.10"), 80, ip("10.0.0.5"), 40000);
    assert_eq!((o.rule, o.action), (NONE, RuleAction::Discard));
    // SIP switched off.
    assert_eq!(c.alg_enabled(app("junos-sip")), None);
    assert_eq!(c.algs[AlgKind::Ftp].timeout, Some(120));
    // ftp-alt turns on the FTP ALG on 2121.
    let a = v(6, "10.0.0.5", 40002, "192.0.2.21", 2121);
    assert_eq!(a.application, app("ftp-alt"));
    assert_eq!(c.alg_enabled(a.application), Some(AlgKind::Ftp));
}

#[test]
fn relative_pcap_paths_resolve_against_the_config_directory() {
    let c = Config::from_toml_str(&text(PORTS), Path::new("/etc/svcard/x.toml")).unwrap();
    assert_eq!(
        c.ports[0].pcap_rx.as_deref(),
        Some(Path::new("/etc/svcard/in.pcap"))
    );
    assert_eq!(
        c.ports[1].pcap_tx.as_deref(),
        Some(Path::new("/tmp/out.pcap"))
    );
    let c = Config::from_toml_str(&text(PORTS), Path::new("x.toml")).unwrap();
    assert_eq!(c.ports[0].pcap_rx.as_deref(), Some(Path::new("in.pcap")));
}

#[test]
fn card_workers_dpdk_and_limits() {
    let c = parse(&[
        "[card]",
        "fpc = 5",
        "pic-base = 1",
        "bundle = \"ams1\"",
        "member-prefix = \"ms-5/1/\"",
        "hostname = \"mx1\"",
        "[workers]",
        "count = 3",
        "cores = [2, 3, 4]",
        "control-core = 1",
        "burst = 64",
        "[dpdk]",
        "eal-args = [\"--no-huge\"]",
        "mbufs = 16383",
        "[limits]",
        "max-sessions = 1000",
        "setup-rate = 5000",
        "at-limit = \"bypass\"",
    ]);
    assert_eq!((c.card.fpc, c.pic(WorkerId(2))), (5, 3));
    assert_eq!(c.member_interface(WorkerId(1)), "ms-5/1/1");
    assert_eq!(c.card.hostname, "mx1");
    assert_eq!(c.workers.cores, vec![2, 3, 4]);
    assert_eq!(c.workers.control_core, Some(1));
    assert_eq!(c.dpdk.eal_args, vec!["--no-huge".to_string()]);
    assert_eq!(c.limits.max_sessions_per_worker, None);
    assert_eq!(c.max_sessions_per_worker(), 334);
    assert_eq!(c.limits.setup_rate, Some(5000));
    assert_eq!(c.limits.at_limit, LimitPolicy::Bypass);
}

// ---------------------------------------------------------------------------------------
// Classification.

#[test]
fn rules_in_order_then_default_action_and_ports_outside_service_sets() {
    let c = parse(&with_ports(&[
        "[[port]]",
        "name = \"xe-1/0/0\"",
        "dpdk = \"net_null0\"",
        "peer = \"xe-1/0/1\"",
        "[[port]]",
        "name = \"xe-1/0/1\"",
        "dpdk = \"net_null1\"",
        "peer = \"xe-1/0/0\"",
        "[[service-set]]",
        "name = \"ss1\"",
        "ports = \"ge-0/0/0.0\"",
        "default-action = \"reject\"",
        "[[service-set.rule]]",
        "name = \"a\"",
        "source-port = \"1000-2000\"",
        "action = \"discard\"",
        "[[service-set.rule]]",
        "name = \"b\"",
        "protocol = 6",
        "action = \"accept\"",
    ]));
    let any = ip("1.2.3.4");
    let v = c.classify(0, 6, any, 1500, any, 21);
    assert_eq!(
        (v.service_set, v.rule, v.action),
        (0, 0, RuleAction::Discard)
    );
    assert_eq!(v.application, c.application_index("junos-ftp").unwrap());
    let v = c.classify(0, 6, any, 999, any, 21);
    assert_eq!((v.rule, v.action), (1, RuleAction::Accept));
    let v = c.classify(0, 17, any, 999, any, 53);
    assert_eq!((v.rule, v.action), (NONE, RuleAction::Reject));
    assert_eq!(v.application, c.application_index("junos-dns-udp").unwrap());
    // Port 1 is in no service set.
    let v = c.classify(1, 17, any, 999, any, 69);
    assert_eq!(
        (v.service_set, v.rule, v.action),
        (NONE, NONE, RuleAction::Accept)
    );
    assert_eq!(v.application, c.application_index("junos-tftp").unwrap());
    assert_eq!(c.port_service_set(1), NONE);
    assert_eq!(c.port_index("xe-1/0/1"), Some(3));
    assert_eq!(c.service_set_index("ss1"), Some(0));
    assert_eq!(c.service_set_index("nope"), None);
    // An unknown port index behaves as a port in no service set.
    assert_eq!(c.classify(99, 6, any, 1, any, 2).service_set, NONE);
}

#[test]
fn prefixes_and_applications_condition_rules() {
    let c = parse(&with_ports(&[
        "[[service-set]]",
        "name = \"ss1\"",
        "ports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]",
        "[[service-set.rule]]",
        "name = \"v4\"",
        "source = [\"10.0.0.0/8\", \"172.16.0.0/12\"]",
        "destination = \"192.0.2.0/24\"",
        "application = [\"junos-http\", \"junos-ftp\"]",
        "action = \"accept\"",
        "[[service-set.rule]]",
        "name = \"v6\"",
        "destination = [\"2001:db8::/32\"]",
        "action = \"reject\"",
    ]));
    let v = c.classify(1, 6, ip("172.20.0.1"), 5, ip("192.0.2.9"), 21);
    assert_eq!((v.rule, v.action), (0, RuleAction::Accept));
    assert_eq!(v.application, c.application_index("junos-ftp").unwrap());
    // Not one of the rule's applications.
    let v = c.classify(1, 6, ip("172.20.0.1"), 5, ip("192.0.2.9"), 22);
    assert_eq!((v.rule, v.action), (NONE, RuleAction::Discard));
    assert_eq!(v.application, c.application_index("junos-ssh").unwrap());
    // Source outside.
    let v = c.classify(0, 6, ip("11.0.0.1"), 5, ip("192.0.2.9"), 80);
    assert_eq!(v.rule, NONE);
    // IPv6 never matches IPv4 prefixes.
    let v = c.classify(0, 17, ip("2001:db8::1"), 5, ip("2001:db8::2"), 80);
    assert_eq!((v.rule, v.action), (1, RuleAction::Reject));
}

#[test]
fn catalogue_lookup_prefers_narrow_ranges_and_own_entries() {
    let c = parse(&[
        "[[application]]",
        "name = \"wide\"",
        "protocol = \"tcp\"",
        "destination-port = \"1-30000\"",
        "[[application]]",
        "name = \"web2\"",
        "protocol = \"tcp\"",
        "destination-port = 80",
        "[[application]]",
        "name = \"gre-mine\"",
        "protocol = \"gre\"",
        "[[application]]",
        "name = \"junos-tftp\"",
        "protocol = \"udp\"",
        "destination-port = 6969",
        "alg = \"tftp\"",
        "inactivity-timeout = 7",
    ]);
    let idx = |n| c.application_index(n).unwrap();
    assert_eq!(c.lookup_application(6, 21), idx("junos-ftp"));
    assert_eq!(c.lookup_application(6, 80), idx("web2"));
    assert_eq!(c.lookup_application(6, 81), idx("wide"));
    assert_eq!(c.lookup_application(6, 30001), NONE);
    assert_eq!(c.lookup_application(47, 0), idx("gre-mine"));
    assert_eq!(c.lookup_application(1, 0), idx("junos-icmp-all"));
    // A redefined built-in keeps its index and drops its old port.
    assert_eq!(idx("junos-tftp"), 1);
    assert_eq!(c.lookup_application(17, 69), NONE);
    assert_eq!(c.lookup_application(17, 6969), idx("junos-tftp"));
    assert!(!c.applications[1].builtin);
    assert_eq!(c.idle_timeout(NONE, 1, TimeoutClass::Udp), 7);
}

#[test]
fn alg_switches_and_port_overrides() {
    let c = parse(&[
        "[alg.ftp]",
        "ports = [2121, \"21\"]",
        "max-conversations = 10",
        "[alg.sip]",
        "enabled = false",
        "[alg.rpc-portmap]",
        "max-pinholes-per-conversation = 4",
    ]);
    let ftp = c.application_index("junos-ftp").unwrap();
    let sip = c.application_index("junos-sip").unwrap();
    assert_eq!(c.lookup_application(6, 2121), ftp);
    assert_eq!(c.lookup_application(6, 21), ftp);
    assert!(c.application_matches(ftp, 6, 2121));
    assert!(!c.application_matches(ftp, 17, 2121));
    assert_eq!(c.lookup_application(17, 5060), sip);
    assert_eq!(c.alg_enabled(sip), None);
    assert_eq!(c.alg_enabled(ftp), Some(AlgKind::Ftp));
    assert_eq!(c.alg_enabled(NONE), None);
    assert_eq!(
        c.alg_enabled(c.application_index("junos-http").unwrap()),
        None
    );
    assert_eq!(c.algs[AlgKind::Ftp].max_conversations, Some(10));
    assert_eq!(
        c.algs[AlgKind::RpcPortmap].max_pinholes_per_conversation,
        Some(4)
    );
    // Override replaces: 21 only because it is listed.
    let c = parse(&["[alg.ftp]", "ports = [2121]"]);
    assert_eq!(c.lookup_application(6, 21), NONE);
}

#[test]
fn sip_call_timers() {
    let c = parse(&[
        "[alg.sip]",
        "t1-interval = 1000",
        "maximum-call-duration = 30",
        "max-dialogs = 64",
    ]);
    let s = &c.algs[AlgKind::Sip];
    assert_eq!(
        (s.sip_t1_ms, s.sip_max_call_min, s.sip_max_dialogs),
        (Some(1000), Some(30), Some(64))
    );
    let tcp = c.application_index("junos-sip-tcp").unwrap();
    assert_eq!(c.lookup_application(6, 5060), tcp);
    assert_eq!(c.alg_enabled(tcp), Some(AlgKind::Sip));
    fails(
        &["[alg.sip]", "t1-interval = 100"],
        2,
        "alg.sip.t1-interval",
        "500",
    );
    let c = parse(&["[alg.sql]", "loose = true"]);
    assert!(c.algs[AlgKind::Sqlnet].loose);
    fails(
        &["[alg.dns]", "loose = true"],
        2,
        "alg.dns.loose",
        "no loose mode",
    );
    fails(
        &["[alg.ftp]", "max-dialogs = 10"],
        2,
        "alg.ftp.max-dialogs",
        "only the sip ALG",
    );
}

#[test]
fn idle_timeout_precedence() {
    let c = parse(&with_ports(&[
        "[timeouts]",
        "udp = 100",
        "tcp-established = 1000",
        "lifetime = 3600",
        "[[application]]",
        "name = \"slow\"",
        "protocol = \"udp\"",
        "destination-port = 7000",
        "inactivity-timeout = 9",
        "[[service-set]]",
        "name = \"ss1\"",
        "[service-set.timeouts]",
        "udp = 50",
        "tcp-syn = 5",
        "lifetime = 0",
    ]));
    let slow = c.application_index("slow").unwrap();
    let http = c.application_index("junos-http").unwrap();
    assert_eq!(c.idle_timeout(0, slow, TimeoutClass::Udp), 9);
    assert_eq!(c.idle_timeout(0, http, TimeoutClass::Udp), 50);
    assert_eq!(c.idle_timeout(NONE, NONE, TimeoutClass::Udp), 100);
    assert_eq!(c.idle_timeout(0, NONE, TimeoutClass::TcpSyn), 5);
    assert_eq!(c.idle_timeout(0, NONE, TimeoutClass::TcpEstablished), 1000);
    assert_eq!(c.idle_timeout(0, NONE, TimeoutClass::TcpClosing), 2);
    assert_eq!(c.idle_timeout(0, NONE, TimeoutClass::Icmp), 60);
    // The application's timeout does not stretch the handshake.
    assert_eq!(c.idle_timeout(0, slow, TimeoutClass::TcpSyn), 5);
    assert_eq!((c.lifetime(0), c.lifetime(NONE)), (0, 3600));
}

// ---------------------------------------------------------------------------------------
// Errors: each names file, line and field.

#[test]
fn error_display_names_file_line_and_field() {
    let e = fails(
        &with_ports(&[
            "[[service-set]]",                        // 9
            "name = \"ss1\"",                         // 10
            "[[service-set.rule]]",                   // 11
            "name = \"p1\"",                          // 12
            "destination-port = [\"21\", \"70000\"]", // 13
            "action = \"accept\"",                    // 14
        ]),
        13,
        "service-set[0].rule[0].destination-port",
        "'70000' is not a port (0-65535)",
    );
    assert_eq!(
        e.to_string(),
        "t.toml:13: service-set[0].rule[0].destination-port: '70000' is not a port (0-65535)"
    );
    fails(
        &with_ports(&[
            "[[service-set]]",
            "name = \"ss1\"",
            "[[service-set.rule]]",
            "name = \"p1\"",
            "source-port = 65536",
            "action = \"accept\"",
        ]),
        13,
        "service-set[0].rule[0].source-port",
        "'65536' is not a port",
    );
    fails(
        &with_ports(&[
            "[[service-set]]",
            "name = \"ss1\"",
            "[[service-set.rule]]",
            "name = \"p1\"",
            "destination-port = \"90-80\"",
            "action = \"accept\"",
        ]),
        13,
        "service-set[0].rule[0].destination-port",
        "'90-80' is not a port range",
    );
}

#[test]
fn syntax_errors_give_the_line_toml_reports() {
    let e = fails(
        &["[card]", "fpc = 0", "", "[workers]", "count = = 2"],
        5,
        "",
        "",
    );
    assert!(e.to_string().starts_with("t.toml:5: "), "{e}");
    fails(&["[card]", "fpc = 0", "fpc = 1"], 3, "", "duplicate key");
}

#[test]
fn unknown_fields_are_errors_at_the_key() {
    fails(&["", "[cards]", "fpc = 0"], 2, "cards", "unknown field");
    fails(
        &["[card]", "fpc = 0", "fcp = 1"],
        3,
        "card.fcp",
        "expected one of",
    );
    let e = fails(
        &with_ports(&[
            "[[service-set]]",        // 9
            "name = \"ss1\"",         // 10
            "[[service-set.rule]]",   // 11
            "name = \"p1\"",          // 12
            "action = \"accept\"",    // 13
            "destination-ports = 80", // 14
            "zzz = 1",                // 15
        ]),
        14,
        "service-set[0].rule[0].destination-ports",
        "unknown field",
    );
    assert!(e.message.contains("destination-port"), "{e}");
    fails(
        &["[[port]]", "name = \"ge-0/0/0.0\"", "device = \"x\""],
        3,
        "port[0].device",
        "unknown field",
    );
    fails(
        &["[alg.sipp]", "enabled = false"],
        1,
        "alg.sipp",
        "unknown field",
    );
    fails(
        &["[alg.sip]", "enable = false"],
        2,
        "alg.sip.enable",
        "unknown field",
    );
}

#[test]
fn missing_required_fields_name_the_table_line() {
    fails(
        &["[card]", "", "[[port]]", "pcap-rx = \"a\"", "peer = \"x\""],
        3,
        "port[0].name",
        "missing required field",
    );
    fails(
        &with_ports(&[
            "[[service-set]]",      // 9
            "name = \"ss1\"",       // 10
            "[[service-set.rule]]", // 11
            "name = \"p1\"",        // 12
        ]),
        11,
        "service-set[0].rule[0].action",
        "missing required field",
    );
    fails(
        &["[[application]]", "name = \"x\""],
        1,
        "application[0].protocol",
        "missing required field",
    );
}

#[test]
fn bad_values() {
    let rule = |l: &'static str| {
        with_ports(&[
            "[[service-set]]",      // 9
            "name = \"ss1\"",       // 10
            "[[service-set.rule]]", // 11
            "name = \"p1\"",        // 12
            "action = \"accept\"",  // 13
            l,                      // 14
        ])
    };
    fails(
        &rule("source = [\"10.0.0.0/8\", \"10.0.0.0/33\"]"),
        14,
        "service-set[0].rule[0].source",
        "'10.0.0.0/33' is not a prefix: invalid prefix length '33'",
    );
    fails(
        &rule("destination = \"10.0.0/8\""),
        14,
        "service-set[0].rule[0].destination",
        "is not a prefix: invalid address",
    );
    fails(
        &rule("protocol = \"tcpp\""),
        14,
        "service-set[0].rule[0].protocol",
        "'tcpp' is not an IP protocol",
    );
    fails(
        &rule("protocol = 256"),
        14,
        "service-set[0].rule[0].protocol",
        "'256' is not an IP protocol",
    );
    fails(
        &rule("application = [\"junos-http\", \"junos-ftpp\"]"),
        14,
        "service-set[0].rule[0].application",
        "unknown application 'junos-ftpp'",
    );
    fails(
        &with_ports(&[
            "[[service-set]]",
            "name = \"ss1\"",
            "[[service-set.rule]]",
            "name = \"p1\"",
            "action = \"permit\"",
        ]),
        13,
        "service-set[0].rule[0].action",
        "'permit' is not an action (accept, discard or reject)",
    );
    fails(
        &with_ports(&["[[service-set]]", "name = \"ss1\"", "default-action = 1"]),
        11,
        "service-set[0].default-action",
        "expected a string, found integer",
    );
    fails(
        &["[workers]", "count = \"2\""],
        2,
        "workers.count",
        "expected an integer",
    );
    fails(
        &["[workers]", "count = 0"],
        2,
        "workers.count",
        "'0' is out of range (1-1024)",
    );
    fails(
        &["[workers]", "count = 2", "cores = [1]"],
        3,
        "workers.cores",
        "1 cores for 2 workers",
    );
    fails(
        &["[workers]", "burst = 65"],
        2,
        "workers.burst",
        "'65' is out of range (1-64)",
    );
    fails(&["[card]", "fpc = 300"], 2, "card.fpc", "out of range");
    fails(
        &["[limits]", "at-limit = \"open\""],
        2,
        "limits.at-limit",
        "drop or bypass",
    );
    fails(
        &["[timeouts]", "", "udp = 0"],
        3,
        "timeouts.udp",
        "out of range",
    );
    fails(
        &["[alg.ftp]", "enabled = 1"],
        2,
        "alg.ftp.enabled",
        "expected true or false",
    );
    fails(
        &["[alg.rpc]", "ports = [111]"],
        2,
        "alg.rpc.ports",
        "no application with ports uses the rpc ALG",
    );
    fails(
        &[
            "[[application]]",
            "name = \"a\"",
            "protocol = \"tcp\"",
            "alg = \"ftpp\"",
        ],
        4,
        "application[0].alg",
        "unknown ALG 'ftpp'",
    );
    fails(
        &[
            "[[application]]",
            "name = \"a\"",
            "protocol = \"icmp\"",
            "destination-port = 5",
        ],
        4,
        "application[0].destination-port",
        "has no ports",
    );
    fails(
        &[
            "[[application]]",
            "name = \"a\"",
            "protocol = \"tcp\"",
            "[[application]]",
            "name = \"a\"",
            "protocol = \"udp\"",
        ],
        5,
        "application[1].name",
        "duplicate application 'a' (first defined on line 2)",
    );
    fails(
        &["[port]", "name = \"x\""],
        1,
        "port",
        "expected an array of tables",
    );
    fails(
        &with_ports(&[
            "[[service-set]]",
            "name = \"ss1\"",
            "max-sessions = 2000000",
        ]),
        11,
        "service-set[0].max-sessions",
        "out of range (1-1048576)",
    );
}

#[test]
fn port_errors() {
    // Bad interface name.
    fails(
        &[
            "[[port]]",
            "name = \"eth0/1\"",
            "pcap-rx = \"a\"",
            "peer = \"x\"",
        ],
        2,
        "port[0].name",
        "'eth0/1' is not an interface name like ge-0/0/0.0",
    );
    // Duplicate name.
    let mut dup = PORTS.to_vec();
    dup[5] = "name = \"ge-0/0/0.0\"";
    fails(
        &dup,
        6,
        "port[1].name",
        "duplicate port name 'ge-0/0/0.0' (first defined on line 2)",
    );
    // No device.
    fails(
        &["", "[[port]]", "name = \"ge-0/0/0.0\"", "peer = \"x\""],
        2,
        "port[0]",
        "has no device",
    );
    // Unknown peer.
    let mut unk = PORTS.to_vec();
    unk[7] = "peer = \"ge-0/0/9.0\"";
    fails(&unk, 8, "port[1].peer", "unknown port 'ge-0/0/9.0'");
    // Self peer.
    let mut own = PORTS.to_vec();
    own[3] = "peer = \"ge-0/0/0.0\"";
    fails(&own, 4, "port[0].peer", "cannot peer itself");
    // Asymmetric: 0 → 1, 1 → 2, 2 → 1.
    let asym = text(&[
        "[[port]]",              // 1
        "name = \"ge-0/0/0.0\"", // 2
        "dpdk = \"net_null0\"",  // 3
        "peer = \"ge-0/0/1.0\"", // 4
        "[[port]]",              // 5
        "name = \"ge-0/0/1.0\"", // 6
        "dpdk = \"net_null1\"",  // 7
        "peer = \"ge-0/0/2.0\"", // 8
        "[[port]]",              // 9
        "name = \"ge-0/0/2.0\"", // 10
        "dpdk = \"net_null2\"",  // 11
        "peer = \"ge-0/0/1.0\"", // 12
    ]);
    let e = Config::from_toml_str(&asym, Path::new("t.toml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.toml:4: port[0].peer: 'ge-0/0/0.0' peers 'ge-0/0/1.0' but 'ge-0/0/1.0' peers \
         'ge-0/0/2.0' (pairing must be symmetric)"
    );
}

#[test]
fn service_set_errors() {
    fails(
        &with_ports(&[
            "[[service-set]]",                          // 9
            "name = \"ss1\"",                           // 10
            "ports = [\"ge-0/0/0.0\", \"ge-0/0/7.0\"]", // 11
        ]),
        11,
        "service-set[0].ports",
        "unknown port 'ge-0/0/7.0'",
    );
    fails(
        &with_ports(&[
            "[[service-set]]",          // 9
            "name = \"ss1\"",           // 10
            "ports = [\"ge-0/0/0.0\"]", // 11
            "[[service-set]]",          // 12
            "name = \"ss2\"",           // 13
            "ports = [\"ge-0/0/1.0\",", // 14
            "  \"ge-0/0/0.0\"]",        // 15
        ]),
        15,
        "service-set[1].ports",
        "port 'ge-0/0/0.0' is already in service set 'ss1'",
    );
    fails(
        &with_ports(&[
            "[[service-set]]",
            "name = \"ss1\"",
            "ports = [\"ge-0/0/0.0\", \"ge-0/0/0.0\"]",
        ]),
        11,
        "service-set[0].ports",
        "listed twice",
    );
    fails(
        &with_ports(&[
            "[[service-set]]", // 9
            "name = \"ss1\"",  // 10
            "[[service-set]]", // 11
            "name = \"ss1\"",  // 12
        ]),
        12,
        "service-set[1].name",
        "duplicate service set 'ss1' (first defined on line 10)",
    );
    fails(
        &with_ports(&[
            "[[service-set]]",
            "name = \"ss1\"",
            "[[service-set.rule]]",
            "name = \"p1\"",
            "action = \"accept\"",
            "[[service-set.rule]]",
            "name = \"p1\"",
            "action = \"accept\"",
        ]),
        15,
        "service-set[0].rule[1].name",
        "duplicate rule 'p1'",
    );
    fails(
        &with_ports(&["[[service-set]]", "name = \"ss 1\""]),
        10,
        "service-set[0].name",
        "without spaces",
    );
}

#[test]
fn load_reports_unreadable_files() {
    let e = Config::load(Path::new("/nonexistent/svcard.toml")).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/svcard.toml: cannot read:"),
        "{e}"
    );
}

#[test]
fn more_ports_than_a_session_can_name_are_refused() {
    // 256 ports in pairs: the 256th is one too many (a session records its port in a byte).
    let mut lines: Vec<String> = Vec::new();
    for i in 0..=MAX_PORTS {
        let peer = i ^ 1;
        lines.push("[[port]]".into());
        lines.push(format!("name = \"ge-0/0/{i}.0\""));
        lines.push("pcap-tx = \"out.pcap\"".into());
        lines.push(format!("peer = \"ge-0/0/{peer}.0\""));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    fails(
        &refs,
        4 * MAX_PORTS + 2,
        "port[255].name",
        "too many ports (at most 255)",
    );
    // 254 ports (127 pairs) are fine.
    let ok: Vec<&str> = refs[..4 * 254].to_vec();
    assert_eq!(parse(&ok).ports.len(), 254);
}

// ---------------------------------------------------------------------------------------
// Offload: the card's settings, service-set policies, per-application overrides.

#[test]
fn offload_defaults_and_settings() {
    let c = parse(&[]);
    assert_eq!(c.offload, Offload::default());
    assert!(!c.offload_enabled());
    assert_eq!(c.offload.model.preset, "generic");
    let c = parse(&[
        "[offload]",
        "backend = \"rte-flow\"",
        "max-sessions = 5000",
        "insert-budget = 20000",
        "counter-interval-ms = 250",
        "[offload.model]",
        "preset = \"e810\"",
        "capacity = 1000",
        "refuse-every = 7",
    ]);
    assert_eq!(c.offload.backend, OffloadBackendKind::RteFlow);
    assert_eq!(c.offload.max_sessions, Some(5000));
    assert_eq!(c.offload.insert_budget, Some(20000));
    assert_eq!(c.offload.counter_interval_ms, 250);
    let e810 = ModelSettings::preset("e810").unwrap();
    assert_eq!(c.offload.model.preset, "e810");
    assert_eq!(c.offload.model.capacity, 1000);
    assert_eq!(c.offload.model.insert_rate, e810.insert_rate);
    assert_eq!(c.offload.model.refuse_every, 7);
}

#[test]
fn offload_policies_per_service_set_and_application() {
    let c = parse(&with_ports(&[
        "[[service-set]]",                          // 9
        "name = \"ss1\"",                           // 10
        "ports = [\"ge-0/0/0.0\", \"ge-0/0/1.0\"]", // 11
        "default-action = \"accept\"",              // 12
        "[service-set.offload]",                    // 13
        "policy = \"after-packets\"",               // 14
        "packets = 10",                             // 15
        "[[service-set.offload.application]]",      // 16
        "name = \"junos-http\"",                    // 17
        "policy = \"rate-above\"",                  // 18
        "bytes-per-second = 1000000",               // 19
        "[[service-set.offload.application]]",      // 20
        "name = \"junos-dns-udp\"",                 // 21
        "policy = \"never\"",                       // 22
    ]));
    assert!(c.offload_enabled());
    let http = c.application_index("junos-http").unwrap();
    let dns = c.application_index("junos-dns-udp").unwrap();
    let ftp = c.application_index("junos-ftp").unwrap();
    let none = NONE;
    let t = |app: u16, child: bool| c.offload_trigger(c.offload_policy(0, app, child));
    assert_eq!(t(none, false), OffloadTrigger::AfterPackets(10));
    assert_eq!(
        t(http, false),
        OffloadTrigger::ByteRate {
            per_second: 1_000_000,
            window_ms: 100
        }
    );
    assert_eq!(t(dns, false), OffloadTrigger::Never);
    // An ALG's control session never; the child flows it marks follow the policy.
    assert_eq!(t(ftp, false), OffloadTrigger::Never);
    assert_eq!(t(ftp, true), OffloadTrigger::AfterPackets(10));
    // No service set, or an index out of range: never.
    assert_eq!(
        c.offload_trigger(c.offload_policy(NONE, none, false)),
        OffloadTrigger::Never
    );
    assert_eq!(c.offload_trigger(999), OffloadTrigger::Never);
    assert_eq!(
        t(http, false).to_string(),
        "rate-above 1000000 bytes/s over 100 ms"
    );
}

#[test]
fn offload_errors_name_line_and_field() {
    let ss = |rest: &[&str]| {
        let mut v = vec![
            "[[service-set]]",          // 9
            "name = \"ss1\"",           // 10
            "ports = [\"ge-0/0/0.0\"]", // 11
            "[service-set.offload]",    // 12
        ];
        v.extend_from_slice(rest);
        with_ports(&v)
    };
    fails(
        &ss(&["policy = \"sometimes\""]),
        13,
        "service-set[0].offload.policy",
        "'sometimes' is not an offload policy",
    );
    fails(
        &ss(&["policy = \"after-packets\""]),
        13,
        "service-set[0].offload.packets",
        "policy 'after-packets' needs 'packets'",
    );
    fails(
        &ss(&["policy = \"established\"", "packets = 5"]),
        14,
        "service-set[0].offload.packets",
        "policy 'established' takes no 'packets'",
    );
    fails(
        &ss(&["policy = \"after-bytes\"", "bytes = 0"]),
        14,
        "service-set[0].offload.bytes",
        "",
    );
    fails(
        &ss(&["policy = \"rate-above\""]),
        13,
        "service-set[0].offload.packets-per-second",
        "needs 'packets-per-second' or 'bytes-per-second'",
    );
    fails(
        &ss(&[
            "policy = \"rate-above\"",
            "packets-per-second = 5",
            "bytes-per-second = 5",
        ]),
        15,
        "service-set[0].offload.bytes-per-second",
        "not both",
    );
    fails(
        &ss(&["pollicy = \"never\""]),
        13,
        "service-set[0].offload.pollicy",
        "unknown field",
    );
    fails(
        &ss(&[
            "policy = \"never\"",
            "[[service-set.offload.application]]",
            "name = \"junos-nope\"",
            "policy = \"never\"",
        ]),
        15,
        "service-set[0].offload.application[0].name",
        "unknown application 'junos-nope'",
    );
    fails(
        &ss(&[
            "policy = \"never\"",
            "[[service-set.offload.application]]",
            "name = \"junos-http\"",
            "policy = \"never\"",
            "[[service-set.offload.application]]",
            "name = \"junos-http\"",
            "policy = \"established\"",
        ]),
        18,
        "service-set[0].offload.application[1].name",
        "two offload policies",
    );
    fails(
        &["[offload]", "backend = \"fpga\""],
        2,
        "offload.backend",
        "'fpga' is not an offload backend",
    );
    fails(
        &["[offload.model]", "preset = \"cx9\""],
        2,
        "offload.model.preset",
        "not a NIC model preset (generic, connectx-6dx, e810)",
    );
    fails(
        &["[offload]", "counter-interval-ms = 1"],
        2,
        "offload.counter-interval-ms",
        "",
    );
}

// ---------------------------------------------------------------------------------------
// Source NAT.

#[test]
fn nat_pools_rules_and_service_set_nat_rules() {
    let c = parse(&with_ports(&[
        "[[nat.pool]]",
        "name = \"p1\"",
        "address = [\"198.51.100.0/30\", \"203.0.113.10-203.0.113.12\"]",
        "port-low = 2000",
        "[[nat.pool]]",
        "name = \"p2\"",
        "address = \"192.0.2.1\"",
        "[[nat.rule]]",
        "name = \"inside\"",
        "match-direction = \"input\"",
        "source = [\"10.0.0.0/8\"]",
        "translation-type = \"napt-44\"",
        "pool = \"p1\"",
        "mapping-type = \"endpoint-independent\"",
        "filtering-type = \"endpoint-independent\"",
        "[[nat.rule]]",
        "name = \"rest\"",
        "translation-type = \"napt-44\"",
        "pool = \"p2\"",
        "[[service-set]]",
        "name = \"ss1\"",
        "ports = [\"ge-0/0/0.0\"]",
        "nat-rules = [\"inside\", \"rest\"]",
        "[[service-set.rule]]",
        "name = \"all\"",
        "action = \"accept\"",
    ]));
    let p1 = &c.nat.pools[0];
    assert_eq!(p1.address_count(), 7);
    assert_eq!((p1.port_low, p1.port_high), (2000, 65535));
    // A 64th of the range kept for the ALGs, at its top.
    assert_eq!(p1.alg_ports, 992);
    assert_eq!(p1.worker_ports(), (2000, 64543));
    assert_eq!(p1.alg_port_range(), Some((64544, 65535)));
    assert!(p1.contains("203.0.113.11".parse().unwrap()));
    assert!(!p1.contains("198.51.100.4".parse().unwrap()));
    assert_eq!(
        p1.addresses().map(|a| a.to_string()).collect::<Vec<_>>()[3..5],
        ["198.51.100.3", "203.0.113.10"]
    );
    assert_eq!(
        (c.nat.pools[1].port_low, c.nat.pools[1].address_count()),
        (1024, 1)
    );
    assert_eq!(c.service_sets[0].nat_rules, vec![0, 1]);
    assert!(c.nat.rules[0].eim && c.nat.rules[0].eif);
    assert!(!c.nat.rules[1].eim && !c.nat.rules[1].eif);
    let a = |s: &str| s.parse::<core::net::Ipv4Addr>().unwrap();
    assert_eq!(c.nat_rule_for(0, a("10.1.2.3"), a("8.8.8.8")), Some(0));
    assert_eq!(c.nat_rule_for(0, a("172.16.0.1"), a("8.8.8.8")), Some(1));
    assert_eq!(c.nat_rule_for(1, a("10.1.2.3"), a("8.8.8.8")), None);
}

#[test]
fn nat_errors_name_line_and_field() {
    let pool = |extra: &'static str| with_ports(&["[[nat.pool]]", "name = \"p1\"", extra]);
    fails(
        &with_ports(&[
            "[[nat.pool]]",
            "name = \"p1\"",
            "address = \"10.0.0.1\"",
            "port-low = 5000",
            "port-high = 5009",
            "alg-ports = 10",
        ]),
        14,
        "nat.pool[0].alg-ports",
        "leave none of the pool's 10 ports",
    );
    fails(
        &pool("address = \"10.0.0.0/33\""),
        11,
        "nat.pool[0].address",
        "not a prefix",
    );
    fails(
        &pool("address = \"10.0.0.9-10.0.0.1\""),
        11,
        "nat.pool[0].address",
        "ends before",
    );
    fails(
        &pool("address = \"2001:db8::/64\""),
        11,
        "nat.pool[0].address",
        "IPv4",
    );
    fails(
        &pool("address = [\"10.0.0.0/30\", \"10.0.0.2\"]"),
        11,
        "nat.pool[0].address",
        "overlaps",
    );
    let mut ports = pool("address = \"10.0.0.0/30\"");
    ports.push("port-low = 70000");
    fails(&ports, 12, "nat.pool[0].port-low", "");
    let mut order = pool("address = \"10.0.0.0/30\"");
    order.extend(["port-low = 5000", "port-high = 4000"]);
    fails(&order, 13, "nat.pool[0].port-high", "above");
    fails(
        &with_ports(&["[[nat.pool]]", "name = \"p1\""]),
        9,
        "nat.pool[0].address",
        "missing",
    );
    let mut two = pool("address = \"10.0.0.0/30\"");
    two.extend([
        "[[nat.pool]]",
        "name = \"p2\"",
        "address = \"10.0.0.3-10.0.0.8\"",
    ]);
    fails(&two, 14, "nat.pool[1].address", "also in pool 'p1'");
    let rule = |extra: &'static str| {
        let mut v = pool("address = \"10.0.0.0/30\"");
        v.extend(["[[nat.rule]]", "name = \"r\"", extra]);
        v
    };
    let mut typ = rule("translation-type = \"napt-66\"");
    typ.push("pool = \"p1\"");
    fails(
        &typ,
        14,
        "nat.rule[0].translation-type",
        "not a translation type",
    );
    let mut basic = rule("translation-type = \"basic-nat44\"");
    basic.push("pool = \"p1\"");
    fails(&basic, 13, "nat.rule[0].source", "name them");
    let mut basic_big = rule("translation-type = \"basic-nat44\"");
    basic_big.extend(["pool = \"p1\"", "source = [\"10.1.0.0/29\"]"]);
    fails(
        &basic_big,
        15,
        "nat.rule[0].pool",
        "6 hosts an address; pool 'p1' has 4",
    );
    let mut dyn_mixed = rule("translation-type = \"dynamic-nat44\"");
    dyn_mixed.extend([
        "pool = \"p1\"",
        "[[nat.rule]]",
        "name = \"r2\"",
        "translation-type = \"napt-44\"",
        "pool = \"p1\"",
    ]);
    fails(
        &dyn_mixed,
        19,
        "nat.rule[1].pool",
        "translates by dynamic-nat44",
    );
    let mut det = rule("translation-type = \"deterministic-napt44\"");
    det.extend(["pool = \"p1\"", "source = [\"10.1.0.0/24\"]"]);
    fails(&det, 15, "nat.rule[0].pool", "has no block-size");
    let mut app = rule("translation-type = \"napt-44\"");
    app.extend(["pool = \"p1\"", "address-pooling = \"cone\""]);
    fails(
        &app,
        16,
        "nat.rule[0].address-pooling",
        "not an address pooling",
    );
    let mut app_eim = rule("translation-type = \"napt-44\"");
    app_eim.extend([
        "pool = \"p1\"",
        "mapping-type = \"endpoint-independent\"",
        "address-pooling = \"paired\"",
    ]);
    fails(&app_eim, 17, "nat.rule[0].address-pooling", "not built");
    let mut mixed = rule("translation-type = \"napt-44\"");
    mixed.extend([
        "pool = \"p1\"",
        "address-pooling = \"paired\"",
        "[[nat.rule]]",
        "name = \"r2\"",
        "translation-type = \"napt-44\"",
        "pool = \"p1\"",
    ]);
    fails(&mixed, 20, "nat.rule[1].pool", "handed out one way");
    let mut pba = pool("address = \"10.0.0.0/30\"");
    pba.extend([
        "port-low = 5000",
        "port-high = 5099",
        "[nat.pool.port-block-allocation]",
        "block-size = 200",
    ]);
    fails(
        &pba,
        15,
        "nat.pool[0].port-block-allocation.block-size",
        "does not fit the pool's 100 ports",
    );
    let mut pba_max = pool("address = \"10.0.0.0/30\"");
    pba_max.extend([
        "[nat.pool.port-block-allocation]",
        "maximum-blocks-per-host = 9",
    ]);
    fails(
        &pba_max,
        13,
        "nat.pool[0].port-block-allocation.maximum-blocks-per-host",
        "",
    );
    let mut nopool = rule("translation-type = \"napt-44\"");
    nopool.push("pool = \"p9\"");
    fails(&nopool, 15, "nat.rule[0].pool", "unknown pool 'p9'");
    let mut dir = rule("match-direction = \"output\"");
    dir.extend(["translation-type = \"napt-44\"", "pool = \"p1\""]);
    fails(&dir, 14, "nat.rule[0].match-direction", "only input");
    let mut v6 = rule("source = [\"10.0.0.0/8\", \"2001:db8::/32\"]");
    v6.extend(["translation-type = \"napt-44\"", "pool = \"p1\""]);
    fails(&v6, 14, "nat.rule[0].source", "translates IPv4");
    let mut eif = rule("translation-type = \"napt-44\"");
    eif.extend(["pool = \"p1\"", "filtering-type = \"endpoint-independent\""]);
    fails(&eif, 16, "nat.rule[0].filtering-type", "needs mapping-type");
    let mut mt = rule("translation-type = \"napt-44\"");
    mt.extend(["pool = \"p1\"", "mapping-type = \"full-cone\""]);
    fails(&mt, 16, "nat.rule[0].mapping-type", "not a mapping-type");
    let mut ss = rule("translation-type = \"napt-44\"");
    ss.extend([
        "pool = \"p1\"",
        "[[service-set]]",
        "name = \"ss1\"",
        "nat-rules = [\"r\", \"nope\"]",
    ]);
    fails(
        &ss,
        18,
        "service-set[0].nat-rules",
        "unknown NAT rule 'nope'",
    );
}

#[test]
fn session_log_table() {
    let c = parse(&[
        "[log]",
        "host = \"127.0.0.1:5514\"",
        "transport = \"tcp\"",
        "events = [\"session-close\"]",
        "rate-limit = 50",
    ]);
    assert_eq!(c.log.host, Some("127.0.0.1:5514".parse().unwrap()));
    assert!(
        c.log.tcp && c.log.events.session_close && !c.log.events.session_init && !c.log.events.deny
    );
    assert_eq!(c.log.rate_limit, 50);
    assert_eq!(parse(&[]).log.host, None);
    fails(
        &["[log]", "host = \"nowhere\""],
        2,
        "log.host",
        "not an address",
    );
    fails(
        &["[log]", "host = \"127.0.0.1:514\"", "transport = \"sctp\""],
        3,
        "log.transport",
        "udp or tcp",
    );
    fails(
        &[
            "[log]",
            "host = \"127.0.0.1:514\"",
            "events = [\"session-open\"]",
        ],
        3,
        "log.events",
        "not an event",
    );
    fails(&["[log]", "transport = \"udp\""], 1, "log.host", "missing");
}

#[test]
fn tcp_session_checks_card_wide_then_per_service_set() {
    let c = parse(&[]);
    assert_eq!(c.tcp_session, TcpSession::default());
    assert!(c.tcp_session.no_syn_check && !c.tcp_session.no_sequence_check);
    assert!(c.checks_tcp_segments());
    let c = parse(&with_ports(&[
        "[tcp-session]",             // 9
        "no-sequence-check = true",  // 10
        "out-of-window = \"pass\"",  // 11
        "[[service-set]]",           // 12
        "name = \"strict\"",         // 13
        "ports = [\"ge-0/0/0.0\"]",  // 14
        "[service-set.tcp-session]", // 15
        "no-sequence-check = false", // 16
        "strict-syn-check = true",   // 17
        "rst-sequence-check = true", // 18
        "[[service-set]]",           // 19
        "name = \"loose\"",          // 20
        "ports = [\"ge-0/0/1.0\"]",  // 21
    ]));
    let strict = c.tcp_session(0);
    assert!(
        strict.strict_syn_check && !strict.no_syn_check,
        "{strict:?}"
    );
    assert!(strict.tracks_windows() && strict.rst_sequence_check);
    assert_eq!(
        strict.out_of_window,
        OutOfWindow::Pass,
        "the card's, inherited"
    );
    let loose = c.tcp_session(1);
    assert_eq!(*loose, c.tcp_session, "no table: the card's");
    assert!(!loose.tracks_windows());
    assert_eq!(c.tcp_session(crate::NONE), &c.tcp_session);
    assert!(c.checks_tcp_segments(), "one service set tracks");
    let c = parse(&["[tcp-session]", "no-sequence-check = true"]);
    assert!(!c.checks_tcp_segments());
    // Errors at the key.
    fails(
        &[
            "[tcp-session]",
            "strict-syn-check = true",
            "no-syn-check = true",
        ],
        3,
        "tcp-session.no-syn-check",
        "cannot be set with strict-syn-check",
    );
    fails(
        &["[tcp-session]", "out-of-window = \"reset\""],
        2,
        "tcp-session.out-of-window",
        "drop or pass",
    );
    fails(
        &["[tcp-session]", "no-syn-chek = true"],
        2,
        "tcp-session.no-syn-chek",
        "",
    );
    fails(
        &with_ports(&[
            "[[service-set]]",
            "name = \"a\"",
            "[service-set.tcp-session]",
            "no-sequence-check = 1",
        ]),
        12,
        "service-set[0].tcp-session.no-sequence-check",
        "true or false",
    );
}

#[test]
fn ipfix_collector_and_timers() {
    let c = parse(&[]);
    assert_eq!(c.ipfix, Ipfix::default());
    assert!(c.ipfix.collector.is_none());
    let c = parse(&[
        "[ipfix]",
        "collector = \"127.0.0.1:4739\"",
        "active-timeout = 30",
        "template-refresh = 10",
        "observation-domain = 7",
    ]);
    assert_eq!(c.ipfix.collector, Some("127.0.0.1:4739".parse().unwrap()));
    assert_eq!(
        (
            c.ipfix.active_timeout_s,
            c.ipfix.template_refresh_s,
            c.ipfix.observation_domain
        ),
        (30, 10, 7)
    );
    fails(
        &["[ipfix]", "active-timeout = 5"],
        1,
        "ipfix.collector",
        "missing",
    );
    fails(
        &["[ipfix]", "collector = \"nfcapd\""],
        2,
        "ipfix.collector",
        "not an address and port",
    );
    fails(
        &[
            "[ipfix]",
            "collector = \"127.0.0.1:4739\"",
            "template-refresh = 0",
        ],
        3,
        "ipfix.template-refresh",
        "",
    );
}

// ---------------------------------------------------------------------------------------
// Reload: the new configuration rebased on the running one.

fn reloaded(old: &[&str], new: &[&str]) -> Result<(Config, Vec<String>), reload::Refused> {
    parse(&with_ports(new)).rebase(&parse(&with_ports(old)))
}

const TWO_RULES: &[&str] = &[
    "[[service-set]]",
    "name = \"ss1\"",
    "ports = \"ge-0/0/0.0\"",
    "[[service-set.rule]]",
    "name = \"web\"",
    "protocol = 6",
    "destination-port = \"80\"",
    "action = \"accept\"",
    "[[service-set.rule]]",
    "name = \"dns\"",
    "protocol = 17",
    "action = \"accept\"",
];

#[test]
fn a_reload_keeps_each_rules_id_by_name_and_gives_new_rules_new_ones() {
    // A deny inserted first, `web` moved last, `dns` removed.
    let new = [
        "[[service-set]]",
        "name = \"ss1\"",
        "ports = \"ge-0/0/0.0\"",
        "[[service-set.rule]]",
        "name = \"block\"",
        "protocol = 17",
        "action = \"discard\"",
        "[[service-set.rule]]",
        "name = \"web\"",
        "protocol = 6",
        "action = \"accept\"",
    ];
    let (c, changes) = reloaded(TWO_RULES, &new).unwrap();
    let ss = &c.service_sets[0];
    let ids: Vec<(&str, u16, u16)> = ss
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.id, r.index))
        .collect();
    assert_eq!(ids, [("block", 2, 3), ("web", 0, 1)]);
    // `dns` keeps ID 1 for the sessions it admitted.
    assert_eq!(ss.rule_names, ["web", "dns", "block"]);
    let any = ip("1.2.3.4");
    let v = c.classify(0, 17, any, 1, any, 53);
    assert_eq!((v.rule, v.action), (2, RuleAction::Discard));
    let v = c.classify(0, 6, any, 1, any, 443);
    assert_eq!((v.rule, v.action), (0, RuleAction::Accept));
    assert_eq!(changes, ["service-set 'ss1' rules"]);
    // Reloading the same file changes nothing, and IDs stay where they are.
    let (again, changes) = parse(&with_ports(&new)).rebase(&c).unwrap();
    assert_eq!(again.service_sets[0].rule_names, ss.rule_names);
    assert!(changes.is_empty(), "{changes:?}");
}

#[test]
fn a_reload_refuses_what_needs_a_restart_and_says_each_part() {
    let mut old = TWO_RULES.to_vec();
    old.extend(["[tcp-session]", "no-sequence-check = true"]);
    let mut new = TWO_RULES.to_vec();
    new.extend(["[workers]", "count = 2", "[limits]", "max-sessions = 1000"]);
    let e = reloaded(&old, &new).unwrap_err();
    let all = e.to_string();
    assert_eq!(e.0.len(), 3, "{all}");
    assert!(
        e.0[0].starts_with("[workers]: cannot change while svcard runs; restart"),
        "{all}"
    );
    assert!(
        e.0[1].starts_with("[limits] max-sessions: the session table is sized at start"),
        "{all}"
    );
    assert!(
        e.0[2].starts_with("[tcp-session]: TCP sequence checks need the windows"),
        "{all}"
    );
    // A service set removed (or moved) is refused; one added after the others is not.
    let e = reloaded(TWO_RULES, &[]).unwrap_err();
    assert_eq!(
        e.0,
        [
            "service-set 'ss1': removed: its live sessions are counted under it; restart svcard \
          to apply it"
        ]
    );
    let mut more = TWO_RULES.to_vec();
    more.extend([
        "[[service-set]]",
        "name = \"ss2\"",
        "ports = \"ge-0/0/1.0\"",
    ]);
    let (c, changes) = reloaded(TWO_RULES, &more).unwrap();
    assert_eq!(c.port_service_set(1), 1);
    assert_eq!(
        changes,
        ["service-set 'ss2' added", "interfaces' service sets"]
    );
}

#[test]
fn a_reload_takes_timeouts_limits_algs_and_applications_added_after_the_others() {
    let mut new = TWO_RULES.to_vec();
    new.extend([
        "[timeouts]",
        "udp = 7",
        "[limits]",
        "setup-rate = 10",
        "[alg.ftp]",
        "enabled = false",
        "[[application]]",
        "name = \"my-app\"",
        "protocol = \"tcp\"",
        "destination-port = \"8080\"",
    ]);
    let (c, changes) = reloaded(TWO_RULES, &new).unwrap();
    assert_eq!(c.timeouts.udp, 7);
    assert_eq!(c.limits.setup_rate, Some(10));
    assert_eq!(
        changes,
        ["1 application(s) added", "[timeouts]", "[limits]", "[alg]"]
    );
}
