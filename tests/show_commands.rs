//! End-to-end: every show and clear command of the seeds, with their options, filters,
//! pipes and display formats, on real sessions that came through the engine (pure-Rust pcap
//! backend, two workers), run in this process and asked directly ([`InProcess`]); the test of
//! a client that stops reading runs the real binary and talks to its socket.
//!
//! The traffic: five sessions whose initiator source ports name them:
//! * 7000: UDP 10.2.0.1 → 192.0.2.20:53 (DNS, ALG dns), 3 frames in, 1 back;
//! * 7100: TCP SYN 10.2.0.2 → 192.0.2.80:80 (HTTP, pending);
//! * 7200: UDP 10.2.0.3 → 198.51.100.7:9 (discarded: Drop);
//! * 7300: TCP SYN 10.2.0.4 → 192.0.2.21:21 (FTP, ALG ftp);
//! * 7400: ICMP echo 10.2.0.5 → 192.0.2.30 (identifier 7400, ALG icmp).

mod common;

use common::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use svcard_perf::frames::{build, L4};

fn frame(src: &str, dst: &str, l4: &L4) -> Vec<u8> {
    build(ip(src), ip(dst), l4, 60, true)
}

fn syn(src: &str, sport: u16, dst: &str, dport: u16) -> Vec<u8> {
    frame(
        src,
        dst,
        &L4::Tcp {
            sport,
            dport,
            flags: 0x02,
            seq: 1,
            ack: 0,
            payload: vec![],
        },
    )
}

const POLICY: &str = r#"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
[[service-set.rule]]
name = "block-udp"
destination = ["198.51.100.0/24"]
protocol = "udp"
action = "discard"
"#;

fn start(dir: &TempDir) -> InProcess {
    let client = vec![
        udp("10.2.0.1", 7000, "192.0.2.20", 53, 1),
        udp("10.2.0.1", 7000, "192.0.2.20", 53, 1),
        udp("10.2.0.1", 7000, "192.0.2.20", 53, 1),
        syn("10.2.0.2", 7100, "192.0.2.80", 80),
        udp("10.2.0.3", 7200, "198.51.100.7", 9, 1),
        syn("10.2.0.4", 7300, "192.0.2.21", 21),
        frame(
            "10.2.0.5",
            "192.0.2.30",
            &L4::Echo {
                request: true,
                id: 7400,
                seq: 1,
            },
        ),
    ];
    let server = vec![udp("192.0.2.20", 53, "10.2.0.1", 7000, 1)];
    write_pcap(&dir.path("c.pcap"), &client);
    write_pcap(&dir.path("s.pcap"), &server);
    let text = format!(
        r#"
[workers]
count = 2
[[port]]
name = "ge-0/0/0.0"
pcap-rx = "c.pcap"
pcap-tx = "out0.pcap"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
pcap-rx = "s.pcap"
pcap-tx = "out1.pcap"
peer = "ge-0/0/0.0"
{POLICY}
"#
    );
    let cfg = dir.path("svcard.toml");
    std::fs::write(&cfg, text).unwrap();
    let sv = InProcess::start(&cfg);
    sv.wait_for("show security flow session summary", 15, |o| {
        field_values(o, "Unicast-sessions").iter().sum::<u64>() == 5
    });
    sv
}

/// `show services sessions` output: (interface, session ID, initiator source port) per
/// session, from the header and the `I` flow line.
fn services_sessions(out: &str) -> Vec<(String, u32, u16)> {
    let mut iface = String::new();
    let mut id = 0;
    let mut v = Vec::new();
    for l in out.lines() {
        if l.starts_with("mams-") {
            iface = l.to_string();
        } else if let Some(rest) = l.strip_prefix("Service Set: ") {
            id = rest
                .split("Session: ")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .parse()
                .unwrap();
        } else {
            let cols: Vec<&str> = l.split_whitespace().collect();
            if cols.len() == 7 && cols[5] == "I" {
                v.push((iface.clone(), id, initiator_port(cols[1])));
            }
        }
    }
    v
}

/// The source port of an endpoint column (`10.2.0.1:7000`), the ICMP session (no port)
/// reads as 7400.
fn initiator_port(col: &str) -> u16 {
    match col.rsplit_once(':') {
        Some((_, p)) => p.parse().unwrap(),
        None => 7400,
    }
}

fn ports(v: &[(String, u32, u16)]) -> BTreeSet<u16> {
    v.iter().map(|x| x.2).collect()
}

fn set(p: &[u16]) -> BTreeSet<u16> {
    p.iter().copied().collect()
}

