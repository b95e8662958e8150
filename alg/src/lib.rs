//! svcard's application-layer gateways (ALGs), free of I/O.
//!
//! An ALG watches one parent (control) session and opens exactly the child flows that
//! session negotiated. Each ALG is a sans-IO state machine in the style of `quinn-proto`:
//!
//! * input: `(now_ms, side, TCP sequence or None for UDP, payload bytes)` through
//!   [`Alg::on_data`], and the clock through [`Alg::on_timeout`];
//! * output: [`Action`]s pushed into a caller-supplied, fixed-capacity [`Actions`] buffer:
//!   expect a child flow ([`Expectation`], a pinhole with wildcards), report a byte range a
//!   NAT would rewrite, change the parent's state, close the parent, or report a refused or
//!   malformed message.
//!
//! No allocation happens per packet, no input can panic, no mbuf or dataplane type appears
//! here: tests are byte fixtures. TCP-carried protocols reassemble commands that span
//! segments in a bounded per-direction [`stream::StreamBuf`]; out-of-order data is held off
//! (not guessed), retransmissions are skipped.
//!
//! # Driving an ALG (the control core's side)
//! 1. When a session whose application has an enabled ALG is created, build the ALG with
//!    [`AnyAlg::new`] from the kind, its [`AlgConfig`] and the parent's [`FlowCtx`]
//!    (initiator = the client that sent the first packet). For TCP parents call
//!    [`Alg::sync_seq`] for each side with ISN + 1 when the handshake is known.
//! 2. For every packet of the parent that carries payload: `actions.clear()`, then
//!    `alg.on_data(now_ms, side, tcp_seq, payload, &mut actions)`; install every
//!    [`Action::Expect`] on every worker *before* forwarding the packet; apply
//!    [`Action::ParentState`] / [`Action::Close`]; count [`Action::ParseError`].
//! 3. Call [`Alg::on_timeout`] when [`Alg::poll_timeout`] says (or on a coarse tick).
//! 4. When a pinhole is matched by a child or removed, call [`Alg::pinhole_resolved`] so the
//!    conversation's pinhole cap frees a slot.
//! 5. Read [`Alg::counters`] as snapshots for `show services alg statistics`.
//!
//! Traceroute has an extra entry point, [`traceroute::Traceroute::on_probe`], which takes the
//! probe's TTL; the ICMP error relation helpers are in [`icmp`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Narrowing casts only where the value is known to fit, said at the cast (try_from else).
#![warn(clippy::cast_possible_truncation)]

mod any;
mod common;
pub mod dcerpc;
pub mod dns;
pub mod ftp;
pub mod h323;
pub mod harness;
pub mod icmp;
pub mod ike;
mod kind;
pub mod parse;
pub mod pptp;
pub mod rpc;
pub mod rsh;
pub mod rtsp;
pub mod sip;
pub mod sqlnet;
pub mod stream;
pub mod talk;
pub mod tftp;
pub mod traceroute;
mod types;

pub use any::AnyAlg;
pub use common::Alg;
#[cfg(test)]
use common::Core;
pub use kind::AlgKind;
pub use parse::Parse;
pub use types::{
    Action, Actions, AlgConfig, AlgCounters, AppHint, ConfigError, Expectation, FiveTuple, FlowCtx,
    ParentState, ParseErrorKind, PortList, Proto, RewriteKind, Side, SipSettings, ACTIONS_CAP,
};

