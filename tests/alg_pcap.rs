//! The ALG hand-off on the pure-Rust backend: a policy that accepts only the FTP control
//! connection; the control core's FTP ALG must open exactly the data connection the
//! control connection negotiated, on the worker, before the reply that names it leaves.
//! With the ALG switched off the data connection is blocked. The engine runs in-process
//! (`InProcess`), replaying at the capture's pace.

mod common;

use common::*;
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::wire::{self, Outcome};

const C: &str = "10.1.0.1";
const S: &str = "192.0.2.21";

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const SYN_ACK: u8 = 0x12;

/// Frames of one capture, per side, on one clock.
#[derive(Default)]
struct Capture {
    c: Vec<Record>,
    s: Vec<Record>,
    t: u64,
}

impl Capture {
    fn new() -> Capture {
        Capture {
            t: 1_000_000_000,
            ..Capture::default()
        }
    }
    /// 100 ms after the previous frame: time for the control core to install a pinhole
    /// even on a loaded machine (the replay follows the capture's clock).
    fn client(&mut self, f: Vec<u8>) {
        self.t += 100_000_000;
        self.c.push(Record {
            ts_ns: self.t,
            data: f,
        });
    }
    fn server(&mut self, f: Vec<u8>) {
        self.t += 100_000_000;
        self.s.push(Record {
            ts_ns: self.t,
            data: f,
        });
    }
    fn pause(&mut self, ms: u64) {
        self.t += ms * 1_000_000;
    }

    /// An FTP control connection from client port `ctrl` that negotiates a passive data
    /// connection to server port `pasv` (PASV / 227).
    fn ftp_control(&mut self, ctrl: u16, pasv: u16) {
        let (ci, si) = (1000u32, 5000u32);
        let banner = b"220 svcard test\r\n";
        let cmd = b"PASV\r\n";
        let reply = format!(
            "227 Entering Passive Mode (192,0,2,21,{},{}).\r\n",
            pasv >> 8,
            pasv & 0xff
        );
        self.client(tcp(C, ctrl, S, 21, SYN, ci, 0, &[]));
        self.server(tcp(S, 21, C, ctrl, SYN_ACK, si, ci + 1, &[]));
        self.client(tcp(C, ctrl, S, 21, ACK, ci + 1, si + 1, &[]));
        self.server(tcp(S, 21, C, ctrl, PSH_ACK, si + 1, ci + 1, banner));
        let s2 = si + 1 + banner.len() as u32;
        self.client(tcp(C, ctrl, S, 21, PSH_ACK, ci + 1, s2, cmd));
        let c2 = ci + 1 + cmd.len() as u32;
        self.server(tcp(S, 21, C, ctrl, PSH_ACK, s2, c2, reply.as_bytes()));
    }

    /// A data connection from client port `from` to server port `to`.
    fn data(&mut self, from: u16, to: u16) {
        self.client(tcp(C, from, S, to, SYN, 7000, 0, &[]));
        self.server(tcp(S, to, C, from, SYN_ACK, 9000, 7001, &[]));
        self.client(tcp(C, from, S, to, ACK, 7001, 9001, &[]));
        self.server(tcp(S, to, C, from, PSH_ACK, 9001, 7001, b"file contents\n"));
    }

    fn write(&self, dir: &TempDir) {
        svcard_perf::write_pcap(&dir.path("client.pcap"), &self.c).unwrap();
        svcard_perf::write_pcap(&dir.path("server.pcap"), &self.s).unwrap();
    }
}

/// The control connection (client port 40000) negotiates port 5001; the data connection
/// follows; then a connection to a port nobody negotiated (5002, SYN only).
fn ftp_passive() -> Capture {
    let mut cap = Capture::new();
    cap.ftp_control(40000, 5001);
    cap.data(40001, 5001);
    cap.client(tcp(C, 40002, S, 5002, SYN, 7100, 0, &[]));
    cap
}

fn config(dir: &TempDir, workers: u16, alg: &str) -> std::path::PathBuf {
    config_for(dir, workers, "junos-ftp", alg)
}

fn config_for(dir: &TempDir, workers: u16, app: &str, alg: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[workers]
count = {workers}
[[port]]
name = "ge-0/0/0.0"
pcap-rx = "client.pcap"
pcap-tx = "out0.pcap"
peer = "ge-0/0/1.0"
[[port]]
name = "ge-0/0/1.0"
pcap-rx = "server.pcap"
pcap-tx = "out1.pcap"
peer = "ge-0/0/0.0"
[[service-set]]
name = "ss1"
ports = ["ge-0/0/0.0", "ge-0/0/1.0"]
default-action = "discard"
[[service-set.rule]]
name = "control"
application = ["{app}"]
action = "accept"
{alg}
"#
    );
    let p = dir.path("svcard.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn ports_of(frames: &[Vec<u8>]) -> Vec<(u16, u16)> {
    frames
        .iter()
        .filter_map(|f| match wire::parse(f) {
            Outcome::Ip(p) => Some((p.sport, p.dport)),
            _ => None,
        })
        .collect()
}

fn setup(tag: &str, cap: &Capture, workers: u16, alg: &str) -> TempDir {
    let dir = TempDir::new(tag);
    cap.write(&dir);
    config(&dir, workers, alg);
    dir
}

