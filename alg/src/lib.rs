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

pub mod dns;
pub mod ftp;
pub mod harness;
pub mod icmp;
mod kind;
pub mod parse;
pub mod rpc;
pub mod rsh;
pub mod stream;
pub mod talk;
pub mod tftp;
pub mod traceroute;
mod types;

pub use kind::AlgKind;
pub use parse::Parse;
pub use types::{
    Action, Actions, AlgConfig, AlgCounters, AppHint, ConfigError, Expectation, FiveTuple, FlowCtx,
    ParentState, ParseErrorKind, PortList, Proto, RewriteKind, Side, ACTIONS_CAP,
};

use core::net::IpAddr;
use core::ops::Range;

/// A sans-IO application-layer gateway watching one parent session.
pub trait Alg {
    /// Which ALG this is.
    fn kind(&self) -> AlgKind;

    /// Feeds one packet's payload. `seq` is the TCP sequence number of the payload's first
    /// byte (`None` for UDP parents). Actions are appended to `out`; actions that do not fit
    /// are counted in [`AlgCounters::action_overflow`] and [`Actions::overflow`].
    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    );

    /// Advances the ALG's clock: forgets expired pinholes and requests that were never
    /// answered. May push actions.
    fn on_timeout(&mut self, now_ms: u64, out: &mut Actions);

    /// The earliest time [`Alg::on_timeout`] has work, if any.
    #[must_use]
    fn poll_timeout(&self) -> Option<u64>;

    /// Tells a TCP ALG the next expected sequence number of one side (ISN + 1), so a first
    /// data segment arriving out of order is recognised. No-op for UDP ALGs.
    fn sync_seq(&mut self, side: Side, next_seq: u32);

    /// One of this conversation's pinholes was matched by a child flow or removed by the
    /// resource manager: it no longer counts against `max_pinholes`.
    fn pinhole_resolved(&mut self, now_ms: u64);

    /// The instance's counters.
    #[must_use]
    fn counters(&self) -> &AlgCounters;

    /// The configuration the instance was built with.
    #[must_use]
    fn config(&self) -> &AlgConfig;
}

/// Any ALG of this crate, dispatched without allocation or trait objects.
#[derive(Debug, Clone)]
pub enum AnyAlg {
    /// [`ftp::Ftp`].
    Ftp(ftp::Ftp),
    /// [`tftp::Tftp`].
    Tftp(tftp::Tftp),
    /// [`dns::Dns`].
    Dns(dns::Dns),
    /// [`rpc::RpcPortmap`].
    Rpc(rpc::RpcPortmap),
    /// [`rsh::Rsh`] (also rexec and rlogin).
    Rsh(rsh::Rsh),
    /// [`talk::Talk`].
    Talk(talk::Talk),
    /// [`traceroute::Traceroute`].
    Traceroute(traceroute::Traceroute),
}

impl AnyAlg {
    /// Builds the ALG of `kind` for the parent session `ctx`; `None` for an ALG this crate
    /// has no engine for ([`AlgKind::has_engine`]).
    #[must_use]
    pub fn new(kind: AlgKind, cfg: AlgConfig, ctx: FlowCtx) -> Option<AnyAlg> {
        Some(match kind {
            AlgKind::Ftp => AnyAlg::Ftp(ftp::Ftp::new(cfg, ctx)),
            AlgKind::Tftp => AnyAlg::Tftp(tftp::Tftp::new(cfg, ctx)),
            AlgKind::Dns => AnyAlg::Dns(dns::Dns::new(cfg, ctx)),
            AlgKind::RpcPortmap => AnyAlg::Rpc(rpc::RpcPortmap::new(cfg, ctx)),
            AlgKind::Rsh | AlgKind::Rexec | AlgKind::Rlogin => {
                AnyAlg::Rsh(rsh::Rsh::new(kind, cfg, ctx))
            }
            AlgKind::Talk => AnyAlg::Talk(talk::Talk::new(cfg, ctx)),
            AlgKind::Traceroute => AnyAlg::Traceroute(traceroute::Traceroute::new(cfg, ctx)),
            _ => return None,
        })
    }

