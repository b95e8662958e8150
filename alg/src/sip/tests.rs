use super::*;
use crate::testutil::*;

const CLI: &str = "192.0.2.10:5060";
const SRV: &str = "198.51.100.20:5060";

fn alg(proto: Proto) -> Sip {
    let mut cfg = AlgConfig::default_for(AlgKind::Sip);
    cfg.sip.max_dialogs = 3;
    Sip::new(cfg, ctx(proto, CLI, SRV))
}

fn sdp(addr: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"
    )
}

fn request(method: &str, call: &str, cseq: u32, body: &str) -> Vec<u8> {
    let ct = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{method} sip:bob@198.51.100.20 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK{cseq}\r\n\
From: <sip:alice@192.0.2.10>;tag=a\r\nTo: <sip:bob@198.51.100.20>\r\nCall-ID: {call}\r\n\
CSeq: {cseq} {method}\r\nContact: <sip:alice@192.0.2.10:5060>\r\n{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn response(code: u16, method: &str, call: &str, cseq: u32, body: &str) -> Vec<u8> {
    let ct = if body.is_empty() {
        ""
    } else {
        "c: application/sdp\r\n"
    };
    format!(
        "SIP/2.0 {code} X\r\nv: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK{cseq}\r\n\
f: <sip:alice@192.0.2.10>;tag=a\r\nt: <sip:bob@198.51.100.20>;tag=b\r\ni: {call}\r\n\
CSeq: {cseq} {method}\r\nm: <sip:bob@198.51.100.20:5060>\r\n{ct}l: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn udp(a: &mut Sip, now: u64, side: Side, p: &[u8]) -> Actions {
    let mut out = Actions::new();
    a.on_data(now, side, None, p, &mut out);
    out
}

#[test]
fn a_datagram_at_time_zero() {
    let mut a = alg(Proto::UDP);
    let out = datagram(
        &mut a,
        Side::Initiator,
        &request("INVITE", "z", 1, &sdp("192.0.2.10", 6000)),
    );
    assert_eq!(media(&out).len(), 2);
}

fn media(a: &Actions) -> Vec<(String, u16)> {
    exps(a)
        .iter()
        .map(|e| {
            assert_eq!(e.proto, Proto::UDP);
            assert_eq!(e.child_app, AppHint::SipMedia);
            assert!(e.one_shot && e.src.is_none());
            (e.dst.to_string(), e.dst_port.unwrap())
        })
        .collect()
}

fn withdrawn(a: &Actions) -> Vec<(String, u16)> {
    a.iter()
        .filter_map(|x| match x {
            Action::Withdraw(e) => Some((e.dst.to_string(), e.dst_port.unwrap())),
            _ => None,
        })
        .collect()
}

fn ep(a: &str, p: u16) -> (String, u16) {
    (a.to_string(), p)
}

#[test]
fn call_opens_offer_and_answer_media_and_bye_withdraws_them() {
    let mut a = alg(Proto::UDP);
    let out = udp(
        &mut a,
        0,
        Side::Initiator,
        &request("INVITE", "c1", 1, &sdp("192.0.2.10", 6000)),
    );
    assert_eq!(
        media(&out),
        vec![ep("192.0.2.10", 6000), ep("192.0.2.10", 6001)]
    );
    // The rewrite ranges: Via, Contact, c=, m=.
    let kinds: Vec<RewriteKind> = out
        .iter()
        .filter_map(|x| match x {
            Action::Rewrite { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            RewriteKind::SipHostPort,
            RewriteKind::SipHostPort,
            RewriteKind::SdpAddr,
            RewriteKind::SdpPort
        ]
    );
    // A retransmitted INVITE opens nothing more.
    let out = udp(
        &mut a,
        500,
        Side::Initiator,
        &request("INVITE", "c1", 1, &sdp("192.0.2.10", 6000)),
    );
    assert!(media(&out).is_empty());
    assert!(udp(
        &mut a,
        600,
        Side::Responder,
        &response(180, "INVITE", "c1", 1, "")
    )
    .expectations()
    .next()
    .is_none());
    let out = udp(
        &mut a,
        900,
        Side::Responder,
        &response(200, "INVITE", "c1", 1, &sdp("198.51.100.20", 7000)),
    );
    assert_eq!(
        media(&out),
        vec![ep("198.51.100.20", 7000), ep("198.51.100.20", 7001)]
    );
    let out = udp(&mut a, 1000, Side::Initiator, &request("ACK", "c1", 1, ""));
    assert!(out.is_empty() || media(&out).is_empty());
    assert_eq!(a.dialogs(), 1);
    let out = udp(&mut a, 9000, Side::Responder, &request("BYE", "c1", 2, ""));
    let mut w = withdrawn(&out);
    w.sort();
    assert_eq!(
        w,
        vec![
            ep("192.0.2.10", 6000),
            ep("192.0.2.10", 6001),
            ep("198.51.100.20", 7000),
            ep("198.51.100.20", 7001)
        ]
    );
    assert_eq!(a.dialogs(), 0);
    let c = a.counters();
    assert_eq!((c.dialogs, c.dialogs_ended, c.pinholes), (1, 1, 4));
    // The pinholes of one call carry its tag; another call's differ.
    let out = udp(
        &mut a,
        9100,
        Side::Initiator,
        &request("INVITE", "c2", 1, &sdp("192.0.2.10", 6000)),
    );
    let tags: Vec<u32> = exps(&out).iter().map(|e| e.tag).collect();
    assert!(tags.iter().all(|t| *t == tags[0] && *t != 0), "{tags:?}");
}

#[test]
fn refused_or_cancelled_invite_withdraws_the_offer() {
    let mut a = alg(Proto::UDP);
    udp(
        &mut a,
        0,
        Side::Initiator,
        &request("INVITE", "c1", 1, &sdp("192.0.2.10", 6000)),
    );
    udp(&mut a, 10, Side::Initiator, &request("CANCEL", "c1", 1, ""));
    let out = udp(
        &mut a,
        20,
        Side::Responder,
        &response(487, "INVITE", "c1", 1, ""),
    );
    assert_eq!(withdrawn(&out).len(), 2);
    assert_eq!(a.dialogs(), 0);
    // A 200 to the CANCEL or a stray response opens nothing.
    let out = udp(
        &mut a,
        30,
        Side::Responder,
        &response(200, "INVITE", "c9", 1, &sdp("198.51.100.20", 7000)),
    );
    assert!(out.expectations().next().is_none());
}

#[test]
fn reinvite_moves_media_and_hold_withdraws_it() {
    let mut a = alg(Proto::UDP);
    udp(
        &mut a,
        0,
        Side::Initiator,
        &request("INVITE", "c1", 1, &sdp("192.0.2.10", 6000)),
    );
    udp(
        &mut a,
        5,
        Side::Responder,
        &response(200, "INVITE", "c1", 1, &sdp("198.51.100.20", 7000)),
    );
    // Re-INVITE from the callee moving its media to 7100.
    let out = udp(
        &mut a,
        10,
        Side::Responder,
        &request("INVITE", "c1", 2, &sdp("198.51.100.20", 7100)),
    );
    assert_eq!(
        media(&out),
        vec![ep("198.51.100.20", 7100), ep("198.51.100.20", 7101)]
    );
    assert_eq!(
        withdrawn(&out),
        vec![ep("198.51.100.20", 7000), ep("198.51.100.20", 7001)]
    );
    // The caller answers with its media on hold (a=inactive): its pinholes go.
    let hold = format!("{}a=inactive\r\n", sdp("192.0.2.10", 6000));
    let out = udp(
        &mut a,
        20,
        Side::Initiator,
        &response(200, "INVITE", "c1", 2, &hold),
    );
    assert!(media(&out).is_empty());
    assert_eq!(
        withdrawn(&out),
        vec![ep("192.0.2.10", 6000), ep("192.0.2.10", 6001)]
    );
    // UPDATE takes it off hold on another port.
    let out = udp(
        &mut a,
        30,
        Side::Initiator,
        &request("UPDATE", "c1", 3, &sdp("192.0.2.10", 6100)),
    );
    assert_eq!(
        media(&out),
        vec![ep("192.0.2.10", 6100), ep("192.0.2.10", 6101)]
    );
}

#[test]
fn tcp_messages_framed_across_segments() {
    let mut a = alg(Proto::TCP);
    a.sync_seq(Side::Initiator, 1000);
    let mut stream = request("OPTIONS", "o1", 1, "");
    stream.extend_from_slice(b"\r\n\r\n");
    stream.extend(request("INVITE", "c1", 1, &sdp("192.0.2.10", 6000)));
    let mut got = Vec::new();
    let mut seq = 1000u32;
    for chunk in stream.chunks(37) {
        let mut out = Actions::new();
        a.on_data(0, Side::Initiator, Some(seq), chunk, &mut out);
        got.extend(media(&out));
        assert!(errs(&out).is_empty(), "{:?}", errs(&out));
        seq = seq.wrapping_add(u32::try_from(chunk.len()).unwrap());
    }
    assert_eq!(got, vec![ep("192.0.2.10", 6000), ep("192.0.2.10", 6001)]);
    assert_eq!(a.counters().requests, 2);
    // The SDP port's rewrite range is in sequence space.
    let mut a = alg(Proto::TCP);
    a.sync_seq(Side::Initiator, 50);
    let inv = request("INVITE", "c1", 1, &sdp("192.0.2.10", 6000));
    let mut out = Actions::new();
    a.on_data(0, Side::Initiator, Some(50), &inv, &mut out);
    let port = out
        .iter()
        .find_map(|x| match x {
            Action::Rewrite {
                kind: RewriteKind::SdpPort,
                range,
                ..
            } => Some(range.clone()),
            _ => None,
        })
        .unwrap();
    let at = (port.start - 50) as usize;
    assert_eq!(&inv[at..at + 4], b"6000");
}

#[test]
fn timers_drop_unanswered_and_overlong_calls() {
    let mut a = alg(Proto::UDP);
    udp(
        &mut a,
        0,
        Side::Initiator,
        &request("INVITE", "c1", 1, &sdp("192.0.2.10", 6000)),
    );
    // 64 × T1 = 32 s without an answer.
    assert_eq!(a.poll_timeout(), Some(32_000));
    let mut out = Actions::new();
    a.on_timeout(32_000, &mut out);
    assert_eq!(withdrawn(&out).len(), 2);
    assert_eq!(a.counters().dialogs_timed_out, 1);
    // An answered call lasts until maximum-call-duration.
    udp(
        &mut a,
        40_000,
        Side::Initiator,
        &request("INVITE", "c2", 1, &sdp("192.0.2.10", 6000)),
    );
    udp(
        &mut a,
        40_100,
        Side::Responder,
        &response(180, "INVITE", "c2", 1, ""),
    );
    assert_eq!(a.poll_timeout(), Some(40_100 + TIMER_C_MS));
    udp(
        &mut a,
        40_200,
        Side::Responder,
        &response(200, "INVITE", "c2", 1, &sdp("198.51.100.20", 7000)),
    );
    assert_eq!(a.poll_timeout(), Some(40_200 + 720 * 60_000));
}

#[test]
fn dialog_table_cap_and_malformed_messages() {
    let mut a = alg(Proto::UDP);
    for i in 0..3 {
        udp(
            &mut a,
            0,
            Side::Initiator,
            &request("INVITE", &format!("c{i}"), 1, ""),
        );
    }
    let out = udp(
        &mut a,
        0,
        Side::Initiator,
        &request("INVITE", "c9", 1, &sdp("192.0.2.10", 6000)),
    );
    assert_eq!(errs(&out), vec![ParseErrorKind::TooManyDialogs]);
    assert!(out.expectations().next().is_none());
    assert_eq!(a.counters().dialogs_refused, 1);
    let out = udp(&mut a, 0, Side::Initiator, b"INVITE nonsense\r\n\r\n");
    assert_eq!(errs(&out), vec![ParseErrorKind::Malformed]);
    // CRLF keep-alives are not errors.
    assert!(udp(&mut a, 0, Side::Initiator, b"\r\n\r\n").is_empty());
}

#[test]
fn register_opens_the_contact_to_the_registrar() {
    let mut a = alg(Proto::UDP);
    udp(
        &mut a,
        0,
        Side::Initiator,
        &request("REGISTER", "r1", 1, ""),
    );
    let ok = "SIP/2.0 200 OK\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\n\
Contact: <sip:alice@192.0.2.10:5070>;expires=300\r\nContent-Length: 0\r\n\r\n"
        .to_string();
    let out = udp(&mut a, 10, Side::Responder, ok.as_bytes());
    let e = exps(&out);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].child_app, AppHint::SipSignalling);
    assert_eq!(e[0].src, Some(ip("198.51.100.20")));
    assert_eq!((e[0].dst, e[0].dst_port), (ip("192.0.2.10"), Some(5070)));
    assert_eq!(e[0].timeout_ms, 300_000);
    assert!(!e[0].one_shot);
    // A Contact that is not the phone's own address is refused.
    let third = ok.replace("192.0.2.10:5070", "203.0.113.9:5070");
    let out = udp(&mut a, 20, Side::Responder, third.as_bytes());
    assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
}

#[test]
fn the_fuzz_seed_call_over_tcp_in_255_byte_segments() {
    let c = crate::harness::drive(
        AlgKind::Sip,
        include_bytes!("../../fuzz/seeds/sip/call-tcp"),
    );
    assert_eq!((c.dialogs, c.dialogs_ended, c.pinholes), (1, 1, 4));
    assert_eq!(c.parse_errors, 0);
    assert_eq!(c.requests, 3);
}

/// A real exchange: one SIPp call (INVITE with SDP, 180, 200 with SDP, ACK, BYE, 200),
/// captured between the SIPp client and server of `tests/sip_e2e.rs`.
#[test]
fn a_real_sipp_call() {
    let mut a = Sip::new(
        AlgConfig::default_for(AlgKind::Sip),
        ctx(Proto::UDP, "10.78.9.1:5060", "10.78.9.2:5060"),
    );
    let mut opened = Vec::new();
    let mut taken = Vec::new();
    for (side, m) in exchange(include_str!("../../fixtures/sipp-call-udp.txt")) {
        let out = datagram(&mut a, side, &m);
        assert!(errs(&out).is_empty(), "{:?}", errs(&out));
        opened.extend(media(&out));
        taken.extend(withdrawn(&out));
    }
    assert_eq!(
        opened,
        vec![
            ep("10.78.9.1", 6000),
            ep("10.78.9.1", 6001),
            ep("10.78.9.2", 6000),
            ep("10.78.9.2", 6001)
        ]
    );
    taken.sort();
    opened.sort();
    assert_eq!(taken, opened, "the BYE withdraws all four");
    let c = a.counters();
    assert_eq!((c.requests, c.dialogs, c.dialogs_ended), (3, 1, 1));
}

/// Found by the fuzzer: `a=rtcp:0` named an RTCP pinhole to port 0.
#[test]
fn regression_rtcp_port_0() {
    crate::harness::drive(
        AlgKind::Sip,
        include_bytes!("../../fuzz/seeds/sip/regress-rtcp-port-0"),
    );
    let s = sdp::parse(b"c=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\na=rtcp:0\n");
    assert_eq!(s.iter().next().unwrap().rtcp_endpoint(), None);
}