#[test]
fn ftp_alg_opens_the_negotiated_data_connection_and_nothing_else() {
    let dir = setup("alg-ftp", &ftp_passive(), 1, "");
    let sv = InProcess::start_with(&dir.path("svcard.toml"), true);
    // The replay takes about a quarter of a second; the conversation shows once it ran.
    // The last frame of the capture opens a session to port 5002.
    sv.wait_for("show security flow session", 20, |o| {
        o.contains("/5002;tcp")
    });
    let conv = sv.cli("show services alg conversations application-protocol ftp extensive");
    let rm = sv.cli("show security flow session resource-manager extensive");
    let rm_brief = sv.cli("show security flow session resource-manager");
    let stats = sv.cli("show services alg statistics");
    let log = sv.stop();
    let to_server = ports_of(&read_pcap(&dir.path("out1.pcap")));
    let to_client = ports_of(&read_pcap(&dir.path("out0.pcap")));
    // Everything of the control connection passed, both ways, and the data connection.
    assert_eq!(
        to_server,
        vec![
            (40000, 21),
            (40000, 21),
            (40000, 21),
            (40001, 5001),
            (40001, 5001)
        ],
        "{log}"
    );
    assert_eq!(
        to_client,
        vec![
            (21, 40000),
            (21, 40000),
            (21, 40000),
            (5001, 40001),
            (5001, 40001)
        ],
        "{log}"
    );
    // The conversation: parent and child with their flows.
    assert!(conv.contains("ALG : FTP ALG"), "{conv}");
    assert!(
        conv.contains("Forward Flow : {10.1.0.1:40000 -> 192.0.2.21:21}"),
        "{conv}"
    );
    assert!(
        conv.contains("Forward Flow : {10.1.0.1:40001 -> 192.0.2.21:5001}"),
        "{conv}"
    );
    assert!(
        conv.contains("Reverse Flow : {192.0.2.21:5001 -> 10.1.0.1:40001}"),
        "{conv}"
    );
    // The resource manager's view of both sessions: the parent is resource 0 of group 1,
    // the child came through resource 1; the session to port 5002 is not its business.
    assert!(
        rm.contains("Client: FTP ALG, Group: 1, Resource: 0"),
        "{rm}"
    );
    assert!(
        rm.contains("Client: FTP ALG, Group: 1, Resource: 1"),
        "{rm}"
    );
    assert!(
        rm.contains("10.1.0.1/40001 --> 192.0.2.21/5001;tcp"),
        "{rm}"
    );
    assert!(rm.contains("Application: junos-ftp-data/"), "{rm}");
    assert!(!rm.contains("/5002;tcp"), "{rm}");
    assert!(
        rm_brief.contains("Resource information : FTP ALG, 1, 1"),
        "{rm_brief}"
    );
    // Counted per ALG.
    let ftp = stats.split("\n\n").next().unwrap();
    assert!(ftp.starts_with("FTP ALG, State: enabled"), "{stats}");
    for (label, n) in [
        ("Pinholes opened", 1),
        ("Pinholes matched", 1),
        ("Conversations active", 1),
        ("Hand-off drops", 0),
    ] {
        let line = ftp
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap();
        assert_eq!(
            line.split_whitespace().last(),
            Some(n.to_string().as_str()),
            "{stats}"
        );
    }
}

#[test]
fn with_the_ftp_alg_off_the_data_connection_is_blocked() {
    let dir = setup(
        "alg-ftp-off",
        &ftp_passive(),
        1,
        "[alg.ftp]\nenabled = false\n",
    );
    let log = InProcess::run_to_end(&dir.path("svcard.toml"));
    let to_server = ports_of(&read_pcap(&dir.path("out1.pcap")));
    let to_client = ports_of(&read_pcap(&dir.path("out0.pcap")));
    assert_eq!(to_server, vec![(40000, 21); 3], "{log}");
    assert_eq!(to_client, vec![(21, 40000); 3], "{log}");
}

/// Which of two workers RSS gives a client → server frame between these ports.
fn worker_of(from: u16, to: u16) -> u16 {
    svcard_dataplane::port::pcap::rss_worker(&tcp(C, from, S, to, SYN, 1, 0, &[]), 2)
}

#[test]
fn the_pinhole_is_on_every_worker_before_the_reply_leaves() {
    // Pick a data connection that RSS puts on the other worker than its control
    // connection: its first packet must find the pinhole there.
    let ctrl_worker = worker_of(40000, 21);
    let from = (41000..42000)
        .find(|&p| worker_of(p, 5001) != ctrl_worker)
        .unwrap();
    let mut cap = Capture::new();
    cap.ftp_control(40000, 5001);
    cap.data(from, 5001);
    let dir = setup("alg-2w", &cap, 2, "");
    let log = InProcess::run_to_end(&dir.path("svcard.toml"));
    let to_server = ports_of(&read_pcap(&dir.path("out1.pcap")));
    let to_client = ports_of(&read_pcap(&dir.path("out0.pcap")));
    assert_eq!(
        to_server.iter().filter(|p| **p == (from, 5001)).count(),
        2,
        "the data connection on worker {} passed: {to_server:?}\n{log}",
        1 - ctrl_worker
    );
    assert_eq!(
        to_client.iter().filter(|p| **p == (5001, from)).count(),
        2,
        "{to_client:?}\n{log}"
    );
    // Both workers created sessions: the control connection on one, the data on the other.
    for w in 0..2 {
        assert!(
            log.contains(&format!("worker {w}: "))
                && !log.contains(&format!("worker {w}: rx_packets=0 ")),
            "{log}"
        );
    }
}