    fn inner(&self) -> &dyn Alg {
        match self {
            AnyAlg::Ftp(a) => a,
            AnyAlg::Tftp(a) => a,
            AnyAlg::Dns(a) => a,
            AnyAlg::Rpc(a) => a,
            AnyAlg::Rsh(a) => a,
            AnyAlg::Talk(a) => a,
            AnyAlg::Traceroute(a) => a,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Alg {
        match self {
            AnyAlg::Ftp(a) => a,
            AnyAlg::Tftp(a) => a,
            AnyAlg::Dns(a) => a,
            AnyAlg::Rpc(a) => a,
            AnyAlg::Rsh(a) => a,
            AnyAlg::Talk(a) => a,
            AnyAlg::Traceroute(a) => a,
        }
    }
}

impl Alg for AnyAlg {
    fn kind(&self) -> AlgKind {
        self.inner().kind()
    }
    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        self.inner_mut().on_data(now_ms, side, seq, payload, out);
    }
    fn on_timeout(&mut self, now_ms: u64, out: &mut Actions) {
        self.inner_mut().on_timeout(now_ms, out);
    }
    fn poll_timeout(&self) -> Option<u64> {
        self.inner().poll_timeout()
    }
    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        self.inner_mut().sync_seq(side, next_seq);
    }
    fn pinhole_resolved(&mut self, now_ms: u64) {
        self.inner_mut().pinhole_resolved(now_ms);
    }
    fn counters(&self) -> &AlgCounters {
        self.inner().counters()
    }
    fn config(&self) -> &AlgConfig {
        self.inner().config()
    }
}

/// How many outstanding pinholes a conversation tracks itself (caps above this are left to
/// the resource manager).
const TRACKED: usize = 16;

/// State every ALG shares: configuration, the parent, counters and the pinhole budget.
#[derive(Debug, Clone)]
pub(crate) struct Core {
    pub(crate) cfg: AlgConfig,
    pub(crate) ctx: FlowCtx,
    pub(crate) counters: AlgCounters,
    /// Outstanding pinholes: (expiry, expectation), for the cap and for de-duplication.
    outstanding: [Option<(u64, Expectation)>; TRACKED],
    /// False once the disabled notice (Forward) was sent.
    disabled_sent: bool,
}

impl Core {
    pub(crate) fn new(cfg: AlgConfig, ctx: FlowCtx) -> Core {
        Core {
            cfg,
            ctx,
            counters: AlgCounters::default(),
            outstanding: [None; TRACKED],
            disabled_sent: false,
        }
    }

    /// Common prologue of `on_data`: false when the packet is not to be parsed.
    pub(crate) fn begin(&mut self, seq: Option<u32>, payload: &[u8], out: &mut Actions) -> bool {
        if !self.cfg.enabled {
            if !self.disabled_sent {
                self.disabled_sent = true;
                self.push(out, Action::ParentState(ParentState::Forward));
            }
            return false;
        }
        if payload.is_empty() {
            return false;
        }
        self.counters.packets += 1;
        self.counters.bytes += payload.len() as u64;
        if seq.is_some() != self.ctx.is_tcp() {
            self.error(out, ParseErrorKind::BadSequence);
            return false;
        }
        true
    }

    pub(crate) fn push(&mut self, out: &mut Actions, a: Action) {
        if !out.push(a) {
            self.counters.action_overflow += 1;
        }
    }

    pub(crate) fn error(&mut self, out: &mut Actions, kind: ParseErrorKind) {
        self.counters.parse_errors += 1;
        if kind == ParseErrorKind::ThirdPartyAddress {
            self.counters.third_party_refused += 1;
        }
        if kind == ParseErrorKind::TooLong {
            self.counters.overflow += 1;
        }
        self.push(out, Action::ParseError(kind));
    }

    /// Accounts a reassembly feed.
    pub(crate) fn account(&mut self, f: &stream::Feed, out: &mut Actions) {
        self.counters.retransmitted_bytes += f.retransmitted as u64;
        if f.out_of_order {
            self.counters.out_of_order += 1;
        }
        for _ in 0..f.overflows {
            self.error(out, ParseErrorKind::TooLong);
        }
    }

    /// True when `addr`, announced by `side`, may be used: it is `side`'s own address, or
    /// third-party addresses are allowed. Unspecified, multicast and broadcast addresses are
    /// never usable. Pushes the refusal.
    pub(crate) fn check_addr(&mut self, out: &mut Actions, side: Side, addr: IpAddr) -> bool {
        let bad = addr.is_unspecified()
            || addr.is_multicast()
            || matches!(addr, IpAddr::V4(a) if a.is_broadcast());
        if bad {
            self.error(out, ParseErrorKind::BadAddress);
            return false;
        }
        if addr != self.ctx.addr(side) && !self.cfg.loose_ftp {
            self.error(out, ParseErrorKind::ThirdPartyAddress);
            return false;
        }
        true
    }

    /// Checks a port number taken from a message; pushes the refusal.
    pub(crate) fn check_port(&mut self, out: &mut Actions, port: u32) -> Option<u16> {
        match u16::try_from(port) {
            Ok(p) if p != 0 => Some(p),
            _ => {
                self.error(out, ParseErrorKind::BadPort);
                None
            }
        }
    }