#[test]
fn services_sessions_levels_filters_count_and_utilization() {
    let dir = TempDir::new("svcs");
    let sv = start(&dir);
    let all = sv.cli("show services sessions");
    let sessions = services_sessions(&all);
    assert_eq!(
        ports(&sessions),
        set(&[7000, 7100, 7200, 7300, 7400]),
        "{all}"
    );
    // Each session is listed under its worker's member interface.
    for (iface, id, _) in &sessions {
        assert_eq!(*iface, format!("mams-5/0/{}", (id >> 25) - 1), "{all}");
    }
    assert!(
        all.contains("mams-5/0/0\n") && all.contains("mams-5/0/1\n"),
        "{all}"
    );
    assert!(
        all.contains("ALG: dns,") && all.contains("ALG: ftp,") && all.contains("ALG: none,"),
        "{all}"
    );
    assert!(all.contains(", Flags: 0x"), "{all}");
    assert!(
        all.contains("IP Action: no, Offload: no, Asymmetric: "),
        "{all}"
    );
    // Column 7 is the frame count; the discarded flow shows Drop.
    let dns_in = all
        .lines()
        .find(|l| l.contains("10.2.0.1:7000   ->"))
        .expect("dns flow");
    let cols: Vec<&str> = dns_in.split_whitespace().collect();
    // The DNS ALG watches its session.
    assert_eq!(
        (cols[0], cols[4], cols[5], cols[6]),
        ("UDP", "Watch", "I", "3"),
        "{dns_in}"
    );
    assert!(
        all.lines()
            .any(|l| l.contains("10.2.0.3:7200") && l.contains(" Drop ")),
        "{all}"
    );
    assert!(
        all.contains("ICMP        10.2.0.5        ->   192.0.2.30"),
        "{all}"
    );

    assert_eq!(sv.cli("show services sessions brief"), all);
    let ext = sv.cli("show services sessions extensive");
    assert_eq!(ports(&services_sessions(&ext)).len(), 5);
    assert_eq!(ext.matches("    Byte count: ").count(), 10, "{ext}");
    assert!(ext.contains("    Flow role: Initiator, Timeout: "), "{ext}");
    assert!(ext.contains("    Flow role: Responder, Timeout: "), "{ext}");
    let terse = sv.cli("show services sessions terse");
    assert!(!terse.contains("Service Set:"), "{terse}");
    assert_eq!(
        terse
            .lines()
            .filter(|l| l.split_whitespace().count() == 7)
            .count(),
        10,
        "{terse}"
    );

    // Every filter selects exactly the matching sessions.
    let cases: &[(&str, &[u16])] = &[
        ("protocol tcp", &[7100, 7300]),
        ("protocol 17", &[7000, 7200]),
        ("protocol icmp", &[7400]),
        ("protocol 47", &[]),
        ("destination-port 53", &[7000]),
        ("source-port 7200", &[7200]),
        ("destination-prefix 198.51.100.0/24", &[7200]),
        ("source-prefix 10.2.0.4/32", &[7300]),
        ("source-prefix 10.2.0.0/30", &[7000, 7100, 7200]),
        ("service-set ss1", &[7000, 7100, 7200, 7300, 7400]),
        ("interface ams0", &[7000, 7100, 7200, 7300, 7400]),
        ("interface ge-0/0/1.0", &[7000]),
        ("application-protocol dns", &[7000]),
        ("application-protocol ftp", &[7300]),
        ("application-protocol none", &[7100, 7200]),
        ("application-protocol icmp", &[7400]),
        ("application-protocol sip", &[]),
        ("protocol udp application-protocol none", &[7200]),
        ("extensive protocol tcp destination-port 21", &[7300]),
    ];
    for (f, want) in cases {
        let out = sv.cli(&format!("show services sessions {f}"));
        assert_eq!(ports(&services_sessions(&out)), set(want), "{f}:\n{out}");
    }
    for w in 0..2u32 {
        let out = sv.cli(&format!("show services sessions interface mams-5/0/{w}"));
        let got = services_sessions(&out);
        let want: Vec<_> = sessions.iter().filter(|s| s.1 >> 25 == w + 1).collect();
        assert_eq!(got.len(), want.len(), "{out}");
        assert!(!out.contains(&format!("mams-5/0/{}", 1 - w)), "{out}");
    }
    let limited = sv.cli("show services sessions limit 2");
    assert_eq!(services_sessions(&limited).len(), 2, "{limited}");
    let limited = sv.cli("show services sessions limit 1 application-protocol none");
    assert_eq!(services_sessions(&limited).len(), 1, "{limited}");

    // count: per interface and service set, by state.
    let count = sv.cli("show services sessions count");
    let lines: Vec<&str> = count.lines().collect();
    assert_eq!(
        lines[0],
        "Interface   Service set                        Valid      Invalid      Pending  Other state"
    );
    let total = |out: &str| -> u64 {
        out.lines()
            .skip(1)
            .map(|l| {
                l.split_whitespace()
                    .skip(2)
                    .map(|n| n.parse::<u64>().unwrap())
                    .sum::<u64>()
            })
            .sum()
    };
    assert_eq!(total(&count), 5, "{count}");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("mams-5/0/") && l.contains(" ss1 ")),
        "{count}"
    );
    // Two pending TCP sessions (SYN only).
    let pending: u64 = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().nth(4).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(pending, 2, "{count}");
    assert_eq!(
        total(&sv.cli("show services sessions count protocol tcp")),
        2
    );
    assert_eq!(
        total(&sv.cli("show services sessions count application-protocol none")),
        2
    );
    assert_eq!(
        total(&sv.cli("show services sessions count application-protocol dns")),
        1
    );
    assert_eq!(
        total(&sv.cli("show services sessions count service-set ss1")),
        5
    );
    let xml = sv.cli("show services sessions count | display xml");
    let doc = xml::parse(&xml);
    let counts: u64 = doc
        .find_all(&[
            "rpc-reply",
            "service-msp-sess-count-information",
            "service-msp-sess-count",
            "sess-count",
        ])
        .iter()
        .map(|n| n.text.parse::<u64>().unwrap())
        .sum();
    assert_eq!(counts, 5, "{xml}");

    let util = sv.cli("show services sessions utilization");
    assert!(
        util.starts_with("Interface       Sessions      Maximum  Utilization\n"),
        "{util}"
    );
    let used: u64 = util
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(used, 5, "{util}");
    assert_eq!(util.lines().count(), 3, "{util}");

    // Errors.
    let e = sv.cli("show services sessions service-set nope");
    assert_eq!(e, "error: service-set 'nope' not found\n");
    let e = sv.cli("show services sessions interface xe-1/2/3");
    assert_eq!(e, "error: interface 'xe-1/2/3' not found\n");
    let e = sv.cli("show services sessions destination-port 70000");
    assert!(
        e.contains("Value 70000 is not within range (0..65535)"),
        "{e}"
    );
    let e = sv.cli("show services sessions protocol 256");
    assert!(e.contains("Value 256 is not within range (0..255)"), "{e}");
    let e = sv.cli("show services sessions source-prefix 10.0.0.0/33");
    assert!(e.contains("invalid prefix"), "{e}");
    // Under `| display xml` an error is an <xnm:error> in the RPC reply, with the bad
    // word as <token> where the command did not parse.
    for (cmd, token, message) in [
        (
            "show services sessions service-set nope | display xml",
            None,
            "error: service-set 'nope' not found",
        ),
        (
            "show services sessions destination-port 70000 | display xml",
            Some("70000"),
            "Value 70000 is not within range (0..65535)",
        ),
        (
            "show services bogus | display xml",
            Some("bogus"),
            "syntax error",
        ),
    ] {
        let x = sv.cli(cmd);
        let doc = roxmltree::Document::parse(&x).unwrap_or_else(|e| panic!("{e}: {x}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "rpc-reply", "{x}");
        let err = root
            .children()
            .find(|n| n.tag_name().name() == "error")
            .unwrap_or_else(|| panic!("no xnm:error in {x}"));
        assert_eq!(
            err.tag_name().namespace(),
            Some("http://xml.juniper.net/xnm/1.1/xnm"),
            "{x}"
        );
        let child = |name: &str| {
            err.children()
                .find(|n| n.tag_name().name() == name)
                .and_then(|n| n.text())
                .map(str::trim)
        };
        assert_eq!(child("token"), token, "{x}");
        assert!(
            child("message").is_some_and(|m| m.starts_with(message)),
            "{x}"
        );
    }
    sv.stop();
}

/// SIGHUP to `svcard run` reloads its configuration as `request system configuration
/// reload` does: the changes are put in force and said on its log; a bad file is refused
/// with its line, and `svcard cli -c` exits 1 for it.
#[test]
fn sighup_reloads_the_configuration_and_a_bad_file_is_refused() {
    let dir = TempDir::new("sighup");
    write_pcap(
        &dir.path("c.pcap"),
        &[udp("10.5.0.1", 20_000, "192.0.2.50", 9000, 1)],
    );
    write_one_worker_config(&dir);
    let sv = Svcard::start(&dir, &dir.path("svcard.toml"), &["--hold"]);
    let path = dir.path("svcard.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}[timeouts]\nudp = 9\n")).unwrap();
    let pid = sv.child.as_ref().unwrap().id().to_string();
    let hup = || {
        assert!(std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success());
    };
    let wait_for = |what: &str| {
        let t0 = Instant::now();
        while !sv.log_text().contains(what) {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "no {what:?} in {}",
                sv.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    hup();
    wait_for(&format!(
        "svcard: configuration reloaded from {} (generation 1): [timeouts]",
        path.display()
    ));
    std::fs::write(&path, format!("{text}[timeouts]\nudp = \"soon\"\n")).unwrap();
    hup();
    let line = text.lines().count() + 2;
    wait_for(&format!(
        "svcard: configuration reload refused, nothing changed: {}:{line}: timeouts.udp:",
        path.display()
    ));
    let o = std::process::Command::new(BIN)
        .args(["cli", "--socket"])
        .arg(&sv.socket)
        .args(["-c", "request system configuration reload"])
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.ends_with("error: configuration check-out failed\n"),
        "{out}"
    );
    sv.stop();
}

/// `svcard.toml` in `dir`: one worker, `c.pcap` in on port 0, port 1 out, one service set
/// that accepts all.
fn write_one_worker_config(dir: &TempDir) {
    let text = r#"
[workers]
count = 1
[[port]]
name = "ge-0/0/0.0"
pcap-rx = "c.pcap"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
pcap-tx = "out1.pcap"
peer = "ge-0/0/0.0"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "accept"
"#;
    std::fs::write(dir.path("svcard.toml"), text).unwrap();
}

/// `svcard cli -c` exits 1 when the command is refused (a syntax error, a value out of
/// range, a name not found), 0 when it ran, and prints the answer either way.
#[test]
fn cli_exit_status_says_whether_the_command_ran() {
    let dir = TempDir::new("cli-status");
    write_pcap(
        &dir.path("c.pcap"),
        &[udp("10.5.0.1", 20_000, "192.0.2.50", 9000, 1)],
    );
    write_one_worker_config(&dir);
    let sv = Svcard::start(&dir, &dir.path("svcard.toml"), &["--hold"]);
    let run = |cmd: &str| {
        let o = std::process::Command::new(BIN)
            .args(["cli", "--socket"])
            .arg(&sv.socket)
            .args(["-c", cmd])
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8(o.stdout).unwrap())
    };
    let (code, out) = run("show security flow session summary");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Unicast-sessions:"), "{out}");
    for (cmd, says) in [
        ("show services bogus", "syntax error"),
        (
            "show services sessions destination-port 70000",
            "not within range",
        ),
        ("show services sessions service-set nope", "not found"),
        (
            "show services sessions service-set nope | display xml",
            "<xnm:error",
        ),
    ] {
        let (code, out) = run(cmd);
        assert_eq!(code, Some(1), "{cmd}: {out}");
        assert!(out.contains(says), "{cmd}: {out}");
        assert!(
            !out.contains('\0'),
            "the status trailer is the client's: {out:?}"
        );
    }
    // `| save FILE`: the client writes the file (what the pipes before it give), says how
    // many lines, and refuses a path it cannot write; nothing may follow it.
    let file = dir.path("saved.txt");
    let (code, out) = run(&format!(
        "show security flow session | match Session | save {}",
        file.display()
    ));
    assert_eq!(code, Some(0), "{out}");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(saved, run("show security flow session | match Session").1);
    assert!(!saved.is_empty());
    assert_eq!(
        out,
        format!(
            "Wrote {} lines of output to '{}'\n",
            saved.lines().count(),
            file.display()
        )
    );
    let (code, out) = run("show security flow session | save /nonexistent-dir/x");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("error: could not create /nonexistent-dir/x"),
        "{out}"
    );
    let (code, out) = run(&format!(
        "show security flow session | save {} | count",
        file.display()
    ));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("syntax error"), "{out}");
    // A refused command's error is the terminal's, and leaves no file.
    let gone = dir.path("never.txt");
    let (code, out) = run(&format!(
        "show services sessions service-set nope | save {}",
        gone.display()
    ));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not found"), "{out}");
    assert!(!gone.exists());
    sv.stop();
}