/// Runs `cap` (whose data connection 40001 -> 5001 must be blocked) with `alg`'s settings;
/// returns the FTP ALG's statistics (label -> value) and the conversations.
fn run_blocked(tag: &str, cap: &Capture, alg: &str, why: &str) -> (Vec<(String, String)>, String) {
    let dir = setup(tag, cap, 1, alg);
    let sv = InProcess::start_with(&dir.path("svcard.toml"), true);
    sv.wait_for("show security flow session", 20, |o| {
        o.contains("/5001;tcp")
    });
    let stats = sv.cli("show services alg statistics application-protocol ftp");
    let conv = sv.cli("show services alg conversations extensive");
    let log = sv.stop();
    let to_server = ports_of(&read_pcap(&dir.path("out1.pcap")));
    assert!(
        !to_server.contains(&(40001, 5001)),
        "{why} let the data through: {to_server:?}\n{stats}\n{log}"
    );
    let lines = stats
        .lines()
        .filter_map(|l| {
            let (label, v) = l.trim().rsplit_once(char::is_whitespace)?;
            Some((label.trim().to_string(), v.to_string()))
        })
        .collect();
    (lines, conv)
}

fn line<'a>(stats: &'a [(String, String)], label: &str) -> Option<&'a str> {
    stats
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, v)| v.as_str())
}

#[test]
fn an_unused_pinhole_lapses_after_the_alg_timeout() {
    let mut cap = Capture::new();
    cap.ftp_control(40000, 5001);
    // The data connection comes 2.5 s later than the 1 s pinhole allows.
    cap.pause(2500);
    cap.data(40001, 5001);
    let (stats, conv) = run_blocked(
        "alg-lapse",
        &cap,
        "[alg.ftp]\ntimeout = 1\n",
        "the lapsed pinhole",
    );
    assert_eq!(line(&stats, "Pinholes expired"), Some("1"), "{stats:?}");
    assert_eq!(line(&stats, "Pinholes matched"), Some("0"), "{stats:?}");
    // The conversation stays (its parent lives) with no resource left.
    assert!(conv.contains("Number of resources: 0"), "{conv}");
}

#[test]
fn a_pinhole_goes_with_its_parent_when_the_control_connection_closes() {
    let mut cap = Capture::new();
    cap.ftp_control(40000, 5001);
    // The client resets the control connection; the data connection it negotiated comes
    // 1.5 s later, well inside the 30 s pinhole timeout.
    let c2 = 1000 + 1 + 6;
    cap.client(tcp(C, 40000, S, 21, 0x04, c2, 0, &[]));
    cap.pause(1500);
    cap.data(40001, 5001);
    let (stats, _) = run_blocked(
        "alg-parent-close",
        &cap,
        "",
        "the pinhole of a reset control connection",
    );
    assert_eq!(line(&stats, "Pinholes withdrawn"), Some("1"), "{stats:?}");
    assert_eq!(line(&stats, "Pinholes expired"), Some("0"), "{stats:?}");
    assert_eq!(line(&stats, "Pinholes active"), Some("0"), "{stats:?}");
}

#[test]
fn the_conversation_cap_leaves_a_second_control_connection_uninspected() {
    let mut cap = Capture::new();
    cap.ftp_control(40000, 5001);
    cap.data(40001, 5001);
    cap.ftp_control(40010, 5011);
    cap.data(40011, 5011);
    let dir = setup("alg-cap", &cap, 1, "[alg.ftp]\nmax-conversations = 1\n");
    let sv = InProcess::start_with(&dir.path("svcard.toml"), true);
    sv.wait_for("show security flow session", 20, |o| {
        o.contains("/5011;tcp")
    });
    let stats = sv.cli("show services alg statistics application-protocol ftp");
    let log = sv.stop();
    let to_server = ports_of(&read_pcap(&dir.path("out1.pcap")));
    assert!(to_server.contains(&(40001, 5001)), "{to_server:?}\n{log}");
    assert!(
        to_server.contains(&(40010, 21)),
        "the control connection passes: {to_server:?}"
    );
    assert!(
        !to_server.contains(&(40011, 5011)),
        "over the cap nothing is opened: {to_server:?}\n{log}"
    );
    assert!(
        stats.lines().any(
            |l| l.trim_start().starts_with("Conversations refused by cap") && l.ends_with(" 1")
        ),
        "{stats}"
    );
}

/// Junos flag 0x4 ("no free session ID available") on the ALG's session whose child found
/// the table full: a table of two sessions holds the FTP control connection and a refused
/// flow to port 5002 (a drop-flow session) when the negotiated data connection arrives.
#[test]
fn a_child_refused_for_want_of_a_session_id_flags_its_parent_0x4() {
    let mut cap = Capture::new();
    cap.ftp_control(40000, 5001);
    cap.client(tcp(C, 40002, S, 5002, SYN, 7100, 0, &[]));
    cap.data(40001, 5001);
    let dir = setup("alg-flag4", &cap, 1, "[limits]\nmax-sessions = 2\n");
    let sv = InProcess::start_with(&dir.path("svcard.toml"), true);
    let out = sv.wait_for("show services sessions", 20, |o| {
        o.contains("Flags: 0x0004")
    });
    let stats = sv.cli("show svcard statistics");
    let log = sv.stop();
    let control = out
        .lines()
        .find(|l| l.contains("Flags: 0x0004"))
        .unwrap_or_else(|| panic!("no session flagged 0x4:\n{out}\n{log}"));
    assert!(
        control.contains("ALG: ftp"),
        "the FTP session: {control}\n{out}"
    );
    // The data connection's frames (its SYN, the server's answers) were refused.
    assert!(
        stats.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() == 2 && w[0] == "table_full_drops" && w[1] != "0"
        }),
        "{stats}"
    );
    // The data connection never crossed.
    let to_server = ports_of(&read_pcap(&dir.path("out1.pcap")));
    assert!(!to_server.contains(&(40001, 5001)), "{to_server:?}");
}

