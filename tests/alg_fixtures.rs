//! The ALGs' byte fixtures for protocols no real implementation runs here, checked by an
//! independent dissector: each fixture is framed in a TCP or UDP packet, written to a
//! pcap and read back by `tshark -V`, whose dissection must name the fields the ALG reads
//! with the values the fixture carries. The ALG's unit tests use the same fixtures
//! (`svcard_alg::<alg>::fixtures`), so a fixture that tshark does not recognise as the
//! protocol fails here, not silently there.
//!
//! Runs when `tshark` is installed (CI installs it); says so and passes vacuously when not.

mod common;

use common::{ipv4, tcp, write_pcap, TempDir};
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

#[test]
fn pptp_call_and_enhanced_gre_as_tshark_reads_them() {
    if !tshark_present() {
        eprintln!("tshark is not installed: the PPTP fixtures are not checked");
        return;
    }
    use svcard_alg::pptp::fixtures::*;
    let msgs = [
        (true, outgoing_call_request(0x1111)),
        (false, outgoing_call_reply(0x2222, 0x1111, 1)),
        (true, call_clear_request(0x1111)),
        (false, call_disconnect_notify(0x2222)),
    ];
    let (mut cs, mut ss) = (1u32, 1u32);
    let mut frames = Vec::new();
    for (from_client, m) in &msgs {
        let n = u32::try_from(m.len()).unwrap();
        if *from_client {
            frames.push(tcp(C, 40000, S, 1723, 0x18, cs, ss, m));
            cs += n;
        } else {
            frames.push(tcp(S, 1723, C, 40000, 0x18, ss, cs, m));
            ss += n;
        }
    }
    // GRE to the PAC carries the PAC's call ID, to the PNS the PNS's.
    frames.insert(
        2,
        ipv4(C, S, 47, &gre(0x2222, 1, &[0xff, 0x03, 0xc0, 0x21])),
    );
    frames.insert(
        3,
        ipv4(S, C, 47, &gre(0x1111, 1, &[0xff, 0x03, 0xc0, 0x21])),
    );
    let v = dissect("pptp", &frames, None);
    has(
        &v,
        &[
            "Point-to-Point Tunnelling Protocol",
            "Control Message Type: Outgoing-Call-Request (7)",
            "Call ID: 4369",
            "Control Message Type: Outgoing-Call-Reply (8)",
            "Peer Call ID: 4369",
            "Result Code: Connected (1)",
            "Control Message Type: Call-Clear-Request (12)",
            "Control Message Type: Call-Disconnect-Notify (13)",
            "Generic Routing Encapsulation (PPP)",
            "Version: Enhanced GRE (1)",
            "Call ID: 8738",
        ],
    );
    // What tshark read is what the ALG reads.
    let svcard_alg::parse::Parse::Found(m, _) = svcard_alg::pptp::parse(&msgs[1].1) else {
        panic!("the ALG does not read the reply")
    };
    assert_eq!(
        (m.kind, m.call_id, m.peer_call_id, m.result),
        (8, Some(0x2222), Some(0x1111), Some(1))
    );
}

#[test]
fn msrpc_endpoint_mapper_map_as_tshark_reads_it() {
    if !tshark_present() {
        eprintln!("tshark is not installed: the MS-RPC fixtures are not checked");
        return;
    }
    use svcard_alg::dcerpc::fixtures::*;
    let msgs = [
        (true, bind(1)),
        (true, map_request(2, SAMR, 1)),
        (false, map_response(2, SAMR, 1, 49_155, [198, 51, 100, 20])),
    ];
    let (mut cs, mut ss) = (1u32, 1u32);
    let mut frames = Vec::new();
    for (from_client, m) in &msgs {
        let n = u32::try_from(m.len()).unwrap();
        if *from_client {
            frames.push(tcp(C, 40000, S, 135, 0x18, cs, ss, m));
            cs += n;
        } else {
            frames.push(tcp(S, 135, C, 40000, 0x18, ss, cs, m));
            ss += n;
        }
    }
    let v = dissect("msrpc", &frames, None);
    has(
        &v,
        &[
            "Interface: EPMv4 UUID: e1af8308-5d1f-11c9-91a4-08002b14a0fa",
            "DCE/RPC Endpoint Mapper, Map",
            "Operation: Map (3)",
            "Num Towers: 1",
            "UUID: SAMR (12345778-1234-abcd-ef00-0123456789ac)",
            "Floor 4 TCP Port:49155",
            "Floor 5 IP:198.51.100.20",
            "Return code: 0x00000000",
        ],
    );
    assert!(!v.contains("Malformed"), "{v}");
    // What tshark read is what the ALG reads.
    let mut got = Vec::new();
    assert!(svcard_alg::dcerpc::map_answer(&msgs[2].1, true, &mut |e| {
        got.push(e)
    }));
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].interface.0, got[0].port.0), (SAMR, 49_155));
    assert_eq!(got[0].addr.0.to_string(), S);
}