/// A PyEZ-style reader (Python's xml.etree, Junos element names only) gets every value of
/// the summary and the session list right: the same figures the text views print.
#[test]
fn a_pyez_style_script_reads_the_xml_by_junos_names() {
    let dir = TempDir::new("pyez");
    let sv = start(&dir);
    let (sum, list) = (dir.path("summary.xml"), dir.path("sessions.xml"));
    std::fs::write(
        &sum,
        sv.cli("show security flow session summary | display xml"),
    )
    .unwrap();
    std::fs::write(&list, sv.cli("show security flow session | display xml")).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts/pyez_style.py");
    let o = std::process::Command::new("python3")
        .arg(script)
        .arg(&sum)
        .arg(&list)
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    // The summary, as its text view says it.
    let text = sv.cli("show security flow session summary");
    for (name, label) in [
        ("active-unicast-sessions", "Unicast-sessions"),
        ("active-sessions", "Sessions-in-use"),
        ("active-session-valid", "Valid sessions"),
        ("active-session-pending", "Pending sessions"),
        ("active-drop-sessions", "Sessions-in-drop-flow"),
        ("max-sessions", "Maximum-sessions"),
    ] {
        // Summed over the sections (one per worker), as the script sums the XML's.
        let want: u64 = field_values(&text, label).iter().sum();
        assert!(
            out.lines().any(|l| l == format!("summary {name} {want}")),
            "{name} should be {want}: {out}"
        );
    }
    // Every flow of the list, as the text list prints it.
    let flows: Vec<&str> = out.lines().filter(|l| l.starts_with("flow ")).collect();
    assert_eq!(flows.len(), 10, "5 sessions, 2 flows each: {out}");
    let all = sv.cli("show security flow session");
    for l in &flows {
        let f: Vec<&str> = l.split(' ').collect();
        let (dir, src, sport, dst, dport, proto, iface, pkts, bytes) =
            (f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]);
        let line = format!(
            "{dir}: {src}/{sport} --> {dst}/{dport};{proto}, Conn Tag: 0x0, If: {iface}, Pkts: {pkts}, Bytes: {bytes},"
        );
        assert!(all.contains(&line), "{line} not in:\n{all}");
    }
    assert!(
        out.contains(" In 10.2.0.1 7000 192.0.2.20 53 udp ge-0/0/0.0 3 138"),
        "{out}"
    );
    sv.stop();
}