/// Junos flag 0x3 ("no memory available for new sessions") on the ALG's session whose
/// child's pinhole found the worker's pinhole table full: a table of one pinhole holds the
/// first control connection's, so the second one's PASV cannot open its data connection.
#[test]
fn a_pinhole_refused_for_want_of_memory_flags_its_parent_0x3() {
    let mut cap = Capture::new();
    cap.ftp_control(40000, 5001);
    cap.ftp_control(40010, 5011);
    let dir = setup("alg-flag3", &cap, 1, "");
    let opts = svcard_control::engine::EngineOptions {
        link_sizes: Some(svcard_dataplane::handoff::LinkSizes {
            pinholes: 1,
            ..Default::default()
        }),
        ..Default::default()
    };
    let sv = InProcess::start_opts(&dir.path("svcard.toml"), true, opts);
    let out = sv.wait_for("show services sessions", 20, |o| {
        o.contains("Flags: 0x0003")
    });
    let log = sv.stop();
    let flagged: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("Flags: 0x0003"))
        .collect();
    assert_eq!(flagged.len(), 1, "{out}\n{log}");
    // The second control connection's session (client port 40010) carries it.
    let at = out.find(flagged[0]).unwrap_or(0);
    let next = out[at..].lines().nth(1).unwrap_or("");
    assert!(next.contains(":40010"), "{out}");
    assert!(
        out.contains("Flags: 0x0000"),
        "the first is not flagged: {out}"
    );
}

/// H.323 through the gateway: the call signalling (accepted by the rule) names the H.245
/// address, the H.245 connection (opened by the pinhole and watched by the same ALG)
/// acknowledges a logical channel, and RTP to the acknowledged port passes; RTP to a port
/// nobody acknowledged does not.
#[test]
fn h323_call_signalling_opens_h245_which_opens_the_media() {
    use svcard_alg::h323::fixtures::{connect, open_logical_channel_ack, setup as q931_setup};
    let mut cap = Capture::new();
    let (c, s) = ([10, 1, 0, 1], [192, 0, 2, 21]);
    // Call signalling, client 40000 -> server 1720.
    cap.client(tcp(C, 40000, S, 1720, SYN, 100, 0, &[]));
    cap.server(tcp(S, 1720, C, 40000, SYN_ACK, 900, 101, &[]));
    cap.client(tcp(C, 40000, S, 1720, ACK, 101, 901, &[]));
    let su = q931_setup(7, c, 11_000);
    cap.client(tcp(C, 40000, S, 1720, PSH_ACK, 101, 901, &su));
    let co = connect(7, s, 12_000);
    let c2 = 101 + su.len() as u32;
    cap.server(tcp(S, 1720, C, 40000, PSH_ACK, 901, c2, &co));
    // H.245 from the client to the server's announced port.
    cap.client(tcp(C, 40002, S, 12_000, SYN, 3000, 0, &[]));
    cap.server(tcp(S, 12_000, C, 40002, SYN_ACK, 7000, 3001, &[]));
    cap.client(tcp(C, 40002, S, 12_000, ACK, 3001, 7001, &[]));
    let ack = open_logical_channel_ack(1, (s, 5004), (s, 5005));
    cap.server(tcp(S, 12_000, C, 40002, PSH_ACK, 7001, 3001, &ack));
    // RTP to the acknowledged port, then to one nobody acknowledged.
    cap.client(udp(C, 6000, S, 5004, 1));
    cap.client(udp(C, 6000, S, 5006, 2));
    let dir = setup("alg-h323", &cap, 1, "");
    config_for(&dir, 1, "junos-h323", "");
    let sv = InProcess::start_with(&dir.path("svcard.toml"), true);
    sv.wait_for("show security flow session", 20, |o| {
        o.contains("/5006;udp")
    });
    let stats = sv.cli("show services alg statistics application-protocol h323");
    let log = sv.stop();
    let to_server = ports_of(&read_pcap(&dir.path("out1.pcap")));
    assert!(
        to_server.contains(&(40002, 12_000)),
        "the H.245 connection was not let through: {to_server:?}\n{stats}\n{log}"
    );
    assert!(
        to_server.contains(&(6000, 5004)),
        "the acknowledged channel's RTP did not pass: {to_server:?}\n{stats}\n{log}"
    );
    assert!(
        !to_server.contains(&(6000, 5006)),
        "RTP to a port nobody acknowledged passed: {to_server:?}"
    );
    let line = |l: &str| {
        stats
            .lines()
            .find(|x| x.trim_start().starts_with(l))
            .and_then(|x| x.split_whitespace().last())
            .and_then(|v| v.parse::<u64>().ok())
    };
    // Two H.245 pinholes (Setup, Connect), two media (RTP, RTCP); two conversations (the
    // call signalling and the H.245 connection).
    assert_eq!(line("Pinholes opened"), Some(4), "{stats}");
    assert_eq!(line("Conversations total"), Some(2), "{stats}");
    assert_eq!(line("Parse errors"), Some(0), "{stats}");
}