#[test]
fn h323_setup_connect_and_channel_ack_as_tshark_reads_them() {
    if !tshark_present() {
        eprintln!("tshark is not installed: the H.323 fixtures are not checked");
        return;
    }
    use svcard_alg::h323::fixtures::*;
    let caller = [192, 0, 2, 10];
    let callee = [198, 51, 100, 20];
    let s = setup(7, caller, 11_000);
    let c = connect(7, callee, 12_000);
    let frames = vec![
        tcp(C, 40000, S, 1720, 0x18, 1, 1, &s),
        tcp(S, 1720, C, 40000, 0x18, 1, 1 + s.len() as u32, &c),
    ];
    let v225 = dissect("h225", &frames, None);
    has(
        &v225,
        &[
            "Message type: SETUP (0x05)",
            "Message type: CONNECT (0x07)",
            "h323-message-body: setup (0)",
            "h323-message-body: connect (2)",
            "protocolIdentifier: 0.0.8.2250.0.4 (Version 4)",
            "h245Address: ipAddress (0)",
            "ip: 192.0.2.10",
            "port: 11000",
            "ip: 198.51.100.20",
            "port: 12000",
            "callType: pointToPoint (0)",
        ],
    );
    let ack = open_logical_channel_ack(1, (callee, 5004), (callee, 5005));
    let frames = vec![tcp(S, 12000, C, 40002, 0x18, 1, 1, &ack)];
    let v = dissect("h245", &frames, Some("tcp.port==12000,h245"));
    has(
        &v,
        &[
            "response: openLogicalChannelAck (5)",
            "forwardLogicalChannelNumber: 1",
            "forwardMultiplexAckParameters: h2250LogicalChannelAckParameters (0)",
            "sessionID: 1",
            "mediaChannel: unicastAddress (0)",
            "network: 198.51.100.20",
            "tsapIdentifier: 5004",
            "mediaControlChannel: unicastAddress (0)",
            "tsapIdentifier: 5005",
        ],
    );
    for v in [&v225, &v] {
        assert!(!v.contains("Malformed"), "{v}");
    }
    // What tshark read is what the ALG reads.
    use svcard_alg::h323::{parse_tpkt, Found};
    let svcard_alg::parse::Parse::Found(Some(Found::H245Address { addr, port, .. }), _) =
        parse_tpkt(&c)
    else {
        panic!("the ALG does not read the Connect")
    };
    assert_eq!((addr.octets(), port), (callee, 12_000));
}

#[test]
fn h225_ras_registration_and_admission_as_tshark_reads_them() {
    if !tshark_present() {
        eprintln!("tshark is not installed: the H.225 RAS fixtures are not checked");
        return;
    }
    use svcard_alg::h323::fixtures::*;
    use svcard_alg::h323::ras::{parse, Ras};
    let (endpoint, gatekeeper, callee) = ([192, 0, 2, 10], [198, 51, 100, 20], [203, 0, 113, 7]);
    let rrq = registration_request(1, (endpoint, 1720), (endpoint, 1719));
    let rcf = registration_confirm(1, (gatekeeper, 1720), "EP1");
    let acf = admission_confirm(2, (callee, 11720));
    let lcf = location_confirm(3, (callee, 1720), (callee, 1719));
    let udp = |from_endpoint: bool, m: &[u8]| {
        let (s, d) = if from_endpoint { (C, S) } else { (S, C) };
        svcard_perf::frames::udp(s.parse().unwrap(), 1719, d.parse().unwrap(), 1719, m, true)
    };
    let frames = vec![
        udp(true, &rrq),
        udp(false, &rcf),
        udp(false, &acf),
        udp(false, &lcf),
    ];
    let v = dissect("ras", &frames, None);
    has(
        &v,
        &[
            "RasMessage: registrationRequest (3)",
            "RasMessage: registrationConfirm (4)",
            "RasMessage: admissionConfirm (10)",
            "RasMessage: locationConfirm (19)",
            "requestSeqNum: 1",
            "requestSeqNum: 2",
            "protocolIdentifier: 0.0.8.2250.0.4 (Version 4)",
            "callSignalAddress: 1 item",
            "ip: 192.0.2.10",
            "port: 1720",
            "endpointIdentifier: EP1",
            "bandWidth: 640",
            "callModel: direct (0)",
            "destCallSignalAddress: ipAddress (0)",
            "ip: 203.0.113.7",
            "port: 11720",
        ],
    );
    assert!(!v.contains("Malformed"), "{v}");
    // What tshark read is what the ALG reads.
    let addr = |l: (core::net::Ipv4Addr, u16, (usize, usize))| (l.0.octets(), l.1);
    match parse(&rrq) {
        Some(Ras::RegistrationRequest(Some(l))) => assert_eq!(addr(l), (endpoint, 1720)),
        other => panic!("{other:?}"),
    }
    assert_eq!(parse(&rcf), Some(Ras::RegistrationConfirm));
    match parse(&acf) {
        Some(Ras::AdmissionConfirm(l)) => assert_eq!(addr(l), (callee, 11720)),
        other => panic!("{other:?}"),
    }
    match parse(&lcf) {
        Some(Ras::LocationConfirm(l)) => assert_eq!(addr(l), (callee, 1720)),
        other => panic!("{other:?}"),
    }
}