#[test]
fn display_xml_json_and_rpc_find_every_session() {
    let dir = TempDir::new("disp");
    let sv = start(&dir);
    let text = sv.cli("show security flow session");
    let ids: BTreeSet<u32> = sessions_by_pic(&text).into_iter().map(|x| x.1).collect();
    assert_eq!(ids.len(), 5, "{text}");

    for level in ["", " brief", " extensive"] {
        let x = sv.cli(&format!("show security flow session{level} | display xml"));
        let doc = xml::parse(&x);
        let got: BTreeSet<u32> = doc
            .find_all(&[
                "rpc-reply",
                "flow-session-information",
                "flow-session",
                "session-identifier",
            ])
            .iter()
            .map(|n| n.text.parse().unwrap())
            .collect();
        assert_eq!(got, ids, "{x}");
        assert!(
            x.starts_with("<rpc-reply xmlns:junos=\"http://xml.juniper.net/junos/"),
            "{x}"
        );
        assert!(
            x.contains("<flow-fpc-pic-id> on FPC0 PIC1:</flow-fpc-pic-id>"),
            "{x}"
        );
        // Junos emits the whole element set whatever the style.
        let session = ["rpc-reply", "flow-session-information", "flow-session"];
        for leaf in [
            "status",
            "session-flag",
            "nat-source-pool-name",
            "configured-timeout",
            "start-time",
            "duration",
        ] {
            let path: Vec<&str> = session.iter().copied().chain([leaf]).collect();
            assert_eq!(
                doc.find_all(&path).len(),
                ids.len(),
                "{level}: <{leaf}> in {x}"
            );
        }
        for leaf in ["session-token", "flag", "route", "gateway", "fin-state"] {
            let path: Vec<&str> = session
                .iter()
                .copied()
                .chain(["flow-information", leaf])
                .collect();
            assert_eq!(
                doc.find_all(&path).len(),
                2 * ids.len(),
                "{level}: <{leaf}> in {x}"
            );
        }
        assert!(x.ends_with("    <cli>\n        <banner></banner>\n    </cli>\n</rpc-reply>\n"));

        let j = sv.cli(&format!("show security flow session{level} | display json"));
        let v = json::parse(&j).unwrap_or_else(|e| panic!("{e}\n{j}"));
        let mut got = BTreeSet::new();
        for fsi in v.get("flow-session-information").unwrap().items() {
            if let Some(sessions) = fsi.get("flow-session") {
                for s in sessions.items() {
                    let id = s.get("session-identifier").unwrap().items()[0]
                        .get("data")
                        .unwrap()
                        .string();
                    got.insert(id.parse::<u32>().unwrap());
                }
            }
        }
        assert_eq!(got, ids, "{j}");
    }
    let x = sv.cli("show security flow session extensive protocol udp | display xml");
    assert!(
        x.contains("<flow-session junos:style=\"extensive\">"),
        "{x}"
    );
    assert_eq!(x.matches("<session-identifier>").count(), 2, "{x}");
    // Summaries.
    let sum = sv.cli("show security flow session summary | display xml");
    let doc = xml::parse(&sum);
    let unicast: u64 = doc
        .find_all(&[
            "rpc-reply",
            "flow-session-summary-information",
            "active-unicast-sessions",
        ])
        .iter()
        .map(|n| n.text.parse::<u64>().unwrap())
        .sum();
    assert_eq!(unicast, 5, "{sum}");
    json::parse(&sv.cli("show security flow session summary | display json")).unwrap();
    json::parse(&sv.cli("show security flow session protocol tcp summary | display json")).unwrap();
    // The request RPC.
    let rpc = sv.cli("show security flow session protocol tcp summary | display xml rpc");
    assert_eq!(
        rpc,
        "<rpc-reply xmlns:junos=\"http://xml.juniper.net/junos/17.1I0/junos\">\n    <rpc>\n        <get-flow-session-information>\n                <protocol>tcp</protocol>\n                <summary/>\n        </get-flow-session-information>\n    </rpc>\n    <cli>\n        <banner></banner>\n    </cli>\n</rpc-reply>\n"
    );
    let id = ids.iter().next().unwrap();
    let rpc = sv.cli(&format!(
        "show security flow session session-identifier {id} | display xml rpc"
    ));
    assert!(rpc.contains("<get-flow-session-by-identifier>"), "{rpc}");
    // Services views.
    let x = sv.cli("show services sessions extensive | display xml");
    let doc = xml::parse(&x);
    assert_eq!(
        doc.find_all(&[
            "rpc-reply",
            "msp-session-table",
            "msp-session-interface",
            "msp-session",
            "session-identifier"
        ])
        .len(),
        5,
        "{x}"
    );
    let j = sv.cli("show services sessions | display json");
    let v = json::parse(&j).unwrap_or_else(|e| panic!("{e}\n{j}"));
    let n: usize = v.get("msp-session-table").unwrap().items()[0]
        .get("msp-session-interface")
        .unwrap()
        .items()
        .iter()
        .map(|i| i.get("msp-session").map_or(0, |s| s.items().len()))
        .sum();
    assert_eq!(n, 5, "{j}");
    let rpc = sv.cli("show services sessions count protocol udp | display xml rpc");
    assert!(
        rpc.contains("<get-msp-session-table>") && rpc.contains("<count/>"),
        "{rpc}"
    );
    xml::parse(&sv.cli("show services alg conversations | display xml"));
    json::parse(&sv.cli("show services alg conversations | display json")).unwrap();
    // Pipes act on the XML lines.
    assert_eq!(
        sv.cli("show security flow session | display xml | match session-identifier | count"),
        "Count: 5 lines\n"
    );
    sv.stop();
}