/// The views of what the card holds for the ALGs (issue 19, item 12): while the data
/// connection a PASV announced has not come, `show security flow gate` lists its pinhole
/// (text and XML, filtered) and the resource manager's books count its group and resource;
/// once the child came through it the gate is gone and the resource holds the child; `clear
/// services alg statistics` starts the counts again.
#[test]
fn the_gate_and_resource_manager_views_follow_a_pinhole_until_its_child_comes() {
    let mut cap = Capture::new();
    cap.ftp_control(40000, 5001);
    // The data connection comes 4 s later (the pinhole allows 30 s).
    cap.pause(4000);
    cap.data(40001, 5001);
    let dir = setup("alg-gate-view", &cap, 1, "");
    let sv = InProcess::start_with(&dir.path("svcard.toml"), true);
    let gate = sv.wait_for("show security flow gate", 20, |o| {
        o.contains("Total gates: 1")
    });
    let xml = sv.cli("show security flow gate | display xml");
    let by_port = sv.cli("show security flow gate destination-port 5001");
    let other_port = sv.cli("show security flow gate destination-port 5002");
    let v6 = sv.cli("show security flow gate family inet6");
    let from_client = sv.cli("show security flow gate source-prefix 10.1.0.0/16 protocol tcp");
    let from_elsewhere = sv.cli("show security flow gate source-prefix 10.9.0.0/16");
    let summary = sv.cli("show security flow gate summary");
    let rm_summary = sv.cli("show security resource-manager summary");
    let groups = sv.cli("show security resource-manager group active");
    let resources = sv.cli("show security resource-manager resource active");
    let rm_xml = sv.cli("show security resource-manager resource active | display xml");
    let stats = sv.cli("show services alg statistics application-protocol ftp");
    // The gate: from the client (any port) to the address and port the server announced,
    // TCP, the FTP ALG's, one-shot, nothing through it yet.
    assert!(gate.starts_with("Flow Gates on FPC0 PIC"), "{gate}");
    assert!(
        gate.contains("Hole: 10.1.0.1-10.1.0.1/0-0->192.0.2.21-192.0.2.21/5001-5001\n"),
        "{gate}"
    );
    assert!(
        gate.contains("  Translated: 10.1.0.1/0->192.0.2.21/5001\n"),
        "{gate}"
    );
    assert!(gate.contains("  Protocol: tcp\n"), "{gate}");
    assert!(gate.contains("  Application: FTP ALG/"), "{gate}");
    assert!(gate.contains("  Flags: 0x0001\n"), "{gate}");
    assert!(gate.contains("  Service set: ss1\n"), "{gate}");
    assert!(gate.contains("  Reference count: 0\n"), "{gate}");
    assert!(gate.contains("  Resource: "), "{gate}");
    let age = field_values(&gate, "Age");
    assert!(
        age.len() == 1 && (20..=30).contains(&age[0]),
        "the 30 s pinhole counts down: {gate}"
    );
    for (label, n) in [
        ("Valid gates", 1),
        ("Pending gates", 0),
        ("Invalidated gates", 0),
        ("Gates in other states", 0),
        ("Total gates", 1),
    ] {
        assert_eq!(field_values(&gate, label), vec![n], "{label}: {gate}");
    }
    // The count is the one the ALG statistics give.
    assert!(
        stats
            .lines()
            .any(|l| l.trim_start().starts_with("Pinholes active")
                && l.split_whitespace().last() == Some("1")),
        "{stats}"
    );
    // Junos's element names for the section and the counts.
    for want in [
        "<flow-gate-information xmlns=",
        "<flow-gate-fpc-pic-id> on FPC0 PIC",
        "<source-address>10.1.0.1</source-address>",
        "<destination-address>192.0.2.21</destination-address>",
        "<destination-port-low>5001</destination-port-low>",
        "<protocol>tcp</protocol>",
        "<displayed-gate-valid>1</displayed-gate-valid>",
        "<displayed-gate-pending>0</displayed-gate-pending>",
        "<displayed-gate-invalidated>0</displayed-gate-invalidated>",
        "<displayed-gate-other>0</displayed-gate-other>",
        "<displayed-gate-count>1</displayed-gate-count>",
    ] {
        assert!(xml.contains(want), "{want}: {xml}");
    }
    // A PyEZ-style reader (xml.etree, element names only) gets the gate and its counts.
    let file = dir.path("gate.xml");
    std::fs::write(&file, &xml).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts/pyez_style.py");
    let o = std::process::Command::new("python3")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = String::from_utf8(o.stdout).unwrap();
    for want in [
        "gates displayed-gate-valid 1",
        "gates displayed-gate-pending 0",
        "gates displayed-gate-count 1",
        "gate 10.1.0.1 0 192.0.2.21 5001 tcp FTP_ALG 0",
    ] {
        assert!(read.lines().any(|l| l == want), "{want}: {read}");
    }
    // Filters select it or not; summary gives the counts alone.
    assert_eq!(field_values(&by_port, "Total gates"), vec![1], "{by_port}");
    assert_eq!(
        field_values(&other_port, "Total gates"),
        vec![0],
        "{other_port}"
    );
    assert!(!other_port.contains("Hole:"), "{other_port}");
    assert_eq!(field_values(&v6, "Total gates"), vec![0], "{v6}");
    assert_eq!(
        field_values(&from_client, "Total gates"),
        vec![1],
        "{from_client}"
    );
    assert_eq!(
        field_values(&from_elsewhere, "Total gates"),
        vec![0],
        "{from_elsewhere}"
    );
    assert!(!summary.contains("Hole:"), "{summary}");
    assert_eq!(field_values(&summary, "Valid gates"), vec![1], "{summary}");
    // The resource manager: one client (the FTP ALG), one group, one resource, one session
    // (the control connection).
    for (label, n) in [
        ("Active clients", 1),
        ("Active groups", 1),
        ("Active resources", 1),
        ("Active sessions", 1),
    ] {
        assert_eq!(
            field_values(&rm_summary, label),
            vec![n],
            "{label}: {rm_summary}"
        );
    }
    assert!(
        groups.contains("Group ID 1: Application - FTP ALG\n"),
        "{groups}"
    );
    assert!(groups.contains(", active groups 1\n"), "{groups}");
    assert!(
        resources.contains(": Group ID - 1, Application - FTP ALG\n"),
        "{resources}"
    );
    assert!(resources.contains(", active resources 1\n"), "{resources}");
    for want in [
        "<resmgr-resource-active>",
        "<resmgr-resource-active-data-grp-id>1</resmgr-resource-active-data-grp-id>",
        "<resmgr-resource-active-data-client>FTP ALG</resmgr-resource-active-data-client>",
        "<resmgr-resource-active-count>1</resmgr-resource-active-count>",
    ] {
        assert!(rm_xml.contains(want), "{want}: {rm_xml}");
    }

    // The child comes: the one-shot gate is used up, the resource holds the child.
    sv.wait_for("show security flow session", 20, |o| {
        o.contains("/5001;tcp")
    });
    let gate = sv.wait_for("show security flow gate", 20, |o| {
        o.contains("Total gates: 0")
    });
    assert!(!gate.contains("Hole:"), "{gate}");
    let rm_summary = sv.cli("show security resource-manager summary");
    assert_eq!(
        field_values(&rm_summary, "Active sessions"),
        vec![2],
        "the control connection and its data connection: {rm_summary}"
    );
    assert_eq!(
        field_values(&rm_summary, "Active resources"),
        vec![1],
        "{rm_summary}"
    );
    let one = sv.cli("show security resource-manager group active group-number 2");
    assert!(!one.contains("Group ID"), "no group 2: {one}");
    assert!(one.contains(", active groups 1\n"), "{one}");

    // clear services alg statistics: another ALG's clear leaves the FTP ALG's counts; its
    // own starts them again, the figures of now (a conversation active) stay.
    let count = |out: &str, label: &str| -> u64 {
        out.lines()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {label} in {out}"))
    };
    let ftp = "show services alg statistics application-protocol ftp";
    assert_eq!(
        sv.cli("clear services alg statistics application-protocol sip"),
        ""
    );
    let stats = sv.cli(ftp);
    assert_eq!(count(&stats, "Pinholes opened"), 1, "{stats}");
    assert_eq!(count(&stats, "Pinholes matched"), 1, "{stats}");
    assert!(count(&stats, "Packets handed off") > 0, "{stats}");
    assert_eq!(sv.cli("clear services alg statistics"), "");
    let stats = sv.cli(ftp);
    for label in ["Pinholes opened", "Pinholes matched", "Packets handed off"] {
        assert_eq!(count(&stats, label), 0, "{label}: {stats}");
    }
    assert_eq!(count(&stats, "Conversations active"), 1, "{stats}");
    sv.stop();
}