#[cfg(test)]
use core::net::IpAddr;

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers for the ALG unit tests.
    use super::*;
    use core::net::SocketAddr;

    /// A parent context from "a.b.c.d:port" strings.
    pub fn ctx(proto: Proto, cli: &str, srv: &str) -> FlowCtx {
        FlowCtx::new(
            proto,
            cli.parse::<SocketAddr>().unwrap(),
            srv.parse::<SocketAddr>().unwrap(),
        )
    }

    /// Feeds one UDP datagram at time 0; its actions.
    pub fn datagram(a: &mut impl Alg, side: Side, p: &[u8]) -> Actions {
        let mut out = Actions::new();
        a.on_data(0, side, None, p, &mut out);
        out
    }

    /// The messages of a captured exchange (`alg/fixtures/*.txt`: `#` comments, then one
    /// line per packet payload, `C` or `S` and its bytes in hex) with their senders.
    pub fn exchange(text: &str) -> Vec<(Side, Vec<u8>)> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (who, hex) = l.split_once(' ').expect("a side and hex");
                let side = if who == "C" {
                    Side::Initiator
                } else {
                    Side::Responder
                };
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                    .collect();
                (side, bytes)
            })
            .collect()
    }

    /// Replays a captured TCP exchange ([`exchange`]) segment by segment, each side's
    /// sequence numbers from 1000 and 9000; every segment's actions, in order.
    pub fn replay_tcp(a: &mut impl Alg, text: &str) -> Vec<Action> {
        let mut seq = [1000u32, 9000];
        a.sync_seq(Side::Initiator, seq[0]);
        a.sync_seq(Side::Responder, seq[1]);
        let mut all = Vec::new();
        for (side, m) in exchange(text) {
            let mut out = Actions::new();
            let i = side.index();
            a.on_data(0, side, Some(seq[i]), &m, &mut out);
            seq[i] = seq[i].wrapping_add(u32::try_from(m.len()).unwrap());
            all.extend(out.iter().cloned());
        }
        all
    }

    /// The actions as a Vec.
    pub fn acts(a: &Actions) -> Vec<Action> {
        a.iter().cloned().collect()
    }

    /// The expectations as a Vec.
    pub fn exps(a: &Actions) -> Vec<Expectation> {
        a.expectations().copied().collect()
    }

    /// The parse errors as a Vec.
    pub fn errs(a: &Actions) -> Vec<ParseErrorKind> {
        a.iter()
            .filter_map(|x| match x {
                Action::ParseError(k) => Some(*k),
                _ => None,
            })
            .collect()
    }

    pub fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    fn e(port: u16, one_shot: bool) -> Expectation {
        Expectation {
            proto: Proto::TCP,
            src: None,
            src_port: None,
            dst: ip("192.0.2.1"),
            dst_port: Some(port),
            timeout_ms: 100,
            child_app: AppHint::FtpData,
            one_shot,
            quoted: None,
            tag: 0,
        }
    }

    #[test]
    fn actions_bounded() {
        let mut a = Actions::new();
        for i in 0..ACTIONS_CAP + 12 {
            a.push(Action::ParseError(if i % 2 == 0 {
                ParseErrorKind::Malformed
            } else {
                ParseErrorKind::BadPort
            }));
        }
        assert_eq!(a.len(), ACTIONS_CAP);
        assert_eq!(a.overflow(), 12);
        assert_eq!(a.iter().count(), ACTIONS_CAP);
        a.clear();
        assert!(a.is_empty());
        assert_eq!(a.overflow(), 0);
        assert!(a.get(0).is_none());
    }

    #[test]
    fn pinhole_cap_dedupe_and_expiry() {
        let mut cfg = AlgConfig::default_for(AlgKind::Ftp);
        cfg.max_pinholes = 2;
        let mut c = Core::new(cfg, ctx(Proto::TCP, "192.0.2.1:1000", "198.51.100.1:21"));
        let mut out = Actions::new();
        assert!(c.expect(0, &mut out, e(1, true)));
        assert!(
            !c.expect(0, &mut out, e(1, true)),
            "duplicate one-shot suppressed"
        );
        assert!(c.expect(0, &mut out, e(2, false)));
        assert!(
            c.expect(10, &mut out, e(2, false)),
            "reusable re-sent as refresh"
        );
        assert!(!c.expect(0, &mut out, e(3, true)), "cap");
        assert_eq!(c.counters.cap_refused, 1);
        assert_eq!(c.counters.pinholes, 2);
        c.pinhole_resolved_for_test(5);
        assert!(c.expect(5, &mut out, e(3, true)));
        // Everything expires by 200.
        assert_eq!(c.next_expiry(), Some(105));
        c.on_timeout(200);
        assert_eq!(c.next_expiry(), None);
        assert!(c.expect(200, &mut out, e(4, true)));
    }

    impl Core {
        fn pinhole_resolved_for_test(&mut self, now: u64) {
            self.resolved(now);
        }
    }

    #[test]
    fn config_validation() {
        let mut c = AlgConfig::default_for(AlgKind::Dns);
        assert_eq!(c.validate(), Ok(()));
        c.timeout_ms = 0;
        assert_eq!(c.validate(), Err(ConfigError::ZeroTimeout));
        c.timeout_ms = 1;
        c.ports = PortList::default();
        assert_eq!(c.validate(), Err(ConfigError::NoPorts));
        c.ports = PortList::from_slice(&[0]);
        assert_eq!(c.validate(), Err(ConfigError::PortZero));
        assert!(AlgConfig::default_for(AlgKind::Traceroute)
            .ports
            .contains(33434));
        assert_eq!(
            AlgCounters::NAMES.len(),
            AlgCounters::default().values().len()
        );
    }

    #[test]
    fn only_the_engines_build_an_alg() {
        for k in AlgKind::ALL {
            let cfg = AlgConfig::default_for(k);
            let a = AnyAlg::new(k, cfg, ctx(Proto::TCP, "192.0.2.1:1000", "198.51.100.1:21"));
            assert_eq!(a.is_some(), k.has_engine(), "{k}");
        }
        assert_eq!(AlgKind::ENGINES.len(), 16);
    }

    #[test]
    fn disabled_alg_forwards_once() {
        let mut cfg = AlgConfig::default_for(AlgKind::Ftp);
        cfg.enabled = false;
        let mut a = AnyAlg::new(
            AlgKind::Ftp,
            cfg,
            ctx(Proto::TCP, "192.0.2.1:1000", "198.51.100.1:21"),
        )
        .expect("FTP has an engine");
        let mut out = Actions::new();
        a.on_data(
            0,
            Side::Initiator,
            Some(1),
            b"PORT 192,0,2,1,4,1\r\n",
            &mut out,
        );
        assert_eq!(acts(&out), vec![Action::ParentState(ParentState::Forward)]);
        out.clear();
        a.on_data(
            0,
            Side::Initiator,
            Some(21),
            b"PORT 192,0,2,1,4,1\r\n",
            &mut out,
        );
        assert!(out.is_empty());
        assert_eq!(a.counters().packets, 0);
    }
}