#[test]
fn pipes_help_errors_and_version() {
    let dir = TempDir::new("pipes");
    let sv = start(&dir);
    let all = sv.cli("show services sessions");
    let lines: Vec<&str> = all.lines().collect();
    let flows = lines
        .iter()
        .filter(|l| l.split_whitespace().count() == 7)
        .count();
    assert_eq!(flows, 10);
    assert_eq!(
        sv.cli("show services sessions | match Forward | count"),
        format!(
            "Count: {} lines\n",
            lines.iter().filter(|l| l.contains("Forward")).count()
        )
    );
    assert_eq!(
        sv.cli("show services sessions | match \"Drop|Forward\" | except ICMP | count"),
        format!(
            "Count: {} lines\n",
            lines
                .iter()
                .filter(|l| (l.contains("Drop") || l.contains("Forward")) && !l.contains("ICMP"))
                .count()
        )
    );
    assert_eq!(
        sv.cli("show services sessions | count"),
        format!("Count: {} lines\n", lines.len())
    );
    assert_eq!(
        sv.cli("show services sessions | last 3"),
        lines[lines.len() - 3..]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    let find = sv.cli("show services sessions | find mams-5/0/1");
    assert!(find.starts_with("mams-5/0/1\n"), "{find}");
    assert_eq!(
        sv.cli("show services sessions | trim 4 | match ^-5/0/"),
        "-5/0/0\n-5/0/1\n"
    );
    assert_eq!(sv.cli("show services sessions | no-more"), all);
    // save is the client's: the server writes no file.
    let file = dir.path("saved.txt");
    let refused = sv.cli(&format!("show services sessions | save {}", file.display()));
    assert!(
        refused.starts_with("error: '| save' is written by the client"),
        "{refused}"
    );
    assert!(!file.exists());
    let e = sv.cli("show services sessions | last 100001");
    assert!(
        e.contains("Value 100001 is not within range (1..100000)"),
        "{e}"
    );

    // `?` lists what may come next.
    let h = sv.cli("show services sessions ?");
    assert!(
        h.starts_with("Possible completions:\n  <[Enter]>            Execute this command\n"),
        "{h}"
    );
    assert!(
        h.contains("\n  application-protocol Application protocol name\n"),
        "{h}"
    );
    assert!(
        h.ends_with("  |                    Pipe through a command\n"),
        "{h}"
    );
    let h = sv.cli("show se?");
    assert_eq!(
        h,
        "Possible completions:\n  security             Show security information\n  services             Show services information\n"
    );
    let h = sv.cli("clear ?");
    assert!(h.contains("  security") && h.contains("  services"), "{h}");

    // Junos errors: the caret under the start of the bad word.
    let e = sv.cli("show services sesions");
    assert_eq!(
        e,
        "show services sesions\n              ^\nsyntax error, expecting <command>.\n"
    );
    let e = sv.cli("sh s");
    assert!(e.contains("'s' is ambiguous."), "{e}");
    let v = sv.cli("show version");
    assert!(v.starts_with("Hostname: svcard\n"), "{v}");
    sv.stop();
}

#[test]
fn clear_commands_mark_and_remove_exactly_the_selected_sessions() {
    let dir = TempDir::new("clear");
    let sv = start(&dir);
    // Display modifiers and junk are errors and clear nothing.
    for bad in [
        "clear services sessions brief",
        "clear services sessions count",
        "clear services sessions extensive protocol udp",
        "clear services sessions terse",
        "clear services sessions source-port 99999",
        "clear services sessions bogus",
        "clear security flow session summary",
        "clear security flow session brief",
        "clear security flow session all protocol udp",
        "clear security flow session source-port x",
    ] {
        let out = sv.cli(bad);
        assert!(
            out.contains("syntax error")
                || out.contains("not within range")
                || out.contains("invalid"),
            "{bad}: {out}"
        );
    }
    let e = sv.cli("clear services sessions service-set nope");
    assert_eq!(e, "error: service-set 'nope' not found\n");
    assert_eq!(
        services_sessions(&sv.cli("show services sessions")).len(),
        5
    );

    // The request RPC of a clear does not clear.
    let rpc = sv.cli("clear security flow session all | display xml rpc");
    assert!(rpc.contains("<clear-flow-session-all/>"), "{rpc}");
    assert_eq!(
        services_sessions(&sv.cli("show services sessions")).len(),
        5
    );

    let before = services_sessions(&sv.cli("show services sessions"));
    let dns = before.iter().find(|s| s.2 == 7000).unwrap().clone();
    let out = sv.cli("clear services sessions protocol udp destination-port 53");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0], "Interface   Service set                 Sessions marked for deletion",
        "{out}"
    );
    assert_eq!(
        lines.len(),
        3,
        "one row per member interface and service set: {out}"
    );
    for l in &lines[1..] {
        let cols: Vec<&str> = l.split_whitespace().collect();
        let want = if cols[0] == dns.0 { "1" } else { "0" };
        assert_eq!((cols[1], cols[2]), ("ss1", want), "{out}");
    }
    let left = ports(&services_sessions(&sv.cli("show services sessions")));
    assert_eq!(left, set(&[7100, 7200, 7300, 7400]));

    let out =
        sv.cli("clear services sessions application-protocol none protocol udp | display xml");
    let doc = xml::parse(&out);
    let marked: u64 = doc
        .find_all(&[
            "rpc-reply",
            "service-msp-sess-drain-information",
            "service-msp-sess-drain",
            "sess-marked-for-deletion",
        ])
        .iter()
        .map(|n| n.text.parse::<u64>().unwrap())
        .sum();
    assert_eq!(marked, 1, "{out}");
    assert_eq!(
        ports(&services_sessions(&sv.cli("show services sessions"))),
        set(&[7100, 7300, 7400])
    );

    let out = sv.cli("clear security flow session source-port 7100");
    assert!(out.starts_with("Flow Sessions on FPC0 PIC"), "{out}");
    assert_eq!(
        out.lines()
            .filter_map(|l| l.strip_suffix(" active sessions cleared"))
            .map(|n| n.parse::<u64>().unwrap())
            .sum::<u64>(),
        1,
        "{out}"
    );
    assert_eq!(
        ports(&services_sessions(&sv.cli("show services sessions"))),
        set(&[7300, 7400])
    );
    let out = sv.cli("clear security flow session all");
    assert_eq!(
        out.lines()
            .filter_map(|l| l.strip_suffix(" active sessions cleared"))
            .map(|n| n.parse::<u64>().unwrap())
            .sum::<u64>(),
        2,
        "{out}"
    );
    assert!(services_sessions(&sv.cli("show services sessions")).is_empty());
    sv.wait_for("show security flow session summary", 10, |o| {
        field_values(o, "Unicast-sessions").iter().sum::<u64>() == 0
    });
    let out = sv.cli("clear security flow session all | display json");
    json::parse(&out).unwrap();
    sv.stop();
}