/// PPTP through gateway and dataplane (no PPP in this kernel, so no pptpd): two calls on
/// one control connection each get GRE of their own, keyed by the call ID each packet
/// carries; clearing the first call takes its GRE away (its packets are then blocked by the
/// default-deny rule set) while the second call's still passes; GRE naming a call nobody
/// set up never passes.
#[test]
fn pptp_calls_have_gre_of_their_own_that_ends_with_the_call() {
    use svcard_alg::pptp::fixtures::{
        call_clear_request, gre, outgoing_call_reply, outgoing_call_request,
    };
    const PPP: [u8; 4] = [0xff, 0x03, 0xc0, 0x21];
    // A control message (client's: true) or a GRE packet (to the server: true) with the
    // call ID it names and its sequence number.
    enum Step {
        Control(bool, Vec<u8>),
        Gre(bool, u16, u32),
        Pause,
    }
    use Step::{Control, Gre, Pause};
    // Call 1: the client's ID 0x1111, the server's 0x2222; call 2: 0x1112 and 0x2223.
    // Each call's GRE both ways (a packet names its receiver's call ID), GRE to a call
    // nobody set up; the client clears call 1; both calls' GRE comes again.
    let steps = [
        Control(true, outgoing_call_request(0x1111)),
        Control(false, outgoing_call_reply(0x2222, 0x1111, 1)),
        Control(true, outgoing_call_request(0x1112)),
        Control(false, outgoing_call_reply(0x2223, 0x1112, 1)),
        Gre(true, 0x2222, 1),
        Gre(false, 0x1111, 1),
        Gre(true, 0x2223, 1),
        Gre(false, 0x1112, 1),
        Gre(true, 0x2999, 1),
        Control(true, call_clear_request(0x1111)),
        Pause,
        Gre(true, 0x2222, 2),
        Gre(false, 0x1111, 2),
        Gre(true, 0x2223, 2),
        Gre(false, 0x1112, 2),
    ];
    let mut cap = Capture::new();
    cap.client(tcp(C, 40000, S, 1723, SYN, 100, 0, &[]));
    cap.server(tcp(S, 1723, C, 40000, SYN_ACK, 900, 101, &[]));
    cap.client(tcp(C, 40000, S, 1723, ACK, 101, 901, &[]));
    let (mut cs, mut ss) = (101u32, 901u32);
    for step in steps {
        match step {
            Control(true, m) => {
                cap.client(tcp(C, 40000, S, 1723, PSH_ACK, cs, ss, &m));
                cs += m.len() as u32;
            }
            Control(false, m) => {
                cap.server(tcp(S, 1723, C, 40000, PSH_ACK, ss, cs, &m));
                ss += m.len() as u32;
            }
            Gre(true, id, seq) => cap.client(ipv4(C, S, 47, &gre(id, seq, &PPP))),
            Gre(false, id, seq) => cap.server(ipv4(S, C, 47, &gre(id, seq, &PPP))),
            Pause => cap.pause(300),
        }
    }
    let dir = setup("alg-pptp", &cap, 1, "");
    config_for(&dir, 1, "junos-pptp", "");
    let sv = InProcess::start_with(&dir.path("svcard.toml"), true);
    sv.wait_for(
        "show services alg statistics application-protocol pptp",
        20,
        |o| {
            o.lines()
                .any(|l| l.trim_start().starts_with("Calls ended") && l.trim_end().ends_with(" 1"))
        },
    );
    // The last frames of the capture have gone by once call 2's second GRE shows.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let sessions = sv.cli("show security flow session protocol gre");
    let stats = sv.cli("show services alg statistics application-protocol pptp");
    let log = sv.stop();
    // GRE frames by (direction, call ID, sequence), as they left.
    let gre_of = |path: &str| -> Vec<(u16, u32)> {
        read_pcap(&dir.path(path))
            .iter()
            .filter(|f| f.len() > 34 + 12 && f[23] == 47)
            .map(|f| {
                let g = &f[34..];
                (
                    u16::from_be_bytes([g[6], g[7]]),
                    u32::from_be_bytes([g[8], g[9], g[10], g[11]]),
                )
            })
            .collect()
    };
    let to_server = gre_of("out1.pcap");
    let to_client = gre_of("out0.pcap");
    let why = format!("{to_server:x?} {to_client:x?}\n{sessions}\n{stats}\n{log}");
    // Before the clear: both calls' GRE each way; never the unknown call's.
    assert!(
        to_server.contains(&(0x2222, 1)) && to_server.contains(&(0x2223, 1)),
        "{why}"
    );
    assert!(
        to_client.contains(&(0x1111, 1)) && to_client.contains(&(0x1112, 1)),
        "{why}"
    );
    assert!(!to_server.iter().any(|g| g.0 == 0x2999), "{why}");
    // After it: call 2's GRE passes, call 1's is blocked.
    assert!(
        to_server.contains(&(0x2223, 2)) && to_client.contains(&(0x1112, 2)),
        "{why}"
    );
    assert!(
        !to_server.contains(&(0x2222, 2)) && !to_client.contains(&(0x1111, 2)),
        "{why}"
    );
    // Call 2's two sessions remain, keyed by its call IDs.
    // Call 2's two sessions, one each way, keyed by the call ID their packets carry
    // (0x2223 = 8739, 0x1112 = 4370), with the rule that let the control connection in.
    for wing in [
        "In: 10.1.0.1/0 --> 192.0.2.21/8739;gre",
        "In: 192.0.2.21/0 --> 10.1.0.1/4370;gre",
    ] {
        let at = sessions
            .find(wing)
            .unwrap_or_else(|| panic!("{wing}: {why}"));
        let head = sessions[..at].rsplit("Session ID").next().unwrap_or("");
        assert!(head.contains("Policy name: control/"), "{wing}: {why}");
    }
}

