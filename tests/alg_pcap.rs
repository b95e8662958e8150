//! The ALG hand-off on the pure-Rust backend: a policy that accepts only the FTP control
//! connection; the control core's FTP ALG must open exactly the data connection the
//! control connection negotiated, on the worker, before the reply that names it leaves.
//! With the ALG switched off the data connection is blocked.

mod common;

use common::*;
use std::net::IpAddr;
use svcard_dataplane::pcapfile::Record;
use svcard_dataplane::wire::{self, Outcome};
use svcard_perf::frames::{build, L4};

const C: &str = "10.1.0.1";
const S: &str = "192.0.2.21";

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    data: &[u8],
) -> Vec<u8> {
    build(
        src.parse::<IpAddr>().unwrap(),
        dst.parse().unwrap(),
        &L4::Tcp {
            sport,
            dport,
            flags,
            seq,
            ack,
            payload: data.to_vec(),
        },
        60,
        true,
    )
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const SYN_ACK: u8 = 0x12;

/// An FTP control connection that negotiates a passive data connection to port 5001 (PASV),
/// then the data connection itself. Client frames, server frames, each with its time.
fn ftp_passive() -> (Vec<Record>, Vec<Record>) {
    let (ci, si) = (1000u32, 5000u32);
    let banner = b"220 svcard test\r\n";
    let pasv = b"PASV\r\n";
    let reply = b"227 Entering Passive Mode (192,0,2,21,19,137).\r\n";
    let mut c = Vec::new();
    let mut s = Vec::new();
    let mut t = 1_000_000_000u64;
    let mut at = |v: &mut Vec<Record>, data: Vec<u8>| {
        // 100 ms apart: time for the control core to install the pinhole even on a
        // loaded machine (the replay follows the capture's clock).
        t += 100_000_000;
        v.push(Record { ts_ns: t, data });
    };
    at(&mut c, tcp(C, 40000, S, 21, SYN, ci, 0, &[]));
    at(&mut s, tcp(S, 21, C, 40000, SYN_ACK, si, ci + 1, &[]));
    at(&mut c, tcp(C, 40000, S, 21, ACK, ci + 1, si + 1, &[]));
    at(
        &mut s,
        tcp(S, 21, C, 40000, PSH_ACK, si + 1, ci + 1, banner),
    );
    let s2 = si + 1 + banner.len() as u32;
    at(&mut c, tcp(C, 40000, S, 21, PSH_ACK, ci + 1, s2, pasv));
    let c2 = ci + 1 + pasv.len() as u32;
    at(&mut s, tcp(S, 21, C, 40000, PSH_ACK, s2, c2, reply));
    // The data connection the reply named.
    at(&mut c, tcp(C, 40001, S, 5001, SYN, 7000, 0, &[]));
    at(&mut s, tcp(S, 5001, C, 40001, SYN_ACK, 9000, 7001, &[]));
    at(&mut c, tcp(C, 40001, S, 5001, ACK, 7001, 9001, &[]));
    at(
        &mut s,
        tcp(S, 5001, C, 40001, PSH_ACK, 9001, 7001, b"file contents\n"),
    );
    // A connection to another port the reply did not name: blocked either way.
    at(&mut c, tcp(C, 40002, S, 5002, SYN, 7100, 0, &[]));
    (c, s)
}

fn config(dir: &TempDir, alg: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[workers]
count = 1
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
name = "ftp-control"
application = ["junos-ftp"]
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

fn setup(tag: &str, alg: &str) -> TempDir {
    let dir = TempDir::new(tag);
    let (c, s) = ftp_passive();
    svcard_perf::write_pcap(&dir.path("client.pcap"), &c).unwrap();
    svcard_perf::write_pcap(&dir.path("server.pcap"), &s).unwrap();
    config(&dir, alg);
    dir
}

#[test]
fn ftp_alg_opens_the_negotiated_data_connection_and_nothing_else() {
    let dir = setup("alg-ftp", "");
    let sv = Svcard::start(&dir, &dir.path("svcard.toml"), &["--hold"]);
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
    let dir = setup("alg-ftp-off", "[alg.ftp]\nenabled = false\n");
    let o = run_to_end(&dir.path("svcard.toml"), &dir.path("s.sock"), &[]);
    let log = String::from_utf8_lossy(&o.stdout);
    let to_server = ports_of(&read_pcap(&dir.path("out1.pcap")));
    let to_client = ports_of(&read_pcap(&dir.path("out0.pcap")));
    assert_eq!(to_server, vec![(40000, 21); 3], "{log}");
    assert_eq!(to_client, vec![(21, 40000); 3], "{log}");
}