/// A small XML reader for the tests: elements, attributes skipped, text, entities.
mod xml {
    #[derive(Debug, Default)]
    pub struct Node {
        pub name: String,
        pub text: String,
        pub children: Vec<Node>,
    }

    impl Node {
        /// Every node at the end of `path` (the first name is this node's).
        pub fn find_all(&self, path: &[&str]) -> Vec<&Node> {
            if path.first() != Some(&self.name.as_str()) {
                return Vec::new();
            }
            if path.len() == 1 {
                return vec![self];
            }
            self.children
                .iter()
                .flat_map(|c| c.find_all(&path[1..]))
                .collect()
        }
    }

    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    }

    /// Parses a document, panicking (with the text) unless it is well formed.
    pub fn parse(s: &str) -> Node {
        let mut stack: Vec<Node> = vec![Node::default()];
        let mut rest = s;
        while let Some(lt) = rest.find('<') {
            let text = &rest[..lt];
            if let Some(top) = stack.last_mut() {
                top.text.push_str(&unescape(text.trim()));
            }
            let gt = rest[lt..]
                .find('>')
                .unwrap_or_else(|| panic!("unclosed tag\n{s}"))
                + lt;
            let tag = &rest[lt + 1..gt];
            assert!(!tag.contains('<'), "bad tag {tag}\n{s}");
            rest = &rest[gt + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let n = stack.pop().unwrap();
                assert_eq!(n.name, name, "mismatched close\n{s}");
                stack
                    .last_mut()
                    .unwrap_or_else(|| panic!("extra close\n{s}"))
                    .children
                    .push(n);
            } else {
                let self_closing = tag.ends_with('/');
                let body = tag.trim_end_matches('/');
                let name = body.split_whitespace().next().unwrap().to_string();
                assert_eq!(body.matches('"').count() % 2, 0, "attribute quotes\n{s}");
                let n = Node {
                    name,
                    ..Node::default()
                };
                if self_closing {
                    stack.last_mut().unwrap().children.push(n);
                } else {
                    stack.push(n);
                }
            }
        }
        assert!(rest.trim().is_empty(), "trailing text\n{s}");
        assert_eq!(stack.len(), 1, "unclosed elements\n{s}");
        let mut doc = stack.pop().unwrap();
        assert_eq!(doc.children.len(), 1, "one root\n{s}");
        doc.children.pop().unwrap()
    }
}

/// A small strict JSON parser for the tests.
mod json {
    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Num(f64),
        Str(String),
        Arr(Vec<Value>),
        Obj(Vec<(String, Value)>),
    }

    impl Value {
        pub fn get(&self, k: &str) -> Option<&Value> {
            match self {
                Value::Obj(m) => m.iter().find(|(n, _)| n == k).map(|(_, v)| v),
                _ => None,
            }
        }
        pub fn items(&self) -> &[Value] {
            match self {
                Value::Arr(a) => a,
                _ => panic!("not an array: {self:?}"),
            }
        }
        pub fn string(&self) -> &str {
            match self {
                Value::Str(s) => s,
                _ => panic!("not a string: {self:?}"),
            }
        }
    }

    struct P<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl P<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) -> Result<(), String> {
            self.ws();
            if self.s.get(self.i) == Some(&c) {
                self.i += 1;
                Ok(())
            } else {
                Err(format!("expected '{}' at byte {}", c as char, self.i))
            }
        }
        fn string(&mut self) -> Result<String, String> {
            self.eat(b'"')?;
            let mut out = Vec::new();
            loop {
                let c = *self.s.get(self.i).ok_or("unterminated string")?;
                self.i += 1;
                match c {
                    b'"' => break,
                    b'\\' => {
                        let e = *self.s.get(self.i).ok_or("bad escape")?;
                        self.i += 1;
                        match e {
                            b'"' | b'\\' | b'/' => out.push(e),
                            b'n' => out.push(b'\n'),
                            b't' => out.push(b'\t'),
                            b'r' => out.push(b'\r'),
                            b'u' => {
                                let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                                let c =
                                    char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap();
                                self.i += 4;
                                out.extend(c.to_string().bytes());
                            }
                            _ => return Err(format!("bad escape at {}", self.i)),
                        }
                    }
                    c if c < 0x20 => return Err("control character in string".into()),
                    c => out.push(c),
                }
            }
            String::from_utf8(out).map_err(|e| e.to_string())
        }
        fn value(&mut self) -> Result<Value, String> {
            self.ws();
            match self.s.get(self.i) {
                Some(b'{') => {
                    self.i += 1;
                    let mut m = Vec::new();
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(Value::Obj(m));
                    }
                    loop {
                        self.ws();
                        let k = self.string()?;
                        self.eat(b':')?;
                        m.push((k, self.value()?));
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(Value::Obj(m));
                            }
                            _ => return Err(format!("expected , or }} at {}", self.i)),
                        }
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    let mut a = Vec::new();
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(Value::Arr(a));
                    }
                    loop {
                        a.push(self.value()?);
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(Value::Arr(a));
                            }
                            _ => return Err(format!("expected , or ] at {}", self.i)),
                        }
                    }
                }
                Some(b'"') => Ok(Value::Str(self.string()?)),
                Some(b'n') if self.s[self.i..].starts_with(b"null") => {
                    self.i += 4;
                    Ok(Value::Null)
                }
                Some(b't') if self.s[self.i..].starts_with(b"true") => {
                    self.i += 4;
                    Ok(Value::Bool(true))
                }
                Some(b'f') if self.s[self.i..].starts_with(b"false") => {
                    self.i += 5;
                    Ok(Value::Bool(false))
                }
                Some(c) if c.is_ascii_digit() || *c == b'-' => {
                    let st = self.i;
                    while self.i < self.s.len()
                        && matches!(
                            self.s[self.i],
                            b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
                        )
                    {
                        self.i += 1;
                    }
                    std::str::from_utf8(&self.s[st..self.i])
                        .unwrap()
                        .parse()
                        .map(Value::Num)
                        .map_err(|e| format!("{e}"))
                }
                _ => Err(format!("unexpected byte at {}", self.i)),
            }
        }
    }

    /// Parses one JSON document (nothing but whitespace after it).
    pub fn parse(s: &str) -> Result<Value, String> {
        let mut p = P {
            s: s.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != s.len() {
            return Err(format!("trailing bytes at {}", p.i));
        }
        Ok(v)
    }
}

