//! The ALGs' byte fixtures for protocols no real implementation runs here, checked by an
//! independent dissector: each fixture is framed in a TCP or UDP packet, written to a
//! pcap and read back by `tshark -V`, whose dissection must name the fields the ALG reads
//! with the values the fixture carries. The ALG's unit tests use the same fixtures
//! (`svcard_alg::<alg>::fixtures`), so a fixture that tshark does not recognise as the
//! protocol fails here, not silently there.
//!
//! Runs when `tshark` is installed (CI installs it); says so and passes vacuously when not.

mod common;

use common::{tcp, write_pcap, TempDir};
use std::process::Command;

fn tshark_present() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `tshark -V` of the frames, with `decode_as` (`tcp.port==N,proto`) when given.
fn dissect(tag: &str, frames: &[Vec<u8>], decode_as: Option<&str>) -> String {
    let dir = TempDir::new(tag);
    let f = dir.path("f.pcap");
    write_pcap(&f, frames);
    let mut c = Command::new("tshark");
    c.args(["-n", "-V", "-r"]).arg(&f);
    if let Some(d) = decode_as {
        c.args(["-d", d]);
    }
    let o = c.output().expect("tshark runs");
    assert!(
        o.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts every `want` line fragment appears in `v`.
#[track_caller]
fn has(v: &str, want: &[&str]) {
    for w in want {
        assert!(v.contains(w), "tshark's dissection lacks {w:?}:\n{v}");
    }
}

const C: &str = "192.0.2.10";
const S: &str = "198.51.100.20";

#[test]
fn sqlnet_redirect_and_connect_as_tshark_reads_them() {
    if !tshark_present() {
        eprintln!("tshark is not installed: the SQLNet fixtures are not checked");
        return;
    }
    use svcard_alg::sqlnet::fixtures::{connect, redirect};
    let conn = connect(
        "(DESCRIPTION=(CONNECT_DATA=(SID=ORCL))(ADDRESS=(PROTOCOL=TCP)(HOST=198.51.100.20)(PORT=1521)))",
    );
    let red = redirect(S, 49_152);
    let frames = vec![
        tcp(C, 40000, S, 1521, 0x18, 1, 1, &conn),
        tcp(S, 1521, C, 40000, 0x18, 1, 1 + conn.len() as u32, &red),
    ];
    let v = dissect("tns", &frames, None);
    has(
        &v,
        &[
            "Transparent Network Substrate Protocol",
            "Packet Type: Connect (1)",
            "Version: 314",
            "Connect Data: (DESCRIPTION=(CONNECT_DATA=(SID=ORCL))",
            "Packet Type: Redirect (5)",
            "Redirect Data: (DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=198.51.100.20)(PORT=49152))",
        ],
    );
    // What tshark read is what the ALG reads.
    let svcard_alg::parse::Parse::Found(p, _) = svcard_alg::sqlnet::parse_packet(&red) else {
        panic!("the ALG does not read the fixture")
    };
    let a = p.address.expect("an address");
    assert_eq!((a.host, a.port), (Some(S.parse().unwrap()), 49_152));
}
