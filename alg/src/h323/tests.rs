use super::fixtures::*;
use super::*;
use crate::testutil::*;

const CALLER: [u8; 4] = [192, 0, 2, 10];
const CALLEE: [u8; 4] = [198, 51, 100, 20];

struct Conn {
    a: H323,
    seq: [u32; 2],
}

impl Conn {
    fn new(cli: &str, srv: &str) -> Conn {
        let mut a = H323::new(
            AlgConfig::default_for(AlgKind::H323),
            ctx(Proto::TCP, cli, srv),
        );
        a.sync_seq(Side::Initiator, 100);
        a.sync_seq(Side::Responder, 900);
        Conn { a, seq: [100, 900] }
    }
    fn send(&mut self, side: Side, b: &[u8]) -> Actions {
        let mut all = Actions::new();
        let i = side.index();
        for chunk in b.chunks(17) {
            let mut out = Actions::new();
            self.a.on_data(0, side, Some(self.seq[i]), chunk, &mut out);
            for x in out.iter() {
                all.push(x.clone());
            }
            self.seq[i] = self.seq[i].wrapping_add(u32::try_from(chunk.len()).unwrap());
        }
        all
    }
}

#[test]
fn per_fixtures_decode_with_the_bytes_a_nat_rewrites() {
    let s = setup(7, CALLER, 11_000);
    let Parse::Found(
        Some(Found::H245Address {
            message,
            addr,
            port,
            at,
        }),
        r,
    ) = parse_tpkt(&s)
    else {
        panic!("not decoded")
    };
    assert_eq!(
        (message, addr, port, r),
        (Q931_SETUP, Ipv4Addr::from(CALLER), 11_000, 0..s.len())
    );
    assert_eq!(&s[at.0..at.0 + 4], &CALLER);
    assert_eq!(&s[at.1..at.1 + 2], &11_000u16.to_be_bytes());
    let a = open_logical_channel_ack(1, (CALLEE, 5004), (CALLEE, 5005));
    let Parse::Found(
        Some(Found::ChannelAck {
            channel,
            media: Some(m),
            control: Some(c),
        }),
        _,
    ) = parse_tpkt(&a)
    else {
        panic!("not decoded")
    };
    assert_eq!(
        (channel, m.0, m.1, c.1),
        (1, Ipv4Addr::from(CALLEE), 5004, 5005)
    );
    for (x, port) in [(m, 5004u16), (c, 5005)] {
        assert_eq!(&a[x.2 .0..x.2 .0 + 4], &CALLEE);
        assert_eq!(&a[x.2 .1..x.2 .1 + 2], &port.to_be_bytes());
    }
}

#[test]
fn a_call_opens_h245_then_the_acknowledged_channels() {
    // Call signalling: the Setup names the caller's H.245 port, the Connect the callee's.
    let mut q = Conn::new("192.0.2.10:40000", "198.51.100.20:1720");
    let e = exps(&q.send(Side::Initiator, &setup(7, CALLER, 11_000)));
    assert_eq!(
        (
            e[0].proto,
            e[0].src,
            e[0].dst,
            e[0].dst_port,
            e[0].child_app
        ),
        (
            Proto::TCP,
            Some(ip("198.51.100.20")),
            ip("192.0.2.10"),
            Some(11_000),
            AppHint::H245
        )
    );
    let e = exps(&q.send(Side::Responder, &connect(7, CALLEE, 12_000)));
    assert_eq!(
        (e[0].src, e[0].dst, e[0].dst_port),
        (Some(ip("192.0.2.10")), ip("198.51.100.20"), Some(12_000))
    );
    // H.245 (the caller connected to the callee's port): each side acknowledges the
    // other's channel with where it receives.
    let mut h = Conn::new("192.0.2.10:40002", "198.51.100.20:12000");
    let e = exps(&h.send(
        Side::Responder,
        &open_logical_channel_ack(1, (CALLEE, 5004), (CALLEE, 5005)),
    ));
    let got: Vec<_> = e
        .iter()
        .map(|e| (e.proto, e.src, e.dst, e.dst_port, e.child_app))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Proto::UDP,
                None,
                ip("198.51.100.20"),
                Some(5004),
                AppHint::H323Media
            ),
            (
                Proto::UDP,
                None,
                ip("198.51.100.20"),
                Some(5005),
                AppHint::H323Media
            ),
        ]
    );
    let e = exps(&h.send(
        Side::Initiator,
        &open_logical_channel_ack(2, (CALLER, 6004), (CALLER, 6005)),
    ));
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].dst, ip("192.0.2.10"));
    assert_eq!(h.a.counters().parse_errors, 0);
}

#[test]
fn third_parties_and_garbage() {
    let mut q = Conn::new("192.0.2.10:40000", "198.51.100.20:1720");
    let out = q.send(Side::Initiator, &setup(7, [203, 0, 113, 9], 11_000));
    assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
    let out = q.send(Side::Initiator, &[4, 0, 0, 8, 1, 2, 3, 4]);
    assert_eq!(errs(&out), vec![ParseErrorKind::Malformed]);
    // A truncated PER body decodes to nothing, counted.
    let mut bad = open_logical_channel_ack(1, (CALLEE, 5004), (CALLEE, 5005));
    let n = bad.len();
    bad.truncate(n - 6);
    bad[3] = u8::try_from(bad.len()).unwrap();
    let mut h = Conn::new("192.0.2.10:40002", "198.51.100.20:12000");
    let out = h.send(Side::Responder, &bad);
    assert!(out.expectations().next().is_none());
    assert_eq!(errs(&out), vec![ParseErrorKind::Malformed]);
}