/// Initiator source ports of the sessions in a `show security flow session` answer.
fn flow_session_ports(out: &str) -> BTreeSet<u16> {
    out.lines()
        .filter_map(|l| l.trim_start().strip_prefix("In: "))
        .map(|r| {
            let src = r.split(" --> ").next().unwrap_or("");
            src.rsplit('/').next().unwrap_or("").parse().unwrap()
        })
        .collect()
}

#[test]
fn security_flow_session_filters_select_exactly() {
    let dir = TempDir::new("sfs");
    let sv = start(&dir);
    let all = sv.cli("show security flow session");
    assert_eq!(
        flow_session_ports(&all),
        set(&[7000, 7100, 7200, 7300, 7400]),
        "{all}"
    );
    let cases: &[(&str, &[u16])] = &[
        ("protocol udp", &[7000, 7200]),
        ("protocol 6", &[7100, 7300]),
        ("protocol icmp", &[7400]),
        ("source-prefix 10.2.0.4/32", &[7300]),
        ("source-prefix 10.2.0.0/30", &[7000, 7100, 7200]),
        ("destination-prefix 198.51.100.0/24", &[7200]),
        ("source-port 7100", &[7100]),
        ("destination-port 21", &[7300]),
        ("application junos-ftp", &[7300]),
        ("application junos-dns-udp", &[7000]),
        ("interface ge-0/0/1.0", &[7000]),
        ("interface ge-0/0/0.0", &[7000, 7100, 7200, 7300, 7400]),
        // The DNS and FTP applications carry ALGs the control core runs: their sessions
        // are the resource manager's. (The ICMP ALG runs on the workers: ICMP errors are
        // tied to the session they quote; an echo session is nobody's conversation.)
        ("resource-manager", &[7000, 7300]),
        ("extensive protocol tcp destination-port 80", &[7100]),
        ("brief source-port 7200", &[7200]),
    ];
    for (f, want) in cases {
        let out = sv.cli(&format!("show security flow session {f}"));
        assert_eq!(flow_session_ports(&out), set(want), "{f}:\n{out}");
        let total: u64 = out
            .lines()
            .filter_map(|l| l.strip_prefix("Total sessions: "))
            .map(|n| n.parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, want.len() as u64, "{f}:\n{out}");
    }
    let id = all
        .lines()
        .find_map(|l| l.strip_prefix("Session ID: "))
        .and_then(|r| r.split(',').next())
        .unwrap()
        .to_string();
    let one = sv.cli(&format!(
        "show security flow session session-identifier {id}"
    ));
    assert_eq!(flow_session_ports(&one).len(), 1, "{one}");
    let sum = sv.cli("show security flow session resource-manager summary");
    assert!(sum.contains("Valid sessions: "), "{sum}");
    sv.stop();
}

#[test]
fn sessions_without_a_matching_rule_show_the_default_policy() {
    let dir = TempDir::new("defpol");
    let sv = start(&dir);
    let all = sv.cli("show security flow session");
    assert!(!all.contains("/65536"), "{all}");
    for l in all.lines().filter(|l| l.starts_with("Session ID: ")) {
        let policy = l
            .split("Policy name: ")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        let (name, index) = policy.rsplit_once('/').unwrap();
        let index: u32 = index.parse().unwrap();
        assert!(
            (name == "default-policy" && index == 0) || (name != "N/A" && index >= 1),
            "{l}"
        );
    }
    sv.stop();
}

#[test]
fn a_client_that_stops_reading_does_not_hold_up_the_others() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let dir = TempDir::new("slow");
    let n = 5000u16;
    let sv = many_udp_sessions(&dir, n);
    // The slow client: asks for every session at length, reads a little, then stops.
    let mut slow = UnixStream::connect(&sv.socket).unwrap();
    slow.write_all(b"show security flow session extensive\n")
        .unwrap();
    let mut first = vec![0u8; 4096];
    slow.read_exact(&mut first).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Another client is answered while the first one sits on its output.
    let t0 = std::time::Instant::now();
    let out = sv.cli("show security flow session protocol udp | match \"Session ID\" | count");
    assert_eq!(out, format!("Count: {n} lines\n"));
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(10),
        "the other client waited {:?}",
        t0.elapsed()
    );
    // The slow client then gets everything, each session exactly once.
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest).unwrap();
    first.extend_from_slice(&rest);
    let text = String::from_utf8(first).unwrap();
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Session ID: "))
        .map(|r| r.split(',').next().unwrap())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        ids.len(),
        usize::from(n),
        "sessions in the slow client's answer"
    );
    assert_eq!(unique.len(), usize::from(n), "a session was sent twice");
    assert!(
        text.trim_end().ends_with(&format!("Total sessions: {n}")),
        "{}",
        &text[text.len().saturating_sub(300)..]
    );
    sv.stop();
}

/// Ten clients that ask for every session at length and stop reading hold walks the
/// control core must take turns on; a count, which walks nothing to a client, goes ahead
/// of them and is answered at once.
#[test]
fn a_count_goes_ahead_of_walks_whose_clients_stopped_reading() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let dir = TempDir::new("slow-count");
    let n = 5000u16;
    let sv = many_udp_sessions(&dir, n);
    let slow: Vec<UnixStream> = (0..10)
        .map(|_| {
            let mut s = UnixStream::connect(&sv.socket).unwrap();
            s.write_all(b"show services sessions extensive | display json\n")
                .unwrap();
            let mut first = vec![0u8; 1024];
            s.read_exact(&mut first).unwrap();
            s
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let t0 = std::time::Instant::now();
    let out = sv.cli("show services sessions count protocol udp");
    let waited = t0.elapsed();
    assert!(out.contains("ss1"), "{out}");
    assert!(
        // Behind the ten walks taking turns it waited 1.0 s; ahead of them, 20 ms, and
        // 422 ms once in a CI run with the other tests of this file beside it on 2 cores:
        // 600 ms still tells ahead from behind.
        waited < std::time::Duration::from_millis(600),
        "the count waited {waited:?} behind the stalled walks"
    );
    drop(slow);
    sv.stop();
}

/// A process with `n` UDP sessions (one worker, `--hold`), once they are all in.
fn many_udp_sessions(dir: &TempDir, n: u16) -> Svcard {
    let client: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            udp(
                &format!("10.5.{}.{}", i / 250, i % 250 + 1),
                20_000 + i,
                "192.0.2.50",
                9000,
                1,
            )
        })
        .collect();
    write_pcap(&dir.path("c.pcap"), &client);
    write_one_worker_config(dir);
    let sv = Svcard::start(dir, &dir.path("svcard.toml"), &["--hold", "--fast"]);
    sv.wait_for("show security flow session summary", 15, |o| {
        o.contains(&format!("Unicast-sessions: {n}\n"))
    });
    sv
}