/// IKE and ESP through gateway and dataplane (this kernel has no ESP transform, so
/// strongSwan cannot send plain ESP here): the IKE_AUTH answer opens ESP each way, each SA
/// becomes a session of its own keyed by its SPI, so an SA nobody set up is blocked (its
/// packets make a discard session of that SPI); a rekey's answer (CREATE_CHILD_SA) lets
/// the new SAs in.
#[test]
fn esp_sessions_are_keyed_by_spi_and_a_rekey_opens_the_new_sas() {
    use svcard_alg::ike::fixtures::message;
    const IKE_SA_INIT: u8 = 34;
    const IKE_AUTH: u8 = 35;
    const CREATE_CHILD_SA: u8 = 36;
    let ike = |from_client: bool, m: Vec<u8>| {
        let (s, d) = if from_client { (C, S) } else { (S, C) };
        svcard_perf::frames::udp(ip(s), 500, ip(d), 500, &m, true)
    };
    let esp = |from_client: bool, spi: u32, seq: u32| {
        let mut p = spi.to_be_bytes().to_vec();
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0x5a; 24]);
        let (s, d) = if from_client { (C, S) } else { (S, C) };
        ipv4(s, d, 50, &p)
    };
    let sa = (33u8, vec![0u8; 8]);
    let sk = (46u8, vec![0x55u8; 40]);
    let mut cap = Capture::new();
    cap.client(ike(
        true,
        message(2, IKE_SA_INIT, 0x08, 0, std::slice::from_ref(&sa)),
    ));
    cap.server(ike(false, message(2, IKE_SA_INIT, 0x20, 0, &[sa])));
    cap.client(ike(
        true,
        message(2, IKE_AUTH, 0x08, 1, std::slice::from_ref(&sk)),
    ));
    cap.server(ike(
        false,
        message(2, IKE_AUTH, 0x20, 1, std::slice::from_ref(&sk)),
    ));
    cap.client(esp(true, 0xc001_0001, 1));
    cap.server(esp(false, 0xc002_0002, 1));
    cap.client(esp(true, 0xc001_0001, 2));
    cap.client(esp(true, 0xc003_0003, 1));
    cap.client(ike(
        true,
        message(2, CREATE_CHILD_SA, 0x08, 2, std::slice::from_ref(&sk)),
    ));
    cap.server(ike(false, message(2, CREATE_CHILD_SA, 0x20, 2, &[sk])));
    cap.client(esp(true, 0xc005_0005, 1));
    cap.server(esp(false, 0xc004_0004, 1));
    let dir = setup("alg-esp", &cap, 1, "");
    config_for(&dir, 1, "junos-ike", "");
    let sv = InProcess::start_with(&dir.path("svcard.toml"), true);
    sv.wait_for("show security flow session protocol esp", 20, |o| {
        o.contains(&format!("/{};esp", 0x0004))
    });
    let sessions = sv.cli("show security flow session protocol esp");
    let log = sv.stop();
    let esp_of = |path: &str| -> Vec<(u32, u32)> {
        read_pcap(&dir.path(path))
            .iter()
            .filter(|f| f.len() >= 42 && f[23] == 50)
            .map(|f| {
                let e = &f[34..];
                (
                    u32::from_be_bytes([e[0], e[1], e[2], e[3]]),
                    u32::from_be_bytes([e[4], e[5], e[6], e[7]]),
                )
            })
            .collect()
    };
    let (to_server, to_client) = (esp_of("out1.pcap"), esp_of("out0.pcap"));
    let why = format!("{to_server:x?} {to_client:x?}\n{sessions}\n{log}");
    assert_eq!(
        to_server,
        [(0xc001_0001, 1), (0xc001_0001, 2), (0xc005_0005, 1)],
        "the first SA's packets, not those of an SA nobody set up, the rekey's: {why}"
    );
    assert_eq!(to_client, [(0xc002_0002, 1), (0xc004_0004, 1)], "{why}");
    // Each SA a session, keyed by its SPI (high and low halves in the port slots).
    for spi in [0xc001_0001u32, 0xc002_0002, 0xc004_0004, 0xc005_0005] {
        let (hi, lo) = (spi >> 16, spi & 0xffff);
        assert!(
            sessions.contains(&format!("/{hi} --> ")) && sessions.contains(&format!("/{lo};esp")),
            "{spi:x}: {why}"
        );
    }
}