    /// An expectation with this instance's timeout.
    pub(crate) fn expectation(
        &self,
        proto: Proto,
        src: Option<IpAddr>,
        dst: IpAddr,
        dst_port: Option<u16>,
        child_app: AppHint,
        one_shot: bool,
    ) -> Expectation {
        Expectation {
            proto,
            src,
            src_port: None,
            dst,
            dst_port,
            timeout_ms: self.cfg.timeout_ms,
            child_app,
            one_shot,
            quoted: None,
        }
    }

    fn expire(&mut self, now_ms: u64) {
        for slot in &mut self.outstanding {
            if slot.is_some_and(|(exp, _)| exp <= now_ms) {
                *slot = None;
            }
        }
    }

    /// Opens a pinhole, within the conversation's cap. An identical outstanding one-shot
    /// expectation is not opened twice; an identical outstanding reusable one is re-sent
    /// (the resource manager refreshes its timeout) without using a second slot.
    pub(crate) fn expect(&mut self, now_ms: u64, out: &mut Actions, e: Expectation) -> bool {
        self.expire(now_ms);
        let expiry = now_ms.saturating_add(e.timeout_ms);
        let same = |s: &Option<(u64, Expectation)>| {
            s.is_some_and(|(_, o)| {
                Expectation {
                    timeout_ms: e.timeout_ms,
                    ..o
                } == e
            })
        };
        if let Some(slot) = self.outstanding.iter_mut().find(|s| same(s)) {
            if e.one_shot {
                return false;
            }
            *slot = Some((expiry, e));
            self.push(out, Action::Expect(e));
            return true;
        }
        let live = self.outstanding.iter().filter(|s| s.is_some()).count();
        let cap = usize::try_from(self.cfg.max_pinholes).unwrap_or(usize::MAX);
        if cap != 0 && live >= cap {
            self.counters.cap_refused += 1;
            self.error(out, ParseErrorKind::PinholeCap);
            return false;
        }
        let slot = match self.outstanding.iter().position(Option::is_none) {
            Some(i) => i,
            // Cap above what is tracked: forget the pinhole closest to expiry.
            None => self
                .outstanding
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.map_or(0, |(x, _)| x))
                .map_or(0, |(i, _)| i),
        };
        if let Some(s) = self.outstanding.get_mut(slot) {
            *s = Some((expiry, e));
        }
        self.counters.pinholes += 1;
        self.push(out, Action::Expect(e));
        true
    }

    pub(crate) fn rewrite(
        &mut self,
        out: &mut Actions,
        side: Side,
        range: Range<u32>,
        kind: RewriteKind,
        addr: Option<IpAddr>,
        port: u16,
    ) {
        self.push(
            out,
            Action::Rewrite {
                side,
                range,
                kind,
                addr,
                port,
            },
        );
    }

    /// Frees the oldest outstanding pinhole (matched or removed by the caller).
    pub(crate) fn resolved(&mut self, now_ms: u64) {
        self.expire(now_ms);
        let oldest = self
            .outstanding
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|(x, _)| (x, i)))
            .min()
            .map(|(_, i)| i);
        if let Some(s) = oldest.and_then(|i| self.outstanding.get_mut(i)) {
            *s = None;
        }
    }

    pub(crate) fn next_expiry(&self) -> Option<u64> {
        self.outstanding
            .iter()
            .filter_map(|s| s.map(|(x, _)| x))
            .min()
    }

    pub(crate) fn on_timeout(&mut self, now_ms: u64) {
        self.expire(now_ms);
    }
}

/// Converts a parser's byte range (relative to a message whose first byte is at `base`,
/// a sequence number or a payload offset) into an [`Action::Rewrite`] range.
pub(crate) fn abs_range(base: u32, r: &Range<usize>) -> Range<u32> {
    let s = u32::try_from(r.start).unwrap_or(u32::MAX);
    let e = u32::try_from(r.end).unwrap_or(u32::MAX);
    base.wrapping_add(s)..base.wrapping_add(e)
}

/// Implements the [`Alg`] methods every ALG delegates to its `core`.
macro_rules! delegate_core {
    () => {
        fn pinhole_resolved(&mut self, now_ms: u64) {
            self.core.resolved(now_ms);
        }
        fn counters(&self) -> &$crate::AlgCounters {
            &self.core.counters
        }
        fn config(&self) -> &$crate::AlgConfig {
            &self.core.cfg
        }
    };
}
pub(crate) use delegate_core;

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
        }
    }

    #[test]
    fn actions_bounded() {
        let mut a = Actions::new();
        for i in 0..20 {
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
        assert!(AlgKind::Traceroute.default_ports().contains(33434));
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
        assert_eq!(AlgKind::ENGINES.len(), 9);
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