#[test]
fn the_fuzz_seed_call() {
    let c = crate::harness::drive(AlgKind::H323, include_bytes!("../../fuzz/seeds/h323/call"));
    assert_eq!(
        (c.requests, c.replies, c.pinholes, c.parse_errors),
        (1, 2, 4, 0)
    );
}

/// Found by the fuzzer: an extension bitmap's length at u32::MAX overflowed.
#[test]
fn regression_extension_count() {
    let data = include_bytes!("../../fuzz/seeds/h323/regress-extension-count");
    crate::harness::drive(AlgKind::H323, data);
    crate::harness::parsers(data);
}

/// RAS on UDP 1719: a confirmed registration opens the endpoint's call signalling address
/// to any caller (not one-shot), an admission confirm opens the called party's from the
/// endpoint (one-shot); both children are call signalling, watched in turn.
#[test]
fn ras_registration_and_admission_open_call_signalling() {
    let gk = [198, 51, 100, 20];
    let callee = [203, 0, 113, 7];
    let mut a = H323::new(
        AlgConfig::default_for(AlgKind::H323),
        ctx(Proto::UDP, "192.0.2.10:1719", "198.51.100.20:1719"),
    );
    let rrq = registration_request(1, (CALLER, 1720), (CALLER, 1719));
    let out = datagram(&mut a, Side::Initiator, &rrq);
    assert!(exps(&out).is_empty(), "the request alone opens nothing");
    // The address and port a NAT would rewrite, at their payload offsets.
    let ranges: Vec<_> = out
        .iter()
        .filter_map(|x| match x {
            crate::Action::Rewrite { range, .. } => Some(range.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ranges.len(), 2);
    let at = ranges[0].start as usize;
    assert_eq!(&rrq[at..at + 4], &CALLER);
    let e = exps(&datagram(
        &mut a,
        Side::Responder,
        &registration_confirm(1, (gk, 1720), "EP1"),
    ));
    assert_eq!(e.len(), 1);
    assert_eq!(
        (
            e[0].proto,
            e[0].src,
            e[0].dst,
            e[0].dst_port,
            e[0].one_shot,
            e[0].child_app
        ),
        (
            Proto::TCP,
            None,
            ip("192.0.2.10"),
            Some(1720),
            false,
            AppHint::H225Signalling
        )
    );
    let e = exps(&datagram(
        &mut a,
        Side::Responder,
        &admission_confirm(2, (callee, 11_720)),
    ));
    assert_eq!(
        e.iter()
            .map(|e| (e.src, e.dst, e.dst_port, e.one_shot))
            .collect::<Vec<_>>(),
        [(
            Some(ip("192.0.2.10")),
            ip("203.0.113.7"),
            Some(11_720),
            true
        )]
    );
    let e = exps(&datagram(
        &mut a,
        Side::Responder,
        &location_confirm(3, (callee, 1720), (callee, 1719)),
    ));
    assert_eq!(e.len(), 1);
    assert_eq!(a.counters().requests, 1);
    assert_eq!(a.counters().replies, 3);
    // A registration naming another host's address is a third party's: refused.
    let out = datagram(
        &mut a,
        Side::Initiator,
        &registration_request(4, (callee, 1720), (CALLER, 1719)),
    );
    assert_eq!(errs(&out), vec![ParseErrorKind::ThirdPartyAddress]);
    assert!(exps(&datagram(
        &mut a,
        Side::Responder,
        &registration_confirm(4, (gk, 1720), "EP1")
    ))
    .is_empty());
    // Not RAS.
    let out = datagram(&mut a, Side::Initiator, &[0xff; 3]);
    assert_eq!(errs(&out), vec![ParseErrorKind::Malformed]);
}

/// The RAS seed of the fuzz target (`alg/fuzz/seeds/h323/ras`): registration and admission
/// through the harness, as the fuzzer starts from them. Writes the seed when it is missing.
#[test]
fn the_fuzz_seed_ras() {
    let gk = [198, 51, 100, 20];
    let mut seed = vec![4, 0, 0, 0, 0];
    for (ctl, m) in [
        (0u8, registration_request(1, (CALLER, 1720), (CALLER, 1719))),
        (1, registration_confirm(1, (gk, 1720), "EP1")),
        (1, admission_confirm(2, ([203, 0, 113, 7], 11_720))),
    ] {
        seed.push(ctl);
        seed.push(u8::try_from(m.len()).unwrap());
        seed.extend_from_slice(&m);
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/h323/ras");
    match std::fs::read(path) {
        Ok(on_disk) => assert_eq!(on_disk, seed, "the seed file is the fixtures' bytes"),
        Err(_) => std::fs::write(path, &seed).unwrap(),
    }
    let c = crate::harness::drive(AlgKind::H323, &seed);
    assert_eq!(
        (c.requests, c.replies, c.pinholes, c.parse_errors),
        (1, 2, 2, 0)
    );
}