/// The interactive shell through a real terminal (tmux): space completes a unique keyword
/// prefix, `?` lists what may come next and gives the line back, Tab completes (a second
/// Tab on an ambiguous word lists the candidates), the pager
/// stops a long answer (space, `q`), the up arrow recalls the last command, `| no-more`
/// and `set cli screen-length 0` turn the pager off, `show cli` says so. The tmux server
/// is ended by its PID.
#[test]
fn the_interactive_shell_in_a_real_terminal() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: no tmux");
        return;
    }
    let dir = TempDir::new("cli-tmux");
    write_pcap(
        &dir.path("c.pcap"),
        &[udp("10.5.0.1", 20_000, "192.0.2.50", 9000, 1)],
    );
    write_one_worker_config(&dir);
    let sv = Svcard::start(&dir, &dir.path("svcard.toml"), &["--hold"]);
    sv.wait_for("show security flow session summary", 20, |o| {
        o.contains("Unicast-sessions: 1")
    });
    let server = format!("svcli{}", std::process::id());
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(["-L", &server, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap()
    };
    let shell = format!(
        "env HOME={} {BIN} cli --socket {}",
        dir.0.display(),
        sv.socket.display()
    );
    let o = tmux(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "160",
        "-y",
        "60",
        &shell,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pid = String::from_utf8(tmux(&["display-message", "-p", "#{pid}"]).stdout)
        .unwrap()
        .trim()
        .to_string();
    // Ends the tmux server (and the shell in it) by its PID, whatever the test's outcome.
    struct EndByPid(String);
    impl Drop for EndByPid {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill").arg(&self.0).status();
        }
    }
    let _end = EndByPid(pid);
    let screen = || String::from_utf8(tmux(&["capture-pane", "-p", "-S", "-2000"]).stdout).unwrap();
    let wait_for = |what: &str, times: usize| {
        let t0 = std::time::Instant::now();
        loop {
            let s = screen();
            if s.matches(what).count() >= times {
                return s;
            }
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(10),
                "no {what:?} ({times}x) on the screen:\n{s}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let keys = |k: &[&str]| {
        let mut a = vec!["send-keys", "-t", "t"];
        a.extend_from_slice(k);
        tmux(&a);
    };
    wait_for("svcard>", 1);
    // Space completes each keyword.
    keys(&[
        "sh", "Space", "sec", "Space", "fl", "Space", "sess", "Space", "sum", "Enter",
    ]);
    let s = wait_for("Unicast-sessions: 1", 1);
    assert!(s.contains("> show security flow session sum\n"), "{s}");
    // `?` lists, and gives the line back.
    keys(&["show sv?"]);
    let s = wait_for("Possible completions:", 1);
    assert!(s.contains("svcard"), "{s}");
    // Tab completes what was given back, then the rest. The answer (over 100 lines) is
    // longer than the 60-row screen: the pager stops at `---(more)---`; space shows the
    // next screen, until the answer ends. The last line of the answer (the last ALG's):
    let last = format!(
        "alg_handoff_ring_full.{}",
        svcard_config::AlgKind::ENGINES[svcard_config::AlgKind::ENGINES.len() - 1]
    );
    let last = last.as_str();
    keys(&["Tab", "st", "Tab", "Enter"]);
    let s = wait_for("---(more)---", 1);
    assert!(
        s.contains("Worker statistics on") && !s.contains(last),
        "{s}"
    );
    let prompts = s.matches("svcard>").count();
    let mut pages = 1;
    let mut before = s;
    let s = loop {
        keys(&["Space"]);
        pages += 1;
        // The pager erases its `---(more)---` line and shows the next screen, which ends
        // with the next one or with the prompt.
        let t0 = std::time::Instant::now();
        let s = loop {
            let s = screen();
            let tail = s.trim_end().lines().last().unwrap_or("").to_string();
            if s != before && (tail == "---(more)---" || tail.ends_with("svcard>")) {
                break s;
            }
            assert!(t0.elapsed() < std::time::Duration::from_secs(10), "{s}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        if s.matches("svcard>").count() > prompts {
            break s;
        }
        assert!(pages < 10, "the pager never ends: {s}");
        before = s;
    };
    assert_eq!(s.matches(last).count(), 1, "{s}");
    // The up arrow recalls it; `q` at the pager ends the answer there.
    keys(&["Up", "Enter"]);
    wait_for("---(more)---", 1);
    keys(&["q"]);
    let s = wait_for("svcard>", prompts + 2);
    assert_eq!(s.matches(last).count(), 1, "q showed the rest: {s}");
    assert!(s.contains("> show svcard statistics"), "{s}");
    // `| no-more` does not stop.
    keys(&["Up", " | no-more", "Enter"]);
    let s = wait_for("svcard>", prompts + 3);
    assert!(s.contains("> show svcard statistics | no-more"), "{s}");
    assert_eq!(s.matches(last).count(), 2, "{s}");
    assert!(!s.contains("---(more)---"), "{s}");
    // `set cli screen-length 0` turns the pager off for the session; `show cli` says so.
    keys(&["set cli screen-length 0", "Enter"]);
    wait_for("Screen length set to 0", 1);
    keys(&["show svcard statistics", "Enter"]);
    let s = wait_for(last, 3);
    assert!(!s.contains("---(more)---"), "{s}");
    keys(&["show cli", "Enter"]);
    wait_for("CLI screen-length set to 0", 1);
    // Tab on an ambiguous word keeps it; a second Tab lists the words (Junos's way, not a
    // cycle that takes the completion back); the line is still there to finish.
    keys(&["show se", "Tab", "Tab"]);
    let s = wait_for("services", 1);
    assert!(
        s.lines()
            .any(|l| l.contains("security") && l.contains("services") && !l.contains('>')),
        "the second Tab lists the candidates: {s}"
    );
    keys(&[
        "c", "Tab", "fl", "Tab", "sess", "Tab", "sum", "Tab", "Enter",
    ]);
    let s = wait_for("Unicast-sessions: 1", 2);
    assert!(s.contains("> show security flow session summary\n"), "{s}");
    keys(&["exit", "Enter"]);
    sv.stop();
}