/// H.225 RAS through gateway and dataplane, under a rule set that accepts RAS only: the
/// gatekeeper's RegistrationConfirm lets calls in to the endpoint's call signalling
/// address (from any caller), its AdmissionConfirm lets the endpoint's call out to the
/// admitted address, and nothing else gets through.
#[test]
fn h225_ras_registration_and_admission_let_call_signalling_through() {
    use svcard_alg::h323::fixtures::{
        admission_confirm, registration_confirm, registration_request,
    };
    let (c, s) = ([10, 1, 0, 1], [192, 0, 2, 21]);
    let ras = |from_endpoint: bool, m: &[u8]| {
        let (a, b) = if from_endpoint { (C, S) } else { (S, C) };
        svcard_perf::frames::udp(ip(a), 1719, ip(b), 1719, m, true)
    };
    let mut cap = Capture::new();
    cap.client(ras(true, &registration_request(1, (c, 1720), (c, 1719))));
    cap.server(ras(false, &registration_confirm(1, (s, 1720), "EP1")));
    cap.server(ras(false, &admission_confirm(2, ([192, 0, 2, 77], 11_720))));
    // Incoming calls from two callers, the admitted call out, a call nobody admitted.
    cap.server(tcp("192.0.2.98", 40010, C, 1720, SYN, 10, 0, &[]));
    cap.server(tcp("192.0.2.99", 40011, C, 1720, SYN, 20, 0, &[]));
    cap.client(tcp(C, 40012, "192.0.2.77", 11_720, SYN, 30, 0, &[]));
    cap.client(tcp(C, 40013, "192.0.2.78", 11_720, SYN, 40, 0, &[]));
    cap.server(tcp("192.0.2.98", 40014, C, 1721, SYN, 50, 0, &[]));
    let dir = setup("alg-ras", &cap, 1, "");
    config_for(&dir, 1, "junos-h323-ras", "");
    let sv = InProcess::start_with(&dir.path("svcard.toml"), true);
    sv.wait_for("show security flow session", 20, |o| {
        o.contains("/1721;tcp")
    });
    let gates = sv.cli("show security flow gate");
    let stats = sv.cli("show services alg statistics application-protocol h323");
    let log = sv.stop();
    let to_server = ports_of(&read_pcap(&dir.path("out1.pcap")));
    let to_client = ports_of(&read_pcap(&dir.path("out0.pcap")));
    let why = format!("{to_server:?} {to_client:?}\n{gates}\n{stats}\n{log}");
    assert!(to_client.contains(&(40010, 1720)), "{why}");
    assert!(to_client.contains(&(40011, 1720)), "{why}");
    assert!(!to_client.contains(&(40014, 1721)), "{why}");
    assert!(to_server.contains(&(40012, 11_720)), "{why}");
    assert!(!to_server.contains(&(40013, 11_720)), "{why}");
    // The registration's gate stays for the next caller (the admission's was used up).
    assert!(
        gates.contains("Hole: 0.0.0.0-0.0.0.0/0-0->10.1.0.1-10.1.0.1/1720-1720"),
        "{why}"
    );
    assert!(gates.contains("Total gates: 1"), "{why}");
}
